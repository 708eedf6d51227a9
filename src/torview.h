/*
 * torview.h: the daemon's view of tor, in one place.
 *
 * Everything torgate knows about the tor it fronts, as opposed to what it
 * knows about one client: how to reach and authenticate to it (the
 * upstream configuration and the SAFECOOKIE hint), its version and cookie
 * as the last authenticated connection found them, its control listeners
 * (the guard's targets, together with torgate's own listeners), its SOCKS
 * listeners (stream ownership), which profile created which onion service,
 * and the pool of spare authenticated connections.
 *
 * With a state directory (torview_keep_state), the owners of detached
 * onion services are kept in a file (onionstate.h) and survive a restart
 * of torgate: at start, and whenever torgate finds a new tor, a connection
 * of its own asks tor which detached services it still has
 * (GETINFO onions/detached) and the file's services it lists keep their
 * owners, if the file is of this very tor instance; the rest are dropped
 * and the file is rewritten. Until then those services are owned by
 * nobody.
 *
 * Every new upstream connection reports what it learnt here
 * (torview_note_upstream). When that shows a different tor (another
 * process id, cookie or version: tor restarted or was replaced),
 * torview_reset() forgets everything that belonged to the old one in one
 * call.
 *
 * Changes to tor's listeners: a command that may change them (SETCONF,
 * RESETCONF of a guarded option, any LOADCONF) makes the guard's list
 * stale when it is sent (torview_listeners_changing): every onion-service
 * target is refused. Once its reply is in (torview_listeners_changed), a
 * connection of torgate's own reads them again; only a list learnt by a
 * connection opened after that (upstream_serial) clears the mark, and a
 * list learnt earlier is never applied (it may show the old listeners).
 * One re-read at a time; if it fails, the next new connection to tor
 * clears the mark.
 *
 * Tor going away: a session whose connection to tor ends, or that cannot
 * make one, calls torview_lost() and waits (torview_wait). The view is
 * then down: it drains the spare pool and probes tor with a full
 * authenticated connection, at once and then after 100 ms, doubling up to
 * a cap (torview_set_retry_max). The first probe that succeeds notes what
 * it found (a restarted tor is reset), resumes the pool and calls every
 * waiter back, each of which then makes its own connection.
 */
#ifndef TORGATE_TORVIEW_H
#define TORGATE_TORVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "addr.h"
#include "guard.h"
#include "onions.h"
#include "torauth.h"
#include "upstream.h"

struct event_base;

typedef struct torview torview_t;

/* One party waiting for tor to answer again; embedded in its owner. */
typedef struct torview_waiter {
	TAILQ_ENTRY(torview_waiter) link;
	void (*cb)(void *arg);
	void *arg;
	bool queued;
} torview_waiter_t;

/* A view of the tor at conf->addr (conf is copied; its strings must
 * outlive the view). own lists torgate's own listeners (n_own of them),
 * which the guard protects as well. */
torview_t *torview_new(struct event_base *base, const upstream_conf_t *conf,
    const tg_addr_t *own, size_t n_own);
void torview_free(torview_t *tv);

/* Keep `n` spare authenticated connections (0: none). */
void torview_start_pool(torview_t *tv, unsigned n);

/* A connection for a new client: a spare if one is ready (*ready set; the
 * caller calls its own callback), else a new connection that calls cb
 * when done. NULL if no socket could be made. */
upstream_t *torview_connect(torview_t *tv, upstream_cb cb, void *arg,
    bool *ready);

/* Record what an authenticated connection learnt of tor. */
void torview_note_upstream(torview_t *tv, const upstream_t *u);

/* Is tor reachable, as far as torgate knows (no connection lost or
 * failed since the last one that succeeded)? */
bool torview_is_up(const torview_t *tv);
/* A connection to tor ended or failed: tor may be restarting. Go down
 * (drain the pool, start probing) unless already down. */
void torview_lost(torview_t *tv);
/* Call cb(arg) once tor answers again (from the loop, never from inside
 * this call). w must stay valid until then or torview_unwait(). */
void torview_wait(torview_t *tv, torview_waiter_t *w, void (*cb)(void *),
    void *arg);
/* Stop waiting (no-op if w is not waiting). */
void torview_unwait(torview_t *tv, torview_waiter_t *w);
/* The longest pause between two probes, in ms (default 5000). */
void torview_set_retry_max(torview_t *tv, unsigned ms);

/* tor changed: forget its listeners, the onion services' owners, the
 * SAFECOOKIE hint and the spare connections. */
void torview_reset(torview_t *tv);

/* A command that may change tor's listeners is being sent: the guard's
 * list is stale until read again. */
void torview_listeners_changing(torview_t *tv);
/* Its reply is in (or will never come: the session ended): read tor's
 * listeners again on a connection of torgate's own. */
void torview_listeners_changed(torview_t *tv);

/* What the guard protects: tor's control listeners (those it lists and
 * the one torgate reaches it through) and torgate's own. */
const guard_targets_t *torview_guard(const torview_t *tv);
/* tor's SOCKS listeners. */
const guard_targets_t *torview_socks(const torview_t *tv);
/* Who created which onion service. */
onions_t *torview_onions(torview_t *tv);

/* Does a profile of this name exist (now)? For the log only: a service
 * whose profile is gone is kept, owned by a name no client has. */
typedef bool (*torview_has_profile_fn)(void *arg, const char *name);

/* Keep the owners of detached services in dir (onionstate.h): read the
 * file (a missing one is empty; an unreadable or corrupt one is logged
 * and owns nothing) and start reconciling it with tor. */
void torview_keep_state(torview_t *tv, const char *dir,
    torview_has_profile_fn has_profile, void *arg);

/* tor created sid for a client of profile (detached: Flags=Detach; else
 * it lives on the connection of session conn); false if the table is
 * full. Detached services are written to the state file. */
bool torview_onion_added(torview_t *tv, const char *profile, const char *sid,
    size_t len, bool detached, uint64_t conn);
/* The connection of session conn to tor ended: tor dropped sid with it,
 * if sid is still that connection's (onions_forget_conn). */
void torview_onion_conn_closed(torview_t *tv, const char *sid, size_t len,
    uint64_t conn);
/* tor deleted sid. */
void torview_onion_deleted(torview_t *tv, const char *sid, size_t len);
/* tor's version ("" until known). */
const char *torview_version(const torview_t *tv);
/* The cookie tor authenticated torgate with, or NULL if none. */
const uint8_t *torview_cookie(const torview_t *tv);

#endif
