/*
 * events.c: see events.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events.h"
#include "kvline.h"
#include "util.h"

char *
events_mask_args(event_mask_t m, size_t *lenp)
{
	size_t cap = 1, n = 0;
	char *s;

	for (int i = 0; i < TEV_COUNT; i++)
		if (m & EVMASK(i))
			cap += strlen(event_name(i)) + 1;
	s = xmalloc(cap);
	s[0] = '\0';
	for (int i = 0; i < TEV_COUNT; i++) {
		const char *name = event_name(i);
		if (!(m & EVMASK(i)))
			continue;
		if (n)
			s[n++] = ' ';
		memcpy(s + n, name, strlen(name));
		n += strlen(name);
	}
	s[n] = '\0';
	*lenp = n;
	return s;
}

event_mask_t
events_mask_of_args(const char *args, size_t len)
{
	event_mask_t m = 0;
	words_t w;

	words_split(args, len, &w);
	for (size_t i = 0; i < w.n; i++) {
		int id = event_lookup(w.v[i], strlen(w.v[i]));
		if (id >= 0)
			m |= EVMASK(id);
	}
	words_clear(&w);
	return m;
}

int
events_setevents(const profile_t *p, const char *args, size_t len,
    event_mask_t internal, setevents_t *out)
{
	words_t w;
	bool extended = false;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	words_split(args, len, &w);
	for (size_t i = 0; i < w.n; i++) {
		const event_rule_t *r;
		int id;
		/* "EXTENDED" is an obsolete flag tor still accepts. */
		if (i == 0 && strcasecmp(w.v[i], "EXTENDED") == 0) {
			extended = true;
			continue;
		}
		snprintf(out->bad, sizeof(out->bad), "%s", w.v[i]);
		r = profile_find_event(p, w.v[i], strlen(w.v[i]));
		if (r == NULL) {
			out->why = "event not allowed by the profile";
			goto done;
		}
		id = event_lookup(w.v[i], strlen(w.v[i]));
		if (id < 0) {
			out->why = "event unknown to torgate";
			goto done;
		}
		out->client |= EVMASK(id);
		if (!r->suppress)
			out->upstream |= EVMASK(id);
	}
	out->bad[0] = '\0';
	out->upstream |= internal;
	{
		size_t n;
		char *list = events_mask_args(out->upstream, &n);
		out->upstream_args = xasprintf("%s%s%s",
		    extended ? "EXTENDED" : "", extended && n ? " " : "", list);
		out->upstream_len = strlen(out->upstream_args);
		free(list);
	}
	rc = 0;
done:
	words_clear(&w);
	return rc;
}

/* ---- restrict-stream-events ----------------------------------------- */

static bool
set_has(const uint64_t *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

static void
set_add(uint64_t *v, size_t *n, uint64_t id)
{
	if (set_has(v, *n, id))
		return;
	if (*n == OWNED_MAX) {
		/* Forget the oldest: a long-closed stream or circuit. */
		memmove(v, v + 1, (OWNED_MAX - 1) * sizeof(*v));
		(*n)--;
	}
	v[(*n)++] = id;
}

static void
set_del(uint64_t *v, size_t *n, uint64_t id)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == id) {
			memmove(v + i, v + i + 1, (*n - i - 1) * sizeof(*v));
			(*n)--;
			return;
		}
}

bool
owned_has_circ(const owned_t *o, uint64_t id)
{
	return set_has(o->circs, o->n_circs, id);
}

bool
owned_has_stream(const owned_t *o, uint64_t id)
{
	return set_has(o->streams, o->n_streams, id);
}

/* Split line into at most max space-separated fields (pointers into a
 * copy in buf). */
static size_t
fields(const char *line, size_t len, char *buf, size_t buflen, char **f,
    size_t max)
{
	size_t n = 0;
	char *p, *save = NULL;

	if (len >= buflen)
		len = buflen - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	for (p = strtok_r(buf, " ", &save); p && n < max;
	    p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	return n;
}

static bool
parse_id(const char *s, uint64_t *id)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	/* tor's ids are 64-bit: a longer number is no id of tor's */
	if (*end != '\0' || errno == ERANGE)
		return false;
	*id = v;
	return true;
}

/* Ask own_source about the stream: its SOURCE_ADDR among fields
 * f[6..n), and its target f[5]. */
static bool
source_is_own(char **f, size_t n, own_source_fn own_source, void *arg)
{
	const char *source = NULL;

	if (n < 6)
		return false;
	for (size_t i = 6; i < n; i++)
		if (strncmp(f[i], "SOURCE_ADDR=", 12) == 0)
			source = f[i] + 12;
	return own_source(arg, source, f[5]);
}

restrict_verdict_t
events_restrict(owned_t *o, own_source_fn own_source, void *arg,
    const char *line, size_t len, uint64_t *circ)
{
	char buf[2048], *f[32];
	size_t n = fields(line, len, buf, sizeof(buf), f, 32);
	uint64_t id, cid;

	/* f[0] "650", f[1] event, f[2] id, f[3] status, ... */
	if (n < 4 || !parse_id(f[2], &id))
		return RESTRICT_DROP;
	if (strcmp(f[1], "STREAM") == 0) {
		bool mine = owned_has_stream(o, id);
		if (!mine && (strcmp(f[3], "NEW") == 0 ||
		    strcmp(f[3], "NEWRESOLVE") == 0) &&
		    source_is_own(f, n, own_source, arg)) {
			set_add(o->streams, &o->n_streams, id);
			mine = true;
		}
		if (!mine)
			return RESTRICT_DROP;
		if (n >= 5 && parse_id(f[4], &cid) && cid != 0)
			set_add(o->circs, &o->n_circs, cid);
		if (strcmp(f[3], "CLOSED") == 0 || strcmp(f[3], "FAILED") == 0)
			set_del(o->streams, &o->n_streams, id);
		return RESTRICT_PASS;
	}
	if (strcmp(f[1], "CIRC") == 0) {
		bool closed = strcmp(f[3], "CLOSED") == 0;
		if (owned_has_circ(o, id)) {
			if (closed)
				set_del(o->circs, &o->n_circs, id);
			return RESTRICT_PASS;
		}
		if (closed) {
			*circ = id;
			return RESTRICT_STRIP;
		}
		return RESTRICT_DROP;
	}
	return RESTRICT_PASS;
}

/* ---- restrict-onion-events ------------------------------------------ */

#define ONION_ADDR_LEN 56	/* base32 of a v3 address, without .onion */

bool
events_is_onion_address(const char *s, size_t len)
{
	if (len != ONION_ADDR_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '2' && c <= '7')))
			return false;
	}
	return true;
}

/* The next field of line[*pos..len), separated by exactly one space as tor
 * writes them; false at the end or on an empty field. */
static bool
next_field(const char *line, size_t len, size_t *pos, const char **f,
    size_t *flen)
{
	size_t i = *pos;

	if (i >= len)
		return false;
	*f = line + i;
	while (i < len && line[i] != ' ')
		i++;
	*flen = (size_t)(line + i - *f);
	if (i < len)
		i++;            /* the space */
	*pos = i;
	return *flen > 0;
}

static bool
field_is(const char *f, size_t flen, const char *word)
{
	return flen == strlen(word) && memcmp(f, word, flen) == 0;
}

bool
events_onion_event(const char *line, size_t len, const char **addr,
    size_t *alen, bool *fetch)
{
	static const char desc[] = "650 HS_DESC ";
	static const char content[] = "650+HS_DESC_CONTENT ";
	const char *action, *auth;
	size_t pos, action_len, auth_len;

	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL)
		return false;
	if (len >= sizeof(content) - 1 &&
	    memcmp(line, content, sizeof(content) - 1) == 0) {
		pos = sizeof(content) - 1;
		if (!next_field(line, len, &pos, addr, alen))
			return false;
		*fetch = true;
		return events_is_onion_address(*addr, *alen);
	}
	if (len < sizeof(desc) - 1 ||
	    memcmp(line, desc, sizeof(desc) - 1) != 0)
		return false;
	pos = sizeof(desc) - 1;
	if (!next_field(line, len, &pos, &action, &action_len) ||
	    !next_field(line, len, &pos, addr, alen) ||
	    !events_is_onion_address(*addr, *alen) ||
	    !next_field(line, len, &pos, &auth, &auth_len))
		return false;
	if (field_is(action, action_len, "REQUESTED") ||
	    field_is(action, action_len, "RECEIVED"))
		*fetch = true;
	else if (field_is(action, action_len, "FAILED"))
		*fetch = !field_is(auth, auth_len, "UNKNOWN");
	else
		*fetch = false;
	return true;
}

bool
events_onion_is_own(own_onion_fn own, void *arg, const char *line,
    size_t len)
{
	const char *addr;
	size_t alen;
	bool fetch;

	if (!events_onion_event(line, len, &addr, &alen, &fetch))
		return false;
	return own(arg, addr, alen, fetch);
}
