/*
 * ident.c: see ident.h. Both sides of the socketpair live here: the
 * asking side (ident_start, reply_cb) runs in the event loop, the
 * identifying side (serve) is the whole life of the child process.
 *
 * Messages are SOCK_SEQPACKET records, so each is read whole or not at
 * all. A request carries the client's socket as SCM_RIGHTS; a reply
 * carries the request's id and the peer_t.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "ident.h"
#include "log.h"
#include "util.h"

/* Requests waiting for an answer at once; past that, a client is
 * identified with what the kernel says at once (fail closed: a missing
 * user name or program matches only '*'). */
#define IDENT_MAX_PENDING 1024

typedef struct ident_msg_req {
	uint64_t id;
	uint8_t want_program;
	uint32_t salen;
	struct sockaddr_storage sa;
} ident_msg_req_t;

typedef struct ident_msg_rep {
	uint64_t id;
	peer_t peer;
} ident_msg_rep_t;

struct ident_req {
	ident_t *owner;
	uint64_t id;
	ident_cb cb;            /* NULL: cancelled */
	void *arg;
	ident_req_t *next;
};

struct ident {
	int fd;                 /* our end of the socketpair */
	pid_t pid;              /* the identifying process */
	struct event *ev;
	uint64_t next_id;
	ident_req_t *head;      /* pending, oldest first */
	unsigned n;
};

/* ---- the identifying process ----------------------------------------- */

static int
recv_req(int fd, ident_msg_req_t *m, int *cfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cb;
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *c;
	size_t total = 0;
	ssize_t n;

	*cfd = -1;
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	/* Every descriptor that came is taken, so that none stays open here;
	 * a request carries exactly one (the buffer has room for two). */
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t nfd;
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int f;
			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*cfd < 0)
				*cfd = f;
			else
				close(f);
			total++;
		}
	}
	if (total > 1 && *cfd >= 0) {
		close(*cfd);
		*cfd = -1;
	}
	if ((size_t)n != sizeof(*m) || (mh.msg_flags & MSG_CTRUNC) ||
	    m->salen > sizeof(m->sa) || *cfd < 0)
		return 0;       /* malformed: answered with nothing known */
	return 1;
}

/* Answer requests until the asking side goes away. Never returns. */
static void __attribute__((noreturn))
serve(int fd)
{
	for (;;) {
		ident_msg_req_t m;
		ident_msg_rep_t r;
		int cfd, rc;

		memset(&m, 0, sizeof(m));
		rc = recv_req(fd, &m, &cfd);
		if (rc < 0)
			_exit(0);
		memset(&r, 0, sizeof(r));
		r.id = m.id;
		if (rc > 0)
			peer_identify(cfd, (const struct sockaddr *)&m.sa,
			    (socklen_t)m.salen, m.want_program != 0, &r.peer);
		if (cfd >= 0)
			close(cfd);
		if (send(fd, &r, sizeof(r), MSG_NOSIGNAL) < 0 && errno != EINTR)
			_exit(0);
	}
}

ident_t *
ident_spawn(void (*confine)(void *), void *arg)
{
	ident_t *id = xzalloc(sizeof(*id));
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("socketpair");
	id->pid = fork();
	if (id->pid < 0)
		fatal("fork");
	if (id->pid == 0) {
		/* The identifying process keeps its end of the socketpair and
		 * the standard descriptors (logging), nothing else. */
		int fd = sv[1];
		close(sv[0]);
		if (fd != 3) {
			if (dup2(fd, 3) < 0)
				_exit(1);
			fd = 3;
		}
		if (close_range(4, ~0U, 0) < 0)
			_exit(1);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);     /* stops with torgate: EOF */
		{
			/* main() holds them back until its handlers are in;
			 * ignored here, they need no holding. */
			sigset_t set;
			sigemptyset(&set);
			sigaddset(&set, SIGHUP);
			sigaddset(&set, SIGINT);
			sigaddset(&set, SIGTERM);
			sigprocmask(SIG_UNBLOCK, &set, NULL);
		}
		if (confine != NULL)
			confine(arg);
		serve(fd);
	}
	close(sv[1]);
	id->fd = sv[0];
	if (fcntl(id->fd, F_SETFL, fcntl(id->fd, F_GETFL) | O_NONBLOCK) < 0)
		fatal("fcntl");
	return id;
}

/* ---- the asking side --------------------------------------------------- */

static void
finish(ident_t *id, uint64_t rid, const peer_t *peer)
{
	ident_req_t **pp, *r;

	for (pp = &id->head; (r = *pp) != NULL; pp = &r->next)
		if (r->id == rid)
			break;
	if (r == NULL) {
		log_warnx("identifying process answered an unknown request");
		return;
	}
	*pp = r->next;
	id->n--;
	if (peer->have_uid && peer->user[0] != '\0')
		peer_cache_user(peer->uid, peer->user);
	if (r->cb != NULL)
		r->cb(r->arg, peer);
	free(r);
}

static void
reply_cb(evutil_socket_t fd, short what, void *arg)
{
	ident_t *id = arg;

	for (;;) {
		ident_msg_rep_t m;
		ssize_t n = recv(id->fd, &m, sizeof(m), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			fatalx("the identifying process is gone; exiting");
		if ((size_t)n != sizeof(m)) {
			log_warnx("identifying process: short reply");
			continue;
		}
		m.peer.desc[sizeof(m.peer.desc) - 1] = '\0';
		m.peer.user[sizeof(m.peer.user) - 1] = '\0';
		m.peer.label[sizeof(m.peer.label) - 1] = '\0';
		m.peer.exe[sizeof(m.peer.exe) - 1] = '\0';
		m.peer.host[sizeof(m.peer.host) - 1] = '\0';
		finish(id, m.id, &m.peer);
	}
}

void
ident_attach(ident_t *id, struct event_base *base)
{
	id->ev = event_new(base, id->fd, EV_READ | EV_PERSIST, reply_cb, id);
	if (id->ev == NULL || event_add(id->ev, NULL) < 0)
		fatalx("cannot watch the identifying process");
}

void
ident_free(ident_t *id)
{
	ident_req_t *r;

	if (id == NULL)
		return;
	if (id->ev != NULL)
		event_free(id->ev);
	close(id->fd);
	if (id->pid > 0) {
		/* It would exit on EOF, but may be in a slow look-up. (A
		 * worker that dropped to another user than the monitor's
		 * cannot signal it: then it is waited for, and ends when
		 * its current request is answered.) */
		kill(id->pid, SIGKILL);
		waitpid(id->pid, NULL, 0);
	}
	while ((r = id->head) != NULL) {
		id->head = r->next;
		free(r);
	}
	free(id);
}

static int
send_req(ident_t *id, int fd, const ident_msg_req_t *m)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cb;
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cb.buf, .msg_controllen = sizeof(cb.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(cb.buf, 0, sizeof(cb.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(id->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(*m) ? 0 : -1;
}

ident_req_t *
ident_start(ident_t *id, int fd, const struct sockaddr *sa, socklen_t salen,
    bool want_program, peer_t *out, ident_cb cb, void *arg)
{
	ident_msg_req_t m;
	ident_req_t *r, **tail;

	if (peer_identify_fast(fd, sa, salen, want_program, out))
		return NULL;
	if (id == NULL) {
		peer_identify(fd, sa, salen, want_program, out);
		return NULL;
	}
	if (id->n >= IDENT_MAX_PENDING || salen > sizeof(m.sa)) {
		log_warnx("too many clients waiting to be identified; %s is "
		    "identified only as far as the kernel says at once",
		    out->desc);
		return NULL;
	}
	memset(&m, 0, sizeof(m));
	m.id = ++id->next_id;
	m.want_program = want_program;
	m.salen = (uint32_t)salen;
	memcpy(&m.sa, sa, salen);
	if (send_req(id, fd, &m) < 0) {
		log_warn("cannot ask the identifying process about %s",
		    out->desc);
		return NULL;
	}
	r = xzalloc(sizeof(*r));
	r->owner = id;
	r->id = m.id;
	r->cb = cb;
	r->arg = arg;
	for (tail = &id->head; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = r;
	id->n++;
	return r;
}

pid_t
ident_pid(const ident_t *id)
{
	return id != NULL ? id->pid : -1;
}

void
ident_cancel(ident_req_t *r)
{
	if (r != NULL)
		r->cb = NULL;
}

unsigned
ident_pending(const ident_t *id)
{
	return id != NULL ? id->n : 0;
}
