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

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "broker.h"

static void	client_read_cb(struct bufferevent *, void *);
static void	client_hello(struct client *, json_t *);

/* Find a client by id; it may have gone while a worker ran. */
struct client *
client_find(struct broker *b, uint64_t id)
{
	return idmap_get(&b->client_ids, id);
}

/* Does a state hold a connection without a ticket? */
static int
client_state_pending(enum client_state state)
{
	return state == CLIENT_NEW || state == CLIENT_ADMIN;
}

/* Move a client to a state, keeping the count of pending connections. */
void
client_set_state(struct client *c, enum client_state state)
{
	struct broker	*b = c->broker;
	int		 was = client_state_pending(c->state);
	int		 is = client_state_pending(state);

	c->state = state;
	if (c->dead || was == is)
		return;
	idmap_count_add(&b->pending, c->uid, is ? 1 : -1);
}

/* The client's user name for logs, or "-" while policy has not said. */
const char *
client_name(const struct client *c)
{
	return c->u->name != NULL ? c->u->name : "-";
}

static const char *activity_names[ACT_COUNT] = {
	"connecting", "queued", "menu", "playing", "idle", "editing",
	"watching", "replaying"
};

/* An activity's name, for --status. */
const char *
client_activity_name(enum activity a)
{
	return activity_names[a];
}

/*
 * What an admitted session is doing when it is not idle: its game or its
 * editor, the game it watches or the recording it replays, or the menu.
 */
enum activity
client_doing(const struct client *c)
{
	if (c->lease != NULL)
		return c->editing ? ACT_EDITING : ACT_PLAYING;
	if (c->watching != NULL)
		return ACT_WATCHING;
	if (c->replay != NULL)
		return ACT_REPLAYING;
	return ACT_MENU;
}

/*
 * Note what a session is doing now, keeping the last few changes and the
 * broker's count of sessions by activity (ACT_COUNT: not a session).
 */
void
client_set_activity(struct client *c, enum activity a)
{
	struct broker	*b = c->broker;
	u_int		 i;

	if (c->activity == a)
		return;
	if (c->activity != ACT_COUNT)
		b->activities[c->activity]--;
	c->activity = a;
	if (a == ACT_COUNT)
		return;
	b->activities[a]++;
	if (c->nhistory == ACTIVITY_HISTORY) {
		for (i = 1; i < ACTIVITY_HISTORY; i++)
			c->history[i - 1] = c->history[i];
		c->nhistory--;
	}
	c->history[c->nhistory].activity = a;
	c->history[c->nhistory].at = util_wall_ms();
	c->nhistory++;
}

/*
 * Note the descriptors on a session's game PTY, as it last reported them,
 * keeping the broker's sum of them all.
 */
void
client_set_pty_fds(struct client *c, u_int n)
{
	struct broker	*b = c->broker;

	b->pty_fds -= c->pty_fds;
	c->pty_fds = n;
	b->pty_fds += n;
}

/* Policy has answered (or the user's record still held a fresh answer). */
void
client_looked_up(struct client *c)
{
	json_t	*hello;

	c->looked_up = 1;
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
		/* Every string is checked text: a bug; keep serving. */
		log_error("message could not be built; dropping peer",
		    "client=%llu user=%s", (unsigned long long)c->id,
		    client_name(c));
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
		    (unsigned long long)c->id, client_name(c));
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
		    client_name(c), (long)c->pid);
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

/* Stop the connection's timer (the queue's deadline governs instead). */
void
client_clear_expiry(struct client *c)
{
	evtimer_del(c->expiry);
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
		log_peer(LOG_LEVEL_INFO, c->uid, "no hello in time",
		    CLIENT_LOG_FIELDS " pid=%ld", CLIENT_LOG_ARGS(c),
		    (long)c->pid);
		client_close(c, "error", REASON_UNEXPECTED, "no hello in time");
		return;
	}
	if (util_now_ms() < c->last_input + client_expiry_after(b)) {
		client_schedule_expiry(c);
		return;
	}
	log_info("ticket expired", "user=%s ticket=%s pid=%ld", client_name(c),
	    c->ticket, (long)c->pid);
	client_close(c, "bye", REASON_EXPIRED, "Your session was idle for "
	    "too long and has been closed.");
}

/* Give back everything this client holds. */
static void
client_release(struct client *c)
{
	watch_leave(c);
	record_replay_stop(c);
	record_unhold(c);
	admit_release(c);
	if (c->expiry != NULL)
		evtimer_del(c->expiry);
}

/* Free a dropped client. */
static void
client_free(struct client *c)
{
	bufferevent_free(c->bev);
	if (c->expiry != NULL)
		event_free(c->expiry);
	json_decref(c->hello);
	free(c->remote);
	free(c->term);
	free(c->cpu_mechanism);
	free(c->auth_message);
	free(c->command);
	free(c);
}

/* Deferred free, out of the bufferevent's own callbacks. */
static void
client_free_cb(evutil_socket_t fd, short events, void *arg)
{
	client_free(arg);
}

/*
 * Forget a client now and free it from the next loop turn; once the
 * loop has stopped there is no next turn, so free it at once.
 */
void
client_drop(struct client *c)
{
	struct broker	*b = c->broker;
	int		 pending;

	if (c->dead)
		return;
	/*
	 * Dead first: what releasing calls (a share pushed to the user's
	 * sessions, this one among them) must not send to it or drop it.
	 */
	pending = client_state_pending(c->state);
	c->dead = 1;
	client_release(c);
	client_set_activity(c, ACT_COUNT);
	client_set_pty_fds(c, 0);
	if (pending)
		idmap_count_add(&b->pending, c->uid, -1);
	user_detach(c->u, c);
	TAILQ_REMOVE(&b->clients, c, entry);
	idmap_remove(&b->client_ids, c->id);
	b->nclients--;
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (b->stopped) {
		client_free(c);
		return;
	}
	if (event_base_once(b->base, -1, EV_TIMEOUT, client_free_cb, c,
	    NULL) != 0)
		fatalx("event_base_once failed");
}

static void	client_closing_event_cb(struct bufferevent *, short, void *);

/* A closing client's words after its last message: read and let go. */
static void
client_linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/*
 * All of a closing client's last message has left. Close our side for
 * writing and wait (up to BROKER_CLOSE_TIMEOUT) for the peer to close
 * its own: a peer whose write met a socket already closed could lose the
 * message still unread on its side, and with it the reason it was sent
 * away.
 */
static void
client_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;
	struct timeval	 tv = { BROKER_CLOSE_TIMEOUT, 0 };

	if (c->broker->stopped || shutdown(c->fd, SHUT_WR) != 0) {
		client_drop(c);
		return;
	}
	bufferevent_setcb(bev, client_linger_read_cb, NULL,
	    client_closing_event_cb, c);
	bufferevent_set_timeouts(bev, &tv, NULL);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
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
	client_set_state(c, CLIENT_CLOSING);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_setcb(c->bev, NULL, client_flushed_cb,
	    client_closing_event_cb, c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		client_flushed_cb(c->bev, c);
}

/*
 * The first message, hello or a session's rejoin after a restart: check
 * the version, then admit, take back or serve the tool.
 */
static void
client_hello(struct client *c, json_t *hello)
{
	json_int_t	 version;
	const char	*role, *type;
	char		*message;
	int		 rejoin;

	if (json_unpack(hello, "{s:s, s:I, s:s}", "type", &type, "version",
	    &version, "client", &role) != 0)
		fatalx("validated hello lacks version or client");
	rejoin = strcmp(type, "rejoin") == 0;
	if (version != PROTO_VERSION) {
		xasprintf(&message, "protocol version %lld is not supported; "
		    "this broker speaks version %d", (long long)version,
		    PROTO_VERSION);
		log_peer(LOG_LEVEL_WARN, c->uid, "bad protocol version",
		    CLIENT_LOG_FIELDS " pid=%ld version=%lld",
		    CLIENT_LOG_ARGS(c), (long)c->pid, (long long)version);
		metrics_rejected(c->broker, REASON_VERSION);
		client_close(c, "error", REASON_VERSION, message);
		free(message);
		return;
	}
	if (!c->u->known) {
		log_peer(LOG_LEVEL_WARN, c->uid, c->u->unusable ?
		    "account name or home cannot be shown safely" :
		    "unknown uid",
		    CLIENT_LOG_FIELDS " pid=%ld", CLIENT_LOG_ARGS(c),
		    (long)c->pid);
		metrics_rejected(c->broker, REASON_NO_USER);
		xasprintf(&message, "Your account (uid %lu) %s.", (u_long)c->uid,
		    c->u->unusable ? "has a name or home DungeonGate cannot "
		    "use; please tell the server admin" : "is unknown to this "
		    "server");
		client_close(c, "refused", REASON_NO_USER, message);
		free(message);
		return;
	}
	if (rejoin && strcmp(role, "session") != 0) {
		client_close(c, "error", REASON_BAD_MESSAGE,
		    "only a session rejoins");
		return;
	}
	if (rejoin)
		admit_rejoin(c, hello);
	else if (strcmp(role, "session") == 0) {
		/*
		 * In time: the worker's and the auth service's timeouts
		 * bound the rest.
		 */
		c->said_hello = 1;
		client_clear_expiry(c);
		admit_hello(c, hello);
	}
	else if (strcmp(role, "admin") == 0) {
		client_set_state(c, CLIENT_ADMIN);
		client_set_activity(c, ACT_COUNT);
		client_admin_deadline(c);
		log_debug("admin connected", "user=%s pid=%ld", client_name(c),
		    (long)c->pid);
	} else {
		client_close(c, "error", REASON_BAD_MESSAGE,
		    "client must be \"session\" or \"admin\"");
	}
}

/*
 * Is this admin request within the uid's rate? If not, the tool is told
 * and closed, and the refusal counted.
 */
static int
client_rate_ok(struct client *c, enum proto_msg type)
{
	struct broker	*b = c->broker;

	if (user_request_allowed(c->u, b->cfg, util_now_ms()))
		return 1;
	admit_violation(b, V_RATE_LIMITED);
	metrics_rejected(b, REASON_RATE_LIMITED);
	log_peer(LOG_LEVEL_WARN, c->uid, "admin request refused: too many",
	    "user=%s user_id=%lu request=%s", client_name(c), (u_long)c->uid,
	    proto_msg_name(type));
	client_close(c, "error", REASON_RATE_LIMITED, "Too many requests "
	    "from your account; please try again in a few seconds.");
	return 0;
}

/* dg-broker --forget USER: drop that user's cached verdict. */
static void
client_forget(struct client *c, json_t *msg)
{
	const char	*user;
	int		 had;

	if (json_unpack(msg, "{s:s}", "user", &user) != 0)
		fatalx("validated forget lacks user");
	had = auth_forget(c->broker, user);
	log_info("forget", "by=%s user=%s had=%d", client_name(c),
	    log_quote(user), had);
	client_send(c, json_pack("{s:s, s:s, s:i}", "type", "forgotten",
	    "user", user, "had", had));
}

/* Route one checked message by the client's state. */
static void
client_dispatch(struct client *c, enum proto_msg type, json_t *msg)
{
	struct broker	*b = c->broker;
	char		*message;

	if (type == MSG_GOODBYE && c->state != CLIENT_NEW &&
	    c->state != CLIENT_CLOSING) {
		client_drop(c);
		return;
	}
	switch (c->state) {
	case CLIENT_NEW:
		if ((type != MSG_HELLO && type != MSG_REJOIN) || c->said_hello)
			break;
		if (!c->looked_up) {
			/* Wait for the worker before going on. */
			json_incref(msg);
			c->hello = msg;
			bufferevent_disable(c->bev, EV_READ);
			/* In time: worker_timeout bounds the rest. */
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
		case MSG_EDIT:
			admit_edit(c, msg);
			return;
		case MSG_GAME_END:
			admit_game_end(c, msg);
			return;
		case MSG_KEEPALIVE:
			admit_keepalive(c, msg);
			return;
		case MSG_RESIZE:
			watch_resize(c, msg);
			return;
		case MSG_WATCH:
			watch_request(c, msg);
			return;
		case MSG_UNWATCH:
			watch_leave(c);
			return;
		case MSG_REDRAW:
			watch_redraw(c);
			return;
		case MSG_LIST:
			watch_list(c);
			return;
		case MSG_RECORDINGS:
			record_list(c, msg);
			return;
		case MSG_REPLAY:
			record_replay(c, msg);
			return;
		case MSG_REPLAY_MORE:
			record_replay_more(c);
			return;
		case MSG_REPLAY_STOP:
			record_replay_stop(c);
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
			if (client_rate_ok(c, type))
				health_check(c);
			return;
		case MSG_LIST:
			/* `ssh host list`: no terminal, so no slot. */
			if (client_rate_ok(c, type))
				watch_list(c);
			return;
		case MSG_STATUS:
		case MSG_RELOAD:
		case MSG_DRAIN:
		case MSG_FORGET:
			if (!user_is_admin(c->u, b->cfg)) {
				log_peer(LOG_LEVEL_WARN, c->uid,
				    "admin request refused", "user=%s "
				    "request=%s",
				    client_name(c), proto_msg_name(type));
				xasprintf(&message, "%s needs root or "
				    "membership of %s", proto_msg_name(type),
				    b->cfg->broker_admin_group);
				client_close(c, "error", REASON_FORBIDDEN,
				    message);
				free(message);
				return;
			}
			if (type == MSG_STATUS) {
				if (client_rate_ok(c, type))
					status_reply(c);
			} else if (type == MSG_DRAIN)
				broker_drain(b, c);
			else if (type == MSG_FORGET)
				client_forget(c, msg);
			else
				broker_reload(b, c);
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
	static u_char		 data[PROTO_STREAM_DATA];
	struct client		*c = arg;
	struct broker		*b = c->broker;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct proto_stream	 st = { .data = data };
	json_t			*msg;
	enum proto_msg		 type;
	char			*cause;
	int			 rc;

	while (!c->dead && c->state != CLIENT_CLOSING && c->hello == NULL &&
	    !c->read_held) {
		rc = proto_next(in, PROTO_MAX_TO_BROKER, PROTO_TO_BROKER, &msg,
		    &type, &st, &cause);
		if (rc == 0)
			return;
		if (rc == 2) {
			/* A copy of the game's output: only while it plays. */
			if (c->state != CLIENT_SESSION || c->live == NULL ||
			    c->live->probe != NULL) {
				b->bad_frames++;
				log_peer(LOG_LEVEL_WARN, c->uid,
				    "stream frame not expected",
				    CLIENT_LOG_FIELDS " pid=%ld",
				    CLIENT_LOG_ARGS(c), (long)c->pid);
				client_close(c, "error", REASON_UNEXPECTED,
				    "a stream frame is expected only while a "
				    "game runs");
				return;
			}
			watch_stream(c, &st);
			continue;
		}
		if (rc < 0) {
			b->bad_frames++;
			log_peer(LOG_LEVEL_WARN, c->uid, rc == -1 ?
			    "bad frame" : "bad message", CLIENT_LOG_FIELDS
			    " pid=%ld error=%s", CLIENT_LOG_ARGS(c),
			    (long)c->pid, log_quote(cause));
			client_close(c, "error", rc == -1 ? REASON_BAD_FRAME :
			    REASON_BAD_MESSAGE, cause);
			free(cause);
			return;
		}
		client_dispatch(c, type, msg);
		json_decref(msg);
	}
}

/* A session that was held is read again, what it sent meanwhile first. */
void
client_resume(struct client *c)
{
	if (c->dead || c->state == CLIENT_CLOSING)
		return;
	bufferevent_enable(c->bev, EV_READ);
	client_read_cb(c->bev, c);
}

/* What was queued to a peer has gone down to the write mark. */
static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	if (c->watching != NULL)
		watch_drained(c);
}

/* The peer went away, or an error or timeout on its socket. */
static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_peer(LOG_LEVEL_INFO, c->uid, "peer timed out",
		    CLIENT_LOG_FIELDS " pid=%ld", CLIENT_LOG_ARGS(c),
		    (long)c->pid);
	else if (what & BEV_EVENT_ERROR)
		log_peer(LOG_LEVEL_INFO, c->uid, "peer error",
		    CLIENT_LOG_FIELDS " pid=%ld error=%s", CLIENT_LOG_ARGS(c),
		    (long)c->pid, log_quote(strerror(EVUTIL_SOCKET_ERROR())));
	else
		log_peer(LOG_LEVEL_DEBUG, c->uid, "peer closed",
		    CLIENT_LOG_FIELDS " pid=%ld", CLIENT_LOG_ARGS(c),
		    (long)c->pid);
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
	if (idmap_count(&b->pending, cred.uid) >= BROKER_MAX_PENDING_PER_UID) {
		log_peer(LOG_LEVEL_WARN, cred.uid, "connection refused: too "
		    "many pending for this uid", "user_id=%lu pid=%ld max=%d "
		    "active_connections=%u", (u_long)cred.uid, (long)cred.pid,
		    BROKER_MAX_PENDING_PER_UID, b->pool.used);
		admit_violation(b, V_PENDING);
		metrics_rejected(b, violation_name(V_PENDING));
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
	idmap_count_add(&b->pending, c->uid, 1);
	c->since = util_wall_ms();
	c->u = users_get(&b->users, cred.uid);
	user_attach(c->u, c);
	c->activity = ACT_COUNT;	/* so the first state is recorded */
	client_set_activity(c, ACT_CONNECTING);
	c->bev = bufferevent_socket_new(b->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("bufferevent_socket_new failed");
	bufferevent_setcb(c->bev, client_read_cb, client_write_cb,
	    client_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    PROTO_HEADER_SIZE + PROTO_MAX_TO_BROKER);
	bufferevent_enable(c->bev, EV_READ);
	c->expiry = evtimer_new(b->base, client_expiry_cb, c);
	evtimer_add(c->expiry, &tv);
	TAILQ_INSERT_TAIL(&b->clients, c, entry);
	idmap_put(&b->client_ids, c->id, c);
	b->nclients++;
	log_peer(LOG_LEVEL_DEBUG, c->uid, "peer connected", CLIENT_LOG_FIELDS
	    " pid=%ld", CLIENT_LOG_ARGS(c), (long)c->pid);

	/* A fresh answer from policy needs no worker. */
	if (user_policy_valid(c->u, util_now_ms())) {
		client_looked_up(c);
		return;
	}
	if (lookup_start(c) != 0) {
		log_peer(LOG_LEVEL_WARN, c->uid, "worker queue full; refusing "
		    "peer", CLIENT_LOG_FIELDS " pid=%ld", CLIENT_LOG_ARGS(c),
		    (long)c->pid);
		metrics_rejected(b, REASON_BUSY);
		client_close(c, "error", REASON_BUSY, "The server is busy; "
		    "please try again in a moment.");
	}
}
