/*
 * onions.c: see onions.h. A flat array searched linearly: ephemeral onion
 * services number in the tens on a real system.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "onions.h"
#include "util.h"

typedef struct onion {
	char *profile;
	char *sid;
} onion_t;

struct onions {
	onion_t *v;
	size_t n, cap;
};

onions_t *
onions_new(void)
{
	return xzalloc(sizeof(onions_t));
}

void
onions_free(onions_t *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].profile);
		free(o->v[i].sid);
	}
	free(o->v);
	free(o);
}

static onion_t *
find(const onions_t *o, const char *sid, size_t len)
{
	for (size_t i = 0; i < o->n; i++)
		if (strn_case_eq(sid, len, o->v[i].sid))
			return &o->v[i];
	return NULL;
}

bool
onions_add(onions_t *o, const char *profile, const char *sid, size_t len)
{
	onion_t *e = find(o, sid, len);

	if (e != NULL) {
		free(e->profile);
		e->profile = xstrdup(profile);
		return true;
	}
	if (o->n >= ONIONS_MAX || len == 0 || len > 128)
		return false;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 16;
		o->v = xreallocarray(o->v, o->cap, sizeof(*o->v));
	}
	o->v[o->n].profile = xstrdup(profile);
	o->v[o->n].sid = xmemdup_nul(sid, len);
	o->n++;
	return true;
}

bool
onions_owned(const onions_t *o, const char *profile, const char *sid,
    size_t len)
{
	const onion_t *e = find(o, sid, len);
	return e != NULL && strcmp(e->profile, profile) == 0;
}

void
onions_remove(onions_t *o, const char *sid, size_t len)
{
	onion_t *e = find(o, sid, len);

	if (e == NULL)
		return;
	free(e->profile);
	free(e->sid);
	*e = o->v[--o->n];
}

size_t
onions_count(const onions_t *o)
{
	return o->n;
}
