/*
 * session.c: a session's life: start, identification, the upstream
 * connection, back-pressure and flushing, the end. See session_impl.h for
 * the states and the files that make up the session layer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "learn.h"
#include "log.h"
#include "session_impl.h"
#include "util.h"

static void upstream_ready(upstream_t *u, bool ok, const char *why,
    void *arg);
static void wait_for_tor(session_t *s);
static void upstream_event_cb(struct bufferevent *bev, short what,
    void *arg);

/* ---- the end ---------------------------------------------------------- */

/* Free the sessions killed since the last time round the loop. */
static void
reap_cb(evutil_socket_t fd, short what, void *arg)
{
	gate_t *g = arg;
	session_t *s;

	while ((s = TAILQ_FIRST(&g->dead)) != NULL) {
		TAILQ_REMOVE(&g->dead, s, link);
		free(s);
	}
}

/* ---- onion services that live on the connection to tor ---------------- */

void
session_note_onion(session_t *s, const char *sid, size_t len)
{
	onions_t *o = torview_onions(s->g->tor);

	if (s->n_onion_sids == s->cap_onion_sids) {
		/* Before growing, drop the services that are no longer this
		 * connection's (deleted, or made again elsewhere): what stays
		 * is in the ownership table, so the list holds at most twice
		 * ONIONS_MAX. */
		size_t k = 0;
		for (size_t i = 0; i < s->n_onion_sids; i++) {
			char *x = s->onion_sids[i];
			if (onions_on_conn(o, x, strlen(x), s->id))
				s->onion_sids[k++] = x;
			else
				free(x);
		}
		s->n_onion_sids = k;
		if (k >= s->cap_onion_sids / 2) {
			s->cap_onion_sids = s->cap_onion_sids ?
			    s->cap_onion_sids * 2 : 4;
			s->onion_sids = xreallocarray(s->onion_sids,
			    s->cap_onion_sids, sizeof(*s->onion_sids));
		}
	}
	s->onion_sids[s->n_onion_sids++] = xmemdup_nul(sid, len);
}

/* The connection to tor ended: so did the services made on it. */
static void
forget_onions(session_t *s)
{
	for (size_t i = 0; i < s->n_onion_sids; i++) {
		char *x = s->onion_sids[i];
		torview_onion_conn_closed(s->g->tor, x, strlen(x), s->id);
		free(x);
	}
	FREE(s->onion_sids);
	s->n_onion_sids = s->cap_onion_sids = 0;
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
	ident_cancel(s->ident);
	s->ident = NULL;
	torview_unwait(g->tor, &s->waiter);
	if (s->wait_timer != NULL)
		event_free(s->wait_timer);
	s->wait_timer = NULL;
	if (s->admitted)
		admit_release(g->admit, &s->admit_key);
	s->admitted = false;
	if (s->auth_timer != NULL)
		event_free(s->auth_timer);
	s->auth_timer = NULL;
	if (s->cbev != NULL)
		bufferevent_free(s->cbev);
	s->cbev = NULL;
	if (s->ubev != NULL)
		bufferevent_free(s->ubev);
	s->ubev = NULL;
	upstream_free(s->up);
	s->up = NULL;
	forget_onions(s);
	proto_cmd_reader_clear(&s->creader);
	while (s->npending > 0) {
		pending_t *p = pending_head(s);
		/* Its reply will never be read: tor has it (or never will). */
		if (p->forwarded && (p->flags & P_LISTENERS))
			torview_listeners_changed(g->tor);
		pending_pop(s);
	}
	free(s->ring);
	if (s->event != NULL)
		evbuffer_free(s->event);
	evbuffer_free(s->cq);
	evbuffer_free(s->uq);
	owner_clear(s);
	if (g->mode == MODE_LEARN && s->learn_name[0])
		learn_write(g->learn, s->learn_name);
	if (s->set != NULL)
		profile_set_unref(s->set);
	free(s->listener_profile);
	free(s->listener_text);
	memwipe(s->sc_hash, sizeof(s->sc_hash));
}

/* ---- writing and back-pressure ---------------------------------------- */

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

size_t
session_to_client(session_t *s)
{
	return evbuffer_get_length(s->cq) +
	    (s->cbev ? evbuffer_get_length(bufferevent_get_output(s->cbev)) :
	    0);
}

size_t
session_client_backlog(session_t *s)
{
	return session_to_client(s) + s->local_bytes;
}

size_t
session_to_tor(session_t *s)
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
			if (session_to_client(s) == 0)
				session_free(s);
			return;
		}
		if (s->upstream_paused && s->ubev != NULL &&
		    session_to_client(s) <= s->g->limits.max_output / 2) {
			s->upstream_paused = false;
			bufferevent_enable(s->ubev, EV_READ);
			relay_process(s);
			more = true;
		}
		if (!s->dead && s->client_paused &&
		    (s->ubev != NULL || s->away) && !command_must_pause(s)) {
			command_process(s);
			more = !s->client_paused || more;
		}
		if (!s->dead && s->client_eof && !s->client_paused &&
		    s->npending == 0 &&
		    (s->state == S_PREAUTH || s->state == S_OPEN)) {
			/* Everything the client sent before its EOF is
			 * answered: close, as tor does. */
			log_info("session %llu: client sent EOF; every command "
			    "answered, closing", (unsigned long long)s->id);
			session_close_after_flush(s);
			more = true;
		}
		if (!more)
			return;
	}
}

/* Stop reading and end the session once the client has its replies
 * (session_flush() does the rest). */
void
session_close_after_flush(session_t *s)
{
	s->state = S_CLOSING;
	bufferevent_disable(s->cbev, EV_READ);
	if (s->ubev != NULL)
		bufferevent_disable(s->ubev, EV_READ);
}

/* ---- the pending queue ------------------------------------------------ */

pending_t *
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

/* A pending entry before every other: the answer to it comes first. */
static pending_t *
pending_push_front(session_t *s)
{
	pending_t *p;

	(void)pending_push(s);  /* makes room for one more at the tail... */
	/* ... which is taken before the head instead. */
	s->ring_head = (s->ring_head + s->ring_cap - 1) % s->ring_cap;
	p = &s->ring[s->ring_head];
	memset(p, 0, sizeof(*p));
	return p;
}

pending_t *
pending_head(session_t *s)
{
	return s->npending ? &s->ring[s->ring_head] : NULL;
}

void
pending_pop(session_t *s)
{
	pending_t *p = &s->ring[s->ring_head];

	if (p->local != NULL)
		s->local_bytes -= p->local_len;
	free(p->local);
	free(p->more);
	free(p->sid);
	router_expect_clear(&p->rx);
	memset(p, 0, sizeof(*p));
	s->ring_head = (s->ring_head + 1) % s->ring_cap;
	s->npending--;
}

/*
 * Write out the local answers at the head of the queue. Returns -1 if the
 * session is closing.
 */
int
flush_local(session_t *s)
{
	pending_t *p;

	while ((p = pending_head(s)) != NULL && !p->forwarded) {
		bool close = p->flags & P_CLOSE;
		evbuffer_add(s->cq, p->local, p->local_len);
		pending_pop(s);
		if (close) {
			session_close_after_flush(s);
			return -1;
		}
	}
	return 0;
}

/* Make p's answer text (with its CRLFs; the entry is then not sent to
 * tor). Every local answer is set here, so that local_bytes counts them
 * all. */
void
pending_set_local(session_t *s, pending_t *p, const char *text)
{
	if (p->local != NULL)
		s->local_bytes -= p->local_len;
	free(p->local);
	p->forwarded = false;
	p->local = xstrdup(text);
	p->local_len = strlen(text);
	s->local_bytes += p->local_len;
}

/* Queue a local answer (text without the final CRLF; embedded lines must
 * already end in CRLF). */
void
reply_local(session_t *s, unsigned flags, const char *fmt, ...)
{
	pending_t *p = pending_push(s);
	va_list ap;
	char *text, *line;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("out of memory");
	line = xasprintf("%s\r\n", text);
	pending_set_local(s, p, line);
	free(line);
	free(text);
	p->flags = flags;
	if (flags & P_CLOSE) {
		s->close_queued = true;
		bufferevent_disable(s->cbev, EV_READ);
	}
}

/* ---- libevent callbacks ----------------------------------------------- */

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	session_t *s = arg;

	command_process(s);
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

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) &&
	    (s->state == S_PREAUTH || s->state == S_OPEN)) {
		/* Half-close: the client may still read. Answer what it
		 * sent (session_flush() closes once that is done). */
		s->client_eof = true;
		bufferevent_disable(bev, EV_READ);
		command_process(s);
		session_flush(s);
		return;
	}
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

	relay_process(s);
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

/* ---- tor going away and coming back ---------------------------------- */

static void
wait_expired_cb(evutil_socket_t fd, short what, void *arg);

/* Start the clock on how long this client waits for tor (tor-wait-ms),
 * unless it runs already. */
static void
arm_wait(session_t *s)
{
	unsigned ms = s->g->limits.tor_wait_ms;
	struct timeval t = { ms / 1000, (suseconds_t)(ms % 1000) * 1000 };

	if (s->wait_timer == NULL &&
	    (s->wait_timer = evtimer_new(s->g->base, wait_expired_cb, s)) ==
	    NULL)
		fatalx("evtimer_new failed");
	if (!evtimer_pending(s->wait_timer, NULL))
		evtimer_add(s->wait_timer, &t);
}

static void
disarm_wait(session_t *s)
{
	if (s->wait_timer != NULL)
		evtimer_del(s->wait_timer);
}

bool
session_may_wait(session_t *s)
{
	if (s->n_waiting >= s->g->limits.tor_wait_cmds) {
		log_info("session %llu: tor is away and %zu commands wait "
		    "already (tor-wait-commands): answered \"%s\"",
		    (unsigned long long)s->id, s->n_waiting, TOR_LOST_REPLY);
		return false;
	}
	s->n_waiting++;
	arm_wait(s);
	return true;
}

/*
 * Answer every command sent to tor and not answered with TOR_LOST_REPLY
 * (torgate's own: nothing), in place, so replies keep the command order.
 * in_data: the reply at the head was cut inside a data block.
 */
static void
fail_forwarded(session_t *s, bool in_data)
{
	for (size_t i = 0; i < s->npending; i++) {
		pending_t *p = &s->ring[(s->ring_head + i) % s->ring_cap];

		if (!p->forwarded)
			continue;
		if (p->flags & P_INTERNAL)
			pending_set_local(s, p, "");
		else
			pending_set_local(s, p, i == 0 && in_data ?
			    ".\r\n" TOR_LOST_REPLY "\r\n" :
			    TOR_LOST_REPLY "\r\n");
		p->flags &= ~(unsigned)(P_INTERNAL | P_RESTRICT);
	}
	s->n_waiting = 0;
}

/*
 * The connection to tor ended (s->ubev is gone) while the client is
 * served. Commands tor had, or may have had, get TOR_LOST_REPLY: whether
 * they took effect cannot be known, so none is sent again. What belonged
 * to the old connection is forgotten; the session waits for tor.
 */
static void
session_tor_lost(session_t *s)
{
	proto_reply_reader_t *r = &s->rreader;
	bool in_reply = r->in_msg && r->code / 100 != 6;
	bool cut_event = r->in_msg && r->code / 100 == 6 &&
	    s->event_mode == EVM_PASS;

	s->away = true;
	s->upstream_paused = false;
	evbuffer_drain(s->uq, evbuffer_get_length(s->uq));
	s->fenced = false;      /* the last fence went to the old tor */
	fail_forwarded(s, in_reply && r->in_data);
	proto_reply_reader_init(&s->rreader, s->g->limits.max_reply_line);
	if (s->event != NULL)
		evbuffer_drain(s->event, evbuffer_get_length(s->event));
	s->event_mode = EVM_DROP;
	owner_forget(s);
	forget_onions(s);
	if (cut_event) {
		/* Part of an event went out already: no honest way to end it
		 * and keep the client's framing. */
		log_warnx("session %llu: tor went away in the middle of an "
		    "event; closing", (unsigned long long)s->id);
		session_close_after_flush(s);
		return;
	}
	if (flush_local(s) < 0)
		return;
	torview_lost(s->g->tor);
	wait_for_tor(s);
}

static void
attach_upstream(session_t *s)
{
	gate_t *g = s->g;

	s->ubev = upstream_take_bev(s->up);
	torview_note_upstream(g->tor, s->up);
	upstream_free(s->up);
	s->up = NULL;
	bufferevent_setcb(s->ubev, upstream_read_cb, upstream_write_cb,
	    upstream_event_cb, s);
	bufferevent_disable(s->ubev, EV_WRITE);
	bufferevent_enable(s->ubev, EV_READ);
}

/*
 * A new connection to tor for a session that lost its own: restore the
 * client's events (torgate's own SETEVENTS, answered before anything
 * else), then send the commands that waited.
 */
static void
session_reattach(session_t *s)
{
	event_mask_t m = s->ev_upstream | s->ev_internal;

	attach_upstream(s);
	s->away = false;
	disarm_wait(s);
	log_info("session %llu: connected to tor again; %zu waiting commands "
	    "sent", (unsigned long long)s->id, s->n_waiting);
	s->n_waiting = 0;
	if (m != 0) {
		size_t n;
		char *list = events_mask_args(m, &n);
		char fence[ROUTER_FENCE_KEY_SIZE];
		char *line;
		pending_t *p;

		/* The first command on the new connection: nothing before it
		 * to fence off, a fence after it (its reply is swallowed). */
		if (command_new_fence(fence) < 0) {
			log_warn("session %llu: getrandom",
			    (unsigned long long)s->id);
			free(list);
			session_free(s);
			return;
		}
		line = xasprintf("SETEVENTS %s\r\nGETINFO %s\r\n", list,
		    fence);
		p = pending_push_front(s);
		evbuffer_prepend(s->uq, line, strlen(line));
		p->forwarded = true;
		p->flags = P_INTERNAL;
		p->cmd = CMD_SETEVENTS;
		router_expect_init(&p->rx, CMD_SETEVENTS, true, list, n, NULL,
		    fence);
		free(line);
		free(list);
	}
	command_process(s);
	session_flush(s);
}

/* Tor answers again: make a new connection. */
static void
tor_back(void *arg)
{
	session_t *s = arg;
	bool ready;

	s->up = torview_connect(s->g->tor, upstream_ready, s, &ready);
	if (s->up == NULL) {
		log_warn("session %llu: cannot connect to tor",
		    (unsigned long long)s->id);
		torview_lost(s->g->tor);
		wait_for_tor(s);
		return;
	}
	if (ready)
		upstream_ready(s->up, true, NULL, s);
}

/* Wait for tor to answer again. A client not yet served is given
 * tor-wait-ms; one that is, waits as long as it takes (its commands are
 * timed one by one, session_may_wait()). */
static void
wait_for_tor(session_t *s)
{
	torview_wait(s->g->tor, &s->waiter, tor_back, s);
	if (s->state != S_OPEN)
		arm_wait(s);
}

/* The client waited tor-wait-ms for tor. */
static void
wait_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	session_t *s = arg;
	unsigned ms = s->g->limits.tor_wait_ms;

	switch (s->state) {
	case S_IDENTIFYING:
	case S_CONNECTING:
	case S_PREAUTH:
		log_warnx("session %llu: tor did not answer within %u ms "
		    "(tor-wait-ms); closing", (unsigned long long)s->id, ms);
		ident_cancel(s->ident);
		s->ident = NULL;
		torview_unwait(s->g->tor, &s->waiter);
		upstream_free(s->up);
		s->up = NULL;
		if (s->state == S_PREAUTH) {
			reply_local(s, P_CLOSE, TOR_LOST_REPLY);
			flush_local(s);
		} else {
			evbuffer_add(s->cq, TOR_LOST_REPLY "\r\n",
			    sizeof(TOR_LOST_REPLY "\r\n") - 1);
			session_close_after_flush(s);
		}
		break;
	case S_OPEN:
		if (!s->away)
			break;
		log_warnx("session %llu: %zu commands waited %u ms for tor "
		    "(tor-wait-ms): answered \"%s\"", (unsigned long long)s->id,
		    s->n_waiting, ms, TOR_LOST_REPLY);
		evbuffer_drain(s->uq, evbuffer_get_length(s->uq));
		fail_forwarded(s, false);
		flush_local(s);
		break;
	case S_CLOSING:
		break;
	}
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
	if (s->state == S_PREAUTH || s->state == S_OPEN)
		session_tor_lost(s);
	session_flush(s);
}

/* ---- setup -------------------------------------------------------------- */

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
set_vars(session_t *s)
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
		if (getsockname(bufferevent_getfd(s->cbev),
		    (struct sockaddr *)&ss, &len) == 0)
			addr_host_port((struct sockaddr *)&ss, len, s->shost,
			    sizeof(s->shost), &port);
		snprintf(s->sport, sizeof(s->sport), "%u", port);
	}
	s->vars.v[TPL_VAR_CLIENT_ADDRESS] = s->host;
	s->vars.v[TPL_VAR_CLIENT_PORT] = s->port;
	s->vars.v[TPL_VAR_SERVER_ADDRESS] = s->shost;
	s->vars.v[TPL_VAR_SERVER_PORT] = s->sport;
}

/*
 * Both halves of the set-up are done -- the client is identified and its
 * upstream connection authenticated -- in whichever order they finished:
 * start reading the client.
 */
static void
session_open(session_t *s)
{
	attach_upstream(s);
	disarm_wait(s);
	owner_start(s);

	s->state = S_PREAUTH;
	bufferevent_enable(s->cbev, EV_READ);
	command_process(s);
	session_flush(s);
}

/* The client is known: choose its profile. */
static void
identified(session_t *s)
{
	gate_t *g = s->g;

	set_vars(s);
	choose_profile(s);
	if (g->mode == MODE_LEARN)
		learn_name(&s->peer, s->listener_profile ? s->listener_profile :
		    s->profile == profile_empty() ? NULL : s->profile->name,
		    s->learn_name, sizeof(s->learn_name));
	log_info("session %llu: client %s on %s, profile %s%s",
	    (unsigned long long)s->id, s->peer.desc, s->listener_text,
	    s->profile->name, s->collision ? " (collision: all denied)" : "");
	s->state = S_CONNECTING;
	if (s->up_ready)
		session_open(s);
}

static void
ident_done(void *arg, const peer_t *peer)
{
	session_t *s = arg;

	s->ident = NULL;
	s->peer = *peer;
	identified(s);
}

static void
upstream_ready(upstream_t *u, bool ok, const char *why, void *arg)
{
	session_t *s = arg;

	if (!ok) {
		/* Tor may be restarting: wait for it (bounded). */
		log_warnx("session %llu: %s", (unsigned long long)s->id, why);
		upstream_free(s->up);
		s->up = NULL;
		torview_lost(s->g->tor);
		wait_for_tor(s);
		return;
	}
	if (s->away) {
		session_reattach(s);
		return;
	}
	disarm_wait(s);
	s->up_ready = true;
	if (s->state == S_CONNECTING)
		session_open(s);
}

/*
 * auth-timeout: a client that has not authenticated this long after
 * connecting is told so and closed; one whose closing answer is still
 * unread that long after is closed at once.
 */
static void
auth_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	session_t *s = arg;
	struct timeval tv = { s->g->limits.auth_timeout, 0 };

	if (s->state == S_OPEN)
		return;
	if (s->state == S_CLOSING) {
		session_free(s);
		return;
	}
	log_warnx("session %llu: client %s did not authenticate within %u "
	    "seconds (auth-timeout); closing", (unsigned long long)s->id,
	    s->peer.desc[0] ? s->peer.desc : s->admit_key.text,
	    s->g->limits.auth_timeout);
	reply_local(s, P_CLOSE, "514 Authentication required (none within "
	    "%u seconds)", s->g->limits.auth_timeout);
	(void)flush_local(s);
	evtimer_add(s->auth_timer, &tv);
	session_flush(s);
}

/* Count the client under its user (admit.h); false, after telling it
 * and logging why, if that user has max-clients-per-user already. */
static bool
admit_client(session_t *s, int fd)
{
	static const char msg[] = "451 torgate: too many connections from "
	    "this user\r\n";
	gate_t *g = s->g;
	unsigned n;

	if (g->admit == NULL)
		g->admit = admit_new();
	admit_key_of(&s->peer, &s->admit_key);
	if (admit_take(g->admit, &s->admit_key, g->limits.max_clients_per_user,
	    &n)) {
		s->admitted = true;
		return true;
	}
	log_warnx("refusing a client on %s: %s has %u connections already "
	    "(max-clients-per-user)", s->listener_text, s->admit_key.text, n);
	if (write(fd, msg, sizeof(msg) - 1) < 0) {
		/* Nothing more to do for it. */
	}
	return false;
}

void
session_start(gate_t *g, int fd, const struct sockaddr *sa, socklen_t salen,
    const listener_info_t *li)
{
	struct timeval tv = { g->limits.auth_timeout, 0 };
	session_t *s;
	bool ready = false;

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
	s->state = S_IDENTIFYING;
	TAILQ_INSERT_TAIL(&g->sessions, s, link);
	g->n_sessions++;
	s->set = profile_set_ref(g->profiles);
	s->profile = profile_empty();
	if (li->profile != NULL)
		s->listener_profile = xstrdup(li->profile);
	s->listener_text = xstrdup(li->text);
	proto_cmd_reader_init(&s->creader, g->limits.max_preauth_line,
	    g->limits.max_body);
	s->creader.no_multiline = true;
	proto_reply_reader_init(&s->rreader, g->limits.max_reply_line);

	s->cbev = bufferevent_socket_new(g->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->cbev == NULL) {
		close(fd);
		session_free(s);
		return;
	}
	bufferevent_setcb(s->cbev, client_read_cb, client_write_cb,
	    client_event_cb, s);
	/* The client is read once it is identified and tor is ready; until
	 * then its bytes wait in the kernel. Writes go out directly
	 * (flush_bev). */
	bufferevent_disable(s->cbev, EV_READ | EV_WRITE);

	if ((s->auth_timer = evtimer_new(g->base, auth_timeout_cb, s)) ==
	    NULL)
		fatalx("evtimer_new failed");
	evtimer_add(s->auth_timer, &tv);

	/* Both halves of the set-up run at once: identification, which may
	 * wait for the identifying process while other clients are served
	 * (what the kernel says at once is in s->peer on return, enough to
	 * count the client under its user before tor is asked for
	 * anything) ... */
	s->ident = ident_start(g->ident, fd, sa, salen,
	    g->mode == MODE_LEARN ||
	    (li->profile == NULL && needs_program(g->profiles)), &s->peer,
	    ident_done, s);
	if (!admit_client(s, fd)) {
		session_free(s);
		return;
	}
	/* ... and the upstream connection (a spare, if one is ready,
	 * serves the client at once). */
	if (!torview_is_up(g->tor)) {
		/* Tor is away: wait for it, bounded (tor-wait-ms). */
		wait_for_tor(s);
	} else if ((s->up = torview_connect(g->tor, upstream_ready, s,
	    &ready)) == NULL) {
		log_warn("session %llu: cannot connect to tor",
		    (unsigned long long)s->id);
		torview_lost(g->tor);
		wait_for_tor(s);
	}
	s->up_ready = s->up != NULL && ready;
	if (s->ident == NULL)
		identified(s);
}

void
session_free_all(gate_t *g)
{
	session_t *s;

	while ((s = TAILQ_FIRST(&g->sessions)) != NULL)
		session_free(s);
	reap_cb(-1, 0, g);
	admit_free(g->admit);
	g->admit = NULL;
	if (g->reaper != NULL)
		event_free(g->reaper);
	g->reaper = NULL;
}

bool
session_tables_ok(void)
{
	return builtin_table_complete();
}
