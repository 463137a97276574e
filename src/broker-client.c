/*
 * One peer of the broker: a dg-session or an admin tool. Reads frames,
 * checks them, admits sessions through the connection pool and grants
 * game leases. The peer's identity is the uid the kernel reports for the
 * socket (SO_PEERCRED), resolved to a name on a worker thread.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

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

static const char *activity_names[ACT_COUNT] = {
	"connecting", "queued", "menu", "playing", "idle"
};

/* An activity's name, for --status. */
const char *
client_activity_name(enum activity a)
{
	return activity_names[a];
}

/* Note what a session is doing now, keeping the last few changes. */
void
client_set_activity(struct client *c, enum activity a)
{
	u_int	 i;

	if (c->activity == a)
		return;
	c->activity = a;
	if (c->nhistory == ACTIVITY_HISTORY) {
		for (i = 1; i < ACTIVITY_HISTORY; i++)
			c->history[i - 1] = c->history[i];
		c->nhistory--;
	}
	c->history[c->nhistory].activity = a;
	c->history[c->nhistory].at = util_wall_ms();
	c->nhistory++;
}

/* Policy has answered (or the user's record still held a fresh answer). */
void
client_looked_up(struct client *c)
{
	json_t	*hello;

	c->looked_up = 1;
	if (c->u->known) {
		c->user = xstrdup(c->u->name);
		c->home = xstrdup(c->u->home);
		c->is_admin = c->u->is_admin;
	}
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
	if (frame == NULL) {
		log_error("reply too large to send", "client=%llu user=%s",
		    (unsigned long long)c->id, c->user != NULL ? c->user : "-");
		client_close(c, "error", REASON_BUSY, "the reply is larger "
		    "than a frame may be");
		return;
	}
	out = bufferevent_get_output(c->bev);
	/* An admin tool reads one big reply; a session must keep up. */
	if (evbuffer_get_length(out) + len > (c->state == CLIENT_ADMIN ?
	    PROTO_HEADER_SIZE + PROTO_MAX_FROM_BROKER : BROKER_MAX_OUTPUT)) {
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
int64_t
client_expiry_after(struct broker *b)
{
	int64_t	 idle = (int64_t)b->cfg->pool_idle_timeout;

	return idle + (idle < BROKER_EXPIRY_GRACE_MS ? idle :
	    BROKER_EXPIRY_GRACE_MS);
}

/* The ticket's deadline: idle_timeout after the last reported input. */
void
client_schedule_expiry(struct client *c)
{
	struct timeval	 tv;

	tv = util_timeval_ms(c->last_input + client_expiry_after(c->broker) -
	    util_now_ms());
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
	if (c->state == CLIENT_QUEUED)
		return;
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

/* Give back everything this client holds. */
static void
client_release(struct client *c)
{
	admit_release(c);
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
	free(c->cpu_mechanism);
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
	c->u->refs--;
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
		admit_hello(c, hello);
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

/* Route one checked message by the client's state. */
static void
client_dispatch(struct client *c, enum proto_msg type, json_t *msg)
{
	char	*message;

	if (type == MSG_GOODBYE && c->state != CLIENT_NEW &&
	    c->state != CLIENT_CLOSING) {
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
	case CLIENT_QUEUED:
		break;
	case CLIENT_SESSION:
		switch (type) {
		case MSG_PLAY:
			admit_play(c, msg);
			return;
		case MSG_GAME_END:
			admit_game_end(c, msg);
			return;
		case MSG_KEEPALIVE:
			admit_keepalive(c, msg);
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
		case MSG_DRAIN:
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
			else if (type == MSG_DRAIN)
				broker_drain(c->broker, c);
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
		admit_violation(b, V_PENDING);
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
	c->since = util_wall_ms();
	c->u = users_get(&b->users, cred.uid);
	c->u->refs++;
	c->activity = ACT_COUNT;	/* so the first state is recorded */
	client_set_activity(c, ACT_CONNECTING);
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

	/* A fresh answer from policy needs no worker. */
	if (user_policy_valid(c->u, util_now_ms())) {
		client_looked_up(c);
		return;
	}
	if (lookup_start(c) != 0) {
		log_warn("worker queue full; refusing peer", "uid=%lu pid=%ld",
		    (u_long)c->uid, (long)c->pid);
		client_close(c, "error", REASON_BUSY, "The server is busy; "
		    "please try again in a moment.");
	}
}
