/*
 * torview.c: the daemon's view of tor: its listeners, version and cookie,
 * the spare pool. The owners of detached onion services are in
 * torview_state.c. See torview.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "pool.h"
#include "torview.h"
#include "torview_impl.h"
#include "util.h"

/* The first pause between probes; it doubles up to retry_max_ms. A tor
 * restarting on the same machine answers again within a second or two. */
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS_DEFAULT 5000

static void note_cb(void *arg, const upstream_t *u);
static void lost_cb(void *arg);
static void probe_timer_cb(evutil_socket_t fd, short what, void *arg);
static void notify_cb(evutil_socket_t fd, short what, void *arg);

torview_t *
torview_new(struct event_base *base, const upstream_conf_t *conf,
    const tg_addr_t *own, size_t n_own)
{
	torview_t *tv = xzalloc(sizeof(*tv));

	tv->base = base;
	tv->conf = *conf;
	tv->conf.hint = &tv->hint;
	/* The guard compares unix targets by the file they resolve to. */
	tv->guard.resolve = addr_file_id;
	for (size_t i = 0; i < n_own; i++)
		guard_targets_add(&tv->own, &own[i]);
	/* The address torgate reaches tor through is a control listener
	 * whatever tor lists (or if it lists nothing). */
	guard_targets_add(&tv->own, &conf->addr);
	for (size_t i = 0; i < tv->own.n; i++)
		guard_targets_add(&tv->guard, &tv->own.v[i]);
	tv->onions = onions_new();
	tv->version = xstrdup("");
	tv->retry_max_ms = RETRY_MAX_MS_DEFAULT;
	TAILQ_INIT(&tv->waiters);
	tv->probe_timer = evtimer_new(base, probe_timer_cb, tv);
	tv->notify = event_new(base, -1, 0, notify_cb, tv);
	if (tv->probe_timer == NULL || tv->notify == NULL)
		fatalx("torview: event_new failed");
	return tv;
}

void
torview_free(torview_t *tv)
{
	if (tv == NULL)
		return;
	pool_free(tv->pool);
	torview_reconcile_stop(tv);
	free(tv->state_dir);
	free(tv->state_tor);
	free(tv->tor_id);
	onions_free(tv->saved);
	upstream_free(tv->probe);
	upstream_free(tv->lr_up);
	event_free(tv->probe_timer);
	event_free(tv->notify);
	guard_targets_clear(&tv->own);
	guard_targets_clear(&tv->guard);
	guard_targets_clear(&tv->socks);
	free(tv->tor_listeners);
	free(tv->tor_socks);
	onions_free(tv->onions);
	free(tv->version);
	memwipe(tv->cookie, sizeof(tv->cookie));
	free(tv);
}

void
torview_start_pool(torview_t *tv, unsigned n)
{
	pool_free(tv->pool);
	tv->pool = NULL;
	tv->pool_target = n;
	if (n > 0)
		tv->pool = pool_new(tv->base, &tv->conf, n, note_cb, lost_cb,
		    tv);
	if (tv->pool != NULL && tv->down)
		pool_drain(tv->pool);
}

upstream_t *
torview_connect(torview_t *tv, upstream_cb cb, void *arg, bool *ready)
{
	upstream_t *u;

	*ready = false;
	if (tv->pool != NULL && (u = pool_take(tv->pool)) != NULL) {
		*ready = true;
		return u;
	}
	return upstream_connect(tv->base, &tv->conf, cb, arg);
}

/* Keep the guard's view of tor's control listeners current, with a list
 * learnt by connection number serial. A list from a connection opened
 * before the last change torgate sent may show the old listeners: it is
 * not applied. No list (tor would not say) leaves a stale view stale. */
static void
note_listeners(torview_t *tv, const char *list, uint64_t serial)
{
	bool was_stale = tv->guard.stale != NULL;

	if (list == NULL)
		return;
	if (!guard_targets_list_fresh(&tv->guard, serial)) {
		log_debug("tor's control listeners as a connection opened "
		    "before the last change saw them: not applied");
		return;
	}
	if (was_stale)
		log_info("tor's control listeners read again: %s", list);
	if (tv->tor_listeners != NULL && strcmp(tv->tor_listeners, list) == 0)
		return;
	free(tv->tor_listeners);
	tv->tor_listeners = xstrdup(list);
	guard_targets_clear(&tv->guard);
	for (size_t i = 0; i < tv->own.n; i++)
		guard_targets_add(&tv->guard, &tv->own.v[i]);
	guard_targets_add_tor_list(&tv->guard, list, strlen(list));
	log_info("tor's control listeners: %s", list);
}

static void
note_socks(torview_t *tv, const char *socks, uint64_t serial)
{
	if (socks == NULL || serial < tv->guard.fresh_from ||
	    (tv->tor_socks != NULL &&
	    strcmp(tv->tor_socks, socks) == 0))
		return;
	free(tv->tor_socks);
	tv->tor_socks = xstrdup(socks);
	guard_targets_clear(&tv->socks);
	guard_targets_add_tor_list(&tv->socks, socks, strlen(socks));
}

void
torview_note_upstream(torview_t *tv, const upstream_t *u)
{
	const uint8_t *cookie = upstream_cookie(u);
	const char *version = upstream_tor_version(u);
	const char *pid = upstream_tor_pid(u);

	if (version == NULL)
		version = "";
	if (tv->known && (strcmp(version, tv->version) != 0 ||
	    strcmp(pid, tv->pid) != 0 ||
	    (cookie != NULL) != tv->have_cookie || (cookie != NULL &&
	    !ct_memeq(cookie, tv->cookie, TOR_COOKIE_LEN)))) {
		log_warnx("tor changed (restarted or replaced): forgetting "
		    "what torgate knew of the old one");
		torview_reset(tv);
	}
	tv->known = true;
	snprintf(tv->pid, sizeof(tv->pid), "%s", pid);
	free(tv->version);
	tv->version = xstrdup(version);
	tv->have_cookie = cookie != NULL;
	if (cookie != NULL)
		memcpy(tv->cookie, cookie, TOR_COOKIE_LEN);
	note_listeners(tv, upstream_listeners(u), upstream_serial(u));
	note_socks(tv, upstream_socks_listeners(u), upstream_serial(u));
	/* A new tor (or the first one, or one torgate could not ask yet):
	 * find out which of the detached services it still has. */
	if (!tv->state_ready && tv->state_dir != NULL && !tv->rc_busy)
		torview_reconcile_start(tv);
}

static void
note_cb(void *arg, const upstream_t *u)
{
	torview_note_upstream(arg, u);
}

/* ---- tor's listeners changing -------------------------------------------- */

static void reread_start(torview_t *tv);

void
torview_listeners_changing(torview_t *tv)
{
	if (tv->guard.stale == NULL)
		log_info("a command that may change tor's listeners was sent: "
		    "onion-service targets are refused until torgate has "
		    "read them again");
	guard_targets_mark_stale(&tv->guard, upstream_next_serial());
}

/*
 * tor has acted on the change: only what a connection opened from now on
 * learns shows its listeners for sure (one opened between the command and
 * its reply may have asked before tor read the command).
 */
void
torview_listeners_changed(torview_t *tv)
{
	guard_targets_mark_stale(&tv->guard, upstream_next_serial());
	if (tv->lr_up != NULL) {
		/* The re-read under way was opened too early; another
		 * follows it. */
		tv->lr_again = true;
		return;
	}
	reread_start(tv);
}

static void
reread_done(upstream_t *u, bool ok, const char *why, void *arg)
{
	torview_t *tv = arg;

	if (ok)
		torview_note_upstream(tv, u);
	else
		log_warnx("cannot read tor's control listeners again (%s); "
		    "onion-service targets are refused until the next "
		    "connection to tor", why);
	upstream_free(tv->lr_up);
	tv->lr_up = NULL;
	if (tv->lr_again)
		reread_start(tv);
}

static void
reread_start(torview_t *tv)
{
	tv->lr_again = false;
	tv->lr_up = upstream_connect(tv->base, &tv->conf, reread_done, tv);
	if (tv->lr_up == NULL)
		log_warn("cannot read tor's control listeners again; "
		    "onion-service targets are refused until the next "
		    "connection to tor");
}

/* ---- tor going away and coming back -------------------------------------- */

bool
torview_is_up(const torview_t *tv)
{
	return !tv->down;
}

static void probe(torview_t *tv);

static void
probe_later(torview_t *tv)
{
	struct timeval t = { tv->retry_ms / 1000,
		(suseconds_t)(tv->retry_ms % 1000) * 1000 };

	evtimer_add(tv->probe_timer, &t);
	tv->retry_ms = tv->retry_ms >= tv->retry_max_ms / 2 ?
	    tv->retry_max_ms : tv->retry_ms * 2;
}

static void
probe_done(upstream_t *u, bool ok, const char *why, void *arg)
{
	torview_t *tv = arg;

	if (!ok) {
		log_info("tor is still away: %s; next try in %u ms", why,
		    tv->retry_ms);
		upstream_free(tv->probe);
		tv->probe = NULL;
		probe_later(tv);
		return;
	}
	torview_note_upstream(tv, u);
	upstream_free(tv->probe);
	tv->probe = NULL;
	tv->down = false;
	event_base_gettimeofday_cached(tv->base, &tv->up_at);
	log_warnx("tor answers again%s%s", tv->version[0] ? ": " : "",
	    tv->version);
	if (tv->pool != NULL)
		pool_resume(tv->pool);
	if (!TAILQ_EMPTY(&tv->waiters))
		event_active(tv->notify, 0, 0);
}

/* Try an authenticated connection: the cookie is read afresh (tor writes
 * a new one when it starts). */
static void
probe(torview_t *tv)
{
	if (tv->probe != NULL || !tv->down)
		return;
	tv->probe = upstream_connect(tv->base, &tv->conf, probe_done, tv);
	if (tv->probe == NULL) {
		log_warn("cannot connect to tor");
		probe_later(tv);
	}
}

static void
probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	probe(arg);
}

/*
 * The first probe goes at once, unless tor was lost again soon after it
 * answered (connections that fail while probes succeed): then the pauses
 * go on growing, so tor is never hammered.
 */
void
torview_lost(torview_t *tv)
{
	struct timeval now;
	long long since_ms;

	if (tv->down)
		return;
	log_warnx("lost tor at %s; waiting for it to answer again",
	    tv->conf.addr.text);
	tv->down = true;
	if (tv->pool != NULL)
		pool_drain(tv->pool);
	event_base_gettimeofday_cached(tv->base, &now);
	since_ms = (long long)(now.tv_sec - tv->up_at.tv_sec) * 1000 +
	    (now.tv_usec - tv->up_at.tv_usec) / 1000;
	if (tv->retry_ms == 0 || since_ms < 0 ||
	    since_ms >= (long long)tv->retry_max_ms) {
		tv->retry_ms = RETRY_MIN_MS;
		probe(tv);
	} else {
		probe_later(tv);
	}
}

/* The pool saw tor close a spare: tor may be going away. */
static void
lost_cb(void *arg)
{
	torview_lost(arg);
}

/* Tor answers: call the waiters back, oldest first. A waiter may find tor
 * gone again (and wait anew): then the rest keep waiting. */
static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	torview_t *tv = arg;
	torview_waiter_t *w;

	while (!tv->down && (w = TAILQ_FIRST(&tv->waiters)) != NULL) {
		TAILQ_REMOVE(&tv->waiters, w, link);
		w->queued = false;
		w->cb(w->arg);
	}
}

void
torview_wait(torview_t *tv, torview_waiter_t *w, void (*cb)(void *),
    void *arg)
{
	if (w->queued)
		TAILQ_REMOVE(&tv->waiters, w, link);
	w->cb = cb;
	w->arg = arg;
	w->queued = true;
	TAILQ_INSERT_TAIL(&tv->waiters, w, link);
	if (!tv->down)
		event_active(tv->notify, 0, 0);
}

void
torview_unwait(torview_t *tv, torview_waiter_t *w)
{
	if (!w->queued)
		return;
	TAILQ_REMOVE(&tv->waiters, w, link);
	w->queued = false;
}

void
torview_set_retry_max(torview_t *tv, unsigned ms)
{
	tv->retry_max_ms = ms < RETRY_MIN_MS ? RETRY_MIN_MS : ms;
}

void
torview_reset(torview_t *tv)
{
	tv->known = false;
	tv->hint.safecookie = false;
	FREE(tv->tor_listeners);
	FREE(tv->tor_socks);
	guard_targets_clear(&tv->guard);
	for (size_t i = 0; i < tv->own.n; i++)
		guard_targets_add(&tv->guard, &tv->own.v[i]);
	guard_targets_clear(&tv->socks);
	onions_free(tv->onions);
	tv->onions = onions_new();
	memwipe(tv->cookie, sizeof(tv->cookie));
	tv->have_cookie = false;
	/* The old tor's detached services died with it: the file is
	 * rewritten for the new one once it is reconciled. */
	tv->state_ready = false;
	FREE(tv->tor_id);
	tv->pid[0] = '\0';
	/* Spares need no attention: the old tor closed their connections
	 * (the pool drops them and refills from the new one). */
}

const guard_targets_t *
torview_guard(const torview_t *tv)
{
	return &tv->guard;
}

const guard_targets_t *
torview_socks(const torview_t *tv)
{
	return &tv->socks;
}

onions_t *
torview_onions(torview_t *tv)
{
	return tv->onions;
}

const char *
torview_version(const torview_t *tv)
{
	return tv->version;
}

const uint8_t *
torview_cookie(const torview_t *tv)
{
	return tv->have_cookie ? tv->cookie : NULL;
}
