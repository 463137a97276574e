/*
 * dg-session: declarations shared by the session's files.
 */
#ifndef SESSION_H
#define SESSION_H

#include <sys/types.h>

#include <termios.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "dungeongate.h"
#include "proto.h"

/* Exit statuses the player's ssh client sees. */
#define SESSION_EXIT_OK		0
#define SESSION_EXIT_REFUSED	1	/* bad command, no tty, refused */
#define SESSION_EXIT_UNAVAIL	69	/* broker down, full or overloaded */
#define SESSION_EXIT_DENIED	77	/* the auth service says no */

/* How often the session reports to the broker. */
#define SESSION_REPORT_EVERY	2
/* How long the last bytes for the player or the broker may take at exit. */
#define SESSION_EXIT_WRITE_MS	2000
/* After SIGHUP, how long a game has to save before SIGTERM, then SIGKILL. */
#define SESSION_HANGUP_TERM	30
#define SESSION_HANGUP_KILL	60
/*
 * Output for the player's terminal: one queue (to_user), paced by the
 * bandwidth share, and these marks for everything that writes to it.
 * The game's PTY is read, and a notice over the game written, only while
 * less than SESSION_USER_LOW waits; a redraw of the menu or the queue line
 * waits for an empty queue and replaces what was to be drawn; the
 * player's keys are not read while more than SESSION_USER_HIGH waits or
 * a redraw is pending, and again once below SESSION_USER_LOW. So what
 * waits stays under SESSION_USER_LOW + RELAY_READ_SIZE while a game runs,
 * under SESSION_USER_HIGH + RELAY_READ_SIZE (320 KB) while the last output
 * of a game that exited is taken, and one menu (at most 1000x1000 with 64
 * games and a notice, under 100 KB) more. SESSION_USER_MAX, 1 MB, is the
 * hard bound: whatever happens no more ever waits, bytes past it are
 * dropped.
 */
#define SESSION_USER_HIGH	(256 * 1024)
#define SESSION_USER_LOW	(64 * 1024)
#define SESSION_USER_MAX	(1024 * 1024)
/* Out of share, the queue waits for this many tokens (or all it holds). */
#define SESSION_USER_CHUNK	512
/* Stop reading the player's keys while this much waits for the game. */
#define RELAY_GAME_HIGH		(64 * 1024)
/* The most read from the game's PTY at once. */
#define RELAY_READ_SIZE		(64 * 1024)
/* How often a game's CPU use is looked at, and the most it may bank. */
#define RELAY_CPU_TICK_MS	50
#define RELAY_CPU_BURST_MS	100
/* The most processes of one game that are measured and stopped. */
#define RELAY_CPU_MAX_PROCS	64
/* Most descriptors of one process looked at for the PTY's. */
#define RELAY_PTY_MAX_FDS	2048

/*
 * The copy of the game's output for the broker (watchers, recording): it
 * never waits, so the player is never slowed by the broker. At most
 * SESSION_STREAM_MAX is queued to the broker's socket; the rest waits in
 * the session's copy (stream_keep), up to SESSION_STREAM_HOLD not yet
 * sent (while the broker is behind, stopped, or away across a restart).
 * Past that the oldest is dropped, and the next stream frame's offset
 * shows the gap. The copy also keeps the last SESSION_STREAM_KEEP
 * already sent, so that a restarted broker can ask again for what its
 * writer had not written when the old one died.
 */
#define SESSION_STREAM_MAX	(1024 * 1024)
#define SESSION_STREAM_HOLD	(4 * 1024 * 1024)
#define SESSION_STREAM_KEEP	(1024 * 1024)
/*
 * A session whose broker went away while a game runs connects again:
 * the first try at once, then after SESSION_RECONNECT_MIN_MS, doubling
 * up to SESSION_RECONNECT_MAX_MS between tries, for as long as the game
 * runs. A new login that finds no broker waits the same way for up to
 * SESSION_LOGIN_WAIT seconds ("DungeonGate is restarting, one moment"),
 * and that bound holds for the answer to its hello as well.
 */
#define SESSION_RECONNECT_MIN_MS 50
#define SESSION_RECONNECT_MAX_MS 1000
#define SESSION_LOGIN_WAIT	15

/* The fixed PATH every game gets. */
#define SESSION_GAME_PATH	"/usr/local/bin:/usr/bin:/bin:/usr/games"

enum session_cmd {
	CMD_MENU,
	CMD_PLAY,
	CMD_WATCH,		/* the watch list, or one user's game */
	CMD_LIST,		/* the live games as text, no terminal */
	CMD_LIST_JSON
};

/* The watch list and the recordings: how often, and how many at once. */
#define WATCH_LIST_EVERY_MS	1000
#define WATCH_LABELS		"abcdefghijklmnoprstuvwxyz"	/* no q */
/* Replay: a record's most bytes, and how speeds go. */
#define REPLAY_RECORD_MAX	(1024 * 1024)
#define REPLAY_IDLE_MAX_MS	1000	/* a gap, with idle skipping on */
#define REPLAY_SPEED_MIN	0.125
#define REPLAY_SPEED_MAX	64.0

enum session_state {
	STATE_HELLO,		/* waiting for a ticket */
	STATE_QUEUED,		/* waiting in line for a slot */
	STATE_MENU,
	STATE_REQUEST,		/* asked for a lease */
	STATE_PLAYING,
	STATE_HANGUP,		/* player gone: waiting for the game to save */
	STATE_WATCH_LIST,	/* the games being played, picked by letter */
	STATE_WATCH_WAIT,	/* asked to watch one */
	STATE_WATCHING,		/* the watched game's bytes come */
	STATE_REC_LIST,		/* recordings, picked by letter */
	STATE_REC_WAIT,		/* asked for the list or a replay */
	STATE_REPLAY,		/* a recording plays */
	STATE_DONE
};

struct game {
	char		 lease[ID_LEN + 16];
	char		*id;
	char		*name;
	int64_t		 started;	/* the lease's start, wall ms */
	int		 editing;	/* the editor of the game's options */
	int		 rc_fd;		/* the editor's file, checked; or -1 */
	struct timespec	 rc_mtime;	/* its time when the editor started */
	off_t		 rc_max;	/* the cap on its size */
	pid_t		 pid;
	int		 master;
	int		 exited;	/* waitpid reported it */
	int		 status;	/* exit status, -1 if signalled */
	int		 signal;
	int		 master_eof;
	struct event	*read_ev;
	struct event	*write_ev;
	int		 read_paused;	/* held back by the player's terminal */
	int		 bw_paused;	/* held back by the bandwidth share */
	struct evbuffer	*to_game;
	struct event	*escalate;	/* SIGTERM then SIGKILL after hangup */
	int		 escalation;

	/* Held to its CPU share by stopping and continuing its group. */
	u_int		 cpu_millicores;
	struct event	*cpu_ev;
	int64_t		 cpu_at;	/* ms of the last look */
	uint64_t	 cpu_used;	/* ms of CPU at the last look */
	double		 cpu_budget;	/* ms it may still use */
	int		 cpu_stopped;
	uint64_t	 cpu_stops;	/* since the last report */
};

struct session {
	struct event_base *base;
	struct config	*cfg;
	enum session_state state;
	int		 exit_status;
	char		*farewell;	/* the last line on the screen */

	enum session_cmd cmd;
	char		*direct_game;	/* from `play GAME` */
	int		 request_edit;	/* the lease asked for is an editor's */
	int		 menu_pick;	/* e asks whose options to edit */

	/* The player's terminal. */
	char		*term;
	u_int		 cols;
	u_int		 rows;
	struct event	*tty_read_ev;
	struct event	*tty_write_ev;
	struct evbuffer	*to_user;	/* at most SESSION_USER_MAX */
	int		 user_gone;
	int		 raw;		/* the terminal is in raw mode */
	int64_t		 last_input;	/* monotonic ms */
	int		 keys_held;	/* keys wait for output to drain */
	int		 keys_reading;	/* tty_read_ev is added */
	int		 redraw;	/* the screen is to be drawn again */
	int		 notice_pending; /* a notice waits to go over a game */
	int		 utf8;		/* the player's locale is UTF-8 */

	/* What passes, for the broker's tracker, and the output's limit. */
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	struct bucket	 bandwidth;	/* the share the broker pushes */
	struct event	*bandwidth_ev;	/* output resumes when tokens come */
	int		 bandwidth_held; /* bandwidth_ev is waiting */
	uint64_t	 bandwidth_waits; /* since the last report */

	/* The broker. */
	int		 broker_fd;
	struct bufferevent *broker;
	int		 broker_gone;
	char		*remote;	/* the hello's, for a rejoin */
	char		*command;
	struct event	*reconnect_ev;	/* the next try to reach it again */
	int		 reconnect_ms;	/* the wait before the one after */
	int		 rejoining;	/* said rejoin, waits for the answer */
	int		 alone;		/* refused: the game goes on alone */
	int		 over_pending;	/* the game ended while rejoining */
	char		*connect_line;	/* why a login has not reached it */
	int		 said_restarting; /* the login was told it waits */
	char		 ticket[ID_LEN + 16];
	char		*user;
	u_int		 idle_timeout;	/* seconds */
	json_t		*games;
	struct event	*hello_timer;
	struct event	*keepalive_ev;
	struct event	*idle_ev;

	/* The menu, and the place in line while queued. */
	char		*notice;
	long long	 queue_position;
	long long	 queue_eta;

	struct game	*game;

	/* Watching: the list, its order and page, and the game watched. */
	char		*direct_user;	/* from `watch USER` */
	json_t		*live;		/* the last list of games */
	int		 sort;		/* a column's key, see session-watch.c */
	int		 sort_reverse;
	u_int		 page;
	struct event	*list_ev;	/* asks for the list once a second */
	char		*watched;	/* user */
	char		*watched_name;	/* game */
	u_int		 watched_cols;
	u_int		 watched_rows;
	int		 broker_held;	/* not read: the terminal is behind */
	struct proto_stream stream_in;

	/* Recordings and their replay. */
	json_t		*recordings;
	struct evbuffer	*replay_buf;	/* ttyrec bytes not played yet */
	struct termsafe	 replay_safe;	/* control strings stay out */
	int		 replay_asked;	/* a read is on its way */
	int		 replay_eof;
	int		 replay_paused;
	int		 replay_skip_idle;
	int		 replay_done;
	double		 replay_speed;
	uint64_t	 replay_last;	/* the last record's time, us */
	int		 replay_started;
	int		 replay_waited;	/* the next record's time has come */
	struct event	*replay_ev;

	/* The copy of the game's output for the broker. */
	uint64_t	 stream_offset;	/* game bytes so far */
	struct evbuffer	*stream_keep;	/* from keep_start to stream_offset */
	uint64_t	 keep_start;
	uint64_t	 stream_sent;	/* queued to the broker up to here */
	uint64_t	 stream_dropped; /* lost past SESSION_STREAM_HOLD */
	int		 stream_gap;	/* dropping now */

	struct event	*sig_winch;
	struct event	*sig_hup;
	struct event	*sig_term;
	struct event	*sig_int;
	struct event	*sig_chld;
};

/* session.c */
int		 session_run(struct config *, enum session_cmd, const char *);
void		 session_send(struct session *, json_t *);
int		 session_write_buffer(struct evbuffer *, int);
void		 session_pass(struct evbuffer *, int, const void *, size_t);
void		 session_user_write(struct session *, const void *, size_t);
void		 session_user_flush(struct session *);
void		 session_bandwidth_wait(struct session *, size_t);
void		 session_keys_update(struct session *);
void		 session_redraw(struct session *);
void		 session_hangup(struct session *, const char *);
void		 session_finish(struct session *, int, const char *);
void		 session_play(struct session *, const char *);
void		 session_edit(struct session *, const char *);
void		 session_game_over(struct session *);
void		 session_report(struct session *);

/* session-command.c */
int		 command_parse(const char *, enum session_cmd *, char **,
		     char **);
int		 command_is_user(const char *, size_t);
char		*command_printable(const char *, size_t);

/* session-rcfile.c */
struct rcfile {
	const char	*home;
	const char	*path;		/* absolute, below home */
	const char	*template;	/* copied when missing; NULL: none */
	size_t		 max;		/* bytes */
	uid_t		 uid;		/* whose it must be */
	int		 made;		/* it was made now */
	char		*warning;	/* why the template was not used */
};
int		 rcfile_ensure(struct rcfile *, char **);
int		 rcfile_open(struct rcfile *, char **);

/* session-tty.c */
int		 tty_raw(void);
void		 tty_restore(void);
void		 tty_size(int, u_int *, u_int *);
const char	*tty_term(void);

/* session-menu.c */
void		 menu_line(struct evbuffer *, u_int, const char *, ...)
		     printflike(3, 4);
void		 menu_wrap(struct evbuffer *, u_int, const char *);
void		 menu_rule(struct evbuffer *, u_int);
void		 menu_finish(struct session *, struct evbuffer *);
u_int		 menu_page_size(struct session *, u_int);
void		 menu_draw(struct session *);
void		 menu_key(struct session *, u_char);
void		 menu_reset_terminal(struct session *);

/* session-watch.c */
int		 watch_locale_utf8(void);
int		 watch_print_list(struct config *, int);
void		 watch_open_list(struct session *);
void		 watch_start(struct session *, const char *);
void		 watch_draw(struct session *);
void		 watch_key(struct session *, u_char);
void		 watch_dispatch(struct session *, enum proto_msg, json_t *);
void		 watch_stream(struct session *, const struct proto_stream *);
void		 watch_resized(struct session *);
void		 watch_free(struct session *);

/* session-replay.c */
void		 replay_open_list(struct session *);
void		 replay_draw(struct session *);
void		 replay_key(struct session *, u_char);
void		 replay_dispatch(struct session *, enum proto_msg, json_t *);
void		 replay_stream(struct session *, const struct proto_stream *);
void		 replay_free(struct session *);

/* session.c (shared with session-watch.c and session-replay.c) */
int		 session_connect(const struct config *, char **);
void		 session_set_state(struct session *, enum session_state);
void		 session_back(struct session *, char *);

/* session-pty.c */
char		**pty_environment(json_t *, const char *, const char *);
int		 pty_open_rcfile(struct session *, json_t *, char **);
int		 pty_spawn(struct session *, json_t *, struct game *, char **);

/* session-relay.c */
void		 relay_start(struct session *);
void		 relay_user_input(struct session *, const u_char *, size_t);
void		 relay_resize(struct session *);
void		 relay_child(struct session *);
void		 relay_hangup(struct session *);
void		 relay_free(struct session *);
void		 relay_user_drained(struct session *);
void		 relay_bandwidth_resume(struct session *);
void		 relay_report(struct session *, json_t *);
void		 relay_stream_flush(struct session *);
void		 relay_stream_finish(struct session *);
void		 relay_stream_rejoined(struct session *, uint64_t);

#endif
