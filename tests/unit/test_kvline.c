/*
 * test_kvline.c: tor's argument grammars (src/kvline.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvline.h"

/* Expected parse, as "key=value" items joined by '|', a bare key written
 * as "key", or NULL when tor would reject the line. */
static const struct {
	const char *in;
	const char *want;
} kv_cases[] = {
	{ "A=1", "A=1" },
	{ "A=1 B=2", "A=1|B=2" },
	{ "  A=1\tB=2  ", "A=1|B=2" },
	{ "A", "A" },
	{ "A B=", "A|B=" },
	{ "A=\"x y\"", "A=x y" },
	{ "A=\"x \\\"q\\\" \\\\ \\n\"", "A=x \"q\" \\ \n" },
	{ "A=\"x\"B=1", NULL },            /* no space after the quote */
	{ "A=\"x", NULL },                 /* unterminated */
	{ "\"x\"", NULL },                 /* value without key */
	{ "=x", NULL },                    /* empty key */
	{ "A=\"\\0\"", NULL },             /* NUL in a value */
	{ "Bridge=x ControlPort=0.0.0.0:9999", "Bridge=x|ControlPort=0.0.0.0:9999" },
	{ "A=x=y", "A=x=y" },
	{ "", "" },
};

START_TEST(test_kv)
{
	kvlist_t l;
	char got[512] = "";
	int rc = kvline_parse(kv_cases[_i].in, strlen(kv_cases[_i].in), &l);

	if (kv_cases[_i].want == NULL) {
		ck_assert_msg(rc < 0, "'%s' accepted", kv_cases[_i].in);
		ck_assert_uint_eq(l.n, 0);
		return;
	}
	ck_assert_msg(rc == 0, "'%s' rejected", kv_cases[_i].in);
	for (size_t i = 0; i < l.n; i++) {
		size_t u = strlen(got);
		snprintf(got + u, sizeof(got) - u, "%s%s%s%s", i ? "|" : "",
		    l.v[i].key, l.v[i].value ? "=" : "",
		    l.v[i].value ? l.v[i].value : "");
	}
	ck_assert_str_eq(got, kv_cases[_i].want);
	kvlist_clear(&l);
}
END_TEST

static const struct {
	const char *in;
	const char *want;
} word_cases[] = {
	{ "version", "version" },
	{ "version address", "version|address" },
	{ "  version   address  ", "version|address" },
	{ "version\taddress", "version\taddress" },   /* one item, as tor */
	{ " \tversion\t ", "version" },
	{ "", "" },
	{ "   ", "" },
};

START_TEST(test_words)
{
	words_t w;
	char got[256] = "";

	words_split(word_cases[_i].in, strlen(word_cases[_i].in), &w);
	for (size_t i = 0; i < w.n; i++) {
		size_t u = strlen(got);
		snprintf(got + u, sizeof(got) - u, "%s%s", i ? "|" : "", w.v[i]);
	}
	ck_assert_str_eq(got, word_cases[_i].want);
	words_clear(&w);
}
END_TEST

/* QuotedString: what kvline_quote writes. */
static const struct {
	const char *in;
	const char *want;
} quote_cases[] = {
	{ "", "\"\"" },
	{ "secret", "\"secret\"" },
	{ "a\"b", "\"a\\\"b\"" },
	{ "a\\b", "\"a\\\\b\"" },
	{ "\\\"", "\"\\\\\\\"\"" },
	{ "\"", "\"\\\"\"" },
	{ "sp ace\ttab'", "\"sp ace\ttab'\"" },
};

START_TEST(test_quote)
{
	char *q = kvline_quote(quote_cases[_i].in), *back = NULL;
	size_t blen = 0;

	ck_assert_str_eq(q, quote_cases[_i].want);
	/* And it reads back as itself, using every byte. */
	ck_assert_int_eq(kvline_unquote(q, strlen(q), &back, &blen),
	    (long)strlen(q));
	ck_assert_uint_eq(blen, strlen(quote_cases[_i].in));
	ck_assert_mem_eq(back, quote_cases[_i].in, blen);
	free(back);
	free(q);
}
END_TEST

/* QuotedString decoding: input (with its length, for NULs), bytes used
 * (-1: rejected), and the decoded bytes. */
#define UQ(in, used, out) { in, sizeof(in) - 1, used, out, sizeof(out) - 1 }
static const struct {
	const char *in;
	size_t len;
	long used;
	const char *out;
	size_t outlen;
} unquote_cases[] = {
	UQ("\"\"", 2, ""),
	UQ("\"abc\"", 5, "abc"),
	UQ("\"abc\" rest", 5, "abc"),                  /* stops at the quote */
	UQ("\"a\\\"b\"", 6, "a\"b"),
	UQ("\"\\\\\"", 4, "\\"),
	UQ("\"\\n\\r\\t\\'\"", 10, "\n\r\t'"),
	UQ("\"\\x41\\X4a\\x7e\"", 14, "AJ~"),
	UQ("\"\\101\"", 6, "A"),                        /* octal */
	UQ("\"\\0\"", 4, "\0"),                         /* one digit */
	UQ("\"\\12\"", 5, "\n"),                        /* two digits */
	UQ("\"\\1012\"", 7, "A2"),                      /* at most three */
	UQ("\"\\377\"", 6, "\377"),
	UQ("\"a\\0b\"", 6, "a\0b"),                     /* NUL by escape */
	UQ("\"\\400\"", -1, ""),                        /* over 255 */
	UQ("\"\\8\"", -1, ""),                          /* not octal */
	UQ("\"\\x4\"", -1, ""),                         /* one hex digit */
	UQ("\"\\xg0\"", -1, ""),
	UQ("\"\\q\"", -1, ""),                          /* unknown escape */
	UQ("\"\\ \"", -1, ""),
	UQ("\"abc", -1, ""),                            /* unterminated */
	UQ("\"abc\\\"", -1, ""),                        /* escaped last quote */
	UQ("\"abc\\", -1, ""),
	UQ("\"", -1, ""),
	UQ("", -1, ""),
	UQ("abc\"", -1, ""),                            /* no opening quote */
	UQ(" \"abc\"", -1, ""),
	UQ("\"a\nb\"", -1, ""),                         /* raw newline */
	UQ("\"a\0b\"", -1, ""),                         /* raw NUL */
};

START_TEST(test_unquote)
{
	char *out = NULL;
	size_t outlen = 12345;
	long used = kvline_unquote(unquote_cases[_i].in, unquote_cases[_i].len,
	    &out, &outlen);

	ck_assert_int_eq(used, unquote_cases[_i].used);
	if (used < 0) {
		ck_assert_ptr_null(out);
		return;
	}
	ck_assert_uint_eq(outlen, unquote_cases[_i].outlen);
	ck_assert_mem_eq(out, unquote_cases[_i].out, outlen);
	ck_assert_int_eq(out[outlen], '\0');
	free(out);
}
END_TEST

/* The length bounds the read: a QuotedString cut short is incomplete,
 * whatever follows in memory. */
START_TEST(test_unquote_counted)
{
	static const char s[] = "\"abc\\x41\\101\"";
	char *out = NULL;
	size_t outlen;

	for (size_t n = 0; n < sizeof(s) - 1; n++) {
		char *copy = malloc(n ? n : 1);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, s, n);
		ck_assert_msg(kvline_unquote(copy, n, &out, &outlen) == -1,
		    "accepted the first %zu bytes", n);
		free(copy);
	}
	ck_assert_int_eq(kvline_unquote(s, sizeof(s) - 1, &out, &outlen),
	    (long)(sizeof(s) - 1));
	ck_assert_str_eq(out, "abcAA");
	free(out);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("kvline");
	TCase *tc = tcase_create("kvline");

	tcase_add_loop_test(tc, test_kv, 0,
	    (int)(sizeof(kv_cases) / sizeof(kv_cases[0])));
	tcase_add_loop_test(tc, test_words, 0,
	    (int)(sizeof(word_cases) / sizeof(word_cases[0])));
	tcase_add_loop_test(tc, test_quote, 0,
	    (int)(sizeof(quote_cases) / sizeof(quote_cases[0])));
	tcase_add_loop_test(tc, test_unquote, 0,
	    (int)(sizeof(unquote_cases) / sizeof(unquote_cases[0])));
	tcase_add_test(tc, test_unquote_counted);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
