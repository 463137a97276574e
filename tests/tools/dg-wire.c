/*
 * dg-wire: speak raw frames to dg-broker, for the protocol tests.
 *
 *   dg-wire SOCKET [-t MS] [-j JSON | -x HEX | -c | -w FILE]...
 *
 * Each -j sends JSON as a control frame, -x sends raw bytes given in hex,
 * -c reads one frame and prints it, -w waits (up to MS) until FILE
 * exists, so that a test can act between two steps. After the last argument, frames are
 * read and printed one per line until the broker closes the connection
 * ("EOF") or nothing arrives for MS milliseconds ("TIMEOUT").
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dungeongate.h"
#include "proto.h"

static __dead void
usage(void)
{
	fprintf(stderr, "usage: dg-wire SOCKET [-t MS] [-j JSON | -x HEX | "
	    "-c | -w FILE]...\n");
	exit(EXIT_USAGE);
}

/* Send a hex string's bytes. */
static int
send_hex(int fd, const char *hex)
{
	size_t	 len = strlen(hex), i;
	u_char	*buf;
	u_int	 v;
	int	 rc;

	if (len % 2 != 0)
		usage();
	buf = xmalloc(len / 2 + 1);
	for (i = 0; i < len / 2; i++) {
		if (!isxdigit((u_char)hex[2 * i]) ||
		    !isxdigit((u_char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			usage();
		buf[i] = (u_char)v;
	}
	rc = util_write_all(fd, buf, len / 2);
	free(buf);
	return rc;
}

/* Send text as one JSON frame without checking it: tests send junk. */
static int
send_json(int fd, const char *json)
{
	uint8_t	 hdr[PROTO_HEADER_SIZE];
	size_t	 len = strlen(json);

	proto_header_encode(hdr, PROTO_FRAME_JSON, (uint32_t)len);
	if (util_write_all(fd, hdr, sizeof hdr) != 0)
		return -1;
	return util_write_all(fd, json, len);
}

/* Read one frame and print it; 0, or 1 at EOF, 2 at timeout. */
static int
read_one(int fd, int timeout)
{
	json_t		*msg;
	enum proto_msg	 type;
	char		*cause, *text;

	if (proto_read(fd, timeout, PROTO_MAX_FROM_BROKER, PROTO_FROM_BROKER,
	    &msg, &type, &cause) != 0) {
		if (strcmp(cause, "timed out") == 0) {
			printf("TIMEOUT\n");
			free(cause);
			return 2;
		}
		if (strcmp(cause, "connection closed") == 0 ||
		    strstr(cause, "reset") != NULL)
			printf("EOF\n");
		else
			printf("ERROR %s\n", cause);
		free(cause);
		return 1;
	}
	text = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
	printf("%s\n", text);
	free(text);
	json_decref(msg);
	fflush(stdout);
	return 0;
}

/* Wait until a file exists; 0, or 2 (printing TIMEOUT) after timeout ms. */
static int
wait_file(const char *path, int timeout)
{
	int	 waited = 0;

	while (access(path, F_OK) != 0) {
		if (waited >= timeout) {
			printf("TIMEOUT\n");
			return 2;
		}
		usleep(10 * 1000);
		waited += 10;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un	 sun;
	int			 fd, ch, timeout = 3000;

	if (argc < 2)
		usage();
	/* A broker that refuses closes at once: read its answer anyway. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(argv[1]) >= sizeof sun.sun_path)
		usage();
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		printf("CONNECT %s\n", strerror(errno));
		return 1;
	}
	optind = 2;
	while ((ch = getopt(argc, argv, "t:j:x:cw:")) != -1) {
		switch (ch) {
		case 't':
			timeout = atoi(optarg);
			break;
		case 'j':
			if (send_json(fd, optarg) != 0)
				printf("SEND %s\n", strerror(errno));
			break;
		case 'x':
			if (send_hex(fd, optarg) != 0)
				printf("SEND %s\n", strerror(errno));
			break;
		case 'c':
			if (read_one(fd, timeout) != 0)
				return 0;
			break;
		case 'w':
			if (wait_file(optarg, timeout) != 0)
				return 0;
			break;
		default:
			usage();
		}
	}
	while (read_one(fd, timeout) == 0)
		;
	close(fd);
	return 0;
}
