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
 * unix socket file (nobody accepting) is replaced; a live one is not. A
 * unix socket file gets spec's group (needs root, or a group of ours)
 * and mode before it listens. */
listener_t *listener_bind(const listen_spec_t *spec);
/* Take over fd, a socket already listening (unix or TCP), optionally
 * bound to a profile; it is not unlinked on close. NULL (fd left open)
 * if fd is not a listening stream socket. */
listener_t *listener_adopt(int fd, const char *profile);
/*
 * Socket activation: adopt the sockets systemd passed (LISTEN_PID,
 * LISTEN_FDS, LISTEN_FDNAMES; sd_listen_fds(3)) and remove those
 * variables from the environment. A socket's name (the socket unit's
 * FileDescriptorName=) binds it to a profile as "profile=NAME"; a name
 * without '=' (the unit's own name, by default) binds none. Set *out to
 * a new array of *n listeners (none passed: NULL and 0) and return 0;
 * -1, logged, if any of them cannot be served (a socket that is not a
 * listening unix or TCP stream socket, a name torgate does not
 * understand): all are closed then, and torgate must not start.
 */
int listener_activated(listener_t ***out, size_t *n);
/* What a passed socket's name binds: 0 with *profile (pointing into
 * name) or NULL, or -1 if the name has a '=' and is not profile=NAME. */
int listener_fdname_profile(const char *name, const char **profile);
/* The group a listen spec's group= names (a name, or a number that is
 * not a name); 0, or -1 if there is none. */
int listener_group_id(const char *name, gid_t *gid);
/* Give the unix socket file at path group gid ((gid_t)-1: unchanged) and
 * mode; 0, or -1 with errno. */
int listener_socket_perms(const char *path, gid_t gid, mode_t mode);
/* Does l listen at a (same unix path, or same address and port)? */
bool listener_is_at(const listener_t *l, const tg_addr_t *a);
/* The profile l binds, or NULL. */
const char *listener_profile(const listener_t *l);
/* Accept connections from g's loop as sessions; 0 or -1 (logged). */
int listener_start(listener_t *l, gate_t *g);
void listener_free(listener_t *l);
/* The address, for logs and for the guard against exposing it. */
const tg_addr_t *listener_addr(const listener_t *l);

#endif
