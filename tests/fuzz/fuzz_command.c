/*
 * Fuzz the command whitelist: SSH_ORIGINAL_COMMAND is whatever the
 * player's ssh client sent. Only the menu and "play GAME" with a game id
 * pass; everything else is refused with a message safe to print.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "session.h"
#include "fuzz.h"

/* Is every byte of s printable ASCII? */
static int
fuzz_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((u_char)*s < 0x20 || (u_char)*s > 0x7e)
			return 0;
	}
	return 1;
}

/* Is s a game id, as the whitelist allows? */
static int
fuzz_is_id(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > 32)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* One original command, and command_printable of it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum session_cmd	 cmd;
	char			*orig, *game, *cause = NULL, *shown;
	size_t			 max;

	if (size < 1)
		return 0;
	/* The first byte bounds command_printable; the rest is the command. */
	max = data[0];
	orig = xmalloc(size);
	memcpy(orig, data + 1, size - 1);
	orig[size - 1] = '\0';

	if (command_parse(orig, &cmd, &game, &cause) == 0) {
		FUZZ_CHECK(cause == NULL);
		if (cmd == CMD_MENU) {
			FUZZ_CHECK(game == NULL);
			FUZZ_CHECK(strspn(orig, " ") == strlen(orig));
		} else {
			FUZZ_CHECK(cmd == CMD_PLAY);
			FUZZ_CHECK(game != NULL && fuzz_is_id(game));
			FUZZ_CHECK(strstr(orig, "play ") != NULL);
			FUZZ_CHECK(strstr(orig, game) != NULL);
		}
		free(game);
	} else {
		FUZZ_CHECK(game == NULL);
		FUZZ_CHECK(cause != NULL);
		FUZZ_CHECK(fuzz_printable(cause));
		FUZZ_CHECK(strlen(cause) <= 100);
		free(cause);
	}

	shown = command_printable(orig, max);
	FUZZ_CHECK(fuzz_printable(shown));
	FUZZ_CHECK(strlen(shown) <= max + 3);
	free(shown);
	free(orig);

	/* No command at all is the menu. */
	FUZZ_CHECK(command_parse(NULL, &cmd, &game, &cause) == 0);
	FUZZ_CHECK(cmd == CMD_MENU && game == NULL);
	return 0;
}
