/*
 * The worker pool: a bounded set of threads for work that may block
 * (NSS lookups, calls to the auth service, reading files), so the event
 * loop never does. Threads start on demand up to pool_size; jobs wait
 * in a bounded queue, taken best class first (critical before high,
 * normal and low) and in order within a class; a job that takes longer
 * than worker_timeout is answered as timed out. Each job has a type, and
 * the pool keeps per type what was done, timed out and refused; each
 * finished job's running time goes to an observer on the event loop (the
 * metrics' histogram), and busy time is kept as a running total, so the
 * utilisation over any interval is a difference.
 *
 * Only the event loop's thread touches libevent: workers hand finished
 * jobs back through a pipe.
 *
 * Ownership of a job's argument: done(arg, 0) on success hands arg back
 * to the caller. On timeout, done(arg, 1) is called at once but the
 * thread may still be using arg, so the caller must not free it; the
 * pool calls release(arg) once the thread lets go. At shutdown nothing
 * is answered any more: every job not yet handed back, queued or
 * finished, gets release(arg) alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_FINISHED };

static const char *job_type_names[JOB_TYPES] = {
	"lookup", "auth", "reload", "socket", "recording"
};

/* Upper bounds (seconds) of the processing-time buckets. */
static const double job_buckets[WORKER_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10, 30
};

struct job {
	struct workers	*w;
	enum job_type	 type;
	enum quota_class class;
	int64_t		 started_ns;	/* when a thread took it */
	int64_t		 ran_ns;	/* how long it ran */
	void		(*run)(void *);
	void		(*done)(void *, int);
	void		(*release)(void *);
	void		*arg;
	enum job_state	 state;
	int		 timed_out;
	struct event	*timer;
	TAILQ_ENTRY(job) entry;
};
TAILQ_HEAD(jobs, job);

struct workers {
	struct event_base *base;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct jobs	 queue[CLASS_COUNT]; /* waiting for a thread, by class */
	struct jobs	 finished;	/* waiting for the event loop */
	u_int		 nqueued;
	u_int		 threads;
	u_int		 idle;
	u_int		 running;
	u_int		 running_late;	/* running and timed out */
	u_int		 size;
	u_int		 queue_size;
	uint64_t	 timeout;	/* ms */
	int		 stopping;
	int		 wake[2];
	struct event	*wake_ev;
	uint64_t	 completed;
	uint64_t	 timeouts;
	uint64_t	 rejected;
	uint64_t	 type_completed[JOB_TYPES];
	uint64_t	 type_timeouts[JOB_TYPES];
	uint64_t	 type_rejected[JOB_TYPES];
	int64_t		 busy_done_ns;	/* run time of jobs that ended */
	int64_t		 running_since_ns; /* sum of running jobs' starts */
	void		(*observe)(void *, enum job_type, double);
	void		*observe_arg;
};

/* The monotonic clock in nanoseconds. */
static int64_t
workers_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A type's name, for --status and the metrics. */
const char *
job_type_name(enum job_type type)
{
	if ((u_int)type >= JOB_TYPES)
		fatalx("job_type_name: %d", (int)type);
	return job_type_names[type];
}

/* The upper bound of processing-time bucket i, in seconds. */
double
workers_bucket(u_int i)
{
	if (i >= WORKER_BUCKETS)
		fatalx("workers_bucket: %u", i);
	return job_buckets[i];
}

/* The next job to run, best class first; NULL when none waits. */
static struct job *
workers_next(struct workers *w)
{
	int	 i;

	for (i = CLASS_COUNT - 1; i >= 0; i--) {
		if (!TAILQ_EMPTY(&w->queue[i]))
			return TAILQ_FIRST(&w->queue[i]);
	}
	return NULL;
}



/* A worker thread: take jobs until told to stop or no longer needed. */
static void *
worker_main(void *arg)
{
	struct workers	*w = arg;
	struct job	*j;
	char		 c = 'j';

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->nqueued == 0 && !w->stopping &&
		    w->threads <= w->size) {
			w->idle++;
			pthread_cond_wait(&w->cond, &w->lock);
			w->idle--;
		}
		if ((j = workers_next(w)) == NULL)
			break;
		TAILQ_REMOVE(&w->queue[j->class], j, entry);
		w->nqueued--;
		j->state = JOB_RUNNING;
		j->started_ns = workers_now_ns();
		w->running_since_ns += j->started_ns;
		w->running++;
		pthread_mutex_unlock(&w->lock);

		j->run(j->arg);

		pthread_mutex_lock(&w->lock);
		j->ran_ns = workers_now_ns() - j->started_ns;
		w->running_since_ns -= j->started_ns;
		w->busy_done_ns += j->ran_ns;
		j->state = JOB_FINISHED;
		w->running--;
		if (j->timed_out)
			w->running_late--;
		TAILQ_INSERT_TAIL(&w->finished, j, entry);
		pthread_mutex_unlock(&w->lock);
		while (write(w->wake[1], &c, 1) == -1 && errno == EINTR)
			;
		pthread_mutex_lock(&w->lock);
		if (w->threads > w->size)
			break;
	}
	w->threads--;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Free a finished job after telling its owner (or only releasing). */
static void
job_finish(struct job *j, int answer)
{
	if (j->timer != NULL)
		event_free(j->timer);
	if (j->timed_out || !answer)
		j->release(j->arg);
	else
		j->done(j->arg, 0);
	free(j);
}

/* Take finished jobs from the threads; answer them, or only release. */
static void
workers_collect(struct workers *w, int answer)
{
	struct jobs	 done = TAILQ_HEAD_INITIALIZER(done);
	struct job	*j;
	char		 buf[256];

	while (read(w->wake[0], buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&w->lock);
	while ((j = TAILQ_FIRST(&w->finished)) != NULL) {
		TAILQ_REMOVE(&w->finished, j, entry);
		TAILQ_INSERT_TAIL(&done, j, entry);
		if (!j->timed_out) {
			w->completed++;
			w->type_completed[j->type]++;
		}
	}
	pthread_mutex_unlock(&w->lock);
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, entry);
		if (w->observe != NULL && answer)
			w->observe(w->observe_arg, j->type,
			    (double)j->ran_ns / 1e9);
		job_finish(j, answer);
	}
}

/* The event loop's side of the pipe: hand finished jobs back. */
static void
workers_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct workers	*w = arg;

	workers_collect(w, !w->stopping);
}

/* A job ran past worker_timeout: answer its owner now. */
static void
job_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct job	*j = arg;
	struct workers	*w = j->w;
	int		 never_ran = 0;

	pthread_mutex_lock(&w->lock);
	if (j->state == JOB_FINISHED) {
		/* The wake-up is on its way; let it answer. */
		pthread_mutex_unlock(&w->lock);
		return;
	}
	j->timed_out = 1;
	w->timeouts++;
	w->type_timeouts[j->type]++;
	if (j->state == JOB_QUEUED) {
		TAILQ_REMOVE(&w->queue[j->class], j, entry);
		w->nqueued--;
		never_ran = 1;
	} else
		w->running_late++;
	pthread_mutex_unlock(&w->lock);

	log_warn("worker job timed out", "type=%s queued=%d timeout_ms=%llu",
	    job_type_names[j->type], never_ran,
	    (unsigned long long)w->timeout);
	j->done(j->arg, 1);
	if (never_ran)
		job_finish(j, 0);
}

/* Create a pool; no thread starts until there is work. */
struct workers *
workers_create(struct event_base *base, u_int size, u_int queue_size,
    uint64_t timeout)
{
	struct workers	*w;
	u_int		 i;

	w = xcalloc(1, sizeof *w);
	w->base = base;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (i = 0; i < CLASS_COUNT; i++)
		TAILQ_INIT(&w->queue[i]);
	TAILQ_INIT(&w->finished);
	if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) != 0)
		fatal("pipe2");
	w->wake_ev = event_new(base, w->wake[0], EV_READ | EV_PERSIST,
	    workers_wake_cb, w);
	event_add(w->wake_ev, NULL);
	workers_configure(w, size, queue_size, timeout);
	return w;
}

/* Apply new bounds; surplus threads leave when they next go idle. */
void
workers_configure(struct workers *w, u_int size, u_int queue_size,
    uint64_t timeout)
{
	pthread_mutex_lock(&w->lock);
	w->size = size;
	w->queue_size = queue_size;
	w->timeout = timeout;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Queue run(arg), a job of a type done for a class, on a worker;
 * done(arg, timed_out) follows on the event loop, and release(arg)
 * whenever the pool lets go of arg without handing it back (after a
 * timeout, or at shutdown). Returns -1 when the queue is full.
 */
int
workers_submit(struct workers *w, enum job_type type, enum quota_class class,
    void (*run)(void *), void (*done)(void *, int), void (*release)(void *),
    void *arg)
{
	struct job	*j;
	struct timeval	 tv;
	pthread_t	 t;
	pthread_attr_t	 attr;

	if (release == NULL)
		fatalx("workers_submit: a job needs a release function");
	if ((u_int)type >= JOB_TYPES || (u_int)class >= CLASS_COUNT)
		fatalx("workers_submit: type %d class %d", (int)type,
		    (int)class);
	pthread_mutex_lock(&w->lock);
	/* Admins' jobs may use a small reserve past queue_size. */
	if (w->stopping || w->nqueued >= w->queue_size +
	    (class == CLASS_CRITICAL ? WORKER_CRITICAL_RESERVE : 0)) {
		w->rejected++;
		w->type_rejected[type]++;
		pthread_mutex_unlock(&w->lock);
		return -1;
	}
	j = xcalloc(1, sizeof *j);
	j->w = w;
	j->type = type;
	j->class = class;
	j->run = run;
	j->done = done;
	j->release = release;
	j->arg = arg;
	j->state = JOB_QUEUED;
	TAILQ_INSERT_TAIL(&w->queue[class], j, entry);
	w->nqueued++;
	if (w->idle > 0)
		pthread_cond_signal(&w->cond);
	/*
	 * An idle thread counts as idle until it wakes: in a burst, more
	 * jobs may wait than threads are idle, and each needs a thread.
	 */
	if (w->nqueued > w->idle && w->threads < w->size) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, worker_main, w) == 0)
			w->threads++;
		else
			log_warn("cannot start a worker thread", "threads=%u",
			    w->threads);
		pthread_attr_destroy(&attr);
	}
	pthread_mutex_unlock(&w->lock);

	j->timer = evtimer_new(w->base, job_timeout_cb, j);
	tv = util_timeval_ms((int64_t)w->timeout);
	evtimer_add(j->timer, &tv);
	return 0;
}

/*
 * Hand every finished job's running time, in seconds, to fn on the event
 * loop (NULL: to nobody).
 */
void
workers_set_observer(struct workers *w, void (*fn)(void *, enum job_type,
    double), void *arg)
{
	w->observe = fn;
	w->observe_arg = arg;
}

/*
 * The pool's figures for metrics: threads busy and jobs waiting now,
 * counts per type, and busy time so far (jobs running included).
 */
void
workers_stats(struct workers *w, struct worker_stats *st)
{
	int64_t	 now = workers_now_ns();

	pthread_mutex_lock(&w->lock);
	st->size = w->size;
	st->busy = w->running;
	st->queued = w->nqueued;
	memcpy(st->completed, w->type_completed, sizeof st->completed);
	memcpy(st->timeouts, w->type_timeouts, sizeof st->timeouts);
	memcpy(st->rejected, w->type_rejected, sizeof st->rejected);
	st->busy_ns = w->busy_done_ns + (int64_t)w->running * now -
	    w->running_since_ns;
	pthread_mutex_unlock(&w->lock);
	st->at_ns = now;
}

/* The pool's figures for --status. */
json_t *
workers_status(struct workers *w)
{
	json_t	*o, *types;
	u_int	 i;

	types = json_object();
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < JOB_TYPES; i++) {
		json_object_set_new(types, job_type_names[i], json_pack(
		    "{s:I, s:I, s:I}",
		    "done_total", (json_int_t)w->type_completed[i],
		    "timed_out_total", (json_int_t)w->type_timeouts[i],
		    "refused_total", (json_int_t)w->type_rejected[i]));
	}
	o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:o}",
	    "pool_size", (int)w->size,
	    "threads", (int)w->threads,
	    "busy", (int)w->running,
	    "queued", (int)w->nqueued,
	    "queue_size", (int)w->queue_size,
	    "timeout_ms", (json_int_t)w->timeout,
	    "completed_total", (json_int_t)w->completed,
	    "timed_out_total", (json_int_t)w->timeouts,
	    "rejected_total", (json_int_t)w->rejected,
	    "by_type", types);
	pthread_mutex_unlock(&w->lock);
	return o;
}

/*
 * Health: 0 healthy, 1 degraded (queue nine-tenths full or some threads
 * stuck past their timeout), 2 unhealthy (every thread stuck).
 */
int
workers_health(struct workers *w, const char **why)
{
	int	 rc = 0;

	pthread_mutex_lock(&w->lock);
	if (w->running_late >= w->size) {
		*why = "every worker is stuck past worker_timeout";
		rc = 2;
	} else if (w->running_late > 0) {
		*why = "some workers are stuck past worker_timeout";
		rc = 1;
	} else if (w->nqueued * 10 >= w->queue_size * 9) {
		*why = "queue nearly full";
		rc = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/*
 * Stop, after the event loop has: queued jobs never run, running ones
 * get up to timeout ms to finish, and none is answered, only released.
 * Returns how many threads are still busy.
 */
u_int
workers_shutdown(struct workers *w, uint64_t timeout)
{
	struct job	*j;
	int64_t		 deadline = util_now_ms() + (int64_t)timeout;
	u_int		 left;

	pthread_mutex_lock(&w->lock);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cond);
	while ((j = workers_next(w)) != NULL) {
		TAILQ_REMOVE(&w->queue[j->class], j, entry);
		w->nqueued--;
		pthread_mutex_unlock(&w->lock);
		job_finish(j, 0);
		pthread_mutex_lock(&w->lock);
	}
	while (w->threads > 0 && util_now_ms() < deadline) {
		pthread_mutex_unlock(&w->lock);
		usleep(10 * 1000);
		workers_collect(w, 0);
		pthread_mutex_lock(&w->lock);
	}
	left = w->threads;
	pthread_mutex_unlock(&w->lock);
	workers_collect(w, 0);
	if (left > 0)
		log_warn("workers still busy at exit", "busy=%u", left);
	return left;
}

/* Free a pool whose threads have all gone. */
void
workers_free(struct workers *w)
{
	event_free(w->wake_ev);
	close(w->wake[0]);
	close(w->wake[1]);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
