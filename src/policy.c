/*
 * policy.c: verdicts and profile choice. See policy.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "events.h"
#include "kvline.h"
#include "policy.h"
#include "torrc.h"
#include "util.h"

/* Build the subject of a multi-line command: first-line arguments, "\n",
 * and the data lines with dot-escapes and CRLFs removed, joined by "\n". */
static char *
multiline_subject(const proto_cmd_t *cmd, size_t *lenp)
{
	char *s = xmalloc(cmd->args_len + 1 + cmd->body_len + 1), *p = s;
	const char *b = cmd->body ? cmd->body : "";
	const char *end = b + (cmd->body ? cmd->body_len : 0);

	memcpy(p, cmd->args, cmd->args_len);
	p += cmd->args_len;
	while (b < end) {
		const char *eol = memchr(b, '\n', (size_t)(end - b));
		size_t n = eol ? (size_t)(eol - b) : (size_t)(end - b);
		*p++ = '\n';
		if (n > 0 && b[n - 1] == '\r')
			n--;
		if (n > 0 && b[0] == '.') {
			b++;
			n--;
		}
		memcpy(p, b, n);
		p += n;
		b = eol ? eol + 1 : end;
	}
	*p = '\0';
	*lenp = (size_t)(p - s);
	return s;
}

/*
 * The first rule whose pattern matches. A pattern that gives up (regex.h:
 * a match limit) sets *limit and ends the search with NULL: a later rule
 * must not allow what an earlier one could not decide.
 */
static const cmd_rule_t *
match_rules(const cmd_rules_t *rules, const char *subj, size_t len,
    regex_match_t *m, bool *limit)
{
	for (size_t i = 0; i < rules->n; i++) {
		regex_result_t r = regex_exec(rules->v[i].re, subj, len, m);
		if (r == REGEX_MATCH)
			return &rules->v[i];
		if (r == REGEX_LIMIT) {
			*limit = true;
			return NULL;
		}
	}
	return NULL;
}

#define LIMIT_WHY "a pattern hit the regex match limit"

/* Match the whole arguments, then without trailing blanks. */
static const cmd_rule_t *
match_args(const cmd_rules_t *rules, const char *subj, size_t len,
    regex_match_t *m, bool *limit)
{
	const cmd_rule_t *rule = match_rules(rules, subj, len, m, limit);
	size_t trimmed = len;

	if (rule != NULL || *limit)
		return rule;
	while (trimmed > 0 &&
	    (subj[trimmed - 1] == ' ' || subj[trimmed - 1] == '\t'))
		trimmed--;
	return trimmed != len ? match_rules(rules, subj, trimmed, m, limit) :
	    NULL;
}

/* Free rewritten arguments, wiped first: they may hold what the client
 * sent with a secret in it (ADD_ONION's key, rebuilt by a replacement). */
static void
free_args(verdict_t *v)
{
	if (v->args != NULL)
		memwipe(v->args, v->args_len);
	FREE(v->args);
	v->args_len = 0;
}

static void
deny_why(verdict_t *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
deny_why(verdict_t *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->whybuf, sizeof(v->whybuf), fmt, ap);
	va_end(ap);
	v->why = v->whybuf;
	v->kind = VERDICT_DENY;
}

static void
add_more(verdict_t *v, const cmd_rule_t *r)
{
	if (r->response.n == 0)
		return;
	v->more = xreallocarray(v->more, v->n_more + 1, sizeof(*v->more));
	v->more[v->n_more++] = r;
}

/* The profile's `confs` entry for option key, as tor names options (case,
 * tor's aliases); a prefix of a name is never the option. */
static const conf_rule_t *
find_conf(const profile_t *p, const char *key)
{
	for (size_t i = 0; i < p->n_confs; i++)
		if (torrc_same_option(key, p->confs[i].key))
			return &p->confs[i];
	return NULL;
}

/* Does value (len bytes; NULL or empty: a reset) pass conf rule c?
 * REGEX_LIMIT: a pattern could not decide (the caller denies). */
static regex_result_t
conf_value_ok(const conf_rule_t *c, const char *value, size_t len)
{
	regex_result_t r = REGEX_NOMATCH;

	if (value == NULL || len == 0)
		return c->resettable ? REGEX_MATCH : REGEX_NOMATCH;
	for (size_t j = 0; j < c->n_values && r == REGEX_NOMATCH; j++)
		r = regex_exec(c->values[j], value, len, NULL);
	return r;
}

/*
 * GETINFO/GETCONF, key by key: every key must be allowed on its own. Keys
 * whose rule has a replacement are replaced one by one, and the arguments
 * are rebuilt.
 */
static bool
check_keys(const profile_t *p, const cmd_def_t *def, const char *args,
    size_t len, const policy_ctx_t *ctx, verdict_t *v, size_t min_keys,
    bool confs)
{
	const cmd_rules_t *rules = &p->cmds[def->id];
	words_t w;
	struct evbuffer *out = NULL;
	bool ok = false, rewritten = false;

	words_split(args, len, &w);
	if (w.n == 0 || w.n < min_keys)
		goto done;
	out = evbuffer_new();
	if (out == NULL)
		abort();
	for (size_t i = 0; i < w.n; i++) {
		regex_match_t m;
		size_t klen = strlen(w.v[i]);
		bool limit = false;
		const cmd_rule_t *r = match_rules(rules, w.v[i], klen, &m,
		    &limit);
		if (i > 0)
			evbuffer_add(out, " ", 1);
		if (limit) {
			deny_why(v, "key '%.64s': " LIMIT_WHY, w.v[i]);
			goto done;
		}
		if (r == NULL) {
			if (confs && find_conf(p, w.v[i]) != NULL) {
				evbuffer_add(out, w.v[i], klen);
				continue;
			}
			deny_why(v, "key '%.64s' is not allowed", w.v[i]);
			goto done;
		}
		if (r->replacement != NULL) {
			size_t n;
			char *x = template_expand(r->replacement, &m,
			    ctx->vars, &n);
			evbuffer_add(out, x, n);
			free(x);
			rewritten = true;
		} else {
			evbuffer_add(out, w.v[i], klen);
		}
		add_more(v, r);
	}
	if (rewritten) {
		v->args_len = evbuffer_get_length(out);
		v->args = xmalloc(v->args_len + 1);
		evbuffer_remove(out, v->args, v->args_len);
		v->args[v->args_len] = '\0';
	}
	ok = true;
done:
	if (out != NULL)
		evbuffer_free(out);
	words_clear(&w);
	return ok;
}

/* SETCONF/RESETCONF item by item against `confs`. */
static bool
check_confs(const profile_t *p, const char *args, size_t len, verdict_t *v)
{
	kvlist_t kv;
	bool ok = false;

	if (p->n_confs == 0)
		return false;
	if (kvline_parse(args, len, &kv) < 0) {
		deny_why(v, "arguments tor would not parse");
		return false;
	}
	if (kv.n == 0) {
		deny_why(v, "no configuration key");
		goto done;
	}
	for (size_t i = 0; i < kv.n; i++) {
		const conf_rule_t *c = find_conf(p, kv.v[i].key);
		if (c == NULL) {
			deny_why(v, "configuration key '%.64s' is not allowed",
			    kv.v[i].key);
			goto done;
		}
		switch (conf_value_ok(c, kv.v[i].value, kv.v[i].value_len)) {
		case REGEX_MATCH:
			continue;
		case REGEX_LIMIT:
			deny_why(v, "value of '%.64s': " LIMIT_WHY, kv.v[i].key);
			goto done;
		case REGEX_NOMATCH:
			break;
		}
		deny_why(v, "value of '%.64s' is not allowed", kv.v[i].key);
		goto done;
	}
	ok = true;
done:
	kvlist_clear(&kv);
	return ok;
}

/* ---- the guard (guard.h), on what tor would receive ------------------ */

static const guard_targets_t no_targets;

/* The guard's options for a verdict: may the client choose unix targets,
 * and what text did the profile's replacement write. */
static guard_opts_t
guard_opts(const profile_t *p, const verdict_t *v)
{
	guard_opts_t o = { .client_unix = p->client_unix_targets };

	if (v->rule != NULL && v->rule->replacement != NULL)
		o.fixed = template_source(v->rule->replacement);
	return o;
}

static const guard_targets_t *
guard_targets(const policy_ctx_t *ctx)
{
	return ctx->guard != NULL ? ctx->guard : &no_targets;
}

/*
 * One option that tor will set (a SETCONF/RESETCONF item or a LOADCONF
 * line), named as tor resolves names: HiddenServicePort targets are
 * checked; the options that open listeners, change the control port's
 * authentication, start programs or create onion services on disk pass
 * only when the profile lists them under `confs` and the value matches;
 * abbreviations of those and '%' directives (%include) never pass.
 */
static bool
guard_option(const profile_t *p, const guard_targets_t *g,
    const guard_opts_t *o, const char *key, const char *value, size_t vlen,
    verdict_t *v)
{
	const char *canon;
	const conf_rule_t *c;

	switch (torrc_option(key, &canon)) {
	case TORRC_OPT_OTHER:
		return true;
	case TORRC_OPT_BAD:
		deny_why(v, "'%.64s' is not an option", key);
		return false;
	case TORRC_OPT_PREFIX:
		deny_why(v, "'%.64s' is an abbreviation tor may read as %s",
		    key, canon);
		return false;
	case TORRC_OPT_HS_PORT:
		if (value == NULL || vlen == 0)
			return true;
		if (!guard_port_ok(g, o, value, vlen, ' ',
		    v->whybuf, sizeof(v->whybuf))) {
			v->why = v->whybuf;
			return false;
		}
		return true;
	case TORRC_OPT_GUARDED:
		c = find_conf(p, canon);
		if (c == NULL) {
			deny_why(v, "%s needs the profile to list it under "
			    "confs", canon);
			return false;
		}
		switch (conf_value_ok(c, value, vlen)) {
		case REGEX_MATCH:
			return true;
		case REGEX_LIMIT:
			deny_why(v, "value of %s: " LIMIT_WHY, canon);
			return false;
		case REGEX_NOMATCH:
			break;
		}
		deny_why(v, "value of %s is not allowed by confs", canon);
		return false;
	}
	deny_why(v, "unknown option class");
	return false;
}

/*
 * A command that sets a control listener and a HiddenServicePort at once
 * is judged against listeners torgate cannot know yet (the command opens
 * them; an "auto" port is tor's choice): its targets are refused.
 */
#define SAME_COMMAND_WHY "the same command changes tor's control listeners"

/* SETCONF/RESETCONF: every item; what cannot be parsed is denied. */
static bool
guard_setconf(const profile_t *p, const policy_ctx_t *ctx,
    const proto_cmd_t *cmd, const char *args, size_t len, verdict_t *v)
{
	guard_opts_t o = guard_opts(p, v);
	guard_targets_t g = *guard_targets(ctx);
	kvlist_t kv;
	bool ok = true;

	if (kvline_parse(args, len, &kv) < 0) {
		deny_why(v, "arguments tor would not parse");
		return false;
	}
	for (size_t i = 0; i < kv.n && g.stale == NULL; i++)
		if (guard_is_control_listener_option(kv.v[i].key))
			g.stale = SAME_COMMAND_WHY;
	for (size_t i = 0; i < kv.n && ok; i++)
		ok = guard_option(p, &g, &o, kv.v[i].key, kv.v[i].value,
		    kv.v[i].value_len, v);
	kvlist_clear(&kv);
	return ok;
}

static bool
guard_add_onion(const profile_t *p, const policy_ctx_t *ctx,
    const proto_cmd_t *cmd, const char *args, size_t len, verdict_t *v)
{
	guard_opts_t o = guard_opts(p, v);

	if (!guard_add_onion_ok(guard_targets(ctx), &o, args, len, v->whybuf,
	    sizeof(v->whybuf))) {
		v->why = v->whybuf;
		return false;
	}
	return true;
}

/*
 * LOADCONF replaces tor's whole configuration: every option the body
 * leaves out goes back to tor's built-in default (the defaults file is not
 * read again; only the command line stays). For a guarded option that is
 * a RESETCONF, and it needs the same permission: "SafeLogging 1" alone
 * would drop CookieAuthentication and leave a control port that asks for
 * no authentication, or open the default SocksPort.
 */
static bool
loadconf_resets_ok(const profile_t *p, const torrc_t *rc, verdict_t *v)
{
	torrc_opt_t kind;
	const char *name;

	for (size_t i = 0; (name = torrc_guarded(i, &kind)) != NULL; i++) {
		const conf_rule_t *c;
		bool set = false;
		if (kind != TORRC_OPT_GUARDED)
			continue;
		for (size_t j = 0; j < rc->n && !set; j++)
			set = torrc_same_option(rc->v[j].key, name);
		if (set)
			continue;
		c = find_conf(p, name);
		if (c == NULL || !conf_value_ok(c, NULL, 0)) {
			deny_why(v, "the body leaves out %s, which tor would "
			    "reset: the profile's confs must allow resetting "
			    "it", name);
			return false;
		}
	}
	return true;
}

/* LOADCONF: the body as tor reads it (CmdData, then torrc), line by line
 * like SETCONF, and what it leaves out. */
static bool
guard_loadconf(const profile_t *p, const policy_ctx_t *ctx,
    const proto_cmd_t *cmd, const char *args, size_t len, verdict_t *v)
{
	guard_opts_t o = guard_opts(p, v);
	guard_targets_t g = *guard_targets(ctx);
	char *text, err[128];
	size_t tlen;
	torrc_t rc;
	bool ok = true;

	text = torrc_from_cmddata(cmd->body ? cmd->body : "",
	    cmd->body ? cmd->body_len : 0, &tlen);
	if (torrc_parse(text, tlen, &rc, err, sizeof(err)) < 0) {
		deny_why(v, "configuration tor would not parse (%s)", err);
		free(text);
		return false;
	}
	for (size_t i = 0; i < rc.n && g.stale == NULL; i++)
		if (guard_is_control_listener_option(rc.v[i].key))
			g.stale = SAME_COMMAND_WHY;
	for (size_t i = 0; i < rc.n && ok; i++)
		ok = guard_option(p, &g, &o, rc.v[i].key, rc.v[i].value,
		    strlen(rc.v[i].value), v);
	if (ok)
		ok = loadconf_resets_ok(p, &rc, v);
	torrc_clear(&rc);
	free(text);
	return ok;
}

/* ---- ownership -------------------------------------------------------- */

/* DEL_ONION only of the profile's own services (unless del-onion-any);
 * the service id goes into the verdict, for what the reply teaches. */
static bool
owner_del_onion(const profile_t *p, const proto_cmd_t *cmd,
    const policy_ctx_t *ctx, verdict_t *v)
{
	const char *a = cmd->args, *e = cmd->args + cmd->args_len;

	while (e > a && tor_isspace(e[-1]))
		e--;
	v->sid = xmemdup_nul(a, (size_t)(e - a));
	if (p->del_onion_any)
		return true;
	if (ctx->owns_onion == NULL ||
	    !ctx->owns_onion(ctx->arg, a, (size_t)(e - a))) {
		deny_why(v, "onion service %.64s was not created by this "
		    "profile", v->sid);
		return false;
	}
	return true;
}

/* ---- commands the profile's events decide ------------------------------ */

static bool
judge_setevents(const profile_t *p, const cmd_def_t *def,
    const proto_cmd_t *cmd, const policy_ctx_t *ctx, verdict_t *v)
{
	setevents_t se;

	if (events_setevents(p, cmd->args, cmd->args_len,
	    ctx->internal_events, &se) < 0) {
		deny_why(v, "%s: %s", se.why, se.bad);
		return false;
	}
	v->args = se.upstream_args;
	v->args_len = se.upstream_len;
	v->events = se.client;
	return true;
}

/* ---- the verdict table ------------------------------------------------- */

typedef struct verdict_row {
	/* Decides instead of the profile's command rules. */
	bool (*judge)(const profile_t *, const cmd_def_t *,
	    const proto_cmd_t *, const policy_ctx_t *, verdict_t *);
	/* Another way in when no rule matches the whole arguments. */
	bool (*allow)(const profile_t *, const cmd_def_t *, const char *,
	    size_t, const policy_ctx_t *, verdict_t *);
	/* After the command is allowed: is the object the profile's own? */
	bool (*owner)(const profile_t *, const proto_cmd_t *,
	    const policy_ctx_t *, verdict_t *);
	/* Last, on what tor would receive: the built-in guard. */
	bool (*guard)(const profile_t *, const policy_ctx_t *,
	    const proto_cmd_t *, const char *, size_t, verdict_t *);
} verdict_row_t;

/* GETINFO k1 k2 ...: a single key was judged whole already. */
static bool
allow_getinfo_keys(const profile_t *p, const cmd_def_t *def,
    const char *args, size_t len, const policy_ctx_t *ctx, verdict_t *v)
{
	return check_keys(p, def, args, len, ctx, v, 2, false);
}

/* GETCONF k1 k2 ...: even a single key may be listed under confs. */
static bool
allow_getconf_keys(const profile_t *p, const cmd_def_t *def,
    const char *args, size_t len, const policy_ctx_t *ctx, verdict_t *v)
{
	return check_keys(p, def, args, len, ctx, v, 1, true);
}

static bool
allow_confs(const profile_t *p, const cmd_def_t *def, const char *args,
    size_t len, const policy_ctx_t *ctx, verdict_t *v)
{
	return check_confs(p, args, len, v);
}

static const verdict_row_t verdict_rows[CMD_COUNT] = {
	[CMD_ADD_ONION] = { .guard = guard_add_onion },
	[CMD_DEL_ONION] = { .owner = owner_del_onion },
	[CMD_GETCONF] = { .allow = allow_getconf_keys },
	[CMD_GETINFO] = { .allow = allow_getinfo_keys },
	[CMD_LOADCONF] = { .guard = guard_loadconf },
	[CMD_RESETCONF] = { .allow = allow_confs, .guard = guard_setconf },
	[CMD_SETCONF] = { .allow = allow_confs, .guard = guard_setconf },
	[CMD_SETEVENTS] = { .judge = judge_setevents },
};

/* The profile's command rules: the first whose pattern matches the whole
 * arguments; its replacement, if any, rewrites them. */
static bool
match_rule(const profile_t *p, const cmd_def_t *def, const proto_cmd_t *cmd,
    const policy_ctx_t *ctx, verdict_t *v)
{
	const verdict_row_t *row = &verdict_rows[def->id];
	const cmd_rules_t *rules = &p->cmds[def->id];
	const cmd_rule_t *rule;
	regex_match_t m;
	char *owned = NULL;
	bool ok = false, limit = false;

	v->why = rules->n > 0 ? "arguments match no rule" :
	    "no rule for this command";
	if (cmd->multiline) {
		size_t len;
		owned = multiline_subject(cmd, &len);
		rule = match_rules(rules, owned, len, &m, &limit);
	} else {
		rule = match_args(rules, cmd->args, cmd->args_len, &m, &limit);
	}
	if (limit) {
		/* Undecided: denied outright, by no other way in either. */
		v->why = LIMIT_WHY;
	} else if (rule != NULL) {
		if (rule->replacement != NULL) {
			if (cmd->multiline) {
				v->why = "replacement on a multi-line command";
				goto done;
			}
			v->args = template_expand(rule->replacement, &m,
			    ctx->vars, &v->args_len);
		}
		v->rule = rule;
		ok = true;
	} else if (row->allow != NULL) {
		ok = row->allow(p, def, cmd->args, cmd->args_len, ctx, v);
	}
done:
	free(owned);
	return ok;
}

void
policy_check(const profile_t *p, const cmd_def_t *def, const proto_cmd_t *cmd,
    const policy_ctx_t *ctx, verdict_t *v)
{
	const verdict_row_t *row = &verdict_rows[def->id];
	bool ok;

	memset(v, 0, sizeof(*v));
	v->kind = VERDICT_DENY;
	ok = row->judge != NULL ? row->judge(p, def, cmd, ctx, v) :
	    match_rule(p, def, cmd, ctx, v);
	if (ok && row->owner != NULL)
		ok = row->owner(p, cmd, ctx, v);
	if (ok && row->guard != NULL &&
	    !row->guard(p, ctx, cmd, v->args ? v->args : cmd->args,
	    v->args ? v->args_len : cmd->args_len, v))
		ok = false;
	if (ok) {
		v->kind = VERDICT_FORWARD;
		v->why = NULL;
		return;
	}
	v->kind = VERDICT_DENY;
	free_args(v);
	FREE(v->more);
	FREE(v->sid);
	v->n_more = 0;
	v->rule = NULL;
	v->events = 0;
}

void
verdict_clear(verdict_t *v)
{
	free_args(v);
	free(v->more);
	free(v->sid);
	memset(v, 0, sizeof(*v));
}

char *
policy_rewrite_line(const line_rules_t *rules, const char *line, size_t len,
    const template_vars_t *vars, size_t *outlen)
{
	regex_match_t m;

	for (size_t i = 0; i < rules->n; i++) {
		regex_result_t r = regex_exec(rules->v[i].re, line, len, &m);
		if (r == REGEX_MATCH)
			return template_expand(rules->v[i].replacement, &m,
			    vars, outlen);
		if (r == REGEX_LIMIT) {
			/* Undecided: nothing of the line is passed (an
			 * event is dropped, a reply line keeps its code). */
			*outlen = 0;
			return xstrdup("");
		}
	}
	return NULL;
}

static bool
list_matches(const strlist_t *l, const char *value)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], "*") == 0 ||
		    (value[0] != '\0' && strcmp(l->v[i], value) == 0))
			return true;
	return false;
}

static bool
profile_matches(const profile_t *p, const peer_t *peer)
{
	if (peer->local) {
		const char *who = peer->label[0] ? peer->label : peer->exe;
		return p->has_apparmor_profiles &&
		    list_matches(&p->apparmor_profiles, who) &&
		    p->has_users && list_matches(&p->users, peer->user);
	}
	return p->has_hosts && list_matches(&p->hosts, peer->host);
}

select_result_t
policy_select_profile(const profile_set_t *set, const peer_t *peer,
    const profile_t **out, char *names, size_t nameslen)
{
	size_t found = 0, used = 0;

	*out = profile_empty();
	if (nameslen > 0)
		names[0] = '\0';
	for (size_t i = 0; i < set->n; i++) {
		const profile_t *p = set->v[i];
		if (!profile_matches(p, peer))
			continue;
		if (found++ == 0)
			*out = p;
		if (used < nameslen) {
			int n = snprintf(names + used, nameslen - used, "%s%s",
			    used ? ", " : "", p->name);
			if (n > 0)
				used += (size_t)n;
		}
	}
	if (found > 1) {
		*out = profile_empty();
		return SELECT_COLLISION;
	}
	return found == 1 ? SELECT_ONE : SELECT_NONE;
}
