/*
 * Structured logging: one line per event, key=value or JSON.
 *
 *   ts=2026-11-26T07:05:00.123Z level=info msg=admitted user=alice ticket=t-...
 *   {"ts":"2026-11-26T07:05:00.123Z","level":"info","msg":"admitted",...}
 *
 * Callers write key=value fields; the JSON form is made from that line,
 * so both forms say the same and values keep their escaping (a JSON
 * value holds the text its quoted key=value form holds, less the quotes:
 * \xNN and \u{...} stay as they are, so no viewer can turn them back
 * into control characters).
 *
 * Lines a peer causes go through log_peer, which holds each peer (uid,
 * root excepted) to LOG_PEER_LINES lines per LOG_PEER_WINDOW_MS and then
 * says how many more there were. Only the event loop's thread calls it.
 *
 * The daemon logs to stderr in the foreground and to syslog otherwise;
 * dg-session logs to syslog only, since its stderr is the player's screen.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"

/* Lines one peer may cause per window before the rest are counted. */
#define LOG_PEER_LINES		30
#define LOG_PEER_WINDOW_MS	10000
/* The longest line, in either form. */
#define LOG_LINE_MAX		2048
#define LOG_JSON_MAX		(2 * LOG_LINE_MAX + 256)

static int	 log_level = LOG_LEVEL_INFO;
static int	 log_stderr = 1;
static int	 log_syslog;
static int	 log_format = LOG_FORMAT_KV;

static const char *log_names[] = { "debug", "info", "warn", "error" };
static const char *log_formats[] = { "kv", "json" };

/* One peer's lines in its current window. */
struct log_peer {
	int64_t		 start;		/* monotonic ms */
	u_int		 lines;
	u_int		 suppressed;
	char		 like[64];	/* the last suppressed line's msg */
};
static struct idmap	 log_peers;
static uint64_t		 log_suppressed;

/* Start logging as name, to stderr, syslog or both. */
void
log_open(const char *name, int level, int flags)
{
	log_level = level;
	log_stderr = (flags & LOG_TO_STDERR) != 0;
	log_syslog = (flags & LOG_TO_SYSLOG) != 0;
	if (log_syslog)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

/* Change the threshold below which lines are dropped. */
void
log_set_level(int level)
{
	log_level = level;
}

/* Map a level name from the configuration to its number, or -1. */
int
log_level_from_string(const char *s)
{
	u_int	 i;

	for (i = 0; i < nitems(log_names); i++) {
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* Write lines as key=value (LOG_FORMAT_KV) or JSON (LOG_FORMAT_JSON). */
void
log_set_format(int format)
{
	log_format = format;
}

/* Map a format name from the configuration to its number, or -1. */
int
log_format_from_string(const char *s)
{
	u_int	 i;

	for (i = 0; i < nitems(log_formats); i++) {
		if (strcmp(s, log_formats[i]) == 0)
			return (int)i;
	}
	return -1;
}

/* Name of a format, for printing the effective configuration. */
const char *
log_format_to_string(int format)
{
	if (format < 0 || (u_int)format >= nitems(log_formats))
		return "kv";
	return log_formats[format];
}

/* Name of a level, for printing the effective configuration. */
const char *
log_level_to_string(int level)
{
	if (level < 0 || (u_int)level >= nitems(log_names))
		return "info";
	return log_names[level];
}

/*
 * Does a value need quotes to stand as one field? Anything but printable
 * ASCII without spaces, = " and \ does: text that has to be escaped, and
 * non-ASCII spaces that would look like the end of the value.
 */
static int
log_needs_quotes(const char *s)
{
	const u_char	*p;

	if (*s == '\0')
		return 1;
	for (p = (const u_char *)s; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '=' ||
		    *p == '\\')
			return 1;
	}
	return 0;
}

/*
 * Quote and escape s into buf when it needs it; returns s itself when it
 * does not. Too long a value is cut, never between the bytes of one
 * character or one escape.
 */
static const char *
log_quote_into(char *buf, size_t len, const char *s)
{
	size_t	 n;

	if (!log_needs_quotes(s) && strlen(s) < len)
		return s;
	buf[0] = '"';
	util_escape_buf(buf + 1, len - 2, s, UTIL_ESCAPE_QUOTE);
	n = strlen(buf);
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

/*
 * Quote a value for a key=value field when it needs it, escaping what a
 * terminal or a log viewer would act on (see util_escape_buf). Returns
 * one of a few rotating buffers so several can appear in one call; each
 * thread has its own, since a worker thread may log while the event loop
 * does.
 */
const char *
log_quote(const char *s)
{
	static __thread char	 bufs[LOG_QUOTE_BUFFERS][LOG_QUOTE_SIZE];
	static __thread u_int	 next;

	return log_quote_into(bufs[next++ % LOG_QUOTE_BUFFERS],
	    LOG_QUOTE_SIZE, s);
}

/* Append text to a bounded buffer; 0, or -1 (and nothing) if full. */
static int
log_append(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len + n >= size)
		return -1;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
	return 0;
}

/* Append s[0..n) as the inside of a JSON string; 0 or -1. */
static int
log_append_json(char *buf, size_t size, size_t *len, const char *s,
    size_t n)
{
	char	 esc[8];
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = s[i];
			if (log_append(buf, size, len, esc, 2) != 0)
				return -1;
		} else if ((u_char)s[i] < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", (u_char)s[i]);
			if (log_append(buf, size, len, esc, 6) != 0)
				return -1;
		} else if (log_append(buf, size, len, s + i, 1) != 0)
			return -1;
	}
	return 0;
}

/* Is a bare value a whole number JSON can carry as one? */
static int
log_is_number(const char *s, size_t n)
{
	size_t	 i = 0;

	if (n > 0 && s[0] == '-')
		i = 1;
	if (i == n || n - i > 15 || (s[i] == '0' && n - i > 1))
		return 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

/*
 * Turn a key=value line into a JSON object, ts first when given. A
 * quoted value loses its quotes and the backslashes before quotes; every
 * other escape stays as text. Whole numbers stay numbers. A line too
 * long for out ends with "truncated": true.
 */
size_t
log_kv_to_json(const char *kv, const char *ts, char *out, size_t size)
{
	const char	*p = kv, *key, *val, *end;
	char		 value[LOG_LINE_MAX];
	size_t		 len = 0, klen, vlen, n, mark;
	int		 first = 1, quoted, full = 0;

	if (size < 32)
		fatalx("log_kv_to_json: buffer too small");
	size -= 24;	/* room for the truncation mark and the brace */
	out[0] = '\0';
	log_append(out, size, &len, "{", 1);
	if (ts != NULL) {
		if (log_append(out, size, &len, "\"ts\":\"", 6) != 0 ||
		    log_append_json(out, size, &len, ts, strlen(ts)) != 0 ||
		    log_append(out, size, &len, "\"", 1) != 0) {
			len = 1;
			out[len] = '\0';
			full = 1;
		}
		first = 0;
	}
	while (*p != '\0' && !full) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		key = p;
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		klen = (size_t)(p - key);
		if (*p != '=' || klen == 0) {
			/* Not key=value: keep the rest as text. */
			val = key;
			key = "text";
			klen = 4;
			vlen = strlen(val);
			if (vlen > sizeof value - 1)
				vlen = sizeof value - 1;
			memcpy(value, val, vlen);
			p = val + strlen(val);
			quoted = 1;
		} else {
			val = ++p;
			quoted = *p == '"';
			vlen = 0;
			if (quoted) {
				for (p++; *p != '\0' && *p != '"'; p++) {
					if (*p == '\\' && p[1] == '"')
						p++;
					else if (*p == '\\' && p[1] == '\\') {
						if (vlen < sizeof value - 2)
							value[vlen++] = *p;
						p++;
					}
					if (vlen < sizeof value - 1)
						value[vlen++] = *p;
				}
				if (*p == '"')
					p++;
			} else {
				end = strchr(val, ' ');
				if (end == NULL)
					end = val + strlen(val);
				n = (size_t)(end - val);
				if (n > sizeof value - 1)
					n = sizeof value - 1;
				memcpy(value, val, n);
				vlen = n;
				p = end;
			}
		}
		value[vlen] = '\0';
		mark = len;
		if ((!first && log_append(out, size, &len, ",", 1) != 0) ||
		    log_append(out, size, &len, "\"", 1) != 0 ||
		    log_append_json(out, size, &len, key, klen) != 0 ||
		    log_append(out, size, &len, "\":", 2) != 0)
			full = 1;
		else if (!quoted && log_is_number(value, vlen)) {
			if (log_append(out, size, &len, value, vlen) != 0)
				full = 1;
		} else if (log_append(out, size, &len, "\"", 1) != 0 ||
		    log_append_json(out, size, &len, value, vlen) != 0 ||
		    log_append(out, size, &len, "\"", 1) != 0)
			full = 1;
		if (full) {
			len = mark;
			out[len] = '\0';
		}
		first = 0;
	}
	size += 24;
	if (full && len > 1)
		log_append(out, size, &len, ",\"truncated\":true", 17);
	else if (full)
		log_append(out, size, &len, "\"truncated\":true", 16);
	log_append(out, size, &len, "}", 1);
	return len;
}

/* Write one line at a level; fields is the key=value tail or NULL. */
static void printflike(3, 0)
log_vwrite(int level, const char *msg, const char *fmt, va_list ap)
{
	char		 line[LOG_LINE_MAX], fields[LOG_LINE_MAX];
	char		 quoted[LOG_QUOTE_SIZE], json[LOG_JSON_MAX];
	char		 ts[64], stamp[80];
	struct timespec	 now;
	struct tm	 tm;
	int		 n, m;
	static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

	if (level < log_level)
		return;

	/* The message's quoting takes none of log_quote's buffers. */
	n = snprintf(line, sizeof line, "level=%s msg=%s",
	    log_names[level], log_quote_into(quoted, sizeof quoted, msg));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
	if (fmt != NULL && (size_t)n < sizeof line - 2) {
		/*
		 * Values should have been through log_quote; one that was
		 * not still cannot put a control character in the log.
		 */
		if (vsnprintf(fields, sizeof fields, fmt, ap) < 0)
			fields[0] = '\0';
		line[n++] = ' ';
		util_escape_buf(line + n, sizeof line - n, fields,
		    UTIL_ESCAPE_KEEP_BACKSLASH);
	}

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp, sizeof stamp, "%s.%03ldZ", ts, now.tv_nsec / 1000000);
	if (log_syslog) {
		/* Syslog stamps its lines itself. */
		if (log_format == LOG_FORMAT_JSON) {
			log_kv_to_json(line, NULL, json, sizeof json);
			syslog(prio[level], "%s", json);
		} else
			syslog(prio[level], "%s", line);
	}
	if (log_stderr) {
		char	 out[sizeof json + 8];

		if (log_format == LOG_FORMAT_JSON) {
			log_kv_to_json(line, stamp, json, sizeof json);
			m = snprintf(out, sizeof out, "%s\n", json);
		} else
			m = snprintf(out, sizeof out, "ts=%s %s\n", stamp,
			    line);
		if (m > 0)
			(void)write(STDERR_FILENO, out,
			    (size_t)m < sizeof out ? (size_t)m : sizeof out - 1);
	}
}

/* Say how many lines of a peer's window were suppressed. */
static void
log_peer_summary(uint64_t peer, struct log_peer *lp, int64_t now)
{
	char	 summary[128];
	int64_t	 secs = (now - lp->start + 999) / 1000;

	if (lp->suppressed == 0)
		return;
	if (secs > LOG_PEER_WINDOW_MS / 1000)
		secs = LOG_PEER_WINDOW_MS / 1000;
	snprintf(summary, sizeof summary, "%u more like this in %lld s",
	    lp->suppressed, (long long)secs);
	log_warn("repeated lines suppressed", "user_id=%llu like=%s "
	    "suppressed=%u seconds=%lld summary=%s", (unsigned long long)peer,
	    log_quote(lp->like), lp->suppressed, (long long)secs,
	    log_quote(summary));
}

/*
 * Log a line a peer (a uid) caused: the first LOG_PEER_LINES of a window
 * go out, the rest are counted and summed up when the window ends.
 */
void
log_peer(int level, uint64_t peer, const char *msg, const char *fmt, ...)
{
	struct log_peer	*lp;
	int64_t		 now;
	va_list		 ap;

	if (level < log_level)
		return;
	/* Root runs the broker and speaks for it: not a peer to hold back. */
	if (peer == 0) {
		va_start(ap, fmt);
		log_vwrite(level, msg, fmt, ap);
		va_end(ap);
		return;
	}
	now = util_now_ms();
	if (log_peers.buckets == NULL)
		idmap_init(&log_peers);
	if ((lp = idmap_get(&log_peers, peer)) == NULL) {
		lp = xcalloc(1, sizeof *lp);
		lp->start = now;
		idmap_put(&log_peers, peer, lp);
	} else if (now - lp->start >= LOG_PEER_WINDOW_MS) {
		log_peer_summary(peer, lp, now);
		memset(lp, 0, sizeof *lp);
		lp->start = now;
	}
	if (lp->lines < LOG_PEER_LINES) {
		lp->lines++;
		va_start(ap, fmt);
		log_vwrite(level, msg, fmt, ap);
		va_end(ap);
		return;
	}
	lp->suppressed++;
	log_suppressed++;
	snprintf(lp->like, sizeof lp->like, "%s", msg);
}

/*
 * Close the windows that have ended: their summaries go out and quiet
 * peers are forgotten. Called once a second.
 */
void
log_peer_flush(void)
{
	struct idmap_cursor	 cur;
	struct log_peer		*lp;
	uint64_t		*done, key;
	int64_t			 now = util_now_ms();
	u_int			 n = 0, i;
	void			*v;

	if (log_peers.buckets == NULL || idmap_size(&log_peers) == 0)
		return;
	done = xcalloc(idmap_size(&log_peers), sizeof *done);
	memset(&cur, 0, sizeof cur);
	while (idmap_next(&log_peers, &cur, &key, &v)) {
		lp = v;
		if (now - lp->start >= LOG_PEER_WINDOW_MS)
			done[n++] = key;
	}
	for (i = 0; i < n; i++) {
		lp = idmap_remove(&log_peers, done[i]);
		log_peer_summary(done[i], lp, now);
		free(lp);
	}
	free(done);
}

/* Lines suppressed by the per-peer limit so far. */
uint64_t
log_peer_suppressed(void)
{
	return log_suppressed;
}

/* Forget every peer's window (at exit). */
void
log_peer_clear(void)
{
	if (log_peers.buckets != NULL)
		idmap_clear(&log_peers, free);
}

/* Log a debugging line. */
void
log_debug(const char *msg, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, msg, fmt, ap);
	va_end(ap);
}

/* Log an informational line. */
void
log_info(const char *msg, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, msg, fmt, ap);
	va_end(ap);
}

/* Log a warning. */
void
log_warn(const char *msg, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, msg, fmt, ap);
	va_end(ap);
}

/* Log an error that the program survives. */
void
log_error(const char *msg, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, msg, fmt, ap);
	va_end(ap);
}

/* Log a failed system call with errno and exit. */
void
fatal(const char *fmt, ...)
{
	char	 what[512];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	log_error("fatal", "what=%s error=%s", log_quote(what),
	    log_quote(strerror(saved)));
	exit(1);
}

/* Log a broken invariant and exit. */
void
fatalx(const char *fmt, ...)
{
	char	 what[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	log_error("fatal", "what=%s", log_quote(what));
	exit(1);
}
