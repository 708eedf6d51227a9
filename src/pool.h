/*
 * pool.h: a few spare upstream connections, connected and authenticated
 * ahead of time, so that a new client is served at once instead of after
 * three round trips to tor. A spare is handed to exactly one client and
 * never returns to the pool (ephemeral onions and event subscriptions
 * belong to a connection); the pool refills in the background, backing
 * off after a failed connection. A spare that fails or that tor closes is
 * dropped and reported (lost_cb): tor may be restarting. The owner then drains the
 * pool (pool_drain) and resumes it once tor answers again (pool_resume).
 */
#ifndef TORGATE_POOL_H
#define TORGATE_POOL_H

#include "upstream.h"

struct event_base;

typedef struct pool pool_t;

/* Keep `target` spares (0: no pool). ready_cb, if not NULL, is shown each
 * spare when it is ready (to note what it learnt of tor); lost_cb, if not
 * NULL, is called when a spare fails or tor closes a ready one. */
pool_t *pool_new(struct event_base *base, const upstream_conf_t *conf,
    unsigned target, void (*ready_cb)(void *, const upstream_t *),
    void (*lost_cb)(void *), void *arg);
void pool_free(pool_t *p);

/* Take a ready spare (the caller owns it), or NULL if none is ready. */
upstream_t *pool_take(pool_t *p);

/* Drop every spare, ready or connecting, and make no new ones until
 * pool_resume(): tor went away, and its spares with it. */
void pool_drain(pool_t *p);
/* Refill at once (tor answers again); no-op unless drained. */
void pool_resume(pool_t *p);

/* Number of ready spares. */
unsigned pool_ready(const pool_t *p);

#endif
