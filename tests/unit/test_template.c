/*
 * test_template.c: unit tests for template.c (replacement templates).
 *
 * Most cases are rows of two tables: OK rows compile a pattern and a
 * template, match a subject and compare the expansion; ERR rows expect
 * template_compile() to fail with a message containing a substring at a
 * given byte offset. Each row is its own check loop test, so a failure
 * names the row. Lengths come from sizeof, so rows may hold NUL bytes.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "regex.h"
#include "template.h"
#include "util.h"

/* Variables every OK row expands with. */
static const template_vars_t test_vars = { {
	[TPL_VAR_CLIENT_ADDRESS] = "127.0.0.1",
	[TPL_VAR_CLIENT_PORT] = "51234",
	[TPL_VAR_SERVER_ADDRESS] = "10.200.1.1",
	[TPL_VAR_SERVER_PORT] = "9051",
} };

struct ok_case {
	const char *pattern;    /* NULL: compile the template without one */
	const char *tpl;
	size_t tpl_len;
	const char *subject;    /* NULL: expand without a match */
	const char *expected;
};

#define OK(p, t, s, e) { p, t, sizeof(t) - 1, s, e }

static const struct ok_case ok_cases[] = {
	/* automatic numbering */
	OK("(a)(b)", "{}{}", "ab", "ab"),
	OK("(a)(b)(c)", "<{}|{}|{}>", "abc", "<a|b|c>"),
	OK("(a)(b)", "{}", "ab", "a"),
	/* manual numbering: {0} is the first group */
	OK("(a)(b)", "{0}", "ab", "a"),
	OK("(a)(b)", "{1}", "ab", "b"),
	OK("(a)(b)", "{1}{0}", "ab", "ba"),
	OK("(a)(b)", "{0}{0}{1}{1}", "ab", "aabb"),
	OK("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)", "{11}{10}{9}{0}",
	    "abcdefghijkl", "lkja"),
	/* escaped braces */
	OK("(x)", "{{}}", "x", "{}"),
	OK("(x)", "{{{}}}", "x", "{x}"),
	OK("(x)", "}}{{{0}}}{{", "x", "}{x}{"),
	OK(NULL, "{{client-address}}", NULL, "{client-address}"),
	/* literals only */
	OK(NULL, "", NULL, ""),
	OK(NULL, "250 OK", NULL, "250 OK"),
	OK("(a)", "", "a", ""),
	OK("(a)", "constant", "a", "constant"),
	/* named groups, alone and mixed with either numbering */
	OK("(?P<key>\\S+)=(?P<val>\\S+)", "{val}={key}", "a=b", "b=a"),
	OK("(?P<k>a)(b)", "{}{k}{}", "ab", "aab"),
	OK("(?P<k>a)(b)", "{1}{k}{0}", "ab", "baa"),
	OK("(?<perl>x)", "[{perl}]", "x", "[x]"),
	/* variables */
	OK(NULL, "{client-address}:{client-port}", NULL, "127.0.0.1:51234"),
	OK(NULL, "{server-address}:{server-port}", NULL, "10.200.1.1:9051"),
	OK("(\\d+)", "{client-address}{}{server-port}", "80",
	    "127.0.0.180" "9051"),
	/* groups that did not take part expand to nothing */
	OK("(a)?(b)", "[{0}][{1}]", "b", "[][b]"),
	OK("(a)|(b)", "{0}-{1}", "b", "-b"),
	OK("(a)|(b)", "{}-{}", "a", "a-"),
	OK("(?P<opt>x)?y", "<{opt}>", "y", "<>"),
	/* empty groups */
	OK("(a*)(b)", "[{}][{}]", "b", "[][b]"),
	/* the subject may hold what the template may not */
	OK("(.*)", "<{}>", "a{0}b}{", "<a{0}b}{>"),
	/* real onion-grater profiles */
	OK("NEW:(\\S+) Port=9999,(\\S+)",
	    "NEW:{} Port=9999,{client-address}:{}",
	    "NEW:BEST Port=9999,8080",
	    "NEW:BEST Port=9999,127.0.0.1:8080"),
	OK("250-PrivateKey=(\\S+):\\S+", "250-PrivateKey={}:redacted",
	    "250-PrivateKey=ED25519-V3:aGVsbG8gd29ybGQ=",
	    "250-PrivateKey=ED25519-V3:redacted"),
	OK("NEW:(\\S+) Port=80,(176[0-5]\\d)",
	    "NEW:{} Port=80,{client-address}:{}",
	    "NEW:ED25519-V3 Port=80,17600",
	    "NEW:ED25519-V3 Port=80,127.0.0.1:17600"),
	OK("(\\S+):(\\S+) Flags=Detach Port=(\\d+),(\\d+)",
	    "{}:{} Flags=Detach Port={},{client-address}:{}",
	    "ED25519-V3:KEY Flags=Detach Port=80,8080",
	    "ED25519-V3:KEY Flags=Detach Port=80,127.0.0.1:8080"),
};

struct err_case {
	const char *pattern;
	const char *tpl;
	size_t tpl_len;
	const char *msg;        /* substring of the error message */
	size_t off;
};

#define ERR(p, t, m, o) { p, t, sizeof(t) - 1, m, o }

static const struct err_case err_cases[] = {
	/* unbalanced braces */
	ERR("(a)", "{", "unmatched '{'", 0),
	ERR("(a)", "abc{", "unmatched '{'", 3),
	ERR("(a)", "x{0", "unmatched '{'", 1),
	ERR("(a)", "{{{", "unmatched '{'", 2),
	ERR("(a)", "}", "single '}'", 0),
	ERR("(a)", "a}b", "single '}'", 1),
	ERR("(a)", "{0}}", "single '}'", 3),
	ERR("(a)", "}}}", "single '}'", 2),
	ERR("(a)", "{a{0}}", "unexpected '{'", 2),
	/* conversions, format specs, attribute and index access */
	ERR("(a)", "{0!r}", "conversion", 2),
	ERR("(a)", "{!s}", "conversion", 1),
	ERR("(a)", "{0:>4}", "format spec", 2),
	ERR("(a)", "{:}", "format spec", 1),
	ERR("(a)", "x{0.attr}", "attribute", 3),
	ERR("(a)", "{0[1]}", "index", 2),
	ERR(NULL, "{client-address.x}", "attribute", 15),
	ERR(NULL, "{client-port[0]}", "index", 12),
	/* mixing automatic and manual numbering */
	ERR("(a)(b)", "{}{0}", "cannot switch", 2),
	ERR("(a)(b)", "{1}{}", "cannot switch", 3),
	ERR("(?P<n>a)(b)", "{n}{0}{n}{}", "cannot switch", 9),
	/* references past the groups */
	ERR("(a)", "{1}", "only 1 group", 0),
	ERR("a", "{0}", "only 0 groups", 0),
	ERR("(a)(b)", "x{2}", "only 2 groups", 1),
	ERR("(a)", "{}{}", "more {} fields", 2),
	ERR("a", "{}", "more {} fields", 0),
	ERR(NULL, "{0}", "no pattern", 0),
	ERR(NULL, "{}", "more {} fields", 0),
	ERR("(\\S+):(\\S+) Flags=Detach Port=(\\d+)",
	    "{}:{} Flags=Detach Port={},{client-address}:{}",
	    "more {} fields", 44),
	/* leading zeros and huge numbers */
	ERR("(a)", "{00}", "leading zero", 0),
	ERR("(a)", "{01}", "leading zero", 0),
	ERR("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)", "{010}", "leading zero", 0),
	ERR("(a)", "{4294967297}", "too large", 0),
	ERR("(a)", "x{99999999999999999999999999}", "too large", 1),
	ERR("(a)", "{123456789}", "only 1 group", 0),
	/* unknown names */
	ERR("(a)", "{nope}", "unknown name {nope}", 0),
	ERR(NULL, "{Client-Address}", "unknown name", 0),
	ERR(NULL, "{client_address}", "unknown name", 0),
	ERR(NULL, "{client-address }", "unknown name", 0),
	ERR("(a)", "{ 0}", "unknown name", 0),
	ERR("(a)", "{-1}", "unknown name", 0),
	ERR("(a)", "{+0}", "unknown name", 0),
	ERR("(?P<key>a)", "{val}", "unknown name {val}", 0),
	ERR(NULL, "{key}", "unknown name", 0),
	/* line breaks and NUL: injection attempts */
	ERR("(a)", "a\rb", "CR", 1),
	ERR("(a)", "a\nb", "LF", 1),
	ERR("(a)", "a\0b", "NUL", 1),
	ERR("(\\S+)", "{}\r\n250 OK", "CR", 2),
	ERR("(\\S+)", "250 OK\n650 STREAM {}", "LF", 6),
	ERR(NULL, "{client-address}\r\nSETCONF x=y", "CR", 16),
	ERR("(a)", "{\n}", "LF", 1),
	/* a line break is reported before any other problem */
	ERR("(a)", "{9}}\n", "LF", 4),
};

/* Compile pattern or fail the test; NULL stays NULL. */
static tg_regex_t *
compile_pattern(const char *pattern)
{
	char err[256];
	size_t off = 0;
	tg_regex_t *re;

	if (pattern == NULL)
		return NULL;
	re = regex_compile(pattern, strlen(pattern), err, sizeof(err), &off);
	ck_assert_msg(re != NULL, "pattern '%s': %s at %zu", pattern, err,
	    off);
	return re;
}

START_TEST(test_ok_table)
{
	const struct ok_case *c = &ok_cases[_i];
	char err[256] = "";
	size_t off = 0, len = 0;
	tg_regex_t *re;
	template_t *t;
	regex_match_t m;
	char *out;

	re = compile_pattern(c->pattern);
	t = template_compile(c->tpl, c->tpl_len, re, err, sizeof(err), &off);
	ck_assert_msg(t != NULL, "template '%s': %s at %zu", c->tpl, err,
	    off);
	ck_assert_str_eq(template_source(t), c->tpl);
	if (c->subject != NULL) {
		ck_assert_msg(regex_match(re, c->subject, strlen(c->subject),
		    &m), "'%s' does not match '%s'", c->subject, c->pattern);
		out = template_expand(t, &m, &test_vars, &len);
	} else {
		out = template_expand(t, NULL, &test_vars, &len);
	}
	ck_assert_str_eq(out, c->expected);
	ck_assert_uint_eq(len, strlen(c->expected));
	free(out);
	template_free(t);
	regex_free(re);
}
END_TEST

START_TEST(test_err_table)
{
	const struct err_case *c = &err_cases[_i];
	char err[256] = "";
	size_t off = (size_t)-1;
	tg_regex_t *re;
	template_t *t;

	re = compile_pattern(c->pattern);
	t = template_compile(c->tpl, c->tpl_len, re, err, sizeof(err), &off);
	ck_assert_msg(t == NULL, "template '%s' compiled", c->tpl);
	ck_assert_msg(strstr(err, c->msg) != NULL,
	    "template '%s': error '%s' lacks '%s'", c->tpl, err, c->msg);
	ck_assert_msg(off == c->off, "template '%s': offset %zu, not %zu",
	    c->tpl, off, c->off);
	regex_free(re);
}
END_TEST

/* Unset variables, and no variables at all, expand to nothing. */
START_TEST(test_vars_missing)
{
	template_vars_t vars = { { NULL } };
	static const char src[] = "[{client-address}:{server-port}]";
	template_t *t;
	size_t len = 1;
	char *out;

	t = template_compile(src, sizeof(src) - 1, NULL, NULL, 0, NULL);
	ck_assert_ptr_nonnull(t);
	vars.v[TPL_VAR_CLIENT_ADDRESS] = "::1";
	out = template_expand(t, NULL, &vars, &len);
	ck_assert_str_eq(out, "[::1:]");
	ck_assert_uint_eq(len, 6);
	free(out);
	out = template_expand(t, NULL, NULL, NULL);
	ck_assert_str_eq(out, "[:]");
	free(out);
	template_free(t);
}
END_TEST

/* Groups expand by length, not up to a NUL in the subject. */
START_TEST(test_subject_with_nul)
{
	static const char subject[] = "a\0b";
	tg_regex_t *re = compile_pattern("(?s)(.*)");
	template_t *t;
	regex_match_t m;
	size_t len = 0;
	char *out;

	t = template_compile("<{}>", 4, re, NULL, 0, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert(regex_match(re, subject, sizeof(subject) - 1, &m));
	out = template_expand(t, &m, NULL, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(out, "<a\0b>", 6);
	free(out);
	template_free(t);
	regex_free(re);
}
END_TEST

/* A template with groups expanded without a match yields empty groups. */
START_TEST(test_expand_without_match)
{
	tg_regex_t *re = compile_pattern("(a)(b)");
	template_t *t;
	char *out;

	t = template_compile("x{}y{}z", 7, re, NULL, 0, NULL);
	ck_assert_ptr_nonnull(t);
	out = template_expand(t, NULL, NULL, NULL);
	ck_assert_str_eq(out, "xyz");
	free(out);
	template_free(t);
	regex_free(re);
}
END_TEST

/* The length argument bounds the template: no reading past it. */
START_TEST(test_length_bound)
{
	static const char src[] = "{}tail}";
	tg_regex_t *re = compile_pattern("(a)");
	template_t *t;
	regex_match_t m;
	char *out;

	t = template_compile(src, 2, re, NULL, 0, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(template_source(t), "{}");
	ck_assert(regex_match(re, "a", 1, &m));
	out = template_expand(t, &m, NULL, NULL);
	ck_assert_str_eq(out, "a");
	free(out);
	template_free(t);
	regex_free(re);
}
END_TEST

/* Errors never overflow a small buffer and tolerate no buffer at all. */
START_TEST(test_error_buffers)
{
	char small[8];
	size_t off = 0;

	memset(small, 'x', sizeof(small));
	ck_assert_ptr_null(template_compile("ab}", 3, NULL, small,
	    sizeof(small), &off));
	ck_assert_uint_eq(off, 2);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_ptr_null(template_compile("ab}", 3, NULL, NULL, 0, NULL));
	ck_assert_ptr_null(template_compile("{", 1, NULL, small, 0, &off));
	ck_assert_uint_eq(off, 0);
}
END_TEST

/* One expansion of a long template over a long subject. */
START_TEST(test_large)
{
	enum { N = 1000 };
	char *tpl = xmalloc(3 * N + 1), *subject = xmalloc(N + 1), *out;
	tg_regex_t *re = compile_pattern("(\\S+)");
	template_t *t;
	regex_match_t m;
	size_t len = 0;

	for (size_t i = 0; i < N; i++)
		memcpy(tpl + 3 * i, "{0}", 3);
	tpl[3 * N] = '\0';
	memset(subject, 'z', N);
	subject[N] = '\0';
	t = template_compile(tpl, 3 * N, re, NULL, 0, NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert(regex_match(re, subject, N, &m));
	out = template_expand(t, &m, NULL, &len);
	ck_assert_uint_eq(len, (size_t)N * N);
	ck_assert_uint_eq(strlen(out), (size_t)N * N);
	free(out);
	template_free(t);
	regex_free(re);
	free(tpl);
	free(subject);
}
END_TEST

static Suite *
template_suite(void)
{
	Suite *s = suite_create("template");
	TCase *tc;

	tc = tcase_create("ok");
	tcase_add_loop_test(tc, test_ok_table, 0, (int)ARRAY_LEN(ok_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_err_table, 0, (int)ARRAY_LEN(err_cases));
	tcase_add_test(tc, test_error_buffers);
	suite_add_tcase(s, tc);

	tc = tcase_create("expand");
	tcase_add_test(tc, test_vars_missing);
	tcase_add_test(tc, test_subject_with_nul);
	tcase_add_test(tc, test_expand_without_match);
	tcase_add_test(tc, test_length_bound);
	tcase_add_test(tc, test_large);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(template_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
