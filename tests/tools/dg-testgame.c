/*
 * dg-testgame: a "game" for the end-to-end tests of the limits.
 *
 *   dg-testgame alloc MB   try to allocate MB megabytes and say whether it
 *                          worked, then wait for q
 *   dg-testgame spew       write to the terminal as fast as it will take
 *   dg-testgame burn       spin on the CPU
 *
 * Each says "ready" first so a test knows it runs.
 */
#include "config.h"

#include <errno.h>
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

int
main(int argc, char **argv)
{
	char			 buf[4096];
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
	fprintf(stderr, "usage: dg-testgame alloc MB | spew | burn\n");
	return EXIT_USAGE;
}
