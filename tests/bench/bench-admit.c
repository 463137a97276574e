/*
 * bench-admit: what one admission costs the broker, measured from its
 * socket, with no live sessions and with many.
 *
 *   bench-admit -s SOCKET -u USER [-p PREFIX [-l LEVELS]] [-b BROKER_PID]
 *       [-o ONEUSER [-O COUNT]] [-S SOCKET,LABEL[,PID]]... [-L LABEL]
 *       [-n COUNT] [-w WARMUP] [-r ROUNDS] [-m HTTP_PORT]
 *
 * USER is admitted again and again: connect, hello, the ticket, goodbye,
 * and the broker closing the connection (so its slot is back before the
 * next connect). The clock of each admission runs from writing the hello
 * until the ticket is read. That is measured with no live sessions, with
 * each of LEVELS (default 1000,2000) live sessions of as many users
 * (PREFIX0001, PREFIX0002, ...: one session each) and with COUNT live
 * sessions of ONEUSER alone. With -b, the broker's CPU time per
 * admission too: the run time of its threads as the scheduler counts it
 * (/proc/PID/task/TID/schedstat), which other work on a busy machine
 * disturbs far less than it does the wall clock. Without -p there are no
 * rows of distinct users.
 *
 * Each -S adds a row that is another broker: USER is admitted through
 * that broker's SOCKET (which no live session holds), under LABEL, and
 * with PID that broker's CPU time is measured too. So brokers configured
 * differently (an auth service, say) are compared with the first one,
 * whose row with no live sessions is labelled LABEL of -L ("none").
 *
 * With -m, each row's round of the first broker also scrapes its
 * /metrics on 127.0.0.1:HTTP_PORT BENCH_SCRAPES times, with the row's
 * live sessions in place: the clock of a scrape runs from connect until
 * the last byte of the body.
 *
 * The rows take turns, forward in one round and backward in the next, so
 * that a slow moment of a shared machine, or a drift, falls on all of
 * them alike; the ratios within one run are the figures to compare. A
 * figure is the median of the rounds' figures, a ratio the median of the
 * rounds' ratios (each of a row to the row with no live sessions in the
 * same round), so that a round a busy machine spoiled does not count.
 * Every user the broker sees is admitted once before the first round, so
 * each row meets the same table of known users and only the live
 * sessions differ between rows.
 *
 * It runs as root: the broker takes a peer's identity from SO_PEERCRED,
 * so each connection is made with the effective uid set to its user's.
 * The benchmark prints figures; it never fails on a time. Each step has
 * a time limit, and a broker that misses one, or answers other than a
 * session expects, is reported with what it said.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"
#include "proto.h"
#include "bench-common.h"

/* Time limits. */
#define BENCH_IO_MS		10000	/* one connect, write or answer */
#define BENCH_BLOCK_S		120	/* one row's admissions in one round */
#define BENCH_OPEN_S		120	/* opening or closing live sessions */
/* Whole run, beyond the steps' own limits: give up and say so. */
#define BENCH_WATCHDOG_S	60

#define BENCH_DEFAULT_COUNT	2000
#define BENCH_DEFAULT_WARMUP	1000
#define BENCH_DEFAULT_ROUNDS	10
#define BENCH_DEFAULT_LEVELS	"1000,2000"
#define BENCH_DEFAULT_ONE	3000

#define BENCH_MAX_LEVELS	8
#define BENCH_MAX_OTHERS	8	/* rows that are other brokers */
#define BENCH_LABEL_MAX		31
#define BENCH_MAX_COUNT		100000
#define BENCH_MAX_ROUNDS	20
/* The users of live sessions are PREFIX and four digits. */
#define BENCH_MAX_SESSIONS	9999
#define BENCH_PREFIX_MAX	24
/* Scrapes of /metrics per row and round, and the largest answer. */
#define BENCH_SCRAPES		100
#define BENCH_SCRAPE_MAX	(4 * 1024 * 1024)

/* What a row's admissions give in one round. */
enum figure {
	FIG_RATE,		/* admissions per second */
	FIG_P50,		/* hello to ticket, microseconds */
	FIG_P99,
	FIG_CPU,		/* the broker's CPU time per admission, us */
	FIG_SCRAPE50,		/* a scrape of /metrics, microseconds */
	FIG_SCRAPE99,
	FIG_COUNT
};

struct row {
	char		 label[BENCH_LABEL_MAX + 1];
	const struct sockaddr_un *sun;	/* the broker it admits through */
	int		 other;		/* another broker, of -S */
	pid_t		 pid;		/* its CPU time; 0: not measured */
	u_int		 distinct;	/* live sessions, one user each */
	u_int		 one;		/* live sessions of the one user */
	double		*fig[FIG_COUNT]; /* by round */
	u_int		 nround;
	int		 cpu_bad;	/* the CPU time could not be read */
	size_t		 scrape_bytes;	/* the last scrape's body */
	u_int		 scrape_series;	/* its samples */
};

struct bench {
	struct sockaddr_un sun;
	pid_t		 broker;	/* for its CPU time; 0: not measured */
	const char	*user;		/* the measured user */
	uid_t		 uid;
	const char	*prefix;	/* PREFIX0001...: one session each */
	uid_t		*uids;
	u_int		 nuids;
	const char	*one_user;	/* many sessions of one user */
	uid_t		 one_uid;
	u_int		 one_count;

	u_int		 count;
	u_int		 warmup;
	u_int		 rounds;
	double		*lat;		/* one round's times, microseconds */
	u_int		 http_port;	/* 0: no scrapes */
	char		*scrape;	/* one answer */

	int		*dlive;		/* live sessions of PREFIXnnnn */
	u_int		 ndlive;
	int		*olive;		/* live sessions of the one user */
	u_int		 nolive;

	struct row	 rows[BENCH_MAX_LEVELS + 2 + BENCH_MAX_OTHERS];
	u_int		 nrows;
	struct sockaddr_un others[BENCH_MAX_OTHERS]; /* the -S sockets */
	u_int		 nothers;

	void		*hello;		/* frames, packed once */
	size_t		 hello_len;
	void		*goodbye;
	size_t		 goodbye_len;
};

/* Say how to run it, and exit. */
static __dead void
usage(void)
{
	fprintf(stderr, "usage: bench-admit -s socket -u user "
	    "[-p prefix [-l levels]] [-b broker-pid]\n"
	    "                   [-o user [-O count]] "
	    "[-S socket,label[,pid]]... [-L label]\n"
	    "                   [-n count] [-w warmup] [-r rounds]\n"
	    "                   [-m http-port]\n");
	exit(EXIT_USAGE);
}

/* Give up: say what happened, and exit (the sockets close with us). */
static __dead printflike(1, 2) void
bench_die(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fprintf(stderr, "bench-admit: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

/* The watchdog: the run as a whole is out of time. */
static void
bench_alarm(int sig)
{
	static const char	 msg[] = "bench-admit: out of time, stopped\n";

	(void)write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(1);
}

/* A deadline s seconds from now, in nanoseconds. */
static int64_t
bench_deadline(u_int s)
{
	return bench_now_ns() + (int64_t)s * 1000000000;
}

/* A frame from the broker as printable ASCII, for a report. */
static const char *
bench_describe(const json_t *msg)
{
	static char	 buf[384];
	char		*text;

	text = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	if (text == NULL)
		return "(unprintable frame)";
	snprintf(buf, sizeof buf, "%s", text);
	free(text);
	return buf;
}

/* The name of live session i's user (PREFIX and four digits). */
static const char *
bench_name(struct bench *b, u_int i)
{
	static char	 buf[BENCH_PREFIX_MAX + 8];

	snprintf(buf, sizeof buf, "%s%04u", b->prefix, i + 1);
	return buf;
}

/* Connect to a broker as uid; returns the socket, or -1 with errno. */
static int
bench_connect(const struct sockaddr_un *sun, uid_t uid)
{
	struct timeval	 tv = { BENCH_IO_MS / 1000, 0 };
	int		 fd, rc, saved;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* Bounds connect when the backlog is full, and every write. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
		fatal("setsockopt SO_SNDTIMEO");
	if (seteuid(uid) != 0)
		fatal("seteuid %lu", (u_long)uid);
	rc = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	saved = errno;
	if (seteuid(0) != 0)
		fatal("seteuid 0");
	if (rc != 0) {
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Open a session as uid through the broker at sun: connect, hello, and
 * its ticket, which must count online sessions (this one too) and name
 * the user. Returns the socket; *lat is the time from the hello to the
 * ticket, in ns. Dies with what the broker said when it is anything but
 * a ticket.
 */
static int
bench_session(struct bench *b, const struct sockaddr_un *sun, uid_t uid,
    const char *name, u_int online, int64_t *lat, const char *what)
{
	json_t		*msg;
	enum proto_msg	 type;
	json_int_t	 seen;
	const char	*user;
	char		*cause;
	int64_t		 t0;
	int		 fd;

	if ((fd = bench_connect(sun, uid)) == -1)
		bench_die("%s: cannot connect as %s: %s", what, name,
		    strerror(errno));
	t0 = bench_now_ns();
	if (util_write_all(fd, b->hello, b->hello_len) != 0)
		bench_die("%s: cannot send the hello of %s: %s", what, name,
		    strerror(errno));
	if (proto_read(fd, BENCH_IO_MS, PROTO_MAX_FROM_BROKER,
	    PROTO_FROM_BROKER, &msg, &type, &cause) != 0)
		bench_die("%s: no ticket for %s: %s", what, name,
		    log_quote(cause));
	if (lat != NULL)
		*lat = bench_now_ns() - t0;
	if (type != MSG_TICKET)
		bench_die("%s: %s got %s instead of a ticket", what, name,
		    bench_describe(msg));
	if (json_unpack(msg, "{s:I, s:s}", "online", &seen, "user",
	    &user) != 0)
		bench_die("%s: a ticket without online or user: %s", what,
		    bench_describe(msg));
	if (strcmp(user, name) != 0)
		bench_die("%s: the ticket of %s names another user: %s", what,
		    name, bench_describe(msg));
	if (seen != (json_int_t)online)
		bench_die("%s: the ticket of %s counts %lld sessions online, "
		    "not %u: slots are not where the benchmark put them", what,
		    name, (long long)seen, online);
	json_decref(msg);
	return fd;
}

/*
 * Wait for the broker to close a session that said goodbye, so that its
 * slot is back; only bandwidth limits may come before. Closes the socket.
 */
static void
bench_wait_closed(int fd, const char *name, const char *what)
{
	json_t		*msg;
	enum proto_msg	 type;
	char		*cause;

	for (;;) {
		if (proto_read(fd, BENCH_IO_MS, PROTO_MAX_FROM_BROKER,
		    PROTO_FROM_BROKER, &msg, &type, &cause) != 0)
			break;
		if (type != MSG_LIMITS)
			bench_die("%s: %s got %s after its goodbye", what, name,
			    bench_describe(msg));
		json_decref(msg);
	}
	/* A reset is a close too (dg-wire counts it so). */
	if (strcmp(cause, "connection closed") != 0 &&
	    strstr(cause, "reset") == NULL)
		bench_die("%s: the broker did not close the session of %s "
		    "after its goodbye: %s", what, name, log_quote(cause));
	free(cause);
	close(fd);
}

/* Say goodbye on n sessions, then wait until the broker closed each. */
static void
bench_close_sessions(struct bench *b, int *fds, u_int from, u_int n,
    int distinct, const char *what)
{
	u_int	 i;

	for (i = from; i < from + n; i++) {
		if (util_write_all(fds[i], b->goodbye, b->goodbye_len) != 0)
			bench_die("%s: cannot send the goodbye of %s: %s", what,
			    distinct ? bench_name(b, i) : b->one_user,
			    strerror(errno));
	}
	for (i = from; i < from + n; i++) {
		bench_wait_closed(fds[i], distinct ? bench_name(b, i) :
		    b->one_user, what);
		fds[i] = -1;
	}
}

/*
 * Read what the broker pushed to the live sessions; every one must still
 * be open, and have been sent nothing but bandwidth limits.
 */
static void
bench_check_live(struct bench *b, const char *what)
{
	struct pollfd	*pfd;
	json_t		*msg;
	enum proto_msg	 type;
	const char	*name;
	char		*cause;
	u_int		 n = b->ndlive + b->nolive, i;
	int		 ready;

	if (n == 0)
		return;
	pfd = xcalloc(n, sizeof *pfd);
	for (i = 0; i < n; i++) {
		pfd[i].fd = i < b->ndlive ? b->dlive[i] :
		    b->olive[i - b->ndlive];
		pfd[i].events = POLLIN;
	}
	for (;;) {
		ready = poll(pfd, n, 0);
		if (ready == -1 && errno == EINTR)
			continue;
		if (ready == -1)
			fatal("poll");
		if (ready == 0)
			break;
		for (i = 0; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			name = i < b->ndlive ? bench_name(b, i) : b->one_user;
			if (proto_read(pfd[i].fd, BENCH_IO_MS,
			    PROTO_MAX_FROM_BROKER, PROTO_FROM_BROKER, &msg,
			    &type, &cause) != 0)
				bench_die("%s: the live session of %s ended: %s",
				    what, name, log_quote(cause));
			if (type != MSG_LIMITS)
				bench_die("%s: the live session of %s got %s",
				    what, name, bench_describe(msg));
			json_decref(msg);
		}
	}
	free(pfd);
}

/*
 * Hold a row's live sessions: distinct of as many PREFIXnnnn users and
 * one of the one user; what is too many is closed before what is missing
 * is opened.
 */
static void
bench_set_live(struct bench *b, u_int distinct, u_int one)
{
	char	 what[96];
	int64_t	 deadline = bench_deadline(BENCH_OPEN_S);

	snprintf(what, sizeof what, "going from %u+%u to %u+%u live sessions",
	    b->ndlive, b->nolive, distinct, one);
	if (b->ndlive > distinct) {
		bench_close_sessions(b, b->dlive, distinct, b->ndlive -
		    distinct, 1, what);
		b->ndlive = distinct;
	}
	if (b->nolive > one) {
		bench_close_sessions(b, b->olive, one, b->nolive - one, 0,
		    what);
		b->nolive = one;
	}
	while (b->ndlive < distinct) {
		b->dlive[b->ndlive] = bench_session(b, &b->sun,
		    b->uids[b->ndlive], bench_name(b, b->ndlive),
		    b->ndlive + b->nolive + 1, NULL, what);
		b->ndlive++;
		if (bench_now_ns() > deadline)
			bench_die("%s: not done in %d s", what, BENCH_OPEN_S);
	}
	while (b->nolive < one) {
		b->olive[b->nolive] = bench_session(b, &b->sun, b->one_uid,
		    b->one_user, b->ndlive + b->nolive + 1, NULL, what);
		b->nolive++;
		if (bench_now_ns() > deadline)
			bench_die("%s: not done in %d s", what, BENCH_OPEN_S);
	}
	bench_check_live(b, what);
}

/*
 * One whole admission of uid through row r's broker: connect, hello,
 * ticket, goodbye, and the broker closing. Another broker holds no live
 * session, so the ticket must count this one alone. Returns the time
 * from hello to ticket, in ns.
 */
static int64_t
bench_admit(struct bench *b, const struct row *r, uid_t uid,
    const char *name, const char *what)
{
	int64_t	 lat;
	int	 fd;

	fd = bench_session(b, r->sun, uid, name, r->other ? 1 :
	    b->ndlive + b->nolive + 1, &lat, what);
	if (util_write_all(fd, b->goodbye, b->goodbye_len) != 0)
		bench_die("%s: cannot send the goodbye of %s: %s", what, name,
		    strerror(errno));
	bench_wait_closed(fd, name, what);
	return lat;
}

/*
 * The broker's CPU time so far, in ns: the run time of each of its
 * threads as the scheduler counts it. Returns -1 when it cannot be read.
 */
static int64_t
bench_broker_cpu(pid_t pid)
{
	char		 path[128];
	DIR		*d;
	struct dirent	*de;
	FILE		*f;
	long long	 ns;
	int64_t		 sum = 0;
	int		 ok = 1;

	snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while (ok && (de = readdir(d)) != NULL) {
		if (!isdigit((u_char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%ld/task/%ld/schedstat",
		    (long)pid, strtol(de->d_name, NULL, 10));
		if ((f = fopen(path, "r")) == NULL) {
			ok = 0;
			break;
		}
		if (fscanf(f, "%lld", &ns) == 1)
			sum += ns;
		else
			ok = 0;
		fclose(f);
	}
	closedir(d);
	return ok ? sum : -1;
}

/*
 * One scrape of /metrics: connect, GET, read the headers and as many
 * bytes as Content-Length says. Returns the time it took, in ns.
 */
static int64_t
bench_scrape(struct bench *b, struct row *r, const char *what)
{
	static const char	 req[] = "GET /metrics HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAccept: text/plain\r\n\r\n";
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	int64_t			 t0, deadline;
	size_t			 got = 0, want = 0, head = 0, i;
	ssize_t			 n;
	char			*p, *end;
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)b->http_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	deadline = bench_deadline(BENCH_IO_MS / 1000);
	t0 = bench_now_ns();
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		bench_die("%s: connect to port %u: %s", what, b->http_port,
		    strerror(errno));
	if (util_write_all(fd, req, sizeof req - 1) != 0)
		bench_die("%s: writing the request: %s", what, strerror(errno));
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (bench_now_ns() > deadline ||
		    poll(&pfd, 1, BENCH_IO_MS) <= 0)
			bench_die("%s: no whole answer in time", what);
		n = read(fd, b->scrape + got, BENCH_SCRAPE_MAX - got);
		if (n <= 0)
			bench_die("%s: the answer ended after %zu bytes", what,
			    got);
		got += (size_t)n;
		b->scrape[got] = '\0';
		if (head == 0 && (end = strstr(b->scrape, "\r\n\r\n")) != NULL) {
			head = (size_t)(end - b->scrape) + 4;
			if (strncmp(b->scrape, "HTTP/1.1 200 ", 13) != 0 ||
			    (p = strstr(b->scrape, "Content-Length: ")) == NULL ||
			    p > end)
				bench_die("%s: not a 200 with a length: %.80s",
				    what, b->scrape);
			want = head + strtoul(p + 16, NULL, 10);
			if (want > BENCH_SCRAPE_MAX)
				bench_die("%s: an answer of %zu bytes", what,
				    want);
		}
		if (head != 0 && got >= want)
			break;
		if (got == BENCH_SCRAPE_MAX)
			bench_die("%s: an answer past %d bytes", what,
			    BENCH_SCRAPE_MAX);
	}
	close(fd);
	r->scrape_bytes = want - head;
	r->scrape_series = 0;
	for (i = head; i < want; i++) {
		if ((i == head || b->scrape[i - 1] == '\n') &&
		    b->scrape[i] != '#')
			r->scrape_series++;
	}
	return bench_now_ns() - t0;
}

/* A row's scrapes in one round, with its live sessions in place. */
static void
bench_scrapes(struct bench *b, struct row *r, u_int k, const char *what)
{
	u_int	 i;

	for (i = 0; i < BENCH_SCRAPES; i++)
		b->lat[i] = (double)bench_scrape(b, r, what) / 1e3;
	qsort(b->lat, BENCH_SCRAPES, sizeof *b->lat, bench_cmp);
	r->fig[FIG_SCRAPE50][k] = bench_percentile(b->lat, BENCH_SCRAPES, 50);
	r->fig[FIG_SCRAPE99][k] = bench_percentile(b->lat, BENCH_SCRAPES, 99);
}

/* One row's admissions in one round, with its live sessions in place. */
static void
bench_measure(struct bench *b, struct row *r, u_int round)
{
	char	 what[128];
	int64_t	 t0, t1, deadline, lat, cpu0 = -1, cpu1 = -1;
	u_int	 i, k = r->nround;

	bench_set_live(b, r->distinct, r->one);
	snprintf(what, sizeof what, "round %u, row %s", round, r->label);
	deadline = bench_deadline(BENCH_BLOCK_S);
	if (r->pid != 0)
		cpu0 = bench_broker_cpu(r->pid);
	t0 = bench_now_ns();
	for (i = 0; i < b->count; i++) {
		lat = bench_admit(b, r, b->uid, b->user, what);
		b->lat[i] = (double)lat / 1e3;
		if (bench_now_ns() > deadline)
			bench_die("%s: only %u of %u in %d s", what, i + 1,
			    b->count, BENCH_BLOCK_S);
	}
	t1 = bench_now_ns();
	if (r->pid != 0)
		cpu1 = bench_broker_cpu(r->pid);
	/* A thread that ended took its time along: no figure, not a low one. */
	if (cpu0 < 0 || cpu1 < cpu0)
		r->cpu_bad = 1;
	else
		r->fig[FIG_CPU][k] = (double)(cpu1 - cpu0) / b->count / 1e3;
	r->fig[FIG_RATE][k] = (double)b->count / ((double)(t1 - t0) / 1e9);
	qsort(b->lat, b->count, sizeof *b->lat, bench_cmp);
	r->fig[FIG_P50][k] = bench_percentile(b->lat, b->count, 50);
	r->fig[FIG_P99][k] = bench_percentile(b->lat, b->count, 99);
	if (b->http_port != 0 && !r->other)
		bench_scrapes(b, r, k, what);
	r->nround++;
	/* The live sessions were there all along. */
	bench_check_live(b, what);
}

/*
 * Before the rounds: the measured user's warm-up, then one admission of
 * every other user, so that the broker knows them all in every row; then
 * the measured user's warm-up on each other broker.
 */
static void
bench_warm_up(struct bench *b)
{
	const struct row *base = &b->rows[0], *r;
	const char	*what = "first admission of every user";
	char		 other[64];
	int64_t		 deadline;
	u_int		 i, j;

	for (i = 0; i < b->warmup; i++)
		bench_admit(b, base, b->uid, b->user, "warm-up");

	deadline = bench_deadline(BENCH_OPEN_S);
	for (i = 0; i < b->nuids; i++) {
		bench_admit(b, base, b->uids[i], bench_name(b, i), what);
		if (bench_now_ns() > deadline)
			bench_die("%s: not done in %d s", what, BENCH_OPEN_S);
	}
	if (b->one_count > 0)
		bench_admit(b, base, b->one_uid, b->one_user, what);

	for (j = 0; j < b->nrows; j++) {
		r = &b->rows[j];
		if (!r->other)
			continue;
		snprintf(other, sizeof other, "warm-up of row %s", r->label);
		deadline = bench_deadline(BENCH_OPEN_S);
		for (i = 0; i < b->warmup; i++) {
			bench_admit(b, r, b->uid, b->user, other);
			if (bench_now_ns() > deadline)
				bench_die("%s: only %u of %u in %d s", other,
				    i + 1, b->warmup, BENCH_OPEN_S);
		}
	}
}

/* The q-quantile of n values (interpolated between ranks); sorts them. */
static double
bench_quantile(double *v, u_int n, double q)
{
	double	 pos;
	u_int	 lo;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, bench_cmp);
	pos = q * (n - 1);
	lo = (u_int)pos;
	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

/* A row's figure over its rounds: the median. */
static double
bench_median(const struct row *r, enum figure f)
{
	double	*v, m;

	v = xcalloc(r->nround, sizeof *v);
	memcpy(v, r->fig[f], r->nround * sizeof *v);
	m = bench_quantile(v, r->nround, 0.5);
	free(v);
	return m;
}

/*
 * A row's figure against the row with no live sessions, round by round:
 * the median of the ratios, and their quartiles.
 */
static double
bench_ratio(const struct row *r, const struct row *none, enum figure f,
    double *q1, double *q3)
{
	double	*v, m;
	u_int	 k;

	v = xcalloc(r->nround, sizeof *v);
	for (k = 0; k < r->nround; k++)
		v[k] = none->fig[f][k] > 0 ? r->fig[f][k] / none->fig[f][k] : 0;
	m = bench_quantile(v, r->nround, 0.5);
	*q1 = bench_quantile(v, r->nround, 0.25);
	*q3 = bench_quantile(v, r->nround, 0.75);
	free(v);
	return m;
}

/* Print one row of the table. */
static void
bench_print_row(const struct row *r)
{
	char	 cpu[32];

	if (r->cpu_bad)
		snprintf(cpu, sizeof cpu, "-");
	else
		snprintf(cpu, sizeof cpu, "%.1f us", bench_median(r, FIG_CPU));
	printf("%-18s %12.0f %14.1f us %9.1f us %12s\n", r->label,
	    bench_median(r, FIG_RATE), bench_median(r, FIG_P50),
	    bench_median(r, FIG_P99), cpu);
}

/* Print a row against the row with no live sessions. */
static void
bench_print_ratio(const struct row *r, const struct row *none)
{
	double	 m, q1, q3, p50, p99;
	char	 cpu[48];

	if (r->cpu_bad || none->cpu_bad)
		snprintf(cpu, sizeof cpu, "-");
	else {
		m = bench_ratio(r, none, FIG_CPU, &q1, &q3);
		snprintf(cpu, sizeof cpu, "%5.2fx (%.2f-%.2f)", m, q1, q3);
	}
	p50 = bench_ratio(r, none, FIG_P50, &q1, &q3);
	p99 = bench_ratio(r, none, FIG_P99, &q1, &q3);
	m = bench_ratio(r, none, FIG_RATE, &q1, &q3);
	printf("%-18s %5.2fx (%.2f-%.2f) %7.2fx %7.2fx  %s\n", r->label, m,
	    q1, q3, p50, p99, cpu);
}

/* Print the figures of every row. */
static void
bench_print(struct bench *b)
{
	u_int	 i;

	printf("medians of the rounds\n");
	printf("%-18s %12s %17s %12s %12s\n", b->nothers > 0 ? "row" :
	    "live sessions", "admissions/s", "hello-ticket p50", "p99",
	    "broker CPU");
	for (i = 0; i < b->nrows; i++)
		bench_print_row(&b->rows[i]);

	printf("\nratios to %s: medians of the rounds' ratios (and their "
	    "quartiles)\nrate: below 1x is slower; times and CPU: above 1x "
	    "is slower\n", b->rows[0].label);
	printf("%-18s %-18s %8s %8s  %s\n", "", "rate", "p50", "p99",
	    "broker CPU");
	for (i = 1; i < b->nrows; i++)
		bench_print_ratio(&b->rows[i], &b->rows[0]);
	if (b->http_port == 0)
		return;
	printf("\nscrapes of /metrics (%u per row and round): medians of the "
	    "rounds\n", BENCH_SCRAPES);
	printf("%-18s %12s %12s %10s %8s\n", "live sessions", "scrape p50",
	    "p99", "bytes", "samples");
	for (i = 0; i < b->nrows; i++) {
		if (b->rows[i].other)
			continue;
		printf("%-18s %9.0f us %9.0f us %10zu %8u\n", b->rows[i].label,
		    bench_median(&b->rows[i], FIG_SCRAPE50),
		    bench_median(&b->rows[i], FIG_SCRAPE99),
		    b->rows[i].scrape_bytes, b->rows[i].scrape_series);
	}
}

/* For qsort: ascending uids. */
static int
bench_cmp_uid(const void *a, const void *b)
{
	uid_t	 x = *(const uid_t *)a, y = *(const uid_t *)b;

	return (x > y) - (x < y);
}

/* A user's uid by name; dies when there is none, or it is root. */
static uid_t
bench_uid(const char *name)
{
	struct passwd	*pw;

	if ((pw = getpwnam(name)) == NULL)
		bench_die("no user %s", name);
	if (pw->pw_uid == 0)
		bench_die("%s is root, whom the broker treats as an admin: "
		    "measure an ordinary user", name);
	return pw->pw_uid;
}

/*
 * Find the users PREFIX0001 to PREFIXmax in one pass over the password
 * database; each must exist and have a uid of its own.
 */
static void
bench_find_users(struct bench *b, u_int max)
{
	struct passwd	*pw;
	size_t		 plen = strlen(b->prefix);
	uid_t		*sorted;
	u_char		*seen;
	const char	*rest;
	u_int		 i, n, found = 0;

	b->uids = xcalloc(max, sizeof *b->uids);
	seen = xcalloc(max, 1);
	setpwent();
	while ((pw = getpwent()) != NULL) {
		if (strncmp(pw->pw_name, b->prefix, plen) != 0)
			continue;
		rest = pw->pw_name + plen;
		if (strlen(rest) != 4 || !isdigit((u_char)rest[0]) ||
		    !isdigit((u_char)rest[1]) || !isdigit((u_char)rest[2]) ||
		    !isdigit((u_char)rest[3]))
			continue;
		n = (u_int)strtoul(rest, NULL, 10);
		if (n < 1 || n > max || seen[n - 1])
			continue;
		seen[n - 1] = 1;
		b->uids[n - 1] = pw->pw_uid;
		found++;
	}
	endpwent();
	for (i = 0; i < max; i++) {
		if (!seen[i])
			bench_die("no user %s: the live sessions need %s0001 to "
			    "%s%04u", bench_name(b, i), b->prefix, b->prefix,
			    max);
	}
	free(seen);
	b->nuids = max;

	/* Distinct users: no uid twice, none of them the measured user's. */
	sorted = xcalloc(max + 2, sizeof *sorted);
	memcpy(sorted, b->uids, max * sizeof *sorted);
	n = max;
	sorted[n++] = b->uid;
	if (b->one_count > 0)
		sorted[n++] = b->one_uid;
	qsort(sorted, n, sizeof *sorted, bench_cmp_uid);
	for (i = 1; i < n; i++) {
		if (sorted[i] == sorted[i - 1])
			bench_die("two of the benchmark's users share uid %lu",
			    (u_long)sorted[i]);
	}
	for (i = 0; i < n; i++) {
		if (sorted[i] == 0)
			bench_die("a user of the live sessions is root");
	}
	free(sorted);
}

/* Parse LEVELS: increasing counts of live sessions, comma separated. */
static u_int
bench_levels(const char *s, u_int *lv)
{
	char	*copy, *p, *tok;
	u_int	 n = 0;

	copy = xstrdup(s);
	for (p = copy; (tok = strsep(&p, ",")) != NULL; ) {
		if (n == BENCH_MAX_LEVELS) {
			fprintf(stderr, "bench-admit: at most %d levels\n",
			    BENCH_MAX_LEVELS);
			exit(EXIT_USAGE);
		}
		lv[n] = (u_int)bench_number(tok, 1, BENCH_MAX_SESSIONS);
		if (n > 0 && lv[n] <= lv[n - 1]) {
			fprintf(stderr, "bench-admit: levels must increase: "
			    "%s\n", s);
			exit(EXIT_USAGE);
		}
		n++;
	}
	free(copy);
	return n;
}

/*
 * Set up one row of the first broker: its live sessions and room for its
 * figures. The row with none is labelled base.
 */
static void
bench_row(struct bench *b, struct row *r, u_int distinct, u_int one,
    const char *base)
{
	u_int	 f;

	r->sun = &b->sun;
	r->pid = b->broker;
	r->distinct = distinct;
	r->one = one;
	if (distinct == 0 && one == 0)
		snprintf(r->label, sizeof r->label, "%s", base);
	else if (one == 0)
		snprintf(r->label, sizeof r->label, "%u (%u users)", distinct,
		    distinct);
	else
		snprintf(r->label, sizeof r->label, "%u (one user)", one);
	for (f = 0; f < FIG_COUNT; f++)
		r->fig[f] = xcalloc(b->rounds, sizeof *r->fig[f]);
}

/* A row's label: printable, no comma, short enough for the table. */
static int
bench_label_ok(const char *s)
{
	const char	*p;

	if (*s == '\0' || strlen(s) > BENCH_LABEL_MAX)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!isprint((u_char)*p) || *p == ',')
			return 0;
	}
	return 1;
}

/*
 * Set up a row of another broker from -S SOCKET,LABEL[,PID]: its socket
 * must be a socket, and the caller gets its group, which the users need
 * to connect. Dies with what is wrong.
 */
static void
bench_row_other(struct bench *b, struct row *r, const char *arg, gid_t *gid)
{
	struct sockaddr_un	*sun = &b->others[b->nothers];
	struct stat		 sb;
	char			*copy, *p, *path, *label, *pid;
	u_int			 f;

	copy = p = xstrdup(arg);
	path = strsep(&p, ",");
	label = strsep(&p, ",");
	pid = strsep(&p, ",");
	if (label == NULL || p != NULL || *path == '\0') {
		fprintf(stderr, "bench-admit: -S takes socket,label[,pid]: "
		    "%s\n", arg);
		exit(EXIT_USAGE);
	}
	if (!bench_label_ok(label)) {
		fprintf(stderr, "bench-admit: a label is 1 to %d printable "
		    "characters, no comma: %s\n", BENCH_LABEL_MAX, arg);
		exit(EXIT_USAGE);
	}
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if ((size_t)snprintf(sun->sun_path, sizeof sun->sun_path, "%s",
	    path) >= sizeof sun->sun_path)
		bench_die("socket path too long: %s", path);
	if (stat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode))
		bench_die("%s is not a broker's socket", path);
	*gid = sb.st_gid;

	memset(r, 0, sizeof *r);
	snprintf(r->label, sizeof r->label, "%s", label);
	r->sun = sun;
	r->other = 1;
	if (pid != NULL)
		r->pid = (pid_t)bench_number(pid, 1, INT_MAX);
	for (f = 0; f < FIG_COUNT; f++)
		r->fig[f] = xcalloc(b->rounds, sizeof *r->fig[f]);
	b->nothers++;
	free(copy);
}

/* Pack a frame once, to be written many times. */
static void *
bench_pack(json_t *msg, size_t *len)
{
	void	*frame;

	if (msg == NULL || (frame = proto_pack(msg, len)) == NULL)
		fatalx("cannot pack a frame");
	json_decref(msg);
	return frame;
}

/* Measure every row, in turn, for each round; print the figures. */
int
main(int argc, char **argv)
{
	struct bench	 b;
	struct stat	 sb;
	const char	*socket_path = NULL, *levels = NULL, *base = "none";
	const char	*p, *others[BENCH_MAX_OTHERS];
	gid_t		 gids[BENCH_MAX_OTHERS + 1];
	u_int		 lv[BENCH_MAX_LEVELS], nlv = 0, i, j, round, max = 0;
	u_int		 nothers = 0;
	int		 ch, one_set = 0;

	log_open("bench-admit", LOG_LEVEL_WARN, LOG_TO_STDERR);
	memset(&b, 0, sizeof b);
	b.count = BENCH_DEFAULT_COUNT;
	b.warmup = BENCH_DEFAULT_WARMUP;
	b.rounds = BENCH_DEFAULT_ROUNDS;
	while ((ch = getopt(argc, argv, "b:L:l:m:n:O:o:p:r:S:s:u:w:")) != -1) {
		switch (ch) {
		case 'b':
			b.broker = (pid_t)bench_number(optarg, 1, INT_MAX);
			break;
		case 'L':
			if (!bench_label_ok(optarg)) {
				fprintf(stderr, "bench-admit: a label is 1 to "
				    "%d printable characters, no comma: %s\n",
				    BENCH_LABEL_MAX, optarg);
				exit(EXIT_USAGE);
			}
			base = optarg;
			break;
		case 'l':
			levels = optarg;
			break;
		case 'm':
			b.http_port = (u_int)bench_number(optarg, 1, 65535);
			break;
		case 'n':
			b.count = (u_int)bench_number(optarg, 1, BENCH_MAX_COUNT);
			break;
		case 'O':
			b.one_count = (u_int)bench_number(optarg, 1,
			    BENCH_MAX_SESSIONS);
			one_set = 1;
			break;
		case 'o':
			b.one_user = optarg;
			break;
		case 'p':
			b.prefix = optarg;
			break;
		case 'r':
			b.rounds = (u_int)bench_number(optarg, 1, BENCH_MAX_ROUNDS);
			break;
		case 'S':
			if (nothers == BENCH_MAX_OTHERS) {
				fprintf(stderr, "bench-admit: at most %d -S\n",
				    BENCH_MAX_OTHERS);
				exit(EXIT_USAGE);
			}
			others[nothers++] = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'u':
			b.user = optarg;
			break;
		case 'w':
			b.warmup = (u_int)bench_number(optarg, 0, BENCH_MAX_COUNT);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || socket_path == NULL || b.user == NULL ||
	    (one_set && b.one_user == NULL) ||
	    (levels != NULL && b.prefix == NULL))
		usage();
	if (b.one_user != NULL && !one_set)
		b.one_count = BENCH_DEFAULT_ONE;
	if (b.prefix != NULL) {
		nlv = bench_levels(levels != NULL ? levels :
		    BENCH_DEFAULT_LEVELS, lv);
		if (*b.prefix == '\0' || strlen(b.prefix) > BENCH_PREFIX_MAX)
			usage();
		for (p = b.prefix; *p != '\0'; p++) {
			if (!islower((u_char)*p) && !isdigit((u_char)*p) &&
			    *p != '_' && *p != '-')
				usage();
		}
	}

	if (geteuid() != 0)
		bench_die("needs root: it connects as each of its users");
	memset(&b.sun, 0, sizeof b.sun);
	b.sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(b.sun.sun_path, sizeof b.sun.sun_path, "%s",
	    socket_path) >= sizeof b.sun.sun_path)
		bench_die("socket path too long: %s", socket_path);
	if (stat(socket_path, &sb) != 0 || !S_ISSOCK(sb.st_mode))
		bench_die("%s is not the broker's socket", socket_path);
	/* The socket is for its group; the users connect with it. */
	if (setegid(sb.st_gid) != 0)
		fatal("setegid %lu", (u_long)sb.st_gid);
	gids[0] = sb.st_gid;

	b.uid = bench_uid(b.user);
	if (b.one_user != NULL)
		b.one_uid = bench_uid(b.one_user);
	if (nlv > 0) {
		max = lv[nlv - 1];
		bench_find_users(&b, max);
		b.dlive = xcalloc(max, sizeof *b.dlive);
	} else if (b.one_count > 0 && b.one_uid == b.uid)
		bench_die("%s and %s share uid %lu", b.user, b.one_user,
		    (u_long)b.uid);
	b.lat = xcalloc(b.count > BENCH_SCRAPES ? b.count : BENCH_SCRAPES,
	    sizeof *b.lat);
	if (b.http_port != 0)
		b.scrape = xmalloc(BENCH_SCRAPE_MAX + 1);
	if (b.one_count > 0)
		b.olive = xcalloc(b.one_count, sizeof *b.olive);

	/* What dg-session says, and its last word. */
	b.hello = bench_pack(json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:s}",
	    "type", "hello", "version", PROTO_VERSION, "client", "session",
	    "term", "xterm-256color", "cols", 80, "rows", 24, "remote",
	    "127.0.0.1:40000"), &b.hello_len);
	b.goodbye = bench_pack(json_pack("{s:s}", "type", "goodbye"),
	    &b.goodbye_len);

	bench_row(&b, &b.rows[b.nrows++], 0, 0, base);
	for (i = 0; i < nlv; i++)
		bench_row(&b, &b.rows[b.nrows++], lv[i], 0, base);
	if (b.one_count > 0)
		bench_row(&b, &b.rows[b.nrows++], 0, b.one_count, base);
	for (i = 0; i < nothers; i++)
		bench_row_other(&b, &b.rows[b.nrows++], others[i], &gids[i + 1]);
	/* Each broker's socket is for its group: be in all of them. */
	if (nothers > 0 && setgroups(nothers + 1, gids) != 0)
		fatal("setgroups");

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, bench_alarm);
	alarm(BENCH_WATCHDOG_S + b.rounds * b.nrows * (BENCH_BLOCK_S +
	    BENCH_OPEN_S) + (2 + b.nothers) * BENCH_OPEN_S);

	printf("per row and round: %u admissions of one user (connect, hello, "
	    "ticket, goodbye,\nthe broker closes) after %u warm-up; %u rounds, "
	    "the rows in turn, forward then backward\n\n", b.count, b.warmup,
	    b.rounds);
	fflush(stdout);

	bench_warm_up(&b);
	for (round = 0; round < b.rounds; round++) {
		for (j = 0; j < b.nrows; j++) {
			i = round % 2 == 0 ? j : b.nrows - 1 - j;
			bench_measure(&b, &b.rows[i], round + 1);
		}
	}
	bench_set_live(&b, 0, 0);
	bench_print(&b);

	for (i = 0; i < b.nrows; i++) {
		for (j = 0; j < FIG_COUNT; j++)
			free(b.rows[i].fig[j]);
	}
	free(b.lat);
	free(b.scrape);
	free(b.uids);
	free(b.dlive);
	free(b.olive);
	free(b.hello);
	free(b.goodbye);
	return 0;
}
