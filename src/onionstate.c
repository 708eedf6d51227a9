/*
 * onionstate.c: the state file's format. See onionstate.h. No I/O.
 *
 * The parser is strict and reads only what the writer writes: one
 * spelling per value, so that a file it accepts is exactly the file
 * onionstate_format() would write for the result (the fuzz target checks
 * this), and anything else is refused whole.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "onionstate.h"
#include "util.h"

static const char magic[] = "torgate-onions";

void
onionstate_init(onionstate_t *st)
{
	memset(st, 0, sizeof(*st));
}

void
onionstate_clear(onionstate_t *st)
{
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].sid);
		free(st->v[i].profile);
	}
	free(st->v);
	free(st->tor);
	onionstate_init(st);
}

static bool
sid_ok(const char *s, size_t n)
{
	if (n == 0 || n > ONIONSTATE_SID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool
name_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= ONIONSTATE_NAME_MAX;
}

/* Written as itself, or as %XX? */
static bool
plain(unsigned char c)
{
	return c > ' ' && c <= '~' && c != '%';
}

int
onionstate_set_tor(onionstate_t *st, const char *tor)
{
	if (!name_ok(tor))
		return -1;
	free(st->tor);
	st->tor = xstrdup(tor);
	return 0;
}

int
onionstate_add(onionstate_t *st, const char *sid, const char *profile)
{
	if (!sid_ok(sid, strlen(sid)) || !name_ok(profile) ||
	    st->n >= ONIONSTATE_MAX)
		return -1;
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->v = xreallocarray(st->v, st->cap, sizeof(*st->v));
	}
	st->v[st->n].sid = xstrdup(sid);
	st->v[st->n].profile = xstrdup(profile);
	st->n++;
	return 0;
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct parser {
	const char *p, *end;
	unsigned line;
	char *why;
	size_t whylen;
} parser_t;

static int
fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(parser_t *ps, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->why, ps->whylen, "line %u: %s", ps->line, msg);
	return -1;
}

/* The next line, without its LF, in *l[0..*n); -1 if there is none or
 * it is too long or lacks its LF. */
static int
next_line(parser_t *ps, const char **l, size_t *n)
{
	size_t avail = (size_t)(ps->end - ps->p);
	const char *lf;

	ps->line++;
	if (avail == 0)
		return fail(ps, "the file ends early (no \"end\" line)");
	lf = memchr(ps->p, '\n', avail < ONIONSTATE_LINE_MAX ? avail :
	    ONIONSTATE_LINE_MAX);
	if (lf == NULL)
		return fail(ps, avail < ONIONSTATE_LINE_MAX ?
		    "the last line has no line end" :
		    "line longer than %d bytes", ONIONSTATE_LINE_MAX - 1);
	*l = ps->p;
	*n = (size_t)(lf - ps->p);
	ps->p = lf + 1;
	return 0;
}

/* Decode the %XX-coded name s[0..n) into a new string; NULL if it is not
 * in the one spelling the writer uses. */
static char *
decode_name(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi, lo;
			if (n - i < 3 || (hi = hex_digit(s[i + 1])) < 0 ||
			    (lo = hex_digit(s[i + 2])) < 0 ||
			    (s[i + 1] >= 'a' && s[i + 1] <= 'f') ||
			    (s[i + 2] >= 'a' && s[i + 2] <= 'f'))
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			if (c == '\0' || plain(c))
				goto bad;
			i += 2;
		} else if (!plain(c)) {
			goto bad;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (!name_ok(out))
		goto bad;
	return out;
bad:
	free(out);
	return NULL;
}

/* Does line l[0..n) start with word and a space? Then *rest follows. */
static bool
starts(const char *l, size_t n, const char *word, const char **rest)
{
	size_t w = strlen(word);

	if (n <= w || memcmp(l, word, w) != 0 || l[w] != ' ')
		return false;
	*rest = l + w + 1;
	return true;
}

static int
cmp_sid(const void *a, const void *b)
{
	const onionstate_entry_t *x = a, *y = b;
	return strcasecmp(x->sid, y->sid);
}

/* Is some service ID in st twice (in any case)? Sorts a copy. */
static bool
has_duplicate(const onionstate_t *st, const char **dup)
{
	onionstate_entry_t *v;
	bool found = false;

	if (st->n < 2)
		return false;
	v = xcalloc(st->n, sizeof(*v));
	memcpy(v, st->v, st->n * sizeof(*v));
	qsort(v, st->n, sizeof(*v), cmp_sid);
	for (size_t i = 1; i < st->n && !found; i++)
		if (strcasecmp(v[i - 1].sid, v[i].sid) == 0) {
			*dup = v[i].sid;
			found = true;
		}
	free(v);
	return found;
}

static int
parse(parser_t *ps, onionstate_t *st)
{
	const char *l = NULL, *rest, *sp, *dup;
	char *sid, *profile;
	size_t n = 0;
	int r;

	if (next_line(ps, &l, &n) < 0)
		return -1;
	if (!starts(l, n, magic, &rest))
		return fail(ps, "not a torgate state file");
	if ((size_t)(l + n - rest) != 1 || *rest != '0' + ONIONSTATE_VERSION)
		return fail(ps, "format version \"%.*s\" is not %d",
		    (int)(l + n - rest > 16 ? 16 : l + n - rest), rest,
		    ONIONSTATE_VERSION);
	if (next_line(ps, &l, &n) < 0)
		return -1;
	if (!starts(l, n, "tor", &rest))
		return fail(ps, "expected \"tor\"");
	if ((st->tor = decode_name(rest, (size_t)(l + n - rest))) == NULL)
		return fail(ps, "bad tor identity");
	for (;;) {
		if (next_line(ps, &l, &n) < 0)
			return -1;
		if (n == 3 && memcmp(l, "end", 3) == 0)
			break;
		if (!starts(l, n, "onion", &rest))
			return fail(ps, "expected \"onion\" or \"end\"");
		sp = memchr(rest, ' ', (size_t)(l + n - rest));
		if (sp == NULL || !sid_ok(rest, (size_t)(sp - rest)))
			return fail(ps, "bad service ID");
		if (st->n >= ONIONSTATE_MAX)
			return fail(ps, "more than %d services", ONIONSTATE_MAX);
		profile = decode_name(sp + 1, (size_t)(l + n - sp - 1));
		if (profile == NULL)
			return fail(ps, "bad profile name");
		sid = xmemdup_nul(rest, (size_t)(sp - rest));
		r = onionstate_add(st, sid, profile);
		free(sid);
		free(profile);
		if (r < 0)
			return fail(ps, "bad entry");
	}
	if (ps->p != ps->end)
		return fail(ps, "text after \"end\"");
	if (has_duplicate(st, &dup))
		return fail(ps, "service %s listed twice", dup);
	return 0;
}

int
onionstate_parse(const char *buf, size_t len, onionstate_t *st, char *why,
    size_t whylen)
{
	parser_t ps = { .p = buf, .end = buf + len, .why = why,
		.whylen = whylen };

	if (whylen > 0)
		why[0] = '\0';
	if (len > ONIONSTATE_MAX_BYTES) {
		snprintf(why, whylen, "larger than %zu bytes",
		    (size_t)ONIONSTATE_MAX_BYTES);
		return -1;
	}
	if (parse(&ps, st) < 0) {
		onionstate_clear(st);
		return -1;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------- */

static void
put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		while (*len + n + 1 > *cap)
			*cap = *cap ? *cap * 2 : 256;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void
put_name(char **buf, size_t *len, size_t *cap, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };
		if (plain(c))
			put(buf, len, cap, s, 1);
		else
			put(buf, len, cap, e, 3);
	}
}

char *
onionstate_format(const onionstate_t *st, size_t *len)
{
	char *buf = NULL, head[32];
	size_t cap = 0;

	*len = 0;
	snprintf(head, sizeof(head), "%s %d\ntor ", magic, ONIONSTATE_VERSION);
	put(&buf, len, &cap, head, strlen(head));
	put_name(&buf, len, &cap, st->tor != NULL ? st->tor : "unknown");
	put(&buf, len, &cap, "\n", 1);
	for (size_t i = 0; i < st->n; i++) {
		put(&buf, len, &cap, "onion ", 6);
		put(&buf, len, &cap, st->v[i].sid, strlen(st->v[i].sid));
		put(&buf, len, &cap, " ", 1);
		put_name(&buf, len, &cap, st->v[i].profile);
		put(&buf, len, &cap, "\n", 1);
	}
	put(&buf, len, &cap, "end\n", 4);
	return buf;
}
