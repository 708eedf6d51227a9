/*
 * guard.c: see guard.h.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "guard.h"
#include "kvline.h"
#include "util.h"

void
guard_targets_add(guard_targets_t *g, const tg_addr_t *a)
{
	g->v = xreallocarray(g->v, g->n + 1, sizeof(*g->v));
	g->v[g->n++] = *a;
}

void
guard_targets_add_tor_list(guard_targets_t *g, const char *value, size_t len)
{
	const char *p = value, *end = value + len;

	while (p < end) {
		char *item = NULL, err[128];
		size_t ilen;
		long used;
		tg_addr_t a;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		if (*p == '"') {
			used = kvline_unquote(p, (size_t)(end - p), &item, &ilen);
			if (used < 0)
				break;
			p += used;
		} else {
			const char *s = p;
			while (p < end && *p != ' ')
				p++;
			item = xmemdup_nul(s, (size_t)(p - s));
		}
		if (addr_parse(item, &a, err, sizeof(err)) == 0)
			guard_targets_add(g, &a);
		free(item);
	}
}

void
guard_targets_clear(guard_targets_t *g)
{
	free(g->v);
	memset(g, 0, sizeof(*g));
}

/* Collapse repeated and trailing slashes and "/./" in an absolute path. */
static void
normalise_path(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = in; *p && o + 1 < outlen; p++) {
		if (*p == '/' && o > 0 && out[o - 1] == '/')
			continue;
		if (*p == '.' && o > 0 && out[o - 1] == '/' &&
		    (p[1] == '/' || p[1] == '\0'))
			continue;
		out[o++] = *p;
	}
	while (o > 1 && out[o - 1] == '/')
		o--;
	out[o] = '\0';
}

static bool
is_local_or_any(int family, const void *a)
{
	if (family == AF_INET) {
		uint32_t v = ntohl(((const struct in_addr *)a)->s_addr);
		return (v >> 24) == 127 || v == 0;
	}
	const struct in6_addr *a6 = a;
	if (IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_UNSPECIFIED(a6))
		return true;
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		return a6->s6_addr[12] == 127 ||
		    (a6->s6_addr[12] | a6->s6_addr[13] | a6->s6_addr[14] |
		    a6->s6_addr[15]) == 0;
	}
	return false;
}

static bool
listener_is_any(const tg_addr_t *l)
{
	if (l->family == AF_INET)
		return ((const struct sockaddr_in *)&l->ss)->sin_addr.s_addr == 0;
	if (l->family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)&l->ss)->sin6_addr);
	return false;
}

static unsigned
listener_port(const tg_addr_t *l)
{
	if (l->family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&l->ss)->sin_port);
	if (l->family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&l->ss)->sin6_port);
	return 0;
}

static bool
same_host(const tg_addr_t *l, int family, const void *a)
{
	if (l->family == AF_INET && family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&l->ss)->sin_addr,
		    a, 4) == 0;
	if (l->family == AF_INET6 && family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&l->ss)->sin6_addr,
		    a, 16) == 0;
	return false;
}

static bool
parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*port = v;
	return true;
}

static bool
check_tcp(const guard_targets_t *g, bool named, int family, const void *a,
    unsigned port, const char *shown, char *why, size_t whylen)
{
	for (size_t i = 0; i < g->n; i++) {
		const tg_addr_t *l = &g->v[i];
		if (l->family == AF_UNIX || listener_port(l) != port)
			continue;
		if (named || listener_is_any(l) ||
		    is_local_or_any(family, a) || same_host(l, family, a)) {
			snprintf(why, whylen, "target %s is the control port %s",
			    shown, l->text);
			return false;
		}
	}
	return true;
}

static bool
check_unix(const guard_targets_t *g, const char *path, char *why,
    size_t whylen)
{
	char want[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char have[sizeof(want)];

	normalise_path(path, want, sizeof(want));
	for (size_t i = 0; i < g->n; i++) {
		const tg_addr_t *l = &g->v[i];
		if (l->family != AF_UNIX)
			continue;
		normalise_path(((const struct sockaddr_un *)&l->ss)->sun_path,
		    have, sizeof(have));
		if (strcmp(want, have) == 0) {
			snprintf(why, whylen, "target unix:%s is the control "
			    "socket %s", path, l->text);
			return false;
		}
	}
	return true;
}

bool
guard_port_ok(const guard_targets_t *g, const char *spec, size_t len,
    char sep, char *why, size_t whylen)
{
	const char *p = spec, *end = spec + len, *comma;
	unsigned vport = 0, port;
	char host[256];
	struct in6_addr a6;
	struct in_addr a4;

	while (p < end && tor_isspace(*p))
		p++;
	while (end > p && tor_isspace(end[-1]))
		end--;
	comma = memchr(p, sep, (size_t)(end - p));
	if (!parse_port(p, (size_t)((comma ? comma : end) - p), &vport))
		return true;    /* tor rejects it: nothing exposed */
	if (comma == NULL) {
		a4.s_addr = htonl(0x7f000001);
		snprintf(host, sizeof(host), "127.0.0.1:%u", vport);
		return check_tcp(g, false, AF_INET, &a4, vport, host, why,
		    whylen);
	}
	p = comma + 1;
	while (p < end && tor_isspace(*p))
		p++;
	if ((size_t)(end - p) >= 5 && strncasecmp(p, "unix:", 5) == 0) {
		char *path = NULL;
		size_t plen;
		bool ok;
		p += 5;
		if (p < end && *p == '"') {
			if (kvline_unquote(p, (size_t)(end - p), &path, &plen) < 0)
				return true;    /* tor rejects it */
		} else {
			path = xmemdup_nul(p, (size_t)(end - p));
		}
		ok = check_unix(g, path, why, whylen);
		free(path);
		return ok;
	}
	if ((size_t)(end - p) >= sizeof(host))
		return true;
	if (memchr(p, ':', (size_t)(end - p)) == NULL &&
	    memchr(p, '.', (size_t)(end - p)) == NULL) {
		if (!parse_port(p, (size_t)(end - p), &port))
			return true;
		a4.s_addr = htonl(0x7f000001);
		snprintf(host, sizeof(host), "127.0.0.1:%u", port);
		return check_tcp(g, false, AF_INET, &a4, port, host, why,
		    whylen);
	}
	/* ADDR[:PORT], [V6][:PORT], V6 or NAME[:PORT]. */
	{
		char shown[300];
		const char *h = p, *hend, *pp = NULL;
		if (*p == '[') {
			const char *rb = memchr(p, ']', (size_t)(end - p));
			if (rb == NULL)
				return true;
			h = p + 1;
			hend = rb;
			if (rb + 1 < end) {
				if (rb[1] != ':')
					return true;
				pp = rb + 2;
			}
		} else {
			const char *c1 = memchr(p, ':', (size_t)(end - p));
			const char *c2 = c1 ? memchr(c1 + 1, ':',
			    (size_t)(end - c1 - 1)) : NULL;
			if (c1 != NULL && c2 == NULL) {
				hend = c1;
				pp = c1 + 1;
			} else {
				hend = end;     /* bare IPv6 or no port */
			}
		}
		memcpy(host, h, (size_t)(hend - h));
		host[hend - h] = '\0';
		port = vport;
		if (pp != NULL && !parse_port(pp, (size_t)(end - pp), &port))
			return true;
		snprintf(shown, sizeof(shown), "%.*s", (int)(end - p), p);
		if (inet_pton(AF_INET, host, &a4) == 1)
			return check_tcp(g, false, AF_INET, &a4, port, shown,
			    why, whylen);
		if (inet_pton(AF_INET6, host, &a6) == 1)
			return check_tcp(g, false, AF_INET6, &a6, port, shown,
			    why, whylen);
		/* A name: tor resolves it, possibly to loopback. */
		a4.s_addr = 0;
		return check_tcp(g, true, AF_INET, &a4, port, shown, why,
		    whylen);
	}
}

bool
guard_add_onion_ok(const guard_targets_t *g, const char *args, size_t len,
    char *why, size_t whylen)
{
	const char *p = args, *end = args + len;

	while (p < end) {
		const char *w;
		while (p < end && tor_isspace(*p))
			p++;
		w = p;
		while (p < end && !tor_isspace(*p))
			p++;
		if (p - w > 5 && strncasecmp(w, "Port=", 5) == 0 &&
		    !guard_port_ok(g, w + 5, (size_t)(p - w - 5), ',', why,
		    whylen))
			return false;
	}
	return true;
}

bool
guard_torrc_ok(const guard_targets_t *g, const char *text, size_t len,
    char *why, size_t whylen)
{
	static const char key[] = "HiddenServicePort";
	const char *p = text, *end;

	if (text == NULL)
		return true;
	end = text + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *q = p;
		while (q < le && tor_isspace(*q))
			q++;
		if ((size_t)(le - q) > sizeof(key) - 1 &&
		    strncasecmp(q, key, sizeof(key) - 1) == 0 &&
		    tor_isspace(q[sizeof(key) - 1]) &&
		    !guard_port_ok(g, q + sizeof(key), (size_t)(le - q -
		    sizeof(key)), ' ', why, whylen))
			return false;
		p = eol ? eol + 1 : end;
	}
	return true;
}
