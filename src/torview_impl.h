/*
 * torview_impl.h: the view's state, shared by torview.c (tor's listeners,
 * version, cookie, the pool) and torview_state.c (the owners of detached
 * onion services). Nothing outside the torview module includes it.
 */
#ifndef TORGATE_TORVIEW_IMPL_H
#define TORGATE_TORVIEW_IMPL_H

#include <sys/queue.h>
#include <sys/time.h>

#include <stdbool.h>
#include <stdint.h>

#include "guard.h"
#include "onions.h"
#include "pool.h"
#include "torview.h"
#include "upstream.h"

struct torview {
	struct event_base *base;
	upstream_conf_t conf;
	upstream_hint_t hint;
	guard_targets_t own;        /* torgate's listeners, tor's address */
	guard_targets_t guard;      /* those plus tor's control listeners */
	char *tor_listeners;        /* tor's list as last reported */
	guard_targets_t socks;      /* tor's SOCKS listeners */
	char *tor_socks;            /* as last reported */
	onions_t *onions;
	char *version;
	uint8_t cookie[TOR_COOKIE_LEN];
	bool have_cookie;
	char pid[24];               /* tor's process id, or "" */
	bool known;                 /* an upstream has reported */
	pool_t *pool;
	unsigned pool_target;
	/* Tor going away and coming back. */
	bool down;                  /* a connection was lost; probing */
	upstream_t *probe;          /* the probe under way, or NULL */
	struct event *probe_timer;  /* the next probe */
	struct event *notify;       /* calls the waiters back */
	unsigned retry_ms;          /* the pause before the next probe */
	unsigned retry_max_ms;
	struct timeval up_at;       /* when a probe last succeeded */
	TAILQ_HEAD(, torview_waiter) waiters;
	/* Reading tor's listeners again after a change (at most one). */
	upstream_t *lr_up;          /* the re-read under way, or NULL */
	bool lr_again;              /* another change came back meanwhile */
	/* Owners of detached services, kept across restarts (onionstate.h):
	 * NULL state_dir: not kept. */
	char *state_dir;
	torview_has_profile_fn has_profile;
	void *has_profile_arg;
	char *state_tor;            /* the file's tor identity, as read */
	onions_t *saved;            /* the file's entries, until reconciled;
	                             * marked detached once tor lists them */
	bool state_ready;           /* reconciled with this tor: saves go to
	                             * the file */
	bool state_dirty;           /* a save waits for the reconciliation */
	char *tor_id;               /* this tor's identity, once reconciled */
	/* The reconciliation in flight, on a connection of its own. */
	bool rc_busy;
	upstream_t *rc_up;          /* connecting */
	struct bufferevent *rc_bev; /* then asking */
	struct event *rc_timer;
	char *rc_version;           /* what its connection found of tor */
	uint8_t rc_cookie[TOR_COOKIE_LEN];
	bool rc_have_cookie;
	char *rc_pid;
	bool rc_in_data;            /* inside "250+onions/detached=" */
	size_t rc_listed;           /* detached services tor listed */
};

/* torview_state.c: ask tor which detached services it still has, on a
 * connection of its own; stop asking (the view is being reset or freed). */
void torview_reconcile_start(torview_t *tv);
void torview_reconcile_stop(torview_t *tv);

#endif
