/*
 * fuzz_template.c: fuzz template_compile() and template_expand().
 *
 * The input is "PATTERN\nTEMPLATE\nSUBJECT": split on the first two LFs
 * (missing parts are empty). The pattern is compiled with regex_compile()
 * and the input skipped if that fails; then the template is compiled
 * against it and, if it compiles, expanded for the subject, whether or not
 * the subject matches. Every failure path must be clean: the sanitizers
 * and leak checker judge the result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Take the next field, up to an LF or the end, from *p[0..*n). */
static void
next_field(const char **p, size_t *n, const char **f, size_t *flen)
{
	const char *lf = memchr(*p, '\n', *n);

	*f = *p;
	if (lf == NULL) {
		*flen = *n;
		*p += *n;
		*n = 0;
	} else {
		*flen = (size_t)(lf - *p);
		*n -= *flen + 1;
		*p = lf + 1;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const template_vars_t vars = { {
		[TPL_VAR_CLIENT_ADDRESS] = "127.0.0.1",
		[TPL_VAR_CLIENT_PORT] = "51234",
		[TPL_VAR_SERVER_ADDRESS] = "127.0.0.1",
		[TPL_VAR_SERVER_PORT] = "9051",
	} };
	const char *p = (const char *)data, *pat, *tpl, *subj;
	size_t n = size, patlen, tpllen, subjlen, off, len;
	char err[256];
	tg_regex_t *re = NULL;
	template_t *t = NULL;
	regex_match_t m;
	char *out;

	if (size > 4096)
		return 0;
	next_field(&p, &n, &pat, &patlen);
	next_field(&p, &n, &tpl, &tpllen);
	subj = p;
	subjlen = n;

	re = regex_compile(pat, patlen, err, sizeof(err), &off);
	if (re == NULL)
		return 0;
	t = template_compile(tpl, tpllen, re, err, sizeof(err), &off);
	if (t == NULL) {
		if (off > tpllen || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		goto done;
	}
	if (strlen(template_source(t)) != tpllen)
		abort();
	if (regex_match(re, subj, subjlen, &m)) {
		out = template_expand(t, &m, &vars, &len);
		if (out[len] != '\0')
			abort();
		free(out);
	}
	out = template_expand(t, NULL, NULL, &len);
	if (strlen(out) != len)
		abort();
	free(out);
done:
	template_free(t);
	regex_free(re);
	return 0;
}
