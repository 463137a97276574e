/*
 * Unit tests for the ssh command whitelist: SSH_ORIGINAL_COMMAND is
 * hostile input, and only the menu, `play GAME`, `watch [USER]` and
 * `list [--json]` get through.
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
#include "session.h"

/* Is every byte of s printable ASCII? */
static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((u_char)*s < 0x20 || (u_char)*s >= 0x7f)
			return 0;
	}
	return 1;
}

/* orig must give the menu. */
static int
check_menu(const char *orig)
{
	enum session_cmd	 cmd = CMD_PLAY;
	char			*game = (char *)1, *cause = NULL;

	if (command_parse(orig, &cmd, &game, &cause) != 0) {
		print_error("refused \"%s\": %s\n", orig != NULL ? orig :
		    "(null)", cause != NULL ? cause : "(no cause)");
		free(cause);
		return -1;
	}
	if (cmd != CMD_MENU || game != NULL) {
		print_error("\"%s\" is not the menu\n", orig);
		if (game != (char *)1)
			free(game);
		return -1;
	}
	return 0;
}

/* orig must play want. */
static int
check_play(const char *orig, const char *want)
{
	enum session_cmd	 cmd = CMD_MENU;
	char			*game = NULL, *cause = NULL;
	int			 rc = 0;

	if (command_parse(orig, &cmd, &game, &cause) != 0) {
		print_error("refused \"%s\": %s\n", orig, cause != NULL ?
		    cause : "(no cause)");
		free(cause);
		return -1;
	}
	if (cmd != CMD_PLAY || game == NULL || strcmp(game, want) != 0) {
		print_error("\"%s\" does not play %s\n", orig, want);
		rc = -1;
	}
	free(game);
	return rc;
}

/*
 * orig must be refused, with a cause that is safe to print on the
 * player's terminal and not absurdly long.
 */
static int
check_refused(const char *orig)
{
	enum session_cmd	 cmd;
	char			*game = (char *)1, *cause = NULL;

	if (command_parse(orig, &cmd, &game, &cause) != -1) {
		print_error("accepted \"%s\" (cmd %d, game %s)\n", orig, cmd,
		    cmd == CMD_PLAY && game != NULL ? game : "-");
		if (game != (char *)1)
			free(game);
		return -1;
	}
	if (game != NULL && game != (char *)1) {
		print_error("refused \"%s\" but left a game\n", orig);
		free(game);
		free(cause);
		return -1;
	}
	if (cause == NULL || *cause == '\0') {
		print_error("refused \"%s\" without a cause\n", orig);
		free(cause);
		return -1;
	}
	if (!printable_ascii(cause) || strlen(cause) > 200) {
		print_error("cause for \"%s\" is not safe to print\n", orig);
		free(cause);
		return -1;
	}
	free(cause);
	return 0;
}

/* No command, or only spaces, is the menu. */
static void
test_menu(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_menu(NULL) != 0;
	failed += check_menu("") != 0;
	failed += check_menu(" ") != 0;
	failed += check_menu("     ") != 0;
	if (failed != 0)
		fail_msg("%d menu case(s) failed", failed);
}

/* `play GAME` with a valid id plays it, spaces around or not. */
static void
test_play(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_play("play nethack", "nethack") != 0;
	failed += check_play("  play   nethack  ", "nethack") != 0;
	failed += check_play("play crawl-0_31", "crawl-0_31") != 0;
	failed += check_play("play 2048", "2048") != 0;
	failed += check_play("play x", "x") != 0;
	failed += check_play("play abcdefghijklmnopqrstuvwxyz012345",
	    "abcdefghijklmnopqrstuvwxyz012345") != 0;
	if (failed != 0)
		fail_msg("%d play case(s) failed", failed);
}

/* orig must give cmd, with arg (or none). */
static int
check_cmd(const char *orig, enum session_cmd want, const char *arg)
{
	enum session_cmd	 cmd = CMD_MENU;
	char			*got = NULL, *cause = NULL;
	int			 rc = 0;

	if (command_parse(orig, &cmd, &got, &cause) != 0) {
		print_error("refused \"%s\": %s\n", orig, cause);
		free(cause);
		return -1;
	}
	if (cmd != want || (arg == NULL) != (got == NULL) ||
	    (arg != NULL && strcmp(arg, got) != 0)) {
		print_error("\"%s\" gave cmd %d arg %s\n", orig, cmd,
		    got != NULL ? got : "-");
		rc = -1;
	}
	free(got);
	return rc;
}

/* `watch`, `watch USER`, `list` and `list --json`. */
static void
test_watch_list(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_cmd("watch", CMD_WATCH, NULL) != 0;
	failed += check_cmd("  watch  ", CMD_WATCH, NULL) != 0;
	failed += check_cmd("watch alice", CMD_WATCH, "alice") != 0;
	failed += check_cmd("watch  bob_2.x-y", CMD_WATCH, "bob_2.x-y") != 0;
	failed += check_cmd("watch Alice", CMD_WATCH, "Alice") != 0;
	failed += check_cmd("list", CMD_LIST, NULL) != 0;
	failed += check_cmd(" list ", CMD_LIST, NULL) != 0;
	failed += check_cmd("list --json", CMD_LIST_JSON, NULL) != 0;
	failed += check_cmd("list   --json ", CMD_LIST_JSON, NULL) != 0;
	if (failed != 0)
		fail_msg("%d watch or list case(s) failed", failed);
}

/* A refused watch names what was wrong, printably. */
static void
test_watch_cause(void **state)
{
	enum session_cmd	 cmd;
	char			*game = NULL, *cause = NULL;

	(void)state;
	assert_int_equal(command_parse("watch ../x\x1b[2J", &cmd, &game,
	    &cause), -1);
	assert_null(game);
	assert_string_equal(cause, "\"../x?[2J\" is not a player's name (a "
	    "name has only letters, digits, '.', '_' and '-')");
	free(cause);
}

/* Anything off the whitelist is refused with a printable cause. */
static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"bash",
		"sh",
		"/bin/sh",
		"play",
		"play ",
		"play  ",
		" play ",
		"playnethack",
		"play nethack; sh",
		"play nethack;sh",
		"play nethack && sh",
		"play nethack | sh",
		"play nethack > /tmp/x",
		"play $(id)",
		"play `id`",
		"play ${HOME}",
		"play ../x",
		"play ../../bin/sh",
		"play /usr/games/nethack",
		"play net/hack",
		"play NetHack",
		"play NETHACK",
		"PLAY nethack",
		"Play nethack",
		"play a b",
		"play nethack nethack",
		"play nethack -u root",
		"play nethack\n",
		"play nethack\nsh",
		"play nethack\r",
		"play\tnethack",
		"\tplay nethack",
		"play nethack\t",
		"play \tnethack",
		"\t",
		"\n",
		"play n\xc3\xa9thack",
		"play nethack\x1b[2J",
		"play *",
		"play 'nethack'",
		"play \"nethack\"",
		"play nethack\\",
		"play abcdefghijklmnopqrstuvwxyz0123456",
		"scp -t /tmp",
		"rsync --server . /tmp",
		"internal-sftp",
		"list nethack",
		"list --xml",
		"list --json x",
		"list -j",
		"listx",
		"watchalice",
		"WATCH alice",
		"watch ../alice",
		"watch ../../etc/passwd",
		"watch a/b",
		"watch /home/alice",
		"watch alice; sh",
		"watch alice bob",
		"watch $(id)",
		"watch `id`",
		"watch alice\x1b[2J",
		"watch \x1b]0;owned\x07",
		"watch al\xc3\xa9" "ce",
		"watch -rf",
		"watch .hidden",
		"watch ..",
		"watch abcdefghijklmnopqrstuvwxyz0123456",
		"watch alice\n",
		"watch\talice",
		"menu",
		"help",
	};
	u_int	 i;
	int	 failed = 0;

	(void)state;
	for (i = 0; i < nitems(bad); i++)
		failed += check_refused(bad[i]) != 0;
	if (failed != 0)
		fail_msg("%d hostile command(s) not refused properly", failed);
}

/* Over-long input is refused, whatever it holds. */
static void
test_too_long(void **state)
{
	char	 buf[400];
	int	 failed = 0;

	(void)state;
	/* 300 characters of anything. */
	memset(buf, 'a', 300);
	buf[300] = '\0';
	failed += check_refused(buf) != 0;

	/* A valid command padded far beyond any sensible length. */
	memset(buf, ' ', 300);
	memcpy(buf, "play nethack", 12);
	buf[300] = '\0';
	failed += check_refused(buf) != 0;

	/* A game id longer than any id can be. */
	snprintf(buf, sizeof buf, "play %0300d", 0);
	failed += check_refused(buf) != 0;

	/* Over-long, full of terminal escapes: the cause stays printable. */
	memset(buf, '\x1b', 399);
	buf[399] = '\0';
	failed += check_refused(buf) != 0;
	if (failed != 0)
		fail_msg("%d long command(s) not refused properly", failed);
}

/* Control and non-ASCII bytes are masked; long text is cut with "...". */
static void
test_printable(void **state)
{
	static const struct {
		const char	*in;
		size_t		 max;
		const char	*out;
	} cases[] = {
		{ "play nethack", 60, "play nethack" },
		{ "", 10, "" },
		{ "abc", 3, "abc" },
		{ "abcdef", 3, "abc..." },
		{ "abcdef", 0, "..." },
		{ "a\x1b[2Jb", 10, "a?[2Jb" },
		{ "\r\n\t", 10, "???" },
		{ "x\x7fy", 10, "x?y" },
		{ "\x01\x1f ~", 10, "?? ~" },
		{ "caf\xc3\xa9", 10, "caf??" },
		{ "\x9b" "31m", 10, "?31m" },
		{ "\xff\x80", 10, "??" },
		{ "\x1b\x1b\x1b\x1b", 2, "??..." },
	};
	char	*s;
	u_int	 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		s = command_printable(cases[i].in, cases[i].max);
		assert_non_null(s);
		if (strcmp(s, cases[i].out) != 0) {
			print_error("case %u: got \"%s\", want \"%s\"\n", i, s,
			    cases[i].out);
			free(s);
			fail_msg("command_printable case %u", i);
		}
		free(s);
	}
}

/* Whatever bytes come in, what comes out is safe and bounded. */
static void
test_printable_all_bytes(void **state)
{
	char	 in[256], *s;
	u_int	 i;

	(void)state;
	for (i = 1; i < 256; i++)
		in[i - 1] = (char)i;
	in[255] = '\0';
	s = command_printable(in, 1000);
	assert_int_equal(strlen(s), 255);
	assert_true(printable_ascii(s));
	for (i = 0x20; i < 0x7f; i++)
		assert_int_equal((u_char)s[i - 1], i);
	free(s);

	s = command_printable(in, 40);
	assert_int_equal(strlen(s), 43);
	assert_true(printable_ascii(s));
	assert_string_equal(s + 40, "...");
	free(s);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_menu),
		cmocka_unit_test(test_play),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_watch_list),
		cmocka_unit_test(test_watch_cause),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_printable_all_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
