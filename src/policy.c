/*
 * policy.c: verdicts and profile choice. See policy.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy.h"
#include "util.h"

/* Build the subject of a multi-line command: first-line arguments, "\n",
 * and the data lines with dot-escapes and CRLFs removed, joined by "\n". */
static char *
multiline_subject(const proto_cmd_t *cmd, size_t *lenp)
{
	char *s = xmalloc(cmd->args_len + 1 + cmd->body_len + 1), *p = s;
	const char *b = cmd->body, *end = cmd->body + cmd->body_len;

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

static const cmd_rule_t *
match_rules(const cmd_rules_t *rules, const char *subj, size_t len,
    regex_match_t *m)
{
	for (size_t i = 0; i < rules->n; i++)
		if (regex_match(rules->v[i].re, subj, len, m))
			return &rules->v[i];
	return NULL;
}

void
policy_check(const profile_t *p, const cmd_def_t *def, const proto_cmd_t *cmd,
    const template_vars_t *vars, verdict_t *v)
{
	const cmd_rules_t *rules = &p->cmds[def->id];
	const cmd_rule_t *rule;
	regex_match_t m;
	char *owned = NULL;
	const char *subj = cmd->args;
	size_t len = cmd->args_len;

	memset(v, 0, sizeof(*v));
	v->kind = VERDICT_DENY;
	if (rules->n == 0) {
		v->why = "no rule for this command";
		return;
	}
	if (cmd->multiline) {
		owned = multiline_subject(cmd, &len);
		subj = owned;
	}
	rule = match_rules(rules, subj, len, &m);
	if (rule == NULL && !cmd->multiline) {
		size_t trimmed = len;
		while (trimmed > 0 &&
		    (subj[trimmed - 1] == ' ' || subj[trimmed - 1] == '\t'))
			trimmed--;
		if (trimmed != len)
			rule = match_rules(rules, subj, trimmed, &m);
	}
	if (rule == NULL) {
		v->why = "arguments match no rule";
		goto done;
	}
	if (rule->replacement != NULL) {
		if (cmd->multiline) {
			v->why = "replacement on a multi-line command";
			goto done;
		}
		v->args = template_expand(rule->replacement, &m, vars,
		    &v->args_len);
	}
	v->kind = VERDICT_FORWARD;
	v->rule = rule;
done:
	free(owned);
}

void
verdict_clear(verdict_t *v)
{
	free(v->args);
	memset(v, 0, sizeof(*v));
}

char *
policy_rewrite_line(const line_rules_t *rules, const char *line, size_t len,
    const template_vars_t *vars, size_t *outlen)
{
	regex_match_t m;

	for (size_t i = 0; i < rules->n; i++)
		if (regex_match(rules->v[i].re, line, len, &m))
			return template_expand(rules->v[i].replacement, &m,
			    vars, outlen);
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
