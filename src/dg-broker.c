/*
 * dg-broker: the DungeonGate daemon, and its admin commands.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

/* How long an admin command waits for the broker's answer. */
#define ADMIN_TIMEOUT_MS	10000

static __dead void
usage(void)
{
	fprintf(stderr,
	    "usage: dg-broker [-D] [-f FILE]\n"
	    "       dg-broker --test-config [-f FILE]\n"
	    "       dg-broker --check [-f FILE]\n"
	    "       dg-broker --status [-f FILE]\n"
	    "       dg-broker --drain [-f FILE]\n");
	exit(EXIT_USAGE);
}

/* Connect to the running broker and say hello as an admin tool. */
static int
admin_connect(const struct config *cfg, char **cause)
{
	struct sockaddr_un	 sun;
	json_t			*hello;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", cfg->broker_socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		xasprintf(cause, "connect %s: %s", cfg->broker_socket,
		    strerror(errno));
		close(fd);
		return -1;
	}
	hello = json_pack("{s:s, s:i, s:s}", "type", "hello", "version",
	    PROTO_VERSION, "client", "admin");
	if (proto_write(fd, hello, cause) != 0) {
		json_decref(hello);
		close(fd);
		return -1;
	}
	json_decref(hello);
	return fd;
}

/* Send one admin request and wait for its answer. */
static int
admin_request(const struct config *cfg, const char *type, json_t **reply,
    enum proto_msg *rtype, char **cause)
{
	json_t	*req;
	int	 fd, rc;

	if ((fd = admin_connect(cfg, cause)) == -1)
		return -1;
	req = json_pack("{s:s}", "type", type);
	rc = proto_write(fd, req, cause);
	json_decref(req);
	if (rc == 0)
		rc = proto_read(fd, ADMIN_TIMEOUT_MS, PROTO_MAX_FROM_BROKER,
		    PROTO_FROM_BROKER, reply, rtype, cause);
	close(fd);
	return rc;
}

/*
 * --check: one line per component; 0 healthy, 1 degraded, 2 otherwise.
 * A file with errors on disk is reported too: the running broker keeps
 * its configuration, but a reload or restart would fail.
 */
static int
cmd_check(const struct config *cfg, const char *errors)
{
	json_t		*reply, *comp;
	enum proto_msg	 type;
	const char	*status, *name, *cstatus;
	const char	*detail = "unexpected reply";
	char		*cause;
	size_t		 i;

	if (admin_request(cfg, "check", &reply, &type, &cause) != 0) {
		printf("broker: unreachable (%s)\n", cause);
		free(cause);
		return 2;
	}
	if (type != MSG_HEALTH) {
		json_unpack(reply, "{s:s}", "message", &detail);
		printf("broker: unhealthy (%s)\n", detail);
		json_decref(reply);
		return 2;
	}
	json_unpack(reply, "{s:s}", "status", &status);
	json_array_foreach(json_object_get(reply, "components"), i, comp) {
		json_unpack(comp, "{s:s, s:s, s:s}", "name", &name, "status",
		    &cstatus, "detail", &detail);
		printf("%s: %s (%s)\n", name, cstatus, detail);
	}
	i = strcmp(status, "healthy") == 0 ? 0 :
	    strcmp(status, "degraded") == 0 ? 1 : 2;
	json_decref(reply);
	if (errors != NULL) {
		printf("config: degraded (%s has errors; a reload or restart "
		    "would fail)\n", cfg->path);
		if (i == 0)
			i = 1;
	}
	return (int)i;
}

/* --status: the broker's tables as JSON. */
static int
cmd_status(const struct config *cfg)
{
	json_t		*reply;
	enum proto_msg	 type;
	const char	*message = "unexpected reply";
	char		*cause;

	if (admin_request(cfg, "status", &reply, &type, &cause) != 0) {
		fprintf(stderr, "dg-broker: %s\n", cause);
		free(cause);
		return 1;
	}
	if (type != MSG_STATUS_REPLY) {
		json_unpack(reply, "{s:s}", "message", &message);
		fprintf(stderr, "dg-broker: %s\n", message);
		json_decref(reply);
		return 1;
	}
	json_dumpf(json_object_get(reply, "status"), stdout,
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("\n");
	json_decref(reply);
	return 0;
}

/* --drain: stop admitting, let sessions finish, exit after drain_timeout. */
static int
cmd_drain(const struct config *cfg)
{
	json_t		*reply;
	enum proto_msg	 type;
	const char	*message = "unexpected reply";
	json_int_t	 sessions, seconds;
	char		*cause;

	if (admin_request(cfg, "drain", &reply, &type, &cause) != 0) {
		fprintf(stderr, "dg-broker: %s\n", cause);
		free(cause);
		return 1;
	}
	if (type != MSG_DRAINING || json_unpack(reply, "{s:I, s:I}",
	    "sessions", &sessions, "seconds", &seconds) != 0) {
		json_unpack(reply, "{s:s}", "message", &message);
		fprintf(stderr, "dg-broker: %s\n", message);
		json_decref(reply);
		return 1;
	}
	printf("draining: %lld session%s left; the broker stops within %lld s\n",
	    (long long)sessions, sessions == 1 ? "" : "s", (long long)seconds);
	json_decref(reply);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "test-config", no_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'c' },
		{ "status", no_argument, NULL, 's' },
		{ "drain", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct config	*cfg, *strict;
	const char	*path = DG_DEFAULT_CONFIG;
	char		*cause, *abspath;
	int		 ch, foreground = 0, mode = 0;

	log_open("dg-broker", LOG_LEVEL_INFO, LOG_TO_STDERR);
	while ((ch = getopt_long(argc, argv, "Df:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 't':
		case 'c':
		case 's':
		case 'd':
			if (mode != 0)
				usage();
			mode = ch;
			break;
		case 'V':
			printf("dg-broker %s (protocol %d)\n", PACKAGE_VERSION,
			    PROTO_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/*
	 * The admin commands need only the socket, read leniently; --check
	 * also says whether the whole file would load.
	 */
	if (mode == 'c' || mode == 's' || mode == 'd') {
		cfg = config_load_session(path, &cause);
		/* --check prints every error of the file, these among them. */
		if (cause != NULL && mode != 'c')
			fprintf(stderr, "%s\n", cause);
		free(cause);
		if (mode == 'c') {
			if ((strict = config_load(path, &cause)) == NULL)
				fprintf(stderr, "%s\n", cause);
			config_free(strict);
			ch = cmd_check(cfg, cause);
			free(cause);
		} else
			ch = mode == 's' ? cmd_status(cfg) : cmd_drain(cfg);
		config_free(cfg);
		return ch;
	}
	if ((cfg = config_load(path, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return EXIT_CONFIG;
	}
	if (mode == 't') {
		config_print(cfg, stdout);
		config_free(cfg);
		return 0;
	}
	log_set_level(cfg->broker_log_level);
	/* Reloads must find the file after daemon(3) moves to /. */
	if ((abspath = realpath(path, NULL)) == NULL)
		fatal("realpath %s", path);
	ch = broker_main(cfg, abspath, foreground);
	free(abspath);
	return ch;
}
