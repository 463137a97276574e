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
 * Take the next whole message from a buffer. Returns 1 with a message,
 * 0 when more bytes are needed, -1 for a bad frame header and -2 for a
 * message that does not parse or check; both with *cause. A bad
 * message's bytes are consumed, a bad header's are not.
 */
int
proto_next(struct evbuffer *in, size_t max, enum proto_dir dir,
    json_t **msg, enum proto_msg *type, char **cause)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE], ftype;
	uint32_t	 len;
	const char	*why;
	u_char		*frame;
	int		 rc;

	if (evbuffer_get_length(in) < PROTO_HEADER_SIZE)
		return 0;
	evbuffer_copyout(in, hdr, sizeof hdr);
	if (proto_header_decode(hdr, max, &ftype, &len, &why) != 0) {
		if (len > max)
			xasprintf(cause, "bad frame: %s (%u bytes; at most %zu)",
			    why, len, max);
		else
			xasprintf(cause, "bad frame: %s", why);
		return -1;
	}
	if (evbuffer_get_length(in) < PROTO_HEADER_SIZE + (size_t)len)
		return 0;
	frame = evbuffer_pullup(in, PROTO_HEADER_SIZE + (ssize_t)len);
	rc = proto_parse(frame + PROTO_HEADER_SIZE, len, dir, msg, type,
	    cause);
	evbuffer_drain(in, PROTO_HEADER_SIZE + (size_t)len);
	return rc == 0 ? 1 : -2;
}
