/*
 * Fuzz message validation: one frame's payload, the JSON object, given
 * straight to proto_parse. A message that passes has a known type for
 * its direction, and packs and parses again to the same message.
 *
 * The first byte's bit 0 chooses the direction; the rest is the payload.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "dungeongate.h"
#include "proto.h"
#include "fuzz.h"

/* One frame's payload, in one direction. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const json_t	*t;
	json_t		*msg, *again;
	enum proto_dir	 dir;
	enum proto_msg	 type, type2;
	uint8_t		*frame;
	char		*cause = NULL;
	size_t		 flen;

	if (size < 1)
		return 0;
	dir = (data[0] & 1) ? PROTO_FROM_BROKER : PROTO_TO_BROKER;
	if (proto_parse(data + 1, size - 1, dir, &msg, &type, &cause) != 0) {
		FUZZ_CHECK(cause != NULL);
		free(cause);
		return 0;
	}
	FUZZ_CHECK(cause == NULL);
	FUZZ_CHECK(json_is_object(msg));
	t = json_object_get(msg, "type");
	FUZZ_CHECK(json_is_string(t));
	FUZZ_CHECK(strcmp(proto_msg_name(type), json_string_value(t)) == 0);
	/* The enum lists what goes to the broker, then what comes from it. */
	FUZZ_CHECK(dir == PROTO_TO_BROKER ? type < MSG_TICKET :
	    type >= MSG_TICKET);

	frame = proto_pack(msg, &flen);
	FUZZ_CHECK(frame != NULL && flen > PROTO_HEADER_SIZE);
	if (proto_parse(frame + PROTO_HEADER_SIZE, flen - PROTO_HEADER_SIZE,
	    dir, &again, &type2, &cause) != 0) {
		fprintf(stderr, "repacked message refused: %s\n", cause);
		FUZZ_CHECK(0);
	}
	FUZZ_CHECK(type2 == type);
	FUZZ_CHECK(json_equal(msg, again));
	json_decref(again);
	json_decref(msg);
	free(frame);
	return 0;
}
