/*
 * Admission and leases: a session's hello goes through the user's quota
 * and the connection pool, or waits in the priority queue, or is refused
 * with a reason; a game goes through the PTY pool, the user's PTY and
 * memory quotas and the system's limits. Every refusal is counted as a
 * violation by type. Bandwidth shares are pushed to sessions whenever
 * the number of sessions changes.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

static const char *violation_names[V_COUNT] = {
	"user_connections",
	"user_ptys",
	"user_memory",
	"game_busy",
	"ptys_full",
	"ptys_exhausted",
	"memory_full",
	"queue_full",
	"queue_timeout",
	"fd_budget",
	"pending",
	"bandwidth",
	"cpu",
};

static void	admit_queue_changed(struct broker *);

/* A violation's name, for --status. */
const char *
admit_violation_name(enum violation v)
{
	return violation_names[v];
}

/* Count a refusal or an enforcement action. */
void
admit_violation(struct broker *b, enum violation v)
{
	b->violations[v]++;
}

/* The user's tier now (a reload may have removed theirs). */
static const struct config_quota *
admit_tier(struct client *c)
{
	const struct config_quota	*q = NULL;

	if (c->u->tier != NULL)
		q = config_find_quota(c->broker->cfg, c->u->tier);
	if (q == NULL)
		q = config_find_quota(c->broker->cfg, "default");
	return q;
}

/* Send a refusal that leaves the connection open (a game refused). */
static void
admit_refuse_game(struct client *c, const char *reason, const char *message)
{
	log_info("game refused", "user=%s ticket=%s reason=%s", c->user,
	    c->ticket, reason);
	client_send(c, json_pack("{s:s, s:s, s:s}", "type", "refused",
	    "reason", reason, "message", message));
}

/* Build the ticket a session gets: its id, deadline and menu. */
static json_t *
admit_ticket(struct client *c)
{
	struct config	*cfg = c->broker->cfg;
	json_t		*games, *g;
	u_int		 i;
	char		 key[2];

	games = json_array();
	for (i = 0; i < cfg->ngames; i++) {
		key[0] = cfg->games[i].key;
		key[1] = '\0';
		g = json_pack("{s:s, s:s, s:s}", "id", cfg->games[i].id,
		    "name", cfg->games[i].name, "key", key);
		json_array_append_new(games, g);
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:o}",
	    "type", "ticket",
	    "id", c->ticket,
	    "user", c->user,
	    "expires", (json_int_t)((util_wall_ms() +
		client_expiry_after(c->broker)) / 1000),
	    "idle_timeout", (json_int_t)((cfg->pool_idle_timeout + 999) / 1000),
	    "online", (int)c->broker->pool.used,
	    "games", games);
}

/* The session has its slot: give it a ticket. */
static void
admit_grant(struct client *c, int64_t waited)
{
	struct broker	*b = c->broker;

	c->holds_slot = 1;
	c->u->sessions++;
	c->state = CLIENT_SESSION;
	c->last_input = util_now_ms();
	util_random_id('t', c->ticket, sizeof c->ticket);
	client_schedule_expiry(c);
	client_set_activity(c, ACT_MENU);
	log_info("admitted", "user=%s ticket=%s pid=%ld class=%s queue_ms=%lld "
	    "remote=%s term=%s size=%ux%u online=%u", c->user, c->ticket,
	    (long)c->pid, quota_class_name(c->class), (long long)waited,
	    log_quote(c->remote != NULL ? c->remote : "-"),
	    log_quote(c->term != NULL ? c->term : "-"), c->cols, c->rows,
	    b->pool.used);
	client_send(c, admit_ticket(c));
	admit_push_shares(b);
}

/*
 * A session's hello: the user's quota, then a slot in the pool, else a
 * place in the queue, else a refusal. Each refusal says why.
 */
void
admit_hello(struct client *c, json_t *hello)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = admit_tier(c);
	const char			*remote = NULL, *term = NULL, *cmd = NULL;
	const char			*reason;
	json_int_t			 cols = 0, rows = 0;
	char				*message;

	if (json_unpack(hello, "{s?s, s?s, s?I, s?I, s?s}", "remote", &remote,
	    "term", &term, "cols", &cols, "rows", &rows, "command", &cmd) != 0)
		fatalx("validated hello does not unpack");
	if (remote != NULL)
		c->remote = xstrdup(remote);
	if (term != NULL)
		c->term = xstrdup(term);
	c->cols = (u_int)cols;
	c->rows = (u_int)rows;
	c->class = quota_class(c->is_admin, q->priority);
	log_debug("hello", "user=%s pid=%ld tier=%s class=%s command=%s",
	    c->user, (long)c->pid, q->name, quota_class_name(c->class),
	    log_quote(cmd != NULL ? cmd : ""));

	if (b->stopping) {
		client_close(c, "refused", REASON_SHUTDOWN, "DungeonGate is "
		    "shutting down; please try again in a moment.");
		return;
	}
	if (b->draining) {
		client_close(c, "refused", REASON_DRAINING, "DungeonGate is "
		    "restarting for maintenance; please come back in a few "
		    "minutes.");
		return;
	}
	if (quota_check_session(c->u, q, &reason, &message) != 0) {
		admit_violation(b, V_USER_CONNECTIONS);
		log_info("refused", "user=%s pid=%ld reason=%s tier=%s",
		    c->user, (long)c->pid, reason, q->name);
		client_close(c, "refused", reason, message);
		free(message);
		return;
	}
	if (pool_admit(&b->pool) == 0) {
		admit_grant(c, 0);
		return;
	}
	if (queue_push(&b->queue, c->id, c->class, util_now_ms(),
	    (int64_t)b->cfg->pool_queue_timeout) == 0) {
		c->state = CLIENT_QUEUED;
		c->u->queued++;
		/* The queue's own deadline governs now, not the hello's. */
		evtimer_del(c->expiry);
		client_set_activity(c, ACT_QUEUED);
		log_info("queued", "user=%s pid=%ld class=%s position=%u",
		    c->user, (long)c->pid, quota_class_name(c->class),
		    queue_position(&b->queue, c->id));
		admit_queue_changed(b);
		return;
	}
	admit_violation(b, V_QUEUE_FULL);
	log_info("refused", "user=%s pid=%ld reason=%s online=%u max=%u "
	    "queued=%u", c->user, (long)c->pid, REASON_QUEUE_FULL,
	    b->pool.used, b->pool.max, b->queue.size);
	xasprintf(&message, "DungeonGate is full (%u player%s online); try "
	    "again in %d s", b->pool.used, b->pool.used == 1 ? "" : "s",
	    BROKER_RETRY_AFTER);
	client_close(c, "refused", REASON_QUEUE_FULL, message);
	free(message);
}

/* Tell every queued session its place and estimate, when they changed. */
static void
admit_queue_tell(struct broker *b)
{
	struct client	*c;
	int64_t		 now = util_now_ms();
	u_int		 pos;
	int		 eta;

	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->state != CLIENT_QUEUED)
			continue;
		pos = queue_position(&b->queue, c->id);
		eta = queue_eta(&b->queue, pos, now);
		if (pos == c->queue_pos && eta == c->queue_eta)
			continue;
		c->queue_pos = pos;
		c->queue_eta = eta;
		client_send(c, json_pack("{s:s, s:i, s:i, s:s, s:i}",
		    "type", "queued", "position", (int)pos, "eta", eta,
		    "class", quota_class_name(c->class), "online",
		    (int)b->pool.used));
	}
}

/* Arm the deadline timer for the earliest entry, and the refresh tick. */
static void
admit_queue_schedule(struct broker *b)
{
	struct timeval	 tv;
	int64_t		 next;

	if ((next = queue_next_deadline(&b->queue)) == -1) {
		evtimer_del(b->queue_timer);
		evtimer_del(b->queue_tick);
		return;
	}
	tv = util_timeval_ms(next - util_now_ms());
	evtimer_add(b->queue_timer, &tv);
	if (!evtimer_pending(b->queue_tick, NULL)) {
		tv.tv_sec = BROKER_QUEUE_TICK;
		tv.tv_usec = 0;
		evtimer_add(b->queue_tick, &tv);
	}
}

/* The queue changed: tell who waits, and rearm the timers. */
static void
admit_queue_changed(struct broker *b)
{
	admit_queue_tell(b);
	admit_queue_schedule(b);
}

/* Deadlines passed: refuse those who waited queue_timeout. */
static void
admit_queue_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;
	struct client	*c;
	uint64_t	 id;
	char		*d, *message;

	d = config_format_duration(b->cfg->pool_queue_timeout);
	xasprintf(&message, "DungeonGate stayed full for %s; please try again "
	    "in a moment.", d);
	while ((id = queue_expire(&b->queue, util_now_ms())) != 0) {
		if ((c = client_find(b, id)) == NULL)
			continue;
		c->u->queued--;
		admit_violation(b, V_QUEUE_TIMEOUT);
		log_info("refused", "user=%s pid=%ld reason=%s class=%s",
		    c->user, (long)c->pid, REASON_QUEUE_TIMEOUT,
		    quota_class_name(c->class));
		/* Out of the queue already: closing must not take it again. */
		c->state = CLIENT_NEW;
		client_close(c, "refused", REASON_QUEUE_TIMEOUT, message);
	}
	free(message);
	free(d);
	admit_queue_changed(b);
}

/* Once a second: fresh estimates for those who wait. */
static void
admit_queue_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;

	evtimer_del(b->queue_tick);
	admit_queue_changed(b);
}

/* Admit queued sessions while the pool has room, best class first. */
void
admit_from_queue(struct broker *b)
{
	struct client	*c;
	uint64_t	 id;
	int64_t		 waited;
	int		 changed = 0;

	if (b->stopping || b->draining)
		return;
	while (b->pool.used < b->pool.max && b->queue.size > 0) {
		id = queue_pop(&b->queue, util_now_ms(), &waited);
		changed = 1;
		if ((c = client_find(b, id)) == NULL)
			continue;
		c->u->queued--;
		if (pool_admit(&b->pool) != 0)
			fatalx("pool refused with room");
		admit_grant(c, waited);
	}
	if (changed)
		admit_queue_changed(b);
}

/* End a client's lease: its game exited, or the client went. */
static void
admit_lease_end(struct client *c, const char *reason, long long status,
    long long sig)
{
	struct broker	*b = c->broker;
	struct lease	*l = c->lease;

	log_info("game ended", "user=%s ticket=%s lease=%s game=%s reason=%s "
	    "status=%lld signal=%lld seconds=%lld", c->user, c->ticket, l->id,
	    l->game, reason, status, sig,
	    (long long)((util_wall_ms() - c->game_since) / 1000));
	b->memory -= l->memory;
	c->u->memory -= l->memory;
	c->u->ptys--;
	lease_release(&b->leases, l);
	c->lease = NULL;
}

/* Give back what a leaving client holds: its place, game and slot. */
void
admit_release(struct client *c)
{
	struct broker	*b = c->broker;
	int64_t		 now = util_now_ms();

	if (c->state == CLIENT_QUEUED) {
		queue_remove(&b->queue, c->id, now);
		c->u->queued--;
		c->state = CLIENT_NEW;
		log_info("left the queue", "user=%s pid=%ld", c->user,
		    (long)c->pid);
		admit_queue_changed(b);
	}
	if (c->lease != NULL)
		admit_lease_end(c, "disconnect", -1, 0);
	if (c->holds_slot) {
		pool_release(&b->pool);
		c->u->sessions--;
		c->holds_slot = 0;
		log_info("session ended", "user=%s ticket=%s pid=%ld "
		    "seconds=%lld bytes_in=%llu bytes_out=%llu online=%u",
		    c->user, c->ticket, (long)c->pid,
		    (long long)((util_wall_ms() - c->since) / 1000),
		    (unsigned long long)c->bytes_in,
		    (unsigned long long)c->bytes_out, b->pool.used);
		queue_departure(&b->queue, now);
		admit_from_queue(b);
		admit_push_shares(b);
	}
	broker_drain_check(b);
}

/*
 * Kernel PTYs in use and available (/proc/sys/kernel/pty/nr and max).
 * Returns 0, or -1 when the kernel does not say.
 */
int
admit_pty_room(struct broker *b, u_int *nr, u_int *max)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen("/proc/sys/kernel/pty/nr", "r")) == NULL)
		return -1;
	ok = fscanf(f, "%u", nr) == 1;
	fclose(f);
	if (!ok || (f = fopen("/proc/sys/kernel/pty/max", "r")) == NULL)
		return -1;
	ok = fscanf(f, "%u", max) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* The lease message: the command line, environment and limits. */
static json_t *
admit_lease_msg(struct client *c, const struct config_game *g,
    const struct config_quota *q, struct lease *l)
{
	json_t	*argv, *env, *msg;
	char	**args, *cause, *e;
	u_int	 i;

	if (config_expand_command(g->command, c->user, c->home, &args,
	    &cause) != 0)
		fatalx("validated command does not expand: %s", cause);
	argv = json_array();
	for (i = 0; args[i] != NULL; i++)
		json_array_append_new(argv, json_string(args[i]));
	config_free_argv(args);
	env = json_array();
	for (i = 0; i < g->nenv; i++) {
		e = config_expand(g->env[i], c->user, c->home);
		json_array_append_new(env, json_string(e));
		free(e);
	}
	msg = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, "
	    "s:{s:i, s:i, s:I}, s:i}",
	    "type", "lease",
	    "id", l->id,
	    "game", g->id,
	    "name", g->name,
	    "argv", argv,
	    "env", env,
	    "home", c->home,
	    "rlimits", "core", 0, "nofile", BROKER_GAME_NOFILE,
		"as", (json_int_t)g->memory,
	    "cpu_millicores", (int)(q->max_cpu_cores * 1000 + 0.5));
	/* (max_cpu_cores is at least 0.001: at least one millicore.) */
	if (*g->rcfile != '\0') {
		xasprintf(&e, "%s/%s", c->home, g->rcfile);
		json_object_set_new(msg, "rcfile", json_string(e));
		free(e);
	}
	return msg;
}

/*
 * Start a game: one live game per user per game, within the user's PTY
 * and memory quotas, the system's PTY and memory limits and what the
 * kernel has left.
 */
void
admit_play(struct client *c, json_t *msg)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = admit_tier(c);
	const struct config_game	*g;
	struct lease			*l;
	const char			*id, *reason;
	json_int_t			 cols, rows;
	char				*message;
	u_int				 nr, max;
	enum violation			 v;

	if (json_unpack(msg, "{s:s, s:I, s:I}", "game", &id, "cols", &cols,
	    "rows", &rows) != 0)
		fatalx("validated play lacks fields");
	if (c->lease != NULL) {
		client_close(c, "error", REASON_UNEXPECTED,
		    "this session already runs a game");
		return;
	}
	c->cols = (u_int)cols;
	c->rows = (u_int)rows;
	if (b->draining) {
		admit_refuse_game(c, REASON_DRAINING, "DungeonGate is about to "
		    "restart for maintenance; no new games now.");
		return;
	}
	if ((g = config_find_game(b->cfg, id)) == NULL) {
		xasprintf(&message, "There is no game called \"%s\" here.", id);
		admit_refuse_game(c, REASON_NO_GAME, message);
		free(message);
		return;
	}
	if (lease_find_game(&b->leases, c->user, g->id) != NULL) {
		admit_violation(b, V_GAME_BUSY);
		xasprintf(&message, "You already have a game of %s running in "
		    "another session; it has to end before you start another.",
		    g->name);
		admit_refuse_game(c, REASON_GAME_BUSY, message);
		free(message);
		return;
	}
	if (quota_check_lease(c->u, q, b->cfg, b->leases.count, b->memory,
	    g->memory, &reason, &message) != 0) {
		v = strcmp(reason, "user_ptys") == 0 ? V_USER_PTYS :
		    strcmp(reason, "ptys_full") == 0 ? V_PTYS_FULL :
		    strcmp(reason, "user_memory") == 0 ? V_USER_MEMORY :
		    V_MEMORY_FULL;
		admit_violation(b, v);
		admit_refuse_game(c, reason, message);
		free(message);
		return;
	}
	if (admit_pty_room(b, &nr, &max) == 0 &&
	    nr + BROKER_PTY_RESERVE >= max) {
		/* Refuse now rather than let openpty fail in the session. */
		admit_violation(b, V_PTYS_EXHAUSTED);
		log_warn("kernel PTYs nearly exhausted", "nr=%u max=%u", nr,
		    max);
		admit_refuse_game(c, REASON_PTYS_EXHAUSTED, "DungeonGate's host "
		    "has run out of terminals for games; please try again "
		    "later.");
		return;
	}

	l = lease_acquire(&b->leases, c->user, g->id, c->id, util_wall_ms());
	l->memory = g->memory;
	b->memory += l->memory;
	c->u->memory += l->memory;
	c->u->ptys++;
	c->lease = l;
	c->game_since = util_wall_ms();
	client_set_activity(c, ACT_PLAYING);
	log_info("game started", "user=%s ticket=%s lease=%s game=%s size=%ux%u "
	    "memory=%llu", c->user, c->ticket, l->id, g->id, c->cols, c->rows,
	    (unsigned long long)l->memory);
	client_send(c, admit_lease_msg(c, g, q, l));
}

/* The session's game has exited: end its lease. */
void
admit_game_end(struct client *c, json_t *msg)
{
	const char	*id;
	json_int_t	 status = -1, sig = 0;

	if (json_unpack(msg, "{s:s, s?I, s?I}", "lease", &id, "status",
	    &status, "signal", &sig) != 0)
		fatalx("validated game_end lacks lease");
	if (c->lease == NULL || strcmp(c->lease->id, id) != 0) {
		client_close(c, "error", REASON_BAD_MESSAGE,
		    "game_end for a lease this session does not hold");
		return;
	}
	admit_lease_end(c, "exit", (long long)status, (long long)sig);
	client_set_activity(c, ACT_MENU);
}

/*
 * The session's report: how long its player has been idle, its byte
 * counters, and what it had to enforce since the last report.
 */
void
admit_keepalive(struct client *c, json_t *msg)
{
	struct broker	*b = c->broker;
	json_int_t	 idle, in = -1, out = -1, bw = 0, cpu = 0;
	const char	*mech = NULL;
	int64_t		 idle_after, now, since;

	if (json_unpack(msg, "{s:I, s?I, s?I, s?I, s?I, s?s}", "idle", &idle,
	    "bytes_in", &in, "bytes_out", &out, "bandwidth_waits", &bw,
	    "cpu_stops", &cpu, "cpu_mechanism", &mech) != 0)
		fatalx("validated keepalive does not unpack");
	c->last_input = util_now_ms() - (int64_t)idle * 1000;
	client_schedule_expiry(c);
	if (in >= 0)
		c->bytes_in = (uint64_t)in;
	if (out >= 0)
		c->bytes_out = (uint64_t)out;
	/*
	 * A report can only hold what could have happened since the last:
	 * a bandwidth hold per millisecond, a CPU stop per duty-cycle tick.
	 */
	now = util_now_ms();
	since = now - c->last_report;
	if (since < 1)
		since = 1;
	c->last_report = now;
	b->violations[V_BANDWIDTH] += (uint64_t)(bw < since ? bw : since);
	b->violations[V_CPU] += (uint64_t)(cpu < since / 50 + 1 ? cpu :
	    since / 50 + 1);
	if (mech != NULL && (c->cpu_mechanism == NULL ||
	    strcmp(c->cpu_mechanism, mech) != 0)) {
		free(c->cpu_mechanism);
		c->cpu_mechanism = xstrdup(mech);
	}

	/* Idle: quiet for half the idle timeout, at most a minute. */
	idle_after = (int64_t)b->cfg->pool_idle_timeout / 2;
	if (idle_after > 60000)
		idle_after = 60000;
	if ((int64_t)idle * 1000 >= idle_after)
		client_set_activity(c, ACT_IDLE);
	else
		client_set_activity(c, c->lease != NULL ? ACT_PLAYING :
		    ACT_MENU);
}

/*
 * Push each session its share of bandwidth: its user's quota split over
 * the user's sessions, within the system's limit split over everyone.
 */
void
admit_push_shares(struct broker *b)
{
	const struct config_quota	*q;
	struct client			*c;
	uint64_t			 share;

	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->state != CLIENT_SESSION || c->dead)
			continue;
		q = admit_tier(c);
		share = quota_bandwidth_share(q->max_bandwidth,
		    c->u->sessions, b->cfg->limits_max_bandwidth, b->pool.used);
		if (share < 1)
			share = 1;
		/*
		 * Small moves of the system's share as players come and go are
		 * not worth a message to everyone: push changes of 5% or more.
		 */
		if (c->bandwidth != 0 && share <= c->bandwidth +
		    c->bandwidth / 20 && share + c->bandwidth / 20 >=
		    c->bandwidth)
			continue;
		c->bandwidth = share;
		client_send(c, json_pack("{s:s, s:I}", "type", "limits",
		    "bandwidth", (json_int_t)share));
	}
}

/* Set up the queue and its timers. */
void
admit_queue_init(struct broker *b)
{
	queue_init(&b->queue, b->cfg->pool_queue_size,
	    b->cfg->pool_enable_prioritization);
	b->queue_timer = evtimer_new(b->base, admit_queue_timer_cb, b);
	b->queue_tick = evtimer_new(b->base, admit_queue_tick_cb, b);
}

/* Free the queue and its timers. */
void
admit_queue_free(struct broker *b)
{
	queue_free(&b->queue);
	event_free(b->queue_timer);
	event_free(b->queue_tick);
}
