/*
 * test_cmdtab.c: the command table (src/cmdtab.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmdtab.h"

/* The binary search needs the rows sorted the way it compares them. */
START_TEST(test_sorted)
{
	for (int i = 1; i < CMD_COUNT; i++)
		ck_assert_msg(strcasecmp(cmdtab_get(i - 1)->name,
		    cmdtab_get(i)->name) < 0, "%s before %s",
		    cmdtab_get(i - 1)->name, cmdtab_get(i)->name);
}
END_TEST

START_TEST(test_every_row_found)
{
	for (int i = 0; i < CMD_COUNT; i++) {
		const cmd_def_t *d = cmdtab_get(i);
		char kw[64];
		ck_assert_int_eq(d->id, i);
		snprintf(kw, sizeof(kw), "%s%s",
		    (d->flags & CMD_F_BODY) ? "+" : "", d->name);
		ck_assert_ptr_eq(cmdtab_lookup(kw, strlen(kw)), d);
		ck_assert_ptr_eq(cmdtab_lookup_name(d->name), d);
	}
}
END_TEST

static const struct {
	const char *kw;
	const char *want;   /* NULL: unknown */
} lookups[] = {
	{ "GETINFO", "GETINFO" },
	{ "getinfo", "GETINFO" },
	{ "GetInfo", "GETINFO" },
	{ "+LOADCONF", "LOADCONF" },
	{ "+loadconf", "LOADCONF" },
	{ "LOADCONF", NULL },       /* tor knows only the '+' form */
	{ "+GETINFO", NULL },       /* and no '+' form of one-line commands */
	{ "GETINF", NULL },
	{ "GETINFOX", NULL },
	{ "", NULL },
	{ "+", NULL },
	{ "onion_client_auth_add", "ONION_CLIENT_AUTH_ADD" },
	{ "ONION_CLIENT_AUTH", NULL },
	{ "SETROUTERPURPOSE", "SETROUTERPURPOSE" },
};

START_TEST(test_lookup)
{
	const cmd_def_t *d = cmdtab_lookup(lookups[_i].kw,
	    strlen(lookups[_i].kw));
	if (lookups[_i].want == NULL)
		ck_assert_msg(d == NULL, "'%s' found", lookups[_i].kw);
	else {
		ck_assert_msg(d != NULL, "'%s' not found", lookups[_i].kw);
		ck_assert_str_eq(d->name, lookups[_i].want);
	}
}
END_TEST

/* A keyword with a NUL never matches (and never reads past a name). */
START_TEST(test_nul_in_keyword)
{
	static const char kw[] = "QUIT\0XYZXYZXYZXYZXYZXYZXYZXYZ";
	ck_assert_ptr_null(cmdtab_lookup(kw, sizeof(kw) - 1));
	ck_assert_ptr_null(cmdtab_lookup("QUIT\0", 5));
}
END_TEST

START_TEST(test_flags)
{
	const cmd_def_t *d;

	d = cmdtab_lookup_name("AUTHENTICATE");
	ck_assert(d->flags & CMD_F_PREAUTH);
	ck_assert(d->flags & CMD_F_SECRET);
	ck_assert(cmdtab_lookup_name("QUIT")->flags & CMD_F_PREAUTH);
	ck_assert(!(cmdtab_lookup_name("GETINFO")->flags & CMD_F_PREAUTH));
	ck_assert(cmdtab_lookup_name("+HSPOST")->flags & CMD_F_BODY);
	ck_assert(cmdtab_lookup_name("SETROUTERPURPOSE")->flags &
	    CMD_F_OBSOLETE);
	ck_assert(cmdtab_lookup_name("TAKEOWNERSHIP")->flags & CMD_F_LOCAL);
}
END_TEST

/* Secrets: exactly the commands tor wipes (control_cmd.c, CMD_FL_WIPE). */
START_TEST(test_secret_commands)
{
	static const char *const wipe[] = { "ADD_ONION", "AUTHCHALLENGE",
		"AUTHENTICATE", "DEL_ONION", "ONION_CLIENT_AUTH_ADD" };
	size_t n = 0;

	for (size_t i = 0; i < sizeof(wipe) / sizeof(wipe[0]); i++)
		ck_assert_msg(cmdtab_lookup_name(wipe[i])->flags &
		    CMD_F_SECRET, "%s", wipe[i]);
	for (int i = 0; i < CMD_COUNT; i++)
		if (cmdtab_get((cmd_id_t)i)->flags & CMD_F_SECRET)
			n++;
	ck_assert_uint_eq(n, sizeof(wipe) / sizeof(wipe[0]));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cmdtab");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_sorted);
	tcase_add_test(tc, test_every_row_found);
	tcase_add_loop_test(tc, test_lookup, 0,
	    (int)(sizeof(lookups) / sizeof(lookups[0])));
	tcase_add_test(tc, test_nul_in_keyword);
	tcase_add_test(tc, test_flags);
	tcase_add_test(tc, test_secret_commands);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
