/*
 * profile_schema.c: the schema walk. Turn one YAML document (a file's
 * bytes, already in memory) into the profiles of profile.h, checking it
 * against the fixed schema of a profile and reporting every problem as
 * FILE:LINE:COL; no I/O.
 *
 * Design:
 * - A buffer is parsed twice by libyaml. The first pass reads only the
 *   event stream: it reports syntax errors, more than one document and
 *   nesting deeper than MAX_DEPTH, so that the tree builder never sees
 *   such input. The second pass builds the node tree (yaml_parser_load),
 *   which the loader walks against the fixed schema of a profile. The
 *   schema is seven levels deep at most, so the walk needs no depth limit
 *   of its own.
 * - Scalars are typed as PyYAML's safe loader types them (profile_yaml.c).
 * - Aliases are followed, as PyYAML follows them, so one node can be
 *   visited many times. Every node visited costs its size from a per-file
 *   budget (MAX_WORK), and the number of patterns and templates compiled
 *   per file is capped (MAX_PATTERNS): a small file cannot expand into
 *   hours of regex compilation. Collections have item limits of their own.
 * - Errors do not stop the walk: the loader goes on to report every
 *   problem of every file (up to MAX_ERRORS per file), and only then
 *   throws the whole set away. Partly built profiles are always in a state
 *   profile_free() can release.
 * - Arrays are allocated at their final size, known from the length of
 *   the YAML collection, and nothing changes after loading.
 * - Event names are checked against tor's list in evtab.h.
 *
 * Diagnostics are positioned FILE:LINE:COL (1-based); line 0 means the
 * problem concerns the whole file (too large, no profiles).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "evtab.h"
#include "log.h"
#include "profile_impl.h"
#include "profile_yaml.h"
#include "util.h"

#define MAX_DEPTH		32	/* YAML nesting */
#define MAX_PROFILES		1024	/* per file */
#define MAX_ITEMS		4096	/* per list: rules, responses, values */
#define MAX_COMMANDS		256	/* keys under commands: */
#define MAX_CONFS		512	/* keys under confs: */
#define MAX_EVENTS		256	/* keys under events: */
#define MAX_PATTERNS		65536	/* regexes and templates per file */
#define MAX_WORK		(8 * 1024 * 1024) /* node visits + bytes */
#define MAX_ERRORS		50	/* reported per file */
#define MAX_WARNINGS		100	/* reported per file */
#define MAX_NAME		128	/* profile name length */
#define SHOW_LEN		100	/* user text quoted in messages */

/* Commands whose wildcard rules hand over much more than their authors
 * usually mean, and what such a rule lets through. */
static const char *const wildcard_risk[CMD_COUNT] = {
	[CMD_SETCONF] = "any configuration change",
	[CMD_RESETCONF] = "resetting any configuration option",
	[CMD_LOADCONF] = "replacing the whole configuration",
	[CMD_ADD_ONION] = "any onion service key and target",
	[CMD_DEL_ONION] = "removing any onion service",
	[CMD_ONION_CLIENT_AUTH_ADD] = "any client authorization key",
	[CMD_HSFETCH] = "fetching any onion service descriptor from any "
	    "directory",
	[CMD_HSPOST] = "publishing any onion service descriptor",
	[CMD_POSTDESCRIPTOR] = "publishing any relay descriptor",
	[CMD_MAPADDRESS] = "mapping any address to any other",
	[CMD_REDIRECTSTREAM] = "redirecting any stream to any address",
	[CMD_ATTACHSTREAM] = "attaching any stream to any circuit",
};

/* State of loading one file. */
struct loader {
	profile_diag_t *d;
	const char *file;          /* owned by the set */
	yaml_document_t *doc;
	size_t work;               /* spent of MAX_WORK */
	size_t npatterns;          /* compiled, of MAX_PATTERNS */
	unsigned nerrors;
	unsigned nwarnings;
	bool stop;                 /* a limit was hit: report nothing more */
};

/* A key of a mapping with a fixed set of keys. */
typedef struct field {
	const char *name;
	yaml_node_t *key;
	yaml_node_t *value;
} field_t;

static void ld_report(struct loader *, bool, unsigned, unsigned,
    const char *, va_list) __attribute__((format(printf, 5, 0)));
static void node_err(struct loader *, const yaml_node_t *, const char *,
    ...) __attribute__((format(printf, 3, 4)));
static void node_warn(struct loader *, const yaml_node_t *, const char *,
    ...) __attribute__((format(printf, 3, 4)));
static void loc_err(struct loader *, const src_loc_t *, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void pos_err(struct loader *, unsigned, unsigned, const char *, ...)
    __attribute__((format(printf, 4, 5)));
static void pos_warn(struct loader *, unsigned, unsigned, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Diagnostics.
 */

/* Report through ld's sink, within the per-file limits. */
static void
ld_report(struct loader *ld, bool is_error, unsigned line, unsigned col,
    const char *fmt, va_list ap)
{
	if (ld->stop)
		return;
	if (is_error && ++ld->nerrors > MAX_ERRORS) {
		profile_diag(ld->d, true, ld->file, line, col,
		    "too many errors; giving up on this file");
		ld->stop = true;
		return;
	}
	if (!is_error && ++ld->nwarnings > MAX_WARNINGS) {
		if (ld->nwarnings == MAX_WARNINGS + 1)
			profile_diag(ld->d, false, ld->file, line, col,
			    "too many warnings; not reporting more for this "
			    "file");
		return;
	}
	profile_vdiag(ld->d, is_error, ld->file, line, col, fmt, ap);
}

static void
node_err(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_report(ld, true, (unsigned)n->start_mark.line + 1,
	    (unsigned)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

static void
node_warn(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_report(ld, false, (unsigned)n->start_mark.line + 1,
	    (unsigned)n->start_mark.column + 1, fmt, ap);
	va_end(ap);
}

static void
loc_err(struct loader *ld, const src_loc_t *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_report(ld, true, loc->line, loc->col, fmt, ap);
	va_end(ap);
}

/* Report an error at line:col (0:0 for the whole file). */
static void
pos_err(struct loader *ld, unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_report(ld, true, line, col, fmt, ap);
	va_end(ap);
}

static void
pos_warn(struct loader *ld, unsigned line, unsigned col, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	ld_report(ld, false, line, col, fmt, ap);
	va_end(ap);
}

/* Stop loading this file after reporting why. */
static void
ld_give_up(struct loader *ld, const yaml_node_t *n, const char *what,
    unsigned limit)
{
	node_err(ld, n, "%s (limit %u); giving up on this file", what, limit);
	ld->stop = true;
}

/* Write a printable copy of s[0..len) into buf, for quoting user text in a
 * message: other bytes as \xNN, and "..." when it does not fit. */
static const char *
show(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[8];
		size_t n;

		if (c >= 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			n = 1;
		} else {
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		}
		if (o + n + 4 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, tmp, n);
		o += n;
	}
	buf[o] = '\0';
	return buf;
}

static void
set_loc(struct loader *ld, const yaml_node_t *n, src_loc_t *loc)
{
	loc->file = ld->file;
	loc->line = (unsigned)n->start_mark.line + 1;
	loc->col = (unsigned)n->start_mark.column + 1;
}

/*
 * Walking the document.
 */

/* The node at index idx, paid for from the work budget. */
static yaml_node_t *
node(struct loader *ld, int idx)
{
	yaml_node_t *n = yaml_document_get_node(ld->doc, idx);

	if (n == NULL)
		fatalx("profile: libyaml produced a bad node index %d", idx);
	ld->work += 1;
	if (n->type == YAML_SCALAR_NODE)
		ld->work += n->data.scalar.length;
	if (ld->work > MAX_WORK && !ld->stop)
		ld_give_up(ld, n, "document expands to too much data "
		    "(aliases?)", MAX_WORK);
	return n;
}

/* Return the string in scalar n (NUL-terminated, length in *lenp), or NULL
 * after reporting that `what` must be a string. */
static const char *
get_str(struct loader *ld, const yaml_node_t *n, const char *what,
    size_t *lenp)
{
	ytype_t t = ytype_of(n);
	const char *s;
	size_t len;

	if (t != Y_STR) {
		bool quotable = t == Y_BOOL || t == Y_INT || t == Y_FLOAT ||
		    t == Y_DATE || t == Y_OTHER;
		node_err(ld, n, "%s: expected a string, got %s%s", what,
		    ytype_name(t), quotable && n->type == YAML_SCALAR_NODE ?
		    " (put it in quotes)" : "");
		return NULL;
	}
	s = (const char *)n->data.scalar.value;
	len = n->data.scalar.length;
	if (memchr(s, '\0', len) != NULL) {
		node_err(ld, n, "%s: a NUL byte is not allowed", what);
		return NULL;
	}
	if (lenp != NULL)
		*lenp = len;
	return s;
}

/* Read a boolean (null counts as false, as in onion-grater) into *out. */
static void
get_bool(struct loader *ld, const yaml_node_t *n, const char *what,
    bool *out)
{
	ytype_t t = ytype_of(n);

	if (t == Y_NULL) {
		*out = false;
		return;
	}
	if (t == Y_BOOL && ytype_bool((const char *)n->data.scalar.value,
	    n->data.scalar.length, out))
		return;
	node_err(ld, n, "%s: expected a boolean (true or false), got %s", what,
	    t == Y_BOOL ? "a malformed boolean" : ytype_name(t));
}

/*
 * Split mapping m by the keys named in f[0..nf): report unknown and
 * duplicate keys. `what` names the mapping in messages.
 */
static void
get_fields(struct loader *ld, yaml_node_t *m, field_t *f, size_t nf,
    const char *what)
{
	yaml_node_pair_t *pair;

	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top && !ld->stop; pair++) {
		yaml_node_t *k = node(ld, pair->key);
		yaml_node_t *v = node(ld, pair->value);
		char q[SHOW_LEN];
		const char *name;
		size_t len, i;

		if (k->type == YAML_SCALAR_NODE &&
		    k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    k->data.scalar.length == 2 &&
		    memcmp(k->data.scalar.value, "<<", 2) == 0) {
			node_err(ld, k, "YAML merge keys ('<<') are not "
			    "supported");
			continue;
		}
		if ((name = get_str(ld, k, what, &len)) == NULL)
			continue;
		for (i = 0; i < nf; i++)
			if (strcmp(name, f[i].name) == 0)
				break;
		if (i == nf) {
			node_err(ld, k, "unknown key '%s' in %s",
			    show(q, sizeof(q), name, len), what);
			continue;
		}
		if (f[i].key != NULL) {
			node_err(ld, k, "duplicate key '%s' (first at %zu:%zu)",
			    f[i].name, f[i].key->start_mark.line + 1,
			    f[i].key->start_mark.column + 1);
			continue;
		}
		f[i].key = k;
		f[i].value = v;
	}
}

/* Count one compiled pattern or template against MAX_PATTERNS. */
static bool
count_pattern(struct loader *ld, const yaml_node_t *n)
{
	if (ld->stop)
		return false;
	if (++ld->npatterns > MAX_PATTERNS) {
		ld_give_up(ld, n, "too many patterns and replacements in one "
		    "file", MAX_PATTERNS);
		return false;
	}
	return true;
}

/* Compile the regex in scalar n; NULL after reporting an error. */
static tg_regex_t *
compile_pattern(struct loader *ld, const yaml_node_t *n, const char *what)
{
	char err[256], q[SHOW_LEN];
	tg_regex_t *re;
	const char *src;
	size_t len, off = 0;

	if ((src = get_str(ld, n, what, &len)) == NULL ||
	    !count_pattern(ld, n))
		return NULL;
	err[0] = '\0';
	re = regex_compile(src, len, err, sizeof(err), &off);
	if (re == NULL)
		node_err(ld, n, "%s '%s': %s at offset %zu", what,
		    show(q, sizeof(q), src, len), err, off);
	else if (regex_may_backtrack(re, err, sizeof(err)))
		node_warn(ld, n, "%s '%s' can backtrack badly (%s): a long "
		    "subject that does not match may hit the match limit, "
		    "and is then denied", what, show(q, sizeof(q), src, len),
		    err);
	return re;
}

/* Compile the template in scalar n for matches of re (which must have
 * compiled); NULL after reporting an error. */
static template_t *
compile_template(struct loader *ld, const yaml_node_t *n, const tg_regex_t *re)
{
	char err[256], q[SHOW_LEN];
	template_t *t;
	const char *src;
	size_t len, off = 0;

	if ((src = get_str(ld, n, "replacement", &len)) == NULL ||
	    re == NULL || !count_pattern(ld, n))
		return NULL;
	err[0] = '\0';
	t = template_compile(src, len, re, err, sizeof(err), &off);
	if (t == NULL)
		node_err(ld, n, "replacement '%s': %s at offset %zu",
		    show(q, sizeof(q), src, len), err, off);
	return t;
}

/*
 * Append the rules of sequence n, each a {pattern, replacement} mapping
 * with both keys, to *out. `what` names the list in messages.
 */
static void
load_line_rules(struct loader *ld, yaml_node_t *n, const char *what,
    line_rules_t *out)
{
	yaml_node_item_t *it;
	ytype_t t = ytype_of(n);

	if (t != Y_SEQ) {
		node_err(ld, n, "%s: expected a sequence of {pattern, "
		    "replacement} mappings, got %s", what, ytype_name(t));
		return;
	}
	if (seq_len(n) > MAX_ITEMS) {
		ld_give_up(ld, n, "too many response rules", MAX_ITEMS);
		return;
	}
	out->v = xcalloc(seq_len(n), sizeof(*out->v));
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top && !ld->stop; it++) {
		yaml_node_t *m = node(ld, *it);
		field_t f[] = { { .name = "pattern" },
			{ .name = "replacement" } };
		line_rule_t r = { 0 };

		if ((t = ytype_of(m)) != Y_MAP) {
			node_err(ld, m, "%s: expected a {pattern, replacement} "
			    "mapping, got %s", what, ytype_name(t));
			continue;
		}
		get_fields(ld, m, f, ARRAY_LEN(f), what);
		if (f[0].value == NULL || f[1].value == NULL) {
			node_err(ld, m, "%s: missing key '%s'", what,
			    f[0].value == NULL ? "pattern" : "replacement");
			continue;
		}
		set_loc(ld, m, &r.loc);
		r.re = compile_pattern(ld, f[0].value, "pattern");
		r.replacement = compile_template(ld, f[1].value, r.re);
		if (r.re == NULL || r.replacement == NULL) {
			regex_free(r.re);
			template_free(r.replacement);
			continue;
		}
		out->v[out->n++] = r;
	}
}

/*
 * Load one command rule (a pattern, or a {pattern, replacement, response}
 * mapping) from n into *r. Return false if it had errors; *r must be
 * released by the caller either way.
 */
static bool
load_cmd_rule(struct loader *ld, yaml_node_t *n, cmd_rule_t *r)
{
	field_t f[] = { { .name = "pattern" }, { .name = "replacement" },
		{ .name = "response" } };
	ytype_t t = ytype_of(n);
	unsigned errors = ld->nerrors;

	set_loc(ld, n, &r->loc);
	if (t == Y_STR)
		return (r->re = compile_pattern(ld, n, "pattern")) != NULL;
	if (t != Y_MAP) {
		node_err(ld, n, "command rule: expected a pattern string or a "
		    "mapping, got %s", ytype_name(t));
		return false;
	}
	get_fields(ld, n, f, ARRAY_LEN(f), "command rule");
	if (f[0].value == NULL) {
		node_err(ld, n, "command rule: missing key 'pattern'");
		return false;
	}
	r->re = compile_pattern(ld, f[0].value, "pattern");
	if (f[1].value != NULL)
		r->replacement = compile_template(ld, f[1].value, r->re);
	if (f[2].value != NULL)
		load_line_rules(ld, f[2].value, "response", &r->response);
	return r->re != NULL && ld->nerrors == errors && !ld->stop;
}

/*
 * Load the rules of one command from n (null or a sequence of rules) into
 * *out. def is the command's table row, NULL when the keyword is unknown:
 * the rules are still checked.
 */
static void
load_cmd_rules(struct loader *ld, yaml_node_t *n, const cmd_def_t *def,
    cmd_rules_t *out)
{
	yaml_node_item_t *it;
	ytype_t t = ytype_of(n);

	if (t == Y_NULL)
		return;
	if (t != Y_SEQ) {
		node_err(ld, n, "command rules: expected a sequence of rules "
		    "or null, got %s", ytype_name(t));
		return;
	}
	if (seq_len(n) > MAX_ITEMS) {
		ld_give_up(ld, n, "too many rules for one command", MAX_ITEMS);
		return;
	}
	out->v = xcalloc(seq_len(n), sizeof(*out->v));
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top && !ld->stop; it++) {
		yaml_node_t *rn = node(ld, *it);
		cmd_rule_t r = { 0 };
		const char *src;
		char q[SHOW_LEN];

		if (!load_cmd_rule(ld, rn, &r)) {
			profile_cmd_rule_clear(&r);
			continue;
		}
		src = regex_source(r.re);
		if (def != NULL && wildcard_risk[def->id] != NULL &&
		    regex_is_wildcard(src))
			node_warn(ld, rn, "%s rule '%s' accepts arbitrary "
			    "text: %s", def->name, show(q, sizeof(q), src,
			    strlen(src)), wildcard_risk[def->id]);
		out->v[out->n++] = r;
	}
}

/* commands: KEYWORD -> null | [rule...] */
static void
load_commands(struct loader *ld, profile_t *p, yaml_node_t *m)
{
	yaml_node_t *seen[CMD_COUNT] = { 0 };
	yaml_node_pair_t *pair;
	ytype_t t = ytype_of(m);

	if (t == Y_NULL)
		return;
	if (t != Y_MAP) {
		node_err(ld, m, "commands: expected a mapping of command "
		    "keywords to rules, got %s", ytype_name(t));
		return;
	}
	if (map_len(m) > MAX_COMMANDS) {
		ld_give_up(ld, m, "too many commands", MAX_COMMANDS);
		return;
	}
	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top && !ld->stop; pair++) {
		yaml_node_t *k = node(ld, pair->key);
		yaml_node_t *v = node(ld, pair->value);
		cmd_rules_t rules = { 0 };
		const cmd_def_t *def;
		const char *kw;
		char q[SHOW_LEN];
		size_t len;

		if ((kw = get_str(ld, k, "command keyword", &len)) == NULL)
			continue;
		def = cmdtab_lookup_name(kw);
		load_cmd_rules(ld, v, def, &rules);
		if (def == NULL) {
			node_warn(ld, k, "unknown command '%s'; its rules can "
			    "never match", show(q, sizeof(q), kw, len));
		} else if (def->flags & CMD_F_LOCAL) {
			node_warn(ld, k, "%s is answered by torgate itself; "
			    "rule ignored", def->name);
		} else if (def->flags & CMD_F_EVENTS) {
			/* As in onion-grater: subscriptions are judged event
			 * by event against `events`. */
			node_warn(ld, k, "SETEVENTS rules are not used; list "
			    "the events under 'events' instead");
		} else if (seen[def->id] != NULL) {
			node_err(ld, k, "duplicate command '%s' (first at "
			    "%zu:%zu)", show(q, sizeof(q), kw, len),
			    seen[def->id]->start_mark.line + 1,
			    seen[def->id]->start_mark.column + 1);
		} else {
			seen[def->id] = k;
			p->cmds[def->id] = rules;
			continue;
		}
		profile_cmd_rules_free(&rules);
	}
}

/* Append the strings of sequence n to *l. */
static void
load_strlist(struct loader *ld, yaml_node_t *n, const char *what,
    strlist_t *l)
{
	yaml_node_item_t *it;
	ytype_t t = ytype_of(n);

	if (t != Y_SEQ) {
		node_err(ld, n, "%s: expected a sequence of strings, got %s",
		    what, ytype_name(t));
		return;
	}
	if (l->n + seq_len(n) > MAX_ITEMS) {
		ld_give_up(ld, n, "too many entries", MAX_ITEMS);
		return;
	}
	l->v = xreallocarray(l->v, l->n + seq_len(n), sizeof(*l->v));
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top && !ld->stop; it++) {
		const char *s;
		size_t len;

		if ((s = get_str(ld, node(ld, *it), what, &len)) != NULL)
			l->v[l->n++] = xmemdup_nul(s, len);
	}
}

/* Is s[0..len) a plausible tor option or event name? */
static bool
is_word(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* confs: KEY -> null | [value...], '' meaning "may be reset" */
static void
load_confs(struct loader *ld, profile_t *p, yaml_node_t *m)
{
	yaml_node_pair_t *pair;
	ytype_t t = ytype_of(m);

	if (t == Y_NULL)
		return;
	if (t != Y_MAP) {
		node_err(ld, m, "confs: expected a mapping of configuration "
		    "options to values, got %s", ytype_name(t));
		return;
	}
	if (map_len(m) > MAX_CONFS) {
		ld_give_up(ld, m, "too many configuration options", MAX_CONFS);
		return;
	}
	p->confs = xcalloc(map_len(m), sizeof(*p->confs));
	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top && !ld->stop; pair++) {
		yaml_node_t *k = node(ld, pair->key);
		yaml_node_t *v = node(ld, pair->value);
		yaml_node_item_t *it;
		conf_rule_t *c;
		const char *key;
		char q[SHOW_LEN];
		size_t len, i;

		if ((key = get_str(ld, k, "configuration option", &len)) ==
		    NULL)
			continue;
		if (!is_word(key, len)) {
			node_err(ld, k, "bad configuration option name '%s'",
			    show(q, sizeof(q), key, len));
			continue;
		}
		for (i = 0; i < p->n_confs; i++)
			if (strcasecmp(p->confs[i].key, key) == 0)
				break;
		if (i < p->n_confs) {
			node_err(ld, k, "duplicate configuration option '%s' "
			    "(first at %u:%u)", key, p->confs[i].loc.line,
			    p->confs[i].loc.col);
			continue;
		}
		c = &p->confs[p->n_confs++];
		c->key = xmemdup_nul(key, len);
		set_loc(ld, k, &c->loc);
		if ((t = ytype_of(v)) == Y_NULL)
			continue;
		if (t != Y_SEQ) {
			node_err(ld, v, "values of %s: expected a sequence of "
			    "strings or null, got %s", key, ytype_name(t));
			continue;
		}
		if (seq_len(v) > MAX_ITEMS) {
			ld_give_up(ld, v, "too many values", MAX_ITEMS);
			break;
		}
		c->values = xcalloc(seq_len(v), sizeof(*c->values));
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top && !ld->stop; it++) {
			yaml_node_t *vn = node(ld, *it);
			tg_regex_t *re;
			size_t vlen;

			if (get_str(ld, vn, "configuration value", &vlen) ==
			    NULL)
				continue;
			if (vlen == 0) {
				c->resettable = true;
				continue;
			}
			if ((re = compile_pattern(ld, vn,
			    "configuration value")) != NULL)
				c->values[c->n_values++] = re;
		}
	}
}

/* events: EVENT -> null | {suppress: bool, response: [...]} */
static void
load_events(struct loader *ld, profile_t *p, yaml_node_t *m)
{
	yaml_node_pair_t *pair;
	ytype_t t = ytype_of(m);

	if (t == Y_NULL)
		return;
	if (t != Y_MAP) {
		node_err(ld, m, "events: expected a mapping of event names to "
		    "options, got %s", ytype_name(t));
		return;
	}
	if (map_len(m) > MAX_EVENTS) {
		ld_give_up(ld, m, "too many events", MAX_EVENTS);
		return;
	}
	p->events = xcalloc(map_len(m), sizeof(*p->events));
	for (pair = m->data.mapping.pairs.start;
	    pair < m->data.mapping.pairs.top && !ld->stop; pair++) {
		yaml_node_t *k = node(ld, pair->key);
		yaml_node_t *v = node(ld, pair->value);
		field_t f[] = { { .name = "suppress" },
			{ .name = "response" } };
		event_rule_t *e;
		const char *s;
		char q[SHOW_LEN], *name;
		size_t len, i;

		if ((s = get_str(ld, k, "event name", &len)) == NULL)
			continue;
		if (!is_word(s, len)) {
			node_err(ld, k, "bad event name '%s'",
			    show(q, sizeof(q), s, len));
			continue;
		}
		for (i = 0; i < p->n_events; i++)
			if (strcasecmp(p->events[i].name, s) == 0)
				break;
		if (i < p->n_events) {
			node_err(ld, k, "duplicate event '%s' (first at %u:%u)",
			    s, p->events[i].loc.line, p->events[i].loc.col);
			continue;
		}
		name = xmemdup_nul(s, len);
		for (i = 0; i < len; i++)
			name[i] = (char)toupper((unsigned char)name[i]);
		if (event_lookup(name, len) < 0)
			node_warn(ld, k, "unknown event '%s'; tor has no such "
			    "event", name);
		e = &p->events[p->n_events++];
		e->name = name;
		set_loc(ld, k, &e->loc);
		if ((t = ytype_of(v)) == Y_NULL)
			continue;
		if (t != Y_MAP) {
			node_err(ld, v, "options of event %s: expected a "
			    "mapping or null, got %s", name, ytype_name(t));
			continue;
		}
		get_fields(ld, v, f, ARRAY_LEN(f), "event options");
		if (f[0].value != NULL)
			get_bool(ld, f[0].value, "suppress", &e->suppress);
		if (f[1].value != NULL)
			load_line_rules(ld, f[1].value, "response",
			    &e->response);
	}
}

/* Check that name (from a name: key) is one we can print and compare. */
static bool
good_name(const char *s, size_t len)
{
	if (len == 0 || len > MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

enum {
	PK_NAME,
	PK_APPARMOR,
	PK_EXE_PATHS,
	PK_USERS,
	PK_HOSTS,
	PK_COMMANDS,
	PK_CONFS,
	PK_EVENTS,
	PK_RESTRICT,
	PK_RESTRICT_ONION,
	PK_TB_MODE,
	PK_DEL_ONION_ANY,
	PK_CLIENT_UNIX,
	PK_COUNT
};

/*
 * Load the profile in mapping m. base is the default name; *unnamed counts
 * the profiles of this file that had no name: key so far.
 */
static profile_t *
load_profile(struct loader *ld, yaml_node_t *m, const char *base,
    unsigned *unnamed)
{
	field_t f[PK_COUNT] = {
		[PK_NAME] = { .name = "name" },
		[PK_APPARMOR] = { .name = "apparmor-profiles" },
		[PK_EXE_PATHS] = { .name = "exe-paths" },
		[PK_USERS] = { .name = "users" },
		[PK_HOSTS] = { .name = "hosts" },
		[PK_COMMANDS] = { .name = "commands" },
		[PK_CONFS] = { .name = "confs" },
		[PK_EVENTS] = { .name = "events" },
		[PK_RESTRICT] = { .name = "restrict-stream-events" },
		[PK_RESTRICT_ONION] = { .name = "restrict-onion-events" },
		[PK_TB_MODE] = { .name = "tor-browser-mode" },
		[PK_DEL_ONION_ANY] = { .name = "del-onion-any" },
		[PK_CLIENT_UNIX] = { .name = "client-unix-targets" },
	};
	profile_t *p = xzalloc(sizeof(*p));
	bool b;

	set_loc(ld, m, &p->loc);
	get_fields(ld, m, f, ARRAY_LEN(f), "profile");
	if (f[PK_NAME].value != NULL) {
		const char *s;
		size_t len;
		if ((s = get_str(ld, f[PK_NAME].value, "name", &len)) != NULL) {
			if (!good_name(s, len))
				node_err(ld, f[PK_NAME].value, "name: must be "
				    "1 to %d printable ASCII characters",
				    MAX_NAME);
			p->name = xmemdup_nul(s, len);
		}
	} else if (++*unnamed == 1) {
		p->name = xstrdup(base);
	} else {
		p->name = xasprintf("%s-%u", base, *unnamed);
	}
	if (p->name == NULL)
		p->name = xstrdup(base);
	if (f[PK_APPARMOR].value != NULL) {
		p->has_apparmor_profiles = true;
		load_strlist(ld, f[PK_APPARMOR].value, "apparmor-profiles",
		    &p->apparmor_profiles);
	}
	if (f[PK_EXE_PATHS].value != NULL) {
		p->has_apparmor_profiles = true;
		load_strlist(ld, f[PK_EXE_PATHS].value, "exe-paths",
		    &p->apparmor_profiles);
	}
	if (f[PK_USERS].value != NULL) {
		p->has_users = true;
		load_strlist(ld, f[PK_USERS].value, "users", &p->users);
	}
	if (f[PK_HOSTS].value != NULL) {
		p->has_hosts = true;
		load_strlist(ld, f[PK_HOSTS].value, "hosts", &p->hosts);
	}
	if (f[PK_COMMANDS].value != NULL)
		load_commands(ld, p, f[PK_COMMANDS].value);
	if (f[PK_CONFS].value != NULL)
		load_confs(ld, p, f[PK_CONFS].value);
	if (f[PK_EVENTS].value != NULL)
		load_events(ld, p, f[PK_EVENTS].value);
	b = false;
	if (f[PK_RESTRICT].value != NULL) {
		get_bool(ld, f[PK_RESTRICT].value, "restrict-stream-events",
		    &b);
		p->restrict_stream_events |= b;
	}
	b = false;
	if (f[PK_TB_MODE].value != NULL) {
		get_bool(ld, f[PK_TB_MODE].value, "tor-browser-mode", &b);
		p->restrict_stream_events |= b;
	}
	if (f[PK_RESTRICT_ONION].value != NULL)
		get_bool(ld, f[PK_RESTRICT_ONION].value,
		    "restrict-onion-events", &p->restrict_onion_events);
	if (f[PK_DEL_ONION_ANY].value != NULL)
		get_bool(ld, f[PK_DEL_ONION_ANY].value, "del-onion-any",
		    &p->del_onion_any);
	if (f[PK_CLIENT_UNIX].value != NULL)
		get_bool(ld, f[PK_CLIENT_UNIX].value, "client-unix-targets",
		    &p->client_unix_targets);
	return p;
}

/* Add p to the set being built, unless its name is taken. */
static void
add_profile(struct profile_builder *b, struct loader *ld, profile_t *p)
{
	profile_set_t *s = b->set;

	for (size_t i = 0; i < s->n; i++) {
		const profile_t *q = s->v[i];
		if (strcmp(q->name, p->name) == 0) {
			char n[SHOW_LEN];
			loc_err(ld, &p->loc, "duplicate profile name '%s' "
			    "(first defined at %s:%u:%u)", show(n, sizeof(n),
			    p->name, strlen(p->name)), q->loc.file,
			    q->loc.line, q->loc.col);
			profile_free(p);
			return;
		}
	}
	if (s->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		s->v = xreallocarray(s->v, b->cap, sizeof(*s->v));
	}
	s->v[s->n++] = p;
}

/* Turn a byte offset in buf into a 1-based line and column. */
static void
offset_pos(const char *buf, size_t len, size_t off, unsigned *line,
    unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Report the error libyaml's parser p stopped on. */
static void
parser_error(struct loader *ld, const yaml_parser_t *p, const char *buf,
    size_t len)
{
	const char *problem = p->problem != NULL ? p->problem : "syntax error";
	unsigned line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		pos_err(ld, 0, 0, "YAML parser: out of memory");
		break;
	case YAML_READER_ERROR:
		offset_pos(buf, len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			pos_err(ld, line, col, "%s (#x%X)", problem,
			    (unsigned)p->problem_value);
		else
			pos_err(ld, line, col, "%s", problem);
		break;
	default:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		if (p->context != NULL)
			pos_err(ld, line, col, "%s at %zu:%zu: %s", p->context,
			    p->context_mark.line + 1,
			    p->context_mark.column + 1, problem);
		else
			pos_err(ld, line, col, "%s", problem);
		break;
	}
}

/*
 * First pass over buf: check the syntax, that there is at most one
 * document, and the nesting depth. False after reporting a problem.
 */
static bool
check_stream(struct loader *ld, const char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	unsigned depth = 0, docs = 0;
	bool ok = true, done = false;

	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize: out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			parser_error(ld, &parser, buf, len);
			ok = false;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				pos_err(ld, (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "more than one YAML document in the file");
				ok = false;
				done = true;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > MAX_DEPTH) {
				pos_err(ld, (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "nested deeper than %d levels", MAX_DEPTH);
				ok = false;
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return ok;
}

/* The default profile name for file: its base name without .yml/.yaml. */
static char *
default_name(const char *file)
{
	const char *s = strrchr(file, '/');
	size_t len;

	s = s != NULL ? s + 1 : file;
	len = strlen(s);
	if (len > 4 && strcmp(s + len - 4, ".yml") == 0)
		len -= 4;
	else if (len > 5 && strcmp(s + len - 5, ".yaml") == 0)
		len -= 5;
	if (len == 0)
		return xstrdup("profile");
	return xmemdup_nul(s, len);
}

/* Keep a copy of file name in the set; return the copy. */
static const char *
add_file(struct profile_builder *b, const char *file)
{
	profile_set_t *s = b->set;

	s->files = xreallocarray(s->files, s->n_files + 1, sizeof(*s->files));
	s->files[s->n_files] = xstrdup(file);
	return s->files[s->n_files++];
}

void
profile_builder_load(struct profile_builder *b, const char *file,
    const char *buf, size_t len)
{
	struct loader ld = { .d = b->d, .file = add_file(b, file) };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_item_t *it;
	yaml_node_t *root;
	unsigned unnamed = 0;
	char *base;
	ytype_t t;

	if (len > PROFILE_MAX_FILE) {
		pos_err(&ld, 0, 0, "file is larger than %d bytes",
		    PROFILE_MAX_FILE);
		return;
	}
	if (!check_stream(&ld, buf, len))
		return;
	if (!yaml_parser_initialize(&parser))
		fatalx("yaml_parser_initialize: out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		parser_error(&ld, &parser, buf, len);
		goto out;
	}
	ld.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (root == NULL || (t = ytype_of(root)) == Y_NULL ||
	    (t == Y_SEQ && seq_len(root) == 0)) {
		pos_warn(&ld, 0, 0, "no profiles in the file");
		goto out_doc;
	}
	if (t != Y_SEQ) {
		node_err(&ld, root, "expected a sequence of profiles, got %s",
		    ytype_name(t));
		goto out_doc;
	}
	if (seq_len(root) > MAX_PROFILES) {
		ld_give_up(&ld, root, "too many profiles in one file",
		    MAX_PROFILES);
		goto out_doc;
	}
	base = default_name(file);
	for (it = root->data.sequence.items.start;
	    it < root->data.sequence.items.top && !ld.stop; it++) {
		yaml_node_t *m = node(&ld, *it);

		if ((t = ytype_of(m)) != Y_MAP) {
			node_err(&ld, m, "profile: expected a mapping, got %s",
			    ytype_name(t));
			continue;
		}
		add_profile(b, &ld, load_profile(&ld, m, base, &unnamed));
	}
	free(base);
out_doc:
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
}

void
profile_builder_init(struct profile_builder *b, profile_diag_t *d)
{
	b->set = profile_set_new_empty();
	b->cap = 0;
	b->d = d;
}

profile_set_t *
profile_builder_finish(struct profile_builder *b, unsigned errors0)
{
	if (b->d->errors != errors0) {
		profile_set_unref(b->set);
		return NULL;
	}
	return b->set;
}

profile_set_t *
profile_set_load_buffer(const char *name, const char *buf, size_t len,
    profile_diag_t *d)
{
	profile_diag_t local = { 0 };
	struct profile_builder b;
	unsigned errors0;

	if (d == NULL)
		d = &local;
	if (buf == NULL) {
		buf = "";
		len = 0;
	}
	errors0 = d->errors;
	profile_builder_init(&b, d);
	profile_builder_load(&b, name, buf, len);
	return profile_builder_finish(&b, errors0);
}
