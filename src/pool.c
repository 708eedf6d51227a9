/*
 * pool.c: see pool.h.
 *
 * Entries are either connecting (upstream_connect() under way) or ready
 * (authenticated, idle; their bufferevent watched for EOF). The pool
 * starts as many connections as are missing, but after a failure waits
 * (1 s, doubling to 30 s) before trying again, so a stopped tor is not
 * hammered. A drained pool (tor went away) makes no connections until it
 * is resumed; the daemon's view of tor (torview.c) probes tor meanwhile.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "pool.h"
#include "util.h"

#define POOL_MAX 64
#define BACKOFF_MIN 1
#define BACKOFF_MAX 30

typedef struct spare {
	pool_t *pool;
	upstream_t *u;
	bool ready;
} spare_t;

struct pool {
	struct event_base *base;
	const upstream_conf_t *conf;
	unsigned target;
	spare_t *v[POOL_MAX];
	unsigned n;
	struct event *timer;
	unsigned backoff;
	bool drained;           /* pool_drain() until pool_resume() */
	void (*ready_cb)(void *, const upstream_t *);
	void (*lost_cb)(void *);
	void *arg;
};

static void refill(pool_t *p);

static void
drop(pool_t *p, spare_t *sp)
{
	for (unsigned i = 0; i < p->n; i++)
		if (p->v[i] == sp) {
			p->v[i] = p->v[--p->n];
			break;
		}
	upstream_free(sp->u);
	free(sp);
}

/* A ready spare's connection ended (tor closed it). Reported, like a
 * spare that could not be made: tor may be going away. */
static void
idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	spare_t *sp = arg;
	pool_t *p = sp->pool;

	log_info("pool: tor closed a spare connection");
	drop(p, sp);
	if (p->lost_cb != NULL)
		p->lost_cb(p->arg);     /* may drain the pool */
	refill(p);
}

/* Tor should say nothing on an idle, unsubscribed connection. */
static void
idle_read_cb(struct bufferevent *bev, void *arg)
{
	idle_event_cb(bev, BEV_EVENT_EOF, arg);
}

static void
spare_ready_cb(upstream_t *u, bool ok, const char *why, void *arg)
{
	spare_t *sp = arg;
	pool_t *p = sp->pool;
	struct bufferevent *bev;

	if (!ok) {
		log_warnx("pool: %s", why);
		drop(p, sp);
		if (p->lost_cb != NULL)
			p->lost_cb(p->arg);     /* may drain the pool */
		p->backoff = p->backoff ? p->backoff * 2 : BACKOFF_MIN;
		if (p->backoff > BACKOFF_MAX)
			p->backoff = BACKOFF_MAX;
		refill(p);
		return;
	}
	p->backoff = 0;
	sp->ready = true;
	if (p->ready_cb != NULL)
		p->ready_cb(p->arg, u);
	bev = upstream_bev(u);
	bufferevent_setcb(bev, idle_read_cb, NULL, idle_event_cb, sp);
	bufferevent_enable(bev, EV_READ);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	pool_t *p = arg;
	unsigned backoff = p->backoff;

	p->backoff = 0;
	refill(p);
	if (p->backoff == 0)
		p->backoff = backoff;
}

static void
refill(pool_t *p)
{
	if (p->drained)
		return;
	if (p->backoff > 0) {
		struct timeval tv = { p->backoff, 0 };
		if (!evtimer_pending(p->timer, NULL))
			evtimer_add(p->timer, &tv);
		return;
	}
	while (p->n < p->target) {
		spare_t *sp = xzalloc(sizeof(*sp));
		sp->pool = p;
		p->v[p->n++] = sp;
		sp->u = upstream_connect(p->base, p->conf, spare_ready_cb, sp);
		if (sp->u == NULL) {
			log_warn("pool: cannot connect to tor");
			drop(p, sp);
			p->backoff = BACKOFF_MIN;
			refill(p);
			return;
		}
	}
}

pool_t *
pool_new(struct event_base *base, const upstream_conf_t *conf,
    unsigned target, void (*ready_cb)(void *, const upstream_t *),
    void (*lost_cb)(void *), void *arg)
{
	pool_t *p = xzalloc(sizeof(*p));

	p->base = base;
	p->conf = conf;
	p->target = target > POOL_MAX ? POOL_MAX : target;
	p->ready_cb = ready_cb;
	p->lost_cb = lost_cb;
	p->arg = arg;
	p->timer = evtimer_new(base, timer_cb, p);
	if (p->timer == NULL)
		fatalx("pool: evtimer_new failed");
	refill(p);
	return p;
}

void
pool_free(pool_t *p)
{
	if (p == NULL)
		return;
	while (p->n > 0)
		drop(p, p->v[0]);
	event_free(p->timer);
	free(p);
}

upstream_t *
pool_take(pool_t *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		spare_t *sp = p->v[i];
		upstream_t *u;
		if (!sp->ready)
			continue;
		u = sp->u;
		p->v[i] = p->v[--p->n];
		bufferevent_setcb(upstream_bev(u), NULL, NULL, NULL, NULL);
		free(sp);
		refill(p);
		return u;
	}
	refill(p);
	return NULL;
}

void
pool_drain(pool_t *p)
{
	p->drained = true;
	evtimer_del(p->timer);
	while (p->n > 0)
		drop(p, p->v[0]);
}

void
pool_resume(pool_t *p)
{
	if (!p->drained)
		return;
	p->drained = false;
	p->backoff = 0;
	refill(p);
}

unsigned
pool_ready(const pool_t *p)
{
	unsigned n = 0;

	for (unsigned i = 0; i < p->n; i++)
		n += p->v[i]->ready;
	return n;
}
