/*
 * The resource sampler: a thread of its own reads what the broker needs
 * from the system once a second (the kernel's PTYs in use and their
 * limit, the broker's own open descriptors and memory, whether each
 * game's program can be run, and what the games really use: their
 * memory and CPU), and decisions, --check, --status and
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
 * per game per second, on this thread. The descriptors on the games'
 * PTYs are the sessions' to count (a broker that is not root may not
 * read another user's descriptor table): each reports them.
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

/* The most of a /proc file read for one sample. */
#define SAMPLE_FILE_MAX	(64 * 1024)
/* Most processes counted as one game's (the game and its descendants). */
#define SAMPLE_MAX_TREE	64

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
	char		*stat_file;	/* where CPU and memory are read */
	char		*meminfo_file;
	pid_t		*sessions;	/* pids of sessions with a lease */
	u_int		 nsessions;

	/* What the thread found (under lock). */
	int		 ready;
	struct sample	 result;

	/* The thread's own. */
	struct idmap	 games;		/* session pid: struct sample_game */
	uint64_t	 pass;
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

/* The machine's CPU and memory, for load shedding. */
static void
sample_load(struct sample *s, const char *stat_file, const char *meminfo)
{
	char	 buf[SAMPLE_FILE_MAX];
	ssize_t	 n;

	if (stat_file != NULL &&
	    (n = proc_read(stat_file, buf, sizeof buf)) > 0)
		s->cpu_ok = shed_parse_stat(buf, (size_t)n, &s->cpu) == 0;
	if (meminfo != NULL &&
	    (n = proc_read(meminfo, buf, sizeof buf)) > 0)
		s->mem_ok = shed_parse_meminfo(buf, (size_t)n,
		    &s->memory) == 0;
}

/*
 * One session's game: its processes' memory and CPU ticks. Returns 0,
 * or -1 when the session has no child.
 */
static int
sample_game(pid_t session, struct sample *s, uint64_t *ticks)
{
	pid_t	 tree[SAMPLE_MAX_TREE + 1];
	int64_t	 t;
	u_int	 n, i;

	/* The session itself is first: the game is what follows. */
	if ((n = proc_tree(session, tree, nitems(tree))) < 2)
		return -1;
	*ticks = 0;
	for (i = 1; i < n; i++) {
		s->games_rss += proc_rss(tree[i]);
		if ((t = proc_cpu_ticks(tree[i], 1)) > 0)
			*ticks += (uint64_t)t;
	}
	s->games_processes += n - 1;
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
		if (sample_game(sessions[i], s, &ticks) != 0)
			continue;
		s->games_found++;
		if ((g = idmap_get(&sp->games, (uint64_t)sessions[i])) ==
		    NULL) {
			g = xcalloc(1, sizeof *g);
			idmap_put(&sp->games, (uint64_t)sessions[i], g);
		} else if (now > g->at && ticks >= g->ticks)
			cores += (double)(ticks - g->ticks) /
			    (double)proc_ticks_per_second() /
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
    u_int nsessions, const char *stat_file, const char *meminfo)
{
	u_int	 i;

	memset(s, 0, sizeof *s);
	sample_load(s, stat_file, meminfo);
	s->kernel_ptys =
	    sample_read_uint("/proc/sys/kernel/pty/nr", &s->pty_nr) == 0 &&
	    sample_read_uint("/proc/sys/kernel/pty/max", &s->pty_max) == 0;
	s->open_fds = sample_open_fds();
	s->rss = proc_rss(0);
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
	char		 c = 's', *stat_file, *meminfo;

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
		stat_file = xstrdup(sp->stat_file);
		meminfo = xstrdup(sp->meminfo_file);
		sessions = sp->sessions;
		nsessions = sp->nsessions;
		sp->sessions = NULL;
		sp->nsessions = 0;
		pthread_mutex_unlock(&sp->lock);

		sample_take(sp, &s, programs, n, generation, sessions,
		    nsessions, stat_file, meminfo);
		s.granted = granted;
		for (i = 0; i < n; i++)
			free(programs[i]);
		free(sessions);
		free(stat_file);
		free(meminfo);

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
	free(sp->stat_file);
	free(sp->meminfo_file);
	sp->stat_file = xstrdup(b->cfg->shed_stat_file);
	sp->meminfo_file = xstrdup(b->cfg->shed_meminfo_file);
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
	if (!ready)
		return;
	if (shed_sample(&b->shed, &b->sample.cpu, b->sample.cpu_ok,
	    b->sample.memory, b->sample.mem_ok))
		log_warn(shed_active(&b->shed) ? "load shedding started" :
		    "load shedding stopped", "cpu=%.2f memory=%.2f "
		    "cpu_threshold=%g memory_threshold=%g", shed_cpu(&b->shed),
		    shed_memory(&b->shed), b->cfg->shed_cpu_threshold,
		    b->cfg->shed_memory_threshold);
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
	n = sample_programs(b->cfg, programs);
	sample_take(sp, &b->sample, programs, n, b->cfg_generation, NULL, 0,
	    b->cfg->shed_stat_file, b->cfg->shed_meminfo_file);
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
	free(sp->stat_file);
	free(sp->meminfo_file);
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
