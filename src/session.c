/*
 * dg-session's event loop: the link to the broker, the player's terminal,
 * signals, and the states a session goes through (hello, menu, playing,
 * hangup). The game's PTY relay is in session-relay.c.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

static void	session_dispatch(struct session *, enum proto_msg, json_t *);
static void	session_broker_read_cb(struct bufferevent *, void *);
static void	session_broker_lost(struct session *, const char *);
static void	session_reconnect_later(struct session *);
static void	session_draw(struct session *);
static void	session_notice_draw(struct session *);
static void	session_notice(struct session *, const char *);
static void	session_rejoin_refused(struct session *, const char *,
		    const char *);

/* Queue a message to the broker; the session owns it from here. */
void
session_send(struct session *s, json_t *msg)
{
	void	*frame;
	size_t	 len;

	if (msg == NULL)
		fatalx("session_send: message could not be built");
	if (s->broker == NULL || s->broker_gone) {
		json_decref(msg);
		return;
	}
	frame = proto_pack(msg, &len);
	json_decref(msg);
	if (frame == NULL)
		fatalx("session message too large");
	bufferevent_write(s->broker, frame, len);
	free(frame);
}

/*
 * Write a buffer to a descriptor until it is empty or the descriptor
 * would block. Returns 0, or -1 when the descriptor failed.
 */
int
session_write_buffer(struct evbuffer *b, int fd)
{
	int	 n;

	while (evbuffer_get_length(b) > 0) {
		n = evbuffer_write(b, fd);
		if (n > 0 || (n == -1 && errno == EINTR))
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		return -1;
	}
	return 0;
}

/* Bytes went to the player's terminal: count them and pay for them. */
static void
session_user_sent(struct session *s, size_t n)
{
	s->bytes_out += n;
	bucket_spend(&s->bandwidth, n);
}

/*
 * Output is over the share: wake when the bucket holds want bytes. One
 * wait at a time, and each counted for the broker.
 */
void
session_bandwidth_wait(struct session *s, size_t want)
{
	struct timeval	 tv;

	if (s->bandwidth_held)
		return;
	tv = util_timeval_ms(bucket_wait_for(&s->bandwidth, util_now_ms(),
	    want));
	evtimer_add(s->bandwidth_ev, &tv);
	s->bandwidth_held = 1;
	s->bandwidth_waits++;
}

/* The share has earned tokens again: the game and the queue go on. */
static void
session_bandwidth_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;

	s->bandwidth_held = 0;
	if (s->game != NULL)
		relay_bandwidth_resume(s);
	session_user_flush(s);
}

/*
 * Read the player's keys only while what they cause can go out: not
 * while more than SESSION_USER_HIGH waits for the terminal or a redraw is
 * pending, and again once below SESSION_USER_LOW; nor while the game has
 * RELAY_GAME_HIGH of keys still to take.
 */
void
session_keys_update(struct session *s)
{
	size_t	 len = evbuffer_get_length(s->to_user);
	int	 on;

	if (len > SESSION_USER_HIGH || (s->redraw && len > 0))
		s->keys_held = 1;
	else if (len < SESSION_USER_LOW && !s->redraw)
		s->keys_held = 0;
	switch (s->state) {
	case STATE_QUEUED:
	case STATE_MENU:
	case STATE_REQUEST:
	case STATE_PLAYING:
	case STATE_WATCH_LIST:
	case STATE_WATCH_WAIT:
	case STATE_WATCHING:
	case STATE_REC_LIST:
	case STATE_REC_WAIT:
	case STATE_REPLAY:
		on = s->raw && !s->user_gone && !s->keys_held;
		break;
	default:
		on = 0;
		break;
	}
	if (on && s->game != NULL && s->game->to_game != NULL &&
	    evbuffer_get_length(s->game->to_game) >= RELAY_GAME_HIGH)
		on = 0;
	if (on && !s->keys_reading)
		event_add(s->tty_read_ev, NULL);
	else if (!on && s->keys_reading)
		event_del(s->tty_read_ev);
	s->keys_reading = on;
}

/* Move to another state; whether keys are read follows. */
void
session_set_state(struct session *s, enum session_state state)
{
	s->state = state;
	session_keys_update(s);
}

/* What a write of the player's queue came to. */
enum user_write {
	USER_EMPTY,		/* all of it went */
	USER_SHARE,		/* the bandwidth share holds the rest */
	USER_BLOCKED,		/* the terminal takes no more now */
	USER_GONE		/* the terminal failed */
};

/* How many bytes the next paced write waits for. */
static size_t
session_user_chunk(struct session *s)
{
	size_t	 len = evbuffer_get_length(s->to_user);

	return len < SESSION_USER_CHUNK ? len : SESSION_USER_CHUNK;
}

/* Write the player's queue as far as the terminal and the share allow. */
static enum user_write
session_user_write_some(struct session *s, int64_t now)
{
	size_t	 len, avail;
	int	 n;

	while ((len = evbuffer_get_length(s->to_user)) > 0) {
		if ((avail = bucket_available(&s->bandwidth, now)) == 0)
			return USER_SHARE;
		n = evbuffer_write_atmost(s->to_user, STDOUT_FILENO,
		    (ev_ssize_t)(avail < len ? avail : len));
		if (n > 0) {
			session_user_sent(s, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN)
			return USER_BLOCKED;
		return USER_GONE;
	}
	return USER_EMPTY;
}

/*
 * Write what waits for the player, as far as the terminal and the share
 * take it. Then what waits for room goes on: a redraw once the queue is
 * empty, a notice over the game and the game itself once it is below
 * SESSION_USER_LOW, and the player's keys.
 */
void
session_user_flush(struct session *s)
{
	size_t	 len;

	if (s->user_gone) {
		evbuffer_drain(s->to_user, evbuffer_get_length(s->to_user));
		event_del(s->tty_write_ev);
		return;
	}
	switch (session_user_write_some(s, util_now_ms())) {
	case USER_EMPTY:
		break;
	case USER_SHARE:
		session_bandwidth_wait(s, session_user_chunk(s));
		break;
	case USER_BLOCKED:
		event_add(s->tty_write_ev, NULL);
		break;
	case USER_GONE:
		/* EIO, EPIPE: the ssh side of the terminal is gone. */
		s->user_gone = 1;
		evbuffer_drain(s->to_user, evbuffer_get_length(s->to_user));
		event_del(s->tty_write_ev);
		session_keys_update(s);
		session_hangup(s, NULL);
		return;
	}
	if ((len = evbuffer_get_length(s->to_user)) == 0) {
		event_del(s->tty_write_ev);
		if (s->redraw) {
			s->redraw = 0;
			session_draw(s);
			len = evbuffer_get_length(s->to_user);
		}
	}
	if (len < SESSION_USER_LOW && s->broker_held && !s->broker_gone) {
		/* What the broker sent meanwhile is taken now. */
		s->broker_held = 0;
		bufferevent_enable(s->broker, EV_READ);
		session_broker_read_cb(s->broker, s);
		len = evbuffer_get_length(s->to_user);
	}
	if (len < SESSION_USER_LOW) {
		if (s->notice_pending) {
			s->notice_pending = 0;
			if (s->state == STATE_PLAYING)
				session_notice_draw(s);
		}
		if (s->game != NULL)
			relay_user_drained(s);
	}
	session_keys_update(s);
}

/*
 * Send bytes to a descriptor: straight through when nothing is queued
 * ahead of them, and what it does not take into the queue. A failure is
 * left for the caller's next flush of the queue to meet.
 */
void
session_pass(struct evbuffer *queue, int fd, const void *buf, size_t len)
{
	ssize_t	 n = 0;

	if (evbuffer_get_length(queue) == 0) {
		n = write(fd, buf, len);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		evbuffer_add(queue, (const u_char *)buf + n, len - (size_t)n);
}

/*
 * The one way to the player's terminal: straight through when nothing is
 * queued ahead and the share allows, the rest into to_user, which
 * session_user_flush writes as the terminal and the share take it. The
 * queue never holds more than SESSION_USER_MAX; past it bytes are dropped.
 */
void
session_user_write(struct session *s, const void *buf, size_t len)
{
	const u_char	*p = buf;
	size_t		 queued, avail, n;
	ssize_t		 w;

	if (s->user_gone || len == 0)
		return;
	queued = evbuffer_get_length(s->to_user);
	if (queued == 0) {
		avail = bucket_available(&s->bandwidth, util_now_ms());
		n = len < avail ? len : avail;
		/* A failure is met by the flush of what is queued. */
		if (n > 0 && (w = write(STDOUT_FILENO, p, n)) > 0) {
			session_user_sent(s, (size_t)w);
			p += w;
			len -= (size_t)w;
			if (len == 0)
				return;
		}
	}
	if (queued + len > SESSION_USER_MAX) {
		log_warn("output for the player dropped", "user=%s bytes=%zu",
		    s->user != NULL ? s->user : "-",
		    queued + len - SESSION_USER_MAX);
		len = queued < SESSION_USER_MAX ? SESSION_USER_MAX - queued : 0;
	}
	evbuffer_add(s->to_user, p, len);
	/* When the terminal takes more; the flush waits for the share. */
	event_add(s->tty_write_ev, NULL);
	session_keys_update(s);
}

/* The player's terminal can take more. */
static void
session_tty_write_cb(evutil_socket_t fd, short events, void *arg)
{
	session_user_flush(arg);
}

/*
 * The screen is to be drawn again: at once when nothing waits for the
 * player, else once, in the state of then, when that has gone out.
 */
void
session_redraw(struct session *s)
{
	s->redraw = 1;
	session_user_flush(s);
}

/* Keys from the player. */
static void
session_tty_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;
	u_char		 buf[4096];
	ssize_t		 n, i;

	n = read(fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF or EIO: sshd closed the terminal; the player is gone. */
		s->user_gone = 1;
		session_user_flush(s);
		session_keys_update(s);
		session_hangup(s, NULL);
		return;
	}
	s->last_input = util_now_ms();
	s->bytes_in += (uint64_t)n;
	for (i = 0; i < n; i++) {
		switch (s->state) {
		case STATE_QUEUED:
			if (strchr("qQ\003\004", buf[i]) != NULL &&
			    buf[i] != 0) {
				session_user_write(s, "\r\n", 2);
				session_finish(s, SESSION_EXIT_OK,
				    "You left the queue.");
			}
			continue;
		case STATE_MENU:
			menu_key(s, buf[i]);
			continue;
		case STATE_WATCH_LIST:
		case STATE_WATCH_WAIT:
		case STATE_WATCHING:
			watch_key(s, buf[i]);
			continue;
		case STATE_REC_LIST:
		case STATE_REC_WAIT:
		case STATE_REPLAY:
			replay_key(s, buf[i]);
			continue;
		case STATE_PLAYING:
			/* The rest of the read is the game's. */
			relay_user_input(s, buf + i, (size_t)(n - i));
			break;
		default:
			/* Keys while a game starts or the session ends. */
			break;
		}
		break;
	}
	/* Every key of this read is in: draw what changed, once. */
	if (s->state != STATE_PLAYING)
		session_user_flush(s);
}

/* End the session: leave the loop with a status and a last line. */
void
session_finish(struct session *s, int status, const char *farewell)
{
	if (s->state == STATE_DONE)
		return;
	if (s->state != STATE_HELLO && s->state != STATE_QUEUED)
		session_report(s);
	s->exit_status = status;
	if (farewell != NULL && s->farewell == NULL)
		s->farewell = xstrdup(farewell);
	s->redraw = 0;
	session_set_state(s, STATE_DONE);
	session_send(s, json_pack("{s:s}", "type", "goodbye"));
	event_base_loopexit(s->base, NULL);
}

/*
 * The player is gone, idle, or the session must stop. A running game gets
 * SIGHUP and the session waits for it to exit (NetHack saves) before
 * going; otherwise the session ends now.
 */
void
session_hangup(struct session *s, const char *farewell)
{
	if (farewell != NULL && s->farewell == NULL)
		s->farewell = xstrdup(farewell);
	switch (s->state) {
	case STATE_PLAYING:
		session_set_state(s, STATE_HANGUP);
		relay_hangup(s);
		break;
	case STATE_HANGUP:
	case STATE_DONE:
		break;
	default:
		session_finish(s, s->user_gone ? SESSION_EXIT_OK :
		    s->exit_status, NULL);
		break;
	}
}

/* Ask the broker for a lease on a game, or on the editor of its options. */
static void
session_request(struct session *s, const char *type, const char *id)
{
	free(s->notice);
	s->notice = NULL;
	s->request_edit = strcmp(type, "edit") == 0;
	session_set_state(s, STATE_REQUEST);
	session_send(s, json_pack("{s:s, s:s, s:i, s:i, s:i}", "type", type,
	    "game", id, "cols", (int)s->cols, "rows", (int)s->rows, "utf8",
	    s->utf8));
}

/* Ask the broker for a lease on a game. */
void
session_play(struct session *s, const char *id)
{
	session_request(s, "play", id);
}

/* Ask the broker for the editor of a game's options file. */
void
session_edit(struct session *s, const char *id)
{
	session_request(s, "edit", id);
}

/* What the editor did to the options file, for the menu's notice. */
static char *
session_edit_outcome(struct game *g)
{
	struct stat	 sb;
	char		*notice;

	if (fstat(g->rc_fd, &sb) != 0)
		xasprintf(&notice, "The editor of your %s options ended.",
		    g->name);
	else if (sb.st_mtim.tv_sec == g->rc_mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == g->rc_mtime.tv_nsec)
		xasprintf(&notice, "Your %s options are unchanged.", g->name);
	else if (sb.st_size >= g->rc_max)
		xasprintf(&notice, "Your %s options file is at the %lld KB "
		    "limit: what went past it was not saved.", g->name,
		    (long long)g->rc_max / 1024);
	else
		xasprintf(&notice, "Your %s options are saved; your next game "
		    "uses them.", g->name);
	return notice;
}

/* The game has exited and its output is drained. */
void
session_game_over(struct session *s)
{
	struct game	*g = s->game;
	json_t		*msg;
	char		*notice = NULL;

	if (s->rejoining) {
		/* Its lease is with the broker's answer: once that comes. */
		s->over_pending = 1;
		return;
	}
	s->over_pending = 0;
	if (s->broker_gone)
		event_del(s->reconnect_ev);
	session_report(s);
	if (!g->editing)
		relay_stream_finish(s);
	msg = json_pack("{s:s, s:s, s:i, s:I}", "type", "game_end", "lease",
	    g->lease, "status", g->status, "offset",
	    (json_int_t)s->stream_offset);
	if (g->signal != 0) {
		json_object_set_new(msg, "signal", json_integer(g->signal));
		xasprintf(&notice, "%s%s was stopped by signal %d.",
		    g->editing ? "The editor of " : "", g->name, g->signal);
	} else if (g->status != 0)
		xasprintf(&notice, "%s%s ended with status %d.",
		    g->editing ? "The editor of " : "", g->name, g->status);
	else if (g->editing)
		notice = session_edit_outcome(g);
	session_send(s, msg);
	relay_free(s);

	menu_reset_terminal(s);
	if (s->state == STATE_HANGUP) {
		/* A player still there (idle) gets the farewell clean. */
		session_user_write(s, "\033[H\033[2J", 7);
		free(notice);
		session_finish(s, s->exit_status, NULL);
		return;
	}
	if (s->broker_gone) {
		free(notice);
		session_finish(s, SESSION_EXIT_UNAVAIL, "DungeonGate restarted "
		    "while you played; please reconnect.");
		return;
	}
	if (s->cmd == CMD_PLAY) {
		free(notice);
		session_finish(s, SESSION_EXIT_OK, NULL);
		return;
	}
	session_set_state(s, STATE_MENU);
	free(s->notice);
	s->notice = notice;
	session_redraw(s);
}

/* Does the ticket's menu offer this game? */
static int
session_has_game(struct session *s, const char *id)
{
	json_t	*g;
	size_t	 i;

	json_array_foreach(s->games, i, g) {
		if (strcmp(json_string_value(json_object_get(g, "id")), id) ==
		    0)
			return 1;
	}
	return 0;
}

/* Raw mode for the player's keys, once. */
static int
session_raw(struct session *s)
{
	if (s->raw)
		return 0;
	if (tty_raw() != 0) {
		session_finish(s, SESSION_EXIT_REFUSED,
		    "DungeonGate: cannot set up your terminal.");
		return -1;
	}
	s->raw = 1;
	session_keys_update(s);
	return 0;
}

/* The place in line, over the last one. */
static void
session_queue_draw(struct session *s)
{
	char	*line, *about = NULL;
	int	 n;

	if (s->queue_eta >= 0)
		xasprintf(&about, " (about %lld s)", s->queue_eta);
	n = xasprintf(&line, "\r\033[KThe server is full - you are number "
	    "%lld in line%s. Press q to leave.", s->queue_position,
	    about != NULL ? about : "");
	session_user_write(s, line, (size_t)n);
	free(line);
	free(about);
}

/* Draw the screen of the state the session is in, if it has one. */
static void
session_draw(struct session *s)
{
	switch (s->state) {
	case STATE_MENU:
		menu_draw(s);
		break;
	case STATE_QUEUED:
		session_queue_draw(s);
		break;
	case STATE_WATCH_LIST:
		watch_draw(s);
		break;
	case STATE_REC_LIST:
	case STATE_REC_WAIT:
		replay_draw(s);
		break;
	default:
		break;
	}
}

/* Waiting in line: show the place, and let the player leave with q. */
static void
session_queued(struct session *s, json_t *msg)
{
	json_int_t	 pos, eta, online;

	if (json_unpack(msg, "{s:I, s:I, s:I}", "position", &pos, "eta",
	    &eta, "online", &online) != 0)
		fatalx("validated queued lacks fields");
	if (s->state == STATE_HELLO) {
		event_del(s->hello_timer);
		session_set_state(s, STATE_QUEUED);
		if (session_raw(s) != 0)
			return;
	}
	s->queue_position = (long long)pos;
	s->queue_eta = (long long)eta;
	session_redraw(s);
}

/* The broker admitted us: start the timers and show the menu. */
static void
session_ticket(struct session *s, json_t *msg)
{
	struct timeval	 tv;
	const char	*id, *user, *message;
	json_int_t	 idle;
	json_t		*g;
	char		*list = NULL, *tmp, *line;
	size_t		 i;

	if (json_unpack(msg, "{s:s, s:s, s:I, s:o}", "id", &id, "user", &user,
	    "idle_timeout", &idle, "games", &s->games) != 0)
		fatalx("validated ticket lacks fields");
	json_incref(s->games);
	snprintf(s->ticket, sizeof s->ticket, "%s", id);
	s->user = xstrdup(user);
	/* A word from the auth service, shown once on the menu. */
	if ((message = json_string_value(json_object_get(msg, "message"))) !=
	    NULL) {
		free(s->notice);
		s->notice = xstrdup(message);
	}
	s->idle_timeout = (u_int)idle;
	event_del(s->hello_timer);

	if (s->cmd == CMD_PLAY && !session_has_game(s, s->direct_game)) {
		json_array_foreach(s->games, i, g) {
			xasprintf(&tmp, "%s%s%s", list != NULL ? list : "",
			    list != NULL ? ", " : "",
			    json_string_value(json_object_get(g, "id")));
			free(list);
			list = tmp;
		}
		xasprintf(&line, "DungeonGate: there is no game called \"%s\" "
		    "here; the games are: %s", s->direct_game,
		    list != NULL ? list : "none");
		session_finish(s, SESSION_EXIT_REFUSED, line);
		free(line);
		free(list);
		return;
	}

	if (session_raw(s) != 0)
		return;
	s->last_input = util_now_ms();

	/* Report often: the tracker's counters, and idleness within grace. */
	tv.tv_sec = SESSION_REPORT_EVERY;
	tv.tv_usec = 0;
	event_add(s->keepalive_ev, &tv);
	tv.tv_sec = s->idle_timeout;
	event_add(s->idle_ev, &tv);

	if (s->cmd == CMD_PLAY)
		session_play(s, s->direct_game);
	else if (s->cmd == CMD_WATCH && s->direct_user != NULL)
		watch_start(s, s->direct_user);
	else if (s->cmd == CMD_WATCH)
		watch_open_list(s);
	else {
		session_set_state(s, STATE_MENU);
		session_redraw(s);
	}
}

/* A game or the editor did not start: the lease goes back, the menu comes. */
static void
session_lease_failed(struct session *s, char *line)
{
	session_send(s, json_pack("{s:s, s:s, s:i}", "type", "game_end",
	    "lease", s->game->lease, "status", -1));
	relay_free(s);
	if (s->cmd == CMD_PLAY) {
		session_finish(s, SESSION_EXIT_REFUSED, line);
		free(line);
		return;
	}
	session_set_state(s, STATE_MENU);
	free(s->notice);
	s->notice = line;
	session_redraw(s);
}

/*
 * The broker granted a lease: start the game, or the editor on the
 * options file once it is made and checked.
 */
static void
session_lease(struct session *s, json_t *msg, int editing)
{
	struct game	*g;
	struct stat	 sb;
	char		*cause, *line;

	g = xcalloc(1, sizeof *g);
	snprintf(g->lease, sizeof g->lease, "%s",
	    json_string_value(json_object_get(msg, "id")));
	g->id = xstrdup(json_string_value(json_object_get(msg, "game")));
	g->name = xstrdup(json_string_value(json_object_get(msg, "name")));
	g->started = (int64_t)json_integer_value(json_object_get(msg,
	    "started"));
	g->cpu_millicores = (u_int)json_integer_value(json_object_get(msg,
	    "cpu_millicores"));
	g->editing = editing;
	g->master = -1;
	g->rc_fd = -1;
	s->game = g;

	if (editing) {
		if ((g->rc_fd = pty_open_rcfile(s, msg, &cause)) == -1) {
			session_lease_failed(s, cause);
			return;
		}
		if (fstat(g->rc_fd, &sb) == 0)
			g->rc_mtime = sb.st_mtim;
		g->rc_max = (off_t)json_integer_value(json_object_get(msg,
		    "rc_max_size"));
	}

	/* Clear the menu away before the game draws. */
	session_user_write(s, "\033[H\033[2J", 7);
	if (pty_spawn(s, msg, g, &cause) != 0) {
		log_error(editing ? "editor failed to start" :
		    "game failed to start", "user=%s game=%s error=%s",
		    s->user, g->id, log_quote(cause));
		if (editing)
			xasprintf(&line, "The editor of your %s options could "
			    "not start: %s. Please tell the server admin.",
			    g->name, cause);
		else
			xasprintf(&line, "%s could not start: %s. Please tell "
			    "the server admin.", g->name, cause);
		free(cause);
		session_lease_failed(s, line);
		return;
	}
	/* A menu still to be drawn is not drawn over the game. */
	s->redraw = 0;
	relay_start(s);
	session_set_state(s, STATE_PLAYING);
}

/*
 * The exit status for a refusal of the whole session: 77 when the
 * account may not play, 69 when the server cannot take it now (come
 * back later), 1 for a limit of the player's own.
 */
static int
session_refused_status(const char *reason)
{
	static const char *const unavailable[] = {
		REASON_QUEUE_FULL, REASON_QUEUE_TIMEOUT, REASON_DRAINING,
		REASON_SHUTDOWN, REASON_UNAVAILABLE, REASON_OVERLOADED,
		REASON_BUSY
	};
	u_int	 i;

	if (strcmp(reason, REASON_DENIED) == 0)
		return SESSION_EXIT_DENIED;
	for (i = 0; i < nitems(unavailable); i++) {
		if (strcmp(reason, unavailable[i]) == 0)
			return SESSION_EXIT_UNAVAIL;
	}
	return SESSION_EXIT_REFUSED;
}

/* A refusal: of the whole session in hello, or of one game in the menu. */
static void
session_refused(struct session *s, json_t *msg)
{
	const char	*reason, *message;
	char		*line;

	json_unpack(msg, "{s:s, s:s}", "reason", &reason, "message", &message);
	if (s->state == STATE_REQUEST && s->cmd == CMD_MENU) {
		session_set_state(s, STATE_MENU);
		free(s->notice);
		s->notice = xstrdup(message);
		session_redraw(s);
		return;
	}
	if (s->state == STATE_QUEUED)
		session_user_write(s, "\r\n", 2);
	xasprintf(&line, "%s", message);
	session_finish(s, session_refused_status(reason), line);
	free(line);
}

/*
 * The broker closed on us (bye or error). A game in progress goes on: the
 * broker holds nothing whose loss ends a game, and a broker that stops
 * is reached again when it is back. An expired ticket is the broker's
 * decision to end the session, game included.
 */
static void
session_broker_closing(struct session *s, json_t *msg, int error)
{
	const char	*reason, *message;

	json_unpack(msg, "{s:s, s:s}", "reason", &reason, "message", &message);
	log_warn(error ? "broker error" : "broker closing", "user=%s "
	    "ticket=%s reason=%s message=%s", s->user != NULL ? s->user : "-",
	    s->ticket, reason, log_quote(message));
	if (s->rejoining) {
		session_rejoin_refused(s, reason, message);
		return;
	}
	if (!error && (strcmp(reason, REASON_EXPIRED) == 0 ||
	    strcmp(reason, REASON_DRAINING) == 0)) {
		/* The broker's decision to end the session, game included. */
		s->exit_status = SESSION_EXIT_OK;
		s->alone = 1;
		session_hangup(s, message);
		return;
	}
	if (s->state == STATE_PLAYING || s->state == STATE_HANGUP) {
		/* The game goes on, or is still saving. */
		if (error)
			s->alone = 1;
		session_broker_lost(s, reason);
		return;
	}
	if (s->state == STATE_HELLO && !error &&
	    strcmp(reason, REASON_SHUTDOWN) == 0) {
		/* A broker stopping to restart: its successor answers. */
		session_broker_lost(s, reason);
		return;
	}
	session_finish(s, SESSION_EXIT_UNAVAIL, message);
}

/*
 * A restarted broker did not take the session back. Refusals that say
 * "later" (the broker stops, is busy, or this account has too many
 * connections waiting) are tried again; any other leaves the game to go
 * on alone, and the player is told.
 */
static void
session_rejoin_refused(struct session *s, const char *reason,
    const char *message)
{
	s->rejoining = 0;
	if (strcmp(reason, REASON_SHUTDOWN) == 0 ||
	    strcmp(reason, REASON_BUSY) == 0 ||
	    strcmp(reason, REASON_RATE_LIMITED) == 0) {
		log_info("rejoin put off", "user=%s ticket=%s reason=%s",
		    s->user, s->ticket, reason);
		session_broker_lost(s, reason);
		return;
	}
	log_warn("rejoin refused; the game goes on alone", "user=%s "
	    "ticket=%s reason=%s", s->user, s->ticket, reason);
	s->alone = 1;
	if (s->state == STATE_PLAYING)
		session_notice(s, message);
	session_broker_lost(s, reason);
}

/*
 * The restarted broker took the session back: the stream goes on from
 * where it asks, and the report brings its counters up to date.
 */
static void
session_rejoined(struct session *s, json_t *msg)
{
	json_int_t	 offset;

	if (json_unpack(msg, "{s:I}", "offset", &offset) != 0)
		fatalx("validated rejoined lacks offset");
	s->rejoining = 0;
	s->reconnect_ms = 0;
	log_info("rejoined the broker", "user=%s ticket=%s offset=%lld "
	    "sent=%llu", s->user, s->ticket, (long long)offset,
	    (unsigned long long)s->stream_offset);
	if (s->game != NULL && !s->game->editing)
		relay_stream_rejoined(s, (uint64_t)offset);
	session_report(s);
	if (s->over_pending && s->game != NULL)
		session_game_over(s);
}

/* The notice over the game, on the bottom line in reverse video. */
static void
session_notice_draw(struct session *s)
{
	char	*line;
	int	 n;

	if (s->notice == NULL)
		return;
	n = xasprintf(&line, "\0337\033[%u;1H\033[7m %.*s \033[0m\033[K\0338",
	    s->rows, (int)(s->cols > 2 ? s->cols - 2 : 1), s->notice);
	session_user_write(s, line, (size_t)n);
	free(line);
}

/*
 * A notice from the broker: on the menu's notice line, or over a game on
 * the bottom line (the game redraws it when it next updates that line).
 * Over a game it goes out once less than SESSION_USER_LOW waits for the
 * player; a later notice replaces one still waiting.
 */
static void
session_notice(struct session *s, const char *message)
{
	free(s->notice);
	s->notice = xstrdup(message);
	if (s->state == STATE_MENU)
		session_redraw(s);
	else if (s->state == STATE_PLAYING) {
		s->notice_pending = 1;
		session_user_flush(s);
	}
}

/* Act on one message from the broker. */
static void
session_dispatch(struct session *s, enum proto_msg type, json_t *msg)
{
	struct timeval	 tv;

	switch (type) {
	case MSG_TICKET:
		if (s->state == STATE_HELLO || s->state == STATE_QUEUED) {
			session_ticket(s, msg);
			return;
		}
		break;
	case MSG_QUEUED:
		if (s->state == STATE_HELLO || s->state == STATE_QUEUED) {
			session_queued(s, msg);
			return;
		}
		break;
	case MSG_NOTICE:
		session_notice(s, json_string_value(json_object_get(msg,
		    "message")));
		return;
	case MSG_LIMITS:
		bucket_set_rate(&s->bandwidth, (uint64_t)json_integer_value(
		    json_object_get(msg, "bandwidth")), util_now_ms());
		if (s->bandwidth_held) {
			/* Wait as the new rate says. */
			tv = util_timeval_ms(bucket_wait(&s->bandwidth,
			    util_now_ms()));
			evtimer_add(s->bandwidth_ev, &tv);
		}
		return;
	case MSG_REJOINED:
		if (s->rejoining) {
			session_rejoined(s, msg);
			return;
		}
		break;
	case MSG_REFUSED:
		if (s->rejoining) {
			session_rejoin_refused(s, json_string_value(
			    json_object_get(msg, "reason")),
			    json_string_value(json_object_get(msg, "message")));
			return;
		}
		if (s->state == STATE_HELLO || s->state == STATE_QUEUED ||
		    s->state == STATE_REQUEST) {
			session_refused(s, msg);
			return;
		}
		if (s->state == STATE_WATCH_LIST ||
		    s->state == STATE_WATCH_WAIT || s->state == STATE_WATCHING) {
			watch_dispatch(s, type, msg);
			return;
		}
		if (s->state == STATE_REC_LIST || s->state == STATE_REC_WAIT ||
		    s->state == STATE_REPLAY) {
			replay_dispatch(s, type, msg);
			return;
		}
		break;
	case MSG_GAMES:
	case MSG_WATCHING:
	case MSG_WATCH_SIZE:
	case MSG_WATCH_END:
		watch_dispatch(s, type, msg);
		return;
	case MSG_RECORDINGS_LIST:
	case MSG_REPLAYING:
	case MSG_REPLAY_END:
		replay_dispatch(s, type, msg);
		return;
	case MSG_LEASE:
	case MSG_EDIT_LEASE:
		if (s->state == STATE_REQUEST &&
		    s->request_edit == (type == MSG_EDIT_LEASE)) {
			session_lease(s, msg, type == MSG_EDIT_LEASE);
			return;
		}
		break;
	case MSG_ERROR:
		session_broker_closing(s, msg, 1);
		return;
	case MSG_BYE:
		session_broker_closing(s, msg, 0);
		return;
	default:
		break;
	}
	log_error("unexpected message from the broker", "type=%s state=%d",
	    proto_msg_name(type), (int)s->state);
}

/*
 * The broker is gone. A game (or the editor) goes on, and the session
 * reaches the broker again to re-register, unless it was refused; a
 * login still waiting for its ticket tries again within its bound;
 * anything else ends.
 */
static void
session_broker_lost(struct session *s, const char *why)
{
	if (s->broker_gone)
		return;
	s->broker_gone = 1;
	s->rejoining = 0;
	log_warn("lost the broker", "user=%s ticket=%s error=%s",
	    s->user != NULL ? s->user : "-", s->ticket, log_quote(why));
	if (s->broker != NULL)
		bufferevent_disable(s->broker, EV_READ | EV_WRITE);
	switch (s->state) {
	case STATE_PLAYING:
	case STATE_HANGUP:
		if (!s->alone && s->game != NULL && !s->game->exited)
			session_reconnect_later(s);
		break;
	case STATE_DONE:
		break;
	case STATE_HELLO:
		session_reconnect_later(s);
		break;
	default:
		session_finish(s, SESSION_EXIT_UNAVAIL, "Lost contact with "
		    "DungeonGate; please reconnect.");
		break;
	}
	/* A game that ended while its rejoin was unanswered is over now. */
	if (s->over_pending && s->game != NULL)
		session_game_over(s);
}

/*
 * Try the broker again: at once the first time, then with a doubling
 * wait up to SESSION_RECONNECT_MAX_MS.
 */
static void
session_reconnect_later(struct session *s)
{
	struct timeval	 tv;

	tv = util_timeval_ms(s->reconnect_ms);
	evtimer_add(s->reconnect_ev, &tv);
	if (s->reconnect_ms == 0)
		s->reconnect_ms = SESSION_RECONNECT_MIN_MS;
	else if ((s->reconnect_ms *= 2) > SESSION_RECONNECT_MAX_MS)
		s->reconnect_ms = SESSION_RECONNECT_MAX_MS;
}

/* Frames from the broker. */
static void
session_broker_read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	json_t		*msg;
	enum proto_msg	 type;
	char		*cause;
	int		 rc;

	while (!s->broker_gone) {
		if (evbuffer_get_length(s->to_user) > SESSION_USER_HIGH &&
		    (s->state == STATE_WATCHING || s->state == STATE_REPLAY)) {
			/* The terminal is behind: the broker waits. */
			s->broker_held = 1;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		rc = proto_next(in, PROTO_MAX_FROM_BROKER, PROTO_FROM_BROKER,
		    &msg, &type, &s->stream_in, &cause);
		if (rc == 0)
			return;
		if (rc < 0) {
			session_broker_lost(s, cause);
			free(cause);
			return;
		}
		if (rc == 2) {
			if (s->state == STATE_REPLAY)
				replay_stream(s, &s->stream_in);
			else
				watch_stream(s, &s->stream_in);
			continue;
		}
		session_dispatch(s, type, msg);
		json_decref(msg);
	}
}

/*
 * The broker closed the socket or it failed. A broker that refuses
 * closes at once, and a write of ours may fail before its last words
 * were read: read what is left first, and act on it.
 */
static void
session_broker_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	int		 err = EVUTIL_SOCKET_ERROR();

	while (evbuffer_get_length(in) < PROTO_HEADER_SIZE +
	    PROTO_MAX_FROM_BROKER && evbuffer_read(in, s->broker_fd,
	    64 * 1024) > 0)
		;
	session_broker_read_cb(bev, s);
	session_broker_lost(s, (what & BEV_EVENT_EOF) ? "closed" :
	    strerror(err));
}

/*
 * No ticket in time (SESSION_LOGIN_WAIT from the start): say why, the
 * broker not reached or not answering.
 */
static void
session_hello_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;

	if (s->broker_gone && s->connect_line != NULL)
		session_finish(s, SESSION_EXIT_UNAVAIL, s->connect_line);
	else
		session_finish(s, SESSION_EXIT_UNAVAIL, "DungeonGate did not "
		    "answer in time; please try again later.");
}

/*
 * Tell the broker how long the player has been idle, what has passed
 * each way, and what the session had to hold back since last time.
 */
void
session_report(struct session *s)
{
	json_t	*msg;

	msg = json_pack("{s:s, s:I, s:I, s:I, s:I}", "type", "keepalive",
	    "idle", (json_int_t)((util_now_ms() - s->last_input) / 1000),
	    "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out,
	    "bandwidth_waits", (json_int_t)s->bandwidth_waits);
	s->bandwidth_waits = 0;
	relay_report(s, msg);
	session_send(s, msg);
}

/* The periodic report. */
static void
session_keepalive_cb(evutil_socket_t fd, short events, void *arg)
{
	session_report(arg);
}

/* Has the player been idle for idle_timeout? */
static void
session_idle_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;
	struct timeval	 tv;
	int64_t		 idle_ms = (int64_t)s->idle_timeout * 1000;
	int64_t		 left = s->last_input + idle_ms - util_now_ms();
	char		*d, *line;

	if (left > 0) {
		tv = util_timeval_ms(left);
		event_add(s->idle_ev, &tv);
		return;
	}
	d = config_format_duration((uint64_t)idle_ms);
	xasprintf(&line, "You were idle for %s, so DungeonGate closed your "
	    "session.%s", d, s->game == NULL ? "" : s->game->editing ?
	    "\nThe editor was closed; changes you had not saved are lost." :
	    "\nYour game was hung up, which makes it save.");
	log_info("idle timeout", "user=%s ticket=%s playing=%d", s->user,
	    s->ticket, s->game != NULL);
	s->exit_status = SESSION_EXIT_OK;
	session_hangup(s, line);
	free(line);
	free(d);
}

/* The player's window changed size. */
static void
session_winch_cb(evutil_socket_t sig, short events, void *arg)
{
	struct session	*s = arg;

	tty_size(STDIN_FILENO, &s->cols, &s->rows);
	if (s->state == STATE_PLAYING)
		relay_resize(s);
	else if (s->state == STATE_MENU || s->state == STATE_REC_LIST ||
	    s->state == STATE_REC_WAIT)
		session_redraw(s);
	else if (s->state == STATE_WATCH_LIST || s->state == STATE_WATCHING)
		watch_resized(s);
}

/* SIGHUP (sshd lost the client), SIGTERM or SIGINT. */
static void
session_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	struct session	*s = arg;

	log_info("signal", "user=%s ticket=%s signal=%d",
	    s->user != NULL ? s->user : "-", s->ticket, (int)sig);
	if (sig == SIGHUP)
		s->user_gone = 1;
	session_hangup(s, NULL);
}

/* A child changed state: perhaps the game exited. */
static void
session_chld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct session	*s = arg;

	if (s->game != NULL)
		relay_child(s);
}

/* Connect to the broker's socket: the descriptor, or -1 and errno. */
static int
session_connect_fd(const struct config *cfg)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", cfg->broker_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* Is a failure to connect one that a broker coming back would end? */
static int
session_connect_later(int error)
{
	return error == ENOENT || error == ECONNREFUSED || error == EAGAIN;
}

/* The line for the player when the broker cannot be reached. */
static char *
session_connect_why(int error)
{
	char	*line;

	switch (error) {
	case ENOENT:
	case ECONNREFUSED:
		return xstrdup("DungeonGate is not running; please tell the "
		    "server admin.");
	case EACCES:
	case EPERM:
		return xstrdup("DungeonGate is not open to your account "
		    "(no access to the broker); please tell the server admin.");
	case EAGAIN:
		return xstrdup("DungeonGate is too busy to answer; please try "
		    "again in a moment.");
	default:
		xasprintf(&line, "DungeonGate is not available (%s); please "
		    "tell the server admin.", strerror(error));
		return line;
	}
}

/* Connect to the broker's socket; -1 with a line for the player. */
int
session_connect(const struct config *cfg, char **line)
{
	int	 fd, error;

	if ((fd = session_connect_fd(cfg)) != -1)
		return fd;
	error = errno;
	*line = session_connect_why(error);
	log_warn("cannot reach the broker", "socket=%s error=%s",
	    cfg->broker_socket, log_quote(strerror(error)));
	return -1;
}

/* What was queued to the broker has drained: more of the stream goes. */
static void
session_broker_write_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	if (s->game != NULL && !s->game->editing)
		relay_stream_flush(s);
}

/* Talk to the broker on a connected socket. */
static void
session_broker_open(struct session *s, int fd)
{
	s->broker_fd = fd;
	s->broker = bufferevent_socket_new(s->base, fd, 0);
	if (s->broker == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_setcb(s->broker, session_broker_read_cb,
	    session_broker_write_cb, session_broker_event_cb, s);
	/* The stream's copy goes on once half of its queue has gone. */
	bufferevent_setwatermark(s->broker, EV_WRITE, SESSION_STREAM_MAX / 2,
	    0);
	bufferevent_enable(s->broker, EV_READ | EV_WRITE);
	s->broker_gone = 0;
	s->broker_held = 0;
}

/* Let go of the broker's connection, if there is one. */
static void
session_broker_close(struct session *s)
{
	if (s->broker != NULL) {
		bufferevent_free(s->broker);
		s->broker = NULL;
	}
	if (s->broker_fd != -1) {
		close(s->broker_fd);
		s->broker_fd = -1;
	}
}

/* Say hello: who the session is, its terminal and its command. */
static void
session_send_hello(struct session *s)
{
	json_t	*hello;

	hello = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:s}", "type",
	    "hello", "version", PROTO_VERSION, "client", "session", "term",
	    s->term, "cols", (int)s->cols, "rows", (int)s->rows, "remote",
	    s->remote);
	if (s->command != NULL)
		json_object_set_new(hello, "command", json_string(s->command));
	session_send(s, hello);
}

/*
 * Re-register with a restarted broker: the ticket, and the game's lease,
 * pid, start and stream offset, with the hello's fields and the counters.
 */
static void
session_send_rejoin(struct session *s)
{
	struct game	*g = s->game;
	json_t		*msg;

	msg = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:I, "
	    "s:s}", "type", "rejoin", "version", PROTO_VERSION, "client",
	    "session", "ticket", s->ticket, "cols", (int)s->cols, "rows",
	    (int)s->rows, "utf8", s->utf8,
	    "idle", (json_int_t)((util_now_ms() - s->last_input) / 1000),
	    "bytes_in", (json_int_t)s->bytes_in,
	    "bytes_out", (json_int_t)s->bytes_out, "term", s->term);
	if (*s->remote != '\0')
		json_object_set_new(msg, "remote", json_string(s->remote));
	if (s->command != NULL)
		json_object_set_new(msg, "command", json_string(s->command));
	if (g != NULL) {
		json_object_set_new(msg, "lease", json_string(g->lease));
		json_object_set_new(msg, "game", json_string(g->id));
		json_object_set_new(msg, "editing", json_integer(g->editing));
		json_object_set_new(msg, "pid", json_integer(g->pid));
		json_object_set_new(msg, "started", json_integer(g->started));
		json_object_set_new(msg, "offset",
		    json_integer((json_int_t)s->stream_offset));
	}
	session_send(s, msg);
	s->rejoining = 1;
}

/*
 * Time to reach the broker again: a login says hello once more, a
 * session with a game re-registers it. A broker still away means
 * another try later; a login hears once that it is restarting.
 */
static void
session_reconnect_cb(evutil_socket_t unused, short events, void *arg)
{
	struct session	*s = arg;
	int		 fd, error;
	const char	*line = "DungeonGate is restarting, one moment...\r\n";

	if (s->state == STATE_DONE || !s->broker_gone)
		return;
	if (s->state != STATE_HELLO && (s->alone || s->game == NULL ||
	    s->game->exited))
		return;
	session_broker_close(s);
	if ((fd = session_connect_fd(s->cfg)) == -1) {
		error = errno;
		if (s->state == STATE_HELLO) {
			free(s->connect_line);
			s->connect_line = session_connect_why(error);
			if (!session_connect_later(error)) {
				session_finish(s, SESSION_EXIT_UNAVAIL,
				    s->connect_line);
				return;
			}
			if (!s->said_restarting) {
				s->said_restarting = 1;
				session_user_write(s, line, strlen(line));
			}
		}
		log_debug("broker not reached yet", "user=%s error=%s",
		    s->user != NULL ? s->user : "-",
		    log_quote(strerror(error)));
		session_reconnect_later(s);
		return;
	}
	session_broker_open(s, fd);
	if (s->state == STATE_HELLO) {
		log_info("reached the broker", "tries_ms=%d", s->reconnect_ms);
		session_send_hello(s);
	} else {
		log_info("reached the broker again; rejoining", "user=%s "
		    "ticket=%s", s->user, s->ticket);
		session_send_rejoin(s);
	}
}

/* The client's address from SSH_CONNECTION, as host:port. */
static char *
session_remote(void)
{
	const char	*conn = getenv("SSH_CONNECTION");
	char		 host[64], port[8], *out;

	if (conn == NULL || sscanf(conn, "%63s %7s", host, port) != 2 ||
	    strspn(host, "0123456789abcdefABCDEF.:") != strlen(host) ||
	    strspn(port, "0123456789") != strlen(port))
		return xstrdup("");
	xasprintf(&out, strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s",
	    host, port);
	return out;
}

/*
 * Write out what is left in a buffer before exit, waiting up to ms for a
 * slow reader and no longer: a stalled peer must not keep us alive.
 */
static void
session_write_before_exit(struct evbuffer *b, int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	int64_t		 deadline = util_now_ms() + ms, left;

	for (;;) {
		if (session_write_buffer(b, fd) != 0 ||
		    evbuffer_get_length(b) == 0)
			return;
		if ((left = deadline - util_now_ms()) <= 0)
			return;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return;
	}
}

/*
 * Write out what is left for the player before exit, at the pace of the
 * share, for up to SESSION_EXIT_WRITE_MS and no longer.
 */
static void
session_user_drain(struct session *s)
{
	struct pollfd	 pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
	int64_t		 deadline = util_now_ms() + SESSION_EXIT_WRITE_MS;
	int64_t		 now, left, wait;

	while (!s->user_gone) {
		now = util_now_ms();
		if ((left = deadline - now) <= 0)
			return;
		switch (session_user_write_some(s, now)) {
		case USER_EMPTY:
		case USER_GONE:
			return;
		case USER_SHARE:
			wait = bucket_wait_for(&s->bandwidth, now,
			    session_user_chunk(s));
			poll(NULL, 0, (int)(wait < left ? wait : left));
			break;
		case USER_BLOCKED:
			if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
				return;
			break;
		}
	}
}

/*
 * The last line, on the player's screen after everything else: in raw
 * mode, so each newline is a carriage return and a newline.
 */
static void
session_user_farewell(struct session *s)
{
	const char	*p, *nl;

	for (p = s->farewell; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		session_user_write(s, p, (size_t)(nl - p));
		session_user_write(s, "\r\n", 2);
	}
	session_user_write(s, p, strlen(p));
	session_user_write(s, "\r\n", 2);
}

/* Send what is left for the broker (the goodbye) before exit. */
static void
session_broker_drain(struct session *s)
{
	struct evbuffer	*out;

	if (s->broker == NULL || s->broker_gone)
		return;
	out = bufferevent_get_output(s->broker);
	/* The bufferevent keeps its output's front frozen; we take over. */
	evbuffer_unfreeze(out, 1);
	session_write_before_exit(out, s->broker_fd, SESSION_EXIT_WRITE_MS);
}

/* Run a session from hello to goodbye; returns the exit status. */
int
session_run(struct config *cfg, enum session_cmd cmd, const char *game)
{
	struct session	*s;
	struct timeval	 tv = { SESSION_LOGIN_WAIT, 0 };
	const char	*orig;
	const char	*wait = "DungeonGate is restarting, one moment...\r\n";
	char		*line;
	int		 status, fd, error;

	s = xcalloc(1, sizeof *s);
	s->cfg = cfg;
	s->cmd = cmd;
	if (cmd == CMD_WATCH)
		s->direct_user = game != NULL ? xstrdup(game) : NULL;
	else
		s->direct_game = game != NULL ? xstrdup(game) : NULL;
	s->utf8 = watch_locale_utf8();
	s->stream_in.data = xmalloc(PROTO_STREAM_DATA);
	s->term = xstrdup(tty_term());
	s->exit_status = SESSION_EXIT_OK;
	bucket_init(&s->bandwidth, 0, util_now_ms());
	tty_size(STDIN_FILENO, &s->cols, &s->rows);

	s->broker_fd = -1;
	if ((fd = session_connect_fd(cfg)) == -1 &&
	    !session_connect_later((error = errno))) {
		line = session_connect_why(error);
		log_warn("cannot reach the broker", "socket=%s error=%s",
		    cfg->broker_socket, log_quote(strerror(error)));
		fprintf(stderr, "%s\n", line);
		free(line);
		free(s->direct_game);
		free(s->direct_user);
		free(s->stream_in.data);
		free(s->term);
		free(s);
		return SESSION_EXIT_UNAVAIL;
	}

	signal(SIGPIPE, SIG_IGN);
	if ((s->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	s->to_user = evbuffer_new();
	s->tty_read_ev = event_new(s->base, STDIN_FILENO, EV_READ | EV_PERSIST,
	    session_tty_read_cb, s);
	s->tty_write_ev = event_new(s->base, STDOUT_FILENO, EV_WRITE,
	    session_tty_write_cb, s);
	s->bandwidth_ev = evtimer_new(s->base, session_bandwidth_cb, s);
	s->hello_timer = evtimer_new(s->base, session_hello_timeout_cb, s);
	s->keepalive_ev = event_new(s->base, -1, EV_PERSIST,
	    session_keepalive_cb, s);
	s->idle_ev = evtimer_new(s->base, session_idle_cb, s);
	s->sig_winch = evsignal_new(s->base, SIGWINCH, session_winch_cb, s);
	s->sig_hup = evsignal_new(s->base, SIGHUP, session_signal_cb, s);
	s->sig_term = evsignal_new(s->base, SIGTERM, session_signal_cb, s);
	s->sig_int = evsignal_new(s->base, SIGINT, session_signal_cb, s);
	s->sig_chld = evsignal_new(s->base, SIGCHLD, session_chld_cb, s);
	s->reconnect_ev = evtimer_new(s->base, session_reconnect_cb, s);
	s->stream_keep = evbuffer_new();
	evsignal_add(s->sig_winch, NULL);
	evsignal_add(s->sig_hup, NULL);
	evsignal_add(s->sig_term, NULL);
	evsignal_add(s->sig_int, NULL);
	evsignal_add(s->sig_chld, NULL);

	s->remote = session_remote();
	if ((orig = getenv("SSH_ORIGINAL_COMMAND")) != NULL)
		s->command = xstrndup(orig, strnlen(orig, 1024));
	session_set_state(s, STATE_HELLO);
	if (fd != -1) {
		session_broker_open(s, fd);
		session_send_hello(s);
	} else {
		/* Restarting, most likely: wait for it, within the bound. */
		log_info("broker not reached; waiting", "socket=%s error=%s",
		    cfg->broker_socket, log_quote(strerror(error)));
		s->broker_gone = 1;
		s->connect_line = session_connect_why(error);
		s->said_restarting = 1;
		session_user_write(s, wait, strlen(wait));
		s->reconnect_ms = SESSION_RECONNECT_MIN_MS;
		session_reconnect_later(s);
	}
	evtimer_add(s->hello_timer, &tv);

	event_base_dispatch(s->base);

	if (s->game != NULL)
		relay_free(s);
	session_broker_drain(s);
	if (s->farewell != NULL)
		session_user_farewell(s);
	session_user_drain(s);
	tty_restore();
	status = s->exit_status;

	session_broker_close(s);
	event_free(s->reconnect_ev);
	evbuffer_free(s->stream_keep);
	event_free(s->tty_read_ev);
	event_free(s->tty_write_ev);
	event_free(s->bandwidth_ev);
	event_free(s->hello_timer);
	event_free(s->keepalive_ev);
	event_free(s->idle_ev);
	event_free(s->sig_winch);
	event_free(s->sig_hup);
	event_free(s->sig_term);
	event_free(s->sig_int);
	event_free(s->sig_chld);
	evbuffer_free(s->to_user);
	json_decref(s->games);
	/* Their events first: the base must outlive every event of it. */
	watch_free(s);
	replay_free(s);
	event_base_free(s->base);
	free(s->stream_in.data);
	free(s->farewell);
	free(s->notice);
	free(s->user);
	free(s->term);
	free(s->remote);
	free(s->command);
	free(s->connect_line);
	free(s->direct_game);
	free(s);
	return status;
}
