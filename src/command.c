/*
 * command.c: the command path. Bytes from the client are framed into
 * commands (proto.c); each is answered by torgate itself (builtin.c) or
 * judged under the client's profile (policy.c) and, if allowed, sent to
 * tor with a pending entry that says how to read its reply (relay.c).
 *
 * What a command notes when it is sent is one row per command in
 * `on_send[]`; nothing here switches on the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "kvline.h"
#include "learn.h"
#include "log.h"
#include "redact.h"
#include "session_impl.h"
#include "util.h"

/* ---- what a command notes when it is sent ------------------------------ */

typedef void (*on_send_fn)(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v);

/* DEL_ONION: remember the service, to forget its owner once tor agrees. */
static void
send_del_onion(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	p->sid = v->sid;
	v->sid = NULL;
}

/* GETINFO circuit-status / stream-status: a restricted client sees only
 * its own. */
static void
send_getinfo(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	words_t w;

	if (s->owned == NULL)
		return;
	words_split(cmd->args, cmd->args_len, &w);
	for (size_t i = 0; i < w.n; i++)
		if (strcmp(w.v[i], "circuit-status") == 0 ||
		    strcmp(w.v[i], "stream-status") == 0)
			p->flags |= P_RESTRICT;
	words_clear(&w);
}

static void
send_resolve(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	if (s->owned != NULL)
		owner_note_resolve(s, cmd);
}

/* SETEVENTS: the set the client will have once tor agrees. */
static void
send_setevents(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	p->events = v->events;
}

static const on_send_fn on_send[CMD_COUNT] = {
	[CMD_DEL_ONION] = send_del_onion,
	[CMD_GETINFO] = send_getinfo,
	[CMD_RESOLVE] = send_resolve,
	[CMD_SETEVENTS] = send_setevents,
};

/* ---- sending ------------------------------------------------------------- */

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

pending_t *
command_forward(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd,
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

/*
 * A command the profile denies. Enforcing: log it and answer 510; return
 * false. In complain and learn modes it goes to tor anyway, as the client
 * would have it without torgate: log what would be denied and return true.
 */
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

/*
 * Complain and learn modes: a denied command goes to tor as the client
 * sent it, unless its row in `unchecked[]` says how to send it as if the
 * profile allowed everything (SETEVENTS keeps the events torgate needs
 * and records the client's set).
 */
typedef void (*unchecked_fn)(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd);

/* A profile that allows every event tor has, suppressing none. */
static const profile_t *
all_events(void)
{
	static event_rule_t rules[TEV_COUNT];
	static profile_t all;

	if (all.events == NULL) {
		all = *profile_empty();
		for (int i = 0; i < TEV_COUNT; i++)
			rules[i].name = (char *)event_name((event_id_t)i);
		all.events = rules;
		all.n_events = TEV_COUNT;
	}
	return &all;
}

static void
unchecked_setevents(session_t *s, const cmd_def_t *def,
    const proto_cmd_t *cmd)
{
	setevents_t se;
	pending_t *p;

	if (events_setevents(all_events(), cmd->args, cmd->args_len,
	    s->ev_internal, &se) < 0) {
		/* An event tor does not know either: tor's own answer. */
		reply_local(s, 0, "552 Unrecognized event \"%s\"", se.bad);
		return;
	}
	p = command_forward(s, def, cmd, se.upstream_args, se.upstream_len);
	p->events = se.client;
	free(se.upstream_args);
}

static const unchecked_fn unchecked[CMD_COUNT] = {
	[CMD_SETEVENTS] = unchecked_setevents,
};

static void
forward_unchecked(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	if (unchecked[def->id] != NULL)
		unchecked[def->id](s, def, cmd);
	else
		command_forward(s, def, cmd, NULL, 0);
}

static bool
owns_onion_cb(void *arg, const char *sid, size_t len)
{
	session_t *s = arg;
	return onions_owned(torview_onions(s->g->tor), s->profile->name, sid,
	    len);
}

/* Handle one command; def is its table row (NULL: unknown keyword). */
static void
handle_command(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	policy_ctx_t ctx = {
		.vars = &s->vars, .guard = torview_guard(s->g->tor),
		.owns_onion = owns_onion_cb, .arg = s,
		.internal_events = s->ev_internal,
	};
	verdict_t v;
	pending_t *p;

	s->n_cmds++;
	log_command(s, cmd);
	if (s->state == S_PREAUTH && !builtin_allowed_before_auth(s, def, cmd)) {
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
	if (builtin_answer(s, def, cmd))
		return;
	if (s->g->mode == MODE_LEARN)
		learn_command(s->g->learn, s->learn_name, &s->peer, def,
		    cmd->args, cmd->args_len);
	if (s->collision) {
		if (deny(s, cmd, "several profiles match this client"))
			forward_unchecked(s, def, cmd);
		return;
	}
	policy_check(s->profile, def, cmd, &ctx, &v);
	if (v.kind != VERDICT_FORWARD) {
		if (deny(s, cmd, v.why))
			forward_unchecked(s, def, cmd);
		verdict_clear(&v);
		return;
	}
	p = command_forward(s, def, cmd, v.args, v.args_len);
	p->rule = v.rule;
	p->more = v.more;
	p->n_more = v.n_more;
	v.more = NULL;
	if (on_send[def->id] != NULL)
		on_send[def->id](s, p, cmd, &v);
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

/*
 * Stop reading the client while too many of its commands are in flight,
 * while tor has not taken what was sent to it, or while the client has
 * not read its answers: every byte queued for it counts, tor's replies
 * and torgate's own answers alike, so a client that writes and never
 * reads holds at most max_output bytes (plus one answer) of each kind.
 * Its further commands wait in the kernel.
 */
bool
command_must_pause(session_t *s)
{
	return s->npending >= s->g->limits.max_pending ||
	    session_to_tor(s) > s->g->limits.max_output ||
	    session_client_backlog(s) > s->g->limits.max_output;
}

void
command_process(session_t *s)
{
	struct evbuffer *in = bufferevent_get_input(s->cbev);

	while ((s->state == S_PREAUTH || s->state == S_OPEN) &&
	    !s->close_queued) {
		proto_cmd_t cmd;
		proto_err_t err;
		proto_status_t r;

		if (command_must_pause(s)) {
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
			if (def != NULL && (def->flags & CMD_F_SECRET)) {
				memwipe(cmd.line, cmd.line_len);
				if (cmd.body != NULL)
					memwipe(cmd.body, cmd.body_len);
			}
			proto_cmd_clear(&cmd);
		}
		if (flush_local(s) < 0)
			return;
	}
	if (s->client_paused && !s->close_queued &&
	    (s->state == S_PREAUTH || s->state == S_OPEN) &&
	    !command_must_pause(s)) {
		s->client_paused = false;
		bufferevent_enable(s->cbev, EV_READ);
	}
}
