/*
 * test_onions.c: who created which onion service (src/onions.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <string.h>

#include "onions.h"

START_TEST(test_ownership)
{
	onions_t *o = onions_new();

	ck_assert(onions_add(o, "a", "abcdef", 6));
	ck_assert(onions_owned(o, "a", "abcdef", 6));
	ck_assert(onions_owned(o, "a", "ABCDEF", 6));    /* any case */
	ck_assert(!onions_owned(o, "b", "abcdef", 6));
	ck_assert(!onions_owned(o, "a", "abcde", 5));
	ck_assert(!onions_owned(o, "a", "abcdefg", 7));
	onions_remove(o, "abcdef", 6);
	ck_assert(!onions_owned(o, "a", "abcdef", 6));
	ck_assert_uint_eq(onions_count(o), 0);
	onions_free(o);
}
END_TEST

START_TEST(test_bounded)
{
	onions_t *o = onions_new();
	char sid[32];

	for (unsigned i = 0; i < ONIONS_MAX; i++) {
		int n = snprintf(sid, sizeof(sid), "s%u", i);
		ck_assert(onions_add(o, "p", sid, (size_t)n));
	}
	ck_assert(!onions_add(o, "p", "one-more", 8));
	ck_assert(!onions_owned(o, "p", "one-more", 8));
	ck_assert_uint_eq(onions_count(o), ONIONS_MAX);
	onions_free(o);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("onions");
	TCase *tc = tcase_create("onions");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ownership);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
