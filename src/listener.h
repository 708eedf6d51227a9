/*
 * listener.h: the sockets torgate listens on (unix and TCP), each with its
 * optional bound profile. Accepted connections become sessions.
 */
#ifndef TORGATE_LISTENER_H
#define TORGATE_LISTENER_H

#include "addr.h"
#include "session.h"

typedef struct listener listener_t;

/* Bind and listen on spec; NULL with a logged reason on failure. A stale
 * unix socket file (nobody accepting) is replaced; a live one is not. */
listener_t *listener_open(gate_t *g, const listen_spec_t *spec);
void listener_free(listener_t *l);
/* The address, for logs and for the guard against exposing it. */
const tg_addr_t *listener_addr(const listener_t *l);

#endif
