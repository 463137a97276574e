/*
 * The player's terminal: raw mode on the way in, exactly the old state on
 * every way out (atexit covers exit(3) from anywhere).
 */
#include "config.h"

#include <sys/ioctl.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "session.h"

static struct termios	 tty_saved;
static int		 tty_saved_flags[2] = { -1, -1 };
static int		 tty_is_raw;

/* Put the terminal back as it was. Safe to call more than once. */
void
tty_restore(void)
{
	if (tty_is_raw) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &tty_saved);
		tty_is_raw = 0;
	}
	if (tty_saved_flags[1] != -1) {
		fcntl(STDOUT_FILENO, F_SETFL, tty_saved_flags[1]);
		tty_saved_flags[1] = -1;
	}
	if (tty_saved_flags[0] != -1) {
		fcntl(STDIN_FILENO, F_SETFL, tty_saved_flags[0]);
		tty_saved_flags[0] = -1;
	}
}

/* Raw mode and non-blocking I/O on the player's terminal. */
int
tty_raw(void)
{
	struct termios	 raw;
	static int	 registered;

	if (tcgetattr(STDIN_FILENO, &tty_saved) != 0)
		return -1;
	if ((tty_saved_flags[0] = fcntl(STDIN_FILENO, F_GETFL)) == -1 ||
	    (tty_saved_flags[1] = fcntl(STDOUT_FILENO, F_GETFL)) == -1)
		return -1;
	if (!registered) {
		atexit(tty_restore);
		registered = 1;
	}
	raw = tty_saved;
	cfmakeraw(&raw);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) != 0)
		return -1;
	tty_is_raw = 1;
	if (fcntl(STDIN_FILENO, F_SETFL, tty_saved_flags[0] | O_NONBLOCK) != 0 ||
	    fcntl(STDOUT_FILENO, F_SETFL, tty_saved_flags[1] | O_NONBLOCK) != 0)
		return -1;
	return 0;
}

/* The terminal's size, 80x24 when it will not say. */
void
tty_size(int fd, u_int *cols, u_int *rows)
{
	struct winsize	 ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		*cols = ws.ws_col > 1000 ? 1000 : ws.ws_col;
		*rows = ws.ws_row > 1000 ? 1000 : ws.ws_row;
	} else {
		*cols = 80;
		*rows = 24;
	}
}

/* The client's TERM if it is a plausible terminal name, else vt100. */
const char *
tty_term(void)
{
	const char	*term = getenv("TERM"), *p;

	if (term == NULL || *term == '\0' || strlen(term) > 64)
		return "vt100";
	for (p = term; *p != '\0'; p++) {
		if (!isalnum((u_char)*p) && strchr("._+-", *p) == NULL)
			return "vt100";
	}
	return term;
}
