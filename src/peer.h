/*
 * peer.h: who is on the other end of a client connection.
 *
 * Unix sockets: SO_PEERCRED gives uid, gid and pid as of connect(), and
 * aa_getpeercon() the AppArmor label, both from the kernel and free of
 * races. The executable path (/proc/PID/exe) is only a fallback for
 * unconfined clients. TCP: the peer address; IPv4-mapped IPv6 addresses
 * are shown in their IPv4 form.
 */
#ifndef TORGATE_PEER_H
#define TORGATE_PEER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

typedef struct peer {
	bool local;            /* unix socket or loopback TCP */
	bool is_unix;
	bool have_cred;        /* uid/gid/pid known */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64];         /* user name, or "" if unknown */
	char label[256];       /* AppArmor label ("" if none/unconfined) */
	char exe[PATH_MAX];    /* executable path ("" if unknown) */
	char host[64];         /* numeric address ("unix" for unix sockets) */
	unsigned port;
	char desc[PATH_MAX + 512]; /* one-line description for logs */
} peer_t;

/* Identify the peer of connected socket fd (sa: its address from accept).
 * Never fails: what cannot be learnt stays empty. */
void peer_identify(int fd, const struct sockaddr *sa, socklen_t salen,
    peer_t *out);

#endif
