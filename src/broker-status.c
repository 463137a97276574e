/*
 * Status (--status): everything the broker holds, as JSON, for root and
 * admin_group (checked in broker-client.c), within the request rate.
 * Every figure is read from the table that owns it. Text that peers
 * supplied (the session's remote address) is shown as the session
 * reported it, escaped.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "broker.h"

/* One session's line in --status. */
static json_t *
status_session(struct broker *b, struct client *c, int64_t now,
    const struct idmap *places)
{
	json_t	*o, *history;
	char	*remote;
	u_int	 i;

	remote = util_escape(c->remote != NULL ? c->remote : "", 256);
	history = json_array();
	for (i = 0; i < c->nhistory; i++) {
		json_array_append_new(history, json_pack("{s:s, s:I}",
		    "state", client_activity_name(c->history[i].activity),
		    "at", (json_int_t)(c->history[i].at / 1000)));
	}
	o = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:i, s:i, s:s, s:s, "
	    "s:s, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "ticket", c->ticket,
	    "user", client_name(c),
	    "uid", (int)c->uid,
	    "pid", (int)c->pid,
	    "remote", remote,
	    "term", c->term != NULL ? c->term : "",
	    "cols", (int)c->cols,
	    "rows", (int)c->rows,
	    "state", client_activity_name(c->activity),
	    "tier", user_tier(c->u, b->cfg)->name,
	    "class", quota_class_name(c->class),
	    "since", (json_int_t)(c->since / 1000),
	    "seconds", (json_int_t)((now - c->since) / 1000),
	    "idle_seconds",
	    (json_int_t)(c->state == CLIENT_SESSION ?
	    (util_now_ms() - c->last_input) / 1000 : 0),
	    "bytes_in", (json_int_t)c->bytes_in,
	    "bytes_out", (json_int_t)c->bytes_out,
	    "history", history);
	free(remote);
	if (c->remote != NULL)
		json_object_set_new(o, "remote_source",
		    json_string("reported by the session"));
	if (c->state == CLIENT_QUEUED)
		json_object_set_new(o, "queue_position", json_integer(
		    (json_int_t)idmap_count(places, c->id)));
	if (c->state == CLIENT_SESSION)
		json_object_set_new(o, "bandwidth", json_integer(
		    (json_int_t)c->bandwidth));
	json_object_set_new(o, "output_queued", json_integer((json_int_t)
	    evbuffer_get_length(bufferevent_get_output(c->bev))));
	if (c->watching != NULL) {
		json_object_set_new(o, "watching", json_string(
		    c->watching->user));
		json_object_set_new(o, "watch_behind", json_boolean(
		    c->watch_behind));
	}
	if (c->live != NULL) {
		json_object_set_new(o, "watchers", json_integer(
		    (json_int_t)c->live->nwatchers));
		json_object_set_new(o, "stream_offset", json_integer(
		    (json_int_t)c->live->offset));
		json_object_set_new(o, "stream_gaps", json_integer(
		    (json_int_t)c->live->gaps));
	}
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
status_user(struct broker *b, struct user *u)
{
	const struct config_quota	*q = user_tier(u, b->cfg);
	struct quota_usage		 use = admit_usage(b, u->uid);
	int				 admin = user_is_admin(u, b->cfg);
	u_int				 sessions = pool_user(&b->pool, u->uid);

	return json_pack("{s:s, s:i, s:s, s:s, s:b, s:{s:i, s:i}, s:i, "
	    "s:{s:i, s:i}, s:{s:I, s:I}, s:{s:I, s:I}, s:f}",
	    "user", u->name,
	    "uid", (int)u->uid,
	    "tier", q->name,
	    "class", quota_class_name(quota_class(admin, q->priority)),
	    "admin", admin,
	    "sessions", "used", (int)sessions, "max",
	    (int)q->max_connections,
	    "queued", (int)queue_user(&b->queue, u->uid),
	    "ptys", "used", (int)use.ptys, "max", (int)q->max_ptys,
	    "memory", "used", (json_int_t)use.memory, "max",
	    (json_int_t)q->max_memory,
	    "bandwidth", "max", (json_int_t)q->max_bandwidth, "per_session",
	    (json_int_t)quota_bandwidth_share(q->max_bandwidth, sessions,
	    b->cfg->limits_max_bandwidth, b->pool.used),
	    "cpu_cores", q->max_cpu_cores);
}

/* The auth service: its breaker, its calls and the verdicts kept. */
static json_t *
status_auth(struct broker *b)
{
	enum breaker_state	 st = breaker_state(&b->breaker, util_now_ms());
	json_t			*outcomes, *transitions, *o;
	int64_t			 next = breaker_next_probe(&b->breaker);
	u_int			 i, calls, failures;

	outcomes = json_object();
	for (i = 0; i < AUTH_OUTCOMES; i++)
		json_object_set_new(outcomes, auth_outcome_name(i),
		    json_integer((json_int_t)b->auth.outcomes[i]));
	transitions = json_object();
	for (i = 0; i < BREAKER_STATES; i++)
		json_object_set_new(transitions, breaker_state_name(i),
		    json_integer((json_int_t)b->breaker.transitions[i]));
	auth_error_rate(b, &calls, &failures);
	o = json_pack("{s:b, s:s, s:{s:s, s:i, s:i, s:I, s:o}, s:o, s:I, "
	    "s:I, s:i, s:i, s:i}",
	    "enabled", *b->cfg->auth_url != '\0',
	    "on_failure", b->cfg->auth_on_failure == AUTH_ON_FAILURE_DENY ?
	    "deny" : b->cfg->auth_on_failure == AUTH_ON_FAILURE_ALLOW ?
	    "allow" : "cached",
	    "breaker",
		"state", breaker_state_name(st),
		"failures", (int)b->breaker.failures,
		"threshold", (int)b->breaker.threshold,
		"next_probe_ms", (json_int_t)(next > 0 ? next - util_now_ms() :
		    -1),
		"transitions_total", transitions,
	    "outcomes_total", outcomes,
	    "cached_total", (json_int_t)b->auth.cached,
	    "calls_total", (json_int_t)b->auth.count,
	    "calls_last_minute", (int)calls,
	    "failures_last_minute", (int)failures,
	    "cached_verdicts", (int)auth_cached(b));
	return o;
}

/* Note one queued client's place in line. */
static void
status_place(const struct qentry *e, u_int pos, void *arg)
{
	idmap_count_add(arg, e->client, (int)pos);
}

/* Everything the broker holds, for --status. */
json_t *
status_json(struct broker *b)
{
	const struct config	*cfg = b->cfg;
	struct idmap_cursor	 cur;
	struct idmap		 places;
	struct client		*c, *holder;
	struct user		*u;
	json_t			*sessions, *games, *leases, *users, *classes;
	json_t			*o;
	const struct lease	*l;
	int64_t			 now = util_wall_ms();
	u_int			 i, admins = 0, pending = 0, nr = 0, kmax = 0;
	void			*v;

	/* Every place in line from one walk of the queue. */
	idmap_init(&places);
	queue_walk(&b->queue, status_place, &places);
	sessions = json_array();
	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->state == CLIENT_ADMIN)
			admins++;
		else if (c->state == CLIENT_NEW)
			pending++;
		else if (c->state == CLIENT_SESSION ||
		    c->state == CLIENT_QUEUED)
			json_array_append_new(sessions,
			    status_session(b, c, now, &places));
	}
	idmap_clear(&places, NULL);
	users = json_array();
	memset(&cur, 0, sizeof cur);
	while (idmap_next(&b->users.by_uid, &cur, NULL, &v)) {
		u = v;
		if (u->known && (pool_user(&b->pool, u->uid) > 0 ||
		    queue_user(&b->queue, u->uid) > 0))
			json_array_append_new(users, status_user(b, u));
	}
	games = json_array();
	for (i = 0; i < cfg->ngames; i++) {
		json_array_append_new(games, json_pack("{s:s, s:s, s:s#, s:i, "
		    "s:I}",
		    "id", cfg->games[i].id, "name", cfg->games[i].name,
		    "key", &cfg->games[i].key, (size_t)1,
		    "playing", (int)leases_count_game(&b->leases,
		    cfg->games[i].id),
		    "memory", (json_int_t)cfg->games[i].memory));
	}
	leases = json_array();
	TAILQ_FOREACH(l, &b->leases.list, entry) {
		holder = client_find(b, l->client);
		json_array_append_new(leases, json_pack("{s:s, s:s, s:i, s:s, "
		    "s:I, s:I}", "id", l->id, "user", holder != NULL ?
		    client_name(holder) : "-", "uid", (int)l->uid, "game",
		    l->game,
		    "memory", (json_int_t)l->memory,
		    "seconds", (json_int_t)((now - l->started) / 1000)));
	}
	classes = json_object();
	for (i = 0; i < CLASS_COUNT; i++)
		json_object_set_new(classes, quota_class_name(i),
		    json_integer(b->queue.count[i]));

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
		"granted", (json_int_t)b->leases.memory,
		"max", (json_int_t)cfg->limits_max_memory,
	    "descriptors",
		"open", (int)b->sample.open_fds,
		"budget", (int)cfg->limits_max_file_descriptors,
		"max_connections", (int)b->max_clients,
	    "worker_pool", workers_status(b->workers));
	if (sample_pty_room(b, &nr, &kmax) == 0) {
		json_object_set_new(json_object_get(o, "pty_pool"),
		    "kernel_in_use", json_integer(nr));
		json_object_set_new(json_object_get(o, "pty_pool"),
		    "kernel_max", json_integer(kmax));
	}
	json_object_set_new(o, "sample", json_pack("{s:I}", "age_ms",
	    (json_int_t)(util_now_ms() - b->sample.at)));
	json_object_set_new(o, "auth", status_auth(b));
	json_object_set_new(o, "load_shedding", json_pack("{s:b, s:b, s:f, "
	    "s:f, s:f, s:f, s:I}", "enabled", cfg->shed_enabled,
	    "shedding", shed_active(&b->shed), "cpu", shed_cpu(&b->shed),
	    "memory", shed_memory(&b->shed), "cpu_threshold",
	    cfg->shed_cpu_threshold, "memory_threshold",
	    cfg->shed_memory_threshold, "started_total",
	    (json_int_t)b->shed.started));
	json_object_set_new(o, "users", users);
	json_object_set_new(o, "games", games);
	json_object_set_new(o, "leases", leases);
	json_object_set_new(o, "sessions", sessions);
	json_object_set_new(o, "violations", violations_json(&b->violations));
	json_object_set_new(o, "spectate", watch_status(b));
	json_object_set_new(o, "recording", record_status(b));
	json_object_set_new(o, "rejoins", json_pack("{s:I, s:I}", "rejoined",
	    (json_int_t)b->rejoins, "refused", (json_int_t)b->rejoins_refused));
	return o;
}

/* Answer --status. */
void
status_reply(struct client *c)
{
	client_send(c, json_pack("{s:s, s:o}", "type", "status", "status",
	    status_json(c->broker)));
}
