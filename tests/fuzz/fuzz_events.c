/*
 * fuzz_events.c: the event lines torgate reads to decide whose an event
 * is (events.c): HS_DESC / HS_DESC_CONTENT first lines
 * (restrict-onion-events) and STREAM / CIRC lines (restrict-stream-events).
 * The input is split at '\n' into lines; each is read both ways.
 * Asserted:
 * - an onion event is accepted only in tor's framing: "650 HS_DESC "
 *   with the address as the second field after it, or
 *   "650+HS_DESC_CONTENT " with the address as the first; the address
 *   lies inside the line, is 56 base32 characters and a whole field;
 *   HS_DESC_CONTENT is always about a fetch;
 * - the ownership callback is asked about exactly that address, and
 *   never about a line that was not accepted;
 * - the stream and circuit sets stay within OWNED_MAX and hold only ids
 *   the lines named.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *asked_addr;
static size_t asked_len, n_asked;
static bool asked_fetch;

static bool
own_onion(void *arg, const char *addr, size_t len, bool fetch)
{
	(void)arg;
	asked_addr = addr;
	asked_len = len;
	asked_fetch = fetch;
	n_asked++;
	return (len & 1) != 0;
}

static bool
own_source(void *arg, const char *source, const char *target)
{
	(void)arg;
	(void)target;
	return source != NULL && source[0] != '\0' && (source[0] & 1);
}

static size_t
spaces(const char *from, const char *to)
{
	size_t n = 0;

	for (; from < to; from++)
		n += *from == ' ';
	return n;
}

static void
check_onion(const char *line, size_t len)
{
	static const char desc[] = "650 HS_DESC ";
	static const char content[] = "650+HS_DESC_CONTENT ";
	const char *addr = NULL;
	size_t alen = 0;
	bool fetch = false, ok, own;

	ok = events_onion_event(line, len, &addr, &alen, &fetch);
	n_asked = 0;
	own = events_onion_is_own(own_onion, NULL, line, len);
	if (!ok) {
		if (n_asked != 0 || own)
			abort();
		return;
	}
	if (n_asked != 1 || asked_addr != addr || asked_len != alen ||
	    asked_fetch != fetch || own != ((alen & 1) != 0))
		abort();
	if (addr < line || addr + alen > line + len || alen != 56 ||
	    !events_is_onion_address(addr, alen))
		abort();
	if (addr[-1] != ' ' || (addr + alen < line + len && addr[alen] != ' '))
		abort();
	if (memchr(line, '\0', len) != NULL)
		abort();
	if (len >= sizeof(content) - 1 &&
	    memcmp(line, content, sizeof(content) - 1) == 0) {
		if (addr != line + sizeof(content) - 1 || !fetch)
			abort();
	} else if (len >= sizeof(desc) - 1 &&
	    memcmp(line, desc, sizeof(desc) - 1) == 0) {
		/* "650 HS_DESC ACTION ADDR": the action is not empty */
		if (spaces(line, addr) != 3 || addr[-2] == ' ')
			abort();
	} else {
		abort();
	}
}

static bool
named(const char *line, size_t len, uint64_t id)
{
	char want[24];
	size_t n = 0;
	uint64_t v = id;

	/* an id in the set came from a decimal field of some line */
	do {
		want[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i + n <= len; i++) {
		size_t j = 0;
		while (j < n && line[i + j] == want[n - 1 - j])
			j++;
		if (j == n)
			return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	owned_t *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = malloc(len ? len : 1);
		size_t before_s = o->n_streams, before_c = o->n_circs;
		uint64_t circ = 0;

		if (line == NULL)
			break;
		/* an exact-size copy: reading past len is caught by ASan */
		memcpy(line, p, len);
		check_onion(line, len);
		events_restrict(o, own_source, NULL, line, len, &circ);
		if (o->n_streams > OWNED_MAX || o->n_circs > OWNED_MAX)
			abort();
		if (o->n_streams > before_s &&
		    !named(line, len, o->streams[o->n_streams - 1]))
			abort();
		if (o->n_circs > before_c &&
		    !named(line, len, o->circs[o->n_circs - 1]))
			abort();
		free(line);
		p += len + (nl != NULL);
	}
	free(o);
	return 0;
}
