/*
 * The broker's Prometheus series: every one is registered here, by name,
 * help and a fixed set of label values (never a user name, uid or
 * address), so the number of series does not depend on who is online.
 *
 * Counters and histograms are updated by the module that owns the event
 * when it happens (metrics_admission, metrics_rejected, ...). Gauges and
 * the counters a table already keeps (the pool's admissions, violations)
 * are read from their owners when a scrape comes, which costs one pass
 * over the series: nothing here walks the sessions. A series is added in
 * a few lines: a field in struct metrics, one prom_* call in
 * metrics_init, and its update where the event is or in metrics_collect.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/time.h>

#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* Buckets of the queue wait (seconds): up to queue_timeout's range. */
static const double queue_buckets[] = {
	0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900
};
/* Buckets of a worker job's running time (seconds). */
static const double work_buckets[] = {
	0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
	0.5, 1, 2.5, 5, 10, 30
};

static const char *const rejected_reasons[] = {
	"user_connections", "queue_full", "queue_timeout", "fd_budget",
	"pending", "draining", "shutdown", "no_user", "busy", "version",
	"overloaded", "denied", "unavailable", "rate_limited"
};
static const char *const outcomes[] = { "admitted", "queued", "refused" };
static const char *const queue_outcomes[] = { "admitted", "timed_out" };
static const char *const directions[] = { "in", "out" };
static const char *const results[] = { "success", "failure" };
static const char *const rejoin_outcomes[] = { "rejoined", "refused" };
static const char *const job_results[] = {
	"completed", "timed_out", "rejected"
};
static const char *const resources[] = {
	"connections", "ptys", "kernel_ptys", "memory", "descriptors"
};
static const char *const components[] = {
	"broker", "connection_pool", "worker_pool", "queue", "pty_pool",
	"memory", "descriptors", "games", "auth", "load"
};
static const char *const load_resources[] = { "cpu", "memory" };
static const char *const versions[] = { PACKAGE_VERSION };

struct metrics {
	struct prom		*prom;

	/* Label values taken from other tables, in their order. */
	const char		*classes[CLASS_COUNT];
	const char		*activities[ACT_COUNT];
	const char		*violations[V_COUNT - 1];
	const char		*work_types[JOB_TYPES];
	const char		*breaker_states[BREAKER_STATES];
	const char		*auth_outcomes[AUTH_OUTCOMES];
	double			 auth_bounds[WORKER_BUCKETS];

	/* The connection pool and its queue. */
	struct prom_family	*active;
	struct prom_family	*max_connections;
	struct prom_family	*connections;
	struct prom_family	*rejected;
	struct prom_family	*queue_time;
	struct prom_family	*queue_length;
	struct prom_family	*queue_longest;
	struct prom_family	*admissions;
	struct prom_family	*sessions;

	/* The worker pool. */
	struct prom_family	*active_workers;
	struct prom_family	*worker_queue;
	struct prom_family	*worker_size;
	struct prom_family	*processing;
	struct prom_family	*utilization;
	struct prom_family	*jobs;
	struct worker_stats	 last_stats;	/* at the last tick */
	double			 last_utilization;

	/* PTYs and resources. */
	struct prom_family	*active_ptys;
	struct prom_family	*available_ptys;
	struct prom_family	*pty_fds;
	struct prom_family	*memory_usage;
	struct prom_family	*memory_granted;
	struct prom_family	*bandwidth;
	struct prom_family	*cpu_usage;
	struct prom_family	*violations_total;
	struct prom_family	*usage_ratio;
	struct prom_family	*games_sampled;

	/* The auth service and its breaker; load shedding. */
	struct prom_family	*breaker_state;
	struct prom_family	*breaker_transitions;
	struct prom_family	*auth_time;
	struct prom_family	*auth_decisions;
	struct prom_family	*auth_cached;
	struct prom_family	*shedding;
	struct prom_family	*shed_started;
	struct prom_family	*load_ratio;

	/* The broker. */
	struct prom_family	*health;
	struct prom_family	*reload_time;
	struct prom_family	*reload_success;
	struct prom_family	*reloads;
	struct prom_family	*rejoins;
	struct prom_family	*build_info;
	struct prom_family	*bad_frames;
	struct prom_family	*log_suppressed;
	struct prom_family	*sample_age;

	/* The broker's process. */
	struct prom_family	*cpu_seconds;
	struct prom_family	*rss;
	struct prom_family	*open_fds;
	struct prom_family	*max_fds;
	struct prom_family	*start_time;
};

/* One label, for a family's registration. */
static struct prom_label
metrics_label(const char *name, const char *const *values, u_int n)
{
	struct prom_label	 l = { name, values, n };

	return l;
}

/* A worker job has finished: its running time into the histogram. */
static void
metrics_work_done(void *arg, enum job_type type, double seconds)
{
	struct metrics	*m = arg;

	prom_observe(m->processing, (u_int)type, seconds);
}

/* Register every series. */
void
metrics_init(struct broker *b)
{
	struct metrics		*m;
	struct prom		*p;
	struct prom_label	 l[2];
	u_int			 i;

	m = b->metrics = xcalloc(1, sizeof *m);
	p = m->prom = prom_create();
	for (i = 0; i < CLASS_COUNT; i++)
		m->classes[i] = quota_class_name(i);
	for (i = 0; i < ACT_COUNT; i++)
		m->activities[i] = client_activity_name(i);
	for (i = V_NONE + 1; i < V_COUNT; i++)
		m->violations[i - 1] = violation_name(i);
	for (i = 0; i < JOB_TYPES; i++)
		m->work_types[i] = job_type_name(i);
	for (i = 0; i < BREAKER_STATES; i++)
		m->breaker_states[i] = breaker_state_name(i);
	for (i = 0; i < AUTH_OUTCOMES; i++)
		m->auth_outcomes[i] = auth_outcome_name(i);
	for (i = 0; i < WORKER_BUCKETS; i++)
		m->auth_bounds[i] = workers_bucket(i);

	m->active = prom_gauge(p, "session_pool_active_connections",
	    "Sessions holding a slot of the connection pool.", NULL, 0);
	m->max_connections = prom_gauge(p, "session_pool_max_connections",
	    "Slots of the connection pool (the smaller of the pool's and the "
	    "system's max_connections).", NULL, 0);
	m->connections = prom_counter(p, "session_pool_connections_total",
	    "Sessions admitted to the connection pool.", NULL, 0);
	l[0] = metrics_label("reason", rejected_reasons,
	    nitems(rejected_reasons));
	m->rejected = prom_counter(p, "session_pool_rejected_connections_total",
	    "Connections refused before a session began, by reason.", l, 1);
	l[0] = metrics_label("outcome", queue_outcomes, nitems(queue_outcomes));
	m->queue_time = prom_histogram(p, "session_pool_queue_time_seconds",
	    "Time sessions waited in the queue: admitted from it, or refused "
	    "at queue_timeout.", l, 1, queue_buckets, nitems(queue_buckets));
	l[0] = metrics_label("class", m->classes, CLASS_COUNT);
	m->queue_length = prom_gauge(p, "session_pool_queue_length",
	    "Sessions waiting in the queue, by class.", l, 1);
	m->queue_longest = prom_gauge(p,
	    "session_pool_queue_longest_wait_seconds",
	    "How long the session first in line has waited (0 when none "
	    "waits).", NULL, 0);
	l[0] = metrics_label("outcome", outcomes, nitems(outcomes));
	m->admissions = prom_counter(p, "dungeongate_admissions_total",
	    "Admission decisions on sessions, by outcome.", l, 1);
	l[0] = metrics_label("activity", m->activities, ACT_COUNT);
	m->sessions = prom_gauge(p, "dungeongate_sessions",
	    "Session connections, by what they are doing.", l, 1);

	m->active_workers = prom_gauge(p, "session_worker_active_workers",
	    "Worker threads running a job.", NULL, 0);
	m->worker_queue = prom_gauge(p, "session_worker_queue_size",
	    "Jobs waiting for a worker thread.", NULL, 0);
	m->worker_size = prom_gauge(p, "session_worker_pool_size",
	    "Worker threads the pool may run (pool_size).", NULL, 0);
	l[0] = metrics_label("type", m->work_types, JOB_TYPES);
	m->processing = prom_histogram(p,
	    "session_worker_processing_time_seconds",
	    "How long worker jobs ran, by type.", l, 1, work_buckets,
	    nitems(work_buckets));
	m->utilization = prom_gauge(p, "session_worker_utilization",
	    "Share of the worker pool's threads busy over the last second "
	    "(0 to 1).", NULL, 0);
	l[1] = metrics_label("result", job_results, nitems(job_results));
	m->jobs = prom_counter(p, "session_worker_jobs_total",
	    "Worker jobs by type and result.", l, 2);

	m->active_ptys = prom_gauge(p, "session_pty_active_ptys",
	    "Games running, each on a PTY leased from the pool.", NULL, 0);
	m->available_ptys = prom_gauge(p, "session_pty_available_ptys",
	    "Games that could start now: the smaller of what max_ptys and "
	    "the kernel's PTYs (less a reserve) leave.", NULL, 0);
	m->pty_fds = prom_gauge(p, "session_pty_fd_usage",
	    "Descriptors held on the games' PTYs (masters in the sessions, "
	    "slaves in the games), from the last sample.", NULL, 0);
	m->memory_usage = prom_gauge(p, "session_resource_memory_usage_bytes",
	    "Resident memory of the games' processes, from the last sample.",
	    NULL, 0);
	m->memory_granted = prom_gauge(p,
	    "session_resource_memory_granted_bytes",
	    "Memory slices granted to live games (their RLIMIT_AS).", NULL, 0);
	l[0] = metrics_label("direction", directions, nitems(directions));
	m->bandwidth = prom_counter(p, "session_resource_bandwidth_bytes_total",
	    "Bytes between players and their sessions, as the sessions "
	    "report them (in: from players, out: to players).", l, 1);
	m->cpu_usage = prom_gauge(p, "session_resource_cpu_usage_cores",
	    "CPU the games used over the last second, in cores.", NULL, 0);
	l[0] = metrics_label("type", m->violations, V_COUNT - 1);
	m->violations_total = prom_counter(p,
	    "session_resource_violations_total",
	    "Refusals and enforcement actions, by type.", l, 1);
	l[0] = metrics_label("resource", resources, nitems(resources));
	m->usage_ratio = prom_gauge(p, "dungeongate_resource_usage_ratio",
	    "Share of a limit in use (0 to 1): sessions of max_connections, "
	    "games of max_ptys, the kernel's PTYs, memory granted of "
	    "max_memory, the broker's descriptors of its budget.", l, 1);
	m->games_sampled = prom_gauge(p, "dungeongate_games_sampled",
	    "Games whose processes the last sample found.", NULL, 0);

	/*
	 * Registered whether or not [auth] url is set: a reload may set it,
	 * and the series must not come and go. Without a service they stay
	 * at zero and the breaker closed.
	 */
	l[0] = metrics_label("state", m->breaker_states, BREAKER_STATES);
	m->breaker_state = prom_gauge(p, "dungeongate_auth_breaker_state",
	    "The auth service's circuit breaker: 1 for the state it is in, 0 "
	    "for the others.", l, 1);
	l[0] = metrics_label("to", m->breaker_states, BREAKER_STATES);
	m->breaker_transitions = prom_counter(p,
	    "dungeongate_auth_breaker_transitions_total",
	    "Changes of the circuit breaker's state, by the state entered.",
	    l, 1);
	m->auth_time = prom_histogram(p,
	    "dungeongate_auth_request_duration_seconds",
	    "How long calls to the auth service took, answered or failed "
	    "(a call past worker_timeout counts as worker_timeout).", NULL, 0,
	    m->auth_bounds, WORKER_BUCKETS);
	l[0] = metrics_label("outcome", m->auth_outcomes, AUTH_OUTCOMES);
	m->auth_decisions = prom_counter(p, "dungeongate_auth_decisions_total",
	    "Decisions on accounts with an auth service, by outcome: the "
	    "service's allow or deny (called or kept), a failed call by how "
	    "it failed, or skipped while the breaker is open.", l, 1);
	m->auth_cached = prom_counter(p,
	    "dungeongate_auth_cached_decisions_total",
	    "Decisions taken from a verdict kept within its lifetime, with "
	    "no call.", NULL, 0);
	m->shedding = prom_gauge(p, "dungeongate_load_shedding_active",
	    "Whether new sessions below class high are shed for load (1) or "
	    "not (0).", NULL, 0);
	m->shed_started = prom_counter(p,
	    "dungeongate_load_shedding_started_total",
	    "Times load shedding began.", NULL, 0);
	l[0] = metrics_label("resource", load_resources,
	    nitems(load_resources));
	m->load_ratio = prom_gauge(p, "dungeongate_load_ratio",
	    "The machine's load as the shedder judges it, smoothed over its "
	    "last samples (0 to 1): cpu busy, memory not available.", l, 1);

	l[0] = metrics_label("component", components, nitems(components));
	m->health = prom_gauge(p, "dungeongate_health",
	    "Each component's health as dg-broker --check judges it: 0 "
	    "healthy, 1 degraded, 2 unhealthy.", l, 1);
	m->reload_time = prom_gauge(p,
	    "dungeongate_config_last_reload_timestamp_seconds",
	    "When the configuration was last reloaded or a reload failed (0: "
	    "never).", NULL, 0);
	m->reload_success = prom_gauge(p,
	    "dungeongate_config_last_reload_success",
	    "Whether the last reload succeeded (1) or failed (0); 1 before "
	    "any.", NULL, 0);
	l[0] = metrics_label("result", results, nitems(results));
	m->reloads = prom_counter(p, "dungeongate_config_reloads_total",
	    "Reloads of the configuration, by result.", l, 1);
	l[0] = metrics_label("outcome", rejoin_outcomes,
	    nitems(rejoin_outcomes));
	m->rejoins = prom_counter(p, "dungeongate_rejoins_total",
	    "Sessions that re-registered with a restarted broker: rejoined, "
	    "or refused a claim that could not be verified.", l, 1);
	l[0] = metrics_label("version", versions, nitems(versions));
	m->build_info = prom_gauge(p, "dungeongate_build_info",
	    "The running broker's version (always 1).", l, 1);
	m->bad_frames = prom_counter(p, "dungeongate_bad_frames_total",
	    "Frames or messages from peers that were refused.", NULL, 0);
	m->log_suppressed = prom_counter(p,
	    "dungeongate_log_lines_suppressed_total",
	    "Log lines dropped by the per-peer rate limit.", NULL, 0);
	m->sample_age = prom_gauge(p, "dungeongate_sample_age_seconds",
	    "Age of the broker's last look at the system.", NULL, 0);

	m->cpu_seconds = prom_counter(p, "process_cpu_seconds_total",
	    "CPU time the broker used, user and system.", NULL, 0);
	m->rss = prom_gauge(p, "process_resident_memory_bytes",
	    "The broker's resident memory, from the last sample.", NULL, 0);
	m->open_fds = prom_gauge(p, "process_open_fds",
	    "The broker's open descriptors, from the last sample.", NULL, 0);
	m->max_fds = prom_gauge(p, "process_max_fds",
	    "The broker's descriptor limit (RLIMIT_NOFILE).", NULL, 0);
	m->start_time = prom_gauge(p, "process_start_time_seconds",
	    "When the broker started, in seconds since the epoch.", NULL, 0);

	prom_set(m->reload_success, 0, 1);
	prom_set(m->build_info, 0, 1);
	workers_stats(b->workers, &m->last_stats);
	workers_set_observer(b->workers, metrics_work_done, m);
}

/* Once a second: the worker pool's utilisation since the last tick. */
void
metrics_tick(struct broker *b)
{
	struct metrics		*m = b->metrics;
	struct worker_stats	 st;
	double			 span;

	workers_stats(b->workers, &st);
	span = (double)(st.at_ns - m->last_stats.at_ns) * (st.size > 0 ?
	    st.size : 1);
	if (span > 0) {
		m->last_utilization = (double)(st.busy_ns -
		    m->last_stats.busy_ns) / span;
		if (m->last_utilization < 0)
			m->last_utilization = 0;
		if (m->last_utilization > 1)
			m->last_utilization = 1;
	}
	m->last_stats = st;
}

/* A share of a limit, 0 when there is none. */
static double
metrics_ratio(uint64_t used, uint64_t max)
{
	return max > 0 ? (double)used / (double)max : 0;
}

/* The auth service's figures, its breaker's and the shedder's. */
static void
metrics_collect_auth(struct broker *b)
{
	struct metrics		*m = b->metrics;
	const struct auth_stats	*st = &b->auth;
	enum breaker_state	 state;
	u_int			 i;

	state = breaker_state(&b->breaker, util_now_ms());
	for (i = 0; i < BREAKER_STATES; i++) {
		prom_set(m->breaker_state, i, i == (u_int)state ? 1 : 0);
		prom_set(m->breaker_transitions, i,
		    (double)b->breaker.transitions[i]);
	}
	prom_load_histogram(m->auth_time, 0, st->buckets, nitems(st->buckets),
	    st->seconds);
	for (i = 0; i < AUTH_OUTCOMES; i++)
		prom_set(m->auth_decisions, i, (double)st->outcomes[i]);
	prom_set(m->auth_cached, 0, (double)st->cached);

	prom_set(m->shedding, 0, shed_active(&b->shed) ? 1 : 0);
	prom_set(m->shed_started, 0, (double)b->shed.started);
	prom_set(m->load_ratio, 0, shed_cpu(&b->shed));
	prom_set(m->load_ratio, 1, shed_memory(&b->shed));
}

/* Read every gauge, and the counters other tables keep, from the owners. */
static void
metrics_collect(struct broker *b)
{
	struct metrics		*m = b->metrics;
	const struct config	*cfg = b->cfg;
	struct health_report	 r;
	struct worker_stats	 st;
	struct rusage		 ru;
	struct rlimit		 rl;
	u_int			 i, t, nr = 0, kmax = 0, room, kroom;
	int			 kernel;
	int64_t			 longest;

	prom_set(m->active, 0, b->pool.used);
	prom_set(m->max_connections, 0, b->pool.max);
	prom_set(m->connections, 0, (double)b->pool.admitted);
	for (i = 0; i < CLASS_COUNT; i++)
		prom_set(m->queue_length, i, b->queue.count[i]);
	longest = b->queue.size > 0 ? queue_longest(&b->queue,
	    util_now_ms()) : 0;
	prom_set(m->queue_longest, 0, (double)longest / 1000);
	for (i = 0; i < ACT_COUNT; i++)
		prom_set(m->sessions, i, b->activities[i]);

	workers_stats(b->workers, &st);
	prom_set(m->active_workers, 0, st.busy);
	prom_set(m->worker_queue, 0, st.queued);
	prom_set(m->worker_size, 0, st.size);
	prom_set(m->utilization, 0, m->last_utilization);
	for (t = 0; t < JOB_TYPES; t++) {
		prom_set(m->jobs, t * nitems(job_results) + 0,
		    (double)st.completed[t]);
		prom_set(m->jobs, t * nitems(job_results) + 1,
		    (double)st.timeouts[t]);
		prom_set(m->jobs, t * nitems(job_results) + 2,
		    (double)st.rejected[t]);
	}

	kernel = sample_pty_room(b, &nr, &kmax) == 0;
	room = b->leases.count < cfg->limits_max_ptys ?
	    cfg->limits_max_ptys - b->leases.count : 0;
	if (kernel) {
		kroom = nr + BROKER_PTY_RESERVE < kmax ?
		    kmax - nr - BROKER_PTY_RESERVE : 0;
		if (kroom < room)
			room = kroom;
	}
	prom_set(m->active_ptys, 0, b->leases.count);
	prom_set(m->available_ptys, 0, room);
	prom_set(m->pty_fds, 0, (double)b->pty_fds);
	prom_set(m->memory_usage, 0, (double)b->sample.games_rss);
	prom_set(m->memory_granted, 0, (double)b->leases.memory);
	prom_set(m->cpu_usage, 0, b->sample.games_cpu);
	prom_set(m->games_sampled, 0, b->sample.games_found);
	for (i = V_NONE + 1; i < V_COUNT; i++)
		prom_set(m->violations_total, i - 1,
		    (double)b->violations.n[i]);
	prom_set(m->usage_ratio, 0, metrics_ratio(b->pool.used, b->pool.max));
	prom_set(m->usage_ratio, 1, metrics_ratio(b->leases.count,
	    cfg->limits_max_ptys));
	prom_set(m->usage_ratio, 2, kernel ? metrics_ratio(nr, kmax) : 0);
	prom_set(m->usage_ratio, 3, metrics_ratio(b->leases.memory,
	    cfg->limits_max_memory));
	prom_set(m->usage_ratio, 4, metrics_ratio(b->sample.open_fds,
	    b->max_clients + BROKER_FD_RESERVE));

	metrics_collect_auth(b);

	health_build(b, &r);
	for (i = 0; i < r.n; i++)
		prom_set(m->health, prom_index(m->health, r.items[i].name,
		    NULL), r.items[i].status);
	health_report_free(&r);
	prom_set(m->reload_time, 0, (double)b->reload_at / 1000);
	prom_set(m->bad_frames, 0, (double)b->bad_frames);
	prom_set(m->log_suppressed, 0, (double)log_peer_suppressed());
	prom_set(m->sample_age, 0, (double)(util_now_ms() - b->sample.at) /
	    1000);

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		prom_set(m->cpu_seconds, 0, (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6);
	prom_set(m->rss, 0, (double)b->sample.rss);
	prom_set(m->open_fds, 0, b->sample.open_fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		prom_set(m->max_fds, 0, (double)rl.rlim_cur);
	prom_set(m->start_time, 0, (double)b->started / 1000);
}

/* The exposition of every series, read now; the caller frees it. */
char *
metrics_render(struct broker *b, size_t *len)
{
	metrics_collect(b);
	return prom_render(b->metrics->prom, len);
}

/*
 * An admission decision on a session: admitted (from the queue when it
 * waited), queued, or refused with a reason; a refusal after a wait in
 * the queue is a timeout.
 */
void
metrics_admission(struct client *c, const char *outcome, const char *reason,
    int64_t waited)
{
	struct metrics	*m = c->broker->metrics;

	prom_inc(m->admissions, prom_index(m->admissions, outcome, NULL));
	if (strcmp(outcome, "refused") == 0)
		metrics_rejected(c->broker, reason);
	if (waited < 0)
		return;
	if (strcmp(outcome, "admitted") == 0)
		prom_observe(m->queue_time, 0, (double)waited / 1000);
	else if (strcmp(outcome, "refused") == 0 &&
	    strcmp(reason, "queue_timeout") == 0)
		prom_observe(m->queue_time, 1, (double)waited / 1000);
}

/* A connection refused before a session began, by its reason. */
void
metrics_rejected(struct broker *b, const char *reason)
{
	struct metrics	*m = b->metrics;

	prom_inc(m->rejected, prom_index(m->rejected, reason, NULL));
}

/* Bytes a session reported since its last report. */
void
metrics_bandwidth(struct broker *b, uint64_t in, uint64_t out)
{
	struct metrics	*m = b->metrics;

	prom_add(m->bandwidth, 0, (double)in);
	prom_add(m->bandwidth, 1, (double)out);
}

/* A reload ended: when, and whether it worked. */
void
metrics_reload(struct broker *b, int ok)
{
	struct metrics	*m = b->metrics;

	b->reload_at = util_wall_ms();
	b->reload_ok = ok;
	prom_set(m->reload_success, 0, ok ? 1 : 0);
	prom_inc(m->reloads, ok ? 0 : 1);
}

/* A session that came back after a restart: rejoined or refused. */
void
metrics_rejoin(struct broker *b, const char *outcome)
{
	struct metrics	*m = b->metrics;

	prom_inc(m->rejoins, prom_index(m->rejoins, outcome, NULL));
}

/* Free the series. */
void
metrics_free(struct broker *b)
{
	if (b->metrics == NULL)
		return;
	prom_free(b->metrics->prom);
	free(b->metrics);
	b->metrics = NULL;
}
