/*
 * sandbox.c: see sandbox.h.
 *
 * The allowlist is written to be reviewed like a document, in sections
 * as OpenSSH's sandbox-seccomp-filter.c: plain allows (one table, each
 * entry marked with the roles that need it and why), then the calls
 * whose arguments are restricted (one small function each), then the
 * default action. The worker is the event loop (libevent over epoll),
 * its profile reload, its files (tor's cookie, the state file, --learn)
 * and its sockets (clients, tor, sock_diag); the monitor is the /proc
 * scan, sock_diag, NSS user look-ups and its socketpair.
 *
 * The architecture is checked by libseccomp: a call made under another
 * ABI (x32, or i386 through int 0x80) kills the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <seccomp.h>

#include "torgate_build.h"

#include "log.h"
#include "sandbox.h"
#include "util.h"

#define W (1u << SANDBOX_WORKER)
#define M (1u << SANDBOX_MONITOR)

typedef struct sb_allow {
	int nr;
	const char *name;
	unsigned roles;
} sb_allow_t;

#define ALLOW(sys, roles) { SCMP_SYS(sys), #sys, roles }

/* ---- plain allows --------------------------------------------------- */

static const sb_allow_t allow_plain[] = {
	/* The process: exit, signals (libevent's SIGHUP/SIGTERM handlers,
	 * the debug build's SIGSYS handler), ids, time, randomness. */
	ALLOW(exit, W | M),
	ALLOW(exit_group, W | M),
	ALLOW(restart_syscall, W | M),
	ALLOW(rt_sigreturn, W | M),
	ALLOW(rt_sigaction, W | M),
	ALLOW(rt_sigprocmask, W | M),
	ALLOW(getpid, W | M),
	ALLOW(getppid, M),              /* the scan skips its parent */
	ALLOW(gettid, W | M),
	ALLOW(getuid, W | M),
	ALLOW(geteuid, W | M),
	ALLOW(getgid, W | M),
	ALLOW(getegid, W | M),
	ALLOW(clock_gettime, W | M),    /* the vDSO's fallback */
	ALLOW(gettimeofday, W | M),
	ALLOW(getrandom, W | M),        /* nonces, libevent, malloc */

	/* Memory (mmap and mprotect: below). futex: glibc's locks. */
	ALLOW(brk, W | M),
	ALLOW(munmap, W | M),
	ALLOW(mremap, W | M),
	ALLOW(madvise, W | M),
	ALLOW(futex, W | M),

	/* Descriptors. */
	ALLOW(read, W | M),
	ALLOW(readv, W | M),
	ALLOW(write, W | M),            /* stderr logs, sockets, files */
	ALLOW(writev, W | M),
	ALLOW(close, W | M),
	ALLOW(fcntl, W | M),            /* O_NONBLOCK, FD_CLOEXEC */
	ALLOW(lseek, W | M),
	ALLOW(fstat, W | M),
	ALLOW(newfstatat, W | M),
	ALLOW(statx, W | M),
	ALLOW(poll, W | M),             /* the monitor's pidfd check */
	ALLOW(ppoll, W | M),

	/* Reading files and directories (opening them: below). */
	ALLOW(getdents64, W | M),       /* profile dirs; /proc and fd dirs */
	ALLOW(readlink, W),             /* realpath: the guard's unix targets */
	ALLOW(faccessat, W),            /* ... and glibc's realpath checks */
	ALLOW(faccessat2, W),
	ALLOW(readlinkat, W | M),       /* /proc/PID/exe, /proc/PID/fd/N */

	/* Writing files: the state file and --learn's profiles are written
	 * to a new temporary file, synced and renamed over the old one. */
	ALLOW(fchmod, W),
	ALLOW(fsync, W),
	ALLOW(fdatasync, W),
	ALLOW(rename, W),
	ALLOW(renameat, W),
	ALLOW(renameat2, W),
	ALLOW(unlink, W),               /* a temporary file left by a failure,
	                                 * and our unix listeners at exit */
	ALLOW(unlinkat, W),

	/* Sockets (creating them: below). connect: tor; syslog; NSS's
	 * nscd or userdb socket in the monitor. */
	ALLOW(connect, W | M),
	ALLOW(listen, W),               /* listener_start(), on sockets bound
	                                 * before the drop (bind is not here) */
	ALLOW(accept4, W),
	ALLOW(shutdown, W),
	ALLOW(sendto, W | M),
	ALLOW(sendmsg, W | M),          /* SCM_RIGHTS to the monitor;
	                                 * sd_notify's datagram to systemd */
	ALLOW(recvfrom, W | M),
	ALLOW(recvmsg, W | M),
	ALLOW(getsockopt, W | M),       /* SO_PEERCRED, SO_PEERSEC, SO_ERROR */
	ALLOW(setsockopt, W | M),       /* TCP_NODELAY, sock_diag timeouts,
	                                 * sd_notify's SO_SNDBUF (its
	                                 * SO_SNDBUFFORCE fails: EPERM) */
	ALLOW(getsockname, W | M),
	ALLOW(getpeername, W | M),

	/* The event loop. pipe2: libevent's signal pipe. */
	ALLOW(epoll_create1, W),
	ALLOW(pipe2, W),
	ALLOW(epoll_ctl, W),
	ALLOW(epoll_wait, W),
	ALLOW(epoll_pwait, W),
	ALLOW(wait4, W),                /* the monitor, when stopping */
};

/* ---- argument-restricted allows --------------------------------------- */

typedef struct sb_ctx {
	scmp_filter_ctx f;
	sandbox_role_t role;
	pid_t monitor;
} sb_ctx_t;

static int
rule(sb_ctx_t *c, int nr, unsigned n, const struct scmp_arg_cmp *a)
{
	return seccomp_rule_add_array(c->f, SCMP_ACT_ALLOW, nr, n, a);
}

/* mmap and mprotect: no executable memory, but in the worker of a
 * build with PCRE2's JIT (-Djit), which writes the machine code of
 * profile patterns at every reload. */
static int
sb_memory(sb_ctx_t *c)
{
	struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);

	if (c->role == SANDBOX_WORKER && TORGATE_JIT)
		return rule(c, SCMP_SYS(mmap), 0, NULL) ||
		    rule(c, SCMP_SYS(mprotect), 0, NULL);
	return rule(c, SCMP_SYS(mmap), 1, &noexec) ||
	    rule(c, SCMP_SYS(mprotect), 1, &noexec);
}

/* openat: read-only in both; the worker may also create a new file
 * (O_CREAT|O_EXCL, as mkstemp does), never open an existing one for
 * writing nor truncate one. The monitor's AppArmor role is entered
 * before this filter is loaded, so it needs no writable open of
 * /proc/self/attr. */
static int
sb_openat(sb_ctx_t *c)
{
	const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC;
	struct scmp_arg_cmp rdonly = SCMP_A2(SCMP_CMP_MASKED_EQ,
	    O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY);
	struct scmp_arg_cmp create = SCMP_A2(SCMP_CMP_MASKED_EQ, mask,
	    O_RDWR | O_CREAT | O_EXCL);

	if (rule(c, SCMP_SYS(openat), 1, &rdonly))
		return -1;
	return c->role == SANDBOX_WORKER ?
	    rule(c, SCMP_SYS(openat), 1, &create) : 0;
}

/* socket: AF_UNIX (tor, syslog, the worker's sd_notify datagrams to
 * systemd's NOTIFY_SOCKET: socket, SO_SNDBUF, sendmsg, close, nothing
 * else; the monitor's NSS), AF_INET and
 * AF_INET6 (a tor reached over TCP: worker only), AF_NETLINK only for
 * NETLINK_SOCK_DIAG (who owns a loopback TCP connection). socketpair:
 * libevent's signal pipe. */
static int
sb_socket(sb_ctx_t *c)
{
	/* Each comparison names datum_b (unused by SCMP_CMP_EQ) so that no
	 * compiler sees a field left out. */
	struct scmp_arg_cmp diag[2] = {
		SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
		SCMP_A2(SCMP_CMP_EQ, NETLINK_SOCK_DIAG, 0),
	};
	struct scmp_arg_cmp fam[3] = {
		SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
		SCMP_A0(SCMP_CMP_EQ, AF_INET, 0),
		SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0),
	};

	if (rule(c, SCMP_SYS(socket), 1, &fam[0]) ||
	    rule(c, SCMP_SYS(socket), 2, diag))
		return -1;
	if (c->role != SANDBOX_WORKER)
		return 0;
	return rule(c, SCMP_SYS(socketpair), 1, &fam[0]) ||
	    rule(c, SCMP_SYS(socket), 1, &fam[1]) ||
	    rule(c, SCMP_SYS(socket), 1, &fam[2]);
}

/* ioctl: FIONREAD only (libevent sizes its reads with it). A terminal
 * query (stdio on a fresh stream) is answered "not a terminal". */
static int
sb_ioctl(sb_ctx_t *c)
{
	struct scmp_arg_cmp fionread = SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0);
	struct scmp_arg_cmp tcgets = SCMP_A1(SCMP_CMP_EQ, TCGETS, 0);

	return rule(c, SCMP_SYS(ioctl), 1, &fionread) ||
	    seccomp_rule_add(c->f, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
	    tcgets);
}

/* Signals: to this process only (abort(), raise()); the worker may also
 * SIGKILL the monitor when it stops. */
static int
sb_signals(sb_ctx_t *c)
{
	struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ,
	    (scmp_datum_t)getpid(), 0);
	struct scmp_arg_cmp mon[2] = {
		SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)c->monitor, 0),
		SCMP_A1(SCMP_CMP_EQ, SIGKILL, 0),
	};

	if (rule(c, SCMP_SYS(tgkill), 1, &self))
		return -1;
	if (c->role == SANDBOX_WORKER && c->monitor > 0)
		return rule(c, SCMP_SYS(kill), 2, mon);
	return 0;
}

static int (*const restricted[])(sb_ctx_t *) = {
	sb_memory,
	sb_openat,
	sb_socket,
	sb_ioctl,
	sb_signals,
};

/* ---- the debug build's report ---------------------------------------- */

#if TORGATE_SANDBOX_DEBUG
static const char *sb_role_name = "";

/* Name the denied call on stderr, then die of SIGSYS as the default
 * action would have. Not async-signal-safe (the name is looked up with
 * malloc): the process is dying anyway. */
static void
sigsys_report(int sig, siginfo_t *si, void *uc)
{
	char buf[256];
	char *name = seccomp_syscall_resolve_num_arch(si->si_arch,
	    si->si_syscall);
	int n = snprintf(buf, sizeof(buf), "torgate: sandbox: the %s made a "
	    "system call its filter does not allow: %s (%d)\n", sb_role_name,
	    name != NULL ? name : "?", si->si_syscall);

	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n < sizeof(buf) ?
		    (size_t)n : sizeof(buf) - 1);
	raise(SIGSYS);  /* SA_RESETHAND: the default action now */
	_exit(128 + SIGSYS);
}

static void
sigsys_install(sandbox_role_t role)
{
	struct sigaction sa;

	sb_role_name = role == SANDBOX_WORKER ? "worker" : "monitor";
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_report;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		fatal("sigaction SIGSYS");
}
#define SB_DEFAULT SCMP_ACT_TRAP
#else
#define SB_DEFAULT SCMP_ACT_KILL_PROCESS
#endif

void
sandbox_enter(sandbox_role_t role, pid_t monitor_pid)
{
	const char *who = role == SANDBOX_WORKER ? "worker" : "monitor";
	sb_ctx_t c = { .role = role, .monitor = monitor_pid };
	unsigned n = 0;
	int rc;

	c.f = seccomp_init(SB_DEFAULT);
	if (c.f == NULL)
		fatalx("%s: seccomp_init failed", who);
	if ((rc = seccomp_attr_set(c.f, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		fatalx("%s: seccomp: bad-architecture action: %s", who,
		    strerror(-rc));
	for (size_t i = 0; i < ARRAY_LEN(allow_plain); i++) {
		const sb_allow_t *a = &allow_plain[i];
		if (!(a->roles & (1u << role)))
			continue;
		if (a->nr < 0)
			continue;       /* no such call on this architecture */
		if ((rc = seccomp_rule_add(c.f, SCMP_ACT_ALLOW, a->nr, 0)) < 0)
			fatalx("%s: seccomp: allowing %s: %s", who, a->name,
			    strerror(-rc));
		n++;
	}
	for (size_t i = 0; i < ARRAY_LEN(restricted); i++)
		if (restricted[i](&c) != 0)
			fatalx("%s: seccomp: cannot add an argument rule", who);
#if TORGATE_SANDBOX_DEBUG
	sigsys_install(role);
#endif
	if ((rc = seccomp_load(c.f)) < 0)
		fatalx("%s: seccomp_load: %s", who, strerror(-rc));
	seccomp_release(c.f);
	log_debug("%s: seccomp filter loaded (%u plain allows, %zu "
	    "restricted groups)", who, n, ARRAY_LEN(restricted));
}
