/*
 * The wire protocol between dg-session (and admin tools) and dg-broker.
 *
 * A frame is a 4-byte big-endian payload length, a 1-byte frame type and
 * the payload. Control frames carry one JSON object whose "type" names
 * the message; every field is checked for presence, type and size.
 */
#ifndef PROTO_H
#define PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROTO_VERSION		1
#define PROTO_HEADER_SIZE	5
#define PROTO_FRAME_JSON	1
/*
 * A stream frame carries raw terminal bytes: an 8-byte big-endian offset
 * (from a playing session, the game's byte offset of the first byte, so
 * that the broker can see a gap or a repeat; from the broker, the bytes
 * it has sent that watcher or replay before), then the bytes.
 */
#define PROTO_FRAME_STREAM	2
#define PROTO_STREAM_HEADER	8
/* Largest stream frame either way, and the bytes one carries at most. */
#define PROTO_STREAM_FRAME	(64 * 1024)
#define PROTO_STREAM_DATA	(PROTO_STREAM_FRAME - PROTO_STREAM_HEADER)

/* Largest frame the broker accepts from a peer. */
#define PROTO_MAX_TO_BROKER	(64 * 1024)
/* Largest frame a peer accepts from the broker (status can be long). */
#define PROTO_MAX_FROM_BROKER	(16 * 1024 * 1024)
/* The most PTY descriptors a session may report for its game. */
#define PROTO_MAX_PTY_FDS	(1 << 18)

enum proto_dir {
	PROTO_TO_BROKER,
	PROTO_FROM_BROKER
};

enum proto_msg {
	/* to the broker */
	MSG_HELLO,
	MSG_PLAY,
	MSG_GAME_END,
	MSG_KEEPALIVE,
	MSG_GOODBYE,
	MSG_CHECK,
	MSG_STATUS,
	MSG_RELOAD,
	MSG_DRAIN,
	MSG_FORGET,
	MSG_EDIT,
	MSG_RESIZE,
	MSG_WATCH,
	MSG_UNWATCH,
	MSG_REDRAW,
	MSG_LIST,
	MSG_RECORDINGS,
	MSG_REPLAY,
	MSG_REPLAY_MORE,
	MSG_REPLAY_STOP,
	MSG_REJOIN,
	/* from the broker */
	MSG_TICKET,
	MSG_REFUSED,
	MSG_LEASE,
	MSG_ERROR,
	MSG_HEALTH,
	MSG_STATUS_REPLY,
	MSG_RELOADED,
	MSG_BYE,
	MSG_QUEUED,
	MSG_LIMITS,
	MSG_NOTICE,
	MSG_DRAINING,
	MSG_FORGOTTEN,
	MSG_EDIT_LEASE,
	MSG_WATCHING,
	MSG_WATCH_SIZE,
	MSG_WATCH_END,
	MSG_GAMES,
	MSG_RECORDINGS_LIST,
	MSG_REPLAYING,
	MSG_REPLAY_END,
	MSG_REJOINED
};

/* Refusal and error reasons: stable strings for scripts and tests. */
#define REASON_QUEUE_FULL	"queue_full"
#define REASON_DRAINING		"draining"
#define REASON_QUEUE_TIMEOUT	"queue_timeout"
#define REASON_PTYS_EXHAUSTED	"ptys_exhausted"
#define REASON_VERSION		"version"
#define REASON_BAD_FRAME	"bad_frame"
#define REASON_BAD_MESSAGE	"bad_message"
#define REASON_UNEXPECTED	"unexpected"
#define REASON_NO_USER		"no_user"
#define REASON_FORBIDDEN	"forbidden"
#define REASON_NO_GAME		"no_game"
#define REASON_GAME_BUSY	"game_busy"
#define REASON_EXPIRED		"expired"
#define REASON_SHUTDOWN		"shutdown"
#define REASON_BUSY		"busy"
#define REASON_RELOAD_FAILED	"reload_failed"
#define REASON_RATE_LIMITED	"rate_limited"
#define REASON_DENIED		"denied"
#define REASON_UNAVAILABLE	"unavailable"
#define REASON_OVERLOADED	"overloaded"
#define REASON_NO_RCFILE	"no_rcfile"

/*
 * Editing a game's options: the session sends "edit" (like "play": a
 * game and the window size); the broker answers "edit_lease" with the
 * editor's command, the options file (absolute, under home), the
 * template it starts from when missing, the size cap and the limits
 * (fsize is the cap). The session opens and checks the file itself and
 * appends PROTO_EDIT_FILE, the descriptor it checked, to the command.
 */
#define PROTO_EDIT_FD		3
#define PROTO_EDIT_FILE		"/dev/fd/3"
#define REASON_NOT_PLAYING	"not_playing"
#define REASON_SPECTATE_OFF	"spectate_disabled"
#define REASON_ENDED		"ended"
#define REASON_NO_RECORDING	"no_recording"
/* A rejoin the broker cannot verify. */
#define REASON_BAD_TICKET	"bad_ticket"
#define REASON_TICKET_HELD	"ticket_held"
#define REASON_LEASE_HELD	"lease_held"
#define REASON_NOT_CHILD	"not_child"

/* A stream frame, as proto_next found it: the data is in the caller's buffer. */
struct proto_stream {
	uint64_t	 offset;
	u_char		*data;		/* PROTO_STREAM_DATA bytes */
	size_t		 len;
};

void		 proto_header_encode(uint8_t *, uint8_t, uint32_t);
void		 proto_stream_encode(uint8_t *, uint64_t, size_t);
uint64_t	 proto_stream_offset(const uint8_t *);
int		 proto_header_decode(const uint8_t *, size_t, uint8_t *,
		     uint32_t *, const char **);
int		 proto_parse(const void *, size_t, enum proto_dir, json_t **,
		     enum proto_msg *, char **);
const char	*proto_msg_name(enum proto_msg);
void		*proto_pack(const json_t *, size_t *);
int		 proto_write(int, const json_t *, char **);
int		 proto_read(int, int, size_t, enum proto_dir, json_t **,
		     enum proto_msg *, char **);

/* proto-event.c */
struct evbuffer;
int		 proto_next(struct evbuffer *, size_t, enum proto_dir,
		     json_t **, enum proto_msg *, struct proto_stream *,
		     char **);
void		 proto_add_stream(struct evbuffer *, uint64_t, const void *,
		     size_t);

#endif
