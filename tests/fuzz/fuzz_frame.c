/*
 * Fuzz the frame decoder: bytes as they come off a socket, fed in pieces
 * to proto_next as the event loops do, frames and messages checked. A
 * message that passes must pack and parse again to the same message.
 *
 * The first byte chooses the direction (bit 0), a small or the real
 * frame bound (bit 1) and how many bytes arrive at a time (the rest).
 * Stream frames are taken going to the broker (as the broker does) and
 * refused coming from it (as the session does but for watching).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <event2/buffer.h>

#include "dungeongate.h"
#include "proto.h"
#include "fuzz.h"

/* A message that passed must survive a round trip unchanged. */
static void
fuzz_proto_again(const json_t *msg, enum proto_msg type, enum proto_dir dir)
{
	const json_t	*t;
	json_t		*again;
	enum proto_msg	 type2;
	uint8_t		*frame, ftype;
	uint32_t	 len;
	const char	*why;
	char		*cause = NULL;
	size_t		 flen;

	FUZZ_CHECK(json_is_object(msg));
	t = json_object_get(msg, "type");
	FUZZ_CHECK(json_is_string(t));
	FUZZ_CHECK(strcmp(proto_msg_name(type), json_string_value(t)) == 0);

	frame = proto_pack(msg, &flen);
	FUZZ_CHECK(frame != NULL);
	FUZZ_CHECK(flen > PROTO_HEADER_SIZE);
	FUZZ_CHECK(proto_header_decode(frame, PROTO_MAX_FROM_BROKER, &ftype,
	    &len, &why) == 0);
	FUZZ_CHECK(ftype == PROTO_FRAME_JSON);
	FUZZ_CHECK((size_t)len + PROTO_HEADER_SIZE == flen);
	if (proto_parse(frame + PROTO_HEADER_SIZE, len, dir, &again, &type2,
	    &cause) != 0) {
		fprintf(stderr, "repacked message refused: %s\n", cause);
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(type2 == type);
	FUZZ_CHECK(json_equal(msg, again));
	json_decref(again);
	free(frame);
}

/* A stream frame that passed must encode again to the same frame. */
static void
fuzz_stream_again(const struct proto_stream *st)
{
	static u_char		 data[PROTO_STREAM_DATA];
	struct proto_stream	 again = { 0, data, 0 };
	struct evbuffer		*out;
	json_t			*msg;
	enum proto_msg		 type;
	char			*cause = NULL;

	FUZZ_CHECK(st->len <= PROTO_STREAM_DATA);
	if ((out = evbuffer_new()) == NULL)
		abort();
	proto_add_stream(out, st->offset, st->data, st->len);
	if (st->len == 0) {
		/* Nothing to carry: no frame at all. */
		FUZZ_CHECK(evbuffer_get_length(out) == 0);
		evbuffer_free(out);
		return;
	}
	FUZZ_CHECK(proto_next(out, PROTO_MAX_TO_BROKER, PROTO_TO_BROKER, &msg,
	    &type, &again, &cause) == 2);
	FUZZ_CHECK(again.offset == st->offset && again.len == st->len);
	FUZZ_CHECK(memcmp(again.data, st->data, st->len) == 0);
	FUZZ_CHECK(evbuffer_get_length(out) == 0);
	evbuffer_free(out);
}

/* Take every whole message out of the buffer; 0, or -1 at a bad header. */
static int
fuzz_proto_drain(struct evbuffer *in, size_t max, enum proto_dir dir)
{
	static u_char		 data[PROTO_STREAM_DATA];
	struct proto_stream	 st = { 0, data, 0 };
	json_t			*msg;
	enum proto_msg		 type;
	char			*cause;
	size_t			 before;
	int			 rc;

	for (;;) {
		cause = NULL;
		before = evbuffer_get_length(in);
		rc = proto_next(in, max, dir, &msg, &type,
		    dir == PROTO_TO_BROKER ? &st : NULL, &cause);
		switch (rc) {
		case 0:
			FUZZ_CHECK(cause == NULL);
			FUZZ_CHECK(evbuffer_get_length(in) == before);
			return 0;
		case 1:
			FUZZ_CHECK(cause == NULL);
			FUZZ_CHECK(evbuffer_get_length(in) < before);
			fuzz_proto_again(msg, type, dir);
			json_decref(msg);
			break;
		case 2:
			FUZZ_CHECK(cause == NULL);
			FUZZ_CHECK(dir == PROTO_TO_BROKER);
			FUZZ_CHECK(evbuffer_get_length(in) < before);
			fuzz_stream_again(&st);
			break;
		case -2:
			/* A bad message is consumed; the peer is closed. */
			FUZZ_CHECK(cause != NULL);
			FUZZ_CHECK(evbuffer_get_length(in) < before);
			free(cause);
			return -1;
		case -1:
			/* A bad header is left where it is. */
			FUZZ_CHECK(cause != NULL);
			FUZZ_CHECK(evbuffer_get_length(in) == before);
			free(cause);
			return -1;
		default:
			FUZZ_CHECK(0);
		}
	}
}

/* One stream of bytes from a peer, fed in pieces. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer	*in;
	enum proto_dir	 dir;
	size_t		 max, step, off, n;

	if (size < 1)
		return 0;
	dir = (data[0] & 1) ? PROTO_FROM_BROKER : PROTO_TO_BROKER;
	max = (data[0] & 2) ? 64 : (dir == PROTO_TO_BROKER ?
	    PROTO_MAX_TO_BROKER : PROTO_MAX_FROM_BROKER);
	step = (data[0] >> 2) == 0 ? size : (size_t)(data[0] >> 2);
	data++;
	size--;

	if ((in = evbuffer_new()) == NULL)
		abort();
	for (off = 0; off < size; off += n) {
		n = size - off < step ? size - off : step;
		evbuffer_add(in, data + off, n);
		if (fuzz_proto_drain(in, max, dir) != 0)
			break;
	}
	evbuffer_free(in);
	return 0;
}
