/*
 * bench-relay: how much a relay between the player's terminal and the
 * game's PTY costs, next to no relay at all and next to script(1).
 *
 * For each relay (none, script(1), dg-session) the driver opens an outer
 * PTY (what sshd gives a session), starts the relay on its slave and
 * measures from its master. The relays run side by side and take turns,
 * key by key and burst by burst, so that the ratios between them hold on
 * a busy machine even when the absolute times do not.
 *
 *
 *   bench-relay [-d DG_SESSION -f CONFIG [-F CONFIG]] [-n COUNT]
 *       [-w WARMUP] [-s BYTES] [-r ROUNDS]
 *
 * With -F, a fourth relay runs: dg-session under a broker of that
 * configuration (which records every game), with a watcher attached to
 * the game (a second dg-session, `watch USER`, whose terminal is read
 * and thrown away as fast as it comes).
 *
 * The same binary is the program inside the relay:
 *
 *   bench-relay --echo		raw mode, echo every byte, exit on 'q'
 *   bench-relay --spew BYTES	raw mode, write BYTES on each 'g', exit on 'q'
 *
 * Both print a marker once their terminal is raw, so whatever the relay
 * wrote before the program started (dg-session clears the screen) is
 * skipped. Throughput is in MB/s of 10^6 bytes. The benchmark prints
 * figures; it never fails on a time.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"
#include "bench-common.h"

#define BENCH_MARKER		"[bench-relay ready]"
#define BENCH_GO		'g'
#define BENCH_QUIT		'q'
/* Keys sent for the echo test: any letter but the quit key. */
#define BENCH_KEYS		"abcdefghijklmnoprstuvwxyz"

#define BENCH_COLS		80
#define BENCH_ROWS		24
#define BENCH_CHUNK		(64 * 1024)	/* the spewing program's writes */
#define BENCH_READ		(256 * 1024)	/* the driver's reads */

/* Time limits, in milliseconds. */
#define BENCH_READY_MS		10000	/* relay and program started */
#define BENCH_KEY_MS		2000	/* one echo round trip */
#define BENCH_ECHO_MS		40000	/* all round trips */
#define BENCH_BURST_MS		20000	/* one bulk burst */
#define BENCH_QUIT_MS		5000	/* relay gone after the quit key */
/* Whole run: the driver kills what it started and gives up. */
#define BENCH_WATCHDOG_S	170

#define BENCH_DEFAULT_COUNT	6000
#define BENCH_DEFAULT_WARMUP	500
#define BENCH_DEFAULT_BYTES	(64 * 1024 * 1024)
#define BENCH_DEFAULT_ROUNDS	3

#define BENCH_RELAYS		4

enum relay_type {
	RELAY_BARE,
	RELAY_SCRIPT,
	RELAY_SESSION,
	RELAY_WATCHED		/* recorded, and one watcher attached */
};

struct relay {
	const char	*name;
	enum relay_type	 type;
	u_int		 idx;		/* in bench_pids */

	/* The relay and its program, running on an outer PTY. */
	pid_t		 pid;		/* 0 when not running */
	int		 master;
	int		 status;
	int		 reaped;

	double		*lat;		/* round trips, microseconds */
	u_int		 nlat;
	double		*mbps;		/* bursts, MB/s */
	u_int		 nmbps;
	double		 cpu_s;		/* relay CPU during the bursts */
	double		 burst_s;	/* wall time of the bursts */
	long		 hwm_kb;	/* peak RSS of the relay process */
	int		 bad_exit;	/* relay exited other than 0 */
	char		*failed;	/* why it was given up, or NULL */
	pid_t		 watcher;	/* RELAY_WATCHED: its watcher */
	pid_t		 drain;		/* reads the watcher's terminal */
};

struct bench {
	const char	*self;		/* absolute path of this binary */
	const char	*session;	/* dg-session, or NULL */
	const char	*config;
	const char	*config_watched; /* -F */
	u_int		 count;
	u_int		 warmup;
	size_t		 bytes;
	u_int		 rounds;
	u_char		*buf;		/* BENCH_READ bytes */
	struct relay	 relays[BENCH_RELAYS];
	u_int		 nrelays;
};

/* The running relays and watchers, for the signal handler to kill. */
static volatile pid_t	 bench_pids[BENCH_RELAYS];
static volatile pid_t	 bench_watch_pids[2];

/* Say how to run it, and exit. */
static __dead void
usage(void)
{
	fprintf(stderr, "usage: bench-relay [-d dg-session -f config "
	    "[-F config]] [-n count] [-w warmup] [-s bytes] [-r rounds]\n"
	    "       bench-relay --echo | --spew bytes\n");
	exit(EXIT_USAGE);
}

/* Milliseconds left before a deadline in nanoseconds, at least 0. */
static int
bench_left_ms(int64_t deadline)
{
	int64_t	 left = (deadline - bench_now_ns()) / 1000000;

	if (left < 0)
		return 0;
	if (left > INT_MAX)
		return INT_MAX;
	return (int)left;
}

/* Put a terminal in raw mode: no echo, no signals, no output processing. */
static int
bench_raw(int fd)
{
	struct termios	 tio;

	if (tcgetattr(fd, &tio) != 0)
		return -1;
	cfmakeraw(&tio);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	return tcsetattr(fd, TCSANOW, &tio);
}

/* Inside the relay: echo every byte until the quit key. */
static int
bench_echo(void)
{
	u_char	 buf[4096], *q;
	ssize_t	 n;

	if (bench_raw(STDIN_FILENO) != 0)
		return 1;
	if (util_write_all(STDOUT_FILENO, BENCH_MARKER,
	    strlen(BENCH_MARKER)) != 0)
		return 1;
	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof buf);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		q = memchr(buf, BENCH_QUIT, (size_t)n);
		if (q != NULL)
			n = q - buf;
		if (util_write_all(STDOUT_FILENO, buf, (size_t)n) != 0)
			return 1;
		if (q != NULL)
			return 0;
	}
}

/* Inside the relay: write a burst of bytes on each go key. */
static int
bench_spew(size_t bytes)
{
	u_char	*chunk, key;
	size_t	 i, left, len;
	ssize_t	 n;

	chunk = xmalloc(BENCH_CHUNK);
	for (i = 0; i < BENCH_CHUNK; i++)
		chunk[i] = (u_char)('a' + i % 26);
	if (bench_raw(STDIN_FILENO) != 0)
		return 1;
	if (util_write_all(STDOUT_FILENO, BENCH_MARKER,
	    strlen(BENCH_MARKER)) != 0)
		return 1;
	for (;;) {
		n = read(STDIN_FILENO, &key, 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		if (key == BENCH_QUIT)
			break;
		if (key != BENCH_GO)
			continue;
		for (left = bytes; left > 0; left -= len) {
			len = left < BENCH_CHUNK ? left : BENCH_CHUNK;
			if (util_write_all(STDOUT_FILENO, chunk, len) != 0)
				return 1;
		}
	}
	free(chunk);
	return 0;
}

/* SIGINT, SIGTERM, the watchdog: take the relays down with us. */
static void
bench_signal(int sig)
{
	static const char	 msg[] = "bench-relay: out of time, stopped\n";
	pid_t			 pid;
	u_int			 i;

	for (i = 0; i < BENCH_RELAYS; i++) {
		if ((pid = bench_pids[i]) > 0)
			kill(-pid, SIGKILL);
	}
	for (i = 0; i < nitems(bench_watch_pids); i++) {
		if ((pid = bench_watch_pids[i]) > 0)
			kill(-pid, SIGKILL);
	}
	if (sig == SIGALRM)
		(void)write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(1);
}

/* Give a relay up, keeping the first reason. */
static void
bench_fail(struct relay *r, const char *why)
{
	if (r->failed == NULL)
		r->failed = xstrdup(why);
}

/* In the child: become the relay on the outer PTY's slave. Never returns. */
static __dead void
bench_child_exec(struct bench *b, struct relay *r, int slave,
    const char *mode)
{
	char		*argv[8], *cmd, size[32];
	const char	*path;
	sigset_t	 set;
	int		 sig, echo = (strcmp(mode, "echo") == 0);

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1)
		_exit(127);
	if (dup2(slave, STDIN_FILENO) == -1 ||
	    dup2(slave, STDOUT_FILENO) == -1 ||
	    dup2(slave, STDERR_FILENO) == -1)
		_exit(127);
#ifdef HAVE_CLOSE_RANGE
	close_range(3, ~0U, 0);
#else
	for (sig = 3; sig < 1024; sig++)
		close(sig);
#endif

	/* The same terminal type and shell for every relay. */
	setenv("TERM", "xterm", 1);
	setenv("SHELL", "/bin/sh", 1);
	unsetenv("SSH_ORIGINAL_COMMAND");
	snprintf(size, sizeof size, "%zu", b->bytes);

	switch (r->type) {
	case RELAY_BARE:
		path = b->self;
		argv[0] = (char *)b->self;
		argv[1] = (char *)(echo ? "--echo" : "--spew");
		argv[2] = echo ? NULL : size;
		argv[3] = NULL;
		break;
	case RELAY_SCRIPT:
		path = "script";
		if (echo)
			xasprintf(&cmd, "%s --echo", b->self);
		else
			xasprintf(&cmd, "%s --spew %s", b->self, size);
		argv[0] = (char *)"script";
		argv[1] = (char *)"-q";
		argv[2] = (char *)"-f";
		argv[3] = (char *)"-c";
		argv[4] = cmd;
		argv[5] = (char *)"/dev/null";
		argv[6] = NULL;
		break;
	case RELAY_SESSION:
	case RELAY_WATCHED:
		/* The game and its arguments are in the configuration. */
		path = b->session;
		xasprintf(&cmd, "play %s", mode);
		setenv("SSH_ORIGINAL_COMMAND", cmd, 1);
		argv[0] = (char *)b->session;
		argv[1] = (char *)"-f";
		argv[2] = (char *)(r->type == RELAY_WATCHED ?
		    b->config_watched : b->config);
		argv[3] = NULL;
		break;
	default:
		_exit(127);
	}
	execvp(path, argv);
	fprintf(stderr, "bench-relay: cannot run %s: %s\n", path,
	    strerror(errno));
	_exit(127);
}

/* Open an outer PTY and start a relay on it, running mode inside. */
static void
bench_start(struct bench *b, struct relay *r, const char *mode)
{
	struct winsize	 ws;
	sigset_t	 all, old;
	int		 master, slave;
	pid_t		 pid;

	memset(&ws, 0, sizeof ws);
	ws.ws_col = BENCH_COLS;
	ws.ws_row = BENCH_ROWS;
	if (openpty(&master, &slave, NULL, NULL, &ws) != 0)
		fatal("openpty");
	/* The terminal as the relay finds it under sshd with ssh -t. */
	if (bench_raw(slave) != 0)
		fatal("tcsetattr");
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(master);
		bench_child_exec(b, r, slave, mode);
	}
	if (pid > 0)
		bench_pids[r->idx] = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(slave);
	if (pid == -1)
		fatal("fork");
	r->pid = pid;
	r->master = master;
	r->status = 0;
	r->reaped = 0;
}

/*
 * Wait until the master has something to read, then read it. Returns the
 * byte count, 0 on timeout, -1 when the relay has gone (EIO).
 */
static ssize_t
bench_read(struct relay *r, u_char *buf, size_t len, int64_t deadline)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 ready;

	for (;;) {
		n = read(r->master, buf, len);
		if (n > 0)
			return n;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		pfd.fd = r->master;
		pfd.events = POLLIN;
		ready = poll(&pfd, 1, bench_left_ms(deadline));
		if (ready == -1 && errno != EINTR)
			fatal("poll");
		if (ready == 0)
			return 0;
	}
}

/* Write one key to a relay. */
static int
bench_key(struct relay *r, u_char key)
{
	ssize_t	 n;

	do
		n = write(r->master, &key, 1);
	while (n == -1 && errno == EINTR);
	return n == 1 ? 0 : -1;
}

/* Skip the relay's own output up to the program's marker. */
static int
bench_wait_ready(struct relay *r)
{
	const size_t	 mlen = strlen(BENCH_MARKER);
	char		 seen[80], *why;
	size_t		 have = 0, i;
	int64_t		 deadline;
	ssize_t		 n;
	u_char		 c;

	deadline = bench_now_ns() + (int64_t)BENCH_READY_MS * 1000000;
	for (;;) {
		/* One byte at a time: nothing after the marker is eaten. */
		n = bench_read(r, &c, 1, deadline);
		if (n <= 0)
			break;
		/* Keep the tail, printable, to show if the relay fails. */
		if (have == sizeof seen - 1)
			memmove(seen, seen + 1, --have);
		seen[have++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
		seen[have] = '\0';
		if (have >= mlen &&
		    memcmp(seen + have - mlen, BENCH_MARKER, mlen) == 0)
			return 0;
	}
	while (have > 0 && seen[have - 1] == ' ')
		seen[--have] = '\0';
	for (i = 0; i < have && seen[i] == ' '; i++)
		;
	xasprintf(&why, "%s%s%s%s", n == 0 ? "no ready marker in time" :
	    "relay exited before the program was ready", i < have ?
	    " (it said: \"" : "", seen + i, i < have ? "\")" : "");
	bench_fail(r, why);
	free(why);
	return -1;
}

/* The relay's resident set high-water mark, kB, or -1. */
static long
bench_hwm(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* The relay process's own CPU time in seconds (not its children's), or -1. */
static double
bench_cpu(pid_t pid)
{
	char			 path[64], line[1024], *p;
	unsigned long long	 utime, stime;
	FILE			*f;
	int			 ok;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	/* The command name may hold spaces: count fields after its ')'. */
	if (!ok || (p = strrchr(line, ')')) == NULL)
		return -1;
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Note the relay's peak RSS so far. */
static void
bench_note_hwm(struct relay *r)
{
	long	 kb;

	if (r->pid > 0 && !r->reaped && (kb = bench_hwm(r->pid)) > r->hwm_kb)
		r->hwm_kb = kb;
}

/* Reap the relay if it has exited; returns 1 once it has. */
static int
bench_reap(struct relay *r)
{
	if (!r->reaped && waitpid(r->pid, &r->status, WNOHANG) == r->pid) {
		r->reaped = 1;
		bench_pids[r->idx] = 0;
	}
	return r->reaped;
}

/*
 * Send the quit key, drain the master until every slave descriptor has
 * closed, and reap the relay; kill its process group if it lingers.
 */
static void
bench_stop(struct bench *b, struct relay *r)
{
	int64_t	 deadline;
	ssize_t	 n;

	if (r->pid <= 0)
		return;
	deadline = bench_now_ns() + (int64_t)BENCH_QUIT_MS * 1000000;
	if (bench_key(r, BENCH_QUIT) == 0) {
		do
			n = bench_read(r, b->buf, BENCH_READ, deadline);
		while (n > 0);
		while (!bench_reap(r) && bench_left_ms(deadline) > 0)
			usleep(1000);
	}
	if (!bench_reap(r)) {
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, &r->status, 0);
		r->reaped = 1;
		bench_pids[r->idx] = 0;
		bench_fail(r, "did not exit after the quit key");
	} else if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
		r->bad_exit = 1;
	close(r->master);
	r->pid = 0;
	r->master = -1;
}

/*
 * Attach a watcher to a relay's game: dg-session `watch USER` on an outer
 * PTY of its own, under the same broker. Once its first screen has come,
 * a child reads its terminal and throws the bytes away.
 */
static void
bench_watch_start(struct bench *b, struct relay *r)
{
	struct winsize	 ws = { .ws_col = BENCH_COLS, .ws_row = BENCH_ROWS };
	struct passwd	*pw;
	char		*cmd;
	int		 master, slave, fd;
	int64_t		 deadline;
	pid_t		 pid;
	u_char		 buf[4096], seen[65536];
	size_t		 have = 0;
	ssize_t		 n;

	if ((pw = getpwuid(getuid())) == NULL)
		fatalx("who am I?");
	if (openpty(&master, &slave, NULL, NULL, &ws) != 0)
		fatal("openpty");
	if (bench_raw(slave) != 0)
		fatal("tcsetattr");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(master);
		if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1)
			_exit(127);
		dup2(slave, STDIN_FILENO);
		dup2(slave, STDOUT_FILENO);
		dup2(slave, STDERR_FILENO);
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		setenv("TERM", "xterm", 1);
		xasprintf(&cmd, "watch %s", pw->pw_name);
		setenv("SSH_ORIGINAL_COMMAND", cmd, 1);
		execl(b->session, b->session, "-f", b->config_watched,
		    (char *)NULL);
		_exit(127);
	}
	close(slave);
	bench_watch_pids[0] = r->watcher = pid;
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	/* Its screen, then the drain. */
	deadline = bench_now_ns() + (int64_t)BENCH_READY_MS * 1000000;
	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };

		n = read(master, buf, sizeof buf);
		if (n > 0) {
			if (have + (size_t)n > sizeof seen)
				have = 0;
			memcpy(seen + have, buf, (size_t)n);
			have += (size_t)n;
			if (memmem(seen, have, BENCH_MARKER,
			    strlen(BENCH_MARKER)) != NULL)
				break;
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		    poll(&pfd, 1, bench_left_ms(deadline)) == 0) {
			bench_fail(r, "the watcher saw no game");
			break;
		}
	}
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		fcntl(master, F_SETFL, fcntl(master, F_GETFL) & ~O_NONBLOCK);
		while ((n = read(master, buf, sizeof buf)) > 0 ||
		    (n == -1 && errno == EINTR))
			;
		_exit(0);
	}
	bench_watch_pids[1] = r->drain = pid;
	close(master);
}

/* Detach a relay's watcher: it ends, and so does the drain. */
static void
bench_watch_stop(struct relay *r)
{
	if (r->watcher > 0) {
		kill(-r->watcher, SIGTERM);
		waitpid(r->watcher, NULL, 0);
	}
	if (r->drain > 0)
		waitpid(r->drain, NULL, 0);
	r->watcher = r->drain = 0;
	bench_watch_pids[0] = bench_watch_pids[1] = 0;
}

/* Start every relay that has not failed, and wait until each is ready. */
static void
bench_start_all(struct bench *b, const char *mode)
{
	struct relay	*r;
	u_int		 i;

	for (i = 0; i < b->nrelays; i++) {
		r = &b->relays[i];
		if (r->failed == NULL)
			bench_start(b, r, mode);
	}
	for (i = 0; i < b->nrelays; i++) {
		r = &b->relays[i];
		if (r->pid > 0 && bench_wait_ready(r) == 0 &&
		    r->type == RELAY_WATCHED)
			bench_watch_start(b, r);
	}
}

/* Stop every running relay. */
static void
bench_stop_all(struct bench *b)
{
	u_int	 i;

	for (i = 0; i < b->nrelays; i++) {
		bench_watch_stop(&b->relays[i]);
		bench_stop(b, &b->relays[i]);
	}
}

/* One keystroke: a byte out, the time until it is echoed back. */
static int
bench_round_trip(struct bench *b, struct relay *r, u_char key, int record)
{
	int64_t	 t0, deadline;
	ssize_t	 n;

	t0 = bench_now_ns();
	deadline = t0 + (int64_t)BENCH_KEY_MS * 1000000;
	if (bench_key(r, key) != 0) {
		bench_fail(r, "cannot write a key");
		return -1;
	}
	do {
		n = bench_read(r, b->buf, BENCH_READ, deadline);
		if (n <= 0) {
			bench_fail(r, n == 0 ? "echo timed out" :
			    "relay exited during the echo test");
			return -1;
		}
	} while (memchr(b->buf, key, (size_t)n) == NULL);
	if (record)
		r->lat[r->nlat++] = (double)(bench_now_ns() - t0) / 1e3;
	return 0;
}

/*
 * Keystroke echo. The relays run side by side and take turns key by key,
 * so a slow moment of a shared machine falls on all of them alike.
 */
static void
bench_measure_echo(struct bench *b)
{
	struct relay	*r;
	int64_t		 end;
	u_int		 i, j, total = b->warmup + b->count;
	u_char		 key;

	bench_start_all(b, "echo");
	end = bench_now_ns() + (int64_t)BENCH_ECHO_MS * 1000000;
	for (i = 0; i < total && bench_left_ms(end) > 0; i++) {
		key = (u_char)BENCH_KEYS[i % (sizeof BENCH_KEYS - 1)];
		/* Each relay in turn goes first. */
		for (j = 0; j < b->nrelays; j++) {
			r = &b->relays[(i + j) % b->nrelays];
			if (r->failed == NULL)
				bench_round_trip(b, r, key, i >= b->warmup);
		}
	}
	for (i = 0; i < b->nrelays; i++) {
		r = &b->relays[i];
		if (r->failed == NULL && r->nlat < b->count)
			bench_fail(r, "echo test ran out of time");
		bench_note_hwm(r);
	}
	bench_stop_all(b);
}

/* One burst: the program writes b->bytes, time until all are read. */
static int
bench_burst(struct bench *b, struct relay *r)
{
	int64_t		 t0, t1, deadline;
	double		 cpu0, cpu1;
	size_t		 got;
	ssize_t		 n;

	cpu0 = bench_cpu(r->pid);
	t0 = bench_now_ns();
	deadline = t0 + (int64_t)BENCH_BURST_MS * 1000000;
	if (bench_key(r, BENCH_GO) != 0) {
		bench_fail(r, "cannot write a key");
		return -1;
	}
	for (got = 0; got < b->bytes; got += (size_t)n) {
		n = bench_read(r, b->buf, BENCH_READ, deadline);
		if (n <= 0) {
			bench_fail(r, n == 0 ? "burst timed out" :
			    "relay exited during the burst");
			return -1;
		}
	}
	t1 = bench_now_ns();
	cpu1 = bench_cpu(r->pid);
	if (got != b->bytes) {
		bench_fail(r, "more output than the program wrote");
		return -1;
	}
	r->mbps[r->nmbps++] = (double)b->bytes / ((double)(t1 - t0) / 1e9) /
	    1e6;
	r->burst_s += (double)(t1 - t0) / 1e9;
	if (cpu0 >= 0 && cpu1 >= 0)
		r->cpu_s += cpu1 - cpu0;
	return 0;
}

/* Bulk output: the relays take turns, burst by burst. */
static void
bench_measure_spew(struct bench *b)
{
	struct relay	*r;
	u_int		 i, j;

	bench_start_all(b, "spew");
	for (i = 0; i < b->rounds; i++) {
		for (j = 0; j < b->nrelays; j++) {
			r = &b->relays[(i + j) % b->nrelays];
			if (r->failed == NULL)
				bench_burst(b, r);
		}
	}
	for (i = 0; i < b->nrelays; i++)
		bench_note_hwm(&b->relays[i]);
	bench_stop_all(b);
}

/* Print one relay's line of the table. */
static void
bench_print_relay(struct relay *r)
{
	char	 rss[32], cpu[32];

	if (r->type == RELAY_BARE || r->hwm_kb < 0)
		snprintf(rss, sizeof rss, "-");
	else
		snprintf(rss, sizeof rss, "%.1f MiB", r->hwm_kb / 1024.0);
	if (r->type == RELAY_BARE || r->burst_s <= 0)
		snprintf(cpu, sizeof cpu, "-");
	else
		snprintf(cpu, sizeof cpu, "%.0f%%", 100 * r->cpu_s / r->burst_s);
	printf("%-12s %9.1f us %9.1f us %8.1f MB/s %9s %9s%s\n", r->name,
	    bench_percentile(r->lat, r->nlat, 50),
	    bench_percentile(r->lat, r->nlat, 99),
	    bench_percentile(r->mbps, r->nmbps, 50), cpu, rss,
	    r->bad_exit ? "  (exit status not 0)" : "");
}

/* Print a relay against another: times and throughput as ratios. */
static void
bench_print_ratio(struct relay *a, struct relay *b)
{
	char	 label[64];

	if (a->failed != NULL || b->failed != NULL)
		return;
	snprintf(label, sizeof label, "%s/%s", a->name, b->name);
	printf("%-24s p50 %5.2fx   p99 %5.2fx   throughput %5.2fx\n", label,
	    bench_percentile(a->lat, a->nlat, 50) /
	    bench_percentile(b->lat, b->nlat, 50),
	    bench_percentile(a->lat, a->nlat, 99) /
	    bench_percentile(b->lat, b->nlat, 99),
	    bench_percentile(a->mbps, a->nmbps, 50) /
	    bench_percentile(b->mbps, b->nmbps, 50));
}

/* Run every relay, print the figures. */
static void
bench_run(struct bench *b)
{
	static const struct {
		const char	*name;
		enum relay_type	 type;
	} kinds[] = {
		{ "bare", RELAY_BARE },
		{ "script", RELAY_SCRIPT },
		{ "dg-session", RELAY_SESSION },
		{ "dg+rec+watch", RELAY_WATCHED },
	};
	struct relay	*r;
	u_int		 i;

	b->nrelays = b->session == NULL ? 2 : b->config_watched == NULL ? 3 :
	    4;
	for (i = 0; i < b->nrelays; i++) {
		r = &b->relays[i];
		r->name = kinds[i].name;
		r->type = kinds[i].type;
		r->idx = i;
		r->master = -1;
		r->lat = xcalloc(b->count, sizeof *r->lat);
		r->mbps = xcalloc(b->rounds, sizeof *r->mbps);
		r->hwm_kb = -1;
	}

	printf("per relay: %u echo round trips after %u warm-up, %u bursts "
	    "of %zu MiB; the relays take turns\n\n", b->count, b->warmup,
	    b->rounds, b->bytes / (1024 * 1024));
	fflush(stdout);
	bench_measure_echo(b);
	bench_measure_spew(b);

	printf("%-12s %12s %12s %13s %9s %9s\n", "relay", "echo p50",
	    "echo p99", "throughput", "relay CPU", "peak RSS");
	for (i = 0; i < b->nrelays; i++) {
		r = &b->relays[i];
		qsort(r->lat, r->nlat, sizeof *r->lat, bench_cmp);
		qsort(r->mbps, r->nmbps, sizeof *r->mbps, bench_cmp);
		if (r->failed != NULL)
			printf("%-12s failed: %s\n", r->name, r->failed);
		else
			bench_print_relay(r);
	}
	printf("\nratios (times: below 1x is faster; throughput: above 1x "
	    "is faster)\n");
	if (b->nrelays >= 3)
		bench_print_ratio(&b->relays[2], &b->relays[1]);
	if (b->nrelays == 4) {
		bench_print_ratio(&b->relays[3], &b->relays[1]);
		bench_print_ratio(&b->relays[3], &b->relays[2]);
	}
	bench_print_ratio(&b->relays[1], &b->relays[0]);
	if (b->nrelays >= 3)
		bench_print_ratio(&b->relays[2], &b->relays[0]);

	for (i = 0; i < b->nrelays; i++) {
		free(b->relays[i].lat);
		free(b->relays[i].mbps);
		free(b->relays[i].failed);
	}
}

/* Run as the echo or spew program, or as the driver. */
int
main(int argc, char **argv)
{
	struct bench	 b;
	char		 self[PATH_MAX];
	ssize_t		 n;
	int		 ch;

	log_open("bench-relay", LOG_LEVEL_WARN, LOG_TO_STDERR);
	if (argc == 2 && strcmp(argv[1], "--echo") == 0)
		return bench_echo();
	if (argc == 3 && strcmp(argv[1], "--spew") == 0)
		return bench_spew((size_t)bench_number(argv[2], 1, SIZE_MAX));

	memset(&b, 0, sizeof b);
	b.count = BENCH_DEFAULT_COUNT;
	b.warmup = BENCH_DEFAULT_WARMUP;
	b.bytes = BENCH_DEFAULT_BYTES;
	b.rounds = BENCH_DEFAULT_ROUNDS;
	while ((ch = getopt(argc, argv, "d:f:F:n:r:s:w:")) != -1) {
		switch (ch) {
		case 'F':
			b.config_watched = optarg;
			break;
		case 'd':
			b.session = optarg;
			break;
		case 'f':
			b.config = optarg;
			break;
		case 'n':
			b.count = (u_int)bench_number(optarg, 1, 1000000);
			break;
		case 'r':
			b.rounds = (u_int)bench_number(optarg, 1, 100);
			break;
		case 's':
			b.bytes = (size_t)bench_number(optarg, 1, SIZE_MAX / 2);
			break;
		case 'w':
			b.warmup = (u_int)bench_number(optarg, 1, 1000000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (b.session == NULL) != (b.config == NULL) ||
	    (b.config_watched != NULL && b.session == NULL))
		usage();
	if ((n = readlink("/proc/self/exe", self, sizeof self - 1)) == -1)
		fatal("readlink /proc/self/exe");
	self[n] = '\0';
	if (strchr(self, ' ') != NULL)
		fatalx("the path of bench-relay must not hold spaces: %s", self);
	b.self = self;
	b.buf = xmalloc(BENCH_READ);

	signal(SIGINT, bench_signal);
	signal(SIGTERM, bench_signal);
	signal(SIGHUP, bench_signal);
	signal(SIGALRM, bench_signal);
	alarm(BENCH_WATCHDOG_S);

	bench_run(&b);
	free(b.buf);
	return 0;
}
