/*
 * guard.c: see guard.h. The readers follow tor's own:
 * smartlist_split_string(), tor_parse_long(), hs_parse_port_config(),
 * port_cfg_line_extract_addrport() (with eat_whitespace() and
 * find_whitespace(), which know '#' comments), tor_addr_port_lookup() and
 * kvline_parse() without flags for ADD_ONION.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "guard.h"
#include "kvline.h"
#include "torrc.h"
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
	g->v = NULL;
	g->n = 0;
}

/* ---- a list that may be out of date ------------------------------------ */

void
guard_targets_mark_stale(guard_targets_t *g, uint64_t next)
{
	g->stale = GUARD_STALE_WHY;
	if (next > g->fresh_from)
		g->fresh_from = next;
}

bool
guard_targets_list_fresh(guard_targets_t *g, uint64_t conn)
{
	if (conn < g->fresh_from)
		return false;
	g->stale = NULL;
	return true;
}

/* tor's control listeners: VPORT(ControlPort) (ControlPort and
 * __ControlPort) and ControlSocket, both read into
 * CONN_TYPE_CONTROL_LISTENER ports. */
bool
guard_is_control_listener_option(const char *key)
{
	static const char *const names[] = {
		"ControlPort", "__ControlPort", "ControlSocket",
	};

	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (torrc_same_option(key, names[i]))
			return true;
	return false;
}

/* Any option the guard looks at may open or move a listener (torrc.h does
 * not tell listeners from the rest of them): counting them all costs one
 * more reading of the list; missing one would leave a listener unguarded. */
bool
guard_conf_changes_listeners(const char *args, size_t len)
{
	kvlist_t kv;
	bool changes = false;

	if (kvline_parse(args, len, &kv) < 0)
		return true;
	for (size_t i = 0; i < kv.n && !changes; i++) {
		torrc_opt_t k = torrc_option(kv.v[i].key, NULL);
		changes = k != TORRC_OPT_OTHER && k != TORRC_OPT_HS_PORT;
	}
	kvlist_clear(&kv);
	return changes;
}

static bool
refuse(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool
refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return false;
}

/* ---- tor's readers ------------------------------------------------------ */

/* tor_parse_long(s, 10, 1, 65535, ...): strtol semantics, whole string. */
static bool
tor_port(const char *s, unsigned *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno == ERANGE || end == s || *end != '\0' || v < 1 || v > 65535)
		return false;
	*port = (unsigned)v;
	return true;
}

/* eat_whitespace(): blanks, CR, LF and '#' comments up to a newline. */
static const char *
eat_ws(const char *s)
{
	for (;;) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			s++;
		} else if (*s == '#') {
			while (*s && *s != '\n')
				s++;
		} else {
			return s;
		}
	}
}

/* find_whitespace(): the first blank, CR, LF, '#' or the end. */
static const char *
find_ws(const char *s)
{
	while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n' &&
	    *s != '#')
		s++;
	return s;
}

/* smartlist_split_string(sep, SPLIT_SKIP_SPACE | SPLIT_IGNORE_BLANK, 2):
 * the number of items (0..2) put in item[]. */
static int
split2(const char *s, char sep, char *item[2])
{
	const char *cp = s;
	int n = 0;

	item[0] = item[1] = NULL;
	for (;;) {
		const char *end, *next;
		while (tor_isspace(*cp))
			cp++;
		if (n == 1)
			end = cp + strlen(cp);
		else if ((end = strchr(cp, sep)) == NULL)
			end = cp + strlen(cp);
		next = *end ? end + 1 : NULL;
		while (end > cp && tor_isspace(end[-1]))
			end--;
		if (end != cp)
			item[n++] = xmemdup_nul(cp, (size_t)(end - cp));
		if (next == NULL)
			return n;
		cp = next;
	}
}

/* An IPv4 or IPv6 literal as tor_addr_parse_impl() takes it ("[v6]" only
 * with brackets when brackets_only); false if it is not one. */
static bool
parse_ip(const char *s, bool allow_bare_v6, int *family, uint8_t a[16])
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		char tmp[INET6_ADDRSTRLEN + 16];
		if (len - 2 >= sizeof(tmp))
			return false;
		memcpy(tmp, s + 1, len - 2);
		tmp[len - 2] = '\0';
		*family = AF_INET6;
		return inet_pton(AF_INET6, tmp, a) == 1;
	}
	if (allow_bare_v6 && inet_pton(AF_INET6, s, a) == 1) {
		*family = AF_INET6;
		return true;
	}
	*family = AF_INET;
	return inet_pton(AF_INET, s, a) == 1;
}

/* tor_addr_port_split(): "host[:port]"; a bare IPv6 has no port. Port 0:
 * none given. false if the port part is bad. */
static bool
split_host_port(const char *s, char **host, unsigned *port)
{
	const char *colon;
	uint8_t a[16];
	int fam;

	*port = 0;
	if (parse_ip(s, true, &fam, a) && fam == AF_INET6) {
		*host = xstrdup(s);
		return true;
	}
	colon = strrchr(s, ':');
	if (colon == NULL) {
		*host = xstrdup(s);
		return true;
	}
	if (!tor_port(colon + 1, port))
		return false;
	*host = xmemdup_nul(s, (size_t)(colon - s));
	return true;
}

/* The address a TCP target will connect to, as tor_addr_port_lookup()
 * gets it: an IP literal, or a name tor resolves (named). */
typedef struct tcp_target {
	bool named;
	int family;
	uint8_t a[16];
	unsigned port;       /* 0: none given */
} tcp_target_t;

static bool
addr_port_lookup(const char *s, tcp_target_t *t)
{
	char *host = NULL;
	bool ok = false;
	uint8_t a[16];
	int fam;

	memset(t, 0, sizeof(*t));
	s = eat_ws(s);
	/* tor_addr_port_parse(): an IP literal, with or without port. */
	if (split_host_port(s, &host, &t->port) &&
	    parse_ip(host, t->port == 0, &t->family, t->a)) {
		ok = true;
		goto done;
	}
	FREE(host);
	/* An IPv6 literal with an unbracketed port is malformed. */
	if (parse_ip(s, true, &fam, a))
		goto done;
	/* A name, with or without port. */
	if (!split_host_port(s, &host, &t->port) || host[0] == '\0')
		goto done;
	t->named = true;
	ok = true;
done:
	free(host);
	return ok;
}

/* ---- what a target reaches ---------------------------------------------- */

/* IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4 for the kernel. */
static void
unmap(int *family, uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (*family == AF_INET6 && memcmp(a, mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		*family = AF_INET;
	}
}

static bool
is_local_or_any(int family, const uint8_t *a)
{
	static const uint8_t zero[16], one[16] = { [15] = 1 };

	if (family == AF_INET)
		return a[0] == 127 || a[0] == 0;
	return memcmp(a, zero, 16) == 0 || memcmp(a, one, 16) == 0;
}

static bool
is_any(int family, const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, family == AF_INET ? 4 : 16) == 0;
}

/* A listener's address, unmapped. */
static void
listener_ip(const tg_addr_t *l, int *family, uint8_t a[16], unsigned *port)
{
	if (l->family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&l->ss;
		*family = AF_INET;
		memcpy(a, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)&l->ss;
		*family = AF_INET6;
		memcpy(a, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
	}
	unmap(family, a);
}

static bool
check_tcp(const guard_targets_t *g, tcp_target_t *t, const char *shown,
    char *why, size_t whylen)
{
	if (!t->named)
		unmap(&t->family, t->a);
	for (size_t i = 0; i < g->n; i++) {
		const tg_addr_t *l = &g->v[i];
		uint8_t la[16];
		int lfam;
		unsigned lport;
		if (l->family == AF_UNIX)
			continue;
		listener_ip(l, &lfam, la, &lport);
		if (lport != t->port)
			continue;
		if (t->named || is_any(lfam, la) ||
		    is_local_or_any(t->family, t->a) ||
		    (lfam == t->family && memcmp(la, t->a,
		    lfam == AF_INET ? 4 : 16) == 0))
			return refuse(why, whylen, "target %s is the control "
			    "port %s%s", shown, l->text, t->named ?
			    " (a name tor may resolve to it)" : "");
	}
	return true;
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

/* Did the profile write this target text itself (it appears whole in the
 * replacement's source)? */
static bool
is_fixed(const guard_opts_t *o, const char *raw, size_t rawlen)
{
	const char *f;

	if (o == NULL || o->fixed == NULL || rawlen == 0)
		return false;
	for (f = o->fixed; (f = strstr(f, raw)) != NULL; f++) {
		char after = f[rawlen];
		if (after == '\0' || after == ' ' || after == '\t' ||
		    after == '"')
			return true;
	}
	return false;
}

static bool
check_unix(const guard_targets_t *g, const guard_opts_t *o,
    const char *path, const char *raw, char *why, size_t whylen)
{
	addr_file_id_t want;
	char *rawz;
	bool fixed;

	if (path[0] != '/')
		return refuse(why, whylen, "target unix:%.128s is not an "
		    "absolute path", path);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return refuse(why, whylen, "target unix:%.64s... is too long "
		    "for a socket path", path);
	rawz = xstrdup(raw);
	fixed = is_fixed(o, rawz, strlen(rawz));
	free(rawz);
	if (!fixed && (o == NULL || !o->client_unix))
		return refuse(why, whylen, "target unix:%.128s: the profile "
		    "does not let clients choose unix targets", path);
	if (g->resolve == NULL || g->resolve(path, &want) < 0)
		return refuse(why, whylen, "target unix:%.128s cannot be "
		    "resolved (missing or not reachable)", path);
	for (size_t i = 0; i < g->n; i++) {
		const tg_addr_t *l = &g->v[i];
		const char *lp;
		char norm[sizeof(want.path)];
		addr_file_id_t have;
		if (l->family != AF_UNIX)
			continue;
		lp = ((const struct sockaddr_un *)&l->ss)->sun_path;
		normalise_path(lp, norm, sizeof(norm));
		if (strcmp(want.path, norm) == 0 ||
		    (g->resolve(lp, &have) == 0 &&
		    ((have.dev == want.dev && have.ino == want.ino) ||
		    strcmp(have.path, want.path) == 0)))
			return refuse(why, whylen, "target unix:%.128s is the "
			    "control socket %s", path, l->text);
	}
	return true;
}

/* ---- hs_parse_port_config() --------------------------------------------- */

static bool
check_spec(const guard_targets_t *g, const guard_opts_t *o, const char *spec,
    char sep, char *why, size_t whylen)
{
	char *item[2], *addrport = NULL, shown[300];
	const char *line, *rest, *raw_end;
	unsigned vport;
	bool ok = false, is_unix = false;
	tcp_target_t t;
	int n = split2(spec, sep, item);

	if (n == 0) {
		refuse(why, whylen, "empty port specification");
		goto done;
	}
	if (!tor_port(item[0], &vport)) {
		refuse(why, whylen, "virtual port '%.32s' is not a port",
		    item[0]);
		goto done;
	}
	memset(&t, 0, sizeof(t));
	if (n == 1) {
		t.family = AF_INET;
		t.a[0] = 127, t.a[3] = 1;
		t.port = vport;
		snprintf(shown, sizeof(shown), "127.0.0.1:%u", vport);
		ok = check_tcp(g, &t, shown, why, whylen);
		goto done;
	}
	/* port_cfg_line_extract_addrport() */
	line = eat_ws(item[1]);
	if (strncmp(line, "unix:\"", 6) == 0) {
		size_t plen;
		long used = kvline_unquote(line + 5, strlen(line + 5),
		    &addrport, &plen);
		if (used < 0 || strlen(addrport) != plen) {
			refuse(why, whylen, "bad quoted unix path");
			goto done;
		}
		is_unix = true;
		raw_end = line + 5 + used;
		rest = eat_ws(raw_end);
	} else {
		const char *s = line, *e;
		if (strncmp(s, "unix:", 5) == 0) {
			s += 5;
			is_unix = true;
		}
		e = find_ws(s);
		addrport = xmemdup_nul(s, (size_t)(e - s));
		raw_end = e;
		rest = eat_ws(e);
	}
	if (*rest != '\0') {
		refuse(why, whylen, "text after the target: '%.32s'", rest);
		goto done;
	}
	if (is_unix) {
		char *raw = xmemdup_nul(line, (size_t)(raw_end - line));
		ok = check_unix(g, o, addrport, raw, why, whylen);
		free(raw);
		goto done;
	}
	snprintf(shown, sizeof(shown), "%.256s", addrport);
	if (strchr(addrport, ':') != NULL || strchr(addrport, '.') != NULL) {
		if (!addr_port_lookup(addrport, &t)) {
			refuse(why, whylen, "target '%.128s' is not an "
			    "address", addrport);
			goto done;
		}
		if (t.port == 0)
			t.port = vport;
	} else {
		if (!tor_port(addrport, &t.port)) {
			refuse(why, whylen, "target '%.32s' is not a port",
			    addrport);
			goto done;
		}
		t.family = AF_INET;
		t.a[0] = 127, t.a[3] = 1;
		snprintf(shown, sizeof(shown), "127.0.0.1:%u", t.port);
	}
	ok = check_tcp(g, &t, shown, why, whylen);
done:
	free(item[0]);
	free(item[1]);
	free(addrport);
	return ok;
}

bool
guard_port_ok(const guard_targets_t *g, const guard_opts_t *o,
    const char *spec, size_t len, char sep, char *why, size_t whylen)
{
	char *s;
	bool ok;

	if (g->stale != NULL)
		return refuse(why, whylen, "%s", g->stale);
	if (memchr(spec, '\0', len) != NULL)
		return refuse(why, whylen, "NUL in port specification");
	s = xmemdup_nul(spec, len);
	ok = check_spec(g, o, s, sep, why, whylen);
	free(s);
	return ok;
}

/* ADD_ONION: the command line is split on ' ' into the key argument and
 * the rest (blanks trimmed), and the rest is a kvline without quoting:
 * items separated by " \t\r\v\n", each KEY=VALUE. */
static bool
is_kv_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\n';
}

bool
guard_add_onion_ok(const guard_targets_t *g, const guard_opts_t *o,
    const char *args, size_t len, char *why, size_t whylen)
{
	char *s, *item[2];
	const char *p;
	bool ok = false;
	int n;

	if (memchr(args, '\0', len) != NULL)
		return refuse(why, whylen, "NUL in arguments");
	s = xmemdup_nul(args, len);
	n = split2(s, ' ', item);
	if (n < 2) {
		ok = true;      /* no keywords: no Port= */
		goto done;
	}
	for (p = item[1]; *p; ) {
		const char *k, *eq, *v;
		while (is_kv_sep(*p))
			p++;
		if (*p == '\0')
			break;
		if (*p == '"') {
			refuse(why, whylen, "quoted ADD_ONION argument");
			goto done;
		}
		k = p;
		while (*p && !is_kv_sep(*p) && *p != '=')
			p++;
		if (*p != '=' || p == k) {
			refuse(why, whylen, "ADD_ONION argument without '='");
			goto done;
		}
		eq = p++;
		if (*p == '"') {
			refuse(why, whylen, "quoted ADD_ONION value");
			goto done;
		}
		v = p;
		while (*p && !is_kv_sep(*p))
			p++;
		if (eq - k == 4 && strncasecmp(k, "Port", 4) == 0 &&
		    !guard_port_ok(g, o, v, (size_t)(p - v), ',', why, whylen))
			goto done;
	}
	ok = true;
done:
	free(item[0]);
	free(item[1]);
	free(s);
	return ok;
}
