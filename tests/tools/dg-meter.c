/*
 * dg-meter: how fast bytes arrive on standard input.
 *
 *   dg-meter SKIP_MS MEASURE_MS
 *
 * Reads and discards for SKIP_MS, then counts for MEASURE_MS and prints
 * "bytes=N seconds=S rate=R" (R in bytes per second), then exits.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dungeongate.h"

int
main(int argc, char **argv)
{
	struct pollfd	 pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char		 buf[65536];
	int64_t		 start, skip, measure, now, begun = -1;
	uint64_t	 bytes = 0;
	ssize_t		 n;

	if (argc != 3) {
		fprintf(stderr, "usage: dg-meter SKIP_MS MEASURE_MS\n");
		return EXIT_USAGE;
	}
	skip = strtoll(argv[1], NULL, 10);
	measure = strtoll(argv[2], NULL, 10);
	start = util_now_ms();
	for (;;) {
		now = util_now_ms();
		if (begun == -1 && now - start >= skip)
			begun = now;
		if (begun != -1 && now - begun >= measure)
			break;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (begun != -1)
			bytes += (uint64_t)n;
	}
	if (begun == -1)
		begun = now;
	printf("bytes=%llu seconds=%.3f rate=%.0f\n", (unsigned long long)bytes,
	    (double)(now - begun) / 1000.0, (double)bytes * 1000.0 /
	    (double)(now - begun > 0 ? now - begun : 1));
	return 0;
}
