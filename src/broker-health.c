/*
 * Health: one judgement per component, from what the broker already
 * holds (its tables and the sampler's last look at the system, the
 * games' programs included), and the worst of them. health_build is the
 * one implementation; --check (here) and HTTP's /health endpoints (in
 * broker-http.c) are its two renderings. Only a request that comes
 * before the first sample of a new configuration waits, for that sample
 * and no longer than HEALTH_SAMPLE_WAIT_MS, and it waits on a timer,
 * never on the event loop. --check is open to any peer, within its
 * request rate.
 */
#include "config.h"

#include <sys/resource.h>

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

/* Someone waiting for the sample of a new configuration. */
struct health_waiter {
	void		(*fn)(struct broker *, void *);
	void		*arg;
	TAILQ_ENTRY(health_waiter) entry;
};

/* A judgement's name. */
const char *
health_name(enum health h)
{
	return health_names[h];
}

/* Add one component's judgement to a report. */
static void
health_add(struct health_report *r, const char *name, enum health h,
    const char *detail)
{
	if (r->n == HEALTH_MAX_COMPONENTS)
		fatalx("health_add: too many components");
	r->items[r->n].name = name;
	r->items[r->n].status = h;
	r->items[r->n].detail = xstrdup(detail);
	r->n++;
	if (h > r->worst)
		r->worst = h;
}

/* Free what a report holds. */
void
health_report_free(struct health_report *r)
{
	u_int	 i;

	for (i = 0; i < r->n; i++)
		free(r->items[i].detail);
	r->n = 0;
}

/* The queue: degraded when someone has waited high_queue_time. */
static void
health_queue(struct broker *b, struct health_report *r)
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
		health_add(r, "queue", DEGRADED, detail);
	} else {
		xasprintf(&detail, "%u/%u waiting", b->queue.size,
		    b->queue.max);
		health_add(r, "queue", HEALTHY, detail);
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
health_resources(struct broker *b, struct health_report *r)
{
	const struct config	*cfg = b->cfg;
	enum health		 h;
	char			*detail, *used, *max;
	struct rlimit		 rl;
	u_int			 nr = 0, kmax = 0, fds, limit;
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
	health_add(r, "pty_pool", h, detail);
	free(detail);

	used = config_format_size(b->leases.memory);
	max = config_format_size(cfg->limits_max_memory);
	xasprintf(&detail, "%s of %s granted to games", used, max);
	health_add(r, "memory", health_high(b, b->leases.memory,
	    cfg->limits_max_memory) ? DEGRADED : HEALTHY, detail);
	free(detail);
	free(used);
	free(max);

	/*
	 * The kernel's limit may have come down under the budget since it
	 * was set (prlimit, a tight ulimit): then it is the one that bites.
	 */
	fds = b->sample.open_fds;
	limit = b->max_clients + BROKER_FD_RESERVE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < limit) {
		limit = (u_int)rl.rlim_cur;
		xasprintf(&detail, "%u/%u descriptors open; the kernel's limit "
		    "is %u", fds, cfg->limits_max_file_descriptors, limit);
	} else
		xasprintf(&detail, "%u/%u descriptors open", fds,
		    cfg->limits_max_file_descriptors);
	health_add(r, "descriptors", health_high(b, fds, limit) ? DEGRADED :
	    HEALTHY, detail);
	free(detail);
}

/* The games: can each one's program be run (from the sample)? */
static void
health_games(struct broker *b, struct health_report *r)
{
	const struct config	*cfg = b->cfg;
	char			**argv, *cause, *detail, *bad = NULL, *tmp;
	u_int			 i;

	if (b->sample.generation != b->cfg_generation ||
	    b->sample.ngames != cfg->ngames) {
		health_add(r, "games", DEGRADED,
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
		health_add(r, "games", DEGRADED, bad);
		free(bad);
		return;
	}
	xasprintf(&detail, "%u game%s ready, %u playing", cfg->ngames,
	    cfg->ngames == 1 ? "" : "s", b->leases.count);
	health_add(r, "games", HEALTHY, detail);
	free(detail);
}

/*
 * The auth service: degraded while the breaker is not closed, or when
 * the share of calls that failed over the last minute is at or above
 * high_error_rate.
 */
static void
health_auth(struct broker *b, struct health_report *r)
{
	const struct config	*cfg = b->cfg;
	enum breaker_state	 st;
	int64_t			 now = util_now_ms(), next;
	u_int			 calls, failures;
	double			 rate;
	char			*detail;

	if (*cfg->auth_url == '\0') {
		health_add(r, "auth", HEALTHY,
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
		health_add(r, "auth", DEGRADED, detail);
	} else if (st == BREAKER_HALF_OPEN) {
		health_add(r, "auth", DEGRADED,
		    "the circuit breaker is half-open: one probe goes through");
		return;
	} else if (calls > 0 && rate >= cfg->alerts_high_error_rate) {
		xasprintf(&detail, "%u of %u calls failed in the last minute "
		    "(%.0f%%), at or above high_error_rate (%.0f%%)", failures,
		    calls, rate * 100, cfg->alerts_high_error_rate * 100);
		health_add(r, "auth", DEGRADED, detail);
	} else {
		xasprintf(&detail, "%u call%s in the last minute, %u failed",
		    calls, calls == 1 ? "" : "s", failures);
		health_add(r, "auth", HEALTHY, detail);
	}
	free(detail);
}

/* The machine's load: degraded while new sessions are shed. */
static void
health_load(struct broker *b, struct health_report *r)
{
	const struct config	*cfg = b->cfg;
	char			*detail;

	if (!cfg->shed_enabled) {
		health_add(r, "load", HEALTHY,
		    "load shedding is off");
		return;
	}
	xasprintf(&detail, "cpu %.2f, memory %.2f (thresholds %g and %g)%s",
	    shed_cpu(&b->shed), shed_memory(&b->shed), cfg->shed_cpu_threshold,
	    cfg->shed_memory_threshold, shed_active(&b->shed) ?
	    "; shedding: new sessions below class high are refused" : "");
	health_add(r, "load", shed_active(&b->shed) ?
	    DEGRADED : HEALTHY, detail);
	free(detail);
}

/* Every component's judgement, and the worst of them. */
void
health_build(struct broker *b, struct health_report *r)
{
	const struct config	*cfg = b->cfg;
	enum health		 h;
	const char		*why = NULL;
	char			*detail;
	int64_t			 age = util_now_ms() - b->sample.at;

	memset(r, 0, sizeof *r);
	r->worst = HEALTHY;

	if (age > HEALTH_SAMPLE_STALE_MS) {
		xasprintf(&detail, "pid %ld, up %llds, protocol %d, %u "
		    "connected; its last look at the system is %llds old",
		    (long)getpid(), (long long)((util_wall_ms() - b->started) /
		    1000), PROTO_VERSION, b->nclients,
		    (long long)(age / 1000));
		health_add(r, "broker", DEGRADED, detail);
	} else {
		xasprintf(&detail, "pid %ld, up %llds, protocol %d, %u "
		    "connected", (long)getpid(), (long long)((util_wall_ms() -
		    b->started) / 1000), PROTO_VERSION, b->nclients);
		health_add(r, "broker", HEALTHY, detail);
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
	health_add(r, "connection_pool", h, detail);
	free(detail);

	h = (enum health)workers_health(b->workers, &why);
	health_add(r, "worker_pool", h, h == HEALTHY ? "ok" : why);

	health_queue(b, r);
	health_resources(b, r);
	health_games(b, r);
	health_auth(b, r);
	health_load(b, r);
}

/*
 * Ready for new sessions, for a load balancer: unhealthy while the
 * broker drains or stops, or when a component is unhealthy.
 */
enum health
health_ready(struct broker *b, const char **why)
{
	struct health_report	 r;
	enum health		 worst;

	if (b->stopping) {
		*why = "shutting down";
		return UNHEALTHY;
	}
	if (b->draining) {
		*why = "draining for maintenance";
		return UNHEALTHY;
	}
	if (shed_active(&b->shed)) {
		*why = "shedding load: new sessions below class high are refused";
		return UNHEALTHY;
	}
	health_build(b, &r);
	worst = r.worst;
	health_report_free(&r);
	if (worst == UNHEALTHY) {
		*why = "a component is unhealthy";
		return UNHEALTHY;
	}
	*why = "admitting new sessions";
	return HEALTHY;
}

/* Is the last sample one of the configuration in force? */
int
health_fresh(struct broker *b)
{
	return b->sample.generation == b->cfg_generation;
}

/* Answer one --check. */
static void
health_reply(struct client *c)
{
	struct health_report	 r;
	json_t			*components;
	u_int			 i;

	c->busy = 0;
	health_build(c->broker, &r);
	components = json_array();
	for (i = 0; i < r.n; i++)
		json_array_append_new(components, json_pack("{s:s, s:s, s:s}",
		    "name", r.items[i].name, "status",
		    health_names[r.items[i].status], "detail",
		    r.items[i].detail));
	client_send(c, json_pack("{s:s, s:s, s:o}", "type", "health",
	    "status", health_names[r.worst], "components", components));
	health_report_free(&r);
}

/* Answer everyone who waits, with what the broker holds now. */
static void
health_answer_waiting(struct broker *b)
{
	struct health_waiters	 now = TAILQ_HEAD_INITIALIZER(now);
	struct health_waiter	*hw;

	TAILQ_CONCAT(&now, &b->health_waiters, entry);
	if (b->health_timer != NULL)
		evtimer_del(b->health_timer);
	while ((hw = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, hw, entry);
		hw->fn(b, hw->arg);
		free(hw);
	}
}

/* A sample has come in: answer who waited for it. */
void
health_sampled(struct broker *b)
{
	if (health_fresh(b) && !TAILQ_EMPTY(&b->health_waiters))
		health_answer_waiting(b);
}

/* The sample of a new configuration is late: answer without it. */
static void
health_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	health_answer_waiting(arg);
}

/*
 * Call fn(b, arg) once the sample of the configuration in force is in,
 * or after HEALTH_SAMPLE_WAIT_MS at most (a sample is asked for now).
 */
void
health_wait(struct broker *b, void (*fn)(struct broker *, void *), void *arg)
{
	struct health_waiter	*hw;
	struct timeval		 tv;

	hw = xcalloc(1, sizeof *hw);
	hw->fn = fn;
	hw->arg = arg;
	TAILQ_INSERT_TAIL(&b->health_waiters, hw, entry);
	if (b->health_timer == NULL)
		b->health_timer = evtimer_new(b->base, health_timer_cb, b);
	if (!evtimer_pending(b->health_timer, NULL)) {
		tv = util_timeval_ms(HEALTH_SAMPLE_WAIT_MS);
		evtimer_add(b->health_timer, &tv);
	}
	sample_request(b);
}

/* A --check that waited: answer it if its tool is still there. */
static void
health_check_waited(struct broker *b, void *arg)
{
	struct client	*c;

	if ((c = client_find(b, (uint64_t)(uintptr_t)arg)) != NULL &&
	    !c->dead && c->state == CLIENT_ADMIN)
		health_reply(c);
}

/*
 * Answer --check now, unless the configuration changed since the last
 * sample: then wait for the next one, briefly.
 */
void
health_check(struct client *c)
{
	if (health_fresh(c->broker)) {
		health_reply(c);
		return;
	}
	c->busy = 1;
	health_wait(c->broker, health_check_waited, (void *)(uintptr_t)c->id);
}

/* Answer whoever still waits, and free what health keeps. */
void
health_free(struct broker *b)
{
	health_answer_waiting(b);
	if (b->health_timer != NULL)
		event_free(b->health_timer);
	b->health_timer = NULL;
}
