/*
 * Admin requests over the broker's socket: health (--check) and status
 * (--status). Health is open to any peer; status needs root or the
 * admin group (checked in broker-client.c).
 */
#include "config.h"

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

/* Everything the broker holds, for --status. */
json_t *
admin_status_json(struct broker *b)
{
	const struct config	*cfg = b->cfg;
	struct client		*c;
	json_t			*sessions, *games, *leases, *s;
	const struct lease	*l;
	int64_t			 now = util_wall_ms();
	u_int			 i, admins = 0, pending = 0;

	sessions = json_array();
	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->state == CLIENT_ADMIN)
			admins++;
		if (c->state != CLIENT_SESSION) {
			if (c->state == CLIENT_NEW)
				pending++;
			continue;
		}
		s = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:s, "
		    "s:I, s:I, s:I}",
		    "ticket", c->ticket,
		    "user", c->user,
		    "uid", (int)c->uid,
		    "pid", (int)c->pid,
		    "remote", c->remote != NULL ? c->remote : "",
		    "term", c->term != NULL ? c->term : "",
		    "cols", (int)c->cols,
		    "rows", (int)c->rows,
		    "state", c->lease != NULL ? "playing" : "menu",
		    "since", (json_int_t)(c->since / 1000),
		    "seconds", (json_int_t)((now - c->since) / 1000),
		    "idle_seconds",
		    (json_int_t)((util_now_ms() - c->last_input) / 1000));
		if (c->lease != NULL) {
			json_object_set_new(s, "game",
			    json_string(c->lease->game));
			json_object_set_new(s, "lease",
			    json_string(c->lease->id));
		}
		json_array_append_new(sessions, s);
	}

	games = json_array();
	for (i = 0; i < cfg->ngames; i++) {
		json_array_append_new(games, json_pack("{s:s, s:s, s:s#, s:i}",
		    "id", cfg->games[i].id, "name", cfg->games[i].name,
		    "key", &cfg->games[i].key, (size_t)1,
		    "playing", (int)lease_count_game(&b->leases,
		    cfg->games[i].id)));
	}
	leases = json_array();
	for (l = b->leases.head; l != NULL; l = l->next) {
		json_array_append_new(leases, json_pack("{s:s, s:s, s:s, s:I}",
		    "id", l->id, "user", l->user, "game", l->game,
		    "seconds", (json_int_t)((now - l->started) / 1000)));
	}

	return json_pack("{s:{s:s, s:i, s:s, s:I, s:I, s:i, s:i, s:i, s:I}, "
	    "s:{s:i, s:i, s:I, s:I}, s:o, s:o, s:o, s:o}",
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
	    "worker_pool", workers_status(b->workers),
	    "games", games,
	    "leases", leases,
	    "sessions", sessions);
}

/* Answer --status. */
void
admin_status(struct client *c)
{
	client_send(c, json_pack("{s:s, s:o}", "type", "status", "status",
	    admin_status_json(c->broker)));
}
