/*
 * The configuration file: one INI file, read by the small reader below
 * and checked against the schema. Every key has a default, so an empty
 * file is a working configuration; a bad value, an unknown key or section,
 * or a key set twice is an error that names file:line:section.key, and a
 * line that is not INI one that names file:line.
 *
 * The reader is our own rather than a library's so that a file means the
 * same in every build, every line number is exact, and a section with no
 * keys is seen (and checked) like any other.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dungeongate.h"

enum ctype {
	CT_STRING,	/* printable text */
	CT_SOCKET,	/* absolute path short enough for sun_path */
	CT_GROUP,	/* a Unix group name */
	CT_USER,	/* a Unix user name */
	CT_GROUPS,	/* group names (config_quota only) */
	CT_BOOL,
	CT_UINT,
	CT_DURATION,
	CT_SIZE,
	CT_RATE,
	CT_FRACTION,	/* 0 to 1 */
	CT_CORES,	/* a positive decimal */
	CT_LOGLEVEL,
	CT_LOGFORMAT,
	CT_LISTEN,	/* address:port to listen on, or empty */
	CT_KEY,		/* one menu key */
	CT_COMMAND,	/* argv template */
	CT_ENV,		/* NAME=VALUE, repeats (config_game only) */
	CT_RCFILE,	/* a path relative to the home directory, or empty */
	CT_PATH,	/* an absolute path without . or .. */
	CT_URL,		/* an http:// or https:// URL, or empty */
	CT_SECRET,	/* a file only its owner may read, or empty */
	CT_ONFAILURE,	/* cached, deny or allow */
	CT_TEMPLATE,	/* an absolute path, or empty */
	CT_COMPRESS,	/* none or gzip */
	CT_COUNT
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
};

/* What each type of value knows how to do. */
struct ctype_ops {
	const char	*expected;	/* what the key accepts */
	int		 repeats;	/* may be set more than once */
	/* Store value in the key's field of base: 0, or -1 leaving it. */
	int		(*parse)(const struct ckey *, void *, const char *);
	/* The i-th value as the file spells it, or NULL past the last. */
	char		*(*format)(const struct ckey *, const void *,
			     u_int);
	/* Free what the field holds (NULL: nothing). */
	void		 (*free)(const struct ckey *, void *);
	/* ", from MIN to MAX" for errors (NULL: no bounds). */
	char		*(*range)(const struct ckey *);
	/*
	 * After a good parse, look further (at a file the value names):
	 * 0, or -1 with *why saying what is wrong (NULL: nothing to do).
	 */
	int		 (*check)(const struct ckey *, void *, char **);
};

#define G(sec, key, type, field, def, min, max) \
	{ sec, key, type, SC_GLOBAL, offsetof(struct config, field), def, \
	  min, max }
#define Q(key, type, field, def, min, max) \
	{ "quota", key, type, SC_QUOTA, offsetof(struct config_quota, field), \
	  def, min, max }
#define M(key, type, field, def, min, max) \
	{ "game", key, type, SC_GAME, offsetof(struct config_game, field), \
	  def, min, max }

#define MS_HOUR	 (3600ULL * 1000)
#define MS_WEEK	 (7 * 24 * MS_HOUR)
#define TB	 (1024ULL * 1024 * 1024 * 1024)

/*
 * The schema: every key something reads. A feature that needs a new key
 * adds it here together with the code that reads it.
 */
static const struct ckey ckeys[] = {
	G("broker", "socket", CT_SOCKET, broker_socket,
	    "/run/dungeongate/broker.sock", 0, 0),
	G("broker", "socket_group", CT_GROUP, broker_socket_group,
	    "dgplayers", 0, 0),
	G("broker", "admin_group", CT_GROUP, broker_admin_group,
	    "dgadmin", 0, 0),
	G("broker", "log_level", CT_LOGLEVEL, broker_log_level, "info", 0, 0),
	G("broker", "user", CT_USER, broker_user, "_dungeongate", 0, 0),
	G("broker", "log_format", CT_LOGFORMAT, broker_log_format, "kv", 0, 0),

	G("http", "listen", CT_LISTEN, http_listen, "127.0.0.1:8085", 0, 0),

	G("connection_pool", "max_connections", CT_UINT, pool_max_connections,
	    "1000", 1, 1000000),
	G("connection_pool", "queue_size", CT_UINT, pool_queue_size,
	    "100", 0, 1000000),
	G("connection_pool", "queue_timeout", CT_DURATION, pool_queue_timeout,
	    "5s", 0, MS_HOUR),
	G("connection_pool", "idle_timeout", CT_DURATION, pool_idle_timeout,
	    "30m", 1000, MS_WEEK),
	G("connection_pool", "drain_timeout", CT_DURATION, pool_drain_timeout,
	    "30s", 0, MS_HOUR),
	G("connection_pool", "enable_prioritization", CT_BOOL,
	    pool_enable_prioritization, "true", 0, 0),

	G("worker_pool", "pool_size", CT_UINT, worker_pool_size,
	    "50", 1, 1024),
	G("worker_pool", "queue_size", CT_UINT, worker_queue_size,
	    "1000", 1, 1000000),
	G("worker_pool", "worker_timeout", CT_DURATION, worker_timeout,
	    "30s", 10, MS_HOUR),
	G("worker_pool", "shutdown_timeout", CT_DURATION,
	    worker_shutdown_timeout, "10s", 0, MS_HOUR),

	G("limits", "max_connections", CT_UINT, limits_max_connections,
	    "1000", 1, 1000000),
	G("limits", "max_ptys", CT_UINT, limits_max_ptys, "500", 1, 1000000),
	G("limits", "max_memory", CT_SIZE, limits_max_memory, "8GB",
	    1024 * 1024, 64 * TB),
	G("limits", "max_bandwidth", CT_RATE, limits_max_bandwidth, "1GB/s",
	    1024, TB),
	G("limits", "max_file_descriptors", CT_UINT,
	    limits_max_file_descriptors, "8192", 64, 16777216),

	G("circuit_breaker", "enabled", CT_BOOL, breaker_enabled, "true",
	    0, 0),
	G("circuit_breaker", "failure_threshold", CT_UINT,
	    breaker_failure_threshold, "10", 1, 1000000),
	G("circuit_breaker", "recovery_timeout", CT_DURATION,
	    breaker_recovery_timeout, "60s", 100, MS_WEEK),

	G("load_shedding", "enabled", CT_BOOL, shed_enabled, "true", 0, 0),
	G("load_shedding", "cpu_threshold", CT_FRACTION, shed_cpu_threshold,
	    "0.8", 0, 0),
	G("load_shedding", "memory_threshold", CT_FRACTION,
	    shed_memory_threshold, "0.9", 0, 0),
	G("load_shedding", "stat_file", CT_PATH, shed_stat_file, "/proc/stat",
	    0, 0),
	G("load_shedding", "meminfo_file", CT_PATH, shed_meminfo_file,
	    "/proc/meminfo", 0, 0),

	G("auth", "url", CT_URL, auth_url, "", 0, 0),
	G("auth", "token_file", CT_SECRET, auth_token, "", 0, 0),
	G("auth", "timeout", CT_DURATION, auth_timeout, "2s", 10, 60000),
	G("auth", "on_failure", CT_ONFAILURE, auth_on_failure, "cached",
	    0, 0),

	G("alerts", "high_connection_count", CT_UINT,
	    alerts_high_connection_count, "900", 1, 1000000),
	G("alerts", "high_queue_time", CT_DURATION, alerts_high_queue_time,
	    "2s", 0, MS_HOUR),
	G("alerts", "high_resource_usage", CT_FRACTION,
	    alerts_high_resource_usage, "0.9", 0, 0),
	G("alerts", "high_error_rate", CT_FRACTION, alerts_high_error_rate,
	    "0.05", 0, 0),

	G("recording", "enabled", CT_BOOL, recording_enabled, "true", 0, 0),
	G("recording", "dir", CT_PATH, recording_dir,
	    "/var/lib/dungeongate/ttyrec", 0, 0),
	G("recording", "public", CT_BOOL, recording_public, "false", 0, 0),
	G("recording", "compress", CT_COMPRESS, recording_compress, "none",
	    0, 0),

	G("spectate", "enabled", CT_BOOL, spectate_enabled, "true", 0, 0),
	G("spectate", "max_watchers_per_game", CT_UINT,
	    spectate_max_watchers, "100", 0, 100000),

	Q("groups", CT_GROUPS, groups, "", 0, 0),
	Q("max_connections", CT_UINT, max_connections, "10", 1, 1000000),
	Q("max_ptys", CT_UINT, max_ptys, "5", 0, 1000000),
	Q("max_memory", CT_SIZE, max_memory, "256MB", 1024 * 1024, 64 * TB),
	Q("max_bandwidth", CT_RATE, max_bandwidth, "10MB/s", 1024, TB),
	Q("max_cpu_cores", CT_CORES, max_cpu_cores, "0.5", 0, 0),
	Q("expires_after", CT_DURATION, expires_after, "24h", 1000,
	    365 * 24 * MS_HOUR),
	Q("priority", CT_UINT, priority, "1", 0, 100),

	M("name", CT_STRING, name, NULL, 0, 0),
	M("key", CT_KEY, key, NULL, 0, 0),
	M("command", CT_COMMAND, command, NULL, 0, 0),
	M("rcfile", CT_RCFILE, rcfile, NULL, 0, 0),
	M("rc_template", CT_TEMPLATE, rc_template, NULL, 0, 0),
	M("env", CT_ENV, env, NULL, 0, 0),
	M("memory", CT_SIZE, memory, "64MB", 1024 * 1024, 64 * TB),
};
#define NKEYS nitems(ckeys)

/* The keys dg-session and the admin commands take from the file. */
static const char *const session_keys[] = {
	"socket", "log_level", "log_format"
};

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

/* Longest key name, and how much of the file's text an error quotes. */
#define KEY_MAX		64
#define QUOTE_MAX	64
#define QUOTE_SIZE	(QUOTE_MAX * 4 + 8)

struct cparse {
	const char	*path;
	int		 lineno;
	char		*errors;
	u_int		 nerrors;
	int		 stopped;	/* too many errors: stop reading */
	int		 session;	/* only what the session needs */

	/* Where the reader is: the current section and what it fills. */
	char		 section[128];
	int		 in_section;	/* a [section] has been seen */
	int		 bad_section;	/* its keys are ignored */
	enum cscope	 scope;
	void		*base;
	u_char		*seen;		/* keys set in the current section */

	struct config	*cfg;
	u_char		 seen_global[NKEYS];
	u_char		 seen_quota[CONFIG_MAX_QUOTAS][NKEYS];
	u_char		 seen_game[CONFIG_MAX_GAMES][NKEYS];
	int		 file_games;	/* the file defines its own games */
};

/*
 * The length of the UTF-8 character at p, at most left bytes long, or 0
 * when the bytes there are not one (overlong, surrogate, past U+10FFFF).
 */
static size_t
utf8_char(const u_char *p, size_t left, uint32_t *cpp)
{
	uint32_t	 cp;
	size_t		 n, i;

	if (left == 0)
		return 0;
	if (*p < 0x80) {
		*cpp = *p;
		return 1;
	}
	if ((*p & 0xe0) == 0xc0) {
		n = 2;
		cp = *p & 0x1f;
	} else if ((*p & 0xf0) == 0xe0) {
		n = 3;
		cp = *p & 0x0f;
	} else if ((*p & 0xf8) == 0xf0) {
		n = 4;
		cp = *p & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return n;
}

/* Is the string well-formed UTF-8 (controls allowed)? */
static int
utf8_valid(const char *s)
{
	const u_char	*p = (const u_char *)s;
	size_t		 left = strlen(s), n;
	uint32_t	 cp;

	while (left > 0) {
		if ((n = utf8_char(p, left, &cp)) == 0)
			return 0;
		p += n;
		left -= n;
	}
	return 1;
}

/*
 * Copy text from the file for an error message: at most QUOTE_MAX
 * characters, with quotes, backslashes, control characters and bytes that
 * are not UTF-8 escaped, so that an error is safe on any terminal or log.
 */
static const char *
cparse_quote(const char *s, char *buf)
{
	const u_char	*p = (const u_char *)s;
	size_t		 left = strlen(s), n, o = 0;
	uint32_t	 cp;
	u_int		 chars = 0;

	while (left > 0) {
		if (chars++ == QUOTE_MAX) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		n = utf8_char(p, left, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f)) {
			snprintf(buf + o, 5, "\\x%02x", *p);
			o += 4;
			n = 1;
		} else if (cp == '"' || cp == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)cp;
		} else {
			memcpy(buf + o, p, n);
			o += n;
		}
		p += n;
		left -= n;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * Append one error line to the parse state: "file:line:section.key: ..."
 * with a key, "file:line: ..." without. Past CONFIG_MAX_ERRORS the reader
 * stops with a last line saying so.
 */
static void printflike(3, 4)
cparse_error(struct cparse *cp, const char *key, const char *fmt, ...)
{
	char	*what, *line, *all;
	va_list	 ap;

	if (cp->stopped)
		return;
	if (cp->session && strcmp(cp->section, "broker") != 0)
		return;		/* nothing the session reads */
	if (cp->nerrors == CONFIG_MAX_ERRORS) {
		xasprintf(&what, "too many errors (more than %d); the rest of "
		    "the file is not checked", CONFIG_MAX_ERRORS);
		key = NULL;
		cp->stopped = 1;
	} else {
		va_start(ap, fmt);
		xvasprintf(&what, fmt, ap);
		va_end(ap);
	}
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

/* Is this a key name: letters, digits and _, at most KEY_MAX of them? */
static int
valid_key_name(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > KEY_MAX)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((u_char)*s) && *s != '_')
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

/* The field a key fills in base. */
static void *
ckey_field(const struct ckey *k, void *base)
{
	return (char *)base + k->off;
}

/* The field a key fills in base, read-only. */
static const void *
ckey_cfield(const struct ckey *k, const void *base)
{
	return (const char *)base + k->off;
}

/* ---- per-type operations ------------------------------------------------ */

/* Replace a string field with a copy of value. */
static void
set_string(const struct ckey *k, void *base, const char *value)
{
	char	**sp = ckey_field(k, base);

	free(*sp);
	*sp = xstrdup(value);
}

/* Parse printable text of 1 to 40 characters (a game's name). */
static int
parse_string(const struct ckey *k, void *base, const char *value)
{
	if (*value == '\0' || !valid_text(value, 40))
		return -1;
	set_string(k, base, value);
	return 0;
}

/* Parse an absolute path that fits in a unix socket address. */
static int
parse_socket(const struct ckey *k, void *base, const char *value)
{
	struct sockaddr_un	 sun;

	if (value[0] != '/' || strlen(value) >= sizeof sun.sun_path ||
	    !valid_text(value, sizeof sun.sun_path))
		return -1;
	set_string(k, base, value);
	return 0;
}

/* Parse a Unix group (or user) name. */
static int
parse_group(const struct ckey *k, void *base, const char *value)
{
	if (!valid_group_name(value))
		return -1;
	set_string(k, base, value);
	return 0;
}

/* Parse a list of group names separated by commas or blanks. */
static int
parse_groups(const struct ckey *k, void *base, const char *value)
{
	struct config_quota	*q = base;
	char			*names[CONFIG_MAX_GROUPS];
	char			*copy, *tok, *save;
	u_int			 i, n = 0;

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

/* Parse true or false (or yes, no, on, off, 1, 0). */
static int
parse_bool(const struct ckey *k, void *base, const char *value)
{
	int	*field = ckey_field(k, base);

	if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
	    strcmp(value, "on") == 0 || strcmp(value, "1") == 0)
		*field = 1;
	else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
	    strcmp(value, "off") == 0 || strcmp(value, "0") == 0)
		*field = 0;
	else
		return -1;
	return 0;
}

/* Parse a whole number within the key's bounds. */
static int
parse_uint(const struct ckey *k, void *base, const char *value)
{
	uint64_t	 u;
	char		*end;

	if (!isdigit((u_char)value[0]))
		return -1;
	errno = 0;
	u = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || u < k->min || u > k->max)
		return -1;
	*(u_int *)ckey_field(k, base) = (u_int)u;
	return 0;
}

/* Store a 64-bit quantity parsed by fn, within the key's bounds. */
static int
parse_quantity(const struct ckey *k, void *base, const char *value,
    int (*fn)(const char *, uint64_t *))
{
	uint64_t	 u;

	if (fn(value, &u) != 0 || u < k->min || u > k->max)
		return -1;
	*(uint64_t *)ckey_field(k, base) = u;
	return 0;
}

/* Parse a duration into milliseconds. */
static int
parse_duration(const struct ckey *k, void *base, const char *value)
{
	return parse_quantity(k, base, value, config_parse_duration);
}

/* Parse a size into bytes. */
static int
parse_size(const struct ckey *k, void *base, const char *value)
{
	return parse_quantity(k, base, value, config_parse_size);
}

/* Parse a rate into bytes per second. */
static int
parse_rate(const struct ckey *k, void *base, const char *value)
{
	return parse_quantity(k, base, value, config_parse_rate);
}

/* Store a plain decimal number from lo to hi. */
static int
parse_decimal(const struct ckey *k, void *base, const char *value,
    double lo, double hi)
{
	double	 d;
	char	*end;

	if (!isdigit((u_char)value[0]))
		return -1;
	errno = 0;
	d = strtod(value, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < lo || d > hi)
		return -1;
	*(double *)ckey_field(k, base) = d;
	return 0;
}

/* Parse a share from 0 to 1. */
static int
parse_fraction(const struct ckey *k, void *base, const char *value)
{
	return parse_decimal(k, base, value, 0, 1);
}

/* Parse a number of CPU cores. */
static int
parse_cores(const struct ckey *k, void *base, const char *value)
{
	return parse_decimal(k, base, value, 0.001, 1024);
}

/* Parse an http:// or https:// URL, or nothing. */
static int
parse_url(const struct ckey *k, void *base, const char *value)
{
	const char	*host;

	if (*value != '\0') {
		if (strncmp(value, "http://", 7) == 0)
			host = value + 7;
		else if (strncmp(value, "https://", 8) == 0)
			host = value + 8;
		else
			return -1;
		if (*host == '\0' || *host == '/' ||
		    !valid_text(value, CONFIG_MAX_PATH) ||
		    strpbrk(value, " \t\"<>\\^`{|}") != NULL)
			return -1;
	}
	set_string(k, base, value);
	return 0;
}

/*
 * Whether a secret that cannot be read is an error: for the broker, which
 * sends it, yes; for the admin commands run by anyone, no.
 */
static int	config_secrets_needed;

/* The broker needs its secrets: one it cannot read is an error. */
void
config_need_secrets(int needed)
{
	config_secrets_needed = needed;
}

/* Parse the path of a secret's file, or nothing; it is read by check. */
static int
parse_secret(const struct ckey *k, void *base, const char *value)
{
	struct config_secret	*sec = ckey_field(k, base);

	if (*value != '\0' && (value[0] != '/' ||
	    !valid_text(value, CONFIG_MAX_PATH)))
		return -1;
	free(sec->path);
	free(sec->value);
	sec->path = xstrdup(value);
	sec->value = NULL;
	return 0;
}

/*
 * Read a secret's file, as sshd reads a key: it must be a regular file
 * that neither its group nor others may read or write, and hold one
 * token of printable characters (a trailing newline is dropped). One
 * who may not read it (a player running --check) learns only its mode.
 */
static int
check_secret(const struct ckey *k, void *base, char **why)
{
	struct config_secret	*sec = ckey_field(k, base);
	struct stat		 sb;
	char			 buf[CONFIG_MAX_SECRET + 2];
	ssize_t			 n;
	size_t			 len;
	int			 fd;

	if (*sec->path == '\0')
		return 0;
	if (stat(sec->path, &sb) != 0) {
		xasprintf(why, "%s: %s", sec->path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		xasprintf(why, "%s is not a regular file", sec->path);
		return -1;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		xasprintf(why, "%s may be read or written by its group or "
		    "others (mode %04o); make it 0600 or 0400", sec->path,
		    (u_int)(sb.st_mode & 07777));
		return -1;
	}
	if ((fd = open(sec->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		if (errno == EACCES && !config_secrets_needed)
			return 0;	/* not ours to read (--check) */
		if (errno == EACCES)
			xasprintf(why, "%s: %s (the broker's user must own it)",
			    sec->path, strerror(errno));
		else
			xasprintf(why, "%s: %s", sec->path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		xasprintf(why, "%s: %s", sec->path, strerror(errno));
		return -1;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if ((size_t)n > CONFIG_MAX_SECRET || len == 0 ||
	    strspn(buf, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~+/=:") != len) {
		xasprintf(why, "%s must hold one token of at most %d letters, "
		    "digits and -._~+/=:", sec->path, CONFIG_MAX_SECRET);
		return -1;
	}
	free(sec->value);
	sec->value = xstrdup(buf);
	return 0;
}

/* Parse what to do when the auth service fails. */
static int
parse_onfailure(const struct ckey *k, void *base, const char *value)
{
	int	*field = ckey_field(k, base);

	if (strcmp(value, "cached") == 0)
		*field = AUTH_ON_FAILURE_CACHED;
	else if (strcmp(value, "deny") == 0)
		*field = AUTH_ON_FAILURE_DENY;
	else if (strcmp(value, "allow") == 0)
		*field = AUTH_ON_FAILURE_ALLOW;
	else
		return -1;
	return 0;
}

/* Parse a log level name. */
static int
parse_loglevel(const struct ckey *k, void *base, const char *value)
{
	int	 level;

	if ((level = log_level_from_string(value)) == -1)
		return -1;
	*(int *)ckey_field(k, base) = level;
	return 0;
}

/* Parse a log format name. */
static int
parse_logformat(const struct ckey *k, void *base, const char *value)
{
	int	 format;

	if ((format = log_format_from_string(value)) == -1)
		return -1;
	*(int *)ckey_field(k, base) = format;
	return 0;
}

/*
 * Split ADDRESS:PORT (an IPv4 address, or an IPv6 one in brackets) into
 * the address, as text, and the port. Only numeric addresses: reading
 * the file never waits for a name server. Returns 0 or -1.
 */
int
config_parse_listen(const char *s, char *addr, size_t len, u_int *port)
{
	struct in6_addr	 in6;
	struct in_addr	 in4;
	const char	*colon, *p;
	char		 host[INET6_ADDRSTRLEN + 1];
	size_t		 n;
	u_long		 v = 0;

	if (*s == '[') {
		if ((p = strchr(s, ']')) == NULL || p[1] != ':')
			return -1;
		n = (size_t)(p - s - 1);
		if (n == 0 || n >= sizeof host)
			return -1;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &in6) != 1)
			return -1;
		colon = p + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
		if (n == 0 || n >= sizeof host)
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
		if (inet_pton(AF_INET, host, &in4) != 1)
			return -1;
	}
	for (p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((u_char)*p) || v > 65535)
			return -1;
		v = v * 10 + (u_long)(*p - '0');
	}
	if (p == colon + 1 || v == 0 || v > 65535)
		return -1;
	if (strlen(host) >= len)
		return -1;
	memcpy(addr, host, strlen(host) + 1);
	*port = (u_int)v;
	return 0;
}

/* Parse an address and port to listen on, or nothing (disabled). */
static int
parse_listen(const struct ckey *k, void *base, const char *value)
{
	char	 addr[INET6_ADDRSTRLEN + 1];
	u_int	 port;

	if (*value != '\0' &&
	    config_parse_listen(value, addr, sizeof addr, &port) != 0)
		return -1;
	set_string(k, base, value);
	return 0;
}

/* Parse a menu key: one letter or digit the menu does not keep. */
static int
parse_key(const struct ckey *k, void *base, const char *value)
{
	if (strlen(value) != 1 || !isalnum((u_char)value[0]) ||
	    strchr(CONFIG_RESERVED_KEYS, value[0]) != NULL)
		return -1;
	*(char *)ckey_field(k, base) = value[0];
	return 0;
}

/* Parse a command template that expands to an absolute program. */
static int
parse_command(const struct ckey *k, void *base, const char *value)
{
	char	**argv, *cause;

	if (value[0] != '/' || !valid_text(value, 1024) ||
	    !valid_template(value))
		return -1;
	if (config_expand_command(value, "user", "/home/user", &argv,
	    &cause) != 0) {
		free(cause);
		return -1;
	}
	config_free_argv(argv);
	set_string(k, base, value);
	return 0;
}

/* Parse one NAME=VALUE line of a game's environment. */
static int
parse_env(const struct ckey *k, void *base, const char *value)
{
	struct config_game	*g = base;
	const char		*p;

	if (!isalpha((u_char)value[0]) && value[0] != '_')
		return -1;
	for (p = value; *p != '=' && *p != '\0'; p++) {
		if (!isalnum((u_char)*p) && *p != '_')
			return -1;
	}
	if (*p != '=' || !valid_text(value, 1024) || !valid_template(value) ||
	    g->nenv == CONFIG_MAX_ENV)
		return -1;
	g->env[g->nenv++] = xstrdup(value);
	return 0;
}

/* Parse a file name relative to the player's home, or nothing. */
static int
parse_rcfile(const struct ckey *k, void *base, const char *value)
{
	static const char	 allowed[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/";

	if (*value != '\0' && (value[0] == '/' ||
	    strstr(value, "..") != NULL ||
	    strspn(value, allowed) != strlen(value) || strlen(value) > 255))
		return -1;
	set_string(k, base, value);
	return 0;
}

/* Parse the absolute path of a file to copy, or nothing. */
static int
parse_template(const struct ckey *k, void *base, const char *value)
{
	if (*value != '\0' && (value[0] != '/' || !valid_text(value, 1024)))
		return -1;
	set_string(k, base, value);
	return 0;
}

/* Parse an absolute path of printable text with no . or .. part. */
static int
parse_path(const struct ckey *k, void *base, const char *value)
{
	const char	*p;
	size_t		 n;

	if (value[0] != '/' || !valid_text(value, CONFIG_MAX_PATH))
		return -1;
	for (p = value; *p != '\0'; p += n) {
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' &&
		    p[1] == '.'))
			return -1;
	}
	set_string(k, base, value);
	return 0;
}

static const char *const compress_names[] = { "none", "gzip" };

/* Parse how finished recordings are compressed. */
static int
parse_compress(const struct ckey *k, void *base, const char *value)
{
	u_int	 i;

	for (i = 0; i < nitems(compress_names); i++) {
		if (strcmp(value, compress_names[i]) == 0) {
			*(int *)ckey_field(k, base) = (int)i;
			return 0;
		}
	}
	return -1;
}

/* Format a compression setting by its name. */
static char *
format_compress(const struct ckey *k, const void *base, u_int i)
{
	int	 v = *(const int *)ckey_cfield(k, base);

	if (i != 0)
		return NULL;
	return xstrdup(compress_names[v]);
}

/* Format a string field; a field never set prints as nothing. */
static char *
format_string(const struct ckey *k, const void *base, u_int i)
{
	const char	*s = *(char *const *)ckey_cfield(k, base);

	if (i != 0)
		return NULL;
	return xstrdup(s != NULL ? s : "");
}

/* Format a quota's groups, comma separated. */
static char *
format_groups(const struct ckey *k, const void *base, u_int i)
{
	const struct config_quota	*q = base;
	size_t				 len = 1;
	u_int				 n;
	char				*s, *o;

	if (i != 0)
		return NULL;
	for (n = 0; n < q->ngroups; n++)
		len += strlen(q->groups[n]) + 2;
	o = s = xcalloc(1, len);
	for (n = 0; n < q->ngroups; n++)
		o += snprintf(o, len - (size_t)(o - s), "%s%s",
		    n == 0 ? "" : ", ", q->groups[n]);
	return s;
}

/* Format a boolean as true or false. */
static char *
format_bool(const struct ckey *k, const void *base, u_int i)
{
	if (i != 0)
		return NULL;
	return xstrdup(*(const int *)ckey_cfield(k, base) ? "true" : "false");
}

/* Format a whole number. */
static char *
format_uint(const struct ckey *k, const void *base, u_int i)
{
	char	*s;

	if (i != 0)
		return NULL;
	xasprintf(&s, "%u", *(const u_int *)ckey_cfield(k, base));
	return s;
}

/* Format a duration in its largest exact unit. */
static char *
format_duration(const struct ckey *k, const void *base, u_int i)
{
	if (i != 0)
		return NULL;
	return config_format_duration(*(const uint64_t *)ckey_cfield(k, base));
}

/* Format a size in its largest exact unit. */
static char *
format_size(const struct ckey *k, const void *base, u_int i)
{
	if (i != 0)
		return NULL;
	return config_format_size(*(const uint64_t *)ckey_cfield(k, base));
}

/* Format a rate as a size and /s. */
static char *
format_rate(const struct ckey *k, const void *base, u_int i)
{
	char	*size, *s;

	if (i != 0)
		return NULL;
	size = config_format_size(*(const uint64_t *)ckey_cfield(k, base));
	xasprintf(&s, "%s/s", size);
	free(size);
	return s;
}

/* Format a decimal with the fewest digits that read back the same. */
static char *
format_decimal(const struct ckey *k, const void *base, u_int i)
{
	double	 d = *(const double *)ckey_cfield(k, base);
	char	*s;
	int	 prec;

	if (i != 0)
		return NULL;
	for (prec = 1; prec < 17; prec++) {
		xasprintf(&s, "%.*g", prec, d);
		if (strtod(s, NULL) == d)
			return s;
		free(s);
	}
	xasprintf(&s, "%.17g", d);
	return s;
}

/* Format a log level by name. */
static char *
format_loglevel(const struct ckey *k, const void *base, u_int i)
{
	if (i != 0)
		return NULL;
	return xstrdup(log_level_to_string(*(const int *)ckey_cfield(k,
	    base)));
}

/* Format a secret: its path only. */
static char *
format_secret(const struct ckey *k, const void *base, u_int i)
{
	const struct config_secret *sec = ckey_cfield(k, base);

	if (i != 0)
		return NULL;
	return xstrdup(sec->path != NULL ? sec->path : "");
}

/* Format what to do when the auth service fails. */
static char *
format_onfailure(const struct ckey *k, const void *base, u_int i)
{
	static const char *const names[] = { "cached", "deny", "allow" };
	int	 v = *(const int *)ckey_cfield(k, base);

	if (i != 0)
		return NULL;
	return xstrdup(v >= 0 && (u_int)v < nitems(names) ? names[v] :
	    "cached");
}

/* Format a log format by name. */
static char *
format_logformat(const struct ckey *k, const void *base, u_int i)
{
	if (i != 0)
		return NULL;
	return xstrdup(log_format_to_string(*(const int *)ckey_cfield(k,
	    base)));
}

/* Format a menu key. */
static char *
format_key(const struct ckey *k, const void *base, u_int i)
{
	char	*s;

	if (i != 0)
		return NULL;
	xasprintf(&s, "%c", *(const char *)ckey_cfield(k, base));
	return s;
}

/* Format a game's i-th env line. */
static char *
format_env(const struct ckey *k, const void *base, u_int i)
{
	const struct config_game	*g = base;

	if (i >= g->nenv)
		return NULL;
	return xstrdup(g->env[i]);
}

/* Free a string field. */
static void
free_string(const struct ckey *k, void *base)
{
	char	**sp = ckey_field(k, base);

	free(*sp);
	*sp = NULL;
}

/* Free a secret: its path and what it held. */
static void
free_secret(const struct ckey *k, void *base)
{
	struct config_secret	*sec = ckey_field(k, base);

	free(sec->path);
	if (sec->value != NULL)
		explicit_bzero(sec->value, strlen(sec->value));
	free(sec->value);
	sec->path = sec->value = NULL;
}

/* Free a quota's groups. */
static void
free_groups(const struct ckey *k, void *base)
{
	struct config_quota	*q = base;
	u_int			 i;

	for (i = 0; i < q->ngroups; i++)
		free(q->groups[i]);
	q->ngroups = 0;
}

/* Free a game's env lines. */
static void
free_env(const struct ckey *k, void *base)
{
	struct config_game	*g = base;
	u_int			 i;

	for (i = 0; i < g->nenv; i++)
		free(g->env[i]);
	g->nenv = 0;
}

/* Bounds of a whole-number key. */
static char *
range_uint(const struct ckey *k)
{
	char	*s;

	xasprintf(&s, ", from %llu to %llu", (unsigned long long)k->min,
	    (unsigned long long)k->max);
	return s;
}

/* Bounds of a quantity, each printed by fmt and followed by suffix. */
static char *
range_quantity(const struct ckey *k, char *(*fmt)(uint64_t),
    const char *suffix)
{
	char	*lo, *hi, *s;

	lo = fmt(k->min);
	hi = fmt(k->max);
	xasprintf(&s, ", from %s%s to %s%s", lo, suffix, hi, suffix);
	free(lo);
	free(hi);
	return s;
}

/* Bounds of a duration key. */
static char *
range_duration(const struct ckey *k)
{
	return range_quantity(k, config_format_duration, "");
}

/* Bounds of a size key. */
static char *
range_size(const struct ckey *k)
{
	return range_quantity(k, config_format_size, "");
}

/* Bounds of a rate key. */
static char *
range_rate(const struct ckey *k)
{
	return range_quantity(k, config_format_size, "/s");
}

static const struct ctype_ops ctypes[] = {
	[CT_STRING] = { "printable text of 1 to 40 characters", 0,
	    parse_string, format_string, free_string, NULL, NULL },
	[CT_SOCKET] = { "an absolute path shorter than 108 characters", 0,
	    parse_socket, format_string, free_string, NULL, NULL },
	[CT_GROUP] = { "a Unix group name", 0,
	    parse_group, format_string, free_string, NULL, NULL },
	[CT_USER] = { "a Unix user name", 0,
	    parse_group, format_string, free_string, NULL, NULL },
	[CT_GROUPS] = { "a list of Unix group names separated by commas or "
	    "spaces", 0, parse_groups, format_groups, free_groups, NULL, NULL },
	[CT_BOOL] = { "true or false", 0,
	    parse_bool, format_bool, NULL, NULL, NULL },
	[CT_UINT] = { "a whole number", 0,
	    parse_uint, format_uint, NULL, range_uint, NULL },
	[CT_DURATION] = { "a duration: a whole number followed by ms, s, m "
	    "or h (500ms, 5s, 30m, 24h)", 0,
	    parse_duration, format_duration, NULL, range_duration, NULL },
	[CT_SIZE] = { "a size: a whole number followed by B, KB, MB, GB or "
	    "TB (256MB)", 0, parse_size, format_size, NULL, range_size, NULL },
	[CT_RATE] = { "a rate: a size followed by /s (10MB/s)", 0,
	    parse_rate, format_rate, NULL, range_rate, NULL },
	[CT_FRACTION] = { "a decimal number from 0 to 1 (0.8)", 0,
	    parse_fraction, format_decimal, NULL, NULL, NULL },
	[CT_CORES] = { "a decimal number of CPU cores from 0.001 to 1024 "
	    "(0.5)", 0, parse_cores, format_decimal, NULL, NULL, NULL },
	[CT_LOGLEVEL] = { "debug, info, warn or error", 0,
	    parse_loglevel, format_loglevel, NULL, NULL, NULL },
	[CT_LOGFORMAT] = { "kv or json", 0,
	    parse_logformat, format_logformat, NULL, NULL, NULL },
	[CT_LISTEN] = { "an IPv4 address and port (127.0.0.1:8085), an IPv6 "
	    "address in brackets and port ([::1]:8085), or nothing to turn it "
	    "off", 0, parse_listen, format_string, free_string, NULL, NULL },
	[CT_KEY] = { "one letter or digit, not one of the menu's own keys "
	    "(" CONFIG_RESERVED_KEYS ")", 0,
	    parse_key, format_key, NULL, NULL, NULL },
	[CT_COMMAND] = { "an absolute program path and its arguments, with "
	    "%u (user), %h (home) and %% as the only substitutions", 0,
	    parse_command, format_string, free_string, NULL, NULL },
	[CT_ENV] = { "NAME=VALUE with a name of letters, digits and _, %u "
	    "and %h allowed in the value, at most 32 lines", 1,
	    parse_env, format_env, free_env, NULL, NULL },
	[CT_RCFILE] = { "a file name relative to the player's home "
	    "(.nethackrc), without ..", 0,
	    parse_rcfile, format_string, free_string, NULL, NULL },
	[CT_TEMPLATE] = { "an absolute path of at most 1024 characters, or "
	    "nothing", 0,
	    parse_template, format_string, free_string, NULL, NULL },
	[CT_PATH] = { "an absolute path without . or .. in it", 0,
	    parse_path, format_string, free_string, NULL, NULL },
	[CT_URL] = { "an http:// or https:// URL, or nothing for local "
	    "policy", 0, parse_url, format_string, free_string, NULL, NULL },
	[CT_SECRET] = { "the absolute path of a file that only its owner may "
	    "read, or nothing", 0, parse_secret, format_secret, free_secret,
	    NULL, check_secret },
	[CT_ONFAILURE] = { "cached, deny or allow", 0,
	    parse_onfailure, format_onfailure, NULL, NULL, NULL },
	[CT_COMPRESS] = { "none or gzip", 0,
	    parse_compress, format_compress, NULL, NULL, NULL },
};
_Static_assert(nitems(ctypes) == CT_COUNT, "one entry per value type");

/* The operations of a key's type. */
static const struct ctype_ops *
ckey_ops(const struct ckey *k)
{
	return &ctypes[k->type];
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

/* Set every key of a scope that has a default to it. */
static void
ckeys_set_defaults(enum cscope scope, void *base)
{
	const struct ckey	*k;
	u_int			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &ckeys[i];
		if (k->scope != scope || k->def == NULL)
			continue;
		if (ckey_ops(k)->parse(k, base, k->def) != 0)
			fatalx("bad built-in default for %s.%s", k->section,
			    k->name);
	}
}

/* Free what every key of a scope holds in base. */
static void
ckeys_free(enum cscope scope, void *base)
{
	const struct ckey	*k;
	u_int			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &ckeys[i];
		if (k->scope == scope && ckey_ops(k)->free != NULL)
			ckey_ops(k)->free(k, base);
	}
}

/* ---- sections ----------------------------------------------------------- */

/* Look up a quota section by name, creating it if asked. */
static struct config_quota *
quota_get(struct config *cfg, const char *name, int create)
{
	struct config_quota	*q;
	u_int			 i;

	for (i = 0; i < cfg->nquotas; i++) {
		if (strcmp(cfg->quotas[i].name, name) == 0)
			return &cfg->quotas[i];
	}
	if (!create || cfg->nquotas == CONFIG_MAX_QUOTAS)
		return NULL;
	q = &cfg->quotas[cfg->nquotas++];
	memset(q, 0, sizeof *q);
	q->name = xstrdup(name);
	/* A tier of the file's own starts as the built-in default tier. */
	ckeys_set_defaults(SC_QUOTA, q);
	return q;
}

/* Free what one quota holds. */
static void
quota_clear(struct config_quota *q)
{
	ckeys_free(SC_QUOTA, q);
	free(q->name);
	memset(q, 0, sizeof *q);
}

/* Free what one game holds. */
static void
game_clear(struct config_game *g)
{
	ckeys_free(SC_GAME, g);
	free(g->id);
	memset(g, 0, sizeof *g);
}

/* Look up a game section by id, creating it if asked. */
static struct config_game *
game_get(struct config *cfg, const char *id, int create)
{
	struct config_game	*g;
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
	g->rc_template = xstrdup("");
	ckeys_set_defaults(SC_GAME, g);
	return g;
}

/*
 * Start a [section] of the schema: find or create what it fills. Returns
 * 0, or -1 (with an error) when the section is not one.
 */
static int
cparse_section(struct cparse *cp, const char *section)
{
	struct config	*cfg = cp->cfg;
	u_int		 i, idx;
	const char	*id;
	char		 q[QUOTE_SIZE];

	if (strncmp(section, "quota:", 6) == 0) {
		id = section + 6;
		if (!valid_id(id)) {
			cparse_error(cp, NULL, "[%s]: a quota name is 1 to 32 "
			    "lowercase letters, digits, _ or -",
			    cparse_quote(section, q));
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
		return 0;
	}
	if (strncmp(section, "game:", 5) == 0) {
		id = section + 5;
		if (!valid_id(id)) {
			cparse_error(cp, NULL, "[%s]: a game id is 1 to 32 "
			    "lowercase letters, digits, _ or -",
			    cparse_quote(section, q));
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
		return 0;
	}
	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].scope == SC_GLOBAL &&
		    strcmp(ckeys[i].section, section) == 0)
			break;
	}
	if (i == NKEYS) {
		cparse_error(cp, NULL, "[%s]: unknown section",
		    cparse_quote(section, q));
		return -1;
	}
	cp->base = cfg;
	cp->seen = cp->seen_global;
	cp->scope = SC_GLOBAL;
	return 0;
}

/* One key = value of the schema, in the current section. */
static void
cparse_key(struct cparse *cp, const char *name, const char *value)
{
	const struct ckey	*k;
	const struct ctype_ops	*ops;
	const char		*kind;
	char			*range, *why, q[QUOTE_SIZE];

	kind = cp->scope == SC_QUOTA ? "quota" :
	    cp->scope == SC_GAME ? "game" : cp->section;
	if ((k = ckey_find(kind, name)) == NULL) {
		cparse_error(cp, name, "unknown key");
		return;
	}
	ops = ckey_ops(k);
	if (cp->seen[k - ckeys] && !ops->repeats) {
		cparse_error(cp, name, "set twice in this section");
		return;
	}
	cp->seen[k - ckeys] = 1;
	if (k->type == CT_KEY)
		((struct config_game *)cp->base)->key_line = cp->lineno;
	if (k->type == CT_TEMPLATE)
		((struct config_game *)cp->base)->rc_template_line = cp->lineno;
	if (ops->parse(k, cp->base, value) != 0) {
		range = ops->range != NULL ? ops->range(k) : xstrdup("");
		cparse_error(cp, name, "bad value \"%s\": expected %s%s",
		    cparse_quote(value, q), ops->expected, range);
		free(range);
		return;
	}
	if (ops->check != NULL && ops->check(k, cp->base, &why) != 0) {
		cparse_error(cp, name, "%s", why);
		free(why);
	}
}

/*
 * One key = value for the session: only the keys it needs, in [broker];
 * a bad one is a warning and leaves the default.
 */
static void
cparse_session_key(struct cparse *cp, const char *name, const char *value)
{
	const struct ckey	*k;
	const struct ctype_ops	*ops;
	char			 q[QUOTE_SIZE];
	u_int			 i;

	if (strcmp(cp->section, "broker") != 0)
		return;
	for (i = 0; i < nitems(session_keys); i++) {
		if (strcmp(session_keys[i], name) == 0)
			break;
	}
	if (i == nitems(session_keys) ||
	    (k = ckey_find("broker", name)) == NULL)
		return;
	ops = ckey_ops(k);
	if (cp->seen_global[k - ckeys]) {
		cparse_error(cp, name, "set twice; the first value is used");
		return;
	}
	cp->seen_global[k - ckeys] = 1;
	if (ops->parse(k, cp->cfg, value) != 0) {
		cparse_error(cp, name, "bad value \"%s\": expected %s; using "
		    "the default", cparse_quote(value, q), ops->expected);
	}
}

/* ---- the reader --------------------------------------------------------- */

/* Check the text of a comment: it must be UTF-8 like the rest. */
static void
cparse_comment(struct cparse *cp, const char *comment)
{
	if (!utf8_valid(comment))
		cparse_error(cp, NULL, "invalid UTF-8 in a comment");
}

/* A [section] header line, blanks already trimmed. */
static void
cparse_header(struct cparse *cp, char *line)
{
	char	*close, *rest, *name, q[QUOTE_SIZE];

	/* Until a good header, keys belong to no section we know. */
	cp->in_section = 1;
	cp->bad_section = 1;
	cp->section[0] = '\0';

	if ((close = strchr(line, ']')) == NULL) {
		cparse_error(cp, NULL, "a section header needs a closing ]");
		return;
	}
	rest = close + 1 + strspn(close + 1, " \t");
	if (*rest == ';' || *rest == '#')
		cparse_comment(cp, rest);
	else if (*rest != '\0') {
		cparse_error(cp, NULL, "unexpected \"%s\" after the section "
		    "header", cparse_quote(rest, q));
		return;
	}
	*close = '\0';
	name = line + 1;
	/* No section of the schema has a name too long to keep here. */
	if (strlen(name) < sizeof cp->section)
		memcpy(cp->section, name, strlen(name) + 1);
	if (cp->session || cparse_section(cp, name) == 0)
		cp->bad_section = 0;
}

/* One line of the file, without its end, free of NUL bytes. */
static void
cparse_line(struct cparse *cp, char *line)
{
	char	*s, *e, *p, *eq, *key, *value, q[QUOTE_SIZE];

	s = line + strspn(line, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (*s == '\0')
		return;
	if (*s == ';' || *s == '#') {
		cparse_comment(cp, s);
		return;
	}
	if (*s == '[') {
		cparse_header(cp, s);
		return;
	}

	/* An inline comment starts at ; or # after a blank. */
	for (p = s + 1; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') &&
		    (p[-1] == ' ' || p[-1] == '\t')) {
			cparse_comment(cp, p);
			*p = '\0';
			break;
		}
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';

	if ((eq = strchr(s, '=')) == NULL) {
		cparse_error(cp, NULL, "expected [section], key = value, or a "
		    "comment; got \"%s\"", cparse_quote(s, q));
		return;
	}
	key = s;
	*eq = '\0';
	e = eq;
	while (e > key && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	value = eq + 1 + strspn(eq + 1, " \t");
	/*
	 * Right after the = a comment starts too, with a blank or without
	 * (as after a header's ]): "key =;x" sets nothing, as "key = ;x"
	 * does, so every value prints as a line that reads back the same.
	 */
	if (*value == ';' || *value == '#') {
		cparse_comment(cp, value);
		*value = '\0';
	}
	if (!valid_key_name(key)) {
		cparse_error(cp, NULL, "bad key name \"%s\": a key is 1 to %d "
		    "letters, digits or _", cparse_quote(key, q), KEY_MAX);
		return;
	}
	if (!cp->in_section) {
		cparse_error(cp, NULL, "%s: key outside any [section]", key);
		return;
	}
	if (cp->bad_section)
		return;
	if (cp->session)
		cparse_session_key(cp, key, value);
	else
		cparse_key(cp, key, value);
}

/*
 * Read a whole file's text line by line: a UTF-8 BOM at the start is
 * skipped, lines end at \n with a \r before it dropped; a line too long
 * or holding a NUL byte is an error and the reader goes on.
 */
static void
cparse_text(struct cparse *cp, const char *text, size_t len)
{
	const char	*p = text, *end = text + len, *nl, *next;
	char		*line;
	size_t		 n;

	line = xmalloc(CONFIG_MAX_LINE + 1);
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (p < end && !cp->stopped) {
		cp->lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			n = (size_t)(nl - p);
			next = nl + 1;
		} else {
			n = (size_t)(end - p);
			next = end;
		}
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > CONFIG_MAX_LINE)
			cparse_error(cp, NULL, "line longer than %d bytes",
			    CONFIG_MAX_LINE);
		else if (memchr(p, '\0', n) != NULL)
			cparse_error(cp, NULL, "NUL byte in the line");
		else {
			memcpy(line, p, n);
			line[n] = '\0';
			cparse_line(cp, line);
		}
		p = next;
	}
	free(line);
}

/*
 * Read a regular file of at most CONFIG_MAX_SIZE bytes. The open never
 * blocks (a FIFO is refused before anything is read). Returns 0, or -1
 * with *cause saying why.
 */
static int
config_read_file(const char *path, char **text, size_t *len, char **cause)
{
	struct stat	 sb;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		xasprintf(cause, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (sb.st_size > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: larger than %d bytes", path,
		    CONFIG_MAX_SIZE);
		close(fd);
		return -1;
	}
	/* One byte more than allowed, to see a file that grew meanwhile. */
	buf = xmalloc(CONFIG_MAX_SIZE + 1);
	while (got < CONFIG_MAX_SIZE + 1) {
		n = read(fd, buf + got, CONFIG_MAX_SIZE + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "%s: read error: %s", path,
			    strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: larger than %d bytes", path,
		    CONFIG_MAX_SIZE);
		free(buf);
		return -1;
	}
	*text = buf;
	*len = got;
	return 0;
}

/* Apply a built-in table of key = value to a section's struct. */
static void
apply_builtin(const char *kind, void *base, const char *const *kv,
    u_int n)
{
	const struct ckey	*k;
	u_int			 i;

	for (i = 0; i < n; i++) {
		if ((k = ckey_find(kind, kv[2 * i])) == NULL ||
		    ckey_ops(k)->parse(k, base, kv[2 * i + 1]) != 0)
			fatalx("bad built-in %s.%s", kind, kv[2 * i]);
	}
}

/* Build the configuration an empty file gives. */
static struct config *
config_defaults(const char *path)
{
	struct config		*cfg;
	struct config_quota	*q;
	struct config_game	*g;
	const char		*kv[2 * 8];
	u_int			 i;

	cfg = xcalloc(1, sizeof *cfg);
	cfg->path = xstrdup(path);
	ckeys_set_defaults(SC_GLOBAL, cfg);
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
	static const char	 spare[] = "abcdfghijklmnoptuvxyz0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	struct config		*cfg = cp->cfg;
	struct config_game	*g, *h;
	const char		*p;
	u_int			 i, j;
	char			 used[256] = { 0 };

	for (i = 0; i < cfg->ngames; i++) {
		g = &cfg->games[i];
		snprintf(cp->section, sizeof cp->section, "game:%s", g->id);
		cp->lineno = g->line;
		if (g->command == NULL)
			cparse_error(cp, "command", "missing: every game "
			    "needs a command");
		if (*g->rc_template != '\0' && *g->rcfile == '\0') {
			cp->lineno = g->rc_template_line;
			cparse_error(cp, "rc_template", "the game has no "
			    "rcfile to start from it");
		}
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
		g = &cfg->games[i];
		if (g->key != '\0')
			continue;
		for (p = g->id; *p != '\0'; p++) {
			if (isalnum((u_char)*p) && !used[(u_char)*p] &&
			    strchr(CONFIG_RESERVED_KEYS, *p) == NULL)
				break;
		}
		if (*p == '\0') {
			for (p = spare; *p != '\0'; p++) {
				if (!used[(u_char)*p])
					break;
			}
		}
		if (*p == '\0') {
			snprintf(cp->section, sizeof cp->section, "game:%s",
			    g->id);
			cp->lineno = g->line;
			cparse_error(cp, "key", "no menu key left: give this "
			    "game a key");
			continue;
		}
		g->key = *p;
		used[(u_char)*p] = 1;
	}
}

/* Start a parse of path into cfg. */
static struct cparse *
cparse_new(const char *path, struct config *cfg, int session)
{
	struct cparse	*cp;

	cp = xcalloc(1, sizeof *cp);
	cp->path = path;
	cp->cfg = cfg;
	cp->session = session;
	return cp;
}

/*
 * Read and check a configuration file. Returns the configuration, or
 * NULL with *cause holding one line per problem.
 */
struct config *
config_load(const char *path, char **cause)
{
	struct config	*cfg;
	char		*text;
	size_t		 len;

	*cause = NULL;
	if (config_read_file(path, &text, &len, cause) != 0)
		return NULL;
	cfg = config_load_text(path, text, len, cause);
	free(text);
	return cfg;
}

/*
 * Check len bytes of text as the configuration file path (named in the
 * errors, never read). Returns the configuration, or NULL with *cause
 * holding one line per problem.
 */
struct config *
config_load_text(const char *path, const char *text, size_t len,
    char **cause)
{
	struct cparse	*cp;
	struct config	*cfg;

	*cause = NULL;
	if (len > CONFIG_MAX_SIZE) {
		xasprintf(cause, "%s: larger than %d bytes", path,
		    CONFIG_MAX_SIZE);
		return NULL;
	}
	cfg = config_defaults(path);
	cp = cparse_new(path, cfg, 0);
	cparse_text(cp, text, len);
	if (cp->nerrors == 0)
		config_check(cp);
	if (cp->nerrors != 0) {
		*cause = cp->errors;
		config_free(cfg);
		cfg = NULL;
	}
	free(cp);
	return cfg;
}

/*
 * Read what dg-session and the admin commands need (the socket and the
 * log level) leniently: anything else in the file is not looked at, and a
 * bad value or an unreadable file leaves the default. Never fails; any
 * problem with those keys is returned in *warnings (else NULL).
 */
struct config *
config_load_session(const char *path, char **warnings)
{
	struct config	*cfg;
	char		*text;
	size_t		 len;

	*warnings = NULL;
	if (config_read_file(path, &text, &len, warnings) != 0)
		return config_defaults(path);
	cfg = config_load_session_text(path, text, len, warnings);
	free(text);
	return cfg;
}

/*
 * Read len bytes of text as config_load_session reads the file path.
 * Never fails; problems with the keys it reads are in *warnings.
 */
struct config *
config_load_session_text(const char *path, const char *text, size_t len,
    char **warnings)
{
	struct cparse	*cp;
	struct config	*cfg;

	*warnings = NULL;
	cfg = config_defaults(path);
	if (len > CONFIG_MAX_SIZE) {
		xasprintf(warnings, "%s: larger than %d bytes", path,
		    CONFIG_MAX_SIZE);
		return cfg;
	}
	cp = cparse_new(path, cfg, 1);
	cparse_text(cp, text, len);
	*warnings = cp->errors;
	free(cp);
	return cfg;
}

/* Free a configuration. */
void
config_free(struct config *cfg)
{
	u_int	 i;

	if (cfg == NULL)
		return;
	ckeys_free(SC_GLOBAL, cfg);
	for (i = 0; i < cfg->nquotas; i++)
		quota_clear(&cfg->quotas[i]);
	for (i = 0; i < cfg->ngames; i++)
		game_clear(&cfg->games[i]);
	free(cfg->path);
	free(cfg);
}

/* Print every value of one key as key = value lines. */
static void
ckey_print(FILE *f, const struct ckey *k, const void *base)
{
	char	*v;
	u_int	 i;

	for (i = 0; (v = ckey_ops(k)->format(k, base, i)) != NULL; i++) {
		fprintf(f, "%s = %s\n", k->name, v);
		free(v);
	}
}

/* Print the effective configuration, one section after another. */
void
config_print(const struct config *cfg, FILE *f)
{
	const char	*last = NULL;
	u_int		 i, j;

	fprintf(f, "; effective configuration from %s\n", cfg->path);
	for (i = 0; i < NKEYS; i++) {
		if (ckeys[i].scope != SC_GLOBAL)
			continue;
		if (last == NULL || strcmp(last, ckeys[i].section) != 0) {
			fprintf(f, "\n[%s]\n", ckeys[i].section);
			last = ckeys[i].section;
		}
		ckey_print(f, &ckeys[i], cfg);
	}
	for (j = 0; j < cfg->nquotas; j++) {
		fprintf(f, "\n[quota:%s]\n", cfg->quotas[j].name);
		for (i = 0; i < NKEYS; i++) {
			if (ckeys[i].scope == SC_QUOTA)
				ckey_print(f, &ckeys[i], &cfg->quotas[j]);
		}
	}
	for (j = 0; j < cfg->ngames; j++) {
		fprintf(f, "\n[game:%s]\n", cfg->games[j].id);
		for (i = 0; i < NKEYS; i++) {
			if (ckeys[i].scope == SC_GAME)
				ckey_print(f, &ckeys[i], &cfg->games[j]);
		}
	}
}

/*
 * Print the schema, one key a line: "SECTION KEY = DEFAULT", or "SECTION
 * KEY" for a key with no default of its own, then the built-in vip
 * tier's values as "quota:vip KEY = VALUE". The manual page
 * dungeongate.ini(5) is checked against this, so the two cannot drift.
 */
void
config_print_schema(FILE *f)
{
	const struct ckey	*k;
	const char		*section;
	u_int			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &ckeys[i];
		if (k->scope == SC_QUOTA)
			section = "quota:NAME";
		else if (k->scope == SC_GAME)
			section = "game:ID";
		else
			section = k->section;
		if (k->def == NULL)
			fprintf(f, "%s %s\n", section, k->name);
		else
			fprintf(f, "%s %s =%s%s\n", section, k->name,
			    *k->def == '\0' ? "" : " ", k->def);
	}
	for (i = 0; i < nitems(vip_tier); i++)
		fprintf(f, "quota:vip %s = %s\n", vip_tier[i].key,
		    vip_tier[i].value);
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
