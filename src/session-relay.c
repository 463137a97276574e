/*
 * The relay between the player's terminal and the game's PTY. Both ways
 * go through bounded buffers: when one side cannot keep up, the other is
 * no longer read. Bytes go straight through when nothing is queued ahead
 * of them, so a keystroke's echo costs one read and one write each way.
 * The game's output takes the player's one way out (session_user_write);
 * the game is read only while little waits there and only as much as the
 * bandwidth share allows now, so its backlog stays in its PTY and a
 * keystroke's echo never waits behind seconds of queued output.
 *
 * The game is over only when it has exited and its PTY is drained (EIO
 * from the master means every slave descriptor has closed).
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

static void	relay_check_done(struct session *);
static void	relay_cpu_start(struct session *);
static void	relay_cpu_stop(struct session *);

/* Read the game again, once nothing holds it back. */
static void
relay_read_resume(struct game *g)
{
	if (!g->master_eof && g->master != -1 && !g->read_paused &&
	    !g->bw_paused)
		event_add(g->read_ev, NULL);
}

/* Output resumes: the bandwidth share has earned tokens again. */
void
relay_bandwidth_resume(struct session *s)
{
	struct game	*g = s->game;

	if (!g->bw_paused)
		return;
	g->bw_paused = 0;
	relay_read_resume(g);
}

/*
 * Keep the session's copy of the stream within its bounds: what was sent
 * to SESSION_STREAM_KEEP, what was not to SESSION_STREAM_HOLD (the oldest
 * of it dropped, and the gap remembered as the offset jump).
 */
static void
relay_stream_trim(struct session *s)
{
	uint64_t	 sent = s->stream_sent - s->keep_start;
	uint64_t	 unsent = s->stream_offset - s->stream_sent;
	uint64_t	 drop = 0, lost;

	if (sent > SESSION_STREAM_KEEP)
		drop = sent - SESSION_STREAM_KEEP;
	if (unsent > SESSION_STREAM_HOLD) {
		lost = unsent - SESSION_STREAM_HOLD;
		if (!s->stream_gap)
			log_warn("broker away or behind; dropping the stream",
			    "user=%s offset=%llu", s->user,
			    (unsigned long long)s->stream_sent);
		s->stream_gap = 1;
		s->stream_dropped += lost;
		s->stream_sent += lost;
		drop = sent + lost;
	}
	if (drop > 0) {
		evbuffer_drain(s->stream_keep, (size_t)drop);
		s->keep_start += drop;
	}
}

/*
 * Send the broker what of the copy it has not had, as far as a queue of
 * max on its socket takes now. Nothing while the broker is away or has
 * not answered a rejoin.
 */
static void
relay_stream_send(struct session *s, size_t max)
{
	static u_char	 buf[PROTO_STREAM_DATA];
	struct evbuffer	*out;
	struct evbuffer_ptr pos;
	size_t		 queued, n;

	if (s->broker == NULL || s->broker_gone || s->rejoining)
		return;
	out = bufferevent_get_output(s->broker);
	while (s->stream_sent < s->stream_offset) {
		queued = evbuffer_get_length(out);
		if (queued + PROTO_HEADER_SIZE + PROTO_STREAM_HEADER >= max)
			return;
		n = max - queued - PROTO_HEADER_SIZE - PROTO_STREAM_HEADER;
		if (n > sizeof buf)
			n = sizeof buf;
		if (n > s->stream_offset - s->stream_sent)
			n = (size_t)(s->stream_offset - s->stream_sent);
		if (evbuffer_ptr_set(s->stream_keep, &pos,
		    (size_t)(s->stream_sent - s->keep_start),
		    EVBUFFER_PTR_SET) != 0 ||
		    evbuffer_copyout_from(s->stream_keep, &pos, buf, n) !=
		    (ev_ssize_t)n)
			fatalx("stream copy does not hold offset %llu",
			    (unsigned long long)s->stream_sent);
		proto_add_stream(out, s->stream_sent, buf, n);
		s->stream_sent += n;
	}
	s->stream_gap = 0;
	relay_stream_trim(s);
}

/*
 * Send what the socket's queue (SESSION_STREAM_MAX) takes now; the rest
 * goes when the queue has drained to half of that.
 */
void
relay_stream_flush(struct session *s)
{
	relay_stream_send(s, SESSION_STREAM_MAX);
}

/*
 * The game is over: queue all of the copy the broker has not had (at
 * most SESSION_STREAM_HOLD), so that it comes before the game's end.
 */
void
relay_stream_finish(struct session *s)
{
	relay_stream_send(s, SIZE_MAX);
}

/*
 * A restarted broker took the session back and wants the stream from
 * offset on (where its recording ends). What the copy no longer holds
 * is lost: the broker sees the jump, logs and counts it.
 */
void
relay_stream_rejoined(struct session *s, uint64_t offset)
{
	if (offset > s->stream_offset)
		offset = s->stream_offset;
	if (offset < s->keep_start) {
		log_warn("stream lost across the broker's restart", "user=%s "
		    "offset=%llu bytes=%llu", s->user,
		    (unsigned long long)offset,
		    (unsigned long long)(s->keep_start - offset));
		offset = s->keep_start;
	}
	s->stream_sent = offset;
	relay_stream_flush(s);
}

/*
 * Copy what the game wrote for the broker, for watchers and the
 * recording, without ever waiting (see SESSION_STREAM_MAX).
 */
static void
relay_stream(struct session *s, const u_char *buf, size_t len)
{
	evbuffer_add(s->stream_keep, buf, len);
	s->stream_offset += len;
	relay_stream_flush(s);
	relay_stream_trim(s);
}

/*
 * Read what the game wrote and pass it to the player. While the game
 * runs, only while less than SESSION_USER_LOW waits for the player and no
 * more than the bandwidth share allows now; after it exits, its last
 * output is taken whole (the queue paces it); after hangup, or with the
 * player gone, all is read and discarded. Returns the bytes read, 0 at
 * EOF, -1 when there is nothing now (or no room or share left).
 */
static int
relay_read_game(struct session *s)
{
	struct game	*g = s->game;
	u_char		 buf[RELAY_READ_SIZE];
	size_t		 want = sizeof buf, avail;
	ssize_t		 n;
	int		 pass = s->state == STATE_PLAYING && !s->user_gone;

	if (pass && !g->exited) {
		if (evbuffer_get_length(s->to_user) >= SESSION_USER_LOW) {
			/* The rest waits in the PTY until the queue drains. */
			g->read_paused = 1;
			event_del(g->read_ev);
			errno = EAGAIN;
			return -1;
		}
		avail = bucket_available(&s->bandwidth, util_now_ms());
		if (avail == 0) {
			/* Over the share: stop reading until tokens come. */
			g->bw_paused = 1;
			event_del(g->read_ev);
			session_bandwidth_wait(s, 1);
			errno = EAGAIN;
			return -1;
		}
		if (avail < want)
			want = avail;
	}
	n = read(g->master, buf, want);
	if (n > 0) {
		if (pass) {
			session_user_write(s, buf, (size_t)n);
			/* A game is watched and recorded; its editor is not. */
			if (!g->editing)
				relay_stream(s, buf, (size_t)n);
		}
		return (int)n;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return -1;
	/* 0 or EIO: every slave descriptor is closed. */
	g->master_eof = 1;
	event_del(g->read_ev);
	return 0;
}

/* The game has output. */
static void
relay_game_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;
	struct game	*g = s->game;

	if (relay_read_game(s) == 0) {
		relay_check_done(s);
		return;
	}
	/* Past the low mark the rest waits in the PTY. */
	if (!g->master_eof && !g->read_paused &&
	    evbuffer_get_length(s->to_user) >= SESSION_USER_LOW) {
		g->read_paused = 1;
		event_del(g->read_ev);
	}
}

/* Less than SESSION_USER_LOW waits for the player: read the game again. */
void
relay_user_drained(struct session *s)
{
	struct game	*g = s->game;

	if (g->master_eof || g->master == -1 || !g->read_paused)
		return;
	g->read_paused = 0;
	relay_read_resume(g);
}

/* Write the player's keys to the game as far as the PTY takes them. */
static void
relay_write_game(struct session *s)
{
	struct game	*g = s->game;

	if (session_write_buffer(g->to_game, g->master) != 0) {
		/* The game is going; its keys no longer matter. */
		evbuffer_drain(g->to_game, evbuffer_get_length(g->to_game));
	}
	if (evbuffer_get_length(g->to_game) > 0)
		event_add(g->write_ev, NULL);
	else
		event_del(g->write_ev);
	/* Keys wait while RELAY_GAME_HIGH waits for the game. */
	session_keys_update(s);
}

/* The game's PTY can take more keys. */
static void
relay_game_write_cb(evutil_socket_t fd, short events, void *arg)
{
	relay_write_game(arg);
}

/* Keys from the player, for the game. */
void
relay_user_input(struct session *s, const u_char *buf, size_t len)
{
	struct game	*g = s->game;

	if (g->master_eof)
		return;
	session_pass(g->to_game, g->master, buf, len);
	relay_write_game(s);
}

/* CPU time in ms a process has used (see proc_cpu_ticks); -1 if gone. */
static int64_t
relay_cpu_ms(pid_t pid, int reaped)
{
	int64_t	 ticks;

	if ((ticks = proc_cpu_ticks(pid, reaped)) == -1)
		return -1;
	return ticks * 1000 / proc_ticks_per_second();
}

/*
 * CPU the whole game has used: every live process of its tree, and the
 * children the first process has reaped. Fills pids with the tree.
 */
static int64_t
relay_cpu_game(struct game *g, pid_t *pids, u_int *npids)
{
	int64_t	 total, ms;
	u_int	 i;

	*npids = proc_tree(g->pid, pids, RELAY_CPU_MAX_PROCS);
	if ((total = relay_cpu_ms(g->pid, 1)) == -1)
		return -1;
	for (i = 1; i < *npids; i++) {
		if ((ms = relay_cpu_ms(pids[i], 0)) != -1)
			total += ms;
	}
	return total;
}

/* Stop or continue the game: its process group and every process in it. */
static void
relay_cpu_signal(struct game *g, int sig, const pid_t *pids, u_int npids)
{
	u_int	 i;

	kill(-g->pid, sig);
	for (i = 1; i < npids; i++)
		kill(pids[i], sig);
}

/*
 * Every tick: the game earns its share of the time that passed and pays
 * for the CPU it used. In debt, its process group is stopped until the
 * share has paid it off.
 */
static void
relay_cpu_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;
	struct game	*g = s->game;
	int64_t		 now = util_now_ms(), used;
	double		 cap = RELAY_CPU_BURST_MS * g->cpu_millicores / 1000.0;
	pid_t		 pids[RELAY_CPU_MAX_PROCS];
	u_int		 npids;

	if ((used = relay_cpu_game(g, pids, &npids)) == -1)
		return;
	g->cpu_budget += (double)(now - g->cpu_at) * g->cpu_millicores / 1000.0;
	g->cpu_budget -= (double)(used - (int64_t)g->cpu_used);
	if (g->cpu_budget > cap)
		g->cpu_budget = cap;
	g->cpu_at = now;
	g->cpu_used = (uint64_t)used;
	if (g->cpu_stopped && g->cpu_budget >= 0) {
		relay_cpu_signal(g, SIGCONT, pids, npids);
		g->cpu_stopped = 0;
	} else if (!g->cpu_stopped && g->cpu_budget < 0) {
		relay_cpu_signal(g, SIGSTOP, pids, npids);
		g->cpu_stopped = 1;
		g->cpu_stops++;
	}
}

/* Start holding the game to its CPU share. */
static void
relay_cpu_start(struct session *s)
{
	struct game	*g = s->game;
	struct timeval	 tv = { 0, RELAY_CPU_TICK_MS * 1000 };
	pid_t		 pids[RELAY_CPU_MAX_PROCS];
	u_int		 npids;
	int64_t		 used;

	if (g->cpu_millicores == 0 ||
	    (used = relay_cpu_game(g, pids, &npids)) == -1)
		return;
	g->cpu_at = util_now_ms();
	g->cpu_used = (uint64_t)used;
	g->cpu_budget = 0;
	g->cpu_ev = event_new(s->base, -1, EV_PERSIST, relay_cpu_cb, s);
	event_add(g->cpu_ev, &tv);
}

/* Stop holding the game (it is going): let it run to its end. */
static void
relay_cpu_stop(struct session *s)
{
	struct game	*g = s->game;
	pid_t		 pids[RELAY_CPU_MAX_PROCS];
	u_int		 npids;

	if (g->cpu_ev != NULL) {
		event_free(g->cpu_ev);
		g->cpu_ev = NULL;
	}
	if (g->cpu_stopped) {
		npids = proc_tree(g->pid, pids, RELAY_CPU_MAX_PROCS);
		relay_cpu_signal(g, SIGCONT, pids, npids);
		g->cpu_stopped = 0;
	}
}

/*
 * Descriptors on the game's PTY: the master the session holds and the
 * slaves in the game's processes, those whose descriptors may be read (a
 * setgid game's may not: it counts none).
 */
static u_int
relay_pty_fds(struct game *g)
{
	pid_t	 pids[RELAY_CPU_MAX_PROCS];
	u_int	 npids, i, total = 0;
	int	 n;

	if ((n = proc_pty_fds(0, 1, RELAY_PTY_MAX_FDS)) > 0)
		total += (u_int)n;
	npids = proc_tree(g->pid, pids, RELAY_CPU_MAX_PROCS);
	for (i = 0; i < npids; i++) {
		if ((n = proc_pty_fds(pids[i], 0, RELAY_PTY_MAX_FDS)) > 0)
			total += (u_int)n;
	}
	return total;
}

/* Add the game's part to a report for the broker. */
void
relay_report(struct session *s, json_t *msg)
{
	struct game	*g = s->game;

	if (g == NULL)
		return;
	if (!g->exited)
		json_object_set_new(msg, "pty_fds", json_integer(
		    (json_int_t)relay_pty_fds(g)));
	if (g->cpu_ev == NULL)
		return;
	json_object_set_new(msg, "cpu_mechanism", json_string("duty_cycle"));
	json_object_set_new(msg, "cpu_stops", json_integer(
	    (json_int_t)g->cpu_stops));
	g->cpu_stops = 0;
}

/* Start relaying a freshly spawned game. */
void
relay_start(struct session *s)
{
	struct game	*g = s->game;

	g->to_game = evbuffer_new();
	g->read_ev = event_new(s->base, g->master, EV_READ | EV_PERSIST,
	    relay_game_read_cb, s);
	g->write_ev = event_new(s->base, g->master, EV_WRITE,
	    relay_game_write_cb, s);
	event_add(g->read_ev, NULL);
	s->stream_offset = 0;
	s->stream_sent = 0;
	s->keep_start = 0;
	s->stream_dropped = 0;
	evbuffer_drain(s->stream_keep, evbuffer_get_length(s->stream_keep));
	s->stream_gap = 0;
	relay_cpu_start(s);
	log_info(g->editing ? "editor started" : "game started", "user=%s "
	    "ticket=%s lease=%s game=%s pid=%ld", s->user, s->ticket, g->lease,
	    g->id, (long)g->pid);
}

/* Pass the player's new window size to the game's PTY. */
void
relay_resize(struct session *s)
{
	struct winsize	 ws;

	memset(&ws, 0, sizeof ws);
	ws.ws_col = (u_short)s->cols;
	ws.ws_row = (u_short)s->rows;
	/* The kernel sends SIGWINCH to the game's foreground group. */
	if (ioctl(s->game->master, TIOCSWINSZ, &ws) != 0)
		log_warn("cannot resize the game", "error=%s",
		    log_quote(strerror(errno)));
	/* Watchers and the recording follow from this byte on. */
	session_send(s, json_pack("{s:s, s:i, s:i, s:I}", "type", "resize",
	    "cols", (int)s->cols, "rows", (int)s->rows,
	    "offset", (json_int_t)s->stream_offset));
}

/* Has the game exited and its output been drained? */
static void
relay_check_done(struct session *s)
{
	struct game	*g = s->game;
	size_t		 got = 0;
	int		 n;

	if (g == NULL || !g->exited)
		return;
	if (!g->master_eof) {
		/*
		 * Take what is buffered now. A descendant that keeps the
		 * PTY open must not keep the player waiting, nor fill memory:
		 * stop at EAGAIN, or after SESSION_USER_HIGH (read, or waiting
		 * for the player).
		 */
		while (got < SESSION_USER_HIGH &&
		    evbuffer_get_length(s->to_user) < SESSION_USER_HIGH &&
		    (n = relay_read_game(s)) > 0)
			got += (size_t)n;
	}
	session_user_flush(s);
	if (s->game == g)
		session_game_over(s);
}

/* SIGCHLD: collect the game if it exited. */
void
relay_child(struct session *s)
{
	struct game	*g = s->game;
	int		 status;
	pid_t		 pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != g->pid || g->exited)
			continue;
		if (WIFEXITED(status)) {
			g->exited = 1;
			g->status = WEXITSTATUS(status);
		} else if (WIFSIGNALED(status)) {
			g->exited = 1;
			g->status = -1;
			g->signal = WTERMSIG(status);
		}
	}
	if (g->exited) {
		log_info("game exited", "user=%s lease=%s game=%s status=%d "
		    "signal=%d", s->user, g->lease, g->id, g->status,
		    g->signal);
		relay_cpu_stop(s);
		relay_check_done(s);
	}
}

/* After hangup, a game that will not exit is pushed harder. */
static void
relay_escalate_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;
	struct game	*g = s->game;
	struct timeval	 tv = { SESSION_HANGUP_KILL - SESSION_HANGUP_TERM, 0 };

	if (g == NULL || g->exited)
		return;
	if (g->escalation++ == 0) {
		log_warn("game ignored SIGHUP; sending SIGTERM", "user=%s "
		    "game=%s pid=%ld", s->user, g->id, (long)g->pid);
		kill(-g->pid, SIGTERM);
		evtimer_add(g->escalate, &tv);
	} else {
		log_warn("game ignored SIGTERM; sending SIGKILL", "user=%s "
		    "game=%s pid=%ld", s->user, g->id, (long)g->pid);
		kill(-g->pid, SIGKILL);
	}
}

/*
 * Hang up the game: SIGHUP to its process group (NetHack saves), and
 * keep draining its PTY until it has exited.
 */
void
relay_hangup(struct session *s)
{
	struct game	*g = s->game;
	struct timeval	 tv = { SESSION_HANGUP_TERM, 0 };

	log_info("hanging up game", "user=%s lease=%s game=%s pid=%ld",
	    s->user, g->lease, g->id, (long)g->pid);
	evbuffer_drain(s->to_user, evbuffer_get_length(s->to_user));
	evbuffer_drain(g->to_game, evbuffer_get_length(g->to_game));
	s->notice_pending = 0;
	g->read_paused = g->bw_paused = 0;
	if (!g->master_eof)
		event_add(g->read_ev, NULL);
	relay_cpu_stop(s);
	if (!g->exited) {
		kill(-g->pid, SIGHUP);
		g->escalate = evtimer_new(s->base, relay_escalate_cb, s);
		evtimer_add(g->escalate, &tv);
	}
	relay_check_done(s);
}

/* Free the game's relay and close its PTY. */
void
relay_free(struct session *s)
{
	struct game	*g = s->game;

	if (g == NULL)
		return;
	if (g->read_ev != NULL)
		event_free(g->read_ev);
	if (g->write_ev != NULL)
		event_free(g->write_ev);
	if (g->escalate != NULL)
		event_free(g->escalate);
	relay_cpu_stop(s);
	if (g->to_game != NULL)
		evbuffer_free(g->to_game);
	if (g->master != -1)
		close(g->master);
	if (g->rc_fd != -1)
		close(g->rc_fd);
	free(g->id);
	free(g->name);
	free(g);
	s->game = NULL;
}
