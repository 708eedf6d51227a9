/*
 * rewrite.h: rewriting what tor sends before the client sees it: reply
 * lines under the matching command rule's `response` rules, events under
 * the profile's event rules, and GETINFO circuit-status / stream-status
 * cut to a restricted client's own circuits and streams. Works on lines
 * framed by proto.c; no I/O.
 *
 * A rewritten line keeps its framing: a status line keeps its code and
 * separator, a data line never becomes the end-of-data ".".
 */
#ifndef TORGATE_REWRITE_H
#define TORGATE_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"
#include "profile.h"
#include "proto.h"
#include "template.h"

struct evbuffer;

/* Rewrite a reply line (text, len: without EOL) with the first matching
 * response rule of rule, then of each per-key rule in more (every one: a
 * multi-key read may carry many). New string (length in *nlen), or NULL
 * if no rule matched. */
char *rewrite_reply_line(const cmd_rule_t *rule,
    const cmd_rule_t *const *more, size_t n_more, const char *text,
    size_t len, const template_vars_t *vars, size_t *nlen);

/* Append the rewritten line n[0..nlen) of line (orig: its text) to out,
 * framed as line was, with CRLF. */
void rewrite_add_framed(struct evbuffer *out, const proto_reply_line_t *line,
    const char *orig, const char *n, size_t nlen);

/*
 * Rewrite the whole event in ev (drained) line by line under rule into
 * out. A line rewritten to nothing drops the whole event: return false
 * then (out untouched). id names the session in debug logs.
 */
bool rewrite_event(const event_rule_t *rule, struct evbuffer *ev,
    struct evbuffer *out, size_t max_line, const template_vars_t *vars,
    unsigned long long id);

/*
 * restrict-stream-events: is this line of a GETINFO circuit-status or
 * stream-status reply about one of o's own circuits or streams? *data_key
 * carries the state across the lines of a data block (0 at the start).
 * Return false to drop the line; *empty set: print just "KEY=" instead.
 */
bool rewrite_restrict_status(const owned_t *o, int *data_key,
    const proto_reply_line_t *line, const char *text, bool *empty);

#endif
