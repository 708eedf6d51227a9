/*
 * fuzz_proto_reply.c: the tor-side reply reader, fed in chunks picked by
 * the first byte, whose bit 0x40 also chooses between consuming each line
 * and peeking further in without consuming (as session.c relays runs of
 * lines). Checks that each classified line lies within the buffer and
 * that the reader never asks to consume more than is there.
 */
#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "proto.h"

#define MAX_LINE 128

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	proto_reply_reader_t r;
	struct evbuffer *buf;
	size_t chunk, pos = 0, off = 0;
	int in_place;

	if (size < 1)
		return 0;
	chunk = (data[0] & 0x3f) + 1;
	in_place = data[0] & 0x40;
	data++;
	size--;
	buf = evbuffer_new();
	proto_reply_reader_init(&r, MAX_LINE);
	while (pos < size) {
		size_t n = size - pos < chunk ? size - pos : chunk;
		evbuffer_add(buf, data + pos, n);
		pos += n;
		for (;;) {
			proto_reply_line_t l;
			proto_err_t err;
			proto_status_t st = proto_reply_peek_at(&r, buf, off, &l,
			    &err);
			if (st == PROTO_NEED_MORE)
				break;
			if (st == PROTO_REJECT)
				goto done;
			if (l.len == 0 || off + l.len > evbuffer_get_length(buf) ||
			    l.text_len >= l.len)
				abort();
			if (in_place)
				off += l.len;
			else
				evbuffer_drain(buf, l.len);
		}
	}
done:
	evbuffer_free(buf);
	return 0;
}
