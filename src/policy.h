/*
 * policy.h: the verdict for one client command under one profile, and the
 * choice of a profile for a client. Pure functions of their inputs: no I/O,
 * so every verdict can be unit-tested and fuzzed.
 *
 * A command's arguments (for a multi-line command: the first line's
 * arguments, "\n", then the data lines without dot-escapes, joined by
 * "\n") are matched against the profile's rules for its keyword, each
 * pattern against the WHOLE string. If no rule matches and the arguments
 * end in spaces or tabs, they are tried once more without them (tor
 * ignores trailing whitespace; lnd and onioncircuits send it). The first
 * matching rule wins.
 *
 * On top of the rules, with tor's own grammar:
 * - GETINFO k1 k2 ... and GETCONF k1 k2 ... pass when a rule matches the
 *   whole string (onion-grater's way, so rewrites written for a multi-key
 *   request keep working) or when every key is allowed on its own (a
 *   rule matching it alone, or for GETCONF a `confs` entry) -- never when
 *   one key is not.
 * - SETCONF and RESETCONF pass when a rule matches the whole string, or
 *   when every KEY=VALUE item (parsed as tor parses it) is allowed by
 *   `confs`: the key listed, and the value matching one of its value
 *   patterns on its own ('' listed: reset allowed).
 * - DEL_ONION of a service this profile did not create is refused unless
 *   the profile says del-onion-any.
 * - SETEVENTS is decided by the profile's `events` (events.h), not by
 *   command rules.
 * - A pattern that hits PCRE2's match limit (regex.h) denies the command
 *   outright: no later rule and no other way in is tried.
 * - The guard (guard.h) runs last, on what tor would receive: ADD_ONION
 *   Port= targets, HiddenServicePort values, LOADCONF bodies.
 *
 * Each of these is a row of one table indexed by command (policy.c's
 * verdict_rows[]): judge (decides instead of the rules), allow (another
 * way in when no rule matches), owner, guard.
 */
#ifndef TORGATE_POLICY_H
#define TORGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cmdtab.h"
#include "events.h"
#include "guard.h"
#include "peer.h"
#include "profile.h"
#include "proto.h"
#include "template.h"

typedef enum {
	VERDICT_DENY = 0,
	VERDICT_FORWARD,
} verdict_kind_t;

typedef struct verdict {
	verdict_kind_t kind;
	const cmd_rule_t *rule;  /* the matching rule, or NULL */
	const cmd_rule_t **more; /* per-key matches with response rules */
	size_t n_more;
	char *args;              /* rewritten arguments, or NULL: as sent */
	size_t args_len;
	char *sid;               /* DEL_ONION: the service id, owned */
	event_mask_t events;     /* SETEVENTS: the client's new set */
	const char *why;         /* denials: the reason, for the log */
	char whybuf[256];
} verdict_t;

/* What a verdict may depend on besides the profile and the command. */
typedef struct policy_ctx {
	const template_vars_t *vars;     /* for replacements; may be NULL */
	const guard_targets_t *guard;    /* control listeners; may be NULL */
	/* Did clients of this profile create onion service sid? NULL: no. */
	bool (*owns_onion)(void *arg, const char *sid, size_t len);
	void *arg;
	event_mask_t internal_events;    /* SETEVENTS: what torgate needs */
} policy_ctx_t;

/* Decide on cmd (keyword def) for profile p. Fills *v; clear it with
 * verdict_clear(). */
void policy_check(const profile_t *p, const cmd_def_t *def,
    const proto_cmd_t *cmd, const policy_ctx_t *ctx, verdict_t *v);
void verdict_clear(verdict_t *v);

/* Rewrite one reply or event line (without EOL) with the first rule of
 * rules whose pattern matches it whole. Return the new line (owned by the
 * caller, length in *outlen), or NULL if no rule matched. A pattern that
 * hits the match limit (regex.h) gives the empty line: the line's text
 * is not passed, and a rewritten event that is empty is dropped. */
char *policy_rewrite_line(const line_rules_t *rules, const char *line,
    size_t len, const template_vars_t *vars, size_t *outlen);

typedef enum {
	SELECT_NONE = 0,     /* no profile matches: the empty profile */
	SELECT_ONE,
	SELECT_COLLISION,    /* several match: deny everything */
} select_result_t;

/*
 * Choose the profile for peer among set. Local clients are matched on
 * their AppArmor label (or executable path when unconfined) and user,
 * remote ones on their address; for each qualifier relevant to the peer,
 * one element must match ('*' matches anything), and a relevant
 * qualifier the profile does not list does not match. On a collision the
 * names of the colliding profiles are written to names.
 */
select_result_t policy_select_profile(const profile_set_t *set,
    const peer_t *peer, const profile_t **out, char *names,
    size_t nameslen);

#endif
