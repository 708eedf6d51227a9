/*
 * kvline.h: tor's argument grammars, parsed the way tor parses them, so
 * that torgate judges exactly what tor will act on.
 *
 * kvline_parse() follows tor's kvline_parse() with SETCONF/RESETCONF's
 * flags (KV_OMIT_VALS | KV_QUOTED): whitespace-separated items, each
 * KEY=VALUE, KEY="C-escaped value", or a bare KEY (no value: reset). Keys
 * may not be empty and values may not contain NUL.
 *
 * words_split() splits like tor's smartlist_split_string(" ",
 * SPLIT_SKIP_SPACE | SPLIT_IGNORE_BLANK) (GETINFO, GETCONF, SETEVENTS):
 * on spaces only, each item trimmed of whitespace, empty items dropped.
 */
#ifndef TORGATE_KVLINE_H
#define TORGATE_KVLINE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct kv {
	char *key;
	char *value;       /* NULL for a bare KEY */
	size_t value_len;
} kv_t;

typedef struct kvlist {
	kv_t *v;
	size_t n;
} kvlist_t;

/* Parse s[0..len); 0, or -1 if tor would reject the line. */
int kvline_parse(const char *s, size_t len, kvlist_t *out);
void kvlist_clear(kvlist_t *l);

typedef struct words {
	char **v;
	size_t n;
} words_t;

/* Split s[0..len) as described above. */
void words_split(const char *s, size_t len, words_t *out);
void words_clear(words_t *w);

/* Return s as a control-protocol QuotedString: "..." with \ and " escaped.
 * The caller wipes and frees it. */
char *kvline_quote(const char *s);

/*
 * Decode a QuotedString at s[0..len) (starting with '"') into a new string
 * of *outlen bytes; returns the number of input bytes used, or -1 if s is
 * not a complete QuotedString. Accepts exactly the escapes tor's
 * unescape_string() accepts: \n \r \t \" \\ \' \xHH and \N, \NN, \NNN octal
 * (at most 255); anything else, or a raw newline, is an error.
 */
long kvline_unquote(const char *s, size_t len, char **out, size_t *outlen);

#endif
