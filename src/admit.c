/*
 * admit.c: connections per key in a small chained hash table; a key's
 * entry lives while it has connections. See admit.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "util.h"

#define ADMIT_BUCKETS 1024

typedef struct entry {
	struct entry *next;
	unsigned count;
	char key[80];
} entry_t;

struct admit {
	entry_t *b[ADMIT_BUCKETS];
};

admit_t *
admit_new(void)
{
	return xzalloc(sizeof(admit_t));
}

void
admit_free(admit_t *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < ADMIT_BUCKETS; i++) {
		entry_t *e = a->b[i], *next;
		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(a);
}

void
admit_key_of(const peer_t *peer, admit_key_t *key)
{
	if (peer->local && peer->have_uid)
		snprintf(key->text, sizeof(key->text), "uid %u",
		    (unsigned)peer->uid);
	else if (peer->local)
		snprintf(key->text, sizeof(key->text), "uid unknown");
	else
		snprintf(key->text, sizeof(key->text), "address %s",
		    peer->host);
}

/* FNV-1a */
static size_t
bucket(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ADMIT_BUCKETS;
}

static entry_t **
find(const admit_t *a, const char *key)
{
	entry_t *const *pp = &a->b[bucket(key)];

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return (entry_t **)pp;
}

bool
admit_take(admit_t *a, const admit_key_t *key, unsigned max, unsigned *count)
{
	entry_t **pp = find(a, key->text), *e = *pp;

	if (e == NULL) {
		e = xzalloc(sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key->text);
		*pp = e;
	}
	if (e->count >= max) {
		*count = e->count;
		if (e->count == 0) {
			*pp = e->next;
			free(e);
		}
		return false;
	}
	*count = ++e->count;
	return true;
}

void
admit_release(admit_t *a, const admit_key_t *key)
{
	entry_t **pp = find(a, key->text), *e = *pp;

	if (e == NULL)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
	}
}

unsigned
admit_count(const admit_t *a, const admit_key_t *key)
{
	entry_t **pp = find(a, key->text);

	return *pp != NULL ? (*pp)->count : 0;
}
