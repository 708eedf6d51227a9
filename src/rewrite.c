/*
 * rewrite.c: see rewrite.h.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "log.h"
#include "policy.h"
#include "redact.h"
#include "rewrite.h"
#include "util.h"

char *
rewrite_reply_line(const cmd_rule_t *rule, const cmd_rule_t *const *more,
    size_t n_more, const char *text, size_t len, const template_vars_t *vars,
    size_t *nlen)
{
	char *r = NULL;

	if (rule != NULL)
		r = policy_rewrite_line(&rule->response, text, len, vars, nlen);
	for (size_t i = 0; r == NULL && i < n_more; i++)
		r = policy_rewrite_line(&more[i]->response, text, len, vars,
		    nlen);
	return r;
}

void
rewrite_add_framed(struct evbuffer *out, const proto_reply_line_t *line,
    const char *orig, const char *n, size_t nlen)
{
	if (!line->is_data && (nlen < 4 || memcmp(n, orig, 4) != 0)) {
		evbuffer_add(out, orig, 4);
		if (nlen >= 4 && n[0] >= '0' && n[0] <= '9')
			evbuffer_add(out, n + 4, nlen - 4);
		else
			evbuffer_add(out, n, nlen);
	} else if (line->is_data && nlen > 0 && n[0] == '.') {
		evbuffer_add(out, ".", 1);
		evbuffer_add(out, n, nlen);
	} else {
		evbuffer_add(out, n, nlen);
	}
	evbuffer_add(out, "\r\n", 2);
}

static void
log_rewrite(unsigned long long id, const char *n, size_t nlen)
{
	char *r;

	if (!log_is_debug())
		return;
	r = redact_reply(n, nlen);
	log_debug("session %llu: event line rewritten to: %s", id, r);
	free(r);
}

bool
rewrite_event(const event_rule_t *rule, struct evbuffer *ev,
    struct evbuffer *out, size_t max_line, const template_vars_t *vars,
    unsigned long long id)
{
	struct evbuffer *rewritten = evbuffer_new();
	proto_reply_reader_t rr;
	bool delivered = false;

	if (rewritten == NULL)
		abort();
	proto_reply_reader_init(&rr, max_line);
	for (;;) {
		proto_reply_line_t line;
		proto_err_t err;
		const char *text;
		size_t nlen;
		char *n;
		if (proto_reply_peek(&rr, ev, &line, &err) != PROTO_COMPLETE)
			break;
		text = (const char *)evbuffer_pullup(ev, (ssize_t)line.len);
		n = line.is_data && line.text_len == 1 && text[0] == '.' ?
		    NULL : policy_rewrite_line(&rule->response, text,
		    line.text_len, vars, &nlen);
		if (n == NULL) {
			evbuffer_remove_buffer(ev, rewritten, line.len);
			continue;
		}
		if (nlen == 0) {
			log_debug("session %llu: event %s dropped by a rewrite",
			    id, rule->name);
			free(n);
			goto done;
		}
		rewrite_add_framed(rewritten, &line, text, n, nlen);
		log_rewrite(id, n, nlen);
		memwipe(n, nlen);
		free(n);
		evbuffer_drain(ev, line.len);
	}
	evbuffer_add_buffer(out, rewritten);
	delivered = true;
done:
	evbuffer_free(rewritten);
	evbuffer_drain(ev, evbuffer_get_length(ev));
	return delivered;
}

static bool
parse_u64(const char *p, const char *end, uint64_t *v)
{
	uint64_t x = 0;

	if (p == end || *p < '0' || *p > '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9')
		x = x * 10 + (uint64_t)(*p++ - '0');
	*v = x;
	return p == end || *p == ' ';
}

bool
rewrite_restrict_status(const owned_t *o, int *data_key,
    const proto_reply_line_t *line, const char *text, bool *empty)
{
	static const char circ[] = "circuit-status=", strm[] = "stream-status=";
	const char *end = text + line->text_len;
	uint64_t id;
	int key = 0;
	const char *v = NULL;

	*empty = false;
	if (line->is_data) {
		if (line->text_len == 1 && text[0] == '.') {
			*data_key = 0;
			return true;
		}
		if (*data_key == 0)
			return true;
		v = text;
		key = *data_key;
	} else {
		*data_key = 0;
		if (line->text_len >= 4 + sizeof(circ) - 1 &&
		    memcmp(text + 4, circ, sizeof(circ) - 1) == 0) {
			key = 1;
			v = text + 4 + sizeof(circ) - 1;
		} else if (line->text_len >= 4 + sizeof(strm) - 1 &&
		    memcmp(text + 4, strm, sizeof(strm) - 1) == 0) {
			key = 2;
			v = text + 4 + sizeof(strm) - 1;
		} else {
			return true;
		}
		if (line->sep == '+') {
			*data_key = key;
			return true;
		}
		if (v == end)
			return true;
	}
	if (parse_u64(v, end, &id) &&
	    (key == 1 ? owned_has_circ(o, id) : owned_has_stream(o, id)))
		return true;
	if (line->is_data)
		return false;
	*empty = true;
	return true;
}
