/*
 * Unit tests for the connection pool: the bound, resizing up and down
 * while slots are held, the slots each uid holds, and release of a slot
 * that is not held as a broken invariant.
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
#include "dies.h"

/* Admit that must succeed, and count for uid. */
static void
admit_ok(struct pool *p, uid_t uid)
{
	u_int	 used = p->used, mine = pool_user(p, uid);

	assert_int_equal(pool_admit(p, uid), 0);
	assert_int_equal(p->used, used + 1);
	assert_int_equal(pool_user(p, uid), mine + 1);
}

/* Admit that must be refused, and change nothing held. */
static void
admit_refused(struct pool *p, uid_t uid)
{
	u_int		 used = p->used, mine = pool_user(p, uid);
	uint64_t	 refused = p->refused, admitted = p->admitted;

	assert_int_equal(pool_admit(p, uid), -1);
	assert_int_equal(p->used, used);
	assert_int_equal(pool_user(p, uid), mine);
	assert_int_equal(p->refused, refused + 1);
	assert_int_equal(p->admitted, admitted);
}

/* Release that must succeed. */
static void
release_ok(struct pool *p, uid_t uid)
{
	u_int	 used = p->used, mine = pool_user(p, uid);

	pool_release(p, uid);
	assert_int_equal(p->used, used - 1);
	assert_int_equal(pool_user(p, uid), mine - 1);
}

/* A new pool is empty with the given bound. */
static void
test_pool_init(void **state)
{
	struct pool	 p;

	(void)state;
	memset(&p, 0xa5, sizeof p);
	pool_init(&p, 3);
	assert_int_equal(p.max, 3);
	assert_int_equal(p.used, 0);
	assert_int_equal(p.admitted, 0);
	assert_int_equal(p.refused, 0);
	assert_int_equal(pool_user(&p, 0), 0);
	assert_int_equal(pool_user(&p, 1000), 0);
	assert_int_equal(idmap_size(&p.by_uid), 0);
	pool_free(&p);
}

/* Slots are granted up to the bound, then refused and counted. */
static void
test_pool_admit_to_max(void **state)
{
	struct pool	 p;
	u_int		 i;

	(void)state;
	pool_init(&p, 5);
	for (i = 0; i < 5; i++)
		admit_ok(&p, 1000 + i % 2);
	admit_refused(&p, 1000);
	/* Another uid is refused as well: the bound is the whole pool's. */
	admit_refused(&p, 2000);
	assert_int_equal(p.used, 5);
	assert_int_equal(p.admitted, 5);
	assert_int_equal(p.refused, 2);
	assert_int_equal(pool_user(&p, 1000), 3);
	assert_int_equal(pool_user(&p, 1001), 2);
	/* A refused uid is not counted as holding anything. */
	assert_int_equal(pool_user(&p, 2000), 0);
	assert_int_equal(idmap_size(&p.by_uid), 2);
	pool_free(&p);
}

/* A released slot can be taken again, by anyone. */
static void
test_pool_release(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 2);
	admit_ok(&p, 10);
	admit_ok(&p, 20);
	admit_refused(&p, 30);
	release_ok(&p, 10);
	assert_int_equal(p.used, 1);
	/* The released slot can be taken again, once. */
	admit_ok(&p, 30);
	admit_refused(&p, 10);
	release_ok(&p, 20);
	release_ok(&p, 30);
	assert_int_equal(p.used, 0);
	assert_int_equal(p.admitted, 3);
	assert_int_equal(p.refused, 2);
	/* A uid that holds nothing is no longer in the index. */
	assert_int_equal(idmap_size(&p.by_uid), 0);
	/* Releasing does not count as admitting or refusing. */
	admit_ok(&p, 10);
	assert_int_equal(p.admitted, 4);
	assert_int_equal(p.refused, 2);
	pool_free(&p);
}

/* A pool of zero admits nobody. */
static void
test_pool_zero(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 0);
	admit_refused(&p, 0);
	admit_refused(&p, 1000);
	assert_int_equal(p.used, 0);
	assert_int_equal(p.refused, 2);
	assert_int_equal(idmap_size(&p.by_uid), 0);
	pool_free(&p);
}

/* Shrinking keeps held slots and refuses until below the bound. */
static void
test_pool_resize_down(void **state)
{
	struct pool	 p;
	u_int		 i;

	(void)state;
	pool_init(&p, 10);
	/* uid 1 holds 4, uid 2 holds 3, uid 3 holds 1. */
	for (i = 0; i < 8; i++)
		admit_ok(&p, i < 4 ? 1 : i < 7 ? 2 : 3);

	/* Held slots stay held, per uid too; nothing new until below. */
	pool_resize(&p, 5);
	assert_int_equal(p.max, 5);
	assert_int_equal(p.used, 8);
	assert_int_equal(pool_user(&p, 1), 4);
	assert_int_equal(pool_user(&p, 2), 3);
	assert_int_equal(pool_user(&p, 3), 1);
	admit_refused(&p, 4);
	release_ok(&p, 1);
	release_ok(&p, 2);
	release_ok(&p, 3);
	assert_int_equal(p.used, 5);
	assert_int_equal(pool_user(&p, 3), 0);
	admit_refused(&p, 3);
	release_ok(&p, 1);
	assert_int_equal(p.used, 4);
	admit_ok(&p, 4);
	admit_refused(&p, 1);
	assert_int_equal(p.used, 5);
	assert_int_equal(p.admitted, 9);
	assert_int_equal(p.refused, 3);
	assert_int_equal(pool_user(&p, 1), 2);
	assert_int_equal(pool_user(&p, 2), 2);
	assert_int_equal(pool_user(&p, 4), 1);
	pool_free(&p);
}

/* Growing admits more at once; shrinking to zero admits none. */
static void
test_pool_resize_up(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 1);
	admit_ok(&p, 7);
	admit_refused(&p, 8);
	pool_resize(&p, 3);
	assert_int_equal(p.used, 1);
	assert_int_equal(pool_user(&p, 7), 1);
	admit_ok(&p, 8);
	admit_ok(&p, 7);
	admit_refused(&p, 9);
	assert_int_equal(p.used, 3);
	/* Resizing keeps the counters. */
	assert_int_equal(p.admitted, 3);
	assert_int_equal(p.refused, 2);

	/* Down to zero: everything held stays, nothing new. */
	pool_resize(&p, 0);
	admit_refused(&p, 7);
	assert_int_equal(pool_user(&p, 7), 2);
	assert_int_equal(pool_user(&p, 8), 1);
	release_ok(&p, 7);
	release_ok(&p, 8);
	release_ok(&p, 7);
	assert_int_equal(p.used, 0);
	admit_refused(&p, 7);
	/* And back up. */
	pool_resize(&p, 2);
	admit_ok(&p, 9);
	admit_ok(&p, 9);
	admit_refused(&p, 9);
	pool_free(&p);
}

/* uid 0 and the largest uids are counted like any other. */
static void
test_pool_uid_edges(void **state)
{
	static const uid_t uids[] = { 0, 1, 65534, (uid_t)-2, (uid_t)-1 };
	struct pool	 p;
	u_int		 i, j;

	(void)state;
	pool_init(&p, 100);
	for (i = 0; i < nitems(uids); i++) {
		for (j = 0; j <= i; j++)
			admit_ok(&p, uids[i]);
	}
	for (i = 0; i < nitems(uids); i++)
		assert_int_equal(pool_user(&p, uids[i]), i + 1);
	assert_int_equal(pool_user(&p, 2), 0);
	assert_int_equal(pool_user(&p, (uid_t)-3), 0);
	for (i = 0; i < nitems(uids); i++) {
		for (j = 0; j <= i; j++)
			release_ok(&p, uids[i]);
		assert_int_equal(pool_user(&p, uids[i]), 0);
	}
	assert_int_equal(p.used, 0);
	assert_int_equal(idmap_size(&p.by_uid), 0);
	pool_free(&p);
}

/* Many uids in and out: each count is exactly what that uid holds. */
static void
test_pool_many_uids(void **state)
{
	struct pool	 p;
	u_int		 held[500], used = 0, i, n;
	uint32_t	 x = 4242;
	uid_t		 uid;

	(void)state;
	memset(held, 0, sizeof held);
	pool_init(&p, 3000);
	for (n = 0; n < 20000; n++) {
		x = x * 1664525u + 1013904223u;
		i = (x >> 8) % nitems(held);
		uid = 10000 + i;
		if (((x >> 20) & 3) != 0 && used < p.max) {
			admit_ok(&p, uid);
			held[i]++;
			used++;
		} else if (held[i] > 0) {
			release_ok(&p, uid);
			held[i]--;
			used--;
		}
	}
	assert_int_equal(p.used, used);
	n = 0;
	for (i = 0; i < nitems(held); i++) {
		if (pool_user(&p, 10000 + i) != held[i])
			fail_msg("uid %u holds %u, pool says %u", 10000 + i,
			    held[i], pool_user(&p, 10000 + i));
		if (held[i] > 0)
			n++;
	}
	assert_int_equal(idmap_size(&p.by_uid), n);
	pool_free(&p);
}

struct release_arg {
	struct pool	*p;
	uid_t		 uid;
};

/* Child: release a slot. */
static void
release_cb(void *arg)
{
	struct release_arg	*ra = arg;

	pool_release(ra->p, ra->uid);
}

/* Releasing a slot nobody holds is a broken invariant: the process dies. */
static void
test_pool_release_empty(void **state)
{
	struct pool		 p;
	struct release_arg	 ra;

	(void)state;
	pool_init(&p, 1);
	ra.p = &p;
	ra.uid = 1000;
	assert_dies(release_cb, &ra, "pool_release: uid 1000 holds no slot");
	assert_int_equal(p.used, 0);
	pool_free(&p);
}

/*
 * Releasing a slot the uid does not hold is a broken invariant, even
 * when others hold slots; the uid's own count never goes below zero.
 */
static void
test_pool_release_not_held(void **state)
{
	struct pool		 p;
	struct release_arg	 ra;

	(void)state;
	pool_init(&p, 5);
	admit_ok(&p, 1000);
	admit_ok(&p, 1000);
	admit_ok(&p, 0);
	ra.p = &p;

	ra.uid = 1001;
	assert_dies(release_cb, &ra, "pool_release: uid 1001 holds no slot");
	/* Held, then all given back: the third release is one too many. */
	release_ok(&p, 1000);
	release_ok(&p, 1000);
	ra.uid = 1000;
	assert_dies(release_cb, &ra, "pool_release: uid 1000 holds no slot");
	assert_int_equal(p.used, 1);
	assert_int_equal(pool_user(&p, 0), 1);
	release_ok(&p, 0);
	ra.uid = 0;
	assert_dies(release_cb, &ra, "pool_release: uid 0 holds no slot");
	pool_free(&p);
}

/* Run every test in this file. */
/*
 * A slot taken back after a restart is counted like any other, even past
 * the bound; the bound then holds new admissions until enough go.
 */
static void
test_pool_readmit(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 2);
	admit_ok(&p, 1000);
	pool_readmit(&p, 1000);
	pool_readmit(&p, 1001);
	assert_int_equal(p.used, 3);
	assert_int_equal(p.admitted, 1);
	assert_int_equal(p.readmitted, 2);
	assert_int_equal(pool_user(&p, 1000), 2);
	assert_int_equal(pool_user(&p, 1001), 1);
	admit_refused(&p, 1002);
	pool_release(&p, 1000);
	admit_refused(&p, 1002);
	pool_release(&p, 1001);
	admit_ok(&p, 1002);
	assert_int_equal(p.used, 2);
	pool_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_init),
		cmocka_unit_test(test_pool_admit_to_max),
		cmocka_unit_test(test_pool_release),
		cmocka_unit_test(test_pool_zero),
		cmocka_unit_test(test_pool_resize_down),
		cmocka_unit_test(test_pool_resize_up),
		cmocka_unit_test(test_pool_uid_edges),
		cmocka_unit_test(test_pool_many_uids),
		cmocka_unit_test(test_pool_release_empty),
		cmocka_unit_test(test_pool_release_not_held),
		cmocka_unit_test(test_pool_readmit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
