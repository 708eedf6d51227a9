/*
 * test_router.c: the reply router -- fences around checked commands, the
 * shape each command's reply may have, and the forms tor answers twice or
 * never. Replies are fed as tor's bytes through proto.c's reader, as
 * relay.c does.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "router.h"
#include "tg_check.h"

#define FIN "X-TORGATE-FENCE-00000000000000000000000000000001"
#define FOUT "X-TORGATE-FENCE-00000000000000000000000000000002"
#define FL(k) "552 Unrecognized key \"" k "\"\r\n"

typedef struct {
	int pass, swallow;
	bool desync, done;
	size_t left;            /* bytes not consumed when it stopped */
} run_t;

/* Feed bytes to x until it is done or desynchronised. */
static run_t
run(router_expect_t *x, const char *bytes)
{
	struct evbuffer *in = evbuffer_new();
	proto_reply_reader_t rr;
	run_t res = { 0 };

	proto_reply_reader_init(&rr, 4096);
	evbuffer_add(in, bytes, strlen(bytes));
	for (;;) {
		proto_reply_line_t line;
		proto_err_t err;
		const char *why, *text;
		bool done;

		if (proto_reply_peek(&rr, in, &line, &err) != PROTO_COMPLETE)
			break;
		ck_assert(!line.is_event);
		text = (const char *)evbuffer_pullup(in, (ssize_t)line.len);
		switch (router_line(x, &line, text, &done, &why)) {
		case ROUTE_PASS:
			res.pass++;
			break;
		case ROUTE_SWALLOW:
			res.swallow++;
			break;
		case ROUTE_DESYNC:
			ck_assert_ptr_nonnull(why);
			res.desync = true;
			goto out;
		}
		evbuffer_drain(in, line.len);
		if (done) {
			res.done = true;
			break;
		}
	}
out:
	res.left = evbuffer_get_length(in);
	evbuffer_free(in);
	return res;
}

/* A checked command with both fences; reply is what comes between. */
static run_t
fenced(cmd_id_t cmd, const char *args, const char *reply)
{
	router_expect_t x;
	char *all;
	run_t r;

	router_expect_init(&x, cmd, true, args, strlen(args), FIN, FOUT);
	all = malloc(strlen(reply) + 200);
	strcpy(all, FL(FIN));
	strcat(all, reply);
	strcat(all, FL(FOUT));
	r = run(&x, all);
	free(all);
	router_expect_clear(&x);
	return r;
}

typedef struct {
	cmd_id_t cmd;
	const char *args;
	const char *reply;
	bool fits;
} shape_case_t;

static const shape_case_t shape_cases[] = {
	/* GETINFO: keys in order, then 250 OK. */
	{ CMD_GETINFO, "version", "250-version=0.4.9\r\n250 OK\r\n", true },
	{ CMD_GETINFO, "version  config-file",
	  "250-version=0.4.9\r\n250-config-file=/x\r\n250 OK\r\n", true },
	{ CMD_GETINFO, "circuit-status",
	  "250+circuit-status=\r\n1 BUILT\r\n2 BUILT\r\n.\r\n250 OK\r\n",
	  true },
	{ CMD_GETINFO, "circuit-status", "250-circuit-status=\r\n250 OK\r\n",
	  true },
	{ CMD_GETINFO, "", "250 OK\r\n", true },
	{ CMD_GETINFO, "a b", "552-Unrecognized key \"a\"\r\n"
	  "552 Unrecognized key \"b\"\r\n", true },
	{ CMD_GETINFO, "a", "551 Internal error\r\n", true },
	/* ... and not: another command's reply, keys out of order or
	 * missing, more answers than keys, an echo of another key. */
	{ CMD_GETINFO, "circuit-status", "250 OK\r\n", false },
	{ CMD_GETINFO, "circuit-status", "512 ClientName longer\r\n250 OK\r\n",
	  false },
	{ CMD_GETINFO, "a b", "250-b=1\r\n250-a=2\r\n250 OK\r\n", false },
	{ CMD_GETINFO, "a b", "250-a=1\r\n250 OK\r\n", false },
	{ CMD_GETINFO, "a", "250-a=1\r\n250-a=1\r\n250 OK\r\n", false },
	{ CMD_GETINFO, "a", "250-ab=1\r\n250 OK\r\n", false },
	{ CMD_GETINFO, "a", "250+a=x\r\nd\r\n.\r\n250 OK\r\n", false },
	{ CMD_GETINFO, "a", "250-a=1\r\n650 STREAM 1 NEW\r\n250 OK\r\n",
	  false },
	{ CMD_GETINFO, "a", "552-Unrecognized key \"a\"\r\n"
	  "552 Unrecognized key \"b\"\r\n", false },
	{ CMD_GETINFO, "a", "552-x\r\n250 OK\r\n", false },
	{ CMD_GETINFO, "a", "250 a=1\r\n", false },
	{ CMD_GETINFO, "a", "100 a=1\r\n", false },
	/* A reply that does not end before the fence. */
	{ CMD_GETINFO, "a", "250+a=\r\nx\r\n.\r\n", false },
	/* GETCONF: option lines, at least one per key. */
	{ CMD_GETCONF, "SocksPort", "250-SocksPort=9050\r\n"
	  "250 SocksPort=9150\r\n", true },
	{ CMD_GETCONF, "socksport log", "250-SocksPort=9050\r\n"
	  "250 Log=notice stdout\r\n", true },
	{ CMD_GETCONF, "ContactInfo", "250 ContactInfo\r\n", true },
	{ CMD_GETCONF, "", "250 OK\r\n", true },
	{ CMD_GETCONF, "x", "552 Unrecognized configuration key \"x\"\r\n",
	  true },
	{ CMD_GETCONF, "SocksPort", "250 OK\r\n", false },
	{ CMD_GETCONF, "a b", "250 a=1\r\n", false },
	{ CMD_GETCONF, "a", "250 a b=1\r\n", false },
	{ CMD_GETCONF, "a", "250+ContactInfo=\r\nx\r\n.\r\n", false },
	/* ADD_ONION: ServiceID first. */
	{ CMD_ADD_ONION, "NEW:BEST Port=80", "250-ServiceID=abc\r\n"
	  "250-PrivateKey=ED25519-V3:xyz\r\n250 OK\r\n", true },
	{ CMD_ADD_ONION, "NEW:BEST Port=80", "512 Invalid VIRTPORT/TARGET\r\n",
	  true },
	{ CMD_ADD_ONION, "NEW:BEST Port=80", "250 OK\r\n", false },
	{ CMD_ADD_ONION, "NEW:BEST Port=80",
	  "250-PrivateKey=x\r\n250-ServiceID=abc\r\n250 OK\r\n", false },
	{ CMD_ADD_ONION, "NEW:BEST Port=80",
	  "250-ServiceID=abc\r\n250 ServiceID=def\r\n", false },
	/* DEL_ONION, SETEVENTS: 250 OK or one error line. */
	{ CMD_DEL_ONION, "abc", "250 OK\r\n", true },
	{ CMD_DEL_ONION, "abc", "552 Unknown Onion Service id\r\n", true },
	{ CMD_DEL_ONION, "abc", "250-version=1\r\n250 OK\r\n", false },
	{ CMD_SETEVENTS, "STREAM", "250 OK\r\n", true },
	{ CMD_SETEVENTS, "STREAM", "250 closing connection\r\n", false },
	/* One line of any code; any reply. */
	{ CMD_EXTENDCIRCUIT, "0", "250 EXTENDED 5\r\n", true },
	{ CMD_EXTENDCIRCUIT, "0", "250-EXTENDED 5\r\n250 OK\r\n", false },
	{ CMD_MAPADDRESS, "a=b c=d", "250-a=b\r\n512 syntax error\r\n",
	  true },
};

START_TEST(test_shapes)
{
	const shape_case_t *c = &shape_cases[_i];
	run_t r = fenced(c->cmd, c->args, c->reply);

	if (c->fits) {
		ck_assert_msg(!r.desync && r.done, "case %d: %s", _i, c->reply);
		ck_assert_int_eq(r.swallow, 2);
		ck_assert_int_eq(r.left, 0);
	} else {
		ck_assert_msg(r.desync, "case %d: %s", _i, c->reply);
	}
}
END_TEST

/* The double reply that started this: ONION_CLIENT_AUTH_ADD's 512 and
 * 250 OK, then a restricted GETINFO circuit-status. The plain command
 * takes the first reply; its extra reply lands before the GETINFO's
 * leading fence, which no longer matches. */
START_TEST(test_double_reply_before_checked)
{
	router_expect_t plain, gi;
	run_t r;

	router_expect_init(&plain, CMD_ONION_CLIENT_AUTH_ADD, false, "", 0,
	    NULL, NULL);
	router_expect_init(&gi, CMD_GETINFO, true, "circuit-status", 14, FIN,
	    FOUT);
	r = run(&plain, "512 ClientName longer than 16 chars\r\n250 OK\r\n"
	    FL(FIN) "250+circuit-status=\r\n1 BUILT\r\n.\r\n250 OK\r\n"
	    FL(FOUT));
	ck_assert(r.done && !r.desync && r.pass == 1);
	r = run(&gi, "250 OK\r\n" FL(FIN)
	    "250+circuit-status=\r\n1 BUILT\r\n.\r\n250 OK\r\n" FL(FOUT));
	ck_assert(r.desync);
	ck_assert_int_eq(r.pass, 0);
	router_expect_clear(&plain);
	router_expect_clear(&gi);
}
END_TEST

/* An extra reply that fits the checked command's shape (an error line)
 * still cannot take its place: the fence comes first. */
START_TEST(test_extra_error_reply_before_checked)
{
	router_expect_t gi;
	run_t r;

	router_expect_init(&gi, CMD_GETINFO, true, "circuit-status", 14, FIN,
	    FOUT);
	r = run(&gi, "552 Unrecognized key \"circuit-status\"\r\n" FL(FIN));
	ck_assert(r.desync);
	ck_assert_int_eq(r.pass, 0);
	router_expect_clear(&gi);
}
END_TEST

/* A checked command answered twice: the second reply is where the
 * trailing fence should be. */
START_TEST(test_checked_answered_twice)
{
	run_t r = fenced(CMD_SETEVENTS, "STREAM", "250 OK\r\n250 OK\r\n");

	ck_assert(r.desync);
	ck_assert_int_eq(r.pass, 1);
}
END_TEST

/* A checked command not answered: its trailing fence's line is where the
 * reply should be. */
START_TEST(test_checked_not_answered)
{
	run_t r = fenced(CMD_DEL_ONION, "abc", "");

	ck_assert(r.desync);
	ck_assert_int_eq(r.pass, 0);
}
END_TEST

/* A fence line is recognised only with its own key, whole and alone. */
START_TEST(test_fence_exact)
{
	static const char *bad[] = {
		FL(FOUT),
		"552 Unrecognized key \"" FIN "x\"\r\n",
		"552 Unrecognized key \"" FIN "\" \r\n",
		"552-Unrecognized key \"" FIN "\"\r\n552 OK\r\n",
		"552 unrecognized key \"" FIN "\"\r\n",
		"250 OK\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		router_expect_t x;
		run_t r;

		router_expect_init(&x, CMD_GETINFO, true, "a", 1, FIN, FOUT);
		r = run(&x, bad[i]);
		ck_assert_msg(r.desync, "%s", bad[i]);
		ck_assert_int_eq(r.swallow, 0);
		router_expect_clear(&x);
	}
}
END_TEST

/* Without a leading fence (the last thing sent was a fence), the reply
 * comes first. A line echoing any fence key is never passed. */
START_TEST(test_no_fence_in)
{
	router_expect_t x;
	run_t r;

	router_expect_init(&x, CMD_GETINFO, true, "a", 1, NULL, FOUT);
	r = run(&x, "250-a=1\r\n250 OK\r\n" FL(FOUT));
	ck_assert(r.done && !r.desync && r.pass == 2 && r.swallow == 1);
	router_expect_clear(&x);

	router_expect_init(&x, CMD_GETINFO, true, "a", 1, NULL, FOUT);
	r = run(&x, "250-a=" ROUTER_FENCE_PREFIX "\r\n250 OK\r\n");
	ck_assert(r.desync && r.pass == 0);
	router_expect_clear(&x);
}
END_TEST

/* Plain commands take one message each, whatever it says; the router
 * never looks at their text. */
START_TEST(test_plain)
{
	router_expect_t x;
	proto_reply_line_t l = { .starts_msg = true, .code = 250, .sep = '-' };
	const char *why;
	bool done;

	router_expect_init(&x, CMD_GETINFO, false, "a", 1, NULL, NULL);
	ck_assert_int_eq(router_line(&x, &l, NULL, &done, &why), ROUTE_PASS);
	ck_assert(!done);
	l.starts_msg = false;
	l.ends_msg = true;
	l.sep = ' ';
	ck_assert_int_eq(router_line(&x, &l, NULL, &done, &why), ROUTE_PASS);
	ck_assert(done);
	ck_assert_int_eq(router_line(&x, &l, NULL, &done, &why),
	    ROUTE_DESYNC);
	router_expect_clear(&x);
}
END_TEST

START_TEST(test_fence_key)
{
	uint8_t rnd[ROUTER_FENCE_RANDOM];
	char key[ROUTER_FENCE_KEY_SIZE];

	memset(rnd, 0xab, sizeof(rnd));
	router_fence_key(rnd, key);
	ck_assert_str_eq(key, ROUTER_FENCE_PREFIX
	    "abababababababababababababababab");
}
END_TEST

typedef struct {
	cmd_id_t cmd;
	const char *args;
	const char *answer;     /* NULL: sent to tor */
} misreply_case_t;

static const misreply_case_t misreply_cases[] = {
	{ CMD_ONION_CLIENT_AUTH_ADD, "abc x25519:k ClientName=0123456789abcdef",
	  NULL },
	{ CMD_ONION_CLIENT_AUTH_ADD,
	  "abc x25519:k ClientName=0123456789abcdefg",
	  "512 ClientName longer than 16 chars" },
	{ CMD_ONION_CLIENT_AUTH_ADD,
	  "abc x25519:k Flags=Permanent clientname=0123456789abcdefg",
	  "512 ClientName longer than 16 chars" },
	{ CMD_ONION_CLIENT_AUTH_ADD,
	  "abc x25519:k ClientName=\"0123456789 bcdefg\"",
	  "512 ClientName longer than 16 chars" },
	{ CMD_ONION_CLIENT_AUTH_ADD, "abc x25519:k ClientNames=0123456789abcdefg",
	  NULL },
	{ CMD_HSPOST, "HSADDRESS=abc", NULL },
	{ CMD_HSPOST, "SERVER=x hsaddress=abc", NULL },
	{ CMD_HSPOST, "", "512 HSPOST needs HSADDRESS=" },
	{ CMD_HSPOST, "SERVER=x", "512 HSPOST needs HSADDRESS=" },
	{ CMD_ADD_ONION, "NEW:BEST Port=80 ClientAuthV3=x", NULL },
	{ CMD_ADD_ONION, "NEW:BEST Port=80 clientauth=bob",
	  "512 Unrecognized keyword argument \"ClientAuth\"" },
	{ CMD_ADD_ONION, "NEW:BEST clientauth=bob Port=80",
	  "512 Unrecognized keyword argument \"ClientAuth\"" },
	{ CMD_ADD_ONION, "NEW:BEST Port=80 MaxStreams=65535 "
	  "Flags=Detach,discardpk ClientAuth=bob",
	  "512 Unrecognized keyword argument \"ClientAuth\"" },
	/* tor stops at an earlier bad argument and answers it itself. */
	{ CMD_ADD_ONION, "NEW:BEST Flags=BasicAuth Port=1,1 ClientAuth=x",
	  NULL },
	{ CMD_ADD_ONION, "NEW:BEST Flags= ClientAuth=x", NULL },
	{ CMD_ADD_ONION, "NEW:BEST MaxStreams=65536 ClientAuth=x", NULL },
	/* MaxStreams as tor_parse_long() reads it (strtol, base 10): a
	 * sign and any number of leading zeros pass, and tor goes on to
	 * ClientAuth= and answers nothing. */
	{ CMD_ADD_ONION, "NEW:BEST Port=80 MaxStreams=+5 ClientAuth=x",
	  "512 Unrecognized keyword argument \"ClientAuth\"" },
	{ CMD_ADD_ONION, "NEW:BEST Port=80 MaxStreams=000005 ClientAuth=x",
	  "512 Unrecognized keyword argument \"ClientAuth\"" },
	{ CMD_ADD_ONION, "NEW:BEST Port=80 MaxStreams=-0 ClientAuth=x",
	  "512 Unrecognized keyword argument \"ClientAuth\"" },
	{ CMD_ADD_ONION, "NEW:BEST MaxStreams=-1 ClientAuth=x", NULL },
	{ CMD_ADD_ONION, "NEW:BEST MaxStreams=5x ClientAuth=x", NULL },
	{ CMD_ADD_ONION, "NEW:BEST MaxStreams= ClientAuth=x", NULL },
	{ CMD_ADD_ONION, "NEW:BEST MaxStreams=99999999999999999999 "
	  "ClientAuth=x", NULL },
	{ CMD_ADD_ONION, "ClientAuth=x", NULL },
	{ CMD_GETINFO, "ClientName=0123456789abcdefghij", NULL },
};

START_TEST(test_misreplies)
{
	const misreply_case_t *c = &misreply_cases[_i];
	const char *a = router_tor_misreplies(c->cmd, c->args,
	    strlen(c->args));

	if (c->answer == NULL)
		ck_assert_ptr_null(a);
	else
		ck_assert_str_eq(a, c->answer);
}
END_TEST

/* Every command has a row, and the commands torgate learns from have the
 * shapes relay.c relies on. */
START_TEST(test_table)
{
	ck_assert_int_eq(router_shape(CMD_GETINFO), RS_KEYS);
	ck_assert_int_eq(router_shape(CMD_ADD_ONION), RS_ADD_ONION);
	ck_assert_int_eq(router_shape(CMD_DEL_ONION), RS_DONE);
	ck_assert_int_eq(router_shape(CMD_SETEVENTS), RS_DONE);
	ck_assert_int_eq(router_shape(CMD_COUNT), RS_ANY);
}
END_TEST

static Suite *
router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_shapes, 0,
	    sizeof(shape_cases) / sizeof(shape_cases[0]));
	tcase_add_test(tc, test_double_reply_before_checked);
	tcase_add_test(tc, test_extra_error_reply_before_checked);
	tcase_add_test(tc, test_checked_answered_twice);
	tcase_add_test(tc, test_checked_not_answered);
	tcase_add_test(tc, test_fence_exact);
	tcase_add_test(tc, test_no_fence_in);
	tcase_add_test(tc, test_plain);
	tcase_add_test(tc, test_fence_key);
	tcase_add_loop_test(tc, test_misreplies, 0,
	    sizeof(misreply_cases) / sizeof(misreply_cases[0]));
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tg_run_suite(router_suite());
}
