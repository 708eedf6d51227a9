/*
 * fuzz_torrc.c: tor's configuration grammar (torrc.c) on arbitrary bytes:
 * the input is a LOADCONF body as a client sends it; it is decoded
 * (CmdData), parsed as a torrc, and every key is classified. The parse of
 * the raw bytes must not crash either. Invariants: a successful parse
 * yields keys without whitespace and values without a NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "torrc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
parse(const char *text, size_t len)
{
	torrc_t t;
	char err[128];

	if (torrc_parse(text, len, &t, err, sizeof(err)) < 0) {
		if (t.n != 0 || err[0] == '\0')
			abort();
		return;
	}
	for (size_t i = 0; i < t.n; i++) {
		const char *canon;
		for (const char *k = t.v[i].key; *k; k++)
			if (tor_isspace(*k) || *k == '#')
				abort();
		(void)torrc_option(t.v[i].key, &canon);
		(void)torrc_same_option(t.v[i].key, "HiddenServicePort");
	}
	torrc_clear(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	char *text = torrc_from_cmddata((const char *)data, size, &n);

	if (n > size || strlen(text) > n)
		abort();
	parse(text, n);
	free(text);
	parse((const char *)data, size);
	return 0;
}
