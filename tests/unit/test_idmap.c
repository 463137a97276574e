/*
 * Unit tests for the 64-bit key map: every key including 0 and
 * UINT64_MAX, growth through many doublings with every key still found,
 * removal that leaves the rest alone, a walk that visits each entry
 * exactly once, and the counts kept in the map (taken out at zero, and
 * fatal below it).
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
#include "dies.h"

/* Keys whose bits sit at the edges: low only, high only, all, none. */
static const uint64_t edge_keys[] = {
	0, 1, 2, 0xff, 0xffffffffULL, 1ULL << 32, (1ULL << 32) | 1,
	1ULL << 63, (1ULL << 63) | 1, UINT64_MAX - 1, UINT64_MAX,
	0x9e3779b97f4a7c15ULL, 0x8000000080000000ULL
};

/* A deterministic stream of 64-bit numbers (splitmix64). */
static uint64_t
next_random(uint64_t *x)
{
	uint64_t	 z;

	*x += 0x9e3779b97f4a7c15ULL;
	z = *x;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * The i-th key of the big tests: small sequential ones, ones that differ
 * only above bit 32 (a hash of the low bits alone would put them all
 * together), and random ones; never the same key twice.
 */
static uint64_t
many_key(u_int i)
{
	uint64_t	 x = i;

	switch (i % 3) {
	case 0:
		return i;
	case 1:
		return ((uint64_t)i << 32) | 0x7;
	default:
		/* Random, with bit 31 set so none equals the other kinds. */
		return (next_random(&x) & ~0xffffffffULL) | 0x80000000ULL | i;
	}
}

/* ---- basics ------------------------------------------------------------ */

/* An empty map finds nothing, walks nothing, and clears cleanly. */
static void
test_idmap_empty(void **state)
{
	struct idmap		 m;
	struct idmap_cursor	 cur;
	uint64_t		 key = 42;
	void			*value = &key;
	u_int			 i;

	(void)state;
	memset(&m, 0xa5, sizeof m);
	idmap_init(&m);
	assert_int_equal(idmap_size(&m), 0);
	for (i = 0; i < nitems(edge_keys); i++) {
		assert_null(idmap_get(&m, edge_keys[i]));
		assert_null(idmap_remove(&m, edge_keys[i]));
		assert_int_equal(idmap_count(&m, edge_keys[i]), 0);
	}
	memset(&cur, 0, sizeof cur);
	assert_int_equal(idmap_next(&m, &cur, &key, &value), 0);
	/* Nothing was written on the way out. */
	assert_int_equal(key, 42);
	assert_ptr_equal(value, &key);
	assert_int_equal(idmap_size(&m), 0);
	idmap_clear(&m, NULL);
	assert_int_equal(idmap_size(&m), 0);
	assert_null(idmap_get(&m, 0));
}

/* Every edge key is its own: 0 and UINT64_MAX are keys like any other. */
static void
test_idmap_edge_keys(void **state)
{
	struct idmap	 m;
	int		 values[nitems(edge_keys)];
	u_int		 i, j;

	(void)state;
	idmap_init(&m);
	for (i = 0; i < nitems(edge_keys); i++) {
		idmap_put(&m, edge_keys[i], &values[i]);
		assert_int_equal(idmap_size(&m), i + 1);
		for (j = 0; j <= i; j++)
			assert_ptr_equal(idmap_get(&m, edge_keys[j]),
			    &values[j]);
	}
	/* Neighbours of the keys are not in. */
	assert_null(idmap_get(&m, 3));
	assert_null(idmap_get(&m, UINT64_MAX - 2));
	assert_null(idmap_get(&m, (1ULL << 32) | 2));
	assert_null(idmap_get(&m, (1ULL << 63) | 2));

	/* Taking out 0 and UINT64_MAX leaves the rest. */
	assert_ptr_equal(idmap_remove(&m, 0), &values[0]);
	assert_ptr_equal(idmap_remove(&m, UINT64_MAX),
	    &values[nitems(edge_keys) - 3]);
	assert_null(idmap_get(&m, 0));
	assert_null(idmap_get(&m, UINT64_MAX));
	assert_int_equal(idmap_size(&m), nitems(edge_keys) - 2);
	assert_ptr_equal(idmap_get(&m, 1), &values[1]);
	assert_ptr_equal(idmap_get(&m, UINT64_MAX - 1),
	    &values[nitems(edge_keys) - 4]);
	idmap_put(&m, 0, &values[5]);
	assert_ptr_equal(idmap_get(&m, 0), &values[5]);
	idmap_clear(&m, NULL);
}

/* Putting a key that is there replaces its value and adds nothing. */
static void
test_idmap_replace(void **state)
{
	struct idmap	 m;
	int		 a, b, c;

	(void)state;
	idmap_init(&m);
	idmap_put(&m, UINT64_MAX, &a);
	idmap_put(&m, 0, &c);
	idmap_put(&m, UINT64_MAX, &b);
	assert_int_equal(idmap_size(&m), 2);
	assert_ptr_equal(idmap_get(&m, UINT64_MAX), &b);
	assert_ptr_equal(idmap_get(&m, 0), &c);
	/* The old value is not left behind under the key. */
	assert_ptr_equal(idmap_remove(&m, UINT64_MAX), &b);
	assert_null(idmap_get(&m, UINT64_MAX));
	assert_null(idmap_remove(&m, UINT64_MAX));
	assert_int_equal(idmap_size(&m), 1);
	idmap_clear(&m, NULL);
}

/* ---- growth ------------------------------------------------------------ */

#define MANY	20000

/* Through many doublings every key stays found with its own value. */
static void
test_idmap_growth(void **state)
{
	struct idmap	 m;
	u_int		*values, i, j, doublings = 0, last_buckets = 0;

	(void)state;
	values = xcalloc(MANY, sizeof *values);
	idmap_init(&m);
	for (i = 0; i < MANY; i++) {
		values[i] = i;
		idmap_put(&m, many_key(i), &values[i]);
		assert_int_equal(idmap_size(&m), i + 1);
		/* The table keeps up: never more keys than buckets. */
		assert_true(m.nbuckets >= idmap_size(&m));
		if (m.nbuckets != last_buckets) {
			if (last_buckets != 0)
				assert_int_equal(m.nbuckets, 2 * last_buckets);
			last_buckets = m.nbuckets;
			doublings++;
			/* Right after a doubling, every key is still found. */
			for (j = 0; j <= i; j++) {
				if (idmap_get(&m, many_key(j)) != &values[j])
					fail_msg("key %u lost after growing "
					    "to %u buckets", j, m.nbuckets);
			}
		}
	}
	/* 16 buckets to at least 20000: ten doublings or more. */
	assert_true(doublings >= 10);
	for (i = 0; i < MANY; i++)
		assert_ptr_equal(idmap_get(&m, many_key(i)), &values[i]);
	assert_null(idmap_get(&m, many_key(MANY)));
	idmap_clear(&m, NULL);
	free(values);
}

/* Removing some keys leaves every other key and value as it was. */
static void
test_idmap_remove_others_stay(void **state)
{
	struct idmap	 m;
	u_int		*values, i, left;

	(void)state;
	values = xcalloc(MANY, sizeof *values);
	idmap_init(&m);
	for (i = 0; i < MANY; i++)
		idmap_put(&m, many_key(i), &values[i]);

	/* Take out every third, and the first and the last. */
	left = MANY;
	for (i = 0; i < MANY; i++) {
		if (i % 3 != 2 && i != 0 && i != MANY - 1)
			continue;
		assert_ptr_equal(idmap_remove(&m, many_key(i)), &values[i]);
		left--;
		assert_int_equal(idmap_size(&m), left);
	}
	for (i = 0; i < MANY; i++) {
		if (i % 3 == 2 || i == 0 || i == MANY - 1) {
			assert_null(idmap_get(&m, many_key(i)));
			/* Gone is gone, and the size does not move. */
			assert_null(idmap_remove(&m, many_key(i)));
		} else if (idmap_get(&m, many_key(i)) != &values[i])
			fail_msg("key %u changed when others were removed", i);
	}
	assert_int_equal(idmap_size(&m), left);

	/* Removed keys can come back. */
	idmap_put(&m, many_key(2), &values[2]);
	idmap_put(&m, many_key(0), &values[0]);
	assert_ptr_equal(idmap_get(&m, many_key(2)), &values[2]);
	assert_ptr_equal(idmap_get(&m, many_key(0)), &values[0]);
	assert_int_equal(idmap_size(&m), left + 2);

	/* Down to empty, one by one. */
	for (i = 0; i < MANY; i++)
		(void)idmap_remove(&m, many_key(i));
	assert_int_equal(idmap_size(&m), 0);
	for (i = 0; i < MANY; i += 97)
		assert_null(idmap_get(&m, many_key(i)));
	idmap_clear(&m, NULL);
	free(values);
}

/* ---- walk -------------------------------------------------------------- */

/* Walk the map, checking each key's value; returns how many were seen. */
static u_int
walk_check(const struct idmap *m, u_int *seen, u_int n)
{
	struct idmap_cursor	 cur;
	uint64_t		 key;
	void			*value;
	u_int			 i, count = 0;

	memset(&cur, 0, sizeof cur);
	while (idmap_next(m, &cur, &key, &value)) {
		i = *(u_int *)value;
		assert_true(i < n);
		if (many_key(i) != key)
			fail_msg("walk gave key %llu with the value of %u",
			    (unsigned long long)key, i);
		seen[i]++;
		count++;
		assert_true(count <= n);
	}
	/* Asking again at the end stays at the end. */
	assert_int_equal(idmap_next(m, &cur, &key, &value), 0);
	return count;
}

/* A walk visits every entry exactly once, at every size. */
static void
test_idmap_walk_each_once(void **state)
{
	static const u_int sizes[] = { 1, 2, 15, 16, 17, 100, 1000, 5000 };
	struct idmap		 m;
	struct idmap_cursor	 cur;
	u_int			*values, *seen, i, k, n;

	(void)state;
	values = xcalloc(5000, sizeof *values);
	seen = xcalloc(5000, sizeof *seen);
	for (k = 0; k < nitems(sizes); k++) {
		n = sizes[k];
		idmap_init(&m);
		for (i = 0; i < n; i++) {
			values[i] = i;
			idmap_put(&m, many_key(i), &values[i]);
		}
		memset(seen, 0, n * sizeof *seen);
		assert_int_equal(walk_check(&m, seen, n), n);
		for (i = 0; i < n; i++) {
			if (seen[i] != 1)
				fail_msg("size %u: entry %u seen %u times", n,
				    i, seen[i]);
		}

		/* After removing half, the walk sees exactly the rest. */
		for (i = 0; i < n; i += 2)
			(void)idmap_remove(&m, many_key(i));
		memset(seen, 0, n * sizeof *seen);
		assert_int_equal(walk_check(&m, seen, n), n / 2);
		for (i = 0; i < n; i++)
			assert_int_equal(seen[i], i % 2 == 0 ? 0 : 1);

		/* Key and value may each be left out. */
		memset(&cur, 0, sizeof cur);
		i = 0;
		while (idmap_next(&m, &cur, NULL, NULL))
			i++;
		assert_int_equal(i, n / 2);
		idmap_clear(&m, NULL);
	}
	free(seen);
	free(values);
}

/* The walk gives 0 and UINT64_MAX like any other key. */
static void
test_idmap_walk_edge_keys(void **state)
{
	struct idmap		 m;
	struct idmap_cursor	 cur;
	uint64_t		 key;
	void			*value;
	u_int			 seen[nitems(edge_keys)], i;

	(void)state;
	idmap_init(&m);
	for (i = 0; i < nitems(edge_keys); i++)
		idmap_put(&m, edge_keys[i], &seen[i]);
	memset(seen, 0, sizeof seen);
	memset(&cur, 0, sizeof cur);
	while (idmap_next(&m, &cur, &key, &value)) {
		i = (u_int)((u_int *)value - seen);
		assert_true(i < nitems(edge_keys));
		assert_true(edge_keys[i] == key);
		seen[i]++;
	}
	for (i = 0; i < nitems(edge_keys); i++)
		assert_int_equal(seen[i], 1);
	idmap_clear(&m, NULL);
}

/* ---- counts ------------------------------------------------------------ */

/* Counts go up and down; at zero the key is taken out. */
static void
test_idmap_counts(void **state)
{
	struct idmap	 m;
	u_int		 i;

	(void)state;
	idmap_init(&m);
	assert_int_equal(idmap_count(&m, 7), 0);
	idmap_count_add(&m, 7, 1);
	assert_int_equal(idmap_count(&m, 7), 1);
	idmap_count_add(&m, 7, 3);
	assert_int_equal(idmap_count(&m, 7), 4);
	idmap_count_add(&m, 7, -2);
	assert_int_equal(idmap_count(&m, 7), 2);
	assert_int_equal(idmap_size(&m), 1);
	idmap_count_add(&m, 7, -2);
	assert_int_equal(idmap_count(&m, 7), 0);
	/* Zero is absent: the map holds only keys that count something. */
	assert_int_equal(idmap_size(&m), 0);
	assert_null(idmap_get(&m, 7));

	/* Adding nothing to an absent key adds no key. */
	idmap_count_add(&m, 8, 0);
	assert_int_equal(idmap_size(&m), 0);
	/* Nor does it change a present one. */
	idmap_count_add(&m, 8, 5);
	idmap_count_add(&m, 8, 0);
	assert_int_equal(idmap_count(&m, 8), 5);
	idmap_count_add(&m, 8, -5);
	assert_int_equal(idmap_size(&m), 0);

	/* Counts under the edge keys are each their own. */
	for (i = 0; i < nitems(edge_keys); i++)
		idmap_count_add(&m, edge_keys[i], (int)i + 1);
	for (i = 0; i < nitems(edge_keys); i++)
		assert_int_equal(idmap_count(&m, edge_keys[i]), i + 1);
	idmap_count_add(&m, 0, -1);
	assert_int_equal(idmap_count(&m, 0), 0);
	assert_int_equal(idmap_count(&m, UINT64_MAX), nitems(edge_keys) - 2);
	assert_int_equal(idmap_size(&m), nitems(edge_keys) - 1);
	idmap_count_add(&m, UINT64_MAX, -(int)(nitems(edge_keys) - 2));
	assert_int_equal(idmap_count(&m, UINT64_MAX), 0);
	assert_int_equal(idmap_size(&m), nitems(edge_keys) - 2);

	/* Big counts, one at a time and in one step. */
	for (i = 0; i < 100000; i++)
		idmap_count_add(&m, 99, 1);
	assert_int_equal(idmap_count(&m, 99), 100000);
	idmap_count_add(&m, 99, 2000000000);
	assert_int_equal(idmap_count(&m, 99), 2000100000U);
	idmap_count_add(&m, 99, -2000000000);
	idmap_count_add(&m, 99, -100000);
	assert_int_equal(idmap_count(&m, 99), 0);
	idmap_clear(&m, NULL);
	assert_int_equal(idmap_size(&m), 0);
}

/* Counts over many keys stay apart through the map's growth. */
static void
test_idmap_counts_many(void **state)
{
	struct idmap	 m;
	u_int		 i;

	(void)state;
	idmap_init(&m);
	for (i = 0; i < MANY; i++)
		idmap_count_add(&m, many_key(i), (int)(i % 5) + 1);
	for (i = 0; i < MANY; i++)
		idmap_count_add(&m, many_key(i), -1);
	/* Those that counted 1 are gone. */
	assert_int_equal(idmap_size(&m), MANY - MANY / 5);
	for (i = 0; i < MANY; i++) {
		if (idmap_count(&m, many_key(i)) != i % 5)
			fail_msg("key %u counts %u, expected %u", i,
			    idmap_count(&m, many_key(i)), i % 5);
	}
	idmap_clear(&m, NULL);
}

struct count_arg {
	struct idmap	*m;
	uint64_t	 key;
	int		 delta;
};

/* Child: change a count. */
static void
count_add_cb(void *arg)
{
	struct count_arg	*ca = arg;

	idmap_count_add(ca->m, ca->key, ca->delta);
}

/* A count that would go below zero is a broken invariant. */
static void
test_idmap_count_below_zero(void **state)
{
	struct idmap		 m;
	struct count_arg	 ca;

	(void)state;
	idmap_init(&m);
	ca.m = &m;

	/* An absent key counts 0. */
	ca.key = 5;
	ca.delta = -1;
	assert_dies(count_add_cb, &ca, "would go below zero");
	ca.key = UINT64_MAX;
	assert_dies(count_add_cb, &ca, "would go below zero");

	/* Two, less three. */
	idmap_count_add(&m, 0, 2);
	ca.key = 0;
	ca.delta = -3;
	assert_dies(count_add_cb, &ca, "would go below zero");
	/* The most negative delta there is. */
	ca.delta = INT32_MIN;
	assert_dies(count_add_cb, &ca, "would go below zero");
	assert_int_equal(idmap_count(&m, 0), 2);

	/* Exactly to zero is fine. */
	idmap_count_add(&m, 0, -2);
	assert_int_equal(idmap_size(&m), 0);
	idmap_clear(&m, NULL);
}

/* Counts run to UINT_MAX and back; past it is a broken invariant. */
static void
test_idmap_count_overflow(void **state)
{
	struct idmap		 m;
	struct count_arg	 ca;

	(void)state;
	idmap_init(&m);
	/* Past INT_MAX: no wrap to a negative or to zero. */
	idmap_count_add(&m, 9, INT32_MAX);
	idmap_count_add(&m, 9, INT32_MAX);
	assert_int_equal(idmap_count(&m, 9), UINT32_MAX - 1);
	idmap_count_add(&m, 9, 1);
	assert_int_equal(idmap_count(&m, 9), UINT32_MAX);
	ca.m = &m;
	ca.key = 9;
	ca.delta = 1;
	assert_dies(count_add_cb, &ca, "would overflow");
	ca.delta = INT32_MAX;
	assert_dies(count_add_cb, &ca, "would overflow");
	assert_int_equal(idmap_count(&m, 9), UINT32_MAX);
	/* And all the way down again. */
	idmap_count_add(&m, 9, INT32_MIN);
	assert_int_equal(idmap_count(&m, 9), UINT32_MAX - 0x80000000U);
	idmap_count_add(&m, 9, -INT32_MAX);
	assert_int_equal(idmap_count(&m, 9), 0);
	assert_int_equal(idmap_size(&m), 0);
	idmap_clear(&m, NULL);
}

/* ---- clear ------------------------------------------------------------- */

static u_int	 cleared[64];

/* idmap_clear's callback: count the value. */
static void
clear_cb(void *value)
{
	cleared[*(u_int *)value]++;
}

/* Clear calls fn once on every value, frees all, and leaves a usable map. */
static void
test_idmap_clear(void **state)
{
	struct idmap	 m;
	u_int		 values[nitems(cleared)], i;
	int		 x;

	(void)state;
	idmap_init(&m);
	for (i = 0; i < nitems(cleared); i++) {
		values[i] = i;
		idmap_put(&m, (uint64_t)i << 40, &values[i]);
	}
	memset(cleared, 0, sizeof cleared);
	idmap_clear(&m, clear_cb);
	for (i = 0; i < nitems(cleared); i++)
		assert_int_equal(cleared[i], 1);
	assert_int_equal(idmap_size(&m), 0);
	assert_null(idmap_get(&m, 0));
	assert_null(idmap_get(&m, 1ULL << 40));

	/* Usable again, and clearing again is harmless. */
	idmap_put(&m, 3, &x);
	assert_ptr_equal(idmap_get(&m, 3), &x);
	assert_int_equal(idmap_size(&m), 1);
	idmap_clear(&m, NULL);
	idmap_clear(&m, NULL);
	assert_int_equal(idmap_size(&m), 0);

	/* Values the map owns are freed through fn. */
	for (i = 0; i < 100; i++)
		idmap_put(&m, i, xstrdup("owned"));
	idmap_clear(&m, free);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idmap_empty),
		cmocka_unit_test(test_idmap_edge_keys),
		cmocka_unit_test(test_idmap_replace),
		cmocka_unit_test(test_idmap_growth),
		cmocka_unit_test(test_idmap_remove_others_stay),
		cmocka_unit_test(test_idmap_walk_each_once),
		cmocka_unit_test(test_idmap_walk_edge_keys),
		cmocka_unit_test(test_idmap_counts),
		cmocka_unit_test(test_idmap_counts_many),
		cmocka_unit_test(test_idmap_count_below_zero),
		cmocka_unit_test(test_idmap_count_overflow),
		cmocka_unit_test(test_idmap_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
