/*
 * addr.c: parsing and printing of listener and tor addresses. See addr.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "addr.h"
#include "util.h"

static int
parse_port(const char *s, in_port_t *port)
{
	char *end;
	long v;

	/* Digits only: strtol would also take blanks and a sign. */
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

int
addr_parse(const char *s, tg_addr_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
		const char *path = s + 5;
		if (path[0] != '/') {
			snprintf(err, errlen, "%s: unix socket path must be "
			    "absolute", s);
			return -1;
		}
		if (strlen(path) >= sizeof(sun->sun_path)) {
			snprintf(err, errlen, "%s: path too long", s);
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		out->family = AF_UNIX;
		out->len = sizeof(*sun);
	} else {
		char host[128];
		const char *colon, *portstr;
		in_port_t port;
		if (s[0] == '[') {
			const char *rb = strchr(s, ']');
			if (rb == NULL || rb[1] != ':' ||
			    (size_t)(rb - s - 1) >= sizeof(host)) {
				snprintf(err, errlen, "%s: expected [V6]:PORT",
				    s);
				return -1;
			}
			memcpy(host, s + 1, (size_t)(rb - s - 1));
			host[rb - s - 1] = '\0';
			portstr = rb + 2;
		} else {
			colon = strrchr(s, ':');
			if (colon == NULL || strchr(s, ':') != colon ||
			    (size_t)(colon - s) >= sizeof(host)) {
				snprintf(err, errlen, "%s: expected unix:/PATH, "
				    "HOST:PORT or [V6]:PORT", s);
				return -1;
			}
			memcpy(host, s, (size_t)(colon - s));
			host[colon - s] = '\0';
			portstr = colon + 1;
		}
		if (parse_port(portstr, &port) < 0) {
			snprintf(err, errlen, "%s: bad port", s);
			return -1;
		}
		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
		if (s[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = port;
			out->family = AF_INET;
			out->len = sizeof(*sin);
		} else if (s[0] == '[' &&
		    inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = port;
			out->family = AF_INET6;
			out->len = sizeof(*sin6);
		} else {
			snprintf(err, errlen, "%s: host must be a numeric "
			    "address or localhost", s);
			return -1;
		}
	}
	addr_format((struct sockaddr *)&out->ss, out->len, out->text,
	    sizeof(out->text));
	return 0;
}

int
listen_spec_parse(const char *s, listen_spec_t *out, char *err, size_t errlen)
{
	char *copy = xstrdup(s), *opt, *save = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->mode = 0660;
	opt = strtok_r(copy, ",", &save);
	if (opt == NULL) {
		snprintf(err, errlen, "empty listen address");
		goto done;
	}
	if (addr_parse(opt, &out->addr, err, errlen) < 0)
		goto done;
	while ((opt = strtok_r(NULL, ",", &save)) != NULL) {
		if (strncmp(opt, "mode=", 5) == 0) {
			char *end;
			long m;
			if (out->addr.family != AF_UNIX) {
				snprintf(err, errlen, "%s: mode= only applies to "
				    "unix sockets", s);
				goto done;
			}
			errno = 0;
			m = strtol(opt + 5, &end, 8);
			if (errno || *end || opt[5] < '0' || opt[5] > '7' ||
			    m > 0777) {
				snprintf(err, errlen, "%s: bad mode", s);
				goto done;
			}
			out->mode = (mode_t)m;
		} else if (strncmp(opt, "group=", 6) == 0) {
			if (out->addr.family != AF_UNIX) {
				snprintf(err, errlen, "%s: group= only applies "
				    "to unix sockets", s);
				goto done;
			}
			if (opt[6] == '\0') {
				snprintf(err, errlen, "%s: empty group", s);
				goto done;
			}
			free(out->group);
			out->group = xstrdup(opt + 6);
		} else if (strncmp(opt, "profile=", 8) == 0 && opt[8] != '\0') {
			free(out->profile);
			out->profile = xstrdup(opt + 8);
		} else {
			snprintf(err, errlen, "%s: unknown option '%s'", s, opt);
			goto done;
		}
	}
	rc = 0;
done:
	if (rc < 0)
		listen_spec_clear(out);
	free(copy);
	return rc;
}

void
listen_spec_clear(listen_spec_t *l)
{
	FREE(l->profile);
	FREE(l->group);
}

void
addr_host_port(const struct sockaddr *sa, socklen_t len, char *host,
    size_t hostlen, unsigned *port)
{
	(void)len;
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, (socklen_t)hostlen);
		*port = ntohs(sin->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host,
			    (socklen_t)hostlen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, host,
			    (socklen_t)hostlen);
		*port = ntohs(sin6->sin6_port);
	} else {
		snprintf(host, hostlen, "unix");
	}
}

void
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *sun = (const void *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path) ||
		    sun->sun_path[0] == '\0')
			snprintf(buf, buflen, "unix:");
		else
			snprintf(buf, buflen, "unix:%.*s",
			    (int)(len - offsetof(struct sockaddr_un, sun_path)),
			    sun->sun_path);
		return;
	}
	addr_host_port(sa, len, host, sizeof(host), &port);
	if (sa->sa_family == AF_INET6 && strchr(host, ':') != NULL)
		snprintf(buf, buflen, "[%s]:%u", host, port);
	else
		snprintf(buf, buflen, "%s:%u", host, port);
}

bool
addr_is_local(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

int
addr_file_id(const char *path, addr_file_id_t *out)
{
	char *canon;
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (path[0] != '/' || (canon = realpath(path, NULL)) == NULL)
		return -1;
	if (strlen(canon) >= sizeof(out->path) || stat(canon, &st) < 0) {
		free(canon);
		return -1;
	}
	strcpy(out->path, canon);
	out->dev = (unsigned long long)st.st_dev;
	out->ino = (unsigned long long)st.st_ino;
	free(canon);
	return 0;
}
