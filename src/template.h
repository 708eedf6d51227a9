/*
 * template.h: replacement templates (a safe subset of Python's str.format,
 * as onion-grater profiles use them) and reply-line rewriting.
 *
 * Template syntax:
 *   {}            the next capture group (automatic numbering: 1, 2, ...)
 *   {N}           capture group N+1 (Python passes match.groups(), so {0}
 *                 is the FIRST group)
 *   {name}        a named group (?P<name>...) of the pattern, or one of the
 *                 variables client-address, client-port, server-address,
 *                 server-port
 *   {{ and }}     literal braces
 * Mixing {} and {N} is an error (as in Python). Conversions and format
 * specs ({0!r}, {0:>4}), attribute/index access, unbalanced braces,
 * references past the pattern's groups, unknown names, and CR, LF or NUL
 * anywhere in the template are load-time errors. A group that did not take
 * part in the match expands to nothing (Python would print "None").
 */
#ifndef TORGATE_TEMPLATE_H
#define TORGATE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "regex.h"

typedef enum {
	TPL_VAR_CLIENT_ADDRESS = 0,
	TPL_VAR_CLIENT_PORT,
	TPL_VAR_SERVER_ADDRESS,
	TPL_VAR_SERVER_PORT,
	TPL_VAR_COUNT
} template_var_t;

typedef struct template template_t;

/* Values of the template variables for one client; NULL expands to "". */
typedef struct template_vars {
	const char *v[TPL_VAR_COUNT];
} template_vars_t;

/*
 * Compile the template src[0..len) for use with matches of re (re may be
 * NULL: then only variables and literals are allowed). On error return
 * NULL, write a message into errbuf and the byte offset into *erroff.
 */
template_t *template_compile(const char *src, size_t len, const tg_regex_t *re,
    char *errbuf, size_t errlen, size_t *erroff);
void template_free(template_t *t);
/* The template source, as given. */
const char *template_source(const template_t *t);

/* Expand t for match m (may be NULL if t uses no groups) and vars (may be
 * NULL). Return a new NUL-terminated string; its length in *lenp. */
char *template_expand(const template_t *t, const regex_match_t *m,
    const template_vars_t *vars, size_t *lenp);

#endif
