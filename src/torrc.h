/*
 * torrc.h: tor's configuration grammar, read the way tor reads it, so that
 * the guard judges exactly the options tor will set. No I/O.
 *
 * - torrc_from_cmddata() undoes the control protocol's escaping of a
 *   LOADCONF body as tor does (a '.' at the start of any line is dropped,
 *   CRLF becomes LF).
 * - torrc_parse() splits a configuration text into KEY VALUE lines with
 *   tor's torrc rules: blank lines and '#' comments skipped, the key ends
 *   at whitespace, '#' or a backslash-newline, a value in double quotes is
 *   C-unescaped and must be followed only by blanks or a comment, an
 *   unquoted value ends at '#' or a newline unless a backslash-newline
 *   continues it (then comment lines inside it vanish too), trailing
 *   whitespace dropped. "+KEY" (append) and "/KEY" (clear) are kept as
 *   they are marked. Anything tor would refuse to parse, and a NUL
 *   anywhere, is an error.
 * - torrc_option() resolves an option name as tor does: its table of
 *   aliases (option_abbrevs_), then a case-insensitive exact match, then
 *   the deprecated unique-prefix match, and says whether the name is (or
 *   may be, by prefix) one the guard must look at.
 */
#ifndef TORGATE_TORRC_H
#define TORGATE_TORRC_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	TORRC_SET = 0,      /* KEY VALUE */
	TORRC_APPEND,       /* +KEY VALUE */
	TORRC_CLEAR,        /* /KEY (value ignored by tor) */
} torrc_cmd_t;

typedef struct torrc_line {
	char *key;          /* without the '+' or '/' */
	char *value;        /* decoded; "" for none */
	torrc_cmd_t cmd;
	unsigned lineno;    /* 1-based line the key is on */
} torrc_line_t;

typedef struct torrc {
	torrc_line_t *v;
	size_t n;
} torrc_t;

/* Return body[0..len) (LOADCONF data lines, dot-escaped, CRLF-terminated)
 * as tor decodes it: a new NUL-terminated string, its length in *outlen. */
char *torrc_from_cmddata(const char *body, size_t len, size_t *outlen);

/* Parse text[0..len) into *out. 0, or -1 with the reason (and line) in
 * err; *out is then empty. */
int torrc_parse(const char *text, size_t len, torrc_t *out, char *err,
    size_t errlen);
void torrc_clear(torrc_t *t);

typedef enum {
	TORRC_OPT_OTHER = 0,    /* an option the guard lets profiles judge */
	TORRC_OPT_HS_PORT,      /* HiddenServicePort: every target checked */
	TORRC_OPT_GUARDED,      /* opens a listener, changes control
	                         * authentication, runs a program or writes
	                         * an onion service: profile must list it */
	TORRC_OPT_PREFIX,       /* not an exact name, but tor's prefix
	                         * match may take it for a guarded option */
	TORRC_OPT_BAD,          /* empty, or a '%' directive (%include) */
} torrc_opt_t;

/* Classify option name key. *canon (if not NULL) gets the name tor will
 * use: the guarded option's own spelling for HS_PORT, GUARDED and PREFIX
 * (for PREFIX, the first guarded option it could mean), otherwise the
 * alias-expanded key (which may be key itself). */
torrc_opt_t torrc_option(const char *key, const char **canon);

/* Would tor take option names a and b for the same option? (Case and
 * aliases; a prefix never counts as the same.) */
bool torrc_same_option(const char *a, const char *b);

/* The i-th option the guard looks at, in tor's spelling, and its class
 * (TORRC_OPT_HS_PORT or TORRC_OPT_GUARDED) in *kind; NULL past the last.
 * LOADCONF resets every option its body leaves out, so the guard must
 * know them all. */
const char *torrc_guarded(size_t i, torrc_opt_t *kind);

#endif
