/*
 * Unit tests for the wire protocol: the frame header codec, message
 * validation in both directions, and blocking reads and writes over a
 * socketpair.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"
#include "proto.h"

#include <event2/buffer.h>

/* One valid message of every type, as a peer would send it. */
struct sample {
	const char	*json;
	enum proto_dir	 dir;
	enum proto_msg	 msg;
	const char	*optional[16];	/* fields that may be left out */
};

static const struct sample samples[] = {
	{ "{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\","
	  "\"term\":\"xterm-256color\",\"cols\":80,\"rows\":24,"
	  "\"remote\":\"192.0.2.1 50000 203.0.113.5 22\","
	  "\"command\":\"play nethack\"}",
	  PROTO_TO_BROKER, MSG_HELLO,
	  { "term", "cols", "rows", "remote", "command", NULL } },
	{ "{\"type\":\"play\",\"game\":\"nethack\",\"cols\":80,\"rows\":24}",
	  PROTO_TO_BROKER, MSG_PLAY, { NULL } },
	{ "{\"type\":\"edit\",\"game\":\"nethack\",\"cols\":80,\"rows\":24}",
	  PROTO_TO_BROKER, MSG_EDIT, { NULL } },
	{ "{\"type\":\"game_end\",\"lease\":\"l-0123456789abcdef\","
	  "\"status\":0,\"signal\":0}",
	  PROTO_TO_BROKER, MSG_GAME_END, { "status", "signal", NULL } },
	{ "{\"type\":\"goodbye\"}", PROTO_TO_BROKER, MSG_GOODBYE, { NULL } },
	{ "{\"type\":\"check\"}", PROTO_TO_BROKER, MSG_CHECK, { NULL } },
	{ "{\"type\":\"status\"}", PROTO_TO_BROKER, MSG_STATUS, { NULL } },
	{ "{\"type\":\"reload\"}", PROTO_TO_BROKER, MSG_RELOAD, { NULL } },
	{ "{\"type\":\"ticket\",\"id\":\"t-0123456789abcdef\","
	  "\"user\":\"alice\",\"expires\":1700000000,\"idle_timeout\":1800,"
	  "\"online\":3,\"games\":[{\"id\":\"nethack\","
	  "\"name\":\"NetHack 3.6\",\"key\":\"p\"},{\"id\":\"crawl\","
	  "\"name\":\"Crawl\",\"key\":\"c\"}]}",
	  PROTO_FROM_BROKER, MSG_TICKET, { NULL } },
	{ "{\"type\":\"refused\",\"reason\":\"full\","
	  "\"message\":\"The server is full.\",\"retry_after\":30}",
	  PROTO_FROM_BROKER, MSG_REFUSED, { "retry_after", NULL } },
	{ "{\"type\":\"lease\",\"id\":\"l-0123456789abcdef\","
	  "\"game\":\"nethack\",\"name\":\"NetHack 3.6\","
	  "\"argv\":[\"/usr/games/nethack\",\"-u\",\"alice\"],"
	  "\"env\":[\"NETHACKOPTIONS=@/home/alice/.nethackrc\"],"
	  "\"home\":\"/home/alice\",\"rcfile\":\"/home/alice/.nethackrc\","
	  "\"rc_template\":\"/etc/dungeongate/nethackrc\","
	  "\"rc_max_size\":65536,"
	  "\"rlimits\":{\"core\":0,\"nofile\":1024,\"as\":67108864},"
	  "\"cpu_millicores\":500,\"started\":1700000000123}",
	  PROTO_FROM_BROKER, MSG_LEASE, { "rcfile", "rc_template",
	  "rc_max_size", "started", NULL } },
	{ "{\"type\":\"edit_lease\",\"id\":\"l-0123456789abcdef\","
	  "\"game\":\"nethack\",\"name\":\"NetHack 3.6\","
	  "\"argv\":[\"/usr/bin/rnano\",\"--restricted\",\"--\"],"
	  "\"home\":\"/home/alice\",\"rcfile\":\"/home/alice/.nethackrc\","
	  "\"rc_template\":\"/etc/dungeongate/nethackrc\","
	  "\"rc_max_size\":65536,"
	  "\"rlimits\":{\"core\":0,\"nofile\":1024,\"as\":33554432,"
	  "\"fsize\":65536},\"cpu_millicores\":500}",
	  PROTO_FROM_BROKER, MSG_EDIT_LEASE, { "rc_template", NULL } },
	{ "{\"type\":\"queued\",\"position\":3,\"eta\":40,"
	  "\"class\":\"normal\",\"online\":1000}",
	  PROTO_FROM_BROKER, MSG_QUEUED, { NULL } },
	{ "{\"type\":\"limits\",\"bandwidth\":10485760}",
	  PROTO_FROM_BROKER, MSG_LIMITS, { NULL } },
	{ "{\"type\":\"keepalive\",\"idle\":3,\"bytes_in\":10,"
	  "\"bytes_out\":2000,\"bandwidth_waits\":1,\"cpu_stops\":4,"
	  "\"cpu_mechanism\":\"duty_cycle\"}",
	  PROTO_TO_BROKER, MSG_KEEPALIVE, { "bytes_in", "bytes_out",
	  "bandwidth_waits", "cpu_stops", "cpu_mechanism", NULL } },
	{ "{\"type\":\"error\",\"reason\":\"bad_message\","
	  "\"message\":\"cols: missing\",\"retry_after\":5}",
	  PROTO_FROM_BROKER, MSG_ERROR, { "retry_after", NULL } },
	{ "{\"type\":\"health\",\"status\":\"healthy\",\"components\":"
	  "[{\"name\":\"broker\",\"status\":\"healthy\",\"detail\":\"\"},"
	  "{\"name\":\"workers\",\"status\":\"degraded\","
	  "\"detail\":\"queue nearly full\"}]}",
	  PROTO_FROM_BROKER, MSG_HEALTH, { NULL } },
	{ "{\"type\":\"status\",\"status\":{\"pool\":{\"used\":1,"
	  "\"max\":1000},\"sessions\":[]}}",
	  PROTO_FROM_BROKER, MSG_STATUS_REPLY, { NULL } },
	{ "{\"type\":\"reloaded\","
	  "\"config\":\"/etc/dungeongate/dungeongate.ini\"}",
	  PROTO_FROM_BROKER, MSG_RELOADED, { NULL } },
	{ "{\"type\":\"bye\",\"reason\":\"shutdown\","
	  "\"message\":\"The server is going down.\"}",
	  PROTO_FROM_BROKER, MSG_BYE, { NULL } },
	{ "{\"type\":\"rejoin\",\"version\":1,\"client\":\"session\","
	  "\"ticket\":\"t-0123456789abcdef\",\"lease\":\"l-0123456789abcdef\","
	  "\"game\":\"nethack\",\"editing\":0,\"pid\":4242,"
	  "\"started\":1700000000123,\"offset\":65536,\"cols\":80,"
	  "\"rows\":24,\"utf8\":1,\"idle\":3,\"bytes_in\":10,"
	  "\"bytes_out\":2000,\"term\":\"xterm\","
	  "\"remote\":\"192.0.2.1:50000\",\"command\":\"play nethack\"}",
	  PROTO_TO_BROKER, MSG_REJOIN,
	  { "lease", "game", "editing", "pid", "started", "offset", "utf8",
	  "idle", "bytes_in", "bytes_out", "term", "remote", "command",
	  NULL } },
	{ "{\"type\":\"rejoined\",\"ticket\":\"t-0123456789abcdef\","
	  "\"offset\":4096}",
	  PROTO_FROM_BROKER, MSG_REJOINED, { NULL } },
};

/* A direction, for messages. */
static const char *
dir_name(enum proto_dir dir)
{
	return dir == PROTO_TO_BROKER ? "to broker" : "from broker";
}

/*
 * Checks on parser verdicts count their failures instead of jumping out,
 * so every bad case is reported and nothing leaks; each test ends with
 * checks_done().
 */
static u_int	nfailed;

/* Start counting failed cases. */
static void
checks_start(void)
{
	nfailed = 0;
}

/* Fail the test if any case failed. */
static void
checks_done(void)
{
	if (nfailed != 0)
		fail_msg("%u case(s) failed", nfailed);
}

/* Parse text that must be accepted as message type want. */
static void
check_ok_len(const char *json, size_t len, enum proto_dir dir,
    enum proto_msg want)
{
	json_t		*msg = NULL;
	enum proto_msg	 type = (enum proto_msg)-1;
	char		*cause = NULL;

	if (proto_parse(json, len, dir, &msg, &type, &cause) != 0) {
		print_error("rejected (%s): %.*s\n  cause: %s\n", dir_name(dir),
		    (int)len, json, cause != NULL ? cause : "(none)");
		nfailed++;
	} else if (msg == NULL || !json_is_object(msg) || type != want) {
		print_error("accepted as type %d, expected %d: %.*s\n", type,
		    want, (int)len, json);
		nfailed++;
	}
	json_decref(msg);
	free(cause);
}

/* Text that must be accepted as message type want. */
static void
check_ok(const char *json, enum proto_dir dir, enum proto_msg want)
{
	check_ok_len(json, strlen(json), dir, want);
}

/* Parse bytes that must be rejected with a cause. */
static void
check_bad_len(const char *json, size_t len, enum proto_dir dir)
{
	json_t		*msg = NULL;
	enum proto_msg	 type;
	char		*cause = NULL;

	if (proto_parse(json, len, dir, &msg, &type, &cause) != -1) {
		print_error("accepted (%s): %.*s\n", dir_name(dir), (int)len,
		    json);
		nfailed++;
		json_decref(msg);
	} else if (msg != NULL) {
		print_error("rejected but returned a message: %.*s\n", (int)len,
		    json);
		nfailed++;
	} else if (cause == NULL || *cause == '\0') {
		print_error("rejected without a cause: %.*s\n", (int)len, json);
		nfailed++;
	}
	free(cause);
}

/* Text that must be rejected with a cause. */
static void
check_bad(const char *json, enum proto_dir dir)
{
	check_bad_len(json, strlen(json), dir);
}

/* Dump a message and check the parser's verdict on it. */
static void
check_tree(const json_t *root, enum proto_dir dir, int ok,
    enum proto_msg want)
{
	char	*s;

	s = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	assert_non_null(s);
	if (ok)
		check_ok(s, dir, want);
	else
		check_bad(s, dir);
	free(s);
}

/* Is key one of the sample's optional fields? */
static int
is_optional(const struct sample *sm, const char *key)
{
	u_int	 i;

	for (i = 0; i < nitems(sm->optional) && sm->optional[i] != NULL; i++) {
		if (strcmp(sm->optional[i], key) == 0)
			return 1;
	}
	return 0;
}

/* Values of every JSON kind, to put where another kind belongs. */
static json_t *
alt_value(u_int i)
{
	switch (i) {
	case 0:
		return json_string("x");
	case 1:
		return json_integer(1);
	case 2:
		return json_real(1.5);
	case 3:
		return json_true();
	case 4:
		return json_null();
	case 5:
		return json_pack("[s]", "x");
	case 6:
		return json_pack("{s:i}", "a", 1);
	}
	return NULL;
}

/* Are two JSON values of the same kind? */
static int
same_kind(const json_t *a, const json_t *b)
{
	if (json_is_boolean(a) && json_is_boolean(b))
		return 1;
	return json_typeof(a) == json_typeof(b);
}

/*
 * Every field of obj (which lives inside root): leaving it out is
 * accepted only when optional, a value of any other kind is rejected,
 * and an unknown field beside it is rejected. Recurses into nested
 * objects, also those inside arrays.
 */
static void
mutate_object(json_t *root, json_t *obj, const struct sample *sm, int top)
{
	const char	*key;
	json_t		*v, *alt, *e;
	char		**keys;
	size_t		 n = 0, i, k;
	u_int		 a;

	keys = calloc(json_object_size(obj) + 1, sizeof *keys);
	assert_non_null(keys);
	json_object_foreach(obj, key, v)
		keys[n++] = strdup(key);

	/* An unknown field is refused. */
	json_object_set_new(obj, "zz_unknown", json_integer(1));
	check_tree(root, sm->dir, 0, sm->msg);
	json_object_del(obj, "zz_unknown");

	for (i = 0; i < n; i++) {
		key = keys[i];
		if (top && strcmp(key, "type") == 0)
			continue;
		v = json_incref(json_object_get(obj, key));

		/* Missing. */
		json_object_del(obj, key);
		check_tree(root, sm->dir, top && is_optional(sm, key), sm->msg);

		/* Every other kind of value. */
		for (a = 0; (alt = alt_value(a)) != NULL; a++) {
			if (same_kind(alt, v)) {
				json_decref(alt);
				continue;
			}
			json_object_set_new(obj, key, alt);
			check_tree(root, sm->dir, 0, sm->msg);
		}
		json_object_set(obj, key, v);

		/* Nested objects, except the free-form status reply. */
		if (json_is_object(v) && sm->msg != MSG_STATUS_REPLY)
			mutate_object(root, v, sm, 0);
		if (json_is_array(v)) {
			json_array_foreach(v, k, e) {
				if (json_is_object(e))
					mutate_object(root, e, sm, 0);
			}
		}
		json_decref(v);
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Load a sample and replace one top-level field with v (stolen). */
static json_t *
sample_with(enum proto_msg msg, const char *key, json_t *v)
{
	json_t		*root;
	json_error_t	 error;
	u_int		 i;

	for (i = 0; i < nitems(samples); i++) {
		if (samples[i].msg == msg)
			break;
	}
	assert_true(i < nitems(samples));
	root = json_loads(samples[i].json, 0, &error);
	assert_non_null(root);
	if (key != NULL) {
		if (v == NULL)
			json_object_del(root, key);
		else
			json_object_set_new(root, key, v);
	}
	return root;
}

/* The direction a message type travels in. */
static enum proto_dir
msg_dir(enum proto_msg msg)
{
	return msg >= MSG_TICKET ? PROTO_FROM_BROKER : PROTO_TO_BROKER;
}

/* A sample with one field set must be accepted. */
static void
field_ok(enum proto_msg msg, const char *key, json_t *v)
{
	json_t	*root;

	assert_non_null(v);
	root = sample_with(msg, key, v);

	check_tree(root, msg_dir(msg), 1, msg);
	json_decref(root);
}

/* A sample with one field set must be rejected. */
static void
field_bad(enum proto_msg msg, const char *key, json_t *v)
{
	json_t	*root;

	assert_non_null(v);
	root = sample_with(msg, key, v);

	check_tree(root, msg_dir(msg), 0, msg);
	json_decref(root);
}

/* A string of n copies of c. */
static json_t *
str_of(size_t n, char c)
{
	char	*s;
	json_t	*j;

	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	j = json_string(s);
	free(s);
	assert_non_null(j);
	return j;
}

/* ---- frame header ------------------------------------------------------ */

/* Headers encode big-endian and decode to the same length and type. */
static void
test_header_round_trip(void **state)
{
	static const uint32_t lens[] = { 1, 255, 256, 0x10203, 65536,
	    PROTO_MAX_TO_BROKER, PROTO_MAX_FROM_BROKER };
	uint8_t		 hdr[PROTO_HEADER_SIZE], type;
	uint32_t	 len;
	const char	*cause;
	u_int		 i;

	(void)state;
	proto_header_encode(hdr, PROTO_FRAME_JSON, 0x01020304);
	assert_int_equal(hdr[0], 0x01);
	assert_int_equal(hdr[1], 0x02);
	assert_int_equal(hdr[2], 0x03);
	assert_int_equal(hdr[3], 0x04);
	assert_int_equal(hdr[4], PROTO_FRAME_JSON);

	for (i = 0; i < nitems(lens); i++) {
		memset(hdr, 0xaa, sizeof hdr);
		proto_header_encode(hdr, PROTO_FRAME_JSON, lens[i]);
		cause = NULL;
		type = 0;
		len = 0;
		assert_int_equal(proto_header_decode(hdr, PROTO_MAX_FROM_BROKER,
		    &type, &len, &cause), 0);
		assert_int_equal(type, PROTO_FRAME_JSON);
		assert_int_equal(len, lens[i]);
	}

	/* Decoding reads big-endian bytes, not host order. */
	hdr[0] = 0x00;
	hdr[1] = 0x00;
	hdr[2] = 0x01;
	hdr[3] = 0x00;
	hdr[4] = PROTO_FRAME_JSON;
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), 0);
	assert_int_equal(len, 256);
}

/* A zero-length frame is refused. */
static void
test_header_zero_length(void **state)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE], type;
	uint32_t	 len;
	const char	*cause = NULL;

	(void)state;
	proto_header_encode(hdr, PROTO_FRAME_JSON, 0);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), -1);
	assert_non_null(cause);
	assert_true(*cause != '\0');
}

/* A frame longer than the max is refused. */
static void
test_header_too_long(void **state)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE], type;
	uint32_t	 len;
	const char	*cause;

	(void)state;
	/* Exactly the max is fine, one more is not. */
	proto_header_encode(hdr, PROTO_FRAME_JSON, PROTO_MAX_TO_BROKER);
	cause = NULL;
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), 0);

	proto_header_encode(hdr, PROTO_FRAME_JSON, PROTO_MAX_TO_BROKER + 1);
	cause = NULL;
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), -1);
	assert_non_null(cause);
	assert_true(*cause != '\0');

	/* A small max is honoured too. */
	proto_header_encode(hdr, PROTO_FRAME_JSON, 101);
	cause = NULL;
	assert_int_equal(proto_header_decode(hdr, 100, &type, &len, &cause),
	    -1);
	assert_non_null(cause);

	/* All ones must not wrap to something small. */
	memset(hdr, 0xff, 4);
	hdr[4] = PROTO_FRAME_JSON;
	cause = NULL;
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_FROM_BROKER,
	    &type, &len, &cause), -1);
	assert_non_null(cause);
}

/* A stream frame holds its offset and 1 to PROTO_STREAM_DATA bytes. */
static void
test_stream_header(void **state)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE + PROTO_STREAM_HEADER], type;
	uint32_t	 len;
	const char	*cause;

	(void)state;
	proto_stream_encode(hdr, 0x0102030405060708ULL, 5);
	assert_int_equal(hdr[4], PROTO_FRAME_STREAM);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), 0);
	assert_int_equal(len, PROTO_STREAM_HEADER + 5);
	assert_true(proto_stream_offset(hdr + PROTO_HEADER_SIZE) ==
	    0x0102030405060708ULL);

	proto_stream_encode(hdr, 0, PROTO_STREAM_DATA);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), 0);
	proto_header_encode(hdr, PROTO_FRAME_STREAM, PROTO_STREAM_FRAME + 1);
	cause = NULL;
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_FROM_BROKER,
	    &type, &len, &cause), -1);
	assert_string_equal(cause, "frame too large");
	/* Only an offset, or less: no bytes to carry. */
	proto_header_encode(hdr, PROTO_FRAME_STREAM, PROTO_STREAM_HEADER);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), -1);
	proto_header_encode(hdr, PROTO_FRAME_STREAM, 3);
	assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER, &type,
	    &len, &cause), -1);
}

/*
 * proto_add_stream cuts bytes into frames that proto_next takes back
 * with their offsets; where no stream is expected, one is a bad frame.
 */
static void
test_stream_next(void **state)
{
	struct evbuffer		*b = evbuffer_new();
	struct proto_stream	 st;
	u_char			*data, *got;
	size_t			 total = 3 * PROTO_STREAM_DATA + 17, off = 0;
	json_t			*msg;
	enum proto_msg		 type;
	char			*cause = NULL;
	size_t			 i;
	int			 frames = 0;

	(void)state;
	data = malloc(total);
	got = malloc(total);
	st.data = malloc(PROTO_STREAM_DATA);
	for (i = 0; i < total; i++)
		data[i] = (u_char)(i * 7);
	proto_add_stream(b, 1000, data, total);
	for (;;) {
		int rc = proto_next(b, PROTO_MAX_TO_BROKER, PROTO_TO_BROKER,
		    &msg, &type, &st, &cause);
		if (rc == 0)
			break;
		assert_int_equal(rc, 2);
		assert_true(st.offset == 1000 + off);
		assert_true(st.len <= PROTO_STREAM_DATA);
		memcpy(got + off, st.data, st.len);
		off += st.len;
		frames++;
	}
	assert_int_equal(frames, 4);
	assert_int_equal(off, total);
	assert_memory_equal(got, data, total);
	assert_int_equal(evbuffer_get_length(b), 0);

	proto_add_stream(b, 0, "x", 1);
	assert_int_equal(proto_next(b, PROTO_MAX_TO_BROKER, PROTO_TO_BROKER,
	    &msg, &type, NULL, &cause), -1);
	assert_non_null(strstr(cause, "stream frame not expected"));
	free(cause);
	evbuffer_free(b);
	free(st.data);
	free(data);
	free(got);
}

/* A frame of an unknown type is refused. */
static void
test_header_unknown_type(void **state)
{
	static const uint8_t types[] = { 0, 3, 0x7f, 0x80, 0xff };
	uint8_t		 hdr[PROTO_HEADER_SIZE], type;
	uint32_t	 len;
	const char	*cause;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(types); i++) {
		proto_header_encode(hdr, types[i], 10);
		cause = NULL;
		assert_int_equal(proto_header_decode(hdr, PROTO_MAX_TO_BROKER,
		    &type, &len, &cause), -1);
		assert_non_null(cause);
		assert_true(*cause != '\0');
	}
}

/* ---- messages ---------------------------------------------------------- */

/* Every message type is accepted in its own direction. */
static void
test_parse_valid(void **state)
{
	u_int	 i;

	(void)state;
	checks_start();
	for (i = 0; i < nitems(samples); i++)
		check_ok(samples[i].json, samples[i].dir, samples[i].msg);

	/* Only the required fields. */
	check_ok("{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\"}",
	    PROTO_TO_BROKER, MSG_HELLO);
	check_ok("{\"type\":\"game_end\",\"lease\":\"l-0123456789abcdef\"}",
	    PROTO_TO_BROKER, MSG_GAME_END);
	check_ok("{\"type\":\"refused\",\"reason\":\"full\",\"message\":\"x\"}",
	    PROTO_FROM_BROKER, MSG_REFUSED);
	check_ok("{\"type\":\"ticket\",\"id\":\"t-1\",\"user\":\"bob\","
	    "\"expires\":0,\"idle_timeout\":1,\"online\":0,\"games\":[]}",
	    PROTO_FROM_BROKER, MSG_TICKET);
	check_ok("{\"type\":\"lease\",\"id\":\"l-1\",\"game\":\"x\","
	    "\"name\":\"X\",\"argv\":[\"/bin/x\"],\"env\":[],\"home\":\"/\","
	    "\"rlimits\":{\"core\":0,\"nofile\":0,\"as\":1},"
	    "\"cpu_millicores\":1}",
	    PROTO_FROM_BROKER, MSG_LEASE);

	/* Whitespace and key order do not matter. */
	check_ok(" { \"cols\" : 80 ,\n\"rows\":24, \"game\":\"nethack\","
	    "\"type\":\"play\" } ", PROTO_TO_BROKER, MSG_PLAY);

	/* Non-ASCII text is fine where text is allowed. */
	check_ok("{\"type\":\"bye\",\"reason\":\"shutdown\","
	    "\"message\":\"Au revoir, \\u00e0 bient\\u00f4t\"}",
	    PROTO_FROM_BROKER, MSG_BYE);

	/* The status reply's object is free-form. */
	check_ok("{\"type\":\"status\",\"status\":{}}", PROTO_FROM_BROKER,
	    MSG_STATUS_REPLY);
	check_ok("{\"type\":\"status\",\"status\":{\"a\":[1,{\"b\":null}],"
	    "\"type\":\"x\"}}", PROTO_FROM_BROKER, MSG_STATUS_REPLY);
	checks_done();
}

/* Message names match the wire types. */
static void
test_parse_msg_names(void **state)
{
	u_int		 i;
	json_t		*root;
	json_error_t	 error;

	(void)state;
	for (i = 0; i < nitems(samples); i++) {
		root = json_loads(samples[i].json, 0, &error);
		assert_non_null(root);
		assert_string_equal(proto_msg_name(samples[i].msg),
		    json_string_value(json_object_get(root, "type")));
		json_decref(root);
	}
}

/* Every field: missing, of another kind, or beside an unknown one. */
static void
test_parse_mutations(void **state)
{
	json_t		*root;
	json_error_t	 error;
	u_int		 i;

	(void)state;
	checks_start();
	for (i = 0; i < nitems(samples); i++) {
		root = json_loads(samples[i].json, 0, &error);
		assert_non_null(root);
		mutate_object(root, root, &samples[i], 1);
		json_decref(root);
	}
	checks_done();
}

/* A message is refused in the other direction. */
static void
test_parse_wrong_direction(void **state)
{
	u_int	 i;

	(void)state;
	checks_start();
	for (i = 0; i < nitems(samples); i++) {
		check_bad(samples[i].json, samples[i].dir == PROTO_TO_BROKER ?
		    PROTO_FROM_BROKER : PROTO_TO_BROKER);
	}
	checks_done();
}

/* Bytes that are not exactly one JSON value are refused. */
static void
test_parse_invalid_json(void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"{",
		"}",
		"not json",
		"{\"type\":\"goodbye\",}",
		"{\"type\":\"goodbye\"} x",
		"{\"type\":\"goodbye\"}{\"type\":\"goodbye\"}",
		"{'type':'goodbye'}",
		"{type:\"goodbye\"}",
		"{\"type\":\"good\xff\xfe\"}",
		"{\"type\":\"goodbye\"",
	};
	static const char goodbye_nul[] = "{\"type\":\"goodbye\"}\0";
	static const char nul_inside[] = "{\"type\":\"good\0bye\"}";
	u_int	 i;

	(void)state;
	checks_start();
	for (i = 0; i < nitems(bad); i++) {
		check_bad(bad[i], PROTO_TO_BROKER);
		check_bad(bad[i], PROTO_FROM_BROKER);
	}
	/* Raw NUL bytes inside or after the object. */
	check_bad_len(goodbye_nul, sizeof goodbye_nul - 1, PROTO_TO_BROKER);
	check_bad_len(nul_inside, sizeof nul_inside - 1, PROTO_TO_BROKER);
	/* Only the given length counts. */
	check_bad_len("{\"type\":\"goodbye\"}", 10, PROTO_TO_BROKER);
	check_ok_len("{\"type\":\"goodbye\"}garbage", 18, PROTO_TO_BROKER,
	    MSG_GOODBYE);
	checks_done();
}

/* A message must be an object. */
static void
test_parse_not_object(void **state)
{
	static const char *const bad[] = {
		"[]",
		"[{\"type\":\"goodbye\"}]",
		"\"goodbye\"",
		"42",
		"true",
		"null",
	};
	u_int	 i;

	(void)state;
	checks_start();
	for (i = 0; i < nitems(bad); i++) {
		check_bad(bad[i], PROTO_TO_BROKER);
		check_bad(bad[i], PROTO_FROM_BROKER);
	}
	checks_done();
}

/* A missing, non-string or unknown type is refused. */
static void
test_parse_bad_type(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"version\":1,\"client\":\"dg-session\"}",
		"{\"type\":null}",
		"{\"type\":1}",
		"{\"type\":true}",
		"{\"type\":[\"goodbye\"]}",
		"{\"type\":{\"goodbye\":1}}",
		"{\"type\":\"\"}",
		"{\"type\":\"bogus\"}",
		"{\"type\":\"GOODBYE\"}",
		"{\"type\":\"goodbye \"}",
		"{\"type\":\" goodbye\"}",
		"{\"type\":\"goodbye\\u0000\"}",
		"{\"Type\":\"goodbye\"}",
	};
	u_int	 i;

	(void)state;
	checks_start();
	for (i = 0; i < nitems(bad); i++) {
		check_bad(bad[i], PROTO_TO_BROKER);
		check_bad(bad[i], PROTO_FROM_BROKER);
	}
	checks_done();
}

/* Unknown fields are refused, at every level. */
static void
test_parse_unknown_field(void **state)
{
	(void)state;
	checks_start();
	/* The broker learns the user from the socket, never from the peer. */
	check_bad("{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\","
	    "\"user\":\"root\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\","
	    "\"uid\":0}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"play\",\"game\":\"nethack\",\"cols\":80,"
	    "\"rows\":24,\"user\":\"root\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"play\",\"game\":\"nethack\",\"cols\":80,"
	    "\"rows\":24,\"argv\":[\"/bin/sh\"]}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"goodbye\",\"reason\":\"x\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"check\",\"x\":null}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"status\",\"verbose\":true}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"reload\",\"config\":\"/tmp/x.ini\"}",
	    PROTO_TO_BROKER);
	/* Case matters for field names. */
	check_bad("{\"type\":\"play\",\"Game\":\"nethack\",\"cols\":80,"
	    "\"rows\":24}", PROTO_TO_BROKER);
	/* Nested objects are closed too. */
	check_bad("{\"type\":\"lease\",\"id\":\"l-1\",\"game\":\"x\","
	    "\"name\":\"X\",\"argv\":[\"/bin/x\"],\"env\":[],\"home\":\"/\","
	    "\"rlimits\":{\"core\":0,\"nofile\":0,\"as\":1,\"nproc\":10},"
	    "\"cpu_millicores\":1}",
	    PROTO_FROM_BROKER);
	check_bad("{\"type\":\"ticket\",\"id\":\"t-1\",\"user\":\"bob\","
	    "\"expires\":0,\"idle_timeout\":1,\"online\":0,\"games\":"
	    "[{\"id\":\"x\",\"name\":\"X\",\"key\":\"x\","
	    "\"command\":\"/bin/sh\"}]}", PROTO_FROM_BROKER);
	check_bad("{\"type\":\"ticket\",\"id\":\"t-1\",\"user\":\"bob\","
	    "\"expires\":0,\"idle_timeout\":1,\"online\":0,\"games\":"
	    "[{\"id\":\"x\",\"name\":\"X\",\"key\":\"x\",\"type\":\"game\"}]}",
	    PROTO_FROM_BROKER);
	checks_done();
}

/* Duplicate keys are refused, at every level. */
static void
test_parse_duplicate_keys(void **state)
{
	(void)state;
	checks_start();
	check_bad("{\"type\":\"play\",\"game\":\"nethack\",\"game\":\"crawl\","
	    "\"cols\":80,\"rows\":24}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"play\",\"game\":\"nethack\","
	    "\"game\":\"nethack\",\"cols\":80,\"rows\":24}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"goodbye\",\"type\":\"goodbye\"}",
	    PROTO_TO_BROKER);
	check_bad("{\"type\":\"check\",\"type\":\"reload\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"lease\",\"id\":\"l-1\",\"game\":\"x\","
	    "\"name\":\"X\",\"argv\":[\"/bin/x\"],\"env\":[],\"home\":\"/\","
	    "\"rlimits\":{\"core\":0,\"nofile\":0,\"as\":1,\"core\":1},"
	    "\"cpu_millicores\":1}",
	    PROTO_FROM_BROKER);
	check_bad("{\"type\":\"ticket\",\"id\":\"t-1\",\"user\":\"bob\","
	    "\"expires\":0,\"idle_timeout\":1,\"online\":0,\"games\":"
	    "[{\"id\":\"x\",\"name\":\"X\",\"key\":\"x\",\"key\":\"y\"}]}",
	    PROTO_FROM_BROKER);
	checks_done();
}

/* Integers out of range, or not integers, are refused. */
static void
test_parse_integers(void **state)
{
	(void)state;
	checks_start();

	/* rejoin */
	field_ok(MSG_REJOIN, "pid", json_integer(1));
	field_bad(MSG_REJOIN, "pid", json_integer(0));
	field_bad(MSG_REJOIN, "pid", json_integer(-1));
	field_bad(MSG_REJOIN, "pid", json_integer(1LL << 32));
	field_ok(MSG_REJOIN, "offset", json_integer(0));
	field_bad(MSG_REJOIN, "offset", json_integer(-1));
	field_bad(MSG_REJOIN, "started", json_integer(-1));
	field_bad(MSG_REJOIN, "editing", json_integer(2));
	field_bad(MSG_REJOIN, "cols", json_integer(0));
	field_bad(MSG_REJOIN, "rows", json_integer(1001));
	field_bad(MSG_REJOIN, "ticket", json_string(""));
	field_bad(MSG_REJOIN, "ticket", json_string("t-01\x1b[2J"));
	field_bad(MSG_REJOIN, "game", json_string("Net Hack"));
	field_bad(MSG_REJOINED, "offset", json_integer(-1));

	/* hello */
	field_ok(MSG_HELLO, "cols", json_integer(1));
	field_ok(MSG_HELLO, "cols", json_integer(1000));
	field_bad(MSG_HELLO, "cols", json_integer(0));
	field_bad(MSG_HELLO, "cols", json_integer(-1));
	field_bad(MSG_HELLO, "cols", json_integer(1001));
	field_ok(MSG_HELLO, "rows", json_integer(1));
	field_ok(MSG_HELLO, "rows", json_integer(1000));
	field_bad(MSG_HELLO, "rows", json_integer(0));
	field_bad(MSG_HELLO, "rows", json_integer(1001));
	field_bad(MSG_HELLO, "rows", json_integer(-80));
	field_bad(MSG_HELLO, "version", json_integer(-1));
	field_bad(MSG_HELLO, "version", json_integer(1000001));
	field_bad(MSG_HELLO, "version", json_integer(INT64_MIN));
	field_bad(MSG_HELLO, "version", json_integer(INT64_MAX));
	field_bad(MSG_HELLO, "version", json_real(1.0));
	field_bad(MSG_HELLO, "version", json_string("1"));

	/* play */
	field_ok(MSG_PLAY, "cols", json_integer(1000));
	field_bad(MSG_PLAY, "cols", json_integer(0));
	field_bad(MSG_PLAY, "cols", json_integer(1001));
	field_bad(MSG_PLAY, "rows", json_integer(0));
	field_bad(MSG_PLAY, "rows", json_integer(100000));
	field_bad(MSG_PLAY, "cols", json_real(80.0));

	/* game_end: an exit status, or -1 when signalled */
	field_ok(MSG_GAME_END, "status", json_integer(-1));
	field_ok(MSG_GAME_END, "status", json_integer(255));
	field_bad(MSG_GAME_END, "status", json_integer(-2));
	field_bad(MSG_GAME_END, "status", json_integer(256));
	field_ok(MSG_GAME_END, "signal", json_integer(128));
	field_bad(MSG_GAME_END, "signal", json_integer(-1));
	field_bad(MSG_GAME_END, "signal", json_integer(129));

	/* keepalive */
	field_ok(MSG_KEEPALIVE, "idle", json_integer(0));
	field_bad(MSG_KEEPALIVE, "idle", json_integer(-1));
	field_bad(MSG_KEEPALIVE, "idle", json_integer(INT64_MAX));

	/* ticket */
	field_bad(MSG_TICKET, "expires", json_integer(-1));
	field_bad(MSG_TICKET, "expires", json_integer((1LL << 40) + 1));
	field_bad(MSG_TICKET, "idle_timeout", json_integer(0));
	field_bad(MSG_TICKET, "idle_timeout", json_integer(-5));
	field_bad(MSG_TICKET, "idle_timeout", json_integer((1LL << 31) + 1));
	field_bad(MSG_TICKET, "online", json_integer(-1));

	/* refused, error */
	field_ok(MSG_REFUSED, "retry_after", json_integer(0));
	field_bad(MSG_REFUSED, "retry_after", json_integer(-1));
	field_bad(MSG_ERROR, "retry_after", json_integer(-1));
	field_bad(MSG_REFUSED, "retry_after", json_integer((1LL << 31) + 1));

	/* lease rlimits */
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:i, s:i, s:i}", "core", -1,
	    "nofile", 1024, "as", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:i, s:i, s:i}", "core", 0,
	    "nofile", -1, "as", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:i, s:I, s:i}", "core", 0,
	    "nofile", (json_int_t)(1LL << 30) + 1, "as", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:I, s:i, s:i}", "core",
	    (json_int_t)INT64_MAX, "nofile", 1, "as", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:f, s:i, s:i}", "core", 0.0,
	    "nofile", 1, "as", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:s, s:i, s:i}", "core", "0",
	    "nofile", 1, "as", 1));

	/* Integers beyond 64 bits are not silently clamped. */
	check_bad("{\"type\":\"keepalive\",\"idle\":99999999999999999999}",
	    PROTO_TO_BROKER);
	check_bad("{\"type\":\"keepalive\",\"idle\":-99999999999999999999}",
	    PROTO_TO_BROKER);
	check_bad("{\"type\":\"keepalive\",\"idle\":1e3}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"keepalive\",\"idle\":\"12\"}", PROTO_TO_BROKER);
	checks_done();
}

/* Strings empty where required, or too long, are refused. */
static void
test_parse_lengths(void **state)
{
	(void)state;
	checks_start();

	/* Required strings may not be empty. */
	field_bad(MSG_HELLO, "client", json_string(""));
	field_bad(MSG_PLAY, "game", json_string(""));
	field_bad(MSG_GAME_END, "lease", json_string(""));
	field_bad(MSG_TICKET, "id", json_string(""));
	field_bad(MSG_TICKET, "user", json_string(""));
	field_bad(MSG_REFUSED, "reason", json_string(""));
	field_bad(MSG_REFUSED, "message", json_string(""));
	field_bad(MSG_LEASE, "id", json_string(""));
	field_bad(MSG_LEASE, "home", json_string(""));
	field_bad(MSG_HEALTH, "status", json_string(""));
	field_bad(MSG_RELOADED, "config", json_string(""));
	field_bad(MSG_BYE, "reason", json_string(""));

	/* At the limit, and one past it. */
	field_ok(MSG_HELLO, "client", str_of(16, 'a'));
	field_bad(MSG_HELLO, "client", str_of(17, 'a'));
	field_ok(MSG_HELLO, "term", str_of(64, 'x'));
	field_bad(MSG_HELLO, "term", str_of(65, 'x'));
	field_bad(MSG_HELLO, "remote", str_of(129, 'r'));
	field_bad(MSG_HELLO, "command", str_of(1025, 'c'));
	field_bad(MSG_HELLO, "command", str_of(100000, 'c'));
	field_ok(MSG_PLAY, "game", str_of(32, 'g'));
	field_bad(MSG_PLAY, "game", str_of(33, 'g'));
	field_bad(MSG_GAME_END, "lease", str_of(65, 'l'));
	field_bad(MSG_TICKET, "id", str_of(65, 't'));
	field_bad(MSG_TICKET, "user", str_of(65, 'u'));
	field_bad(MSG_REFUSED, "reason", str_of(33, 'r'));
	field_ok(MSG_REFUSED, "message", str_of(512, 'm'));
	field_bad(MSG_REFUSED, "message", str_of(513, 'm'));
	field_bad(MSG_ERROR, "message", str_of(513, 'm'));
	field_bad(MSG_LEASE, "id", str_of(65, 'l'));
	field_bad(MSG_LEASE, "game", str_of(33, 'g'));
	field_bad(MSG_LEASE, "name", str_of(65, 'n'));
	field_bad(MSG_LEASE, "home", str_of(4097, 'h'));
	field_bad(MSG_LEASE, "rcfile", str_of(4097, 'r'));
	field_bad(MSG_HEALTH, "status", str_of(17, 'h'));
	field_bad(MSG_RELOADED, "config", str_of(4097, 'c'));
	field_bad(MSG_BYE, "message", str_of(513, 'm'));
	checks_done();
}

/* Strings with characters their class forbids are refused. */
static void
test_parse_characters(void **state)
{
	(void)state;
	checks_start();

	/* Ids: lowercase letters, digits, _ and -. */
	field_bad(MSG_HELLO, "client", json_string("DG-session"));
	field_bad(MSG_HELLO, "client", json_string("dg session"));
	field_bad(MSG_HELLO, "client", json_string("dg.session"));
	field_bad(MSG_PLAY, "game", json_string("NetHack"));
	field_bad(MSG_PLAY, "game", json_string("../x"));
	field_bad(MSG_PLAY, "game", json_string("net/hack"));
	field_bad(MSG_PLAY, "game", json_string("nethack;sh"));
	field_bad(MSG_PLAY, "game", json_string("n\xc3\xa9thack"));
	field_bad(MSG_REFUSED, "reason", json_string("Full"));
	field_bad(MSG_BYE, "reason", json_string("shut down"));
	field_bad(MSG_HEALTH, "status", json_string("Healthy"));
	field_bad(MSG_LEASE, "game", json_string("Nethack"));
	field_ok(MSG_PLAY, "game", json_string("dcss-0_31"));

	/* Tokens: letters, digits and ._+- */
	field_ok(MSG_HELLO, "term", json_string("xterm-256color"));
	field_ok(MSG_HELLO, "term", json_string("rxvt-unicode.x+y_z"));
	field_bad(MSG_HELLO, "term", json_string("xterm;rm -rf"));
	field_bad(MSG_HELLO, "term", json_string("xterm\x1b"));
	field_bad(MSG_HELLO, "term", json_string("../../x"));
	field_bad(MSG_GAME_END, "lease", json_string("l-1/../x"));
	field_bad(MSG_TICKET, "id", json_string("t 1"));

	/* Text: no control characters. */
	field_bad(MSG_HELLO, "remote", json_string("a\nb"));
	field_bad(MSG_HELLO, "remote", json_string("a\x7f"));
	field_bad(MSG_HELLO, "remote", json_string("\t"));
	field_bad(MSG_TICKET, "user", json_string("ali\x1b[2Jce"));
	field_bad(MSG_REFUSED, "message", json_string("full\r\n"));
	field_bad(MSG_ERROR, "message", json_string("\x07"));
	field_bad(MSG_BYE, "message", json_string("\x1b]0;pwned\x07"));
	field_bad(MSG_LEASE, "name", json_string("Net\x1bHack"));
	field_bad(MSG_LEASE, "home", json_string("/home/a\tb"));
	field_bad(MSG_LEASE, "rcfile", json_string("/home/a/.rc\n"));
	field_bad(MSG_RELOADED, "config", json_string("/etc/x\x01"));
	field_ok(MSG_TICKET, "user", json_string("J\xc3\xa9r\xc3\xb4me Smith"));
	checks_done();
}

/* U+0080..U+009F are control characters too (CSI is U+009B). */
static void
test_parse_c1_controls(void **state)
{
	(void)state;
	checks_start();
	field_bad(MSG_HELLO, "remote", json_string("a\xc2\x9b" "2Jb"));
	field_bad(MSG_BYE, "message", json_string("bye\xc2\x9b" "2J"));
	field_bad(MSG_LEASE, "name", json_string("Net\xc2\x85Hack"));
	checks_done();
}

/* NUL inside a string is refused, even in free-form fields. */
static void
test_parse_nul(void **state)
{
	(void)state;
	checks_start();
	/* NUL in a string: text, id, token, and even free-form command. */
	check_bad("{\"type\":\"hello\",\"version\":1,"
	    "\"client\":\"dg\\u0000session\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\","
	    "\"remote\":\"a\\u0000b\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\","
	    "\"command\":\"play nethack\\u0000; sh\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"hello\",\"version\":1,\"client\":\"dg-session\","
	    "\"term\":\"xterm\\u0000\"}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"play\",\"game\":\"nethack\\u0000x\","
	    "\"cols\":80,\"rows\":24}", PROTO_TO_BROKER);
	check_bad("{\"type\":\"lease\",\"id\":\"l-1\",\"game\":\"x\","
	    "\"name\":\"X\",\"argv\":[\"/bin/x\\u0000/bin/sh\"],\"env\":[],"
	    "\"home\":\"/\",\"rlimits\":{\"core\":0,\"nofile\":0}}",
	    PROTO_FROM_BROKER);
	check_bad("{\"type\":\"lease\",\"id\":\"l-1\",\"game\":\"x\","
	    "\"name\":\"X\",\"argv\":[\"/bin/x\"],\"env\":[\"A=\\u0000\"],"
	    "\"home\":\"/\",\"rlimits\":{\"core\":0,\"nofile\":0}}",
	    PROTO_FROM_BROKER);
	/* In a field name. */
	check_bad("{\"type\":\"goodbye\",\"a\\u0000b\":1}", PROTO_TO_BROKER);
	checks_done();
}

/*
 * Editing: the menu's games say which have an options file; the edit
 * lease names the file, its cap and the file size limit, all checked.
 */
static void
test_parse_edit(void **state)
{
	(void)state;
	checks_start();
	/* A game of the ticket may name its options file. */
	field_ok(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s, s:s}]",
	    "id", "nethack", "name", "NetHack 3.6", "key", "p", "rcfile",
	    ".nethackrc"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s, s:s}]",
	    "id", "nethack", "name", "NetHack 3.6", "key", "p", "rcfile", ""));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s, s:s}]",
	    "id", "nethack", "name", "NetHack 3.6", "key", "p", "rcfile",
	    ".rc\x1b[2J"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s, s:o}]",
	    "id", "nethack", "name", "NetHack 3.6", "key", "p", "rcfile",
	    str_of(256, 'r')));

	/* edit asks like play. */
	field_bad(MSG_EDIT, "game", json_string("NetHack"));
	field_bad(MSG_EDIT, "game", json_string("../x"));
	field_bad(MSG_EDIT, "cols", json_integer(0));
	field_bad(MSG_EDIT, "rows", json_integer(1001));

	/*
	 * The edit lease: the file and the cap are required (the sample's
	 * mutations leave each out), and checked.
	 */
	field_bad(MSG_EDIT_LEASE, "rcfile", json_string(""));
	field_bad(MSG_EDIT_LEASE, "rcfile", json_string("/home/a/.rc\n"));
	field_bad(MSG_EDIT_LEASE, "rcfile", str_of(4097, 'r'));
	field_bad(MSG_EDIT_LEASE, "rc_max_size", json_integer(0));
	field_bad(MSG_EDIT_LEASE, "rc_max_size", json_integer(
	    (1LL << 30) + 1));
	field_bad(MSG_EDIT_LEASE, "rc_template", json_string("/etc/x\x07"));
	field_bad(MSG_EDIT_LEASE, "rc_template", str_of(1025, 't'));
	field_ok(MSG_EDIT_LEASE, "rc_template", json_string(""));
	/* The editor gets none of a game's environment lines. */
	field_bad(MSG_EDIT_LEASE, "env", json_pack("[s]", "SPELL=/bin/sh"));
	/* Its limits include the file size, within bounds. */
	field_bad(MSG_EDIT_LEASE, "rlimits", json_pack("{s:i, s:i, s:i}",
	    "core", 0, "nofile", 1024, "as", 1));
	field_bad(MSG_EDIT_LEASE, "rlimits", json_pack("{s:i, s:i, s:i, s:i}",
	    "core", 0, "nofile", 1024, "as", 1, "fsize", 0));
	field_bad(MSG_EDIT_LEASE, "rlimits", json_pack("{s:i, s:i, s:i, s:I}",
	    "core", 0, "nofile", 1024, "as", 1, "fsize",
	    (json_int_t)(1LL << 30) + 1));
	field_bad(MSG_EDIT_LEASE, "argv", json_array());
	field_bad(MSG_EDIT_LEASE, "argv", json_pack("[s, s]", "/usr/bin/rnano",
	    "-\x1b"));
	/* A game's lease may carry a template and cap; checked the same. */
	field_bad(MSG_LEASE, "rc_max_size", json_integer(0));
	field_bad(MSG_LEASE, "rc_template", json_string("/etc/x\n"));
	/* Each travels one way only. */
	check_bad("{\"type\":\"edit\",\"game\":\"nethack\",\"cols\":80,"
	    "\"rows\":24}", PROTO_FROM_BROKER);
	checks_done();
}

/* Lease argv, env and rlimits are checked element by element. */
static void
test_parse_lease_arrays(void **state)
{
	json_t	*a;
	u_int	 i;

	(void)state;
	checks_start();
	/* argv: 1 to 64 strings of text. */
	field_bad(MSG_LEASE, "argv", json_array());
	field_bad(MSG_LEASE, "argv", json_pack("[i]", 1));
	field_bad(MSG_LEASE, "argv", json_pack("[s, i]", "/bin/x", 2));
	field_bad(MSG_LEASE, "argv", json_pack("[s, n]", "/bin/x"));
	field_bad(MSG_LEASE, "argv", json_pack("[s, [s]]", "/bin/x", "y"));
	field_bad(MSG_LEASE, "argv", json_pack("[[s]]", "/bin/x"));
	field_bad(MSG_LEASE, "argv", json_pack("[s, {s:s}]", "/bin/x", "a",
	    "b"));
	field_bad(MSG_LEASE, "argv", json_pack("[s, s]", "/bin/x", "-u\nx"));
	field_bad(MSG_LEASE, "argv", json_pack("[s, s]", "/bin/x",
	    "\x1b[2J"));
	field_bad(MSG_LEASE, "argv", json_pack("[s, o]", "/bin/x",
	    str_of(4097, 'a')));
	field_ok(MSG_LEASE, "argv", json_pack("[s, o]", "/bin/x",
	    str_of(4096, 'a')));
	a = json_array();
	for (i = 0; i < 64; i++)
		json_array_append_new(a, json_string("x"));
	field_ok(MSG_LEASE, "argv", json_deep_copy(a));
	json_array_append_new(a, json_string("x"));
	field_bad(MSG_LEASE, "argv", a);

	/* env: 0 to 64 strings of text. */
	field_ok(MSG_LEASE, "env", json_array());
	field_bad(MSG_LEASE, "env", json_pack("[i]", 1));
	field_bad(MSG_LEASE, "env", json_pack("[b]", 1));
	field_bad(MSG_LEASE, "env", json_pack("[[s]]", "A=1"));
	field_bad(MSG_LEASE, "env", json_pack("[{s:s}]", "A", "1"));
	field_bad(MSG_LEASE, "env", json_pack("[s]", "A=\x1b[2J"));
	field_bad(MSG_LEASE, "env", json_pack("[s]", "LD_PRELOAD=/x\n"));
	field_bad(MSG_LEASE, "env", json_pack("{s:s}", "A", "1"));
	a = json_array();
	for (i = 0; i < 65; i++)
		json_array_append_new(a, json_string("A=1"));
	field_bad(MSG_LEASE, "env", a);

	/* rlimits: exactly core and nofile, both integers. */
	field_bad(MSG_LEASE, "rlimits", json_object());
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:i}", "core", 0));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:i}", "nofile", 0));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:i, s:i, s:i}", "core",
	    0, "nofile", 1, "nproc", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("[i, i]", 0, 1024));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:{s:i}, s:i}", "core",
	    "soft", 0, "nofile", 1));
	field_bad(MSG_LEASE, "rlimits", json_pack("{s:[i], s:i}", "core", 0,
	    "nofile", 1));
	checks_done();
}

/* Ticket games and health components are checked inside. */
static void
test_parse_ticket_games(void **state)
{
	json_t	*a;
	u_int	 i;

	(void)state;
	checks_start();
	field_ok(MSG_TICKET, "games", json_array());
	field_bad(MSG_TICKET, "games", json_pack("[s]", "nethack"));
	field_bad(MSG_TICKET, "games", json_pack("[i]", 1));
	field_bad(MSG_TICKET, "games", json_pack("[n]"));
	field_bad(MSG_TICKET, "games", json_pack("[[{s:s, s:s, s:s}]]", "id",
	    "x", "name", "X", "key", "x"));
	field_bad(MSG_TICKET, "games", json_pack("{s:s, s:s, s:s}", "id", "x",
	    "name", "X", "key", "x"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s}]", "id", "x",
	    "name", "X"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s}]", "id",
	    "X", "name", "X", "key", "x"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s}]", "id",
	    "x", "name", "X\x1b", "key", "x"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s}]", "id",
	    "x", "name", "X", "key", ""));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s}]", "id",
	    "x", "name", "X", "key", "xy"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s}]", "id",
	    "x", "name", "X", "key", "\x1b"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:i}]", "id",
	    "x", "name", "X", "key", 1));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:[s]}]", "id",
	    "x", "name", "X", "key", "x"));
	field_bad(MSG_TICKET, "games", json_pack("[{s:s, s:s, s:s}, s]", "id",
	    "x", "name", "X", "key", "x", "y"));

	a = json_array();
	for (i = 0; i < 64; i++) {
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "id", "x",
		    "name", "X", "key", "x"));
	}
	field_ok(MSG_TICKET, "games", json_deep_copy(a));
	json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "id", "x",
	    "name", "X", "key", "x"));
	field_bad(MSG_TICKET, "games", a);

	/* health components: at least one, each closed. */
	field_bad(MSG_HEALTH, "components", json_array());
	field_bad(MSG_HEALTH, "components", json_pack("[s]", "broker"));
	field_bad(MSG_HEALTH, "components", json_pack("[{s:s, s:s, s:s, s:i}]",
	    "name", "b", "status", "healthy", "detail", "", "x", 1));
	field_bad(MSG_HEALTH, "components", json_pack("[{s:s, s:s, s:s}]",
	    "name", "b", "status", "healthy", "detail", "a\nb"));

	/* The status reply must carry an object. */
	field_bad(MSG_STATUS_REPLY, "status", json_string("{}"));
	field_bad(MSG_STATUS_REPLY, "status", json_array());
	checks_done();
}

/* The cause names the offending field. */
static void
test_parse_cause_names_field(void **state)
{
	json_t		*msg = NULL;
	enum proto_msg	 type;
	char		*cause = NULL;
	const char	*s;

	(void)state;
	s = "{\"type\":\"play\",\"game\":\"x\",\"rows\":24}";
	assert_int_equal(proto_parse(s, strlen(s), PROTO_TO_BROKER, &msg, &type,
	    &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cols"));
	free(cause);
	cause = NULL;
	s = "{\"type\":\"hello\",\"version\":1,\"client\":\"dg\","
	    "\"user\":\"root\"}";
	assert_int_equal(proto_parse(s, strlen(s), PROTO_TO_BROKER, &msg, &type,
	    &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "user"));
	free(cause);
	assert_null(msg);
}

/* ---- blocking reads and writes ----------------------------------------- */

/* Milliseconds since t0 on the monotonic clock. */
static int
ms_since(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int)((t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* A connected pair of stream sockets. */
static void
make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* Write all of buf or fail the test. */
static void
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Messages written come back read, one frame at a time. */
static void
test_io_round_trip(void **state)
{
	json_t		*out, *in = NULL, *out2, *in2 = NULL;
	enum proto_msg	 type;
	char		*cause = NULL;
	int		 sv[2];

	(void)state;
	make_pair(sv);
	out = json_loads(samples[0].json, 0, NULL);
	out2 = sample_with(MSG_LEASE, NULL, NULL);
	assert_non_null(out);
	assert_non_null(out2);

	assert_int_equal(proto_write(sv[0], out, &cause), 0);
	assert_int_equal(proto_read(sv[1], 5000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), 0);
	assert_int_equal(type, MSG_HELLO);
	assert_true(json_equal(in, out));

	/* Two frames back to back come out as two messages. */
	assert_int_equal(proto_write(sv[1], out2, &cause), 0);
	assert_int_equal(proto_write(sv[1], out2, &cause), 0);
	assert_int_equal(proto_read(sv[0], 5000, PROTO_MAX_FROM_BROKER,
	    PROTO_FROM_BROKER, &in2, &type, &cause), 0);
	assert_int_equal(type, MSG_LEASE);
	assert_true(json_equal(in2, out2));
	json_decref(in2);
	in2 = NULL;
	assert_int_equal(proto_read(sv[0], 5000, PROTO_MAX_FROM_BROKER,
	    PROTO_FROM_BROKER, &in2, &type, &cause), 0);
	assert_int_equal(type, MSG_LEASE);
	assert_true(json_equal(in2, out2));

	assert_null(cause);
	json_decref(in);
	json_decref(in2);
	json_decref(out);
	json_decref(out2);
	close(sv[0]);
	close(sv[1]);
}

/* A written frame is header plus compact JSON, as proto_pack makes. */
static void
test_io_wire_format(void **state)
{
	json_t		*out, *back;
	char		*cause = NULL;
	uint8_t		 buf[4096];
	size_t		 packed_len;
	void		*packed;
	ssize_t		 n;
	uint32_t	 len;
	int		 sv[2];

	(void)state;
	make_pair(sv);
	out = json_loads(samples[1].json, 0, NULL);
	assert_non_null(out);
	assert_int_equal(proto_write(sv[0], out, &cause), 0);
	n = read(sv[1], buf, sizeof buf);
	assert_true(n > PROTO_HEADER_SIZE);
	len = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) |
	    ((uint32_t)buf[2] << 8) | buf[3];
	assert_int_equal(len, (size_t)n - PROTO_HEADER_SIZE);
	assert_int_equal(buf[4], PROTO_FRAME_JSON);
	back = json_loadb((char *)buf + PROTO_HEADER_SIZE, len, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, out));
	json_decref(back);

	/* proto_pack makes the same frame. */
	packed = proto_pack(out, &packed_len);
	assert_int_equal(packed_len, (size_t)n);
	assert_memory_equal(packed, buf, packed_len);
	free(packed);

	json_decref(out);
	close(sv[0]);
	close(sv[1]);
}

/* A frame dribbled out byte by byte is read whole. */
static void
test_io_slow_writer(void **state)
{
	json_t		*out, *in = NULL;
	enum proto_msg	 type;
	char		*cause = NULL;
	void		*frame;
	size_t		 len, i;
	pid_t		 pid;
	int		 sv[2], status;

	(void)state;
	make_pair(sv);
	out = json_loads(samples[1].json, 0, NULL);
	assert_non_null(out);
	frame = proto_pack(out, &len);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* A frame dribbled out a byte at a time. */
		for (i = 0; i < len; i++) {
			if (write(sv[0], (char *)frame + i, 1) != 1)
				_exit(1);
			usleep(i < PROTO_HEADER_SIZE ? 20000 : 2000);
		}
		/* What the parent owns, let go here too (valgrind checks). */
		free(frame);
		json_decref(out);
		_exit(0);
	}
	close(sv[0]);
	assert_int_equal(proto_read(sv[1], 30000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), 0);
	assert_int_equal(type, MSG_PLAY);
	assert_true(json_equal(in, out));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(frame);
	json_decref(in);
	json_decref(out);
	close(sv[1]);
}

/* Reading gives up after the timeout, header or not. */
static void
test_io_timeout(void **state)
{
	json_t		*in = NULL;
	enum proto_msg	 type;
	char		*cause = NULL;
	struct timespec	 t0;
	uint8_t		 hdr[PROTO_HEADER_SIZE];
	int		 sv[2], ms;

	(void)state;
	make_pair(sv);

	/* Nothing at all. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proto_read(sv[1], 200, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	ms = ms_since(&t0);
	assert_null(in);
	assert_non_null(cause);
	assert_true(*cause != '\0');
	assert_true(ms >= 150);
	assert_true(ms < 10000);
	free(cause);
	cause = NULL;

	/* A header, then silence: the timeout covers the whole frame. */
	proto_header_encode(hdr, PROTO_FRAME_JSON, 20);
	write_all(sv[0], hdr, sizeof hdr);
	write_all(sv[0], "{\"type\"", 7);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proto_read(sv[1], 200, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	ms = ms_since(&t0);
	assert_null(in);
	assert_non_null(cause);
	assert_true(ms >= 150);
	assert_true(ms < 10000);
	free(cause);

	close(sv[0]);
	close(sv[1]);
}

/* A closed peer is an error for reads and writes. */
static void
test_io_closed_peer(void **state)
{
	json_t		*in = NULL, *out;
	enum proto_msg	 type;
	char		*cause = NULL;
	uint8_t		 hdr[PROTO_HEADER_SIZE];
	struct timespec	 t0;
	void		(*old)(int);
	int		 sv[2];

	(void)state;
	/* Closed before anything. */
	make_pair(sv);
	close(sv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proto_read(sv[1], 20000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_true(ms_since(&t0) < 10000);
	assert_null(in);
	assert_non_null(cause);
	assert_true(*cause != '\0');
	free(cause);
	cause = NULL;
	close(sv[1]);

	/* Closed halfway through the header. */
	make_pair(sv);
	proto_header_encode(hdr, PROTO_FRAME_JSON, 18);
	write_all(sv[0], hdr, 2);
	close(sv[0]);
	assert_int_equal(proto_read(sv[1], 20000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	close(sv[1]);

	/* Closed halfway through the payload. */
	make_pair(sv);
	write_all(sv[0], hdr, sizeof hdr);
	write_all(sv[0], "{\"type\":\"go", 11);
	close(sv[0]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proto_read(sv[1], 20000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_true(ms_since(&t0) < 10000);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	close(sv[1]);

	/* Writing to a closed peer fails (SIGPIPE is the caller's). */
	old = signal(SIGPIPE, SIG_IGN);
	make_pair(sv);
	close(sv[1]);
	out = sample_with(MSG_CHECK, NULL, NULL);
	assert_int_equal(proto_write(sv[0], out, &cause), -1);
	assert_non_null(cause);
	assert_true(*cause != '\0');
	free(cause);
	json_decref(out);
	close(sv[0]);
	signal(SIGPIPE, old);
}

/* Bad frames are refused, oversized ones from the header alone. */
static void
test_io_bad_frames(void **state)
{
	json_t		*in = NULL, *out;
	enum proto_msg	 type;
	char		*cause = NULL;
	uint8_t		 hdr[PROTO_HEADER_SIZE];
	struct timespec	 t0;
	int		 sv[2];

	(void)state;
	/* Oversized: refused from the header, without waiting for a body. */
	make_pair(sv);
	proto_header_encode(hdr, PROTO_FRAME_JSON, PROTO_MAX_TO_BROKER + 1);
	write_all(sv[0], hdr, sizeof hdr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proto_read(sv[1], 5000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_true(ms_since(&t0) < 4000);
	assert_null(in);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	close(sv[0]);
	close(sv[1]);

	/* A real message larger than the reader's max. */
	make_pair(sv);
	out = sample_with(MSG_LEASE, NULL, NULL);
	assert_int_equal(proto_write(sv[0], out, &cause), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(proto_read(sv[1], 5000, 64, PROTO_FROM_BROKER, &in,
	    &type, &cause), -1);
	assert_true(ms_since(&t0) < 4000);
	assert_null(in);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	json_decref(out);
	close(sv[0]);
	close(sv[1]);

	/* Zero length and unknown frame type. */
	make_pair(sv);
	proto_header_encode(hdr, PROTO_FRAME_JSON, 0);
	write_all(sv[0], hdr, sizeof hdr);
	assert_int_equal(proto_read(sv[1], 5000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	close(sv[0]);
	close(sv[1]);

	make_pair(sv);
	proto_header_encode(hdr, 2, 18);
	write_all(sv[0], hdr, sizeof hdr);
	write_all(sv[0], "{\"type\":\"goodbye\"}", 18);
	assert_int_equal(proto_read(sv[1], 5000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	close(sv[0]);
	close(sv[1]);

	/* A good frame holding a bad message, or one for the other side. */
	make_pair(sv);
	proto_header_encode(hdr, PROTO_FRAME_JSON, 8);
	write_all(sv[0], hdr, sizeof hdr);
	write_all(sv[0], "not json", 8);
	assert_int_equal(proto_read(sv[1], 5000, PROTO_MAX_TO_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	out = sample_with(MSG_TICKET, NULL, NULL);
	assert_int_equal(proto_write(sv[0], out, &cause), 0);
	assert_int_equal(proto_read(sv[1], 5000, PROTO_MAX_FROM_BROKER,
	    PROTO_TO_BROKER, &in, &type, &cause), -1);
	assert_null(in);
	assert_non_null(cause);
	free(cause);
	json_decref(out);
	close(sv[0]);
	close(sv[1]);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_round_trip),
		cmocka_unit_test(test_header_zero_length),
		cmocka_unit_test(test_header_too_long),
		cmocka_unit_test(test_header_unknown_type),
		cmocka_unit_test(test_stream_header),
		cmocka_unit_test(test_stream_next),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_msg_names),
		cmocka_unit_test(test_parse_mutations),
		cmocka_unit_test(test_parse_wrong_direction),
		cmocka_unit_test(test_parse_invalid_json),
		cmocka_unit_test(test_parse_not_object),
		cmocka_unit_test(test_parse_bad_type),
		cmocka_unit_test(test_parse_unknown_field),
		cmocka_unit_test(test_parse_duplicate_keys),
		cmocka_unit_test(test_parse_integers),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_parse_characters),
		cmocka_unit_test(test_parse_c1_controls),
		cmocka_unit_test(test_parse_nul),
		cmocka_unit_test(test_parse_lease_arrays),
		cmocka_unit_test(test_parse_edit),
		cmocka_unit_test(test_parse_ticket_games),
		cmocka_unit_test(test_parse_cause_names_field),
		cmocka_unit_test(test_io_round_trip),
		cmocka_unit_test(test_io_wire_format),
		cmocka_unit_test(test_io_slow_writer),
		cmocka_unit_test(test_io_timeout),
		cmocka_unit_test(test_io_closed_peer),
		cmocka_unit_test(test_io_bad_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
