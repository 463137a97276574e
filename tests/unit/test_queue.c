/*
 * Unit tests for the wait queue in front of a full connection pool: class
 * order then arrival order (or one FIFO when prioritization is off), the
 * bound, positions that agree with the order of admission (and with
 * queue_walk, and queue_position's shortcut for the newest arrival with
 * its full count, over random sequences), the entries each uid has
 * waiting, the longest wait, deadlines exact to the millisecond, and the
 * wait estimate. The clock is a plain variable the tests move.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker.h"

#define SEC	1000

/* Deadlines far away, for tests about order only. */
#define NEVER	(24LL * 3600 * SEC)

/* The uid the order tests give a client: a few uids, several entries each. */
#define UID(id)	((uid_t)(1000 + (id) % 5))

/* What queue_walk gave, in the order it gave it. */
struct walked {
	uint64_t	 client[4096];
	uid_t		 uid[4096];
	enum quota_class class[4096];
	u_int		 pos[4096];
	u_int		 n;
};

/* queue_walk's callback: record the entry and its place. */
static void
walk_cb(const struct qentry *e, u_int pos, void *arg)
{
	struct walked	*w = arg;

	if (w->n == nitems(w->client))
		fail_msg("queue_walk gave more entries than the test holds");
	w->client[w->n] = e->client;
	w->uid[w->n] = e->uid;
	w->class[w->n] = e->class;
	w->pos[w->n] = pos;
	w->n++;
}

/* Walk the queue into w; the places must run 1..n. */
static void
walk(const struct queue *q, struct walked *w)
{
	u_int	 i;

	w->n = 0;
	queue_walk(q, walk_cb, w);
	assert_int_equal(w->n, q->size);
	for (i = 0; i < w->n; i++) {
		if (w->pos[i] != i + 1)
			fail_msg("walk: entry %u given place %u", i, w->pos[i]);
	}
}

/* A client's place as queue_walk gives it; 0 when it is not queued. */
static u_int
walk_position(const struct queue *q, uint64_t id)
{
	static struct walked	 w;
	u_int			 i;

	walk(q, &w);
	for (i = 0; i < w.n; i++) {
		if (w.client[i] == id)
			return w.pos[i];
	}
	return 0;
}

/*
 * Push that must succeed; the newcomer's place (queue_position's
 * shortcut) must be the one a walk gives it.
 */
static void
push_ok(struct queue *q, uint64_t id, enum quota_class class, int64_t now,
    int64_t timeout)
{
	u_int	 size = q->size, mine = queue_user(q, UID(id));

	assert_int_equal(queue_push(q, id, UID(id), class, now, timeout), 0);
	assert_int_equal(q->size, size + 1);
	assert_int_equal(queue_user(q, UID(id)), mine + 1);
	assert_int_equal(queue_position(q, id), walk_position(q, id));
}

/* Push that must be refused, and change nothing. */
static void
push_refused(struct queue *q, uint64_t id, enum quota_class class,
    int64_t now, int64_t timeout)
{
	u_int	 size = q->size, mine = queue_user(q, UID(id));
	u_int	 pos = queue_position(q, id);

	assert_int_equal(queue_push(q, id, UID(id), class, now, timeout), -1);
	assert_int_equal(q->size, size);
	assert_int_equal(queue_user(q, UID(id)), mine);
	assert_int_equal(queue_position(q, id), pos);
}

/* Pop that must give this client. */
static void
pop_is(struct queue *q, int64_t now, uint64_t id)
{
	int64_t	 waited = -12345;
	uint64_t got;

	got = queue_pop(q, now, &waited);
	if (got != id)
		fail_msg("popped %llu, expected %llu", (unsigned long long)got,
		    (unsigned long long)id);
	if (id != 0)
		assert_true(waited >= 0);
}

/*
 * The queue holds exactly these clients, and each one's position is its
 * place in this order (which the caller then checks queue_pop follows).
 */
static void
check_positions(const struct queue *q, const uint64_t *order, u_int n)
{
	static struct walked	 w;
	u_int			 i, pos;

	assert_int_equal(q->size, n);
	for (i = 0; i < n; i++) {
		pos = queue_position(q, order[i]);
		if (pos != i + 1)
			fail_msg("client %llu at position %u, expected %u",
			    (unsigned long long)order[i], pos, i + 1);
	}
	/* queue_walk gives the same order. */
	walk(q, &w);
	for (i = 0; i < n; i++) {
		if (w.client[i] != order[i])
			fail_msg("walk: client %llu at place %u, expected "
			    "%llu", (unsigned long long)w.client[i], i + 1,
			    (unsigned long long)order[i]);
	}
}

/* ---- basics ------------------------------------------------------------ */

/* A new queue is empty; everything on it says so. */
static void
test_queue_empty(void **state)
{
	struct queue	 q;
	int64_t		 waited = 777;

	(void)state;
	memset(&q, 0xa5, sizeof q);
	queue_init(&q, 10, 1);
	assert_int_equal(q.size, 0);
	assert_int_equal(q.max, 10);
	assert_int_equal(queue_pop(&q, 0, &waited), 0);
	assert_int_equal(queue_position(&q, 1), 0);
	assert_int_equal(queue_remove(&q, 1, 0), -1);
	assert_int_equal(queue_expire(&q, INT64_MAX), 0);
	assert_int_equal(queue_next_deadline(&q), -1);
	assert_int_equal(queue_eta(&q, 1, 0), -1);
	queue_free(&q);
	assert_int_equal(q.size, 0);
}

/* A pop tells how long the client waited, by the clock passed in. */
static void
test_queue_waited(void **state)
{
	struct queue	 q;
	int64_t		 waited = -1;
	int64_t		 t0 = 5000000;

	(void)state;
	queue_init(&q, 10, 1);
	push_ok(&q, 1, CLASS_NORMAL, t0, NEVER);
	push_ok(&q, 2, CLASS_NORMAL, t0 + 250, NEVER);
	push_ok(&q, 3, CLASS_HIGH, t0 + 600, NEVER);

	assert_int_equal(queue_pop(&q, t0 + 1000, &waited), 3);
	assert_int_equal(waited, 400);
	assert_int_equal(queue_pop(&q, t0 + 1000, &waited), 1);
	assert_int_equal(waited, 1000);
	assert_int_equal(queue_pop(&q, t0 + 1250, &waited), 2);
	assert_int_equal(waited, 1000);
	/* Popped at the instant it was pushed: no wait. */
	push_ok(&q, 4, CLASS_LOW, t0 + 2000, NEVER);
	assert_int_equal(queue_pop(&q, t0 + 2000, &waited), 4);
	assert_int_equal(waited, 0);
	assert_int_equal(q.size, 0);
	queue_free(&q);
}

/* ---- order ------------------------------------------------------------- */

/* The interleaved scenario both order tests use. */
static const struct {
	uint64_t	 id;
	enum quota_class class;
} mix[] = {
	{ 101, CLASS_LOW },
	{ 102, CLASS_NORMAL },
	{ 103, CLASS_HIGH },
	{ 104, CLASS_CRITICAL },
	{ 105, CLASS_LOW },
	{ 106, CLASS_NORMAL },
	{ 107, CLASS_HIGH },
	{ 108, CLASS_CRITICAL },
	{ 109, CLASS_NORMAL },
	{ 110, CLASS_LOW },
	{ 111, CLASS_HIGH },
	{ 112, CLASS_NORMAL },
};

/* Push the scenario, one client a millisecond. */
static void
push_mix(struct queue *q)
{
	u_int	 i;

	for (i = 0; i < nitems(mix); i++)
		push_ok(q, mix[i].id, mix[i].class, 1000 + i, NEVER);
}

/* Highest class first, first come first served within a class. */
static void
test_queue_class_order(void **state)
{
	static const uint64_t order[] = {
		104, 108,		/* critical */
		103, 107, 111,		/* high */
		102, 106, 109, 112,	/* normal */
		101, 105, 110		/* low */
	};
	struct queue	 q;
	u_int		 i;

	(void)state;
	queue_init(&q, 100, 1);
	push_mix(&q);
	/* Pop one by one; after every pop the rest keep their order. */
	for (i = 0; i < nitems(order); i++) {
		check_positions(&q, order + i, nitems(order) - i);
		pop_is(&q, 5000, order[i]);
	}
	pop_is(&q, 5000, 0);
	queue_free(&q);
}

/* A higher class that arrives later still goes ahead of those waiting. */
static void
test_queue_class_late_arrival(void **state)
{
	struct queue	 q;

	(void)state;
	queue_init(&q, 100, 1);
	push_ok(&q, 1, CLASS_LOW, 0, NEVER);
	push_ok(&q, 2, CLASS_NORMAL, 1, NEVER);
	pop_is(&q, 2, 2);
	push_ok(&q, 3, CLASS_CRITICAL, 3, NEVER);
	push_ok(&q, 4, CLASS_LOW, 4, NEVER);
	assert_int_equal(queue_position(&q, 3), 1);
	assert_int_equal(queue_position(&q, 1), 2);
	assert_int_equal(queue_position(&q, 4), 3);
	pop_is(&q, 5, 3);
	push_ok(&q, 5, CLASS_HIGH, 6, NEVER);
	push_ok(&q, 6, CLASS_NORMAL, 7, NEVER);
	pop_is(&q, 8, 5);
	pop_is(&q, 8, 6);
	pop_is(&q, 8, 1);
	pop_is(&q, 8, 4);
	pop_is(&q, 8, 0);
	queue_free(&q);
}

/* Without prioritization: one line in order of arrival, whatever class. */
static void
test_queue_fifo_without_priority(void **state)
{
	struct queue	 q;
	uint64_t	 order[nitems(mix)];
	u_int		 i;

	(void)state;
	queue_init(&q, 100, 0);
	push_mix(&q);
	for (i = 0; i < nitems(mix); i++)
		order[i] = mix[i].id;
	for (i = 0; i < nitems(mix); i++) {
		check_positions(&q, order + i, nitems(mix) - i);
		pop_is(&q, 5000, order[i]);
	}
	pop_is(&q, 5000, 0);
	queue_free(&q);
}

/* Arrival order is by push, even when pushes share a millisecond. */
static void
test_queue_fifo_same_time(void **state)
{
	struct queue	 q;
	int		 prio;

	(void)state;
	for (prio = 0; prio <= 1; prio++) {
		queue_init(&q, 100, prio);
		push_ok(&q, 30, CLASS_NORMAL, 100, NEVER);
		push_ok(&q, 10, CLASS_NORMAL, 100, NEVER);
		push_ok(&q, 20, CLASS_NORMAL, 100, NEVER);
		assert_int_equal(queue_position(&q, 30), 1);
		assert_int_equal(queue_position(&q, 10), 2);
		assert_int_equal(queue_position(&q, 20), 3);
		pop_is(&q, 100, 30);
		pop_is(&q, 100, 10);
		pop_is(&q, 100, 20);
		queue_free(&q);
	}
}

/* Turning prioritization on or off reorders those already waiting. */
static void
test_queue_configure_prioritize(void **state)
{
	static const uint64_t by_class[] = {
		104, 108, 103, 107, 111, 102, 106, 109, 112, 101, 105, 110
	};
	struct queue	 q;
	uint64_t	 fifo[nitems(mix)];
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(mix); i++)
		fifo[i] = mix[i].id;

	queue_init(&q, 100, 0);
	push_mix(&q);
	check_positions(&q, fifo, nitems(fifo));
	queue_configure(&q, 100, 1);
	check_positions(&q, by_class, nitems(by_class));
	queue_configure(&q, 100, 0);
	check_positions(&q, fifo, nitems(fifo));
	queue_configure(&q, 100, 1);
	for (i = 0; i < nitems(by_class); i++)
		pop_is(&q, 9000, by_class[i]);
	queue_free(&q);
}

/* ---- bounds ------------------------------------------------------------ */

/* Full means refused at once, and nothing changes. */
static void
test_queue_full(void **state)
{
	struct queue	 q;

	(void)state;
	queue_init(&q, 3, 1);
	push_ok(&q, 1, CLASS_LOW, 0, NEVER);
	push_ok(&q, 2, CLASS_LOW, 0, NEVER);
	push_ok(&q, 3, CLASS_LOW, 0, NEVER);
	/* Not even a critical client gets in past the bound. */
	push_refused(&q, 4, CLASS_CRITICAL, 1, NEVER);
	push_refused(&q, 5, CLASS_LOW, 1, NEVER);
	assert_int_equal(q.size, 3);
	assert_int_equal(queue_position(&q, 4), 0);
	assert_int_equal(queue_position(&q, 5), 0);
	assert_int_equal(queue_remove(&q, 4, 1), -1);
	assert_int_equal(queue_next_deadline(&q), NEVER);

	/* A place that comes free can be taken, once. */
	pop_is(&q, 2, 1);
	push_ok(&q, 6, CLASS_CRITICAL, 2, NEVER);
	push_refused(&q, 7, CLASS_CRITICAL, 2, NEVER);
	assert_int_equal(queue_remove(&q, 2, 3), 0);
	push_ok(&q, 8, CLASS_HIGH, 3, NEVER);
	push_refused(&q, 9, CLASS_HIGH, 3, NEVER);

	pop_is(&q, 4, 6);
	pop_is(&q, 4, 8);
	pop_is(&q, 4, 3);
	pop_is(&q, 4, 0);
	queue_free(&q);
}

/* A queue of size zero refuses the first client. */
static void
test_queue_zero(void **state)
{
	struct queue	 q;

	(void)state;
	queue_init(&q, 0, 1);
	push_refused(&q, 1, CLASS_CRITICAL, 0, NEVER);
	assert_int_equal(q.size, 0);
	assert_int_equal(queue_position(&q, 1), 0);
	assert_int_equal(queue_next_deadline(&q), -1);
	queue_free(&q);
}

/* A lower bound keeps those already queued; a higher one lets more in. */
static void
test_queue_configure_max(void **state)
{
	struct queue	 q;
	uint64_t	 id;

	(void)state;
	queue_init(&q, 5, 1);
	for (id = 1; id <= 5; id++)
		push_ok(&q, id, CLASS_NORMAL, (int64_t)id, NEVER);
	queue_configure(&q, 2, 1);
	assert_int_equal(q.size, 5);
	push_refused(&q, 6, CLASS_CRITICAL, 10, NEVER);
	for (id = 1; id <= 5; id++)
		assert_int_equal(queue_position(&q, id), id);
	pop_is(&q, 20, 1);
	pop_is(&q, 20, 2);
	pop_is(&q, 20, 3);
	push_refused(&q, 7, CLASS_NORMAL, 20, NEVER);
	pop_is(&q, 20, 4);
	/* One left, bound two: one more fits. */
	push_ok(&q, 8, CLASS_NORMAL, 21, NEVER);
	push_refused(&q, 9, CLASS_NORMAL, 21, NEVER);

	queue_configure(&q, 4, 1);
	push_ok(&q, 10, CLASS_NORMAL, 22, NEVER);
	push_ok(&q, 11, CLASS_NORMAL, 22, NEVER);
	push_refused(&q, 12, CLASS_NORMAL, 22, NEVER);
	pop_is(&q, 30, 5);
	pop_is(&q, 30, 8);
	pop_is(&q, 30, 10);
	pop_is(&q, 30, 11);
	pop_is(&q, 30, 0);
	queue_free(&q);
}

/* ---- removal and positions --------------------------------------------- */

/* Taking out the middle entry closes the gap; the rest keep their order. */
static void
test_queue_remove_middle(void **state)
{
	struct queue	 q;
	uint64_t	 id;
	int		 prio;

	(void)state;
	for (prio = 0; prio <= 1; prio++) {
		queue_init(&q, 10, prio);
		for (id = 1; id <= 5; id++)
			push_ok(&q, id, CLASS_NORMAL, (int64_t)id, NEVER);
		assert_int_equal(queue_remove(&q, 3, 10), 0);
		assert_int_equal(q.size, 4);
		assert_int_equal(queue_position(&q, 1), 1);
		assert_int_equal(queue_position(&q, 2), 2);
		assert_int_equal(queue_position(&q, 3), 0);
		assert_int_equal(queue_position(&q, 4), 3);
		assert_int_equal(queue_position(&q, 5), 4);
		/* Gone is gone. */
		assert_int_equal(queue_remove(&q, 3, 11), -1);
		assert_int_equal(q.size, 4);
		pop_is(&q, 20, 1);
		pop_is(&q, 20, 2);
		pop_is(&q, 20, 4);
		pop_is(&q, 20, 5);
		pop_is(&q, 20, 0);
		queue_free(&q);
	}
}

/* Positions after removals at the head, middle and tail of each class. */
static void
test_queue_positions_after_removals(void **state)
{
	/* The scenario's admission order without 104, 107, 112 and 101. */
	static const uint64_t by_class[] = {
		108, 103, 111, 102, 106, 109, 105, 110
	};
	static const uint64_t fifo[] = {
		102, 103, 105, 106, 108, 109, 110, 111
	};
	struct queue	 q;
	u_int		 i;
	int		 prio;

	(void)state;
	for (prio = 0; prio <= 1; prio++) {
		queue_init(&q, 100, prio);
		push_mix(&q);
		assert_int_equal(queue_remove(&q, 104, 2000), 0);
		assert_int_equal(queue_remove(&q, 107, 2000), 0);
		assert_int_equal(queue_remove(&q, 112, 2000), 0);
		assert_int_equal(queue_remove(&q, 101, 2000), 0);
		assert_int_equal(queue_remove(&q, 101, 2000), -1);
		assert_int_equal(queue_remove(&q, 999, 2000), -1);
		assert_int_equal(queue_position(&q, 104), 0);
		assert_int_equal(queue_position(&q, 101), 0);
		check_positions(&q, prio ? by_class : fifo, 8);
		for (i = 0; i < 8; i++)
			pop_is(&q, 3000, prio ? by_class[i] : fifo[i]);
		pop_is(&q, 3000, 0);
		queue_free(&q);
	}
}

/* The only entry can be removed, and the queue is empty after. */
static void
test_queue_remove_only(void **state)
{
	struct queue	 q;

	(void)state;
	queue_init(&q, 10, 1);
	push_ok(&q, 42, CLASS_HIGH, 0, 1000);
	assert_int_equal(queue_remove(&q, 42, 10), 0);
	assert_int_equal(q.size, 0);
	assert_int_equal(queue_next_deadline(&q), -1);
	assert_int_equal(queue_expire(&q, 5000), 0);
	pop_is(&q, 20, 0);
	queue_free(&q);
}

/* ---- deadlines --------------------------------------------------------- */

/* Expired at the deadline exactly, not one millisecond before. */
static void
test_queue_expire_boundary(void **state)
{
	struct queue	 q;
	int64_t		 t0 = 1234567;

	(void)state;
	queue_init(&q, 10, 1);
	push_ok(&q, 7, CLASS_NORMAL, t0, 5 * SEC);
	assert_int_equal(queue_next_deadline(&q), t0 + 5 * SEC);
	assert_int_equal(queue_expire(&q, t0), 0);
	assert_int_equal(queue_expire(&q, t0 + 5 * SEC - 1), 0);
	assert_int_equal(q.size, 1);
	assert_int_equal(queue_position(&q, 7), 1);
	assert_int_equal(queue_expire(&q, t0 + 5 * SEC), 7);
	assert_int_equal(q.size, 0);
	assert_int_equal(queue_position(&q, 7), 0);
	assert_int_equal(queue_expire(&q, t0 + 5 * SEC), 0);
	assert_int_equal(queue_next_deadline(&q), -1);

	/* Long past the deadline is expired too. */
	push_ok(&q, 8, CLASS_CRITICAL, t0, 5 * SEC);
	assert_int_equal(queue_expire(&q, t0 + 3600 * SEC), 8);
	assert_int_equal(q.size, 0);

	/* A timeout of zero is already due. */
	push_ok(&q, 9, CLASS_LOW, t0, 0);
	assert_int_equal(queue_next_deadline(&q), t0);
	assert_int_equal(queue_expire(&q, t0 - 1), 0);
	assert_int_equal(queue_expire(&q, t0), 9);
	queue_free(&q);
}

/* Repeated calls take exactly those due, whatever their class. */
static void
test_queue_expire_many(void **state)
{
	static const struct {
		uint64_t	 id;
		enum quota_class class;
		int64_t		 at;
		int64_t		 timeout;
	} e[] = {
		{ 1, CLASS_CRITICAL,	0,	9000 },	/* due 9000 */
		{ 2, CLASS_LOW,		0,	3000 },	/* due 3000 */
		{ 3, CLASS_HIGH,	100,	2900 },	/* due 3000 */
		{ 4, CLASS_NORMAL,	200,	2801 },	/* due 3001 */
		{ 5, CLASS_LOW,		300,	1000 },	/* due 1300 */
		{ 6, CLASS_NORMAL,	400,	6000 },	/* due 6400 */
		{ 7, CLASS_CRITICAL,	500,	2499 },	/* due 2999 */
	};
	struct queue	 q;
	uint64_t	 id, seen;
	u_int		 i;
	int		 prio;

	(void)state;
	for (prio = 0; prio <= 1; prio++) {
		queue_init(&q, 10, prio);
		for (i = 0; i < nitems(e); i++)
			push_ok(&q, e[i].id, e[i].class, e[i].at, e[i].timeout);
		assert_int_equal(queue_next_deadline(&q), 1300);

		assert_int_equal(queue_expire(&q, 1299), 0);
		assert_int_equal(queue_expire(&q, 1300), 5);
		assert_int_equal(queue_expire(&q, 1300), 0);
		assert_int_equal(queue_next_deadline(&q), 2999);

		/* At 3000: 2, 3 and 7 are due, in some order; 4 is not. */
		seen = 0;
		while ((id = queue_expire(&q, 3000)) != 0) {
			assert_true(id == 2 || id == 3 || id == 7);
			assert_int_equal(seen & (1ULL << id), 0);
			seen |= 1ULL << id;
		}
		assert_int_equal(seen, (1ULL << 2) | (1ULL << 3) | (1ULL << 7));
		assert_int_equal(q.size, 3);
		assert_int_equal(queue_next_deadline(&q), 3001);
		assert_int_equal(queue_position(&q, 2), 0);

		/* Those left keep their order (the same in both modes). */
		assert_int_equal(queue_position(&q, 1), 1);
		assert_int_equal(queue_position(&q, 4), 2);
		assert_int_equal(queue_position(&q, 6), 3);
		assert_int_equal(queue_expire(&q, 3001), 4);
		assert_int_equal(queue_expire(&q, 6399), 0);
		assert_int_equal(queue_next_deadline(&q), 6400);
		assert_int_equal(queue_expire(&q, 6400), 6);
		assert_int_equal(queue_next_deadline(&q), 9000);
		assert_int_equal(queue_expire(&q, 8999), 0);
		assert_int_equal(queue_expire(&q, 9000), 1);
		assert_int_equal(queue_next_deadline(&q), -1);
		assert_int_equal(q.size, 0);
		queue_free(&q);
	}
}

/* The next deadline is the earliest, not the head's; it follows pops. */
static void
test_queue_next_deadline(void **state)
{
	struct queue	 q;

	(void)state;
	queue_init(&q, 10, 1);
	push_ok(&q, 1, CLASS_CRITICAL, 0, 10000);
	push_ok(&q, 2, CLASS_LOW, 0, 500);
	push_ok(&q, 3, CLASS_NORMAL, 100, 700);
	assert_int_equal(queue_next_deadline(&q), 500);
	pop_is(&q, 200, 1);
	assert_int_equal(queue_next_deadline(&q), 500);
	assert_int_equal(queue_remove(&q, 2, 300), 0);
	assert_int_equal(queue_next_deadline(&q), 800);
	pop_is(&q, 400, 3);
	assert_int_equal(queue_next_deadline(&q), -1);
	queue_free(&q);
}

/* ---- many entries and ids ---------------------------------------------- */

#define MANY	2000

/* A deterministic stream of numbers for the big tests. */
static uint32_t
lcg(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x >> 8;
}

/* Many entries, large ids: positions and pops agree, in both modes. */
static void
test_queue_many(void **state)
{
	struct queue	 q;
	uint64_t	*ids, *order;
	enum quota_class *classes;
	u_int		 i, k, n, c;
	uint32_t	 x;
	int		 prio;
	int64_t		 waited;

	(void)state;
	ids = xcalloc(MANY, sizeof *ids);
	classes = xcalloc(MANY, sizeof *classes);
	order = xcalloc(MANY, sizeof *order);
	for (prio = 0; prio <= 1; prio++) {
		x = 12345;
		queue_init(&q, MANY, prio);
		for (i = 0; i < MANY; i++) {
			/* Ids that share their low 32 bits with others. */
			ids[i] = ((uint64_t)(i % 7 + 1) << 32) | (i / 7 + 1);
			classes[i] = (enum quota_class)(lcg(&x) % CLASS_COUNT);
			push_ok(&q, ids[i], classes[i], i, NEVER);
		}
		push_refused(&q, 1, CLASS_CRITICAL, MANY, NEVER);

		/* Remove every fifth, then build the expected order. */
		for (i = 0; i < MANY; i += 5)
			assert_int_equal(queue_remove(&q, ids[i], MANY), 0);
		n = 0;
		for (c = CLASS_COUNT; c-- > 0;) {
			for (i = 0; i < MANY; i++) {
				if (i % 5 == 0)
					continue;
				if (prio && classes[i] != c)
					continue;
				order[n++] = ids[i];
			}
			if (!prio)
				break;
		}
		assert_int_equal(n, MANY - MANY / 5);
		check_positions(&q, order, n);
		for (i = 0; i < MANY; i += 5)
			assert_int_equal(queue_position(&q, ids[i]), 0);

		for (k = 0; k < n; k++) {
			waited = -1;
			if (queue_pop(&q, 2 * MANY, &waited) != order[k])
				fail_msg("pop %u: wrong client (prio=%d)", k,
				    prio);
			assert_true(waited > 0 && waited <= 2 * MANY);
			/* Spot-check that the rest moved up by one. */
			if (k + 1 < n && k % 97 == 0) {
				assert_int_equal(queue_position(&q,
				    order[k + 1]), 1);
				assert_int_equal(queue_position(&q,
				    order[n - 1]), n - k - 1);
			}
		}
		assert_int_equal(q.size, 0);
		queue_free(&q);
	}
	free(order);
	free(classes);
	free(ids);
}

/* Ids that differ only in their high bits are different clients. */
static void
test_queue_ids_distinct(void **state)
{
	static const uint64_t ids[] = {
		1, (1ULL << 32) | 1, 1ULL << 63, (1ULL << 63) | 1, UINT64_MAX,
		UINT64_MAX - 1, 0xffffffffULL
	};
	struct queue	 q;
	u_int		 i;

	(void)state;
	queue_init(&q, 100, 1);
	for (i = 0; i < nitems(ids); i++)
		push_ok(&q, ids[i], CLASS_NORMAL, i, 1000);
	for (i = 0; i < nitems(ids); i++)
		assert_int_equal(queue_position(&q, ids[i]), i + 1);
	assert_int_equal(queue_position(&q, 2), 0);
	assert_int_equal(queue_position(&q, 1ULL << 32), 0);

	/* Removing 1 leaves (1 << 32) | 1 alone, and so on. */
	assert_int_equal(queue_remove(&q, 1, 10), 0);
	assert_int_equal(queue_position(&q, 1), 0);
	assert_int_equal(queue_position(&q, (1ULL << 32) | 1), 1);
	assert_int_equal(queue_remove(&q, UINT64_MAX, 10), 0);
	assert_int_equal(queue_position(&q, UINT64_MAX - 1), 4);
	assert_int_equal(queue_position(&q, 0xffffffffULL), 5);

	/* The earliest deadline left is (1 << 32) | 1's, 1001. */
	assert_int_equal(queue_expire(&q, 1000), 0);
	assert_true(queue_expire(&q, 1001) == ((1ULL << 32) | 1));
	pop_is(&q, 2000, 1ULL << 63);
	pop_is(&q, 2000, (1ULL << 63) | 1);
	pop_is(&q, 2000, UINT64_MAX - 1);
	pop_is(&q, 2000, 0xffffffffULL);
	pop_is(&q, 2000, 0);
	queue_free(&q);
}

/* Freeing a queue with entries in every class frees them all. */
static void
test_queue_free_full(void **state)
{
	struct queue	 q;
	uint64_t	 id;

	(void)state;
	queue_init(&q, 100, 1);
	for (id = 1; id <= 50; id++)
		push_ok(&q, id, (enum quota_class)(id % CLASS_COUNT), 0, 10);
	queue_free(&q);
	assert_int_equal(q.size, 0);
	assert_int_equal(queue_position(&q, 1), 0);
	assert_int_equal(queue_next_deadline(&q), -1);
	pop_is(&q, 0, 0);
	/* Still usable. */
	push_ok(&q, 99, CLASS_LOW, 0, 10);
	pop_is(&q, 1, 99);
	queue_free(&q);
}

/* ---- walk, longest wait, per uid --------------------------------------- */

/* Nothing to walk in an empty queue. */
static void
test_queue_walk_empty(void **state)
{
	static struct walked	 w;
	struct queue		 q;

	(void)state;
	queue_init(&q, 10, 1);
	walk(&q, &w);
	assert_int_equal(w.n, 0);
	push_ok(&q, 1, CLASS_LOW, 0, NEVER);
	pop_is(&q, 1, 1);
	walk(&q, &w);
	assert_int_equal(w.n, 0);
	queue_free(&q);
}

/* Prioritized: best class first, by arrival within it, places 1..n. */
static void
test_queue_walk_prioritized(void **state)
{
	static const uint64_t order[] = {
		104, 108, 103, 107, 111, 102, 106, 109, 112, 101, 105, 110
	};
	static struct walked	 w;
	struct queue		 q;
	u_int			 i, j;

	(void)state;
	queue_init(&q, 100, 1);
	push_mix(&q);
	walk(&q, &w);
	assert_int_equal(w.n, nitems(order));
	for (i = 0; i < w.n; i++) {
		assert_true(w.client[i] == order[i]);
		assert_int_equal(w.pos[i], i + 1);
		assert_int_equal(queue_position(&q, w.client[i]), w.pos[i]);
		assert_int_equal(w.uid[i], UID(order[i]));
		for (j = 0; j < nitems(mix); j++) {
			if (mix[j].id == order[i])
				assert_int_equal(w.class[i], mix[j].class);
		}
		/* Classes never go up along the walk. */
		if (i > 0)
			assert_true(w.class[i] <= w.class[i - 1]);
	}
	/* The walk is what queue_pop then does. */
	for (i = 0; i < nitems(order); i++)
		pop_is(&q, 5000, order[i]);
	queue_free(&q);
}

/* Without prioritization: by arrival across every class, places 1..n. */
static void
test_queue_walk_fifo(void **state)
{
	static struct walked	 w;
	struct queue		 q;
	u_int			 i;

	(void)state;
	queue_init(&q, 100, 0);
	push_mix(&q);
	walk(&q, &w);
	assert_int_equal(w.n, nitems(mix));
	for (i = 0; i < w.n; i++) {
		assert_true(w.client[i] == mix[i].id);
		assert_int_equal(w.class[i], mix[i].class);
		assert_int_equal(w.pos[i], i + 1);
		assert_int_equal(queue_position(&q, w.client[i]), i + 1);
	}
	/* Taking some out closes the gaps. */
	assert_int_equal(queue_remove(&q, 101, 2000), 0);
	assert_int_equal(queue_remove(&q, 106, 2000), 0);
	assert_int_equal(queue_remove(&q, 112, 2000), 0);
	walk(&q, &w);
	assert_int_equal(w.n, nitems(mix) - 3);
	assert_true(w.client[0] == 102);
	assert_true(w.client[4] == 107);
	assert_true(w.client[w.n - 1] == 111);
	/* Turned on, the same entries walk by class. */
	queue_configure(&q, 100, 1);
	walk(&q, &w);
	assert_true(w.client[0] == 104);
	assert_true(w.client[w.n - 1] == 110);
	for (i = 0; i < w.n; i++)
		assert_int_equal(queue_position(&q, w.client[i]), i + 1);
	queue_free(&q);
}

/* The longest wait is the oldest entry's, whatever its class. */
static void
test_queue_longest(void **state)
{
	struct queue	 q;
	int64_t		 t0 = 7000000;
	int		 prio;

	(void)state;
	for (prio = 0; prio <= 1; prio++) {
		queue_init(&q, 10, prio);
		assert_int_equal(queue_longest(&q, t0), 0);
		push_ok(&q, 1, CLASS_LOW, t0, NEVER);
		/* Just queued: no wait yet. */
		assert_int_equal(queue_longest(&q, t0), 0);
		push_ok(&q, 2, CLASS_CRITICAL, t0 + 100, NEVER);
		push_ok(&q, 3, CLASS_NORMAL, t0 + 200, NEVER);
		push_ok(&q, 4, CLASS_LOW, t0 + 300, NEVER);
		assert_int_equal(queue_longest(&q, t0 + 1000), 1000);
		assert_int_equal(queue_longest(&q, t0 + 5000), 5000);

		/* The oldest leaves: the next oldest, 2, waited 900. */
		assert_int_equal(queue_remove(&q, 1, t0 + 1000), 0);
		assert_int_equal(queue_longest(&q, t0 + 1000), 900);
		/* 2 admitted: 3 is the oldest now, in another class. */
		if (prio)
			pop_is(&q, t0 + 1000, 2);
		else
			assert_int_equal(queue_remove(&q, 2, t0 + 1000), 0);
		assert_int_equal(queue_longest(&q, t0 + 1000), 800);
		/* The oldest low entry is behind a newer high one. */
		push_ok(&q, 5, CLASS_HIGH, t0 + 1100, NEVER);
		assert_int_equal(queue_longest(&q, t0 + 1200), 1000);
		assert_int_equal(queue_remove(&q, 3, t0 + 1200), 0);
		assert_int_equal(queue_longest(&q, t0 + 1200), 900);
		assert_int_equal(queue_remove(&q, 4, t0 + 1200), 0);
		assert_int_equal(queue_longest(&q, t0 + 1200), 100);
		assert_int_equal(queue_expire(&q, NEVER + t0 + 1100), 5);
		assert_int_equal(queue_longest(&q, t0 + 99999), 0);
		queue_free(&q);
	}
}

/* Push with an explicit uid that must succeed. */
static void
push_uid(struct queue *q, uint64_t id, uid_t uid, enum quota_class class,
    int64_t now, int64_t timeout)
{
	u_int	 mine = queue_user(q, uid);

	assert_int_equal(queue_push(q, id, uid, class, now, timeout), 0);
	assert_int_equal(queue_user(q, uid), mine + 1);
}

/* Entries waiting per uid follow every way in and out of the queue. */
static void
test_queue_user(void **state)
{
	struct queue	 q;
	int64_t		 waited;

	(void)state;
	queue_init(&q, 6, 1);
	assert_int_equal(queue_user(&q, 1000), 0);
	push_uid(&q, 1, 1000, CLASS_NORMAL, 0, 1000);
	push_uid(&q, 2, 1000, CLASS_HIGH, 0, 5000);
	push_uid(&q, 3, 0, CLASS_CRITICAL, 0, NEVER);
	push_uid(&q, 4, 1001, CLASS_LOW, 0, NEVER);
	push_uid(&q, 5, 1000, CLASS_LOW, 0, NEVER);
	push_uid(&q, 6, (uid_t)-1, CLASS_LOW, 0, NEVER);
	assert_int_equal(queue_user(&q, 1000), 3);
	assert_int_equal(queue_user(&q, 1001), 1);
	assert_int_equal(queue_user(&q, 0), 1);
	assert_int_equal(queue_user(&q, (uid_t)-1), 1);
	assert_int_equal(queue_user(&q, 1002), 0);
	assert_int_equal(idmap_size(&q.by_uid), 4);

	/* Refused: nothing counted. */
	assert_int_equal(queue_push(&q, 7, 1002, CLASS_CRITICAL, 0, NEVER), -1);
	assert_int_equal(queue_user(&q, 1002), 0);

	/* Popped (3, uid 0), removed (2), expired (1). */
	assert_int_equal(queue_pop(&q, 10, &waited), 3);
	assert_int_equal(queue_user(&q, 0), 0);
	assert_int_equal(queue_remove(&q, 2, 10), 0);
	assert_int_equal(queue_user(&q, 1000), 2);
	assert_int_equal(queue_expire(&q, 1000), 1);
	assert_int_equal(queue_user(&q, 1000), 1);
	/* A failed remove changes nothing. */
	assert_int_equal(queue_remove(&q, 2, 10), -1);
	assert_int_equal(queue_user(&q, 1000), 1);
	/* uids with nothing waiting are not kept in the index. */
	assert_int_equal(idmap_size(&q.by_uid), 3);

	queue_free(&q);
	assert_int_equal(queue_user(&q, 1000), 0);
	assert_int_equal(queue_user(&q, 1001), 0);
	assert_int_equal(idmap_size(&q.by_uid), 0);
	assert_int_equal(idmap_size(&q.by_client), 0);
	/* Usable after free, counting from nothing. */
	push_uid(&q, 8, 1000, CLASS_LOW, 0, NEVER);
	assert_int_equal(queue_user(&q, 1000), 1);
	queue_free(&q);
}

/* ---- random sequences -------------------------------------------------- */

/* The test's own model of the queue: entries in arrival order. */
struct model {
	uint64_t	 client[256];
	uid_t		 uid[256];
	enum quota_class class[256];
	int64_t		 deadline[256];
	u_int		 n;
};

/* Take the model's i-th entry out, keeping arrival order. */
static void
model_take(struct model *m, u_int i)
{
	memmove(&m->client[i], &m->client[i + 1],
	    (m->n - i - 1) * sizeof m->client[0]);
	memmove(&m->uid[i], &m->uid[i + 1], (m->n - i - 1) * sizeof m->uid[0]);
	memmove(&m->class[i], &m->class[i + 1],
	    (m->n - i - 1) * sizeof m->class[0]);
	memmove(&m->deadline[i], &m->deadline[i + 1],
	    (m->n - i - 1) * sizeof m->deadline[0]);
	m->n--;
}

/* The model's place for its i-th entry: those ahead of it, plus one. */
static u_int
model_position(const struct model *m, u_int i, int prio)
{
	u_int	 j, ahead = 0;

	for (j = 0; j < m->n; j++) {
		if (j == i)
			continue;
		if (prio ? m->class[j] > m->class[i] ||
		    (m->class[j] == m->class[i] && j < i) : j < i)
			ahead++;
	}
	return ahead + 1;
}

/* The model's next to admit. */
static u_int
model_head(const struct model *m, int prio)
{
	u_int	 i;

	for (i = 0; i < m->n; i++) {
		if (model_position(m, i, prio) == 1)
			return i;
	}
	fail_msg("model: nobody at the head of %u", m->n);
	return 0;
}

/* The queue agrees with the model: places, walk, counts per uid. */
static void
check_model(const struct queue *q, const struct model *m, int prio,
    u_int step)
{
	static struct walked	 w;
	u_int			 i, j, want, got, mine;

	assert_int_equal(q->size, m->n);
	walk(q, &w);
	for (i = 0; i < m->n; i++) {
		want = model_position(m, i, prio);
		got = queue_position(q, m->client[i]);
		if (got != want)
			fail_msg("step %u: client %llu at %u, expected %u "
			    "(newest: %d, prio %d)", step,
			    (unsigned long long)m->client[i], got, want,
			    i == m->n - 1, prio);
		if (w.client[want - 1] != m->client[i])
			fail_msg("step %u: walk has %llu at %u, expected %llu",
			    step, (unsigned long long)w.client[want - 1],
			    want, (unsigned long long)m->client[i]);
		mine = 0;
		for (j = 0; j < m->n; j++) {
			if (m->uid[j] == m->uid[i])
				mine++;
		}
		assert_int_equal(queue_user(q, m->uid[i]), mine);
	}
}

/*
 * Random pushes, pops, removes, expiries and changes of mode, from a
 * fixed seed: after every step every entry's place, the newest arrival's
 * by queue_position's shortcut included, is the one the model gives.
 */
static void
test_queue_random_positions(void **state)
{
	static struct model	 m;
	struct queue		 q;
	uint64_t		 next_id = 1, got;
	uint32_t		 x = 20261201;
	u_int			 step, i, r, newest_checked = 0;
	int64_t			 now = 1000, waited;
	int			 prio = 1;

	(void)state;
	memset(&m, 0, sizeof m);
	queue_init(&q, 200, prio);
	for (step = 0; step < 30000; step++) {
		r = lcg(&x) % 100;
		now += lcg(&x) % 3;
		if (r < 50 && m.n < nitems(m.client)) {
			/* Push; now and then an id far from the others. */
			m.client[m.n] = lcg(&x) % 10 == 0 ?
			    (next_id << 40) | next_id : next_id;
			next_id++;
			m.uid[m.n] = (uid_t)(lcg(&x) % 12);
			m.class[m.n] = (enum quota_class)(lcg(&x) %
			    CLASS_COUNT);
			m.deadline[m.n] = now + 50 + lcg(&x) % 400;
			if (queue_push(&q, m.client[m.n], m.uid[m.n],
			    m.class[m.n], now, m.deadline[m.n] - now) == 0) {
				m.n++;
				/* The newcomer, as it is told its place. */
				assert_int_equal(queue_position(&q,
				    m.client[m.n - 1]),
				    model_position(&m, m.n - 1, prio));
				newest_checked++;
			} else {
				/* Only when full (or the bound went lower). */
				assert_true(m.n >= q.max);
			}
		} else if (r < 65) {
			/* Pop. */
			got = queue_pop(&q, now, &waited);
			if (m.n == 0)
				assert_true(got == 0);
			else {
				i = model_head(&m, prio);
				if (got != m.client[i])
					fail_msg("step %u: popped %llu, "
					    "expected %llu", step,
					    (unsigned long long)got,
					    (unsigned long long)m.client[i]);
				model_take(&m, i);
			}
		} else if (r < 85) {
			/* Remove someone, often the newest arrival. */
			if (m.n == 0) {
				assert_int_equal(queue_remove(&q, 1, now), -1);
				continue;
			}
			i = lcg(&x) % 3 == 0 ? m.n - 1 : lcg(&x) % m.n;
			assert_int_equal(queue_remove(&q, m.client[i], now),
			    0);
			model_take(&m, i);
		} else if (r < 95) {
			/* Expire whoever is due (any order). */
			while ((got = queue_expire(&q, now)) != 0) {
				for (i = 0; i < m.n; i++) {
					if (m.client[i] == got)
						break;
				}
				assert_true(i < m.n);
				assert_true(m.deadline[i] <= now);
				model_take(&m, i);
			}
			for (i = 0; i < m.n; i++)
				assert_true(m.deadline[i] > now);
		} else if (r < 97) {
			/* A reload turns prioritization on or off. */
			prio = !prio;
			queue_configure(&q, q.max, prio);
		} else {
			/* A reload moves the bound. */
			queue_configure(&q, 20 + lcg(&x) % 200, prio);
		}
		check_model(&q, &m, prio, step);
	}
	/* Enough of each to mean something. */
	assert_true(newest_checked > 5000);
	queue_free(&q);
}

/* ---- wait estimate ----------------------------------------------------- */

/* Nothing to go on before two departures. */
static void
test_queue_eta_unknown(void **state)
{
	struct queue	 q;

	(void)state;
	queue_init(&q, 10, 1);
	assert_int_equal(queue_eta(&q, 1, 0), -1);
	queue_departure(&q, 1000);
	assert_int_equal(queue_eta(&q, 1, 1000), -1);
	assert_int_equal(queue_eta(&q, 5, 5000), -1);
	queue_departure(&q, 3000);
	assert_true(queue_eta(&q, 1, 3000) >= 0);
	queue_free(&q);
}

/* The estimate follows the spacing of departures and the position. */
static void
test_queue_eta_spacing(void **state)
{
	struct queue	 q;
	int64_t		 t;

	(void)state;
	queue_init(&q, 10, 1);
	/* One slot every 2 s. */
	for (t = 10000; t <= 20000; t += 2000)
		queue_departure(&q, t);
	assert_int_equal(queue_eta(&q, 1, 20000), 2);
	assert_int_equal(queue_eta(&q, 2, 20000), 4);
	assert_int_equal(queue_eta(&q, 5, 20000), 10);
	assert_int_equal(queue_eta(&q, 30, 20000), 60);
	/* Within the usual spacing, the estimate holds. */
	assert_int_equal(queue_eta(&q, 1, 21500), 2);
	assert_int_equal(queue_eta(&q, 3, 22000), 6);
	/* Longer than usual without a departure: it grows. */
	assert_true(queue_eta(&q, 1, 30000) > 2);
	assert_true(queue_eta(&q, 3, 30000) > 6);
	assert_true(queue_eta(&q, 3, 60000) > queue_eta(&q, 3, 30000));
	/* Further back in line never means sooner. */
	assert_true(queue_eta(&q, 4, 30000) >= queue_eta(&q, 3, 30000));
	queue_free(&q);
}

/* Only recent departures count: the spacing follows a change of pace. */
static void
test_queue_eta_recent(void **state)
{
	struct queue	 q;
	int64_t		 t = 0;
	u_int		 i;

	(void)state;
	queue_init(&q, 10, 1);
	/* Slow at first: one every 60 s. */
	for (i = 0; i < QUEUE_DEPARTURES; i++) {
		t += 60 * SEC;
		queue_departure(&q, t);
	}
	assert_int_equal(queue_eta(&q, 1, t), 60);
	/* Then fast: one a second, for more than the memory holds. */
	for (i = 0; i < 2 * QUEUE_DEPARTURES + 3; i++) {
		t += SEC;
		queue_departure(&q, t);
	}
	assert_int_equal(queue_eta(&q, 1, t), 1);
	assert_int_equal(queue_eta(&q, 10, t), 10);
	queue_free(&q);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_empty),
		cmocka_unit_test(test_queue_waited),
		cmocka_unit_test(test_queue_class_order),
		cmocka_unit_test(test_queue_class_late_arrival),
		cmocka_unit_test(test_queue_fifo_without_priority),
		cmocka_unit_test(test_queue_fifo_same_time),
		cmocka_unit_test(test_queue_configure_prioritize),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_queue_zero),
		cmocka_unit_test(test_queue_configure_max),
		cmocka_unit_test(test_queue_remove_middle),
		cmocka_unit_test(test_queue_positions_after_removals),
		cmocka_unit_test(test_queue_remove_only),
		cmocka_unit_test(test_queue_expire_boundary),
		cmocka_unit_test(test_queue_expire_many),
		cmocka_unit_test(test_queue_next_deadline),
		cmocka_unit_test(test_queue_many),
		cmocka_unit_test(test_queue_ids_distinct),
		cmocka_unit_test(test_queue_free_full),
		cmocka_unit_test(test_queue_walk_empty),
		cmocka_unit_test(test_queue_walk_prioritized),
		cmocka_unit_test(test_queue_walk_fifo),
		cmocka_unit_test(test_queue_longest),
		cmocka_unit_test(test_queue_user),
		cmocka_unit_test(test_queue_random_positions),
		cmocka_unit_test(test_queue_eta_unknown),
		cmocka_unit_test(test_queue_eta_spacing),
		cmocka_unit_test(test_queue_eta_recent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
