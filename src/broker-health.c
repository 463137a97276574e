/*
 * Health (--check): one line per component, judged from what the broker
 * already holds (its tables and the sampler's last look at the system,
 * the games' programs included), and the worst of them. Only a request
 * that comes before the first sample of a new configuration waits, for
 * that sample and no longer than HEALTH_SAMPLE_WAIT_MS. Open to any peer,
 * within its request rate.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"

/* How long --check waits for the first sample of a new configuration. */
#define HEALTH_SAMPLE_WAIT_MS	2000
/* A last look at the system older than this makes the broker degraded. */
#define HEALTH_SAMPLE_STALE_MS	5000

static const char *health_names[] = { "healthy", "degraded", "unhealthy" };

/* A judgement's name. */
const char *
health_name(enum health h)
{
	return health_names[h];
}

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

/* The games: can each one's program be run (from the sample)? */
static void
health_games(struct broker *b, json_t *components, enum health *worst)
{
	const struct config	*cfg = b->cfg;
	char			**argv, *cause, *detail, *bad = NULL, *tmp;
	u_int			 i;

	if (b->sample.generation != b->cfg_generation ||
	    b->sample.ngames != cfg->ngames) {
		health_add(components, worst, "games", DEGRADED,
		    "could not check the game programs in time");
		return;
	}
	for (i = 0; i < cfg->ngames; i++) {
		if (b->sample.game_ok[i])
			continue;
		if (config_expand_command(cfg->games[i].command, "user", "/",
		    &argv, &cause) != 0)
			fatalx("validated command does not expand: %s", cause);
		xasprintf(&tmp, "%s%s%s: %s is not executable",
		    bad != NULL ? bad : "", bad != NULL ? "; " : "",
		    cfg->games[i].id, argv[0]);
		config_free_argv(argv);
		free(bad);
		bad = tmp;
	}
	if (bad != NULL) {
		health_add(components, worst, "games", DEGRADED, bad);
		free(bad);
		return;
	}
	xasprintf(&detail, "%u game%s ready, %u playing", cfg->ngames,
	    cfg->ngames == 1 ? "" : "s", b->leases.count);
	health_add(components, worst, "games", HEALTHY, detail);
	free(detail);
}

/*
 * The auth service: degraded while the breaker is not closed, or when
 * the share of calls that failed over the last minute is at or above
 * high_error_rate.
 */
static void
health_auth(struct broker *b, json_t *components, enum health *worst)
{
	const struct config	*cfg = b->cfg;
	enum breaker_state	 st;
	int64_t			 now = util_now_ms(), next;
	u_int			 calls, failures;
	double			 rate;
	char			*detail;

	if (*cfg->auth_url == '\0') {
		health_add(components, worst, "auth", HEALTHY,
		    "local policy (no auth service)");
		return;
	}
	st = breaker_state(&b->breaker, now);
	auth_error_rate(b, &calls, &failures);
	rate = calls > 0 ? (double)failures / calls : 0;
	if (st == BREAKER_OPEN) {
		next = breaker_next_probe(&b->breaker) - now;
		xasprintf(&detail, "the circuit breaker is open after %u "
		    "failures; next probe in %lld s; decisions follow "
		    "on_failure", b->breaker.threshold,
		    (long long)(next > 0 ? (next + 999) / 1000 : 0));
		health_add(components, worst, "auth", DEGRADED, detail);
	} else if (st == BREAKER_HALF_OPEN) {
		health_add(components, worst, "auth", DEGRADED,
		    "the circuit breaker is half-open: one probe goes through");
		return;
	} else if (calls > 0 && rate >= cfg->alerts_high_error_rate) {
		xasprintf(&detail, "%u of %u calls failed in the last minute "
		    "(%.0f%%), at or above high_error_rate (%.0f%%)", failures,
		    calls, rate * 100, cfg->alerts_high_error_rate * 100);
		health_add(components, worst, "auth", DEGRADED, detail);
	} else {
		xasprintf(&detail, "%u call%s in the last minute, %u failed",
		    calls, calls == 1 ? "" : "s", failures);
		health_add(components, worst, "auth", HEALTHY, detail);
	}
	free(detail);
}

/* The machine's load: degraded while new sessions are shed. */
static void
health_load(struct broker *b, json_t *components, enum health *worst)
{
	const struct config	*cfg = b->cfg;
	char			*detail;

	if (!cfg->shed_enabled) {
		health_add(components, worst, "load", HEALTHY,
		    "load shedding is off");
		return;
	}
	xasprintf(&detail, "cpu %.2f, memory %.2f (thresholds %g and %g)%s",
	    shed_cpu(&b->shed), shed_memory(&b->shed), cfg->shed_cpu_threshold,
	    cfg->shed_memory_threshold, shed_active(&b->shed) ?
	    "; shedding: new sessions below class high are refused" : "");
	health_add(components, worst, "load", shed_active(&b->shed) ?
	    DEGRADED : HEALTHY, detail);
	free(detail);
}

/* Every component's line and the worst judgement. */
static json_t *
health_build(struct broker *b, enum health *worst)
{
	const struct config	*cfg = b->cfg;
	json_t			*components;
	enum health		 h;
	const char		*why = NULL;
	char			*detail;
	int64_t			 age = util_now_ms() - b->sample.at;

	*worst = HEALTHY;
	components = json_array();

	if (age > HEALTH_SAMPLE_STALE_MS) {
		xasprintf(&detail, "pid %ld, up %llds, protocol %d, %u "
		    "connected; its last look at the system is %llds old",
		    (long)getpid(), (long long)((util_wall_ms() - b->started) /
		    1000), PROTO_VERSION, b->nclients,
		    (long long)(age / 1000));
		health_add(components, worst, "broker", DEGRADED, detail);
	} else {
		xasprintf(&detail, "pid %ld, up %llds, protocol %d, %u "
		    "connected", (long)getpid(), (long long)((util_wall_ms() -
		    b->started) / 1000), PROTO_VERSION, b->nclients);
		health_add(components, worst, "broker", HEALTHY, detail);
	}
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
	health_games(b, components, worst);
	health_auth(b, components, worst);
	health_load(b, components, worst);
	return components;
}

/* Answer one --check. */
static void
health_reply(struct client *c)
{
	json_t		*components;
	enum health	 worst;

	c->busy = 0;
	components = health_build(c->broker, &worst);
	client_send(c, json_pack("{s:s, s:s, s:o}", "type", "health",
	    "status", health_names[worst], "components", components));
}

/* Answer every --check that waits, with what the broker holds now. */
static void
health_answer_waiting(struct broker *b)
{
	struct idmap_cursor	 cur;
	struct client		*c;
	uint64_t		*ids, id;
	u_int			 n = 0, i;

	ids = xcalloc(idmap_size(&b->health_waiting) + 1, sizeof *ids);
	memset(&cur, 0, sizeof cur);
	while (idmap_next(&b->health_waiting, &cur, &id, NULL))
		ids[n++] = id;
	idmap_clear(&b->health_waiting, NULL);
	evtimer_del(b->health_timer);
	for (i = 0; i < n; i++) {
		if ((c = client_find(b, ids[i])) != NULL && !c->dead &&
		    c->state == CLIENT_ADMIN)
			health_reply(c);
	}
	free(ids);
}

/* A sample has come in: answer who waited for it. */
void
health_sampled(struct broker *b)
{
	if (b->sample.generation == b->cfg_generation &&
	    idmap_size(&b->health_waiting) > 0)
		health_answer_waiting(b);
}

/* The sample of a new configuration is late: answer without it. */
static void
health_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	health_answer_waiting(arg);
}

/*
 * Answer --check now, unless the configuration changed since the last
 * sample: then wait for the next one (asked for at once), briefly.
 */
void
health_check(struct client *c)
{
	struct broker	*b = c->broker;
	struct timeval	 tv;

	if (b->sample.generation == b->cfg_generation) {
		health_reply(c);
		return;
	}
	c->busy = 1;
	idmap_put(&b->health_waiting, c->id, c);
	if (b->health_timer == NULL)
		b->health_timer = evtimer_new(b->base, health_timer_cb, b);
	if (!evtimer_pending(b->health_timer, NULL)) {
		tv = util_timeval_ms(HEALTH_SAMPLE_WAIT_MS);
		evtimer_add(b->health_timer, &tv);
	}
	sample_request(b);
}

/* Free what health keeps. */
void
health_free(struct broker *b)
{
	idmap_clear(&b->health_waiting, NULL);
	if (b->health_timer != NULL)
		event_free(b->health_timer);
}
