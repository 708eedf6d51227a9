/*
 * cmdtab.c: the table behind cmdtab.h, generated from CMDTAB_LIST so that
 * the enum and the rows cannot drift apart.
 */
#include <string.h>
#include <strings.h>

#include "cmdtab.h"

static const cmd_def_t cmdtab[CMD_COUNT] = {
#define CMDTAB_ROW(id, name, flags) { CMD_##id, name, flags },
	CMDTAB_LIST(CMDTAB_ROW)
#undef CMDTAB_ROW
};

static const cmd_def_t *
find(const char *name, size_t len)
{
	size_t lo = 0, hi = CMD_COUNT;

	/* strncasecmp() would stop at a NUL and the check of n[len] below
	 * would then read past a shorter name. */
	if (memchr(name, '\0', len) != NULL)
		return NULL;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *n = cmdtab[mid].name;
		size_t nlen = strlen(n);
		int c = strncasecmp(name, n, len < nlen ? len : nlen);
		if (c == 0 && len != nlen)
			c = len < nlen ? -1 : 1;
		if (c == 0)
			return &cmdtab[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
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
