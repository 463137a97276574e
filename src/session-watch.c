/*
 * Watching: the list of games being played (menu w, `ssh -t host
 * watch`), refreshed once a second, sortable, paged and picked by
 * letter; a watched game, relayed as the broker streams it (`watch
 * USER` goes straight there); and `list`, the same list printed for
 * scripts without a terminal.
 *
 * A watcher's keys never reach the game: the broker has no way for
 * them to. q leaves, r redraws the screen from the broker's state and ?
 * shows the keys.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

/* The list's columns, by the key that sorts on them. */
#define SORT_PLAYER	'P'
#define SORT_GAME	'G'
#define SORT_STARTED	'S'
#define SORT_IDLE	'I'
#define SORT_WATCHERS	'W'

/* Lines of the list around its rows: title, rule, heading, blank, keys,
 * notice, prompt, and one to spare. */
#define WATCH_CHROME	8

/* Is the locale the session runs in UTF-8 (LC_ALL, LC_CTYPE, LANG)? */
int
watch_locale_utf8(void)
{
	static const char *const names[] = { "LC_ALL", "LC_CTYPE", "LANG" };
	const char	*v;
	u_int		 i;

	for (i = 0; i < nitems(names); i++) {
		if ((v = getenv(names[i])) == NULL || *v == '\0')
			continue;
		return strcasestr(v, "UTF-8") != NULL ||
		    strcasestr(v, "utf8") != NULL;
	}
	return 0;
}

/* A duration for the list: 5s, 3m, 2h, 4d. */
static void
watch_ago(char *buf, size_t size, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, size, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, size, "%lldm", secs / 60);
	else if (secs < 86400)
		snprintf(buf, size, "%lldh", secs / 3600);
	else
		snprintf(buf, size, "%lldd", secs / 86400);
}

/* One game's fields. */
static const char *
watch_str(json_t *g, const char *key)
{
	return json_string_value(json_object_get(g, key));
}

static long long
watch_int(json_t *g, const char *key)
{
	return (long long)json_integer_value(json_object_get(g, key));
}

/*
 * `ssh host list` and `list --json`: ask the broker (as a tool, no
 * terminal and no slot) and print the games. Returns the exit status.
 */
int
watch_print_list(struct config *cfg, int as_json)
{
	json_t		*msg, *reply, *games, *g;
	enum proto_msg	 type;
	char		*cause = NULL, *line = NULL, size[32], ago[32],
			 idle[32], *out;
	int		 fd;
	size_t		 i;
	time_t		 now = time(NULL);

	if ((fd = session_connect(cfg, &line)) == -1) {
		fprintf(stderr, "%s\n", line);
		free(line);
		return SESSION_EXIT_UNAVAIL;
	}
	/* The socket is non-blocking; proto_read polls. */
	msg = json_pack("{s:s, s:i, s:s}", "type", "hello", "version",
	    PROTO_VERSION, "client", "admin");
	if (proto_write(fd, msg, &cause) != 0)
		goto fail;
	json_decref(msg);
	msg = json_pack("{s:s}", "type", "list");
	if (proto_write(fd, msg, &cause) != 0)
		goto fail;
	json_decref(msg);
	msg = NULL;
	if (proto_read(fd, SESSION_LOGIN_WAIT * 1000, PROTO_MAX_FROM_BROKER,
	    PROTO_FROM_BROKER, &reply, &type, &cause) != 0)
		goto fail;
	close(fd);
	if (type != MSG_GAMES) {
		fprintf(stderr, "DungeonGate: %s\n", json_string_value(
		    json_object_get(reply, "message")) != NULL ?
		    json_string_value(json_object_get(reply, "message")) :
		    "unexpected answer");
		json_decref(reply);
		return SESSION_EXIT_REFUSED;
	}
	games = json_object_get(reply, "games");
	if (as_json) {
		out = json_dumps(games, JSON_INDENT(2));
		printf("%s\n", out);
		free(out);
		json_decref(reply);
		return SESSION_EXIT_OK;
	}
	if (json_array_size(games) == 0)
		printf("No one is playing right now.\n");
	else
		printf("%-16s %-20s %-9s %-8s %-6s %s\n", "PLAYER", "GAME",
		    "SIZE", "STARTED", "IDLE", "WATCHERS");
	json_array_foreach(games, i, g) {
		snprintf(size, sizeof size, "%lldx%lld", watch_int(g, "cols"),
		    watch_int(g, "rows"));
		watch_ago(ago, sizeof ago, (long long)now -
		    watch_int(g, "started"));
		watch_ago(idle, sizeof idle, watch_int(g, "idle"));
		printf("%-16s %-20s %-9s %-8s %-6s %lld\n", watch_str(g, "user"),
		    watch_str(g, "name"), size, ago, idle,
		    watch_int(g, "watchers"));
	}
	json_decref(reply);
	return SESSION_EXIT_OK;

fail:
	json_decref(msg);
	close(fd);
	fprintf(stderr, "DungeonGate is not answering (%s); please try again "
	    "later.\n", cause);
	free(cause);
	return SESSION_EXIT_UNAVAIL;
}

/* The session's own sort of the list, for qsort. */
static struct session *watch_sorting;

/* Compare two games by the session's sort column. */
static int
watch_cmp(const void *a, const void *b)
{
	json_t		*x = *(json_t *const *)a, *y = *(json_t *const *)b;
	struct session	*s = watch_sorting;
	long long	 d = 0;
	int		 c = 0;

	switch (s->sort) {
	case SORT_GAME:
		c = strcmp(watch_str(x, "name"), watch_str(y, "name"));
		break;
	case SORT_STARTED:
		d = watch_int(y, "started") - watch_int(x, "started");
		break;
	case SORT_IDLE:
		d = watch_int(x, "idle") - watch_int(y, "idle");
		break;
	case SORT_WATCHERS:
		d = watch_int(y, "watchers") - watch_int(x, "watchers");
		break;
	default:
		break;
	}
	if (c == 0)
		c = d < 0 ? -1 : d > 0;
	if (c == 0)
		c = strcmp(watch_str(x, "user"), watch_str(y, "user"));
	if (c == 0)
		c = strcmp(watch_str(x, "game"), watch_str(y, "game"));
	return s->sort_reverse ? -c : c;
}

/* The games in the order shown; the caller frees the array. */
static json_t **
watch_sorted(struct session *s, size_t *np)
{
	json_t	**v;
	size_t	 n = json_array_size(s->live), i;

	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_array_get(s->live, i);
	watch_sorting = s;
	qsort(v, n, sizeof *v, watch_cmp);
	*np = n;
	return v;
}

/* Draw the watch list (session_redraw asks for it). */
void
watch_draw(struct session *s)
{
	struct evbuffer	*b = evbuffer_new();
	json_t		**v, *g;
	size_t		 n, i;
	u_int		 per = menu_page_size(s, WATCH_CHROME), pages, row;
	char		 size[32], ago[32], idle[32];
	time_t		 now = time(NULL);

	v = watch_sorted(s, &n);
	pages = n == 0 ? 1 : (u_int)((n + per - 1) / per);
	if (s->page >= pages)
		s->page = pages - 1;
	evbuffer_add_printf(b, "\033[0m\033[H\033[2J");
	menu_line(b, s->cols, " DungeonGate - watch a game (page %u of %u)",
	    s->page + 1, pages);
	menu_rule(b, s->cols);
	menu_line(b, s->cols, "    %-16s %-20s %-9s %-7s %-5s %s", "Player",
	    "Game", "Size", "Started", "Idle", "Watchers");
	if (n == 0)
		menu_line(b, s->cols, "    (no one is playing right now)");
	for (row = 0, i = (size_t)s->page * per; i < n && row < per;
	    i++, row++) {
		g = v[i];
		snprintf(size, sizeof size, "%lldx%lld", watch_int(g, "cols"),
		    watch_int(g, "rows"));
		watch_ago(ago, sizeof ago, (long long)now -
		    watch_int(g, "started"));
		watch_ago(idle, sizeof idle, watch_int(g, "idle"));
		menu_line(b, s->cols, "  %c) %-16s %-20s %-9s %-7s %-5s %lld",
		    WATCH_LABELS[row], watch_str(g, "user"),
		    watch_str(g, "name"), size, ago, idle,
		    watch_int(g, "watchers"));
	}
	free(v);
	menu_line(b, s->cols, "%s", "");
	menu_line(b, s->cols, "  Keys: a-z watch, P G S I W sort (again: "
	    "reverse), > < page, q back");
	menu_finish(s, b);
}

/* Ask the broker for the list. */
static void
watch_ask(struct session *s)
{
	session_send(s, json_pack("{s:s}", "type", "list"));
}

/* Once a second on the list: ask again. */
static void
watch_list_cb(evutil_socket_t fd, short events, void *arg)
{
	struct session	*s = arg;

	if (s->state == STATE_WATCH_LIST)
		watch_ask(s);
}

/* Start asking for the list once a second, or stop. */
static void
watch_refresh(struct session *s, int on)
{
	struct timeval	 tv = util_timeval_ms(WATCH_LIST_EVERY_MS);

	if (s->list_ev == NULL)
		s->list_ev = event_new(s->base, -1, EV_PERSIST, watch_list_cb,
		    s);
	if (on)
		event_add(s->list_ev, &tv);
	else
		event_del(s->list_ev);
}

/* Show the watch list (from the menu, `watch`, or a game that ended). */
void
watch_open_list(struct session *s)
{
	session_set_state(s, STATE_WATCH_LIST);
	if (s->live == NULL)
		s->live = json_array();
	if (s->sort == 0)
		s->sort = SORT_PLAYER;
	watch_ask(s);
	watch_refresh(s, 1);
	session_redraw(s);
}

/* Ask to watch a user's game. */
void
watch_start(struct session *s, const char *user)
{
	watch_refresh(s, 0);
	free(s->notice);
	s->notice = NULL;
	session_set_state(s, STATE_WATCH_WAIT);
	session_send(s, json_pack("{s:s, s:s, s:i}", "type", "watch", "user",
	    user, "utf8", s->utf8));
}

/* Leave the list: to the menu, or out of a `watch` session. */
static void
watch_close_list(struct session *s)
{
	watch_refresh(s, 0);
	free(s->notice);
	s->notice = NULL;
	if (s->cmd == CMD_WATCH) {
		session_user_write(s, "\033[H\033[2J", 7);
		session_finish(s, SESSION_EXIT_OK, "Goodbye from DungeonGate.");
		return;
	}
	session_set_state(s, STATE_MENU);
	session_redraw(s);
}

/*
 * Back from a watched game: the terminal as the menu wants it, and the
 * list with a notice. A `watch USER` session that was refused at once
 * ends with the reason instead.
 */
static void
watch_back(struct session *s, const char *notice, int refused)
{
	free(s->watched);
	s->watched = NULL;
	free(s->watched_name);
	s->watched_name = NULL;
	if (refused && s->cmd == CMD_WATCH && s->direct_user != NULL) {
		session_finish(s, SESSION_EXIT_REFUSED, notice);
		return;
	}
	menu_reset_terminal(s);
	free(s->notice);
	s->notice = notice != NULL ? xstrdup(notice) : NULL;
	free(s->direct_user);
	s->direct_user = NULL;
	session_set_state(s, STATE_WATCH_LIST);
	watch_ask(s);
	watch_refresh(s, 1);
	session_redraw(s);
}

/* A line over the watched game, on its bottom row in reverse video. */
static void
watch_notice(struct session *s, const char *text)
{
	char	*line;
	int	 n;

	n = xasprintf(&line, "\0337\033[%u;1H\033[0;7m %.*s \033[0m\033[K\0338",
	    s->rows, (int)(s->cols > 2 ? s->cols - 2 : 1), text);
	session_user_write(s, line, (size_t)n);
	free(line);
}

/* Say so when the watcher's terminal cannot show the whole game. */
static void
watch_check_size(struct session *s)
{
	char	*text;

	if (s->state != STATE_WATCHING || (s->cols >= s->watched_cols &&
	    s->rows >= s->watched_rows))
		return;
	xasprintf(&text, "Your terminal is %ux%u and %s's is %ux%u: some of "
	    "the game is cut off.", s->cols, s->rows, s->watched,
	    s->watched_cols, s->watched_rows);
	watch_notice(s, text);
	free(text);
}

/* The watcher's terminal changed size. */
void
watch_resized(struct session *s)
{
	if (s->state == STATE_WATCH_LIST)
		session_redraw(s);
	else if (s->state == STATE_WATCHING) {
		session_send(s, json_pack("{s:s}", "type", "redraw"));
		watch_check_size(s);
	}
}

/* One key on the list. */
static void
watch_list_key(struct session *s, u_char key)
{
	json_t		**v;
	const char	*p;
	size_t		 n, i;
	u_int		 per = menu_page_size(s, WATCH_CHROME);

	switch (key) {
	case 'q':
	case 'Q':
	case 3:
	case 4:
		watch_close_list(s);
		return;
	case 12:
		s->redraw = 1;
		return;
	case '>':
	case ' ':
		if ((size_t)(s->page + 1) * per < json_array_size(s->live))
			s->page++;
		s->redraw = 1;
		return;
	case '<':
		if (s->page > 0)
			s->page--;
		s->redraw = 1;
		return;
	case SORT_PLAYER:
	case SORT_GAME:
	case SORT_STARTED:
	case SORT_IDLE:
	case SORT_WATCHERS:
		if (s->sort == key)
			s->sort_reverse = !s->sort_reverse;
		else {
			s->sort = key;
			s->sort_reverse = 0;
		}
		s->redraw = 1;
		return;
	case '\r':
	case '\n':
		return;
	}
	if (key < 0x80 && (p = strchr(WATCH_LABELS, key)) != NULL &&
	    key != '\0') {
		i = (size_t)s->page * per + (size_t)(p - WATCH_LABELS);
		v = watch_sorted(s, &n);
		if ((size_t)(p - WATCH_LABELS) < per && i < n) {
			free(s->watched);
			s->watched = xstrdup(watch_str(v[i], "user"));
			free(v);
			watch_start(s, s->watched);
			return;
		}
		free(v);
	}
	free(s->notice);
	if (key >= 0x20 && key < 0x7f)
		xasprintf(&s->notice, "There is no choice '%c'.", key);
	else
		s->notice = xstrdup("Press a game's letter, or q to go back.");
	s->redraw = 1;
}

/* One key while watching: the game never sees it. */
static void
watch_game_key(struct session *s, u_char key)
{
	switch (key) {
	case 'q':
	case 'Q':
	case 3:
	case 4:
		session_send(s, json_pack("{s:s}", "type", "unwatch"));
		watch_back(s, NULL, 0);
		return;
	case 'r':
	case 'R':
	case 12:
		session_send(s, json_pack("{s:s}", "type", "redraw"));
		return;
	case '?':
		watch_notice(s, "Watching: q leave, r redraw, ? these keys. "
		    "Your keys never reach the game.");
		return;
	default:
		return;
	}
}

/* Keys on the list or while watching. */
void
watch_key(struct session *s, u_char key)
{
	if (s->state == STATE_WATCH_LIST)
		watch_list_key(s, key);
	else if (s->state == STATE_WATCHING)
		watch_game_key(s, key);
	else if (s->state == STATE_WATCH_WAIT && (key == 'q' || key == 3)) {
		session_send(s, json_pack("{s:s}", "type", "unwatch"));
		watch_back(s, NULL, 0);
	}
}

/* A message from the broker about watching. */
void
watch_dispatch(struct session *s, enum proto_msg type, json_t *msg)
{
	const char	*text;

	switch (type) {
	case MSG_GAMES:
		if (s->state != STATE_WATCH_LIST)
			return;
		json_decref(s->live);
		s->live = json_incref(json_object_get(msg, "games"));
		session_redraw(s);
		return;
	case MSG_WATCHING:
		if (s->state != STATE_WATCH_WAIT)
			return;
		free(s->watched);
		s->watched = xstrdup(watch_str(msg, "user"));
		free(s->watched_name);
		s->watched_name = xstrdup(watch_str(msg, "name"));
		s->watched_cols = (u_int)watch_int(msg, "cols");
		s->watched_rows = (u_int)watch_int(msg, "rows");
		session_set_state(s, STATE_WATCHING);
		/* The screen follows at once, as stream bytes. */
		return;
	case MSG_WATCH_SIZE:
		s->watched_cols = (u_int)watch_int(msg, "cols");
		s->watched_rows = (u_int)watch_int(msg, "rows");
		watch_check_size(s);
		return;
	case MSG_WATCH_END:
		if (s->state != STATE_WATCHING && s->state != STATE_WATCH_WAIT)
			return;
		watch_back(s, watch_str(msg, "message"), 0);
		return;
	case MSG_REFUSED:
		text = watch_str(msg, "message");
		if (s->state == STATE_WATCH_WAIT)
			watch_back(s, text, 1);
		else if (s->state == STATE_WATCH_LIST &&
		    strcmp(watch_str(msg, "reason"), REASON_RATE_LIMITED) != 0) {
			/* No list at all (watching is off): say why. */
			watch_refresh(s, 0);
			if (s->cmd == CMD_WATCH) {
				session_finish(s, SESSION_EXIT_REFUSED, text);
				return;
			}
			free(s->notice);
			s->notice = xstrdup(text);
			session_set_state(s, STATE_MENU);
			session_redraw(s);
		}
		return;
	default:
		return;
	}
}

/* Bytes of the watched game (the first are its whole screen). */
void
watch_stream(struct session *s, const struct proto_stream *st)
{
	if (s->state != STATE_WATCHING)
		return;
	session_user_write(s, st->data, st->len);
	if (st->offset == 0)
		watch_check_size(s);
}

/* Free what watching holds. */
void
watch_free(struct session *s)
{
	if (s->list_ev != NULL)
		event_free(s->list_ev);
	json_decref(s->live);
	free(s->watched);
	free(s->watched_name);
	free(s->direct_user);
}
