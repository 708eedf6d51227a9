/*
 * peer.c: client identity. See peer.h.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>
#include <unistd.h>

#include "addr.h"
#include "log.h"
#include "peer.h"
#include "util.h"

static void
lookup_user(peer_t *p)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(p->user, sizeof(p->user), "%s", pw.pw_name);
	else
		snprintf(p->user, sizeof(p->user), "%u", (unsigned)p->uid);
}

static void
lookup_exe(peer_t *p)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", (int)p->pid);
	n = readlink(link, p->exe, sizeof(p->exe) - 1);
	if (n < 0)
		n = 0;
	p->exe[n] = '\0';
}

static void
lookup_label(peer_t *p, int fd)
{
	char *con = NULL, *mode = NULL;

	if (aa_getpeercon(fd, &con, &mode) < 0)
		return;
	/* "unconfined" carries no identity: fall back to the exe path. */
	if (strcmp(con, "unconfined") != 0)
		snprintf(p->label, sizeof(p->label), "%s", con);
	free(con);
}

void
peer_identify(int fd, const struct sockaddr *sa, socklen_t salen, peer_t *out)
{
	memset(out, 0, sizeof(*out));
	addr_host_port(sa, salen, out->host, sizeof(out->host), &out->port);
	out->is_unix = sa->sa_family == AF_UNIX;
	out->local = addr_is_local(sa);

	if (out->is_unix) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			out->have_cred = true;
			out->uid = cred.uid;
			out->gid = cred.gid;
			out->pid = cred.pid;
			lookup_user(out);
			lookup_exe(out);
		}
		lookup_label(out, fd);
		snprintf(out->desc, sizeof(out->desc),
		    "unix peer uid=%u(%s) pid=%d%s%s%s%s",
		    (unsigned)out->uid, out->user, (int)out->pid,
		    out->label[0] ? " label=" : "", out->label,
		    out->exe[0] ? " exe=" : "", out->exe);
	} else {
		snprintf(out->desc, sizeof(out->desc), "%s%s%s:%u",
		    sa->sa_family == AF_INET6 && strchr(out->host, ':') ? "[" : "",
		    out->host,
		    sa->sa_family == AF_INET6 && strchr(out->host, ':') ? "]" : "",
		    out->port);
	}
}
