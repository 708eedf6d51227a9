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

/* The arguments tor will receive: the profile's rewrite if there is one,
 * else the client's. What torgate learns or filters follows these. */
static const char *
sent_args(const proto_cmd_t *cmd, const verdict_t *v, size_t *len)
{
	if (v->args != NULL) {
		*len = v->args_len;
		return v->args;
	}
	*len = cmd->args_len;
	return cmd->args;
}

/* ADD_ONION: will the service outlive its connection (Flags=Detach)? Read
 * from what tor receives (the rewritten arguments, if any). */
static void
send_add_onion(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	size_t len;
	const char *args = sent_args(cmd, v, &len);

	if (onions_args_detach(args, len))
		p->flags |= P_DETACH;
}

/* DEL_ONION: remember the service, to forget its owner once tor agrees. */
static void
send_del_onion(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	p->sid = v->sid;
	v->sid = NULL;
}

/* GETINFO circuit-status / stream-status (tor's keys are case-sensitive):
 * a restricted client sees only its own, also when the profile's rewrite
 * asked for them. */
static void
send_getinfo(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	words_t w;
	size_t len;
	const char *args = sent_args(cmd, v, &len);

	if (s->owned == NULL)
		return;
	words_split(args, len, &w);
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
	size_t len;
	const char *args = sent_args(cmd, v, &len);

	if (s->owned != NULL)
		owner_note_resolve(s, args, len);
}

/* HSFETCH: with restrict-onion-events, the client may see that fetch's
 * HS_DESC events. */
static void
send_hsfetch(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	size_t len;
	const char *args = sent_args(cmd, v, &len);

	owner_note_hsfetch(s, args, len);
}

/* SETEVENTS: the set the client will have once tor agrees, and the one
 * tor will have (to restore on a new tor). */
static void
send_setevents(session_t *s, pending_t *p, const proto_cmd_t *cmd,
    verdict_t *v)
{
	p->events = v->events;
	if (v->args != NULL)
		p->up_events = events_mask_of_args(v->args, v->args_len);
}

/*
 * SETCONF, RESETCONF, LOADCONF: one that may change tor's listeners makes
 * the guard's list of them stale as it is sent, not once tor agrees: tor
 * may act on it whatever torgate sees of the reply (a connection lost
 * before the reply does not mean tor did not apply it), and a command
 * pipelined after it must already be judged without the old list. Its
 * reply starts reading them again (relay.c).
 */
static void
send_conf(session_t *s, pending_t *p, const proto_cmd_t *cmd, verdict_t *v)
{
	size_t len;
	const char *args = sent_args(cmd, v, &len);

	if (!p->forwarded)
		return;         /* answered in its place: never sent */
	if (p->cmd != CMD_LOADCONF && !guard_conf_changes_listeners(args, len))
		return;
	p->flags |= P_LISTENERS;
	torview_listeners_changing(s->g->tor);
}

static const on_send_fn on_send[CMD_COUNT] = {
	[CMD_ADD_ONION] = send_add_onion,
	[CMD_DEL_ONION] = send_del_onion,
	[CMD_HSFETCH] = send_hsfetch,
	[CMD_GETINFO] = send_getinfo,
	[CMD_LOADCONF] = send_conf,
	[CMD_RESETCONF] = send_conf,
	[CMD_RESOLVE] = send_resolve,
	[CMD_SETCONF] = send_conf,
	[CMD_SETEVENTS] = send_setevents,
};

/* ---- sending ------------------------------------------------------------- */

/*
 * While tor is away, commands whose verdict rests on what torgate knew of
 * the old tor -- its control listeners (the guard) and the onion services'
 * owners -- do not wait for the new one: they get TOR_LOST_REPLY at once.
 */
static const bool judged_on_tor[CMD_COUNT] = {
	[CMD_ADD_ONION] = true,
	[CMD_DEL_ONION] = true,
	[CMD_LOADCONF] = true,
	[CMD_RESETCONF] = true,
	[CMD_SETCONF] = true,
};

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
command_stage(session_t *s, const cmd_def_t *def)
{
	pending_t *p = pending_push(s);

	p->cmd = def->id;
	if (s->away && (judged_on_tor[def->id] || !session_may_wait(s))) {
		/* An answer in its place; command_send() sends nothing. */
		if (judged_on_tor[def->id])
			log_info("session %llu: %s while tor is away: answered "
			    "\"%s\"", (unsigned long long)s->id, def->name,
			    TOR_LOST_REPLY);
		pending_set_local(s, p, TOR_LOST_REPLY "\r\n");
		return p;
	}
	p->forwarded = true;
	return p;
}

/* Write a fence (router.h) to tor and remember it as the last thing sent.
 * -1 if there is no randomness for its key. */
int
command_new_fence(char key[ROUTER_FENCE_KEY_SIZE])
{
	uint8_t rnd[ROUTER_FENCE_RANDOM];

	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	router_fence_key(rnd, key);
	return 0;
}

static int
send_fence(session_t *s)
{
	if (command_new_fence(s->fence) < 0)
		return -1;
	evbuffer_add_printf(s->uq, "GETINFO %s\r\n", s->fence);
	s->fenced = true;
	return 0;
}

/* The command's bytes, as the client sent them or with new arguments. */
static void
send_bytes(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd,
    const char *args, size_t args_len)
{
	struct evbuffer *out = s->uq;

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
}

/*
 * A command whose reply torgate checks goes between two fences, written
 * with it in one go (no round trip): the one before is left out when the
 * last thing sent was already a fence. Plain commands are pipelined as
 * they come. If no fence can be made, the command is not sent: it is
 * answered 551 in its place.
 */
void
command_send(session_t *s, pending_t *p, const cmd_def_t *def,
    const proto_cmd_t *cmd, const char *args, size_t args_len)
{
	const char *a = args != NULL ? args : cmd->args;
	size_t alen = args != NULL ? args_len : cmd->args_len;
	char fence_in[ROUTER_FENCE_KEY_SIZE];
	bool checked;

	if (!p->forwarded)
		return;         /* answered in its place: tor is away */
	checked = relay_reply_checked(p);
	if (!checked) {
		router_expect_init(&p->rx, def->id, false, a, alen, NULL, NULL);
		send_bytes(s, def, cmd, args, args_len);
		s->fenced = false;
		return;
	}
	fence_in[0] = '\0';
	if (!s->fenced) {
		if (send_fence(s) < 0)
			goto fail;
		memcpy(fence_in, s->fence, sizeof(fence_in));
	}
	send_bytes(s, def, cmd, args, args_len);
	if (send_fence(s) < 0) {
		/* The command is on its way: nothing can be trusted after
		 * it. */
		log_warn("session %llu: getrandom", (unsigned long long)s->id);
		s->fenced = false;
		router_expect_init(&p->rx, def->id, true, a, alen,
		    fence_in[0] ? fence_in : NULL, "");
		return;
	}
	router_expect_init(&p->rx, def->id, true, a, alen,
	    fence_in[0] ? fence_in : NULL, s->fence);
	return;
fail:
	log_warn("session %llu: getrandom", (unsigned long long)s->id);
	p->flags = 0;
	pending_set_local(s, p, "551 Internal error\r\n");
}

/* One line per verdict, as deny() writes for the others: the profile,
 * the verdict, the command (secrets redacted) and the client. */
static void
log_allowed(session_t *s, const proto_cmd_t *cmd, bool rewritten)
{
	char *r = redact_command(cmd->line, cmd->line_len);

	log_info("session %llu: profile %s: allowed%s \"%s\"; client %s",
	    (unsigned long long)s->id, s->profile->name,
	    rewritten ? " (rewritten)" : "", r, s->peer.desc);
	free(r);
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
	log_info("session %llu: profile %s: %s \"%s\": %s; client %s",
	    (unsigned long long)s->id, s->profile->name,
	    pass ? "would deny" : "denied", r, why, s->peer.desc);
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
	p = command_stage(s, def);
	p->events = se.client;
	p->up_events = se.upstream;
	command_send(s, p, def, cmd, se.upstream_args, se.upstream_len);
	free(se.upstream_args);
}

static const unchecked_fn unchecked[CMD_COUNT] = {
	[CMD_SETEVENTS] = unchecked_setevents,
};

/*
 * Forms of commands tor answers twice or never (router.h) are answered
 * here instead of reaching tor; true if this is one.
 */
static bool
misreplied(session_t *s, const cmd_def_t *def, const char *args,
    size_t args_len)
{
	const char *answer = router_tor_misreplies(def->id, args, args_len);

	if (answer == NULL)
		return false;
	log_info("session %llu: profile %s: %s not sent: tor answers this "
	    "form twice or never; answered \"%s\"", (unsigned long long)s->id,
	    s->profile->name, def->name, answer);
	reply_local(s, 0, "%s", answer);
	return true;
}

static void
forward_unchecked(session_t *s, const cmd_def_t *def, const proto_cmd_t *cmd)
{
	if (unchecked[def->id] != NULL)
		unchecked[def->id](s, def, cmd);
	else if (!misreplied(s, def, cmd->args, cmd->args_len))
		command_send(s, command_stage(s, def), def, cmd, NULL, 0);
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
	if (misreplied(s, def, v.args != NULL ? v.args : cmd->args,
	    v.args != NULL ? v.args_len : cmd->args_len)) {
		verdict_clear(&v);
		return;
	}
	log_allowed(s, cmd, v.args != NULL);
	p = command_stage(s, def);
	p->rule = v.rule;
	p->more = v.more;
	p->n_more = v.n_more;
	v.more = NULL;
	if (on_send[def->id] != NULL)
		on_send[def->id](s, p, cmd, &v);
	command_send(s, p, def, cmd, v.args, v.args_len);
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
 * while tor has not taken what was sent to it, while the client has not
 * read its answers (every byte queued for it counts, tor's replies and
 * torgate's own answers alike, so a client that writes and never reads
 * holds at most max_output bytes, plus one answer, of each kind), or,
 * while tor is away, before authentication (the answers then depend on
 * the new tor). Its further commands wait in the kernel.
 */
bool
command_must_pause(session_t *s)
{
	return s->npending >= s->g->limits.max_pending ||
	    session_to_tor(s) > s->g->limits.max_output ||
	    session_client_backlog(s) > s->g->limits.max_output ||
	    (s->away && s->state == S_PREAUTH);
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
		/* After the client's EOF there is nothing more to read:
		 * what it sent is already in the buffer. */
		if (!s->client_eof)
			bufferevent_enable(s->cbev, EV_READ);
	}
}
