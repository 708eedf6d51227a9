/*
 * router.h: which command a reply line from tor belongs to, and whether
 * it fits that command. No I/O: relay.c feeds it the lines proto.c
 * framed, one pending entry at a time; the unit test and the fuzz target
 * drive it the same way.
 *
 * Replies are matched to commands by order only, so one reply too many
 * or too few from tor (tor 0.4.x has both, see the table in router.c)
 * would shift every later reply onto the wrong command. Plain replies,
 * passed to the client as tor sent them, may shift among themselves
 * (the client sees what tor said, as without torgate). A reply torgate
 * filters, rewrites or learns from (a *checked* command) must never be
 * another command's, so a checked command is bracketed by *fences*:
 *
 *   GETINFO X-TORGATE-FENCE-<random>   (unless the last thing sent
 *   <the checked command>               to tor was already a fence)
 *   GETINFO X-TORGATE-FENCE-<random>
 *
 * written together (no round trip is added). tor answers each fence with
 * exactly one line, 552 Unrecognized key "X-TORGATE-FENCE-<random>",
 * which no client can predict, and tor writes every reply to a command
 * before it reads the next. So the one message between the two fence
 * lines is the checked command's whole reply: anything else there (no
 * message, two messages, a message that runs into the fence line, a
 * fence line where the reply should be) means tor and torgate no longer
 * agree which reply is whose, and the router says ROUTE_DESYNC. On top,
 * each line of a checked reply must fit the command's shape (its row in
 * router.c) before it is used.
 */
#ifndef TORGATE_ROUTER_H
#define TORGATE_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmdtab.h"
#include "proto.h"

#define ROUTER_FENCE_PREFIX "X-TORGATE-FENCE-"
#define ROUTER_FENCE_RANDOM 16   /* random bytes in a fence key */
/* The key: prefix, the random bytes in hex, NUL. */
#define ROUTER_FENCE_KEY_SIZE (sizeof(ROUTER_FENCE_PREFIX) - 1 + \
	2 * ROUTER_FENCE_RANDOM + 1)

/* What a reply may look like; one per command (router.c's `shapes[]`). */
typedef enum {
	RS_ANY = 0,    /* any one well-framed reply */
	RS_LINE,       /* one line, any 2xx, 4xx or 5xx code */
	RS_DONE,       /* "250 OK", or one 4xx/5xx line */
	RS_KEYS,       /* GETINFO: the keys echoed in order, then 250 OK */
	RS_CONF,       /* GETCONF: KEY or KEY=VALUE lines for the keys */
	RS_ADD_ONION,  /* 250-ServiceID=... first, then 250 OK */
} reply_shape_t;

typedef enum {
	RX_FENCE_IN,   /* waiting for the line of the fence sent before */
	RX_REPLY,      /* inside the command's own reply */
	RX_FENCE_OUT,  /* waiting for the line of the fence sent after */
	RX_DONE,
	RX_DESYNC,     /* out of step: every further line is refused */
} rx_phase_t;

/*
 * What torgate expects of one forwarded command's reply; it lives in the
 * command's pending entry. Owned strings are released by
 * router_expect_clear().
 */
typedef struct router_expect {
	bool checked;           /* fenced and shape-checked */
	rx_phase_t phase;
	reply_shape_t shape;
	char *keys;             /* RS_KEYS/RS_CONF: the keys as sent to tor,
	                         * each NUL-terminated, back to back; owned */
	size_t n_keys;
	char fence_in[ROUTER_FENCE_KEY_SIZE];  /* "" if none */
	char fence_out[ROUTER_FENCE_KEY_SIZE]; /* checked: always set */
	/* Progress through the reply. */
	size_t key_i;           /* RS_KEYS/RS_CONF: keys answered so far */
	const char *key;        /* the key being answered (into keys) */
	unsigned n_lines;       /* status lines of the reply so far */
	int first_code;         /* code of its first line */
} router_expect_t;

typedef enum {
	ROUTE_PASS,     /* a line of the command's reply: deliver it as the
	                 * pending entry says */
	ROUTE_SWALLOW,  /* a fence's line: nothing for the client */
	ROUTE_DESYNC,   /* this line cannot be this command's: tor's replies
	                 * no longer match the commands */
} route_t;

/* The shape of cmd's reply (its row in router.c). */
reply_shape_t router_shape(cmd_id_t cmd);

/*
 * Set x up for command cmd about to be sent to tor with arguments args
 * (as tor will read them). checked: its reply is filtered, rewritten or
 * learnt from. fence_in/fence_out: the keys of the fences sent right
 * before (NULL: none; the previous command's fence_out is enough) and
 * right after it (checked commands only).
 */
void router_expect_init(router_expect_t *x, cmd_id_t cmd, bool checked,
    const char *args, size_t args_len, const char *fence_in,
    const char *fence_out);
/* Free what x owns and zero it. */
void router_expect_clear(router_expect_t *x);

/* Make a fence key from ROUTER_FENCE_RANDOM random bytes. */
void router_fence_key(const uint8_t rnd[ROUTER_FENCE_RANDOM],
    char key[ROUTER_FENCE_KEY_SIZE]);

/*
 * Judge the next line of what tor sent after the replies x's predecessors
 * took: line as framed by proto.c (never an event), text its bytes
 * without EOL (may be NULL when x is not checked: plain lines are not
 * looked at). Sets *done once x's last line (its trailing fence's, if
 * checked) has been seen, and on ROUTE_DESYNC *why to a fixed reason.
 * A desync is final: every later line gets ROUTE_DESYNC too.
 */
route_t router_line(router_expect_t *x, const proto_reply_line_t *line,
    const char *text, bool *done, const char **why);

/*
 * Forms of commands tor 0.4.x answers twice or not at all: if cmd with
 * args (as tor will read them) is one, return the answer torgate gives
 * instead of sending it (tor's own first answer where it has one), else
 * NULL. This only spares the session; the fences are what keep replies
 * where they belong.
 */
const char *router_tor_misreplies(cmd_id_t cmd, const char *args,
    size_t args_len);

#endif
