/*
 * onions.c: see onions.h. An open-addressing hash table (linear probing,
 * deletion by backward shift, so no tombstones) keyed on the ServiceID,
 * folded to ASCII lower case. The hash is seeded per table from the
 * kernel, so a client choosing its own keys cannot aim for collisions.
 * The load stays at most 3/4: ONIONS_MAX services fit in 2^17 slots.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onions.h"
#include "util.h"

/* Longest ServiceID torgate records (a v3 ID has 56 characters). */
#define SID_MAX 128
#define MIN_SLOTS 16

typedef struct onion {
	char *sid;          /* NULL: the slot is free */
	char *profile;
	uint32_t hash;
	uint32_t len;
	bool detached;      /* created with Flags=Detach */
	uint64_t conn;      /* not detached: the connection it lives on (the
	                     * session's id), 0 if not known */
} onion_t;

struct onions {
	onion_t *slot;
	size_t cap;         /* a power of two, or 0 before the first add */
	size_t n;
	uint64_t seed;
};

static inline unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* FNV-1a over the lower-cased bytes, started from the seed, then
 * MurmurHash3's finalizer so every bit of the seed reaches the low bits
 * the table uses. */
static uint32_t
sid_hash(const onions_t *o, const char *sid, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ o->seed;

	for (size_t i = 0; i < len; i++) {
		h ^= lower((unsigned char)sid[i]);
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static bool
sid_eq(const onion_t *e, const char *sid, size_t len, uint32_t hash)
{
	if (e->hash != hash || e->len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lower((unsigned char)e->sid[i]) !=
		    lower((unsigned char)sid[i]))
			return false;
	return true;
}

onions_t *
onions_new(void)
{
	onions_t *o = xzalloc(sizeof(onions_t));

	/* Without randomness the table still works, only predictably. */
	if (random_bytes(&o->seed, sizeof(o->seed)) < 0)
		o->seed = 0;
	return o;
}

void
onions_free(onions_t *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->cap; i++) {
		free(o->slot[i].sid);
		free(o->slot[i].profile);
	}
	free(o->slot);
	free(o);
}

/* The slot holding sid, or SIZE_MAX. */
static size_t
find(const onions_t *o, const char *sid, size_t len, uint32_t hash)
{
	size_t mask = o->cap - 1;

	if (o->cap == 0 || len == 0 || len > SID_MAX)
		return SIZE_MAX;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		if (o->slot[i].sid == NULL)
			return SIZE_MAX;
		if (sid_eq(&o->slot[i], sid, len, hash))
			return i;
	}
}

/* Place e in the first free slot of its probe sequence. */
static void
place(onion_t *slot, size_t cap, onion_t e)
{
	size_t mask = cap - 1, i = e.hash & mask;

	while (slot[i].sid != NULL)
		i = (i + 1) & mask;
	slot[i] = e;
}

static void
grow(onions_t *o)
{
	size_t cap = o->cap ? o->cap * 2 : MIN_SLOTS;
	onion_t *slot = xcalloc(cap, sizeof(*slot));

	for (size_t i = 0; i < o->cap; i++)
		if (o->slot[i].sid != NULL)
			place(slot, cap, o->slot[i]);
	free(o->slot);
	o->slot = slot;
	o->cap = cap;
}

bool
onions_add(onions_t *o, const char *profile, const char *sid, size_t len)
{
	uint32_t hash;
	size_t i;

	if (len == 0 || len > SID_MAX)
		return false;
	hash = sid_hash(o, sid, len);
	i = find(o, sid, len, hash);
	if (i != SIZE_MAX) {
		/* The same service again (tor reuses a key): the latest
		 * creator owns it. */
		free(o->slot[i].profile);
		o->slot[i].profile = xstrdup(profile);
		o->slot[i].detached = false;
		o->slot[i].conn = 0;
		return true;
	}
	if (o->n >= ONIONS_MAX)
		return false;
	if ((o->n + 1) * 4 > o->cap * 3)
		grow(o);
	place(o->slot, o->cap, (onion_t){
		.sid = xmemdup_nul(sid, len),
		.profile = xstrdup(profile),
		.hash = hash,
		.len = (uint32_t)len,
	});
	o->n++;
	return true;
}

bool
onions_owned(const onions_t *o, const char *profile, const char *sid,
    size_t len)
{
	size_t i = find(o, sid, len, sid_hash(o, sid, len));

	return i != SIZE_MAX && strcmp(o->slot[i].profile, profile) == 0;
}

void
onions_remove(onions_t *o, const char *sid, size_t len)
{
	size_t mask = o->cap - 1;
	size_t i = find(o, sid, len, sid_hash(o, sid, len));

	if (i == SIZE_MAX)
		return;
	free(o->slot[i].sid);
	free(o->slot[i].profile);
	o->slot[i].sid = NULL;
	o->slot[i].profile = NULL;
	o->n--;
	/* Backward shift: move later entries of the cluster into the hole
	 * when the hole lies on their probe path (between their home slot
	 * and where they sit, cyclically), so every lookup still finds its
	 * entry before a free slot. */
	for (size_t j = (i + 1) & mask; o->slot[j].sid != NULL;
	    j = (j + 1) & mask) {
		size_t home = o->slot[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			o->slot[i] = o->slot[j];
			o->slot[j].sid = NULL;
			o->slot[j].profile = NULL;
			i = j;
		}
	}
}

size_t
onions_count(const onions_t *o)
{
	return o->n;
}

bool
onions_set_detached(onions_t *o, const char *sid, size_t len, bool detached)
{
	size_t i = find(o, sid, len, sid_hash(o, sid, len));

	if (i == SIZE_MAX)
		return false;
	o->slot[i].detached = detached;
	if (detached)
		o->slot[i].conn = 0;
	return true;
}

bool
onions_set_conn(onions_t *o, const char *sid, size_t len, uint64_t conn)
{
	size_t i = find(o, sid, len, sid_hash(o, sid, len));

	if (i == SIZE_MAX || o->slot[i].detached)
		return false;
	o->slot[i].conn = conn;
	return true;
}

bool
onions_on_conn(const onions_t *o, const char *sid, size_t len, uint64_t conn)
{
	size_t i = find(o, sid, len, sid_hash(o, sid, len));

	return i != SIZE_MAX && conn != 0 && !o->slot[i].detached &&
	    o->slot[i].conn == conn;
}

bool
onions_forget_conn(onions_t *o, const char *sid, size_t len, uint64_t conn)
{
	if (!onions_on_conn(o, sid, len, conn))
		return false;
	onions_remove(o, sid, len);
	return true;
}

bool
onions_is_detached(const onions_t *o, const char *sid, size_t len)
{
	size_t i = find(o, sid, len, sid_hash(o, sid, len));

	return i != SIZE_MAX && o->slot[i].detached;
}

void
onions_each_detached(const onions_t *o,
    void (*fn)(void *arg, const char *sid, const char *profile), void *arg)
{
	for (size_t i = 0; i < o->cap; i++)
		if (o->slot[i].sid != NULL && o->slot[i].detached)
			fn(arg, o->slot[i].sid, o->slot[i].profile);
}

/* ---- ADD_ONION's Flags, read as tor reads them --------------------------- */

/* Does the comma-separated list v[0..n) hold "Detach" (any case)? tor
 * splits on ',' and skips empty items. */
static bool
flags_hold_detach(const char *v, size_t n)
{
	static const char detach[] = "Detach";
	size_t i = 0;

	while (i <= n) {
		size_t j = i;
		while (j < n && v[j] != ',')
			j++;
		if (j - i == sizeof(detach) - 1 &&
		    strn_case_eq(v + i, j - i, detach))
			return true;
		i = j + 1;
	}
	return false;
}

/* tor's kvline separators (not \f, which its split trims but kvline
 * keeps). */
static bool
kv_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\n';
}

bool
onions_args_detach(const char *args, size_t len)
{
	static const char flags[] = "Flags";
	const char *p = args, *e = args + len;

	/* tor splits the line on ' ' into at most two pieces, each trimmed
	 * of whitespace (tor_isspace), blank ones skipped: the key argument,
	 * then the keyword items. */
	while (p < e && tor_isspace(*p))
		p++;
	while (p < e && *p != ' ')
		p++;
	while (p < e && tor_isspace(*p))
		p++;
	while (e > p && tor_isspace(e[-1]))
		e--;
	/* The items, as its kvline_parse() with no flags reads them: K=V
	 * separated by kv_space(), values unquoted. */
	while (p < e) {
		const char *k, *eq;
		while (p < e && kv_space(*p))
			p++;
		k = p;
		while (p < e && !kv_space(*p))
			p++;
		if (p == k)
			break;
		eq = memchr(k, '=', (size_t)(p - k));
		if (eq == NULL || eq == k)
			return false;       /* tor refuses the line */
		if (strn_case_eq(k, (size_t)(eq - k), flags) &&
		    flags_hold_detach(eq + 1, (size_t)(p - eq - 1)))
			return true;
	}
	return false;
}
