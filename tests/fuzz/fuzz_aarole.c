/*
 * fuzz_aarole.c: fuzz aarole_plan(), which reads an AppArmor label (one
 * profile, a child "a//b", or a stack "a//&b", each possibly with its
 * mode).
 *
 * The input is the label (cut at its first NUL, as the kernel's string
 * would be). For each role, the plan is checked against what it must
 * mean: only "unconfined" itself is unconfined; stacking or "already"
 * needs torgate's name in the label; "already" needs the role's child.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aarole.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roles[] = { "monitor", "worker", "other" };
	char *label = malloc(size + 1);

	if (label == NULL)
		return 0;
	memcpy(label, data, size);
	label[size] = '\0';
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		aarole_plan_t plan = aarole_plan(label, roles[i]);
		char child[32];

		if (!aarole_is_valid(roles[i])) {
			if (plan != AAROLE_BAD_ROLE)
				abort();
			continue;
		}
		if ((plan == AAROLE_UNCONFINED) !=
		    (strcmp(label, "unconfined") == 0))
			abort();
		if ((plan == AAROLE_STACK || plan == AAROLE_ALREADY) &&
		    strstr(label, AAROLE_PROFILE) == NULL)
			abort();
		if (aarole_target(roles[i], child, sizeof(child)) < 0)
			abort();
		if (plan == AAROLE_ALREADY && strstr(label, child) == NULL)
			abort();
		if (plan == AAROLE_BAD_ROLE)
			abort();
	}
	free(label);
	return 0;
}
