/*
 * Small helpers shared by both programs: clocks and random identifiers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"

/* Milliseconds on the monotonic clock, for deadlines and durations. */
int64_t
util_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds since the epoch, for times shown to people. */
int64_t
util_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Make an unguessable identifier such as t-8f3a... into buf. */
void
util_random_id(char prefix, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t		 raw[8];
	size_t		 off = 0;
	ssize_t		 n;
	u_int		 i;

	if (len < ID_LEN)
		fatalx("util_random_id: buffer too small");
	while (off < sizeof raw) {
		n = getrandom(raw + off, sizeof raw - off, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			fatal("getrandom");
		off += (size_t)n;
	}
	buf[0] = prefix;
	buf[1] = '-';
	for (i = 0; i < sizeof raw; i++) {
		buf[2 + 2 * i] = hex[raw[i] >> 4];
		buf[3 + 2 * i] = hex[raw[i] & 0xf];
	}
	buf[2 + 2 * sizeof raw] = '\0';
}
