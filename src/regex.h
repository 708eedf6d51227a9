/*
 * regex.h: profile patterns, compiled once with PCRE2 and always matched
 * against the WHOLE subject (PCRE2_ANCHORED | PCRE2_ENDANCHORED), so that
 * "a|b" never lets "a anything" through. Patterns use Python re syntax,
 * which PCRE2 covers (named groups (?P<name>...) included). Matching is
 * byte-wise (no UTF mode): the control protocol is ASCII.
 */
#ifndef TORGATE_REGEX_H
#define TORGATE_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tg_regex tg_regex_t;

/* Compile src. On error return NULL, write a message to errbuf and the
 * byte offset of the problem in src to *erroff. */
tg_regex_t *regex_compile(const char *src, size_t len, char *errbuf,
    size_t errlen, size_t *erroff);
void regex_free(tg_regex_t *re);

/* Number of capture groups (not counting the whole match). */
uint32_t regex_ngroups(const tg_regex_t *re);
/* Group number of a named group, or -1. */
int regex_group_number(const tg_regex_t *re, const char *name);
/* The pattern source, as compiled. */
const char *regex_source(const tg_regex_t *re);

/* A match: ovector[2*i], ovector[2*i+1] delimit group i (0 = whole);
 * PCRE2_UNSET (SIZE_MAX) for groups that did not take part. */
typedef struct regex_match {
	const char *subject;
	size_t subject_len;
	uint32_t ngroups;
	const size_t *ovector;  /* valid until the next regex_match() or
	                         * regex_compile() call */
} regex_match_t;

/* Match the whole of subject; true on a match, filling *m when non-NULL. */
bool regex_match(const tg_regex_t *re, const char *subject, size_t len,
    regex_match_t *m);

/* Does src look like it accepts arbitrary text (".*", ".+", "\S+")? */
bool regex_is_wildcard(const char *src);

#endif
