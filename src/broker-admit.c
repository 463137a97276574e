/*
 * Admission: a session's hello goes through the user's quota and the
 * connection pool, or waits in the priority queue (broker-wait.c), or is
 * refused with a reason; a game goes through the user's PTY and memory
 * quotas, the system's limits and what the kernel has left, and gets a
 * lease. Every refusal is counted as a violation by type. Each count a
 * decision needs is read from the table that owns it. Every decision on
 * a session is one log line (admitted, queued or refused, with its
 * reason, class and time in the queue) and a count in the metrics.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* Count a refusal or an enforcement action. */
void
admit_violation(struct broker *b, enum violation v)
{
	violations_add(&b->violations, v, 1);
}

/* What uid and the system hold now, from the pool, queue and leases. */
struct quota_usage
admit_usage(struct broker *b, uid_t uid)
{
	struct quota_usage	 use;

	use.sessions = pool_user(&b->pool, uid) + queue_user(&b->queue, uid);
	use.ptys = leases_user_count(&b->leases, uid);
	use.memory = leases_user_memory(&b->leases, uid);
	use.sys_ptys = b->leases.count;
	use.sys_memory = b->leases.memory;
	return use;
}

/*
 * Log and count one admission decision: outcome admitted, queued or
 * refused, with its reason ("-" for none) and how long the session had
 * waited in the queue (-1: it never was in it).
 */
void
admit_decision(struct client *c, const char *outcome, const char *reason,
    int64_t waited)
{
	log_peer(LOG_LEVEL_INFO, c->uid, outcome, "user=%s " CLIENT_LOG_FIELDS
	    " outcome=%s reason=%s class=%s queue_ms=%lld pid=%ld",
	    client_name(c), CLIENT_LOG_ARGS(c), outcome, reason,
	    quota_class_name(c->class), (long long)(waited < 0 ? 0 : waited),
	    (long)c->pid);
	metrics_admission(c, outcome, reason, waited);
}

/* Send a refusal that leaves the connection open (a game refused). */
static void
admit_refuse_game(struct client *c, const char *reason, const char *message)
{
	log_peer(LOG_LEVEL_INFO, c->uid, "game refused", "user=%s ticket=%s "
	    "reason=%s", client_name(c), c->ticket, reason);
	client_send(c, json_pack("{s:s, s:s, s:s}", "type", "refused",
	    "reason", reason, "message", message));
}

/* Build the ticket a session gets: its id, deadline and menu. */
static json_t *
admit_ticket(struct client *c)
{
	struct config	*cfg = c->broker->cfg;
	json_t		*games, *g, *t;
	u_int		 i;
	char		 key[2];

	games = json_array();
	for (i = 0; i < cfg->ngames; i++) {
		key[0] = cfg->games[i].key;
		key[1] = '\0';
		g = json_pack("{s:s, s:s, s:s}", "id", cfg->games[i].id,
		    "name", cfg->games[i].name, "key", key);
		if (*cfg->games[i].rcfile != '\0')
			json_object_set_new(g, "rcfile",
			    json_string(cfg->games[i].rcfile));
		json_array_append_new(games, g);
	}
	t = json_pack("{s:s, s:s, s:s, s:I, s:I, s:i, s:o}",
	    "type", "ticket",
	    "id", c->ticket,
	    "user", c->u->name,
	    "expires", (json_int_t)((util_wall_ms() +
		client_expiry_after(c->broker)) / 1000),
	    "idle_timeout", (json_int_t)((cfg->pool_idle_timeout + 999) / 1000),
	    "online", (int)c->broker->pool.used,
	    "games", games);
	/* The auth service's word for the player, shown once on the menu. */
	if (t != NULL && c->auth_message != NULL)
		json_object_set_new(t, "message",
		    json_string(c->auth_message));
	return t;
}

/* The session has its slot: give it a ticket and its bandwidth share. */
static void
admit_grant(struct client *c, int64_t waited)
{
	c->holds_slot = 1;
	client_set_state(c, CLIENT_SESSION);
	c->last_input = util_now_ms();
	util_random_id('t', c->ticket, sizeof c->ticket);
	client_schedule_expiry(c);
	client_set_activity(c, ACT_MENU);
	log_peer(LOG_LEVEL_INFO, c->uid, "admitted", "user=%s "
	    CLIENT_LOG_FIELDS " outcome=admitted reason=- class=%s queue_ms=%lld pid=%ld "
	    "ticket=%s term=%s size=%ux%u", client_name(c), CLIENT_LOG_ARGS(c),
	    quota_class_name(c->class), (long long)(waited < 0 ? 0 : waited),
	    (long)c->pid, c->ticket, log_quote(c->term != NULL ? c->term : "-"),
	    c->cols, c->rows);
	metrics_admission(c, "admitted", "-", waited);
	client_send(c, admit_ticket(c));
	if (!c->dead)
		share_admitted(c);
}

/*
 * Refuse a hello: count it, log it, tell the session and close. A
 * session that was in the queue is refused with the time it waited.
 */
void
admit_refuse(struct client *c, enum violation v, const char *message)
{
	int64_t	 waited = -1;

	if (c->queued_at != 0)
		waited = util_now_ms() - c->queued_at;
	admit_violation(c->broker, v);
	admit_decision(c, "refused", violation_name(v), waited);
	client_close(c, "refused", violation_name(v), message);
}

/*
 * What a session says of its player (where from, the terminal, the ssh
 * command: shown, never trusted) and the class its tier gives it.
 */
static void
admit_session_words(struct client *c, const struct config_quota *q,
    const char *remote, const char *term, const char *cmd, json_int_t cols,
    json_int_t rows)
{
	if (remote != NULL)
		c->remote = xstrdup(remote);
	if (term != NULL)
		c->term = xstrdup(term);
	if (cmd != NULL)
		c->command = xstrdup(cmd);
	c->cols = (u_int)cols;
	c->rows = (u_int)rows;
	c->class = quota_class(user_is_admin(c->u, c->broker->cfg),
	    q->priority);
}

/*
 * A session's hello: what it reports of itself, then the account's
 * verdict (broker-auth.c: the auth service, or the local policy), which
 * goes on in admit_decided, at once or when the service answers.
 */
void
admit_hello(struct client *c, json_t *hello)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = user_tier(c->u, b->cfg);
	const char			*remote = NULL, *term = NULL, *cmd = NULL;
	json_int_t			 cols = 0, rows = 0;

	if (json_unpack(hello, "{s?s, s?s, s?I, s?I, s?s}", "remote", &remote,
	    "term", &term, "cols", &cols, "rows", &rows, "command", &cmd) != 0)
		fatalx("validated hello does not unpack");
	admit_session_words(c, q, remote, term, cmd, cols, rows);
	log_debug("hello", "user=%s pid=%ld tier=%s class=%s command=%s",
	    client_name(c), (long)c->pid, q->name, quota_class_name(c->class),
	    log_quote(cmd != NULL ? cmd : ""));

	if (b->stopping) {
		admit_decision(c, "refused", REASON_SHUTDOWN, -1);
		client_close(c, "refused", REASON_SHUTDOWN, "DungeonGate is "
		    "shutting down; please try again in a moment.");
		return;
	}
	if (b->draining) {
		admit_decision(c, "refused", REASON_DRAINING, -1);
		client_close(c, "refused", REASON_DRAINING, "DungeonGate is "
		    "restarting for maintenance; please come back in a few "
		    "minutes.");
		return;
	}
	auth_decide(c);
}

/*
 * The account may play, in the tier its verdict gave: load shedding for
 * the classes below high, the user's quota, then a slot in the pool,
 * else a place in the queue, else a refusal. Each refusal says why.
 */
void
admit_decided(struct client *c)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = user_tier(c->u, b->cfg);
	struct quota_usage		 use;
	enum violation			 v;
	char				*message;

	if (c->dead || c->state != CLIENT_NEW)
		return;
	c->class = quota_class(user_is_admin(c->u, b->cfg), q->priority);
	if (shed_active(&b->shed) && c->class < CLASS_HIGH) {
		xasprintf(&message, "DungeonGate is under heavy load; please "
		    "try again in %d s", BROKER_RETRY_AFTER);
		admit_violation(b, V_OVERLOADED);
		log_info("refused", "user=%s pid=%ld reason=%s class=%s "
		    "cpu=%.2f memory=%.2f", client_name(c), (long)c->pid,
		    violation_name(V_OVERLOADED), quota_class_name(c->class),
		    shed_cpu(&b->shed), shed_memory(&b->shed));
		metrics_admission(c, "refused", violation_name(V_OVERLOADED),
		    -1);
		client_close(c, "refused", violation_name(V_OVERLOADED),
		    message);
		free(message);
		return;
	}
	use = admit_usage(b, c->uid);
	if ((v = quota_check_session(q, &use)) != V_NONE) {
		message = quota_explain(v, q, b->cfg, &use, 0);
		admit_violation(b, v);
		admit_decision(c, "refused", violation_name(v), -1);
		client_close(c, "refused", violation_name(v), message);
		free(message);
		return;
	}
	if (pool_admit(&b->pool, c->uid) == 0) {
		admit_grant(c, -1);
		return;
	}
	if (queue_push(&b->queue, c->id, c->uid, c->class, util_now_ms(),
	    (int64_t)b->cfg->pool_queue_timeout) == 0) {
		client_set_state(c, CLIENT_QUEUED);
		c->queued_at = util_now_ms();
		/* The queue's own deadline governs now, not the hello's. */
		client_clear_expiry(c);
		client_set_activity(c, ACT_QUEUED);
		c->queue_pos = queue_position(&b->queue, c->id);
		c->queue_eta = queue_eta(&b->queue, c->queue_pos,
		    util_now_ms());
		admit_decision(c, "queued", "-", -1);
		client_send(c, json_pack("{s:s, s:i, s:i, s:s, s:i}", "type",
		    "queued", "position", (int)c->queue_pos, "eta",
		    c->queue_eta, "class", quota_class_name(c->class),
		    "online", (int)b->pool.used));
		wait_changed(b);
		return;
	}
	xasprintf(&message, "DungeonGate is full (%u player%s online); try "
	    "again in %d s", b->pool.used, b->pool.used == 1 ? "" : "s",
	    BROKER_RETRY_AFTER);
	admit_refuse(c, V_QUEUE_FULL, message);
	free(message);
}

/*
 * The configuration changed: queued sessions take the class their tier
 * and rights now give, keeping their arrival order within it.
 */
void
admit_reclass(struct broker *b)
{
	const struct config_quota	*q;
	struct client			*c;
	enum quota_class		 class;
	int				 moved = 0;

	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->state != CLIENT_QUEUED || c->dead)
			continue;
		q = user_tier(c->u, b->cfg);
		class = quota_class(user_is_admin(c->u, b->cfg), q->priority);
		if (class == c->class)
			continue;
		if (queue_reclass(&b->queue, c->id, class) != 0)
			fatalx("queued client %llu is not in the queue",
			    (unsigned long long)c->id);
		log_info("queue class changed", "user=%s pid=%ld class=%s "
		    "was=%s", client_name(c), (long)c->pid,
		    quota_class_name(class), quota_class_name(c->class));
		c->class = class;
		moved = 1;
	}
	if (moved)
		wait_changed(b);
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
		if (pool_admit(&b->pool, c->uid) != 0)
			fatalx("pool refused with room");
		admit_grant(c, waited);
	}
	if (changed)
		wait_changed(b);
}

/* End a client's lease: its game exited, or the client went. */
static void
admit_lease_end(struct client *c, const char *reason, long long status,
    long long sig)
{
	struct broker	*b = c->broker;
	struct lease	*l = c->lease;

	log_info(c->editing ? "editor ended" : "game ended", "user=%s "
	    "ticket=%s lease=%s game=%s reason=%s "
	    "status=%lld signal=%lld seconds=%lld", client_name(c), c->ticket,
	    l->id, l->game, reason, status, sig,
	    (long long)((util_wall_ms() - l->started) / 1000));
	watch_game_end(c);
	lease_release(&b->leases, l);
	c->lease = NULL;
	c->editing = 0;
	client_set_pty_fds(c, 0);
}

/* Give back what a leaving client holds: its place, game and slot. */
void
admit_release(struct client *c)
{
	struct broker	*b = c->broker;
	int64_t		 now = util_now_ms();

	if (c->state == CLIENT_QUEUED) {
		queue_remove(&b->queue, c->id, now);
		client_set_state(c, CLIENT_NEW);
		log_peer(LOG_LEVEL_INFO, c->uid, "left the queue", "user=%s "
		    CLIENT_LOG_FIELDS " queue_ms=%lld pid=%ld", client_name(c),
		    CLIENT_LOG_ARGS(c), (long long)(now - c->queued_at),
		    (long)c->pid);
		wait_changed(b);
	}
	if (c->lease != NULL)
		admit_lease_end(c, "disconnect", -1, 0);
	if (c->holds_slot) {
		pool_release(&b->pool, c->uid);
		c->holds_slot = 0;
		log_peer(LOG_LEVEL_INFO, c->uid, "session ended", "user=%s "
		    CLIENT_LOG_FIELDS " ticket=%s pid=%ld seconds=%lld "
		    "bytes_in=%llu bytes_out=%llu", client_name(c),
		    CLIENT_LOG_ARGS(c), c->ticket, (long)c->pid,
		    (long long)((util_wall_ms() - c->since) / 1000),
		    (unsigned long long)c->bytes_in,
		    (unsigned long long)c->bytes_out);
		queue_departure(&b->queue, now);
		share_released(b, c->u);
		admit_from_queue(b);
	}
	broker_drain_check(b);
}

/* The options file of a game in home, absolute, or NULL when it has none. */
static char *
admit_rcfile(const struct config_game *g, const char *home)
{
	char	*path;

	if (*g->rcfile == '\0')
		return NULL;
	xasprintf(&path, "%s/%s", home, g->rcfile);
	return path;
}

/* The lease message: the command line, environment and limits. */
static json_t *
admit_lease_msg(struct client *c, const struct config_game *g,
    const struct config_quota *q, struct lease *l)
{
	const char	*user = c->u->name, *home = c->u->home;
	json_t		*argv, *env, *msg;
	char		**args, *cause, *e;
	u_int		 i;

	if (config_expand_command(g->command, user, home, &args,
	    &cause) != 0)
		fatalx("validated command does not expand: %s", cause);
	argv = json_array();
	for (i = 0; args[i] != NULL; i++)
		json_array_append_new(argv, json_string(args[i]));
	config_free_argv(args);
	env = json_array();
	for (i = 0; i < g->nenv; i++) {
		e = config_expand(g->env[i], user, home);
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
	    "home", home,
	    "rlimits", "core", 0, "nofile", BROKER_GAME_NOFILE,
		"as", (json_int_t)g->memory,
	    "cpu_millicores", (int)(q->max_cpu_cores * 1000 + 0.5));
	/* (max_cpu_cores is at least 0.001: at least one millicore.) */
	/* The session names its lease's start again if it must rejoin. */
	json_object_set_new(msg, "started", json_integer(l->started));
	if ((e = admit_rcfile(g, home)) != NULL) {
		json_object_set_new(msg, "rcfile", json_string(e));
		json_object_set_new(msg, "rc_max_size",
		    json_integer(BROKER_RC_MAX_SIZE));
		if (*g->rc_template != '\0')
			json_object_set_new(msg, "rc_template",
			    json_string(g->rc_template));
		free(e);
	}
	return msg;
}

/*
 * The edit lease message: the editor's fixed command, the options file,
 * its template and cap, and the limits: the editor's memory slice, and
 * no file it writes past the cap.
 */
static json_t *
admit_edit_msg(struct client *c, const struct config_game *g,
    const struct config_quota *q, struct lease *l)
{
	static const char *const args[] = BROKER_EDITOR_ARGS;
	json_t		*argv, *msg;
	char		*path;
	u_int		 i;

	argv = json_array();
	json_array_append_new(argv, json_string(BROKER_EDITOR));
	for (i = 0; i < nitems(args); i++)
		json_array_append_new(argv, json_string(args[i]));
	if ((path = admit_rcfile(g, c->u->home)) == NULL)
		fatalx("edit lease for a game without an options file");
	msg = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:i, "
	    "s:{s:i, s:i, s:I, s:i}, s:i}",
	    "type", "edit_lease",
	    "id", l->id,
	    "game", g->id,
	    "name", g->name,
	    "argv", argv,
	    "home", c->u->home,
	    "rcfile", path,
	    "rc_max_size", BROKER_RC_MAX_SIZE,
	    "rlimits", "core", 0, "nofile", BROKER_GAME_NOFILE,
		"as", (json_int_t)BROKER_EDIT_MEMORY,
		"fsize", BROKER_RC_MAX_SIZE,
	    "cpu_millicores", (int)(q->max_cpu_cores * 1000 + 0.5));
	free(path);
	json_object_set_new(msg, "started", json_integer(l->started));
	if (*g->rc_template != '\0')
		json_object_set_new(msg, "rc_template",
		    json_string(g->rc_template));
	return msg;
}

/*
 * Start a game, or the editor of its options: one live game per user per
 * game (and one editor), within the user's PTY and memory quotas, the
 * system's PTY and memory limits and what the kernel has left (from the
 * last sample, and the games started since). The editor runs in a PTY
 * like a game, so it holds a PTY lease like one, with its own slice.
 */
static void
admit_lease(struct client *c, json_t *msg, int edit)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = user_tier(c->u, b->cfg);
	const struct config_game	*g;
	struct quota_usage		 use;
	struct lease			*l;
	const char			*id;
	json_int_t			 cols, rows, utf8 = 0;
	char				*message, *name;
	uint64_t			 memory;
	u_int				 nr, max;
	enum violation			 v;

	if (json_unpack(msg, "{s:s, s:I, s:I, s?I}", "game", &id, "cols",
	    &cols, "rows", &rows, "utf8", &utf8) != 0)
		fatalx("validated play lacks fields");
	if (c->watching != NULL || c->replay != NULL) {
		client_close(c, "error", REASON_UNEXPECTED,
		    "this session watches or replays");
		return;
	}
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
	if (edit && *g->rcfile == '\0') {
		xasprintf(&message, "%s has no options file to edit.", g->name);
		admit_refuse_game(c, REASON_NO_RCFILE, message);
		free(message);
		return;
	}
	if (edit) {
		xasprintf(&name, "%s%s", BROKER_EDIT_PREFIX, g->id);
		memory = BROKER_EDIT_MEMORY;
	} else {
		name = xstrdup(g->id);
		memory = g->memory;
	}
	if (lease_find_game(&b->leases, c->uid, name) != NULL) {
		admit_violation(b, V_GAME_BUSY);
		if (edit)
			xasprintf(&message, "You are already editing your "
			    "options for %s in another session; close that "
			    "editor first.", g->name);
		else
			xasprintf(&message, "You already have a game of %s "
			    "running in another session; it has to end before "
			    "you start another.", g->name);
		admit_refuse_game(c, violation_name(V_GAME_BUSY), message);
		free(message);
		free(name);
		return;
	}
	use = admit_usage(b, c->uid);
	if ((v = quota_check_lease(q, b->cfg, &use, memory)) != V_NONE) {
		admit_violation(b, v);
		message = quota_explain(v, q, b->cfg, &use, memory);
		admit_refuse_game(c, violation_name(v), message);
		free(message);
		free(name);
		return;
	}
	if (sample_pty_room(b, &nr, &max) == 0 &&
	    nr + BROKER_PTY_RESERVE >= max) {
		/* Refuse now rather than let openpty fail in the session. */
		admit_violation(b, V_PTYS_EXHAUSTED);
		log_warn("kernel PTYs nearly exhausted", "nr=%u max=%u", nr,
		    max);
		admit_refuse_game(c, violation_name(V_PTYS_EXHAUSTED),
		    "DungeonGate's host has run out of terminals for games; "
		    "please try again later.");
		free(name);
		return;
	}

	l = lease_acquire(&b->leases, c->uid, name, c->id, memory,
	    util_wall_ms());
	free(name);
	if (l == NULL)
		fatalx("lease refused after the check");
	c->lease = l;
	c->editing = edit;
	client_set_activity(c, edit ? ACT_EDITING : ACT_PLAYING);
	log_info(edit ? "editor started" : "game started", "user=%s ticket=%s "
	    "lease=%s game=%s size=%ux%u memory=%llu", client_name(c),
	    c->ticket, l->id, g->id, c->cols, c->rows,
	    (unsigned long long)l->memory);
	/* A game is watched and recorded; the editor of its options is not. */
	if (!edit)
		watch_game_start(c, utf8 != 0);
	client_send(c, edit ? admit_edit_msg(c, g, q, l) :
	    admit_lease_msg(c, g, q, l));
}

/* Start a game. */
void
admit_play(struct client *c, json_t *msg)
{
	admit_lease(c, msg, 0);
}

/* Start the editor of a game's options file. */
void
admit_edit(struct client *c, json_t *msg)
{
	admit_lease(c, msg, 1);
}

/* The session's game has exited: end its lease. */
void
admit_game_end(struct client *c, json_t *msg)
{
	const char	*id;
	json_int_t	 status = -1, sig = 0, offset = -1;

	if (json_unpack(msg, "{s:s, s?I, s?I, s?I}", "lease", &id, "status",
	    &status, "signal", &sig, "offset", &offset) != 0)
		fatalx("validated game_end lacks lease");
	if (c->lease == NULL || strcmp(c->lease->id, id) != 0) {
		client_close(c, "error", REASON_BAD_MESSAGE,
		    "game_end for a lease this session does not hold");
		return;
	}
	if (offset >= 0)
		watch_stream_end(c, (uint64_t)offset);
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
	json_int_t	 idle, in = -1, out = -1, bw = 0, cpu = 0, ptys = -1;
	const char	*mech = NULL;
	int64_t		 idle_after, now, since;

	if (json_unpack(msg, "{s:I, s?I, s?I, s?I, s?I, s?s, s?I}", "idle",
	    &idle, "bytes_in", &in, "bytes_out", &out, "bandwidth_waits", &bw,
	    "cpu_stops", &cpu, "cpu_mechanism", &mech, "pty_fds", &ptys) != 0)
		fatalx("validated keepalive does not unpack");
	c->last_input = util_now_ms() - (int64_t)idle * 1000;
	client_schedule_expiry(c);
	/* Only growth counts: a session's counters never go back. */
	if (in >= 0 && (uint64_t)in > c->bytes_in) {
		metrics_bandwidth(b, (uint64_t)in - c->bytes_in, 0);
		c->bytes_in = (uint64_t)in;
	}
	if (out >= 0 && (uint64_t)out > c->bytes_out) {
		metrics_bandwidth(b, 0, (uint64_t)out - c->bytes_out);
		c->bytes_out = (uint64_t)out;
	}
	/*
	 * A report can only hold what could have happened since the last:
	 * a bandwidth hold per millisecond, a CPU stop per duty-cycle tick.
	 */
	now = util_now_ms();
	since = now - c->last_report;
	if (since < 1)
		since = 1;
	c->last_report = now;
	if (bw > 0)
		violations_add(&b->violations, V_BANDWIDTH,
		    (uint64_t)(bw < since ? bw : since));
	if (cpu > 0)
		violations_add(&b->violations, V_CPU,
		    (uint64_t)(cpu < since / 50 + 1 ? cpu : since / 50 + 1));
	/* Only a session with a game has descriptors on its PTY. */
	client_set_pty_fds(c, c->lease != NULL && ptys > 0 ? (u_int)ptys : 0);
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
		client_set_activity(c, client_doing(c));
}

/* Is an id one this broker's kind gives: prefix, '-', 16 hex digits? */
static int
admit_valid_id(const char *id, char prefix)
{
	size_t	 i;

	if (strlen(id) != ID_LEN - 1 || id[0] != prefix || id[1] != '-')
		return 0;
	for (i = 2; id[i] != '\0'; i++) {
		if (strchr("0123456789abcdef", id[i]) == NULL)
			return 0;
	}
	return 1;
}

/* Does another session hold this ticket already? */
static int
admit_ticket_held(struct broker *b, const char *ticket)
{
	struct client	*o;

	TAILQ_FOREACH(o, &b->clients, entry) {
		if (!o->dead && o->holds_slot && strcmp(o->ticket, ticket) == 0)
			return 1;
	}
	return 0;
}

/*
 * Refuse a rejoin: log it, count it and tell the session, which goes on
 * with its game alone.
 */
static void
admit_rejoin_refuse(struct client *c, const char *reason, const char *why)
{
	struct broker	*b = c->broker;
	char		*message;

	b->rejoins_refused++;
	metrics_rejoin(b, "refused");
	log_peer(LOG_LEVEL_WARN, c->uid, "rejoin refused", "user=%s "
	    CLIENT_LOG_FIELDS " pid=%ld reason=%s why=%s", client_name(c),
	    CLIENT_LOG_ARGS(c), (long)c->pid, reason, log_quote(why));
	xasprintf(&message, "DungeonGate restarted and cannot take your "
	    "session back (%s); your game goes on until you leave it.", why);
	client_close(c, "refused", reason, message);
	free(message);
}

/*
 * Check a claimed game against the kernel: the pid must be a live child
 * of the peer (the session, as SO_PEERCRED names it), started about when
 * its lease says (the process starts just after the lease is granted).
 * Returns NULL, or why not.
 */
static const char *
admit_rejoin_child(struct client *c, pid_t pid, int64_t started)
{
	pid_t	 parent;
	int64_t	 began;

	if (proc_parent_start(pid, &parent, &began) != 0)
		return "the game's process is not running";
	if (parent != c->pid)
		return "the game's process is not this session's";
	if (began < started - 2000 || began > started + ADMIT_REJOIN_START_MS)
		return "the game's process did not start with its lease";
	return NULL;
}

/*
 * A session that ran on while the broker was away re-registers: its
 * ticket, and its game's lease when one runs. Nothing it says is taken
 * on trust: the uid and pid are the kernel's, the ticket and lease must
 * be well formed and held by no one, the game must be in the running
 * configuration and its process a live child of the session. Then it
 * takes back its slot and lease through the tables, past today's bounds
 * if need be (it was admitted under the bounds of then), and its game
 * comes back to the spectator hub and its recording.
 */
void
admit_rejoin(struct client *c, json_t *msg)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = user_tier(c->u, b->cfg);
	const struct config_game	*g = NULL;
	const char			*ticket, *lease = NULL, *game = NULL;
	const char			*remote = NULL, *term = NULL, *cmd = NULL;
	const char			*why;
	json_int_t			 editing = 0, pid = 0, started = -1;
	json_int_t			 offset = 0, cols, rows, utf8 = 0;
	json_int_t			 idle = 0, in = 0, out = 0;
	struct lease			*l = NULL;
	char				*name = NULL;
	int				 pending = 0;

	if (json_unpack(msg, "{s:s, s?s, s?s, s?I, s?I, s?I, s?I, s:I, s:I, "
	    "s?I, s?I, s?I, s?I, s?s, s?s, s?s}", "ticket", &ticket,
	    "lease", &lease, "game", &game, "editing", &editing, "pid", &pid,
	    "started", &started, "offset", &offset, "cols", &cols,
	    "rows", &rows, "utf8", &utf8, "idle", &idle, "bytes_in", &in,
	    "bytes_out", &out, "remote", &remote, "term", &term,
	    "command", &cmd) != 0)
		fatalx("validated rejoin does not unpack");
	c->said_hello = 1;
	client_clear_expiry(c);
	admit_session_words(c, q, remote, term, cmd, cols, rows);

	if (b->stopping) {
		admit_rejoin_refuse(c, REASON_SHUTDOWN, "it is shutting down");
		return;
	}
	if (b->draining) {
		admit_rejoin_refuse(c, REASON_DRAINING, "it is draining for "
		    "maintenance");
		return;
	}
	if (!admit_valid_id(ticket, 't')) {
		admit_rejoin_refuse(c, REASON_BAD_TICKET, "the ticket is not "
		    "one DungeonGate gives");
		return;
	}
	if (admit_ticket_held(b, ticket)) {
		admit_rejoin_refuse(c, REASON_TICKET_HELD, "another session "
		    "holds the ticket");
		return;
	}
	if (lease != NULL) {
		if (game == NULL || pid == 0 || started < 0) {
			admit_rejoin_refuse(c, REASON_BAD_MESSAGE, "a lease "
			    "needs its game, pid and start");
			return;
		}
		if (!admit_valid_id(lease, 'l')) {
			admit_rejoin_refuse(c, REASON_BAD_TICKET, "the lease "
			    "is not one DungeonGate gives");
			return;
		}
		if ((g = config_find_game(b->cfg, game)) == NULL) {
			admit_rejoin_refuse(c, REASON_NO_GAME, "there is no "
			    "such game here now");
			return;
		}
		if (editing && *g->rcfile == '\0') {
			admit_rejoin_refuse(c, REASON_NO_RCFILE, "the game has "
			    "no options file now");
			return;
		}
		if (editing)
			xasprintf(&name, "%s%s", BROKER_EDIT_PREFIX, g->id);
		else
			name = xstrdup(g->id);
		if (lease_find_id(&b->leases, lease) != NULL ||
		    lease_find_game(&b->leases, c->uid, name) != NULL) {
			free(name);
			admit_rejoin_refuse(c, REASON_LEASE_HELD, "the lease, "
			    "or a game of the same kind, is held");
			return;
		}
		if ((why = admit_rejoin_child(c, (pid_t)pid, started)) !=
		    NULL) {
			free(name);
			admit_rejoin_refuse(c, REASON_NOT_CHILD, why);
			return;
		}
	}

	pool_readmit(&b->pool, c->uid);
	c->holds_slot = 1;
	client_set_state(c, CLIENT_SESSION);
	snprintf(c->ticket, sizeof c->ticket, "%s", ticket);
	c->last_input = util_now_ms() - (int64_t)idle * 1000;
	c->last_report = util_now_ms();
	client_schedule_expiry(c);
	/* Counted from here on; what went before was counted already. */
	c->bytes_in = (uint64_t)in;
	c->bytes_out = (uint64_t)out;
	if (lease != NULL) {
		l = lease_rejoin(&b->leases, lease, c->uid, name, c->id,
		    editing ? BROKER_EDIT_MEMORY : g->memory, started);
		if (l == NULL)
			fatalx("lease refused after the check");
		c->lease = l;
		c->editing = editing != 0;
		if (!editing)
			pending = watch_game_rejoin(c, utf8 != 0,
			    (uint64_t)offset);
	}
	client_set_activity(c, client_doing(c));
	b->rejoins++;
	metrics_rejoin(b, "rejoined");
	log_peer(LOG_LEVEL_INFO, c->uid, "rejoined", "user=%s "
	    CLIENT_LOG_FIELDS " ticket=%s pid=%ld lease=%s game=%s "
	    "game_pid=%lld offset=%lld size=%ux%u", client_name(c),
	    CLIENT_LOG_ARGS(c), c->ticket, (long)c->pid,
	    l != NULL ? l->id : "-", name != NULL ? name : "-",
	    (long long)pid, (long long)offset, c->cols, c->rows);
	free(name);
	/* With its recording to find, the answer waits for it. */
	if (!pending)
		admit_rejoined(c, (uint64_t)offset);
	if (!c->dead)
		share_admitted(c);
}

/* Tell a rejoined session from which offset its stream is wanted. */
void
admit_rejoined(struct client *c, uint64_t offset)
{
	client_send(c, json_pack("{s:s, s:s, s:I}", "type", "rejoined",
	    "ticket", c->ticket, "offset", (json_int_t)offset));
}
