/*
 * admit.h: connections counted per user, so that one user holding idle
 * connections cannot lock every other user out.
 *
 * A client is counted under a key taken from what the kernel says about
 * its socket at once (peer.h's fast identification), before anything
 * slow and before it sends a byte:
 *   - unix socket: its uid (SO_PEERCRED);
 *   - loopback TCP: the uid owning the client's end (sock_diag), the same
 *     uid its identification later uses; if the kernel cannot say, every
 *     such client shares one key ("uid unknown"), so that failing to look
 *     up an owner never lifts the limit;
 *   - other TCP: the source address.
 * The key stays the session's for its life: it is released with exactly
 * what was taken.
 */
#ifndef TORGATE_ADMIT_H
#define TORGATE_ADMIT_H

#include <stdbool.h>

#include "peer.h"

typedef struct admit admit_t;

/* A client's key, printable as is ("uid 1000", "address 10.0.0.7"). */
typedef struct admit_key {
	char text[80];
} admit_key_t;

admit_t *admit_new(void);
void admit_free(admit_t *a);

/* The key of a client identified (at least) as far as the kernel says at
 * once. */
void admit_key_of(const peer_t *peer, admit_key_t *key);

/* Count one more connection under key, unless max are counted already:
 * then return false and count nothing. *count: the key's connections
 * (with this one, when it was counted). */
bool admit_take(admit_t *a, const admit_key_t *key, unsigned max,
    unsigned *count);
/* Forget one connection counted under key. */
void admit_release(admit_t *a, const admit_key_t *key);

/* Connections counted under key (for tests). */
unsigned admit_count(const admit_t *a, const admit_key_t *key);

#endif
