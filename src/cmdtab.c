/*
 * cmdtab.c: the table behind cmdtab.h, generated from CMDTAB_LIST so that
 * the enum and the rows cannot drift apart.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "cmdtab.h"

static const cmd_def_t cmdtab[CMD_COUNT] = {
#define CMDTAB_ROW(id, name, flags) { CMD_##id, name, flags },
	CMDTAB_LIST(CMDTAB_ROW)
#undef CMDTAB_ROW
};

/*
 * Lookup is by hash: every client command goes through here. The table of
 * slots is built on first use from the rows; a keyword is case-folded into
 * a small buffer, hashed (FNV-1a) and compared once.
 */
#define SLOTS 128       /* a power of two, well above CMD_COUNT */
#define KW_MAX 32       /* longer than any command name */

static const cmd_def_t *slots[SLOTS];
static bool slots_ready;

static uint32_t
hash_upper(const char *s, size_t len, char *up)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		up[i] = c;
		h = (h ^ (uint8_t)c) * 16777619u;
	}
	return h;
}

static void
build_slots(void)
{
	char up[KW_MAX];

	for (int i = 0; i < CMD_COUNT; i++) {
		const char *n = cmdtab[i].name;
		uint32_t h = hash_upper(n, strlen(n), up) & (SLOTS - 1);
		while (slots[h] != NULL)
			h = (h + 1) & (SLOTS - 1);
		slots[h] = &cmdtab[i];
	}
	slots_ready = true;
}

static const cmd_def_t *
find(const char *name, size_t len)
{
	char up[KW_MAX];
	uint32_t h;

	if (!slots_ready)
		build_slots();
	if (len == 0 || len >= KW_MAX || memchr(name, '\0', len) != NULL)
		return NULL;
	h = hash_upper(name, len, up) & (SLOTS - 1);
	for (; slots[h] != NULL; h = (h + 1) & (SLOTS - 1))
		if (strlen(slots[h]->name) == len &&
		    memcmp(slots[h]->name, up, len) == 0)
			return slots[h];
	return NULL;
}

const cmd_def_t *
cmdtab_lookup(const char *kw, size_t len)
{
	bool plus = len > 0 && kw[0] == '+';
	const cmd_def_t *def;

	def = plus ? find(kw + 1, len - 1) : find(kw, len);
	if (def == NULL || plus != ((def->flags & CMD_F_BODY) != 0))
		return NULL;
	return def;
}

const cmd_def_t *
cmdtab_lookup_name(const char *name)
{
	if (name[0] == '+')
		name++;
	return find(name, strlen(name));
}

const cmd_def_t *
cmdtab_get(cmd_id_t id)
{
	return id < CMD_COUNT ? &cmdtab[id] : NULL;
}
