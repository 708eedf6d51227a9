/*
 * regex.c: PCRE2 wrapper. See regex.h.
 *
 * Patterns are JIT-compiled when the platform allows (and the build has
 * -Djit=true, the default); one match data block
 * is kept and reused for every match (torgate is single-threaded), sized
 * for the largest pattern compiled so far.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "torgate_build.h"
#include "util.h"

/* Longest literal prefix kept for the quick pre-check. */
#define PREFIX_MAX 32

struct tg_regex {
	pcre2_code *code;
	uint32_t ngroups;
	char *src;
	char prefix[PREFIX_MAX];    /* every match starts with these bytes */
	size_t prefix_len;
	bool literal;               /* the pattern is its prefix: compare */
};

/*
 * The literal text every match must start with, read off the pattern
 * source: ordinary characters up to the first metacharacter. A character
 * followed by a quantifier that allows zero of it is left out, and a
 * pattern with '|' anywhere gets no prefix (an alternative may start
 * differently). Patterns are anchored at the start and compiled without
 * options that change what a literal matches (inline "(?i)" starts with
 * '(' and so gives an empty prefix).
 */
static size_t
literal_prefix(const char *src, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	if (memchr(src, '|', len) != NULL)
		return 0;
	for (size_t i = 0; i < len && n < outlen; i++) {
		char c = src[i];
		if (strchr("\\.[](){}?*+^$#", c) != NULL || c == '\0')
			break;
		if (i + 1 < len && (src[i + 1] == '?' || src[i + 1] == '*' ||
		    src[i + 1] == '{'))
			break;
		out[n++] = c;
	}
	return n;
}

static pcre2_match_data *match_data;
static uint32_t match_data_pairs;

tg_regex_t *
regex_compile(const char *src, size_t len, char *errbuf, size_t errlen,
    size_t *erroff)
{
	int errcode;
	PCRE2_SIZE off = 0;
	pcre2_code *code;
	tg_regex_t *re;

	code = pcre2_compile((PCRE2_SPTR)src, len,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY, &errcode,
	    &off, NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		snprintf(errbuf, errlen, "bad pattern: %s", (char *)msg);
		*erroff = off;
		return NULL;
	}
#if TORGATE_JIT
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
#endif
	re = xzalloc(sizeof(*re));
	re->code = code;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &re->ngroups);
	re->src = xmemdup_nul(src, len);
	re->prefix_len = literal_prefix(src, len, re->prefix,
	    sizeof(re->prefix));
	/* A pattern of plain characters only ("version", "onions/current")
	 * matches exactly that text: no need for PCRE2 at all. */
	re->literal = re->prefix_len == len && re->ngroups == 0;
	if (re->ngroups + 1 > match_data_pairs) {
		if (match_data != NULL)
			pcre2_match_data_free(match_data);
		match_data_pairs = re->ngroups + 1;
		match_data = pcre2_match_data_create(match_data_pairs, NULL);
		if (match_data == NULL)
			abort();
	}
	return re;
}

void
regex_free(tg_regex_t *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re->src);
	free(re);
}

uint32_t
regex_ngroups(const tg_regex_t *re)
{
	return re->ngroups;
}

int
regex_group_number(const tg_regex_t *re, const char *name)
{
	int n = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
	return n > 0 ? n : -1;
}

const char *
regex_source(const tg_regex_t *re)
{
	return re->src;
}

bool
regex_match(const tg_regex_t *re, const char *subject, size_t len,
    regex_match_t *m)
{
	int rc;

	/* Most rules of a keyword fail on their first bytes: skip PCRE2. */
	if (re->prefix_len > 0 && (len < re->prefix_len ||
	    memcmp(subject, re->prefix, re->prefix_len) != 0))
		return false;
	if (re->literal) {
		static size_t whole[2];
		if (len != re->prefix_len)
			return false;
		if (m != NULL) {
			whole[0] = 0;
			whole[1] = len;
			m->subject = subject;
			m->subject_len = len;
			m->ngroups = 0;
			m->ovector = whole;
		}
		return true;
	}
	rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, match_data,
	    NULL);
	if (rc < 0)
		return false;
	if (m != NULL) {
		m->subject = subject;
		m->subject_len = len;
		m->ngroups = re->ngroups;
		m->ovector = pcre2_get_ovector_pointer(match_data);
	}
	return true;
}

bool
regex_is_wildcard(const char *src)
{
	return strstr(src, ".*") != NULL || strstr(src, ".+") != NULL ||
	    strstr(src, "\\S+") != NULL || strstr(src, "\\S*") != NULL;
}
