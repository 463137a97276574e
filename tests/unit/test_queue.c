/*
 * Unit tests for the wait queue in front of a full connection pool: class
 * order then arrival order (or one FIFO when prioritization is off), the
 * bound, positions that agree with the order of admission, deadlines
 * exact to the millisecond, and the wait estimate. The clock is a plain
 * variable the tests move.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

#define SEC	1000

/* Deadlines far away, for tests about order only. */
#define NEVER	(24LL * 3600 * SEC)

/* Push that must succeed. */
static void
push_ok(struct queue *q, uint64_t id, enum quota_class class, int64_t now,
    int64_t timeout)
{
	u_int	 size = q->size;

	assert_int_equal(queue_push(q, id, class, now, timeout), 0);
	assert_int_equal(q->size, size + 1);
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
	u_int	 i, pos;

	assert_int_equal(q->size, n);
	for (i = 0; i < n; i++) {
		pos = queue_position(q, order[i]);
		if (pos != i + 1)
			fail_msg("client %llu at position %u, expected %u",
			    (unsigned long long)order[i], pos, i + 1);
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
	assert_int_equal(queue_push(&q, 4, CLASS_CRITICAL, 1, NEVER), -1);
	assert_int_equal(queue_push(&q, 5, CLASS_LOW, 1, NEVER), -1);
	assert_int_equal(q.size, 3);
	assert_int_equal(queue_position(&q, 4), 0);
	assert_int_equal(queue_position(&q, 5), 0);
	assert_int_equal(queue_remove(&q, 4, 1), -1);
	assert_int_equal(queue_next_deadline(&q), NEVER);

	/* A place that comes free can be taken, once. */
	pop_is(&q, 2, 1);
	push_ok(&q, 6, CLASS_CRITICAL, 2, NEVER);
	assert_int_equal(queue_push(&q, 7, CLASS_CRITICAL, 2, NEVER), -1);
	assert_int_equal(queue_remove(&q, 2, 3), 0);
	push_ok(&q, 8, CLASS_HIGH, 3, NEVER);
	assert_int_equal(queue_push(&q, 9, CLASS_HIGH, 3, NEVER), -1);

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
	assert_int_equal(queue_push(&q, 1, CLASS_CRITICAL, 0, NEVER), -1);
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
	assert_int_equal(queue_push(&q, 6, CLASS_CRITICAL, 10, NEVER), -1);
	for (id = 1; id <= 5; id++)
		assert_int_equal(queue_position(&q, id), id);
	pop_is(&q, 20, 1);
	pop_is(&q, 20, 2);
	pop_is(&q, 20, 3);
	assert_int_equal(queue_push(&q, 7, CLASS_NORMAL, 20, NEVER), -1);
	pop_is(&q, 20, 4);
	/* One left, bound two: one more fits. */
	push_ok(&q, 8, CLASS_NORMAL, 21, NEVER);
	assert_int_equal(queue_push(&q, 9, CLASS_NORMAL, 21, NEVER), -1);

	queue_configure(&q, 4, 1);
	push_ok(&q, 10, CLASS_NORMAL, 22, NEVER);
	push_ok(&q, 11, CLASS_NORMAL, 22, NEVER);
	assert_int_equal(queue_push(&q, 12, CLASS_NORMAL, 22, NEVER), -1);
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
		assert_int_equal(queue_push(&q, 1, CLASS_CRITICAL, MANY,
		    NEVER), -1);

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
		cmocka_unit_test(test_queue_eta_unknown),
		cmocka_unit_test(test_queue_eta_spacing),
		cmocka_unit_test(test_queue_eta_recent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
