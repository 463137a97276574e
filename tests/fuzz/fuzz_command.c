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
		switch (cmd) {
		case CMD_MENU:
			FUZZ_CHECK(game == NULL);
			FUZZ_CHECK(strspn(orig, " ") == strlen(orig));
			break;
		case CMD_PLAY:
			FUZZ_CHECK(game != NULL && fuzz_is_id(game));
			FUZZ_CHECK(strstr(orig, "play ") != NULL);
			FUZZ_CHECK(strstr(orig, game) != NULL);
			break;
		case CMD_WATCH:
			/* The list, or one player's game: a name, nothing else. */
			FUZZ_CHECK(strstr(orig, "watch") != NULL);
			FUZZ_CHECK(game == NULL || (command_is_user(game,
			    strlen(game)) && strstr(orig, game) != NULL));
			break;
		case CMD_LIST:
		case CMD_LIST_JSON:
			FUZZ_CHECK(game == NULL);
			FUZZ_CHECK(strstr(orig, "list") != NULL);
			FUZZ_CHECK((cmd == CMD_LIST_JSON) ==
			    (strstr(orig, "--json") != NULL));
			break;
		default:
			FUZZ_CHECK(0);
		}
		free(game);
	} else {
		FUZZ_CHECK(game == NULL);
		FUZZ_CHECK(cause != NULL);
		FUZZ_CHECK(fuzz_printable(cause));
		/* A sentence, with at most 60 characters of the command in it. */
		FUZZ_CHECK(strlen(cause) <= 160);
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
