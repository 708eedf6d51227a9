/*
 * test_proto.c: the control-protocol framing (src/proto.c).
 *
 * Cases are data: an input byte string and the expected sequence of
 * results, written compactly. Every case is fed whole, split at every byte
 * boundary, and byte by byte; all three must give the same results.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto.h"

/* Limits small enough to reach in a test. */
#define T_MAX_LINE 16
#define T_MAX_BODY 24

typedef struct {
	const char *in;
	size_t len;         /* 0: strlen(in) */
	const char *want;
} cmd_case_t;

#define C(in, want) { in, 0, want }
#define CN(in, want) { in, sizeof(in) - 1, want }

/*
 * Result notation, one item per result, joined by ';':
 *   kw|args          a one-line command
 *   +kw|args{body}   a multi-line command with its raw body
 *   !ERRNAME         a rejection
 */
static const cmd_case_t cmd_cases[] = {
	C("GETINFO version\r\n", "GETINFO|version"),
	C("GETINFO version\n", "GETINFO|version"),
	C("getinfo version\r\n", "getinfo|version"),
	C("GETINFO\r\n", "GETINFO|"),
	C("\r\n", "|"),
	C("\n", "|"),
	C("QUIT", ""),                                  /* incomplete */
	C("A  b  c \r\n", "A|b  c "),                   /* args as sent */
	C("A\tb\r\n", "A|b"),                           /* tab splits too */
	C("A \t b\r\n", "A|b"),
	C("A b\r\nB c\r\nC\r\n", "A|b;B|c;C|"),         /* pipelined */
	C("A b\nB c\r\n", "A|b;B|c"),
	/* Multi-line commands: one command, data lines never commands. */
	C("+LOADCONF\r\nSocksPort 0\r\n.\r\n", "+LOADCONF|{SocksPort 0\r\n}"),
	C("+LOADCONF\nA\nB\n.\nGETINFO x\n",
	    "+LOADCONF|{A\r\nB\r\n};GETINFO|x"),
	C("+HSPOST x\r\nGETINFO a\r\n..\r\n.\r\n",
	    "+HSPOST|x{GETINFO a\r\n..\r\n}"),
	C("+X\r\n.\r\n", "+X|{}"),
	C("+X\r\nQUIT\r\n", ""),                        /* body incomplete */
	C("+X \t y\r\na\r\n.\r\n", "+X|y{a\r\n}"),
	/* Bad bytes: rejected, the stream goes on at the next command. */
	CN("GET\0INFO\r\nB\r\n", "!NUL;B|"),
	C("GET\rINFO\r\nB\r\n", "!BARE_CR;B|"),
	C("A\r\r\nB\r\n", "!BARE_CR;B|"),
	CN("+X\r\na\0b\r\nGETINFO no\r\n.\r\nB\r\n", "!NUL;B|"),
	C("+X\r\na\rb\r\nc\r\n.\r\nB\r\n", "!BARE_CR;B|"),
	/* Line length: exactly the limit passes, one more is rejected. */
	C("0123456789abcdef\r\n", "0123456789abcdef|"),
	C("0123456789abcdef\n", "0123456789abcdef|"),
	C("0123456789abcdefg\r\nB\r\n", "!LINE_TOO_LONG;B|"),
	C("0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\nB\r\n",
	    "!LINE_TOO_LONG;B|"),
	/* An over-long line inside a body rejects the whole command, whose
	 * remaining data lines are skipped, never run. */
	C("+X\r\n0123456789abcdefghij\r\nGETINFO a\r\n.\r\nB\r\n",
	    "!LINE_TOO_LONG;B|"),
	C("+X\r\n0123456789abcdefghijklmnopqrstuvwxyz\r\nGETINFO a\r\n.\r\nB\r\n",
	    "!LINE_TOO_LONG;B|"),
	/* An over-long first line of a multi-line command skips its body. */
	C("+X 0123456789abcdefghijklmnopqrstuvwxyz\r\nGETINFO a\r\n.\r\nB\r\n",
	    "!LINE_TOO_LONG;B|"),
	/* Body limit: 24 bytes including the CRLFs. */
	C("+X\r\n0123456789\r\n0123456789\r\n.\r\nB\r\n",
	    "+X|{0123456789\r\n0123456789\r\n};B|"),
	C("+X\r\n0123456789\r\n0123456789\r\nx\r\nGETINFO a\r\n.\r\nB\r\n",
	    "!BODY_TOO_LONG;B|"),
};

static const char *
errname(proto_err_t e)
{
	switch (e) {
	case PROTO_ERR_LINE_TOO_LONG: return "LINE_TOO_LONG";
	case PROTO_ERR_BODY_TOO_LONG: return "BODY_TOO_LONG";
	case PROTO_ERR_NUL: return "NUL";
	case PROTO_ERR_BARE_CR: return "BARE_CR";
	case PROTO_ERR_BAD_REPLY: return "BAD_REPLY";
	default: return "?";
	}
}

static void
drain_cmds(proto_cmd_reader_t *r, struct evbuffer *buf, char *out, size_t cap)
{
	for (;;) {
		proto_cmd_t cmd;
		proto_err_t err;
		proto_status_t st = proto_cmd_read(r, buf, &cmd, &err);
		size_t used = strlen(out);
		if (st == PROTO_NEED_MORE)
			return;
		if (used)
			strncat(out, ";", cap - used - 1);
		used = strlen(out);
		if (st == PROTO_REJECT) {
			snprintf(out + used, cap - used, "!%s", errname(err));
			continue;
		}
		ck_assert_uint_eq(strlen(cmd.line), cmd.line_len);
		snprintf(out + used, cap - used, "%.*s|%.*s",
		    (int)cmd.keyword_len, cmd.keyword,
		    (int)cmd.args_len, cmd.args);
		used = strlen(out);
		if (cmd.multiline) {
			ck_assert_ptr_nonnull(cmd.body);
			snprintf(out + used, cap - used, "{%s}", cmd.body);
		} else {
			ck_assert_ptr_null(cmd.body);
		}
		proto_cmd_clear(&cmd);
	}
}

/* Feed in[0..len) in pieces whose boundaries are in cuts (sorted). */
static void
run_cmd(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    char *out, size_t cap)
{
	proto_cmd_reader_t r;
	struct evbuffer *buf = evbuffer_new();
	size_t pos = 0;

	out[0] = '\0';
	proto_cmd_reader_init(&r, T_MAX_LINE, T_MAX_BODY);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		evbuffer_add(buf, in + pos, end - pos);
		pos = end;
		drain_cmds(&r, buf, out, cap);
	}
	proto_cmd_reader_clear(&r);
	evbuffer_free(buf);
}

START_TEST(test_cmd_cases)
{
	const cmd_case_t *c = &cmd_cases[_i];
	size_t len = c->len ? c->len : strlen(c->in);
	char got[1024];
	size_t *cuts = calloc(len + 1, sizeof(size_t));

	run_cmd(c->in, len, NULL, 0, got, sizeof(got));
	ck_assert_msg(strcmp(got, c->want) == 0, "case %d whole: got '%s' "
	    "want '%s'", _i, got, c->want);
	for (size_t k = 1; k < len; k++) {
		cuts[0] = k;
		run_cmd(c->in, len, cuts, 1, got, sizeof(got));
		ck_assert_msg(strcmp(got, c->want) == 0, "case %d split at %zu: "
		    "got '%s' want '%s'", _i, k, got, c->want);
	}
	for (size_t k = 0; k + 1 < len; k++)
		cuts[k] = k + 1;
	run_cmd(c->in, len, cuts, len ? len - 1 : 0, got, sizeof(got));
	ck_assert_msg(strcmp(got, c->want) == 0, "case %d bytewise: got '%s' "
	    "want '%s'", _i, got, c->want);
	free(cuts);
}
END_TEST

/* Before authentication a '+' line is returned at once, without its body,
 * so the caller can refuse it before reading any data line. */
START_TEST(test_no_multiline)
{
	proto_cmd_reader_t r;
	struct evbuffer *buf = evbuffer_new();
	proto_cmd_t cmd;
	proto_err_t err;
	const char *in = "+LOADCONF\r\nGETINFO address\r\n";

	proto_cmd_reader_init(&r, 64, 64);
	r.no_multiline = true;
	evbuffer_add(buf, in, strlen(in));
	ck_assert_int_eq(proto_cmd_read(&r, buf, &cmd, &err), PROTO_COMPLETE);
	ck_assert(cmd.multiline);
	ck_assert_ptr_null(cmd.body);
	ck_assert_str_eq(cmd.line, "+LOADCONF");
	proto_cmd_clear(&cmd);
	/* The would-be data line is still there, unread. */
	ck_assert_uint_eq(evbuffer_get_length(buf), strlen("GETINFO address\r\n"));
	proto_cmd_reader_clear(&r);
	evbuffer_free(buf);
}
END_TEST

/* Memory stays bounded while a line without end keeps coming. */
START_TEST(test_unbounded_line_is_drained)
{
	proto_cmd_reader_t r;
	struct evbuffer *buf = evbuffer_new();
	proto_cmd_t cmd;
	proto_err_t err;
	char chunk[100];
	int rejects = 0;

	memset(chunk, 'A', sizeof(chunk));
	proto_cmd_reader_init(&r, 1000, 1000);
	for (int i = 0; i < 1000; i++) {
		evbuffer_add(buf, chunk, sizeof(chunk));
		while (proto_cmd_read(&r, buf, &cmd, &err) == PROTO_REJECT)
			rejects++;
		ck_assert_uint_le(evbuffer_get_length(buf), 1001);
	}
	ck_assert_int_eq(rejects, 1);
	evbuffer_add(buf, "\r\nQUIT\r\n", 8);
	ck_assert_int_eq(proto_cmd_read(&r, buf, &cmd, &err), PROTO_COMPLETE);
	ck_assert_str_eq(cmd.line, "QUIT");
	proto_cmd_clear(&cmd);
	proto_cmd_reader_clear(&r);
	evbuffer_free(buf);
}
END_TEST

START_TEST(test_split_command)
{
	static const struct { const char *line, *kw, *args; } cases[] = {
		{ "GETINFO version", "GETINFO", "version" },
		{ "GETINFO", "GETINFO", "" },
		{ "", "", "" },
		{ " GETINFO", "", "GETINFO" },
		{ "A\t\tb c", "A", "b c" },
		{ "+LOADCONF  x", "+LOADCONF", "x" },
		{ "A\vb", "A", "b" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kw, *args;
		size_t kl, al;
		proto_split_command(cases[i].line, strlen(cases[i].line), &kw,
		    &kl, &args, &al);
		ck_assert_int_eq((int)kl, (int)strlen(cases[i].kw));
		ck_assert(strncmp(kw, cases[i].kw, kl) == 0);
		ck_assert_str_eq(args, cases[i].args);
		ck_assert_uint_eq(al, strlen(cases[i].args));
	}
}
END_TEST

/*
 * Replies. Notation per line: CODE then the separator ('-', '+', ' ') or
 * 'D' for a data line, then '^' if it starts a message, '$' if it ends
 * one, '!' if it belongs to an event; "!ERR" for a rejection.
 */
typedef struct {
	const char *in;
	const char *want;
} reply_case_t;

static const reply_case_t reply_cases[] = {
	{ "250 OK\r\n", "250 ^$" },
	{ "250-version=1\r\n250 OK\r\n", "250-^;250 $" },
	{ "250+x=\r\na\r\n.\r\n250 OK\r\n", "250+^;250D;250D;250 $" },
	{ "250+x=\r\n250 OK\r\n.\r\n250 OK\r\n", "250+^;250D;250D;250 $" },
	{ "650 CIRC 1 BUILT\r\n250 OK\r\n", "650 ^$!;250 ^$" },
	{ "650-NS\r\n650+x\r\n..a\r\n.\r\n650 OK\r\n250 OK\r\n",
	  "650-^!;650+!;650D!;650D!;650 $!;250 ^$" },
	{ "510 Command filtered\r\n", "510 ^$" },
	{ "250 OK", "" },
	{ "25 OK\r\n", "!ERR" },
	{ "abc\r\n", "!ERR" },
	{ "250\r\n", "!ERR" },
	{ "250x\r\n", "!ERR" },
	{ "250-a\r\n", "250-^" },
	{ "250 0123456789abcdefghij\r\n", "!ERR" },
};

/* Feed in two pieces; consume each line at once (drain) or leave the
 * lines in place and peek further in (as session.c moves runs of lines). */
static void
run_reply(const char *in, size_t len, size_t cut, bool drain, char *out,
    size_t cap)
{
	proto_reply_reader_t r;
	struct evbuffer *buf = evbuffer_new();
	size_t pos = 0, off = 0;

	out[0] = '\0';
	proto_reply_reader_init(&r, 20);
	for (int part = 0; part < 2; part++) {
		size_t end = part == 0 ? cut : len;
		evbuffer_add(buf, in + pos, end - pos);
		pos = end;
		for (;;) {
			proto_reply_line_t l;
			proto_err_t err;
			proto_status_t st = proto_reply_peek_at(&r, buf, off, &l,
			    &err);
			size_t used = strlen(out);
			if (st == PROTO_NEED_MORE)
				break;
			if (used)
				strncat(out, ";", cap - used - 1);
			used = strlen(out);
			if (st == PROTO_REJECT) {
				snprintf(out + used, cap - used, "!ERR");
				evbuffer_free(buf);
				return;
			}
			snprintf(out + used, cap - used, "%d%c%s%s%s", l.code,
			    l.is_data ? 'D' : l.sep, l.starts_msg ? "^" : "",
			    l.ends_msg ? "$" : "", l.is_event ? "!" : "");
			if (drain)
				evbuffer_drain(buf, l.len);
			else
				off += l.len;
		}
	}
	evbuffer_free(buf);
}

START_TEST(test_reply_cases)
{
	const reply_case_t *c = &reply_cases[_i];
	size_t len = strlen(c->in);
	char got[512];

	for (size_t cut = 0; cut <= len; cut++) {
		for (int drain = 0; drain < 2; drain++) {
			run_reply(c->in, len, cut, drain, got, sizeof(got));
			ck_assert_msg(strcmp(got, c->want) == 0, "reply case "
			    "%d split at %zu (%s): got '%s' want '%s'", _i, cut,
			    drain ? "drained" : "in place", got, c->want);
		}
	}
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("framing");

	tcase_add_loop_test(tc, test_cmd_cases, 0,
	    (int)(sizeof(cmd_cases) / sizeof(cmd_cases[0])));
	tcase_add_test(tc, test_no_multiline);
	tcase_add_test(tc, test_unbounded_line_is_drained);
	tcase_add_test(tc, test_split_command);
	tcase_add_loop_test(tc, test_reply_cases, 0,
	    (int)(sizeof(reply_cases) / sizeof(reply_cases[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
