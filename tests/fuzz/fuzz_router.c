/*
 * fuzz_router.c: the reply router against a model of tor that answers
 * some commands twice, some not at all, some with another command's
 * reply or a forged fence line, with events in between. The input picks,
 * two bytes per command, the command, whether torgate checks its reply,
 * and how tor misbehaves. Fences are placed as command.c places them.
 *
 * The bytes tor would write are framed by proto.c and routed line by line
 * as relay.c does; every line carries the index of the command tor wrote
 * it for. Asserted:
 * - a line the router passes for a checked command was written by tor
 *   for that very command (never another command's reply, never a fence
 *   line, never an event);
 * - a line swallowed is a fence's;
 * - once the router says desync for an entry, it says so for every later
 *   line (nothing more is delivered);
 * - when tor behaves (one well-formed reply per command), there is no
 *   desync and every line is routed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS 64
#define MAX_LINES 4096
#define TAG_FENCE (-1)
#define TAG_EVENT (-2)

typedef struct {
	cmd_id_t cmd;
	const char *args;
	bool always_checked;    /* its reply teaches torgate */
	const char *ok[3];      /* well-formed replies */
} model_cmd_t;

static const model_cmd_t cmds[] = {
	{ CMD_GETINFO, "circuit-status", false,
	  { "250+circuit-status=\r\n1 BUILT\r\n.\r\n250 OK\r\n",
	    "250-circuit-status=\r\n250 OK\r\n",
	    "552 Unrecognized key \"circuit-status\"\r\n" } },
	{ CMD_GETINFO, "version  net/listeners/socks", false,
	  { "250-version=0.4.9\r\n250-net/listeners/socks=\"x\"\r\n250 OK\r\n",
	    "551 Internal error\r\n", NULL } },
	{ CMD_SETEVENTS, "STREAM", true,
	  { "250 OK\r\n", "552 Unrecognized event \"x\"\r\n", NULL } },
	{ CMD_ADD_ONION, "NEW:BEST Port=80", true,
	  { "250-ServiceID=abc\r\n250-PrivateKey=x:y\r\n250 OK\r\n",
	    "512 Invalid VIRTPORT/TARGET\r\n", NULL } },
	{ CMD_ONION_CLIENT_AUTH_ADD, "abc x25519:k", false,
	  { "250 OK\r\n", "512 ClientName longer than 16 chars\r\n",
	    "252 Registered client and decrypted desc\r\n" } },
	{ CMD_MAPADDRESS, "a=b c=d", false,
	  { "250-a=b\r\n512 syntax error\r\n", NULL, NULL } },
	{ CMD_GETCONF, "SocksPort", false,
	  { "250-SocksPort=9050\r\n250 SocksPort=9150\r\n", NULL, NULL } },
	{ CMD_DEL_ONION, "abc", true,
	  { "250 OK\r\n", "552 Unknown Onion Service id\r\n", NULL } },
};
#define N_MODEL (sizeof(cmds) / sizeof(cmds[0]))

/* What tor may write that is not the command's own well-formed reply. */
static const char *const junk[] = {
	"250 OK\r\n",
	"552 Unrecognized key \"" ROUTER_FENCE_PREFIX
	    "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ\"\r\n",
	"250+circuit-status=\r\n1 BUILT\r\n2 BUILT\r\n.\r\n250 OK\r\n",
	"250+circuit-status=\r\n1 BUILT\r\n.\r\n",       /* no end line */
	"250-version=0.4.9\r\n250 OK\r\n",
	"512 ClientName longer than 16 chars\r\n",
	"250-ServiceID=zzz\r\n250 OK\r\n",
	"250-a=\r\n",                                     /* never ends */
};
#define N_JUNK (sizeof(junk) / sizeof(junk[0]))

static const char event[] = "650 STREAM 1 NEW 0 a.onion:80\r\n";

typedef struct {
	struct evbuffer *out;
	int tags[MAX_LINES];
	size_t n;
	bool full;
} stream_t;

/* Append text (whole lines) to the stream, each line tagged. */
static void
emit(stream_t *st, const char *text, int tag)
{
	const char *p = text;

	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len = (size_t)(eol - p) + 1;
		if (st->n == MAX_LINES) {
			st->full = true;
			return;
		}
		evbuffer_add(st->out, p, len);
		st->tags[st->n++] = tag;
		p += len;
	}
}

static void
fence_key(unsigned counter, char key[ROUTER_FENCE_KEY_SIZE])
{
	uint8_t rnd[ROUTER_FENCE_RANDOM] = { 0 };

	memcpy(rnd, &counter, sizeof(counter));
	router_fence_key(rnd, key);
}

static void
emit_fence(stream_t *st, const char *key)
{
	char line[128];

	snprintf(line, sizeof(line), "552 Unrecognized key \"%s\"\r\n", key);
	emit(st, line, TAG_FENCE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	router_expect_t q[MAX_CMDS];
	stream_t st = { 0 };
	proto_reply_reader_t rr;
	size_t n = 0, h = 0, line_i = 0;
	unsigned counter = 0;
	bool fenced = false, behaves = true, desynced = false;
	char key[ROUTER_FENCE_KEY_SIZE];

	st.out = evbuffer_new();
	/* torgate's side: queue and fences; tor's side: what it writes. */
	for (size_t i = 0; i + 1 < size && n < MAX_CMDS; i += 2) {
		const model_cmd_t *m = &cmds[data[i] % N_MODEL];
		bool checked = m->always_checked || (data[i] & 0x80);
		uint8_t how = data[i + 1];
		int replies = (how & 3) == 2 ? 0 : (how & 3) == 3 ? 2 : 1;
		char fin[ROUTER_FENCE_KEY_SIZE] = "";

		if (how & 0x60)
			emit(&st, event, TAG_EVENT);
		if (checked && !fenced) {
			fence_key(counter++, fin);
			emit_fence(&st, fin);
		}
		for (int r = 0; r < replies; r++) {
			unsigned pick = (how >> 2) & 7;
			const char *text;
			if (r == 1)
				pick = how >> 5;
			if (pick < 3 && m->ok[pick] != NULL) {
				text = m->ok[pick];
			} else if (pick < 3) {
				text = m->ok[0];
			} else {
				text = junk[(pick + (how >> 7) * 3) % N_JUNK];
				behaves = false;
			}
			emit(&st, text, (int)n);
			if ((how & 0x40) && r == 0)
				emit(&st, event, TAG_EVENT);
		}
		if (replies != 1)
			behaves = false;
		if (checked) {
			fence_key(counter++, key);
			emit_fence(&st, key);
			fenced = true;
		} else {
			fenced = false;
		}
		router_expect_init(&q[n], m->cmd, checked, m->args,
		    strlen(m->args), fin[0] ? fin : NULL, checked ? key : NULL);
		n++;
	}

	/* relay.c's side: frame and route. */
	proto_reply_reader_init(&rr, 1024);
	for (;;) {
		proto_reply_line_t line;
		proto_err_t err;
		const char *text, *why;
		bool done;
		route_t route;
		int tag;

		if (proto_reply_peek(&rr, st.out, &line, &err) !=
		    PROTO_COMPLETE)
			break;
		if (line_i >= st.n)
			abort();
		tag = st.tags[line_i++];
		text = (const char *)evbuffer_pullup(st.out,
		    (ssize_t)line.len);
		if (line.is_event) {
			evbuffer_drain(st.out, line.len);
			continue;
		}
		if (h == n) {
			/* A reply to no command: relay.c desynchronises. */
			if (behaves && !st.full)
				abort();
			break;
		}
		route = router_line(&q[h], &line, q[h].checked ? text : NULL,
		    &done, &why);
		if (desynced && route != ROUTE_DESYNC)
			abort();
		switch (route) {
		case ROUTE_PASS:
			if (q[h].checked && tag != (int)h)
				abort();
			break;
		case ROUTE_SWALLOW:
			if (tag != TAG_FENCE || !q[h].checked)
				abort();
			break;
		case ROUTE_DESYNC:
			if (why == NULL || done)
				abort();
			if (behaves && !st.full)
				abort();
			desynced = true;
			break;
		}
		evbuffer_drain(st.out, line.len);
		if (done)
			h++;
	}
	if (behaves && !st.full && (h != n || evbuffer_get_length(st.out)))
		abort();
	for (size_t i = 0; i < n; i++)
		router_expect_clear(&q[i]);
	evbuffer_free(st.out);
	return 0;
}
