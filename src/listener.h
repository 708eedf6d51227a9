/*
 * listener.h: the sockets torgate listens on (unix and TCP), each with its
 * optional bound profile. Accepted connections become sessions.
 */
#ifndef TORGATE_LISTENER_H
#define TORGATE_LISTENER_H

#include "addr.h"
#include "session.h"

typedef struct listener listener_t;

/*
 * A listener is made in two steps, so that sockets opened before the
 * daemon drops anything -- bound here, or inherited (systemd socket
 * activation) -- are served the same way:
 *   listener_bind() or listener_adopt()  a listening socket, no loop yet
 *   listener_start()                     accept from the event loop
 */

/* Bind and listen on spec; NULL with a logged reason on failure. A stale
 * unix socket file (nobody accepting) is replaced; a live one is not. */
listener_t *listener_bind(const listen_spec_t *spec);
/* Take over fd, a socket already listening (unix or TCP), optionally
 * bound to a profile; it is not unlinked on close. NULL (fd left open)
 * if fd is not a listening stream socket. */
listener_t *listener_adopt(int fd, const char *profile);
/* Accept connections from g's loop as sessions; 0 or -1 (logged). */
int listener_start(listener_t *l, gate_t *g);
void listener_free(listener_t *l);
/* The address, for logs and for the guard against exposing it. */
const tg_addr_t *listener_addr(const listener_t *l);

#endif
