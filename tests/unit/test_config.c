/*
 * Unit tests for the configuration file, checked against CONFIG.md: the
 * defaults of an empty file, every key's accepted and refused values,
 * error locations (file:line:section.key), the unit parsers, games and
 * their menu keys, command templates and the printed configuration.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
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
#include "config-text.h"

#define KB	1024ULL
#define MB	(1024ULL * KB)
#define GB	(1024ULL * MB)
#define TB	(1024ULL * GB)
#define SEC	1000ULL
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

/* The path of the last file written; error texts must name it. */
static char	 tmp_path[64];

/* Write len bytes to a new temporary file; tmp_path holds its name. */
static void
write_tmp_bytes(const char *bytes, size_t len)
{
	FILE	*f;
	int	 fd;

	snprintf(tmp_path, sizeof tmp_path, "/tmp/dg-test-config-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Load len bytes as a configuration file, then remove the file. */
static struct config *
load_bytes(const char *bytes, size_t len, char **cause)
{
	struct config	*cfg;

	*cause = NULL;
	write_tmp_bytes(bytes, len);
	cfg = config_load(tmp_path, cause);
	unlink(tmp_path);
	return cfg;
}

/* Load text as a configuration file, then remove the file. */
static struct config *
load_text(const char *text, char **cause)
{
	return load_bytes(text, strlen(text), cause);
}

/* Load text the way dg-session does, then remove the file. */
static struct config *
load_session(const char *text, char **warnings)
{
	struct config	*cfg;

	write_tmp_bytes(text, strlen(text));
	cfg = config_load_session(tmp_path, warnings);
	unlink(tmp_path);
	assert_non_null(cfg);
	return cfg;
}

/*
 * Bytes that must be refused, with an error naming "FILE:where" (where is
 * "LINE:section.key" or "LINE:"), and mentioning also if not NULL.
 * Returns 0 when they were, else prints why and returns -1 so that
 * table-driven tests can report every case.
 */
static int
check_refused_bytes(const char *text, size_t len, const char *where,
    const char *also)
{
	struct config	*cfg;
	char		*cause, *needle;
	int		 rc = 0;

	cfg = load_bytes(text, len, &cause);
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

/* Text that must be refused at where; see check_refused_bytes. */
static int
check_refused(const char *text, const char *where, const char *also)
{
	return check_refused_bytes(text, strlen(text), where, also);
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
	cfg = config_from_text_ok("");
	assert_non_null(cfg->path);

	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	assert_string_equal(cfg->broker_socket_group, "dgplayers");
	assert_string_equal(cfg->broker_admin_group, "dgadmin");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_INFO);
	assert_string_equal(cfg->broker_user, "_dungeongate");

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

	assert_int_equal(cfg->limits_max_connections, 1000);
	assert_int_equal(cfg->limits_max_ptys, 500);
	assert_int_equal(cfg->limits_max_memory, 8 * GB);
	assert_int_equal(cfg->limits_max_bandwidth, 1 * GB);
	assert_int_equal(cfg->limits_max_file_descriptors, 8192);

	assert_int_equal(cfg->alerts_high_connection_count, 900);
	assert_int_equal(cfg->alerts_high_queue_time, 2 * SEC);
	assert_true(cfg->alerts_high_resource_usage == 0.9);

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
	cfg = config_from_text_ok("; a comment\n# another\n\n[broker]   ; trailing\n"
	    "log_level = warn          ; debug | info | warn | error\n"
	    "\n   \n[quota:default]\ngroups =          ; none: the rest\n"
	    "expires_after = 3s\t# hash comment\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_WARN);
	assert_int_equal(find_quota(cfg, "default")->ngroups, 0);
	assert_int_equal(find_quota(cfg, "default")->expires_after, 3 * SEC);
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
	const char	*bad[16];
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
	{ "broker", "log_level", "debug", V_INT, C(broker_log_level),
	  NULL, LOG_LEVEL_DEBUG, 0, { "verbose", "", "5", NULL } },
	{ "broker", "user", "dgbroker", V_STR, C(broker_user),
	  "dgbroker", 0, 0,
	  { "", "0", "-broker", "dg broker", "dg/broker", "dg:broker", NULL } },
	{ "broker", "log_format", "json", V_INT, C(broker_log_format),
	  NULL, LOG_FORMAT_JSON, 0, { "JSON", "", "xml", "kv json", NULL } },

	{ "http", "listen", "[::1]:9100", V_STR, C(http_listen),
	  "[::1]:9100", 0, 0,
	  { "localhost:8085", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536",
	    ":8085", "1.2.3.4.5:80", "[::1]", "::1:80", "127.0.0.1:80x",
	    "127.0.0.1:-1", "[::1]8085", "0x7f.0.0.1:80", NULL } },

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

	{ "alerts", "high_connection_count", "10", V_UINT,
	  C(alerts_high_connection_count), NULL, 10, 0, { "ten", NULL } },
	{ "alerts", "high_queue_time", "1s", V_U64, C(alerts_high_queue_time),
	  NULL, SEC, 0, { "1", NULL } },
	{ "alerts", "high_resource_usage", "0.75", V_DBL,
	  C(alerts_high_resource_usage), NULL, 0, 0.75,
	  { "-1", "1.5", "80%", "high", "nan", "inf", "", NULL } },

	{ "recording", "enabled", "false", V_BOOL, C(recording_enabled), NULL,
	  0, 0, { "maybe", "", NULL } },
	{ "recording", "dir", "/srv/ttyrec", V_STR, C(recording_dir),
	  "/srv/ttyrec", 0, 0, { "ttyrec", "", "/srv/../etc", "/srv/./x",
	    "/srv/\x1b[2J", NULL } },
	{ "recording", "public", "true", V_BOOL, C(recording_public), NULL,
	  1, 0, { "everyone", NULL } },
	{ "recording", "compress", "gzip", V_INT, C(recording_compress), NULL,
	  CONFIG_COMPRESS_GZIP, 0, { "zstd", "", "GZIP", NULL } },
	{ "spectate", "enabled", "no", V_BOOL, C(spectate_enabled), NULL, 0, 0,
	  { "2", NULL } },
	{ "spectate", "max_watchers_per_game", "0", V_UINT,
	  C(spectate_max_watchers), NULL, 0, 0, { "-1", "many", "100001",
	    NULL } },

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
	cfg = config_from_text_ok("[broker]\nlog_level = error\n"
	    "[alerts]\nhigh_resource_usage = 0\n"
	    "[connection_pool]\nmax_connections = 1000000\n"
	    "enable_prioritization = yes\n[worker_pool]\npool_size = 1024\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_ERROR);
	assert_true(cfg->alerts_high_resource_usage == 0.0);
	assert_int_equal(cfg->pool_max_connections, 1000000);
	assert_int_equal(cfg->pool_enable_prioritization, 1);
	assert_int_equal(cfg->worker_pool_size, 1024);
	config_free(cfg);

	cfg = config_from_text_ok("[broker]\nlog_level = info\n[connection_pool]\n"
	    "enable_prioritization = on\n[alerts]\nhigh_resource_usage = 1\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg->pool_enable_prioritization, 1);
	assert_true(cfg->alerts_high_resource_usage == 1.0);
	config_free(cfg);

	cfg = config_from_text_ok("[broker]\nlog_level = warn\n[connection_pool]\n"
	    "enable_prioritization = 0\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_WARN);
	assert_int_equal(cfg->pool_enable_prioritization, 0);
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
	cfg = config_from_text_ok(text);
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
	cfg = config_from_text_ok("[quota:gold]\ngroups = gold, silver bronze\n"
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
	refused("[limits]\nsocket = /run/x.sock\n", "2:limits.socket");
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

/* The error says what the key accepts, and its bounds. */
static void
test_error_says_accepted_form(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_refused("[connection_pool]\nqueue_timeout = 5\n",
	    "2:connection_pool.queue_timeout", "ms") != 0;
	failed += check_refused("[connection_pool]\nqueue_timeout = 2h\n",
	    "2:connection_pool.queue_timeout", "from 0s to 1h") != 0;
	failed += check_refused("[limits]\nmax_memory = 8G\n",
	    "2:limits.max_memory", "MB") != 0;
	failed += check_refused("[limits]\nmax_bandwidth = 1B/s\n",
	    "2:limits.max_bandwidth", "from 1KB/s to 1TB/s") != 0;
	failed += check_refused("[limits]\nmax_ptys = 0\n",
	    "2:limits.max_ptys", "from 1 to 1000000") != 0;
	failed += check_refused("[connection_pool]\n"
	    "enable_prioritization = yep\n",
	    "2:connection_pool.enable_prioritization", "false") != 0;
	failed += check_refused("[broker]\nlog_level = loud\n",
	    "2:broker.log_level", "debug") != 0;
	failed += check_refused("[alerts]\nhigh_resource_usage = 2\n",
	    "2:alerts.high_resource_usage", "from 0 to 1") != 0;
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
	cfg = config_load("/nonexistent/dungeongate-test.ini", &cause);
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
	cfg = config_load(dir, &cause);
	rmdir(dir);
	if (cfg != NULL) {
		config_free(cfg);
		fail_msg("a directory loaded as an empty configuration");
	}
	assert_non_null(cause);
	assert_non_null(strstr(cause, dir));
	free(cause);
}

/* A line longer than CONFIG_MAX_LINE is an error at that line. */
static void
test_line_too_long(void **state)
{
	char	*text, *comment;
	int	 failed = 0;

	(void)state;
	comment = malloc(CONFIG_MAX_LINE + 1);
	assert_non_null(comment);
	memset(comment, 'x', CONFIG_MAX_LINE);
	comment[0] = ';';
	comment[CONFIG_MAX_LINE] = '\0';

	/* One byte too long (with " " before), followed by a bad key. */
	xasprintf(&text, "[broker]\n %s\nlog_level = loud\n", comment);
	failed += check_refused(text, "2:", "longer than 4096") != 0;
	failed += check_refused(text, "3:broker.log_level", NULL) != 0;
	free(text);

	/* The last line of the file, without an end. */
	xasprintf(&text, "[broker]\nlog_level = debug  %s", comment);
	failed += check_refused(text, "2:", "longer") != 0;
	free(text);

	/* Followed only by a section header. */
	xasprintf(&text, "[broker]\n%sx\n[limits]\n", comment);
	failed += check_refused(text, "2:", "longer") != 0;
	free(text);

	free(comment);
	if (failed != 0)
		fail_msg("%d over-long line(s) not reported at their line",
		    failed);
}

/* A line of exactly CONFIG_MAX_LINE bytes is fine, CR or not. */
static void
test_line_long_but_fits(void **state)
{
	struct config	*cfg;
	char		*text, *line;
	size_t		 prefix = strlen("log_level = debug ;");

	(void)state;
	line = malloc(CONFIG_MAX_LINE + 1);
	assert_non_null(line);
	memcpy(line, "log_level = debug ;", prefix);
	memset(line + prefix, 'c', CONFIG_MAX_LINE - prefix);
	line[CONFIG_MAX_LINE] = '\0';
	xasprintf(&text, "[broker]\n%s\r\nsocket = /tmp/x.sock\n", line);
	cfg = config_from_text_ok(text);
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->broker_socket, "/tmp/x.sock");
	config_free(cfg);
	free(text);
	free(line);
}

static char	*print_config(const struct config *);

/* ---- the reader -------------------------------------------------------- */

/* Indentation never changes meaning: an indented header after a key. */
static void
test_reader_indented_section(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = config_from_text_ok("[broker]\nlog_level = debug\n  [limits]\n"
	    "\tmax_ptys = 7\n    [alerts]\n  high_connection_count = 3\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->limits_max_ptys, 7);
	assert_int_equal(cfg->alerts_high_connection_count, 3);
	config_free(cfg);

	/* An indented line is never the previous value's continuation. */
	refused("[broker]\nlog_level = debug\n   more text\n", "3:");
	refused("[limits]\nmax_ptys = 7\n  [bogus]\n", "3:");
}

/* A UTF-8 BOM is skipped at the start of the file, and only there. */
static void
test_reader_bom(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = config_from_text_ok("\xef\xbb\xbf[broker]\nlog_level = warn\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_WARN);
	config_free(cfg);
	cfg = config_from_text_ok("\xef\xbb\xbf; only a comment\n");
	config_free(cfg);
	cfg = config_from_text_ok("\xef\xbb\xbf");
	config_free(cfg);
	refused("[broker]\n\xef\xbb\xbflog_level = warn\n", "2:");
	refused("\xef\xbb\xbf\xef\xbb\xbf[broker]\n", "1:");
}

/* Section names of any length: an error at the header, bounded. */
static void
test_reader_long_section_names(void **state)
{
	static const size_t	 lengths[] = { 50, 60, 127, 128, 200, 300,
	    CONFIG_MAX_LINE - 2 };
	struct config		*cfg;
	char			*name, *text, *cause;
	u_int			 i;
	int			 failed = 0;

	(void)state;
	name = malloc(CONFIG_MAX_LINE);
	assert_non_null(name);
	for (i = 0; i < nitems(lengths); i++) {
		memset(name, 'a', lengths[i]);
		name[lengths[i]] = '\0';
		/* An unknown section, and a game id too long. */
		xasprintf(&text, "[%s]\nkey = 1\n[broker]\nlog_level = loud\n",
		    name);
		failed += check_refused(text, "1:", "unknown section") != 0;
		failed += check_refused(text, "4:broker.log_level", NULL) != 0;
		cfg = load_text(text, &cause);
		assert_null(cfg);
		if (strlen(cause) > 1024) {
			print_error("error for a %zu-byte name is %zu bytes\n",
			    lengths[i], strlen(cause));
			failed++;
		}
		free(cause);
		free(text);
		if (lengths[i] + 7 <= CONFIG_MAX_LINE) {
			xasprintf(&text, "[game:%s]\ncommand = /bin/x\n", name);
			failed += check_refused(text, "1:", "game id") != 0;
			free(text);
			xasprintf(&text, "[quota:%s]\npriority = 1\n", name);
			failed += check_refused(text, "1:", "quota name") != 0;
			free(text);
		}
	}
	/* The longest ids that are allowed. */
	memset(name, 'g', 32);
	name[32] = '\0';
	xasprintf(&text, "[game:%s]\ncommand = /bin/x\n[quota:%s]\n", name,
	    name);
	cfg = config_from_text_ok(text);
	assert_non_null(config_find_game(cfg, name));
	assert_non_null(config_find_quota(cfg, name));
	config_free(cfg);
	free(text);
	free(name);
	if (failed != 0)
		fail_msg("%d long section name case(s) failed", failed);
}

/* CRLF line ends: the CR is not part of the value. */
static void
test_reader_crlf(void **state)
{
	struct config	*cfg;
	int		 failed = 0;

	(void)state;
	cfg = config_from_text_ok("[broker]\r\nlog_level = debug\r\nsocket = /tmp/a.sock"
	    "\r\n\r\n[limits]   ; system\r\nmax_ptys = 3\r\n[game:x]\r\n"
	    "command = /bin/x -u %u\r\nname = X\r\n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->broker_socket, "/tmp/a.sock");
	assert_int_equal(cfg->limits_max_ptys, 3);
	assert_string_equal(cfg->games[0].command, "/bin/x -u %u");
	assert_string_equal(cfg->games[0].name, "X");
	config_free(cfg);
	/* Errors name the right line, and quote the value without its CR. */
	failed += check_refused("[broker]\r\n\r\nlog_level = loud\r\n",
	    "3:broker.log_level", "\"loud\"") != 0;
	/* A CR anywhere else is no line end. */
	failed += check_refused("[broker]\rlog_level = info\n", "1:",
	    NULL) != 0;
	failed += check_refused("[broker]\nlog_level = info\r\r\n",
	    "2:broker.log_level", "\\x0d") != 0;
	if (failed != 0)
		fail_msg("%d CRLF case(s) failed", failed);
}

/* A NUL byte is an error at its line, and the reader goes on. */
static void
test_reader_nul(void **state)
{
	static const char	 text[] = "[broker]\nlog_level = de\0bug\n"
	    "socket = relative\n\0\n[limits]\nmax_ptys = 4\n";
	int			 failed = 0;

	(void)state;
	failed += check_refused_bytes(text, sizeof text - 1, "2:", "NUL") != 0;
	failed += check_refused_bytes(text, sizeof text - 1,
	    "3:broker.socket", NULL) != 0;
	failed += check_refused_bytes(text, sizeof text - 1, "4:", "NUL") != 0;
	failed += check_refused_bytes("\0", 1, "1:", "NUL") != 0;
	failed += check_refused_bytes("[broker]\0\n", 10, "1:", "NUL") != 0;
	if (failed != 0)
		fail_msg("%d NUL case(s) failed", failed);
}

/* ; or # after a blank starts a comment, in values and after headers. */
static void
test_reader_inline_comments(void **state)
{
	struct config			*cfg;
	const struct config_game	*g;

	(void)state;
	cfg = config_from_text_ok("[limits] ; the system\nmax_ptys = 9 ; games\n"
	    "max_connections = 8\t# tab then hash\n"
	    "[game:x]   # a game\ncommand = /bin/x -a;b #c\n"
	    "env = A=x#y ; z\nname = Game;1 # the name\n"
	    "rcfile =  ; nothing\n[alerts];tight\nhigh_queue_time = 1s ;\n");
	assert_int_equal(cfg->limits_max_ptys, 9);
	assert_int_equal(cfg->limits_max_connections, 8);
	g = config_find_game(cfg, "x");
	assert_non_null(g);
	assert_string_equal(g->command, "/bin/x -a;b");
	assert_int_equal(g->nenv, 1);
	assert_string_equal(g->env[0], "A=x#y");
	assert_string_equal(g->name, "Game;1");
	assert_string_equal(g->rcfile, "");
	assert_int_equal(cfg->alerts_high_queue_time, SEC);
	config_free(cfg);
	/* Without a blank before it, ; is part of the value. */
	refused("[alerts]\nhigh_queue_time = 1s;\n",
	    "2:alerts.high_queue_time");

	/*
	 * Right after the =, blank or not, it starts a comment: a value
	 * that began with it would print as "key = #..." and read back as
	 * nothing (found by fuzz_config).
	 */
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x\n"
	    "rcfile =#.xrc\nrc_template =;/t\nname = X\n");
	g = config_find_game(cfg, "x");
	assert_non_null(g);
	assert_string_equal(g->rcfile, "");
	assert_string_equal(g->rc_template, "");
	config_free(cfg);
	refused("[game:x]\ncommand = /bin/x\nname =#\n", "3:game:x.name");
	refused("[game:x]\ncommand =;/bin/x\n", "2:game:x.command");
	refused("[broker]\nlog_level =;\xff\n", "2:");
}

/* Files of nothing, blank lines and comments are the defaults. */
static void
test_reader_comments_only(void **state)
{
	static const char *const texts[] = {
		"", "\n", "\n\n\n", "   \n\t\n", "; a\n# b\n   ; c\n\t# d\n",
		"; no end of line", "#", ";", "\r\n", "; caf\xc3\xa9\n",
	};
	struct config	*cfg, *empty;
	char		*out, *out2;
	u_int		 i;

	(void)state;
	empty = config_from_text_ok("");
	out2 = print_config(empty);
	for (i = 0; i < nitems(texts); i++) {
		cfg = config_from_text_ok(texts[i]);
		out = print_config(cfg);
		assert_string_equal(strchr(out, '\n'), strchr(out2, '\n'));
		free(out);
		config_free(cfg);
	}
	free(out2);
	config_free(empty);
}

/* Sections with no keys are fine when they are sections of the schema. */
static void
test_reader_empty_sections(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = config_from_text_ok("[broker]\n[limits]\n[alerts]\n[quota:gold]\n"
	    "[connection_pool]\n[worker_pool]\n[broker]\n");
	assert_non_null(config_find_quota(cfg, "gold"));
	assert_int_equal(cfg->ngames, 1);
	config_free(cfg);
	refused("[broker]\n[game:x]\n[limits]\n", "2:game:x.command");
	refused("[broker]\n\n[nosuch]\n", "3:");
}

/* A header with anything but a comment after ] is an error. */
static void
test_reader_header_junk(void **state)
{
	struct config	*cfg;
	char		*cause;
	int		 failed = 0;

	(void)state;
	failed += check_refused("[broker] x\n", "1:", "after") != 0;
	failed += check_refused("[broker]]\n", "1:", NULL) != 0;
	failed += check_refused("[broker] [limits]\n", "1:", NULL) != 0;
	failed += check_refused("[broker\nlog_level = info\n", "1:",
	    "closing ]") != 0;
	failed += check_refused("[]\n", "1:", NULL) != 0;
	failed += check_refused("[ broker ]\n", "1:", NULL) != 0;
	failed += check_refused("[broker]x ; c\n", "1:", NULL) != 0;
	if (failed != 0)
		fail_msg("%d header case(s) failed", failed);

	/* The keys under a broken header are not put in another section. */
	cfg = load_text("[broker]\n[limits] junk\nmax_ptys = 5\n", &cause);
	assert_null(cfg);
	assert_null(strstr(cause, "broker.max_ptys"));
	assert_null(strstr(cause, ":3:"));
	free(cause);
}

/* Bytes that are not UTF-8 are errors wherever the file holds them. */
static void
test_reader_bad_utf8(void **state)
{
	int	 failed = 0;

	(void)state;
	failed += check_refused("; caf\xe9\n[broker]\n", "1:", "UTF-8") != 0;
	failed += check_refused("[broker]\nlog_level = info ; \xff\n", "2:",
	    "UTF-8") != 0;
	failed += check_refused("[broker] # \xc3\x28\n", "1:", "UTF-8") != 0;
	failed += check_refused("# \xed\xa0\x80 surrogate\n", "1:",
	    "UTF-8") != 0;
	failed += check_refused("# \xc0\xaf overlong\n", "1:", "UTF-8") != 0;
	failed += check_refused("# \xf4\x90\x80\x80 past U+10FFFF\n", "1:",
	    "UTF-8") != 0;
	failed += check_refused("# cut \xe2\x82\n", "1:", "UTF-8") != 0;
	failed += check_refused("[caf\xe9]\n", "1:", "caf\\xe9") != 0;
	failed += check_refused("[broker]\nl\xe9vel = 1\n", "2:",
	    "key name") != 0;
	failed += check_refused("[game:x]\ncommand = /bin/x\nname = \xff\n",
	    "3:game:x.name", "\\xff") != 0;
	failed += check_refused("\xff\xfe[broker]\n", "1:", NULL) != 0;
	if (failed != 0)
		fail_msg("%d invalid UTF-8 case(s) failed", failed);
}

/* Key names are letters, digits and _; a line needs one. */
static void
test_reader_key_names(void **state)
{
	struct config	*cfg;
	char		 key[80];
	char		*text;
	int		 failed = 0;

	(void)state;
	failed += check_refused("[broker]\nlog level = info\n", "2:",
	    "key name") != 0;
	failed += check_refused("[broker]\n= info\n", "2:", "key name") != 0;
	failed += check_refused("[broker]\nlog-level = info\n", "2:",
	    "key name") != 0;
	failed += check_refused("[broker]\nlog_level\n", "2:", NULL) != 0;
	memset(key, 'k', 65);
	key[65] = '\0';
	xasprintf(&text, "[broker]\n%s = 1\n", key);
	failed += check_refused(text, "2:", "key name") != 0;
	free(text);
	/* The first = splits: the rest belongs to the value. */
	cfg = config_from_text_ok("[game:x]\ncommand=/bin/x\nenv=A=B=C\n");
	assert_string_equal(cfg->games[0].command, "/bin/x");
	assert_string_equal(cfg->games[0].env[0], "A=B=C");
	config_free(cfg);
	if (failed != 0)
		fail_msg("%d key name case(s) failed", failed);
}

/* Blanks around keys, values and lines are ignored; tabs are blanks. */
static void
test_reader_blanks(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = config_from_text_ok("\t[broker]\t\n\tlog_level\t=\tdebug\t\n"
	    "  socket   =    /tmp/b.sock   \n[game:x]\n"
	    "command =   /bin/x   -u   %u  \n");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->broker_socket, "/tmp/b.sock");
	assert_string_equal(cfg->games[0].command, "/bin/x   -u   %u");
	config_free(cfg);
}

/*
 * Text from the file in an error is escaped and bounded: no terminal
 * control sequence gets through, and a huge value gives a short line.
 */
static void
test_reader_error_text_safe(void **state)
{
	struct config	*cfg;
	char		*cause, *text, *value;
	const char	*p;

	(void)state;
	cfg = load_text("[broker]\nsocket = x\x1b]0;owned\x07\x1b[2J\"\\\n",
	    &cause);
	assert_null(cfg);
	for (p = cause; *p != '\0'; p++) {
		if ((u_char)*p < 0x20 && *p != '\n')
			fail_msg("control character 0x%02x in: %s", *p, cause);
	}
	assert_non_null(strstr(cause, "x\\x1b]0;owned\\x07\\x1b[2J\\\"\\\\"));
	free(cause);

	/* A C1 control, written as UTF-8, is escaped too. */
	cfg = load_text("[broker]\nsocket = x\xc2\x9b" "2J\n", &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, "\\xc2\\x9b"));
	free(cause);

	value = malloc(4000);
	assert_non_null(value);
	memset(value, 'v', 3999);
	value[3999] = '\0';
	xasprintf(&text, "[broker]\nlog_level = %s\n", value);
	cfg = load_text(text, &cause);
	assert_null(cfg);
	assert_true(strlen(cause) < 600);
	assert_non_null(strstr(cause, "...\""));
	free(cause);
	free(text);
	free(value);
}

/* Every error up to CONFIG_MAX_ERRORS is reported, then one line more. */
static void
test_reader_too_many_errors(void **state)
{
	struct config	*cfg;
	char		*text, *more, *cause, *where;
	const char	*p;
	u_int		 i, lines = 1;

	(void)state;
	text = xstrdup("[broker]\n");
	for (i = 0; i < CONFIG_MAX_ERRORS + 50; i++) {
		xasprintf(&more, "%snot a line %u\n", text, i);
		free(text);
		text = more;
	}
	cfg = load_text(text, &cause);
	free(text);
	assert_null(cfg);
	for (p = cause; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, CONFIG_MAX_ERRORS + 1);
	xasprintf(&where, "%s:%d:", tmp_path, CONFIG_MAX_ERRORS + 3);
	assert_null(strstr(cause, where));
	free(where);
	xasprintf(&where, "%s:%d: too many errors", tmp_path,
	    CONFIG_MAX_ERRORS + 2);
	assert_non_null(strstr(cause, where));
	free(where);
	xasprintf(&where, "%s:%d: expected", tmp_path, CONFIG_MAX_ERRORS + 1);
	assert_non_null(strstr(cause, where));
	free(where);
	free(cause);
}

/* A file of CONFIG_MAX_SIZE bytes loads; one byte more is refused. */
static void
test_reader_file_size(void **state)
{
	struct config	*cfg;
	char		*text, *cause;
	size_t		 i;

	(void)state;
	text = malloc(CONFIG_MAX_SIZE + 1);
	assert_non_null(text);
	for (i = 0; i < CONFIG_MAX_SIZE; i++)
		text[i] = i % 64 == 63 ? '\n' : (i % 64 == 0 ? ';' : 'c');
	cfg = load_bytes(text, CONFIG_MAX_SIZE, &cause);
	if (cfg == NULL)
		fail_msg("a file of %d bytes refused: %s", CONFIG_MAX_SIZE,
		    cause);
	config_free(cfg);
	text[CONFIG_MAX_SIZE] = '\n';
	cfg = load_bytes(text, CONFIG_MAX_SIZE + 1, &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, tmp_path));
	assert_non_null(strstr(cause, "larger than"));
	free(cause);
	free(text);
}

/* A FIFO is refused at once, for both readers: nothing waits on it. */
static void
test_reader_fifo(void **state)
{
	struct config	*cfg;
	char		 dir[] = "/tmp/dg-test-config-fifo-XXXXXX";
	char		*path, *cause = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	xasprintf(&path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);	/* a reader that blocks kills the test */
	cfg = config_load(path, &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, "not a regular file"));
	free(cause);
	cfg = config_load_session(path, &cause);
	alarm(0);
	assert_non_null(cfg);
	assert_non_null(strstr(cause, "not a regular file"));
	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	free(cause);
	config_free(cfg);
	unlink(path);
	rmdir(dir);
	free(path);
}

/* ---- the session's reader ---------------------------------------------- */

/*
 * The session takes [broker] socket and log_level; errors elsewhere and
 * keys it does not read cost it nothing, and produce no warning.
 */
static void
test_session_lenient(void **state)
{
	struct config	*cfg;
	char		*warnings;

	(void)state;
	cfg = load_session("[bogus]\nx = 1\n[limits]\nmax_ptys = lots\n"
	    "socket = /tmp/wrong.sock\nnot a line\n"
	    "\xef\xbb\xbf\n; caf\xe9\n[game:x]\n"
	    "  [broker]\r\nsocket = /tmp/s.sock ; here\r\nlog_level = debug\n"
	    "state_dir = /old\nsocket_group = 9bad\n[broker] junk\n"
	    "socket = /tmp/after-junk.sock\n", &warnings);
	assert_string_equal(cfg->broker_socket, "/tmp/s.sock");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(cfg->path, tmp_path);
	assert_null(warnings);
	config_free(cfg);

	/* The same file is refused by the strict reader. */
	refused("[broker]\nsocket = /tmp/s.sock\n[limits]\nmax_ptys = x\n",
	    "4:limits.max_ptys");
	cfg = load_session("[broker]\nsocket = /tmp/s.sock\n[limits]\n"
	    "max_ptys = x\n", &warnings);
	assert_string_equal(cfg->broker_socket, "/tmp/s.sock");
	assert_null(warnings);
	config_free(cfg);

	/* An empty file: the defaults. */
	cfg = load_session("", &warnings);
	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_INFO);
	assert_null(warnings);
	config_free(cfg);
}

/* A bad socket or log level leaves the default, with a warning. */
static void
test_session_bad_socket(void **state)
{
	struct config	*cfg;
	char		*warnings, *where;

	(void)state;
	cfg = load_session("[broker]\nsocket = relative.sock\n"
	    "log_level = loud\n", &warnings);
	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_INFO);
	assert_non_null(warnings);
	xasprintf(&where, "%s:2:broker.socket: bad value", tmp_path);
	assert_non_null(strstr(warnings, where));
	free(where);
	xasprintf(&where, "%s:3:broker.log_level: bad value", tmp_path);
	assert_non_null(strstr(warnings, where));
	free(where);
	free(warnings);
	config_free(cfg);

	/* A broken line in [broker] may be the socket: a warning. */
	cfg = load_session("[broker]\nsocket /tmp/x.sock\n", &warnings);
	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	assert_non_null(warnings);
	xasprintf(&where, "%s:2:", tmp_path);
	assert_non_null(strstr(warnings, where));
	free(where);
	free(warnings);
	config_free(cfg);

	/* Set twice: the first value stands. */
	cfg = load_session("[broker]\nsocket = /tmp/1.sock\n[broker]\n"
	    "socket = /tmp/2.sock\n", &warnings);
	assert_string_equal(cfg->broker_socket, "/tmp/1.sock");
	assert_non_null(warnings);
	assert_non_null(strstr(warnings, ":4:broker.socket"));
	free(warnings);
	config_free(cfg);
}

/* A file that cannot be read gives the defaults and says why. */
static void
test_session_unreadable(void **state)
{
	struct config	*cfg;
	char		*warnings;
	char		 dir[] = "/tmp/dg-test-config-dir-XXXXXX";

	(void)state;
	cfg = config_load_session("/nonexistent/dungeongate.ini", &warnings);
	assert_non_null(cfg);
	assert_string_equal(cfg->broker_socket, "/run/dungeongate/broker.sock");
	assert_non_null(warnings);
	assert_non_null(strstr(warnings, "/nonexistent/dungeongate.ini"));
	free(warnings);
	config_free(cfg);

	assert_non_null(mkdtemp(dir));
	cfg = config_load_session(dir, &warnings);
	rmdir(dir);
	assert_non_null(cfg);
	assert_non_null(warnings);
	assert_non_null(strstr(warnings, "not a regular file"));
	free(warnings);
	config_free(cfg);
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
	cfg = config_from_text_ok("[game:crawl]\nname = Dungeon Crawl\nkey = c\n"
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
	cfg = config_from_text_ok("[game:nethack]\ncommand = /opt/nethack/nethack\n");
	assert_int_equal(cfg->ngames, 1);
	g = config_find_game(cfg, "nethack");
	assert_non_null(g);
	assert_string_equal(g->command, "/opt/nethack/nethack");
	assert_int_equal(g->nenv, 0);
	assert_string_equal(g->rcfile, "");
	assert_string_equal(g->name, "nethack");
	config_free(cfg);

	/* Several games, in file order. */
	cfg = config_from_text_ok("[game:zork]\ncommand = /usr/games/zork\n"
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
	cfg = config_from_text_ok(text);
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
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x\nname = Crawl 0.31\n"
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

/* A game's options template: an absolute path, only with an rcfile. */
static void
test_game_rc_template(void **state)
{
	struct config			*cfg;
	const struct config_game	*g;

	(void)state;
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x\n"
	    "rcfile = .xrc\nrc_template = /etc/dungeongate/x.rc\n");
	g = config_find_game(cfg, "x");
	assert_non_null(g);
	assert_string_equal(g->rc_template, "/etc/dungeongate/x.rc");
	config_free(cfg);

	/* Empty, or not given: none. */
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x\n"
	    "rcfile = .xrc\nrc_template =\n");
	assert_string_equal(config_find_game(cfg, "x")->rc_template, "");
	config_free(cfg);
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x\n");
	assert_string_equal(config_find_game(cfg, "x")->rc_template, "");
	config_free(cfg);
	cfg = config_from_text_ok("");
	assert_string_equal(config_find_game(cfg, "nethack")->rc_template,
	    "");
	config_free(cfg);

	refused("[game:x]\ncommand = /bin/x\nrcfile = .xrc\n"
	    "rc_template = x.rc\n", "4:game:x.rc_template: bad value");
	refused("[game:x]\ncommand = /bin/x\nrcfile = .xrc\n"
	    "rc_template = /etc/x\x01rc\n", "4:game:x.rc_template: bad value");
	refused("[game:x]\ncommand = /bin/x\nrcfile = .xrc\n"
	    "rc_template = /etc/x\xffrc\n", "4:game:x.rc_template: bad value");
	refused("[game:x]\ncommand = /bin/x\nrcfile = .xrc\n"
	    "rc_template = /a\nrc_template = /b\n",
	    "5:game:x.rc_template: set twice");
	/* A template for a game with no options file would never be read. */
	refused("[game:x]\ncommand = /bin/x\n\nrc_template = /etc/x.rc\n",
	    "4:game:x.rc_template: the game has no rcfile");
	refused("[game:x]\ncommand = /bin/x\nrc_template = /etc/x.rc\n"
	    "rcfile =\n", "3:game:x.rc_template: the game has no rcfile");
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
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x -n J\xc3\xa9u\n"
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
	cfg = config_from_text_ok("[game:crawl]\ncommand = /bin/crawl\n"
	    "[game:chess]\ncommand = /bin/chess\nkey = c\n"
	    "[game:ccc]\ncommand = /bin/ccc\n"
	    "[game:rogue]\ncommand = /bin/rogue\n"
	    "[game:qwer]\ncommand = /bin/qwer\n");
	assert_int_equal(cfg->ngames, 5);
	assert_int_equal(config_find_game(cfg, "chess")->key, 'c');
	assert_keys_usable_free(cfg);

	/* An explicit key later in the file is not taken by an earlier game. */
	cfg = config_from_text_ok("[game:zork]\ncommand = /bin/zork\n"
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
	cfg = config_from_text_ok("[game:x]\ncommand = /bin/x\nenv = A=1\n"
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
	cfg = config_from_text_ok(text);
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
	cfg = config_from_text_ok("[game:x]\n"
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
	cfg = config_from_text_ok("[connection_pool]\nmax_connections = 100\n"
	    "[limits]\nmax_connections = 50\n");
	assert_int_equal(config_max_connections(cfg), 50);
	config_free(cfg);
	cfg = config_from_text_ok("[connection_pool]\nmax_connections = 50\n"
	    "[limits]\nmax_connections = 100\n");
	assert_int_equal(config_max_connections(cfg), 50);
	config_free(cfg);
	cfg = config_from_text_ok("[connection_pool]\nmax_connections = 7\n"
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

/*
 * The printed configuration holds every key of the schema and nothing
 * else: keys that no code reads are not in the schema at all.
 */
static void
test_print_only_schema(void **state)
{
	static const struct {
		const char	*section;
		const char	*key;
	} printed[] = {
		{ "broker", "socket" },
		{ "broker", "socket_group" },
		{ "broker", "admin_group" },
		{ "broker", "log_level" },
		{ "broker", "user" },
		{ "broker", "log_format" },
		{ "http", "listen" },
		{ "connection_pool", "max_connections" },
		{ "connection_pool", "idle_timeout" },
		{ "worker_pool", "pool_size" },
		{ "limits", "max_connections" },
		{ "alerts", "high_resource_usage" },
		{ "recording", "enabled" },
		{ "recording", "dir" },
		{ "recording", "public" },
		{ "recording", "compress" },
		{ "spectate", "enabled" },
		{ "spectate", "max_watchers_per_game" },
		{ "quota:default", "max_cpu_cores" },
		{ "game:nethack", "command" },
	};
	static const struct {
		const char	*text;
		const char	*where;
	} unread[] = {
		{ "[broker]\nstate_dir = /var/lib/dungeongate\n",
		  "2:broker.state_dir" },
	};
	struct config	*cfg;
	char		*out, *line;
	u_int		 i;
	int		 failed = 0;

	(void)state;
	cfg = config_from_text_ok("");
	out = print_config(cfg);
	assert_null(strstr(out, "not yet"));
	for (i = 0; i < nitems(printed); i++) {
		line = printed_line(out, printed[i].section, printed[i].key);
		if (line == NULL)
			fail_msg("%s.%s not printed", printed[i].section,
			    printed[i].key);
		free(line);
	}
	line = printed_line(out, "connection_pool", "max_connections");
	assert_string_equal(line, "max_connections = 1000");
	free(line);
	assert_null(strstr(out, "state_dir"));
	free(out);
	config_free(cfg);

	/* Each is refused at the line that names it. */
	for (i = 0; i < nitems(unread); i++)
		failed += check_refused(unread[i].text, unread[i].where,
		    NULL) != 0;
	if (failed != 0)
		fail_msg("%d key(s) nothing reads still accepted", failed);
}

/* Write a token file with a mode; returns its path (static). */
static const char *
token_file(const char *content, mode_t mode)
{
	static char	 path[] = "/tmp/dg-unit-token-XXXXXX";
	int		 fd;

	strcpy(path, "/tmp/dg-unit-token-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd != -1);
	assert_int_equal(write(fd, content, strlen(content)),
	    (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/*
 * Text read from a buffer means what the same bytes mean in a file: the
 * same configuration, the same errors naming the path given, and the
 * same bound on the size.
 */
static void
test_load_text(void **state)
{
	static const char good[] = "[broker]\nlog_level = debug\n"
	    "[quota:gold]\ngroups = a\n";
	static const char bad[] = "[broker]\nlog_level = loud\nnope = 1\n";
	struct config	*cfg;
	char		*cause, *big;

	(void)state;
	cfg = config_load_text("/x/buffer.ini", good, sizeof good - 1, &cause);
	assert_non_null(cfg);
	assert_null(cause);
	assert_string_equal(cfg->path, "/x/buffer.ini");
	assert_int_equal(cfg->broker_log_level, LOG_LEVEL_DEBUG);
	assert_non_null(config_find_quota(cfg, "gold"));
	config_free(cfg);

	cfg = config_load_text("/x/buffer.ini", bad, sizeof bad - 1, &cause);
	assert_null(cfg);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "/x/buffer.ini:2:broker.log_level"));
	assert_non_null(strstr(cause, "/x/buffer.ini:3:broker.nope"));
	free(cause);

	/* Not NUL-terminated: only len bytes are read. */
	cfg = config_load_text("b.ini", "[broker]\nuser = abc", 17, &cause);
	assert_non_null(cfg);
	assert_string_equal(cfg->broker_user, "a");
	config_free(cfg);

	big = xcalloc(1, CONFIG_MAX_SIZE + 1);
	memset(big, '\n', CONFIG_MAX_SIZE + 1);
	cfg = config_load_text("big.ini", big, CONFIG_MAX_SIZE + 1, &cause);
	assert_null(cfg);
	assert_non_null(strstr(cause, "larger than"));
	free(cause);
	cfg = config_load_text("big.ini", big, CONFIG_MAX_SIZE, &cause);
	assert_non_null(cfg);
	config_free(cfg);

	/* The session's reader keeps the defaults and warns. */
	cfg = config_load_session_text("s.ini", big, CONFIG_MAX_SIZE + 1,
	    &cause);
	assert_non_null(cfg);
	assert_non_null(strstr(cause, "larger than"));
	free(cause);
	config_free(cfg);
	cfg = config_load_session_text("s.ini", bad, sizeof bad - 1, &cause);
	assert_non_null(cfg);
	assert_non_null(strstr(cause, "s.ini:2:broker.log_level"));
	assert_null(strstr(cause, "nope"));
	free(cause);
	config_free(cfg);
	free(big);
}

/* [auth]: the URL must be http(s), the token file private and sane. */
static void
test_auth_keys(void **state)
{
	struct config	*cfg;
	const char	*path;
	char		*text;

	(void)state;
	cfg = config_from_text_ok("[auth]\nurl = https://auth.example/ok\n");
	assert_string_equal(cfg->auth_url, "https://auth.example/ok");
	assert_null(cfg->auth_token.value);
	config_free(cfg);
	refused("[auth]\nurl = ftp://auth.example/\n", "2:auth.url");
	refused("[auth]\nurl = http://\n", "2:auth.url");
	refused("[auth]\nurl = https://a b/\n", "2:auth.url");
	refused("[auth]\nurl = auth.example\n", "2:auth.url");
	refused("[auth]\non_failure = maybe\n", "2:auth.on_failure");
	refused("[circuit_breaker]\nfailure_threshold = -1\n",
	    "2:circuit_breaker.failure_threshold");
	refused("[circuit_breaker]\nfailure_threshold = 0\n",
	    "2:circuit_breaker.failure_threshold");
	refused("[load_shedding]\ncpu_threshold = -0.5\n",
	    "2:load_shedding.cpu_threshold");
	refused("[load_shedding]\nstat_file = proc/stat\n",
	    "2:load_shedding.stat_file");

	/* A private token is read, its newline dropped. */
	path = token_file("s3cr3t-Token_1\n", 0600);
	xasprintf(&text, "[auth]\nurl = http://127.0.0.1:1/\ntoken_file = %s\n",
	    path);
	cfg = config_from_text_ok(text);
	assert_string_equal(cfg->auth_token.value, "s3cr3t-Token_1");
	assert_string_equal(cfg->auth_token.path, path);
	config_free(cfg);
	free(text);
	unlink(path);

	/* One that its group or others may read is refused, as sshd does. */
	path = token_file("s3cr3t\n", 0644);
	xasprintf(&text, "[auth]\ntoken_file = %s\n", path);
	if (check_refused(text, "2:auth.token_file", "mode 0644") != 0)
		fail_msg("a world-readable token file was accepted");
	free(text);
	unlink(path);
	path = token_file("s3cr3t\n", 0640);
	xasprintf(&text, "[auth]\ntoken_file = %s\n", path);
	if (check_refused(text, "2:auth.token_file", "mode 0640") != 0)
		fail_msg("a group-readable token file was accepted");
	free(text);
	unlink(path);

	/* A token that could not go in a header line, or none at all. */
	path = token_file("two words\n", 0600);
	xasprintf(&text, "[auth]\ntoken_file = %s\n", path);
	if (check_refused(text, "2:auth.token_file", "one token") != 0)
		fail_msg("a token with a blank was accepted");
	free(text);
	unlink(path);
	path = token_file("a\r\nInjected: header\n", 0600);
	xasprintf(&text, "[auth]\ntoken_file = %s\n", path);
	if (check_refused(text, "2:auth.token_file", "one token") != 0)
		fail_msg("a token with a line break was accepted");
	free(text);
	unlink(path);
	path = token_file("\n", 0600);
	xasprintf(&text, "[auth]\ntoken_file = %s\n", path);
	if (check_refused(text, "2:auth.token_file", "one token") != 0)
		fail_msg("an empty token was accepted");
	free(text);
	unlink(path);

	/* Missing, or not a file. */
	refused("[auth]\ntoken_file = /nonexistent/dg-token\n",
	    "2:auth.token_file");
	refused("[auth]\ntoken_file = /tmp\n", "2:auth.token_file");
	refused("[auth]\ntoken_file = relative/path\n", "2:auth.token_file");
}

/* The printed configuration is itself a file that loads to the same. */
static void
test_print_round_trip(void **state)
{
	static const char *const texts[] = {
		"",
		"[broker]\nlog_level = debug\nsocket = /tmp/dg.sock\n"
		"[connection_pool]\nqueue_timeout = 1500ms\n"
		"[limits]\nmax_memory = 1536MB\nmax_bandwidth = 3KB/s\n"
		"[alerts]\nhigh_resource_usage = 0.123456789\n"
		"[quota:gold]\ngroups = a, b\nmax_cpu_cores = 2.25\n"
		"[game:crawl]\nname = Crawl\ncommand = /bin/crawl -u %u\n"
		"env = A=1\nenv = B=%h\n[game:zork]\ncommand = /bin/zork\n",
	};
	struct config	*cfg, *again;
	char		*out, *out2, *body, *body2;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(texts); i++) {
		cfg = config_from_text_ok(texts[i]);
		out = print_config(cfg);
		again = config_from_text_ok(out);
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

/*
 * One value of every key that is not its default, and how it prints: the
 * value parses, prints as shown, and the printed file loads to the same.
 * [quota:gold] stands for every tier, [game:x] for every game.
 */
static const struct {
	const char	*section;
	const char	*key;
	const char	*value;
	const char	*printed;
} rtcases[] = {
	{ "broker", "socket", "/tmp/rt.sock", "/tmp/rt.sock" },
	{ "broker", "socket_group", "players", "players" },
	{ "broker", "admin_group", "wheel", "wheel" },
	{ "broker", "log_level", "warn", "warn" },
	{ "broker", "user", "_dgbroker", "_dgbroker" },
	{ "broker", "log_format", "json", "json" },
	{ "http", "listen", "0.0.0.0:9100", "0.0.0.0:9100" },
	{ "connection_pool", "max_connections", "7", "7" },
	{ "connection_pool", "queue_size", "0", "0" },
	{ "connection_pool", "queue_timeout", "1500ms", "1500ms" },
	{ "connection_pool", "idle_timeout", "5400s", "90m" },
	{ "connection_pool", "drain_timeout", "120s", "2m" },
	{ "connection_pool", "enable_prioritization", "off", "false" },
	{ "recording", "enabled", "no", "false" },
	{ "recording", "dir", "/srv/rec", "/srv/rec" },
	{ "recording", "public", "yes", "true" },
	{ "recording", "compress", "gzip", "gzip" },
	{ "spectate", "enabled", "off", "false" },
	{ "spectate", "max_watchers_per_game", "7", "7" },
	{ "worker_pool", "pool_size", "3", "3" },
	{ "worker_pool", "queue_size", "16", "16" },
	{ "worker_pool", "worker_timeout", "250ms", "250ms" },
	{ "worker_pool", "shutdown_timeout", "60m", "1h" },
	{ "limits", "max_connections", "200", "200" },
	{ "limits", "max_ptys", "50", "50" },
	{ "limits", "max_memory", "1048576KB", "1GB" },
	{ "limits", "max_bandwidth", "3072KB/s", "3MB/s" },
	{ "limits", "max_file_descriptors", "1024", "1024" },
	{ "alerts", "high_connection_count", "10", "10" },
	{ "alerts", "high_queue_time", "1000ms", "1s" },
	{ "alerts", "high_resource_usage", "0.30", "0.3" },
	{ "alerts", "high_error_rate", "0.10", "0.1" },
	{ "circuit_breaker", "enabled", "no", "false" },
	{ "circuit_breaker", "failure_threshold", "3", "3" },
	{ "circuit_breaker", "recovery_timeout", "120s", "2m" },
	{ "load_shedding", "enabled", "off", "false" },
	{ "load_shedding", "cpu_threshold", "0.50", "0.5" },
	{ "load_shedding", "memory_threshold", "1", "1" },
	{ "load_shedding", "stat_file", "/tmp/stat", "/tmp/stat" },
	{ "load_shedding", "meminfo_file", "/tmp/meminfo", "/tmp/meminfo" },
	{ "auth", "url", "https://auth.example/v1/authorize",
	  "https://auth.example/v1/authorize" },
	{ "auth", "token_file", "", "" },
	{ "auth", "timeout", "1500ms", "1500ms" },
	{ "auth", "on_failure", "deny", "deny" },
	{ "quota:gold", "groups", "a b,c", "a, b, c" },
	{ "quota:gold", "max_connections", "3", "3" },
	{ "quota:gold", "max_ptys", "0", "0" },
	{ "quota:gold", "max_memory", "2048MB", "2GB" },
	{ "quota:gold", "max_bandwidth", "1024KB/s", "1MB/s" },
	{ "quota:gold", "max_cpu_cores", "2.50", "2.5" },
	{ "quota:gold", "expires_after", "2880m", "48h" },
	{ "quota:gold", "priority", "7", "7" },
	{ "game:x", "name", "My Game", "My Game" },
	{ "game:x", "key", "k", "k" },
	{ "game:x", "command", "/bin/x  -u %u", "/bin/x  -u %u" },
	{ "game:x", "rcfile", ".xrc", ".xrc" },
	{ "game:x", "rc_template", "/etc/x rc", "/etc/x rc" },
	{ "game:x", "env", "A=%h", "A=%h" },
	{ "game:x", "memory", "131072KB", "128MB" },
};

/* Is there a round-trip case for this printed section and key? */
static int
rtcase_exists(const char *section, const char *key)
{
	u_int	 i;

	if (strncmp(section, "quota:", 6) == 0)
		section = "quota:gold";
	else if (strncmp(section, "game:", 5) == 0)
		section = "game:x";
	for (i = 0; i < nitems(rtcases); i++) {
		if (strcmp(rtcases[i].section, section) == 0 &&
		    strcmp(rtcases[i].key, key) == 0)
			return 1;
	}
	return 0;
}

/*
 * Every key, and so every type of value: parse, format, parse again. The
 * cases must cover every key the printed defaults show.
 */
static void
test_type_round_trip(void **state)
{
	struct config	*cfg, *again;
	char		*text, *out, *out2, *line, *want, *lines, *save, *l;
	char		 section[64] = "";
	u_int		 i, failed = 0;

	(void)state;
	/* Coverage: every key of the schema has a case. */
	cfg = config_from_text_ok("");
	out = print_config(cfg);
	config_free(cfg);
	lines = xstrdup(out);
	for (l = strtok_r(lines, "\n", &save); l != NULL;
	    l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '[') {
			snprintf(section, sizeof section, "%.*s",
			    (int)strcspn(l + 1, "]"), l + 1);
			continue;
		}
		if (l[0] == ';' || strstr(l, " = ") == NULL)
			continue;
		l[strcspn(l, " ")] = '\0';
		if (!rtcase_exists(section, l)) {
			print_error("no round-trip case for %s.%s\n", section,
			    l);
			failed++;
		}
	}
	free(lines);
	free(out);

	for (i = 0; i < nitems(rtcases); i++) {
		/* A game needs its command, and a template its rcfile. */
		xasprintf(&text, "[%s]\n%s%s%s = %s\n", rtcases[i].section,
		    strcmp(rtcases[i].section, "game:x") == 0 &&
		    strcmp(rtcases[i].key, "command") != 0 ?
		    "command = /bin/x\n" : "",
		    strcmp(rtcases[i].key, "rc_template") == 0 ?
		    "rcfile = .xrc\n" : "", rtcases[i].key,
		    rtcases[i].value);
		cfg = config_from_text_ok(text);
		free(text);
		out = print_config(cfg);
		line = printed_line(out, rtcases[i].section, rtcases[i].key);
		xasprintf(&want, "%s = %s", rtcases[i].key,
		    rtcases[i].printed);
		if (line == NULL || strcmp(line, want) != 0) {
			print_error("%s.%s = %s printed as \"%s\", "
			    "not \"%s\"\n", rtcases[i].section, rtcases[i].key,
			    rtcases[i].value, line != NULL ? line : "(none)",
			    want);
			failed++;
		}
		again = config_from_text_ok(out);
		out2 = print_config(again);
		if (strcmp(strchr(out, '\n'), strchr(out2, '\n')) != 0) {
			print_error("%s.%s = %s does not read back the same\n",
			    rtcases[i].section, rtcases[i].key,
			    rtcases[i].value);
			failed++;
		}
		free(want);
		free(line);
		free(out);
		free(out2);
		config_free(again);
		config_free(cfg);
	}
	if (failed != 0)
		fail_msg("%u round-trip case(s) failed", failed);
}

/* The shipped dungeongate.ini says the same as an empty file. */
static void
test_shipped_file(void **state)
{
	struct config	*cfg, *empty;
	char		*cause = NULL, *out, *out2;
	const char	*path = TOP_SRCDIR "/conf/dungeongate.ini";

	(void)state;
	if (access(path, R_OK) != 0)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	cfg = config_load(path, &cause);
	if (cfg == NULL) {
		print_error("%s\n", cause);
		free(cause);
		fail_msg("the shipped configuration does not load");
	}
	empty = config_from_text_ok("");
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
		cmocka_unit_test(test_reader_indented_section),
		cmocka_unit_test(test_reader_bom),
		cmocka_unit_test(test_reader_long_section_names),
		cmocka_unit_test(test_reader_crlf),
		cmocka_unit_test(test_reader_nul),
		cmocka_unit_test(test_reader_inline_comments),
		cmocka_unit_test(test_reader_comments_only),
		cmocka_unit_test(test_reader_empty_sections),
		cmocka_unit_test(test_reader_header_junk),
		cmocka_unit_test(test_reader_bad_utf8),
		cmocka_unit_test(test_reader_key_names),
		cmocka_unit_test(test_reader_blanks),
		cmocka_unit_test(test_reader_error_text_safe),
		cmocka_unit_test(test_reader_too_many_errors),
		cmocka_unit_test(test_reader_file_size),
		cmocka_unit_test(test_reader_fifo),
		cmocka_unit_test(test_session_lenient),
		cmocka_unit_test(test_session_bad_socket),
		cmocka_unit_test(test_session_unreadable),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_rate),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_size),
		cmocka_unit_test(test_game_replaces_builtin),
		cmocka_unit_test(test_game_too_many),
		cmocka_unit_test(test_game_keys),
		cmocka_unit_test(test_game_rc_template),
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
		cmocka_unit_test(test_print_only_schema),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_type_round_trip),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_auth_keys),
		cmocka_unit_test(test_load_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
