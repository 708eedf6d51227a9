/*
 * profile.h: application profiles in onion-grater's YAML format, loaded
 * with libyaml into immutable structs.
 *
 * A profile set is loaded whole, then swapped in (SIGHUP); sessions keep a
 * reference to the set they started with. A file with any error is never
 * half-loaded: profile_set_load() returns NULL when anything failed, and
 * every problem has been reported as FILE:LINE:COL through the diag sink.
 *
 * Format (a file holds a YAML list of profiles; every key optional):
 *   name: STRING                  default: the file name without extension
 *   apparmor-profiles: [STR...]   client qualifiers; '*' matches anything
 *   exe-paths: [STR...]           (older name for the same idea)
 *   users: [STR...]
 *   hosts: [STR...]
 *   commands:
 *     KEYWORD:                    any case; '+' optional for LOADCONF etc.
 *       - 'pattern'               or a mapping:
 *       - pattern: 'regex'
 *         replacement: 'template' (rewrite.h)
 *         response:
 *           - pattern: 'regex'
 *             replacement: 'template'
 *   confs:
 *     KEY: null | [values...]     '' means reset
 *   events:
 *     EVENT: null | {suppress: bool, response: [{pattern, replacement}]}
 *   restrict-stream-events: bool
 *   tor-browser-mode: bool        (Whonix's name for the same)
 *   restrict-onion-events: bool   HS_DESC and HS_DESC_CONTENT only about
 *                                 the profile's own onion services and
 *                                 those the client HSFETCHed (events.h)
 *   del-onion-any: bool           may DEL_ONION services of other profiles
 *   client-unix-targets: bool     clients may choose unix: targets of onion
 *                                 services (guard.h)
 */
#ifndef TORGATE_PROFILE_H
#define TORGATE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "cmdtab.h"
#include "regex.h"
#include "template.h"

/* Where something was written: file name, 1-based line and column. */
typedef struct src_loc {
	const char *file;  /* owned by the profile set */
	unsigned line, col;
} src_loc_t;

/* A {pattern, replacement} rule applied to a reply or event line. */
typedef struct line_rule {
	tg_regex_t *re;
	template_t *replacement;
	src_loc_t loc;
} line_rule_t;

typedef struct line_rules {
	line_rule_t *v;
	size_t n;
} line_rules_t;

/* One allowed form of a command. */
typedef struct cmd_rule {
	tg_regex_t *re;             /* matched against the whole arguments */
	template_t *replacement;    /* NULL: forward the arguments as sent */
	line_rules_t response;      /* rewrites of the reply, first match wins */
	src_loc_t loc;
} cmd_rule_t;

typedef struct cmd_rules {
	cmd_rule_t *v;
	size_t n;
} cmd_rules_t;

/* confs: KEY -> values that SETCONF may set ('' = RESETCONF allowed). */
typedef struct conf_rule {
	char *key;                  /* as written; compared case-insensitively */
	tg_regex_t **values;        /* each matched against one value alone */
	size_t n_values;
	bool resettable;            /* '' listed */
	src_loc_t loc;
} conf_rule_t;

typedef struct event_rule {
	char *name;                 /* upper case */
	bool suppress;
	line_rules_t response;
	src_loc_t loc;
} event_rule_t;

typedef struct strlist {
	char **v;
	size_t n;
} strlist_t;

typedef struct profile {
	char *name;
	src_loc_t loc;
	strlist_t apparmor_profiles;  /* exe-paths are merged in here too */
	strlist_t users;
	strlist_t hosts;
	bool has_apparmor_profiles;   /* key present (apparmor-profiles or
	                               * exe-paths) */
	bool has_users;
	bool has_hosts;
	cmd_rules_t cmds[CMD_COUNT];  /* indexed by command */
	conf_rule_t *confs;
	size_t n_confs;
	event_rule_t *events;
	size_t n_events;
	bool restrict_stream_events;
	bool restrict_onion_events;
	bool del_onion_any;
	bool client_unix_targets;
} profile_t;

typedef struct profile_set {
	profile_t **v;
	size_t n;
	char **files;                 /* file names, for src_loc_t */
	size_t n_files;
	unsigned refcnt;
} profile_set_t;

/* Receives every problem found while loading. */
typedef struct profile_diag {
	void (*report)(void *arg, bool is_error, const char *file,
	    unsigned line, unsigned col, const char *msg);
	void *arg;
	unsigned errors;
	unsigned warnings;
} profile_diag_t;

/* Report a problem through d (counts it). file may be NULL. */
void profile_diag(profile_diag_t *d, bool is_error, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/*
 * Load every *.yml and *.yaml file in dirs, in that order of precedence: a
 * file name found in an earlier directory hides the same name in later
 * ones. Missing directories are skipped. Return a new set (refcnt 1), or
 * NULL if anything was wrong (every problem reported through d).
 */
profile_set_t *profile_set_load(const char *const *dirs, size_t ndirs,
    profile_diag_t *d);

/* Load profiles from a YAML document in memory, as if read from file
 * `name`; for tests and fuzzing. NULL on any error. */
profile_set_t *profile_set_load_buffer(const char *name, const char *buf,
    size_t len, profile_diag_t *d);

/* An empty set (no profile). */
profile_set_t *profile_set_new_empty(void);

profile_set_t *profile_set_ref(profile_set_t *s);
void profile_set_unref(profile_set_t *s);

const profile_t *profile_set_find(const profile_set_t *s, const char *name);

/* The profile with no rules: everything but torgate's built-ins denied. */
const profile_t *profile_empty(void);

/*
 * Collisions (profile_collide.c): clients on listeners bound to no
 * profile get the one whose qualifiers match them, and are denied
 * everything when several do. reach says which clients such listeners
 * take (PROFILE_REACH_*); warn through d, with each profile's FILE:LINE,
 * about every group of profiles of s that all match one client of those
 * kinds, for the most general such client (any local client, a program,
 * a user, any remote client, a host).
 */
enum {
	PROFILE_REACH_LOCAL = 1 << 0,   /* unix sockets and loopback */
	PROFILE_REACH_REMOTE = 1 << 1,  /* any other address */
};
void profile_set_check_collisions(const profile_set_t *s, unsigned reach,
    profile_diag_t *d);
/* Which clients reach profile selection through the listeners v[0..n):
 * those of listeners bound to no profile (listen_spec_t, addr.h). */
struct listen_spec;
unsigned profile_reach_of_listeners(const struct listen_spec *v, size_t n);

const event_rule_t *profile_find_event(const profile_t *p, const char *name,
    size_t len);
const conf_rule_t *profile_find_conf(const profile_t *p, const char *key,
    size_t len);

#endif
