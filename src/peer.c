/*
 * peer.c: client identity. See peer.h.
 *
 * What can be trusted, and how far.
 *
 * Race-free: facts the kernel recorded on the socket itself, describing
 * whoever created or connected it, whatever that process did since:
 *  - unix sockets: SO_PEERCRED (uid, gid, pid as of connect()) and
 *    aa_getpeercon() (the AppArmor label of the connecting task);
 *  - loopback TCP: the uid owning the client's end of the connection,
 *    from NETLINK_SOCK_DIAG (idiag_uid: the fsuid of the process that
 *    created that socket; only CAP_CHOWN can change it). The query is an
 *    exact lookup of the connection's 4-tuple, mirrored (the client's
 *    socket has our peer address as its source and our local address as
 *    its destination), and the 4-tuple stays unique while we hold our end
 *    open. A client end in TIME_WAIT carries no owner and is ignored.
 *
 * Best-effort: hints that a process can influence after connecting.
 *  - loopback TCP pid: the first process found holding the socket's
 *    inode, scanning the /proc/PID/fd/ links of every process. A socket
 *    can be shared (fork, SCM_RIGHTS), so another holder may be found
 *    first, and the scan is capped (descriptors and time), so none may
 *    be found. A TCP client's AppArmor label (aa_gettaskcon, the task's
 *    label, not the socket's) and exe come from that pid.
 *  - exe paths (both socket kinds): /proc/PID/exe is read after the
 *    fact, so a client that exec()s after connecting shows its new
 *    program. Pid reuse is guarded against: a label or exe is kept only
 *    if the very process we looked at (an open /proc/PID directory, and
 *    for unix sockets a SO_PEERPIDFD pidfd where the kernel has it) is
 *    still there after the read.
 * Programs of one user are therefore told apart reliably only over a
 * unix socket, by their AppArmor label; the other facts separate users.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "addr.h"
#include "log.h"
#include "peer.h"
#include "util.h"

/* Bounds on the /proc scan for a loopback TCP client's process. */
#define SCAN_MAX_FDS		65536
#define SCAN_MAX_MSEC		100
/* How long to wait for the kernel's sock_diag answer. */
#define DIAG_TIMEOUT_MSEC	200

/* TCP states (include/net/tcp_states.h) that carry no socket owner. */
#define TG_TCP_TIME_WAIT	6
#define TG_TCP_NEW_SYN_RECV	12

/* SO_PEERPIDFD (Linux 6.5) is 77 where the asm-generic socket option
 * numbers apply; headers older than the kernel may lack it. */
#if !defined(SO_PEERPIDFD) && (defined(__x86_64__) || defined(__i386__) || \
    defined(__aarch64__) || defined(__arm__) || defined(__riscv) || \
    defined(__s390__) || defined(__powerpc__) || defined(__loongarch__))
#define SO_PEERPIDFD 77
#endif

/* User names are looked up through NSS (which may read /etc/passwd on
 * every call) at most once a minute per uid: a small cache. */
#define USER_CACHE 16
#define USER_CACHE_SECS 60

static struct {
	uid_t uid;
	time_t when;
	char name[64];
} user_cache[USER_CACHE];
static unsigned user_cache_next;

/* The cached name of p->uid into p->user; false if not cached. */
static bool
cached_user(peer_t *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (unsigned i = 0; i < USER_CACHE; i++)
		if (user_cache[i].when != 0 && user_cache[i].uid == p->uid &&
		    now.tv_sec - user_cache[i].when < USER_CACHE_SECS) {
			snprintf(p->user, sizeof(p->user), "%s",
			    user_cache[i].name);
			return true;
		}
	return false;
}

void
peer_cache_user(uid_t uid, const char *name)
{
	struct timespec now;
	unsigned slot;

	clock_gettime(CLOCK_MONOTONIC, &now);
	slot = user_cache_next++ % USER_CACHE;
	user_cache[slot].uid = uid;
	user_cache[slot].when = now.tv_sec ? now.tv_sec : 1;
	snprintf(user_cache[slot].name, sizeof(user_cache[slot].name), "%s",
	    name);
}

/* p->user for p->uid: from the cache, else (unless fast) through NSS,
 * which may take long (a remote directory). false if left unknown. */
static bool
lookup_user(peer_t *p, bool fast)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (cached_user(p))
		return true;
	if (fast)
		return false;
	if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(p->user, sizeof(p->user), "%s", pw.pw_name);
	else
		snprintf(p->user, sizeof(p->user), "%u", (unsigned)p->uid);
	peer_cache_user(p->uid, p->user);
	return true;
}

/* Open /proc/PID as a directory: it stays bound to that process, and
 * lookups under it fail once the process is gone, even if the pid is
 * reused. */
static int
open_piddir(pid_t pid)
{
	char path[32];

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Does the process behind piddir still exist (possibly as a zombie, which
 * still holds its pid)? */
static bool
piddir_alive(int piddir)
{
	int d = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (d < 0)
		return false;
	close(d);
	return true;
}

static void
read_exe(peer_t *p, int piddir)
{
	ssize_t n = readlinkat(piddir, "exe", p->exe, sizeof(p->exe) - 1);

	if (n < 0 || (size_t)n >= sizeof(p->exe) - 1)
		n = 0;  /* unknown, or possibly truncated: unusable */
	p->exe[n] = '\0';
}

/* "unconfined" carries no identity: the exe path stands in for it. */
static void
set_label(peer_t *p, const char *con)
{
	if (con != NULL && con[0] != '\0' && strcmp(con, "unconfined") != 0 &&
	    strlen(con) < sizeof(p->label))
		snprintf(p->label, sizeof(p->label), "%s", con);
}

static void
lookup_peercon(peer_t *p, int fd)
{
	char *con = NULL, *mode = NULL;

	if (aa_getpeercon(fd, &con, &mode) < 0)
		return;
	set_label(p, con);
	free(con);
}

/* ---- unix sockets ---------------------------------------------------- */

/* A pidfd for the process that connected, or -1 (old kernel: *known is
 * false; process gone: *known is true). */
static int
peer_pidfd(int fd, bool *known)
{
	*known = false;
#ifdef SO_PEERPIDFD
	int pfd = -1;
	socklen_t len = sizeof(pfd);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pfd, &len) == 0) {
		if (len == sizeof(pfd) && pfd >= 0) {
			*known = true;
			return pfd;
		}
		return -1;
	}
	if (errno != ENOPROTOOPT && errno != EOPNOTSUPP)
		*known = true;  /* supported, but the process is gone */
#else
	(void)fd;
#endif
	return -1;
}

/* Is the process behind pidfd still running? */
static bool
pidfd_alive(int pfd)
{
	struct pollfd pf = { .fd = pfd, .events = POLLIN };

	/* A pidfd becomes readable when its process exits. */
	return poll(&pf, 1, 0) == 0;
}

static bool
identify_unix(peer_t *out, int fd, bool want_program, bool fast)
{
	bool complete = true;

	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	    len == sizeof(cred)) {
		out->have_cred = out->have_uid = true;
		out->uid = cred.uid;
		out->gid = cred.gid;
		out->pid = cred.pid;
		out->have_pid = cred.pid > 0;
		complete = lookup_user(out, fast);
	}
	lookup_peercon(out, fd);

	/* The exe (policy only uses it when there is no label). */
	if (out->have_pid && want_program) {
		bool known;
		int piddir = open_piddir(out->pid);
		int pfd = peer_pidfd(fd, &known);

		if (piddir >= 0)
			read_exe(out, piddir);
		/* While the connecting process lives, its pid is its own, so
		 * /proc/PID was that process when we opened it. */
		if (known && (pfd < 0 || !pidfd_alive(pfd)))
			out->exe[0] = '\0';
		if (pfd >= 0)
			close(pfd);
		if (piddir >= 0)
			close(piddir);
		/* The worker cannot read another user's exe: the monitor,
		 * which may, reads it then. */
		if (fast && out->exe[0] == '\0')
			complete = false;
	}

	if (out->have_cred)
		snprintf(out->desc, sizeof(out->desc),
		    "unix peer uid=%u(%s) pid=%d%s%s%s%s",
		    (unsigned)out->uid, out->user, (int)out->pid,
		    out->label[0] ? " label=" : "", out->label,
		    out->exe[0] ? " exe=" : "", out->exe);
	else
		snprintf(out->desc, sizeof(out->desc),
		    "unix peer (credentials unknown)%s%s",
		    out->label[0] ? " label=" : "", out->label);
	return complete;
}

/* ---- loopback TCP ---------------------------------------------------- */

/* One end of a TCP connection, IPv4-mapped addresses folded to IPv4. */
struct endpoint {
	int family;
	uint32_t addr[4];   /* network order; IPv4 in addr[0] */
	uint16_t port;      /* network order */
};

static bool
endpoint_from(const struct sockaddr_storage *ss, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		e->family = AF_INET;
		memcpy(e->addr, &sin->sin_addr, 4);
		e->port = sin->sin_port;
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			e->family = AF_INET;
			memcpy(e->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			e->family = AF_INET6;
			memcpy(e->addr, &sin6->sin6_addr, 16);
		}
		e->port = sin6->sin6_port;
		return true;
	}
	return false;
}

/* Does an address in a sock_diag answer (family fam) equal want? An
 * IPv6 socket carrying IPv4 is reported with IPv4-mapped addresses. */
static bool
diag_addr_eq(int fam, const uint32_t got[4], const struct endpoint *want)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	if (want->family == AF_INET) {
		if (fam == AF_INET)
			return got[0] == want->addr[0];
		return fam == AF_INET6 && memcmp(got, mapped, 12) == 0 &&
		    got[3] == want->addr[0];
	}
	return fam == AF_INET6 && memcmp(got, want->addr, 16) == 0;
}

/* Ask the kernel who owns the socket with source src and destination dst.
 * true with *uid and *inode (0 if the socket has no file any more). */
static bool
sock_diag_owner(const struct endpoint *src, const struct endpoint *dst,
    uid_t *uid, unsigned long *inode)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg;
	union {
		struct nlmsghdr nlh;
		char buf[8192];
	} rep;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK }, from;
	struct timeval tv = { .tv_sec = 0, .tv_usec = DIAG_TIMEOUT_MSEC * 1000 };
	socklen_t fromlen;
	bool ok = false;
	int nl;

	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0) {
		log_debug("sock_diag: socket: %s", strerror(errno));
		return false;
	}
	if (setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(nl, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto out;

	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = sizeof(msg);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST;   /* no NLM_F_DUMP: exact */
	msg.nlh.nlmsg_seq = ++seq;
	msg.req.sdiag_family = (uint8_t)src->family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0U;
	msg.req.id.idiag_sport = src->port;
	msg.req.id.idiag_dport = dst->port;
	memcpy(msg.req.id.idiag_src, src->addr, sizeof(src->addr));
	memcpy(msg.req.id.idiag_dst, dst->addr, sizeof(dst->addr));
	msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	if (sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel,
	    sizeof(kernel)) != (ssize_t)sizeof(msg)) {
		log_debug("sock_diag: send: %s", strerror(errno));
		goto out;
	}
	/* The kernel answers during sendto(): a few reads at most. */
	for (int tries = 0; tries < 4; tries++) {
		fromlen = sizeof(from);
		ssize_t n = recvfrom(nl, rep.buf, sizeof(rep.buf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_debug("sock_diag: recv: %s", strerror(errno));
			goto out;
		}
		if (fromlen < sizeof(from) || from.nl_family != AF_NETLINK ||
		    from.nl_pid != 0)
			continue;   /* not from the kernel */
		int len = (int)n;   /* int: NLMSG_NEXT may go below 0 */
		/* NLMSG_OK() spelt out: the macro compares a u32 with an int,
		 * which clang flags. */
		for (struct nlmsghdr *h = &rep.nlh;
		    len >= (int)sizeof(*h) && h->nlmsg_len >= sizeof(*h) &&
		    h->nlmsg_len <= (unsigned)len;
		    h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != msg.nlh.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)))
					log_debug("sock_diag: %s",
					    strerror(-e->error));
				goto out;
			}
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(
			    struct inet_diag_msg)))
				continue;
			const struct inet_diag_msg *r = NLMSG_DATA(h);
			/* Defensive: the answer is about the socket we
			 * asked for, and that socket has an owner. */
			if (r->id.idiag_sport != src->port ||
			    r->id.idiag_dport != dst->port ||
			    !diag_addr_eq(r->idiag_family, r->id.idiag_src,
			    src) ||
			    !diag_addr_eq(r->idiag_family, r->id.idiag_dst,
			    dst) ||
			    r->idiag_state == TG_TCP_TIME_WAIT ||
			    r->idiag_state == TG_TCP_NEW_SYN_RECV)
				goto out;
			*uid = (uid_t)r->idiag_uid;
			*inode = r->idiag_inode;
			ok = true;
			goto out;
		}
	}
out:
	close(nl);
	return ok;
}

static long
elapsed_msec(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static pid_t
parse_pid(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 0x3fffffff / 10)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return (pid_t)v;
}

/* Find a process holding socket inode ino: its /proc/PID directory fd
 * (see open_piddir) with *pid, or -1. Bounded by SCAN_MAX_FDS descriptors
 * and SCAN_MAX_MSEC; unreadable processes are skipped. */
static int
find_socket_holder(unsigned long ino, pid_t *pid)
{
	char want[64], got[64];
	int wantlen, found = -1;
	unsigned long seen = 0;
	bool stop = false;
	struct timespec t0;
	struct dirent *de;
	/* Neither this process nor torgate's other one (the scan runs in the
	 * identifying process, whose parent holds every session's
	 * descriptors) can be the client. */
	pid_t self = getpid(), parent = getppid();
	DIR *proc;

	wantlen = snprintf(want, sizeof(want), "socket:[%lu]", ino);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	proc = opendir("/proc");
	if (proc == NULL)
		return -1;
	while (!stop && found < 0 && (de = readdir(proc)) != NULL) {
		pid_t p = parse_pid(de->d_name);
		if (p <= 0 || p == self || p == parent)
			continue;
		if (elapsed_msec(&t0) > SCAN_MAX_MSEC) {
			stop = true;
			break;
		}
		int piddir = openat(dirfd(proc), de->d_name,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (piddir < 0)
			continue;
		int fdd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		DIR *fds = fdd >= 0 ? fdopendir(fdd) : NULL;
		if (fds == NULL) {
			if (fdd >= 0)
				close(fdd);
			close(piddir);
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(fds)) != NULL) {
			if (fe->d_name[0] == '.')
				continue;
			if (++seen > SCAN_MAX_FDS || (seen % 256 == 0 &&
			    elapsed_msec(&t0) > SCAN_MAX_MSEC)) {
				stop = true;
				break;
			}
			ssize_t n = readlinkat(dirfd(fds), fe->d_name, got,
			    sizeof(got));
			if (n == wantlen && memcmp(got, want, (size_t)n) == 0) {
				found = piddir;
				*pid = p;
				break;
			}
		}
		closedir(fds);
		if (found < 0)
			close(piddir);
	}
	closedir(proc);
	if (found < 0)
		log_debug("no process found holding socket inode %lu (%s, %lu "
		    "descriptors, %ld ms)", ino, stop ? "scan cut short" :
		    "full scan", seen, elapsed_msec(&t0));
	return found;
}

static bool
identify_loopback_tcp(peer_t *out, int fd, bool want_program, bool fast)
{
	struct sockaddr_storage peer_ss, local_ss;
	socklen_t plen = sizeof(peer_ss), llen = sizeof(local_ss);
	struct endpoint peer_ep, local_ep;
	uid_t uid;
	unsigned long inode;
	pid_t pid = 0;
	int piddir;

	memset(&peer_ss, 0, sizeof(peer_ss));
	memset(&local_ss, 0, sizeof(local_ss));
	if (getpeername(fd, (struct sockaddr *)&peer_ss, &plen) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local_ss, &llen) < 0 ||
	    !endpoint_from(&peer_ss, &peer_ep) ||
	    !endpoint_from(&local_ss, &local_ep) ||
	    peer_ep.family != local_ep.family)
		return true;
	/* The client's socket: from our peer, to us. */
	if (!sock_diag_owner(&peer_ep, &local_ep, &uid, &inode))
		return true;
	out->have_uid = true;
	out->uid = uid;
	out->inode = inode;
	if (!lookup_user(out, fast))
		return false;
	if (inode == 0 || !want_program)
		return true;
	if (fast)
		return false;   /* the /proc scan takes time */

	piddir = find_socket_holder(inode, &pid);
	if (piddir < 0)
		return true;
	out->pid = pid;
	out->have_pid = true;

	char *con = NULL, *mode = NULL;
	if (aa_gettaskcon(pid, &con, &mode) >= 0) {
		set_label(out, con);
		free(con);
	}
	read_exe(out, piddir);
	/* The label was read by pid number: keep it only if that pid was
	 * still the process we found, i.e. it has not gone away since. */
	if (!piddir_alive(piddir)) {
		out->label[0] = '\0';
		out->exe[0] = '\0';
		out->pid = 0;
		out->have_pid = false;
	}
	close(piddir);
	return true;
}

bool
peer_tcp_owner(const struct sockaddr_storage *src,
    const struct sockaddr_storage *dst, uid_t *uid)
{
	struct endpoint s, d;
	unsigned long inode;

	if (!endpoint_from(src, &s) || !endpoint_from(dst, &d) ||
	    s.family != d.family)
		return false;
	return sock_diag_owner(&s, &d, uid, &inode);
}

/* ---- entry point ------------------------------------------------------ */

static bool
identify(int fd, const struct sockaddr *sa, socklen_t salen,
    bool want_program, bool fast, peer_t *out)
{
	bool complete;

	memset(out, 0, sizeof(*out));
	addr_host_port(sa, salen, out->host, sizeof(out->host), &out->port);
	out->is_unix = sa->sa_family == AF_UNIX;
	out->local = addr_is_local(sa);

	if (out->is_unix)
		return identify_unix(out, fd, want_program, fast);

	bool v6 = sa->sa_family == AF_INET6 && strchr(out->host, ':');
	int n = snprintf(out->desc, sizeof(out->desc), "%s%s%s:%u",
	    v6 ? "[" : "", out->host, v6 ? "]" : "", out->port);
	if (!out->local || n < 0 || (size_t)n >= sizeof(out->desc))
		return true;

	complete = identify_loopback_tcp(out, fd, want_program, fast);
	if (!out->have_uid) {
		snprintf(out->desc + n, sizeof(out->desc) - (size_t)n,
		    " (owner unknown)");
		return complete;
	}
	char pidbuf[32] = "";
	if (out->have_pid)
		snprintf(pidbuf, sizeof(pidbuf), " pid=%d", (int)out->pid);
	snprintf(out->desc + n, sizeof(out->desc) - (size_t)n,
	    " uid=%u(%s)%s%s%s%s%s", (unsigned)out->uid, out->user, pidbuf,
	    out->label[0] ? " label=" : "", out->label,
	    out->exe[0] ? " exe=" : "", out->exe);
	return complete;
}

void
peer_identify(int fd, const struct sockaddr *sa, socklen_t salen,
    bool want_program, peer_t *out)
{
	(void)identify(fd, sa, salen, want_program, false, out);
}

bool
peer_identify_fast(int fd, const struct sockaddr *sa, socklen_t salen,
    bool want_program, peer_t *out)
{
	return identify(fd, sa, salen, want_program, true, out);
}
