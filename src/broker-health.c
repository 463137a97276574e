/*
 * Health (--check): one line per component, judged from what the broker
 * already holds (its tables and the last /proc sample), and the worst of
 * them. Only the games' programs are looked at anew, on a worker, since
 * that touches the disk. Open to any peer, within its request rate.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

static const char *health_names[] = { "healthy", "degraded", "unhealthy" };

/* A judgement's name. */
const char *
health_name(enum health h)
{
	return health_names[h];
}

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
health_queue(struct broker *b, json_t *components, enum health *worst)
{
	int64_t	 longest = queue_longest(&b->queue, util_now_ms());
	char	*detail, *limit;

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
health_high(const struct broker *b, uint64_t used, uint64_t max)
{
	return max > 0 && (double)used >= b->cfg->alerts_high_resource_usage *
	    (double)max;
}

/*
 * PTYs (ours and the kernel's), memory granted to games and the broker's
 * descriptors: degraded at high_resource_usage, or when the kernel has
 * too few PTYs left to start a game.
 */
static void
health_resources(struct broker *b, json_t *components, enum health *worst)
{
	const struct config	*cfg = b->cfg;
	enum health		 h;
	char			*detail, *used, *max;
	u_int			 nr = 0, kmax = 0, fds;
	int			 kernel;

	kernel = sample_pty_room(b, &nr, &kmax) == 0;
	h = HEALTHY;
	if ((kernel && nr + BROKER_PTY_RESERVE >= kmax) ||
	    health_high(b, b->leases.count, cfg->limits_max_ptys) ||
	    (kernel && health_high(b, nr, kmax)))
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

	used = config_format_size(b->leases.memory);
	max = config_format_size(cfg->limits_max_memory);
	xasprintf(&detail, "%s of %s granted to games", used, max);
	health_add(components, worst, "memory", health_high(b, b->leases.memory,
	    cfg->limits_max_memory) ? DEGRADED : HEALTHY, detail);
	free(detail);
	free(used);
	free(max);

	fds = b->sample.open_fds;
	xasprintf(&detail, "%u/%u descriptors open", fds,
	    cfg->limits_max_file_descriptors);
	health_add(components, worst, "descriptors", health_high(b, fds,
	    b->max_clients + BROKER_FD_RESERVE) ? DEGRADED : HEALTHY, detail);
	free(detail);
}

/*
 * Every component's line and the worst judgement: from the broker's
 * tables and sample, and from a finished check of the games' programs
 * (gc NULL: that check did not come back in time).
 */
static json_t *
health_build(struct broker *b, const struct game_check *gc,
    enum health *worst)
{
	const struct config	*cfg = b->cfg;
	json_t			*components;
	enum health		 h;
	const char		*why = NULL;
	char			*detail, *bad = NULL, *tmp;
	u_int			 i;

	*worst = HEALTHY;
	components = json_array();

	xasprintf(&detail, "pid %ld, up %llds, protocol %d, %u connected",
	    (long)getpid(), (long long)((util_wall_ms() - b->started) / 1000),
	    PROTO_VERSION, b->nclients);
	health_add(components, worst, "broker", HEALTHY, detail);
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
	health_add(components, worst, "connection_pool", h, detail);
	free(detail);

	h = (enum health)workers_health(b->workers, &why);
	health_add(components, worst, "worker_pool", h,
	    h == HEALTHY ? "ok" : why);

	health_queue(b, components, worst);
	health_resources(b, components, worst);

	if (gc == NULL) {
		health_add(components, worst, "games", DEGRADED,
		    "could not check the game programs in time");
		return components;
	}
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
		health_add(components, worst, "games", DEGRADED, bad);
	else {
		xasprintf(&detail, "%u game%s ready, %u playing", gc->ngames,
		    gc->ngames == 1 ? "" : "s", b->leases.count);
		health_add(components, worst, "games", HEALTHY, detail);
		free(detail);
	}
	free(bad);
	return components;
}

/* The games' check is back (or timed out): answer --check. */
static void
game_check_done(void *arg, int timed_out)
{
	struct game_check	*gc = arg;
	struct broker		*b = gc->broker;
	struct client		*c;
	json_t			*components;
	enum health		 worst;

	if ((c = client_find(b, gc->client)) != NULL && !c->dead) {
		c->busy = 0;
		components = health_build(b, timed_out ? NULL : gc, &worst);
		client_send(c, json_pack("{s:s, s:s, s:o}", "type", "health",
		    "status", health_names[worst], "components", components));
	}
	/* A timed-out check is released when its worker lets go. */
	if (!timed_out)
		game_check_free(gc);
}

/* Start a health check; the games' programs are looked at on a worker. */
void
health_check(struct client *c)
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

