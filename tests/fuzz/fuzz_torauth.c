/*
 * fuzz_torauth.c: AUTHENTICATE's and AUTHCHALLENGE's argument, read as
 * tor reads it (torauth_parse_arg) and checked against torgate's own
 * cookie (torauth_check). The first input byte picks the mode (bit 0:
 * after AUTHCHALLENGE, against a client hash); the rest is the argument
 * text, NULs and all.
 *
 * Asserted:
 * - a value read is a NUL-terminated string of exactly vlen bytes, with
 *   no NUL inside, and "quoted" says whether the text has a '"';
 * - the verdict is one of the enumerated ones, with a reply line for
 *   every failure;
 * - only the cookie (or, after AUTHCHALLENGE, the client hash) itself,
 *   hex or quoted, is accepted: any argument accepted decodes to it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torauth.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t cookie[TOR_COOKIE_LEN] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
static const uint8_t hash[SAFECOOKIE_HASH_LEN] =
    "abcdefghijklmnopqrstuvwxyz!#$%&(";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s;
	char *v = NULL;
	size_t len, vlen = 0;
	bool quoted = false, sc;
	torauth_arg_t a;
	torauth_check_t r;

	if (size < 1)
		return 0;
	sc = data[0] & 1;
	s = (const char *)data + 1;
	len = size - 1;

	a = torauth_parse_arg(s, len, &v, &vlen, &quoted);
	if (a == TORAUTH_ARG_ONE) {
		if (v == NULL || v[vlen] != '\0' || memchr(v, '\0', vlen))
			abort();
		if (quoted != (memchr(s, '"', len) != NULL))
			abort();
	} else if (v != NULL)
		abort();
	r = torauth_check(s, len, cookie, sc ? hash : NULL);
	if (r > TORAUTH_E_MISMATCH)
		abort();
	if ((r == TORAUTH_OK) != (torauth_check_reply(r, sc) == NULL))
		abort();
	if (r == TORAUTH_OK) {
		const uint8_t *want = sc ? hash : cookie;
		uint8_t got[TOR_COOKIE_LEN];
		if (a != TORAUTH_ARG_ONE)
			abort();
		if (quoted) {
			if (vlen != sizeof(got) || memcmp(v, want, vlen) != 0)
				abort();
		} else if (hex_decode(v, vlen, got, sizeof(got)) < 0 ||
		    memcmp(got, want, sizeof(got)) != 0)
			abort();
	}
	free(v);
	return 0;
}
