/*
 * redact.c: scrub secrets out of protocol lines before they reach a debug
 * log. See redact.h.
 *
 * Two layers. Commands whose every argument is a secret (AUTHENTICATE,
 * AUTHCHALLENGE, ONION_CLIENT_AUTH_ADD) keep their keyword, plus the one
 * harmless first argument where there is one, and lose the rest. Every
 * line, command or reply, is then scanned for markers that precede a
 * secret anywhere in it: key blobs ("ED25519-V3:", "RSA1024:", "x25519:"),
 * "PrivateKey=" (whose key type prefix is kept), "ClientAuth=" (whose
 * client name is kept), and the hashed control
 * passwords, both as "Key=value" (SETCONF, GETCONF replies) and as torrc
 * lines "Key value" (LOADCONF bodies, GETINFO config-text). Markers are
 * matched without regard to case or to what precedes them: scrubbing too
 * much costs nothing in a log, too little leaks a key.
 *
 * Secret bytes are never copied: the output is built from the parts of
 * the input around them, so nothing needs wiping afterwards.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"
#include "log.h"
#include "redact.h"
#include "util.h"

#define SCRUBBED "[scrubbed]"

typedef enum {
	SCRUB_TOKEN,    /* the token after the marker */
	SCRUB_VALUE,    /* a token or a quoted string after the marker */
	SCRUB_KEY,      /* a token; keep a "TYPE:" prefix */
} scrub_kind_t;

static const struct {
	const char *marker;
	scrub_kind_t kind;
} markers[] = {
	{ "ED25519-V3:", SCRUB_TOKEN },
	{ "RSA1024:", SCRUB_TOKEN },
	{ "x25519:", SCRUB_TOKEN },
	{ "PrivateKey=", SCRUB_KEY },
	/* ADD_ONION ClientAuth=NAME:COOKIE (v2) and its "250-ClientAuth="
	 * reply: the name stays, the cookie goes. */
	{ "ClientAuth=", SCRUB_KEY },
	{ "HashedControlPassword=", SCRUB_VALUE },
	{ "HashedControlSessionPassword=", SCRUB_VALUE },
};

/* Options whose value is a secret when a line is in torrc form. */
static const char *const conf_secrets[] = {
	"HashedControlPassword",
	"HashedControlSessionPassword",
};

typedef struct obuf {
	char *p;
	size_t len;
	size_t cap;
} obuf_t;

/* Append s[0..n) to b, keeping room for a final NUL. */
static void
ob_add(obuf_t *b, const char *s, size_t n)
{
	if (n >= b->cap - b->len) {
		size_t need;

		if (__builtin_add_overflow(b->len, n, &need) ||
		    __builtin_add_overflow(need, 1, &need))
			fatalx("redacted line too long");
		if (need < b->cap * 2)
			need = b->cap * 2;
		b->p = xreallocarray(b->p, need, 1);
		b->cap = need;
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Start b with room for about n bytes. */
static void
ob_init(obuf_t *b, size_t n)
{
	b->cap = n < 64 ? 128 : n + 64;
	b->p = xmalloc(b->cap);
	b->p[0] = '\0';
	b->len = 0;
}

/* Return the index of the first whitespace byte at or after i, or n. */
static size_t
token_end(const char *s, size_t i, size_t n)
{
	while (i < n && !tor_isspace(s[i]))
		i++;
	return i;
}

/* Return the index of the first non-whitespace byte at or after i, or n. */
static size_t
skip_space(const char *s, size_t i, size_t n)
{
	while (i < n && tor_isspace(s[i]))
		i++;
	return i;
}

/* Return the end of the value starting at i: past the closing quote of a
 * quoted string (backslash escapes honoured), or the end of a token. An
 * unterminated quoted string runs to n. */
static size_t
value_end(const char *s, size_t i, size_t n)
{
	if (i >= n || s[i] != '"')
		return token_end(s, i, n);
	for (i++; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* If s[0..n) is a torrc line setting a secret option, append it with the
 * value scrubbed to b and return true. */
static bool
scrub_conf_line(obuf_t *b, const char *s, size_t n)
{
	size_t k = skip_space(s, 0, n);

	for (size_t c = 0; c < ARRAY_LEN(conf_secrets); c++) {
		size_t klen = strlen(conf_secrets[c]), v;

		if (n - k <= klen || !tor_isspace(s[k + klen]) ||
		    !strn_case_eq(s + k, klen, conf_secrets[c]))
			continue;
		v = skip_space(s, k + klen, n);
		ob_add(b, s, v);
		if (v < n)
			ob_add(b, SCRUBBED, strlen(SCRUBBED));
		return true;
	}
	return false;
}

/* Append s[0..n) to b with every marked secret replaced by SCRUBBED. */
static void
scrub_markers(obuf_t *b, const char *s, size_t n)
{
	size_t i = 0, copied = 0;

	if (scrub_conf_line(b, s, n))
		return;
	while (i < n) {
		bool hit = false;

		for (size_t m = 0; m < ARRAY_LEN(markers); m++) {
			size_t mlen = strlen(markers[m].marker);
			size_t vs, ve;

			if (n - i < mlen ||
			    !strn_case_eq(s + i, mlen, markers[m].marker))
				continue;
			vs = i + mlen;
			if (markers[m].kind == SCRUB_VALUE)
				ve = value_end(s, vs, n);
			else
				ve = token_end(s, vs, n);
			if (markers[m].kind == SCRUB_KEY) {
				const char *colon = memchr(s + vs, ':', ve - vs);
				if (colon != NULL)
					vs = (size_t)(colon - s) + 1;
			}
			if (ve > vs) {
				ob_add(b, s + copied, vs - copied);
				ob_add(b, SCRUBBED, strlen(SCRUBBED));
				copied = ve;
			}
			i = ve > i ? ve : i + 1;
			hit = true;
			break;
		}
		if (!hit)
			i++;
	}
	ob_add(b, s + copied, n - copied);
}

/* Find the command for keyword kw[0..len): as tor would, else ignoring a
 * '+' that the command does not take, so that a misframed secret command
 * is still recognised. NULL when unknown. */
static const cmd_def_t *
lookup_keyword(const char *kw, size_t len)
{
	const cmd_def_t *def;
	char name[64];

	/* The table lookup compares C strings: never give it a NUL. */
	if (len == 0 || memchr(kw, '\0', len) != NULL)
		return NULL;
	if ((def = cmdtab_lookup(kw, len)) != NULL)
		return def;
	if (len >= sizeof(name))
		return NULL;
	memcpy(name, kw, len);
	name[len] = '\0';
	return cmdtab_lookup_name(name);
}

/*
 * How much of a secret-bearing command's arguments the debug log may show,
 * one row per command; commands without a row are scrubbed by markers
 * only (ADD_ONION's key blob, for one).
 */
typedef enum {
	REDACT_MARKERS = 0,     /* only the secret-looking tokens */
	REDACT_ALL,             /* every argument */
	REDACT_FIRST_IF_METHOD, /* all but a first argument "SAFECOOKIE" */
	REDACT_BUT_FIRST,       /* all but the first argument */
} redact_how_t;

static const redact_how_t redact_how[CMD_COUNT] = {
	[CMD_AUTHCHALLENGE] = REDACT_FIRST_IF_METHOD,
	[CMD_AUTHENTICATE] = REDACT_ALL,
	[CMD_ONION_CLIENT_AUTH_ADD] = REDACT_BUT_FIRST,
};

char *
redact_command(const char *line, size_t len)
{
	const cmd_def_t *def;
	redact_how_t how;
	obuf_t b;
	size_t kwlen, keep, a;

	ob_init(&b, len);
	kwlen = token_end(line, 0, len);
	def = lookup_keyword(line, kwlen);
	how = def != NULL && (def->flags & CMD_F_SECRET) ?
	    redact_how[def->id] : REDACT_MARKERS;
	if (how == REDACT_MARKERS) {
		scrub_markers(&b, line, len);
		return b.p;
	}

	/* Keep the keyword and, where harmless, the first argument. */
	keep = skip_space(line, kwlen, len);
	a = token_end(line, keep, len);
	if ((how == REDACT_FIRST_IF_METHOD &&
	    strn_case_eq(line + keep, a - keep, "SAFECOOKIE")) ||
	    (how == REDACT_BUT_FIRST && a > keep))
		keep = skip_space(line, a, len);
	/* The kept part goes through the markers too: a client that sends
	 * "ONION_CLIENT_AUTH_ADD x25519:<key>" must not leak its key. */
	scrub_markers(&b, line, keep);
	if (keep < len)
		ob_add(&b, SCRUBBED, strlen(SCRUBBED));
	return b.p;
}

char *
redact_reply(const char *line, size_t len)
{
	obuf_t b;

	ob_init(&b, len);
	scrub_markers(&b, line, len);
	return b.p;
}
