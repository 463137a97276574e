/*
 * The menu: the games from the ticket, each with its key, and quit. It
 * fits an 80x24 terminal (more games go into columns) and is redrawn
 * whenever the window changes size.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Lines of the menu around the games: title, rule, blank, heading,
 * blank, watch, recordings, quit, blank, notice, prompt; and edit, when a
 * game has options. */
#define MENU_CHROME	11

/* The games whose options file the menu's e edits. */
static u_int
menu_editable(struct session *s, json_t **only)
{
	json_t	*g;
	size_t	 i;
	u_int	 n = 0;

	json_array_foreach(s->games, i, g) {
		if (json_object_get(g, "rcfile") == NULL)
			continue;
		if (only != NULL)
			*only = g;
		n++;
	}
	return n;
}

/* Append one line, cut to the terminal's width without splitting UTF-8. */
void
menu_line(struct evbuffer *b, u_int cols, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;
	size_t	 len, max = cols > 1 ? cols - 1 : 1;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	len = strlen(line);
	if (len > max) {
		len = max;
		while (len > 0 && ((u_char)line[len] & 0xc0) == 0x80)
			len--;
	}
	evbuffer_add(b, line, len);
	evbuffer_add(b, "\r\n", 2);
	free(line);
}

/* Append a notice in bold, wrapped at spaces to the terminal's width. */
void
menu_wrap(struct evbuffer *b, u_int cols, const char *text)
{
	size_t	 width = cols > 12 ? cols - 4 : 8, len, cut;

	while (*text != '\0') {
		len = strlen(text);
		cut = len;
		if (len > width) {
			for (cut = width; cut > 0 && text[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = width;
		}
		evbuffer_add_printf(b, "  \033[1m%.*s\033[0m\r\n", (int)cut,
		    text);
		text += cut;
		while (*text == ' ')
			text++;
	}
}

/* Append the rule under a screen's title, across the terminal. */
void
menu_rule(struct evbuffer *b, u_int cols)
{
	char	*rule;

	rule = xcalloc(1, cols + 1);
	memset(rule, '-', cols > 2 ? cols - 2 : 1);
	menu_line(b, cols, " %s", rule);
	free(rule);
}

/*
 * End a screen of the menu's (the menu, the watch list, the recordings):
 * the notice or a blank line, the prompt, and all of it out at once.
 */
void
menu_finish(struct session *s, struct evbuffer *b)
{
	if (s->notice != NULL)
		menu_wrap(b, s->cols, s->notice);
	else
		menu_line(b, s->cols, "%s", "");
	evbuffer_add_printf(b, "  Your choice: ");
	session_user_write(s, evbuffer_pullup(b, -1), evbuffer_get_length(b));
	evbuffer_free(b);
}

/* How many rows of a list, each picked by a letter, fit on a page. */
u_int
menu_page_size(struct session *s, u_int chrome)
{
	u_int	 n = s->rows > chrome + 1 ? s->rows - chrome : 1;

	return n < strlen(WATCH_LABELS) ? n : (u_int)strlen(WATCH_LABELS);
}

/* Draw the whole menu now (session_redraw asks for it). */
void
menu_draw(struct session *s)
{
	struct evbuffer	*b;
	json_t		*g;
	u_int		 ngames = (u_int)json_array_size(s->games);
	u_int		 avail, ncols, nrows, width, r, c, i, chrome;
	int		 edit = menu_editable(s, NULL) > 0;
	char		*cell, *row, *tmp;

	b = evbuffer_new();
	evbuffer_add_printf(b, "\033[0m\033[H\033[2J");
	/* " DungeonGate" is 12 columns; the user's name goes right. */
	if (s->cols >= 12 + strlen(s->user) + 3)
		evbuffer_add_printf(b, " \033[1mDungeonGate\033[0m%*s%s\r\n",
		    (int)(s->cols - 12 - strlen(s->user) - 1), "", s->user);
	else
		evbuffer_add_printf(b, " \033[1mDungeonGate\033[0m\r\n");
	menu_rule(b, s->cols);
	menu_line(b, s->cols, "%s", "");
	menu_line(b, s->cols, "  Games");

	chrome = MENU_CHROME + (edit ? 1 : 0);
	avail = s->rows > chrome + 1 ? s->rows - chrome : 1;
	ncols = ngames == 0 ? 1 : (ngames + avail - 1) / avail;
	nrows = ngames == 0 ? 0 : (ngames + ncols - 1) / ncols;
	/* A window narrower than the columns still gets two-cell columns. */
	width = s->cols > 4 + 2 * ncols ? (s->cols - 4) / ncols : 2;
	for (r = 0; r < nrows; r++) {
		row = xstrdup("");
		for (c = 0; c < ncols; c++) {
			i = c * nrows + r;
			if (i >= ngames)
				break;
			g = json_array_get(s->games, i);
			xasprintf(&cell, "%s) %s",
			    json_string_value(json_object_get(g, "key")),
			    json_string_value(json_object_get(g, "name")));
			xasprintf(&tmp, "%s%-*.*s", row, (int)width,
			    (int)(width > 1 ? width - 1 : 1), cell);
			free(row);
			free(cell);
			row = tmp;
		}
		menu_line(b, s->cols, "    %s", row);
		free(row);
	}
	if (ngames == 0)
		menu_line(b, s->cols, "    (no games are offered)");
	menu_line(b, s->cols, "%s", "");
	if (edit)
		menu_line(b, s->cols, "    e) Edit a game's options");
	menu_line(b, s->cols, "    w) Watch a game");
	menu_line(b, s->cols, "    r) Recordings");
	menu_line(b, s->cols, "    q) Quit");
	menu_line(b, s->cols, "%s", "");
	menu_finish(s, b);
}

/* Undo what a game may have left set on the terminal. */
void
menu_reset_terminal(struct session *s)
{
	static const char reset[] =
	    "\033[?1049l"	/* leave the alternate screen */
	    "\033[r"		/* whole-screen scrolling */
	    "\033[0m"		/* plain text */
	    "\033[?25h"		/* cursor visible */
	    "\033[?1l\033>";	/* normal cursor and keypad keys */

	session_user_write(s, reset, sizeof reset - 1);
}

/* The game whose menu key this is, or NULL. */
static json_t *
menu_find_key(struct session *s, u_char key)
{
	json_t		*g;
	const char	*k;
	size_t		 i;

	json_array_foreach(s->games, i, g) {
		k = json_string_value(json_object_get(g, "key"));
		if ((u_char)k[0] == key)
			return g;
	}
	return NULL;
}

/* The key after e, with more than one game to choose from. */
static void
menu_pick_key(struct session *s, u_char key)
{
	json_t	*g;

	s->menu_pick = 0;
	free(s->notice);
	s->notice = NULL;
	if ((g = menu_find_key(s, key)) != NULL &&
	    json_object_get(g, "rcfile") != NULL) {
		session_edit(s, json_string_value(json_object_get(g, "id")));
		return;
	}
	if (g != NULL)
		xasprintf(&s->notice, "%s has no options file to edit.",
		    json_string_value(json_object_get(g, "name")));
	s->redraw = 1;
}

/* e: edit the options of the one game that has them, or ask which. */
static void
menu_edit(struct session *s)
{
	json_t	*only = NULL;
	u_int	 n = menu_editable(s, &only);

	free(s->notice);
	s->notice = NULL;
	if (n == 1) {
		session_edit(s, json_string_value(json_object_get(only, "id")));
		return;
	}
	if (n == 0)
		s->notice = xstrdup("No game here has an options file to "
		    "edit.");
	else {
		s->notice = xstrdup("Edit the options of which game? Press "
		    "its key; any other key goes back.");
		s->menu_pick = 1;
	}
	s->redraw = 1;
}

/* One key pressed at the menu; the menu is drawn after all keys of a read. */
void
menu_key(struct session *s, u_char key)
{
	json_t	*g;

	if (s->menu_pick) {
		menu_pick_key(s, key);
		return;
	}
	switch (key) {
	case 'q':
	case 'Q':
	case 3:		/* ^C */
	case 4:		/* ^D */
		session_user_write(s, "\033[H\033[2J", 7);
		session_finish(s, SESSION_EXIT_OK, "Goodbye from DungeonGate.");
		return;
	case 12:	/* ^L */
		s->redraw = 1;
		return;
	case 'w':
	case 'W':
		free(s->notice);
		s->notice = NULL;
		s->page = 0;
		watch_open_list(s);
		return;
	case 'r':
	case 'R':
		free(s->notice);
		s->notice = NULL;
		replay_open_list(s);
		return;
	case '\r':
	case '\n':
	case ' ':
		return;
	case 'e':
		menu_edit(s);
		return;
	}
	if ((g = menu_find_key(s, key)) != NULL) {
		session_play(s, json_string_value(json_object_get(g, "id")));
		return;
	}
	free(s->notice);
	if (key >= 0x20 && key < 0x7f)
		xasprintf(&s->notice, "There is no choice '%c'. Press a game's "
		    "key, w, r, or q to quit.", key);
	else
		s->notice = xstrdup("Press a game's key, or q to quit.");
	/* Drawn once, after every key of this read. */
	s->redraw = 1;
}
