/*
 * profile_yaml.c: type YAML scalars the way PyYAML's safe loader does, so
 * that a profile means in torgate what it means in onion-grater.
 *
 * YAML 1.1 resolves plain (unquoted) scalars implicitly: null, booleans,
 * integers, floats and dates are recognized by their spelling; anything
 * else, and every quoted scalar, is a string. "users: [1000]" or
 * "suppress: 'yes'" are then reported as the type mistakes they also are
 * under onion-grater, instead of quietly meaning something else. libyaml
 * gives an explicit "!!str" the same tag as no tag at all, so "!!str yes"
 * still reads as a boolean.
 *
 * The matchers are written by hand over a counted string (struct cur),
 * one per regular expression of PyYAML's resolver; no allocation, no I/O.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "profile_yaml.h"
#include "util.h"

static const char *const ytype_names[] = {
	[Y_NULL] = "null",
	[Y_BOOL] = "a boolean",
	[Y_INT] = "an integer",
	[Y_FLOAT] = "a number",
	[Y_DATE] = "a date",
	[Y_STR] = "a string",
	[Y_SEQ] = "a sequence",
	[Y_MAP] = "a mapping",
	[Y_OTHER] = "a value of an unsupported type",
};

const char *
ytype_name(ytype_t t)
{
	return ytype_names[t];
}

/* A cursor over a counted string, for the hand-written matchers below. */
struct cur {
	const char *s;
	size_t i, n;
};

static bool
cur_end(const struct cur *c)
{
	return c->i == c->n;
}

static bool
cur_eat(struct cur *c, char ch)
{
	if (c->i < c->n && c->s[c->i] == ch) {
		c->i++;
		return true;
	}
	return false;
}

static bool
cur_eat_any(struct cur *c, const char *set)
{
	if (c->i < c->n && c->s[c->i] != '\0' &&
	    strchr(set, c->s[c->i]) != NULL) {
		c->i++;
		return true;
	}
	return false;
}

static size_t
cur_span(struct cur *c, const char *set)
{
	size_t n = 0;

	while (cur_eat_any(c, set))
		n++;
	return n;
}

/* Eat between min and max digits, as many as there are. */
static bool
cur_digits(struct cur *c, size_t min, size_t max)
{
	size_t n = 0;

	while (n < max && cur_eat_any(c, "0123456789"))
		n++;
	return n >= min;
}

/* Does s[0..len) spell word (lower case) in lower, Title or UPPER case? */
static bool
spelled(const char *s, size_t len, const char *word)
{
	bool lower = true, title = true, upper = true;

	if (strlen(word) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char lc = word[i], uc = (char)toupper((unsigned char)lc);
		if (s[i] != lc)
			lower = false;
		if (s[i] != uc)
			upper = false;
		if (s[i] != (i == 0 ? uc : lc))
			title = false;
	}
	return lower || title || upper;
}

bool
ytype_bool(const char *s, size_t len, bool *value)
{
	static const struct {
		const char *word;
		bool value;
	} words[] = {
		{ "yes", true }, { "no", false }, { "true", true },
		{ "false", false }, { "on", true }, { "off", false },
	};

	for (size_t i = 0; i < ARRAY_LEN(words); i++) {
		if (spelled(s, len, words[i].word)) {
			*value = words[i].value;
			return true;
		}
	}
	return false;
}

/* (:[0-5]?[0-9])+, the sexagesimal tail of YAML 1.1 numbers. */
static bool
cur_sexagesimal(struct cur *c)
{
	bool any = false;

	while (cur_eat(c, ':')) {
		if (c->i + 1 < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '5' &&
		    c->s[c->i + 1] >= '0' && c->s[c->i + 1] <= '9')
			c->i += 2;
		else if (!cur_digits(c, 1, 1))
			return false;
		any = true;
	}
	return any;
}

static bool
yaml_is_int(const char *s, size_t len)
{
	struct cur c = { s, 0, len };

	(void)cur_eat_any(&c, "+-");
	if (cur_eat(&c, '0')) {
		if (cur_end(&c))
			return true;
		if (cur_eat(&c, 'b'))
			return cur_span(&c, "01_") > 0 && cur_end(&c);
		if (cur_eat(&c, 'x'))
			return cur_span(&c, "0123456789abcdefABCDEF_") > 0 &&
			    cur_end(&c);
		return cur_span(&c, "01234567_") > 0 && cur_end(&c);
	}
	if (!cur_eat_any(&c, "123456789"))
		return false;
	(void)cur_span(&c, "0123456789_");
	if (cur_end(&c))
		return true;
	return cur_sexagesimal(&c) && cur_end(&c);
}

/* ([eE][-+][0-9]+)? followed by the end. */
static bool
cur_exponent_end(struct cur *c)
{
	if (cur_eat_any(c, "eE") &&
	    (!cur_eat_any(c, "+-") || !cur_digits(c, 1, SIZE_MAX)))
		return false;
	return cur_end(c);
}

static bool
yaml_is_float(const char *s, size_t len)
{
	struct cur c = { s, 0, len };
	bool sign = cur_eat_any(&c, "+-");

	if (cur_eat(&c, '.')) {
		const char *rest = s + c.i;
		size_t rlen = len - c.i;
		if (spelled(rest, rlen, "inf"))
			return true;
		if (sign)
			return false;
		if (rlen == 3 && (memcmp(rest, "nan", 3) == 0 ||
		    memcmp(rest, "NaN", 3) == 0 || memcmp(rest, "NAN", 3) == 0))
			return true;
		if (!cur_digits(&c, 1, 1))
			return false;
		(void)cur_span(&c, "0123456789_");
		return cur_exponent_end(&c);
	}
	if (!cur_digits(&c, 1, 1))
		return false;
	(void)cur_span(&c, "0123456789_");
	if (cur_eat(&c, '.')) {
		(void)cur_span(&c, "0123456789_");
		return cur_exponent_end(&c);
	}
	if (!cur_sexagesimal(&c) || !cur_eat(&c, '.'))
		return false;
	(void)cur_span(&c, "0123456789_");
	return cur_end(&c);
}

static bool
yaml_is_date(const char *s, size_t len)
{
	struct cur c = { s, 0, len };
	size_t mark;

	if (!cur_digits(&c, 4, 4) || !cur_eat(&c, '-'))
		return false;
	mark = c.i;
	if (cur_digits(&c, 2, 2) && cur_eat(&c, '-') && cur_digits(&c, 2, 2) &&
	    cur_end(&c))
		return true;
	c.i = mark;
	if (!cur_digits(&c, 1, 2) || !cur_eat(&c, '-') ||
	    !cur_digits(&c, 1, 2))
		return false;
	if (!cur_eat_any(&c, "Tt") && cur_span(&c, " \t") == 0)
		return false;
	if (!cur_digits(&c, 1, 2) || !cur_eat(&c, ':') ||
	    !cur_digits(&c, 2, 2) || !cur_eat(&c, ':') ||
	    !cur_digits(&c, 2, 2))
		return false;
	if (cur_eat(&c, '.'))
		(void)cur_span(&c, "0123456789");
	if (cur_end(&c))
		return true;
	(void)cur_span(&c, " \t");
	if (cur_eat(&c, 'Z'))
		return cur_end(&c);
	if (!cur_eat_any(&c, "+-") || !cur_digits(&c, 1, 2))
		return false;
	if (cur_eat(&c, ':') && !cur_digits(&c, 2, 2))
		return false;
	return cur_end(&c);
}

/* The type PyYAML gives an untagged plain scalar. */
static ytype_t
resolve_plain(const char *s, size_t len)
{
	bool b;

	if (len == 0 || (len == 1 && s[0] == '~') || spelled(s, len, "null"))
		return Y_NULL;
	if (ytype_bool(s, len, &b))
		return Y_BOOL;
	if (yaml_is_int(s, len))
		return Y_INT;
	if (yaml_is_float(s, len))
		return Y_FLOAT;
	if (yaml_is_date(s, len))
		return Y_DATE;
	/* "<<" is a merge key and "=" the value tag: safe_load has no
	 * constructor for either here. */
	if ((len == 2 && memcmp(s, "<<", 2) == 0) ||
	    (len == 1 && s[0] == '='))
		return Y_OTHER;
	return Y_STR;
}

ytype_t
ytype_of(const yaml_node_t *n)
{
	const char *tag = (const char *)n->tag;

	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return strcmp(tag, YAML_SEQ_TAG) == 0 ? Y_SEQ : Y_OTHER;
	case YAML_MAPPING_NODE:
		return strcmp(tag, YAML_MAP_TAG) == 0 ? Y_MAP : Y_OTHER;
	case YAML_SCALAR_NODE:
		if (strcmp(tag, YAML_STR_TAG) == 0) {
			if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
				return Y_STR;
			return resolve_plain((const char *)n->data.scalar.value,
			    n->data.scalar.length);
		}
		if (strcmp(tag, YAML_NULL_TAG) == 0)
			return Y_NULL;
		if (strcmp(tag, YAML_BOOL_TAG) == 0)
			return Y_BOOL;
		if (strcmp(tag, YAML_INT_TAG) == 0)
			return Y_INT;
		if (strcmp(tag, YAML_FLOAT_TAG) == 0)
			return Y_FLOAT;
		if (strcmp(tag, YAML_TIMESTAMP_TAG) == 0)
			return Y_DATE;
		return Y_OTHER;
	default:
		return Y_OTHER;
	}
}
