/*
 * test_guard.c: the guard that keeps onion services off control listeners
 * (src/guard.c), and its rows in policy.c (SETCONF, RESETCONF, LOADCONF
 * option by option). Every port and target form tor's own readers accept
 * is tried, not only the obvious spelling; unix paths go through a fake
 * resolver standing for the file system.
 */
#include "tg_check.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "policy.h"
#include "profile.h"
#include "torrc.h"

static guard_targets_t g;

/* The file system as the fake resolver sees it: path -> identity. */
static const struct {
	const char *path, *canon;
	unsigned long long ino;
} files[] = {
	{ "/run/tor/control", "/run/tor/control", 100 },
	{ "/run//tor/./control", "/run/tor/control", 100 },
	{ "/tmp/x/../../run/tor/control", "/run/tor/control", 100 },
	{ "/tmp/link", "/run/tor/control", 100 },           /* symlink */
	{ "/tmp/hardlink", "/tmp/hardlink", 100 },          /* same inode */
	{ "/tmp/evil,127.0.0.1:1", "/run/tor/control", 100 },
	{ "/run/torgate/control", "/run/torgate/control", 200 },
	{ "/run/app.sock", "/run/app.sock", 300 },
	{ "/run/app dir/s", "/run/app dir/s", 301 },
};

static int
fake_resolve(const char *path, addr_file_id_t *out)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(path, "/long/", 6) == 0) {   /* any length */
		snprintf(out->path, sizeof(out->path), "%s", path);
		out->dev = 2;
		out->ino = 400;
		return 0;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strcmp(path, files[i].path) == 0) {
			snprintf(out->path, sizeof(out->path), "%s",
			    files[i].canon);
			out->dev = 1;
			out->ino = files[i].ino;
			return 0;
		}
	}
	return -1;
}

static void
setup(void)
{
	static const char *const own[] = {
		"127.0.0.1:951", "unix:/run/torgate/control", "[::1]:9999",
	};
	static const char tor_list[] =
	    "\"127.0.0.1:9051\" \"unix:/run/tor/control\" \"0.0.0.0:9052\"";
	memset(&g, 0, sizeof(g));
	g.resolve = fake_resolve;
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
	guard_targets_clear(&g);
	ck_assert_uint_eq(g.n, 0);
	ck_assert(g.resolve == fake_resolve);   /* the resolver stays */
}
END_TEST

typedef struct {
	const char *args;
	bool ok;
} ocase_t;

/* ADD_ONION arguments, no client unix targets, nothing fixed. */
static const ocase_t onion_cases[] = {
	{ "NEW:BEST Port=80,8080", true },
	{ "NEW:BEST Port=80,127.0.0.1:8080", true },
	{ "NEW:BEST Port=80,+8080", true },             /* tor takes it */
	{ "NEW:BEST Port=80,9051", false },             /* bare port */
	{ "NEW:BEST Port=9051", false },                /* no target */
	{ "NEW:BEST Port=80,127.0.0.1:9051", false },
	{ "NEW:BEST Port=80,127.1.2.3:9051", false },   /* all of 127/8 */
	{ "NEW:BEST Port=80,localhost:9051", false },   /* a name */
	{ "NEW:BEST Port=80,tor.example:9051", false },
	{ "NEW:BEST Port=80,[::1]:9051", false },
	{ "NEW:BEST Port=80,[::ffff:127.0.0.1]:9051", false },
	{ "NEW:BEST Port=80,[::ffff:7f00:1]:9051", false },
	{ "NEW:BEST Port=80,0.0.0.0:9051", false },
	{ "NEW:BEST Port=80,0.1.2.3:9051", false },     /* 0/8 */
	{ "NEW:BEST Port=80,[::]:9051", false },
	{ "NEW:BEST Port=9051,127.0.0.1", false },      /* port from VIRTPORT */
	{ "NEW:BEST Port=9051,[::1]", false },
	{ "NEW:BEST Port=9051,::1", false },            /* bare IPv6 */
	{ "NEW:BEST Port=80,::1", true },               /* ...port 80 */
	{ "NEW:BEST Port=80,10.0.0.5:9051", true },     /* another host */
	{ "NEW:BEST Port=80,[::ffff:10.0.0.5]:9051", true },
	{ "NEW:BEST Port=80,10.0.0.5:9052", false },    /* tor on 0.0.0.0 */
	{ "NEW:BEST Port=80,10.0.0.5:951", true },
	{ "NEW:BEST Port=80,127.0.0.1:951", false },    /* torgate itself */
	{ "NEW:BEST Port=80,[::1]:9999", false },
	{ "NEW:BEST port=80,9051", false },             /* keyword case */
	{ "NEW:BEST PORT=80,8080 Port=81,9051", false },/* every Port= */
	{ "NEW:BEST Port=80,8080 Port=81,8081", true },
	/* tor_parse_long is strtol base 10: sign, zeros, blanks. */
	{ "NEW:BEST Port=80,+9051", false },
	{ "NEW:BEST Port=80,09051", false },
	{ "NEW:BEST Port=80,0000009051", false },
	{ "NEW:BEST Port=80,\f9051", false },
	{ "NEW:BEST Port=80,9051\f", false },
	{ "NEW:BEST Port=+9051", false },
	{ "NEW:BEST Port=09051", false },
	{ "NEW:BEST Port=\f9051", false },
	{ "NEW:BEST Port=80,127.0.0.1:+9051", false },
	{ "NEW:BEST Port=80,127.0.0.1:09051", false },
	{ "NEW:BEST Port=80,127.0.0.1:\f9051", false },
	{ "NEW:BEST Port=80,127.0.0.1:\f+09051", false },
	{ "NEW:BEST Port=80,localhost:+9051", false },
	{ "NEW:BEST Port=80,[::1]:+09051", false },
	/* Numeric forms getaddrinfo takes for 127.0.0.1: names to the guard. */
	{ "NEW:BEST Port=80,127.1:9051", false },
	{ "NEW:BEST Port=80,0x7f.1:9051", false },
	{ "NEW:BEST Port=80,2130706433:9051", false },
	{ "NEW:BEST Port=80,127.0.0.01:9051", false },
	{ "NEW:BEST Port=80,0177.0.0.1:9051", false },
	/* '#' ends the target (find_whitespace), a comment may follow. */
	{ "NEW:BEST Port=80,9051#x", false },
	{ "NEW:BEST Port=80,127.0.0.1:9051#x", false },
	/* An empty first item is dropped: this is virtual port 9051. */
	{ "NEW:BEST Port=,9051", false },
	{ "NEW:BEST Port=,,9051", false },
	/* What tor refuses is refused too, never let through. */
	{ "NEW:BEST Port=80,9051x", false },
	{ "NEW:BEST Port=80,0x2353", false },
	{ "NEW:BEST Port=80,-9051", false },
	{ "NEW:BEST Port=80,99999", false },
	{ "NEW:BEST Port=0,8080", false },
	{ "NEW:BEST Port=80,,9051", false },
	{ "NEW:BEST Port=80,[::1]9051", false },
	/* Read whole as IPv6 ::1:9051 (not loopback), port 80. */
	{ "NEW:BEST Port=80,::1:9051", true },
	{ "NEW:BEST Port=80,UNIX:/run/app.sock", false },
	{ "NEW:BEST Port=\"80,8080\"", false },         /* no quoting */
	{ "NEW:BEST Port", false },
	{ "NEW:BEST =80", false },
	{ "NEW:BEST Port=80,8080 x", false },
	{ "NEW:BEST Port=80,8080\vPort=81,9051", false },
	{ "NEW:BEST Port=80,8080\tPort=81,9051", false },
	{ "NEW:BEST", true },
	{ "NEW:BEST Flags=DiscardPK", true },
	/* unix targets: the client may not choose them at all here. */
	{ "NEW:BEST Port=80,unix:/run/tor/control", false },
	{ "NEW:BEST Port=80,unix:/run/app.sock", false },
};

START_TEST(test_add_onion)
{
	const ocase_t *c = &onion_cases[_i];
	char why[256] = "";
	bool ok = guard_add_onion_ok(&g, NULL, c->args, strlen(c->args), why,
	    sizeof(why));

	ck_assert_msg(ok == c->ok, "'%s': got %d (%s)", c->args, ok, why);
	if (!ok)
		ck_assert(why[0] != '\0');
}
END_TEST

/* ADD_ONION targets when the profile lets clients choose unix targets. */
static const ocase_t unix_cases[] = {
	{ "NEW:BEST Port=80,unix:/run/app.sock", true },
	{ "NEW:BEST Port=80,unix:/run/app.sock#c", true },
	{ "NEW:BEST Port=80,unix:\"/run/app.sock\"", true },
	{ "NEW:BEST Port=80,unix:/run/tor/control", false },
	{ "NEW:BEST Port=80,unix:/run//tor/./control", false },
	{ "NEW:BEST Port=80,unix:/tmp/x/../../run/tor/control", false },
	{ "NEW:BEST Port=80,unix:/tmp/link", false },       /* symlink */
	{ "NEW:BEST Port=80,unix:/tmp/hardlink", false },   /* same inode */
	{ "NEW:BEST Port=80,unix:/tmp/evil,127.0.0.1:1", false },
	{ "NEW:BEST Port=80,unix:\"/run/tor/control\"", false },
	{ "NEW:BEST Port=80,unix:\"/run/tor/\\x63ontrol\"", false },
	{ "NEW:BEST Port=80,unix:\"/run/tor/\\143ontrol\"", false },
	{ "NEW:BEST Port=80,unix:/run/tor/control#x", false },
	{ "NEW:BEST Port=80,unix:/run/torgate/control", false },
	{ "NEW:BEST Port=80,unix:run/tor/control", false }, /* relative */
	{ "NEW:BEST Port=80,unix:", false },
	{ "NEW:BEST Port=80,unix:/not/there", false },      /* missing */
	{ "NEW:BEST Port=80,unix:\"/run/app.sock\\0x\"", false },
	{ "NEW:BEST Port=80,unix:\"/run/app.sock\"x", false },
	{ "NEW:BEST Port=80,unix:\"/run/app.sock", false },
	{ "NEW:BEST Port=80,unix:@abstract", false },
};

START_TEST(test_unix_client)
{
	const ocase_t *c = &unix_cases[_i];
	guard_opts_t o = { .client_unix = true };
	char why[256] = "";
	bool ok = guard_add_onion_ok(&g, &o, c->args, strlen(c->args), why,
	    sizeof(why));

	ck_assert_msg(ok == c->ok, "'%s': got %d (%s)", c->args, ok, why);
}
END_TEST

START_TEST(test_unix_fixed)
{
	char why[256];
	guard_opts_t o = { .fixed = "NEW:{} Port=80,unix:/run/app.sock" };
	static const char a[] = "NEW:X Port=80,unix:/run/app.sock";
	static const char b[] = "NEW:X Port=80,unix:/run/app.sock2";

	/* Written by the profile: allowed, still checked. */
	ck_assert(guard_add_onion_ok(&g, &o, a, strlen(a), why, sizeof(why)));
	ck_assert(!guard_add_onion_ok(&g, &o, b, strlen(b), why, sizeof(why)));
	o.fixed = "NEW:{} Port=80,unix:/run/tor/control";
	static const char c[] = "NEW:X Port=80,unix:/run/tor/control";
	ck_assert(!guard_add_onion_ok(&g, &o, c, strlen(c), why, sizeof(why)));
	ck_assert(strstr(why, "control socket") != NULL);
	/* A prefix the profile wrote, completed by the client: not fixed. */
	o.fixed = "NEW:{} Port=80,unix:/run/app.sock{}";
	ck_assert(!guard_add_onion_ok(&g, &o, a, strlen(a), why, sizeof(why)));
	/* Spliced into bisq's "{} Port={},{client-address}:{}". */
	o.fixed = "{} Port={},{client-address}:{}";
	static const char d[] =
	    "NEW:X Port=80,unix:/tmp/evil,127.0.0.1:1";
	ck_assert(!guard_add_onion_ok(&g, &o, d, strlen(d), why, sizeof(why)));
	ck_assert(strstr(why, "clients choose") != NULL);
	/* No resolver: nothing can be checked, so nothing passes. */
	o.fixed = "NEW:{} Port=80,unix:/run/app.sock";
	g.resolve = NULL;
	ck_assert(!guard_add_onion_ok(&g, &o, a, strlen(a), why, sizeof(why)));
	g.resolve = fake_resolve;
}
END_TEST

/* A unix target's path must fit a socket address (107 bytes). */
START_TEST(test_unix_path_bound)
{
	guard_opts_t o = { .client_unix = true };
	char spec[300], why[256];
	size_t n = strlen("80,unix:");

	memcpy(spec, "80,unix:/long/", 14);
	memset(spec + 14, 'a', sizeof(spec) - 14);
	spec[n + 107] = '\0';             /* a 107-byte path */
	ck_assert_msg(guard_port_ok(&g, &o, spec, strlen(spec), ',', why,
	    sizeof(why)), "%s", why);
	spec[n + 107] = 'a';
	spec[n + 108] = '\0';             /* 108 bytes: too long */
	ck_assert(!guard_port_ok(&g, &o, spec, strlen(spec), ',', why,
	    sizeof(why)));
	ck_assert(strstr(why, "too long") != NULL);
}
END_TEST

/* HiddenServicePort values (separator ' '). */
static const ocase_t hsport_cases[] = {
	{ "80 8080", true },
	{ "80", true },
	{ "80   127.0.0.1:8080  ", true },
	{ "9051", false },
	{ "80 9051", false },
	{ "80\t9051", false },          /* split on ' ' only: "80\t9051" */
	{ " 80 9051", false },
	{ "80 +9051", false },
	{ "80 09051", false },
	{ "80 127.0.0.1:9051", false },
	{ "80 127.0.0.1:9051 # comment", false },
	{ "80 9051 x", false },         /* text after the target */
	{ "80 unix:/run/tor/control", false },
	{ "80 unix:\"/run/app dir/s\"", false },  /* client-chosen */
	{ "80 8080\nHiddenServicePort 81 9051", false },
	{ "", false },
	{ "x 8080", false },
};

START_TEST(test_hs_port)
{
	const ocase_t *c = &hsport_cases[_i];
	char why[256] = "";
	bool ok = guard_port_ok(&g, NULL, c->args, strlen(c->args), ' ', why,
	    sizeof(why));

	ck_assert_msg(ok == c->ok, "'%s': got %d (%s)", c->args, ok, why);
}
END_TEST

/* ---- a stale list: tor's listeners may have changed ------------------- */

START_TEST(test_stale_refuses_every_target)
{
	char why[256];

	guard_targets_mark_stale(&g, 5);
	for (size_t i = 0; i < sizeof(onion_cases) / sizeof(onion_cases[0]);
	    i++) {
		const char *a = onion_cases[i].args;
		bool ok;
		why[0] = '\0';
		ok = guard_add_onion_ok(&g, NULL, a, strlen(a), why,
		    sizeof(why));
		/* Only what names no target at all still passes. */
		if (onion_cases[i].ok && strstr(a, "Port") == NULL)
			ck_assert_msg(ok, "'%s' (%s)", a, why);
		else
			ck_assert_msg(!ok, "'%s' passed a stale list", a);
	}
	why[0] = '\0';
	ck_assert(!guard_add_onion_ok(&g, NULL, "NEW:BEST Port=80,8080", 21,
	    why, sizeof(why)));
	ck_assert_str_eq(why, GUARD_STALE_WHY);
	ck_assert(!guard_port_ok(&g, NULL, "80 8080", 7, ' ', why,
	    sizeof(why)));
	ck_assert_str_eq(why, GUARD_STALE_WHY);
	ck_assert(!guard_port_ok(&g, NULL, "80,10.0.0.5:80", 14, ',', why,
	    sizeof(why)));
	/* Forgetting the addresses keeps the mark. */
	guard_targets_clear(&g);
	ck_assert_ptr_nonnull(g.stale);
	ck_assert(!guard_port_ok(&g, NULL, "80 8080", 7, ' ', why,
	    sizeof(why)));
}
END_TEST

START_TEST(test_stale_cleared_by_later_connection)
{
	char why[256];

	ck_assert_ptr_null(g.stale);
	ck_assert(guard_targets_list_fresh(&g, 1));
	guard_targets_mark_stale(&g, 5);
	/* Connections opened before the change may show the old list. */
	ck_assert(!guard_targets_list_fresh(&g, 0));
	ck_assert(!guard_targets_list_fresh(&g, 4));
	ck_assert_ptr_nonnull(g.stale);
	/* The reply came back later: connection 5 was opened too early. */
	guard_targets_mark_stale(&g, 7);
	ck_assert(!guard_targets_list_fresh(&g, 5));
	ck_assert(!guard_targets_list_fresh(&g, 6));
	/* A mark never moves the threshold back. */
	guard_targets_mark_stale(&g, 3);
	ck_assert(!guard_targets_list_fresh(&g, 6));
	ck_assert(guard_targets_list_fresh(&g, 7));
	ck_assert_ptr_null(g.stale);
	ck_assert(guard_port_ok(&g, NULL, "80 8080", 7, ' ', why,
	    sizeof(why)));
	/* Once fresh, an early connection's list still does not count. */
	ck_assert(!guard_targets_list_fresh(&g, 6));
	ck_assert(guard_targets_list_fresh(&g, 8));
}
END_TEST

typedef struct {
	const char *args;
	bool changes;
} lcase_t;

/* SETCONF/RESETCONF arguments: may they change tor's listeners? */
static const lcase_t listener_cases[] = {
	{ "DisableNetwork=1", false },
	{ "EntryNodes=x", false },
	{ "HiddenServicePort=\"80 8080\"", false },
	{ "", false },
	{ "ControlPort=127.0.0.1:9999", true },
	{ "controlport=\"127.0.0.1:auto\"", true },
	{ "ControlPort", true },                /* reset */
	{ "__ControlPort=9999", true },
	{ "ControlSocket=/tmp/c", true },
	{ "DisableNetwork=1 ControlPort=9999", true },
	{ "SocksPort=9150", true },
	{ "__SocksPort=9150", true },
	{ "ORPort=9001", true },
	{ "MetricsPort=9035", true },
	{ "HiddenServiceDir=/tmp/x", true },
	{ "CookieAuthentication=0", true },
	{ "ControlP=9999", true },              /* tor's prefix match */
	{ "controlpor", true },
	{ "ControlPort=\"9999", true },         /* unreadable: may */
	{ "=x", true },
};

START_TEST(test_conf_changes_listeners)
{
	const lcase_t *c = &listener_cases[_i];

	ck_assert_msg(guard_conf_changes_listeners(c->args, strlen(c->args)) ==
	    c->changes, "'%s'", c->args);
}
END_TEST

START_TEST(test_control_listener_options)
{
	ck_assert(guard_is_control_listener_option("ControlPort"));
	ck_assert(guard_is_control_listener_option("controlport"));
	ck_assert(guard_is_control_listener_option("__ControlPort"));
	ck_assert(guard_is_control_listener_option("__CONTROLPORT"));
	ck_assert(guard_is_control_listener_option("ControlSocket"));
	ck_assert(guard_is_control_listener_option("controlsocket"));
	ck_assert(!guard_is_control_listener_option("ControlSocketsGroup"
	    "Writable"));
	ck_assert(!guard_is_control_listener_option("ControlPortWriteToFile"));
	ck_assert(!guard_is_control_listener_option("SocksPort"));
	ck_assert(!guard_is_control_listener_option("ControlP"));
	ck_assert(!guard_is_control_listener_option("HiddenServicePort"));
}
END_TEST

/* ---- the policy rows: SETCONF, RESETCONF, LOADCONF ------------------ */

static const char yaml[] =
"- name: open\n"
"  commands:\n"
"    SETCONF: ['.*']\n"
"    RESETCONF: ['.*']\n"
"    LOADCONF: ['(?s).*']\n"
"    ADD_ONION:\n"
"      - pattern: 'NEW:(\\S+) Port=80,(\\S+)'\n"
"        replacement: 'NEW:{} Port=80,{client-address}:{}'\n"
"      - pattern: 'FIX:(\\S+)'\n"
"        replacement: 'NEW:{} Port=80,unix:/run/app.sock'\n"
"- name: listed\n"
"  commands:\n"
"    LOADCONF: ['(?s).*']\n"
"  confs:\n"
"    SocksPort: ['127\\.0\\.0\\.1:9150', '']\n"
"    DisableNetwork: ['0', '1']\n"
"    EntryNode: ['.*']\n"
"- name: unixok\n"
"  client-unix-targets: true\n"
"  commands:\n"
"    ADD_ONION: ['.*']\n"
"- name: ctl\n"
"  commands:\n"
"    SETCONF: ['.*']\n"
"    RESETCONF: ['.*']\n"
"  confs:\n"
"    ControlPort: ['.*', '']\n"
"    __ControlPort: ['.*', '']\n"
"    ControlSocket: ['.*', '']\n"
"    HiddenServiceDir: ['.*', '']\n";

typedef struct {
	const char *profile;
	const char *line;
	const char *body;     /* LOADCONF body as sent (dot-escaped), or NULL */
	bool forward;
} pcase_t;

static const pcase_t pcases[] = {
	{ "open", "SETCONF DisableNetwork=1", NULL, true },
	{ "open", "SETCONF HiddenServicePort=\"80 8080\"", NULL, true },
	{ "open", "SETCONF HiddenServicePort=\"80 9051\"", NULL, false },
	{ "open", "SETCONF hiddenserviceport=\"80 9051\"", NULL, false },
	{ "open", "SETCONF HIDDENSERVICEPORT=\"80 +9051\"", NULL, false },
	{ "open", "SETCONF HiddenServicePort=9051", NULL, false },
	{ "open", "SETCONF HiddenServicePort=\"80 127.0.0.1:9051\\n\"", NULL,
	  false },
	{ "open", "SETCONF HiddenServicePort=\"80 \\x39051\"", NULL, false },
	/* tor's deprecated prefix match: never for a guarded option. */
	{ "open", "SETCONF HiddenServiceP=\"80 8080\"", NULL, false },
	{ "open", "SETCONF hiddenservicepor=\"80 9051\"", NULL, false },
	{ "open", "SETCONF ControlP=9999", NULL, false },
	{ "open", "SETCONF HiddenServiceDirGroupReadable=1", NULL, true },
	/* Options that open listeners or touch control auth: confs only. */
	{ "open", "SETCONF ControlPort=0.0.0.0:9999", NULL, false },
	{ "open", "SETCONF __ControlPort=9999", NULL, false },
	{ "open", "SETCONF HashedControlPassword=16:00", NULL, false },
	{ "open", "SETCONF CookieAuthentication=0", NULL, false },
	{ "open", "SETCONF SocksPort=0.0.0.0:9999", NULL, false },
	{ "open", "SETCONF HiddenServiceDir=/tmp/x", NULL, false },
	{ "open", "SETCONF ClientTransportPlugin=\"x exec /bin/sh\"", NULL,
	  false },
	{ "open", "RESETCONF ControlPort", NULL, false },
	{ "open", "RESETCONF HiddenServicePort", NULL, true },
	/* What tor would not parse is denied, not passed on. */
	{ "open", "SETCONF HiddenServicePort=\"80 9051", NULL, false },
	{ "open", "SETCONF =x", NULL, false },
	{ "listed", "SETCONF SocksPort=127.0.0.1:9150", NULL, true },
	{ "listed", "SETCONF socksport=127.0.0.1:9150", NULL, true },
	{ "listed", "SETCONF SocksPort=0.0.0.0:9150", NULL, false },
	{ "listed", "SETCONF SocksPort", NULL, true },
	{ "listed", "SETCONF SocksP=127.0.0.1:9150", NULL, false },
	{ "listed", "SETCONF EntryNodes=x", NULL, true },   /* tor's alias */
	/* LOADCONF: the body as tor reads it. */
	{ "loadall", "+LOADCONF", "SafeLogging 1\r\n", true },
	{ "loadall", "+LOADCONF", "HiddenServicePort 80 8080\r\n", true },
	{ "loadall", "+LOADCONF", "HiddenServicePort 80 9051\r\n", false },
	{ "loadall", "+LOADCONF", ".HiddenServicePort 80 9051\r\n", false },
	{ "loadall", "+LOADCONF", "..HiddenServicePort 80 9051\r\n", true },
	{ "loadall", "+LOADCONF", "  hiddenserviceport   9051\r\n", false },
	{ "loadall", "+LOADCONF", "HiddenServicePort \"80 9051\"\r\n", false },
	{ "loadall", "+LOADCONF",
	  "HiddenServicePort \"80 \\x39051\"\r\n", false },
	{ "loadall", "+LOADCONF",
	  "HiddenServicePort 80 \\\r\n9051\r\n", false },
	{ "loadall", "+LOADCONF", "HiddenServicePort 80 \\\r\n# c\r\n9051\r\n",
	  false },
	{ "loadall", "+LOADCONF",
	  "HiddenServicePort\\\r\n 80 9051\r\n", false },
	{ "loadall", "+LOADCONF", "HiddenServicePort 80 9051#c\r\n", false },
	{ "loadall", "+LOADCONF", "HiddenServicePort#c\r\n80 9051\r\n", true },
	{ "loadall", "+LOADCONF", "+HiddenServicePort 80 9051\r\n", false },
	{ "loadall", "+LOADCONF", "/HiddenServicePort 80 9051\r\n", true },
	{ "loadall", "+LOADCONF", "HiddenServiceP 80 8080\r\n", false },
	{ "loadall", "+LOADCONF", "SafeLogging 1\r\nControlPort 9999\r\n",
	  false },
	{ "loadall", "+LOADCONF", "%include /tmp/x\r\n", false },
	{ "loadall", "+LOADCONF", "+%include /tmp/x\r\n", false },
	{ "loadall", "+LOADCONF", "HiddenServicePort \"80 9051\r\n", false },
	{ "loadall", "+LOADCONF",
	  "HiddenServicePort \"80 8080\" x\r\n", false },
	{ "loadall", "+LOADCONF", "SocksPort 127.0.0.1:9150\r\n", true },
	{ "loadall", "+LOADCONF", "SocksPort 127.0.0.1:9150\r\n"
	  "SocksPort 0.0.0.0:1\r\n", false },
	/* LOADCONF resets every option its body leaves out: a guarded one
	 * needs confs that allow resetting it (CookieAuthentication dropped
	 * leaves a control port without authentication). */
	{ "open", "+LOADCONF", "SafeLogging 1\r\n", false },
	{ "open", "+LOADCONF", "CookieAuthentication 1\r\n", false },
	{ "listed", "+LOADCONF", "SocksPort 127.0.0.1:9150\r\n", false },
	{ "loadall", "+LOADCONF", "", true },
	{ "loadall", "+LOADCONF", "/SocksPort\r\n", true },
	/* ADD_ONION after the replacement: the bisq shape. */
	{ "open", "ADD_ONION NEW:X Port=80,8080", NULL, true },
	{ "open", "ADD_ONION NEW:X Port=80,+9051", NULL, false },
	{ "open", "ADD_ONION NEW:X Port=80,09051", NULL, false },
	{ "open", "ADD_ONION NEW:X Port=80,9051#", NULL, false },
	{ "open", "ADD_ONION NEW:X Port=80,x,9051", NULL, false },
	{ "open", "ADD_ONION FIX:X", NULL, true },
	{ "unixok", "ADD_ONION NEW:X Port=80,unix:/run/app.sock", NULL, true },
	{ "unixok", "ADD_ONION NEW:X Port=80,unix:/tmp/link", NULL, false },
	{ "open", "ADD_ONION NEW:X Port=80,unix:/run/app.sock", NULL, false },
	/* A control listener and an onion-service target in one command:
	 * the target is judged against listeners not known yet. */
	{ "ctl", "SETCONF ControlPort=127.0.0.1:9999", NULL, true },
	{ "ctl", "SETCONF HiddenServiceDir=/tmp/x "
	  "HiddenServicePort=\"80 8080\"", NULL, true },
	{ "ctl", "SETCONF ControlPort=127.0.0.1:9999 HiddenServiceDir=/tmp/x "
	  "HiddenServicePort=\"80 127.0.0.1:9999\"", NULL, false },
	{ "ctl", "SETCONF ControlPort=auto HiddenServiceDir=/tmp/x "
	  "HiddenServicePort=\"80 8080\"", NULL, false },
	{ "ctl", "SETCONF HiddenServiceDir=/tmp/x HiddenServicePort=\"80 "
	  "127.0.0.1:9999\" controlport=127.0.0.1:9999", NULL, false },
	{ "ctl", "SETCONF __ControlPort=9999 HiddenServiceDir=/tmp/x "
	  "HiddenServicePort=\"80 9999\"", NULL, false },
	{ "ctl", "SETCONF ControlSocket=/tmp/c HiddenServiceDir=/tmp/x "
	  "HiddenServicePort=\"80 unix:/tmp/c\"", NULL, false },
	{ "ctl", "RESETCONF ControlPort HiddenServiceDir=/tmp/x "
	  "HiddenServicePort=\"80 8080\"", NULL, false },
	/* ...a reset HiddenServicePort has no target. */
	{ "ctl", "SETCONF ControlPort=9999 HiddenServicePort", NULL, true },
	{ "loadctl", "+LOADCONF", "ControlPort 127.0.0.1:9999\r\n"
	  "HiddenServiceDir /tmp/x\r\nHiddenServicePort 80 9999\r\n", false },
	{ "loadctl", "+LOADCONF", "HiddenServiceDir /tmp/x\r\n"
	  "HiddenServicePort 80 8080\r\ncontrolsocket /tmp/c\r\n", false },
	{ "loadctl", "+LOADCONF", "HiddenServiceDir /tmp/x\r\n"
	  "HiddenServicePort 80 8080\r\n", true },
	{ "loadctl", "+LOADCONF", "ControlPort 127.0.0.1:9999\r\n", true },
};

/* The same rows with the guard's list stale: every target is refused,
 * what names none passes. */
static const pcase_t stale_cases[] = {
	{ "open", "SETCONF DisableNetwork=1", NULL, true },
	{ "open", "SETCONF HiddenServicePort=\"80 8080\"", NULL, false },
	{ "open", "SETCONF HiddenServicePort", NULL, true },
	{ "open", "RESETCONF HiddenServicePort", NULL, true },
	{ "open", "ADD_ONION NEW:X Port=80,8080", NULL, false },
	{ "open", "ADD_ONION FIX:X", NULL, false },
	{ "unixok", "ADD_ONION NEW:X Port=80,unix:/run/app.sock", NULL, false },
	{ "unixok", "ADD_ONION NEW:X Port=80,10.0.0.5:80", NULL, false },
	{ "unixok", "ADD_ONION NEW:X Flags=DiscardPK", NULL, true },
	{ "loadall", "+LOADCONF", "HiddenServicePort 80 8080\r\n", false },
	{ "loadall", "+LOADCONF", "SafeLogging 1\r\n", true },
	{ "ctl", "SETCONF ControlPort=127.0.0.1:9999", NULL, true },
};

/* The static profiles, and "loadall": LOADCONF with confs that let it
 * reset every guarded option (SocksPort also set to one address). */
static char *
all_yaml(void)
{
	size_t cap = strlen(yaml) + 8192, n;
	char *out = malloc(cap);
	torrc_opt_t kind;
	const char *name;

	ck_assert_ptr_nonnull(out);
	n = (size_t)snprintf(out, cap, "%s- name: loadall\n  commands:\n"
	    "    LOADCONF: ['(?s).*']\n  confs:\n", yaml);
	for (size_t i = 0; (name = torrc_guarded(i, &kind)) != NULL; i++) {
		ck_assert(n < cap);
		n += (size_t)snprintf(out + n, cap - n, "    %s: [%s'']\n",
		    name, strcmp(name, "SocksPort") == 0 ?
		    "'127\\.0\\.0\\.1:9150', " : "");
	}
	/* "loadctl": the same, and any control listener or HS dir. */
	ck_assert(n < cap);
	n += (size_t)snprintf(out + n, cap - n, "- name: loadctl\n"
	    "  commands:\n    LOADCONF: ['(?s).*']\n  confs:\n");
	for (size_t i = 0; (name = torrc_guarded(i, &kind)) != NULL; i++) {
		ck_assert(n < cap);
		n += (size_t)snprintf(out + n, cap - n, "    %s: [%s'']\n",
		    name, guard_is_control_listener_option(name) ||
		    strcmp(name, "HiddenServiceDir") == 0 ? "'.*', " : "");
	}
	ck_assert(n < cap);
	return out;
}

static void
check_row(const pcase_t *c)
{
	profile_diag_t d = { 0 };
	char *text = all_yaml();
	profile_set_t *set = profile_set_load_buffer("g.yml", text,
	    strlen(text), &d);
	const profile_t *p;
	template_vars_t vars = { { "127.0.0.1", "4444", "127.0.0.1", "951" } };
	policy_ctx_t ctx = { .vars = &vars, .guard = &g };
	proto_cmd_t cmd = { 0 };
	const cmd_def_t *def;
	verdict_t v;

	ck_assert_ptr_nonnull(set);
	p = profile_set_find(set, c->profile);
	ck_assert_ptr_nonnull(p);
	cmd.line = strdup(c->line);
	cmd.line_len = strlen(c->line);
	cmd.multiline = c->line[0] == '+';
	proto_split_command(cmd.line, cmd.line_len, &cmd.keyword,
	    &cmd.keyword_len, &cmd.args, &cmd.args_len);
	if (c->body != NULL) {
		cmd.body = strdup(c->body);
		cmd.body_len = strlen(c->body);
	}
	def = cmdtab_lookup(cmd.keyword, cmd.keyword_len);
	ck_assert_ptr_nonnull(def);
	policy_check(p, def, &cmd, &ctx, &v);
	ck_assert_msg((v.kind == VERDICT_FORWARD) == c->forward,
	    "%s: '%s' body '%s': verdict %d (%s)", c->profile, c->line,
	    c->body ? c->body : "", v.kind, v.why ? v.why : "");
	if (!c->forward)
		ck_assert(v.why != NULL && v.why[0] != '\0');
	verdict_clear(&v);
	proto_cmd_clear(&cmd);
	profile_set_unref(set);
	free(text);
}

START_TEST(test_policy_rows)
{
	check_row(&pcases[_i]);
}
END_TEST

START_TEST(test_policy_rows_stale)
{
	guard_targets_mark_stale(&g, 1);
	check_row(&stale_cases[_i]);
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
	tcase_add_loop_test(tc, test_unix_client, 0,
	    (int)(sizeof(unix_cases) / sizeof(unix_cases[0])));
	tcase_add_test(tc, test_unix_fixed);
	tcase_add_test(tc, test_unix_path_bound);
	tcase_add_loop_test(tc, test_hs_port, 0,
	    (int)(sizeof(hsport_cases) / sizeof(hsport_cases[0])));
	tcase_add_loop_test(tc, test_policy_rows, 0,
	    (int)(sizeof(pcases) / sizeof(pcases[0])));
	tcase_add_test(tc, test_stale_refuses_every_target);
	tcase_add_test(tc, test_stale_cleared_by_later_connection);
	tcase_add_loop_test(tc, test_conf_changes_listeners, 0,
	    (int)(sizeof(listener_cases) / sizeof(listener_cases[0])));
	tcase_add_test(tc, test_control_listener_options);
	tcase_add_loop_test(tc, test_policy_rows_stale, 0,
	    (int)(sizeof(stale_cases) / sizeof(stale_cases[0])));
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
