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

static void note_cb(void *arg, const upstream_t *u);

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
	for (size_t i = 0; i < n_own; i++) {
		guard_targets_add(&tv->own, &own[i]);
		guard_targets_add(&tv->guard, &own[i]);
	}
	tv->onions = onions_new();
	tv->version = xstrdup("");
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
		tv->pool = pool_new(tv->base, &tv->conf, n, note_cb, tv);
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

/* Keep the guard's view of tor's control listeners current. */
static void
note_listeners(torview_t *tv, const char *list)
{
	if (list == NULL || (tv->tor_listeners != NULL &&
	    strcmp(tv->tor_listeners, list) == 0))
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
note_socks(torview_t *tv, const char *socks)
{
	if (socks == NULL || (tv->tor_socks != NULL &&
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

	if (version == NULL)
		version = "";
	if (tv->known && (strcmp(version, tv->version) != 0 ||
	    (cookie != NULL) != tv->have_cookie || (cookie != NULL &&
	    !ct_memeq(cookie, tv->cookie, TOR_COOKIE_LEN)))) {
		log_warnx("tor changed (restarted or replaced): forgetting "
		    "what torgate knew of the old one");
		torview_reset(tv);
	}
	tv->known = true;
	free(tv->version);
	tv->version = xstrdup(version);
	tv->have_cookie = cookie != NULL;
	if (cookie != NULL)
		memcpy(tv->cookie, cookie, TOR_COOKIE_LEN);
	note_listeners(tv, upstream_listeners(u));
	note_socks(tv, upstream_socks_listeners(u));
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
