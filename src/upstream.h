/*
 * upstream.h: one authenticated control connection to tor.
 *
 * upstream_connect() connects to tor's control port or socket, asks
 * PROTOCOLINFO, and authenticates with the best method tor offers:
 * SAFECOOKIE, then COOKIE, then HASHEDPASSWORD (with --tor-password-file),
 * then NULL, and (in the same write as AUTHENTICATE) asks for tor's control
 * and SOCKS listeners, which the guard and restrict-stream-events need,
 * and its process id. When done it calls back once; on success the caller
 * takes the bufferevent over (upstream_take_bev()) and frees the
 * upstream_t.
 *
 * Each client session gets its own upstream connection: ephemeral onion
 * services and event subscriptions belong to a control connection, so two
 * clients must never share one.
 */
#ifndef TORGATE_UPSTREAM_H
#define TORGATE_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "torauth.h"

struct event_base;
struct bufferevent;

/*
 * What one connection teaches the next. Once a PROTOCOLINFO has offered
 * SAFECOOKIE and the cookie could be read, later connections send
 * AUTHCHALLENGE together with PROTOCOLINFO: one round trip to tor fewer
 * for every client. Cleared if tor stops offering it (the connection that
 * finds out fails; the next one asks first again). Owned by the daemon's
 * view of tor (torview.h), which resets it when tor changes.
 */
typedef struct upstream_hint {
	bool safecookie;
} upstream_hint_t;

typedef struct upstream_conf {
	tg_addr_t addr;          /* tor's control listener */
	const char *cookie_path; /* NULL: the COOKIEFILE tor names */
	const char *password_file;
	unsigned timeout_sec;    /* for connect + authentication */
	upstream_hint_t *hint;   /* shared by every connection; not NULL */
} upstream_conf_t;

typedef struct upstream upstream_t;

/* Called once: ok with the connection ready, or !ok with a reason. */
typedef void (*upstream_cb)(upstream_t *u, bool ok, const char *why,
    void *arg);

/* Start connecting; NULL only if no socket could be made (why in errno). */
upstream_t *upstream_connect(struct event_base *base,
    const upstream_conf_t *conf, upstream_cb cb, void *arg);

/* The bufferevent, still owned by u (for the pool to watch it idle). */
struct bufferevent *upstream_bev(upstream_t *u);
/* Hand the authenticated bufferevent to the caller (callbacks cleared). */
struct bufferevent *upstream_take_bev(upstream_t *u);
/* tor's version as PROTOCOLINFO reported it, e.g. "0.4.9.11". */
const char *upstream_tor_version(const upstream_t *u);
/* tor's control listeners as GETINFO net/listeners/control gave them
 * (a list of QuotedStrings), or NULL. */
const char *upstream_listeners(const upstream_t *u);
/* tor's SOCKS listeners (GETINFO net/listeners/socks), or NULL. */
const char *upstream_socks_listeners(const upstream_t *u);
/* tor's process id (GETINFO process/pid), or "" if not known. */
const char *upstream_tor_pid(const upstream_t *u);
/* The cookie used to authenticate, or NULL if tor offered no cookie
 * method (then AUTHCHALLENGE cannot be answered). */
const uint8_t *upstream_cookie(const upstream_t *u);
/* Connections are numbered in the order they are opened, from 1: u's
 * number, and the number the next one will get. What a connection learnt
 * reflects tor no earlier than when it was opened. */
uint64_t upstream_serial(const upstream_t *u);
uint64_t upstream_next_serial(void);

void upstream_free(upstream_t *u);

#endif
