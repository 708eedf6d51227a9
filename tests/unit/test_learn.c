/*
 * test_learn.c: suggested profiles (src/learn.c): the regex escaping
 * must make a pattern that matches exactly the text it came from.
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn.h"
#include "regex.h"

static const char *const texts[] = {
	"version",
	"ns/id/ABCDEF0123",
	"NEW:ED25519-V3 Port=80,127.0.0.1:8080 Flags=DiscardPK",
	"a.b|c*d+e?f(g)h[i]j{k}l^m$n\\o",
	"x  y\tz",
	"",
};

START_TEST(test_escape_roundtrip)
{
	const char *t = texts[_i];
	char *re = learn_regex_escape(t, strlen(t));
	char err[128];
	size_t off;
	tg_regex_t *r = regex_compile(re, strlen(re), err, sizeof(err), &off);
	char *longer = malloc(strlen(t) + 2);

	ck_assert_msg(r != NULL, "'%s' -> '%s': %s", t, re, err);
	ck_assert(regex_match(r, t, strlen(t), NULL));
	snprintf(longer, strlen(t) + 2, "%sX", t);
	ck_assert(!regex_match(r, longer, strlen(longer), NULL));
	if (strlen(t) > 1)
		ck_assert(!regex_match(r, "version2", 8, NULL) ||
		    strcmp(t, "version2") == 0);
	regex_free(r);
	free(re);
	free(longer);
}
END_TEST

START_TEST(test_names)
{
	peer_t p;
	char out[64];

	memset(&p, 0, sizeof(p));
	learn_name(&p, "onionshare", out, sizeof(out));
	ck_assert_str_eq(out, "onionshare");
	snprintf(p.exe, sizeof(p.exe), "/usr/bin/python3.11");
	learn_name(&p, NULL, out, sizeof(out));
	ck_assert_str_eq(out, "python3.11");
	snprintf(p.label, sizeof(p.label), "/usr/bin/tor browser");
	learn_name(&p, NULL, out, sizeof(out));
	ck_assert_str_eq(out, "tor_browser");
	learn_name(&p, "../../etc/x", out, sizeof(out));
	ck_assert(strchr(out, '/') == NULL);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("learn");
	TCase *tc = tcase_create("learn");

	tcase_add_loop_test(tc, test_escape_roundtrip, 0,
	    (int)(sizeof(texts) / sizeof(texts[0])));
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
