/*
 * session.h: one client connection and its own upstream connection to tor.
 *
 * A session reads whole commands from the client (proto.c), answers the
 * built-ins itself, asks policy.c for a verdict on the rest, forwards
 * allowed commands (rewritten when the rule says so) to its upstream, and
 * relays tor's replies back, rewriting lines where the matching rule has
 * response rules. Replies are matched to commands in order through a queue
 * of pending commands; answers torgate writes itself wait in the same
 * queue, so the client always sees replies in the order it sent commands.
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

#include "addr.h"
#include "config.h"
#include "guard.h"
#include "onions.h"
#include "pool.h"
#include "profile.h"
#include "upstream.h"

struct event_base;


/* One listener's settings that its sessions need. */
typedef struct listener_info {
	const char *profile;    /* bound profile name, or NULL */
	const char *text;       /* the listener's address, for logs */
} listener_info_t;

typedef struct session session_t;
TAILQ_HEAD(session_list, session);


typedef struct learn_set learn_set_t;

/* State shared by all sessions: the daemon. */
typedef struct gate {
	struct event_base *base;
	upstream_conf_t upstream;
	profile_set_t *profiles;    /* current set; sessions hold a ref */
	limits_t limits;
	unsigned n_sessions;
	uint64_t next_id;
	struct session_list sessions;
	struct session_list dead;   /* killed, freed by the reaper */
	struct event *reaper;
	guard_targets_t guard_own;  /* torgate's own listeners */
	guard_targets_t guard;      /* those plus tor's control listeners */
	char *tor_listeners;        /* tor's list as last reported */
	guard_targets_t socks;      /* tor's SOCKS listeners */
	char *tor_socks;            /* as last reported */
	onions_t *onions;           /* who created which onion service */
	gate_mode_t mode;
	learn_set_t *learn;         /* MODE_LEARN: what clients sent */
	pool_t *pool;               /* spare upstream connections, or NULL */
} gate_t;

/* Record what a new upstream connection learnt of tor: its control
 * listeners (for the guard) and SOCKS listeners (for stream ownership);
 * g is a gate_t. */
void gate_note_upstream(void *g, const upstream_t *u);

/* Take over accepted socket fd (non-blocking) from listener li. */
void session_start(gate_t *g, int fd, const struct sockaddr *sa,
    socklen_t salen, const listener_info_t *li);

/* Close every session at once (shutdown). */
void session_free_all(gate_t *g);

#endif
