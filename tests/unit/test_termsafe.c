/*
 * Unit tests for what of a game's output may reach another player's
 * terminal: every control string (OSC, DCS, APC, PM, SOS) is taken out,
 * however the output is cut into pieces, and nothing else is touched.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

/* Filter a text cut into pieces of at most step bytes. */
static char *
filter(const char *in, size_t len, size_t step, int utf8)
{
	struct termsafe	 ts;
	u_char		*out = xmalloc(len + 2);
	size_t		 off, n = 0, piece;

	termsafe_init(&ts, utf8);
	for (off = 0; off < len; off += piece) {
		piece = len - off < step ? len - off : step;
		n += termsafe_filter(&ts, (const u_char *)in + off, piece,
		    out + n);
	}
	out[n] = '\0';
	return (char *)out;
}

/* Each case, cut every way: whole, and in pieces of 1 to 7 bytes. */
static void
test_cases(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
		int		 utf8;
	} cases[] = {
		{ "plain text\r\n", "plain text\r\n", 1 },
		{ "\033[1;31mred\033[0m\033[5;10H\033(0lqk\033(B",
		  "\033[1;31mred\033[0m\033[5;10H\033(0lqk\033(B", 1 },
		{ "a\033]0;title\007b", "ab", 1 },
		{ "a\033]52;c;Y2xpcGJvYXJk\033\\b", "ab", 1 },
		{ "a\033]8;;http://x/\033\\link\033]8;;\033\\b", "alinkb", 1 },
		/* A passthrough: the OSC inside goes too; a lone ST is left. */
		{ "a\033Ptmux;\033\033]52;c;x\007\033\\b", "a\033\\b", 1 },
		{ "a\033_apc\033\\b\033^pm\033\\c\033Xsos\033\\d", "abcd", 1 },
		{ "a\033]0;cut\030b", "ab", 1 },
		{ "a\033]0;new\033[1mb", "a\033[1mb", 1 },
		{ "\033\033[2J", "\033\033[2J", 1 },
		{ "x\033", "x", 1 },	/* an ESC at the end is held */
		{ "a\x9d" "0;title\x07" "b", "ab", 0 },
		{ "a\x90" "dcs\x9c" "b", "ab", 0 },
		{ "caf\xc3\xa9 \xdd\x9d ok", "caf\xc3\xa9 \xdd\x9d ok", 1 },
	};
	char	*got;
	u_int	 i;
	size_t	 step, len;
	int	 failed = 0;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		len = strlen(cases[i].in);
		for (step = 1; step <= len; step = step < 7 ? step + 1 : len) {
			got = filter(cases[i].in, len, step, cases[i].utf8);
			if (strcmp(got, cases[i].out) != 0) {
				print_error("case %u in pieces of %zu: got "
				    "\"%s\"\n", i, step, got);
				failed++;
			}
			free(got);
			if (step == len)
				break;
		}
	}
	if (failed != 0)
		fail_msg("%d case(s) failed", failed);
}

/* A string that never ends takes out all that follows, and holds nothing. */
static void
test_endless_string(void **state)
{
	struct termsafe	 ts;
	u_char		 in[4096], out[4097];
	u_int		 i;

	(void)state;
	termsafe_init(&ts, 1);
	assert_int_equal(termsafe_filter(&ts, (const u_char *)"ok\033]0;", 6,
	    out), 2);
	memset(in, 'x', sizeof in);
	for (i = 0; i < 1000; i++)
		assert_int_equal(termsafe_filter(&ts, in, sizeof in, out), 0);
	/* BEL ends it. */
	assert_int_equal(termsafe_filter(&ts, (const u_char *)"\007yes", 4,
	    out), 3);
	assert_memory_equal(out, "yes", 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_endless_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
