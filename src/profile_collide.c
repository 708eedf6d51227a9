/*
 * profile_collide.c: which profiles would collide (profile.h), found from
 * the profiles alone, for --check.
 *
 * A client on a listener bound to no profile gets the one profile whose
 * qualifiers match it (policy.c, policy_select_profile); when several
 * match, it is denied everything, as onion-grater does. Who a client is
 * comes down to strings: a local client's AppArmor label (or executable)
 * and user, a remote client's address, each compared exactly with a
 * profile's list, where '*' matches anything. So whether two profiles can
 * match one client is decided here, statically: for every identity made
 * of values the profiles name (and "anything else", which only '*'
 * matches), the profiles that match it. A group is reported once, for the
 * most general identity it holds for: "any local client" rather than
 * every program and user beneath it.
 *
 * Bounded: a set naming very many programs, users and hosts is checked
 * only up to COLLIDE_MAX_WORK profile comparisons, and at most
 * COLLIDE_MAX_REPORTS groups are reported; either limit is said.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "profile_impl.h"
#include "util.h"

/* Comparisons of one profile against one identity: far above any real
 * set (Whonix's ten profiles need about a hundred), small enough that
 * --check ends at once on a generated one. */
#define COLLIDE_MAX_WORK	(1u << 22)
/* Groups reported: more says little an admin can act on. */
#define COLLIDE_MAX_REPORTS	32
/* Profiles named in one report (then "and N more"). */
#define COLLIDE_MAX_NAMED	16

static bool
is_star(const char *v)
{
	return strcmp(v, "*") == 0;
}

/* Does list l match the value v, as policy.c's list_matches() does?
 * v NULL: a value no profile names (only '*' matches it). */
static bool
list_takes(const strlist_t *l, const char *v)
{
	for (size_t i = 0; i < l->n; i++)
		if (is_star(l->v[i]) ||
		    (v != NULL && v[0] != '\0' && strcmp(l->v[i], v) == 0))
			return true;
	return false;
}

/* Distinct values, NULL ("anything else") first. */
typedef struct values {
	const char **v;
	size_t n, cap;
} values_t;

static void
values_add(values_t *vs, const char *v)
{
	if (v != NULL && (v[0] == '\0' || is_star(v)))
		return;         /* '' matches no client; '*' is NULL's */
	for (size_t i = 0; i < vs->n; i++)
		if ((v == NULL && vs->v[i] == NULL) ||
		    (v != NULL && vs->v[i] != NULL && strcmp(vs->v[i], v) == 0))
			return;
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? 2 * vs->cap : 16;
		vs->v = xreallocarray(vs->v, vs->cap, sizeof(*vs->v));
	}
	vs->v[vs->n++] = v;
}

static void
values_add_list(values_t *vs, const strlist_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		values_add(vs, l->v[i]);
}

typedef enum { KIND_LOCAL, KIND_REMOTE } kind_t;

struct collide {
	const profile_set_t *set;
	profile_diag_t *d;
	size_t *match;          /* indices of the profiles of a group */
	size_t work;
	unsigned reports;
	bool stopped;
};

/* Is p chosen for a client of this kind with these values? */
static bool
takes(const profile_t *p, kind_t kind, const char *a, const char *b)
{
	if (kind == KIND_REMOTE)
		return p->has_hosts && list_takes(&p->hosts, a);
	return p->has_apparmor_profiles && p->has_users &&
	    list_takes(&p->apparmor_profiles, a) && list_takes(&p->users, b);
}

/* The profiles that match the identity (a, b) into c->match; their
 * number. */
static size_t
group(struct collide *c, kind_t kind, const char *a, const char *b)
{
	size_t n = 0;

	for (size_t i = 0; i < c->set->n; i++)
		if (takes(c->set->v[i], kind, a, b))
			c->match[n++] = i;
	c->work += c->set->n;
	if (c->work > COLLIDE_MAX_WORK)
		c->stopped = true;
	return n;
}

static const char *
base_name(const char *path)
{
	const char *s = path != NULL ? strrchr(path, '/') : NULL;

	return s != NULL ? s + 1 : path != NULL ? path : "?";
}

static void
describe(char *buf, size_t len, kind_t kind, const char *a, const char *b)
{
	if (kind == KIND_REMOTE) {
		if (a == NULL)
			snprintf(buf, len, "any remote client (hosts '*')");
		else
			snprintf(buf, len, "a remote client at %s", a);
	} else if (a == NULL && b == NULL) {
		snprintf(buf, len, "any local client (apparmor-profiles or "
		    "exe-paths '*', users '*')");
	} else if (b == NULL) {
		snprintf(buf, len, "a local client '%s' (AppArmor label or "
		    "executable) run by any user", a);
	} else if (a == NULL) {
		snprintf(buf, len, "any local program run by user '%s'", b);
	} else {
		snprintf(buf, len, "a local client '%s' run by user '%s'", a, b);
	}
}

/* Report the group in c->match[0..n). */
static void
report(struct collide *c, size_t n, kind_t kind, const char *a,
    const char *b)
{
	const profile_t *first = c->set->v[c->match[0]];
	char who[512], list[2048];
	size_t used = 0;

	if (c->reports++ == COLLIDE_MAX_REPORTS) {
		profile_diag(c->d, false, NULL, 0, 0, "more profiles collide; "
		    "not reporting more");
		return;
	}
	if (c->reports > COLLIDE_MAX_REPORTS)
		return;
	list[0] = '\0';
	for (size_t i = 0; i < n && i < COLLIDE_MAX_NAMED; i++) {
		const profile_t *p = c->set->v[c->match[i]];
		int k = snprintf(list + used, sizeof(list) - used, "%s'%s' "
		    "(%s:%u:%u)", i == 0 ? "" : i + 1 == n ? " and " : ", ",
		    p->name, base_name(p->loc.file), p->loc.line, p->loc.col);
		if (k < 0 || (size_t)k >= sizeof(list) - used)
			break;
		used += (size_t)k;
	}
	if (n > COLLIDE_MAX_NAMED && used < sizeof(list))
		snprintf(list + used, sizeof(list) - used, " and %zu more",
		    n - COLLIDE_MAX_NAMED);
	describe(who, sizeof(who), kind, a, b);
	profile_diag(c->d, false, first->loc.file, first->loc.line,
	    first->loc.col, "profiles %s %s match %s: such a client gets "
	    "no profile and is denied everything; bind each profile to a "
	    "listener of its own (,profile=NAME), merge them into one, or "
	    "narrow their qualifiers", list, n == 2 ? "both" : "all", who);
}

static void
check_remote(struct collide *c)
{
	values_t hosts = { 0 };

	values_add(&hosts, NULL);
	for (size_t i = 0; i < c->set->n; i++)
		if (c->set->v[i]->has_hosts)
			values_add_list(&hosts, &c->set->v[i]->hosts);
	for (size_t h = 0; h < hosts.n && !c->stopped; h++) {
		size_t n = group(c, KIND_REMOTE, hosts.v[h], NULL);
		if (n < 2)
			continue;
		/* the same group as for any host: reported there */
		if (hosts.v[h] != NULL &&
		    group(c, KIND_REMOTE, NULL, NULL) == n)
			continue;
		group(c, KIND_REMOTE, hosts.v[h], NULL);
		report(c, n, KIND_REMOTE, hosts.v[h], NULL);
	}
	free(hosts.v);
}

static void
check_local(struct collide *c)
{
	values_t progs = { 0 }, users = { 0 };

	values_add(&progs, NULL);
	values_add(&users, NULL);
	for (size_t i = 0; i < c->set->n; i++) {
		const profile_t *p = c->set->v[i];
		if (!p->has_apparmor_profiles || !p->has_users)
			continue;
		values_add_list(&progs, &p->apparmor_profiles);
		values_add_list(&users, &p->users);
	}
	for (size_t x = 0; x < progs.n && !c->stopped; x++) {
		for (size_t u = 0; u < users.n && !c->stopped; u++) {
			const char *a = progs.v[x], *b = users.v[u];
			size_t n = group(c, KIND_LOCAL, a, b);
			if (n < 2)
				continue;
			/* A group is a superset of those of more general
			 * identities: the same size is the same group,
			 * reported for the more general one. */
			if (a != NULL && group(c, KIND_LOCAL, NULL, b) == n)
				continue;
			if (b != NULL && group(c, KIND_LOCAL, a, NULL) == n)
				continue;
			group(c, KIND_LOCAL, a, b);
			report(c, n, KIND_LOCAL, a, b);
		}
	}
	free(progs.v);
	free(users.v);
}

void
profile_set_check_collisions(const profile_set_t *s, unsigned reach,
    profile_diag_t *d)
{
	struct collide c = { .set = s, .d = d };

	if (s == NULL || s->n < 2 || reach == 0)
		return;
	c.match = xcalloc(s->n, sizeof(*c.match));
	if (reach & PROFILE_REACH_LOCAL)
		check_local(&c);
	if ((reach & PROFILE_REACH_REMOTE) && !c.stopped)
		check_remote(&c);
	if (c.stopped)
		profile_diag(d, false, NULL, 0, 0, "the profiles name too many "
		    "programs, users and hosts to check them all for "
		    "collisions; checked only in part");
	free(c.match);
}

/* Which clients a listener at a takes: unix sockets and loopback
 * addresses only local ones, an address of all interfaces both, any other
 * address only remote ones (a client of this machine connecting to it
 * comes from that address, not loopback: addr_is_local). */
static unsigned
reach_of_addr(const tg_addr_t *a)
{
	const struct sockaddr *sa = (const struct sockaddr *)&a->ss;

	if (addr_is_local(sa))
		return PROFILE_REACH_LOCAL;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;
		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			return PROFILE_REACH_LOCAL | PROFILE_REACH_REMOTE;
		return PROFILE_REACH_REMOTE;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;
		static const uint8_t v4any[16] = { [10] = 0xff, [11] = 0xff };
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
		    memcmp(&sin6->sin6_addr, v4any, 16) == 0)
			return PROFILE_REACH_LOCAL | PROFILE_REACH_REMOTE;
		return PROFILE_REACH_REMOTE;
	}
	return PROFILE_REACH_LOCAL | PROFILE_REACH_REMOTE;
}

unsigned
profile_reach_of_listeners(const struct listen_spec *v, size_t n)
{
	unsigned reach = 0;

	for (size_t i = 0; i < n; i++)
		if (v[i].profile == NULL)
			reach |= reach_of_addr(&v[i].addr);
	return reach;
}
