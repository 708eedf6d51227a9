/*
 * regex.c: PCRE2 wrapper. See regex.h.
 *
 * Patterns are JIT-compiled when the platform allows; one match data block
 * is kept and reused for every match (torgate is single-threaded), sized
 * for the largest pattern compiled so far.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "util.h"

struct tg_regex {
	pcre2_code *code;
	uint32_t ngroups;
	char *src;
};

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
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	re = xzalloc(sizeof(*re));
	re->code = code;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &re->ngroups);
	re->src = xmemdup_nul(src, len);
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
