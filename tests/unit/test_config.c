/*
 * Unit tests for the configuration file, checked against CONFIG.md: the
 * defaults of an empty file, every key's accepted and refused values,
 * error locations (file:line:section.key), the unit parsers, games and
 * their menu keys, command templates and the printed configuration.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

#define KB	1024ULL
#define MB	(1024ULL * KB)
#define GB	(1024ULL * MB)
#define TB	(1024ULL * GB)
#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

/* The path of the last file written; error texts must name it. */
static char	 tmp_path[64];

/* Write text to a new temporary file; tmp_path holds its name. */
static void
write_tmp(const char *text)
{
	FILE	*f;
	int	 fd;

	snprintf(tmp_path, sizeof tmp_path, "/tmp/dg-test-config-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Load text as a configuration file, then remove the file. */
static struct config *
load_text(const char *text, char **cause)
{
	struct config	*cfg;

	*cause = NULL;
	write_tmp(text);
	cfg = config_load(tmp_path, 0, cause);
	unlink(tmp_path);
	return cfg;
}

/* Text that must load; the caller frees the result. */
static struct config *
load_ok(const char *text)
{
	struct config	*cfg;
	char		*cause;

	cfg = load_text(text, &cause);
	if (cfg == NULL) {
		print_error("refused:\n%s\ncause: %s\n", text,
		    cause != NULL ? cause : "(none)");
		free(cause);
		fail_msg("a good configuration was refused");
	}
	assert_null(cause);
	return cfg;
}

/*
 * Text that must be refused, with an error naming "FILE:where" (where is
 * "LINE:section.key" or "LINE:"). Returns 0 when it was, else prints why
 * and returns -1 so table-driven tests can report every case.
 */
static int
check_refused(const char *text, const char *where, const char *also)
{
	struct config	*cfg;
	char		*cause, *needle;
	int		 rc = 0;

	cfg = load_text(text, &cause);
	if (cfg != NULL) {
		print_error("accepted (expected %s):\n%s\n", where, text);
		config_free(cfg);
		return -1;
	}
	if (cause == NULL || *cause == '\0') {
		print_error("refused without a cause:\n%s\n", text);
		free(cause);
		return -1;
	}
	xasprintf(&needle, "%s:%s", tmp_path, where);
	if (strstr(cause, needle) == NULL) {
		print_error("error does not name %s:\n%s\ncause: %s\n", needle,
		    text, cause);
		rc = -1;
	} else if (also != NULL && strstr(cause, also) == NULL) {
		print_error("error does not mention \"%s\":\n%s\ncause: %s\n",
		    also, text, cause);
		rc = -1;
	}
	free(needle);
	free(cause);
	return rc;
}

/* Text that must be refused at where; fails the test otherwise. */
static void
refused(const char *text, const char *where)
{
	if (check_refused(text, where, NULL) != 0)
		fail_msg("expected an error at %s", where);
}

/* A quota tier by name, or NULL. */
static struct config_quota *
find_quota(struct config *cfg, const char *name)
{
	u_int	 i;

	for (i = 0; i < cfg->nquotas; i++) {
		if (strcmp(cfg->quotas[i].name, name) == 0)
			return &cfg->quotas[i];
	}
	return NULL;
}

/* ---- defaults ---------------------------------------------------------- */

/* An empty file gives every default CONFIG.md lists. */
static void
test_defaults(void **state)
{
	struct config			*cfg;
	struct config_quota		*q;
	const struct config_game	*g;

	(void)state;
	cfg = load_ok("");
	assert_non_null(cfg->path);

	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	assert_string_equal(cfg->broker_socket_group, "dgplayers");
	assert_string_equal(cfg->broker_admin_group, "dgadmin");
	assert_string_equal(cfg->broker_state_dir, "/var/lib/dungeongate");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_INFO);

	assert_string_equal(cfg->http_listen, "127.0.0.1:8085");

	assert_int_equal(cfg->pool_max_connections, 1000);
	assert_int_equal(cfg->pool_queue_size, 100);
	assert_int_equal(cfg->pool_queue_timeout, 5 * SEC);
	assert_int_equal(cfg->pool_idle_timeout, 30 * MIN);
	assert_int_equal(cfg->pool_drain_timeout, 30 * SEC);
	assert_int_equal(cfg->pool_enable_prioritization, 1);

	assert_int_equal(cfg->worker_pool_size, 50);
	assert_int_equal(cfg->worker_queue_size, 1000);
	assert_int_equal(cfg->worker_timeout, 30 * SEC);
	assert_int_equal(cfg->worker_shutdown_timeout, 10 * SEC);

	assert_int_equal(cfg->breaker_enabled, 1);
	assert_int_equal(cfg->breaker_failure_threshold, 10);
	assert_int_equal(cfg->breaker_recovery_timeout, 60 * SEC);

	assert_int_equal(cfg->shed_enabled, 1);
	assert_true(cfg->shed_cpu_threshold == 0.8);
	assert_true(cfg->shed_memory_threshold == 0.9);

	assert_int_equal(cfg->limits_max_connections, 1000);
	assert_int_equal(cfg->limits_max_ptys, 500);
	assert_int_equal(cfg->limits_max_memory, 8 * GB);
	assert_int_equal(cfg->limits_max_bandwidth, 1 * GB);
	assert_int_equal(cfg->limits_max_file_descriptors, 8192);

	assert_string_equal(cfg->auth_url, "");
	assert_string_equal(cfg->auth_token_file, "");
	assert_int_equal(cfg->auth_timeout, 2 * SEC);
	assert_int_equal(cfg->auth_on_failure, AUTH_ON_FAILURE_CACHED);

	assert_int_equal(cfg->alerts_high_connection_count, 900);
	assert_int_equal(cfg->alerts_high_queue_time, 2 * SEC);
	assert_true(cfg->alerts_high_error_rate == 0.05);
	assert_true(cfg->alerts_high_resource_usage == 0.9);

	assert_int_equal(cfg->recording_enabled, 1);
	assert_string_equal(cfg->recording_dir, "/var/lib/dungeongate/ttyrec");

	assert_int_equal(cfg->spectate_enabled, 1);
	assert_int_equal(cfg->spectate_max_watchers_per_game, 100);

	assert_int_equal(cfg->nquotas, 2);
	q = find_quota(cfg, "default");
	assert_non_null(q);
	assert_int_equal(q->ngroups, 0);
	assert_int_equal(q->max_connections, 10);
	assert_int_equal(q->max_ptys, 5);
	assert_int_equal(q->max_memory, 256 * MB);
	assert_int_equal(q->max_bandwidth, 10 * MB);
	assert_true(q->max_cpu_cores == 0.5);
	assert_int_equal(q->expires_after, 24 * HOUR);
	assert_int_equal(q->priority, 1);

	q = find_quota(cfg, "vip");
	assert_non_null(q);
	assert_int_equal(q->ngroups, 1);
	assert_string_equal(q->groups[0], "dgvip");
	assert_int_equal(q->max_connections, 25);
	assert_int_equal(q->max_ptys, 10);
	assert_int_equal(q->max_memory, 512 * MB);
	assert_int_equal(q->max_bandwidth, 50 * MB);
	assert_true(q->max_cpu_cores == 1.0);
	assert_int_equal(q->expires_after, 168 * HOUR);
	assert_int_equal(q->priority, 5);

	assert_int_equal(cfg->ngames, 1);
	g = config_find_game(cfg, "nethack");
	assert_non_null(g);
	assert_ptr_equal(g, &cfg->games[0]);
	assert_string_equal(g->id, "nethack");
	assert_string_equal(g->name, "NetHack 3.6");
	assert_int_equal(g->key, 'p');
	assert_string_equal(g->command, "/usr/games/nethack -u %u");
	assert_string_equal(g->rcfile, ".nethackrc");
	assert_int_equal(g->nenv, 1);
	assert_string_equal(g->env[0], "NETHACKOPTIONS=@%h/.nethackrc");
	assert_null(config_find_game(cfg, "crawl"));

	assert_int_equal(config_max_connections(cfg), 1000);
	config_free(cfg);
}

/* Comments, blank lines and inline comments are not values. */
static void
test_comments(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = load_ok("; a comment\n# another\n\n[broker]   ; trailing\n"
	    "log_level = warn          ; debug | info | warn | error\n"
	    "\n   \n[auth]\nurl =                ; empty: local policy\n"
	    "timeout = 3s\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_WARN);
	assert_string_equal(cfg->auth_url, "");
	assert_int_equal(cfg->auth_timeout, 3 * SEC);
	config_free(cfg);
}

/* ---- every key --------------------------------------------------------- */

enum vkind { V_STR, V_UINT, V_U64, V_BOOL, V_DBL, V_INT };

struct kcase {
	const char	*section;	/* "quota" for every quota section */
	const char	*key;
	const char	*good;
	enum vkind	 kind;
	size_t		 off;		/* in struct config or config_quota */
	const char	*want_str;
	uint64_t	 want;
	double		 want_dbl;
	const char	*bad[8];
};

#define C(f) offsetof(struct config, f)
#define Q(f) offsetof(struct config_quota, f)

static const struct kcase kcases[] = {
	{ "broker", "socket", "/tmp/dg/broker.sock", V_STR, C(broker_socket),
	  "/tmp/dg/broker.sock", 0, 0,
	  { "broker.sock", "run/broker.sock", "", NULL } },
	{ "broker", "socket_group", "players", V_STR, C(broker_socket_group),
	  "players", 0, 0,
	  { "9players", "-players", "play ers", "play:ers", "", NULL } },
	{ "broker", "admin_group", "wheel", V_STR, C(broker_admin_group),
	  "wheel", 0, 0, { "ad/min", "", "wheel,adm", NULL } },
	{ "broker", "state_dir", "/srv/dg", V_STR, C(broker_state_dir),
	  "/srv/dg", 0, 0, { "srv/dg", "", "./dg", NULL } },
	{ "broker", "log_level", "debug", V_INT, C(broker_log_level),
	  NULL, LOG_LEVEL_DEBUG, 0, { "verbose", "", "5", NULL } },

	{ "http", "listen", "0.0.0.0:9000", V_STR, C(http_listen),
	  "0.0.0.0:9000", 0, 0,
	  { "9000", "localhost", "localhost:", ":8085", "localhost:0",
	    "localhost:65536", "localhost:80x", NULL } },

	{ "connection_pool", "max_connections", "5", V_UINT,
	  C(pool_max_connections), NULL, 5, 0,
	  { "0", "-1", "five", "10x", "", "1.5", "99999999999999999999",
	    NULL } },
	{ "connection_pool", "queue_size", "0", V_UINT, C(pool_queue_size),
	  NULL, 0, 0, { "-1", "x", "", NULL } },
	{ "connection_pool", "queue_timeout", "500ms", V_U64,
	  C(pool_queue_timeout), NULL, 500, 0,
	  { "5", "5 s", "-5s", "5sec", "5d", "", "99999999999999999999h",
	    NULL } },
	{ "connection_pool", "idle_timeout", "1h", V_U64,
	  C(pool_idle_timeout), NULL, HOUR, 0,
	  { "0s", "30", "30min", "", NULL } },
	{ "connection_pool", "drain_timeout", "0s", V_U64,
	  C(pool_drain_timeout), NULL, 0, 0, { "later", "1.5s", NULL } },
	{ "connection_pool", "enable_prioritization", "false", V_BOOL,
	  C(pool_enable_prioritization), NULL, 0, 0,
	  { "maybe", "2", "", NULL } },

	{ "worker_pool", "pool_size", "8", V_UINT, C(worker_pool_size),
	  NULL, 8, 0, { "0", "eight", "", NULL } },
	{ "worker_pool", "queue_size", "16", V_UINT, C(worker_queue_size),
	  NULL, 16, 0, { "0", "-16", NULL } },
	{ "worker_pool", "worker_timeout", "250ms", V_U64, C(worker_timeout),
	  NULL, 250, 0, { "0ms", "30", "30 s", NULL } },
	{ "worker_pool", "shutdown_timeout", "1m", V_U64,
	  C(worker_shutdown_timeout), NULL, MIN, 0, { "soon", "", NULL } },

	{ "circuit_breaker", "enabled", "off", V_BOOL, C(breaker_enabled),
	  NULL, 0, 0, { "disabled", "", NULL } },
	{ "circuit_breaker", "failure_threshold", "3", V_UINT,
	  C(breaker_failure_threshold), NULL, 3, 0,
	  { "0", "three", NULL } },
	{ "circuit_breaker", "recovery_timeout", "90s", V_U64,
	  C(breaker_recovery_timeout), NULL, 90 * SEC, 0,
	  { "90", "0s", NULL } },

	{ "load_shedding", "enabled", "no", V_BOOL, C(shed_enabled), NULL, 0, 0,
	  { "nah", NULL } },
	{ "load_shedding", "cpu_threshold", "0.5", V_DBL,
	  C(shed_cpu_threshold), NULL, 0, 0.5,
	  { "1.5", "-0.1", "80%", "high", "nan", "inf", "", NULL } },
	{ "load_shedding", "memory_threshold", "1", V_DBL,
	  C(shed_memory_threshold), NULL, 0, 1.0, { "2", "0.9x", NULL } },

	{ "limits", "max_connections", "200", V_UINT,
	  C(limits_max_connections), NULL, 200, 0, { "0", "lots", NULL } },
	{ "limits", "max_ptys", "50", V_UINT, C(limits_max_ptys), NULL, 50, 0,
	  { "-5", "", NULL } },
	{ "limits", "max_memory", "16GB", V_U64, C(limits_max_memory), NULL,
	  16 * GB, 0,
	  { "16G", "16", "16 GB", "GB", "-1GB", "1.5GB", "", NULL } },
	{ "limits", "max_bandwidth", "100MB/s", V_U64,
	  C(limits_max_bandwidth), NULL, 100 * MB, 0,
	  { "100MB", "/s", "100MB/", "100MB/h", "100/s", "fast", NULL } },
	{ "limits", "max_file_descriptors", "1024", V_UINT,
	  C(limits_max_file_descriptors), NULL, 1024, 0,
	  { "1k", "0", NULL } },

	{ "auth", "url", "https://auth.example.com/check", V_STR, C(auth_url),
	  "https://auth.example.com/check", 0, 0,
	  { "ftp://auth.example.com", "auth.example.com",
	    "http://a b/", NULL } },
	{ "auth", "token_file", "/etc/dungeongate/token", V_STR,
	  C(auth_token_file), "/etc/dungeongate/token", 0, 0,
	  { "token", "./token", NULL } },
	{ "auth", "timeout", "500ms", V_U64, C(auth_timeout), NULL, 500, 0,
	  { "2", "0s", "", NULL } },
	{ "auth", "on_failure", "deny", V_INT, C(auth_on_failure), NULL,
	  AUTH_ON_FAILURE_DENY, 0, { "block", "", "cache", NULL } },

	{ "alerts", "high_connection_count", "10", V_UINT,
	  C(alerts_high_connection_count), NULL, 10, 0, { "ten", NULL } },
	{ "alerts", "high_queue_time", "1s", V_U64, C(alerts_high_queue_time),
	  NULL, SEC, 0, { "1", NULL } },
	{ "alerts", "high_error_rate", "0.1", V_DBL, C(alerts_high_error_rate),
	  NULL, 0, 0.1, { "1.1", "5%", NULL } },
	{ "alerts", "high_resource_usage", "0.75", V_DBL,
	  C(alerts_high_resource_usage), NULL, 0, 0.75, { "-1", NULL } },

	{ "recording", "enabled", "false", V_BOOL, C(recording_enabled), NULL,
	  0, 0, { "x", NULL } },
	{ "recording", "dir", "/srv/ttyrec", V_STR, C(recording_dir),
	  "/srv/ttyrec", 0, 0, { "ttyrec", "", NULL } },

	{ "spectate", "enabled", "0", V_BOOL, C(spectate_enabled), NULL, 0, 0,
	  { "x", NULL } },
	{ "spectate", "max_watchers_per_game", "0", V_UINT,
	  C(spectate_max_watchers_per_game), NULL, 0, 0,
	  { "-1", "none", NULL } },

	{ "quota", "max_connections", "3", V_UINT, Q(max_connections), NULL,
	  3, 0, { "0", "x", NULL } },
	{ "quota", "max_ptys", "0", V_UINT, Q(max_ptys), NULL, 0, 0,
	  { "x", "-1", NULL } },
	{ "quota", "max_memory", "1GB", V_U64, Q(max_memory), NULL, GB, 0,
	  { "1", "1 GB", NULL } },
	{ "quota", "max_bandwidth", "1MB/s", V_U64, Q(max_bandwidth), NULL,
	  MB, 0, { "1MB", "1MB/sec", NULL } },
	{ "quota", "max_cpu_cores", "2.5", V_DBL, Q(max_cpu_cores), NULL, 0,
	  2.5, { "0", "-1", "two", "", NULL } },
	{ "quota", "expires_after", "1h", V_U64, Q(expires_after), NULL, HOUR,
	  0, { "1", "forever", NULL } },
	{ "quota", "priority", "7", V_UINT, Q(priority), NULL, 7, 0,
	  { "-1", "high", NULL } },
};

/* Does the field at base+off hold what the case expects? */
static int
kcase_value_ok(const struct kcase *kc, const void *base)
{
	const char	*field = (const char *)base + kc->off;

	switch (kc->kind) {
	case V_STR:
		return strcmp(*(char *const *)(const void *)field,
		    kc->want_str) == 0;
	case V_UINT:
		return *(const u_int *)(const void *)field == kc->want;
	case V_U64:
		return *(const uint64_t *)(const void *)field == kc->want;
	case V_BOOL:
	case V_INT:
		return *(const int *)(const void *)field == (int)kc->want;
	case V_DBL:
		return *(const double *)(const void *)field == kc->want_dbl;
	}
	return 0;
}

/* Every key takes a good value into its field and refuses bad ones. */
static void
test_every_key(void **state)
{
	static const char *const quotas[] = { "default", "vip", "gold" };
	const struct kcase	*kc;
	struct config		*cfg;
	char			*text, *cause, *where;
	const void		*base;
	u_int			 i, j, q, nq, failed = 0;
	const char		*section;
	char			 qsec[32];

	(void)state;
	for (i = 0; i < nitems(kcases); i++) {
		kc = &kcases[i];
		nq = strcmp(kc->section, "quota") == 0 ? nitems(quotas) : 1;
		for (q = 0; q < nq; q++) {
			if (nq > 1) {
				snprintf(qsec, sizeof qsec, "quota:%s",
				    quotas[q]);
				section = qsec;
			} else
				section = kc->section;

			/* The good value loads and lands in its field. */
			xasprintf(&text, "; line 1\n[%s]\n%s = %s\n", section,
			    kc->key, kc->good);
			cfg = load_text(text, &cause);
			if (cfg == NULL) {
				print_error("refused: %s\ncause: %s\n", text,
				    cause);
				free(cause);
				failed++;
			} else {
				if (nq > 1)
					base = find_quota(cfg, quotas[q]);
				else
					base = cfg;
				if (base == NULL ||
				    !kcase_value_ok(kc, base)) {
					print_error("%s.%s = %s: wrong value "
					    "stored\n", section, kc->key,
					    kc->good);
					failed++;
				}
				config_free(cfg);
			}
			free(text);

			/* Every bad value is refused at its line. */
			xasprintf(&where, "4:%s.%s", section, kc->key);
			for (j = 0; j < nitems(kc->bad) && kc->bad[j] != NULL;
			    j++) {
				xasprintf(&text, "; line 1\n[%s]\n\n%s = %s\n",
				    section, kc->key, kc->bad[j]);
				if (check_refused(text, where, NULL) != 0)
					failed++;
				free(text);
			}
			free(where);
		}
	}
	if (failed != 0)
		fail_msg("%u key case(s) failed", failed);
}

/* Values that are good beside the main one in the table. */
static void
test_more_good_values(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = load_ok("[http]\nlisten =\n[auth]\nurl =\ntoken_file =\n"
	    "on_failure = allow\n[broker]\nlog_level = error\n"
	    "[load_shedding]\ncpu_threshold = 0\nenabled = yes\n"
	    "[recording]\nenabled = on\n[spectate]\nenabled = 1\n"
	    "[connection_pool]\nmax_connections = 1000000\n"
	    "enable_prioritization = true\n");
	assert_string_equal(cfg->http_listen, "");
	assert_string_equal(cfg->auth_url, "");
	assert_string_equal(cfg->auth_token_file, "");
	assert_int_equal(cfg->auth_on_failure, AUTH_ON_FAILURE_ALLOW);
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_ERROR);
	assert_true(cfg->shed_cpu_threshold == 0.0);
	assert_int_equal(cfg->shed_enabled, 1);
	assert_int_equal(cfg->recording_enabled, 1);
	assert_int_equal(cfg->spectate_enabled, 1);
	assert_int_equal(cfg->pool_max_connections, 1000000);
	assert_int_equal(cfg->pool_enable_prioritization, 1);
	config_free(cfg);

	cfg = load_ok("[http]\nlisten = [::1]:8085\n[auth]\n"
	    "url = http://127.0.0.1:9000/auth\non_failure = cached\n"
	    "[broker]\nlog_level = info\n");
	assert_string_equal(cfg->http_listen, "[::1]:8085");
	assert_string_equal(cfg->auth_url, "http://127.0.0.1:9000/auth");
	assert_int_equal(cfg->auth_on_failure, AUTH_ON_FAILURE_CACHED);
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_INFO);
	config_free(cfg);

	cfg = load_ok("[broker]\nlog_level = warn\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_WARN);
	config_free(cfg);
}

/* The socket path must fit in sun_path (108 bytes with the NUL). */
static void
test_socket_length(void **state)
{
	struct config	*cfg;
	char		*text, path[200];

	(void)state;
	memset(path, 'a', sizeof path);
	path[0] = '/';
	path[107] = '\0';		/* 107 characters: fits */
	xasprintf(&text, "[broker]\nsocket = %s\n", path);
	cfg = load_ok(text);
	assert_string_equal(cfg->broker_socket, path);
	config_free(cfg);
	free(text);

	path[107] = 'a';
	path[108] = '\0';		/* 108 characters: does not */
	xasprintf(&text, "[broker]\nsocket = %s\n", path);
	refused(text, "2:broker.socket");
	free(text);
}

/* Quota groups: lists, new tiers, bad names and tier names. */
static void
test_quota_groups(void **state)
{
	struct config		*cfg;
	struct config_quota	*q;

	(void)state;
	cfg = load_ok("[quota:gold]\ngroups = gold, silver bronze\n"
	    "priority = 9\n[quota:default]\ngroups =\n");
	assert_int_equal(cfg->nquotas, 3);
	q = find_quota(cfg, "gold");
	assert_non_null(q);
	assert_int_equal(q->ngroups, 3);
	assert_string_equal(q->groups[0], "gold");
	assert_string_equal(q->groups[1], "silver");
	assert_string_equal(q->groups[2], "bronze");
	assert_int_equal(q->priority, 9);
	q = find_quota(cfg, "default");
	assert_non_null(q);
	assert_int_equal(q->ngroups, 0);
	/* The vip tier is still there. */
	assert_non_null(find_quota(cfg, "vip"));
	config_free(cfg);

	refused("[quota:gold]\ngroups = gold;silver\n", "2:quota:gold.groups");
	refused("[quota:gold]\ngroups = gold, 9x\n", "2:quota:gold.groups");
	refused("[quota:vip]\ngroups = -vip\n", "2:quota:vip.groups");
	refused("[quota:Gold]\npriority = 1\n", "1:");
	refused("[quota:]\npriority = 1\n", "1:");
}

/* ---- errors ------------------------------------------------------------ */

/* An unknown key is an error naming file:line:section.key. */
static void
test_unknown_key(void **state)
{
	(void)state;
	refused("[broker]\nsockt = /run/x.sock\n", "2:broker.sockt");
	refused("[connection_pool]\nmax_connection = 5\n",
	    "2:connection_pool.max_connection");
	refused("[broker]\nSocket = /run/x.sock\n", "2:broker.Socket");
	/* A key of another section is unknown here. */
	refused("[http]\nsocket = /run/x.sock\n", "2:http.socket");
	refused("[broker]\npriority = 1\n", "2:broker.priority");
	refused("[quota:vip]\nsocket = /run/x.sock\n", "2:quota:vip.socket");
	refused("[quota:vip]\ncommand = /bin/sh\n", "2:quota:vip.command");
	refused("[game:x]\ncommand = /bin/x\nmax_ptys = 3\n",
	    "3:game:x.max_ptys");
	refused("[game:x]\ncommand = /bin/x\nuser = root\n", "3:game:x.user");
}

/* An unknown or malformed section is an error at its header. */
static void
test_unknown_section(void **state)
{
	(void)state;
	refused("[bogus]\nkey = 1\n", "1:");
	refused("; x\n[conection_pool]\nmax_connections = 5\n", "2:");
	refused("[Broker]\nsocket = /run/x.sock\n", "1:");
	refused("[game:NetHack]\ncommand = /bin/x\n", "1:");
	refused("[game:]\ncommand = /bin/x\n", "1:");
	refused("[game:a/b]\ncommand = /bin/x\n", "1:");
	refused("[games:x]\ncommand = /bin/x\n", "1:");
	refused("[quota]\npriority = 1\n", "1:");
}

/* A section with no keys is still a section: a typo in it must show. */
static void
test_unknown_section_empty(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_refused("[bogus]\n", "1:", NULL) != 0;
	failed += check_refused("[broker]\nlog_level = info\n[bogus]\n", "3:",
	    NULL) != 0;
	if (failed != 0)
		fail_msg("%d empty unknown section(s) accepted", failed);
}

/* A key set twice in one section is an error at the second. */
static void
test_set_twice(void **state)
{
	(void)state;
	refused("[broker]\nlog_level = debug\nlog_level = info\n",
	    "3:broker.log_level");
	/* Even when the same value, and across a repeated section. */
	refused("[broker]\nlog_level = info\n[http]\nlisten =\n[broker]\n"
	    "log_level = info\n", "6:broker.log_level");
	refused("[quota:vip]\npriority = 3\npriority = 4\n",
	    "3:quota:vip.priority");
	refused("[quota:gold]\npriority = 3\n[broker]\nlog_level = info\n"
	    "[quota:gold]\npriority = 4\n", "6:quota:gold.priority");
	refused("[game:x]\ncommand = /bin/x\nkey = x\nkey = y\n",
	    "4:game:x.key");
	refused("[game:x]\ncommand = /bin/x\ncommand = /bin/y\n",
	    "3:game:x.command");
	refused("[game:x]\nname = X\n[game:y]\ncommand = /bin/y\n[game:x]\n"
	    "name = X2\ncommand = /bin/x\n", "6:game:x.name");
}

/* A key before any [section] is an error. */
static void
test_key_outside_section(void **state)
{
	struct config	*cfg;
	char		*cause;

	(void)state;
	refused("log_level = debug\n[broker]\n", "1:");
	cfg = load_text("; comment\n\nsocket = /x.sock\n", &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, ":3:"));
	assert_non_null(strstr(cause, "socket"));
	free(cause);
}

/* A line that is not INI is an error at that line. */
static void
test_syntax_error(void **state)
{
	(void)state;
	refused("[broker]\nthis is not a key value line\n", "2:");
	refused("[broker]\nlog_level = info\n\nlog_level\n", "4:");
	refused("[broker\nlog_level = info\n", "1:");
	refused("[http]\nlisten =\n= value without key\n", "3:");
}

/* Every error in a file is reported, not just the first. */
static void
test_several_errors(void **state)
{
	struct config	*cfg;
	char		*cause, *a, *b;

	(void)state;
	cfg = load_text("[broker]\nlog_level = loud\n[connection_pool]\n"
	    "queue_timeout = 5\n", &cause);
	assert_null(cfg);
	assert_non_null(cause);
	xasprintf(&a, "%s:2:broker.log_level", tmp_path);
	xasprintf(&b, "%s:4:connection_pool.queue_timeout", tmp_path);
	assert_non_null(strstr(cause, a));
	assert_non_null(strstr(cause, b));
	free(a);
	free(b);
	free(cause);
}

/* The error says what the key accepts. */
static void
test_error_says_accepted_form(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_refused("[connection_pool]\nqueue_timeout = 5\n",
	    "2:connection_pool.queue_timeout", "ms") != 0;
	failed += check_refused("[limits]\nmax_memory = 8G\n",
	    "2:limits.max_memory", "MB") != 0;
	failed += check_refused("[recording]\nenabled = yep\n",
	    "2:recording.enabled", "false") != 0;
	failed += check_refused("[broker]\nlog_level = loud\n",
	    "2:broker.log_level", "debug") != 0;
	failed += check_refused("[auth]\non_failure = panic\n",
	    "2:auth.on_failure", "deny") != 0;
	if (failed != 0)
		fail_msg("%d error(s) without the accepted form", failed);
}

/* A file that does not exist is an error naming it. */
static void
test_missing_file(void **state)
{
	struct config	*cfg;
	char		*cause = NULL;

	(void)state;
	cfg = config_load("/nonexistent/dungeongate-test.ini", 0, &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "/nonexistent/dungeongate-test.ini"));
	free(cause);
}

/* A path that cannot be read as a file is an error, not an empty file. */
static void
test_directory(void **state)
{
	struct config	*cfg;
	char		 dir[] = "/tmp/dg-test-config-dir-XXXXXX";
	char		*cause = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cfg = config_load(dir, 0, &cause);
	rmdir(dir);
	if (cfg != NULL) {
		config_free(cfg);
		fail_msg("a directory loaded as an empty configuration");
	}
	assert_non_null(cause);
	assert_non_null(strstr(cause, dir));
	free(cause);
}

/* A line too long for the parser is an error on that line. */
static void
test_line_too_long(void **state)
{
	char	*text, *long_path;
	int	 failed = 0;

	(void)state;
	long_path = malloc(400);
	assert_non_null(long_path);
	memset(long_path, 'a', 399);
	long_path[0] = '/';
	long_path[399] = '\0';

	/* Followed by another key. */
	xasprintf(&text, "[broker]\nstate_dir = %s\nlog_level = debug\n",
	    long_path);
	failed += check_refused(text, "2:", NULL) != 0;
	free(text);

	/* The last line of the file. */
	xasprintf(&text, "[broker]\nstate_dir = %s\n", long_path);
	failed += check_refused(text, "2:", NULL) != 0;
	free(text);

	/* Followed only by a section header. */
	xasprintf(&text, "[auth]\nurl = https://auth.example.com/%s\n"
	    "[broker]\n", long_path);
	failed += check_refused(text, "2:", NULL) != 0;
	free(text);

	free(long_path);
	if (failed != 0)
		fail_msg("%d over-long line(s) not reported at their line",
		    failed);
}

/* A long line that fits is fine, and does not hide its neighbours. */
static void
test_line_long_but_fits(void **state)
{
	struct config	*cfg;
	char		*text, path[120];

	(void)state;
	memset(path, 'b', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	xasprintf(&text, "[broker]\nstate_dir = %s\nlog_level = debug\n",
	    path);
	cfg = load_ok(text);
	assert_string_equal(cfg->broker_state_dir, path);
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	config_free(cfg);
	free(text);
}

/* ---- unit parsers and formatters --------------------------------------- */

/* Durations: units ms, s, m, h; anything else or overflow refused. */
static void
test_parse_duration(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 ms;
	} good[] = {
		{ "0ms", 0 }, { "0s", 0 }, { "1ms", 1 }, { "500ms", 500 },
		{ "5s", 5000 }, { "30m", 30 * MIN }, { "24h", 24 * HOUR },
		{ "168h", 168 * HOUR }, { "90s", 90 * SEC },
		{ "5124095576030h", 5124095576030ULL * HOUR },
	};
	static const char *const bad[] = {
		"", "5", "s", "ms", "5 s", " 5s", "5s ", "-5s", "+5s", "5.5s",
		"5d", "5sec", "5S", "5hm", "1h30m", "0x10s", "5ms5",
		"99999999999999999999h", "99999999999999999999ms",
		"18446744073709551616ms", "5124095576031h",
		"18446744073709551615h",
	};
	uint64_t	 v;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		v = 12345;
		if (config_parse_duration(good[i].s, &v) != 0)
			fail_msg("refused duration \"%s\"", good[i].s);
		if (v != good[i].ms)
			fail_msg("\"%s\" gave %llu", good[i].s,
			    (unsigned long long)v);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (config_parse_duration(bad[i], &v) != -1)
			fail_msg("accepted duration \"%s\"", bad[i]);
	}
}

/* Sizes: units B, KB, MB, GB, TB; anything else or overflow refused. */
static void
test_parse_size(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 b;
	} good[] = {
		{ "512B", 512 }, { "64KB", 64 * KB }, { "256MB", 256 * MB },
		{ "8GB", 8 * GB }, { "1TB", TB }, { "0KB", 0 },
		{ "17179869183GB", 17179869183ULL * GB },
	};
	static const char *const bad[] = {
		"", "8", "GB", "8 GB", " 8GB", "8GB ", "-8GB", "1.5GB", "8G",
		"8GiB", "8GBs", "99999999999999999999B", "17179869184GB",
		"16777216TB",
	};
	uint64_t	 v;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		v = 12345;
		if (config_parse_size(good[i].s, &v) != 0)
			fail_msg("refused size \"%s\"", good[i].s);
		if (v != good[i].b)
			fail_msg("\"%s\" gave %llu", good[i].s,
			    (unsigned long long)v);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (config_parse_size(bad[i], &v) != -1)
			fail_msg("accepted size \"%s\"", bad[i]);
	}
}

/* Rates: a size followed by /s. */
static void
test_parse_rate(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 b;
	} good[] = {
		{ "10MB/s", 10 * MB }, { "1GB/s", GB }, { "512KB/s", 512 * KB },
		{ "100B/s", 100 },
	};
	static const char *const bad[] = {
		"", "/s", "s", "10MB", "10MB/", "10MB/m", "10MB/h", "10/s",
		"10MB /s", "10MB/s ", "MB/s", "-1MB/s", "10MB/s/s",
		"99999999999999999999MB/s", "17179869184GB/s",
	};
	uint64_t	 v;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		v = 12345;
		if (config_parse_rate(good[i].s, &v) != 0)
			fail_msg("refused rate \"%s\"", good[i].s);
		if (v != good[i].b)
			fail_msg("\"%s\" gave %llu", good[i].s,
			    (unsigned long long)v);
	}
	for (i = 0; i < nitems(bad); i++) {
		if (config_parse_rate(bad[i], &v) != -1)
			fail_msg("accepted rate \"%s\"", bad[i]);
	}
}

/* Durations print in the largest exact unit and parse back. */
static void
test_format_duration(void **state)
{
	static const struct {
		uint64_t	 ms;
		const char	*s;
	} cases[] = {
		{ HOUR, "1h" }, { 168 * HOUR, "168h" }, { 30 * MIN, "30m" },
		{ 90 * MIN, "90m" }, { 5 * SEC, "5s" }, { 90 * SEC, "90s" },
		{ 1500, "1500ms" }, { 1, "1ms" },
	};
	static const uint64_t round[] = { 0, 1, 999, 1000, 59999, 60000,
	    3599999, 3600000, 86400000, 123456789, 5124095576030ULL * HOUR };
	char		*s;
	uint64_t	 v;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		s = config_format_duration(cases[i].ms);
		assert_string_equal(s, cases[i].s);
		free(s);
	}
	for (i = 0; i < nitems(round); i++) {
		s = config_format_duration(round[i]);
		v = 12345;
		if (config_parse_duration(s, &v) != 0 || v != round[i])
			fail_msg("%llu formats as \"%s\", which does not "
			    "parse back", (unsigned long long)round[i], s);
		free(s);
	}
}

/* Sizes print in the largest exact unit and parse back. */
static void
test_format_size(void **state)
{
	static const struct {
		uint64_t	 b;
		const char	*s;
	} cases[] = {
		{ KB, "1KB" }, { 1536, "1536B" }, { MB, "1MB" },
		{ 256 * MB, "256MB" }, { 8 * GB, "8GB" }, { TB, "1TB" },
		{ 1536 * MB, "1536MB" }, { 100, "100B" },
	};
	static const uint64_t round[] = { 0, 1, 1023, 1024, 1025, 3 * MB,
	    5 * GB + KB, 64 * TB, UINT64_MAX / 2 };
	char		*s;
	uint64_t	 v;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		s = config_format_size(cases[i].b);
		assert_string_equal(s, cases[i].s);
		free(s);
	}
	for (i = 0; i < nitems(round); i++) {
		s = config_format_size(round[i]);
		v = 12345;
		if (config_parse_size(s, &v) != 0 || v != round[i])
			fail_msg("%llu formats as \"%s\", which does not "
			    "parse back", (unsigned long long)round[i], s);
		free(s);
	}
}

/* ---- games ------------------------------------------------------------- */

/* Is every game's key usable: set, distinct, not the menu's own? */
static int
keys_usable(const struct config *cfg)
{
	u_int	 i, j;
	char	 k;
	int	 rc = 0;

	for (i = 0; i < cfg->ngames; i++) {
		k = cfg->games[i].key;
		if (k == '\0' || !isalnum((u_char)k)) {
			print_error("[game:%s] has no usable key\n",
			    cfg->games[i].id);
			rc = -1;
			continue;
		}
		if (strchr(CONFIG_RESERVED_KEYS, k) != NULL) {
			print_error("[game:%s] got reserved key %c\n",
			    cfg->games[i].id, k);
			rc = -1;
		}
		for (j = 0; j < i; j++) {
			if (cfg->games[j].key == k) {
				print_error("[game:%s] and [game:%s] share "
				    "key %c\n", cfg->games[j].id,
				    cfg->games[i].id, k);
				rc = -1;
			}
		}
	}
	return rc;
}

/* Check the keys, free the configuration, then fail if they were bad. */
static void
assert_keys_usable_free(struct config *cfg)
{
	int	 rc = keys_usable(cfg);

	config_free(cfg);
	if (rc != 0)
		fail_msg("games without usable, distinct menu keys");
}

/* A file's [game:*] sections replace the built-in game. */
static void
test_game_replaces_builtin(void **state)
{
	struct config			*cfg;
	const struct config_game	*g;

	(void)state;
	cfg = load_ok("[game:crawl]\nname = Dungeon Crawl\nkey = c\n"
	    "command = /usr/games/crawl -name %u\n");
	assert_int_equal(cfg->ngames, 1);
	assert_null(config_find_game(cfg, "nethack"));
	g = config_find_game(cfg, "crawl");
	assert_non_null(g);
	assert_string_equal(g->name, "Dungeon Crawl");
	assert_int_equal(g->key, 'c');
	assert_string_equal(g->command, "/usr/games/crawl -name %u");
	assert_string_equal(g->rcfile, "");
	assert_int_equal(g->nenv, 0);
	config_free(cfg);

	/* A file's [game:nethack] does not inherit the built-in's lines. */
	cfg = load_ok("[game:nethack]\ncommand = /opt/nethack/nethack\n");
	assert_int_equal(cfg->ngames, 1);
	g = config_find_game(cfg, "nethack");
	assert_non_null(g);
	assert_string_equal(g->command, "/opt/nethack/nethack");
	assert_int_equal(g->nenv, 0);
	assert_string_equal(g->rcfile, "");
	assert_string_equal(g->name, "nethack");
	config_free(cfg);

	/* Several games, in file order. */
	cfg = load_ok("[game:zork]\ncommand = /usr/games/zork\n"
	    "[game:crawl]\ncommand = /usr/games/crawl\n"
	    "[game:adom]\ncommand = /usr/games/adom\n");
	assert_int_equal(cfg->ngames, 3);
	assert_string_equal(cfg->games[0].id, "zork");
	assert_string_equal(cfg->games[1].id, "crawl");
	assert_string_equal(cfg->games[2].id, "adom");
	assert_ptr_equal(config_find_game(cfg, "crawl"), &cfg->games[1]);
	config_free(cfg);
}

/* CONFIG_MAX_GAMES games fit; the next is an error at its header. */
static void
test_game_too_many(void **state)
{
	static const char keys[] = "abcdfghijklmnoptuvxyz0123456789s";
	struct config	*cfg;
	char		*text, *more, *where;
	u_int		 i;

	(void)state;
	assert_int_equal(strlen(keys), CONFIG_MAX_GAMES);
	text = xstrdup("");
	for (i = 0; i < CONFIG_MAX_GAMES; i++) {
		xasprintf(&more, "%s[game:g%u]\ncommand = /bin/g\nkey = %c\n",
		    text, i, keys[i]);
		free(text);
		text = more;
	}
	cfg = load_ok(text);
	assert_int_equal(cfg->ngames, CONFIG_MAX_GAMES);
	assert_keys_usable_free(cfg);
	xasprintf(&more, "%s[game:extra]\ncommand = /bin/g\n", text);
	free(text);
	xasprintf(&where, "%u:", 3 * CONFIG_MAX_GAMES + 1);
	refused(more, where);
	free(where);
	free(more);
}

/* Game keys: name, key and rcfile, good and bad. */
static void
test_game_keys(void **state)
{
	struct config			*cfg;
	const struct config_game	*g;

	(void)state;
	cfg = load_ok("[game:x]\ncommand = /bin/x\nname = Crawl 0.31\n"
	    "key = c\nrcfile = .crawlrc/init.txt\nenv = A=1\n");
	g = config_find_game(cfg, "x");
	assert_non_null(g);
	assert_string_equal(g->name, "Crawl 0.31");
	assert_int_equal(g->key, 'c');
	assert_string_equal(g->rcfile, ".crawlrc/init.txt");
	config_free(cfg);

	refused("[game:x]\ncommand = /bin/x\nname =\n", "3:game:x.name");
	refused("[game:x]\ncommand = /bin/x\n"
	    "name = 0123456789012345678901234567890123456789X\n",
	    "3:game:x.name");
	refused("[game:x]\ncommand = /bin/x\nname = a\x01z\n",
	    "3:game:x.name");
	refused("[game:x]\ncommand = /bin/x\nkey = cc\n", "3:game:x.key");
	refused("[game:x]\ncommand = /bin/x\nkey =\n", "3:game:x.key");
	refused("[game:x]\ncommand = /bin/x\nkey = !\n", "3:game:x.key");
	refused("[game:x]\ncommand = /bin/x\nrcfile = /etc/passwd\n",
	    "3:game:x.rcfile");
	refused("[game:x]\ncommand = /bin/x\nrcfile = ../x\n",
	    "3:game:x.rcfile");
	refused("[game:x]\ncommand = /bin/x\nrcfile = a/../../b\n",
	    "3:game:x.rcfile");
	refused("[game:x]\ncommand = /bin/x\nrcfile = a b\n",
	    "3:game:x.rcfile");
}

/*
 * Game text goes on the wire as JSON strings, so it must be UTF-8: the
 * name, the command's words and env values.
 */
static void
test_game_text_utf8(void **state)
{
	struct config	*cfg;
	int		 failed = 0;

	(void)state;
	cfg = load_ok("[game:x]\ncommand = /bin/x -n J\xc3\xa9u\n"
	    "name = J\xc3\xa9u\nenv = A=J\xc3\xa9u\n");
	assert_string_equal(cfg->games[0].name, "J\xc3\xa9u");
	config_free(cfg);
	failed += check_refused("[game:x]\ncommand = /bin/x\nname = Caf\xe9\n",
	    "3:game:x.name", NULL) != 0;
	failed += check_refused("[game:x]\ncommand = /bin/x -n Caf\xe9 -u %u\n",
	    "2:game:x.command", NULL) != 0;
	failed += check_refused("[game:x]\ncommand = /bin/x\nenv = A=Caf\xe9\n",
	    "3:game:x.env", NULL) != 0;
	if (failed != 0)
		fail_msg("%d non-UTF-8 game value(s) accepted", failed);
}

/* The menu's own keys cannot be a game's key. */
static void
test_game_reserved_keys(void **state)
{
	const char	*k;
	char		*text, *where;
	int		 failed = 0;

	(void)state;
	for (k = CONFIG_RESERVED_KEYS; *k != '\0'; k++) {
		xasprintf(&text, "[game:x]\ncommand = /bin/x\nkey = %c\n", *k);
		xasprintf(&where, "3:game:x.key");
		failed += check_refused(text, where, NULL) != 0;
		free(text);
		free(where);
	}
	/* q, w, e and r are those named in CONFIG.md. */
	assert_non_null(strchr(CONFIG_RESERVED_KEYS, 'q'));
	assert_non_null(strchr(CONFIG_RESERVED_KEYS, 'w'));
	assert_non_null(strchr(CONFIG_RESERVED_KEYS, 'e'));
	assert_non_null(strchr(CONFIG_RESERVED_KEYS, 'r'));
	if (failed != 0)
		fail_msg("%d reserved key(s) accepted", failed);
}

/* Two games cannot share a menu key. */
static void
test_game_duplicate_keys(void **state)
{
	struct config	*cfg;
	char		*cause;

	(void)state;
	cfg = load_text("[game:a]\ncommand = /bin/a\nkey = k\n"
	    "[game:b]\ncommand = /bin/b\nkey = k\n", &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "game:b.key"));
	free(cause);
}

/* Games without a key get distinct, free, unreserved ones. */
static void
test_game_auto_keys(void **state)
{
	struct config	*cfg;

	(void)state;
	/* Explicit keys are kept, the others get distinct free ones. */
	cfg = load_ok("[game:crawl]\ncommand = /bin/crawl\n"
	    "[game:chess]\ncommand = /bin/chess\nkey = c\n"
	    "[game:ccc]\ncommand = /bin/ccc\n"
	    "[game:rogue]\ncommand = /bin/rogue\n"
	    "[game:qwer]\ncommand = /bin/qwer\n");
	assert_int_equal(cfg->ngames, 5);
	assert_int_equal(config_find_game(cfg, "chess")->key, 'c');
	assert_keys_usable_free(cfg);

	/* An explicit key later in the file is not taken by an earlier game. */
	cfg = load_ok("[game:zork]\ncommand = /bin/zork\n"
	    "[game:zap]\ncommand = /bin/zap\nkey = z\n");
	assert_int_equal(config_find_game(cfg, "zap")->key, 'z');
	assert_keys_usable_free(cfg);
}

/*
 * Many games: automatic keys must still be usable, or the file refused.
 * Here 31 games hold explicit keys and the last one's id offers no free
 * letter (s and capitals are still free).
 */
static void
test_game_auto_keys_many(void **state)
{
	static const char keys[] = "abcdfghijklmnoptuvxyz0123456789";
	struct config	*cfg;
	char		*text, *more, *cause;
	u_int		 i;

	(void)state;
	text = xstrdup("");
	for (i = 0; keys[i] != '\0'; i++) {
		xasprintf(&more, "%s[game:g%u]\ncommand = /bin/g\nkey = %c\n",
		    text, i, keys[i]);
		free(text);
		text = more;
	}
	xasprintf(&more, "%s[game:q]\ncommand = /bin/q\n", text);
	free(text);
	cfg = load_text(more, &cause);
	free(more);
	if (cfg == NULL) {
		assert_non_null(cause);
		free(cause);
		return;
	}
	assert_int_equal(cfg->ngames, 32);
	assert_keys_usable_free(cfg);
}

/* The most games a file may hold, none with a key: each still gets one. */
static void
test_game_auto_keys_max(void **state)
{
	struct config	*cfg;
	char		*text, *more, *cause;
	u_int		 i;

	(void)state;
	text = xstrdup("");
	for (i = 0; i < CONFIG_MAX_GAMES; i++) {
		xasprintf(&more, "%s[game:g%u]\ncommand = /bin/g\n", text, i);
		free(text);
		text = more;
	}
	cfg = load_text(text, &cause);
	free(text);
	if (cfg == NULL) {
		assert_non_null(cause);
		free(cause);
		return;
	}
	assert_int_equal(cfg->ngames, CONFIG_MAX_GAMES);
	assert_keys_usable_free(cfg);
}

/* Every game needs a command. */
static void
test_game_without_command(void **state)
{
	struct config	*cfg;
	char		*cause;

	(void)state;
	cfg = load_text("[game:crawl]\nname = Crawl\nkey = c\n", &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "game:crawl.command"));
	free(cause);

	cfg = load_text("[game:a]\ncommand = /bin/a\n[game:b]\nkey = b\n",
	    &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "game:b.command"));
	assert_null(strstr(cause, "game:a.command"));
	free(cause);
}

/* The missing-command error names a line of the file: [game:b]'s. */
static void
test_game_without_command_line(void **state)
{
	(void)state;
	refused("[game:a]\ncommand = /bin/a\n[game:b]\nkey = b\n",
	    "3:game:b.command");
}

/* A duplicate menu key is reported at the line that repeats it. */
static void
test_game_duplicate_key_line(void **state)
{
	(void)state;
	refused("[game:a]\ncommand = /bin/a\nkey = k\n"
	    "[game:b]\ncommand = /bin/b\nkey = k\n", "6:game:b.key");
}

/* [game:foo] with nothing in it is a game without a command. */
static void
test_game_empty_section(void **state)
{
	struct config	*cfg;
	char		*cause;

	(void)state;
	cfg = load_text("[game:crawl]\n", &cause);
	if (cfg != NULL) {
		u_int	n = cfg->ngames;
		int	nethack = config_find_game(cfg, "nethack") != NULL;

		config_free(cfg);
		fail_msg("[game:crawl] with no keys accepted (%u game(s), "
		    "built-in nethack %s)", n, nethack ? "kept" : "gone");
	}
	assert_non_null(cause);
	assert_non_null(strstr(cause, "game:crawl"));
	free(cause);
}

/* env lines repeat, in order, up to CONFIG_MAX_ENV. */
static void
test_game_env(void **state)
{
	struct config			*cfg;
	const struct config_game	*g;
	char				*text, *more;
	u_int				 i;

	(void)state;
	cfg = load_ok("[game:x]\ncommand = /bin/x\nenv = A=1\n"
	    "env = B_2=%u at %h, 100%%\nenv = _C=\n");
	g = config_find_game(cfg, "x");
	assert_non_null(g);
	assert_int_equal(g->nenv, 3);
	assert_string_equal(g->env[0], "A=1");
	assert_string_equal(g->env[1], "B_2=%u at %h, 100%%");
	assert_string_equal(g->env[2], "_C=");
	config_free(cfg);

	refused("[game:x]\ncommand = /bin/x\nenv = 1A=x\n", "3:game:x.env");
	refused("[game:x]\ncommand = /bin/x\nenv = A\n", "3:game:x.env");
	refused("[game:x]\ncommand = /bin/x\nenv = A B=1\n", "3:game:x.env");
	refused("[game:x]\ncommand = /bin/x\nenv = =x\n", "3:game:x.env");
	refused("[game:x]\ncommand = /bin/x\nenv = A-B=1\n", "3:game:x.env");
	refused("[game:x]\ncommand = /bin/x\nenv = A=%x\n", "3:game:x.env");
	refused("[game:x]\ncommand = /bin/x\nenv = A=x\x1b[2J\n",
	    "3:game:x.env");

	/* CONFIG_MAX_ENV lines fit; one more does not. */
	text = xstrdup("[game:x]\ncommand = /bin/x\n");
	for (i = 0; i < CONFIG_MAX_ENV; i++) {
		xasprintf(&more, "%senv = V%u=%u\n", text, i, i);
		free(text);
		text = more;
	}
	cfg = load_ok(text);
	assert_int_equal(cfg->games[0].nenv, CONFIG_MAX_ENV);
	config_free(cfg);
	xasprintf(&more, "%senv = TOO=many\n", text);
	free(text);
	xasprintf(&text, "%u:game:x.env", CONFIG_MAX_ENV + 3);
	refused(more, text);
	free(more);
	free(text);
}

/* Command templates: %u, %h and %% only, absolute program. */
static void
test_command_template(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = load_ok("[game:x]\n"
	    "command = /usr/games/x -u %u -d %h/.x --pct 100%% %u%h\n");
	assert_string_equal(cfg->games[0].command,
	    "/usr/games/x -u %u -d %h/.x --pct 100%% %u%h");
	config_free(cfg);

	refused("[game:x]\ncommand = /usr/games/x -u %x\n",
	    "2:game:x.command");
	refused("[game:x]\ncommand = /usr/games/x %U\n", "2:game:x.command");
	refused("[game:x]\ncommand = /usr/games/x 100%\n", "2:game:x.command");
	refused("[game:x]\ncommand = /usr/games/x %%%\n", "2:game:x.command");
	refused("[game:x]\ncommand = x -u %u\n", "2:game:x.command");
	refused("[game:x]\ncommand = ./x\n", "2:game:x.command");
	refused("[game:x]\ncommand = %h/bin/x\n", "2:game:x.command");
	refused("[game:x]\ncommand =\n", "2:game:x.command");
	refused("[game:x]\ncommand = /bin/x\x1b\n", "2:game:x.command");
}

/* ---- expansion --------------------------------------------------------- */

/* The number of words in an argv. */
static u_int
argv_count(char **argv)
{
	u_int	 n = 0;

	while (argv[n] != NULL)
		n++;
	return n;
}

/* Commands split into words before expansion; no shell. */
static void
test_expand_command(void **state)
{
	char	**argv, *cause = NULL;
	char	 *tmpl, *more;
	u_int	  i;

	(void)state;
	/* A user name with spaces or shell syntax stays one word. */
	assert_int_equal(config_expand_command("/usr/games/nethack -u %u",
	    "John Smith; rm -rf /", "/home/js", &argv, &cause), 0);
	assert_int_equal(argv_count(argv), 3);
	assert_string_equal(argv[0], "/usr/games/nethack");
	assert_string_equal(argv[1], "-u");
	assert_string_equal(argv[2], "John Smith; rm -rf /");
	config_free_argv(argv);

	/* So does a home directory; %% is one percent sign. */
	assert_int_equal(config_expand_command(
	    "/bin/g  --dir=%h/.g\t-x %%u 100%% $(id) `id` *",
	    "al", "/home/a b", &argv, &cause), 0);
	assert_int_equal(argv_count(argv), 8);
	assert_string_equal(argv[0], "/bin/g");
	assert_string_equal(argv[1], "--dir=/home/a b/.g");
	assert_string_equal(argv[2], "-x");
	assert_string_equal(argv[3], "%u");
	assert_string_equal(argv[4], "100%");
	assert_string_equal(argv[5], "$(id)");
	assert_string_equal(argv[6], "`id`");
	assert_string_equal(argv[7], "*");
	config_free_argv(argv);

	/* Values are not expanded again. */
	assert_int_equal(config_expand_command("/bin/g %u %h", "%h", "%u",
	    &argv, &cause), 0);
	assert_int_equal(argv_count(argv), 3);
	assert_string_equal(argv[1], "%h");
	assert_string_equal(argv[2], "%u");
	config_free_argv(argv);

	/* Empty user: still a word of its own. */
	assert_int_equal(config_expand_command("/bin/g -u %u", "", "/",
	    &argv, &cause), 0);
	assert_int_equal(argv_count(argv), 3);
	assert_string_equal(argv[0], "/bin/g");
	assert_string_equal(argv[1], "-u");
	assert_string_equal(argv[2], "");
	config_free_argv(argv);

	/* The program must be absolute. */
	argv = NULL;
	assert_int_equal(config_expand_command("nethack -u %u", "al", "/h",
	    &argv, &cause), -1);
	assert_null(argv);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_int_equal(config_expand_command("", "al", "/h", &argv,
	    &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;
	assert_int_equal(config_expand_command("   ", "al", "/h", &argv,
	    &cause), -1);
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	/* CONFIG_MAX_ARGS words fit, one more does not. */
	tmpl = xstrdup("/bin/g");
	for (i = 1; i < CONFIG_MAX_ARGS; i++) {
		xasprintf(&more, "%s a%u", tmpl, i);
		free(tmpl);
		tmpl = more;
	}
	assert_int_equal(config_expand_command(tmpl, "u", "/h", &argv,
	    &cause), 0);
	assert_int_equal(argv_count(argv), CONFIG_MAX_ARGS);
	config_free_argv(argv);
	xasprintf(&more, "%s %%u", tmpl);
	free(tmpl);
	assert_int_equal(config_expand_command(more, "u", "/h", &argv,
	    &cause), -1);
	assert_non_null(cause);
	free(cause);
	free(more);
}

/* Template expansion of %u, %h and %%. */
static void
test_expand(void **state)
{
	char	*s;

	(void)state;
	s = config_expand("NETHACKOPTIONS=@%h/.nethackrc", "alice",
	    "/home/alice");
	assert_string_equal(s, "NETHACKOPTIONS=@/home/alice/.nethackrc");
	free(s);
	s = config_expand("%u%%%h", "alice", "/h");
	assert_string_equal(s, "alice%/h");
	free(s);
	s = config_expand("", "alice", "/h");
	assert_string_equal(s, "");
	free(s);
	s = config_expand("%u-%u-%u", "a long user name", "/h");
	assert_string_equal(s, "a long user name-a long user name-"
	    "a long user name");
	free(s);
}

/* ---- derived values and printing --------------------------------------- */

/* The connection limit is the smaller of the two. */
static void
test_max_connections(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = load_ok("[connection_pool]\nmax_connections = 100\n"
	    "[limits]\nmax_connections = 50\n");
	assert_int_equal(config_max_connections(cfg), 50);
	config_free(cfg);
	cfg = load_ok("[connection_pool]\nmax_connections = 50\n"
	    "[limits]\nmax_connections = 100\n");
	assert_int_equal(config_max_connections(cfg), 50);
	config_free(cfg);
	cfg = load_ok("[connection_pool]\nmax_connections = 7\n"
	    "[limits]\nmax_connections = 7\n");
	assert_int_equal(config_max_connections(cfg), 7);
	config_free(cfg);
}

/* Print a configuration to a string. */
static char *
print_config(const struct config *cfg)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	f = open_memstream(&buf, &len);
	assert_non_null(f);
	config_print(cfg, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

/* The printed line for section.key, copied, or NULL. */
static char *
printed_line(const char *out, const char *section, const char *key)
{
	char		*hdr;
	const char	*p, *end, *next;
	size_t		 klen = strlen(key);

	xasprintf(&hdr, "[%s]\n", section);
	p = strstr(out, hdr);
	free(hdr);
	if (p == NULL)
		return NULL;
	p = strchr(p, '\n') + 1;
	/* The section ends at the next blank line or header. */
	next = strstr(p, "\n[");
	for (; *p != '\0' && (next == NULL || p <= next); p = end + 1) {
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		if (strncmp(p, key, klen) == 0 && (p[klen] == ' ' ||
		    p[klen] == '='))
			return xstrndup(p, (size_t)(end - p));
		if (*end == '\0')
			break;
	}
	return NULL;
}

/* Keys not built yet are marked in the printed configuration. */
static void
test_print_not_in_effect(void **state)
{
	static const struct {
		const char	*section;
		const char	*key;
	} in_effect[] = {
		{ "connection_pool", "max_connections" },
		{ "connection_pool", "idle_timeout" },
		{ "limits", "max_connections" },
		{ "broker", "socket" },
		{ "worker_pool", "pool_size" },
		{ "worker_pool", "worker_timeout" },
		{ "game:nethack", "command" },
	}, not_built[] = {
		/* Nothing in the sources implements these yet. */
		{ "circuit_breaker", "enabled" },
		{ "circuit_breaker", "failure_threshold" },
		{ "load_shedding", "cpu_threshold" },
		{ "auth", "url" },
		{ "recording", "enabled" },
		{ "spectate", "max_watchers_per_game" },
		{ "http", "listen" },
	};
	struct config	*cfg;
	char		*out, *line;
	u_int		 i;

	(void)state;
	cfg = load_ok("");
	out = print_config(cfg);
	assert_non_null(strstr(out, "not yet in effect"));
	for (i = 0; i < nitems(in_effect); i++) {
		line = printed_line(out, in_effect[i].section,
		    in_effect[i].key);
		if (line == NULL)
			fail_msg("%s.%s not printed", in_effect[i].section,
			    in_effect[i].key);
		if (strstr(line, "not yet in effect") != NULL)
			fail_msg("%s.%s marked: %s", in_effect[i].section,
			    in_effect[i].key, line);
		free(line);
	}
	for (i = 0; i < nitems(not_built); i++) {
		line = printed_line(out, not_built[i].section,
		    not_built[i].key);
		if (line == NULL)
			fail_msg("%s.%s not printed", not_built[i].section,
			    not_built[i].key);
		if (strstr(line, "not yet in effect") == NULL)
			fail_msg("%s.%s not marked: %s", not_built[i].section,
			    not_built[i].key, line);
		free(line);
	}
	line = printed_line(out, "connection_pool", "max_connections");
	assert_string_equal(line, "max_connections = 1000");
	free(line);
	free(out);
	config_free(cfg);
}

/* The printed configuration is itself a file that loads to the same. */
static void
test_print_round_trip(void **state)
{
	static const char *const texts[] = {
		"",
		"[broker]\nlog_level = debug\n[http]\nlisten =\n"
		"[connection_pool]\nqueue_timeout = 1500ms\n"
		"[limits]\nmax_memory = 1536MB\nmax_bandwidth = 3KB/s\n"
		"[quota:gold]\ngroups = a, b\nmax_cpu_cores = 2.25\n"
		"[auth]\nurl = https://x.example/a\non_failure = deny\n"
		"[game:crawl]\nname = Crawl\ncommand = /bin/crawl -u %u\n"
		"env = A=1\nenv = B=%h\n[game:zork]\ncommand = /bin/zork\n",
	};
	struct config	*cfg, *again;
	char		*out, *out2, *body, *body2;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(texts); i++) {
		cfg = load_ok(texts[i]);
		out = print_config(cfg);
		again = load_ok(out);
		out2 = print_config(again);
		/* Skip the first line, which names the file. */
		body = strchr(out, '\n');
		body2 = strchr(out2, '\n');
		assert_non_null(body);
		assert_non_null(body2);
		assert_string_equal(body, body2);
		free(out);
		free(out2);
		config_free(again);
		config_free(cfg);
	}
}

/* The shipped dungeongate.ini says the same as an empty file. */
static void
test_shipped_file(void **state)
{
	struct config	*cfg, *empty;
	char		*path, *dir, *cause = NULL, *out, *out2;
	const char	*p;

	(void)state;
	dir = xstrdup(__FILE__);
	if ((p = strstr(dir, "tests/unit/test_config.c")) == NULL) {
		free(dir);
		skip();
	}
	dir[p - dir] = '\0';
	xasprintf(&path, "%sconf/dungeongate.ini", dir);
	free(dir);
	if (access(path, R_OK) != 0) {
		free(path);
		skip();
	}
	cfg = config_load(path, 0, &cause);
	if (cfg == NULL) {
		print_error("%s\n", cause);
		free(cause);
		free(path);
		fail_msg("the shipped configuration does not load");
	}
	free(path);
	empty = load_ok("");
	out = print_config(cfg);
	out2 = print_config(empty);
	assert_string_equal(strchr(out, '\n'), strchr(out2, '\n'));
	free(out);
	free(out2);
	config_free(empty);
	config_free(cfg);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_more_good_values),
		cmocka_unit_test(test_socket_length),
		cmocka_unit_test(test_quota_groups),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_unknown_section_empty),
		cmocka_unit_test(test_set_twice),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_several_errors),
		cmocka_unit_test(test_error_says_accepted_form),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_line_long_but_fits),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_game_replaces_builtin),
		cmocka_unit_test(test_game_too_many),
		cmocka_unit_test(test_game_keys),
		cmocka_unit_test(test_game_text_utf8),
		cmocka_unit_test(test_game_reserved_keys),
		cmocka_unit_test(test_game_duplicate_keys),
		cmocka_unit_test(test_game_auto_keys),
		cmocka_unit_test(test_game_auto_keys_many),
		cmocka_unit_test(test_game_auto_keys_max),
		cmocka_unit_test(test_game_without_command),
		cmocka_unit_test(test_game_without_command_line),
		cmocka_unit_test(test_game_duplicate_key_line),
		cmocka_unit_test(test_game_empty_section),
		cmocka_unit_test(test_game_env),
		cmocka_unit_test(test_command_template),
		cmocka_unit_test(test_expand_command),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_max_connections),
		cmocka_unit_test(test_print_not_in_effect),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_shipped_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
