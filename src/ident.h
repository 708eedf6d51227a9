/*
 * ident.h: identifying clients without ever making the event loop wait.
 *
 * What the kernel records on a socket is read at once (peer.h's
 * peer_identify_fast: SO_PEERCRED, the AppArmor label, sock_diag's uid).
 * What takes time -- a user name not cached yet (NSS may ask a remote
 * directory), the /proc scan that finds a loopback TCP client's process --
 * is done by a separate identifying process, forked at start, which gets
 * the client's socket itself (SCM_RIGHTS), so it re-derives every fact
 * from the kernel instead of trusting what the asking side says, never
 * reads or writes a byte on it, and closes it when done. Meanwhile the
 * session waits in its "identifying" state and every other client is
 * served.
 *
 * The identifying process does one job over one socketpair with one
 * message type (IDENTIFY: socket and address in, peer_t out). If it dies,
 * torgate exits (a daemon that can no longer tell its clients apart must
 * not go on guessing); if torgate dies, it sees EOF and exits.
 */
#ifndef TORGATE_IDENT_H
#define TORGATE_IDENT_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "peer.h"

struct event_base;

typedef struct ident ident_t;
typedef struct ident_req ident_req_t;

/* Called once with the client's identity (as complete as could be had). */
typedef void (*ident_cb)(void *arg, const peer_t *peer);

/* Fork the identifying process (the monitor). Call before the event loop
 * has any client; the child keeps no descriptor but its end of the
 * socketpair and the standard ones, then calls confine(arg) (if not NULL:
 * dropping privileges, loading its filter) before it serves its first
 * request. Fatal on failure. */
ident_t *ident_spawn(void (*confine)(void *), void *arg);
/* The identifying process's pid, or -1. */
pid_t ident_pid(const ident_t *id);
/* Start watching the identifying process's replies from base. */
void ident_attach(ident_t *id, struct event_base *base);
/* Stop it and free everything (pending callbacks are never called). */
void ident_free(ident_t *id);

/*
 * Identify the client on connected socket fd (sa: its address from
 * accept). If no slow step is needed, fill *out and return NULL: cb is not
 * called. Otherwise return a request; cb(arg, peer) is called once from
 * the loop when the identifying process answers. id may be NULL (no
 * identifying process, e.g. in tests): then every step is done at once.
 */
ident_req_t *ident_start(ident_t *id, int fd, const struct sockaddr *sa,
    socklen_t salen, bool want_program, peer_t *out, ident_cb cb,
    void *arg);
/* Forget a request: its callback will not be called. */
void ident_cancel(ident_req_t *r);

/* Requests waiting for an answer (for tests and logs). */
unsigned ident_pending(const ident_t *id);

#endif
