/*
 * DungeonGate: shared declarations for dg-broker and dg-session.
 */
#ifndef DUNGEONGATE_H
#define DUNGEONGATE_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/time.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#ifndef __dead
#define __dead __attribute__((__noreturn__))
#endif
#define printflike(a, b) __attribute__((__format__(__printf__, a, b)))

#define nitems(a) (sizeof (a) / sizeof (a)[0])

#define DG_DEFAULT_CONFIG	SYSCONFDIR "/dungeongate/dungeongate.ini"

/* Exit statuses, from sysexits(3). */
#define EXIT_CONFIG	78	/* EX_CONFIG */
#define EXIT_UNAVAIL	69	/* EX_UNAVAILABLE */
#define EXIT_USAGE	64	/* EX_USAGE */

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...) printflike(2, 3);
int		 xvasprintf(char **, const char *, va_list);

/* log.c */
#define LOG_LEVEL_DEBUG	0
#define LOG_LEVEL_INFO	1
#define LOG_LEVEL_WARN	2
#define LOG_LEVEL_ERROR	3
#define LOG_TO_STDERR	0x1
#define LOG_TO_SYSLOG	0x2
void		 log_open(const char *, int, int);
void		 log_set_level(int);
int		 log_level_from_string(const char *);
const char	*log_level_to_string(int);
const char	*log_quote(const char *);
void		 log_debug(const char *, const char *, ...) printflike(2, 3);
void		 log_info(const char *, const char *, ...) printflike(2, 3);
void		 log_warn(const char *, const char *, ...) printflike(2, 3);
void		 log_error(const char *, const char *, ...) printflike(2, 3);
__dead void	 fatal(const char *, ...) printflike(1, 2);
__dead void	 fatalx(const char *, ...) printflike(1, 2);

/* config.c */
#define CONFIG_MAX_GAMES	32
#define CONFIG_MAX_QUOTAS	32
#define CONFIG_MAX_ENV		32
#define CONFIG_MAX_ARGS		32
#define CONFIG_MAX_GROUPS	32
#define CONFIG_RESERVED_KEYS	"qwer"	/* quit, watch, edit, recordings */

enum auth_on_failure {
	AUTH_ON_FAILURE_CACHED,
	AUTH_ON_FAILURE_DENY,
	AUTH_ON_FAILURE_ALLOW
};

struct config_game {
	char		*id;		/* from [game:ID] */
	int		 line;		/* where its section began */
	int		 key_line;
	char		*name;
	char		 key;
	char		*command;
	char		*rcfile;
	uint64_t	 memory;	/* RLIMIT_AS of each game */
	char		*env[CONFIG_MAX_ENV];
	u_int		 nenv;
	int		 set_command;
};

struct config_quota {
	char		*name;		/* from [quota:NAME] */
	char		*groups[CONFIG_MAX_GROUPS];
	u_int		 ngroups;
	u_int		 max_connections;
	u_int		 max_ptys;
	uint64_t	 max_memory;
	uint64_t	 max_bandwidth;
	double		 max_cpu_cores;
	uint64_t	 expires_after;	/* ms */
	u_int		 priority;
};

struct config {
	char		*path;

	char		*broker_socket;
	char		*broker_socket_group;
	char		*broker_admin_group;
	char		*broker_state_dir;
	int		 broker_log_level;

	char		*http_listen;

	u_int		 pool_max_connections;
	u_int		 pool_queue_size;
	uint64_t	 pool_queue_timeout;	/* all durations in ms */
	uint64_t	 pool_idle_timeout;
	uint64_t	 pool_drain_timeout;
	int		 pool_enable_prioritization;

	u_int		 worker_pool_size;
	u_int		 worker_queue_size;
	uint64_t	 worker_timeout;
	uint64_t	 worker_shutdown_timeout;

	int		 breaker_enabled;
	u_int		 breaker_failure_threshold;
	uint64_t	 breaker_recovery_timeout;

	int		 shed_enabled;
	double		 shed_cpu_threshold;
	double		 shed_memory_threshold;

	u_int		 limits_max_connections;
	u_int		 limits_max_ptys;
	uint64_t	 limits_max_memory;
	uint64_t	 limits_max_bandwidth;
	u_int		 limits_max_file_descriptors;

	char		*auth_url;
	char		*auth_token_file;
	uint64_t	 auth_timeout;
	int		 auth_on_failure;

	u_int		 alerts_high_connection_count;
	uint64_t	 alerts_high_queue_time;
	double		 alerts_high_error_rate;
	double		 alerts_high_resource_usage;

	int		 recording_enabled;
	char		*recording_dir;

	int		 spectate_enabled;
	u_int		 spectate_max_watchers_per_game;

	struct config_quota quotas[CONFIG_MAX_QUOTAS];
	u_int		 nquotas;
	struct config_game games[CONFIG_MAX_GAMES];
	u_int		 ngames;
};

#define CONFIG_LENIENT	0x1	/* return what parsed, errors and all */
struct config	*config_load(const char *, int, char **);
void		 config_free(struct config *);
void		 config_print(const struct config *, FILE *);
const struct config_game *config_find_game(const struct config *,
		     const char *);
const struct config_quota *config_find_quota(const struct config *,
		     const char *);
u_int		 config_max_connections(const struct config *);
int		 config_parse_duration(const char *, uint64_t *);
int		 config_parse_size(const char *, uint64_t *);
int		 config_parse_rate(const char *, uint64_t *);
char		*config_format_duration(uint64_t);
char		*config_format_size(uint64_t);
int		 config_expand_command(const char *, const char *,
		     const char *, char ***, char **);
char		*config_expand(const char *, const char *, const char *);
void		 config_free_argv(char **);

/* util.c */
#define ID_LEN	19	/* "t-" and 16 hex digits, with the NUL */
int64_t		 util_now_ms(void);
int64_t		 util_wall_ms(void);
struct timeval	 util_timeval_ms(int64_t);
void		 util_random_id(char, char *, size_t);
int		 util_valid_text(const char *);

/* broker-pool.c */
struct pool {
	u_int		 max;
	u_int		 used;
	uint64_t	 admitted;
	uint64_t	 refused;
};

struct lease {
	char		 id[ID_LEN];
	char		*user;
	char		*game;
	uint64_t	 client;
	uint64_t	 memory;	/* the game's memory slice */
	int64_t		 started;	/* wall clock ms */
	struct lease	*next;
};

struct leases {
	struct lease	*head;
	u_int		 count;
};

void		 pool_init(struct pool *, u_int);
void		 pool_resize(struct pool *, u_int);
int		 pool_admit(struct pool *);
void		 pool_release(struct pool *);
struct lease	*lease_acquire(struct leases *, const char *, const char *,
		     uint64_t, int64_t);
struct lease	*lease_find(struct leases *, const char *);
struct lease	*lease_find_game(struct leases *, const char *,
		     const char *);
u_int		 lease_count_game(const struct leases *, const char *);
void		 lease_release(struct leases *, struct lease *);

/* broker-quota.c */
enum quota_class {
	CLASS_LOW,
	CLASS_NORMAL,
	CLASS_HIGH,
	CLASS_CRITICAL
};
#define CLASS_COUNT	4

struct user {
	uid_t		 uid;
	int		 known;		/* policy has answered */
	char		*name;
	char		*home;
	int		 is_admin;
	char		*tier;		/* [quota:NAME] */
	u_int		 priority;
	int64_t		 expires;	/* monotonic ms: ask policy again */
	u_int		 refs;		/* connections pointing here */
	u_int		 sessions;	/* admitted */
	u_int		 queued;
	u_int		 ptys;		/* live games */
	uint64_t	 memory;	/* granted to live games */
	struct user	*next;
};

struct users {
	struct user	*head;
	u_int		 count;
};

const struct config_quota *quota_tier(const struct config *, char *const *,
		     u_int);
enum quota_class quota_class(int, u_int);
const char	*quota_class_name(enum quota_class);
struct user	*users_find(struct users *, uid_t);
struct user	*users_get(struct users *, uid_t);
void		 user_set_policy(struct user *, const char *, const char *,
		     int, const struct config_quota *, int64_t);
int		 user_policy_valid(const struct user *, int64_t);
void		 user_forget_policy(struct user *);
void		 users_sweep(struct users *, int64_t, int);
void		 users_free(struct users *);
int		 quota_check_session(const struct user *,
		     const struct config_quota *, const char **, char **);
int		 quota_check_lease(const struct user *,
		     const struct config_quota *, const struct config *, u_int,
		     uint64_t, uint64_t, const char **, char **);
uint64_t	 quota_bandwidth_share(uint64_t, u_int, uint64_t, u_int);

/* broker-queue.c */
#define QUEUE_DEPARTURES	16

struct qentry {
	uint64_t	 client;
	enum quota_class class;
	uint64_t	 seq;		/* arrival order */
	int64_t		 since;		/* monotonic ms */
	int64_t		 deadline;
	TAILQ_ENTRY(qentry) entry;
};
TAILQ_HEAD(qentries, qentry);

struct queue {
	struct qentries	 classes[CLASS_COUNT];
	u_int		 count[CLASS_COUNT];
	u_int		 size;
	u_int		 max;
	int		 prioritize;
	uint64_t	 next_seq;
	int64_t		 departures[QUEUE_DEPARTURES];
	u_int		 ndepartures;
	u_int		 next_departure;
};

void		 queue_init(struct queue *, u_int, int);
void		 queue_configure(struct queue *, u_int, int);
int		 queue_push(struct queue *, uint64_t, enum quota_class, int64_t,
		     int64_t);
uint64_t	 queue_pop(struct queue *, int64_t, int64_t *);
int		 queue_remove(struct queue *, uint64_t, int64_t);
u_int		 queue_position(const struct queue *, uint64_t);
uint64_t	 queue_expire(struct queue *, int64_t);
int64_t		 queue_next_deadline(const struct queue *);
void		 queue_departure(struct queue *, int64_t);
int		 queue_eta(const struct queue *, u_int, int64_t);
void		 queue_free(struct queue *);

/* bucket.c */
#define BUCKET_MIN_BURST	4096

struct bucket {
	uint64_t	 rate;		/* bytes per second; 0: no limit */
	uint64_t	 burst;
	double		 tokens;
	int64_t		 last;		/* ms */
};

void		 bucket_init(struct bucket *, uint64_t, int64_t);
void		 bucket_set_rate(struct bucket *, uint64_t, int64_t);
size_t		 bucket_available(struct bucket *, int64_t);
void		 bucket_spend(struct bucket *, size_t);
int64_t		 bucket_wait(const struct bucket *, int64_t);
int64_t		 bucket_wait_for(const struct bucket *, int64_t, size_t);

#endif
