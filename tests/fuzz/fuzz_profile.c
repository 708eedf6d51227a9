/*
 * fuzz_profile.c: fuzz the profile loader, libyaml included.
 *
 * The input is one profile file, loaded as "fuzz.yml" with a diag sink
 * that only counts. Whatever the input, loading must end cleanly (a set or
 * NULL), and unref'ing the set must free everything: the sanitizers and
 * the leak checker judge the result. The loader's own limits keep every
 * input fast, aliases included.
 */
#include <stdint.h>
#include <stdlib.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	profile_diag_t diag = { 0 };
	profile_set_t *s;

	s = profile_set_load_buffer("fuzz.yml", (const char *)data, size,
	    &diag);
	if (s != NULL) {
		if (diag.errors != 0)
			abort();
		profile_set_unref(s);
	} else if (diag.errors == 0) {
		abort();
	}
	return 0;
}
