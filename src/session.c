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

#include "log.h"
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

enum {
	P_CLOSE = 1 << 0,   /* close the session once this reply is out */
};

typedef struct pending {
	const cmd_rule_t *rule;   /* forwarded: its response rewrites */
	char *local;              /* local answer (with CRLFs), or NULL */
	size_t local_len;
	unsigned flags;
	bool forwarded;
} pending_t;

struct session {
	TAILQ_ENTRY(session) link;
	gate_t *g;
	uint64_t id;
	session_state_t state;
	struct bufferevent *cbev;       /* client */
	struct bufferevent *ubev;       /* tor, once authenticated */
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
	/* Counters for the log line at the end. */
	unsigned long n_cmds, n_denied;
};

static void process_client(session_t *s);
static void process_upstream(session_t *s);

static void
session_free(session_t *s)
{
	gate_t *g = s->g;

	log_info("session %llu: closed (%lu commands, %lu denied)",
	    (unsigned long long)s->id, s->n_cmds, s->n_denied);
	TAILQ_REMOVE(&g->sessions, s, link);
	g->n_sessions--;
	if (s->cbev != NULL)
		bufferevent_free(s->cbev);
	if (s->ubev != NULL)
		bufferevent_free(s->ubev);
	upstream_free(s->up);
	proto_cmd_reader_clear(&s->creader);
	for (size_t i = 0; i < s->npending; i++)
		free(s->ring[(s->ring_head + i) % s->ring_cap].local);
	free(s->ring);
	if (s->set != NULL)
		profile_set_unref(s->set);
	free(s->listener_profile);
	free(s->tor_version);
	memwipe(s->cookie, sizeof(s->cookie));
	free(s);
}

/* Stop reading and end the session once the client has its replies. */
static void
session_close_after_flush(session_t *s)
{
	s->state = S_CLOSING;
	bufferevent_disable(s->cbev, EV_READ);
	if (s->ubev != NULL)
		bufferevent_disable(s->ubev, EV_READ);
	bufferevent_setwatermark(s->cbev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(s->cbev)) == 0)
		session_free(s);
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
	p->local = NULL;
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
	struct evbuffer *out = bufferevent_get_output(s->cbev);
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
		long used = torauth_unquote(a, (size_t)(end - a), &q, &nlen);
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

static void
deny(session_t *s, const proto_cmd_t *cmd, const char *why)
{
	char *r = redact_command(cmd->line, cmd->line_len);

	s->n_denied++;
	log_info("session %llu: profile %s: denied \"%s\": %s",
	    (unsigned long long)s->id, s->profile->name, r, why);
	free(r);
	reply_local(s, 0, "510 Command filtered");
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

static void
forward(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd,
    const verdict_t *v)
{
	struct evbuffer *out = bufferevent_get_output(s->ubev);
	pending_t *p;

	if (v->args != NULL) {
		evbuffer_add(out, def->name, strlen(def->name));
		evbuffer_add(out, " ", 1);
		evbuffer_add(out, v->args, v->args_len);
		if (log_is_debug()) {
			char *full = xasprintf("%s %.*s", def->name,
			    (int)v->args_len, v->args);
			char *r = redact_command(full, strlen(full));
			log_debug("session %llu: rewritten to: %s",
			    (unsigned long long)s->id, r);
			free(r);
			free_secret_str(full);
		}
	} else {
		evbuffer_add(out, cmd->line, cmd->line_len);
	}
	evbuffer_add(out, "\r\n", 2);
	if (cmd->multiline) {
		evbuffer_add(out, cmd->body, cmd->body_len);
		evbuffer_add(out, ".\r\n", 3);
	}
	p = pending_push(s);
	p->forwarded = true;
	p->rule = v->rule;
}

static void
handle_command(session_t *s, const proto_cmd_t *cmd)
{
	const cmd_def_t *def = cmdtab_lookup(cmd->keyword, cmd->keyword_len);
	verdict_t v;

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
	default:
		break;
	}
	if (s->collision) {
		deny(s, cmd, "several profiles match this client");
		return;
	}
	policy_check(s->profile, def, cmd, &s->vars, &v);
	if (v.kind == VERDICT_FORWARD)
		forward(s, def, cmd, &v);
	else
		deny(s, cmd, v.why);
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
	    evbuffer_get_length(bufferevent_get_output(s->ubev)) >
	    s->g->limits.max_output;
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
			handle_command(s, &cmd);
			if (def != NULL && (def->flags & CMD_F_SECRET))
				memwipe(cmd.line, cmd.line_len);
			proto_cmd_clear(&cmd);
		}
		if (flush_local(s) < 0)
			return;
	}
	if (s->client_paused && !must_pause_client(s) && !s->close_queued &&
	    (s->state == S_PREAUTH || s->state == S_OPEN)) {
		s->client_paused = false;
		bufferevent_enable(s->cbev, EV_READ);
	}
}

/* ---- replies from tor ----------------------------------------------- */

/* Rewrite one reply line by the rule's response rules, keeping the line's
 * framing: a status line keeps its code and separator, a data line never
 * becomes the end-of-data ".". */
static void
emit_rewritten(session_t *s, const proto_reply_line_t *line,
    const line_rules_t *rules, struct evbuffer *in, struct evbuffer *out)
{
	const char *text = (const char *)evbuffer_pullup(in,
	    (ssize_t)line->len);
	size_t nlen;
	char *n = NULL;

	if (!(line->is_data && line->text_len == 1 && text[0] == '.'))
		n = policy_rewrite_line(rules, text, line->text_len, &s->vars,
		    &nlen);
	if (n == NULL) {
		evbuffer_remove_buffer(in, out, line->len);
		return;
	}
	if (!line->is_data &&
	    (nlen < 4 || memcmp(n, text, 4) != 0)) {
		/* Keep the framing whatever the template produced. */
		evbuffer_add(out, text, 4);
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
	if (log_is_debug()) {
		char *r = redact_reply(n, nlen);
		log_debug("session %llu: reply line rewritten to: %s",
		    (unsigned long long)s->id, r);
		free(r);
	}
	free(n);
	evbuffer_drain(in, line->len);
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

static void
process_upstream(session_t *s)
{
	struct evbuffer *in = bufferevent_get_input(s->ubev);
	struct evbuffer *out = bufferevent_get_output(s->cbev);

	while (s->state == S_PREAUTH || s->state == S_OPEN) {
		proto_reply_line_t line;
		proto_err_t err;
		proto_status_t r;
		pending_t *head;

		if (evbuffer_get_length(out) > s->g->limits.max_output) {
			if (!s->upstream_paused) {
				s->upstream_paused = true;
				bufferevent_disable(s->ubev, EV_READ);
			}
			return;
		}
		r = proto_reply_peek(&s->rreader, in, &line, &err);
		if (r == PROTO_NEED_MORE)
			break;
		if (r == PROTO_REJECT) {
			log_warnx("session %llu: tor sent a bad reply (%s); "
			    "closing", (unsigned long long)s->id,
			    proto_err_str(err));
			session_close_after_flush(s);
			return;
		}
		log_reply_line(s, in, &line);
		if (line.is_event) {
			evbuffer_remove_buffer(in, out, line.len);
			continue;
		}
		head = pending_head(s);
		if (head == NULL || !head->forwarded) {
			log_warnx("session %llu: reply from tor to no command; "
			    "closing", (unsigned long long)s->id);
			session_close_after_flush(s);
			return;
		}
		if (head->rule != NULL && head->rule->response.n > 0)
			emit_rewritten(s, &line, &head->rule->response, in, out);
		else
			evbuffer_remove_buffer(in, out, line.len);
		if (line.ends_msg) {
			pending_pop(s);
			if (flush_local(s) < 0)
				return;
		}
	}
	if (s->client_paused && !must_pause_client(s))
		process_client(s);
}

/* ---- libevent callbacks --------------------------------------------- */

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	process_client(arg);
}

static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	if (s->state == S_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			session_free(s);
		return;
	}
	if (s->upstream_paused) {
		s->upstream_paused = false;
		bufferevent_enable(s->ubev, EV_READ);
		process_upstream(s);
	}
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
	process_upstream(arg);
}

static void
upstream_write_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	if (s->client_paused && !must_pause_client(s))
		process_client(s);
}

static void
upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
	session_t *s = arg;

	log_warnx("session %llu: connection to tor lost%s%s",
	    (unsigned long long)s->id, (what & BEV_EVENT_ERROR) ? ": " : "",
	    (what & BEV_EVENT_ERROR) ?
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()) : "");
	if (s->state == S_CLOSING) {
		bufferevent_free(s->ubev);
		s->ubev = NULL;
		return;
	}
	session_close_after_flush(s);
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
	upstream_free(u);
	s->up = NULL;

	bufferevent_setcb(s->ubev, upstream_read_cb, upstream_write_cb,
	    upstream_event_cb, s);
	bufferevent_setwatermark(s->ubev, EV_WRITE,
	    s->g->limits.max_output / 2, 0);
	bufferevent_enable(s->ubev, EV_READ | EV_WRITE);

	s->state = S_PREAUTH;
	bufferevent_enable(s->cbev, EV_READ | EV_WRITE);
	process_client(s);
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
	s->id = ++g->next_id;
	s->state = S_CONNECTING;
	TAILQ_INSERT_TAIL(&g->sessions, s, link);
	g->n_sessions++;

	peer_identify(fd, sa, salen, &s->peer);
	set_vars(s, fd);
	s->set = profile_set_ref(g->profiles);
	if (li->profile != NULL)
		s->listener_profile = xstrdup(li->profile);
	choose_profile(s);
	proto_cmd_reader_init(&s->creader, g->limits.max_preauth_line,
	    g->limits.max_body);
	s->creader.no_multiline = true;
	proto_reply_reader_init(&s->rreader, g->limits.max_reply_line);

	log_info("session %llu: client %s on %s, profile %s%s",
	    (unsigned long long)s->id, s->peer.desc, li->text, s->profile->name,
	    s->collision ? " (collision: all denied)" : "");

	s->cbev = bufferevent_socket_new(g->base, fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (s->cbev == NULL) {
		close(fd);
		session_free(s);
		return;
	}
	bufferevent_setcb(s->cbev, client_read_cb, client_write_cb,
	    client_event_cb, s);
	bufferevent_setwatermark(s->cbev, EV_WRITE, g->limits.max_output / 2,
	    0);
	/* The client is read once tor is ready; until then its bytes wait in
	 * the kernel. */
	bufferevent_disable(s->cbev, EV_READ);

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
}
