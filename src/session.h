/*
 * session.h: one client connection and its own upstream connection to tor,
 * and the daemon state all sessions share (gate_t).
 *
 * A session reads whole commands from the client (proto.c), answers the
 * built-ins itself (builtin.c), asks policy.c for a verdict on the rest,
 * forwards allowed commands (rewritten when the rule says so) to its
 * upstream (command.c), and relays tor's replies back, rewriting lines
 * where the matching rule has response rules (relay.c, rewrite.c). Replies
 * are matched to commands in order through a queue of pending commands;
 * answers torgate writes itself wait in the same queue, so the client
 * always sees replies in the order it sent commands.
 *
 * Every buffer has a bound: the parser bounds lines and bodies, the queue
 * bounds pipelined commands (reading from the client pauses when it is
 * full), and reading from tor pauses while the client does not read.
 */
#ifndef TORGATE_SESSION_H
#define TORGATE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "config.h"
#include "ident.h"
#include "profile.h"
#include "torview.h"

struct event_base;

/* One listener's settings that its sessions need. */
typedef struct listener_info {
	const char *profile;    /* bound profile name, or NULL */
	const char *text;       /* the listener's address, for logs */
} listener_info_t;

typedef struct session session_t;
TAILQ_HEAD(session_list, session);

typedef struct learn_set learn_set_t;
typedef struct admit admit_t;

/* State shared by all sessions: the daemon. */
typedef struct gate {
	struct event_base *base;
	torview_t *tor;             /* everything known of tor */
	ident_t *ident;             /* the identifying process, or NULL */
	profile_set_t *profiles;    /* current set; sessions hold a ref */
	limits_t limits;
	unsigned n_sessions;
	uint64_t next_id;
	struct session_list sessions;
	struct session_list dead;   /* killed, freed by the reaper */
	struct event *reaper;
	gate_mode_t mode;
	learn_set_t *learn;         /* MODE_LEARN: what clients sent */
	admit_t *admit;             /* connections per user (admit.h) */
	/* --cookie-file (torauth.h), or NULL: clients authenticate with
	 * NULL. */
	struct torauth_client *client_auth;
} gate_t;

/* Take over accepted socket fd (non-blocking) from listener li. */
void session_start(gate_t *g, int fd, const struct sockaddr *sa,
    socklen_t salen, const listener_info_t *li);

/* Do the session layer's command tables agree with cmdtab.h (every
 * command torgate answers itself has an answer)? Checked at start. */
bool session_tables_ok(void);

/* Close every session at once (shutdown). */
void session_free_all(gate_t *g);

#endif
