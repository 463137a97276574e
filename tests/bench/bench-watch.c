/*
 * bench-watch: what watching costs. A player's dg-session and its
 * watchers' (`watch USER`) each run on an outer PTY (what sshd gives a
 * session) against a real dg-broker; the driver types and reads on the
 * masters, where sshd would sit.
 *
 *   bench-watch -d DG_SESSION -f CONFIG -b BROKER_PID [-n KEYS]
 *       [-m WATCHERS]
 *
 * It prints:
 *  - watcher lag: a key typed to the player's game (which echoes it), the
 *    time until the echo reaches the player's terminal and the watcher's;
 *  - a late watcher's first full screen after 1 MB and after 100 MB of
 *    game output (from starting `watch USER` to the whole screen read);
 *  - the player's throughput with 0, 1 and WATCHERS watchers reading,
 *    and with one stopped watcher (a terminal never read);
 *  - the broker's CPU for those bursts, and its memory with one game and
 *    with WATCHERS watchers of it.
 *
 * The same binary is the game: `bench-watch --game` echoes keys and, on
 * each 'g', writes the size it is then sent in varied output (colours,
 * cursor moves, scrolling), ending with a line the driver waits for. It
 * prints figures; it never fails on a time.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "dungeongate.h"
#include "bench-common.h"

#define BW_READY	"[bench-watch ready]"
#define BW_END		"[bench-watch end]"
#define BW_COLS		80
#define BW_ROWS		24
#define BW_MAX_WATCHERS	200
#define BW_TIMEOUT_MS	60000
#define BW_BURST	(32 * 1024 * 1024)

/* A dg-session on an outer PTY. */
struct term {
	pid_t		 pid;
	int		 master;
	pid_t		 drain;		/* a child reading it, or 0 */
};

static const char	*bw_session;
static const char	*bw_config;
static pid_t		 bw_broker;
static char		 bw_user[64];
static struct term	 bw_all[BW_MAX_WATCHERS + 4];
static u_int		 bw_nall;

/* Raw mode: no echo, no signals, no output processing. */
static int
bw_raw(int fd)
{
	struct termios	 t;

	if (tcgetattr(fd, &t) != 0)
		return -1;
	cfmakeraw(&t);
	return tcsetattr(fd, TCSANOW, &t);
}

/* The game: echo keys; on g, a burst of the size given in digits before. */
static int
bw_game(void)
{
	char		 out[8192];
	uint64_t	 want = 0, done;
	uint32_t	 seed = 1;
	u_char		 c;
	int		 n;

	if (bw_raw(STDIN_FILENO) != 0)
		return 1;
	util_write_all(STDOUT_FILENO, "\033[H\033[2J" BW_READY "\r\n", 28);
	while (read(STDIN_FILENO, &c, 1) == 1) {
		if (c == 'q')
			return 0;
		if (c >= '0' && c <= '9') {
			want = want * 10 + (c - '0');
			continue;
		}
		if (c != 'g') {
			util_write_all(STDOUT_FILENO, &c, 1);
			continue;
		}
		for (done = 0; done < want; done += (uint64_t)n) {
			seed = seed * 1103515245 + 12345;
			n = snprintf(out, sizeof out, "\033[%u;%uH\033[3%u;4%um"
			    "the gnome lord hits! %08x |....| ###### \033[0m",
			    1 + (seed >> 16) % BW_ROWS, 1 + (seed >> 8) % 40,
			    (seed >> 4) % 8, (seed >> 12) % 8, seed);
			if ((seed >> 20) % 8 == 0)
				n += snprintf(out + n, sizeof out - (size_t)n,
				    "\033[%u;1H\r\n\r\n", BW_ROWS);
			util_write_all(STDOUT_FILENO, out, (size_t)n);
		}
		want = 0;
		n = snprintf(out, sizeof out, "\033[0m\033[H\033[2J%s\r\n",
		    BW_END);
		util_write_all(STDOUT_FILENO, out, (size_t)n);
	}
	return 0;
}

/* Start dg-session on a fresh outer PTY with a command. */
static void
bw_start(struct term *t, const char *command)
{
	struct winsize	 ws = { .ws_col = BW_COLS, .ws_row = BW_ROWS };
	int		 slave, fd;

	if (openpty(&t->master, &slave, NULL, NULL, &ws) != 0)
		fatal("openpty");
	bw_raw(slave);
	if ((t->pid = fork()) == -1)
		fatal("fork");
	if (t->pid == 0) {
		if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1)
			_exit(127);
		dup2(slave, 0);
		dup2(slave, 1);
		dup2(slave, 2);
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		setenv("TERM", "xterm", 1);
		setenv("SSH_ORIGINAL_COMMAND", command, 1);
		execl(bw_session, bw_session, "-f", bw_config, (char *)NULL);
		_exit(127);
	}
	close(slave);
	fcntl(t->master, F_SETFL, fcntl(t->master, F_GETFL) | O_NONBLOCK);
	t->drain = 0;
	if (bw_nall < nitems(bw_all))
		bw_all[bw_nall++] = *t;
}

/*
 * Read a terminal until a text has been seen (across reads); returns 0,
 * or -1 on timeout or EOF.
 */
static int
bw_wait_for(struct term *t, const char *text, int64_t timeout_ms)
{
	static u_char	 buf[262144];
	size_t		 have = 0, tlen = strlen(text), keep;
	int64_t		 end = bench_now_ns() + timeout_ms * 1000000;
	struct pollfd	 pfd = { .fd = t->master, .events = POLLIN };
	ssize_t		 n;

	for (;;) {
		n = read(t->master, buf + have, sizeof buf - have);
		if (n > 0) {
			have += (size_t)n;
			if (memmem(buf, have, text, tlen) != NULL)
				return 0;
			keep = have < tlen ? have : tlen;
			memmove(buf, buf + have - keep, keep);
			have = keep;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (bench_now_ns() >= end)
			return -1;
		poll(&pfd, 1, 100);
	}
}

/* Type into a terminal. */
static void
bw_type(struct term *t, const char *s)
{
	util_write_all(t->master, s, strlen(s));
}

/* Read and throw away a terminal's output from a child, until it ends. */
static void
bw_drain(struct term *t)
{
	u_char	 buf[65536];
	ssize_t	 n;

	if ((t->drain = fork()) == -1)
		fatal("fork");
	if (t->drain == 0) {
		fcntl(t->master, F_SETFL, fcntl(t->master, F_GETFL) &
		    ~O_NONBLOCK);
		while ((n = read(t->master, buf, sizeof buf)) > 0 ||
		    (n == -1 && errno == EINTR))
			;
		_exit(0);
	}
}

/* End a session (SIGTERM to its group) and its drain. */
static void
bw_stop(struct term *t)
{
	u_int	 i;

	if (t->pid > 0) {
		kill(-t->pid, SIGTERM);
		kill(-t->pid, SIGCONT);
		waitpid(t->pid, NULL, 0);
	}
	if (t->drain > 0) {
		kill(t->drain, SIGTERM);
		waitpid(t->drain, NULL, 0);
	}
	close(t->master);
	for (i = 0; i < bw_nall; i++) {
		if (bw_all[i].pid == t->pid)
			bw_all[i].pid = 0;
	}
	t->pid = t->drain = 0;
}

/* The broker's CPU seconds so far, and its resident memory in kB. */
static double
bw_broker_cpu(void)
{
	char			 path[64], line[1024], *p;
	unsigned long long	 u, s;
	FILE			*f;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)bw_broker);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof line, f);
	fclose(f);
	if (p == NULL || (p = strrchr(line, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &u, &s) != 2)
		return -1;
	return (double)(u + s) / (double)sysconf(_SC_CLK_TCK);
}

static long
bw_broker_rss(void)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)bw_broker);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * A watcher of the player's game: started, and its first screen read
 * (up to a text it shows).
 */
static int
bw_watch(struct term *w, const char *shows, int64_t *ns)
{
	char	 cmd[96];
	int64_t	 t0 = bench_now_ns();

	snprintf(cmd, sizeof cmd, "watch %s", bw_user);
	bw_start(w, cmd);
	if (bw_wait_for(w, shows, BW_TIMEOUT_MS) != 0)
		return -1;
	if (ns != NULL)
		*ns = bench_now_ns() - t0;
	return 0;
}

/* One burst of the player's game; returns MB/s, the broker's CPU used. */
static double
bw_burst(struct term *p, size_t bytes, double *cpu)
{
	char	 cmd[32];
	double	 c0 = bw_broker_cpu();
	int64_t	 t0 = bench_now_ns(), t1;

	snprintf(cmd, sizeof cmd, "%zug", bytes);
	bw_type(p, cmd);
	if (bw_wait_for(p, BW_END, BW_TIMEOUT_MS) != 0)
		return -1;
	t1 = bench_now_ns();
	*cpu = bw_broker_cpu() - c0;
	return (double)bytes / ((double)(t1 - t0) / 1e9) / 1e6;
}

/* Stop everything still running. */
static void
bw_cleanup(int sig)
{
	u_int	 i;

	for (i = 0; i < bw_nall; i++) {
		if (bw_all[i].pid > 0)
			kill(-bw_all[i].pid, SIGKILL);
		if (bw_all[i].drain > 0)
			kill(bw_all[i].drain, SIGKILL);
	}
	if (sig != 0)
		_exit(1);
}

static __dead void
usage(void)
{
	fprintf(stderr, "usage: bench-watch -d dg-session -f config -b "
	    "broker-pid [-n keys] [-m watchers]\n       bench-watch --game\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	struct term	 player, w1, stopped, many[BW_MAX_WATCHERS];
	double		*lp, *lw, *ld, mbps, cpu, sec1, sec100;
	u_int		 nkeys = 500, nmany = 100, i, j, got;
	long		 rss0, rss1, rss100;
	int64_t		 t0, tp, tw, ns;
	struct passwd	*pw;
	char		 key[2] = { 0, 0 };
	int		 ch;

	log_open("bench-watch", LOG_LEVEL_WARN, LOG_TO_STDERR);
	if (argc == 2 && strcmp(argv[1], "--game") == 0)
		return bw_game();
	while ((ch = getopt(argc, argv, "b:d:f:m:n:")) != -1) {
		switch (ch) {
		case 'b':
			bw_broker = (pid_t)bench_number(optarg, 1, 1 << 30);
			break;
		case 'd':
			bw_session = optarg;
			break;
		case 'f':
			bw_config = optarg;
			break;
		case 'm':
			nmany = (u_int)bench_number(optarg, 1, BW_MAX_WATCHERS);
			break;
		case 'n':
			nkeys = (u_int)bench_number(optarg, 10, 100000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || bw_session == NULL || bw_config == NULL ||
	    bw_broker == 0)
		usage();
	if ((pw = getpwuid(getuid())) == NULL)
		fatalx("who am I?");
	snprintf(bw_user, sizeof bw_user, "%s", pw->pw_name);
	signal(SIGINT, bw_cleanup);
	signal(SIGTERM, bw_cleanup);
	signal(SIGALRM, bw_cleanup);
	alarm(600);

	rss0 = bw_broker_rss();
	bw_start(&player, "play watchbench");
	if (bw_wait_for(&player, BW_READY, 10000) != 0)
		fatalx("the game did not start");
	rss1 = bw_broker_rss();

	/* Lag: the echo on the player's terminal and on the watcher's. */
	if (bw_watch(&w1, BW_READY, NULL) != 0)
		fatalx("the watcher saw no game");
	lp = xcalloc(nkeys, sizeof *lp);
	lw = xcalloc(nkeys, sizeof *lw);
	ld = xcalloc(nkeys, sizeof *ld);
	for (i = got = 0; i < nkeys; i++) {
		/* Letters the game echoes: not g (a burst) nor q (quit). */
		key[0] = "abcdefhijklmnoprstuvwxyz"[i % 24];
		t0 = bench_now_ns();
		bw_type(&player, key);
		if (bw_wait_for(&player, key, 2000) != 0)
			continue;
		tp = bench_now_ns();
		if (bw_wait_for(&w1, key, 2000) != 0)
			continue;
		tw = bench_now_ns();
		lp[got] = (double)(tp - t0) / 1e3;
		lw[got] = (double)(tw - t0) / 1e3;
		ld[got] = (double)(tw - tp) / 1e3;
		got++;
	}
	qsort(lp, got, sizeof *lp, bench_cmp);
	qsort(lw, got, sizeof *lw, bench_cmp);
	qsort(ld, got, sizeof *ld, bench_cmp);
	printf("watcher lag, %u keys echoed by the game:\n", got);
	printf("  key to the player's terminal   p50 %8.1f us  p99 %8.1f us\n",
	    bench_percentile(lp, got, 50), bench_percentile(lp, got, 99));
	printf("  key to the watcher's terminal  p50 %8.1f us  p99 %8.1f us\n",
	    bench_percentile(lw, got, 50), bench_percentile(lw, got, 99));
	printf("  the watcher behind the player  p50 %8.1f us  p99 %8.1f us\n",
	    bench_percentile(ld, got, 50), bench_percentile(ld, got, 99));
	bw_stop(&w1);

	/* A late watcher's first screen, after 1 MB and after 100 MB. */
	bw_burst(&player, 1024 * 1024, &cpu);
	sec1 = -1;
	if (bw_watch(&w1, BW_END, &ns) == 0)
		sec1 = (double)ns / 1e6;
	bw_stop(&w1);
	for (j = 0; j < 99; j++)
		bw_burst(&player, 1024 * 1024, &cpu);
	sec100 = -1;
	if (bw_watch(&w1, BW_END, &ns) == 0)
		sec100 = (double)ns / 1e6;
	bw_stop(&w1);
	printf("\na late watcher's first full screen (start of `watch` to the "
	    "screen read):\n  after 1 MB of game output   %8.1f ms\n"
	    "  after 100 MB               %8.1f ms\n", sec1, sec100);

	/* Throughput with watchers. */
	printf("\nthe player's throughput, %d MiB bursts, and the broker's "
	    "CPU for them:\n", BW_BURST / (1024 * 1024));
	mbps = bw_burst(&player, BW_BURST, &cpu);
	printf("  no watcher                %8.1f MB/s   broker %5.2f s\n",
	    mbps, cpu);
	bw_watch(&w1, BW_END, NULL);
	bw_drain(&w1);
	mbps = bw_burst(&player, BW_BURST, &cpu);
	printf("  1 watcher                 %8.1f MB/s   broker %5.2f s\n",
	    mbps, cpu);
	bw_stop(&w1);
	bw_watch(&stopped, BW_END, NULL);
	mbps = bw_burst(&player, BW_BURST, &cpu);
	printf("  1 stopped watcher         %8.1f MB/s   broker %5.2f s\n",
	    mbps, cpu);
	bw_stop(&stopped);
	for (i = 0; i < nmany; i++) {
		if (bw_watch(&many[i], BW_END, NULL) != 0)
			fatalx("watcher %u saw no game", i);
		bw_drain(&many[i]);
	}
	rss100 = bw_broker_rss();
	mbps = bw_burst(&player, BW_BURST, &cpu);
	printf("  %u watchers              %8.1f MB/s   broker %5.2f s\n",
	    nmany, mbps, cpu);
	for (i = 0; i < nmany; i++)
		bw_stop(&many[i]);

	printf("\nthe broker's memory: %ld kB idle, %ld kB with one game "
	    "(%+ld kB), %ld kB with %u watchers of it (%+.1f kB each)\n",
	    rss0, rss1, rss1 - rss0, rss100, nmany,
	    (double)(rss100 - rss1) / nmany);
	bw_type(&player, "q");
	bw_stop(&player);
	bw_cleanup(0);
	free(lp);
	free(lw);
	free(ld);
	return 0;
}
