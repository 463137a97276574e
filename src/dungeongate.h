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
int		 xvasprintf(char **, const char *, va_list) printflike(2, 0);

/* log.c */
#define LOG_LEVEL_DEBUG	0
#define LOG_LEVEL_INFO	1
#define LOG_LEVEL_WARN	2
#define LOG_LEVEL_ERROR	3
#define LOG_TO_STDERR	0x1
#define LOG_TO_SYSLOG	0x2
#define LOG_QUOTE_BUFFERS 8	/* log_quote values that may share one line */
#define LOG_QUOTE_SIZE	512	/* each, with its quotes and the NUL */
#define LOG_FORMAT_KV	0
#define LOG_FORMAT_JSON	1
void		 log_open(const char *, int, int);
void		 log_set_level(int);
void		 log_set_format(int);
int		 log_level_from_string(const char *);
const char	*log_level_to_string(int);
int		 log_format_from_string(const char *);
const char	*log_format_to_string(int);
const char	*log_quote(const char *);
size_t		 log_kv_to_json(const char *, const char *, char *, size_t);
void		 log_peer(int, uint64_t, const char *, const char *, ...)
		     printflike(4, 5);
void		 log_peer_flush(void);
uint64_t	 log_peer_suppressed(void);
void		 log_peer_clear(void);
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
#define CONFIG_MAX_PATH		4096	/* bytes of a path or URL */
#define CONFIG_MAX_SECRET	1024	/* bytes of a token */
#define CONFIG_MAX_GROUPS	32
#define CONFIG_RESERVED_KEYS	"qwer"	/* quit, watch, edit, recordings */
#define CONFIG_MAX_LINE		4096		/* bytes in a line */
#define CONFIG_MAX_SIZE		(1024 * 1024)	/* bytes in the file */
#define CONFIG_MAX_ERRORS	100		/* reported, at most */

#define CONFIG_COMPRESS_NONE	0
#define CONFIG_COMPRESS_GZIP	1

struct config_game {
	char		*id;		/* from [game:ID] */
	int		 line;		/* where its section began */
	int		 key_line;
	char		*name;
	char		 key;
	char		*command;
	char		*rcfile;
	char		*rc_template;	/* absolute, or empty */
	int		 rc_template_line;
	uint64_t	 memory;	/* RLIMIT_AS of each game */
	char		*env[CONFIG_MAX_ENV];
	u_int		 nenv;
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

/* What [auth] on_failure says to do when the auth service fails. */
enum auth_on_failure {
	AUTH_ON_FAILURE_CACHED,	/* the user's last verdict, else local */
	AUTH_ON_FAILURE_DENY,
	AUTH_ON_FAILURE_ALLOW	/* the local tier */
};

/* A file holding a secret: its path, and what it holds once read. */
struct config_secret {
	char		*path;		/* "" when none */
	char		*value;		/* NULL until read */
};

struct config {
	char		*path;

	char		*broker_socket;
	char		*broker_socket_group;
	char		*broker_admin_group;
	int		 broker_log_level;
	char		*broker_user;		/* a broker started as root drops to it */
	int		 broker_log_format;

	char		*http_listen;		/* host:port, or empty */

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
	char		*shed_stat_file;
	char		*shed_meminfo_file;

	char		*auth_url;
	struct config_secret auth_token;
	uint64_t	 auth_timeout;
	int		 auth_on_failure;

	u_int		 limits_max_connections;
	u_int		 limits_max_ptys;
	uint64_t	 limits_max_memory;
	uint64_t	 limits_max_bandwidth;
	u_int		 limits_max_file_descriptors;

	u_int		 alerts_high_connection_count;
	uint64_t	 alerts_high_queue_time;
	double		 alerts_high_resource_usage;
	double		 alerts_high_error_rate;

	int		 recording_enabled;
	char		*recording_dir;
	int		 recording_public;
	int		 recording_compress;	/* CONFIG_COMPRESS_* */

	int		 spectate_enabled;
	u_int		 spectate_max_watchers;

	struct config_quota quotas[CONFIG_MAX_QUOTAS];
	u_int		 nquotas;
	struct config_game games[CONFIG_MAX_GAMES];
	u_int		 ngames;
};

struct config	*config_load(const char *, char **);
struct config	*config_load_text(const char *, const char *, size_t,
		     char **);
void		 config_need_secrets(int);
struct config	*config_load_session(const char *, char **);
struct config	*config_load_session_text(const char *, const char *,
		     size_t, char **);
void		 config_free(struct config *);
void		 config_print(const struct config *, FILE *);
void		 config_print_schema(FILE *);
const struct config_game *config_find_game(const struct config *,
		     const char *);
const struct config_quota *config_find_quota(const struct config *,
		     const char *);
u_int		 config_max_connections(const struct config *);
int		 config_parse_duration(const char *, uint64_t *);
int		 config_parse_size(const char *, uint64_t *);
int		 config_parse_rate(const char *, uint64_t *);
int		 config_parse_listen(const char *, char *, size_t, u_int *);
char		*config_format_duration(uint64_t);
char		*config_format_size(uint64_t);
int		 config_expand_command(const char *, const char *,
		     const char *, char ***, char **);
char		*config_expand(const char *, const char *, const char *);
void		 config_free_argv(char **);

/* procfs.c */
ssize_t		 proc_read(const char *, char *, size_t);
u_int		 proc_tree(pid_t, pid_t *, u_int);
int64_t		 proc_cpu_ticks(pid_t, int);
int		 proc_parent_start(pid_t, pid_t *, int64_t *);
long		 proc_ticks_per_second(void);
uint64_t	 proc_rss(pid_t);
int		 proc_pty_fds(pid_t, int, u_int);

/* util.c */
#define ID_LEN	19	/* "t-" and 16 hex digits, with the NUL */
int64_t		 util_now_ms(void);
int64_t		 util_wall_ms(void);
struct timeval	 util_timeval_ms(int64_t);
void		 util_random_id(char, char *, size_t);
int		 util_valid_text(const char *);
int		 util_write_all(int, const void *, size_t);
#define UTIL_ESCAPE_QUOTE		0x1	/* " becomes \" too */
#define UTIL_ESCAPE_KEEP_BACKSLASH	0x2	/* \ stays as it is */
size_t		 util_escape_buf(char *, size_t, const char *, int);
char		*util_escape(const char *, size_t);

/* idmap.c */
struct idmap_entry;
struct idmap {
	struct idmap_entry **buckets;
	u_int		 nbuckets;
	u_int		 shift;
	u_int		 count;
};
struct idmap_cursor {
	u_int		 bucket;
	const struct idmap_entry *entry;
};
void		 idmap_init(struct idmap *);
void		*idmap_get(const struct idmap *, uint64_t);
void		 idmap_put(struct idmap *, uint64_t, void *);
void		*idmap_remove(struct idmap *, uint64_t);
u_int		 idmap_size(const struct idmap *);
int		 idmap_next(const struct idmap *, struct idmap_cursor *,
		     uint64_t *, void **);
u_int		 idmap_count(const struct idmap *, uint64_t);
void		 idmap_count_add(struct idmap *, uint64_t, int);
void		 idmap_clear(struct idmap *, void (*)(void *));

/* termsafe.c */
struct termsafe {
	int		 state;
	int		 utf8;
};
void		 termsafe_init(struct termsafe *, int);
size_t		 termsafe_filter(struct termsafe *, const u_char *, size_t,
		     u_char *);

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
void		 bucket_init_burst(struct bucket *, uint64_t, uint64_t,
		     int64_t);
size_t		 bucket_available(struct bucket *, int64_t);
void		 bucket_spend(struct bucket *, size_t);
int64_t		 bucket_wait(const struct bucket *, int64_t);
int64_t		 bucket_wait_for(const struct bucket *, int64_t, size_t);

#endif
