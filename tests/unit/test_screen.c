/*
 * Unit tests for a live game's terminal state and its render: a screen
 * rendered for a late watcher and fed to a fresh terminal must give the
 * same cells, attributes, colours and cursor, and the bytes that follow
 * (which depend on the scrolling region, origin mode, the character sets
 * and the pen) must land the same on both.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <vterm.h>

#include "broker.h"

/* A terminal that stands for the watcher's, fed what the render says. */
struct term {
	VTerm		*vt;
	VTermScreen	*vs;
};

/* A blank watcher's terminal. */
static struct term *
term_new(int cols, int rows, int utf8)
{
	struct term	*t = xcalloc(1, sizeof *t);

	t->vt = vterm_new(rows, cols);
	vterm_set_utf8(t->vt, utf8);
	t->vs = vterm_obtain_screen(t->vt);
	vterm_screen_enable_altscreen(t->vs, 1);
	vterm_screen_reset(t->vs, 1);
	return t;
}

static void
term_free(struct term *t)
{
	vterm_free(t->vt);
	free(t);
}

static void
term_feed(struct term *t, const void *buf, size_t len)
{
	vterm_input_write(t->vt, buf, len);
}

/*
 * Are two cells alike: characters, width, attributes, colours? An erased
 * cell shows its background only (libvterm notes the foreground of the
 * pen too, which no terminal shows).
 */
static int
cell_same(const VTermScreenCell *a, const VTermScreenCell *b)
{
	uint32_t	 ca = a->chars[0] == 0 ? ' ' : a->chars[0];
	uint32_t	 cb = b->chars[0] == 0 ? ' ' : b->chars[0];

	if (a->chars[0] == 0 && b->chars[0] == 0)
		return vterm_color_is_equal(&a->bg, &b->bg);
	if (a->chars[0] == 0)
		return cb == ' ' && vterm_color_is_equal(&a->bg, &b->bg) &&
		    !b->attrs.reverse && !b->attrs.underline &&
		    !b->attrs.strike;
	return ca == cb && a->width == b->width &&
	    a->attrs.bold == b->attrs.bold &&
	    a->attrs.underline == b->attrs.underline &&
	    a->attrs.italic == b->attrs.italic &&
	    a->attrs.blink == b->attrs.blink &&
	    a->attrs.reverse == b->attrs.reverse &&
	    a->attrs.strike == b->attrs.strike &&
	    vterm_color_is_equal(&a->fg, &b->fg) &&
	    vterm_color_is_equal(&a->bg, &b->bg);
}

/*
 * Does the watcher's terminal show what the game's state holds? Compares
 * every cell of an original terminal fed the game's bytes (orig) with
 * the watcher's, and the cursors. Returns the cells that differ.
 */
static int
terms_differ(struct term *orig, struct term *w, int cols, int rows)
{
	VTermScreenCell	 a, b;
	VTermPos	 pos, ca, cb;
	int		 n = 0;

	for (pos.row = 0; pos.row < rows; pos.row++) {
		for (pos.col = 0; pos.col < cols; pos.col++) {
			vterm_screen_get_cell(orig->vs, pos, &a);
			vterm_screen_get_cell(w->vs, pos, &b);
			if (!cell_same(&a, &b)) {
				if (n < 5)
					print_error("cell %d,%d: U+%04x vs "
					    "U+%04x\n", pos.row, pos.col,
					    a.chars[0], b.chars[0]);
				n++;
			}
		}
	}
	vterm_state_get_cursorpos(vterm_obtain_state(orig->vt), &ca);
	vterm_state_get_cursorpos(vterm_obtain_state(w->vt), &cb);
	if (ca.row != cb.row || ca.col != cb.col) {
		print_error("cursor %d,%d vs %d,%d\n", ca.row, ca.col, cb.row,
		    cb.col);
		n++;
	}
	return n;
}

/* Render a screen and feed it to a fresh watcher's terminal. */
static struct term *
render_to_term(struct screen *scr, int cols, int rows, int utf8)
{
	struct evbuffer	*b = evbuffer_new();
	struct term	*t = term_new(cols, rows, utf8);

	/* A watcher's terminal starts with something else on it. */
	term_feed(t, "\033[31;1mold list\033[5;10r\033(0", 25);
	screen_render(scr, utf8, b);
	term_feed(t, (char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	evbuffer_free(b);
	return t;
}

/* Feed the same bytes to the game's state and to an original terminal. */
static void
feed_both(struct screen *scr, struct term *orig, const char *s)
{
	screen_feed(scr, s, strlen(s));
	term_feed(orig, s, strlen(s));
}

/* Text, attributes and colours of every kind come out the same. */
static void
test_render_cells(void **state)
{
	static const char game[] =
	    "\033[H\033[2JPlain text\r\n"
	    "\033[1mbold\033[0m \033[3mitalic\033[0m \033[4munder\033[0m "
	    "\033[5mblink\033[0m \033[7mrev\033[0m \033[9mstrike\033[0m\r\n"
	    "\033[31mred\033[42mon green\033[0m \033[95mbright\033[0m "
	    "\033[38;5;200mindexed\033[48;5;17m bg\033[0m "
	    "\033[38;2;10;20;30mrgb\033[48;2;200;100;50mrgb bg\033[0m\r\n"
	    "\033[44m\033[Kblue to the end\033[0m\r\n"
	    "caf\303\251 \346\227\245\346\234\254 wide\r\n"
	    "\033[10;70Hnear the edge of the line";
	struct screen	*scr = screen_new(80, 24, 1);
	struct term	*orig = term_new(80, 24, 1), *w;

	(void)state;
	feed_both(scr, orig, game);
	w = render_to_term(scr, 80, 24, 1);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	term_free(w);
	term_free(orig);
	screen_free(scr);
}

/*
 * The modes the game left (scrolling region, origin mode, a designated
 * and shifted character set, the pen, autowrap off, insert mode) hold
 * for the bytes that follow the render.
 */
static void
test_render_modes(void **state)
{
	static const char before[] =
	    "\033[H\033[2Jheader line\r\n\033[3;10r\033[?6h\033[2;1H"
	    "\033)0\016\033[33;1m";
	static const char after[] =
	    "lqk\017 text in the region\r\nmore\r\nand\r\nmore\r\nscrolls\r\n"
	    "\033[?7l\033[4h\033[1;1Hinserted at the region's top"
	    "\033[1;75Hno wrap past the edge here";
	struct screen	*scr = screen_new(80, 24, 0);
	struct term	*orig = term_new(80, 24, 0), *w;

	(void)state;
	feed_both(scr, orig, before);
	w = render_to_term(scr, 80, 24, 0);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	/* What follows lands the same. */
	term_feed(w, after, strlen(after));
	feed_both(scr, orig, after);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	term_free(w);

	/* And the state's own render of the result agrees again. */
	w = render_to_term(scr, 80, 24, 0);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	term_free(w);
	term_free(orig);
	screen_free(scr);
}

/* The alternate screen, and the cursor hidden, are as the game left. */
static void
test_render_altscreen(void **state)
{
	struct screen	*scr = screen_new(80, 24, 1);
	struct term	*orig = term_new(80, 24, 1), *w;
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	(void)state;
	feed_both(scr, orig, "primary\033[?1049h\033[?25l\033[5;5Hon the "
	    "alternate screen");
	w = render_to_term(scr, 80, 24, 1);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	screen_render(scr, 1, b);
	s = xstrndup((char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	assert_non_null(strstr(s, "\033[?1049h"));
	assert_non_null(strstr(s, "\033[?25l"));
	free(s);
	/* Leaving it shows the primary screen, on both. */
	term_feed(w, "\033[?1049l", 8);
	feed_both(scr, orig, "\033[?1049l");
	evbuffer_free(b);
	term_free(w);
	term_free(orig);
	screen_free(scr);
}

/*
 * The line-drawing set: as the line-drawing set on a terminal that is not
 * UTF-8, as UTF-8 box drawing on one that is; the same glyphs either way.
 */
static void
test_render_dec_graphics(void **state)
{
	static const char box[] = "\033(0lqqk\033(B box\r\n\033(0x  x\r\nmqqj"
	    "\033(B";
	struct screen	*scr = screen_new(80, 24, 0);
	struct term	*orig = term_new(80, 24, 0), *w;
	struct evbuffer	*b = evbuffer_new();
	char		*s;

	(void)state;
	feed_both(scr, orig, box);
	screen_render(scr, 0, b);
	s = xstrndup((char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	assert_non_null(strstr(s, "\033(0lqqk\033(B box"));
	assert_null(strstr(s, "\342\224\200"));
	free(s);
	evbuffer_drain(b, evbuffer_get_length(b));
	screen_render(scr, 1, b);
	s = xstrndup((char *)evbuffer_pullup(b, -1), evbuffer_get_length(b));
	/* U+250C U+2500 U+2500 U+2510 */
	assert_non_null(strstr(s, "\342\224\214\342\224\200\342\224\200"
	    "\342\224\220 box"));
	assert_null(strstr(s, "\033(0l"));
	free(s);
	w = render_to_term(scr, 80, 24, 0);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	term_free(w);
	w = render_to_term(scr, 80, 24, 1);
	assert_int_equal(terms_differ(orig, w, 80, 24), 0);
	term_free(w);
	evbuffer_free(b);
	term_free(orig);
	screen_free(scr);
}

/* A resize keeps the state's size, and an oversized one is clamped. */
static void
test_resize(void **state)
{
	struct screen	*scr = screen_new(80, 24, 1);
	struct term	*orig = term_new(100, 30, 1), *w;
	u_int		 cols, rows;
	char		*row;

	(void)state;
	feed_both(scr, orig, "\033[2;5r");
	screen_resize(scr, 100, 30);
	vterm_set_size(orig->vt, 30, 100);
	screen_size(scr, &cols, &rows);
	assert_int_equal(cols, 100);
	assert_int_equal(rows, 30);
	feed_both(scr, orig, "\033[H\033[2J\033[30;80Hbottom right");
	w = render_to_term(scr, 100, 30, 1);
	assert_int_equal(terms_differ(orig, w, 100, 30), 0);
	row = screen_row_text(scr, 29);
	assert_string_equal(row + strspn(row, " "), "bottom right");
	free(row);
	term_free(w);
	screen_resize(scr, 5000, 5000);
	screen_size(scr, &cols, &rows);
	assert_int_equal(cols, SCREEN_MAX_COLS);
	assert_int_equal(rows, SCREEN_MAX_ROWS);
	term_free(orig);
	screen_free(scr);
}

/*
 * Megabytes of pseudo-random output of every kind: the render of the
 * final state shows the same as a terminal that took every byte.
 */
static void
test_render_after_chaos(void **state)
{
	static const char *const bits[] = {
	    "\033[31m", "\033[1;44m", "\033[0m", "\033[38;5;123m",
	    "\033[48;2;1;2;3m", "\033[7m", "hello ", "world ", "\r\n",
	    "\033[5;15r", "\033[r", "\033[H", "\033[12;40H", "\033M",
	    "\033[2L", "\033[3M", "\033[4@", "\033[2P", "\033[K", "\033[1J",
	    "\033(0lqk\033(B", "\033)0\016xx\017", "\t", "\b", "\033[?1049h",
	    "\033[?1049l", "\033[10X", "caf\303\251 ", "\033[4m", "\033[24m",
	    "\033[3C", "\033[2A", "\033[?7l", "\033[?7h", "\033[4h", "\033[4l",
	    "\033[?6h", "\033[?6l", "\033D", "\033E", "\033[2S", "\033[T" };
	struct screen	*scr = screen_new(80, 24, 1);
	struct term	*orig = term_new(80, 24, 1), *w;
	uint32_t	 seed = 7;
	u_int		 i, round;

	(void)state;
	for (round = 0; round < 4; round++) {
		for (i = 0; i < 100000; i++) {
			seed = seed * 1103515245 + 12345;
			feed_both(scr, orig, bits[(seed >> 16) % nitems(bits)]);
		}
		w = render_to_term(scr, 80, 24, 1);
		assert_int_equal(terms_differ(orig, w, 80, 24), 0);
		/*
		 * The same bytes after the render land alike, from a cursor
		 * put somewhere (a wrap still pending at the right margin is
		 * not part of any state a terminal shows).
		 */
		term_feed(w, "\033[H", 3);
		feed_both(scr, orig, "\033[H");
		for (i = 0; i < 2000; i++) {
			seed = seed * 1103515245 + 12345;
			term_feed(w, bits[(seed >> 16) % nitems(bits)],
			    strlen(bits[(seed >> 16) % nitems(bits)]));
			feed_both(scr, orig, bits[(seed >> 16) % nitems(bits)]);
		}
		assert_int_equal(terms_differ(orig, w, 80, 24), 0);
		term_free(w);
	}
	term_free(orig);
	screen_free(scr);
}

/*
 * CSI sequences with more arguments than libvterm can hold (it overruns
 * past 16) and bytes of every value: the state takes them all, and the
 * arguments it keeps still count.
 */
static void
test_feed_hostile(void **state)
{
	struct screen	*scr = screen_new(80, 24, 0);
	struct screen	*u = screen_new(80, 24, 1);
	char		 buf[4096], *row;
	uint32_t	 seed = 99;
	size_t		 len;
	u_int		 i, j;

	(void)state;
	/* 40 arguments, then 40 subarguments, then a DEC mode list. */
	len = (size_t)snprintf(buf, sizeof buf, "\033[1");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, ";3%u",
		    i % 8);
	len += (size_t)snprintf(buf + len, sizeof buf - len, "mA\033[4");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, ":1");
	len += (size_t)snprintf(buf + len, sizeof buf - len, "mB\033[?1");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, ";%u", i);
	len += (size_t)snprintf(buf + len, sizeof buf - len, "hC");
	/* Split anywhere: the guard keeps its place across feeds. */
	for (i = 0; i < len; i += 7)
		screen_feed(scr, buf + i, len - i < 7 ? len - i : 7);
	row = screen_row_text(scr, 0);
	assert_string_equal(row, "ABC");
	free(row);

	/* Counts of billions are cut to what a screen can use, at once. */
	screen_feed(scr, "\033[2147483647b\033[2147483647@\033[99999999999L"
	    "\033[H\033[2147483647CD", 57);
	row = screen_row_text(scr, 0);
	assert_int_equal(strlen(row), 80);
	assert_int_equal(row[79], 'D');
	free(row);

	/* Bytes of every value, in every order. */
	for (i = 0; i < 200; i++) {
		for (j = 0; j < sizeof buf; j++) {
			seed = seed * 1103515245 + 12345;
			buf[j] = (char)(seed >> 16);
			if (seed % 7 == 0)
				buf[j] = "\033[;:?0123456789m\x9b"[seed % 18];
		}
		screen_feed(scr, buf, sizeof buf);
		screen_feed(u, buf, sizeof buf);
	}
	screen_free(scr);
	screen_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_cells),
		cmocka_unit_test(test_render_modes),
		cmocka_unit_test(test_render_altscreen),
		cmocka_unit_test(test_render_dec_graphics),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_render_after_chaos),
		cmocka_unit_test(test_feed_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
