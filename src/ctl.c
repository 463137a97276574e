/*
 * The command line's side of the admin requests: dg-broker --check,
 * --status and --drain connect to the running broker's socket, ask,
 * and print the answer.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

/* How long an admin command waits for the broker's answer. */
#define CTL_TIMEOUT_MS	10000

/* Connect to the running broker and say hello as an admin tool. */
static int
ctl_connect(const struct config *cfg, char **cause)
{
	struct sockaddr_un	 sun;
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
	return fd;
}

/*
 * Send one admin request and wait for its answer. A broker that refuses
 * the connection says why and closes, perhaps before our request went
 * out: whatever the writes did, read its answer.
 */
static int
ctl_request(const struct config *cfg, json_t *req, json_t **reply,
    enum proto_msg *rtype, char **cause)
{
	json_t	*hello;
	char	*wcause = NULL;
	int	 fd, rc, wrc;

	if ((fd = ctl_connect(cfg, cause)) == -1) {
		json_decref(req);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	hello = json_pack("{s:s, s:i, s:s}", "type", "hello", "version",
	    PROTO_VERSION, "client", "admin");
	wrc = proto_write(fd, hello, &wcause);
	json_decref(hello);
	if (wrc == 0)
		wrc = proto_write(fd, req, &wcause);
	json_decref(req);
	rc = proto_read(fd, CTL_TIMEOUT_MS, PROTO_MAX_FROM_BROKER,
	    PROTO_FROM_BROKER, reply, rtype, cause);
	if (rc != 0 && wrc != 0) {
		free(*cause);
		*cause = wcause;
		wcause = NULL;
	}
	free(wcause);
	close(fd);
	return rc;
}

/*
 * --check: one line per component; 0 healthy, 1 degraded, 2 otherwise.
 * A file with errors on disk is reported too: the running broker keeps
 * its configuration, but a reload or restart would fail.
 */
int
ctl_check(const struct config *cfg, const char *errors)
{
	json_t		*reply, *comp;
	enum proto_msg	 type;
	const char	*status, *name, *cstatus, *reason = NULL;
	const char	*detail = "unexpected reply";
	char		*cause;
	size_t		 i;

	if (ctl_request(cfg, json_pack("{s:s}", "type", "check"), &reply, &type, &cause) != 0) {
		printf("broker: unreachable (%s)\n", cause);
		free(cause);
		return 2;
	}
	if (type != MSG_HEALTH) {
		json_unpack(reply, "{s:s, s:s}", "message", &detail, "reason",
		    &reason);
		/*
		 * Refused for asking too often, or for want of room to
		 * answer: health unknown.
		 */
		printf("broker: %s (%s)\n", reason != NULL &&
		    (strcmp(reason, REASON_RATE_LIMITED) == 0 ||
		    strcmp(reason, REASON_BUSY) == 0) ? "unknown" :
		    "unhealthy", detail);
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
int
ctl_status(const struct config *cfg)
{
	json_t		*reply;
	enum proto_msg	 type;
	const char	*message = "unexpected reply";
	char		*cause;

	if (ctl_request(cfg, json_pack("{s:s}", "type", "status"), &reply, &type, &cause) != 0) {
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
int
ctl_drain(const struct config *cfg)
{
	json_t		*reply;
	enum proto_msg	 type;
	const char	*message = "unexpected reply";
	json_int_t	 sessions, seconds;
	char		*cause;

	if (ctl_request(cfg, json_pack("{s:s}", "type", "drain"), &reply, &type, &cause) != 0) {
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

/* --forget USER: drop the user's cached verdict of the auth service. */
int
ctl_forget(const struct config *cfg, const char *user)
{
	json_t		*reply;
	enum proto_msg	 type;
	const char	*message = "unexpected reply";
	json_int_t	 had;
	char		*cause;

	if (!util_valid_text(user) || strlen(user) > 64) {
		fprintf(stderr, "dg-broker: not a user name\n");
		return 1;
	}
	if (ctl_request(cfg, json_pack("{s:s, s:s}", "type", "forget", "user",
	    user), &reply, &type, &cause) != 0) {
		fprintf(stderr, "dg-broker: %s\n", cause);
		free(cause);
		return 1;
	}
	if (type != MSG_FORGOTTEN || json_unpack(reply, "{s:I}", "had",
	    &had) != 0) {
		json_unpack(reply, "{s:s}", "message", &message);
		fprintf(stderr, "dg-broker: %s\n", message);
		json_decref(reply);
		return 1;
	}
	if (had)
		printf("forgot the auth service's verdict on %s; their next "
		    "login asks it again\n", user);
	else
		printf("no verdict on %s was kept\n", user);
	json_decref(reply);
	return 0;
}
