/*
 * test_regex.c: whole-string matching and the literal-prefix pre-check
 * (src/regex.c). The pre-check must never turn a match into a miss.
 */
#include <check.h>
#include <stdio.h>
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

int
main(void)
{
	Suite *s = suite_create("regex");
	TCase *tc = tcase_create("regex");

	tcase_add_loop_test(tc, test_match, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_groups);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
