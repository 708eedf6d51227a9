/*
 * evtab.c: the table behind evtab.h, generated from EVENT_LIST.
 *
 * event_lookup() runs for every event line tor sends (event_of_line), so
 * it is a binary search over the rows, which EVENT_LIST keeps sorted: the
 * name is folded to upper case (ASCII only, whatever the locale) into a
 * small buffer once, then compared at most log2(TEV_COUNT) + 1 times.
 */
#include <stdbool.h>
#include <string.h>

#include "evtab.h"

_Static_assert(TEV_COUNT <= 64, "event_mask_t has one bit per event");

static const char *const names[TEV_COUNT] = {
#define EVENT_NAME(n) #n,
	EVENT_LIST(EVENT_NAME)
#undef EVENT_NAME
};

#define EVENT_NAME_MAX	32	/* longer than any event name */

/* Compare up[0..len) (no NUL inside) with the NUL-terminated name, in
 * byte order, as strcmp would. */
static int
cmp_name(const char *up, size_t len, const char *name)
{
	int c = strncmp(up, name, len);

	if (c != 0)
		return c;
	return name[len] == '\0' ? 0 : -1;
}

int
event_lookup(const char *name, size_t len)
{
	char up[EVENT_NAME_MAX];
	int lo = 0, hi = TEV_COUNT;

	if (len == 0 || len >= sizeof(up))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '\0')
			return -1;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		up[i] = c;
	}
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int c = cmp_name(up, len, names[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

const char *
event_name(event_id_t id)
{
	return (unsigned)id < TEV_COUNT ? names[id] : "?";
}

int
event_of_line(const char *line, size_t len)
{
	size_t i = 4;

	if (len < 5)
		return -1;
	while (i < len && line[i] != ' ' && line[i] != '\r' && line[i] != '=')
		i++;
	return event_lookup(line + 4, i - 4);
}
