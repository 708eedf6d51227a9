/*
 * fuzz_proto_cmd.c: the client-side command reader. The first byte picks
 * the feeding pattern (chunk size) and whether '+' lines are refused; the
 * rest is the stream. Invariants checked: buffered input never exceeds
 * max_line plus one chunk, commands have consistent lengths, and the
 * reader always makes progress.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proto.h"

#define MAX_LINE 64
#define MAX_BODY 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proto_cmd_reader_t r;
	struct evbuffer *buf;
	size_t chunk, pos = 0;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x3f) + 1;
	buf = evbuffer_new();
	proto_cmd_reader_init(&r, MAX_LINE, MAX_BODY);
	r.no_multiline = (data[0] & 0x40) != 0;
	data++;
	size--;
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		evbuffer_add(buf, data + pos, n);
		pos += n;
		for (;;) {
			proto_cmd_t cmd;
			proto_err_t err;
			size_t before = evbuffer_get_length(buf);
			proto_status_t st = proto_cmd_read(&r, buf, &cmd, &err);
			if (st == PROTO_NEED_MORE)
				break;
			if (st == PROTO_COMPLETE) {
				if (strlen(cmd.line) != cmd.line_len ||
				    cmd.keyword + cmd.keyword_len > cmd.args ||
				    cmd.args + cmd.args_len !=
				    cmd.line + cmd.line_len ||
				    cmd.line_len > MAX_LINE ||
				    (cmd.body && cmd.body_len > MAX_BODY))
					abort();
				proto_cmd_clear(&cmd);
			}
			if (evbuffer_get_length(buf) == before &&
			    st != PROTO_COMPLETE)
				abort();  /* a reject must consume input */
		}
		if (evbuffer_get_length(buf) > MAX_LINE + 1 + chunk)
			abort();
	}
	proto_cmd_reader_clear(&r);
	evbuffer_free(buf);
	return 0;
}
