/*
 * listener.c: bind (or adopt), listen and accept. See listener.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "listener.h"
#include "log.h"
#include "util.h"

/* After EMFILE/ENFILE, stop accepting for this long: the pending clients
 * wait in the backlog instead of the loop spinning on accept(). */
#define ACCEPT_PAUSE_MSEC 100
/* Connections the kernel queues before torgate accepts them. */
#define LISTEN_BACKLOG 128

struct listener {
	gate_t *g;
	struct evconnlistener *ev;
	struct event *resume;           /* re-enables accept after a pause */
	unsigned long n_errors;         /* accept errors, for the log */
	int fd;                         /* until started */
	tg_addr_t addr;
	char *profile;
	listener_info_t info;
	bool unlink_on_close;
	bool activated;                 /* passed by systemd */
};

static void
accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	listener_t *l = arg;

	socket_nodelay(fd, sa->sa_family);
	session_start(l->g, fd, sa, (socklen_t)salen, &l->info);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	listener_t *l = arg;

	evconnlistener_enable(l->ev);
}

/*
 * accept() failed: out of descriptors (EMFILE, ENFILE) or memory. Pause
 * accepting for a moment rather than spin, and log the first error of a
 * burst and then every 1000th.
 */
static void
accept_error_cb(struct evconnlistener *ev, void *arg)
{
	listener_t *l = arg;
	struct timeval tv = { 0, ACCEPT_PAUSE_MSEC * 1000 };

	if (l->n_errors++ % 1000 == 0)
		log_warn("accept on %s (%lu errors so far; pausing %d ms)",
		    l->addr.text, l->n_errors, ACCEPT_PAUSE_MSEC);
	evconnlistener_disable(l->ev);
	evtimer_add(l->resume, &tv);
}

/* Remove a unix socket file that nobody accepts on any more. */
static int
clear_stale_socket(const tg_addr_t *a)
{
	const struct sockaddr_un *sun = (const void *)&a->ss;
	struct stat st;
	int fd, rc;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
	close(fd);
	if (rc == 0 || errno != ECONNREFUSED) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(sun->sun_path);
}

int
listener_group_id(const char *name, gid_t *gid)
{
	struct group gr, *res = NULL;
	char buf[16384], *end;
	unsigned long v;

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 &&
	    res != NULL) {
		*gid = res->gr_gid;
		return 0;
	}
	if (name[0] < '0' || name[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end || v >= (gid_t)-1)
		return -1;
	*gid = (gid_t)v;
	return 0;
}

/*
 * The socket file is opened without following a link (O_PATH), checked to
 * be a socket, and changed through that descriptor: what is put in its
 * place between bind() and here (a symbolic or hard link to a file of
 * root's) is refused, never changed. chmod goes through /proc's link to
 * the descriptor (fchmod does not take an O_PATH descriptor).
 */
int
listener_socket_perms(const char *path, gid_t gid, mode_t mode)
{
	char self[64];
	struct stat st;
	int fd, rc = -1, saved;

	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto done;
	if (!S_ISSOCK(st.st_mode)) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTSOCK;
		goto done;
	}
	if (gid != (gid_t)-1 && fchownat(fd, "", (uid_t)-1, gid,
	    AT_EMPTY_PATH) < 0)
		goto done;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	rc = chmod(self, mode);
done:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* bind() failed: say why in a person's words where the reason is
 * common (no directory for the socket; the port is taken). */
static void
bind_failed(const tg_addr_t *a)
{
	int saved = errno;

	if (a->family == AF_UNIX && saved == ENOENT) {
		char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
		snprintf(dir, sizeof(dir), "%s",
		    ((const struct sockaddr_un *)&a->ss)->sun_path);
		log_warnx("listen %s: the directory %s does not exist "
		    "(under systemd the unit's RuntimeDirectory= makes it; "
		    "create it or listen elsewhere)", a->text, dirname(dir));
	} else if (saved == EADDRINUSE) {
		log_warnx("listen %s: the address is in use by another "
		    "program", a->text);
	} else {
		errno = saved;
		log_warn("bind %s", a->text);
	}
}

listener_t *
listener_bind(const listen_spec_t *spec)
{
	listener_t *l = xzalloc(sizeof(*l));
	int one = 1, rc;
	gid_t gid = (gid_t)-1;
	mode_t mask;

	l->fd = -1;
	l->addr = spec->addr;
	if (spec->profile != NULL)
		l->profile = xstrdup(spec->profile);
	l->info.profile = l->profile;
	l->info.text = l->addr.text;

	if (spec->group != NULL && listener_group_id(spec->group, &gid) < 0) {
		log_warnx("listen %s: no group '%s'", l->addr.text,
		    spec->group);
		goto fail;
	}
	if (l->addr.family == AF_UNIX && clear_stale_socket(&l->addr) < 0) {
		log_warn("listen %s", l->addr.text);
		goto fail;
	}
	l->fd = socket(l->addr.family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		log_warn("socket for %s", l->addr.text);
		goto fail;
	}
	if (l->addr.family != AF_UNIX) {
		setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l->addr.family == AF_INET6)
			setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
	}
	/* A unix socket file is made owner-only, then given its group and
	 * mode: nobody else can connect before both are in place. */
	mask = umask(0177);
	rc = bind(l->fd, (const struct sockaddr *)&l->addr.ss, l->addr.len);
	umask(mask);
	if (rc < 0) {
		bind_failed(&l->addr);
		goto fail;
	}
	if (l->addr.family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)&l->addr.ss;
		l->unlink_on_close = true;
		if (listener_socket_perms(sun->sun_path, gid, spec->mode) < 0) {
			log_warn("listen %s: giving the socket group '%s' and "
			    "mode %04o", l->addr.text, spec->group != NULL ?
			    spec->group : "(unchanged)", (unsigned)spec->mode);
			goto fail;
		}
	}
	if (listen(l->fd, LISTEN_BACKLOG) < 0) {
		log_warn("listen %s", l->addr.text);
		goto fail;
	}
	return l;
fail:
	listener_free(l);
	return NULL;
}

listener_t *
listener_adopt(int fd, const char *profile)
{
	listener_t *l = xzalloc(sizeof(*l));
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, acc = 0;
	socklen_t tlen = sizeof(type), alen = sizeof(acc);
	char host[200];
	unsigned port = 0;

	l->fd = fd;
	memset(&ss, 0, sizeof(ss));
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
	    type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0 ||
	    !acc || getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_UNIX && ss.ss_family != AF_INET &&
	    ss.ss_family != AF_INET6)) {
		log_warnx("descriptor %d is not a listening stream socket "
		    "torgate can serve", fd);
		l->fd = -1;
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		log_warn("descriptor %d", fd);
		goto fail;
	}
	memset(&l->addr, 0, sizeof(l->addr));
	memcpy(&l->addr.ss, &ss, len);
	l->addr.len = len;
	l->addr.family = ss.ss_family;
	addr_host_port((struct sockaddr *)&ss, len, host, sizeof(host), &port);
	/* sun_path need not end in a NUL (a path of all its 108 bytes). */
	if (ss.ss_family == AF_UNIX)
		snprintf(l->addr.text, sizeof(l->addr.text), "unix:%.*s",
		    (int)sizeof(((struct sockaddr_un *)&ss)->sun_path),
		    ((struct sockaddr_un *)&ss)->sun_path);
	else if (ss.ss_family == AF_INET6)
		snprintf(l->addr.text, sizeof(l->addr.text), "[%s]:%u", host,
		    port);
	else
		snprintf(l->addr.text, sizeof(l->addr.text), "%s:%u", host,
		    port);
	if (profile != NULL)
		l->profile = xstrdup(profile);
	l->info.profile = l->profile;
	l->info.text = l->addr.text;
	return l;
fail:
	l->fd = -1;
	listener_free(l);
	return NULL;
}

int
listener_fdname_profile(const char *name, const char **profile)
{
	*profile = NULL;
	if (strchr(name, '=') == NULL)
		return 0;       /* a label: the unit's name, "unknown", ... */
	if (strncmp(name, "profile=", 8) != 0 || name[8] == '\0')
		return -1;
	*profile = name + 8;
	return 0;
}

/* Close every passed descriptor from i on (they are not ours to keep
 * when torgate refuses to start). */
static void
close_from(int n, int i)
{
	for (; i < n; i++)
		close(SD_LISTEN_FDS_START + i);
}

int
listener_activated(listener_t ***out, size_t *n_out)
{
	char **names = NULL;
	listener_t **ls = NULL;
	int n, i, rc = -1;

	*out = NULL;
	*n_out = 0;
	/* How many, first: if their names cannot be read, they are closed
	 * all the same. Then 1: LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES
	 * are removed, so that nothing started later (the monitor) takes
	 * them as its own. */
	i = sd_listen_fds(0);
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		log_warnx("socket activation: the sockets systemd passed "
		    "cannot be read (LISTEN_FDS, LISTEN_FDNAMES): %s",
		    strerror(-n));
		if (i > 0)
			close_from(i, 0);
		return -1;
	}
	if (n == 0)
		return 0;
	ls = xcalloc((size_t)n, sizeof(*ls));
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names != NULL && names[i] != NULL ?
		    names[i] : "unknown";
		const char *profile;

		if (listener_fdname_profile(name, &profile) < 0) {
			log_warnx("socket activation: descriptor %d is named "
			    "'%s': torgate understands FileDescriptorName="
			    "profile=NAME, or a name without '='", fd, name);
			close_from(n, i);
			goto done;
		}
		if ((ls[i] = listener_adopt(fd, profile)) == NULL) {
			log_warnx("socket activation: descriptor %d ('%s') "
			    "is not a listening stream socket (unix, IPv4 or "
			    "IPv6): check the socket unit's Listen*= lines",
			    fd, name);
			close_from(n, i);
			goto done;
		}
		ls[i]->activated = true;
	}
	*out = ls;
	*n_out = (size_t)n;
	ls = NULL;
	rc = 0;
done:
	if (ls != NULL) {
		for (int j = 0; j < n; j++)
			listener_free(ls[j]);
		free(ls);
	}
	if (names != NULL) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return rc;
}

bool
listener_is_at(const listener_t *l, const tg_addr_t *a)
{
	const struct sockaddr *x = (const void *)&l->addr.ss;
	const struct sockaddr *y = (const void *)&a->ss;

	if (x->sa_family != y->sa_family)
		return false;
	switch (x->sa_family) {
	case AF_UNIX:
		return strncmp(((const struct sockaddr_un *)x)->sun_path,
		    ((const struct sockaddr_un *)y)->sun_path,
		    sizeof(((const struct sockaddr_un *)x)->sun_path)) == 0;
	case AF_INET: {
		const struct sockaddr_in *p = (const void *)x, *q = (const void *)y;
		return p->sin_port == q->sin_port &&
		    p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *p = (const void *)x;
		const struct sockaddr_in6 *q = (const void *)y;
		return p->sin6_port == q->sin6_port &&
		    memcmp(&p->sin6_addr, &q->sin6_addr,
		    sizeof(p->sin6_addr)) == 0;
	}
	default:
		return false;
	}
}

const char *
listener_profile(const listener_t *l)
{
	return l->profile;
}

int
listener_start(listener_t *l, gate_t *g)
{
	l->g = g;
	/* Backlog -1: the socket listens already (bound or adopted). */
	l->ev = evconnlistener_new(g->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
	if (l->ev == NULL) {
		log_warn("listen %s", l->addr.text);
		return -1;
	}
	l->fd = -1;     /* the evconnlistener owns it now */
	evconnlistener_set_error_cb(l->ev, accept_error_cb);
	l->resume = evtimer_new(g->base, resume_cb, l);
	if (l->resume == NULL) {
		log_warnx("evtimer_new failed");
		return -1;
	}
	log_info("listening on %s%s%s%s", l->addr.text,
	    l->activated ? " (socket from systemd)" : "",
	    l->profile ? ", profile " : "", l->profile ? l->profile : "");
	return 0;
}

void
listener_free(listener_t *l)
{
	if (l == NULL)
		return;
	if (l->resume != NULL)
		event_free(l->resume);
	if (l->ev != NULL)
		evconnlistener_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	if (l->unlink_on_close) {
		const struct sockaddr_un *sun = (const void *)&l->addr.ss;
		unlink(sun->sun_path);
	}
	free(l->profile);
	free(l);
}

const tg_addr_t *
listener_addr(const listener_t *l)
{
	return &l->addr;
}
