/*
 * The resource sampler: a thread of its own reads what the broker needs
 * from the system once a second (the kernel's PTYs in use and their
 * limit, the broker's own open descriptors and memory, whether each
 * game's program can be run, and what the games really use: their
 * memory, CPU and PTY descriptors), and decisions, --check, --status and
 * the metrics answer from the last sample. Nothing on the event loop
 * reads /proc or touches the disk for them, and work that fills the
 * worker pool (slow lookups) cannot hold the samples back.
 *
 * The loop asks for a sample (with the programs of the configuration in
 * force, that configuration's generation, and the pid of each session
 * that holds a lease) and the thread hands the result back through a
 * pipe, as the worker pool does.
 *
 * A game is the session's child (dg-session forks and execs it), so the
 * thread finds it in /proc/PID/task/PID/children of the session's pid,
 * which the kernel gave the broker (SO_PEERCRED): nothing a session says
 * about itself is trusted. A game's processes are it and its
 * descendants, at most SAMPLE_MAX_TREE of them. The cost is a few reads
 * per game per second, on this thread.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"

/* Most processes counted as one game's (the game and its descendants). */
#define SAMPLE_MAX_TREE	64
/* Most descriptors of one process looked at for PTYs. */
#define SAMPLE_MAX_FDS	(BROKER_GAME_NOFILE + 64)

/* What the thread remembers of one game, for its CPU rate. */
struct sample_game {
	uint64_t	 ticks;		/* CPU clock ticks of its processes */
	int64_t		 at;		/* monotonic ms */
	uint64_t	 seen;		/* the pass that last found it */
};

struct sampler {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 stopping;
	int		 wake[2];
	struct event	*wake_ev;
	struct event	*tick;

	/* What the loop asked for (under lock). */
	int		 requested;
	uint64_t	 generation;
	uint64_t	 granted;	/* leases granted until the request */
	u_int		 nprograms;
	char		*programs[CONFIG_MAX_GAMES];
	pid_t		*sessions;	/* pids of sessions with a lease */
	u_int		 nsessions;

	/* What the thread found (under lock). */
	int		 ready;
	struct sample	 result;

	/* The thread's own. */
	struct idmap	 games;		/* session pid: struct sample_game */
	uint64_t	 pass;
	long		 page_size;
	long		 ticks_per_second;
};

/* Read one unsigned number from a /proc file; 0 or -1. */
static int
sample_read_uint(const char *path, u_int *out)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	ok = fscanf(f, "%u", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* Count the broker's open descriptors. */
static u_int
sample_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	u_int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* less the one opendir holds */
}

/* Resident memory of a process, in bytes, from /proc/PID/statm. */
static uint64_t
sample_rss(const char *pid, long page_size)
{
	char			 path[64];
	FILE			*f;
	unsigned long long	 size, resident;
	int			 ok;

	snprintf(path, sizeof path, "/proc/%s/statm", pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	ok = fscanf(f, "%llu %llu", &size, &resident) == 2;
	fclose(f);
	return ok ? (uint64_t)resident * (uint64_t)page_size : 0;
}

/*
 * CPU clock ticks a process has used, its reaped children's included,
 * from /proc/PID/stat (utime, stime, cutime, cstime: fields 14 to 17).
 */
static uint64_t
sample_ticks(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st, cut, cst;
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The name in parentheses may hold anything: skip past its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu %llu %llu", &ut, &st, &cut, &cst) != 4)
		return 0;
	return ut + st + cut + cst;
}

/*
 * Append the children of pid to a list of at most max pids, from
 * /proc/PID/task/PID/children. Returns the new length.
 */
static u_int
sample_children(pid_t pid, pid_t *list, u_int n, u_int max)
{
	char	 path[96], buf[4096], *p, *end;
	ssize_t	 len;
	long	 child;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)pid,
	    (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return n;
	len = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (len <= 0)
		return n;
	buf[len] = '\0';
	for (p = buf; n < max; p = end) {
		child = strtol(p, &end, 10);
		if (end == p || child <= 0)
			break;
		list[n++] = (pid_t)child;
	}
	return n;
}

/*
 * Descriptors of a process that are PTYs: masters (/dev/ptmx) or
 * slaves (/dev/pts/N), as asked.
 */
static u_int
sample_pty_fds(pid_t pid, int masters)
{
	char		 path[64], link[352], target[64];
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;
	u_int		 count = 0, looked = 0;

	snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && looked++ < SAMPLE_MAX_FDS) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", path, de->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (masters ? strcmp(target, "/dev/ptmx") == 0 :
		    strncmp(target, "/dev/pts/", 9) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/*
 * One session's game: its processes' memory, CPU ticks and PTY
 * descriptors (the master in the session, the slaves in the game's
 * processes). Returns 0, or -1 when the session has no child.
 */
static int
sample_game(struct sampler *sp, pid_t session, struct sample *s,
    uint64_t *ticks)
{
	pid_t	 tree[SAMPLE_MAX_TREE];
	char	 pid[32];
	u_int	 n, i;

	n = sample_children(session, tree, 0, SAMPLE_MAX_TREE);
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++)
		n = sample_children(tree[i], tree, n, SAMPLE_MAX_TREE);
	*ticks = 0;
	for (i = 0; i < n; i++) {
		snprintf(pid, sizeof pid, "%ld", (long)tree[i]);
		s->games_rss += sample_rss(pid, sp->page_size);
		*ticks += sample_ticks(tree[i]);
		s->games_pty_fds += sample_pty_fds(tree[i], 0);
	}
	s->games_pty_fds += sample_pty_fds(session, 1);
	s->games_processes += n;
	return 0;
}

/*
 * The games of the sessions that hold leases: memory and descriptors
 * now, and CPU in cores since the last pass (for games seen then).
 */
static void
sample_games(struct sampler *sp, struct sample *s, const pid_t *sessions,
    u_int nsessions)
{
	struct sample_game	*g;
	struct idmap_cursor	 cur;
	uint64_t		 ticks, key, *gone;
	int64_t			 now = util_now_ms();
	double			 cores = 0;
	u_int			 i, ngone = 0;
	void			*v;

	sp->pass++;
	for (i = 0; i < nsessions; i++) {
		if (sample_game(sp, sessions[i], s, &ticks) != 0)
			continue;
		s->games_found++;
		if ((g = idmap_get(&sp->games, (uint64_t)sessions[i])) ==
		    NULL) {
			g = xcalloc(1, sizeof *g);
			idmap_put(&sp->games, (uint64_t)sessions[i], g);
		} else if (now > g->at && ticks >= g->ticks)
			cores += (double)(ticks - g->ticks) /
			    (double)sp->ticks_per_second /
			    ((double)(now - g->at) / 1000);
		g->ticks = ticks;
		g->at = now;
		g->seen = sp->pass;
	}
	s->games_cpu = cores;

	/* Forget the games that have gone. */
	gone = xcalloc(idmap_size(&sp->games) + 1, sizeof *gone);
	memset(&cur, 0, sizeof cur);
	while (idmap_next(&sp->games, &cur, &key, &v)) {
		if (((struct sample_game *)v)->seen != sp->pass)
			gone[ngone++] = key;
	}
	for (i = 0; i < ngone; i++)
		free(idmap_remove(&sp->games, gone[i]));
	free(gone);
}

/* Take a sample: /proc, and whether each program can be run. */
static void
sample_take(struct sampler *sp, struct sample *s, char *const *programs,
    u_int nprograms, uint64_t generation, const pid_t *sessions,
    u_int nsessions)
{
	u_int	 i;

	memset(s, 0, sizeof *s);
	s->kernel_ptys =
	    sample_read_uint("/proc/sys/kernel/pty/nr", &s->pty_nr) == 0 &&
	    sample_read_uint("/proc/sys/kernel/pty/max", &s->pty_max) == 0;
	s->open_fds = sample_open_fds();
	s->rss = sample_rss("self", sp->page_size);
	for (i = 0; i < nprograms; i++)
		s->game_ok[i] = access(programs[i], X_OK) == 0;
	s->ngames = nprograms;
	sample_games(sp, s, sessions, nsessions);
	s->generation = generation;
	s->at = util_now_ms();
}

/* The sampler's thread: one sample per request, until told to stop. */
static void *
sample_main(void *arg)
{
	struct sampler	*sp = arg;
	struct sample	 s;
	char		*programs[CONFIG_MAX_GAMES];
	pid_t		*sessions;
	uint64_t	 generation, granted;
	u_int		 n, i, nsessions;
	char		 c = 's';

	pthread_mutex_lock(&sp->lock);
	for (;;) {
		while (!sp->requested && !sp->stopping)
			pthread_cond_wait(&sp->cond, &sp->lock);
		if (sp->stopping)
			break;
		sp->requested = 0;
		n = sp->nprograms;
		for (i = 0; i < n; i++)
			programs[i] = xstrdup(sp->programs[i]);
		generation = sp->generation;
		granted = sp->granted;
		sessions = sp->sessions;
		nsessions = sp->nsessions;
		sp->sessions = NULL;
		sp->nsessions = 0;
		pthread_mutex_unlock(&sp->lock);

		sample_take(sp, &s, programs, n, generation, sessions,
		    nsessions);
		s.granted = granted;
		for (i = 0; i < n; i++)
			free(programs[i]);
		free(sessions);

		pthread_mutex_lock(&sp->lock);
		sp->result = s;
		sp->ready = 1;
		pthread_mutex_unlock(&sp->lock);
		while (write(sp->wake[1], &c, 1) == -1 && errno == EINTR)
			;
		pthread_mutex_lock(&sp->lock);
	}
	pthread_mutex_unlock(&sp->lock);
	return NULL;
}

/* The program each game of the configuration in force runs. */
static u_int
sample_programs(const struct config *cfg, char **programs)
{
	char	**argv, *cause;
	u_int	  i;

	for (i = 0; i < cfg->ngames; i++) {
		if (config_expand_command(cfg->games[i].command, "user", "/",
		    &argv, &cause) != 0)
			fatalx("validated command does not expand: %s", cause);
		programs[i] = xstrdup(argv[0]);
		config_free_argv(argv);
	}
	return cfg->ngames;
}

/* The pids of the sessions that hold leases; *n is how many. */
static pid_t *
sample_sessions(struct broker *b, u_int *n)
{
	struct lease	*l;
	struct client	*c;
	pid_t		*pids;

	*n = 0;
	pids = xcalloc(b->leases.count + 1, sizeof *pids);
	TAILQ_FOREACH(l, &b->leases.list, entry) {
		if ((c = client_find(b, l->client)) != NULL && c->pid > 0 &&
		    *n < b->leases.count)
			pids[(*n)++] = c->pid;
	}
	return pids;
}

/* Ask the thread for a sample of the configuration in force. */
void
sample_request(struct broker *b)
{
	struct sampler	*sp = b->sampler;
	char		*programs[CONFIG_MAX_GAMES];
	pid_t		*sessions;
	u_int		 n, i, nsessions;

	n = sample_programs(b->cfg, programs);
	sessions = sample_sessions(b, &nsessions);
	pthread_mutex_lock(&sp->lock);
	for (i = 0; i < sp->nprograms; i++)
		free(sp->programs[i]);
	for (i = 0; i < n; i++)
		sp->programs[i] = programs[i];
	sp->nprograms = n;
	free(sp->sessions);
	sp->sessions = sessions;
	sp->nsessions = nsessions;
	sp->generation = b->cfg_generation;
	sp->granted = b->leases.granted;
	sp->requested = 1;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
}

/* A sample is back: it becomes the broker's. */
static void
sample_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;
	struct sampler	*sp = b->sampler;
	char		 buf[64];
	int		 ready;

	while (read(fd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&sp->lock);
	if ((ready = sp->ready)) {
		b->sample = sp->result;
		sp->ready = 0;
	}
	pthread_mutex_unlock(&sp->lock);
	if (ready)
		health_sampled(b);
}

/*
 * Once a second: a fresh sample, the metrics' rates, and the summaries
 * of peers' log lines held back.
 */
static void
sample_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	sample_request(arg);
	metrics_tick(arg);
	log_peer_flush();
}

/*
 * Take a first sample now, before serving, and start the thread that
 * takes one every BROKER_SAMPLE_MS.
 */
void
sample_start(struct broker *b)
{
	struct sampler	*sp;
	struct timeval	 tv = util_timeval_ms(BROKER_SAMPLE_MS);
	char		*programs[CONFIG_MAX_GAMES];
	u_int		 n, i;

	sp = b->sampler = xcalloc(1, sizeof *sp);
	idmap_init(&sp->games);
	if ((sp->page_size = sysconf(_SC_PAGESIZE)) <= 0)
		sp->page_size = 4096;
	if ((sp->ticks_per_second = sysconf(_SC_CLK_TCK)) <= 0)
		sp->ticks_per_second = 100;
	n = sample_programs(b->cfg, programs);
	sample_take(sp, &b->sample, programs, n, b->cfg_generation, NULL, 0);
	b->sample.granted = b->leases.granted;
	for (i = 0; i < n; i++)
		free(programs[i]);

	pthread_mutex_init(&sp->lock, NULL);
	pthread_cond_init(&sp->cond, NULL);
	if (pipe2(sp->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		fatal("pipe2");
	if (pthread_create(&sp->thread, NULL, sample_main, sp) != 0)
		fatalx("cannot start the sampler thread");
	sp->wake_ev = event_new(b->base, sp->wake[0], EV_READ | EV_PERSIST,
	    sample_wake_cb, b);
	event_add(sp->wake_ev, NULL);
	sp->tick = event_new(b->base, -1, EV_PERSIST, sample_tick_cb, b);
	event_add(sp->tick, &tv);
}

/*
 * Stop the thread, waiting up to timeout ms for a sample under way (a
 * program on a hung file system may hold it); a thread that does not
 * stop in time is left to the exit. Returns 0, or -1 when it was left.
 */
int
sample_stop(struct broker *b, uint64_t timeout)
{
	struct sampler	*sp = b->sampler;
	struct timespec	 ts;
	u_int		 i;

	if (sp == NULL)
		return 0;
	event_free(sp->tick);
	event_free(sp->wake_ev);
	pthread_mutex_lock(&sp->lock);
	sp->stopping = 1;
	pthread_cond_signal(&sp->cond);
	pthread_mutex_unlock(&sp->lock);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(timeout / 1000);
	ts.tv_nsec += (long)(timeout % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	if (pthread_timedjoin_np(sp->thread, NULL, &ts) != 0) {
		log_warn("the sampler is still busy at exit", NULL);
		pthread_detach(sp->thread);
		b->sampler = NULL;
		return -1;
	}
	for (i = 0; i < sp->nprograms; i++)
		free(sp->programs[i]);
	free(sp->sessions);
	idmap_clear(&sp->games, free);
	close(sp->wake[0]);
	close(sp->wake[1]);
	pthread_cond_destroy(&sp->cond);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
	b->sampler = NULL;
	return 0;
}

/*
 * Kernel PTYs in use (as sampled, plus the games granted since it was
 * asked for) and their limit. Returns 0, or -1 when the kernel does not
 * say.
 */
int
sample_pty_room(const struct broker *b, u_int *nr, u_int *max)
{
	if (!b->sample.kernel_ptys)
		return -1;
	*nr = b->sample.pty_nr + (u_int)(b->leases.granted - b->sample.granted);
	*max = b->sample.pty_max;
	return 0;
}
