/*
 * kvline.c: see kvline.h.
 */
#include <stdlib.h>
#include <string.h>

#include "kvline.h"
#include "util.h"

static bool
is_kv_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\n';
}

static void
push(kvlist_t *l, char *key, char *value, size_t vlen)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n].key = key;
	l->v[l->n].value = value;
	l->v[l->n].value_len = vlen;
	l->n++;
}

int
kvline_parse(const char *s, size_t len, kvlist_t *out)
{
	const char *p = s, *end = s + len;

	memset(out, 0, sizeof(*out));
	if (memchr(s, '\0', len) != NULL)
		return -1;
	while (p < end) {
		const char *k;
		char *key = NULL, *val = NULL;
		size_t vlen = 0;

		while (p < end && is_kv_space(*p))
			p++;
		if (p == end)
			break;
		if (*p == '"')
			goto fail;      /* a value without a key */
		k = p;
		while (p < end && !is_kv_space(*p) && *p != '=')
			p++;
		if (p == k)
			goto fail;      /* empty key */
		key = xmemdup_nul(k, (size_t)(p - k));
		if (p == end || *p != '=') {
			push(out, key, NULL, 0);
			continue;
		}
		p++;
		if (p < end && *p == '"') {
			long used = kvline_unquote(p, (size_t)(end - p), &val,
			    &vlen);
			if (used < 0) {
				free(key);
				goto fail;
			}
			if (memchr(val, '\0', vlen) != NULL) {
				free(key);
				free(val);
				goto fail;
			}
			p += used;
			/* tor needs a separator after the closing quote. */
			if (p < end && !is_kv_space(*p)) {
				free(key);
				free(val);
				goto fail;
			}
		} else {
			const char *v = p;
			while (p < end && !is_kv_space(*p))
				p++;
			vlen = (size_t)(p - v);
			val = xmemdup_nul(v, vlen);
		}
		push(out, key, val, vlen);
	}
	return 0;
fail:
	kvlist_clear(out);
	return -1;
}

void
kvlist_clear(kvlist_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
words_split(const char *s, size_t len, words_t *out)
{
	const char *p = s, *end = s + len;

	memset(out, 0, sizeof(*out));
	while (p <= end) {
		const char *w = p, *e;
		while (p < end && *p != ' ')
			p++;
		e = p;
		/* SPLIT_SKIP_SPACE: trim whitespace around each item. */
		while (w < e && tor_isspace(*w))
			w++;
		while (e > w && tor_isspace(e[-1]))
			e--;
		if (e > w) {    /* SPLIT_IGNORE_BLANK */
			out->v = xreallocarray(out->v, out->n + 1,
			    sizeof(char *));
			out->v[out->n++] = xmemdup_nul(w, (size_t)(e - w));
		}
		p++;
	}
}

void
words_clear(words_t *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof(*w));
}

char *
kvline_quote(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(2 * n + 3), *p = out;

	*p++ = '"';
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

long
kvline_unquote(const char *s, size_t len, char **out, size_t *outlen)
{
	char *buf, *p;
	size_t i;

	if (len == 0 || s[0] != '"')
		return -1;
	buf = p = xmalloc(len);
	for (i = 1; i < len; i++) {
		char c = s[i];
		if (c == '"') {
			*p = '\0';
			*out = buf;
			*outlen = (size_t)(p - buf);
			return (long)(i + 1);
		}
		if (c == '\n' || c == '\0')
			break;
		if (c != '\\') {
			*p++ = c;
			continue;
		}
		if (++i >= len)
			break;
		c = s[i];
		switch (c) {
		case 'n': *p++ = '\n'; break;
		case 'r': *p++ = '\r'; break;
		case 't': *p++ = '\t'; break;
		case '"': case '\\': case '\'':
			*p++ = c;
			break;
		case 'x': case 'X': {
			int hi, lo;
			if (i + 2 >= len || (hi = hex_digit(s[i + 1])) < 0 ||
			    (lo = hex_digit(s[i + 2])) < 0)
				goto fail;
			*p++ = (char)(hi << 4 | lo);
			i += 2;
			break;
		}
		case '0': case '1': case '2': case '3':
		case '4': case '5': case '6': case '7': {
			int v = 0, k;
			for (k = 0; k < 3 && i < len && s[i] >= '0' &&
			    s[i] <= '7'; k++, i++)
				v = v * 8 + (s[i] - '0');
			i--;
			if (v > 255)
				goto fail;
			*p++ = (char)v;
			break;
		}
		default:
			goto fail;      /* tor rejects other escapes */
		}
	}
fail:
	free(buf);
	return -1;
}
