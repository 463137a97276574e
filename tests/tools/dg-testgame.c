/*
 * dg-testgame: a "game" for the end-to-end tests of the limits.
 *
 *   dg-testgame alloc MB   try to allocate MB megabytes and say whether it
 *                          worked, then wait for q
 *   dg-testgame spew       write to the terminal as fast as it will take
 *   dg-testgame burn       spin on the CPU
 *   dg-testgame chaos MB [PROGRAM ARGS...]
 *                          write MB megabytes of varied terminal output
 *                          (colours, attributes, scrolling regions,
 *                          cursor moves, the line-drawing set, UTF-8 with
 *                          a UTF-8 locale, erasing, inserting, the
 *                          alternate screen); half way, say "resize me"
 *                          and wait for a key, then go on at the new
 *                          size; at the end exec PROGRAM, or say "chaos
 *                          done" and wait for q
 *   dg-testgame box        set the terminal's title, draw a box in the
 *                          line-drawing set and wait for q; t sets
 *                          another title and says "titled"
 *
 * Each says "ready" first so a test knows it runs.
 */
#include "config.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "dungeongate.h"

/* Wait until q arrives on the terminal or it goes away. */
static void
wait_for_q(void)
{
	struct termios	 t;
	char		 c;

	if (tcgetattr(STDIN_FILENO, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	while (read(STDIN_FILENO, &c, 1) == 1 && c != 'q')
		;
}

/* The chaos game's output, and its pseudo-random choices. */
struct chaos {
	char		 buf[65536];
	size_t		 len;
	uint32_t	 seed;
	int		 cols;
	int		 rows;
	int		 utf8;
};

/* The next pseudo-random number below n (fixed seed: runs repeat). */
static u_int
chaos_rand(struct chaos *c, u_int n)
{
	c->seed = c->seed * 1103515245 + 12345;
	return (c->seed >> 16) % n;
}

/* Write out what is buffered. */
static void
chaos_flush(struct chaos *c)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < c->len) {
		n = write(STDOUT_FILENO, c->buf + off, c->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			exit(1);
		off += (size_t)n;
	}
	c->len = 0;
}

/* Add formatted output, flushing when the buffer fills. */
static void __attribute__((format(printf, 2, 3)))
chaos_add(struct chaos *c, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (c->len > sizeof c->buf - 512)
		chaos_flush(c);
	va_start(ap, fmt);
	n = vsnprintf(c->buf + c->len, sizeof c->buf - c->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->len += (size_t)n;
}

/* A random pen: attributes and colours of every kind. */
static void
chaos_pen(struct chaos *c)
{
	static const int attrs[] = { 1, 3, 4, 5, 7, 9 };
	u_int	 i;

	chaos_add(c, "\033[0");
	for (i = 0; i < nitems(attrs); i++) {
		if (chaos_rand(c, 4) == 0)
			chaos_add(c, ";%d", attrs[i]);
	}
	switch (chaos_rand(c, 5)) {
	case 0:
		chaos_add(c, ";%u", 30 + chaos_rand(c, 8));
		break;
	case 1:
		chaos_add(c, ";%u", 90 + chaos_rand(c, 8));
		break;
	case 2:
		chaos_add(c, ";38;5;%u", 16 + chaos_rand(c, 240));
		break;
	case 3:
		chaos_add(c, ";38;2;%u;%u;%u", chaos_rand(c, 256),
		    chaos_rand(c, 256), chaos_rand(c, 256));
		break;
	}
	switch (chaos_rand(c, 5)) {
	case 0:
		chaos_add(c, ";%u", 40 + chaos_rand(c, 8));
		break;
	case 1:
		chaos_add(c, ";%u", 100 + chaos_rand(c, 8));
		break;
	case 2:
		chaos_add(c, ";48;5;%u", 16 + chaos_rand(c, 240));
		break;
	case 3:
		chaos_add(c, ";48;2;%u;%u;%u", chaos_rand(c, 256),
		    chaos_rand(c, 256), chaos_rand(c, 256));
		break;
	}
	chaos_add(c, "m");
}

/* Some words, in UTF-8 now and then when the locale is. */
static void
chaos_words(struct chaos *c)
{
	static const char *const words[] = { "the", "gnome", "lord", "hits",
	    "you", "--More--", "Dlvl:3", "$:42", "HP:12(14)", "kitten",
	    "#####", "|....|", "@", "d", "F", "{", ">" };
	static const char *const utf8[] = { "caf\303\251", "\302\267",
	    "\342\224\200\342\224\202", "\346\227\245\346\234\254" };
	u_int	 i, n = 1 + chaos_rand(c, 6);

	for (i = 0; i < n; i++) {
		if (c->utf8 && chaos_rand(c, 5) == 0)
			chaos_add(c, "%s ", utf8[chaos_rand(c, nitems(utf8))]);
		else
			chaos_add(c, "%s ", words[chaos_rand(c, nitems(words))]);
	}
}

/* One burst of one kind of output. */
static void
chaos_step(struct chaos *c)
{
	u_int	 i, top, bottom;

	/* Scrolling is rarer than drawing, as in a game. */
	static const int weights[] = { 0, 0, 0, 1, 1, 1, 1, 2, 3, 3, 4, 4, 5,
	    6, 7, 8, 8, 1, 0, 4 };

	switch (weights[chaos_rand(c, nitems(weights))]) {
	case 0:		/* coloured text where the cursor is */
		chaos_pen(c);
		chaos_words(c);
		break;
	case 1:		/* cursor moves */
		chaos_add(c, "\033[%u;%uH", 1 + chaos_rand(c, c->rows),
		    1 + chaos_rand(c, c->cols));
		chaos_pen(c);
		chaos_words(c);
		if (chaos_rand(c, 2) == 0)
			chaos_add(c, "\033[%uA\033[%uC", chaos_rand(c, 3),
			    chaos_rand(c, 9));
		break;
	case 2:		/* a scrolling region, scrolled both ways */
		top = 1 + chaos_rand(c, (u_int)c->rows / 2);
		bottom = top + 1 + chaos_rand(c, (u_int)c->rows - top);
		chaos_add(c, "\033[%u;%ur\033[%u;1H", top, bottom, bottom);
		for (i = 0; i < 3 + chaos_rand(c, 5); i++) {
			chaos_pen(c);
			chaos_words(c);
			chaos_add(c, "\r\n");
		}
		chaos_add(c, "\033[%u;1H\033M\033M\033[r", top);
		break;
	case 3:		/* the line-drawing set, by designation and by shift */
		chaos_add(c, "\033[%u;%uH\033(0lqqqqk\033(B x \033)0\016x"
		    "tqnqu\017\033)B", 1 + chaos_rand(c, c->rows),
		    1 + chaos_rand(c, c->cols));
		break;
	case 4:		/* erasing with a background */
		chaos_add(c, "\033[%u;%uH\033[4%um", 1 + chaos_rand(c, c->rows),
		    1 + chaos_rand(c, c->cols), chaos_rand(c, 8));
		switch (chaos_rand(c, 4)) {
		case 0:
			chaos_add(c, "\033[K");
			break;
		case 1:
			chaos_add(c, "\033[1K");
			break;
		case 2:
			chaos_add(c, "\033[%uX", 1 + chaos_rand(c, 20));
			break;
		case 3:
			chaos_add(c, "\033[J");
			break;
		}
		break;
	case 5:		/* inserting and deleting */
		chaos_add(c, "\033[%u;%uH", 1 + chaos_rand(c, c->rows),
		    1 + chaos_rand(c, c->cols));
		switch (chaos_rand(c, 4)) {
		case 0:
			chaos_add(c, "\033[%uL", 1 + chaos_rand(c, 3));
			break;
		case 1:
			chaos_add(c, "\033[%uM", 1 + chaos_rand(c, 3));
			break;
		case 2:
			chaos_add(c, "\033[%u@", 1 + chaos_rand(c, 5));
			break;
		case 3:
			chaos_add(c, "\033[%uP", 1 + chaos_rand(c, 5));
			break;
		}
		break;
	case 6:		/* the alternate screen, and back */
		chaos_add(c, "\033[?1049h");
		chaos_pen(c);
		chaos_words(c);
		chaos_add(c, "\033[?1049l");
		break;
	case 7:		/* lines that scroll the whole screen */
		chaos_add(c, "\033[%u;1H", c->rows);
		for (i = 0; i < 1 + chaos_rand(c, 4); i++) {
			chaos_pen(c);
			chaos_words(c);
			chaos_add(c, "\r\n");
		}
		break;
	case 8:		/* tabs, backspaces, a clear now and then */
		chaos_add(c, "\t%s\b\bok\r", chaos_rand(c, 2) ? "x" : "yz");
		if (chaos_rand(c, 20) == 0)
			chaos_add(c, "\033[0m\033[H\033[2J");
		break;
	}
}

/* Output until total bytes have been written. */
static void
chaos_run(struct chaos *c, uint64_t total)
{
	uint64_t	 done = 0;

	while (done < total) {
		chaos_step(c);
		if (c->len > sizeof c->buf / 2) {
			done += c->len;
			chaos_flush(c);
		}
	}
	done += c->len;
	chaos_flush(c);
}

/* The terminal's size now. */
static void
chaos_size(struct chaos *c)
{
	struct winsize	 ws;

	c->cols = 80;
	c->rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		c->cols = ws.ws_col;
		c->rows = ws.ws_row;
	}
}

/* Raw mode, so that one key is read at once. */
static void
raw_mode(void)
{
	struct termios	 t;

	if (tcgetattr(STDIN_FILENO, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
}

/* The chaos game: see the top of the file. */
static int
chaos_main(int argc, char **argv)
{
	struct chaos	 c;
	const char	*lc;
	uint64_t	 total = strtoull(argv[2], NULL, 10) * 1024 * 1024;
	char		 key;

	memset(&c, 0, sizeof c);
	c.seed = 42;
	lc = getenv("LC_ALL") != NULL ? getenv("LC_ALL") : getenv("LANG");
	c.utf8 = lc != NULL && (strstr(lc, "UTF-8") != NULL ||
	    strstr(lc, "utf8") != NULL);
	raw_mode();
	chaos_size(&c);
	chaos_run(&c, total / 2);
	chaos_add(&c, "\033[0m\033[r\033(B\017\033[H\033[2Jchaos: resize me, "
	    "then press a key\r\n");
	chaos_flush(&c);
	if (read(STDIN_FILENO, &key, 1) != 1)
		return 0;
	chaos_size(&c);
	chaos_run(&c, total - total / 2);
	chaos_add(&c, "\033[?1049l\033[r\033(B\033)B\017\033[0m\033[?7h"
	    "\033[?25h\033[H\033[2J");
	if (argc > 3) {
		chaos_flush(&c);
		execv(argv[3], argv + 3);
		fprintf(stderr, "exec %s: %s\r\n", argv[3], strerror(errno));
		return 1;
	}
	chaos_add(&c, "chaos done: %dx%d\r\n", c.cols, c.rows);
	chaos_flush(&c);
	while (read(STDIN_FILENO, &key, 1) == 1 && key != 'q')
		;
	return 0;
}

int
main(int argc, char **argv)
{
	char			 buf[4096], key;
	volatile unsigned long	 spin = 0;
	size_t			 mb;
	char			*p;

	if (argc == 3 && strcmp(argv[1], "alloc") == 0) {
		mb = (size_t)strtoul(argv[2], NULL, 10);
		printf("ready\r\n");
		fflush(stdout);
		if ((p = malloc(mb * 1024 * 1024)) == NULL)
			printf("allocation of %zu MB failed: %s\r\n", mb,
			    strerror(errno));
		else {
			memset(p, 1, mb * 1024 * 1024);
			printf("allocated %zu MB\r\n", mb);
		}
		fflush(stdout);
		wait_for_q();
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "spew") == 0) {
		memset(buf, 'x', sizeof buf);
		printf("ready\r\n");
		fflush(stdout);
		for (;;) {
			if (write(STDOUT_FILENO, buf, sizeof buf) < 0 &&
			    errno != EINTR)
				return 0;
		}
	}
	if (argc == 2 && strcmp(argv[1], "burn") == 0) {
		printf("ready\r\n");
		fflush(stdout);
		for (;;)
			spin++;
	}
	if (argc >= 3 && strcmp(argv[1], "chaos") == 0)
		return chaos_main(argc, argv);
	if (argc == 2 && strcmp(argv[1], "box") == 0) {
		raw_mode();
		/*
		 * As curses draws it: only the lines in the set. And a
		 * title, which is the player's terminal's business only;
		 * t sets another.
		 */
		printf("\033]2;dg-title-from-game\007\033[H\033[2J"
		    "\033(0lqqqqk\033(B\r\n\033(0x\033(B    \033(0x\033(B\r\n"
		    "\033(0mqqqqj\033(B box\r\n");
		fflush(stdout);
		while (read(STDIN_FILENO, &key, 1) == 1 && key != 'q') {
			if (key == 't') {
				printf("\033]2;dg-title-again\007titled\r\n");
				fflush(stdout);
			}
		}
		return 0;
	}
	fprintf(stderr, "usage: dg-testgame alloc MB | spew | burn | "
	    "chaos MB [PROGRAM ARGS...] | box\n");
	return EXIT_USAGE;
}
