/*
 * relay.c: what tor sends, back to the client. Lines are framed by
 * proto.c's reply reader. A reply belongs to the command at the head of
 * the pending queue, line by line as router.c decides (a checked
 * command's reply between its fences, in its shape; anything else ends
 * the session); its lines pass unchanged, or are rewritten
 * (rewrite.c) or filtered under the rule that allowed the command, and
 * what the reply teaches torgate is one row per command in `teach[]`.
 * Events (650) may come between any two replies: each is dropped, passed
 * line by line, or gathered whole (bounded) to be judged.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "redact.h"
#include "rewrite.h"
#include "session_impl.h"
#include "util.h"

/* ---- what a reply teaches ------------------------------------------------ */

typedef void (*teach_fn)(session_t *s, const pending_t *p,
    const proto_reply_line_t *line, const char *text);

/* ADD_ONION: "250-ServiceID=..." -- the service is this profile's (and,
 * if detached, kept in the state file). */
static void
teach_add_onion(session_t *s, const pending_t *p,
    const proto_reply_line_t *line, const char *text)
{
	static const char sid[] = "ServiceID=";
	const char *v;
	size_t n;

	if (line->is_data || line->code != 250 ||
	    line->text_len <= 4 + sizeof(sid) - 1 ||
	    memcmp(text + 4, sid, sizeof(sid) - 1) != 0)
		return;
	v = text + 4 + sizeof(sid) - 1;
	n = line->text_len - 4 - (sizeof(sid) - 1);
	if (!torview_onion_added(s->g->tor, s->profile->name, v, n,
	    (p->flags & P_DETACH) != 0, s->id))
		log_warnx("session %llu: too many onion services to remember; "
		    "this one cannot be deleted through torgate",
		    (unsigned long long)s->id);
	else if (!(p->flags & P_DETACH))
		session_note_onion(s, v, n);
}

/* DEL_ONION: "250 OK" -- the service is gone. */
static void
teach_del_onion(session_t *s, const pending_t *p,
    const proto_reply_line_t *line, const char *text)
{
	if (line->ends_msg && line->code == 250 && p->sid != NULL)
		torview_onion_deleted(s->g->tor, p->sid, strlen(p->sid));
}

/* SETEVENTS: "250 OK" -- the client's set is what it asked for, and tor's
 * is what to ask a new tor for should this one go away. */
static void
teach_setevents(session_t *s, const pending_t *p,
    const proto_reply_line_t *line, const char *text)
{
	if (!line->ends_msg)
		return;
	if (line->code == 250 && !(p->flags & P_INTERNAL)) {
		s->ev_client = p->events;
		s->ev_upstream = p->up_events;
	} else if (line->code != 250 && (p->flags & P_INTERNAL)) {
		log_warnx("session %llu: tor refused torgate's own SETEVENTS "
		    "(%.*s); the client's events may be missing",
		    (unsigned long long)s->id, (int)line->text_len, text);
	}
}

/* SETCONF, RESETCONF, LOADCONF that may change tor's listeners: the
 * reply is in, so tor has acted on the command (whatever it answered):
 * read its listeners again. */
static void
teach_conf(session_t *s, const pending_t *p, const proto_reply_line_t *line,
    const char *text)
{
	if (line->ends_msg && (p->flags & P_LISTENERS))
		torview_listeners_changed(s->g->tor);
}

static const teach_fn teach[CMD_COUNT] = {
	[CMD_ADD_ONION] = teach_add_onion,
	[CMD_DEL_ONION] = teach_del_onion,
	[CMD_LOADCONF] = teach_conf,
	[CMD_RESETCONF] = teach_conf,
	[CMD_SETCONF] = teach_conf,
	[CMD_SETEVENTS] = teach_setevents,
};

/* ---- replies ------------------------------------------------------------- */

/* Are the lines of p's reply passed on exactly as tor sent them, with
 * nothing to learn from them? */
static bool
plain_reply(const pending_t *p)
{
	return (p->rule == NULL || p->rule->response.n == 0) &&
	    p->n_more == 0 && !(p->flags & (P_RESTRICT | P_INTERNAL)) &&
	    teach[p->cmd] == NULL;
}

bool
relay_reply_checked(const pending_t *p)
{
	return !plain_reply(p);
}

static void
log_rewrite(session_t *s, const char *n, size_t nlen)
{
	char *r;

	if (!log_is_debug())
		return;
	r = redact_reply(n, nlen);
	log_debug("session %llu: reply line rewritten to: %s",
	    (unsigned long long)s->id, r);
	free(r);
}

/* One reply line to the command at the head of the queue. */
static void
emit_reply_line(session_t *s, pending_t *p, const proto_reply_line_t *line,
    struct evbuffer *in, struct evbuffer *out)
{
	size_t nlen;
	const char *text;
	char *n;

	if (!p->rx.checked) {
		evbuffer_remove_buffer(in, out, line->len);
		return;
	}
	text = (const char *)evbuffer_pullup(in, (ssize_t)line->len);
	if (teach[p->cmd] != NULL)
		teach[p->cmd](s, p, line, text);
	if (p->flags & P_INTERNAL) {
		evbuffer_drain(in, line->len);
		return;
	}
	if (p->flags & P_RESTRICT) {
		bool empty;
		if (!rewrite_restrict_status(s->owned, &s->data_key, line, text,
		    &empty)) {
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
		n = rewrite_reply_line(p->rule, p->more, p->n_more, text,
		    line->text_len, &s->vars, &nlen);
	if (n == NULL) {
		evbuffer_remove_buffer(in, out, line->len);
		return;
	}
	rewrite_add_framed(out, line, text, n, nlen);
	log_rewrite(s, n, nlen);
	memwipe(n, nlen);       /* it may be a "PrivateKey=" line */
	free(n);
	evbuffer_drain(in, line->len);
}

/* ---- events -------------------------------------------------------------- */

/*
 * How to handle an event as its lines arrive: drop it (the client did not
 * ask for it, or it is another client's onion service's), pass it line by
 * line (nothing to judge), or gather it whole (bounded) to filter or
 * rewrite it. first: the event's first line, without its CRLF.
 */
static event_mode_t
event_mode(session_t *s, int id, const char *first, size_t len)
{
	const event_rule_t *rule;
	bool restricted = s->owned != NULL &&
	    (id == TEV_STREAM || id == TEV_CIRC);

	if (id < 0 || (!(s->ev_client & EVMASK(id)) && !restricted))
		return EVM_DROP;
	/* restrict-onion-events: whose service it is, the first line says;
	 * the rest of a HS_DESC_CONTENT follows that verdict. */
	if (s->profile->restrict_onion_events &&
	    (id == TEV_HS_DESC || id == TEV_HS_DESC_CONTENT) &&
	    !events_onion_is_own(owner_is_own_onion, s, first, len))
		return EVM_DROP;
	rule = profile_find_event(s->profile, event_name((event_id_t)id),
	    strlen(event_name((event_id_t)id)));
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
		switch (events_restrict(s->owned, owner_is_own_source, s, text,
		    l1, &circ)) {
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
	rule = profile_find_event(s->profile, event_name((event_id_t)id),
	    strlen(event_name((event_id_t)id)));
	if (rule == NULL || rule->response.n == 0) {
		evbuffer_add_buffer(out, ev);
		return;
	}
	rewrite_event(rule, ev, out, s->g->limits.max_reply_line, &s->vars,
	    (unsigned long long)s->id);
	return;
drop:
	evbuffer_drain(ev, evbuffer_get_length(ev));
}

/* One line of an event. */
static void
relay_event_line(session_t *s, const proto_reply_line_t *line,
    struct evbuffer *in, struct evbuffer *out)
{
	if (line->starts_msg) {
		const char *t = (const char *)evbuffer_pullup(in,
		    (ssize_t)line->len);
		s->event_id = event_of_line(t, line->text_len);
		s->event_mode = event_mode(s, s->event_id, t, line->text_len);
	}
	switch (s->event_mode) {
	case EVM_DROP:
		evbuffer_drain(in, line->len);
		break;
	case EVM_PASS:
		evbuffer_remove_buffer(in, out, line->len);
		break;
	case EVM_GATHER:
		if (evbuffer_get_length(s->event) + line->len >
		    s->g->limits.max_reply_line) {
			log_warnx("session %llu: event %s longer than %zu "
			    "bytes; dropped", (unsigned long long)s->id,
			    event_name((event_id_t)s->event_id),
			    s->g->limits.max_reply_line);
			evbuffer_drain(s->event, evbuffer_get_length(s->event));
			s->event_mode = EVM_DROP;
			evbuffer_drain(in, line->len);
			break;
		}
		evbuffer_remove_buffer(in, s->event, line->len);
		if (line->ends_msg)
			deliver_event(s, out);
		break;
	}
}

/* ---- the relay loop ------------------------------------------------------ */

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
 * Lines of replies that pass unchanged are not moved one by one: they are
 * only classified where they lie (proto_reply_peek_at) and moved to the
 * client in one run (*pass bytes) before anything else is written, so
 * order is kept. With --debug every line is logged, so runs are not
 * gathered then.
 */
static void
move_run(struct evbuffer *in, struct evbuffer *out, size_t *pass)
{
	if (*pass > 0)
		evbuffer_remove_buffer(in, out, *pass);
	*pass = 0;
}

/*
 * tor's replies no longer match the commands they are routed to (or tor
 * sent what is not a reply): nothing more from tor can be given to anyone.
 * Tell the client, drop what tor sent, and end the session.
 */
static void
desync(session_t *s, struct evbuffer *in, const char *why)
{
	log_warnx("session %llu: client %s, profile %s: torgate lost track of "
	    "tor's replies (%s); closing", (unsigned long long)s->id,
	    s->peer.desc, s->profile->name, why);
	evbuffer_drain(in, evbuffer_get_length(in));
	evbuffer_add_printf(s->cq, "551 torgate lost track of tor's replies; "
	    "closing\r\n");
	session_close_after_flush(s);
}

void
relay_process(session_t *s)
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
		const char *text = NULL, *why;
		route_t route;
		bool done;

		if (session_to_client(s) + pass > s->g->limits.max_output) {
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
			desync(s, in, proto_err_str(err));
			return;
		}
		if (line.is_event) {
			move_run(in, out, &pass);
			log_reply_line(s, in, &line);
			relay_event_line(s, &line, in, out);
			continue;
		}
		head = pending_head(s);
		if (head == NULL || !head->forwarded) {
			move_run(in, out, &pass);
			desync(s, in, "a reply to no command");
			return;
		}
		if (head->rx.checked) {
			/* Checked replies are looked at whole, never moved in
			 * runs. */
			move_run(in, out, &pass);
			text = (const char *)evbuffer_pullup(in,
			    (ssize_t)line.len);
		}
		route = router_line(&head->rx, &line, text, &done, &why);
		switch (route) {
		case ROUTE_DESYNC:
			move_run(in, out, &pass);
			desync(s, in, why);
			return;
		case ROUTE_SWALLOW:
			log_reply_line(s, in, &line);
			evbuffer_drain(in, line.len);
			break;
		case ROUTE_PASS:
			if (batch && !head->rx.checked) {
				pass += line.len;
			} else {
				move_run(in, out, &pass);
				log_reply_line(s, in, &line);
				emit_reply_line(s, head, &line, in, out);
			}
			break;
		}
		if (done) {
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
