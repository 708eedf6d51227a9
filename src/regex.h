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

/*
 * PCRE2's work per match is bounded: at most REGEX_MATCH_LIMIT
 * backtracking steps (pcre2_set_match_limit; the JIT counts them too), a
 * backtracking depth of REGEX_DEPTH_LIMIT for the interpreter
 * (pcre2_set_depth_limit; the JIT ignores it) and a JIT stack of
 * REGEX_JIT_STACK_MAX bytes. A step can cost a scan of the subject, so the
 * worst match costs about limit x length: ~10 ms on a 64 KiB line with a
 * pattern such as '(\S+),(\S+)', instead of seconds. Well-behaved
 * patterns need a handful of steps; one that backtracks over every byte
 * of a long subject ("(.*),(.*)" on 10 KiB) can hit the limit, and is
 * then denied, never passed.
 */
#define REGEX_MATCH_LIMIT 10000
#define REGEX_DEPTH_LIMIT 10000
#define REGEX_JIT_STACK_MAX (1024 * 1024)

typedef enum {
	REGEX_NOMATCH = 0,
	REGEX_MATCH = 1,
	REGEX_LIMIT = -1,   /* a limit above was hit: undecided (logged) */
} regex_result_t;

/* Match the whole of subject, filling *m on a match when non-NULL. A
 * limit hit is logged with the pattern and must be treated as a denial
 * by the caller: never as "no match, try the next rule". */
regex_result_t regex_exec(const tg_regex_t *re, const char *subject,
    size_t len, regex_match_t *m);

/* regex_exec() == REGEX_MATCH: only for callers where a limit hit may
 * count as no match (tests, and nothing that allows on a miss). */
bool regex_match(const tg_regex_t *re, const char *subject, size_t len,
    regex_match_t *m);

/* Limit hits since start (for tests and logs). */
unsigned long regex_limit_hits(void);

/*
 * Can re backtrack badly: cost far more than linear time on a long
 * subject that does not match? A heuristic over the pattern source, for
 * a warning at load time; if so, write what was found to why. It flags
 *  - adjacent unbounded quantifiers over overlapping classes, with only
 *    text between them that the first can also match ('(\S+),(\S+)',
 *    '.*=.*', '\w+\d+'): the split between them is ambiguous, so a
 *    miss tries every split;
 *  - an unboundedly repeated group whose end can run into its next
 *    start because it ends in an unbounded quantifier over a class that
 *    overlaps how the group starts ('(a+)+', '(\S+\s?)*'), but not
 *    '( SERVER=\S+)*', where a space ends each round.
 * Possessive quantifiers ('\S++') and atomic groups ('(?>...)') never
 * give back what they took and end the ambiguity. Lookarounds,
 * backreferences and classes it cannot read are taken as "any byte".
 */
bool regex_may_backtrack(const tg_regex_t *re, char *why, size_t whylen);

/* Does src look like it accepts arbitrary text (".*", ".+", "\S+")? */
bool regex_is_wildcard(const char *src);

#endif
