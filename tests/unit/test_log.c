/*
 * Unit tests for escaping text from peers and quoting log values: every
 * class of character (C0, DEL, C1 in UTF-8 and raw, malformed UTF-8, bidi
 * and invisible formatting, printable UTF-8), cuts at every bound that
 * never split a character or an escape, log_quote's quoting, the log line
 * itself, and two threads quoting at once without sharing a buffer; the
 * JSON form of a line (every value as its key=value form shows it, whole
 * numbers as numbers, always valid JSON, cut cleanly when too long), and
 * the per-peer limit on lines.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>

#include "dungeongate.h"

/* Escape s with no bound that matters and compare with want. */
static void
check_escape(const char *s, const char *want)
{
	char	*got = util_escape(s, 4096);

	if (strcmp(got, want) != 0)
		fail_msg("escape of \"%s\": got \"%s\", want \"%s\"", s, got,
		    want);
	/* What comes out is clean text: nothing left to act on. */
	assert_true(util_valid_text(got));
	free(got);
}

/* ---- classes of characters --------------------------------------------- */

/* Printable ASCII and printable UTF-8 pass as they are. */
static void
test_escape_printable(void **state)
{
	check_escape("", "");
	check_escape("alice", "alice");
	check_escape("192.0.2.7:50122", "192.0.2.7:50122");
	check_escape("a b=c \"d\" ~!@#$%^&*()", "a b=c \"d\" ~!@#$%^&*()");
	check_escape("J\xc3\xa9u", "J\xc3\xa9u");			/* é */
	check_escape("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	check_escape("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");	/* U+1F600 */
	check_escape("\xc2\xa0", "\xc2\xa0");		/* U+00A0, printable */
	check_escape("\xc2\xa1", "\xc2\xa1");		/* U+00A1 */
	check_escape("\xe2\x80\x8a", "\xe2\x80\x8a");	/* U+200A hair space */
	check_escape("\xe2\x80\x90", "\xe2\x80\x90");	/* U+2010 hyphen */
	check_escape("\xe2\x80\xa7", "\xe2\x80\xa7");	/* U+2027 */
	check_escape("\xe2\x80\xaf", "\xe2\x80\xaf");	/* U+202F */
	check_escape("\xe2\x81\x9f", "\xe2\x81\x9f");	/* U+205F */
	check_escape("\xe2\x81\xb0", "\xe2\x81\xb0");	/* U+2070 */
	check_escape("\xef\xbf\xbd", "\xef\xbf\xbd");	/* U+FFFD */
	check_escape("\xf4\x8f\xbf\xbd", "\xf4\x8f\xbf\xbd");	/* U+10FFFD */
}

/* C0 controls and DEL become \xNN. */
static void
test_escape_c0_del(void **state)
{
	char	 in[2], want[8];
	u_int	 c;

	for (c = 1; c < 0x20; c++) {
		in[0] = (char)c;
		in[1] = '\0';
		snprintf(want, sizeof want, "\\x%02x", c);
		check_escape(in, want);
	}
	check_escape("\x7f", "\\x7f");
	check_escape("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07");
	check_escape("a\r\nb\tc", "a\\x0d\\x0ab\\x09c");
}

/* C1 controls, U+0080 to U+009F in UTF-8, become \xNN for each byte. */
static void
test_escape_c1_utf8(void **state)
{
	char	 in[3], want[16];
	u_int	 c;

	for (c = 0x80; c <= 0x9f; c++) {
		in[0] = (char)0xc2;
		in[1] = (char)c;
		in[2] = '\0';
		snprintf(want, sizeof want, "\\xc2\\x%02x", c);
		check_escape(in, want);
	}
	/* CSI and NEL in the middle of text. */
	check_escape("a\xc2\x9b" "31mb\xc2\x85" "c", "a\\xc2\\x9b31mb\\xc2\\x85c");
}

/* Raw bytes 0x80 to 0xFF that do not make well-formed UTF-8: \xNN each. */
static void
test_escape_invalid_utf8(void **state)
{
	char	 in[2], want[8];
	u_int	 c;

	for (c = 0x80; c <= 0xff; c++) {
		in[0] = (char)c;
		in[1] = '\0';
		snprintf(want, sizeof want, "\\x%02x", c);
		check_escape(in, want);
	}
	check_escape("\x9b" "31m", "\\x9b31m");		/* raw 8-bit CSI */
	check_escape("\xc0\x80", "\\xc0\\x80");		/* overlong NUL */
	check_escape("\xc1\xbf", "\\xc1\\xbf");		/* overlong */
	check_escape("\xe0\x80\xaf", "\\xe0\\x80\\xaf");	/* overlong / */
	check_escape("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf");
	check_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");	/* surrogate */
	check_escape("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	check_escape("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");	/* > U+10FFFF */
	check_escape("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
	/* Cut short: the bytes that came are escaped, what follows stays. */
	check_escape("\xe2\x80", "\\xe2\\x80");
	check_escape("\xe2\x80" "A", "\\xe2\\x80A");
	check_escape("\xf0\x9f\x98" "x", "\\xf0\\x9f\\x98x");
	check_escape("\xc3" "\xc3\xa9", "\\xc3\xc3\xa9");
	/* A stray continuation byte before a good character. */
	check_escape("\xa9\xc3\xa9", "\\xa9\xc3\xa9");
}

/* Bidi and invisible formatting characters become \u{NNNN}. */
static void
test_escape_bidi_invisible(void **state)
{
	static const struct {
		const char	*in;
		const char	*want;
	} cases[] = {
		{ "\xd8\x9c", "\\u{061c}" },		/* ALM */
		{ "\xe2\x80\x8b", "\\u{200b}" },	/* ZWSP */
		{ "\xe2\x80\x8c", "\\u{200c}" },	/* ZWNJ */
		{ "\xe2\x80\x8d", "\\u{200d}" },	/* ZWJ */
		{ "\xe2\x80\x8e", "\\u{200e}" },	/* LRM */
		{ "\xe2\x80\x8f", "\\u{200f}" },	/* RLM */
		{ "\xe2\x80\xa8", "\\u{2028}" },	/* line separator */
		{ "\xe2\x80\xa9", "\\u{2029}" },	/* paragraph separator */
		{ "\xe2\x80\xaa", "\\u{202a}" },	/* LRE */
		{ "\xe2\x80\xab", "\\u{202b}" },	/* RLE */
		{ "\xe2\x80\xac", "\\u{202c}" },	/* PDF */
		{ "\xe2\x80\xad", "\\u{202d}" },	/* LRO */
		{ "\xe2\x80\xae", "\\u{202e}" },	/* RLO */
		{ "\xe2\x81\xa0", "\\u{2060}" },	/* word joiner */
		{ "\xe2\x81\xa4", "\\u{2064}" },	/* invisible plus */
		{ "\xe2\x81\xa6", "\\u{2066}" },	/* LRI */
		{ "\xe2\x81\xa7", "\\u{2067}" },	/* RLI */
		{ "\xe2\x81\xa8", "\\u{2068}" },	/* FSI */
		{ "\xe2\x81\xa9", "\\u{2069}" },	/* PDI */
		{ "\xe2\x81\xaf", "\\u{206f}" },	/* nominal digit shapes */
		{ "\xef\xbb\xbf", "\\u{feff}" },	/* BOM, ZWNBSP */
		{ "\xc2\xad", "\\u{00ad}" },		/* soft hyphen */
		{ "\xcd\x8f", "\\u{034f}" },		/* grapheme joiner */
		{ "\xe1\x85\x9f", "\\u{115f}" },	/* Hangul filler */
		{ "\xe1\xa0\x8e", "\\u{180e}" },	/* Mongolian separator */
		{ "\xe3\x85\xa4", "\\u{3164}" },	/* Hangul filler */
		{ "\xef\xb8\x8f", "\\u{fe0f}" },	/* variation selector 16 */
		{ "\xef\xbf\xb9", "\\u{fff9}" },	/* annotation anchor */
		{ "\xef\xbf\xbe", "\\u{fffe}" },	/* noncharacter */
		{ "\xef\xbf\xbf", "\\u{ffff}" },	/* noncharacter */
		{ "\xef\xb7\x90", "\\u{fdd0}" },	/* noncharacter */
		{ "\xf0\x9f\xbf\xbf", "\\u{1ffff}" },	/* noncharacter */
		{ "\xf4\x8f\xbf\xbf", "\\u{10ffff}" },	/* noncharacter */
		{ "\xf0\x9d\x85\xb3", "\\u{1d173}" },	/* musical format */
		{ "\xf3\xa0\x80\x81", "\\u{e0001}" },	/* language tag */
		{ "\xf3\xa0\x81\x81", "\\u{e0041}" },	/* tag A */
		{ "\xf3\xa0\x84\x80", "\\u{e0100}" },	/* variation sel. 17 */
	};
	u_int	 i;

	for (i = 0; i < nitems(cases); i++)
		check_escape(cases[i].in, cases[i].want);
	/* The trick the issue names: a reversed remote address. */
	check_escape("10.0.0.1\xe2\x80\xae" "1.2.3.4", "10.0.0.1\\u{202e}1.2.3.4");
	check_escape("admin\xe2\x81\xa6" "evil\xe2\x81\xa9",
	    "admin\\u{2066}evil\\u{2069}");
}

/* Backslashes are doubled, so an escape in the output is always ours. */
static void
test_escape_backslash_quote(void **state)
{
	char	 buf[64];

	check_escape("\\", "\\\\");
	check_escape("\\x1b", "\\\\x1b");
	check_escape("\\u{202e}", "\\\\u{202e}");
	util_escape_buf(buf, sizeof buf, "a\\b\"c", 0);
	assert_string_equal(buf, "a\\\\b\"c");
	util_escape_buf(buf, sizeof buf, "a\\b\"c", UTIL_ESCAPE_QUOTE);
	assert_string_equal(buf, "a\\\\b\\\"c");
	util_escape_buf(buf, sizeof buf, "a\\b\"c\x1b",
	    UTIL_ESCAPE_KEEP_BACKSLASH);
	assert_string_equal(buf, "a\\b\"c\\x1b");
}

/* ---- bounds ------------------------------------------------------------ */

/* Cuts come before a whole character or escape that does not fit. */
static void
test_escape_bound(void **state)
{
	char	 buf[32], *s;
	size_t	 used;

	s = util_escape("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = util_escape("abcdef", 0);
	assert_string_equal(s, "");
	free(s);
	s = util_escape("ab\x1b", 5);		/* \x1b needs 4 */
	assert_string_equal(s, "ab");
	free(s);
	s = util_escape("ab\x1b", 6);
	assert_string_equal(s, "ab\\x1b");
	free(s);
	s = util_escape("a\xc3\xa9", 2);	/* é needs 2 */
	assert_string_equal(s, "a");
	free(s);
	s = util_escape("a\xc3\xa9", 3);
	assert_string_equal(s, "a\xc3\xa9");
	free(s);
	s = util_escape("a\xf0\x9f\x98\x80", 4);
	assert_string_equal(s, "a");
	free(s);
	s = util_escape("a\xe2\x80\xae", 8);	/* \u{202e} needs 8 */
	assert_string_equal(s, "a");
	free(s);
	s = util_escape("a\xe2\x80\xae", 9);
	assert_string_equal(s, "a\\u{202e}");
	free(s);
	s = util_escape("a\xc2\x85", 8);	/* \xc2\x85 is one escape */
	assert_string_equal(s, "a");
	free(s);
	s = util_escape("a\\", 2);		/* \\ is one escape */
	assert_string_equal(s, "a");
	free(s);

	/* The buffer form: what it used of the input, the NUL always. */
	memset(buf, 'x', sizeof buf);
	assert_int_equal(util_escape_buf(buf, 0, "abc", 0), 0);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(util_escape_buf(buf, 1, "abc", 0), 0);
	assert_string_equal(buf, "");
	assert_int_equal(util_escape_buf(buf, 4, "abc", 0), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(util_escape_buf(buf, 3, "abc", 0), 2);
	assert_string_equal(buf, "ab");
	used = util_escape_buf(buf, 6, "a\x1b" "b", 0);
	assert_int_equal(used, 2);
	assert_string_equal(buf, "a\\x1b");
	used = util_escape_buf(buf, 5, "a\x1b" "b", 0);
	assert_int_equal(used, 1);
	assert_string_equal(buf, "a");
}

/*
 * At every bound, for text that mixes every class, the output is the
 * whole escaping of the part of the input it used, and a prefix of the
 * escaping of all of it: never a piece of a character or an escape.
 */
static void
test_escape_every_bound(void **state)
{
	const char	*s = "a\xc3\xa9\x1b[1m\xc2\x9b\xe2\x80\xae\x80\\\""
			    "\xf0\x9f\x98\x80\xf3\xa0\x81\x81\xe2\x80z\x7f";
	char		*full, *part, *again, buf[256];
	size_t		 fulllen, max, used, last = 0;

	full = util_escape(s, SIZE_MAX);
	fulllen = strlen(full);
	assert_true(util_valid_text(full));
	for (max = 0; max <= fulllen + 2; max++) {
		part = util_escape(s, max);
		assert_true(strlen(part) <= max);
		assert_memory_equal(part, full, strlen(part));
		assert_true(util_valid_text(part));

		used = util_escape_buf(buf, max + 1, s, 0);
		assert_string_equal(buf, part);
		assert_true(used >= last);
		last = used;
		again = xstrndup(s, used);
		free(part);
		part = util_escape(again, SIZE_MAX);
		assert_string_equal(buf, part);
		free(part);
		free(again);
		if (max >= fulllen)
			assert_int_equal(used, strlen(s));
		else
			assert_true(used < strlen(s));
	}
	free(full);
}

/*
 * Random bytes: the output is always clean text, the same again when
 * escaped once more (with backslashes kept), and within four bytes per
 * byte of input.
 */
static void
test_escape_random(void **state)
{
	char		 in[64], out[64 * 4 + 1], again[sizeof out];
	u_int		 seed = 12345, round, i, len;

	for (round = 0; round < 20000; round++) {
		len = (u_int)(rand_r(&seed) % (sizeof in - 1));
		for (i = 0; i < len; i++) {
			/* Lean towards the bytes that start sequences. */
			in[i] = (char)(rand_r(&seed) % 4 == 0 ?
			    0xc2 + rand_r(&seed) % 0x33 : 1 + rand_r(&seed) % 255);
		}
		in[len] = '\0';
		assert_int_equal(util_escape_buf(out, sizeof out, in, 0), len);
		assert_true(strlen(out) <= 4 * len);
		assert_true(util_valid_text(out));
		util_escape_buf(again, sizeof again, out,
		    UTIL_ESCAPE_KEEP_BACKSLASH);
		assert_string_equal(again, out);
	}
}

/* ---- log_quote --------------------------------------------------------- */

/* Values that need nothing come back as they are, the very string. */
static void
test_quote_plain(void **state)
{
	const char	*s = "alice", *t = "t-0123456789abcdef";

	assert_ptr_equal(log_quote(s), s);
	assert_ptr_equal(log_quote(t), t);
	assert_string_equal(log_quote("192.0.2.7:50122"), "192.0.2.7:50122");
	assert_string_equal(log_quote("a-b_c.d/e:f@g"), "a-b_c.d/e:f@g");
}

/* Spaces, =, ", \, empty values and anything escaped are quoted. */
static void
test_quote_quoted(void **state)
{
	assert_string_equal(log_quote(""), "\"\"");
	assert_string_equal(log_quote("game ended"), "\"game ended\"");
	assert_string_equal(log_quote("a=b"), "\"a=b\"");
	assert_string_equal(log_quote("say \"hi\""), "\"say \\\"hi\\\"\"");
	assert_string_equal(log_quote("C:\\dir"), "\"C:\\\\dir\"");
	assert_string_equal(log_quote("\x1b[31mred"), "\"\\x1b[31mred\"");
	assert_string_equal(log_quote("a\xc2\x9b" "b"), "\"a\\xc2\\x9bb\"");
	assert_string_equal(log_quote("\x9b"), "\"\\x9b\"");
	assert_string_equal(log_quote("1.2.3.4\xe2\x80\xae:1"),
	    "\"1.2.3.4\\u{202e}:1\"");
	/* Non-ASCII is quoted, so a non-ASCII space cannot fake a field. */
	assert_string_equal(log_quote("J\xc3\xa9u"), "\"J\xc3\xa9u\"");
	assert_string_equal(log_quote("bob\xc2\xa0" "admin=1"),
	    "\"bob\xc2\xa0" "admin=1\"");
	assert_string_equal(log_quote("tab\there"), "\"tab\\x09here\"");
}

/* Too long a value is quoted and cut within the buffer, whole characters. */
static void
test_quote_long(void **state)
{
	char		 in[2 * LOG_QUOTE_SIZE + 1], inner[LOG_QUOTE_SIZE];
	const char	*q;
	size_t		 n, i;

	memset(in, 'a', sizeof in - 1);
	in[sizeof in - 1] = '\0';
	q = log_quote(in);
	n = strlen(q);
	assert_int_equal(n, LOG_QUOTE_SIZE - 1);
	assert_int_equal(q[0], '"');
	assert_int_equal(q[n - 1], '"');

	/* Two-byte characters: the cut falls between two of them. */
	for (i = 0; i + 2 < sizeof in; i += 2) {
		in[i] = (char)0xc3;
		in[i + 1] = (char)0xa9;
	}
	in[i] = '\0';
	q = log_quote(in);
	n = strlen(q);
	assert_true(n < LOG_QUOTE_SIZE);
	assert_int_equal(q[0], '"');
	assert_int_equal(q[n - 1], '"');
	memcpy(inner, q + 1, n - 2);
	inner[n - 2] = '\0';
	assert_int_equal(strlen(inner) % 2, 0);
	assert_true(util_valid_text(inner));

	/* Escapes: cut between two, never inside one. */
	memset(in, 0x1b, sizeof in - 1);
	in[sizeof in - 1] = '\0';
	q = log_quote(in);
	n = strlen(q);
	assert_int_equal((n - 2) % 4, 0);
	assert_true(n >= LOG_QUOTE_SIZE - 5);
	assert_memory_equal(q + n - 5, "\\x1b\"", 5);
}

/* One log call may hold LOG_QUOTE_BUFFERS quoted values, all intact. */
static void
test_quote_rotation(void **state)
{
	const char	*q[LOG_QUOTE_BUFFERS];
	char		 in[LOG_QUOTE_BUFFERS][16], want[32];
	u_int		 i, j;

	for (i = 0; i < LOG_QUOTE_BUFFERS; i++) {
		snprintf(in[i], sizeof in[i], "value %u", i);
		q[i] = log_quote(in[i]);
	}
	for (i = 0; i < LOG_QUOTE_BUFFERS; i++) {
		snprintf(want, sizeof want, "\"value %u\"", i);
		assert_string_equal(q[i], want);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(q[i], q[j]);
	}
}

/* ---- two threads ------------------------------------------------------- */

#define THREAD_ROUNDS	(4 * LOG_QUOTE_BUFFERS)

struct quoter {
	pthread_barrier_t	*barrier;
	char			 name;
	const char		*first[LOG_QUOTE_BUFFERS];
	const char		*all[THREAD_ROUNDS];
	int			 intact;
};

/*
 * In a thread: quote a full rotation of values, let the other thread
 * quote many while this one waits, then check the first ones are still
 * what they were.
 */
static void *
quoter_main(void *arg)
{
	struct quoter	*qt = arg;
	char		 in[32], want[32];
	u_int		 i;

	for (i = 0; i < LOG_QUOTE_BUFFERS; i++) {
		snprintf(in, sizeof in, "%c %u", qt->name, i);
		qt->first[i] = log_quote(in);
	}
	pthread_barrier_wait(qt->barrier);	/* both have quoted */
	if (qt->name == 'B') {
		for (i = 0; i < THREAD_ROUNDS; i++) {
			snprintf(in, sizeof in, "%c later %u", qt->name, i);
			qt->all[i] = log_quote(in);
		}
	}
	pthread_barrier_wait(qt->barrier);	/* B has quoted again */
	qt->intact = 1;
	if (qt->name == 'A') {
		for (i = 0; i < LOG_QUOTE_BUFFERS; i++) {
			snprintf(want, sizeof want, "\"%c %u\"", qt->name, i);
			if (strcmp(qt->first[i], want) != 0)
				qt->intact = 0;
		}
	}
	pthread_barrier_wait(qt->barrier);	/* A has checked */
	if (qt->name == 'A') {
		for (i = 0; i < THREAD_ROUNDS; i++) {
			snprintf(in, sizeof in, "%c later %u", qt->name, i);
			qt->all[i] = log_quote(in);
		}
	}
	return NULL;
}

/* Two threads quoting at once never get the same buffer. */
static void
test_quote_threads(void **state)
{
	pthread_barrier_t	 barrier;
	struct quoter		 a, b;
	pthread_t		 ta, tb;
	u_int			 i, j;

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
	a.barrier = b.barrier = &barrier;
	a.name = 'A';
	b.name = 'B';
	assert_int_equal(pthread_create(&ta, NULL, quoter_main, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, quoter_main, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&barrier);

	assert_true(a.intact);
	for (i = 0; i < LOG_QUOTE_BUFFERS; i++) {
		for (j = 0; j < LOG_QUOTE_BUFFERS; j++)
			assert_ptr_not_equal(a.first[i], b.first[j]);
	}
	for (i = 0; i < THREAD_ROUNDS; i++) {
		for (j = 0; j < THREAD_ROUNDS; j++)
			assert_ptr_not_equal(a.all[i], b.all[j]);
	}
}

/* ---- the log line ------------------------------------------------------ */

/* Log one line to stderr and return it (without the timestamp). */
static char *
log_capture(const char *msg, const char *value)
{
	char	 path[] = "/tmp/test_log.XXXXXX", buf[4096], *p;
	int	 fd, saved;
	ssize_t	 n;

	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(saved != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	log_open("test_log", LOG_LEVEL_DEBUG, LOG_TO_STDERR);
	log_info(msg, "quoted=%s raw=%s", log_quote(value), value);
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	p = strstr(buf, " level=");
	assert_non_null(p);
	return xstrdup(p + 1);
}

/*
 * The line carries no control and no bidi character, even from a value
 * that missed log_quote, and the message is quoted like a value.
 */
static void
test_log_line(void **state)
{
	char	*line;
	size_t	 i;

	line = log_capture("game ended", "a\x1b[2J\xc2\x9b\xe2\x80\xae");
	assert_string_equal(line, "level=info msg=\"game ended\" "
	    "quoted=\"a\\x1b[2J\\xc2\\x9b\\u{202e}\" "
	    "raw=a\\x1b[2J\\xc2\\x9b\\u{202e}\n");
	for (i = 0; line[i] != '\n'; i++) {
		assert_true((u_char)line[i] >= 0x20);
		assert_true((u_char)line[i] != 0x7f);
	}
	free(line);

	line = log_capture("admitted", "bob\\ \"x\"");
	assert_string_equal(line, "level=info msg=admitted "
	    "quoted=\"bob\\\\ \\\"x\\\"\" raw=bob\\ \"x\"\n");
	free(line);
}

/* ---- JSON lines -------------------------------------------------------- */

/* Convert a key=value line to JSON, check that it parses, return it. */
static json_t *
kv_json(const char *kv, const char *ts, size_t size)
{
	char		*out = xmalloc(size);
	json_t		*o;
	json_error_t	 err;
	size_t		 len;

	len = log_kv_to_json(kv, ts, out, size);
	assert_int_equal(len, strlen(out));
	assert_true(len < size);
	if ((o = json_loads(out, 0, &err)) == NULL)
		fail_msg("not JSON (%s): %s", err.text, out);
	free(out);
	return o;
}

/* A string field of a JSON line. */
static const char *
jstr(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("%s is not a string", key);
	return json_string_value(v);
}

/* Fields keep their order and text; whole numbers become numbers. */
static void
test_json_fields(void **state)
{
	json_t	*o;
	char	*dump;

	o = kv_json("level=info msg=admitted user=alice connection_id=12 "
	    "user_id=1001 remote_addr=192.0.2.7:50122 active_connections=3",
	    "2026-11-26T07:15:19.690Z", 4096);
	dump = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	assert_string_equal(dump, "{\"ts\":\"2026-11-26T07:15:19.690Z\","
	    "\"level\":\"info\",\"msg\":\"admitted\",\"user\":\"alice\","
	    "\"connection_id\":12,\"user_id\":1001,"
	    "\"remote_addr\":\"192.0.2.7:50122\",\"active_connections\":3}");
	free(dump);
	json_decref(o);

	/* Not numbers: leading zeros, too long, signs alone, quoted. */
	o = kv_json("a=007 b=1234567890123456 c=- d=\"42\" e=-5 f=0", NULL,
	    4096);
	assert_string_equal(jstr(o, "a"), "007");
	assert_string_equal(jstr(o, "b"), "1234567890123456");
	assert_string_equal(jstr(o, "c"), "-");
	assert_string_equal(jstr(o, "d"), "42");
	assert_int_equal(json_integer_value(json_object_get(o, "e")), -5);
	assert_int_equal(json_integer_value(json_object_get(o, "f")), 0);
	assert_null(json_object_get(o, "ts"));
	json_decref(o);
}

/*
 * A quoted value loses its quotes and the backslash of an escaped
 * quote; every other escape stays text, so JSON cannot bring a control
 * character back.
 */
static void
test_json_escapes(void **state)
{
	json_t	*o;

	o = kv_json("msg=\"game ended\" say=\"he said \\\"hi\\\"\" "
	    "path=\"C:\\\\dir\" esc=\"a\\x1b[2J\\u{202e}b\" "
	    "tail=\"ends \\\\\" next=1", NULL, 4096);
	assert_string_equal(jstr(o, "msg"), "game ended");
	assert_string_equal(jstr(o, "say"), "he said \"hi\"");
	assert_string_equal(jstr(o, "path"), "C:\\\\dir");
	assert_string_equal(jstr(o, "esc"), "a\\x1b[2J\\u{202e}b");
	assert_string_equal(jstr(o, "tail"), "ends \\\\");
	assert_int_equal(json_integer_value(json_object_get(o, "next")), 1);
	json_decref(o);

	/* What is not key=value is kept as text. */
	o = kv_json("level=warn msg=x stray words", NULL, 4096);
	assert_string_equal(jstr(o, "text"), "stray words");
	json_decref(o);
}

/* A line longer than the room ends cleanly, marked, and still parses. */
static void
test_json_truncated(void **state)
{
	char	 kv[2048];
	json_t	*o;
	u_int	 i;
	size_t	 n = 0;

	for (i = 0; i < 100; i++)
		n += (size_t)snprintf(kv + n, sizeof kv - n, "k%u=\"v %u\" ", i,
		    i);
	o = kv_json(kv, "2026-01-01T00:00:00.000Z", 256);
	assert_true(json_is_true(json_object_get(o, "truncated")));
	assert_string_equal(jstr(o, "k0"), "v 0");
	assert_null(json_object_get(o, "k99"));
	json_decref(o);
	/* Every size from the smallest up gives valid JSON. */
	for (n = 32; n < 400; n++)
		json_decref(kv_json(kv, "2026-01-01T00:00:00.000Z", n));
}

/* With log_format = json the written line is one JSON object. */
static void
test_json_written(void **state)
{
	char	 path[] = "/tmp/test_log.XXXXXX", buf[4096];
	json_t	*o;
	int	 fd, saved;
	ssize_t	 n;

	{
		fd = mkstemp(path);
		assert_true(fd != -1);
		unlink(path);
		saved = dup(STDERR_FILENO);
		assert_true(dup2(fd, STDERR_FILENO) != -1);
		log_set_format(LOG_FORMAT_JSON);
		log_info("game ended", "user=%s seconds=%d", log_quote("bob"),
		    8);
		log_set_format(LOG_FORMAT_KV);
		assert_true(dup2(saved, STDERR_FILENO) != -1);
		close(saved);
		n = pread(fd, buf, sizeof buf - 1, 0);
		close(fd);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_int_equal(buf[n - 1], '\n');
		buf[n - 1] = '\0';
		assert_null(strchr(buf, '\n'));
		o = json_loads(buf, 0, NULL);
		assert_non_null(o);
		assert_true(strncmp(buf, "{\"ts\":\"", 7) == 0);
		assert_string_equal(jstr(o, "level"), "info");
		assert_string_equal(jstr(o, "msg"), "game ended");
		assert_string_equal(jstr(o, "user"), "bob");
		assert_int_equal(json_integer_value(json_object_get(o,
		    "seconds")), 8);
		json_decref(o);
	}
}

/* ---- the per-peer limit ------------------------------------------------ */

/* Log n lines as peer, and count how many reached stderr. */
static u_int
peer_lines(uint64_t peer, u_int n, const char *msg)
{
	char	 path[] = "/tmp/test_log.XXXXXX", *buf, *p;
	int	 fd, saved;
	ssize_t	 len;
	u_int	 i, lines = 0;

	buf = xmalloc(1024 * 1024);
	fd = mkstemp(path);
	assert_true(fd != -1);
	unlink(path);
	saved = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	log_open("test_log", LOG_LEVEL_INFO, LOG_TO_STDERR);
	for (i = 0; i < n; i++)
		log_peer(LOG_LEVEL_INFO, peer, msg, "user_id=%llu n=%u",
		    (unsigned long long)peer, i);
	/* Lines below the level are neither written nor counted. */
	log_peer(LOG_LEVEL_DEBUG, peer, msg, "n=debug");
	assert_true(dup2(saved, STDERR_FILENO) != -1);
	close(saved);
	len = pread(fd, buf, 1024 * 1024 - 1, 0);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	for (p = buf; (p = strstr(p, "msg=")) != NULL; p++)
		lines++;
	assert_null(strstr(buf, "n=debug"));
	free(buf);
	return lines;
}

/*
 * One peer gets 30 lines a window, then its lines are counted; another
 * peer is not held back by it.
 */
static void
test_peer_limit(void **state)
{
	uint64_t	 before = log_peer_suppressed();

	assert_int_equal(peer_lines(1001, 10, "refused"), 10);
	assert_int_equal(peer_lines(1001, 100, "refused"), 20);
	assert_int_equal(log_peer_suppressed() - before, 80);
	assert_int_equal(peer_lines(1002, 25, "admitted"), 25);
	assert_int_equal(peer_lines(1001, 5, "refused"), 0);
	assert_int_equal(log_peer_suppressed() - before, 85);
	/* Root is not held back. */
	assert_int_equal(peer_lines(0, 50, "reloaded"), 50);
	assert_int_equal(log_peer_suppressed() - before, 85);
	/* The windows have not ended: flushing says nothing yet. */
	log_peer_flush();
	assert_int_equal(peer_lines(1002, 5, "admitted"), 5);
	log_peer_clear();
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_printable),
		cmocka_unit_test(test_escape_c0_del),
		cmocka_unit_test(test_escape_c1_utf8),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_bidi_invisible),
		cmocka_unit_test(test_escape_backslash_quote),
		cmocka_unit_test(test_escape_bound),
		cmocka_unit_test(test_escape_every_bound),
		cmocka_unit_test(test_escape_random),
		cmocka_unit_test(test_quote_plain),
		cmocka_unit_test(test_quote_quoted),
		cmocka_unit_test(test_quote_long),
		cmocka_unit_test(test_quote_rotation),
		cmocka_unit_test(test_quote_threads),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_json_escapes),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_json_written),
		cmocka_unit_test(test_peer_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
