/*
 * tg_check.h: the main() every unit test shares: run one suite, exit
 * non-zero if any check failed.
 */
#ifndef TG_CHECK_H
#define TG_CHECK_H

#include <check.h>

static inline int
tg_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
