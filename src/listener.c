/*
 * listener.c: bind, listen and accept. See listener.h.
 */
#include <errno.h>
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

struct listener {
	gate_t *g;
	struct evconnlistener *ev;
	struct event *resume;           /* re-enables accept after a pause */
	unsigned long n_errors;         /* accept errors, for the log */
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
	if (rc == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(sun->sun_path);
}

listener_t *
listener_open(gate_t *g, const listen_spec_t *spec)
{
	listener_t *l = xzalloc(sizeof(*l));
	int fd = -1, one = 1;

	l->g = g;
	l->addr = spec->addr;
	if (spec->profile != NULL)
		l->profile = xstrdup(spec->profile);
	l->info.profile = l->profile;
	l->info.text = l->addr.text;

	if (l->addr.family == AF_UNIX && clear_stale_socket(&l->addr) < 0) {
		log_warn("listen %s", l->addr.text);
		goto fail;
	}
	fd = socket(l->addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		log_warn("socket for %s", l->addr.text);
		goto fail;
	}
	if (l->addr.family != AF_UNIX) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l->addr.family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0) {
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
	l->ev = evconnlistener_new(g->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
	if (l->ev == NULL) {
		log_warn("listen %s", l->addr.text);
		goto fail;
	}
	evconnlistener_set_error_cb(l->ev, accept_error_cb);
	l->resume = evtimer_new(g->base, resume_cb, l);
	if (l->resume == NULL) {
		log_warnx("evtimer_new failed");
		goto fail;
	}
	log_info("listening on %s%s%s", l->addr.text,
	    l->profile ? ", profile " : "", l->profile ? l->profile : "");
	return l;
fail:
	if (fd >= 0 && l->ev == NULL)
		close(fd);
	listener_free(l);
	return NULL;
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
