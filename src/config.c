/*
 * The configuration file: one INI file read with inih, checked against the
 * whole schema of CONFIG.md. Every key has a default, so an empty file is
 * a working configuration; a bad value, an unknown key or section, or a key
 * set twice is an error that names file:line:section.key.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ini.h>

#include "dungeongate.h"

enum ctype {
	CT_STRING,	/* printable text */
	CT_PATH,	/* absolute path */
	CT_OPTPATH,	/* absolute path or empty */
	CT_SOCKET,	/* absolute path short enough for sun_path */
	CT_GROUP,	/* a Unix group name */
	CT_GROUPS,	/* a list of group names */
	CT_BOOL,
	CT_UINT,
	CT_DURATION,
	CT_SIZE,
	CT_RATE,
	CT_FRACTION,	/* 0 to 1 */
	CT_CORES,	/* a positive decimal */
	CT_LOGLEVEL,
	CT_ONFAILURE,
	CT_LISTEN,	/* host:port or empty */
	CT_URL,		/* http(s)://... or empty */
	CT_KEY,		/* one menu key */
	CT_COMMAND,	/* argv template */
	CT_ENV,		/* NAME=VALUE, may repeat */
	CT_RCFILE	/* a path relative to the home directory, or empty */
};

enum cscope { SC_GLOBAL, SC_QUOTA, SC_GAME };

struct ckey {
	const char	*section;
	const char	*name;
	enum ctype	 type;
	enum cscope	 scope;
	size_t		 off;
	const char	*def;
	uint64_t	 min;
	uint64_t	 max;
	int		 in_effect;
};

#define G(sec, key, type, field, def, min, max, eff) \
	{ sec, key, type, SC_GLOBAL, offsetof(struct config, field), def, \
	  min, max, eff }
#define Q(key, type, field, def, min, max, eff) \
	{ "quota", key, type, SC_QUOTA, offsetof(struct config_quota, field), \
	  def, min, max, eff }
#define M(key, type, field, def, eff) \
	{ "game", key, type, SC_GAME, offsetof(struct config_game, field), \
	  def, 0, 0, eff }

#define MS_HOUR	 (3600ULL * 1000)
#define MS_WEEK	 (7 * 24 * MS_HOUR)
#define TB	 (1024ULL * 1024 * 1024 * 1024)

static const struct ckey ckeys[] = {
	G("broker", "socket", CT_SOCKET, broker_socket,
	    "/run/dungeongate/broker.sock", 0, 0, 1),
	G("broker", "socket_group", CT_GROUP, broker_socket_group,
	    "dgplayers", 0, 0, 1),
	G("broker", "admin_group", CT_GROUP, broker_admin_group,
	    "dgadmin", 0, 0, 1),
	G("broker", "state_dir", CT_PATH, broker_state_dir,
	    "/var/lib/dungeongate", 0, 0, 0),
	G("broker", "log_level", CT_LOGLEVEL, broker_log_level,
	    "info", 0, 0, 1),

	G("http", "listen", CT_LISTEN, http_listen,
	    "127.0.0.1:8085", 0, 0, 0),

	G("connection_pool", "max_connections", CT_UINT, pool_max_connections,
	    "1000", 1, 1000000, 1),
	G("connection_pool", "queue_size", CT_UINT, pool_queue_size,
	    "100", 0, 1000000, 1),
	G("connection_pool", "queue_timeout", CT_DURATION, pool_queue_timeout,
	    "5s", 0, MS_HOUR, 1),
	G("connection_pool", "idle_timeout", CT_DURATION, pool_idle_timeout,
	    "30m", 1000, MS_WEEK, 1),
	G("connection_pool", "drain_timeout", CT_DURATION, pool_drain_timeout,
	    "30s", 0, MS_HOUR, 1),
	G("connection_pool", "enable_prioritization", CT_BOOL,
	    pool_enable_prioritization, "true", 0, 0, 1),

	G("worker_pool", "pool_size", CT_UINT, worker_pool_size,
	    "50", 1, 1024, 1),
	G("worker_pool", "queue_size", CT_UINT, worker_queue_size,
	    "1000", 1, 1000000, 1),
	G("worker_pool", "worker_timeout", CT_DURATION, worker_timeout,
	    "30s", 10, MS_HOUR, 1),
	G("worker_pool", "shutdown_timeout", CT_DURATION,
	    worker_shutdown_timeout, "10s", 0, MS_HOUR, 1),

	G("circuit_breaker", "enabled", CT_BOOL, breaker_enabled,
	    "true", 0, 0, 0),
	G("circuit_breaker", "failure_threshold", CT_UINT,
	    breaker_failure_threshold, "10", 1, 1000000, 0),
	G("circuit_breaker", "recovery_timeout", CT_DURATION,
	    breaker_recovery_timeout, "60s", 1, MS_WEEK, 0),

	G("load_shedding", "enabled", CT_BOOL, shed_enabled, "true", 0, 0, 0),
	G("load_shedding", "cpu_threshold", CT_FRACTION, shed_cpu_threshold,
	    "0.8", 0, 0, 0),
	G("load_shedding", "memory_threshold", CT_FRACTION,
	    shed_memory_threshold, "0.9", 0, 0, 0),

	G("limits", "max_connections", CT_UINT, limits_max_connections,
	    "1000", 1, 1000000, 1),
	G("limits", "max_ptys", CT_UINT, limits_max_ptys, "500", 1, 1000000, 1),
	G("limits", "max_memory", CT_SIZE, limits_max_memory, "8GB",
	    1024 * 1024, 64 * TB, 1),
	G("limits", "max_bandwidth", CT_RATE, limits_max_bandwidth, "1GB/s",
	    1024, TB, 1),
	G("limits", "max_file_descriptors", CT_UINT,
	    limits_max_file_descriptors, "8192", 64, 16777216, 1),

	G("auth", "url", CT_URL, auth_url, "", 0, 0, 0),
	G("auth", "token_file", CT_OPTPATH, auth_token_file, "", 0, 0, 0),
	G("auth", "timeout", CT_DURATION, auth_timeout, "2s", 1, 60000, 0),
	G("auth", "on_failure", CT_ONFAILURE, auth_on_failure, "cached",
	    0, 0, 0),

	G("alerts", "high_connection_count", CT_UINT,
	    alerts_high_connection_count, "900", 1, 1000000, 1),
	G("alerts", "high_queue_time", CT_DURATION, alerts_high_queue_time,
	    "2s", 0, MS_HOUR, 1),
	G("alerts", "high_error_rate", CT_FRACTION, alerts_high_error_rate,
	    "0.05", 0, 0, 0),
	G("alerts", "high_resource_usage", CT_FRACTION,
	    alerts_high_resource_usage, "0.9", 0, 0, 1),

	G("recording", "enabled", CT_BOOL, recording_enabled, "true", 0, 0, 0),
	G("recording", "dir", CT_PATH, recording_dir,
	    "/var/lib/dungeongate/ttyrec", 0, 0, 0),

	G("spectate", "enabled", CT_BOOL, spectate_enabled, "true", 0, 0, 0),
	G("spectate", "max_watchers_per_game", CT_UINT,
	    spectate_max_watchers_per_game, "100", 0, 100000, 0),

	Q("groups", CT_GROUPS, groups, "", 0, 0, 1),
	Q("max_connections", CT_UINT, max_connections, "10", 1, 1000000, 1),
	Q("max_ptys", CT_UINT, max_ptys, "5", 0, 1000000, 1),
	Q("max_memory", CT_SIZE, max_memory, "256MB", 1024 * 1024, 64 * TB, 1),
	Q("max_bandwidth", CT_RATE, max_bandwidth, "10MB/s", 1024, TB, 1),
	Q("max_cpu_cores", CT_CORES, max_cpu_cores, "0.5", 0, 0, 1),
	Q("expires_after", CT_DURATION, expires_after, "24h", 1000,
	    365 * 24 * MS_HOUR, 1),
	Q("priority", CT_UINT, priority, "1", 0, 100, 1),

	M("name", CT_STRING, name, NULL, 1),
	M("key", CT_KEY, key, NULL, 1),
	M("command", CT_COMMAND, command, NULL, 1),
	M("rcfile", CT_RCFILE, rcfile, NULL, 1),
	M("env", CT_ENV, env, NULL, 1),
	{ "game", "memory", CT_SIZE, SC_GAME,
	  offsetof(struct config_game, memory), "64MB", 1024 * 1024, 64 * TB, 1 },
};
#define NKEYS nitems(ckeys)

/* The vip tier CONFIG.md shows, present unless the file redefines it. */
static const struct {
	const char	*key;
	const char	*value;
} vip_tier[] = {
	{ "groups", "dgvip" },
	{ "max_connections", "25" },
	{ "max_ptys", "10" },
	{ "max_memory", "512MB" },
	{ "max_bandwidth", "50MB/s" },
	{ "max_cpu_cores", "1.0" },
	{ "expires_after", "168h" },
	{ "priority", "5" },
};

/* The game an empty file offers. */
static const struct {
	const char	*key;
	const char	*value;
} nethack_game[] = {
	{ "name", "NetHack 3.6" },
	{ "key", "p" },
	{ "command", "/usr/games/nethack -u %u" },
	{ "rcfile", ".nethackrc" },
	{ "env", "NETHACKOPTIONS=@%h/.nethackrc" },
};

struct cparse {
	const char	*path;
	FILE		*f;
	int		 lineno;
	int		 section_line;	/* where the last [section] began */
	struct config	*cfg;
	char		*errors;
	u_int		 nerrors;
	char		 section[128];
	int		 bad_section;
	enum cscope	 scope;
	void		*base;		/* struct the current section fills */
	u_char		*seen;		/* keys set in the current section */
	u_char		 seen_global[NKEYS];
	u_char		 seen_quota[CONFIG_MAX_QUOTAS][NKEYS];
	u_char		 seen_game[CONFIG_MAX_GAMES][NKEYS];
	int		 file_games;	/* the file defines its own games */
};

/* Append one error line to the parse state. */
static void printflike(3, 4)
cparse_error(struct cparse *cp, const char *key, const char *fmt, ...)
{
	char	*what, *line, *all;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&what, fmt, ap);
	va_end(ap);
	if (key != NULL)
		xasprintf(&line, "%s:%d:%s.%s: %s", cp->path, cp->lineno,
		    cp->section, key, what);
	else
		xasprintf(&line, "%s:%d: %s", cp->path, cp->lineno, what);
	if (cp->errors == NULL)
		all = line;
	else {
		xasprintf(&all, "%s\n%s", cp->errors, line);
		free(cp->errors);
		free(line);
	}
	free(what);
	cp->errors = all;
	cp->nerrors++;
}

/* Parse a decimal number with a unit from a table; 0 or -1. */
static int
parse_unit(const char *s, const char *const *units, const uint64_t *mult,
    u_int nunits, uint64_t *out)
{
	const char	*p = s;
	uint64_t	 n = 0;
	u_int		 i;

	if (!isdigit((u_char)*p))
		return -1;
	while (isdigit((u_char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
		p++;
	}
	for (i = 0; i < nunits; i++) {
		if (strcmp(p, units[i]) == 0) {
			if (n != 0 && mult[i] > UINT64_MAX / n)
				return -1;
			*out = n * mult[i];
			return 0;
		}
	}
	return -1;
}

/* Parse a duration such as 500ms, 5s, 30m or 24h into milliseconds. */
int
config_parse_duration(const char *s, uint64_t *ms)
{
	static const char *const units[] = { "ms", "s", "m", "h" };
	static const uint64_t mult[] = { 1, 1000, 60000, 3600000 };

	return parse_unit(s, units, mult, nitems(units), ms);
}

/* Parse a size such as 512B, 64KB, 256MB or 8GB into bytes. */
int
config_parse_size(const char *s, uint64_t *bytes)
{
	static const char *const units[] = { "B", "KB", "MB", "GB", "TB" };
	static const uint64_t mult[] = { 1, 1024, 1024 * 1024,
	    1024 * 1024 * 1024, TB };

	return parse_unit(s, units, mult, nitems(units), bytes);
}

/* Parse a rate such as 10MB/s into bytes per second. */
int
config_parse_rate(const char *s, uint64_t *bps)
{
	size_t	 len = strlen(s);
	char	*size;
	int	 rc;

	if (len < 3 || strcmp(s + len - 2, "/s") != 0)
		return -1;
	size = xstrndup(s, len - 2);
	rc = config_parse_size(size, bps);
	free(size);
	return rc;
}

/* Print a duration in the largest unit that divides it. */
char *
config_format_duration(uint64_t ms)
{
	char	*s;

	if (ms != 0 && ms % 3600000 == 0)
		xasprintf(&s, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms != 0 && ms % 60000 == 0)
		xasprintf(&s, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		xasprintf(&s, "%llus", (unsigned long long)(ms / 1000));
	else
		xasprintf(&s, "%llums", (unsigned long long)ms);
	return s;
}

/* Print a size in the largest unit that divides it. */
char *
config_format_size(uint64_t b)
{
	static const char *const units[] = { "TB", "GB", "MB", "KB" };
	uint64_t	 m = TB;
	u_int		 i;
	char		*s;

	for (i = 0; i < nitems(units); i++, m /= 1024) {
		if (b != 0 && b % m == 0) {
			xasprintf(&s, "%llu%s", (unsigned long long)(b / m),
			    units[i]);
			return s;
		}
	}
	xasprintf(&s, "%lluB", (unsigned long long)b);
	return s;
}

/* Is this a plausible Unix user or group name? */
static int
valid_group_name(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > 32 || s[0] == '-' || isdigit((u_char)s[0]))
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((u_char)*s) && *s != '_' && *s != '-' &&
		    *s != '.')
			return 0;
	}
	return 1;
}

/* Is this a valid identifier for a game or quota section? */
static int
valid_id(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > 32)
		return 0;
	for (; *s != '\0'; s++) {
		if (!islower((u_char)*s) && !isdigit((u_char)*s) &&
		    *s != '_' && *s != '-')
			return 0;
	}
	return 1;
}

/* Is the string printable UTF-8 text of at most max bytes? */
static int
valid_text(const char *s, size_t max)
{
	return strlen(s) <= max && util_valid_text(s);
}

/* Is the template free of unknown %-sequences? */
static int
valid_template(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '%')
			continue;
		s++;
		if (*s != 'u' && *s != 'h' && *s != '%')
			return 0;
	}
	return 1;
}

/* Check host:port for [http] listen. */
static int
valid_listen(const char *s)
{
	const char	*colon;
	char		*end;
	long		 port;

	if (*s == '\0')
		return 1;
	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return 0;
		colon++;
	} else if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || port < 1 ||
	    port > 65535)
		return 0;
	return valid_text(s, 255);
}

/* Free a string field and store a copy of value. */
static void
set_string(void *field, const char *value)
{
	char	**sp = field;

	free(*sp);
	*sp = xstrdup(value);
}

/*
 * Parse one value into its field. Returns 0, or -1 with *why saying what
 * the key accepts.
 */
static int
ckey_parse(const struct ckey *k, const char *value, void *base,
    const char **why)
{
	void		*field = (char *)base + k->off;
	uint64_t	 u;
	double		 d;
	char		*end, *copy, *tok, *save;
	const char	*p;

	switch (k->type) {
	case CT_STRING:
		*why = "printable text of 1 to 40 characters";
		if (*value == '\0' || !valid_text(value, 40))
			return -1;
		set_string(field, value);
		return 0;
	case CT_PATH:
	case CT_OPTPATH:
		*why = k->type == CT_PATH ? "an absolute path" :
		    "an absolute path, or nothing";
		if (*value == '\0' && k->type == CT_OPTPATH) {
			set_string(field, value);
			return 0;
		}
		if (value[0] != '/' || !valid_text(value, PATH_MAX - 1))
			return -1;
		set_string(field, value);
		return 0;
	case CT_SOCKET: {
		struct sockaddr_un sun;

		*why = "an absolute path shorter than 108 characters";
		if (value[0] != '/' || strlen(value) >= sizeof sun.sun_path ||
		    !valid_text(value, sizeof sun.sun_path))
			return -1;
		set_string(field, value);
		return 0;
	}
	case CT_GROUP:
		*why = "a Unix group name";
		if (!valid_group_name(value))
			return -1;
		set_string(field, value);
		return 0;
	case CT_GROUPS: {
		struct config_quota *q = base;
		u_int	 i, n = 0;
		char	*names[CONFIG_MAX_GROUPS];

		*why = "a list of Unix group names separated by commas or spaces";
		copy = xstrdup(value);
		for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			if (!valid_group_name(tok) || n == CONFIG_MAX_GROUPS) {
				for (i = 0; i < n; i++)
					free(names[i]);
				free(copy);
				return -1;
			}
			names[n++] = xstrdup(tok);
		}
		free(copy);
		for (i = 0; i < q->ngroups; i++)
			free(q->groups[i]);
		for (i = 0; i < n; i++)
			q->groups[i] = names[i];
		q->ngroups = n;
		return 0;
	}
	case CT_BOOL:
		*why = "true or false";
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
			*(int *)field = 1;
		else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "no") == 0 || strcmp(value, "off") == 0 ||
		    strcmp(value, "0") == 0)
			*(int *)field = 0;
		else
			return -1;
		return 0;
	case CT_UINT:
		*why = "a whole number";
		if (!isdigit((u_char)value[0]))
			return -1;
		errno = 0;
		u = strtoull(value, &end, 10);
		if (errno != 0 || *end != '\0' || u < k->min || u > k->max)
			return -1;
		*(u_int *)field = (u_int)u;
		return 0;
	case CT_DURATION:
		*why = "a duration: a whole number followed by ms, s, m or h "
		    "(500ms, 5s, 30m, 24h)";
		if (config_parse_duration(value, &u) != 0 || u < k->min ||
		    u > k->max)
			return -1;
		*(uint64_t *)field = u;
		return 0;
	case CT_SIZE:
		*why = "a size: a whole number followed by B, KB, MB, GB or TB "
		    "(256MB)";
		if (config_parse_size(value, &u) != 0 || u < k->min ||
		    u > k->max)
			return -1;
		*(uint64_t *)field = u;
		return 0;
	case CT_RATE:
		*why = "a rate: a size followed by /s (10MB/s)";
		if (config_parse_rate(value, &u) != 0 || u < k->min ||
		    u > k->max)
			return -1;
		*(uint64_t *)field = u;
		return 0;
	case CT_FRACTION:
	case CT_CORES:
		*why = k->type == CT_FRACTION ?
		    "a decimal number from 0 to 1 (0.8)" :
		    "a decimal number of CPU cores from 0.001 to 1024 (0.5)";
		if (!isdigit((u_char)value[0]))
			return -1;
		errno = 0;
		d = strtod(value, &end);
		if (errno != 0 || *end != '\0' || !isfinite(d))
			return -1;
		if (k->type == CT_FRACTION && (d < 0 || d > 1))
			return -1;
		if (k->type == CT_CORES && (d < 0.001 || d > 1024))
			return -1;
		*(double *)field = d;
		return 0;
	case CT_LOGLEVEL:
		*why = "debug, info, warn or error";
		if (log_level_from_string(value) == -1)
			return -1;
		*(int *)field = log_level_from_string(value);
		return 0;
	case CT_ONFAILURE:
		*why = "cached, deny or allow";
		if (strcmp(value, "cached") == 0)
			*(int *)field = AUTH_ON_FAILURE_CACHED;
		else if (strcmp(value, "deny") == 0)
			*(int *)field = AUTH_ON_FAILURE_DENY;
		else if (strcmp(value, "allow") == 0)
			*(int *)field = AUTH_ON_FAILURE_ALLOW;
		else
			return -1;
		return 0;
	case CT_LISTEN:
		*why = "host:port (127.0.0.1:8085), or nothing to disable";
		if (!valid_listen(value))
			return -1;
		set_string(field, value);
		return 0;
	case CT_URL:
		*why = "an http:// or https:// URL, or nothing for local policy";
		if (*value != '\0' && strncmp(value, "http://", 7) != 0 &&
		    strncmp(value, "https://", 8) != 0)
			return -1;
		if (!valid_text(value, 1024) || strchr(value, ' ') != NULL)
			return -1;
		set_string(field, value);
		return 0;
	case CT_KEY:
		*why = "one letter or digit, not one of the menu's own keys "
		    "(" CONFIG_RESERVED_KEYS ")";
		if (strlen(value) != 1 || !isalnum((u_char)value[0]) ||
		    strchr(CONFIG_RESERVED_KEYS, value[0]) != NULL)
			return -1;
		*(char *)field = value[0];
		return 0;
	case CT_COMMAND: {
		char	**argv;
		char	 *cause;

		*why = "an absolute program path and its arguments, "
		    "with %u (user), %h (home) and %% as the only substitutions";
		if (value[0] != '/' || !valid_text(value, 1024) ||
		    !valid_template(value))
			return -1;
		if (config_expand_command(value, "user", "/home/user", &argv,
		    &cause) != 0) {
			free(cause);
			return -1;
		}
		config_free_argv(argv);
		set_string(field, value);
		((struct config_game *)base)->set_command = 1;
		return 0;
	}
	case CT_ENV: {
		struct config_game *g = base;

		*why = "NAME=VALUE with a name of letters, digits and _, "
		    "%u and %h allowed in the value, at most 32 lines";
		if (!isalpha((u_char)value[0]) && value[0] != '_')
			return -1;
		for (p = value; *p != '=' && *p != '\0'; p++) {
			if (!isalnum((u_char)*p) && *p != '_')
				return -1;
		}
		if (*p != '=' || !valid_text(value, 1024) ||
		    !valid_template(value) || g->nenv == CONFIG_MAX_ENV)
			return -1;
		g->env[g->nenv++] = xstrdup(value);
		return 0;
	}
	case CT_RCFILE:
		*why = "a file name relative to the player's home "
		    "(.nethackrc), without ..";
		if (*value != '\0' && (value[0] == '/' ||
		    strstr(value, "..") != NULL ||
		    strspn(value, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") != strlen(value) ||
		    strlen(value) > 255))
			return -1;
		set_string(field, value);
		return 0;
	}
	fatalx("unknown config type %d", k->type);
}

/* Describe a key's bounds for an error message, or "". */
static char *
ckey_range(const struct ckey *k)
{
	char	*lo, *hi, *s;

	switch (k->type) {
	case CT_UINT:
		xasprintf(&s, ", from %llu to %llu", (unsigned long long)k->min,
		    (unsigned long long)k->max);
		return s;
	case CT_DURATION:
		lo = config_format_duration(k->min);
		hi = config_format_duration(k->max);
		break;
	case CT_SIZE:
	case CT_RATE:
		lo = config_format_size(k->min);
		hi = config_format_size(k->max);
		break;
	default:
		return xstrdup("");
	}
	xasprintf(&s, ", from %s to %s", lo, hi);
	free(lo);
	free(hi);
	return s;
}

/* Find the schema entry for a key in a section kind. */
static const struct ckey *
ckey_find(const char *section, const char *name)
{
	u_int	 i;

	for (i = 0; i < NKEYS; i++) {
		if (strcmp(ckeys[i].section, section) == 0 &&
		    strcmp(ckeys[i].name, name) == 0)
			return &ckeys[i];
	}
	return NULL;
}

/* Set a quota's keys to the built-in default tier's values. */
static void
quota_init(struct config_quota *q, const char *name)
{
	const char	*why;
	u_int		 i;

	memset(q, 0, sizeof *q);
	q->name = xstrdup(name);
	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].scope != SC_QUOTA)
			continue;
		if (ckey_parse(&ckeys[i], ckeys[i].def, q, &why) != 0)
			fatalx("bad built-in default for quota.%s",
			    ckeys[i].name);
	}
}

/* Look up a quota section by name, creating it if asked. */
static struct config_quota *
quota_get(struct config *cfg, const char *name, int create)
{
	u_int	 i;

	for (i = 0; i < cfg->nquotas; i++) {
		if (strcmp(cfg->quotas[i].name, name) == 0)
			return &cfg->quotas[i];
	}
	if (!create || cfg->nquotas == CONFIG_MAX_QUOTAS)
		return NULL;
	quota_init(&cfg->quotas[cfg->nquotas], name);
	return &cfg->quotas[cfg->nquotas++];
}

/* Free what one game holds. */
static void
game_clear(struct config_game *g)
{
	u_int	 i;

	free(g->id);
	free(g->name);
	free(g->command);
	free(g->rcfile);
	for (i = 0; i < g->nenv; i++)
		free(g->env[i]);
	memset(g, 0, sizeof *g);
}

/* Look up a game section by id, creating it if asked. */
static struct config_game *
game_get(struct config *cfg, const char *id, int create)
{
	struct config_game	*g;
	const char		*why;
	u_int			 i;

	for (i = 0; i < cfg->ngames; i++) {
		if (strcmp(cfg->games[i].id, id) == 0)
			return &cfg->games[i];
	}
	if (!create || cfg->ngames == CONFIG_MAX_GAMES)
		return NULL;
	g = &cfg->games[cfg->ngames++];
	memset(g, 0, sizeof *g);
	g->id = xstrdup(id);
	g->name = xstrdup(id);
	g->rcfile = xstrdup("");
	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].scope == SC_GAME && ckeys[i].def != NULL &&
		    ckey_parse(&ckeys[i], ckeys[i].def, g, &why) != 0)
			fatalx("bad built-in default for game.%s",
			    ckeys[i].name);
	}
	return g;
}

/* Start a [section]: find or create what it fills. Returns 0 or -1. */
static int
cparse_section(struct cparse *cp, const char *section)
{
	struct config	*cfg = cp->cfg;
	u_int		 i, idx;
	const char	*id;

	cp->bad_section = 1;
	cp->base = NULL;
	if (strncmp(section, "quota:", 6) == 0) {
		id = section + 6;
		if (!valid_id(id)) {
			cparse_error(cp, NULL, "[%s]: a quota name is 1 to 32 "
			    "lowercase letters, digits, _ or -", section);
			return -1;
		}
		if ((cp->base = quota_get(cfg, id, 1)) == NULL) {
			cparse_error(cp, NULL, "[%s]: more than %d quota "
			    "sections", section, CONFIG_MAX_QUOTAS);
			return -1;
		}
		idx = (u_int)((struct config_quota *)cp->base - cfg->quotas);
		cp->seen = cp->seen_quota[idx];
		cp->scope = SC_QUOTA;
	} else if (strncmp(section, "game:", 5) == 0) {
		id = section + 5;
		if (!valid_id(id)) {
			cparse_error(cp, NULL, "[%s]: a game id is 1 to 32 "
			    "lowercase letters, digits, _ or -", section);
			return -1;
		}
		if (!cp->file_games) {
			/* The file's own games replace the built-in one. */
			for (i = 0; i < cfg->ngames; i++)
				game_clear(&cfg->games[i]);
			cfg->ngames = 0;
			cp->file_games = 1;
		}
		if ((cp->base = game_get(cfg, id, 1)) == NULL) {
			cparse_error(cp, NULL, "[%s]: more than %d games",
			    section, CONFIG_MAX_GAMES);
			return -1;
		}
		if (((struct config_game *)cp->base)->line == 0)
			((struct config_game *)cp->base)->line = cp->lineno;
		idx = (u_int)((struct config_game *)cp->base - cfg->games);
		cp->seen = cp->seen_game[idx];
		cp->scope = SC_GAME;
	} else {
		for (i = 0; i < NKEYS; i++) {
			if (ckeys[i].scope == SC_GLOBAL &&
			    strcmp(ckeys[i].section, section) == 0)
				break;
		}
		if (i == NKEYS) {
			cparse_error(cp, NULL, "[%s]: unknown section", section);
			return -1;
		}
		cp->base = cfg;
		cp->seen = cp->seen_global;
		cp->scope = SC_GLOBAL;
	}
	cp->bad_section = 0;
	return 0;
}

/* inih's callback: one key = value in one section. */
static int
cparse_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct cparse		*cp = arg;
	const struct ckey	*k;
	const char		*kind, *why;
	char			*range;

	if (*section == '\0') {
		cparse_error(cp, name, "key outside any [section]");
		return 1;
	}
	if (strcmp(section, cp->section) != 0)
		fatalx("inih and the reader disagree on the section");
	if (cp->bad_section)
		return 1;

	kind = cp->scope == SC_QUOTA ? "quota" :
	    cp->scope == SC_GAME ? "game" : section;
	if ((k = ckey_find(kind, name)) == NULL) {
		cparse_error(cp, name, "unknown key");
		return 1;
	}
	if (cp->seen[k - ckeys] && k->type != CT_ENV) {
		cparse_error(cp, name, "set twice in this section");
		return 1;
	}
	cp->seen[k - ckeys] = 1;
	if (k->type == CT_KEY)
		((struct config_game *)cp->base)->key_line = cp->lineno;
	if (ckey_parse(k, value, cp->base, &why) != 0) {
		range = ckey_range(k);
		cparse_error(cp, name, "bad value \"%s\": expected %s%s",
		    value, why, range);
		free(range);
	}
	return 1;
}

/*
 * A [section] header, seen by the reader so that sections without keys
 * are checked too (inih only calls back for keys). The name is taken
 * exactly as inih takes it: everything up to the first ].
 */
static void
cparse_reader_section(struct cparse *cp, const char *line)
{
	const char	*start = line + strspn(line, " \t"), *end;

	if (*start != '[' || (end = strchr(start + 1, ']')) == NULL)
		return;
	cp->section_line = cp->lineno;
	snprintf(cp->section, sizeof cp->section, "%.*s",
	    (int)(end - start - 1), start + 1);
	cparse_section(cp, cp->section);
}

/* inih's line reader: fgets that counts lines and notices long ones. */
static char *
cparse_reader(char *str, int num, void *arg)
{
	struct cparse	*cp = arg;
	size_t		 len;
	int		 c;

	if (fgets(str, num, cp->f) == NULL)
		return NULL;
	cp->lineno++;
	len = strlen(str);
	if (len > 0 && str[len - 1] != '\n' && !feof(cp->f)) {
		/* Swallow the rest so the next call starts a new line. */
		while ((c = fgetc(cp->f)) != EOF && c != '\n')
			;
		cparse_error(cp, NULL, "line longer than %d characters",
		    num - 2);
		str[0] = '\0';
		return str;
	}
	cparse_reader_section(cp, str);
	return str;
}

/* Apply a built-in table of key = value to a section's struct. */
static void
apply_builtin(const char *kind, void *base, const char *const *kv,
    u_int n)
{
	const struct ckey	*k;
	const char		*why;
	u_int			 i;

	for (i = 0; i < n; i++) {
		if ((k = ckey_find(kind, kv[2 * i])) == NULL ||
		    ckey_parse(k, kv[2 * i + 1], base, &why) != 0)
			fatalx("bad built-in %s.%s", kind, kv[2 * i]);
	}
}

/* Build the configuration an empty file gives. */
static struct config *
config_defaults(void)
{
	struct config		*cfg;
	struct config_quota	*q;
	struct config_game	*g;
	const char		*why;
	const char		*kv[2 * 8];
	u_int			 i;

	cfg = xcalloc(1, sizeof *cfg);
	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].scope != SC_GLOBAL)
			continue;
		if (ckey_parse(&ckeys[i], ckeys[i].def, cfg, &why) != 0)
			fatalx("bad built-in default for %s.%s",
			    ckeys[i].section, ckeys[i].name);
	}
	quota_get(cfg, "default", 1);
	q = quota_get(cfg, "vip", 1);
	for (i = 0; i < nitems(vip_tier); i++) {
		kv[2 * i] = vip_tier[i].key;
		kv[2 * i + 1] = vip_tier[i].value;
	}
	apply_builtin("quota", q, kv, nitems(vip_tier));
	g = game_get(cfg, "nethack", 1);
	for (i = 0; i < nitems(nethack_game); i++) {
		kv[2 * i] = nethack_game[i].key;
		kv[2 * i + 1] = nethack_game[i].value;
	}
	apply_builtin("game", g, kv, nitems(nethack_game));
	return cfg;
}

/* Checks that span keys: every game runnable, menu keys distinct. */
static void
config_check(struct cparse *cp)
{
	struct config		*cfg = cp->cfg;
	struct config_game	*g, *h;
	u_int			 i, j;
	char			 used[256] = { 0 };

	for (i = 0; i < cfg->ngames; i++) {
		g = &cfg->games[i];
		snprintf(cp->section, sizeof cp->section, "game:%s", g->id);
		cp->lineno = g->line;
		if (!g->set_command)
			cparse_error(cp, "command", "missing: every game "
			    "needs a command");
		if (g->key != '\0') {
			cp->lineno = g->key_line;
			for (j = 0; j < i; j++) {
				h = &cfg->games[j];
				if (h->key == g->key)
					cparse_error(cp, "key", "'%c' is "
					    "already the key of [game:%s]",
					    g->key, h->id);
			}
			used[(u_char)g->key] = 1;
		}
	}
	/* Games without a key take the first free letter of their id. */
	for (i = 0; i < cfg->ngames; i++) {
		const char *p;

		g = &cfg->games[i];
		if (g->key != '\0')
			continue;
		for (p = g->id; *p != '\0'; p++) {
			if (isalnum((u_char)*p) && !used[(u_char)*p] &&
			    strchr(CONFIG_RESERVED_KEYS, *p) == NULL)
				break;
		}
		if (*p == '\0') {
			/* 58 keys in all: more than CONFIG_MAX_GAMES. */
			for (p = "abcdfghijklmnoptuvxyz0123456789"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; *p != '\0'; p++) {
				if (!used[(u_char)*p])
					break;
			}
			if (*p == '\0')
				fatalx("no menu key left for [game:%s]", g->id);
		}
		g->key = *p;
		used[(u_char)*p] = 1;
	}
}

/*
 * Read and check a configuration file. Returns NULL with *cause holding
 * one line per problem; with CONFIG_LENIENT, returns what parsed as well
 * (defaults where values were bad), for tools that only need the socket.
 */
struct config *
config_load(const char *path, int flags, char **cause)
{
	struct cparse	*cp;
	struct config	*cfg;
	struct stat	 sb;
	int		 rc;

	cp = xcalloc(1, sizeof *cp);
	cp->path = path;
	if ((cp->f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: cannot read: %s", path, strerror(errno));
		free(cp);
		return NULL;
	}
	if (fstat(fileno(cp->f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		fclose(cp->f);
		free(cp);
		return NULL;
	}
	cfg = cp->cfg = config_defaults();
	cfg->path = xstrdup(path);
	rc = ini_parse_stream(cparse_reader, cp, cparse_handler, cp);
	if (ferror(cp->f)) {
		cp->lineno++;
		cparse_error(cp, NULL, "read error: %s", strerror(errno));
	}
	fclose(cp->f);
	if (rc > 0) {
		cp->lineno = rc;
		cparse_error(cp, NULL, "syntax error: expected [section], "
		    "key = value, or a comment");
	} else if (rc < 0)
		cparse_error(cp, NULL, "cannot parse");
	if (cp->nerrors == 0)
		config_check(cp);
	if (cp->nerrors != 0) {
		*cause = cp->errors;
		if (flags & CONFIG_LENIENT) {
			free(cp);
			return cfg;
		}
		config_free(cfg);
		free(cp);
		return NULL;
	}
	*cause = NULL;
	free(cp);
	return cfg;
}

/* Free a configuration. */
void
config_free(struct config *cfg)
{
	u_int	 i, j;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		const struct ckey *k = &ckeys[i];

		if (k->scope != SC_GLOBAL)
			continue;
		switch (k->type) {
		case CT_STRING:
		case CT_PATH:
		case CT_OPTPATH:
		case CT_SOCKET:
		case CT_GROUP:
		case CT_LISTEN:
		case CT_URL:
			free(*(char **)((char *)cfg + k->off));
			break;
		default:
			break;
		}
	}
	for (i = 0; i < cfg->nquotas; i++) {
		free(cfg->quotas[i].name);
		for (j = 0; j < cfg->quotas[i].ngroups; j++)
			free(cfg->quotas[i].groups[j]);
	}
	for (i = 0; i < cfg->ngames; i++)
		game_clear(&cfg->games[i]);
	free(cfg->path);
	free(cfg);
}

/* Format one field's value as the file would spell it. */
static char *
ckey_format(const struct ckey *k, const void *base)
{
	const void	*field = (const char *)base + k->off;
	char		*s;

	switch (k->type) {
	case CT_STRING:
	case CT_PATH:
	case CT_OPTPATH:
	case CT_SOCKET:
	case CT_GROUP:
	case CT_LISTEN:
	case CT_URL:
	case CT_COMMAND:
	case CT_RCFILE:
		return xstrdup(*(char *const *)field);
	case CT_BOOL:
		return xstrdup(*(const int *)field ? "true" : "false");
	case CT_UINT:
		xasprintf(&s, "%u", *(const u_int *)field);
		return s;
	case CT_DURATION:
		return config_format_duration(*(const uint64_t *)field);
	case CT_SIZE:
		return config_format_size(*(const uint64_t *)field);
	case CT_RATE:
		s = config_format_size(*(const uint64_t *)field);
		{
			char *r;

			xasprintf(&r, "%s/s", s);
			free(s);
			return r;
		}
	case CT_FRACTION:
	case CT_CORES:
		xasprintf(&s, "%g", *(const double *)field);
		return s;
	case CT_LOGLEVEL:
		return xstrdup(log_level_to_string(*(const int *)field));
	case CT_ONFAILURE:
		switch (*(const int *)field) {
		case AUTH_ON_FAILURE_DENY:
			return xstrdup("deny");
		case AUTH_ON_FAILURE_ALLOW:
			return xstrdup("allow");
		default:
			return xstrdup("cached");
		}
	case CT_KEY:
		xasprintf(&s, "%c", *(const char *)field);
		return s;
	case CT_GROUPS: {
		const struct config_quota *q = base;
		size_t	 len = 1;
		u_int	 i;

		char	*o;

		for (i = 0; i < q->ngroups; i++)
			len += strlen(q->groups[i]) + 2;
		o = s = xcalloc(1, len);
		for (i = 0; i < q->ngroups; i++)
			o += snprintf(o, len - (size_t)(o - s), "%s%s",
			    i == 0 ? "" : ", ", q->groups[i]);
		return s;
	}
	case CT_ENV:
		break;
	}
	fatalx("cannot format config type %d", k->type);
}

/* Print one key = value line, marked when its feature is not built. */
static void
ckey_print(FILE *f, const struct ckey *k, const char *value)
{
	if (k->in_effect)
		fprintf(f, "%s = %s\n", k->name, value);
	else
		fprintf(f, "%s = %s\t; not yet in effect\n", k->name, value);
}

/* Print the effective configuration, one section after another. */
void
config_print(const struct config *cfg, FILE *f)
{
	const char	*last = NULL;
	char		*v;
	u_int		 i, j, n;

	fprintf(f, "; effective configuration from %s\n", cfg->path);
	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].scope != SC_GLOBAL)
			continue;
		if (last == NULL || strcmp(last, ckeys[i].section) != 0) {
			fprintf(f, "\n[%s]\n", ckeys[i].section);
			last = ckeys[i].section;
		}
		v = ckey_format(&ckeys[i], cfg);
		ckey_print(f, &ckeys[i], v);
		free(v);
	}
	for (j = 0; j < cfg->nquotas; j++) {
		fprintf(f, "\n[quota:%s]\n", cfg->quotas[j].name);
		for (i = 0; i < NKEYS; i++) {
			if (ckeys[i].scope != SC_QUOTA)
				continue;
			v = ckey_format(&ckeys[i], &cfg->quotas[j]);
			ckey_print(f, &ckeys[i], v);
			free(v);
		}
	}
	for (j = 0; j < cfg->ngames; j++) {
		const struct config_game *g = &cfg->games[j];

		fprintf(f, "\n[game:%s]\n", g->id);
		for (i = 0; i < NKEYS; i++) {
			if (ckeys[i].scope != SC_GAME)
				continue;
			if (ckeys[i].type == CT_ENV) {
				for (n = 0; n < g->nenv; n++)
					ckey_print(f, &ckeys[i], g->env[n]);
				continue;
			}
			v = ckey_format(&ckeys[i], g);
			ckey_print(f, &ckeys[i], v);
			free(v);
		}
	}
}

/* Find a game by its id. */
const struct config_game *
config_find_game(const struct config *cfg, const char *id)
{
	u_int	 i;

	for (i = 0; i < cfg->ngames; i++) {
		if (strcmp(cfg->games[i].id, id) == 0)
			return &cfg->games[i];
	}
	return NULL;
}

/* Find a tier by its name. */
const struct config_quota *
config_find_quota(const struct config *cfg, const char *name)
{
	u_int	 i;

	for (i = 0; i < cfg->nquotas; i++) {
		if (strcmp(cfg->quotas[i].name, name) == 0)
			return &cfg->quotas[i];
	}
	return NULL;
}

/* The connection limit in force: the smaller of the pool's and the system's. */
u_int
config_max_connections(const struct config *cfg)
{
	if (cfg->limits_max_connections < cfg->pool_max_connections)
		return cfg->limits_max_connections;
	return cfg->pool_max_connections;
}

/* Expand %u, %h and %% in a template. */
char *
config_expand(const char *tmpl, const char *user, const char *home)
{
	size_t		 len = 1, n;
	const char	*p;
	char		*out, *o;

	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			len += strlen(user);
			p++;
		} else if (p[0] == '%' && p[1] == 'h') {
			len += strlen(home);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			len++;
			p++;
		} else
			len++;
	}
	o = out = xmalloc(len);
	for (p = tmpl; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'u') {
			n = strlen(user);
			memcpy(o, user, n);
			o += n;
			p++;
		} else if (p[0] == '%' && p[1] == 'h') {
			n = strlen(home);
			memcpy(o, home, n);
			o += n;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			*o++ = '%';
			p++;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return out;
}

/*
 * Split a command template on spaces and expand each word. No shell is
 * involved: a user name or home directory can never add a word.
 */
int
config_expand_command(const char *tmpl, const char *user, const char *home,
    char ***argvp, char **cause)
{
	char	**argv, *copy, *tok, *save;
	u_int	  argc = 0;

	argv = xcalloc(CONFIG_MAX_ARGS + 1, sizeof *argv);
	copy = xstrdup(tmpl);
	for (tok = strtok_r(copy, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (argc == CONFIG_MAX_ARGS) {
			xasprintf(cause, "more than %d words",
			    CONFIG_MAX_ARGS);
			free(copy);
			config_free_argv(argv);
			return -1;
		}
		argv[argc++] = config_expand(tok, user, home);
	}
	free(copy);
	if (argc == 0 || argv[0][0] != '/') {
		xasprintf(cause, "the program must be an absolute path");
		config_free_argv(argv);
		return -1;
	}
	*argvp = argv;
	return 0;
}

/* Free an argv from config_expand_command. */
void
config_free_argv(char **argv)
{
	u_int	 i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
