/*
 * Frame codec and message validation. No event loop here: the broker and
 * the session feed bytes in, the unit tests feed bytes in, and blocking
 * tools (dg-broker --check) use proto_read and proto_write.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"
#include "proto.h"

enum fkind { F_STRING, F_INT, F_ARRAY, F_OBJECT };
enum fchars {
	C_ANY,		/* any valid UTF-8 without NUL (jansson checks) */
	C_TEXT,		/* no control characters */
	C_TOKEN,	/* letters, digits and ._+- (TERM, ids) */
	C_ID,		/* lowercase letters, digits, _ and - */
	C_FILE		/* a file name: letters, digits and ._:+-, no dot first */
};

struct pfield {
	const char		*name;
	enum fkind		 kind;
	int			 required;
	long long		 min;	/* int value, string length, count */
	long long		 max;
	enum fchars		 chars;
	enum fkind		 elem;	/* for arrays */
	const struct pfield	*sub;	/* for objects; NULL: any object */
};

struct pmsg {
	const char		*type;
	enum proto_msg		 msg;
	enum proto_dir		 dir;
	const struct pfield	*fields;
};

#define END { NULL, 0, 0, 0, 0, 0, 0, NULL }
#define STR(n, req, max, ch) { n, F_STRING, req, 0, max, ch, 0, NULL }
#define STR1(n, req, max, ch) { n, F_STRING, req, 1, max, ch, 0, NULL }
#define INT(n, req, min, max) { n, F_INT, req, min, max, 0, 0, NULL }
#define ARR(n, req, min, max, elem, ch, sub) \
	{ n, F_ARRAY, req, min, max, ch, elem, sub }
#define OBJ(n, req, sub) { n, F_OBJECT, req, 0, 0, 0, 0, sub }

static const struct pfield f_hello[] = {
	INT("version", 1, 0, 1000000),
	STR1("client", 1, 16, C_ID),
	STR("term", 0, 64, C_TOKEN),
	INT("cols", 0, 1, 1000),
	INT("rows", 0, 1, 1000),
	STR("remote", 0, 128, C_TEXT),
	STR("command", 0, 1024, C_ANY),
	END
};
/*
 * A session that lost the broker re-registers on a new connection with
 * what it holds: its ticket, and while a game (or the editor of its
 * options) runs, the lease, the game, the game's pid and start, and how
 * far its stream has come. The broker checks all of it.
 */
static const struct pfield f_rejoin[] = {
	INT("version", 1, 0, 1000000),
	STR1("client", 1, 16, C_ID),
	STR1("ticket", 1, 64, C_TOKEN),
	STR1("lease", 0, 64, C_TOKEN),
	STR1("game", 0, 32, C_ID),
	INT("editing", 0, 0, 1),
	INT("pid", 0, 1, 1LL << 31),
	INT("started", 0, 0, 1LL << 50),
	INT("offset", 0, 0, 1LL << 62),
	INT("cols", 1, 1, 1000),
	INT("rows", 1, 1, 1000),
	INT("utf8", 0, 0, 1),
	INT("idle", 0, 0, 100LL * 365 * 86400),
	INT("bytes_in", 0, 0, 1LL << 62),
	INT("bytes_out", 0, 0, 1LL << 62),
	STR("term", 0, 64, C_TOKEN),
	STR("remote", 0, 128, C_TEXT),
	STR("command", 0, 1024, C_ANY),
	END
};
static const struct pfield f_rejoined[] = {
	STR1("ticket", 1, 64, C_TOKEN),
	INT("offset", 1, 0, 1LL << 62),
	END
};
static const struct pfield f_play[] = {
	STR1("game", 1, 32, C_ID),
	INT("cols", 1, 1, 1000),
	INT("rows", 1, 1, 1000),
	INT("utf8", 0, 0, 1),
	END
};
static const struct pfield f_resize[] = {
	INT("cols", 1, 1, 1000),
	INT("rows", 1, 1, 1000),
	INT("offset", 1, 0, 1LL << 62),
	END
};
static const struct pfield f_watch[] = {
	STR1("user", 1, 32, C_TOKEN),
	STR1("game", 0, 32, C_ID),
	INT("utf8", 0, 0, 1),
	END
};
static const struct pfield f_recordings[] = {
	STR1("user", 0, 32, C_TOKEN),
	END
};
static const struct pfield f_replay[] = {
	STR1("user", 1, 32, C_TOKEN),
	STR1("game", 1, 32, C_ID),
	STR1("file", 1, 64, C_FILE),
	END
};
static const struct pfield f_watching[] = {
	STR1("user", 1, 32, C_TOKEN),
	STR1("game", 1, 32, C_ID),
	STR1("name", 1, 64, C_TEXT),
	INT("cols", 1, 1, 1000),
	INT("rows", 1, 1, 1000),
	END
};
static const struct pfield f_watch_size[] = {
	INT("cols", 1, 1, 1000),
	INT("rows", 1, 1, 1000),
	END
};
static const struct pfield f_live[] = {
	STR1("user", 1, 32, C_TOKEN),
	STR1("game", 1, 32, C_ID),
	STR1("name", 1, 64, C_TEXT),
	INT("cols", 1, 1, 1000),
	INT("rows", 1, 1, 1000),
	INT("started", 1, 0, 1LL << 40),
	INT("idle", 1, 0, 1LL << 40),
	INT("watchers", 1, 0, 1LL << 31),
	END
};
static const struct pfield f_games[] = {
	ARR("games", 1, 0, 100000, F_OBJECT, 0, f_live),
	END
};
static const struct pfield f_recording[] = {
	STR1("user", 1, 32, C_TOKEN),
	STR1("game", 1, 32, C_ID),
	STR1("file", 1, 64, C_FILE),
	INT("started", 1, 0, 1LL << 40),
	INT("size", 1, 0, 1LL << 62),
	END
};
static const struct pfield f_recordings_list[] = {
	ARR("recordings", 1, 0, 1000, F_OBJECT, 0, f_recording),
	END
};
static const struct pfield f_game_end[] = {
	STR1("lease", 1, 64, C_TOKEN),
	INT("status", 0, -1, 255),
	INT("signal", 0, 0, 128),
	INT("offset", 0, 0, 1LL << 62),	/* the game's bytes, all told */
	END
};
static const struct pfield f_keepalive[] = {
	INT("idle", 1, 0, 100LL * 365 * 86400),
	INT("bytes_in", 0, 0, 1LL << 62),
	INT("bytes_out", 0, 0, 1LL << 62),
	INT("bandwidth_waits", 0, 0, 1LL << 40),
	INT("cpu_stops", 0, 0, 1LL << 40),
	STR1("cpu_mechanism", 0, 32, C_ID),
	INT("pty_fds", 0, 0, PROTO_MAX_PTY_FDS),
	END
};
static const struct pfield f_none[] = {
	END
};
static const struct pfield f_forget[] = {
	STR1("user", 1, 64, C_TEXT),
	END
};
static const struct pfield f_forgotten[] = {
	STR1("user", 1, 64, C_TEXT),
	INT("had", 1, 0, 1),
	END
};
static const struct pfield f_game[] = {
	STR1("id", 1, 32, C_ID),
	STR1("name", 1, 64, C_TEXT),
	STR1("key", 1, 1, C_TOKEN),
	STR1("rcfile", 0, 255, C_TEXT),
	END
};
static const struct pfield f_ticket[] = {
	STR1("id", 1, 64, C_TOKEN),
	STR1("user", 1, 64, C_TEXT),
	INT("expires", 1, 0, 1LL << 40),
	INT("idle_timeout", 1, 1, 1LL << 31),
	INT("online", 1, 0, 1LL << 31),
	ARR("games", 1, 0, 64, F_OBJECT, 0, f_game),
	STR1("message", 0, 512, C_TEXT),
	END
};
static const struct pfield f_refused[] = {
	STR1("reason", 1, 32, C_ID),
	STR1("message", 1, 512, C_TEXT),
	INT("retry_after", 0, 0, 1LL << 31),
	END
};
static const struct pfield f_rlimits[] = {
	INT("core", 1, 0, 1LL << 62),
	INT("nofile", 1, 0, 1LL << 30),
	INT("as", 1, 1, 1LL << 62),
	END
};
static const struct pfield f_lease[] = {
	STR1("id", 1, 64, C_TOKEN),
	STR1("game", 1, 32, C_ID),
	STR1("name", 1, 64, C_TEXT),
	ARR("argv", 1, 1, 64, F_STRING, C_TEXT, NULL),
	ARR("env", 1, 0, 64, F_STRING, C_TEXT, NULL),
	STR1("home", 1, 4096, C_TEXT),
	STR("rcfile", 0, 4096, C_TEXT),
	STR("rc_template", 0, 1024, C_TEXT),
	INT("rc_max_size", 0, 1, 1LL << 30),
	OBJ("rlimits", 1, f_rlimits),
	INT("cpu_millicores", 1, 1, 1024 * 1000),
	INT("started", 0, 0, 1LL << 50),
	END
};
static const struct pfield f_edit_rlimits[] = {
	INT("core", 1, 0, 1LL << 62),
	INT("nofile", 1, 0, 1LL << 30),
	INT("as", 1, 1, 1LL << 62),
	INT("fsize", 1, 1, 1LL << 30),
	END
};
static const struct pfield f_edit_lease[] = {
	STR1("id", 1, 64, C_TOKEN),
	STR1("game", 1, 32, C_ID),
	STR1("name", 1, 64, C_TEXT),
	ARR("argv", 1, 1, 32, F_STRING, C_TEXT, NULL),
	STR1("home", 1, 4096, C_TEXT),
	STR1("rcfile", 1, 4096, C_TEXT),
	STR("rc_template", 0, 1024, C_TEXT),
	INT("rc_max_size", 1, 1, 1LL << 30),
	OBJ("rlimits", 1, f_edit_rlimits),
	INT("cpu_millicores", 1, 1, 1024 * 1000),
	INT("started", 0, 0, 1LL << 50),
	END
};
static const struct pfield f_queued[] = {
	INT("position", 1, 1, 1LL << 31),
	INT("eta", 1, -1, 1LL << 31),
	STR1("class", 1, 16, C_ID),
	INT("online", 1, 0, 1LL << 31),
	END
};
static const struct pfield f_notice[] = {
	STR1("message", 1, 512, C_TEXT),
	END
};
static const struct pfield f_draining[] = {
	INT("sessions", 1, 0, 1LL << 31),
	INT("seconds", 1, 0, 1LL << 31),
	END
};
static const struct pfield f_limits[] = {
	INT("bandwidth", 1, 1, 1LL << 50),
	END
};
static const struct pfield f_component[] = {
	STR1("name", 1, 64, C_TEXT),
	STR1("status", 1, 16, C_ID),
	STR("detail", 1, 512, C_TEXT),
	END
};
static const struct pfield f_health[] = {
	STR1("status", 1, 16, C_ID),
	ARR("components", 1, 1, 64, F_OBJECT, 0, f_component),
	END
};
static const struct pfield f_status_reply[] = {
	OBJ("status", 1, NULL),
	END
};
static const struct pfield f_reloaded[] = {
	STR1("config", 1, 4096, C_TEXT),
	END
};
static const struct pfield f_bye[] = {
	STR1("reason", 1, 32, C_ID),
	STR1("message", 1, 512, C_TEXT),
	END
};

static const struct pmsg pmsgs[] = {
	{ "hello", MSG_HELLO, PROTO_TO_BROKER, f_hello },
	{ "rejoin", MSG_REJOIN, PROTO_TO_BROKER, f_rejoin },
	{ "play", MSG_PLAY, PROTO_TO_BROKER, f_play },
	{ "edit", MSG_EDIT, PROTO_TO_BROKER, f_play },
	{ "game_end", MSG_GAME_END, PROTO_TO_BROKER, f_game_end },
	{ "keepalive", MSG_KEEPALIVE, PROTO_TO_BROKER, f_keepalive },
	{ "goodbye", MSG_GOODBYE, PROTO_TO_BROKER, f_none },
	{ "check", MSG_CHECK, PROTO_TO_BROKER, f_none },
	{ "status", MSG_STATUS, PROTO_TO_BROKER, f_none },
	{ "reload", MSG_RELOAD, PROTO_TO_BROKER, f_none },
	{ "drain", MSG_DRAIN, PROTO_TO_BROKER, f_none },
	{ "forget", MSG_FORGET, PROTO_TO_BROKER, f_forget },
	{ "resize", MSG_RESIZE, PROTO_TO_BROKER, f_resize },
	{ "watch", MSG_WATCH, PROTO_TO_BROKER, f_watch },
	{ "unwatch", MSG_UNWATCH, PROTO_TO_BROKER, f_none },
	{ "redraw", MSG_REDRAW, PROTO_TO_BROKER, f_none },
	{ "list", MSG_LIST, PROTO_TO_BROKER, f_none },
	{ "recordings", MSG_RECORDINGS, PROTO_TO_BROKER, f_recordings },
	{ "replay", MSG_REPLAY, PROTO_TO_BROKER, f_replay },
	{ "replay_more", MSG_REPLAY_MORE, PROTO_TO_BROKER, f_none },
	{ "replay_stop", MSG_REPLAY_STOP, PROTO_TO_BROKER, f_none },
	{ "ticket", MSG_TICKET, PROTO_FROM_BROKER, f_ticket },
	{ "refused", MSG_REFUSED, PROTO_FROM_BROKER, f_refused },
	{ "lease", MSG_LEASE, PROTO_FROM_BROKER, f_lease },
	{ "error", MSG_ERROR, PROTO_FROM_BROKER, f_refused },
	{ "health", MSG_HEALTH, PROTO_FROM_BROKER, f_health },
	{ "status", MSG_STATUS_REPLY, PROTO_FROM_BROKER, f_status_reply },
	{ "reloaded", MSG_RELOADED, PROTO_FROM_BROKER, f_reloaded },
	{ "bye", MSG_BYE, PROTO_FROM_BROKER, f_bye },
	{ "queued", MSG_QUEUED, PROTO_FROM_BROKER, f_queued },
	{ "limits", MSG_LIMITS, PROTO_FROM_BROKER, f_limits },
	{ "notice", MSG_NOTICE, PROTO_FROM_BROKER, f_notice },
	{ "draining", MSG_DRAINING, PROTO_FROM_BROKER, f_draining },
	{ "forgotten", MSG_FORGOTTEN, PROTO_FROM_BROKER, f_forgotten },
	{ "edit_lease", MSG_EDIT_LEASE, PROTO_FROM_BROKER, f_edit_lease },
	{ "watching", MSG_WATCHING, PROTO_FROM_BROKER, f_watching },
	{ "watch_size", MSG_WATCH_SIZE, PROTO_FROM_BROKER, f_watch_size },
	{ "watch_end", MSG_WATCH_END, PROTO_FROM_BROKER, f_bye },
	{ "games", MSG_GAMES, PROTO_FROM_BROKER, f_games },
	{ "recordings", MSG_RECORDINGS_LIST, PROTO_FROM_BROKER,
	    f_recordings_list },
	{ "replaying", MSG_REPLAYING, PROTO_FROM_BROKER, f_recording },
	{ "replay_end", MSG_REPLAY_END, PROTO_FROM_BROKER, f_none },
	{ "rejoined", MSG_REJOINED, PROTO_FROM_BROKER, f_rejoined },
};

/* Write a frame header for a payload of len bytes. */
void
proto_header_encode(uint8_t *hdr, uint8_t type, uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	hdr[4] = type;
}

/* Write a stream frame's header and offset for len bytes of data. */
void
proto_stream_encode(uint8_t *hdr, uint64_t offset, size_t len)
{
	int	 i;

	proto_header_encode(hdr, PROTO_FRAME_STREAM,
	    (uint32_t)(PROTO_STREAM_HEADER + len));
	for (i = 0; i < 8; i++)
		hdr[PROTO_HEADER_SIZE + i] = (uint8_t)(offset >> (56 - 8 * i));
}

/* The offset at the start of a stream frame's payload. */
uint64_t
proto_stream_offset(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Read a frame header. Returns 0 when valid, -1 with *cause when the
 * length is zero or beyond max or the type is unknown. A stream frame
 * must hold its offset and at least one byte, and no more than
 * PROTO_STREAM_FRAME.
 */
int
proto_header_decode(const uint8_t *hdr, size_t max, uint8_t *type,
    uint32_t *len, const char **cause)
{
	*len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
	    ((uint32_t)hdr[2] << 8) | hdr[3];
	*type = hdr[4];
	if (*type != PROTO_FRAME_JSON && *type != PROTO_FRAME_STREAM) {
		*cause = "unknown frame type";
		return -1;
	}
	if (*type == PROTO_FRAME_STREAM && (*len <= PROTO_STREAM_HEADER ||
	    *len > PROTO_STREAM_FRAME)) {
		*cause = *len > PROTO_STREAM_FRAME ? "frame too large" :
		    "stream frame without bytes";
		return -1;
	}
	if (*len == 0) {
		*cause = "empty frame";
		return -1;
	}
	if (*len > max) {
		*cause = "frame too large";
		return -1;
	}
	return 0;
}

/* Do a string's characters belong to the field's class? */
static int
pchars_ok(const char *s, enum fchars chars)
{
	const u_char	*p;

	if (chars == C_TEXT)
		return util_valid_text(s);
	for (p = (const u_char *)s; *p != '\0'; p++) {
		switch (chars) {
		case C_ANY:
			break;
		case C_TEXT:
			/* Checked whole below: UTF-8 and C1 controls. */
			break;
		case C_TOKEN:
			if (!isalnum(*p) && strchr("._+-", *p) == NULL)
				return 0;
			break;
		case C_ID:
			if (!islower(*p) && !isdigit(*p) && *p != '_' &&
			    *p != '-')
				return 0;
			break;
		case C_FILE:
			if ((!isalnum(*p) && strchr("._:+-", *p) == NULL) ||
			    (p == (const u_char *)s && *p == '.'))
				return 0;
			break;
		}
	}
	return 1;
}

static int	pobject_check(const json_t *, const struct pfield *,
		    const char *, char **);

/* Check one value against its field. */
static int
pvalue_check(const json_t *v, const struct pfield *f, enum fkind kind,
    const char *where, char **cause)
{
	json_int_t	 i;
	size_t		 len, n;
	const json_t	*e;
	char		*sub;
	int		 rc;

	switch (kind) {
	case F_STRING:
		if (!json_is_string(v)) {
			xasprintf(cause, "%s: expected a string", where);
			return -1;
		}
		len = json_string_length(v);
		if ((long long)len < f->min || (long long)len > f->max) {
			xasprintf(cause, "%s: length %zu not in %lld..%lld",
			    where, len, f->min, f->max);
			return -1;
		}
		if (strlen(json_string_value(v)) != len ||
		    !pchars_ok(json_string_value(v), f->chars)) {
			xasprintf(cause, "%s: characters not allowed", where);
			return -1;
		}
		return 0;
	case F_INT:
		if (!json_is_integer(v)) {
			xasprintf(cause, "%s: expected an integer", where);
			return -1;
		}
		i = json_integer_value(v);
		if (i < f->min || i > f->max) {
			xasprintf(cause, "%s: %lld not in %lld..%lld", where,
			    (long long)i, f->min, f->max);
			return -1;
		}
		return 0;
	case F_ARRAY:
		if (!json_is_array(v)) {
			xasprintf(cause, "%s: expected an array", where);
			return -1;
		}
		n = json_array_size(v);
		if ((long long)n < f->min || (long long)n > f->max) {
			xasprintf(cause, "%s: %zu items not in %lld..%lld",
			    where, n, f->min, f->max);
			return -1;
		}
		json_array_foreach(v, n, e) {
			struct pfield elem = *f;

			/* Array bounds are counts; elements get string bounds. */
			elem.min = 0;
			elem.max = 4096;
			xasprintf(&sub, "%s[%zu]", where, n);
			rc = pvalue_check(e, &elem, f->elem, sub, cause);
			free(sub);
			if (rc != 0)
				return -1;
		}
		return 0;
	case F_OBJECT:
		if (!json_is_object(v)) {
			xasprintf(cause, "%s: expected an object", where);
			return -1;
		}
		if (f->sub == NULL)
			return 0;
		return pobject_check(v, f->sub, where, cause);
	}
	fatalx("unknown field kind %d", kind);
}

/* Check an object: required fields present, no unknown fields. */
static int
pobject_check(const json_t *obj, const struct pfield *fields,
    const char *where, char **cause)
{
	const struct pfield	*f;
	const char		*key;
	const json_t		*v;
	char			*sub;
	int			 rc;

	json_object_foreach((json_t *)obj, key, v) {
		if (where == NULL && strcmp(key, "type") == 0)
			continue;
		for (f = fields; f->name != NULL; f++) {
			if (strcmp(f->name, key) == 0)
				break;
		}
		if (f->name == NULL) {
			xasprintf(cause, "%s%s%s: unknown field",
			    where != NULL ? where : "", where != NULL ? "." : "",
			    log_quote(key));
			return -1;
		}
	}
	for (f = fields; f->name != NULL; f++) {
		if (where != NULL)
			xasprintf(&sub, "%s.%s", where, f->name);
		else
			sub = xstrdup(f->name);
		v = json_object_get(obj, f->name);
		if (v == NULL) {
			rc = f->required ? -1 : 0;
			if (rc != 0)
				xasprintf(cause, "%s: missing", sub);
		} else
			rc = pvalue_check(v, f, f->kind, sub, cause);
		free(sub);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * Parse and check one JSON payload travelling in direction dir. Returns 0
 * with the message and its type, or -1 with *cause.
 */
int
proto_parse(const void *buf, size_t len, enum proto_dir dir, json_t **msgp,
    enum proto_msg *typep, char **cause)
{
	json_t		*msg;
	json_error_t	 error;
	const json_t	*type;
	u_int		 i;

	msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &error);
	if (msg == NULL) {
		xasprintf(cause, "invalid JSON at byte %d: %s", error.position,
		    error.text);
		return -1;
	}
	if (!json_is_object(msg)) {
		xasprintf(cause, "a message must be a JSON object");
		goto fail;
	}
	type = json_object_get(msg, "type");
	if (!json_is_string(type)) {
		xasprintf(cause, "type: missing or not a string");
		goto fail;
	}
	for (i = 0; i < nitems(pmsgs); i++) {
		if (pmsgs[i].dir == dir &&
		    strcmp(pmsgs[i].type, json_string_value(type)) == 0)
			break;
	}
	if (i == nitems(pmsgs)) {
		xasprintf(cause, "type: unknown message %s",
		    log_quote(json_string_value(type)));
		goto fail;
	}
	if (pobject_check(msg, pmsgs[i].fields, NULL, cause) != 0)
		goto fail;
	*msgp = msg;
	*typep = pmsgs[i].msg;
	return 0;

fail:
	json_decref(msg);
	return -1;
}

/* The wire name of a message type. */
const char *
proto_msg_name(enum proto_msg msg)
{
	u_int	 i;

	for (i = 0; i < nitems(pmsgs); i++) {
		if (pmsgs[i].msg == msg)
			return pmsgs[i].type;
	}
	return "unknown";
}

/*
 * Encode a message as a whole frame; returns its bytes and length, or
 * NULL when it would pass the largest frame a peer accepts.
 */
void *
proto_pack(const json_t *msg, size_t *lenp)
{
	char	*json;
	uint8_t	*frame;
	size_t	 len;

	if ((json = json_dumps(msg, JSON_COMPACT)) == NULL)
		fatalx("json_dumps failed");
	len = strlen(json);
	if (len > PROTO_MAX_FROM_BROKER) {
		free(json);
		return NULL;
	}
	frame = xmalloc(PROTO_HEADER_SIZE + len);
	proto_header_encode(frame, PROTO_FRAME_JSON, (uint32_t)len);
	memcpy(frame + PROTO_HEADER_SIZE, json, len);
	free(json);
	*lenp = PROTO_HEADER_SIZE + len;
	return frame;
}

/* Write a whole message to a blocking descriptor. */
int
proto_write(int fd, const json_t *msg, char **cause)
{
	uint8_t	*frame;
	size_t	 len;
	int	 rc;

	if ((frame = proto_pack(msg, &len)) == NULL) {
		xasprintf(cause, "message too large");
		return -1;
	}
	if ((rc = util_write_all(fd, frame, len)) != 0)
		xasprintf(cause, "write: %s", errno == EPIPE ? "closed" :
		    strerror(errno));
	free(frame);
	return rc;
}

/* Read exactly len bytes before the deadline (monotonic ms). */
static int
read_full(int fd, void *buf, size_t len, int64_t deadline, char **cause)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	struct timespec	 ts;
	size_t		 off = 0;
	ssize_t		 n;
	int64_t		 now;
	int		 rc;

	while (off < len) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		if (deadline >= 0 && now >= deadline) {
			xasprintf(cause, "timed out");
			return -1;
		}
		rc = poll(&pfd, 1, deadline < 0 ? -1 : (int)(deadline - now));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1) {
			xasprintf(cause, "poll: %s", strerror(errno));
			return -1;
		}
		if (rc == 0)
			continue;
		n = read(fd, (char *)buf + off, len - off);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			xasprintf(cause, "%s", n == 0 ? "connection closed" :
			    strerror(errno));
			return -1;
		}
		off += (size_t)n;
	}
	return 0;
}

/*
 * Read one message from a blocking descriptor within timeout ms (-1: no
 * limit). Returns 0, or -1 with *cause.
 */
int
proto_read(int fd, int timeout, size_t max, enum proto_dir dir,
    json_t **msgp, enum proto_msg *typep, char **cause)
{
	uint8_t		 hdr[PROTO_HEADER_SIZE], type;
	uint32_t	 len;
	struct timespec	 ts;
	int64_t		 deadline = -1;
	const char	*why;
	char		*buf;
	int		 rc;

	if (timeout >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
		    timeout;
	}
	if (read_full(fd, hdr, sizeof hdr, deadline, cause) != 0)
		return -1;
	if (proto_header_decode(hdr, max, &type, &len, &why) != 0) {
		xasprintf(cause, "%s", why);
		return -1;
	}
	if (type != PROTO_FRAME_JSON) {
		xasprintf(cause, "unexpected stream frame");
		return -1;
	}
	buf = xmalloc(len);
	if (read_full(fd, buf, len, deadline, cause) != 0) {
		free(buf);
		return -1;
	}
	rc = proto_parse(buf, len, dir, msgp, typep, cause);
	free(buf);
	return rc;
}
