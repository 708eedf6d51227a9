/*
 * listener.c: bind (or adopt), listen and accept. See listener.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

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

listener_t *
listener_bind(const listen_spec_t *spec)
{
	listener_t *l = xzalloc(sizeof(*l));
	int one = 1;

	l->fd = -1;
	l->addr = spec->addr;
	if (spec->profile != NULL)
		l->profile = xstrdup(spec->profile);
	l->info.profile = l->profile;
	l->info.text = l->addr.text;

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
	if (bind(l->fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) <
	    0) {
		log_warn("bind %s", l->addr.text);
		goto fail;
	}
	if (l->addr.family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)&l->addr.ss;
		l->unlink_on_close = true;
		if (chmod(sun->sun_path, spec->mode) < 0) {
			log_warn("chmod %s", l->addr.text);
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
	if (ss.ss_family == AF_UNIX)
		snprintf(l->addr.text, sizeof(l->addr.text), "unix:%.240s",
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
	log_info("listening on %s%s%s", l->addr.text,
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
