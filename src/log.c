/*
 * Structured logging: one key=value line per event.
 *
 *   ts=2026-11-26T07:05:00.123Z level=info msg=admitted user=alice ticket=t-...
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

static int	 log_level = LOG_LEVEL_INFO;
static int	 log_stderr = 1;
static int	 log_syslog;

static const char *log_names[] = { "debug", "info", "warn", "error" };

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

/* Write one line at a level; fields is the key=value tail or NULL. */
static void
log_vwrite(int level, const char *msg, const char *fmt, va_list ap)
{
	char		 line[2048], fields[2048], quoted[LOG_QUOTE_SIZE];
	char		 ts[64];
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

	if (log_syslog)
		syslog(prio[level], "%s", line);
	if (log_stderr) {
		char	 out[sizeof line + sizeof ts + 8];

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
		m = snprintf(out, sizeof out, "ts=%s.%03ldZ %s\n", ts,
		    now.tv_nsec / 1000000, line);
		if (m > 0)
			(void)write(STDERR_FILENO, out,
			    (size_t)m < sizeof out ? (size_t)m : sizeof out - 1);
	}
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
