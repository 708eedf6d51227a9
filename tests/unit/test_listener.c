/*
 * test_listener.c: listening sockets (src/listener.c): adopting an
 * inherited descriptor, binding a unix path (mode, group, stale and live
 * socket files, a missing directory), socket activation (what a passed
 * socket's name binds, which sockets are refused, the environment
 * cleared), what listener_free leaves behind, and accepting from the
 * loop.
 */
#include "tg_check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "addr.h"
#include "listener.h"
#include "session.h"

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[PATH_MAX];

static void
setup(void)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0' || strlen(base) > 40)
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/tgl-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0) {
		/* Leftovers in TMPDIR are harmless. */
	}
}

static void
path_in_tmp(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", tmpdir, name);

	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n, len);
	ck_assert_uint_lt((size_t)n,
	    sizeof(((struct sockaddr_un *)0)->sun_path));
}

static bool
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static struct sockaddr_un
sun_of(const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	return sun;
}

/* A unix socket of type type bound at path; listening if listening. */
static int
unix_bound(const char *path, int type, bool listening)
{
	struct sockaddr_un sun = sun_of(path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* A TCP socket bound on 127.0.0.1 (port chosen by the kernel, in *port);
 * listening if listening. */
static int
tcp4_bound(int type, bool listening, unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Connect a stream socket to path: 0, or the errno. */
static int
unix_connect_errno(const char *path)
{
	struct sockaddr_un sun = sun_of(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc, e;

	ck_assert_int_ge(fd, 0);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	close(fd);
	return rc == 0 ? 0 : e;
}

static listen_spec_t
spec_for(const char *text)
{
	listen_spec_t spec;
	char err[256];

	memset(&spec, 0, sizeof(spec));
	ck_assert_msg(listen_spec_parse(text, &spec, err, sizeof(err)) == 0,
	    "%s: %s", text, err);
	return spec;
}

static ino_t
inode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	return st.st_ino;
}

/* ---- listener_adopt ----------------------------------------------------- */

START_TEST(test_adopt_unix)
{
	char path[PATH_MAX], want[PATH_MAX + 8];
	int fd;
	listener_t *l;

	path_in_tmp(path, sizeof(path), "adopt.sock");
	fd = unix_bound(path, SOCK_STREAM, true);
	ck_assert_int_eq(fcntl(fd, F_SETFD, 0), 0);     /* not CLOEXEC yet */
	l = listener_adopt(fd, "P_adopted");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(listener_addr(l)->family, AF_UNIX);
	snprintf(want, sizeof(want), "unix:%s", path);
	ck_assert_str_eq(listener_addr(l)->text, want);
	/* Served like a bound one: non-blocking, not passed on to children. */
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	listener_free(l);
	/* It owned the descriptor, not the file: someone else bound it. */
	ck_assert(!fd_open(fd));
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

/* A unix socket whose path fills sun_path (108 bytes, no NUL: Linux
 * allows it) is named by those bytes, nothing read past them. */
START_TEST(test_adopt_unix_full_path)
{
	struct sockaddr_un sun;
	char cwd[PATH_MAX], want[sizeof(sun.sun_path) + 8];
	int fd;
	listener_t *l;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(tmpdir), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(sun.sun_path, 'f', sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	l = listener_adopt(fd, NULL);
	ck_assert_ptr_nonnull(l);
	snprintf(want, sizeof(want), "unix:%.*s", (int)sizeof(sun.sun_path),
	    sun.sun_path);
	ck_assert_str_eq(listener_addr(l)->text, want);
	listener_free(l);
	memcpy(want, sun.sun_path, sizeof(sun.sun_path));
	want[sizeof(sun.sun_path)] = '\0';
	unlink(want);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_adopt_tcp4)
{
	char want[64];
	unsigned port;
	int fd = tcp4_bound(SOCK_STREAM, true, &port);
	listener_t *l = listener_adopt(fd, NULL);

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(listener_addr(l)->family, AF_INET);
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	ck_assert_str_eq(listener_addr(l)->text, want);
	ck_assert_uint_eq(listener_addr(l)->len, sizeof(struct sockaddr_in));
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	listener_free(l);
	ck_assert(!fd_open(fd));
}
END_TEST

START_TEST(test_adopt_tcp6)
{
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	char want[64];
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	listener_t *l;

	ck_assert_int_ge(fd, 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		/* No IPv6 loopback here: nothing to test. */
		close(fd);
		return;
	}
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	l = listener_adopt(fd, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(listener_addr(l)->family, AF_INET6);
	snprintf(want, sizeof(want), "[::1]:%u", ntohs(sin6.sin6_port));
	ck_assert_str_eq(listener_addr(l)->text, want);
	listener_free(l);
	ck_assert(!fd_open(fd));
}
END_TEST

/* Not adopted: NULL, and the descriptor is still the caller's, unchanged. */
static void
assert_rejected(int fd)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	ck_assert_int_ne(fl, -1);
	ck_assert_ptr_null(listener_adopt(fd, "P"));
	ck_assert_msg(fd_open(fd), "descriptor %d was closed", fd);
	ck_assert_int_eq(fcntl(fd, F_GETFL), fl);
	ck_assert_int_eq(fcntl(fd, F_GETFD), fdfl);
	close(fd);
}

START_TEST(test_reject_unix_not_listening)
{
	char path[PATH_MAX];
	int fd;

	path_in_tmp(path, sizeof(path), "bound.sock");
	fd = unix_bound(path, SOCK_STREAM, false);
	assert_rejected(fd);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_reject_tcp_not_listening)
{
	unsigned port;

	assert_rejected(tcp4_bound(SOCK_STREAM, false, &port));
}
END_TEST

START_TEST(test_reject_udp)
{
	unsigned port;

	assert_rejected(tcp4_bound(SOCK_DGRAM, false, &port));
}
END_TEST

START_TEST(test_reject_unix_seqpacket_listening)
{
	char path[PATH_MAX];

	/* Listening, but records, not a byte stream. */
	path_in_tmp(path, sizeof(path), "seq.sock");
	assert_rejected(unix_bound(path, SOCK_SEQPACKET, true));
}
END_TEST

START_TEST(test_reject_connected_stream)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_rejected(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_reject_pipe)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	assert_rejected(p[0]);
	close(p[1]);
}
END_TEST

START_TEST(test_reject_regular_file)
{
	char path[PATH_MAX];
	int fd;

	path_in_tmp(path, sizeof(path), "file");
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	assert_rejected(fd);
}
END_TEST

/* ---- listener_bind ------------------------------------------------------ */

static void
check_bind_mode(const char *name, mode_t mode)
{
	char path[PATH_MAX], text[PATH_MAX + 32];
	listen_spec_t spec;
	listener_t *l;
	struct stat st;

	path_in_tmp(path, sizeof(path), name);
	snprintf(text, sizeof(text), "unix:%s,mode=%04o", path,
	    (unsigned)mode);
	spec = spec_for(text);
	ck_assert_uint_eq(spec.mode, mode);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, mode);
	snprintf(text, sizeof(text), "unix:%s", path);
	ck_assert_str_eq(listener_addr(l)->text, text);
	/* It listens: a client's connect succeeds (queued in the backlog). */
	ck_assert_int_eq(unix_connect_errno(path), 0);
	listener_free(l);
	/* Bound here, so removed here. */
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	listen_spec_clear(&spec);
}

START_TEST(test_bind_unix_mode)
{
	mode_t old = umask(022);

	check_bind_mode("m600.sock", 0600);
	check_bind_mode("m660.sock", 0660);
	check_bind_mode("m666.sock", 0666);
	umask(old);
}
END_TEST

/*
 * The socket file's group and mode are set on the socket bind made, never
 * through a symbolic link put in its place (whoever can write the
 * directory could otherwise have a file of root's made world-writable).
 */
START_TEST(test_socket_perms_no_symlink)
{
	char target[PATH_MAX], link[PATH_MAX];
	struct stat st;
	int fd;

	path_in_tmp(target, sizeof(target), "perms-target");
	path_in_tmp(link, sizeof(link), "perms-link.sock");
	fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(target, 0600), 0);
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(listener_socket_perms(link, getgid(), 0666), -1);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	/* Nor a regular file (a hard link) there. */
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(listener_socket_perms(target, getgid(), 0666), -1);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	unlink(target);
}
END_TEST

START_TEST(test_bind_unix_default_mode)
{
	char path[PATH_MAX], text[PATH_MAX + 8];
	listen_spec_t spec;
	listener_t *l;
	struct stat st;
	mode_t old = umask(0);

	path_in_tmp(path, sizeof(path), "default.sock");
	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(lstat(path, &st), 0);
	/* The umask does not widen it. */
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	listener_free(l);
	listen_spec_clear(&spec);
	umask(old);
}
END_TEST

START_TEST(test_bind_replaces_stale_socket)
{
	char path[PATH_MAX], keep[PATH_MAX], text[PATH_MAX + 8];
	listen_spec_t spec;
	listener_t *l;
	ino_t stale;
	int fd;

	/* A socket file whose socket is gone: a daemon that died. */
	path_in_tmp(path, sizeof(path), "stale.sock");
	fd = unix_bound(path, SOCK_STREAM, true);
	close(fd);
	stale = inode_of(path);
	ck_assert_int_eq(unix_connect_errno(path), ECONNREFUSED);
	/* A second name keeps the stale inode, so that its number cannot be
	 * reused for the new socket. */
	path_in_tmp(keep, sizeof(keep), "stale.keep");
	ck_assert_int_eq(link(path, keep), 0);

	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	ck_assert(inode_of(path) != stale);
	ck_assert_int_eq(unix_connect_errno(path), 0);
	listener_free(l);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_bind_refuses_live_socket)
{
	char path[PATH_MAX], text[PATH_MAX + 8];
	listen_spec_t spec;
	ino_t live;
	int fd, c;

	path_in_tmp(path, sizeof(path), "live.sock");
	fd = unix_bound(path, SOCK_STREAM, true);
	live = inode_of(path);

	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	ck_assert_ptr_null(listener_bind(&spec));
	/* The live socket is untouched: same file, still accepting. */
	ck_assert_uint_eq(inode_of(path), live);
	ck_assert_int_eq(unix_connect_errno(path), 0);
	/* (The probe connection torgate made, and ours, both reached it.) */
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_ge(c = accept(fd, NULL, NULL), 0);
	close(c);
	close(fd);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_bind_refuses_live_datagram_socket)
{
	char path[PATH_MAX], text[PATH_MAX + 8];
	listen_spec_t spec;
	listener_t *l;
	ino_t live;
	int fd;

	/* Someone's live datagram socket: a stream connect to it fails
	 * (EPROTOTYPE), but nobody's socket is stale. */
	path_in_tmp(path, sizeof(path), "dgram.sock");
	fd = unix_bound(path, SOCK_DGRAM, false);
	live = inode_of(path);

	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	l = listener_bind(&spec);
	if (l != NULL)
		listener_free(l);
	ck_assert_msg(l == NULL, "a live datagram socket was replaced");
	ck_assert_uint_eq(inode_of(path), live);
	close(fd);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_bind_refuses_unreachable_live_socket)
{
	char path[PATH_MAX], text[PATH_MAX + 8];
	struct passwd *pw;
	pid_t pid;
	int fd, status;
	ino_t live;

	/* Another user's live socket that this user may not connect to
	 * (EACCES) in a directory it may write to: still not stale. Needs
	 * root, to play both users. */
	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		return;
	ck_assert_int_eq(chmod(tmpdir, 0777), 0);
	path_in_tmp(path, sizeof(path), "private.sock");
	fd = unix_bound(path, SOCK_STREAM, true);
	ck_assert_int_eq(chmod(path, 0600), 0);
	live = inode_of(path);
	snprintf(text, sizeof(text), "unix:%s", path);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		listen_spec_t spec;
		char err[256];
		listener_t *l;

		if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			_exit(3);
		if (unix_connect_errno(path) != EACCES)
			_exit(4);
		memset(&spec, 0, sizeof(spec));
		if (listen_spec_parse(text, &spec, err, sizeof(err)) < 0)
			_exit(5);
		l = listener_bind(&spec);
		_exit(l == NULL ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0, "child status %d (1: another "
	    "user's live socket was replaced)", WEXITSTATUS(status));
	ck_assert_uint_eq(inode_of(path), live);
	close(fd);
}
END_TEST

START_TEST(test_bind_refuses_regular_file)
{
	char path[PATH_MAX], text[PATH_MAX + 8], buf[16];
	listen_spec_t spec;
	int fd;

	path_in_tmp(path, sizeof(path), "notasocket");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "keep", 4), 4);
	close(fd);

	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	ck_assert_ptr_null(listener_bind(&spec));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "keep", 4), 0);
	close(fd);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_bind_tcp4)
{
	char text[64];
	listen_spec_t spec;
	listener_t *l, *l2;
	unsigned port;
	int fd;

	/* A port that was free a moment ago. */
	fd = tcp4_bound(SOCK_STREAM, false, &port);
	close(fd);
	snprintf(text, sizeof(text), "127.0.0.1:%u", port);
	spec = spec_for(text);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(listener_addr(l)->text, text);
	/* A second listener on the same port is refused. */
	l2 = listener_bind(&spec);
	ck_assert_ptr_null(l2);
	listener_free(l);
	listen_spec_clear(&spec);
}
END_TEST

/* ---- listener_start ----------------------------------------------------- */

/* Run base until fd is readable (or 5 s); then read what came until EOF. */
static size_t
loop_until_reply(struct event_base *base, int fd, char *buf, size_t len)
{
	struct timespec t0, now;
	size_t got = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (poll(&p, 1, 10) > 0) {
			ssize_t n = read(fd, buf + got, len - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			if (got == len)
				break;
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 5)
			break;
	}
	return got;
}

/*
 * A gate that admits nobody (limits.max_clients 0) answers every client
 * it accepts with 451 and closes it: proof that the listener accepted it
 * and handed it to session_start, with no tor behind.
 */
static void
check_accepts(listener_t *l, int family, const char *path, unsigned port)
{
	static const char want[] = "451 torgate: too many connections\r\n";
	gate_t g;
	char buf[256];
	size_t n;
	int c;

	memset(&g, 0, sizeof(g));
	g.base = event_base_new();
	ck_assert_ptr_nonnull(g.base);
	ck_assert_int_eq(listener_start(l, &g), 0);

	c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c, 0);
	if (family == AF_UNIX) {
		struct sockaddr_un sun = sun_of(path);
		ck_assert_int_eq(connect(c, (struct sockaddr *)&sun,
		    sizeof(sun)), 0);
	} else {
		struct sockaddr_in sin;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		ck_assert_int_eq(connect(c, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	}
	n = loop_until_reply(g.base, c, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
	close(c);
	listener_free(l);
	event_base_free(g.base);
}

START_TEST(test_start_bound_unix_accepts)
{
	char path[PATH_MAX], text[PATH_MAX + 8];
	listen_spec_t spec;
	listener_t *l;

	path_in_tmp(path, sizeof(path), "start.sock");
	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	check_accepts(l, AF_UNIX, path, 0);
	/* Freed after starting: the file goes too. */
	ck_assert_int_eq(access(path, F_OK), -1);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_start_adopted_tcp_accepts)
{
	unsigned port;
	int fd = tcp4_bound(SOCK_STREAM, true, &port);
	listener_t *l = listener_adopt(fd, NULL);

	ck_assert_ptr_nonnull(l);
	check_accepts(l, AF_INET, NULL, port);
	ck_assert(!fd_open(fd));
}
END_TEST

/* ---- group= and a missing directory ----------------------------------- */

START_TEST(test_bind_unix_group)
{
	char path[PATH_MAX], text[PATH_MAX + 64];
	listen_spec_t spec;
	listener_t *l;
	struct stat st;
	/* Root may give the socket any group; others one of their own. */
	gid_t gid = geteuid() == 0 ? 65534 : getegid();

	path_in_tmp(path, sizeof(path), "group.sock");
	snprintf(text, sizeof(text), "unix:%s,mode=0640,group=%u", path,
	    (unsigned)gid);
	spec = spec_for(text);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_gid, gid);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	listener_free(l);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_bind_unix_unknown_group)
{
	char path[PATH_MAX], text[PATH_MAX + 64];
	listen_spec_t spec;

	path_in_tmp(path, sizeof(path), "nogroup.sock");
	snprintf(text, sizeof(text), "unix:%s,group=no-such-group-tg", path);
	spec = spec_for(text);
	ck_assert_ptr_null(listener_bind(&spec));
	/* Refused before anything is made. */
	ck_assert_int_ne(access(path, F_OK), 0);
	listen_spec_clear(&spec);
}
END_TEST

START_TEST(test_bind_unix_missing_directory)
{
	char path[PATH_MAX], text[PATH_MAX + 8];
	listen_spec_t spec;

	path_in_tmp(path, sizeof(path), "nodir/control");
	snprintf(text, sizeof(text), "unix:%s", path);
	spec = spec_for(text);
	ck_assert_ptr_null(listener_bind(&spec));
	listen_spec_clear(&spec);
}
END_TEST

/* ---- socket activation ------------------------------------------------ */

static const struct {
	const char *name;
	int rc;
	const char *profile;
} fdname_rows[] = {
	{ "profile=onionshare", 0, "onionshare" },
	{ "profile=a=b", 0, "a=b" },
	{ "torgate.socket", 0, NULL },          /* systemd's default name */
	{ "unknown", 0, NULL },                 /* no LISTEN_FDNAMES */
	{ "control", 0, NULL },
	{ "", 0, NULL },
	{ "profile=", -1, NULL },
	{ "profile", 0, NULL },                 /* a label */
	{ "Profile=x", -1, NULL },
	{ "profil=x", -1, NULL },
	{ "group=tor", -1, NULL },
	{ "=x", -1, NULL },
};

START_TEST(test_fdname_rows)
{
	const char *profile = "unset";
	int rc = listener_fdname_profile(fdname_rows[_i].name, &profile);

	ck_assert_int_eq(rc, fdname_rows[_i].rc);
	if (rc == 0 && fdname_rows[_i].profile != NULL)
		ck_assert_str_eq(profile, fdname_rows[_i].profile);
	else if (rc == 0)
		ck_assert_ptr_null(profile);
}
END_TEST

/*
 * In a child (the descriptors from 3 on are the check framework's in
 * the parent): put the sockets fds[] at 3, 4, ..., set the variables as
 * systemd does, call listener_activated and report through the exit
 * status: 0 if what it did matches want_rc and want_n, with every
 * variable gone; a number naming the first difference otherwise.
 */
static int
activate_in_child(const int *fds, int n, const char *names, bool own_pid,
    int want_rc, size_t want_n, const char *want_profile0)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		listener_t **ls = NULL;
		size_t got = 9;
		int hi[8], rc;
		char v[32];

		for (int i = 0; i < n; i++)
			hi[i] = fcntl(fds[i], F_DUPFD, 100);
		for (int i = 0; i < n; i++)
			if (dup2(hi[i], SD_LISTEN_FDS_START + i) < 0)
				_exit(20);
		snprintf(v, sizeof(v), "%d", (int)(own_pid ? getpid() : 1));
		setenv("LISTEN_PID", v, 1);
		snprintf(v, sizeof(v), "%d", n);
		setenv("LISTEN_FDS", v, 1);
		if (names != NULL)
			setenv("LISTEN_FDNAMES", names, 1);
		rc = listener_activated(&ls, &got);
		if (getenv("LISTEN_PID") || getenv("LISTEN_FDS") ||
		    getenv("LISTEN_FDNAMES"))
			_exit(21);
		if (rc != want_rc)
			_exit(22);
		if (got != want_n)
			_exit(23);
		if (want_profile0 != NULL && (got == 0 ||
		    listener_profile(ls[0]) == NULL ||
		    strcmp(listener_profile(ls[0]), want_profile0) != 0))
			_exit(24);
		if (want_profile0 == NULL && got > 0 &&
		    listener_profile(ls[0]) != NULL)
			_exit(25);
		for (size_t i = 0; i < got; i++) {
			/* Adopted: close-on-exec, non-blocking. */
			int fd = SD_LISTEN_FDS_START + (int)i;
			if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC) ||
			    !(fcntl(fd, F_GETFL) & O_NONBLOCK))
				_exit(26);
			listener_free(ls[i]);
		}
		free(ls);
		/* Refused (or not ours): none of them is kept open. */
		if (rc < 0)
			for (int i = 0; i < n; i++)
				if (fd_open(SD_LISTEN_FDS_START + i))
					_exit(27);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(test_activated_named)
{
	char a[PATH_MAX];
	unsigned port;
	int fds[2];

	path_in_tmp(a, sizeof(a), "act.sock");
	fds[0] = unix_bound(a, SOCK_STREAM, true);
	fds[1] = tcp4_bound(SOCK_STREAM, true, &port);
	ck_assert_int_eq(activate_in_child(fds, 2, "profile=alpha:torgate.socket",
	    true, 0, 2, "alpha"), 0);
	/* Without names: none bound. */
	ck_assert_int_eq(activate_in_child(fds, 2, NULL, true, 0, 2, NULL), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_activated_none)
{
	char a[PATH_MAX];
	int fd;

	path_in_tmp(a, sizeof(a), "none.sock");
	fd = unix_bound(a, SOCK_STREAM, true);
	/* LISTEN_PID of another process: not ours, and still cleared. */
	ck_assert_int_eq(activate_in_child(&fd, 1, "x", false, 0, 0, NULL), 0);
	close(fd);
}
END_TEST

START_TEST(test_activated_refused)
{
	char a[PATH_MAX], b[PATH_MAX];
	unsigned port;
	int fds[2];

	path_in_tmp(a, sizeof(a), "ok.sock");
	path_in_tmp(b, sizeof(b), "notlistening.sock");
	fds[0] = unix_bound(a, SOCK_STREAM, true);
	/* Not listening, datagram, TCP not listening: each refused. */
	fds[1] = unix_bound(b, SOCK_STREAM, false);
	ck_assert_int_eq(activate_in_child(fds, 2, "a:b", true, -1, 0, NULL),
	    0);
	close(fds[1]);
	fds[1] = tcp4_bound(SOCK_DGRAM, false, &port);
	ck_assert_int_eq(activate_in_child(fds, 2, "a:b", true, -1, 0, NULL),
	    0);
	close(fds[1]);
	fds[1] = tcp4_bound(SOCK_STREAM, false, &port);
	ck_assert_int_eq(activate_in_child(fds, 2, "a:b", true, -1, 0, NULL),
	    0);
	close(fds[1]);
	/* A name torgate does not understand. */
	ck_assert_int_eq(activate_in_child(fds, 1, "profle=x", true, -1, 0,
	    NULL), 0);
	ck_assert_int_eq(activate_in_child(fds, 1, "profile=", true, -1, 0,
	    NULL), 0);
	/* Fewer names than sockets: sd_listen_fds_with_names refuses. */
	fds[1] = tcp4_bound(SOCK_STREAM, true, &port);
	ck_assert_int_eq(activate_in_child(fds, 2, "a", true, -1, 0, NULL), 0);
	close(fds[0]);
	close(fds[1]);
}
END_TEST

START_TEST(test_is_at)
{
	char a[PATH_MAX], text[PATH_MAX + 32];
	listen_spec_t spec, other;
	listener_t *l;

	path_in_tmp(a, sizeof(a), "at.sock");
	snprintf(text, sizeof(text), "unix:%s,profile=p", a);
	spec = spec_for(text);
	l = listener_bind(&spec);
	ck_assert_ptr_nonnull(l);
	ck_assert(listener_is_at(l, &spec.addr));
	ck_assert_str_eq(listener_profile(l), "p");
	other = spec_for("unix:/elsewhere");
	ck_assert(!listener_is_at(l, &other.addr));
	listen_spec_clear(&other);
	other = spec_for("127.0.0.1:951");
	ck_assert(!listener_is_at(l, &other.addr));
	listen_spec_clear(&other);
	listener_free(l);
	listen_spec_clear(&spec);
}
END_TEST

static Suite *
listener_suite(void)
{
	Suite *s = suite_create("listener");
	TCase *tc = tcase_create("listener");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_adopt_unix);
	tcase_add_test(tc, test_adopt_tcp4);
	tcase_add_test(tc, test_adopt_tcp6);
	tcase_add_test(tc, test_reject_unix_not_listening);
	tcase_add_test(tc, test_reject_tcp_not_listening);
	tcase_add_test(tc, test_reject_udp);
	tcase_add_test(tc, test_reject_unix_seqpacket_listening);
	tcase_add_test(tc, test_reject_connected_stream);
	tcase_add_test(tc, test_reject_pipe);
	tcase_add_test(tc, test_reject_regular_file);
	tcase_add_test(tc, test_bind_unix_mode);
	tcase_add_test(tc, test_bind_unix_default_mode);
	tcase_add_test(tc, test_bind_replaces_stale_socket);
	tcase_add_test(tc, test_bind_refuses_live_socket);
	tcase_add_test(tc, test_bind_refuses_live_datagram_socket);
	tcase_add_test(tc, test_bind_refuses_unreachable_live_socket);
	tcase_add_test(tc, test_bind_refuses_regular_file);
	tcase_add_test(tc, test_bind_tcp4);
	tcase_add_test(tc, test_start_bound_unix_accepts);
	tcase_add_test(tc, test_start_adopted_tcp_accepts);
	tcase_add_test(tc, test_bind_unix_group);
	tcase_add_test(tc, test_bind_unix_unknown_group);
	tcase_add_test(tc, test_bind_unix_missing_directory);
	tcase_add_loop_test(tc, test_fdname_rows, 0,
	    (int)(sizeof(fdname_rows) / sizeof(fdname_rows[0])));
	tcase_add_test(tc, test_activated_named);
	tcase_add_test(tc, test_activated_none);
	tcase_add_test(tc, test_activated_refused);
	tcase_add_test(tc, test_is_at);
	tcase_add_test(tc, test_socket_perms_no_symlink);
	tcase_add_test(tc, test_adopt_unix_full_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tg_run_suite(listener_suite());
}
