/*
 * dg-broker's event loop: the listening socket, signals, reload and
 * shutdown. Per-connection work is in broker-client.c.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"

/*
 * Create the socket's directory if it is missing; one made by a broker
 * that drops root goes to its user, who must later remove the socket.
 */
static void
broker_make_dir(const char *path, const struct priv *pv)
{
	char	*dir, *p;

	dir = xstrdup(path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return;
	}
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			fatal("mkdir %s", dir);
		*p = '/';
	}
	if (mkdir(dir, 0755) == 0) {
		if (pv->drop && chown(dir, pv->uid, pv->gid) != 0)
			fatal("chown %s", dir);
	} else if (errno != EEXIST)
		fatal("mkdir %s", dir);
	free(dir);
}

/* A group's id, or (gid_t)-1; may block on NSS (startup or a worker). */
static gid_t
broker_group_id(const char *name)
{
	struct group	 gr, *grp = NULL;
	char		 buf[16384];

	if (getgrnam_r(name, &gr, buf, sizeof buf, &grp) != 0 || grp == NULL)
		return (gid_t)-1;
	return gr.gr_gid;
}

/*
 * Give the socket (at path) to a group so players can connect, and to
 * uid (or (uid_t)-1 to keep its owner). Once the broker has given up
 * root it can only give the socket to a group it is in.
 */
static void
broker_socket_chown(const char *path, uid_t uid, const char *group,
    gid_t gid)
{
	if (gid == (gid_t)-1) {
		log_warn("socket group does not exist; only root can connect",
		    "group=%s socket=%s", group, path);
		return;
	}
	if (chown(path, uid, gid) == 0)
		return;
	if (errno == EPERM)
		log_warn("cannot give the socket to its group: the broker's "
		    "user is not in it; it takes effect when the broker is "
		    "next started as root", "group=%s socket=%s", group,
		    path);
	else
		log_warn("cannot give the socket to its group",
		    "group=%s error=%s", group, log_quote(strerror(errno)));
}

/*
 * A socket systemd passed keeps the mode and group dg-broker.socket gave
 * it: say so when that group is not socket_group.
 */
static void
broker_socket_check(const char *path, const char *group)
{
	struct stat	 sb;
	gid_t		 gid = broker_group_id(group);

	if (stat(path, &sb) != 0)
		log_warn("cannot stat the socket systemd passed", "socket=%s "
		    "error=%s", path, log_quote(strerror(errno)));
	else if (gid != (gid_t)-1 && sb.st_gid != gid)
		log_warn("the socket's group is not socket_group; set "
		    "SocketGroup= in dg-broker.socket", "socket=%s group=%s",
		    path, group);
}

/*
 * Listen on the unix socket, mode 0660: the one systemd passed, or one
 * of our own. A socket left by a dead broker is replaced; one a live
 * broker answers on is not.
 */
static int
broker_listen(struct broker *b, const struct priv *pv)
{
	const struct config	*cfg = b->cfg;
	struct sockaddr_un	 sun;
	struct stat		 sb;
	mode_t			 mask;
	char			*tmp;
	int			 fd, probe;

	if ((fd = notify_listen_fd(cfg->broker_socket)) != -1) {
		b->socket_activated = 1;
		broker_socket_check(cfg->broker_socket,
		    cfg->broker_socket_group);
		log_info("listening on the socket systemd passed",
		    "socket=%s", cfg->broker_socket);
		return fd;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s",
	    cfg->broker_socket) >= sizeof sun.sun_path)
		fatalx("socket path too long: %s", cfg->broker_socket);
	broker_make_dir(cfg->broker_socket, pv);

	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe == -1)
		fatal("socket");
	if (connect(probe, (struct sockaddr *)&sun, sizeof sun) == 0)
		fatalx("another dg-broker is listening on %s",
		    cfg->broker_socket);
	close(probe);
	if (lstat(cfg->broker_socket, &sb) == 0) {
		/* Only ever remove a socket: a typo must not delete a file. */
		if (!S_ISSOCK(sb.st_mode))
			fatalx("%s exists and is not a socket",
			    cfg->broker_socket);
		if (unlink(cfg->broker_socket) != 0)
			fatal("unlink %s", cfg->broker_socket);
	}

	/*
	 * Bind under a temporary name, set mode and group, listen, then
	 * rename: the socket appears only when players can use it.
	 */
	xasprintf(&tmp, "%s.%ld", cfg->broker_socket, (long)getpid());
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s", tmp) >=
	    sizeof sun.sun_path)
		fatalx("socket path too long: %s", tmp);
	unlink(tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("socket");
	mask = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		fatal("bind %s", tmp);
	umask(mask);
	if (chmod(tmp, 0660) != 0)
		fatal("chmod %s", tmp);
	broker_socket_chown(tmp, pv->drop ? pv->uid : (uid_t)-1,
	    cfg->broker_socket_group,
	    broker_group_id(cfg->broker_socket_group));
	if (listen(fd, 128) != 0)
		fatal("listen");
	if (rename(tmp, cfg->broker_socket) != 0)
		fatal("rename %s", tmp);
	free(tmp);
	return fd;
}

/*
 * The descriptor budget: [limits] max_file_descriptors, within what the
 * process may open (the soft limit is raised towards it). Connections get
 * the budget less a reserve for the broker's own descriptors.
 */
void
broker_set_budget(struct broker *b)
{
	struct rlimit	 rl;
	rlim_t		 want = b->cfg->limits_max_file_descriptors;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		if (rl.rlim_cur < want) {
			rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur < want)
			want = rl.rlim_cur;
	}
	b->max_clients = want > 2 * BROKER_FD_RESERVE ?
	    (u_int)want - BROKER_FD_RESERVE : BROKER_FD_RESERVE;
	log_info("descriptor budget", "max_file_descriptors=%u connections=%u",
	    b->cfg->limits_max_file_descriptors, b->max_clients);
}

static void	broker_spare_open(struct broker *);

/* Accepting again after running out of descriptors. */
static void
broker_accept_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;

	broker_spare_open(b);
	if (!b->stopping)
		event_add(b->listen_ev, NULL);
}

/* Hold one descriptor back, to refuse with when the process has no more. */
static void
broker_spare_open(struct broker *b)
{
	if (b->spare_fd == -1)
		b->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/*
 * Out of descriptors (the kernel says so before it looks at the backlog):
 * give the spare up for a moment to take a waiting connection, tell it
 * why and close it, so that the player reads a sentence instead of
 * waiting in the backlog. Returns 1 when one was refused, 0 when none was
 * waiting, -1 when there is no spare or the kernel still says no.
 */
static int
broker_refuse_nofile(struct broker *b, int fd, int error)
{
	int	cfd, rc;

	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	/* Nothing waiting: keep the spare (a worker may want it meanwhile). */
	if (poll(&pfd, 1, 0) == 0)
		return 0;
	if (b->spare_fd == -1)
		return -1;
	close(b->spare_fd);
	b->spare_fd = -1;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd != -1) {
		log_warn("connection refused: out of descriptors",
		    "error=%s connections=%u", log_quote(strerror(error)),
		    b->nclients);
		admit_violation(b, V_FD_BUDGET);
		metrics_rejected(b, violation_name(V_FD_BUDGET));
		client_refuse_fd(cfd, BROKER_NOFILE_MESSAGE);
		rc = 1;
	} else if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
		rc = 0;
	else
		rc = -1;
	broker_spare_open(b);
	return rc;
}

/*
 * Has the process descriptors to spare beyond a new connection, for the
 * work its admission needs (the user database, a recording)? Asked of the
 * kernel, whose limit may be lower than the budget.
 */
static int
broker_fd_room(int cfd)
{
	int	fds[BROKER_FD_ROOM], i, n, ok = 1;

	for (n = 0; n < BROKER_FD_ROOM; n++) {
		if ((fds[n] = fcntl(cfd, F_DUPFD_CLOEXEC, 0)) == -1) {
			ok = 0;
			break;
		}
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return ok;
}

/* A connection refused once it has spoken, or after a moment. */
struct refusal {
	struct event	*ev;
	int		 fd;
};

/* The refused peer's hello is in (or it waited long enough): answer. */
static void
broker_refusal_cb(evutil_socket_t fd, short events, void *arg)
{
	struct refusal	*r = arg;

	client_refuse_fd(r->fd, BROKER_NOFILE_MESSAGE);
	event_free(r->ev);
	free(r);
}

/*
 * Refuse a connection for want of descriptors. The answer waits for the
 * peer's hello (a second at most): a peer that finds the socket closed
 * under its first write may never read what was said.
 */
static void
broker_refuse_later(struct broker *b, int cfd)
{
	struct refusal	*r;
	struct timeval	 tv = { 1, 0 };

	r = xcalloc(1, sizeof *r);
	r->fd = cfd;
	r->ev = event_new(b->base, cfd, EV_READ, broker_refusal_cb, r);
	if (r->ev == NULL || event_add(r->ev, &tv) != 0) {
		if (r->ev != NULL)
			event_free(r->ev);
		free(r);
		client_refuse_fd(cfd, BROKER_NOFILE_MESSAGE);
	}
}

/* A connection is waiting. */
static void
broker_accept_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;
	struct timeval	 tv = { BROKER_ACCEPT_PAUSE, 0 };
	int		 cfd, error;

	for (;;) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			error = errno;
			if (error == EAGAIN || error == EINTR ||
			    error == ECONNABORTED)
				return;
			if (error == EMFILE || error == ENFILE) {
				switch (broker_refuse_nofile(b, fd, error)) {
				case 1:
					continue;
				case 0:
					return;
				}
			}
			/*
			 * Out of descriptors, the spare too: the listener
			 * would fire again at once, so stop listening for a
			 * moment.
			 */
			log_error("accept failed; pausing", "error=%s "
			    "seconds=%d", log_quote(strerror(error)),
			    BROKER_ACCEPT_PAUSE);
			event_del(b->listen_ev);
			evtimer_add(b->accept_pause, &tv);
			return;
		}
		if (b->nclients >= b->max_clients) {
			log_warn("connection refused: descriptor budget spent",
			    "connections=%u max=%u", b->nclients,
			    b->max_clients);
			admit_violation(b, V_FD_BUDGET);
			metrics_rejected(b, violation_name(V_FD_BUDGET));
			client_refuse_fd(cfd, "DungeonGate is at its connection "
			    "limit; please try again in a moment.");
			continue;
		}
		if (!broker_fd_room(cfd)) {
			log_warn("connection refused: out of descriptors",
			    "error=%s connections=%u",
			    log_quote(strerror(EMFILE)), b->nclients);
			admit_violation(b, V_FD_BUDGET);
			metrics_rejected(b, violation_name(V_FD_BUDGET));
			broker_refuse_later(b, cfd);
			continue;
		}
		client_accept(b, cfd);
	}
}

/* A reload that a worker parsed: what it read, and who asked. */
struct reload {
	struct broker	*broker;
	char		*path;
	struct config	*cfg;
	char		*cause;
	uint64_t	 client;	/* 0: SIGHUP */
};

/* On a worker: read the file (disk I/O stays off the event loop). */
static void
broker_reload_run(void *arg)
{
	struct reload	*r = arg;

	r->cfg = config_load(r->path, &r->cause);
}

/*
 * The worker has let go of the file: another reload may start. (After a
 * timeout the reload has been answered already, but its config_load may
 * have gone on; two must never overlap.)
 */
static void
broker_reload_release(void *arg)
{
	struct reload	*r = arg;

	r->broker->reloading = 0;
	config_free(r->cfg);
	free(r->cause);
	free(r->path);
	free(r);
}

/* A group to give the socket to, looked up and applied on a worker. */
struct regroup {
	char	*path;
	char	*group;
};

/* On a worker: give the socket to its (new) group. NSS may block. */
static void
broker_regroup_run(void *arg)
{
	struct regroup	*rg = arg;

	broker_socket_chown(rg->path, (uid_t)-1, rg->group,
	    broker_group_id(rg->group));
}

/* Free a regroup job. */
static void
broker_regroup_free(void *arg)
{
	struct regroup	*rg = arg;

	free(rg->path);
	free(rg->group);
	free(rg);
}

/* The regroup job is done. */
static void
broker_regroup_done(void *arg, int timed_out)
{
	if (timed_out)
		log_warn("giving the socket to its group timed out", NULL);
	else
		broker_regroup_free(arg);
}

/* Give the socket to socket_group, on a worker. */
static void
broker_regroup(struct broker *b)
{
	struct regroup	*rg;

	if (b->socket_activated) {
		log_warn("socket_group changed; the socket is dg-broker.socket's: "
		    "set SocketGroup= there", "group=%s",
		    b->cfg->broker_socket_group);
		return;
	}
	rg = xcalloc(1, sizeof *rg);
	rg->path = xstrdup(b->cfg->broker_socket);
	rg->group = xstrdup(b->cfg->broker_socket_group);
	if (workers_submit(b->workers, JOB_SOCKET, CLASS_CRITICAL,
	    broker_regroup_run,
	    broker_regroup_done, broker_regroup_free, rg) != 0) {
		log_warn("cannot give the socket to its group now: workers "
		    "busy", "group=%s", rg->group);
		broker_regroup_free(rg);
	}
}

/* Back on the event loop: swap in the new configuration. */
static void
broker_reload_done(void *arg, int timed_out)
{
	struct reload	*r = arg;
	struct broker	*b = r->broker;
	struct config	*old = b->cfg;
	struct client	*c = NULL;
	json_t		*msg;

	if (r->client != 0 && (c = client_find(b, r->client)) != NULL)
		c->busy = 0;
	if (timed_out || r->cfg == NULL) {
		log_error("reload failed; keeping the running configuration",
		    "config=%s error=%s", log_quote(r->path),
		    log_quote(timed_out ? "timed out" : r->cause));
		metrics_reload(b, 0);
		if (c != NULL) {
			msg = json_pack("{s:s, s:s, s:s}", "type", "error",
			    "reason", REASON_RELOAD_FAILED, "message",
			    timed_out ? "reading the configuration timed out" :
			    r->cause);
			client_send(c, msg);
		}
		if (!timed_out)
			broker_reload_release(r);
		notify_reloaded(b, 0);
		return;
	}

	if (strcmp(old->broker_socket, r->cfg->broker_socket) != 0)
		log_warn("socket changed; it takes effect at restart",
		    "running=%s configured=%s", old->broker_socket,
		    r->cfg->broker_socket);
	free(r->cfg->broker_socket);
	r->cfg->broker_socket = xstrdup(old->broker_socket);
	if (strcmp(old->broker_user, r->cfg->broker_user) != 0)
		log_warn("user changed; it applies when the broker is next "
		    "started as root", "running=%s configured=%s",
		    old->broker_user, r->cfg->broker_user);
	if (strcmp(old->http_listen, r->cfg->http_listen) != 0)
		log_warn("http listen changed; it takes effect at restart",
		    "running=%s configured=%s", log_quote(old->http_listen),
		    log_quote(r->cfg->http_listen));
	free(r->cfg->http_listen);
	r->cfg->http_listen = xstrdup(old->http_listen);

	b->cfg = r->cfg;
	r->cfg = NULL;
	b->cfg_generation++;
	sample_request(b);
	log_set_level(b->cfg->broker_log_level);
	log_set_format(b->cfg->broker_log_format);
	pool_resize(&b->pool, config_max_connections(b->cfg));
	queue_configure(&b->queue, b->cfg->pool_queue_size,
	    b->cfg->pool_enable_prioritization);
	/* Names, homes and groups are asked again at each user's next login. */
	users_sweep(&b->users, util_now_ms(), 1);
	broker_set_budget(b);
	admit_reclass(b);
	admit_from_queue(b);
	share_push_all(b);
	workers_configure(b->workers, b->cfg->worker_pool_size,
	    b->cfg->worker_queue_size, b->cfg->worker_timeout);
	auth_configure(b);
	shed_configure(&b->shed, b->cfg->shed_enabled,
	    b->cfg->shed_cpu_threshold, b->cfg->shed_memory_threshold);
	if (strcmp(old->broker_socket_group, b->cfg->broker_socket_group) != 0)
		broker_regroup(b);
	config_free(old);
	metrics_reload(b, 1);
	log_info("configuration reloaded", "config=%s max_connections=%u "
	    "games=%u sessions=%u", log_quote(r->path), b->pool.max,
	    b->cfg->ngames, b->pool.used);
	if (c != NULL) {
		msg = json_pack("{s:s, s:s}", "type", "reloaded", "config",
		    r->path);
		client_send(c, msg);
	}
	broker_reload_release(r);
	notify_reloaded(b, 1);
}

/*
 * Re-read the configuration. Live sessions keep their tickets and games;
 * new bounds apply to what comes next.
 */
void
broker_reload(struct broker *b, struct client *c)
{
	struct reload	*r;
	json_t		*msg;

	if (b->reloading) {
		log_warn("reload refused: another is under way", NULL);
		if (c != NULL) {
			msg = json_pack("{s:s, s:s, s:s}", "type", "error",
			    "reason", REASON_BUSY, "message",
			    "a reload is already under way");
			client_send(c, msg);
		}
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->broker = b;
	r->path = xstrdup(b->config_path);
	r->client = c != NULL ? c->id : 0;
	if (workers_submit(b->workers, JOB_RELOAD, CLASS_CRITICAL,
	    broker_reload_run, broker_reload_done,
	    broker_reload_release, r) != 0) {
		log_error("reload refused: worker queue full", NULL);
		if (c != NULL) {
			msg = json_pack("{s:s, s:s, s:s}", "type", "error",
			    "reason", REASON_BUSY, "message",
			    "the broker is too busy to reload now");
			client_send(c, msg);
		}
		free(r->path);
		free(r);
		return;
	}
	b->reloading = 1;
	notify_reloading(b);
	if (c != NULL)
		c->busy = 1;
	log_info("reloading configuration", "config=%s", log_quote(r->path));
}

/* SIGHUP: reload. */
static void
broker_sighup_cb(evutil_socket_t sig, short events, void *arg)
{
	broker_reload(arg, NULL);
}

/*
 * Stop: no more connections, a last word to every peer, and out of the
 * loop once the words have had a moment to leave.
 */
static void
broker_stop(struct broker *b, const char *reason, const char *message)
{
	struct client	*c, *c1;
	struct timeval	 tv = { 0, 200 * 1000 };

	b->stopping = 1;
	notify_stopping(b);
	event_del(b->listen_ev);
	evtimer_del(b->accept_pause);
	TAILQ_FOREACH_SAFE(c, &b->clients, entry, c1)
		client_close(c, "bye", reason, message);
	event_base_loopexit(b->base, &tv);
}

/* Drained: every session is gone or drain_timeout has passed. */
static void
broker_drain_end_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;

	if (b->stopping)
		return;
	log_info("drained; stopping", "sessions=%u", b->pool.used);
	broker_stop(b, REASON_DRAINING, "DungeonGate is restarting for "
	    "maintenance; your game was told to save. Please come back in a "
	    "few minutes.");
}

/* While draining: leave as soon as the last session has. */
void
broker_drain_check(struct broker *b)
{
	struct timeval	 tv = { 0, 0 };

	if (b->draining && !b->stopping && b->pool.used == 0 &&
	    b->queue.size == 0)
		evtimer_add(b->drain_ev, &tv);
}

/*
 * Drain for maintenance: no one new comes in, the queue is told, live
 * sessions get a notice, and after drain_timeout the games left are hung
 * up (they save) and the broker exits.
 */
void
broker_drain(struct broker *b, struct client *admin)
{
	struct client	*c, *c1;
	struct timeval	 tv;
	char		*d, *notice;
	int64_t		 left;

	if (!b->draining) {
		b->draining = 1;
		b->drain_end = util_now_ms() +
		    (int64_t)b->cfg->pool_drain_timeout;
		d = config_format_duration(b->cfg->pool_drain_timeout);
		log_info("draining", "sessions=%u queued=%u timeout=%s",
		    b->pool.used, b->queue.size, d);
		xasprintf(&notice, "DungeonGate restarts for maintenance in "
		    "%s; your game will be saved then.", d);
		TAILQ_FOREACH_SAFE(c, &b->clients, entry, c1) {
			if (c->state == CLIENT_QUEUED)
				client_close(c, "refused", REASON_DRAINING,
				    "DungeonGate is restarting for maintenance; "
				    "please come back in a few minutes.");
			else if (c->state == CLIENT_SESSION)
				client_send(c, json_pack("{s:s, s:s}", "type",
				    "notice", "message", notice));
		}
		free(notice);
		free(d);
		tv = util_timeval_ms((int64_t)b->cfg->pool_drain_timeout);
		evtimer_add(b->drain_ev, &tv);
		notify_status(b, 1);
	}
	if (admin != NULL) {
		left = b->drain_end - util_now_ms();
		client_send(admin, json_pack("{s:s, s:i, s:i}", "type",
		    "draining", "sessions", (int)b->pool.used, "seconds",
		    (int)(left > 0 ? (left + 999) / 1000 : 0)));
	}
	broker_drain_check(b);
}

/* Once a minute: forget users whose policy lapsed and who are gone. */
static void
broker_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;

	users_sweep(&b->users, util_now_ms(), 0);
}

/* SIGTERM or SIGINT: tell every peer, then leave the loop. */
static void
broker_stop_cb(evutil_socket_t sig, short events, void *arg)
{
	struct broker	*b = arg;

	if (b->stopping)
		return;
	log_info("shutting down", "signal=%d sessions=%u", (int)sig,
	    b->pool.used);
	broker_stop(b, REASON_SHUTDOWN, "DungeonGate is shutting down; please "
	    "reconnect in a moment");
}

/* Run the broker until SIGTERM or SIGINT; returns the exit status. */
int
broker_main(struct config *cfg, const char *path, int foreground)
{
	struct timeval	 tick = { BROKER_TICK, 0 };
	struct broker	*b;
	struct client	*c;
	struct priv	 pv;
	char		*cause;
	u_int		 left;
	int		 http_fd;

	if (priv_lookup(cfg->broker_user, &pv, &cause) != 0) {
		fprintf(stderr, "dg-broker: %s\n", cause);
		free(cause);
		config_free(cfg);
		return EXIT_CONFIG;
	}
	b = xcalloc(1, sizeof *b);
	b->cfg = cfg;
	b->config_path = xstrdup(path);
	b->foreground = foreground;
	TAILQ_INIT(&b->clients);
	idmap_init(&b->client_ids);
	idmap_init(&b->pending);
	TAILQ_INIT(&b->health_waiters);
	TAILQ_INIT(&b->lives);
	idmap_init(&b->lives_by_name);
	b->cfg_generation = 1;
	pool_init(&b->pool, config_max_connections(cfg));
	leases_init(&b->leases);
	users_init(&b->users);
	b->started = util_wall_ms();

	signal(SIGPIPE, SIG_IGN);
	b->listen_fd = broker_listen(b, &pv);
	http_fd = http_bind(cfg);
	priv_raise_nofile(&pv, cfg->limits_max_file_descriptors);
	priv_drop(&pv);
	priv_free(&pv);
	if (access(path, R_OK) != 0)
		log_warn("the broker cannot read its configuration; reloads "
		    "will fail", "config=%s error=%s", log_quote(path),
		    log_quote(strerror(errno)));
	if (!foreground) {
		if (daemon(0, 0) != 0)
			fatal("daemon");
		log_open("dg-broker", cfg->broker_log_level, LOG_TO_SYSLOG);
	}

	if ((b->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	auth_init(b);
	shed_init(&b->shed, cfg->shed_enabled, cfg->shed_cpu_threshold,
	    cfg->shed_memory_threshold);
	b->workers = workers_create(b->base, cfg->worker_pool_size,
	    cfg->worker_queue_size, cfg->worker_timeout);
	metrics_init(b);
	wait_init(b);
	record_init(b);
	sample_start(b);
	b->drain_ev = evtimer_new(b->base, broker_drain_end_cb, b);
	b->tick = event_new(b->base, -1, EV_PERSIST, broker_tick_cb, b);
	event_add(b->tick, &tick);
	b->listen_ev = event_new(b->base, b->listen_fd, EV_READ | EV_PERSIST,
	    broker_accept_cb, b);
	b->accept_pause = evtimer_new(b->base, broker_accept_resume_cb, b);
	b->spare_fd = -1;
	broker_spare_open(b);
	broker_set_budget(b);
	event_add(b->listen_ev, NULL);
	http_start(b, http_fd);
	b->sig_term = evsignal_new(b->base, SIGTERM, broker_stop_cb, b);
	b->sig_int = evsignal_new(b->base, SIGINT, broker_stop_cb, b);
	b->sig_hup = evsignal_new(b->base, SIGHUP, broker_sighup_cb, b);
	evsignal_add(b->sig_term, NULL);
	evsignal_add(b->sig_int, NULL);
	evsignal_add(b->sig_hup, NULL);

	log_info("started", "pid=%ld socket=%s config=%s max_connections=%u "
	    "games=%u", (long)getpid(), cfg->broker_socket, log_quote(path),
	    b->pool.max, cfg->ngames);
	notify_ready(b);
	event_base_dispatch(b->base);

	/* No loop turn follows: clients are freed as they are dropped. */
	b->stopped = 1;
	while ((c = TAILQ_FIRST(&b->clients)) != NULL)
		client_drop(c);
	left = workers_shutdown(b->workers, b->cfg->worker_shutdown_timeout);
	if (sample_stop(b, b->cfg->worker_shutdown_timeout) != 0)
		left++;
	if (record_shutdown(b, b->cfg->worker_shutdown_timeout) != 0) {
		log_error("recordings not all written in time", NULL);
		left++;
	}
	/* Who waits for health is answered before HTTP closes. */
	health_free(b);
	http_stop(b);
	/* systemd's socket outlives us: sessions wait in its backlog. */
	if (!b->socket_activated && unlink(b->cfg->broker_socket) != 0)
		log_warn("cannot remove the socket", "socket=%s error=%s",
		    b->cfg->broker_socket, log_quote(strerror(errno)));
	close(b->listen_fd);
	if (b->spare_fd != -1)
		close(b->spare_fd);
	log_info("stopped", "workers_busy=%u", left);

	if (left == 0) {
		event_free(b->listen_ev);
		event_free(b->accept_pause);
		event_free(b->sig_term);
		event_free(b->sig_int);
		event_free(b->sig_hup);
		workers_free(b->workers);
		wait_free(b);
		metrics_free(b);
		log_peer_clear();
		watch_free(b);
		users_free(&b->users);
		pool_free(&b->pool);
		leases_free(&b->leases);
		idmap_clear(&b->client_ids, NULL);
		idmap_clear(&b->pending, NULL);
		event_free(b->drain_ev);
		event_free(b->tick);
		notify_free(b);
		event_base_free(b->base);
		auth_free();
		config_free(b->cfg);
		free(b->config_path);
		free(b);
	}
	return 0;
}
