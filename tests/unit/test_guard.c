/*
 * test_guard.c: the guard that keeps onion services off control ports
 * (src/guard.c).
 */
#include "tg_check.h"
#include <stdio.h>
#include <string.h>

#include "guard.h"

static guard_targets_t g;

static void
setup(void)
{
	static const char *const own[] = {
		"127.0.0.1:951", "unix:/run/torgate/control", "[::1]:9999",
	};
	static const char tor_list[] =
	    "\"127.0.0.1:9051\" \"unix:/run/tor/control\" \"0.0.0.0:9052\"";
	memset(&g, 0, sizeof(g));
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		tg_addr_t a;
		char err[128];
		ck_assert_int_eq(addr_parse(own[i], &a, err, sizeof(err)), 0);
		guard_targets_add(&g, &a);
	}
	guard_targets_add_tor_list(&g, tor_list, strlen(tor_list));
}

static void
teardown(void)
{
	guard_targets_clear(&g);
}

START_TEST(test_tor_list_parsed)
{
	ck_assert_uint_eq(g.n, 6);
}
END_TEST

static const struct {
	const char *args;
	bool ok;
} onion_cases[] = {
	{ "NEW:BEST Port=80,8080", true },
	{ "NEW:BEST Port=80,127.0.0.1:8080", true },
	{ "NEW:BEST Port=80,9051", false },             /* bare port */
	{ "NEW:BEST Port=9051", false },                /* no target */
	{ "NEW:BEST Port=80,127.0.0.1:9051", false },
	{ "NEW:BEST Port=80,127.1.2.3:9051", false },   /* all of 127/8 */
	{ "NEW:BEST Port=80,localhost:9051", false },   /* a name */
	{ "NEW:BEST Port=80,tor.example:9051", false },
	{ "NEW:BEST Port=80,[::1]:9051", false },
	{ "NEW:BEST Port=80,[::ffff:127.0.0.1]:9051", false },
	{ "NEW:BEST Port=80,0.0.0.0:9051", false },
	{ "NEW:BEST Port=9051,127.0.0.1", false },      /* port from VIRTPORT */
	{ "NEW:BEST Port=80,10.0.0.5:9051", true },     /* another host */
	{ "NEW:BEST Port=80,10.0.0.5:9052", false },    /* tor on 0.0.0.0 */
	{ "NEW:BEST Port=80,10.0.0.5:951", true },
	{ "NEW:BEST Port=80,127.0.0.1:951", false },    /* torgate itself */
	{ "NEW:BEST Port=80,[::1]:9999", false },
	{ "NEW:BEST Port=80,unix:/run/tor/control", false },
	{ "NEW:BEST Port=80,unix:/run//tor/./control", false },
	{ "NEW:BEST Port=80,unix:\"/run/tor/control\"", false },
	{ "NEW:BEST Port=80,unix:/run/torgate/control", false },
	{ "NEW:BEST Port=80,unix:/run/app.sock", true },
	{ "NEW:BEST port=80,9051", false },             /* keyword case */
	{ "NEW:BEST PORT=80,8080 Port=81,9051", false },/* every Port= */
	{ "NEW:BEST Port=80,8080 Port=81,8081", true },
};

START_TEST(test_add_onion)
{
	char why[256] = "";
	bool ok = guard_add_onion_ok(&g, onion_cases[_i].args,
	    strlen(onion_cases[_i].args), why, sizeof(why));
	ck_assert_msg(ok == onion_cases[_i].ok, "'%s': got %d (%s)",
	    onion_cases[_i].args, ok, why);
	if (!ok)
		ck_assert(strstr(why, "control") != NULL);
}
END_TEST

START_TEST(test_torrc)
{
	static const char bad[] = "SocksPort 0\nHiddenServiceDir /x\n"
	    "HiddenServicePort 80 127.0.0.1:9051\n";
	static const char good[] = "HiddenServicePort 80 127.0.0.1:8080\n"
	    "hiddenserviceport 81\n";
	static const char bad2[] = "  hiddenserviceport   9051\n";
	char why[256];

	ck_assert(!guard_torrc_ok(&g, bad, strlen(bad), why, sizeof(why)));
	ck_assert(guard_torrc_ok(&g, good, strlen(good), why, sizeof(why)));
	ck_assert(!guard_torrc_ok(&g, bad2, strlen(bad2), why, sizeof(why)));
	ck_assert(!guard_port_ok(&g, "80 unix:/run/tor/control", 24, ' ', why,
	    sizeof(why)));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("guard");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tor_list_parsed);
	tcase_add_loop_test(tc, test_add_onion, 0,
	    (int)(sizeof(onion_cases) / sizeof(onion_cases[0])));
	tcase_add_test(tc, test_torrc);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
