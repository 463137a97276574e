/*
 * Recordings (menu r): the player's own, and everyone's when the server
 * makes them public, newest first, picked by letter; and their replay
 * inside the session. The broker reads the file (players cannot) and
 * sends it a part at a time as the replay asks; the session takes the
 * ttyrec records apart and plays them at their own pace: space pauses,
 * + and - go faster and slower, i skips idle gaps (on at first), q quits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session.h"

/* Lines of the list around its rows. */
#define REC_CHROME	8
/* The ttyrec header: seconds, microseconds, length, little-endian. */
#define REC_HEADER	12
/* Ask for more once less than this waits to be played. */
#define REC_LOW		(32 * 1024)

/* One recording's fields. */
static const char *
rec_str(json_t *r, const char *key)
{
	return json_string_value(json_object_get(r, key));
}

/* A size for the list: 812B, 12.5KB, 3.1MB. */
static void
rec_size(char *buf, size_t len, json_int_t n)
{
	if (n < 1024)
		snprintf(buf, len, "%lldB", (long long)n);
	else if (n < 1024 * 1024)
		snprintf(buf, len, "%.1fKB", (double)n / 1024);
	else
		snprintf(buf, len, "%.1fMB", (double)n / (1024 * 1024));
}

/* Draw the recordings (session_redraw asks for it). */
void
replay_draw(struct session *s)
{
	struct evbuffer	*b = evbuffer_new();
	json_t		*r;
	size_t		 n = json_array_size(s->recordings), i;
	u_int		 per = menu_page_size(s, REC_CHROME), pages, row;
	char		 when[32], size[32];
	struct tm	 tm;
	time_t		 t;

	pages = n == 0 ? 1 : (u_int)((n + per - 1) / per);
	if (s->page >= pages)
		s->page = pages - 1;
	evbuffer_add_printf(b, "\033[0m\033[H\033[2J");
	menu_line(b, s->cols, " DungeonGate - recordings, newest first "
	    "(page %u of %u)", s->page + 1, pages);
	menu_rule(b, s->cols);
	menu_line(b, s->cols, "    %-16s %-12s %-20s %s", "Player", "Game",
	    "Started (UTC)", "Size");
	if (s->state == STATE_REC_WAIT && n == 0)
		menu_line(b, s->cols, "    (looking for recordings)");
	else if (n == 0)
		menu_line(b, s->cols, "    (no recordings yet)");
	for (row = 0, i = (size_t)s->page * per; i < n && row < per;
	    i++, row++) {
		r = json_array_get(s->recordings, i);
		t = (time_t)json_integer_value(json_object_get(r, "started"));
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		rec_size(size, sizeof size, json_integer_value(
		    json_object_get(r, "size")));
		menu_line(b, s->cols, "  %c) %-16s %-12s %-20s %s",
		    WATCH_LABELS[row], rec_str(r, "user"), rec_str(r, "game"),
		    when, size);
	}
	menu_line(b, s->cols, "%s", "");
	menu_line(b, s->cols, "  Keys: a-z replay (then space pause, + - speed, "
	    "i idle gaps, q quit), > < page, q back");
	menu_finish(s, b);
}

/* Show the recordings (menu r): ask the broker for them. */
void
replay_open_list(struct session *s)
{
	json_decref(s->recordings);
	s->recordings = json_array();
	s->page = 0;
	session_set_state(s, STATE_REC_WAIT);
	session_send(s, json_pack("{s:s}", "type", "recordings"));
	session_redraw(s);
}

/* Stop the replay's clock and forget what was left to play. */
static void
replay_reset(struct session *s)
{
	if (s->replay_ev != NULL)
		event_del(s->replay_ev);
	if (s->replay_buf != NULL)
		evbuffer_drain(s->replay_buf,
		    evbuffer_get_length(s->replay_buf));
	s->replay_asked = 0;
	s->replay_eof = 0;
	s->replay_done = 0;
	s->replay_paused = 0;
	s->replay_started = 0;
	s->replay_waited = 0;
}

/* Back to the list of recordings, with a notice. */
static void
replay_back(struct session *s, const char *notice)
{
	if (s->state == STATE_REPLAY)
		session_send(s, json_pack("{s:s}", "type", "replay_stop"));
	replay_reset(s);
	menu_reset_terminal(s);
	free(s->notice);
	s->notice = notice != NULL ? xstrdup(notice) : NULL;
	session_set_state(s, STATE_REC_LIST);
	session_redraw(s);
}

/* A line over the replay, on its top row in reverse video. */
static void
replay_notice(struct session *s, const char *fmt, ...)
{
	va_list	 ap;
	char	*text, *line;
	int	 n;

	va_start(ap, fmt);
	xvasprintf(&text, fmt, ap);
	va_end(ap);
	n = xasprintf(&line, "\0337\033[1;1H\033[0;7m %.*s \033[0m\033[K\0338",
	    (int)(s->cols > 2 ? s->cols - 2 : 1), text);
	session_user_write(s, line, (size_t)n);
	free(line);
	free(text);
}

/* Ask the broker for the next part, when little is left to play. */
static void
replay_ask(struct session *s, size_t need)
{
	size_t	 have = evbuffer_get_length(s->replay_buf);

	if (s->replay_asked || s->replay_eof)
		return;
	if (have >= REC_LOW && have >= need)
		return;
	s->replay_asked = 1;
	session_send(s, json_pack("{s:s}", "type", "replay_more"));
}

/* The next record's header, if it is all there: time in us and length. */
static int
replay_peek(struct session *s, uint64_t *us, size_t *len)
{
	u_char		 h[REC_HEADER];
	uint32_t	 v[3];
	int		 i, j;

	if (evbuffer_get_length(s->replay_buf) < REC_HEADER)
		return 0;
	evbuffer_copyout(s->replay_buf, h, sizeof h);
	for (i = 0; i < 3; i++) {
		v[i] = 0;
		for (j = 3; j >= 0; j--)
			v[i] = (v[i] << 8) | h[i * 4 + j];
	}
	*us = (uint64_t)v[0] * 1000000 + v[1];
	*len = v[2];
	return 1;
}

/* Arm the replay's clock for ms from now. */
static void
replay_wait(struct session *s, int64_t ms)
{
	struct timeval	 tv = util_timeval_ms(ms);

	event_add(s->replay_ev, &tv);
}

/*
 * Play what is due: each record once its time (from the last record's,
 * at the replay's speed, idle gaps cut short when asked) has come.
 */
static void
replay_play(struct session *s)
{
	uint64_t	 us, gap;
	size_t		 len, n;
	u_char		*p, *safe;
	int64_t		 ms;

	if (s->state != STATE_REPLAY || s->replay_paused || s->replay_done)
		return;
	while (evbuffer_get_length(s->to_user) < SESSION_USER_LOW) {
		if (!replay_peek(s, &us, &len)) {
			if (s->replay_eof) {
				s->replay_done = 1;
				replay_notice(s, "End of the recording: q goes "
				    "back.");
				return;
			}
			replay_ask(s, REC_HEADER);
			return;
		}
		if (len > REPLAY_RECORD_MAX) {
			replay_back(s, "That recording is damaged and cannot "
			    "be played.");
			return;
		}
		if (evbuffer_get_length(s->replay_buf) < REC_HEADER + len) {
			if (s->replay_eof) {
				replay_back(s, "That recording ends in the "
				    "middle of a record.");
				return;
			}
			replay_ask(s, REC_HEADER + len);
			return;
		}
		if (s->replay_started && !s->replay_waited &&
		    us > s->replay_last) {
			gap = us - s->replay_last;
			if (s->replay_skip_idle &&
			    gap > REPLAY_IDLE_MAX_MS * 1000ULL)
				gap = REPLAY_IDLE_MAX_MS * 1000ULL;
			ms = (int64_t)((double)gap / 1000.0 / s->replay_speed);
			if (ms > 0) {
				s->replay_waited = 1;
				replay_wait(s, ms);
				return;
			}
		}
		s->replay_waited = 0;
		s->replay_started = 1;
		s->replay_last = us;
		evbuffer_drain(s->replay_buf, REC_HEADER);
		p = evbuffer_pullup(s->replay_buf, (ev_ssize_t)len);
		safe = xmalloc(len + 1);
		n = termsafe_filter(&s->replay_safe, p, len, safe);
		session_user_write(s, safe, n);
		free(safe);
		evbuffer_drain(s->replay_buf, len);
		replay_ask(s, REC_HEADER);
	}
	/* The terminal is behind: look again shortly. */
	replay_wait(s, 10);
}

/* The replay's clock. */
static void
replay_cb(evutil_socket_t fd, short events, void *arg)
{
	replay_play(arg);
}

/* Ask to replay the recording on the list at index i. */
static void
replay_start(struct session *s, size_t i)
{
	json_t	*r = json_array_get(s->recordings, i);

	free(s->notice);
	s->notice = NULL;
	replay_reset(s);
	session_set_state(s, STATE_REC_WAIT);
	session_send(s, json_pack("{s:s, s:s, s:s, s:s}", "type", "replay",
	    "user", rec_str(r, "user"), "game", rec_str(r, "game"), "file",
	    rec_str(r, "file")));
}

/* One key on the list of recordings. */
static void
replay_list_key(struct session *s, u_char key)
{
	const char	*p;
	size_t		 i, n = json_array_size(s->recordings);
	u_int		 per = menu_page_size(s, REC_CHROME);

	switch (key) {
	case 'q':
	case 'Q':
	case 3:
	case 4:
		free(s->notice);
		s->notice = NULL;
		session_set_state(s, STATE_MENU);
		session_redraw(s);
		return;
	case 12:
		s->redraw = 1;
		return;
	case '>':
	case ' ':
		if ((size_t)(s->page + 1) * per < n)
			s->page++;
		s->redraw = 1;
		return;
	case '<':
		if (s->page > 0)
			s->page--;
		s->redraw = 1;
		return;
	case '\r':
	case '\n':
		return;
	}
	if (key != '\0' && key < 0x80 &&
	    (p = strchr(WATCH_LABELS, key)) != NULL) {
		i = (size_t)s->page * per + (size_t)(p - WATCH_LABELS);
		if ((size_t)(p - WATCH_LABELS) < per && i < n) {
			replay_start(s, i);
			return;
		}
	}
	free(s->notice);
	if (key >= 0x20 && key < 0x7f)
		xasprintf(&s->notice, "There is no choice '%c'.", key);
	else
		s->notice = xstrdup("Press a recording's letter, or q to go "
		    "back.");
	s->redraw = 1;
}

/* One key during a replay. */
static void
replay_play_key(struct session *s, u_char key)
{
	switch (key) {
	case 'q':
	case 'Q':
	case 3:
	case 4:
		replay_back(s, NULL);
		return;
	case ' ':
		if (s->replay_done)
			return;
		s->replay_paused = !s->replay_paused;
		if (s->replay_paused) {
			event_del(s->replay_ev);
			replay_notice(s, "Paused: space goes on, q quits.");
		} else
			replay_play(s);
		return;
	case '+':
	case 'f':
		if (s->replay_speed < REPLAY_SPEED_MAX)
			s->replay_speed *= 2;
		replay_notice(s, "Speed x%g", s->replay_speed);
		return;
	case '-':
	case 's':
		if (s->replay_speed > REPLAY_SPEED_MIN)
			s->replay_speed /= 2;
		replay_notice(s, "Speed x%g", s->replay_speed);
		return;
	case 'i':
		s->replay_skip_idle = !s->replay_skip_idle;
		replay_notice(s, "Idle gaps %s", s->replay_skip_idle ?
		    "skipped (at most 1 s)" : "played in full");
		return;
	case '?':
		replay_notice(s, "Replay: space pause, + - speed (x%g), i idle "
		    "gaps, q quit", s->replay_speed);
		return;
	default:
		return;
	}
}

/* Keys on the list of recordings or during a replay. */
void
replay_key(struct session *s, u_char key)
{
	if (s->state == STATE_REC_LIST || s->state == STATE_REC_WAIT) {
		if (s->state == STATE_REC_WAIT && key != 'q' && key != 3)
			return;
		replay_list_key(s, key);
	} else if (s->state == STATE_REPLAY)
		replay_play_key(s, key);
}

/* A message from the broker about recordings. */
void
replay_dispatch(struct session *s, enum proto_msg type, json_t *msg)
{
	switch (type) {
	case MSG_RECORDINGS_LIST:
		if (s->state != STATE_REC_WAIT)
			return;
		json_decref(s->recordings);
		s->recordings = json_incref(json_object_get(msg,
		    "recordings"));
		session_set_state(s, STATE_REC_LIST);
		session_redraw(s);
		return;
	case MSG_REPLAYING:
		if (s->state != STATE_REC_WAIT)
			return;
		if (s->replay_buf == NULL)
			s->replay_buf = evbuffer_new();
		if (s->replay_ev == NULL)
			s->replay_ev = evtimer_new(s->base, replay_cb, s);
		s->replay_speed = 1.0;
		s->replay_skip_idle = 1;
		termsafe_init(&s->replay_safe, s->utf8);
		session_set_state(s, STATE_REPLAY);
		session_user_write(s, "\033[0m\033[H\033[2J", 10);
		replay_ask(s, REC_HEADER);
		return;
	case MSG_REPLAY_END:
		if (s->state != STATE_REPLAY)
			return;
		s->replay_asked = 0;
		s->replay_eof = 1;
		replay_play(s);
		return;
	case MSG_REFUSED:
		if (s->state != STATE_REC_WAIT && s->state != STATE_REPLAY)
			return;
		replay_back(s, json_string_value(json_object_get(msg,
		    "message")));
		return;
	default:
		return;
	}
}

/* Bytes of the recording, for the replay's buffer. */
void
replay_stream(struct session *s, const struct proto_stream *st)
{
	if (s->state != STATE_REPLAY)
		return;
	s->replay_asked = 0;
	evbuffer_add(s->replay_buf, st->data, st->len);
	if (evbuffer_get_length(s->replay_buf) > REPLAY_RECORD_MAX +
	    REC_HEADER + REC_LOW + PROTO_STREAM_DATA) {
		/* More than was asked for: a broker gone wrong. */
		replay_back(s, "The recording came faster than asked; replay "
		    "stopped.");
		return;
	}
	if (!s->replay_started || !event_pending(s->replay_ev, EV_TIMEOUT,
	    NULL))
		replay_play(s);
}

/* Free what replay holds. */
void
replay_free(struct session *s)
{
	if (s->replay_ev != NULL)
		event_free(s->replay_ev);
	if (s->replay_buf != NULL)
		evbuffer_free(s->replay_buf);
	json_decref(s->recordings);
}
