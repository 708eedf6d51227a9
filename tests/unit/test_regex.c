/*
 * test_regex.c: whole-string matching and the literal-prefix pre-check
 * (src/regex.c). The pre-check must never turn a match into a miss.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "tg_check.h"

static const struct {
	const char *pattern, *subject;
	bool match;
} cases[] = {
	{ "version", "version", true },
	{ "version", "version ", false },
	{ "version", "versio", false },
	{ "version|config-file", "config-file", true },
	{ "version|config-file", "version address", false },
	{ "a|b", "a anything", false },
	{ "ab?c", "ac", true },
	{ "ab*c", "ac", true },
	{ "ab{0,1}c", "ac", true },
	{ "a+b", "aab", true },
	{ "a+b", "b", false },
	{ "abc|xyz", "xyz", true },
	{ "(?i)abc", "ABC", true },
	{ "(?i:abc)", "aBc", true },
	{ "ns/id/[a-f]+", "ns/id/ab", true },
	{ "ns/id/[a-f]+", "ns/ix/ab", false },
	{ "\\Qa.b\\E", "a.b", true },
	{ "\\Qa.b\\E", "axb", false },
	{ "a.b", "axb", true },
	{ "NEW:(\\S+) Port=80,(\\d+)", "NEW:BEST Port=80,8080", true },
	{ "NEW:(\\S+) Port=80,(\\d+)", "NEW:BEST Port=80,8080 x", false },
	{ "(?P<k>a)b", "ab", true },
	{ "x$", "x", true },
	{ "", "", true },
	{ "", "x", false },
	{ "abc#x", "abc#x", true },
	{ " lead", " lead", true },
};

START_TEST(test_match)
{
	char err[128];
	size_t off;
	tg_regex_t *re = regex_compile(cases[_i].pattern,
	    strlen(cases[_i].pattern), err, sizeof(err), &off);

	ck_assert_msg(re != NULL, "%s: %s", cases[_i].pattern, err);
	ck_assert_msg(regex_match(re, cases[_i].subject,
	    strlen(cases[_i].subject), NULL) == cases[_i].match,
	    "'%s' on '%s'", cases[_i].pattern, cases[_i].subject);
	regex_free(re);
}
END_TEST

START_TEST(test_groups)
{
	char err[128];
	size_t off;
	regex_match_t m;
	tg_regex_t *re = regex_compile("(a)(b)?(?P<c>c)", 15, err,
	    sizeof(err), &off);

	ck_assert_ptr_nonnull(re);
	ck_assert_uint_eq(regex_ngroups(re), 3);
	ck_assert_int_eq(regex_group_number(re, "c"), 3);
	ck_assert_int_eq(regex_group_number(re, "d"), -1);
	ck_assert(regex_match(re, "ac", 2, &m));
	ck_assert_uint_eq(m.ovector[2], 0);
	ck_assert_uint_eq(m.ovector[4], (size_t)-1);    /* unset group */
	regex_free(re);
	/* A literal pattern (compared, not run through PCRE2) still fills
	 * in the match. */
	re = regex_compile("onions/current", 14, err, sizeof(err), &off);
	ck_assert_ptr_nonnull(re);
	ck_assert(regex_match(re, "onions/current", 14, &m));
	ck_assert_uint_eq(m.ovector[0], 0);
	ck_assert_uint_eq(m.ovector[1], 14);
	ck_assert_uint_eq(m.ngroups, 0);
	ck_assert(!regex_match(re, "onions/currentx", 15, &m));
	ck_assert(!regex_match(re, "onions/curren", 13, &m));
	regex_free(re);
	ck_assert_ptr_null(regex_compile("(", 1, err, sizeof(err), &off));
	ck_assert(strstr(err, "bad pattern") != NULL);
}
END_TEST

static tg_regex_t *
compile(const char *pattern)
{
	char err[128];
	size_t off;
	tg_regex_t *re = regex_compile(pattern, strlen(pattern), err,
	    sizeof(err), &off);

	ck_assert_msg(re != NULL, "%s: %s", pattern, err);
	return re;
}

/*
 * '(.*),(.*)' on ',' + N bytes backtracks over each of them: about N
 * steps. Just under the match limit it matches; just over it the match
 * gives up, which is REGEX_LIMIT (never REGEX_NOMATCH) and is counted.
 */
START_TEST(test_match_limit_at_the_bound)
{
	tg_regex_t *re = compile("(.*),(.*)");
	size_t under = REGEX_MATCH_LIMIT - 100, over = REGEX_MATCH_LIMIT + 100;
	char *s = malloc(over + 2);
	unsigned long hits = regex_limit_hits();

	s[0] = ',';
	memset(s + 1, 'a', over);
	ck_assert_int_eq(regex_exec(re, s, under + 1, NULL), REGEX_MATCH);
	ck_assert_uint_eq(regex_limit_hits(), hits);
	ck_assert_int_eq(regex_exec(re, s, over + 1, NULL), REGEX_LIMIT);
	ck_assert_uint_eq(regex_limit_hits(), hits + 1);
	ck_assert(!regex_match(re, s, over + 1, NULL));
	regex_free(re);
	free(s);
}
END_TEST

/* Whonix bisq's ADD_ONION pattern on a hostile 64 KiB line: given up,
 * not a miss (before the limit, this cost over a second). A real
 * command still matches. */
START_TEST(test_match_limit_hostile)
{
	tg_regex_t *re = compile("(\\S+) Port=(\\S+),(\\S+)");
	size_t n = 65000;
	char *s = malloc(n + 16);
	static const char ok[] = "ED25519-V3:abc Port=9999,127.0.0.1:9999";

	memcpy(s, "x Port=", 7);
	memset(s + 7, ',', n);
	memcpy(s + 7 + n, " y", 2);
	ck_assert_int_eq(regex_exec(re, s, n + 9, NULL), REGEX_LIMIT);
	ck_assert_int_eq(regex_exec(re, ok, sizeof(ok) - 1, NULL),
	    REGEX_MATCH);
	ck_assert_int_eq(regex_exec(re, "x", 1, NULL), REGEX_NOMATCH);
	regex_free(re);
	free(s);
}
END_TEST

/* A long subject that needs a deep JIT stack (one frame per repeat)
 * matches: the JIT gets a stack of its own, beyond the default 32 KiB. */
START_TEST(test_deep_repeat_matches)
{
	tg_regex_t *re = compile("\\S+( SERVER=\\S+)*");
	size_t n = 0, cap = 70000;
	char *s = malloc(cap);

	n += (size_t)snprintf(s, cap, "%s", "abcdefghijklmnopqrstuvwxyz234567"
	    "abcdefghijklmnopqrstuv");
	for (int i = 0; i < 1300; i++)
		n += (size_t)snprintf(s + n, cap - n, " SERVER=$%040X", i);
	ck_assert_int_eq(regex_exec(re, s, n, NULL), REGEX_MATCH);
	regex_free(re);
	free(s);
}
END_TEST

static const struct {
	const char *pattern;
	bool risky;
} backtrack_cases[] = {
	/* adjacent unbounded quantifiers over overlapping classes */
	{ "(\\S+) Port=(\\S+),(\\S+)", true },
	{ "(\\S+):(\\S+) Port=9999,(\\S+)", true },
	{ "(.*),(.*)x", true },
	{ ".*.*,", true },
	{ "(\\S+)=\\S*", true },
	{ "\\w+\\d+", true },
	{ "[a-z]+[a-f0-9]*", true },
	{ "(?:a|b)+b+", true },
	{ "(\\S+)?\\S+", true },
	/* nested: a repeated group whose end runs into its start */
	{ "(a+)+", true },
	{ "(\\S+\\s?)*", true },
	{ "(?:x|\\d+)*", true },
	/* linear */
	{ "(.*),(.*)", false },
	{ ".*.*", false },
	{ ".* .*", false },
	{ "250-(\\S+)=.*", false },
	{ "(650 HS_DESC FAILED .* REASON=UPLOAD_REJECTED(?: .*)?)", false },
	{ "\\S+( SERVER=\\S+)*", false },
	{ "(\\S+) Port=(\\S+)", false },
	{ "NEW:(\\S+) Port=9999,(\\S+)", false },
	{ "\\d+\\.\\d+", false },
	{ "[a-z]+[0-9]+", false },
	{ "(\\w+,)*", false },
	{ ".*", false },
	{ "(?s).*", false },
	{ "version", false },
	{ "\\S++,\\S+", false },
	{ "(?>\\S+),\\S+", false },
	{ "[^,]+,[^,]+", false },
	{ "650 HS_DESC CREATED (\\S+) (\\S+) (\\S+) \\S+ (.+)", false },
	{ "250-status/bootstrap-phase=.*", false },
	{ "(?P<sid>[a-z2-7]{56}) Flags=(\\S+)", false },
	{ "a{2,}b{1,5}", false },
	{ "\\Q.*.*\\E", false },
	{ "x(?=.*)y.*", false },
	{ "[\\d]+[^\\d]+", false },
};

START_TEST(test_may_backtrack)
{
	char why[128] = "";
	tg_regex_t *re = compile(backtrack_cases[_i].pattern);
	bool risky = regex_may_backtrack(re, why, sizeof(why));

	ck_assert_msg(risky == backtrack_cases[_i].risky, "'%s': %s (%s)",
	    backtrack_cases[_i].pattern, risky ? "flagged" : "not flagged",
	    why);
	if (risky)
		ck_assert(strstr(why, "offset") != NULL);
	regex_free(re);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("regex");
	TCase *tc = tcase_create("regex");

	tcase_add_loop_test(tc, test_match, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_groups);
	tcase_add_test(tc, test_match_limit_at_the_bound);
	tcase_add_test(tc, test_match_limit_hostile);
	tcase_add_test(tc, test_deep_repeat_matches);
	tcase_add_loop_test(tc, test_may_backtrack, 0,
	    (int)(sizeof(backtrack_cases) / sizeof(backtrack_cases[0])));
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
