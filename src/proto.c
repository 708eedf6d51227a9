/*
 * proto.c: incremental control-protocol framing. See proto.h.
 *
 * The client reader keeps its resume state (which part of a command it is
 * in, the body gathered so far) in proto_cmd_reader_t so that libevent can
 * hand it bytes in any split. Rejections consume the offending bytes, or
 * switch to a skipping state that discards up to the end of the line or
 * body, so that the caller can answer an error and go on with the next
 * command exactly where tor would.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto.h"
#include "util.h"

const char *
proto_err_str(proto_err_t err)
{
	switch (err) {
	case PROTO_OK:
		return "no error";
	case PROTO_ERR_LINE_TOO_LONG:
		return "Line too long";
	case PROTO_ERR_BODY_TOO_LONG:
		return "Multi-line command too long";
	case PROTO_ERR_NUL:
		return "NUL byte in command";
	case PROTO_ERR_BARE_CR:
		return "Bare CR in command";
	case PROTO_ERR_BAD_REPLY:
		return "Malformed reply line";
	}
	return "unknown error";
}

void
proto_cmd_reader_init(proto_cmd_reader_t *r, size_t max_line, size_t max_body)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
	r->max_body = max_body;
	r->state = PCR_LINE;
}

void
proto_cmd_reader_clear(proto_cmd_reader_t *r)
{
	proto_cmd_clear(&r->cur);
	if (r->body != NULL)
		evbuffer_free(r->body);
	r->body = NULL;
	r->state = PCR_LINE;
}

void
proto_cmd_clear(proto_cmd_t *cmd)
{
	free(cmd->line);
	free(cmd->body);
	memset(cmd, 0, sizeof(*cmd));
}

void
proto_split_command(const char *line, size_t len, const char **kw,
    size_t *kwlen, const char **args, size_t *argslen)
{
	bool multiline = len > 0 && line[0] == '+';
	size_t i = 0;

	while (i < len && !tor_isspace(line[i]))
		i++;
	*kw = line;
	*kwlen = i;
	if (multiline) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
	} else {
		while (i < len && tor_isspace(line[i]))
			i++;
	}
	*args = line + i;
	*argslen = len - i;
}

/* Fill cmd from a first line of len bytes (no EOL). */
static void
cmd_set_line(proto_cmd_t *cmd, const char *line, size_t len)
{
	cmd->line = xmemdup_nul(line, len);
	cmd->line_len = len;
	cmd->multiline = len > 0 && line[0] == '+';
	proto_split_command(cmd->line, len, &cmd->keyword, &cmd->keyword_len,
	    &cmd->args, &cmd->args_len);
}

/* Abandon the multi-line command being gathered and skip to its end. */
static void
abandon_body(proto_cmd_reader_t *r)
{
	proto_cmd_clear(&r->cur);
	if (r->body != NULL)
		evbuffer_drain(r->body, evbuffer_get_length(r->body));
	r->state = PCR_SKIP_BODY;
}

proto_status_t
proto_cmd_read(proto_cmd_reader_t *r, struct evbuffer *in, proto_cmd_t *out,
    proto_err_t *err)
{
	*err = PROTO_OK;
	for (;;) {
		struct evbuffer_ptr eol;
		size_t eol_len = 0, linelen, textlen, buffered;
		const char *line;

		buffered = evbuffer_get_length(in);
		if (buffered == 0)
			return PROTO_NEED_MORE;
		eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);

		if (r->state == PCR_SKIP_LINE) {
			if (eol.pos < 0) {
				evbuffer_drain(in, buffered);
				return PROTO_NEED_MORE;
			}
			evbuffer_drain(in, (size_t)eol.pos + 1);
			r->state = r->skip_body_after ? PCR_SKIP_BODY : PCR_LINE;
			r->skip_body_after = false;
			continue;
		}

		if (eol.pos < 0) {
			/* No complete line: bound what may be buffered. One
			 * byte of slack for the CR of a CRLF. */
			if (buffered <= r->max_line + 1)
				return PROTO_NEED_MORE;
			bool reported = r->state == PCR_SKIP_BODY;
			bool opens_body = r->state == PCR_LINE &&
			    *(const char *)evbuffer_pullup(in, 1) == '+' &&
			    !r->no_multiline;
			evbuffer_drain(in, buffered);
			if (r->state == PCR_BODY)
				abandon_body(r);
			r->skip_body_after = r->state != PCR_LINE || opens_body;
			r->state = PCR_SKIP_LINE;
			if (reported)
				return PROTO_NEED_MORE;
			*err = PROTO_ERR_LINE_TOO_LONG;
			return PROTO_REJECT;
		}

		linelen = (size_t)eol.pos;
		line = (const char *)evbuffer_pullup(in, (ssize_t)linelen + 1);
		textlen = linelen;
		if (textlen > 0 && line[textlen - 1] == '\r')
			textlen--;

		if (r->state == PCR_SKIP_BODY) {
			bool end = textlen == 1 && line[0] == '.';
			evbuffer_drain(in, linelen + 1);
			if (end)
				r->state = PCR_LINE;
			continue;
		}

		if (textlen > r->max_line)
			*err = PROTO_ERR_LINE_TOO_LONG;
		else if (memchr(line, '\0', textlen) != NULL)
			*err = PROTO_ERR_NUL;
		else if (memchr(line, '\r', textlen) != NULL)
			*err = PROTO_ERR_BARE_CR;
		if (*err != PROTO_OK) {
			bool opens_body = r->state == PCR_LINE &&
			    textlen > 0 && line[0] == '+' && !r->no_multiline;
			evbuffer_drain(in, linelen + 1);
			if (r->state == PCR_BODY || opens_body)
				abandon_body(r);
			return PROTO_REJECT;
		}

		if (r->state == PCR_LINE) {
			if (textlen > 0 && line[0] == '+' && !r->no_multiline) {
				cmd_set_line(&r->cur, line, textlen);
				evbuffer_drain(in, linelen + 1);
				if (r->body == NULL)
					r->body = evbuffer_new();
				if (r->body == NULL)
					abort();
				r->state = PCR_BODY;
				continue;
			}
			memset(out, 0, sizeof(*out));
			cmd_set_line(out, line, textlen);
			evbuffer_drain(in, linelen + 1);
			return PROTO_COMPLETE;
		}

		/* PCR_BODY */
		if (textlen == 1 && line[0] == '.') {
			size_t n = evbuffer_get_length(r->body);
			evbuffer_drain(in, linelen + 1);
			*out = r->cur;
			memset(&r->cur, 0, sizeof(r->cur));
			out->body = xmalloc(n + 1);
			evbuffer_remove(r->body, out->body, n);
			out->body[n] = '\0';
			out->body_len = n;
			r->state = PCR_LINE;
			return PROTO_COMPLETE;
		}
		if (evbuffer_get_length(r->body) + textlen + 2 > r->max_body) {
			evbuffer_drain(in, linelen + 1);
			abandon_body(r);
			*err = PROTO_ERR_BODY_TOO_LONG;
			return PROTO_REJECT;
		}
		evbuffer_add(r->body, line, textlen);
		evbuffer_add(r->body, "\r\n", 2);
		evbuffer_drain(in, linelen + 1);
	}
}

void
proto_reply_reader_init(proto_reply_reader_t *r, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

proto_status_t
proto_reply_peek(proto_reply_reader_t *r, struct evbuffer *in,
    proto_reply_line_t *out, proto_err_t *err)
{
	return proto_reply_peek_at(r, in, 0, out, err);
}

proto_status_t
proto_reply_peek_at(proto_reply_reader_t *r, struct evbuffer *in, size_t off,
    proto_reply_line_t *out, proto_err_t *err)
{
	struct evbuffer_ptr start, eol;
	size_t eol_len = 0, linelen, textlen, buffered, n;
	char line[4], last = 0;

	*err = PROTO_OK;
	memset(out, 0, sizeof(*out));
	buffered = evbuffer_get_length(in);
	if (buffered <= off)
		return PROTO_NEED_MORE;
	if (evbuffer_ptr_set(in, &start, off, EVBUFFER_PTR_SET) < 0)
		return PROTO_NEED_MORE;
	eol = evbuffer_search_eol(in, &start, &eol_len, EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		if (buffered - off <= r->max_line + 1)
			return PROTO_NEED_MORE;
		*err = PROTO_ERR_LINE_TOO_LONG;
		return PROTO_REJECT;
	}
	linelen = (size_t)eol.pos - off;
	if (linelen > r->max_line + 1) {
		*err = PROTO_ERR_LINE_TOO_LONG;
		return PROTO_REJECT;
	}
	/* Only the first four bytes and the one before the LF matter: copy
	 * those instead of making the line contiguous. */
	n = linelen < sizeof(line) ? linelen : sizeof(line);
	if (n > 0 && evbuffer_copyout_from(in, &start, line, n) < 0)
		return PROTO_NEED_MORE;
	if (linelen > 0) {
		if (linelen <= n) {
			last = line[linelen - 1];
		} else {
			struct evbuffer_ptr lp;
			if (evbuffer_ptr_set(in, &lp, (size_t)eol.pos - 1,
			    EVBUFFER_PTR_SET) < 0 ||
			    evbuffer_copyout_from(in, &lp, &last, 1) < 0)
				return PROTO_NEED_MORE;
		}
	}
	textlen = linelen;
	if (textlen > 0 && last == '\r')
		textlen--;
	out->len = linelen + 1;
	out->text_len = textlen;

	if (r->in_data) {
		out->is_data = true;
		out->code = r->code;
		out->is_event = r->code / 100 == 6;
		if (textlen == 1 && line[0] == '.')
			r->in_data = false;
		return PROTO_COMPLETE;
	}
	if (textlen < 4 || !is_digit(line[0]) || !is_digit(line[1]) ||
	    !is_digit(line[2]) ||
	    (line[3] != ' ' && line[3] != '-' && line[3] != '+')) {
		*err = PROTO_ERR_BAD_REPLY;
		return PROTO_REJECT;
	}
	out->sep = line[3];
	if (!r->in_msg) {
		r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		r->in_msg = true;
		out->starts_msg = true;
	}
	out->code = r->code;
	out->is_event = r->code / 100 == 6;
	if (out->sep == '+')
		r->in_data = true;
	else if (out->sep == ' ') {
		out->ends_msg = true;
		r->in_msg = false;
	}
	return PROTO_COMPLETE;
}
