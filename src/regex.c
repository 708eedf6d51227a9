/*
 * regex.c: PCRE2 wrapper. See regex.h.
 *
 * Patterns are JIT-compiled when the platform allows (and the build has
 * -Djit=true, the default); one match data block
 * is kept and reused for every match (torgate is single-threaded), sized
 * for the largest pattern compiled so far, and one match context carries
 * the limits (and the JIT stack) for every match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "regex.h"
#include "torgate_build.h"
#include "util.h"

/* The JIT stack starts this small and grows up to REGEX_JIT_STACK_MAX. */
#define JIT_STACK_START (32 * 1024)

/* Longest literal prefix kept for the quick pre-check. */
#define PREFIX_MAX 32

struct tg_regex {
	pcre2_code *code;
	uint32_t ngroups;
	char *src;
	char prefix[PREFIX_MAX];    /* every match starts with these bytes */
	size_t prefix_len;
	bool literal;               /* the pattern is its prefix: compare */
};

/*
 * The literal text every match must start with, read off the pattern
 * source: ordinary characters up to the first metacharacter. A character
 * followed by a quantifier that allows zero of it is left out, and a
 * pattern with '|' anywhere gets no prefix (an alternative may start
 * differently). Patterns are anchored at the start and compiled without
 * options that change what a literal matches (inline "(?i)" starts with
 * '(' and so gives an empty prefix).
 */
static size_t
literal_prefix(const char *src, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	if (memchr(src, '|', len) != NULL)
		return 0;
	for (size_t i = 0; i < len && n < outlen; i++) {
		char c = src[i];
		if (strchr("\\.[](){}?*+^$#", c) != NULL || c == '\0')
			break;
		if (i + 1 < len && (src[i + 1] == '?' || src[i + 1] == '*' ||
		    src[i + 1] == '{'))
			break;
		out[n++] = c;
	}
	return n;
}

static pcre2_match_data *match_data;
static uint32_t match_data_pairs;

tg_regex_t *
regex_compile(const char *src, size_t len, char *errbuf, size_t errlen,
    size_t *erroff)
{
	int errcode;
	PCRE2_SIZE off = 0;
	pcre2_code *code;
	tg_regex_t *re;

	code = pcre2_compile((PCRE2_SPTR)src, len,
	    PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY, &errcode,
	    &off, NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		snprintf(errbuf, errlen, "bad pattern: %s", (char *)msg);
		*erroff = off;
		return NULL;
	}
#if TORGATE_JIT
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
#endif
	re = xzalloc(sizeof(*re));
	re->code = code;
	pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &re->ngroups);
	re->src = xmemdup_nul(src, len);
	re->prefix_len = literal_prefix(src, len, re->prefix,
	    sizeof(re->prefix));
	/* A pattern of plain characters only ("version", "onions/current")
	 * matches exactly that text: no need for PCRE2 at all. */
	re->literal = re->prefix_len == len && re->ngroups == 0;
	if (re->ngroups + 1 > match_data_pairs) {
		if (match_data != NULL)
			pcre2_match_data_free(match_data);
		match_data_pairs = re->ngroups + 1;
		match_data = pcre2_match_data_create(match_data_pairs, NULL);
		if (match_data == NULL)
			abort();
	}
	return re;
}

void
regex_free(tg_regex_t *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re->src);
	free(re);
}

uint32_t
regex_ngroups(const tg_regex_t *re)
{
	return re->ngroups;
}

int
regex_group_number(const tg_regex_t *re, const char *name)
{
	int n = pcre2_substring_number_from_name(re->code, (PCRE2_SPTR)name);
	return n > 0 ? n : -1;
}

const char *
regex_source(const tg_regex_t *re)
{
	return re->src;
}

static pcre2_match_context *match_ctx;
static pcre2_jit_stack *jit_stack;
static unsigned long limit_hits;

/* The match context with the limits of regex.h, made on first use. */
static pcre2_match_context *
limits_ctx(void)
{
	if (match_ctx != NULL)
		return match_ctx;
	if ((match_ctx = pcre2_match_context_create(NULL)) == NULL)
		abort();
	pcre2_set_match_limit(match_ctx, REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(match_ctx, REGEX_DEPTH_LIMIT);
	/* NULL where there is no JIT: the interpreter needs none. */
	jit_stack = pcre2_jit_stack_create(JIT_STACK_START,
	    REGEX_JIT_STACK_MAX, NULL);
	if (jit_stack != NULL)
		pcre2_jit_stack_assign(match_ctx, NULL, jit_stack);
	return match_ctx;
}

regex_result_t
regex_exec(const tg_regex_t *re, const char *subject, size_t len,
    regex_match_t *m)
{
	int rc;

	/* Most rules of a keyword fail on their first bytes: skip PCRE2. */
	if (re->prefix_len > 0 && (len < re->prefix_len ||
	    memcmp(subject, re->prefix, re->prefix_len) != 0))
		return REGEX_NOMATCH;
	if (re->literal) {
		static size_t whole[2];
		if (len != re->prefix_len)
			return REGEX_NOMATCH;
		if (m != NULL) {
			whole[0] = 0;
			whole[1] = len;
			m->subject = subject;
			m->subject_len = len;
			m->ngroups = 0;
			m->ovector = whole;
		}
		return REGEX_MATCH;
	}
	rc = pcre2_match(re->code, (PCRE2_SPTR)subject, len, 0, 0, match_data,
	    limits_ctx());
	if (rc == PCRE2_ERROR_NOMATCH)
		return REGEX_NOMATCH;
	if (rc < 0) {
		/* A limit (match, depth, heap, JIT stack) or any other
		 * failure: undecided, which the caller turns into a denial.
		 * The subject is not logged: it may hold a secret. */
		PCRE2_UCHAR msg[128];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		limit_hits++;
		log_warnx("regex: pattern '%.96s' gave up on a %zu-byte "
		    "subject (%s, match limit %d): denied", re->src, len,
		    (const char *)msg, REGEX_MATCH_LIMIT);
		return REGEX_LIMIT;
	}
	if (m != NULL) {
		m->subject = subject;
		m->subject_len = len;
		m->ngroups = re->ngroups;
		m->ovector = pcre2_get_ovector_pointer(match_data);
	}
	return REGEX_MATCH;
}

bool
regex_match(const tg_regex_t *re, const char *subject, size_t len,
    regex_match_t *m)
{
	return regex_exec(re, subject, len, m) == REGEX_MATCH;
}

unsigned long
regex_limit_hits(void)
{
	return limit_hits;
}

/* ---- the backtracking heuristic (regex.h) ----------------------------- */

/* A set of bytes. */
typedef struct cset {
	uint64_t w[4];
} cset_t;

static void
cs_add(cset_t *s, unsigned c)
{
	s->w[c >> 6] |= (uint64_t)1 << (c & 63);
}

static void
cs_range(cset_t *s, unsigned lo, unsigned hi)
{
	for (unsigned c = lo; c <= hi && c < 256; c++)
		cs_add(s, c);
}

static void
cs_all(cset_t *s)
{
	memset(s, 0xff, sizeof(*s));
}

static void
cs_not(cset_t *s)
{
	for (int i = 0; i < 4; i++)
		s->w[i] = ~s->w[i];
}

static void
cs_or(cset_t *a, const cset_t *b)
{
	for (int i = 0; i < 4; i++)
		a->w[i] |= b->w[i];
}

static bool
cs_meets(const cset_t *a, const cset_t *b)
{
	for (int i = 0; i < 4; i++)
		if (a->w[i] & b->w[i])
			return true;
	return false;
}

/* \d \s \w and their negations; false for any other letter. */
static bool
cs_escape_class(cset_t *s, char c)
{
	cset_t t = { { 0 } };

	switch (c | 0x20) {
	case 'd':
		cs_range(&t, '0', '9');
		break;
	case 's':
		cs_add(&t, ' ');
		cs_range(&t, '\t', '\r');
		break;
	case 'w':
		cs_range(&t, '0', '9');
		cs_range(&t, 'a', 'z');
		cs_range(&t, 'A', 'Z');
		cs_add(&t, '_');
		break;
	default:
		return false;
	}
	if (c >= 'A' && c <= 'Z')
		cs_not(&t);
	cs_or(s, &t);
	return true;
}

/* The byte an escape "\c" stands for, or -1 if it is not one byte. */
static int
escape_byte(char c)
{
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'e': return 033;
	case 'a': return 007;
	}
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return -1;
	return (unsigned char)c;
}

/* Read a character class starting after '['; return the index past ']'. */
static size_t
read_class(const char *s, size_t i, size_t n, cset_t *out)
{
	bool neg = false;
	int prev = -1;

	memset(out, 0, sizeof(*out));
	if (i < n && s[i] == '^') {
		neg = true;
		i++;
	}
	if (i < n && s[i] == ']') {
		cs_add(out, ']');
		prev = ']';
		i++;
	}
	while (i < n && s[i] != ']') {
		int c;
		if (s[i] == '[' && i + 1 < n && s[i + 1] == ':') {
			const char *e = strstr(s + i + 2, ":]");
			cs_all(out);    /* a POSIX class: take it as anything */
			i = e != NULL ? (size_t)(e - s) + 2 : n;
			prev = -1;
			continue;
		}
		if (s[i] == '\\' && i + 1 < n) {
			if (cs_escape_class(out, s[i + 1])) {
				i += 2;
				prev = -1;
				continue;
			}
			c = escape_byte(s[i + 1]);
			i += 2;
			if (c < 0) {
				cs_all(out);
				prev = -1;
				continue;
			}
		} else {
			c = (unsigned char)s[i++];
		}
		if (c == '-' && prev >= 0 && i < n && s[i] != ']') {
			int hi = (unsigned char)s[i++];
			if (hi == '\\' && i < n)
				hi = escape_byte(s[i++]);
			if (hi < 0)
				cs_all(out);
			else
				cs_range(out, (unsigned)prev, (unsigned)hi);
			prev = -1;
			continue;
		}
		cs_add(out, (unsigned)c);
		prev = c;
	}
	if (neg)
		cs_not(out);
	return i < n ? i + 1 : n;
}

/* Read a quantifier at s[i]; return the index past it (i if none). */
static size_t
read_quant(const char *s, size_t i, size_t n, unsigned *min, bool *unbounded,
    bool *possessive)
{
	*min = 1;
	*unbounded = false;
	*possessive = false;
	if (i >= n)
		return i;
	if (s[i] == '*' || s[i] == '+' || s[i] == '?') {
		*min = s[i] == '+';
		*unbounded = s[i] != '?';
		i++;
	} else if (s[i] == '{') {
		size_t j = i + 1;
		unsigned lo = 0;
		bool comma = false, hi = false;
		while (j < n && s[j] >= '0' && s[j] <= '9' && lo < 100000)
			lo = lo * 10 + (unsigned)(s[j++] - '0');
		if (j == i + 1)
			return i;       /* "{" is a literal */
		if (j < n && s[j] == ',') {
			comma = true;
			for (j++; j < n && s[j] >= '0' && s[j] <= '9'; j++)
				hi = true;
		}
		if (j >= n || s[j] != '}')
			return i;
		*min = lo;
		*unbounded = comma && !hi;
		i = j + 1;
	} else {
		return i;
	}
	if (i < n && s[i] == '+') {
		*possessive = true;
		i++;
	} else if (i < n && s[i] == '?') {
		i++;
	}
	return i;
}

#define BT_DEPTH 32

typedef struct bt_frame {
	bool open;              /* an unbounded run whose end is not fixed */
	cset_t open_set;        /* what that run may take */
	bool start_open;        /* the state at the group's start */
	cset_t start_set;
	bool end_open;          /* union of the ends of finished branches */
	cset_t end_set;
	cset_t set;             /* every byte the group may match */
	cset_t first;           /* bytes a match of the group may start with */
	bool first_done;
	bool has_unbounded;     /* an unbounded, backtracking quantifier */
	bool atomic;            /* (?>...): gives nothing back */
	size_t at;              /* offset of '(' */
} bt_frame_t;

typedef struct bt {
	bt_frame_t f[BT_DEPTH];
	int depth;
	char *why;
	size_t whylen;
	bool found;
	bool pending;           /* an ambiguous split, unless nothing but a
	                         * run over any byte follows it */
	size_t pending_at;
} bt_t;

/* Does set take any byte (but perhaps a newline)? */
static bool
cs_is_any(const cset_t *s)
{
	cset_t t = *s;

	cs_add(&t, '\n');
	for (int i = 0; i < 4; i++)
		if (t.w[i] != UINT64_MAX)
			return false;
	return true;
}

static void
bt_found(bt_t *b, size_t at, const char *what)
{
	if (b->found)
		return;
	b->found = true;
	snprintf(b->why, b->whylen, "%s at offset %zu", what, at);
}

/*
 * Two runs meet at offset at: which of them takes the bytes between is
 * ambiguous. That costs a search over every split only if something
 * after them can fail; a last run over any byte takes whatever is left
 * at the first try ('(\\S+)=.*', '(.*),(.*)' are linear).
 */
static void
bt_ambiguous(bt_t *b, size_t at)
{
	if (!b->pending) {
		b->pending = true;
		b->pending_at = at;
	}
}

/* Something follows an ambiguous split: it is a risk. */
static void
bt_settle(bt_t *b)
{
	if (b->pending)
		bt_found(b, b->pending_at, "adjacent unbounded quantifiers "
		    "over overlapping classes");
}

/* Append an atom matching bytes of set, quantified, to frame f. */
static void
bt_atom(bt_t *b, bt_frame_t *f, const cset_t *set, unsigned min,
    bool unbounded, bool possessive, bool inner_unbounded, size_t at)
{
	bool meets = f->open && cs_meets(&f->open_set, set);

	bt_settle(b);
	if (!f->first_done) {
		cs_or(&f->first, set);
		if (min > 0)
			f->first_done = true;
	}
	cs_or(&f->set, set);
	if (unbounded || inner_unbounded) {
		if (meets)
			bt_ambiguous(b, at);
		if (possessive) {
			f->open = false;
			return;
		}
		f->has_unbounded = true;
		if (meets) {
			cs_or(&f->open_set, set);
		} else {
			f->open = true;
			f->open_set = *set;
		}
	} else if (min > 0 && f->open && !meets) {
		f->open = false;
	}
}

static void
bt_push(bt_t *b, size_t at, bool atomic)
{
	bt_frame_t *parent = &b->f[b->depth - 1], *f = &b->f[b->depth++];

	memset(f, 0, sizeof(*f));
	f->open = f->start_open = parent->open;
	f->open_set = f->start_set = parent->open_set;
	f->atomic = atomic;
	f->at = at;
}

/* '|': the next branch starts where the group started. */
static void
bt_branch(bt_frame_t *f)
{
	if (f->open) {
		f->end_open = true;
		cs_or(&f->end_set, &f->open_set);
	}
	f->open = f->start_open;
	f->open_set = f->start_set;
	f->first_done = false;
}

/* ')' followed by its quantifier. */
static void
bt_pop(bt_t *b, unsigned min, bool unbounded, bool possessive)
{
	bt_frame_t *f = &b->f[--b->depth], *parent = &b->f[b->depth - 1];

	bt_branch(f);
	if (unbounded && !possessive && !f->atomic && f->end_open &&
	    cs_meets(&f->end_set, &f->first))
		bt_found(b, f->at, "an unboundedly repeated group whose end "
		    "overlaps its start");
	if (min == 1 && !unbounded && !f->atomic) {
		/* (...) exactly once: as if its contents stood here. */
		parent->open = f->end_open;
		parent->open_set = f->end_set;
		parent->has_unbounded |= f->has_unbounded;
		cs_or(&parent->set, &f->set);
		if (!parent->first_done) {
			cs_or(&parent->first, &f->first);
			parent->first_done = f->first_done;
		}
		return;
	}
	/* Quantified or atomic: one atom. It is ambiguous after the run
	 * before it if that run can take how the group starts. */
	if (f->start_open && cs_meets(&f->start_set, &f->first) &&
	    (unbounded || f->has_unbounded))
		bt_ambiguous(b, f->at);
	cs_or(&parent->set, &f->set);
	if (!parent->first_done) {
		cs_or(&parent->first, &f->first);
		parent->first_done = min > 0 && f->first_done;
	}
	if (possessive || f->atomic) {
		parent->open = false;
		return;
	}
	parent->has_unbounded |= unbounded || f->has_unbounded;
	/* What may come next is open: the end of its last round, another
	 * round if it repeats, and the run before it if it may be absent. */
	parent->open = f->end_open;
	parent->open_set = f->end_set;
	if (unbounded) {
		parent->open = true;
		cs_or(&parent->open_set, &f->first);
	}
	if (min == 0 && f->start_open) {
		parent->open = true;
		cs_or(&parent->open_set, &f->start_set);
	}
}

/* Skip a parenthesised part from s[i] == '(' to past its ')'. */
static size_t
skip_group(const char *s, size_t i, size_t n)
{
	int depth = 0;

	for (; i < n; i++) {
		if (s[i] == '\\') {
			i++;
		} else if (s[i] == '[') {
			cset_t ignored;
			i = read_class(s, i + 1, n, &ignored) - 1;
		} else if (s[i] == '(') {
			depth++;
		} else if (s[i] == ')' && --depth == 0) {
			return i + 1;
		}
	}
	return n;
}

bool
regex_may_backtrack(const tg_regex_t *re, char *why, size_t whylen)
{
	const char *s = re->src;
	size_t n = strlen(s), i = 0;
	bt_t b;

	memset(&b, 0, sizeof(b));
	b.why = why;
	b.whylen = whylen;
	b.depth = 1;
	while (i < n && !b.found) {
		cset_t set = { { 0 } };
		size_t at = i;
		unsigned min;
		bool unb, poss;
		char c = s[i];

		if (c == '(') {
			bool atomic = false;
			if (b.depth >= BT_DEPTH)
				return false;   /* too deep to say */
			if (i + 1 < n && s[i + 1] == '?') {
				const char *t = s + i + 2;
				if (*t == '=' || *t == '!' || *t == '#' ||
				    (*t == '<' && (t[1] == '=' || t[1] == '!'))) {
					/* Lookaround or comment: no width. */
					i = skip_group(s, i, n);
					continue;
				}
				if (*t == '>')
					atomic = true;
				/* Option settings "(?i)" have no group. */
				size_t j = i + 2;
				while (j < n && (s[j] == '-' ||
				    (s[j] >= 'a' && s[j] <= 'z') ||
				    (s[j] >= 'A' && s[j] <= 'Z')))
					j++;
				if (j < n && s[j] == ')' && j > i + 2 &&
				    s[i + 2] != 'P') {
					i = j + 1;
					continue;
				}
			}
			bt_push(&b, at, atomic);
			i++;
			/* Skip the group's head up to its contents. */
			if (i < n && s[i] == '?') {
				if (i + 1 < n && (s[i + 1] == 'P' ||
				    s[i + 1] == '<' || s[i + 1] == '\'')) {
					const char *e = strpbrk(s + i + 1, ">')");
					i = e != NULL ? (size_t)(e - s) + 1 : n;
					if (e != NULL && *e == ')') {
						/* (?P=name): a backreference */
						b.depth--;
						cs_all(&set);
						i = read_quant(s, i, n, &min, &unb,
						    &poss);
						bt_atom(&b, &b.f[b.depth - 1], &set,
						    0, false, false, false, at);
					}
				} else {
					while (i < n && s[i] != ':' &&
					    s[i] != '>' && s[i] != '|' &&
					    s[i] != ')')
						i++;
					if (i < n && s[i] != ')')
						i++;
				}
			}
			continue;
		}
		if (c == ')') {
			i = read_quant(s, i + 1, n, &min, &unb, &poss);
			if (b.depth > 1)
				bt_pop(&b, min, unb, poss);
			continue;
		}
		if (c == '|') {
			bt_branch(&b.f[b.depth - 1]);
			i++;
			continue;
		}
		if (c == '^' || c == '$') {
			i++;
			continue;
		}
		if (c == '[') {
			i = read_class(s, i + 1, n, &set);
		} else if (c == '.') {
			cs_all(&set);
			i++;
		} else if (c == '\\' && i + 1 < n) {
			char e = s[i + 1];
			i += 2;
			if (strchr("bBAzZGK", e) != NULL)
				continue;       /* no width */
			if (e == 'Q') {
				const char *end = strstr(s + i, "\\E");
				size_t stop = end ? (size_t)(end - s) : n;
				for (; i < stop; i++) {
					cset_t one = { { 0 } };
					cs_add(&one, (unsigned char)s[i]);
					bt_atom(&b, &b.f[b.depth - 1], &one, 1,
					    false, false, false, i);
				}
				i = end ? stop + 2 : n;
				continue;
			}
			if (!cs_escape_class(&set, e)) {
				int byte = escape_byte(e);
				if (byte >= 0)
					cs_add(&set, (unsigned)byte);
				else
					cs_all(&set);
				if (e == 'x' && i < n && s[i] == '{')
					while (i < n && s[i - 1] != '}')
						i++;
				else if (e == 'x')
					while (i < n && i < at + 4 &&
					    strchr("0123456789abcdefABCDEF",
					    s[i]) != NULL && s[i] != '\0')
						i++;
				else if ((e == 'p' || e == 'P') && i < n &&
				    s[i] == '{')
					while (i < n && s[i - 1] != '}')
						i++;
			}
		} else {
			cs_add(&set, (unsigned char)c);
			i++;
		}
		i = read_quant(s, i, n, &min, &unb, &poss);
		bt_atom(&b, &b.f[b.depth - 1], &set, min, unb, poss, false, at);
	}
	/* The end: an ambiguity is harmless only before a last run that
	 * takes any byte. */
	if (b.pending && !(b.f[0].open && cs_is_any(&b.f[0].open_set) &&
	    b.depth == 1))
		bt_settle(&b);
	return b.found;
}

bool
regex_is_wildcard(const char *src)
{
	return strstr(src, ".*") != NULL || strstr(src, ".+") != NULL ||
	    strstr(src, "\\S+") != NULL || strstr(src, "\\S*") != NULL;
}
