/*
 * Recordings: every game as a ttyrec file, written by a thread of its
 * own so that the event loop never waits on the disk, and read back for
 * the session's replay and list on the worker pool.
 *
 * A ttyrec file is a run of records: a 12-byte little-endian header
 * (seconds, microseconds, length) and that many bytes, exactly as the
 * game sent them to its player. Each file is
 * <[recording] dir>/<user>/<game>/<YYYY-MM-DD.HH:MM:SS>.ttyrec (UTC),
 * made by the broker's user (directories 0750, files 0640): players
 * never touch it, they replay through the broker.
 *
 * Nothing is dropped while the broker lives: past RECORD_QUEUE_MAX
 * waiting for the writer, the playing sessions are not read (they hold
 * their copy, then drop it and say so) until the writer has caught up.
 * A disk that fails stops that recording, logged and counted as a
 * violation; the game goes on.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <zlib.h>

#include "broker.h"

enum rjob_type { RJ_OPEN, RJ_DATA, RJ_CLOSE };

/* A recording: the loop's handle; the writer owns the file. */
struct recording {
	char		*user;
	char		*game;
	int64_t		 started;	/* wall ms */
	char		*dir;		/* [recording] dir when it began */
	int		 compress;
	int		 resume;	/* path is a file to go on with */
	uint64_t	 valid;		/* its whole records, in bytes */
	/* The writer's. */
	int		 fd;
	char		*path;
	int		 failed;
	uint64_t	 bytes;
};

struct rjob {
	enum rjob_type	 type;
	struct recording *rec;
	int64_t		 at;		/* wall ms */
	size_t		 len;
	TAILQ_ENTRY(rjob) entry;
	u_char		 data[];
};
TAILQ_HEAD(rjobs, rjob);

/* What the writer tells the loop. */
struct rnote {
	char		*user;
	char		*game;
	char		*path;
	char		*error;		/* NULL: a file was finished */
	uint64_t	 bytes;
	TAILQ_ENTRY(rnote) entry;
};
TAILQ_HEAD(rnotes, rnote);

struct recorder {
	struct broker	*broker;
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct rjobs	 jobs;
	struct rnotes	 notes;
	size_t		 queued;	/* bytes waiting */
	int		 full;		/* the loop holds sessions */
	int		 stopping;
	int		 idle;		/* the thread waits for work */
	int		 exited;	/* the thread has done all and left */
	int		 wake[2];	/* writer to loop */
	struct event	*wake_ev;
	uint64_t	 started;	/* recordings begun */
	uint64_t	 resumed;	/* gone on with after a restart */
	uint64_t	 finished;
	uint64_t	 failed;
	uint64_t	 written;	/* bytes of games written */
	uint64_t	 open;
};

/* A replay: the recording a session plays, read on the workers. */
struct replay {
	gzFile		 f;
	char		*user;
	char		*game;
	char		*file;
	uint64_t	 sent;
	int		 busy;		/* a read is with the workers */
	int		 orphan;	/* its session went while busy */
	int		 eof;
};

/*
 * Is a name usable as one part of a path: letters, digits and ._:+-,
 * not empty, not starting with a dot? (file: also the recording's name.)
 */
int
record_valid_name(const char *s, int file)
{
	const char	*p;

	if (*s == '\0' || *s == '.' || strlen(s) > 64)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("._-+", *p) != NULL)
			continue;
		if (file && *p == ':')
			continue;
		return 0;
	}
	return 1;
}

/* Writer: tell the loop something (the lock is held). */
static void
record_note(struct recorder *r, struct recording *rec, const char *error)
{
	struct rnote	*n;

	n = xcalloc(1, sizeof *n);
	n->user = xstrdup(rec->user);
	n->game = xstrdup(rec->game);
	n->path = xstrdup(rec->path != NULL ? rec->path : rec->dir);
	n->error = error != NULL ? xstrdup(error) : NULL;
	n->bytes = rec->bytes;
	TAILQ_INSERT_TAIL(&r->notes, n, entry);
	(void)write(r->wake[1], "", 1);
}

/* Writer: make a directory and its parents, mode 0750. */
static int
record_mkdirs(char *path)
{
	char	*p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Writer: create the recording's file. Returns NULL or why not. */
static char *
record_open(struct recording *rec)
{
	struct tm	 tm;
	time_t		 t = (time_t)(rec->started / 1000);
	char		 stamp[32], *dir, *why;
	int		 i;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%d.%H:%M:%S", &tm);
	xasprintf(&dir, "%s/%s/%s", rec->dir, rec->user, rec->game);
	if (record_mkdirs(dir) != 0) {
		xasprintf(&why, "mkdir %s: %s", dir, strerror(errno));
		free(dir);
		return why;
	}
	/* A game begun in the same second as the last gets a suffix. */
	for (i = 0; i < 100; i++) {
		free(rec->path);
		if (i == 0)
			xasprintf(&rec->path, "%s/%s.ttyrec", dir, stamp);
		else
			xasprintf(&rec->path, "%s/%s-%d.ttyrec", dir, stamp, i);
		rec->fd = open(rec->path, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC | O_NOFOLLOW, 0640);
		if (rec->fd != -1 || errno != EEXIST)
			break;
	}
	free(dir);
	if (rec->fd == -1) {
		xasprintf(&why, "open %s: %s", rec->path, strerror(errno));
		return why;
	}
	return NULL;
}

/*
 * Writer: open a recording begun before the broker restarted, to go on
 * with it: what follows its last whole record (a record the writer was
 * cut off in) is cut away first. Returns NULL or why not.
 */
static char *
record_reopen(struct recording *rec)
{
	char	*why;

	rec->fd = open(rec->path, O_WRONLY | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW);
	if (rec->fd == -1) {
		xasprintf(&why, "open %s: %s", rec->path, strerror(errno));
		return why;
	}
	if (ftruncate(rec->fd, (off_t)rec->valid) != 0) {
		xasprintf(&why, "truncate %s: %s", rec->path, strerror(errno));
		close(rec->fd);
		rec->fd = -1;
		return why;
	}
	return NULL;
}

/* Writer: one ttyrec record. Returns NULL or why not. */
static char *
record_write(struct recording *rec, int64_t at, const u_char *data,
    size_t len)
{
	u_char	 hdr[12];
	uint32_t v[3];
	int	 i, j;
	char	*why;

	v[0] = (uint32_t)(at / 1000);
	v[1] = (uint32_t)((at % 1000) * 1000);
	v[2] = (uint32_t)len;
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 4; j++)
			hdr[i * 4 + j] = (u_char)(v[i] >> (8 * j));
	}
	if (util_write_all(rec->fd, hdr, sizeof hdr) != 0 ||
	    util_write_all(rec->fd, data, len) != 0) {
		xasprintf(&why, "write %s: %s", rec->path, strerror(errno));
		return why;
	}
	rec->bytes += len;
	return NULL;
}

/* Writer: compress a finished recording to PATH.gz, then remove PATH. */
static char *
record_gzip(struct recording *rec)
{
	u_char	 buf[65536];
	char	*gz, *why = NULL;
	gzFile	 out;
	ssize_t	 n;
	int	 fd, ofd;

	xasprintf(&gz, "%s.gz", rec->path);
	if ((fd = open(rec->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		xasprintf(&why, "open %s: %s", rec->path, strerror(errno));
		free(gz);
		return why;
	}
	ofd = open(gz, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0640);
	if (ofd == -1 || (out = gzdopen(ofd, "wb")) == NULL) {
		xasprintf(&why, "open %s: %s", gz, strerror(errno));
		if (ofd != -1)
			close(ofd);
		close(fd);
		free(gz);
		return why;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (gzwrite(out, buf, (unsigned)n) != (int)n) {
			xasprintf(&why, "write %s: failed", gz);
			break;
		}
	}
	if (n < 0 && why == NULL)
		xasprintf(&why, "read %s: %s", rec->path, strerror(errno));
	if (gzclose(out) != Z_OK && why == NULL)
		xasprintf(&why, "write %s: failed", gz);
	close(fd);
	if (why != NULL)
		unlink(gz);
	else
		unlink(rec->path);
	if (why == NULL) {
		free(rec->path);
		rec->path = gz;
	} else
		free(gz);
	return why;
}

/* Writer: stop a recording after an error (the lock is held). */
static void
record_fail(struct recorder *r, struct recording *rec, char *why)
{
	rec->failed = 1;
	if (rec->fd != -1) {
		close(rec->fd);
		rec->fd = -1;
	}
	r->failed++;
	record_note(r, rec, why);
	free(why);
}

/* Writer: free a recording it is done with. */
static void
record_free(struct recording *rec)
{
	free(rec->user);
	free(rec->game);
	free(rec->dir);
	free(rec->path);
	free(rec);
}

/* Writer: do one job; the lock is not held. */
static void
record_do(struct recorder *r, struct rjob *j)
{
	struct recording	*rec = j->rec;
	char			*why = NULL;

	switch (j->type) {
	case RJ_OPEN:
		why = rec->resume ? record_reopen(rec) : record_open(rec);
		pthread_mutex_lock(&r->lock);
		if (why != NULL)
			record_fail(r, rec, why);
		else
			r->open++;
		pthread_mutex_unlock(&r->lock);
		break;
	case RJ_DATA:
		if (rec->failed)
			break;
		why = record_write(rec, j->at, j->data, j->len);
		pthread_mutex_lock(&r->lock);
		if (why != NULL)
			record_fail(r, rec, why);
		else
			r->written += j->len;
		pthread_mutex_unlock(&r->lock);
		break;
	case RJ_CLOSE:
		if (!rec->failed) {
			if (close(rec->fd) != 0)
				xasprintf(&why, "close %s: %s", rec->path,
				    strerror(errno));
			rec->fd = -1;
			if (why == NULL && rec->compress == CONFIG_COMPRESS_GZIP)
				why = record_gzip(rec);
			pthread_mutex_lock(&r->lock);
			r->open--;
			if (why != NULL)
				record_fail(r, rec, why);
			else {
				r->finished++;
				record_note(r, rec, NULL);
			}
			pthread_mutex_unlock(&r->lock);
		}
		record_free(rec);
		break;
	}
}

/* The writer thread: jobs in order until told to stop with none left. */
static void *
record_thread(void *arg)
{
	struct recorder	*r = arg;
	struct rjob	*j;
	sigset_t	 set;

	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while ((j = TAILQ_FIRST(&r->jobs)) == NULL && !r->stopping) {
			r->idle = 1;
			pthread_cond_wait(&r->cond, &r->lock);
			r->idle = 0;
		}
		if (j == NULL)
			break;
		TAILQ_REMOVE(&r->jobs, j, entry);
		pthread_mutex_unlock(&r->lock);
		record_do(r, j);
		pthread_mutex_lock(&r->lock);
		r->queued -= j->len;
		if (r->full && r->queued < RECORD_QUEUE_MAX / 2)
			(void)write(r->wake[1], "", 1);
		free(j);
	}
	r->exited = 1;
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Hand the writer a job. */
static void
record_queue(struct broker *b, enum rjob_type type, struct recording *rec,
    int64_t at, const void *data, size_t len)
{
	struct recorder	*r = b->recorder;
	struct rjob	*j;

	j = xmalloc(sizeof *j + len);
	j->type = type;
	j->rec = rec;
	j->at = at;
	j->len = len;
	if (len > 0)
		memcpy(j->data, data, len);
	pthread_mutex_lock(&r->lock);
	TAILQ_INSERT_TAIL(&r->jobs, j, entry);
	r->queued += len;
	if (r->idle)
		pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/*
 * Begin a user's recording of a game. Returns NULL when the names cannot
 * be part of a path (logged).
 */
struct recording *
record_start(struct broker *b, const char *user, const char *game,
    int64_t started)
{
	struct recording	*rec;

	if (!record_valid_name(user, 0) || !record_valid_name(game, 0)) {
		log_warn("not recording: the name cannot be a file name",
		    "user=%s game=%s", log_quote(user), log_quote(game));
		return NULL;
	}
	rec = xcalloc(1, sizeof *rec);
	rec->user = xstrdup(user);
	rec->game = xstrdup(game);
	rec->started = started;
	rec->dir = xstrdup(b->cfg->recording_dir);
	rec->compress = b->cfg->recording_compress;
	rec->fd = -1;
	b->recorder->started++;
	record_queue(b, RJ_OPEN, rec, started, NULL, 0);
	return rec;
}

/*
 * Go on with a user's recording of a game that ran on while the broker
 * was away, in its file (found by record_probe), after its first valid
 * bytes.
 */
struct recording *
record_resume(struct broker *b, const char *user, const char *game,
    int64_t started, const char *path, uint64_t valid)
{
	struct recording	*rec;

	rec = xcalloc(1, sizeof *rec);
	rec->user = xstrdup(user);
	rec->game = xstrdup(game);
	rec->started = started;
	rec->dir = xstrdup(b->cfg->recording_dir);
	rec->compress = b->cfg->recording_compress;
	rec->fd = -1;
	rec->path = xstrdup(path);
	rec->resume = 1;
	rec->valid = valid;
	b->recorder->resumed++;
	record_queue(b, RJ_OPEN, rec, started, NULL, 0);
	return rec;
}

/*
 * Looking for the recording of a game that comes back after a restart,
 * on a worker: the file its start names, how many bytes of the game its
 * whole records hold, and the screen they draw.
 */
struct rprobe {
	struct broker	*broker;
	struct live	*live;		/* NULL once the game has gone */
	char		*dir;		/* <dir>/<user>/<game> */
	int64_t		 started;
	u_int		 cols;
	u_int		 rows;
	int		 utf8;
	char		*path;		/* found, or NULL */
	uint64_t	 payload;
	uint64_t	 valid;
	struct screen	*screen;
};

/* Worker: the file of the game's start: the last of its names in use. */
static char *
record_probe_find(struct rprobe *p)
{
	struct tm	 tm;
	struct stat	 sb;
	time_t		 t = (time_t)(p->started / 1000);
	char		 stamp[32], *path, *found = NULL;
	int		 i;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%d.%H:%M:%S", &tm);
	/* record_open takes the first free of these names, in order. */
	for (i = 0; i < 100; i++) {
		if (i == 0)
			xasprintf(&path, "%s/%s.ttyrec", p->dir, stamp);
		else
			xasprintf(&path, "%s/%s-%d.ttyrec", p->dir, stamp, i);
		if (lstat(path, &sb) != 0) {
			free(path);
			break;
		}
		if (S_ISREG(sb.st_mode)) {
			free(found);
			found = path;
		} else
			free(path);
	}
	return found;
}

/* Worker: read len bytes, or fewer at the end; -1 on an error. */
static ssize_t
record_read_full(int fd, u_char *buf, size_t len)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Worker: read the recording's whole records into a screen. */
static void
record_probe_run(void *arg)
{
	struct rprobe	*p = arg;
	u_char		 hdr[12], *buf;
	uint32_t	 len;
	int		 fd, i;

	if ((p->path = record_probe_find(p)) == NULL)
		return;
	if ((fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		free(p->path);
		p->path = NULL;
		return;
	}
	p->screen = screen_new(p->cols, p->rows, p->utf8);
	buf = xmalloc(RECORD_PROBE_RECORD_MAX);
	for (;;) {
		if (record_read_full(fd, hdr, sizeof hdr) != sizeof hdr)
			break;
		for (len = 0, i = 3; i >= 0; i--)
			len = (len << 8) | hdr[8 + i];
		/* A length no writer gives ends what is whole. */
		if (len > RECORD_PROBE_RECORD_MAX)
			break;
		if (record_read_full(fd, buf, len) != (ssize_t)len)
			break;
		screen_feed(p->screen, buf, len);
		p->payload += len;
		p->valid += sizeof hdr + len;
	}
	free(buf);
	close(fd);
}

/* Free a probe and what it found. */
static void
record_probe_free(void *arg)
{
	struct rprobe	*p = arg;

	if (p->screen != NULL)
		screen_free(p->screen);
	free(p->dir);
	free(p->path);
	free(p);
}

/* The probe is done (or out of time): the game's recording goes on. */
static void
record_probe_done(void *arg, int timed_out)
{
	struct rprobe	*p = arg;
	struct live	*l = p->live;
	struct screen	*screen = NULL;

	if (l == NULL) {
		if (!timed_out)
			record_probe_free(p);
		return;
	}
	l->probe = NULL;
	p->live = NULL;
	if (timed_out) {
		/* The worker still reads: a new file, and a blank screen. */
		log_warn("looking for a recording took too long; starting "
		    "another", "user=%s game=%s", l->user, l->game);
		watch_rejoin_done(p->broker, l, NULL, 0, 0, NULL);
		return;
	}
	if (p->path != NULL) {
		screen = p->screen;
		p->screen = NULL;
	}
	watch_rejoin_done(p->broker, l, p->path, p->payload, p->valid,
	    screen);
	record_probe_free(p);
}

/* Look for a rejoining game's recording: 0, or -1 when no worker takes it. */
int
record_probe(struct broker *b, struct live *l)
{
	struct rprobe	*p;

	if (!record_valid_name(l->user, 0) || !record_valid_name(l->game, 0))
		return -1;
	p = xcalloc(1, sizeof *p);
	p->broker = b;
	p->live = l;
	xasprintf(&p->dir, "%s/%s/%s", b->cfg->recording_dir, l->user,
	    l->game);
	p->started = l->started;
	p->cols = l->cols;
	p->rows = l->rows;
	p->utf8 = l->utf8;
	if (workers_submit(b->workers, JOB_RECORDING, CLASS_HIGH,
	    record_probe_run, record_probe_done, record_probe_free, p) != 0) {
		record_probe_free(p);
		return -1;
	}
	l->probe = p;
	return 0;
}

/* The game went while its recording was looked for. */
void
record_probe_orphan(struct rprobe *p)
{
	p->live->probe = NULL;
	p->live = NULL;
}

/* Bytes the game sent its player at a time (wall ms). */
void
record_data(struct broker *b, struct recording *rec, int64_t at,
    const void *data, size_t len)
{
	record_queue(b, RJ_DATA, rec, at, data, len);
}

/* The game ended: finish the file (the writer frees rec). */
void
record_stop(struct broker *b, struct recording *rec)
{
	record_queue(b, RJ_CLOSE, rec, 0, NULL, 0);
}

/* Does more wait for the writer than it may? (Then sessions wait.) */
int
record_full(struct broker *b)
{
	struct recorder	*r = b->recorder;
	int		 full;

	pthread_mutex_lock(&r->lock);
	full = r->queued > RECORD_QUEUE_MAX;
	if (full)
		r->full = 1;
	pthread_mutex_unlock(&r->lock);
	return full;
}

/* Stop reading a playing session until the writer catches up. */
void
record_hold(struct client *c)
{
	struct broker	*b = c->broker;

	if (c->read_held || c->dead)
		return;
	c->read_held = 1;
	TAILQ_INSERT_TAIL(&b->held, c, held_entry);
	bufferevent_disable(c->bev, EV_READ);
	log_warn("recordings behind; holding a session", "user=%s",
	    client_name(c));
}

/* A session is no longer held (it is going, or read again). */
void
record_unhold(struct client *c)
{
	struct broker	*b = c->broker;

	if (!c->read_held)
		return;
	c->read_held = 0;
	TAILQ_REMOVE(&b->held, c, held_entry);
}

/* The writer said something: finished files, errors, room again. */
static void
record_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;
	struct recorder	*r = b->recorder;
	struct rnotes	 notes;
	struct rnote	*n;
	struct client	*c;
	char		 buf[256];
	int		 room;

	while (read(fd, buf, sizeof buf) > 0)
		;
	TAILQ_INIT(&notes);
	pthread_mutex_lock(&r->lock);
	TAILQ_CONCAT(&notes, &r->notes, entry);
	room = r->queued < RECORD_QUEUE_MAX / 2;
	if (room)
		r->full = 0;
	pthread_mutex_unlock(&r->lock);
	while ((n = TAILQ_FIRST(&notes)) != NULL) {
		TAILQ_REMOVE(&notes, n, entry);
		if (n->error != NULL) {
			admit_violation(b, V_RECORDING);
			log_error("recording stopped; the game goes on",
			    "user=%s game=%s path=%s error=%s", n->user,
			    n->game, log_quote(n->path), log_quote(n->error));
		} else
			log_info("recording finished", "user=%s game=%s "
			    "path=%s bytes=%llu", n->user, n->game,
			    log_quote(n->path), (unsigned long long)n->bytes);
		free(n->user);
		free(n->game);
		free(n->path);
		free(n->error);
		free(n);
	}
	if (!room)
		return;
	while ((c = TAILQ_FIRST(&b->held)) != NULL) {
		record_unhold(c);
		client_resume(c);
	}
}

/* Start the writer thread. */
void
record_init(struct broker *b)
{
	struct recorder	*r;

	r = xcalloc(1, sizeof *r);
	r->broker = b;
	TAILQ_INIT(&r->jobs);
	TAILQ_INIT(&r->notes);
	TAILQ_INIT(&b->held);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pipe2(r->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		fatal("pipe2");
	r->wake_ev = event_new(b->base, r->wake[0], EV_READ | EV_PERSIST,
	    record_wake_cb, b);
	event_add(r->wake_ev, NULL);
	if (pthread_create(&r->thread, NULL, record_thread, r) != 0)
		fatalx("pthread_create failed");
	b->recorder = r;
}

/*
 * Stop the writer once it has written everything (the games that still
 * run are finished first), waiting up to ms. Returns 0, or -1 when it
 * is still busy (it is left running, and nothing is freed).
 */
int
record_shutdown(struct broker *b, uint64_t ms)
{
	struct recorder	*r = b->recorder;
	struct timespec	 ts;
	int64_t		 end = util_now_ms() + (int64_t)ms;
	int		 done;

	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	for (;;) {
		pthread_mutex_lock(&r->lock);
		done = r->exited;
		pthread_mutex_unlock(&r->lock);
		if (done || util_now_ms() >= end)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = 10 * 1000 * 1000;
		nanosleep(&ts, NULL);
	}
	if (!done)
		return -1;
	pthread_join(r->thread, NULL);
	record_wake_cb(r->wake[0], EV_READ, b);
	event_free(r->wake_ev);
	close(r->wake[0]);
	close(r->wake[1]);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
	b->recorder = NULL;
	return 0;
}

/* The recordings' figures for --status. */
json_t *
record_status(struct broker *b)
{
	struct recorder	*r = b->recorder;
	json_t		*o;

	pthread_mutex_lock(&r->lock);
	o = json_pack("{s:b, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}",
	    "enabled", b->cfg->recording_enabled,
	    "dir", b->cfg->recording_dir,
	    "public", b->cfg->recording_public,
	    "compress", b->cfg->recording_compress == CONFIG_COMPRESS_GZIP ?
	    "gzip" : "none",
	    "started", (json_int_t)r->started,
	    "resumed", (json_int_t)r->resumed,
	    "open", (json_int_t)r->open,
	    "finished", (json_int_t)r->finished,
	    "failed", (json_int_t)r->failed,
	    "bytes_written", (json_int_t)r->written,
	    "queued", (json_int_t)r->queued);
	pthread_mutex_unlock(&r->lock);
	return o;
}

/* A list of recordings, read on a worker. */
struct rlist {
	struct broker	*broker;
	uint64_t	 client;
	char		*dir;
	char		*self;		/* the asking user */
	char		*only;		/* one user's, or NULL */
	int		 others;	/* may list other users' */
	json_t		*found;
};

/* A recording's name: YYYY-MM-DD.HH:MM:SS[-N].ttyrec[.gz]; its start. */
static int
record_file_time(const char *name, int64_t *when)
{
	struct tm	 tm;
	const char	*end;
	size_t		 len = strlen(name);

	if (!record_valid_name(name, 1))
		return -1;
	if (!((len > 7 && strcmp(name + len - 7, ".ttyrec") == 0) ||
	    (len > 10 && strcmp(name + len - 10, ".ttyrec.gz") == 0)))
		return -1;
	memset(&tm, 0, sizeof tm);
	if ((end = strptime(name, "%Y-%m-%d.%H:%M:%S", &tm)) == NULL ||
	    (*end != '.' && *end != '-'))
		return -1;
	*when = (int64_t)timegm(&tm);
	return 0;
}

/* Worker: add one user's recordings (all games) to the list. */
static void
record_list_user(struct rlist *l, const char *user)
{
	DIR		*ud, *gd;
	struct dirent	*ge, *fe;
	struct stat	 sb;
	char		*path;
	int64_t		 when;

	xasprintf(&path, "%s/%s", l->dir, user);
	ud = opendir(path);
	free(path);
	if (ud == NULL)
		return;
	while ((ge = readdir(ud)) != NULL) {
		if (!record_valid_name(ge->d_name, 0))
			continue;
		xasprintf(&path, "%s/%s/%s", l->dir, user, ge->d_name);
		gd = opendir(path);
		free(path);
		if (gd == NULL)
			continue;
		while ((fe = readdir(gd)) != NULL) {
			if (record_file_time(fe->d_name, &when) != 0)
				continue;
			xasprintf(&path, "%s/%s/%s/%s", l->dir, user,
			    ge->d_name, fe->d_name);
			if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				json_array_append_new(l->found, json_pack(
				    "{s:s, s:s, s:s, s:I, s:I}", "user", user,
				    "game", ge->d_name, "file", fe->d_name,
				    "started", (json_int_t)when, "size",
				    (json_int_t)sb.st_size));
			free(path);
		}
		closedir(gd);
	}
	closedir(ud);
}

/* Newest first, then by user and game. */
static int
record_cmp(const void *a, const void *b)
{
	json_t		*x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t	 tx, ty;
	int		 c;

	tx = json_integer_value(json_object_get(x, "started"));
	ty = json_integer_value(json_object_get(y, "started"));
	if (tx != ty)
		return tx < ty ? 1 : -1;
	c = strcmp(json_string_value(json_object_get(x, "file")),
	    json_string_value(json_object_get(y, "file")));
	if (c != 0)
		return -c;
	c = strcmp(json_string_value(json_object_get(x, "user")),
	    json_string_value(json_object_get(y, "user")));
	if (c != 0)
		return c;
	return strcmp(json_string_value(json_object_get(x, "game")),
	    json_string_value(json_object_get(y, "game")));
}

/* Worker: find the recordings, sort them and keep the newest. */
static void
record_list_run(void *arg)
{
	struct rlist	*l = arg;
	DIR		*d;
	struct dirent	*e;
	json_t		**v, *sorted;
	size_t		 n, i;

	l->found = json_array();
	if (l->only != NULL)
		record_list_user(l, l->only);
	else if (!l->others)
		record_list_user(l, l->self);
	else if ((d = opendir(l->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (record_valid_name(e->d_name, 0))
				record_list_user(l, e->d_name);
		}
		closedir(d);
	}
	n = json_array_size(l->found);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(l->found, i));
	qsort(v, n, sizeof *v, record_cmp);
	sorted = json_array();
	for (i = 0; i < n; i++) {
		if (i < RECORD_LIST_MAX)
			json_array_append(sorted, v[i]);
		json_decref(v[i]);
	}
	free(v);
	json_decref(l->found);
	l->found = sorted;
}

/* Free a list job. */
static void
record_list_free(void *arg)
{
	struct rlist	*l = arg;

	json_decref(l->found);
	free(l->dir);
	free(l->self);
	free(l->only);
	free(l);
}

/* The list is read: send it if the session is still there. */
static void
record_list_done(void *arg, int timed_out)
{
	struct rlist	*l = arg;
	struct client	*c = client_find(l->broker, l->client);

	if (c != NULL && !c->dead) {
		c->busy = 0;
		if (timed_out)
			client_send(c, json_pack("{s:s, s:s, s:s}", "type",
			    "refused", "reason", REASON_BUSY, "message",
			    "Reading the recordings took too long; please try "
			    "again."));
		else
			client_send(c, json_pack("{s:s, s:O}", "type",
			    "recordings", "recordings", l->found));
	}
	if (!timed_out)
		record_list_free(l);
}

/* Refuse a recordings request; the session stays. */
static void
record_refuse(struct client *c, const char *reason, const char *message)
{
	client_send(c, json_pack("{s:s, s:s, s:s}", "type", "refused",
	    "reason", reason, "message", message));
}

/*
 * May this session's user replay another's recordings? Their own always;
 * others' only with [recording] public.
 */
static int
record_allowed(struct client *c, const char *user)
{
	return strcmp(user, client_name(c)) == 0 ||
	    c->broker->cfg->recording_public;
}

/* A session asks for recordings: its own, or one user's, or all public. */
void
record_list(struct client *c, json_t *msg)
{
	struct broker	*b = c->broker;
	struct rlist	*l;
	const char	*only = NULL;
	char		*message;

	if (json_unpack(msg, "{s?s}", "user", &only) != 0)
		fatalx("validated recordings does not unpack");
	if (c->busy)
		return;
	if (only != NULL && !record_allowed(c, only)) {
		xasprintf(&message, "Recordings of other players are private "
		    "on this server; you can replay only your own.");
		record_refuse(c, REASON_FORBIDDEN, message);
		free(message);
		return;
	}
	if (only != NULL && !record_valid_name(only, 0)) {
		record_refuse(c, REASON_NO_RECORDING, "There is no such "
		    "player.");
		return;
	}
	l = xcalloc(1, sizeof *l);
	l->broker = b;
	l->client = c->id;
	l->dir = xstrdup(b->cfg->recording_dir);
	l->self = xstrdup(client_name(c));
	l->only = only != NULL ? xstrdup(only) : NULL;
	l->others = b->cfg->recording_public;
	if (workers_submit(b->workers, JOB_RECORDING, CLASS_LOW,
	    record_list_run, record_list_done, record_list_free, l) != 0) {
		record_list_free(l);
		record_refuse(c, REASON_BUSY, "The server is busy; please try "
		    "again in a moment.");
		return;
	}
	c->busy = 1;
}

/* Close a replay's file and free it. */
static void
record_replay_free(struct replay *rp)
{
	if (rp->f != NULL)
		gzclose(rp->f);
	free(rp->user);
	free(rp->game);
	free(rp->file);
	free(rp);
}

/* A replay's file, opened on a worker. */
struct ropen {
	struct broker	*broker;
	uint64_t	 client;
	char		*path;
	struct replay	*rp;
	int64_t		 size;
	int64_t		 started;
	int		 err;
};

/* Worker: open the recording (gzip or not, zlib reads both). */
static void
record_open_run(void *arg)
{
	struct ropen	*o = arg;
	struct stat	 sb;
	int		 fd;

	fd = open(o->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		o->err = fd == -1 ? errno : EINVAL;
		if (fd != -1)
			close(fd);
		return;
	}
	o->size = (int64_t)sb.st_size;
	if ((o->rp->f = gzdopen(fd, "rb")) == NULL) {
		o->err = EINVAL;
		close(fd);
	}
}

/* Free an open job (and its replay, unless the session took it). */
static void
record_open_free(void *arg)
{
	struct ropen	*o = arg;

	if (o->rp != NULL)
		record_replay_free(o->rp);
	free(o->path);
	free(o);
}

/* The file is open: the session's replay begins. */
static void
record_open_done(void *arg, int timed_out)
{
	struct ropen	*o = arg;
	struct client	*c = client_find(o->broker, o->client);
	struct replay	*rp = o->rp;

	if (timed_out) {
		if (c != NULL && !c->dead) {
			c->busy = 0;
			record_refuse(c, REASON_BUSY, "Opening the recording "
			    "took too long; please try again.");
		}
		return;
	}
	if (c == NULL || c->dead) {
		record_open_free(o);
		return;
	}
	c->busy = 0;
	if (o->err != 0) {
		record_refuse(c, REASON_NO_RECORDING, "That recording is not "
		    "there any more.");
		record_open_free(o);
		return;
	}
	o->rp = NULL;
	c->replay = rp;
	client_set_activity(c, ACT_REPLAYING);
	log_info("replay started", "user=%s recording=%s/%s/%s",
	    client_name(c), rp->user, rp->game, rp->file);
	client_send(c, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "type",
	    "replaying", "user", rp->user, "game", rp->game, "file",
	    rp->file, "started", (json_int_t)o->started, "size",
	    (json_int_t)o->size));
	record_open_free(o);
}

/* A session asks to replay a recording it may see. */
void
record_replay(struct client *c, json_t *msg)
{
	struct broker	*b = c->broker;
	const char	*user, *game, *file;
	struct ropen	*o;
	int64_t		 when;

	if (json_unpack(msg, "{s:s, s:s, s:s}", "user", &user, "game", &game,
	    "file", &file) != 0)
		fatalx("validated replay does not unpack");
	if (c->busy || c->lease != NULL || c->watching != NULL) {
		client_close(c, "error", REASON_UNEXPECTED,
		    "replay is not expected now");
		return;
	}
	record_replay_stop(c);
	if (!record_allowed(c, user)) {
		record_refuse(c, REASON_FORBIDDEN, "Recordings of other "
		    "players are private on this server; you can replay only "
		    "your own.");
		return;
	}
	if (!record_valid_name(user, 0) || !record_valid_name(game, 0) ||
	    record_file_time(file, &when) != 0) {
		record_refuse(c, REASON_NO_RECORDING, "There is no such "
		    "recording.");
		return;
	}
	o = xcalloc(1, sizeof *o);
	o->broker = b;
	o->client = c->id;
	o->started = when;
	xasprintf(&o->path, "%s/%s/%s/%s", b->cfg->recording_dir, user, game,
	    file);
	o->rp = xcalloc(1, sizeof *o->rp);
	o->rp->user = xstrdup(user);
	o->rp->game = xstrdup(game);
	o->rp->file = xstrdup(file);
	if (workers_submit(b->workers, JOB_RECORDING, CLASS_LOW,
	    record_open_run, record_open_done, record_open_free, o) != 0) {
		record_open_free(o);
		record_refuse(c, REASON_BUSY, "The server is busy; please try "
		    "again in a moment.");
		return;
	}
	c->busy = 1;
}

/* One read of a replay, on a worker. */
struct rread {
	struct broker	*broker;
	uint64_t	 client;
	struct replay	*rp;
	int		 n;
	u_char		 buf[RECORD_READ_SIZE];
};

/* Worker: the next bytes of the recording. */
static void
record_read_run(void *arg)
{
	struct rread	*r = arg;

	r->n = gzread(r->rp->f, r->buf, sizeof r->buf);
}

/* Free a read job, and its replay if the session went meanwhile. */
static void
record_read_free(void *arg)
{
	struct rread	*r = arg;

	r->rp->busy = 0;
	if (r->rp->orphan)
		record_replay_free(r->rp);
	free(r);
}

/* The bytes are read: send them, or say the recording is over. */
static void
record_read_done(void *arg, int timed_out)
{
	struct rread	*r = arg;
	struct replay	*rp = r->rp;
	struct client	*c;

	if (timed_out) {
		/* The thread still reads; it frees what it holds. */
		rp->orphan = 1;
		if ((c = client_find(r->broker, r->client)) != NULL &&
		    c->replay == rp) {
			c->replay = NULL;
			client_set_activity(c, client_doing(c));
			client_send(c, json_pack("{s:s}", "type",
			    "replay_end"));
		}
		return;
	}
	rp->busy = 0;
	if (rp->orphan) {
		record_read_free(r);
		return;
	}
	if ((c = client_find(r->broker, r->client)) == NULL || c->dead) {
		record_replay_free(rp);
		free(r);
		return;
	}
	if (r->n > 0) {
		proto_add_stream(bufferevent_get_output(c->bev), rp->sent,
		    r->buf, (size_t)r->n);
		rp->sent += (uint64_t)r->n;
	} else {
		rp->eof = 1;
		client_send(c, json_pack("{s:s}", "type", "replay_end"));
	}
	free(r);
}

/* The session wants the next part of its replay. */
void
record_replay_more(struct client *c)
{
	struct replay	*rp = c->replay;
	struct rread	*r;

	if (rp == NULL || rp->busy || rp->eof) {
		if (rp != NULL && rp->eof)
			client_send(c, json_pack("{s:s}", "type",
			    "replay_end"));
		return;
	}
	/* A session asks once it has what it was sent: else it waits. */
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    RECORD_READ_SIZE)
		return;
	r = xcalloc(1, sizeof *r);
	r->broker = c->broker;
	r->client = c->id;
	r->rp = rp;
	if (workers_submit(c->broker->workers, JOB_RECORDING,
	    CLASS_LOW, record_read_run, record_read_done, record_read_free,
	    r) != 0) {
		free(r);
		client_send(c, json_pack("{s:s}", "type", "replay_end"));
		return;
	}
	rp->busy = 1;
}

/* The session stops its replay, or is going. */
void
record_replay_stop(struct client *c)
{
	struct replay	*rp = c->replay;

	if (rp == NULL)
		return;
	c->replay = NULL;
	client_set_activity(c, client_doing(c));
	if (rp->busy)
		rp->orphan = 1;
	else
		record_replay_free(rp);
}
