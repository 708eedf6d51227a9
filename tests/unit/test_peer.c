/*
 * test_peer.c: client identification (src/peer.c) on real sockets: unix
 * socket pairs, and loopback TCP connections made by a child process
 * (IPv4, IPv6, IPv4-mapped IPv6), identified through sock_diag and /proc.
 */
#include "tg_check.h"
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

static void
self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

START_TEST(test_unix_socketpair)
{
	int sv[2];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char exe[PATH_MAX];
	peer_t p;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	peer_identify(sv[0], (struct sockaddr *)&sun, sizeof(sa_family_t), true, &p);
	ck_assert(p.is_unix && p.local);
	ck_assert(p.have_cred && p.have_uid && p.have_pid);
	ck_assert_uint_eq(p.uid, getuid());
	ck_assert_int_eq(p.pid, getpid());
	ck_assert(p.user[0] != '\0');
	self_exe(exe, sizeof(exe));
	ck_assert_str_eq(p.exe, exe);
	ck_assert_str_eq(p.host, "unix");
	ck_assert_msg(strncmp(p.desc, "unix peer uid=", 14) == 0, "%s", p.desc);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_remote_tcp_is_host_only)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(4242) };
	peer_t p;

	inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
	/* Nothing is asked about the socket of a remote client. */
	peer_identify(-1, (struct sockaddr *)&sin, sizeof(sin), true, &p);
	ck_assert(!p.local && !p.is_unix);
	ck_assert(!p.have_uid && !p.have_pid && !p.have_cred);
	ck_assert_str_eq(p.host, "192.0.2.7");
	ck_assert_str_eq(p.desc, "192.0.2.7:4242");
	ck_assert_str_eq(p.user, "");
}
END_TEST

/* Loopback TCP fixtures. */

enum client_kind { CLIENT_CHILD, CLIENT_CHILD_NOBODY, CLIENT_SELF,
	CLIENT_CLOSED };

struct tcp_case {
	const char *listen_addr;   /* where the listener binds */
	bool listen_v6;
	bool dual_stack;           /* IPV6_V6ONLY off */
	const char *connect_addr;  /* where the client connects */
	bool connect_v6;
	const char *want_host;     /* peer.host torgate would show */
};

static const struct tcp_case tcases[] = {
	{ "127.0.0.1", false, false, "127.0.0.1", false, "127.0.0.1" },
	{ "::1", true, false, "::1", true, "::1" },
	/* An IPv6 listener receiving IPv4: the peer is ::ffff:127.0.0.1. */
	{ "::ffff:127.0.0.1", true, true, "127.0.0.1", false, "127.0.0.1" },
	/* ...and from a client's IPv6 socket carrying IPv4. */
	{ "::ffff:127.0.0.1", true, true, "::ffff:127.0.0.1", true,
	  "127.0.0.1" },
};

static bool
make_sockaddr(const char *addr, bool v6, unsigned port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, addr, &s4->sin_addr) == 1;
}

/* A listening socket for c, or -1 if this machine cannot have it. */
static int
tcp_listener(const struct tcp_case *c, unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0, on = 1;

	ck_assert(make_sockaddr(c->listen_addr, c->listen_v6, 0, &ss, &len));
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (c->listen_v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    c->dual_stack ? &off : &on, sizeof(int));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 8) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(c->listen_v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int
tcp_connect(const struct tcp_case *c, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (!make_sockaddr(c->connect_addr, c->connect_v6, port, &ss, &len))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Connect as kind says; identify the accepted connection into *p. Returns
 * the pid of the client process (0 for CLIENT_SELF), or -1 if the case
 * cannot run here. */
static pid_t
identify_tcp(const struct tcp_case *c, enum client_kind kind, peer_t *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned port;
	int lfd, afd, cfd = -1, ready[2];
	pid_t child = 0;
	char b;

	lfd = tcp_listener(c, &port);
	if (lfd < 0)
		return -1;
	if (kind == CLIENT_SELF || kind == CLIENT_CLOSED) {
		cfd = tcp_connect(c, port);
		ck_assert_int_ge(cfd, 0);
		if (kind == CLIENT_CLOSED) {
			close(cfd);
			cfd = -1;
		}
	} else {
		ck_assert_int_eq(pipe(ready), 0);
		child = fork();
		ck_assert_int_ge(child, 0);
		if (child == 0) {
			close(ready[0]);
			if (kind == CLIENT_CHILD_NOBODY &&
			    (setgid(65534) < 0 || setuid(65534) < 0))
				_exit(2);
			int fd = tcp_connect(c, port);
			b = fd >= 0 ? 'y' : 'n';
			if (write(ready[1], &b, 1) != 1)
				_exit(3);
			pause();   /* hold the connection until killed */
			_exit(0);
		}
		close(ready[1]);
		ck_assert_int_eq(read(ready[0], &b, 1), 1);
		close(ready[0]);
		ck_assert_msg(b == 'y', "child could not connect");
	}
	afd = accept(lfd, (struct sockaddr *)&ss, &len);
	ck_assert_int_ge(afd, 0);
	peer_identify(afd, (struct sockaddr *)&ss, len, true, p);
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	close(afd);
	if (cfd >= 0)
		close(cfd);
	close(lfd);
	return child;
}

START_TEST(test_loopback_tcp_child)
{
	const struct tcp_case *c = &tcases[_i];
	char exe[PATH_MAX], want[64];
	peer_t p;
	pid_t child = identify_tcp(c, CLIENT_CHILD, &p);

	if (child < 0) {
		/* No such loopback here: IPv6 disabled. */
		ck_assert_msg(c->listen_v6, "case %d: no IPv4 loopback", _i);
		fprintf(stderr, "test_peer: case %d skipped: no IPv6 "
		    "loopback\n", _i);
		return;
	}
	ck_assert(p.local && !p.is_unix && !p.have_cred);
	ck_assert_str_eq(p.host, c->want_host);
	ck_assert_msg(p.have_uid, "case %d: uid unknown: %s", _i, p.desc);
	ck_assert_uint_eq(p.uid, getuid());
	ck_assert(p.user[0] != '\0');
	ck_assert(p.inode != 0);
	ck_assert_msg(p.have_pid, "case %d: pid unknown: %s", _i, p.desc);
	ck_assert_int_eq(p.pid, child);
	self_exe(exe, sizeof(exe));
	ck_assert_str_eq(p.exe, exe);
	snprintf(want, sizeof(want), " pid=%d ", (int)child);
	ck_assert_msg(strstr(p.desc, want) != NULL, "%s", p.desc);
	ck_assert_msg(strstr(p.desc, " uid=") != NULL, "%s", p.desc);
}
END_TEST

START_TEST(test_loopback_tcp_other_user)
{
	peer_t p;
	pid_t child;

	if (geteuid() != 0)
		return;   /* needs root to become another user */
	child = identify_tcp(&tcases[0], CLIENT_CHILD_NOBODY, &p);
	ck_assert_int_gt(child, 0);
	ck_assert(p.have_uid);
	ck_assert_uint_eq(p.uid, 65534);
	ck_assert(p.have_pid);
	ck_assert_int_eq(p.pid, child);
}
END_TEST

START_TEST(test_loopback_tcp_self_and_closed)
{
	peer_t p;

	/* torgate never looks for clients among its own descriptors: the
	 * owner is known, the process is not. */
	ck_assert_int_eq(identify_tcp(&tcases[0], CLIENT_SELF, &p), 0);
	ck_assert(p.have_uid && !p.have_pid);
	ck_assert_uint_eq(p.uid, getuid());
	ck_assert(p.inode != 0);
	ck_assert(strstr(p.desc, " pid=") == NULL);

	/* A client that already closed its end: its socket still names its
	 * owner, but no process holds it. */
	ck_assert_int_eq(identify_tcp(&tcases[0], CLIENT_CLOSED, &p), 0);
	ck_assert(p.have_uid && !p.have_pid);
	ck_assert_uint_eq(p.uid, getuid());
	ck_assert(p.exe[0] == '\0' && p.label[0] == '\0');
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("peer");
	TCase *tc = tcase_create("peer");

	tcase_add_test(tc, test_unix_socketpair);
	tcase_add_test(tc, test_remote_tcp_is_host_only);
	tcase_add_loop_test(tc, test_loopback_tcp_child, 0,
	    (int)(sizeof(tcases) / sizeof(tcases[0])));
	tcase_add_test(tc, test_loopback_tcp_other_user);
	tcase_add_test(tc, test_loopback_tcp_self_and_closed);
	suite_add_tcase(s, tc);
	return tg_run_suite(s);
}
