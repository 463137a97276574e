/*
 * Unit tests for the worker pool: jobs run on worker threads, answers
 * come back on the event loop's thread, and the pool's bounds (threads,
 * queue, timeout) hold; jobs are taken best class first and in order
 * within a class, admins' jobs have a reserve past queue_size, and
 * workers_stats counts what each type did. Jobs that block wait on a
 * gate the test opens, so nothing depends on how fast the machine is.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <event2/event.h>

#include "dungeongate.h"
#include "broker.h"

/* Generous bound on anything that should happen "soon". */
#define SOON_MS		10000

static pthread_mutex_t	 g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 g_cond = PTHREAD_COND_INITIALIZER;
static int		 g_gate_open;	/* blocking jobs may return */
static u_int		 g_running;	/* jobs inside run() now */
static u_int		 g_max_running;
static int		 g_started;	/* jobs that have entered run() */
static pthread_t	 g_main;

struct job_arg {
	int		 block;		/* wait for the gate */
	int		 ran;		/* run() started */
	int		 order;		/* 1 for the first job to start, ... */
	int		 run_done;	/* run() returned */
	pthread_t	 run_thread;
	int		 done_calls;
	int		 done_timed_out;
	int		 done_on_main;
	int		 run_done_at_done;
	int64_t		 done_ms;
	int		 release_calls;
	int		 run_done_at_release;
};

/* Close the gate and zero the counters. */
static void
reset_globals(void)
{
	pthread_mutex_lock(&g_lock);
	g_gate_open = 0;
	g_running = 0;
	g_max_running = 0;
	g_started = 0;
	pthread_mutex_unlock(&g_lock);
	g_main = pthread_self();
}

/* Let every blocked job return. */
static void
open_gate(void)
{
	pthread_mutex_lock(&g_lock);
	g_gate_open = 1;
	pthread_cond_broadcast(&g_cond);
	pthread_mutex_unlock(&g_lock);
}

/* A job's work: count itself running, and wait for the gate if asked. */
static void
job_run(void *arg)
{
	struct job_arg	*a = arg;

	pthread_mutex_lock(&g_lock);
	a->ran = 1;
	a->order = ++g_started;
	a->run_thread = pthread_self();
	g_running++;
	if (g_running > g_max_running)
		g_max_running = g_running;
	pthread_cond_broadcast(&g_cond);
	while (a->block && !g_gate_open)
		pthread_cond_wait(&g_cond, &g_lock);
	g_running--;
	a->run_done = 1;
	pthread_mutex_unlock(&g_lock);
}

/* A job's answer: record how and on which thread. */
static void
job_done(void *arg, int timed_out)
{
	struct job_arg	*a = arg;

	pthread_mutex_lock(&g_lock);
	a->done_calls++;
	a->done_timed_out = timed_out;
	a->done_on_main = pthread_equal(pthread_self(), g_main);
	a->run_done_at_done = a->run_done;
	a->done_ms = util_now_ms();
	pthread_mutex_unlock(&g_lock);
}

/* A job's release: record that the pool let go. */
static void
job_release(void *arg)
{
	struct job_arg	*a = arg;

	pthread_mutex_lock(&g_lock);
	a->release_calls++;
	a->run_done_at_release = a->run_done;
	pthread_mutex_unlock(&g_lock);
}

/* Submit a test job (as a lookup: the type only labels it). */
static int
submit_job(struct workers *w, void (*run)(void *), void (*done)(void *, int),
    void (*release)(void *), void *arg)
{
	return workers_submit(w, JOB_LOOKUP, CLASS_NORMAL, run, done, release,
	    arg);
}

/* Submit a non-blocking test job of a type for a class. */
static int
submit_as(struct workers *w, enum job_type type, enum quota_class class,
    struct job_arg *a)
{
	return workers_submit(w, type, class, job_run, job_done, job_release,
	    a);
}

/* Read an int under the lock. */
static int
locked_int(const int *p)
{
	int	 v;

	pthread_mutex_lock(&g_lock);
	v = *p;
	pthread_mutex_unlock(&g_lock);
	return v;
}

/* How many jobs are inside run() now. */
static u_int
locked_running(void)
{
	u_int	 v;

	pthread_mutex_lock(&g_lock);
	v = g_running;
	pthread_mutex_unlock(&g_lock);
	return v;
}

typedef int (*pred_fn)(void *);

/* Run the event loop until pred(arg) holds or ms pass; 0 if it held. */
static int
loop_until(struct event_base *base, pred_fn pred, void *arg, int ms)
{
	struct timeval	 tv = { 0, 10 * 1000 };
	int64_t		 deadline = util_now_ms() + ms;

	for (;;) {
		if (pred != NULL && pred(arg))
			return 0;
		if (util_now_ms() >= deadline)
			return -1;
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* Keep the loop turning for ms. */
static void
loop_for(struct event_base *base, int ms)
{
	loop_until(base, NULL, NULL, ms);
}

struct many {
	struct job_arg	*a;
	u_int		 n;
};

/* Has the job been answered? */
static int
pred_done(void *arg)
{
	struct job_arg	*a = arg;

	return locked_int(&a->done_calls) > 0;
}

/* Has the job started? */
static int
pred_ran(void *arg)
{
	struct job_arg	*a = arg;

	return locked_int(&a->ran);
}

/* Has the job been released? */
static int
pred_released(void *arg)
{
	struct job_arg	*a = arg;

	return locked_int(&a->release_calls) > 0;
}

/* Have all the jobs been answered? */
static int
pred_all_done(void *arg)
{
	struct many	*m = arg;
	u_int		 i;

	for (i = 0; i < m->n; i++) {
		if (locked_int(&m->a[i].done_calls) == 0)
			return 0;
	}
	return 1;
}

/* Are at least *arg jobs running? */
static int
pred_running(void *arg)
{
	return locked_running() >= *(u_int *)arg;
}

/* One integer field of workers_status. */
static json_int_t
status_int(struct workers *w, const char *key)
{
	json_t		*st, *v;
	json_int_t	 n;

	st = workers_status(w);
	assert_non_null(st);
	v = json_object_get(st, key);
	if (!json_is_integer(v)) {
		json_decref(st);
		fail_msg("status field %s missing or not an integer", key);
	}
	n = json_integer_value(v);
	json_decref(st);
	return n;
}

/* Have all worker threads gone? */
static int
pred_no_threads(void *arg)
{
	return status_int(arg, "threads") == 0;
}

/* Shut down a pool whose jobs have all returned, and free it. */
static void
finish_pool(struct event_base *base, struct workers *w)
{
	assert_int_equal(workers_shutdown(w, SOON_MS), 0);
	assert_int_equal(loop_until(base, pred_no_threads, w, SOON_MS), 0);
	workers_free(w);
	event_base_free(base);
}

/* ---- tests ------------------------------------------------------------- */

/* A job runs off the loop thread; done follows on it. */
static void
test_run_and_done(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a;

	(void)state;
	reset_globals();
	base = event_base_new();
	assert_non_null(base);
	w = workers_create(base, 2, 10, 30000);
	assert_non_null(w);

	memset(&a, 0, sizeof a);
	assert_int_equal(submit_job(w, job_run, job_done, job_release, &a),
	    0);
	assert_int_equal(loop_until(base, pred_done, &a, SOON_MS), 0);
	loop_for(base, 50);

	assert_true(a.ran);
	assert_false(pthread_equal(a.run_thread, g_main));
	assert_int_equal(a.done_calls, 1);
	assert_int_equal(a.done_timed_out, 0);
	assert_true(a.done_on_main);
	assert_true(a.run_done_at_done);
	/* A successful job's argument goes back to its owner via done. */
	assert_int_equal(a.release_calls, 0);
	assert_int_equal(status_int(w, "completed_total"), 1);
	assert_int_equal(status_int(w, "timed_out_total"), 0);

	finish_pool(base, w);
}

/* Many jobs: each answered once, never more threads than the pool. */
static void
test_many_jobs(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	struct job_arg		*a;
	struct many		 m;
	u_int			 i, n = 200;

	(void)state;
	reset_globals();
	base = event_base_new();
	w = workers_create(base, 4, 1000, 30000);
	a = calloc(n, sizeof *a);
	assert_non_null(a);
	for (i = 0; i < n; i++) {
		assert_int_equal(submit_job(w, job_run, job_done,
		    job_release, &a[i]), 0);
	}
	m.a = a;
	m.n = n;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	loop_for(base, 50);
	for (i = 0; i < n; i++) {
		assert_true(a[i].ran);
		assert_false(pthread_equal(a[i].run_thread, g_main));
		assert_int_equal(a[i].done_calls, 1);
		assert_int_equal(a[i].done_timed_out, 0);
		assert_true(a[i].done_on_main);
		assert_int_equal(a[i].release_calls, 0);
	}
	assert_true(g_max_running <= 4);
	assert_int_equal(status_int(w, "completed_total"), n);
	assert_true(status_int(w, "threads") <= 4);
	finish_pool(base, w);
	free(a);
}

/* A full queue turns jobs away. */
static void
test_queue_bound(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a[5];
	struct many		 m;
	u_int			 i;

	(void)state;
	reset_globals();
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 1, 2, 60000);

	a[0].block = 1;
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[0]), 0);
	assert_int_equal(loop_until(base, pred_ran, &a[0], SOON_MS), 0);

	/* One thread busy: two may wait, the third is turned away. */
	a[1].block = a[2].block = 1;
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[1]), 0);
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[2]), 0);
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[3]), -1);
	assert_int_equal(status_int(w, "queued"), 2);
	assert_int_equal(status_int(w, "busy"), 1);
	assert_int_equal(status_int(w, "rejected_total"), 1);
	assert_int_equal(status_int(w, "queue_size"), 2);

	open_gate();
	m.a = a;
	m.n = 3;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(a[i].done_calls, 1);
		assert_int_equal(a[i].done_timed_out, 0);
	}
	/* The rejected job was never run nor answered. */
	assert_false(a[3].ran);
	assert_int_equal(a[3].done_calls, 0);
	assert_int_equal(a[3].release_calls, 0);

	/* With the queue drained there is room again. */
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[4]), 0);
	assert_int_equal(loop_until(base, pred_done, &a[4], SOON_MS), 0);
	assert_int_equal(status_int(w, "rejected_total"), 1);
	finish_pool(base, w);
}

/* No more jobs run at once than pool_size. */
static void
test_pool_size_bounds_threads(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a[8];
	struct many		 m;
	u_int			 i, three = 3;

	(void)state;
	reset_globals();
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 3, 100, 60000);
	for (i = 0; i < nitems(a); i++) {
		a[i].block = 1;
		assert_int_equal(submit_job(w, job_run, job_done,
		    job_release, &a[i]), 0);
	}
	assert_int_equal(loop_until(base, pred_running, &three, SOON_MS), 0);
	/* Give any extra thread time to show up: none may. */
	loop_for(base, 300);
	assert_int_equal(locked_running(), 3);
	assert_int_equal(g_max_running, 3);
	assert_int_equal(status_int(w, "threads"), 3);
	assert_int_equal(status_int(w, "busy"), 3);
	assert_int_equal(status_int(w, "queued"), 5);
	assert_int_equal(status_int(w, "pool_size"), 3);

	open_gate();
	m.a = a;
	m.n = nitems(a);
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	for (i = 0; i < nitems(a); i++) {
		assert_int_equal(a[i].done_calls, 1);
		assert_int_equal(a[i].done_timed_out, 0);
	}
	assert_int_equal(g_max_running, 3);
	finish_pool(base, w);
}

/*
 * Idle threads from earlier work plus new ones: a burst of blocking jobs
 * no larger than pool_size must all run at once, however many threads
 * happen to be idle when it arrives.
 */
static void
test_pool_fills_after_idle(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 warm[2], a[4];
	struct many		 m;
	u_int			 i, two = 2, four = 4;
	int			 rc;

	(void)state;
	reset_globals();
	memset(warm, 0, sizeof warm);
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 4, 100, 60000);

	/* Two threads, then idle. */
	warm[0].block = warm[1].block = 1;
	for (i = 0; i < 2; i++) {
		assert_int_equal(submit_job(w, job_run, job_done,
		    job_release, &warm[i]), 0);
	}
	assert_int_equal(loop_until(base, pred_running, &two, SOON_MS), 0);
	open_gate();
	m.a = warm;
	m.n = 2;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	loop_for(base, 200);
	assert_int_equal(status_int(w, "threads"), 2);
	pthread_mutex_lock(&g_lock);
	g_gate_open = 0;
	pthread_mutex_unlock(&g_lock);

	/* Four at once into a pool of four. */
	for (i = 0; i < 4; i++) {
		a[i].block = 1;
		assert_int_equal(submit_job(w, job_run, job_done,
		    job_release, &a[i]), 0);
	}
	rc = loop_until(base, pred_running, &four, 3000);
	if (rc != 0) {
		print_error("only %u of 4 jobs running, threads=%lld "
		    "queued=%lld\n", locked_running(),
		    (long long)status_int(w, "threads"),
		    (long long)status_int(w, "queued"));
	}
	open_gate();
	m.a = a;
	m.n = 4;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	finish_pool(base, w);
	assert_int_equal(rc, 0);
}

/* A job past worker_timeout is answered at once, released later. */
static void
test_timeout_running(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a;
	const char		*why = NULL;
	int64_t			 start;

	(void)state;
	reset_globals();
	memset(&a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 2, 10, 100);

	a.block = 1;
	start = util_now_ms();
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a), 0);
	assert_int_equal(loop_until(base, pred_done, &a, SOON_MS), 0);

	/* Answered as timed out while still running, on the loop. */
	assert_int_equal(a.done_calls, 1);
	assert_int_equal(a.done_timed_out, 1);
	assert_true(a.done_on_main);
	assert_false(a.run_done_at_done);
	assert_true(a.done_ms - start >= 50);
	assert_true(a.done_ms - start < SOON_MS);
	assert_int_equal(locked_int(&a.release_calls), 0);
	assert_int_equal(status_int(w, "timed_out_total"), 1);
	assert_int_equal(status_int(w, "busy"), 1);

	/* Still not released while the thread holds the argument. */
	loop_for(base, 200);
	assert_int_equal(locked_int(&a.release_calls), 0);
	assert_int_equal(workers_health(w, &why), 1);
	assert_non_null(why);

	/* Once it returns: released, and done is not called again. */
	open_gate();
	assert_int_equal(loop_until(base, pred_released, &a, SOON_MS), 0);
	loop_for(base, 50);
	assert_int_equal(a.release_calls, 1);
	assert_true(a.run_done_at_release);
	assert_int_equal(a.done_calls, 1);
	assert_int_equal(status_int(w, "busy"), 0);
	why = NULL;
	assert_int_equal(workers_health(w, &why), 0);
	finish_pool(base, w);
}

/* A job that times out in the queue never runs. */
static void
test_timeout_queued(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a[2];
	struct many		 m;

	(void)state;
	reset_globals();
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 1, 10, 200);

	a[0].block = a[1].block = 1;
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[0]), 0);
	assert_int_equal(loop_until(base, pred_ran, &a[0], SOON_MS), 0);
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[1]), 0);
	m.a = a;
	m.n = 2;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	assert_int_equal(a[0].done_timed_out, 1);
	assert_int_equal(a[1].done_timed_out, 1);

	/* The queued job never ran, so it is released without waiting. */
	assert_int_equal(loop_until(base, pred_released, &a[1], SOON_MS), 0);
	assert_int_equal(status_int(w, "queued"), 0);

	/* When the thread frees up, the timed-out job must not run. */
	open_gate();
	assert_int_equal(loop_until(base, pred_released, &a[0], SOON_MS), 0);
	loop_for(base, 200);
	assert_false(locked_int(&a[1].ran));
	assert_int_equal(a[1].done_calls, 1);
	assert_int_equal(a[1].release_calls, 1);
	assert_int_equal(a[0].done_calls, 1);
	assert_int_equal(a[0].release_calls, 1);
	assert_int_equal(status_int(w, "timed_out_total"), 2);
	finish_pool(base, w);
}

/* Every thread stuck past its timeout is unhealthy. */
static void
test_health_stuck(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a[2];
	struct many		 m;
	const char		*why;

	(void)state;
	reset_globals();
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 2, 10, 100);

	why = NULL;
	assert_int_equal(workers_health(w, &why), 0);

	/* Every thread stuck past the timeout: unhealthy. */
	a[0].block = a[1].block = 1;
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[0]), 0);
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[1]), 0);
	m.a = a;
	m.n = 2;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	assert_true(locked_int(&a[0].ran) && locked_int(&a[1].ran));
	why = NULL;
	assert_int_equal(workers_health(w, &why), 2);
	assert_non_null(why);
	assert_true(*why != '\0');

	open_gate();
	assert_int_equal(loop_until(base, pred_released, &a[0], SOON_MS), 0);
	assert_int_equal(loop_until(base, pred_released, &a[1], SOON_MS), 0);
	why = NULL;
	assert_int_equal(workers_health(w, &why), 0);
	finish_pool(base, w);
}

/* A queue nine-tenths full is degraded. */
static void
test_health_queue(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a[11];
	struct many		 m;
	const char		*why;
	u_int			 i;

	(void)state;
	reset_globals();
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 1, 10, 60000);

	a[0].block = 1;
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[0]), 0);
	assert_int_equal(loop_until(base, pred_ran, &a[0], SOON_MS), 0);
	for (i = 1; i <= 8; i++) {
		assert_int_equal(submit_job(w, job_run, job_done,
		    job_release, &a[i]), 0);
	}
	why = NULL;
	assert_int_equal(workers_health(w, &why), 0);
	/* Nine of ten queued: degraded. */
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[9]), 0);
	why = NULL;
	assert_int_equal(workers_health(w, &why), 1);
	assert_non_null(why);
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a[10]), 0);
	assert_int_equal(workers_health(w, &why), 1);

	open_gate();
	m.a = a;
	m.n = nitems(a);
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	why = NULL;
	assert_int_equal(workers_health(w, &why), 0);
	finish_pool(base, w);
}

/* The status JSON carries every figure. */
static void
test_status_fields(void **state)
{
	static const char *const keys[] = { "pool_size", "threads", "busy",
	    "queued", "queue_size", "timeout_ms", "completed_total",
	    "timed_out_total", "rejected_total" };
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a;
	json_t			*st;
	u_int			 i;

	(void)state;
	reset_globals();
	memset(&a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 3, 7, 1234);

	st = workers_status(w);
	assert_non_null(st);
	assert_true(json_is_object(st));
	for (i = 0; i < nitems(keys); i++) {
		if (!json_is_integer(json_object_get(st, keys[i])))
			fail_msg("status has no integer %s", keys[i]);
	}
	json_decref(st);
	assert_int_equal(status_int(w, "pool_size"), 3);
	assert_int_equal(status_int(w, "queue_size"), 7);
	assert_int_equal(status_int(w, "timeout_ms"), 1234);
	/* No thread starts before there is work. */
	assert_int_equal(status_int(w, "threads"), 0);
	assert_int_equal(status_int(w, "busy"), 0);
	assert_int_equal(status_int(w, "queued"), 0);
	assert_int_equal(status_int(w, "completed_total"), 0);
	assert_int_equal(status_int(w, "timed_out_total"), 0);
	assert_int_equal(status_int(w, "rejected_total"), 0);

	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a), 0);
	assert_int_equal(loop_until(base, pred_done, &a, SOON_MS), 0);
	assert_int_equal(status_int(w, "completed_total"), 1);
	assert_int_equal(status_int(w, "busy"), 0);
	assert_int_equal(status_int(w, "queued"), 0);
	assert_true(status_int(w, "threads") <= 3);

	/* New bounds show in the status. */
	workers_configure(w, 5, 9, 4321);
	assert_int_equal(status_int(w, "pool_size"), 5);
	assert_int_equal(status_int(w, "queue_size"), 9);
	assert_int_equal(status_int(w, "timeout_ms"), 4321);
	finish_pool(base, w);
}

/*
 * Jobs waiting for the one thread are taken best class first (critical,
 * high, normal, low), whatever order they came in, and in the order they
 * came within a class.
 */
static void
test_class_order(void **state)
{
	static const enum quota_class arrival[] = {
		CLASS_LOW, CLASS_NORMAL, CLASS_CRITICAL, CLASS_HIGH,
		CLASS_LOW, CLASS_CRITICAL, CLASS_NORMAL, CLASS_HIGH
	};
	/* Where each arrival must run, after the blocker (1). */
	static const int	 want[] = { 8, 6, 2, 4, 9, 3, 7, 5 };
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 blocker, a[nitems(arrival)];
	struct many		 m;
	u_int			 i, one = 1;

	(void)state;
	reset_globals();
	memset(&blocker, 0, sizeof blocker);
	memset(a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 1, 20, 30000);

	blocker.block = 1;
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_NORMAL, &blocker), 0);
	assert_int_equal(loop_until(base, pred_running, &one, SOON_MS), 0);
	for (i = 0; i < nitems(arrival); i++)
		assert_int_equal(submit_as(w, JOB_AUTH, arrival[i], &a[i]), 0);
	assert_int_equal(status_int(w, "queued"), nitems(arrival));

	open_gate();
	m.a = a;
	m.n = nitems(a);
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	assert_int_equal(blocker.order, 1);
	for (i = 0; i < nitems(arrival); i++) {
		if (a[i].order != want[i])
			fail_msg("arrival %u (class %s) ran %d-th, not %d-th", i,
			    quota_class_name(arrival[i]), a[i].order, want[i]);
		assert_int_equal(a[i].done_calls, 1);
		assert_int_equal(a[i].done_timed_out, 0);
	}
	finish_pool(base, w);
}

/*
 * A full queue turns away every class but critical, which has
 * WORKER_CRITICAL_RESERVE slots past queue_size; the reserve's jobs run
 * before the normal ones queued first, and once the queue drains a
 * normal job is taken again. Each refusal counts against its type.
 */
static void
test_critical_reserve(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	struct worker_stats	 st;
	static struct job_arg	 blocker, normal[2], refused[4];
	static struct job_arg	 critical[WORKER_CRITICAL_RESERVE], extra;
	struct many		 m;
	u_int			 i, one = 1;

	(void)state;
	reset_globals();
	memset(&blocker, 0, sizeof blocker);
	memset(normal, 0, sizeof normal);
	memset(refused, 0, sizeof refused);
	memset(critical, 0, sizeof critical);
	memset(&extra, 0, sizeof extra);
	base = event_base_new();
	w = workers_create(base, 1, 2, 30000);

	blocker.block = 1;
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_NORMAL, &blocker), 0);
	assert_int_equal(loop_until(base, pred_running, &one, SOON_MS), 0);
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_NORMAL, &normal[0]), 0);
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_NORMAL, &normal[1]), 0);

	/* queue_size reached: normal, high and low are refused. */
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_NORMAL, &refused[0]),
	    -1);
	assert_int_equal(submit_as(w, JOB_AUTH, CLASS_HIGH, &refused[1]), -1);
	assert_int_equal(submit_as(w, JOB_AUTH, CLASS_LOW, &refused[2]), -1);

	/* Critical fills the reserve, and no more. */
	for (i = 0; i < WORKER_CRITICAL_RESERVE; i++)
		assert_int_equal(submit_as(w, JOB_RELOAD, CLASS_CRITICAL,
		    &critical[i]), 0);
	assert_int_equal(submit_as(w, JOB_SOCKET, CLASS_CRITICAL, &refused[3]),
	    -1);

	workers_stats(w, &st);
	assert_int_equal(st.queued, 2 + WORKER_CRITICAL_RESERVE);
	assert_int_equal(st.busy, 1);
	assert_int_equal(st.rejected[JOB_LOOKUP], 1);
	assert_int_equal(st.rejected[JOB_AUTH], 2);
	assert_int_equal(st.rejected[JOB_RELOAD], 0);
	assert_int_equal(st.rejected[JOB_SOCKET], 1);
	assert_int_equal(status_int(w, "rejected_total"), 4);

	open_gate();
	m.a = critical;
	m.n = WORKER_CRITICAL_RESERVE;
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	m.a = normal;
	m.n = nitems(normal);
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);
	for (i = 0; i < WORKER_CRITICAL_RESERVE; i++)
		assert_int_equal(critical[i].order, 2 + (int)i);
	assert_int_equal(normal[0].order, 2 + WORKER_CRITICAL_RESERVE);
	assert_int_equal(normal[1].order, 3 + WORKER_CRITICAL_RESERVE);
	for (i = 0; i < nitems(refused); i++) {
		assert_false(refused[i].ran);
		assert_int_equal(refused[i].done_calls, 0);
		assert_int_equal(refused[i].release_calls, 0);
	}

	/* Drained: a normal job is taken again. */
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_NORMAL, &extra), 0);
	assert_int_equal(loop_until(base, pred_done, &extra, SOON_MS), 0);
	workers_stats(w, &st);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.completed[JOB_LOOKUP], 4);
	assert_int_equal(st.completed[JOB_RELOAD], WORKER_CRITICAL_RESERVE);
	assert_int_equal(st.rejected[JOB_LOOKUP], 1);
	finish_pool(base, w);
}

/* Has workers_stats counted at least *arg timeouts, of any type? */
static int
pred_timeouts(void *arg)
{
	struct worker_stats	 st;
	uint64_t		 n = 0;
	u_int			 i;

	workers_stats(((void **)arg)[0], &st);
	for (i = 0; i < JOB_TYPES; i++)
		n += st.timeouts[i];
	return n >= *(uint64_t *)((void **)arg)[1];
}

/*
 * workers_stats: the pool's size, threads busy and jobs waiting now, and
 * per type what was completed, timed out (running or queued) and
 * refused; busy time grows while a job runs and stands still when none
 * does, and agrees with workers_status.
 */
static void
test_stats_snapshot(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	struct worker_stats	 st, st2;
	static struct job_arg	 blocker, queued[2], quick[2], refused;
	struct many		 m;
	uint64_t		 want = 3;
	void			*args[2];
	u_int			 i, one = 1;

	(void)state;
	reset_globals();
	memset(&blocker, 0, sizeof blocker);
	memset(queued, 0, sizeof queued);
	memset(quick, 0, sizeof quick);
	memset(&refused, 0, sizeof refused);
	base = event_base_new();
	w = workers_create(base, 1, 10, 300);

	workers_stats(w, &st);
	assert_int_equal(st.size, 1);
	assert_int_equal(st.busy, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.busy_ns, 0);
	for (i = 0; i < JOB_TYPES; i++) {
		assert_int_equal(st.completed[i], 0);
		assert_int_equal(st.timeouts[i], 0);
		assert_int_equal(st.rejected[i], 0);
	}

	/* One auth call holds the thread, two lookups wait behind it. */
	blocker.block = 1;
	assert_int_equal(submit_as(w, JOB_AUTH, CLASS_NORMAL, &blocker), 0);
	assert_int_equal(loop_until(base, pred_running, &one, SOON_MS), 0);
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_LOW, &queued[0]), 0);
	assert_int_equal(submit_as(w, JOB_LOOKUP, CLASS_HIGH, &queued[1]), 0);
	workers_stats(w, &st);
	assert_int_equal(st.busy, 1);
	assert_int_equal(st.queued, 2);
	usleep(20 * 1000);
	workers_stats(w, &st2);
	assert_true(st2.at_ns > st.at_ns);
	assert_true(st2.busy_ns > st.busy_ns);
	assert_true(st2.busy_ns >= 20 * 1000 * 1000);

	/* worker_timeout (300 ms): all three time out, two never ran. */
	args[0] = w;
	args[1] = &want;
	assert_int_equal(loop_until(base, pred_timeouts, args, SOON_MS), 0);
	workers_stats(w, &st);
	assert_int_equal(st.timeouts[JOB_AUTH], 1);
	assert_int_equal(st.timeouts[JOB_LOOKUP], 2);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.busy, 1);	/* the auth call still runs */
	assert_false(locked_int(&queued[0].ran));
	assert_false(locked_int(&queued[1].ran));

	/* It returns: not completed (it timed out), and nobody is busy. */
	open_gate();
	assert_int_equal(loop_until(base, pred_released, &blocker, SOON_MS),
	    0);
	workers_stats(w, &st);
	assert_int_equal(st.busy, 0);
	assert_int_equal(st.completed[JOB_AUTH], 0);

	/* Two reloads complete. */
	assert_int_equal(submit_as(w, JOB_RELOAD, CLASS_CRITICAL, &quick[0]),
	    0);
	assert_int_equal(submit_as(w, JOB_RELOAD, CLASS_NORMAL, &quick[1]), 0);
	m.a = quick;
	m.n = nitems(quick);
	assert_int_equal(loop_until(base, pred_all_done, &m, SOON_MS), 0);

	/* No queue left at all: even a socket job is refused. */
	workers_configure(w, 1, 0, 300);
	assert_int_equal(submit_as(w, JOB_SOCKET, CLASS_NORMAL, &refused), -1);

	workers_stats(w, &st);
	assert_int_equal(st.completed[JOB_RELOAD], 2);
	assert_int_equal(st.completed[JOB_AUTH], 0);
	assert_int_equal(st.completed[JOB_LOOKUP], 0);
	assert_int_equal(st.rejected[JOB_SOCKET], 1);
	assert_int_equal(st.rejected[JOB_RELOAD], 0);
	assert_int_equal(st.busy, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(status_int(w, "completed_total"), 2);
	assert_int_equal(status_int(w, "timed_out_total"), 3);
	assert_int_equal(status_int(w, "rejected_total"), 1);
	usleep(20 * 1000);
	workers_stats(w, &st2);
	assert_true(st2.busy_ns == st.busy_ns);
	finish_pool(base, w);
}

/*
 * After every test, even a failed one, let blocked jobs return: their
 * arguments are static, so a thread left behind touches nothing freed.
 */
static int
teardown_gate(void **state)
{
	(void)state;
	open_gate();
	return 0;
}

/* Open the gate after a while, from another thread. */
static void *
open_gate_later(void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	open_gate();
	return NULL;
}

/*
 * Shutdown waits for running jobs and never runs queued ones; none is
 * answered any more, every one is released.
 */
static void
test_shutdown(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a[3], late;
	pthread_t		 t;
	int64_t			 start, took;
	u_int			 i;

	(void)state;
	reset_globals();
	memset(a, 0, sizeof a);
	memset(&late, 0, sizeof late);
	base = event_base_new();
	w = workers_create(base, 1, 10, 60000);

	for (i = 0; i < 3; i++) {
		a[i].block = 1;
		assert_int_equal(submit_job(w, job_run, job_done,
		    job_release, &a[i]), 0);
	}
	assert_int_equal(loop_until(base, pred_ran, &a[0], SOON_MS), 0);

	assert_int_equal(pthread_create(&t, NULL, open_gate_later, NULL), 0);
	start = util_now_ms();
	assert_int_equal(workers_shutdown(w, SOON_MS), 0);
	took = util_now_ms() - start;
	assert_int_equal(pthread_join(t, NULL), 0);

	/* It waited for the running job, then released it unanswered... */
	assert_true(took >= 200);
	assert_true(took < SOON_MS);
	assert_true(locked_int(&a[0].run_done));
	assert_int_equal(a[0].done_calls, 0);
	assert_int_equal(a[0].release_calls, 1);
	assert_true(a[0].run_done_at_release);
	/* ...and released the queued ones without running them. */
	for (i = 1; i < 3; i++) {
		assert_false(locked_int(&a[i].ran));
		assert_int_equal(a[i].done_calls, 0);
		assert_int_equal(a[i].release_calls, 1);
	}

	/* A stopped pool takes no more work. */
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &late), -1);
	assert_int_equal(loop_until(base, pred_no_threads, w, SOON_MS), 0);
	loop_for(base, 50);
	assert_int_equal(late.done_calls, 0);
	assert_int_equal(late.release_calls, 0);
	assert_false(late.ran);
	/* Nothing is answered late either. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(a[i].done_calls, 0);
		assert_int_equal(a[i].release_calls, 1);
	}
	workers_free(w);
	event_base_free(base);
}

/* Wait, without turning the event loop, until pred(arg) or ms pass. */
static int
wait_until(pred_fn pred, void *arg, int ms)
{
	int64_t	 deadline = util_now_ms() + ms;

	while (!pred(arg)) {
		if (util_now_ms() >= deadline)
			return -1;
		usleep(10 * 1000);
	}
	return 0;
}

/*
 * Shutdown gives up on a stuck job after its timeout, and does not
 * release what the thread still uses; once the thread lets go, a second
 * shutdown releases it, unanswered.
 */
static void
test_shutdown_stuck(void **state)
{
	struct event_base	*base;
	struct workers		*w;
	static struct job_arg	 a;
	int64_t			 start, took;

	(void)state;
	reset_globals();
	memset(&a, 0, sizeof a);
	base = event_base_new();
	w = workers_create(base, 1, 10, 60000);
	a.block = 1;
	assert_int_equal(submit_job(w, job_run, job_done, job_release,
	    &a), 0);
	assert_int_equal(loop_until(base, pred_ran, &a, SOON_MS), 0);

	/* A job that will not finish: shutdown gives up and says so. */
	start = util_now_ms();
	assert_int_equal(workers_shutdown(w, 200), 1);
	took = util_now_ms() - start;
	assert_true(took >= 100);
	assert_true(took < SOON_MS);
	assert_int_equal(locked_int(&a.release_calls), 0);
	assert_int_equal(locked_int(&a.done_calls), 0);

	/* Let it go; the loop has stopped, as the broker's has. */
	open_gate();
	assert_int_equal(wait_until(pred_no_threads, w, SOON_MS), 0);
	assert_int_equal(workers_shutdown(w, SOON_MS), 0);
	assert_int_equal(a.release_calls, 1);
	assert_true(a.run_done_at_release);
	assert_int_equal(a.done_calls, 0);
	workers_free(w);
	event_base_free(base);
}

/* An unused pool frees cleanly. */
static void
test_free_unused(void **state)
{
	struct event_base	*base;
	struct workers		*w;

	(void)state;
	base = event_base_new();
	w = workers_create(base, 4, 4, 1000);
	assert_int_equal(workers_shutdown(w, 1000), 0);
	workers_free(w);
	event_base_free(base);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_run_and_done, teardown_gate),
		cmocka_unit_test_teardown(test_many_jobs, teardown_gate),
		cmocka_unit_test_teardown(test_queue_bound, teardown_gate),
		cmocka_unit_test_teardown(test_pool_size_bounds_threads,
		    teardown_gate),
		cmocka_unit_test_teardown(test_pool_fills_after_idle,
		    teardown_gate),
		cmocka_unit_test_teardown(test_timeout_running, teardown_gate),
		cmocka_unit_test_teardown(test_timeout_queued, teardown_gate),
		cmocka_unit_test_teardown(test_health_stuck, teardown_gate),
		cmocka_unit_test_teardown(test_health_queue, teardown_gate),
		cmocka_unit_test_teardown(test_status_fields, teardown_gate),
		cmocka_unit_test_teardown(test_class_order, teardown_gate),
		cmocka_unit_test_teardown(test_critical_reserve,
		    teardown_gate),
		cmocka_unit_test_teardown(test_stats_snapshot, teardown_gate),
		cmocka_unit_test_teardown(test_shutdown, teardown_gate),
		cmocka_unit_test_teardown(test_shutdown_stuck, teardown_gate),
		cmocka_unit_test_teardown(test_free_unused, teardown_gate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
