/*
 * test_kvline.c: tor's argument grammars (src/kvline.c).
 */
#include "tg_check.h"
#include <stdio.h>
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

int
main(void)
{
	Suite *s = suite_create("kvline");
	TCase *tc = tcase_create("kvline");

	tcase_add_loop_test(tc, test_kv, 0,
	    (int)(sizeof(kv_cases) / sizeof(kv_cases[0])));
	tcase_add_loop_test(tc, test_words, 0,
	    (int)(sizeof(word_cases) / sizeof(word_cases[0])));
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
