/*
 * peer.h: who is on the other end of a client connection.
 *
 * Unix sockets: SO_PEERCRED gives uid, gid and pid as of connect(), and
 * aa_getpeercon() the AppArmor label, both from the kernel and free of
 * races. The executable path (/proc/PID/exe) is only a fallback for
 * unconfined clients.
 *
 * Loopback TCP (127/8, ::1, ::ffff:127/104): NETLINK_SOCK_DIAG names the
 * uid owning the client's end of the connection, race-free; the pid
 * holding that socket is then looked up in /proc (best-effort), and from
 * it the AppArmor label or the executable path.
 *
 * Other TCP: the peer address only; IPv4-mapped IPv6 addresses are shown
 * in their IPv4 form. peer.c explains which facts can be trusted how far.
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
	bool have_cred;        /* uid/gid/pid known (SO_PEERCRED, unix only) */
	uid_t uid;             /* valid if have_uid */
	gid_t gid;             /* valid if have_cred */
	pid_t pid;             /* valid if have_pid */
	char user[64];         /* user name (or numeric uid if it has no
	                        * name) when have_uid, else "" */
	char label[256];       /* AppArmor label ("" if none/unconfined) */
	char exe[PATH_MAX];    /* executable path ("" if unknown) */
	char host[64];         /* numeric address ("unix" for unix sockets) */
	unsigned port;
	char desc[PATH_MAX + 512]; /* one-line description for logs */
	/* Added with loopback TCP identification; the fields above keep
	 * their place and meaning. */
	bool have_uid;         /* uid known: SO_PEERCRED, or sock_diag for
	                        * loopback TCP */
	bool have_pid;         /* pid known: SO_PEERCRED, or the /proc scan
	                        * for loopback TCP (best-effort) */
	unsigned long inode;   /* loopback TCP: inode of the client's socket
	                        * (sock_diag), 0 if unknown */
} peer_t;

/* Which uid owns the TCP socket whose source is src and destination dst
 * (a loopback connection seen from either end)? true with *uid. */
bool peer_tcp_owner(const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, uid_t *uid);

/* Identify the peer of connected socket fd (sa: its address from accept).
 * Never fails and is bounded in time (no DNS; the /proc scan for loopback
 * TCP stops after a fixed number of descriptors or milliseconds): what
 * cannot be learnt stays empty. The user name comes from getpwuid_r(),
 * i.e. from NSS. */
/* want_program false skips what only program qualifiers need: the
 * executable path, and for a loopback TCP client the /proc scan for its
 * process (the costliest step). */
void peer_identify(int fd, const struct sockaddr *sa, socklen_t salen,
    bool want_program, peer_t *out);

/*
 * The same, but only what needs no waiting: kernel facts on the socket
 * (SO_PEERCRED, the AppArmor label, sock_diag's uid, the executable of a
 * unix peer) and user names already cached. Return true if *out is then
 * complete; false if a slow step was left out (a user name not cached
 * yet, the /proc scan for a loopback TCP client's process): then call
 * peer_identify() where waiting does not matter (ident.h).
 */
bool peer_identify_fast(int fd, const struct sockaddr *sa, socklen_t salen,
    bool want_program, peer_t *out);

/* Remember uid's name, as learnt elsewhere (the identifying process). */
void peer_cache_user(uid_t uid, const char *name);

#endif
