/*
 * The command surface over ssh: SSH_ORIGINAL_COMMAND is hostile input and
 * is matched against a whitelist, never handed to a shell.
 *
 *   (empty)       the menu
 *   play GAME     straight into GAME
 *   watch         the list of games being played
 *   watch USER    straight to USER's game
 *   list          the games being played, as text (no terminal needed)
 *   list --json   the same as JSON
 *
 * Anything else is an unknown command.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Longest command worth looking at. */
#define COMMAND_MAX	256

/* Is s a game id: 1 to 32 of a-z, 0-9, _ and -? */
static int
command_is_id(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 32)
		return 0;
	for (i = 0; i < len; i++) {
		if (!islower((u_char)s[i]) && !isdigit((u_char)s[i]) &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	}
	return 1;
}

/*
 * Is s a player's name as DungeonGate takes one: 1 to 32 letters,
 * digits, ., _ and -, not starting with . or -?
 */
int
command_is_user(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 32 || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((u_char)s[i]) && s[i] != '_' && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	}
	return 1;
}

/* Is the command word w, alone or followed by a space? */
static int
command_word(const char *p, const char *end, const char *w)
{
	size_t	 len = strlen(w);

	return (size_t)(end - p) >= len && strncmp(p, w, len) == 0 &&
	    (p + len == end || p[len] == ' ');
}

/*
 * Parse the original command. Returns 0 with *cmd (and *game for play,
 * the user for watch USER), or -1 with *cause for anything not on the
 * whitelist.
 */
int
command_parse(const char *orig, enum session_cmd *cmd, char **game,
    char **cause)
{
	const char	*p, *end, *arg;
	char		*shown;

	*game = NULL;
	if (orig == NULL) {
		*cmd = CMD_MENU;
		return 0;
	}
	if (strlen(orig) > COMMAND_MAX) {
		*cause = xstrdup("unknown command (too long)");
		return -1;
	}
	for (p = orig; *p == ' '; p++)
		;
	for (end = p + strlen(p); end > p && end[-1] == ' '; end--)
		;
	if (p == end) {
		*cmd = CMD_MENU;
		return 0;
	}
	if (command_word(p, end, "watch")) {
		for (arg = p + 5; *arg == ' '; arg++)
			;
		*cmd = CMD_WATCH;
		if (arg == end || arg > end)
			return 0;
		if (command_is_user(arg, (size_t)(end - arg))) {
			*game = xstrndup(arg, (size_t)(end - arg));
			return 0;
		}
		shown = command_printable(arg, 40);
		xasprintf(cause, "\"%s\" is not a player's name (a name has "
		    "only letters, digits, '.', '_' and '-')", shown);
		free(shown);
		return -1;
	}
	if (command_word(p, end, "list")) {
		for (arg = p + 4; *arg == ' '; arg++)
			;
		if (arg >= end) {
			*cmd = CMD_LIST;
			return 0;
		}
		if ((size_t)(end - arg) == 6 && strncmp(arg, "--json", 6) == 0) {
			*cmd = CMD_LIST_JSON;
			return 0;
		}
	}
	if ((size_t)(end - p) > 5 && strncmp(p, "play ", 5) == 0) {
		for (arg = p + 5; *arg == ' '; arg++)
			;
		if (command_is_id(arg, (size_t)(end - arg))) {
			*cmd = CMD_PLAY;
			*game = xstrndup(arg, (size_t)(end - arg));
			return 0;
		}
	}
	shown = command_printable(orig, 60);
	xasprintf(cause, "unknown command \"%s\"", shown);
	free(shown);
	return -1;
}

/*
 * A copy of untrusted text safe to print on a terminal: control
 * characters become '?', and it is cut at max bytes.
 */
char *
command_printable(const char *s, size_t max)
{
	size_t	 len = strlen(s), i;
	char	*out;
	int	 cut = 0;

	if (len > max) {
		len = max;
		cut = 1;
	}
	out = xmalloc(len + 4);
	for (i = 0; i < len; i++) {
		u_char	c = (u_char)s[i];

		out[i] = (c < 0x20 || c == 0x7f || c >= 0x80) ? '?' : (char)c;
	}
	if (cut)
		memcpy(out + len, "...", 3), len += 3;
	out[len] = '\0';
	return out;
}
