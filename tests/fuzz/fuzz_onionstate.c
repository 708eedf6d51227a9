/*
 * fuzz_onionstate.c: fuzz onionstate_parse(), the reader of the state file
 * torgate reads at start.
 *
 * Whatever the input, parsing must end cleanly (the sanitizers and the
 * leak checker judge), and a failure must leave the result empty with a
 * reason. A file that parses must be exactly what onionstate_format()
 * writes for the result (the format has one spelling per value), so
 * writing it out and reading it back gives the same entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onionstate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	onionstate_t st, back;
	char why[256], *text;
	size_t len;

	onionstate_init(&st);
	if (onionstate_parse((const char *)data, size, &st, why,
	    sizeof(why)) < 0) {
		if (st.tor != NULL || st.n != 0 || why[0] == '\0' ||
		    memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return 0;
	}
	text = onionstate_format(&st, &len);
	if (len != size || memcmp(text, data, size) != 0)
		abort();
	onionstate_init(&back);
	if (onionstate_parse(text, len, &back, why, sizeof(why)) < 0 ||
	    back.n != st.n || strcmp(back.tor, st.tor) != 0)
		abort();
	for (size_t i = 0; i < st.n; i++)
		if (strcmp(back.v[i].sid, st.v[i].sid) != 0 ||
		    strcmp(back.v[i].profile, st.v[i].profile) != 0)
			abort();
	onionstate_clear(&back);
	onionstate_clear(&st);
	free(text);
	return 0;
}
