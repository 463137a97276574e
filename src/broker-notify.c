/*
 * The broker and systemd: the listening socket dg-broker.socket passes
 * (sd_listen_fds), and what the service manager hears (sd_notify):
 * READY=1 once the broker serves, RELOADING=1 and READY=1 around a
 * reload, STOPPING=1, a one-line STATUS=, and WATCHDOG=1 from the event
 * loop when the unit sets WatchdogSec. Without systemd (no NOTIFY_SOCKET,
 * no LISTEN_FDS) every one of these is a no-op.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "broker.h"

/* How often STATUS= is refreshed when no watchdog sets the pace (s). */
#define NOTIFY_STATUS_INTERVAL	10

/*
 * The socket systemd passed, or -1 when there is none. It must be the
 * one listening stream socket at the configured path: sessions find the
 * broker by [broker] socket, so a unit that listens elsewhere is an
 * error the admin must fix, not something to serve on.
 */
int
notify_listen_fd(const char *path)
{
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof sun;
	int			 n, fd, flags;

	if ((n = sd_listen_fds(1)) < 0)
		fatalx("sd_listen_fds: %s", strerror(-n));
	if (n == 0)
		return -1;
	if (n != 1)
		fatalx("systemd passed %d sockets; dg-broker.socket must "
		    "listen on one", n);
	fd = SD_LISTEN_FDS_START;
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
		fatalx("the socket systemd passed is not a listening unix "
		    "stream socket");
	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) != 0)
		fatal("getsockname");
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	if (strcmp(sun.sun_path, path) != 0)
		fatalx("dg-broker.socket listens on %s but [broker] socket is "
		    "%s; make them the same", sun.sun_path, path);
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("fcntl");
	return fd;
}

/* Tell the service manager something (nothing happens without one). */
static void
notify_send(const char *what)
{
	int	 rc;

	if ((rc = sd_notify(0, what)) < 0)
		log_debug("sd_notify failed", "error=%s",
		    log_quote(strerror(-rc)));
}

/* The one-line summary systemctl status shows. */
static char *
notify_summary(struct broker *b)
{
	char	*s;

	xasprintf(&s, "%s%u of %u sessions, %u queued, %u games",
	    b->draining ? "draining: " : "", b->pool.used, b->pool.max,
	    b->queue.size, b->leases.count);
	return s;
}

/* Send STATUS= when the summary has changed (and always with force). */
void
notify_status(struct broker *b, int force)
{
	char	*s, *msg;

	if (!b->notify)
		return;
	s = notify_summary(b);
	if (!force && b->notify_last != NULL &&
	    strcmp(s, b->notify_last) == 0) {
		free(s);
		return;
	}
	xasprintf(&msg, "STATUS=%s", s);
	notify_send(msg);
	free(msg);
	free(b->notify_last);
	b->notify_last = s;
}

/* The watchdog's beat (and the summary's refresh), from the loop. */
static void
notify_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;

	if (b->notify_watchdog)
		notify_send("WATCHDOG=1");
	notify_status(b, 0);
}

/*
 * The broker serves: READY=1 with the summary, and the beat that keeps
 * the watchdog fed at half its interval, or else refreshes the summary.
 */
void
notify_ready(struct broker *b)
{
	struct timeval	 tv = { NOTIFY_STATUS_INTERVAL, 0 };
	uint64_t	 usec = 0;
	char		*s, *msg;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	b->notify = 1;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		b->notify_watchdog = 1;
		tv.tv_sec = (time_t)(usec / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	}
	b->notify_ev = event_new(b->base, -1, EV_PERSIST, notify_tick_cb, b);
	event_add(b->notify_ev, &tv);
	s = notify_summary(b);
	xasprintf(&msg, "READY=1\nSTATUS=%s", s);
	notify_send(msg);
	free(msg);
	free(b->notify_last);
	b->notify_last = s;
	log_debug("told systemd the broker is ready", "watchdog_usec=%llu",
	    (unsigned long long)usec);
}

/* A reload has started. */
void
notify_reloading(struct broker *b)
{
	if (b->notify)
		notify_send("RELOADING=1\nSTATUS=reloading the configuration");
}

/* A reload has ended, either way: the broker serves again. */
void
notify_reloaded(struct broker *b, int ok)
{
	char	*s, *msg;

	if (!b->notify)
		return;
	s = notify_summary(b);
	xasprintf(&msg, "READY=1\nSTATUS=%s%s", ok ? "" :
	    "reload failed, running configuration kept; ", s);
	notify_send(msg);
	free(msg);
	free(b->notify_last);
	b->notify_last = s;
}

/* The broker is stopping. */
void
notify_stopping(struct broker *b)
{
	if (b->notify)
		notify_send("STOPPING=1\nSTATUS=stopping");
}

/* Free what notify_ready made. */
void
notify_free(struct broker *b)
{
	if (b->notify_ev != NULL)
		event_free(b->notify_ev);
	b->notify_ev = NULL;
	free(b->notify_last);
	b->notify_last = NULL;
}
