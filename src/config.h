/*
 * config.h: torgate's settings, from the command line and an optional YAML
 * config file (-c). Flags win over the file; a list given on the command
 * line (listeners, profile directories) replaces the file's list.
 *
 * Config file keys (all optional):
 *   listen: [ADDR...]          tor: ADDR          tor-cookie: PATH
 *     (ADDR as -l: unix:/PATH,mode=0660,group=NAME,profile=NAME)
 *   tor-password-file: PATH    profiles: [DIR...]
 *   max-line-length: N         max-body-length: N
 *   max-pending-commands: N    max-clients: N
 *   max-output-buffer: N       upstream-pool: N (spare connections)
 *   state-dir: DIR             (owners of detached onion services)
 *   tor-wait-commands: N       tor-wait-ms: MS    tor-retry-max-ms: MS
 *   max-clients-per-user: N    auth-timeout: SECONDS
 *   user: NAME                 (the worker's user; --user wins)
 *   cookie-file: PATH[,mode=0640][,group=NAME]
 *                              (torgate's own client cookie; --cookie-file
 *                              wins)
 * tor-wait-commands to auth-timeout are also options
 * (--tor-wait-commands, ...).
 */
#ifndef TORGATE_CONFIG_H
#define TORGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

typedef struct limits {
	size_t max_line;        /* longest command line from a client */
	size_t max_preauth_line;/* the same before AUTHENTICATE */
	size_t max_body;        /* largest multi-line command body */
	size_t max_reply_line;  /* longest line accepted from tor */
	size_t max_pending;     /* commands in flight per client */
	size_t max_output;      /* bytes queued towards a slow client before
	                         * torgate stops reading from its tor (and,
	                         * counting its own answers, from it) */
	unsigned max_clients;
	/* Tor going away: */
	size_t tor_wait_cmds;   /* commands a client may have waiting */
	unsigned tor_wait_ms;   /* how long they (or a new client) wait */
	unsigned tor_retry_max_ms; /* longest pause between two tries */
	unsigned max_clients_per_user; /* per uid, or per address (admit.h) */
	unsigned auth_timeout;  /* seconds from accept to AUTHENTICATE */
} limits_t;

typedef enum {
	MODE_ENFORCE = 0,
	MODE_COMPLAIN,      /* forward everything, log what would be denied */
	MODE_LEARN,         /* complain, and write suggested profiles */
} gate_mode_t;

typedef struct config {
	listen_spec_t *listens;
	size_t n_listens;
	char *tor;                 /* address text */
	char *tor_cookie;
	char *tor_password_file;
	char **profile_dirs;
	size_t n_profile_dirs;
	bool listens_defaulted;    /* no listen given: the built-in ones */
	bool profile_dirs_defaulted; /* no profile dir given: the built-in
	                            * ones, which need not all exist */
	char *config_file;
	bool foreground;
	bool debug;
	bool check;                /* --check: validate and exit */
	bool complain;             /* --complain */
	char *learn_dir;           /* --learn DIR */
	char *state_dir;           /* --state-dir DIR, or NULL: not kept */
	limits_t limits;
	char *user;                /* --user: the worker's user, or NULL */
	bool no_sandbox;           /* --no-sandbox: no seccomp filters */
	/* --cookie-file: torgate's own client cookie (torauth.h), made at
	 * start; NULL: clients authenticate with NULL. */
	char *cookie_file;
	unsigned cookie_mode;      /* its mode, at most 0644 (default 0640) */
	char *cookie_group;        /* its group, or NULL: the worker's */
	unsigned upstream_pool;    /* spare upstream connections */
	bool upstream_pool_set;
} config_t;

typedef enum {
	CONFIG_RUN = 0,      /* start the daemon */
	CONFIG_EXIT_OK,      /* --help / --version printed */
	CONFIG_EXIT_ERROR,   /* usage error, reported on stderr */
} config_result_t;

/* Parse argv (and the -c file) into cfg. */
config_result_t config_parse(config_t *cfg, int argc, char **argv);
void config_clear(config_t *cfg);

/* Apply the built-in defaults to whatever is still unset. */
void config_defaults(config_t *cfg);

#endif
