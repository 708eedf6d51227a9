/*
 * rewrite.c: replacement templates. See rewrite.h for the syntax.
 *
 * A template is parsed once, at profile load, into a flat array of parts:
 * literal text (with "{{" and "}}" already folded into single braces and
 * kept in one buffer), a capture group number, or a variable. Everything
 * Python's str.format would reject, and everything it would accept but we
 * choose not to support, is refused there with the byte offset of the
 * problem, so that expansion cannot fail: it sums the lengths of the parts
 * for the given match, allocates the result once and copies.
 *
 * Error offsets point at the offending character for syntax errors
 * ('}', '!', ':', '.', '[', CR, LF, NUL, an unclosed '{') and at the '{'
 * that opens the field for errors about what the field refers to.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "template.h"
#include "util.h"

typedef enum {
	PART_LITERAL,
	PART_GROUP,
	PART_VAR,
} part_kind_t;

typedef struct part {
	part_kind_t kind;
	union {
		struct {
			size_t off;     /* into template->lit */
			size_t len;
		} lit;
		uint32_t group;         /* PCRE2 group number, >= 1 */
		template_var_t var;
	} u;
} part_t;

struct template {
	char *src;      /* the source, NUL-terminated */
	char *lit;      /* literal text of all PART_LITERAL parts */
	part_t *parts;
	size_t nparts;
};

static const char *const var_names[TPL_VAR_COUNT] = {
	[TPL_VAR_CLIENT_ADDRESS] = "client-address",
	[TPL_VAR_CLIENT_PORT] = "client-port",
	[TPL_VAR_SERVER_ADDRESS] = "server-address",
	[TPL_VAR_SERVER_PORT] = "server-port",
};

/* Parser state for template_compile(). */
typedef struct tparse {
	const char *src;
	size_t len;
	const tg_regex_t *re;
	uint32_t ngroups;
	template_t *t;
	size_t nlit;            /* bytes used in t->lit */
	size_t cap;             /* parts allocated */
	enum { NUM_NONE, NUM_AUTO, NUM_MANUAL } numbering;
	uint32_t next_auto;     /* next {} index, 0-based */
	char *errbuf;
	size_t errlen;
	size_t erroff;
} tparse_t;

static void
set_error(tparse_t *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record an error message and its offset in p. */
static void
set_error(tparse_t *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	p->erroff = off;
	if (p->errbuf == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(p->errbuf, p->errlen, fmt, ap);
	va_end(ap);
}

/* Append an empty part to p->t and return it. */
static part_t *
add_part(tparse_t *p, part_kind_t kind)
{
	template_t *t = p->t;
	part_t *part;

	if (t->nparts == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		t->parts = xreallocarray(t->parts, p->cap, sizeof(*t->parts));
	}
	part = &t->parts[t->nparts++];
	memset(part, 0, sizeof(*part));
	part->kind = kind;
	return part;
}

/* Append the byte c to the literal text, extending the last part if it is
 * a literal that ends where the new byte goes. */
static void
add_literal_byte(tparse_t *p, char c)
{
	template_t *t = p->t;
	part_t *last = t->nparts ? &t->parts[t->nparts - 1] : NULL;

	if (last == NULL || last->kind != PART_LITERAL) {
		last = add_part(p, PART_LITERAL);
		last->u.lit.off = p->nlit;
	}
	/* lit was sized to the source length: folding never grows text. */
	t->lit[p->nlit++] = c;
	last->u.lit.len++;
}

/* Add a group part for the 0-based Python index idx of the field that
 * opens at offset open. Return 0, or -1 with the error set. */
static int
add_group_index(tparse_t *p, uint32_t idx, size_t open)
{
	if (idx >= p->ngroups) {
		if (p->re == NULL)
			set_error(p, open, "template refers to a capture "
			    "group, but there is no pattern");
		else
			set_error(p, open, "template refers to group {%u}, "
			    "but the pattern has only %u group%s",
			    (unsigned)idx, (unsigned)p->ngroups,
			    p->ngroups == 1 ? "" : "s");
		return -1;
	}
	add_part(p, PART_GROUP)->u.group = idx + 1;
	return 0;
}

/* Resolve the field name src[off..off+n) whose '{' is at open. */
static int
add_field(tparse_t *p, size_t off, size_t n, size_t open)
{
	const char *name = p->src + off;
	bool digits = n > 0;

	for (size_t i = 0; i < n; i++)
		if (name[i] < '0' || name[i] > '9')
			digits = false;

	if (n == 0) {
		if (p->numbering == NUM_MANUAL) {
			set_error(p, open, "cannot switch from manual field "
			    "numbering ({N}) to automatic ({})");
			return -1;
		}
		p->numbering = NUM_AUTO;
		if (p->next_auto >= p->ngroups) {
			set_error(p, open, "more {} fields than the pattern "
			    "has groups (%u)", (unsigned)p->ngroups);
			return -1;
		}
		return add_group_index(p, p->next_auto++, open);
	}

	if (digits) {
		uint32_t idx = 0;

		if (p->numbering == NUM_AUTO) {
			set_error(p, open, "cannot switch from automatic field "
			    "numbering ({}) to manual ({N})");
			return -1;
		}
		p->numbering = NUM_MANUAL;
		if (n > 1 && name[0] == '0') {
			set_error(p, open, "leading zero in field number");
			return -1;
		}
		/* 9 digits always fit in 32 bits; PCRE2 allows far fewer
		 * groups than that. */
		if (n > 9) {
			set_error(p, open, "field number too large");
			return -1;
		}
		for (size_t i = 0; i < n; i++)
			idx = idx * 10 + (uint32_t)(name[i] - '0');
		return add_group_index(p, idx, open);
	}

	for (int v = 0; v < TPL_VAR_COUNT; v++) {
		if (strlen(var_names[v]) == n &&
		    memcmp(var_names[v], name, n) == 0) {
			add_part(p, PART_VAR)->u.var = (template_var_t)v;
			return 0;
		}
	}

	if (p->re != NULL) {
		/* PCRE2 group names are at most 128 code units (32 before
		 * 10.44): anything longer cannot name a group. */
		char buf[129];
		int g;

		if (n < sizeof(buf)) {
			memcpy(buf, name, n);
			buf[n] = '\0';
			g = regex_group_number(p->re, buf);
			if (g > 0 && (uint32_t)g <= p->ngroups) {
				add_part(p, PART_GROUP)->u.group = (uint32_t)g;
				return 0;
			}
		}
	}
	set_error(p, open, "unknown name {%.*s}: not a variable or a named "
	    "group of the pattern", n > 64 ? 64 : (int)n, name);
	return -1;
}

/* Parse the field whose '{' is at *ip; on success leave *ip after its
 * '}'. */
static int
parse_field(tparse_t *p, size_t *ip)
{
	size_t open = *ip, i = open + 1, start = i;

	for (; i < p->len; i++) {
		char c = p->src[i];

		switch (c) {
		case '}':
			if (add_field(p, start, i - start, open) < 0)
				return -1;
			*ip = i + 1;
			return 0;
		case '{':
			set_error(p, i, "unexpected '{' in field name");
			return -1;
		case '!':
			set_error(p, i, "conversions ('!r', '!s') are not "
			    "supported");
			return -1;
		case ':':
			set_error(p, i, "format specifications are not "
			    "supported");
			return -1;
		case '.':
		case '[':
			set_error(p, i, "attribute and index access are not "
			    "supported");
			return -1;
		default:
			break;
		}
	}
	set_error(p, open, "unmatched '{' in template");
	return -1;
}

template_t *
template_compile(const char *src, size_t len, const tg_regex_t *re,
    char *errbuf, size_t errlen, size_t *erroff)
{
	tparse_t p;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.re = re;
	p.ngroups = re != NULL ? regex_ngroups(re) : 0;
	p.errbuf = errbuf;
	p.errlen = errlen;
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';

	/* Check the whole template for line breaks first, so an injection
	 * attempt is reported as such whatever else is wrong with it. */
	for (i = 0; i < len; i++) {
		if (src[i] == '\r' || src[i] == '\n' || src[i] == '\0') {
			set_error(&p, i, "%s in template",
			    src[i] == '\r' ? "CR" :
			    src[i] == '\n' ? "LF" : "NUL");
			goto fail;
		}
	}

	p.t = xzalloc(sizeof(*p.t));
	p.t->src = xmemdup_nul(src, len);
	p.t->lit = xmalloc(len + 1);

	for (i = 0; i < len;) {
		char c = src[i];

		if (c == '{') {
			if (i + 1 < len && src[i + 1] == '{') {
				add_literal_byte(&p, '{');
				i += 2;
			} else if (parse_field(&p, &i) < 0) {
				goto fail;
			}
		} else if (c == '}') {
			if (i + 1 < len && src[i + 1] == '}') {
				add_literal_byte(&p, '}');
				i += 2;
			} else {
				set_error(&p, i, "single '}' in template");
				goto fail;
			}
		} else {
			add_literal_byte(&p, c);
			i++;
		}
	}
	p.t->lit[p.nlit] = '\0';
	return p.t;

fail:
	if (erroff != NULL)
		*erroff = p.erroff;
	template_free(p.t);
	return NULL;
}

void
template_free(template_t *t)
{
	if (t == NULL)
		return;
	free(t->src);
	free(t->lit);
	free(t->parts);
	free(t);
}

const char *
template_source(const template_t *t)
{
	return t->src;
}

/* Point *sp and *np at the text of group g in m; empty when the group did
 * not take part, or m cannot describe it. */
static void
group_text(const regex_match_t *m, uint32_t g, const char **sp, size_t *np)
{
	size_t s, e;

	*sp = "";
	*np = 0;
	if (m == NULL || m->ovector == NULL || g > m->ngroups)
		return;
	s = m->ovector[2 * g];
	e = m->ovector[2 * g + 1];
	if (s == PCRE2_UNSET || e == PCRE2_UNSET || s > e ||
	    e > m->subject_len)
		return;
	*sp = m->subject + s;
	*np = e - s;
}

/* Point *sp and *np at the text of part pt. */
static void
part_text(const template_t *t, const part_t *pt, const regex_match_t *m,
    const template_vars_t *vars, const char **sp, size_t *np)
{
	switch (pt->kind) {
	case PART_LITERAL:
		*sp = t->lit + pt->u.lit.off;
		*np = pt->u.lit.len;
		return;
	case PART_GROUP:
		group_text(m, pt->u.group, sp, np);
		return;
	case PART_VAR:
		*sp = vars != NULL ? vars->v[pt->u.var] : NULL;
		if (*sp == NULL)
			*sp = "";
		*np = strlen(*sp);
		return;
	}
	*sp = "";
	*np = 0;
}

char *
template_expand(const template_t *t, const regex_match_t *m,
    const template_vars_t *vars, size_t *lenp)
{
	const char *s;
	size_t n, total = 0, pos = 0;
	char *out;

	for (size_t i = 0; i < t->nparts; i++) {
		part_text(t, &t->parts[i], m, vars, &s, &n);
		if (__builtin_add_overflow(total, n, &total))
			fatalx("template expansion too large");
	}
	if (total == SIZE_MAX)
		fatalx("template expansion too large");
	out = xmalloc(total + 1);
	for (size_t i = 0; i < t->nparts; i++) {
		part_text(t, &t->parts[i], m, vars, &s, &n);
		/* A variable cannot change between the passes, but never
		 * trust that with a fixed-size buffer. */
		if (n > total - pos)
			fatalx("template expansion changed size");
		memcpy(out + pos, s, n);
		pos += n;
	}
	out[pos] = '\0';
	if (lenp != NULL)
		*lenp = pos;
	return out;
}
