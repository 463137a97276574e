/*
 * dg-broker: declarations shared by the broker's files, grouped by the
 * file that owns each. The tables (pool, queue, leases, users, quotas,
 * violations) need no event loop, so this header names libevent's types
 * without including libevent: the files on the event loop include it.
 */
#ifndef BROKER_H
#define BROKER_H

#include <sys/types.h>
#include <sys/queue.h>

#include <jansson.h>

#include "dungeongate.h"
#include "proto.h"

struct event;
struct event_base;
struct bufferevent;
struct broker;
struct client;
struct sampler;
struct screen;
struct recording;
struct recorder;
struct replay;
struct evbuffer;

/* How long a refused session is asked to wait before trying again. */
#define BROKER_RETRY_AFTER	30
/* Grace beyond idle_timeout before the broker revokes a silent ticket. */
#define BROKER_EXPIRY_GRACE_MS	(60 * 1000)
/*
 * Most bytes queued to a session that does not read before it is dropped
 * (it is sent a few small frames; an admin tool gets one big reply).
 */
#define BROKER_MAX_OUTPUT	(1024 * 1024)
/* Time a peer has to send its hello, and to take a closing message. */
#define BROKER_HELLO_TIMEOUT	10
#define BROKER_CLOSE_TIMEOUT	5
/*
 * Descriptors kept back from the budget for the broker's own use (the
 * listener, the event loop, worker pipes, lookups reading NSS files).
 */
#define BROKER_FD_RESERVE	32
/* Connections one uid may hold without a ticket (connecting or admin). */
#define BROKER_MAX_PENDING_PER_UID 8
/* How long accepting pauses when the process is out of descriptors. */
#define BROKER_ACCEPT_PAUSE	1
/* Limits every game gets, whatever the tier. */
#define BROKER_GAME_NOFILE	1024
/* Games are refused while fewer kernel PTYs than this are left. */
#define BROKER_PTY_RESERVE	16
/* How often the broker forgets users it no longer needs (seconds). */
#define BROKER_TICK		60
/* How often queued sessions hear their place and estimate again. */
#define BROKER_QUEUE_TICK_MS	1000
/* How soon after a change of the queue its sessions hear of it. */
#define BROKER_QUEUE_TELL_MS	100
/* How often /proc is sampled. */
#define BROKER_SAMPLE_MS	1000
/*
 * Health and status requests per uid: a bucket of BURST requests that
 * refills at RATE per second; admins (root, admin_group) get more.
 */
#define BROKER_ADMIN_RATE	2
#define BROKER_ADMIN_BURST	10
#define BROKER_ADMIN_RATE_ADMIN	100
#define BROKER_ADMIN_BURST_ADMIN 300
/* A bandwidth share moves by more than 1/this before it is pushed. */
#define BROKER_SHARE_HYSTERESIS	20
/*
 * A watcher's backlog: past WATCH_BACKLOG_MAX queued to it, live bytes
 * are no longer added; once it has taken all but WATCH_BACKLOG_LOW, it
 * is sent a fresh screen from the game's state instead.
 */
#define WATCH_BACKLOG_MAX	(256 * 1024)
#define WATCH_BACKLOG_LOW	(16 * 1024)
/* List requests one session may make: a burst, then per second. */
#define WATCH_LIST_BURST	10
#define WATCH_LIST_RATE		4
/*
 * The largest terminal a live game's state keeps (a bigger one is kept
 * to this, its top left). A render of it, every cell in colours of its
 * own, is about 2 MB: with a watcher's backlog, the most one watcher can
 * hold queued in the broker.
 */
#define SCREEN_MAX_COLS		250
#define SCREEN_MAX_ROWS		100
/*
 * What waits for the recordings' writer, all games together; past it the
 * playing sessions are not read until it has written half of it.
 */
#define RECORD_QUEUE_MAX	(64 * 1024 * 1024)
/* Recordings a list shows at most, and bytes one replay read takes. */
#define RECORD_LIST_MAX		200
#define RECORD_READ_SIZE	(32 * 1024)

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* broker-violation.c */
/* Refusals and enforcement actions, counted by type. */
enum violation {
	V_NONE,
	V_USER_CONNECTIONS,
	V_USER_PTYS,
	V_USER_MEMORY,
	V_GAME_BUSY,
	V_PTYS_FULL,
	V_PTYS_EXHAUSTED,
	V_MEMORY_FULL,
	V_QUEUE_FULL,
	V_QUEUE_TIMEOUT,
	V_FD_BUDGET,
	V_PENDING,
	V_BANDWIDTH,
	V_CPU,
	V_RATE_LIMITED,
	V_WATCHERS_FULL,
	V_RECORDING,
	V_STREAM_GAP,
	V_COUNT
};

struct violations {
	uint64_t	 n[V_COUNT];
};

const char	*violation_name(enum violation);
void		 violations_add(struct violations *, enum violation,
		     uint64_t);
json_t		*violations_json(const struct violations *);

/* broker-pool.c */
/* The connection pool: a bounded number of slots, counted per uid. */
struct pool {
	u_int		 max;
	u_int		 used;
	uint64_t	 admitted;
	uint64_t	 refused;
	struct idmap	 by_uid;	/* uid: slots held */
};

void		 pool_init(struct pool *, u_int);
void		 pool_resize(struct pool *, u_int);
int		 pool_admit(struct pool *, uid_t);
void		 pool_release(struct pool *, uid_t);
u_int		 pool_user(const struct pool *, uid_t);
void		 pool_free(struct pool *);

/* broker-lease.c */
/* A game's PTY lease: one live game per user per game. */
struct lease {
	char		 id[ID_LEN];
	uid_t		 uid;
	char		*game;
	uint64_t	 client;	/* the session holding it */
	uint64_t	 memory;	/* the game's memory slice */
	int64_t		 started;	/* wall clock ms */
	TAILQ_ENTRY(lease) entry;	/* all leases */
	TAILQ_ENTRY(lease) user_entry;	/* the user's leases */
};
TAILQ_HEAD(lease_list, lease);

struct leases {
	struct lease_list list;
	u_int		 count;
	uint64_t	 memory;	/* granted to all live games */
	uint64_t	 granted;	/* leases ever granted */
	struct idmap	 by_uid;	/* uid: struct lease_user */
};

void		 leases_init(struct leases *);
struct lease	*lease_acquire(struct leases *, uid_t, const char *, uint64_t,
		     uint64_t, int64_t);
struct lease	*lease_find_game(const struct leases *, uid_t, const char *);
void		 lease_release(struct leases *, struct lease *);
u_int		 leases_user_count(const struct leases *, uid_t);
uint64_t	 leases_user_memory(const struct leases *, uid_t);
u_int		 leases_count_game(const struct leases *, const char *);
void		 leases_free(struct leases *);

/* broker-quota.c */
enum quota_class {
	CLASS_LOW,
	CLASS_NORMAL,
	CLASS_HIGH,
	CLASS_CRITICAL
};
#define CLASS_COUNT	4

/* What a user and the whole system hold, for a quota decision. */
struct quota_usage {
	u_int		 sessions;	/* the user's, open or waiting */
	u_int		 ptys;		/* the user's live games */
	uint64_t	 memory;	/* granted to the user's games */
	u_int		 sys_ptys;
	uint64_t	 sys_memory;
};

const struct config_quota *quota_tier(const struct config *, char *const *,
		     u_int);
enum quota_class quota_class(int, u_int);
const char	*quota_class_name(enum quota_class);
enum violation	 quota_check_session(const struct config_quota *,
		     const struct quota_usage *);
enum violation	 quota_check_lease(const struct config_quota *,
		     const struct config *, const struct quota_usage *,
		     uint64_t);
char		*quota_explain(enum violation, const struct config_quota *,
		     const struct config *, const struct quota_usage *,
		     uint64_t);
uint64_t	 quota_bandwidth_share(uint64_t, u_int, uint64_t, u_int);

/* broker-user.c */
/* What policy said of a uid, and who is connected as it. */
struct user {
	uid_t		 uid;
	int		 known;		/* policy has answered */
	int		 unusable;	/* name or home is not text */
	char		*name;
	char		*home;
	char		**groups;	/* names of the user's Unix groups */
	u_int		 ngroups;
	int64_t		 expires;	/* monotonic ms: ask policy again */
	TAILQ_HEAD(, client) clients;	/* connections as this user */
	u_int		 nclients;
	uint64_t	 share_ref;	/* broker-share.c: the user's split */
	struct bucket	 requests;	/* health and status requests */
	int		 requests_admin; /* the bucket's rate is an admin's */
};

struct users {
	struct idmap	 by_uid;
};

void		 users_init(struct users *);
struct user	*users_find(const struct users *, uid_t);
struct user	*users_get(struct users *, uid_t);
void		 user_set_policy(struct user *, const char *, const char *,
		     char *const *, u_int, int64_t);
void		 user_forget_policy(struct user *);
int		 user_policy_valid(const struct user *, int64_t);
int		 user_is_admin(const struct user *, const struct config *);
const struct config_quota *user_tier(const struct user *,
		     const struct config *);
void		 user_attach(struct user *, struct client *);
void		 user_detach(struct user *, struct client *);
int		 user_request_allowed(struct user *, const struct config *,
		     int64_t);
void		 users_sweep(struct users *, int64_t, int);
void		 users_free(struct users *);

/* broker-queue.c */
#define QUEUE_DEPARTURES	16

struct qentry {
	uint64_t	 client;
	uid_t		 uid;
	enum quota_class class;
	uint64_t	 seq;		/* arrival order */
	int64_t		 since;		/* monotonic ms */
	int64_t		 deadline;
	TAILQ_ENTRY(qentry) entry;	/* in its class, by arrival */
	TAILQ_ENTRY(qentry) dl_entry;	/* in by_deadline */
};
TAILQ_HEAD(qentries, qentry);

struct queue {
	struct qentries	 classes[CLASS_COUNT];
	struct qentries	 by_deadline;	/* every entry, earliest first */
	u_int		 count[CLASS_COUNT];
	u_int		 size;
	u_int		 max;
	int		 prioritize;
	uint64_t	 next_seq;
	int64_t		 departures[QUEUE_DEPARTURES];
	u_int		 ndepartures;
	u_int		 next_departure;
	struct idmap	 by_uid;	/* uid: entries waiting */
	struct idmap	 by_client;	/* client id: its entry */
};

void		 queue_init(struct queue *, u_int, int);
void		 queue_configure(struct queue *, u_int, int);
int		 queue_push(struct queue *, uint64_t, uid_t, enum quota_class,
		     int64_t, int64_t);
uint64_t	 queue_pop(struct queue *, int64_t, int64_t *);
int		 queue_remove(struct queue *, uint64_t, int64_t);
int		 queue_reclass(struct queue *, uint64_t, enum quota_class);
u_int		 queue_position(const struct queue *, uint64_t);
u_int		 queue_user(const struct queue *, uid_t);
void		 queue_walk(const struct queue *,
		     void (*)(const struct qentry *, u_int, void *), void *);
int64_t		 queue_longest(const struct queue *, int64_t);
uint64_t	 queue_expire(struct queue *, int64_t);
int64_t		 queue_next_deadline(const struct queue *);
void		 queue_departure(struct queue *, int64_t);
int		 queue_eta(const struct queue *, u_int, int64_t);
void		 queue_free(struct queue *);

/* broker-sample.c */
/* What the sampler's thread last read, once a second. */
struct sample {
	int64_t		 at;		/* monotonic ms */
	uint64_t	 generation;	/* of the configuration it looked at */
	uint64_t	 granted;	/* leases granted when it was asked for */
	int		 kernel_ptys;	/* the kernel said */
	u_int		 pty_nr;	/* kernel PTYs in use */
	u_int		 pty_max;
	u_int		 open_fds;	/* the broker's own */
	u_int		 ngames;
	int		 game_ok[CONFIG_MAX_GAMES]; /* its program can run */
};

void		 sample_start(struct broker *);
void		 sample_request(struct broker *);
int		 sample_stop(struct broker *, uint64_t);
int		 sample_pty_room(const struct broker *, u_int *, u_int *);

/* broker-client.c */
enum client_state {
	CLIENT_NEW,		/* waiting for hello */
	CLIENT_QUEUED,		/* waiting for a slot */
	CLIENT_SESSION,		/* holds a ticket and a slot */
	CLIENT_ADMIN,		/* an admin tool */
	CLIENT_CLOSING		/* flushing a last message */
};

/* What a session is doing, for the resource tracker. */
enum activity {
	ACT_CONNECTING,
	ACT_QUEUED,
	ACT_MENU,
	ACT_PLAYING,
	ACT_IDLE,
	ACT_COUNT
};
#define ACTIVITY_HISTORY	16

struct client {
	struct broker	*broker;
	uint64_t	 id;		/* never reused */
	int		 fd;
	struct bufferevent *bev;
	enum client_state state;
	int		 dead;		/* dropped; freed next loop turn */

	pid_t		 pid;		/* from SO_PEERCRED */
	uid_t		 uid;
	gid_t		 gid;
	struct user	*u;		/* who policy says the uid is */
	TAILQ_ENTRY(client) user_entry;	/* in u->clients */

	int		 looked_up;	/* policy answered for this connection */
	json_t		*hello;		/* arrived before the lookup */
	int		 busy;		/* a request is with the workers */

	enum quota_class class;
	u_int		 queue_pos;	/* last place in line sent */
	int		 queue_eta;	/* last estimate sent */

	char		 ticket[ID_LEN];
	int		 holds_slot;
	int64_t		 since;		/* wall ms when connected */
	int64_t		 last_input;	/* monotonic ms */
	struct event	*expiry;
	char		*remote;	/* as the session reported it, escaped */
	char		*term;
	u_int		 cols;
	u_int		 rows;

	enum activity	 activity;
	struct {
		enum activity	 activity;
		int64_t		 at;	/* wall ms */
	}		 history[ACTIVITY_HISTORY];
	u_int		 nhistory;
	uint64_t	 bytes_in;	/* as the session reports them */
	uint64_t	 bytes_out;
	uint64_t	 bandwidth;	/* share sent, bytes/s */
	int64_t		 last_report;	/* monotonic ms */
	char		*cpu_mechanism;

	struct lease	*lease;

	/* broker-watch.c: the game this session plays, or watches. */
	struct live	*live;
	struct live	*watching;
	TAILQ_ENTRY(client) watch_entry; /* in watching->watchers */
	int		 watch_utf8;	/* the watcher's terminal is UTF-8 */
	int		 watch_behind;	/* a fresh screen once it drains */
	uint64_t	 watch_sent;	/* stream bytes sent to it */
	struct bucket	 list_rate;	/* its list requests */
	int		 read_held;	/* broker-record.c: the writer is full */
	TAILQ_ENTRY(client) held_entry;

	/* broker-record.c: the recording it replays. */
	struct replay	*replay;

	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(clients, client);

void		 client_accept(struct broker *, int);
void		 client_refuse_fd(int, const char *);
struct client	*client_find(struct broker *, uint64_t);
void		 client_send(struct client *, json_t *);
void		 client_close(struct client *, const char *, const char *,
		     const char *);
void		 client_drop(struct client *);
void		 client_resume(struct client *);
void		 client_looked_up(struct client *);
void		 client_set_state(struct client *, enum client_state);
void		 client_set_activity(struct client *, enum activity);
void		 client_schedule_expiry(struct client *);
void		 client_clear_expiry(struct client *);
int64_t		 client_expiry_after(struct broker *);
const char	*client_activity_name(enum activity);
const char	*client_name(const struct client *);

/* broker-screen.c */
struct screen	*screen_new(u_int, u_int, int);
void		 screen_free(struct screen *);
void		 screen_feed(struct screen *, const void *, size_t);
void		 screen_resize(struct screen *, u_int, u_int);
void		 screen_size(const struct screen *, u_int *, u_int *);
void		 screen_render(struct screen *, int, struct evbuffer *);
char		*screen_row_text(struct screen *, int);

/* broker-watch.c */
/* A game being played: its terminal state and its watchers. */
struct live {
	uint64_t	 client;	/* the player's session */
	struct client	*player;
	uid_t		 uid;
	char		*user;
	char		*game;
	char		*name;
	u_int		 cols;
	u_int		 rows;
	struct screen	*screen;
	struct termsafe	 safe;		/* what may go on to watchers */
	uint64_t	 offset;	/* the next game byte expected */
	uint64_t	 gaps;		/* bytes the session dropped */
	int64_t		 started;	/* wall ms */
	int64_t		 last_output;	/* wall ms */
	TAILQ_HEAD(, client) watchers;
	u_int		 nwatchers;
	struct recording *rec;
	uint64_t	 name_key;	/* in lives_by_name */
	struct live	*name_next;
	TAILQ_ENTRY(live) entry;
};
TAILQ_HEAD(lives, live);

void		 watch_game_start(struct client *, int);
void		 watch_game_end(struct client *);
void		 watch_stream(struct client *, const struct proto_stream *);
void		 watch_resize(struct client *, json_t *);
void		 watch_request(struct client *, json_t *);
void		 watch_leave(struct client *);
void		 watch_redraw(struct client *);
void		 watch_drained(struct client *);
void		 watch_list(struct client *);
json_t		*watch_status(struct broker *);
void		 watch_free(struct broker *);

/* broker-record.c */
struct recording *record_start(struct broker *, const char *, const char *,
		     int64_t);
void		 record_data(struct broker *, struct recording *, int64_t,
		     const void *, size_t);
void		 record_stop(struct broker *, struct recording *);
int		 record_full(struct broker *);
void		 record_hold(struct client *);
void		 record_unhold(struct client *);
void		 record_init(struct broker *);
int		 record_shutdown(struct broker *, uint64_t);
json_t		*record_status(struct broker *);
void		 record_list(struct client *, json_t *);
void		 record_replay(struct client *, json_t *);
void		 record_replay_more(struct client *);
void		 record_replay_stop(struct client *);
int		 record_valid_name(const char *, int);

/* broker.c */
struct broker {
	struct event_base *base;
	struct config	*cfg;
	char		*config_path;
	int		 foreground;

	int		 listen_fd;
	struct event	*listen_ev;
	struct event	*accept_pause;
	u_int		 max_clients;	/* from the descriptor budget */
	struct event	*sig_term;
	struct event	*sig_int;
	struct event	*sig_hup;
	int		 reloading;	/* a reload's worker holds the file */
	int		 stopping;
	int		 stopped;	/* the event loop has returned */
	int		 draining;
	int64_t		 drain_end;	/* monotonic ms */
	struct event	*drain_ev;
	struct event	*tick;		/* housekeeping */

	/* broker-client.c: every connection. */
	struct clients	 clients;
	struct idmap	 client_ids;	/* id: struct client */
	struct idmap	 pending;	/* uid: connections without a ticket */
	uint64_t	 next_id;
	u_int		 nclients;

	struct pool	 pool;
	struct queue	 queue;
	struct event	*queue_timer;	/* broker-wait.c: the earliest deadline */
	struct event	*queue_tell;	/* broker-wait.c: places and estimates */
	int64_t		 queue_tell_at;	/* monotonic ms it is due */
	struct users	 users;
	struct leases	 leases;
	struct workers	*workers;

	/* broker-share.c: the system's split when last pushed to all. */
	uint64_t	 share_ref;

	/* broker-sample.c */
	struct sample	 sample;
	struct sampler	*sampler;
	uint64_t	 cfg_generation; /* counts configurations put in force */

	/* broker-watch.c: the games being played. */
	struct lives	 lives;
	u_int		 nlives;
	struct idmap	 lives_by_name;	/* hash of the user: struct live */
	u_int		 nwatchers;
	uint64_t	 watch_resyncs;	/* fresh screens for slow watchers */
	uint64_t	 stream_bytes;	/* game bytes taken in */

	/* broker-record.c */
	struct recorder	*recorder;
	TAILQ_HEAD(, client) held;	/* not read while the writer is full */

	/* broker-health.c: --check requests waiting for a fresh sample. */
	struct idmap	 health_waiting;
	struct event	*health_timer;

	int64_t		 started;	/* wall ms */
	uint64_t	 bad_frames;
	struct violations violations;
};

int		 broker_main(struct config *, const char *, int);
void		 broker_set_budget(struct broker *);
void		 broker_reload(struct broker *, struct client *);
void		 broker_drain(struct broker *, struct client *);
void		 broker_drain_check(struct broker *);

/* broker-lookup.c */
int		 lookup_start(struct client *);

/* broker-admit.c */
void		 admit_hello(struct client *, json_t *);
void		 admit_release(struct client *);
void		 admit_from_queue(struct broker *);
void		 admit_reclass(struct broker *);
void		 admit_play(struct client *, json_t *);
void		 admit_game_end(struct client *, json_t *);
void		 admit_keepalive(struct client *, json_t *);
void		 admit_violation(struct broker *, enum violation);
void		 admit_refuse(struct client *, enum violation, const char *);
struct quota_usage admit_usage(struct broker *, uid_t);

/* broker-wait.c */
void		 wait_init(struct broker *);
void		 wait_changed(struct broker *);
void		 wait_free(struct broker *);

/* broker-share.c */
void		 share_admitted(struct client *);
void		 share_released(struct broker *, struct user *);
void		 share_push_all(struct broker *);
void		 share_user_changed(struct broker *, struct user *);
uint64_t	 share_of(struct broker *, struct client *);

/* broker-health.c */
enum health { HEALTHY, DEGRADED, UNHEALTHY };
void		 health_check(struct client *);
void		 health_sampled(struct broker *);
void		 health_free(struct broker *);
const char	*health_name(enum health);

/* broker-status.c */
void		 status_reply(struct client *);
json_t		*status_json(struct broker *);

/* broker-worker.c */
struct workers	*workers_create(struct event_base *, u_int, u_int, uint64_t);
void		 workers_configure(struct workers *, u_int, u_int, uint64_t);
int		 workers_submit(struct workers *, void (*)(void *),
		     void (*)(void *, int), void (*)(void *), void *);
json_t		*workers_status(struct workers *);
int		 workers_health(struct workers *, const char **);
u_int		 workers_shutdown(struct workers *, uint64_t);
void		 workers_free(struct workers *);

/* ctl.c */
int		 ctl_check(const struct config *, const char *);
int		 ctl_status(const struct config *);
int		 ctl_drain(const struct config *);

#endif
