/*
 * dg-ttyrec: look into ttyrec files, for the recording tests.
 *
 *   dg-ttyrec check FILE        every record whole, times never going
 *                               back; prints "records N bytes B first S
 *                               last S" (seconds)
 *   dg-ttyrec payload FILE      the records' bytes, headers left out
 *   dg-ttyrec contains BIG PART is PART's content all in BIG, in one
 *                               piece? exit 0 if so, 1 if not
 *
 * FILE may be gzip-compressed (zlib reads both).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "dungeongate.h"

/* Read a whole file (gzip or not) into memory. */
static u_char *
read_all(const char *path, size_t *lenp)
{
	gzFile	 f;
	u_char	*buf = NULL;
	size_t	 len = 0, size = 0;
	int	 n;

	if ((f = gzopen(path, "rb")) == NULL) {
		fprintf(stderr, "dg-ttyrec: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (;;) {
		if (size - len < 65536) {
			size = size * 2 + 65536;
			buf = xreallocarray(buf, 1, size);
		}
		if ((n = gzread(f, buf + len, (unsigned)(size - len))) <= 0)
			break;
		len += (size_t)n;
	}
	gzclose(f);
	*lenp = len;
	return buf;
}

/* A little-endian 32-bit number. */
static uint32_t
le32(const u_char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Walk the records: check them, and write their bytes out if asked. */
static int
walk(const char *path, FILE *out)
{
	u_char		*buf;
	size_t		 len, off = 0, records = 0, bytes = 0;
	uint64_t	 t, last = 0, first = 0;
	uint32_t	 n;

	buf = read_all(path, &len);
	while (off < len) {
		if (len - off < 12) {
			fprintf(stderr, "dg-ttyrec: %s: a header cut short at "
			    "%zu\n", path, off);
			return 1;
		}
		t = (uint64_t)le32(buf + off) * 1000000 + le32(buf + off + 4);
		n = le32(buf + off + 8);
		if (le32(buf + off + 4) >= 1000000 || n > len - off - 12) {
			fprintf(stderr, "dg-ttyrec: %s: a bad record at %zu\n",
			    path, off);
			return 1;
		}
		if (records > 0 && t < last) {
			fprintf(stderr, "dg-ttyrec: %s: time goes back at %zu\n",
			    path, off);
			return 1;
		}
		if (records == 0)
			first = t;
		last = t;
		if (out != NULL)
			fwrite(buf + off + 12, 1, n, out);
		records++;
		bytes += n;
		off += 12 + n;
	}
	if (out == NULL)
		printf("records %zu bytes %zu first %llu last %llu\n", records,
		    bytes, (unsigned long long)(first / 1000000),
		    (unsigned long long)(last / 1000000));
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	u_char	*big, *part;
	size_t	 blen, plen;
	int	 found;

	if (argc == 3 && strcmp(argv[1], "check") == 0)
		return walk(argv[2], NULL);
	if (argc == 3 && strcmp(argv[1], "payload") == 0)
		return walk(argv[2], stdout);
	if (argc == 4 && strcmp(argv[1], "contains") == 0) {
		big = read_all(argv[2], &blen);
		part = read_all(argv[3], &plen);
		found = plen > 0 && memmem(big, blen, part, plen) != NULL;
		free(big);
		free(part);
		return found ? 0 : 1;
	}
	fprintf(stderr, "usage: dg-ttyrec check FILE | payload FILE | "
	    "contains BIG PART\n");
	return EXIT_USAGE;
}
