/*
 * Small helpers shared by both programs: clocks, random identifiers, and
 * checking and escaping text that comes from peers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"

/* Milliseconds on the monotonic clock, for deadlines and durations. */
int64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch, for times shown to people. */
int64_t
util_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A delay in milliseconds as a timeval for a timer; negative is now. */
struct timeval
util_timeval_ms(int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

/* Make an unguessable identifier such as t-8f3a... into buf. */
void
util_random_id(char prefix, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t		 raw[8];
	size_t		 off = 0;
	ssize_t		 n;
	u_int		 i;

	if (len < ID_LEN)
		fatalx("util_random_id: buffer too small");
	while (off < sizeof raw) {
		n = getrandom(raw + off, sizeof raw - off, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("getrandom");
		off += (size_t)n;
	}
	buf[0] = prefix;
	buf[1] = '-';
	for (i = 0; i < sizeof raw; i++) {
		buf[2 + 2 * i] = hex[raw[i] >> 4];
		buf[3 + 2 * i] = hex[raw[i] & 0xf];
	}
	buf[2 + 2 * sizeof raw] = '\0';
}

/*
 * Is s well-formed UTF-8 text without control characters (C0, DEL or
 * C1)? Text that passes can be put in JSON and shown on a terminal.
 */
int
util_valid_text(const char *s)
{
	const u_char	*p = (const u_char *)s;
	uint32_t	 cp;
	u_int		 n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode, C1 controls. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n + 1;
	}
	return 1;
}

/*
 * Code points that draw nothing or change how the text around them is
 * drawn: bidi embeddings, overrides, isolates and marks, zero widths,
 * invisible fillers and separators, variation selectors and tags (which
 * can hide text), line and paragraph separators, and noncharacters. A
 * terminal or a log viewer shows none of them for what they are.
 */
static const struct {
	uint32_t	 first;
	uint32_t	 last;
} util_invisible[] = {
	{ 0x00ad, 0x00ad },	/* soft hyphen */
	{ 0x034f, 0x034f },	/* combining grapheme joiner */
	{ 0x061c, 0x061c },	/* Arabic letter mark */
	{ 0x115f, 0x1160 },	/* Hangul choseong and jungseong fillers */
	{ 0x17b4, 0x17b5 },	/* Khmer inherent vowels */
	{ 0x180b, 0x180f },	/* Mongolian variation selectors, separator */
	{ 0x200b, 0x200f },	/* zero width space and joiners, LRM, RLM */
	{ 0x2028, 0x202e },	/* line and paragraph separators, LRE-RLO */
	{ 0x2060, 0x206f },	/* word joiner, invisible operators, LRI-PDI */
	{ 0x3164, 0x3164 },	/* Hangul filler */
	{ 0xfdd0, 0xfdef },	/* noncharacters */
	{ 0xfe00, 0xfe0f },	/* variation selectors */
	{ 0xfeff, 0xfeff },	/* zero width no-break space (BOM) */
	{ 0xffa0, 0xffa0 },	/* halfwidth Hangul filler */
	{ 0xfff9, 0xfffb },	/* interlinear annotation */
	{ 0x1bca0, 0x1bca3 },	/* shorthand format controls */
	{ 0x1d173, 0x1d17a },	/* musical symbol formatting */
	{ 0xe0000, 0xe0fff },	/* tags, variation selectors supplement */
};

/* Is a code point one that must be shown as an escape? */
static int
util_is_invisible(uint32_t cp)
{
	u_int	 i;

	if ((cp & 0xfffe) == 0xfffe)	/* U+FFFE, U+FFFF and each plane's */
		return 1;
	for (i = 0; i < nitems(util_invisible); i++) {
		if (cp >= util_invisible[i].first &&
		    cp <= util_invisible[i].last)
			return 1;
	}
	return 0;
}

/*
 * Decode the UTF-8 sequence at p into *cp. Returns its length, or 0 when
 * p does not start a well-formed sequence (a stray continuation byte, an
 * overlong form, a surrogate, past U+10FFFF, or cut short).
 */
static u_int
util_utf8_decode(const u_char *p, uint32_t *cp)
{
	uint32_t	 c;
	u_int		 n, i;

	if (*p < 0x80) {
		*cp = *p;
		return 1;
	}
	if (*p >= 0xc2 && *p <= 0xdf) {
		n = 2;
		c = *p & 0x1f;
	} else if ((*p & 0xf0) == 0xe0) {
		n = 3;
		c = *p & 0x0f;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		c = *p & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * Make text from a peer safe for a terminal and a log, into buf of len
 * bytes (always terminated when len is not 0). Each C0 control, DEL,
 * byte of a C1 control (U+0080-U+009F) and byte that is not part of
 * well-formed UTF-8 becomes \xNN; each invisible or bidi formatting
 * character becomes \u{NNNN}; a backslash becomes \\ (unless
 * UTIL_ESCAPE_KEEP_BACKSLASH), and with UTIL_ESCAPE_QUOTE a double quote
 * becomes \". Everything else, printable UTF-8 included, is copied. The
 * output stops before the first character or escape that does not fit,
 * so nothing is ever split. Returns how many bytes of s were used: s is
 * whole when s[returned] is the NUL.
 */
size_t
util_escape_buf(char *buf, size_t len, const char *s, int flags)
{
	const u_char	*p = (const u_char *)s;
	char		 esc[16];
	const char	*out;
	size_t		 used = 0, outlen;
	uint32_t	 cp;
	u_int		 n, i;

	if (len == 0)
		return 0;
	while (*p != '\0') {
		n = util_utf8_decode(p, &cp);
		out = esc;
		if (n == 0) {
			n = 1;
			snprintf(esc, sizeof esc, "\\x%02x", *p);
		} else if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
			esc[0] = '\0';
			for (i = 0; i < n; i++) {
				snprintf(esc + 4 * i, sizeof esc - 4 * i,
				    "\\x%02x", p[i]);
			}
		} else if (cp == '\\' &&
		    !(flags & UTIL_ESCAPE_KEEP_BACKSLASH))
			out = "\\\\";
		else if (cp == '"' && (flags & UTIL_ESCAPE_QUOTE))
			out = "\\\"";
		else if (util_is_invisible(cp))
			snprintf(esc, sizeof esc, "\\u{%04x}", (u_int)cp);
		else
			out = NULL;
		outlen = (out != NULL) ? strlen(out) : n;
		if (outlen >= len - used)
			break;
		memcpy(buf + used, out != NULL ? out : (const char *)p, outlen);
		used += outlen;
		p += n;
	}
	buf[used] = '\0';
	return (size_t)((const char *)p - s);
}

/*
 * Text from a peer made safe for a terminal and a log, as util_escape_buf
 * does, in at most max bytes (and the NUL). The caller frees it.
 */
char *
util_escape(const char *s, size_t max)
{
	size_t	 in = strlen(s), len;
	char	*buf;

	/* No input byte grows past four bytes (\xNN). */
	len = (in > (SIZE_MAX - 1) / 4) ? SIZE_MAX - 1 : in * 4;
	if (len > max)
		len = max;
	buf = xmalloc(len + 1);
	util_escape_buf(buf, len + 1, s, 0);
	return buf;
}

/*
 * Write all of buf to a blocking descriptor. Returns 0, or -1 with errno
 * (EPIPE when the descriptor took nothing).
 */
int
util_write_all(int fd, const void *buf, size_t len)
{
	const u_char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
