/*
 * proto.h: incremental framing of Tor's control protocol (control-spec
 * section 2), in both directions. Knows nothing of sessions or policy.
 *
 * Client -> tor: proto_cmd_read() takes one whole command out of an
 * evbuffer: a single line "KEYWORD args", or a multi-line command
 * "+KEYWORD args" followed by data lines up to a lone ".". CRLF and bare
 * LF end a line; the command is always re-emitted with CRLF. The keyword
 * and argument split follows tor's control_split_incoming_command().
 *
 * Tor -> client: proto_reply_peek() classifies the next line of a reply or
 * asynchronous event without consuming it, so the caller can move the
 * bytes on unchanged or rewrite them.
 *
 * Both readers return PROTO_COMPLETE, PROTO_NEED_MORE or PROTO_REJECT with
 * a proto_err_t. Limits are checked on buffered bytes before a line is
 * extracted, so no peer can grow memory past them.
 */
#ifndef TORGATE_PROTO_H
#define TORGATE_PROTO_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;

typedef enum {
	PROTO_REJECT = -1,
	PROTO_NEED_MORE = 0,
	PROTO_COMPLETE = 1,
} proto_status_t;

typedef enum {
	PROTO_OK = 0,
	PROTO_ERR_LINE_TOO_LONG,  /* a line over max_line; skipped to its end */
	PROTO_ERR_BODY_TOO_LONG,  /* a multi-line body over max_body; skipped */
	PROTO_ERR_NUL,            /* a NUL byte in a line; the command dropped */
	PROTO_ERR_BARE_CR,        /* a CR not followed by LF; command dropped */
	PROTO_ERR_BAD_REPLY,      /* tor sent a line that is not a reply line */
} proto_err_t;

/* Return a short fixed description of err, fit for a reply and a log. */
const char *proto_err_str(proto_err_t err);

/* One client command. Every pointer is owned by the command and valid
 * until proto_cmd_clear(). */
typedef struct proto_cmd {
	char *line;          /* first line without EOL, NUL-terminated */
	size_t line_len;
	const char *keyword; /* into line; includes a leading '+' if any */
	size_t keyword_len;
	const char *args;    /* into line, after the separating whitespace */
	size_t args_len;
	bool multiline;      /* line started with '+' */
	char *body;          /* multi-line only: data lines as sent (dot-
	                      * escaped), each ending in CRLF, without the
	                      * final ".", NUL-terminated; NULL otherwise */
	size_t body_len;
} proto_cmd_t;

typedef enum {
	PCR_LINE = 0,   /* expecting the first line of a command */
	PCR_BODY,       /* inside a multi-line body */
	PCR_SKIP_LINE,  /* discarding the rest of an over-long line */
	PCR_SKIP_BODY,  /* discarding the rest of a rejected body */
} proto_cmd_state_t;

/* Resume state of the client-side reader; lives in the session. */
typedef struct proto_cmd_reader {
	size_t max_line;         /* longest line, without its EOL */
	size_t max_body;         /* largest multi-line body in bytes */
	bool no_multiline;       /* return '+' lines at once, without body
	                          * (before authentication) */
	proto_cmd_state_t state;
	proto_cmd_t cur;         /* multi-line command being gathered */
	struct evbuffer *body;   /* its body so far */
	bool skip_body_after;    /* an over-long line inside a body */
} proto_cmd_reader_t;

/* Initialise r with the given limits. */
void proto_cmd_reader_init(proto_cmd_reader_t *r, size_t max_line,
    size_t max_body);
/* Release what r holds; r may be reused after proto_cmd_reader_init(). */
void proto_cmd_reader_clear(proto_cmd_reader_t *r);

/*
 * Take the next command out of in.
 * PROTO_COMPLETE: *out holds it (clear it with proto_cmd_clear()).
 * PROTO_NEED_MORE: everything usable was consumed; call again with more.
 * PROTO_REJECT: *err says why. The offending bytes are consumed or will be
 *   skipped by later calls, so the stream resynchronises at the next
 *   command; the caller answers with an error and may carry on.
 */
proto_status_t proto_cmd_read(proto_cmd_reader_t *r, struct evbuffer *in,
    proto_cmd_t *out, proto_err_t *err);

/* Free what cmd owns and zero it. */
void proto_cmd_clear(proto_cmd_t *cmd);

/* Split a command line as tor does: the keyword ends at the first
 * whitespace; the arguments start after all whitespace that follows
 * (horizontal whitespace only for a multi-line command). */
void proto_split_command(const char *line, size_t len, const char **kw,
    size_t *kwlen, const char **args, size_t *argslen);

/* One line of a reply or event, as classified by proto_reply_peek(). */
typedef struct proto_reply_line {
	size_t len;        /* bytes in the buffer, including the EOL */
	size_t text_len;   /* without the EOL */
	int code;          /* status code of the message this line is in */
	char sep;          /* '-', '+' or ' ' for status lines; 0 for data */
	bool is_data;      /* a data line or the "." that ends a data block */
	bool is_event;     /* the message is an asynchronous event (6xx) */
	bool starts_msg;   /* first line of a reply or event */
	bool ends_msg;     /* last line of a reply or event */
} proto_reply_line_t;

typedef struct proto_reply_reader {
	size_t max_line;
	bool in_msg;       /* inside a message that has not ended */
	bool in_data;      /* inside a data block */
	int code;
} proto_reply_reader_t;

void proto_reply_reader_init(proto_reply_reader_t *r, size_t max_line);

/*
 * Classify the next line in in without consuming it; the caller then
 * removes exactly out->len bytes (forwarding or rewriting them) before
 * calling again. The reader's state is advanced past the line.
 */
proto_status_t proto_reply_peek(proto_reply_reader_t *r, struct evbuffer *in,
    proto_reply_line_t *out, proto_err_t *err);

/* The same for the line that starts off bytes into in (the caller has
 * classified the lines before it and not yet removed them), so that runs
 * of lines passed on unchanged can be moved in one go. */
proto_status_t proto_reply_peek_at(proto_reply_reader_t *r,
    struct evbuffer *in, size_t off, proto_reply_line_t *out,
    proto_err_t *err);

#endif
