/*
 * What of a game's output may go to another player's terminal: all of
 * it but the control strings (OSC, DCS, APC, PM and SOS: ESC ] P _ ^ X,
 * or their C1 bytes when not UTF-8, up to BEL or ST). Those set window
 * titles, hyperlinks and the clipboard, ask the terminal things and pass
 * through to what is behind it: the player chose to run the game, its
 * watchers and those who replay it did not. Nothing a screen shows is
 * lost. The filter keeps its place from one piece of output to the next,
 * and holds nothing but that place.
 *
 * No event loop here: the broker's hub filters what it sends watchers,
 * the session what it replays, and the unit tests what they like.
 */
#include "config.h"

#include <string.h>

#include "dungeongate.h"

enum {
	TS_TEXT,
	TS_ESC,		/* ESC seen, not yet sent */
	TS_STRING,	/* in a control string: dropped */
	TS_STRING_ESC	/* ESC in a control string: ST or a new sequence */
};

/* Start filtering; utf8: the output is UTF-8 (no C1 bytes then). */
void
termsafe_init(struct termsafe *ts, int utf8)
{
	ts->state = TS_TEXT;
	ts->utf8 = utf8;
}

/* Does this byte after ESC begin a control string? */
static int
termsafe_string_final(u_char c)
{
	return c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X';
}

/* Is this a C1 byte that begins a control string (when not UTF-8)? */
static int
termsafe_string_c1(const struct termsafe *ts, u_char c)
{
	return !ts->utf8 && (c == 0x9d || c == 0x90 || c == 0x9f ||
	    c == 0x9e || c == 0x98);
}

/*
 * Filter len bytes into out, which has room for len + 1 (an ESC held
 * from the last piece may go out first). Returns the bytes written.
 */
size_t
termsafe_filter(struct termsafe *ts, const u_char *in, size_t len,
    u_char *out)
{
	size_t	 i, n = 0;
	u_char	 c;

	for (i = 0; i < len; i++) {
		c = in[i];
		switch (ts->state) {
		case TS_TEXT:
			if (c == 0x1b)
				ts->state = TS_ESC;
			else if (termsafe_string_c1(ts, c))
				ts->state = TS_STRING;
			else
				out[n++] = c;
			break;
		case TS_ESC:
			if (termsafe_string_final(c)) {
				ts->state = TS_STRING;
				break;
			}
			out[n++] = 0x1b;
			if (c == 0x1b)
				break;	/* still holding one */
			out[n++] = c;
			ts->state = TS_TEXT;
			break;
		case TS_STRING:
			if (c == 0x07 || c == 0x18 || c == 0x1a ||
			    (!ts->utf8 && c == 0x9c))
				ts->state = TS_TEXT;
			else if (c == 0x1b)
				ts->state = TS_STRING_ESC;
			break;
		case TS_STRING_ESC:
			if (c == '\\') {
				ts->state = TS_TEXT;
				break;
			}
			/* The string ends here; a new sequence begins. */
			if (termsafe_string_final(c)) {
				ts->state = TS_STRING;
				break;
			}
			if (c == 0x1b) {
				ts->state = TS_ESC;	/* hold this one */
				break;
			}
			out[n++] = 0x1b;
			out[n++] = c;
			ts->state = TS_TEXT;
			break;
		}
	}
	return n;
}
