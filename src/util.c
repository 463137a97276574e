/*
 * Small helpers shared by both programs: clocks and random identifiers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
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

/* A delay in milliseconds as a timeval for a timer; negative is now. */
struct timeval
util_timeval_ms(int64_t ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
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

/*
 * Is s well-formed UTF-8 text without control characters (C0, DEL or
 * C1)? Text that passes can be put in JSON and shown on a terminal.
 */
int
util_valid_text(const char *s)
{
	const u_char	*p = (const u_char *)s;
	uint32_t	 cp;
	u_int		 n, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			n = 1;
			cp = *p & 0x1f;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
			cp = *p & 0x0f;
		} else if ((*p & 0xf8) == 0xf0) {
			n = 3;
			cp = *p & 0x07;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode, C1 controls. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n + 1;
	}
	return 1;
}
