/*
 * session.c: a client session. See session.h for the design.
 *
 * States:
 *   S_CONNECTING  the upstream connection is being made and authenticated;
 *                 the client is not read yet (PROTOCOLINFO needs tor's
 *                 version, AUTHCHALLENGE the cookie).
 *   S_PREAUTH     like tor: only PROTOCOLINFO, AUTHCHALLENGE, AUTHENTICATE
 *                 and QUIT; anything else is answered 514 and closes. This
 *                 is what keeps a web page that POSTs to the control port
 *                 from having its body executed as commands.
 *   S_OPEN        authenticated: commands go through the profile.
 *   S_CLOSING     no more reading; the session ends once the replies
 *                 queued for the client are written.
 *
 * The pending queue is a ring of entries, one per command not yet
 * answered: forwarded ones wait for tor's reply, local ones carry the
 * answer torgate wrote itself and are released as soon as everything
 * before them has been answered.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "events.h"
#include "kvline.h"
#include "learn.h"
#include "log.h"
#include "onions.h"
#include "peer.h"
#include "policy.h"
#include "proto.h"
#include "redact.h"
#include "session.h"
#include "torauth.h"
#include "util.h"

typedef enum {
	S_CONNECTING,
	S_PREAUTH,
	S_OPEN,
	S_CLOSING,
} session_state_t;

typedef enum {
	EVM_DROP,
	EVM_PASS,
	EVM_GATHER,     /* into s->event, at most max_reply_line bytes */
} event_mode_t;

/* Names a restricted client RESOLVEd, remembered to recognise its streams. */
#define RESOLVES_MAX 16

enum {
	P_CLOSE = 1 << 0,    /* close the session once this reply is out */
	P_INTERNAL = 1 << 1, /* torgate's own command: swallow the reply */
	P_RESTRICT = 1 << 2, /* filter circuit-status/stream-status lines */
};

typedef struct pending {
	const cmd_rule_t *rule;   /* forwarded: its response rewrites */
	const cmd_rule_t **more;  /* more rules (multi-key reads), owned */
	size_t n_more;
	char *local;              /* local answer (with CRLFs), or NULL */
	size_t local_len;
	char *sid;                /* DEL_ONION: the service, owned */
	event_mask_t events;      /* SETEVENTS: the client's new set */
	unsigned flags;
	cmd_id_t cmd;
	bool forwarded;
} pending_t;

struct session {
	TAILQ_ENTRY(session) link;
	gate_t *g;
	uint64_t id;
	session_state_t state;
	struct bufferevent *cbev;       /* client */
	struct bufferevent *ubev;       /* tor, once authenticated */
	/* What is to be written, gathered here (evbuffers without
	 * callbacks) and handed to the bufferevents once per callback. */
	struct evbuffer *cq;            /* to the client */
	struct evbuffer *uq;            /* to tor */
	upstream_t *up;                 /* while connecting */
	peer_t peer;
	char *listener_profile;
	profile_set_t *set;
	const profile_t *profile;
	bool collision;
	char host[64], port[8], shost[64], sport[8];
	template_vars_t vars;
	proto_cmd_reader_t creader;
	proto_reply_reader_t rreader;
	/* The pending ring. */
	pending_t *ring;
	size_t ring_cap, ring_head, npending;
	bool client_paused;             /* reading from the client paused */
	bool upstream_paused;           /* reading from tor paused */
	/* Pre-authentication state, as tor keeps it. */
	bool sent_protocolinfo;
	bool got_challenge;
	bool close_queued;              /* a closing answer is queued: read
	                                 * no further commands (as tor) */
	/* From the upstream connection. */
	char *tor_version;
	uint8_t cookie[TOR_COOKIE_LEN];
	bool have_cookie;
	/* Events. */
	event_mask_t ev_client;         /* what the client subscribed to */
	event_mask_t ev_internal;       /* what torgate needs itself */
	struct evbuffer *event;         /* the event being gathered */
	int event_id;
	event_mode_t event_mode;
	owned_t *owned;                 /* restrict-stream-events */
	int data_key;                   /* restrict: 1 circuits, 2 streams */
	char *resolves[RESOLVES_MAX];   /* restrict: names it RESOLVEd */
	size_t resolve_next;
	char learn_name[128];           /* MODE_LEARN */
	/* Counters for the log line at the end. */
	unsigned long n_cmds, n_denied;
	bool dead;                      /* killed; freed by reap_cb */
};

static void process_client(session_t *s);
static void process_upstream(session_t *s);
static bool must_pause_client(session_t *s);
static void pending_pop(session_t *s);
static void note_resolve(session_t *s, const proto_cmd_t *cmd);

/* Free what is left of a killed session. */
static void
session_release(session_t *s)
{
	free(s);
}

/* Free the sessions killed since the last time round the loop. */
static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	gate_t *g = arg;
	session_t *s;

	while ((s = TAILQ_FIRST(&g->dead)) != NULL) {
		TAILQ_REMOVE(&g->dead, s, link);
		session_release(s);
	}
}

/*
 * End a session: close both connections and release everything but the
 * struct itself, which is freed from the event loop (reap_cb), so that
 * the callback that got here may still look at s->dead and return.
 */
static void
session_free(session_t *s)
{
	gate_t *g = s->g;

	if (s->dead)
		return;
	s->dead = true;
	log_info("session %llu: closed (%lu commands, %lu denied)",
	    (unsigned long long)s->id, s->n_cmds, s->n_denied);
	TAILQ_REMOVE(&g->sessions, s, link);
	TAILQ_INSERT_TAIL(&g->dead, s, link);
	g->n_sessions--;
	if (g->reaper == NULL &&
	    (g->reaper = event_new(g->base, -1, 0, reap_cb, g)) == NULL)
		fatalx("event_new failed");
	event_active(g->reaper, 0, 0);
	if (s->cbev != NULL)
		bufferevent_free(s->cbev);
	s->cbev = NULL;
	if (s->ubev != NULL)
		bufferevent_free(s->ubev);
	s->ubev = NULL;
	upstream_free(s->up);
	s->up = NULL;
	proto_cmd_reader_clear(&s->creader);
	while (s->npending > 0)
		pending_pop(s);
	free(s->ring);
	if (s->event != NULL)
		evbuffer_free(s->event);
	evbuffer_free(s->cq);
	evbuffer_free(s->uq);
	free(s->owned);
	for (size_t i = 0; i < RESOLVES_MAX; i++)
		free(s->resolves[i]);
	if (g->mode == MODE_LEARN && s->learn_name[0])
		learn_write(g->learn, s->learn_name);
	if (s->set != NULL)
		profile_set_unref(s->set);
	free(s->listener_profile);
	free(s->tor_version);
	memwipe(s->cookie, sizeof(s->cookie));
}

/*
 * Write what is queued on bev now, and wait for writability only when the
 * kernel took less than all: most replies leave at once, without the two
 * epoll_ctl() calls a write event costs. EV_WRITE stays disabled on every
 * session bufferevent except while a write is pending.
 */
static void
flush_bev(struct bufferevent *bev, struct evbuffer *q)
{
	struct evbuffer *out;

	if (bev == NULL)
		return;
	out = bufferevent_get_output(bev);
	if (evbuffer_get_length(q) > 0)
		evbuffer_add_buffer(out, q);
	if (evbuffer_get_length(out) == 0)
		return;
	if (evbuffer_write(out, bufferevent_getfd(bev)) < 0 &&
	    errno != EAGAIN && errno != EINTR) {
		/* Let libevent meet the error and report it. */
		bufferevent_enable(bev, EV_WRITE);
		return;
	}
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(bev, EV_WRITE);
}

/* Bytes waiting to be written to the client, and to tor. */
static size_t
to_client(session_t *s)
{
	return evbuffer_get_length(s->cq) +
	    (s->cbev ? evbuffer_get_length(bufferevent_get_output(s->cbev)) :
	    0);
}

static size_t
to_tor(session_t *s)
{
	return evbuffer_get_length(s->uq) +
	    (s->ubev ? evbuffer_get_length(bufferevent_get_output(s->ubev)) :
	    0);
}

/*
 * Run at the end of every callback: write out what is queued, finish a
 * closing session, and resume reading where a pause has been lifted.
 */
static void
session_flush(session_t *s)
{
	for (;;) {
		bool more = false;

		if (s->dead)
			return;
		flush_bev(s->ubev, s->uq);
		flush_bev(s->cbev, s->cq);
		if (s->state == S_CLOSING) {
			if (to_client(s) == 0)
				session_free(s);
			return;
		}
		if (s->upstream_paused && s->ubev != NULL &&
		    to_client(s) <= s->g->limits.max_output / 2) {
			s->upstream_paused = false;
			bufferevent_enable(s->ubev, EV_READ);
			process_upstream(s);
			more = true;
		}
		if (!s->dead && s->client_paused && s->ubev != NULL &&
		    !must_pause_client(s)) {
			process_client(s);
			more = !s->client_paused || more;
		}
		if (!more)
			return;
	}
}

/* Stop reading and end the session once the client has its replies
 * (session_flush() does the rest). */
static void
session_close_after_flush(session_t *s)
{
	s->state = S_CLOSING;
	bufferevent_disable(s->cbev, EV_READ);
	if (s->ubev != NULL)
		bufferevent_disable(s->ubev, EV_READ);
}

/* ---- the pending queue ---------------------------------------------- */

static pending_t *
pending_push(session_t *s)
{
	pending_t *p;

	if (s->npending == s->ring_cap) {
		size_t ncap = s->ring_cap ? s->ring_cap * 2 : 4;
		pending_t *nr = xcalloc(ncap, sizeof(*nr));
		for (size_t i = 0; i < s->npending; i++)
			nr[i] = s->ring[(s->ring_head + i) % s->ring_cap];
		free(s->ring);
		s->ring = nr;
		s->ring_cap = ncap;
		s->ring_head = 0;
	}
	p = &s->ring[(s->ring_head + s->npending) % s->ring_cap];
	memset(p, 0, sizeof(*p));
	s->npending++;
	return p;
}

static pending_t *
pending_head(session_t *s)
{
	return s->npending ? &s->ring[s->ring_head] : NULL;
}

static void
pending_pop(session_t *s)
{
	pending_t *p = &s->ring[s->ring_head];

	free(p->local);
	free(p->more);
	free(p->sid);
	memset(p, 0, sizeof(*p));
	s->ring_head = (s->ring_head + 1) % s->ring_cap;
	s->npending--;
}

/*
 * Write out the local answers at the head of the queue. Returns -1 if the
 * session was closed (and freed).
 */
static int
flush_local(session_t *s)
{
	struct evbuffer *out = s->cq;
	pending_t *p;

	while ((p = pending_head(s)) != NULL && !p->forwarded) {
		bool close = p->flags & P_CLOSE;
		evbuffer_add(out, p->local, p->local_len);
		pending_pop(s);
		if (close) {
			session_close_after_flush(s);
			return -1;
		}
	}
	return 0;
}

/* Queue a local answer (text without the final CRLF; embedded lines must
 * already end in CRLF). */
static void
reply_local(session_t *s, unsigned flags, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_local(session_t *s, unsigned flags, const char *fmt, ...)
{
	pending_t *p = pending_push(s);
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("out of memory");
	p->local = xasprintf("%s\r\n", text);
	p->local_len = (size_t)n + 2;
	p->flags = flags;
	free(text);
	if (flags & P_CLOSE) {
		s->close_queued = true;
		bufferevent_disable(s->cbev, EV_READ);
	}
}

/* ---- built-in commands ---------------------------------------------- */

static void
do_protocolinfo(session_t *s)
{
	s->sent_protocolinfo = true;
	reply_local(s, 0, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n"
	    "250-VERSION Tor=\"%s\"\r\n250 OK", s->tor_version);
}

/*
 * AUTHCHALLENGE SAFECOOKIE <nonce>: answer as tor would, with the cookie
 * torgate itself authenticated with, so that clients which verify the
 * server hash (Bisq, Haveno, lnd, bitcoind) are satisfied. Failures close
 * the connection, as in tor.
 */
static void
do_authchallenge(session_t *s, const proto_cmd_t *cmd)
{
	const char *a = cmd->args, *end = cmd->args + cmd->args_len;
	const char *method = a;
	size_t mlen;
	uint8_t *nonce = NULL;
	size_t nlen = 0;
	uint8_t sn[SAFECOOKIE_NONCE_LEN], sh[SAFECOOKIE_HASH_LEN];
	char shx[2 * SAFECOOKIE_HASH_LEN + 1], snx[2 * SAFECOOKIE_NONCE_LEN + 1];

	while (a < end && *a != ' ' && *a != '\t')
		a++;
	mlen = (size_t)(a - method);
	while (a < end && (*a == ' ' || *a == '\t'))
		a++;
	while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
		end--;

	if (!strn_case_eq(method, mlen, "SAFECOOKIE")) {
		reply_local(s, P_CLOSE, "513 AUTHCHALLENGE only supports "
		    "SAFECOOKIE authentication");
		return;
	}
	if (!s->have_cookie) {
		reply_local(s, P_CLOSE, "515 Cookie authentication is disabled");
		return;
	}
	if (a == end || memchr(a, ' ', (size_t)(end - a)) != NULL) {
		reply_local(s, P_CLOSE, "512 Wrong number of arguments for "
		    "AUTHCHALLENGE");
		return;
	}
	if (*a == '"') {
		char *q;
		long used = kvline_unquote(a, (size_t)(end - a), &q, &nlen);
		if (used != end - a) {
			if (used > 0)
				free(q);
			reply_local(s, P_CLOSE, "513 Invalid quoted client nonce");
			return;
		}
		nonce = (uint8_t *)q;
	} else {
		nlen = (size_t)(end - a) / 2;
		nonce = xmalloc(nlen + 1);
		if (nlen > SAFECOOKIE_CLIENT_NONCE_MAX ||
		    hex_decode(a, (size_t)(end - a), nonce, nlen) < 0) {
			free(nonce);
			reply_local(s, P_CLOSE, "513 Invalid base16 client nonce");
			return;
		}
	}
	if (random_bytes(sn, sizeof(sn)) < 0) {
		free(nonce);
		log_warn("session %llu: getrandom", (unsigned long long)s->id);
		reply_local(s, P_CLOSE, "551 Internal error");
		return;
	}
	torauth_safecookie(s->cookie, nonce, nlen, sn, sh, NULL);
	free(nonce);
	hex_encode(sh, sizeof(sh), shx);
	hex_encode(sn, sizeof(sn), snx);
	for (char *c = shx; *c; c++)
		*c = (char)(*c >= 'a' ? *c - 32 : *c);
	for (char *c = snx; *c; c++)
		*c = (char)(*c >= 'a' ? *c - 32 : *c);
	s->got_challenge = true;
	reply_local(s, 0, "250 AUTHCHALLENGE SERVERHASH=%s SERVERNONCE=%s",
	    shx, snx);
}

/* Is this SETCONF/RESETCONF only about __OwningControllerProcess? An
 * application must never make the shared tor exit together with it. */
static bool
is_owning_controller_only(const proto_cmd_t *cmd)
{
	static const char key[] = "__OwningControllerProcess";
	const char *a = cmd->args, *end = cmd->args + cmd->args_len;

	while (end > a && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if ((size_t)(end - a) < sizeof(key) - 1 ||
	    strncasecmp(a, key, sizeof(key) - 1) != 0)
		return false;
	a += sizeof(key) - 1;
	if (a == end)
		return true;
	if (*a != '=')
		return false;
	/* The value must be a single token: a PID or a quoted PID. */
	for (a++; a < end; a++)
		if (*a == ' ' || *a == '\t')
			return false;
	return true;
}

/* ---- commands from the client --------------------------------------- */

static void
log_command(session_t *s, const proto_cmd_t *cmd)
{
	char *r;

	if (!log_is_debug())
		return;
	r = redact_command(cmd->line, cmd->line_len);
	log_debug("session %llu: C> %s%s", (unsigned long long)s->id, r,
	    cmd->multiline ? " (+ data)" : "");
	free(r);
}

/* Log a verdict of "deny". In complain and learn modes the command goes
 * through anyway: return true then. */
static bool
deny(session_t *s, const proto_cmd_t *cmd, const char *why)
{
	char *r = redact_command(cmd->line, cmd->line_len);
	bool pass = s->g->mode != MODE_ENFORCE;

	if (!pass)
		s->n_denied++;
	log_info("session %llu: profile %s: %s \"%s\": %s",
	    (unsigned long long)s->id, s->profile->name,
	    pass ? "would deny" : "denied", r, why);
	free(r);
	if (!pass)
		reply_local(s, 0, "510 Command filtered");
	return pass;
}

static bool
allowed_before_auth(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd)
{
	if (def == NULL || cmd->multiline || !(def->flags & CMD_F_PREAUTH))
		return false;
	if (def->id == CMD_PROTOCOLINFO)
		return !s->sent_protocolinfo && !s->got_challenge;
	if (def->id == CMD_AUTHCHALLENGE)
		return !s->got_challenge;
	return true;
}

/* Send a command to tor and queue its pending entry. args NULL: the line
 * as the client sent it (and its body). */
static pending_t *
forward(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd,
    const char *args, size_t args_len)
{
	struct evbuffer *out = s->uq;
	pending_t *p;

	if (args != NULL) {
		evbuffer_add(out, def->name, strlen(def->name));
		if (args_len > 0) {
			evbuffer_add(out, " ", 1);
			evbuffer_add(out, args, args_len);
		}
		if (log_is_debug()) {
			char *full = xasprintf("%s %.*s", def->name,
			    (int)args_len, args);
			char *r = redact_command(full, strlen(full));
			log_debug("session %llu: sent to tor as: %s",
			    (unsigned long long)s->id, r);
			free(r);
			free_secret_str(full);
		}
	} else if (cmd->line_len < 512) {
		/* One copy into the queue for the common short line. */
		char buf[512 + 2];
		memcpy(buf, cmd->line, cmd->line_len);
		memcpy(buf + cmd->line_len, "\r\n", 2);
		evbuffer_add(out, buf, cmd->line_len + 2);
		if (def->flags & CMD_F_SECRET)
			memwipe(buf, cmd->line_len + 2);
		goto body;
	} else {
		evbuffer_add(out, cmd->line, cmd->line_len);
	}
	evbuffer_add(out, "\r\n", 2);
body:
	if (cmd != NULL && cmd->multiline) {
		evbuffer_add(out, cmd->body, cmd->body_len);
		evbuffer_add(out, ".\r\n", 3);
	}
	p = pending_push(s);
	p->forwarded = true;
	p->cmd = def->id;
	return p;
}

/* Does a GETINFO ask for circuit-status or stream-status? */
static bool
asks_status(const proto_cmd_t *cmd)
{
	words_t w;
	bool yes = false;

	words_split(cmd->args, cmd->args_len, &w);
	for (size_t i = 0; i < w.n; i++)
		if (strcmp(w.v[i], "circuit-status") == 0 ||
		    strcmp(w.v[i], "stream-status") == 0)
			yes = true;
	words_clear(&w);
	return yes;
}

static bool
owns_onion_cb(void *arg, const char *sid, size_t len)
{
	session_t *s = arg;
	return onions_owned(s->g->onions, s->profile->name, sid, len);
}

static void
do_setevents(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	setevents_t se;
	pending_t *p;

	if (s->g->mode == MODE_LEARN) {
		words_t w;
		words_split(cmd->args, cmd->args_len, &w);
		for (size_t i = 0; i < w.n; i++)
			if (event_lookup(w.v[i], strlen(w.v[i])) >= 0)
				learn_event(s->g->learn, s->learn_name, &s->peer,
				    event_name(event_lookup(w.v[i],
				    strlen(w.v[i]))));
		words_clear(&w);
	}
	if (s->collision) {
		if (!deny(s, cmd, "several profiles match this client"))
			return;
	}
	if (s->collision || events_setevents(s->profile, cmd->args,
	    cmd->args_len, s->ev_internal, &se) < 0) {
		char why[160];
		if (!s->collision) {
			snprintf(why, sizeof(why), "%s: %s", se.why, se.bad);
			if (!deny(s, cmd, why))
				return;
		}
		/* Complain mode: subscribe what the client asked for. */
		profile_t all = *profile_empty();
		event_rule_t *rules = xcalloc(TEV_COUNT, sizeof(*rules));
		for (int i = 0; i < TEV_COUNT; i++)
			rules[i].name = (char *)event_name(i);
		all.events = rules;
		all.n_events = TEV_COUNT;
		if (events_setevents(&all, cmd->args, cmd->args_len,
		    s->ev_internal, &se) < 0) {
			free(rules);
			reply_local(s, 0, "552 Unrecognized event \"%s\"", se.bad);
			return;
		}
		free(rules);
	}
	p = forward(s, def, cmd, se.upstream_args, se.upstream_len);
	p->events = se.client;
	free(se.upstream_args);
}

/* Handle one command; def is its table row (NULL: unknown keyword). */
static void
handle_command(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	policy_ctx_t ctx = {
		.vars = &s->vars, .guard = &s->g->guard,
		.owns_onion = owns_onion_cb, .arg = s,
	};
	verdict_t v;
	pending_t *p;

	s->n_cmds++;
	log_command(s, cmd);
	if (s->state == S_PREAUTH && !allowed_before_auth(s, def, cmd)) {
		log_info("session %llu: command before authentication; "
		    "closing", (unsigned long long)s->id);
		reply_local(s, P_CLOSE, "514 Authentication required.");
		return;
	}
	if (def == NULL) {
		reply_local(s, 0, "510 Unrecognized command \"%.*s\"",
		    (int)cmd->keyword_len, cmd->keyword);
		return;
	}
	if (def->flags & CMD_F_OBSOLETE) {
		reply_local(s, 0, "511 %s is obsolete.", def->name);
		return;
	}
	switch (def->id) {
	case CMD_PROTOCOLINFO:
		do_protocolinfo(s);
		return;
	case CMD_AUTHCHALLENGE:
		do_authchallenge(s, cmd);
		return;
	case CMD_AUTHENTICATE:
		/* Access is decided by the profile, not by a password. */
		if (s->state == S_PREAUTH) {
			s->state = S_OPEN;
			s->creader.max_line = s->g->limits.max_line;
			s->creader.no_multiline = false;
		}
		reply_local(s, 0, "250 OK");
		return;
	case CMD_QUIT:
		reply_local(s, P_CLOSE, "250 closing connection");
		return;
	case CMD_TAKEOWNERSHIP:
	case CMD_DROPOWNERSHIP:
		reply_local(s, 0, "250 OK");
		return;
	case CMD_SETCONF:
	case CMD_RESETCONF:
		if (is_owning_controller_only(cmd)) {
			log_info("session %llu: %s of __OwningControllerProcess "
			    "answered locally", (unsigned long long)s->id,
			    def->name);
			reply_local(s, 0, "250 OK");
			return;
		}
		break;
	case CMD_SETEVENTS:
		do_setevents(s, def, cmd);
		return;
	default:
		break;
	}
	if (s->g->mode == MODE_LEARN)
		learn_command(s->g->learn, s->learn_name, &s->peer, def,
		    cmd->args, cmd->args_len);
	if (s->collision) {
		if (deny(s, cmd, "several profiles match this client"))
			forward(s, def, cmd, NULL, 0);
		return;
	}
	policy_check(s->profile, def, cmd, &ctx, &v);
	if (v.kind != VERDICT_FORWARD) {
		if (deny(s, cmd, v.why))
			forward(s, def, cmd, NULL, 0);
		verdict_clear(&v);
		return;
	}
	p = forward(s, def, cmd, v.args, v.args_len);
	p->rule = v.rule;
	p->more = v.more;
	p->n_more = v.n_more;
	v.more = NULL;
	if (def->id == CMD_DEL_ONION) {
		const char *a = cmd->args, *e = cmd->args + cmd->args_len;
		while (e > a && tor_isspace(e[-1]))
			e--;
		p->sid = xmemdup_nul(a, (size_t)(e - a));
	}
	if (def->id == CMD_GETINFO && s->owned != NULL && asks_status(cmd))
		p->flags |= P_RESTRICT;
	if (def->id == CMD_RESOLVE && s->owned != NULL)
		note_resolve(s, cmd);
	verdict_clear(&v);
}

static void
handle_reject(session_t *s, proto_err_t err)
{
	log_info("session %llu: %s", (unsigned long long)s->id,
	    proto_err_str(err));
	/* Before authentication nothing is resynchronised: close. */
	reply_local(s, s->state == S_PREAUTH ? P_CLOSE : 0, "500 %s",
	    proto_err_str(err));
}

static bool
must_pause_client(session_t *s)
{
	return s->npending >= s->g->limits.max_pending ||
	    to_tor(s) > s->g->limits.max_output;
}

static void
process_client(session_t *s)
{
	struct evbuffer *in = bufferevent_get_input(s->cbev);

	while ((s->state == S_PREAUTH || s->state == S_OPEN) &&
	    !s->close_queued) {
		proto_cmd_t cmd;
		proto_err_t err;
		proto_status_t r;

		if (must_pause_client(s)) {
			if (!s->client_paused) {
				s->client_paused = true;
				bufferevent_disable(s->cbev, EV_READ);
			}
			break;
		}
		r = proto_cmd_read(&s->creader, in, &cmd, &err);
		if (r == PROTO_NEED_MORE)
			break;
		if (r == PROTO_REJECT) {
			handle_reject(s, err);
		} else {
			const cmd_def_t *def = cmdtab_lookup(cmd.keyword,
			    cmd.keyword_len);
			handle_command(s, def, &cmd);
			if (def != NULL && (def->flags & CMD_F_SECRET))
				memwipe(cmd.line, cmd.line_len);
			proto_cmd_clear(&cmd);
		}
		if (flush_local(s) < 0)
			return;
	}
	if (s->client_paused && !s->close_queued &&
	    (s->state == S_PREAUTH || s->state == S_OPEN) &&
	    !must_pause_client(s)) {
		s->client_paused = false;
		bufferevent_enable(s->cbev, EV_READ);
	}
}

/* ---- replies from tor ----------------------------------------------- */

/* Rewrite a reply line with the first matching response rule of p's
 * rule, then of each per-key rule (every one: a multi-key read may carry
 * many); NULL if none matched. */
static char *
rewrite_reply(session_t *s, const pending_t *p, const char *text,
    size_t len, size_t *nlen)
{
	char *r = NULL;

	if (p->rule != NULL)
		r = policy_rewrite_line(&p->rule->response, text, len,
		    &s->vars, nlen);
	for (size_t i = 0; r == NULL && i < p->n_more; i++)
		r = policy_rewrite_line(&p->more[i]->response, text, len,
		    &s->vars, nlen);
	return r;
}

/* Are the lines of p's reply passed on exactly as tor sent them? */
static bool
plain_reply(const pending_t *p)
{
	return (p->rule == NULL || p->rule->response.n == 0) &&
	    p->n_more == 0 && !(p->flags & (P_RESTRICT | P_INTERNAL)) &&
	    p->cmd != CMD_ADD_ONION && p->cmd != CMD_DEL_ONION &&
	    p->cmd != CMD_SETEVENTS;
}

/* Append a rewritten line to out, keeping the line's framing: a status
 * line keeps its code and separator, a data line never becomes the
 * end-of-data ".". */
static void
add_framed(struct evbuffer *out, const proto_reply_line_t *line,
    const char *orig, const char *n, size_t nlen)
{
	if (!line->is_data && (nlen < 4 || memcmp(n, orig, 4) != 0)) {
		evbuffer_add(out, orig, 4);
		if (nlen >= 4 && n[0] >= '0' && n[0] <= '9')
			evbuffer_add(out, n + 4, nlen - 4);
		else
			evbuffer_add(out, n, nlen);
	} else if (line->is_data && nlen > 0 && n[0] == '.') {
		evbuffer_add(out, ".", 1);
		evbuffer_add(out, n, nlen);
	} else {
		evbuffer_add(out, n, nlen);
	}
	evbuffer_add(out, "\r\n", 2);
}

static void
log_rewrite(session_t *s, const char *what, const char *n, size_t nlen)
{
	char *r;

	if (!log_is_debug())
		return;
	r = redact_reply(n, nlen);
	log_debug("session %llu: %s rewritten to: %s",
	    (unsigned long long)s->id, what, r);
	free(r);
}

static bool
parse_u64(const char *p, const char *end, uint64_t *v)
{
	uint64_t x = 0;

	if (p == end || *p < '0' || *p > '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9')
		x = x * 10 + (uint64_t)(*p++ - '0');
	*v = x;
	return p == end || *p == ' ';
}

/*
 * restrict-stream-events: keep only the client's own circuits and streams
 * in GETINFO circuit-status / stream-status. Return false to drop the
 * line; *empty set to print just the key for a single-line value.
 */
static bool
restrict_status_line(session_t *s, const proto_reply_line_t *line,
    const char *text, bool *empty)
{
	static const char circ[] = "circuit-status=", strm[] = "stream-status=";
	const char *end = text + line->text_len;
	uint64_t id;
	int key = 0;
	const char *v = NULL;

	*empty = false;
	if (line->is_data) {
		if (line->text_len == 1 && text[0] == '.') {
			s->data_key = 0;
			return true;
		}
		if (s->data_key == 0)
			return true;
		v = text;
		key = s->data_key;
	} else {
		s->data_key = 0;
		if (line->text_len >= 4 + sizeof(circ) - 1 &&
		    memcmp(text + 4, circ, sizeof(circ) - 1) == 0) {
			key = 1;
			v = text + 4 + sizeof(circ) - 1;
		} else if (line->text_len >= 4 + sizeof(strm) - 1 &&
		    memcmp(text + 4, strm, sizeof(strm) - 1) == 0) {
			key = 2;
			v = text + 4 + sizeof(strm) - 1;
		} else {
			return true;
		}
		if (line->sep == '+') {
			s->data_key = key;
			return true;
		}
		if (v == end)
			return true;
	}
	if (parse_u64(v, end, &id) &&
	    (key == 1 ? owned_has_circ(s->owned, id) :
	    owned_has_stream(s->owned, id)))
		return true;
	if (line->is_data)
		return false;
	*empty = true;
	return true;
}

/* Learn from a reply line what the command did: onion services created
 * and removed. */
static void
note_reply(session_t *s, const pending_t *p, const proto_reply_line_t *line,
    const char *text)
{
	static const char sid[] = "ServiceID=";

	if (p->cmd == CMD_ADD_ONION && !line->is_data &&
	    line->code == 250 && line->text_len > 4 + sizeof(sid) - 1 &&
	    memcmp(text + 4, sid, sizeof(sid) - 1) == 0) {
		const char *v = text + 4 + sizeof(sid) - 1;
		size_t n = line->text_len - 4 - (sizeof(sid) - 1);
		if (!onions_add(s->g->onions, s->profile->name, v, n))
			log_warnx("session %llu: too many onion services to "
			    "remember; this one cannot be deleted through "
			    "torgate", (unsigned long long)s->id);
	} else if (p->cmd == CMD_DEL_ONION && line->ends_msg &&
	    line->code == 250 && p->sid != NULL) {
		onions_remove(s->g->onions, p->sid, strlen(p->sid));
	} else if (p->cmd == CMD_SETEVENTS && line->ends_msg &&
	    line->code == 250 && !(p->flags & P_INTERNAL)) {
		s->ev_client = p->events;
	}
}

/* One reply line to the command at the head of the queue. */
static void
emit_reply_line(session_t *s, pending_t *p, const proto_reply_line_t *line,
    struct evbuffer *in, struct evbuffer *out)
{
	size_t nlen;
	const char *text;
	char *n;

	if (plain_reply(p)) {
		evbuffer_remove_buffer(in, out, line->len);
		return;
	}
	text = (const char *)evbuffer_pullup(in, (ssize_t)line->len);
	note_reply(s, p, line, text);
	if (p->flags & P_INTERNAL) {
		evbuffer_drain(in, line->len);
		return;
	}
	if (p->flags & P_RESTRICT) {
		bool empty;
		if (!restrict_status_line(s, line, text, &empty)) {
			evbuffer_drain(in, line->len);
			return;
		}
		if (empty) {
			const char *eq = memchr(text, '=', line->text_len);
			evbuffer_add(out, text, (size_t)(eq - text) + 1);
			evbuffer_add(out, "\r\n", 2);
			evbuffer_drain(in, line->len);
			return;
		}
	}
	n = NULL;
	if (!(line->is_data && line->text_len == 1 && text[0] == '.'))
		n = rewrite_reply(s, p, text, line->text_len, &nlen);
	if (n == NULL) {
		evbuffer_remove_buffer(in, out, line->len);
		return;
	}
	add_framed(out, line, text, n, nlen);
	log_rewrite(s, "reply line", n, nlen);
	free(n);
	evbuffer_drain(in, line->len);
}

/*
 * restrict-stream-events: is a new stream this client's?
 * - SOURCE_ADDR is this session's own upstream connection (a RESOLVE the
 *   client sent, tor reached over TCP): yes.
 * - No SOURCE_ADDR (a RESOLVE over a unix control connection; tor does
 *   not say which): yes if this client asked to resolve that very name
 *   recently. Two clients resolving one name both see it.
 * - A remote client: SOURCE_ADDR's host is the client's address.
 * - A local client (unix socket or loopback): SOURCE_ADDR is a loopback
 *   address whose socket to one of tor's SOCKS listeners belongs to the
 *   client's uid (sock_diag); with the uid unknown, nothing is.
 */
static bool
own_source_cb(void *arg, const char *source, const char *target)
{
	session_t *s = arg;
	char err[128], host[64];
	struct sockaddr_storage up;
	socklen_t uplen = sizeof(up);
	tg_addr_t a;
	unsigned port;

	if (source == NULL) {
		const char *colon = strrchr(target, ':');
		size_t tlen = colon ? (size_t)(colon - target) : strlen(target);
		for (size_t i = 0; i < RESOLVES_MAX; i++)
			if (s->resolves[i] != NULL &&
			    strn_case_eq(target, tlen, s->resolves[i]))
				return true;
		return false;
	}
	if (addr_parse(source, &a, err, sizeof(err)) < 0 ||
	    a.family == AF_UNIX)
		return false;
	if (s->ubev != NULL && getsockname(bufferevent_getfd(s->ubev),
	    (struct sockaddr *)&up, &uplen) == 0 &&
	    up.ss_family == a.ss.ss_family && uplen == a.len &&
	    memcmp(&up, &a.ss, uplen) == 0)
		return true;
	if (!s->peer.local) {
		addr_host_port((struct sockaddr *)&a.ss, a.len, host,
		    sizeof(host), &port);
		return strcmp(host, s->peer.host) == 0;
	}
	if (!addr_is_local((struct sockaddr *)&a.ss) || !s->peer.have_uid)
		return false;
	for (size_t i = 0; i < s->g->socks.n; i++) {
		uid_t uid;
		if (peer_tcp_owner(&a.ss, &s->g->socks.v[i].ss, &uid))
			return uid == s->peer.uid;
	}
	return false;
}

/* Remember the names a restricted client asks tor to RESOLVE. */
static void
note_resolve(session_t *s, const proto_cmd_t *cmd)
{
	words_t w;

	words_split(cmd->args, cmd->args_len, &w);
	for (size_t i = 0; i < w.n; i++) {
		if (strncasecmp(w.v[i], "mode=", 5) == 0)
			continue;
		free(s->resolves[s->resolve_next]);
		s->resolves[s->resolve_next] = xstrdup(w.v[i]);
		s->resolve_next = (s->resolve_next + 1) % RESOLVES_MAX;
	}
	words_clear(&w);
}

/*
 * How to handle an event as its lines arrive: drop it (the client did not
 * ask for it), pass it line by line (nothing to judge), or gather it whole
 * (bounded) to filter or rewrite it.
 */
static event_mode_t
event_mode(session_t *s, int id)
{
	const event_rule_t *rule;
	bool restricted = s->owned != NULL &&
	    (id == TEV_STREAM || id == TEV_CIRC);

	if (id < 0 || (!(s->ev_client & EVMASK(id)) && !restricted))
		return EVM_DROP;
	rule = profile_find_event(s->profile, event_name(id),
	    strlen(event_name(id)));
	if (!restricted && (rule == NULL || rule->response.n == 0))
		return EVM_PASS;
	if (s->event == NULL && (s->event = evbuffer_new()) == NULL)
		abort();
	return EVM_GATHER;
}

/* A whole event is in s->event: deliver it as the profile says. */
static void
deliver_event(session_t *s, struct evbuffer *out)
{
	struct evbuffer *ev = s->event;
	const event_rule_t *rule;
	struct evbuffer *rewritten = NULL;
	proto_reply_reader_t rr;
	int id = s->event_id;

	if (id < 0)
		goto drop;
	if (s->owned != NULL && (id == TEV_STREAM || id == TEV_CIRC)) {
		size_t len = evbuffer_get_length(ev);
		const char *text = (const char *)evbuffer_pullup(ev,
		    (ssize_t)len);
		uint64_t circ = 0;
		size_t l1 = len;
		const char *eol = memchr(text, '\r', len);
		if (eol != NULL)
			l1 = (size_t)(eol - text);
		switch (events_restrict(s->owned, own_source_cb, s, text, l1,
		    &circ)) {
		case RESTRICT_PASS:
			break;
		case RESTRICT_DROP:
			goto drop;
		case RESTRICT_STRIP:
			if (!(s->ev_client & EVMASK(id)))
				goto drop;
			evbuffer_add_printf(out, "650 CIRC %llu CLOSED\r\n",
			    (unsigned long long)circ);
			goto drop;
		}
	}
	if (!(s->ev_client & EVMASK(id)))
		goto drop;
	rule = profile_find_event(s->profile, event_name(id),
	    strlen(event_name(id)));
	if (rule == NULL || rule->response.n == 0) {
		evbuffer_add_buffer(out, ev);
		return;
	}
	/* Rewrite line by line; a line rewritten to nothing drops it all. */
	rewritten = evbuffer_new();
	if (rewritten == NULL)
		abort();
	proto_reply_reader_init(&rr, s->g->limits.max_reply_line);
	for (;;) {
		proto_reply_line_t line;
		proto_err_t err;
		const char *text;
		size_t nlen;
		char *n;
		if (proto_reply_peek(&rr, ev, &line, &err) != PROTO_COMPLETE)
			break;
		text = (const char *)evbuffer_pullup(ev, (ssize_t)line.len);
		n = line.is_data && line.text_len == 1 && text[0] == '.' ?
		    NULL : policy_rewrite_line(&rule->response, text,
		    line.text_len, &s->vars, &nlen);
		if (n == NULL) {
			evbuffer_remove_buffer(ev, rewritten, line.len);
			continue;
		}
		if (nlen == 0) {
			log_debug("session %llu: event %s dropped by a rewrite",
			    (unsigned long long)s->id, event_name(id));
			free(n);
			goto drop;
		}
		add_framed(rewritten, &line, text, n, nlen);
		log_rewrite(s, "event line", n, nlen);
		free(n);
		evbuffer_drain(ev, line.len);
	}
	evbuffer_add_buffer(out, rewritten);
drop:
	if (rewritten != NULL)
		evbuffer_free(rewritten);
	evbuffer_drain(ev, evbuffer_get_length(ev));
}

static void
log_reply_line(session_t *s, struct evbuffer *in, const proto_reply_line_t *l)
{
	const char *text;
	char *r;

	if (!log_is_debug())
		return;
	text = (const char *)evbuffer_pullup(in, (ssize_t)l->len);
	r = redact_reply(text, l->text_len);
	log_debug("session %llu: T> %s", (unsigned long long)s->id, r);
	free(r);
}

/*
 * Relay what tor sent. Lines of replies that pass unchanged are not moved
 * one by one: they are only classified where they lie (proto_reply_peek_at)
 * and moved to the client in one run (*pass bytes) before anything else is
 * written, so order is kept. With --debug every line is logged, so runs
 * are not gathered then.
 */
static void
move_run(struct evbuffer *in, struct evbuffer *out, size_t *pass)
{
	if (*pass > 0)
		evbuffer_remove_buffer(in, out, *pass);
	*pass = 0;
}

static void
process_upstream(session_t *s)
{
	struct evbuffer *in = bufferevent_get_input(s->ubev);
	struct evbuffer *out = s->cq;
	bool batch = !log_is_debug();
	size_t pass = 0;

	while (s->state == S_PREAUTH || s->state == S_OPEN) {
		proto_reply_line_t line;
		proto_err_t err;
		proto_status_t r;
		pending_t *head;

		if (to_client(s) + pass > s->g->limits.max_output) {
			move_run(in, out, &pass);
			if (!s->upstream_paused) {
				s->upstream_paused = true;
				bufferevent_disable(s->ubev, EV_READ);
			}
			return;
		}
		r = proto_reply_peek_at(&s->rreader, in, pass, &line, &err);
		if (r == PROTO_NEED_MORE)
			break;
		if (r == PROTO_REJECT) {
			move_run(in, out, &pass);
			log_warnx("session %llu: tor sent a bad reply (%s); "
			    "closing", (unsigned long long)s->id,
			    proto_err_str(err));
			session_close_after_flush(s);
			return;
		}
		if (line.is_event) {
			move_run(in, out, &pass);
			log_reply_line(s, in, &line);
			if (line.starts_msg) {
				const char *t = (const char *)evbuffer_pullup(in,
				    (ssize_t)line.len);
				s->event_id = event_of_line(t, line.text_len);
				s->event_mode = event_mode(s, s->event_id);
			}
			switch (s->event_mode) {
			case EVM_DROP:
				evbuffer_drain(in, line.len);
				break;
			case EVM_PASS:
				evbuffer_remove_buffer(in, out, line.len);
				break;
			case EVM_GATHER:
				if (evbuffer_get_length(s->event) + line.len >
				    s->g->limits.max_reply_line) {
					log_warnx("session %llu: event %s longer "
					    "than %zu bytes; dropped",
					    (unsigned long long)s->id,
					    event_name(s->event_id),
					    s->g->limits.max_reply_line);
					evbuffer_drain(s->event,
					    evbuffer_get_length(s->event));
					s->event_mode = EVM_DROP;
					evbuffer_drain(in, line.len);
					break;
				}
				evbuffer_remove_buffer(in, s->event, line.len);
				if (line.ends_msg)
					deliver_event(s, out);
				break;
			}
			continue;
		}
		head = pending_head(s);
		if (head == NULL || !head->forwarded) {
			move_run(in, out, &pass);
			log_warnx("session %llu: reply from tor to no command; "
			    "closing", (unsigned long long)s->id);
			session_close_after_flush(s);
			return;
		}
		if (batch && plain_reply(head)) {
			pass += line.len;
		} else {
			move_run(in, out, &pass);
			log_reply_line(s, in, &line);
			emit_reply_line(s, head, &line, in, out);
		}
		if (line.ends_msg) {
			pending_pop(s);
			head = pending_head(s);
			if (head != NULL && !head->forwarded) {
				/* torgate's own answers come after this reply */
				move_run(in, out, &pass);
				if (flush_local(s) < 0)
					return;
			}
		}
	}
	move_run(in, out, &pass);
}

/* ---- libevent callbacks --------------------------------------------- */

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	process_client(s);
	session_flush(s);
}

/* A pending write to the client finished: stop watching writability. */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
	session_flush(s);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	session_t *s = arg;

	if (what & BEV_EVENT_ERROR)
		log_info("session %llu: client error: %s",
		    (unsigned long long)s->id,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	session_free(s);
}

static void
upstream_read_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	process_upstream(s);
	session_flush(s);
}

static void
upstream_write_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_disable(bev, EV_WRITE);
	session_flush(s);
}

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	session_t *s = arg;

	log_warnx("session %llu: connection to tor lost%s%s",
	    (unsigned long long)s->id, (what & BEV_EVENT_ERROR) ? ": " : "",
	    (what & BEV_EVENT_ERROR) ?
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) : "");
	bufferevent_free(s->ubev);
	s->ubev = NULL;
	if (s->state != S_CLOSING)
		session_close_after_flush(s);
	session_flush(s);
}

/* Keep the guard's view of tor's control listeners current. */
static void
note_tor_listeners(gate_t *g, const char *list)
{
	if (list == NULL || (g->tor_listeners != NULL &&
	    strcmp(g->tor_listeners, list) == 0))
		return;
	free(g->tor_listeners);
	g->tor_listeners = xstrdup(list);
	guard_targets_clear(&g->guard);
	for (size_t i = 0; i < g->guard_own.n; i++)
		guard_targets_add(&g->guard, &g->guard_own.v[i]);
	guard_targets_add_tor_list(&g->guard, list, strlen(list));
	log_info("tor's control listeners: %s", list);
}

void
gate_note_upstream(void *arg, const upstream_t *u)
{
	gate_t *g = arg;
	const char *socks = upstream_socks_listeners(u);

	note_tor_listeners(g, upstream_listeners(u));
	if (socks != NULL && (g->tor_socks == NULL ||
	    strcmp(g->tor_socks, socks) != 0)) {
		free(g->tor_socks);
		g->tor_socks = xstrdup(socks);
		guard_targets_clear(&g->socks);
		guard_targets_add_tor_list(&g->socks, socks, strlen(socks));
	}
}

static void
upstream_ready(upstream_t *u, bool ok, const char *why, void *arg)
{
	session_t *s = arg;
	const uint8_t *cookie;

	if (!ok) {
		log_warnx("session %llu: %s", (unsigned long long)s->id, why);
		session_free(s);
		return;
	}
	s->ubev = upstream_take_bev(u);
	s->tor_version = xstrdup(upstream_tor_version(u));
	if ((cookie = upstream_cookie(u)) != NULL) {
		memcpy(s->cookie, cookie, TOR_COOKIE_LEN);
		s->have_cookie = true;
	}
	gate_note_upstream(s->g, u);
	upstream_free(u);
	s->up = NULL;

	bufferevent_setcb(s->ubev, upstream_read_cb, upstream_write_cb,
	    upstream_event_cb, s);
	bufferevent_disable(s->ubev, EV_WRITE);
	bufferevent_enable(s->ubev, EV_READ);

	/* restrict-stream-events: follow the client's streams from the
	 * start, whatever it subscribes to. */
	if (s->profile->restrict_stream_events) {
		static const char cmd[] = "SETEVENTS STREAM\r\n";
		pending_t *p;
		s->owned = xzalloc(sizeof(*s->owned));
		s->ev_internal = EVMASK(TEV_STREAM);
		evbuffer_add(s->uq, cmd,
		    sizeof(cmd) - 1);
		p = pending_push(s);
		p->forwarded = true;
		p->flags = P_INTERNAL;
		p->cmd = CMD_SETEVENTS;
	}

	s->state = S_PREAUTH;
	bufferevent_enable(s->cbev, EV_READ);
	process_client(s);
	session_flush(s);
}

/* ---- setup ---------------------------------------------------------- */

static void
choose_profile(session_t *s)
{
	char names[512];

	if (s->listener_profile != NULL) {
		s->profile = profile_set_find(s->set, s->listener_profile);
		if (s->profile == NULL) {
			log_warnx("session %llu: listener profile '%s' is not "
			    "loaded; denying everything",
			    (unsigned long long)s->id, s->listener_profile);
			s->profile = profile_empty();
		}
		return;
	}
	switch (policy_select_profile(s->set, &s->peer, &s->profile, names,
	    sizeof(names))) {
	case SELECT_COLLISION:
		log_warnx("session %llu: profiles collide for this client "
		    "(%s); denying everything", (unsigned long long)s->id,
		    names);
		s->collision = true;
		break;
	case SELECT_NONE:
	case SELECT_ONE:
		break;
	}
}

/* Does any profile qualify clients by program (an AppArmor label or
 * executable other than '*')? If not, finding a TCP client's process is
 * wasted work. */
static bool
needs_program(const profile_set_t *set)
{
	for (size_t i = 0; i < set->n; i++) {
		const strlist_t *l = &set->v[i]->apparmor_profiles;
		for (size_t j = 0; j < l->n; j++)
			if (strcmp(l->v[j], "*") != 0)
				return true;
	}
	return false;
}

static void
set_vars(session_t *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port = 0;

	/* Unix-socket clients are local: their services listen on loopback. */
	if (s->peer.is_unix) {
		snprintf(s->host, sizeof(s->host), "127.0.0.1");
		snprintf(s->shost, sizeof(s->shost), "127.0.0.1");
		snprintf(s->port, sizeof(s->port), "0");
		snprintf(s->sport, sizeof(s->sport), "0");
	} else {
		snprintf(s->host, sizeof(s->host), "%s", s->peer.host);
		snprintf(s->port, sizeof(s->port), "%u", s->peer.port);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
			addr_host_port((struct sockaddr *)&ss, len, s->shost,
			    sizeof(s->shost), &port);
		snprintf(s->sport, sizeof(s->sport), "%u", port);
	}
	s->vars.v[TPL_VAR_CLIENT_ADDRESS] = s->host;
	s->vars.v[TPL_VAR_CLIENT_PORT] = s->port;
	s->vars.v[TPL_VAR_SERVER_ADDRESS] = s->shost;
	s->vars.v[TPL_VAR_SERVER_PORT] = s->sport;
}

void
session_start(gate_t *g, int fd, const struct sockaddr *sa, socklen_t salen,
    const listener_info_t *li)
{
	session_t *s;

	if (g->n_sessions >= g->limits.max_clients) {
		static const char msg[] = "451 torgate: too many connections\r\n";
		log_warnx("refusing a client on %s: %u connections already "
		    "(max-clients)", li->text, g->n_sessions);
		if (write(fd, msg, sizeof(msg) - 1) < 0) {
			/* Nothing more to do for it. */
		}
		close(fd);
		return;
	}
	s = xzalloc(sizeof(*s));
	s->g = g;
	if ((s->cq = evbuffer_new()) == NULL || (s->uq = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	s->id = ++g->next_id;
	s->state = S_CONNECTING;
	TAILQ_INSERT_TAIL(&g->sessions, s, link);
	g->n_sessions++;

	peer_identify(fd, sa, salen, g->mode == MODE_LEARN ||
	    (li->profile == NULL && needs_program(g->profiles)), &s->peer);
	set_vars(s, fd);
	s->set = profile_set_ref(g->profiles);
	if (li->profile != NULL)
		s->listener_profile = xstrdup(li->profile);
	choose_profile(s);
	proto_cmd_reader_init(&s->creader, g->limits.max_preauth_line,
	    g->limits.max_body);
	s->creader.no_multiline = true;
	proto_reply_reader_init(&s->rreader, g->limits.max_reply_line);

	if (g->mode == MODE_LEARN)
		learn_name(&s->peer, s->listener_profile ? s->listener_profile :
		    s->profile == profile_empty() ? NULL : s->profile->name,
		    s->learn_name, sizeof(s->learn_name));
	log_info("session %llu: client %s on %s, profile %s%s",
	    (unsigned long long)s->id, s->peer.desc, li->text, s->profile->name,
	    s->collision ? " (collision: all denied)" : "");

	s->cbev = bufferevent_socket_new(g->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->cbev == NULL) {
		close(fd);
		session_free(s);
		return;
	}
	bufferevent_setcb(s->cbev, client_read_cb, client_write_cb,
	    client_event_cb, s);
	/* The client is read once tor is ready; until then its bytes wait in
	 * the kernel. Writes go out directly (flush_bev). */
	bufferevent_disable(s->cbev, EV_READ | EV_WRITE);

	/* A spare connection, if one is ready, serves the client at once. */
	if (g->pool != NULL && (s->up = pool_take(g->pool)) != NULL) {
		upstream_ready(s->up, true, NULL, s);
		return;
	}
	s->up = upstream_connect(g->base, &g->upstream, upstream_ready, s);
	if (s->up == NULL) {
		log_warn("session %llu: cannot connect to tor",
		    (unsigned long long)s->id);
		session_free(s);
	}
}

void
session_free_all(gate_t *g)
{
	session_t *s;

	while ((s = TAILQ_FIRST(&g->sessions)) != NULL)
		session_free(s);
	reap_cb(-1, 0, g);
	if (g->reaper != NULL)
		event_free(g->reaper);
	g->reaper = NULL;
}
