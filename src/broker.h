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
struct evhttp;
struct health_waiter;
struct metrics;
struct http;
struct prom;
struct prom_family;
struct screen;
struct recording;
struct recorder;
struct replay;
struct rprobe;
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
/*
 * Descriptors a new connection must leave free for its admission (the
 * user database, groups), or it is refused with this.
 */
#define BROKER_FD_ROOM		2
#define BROKER_NOFILE_MESSAGE	"DungeonGate has run out of room for new " \
	"connections; please try again in a moment."
/* How long accepting pauses when the process is out of descriptors. */
#define BROKER_ACCEPT_PAUSE	1
/* Limits every game gets, whatever the tier. */
#define BROKER_GAME_NOFILE	1024
/*
 * Editing a game's options: the editor and how it runs, fixed here and
 * sent in the edit lease (the session appends the file it checked).
 * rnano is nano in restricted mode; --restricted says so again whatever
 * the program's name, and --ignorercfiles keeps every nanorc out.
 */
#define BROKER_EDITOR		"/usr/bin/rnano"
#define BROKER_EDITOR_ARGS	{ "--restricted", "--ignorercfiles", "--" }
/* The editor's memory slice (RLIMIT_AS), held like a game's. */
#define BROKER_EDIT_MEMORY	(32ULL * 1024 * 1024)
/* The largest options file: edited, copied from a template, or saved. */
#define BROKER_RC_MAX_SIZE	(64 * 1024)
/* The lease of the editor of game ID is named EDIT_PREFIX ID. */
#define BROKER_EDIT_PREFIX	"edit:"
/*
 * A rejoining game's process must have started within this long after
 * its lease was granted (the session spawns it on the lease's arrival).
 */
#define ADMIT_REJOIN_START_MS	(60 * 1000)
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
/* A record longer than this ends a recording read back after a restart. */
#define RECORD_PROBE_RECORD_MAX	(1024 * 1024)

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* prom.c */
enum prom_kind { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };
#define PROM_MAX_LABELS		2
#define PROM_MAX_BUCKETS	24
#define PROM_MAX_SERIES		512	/* in one family */

/* A label and every value it may take. */
struct prom_label {
	const char		*name;
	const char *const	*values;
	u_int			 nvalues;
};

struct prom	*prom_create(void);
void		 prom_free(struct prom *);
struct prom_family *prom_register(struct prom *, enum prom_kind,
		     const char *, const char *, const struct prom_label *,
		     u_int, const double *, u_int);
struct prom_family *prom_counter(struct prom *, const char *, const char *,
		     const struct prom_label *, u_int);
struct prom_family *prom_gauge(struct prom *, const char *, const char *,
		     const struct prom_label *, u_int);
struct prom_family *prom_histogram(struct prom *, const char *,
		     const char *, const struct prom_label *, u_int,
		     const double *, u_int);
struct prom_family *prom_find(const struct prom *, const char *);
u_int		 prom_series(const struct prom_family *);
u_int		 prom_total_series(const struct prom *);
u_int		 prom_index(const struct prom_family *, const char *,
		     const char *);
void		 prom_add(struct prom_family *, u_int, double);
void		 prom_inc(struct prom_family *, u_int);
void		 prom_set(struct prom_family *, u_int, double);
double		 prom_get(const struct prom_family *, u_int);
void		 prom_observe(struct prom_family *, u_int, double);
void		 prom_load_histogram(struct prom_family *, u_int,
		     const uint64_t *, u_int, double);
char		*prom_render(const struct prom *, size_t *);

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
	V_OVERLOADED,
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

/* breaker.c */
/* The circuit breaker around the auth service. */
enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };
#define BREAKER_STATES	3
enum breaker_verdict {
	BREAKER_CALL,	/* closed: make the call */
	BREAKER_PROBE,	/* half-open: make the call, it is the one probe */
	BREAKER_SKIP	/* open, or a probe is out: do not call */
};

struct breaker {
	int		 enabled;
	u_int		 threshold;	/* consecutive failures that open it */
	int64_t		 recovery;	/* ms open before a probe */
	enum breaker_state state;
	u_int		 failures;	/* in a row, since the last success */
	int64_t		 opened_at;	/* monotonic ms */
	int		 probing;	/* the probe is out */
	uint64_t	 transitions[BREAKER_STATES];	/* into each state */
};

void		 breaker_init(struct breaker *, int, u_int, int64_t);
void		 breaker_configure(struct breaker *, int, u_int, int64_t);
enum breaker_verdict breaker_ask(struct breaker *, int64_t);
int		 breaker_success(struct breaker *, int64_t);
int		 breaker_failure(struct breaker *, int64_t);
enum breaker_state breaker_state(struct breaker *, int64_t);
int64_t		 breaker_next_probe(const struct breaker *);
const char	*breaker_state_name(enum breaker_state);

/* shed.c */
/* The load shedder: CPU and memory pressure, smoothed, with a margin. */
#define SHED_WINDOW	3	/* samples smoothed over */
#define SHED_MARGIN	0.05	/* below threshold - margin to stop */
struct shed_cpu { uint64_t busy, total; };	/* /proc/stat jiffies */

/* The last SHED_WINDOW readings of one measure, in a ring. */
struct shed_series {
	double		 v[SHED_WINDOW];
	u_int		 n;		/* readings held */
	u_int		 next;		/* where the next one goes */
};

struct shedder {
	int		 enabled;
	double		 cpu_threshold, mem_threshold;
	struct shed_cpu	 last;
	int		 have_last;
	struct shed_series cpu;		/* utilisation, 0..1 */
	struct shed_series mem;		/* 1 - MemAvailable/MemTotal */
	int		 shedding;
	uint64_t	 started;	/* times shedding began */
};

int		 shed_parse_stat(const char *, size_t, struct shed_cpu *);
int		 shed_parse_meminfo(const char *, size_t, double *);
void		 shed_init(struct shedder *, int, double, double);
void		 shed_configure(struct shedder *, int, double, double);
int		 shed_sample(struct shedder *, const struct shed_cpu *, int,
		     double, int);
double		 shed_cpu(const struct shedder *);
double		 shed_memory(const struct shedder *);
int		 shed_active(const struct shedder *);

/* auth-answer.c */
/* What the auth service answered, checked against the contract. */
enum auth_kind { AUTH_ALLOW, AUTH_DENY, AUTH_FAIL };
#define AUTH_MESSAGE_MAX	200	/* bytes shown to the player */
#define AUTH_BODY_MAX		(64 * 1024)
#define AUTH_DENY_TTL_DEFAULT	60	/* seconds */
#define AUTH_TTL_MAX		(30 * 24 * 3600) /* seconds; more fails */
#define AUTH_REASON_MAX		32	/* bytes of a deny's reason id */

struct auth_answer {
	enum auth_kind	 kind;
	char		*tier;		/* allow: NULL for the local tier */
	char		*reason;	/* deny: the service's id or "denied" */
	char		*message;	/* safe for a terminal, or NULL */
	int64_t		 ttl;		/* seconds; -1 when absent */
	char		*why;		/* what was wrong, escaped */
};

int		 auth_answer_parse(long, const char *, size_t, int,
		     const struct config *, struct auth_answer *);
void		 auth_answer_clear(struct auth_answer *);

/* http-route.c */
enum http_method {
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_OTHER
};
enum http_route {
	HTTP_ROUTE_METRICS,
	HTTP_ROUTE_HEALTH,
	HTTP_ROUTE_NOT_FOUND,	/* 404 */
	HTTP_ROUTE_BAD_METHOD,	/* 405 */
	HTTP_ROUTE_BAD_REQUEST	/* 400 */
};
/* A health endpoint: the components it answers for (none: all). */
struct http_health {
	const char	*path;
	const char	*components[4];
};
enum http_route	 http_route_find(enum http_method, const char *,
		     const struct http_health **);
int		 http_health_has(const struct http_health *, const char *);

/* broker-pool.c */
/* The connection pool: a bounded number of slots, counted per uid. */
struct pool {
	u_int		 max;
	u_int		 used;
	uint64_t	 admitted;
	uint64_t	 readmitted;	/* slots taken back after a restart */
	uint64_t	 refused;
	struct idmap	 by_uid;	/* uid: slots held */
};

void		 pool_init(struct pool *, u_int);
void		 pool_resize(struct pool *, u_int);
int		 pool_admit(struct pool *, uid_t);
void		 pool_readmit(struct pool *, uid_t);
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
	uint64_t	 rejoined;	/* leases taken back after a restart */
	struct idmap	 by_uid;	/* uid: struct lease_user */
};

void		 leases_init(struct leases *);
struct lease	*lease_acquire(struct leases *, uid_t, const char *, uint64_t,
		     uint64_t, int64_t);
struct lease	*lease_rejoin(struct leases *, const char *, uid_t,
		     const char *, uint64_t, uint64_t, int64_t);
struct lease	*lease_find_game(const struct leases *, uid_t, const char *);
struct lease	*lease_find_id(const struct leases *, const char *);
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
/* What the auth service last said of a user. */
struct auth_verdict {
	int		 have;
	enum auth_kind	 kind;		/* AUTH_ALLOW or AUTH_DENY */
	char		*tier;		/* allow: NULL for the local tier */
	char		*reason;	/* deny: the service's id */
	char		*message;	/* for the player, safe for a terminal */
	int64_t		 expires;	/* monotonic ms */
};
/* A verdict is kept this long past its expiry, for on_failure = cached. */
#define USER_VERDICT_KEEP_MS	(24LL * 3600 * 1000)

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
	struct auth_verdict verdict;	/* broker-auth.c */
	char		*auth_tier;	/* the tier it gave; NULL: local */
	int		 auth_inflight;	/* a call for this user is out */
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
void		 user_verdict_clear(struct auth_verdict *);
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
	uint64_t	 rss;		/* the broker's resident memory */
	u_int		 ngames;
	int		 game_ok[CONFIG_MAX_GAMES]; /* its program can run */
	struct shed_cpu	 cpu;		/* [load_shedding] stat_file */
	int		 cpu_ok;
	double		 memory;	/* pressure from meminfo_file */
	int		 mem_ok;
	/* The games of the sessions that hold leases. */
	u_int		 games_found;	/* sessions whose game was found */
	u_int		 games_processes;
	uint64_t	 games_rss;	/* bytes resident in their processes */
	double		 games_cpu;	/* cores, over the last second */
};

void		 sample_start(struct broker *);
void		 sample_request(struct broker *);
int		 sample_stop(struct broker *, uint64_t);
int		 sample_pty_room(const struct broker *, u_int *, u_int *);

/* broker-worker.c */
/* What a job is, for priorities and figures. */
enum job_type {
	JOB_LOOKUP,		/* who a uid is (NSS) */
	JOB_AUTH,		/* a call to the auth service */
	JOB_RELOAD,		/* reading the configuration */
	JOB_SOCKET,		/* giving the socket to its group */
	JOB_RECORDING,		/* listing, opening and reading recordings */
	JOB_TYPES
};
#define WORKER_BUCKETS	14	/* processing-time buckets, then +Inf */
/* Queue slots past queue_size for jobs of class critical (admins). */
#define WORKER_CRITICAL_RESERVE	8

/* The pool's figures at one moment. */
struct worker_stats {
	u_int		 size;
	u_int		 busy;
	u_int		 queued;
	uint64_t	 completed[JOB_TYPES];
	uint64_t	 timeouts[JOB_TYPES];
	uint64_t	 rejected[JOB_TYPES];
	int64_t		 busy_ns;	/* threads' busy time so far */
	int64_t		 at_ns;		/* monotonic */
};

const char	*job_type_name(enum job_type);
double		 workers_bucket(u_int);
struct workers	*workers_create(struct event_base *, u_int, u_int, uint64_t);
void		 workers_configure(struct workers *, u_int, u_int, uint64_t);
int		 workers_submit(struct workers *, enum job_type,
		     enum quota_class, void (*)(void *),
		     void (*)(void *, int), void (*)(void *), void *);
void		 workers_set_observer(struct workers *,
		     void (*)(void *, enum job_type, double), void *);
void		 workers_stats(struct workers *, struct worker_stats *);
json_t		*workers_status(struct workers *);
int		 workers_health(struct workers *, const char **);
u_int		 workers_shutdown(struct workers *, uint64_t);
void		 workers_free(struct workers *);

/* broker-auth.c */
/* How a decision about an account came out. */
enum auth_outcome {
	AUTH_OUT_ALLOW,
	AUTH_OUT_DENY,
	AUTH_OUT_CONNECT,	/* no connection, or it broke */
	AUTH_OUT_TIMEOUT,
	AUTH_OUT_STATUS,	/* a status outside the contract */
	AUTH_OUT_BODY,		/* a body outside the contract */
	AUTH_OUT_SKIPPED,	/* the breaker was open: no call */
	AUTH_OUTCOMES
};
#define AUTH_WINDOW		60	/* seconds of the error rate */
#define AUTH_RETRY_AFTER	10	/* seconds, after a failed call */
struct auth_second {
	int64_t		 second;
	u_int		 calls;
	u_int		 failures;
};
struct auth_stats {
	uint64_t	 outcomes[AUTH_OUTCOMES];
	uint64_t	 cached;	/* decisions from a kept verdict */
	uint64_t	 buckets[WORKER_BUCKETS + 1];	/* calls by time */
	uint64_t	 count;
	double		 seconds;
	struct auth_second window[AUTH_WINDOW];
};
const char	*auth_outcome_name(enum auth_outcome);
void		 auth_init(struct broker *);
void		 auth_configure(struct broker *);
void		 auth_free(void);
void		 auth_decide(struct client *);
int		 auth_forget(struct broker *, const char *);
u_int		 auth_cached(struct broker *);
void		 auth_error_rate(struct broker *, u_int *, u_int *);

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
	ACT_EDITING,
	ACT_WATCHING,
	ACT_REPLAYING,
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
	int		 said_hello;	/* a session's hello came */
	int		 auth_wait;	/* waits for the auth service */
	char		*auth_message;	/* the service's, for the menu */
	char		*command;	/* the ssh command, as reported */

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

	enum activity	 activity;	/* ACT_COUNT: not a session */
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
	int		 editing;	/* the lease is an editor's */
	int64_t		 queued_at;	/* monotonic ms it joined the queue */
	u_int		 pty_fds;	/* on its game's PTY, as it reported */

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

/*
 * The seed's fields of a connection event, for a log line: the
 * connection's id, the peer's uid, the remote address as the session
 * reported it (escaped) and the sessions holding a slot.
 */
#define CLIENT_LOG_FIELDS \
	"connection_id=%llu user_id=%lu remote_addr=%s active_connections=%u"
#define CLIENT_LOG_ARGS(c) \
	(unsigned long long)(c)->id, (u_long)(c)->uid,			\
	log_quote((c)->remote != NULL ? (c)->remote : "-"),		\
	(c)->broker->pool.used

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
enum activity	 client_doing(const struct client *);
void		 client_set_pty_fds(struct client *, u_int);
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
	struct rprobe	*probe;		/* its recording is looked for */
	int		 utf8;
	uint64_t	 name_key;	/* in lives_by_name */
	struct live	*name_next;
	TAILQ_ENTRY(live) entry;
};
TAILQ_HEAD(lives, live);

void		 watch_game_start(struct client *, int);
int		 watch_game_rejoin(struct client *, int, uint64_t);
void		 watch_rejoin_done(struct broker *, struct live *,
		     const char *, uint64_t, uint64_t, struct screen *);
void		 watch_game_end(struct client *);
void		 watch_stream(struct client *, const struct proto_stream *);
void		 watch_stream_end(struct client *, uint64_t);
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
struct recording *record_resume(struct broker *, const char *, const char *,
		     int64_t, const char *, uint64_t);
int		 record_probe(struct broker *, struct live *);
void		 record_probe_orphan(struct rprobe *);
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
	int		 socket_activated; /* systemd's: never unlinked */
	struct event	*listen_ev;
	struct event	*accept_pause;
	u_int		 max_clients;	/* from the descriptor budget */
	int		 spare_fd;	/* given up to refuse when out of them */
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

	/* broker-auth.c */
	struct breaker	 breaker;
	struct auth_stats auth;
	char		 hostname[256];

	/* The load shedder, fed by the sampler. */
	struct shedder	 shed;

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
	TAILQ_HEAD(health_waiters, health_waiter) health_waiters;
	struct event	*health_timer;

	int64_t		 started;	/* wall ms */
	uint64_t	 bad_frames;
	struct violations violations;

	/* broker-notify.c: what systemd hears. */
	int		 notify;	/* NOTIFY_SOCKET is set */
	int		 notify_watchdog; /* WatchdogSec is set */
	struct event	*notify_ev;
	char		*notify_last;	/* the last STATUS= sent */
	/* broker-client.c: sessions by what they are doing. */
	u_int		 activities[ACT_COUNT];
	uint64_t	 pty_fds;	/* the sessions' reports, summed */

	/* broker-admit.c: sessions that re-registered after a restart. */
	uint64_t	 rejoins;
	uint64_t	 rejoins_refused;

	/* broker.c: the last reload. */
	int64_t		 reload_at;	/* wall ms; 0: none yet */
	int		 reload_ok;

	/* broker-metrics.c and broker-http.c */
	struct metrics	*metrics;
	struct http	*http;
};

int		 broker_main(struct config *, const char *, int);
void		 broker_set_budget(struct broker *);
void		 broker_reload(struct broker *, struct client *);
void		 broker_drain(struct broker *, struct client *);
void		 broker_drain_check(struct broker *);

/* broker-lookup.c */
int		 lookup_start(struct client *);

/* broker-priv.c */
/* Who the broker runs as: a broker started as root drops to [broker] user. */
struct priv {
	int		 drop;		/* started as root */
	char		*user;
	uid_t		 uid;
	gid_t		 gid;
};

int		 priv_lookup(const char *, struct priv *, char **);
void		 priv_raise_nofile(const struct priv *, u_int);
void		 priv_drop(const struct priv *);
void		 priv_free(struct priv *);

/* broker-notify.c */
int		 notify_listen_fd(const char *);
void		 notify_ready(struct broker *);
void		 notify_status(struct broker *, int);
void		 notify_reloading(struct broker *);
void		 notify_reloaded(struct broker *, int);
void		 notify_stopping(struct broker *);
void		 notify_free(struct broker *);

/* broker-admit.c */
void		 admit_decision(struct client *, const char *, const char *,
		     int64_t);
void		 admit_hello(struct client *, json_t *);
void		 admit_decided(struct client *);
void		 admit_release(struct client *);
void		 admit_from_queue(struct broker *);
void		 admit_reclass(struct broker *);
void		 admit_play(struct client *, json_t *);
void		 admit_edit(struct client *, json_t *);
void		 admit_game_end(struct client *, json_t *);
void		 admit_keepalive(struct client *, json_t *);
void		 admit_rejoin(struct client *, json_t *);
void		 admit_rejoined(struct client *, uint64_t);
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
#define HEALTH_MAX_COMPONENTS	16

/* One component's judgement. */
struct health_item {
	const char	*name;
	enum health	 status;
	char		*detail;
};

/* Every component's judgement, and the worst of them. */
struct health_report {
	struct health_item items[HEALTH_MAX_COMPONENTS];
	u_int		 n;
	enum health	 worst;
};

void		 health_build(struct broker *, struct health_report *);
void		 health_report_free(struct health_report *);
enum health	 health_ready(struct broker *, const char **);
int		 health_fresh(struct broker *);
void		 health_wait(struct broker *, void (*)(struct broker *, void *),
		     void *);
void		 health_check(struct client *);
void		 health_sampled(struct broker *);
void		 health_free(struct broker *);
const char	*health_name(enum health);

/* broker-metrics.c */
void		 metrics_init(struct broker *);
void		 metrics_tick(struct broker *);
char		*metrics_render(struct broker *, size_t *);
void		 metrics_admission(struct client *, const char *, const char *,
		     int64_t);
void		 metrics_rejected(struct broker *, const char *);
void		 metrics_bandwidth(struct broker *, uint64_t, uint64_t);
void		 metrics_reload(struct broker *, int);
void		 metrics_rejoin(struct broker *, const char *);
void		 metrics_free(struct broker *);

/* broker-http.c */
int		 http_bind(const struct config *);
void		 http_start(struct broker *, int);
void		 http_stop(struct broker *);

/* broker-status.c */
void		 status_reply(struct client *);
json_t		*status_json(struct broker *);

/* ctl.c */
int		 ctl_check(const struct config *, const char *);
int		 ctl_status(const struct config *);
int		 ctl_drain(const struct config *);
int		 ctl_forget(const struct config *, const char *);

/* alerts.c */
void		 alerts_print(const struct config *, FILE *);

#endif
