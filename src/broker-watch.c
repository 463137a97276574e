/*
 * The spectator hub: every game being played, with its terminal state
 * (broker-screen.c) and its watchers. The playing session streams a copy
 * of what the game writes; each frame goes into the state, to the
 * recording, and to each watcher of that game, and nowhere else, so the
 * work of a frame grows with that game's watchers only.
 *
 * A watcher is a session (it holds a connection slot, not a lease). What
 * is queued to it is bounded: past WATCH_BACKLOG_MAX the live bytes stop
 * going to it, and once it has taken its backlog it gets a fresh screen
 * rendered from the state. It never slows the player, the recording or
 * the other watchers.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "broker.h"

/* The key a user name is found by (FNV-1a). */
static uint64_t
watch_name_key(const char *name)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *name != '\0'; name++)
		h = (h ^ (u_char)*name) * 0x100000001b3ULL;
	return h;
}

/* Find a user's live game (of one kind, or any). */
static struct live *
watch_find(struct broker *b, const char *user, const char *game)
{
	struct live	*l;

	for (l = idmap_get(&b->lives_by_name, watch_name_key(user));
	    l != NULL; l = l->name_next) {
		if (strcmp(l->user, user) == 0 &&
		    (game == NULL || strcmp(l->game, game) == 0))
			return l;
	}
	return NULL;
}

/* Send bytes to a watcher as stream frames. */
static void
watch_send_bytes(struct client *w, const void *buf, size_t len)
{
	proto_add_stream(bufferevent_get_output(w->bev), w->watch_sent, buf,
	    len);
	w->watch_sent += len;
}

/* Send a watcher the whole screen, rendered from the game's state. */
static void
watch_send_screen(struct client *w)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;

	screen_render(w->watching->screen, w->watch_utf8, b);
	len = evbuffer_get_length(b);
	watch_send_bytes(w, evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

/*
 * A watcher has taken all but WATCH_BACKLOG_LOW of its backlog: if it
 * lost live bytes, it gets a fresh screen now.
 */
void
watch_drained(struct client *w)
{
	struct broker	*b = w->broker;

	bufferevent_setwatermark(w->bev, EV_WRITE, 0, 0);
	if (w->dead || w->watching == NULL || !w->watch_behind)
		return;
	w->watch_behind = 0;
	b->watch_resyncs++;
	log_debug("watcher caught up; fresh screen", "user=%s watching=%s",
	    client_name(w), w->watching->user);
	watch_send_screen(w);
}

/* Live bytes for one watcher, unless it is too far behind to take them. */
static void
watch_forward(struct client *w, const void *buf, size_t len)
{
	size_t	 queued;

	if (w->watch_behind)
		return;
	queued = evbuffer_get_length(bufferevent_get_output(w->bev));
	if (queued + len > WATCH_BACKLOG_MAX) {
		/* Its backlog is lost; a fresh screen once it drains. */
		w->watch_behind = 1;
		bufferevent_setwatermark(w->bev, EV_WRITE, WATCH_BACKLOG_LOW, 0);
		log_debug("watcher behind", "user=%s queued=%zu",
		    client_name(w), queued);
		return;
	}
	watch_send_bytes(w, buf, len);
}

/* Take a watcher off its game (it leaves, or the game ends). */
static void
watch_detach(struct client *w)
{
	struct live	*l = w->watching;

	if (l == NULL)
		return;
	TAILQ_REMOVE(&l->watchers, w, watch_entry);
	l->nwatchers--;
	w->broker->nwatchers--;
	w->watching = NULL;
	w->watch_behind = 0;
	client_set_activity(w, client_doing(w));
	if (!w->dead)
		bufferevent_setwatermark(w->bev, EV_WRITE, 0, 0);
}

/*
 * A live game in the hub: its state, sized as the player's terminal,
 * decoding as the player's locale does, from the lease's start.
 */
static struct live *
watch_live_new(struct client *c, int utf8)
{
	struct broker	*b = c->broker;
	struct live	*l, *first;

	l = xcalloc(1, sizeof *l);
	l->client = c->id;
	l->player = c;
	l->uid = c->uid;
	l->user = xstrdup(client_name(c));
	l->game = xstrdup(c->lease->game);
	l->name = xstrdup(config_find_game(b->cfg, l->game) != NULL ?
	    config_find_game(b->cfg, l->game)->name : l->game);
	l->cols = c->cols;
	l->rows = c->rows;
	l->utf8 = utf8;
	l->screen = screen_new(c->cols, c->rows, utf8);
	termsafe_init(&l->safe, utf8);
	l->started = c->lease->started;
	l->last_output = util_wall_ms();
	TAILQ_INIT(&l->watchers);
	l->name_key = watch_name_key(l->user);
	if ((first = idmap_remove(&b->lives_by_name, l->name_key)) != NULL)
		l->name_next = first;
	idmap_put(&b->lives_by_name, l->name_key, l);
	TAILQ_INSERT_TAIL(&b->lives, l, entry);
	b->nlives++;
	c->live = l;
	return l;
}

/* A game starts: its state, and its recording. */
void
watch_game_start(struct client *c, int utf8)
{
	struct broker	*b = c->broker;
	struct live	*l;

	l = watch_live_new(c, utf8);
	if (b->cfg->recording_enabled)
		l->rec = record_start(b, l->user, l->game, l->started);
}

/*
 * A game that ran on while the broker was away comes back: its stream
 * has come to offset. Recorded, its file is looked for first (on a
 * worker): the broker then wants the stream from where the file ends,
 * and the watchers' screen is what the file draws. Returns 1 while that
 * is under way (admit_rejoined follows in watch_rejoin_done), else 0:
 * unrecorded, the screen starts blank and the next full redraw fills it.
 */
int
watch_game_rejoin(struct client *c, int utf8, uint64_t offset)
{
	struct broker	*b = c->broker;
	struct live	*l;

	l = watch_live_new(c, utf8);
	l->offset = offset;
	if (!b->cfg->recording_enabled)
		return 0;
	if (record_probe(b, l) == 0)
		return 1;
	l->rec = record_start(b, l->user, l->game, l->started);
	return 0;
}

/*
 * The rejoining game's recording was looked for: path, when found, with
 * payload bytes of the game in its first valid bytes, and the screen
 * they draw (NULL: none). The recording goes on in that file (or a new
 * one), and the session is told where its stream is wanted from.
 */
void
watch_rejoin_done(struct broker *b, struct live *l, const char *path,
    uint64_t payload, uint64_t valid, struct screen *screen)
{
	struct client	*w;

	if (path != NULL) {
		l->rec = record_resume(b, l->user, l->game, l->started, path,
		    valid);
		if (payload < l->offset)
			l->offset = payload;
		log_info("recording resumed", "user=%s game=%s path=%s "
		    "bytes=%llu", l->user, l->game, log_quote(path),
		    (unsigned long long)payload);
	} else
		l->rec = record_start(b, l->user, l->game, l->started);
	if (screen != NULL) {
		screen_free(l->screen);
		l->screen = screen;
		screen_resize(l->screen, l->cols, l->rows);
		TAILQ_FOREACH(w, &l->watchers, watch_entry) {
			if (!w->watch_behind)
				watch_send_screen(w);
		}
	}
	if (l->player != NULL && !l->player->dead)
		admit_rejoined(l->player, l->offset);
}

/* Take a live game out of its name's chain. */
static void
watch_unlink_name(struct broker *b, struct live *l)
{
	struct live	*p = idmap_get(&b->lives_by_name, l->name_key);

	if (p == l) {
		idmap_remove(&b->lives_by_name, l->name_key);
		if (l->name_next != NULL)
			idmap_put(&b->lives_by_name, l->name_key,
			    l->name_next);
		return;
	}
	for (; p != NULL; p = p->name_next) {
		if (p->name_next == l) {
			p->name_next = l->name_next;
			return;
		}
	}
	fatalx("live game of %s is not under its name", l->user);
}

/* A game ends: its watchers are told and go back to the list. */
void
watch_game_end(struct client *c)
{
	struct broker	*b = c->broker;
	struct live	*l = c->live;
	struct client	*w;
	char		*message;

	if (l == NULL)
		return;
	xasprintf(&message, "%s's game of %s has ended.", l->user, l->name);
	while ((w = TAILQ_FIRST(&l->watchers)) != NULL) {
		watch_detach(w);
		client_send(w, json_pack("{s:s, s:s, s:s}", "type",
		    "watch_end", "reason", REASON_ENDED, "message", message));
	}
	free(message);
	if (l->probe != NULL)
		record_probe_orphan(l->probe);
	if (l->rec != NULL)
		record_stop(b, l->rec);
	watch_unlink_name(b, l);
	TAILQ_REMOVE(&b->lives, l, entry);
	b->nlives--;
	if (l->gaps != 0)
		log_warn("stream had gaps", "user=%s game=%s bytes=%llu",
		    l->user, l->game, (unsigned long long)l->gaps);
	screen_free(l->screen);
	free(l->user);
	free(l->game);
	free(l->name);
	free(l);
	c->live = NULL;
}

/* The session dropped the game's bytes up to offset: count the gap. */
static void
watch_gap(struct broker *b, struct live *l, uint64_t offset)
{
	/* The first is logged; the game's end tells the sum. */
	if (l->gaps == 0)
		log_warn("stream gap: the session dropped bytes the broker "
		    "could not take in time", "user=%s game=%s offset=%llu "
		    "bytes=%llu", l->user, l->game,
		    (unsigned long long)l->offset,
		    (unsigned long long)(offset - l->offset));
	l->gaps += offset - l->offset;
	l->offset = offset;
	admit_violation(b, V_STREAM_GAP);
}

/* The game has ended with offset bytes written: what never came is a gap. */
void
watch_stream_end(struct client *c, uint64_t offset)
{
	struct live	*l = c->live;

	if (l != NULL && offset > l->offset)
		watch_gap(c->broker, l, offset);
}

/*
 * A stream frame from a playing session. Bytes before the expected
 * offset were had already (a session resending after a reconnect) and
 * are skipped; a jump forward is a gap the session had to drop.
 */
void
watch_stream(struct client *c, const struct proto_stream *st)
{
	static u_char	 safe[PROTO_STREAM_DATA + 1];
	struct broker	*b = c->broker;
	struct live	*l = c->live;
	struct client	*w, *w1;
	const u_char	*p = st->data;
	size_t		 len = st->len, n;
	uint64_t	 skip;
	int64_t		 now;

	if (st->offset < l->offset) {
		skip = l->offset - st->offset;
		if (skip >= len)
			return;
		p += skip;
		len -= (size_t)skip;
	} else if (st->offset > l->offset)
		watch_gap(b, l, st->offset);
	l->offset = st->offset + st->len;
	now = util_wall_ms();
	l->last_output = now;
	b->stream_bytes += len;
	screen_feed(l->screen, p, len);
	if (l->rec != NULL)
		record_data(b, l->rec, now, p, len);
	/* Watchers get what a screen shows, without control strings. */
	n = termsafe_filter(&l->safe, p, len, safe);
	if (n > 0) {
		TAILQ_FOREACH_SAFE(w, &l->watchers, watch_entry, w1)
			watch_forward(w, safe, n);
	}
	if (record_full(b))
		record_hold(c);
}

/* The player's terminal changed size: the state, watchers, recording. */
void
watch_resize(struct client *c, json_t *msg)
{
	struct live	*l = c->live;
	struct client	*w;
	json_int_t	 cols, rows, offset;

	if (json_unpack(msg, "{s:I, s:I, s:I}", "cols", &cols, "rows", &rows,
	    "offset", &offset) != 0)
		fatalx("validated resize lacks fields");
	c->cols = (u_int)cols;
	c->rows = (u_int)rows;
	if (l == NULL)
		return;
	l->cols = (u_int)cols;
	l->rows = (u_int)rows;
	screen_resize(l->screen, l->cols, l->rows);
	TAILQ_FOREACH(w, &l->watchers, watch_entry) {
		client_send(w, json_pack("{s:s, s:i, s:i}", "type",
		    "watch_size", "cols", (int)cols, "rows", (int)rows));
	}
}

/* Refuse a watch request; the session stays (it goes back to its list). */
static void
watch_refuse(struct client *c, const char *reason, const char *message)
{
	log_info("watch refused", "user=%s reason=%s", client_name(c), reason);
	client_send(c, json_pack("{s:s, s:s, s:s}", "type", "refused",
	    "reason", reason, "message", message));
}

/*
 * A session asks to watch a user's game: it gets the screen at once,
 * then the live bytes. Refused when watching is off, the user plays
 * nothing (or is this session), or the game has all the watchers
 * max_watchers_per_game allows.
 */
void
watch_request(struct client *c, json_t *msg)
{
	struct broker	*b = c->broker;
	const char	*user, *game = NULL;
	json_int_t	 utf8 = 0;
	struct live	*l;
	char		*message;

	if (json_unpack(msg, "{s:s, s?s, s?I}", "user", &user, "game", &game,
	    "utf8", &utf8) != 0)
		fatalx("validated watch lacks user");
	if (c->lease != NULL || c->replay != NULL) {
		client_close(c, "error", REASON_UNEXPECTED,
		    "a session that plays or replays cannot watch");
		return;
	}
	watch_detach(c);
	if (!b->cfg->spectate_enabled) {
		watch_refuse(c, REASON_SPECTATE_OFF, "Watching games is turned "
		    "off on this server.");
		return;
	}
	if ((l = watch_find(b, user, game)) == NULL) {
		xasprintf(&message, "%s is not playing right now.", user);
		watch_refuse(c, REASON_NOT_PLAYING, message);
		free(message);
		return;
	}
	if (l->player == c) {
		watch_refuse(c, REASON_UNEXPECTED, "You cannot watch your own "
		    "game from the same session.");
		return;
	}
	if (l->nwatchers >= b->cfg->spectate_max_watchers) {
		admit_violation(b, V_WATCHERS_FULL);
		xasprintf(&message, "%s already has %u watcher%s, as many as "
		    "this server allows; try again later.", l->user,
		    l->nwatchers, l->nwatchers == 1 ? "" : "s");
		watch_refuse(c, violation_name(V_WATCHERS_FULL), message);
		free(message);
		return;
	}
	c->watching = l;
	c->watch_utf8 = utf8 != 0;
	c->watch_behind = 0;
	TAILQ_INSERT_TAIL(&l->watchers, c, watch_entry);
	l->nwatchers++;
	client_set_activity(c, ACT_WATCHING);
	b->nwatchers++;
	log_info("watching", "user=%s watched=%s game=%s watchers=%u",
	    client_name(c), l->user, l->game, l->nwatchers);
	client_send(c, json_pack("{s:s, s:s, s:s, s:s, s:i, s:i}", "type",
	    "watching", "user", l->user, "game", l->game, "name", l->name,
	    "cols", (int)l->cols, "rows", (int)l->rows));
	if (!c->dead)
		watch_send_screen(c);
}

/* A watcher leaves its game (it asked, or it is going). */
void
watch_leave(struct client *c)
{
	if (c->watching != NULL)
		log_info("stopped watching", "user=%s watched=%s",
		    client_name(c), c->watching->user);
	watch_detach(c);
}

/*
 * A watcher asks for the screen again. One that does not read what it is
 * sent gets it once it has, however often it asks.
 */
void
watch_redraw(struct client *c)
{
	if (c->watching == NULL || c->watch_behind)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    WATCH_BACKLOG_LOW) {
		c->watch_behind = 1;
		bufferevent_setwatermark(c->bev, EV_WRITE, WATCH_BACKLOG_LOW,
		    0);
		return;
	}
	watch_send_screen(c);
}

/* The list of live games, for the watch list and `list`. */
void
watch_list(struct client *c)
{
	struct broker	*b = c->broker;
	struct live	*l;
	struct client	*p;
	json_t		*games;
	int64_t		 now = util_now_ms(), idle;

	if (c->list_rate.rate == 0)
		bucket_init_burst(&c->list_rate, WATCH_LIST_RATE,
		    WATCH_LIST_BURST, now);
	if (bucket_available(&c->list_rate, now) < 1) {
		admit_violation(b, V_RATE_LIMITED);
		client_send(c, json_pack("{s:s, s:s, s:s}", "type", "refused",
		    "reason", REASON_RATE_LIMITED, "message", "Too many list "
		    "requests; please wait a moment."));
		return;
	}
	bucket_spend(&c->list_rate, 1);
	if (!b->cfg->spectate_enabled) {
		watch_refuse(c, REASON_SPECTATE_OFF, "Watching games is turned "
		    "off on this server.");
		return;
	}
	games = json_array();
	TAILQ_FOREACH(l, &b->lives, entry) {
		p = l->player;
		idle = p != NULL ? (now - p->last_input) / 1000 : 0;
		json_array_append_new(games, json_pack("{s:s, s:s, s:s, s:i, "
		    "s:i, s:I, s:I, s:i}", "user", l->user, "game", l->game,
		    "name", l->name, "cols", (int)l->cols, "rows",
		    (int)l->rows, "started", (json_int_t)(l->started / 1000),
		    "idle", (json_int_t)(idle > 0 ? idle : 0), "watchers",
		    (int)l->nwatchers));
	}
	client_send(c, json_pack("{s:s, s:o}", "type", "games", "games",
	    games));
}

/* The hub's figures for --status. */
json_t *
watch_status(struct broker *b)
{
	return json_pack("{s:b, s:i, s:i, s:i, s:I, s:I}",
	    "enabled", b->cfg->spectate_enabled,
	    "max_watchers_per_game", (int)b->cfg->spectate_max_watchers,
	    "games", (int)b->nlives,
	    "watchers", (int)b->nwatchers,
	    "resyncs", (json_int_t)b->watch_resyncs,
	    "stream_bytes", (json_int_t)b->stream_bytes);
}

/* Forget every live game (the broker is stopping). */
void
watch_free(struct broker *b)
{
	idmap_clear(&b->lives_by_name, NULL);
}
