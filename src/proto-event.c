/*
 * Frames out of a libevent buffer, for the two event loops (the broker's
 * and the session's). The codec itself is in proto.c, free of libevent.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/buffer.h>

#include "dungeongate.h"
#include "proto.h"

/*
 * Take the next whole frame from a buffer. Returns 1 with a message, 2
 * with a stream frame's offset and bytes copied into st (only when st is
 * not NULL: else a stream frame is a bad frame), 0 when more bytes are
 * needed, -1 for a bad frame header and -2 for a message that does not
 * parse or check; both with *cause. A bad message's bytes are consumed,
 * a bad header's are not.
 */
int
proto_next(struct evbuffer *in, size_t max, enum proto_dir dir,
    json_t **msg, enum proto_msg *type, struct proto_stream *st,
    char **cause)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE + PROTO_STREAM_HEADER], ftype;
	uint32_t	 len;
	const char	*why;
	u_char		*frame;
	int		 rc;

	if (evbuffer_get_length(in) < PROTO_HEADER_SIZE)
		return 0;
	evbuffer_copyout(in, hdr, PROTO_HEADER_SIZE);
	if (proto_header_decode(hdr, max, &ftype, &len, &why) != 0) {
		if (len > max && ftype == PROTO_FRAME_JSON)
			xasprintf(cause, "bad frame: %s (%u bytes; at most %zu)",
			    why, len, max);
		else
			xasprintf(cause, "bad frame: %s", why);
		return -1;
	}
	if (ftype == PROTO_FRAME_STREAM && st == NULL) {
		xasprintf(cause, "bad frame: stream frame not expected");
		return -1;
	}
	if (evbuffer_get_length(in) < PROTO_HEADER_SIZE + (size_t)len)
		return 0;
	if (ftype == PROTO_FRAME_STREAM) {
		evbuffer_remove(in, hdr, sizeof hdr);
		st->offset = proto_stream_offset(hdr + PROTO_HEADER_SIZE);
		st->len = len - PROTO_STREAM_HEADER;
		evbuffer_remove(in, st->data, st->len);
		return 2;
	}
	frame = evbuffer_pullup(in, PROTO_HEADER_SIZE + (ssize_t)len);
	rc = proto_parse(frame + PROTO_HEADER_SIZE, len, dir, msg, type,
	    cause);
	evbuffer_drain(in, PROTO_HEADER_SIZE + (size_t)len);
	return rc == 0 ? 1 : -2;
}

/* Append stream frames carrying len bytes from offset on. */
void
proto_add_stream(struct evbuffer *out, uint64_t offset, const void *buf,
    size_t len)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE + PROTO_STREAM_HEADER];
	const u_char	*p = buf;
	size_t		 n;

	while (len > 0) {
		n = len < PROTO_STREAM_DATA ? len : PROTO_STREAM_DATA;
		proto_stream_encode(hdr, offset, n);
		evbuffer_add(out, hdr, sizeof hdr);
		evbuffer_add(out, p, n);
		p += n;
		len -= n;
		offset += n;
	}
}
