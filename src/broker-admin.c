/*
 * Admin requests over the broker's socket: health (--check) and status
 * (--status). Health is open to any peer; status needs root or the
 * admin group (checked in broker-client.c).
 */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

enum health { HEALTHY, DEGRADED, UNHEALTHY };
static const char *health_names[] = { "healthy", "degraded", "unhealthy" };

/* A check of the games' programs, run on a worker (it touches disk). */
struct game_check {
	struct broker	*broker;
	uint64_t	 client;
	u_int		 ngames;
	char		*ids[CONFIG_MAX_GAMES];
	char		*programs[CONFIG_MAX_GAMES];
	int		 ok[CONFIG_MAX_GAMES];
};

/* Add one component line to a health reply. */
static void
health_add(json_t *components, enum health *worst, const char *name,
    enum health h, const char *detail)
{
	json_array_append_new(components, json_pack("{s:s, s:s, s:s}",
	    "name", name, "status", health_names[h], "detail", detail));
	if (h > *worst)
		*worst = h;
}

/* On a worker: can each game's program be run? */
static void
game_check_run(void *arg)
{
	struct game_check	*gc = arg;
	u_int			 i;

	for (i = 0; i < gc->ngames; i++)
		gc->ok[i] = access(gc->programs[i], X_OK) == 0;
}

/* Free a game check. */
static void
game_check_free(void *arg)
{
	struct game_check	*gc = arg;
	u_int			 i;

	for (i = 0; i < gc->ngames; i++) {
		free(gc->ids[i]);
		free(gc->programs[i]);
	}
	free(gc);
}

/* The queue: degraded when someone has waited high_queue_time. */
static void
admin_check_queue(struct broker *b, json_t *components, enum health *worst)
{
	const struct qentry	*e;
	int64_t			 now = util_now_ms(), longest = 0;
	char			*detail, *limit;
	u_int			 i;

	for (i = 0; i < CLASS_COUNT; i++) {
		TAILQ_FOREACH(e, &b->queue.classes[i], entry) {
			if (now - e->since > longest)
				longest = now - e->since;
		}
	}
	if (b->queue.size > 0 &&
	    longest >= (int64_t)b->cfg->alerts_high_queue_time) {
		limit = config_format_duration(b->cfg->alerts_high_queue_time);
		xasprintf(&detail, "%u waiting, the longest %lld ms, at or "
		    "above high_queue_time (%s)", b->queue.size,
		    (long long)longest, limit);
		free(limit);
		health_add(components, worst, "queue", DEGRADED, detail);
	} else {
		xasprintf(&detail, "%u/%u waiting", b->queue.size,
		    b->queue.max);
		health_add(components, worst, "queue", HEALTHY, detail);
	}
	free(detail);
}

/* Is used at or above high_resource_usage of max? */
static int
admin_high(const struct broker *b, uint64_t used, uint64_t max)
{
	return max > 0 && (double)used >= b->cfg->alerts_high_resource_usage *
	    (double)max;
}

/* Count the broker's open descriptors. */
static u_int
admin_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	u_int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* less the one opendir holds */
}

/*
 * PTYs (ours and the kernel's), memory granted to games and the broker's
 * descriptors: degraded at high_resource_usage, or when the kernel has
 * too few PTYs left to start a game.
 */
static void
admin_check_resources(struct broker *b, json_t *components,
    enum health *worst)
{
	const struct config	*cfg = b->cfg;
	enum health		 h;
	char			*detail, *used, *max;
	u_int			 nr = 0, kmax = 0, fds;
	int			 kernel;

	kernel = admit_pty_room(b, &nr, &kmax) == 0;
	h = HEALTHY;
	if ((kernel && nr + BROKER_PTY_RESERVE >= kmax) ||
	    admin_high(b, b->leases.count, cfg->limits_max_ptys) ||
	    (kernel && admin_high(b, nr, kmax)))
		h = DEGRADED;
	if (kernel)
		xasprintf(&detail, "%u/%u games; kernel %u/%u PTYs%s",
		    b->leases.count, cfg->limits_max_ptys, nr, kmax,
		    nr + BROKER_PTY_RESERVE >= kmax ?
		    ", nearly exhausted: new games refused" : "");
	else
		xasprintf(&detail, "%u/%u games; kernel PTY use unknown",
		    b->leases.count, cfg->limits_max_ptys);
	health_add(components, worst, "pty_pool", h, detail);
	free(detail);

	used = config_format_size(b->memory);
	max = config_format_size(cfg->limits_max_memory);
	xasprintf(&detail, "%s of %s granted to games", used, max);
	health_add(components, worst, "memory", admin_high(b, b->memory,
	    cfg->limits_max_memory) ? DEGRADED : HEALTHY, detail);
	free(detail);
	free(used);
	free(max);

	fds = admin_open_fds();
	xasprintf(&detail, "%u/%u descriptors open", fds,
	    cfg->limits_max_file_descriptors);
	health_add(components, worst, "descriptors", admin_high(b, fds,
	    b->max_clients + BROKER_FD_RESERVE) ? DEGRADED : HEALTHY, detail);
	free(detail);
}

/* Answer --check: one line per component and the worst of them. */
static void
game_check_done(void *arg, int timed_out)
{
	struct game_check	*gc = arg;
	struct broker		*b = gc->broker;
	struct client		*c;
	const struct config	*cfg = b->cfg;
	json_t			*components;
	enum health		 worst = HEALTHY, h;
	const char		*why = NULL;
	char			*detail, *bad = NULL, *tmp;
	u_int			 i;

	if ((c = client_find(b, gc->client)) == NULL || c->dead) {
		if (!timed_out)
			game_check_free(gc);
		return;
	}
	c->busy = 0;
	components = json_array();

	xasprintf(&detail, "pid %ld, up %llds, protocol %d, %u connected",
	    (long)getpid(), (long long)((util_wall_ms() - b->started) / 1000),
	    PROTO_VERSION, b->nclients);
	health_add(components, &worst, "broker", HEALTHY, detail);
	free(detail);

	h = HEALTHY;
	if (b->pool.used >= b->pool.max) {
		h = DEGRADED;
		xasprintf(&detail, "full: %u/%u sessions", b->pool.used,
		    b->pool.max);
	} else if (b->pool.used >= cfg->alerts_high_connection_count) {
		h = DEGRADED;
		xasprintf(&detail, "%u/%u sessions, at or above "
		    "high_connection_count (%u)", b->pool.used, b->pool.max,
		    cfg->alerts_high_connection_count);
	} else
		xasprintf(&detail, "%u/%u sessions", b->pool.used, b->pool.max);
	health_add(components, &worst, "connection_pool", h, detail);
	free(detail);

	h = (enum health)workers_health(b->workers, &why);
	health_add(components, &worst, "worker_pool", h,
	    h == HEALTHY ? "ok" : why);

	admin_check_queue(b, components, &worst);
	admin_check_resources(b, components, &worst);

	if (timed_out) {
		health_add(components, &worst, "games", DEGRADED,
		    "could not check the game programs in time");
	} else {
		for (i = 0; i < gc->ngames; i++) {
			if (gc->ok[i])
				continue;
			xasprintf(&tmp, "%s%s%s: %s is not executable",
			    bad != NULL ? bad : "", bad != NULL ? "; " : "",
			    gc->ids[i], gc->programs[i]);
			free(bad);
			bad = tmp;
		}
		if (bad != NULL)
			health_add(components, &worst, "games", DEGRADED, bad);
		else {
			xasprintf(&detail, "%u game%s ready, %u playing",
			    gc->ngames, gc->ngames == 1 ? "" : "s",
			    b->leases.count);
			health_add(components, &worst, "games", HEALTHY,
			    detail);
			free(detail);
		}
		free(bad);
		game_check_free(gc);
	}
	client_send(c, json_pack("{s:s, s:s, s:o}", "type", "health",
	    "status", health_names[worst], "components", components));
}

/* Start a health check; the games' programs are looked at on a worker. */
void
admin_check(struct client *c)
{
	struct broker		*b = c->broker;
	struct game_check	*gc;
	char			**argv, *cause;
	u_int			 i;

	gc = xcalloc(1, sizeof *gc);
	gc->broker = b;
	gc->client = c->id;
	for (i = 0; i < b->cfg->ngames; i++) {
		if (config_expand_command(b->cfg->games[i].command, "user",
		    "/", &argv, &cause) != 0)
			fatalx("validated command does not expand: %s", cause);
		gc->ids[i] = xstrdup(b->cfg->games[i].id);
		gc->programs[i] = xstrdup(argv[0]);
		config_free_argv(argv);
	}
	gc->ngames = b->cfg->ngames;
	c->busy = 1;
	if (workers_submit(b->workers, game_check_run, game_check_done,
	    game_check_free, gc) != 0) {
		/* Answer without the games rather than not at all. */
		game_check_done(gc, 1);
		game_check_free(gc);
	}
}

/* One session's line in --status. */
static json_t *
admin_session_json(struct broker *b, struct client *c, int64_t now)
{
	json_t	*o, *history;
	u_int	 i;

	history = json_array();
	for (i = 0; i < c->nhistory; i++) {
		json_array_append_new(history, json_pack("{s:s, s:I}",
		    "state", client_activity_name(c->history[i].activity),
		    "at", (json_int_t)(c->history[i].at / 1000)));
	}
	o = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:s, s:s, "
	    "s:s, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "ticket", c->ticket,
	    "user", c->user,
	    "uid", (int)c->uid,
	    "pid", (int)c->pid,
	    "remote", c->remote != NULL ? c->remote : "",
	    "term", c->term != NULL ? c->term : "",
	    "cols", (int)c->cols,
	    "rows", (int)c->rows,
	    "state", client_activity_name(c->activity),
	    "tier", c->u->tier != NULL ? c->u->tier : "",
	    "class", quota_class_name(c->class),
	    "since", (json_int_t)(c->since / 1000),
	    "seconds", (json_int_t)((now - c->since) / 1000),
	    "idle_seconds",
	    (json_int_t)(c->state == CLIENT_SESSION ?
	    (util_now_ms() - c->last_input) / 1000 : 0),
	    "bytes_in", (json_int_t)c->bytes_in,
	    "bytes_out", (json_int_t)c->bytes_out,
	    "history", history);
	if (c->state == CLIENT_QUEUED)
		json_object_set_new(o, "queue_position", json_integer(
		    (json_int_t)queue_position(&b->queue, c->id)));
	if (c->state == CLIENT_SESSION)
		json_object_set_new(o, "bandwidth", json_integer(
		    (json_int_t)c->bandwidth));
	if (c->lease != NULL) {
		json_object_set_new(o, "game", json_string(c->lease->game));
		json_object_set_new(o, "lease", json_string(c->lease->id));
		json_object_set_new(o, "memory", json_integer(
		    (json_int_t)c->lease->memory));
		if (c->cpu_mechanism != NULL)
			json_object_set_new(o, "cpu_mechanism",
			    json_string(c->cpu_mechanism));
	}
	return o;
}

/* One user's usage against their tier, for --status. */
static json_t *
admin_user_json(struct broker *b, struct user *u)
{
	const struct config_quota	*q;

	if ((q = config_find_quota(b->cfg, u->tier)) == NULL)
		q = config_find_quota(b->cfg, "default");
	return json_pack("{s:s, s:i, s:s, s:s, s:b, s:{s:i, s:i}, s:i, "
	    "s:{s:i, s:i}, s:{s:I, s:I}, s:{s:I, s:I}, s:f}",
	    "user", u->name,
	    "uid", (int)u->uid,
	    "tier", q->name,
	    "class", quota_class_name(quota_class(u->is_admin, q->priority)),
	    "admin", u->is_admin,
	    "sessions", "used", (int)u->sessions, "max",
	    (int)q->max_connections,
	    "queued", (int)u->queued,
	    "ptys", "used", (int)u->ptys, "max", (int)q->max_ptys,
	    "memory", "used", (json_int_t)u->memory, "max",
	    (json_int_t)q->max_memory,
	    "bandwidth", "max", (json_int_t)q->max_bandwidth, "per_session",
	    (json_int_t)quota_bandwidth_share(q->max_bandwidth, u->sessions,
	    b->cfg->limits_max_bandwidth, b->pool.used),
	    "cpu_cores", q->max_cpu_cores);
}

/* Everything the broker holds, for --status. */
json_t *
admin_status_json(struct broker *b)
{
	const struct config	*cfg = b->cfg;
	struct client		*c;
	struct user		*u;
	json_t			*sessions, *games, *leases, *users, *classes;
	json_t			*violations, *o;
	const struct lease	*l;
	int64_t			 now = util_wall_ms();
	u_int			 i, admins = 0, pending = 0, nr = 0, kmax = 0;

	sessions = json_array();
	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->state == CLIENT_ADMIN)
			admins++;
		else if (c->state == CLIENT_NEW)
			pending++;
		else if (c->state == CLIENT_SESSION ||
		    c->state == CLIENT_QUEUED)
			json_array_append_new(sessions,
			    admin_session_json(b, c, now));
	}
	users = json_array();
	for (u = b->users.head; u != NULL; u = u->next) {
		if (u->known && (u->sessions > 0 || u->queued > 0))
			json_array_append_new(users, admin_user_json(b, u));
	}
	games = json_array();
	for (i = 0; i < cfg->ngames; i++) {
		json_array_append_new(games, json_pack("{s:s, s:s, s:s#, s:i, "
		    "s:I}",
		    "id", cfg->games[i].id, "name", cfg->games[i].name,
		    "key", &cfg->games[i].key, (size_t)1,
		    "playing", (int)lease_count_game(&b->leases,
		    cfg->games[i].id),
		    "memory", (json_int_t)cfg->games[i].memory));
	}
	leases = json_array();
	for (l = b->leases.head; l != NULL; l = l->next) {
		json_array_append_new(leases, json_pack("{s:s, s:s, s:s, s:I, "
		    "s:I}", "id", l->id, "user", l->user, "game", l->game,
		    "memory", (json_int_t)l->memory,
		    "seconds", (json_int_t)((now - l->started) / 1000)));
	}
	classes = json_object();
	for (i = 0; i < CLASS_COUNT; i++)
		json_object_set_new(classes, quota_class_name(i),
		    json_integer(b->queue.count[i]));
	violations = json_object();
	for (i = 0; i < V_COUNT; i++)
		json_object_set_new(violations, admit_violation_name(i),
		    json_integer((json_int_t)b->violations[i]));

	o = json_pack("{s:{s:s, s:i, s:s, s:I, s:I, s:i, s:i, s:i, s:I}, "
	    "s:{s:i, s:i, s:I, s:I}, "
	    "s:{s:i, s:i, s:I, s:b, s:o}, "
	    "s:{s:i, s:i}, s:{s:I, s:I}, s:{s:i, s:i, s:i}, s:o}",
	    "broker",
		"version", PACKAGE_VERSION,
		"pid", (int)getpid(),
		"config", b->config_path,
		"started", (json_int_t)(b->started / 1000),
		"uptime_seconds", (json_int_t)((now - b->started) / 1000),
		"protocol", PROTO_VERSION,
		"admin_connections", (int)admins,
		"connecting", (int)pending,
		"bad_frames_total", (json_int_t)b->bad_frames,
	    "connection_pool",
		"max", (int)b->pool.max,
		"active", (int)b->pool.used,
		"admitted_total", (json_int_t)b->pool.admitted,
		"refused_total", (json_int_t)b->pool.refused,
	    "queue",
		"size", (int)b->queue.size,
		"max", (int)b->queue.max,
		"timeout_ms", (json_int_t)cfg->pool_queue_timeout,
		"prioritization", b->queue.prioritize,
		"by_class", classes,
	    "pty_pool",
		"max", (int)cfg->limits_max_ptys,
		"leased", (int)b->leases.count,
	    "memory",
		"granted", (json_int_t)b->memory,
		"max", (json_int_t)cfg->limits_max_memory,
	    "descriptors",
		"open", (int)admin_open_fds(),
		"budget", (int)cfg->limits_max_file_descriptors,
		"max_connections", (int)b->max_clients,
	    "worker_pool", workers_status(b->workers));
	if (admit_pty_room(b, &nr, &kmax) == 0) {
		json_object_set_new(json_object_get(o, "pty_pool"),
		    "kernel_in_use", json_integer(nr));
		json_object_set_new(json_object_get(o, "pty_pool"),
		    "kernel_max", json_integer(kmax));
	}
	json_object_set_new(o, "users", users);
	json_object_set_new(o, "games", games);
	json_object_set_new(o, "leases", leases);
	json_object_set_new(o, "sessions", sessions);
	json_object_set_new(o, "violations", violations);
	return o;
}

/* Answer --status. */
void
admin_status(struct client *c)
{
	client_send(c, json_pack("{s:s, s:o}", "type", "status", "status",
	    admin_status_json(c->broker)));
}
