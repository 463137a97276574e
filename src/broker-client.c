/*
 * One peer of the broker: a dg-session or an admin tool. Reads frames,
 * checks them, admits sessions through the connection pool and grants
 * game leases. The peer's identity is the uid the kernel reports for the
 * socket (SO_PEERCRED), resolved to a name on a worker thread.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

/* A user lookup handed to a worker. */
struct lookup {
	struct broker	*broker;
	uint64_t	 client;
	uid_t		 uid;
	char		*admin_group;
	int		 found;
	int		 failed;	/* errno of a failed lookup */
	int		 unusable;	/* name or home is not UTF-8 text */
	char		*user;
	char		*home;
	int		 is_admin;
};

static void	client_read_cb(struct bufferevent *, void *);
static void	client_hello(struct client *, json_t *);

/* Find a client by id; it may have gone while a worker ran. */
struct client *
client_find(struct broker *b, uint64_t id)
{
	struct client	*c;

	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->id == id)
			return c;
	}
	return NULL;
}

/* On a worker: resolve the uid and decide whether it may administer. */
static void
lookup_run(void *arg)
{
	struct lookup	*lk = arg;
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	gid_t		*groups;
	char		*buf;
	size_t		 len = 16384;
	int		 n = 64, i, rc;

	buf = xmalloc(len);
	while ((rc = getpwuid_r(lk->uid, &pw, buf, len, &pwp)) == ERANGE &&
	    len < 1024 * 1024)
		buf = xreallocarray(buf, 2, len), len *= 2;
	if (rc != 0) {
		/* NSS failed (LDAP down, no descriptors): not "no such user". */
		lk->failed = rc;
		free(buf);
		return;
	}
	if (pwp == NULL) {
		free(buf);
		return;
	}
	/* Names and homes go into JSON and onto terminals: text only. */
	if (!util_valid_text(pw.pw_name) || !util_valid_text(pw.pw_dir)) {
		lk->unusable = 1;
		free(buf);
		return;
	}
	lk->found = 1;
	lk->user = xstrdup(pw.pw_name);
	lk->home = xstrdup(pw.pw_dir);
	if (lk->uid == 0) {
		lk->is_admin = 1;
		free(buf);
		return;
	}

	groups = xcalloc((size_t)n, sizeof *groups);
	if (getgrouplist(lk->user, pw.pw_gid, groups, &n) == -1) {
		groups = xreallocarray(groups, (size_t)n, sizeof *groups);
		if (getgrouplist(lk->user, pw.pw_gid, groups, &n) == -1)
			n = 0;
	}
	while ((rc = getgrnam_r(lk->admin_group, &gr, buf, len, &grp)) ==
	    ERANGE && len < 1024 * 1024)
		buf = xreallocarray(buf, 2, len), len *= 2;
	if (rc == 0 && grp != NULL) {
		for (i = 0; i < n; i++) {
			if (groups[i] == gr.gr_gid)
				lk->is_admin = 1;
		}
	}
	free(groups);
	free(buf);
}

/* Free a lookup nobody waits for. */
static void
lookup_free(void *arg)
{
	struct lookup	*lk = arg;

	free(lk->admin_group);
	free(lk->user);
	free(lk->home);
	free(lk);
}

/* Back on the event loop: the peer now has a name (or none). */
static void
lookup_done(void *arg, int timed_out)
{
	struct lookup	*lk = arg;
	struct client	*c;
	json_t		*hello;

	c = client_find(lk->broker, lk->client);
	if (c == NULL || c->dead || c->state == CLIENT_CLOSING ||
	    c->looked_up || c->uid != lk->uid) {
		if (!timed_out)
			lookup_free(lk);
		return;
	}
	if (timed_out || lk->failed != 0) {
		log_warn("user lookup failed", "uid=%lu pid=%ld error=%s",
		    (u_long)c->uid, (long)c->pid, log_quote(timed_out ?
		    "timed out" : strerror(lk->failed)));
		client_close(c, "error", REASON_BUSY, "The server is busy; "
		    "please try again in a moment.");
		if (!timed_out)
			lookup_free(lk);
		return;
	}
	c->looked_up = 1;
	c->unusable = lk->unusable;
	if (lk->found) {
		c->user = lk->user;
		c->home = lk->home;
		lk->user = lk->home = NULL;
	}
	c->is_admin = lk->is_admin;
	lookup_free(lk);

	if ((hello = c->hello) != NULL) {
		c->hello = NULL;
		client_hello(c, hello);
		json_decref(hello);
		if (!c->dead && c->state != CLIENT_CLOSING) {
			bufferevent_enable(c->bev, EV_READ);
			client_read_cb(c->bev, c);
		}
	}
}

/* Send a message; the client owns it from here. */
void
client_send(struct client *c, json_t *msg)
{
	struct evbuffer	*out;
	void		*frame;
	size_t		 len;

	if (msg == NULL) {
		/* Every string is checked text, so this is a bug; keep serving. */
		log_error("message could not be built; dropping peer",
		    "client=%llu user=%s", (unsigned long long)c->id,
		    c->user != NULL ? c->user : "-");
		client_drop(c);
		return;
	}
	frame = proto_pack(msg, &len);
	json_decref(msg);
	if (c->dead || c->state == CLIENT_CLOSING) {
		free(frame);
		return;
	}
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + len > BROKER_MAX_OUTPUT) {
		log_warn("peer does not read; dropping it", "client=%llu "
		    "user=%s pid=%ld", (unsigned long long)c->id,
		    c->user != NULL ? c->user : "-", (long)c->pid);
		free(frame);
		client_drop(c);
		return;
	}
	bufferevent_write(c->bev, frame, len);
	free(frame);
}

/* An admin tool has BROKER_HELLO_TIMEOUT for each request. */
static void
client_admin_deadline(struct client *c)
{
	struct timeval	 tv = { BROKER_HELLO_TIMEOUT, 0 };

	evtimer_add(c->expiry, &tv);
}

/*
 * How long after the player's last input a ticket lapses: idle_timeout,
 * plus a grace (as long again, at most a minute) for the session to hang
 * up its game itself first.
 */
static int64_t
client_expiry_after(struct broker *b)
{
	int64_t	 idle = (int64_t)b->cfg->pool_idle_timeout;

	return idle + (idle < BROKER_EXPIRY_GRACE_MS ? idle :
	    BROKER_EXPIRY_GRACE_MS);
}

/* The ticket's deadline: idle_timeout after the last reported input. */
static void
client_schedule_expiry(struct client *c)
{
	struct broker	*b = c->broker;
	int64_t		 deadline, wait;
	struct timeval	 tv;

	deadline = c->last_input + client_expiry_after(b);
	wait = deadline - util_now_ms();
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(c->expiry, &tv);
}

/*
 * The timer of a connection: the hello deadline, then the ticket's expiry
 * (a bufferevent read timeout would linger in libevent 2.1 after being
 * cleared, so one plain timer serves both).
 */
static void
client_expiry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct client	*c = arg;
	struct broker	*b = c->broker;

	if (c->state == CLIENT_ADMIN) {
		if (c->busy) {
			client_admin_deadline(c);
			return;
		}
		client_close(c, "error", REASON_UNEXPECTED,
		    "no request in time");
		return;
	}
	if (c->state == CLIENT_NEW) {
		log_info("no hello in time", "client=%llu uid=%lu pid=%ld",
		    (unsigned long long)c->id, (u_long)c->uid, (long)c->pid);
		client_close(c, "error", REASON_UNEXPECTED, "no hello in time");
		return;
	}
	if (util_now_ms() < c->last_input + client_expiry_after(b)) {
		client_schedule_expiry(c);
		return;
	}
	log_info("ticket expired", "user=%s ticket=%s pid=%ld", c->user,
	    c->ticket, (long)c->pid);
	client_close(c, "bye", REASON_EXPIRED, "Your session was idle for "
	    "too long and has been closed.");
}

/* Give back the slot and the lease this client holds. */
static void
client_release(struct client *c)
{
	struct broker	*b = c->broker;

	if (c->lease != NULL) {
		log_info("game ended", "user=%s ticket=%s lease=%s game=%s "
		    "reason=disconnect seconds=%lld", c->user, c->ticket,
		    c->lease->id, c->lease->game,
		    (long long)((util_wall_ms() - c->game_since) / 1000));
		lease_release(&b->leases, c->lease);
		c->lease = NULL;
	}
	if (c->holds_slot) {
		pool_release(&b->pool);
		c->holds_slot = 0;
		log_info("session ended", "user=%s ticket=%s pid=%ld "
		    "seconds=%lld online=%u", c->user, c->ticket, (long)c->pid,
		    (long long)((util_wall_ms() - c->since) / 1000),
		    b->pool.used);
	}
	if (c->expiry != NULL)
		evtimer_del(c->expiry);
}

/* Deferred free, out of the bufferevent's own callbacks. */
static void
client_free_cb(evutil_socket_t fd, short events, void *arg)
{
	struct client	*c = arg;

	bufferevent_free(c->bev);
	if (c->expiry != NULL)
		event_free(c->expiry);
	json_decref(c->hello);
	free(c->user);
	free(c->home);
	free(c->remote);
	free(c->term);
	free(c);
}

/* Forget a client now and free it from the next loop turn. */
void
client_drop(struct client *c)
{
	struct broker	*b = c->broker;

	if (c->dead)
		return;
	c->dead = 1;
	client_release(c);
	TAILQ_REMOVE(&b->clients, c, entry);
	b->nclients--;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (event_base_once(b->base, -1, EV_TIMEOUT, client_free_cb, c,
	    NULL) != 0)
		fatalx("event_base_once failed");
}

/* All of a closing client's last message has left. */
static void
client_flushed_cb(struct bufferevent *bev, void *arg)
{
	client_drop(arg);
}

/* A closing client stopped reading or went away. */
static void
client_closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
	client_drop(arg);
}

/*
 * Send one last message (type "error", "refused" or "bye") and close once
 * it has left. Everything the client held is released now.
 */
void
client_close(struct client *c, const char *type, const char *reason,
    const char *message)
{
	struct timeval	 tv = { BROKER_CLOSE_TIMEOUT, 0 };
	json_t		*msg;

	if (c->dead || c->state == CLIENT_CLOSING)
		return;
	msg = json_pack("{s:s, s:s, s:s}", "type", type, "reason", reason,
	    "message", message);
	if (strcmp(type, "refused") == 0)
		json_object_set_new(msg, "retry_after",
		    json_integer(BROKER_RETRY_AFTER));
	client_send(c, msg);
	if (c->dead)
		return;
	client_release(c);
	c->state = CLIENT_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setcb(c->bev, NULL, client_flushed_cb,
	    client_closing_event_cb, c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_drop(c);
}

/* Build the ticket a session gets: its id, deadline and menu. */
static json_t *
client_ticket(struct client *c)
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

/* A session's hello: admit it through the pool, or refuse with a reason. */
static void
client_admit(struct client *c, json_t *hello)
{
	struct broker	*b = c->broker;
	char		*message;
	const char	*s = NULL;
	const char	*remote = NULL, *term = NULL;
	json_int_t	 cols = 0, rows = 0;

	if (json_unpack(hello, "{s?s, s?s, s?I, s?I}", "remote", &remote,
	    "term", &term, "cols", &cols, "rows", &rows) != 0)
		fatalx("validated hello does not unpack");
	if (remote != NULL)
		c->remote = xstrdup(remote);
	if (term != NULL)
		c->term = xstrdup(term);
	c->cols = (u_int)cols;
	c->rows = (u_int)rows;

	if (b->stopping) {
		client_close(c, "refused", REASON_SHUTDOWN, "DungeonGate is "
		    "shutting down; please try again in a moment.");
		return;
	}
	if (pool_admit(&b->pool) != 0) {
		log_info("refused", "user=%s pid=%ld reason=%s online=%u max=%u",
		    c->user, (long)c->pid, REASON_FULL, b->pool.used,
		    b->pool.max);
		xasprintf(&message, "DungeonGate is full (%u player%s online); "
		    "try again in %d s", b->pool.used,
		    b->pool.used == 1 ? "" : "s", BROKER_RETRY_AFTER);
		client_close(c, "refused", REASON_FULL, message);
		free(message);
		return;
	}
	c->holds_slot = 1;
	c->state = CLIENT_SESSION;
	c->since = util_wall_ms();
	c->last_input = util_now_ms();
	util_random_id('t', c->ticket, sizeof c->ticket);
	client_schedule_expiry(c);

	s = NULL;
	json_unpack(hello, "{s?s}", "command", &s);
	log_info("admitted", "user=%s ticket=%s pid=%ld remote=%s term=%s "
	    "size=%ux%u command=%s online=%u", c->user, c->ticket,
	    (long)c->pid, log_quote(c->remote != NULL ? c->remote : "-"),
	    log_quote(c->term != NULL ? c->term : "-"), c->cols, c->rows,
	    log_quote(s != NULL ? s : ""), b->pool.used);
	client_send(c, client_ticket(c));
}

/* The first message: check the version, then admit or serve the tool. */
static void
client_hello(struct client *c, json_t *hello)
{
	json_int_t	 version;
	const char	*role;
	char		*message;

	if (json_unpack(hello, "{s:I, s:s}", "version", &version,
	    "client", &role) != 0)
		fatalx("validated hello lacks version or client");
	if (version != PROTO_VERSION) {
		xasprintf(&message, "protocol version %lld is not supported; "
		    "this broker speaks version %d", (long long)version,
		    PROTO_VERSION);
		log_warn("bad protocol version", "pid=%ld uid=%lu version=%lld",
		    (long)c->pid, (u_long)c->uid, (long long)version);
		client_close(c, "error", REASON_VERSION, message);
		free(message);
		return;
	}
	if (c->user == NULL) {
		log_warn(c->unusable ? "account name or home is not UTF-8 text" :
		    "unknown uid", "uid=%lu pid=%ld", (u_long)c->uid,
		    (long)c->pid);
		xasprintf(&message, "Your account (uid %lu) %s.", (u_long)c->uid,
		    c->unusable ? "has a name or home DungeonGate cannot use; "
		    "please tell the server admin" : "is unknown to this server");
		client_close(c, "refused", REASON_NO_USER, message);
		free(message);
		return;
	}
	if (strcmp(role, "session") == 0)
		client_admit(c, hello);
	else if (strcmp(role, "admin") == 0) {
		c->state = CLIENT_ADMIN;
		client_admin_deadline(c);
		log_debug("admin connected", "user=%s pid=%ld", c->user,
		    (long)c->pid);
	} else {
		client_close(c, "error", REASON_BAD_MESSAGE,
		    "client must be \"session\" or \"admin\"");
	}
}

/* Start a game: one live game per user per game, with its command line. */
static void
client_play(struct client *c, json_t *msg)
{
	struct broker			*b = c->broker;
	const struct config_game	*g;
	struct lease			*l;
	const char			*id;
	json_int_t			 cols, rows;
	json_t				*argv, *env, *reply;
	char				**args, *cause, *message, *rc = NULL;
	u_int				 i;

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
	if ((g = config_find_game(b->cfg, id)) == NULL) {
		xasprintf(&message, "There is no game called \"%s\" here.", id);
		reply = json_pack("{s:s, s:s, s:s}", "type", "refused",
		    "reason", REASON_NO_GAME, "message", message);
		free(message);
		client_send(c, reply);
		return;
	}
	if ((l = lease_acquire(&b->leases, c->user, g->id, c->id,
	    util_wall_ms())) == NULL) {
		log_info("game refused", "user=%s ticket=%s game=%s reason=%s",
		    c->user, c->ticket, g->id, REASON_GAME_BUSY);
		xasprintf(&message, "You already have a game of %s running in "
		    "another session; it has to end before you start another.",
		    g->name);
		reply = json_pack("{s:s, s:s, s:s}", "type", "refused",
		    "reason", REASON_GAME_BUSY, "message", message);
		free(message);
		client_send(c, reply);
		return;
	}
	if (config_expand_command(g->command, c->user, c->home, &args,
	    &cause) != 0)
		fatalx("validated command does not expand: %s", cause);
	argv = json_array();
	for (i = 0; args[i] != NULL; i++)
		json_array_append_new(argv, json_string(args[i]));
	config_free_argv(args);
	env = json_array();
	for (i = 0; i < g->nenv; i++) {
		char *e = config_expand(g->env[i], c->user, c->home);

		json_array_append_new(env, json_string(e));
		free(e);
	}
	reply = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:{s:i, s:i}}",
	    "type", "lease",
	    "id", l->id,
	    "game", g->id,
	    "name", g->name,
	    "argv", argv,
	    "env", env,
	    "home", c->home,
	    "rlimits", "core", 0, "nofile", BROKER_GAME_NOFILE);
	if (*g->rcfile != '\0') {
		xasprintf(&rc, "%s/%s", c->home, g->rcfile);
		json_object_set_new(reply, "rcfile", json_string(rc));
		free(rc);
	}
	c->lease = l;
	c->game_since = util_wall_ms();
	log_info("game started", "user=%s ticket=%s lease=%s game=%s size=%ux%u",
	    c->user, c->ticket, l->id, g->id, c->cols, c->rows);
	client_send(c, reply);
}

/* The session's game has exited: end its lease. */
static void
client_game_end(struct client *c, json_t *msg)
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
	log_info("game ended", "user=%s ticket=%s lease=%s game=%s "
	    "reason=exit status=%lld signal=%lld seconds=%lld", c->user,
	    c->ticket, id, c->lease->game, (long long)status, (long long)sig,
	    (long long)((util_wall_ms() - c->game_since) / 1000));
	lease_release(&c->broker->leases, c->lease);
	c->lease = NULL;
}

/* The session says how long its player has been idle. */
static void
client_keepalive(struct client *c, json_t *msg)
{
	json_int_t	 idle;

	if (json_unpack(msg, "{s:I}", "idle", &idle) != 0)
		fatalx("validated keepalive lacks idle");
	c->last_input = util_now_ms() - (int64_t)idle * 1000;
	client_schedule_expiry(c);
}

/* Route one checked message by the client's state. */
static void
client_dispatch(struct client *c, enum proto_msg type, json_t *msg)
{
	char	*message;

	if (type == MSG_GOODBYE && (c->state == CLIENT_SESSION ||
	    c->state == CLIENT_ADMIN)) {
		client_drop(c);
		return;
	}
	switch (c->state) {
	case CLIENT_NEW:
		if (type != MSG_HELLO)
			break;
		if (!c->looked_up) {
			/* Wait for the worker before going on. */
			json_incref(msg);
			c->hello = msg;
			bufferevent_disable(c->bev, EV_READ);
			/* It said hello in time; worker_timeout bounds the rest. */
			evtimer_del(c->expiry);
			return;
		}
		client_hello(c, msg);
		return;
	case CLIENT_SESSION:
		switch (type) {
		case MSG_PLAY:
			client_play(c, msg);
			return;
		case MSG_GAME_END:
			client_game_end(c, msg);
			return;
		case MSG_KEEPALIVE:
			client_keepalive(c, msg);
			return;
		default:
			break;
		}
		break;
	case CLIENT_ADMIN:
		client_admin_deadline(c);
		if (c->busy) {
			client_close(c, "error", REASON_BUSY,
			    "one request at a time");
			return;
		}
		switch (type) {
		case MSG_CHECK:
			admin_check(c);
			return;
		case MSG_STATUS:
		case MSG_RELOAD:
			if (!c->is_admin) {
				log_warn("admin request refused", "user=%s "
				    "request=%s", c->user,
				    proto_msg_name(type));
				xasprintf(&message, "%s needs root or "
				    "membership of %s", proto_msg_name(type),
				    c->broker->cfg->broker_admin_group);
				client_close(c, "error", REASON_FORBIDDEN,
				    message);
				free(message);
				return;
			}
			if (type == MSG_STATUS)
				admin_status(c);
			else
				broker_reload(c->broker, c);
			return;
		default:
			break;
		}
		break;
	case CLIENT_CLOSING:
		return;
	}
	xasprintf(&message, "%s is not expected now", proto_msg_name(type));
	client_close(c, "error", REASON_UNEXPECTED, message);
	free(message);
}

/* Bytes arrived: take every whole frame, check it and act on it. */
static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;
	struct broker	*b = c->broker;
	struct evbuffer	*in = bufferevent_get_input(bev);
	json_t		*msg;
	enum proto_msg	 type;
	char		*cause;
	int		 rc;

	while (!c->dead && c->state != CLIENT_CLOSING && c->hello == NULL) {
		rc = proto_next(in, PROTO_MAX_TO_BROKER, PROTO_TO_BROKER, &msg,
		    &type, &cause);
		if (rc == 0)
			return;
		if (rc < 0) {
			b->bad_frames++;
			log_warn(rc == -1 ? "bad frame" : "bad message",
			    "client=%llu uid=%lu pid=%ld error=%s", (unsigned long long)c->id,
			    (u_long)c->uid, (long)c->pid, log_quote(cause));
			client_close(c, "error", rc == -1 ? REASON_BAD_FRAME :
			    REASON_BAD_MESSAGE, cause);
			free(cause);
			return;
		}
		client_dispatch(c, type, msg);
		json_decref(msg);
	}
}

/* The peer went away, or an error or timeout on its socket. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_info("peer timed out", "client=%llu uid=%lu pid=%ld",
		    (unsigned long long)c->id, (u_long)c->uid, (long)c->pid);
	else if (what & BEV_EVENT_ERROR)
		log_info("peer error", "client=%llu uid=%lu pid=%ld error=%s",
		    (unsigned long long)c->id, (u_long)c->uid, (long)c->pid,
		    log_quote(strerror(EVUTIL_SOCKET_ERROR())));
	else
		log_debug("peer closed", "client=%llu uid=%lu pid=%ld",
		    (unsigned long long)c->id, (u_long)c->uid, (long)c->pid);
	client_drop(c);
}

/*
 * Turn a connection away before it costs anything: one error frame,
 * written if the socket takes it at once, then close.
 */
void
client_refuse_fd(int fd, const char *message)
{
	json_t	*msg;
	void	*frame;
	size_t	 len;

	msg = json_pack("{s:s, s:s, s:s}", "type", "error", "reason",
	    REASON_BUSY, "message", message);
	frame = proto_pack(msg, &len);
	json_decref(msg);
	(void)write(fd, frame, len);
	free(frame);
	close(fd);
}

/* How many connections without a ticket a uid holds. */
static u_int
client_count_pending(struct broker *b, uid_t uid)
{
	struct client	*c;
	u_int		 n = 0;

	TAILQ_FOREACH(c, &b->clients, entry) {
		if (c->uid == uid && (c->state == CLIENT_NEW ||
		    c->state == CLIENT_ADMIN))
			n++;
	}
	return n;
}

/* A new connection: learn who it is from the kernel and wait for hello. */
void
client_accept(struct broker *b, int fd)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof cred;
	struct lookup	*lk;
	struct timeval	 tv = { BROKER_HELLO_TIMEOUT, 0 };

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn("no peer credentials", "error=%s",
		    log_quote(strerror(errno)));
		close(fd);
		return;
	}
	if (client_count_pending(b, cred.uid) >= BROKER_MAX_PENDING_PER_UID) {
		log_warn("connection refused: too many pending for this uid",
		    "uid=%lu pid=%ld max=%d", (u_long)cred.uid, (long)cred.pid,
		    BROKER_MAX_PENDING_PER_UID);
		client_refuse_fd(fd, "Too many connections from your account "
		    "are waiting; please try again in a moment.");
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->broker = b;
	c->id = ++b->next_id;
	c->fd = fd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->state = CLIENT_NEW;
	c->bev = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_setcb(c->bev, client_read_cb, NULL, client_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    PROTO_HEADER_SIZE + PROTO_MAX_TO_BROKER);
	bufferevent_enable(c->bev, EV_READ);
	c->expiry = evtimer_new(b->base, client_expiry_cb, c);
	evtimer_add(c->expiry, &tv);
	TAILQ_INSERT_TAIL(&b->clients, c, entry);
	b->nclients++;
	log_debug("peer connected", "client=%llu uid=%lu pid=%ld",
	    (unsigned long long)c->id, (u_long)c->uid, (long)c->pid);

	lk = xcalloc(1, sizeof *lk);
	lk->broker = b;
	lk->client = c->id;
	lk->uid = c->uid;
	lk->admin_group = xstrdup(b->cfg->broker_admin_group);
	if (workers_submit(b->workers, lookup_run, lookup_done, lookup_free,
	    lk) != 0) {
		lookup_free(lk);
		log_warn("worker queue full; refusing peer", "uid=%lu pid=%ld",
		    (u_long)c->uid, (long)c->pid);
		client_close(c, "error", REASON_BUSY, "The server is busy; "
		    "please try again in a moment.");
	}
}
