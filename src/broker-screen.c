/*
 * A live game's terminal state, kept by libvterm from the bytes the game
 * sent its player, and rendered as one write of escape sequences for a
 * watcher who arrives late or falls behind.
 *
 * libvterm keeps the cells (characters, attributes, colours), the
 * cursor, the alternate screen and the terminal's properties. What it
 * keeps but does not show (the scrolling region, origin mode, autowrap,
 * insert mode, the character sets designated and which is shifted in) is
 * followed by the guard that reads every escape and CSI sequence before
 * libvterm does (see screen_guard below): it tokenizes them, it does not
 * emulate anything.
 *
 * No event loop here: the unit tests feed bytes and read the render.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <vterm.h>

#include "broker.h"

/* The modes libvterm follows without showing them. */
struct screen_modes {
	int		 top;		/* scrolling region, 0-based */
	int		 bottom;	/* one past its last row; -1: the end */
	int		 origin;
	int		 autowrap;
	int		 insert;
	char		 g0;		/* final byte of the designation */
	char		 g1;
	int		 shifted;	/* SO: G1 is in GL */
};

/*
 * Where the guard is in the bytes: libvterm (0.1.4) overruns its buffer
 * on a CSI sequence of more than SCREEN_CSI_ARGS arguments, and spins for
 * minutes on a count of billions (CSI 2147483647 b), both of which any
 * game may write. So the arguments past those are taken out before it
 * sees them, and each argument keeps SCREEN_CSI_DIGITS digits at most
 * (no screen it keeps needs a bigger number).
 */
#define SCREEN_CSI_ARGS		16
#define SCREEN_CSI_DIGITS	4
enum screen_guard { G_TEXT, G_ESC, G_DESIGNATE, G_CSI, G_CSI_DROP };

struct screen {
	enum screen_guard guard;
	int		 designate;	/* ESC ( or ESC ): which set */
	char		 csi_leader;	/* ? > < = or 0 */
	char		 csi_inter;	/* the first intermediate, or 0 */
	u_int		 csi_seps;	/* separators seen in this CSI */
	u_int		 csi_digits;	/* digits of its argument so far */
	long		 csi_args[SCREEN_CSI_ARGS]; /* -1: missing */
	VTerm		*vt;
	VTermScreen	*vs;
	VTermState	*state;
	int		 cols;
	int		 rows;
	int		 cursor_visible;
	int		 altscreen;
	int		 reverse;
	int		 utf8;
	struct screen_modes m;
};

/* The pen a cell is drawn with, as far as a render needs it. */
struct screen_pen {
	int		 bold;
	int		 underline;
	int		 italic;
	int		 blink;
	int		 reverse;
	int		 strike;
	int		 font;
	VTermColor	 fg;
	VTermColor	 bg;
};

/*
 * The DEC special graphics set: the characters 0x60 to 0x7e stand for
 * these code points once ESC ( 0 is in force (as libvterm maps them).
 */
static const uint32_t screen_dec[31] = {
	0x25c6, 0x2592, 0x2409, 0x240c, 0x240d, 0x240a, 0x00b0, 0x00b1,
	0x2424, 0x240b, 0x2518, 0x2510, 0x250c, 0x2514, 0x253c, 0x23ba,
	0x23bb, 0x2500, 0x23bc, 0x23bd, 0x251c, 0x2524, 0x2534, 0x252c,
	0x2502, 0x2264, 0x2265, 0x03c0, 0x2260, 0x00a3, 0x00b7
};

/* The modes after a reset. */
static void
screen_modes_reset(struct screen_modes *m)
{
	m->top = 0;
	m->bottom = -1;
	m->origin = 0;
	m->autowrap = 1;
	m->insert = 0;
	m->g0 = 'B';
	m->g1 = 'B';
	m->shifted = 0;
}

/* A CSI sequence has ended: the scrolling region and the modes. */
static void
screen_csi_done(struct screen *scr, char final)
{
	long	 top, bottom, a;
	u_int	 i, n = scr->csi_seps + 1;
	int	 on, dec = scr->csi_leader == '?';

	if (n > SCREEN_CSI_ARGS)
		n = SCREEN_CSI_ARGS;
	if (scr->csi_inter == '!' && final == 'p' && scr->csi_leader == 0) {
		/* DECSTR: a soft reset. */
		screen_modes_reset(&scr->m);
		return;
	}
	if (scr->csi_inter != 0)
		return;
	if (scr->csi_leader == 0 && final == 'r') {
		top = scr->csi_args[0] > 0 ? scr->csi_args[0] - 1 : 0;
		bottom = n < 2 || scr->csi_args[1] < 1 ? -1 :
		    scr->csi_args[1];
		if (top > scr->rows)
			top = scr->rows;
		if (bottom > scr->rows)
			bottom = scr->rows;
		if (bottom != -1 && bottom - top < 1)
			return;
		if (bottom == scr->rows)
			bottom = -1;
		scr->m.top = (int)top;
		scr->m.bottom = (int)bottom;
		return;
	}
	if (final != 'h' && final != 'l')
		return;
	if (scr->csi_leader != 0 && !dec)
		return;
	on = final == 'h';
	for (i = 0; i < n; i++) {
		a = scr->csi_args[i];
		if (dec && a == 6)
			scr->m.origin = on;
		else if (dec && a == 7)
			scr->m.autowrap = on;
		else if (!dec && a == 4)
			scr->m.insert = on;
	}
}

/* Begin a CSI sequence. */
static void
screen_csi_begin(struct screen *scr)
{
	u_int	 i;

	scr->guard = G_CSI;
	scr->csi_leader = scr->csi_inter = 0;
	scr->csi_seps = scr->csi_digits = 0;
	for (i = 0; i < SCREEN_CSI_ARGS; i++)
		scr->csi_args[i] = -1;
}

/*
 * Should the guard drop this byte? It follows ESC, CSI (ESC [, or 0x9b
 * when not UTF-8), the parameter bytes and the final byte: it drops the
 * separators and digits of every argument past SCREEN_CSI_ARGS and the
 * digits past SCREEN_CSI_DIGITS, and notes the modes as sequences end.
 * Where libvterm could see a CSI it sees one too: only a final byte, CAN
 * or SUB ends one here.
 */
static int
screen_guard_drop(struct screen *scr, u_char c)
{
	long	*arg;

	/* SO and SI act wherever they come. */
	if (c == 0x0e)
		scr->m.shifted = 1;
	else if (c == 0x0f)
		scr->m.shifted = 0;
	switch (scr->guard) {
	case G_TEXT:
		if (c == 0x1b)
			scr->guard = G_ESC;
		else if (c == 0x9b && !scr->utf8)
			screen_csi_begin(scr);
		return 0;
	case G_ESC:
		if (c == '[')
			screen_csi_begin(scr);
		else if (c == '(' || c == ')') {
			scr->designate = c == ')';
			scr->guard = G_DESIGNATE;
		} else if (c == 'c') {
			screen_modes_reset(&scr->m);
			scr->guard = G_TEXT;
		} else if (c != 0x1b)
			scr->guard = G_TEXT;
		return 0;
	case G_DESIGNATE:
		if (c >= 0x30 && c <= 0x7e) {
			if (scr->designate)
				scr->m.g1 = (char)c;
			else
				scr->m.g0 = (char)c;
		}
		scr->guard = c == 0x1b ? G_ESC : G_TEXT;
		return 0;
	case G_CSI:
	case G_CSI_DROP:
		if (c == ';' || c == ':') {
			scr->csi_digits = 0;
			if (scr->guard == G_CSI_DROP ||
			    ++scr->csi_seps >= SCREEN_CSI_ARGS) {
				scr->guard = G_CSI_DROP;
				return 1;
			}
			return 0;
		}
		if (c >= '0' && c <= '9') {
			if (scr->guard == G_CSI_DROP ||
			    ++scr->csi_digits > SCREEN_CSI_DIGITS)
				return 1;
			arg = &scr->csi_args[scr->csi_seps];
			*arg = (*arg < 0 ? 0 : *arg * 10) + (c - '0');
			return 0;
		}
		if (c >= 0x3c && c <= 0x3f) {
			if (scr->csi_seps == 0 && scr->csi_digits == 0 &&
			    scr->csi_leader == 0)
				scr->csi_leader = (char)c;
			return scr->guard == G_CSI_DROP;
		}
		if (c >= 0x20 && c <= 0x2f) {
			if (scr->csi_inter == 0)
				scr->csi_inter = (char)c;
			return 0;
		}
		if (c >= 0x40 && c <= 0x7e) {
			screen_csi_done(scr, (char)c);
			scr->guard = G_TEXT;
		} else if (c == 0x1b)
			scr->guard = G_ESC;
		else if (c == 0x18 || c == 0x1a)
			scr->guard = G_TEXT;
		else if (c == 0x9b && !scr->utf8)
			screen_csi_begin(scr);
		return 0;
	}
	return 0;
}

/* Screen: the properties a render restores. */
static int
screen_settermprop_cb(VTermProp prop, VTermValue *val, void *user)
{
	struct screen	*scr = user;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		scr->cursor_visible = val->boolean;
		break;
	case VTERM_PROP_ALTSCREEN:
		scr->altscreen = val->boolean;
		break;
	case VTERM_PROP_REVERSE:
		scr->reverse = val->boolean;
		break;
	default:
		break;
	}
	return 1;
}

static const VTermScreenCallbacks screen_cbs = {
	.settermprop = screen_settermprop_cb,
};

/* Clamp a size to what a screen keeps. */
static void
screen_clamp(u_int *cols, u_int *rows)
{
	if (*cols < 1)
		*cols = 1;
	if (*cols > SCREEN_MAX_COLS)
		*cols = SCREEN_MAX_COLS;
	if (*rows < 1)
		*rows = 1;
	if (*rows > SCREEN_MAX_ROWS)
		*rows = SCREEN_MAX_ROWS;
}

/* A blank terminal of a size, decoding UTF-8 or not. */
struct screen *
screen_new(u_int cols, u_int rows, int utf8)
{
	struct screen	*scr;

	screen_clamp(&cols, &rows);
	scr = xcalloc(1, sizeof *scr);
	scr->cols = (int)cols;
	scr->rows = (int)rows;
	scr->cursor_visible = 1;
	scr->utf8 = utf8;
	screen_modes_reset(&scr->m);
	if ((scr->vt = vterm_new((int)rows, (int)cols)) == NULL)
		fatalx("vterm_new failed");
	vterm_set_utf8(scr->vt, utf8);
	scr->vs = vterm_obtain_screen(scr->vt);
	scr->state = vterm_obtain_state(scr->vt);
	vterm_screen_enable_altscreen(scr->vs, 1);
	vterm_screen_set_callbacks(scr->vs, &screen_cbs, scr);
	vterm_screen_reset(scr->vs, 1);
	return scr;
}

/* Forget a terminal. */
void
screen_free(struct screen *scr)
{
	if (scr == NULL)
		return;
	vterm_free(scr->vt);
	free(scr);
}

/* Bytes libvterm takes. */
static void
screen_input(struct screen *scr, const u_char *p, size_t len)
{
	if (len > 0)
		vterm_input_write(scr->vt, (const char *)p, len);
}

/*
 * Bytes that may begin or change something the guard follows, in text:
 * ESC, SO, SI (and 0x9b when not UTF-8, checked apart).
 */
static const u_char screen_special[256] = {
	[0x0e] = 1, [0x0f] = 1, [0x1b] = 1, [0x9b] = 1
};

/* Bytes the game wrote. */
void
screen_feed(struct screen *scr, const void *buf, size_t len)
{
	const u_char	*p = buf;
	size_t		 i, start = 0;

	for (i = 0; i < len; i++) {
		if (scr->guard == G_TEXT) {
			/* Most bytes are text: pass over them quickly. */
			while (i < len && (!screen_special[p[i]] ||
			    (p[i] == 0x9b && scr->utf8)))
				i++;
			if (i == len)
				break;
		}
		if (screen_guard_drop(scr, p[i])) {
			screen_input(scr, p + start, i - start);
			start = i + 1;
		}
	}
	screen_input(scr, p + start, len - start);
}

/* The player's terminal changed size. */
void
screen_resize(struct screen *scr, u_int cols, u_int rows)
{
	screen_clamp(&cols, &rows);
	scr->cols = (int)cols;
	scr->rows = (int)rows;
	vterm_set_size(scr->vt, (int)rows, (int)cols);
	/* A region that no longer fits is the whole screen again. */
	if (scr->m.bottom > scr->rows || scr->m.top >= scr->rows) {
		scr->m.top = 0;
		scr->m.bottom = -1;
	}
}

/* The size the screen keeps. */
void
screen_size(const struct screen *scr, u_int *cols, u_int *rows)
{
	*cols = (u_int)scr->cols;
	*rows = (u_int)scr->rows;
}

/* The DEC graphics character for a code point, or 0. */
static char
screen_dec_char(uint32_t cp)
{
	u_int	 i;

	for (i = 0; i < nitems(screen_dec); i++) {
		if (screen_dec[i] == cp)
			return (char)(0x60 + i);
	}
	return 0;
}

/* Append a code point as UTF-8. */
static void
screen_add_utf8(struct evbuffer *b, uint32_t cp)
{
	u_char	 s[4];

	if (cp < 0x80) {
		s[0] = (u_char)cp;
		evbuffer_add(b, s, 1);
	} else if (cp < 0x800) {
		s[0] = (u_char)(0xc0 | (cp >> 6));
		s[1] = (u_char)(0x80 | (cp & 0x3f));
		evbuffer_add(b, s, 2);
	} else if (cp < 0x10000) {
		s[0] = (u_char)(0xe0 | (cp >> 12));
		s[1] = (u_char)(0x80 | ((cp >> 6) & 0x3f));
		s[2] = (u_char)(0x80 | (cp & 0x3f));
		evbuffer_add(b, s, 3);
	} else if (cp < 0x110000) {
		s[0] = (u_char)(0xf0 | (cp >> 18));
		s[1] = (u_char)(0x80 | ((cp >> 12) & 0x3f));
		s[2] = (u_char)(0x80 | ((cp >> 6) & 0x3f));
		s[3] = (u_char)(0x80 | (cp & 0x3f));
		evbuffer_add(b, s, 4);
	} else
		evbuffer_add(b, "?", 1);
}

/* Append the SGR sequence of a colour (fg: 30s, else 40s). */
static void
screen_add_color(struct evbuffer *b, const VTermColor *c, int fg)
{
	u_int	 idx;

	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return;
	if (VTERM_COLOR_IS_INDEXED(c)) {
		idx = c->indexed.idx;
		if (idx < 8)
			evbuffer_add_printf(b, "\033[%um", (fg ? 30 : 40) + idx);
		else if (idx < 16)
			evbuffer_add_printf(b, "\033[%um", (fg ? 90 : 100) +
			    idx - 8);
		else
			evbuffer_add_printf(b, "\033[%u;5;%um", fg ? 38 : 48,
			    idx);
	} else
		evbuffer_add_printf(b, "\033[%u;2;%u;%u;%um", fg ? 38 : 48,
		    c->rgb.red, c->rgb.green, c->rgb.blue);
}

/* Do two colours say the same, default included? */
static int
screen_color_same(const VTermColor *a, const VTermColor *b, int fg)
{
	int	 da, db;

	da = fg ? VTERM_COLOR_IS_DEFAULT_FG(a) : VTERM_COLOR_IS_DEFAULT_BG(a);
	db = fg ? VTERM_COLOR_IS_DEFAULT_FG(b) : VTERM_COLOR_IS_DEFAULT_BG(b);
	if (da || db)
		return da == db;
	if (VTERM_COLOR_IS_INDEXED(a) != VTERM_COLOR_IS_INDEXED(b))
		return 0;
	if (VTERM_COLOR_IS_INDEXED(a))
		return a->indexed.idx == b->indexed.idx;
	return a->rgb.red == b->rgb.red && a->rgb.green == b->rgb.green &&
	    a->rgb.blue == b->rgb.blue;
}

/* Do two pens draw alike? */
static int
screen_pen_same(const struct screen_pen *a, const struct screen_pen *b)
{
	return a->bold == b->bold && a->underline == b->underline &&
	    a->italic == b->italic && a->blink == b->blink &&
	    a->reverse == b->reverse && a->strike == b->strike &&
	    a->font == b->font && screen_color_same(&a->fg, &b->fg, 1) &&
	    screen_color_same(&a->bg, &b->bg, 0);
}

/*
 * Set a pen, from a plain one: the attributes, then each colour, in
 * sequences of few arguments (some terminals take no more than 16).
 */
static void
screen_add_pen(struct evbuffer *b, const struct screen_pen *p)
{
	evbuffer_add(b, "\033[0", 3);
	if (p->bold)
		evbuffer_add(b, ";1", 2);
	if (p->italic)
		evbuffer_add(b, ";3", 2);
	if (p->underline == VTERM_UNDERLINE_SINGLE)
		evbuffer_add(b, ";4", 2);
	else if (p->underline == VTERM_UNDERLINE_DOUBLE)
		evbuffer_add(b, ";21", 3);
	else if (p->underline == VTERM_UNDERLINE_CURLY)
		evbuffer_add(b, ";4:3", 4);
	if (p->blink)
		evbuffer_add(b, ";5", 2);
	if (p->reverse)
		evbuffer_add(b, ";7", 2);
	if (p->strike)
		evbuffer_add(b, ";9", 2);
	if (p->font != 0)
		evbuffer_add_printf(b, ";%d", 10 + p->font);
	evbuffer_add(b, "m", 1);
	screen_add_color(b, &p->fg, 1);
	screen_add_color(b, &p->bg, 0);
}

/* The plain pen: no attributes, default colours. */
static void
screen_pen_plain(struct screen_pen *p)
{
	memset(p, 0, sizeof *p);
	vterm_color_indexed(&p->fg, 0);
	p->fg.type |= VTERM_COLOR_DEFAULT_FG;
	vterm_color_indexed(&p->bg, 0);
	p->bg.type |= VTERM_COLOR_DEFAULT_BG;
}

/* A cell's pen. */
static void
screen_pen_cell(struct screen_pen *p, const VTermScreenCell *cell)
{
	memset(p, 0, sizeof *p);
	p->bold = cell->attrs.bold;
	p->underline = cell->attrs.underline;
	p->italic = cell->attrs.italic;
	p->blink = cell->attrs.blink;
	p->reverse = cell->attrs.reverse;
	p->strike = cell->attrs.strike;
	p->font = cell->attrs.font;
	p->fg = cell->fg;
	p->bg = cell->bg;
}

/* The pen the game draws with now. */
static void
screen_pen_state(struct screen_pen *p, const VTermState *state)
{
	VTermValue	 v;

	memset(p, 0, sizeof *p);
	vterm_state_get_penattr(state, VTERM_ATTR_BOLD, &v);
	p->bold = v.boolean;
	vterm_state_get_penattr(state, VTERM_ATTR_UNDERLINE, &v);
	p->underline = v.number;
	vterm_state_get_penattr(state, VTERM_ATTR_ITALIC, &v);
	p->italic = v.boolean;
	vterm_state_get_penattr(state, VTERM_ATTR_BLINK, &v);
	p->blink = v.boolean;
	vterm_state_get_penattr(state, VTERM_ATTR_REVERSE, &v);
	p->reverse = v.boolean;
	vterm_state_get_penattr(state, VTERM_ATTR_STRIKE, &v);
	p->strike = v.boolean;
	vterm_state_get_penattr(state, VTERM_ATTR_FONT, &v);
	p->font = v.number;
	vterm_state_get_penattr(state, VTERM_ATTR_FOREGROUND, &v);
	p->fg = v.color;
	vterm_state_get_penattr(state, VTERM_ATTR_BACKGROUND, &v);
	p->bg = v.color;
}

/*
 * The pen a cell is drawn again with. An erased cell (no character at
 * all) keeps only its background, as terminals keep it: libvterm notes
 * the foreground that was in force too, which no terminal shows.
 */
static void
screen_pen_draw(struct screen_pen *p, const VTermScreenCell *cell)
{
	VTermColor	 bg = cell->bg;

	screen_pen_cell(p, cell);
	if (cell->chars[0] == 0) {
		screen_pen_plain(p);
		p->bg = bg;
	}
}

/*
 * Is a cell blank: erased, with the default background? A space the game
 * wrote is not blank: terminals keep the two apart (tmux shows where a
 * line's written cells end), so the render writes it again.
 */
static int
screen_cell_blank(const VTermScreenCell *cell)
{
	struct screen_pen	 p, plain;

	if (cell->chars[0] != 0)
		return 0;
	screen_pen_draw(&p, cell);
	screen_pen_plain(&plain);
	return screen_pen_same(&p, &plain);
}

/*
 * Append one cell's characters. On a UTF-8 terminal they go as UTF-8;
 * on another, DEC graphics go as the line-drawing set (switched in and
 * out here, *acs says which is in force), Latin-1 as its byte, and
 * anything else as '?'.
 */
static void
screen_add_chars(struct evbuffer *b, const VTermScreenCell *cell, int utf8,
    int *acs)
{
	uint32_t	 cp = cell->chars[0];
	char		 dec = 0;
	u_char		 byte;
	int		 i;

	if (cp == 0)
		cp = ' ';
	if (!utf8 && cp >= 0x80)
		dec = screen_dec_char(cp);
	if (dec != 0 && !*acs) {
		evbuffer_add(b, "\033(0", 3);
		*acs = 1;
	} else if (dec == 0 && *acs) {
		evbuffer_add(b, "\033(B", 3);
		*acs = 0;
	}
	if (dec != 0) {
		evbuffer_add(b, &dec, 1);
		return;
	}
	if (utf8) {
		for (i = 0; i < VTERM_MAX_CHARS_PER_CELL &&
		    cell->chars[i] != 0; i++)
			screen_add_utf8(b, i == 0 ? cp : cell->chars[i]);
		if (cell->chars[0] == 0)
			screen_add_utf8(b, cp);
		return;
	}
	byte = cp < 0x100 ? (u_char)cp : '?';
	evbuffer_add(b, &byte, 1);
}

/* Append one row of cells, up to its last one that is not blank. */
static void
screen_add_row(struct screen *scr, struct evbuffer *b, int row, int utf8,
    struct screen_pen *cur, int *acs)
{
	VTermScreenCell		 cell;
	VTermPos		 pos;
	struct screen_pen	 p;
	int			 last = -1, col;

	pos.row = row;
	for (pos.col = 0; pos.col < scr->cols; pos.col++) {
		if (vterm_screen_get_cell(scr->vs, pos, &cell) &&
		    !screen_cell_blank(&cell))
			last = pos.col;
	}
	if (last == -1)
		return;
	evbuffer_add_printf(b, "\033[%d;1H", row + 1);
	for (col = 0; col <= last; ) {
		pos.col = col;
		if (!vterm_screen_get_cell(scr->vs, pos, &cell)) {
			col++;
			continue;
		}
		screen_pen_draw(&p, &cell);
		if (!screen_pen_same(&p, cur)) {
			screen_add_pen(b, &p);
			*cur = p;
		}
		screen_add_chars(b, &cell, utf8, acs);
		col += cell.width > 1 ? cell.width : 1;
	}
}

/*
 * Render the whole terminal for a watcher: the buffer (alternate or
 * not), every cell with its attributes and colours, then the modes, the
 * character sets, the cursor and the pen as the game left them, so that
 * the live bytes that follow land as they did on the player's terminal.
 */
void
screen_render(struct screen *scr, int utf8, struct evbuffer *b)
{
	struct screen_pen	 cur, pen;
	VTermPos		 cursor;
	int			 row, acs = 0, top;

	evbuffer_add_printf(b, "\033[?1049%c\033[0m\033[r\033[?6l\033[?7h"
	    "\033[4l\033(B\033)B\017\033[?5%c\033[H\033[2J",
	    scr->altscreen ? 'h' : 'l', scr->reverse ? 'h' : 'l');
	screen_pen_plain(&cur);
	for (row = 0; row < scr->rows; row++)
		screen_add_row(scr, b, row, utf8, &cur, &acs);
	if (acs)
		evbuffer_add(b, "\033(B", 3);

	/* The modes, then the cursor (origin mode makes it relative). */
	if (scr->m.g0 != 'B')
		evbuffer_add_printf(b, "\033(%c", scr->m.g0);
	if (scr->m.g1 != 'B')
		evbuffer_add_printf(b, "\033)%c", scr->m.g1);
	if (scr->m.shifted)
		evbuffer_add(b, "\016", 1);
	top = scr->m.top;
	if (top != 0 || scr->m.bottom != -1)
		evbuffer_add_printf(b, "\033[%d;%dr", top + 1,
		    scr->m.bottom == -1 ? scr->rows : scr->m.bottom);
	if (scr->m.origin)
		evbuffer_add(b, "\033[?6h", 5);
	if (!scr->m.autowrap)
		evbuffer_add(b, "\033[?7l", 5);
	if (scr->m.insert)
		evbuffer_add(b, "\033[4h", 4);
	vterm_state_get_cursorpos(scr->state, &cursor);
	evbuffer_add_printf(b, "\033[%d;%dH", cursor.row + 1 -
	    (scr->m.origin ? top : 0), cursor.col + 1);
	screen_pen_state(&pen, scr->state);
	screen_add_pen(b, &pen);
	evbuffer_add_printf(b, "\033[?25%c", scr->cursor_visible ? 'h' : 'l');
}

/* One row of the screen as plain UTF-8 text, for tests and logs. */
char *
screen_row_text(struct screen *scr, int row)
{
	VTermRect	 rect = { .start_row = row, .end_row = row + 1,
			     .start_col = 0, .end_col = scr->cols };
	size_t		 len, size = (size_t)scr->cols * 4 * 6 + 1;
	char		*s;

	s = xmalloc(size);
	len = vterm_screen_get_text(scr->vs, s, size - 1, rect);
	s[len] = '\0';
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
	return s;
}
