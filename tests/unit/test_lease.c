/*
 * Unit tests for the PTY lease table: one live game per uid per game,
 * what a lease records, the counts and memory kept for each uid and for
 * the whole table, ids that do not repeat, and release of a lease that
 * is not live in the table as a broken invariant.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker.h"
#include "dies.h"

#define MB	(1024ULL * 1024)

/*
 * The table's totals agree with a walk of its list: the count and
 * memory of the whole table and of each uid found on it.
 */
static void
check_totals(const struct leases *ls)
{
	const struct lease	*l, *m;
	u_int			 n = 0, mine;
	uint64_t		 memory = 0, my_memory;

	TAILQ_FOREACH(l, &ls->list, entry) {
		n++;
		memory += l->memory;
		mine = 0;
		my_memory = 0;
		TAILQ_FOREACH(m, &ls->list, entry) {
			if (m->uid == l->uid) {
				mine++;
				my_memory += m->memory;
			}
		}
		assert_int_equal(leases_user_count(ls, l->uid), mine);
		assert_true(leases_user_memory(ls, l->uid) == my_memory);
		assert_ptr_equal(lease_find_game(ls, l->uid, l->game), l);
	}
	assert_int_equal(ls->count, n);
	assert_true(ls->memory == memory);
}

/* Acquire that must succeed. */
static struct lease *
acquire_ok(struct leases *ls, uid_t uid, const char *game, uint64_t client,
    uint64_t memory)
{
	struct lease	*l;
	u_int		 count = ls->count, mine = leases_user_count(ls, uid);
	uint64_t	 total = ls->memory, my_memory;

	my_memory = leases_user_memory(ls, uid);
	l = lease_acquire(ls, uid, game, client, memory, 0);
	if (l == NULL)
		fail_msg("uid %lu refused %s", (u_long)uid, game);
	assert_int_equal(ls->count, count + 1);
	assert_true(ls->memory == total + memory);
	assert_int_equal(leases_user_count(ls, uid), mine + 1);
	assert_true(leases_user_memory(ls, uid) == my_memory + memory);
	return l;
}

/* A lease id is l- and 16 lowercase hex digits. */
static void
assert_lease_id(const char *id)
{
	size_t	 i;

	assert_int_equal(strlen(id), 18);
	assert_int_equal(id[0], 'l');
	assert_int_equal(id[1], '-');
	for (i = 2; i < 18; i++) {
		if (!isxdigit((u_char)id[i]) || isupper((u_char)id[i]))
			fail_msg("lease id %s: not lowercase hex", id);
	}
}

/* A new table is empty. */
static void
test_leases_init(void **state)
{
	struct leases	 ls;

	(void)state;
	memset(&ls, 0xa5, sizeof ls);
	leases_init(&ls);
	assert_int_equal(ls.count, 0);
	assert_true(ls.memory == 0);
	assert_int_equal(ls.granted, 0);
	assert_true(TAILQ_EMPTY(&ls.list));
	assert_null(lease_find_game(&ls, 1000, "nethack"));
	assert_int_equal(leases_user_count(&ls, 1000), 0);
	assert_true(leases_user_memory(&ls, 1000) == 0);
	assert_int_equal(leases_count_game(&ls, "nethack"), 0);
	leases_free(&ls);
}

/* A lease records its uid, game, client, memory and start, in copies. */
static void
test_lease_acquire(void **state)
{
	struct leases	 ls;
	struct lease	*l;
	char		 game[] = "nethack";

	(void)state;
	leases_init(&ls);
	l = lease_acquire(&ls, 1000, game, 7, 64 * MB, 1700000000123LL);
	assert_non_null(l);
	assert_int_equal(l->uid, 1000);
	assert_string_equal(l->game, "nethack");
	assert_int_equal(l->client, 7);
	assert_true(l->memory == 64 * MB);
	assert_int_equal(l->started, 1700000000123LL);
	assert_lease_id(l->id);
	assert_int_equal(ls.count, 1);
	assert_true(ls.memory == 64 * MB);
	assert_int_equal(ls.granted, 1);
	assert_int_equal(leases_user_count(&ls, 1000), 1);
	assert_true(leases_user_memory(&ls, 1000) == 64 * MB);
	assert_ptr_equal(TAILQ_FIRST(&ls.list), l);

	/* The lease keeps its own copy of the game. */
	assert_ptr_not_equal(l->game, game);
	game[0] = 'X';
	assert_string_equal(l->game, "nethack");
	assert_ptr_equal(lease_find_game(&ls, 1000, "nethack"), l);
	assert_null(lease_find_game(&ls, 1000, "Xethack"));
	assert_int_equal(leases_count_game(&ls, "nethack"), 1);
	check_totals(&ls);
	leases_free(&ls);
}

/* One live lease per uid per game; other pairs are fine. */
static void
test_lease_one_per_user_game(void **state)
{
	struct leases	 ls;
	struct lease	*a, *b, *c;

	(void)state;
	leases_init(&ls);
	a = acquire_ok(&ls, 1000, "nethack", 1, 64 * MB);

	/* Same uid, same game: refused, whatever the client; no change. */
	assert_null(lease_acquire(&ls, 1000, "nethack", 1, 64 * MB, 0));
	assert_null(lease_acquire(&ls, 1000, "nethack", 2, 1, 0));
	assert_int_equal(ls.count, 1);
	assert_true(ls.memory == 64 * MB);
	assert_int_equal(ls.granted, 1);
	assert_int_equal(leases_user_count(&ls, 1000), 1);
	assert_true(leases_user_memory(&ls, 1000) == 64 * MB);

	/* Same uid, other game; other uid, same game: fine. */
	b = acquire_ok(&ls, 1000, "crawl", 1, 32 * MB);
	c = acquire_ok(&ls, 1001, "nethack", 3, 64 * MB);
	assert_int_equal(ls.count, 3);

	/* Games that only share a prefix are different. */
	(void)acquire_ok(&ls, 1000, "nethack2", 4, 0);
	(void)acquire_ok(&ls, 1000, "nethac", 4, 0);
	assert_int_equal(ls.count, 5);

	/* uid 0 is a uid like any other. */
	(void)acquire_ok(&ls, 0, "nethack", 5, MB);
	assert_null(lease_acquire(&ls, 0, "nethack", 6, MB, 0));

	assert_int_equal(leases_count_game(&ls, "nethack"), 3);
	assert_int_equal(leases_count_game(&ls, "crawl"), 1);
	assert_int_equal(leases_count_game(&ls, "nethack2"), 1);
	assert_int_equal(leases_count_game(&ls, "zork"), 0);
	assert_ptr_equal(lease_find_game(&ls, 1000, "nethack"), a);
	assert_ptr_equal(lease_find_game(&ls, 1000, "crawl"), b);
	assert_ptr_equal(lease_find_game(&ls, 1001, "nethack"), c);
	assert_null(lease_find_game(&ls, 1001, "crawl"));
	assert_null(lease_find_game(&ls, 1002, "nethack"));
	assert_int_equal(leases_user_count(&ls, 1000), 4);
	assert_true(leases_user_memory(&ls, 1000) == 96 * MB);
	assert_int_equal(leases_user_count(&ls, 1001), 1);
	assert_int_equal(leases_user_count(&ls, 0), 1);
	assert_true(ls.memory == 161 * MB);
	assert_int_equal(ls.granted, 6);
	check_totals(&ls);
	leases_free(&ls);
}

/* Released leases are gone, their counts and memory with them. */
static void
test_lease_release(void **state)
{
	struct leases	 ls;
	struct lease	*a, *b, *c, *d, *again;
	char		 id_a[ID_LEN];

	(void)state;
	leases_init(&ls);
	a = acquire_ok(&ls, 1000, "nethack", 1, 64 * MB);
	b = acquire_ok(&ls, 1001, "nethack", 2, 64 * MB);
	c = acquire_ok(&ls, 1002, "nethack", 3, 64 * MB);
	d = acquire_ok(&ls, 1000, "crawl", 1, 16 * MB);
	memcpy(id_a, a->id, sizeof id_a);
	assert_int_equal(idmap_size(&ls.by_uid), 3);

	/* Release from the middle of the list. */
	lease_release(&ls, b);
	assert_int_equal(ls.count, 3);
	assert_true(ls.memory == 144 * MB);
	assert_null(lease_find_game(&ls, 1001, "nethack"));
	assert_int_equal(leases_user_count(&ls, 1001), 0);
	assert_true(leases_user_memory(&ls, 1001) == 0);
	/* A uid with no lease left is not kept in the index. */
	assert_int_equal(idmap_size(&ls.by_uid), 2);
	assert_ptr_equal(lease_find_game(&ls, 1000, "nethack"), a);
	assert_ptr_equal(lease_find_game(&ls, 1002, "nethack"), c);
	assert_int_equal(leases_count_game(&ls, "nethack"), 2);
	check_totals(&ls);

	/* One of a uid's two: the other stays, with its memory. */
	lease_release(&ls, a);
	assert_null(lease_find_game(&ls, 1000, "nethack"));
	assert_ptr_equal(lease_find_game(&ls, 1000, "crawl"), d);
	assert_int_equal(leases_user_count(&ls, 1000), 1);
	assert_true(leases_user_memory(&ls, 1000) == 16 * MB);
	check_totals(&ls);

	/* The same uid may play again, with a new id. */
	again = acquire_ok(&ls, 1000, "nethack", 1, 64 * MB);
	assert_string_not_equal(again->id, id_a);
	assert_ptr_equal(lease_find_game(&ls, 1000, "nethack"), again);
	assert_int_equal(ls.count, 3);
	check_totals(&ls);

	/* Release the head and the tail until none is left. */
	lease_release(&ls, TAILQ_FIRST(&ls.list));
	check_totals(&ls);
	lease_release(&ls, TAILQ_LAST(&ls.list, lease_list));
	check_totals(&ls);
	lease_release(&ls, TAILQ_FIRST(&ls.list));
	assert_int_equal(ls.count, 0);
	assert_true(ls.memory == 0);
	assert_true(TAILQ_EMPTY(&ls.list));
	assert_int_equal(idmap_size(&ls.by_uid), 0);
	assert_int_equal(leases_count_game(&ls, "nethack"), 0);
	/* Releasing counts nothing as granted since the last sample. */
	assert_int_equal(ls.granted, 5);
	leases_free(&ls);
}

/* Leases are found by uid and game, and counted by game. */
static void
test_lease_find(void **state)
{
	struct leases	 ls;
	struct lease	*l[10];
	u_int		 i;

	(void)state;
	leases_init(&ls);
	for (i = 0; i < nitems(l); i++)
		l[i] = acquire_ok(&ls, 2000 + i, i % 2 ? "crawl" : "nethack",
		    i, (i + 1) * MB);
	for (i = 0; i < nitems(l); i++) {
		assert_ptr_equal(lease_find_game(&ls, 2000 + i,
		    i % 2 ? "crawl" : "nethack"), l[i]);
		assert_null(lease_find_game(&ls, 2000 + i,
		    i % 2 ? "nethack" : "crawl"));
		assert_true(leases_user_memory(&ls, 2000 + i) == (i + 1) * MB);
	}
	assert_int_equal(leases_count_game(&ls, "nethack"), 5);
	assert_int_equal(leases_count_game(&ls, "crawl"), 5);
	assert_true(ls.memory == 55 * MB);
	/* Games match whole, not by prefix. */
	assert_null(lease_find_game(&ls, 2000, "net"));
	assert_null(lease_find_game(&ls, 2000, ""));
	assert_int_equal(leases_count_game(&ls, "net"), 0);
	check_totals(&ls);
	leases_free(&ls);
}

/* qsort comparison of two strings. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lease ids do not repeat. */
static void
test_lease_ids_unique(void **state)
{
	struct leases	 ls;
	struct lease	*l;
	char		**ids;
	u_int		 i, n = 2000;

	(void)state;
	leases_init(&ls);
	ids = xcalloc(n, sizeof *ids);
	for (i = 0; i < n; i++) {
		l = lease_acquire(&ls, 5000 + i, "nethack", i, MB, 0);
		assert_non_null(l);
		assert_lease_id(l->id);
		ids[i] = l->id;
	}
	assert_int_equal(ls.count, n);
	assert_true(ls.memory == n * MB);
	qsort(ids, n, sizeof *ids, cmp_str);
	for (i = 1; i < n; i++) {
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("duplicate lease id %s", ids[i]);
	}
	free(ids);
	leases_free(&ls);
}

/* Many uids and games in and out: every total stays right. */
static void
test_lease_many(void **state)
{
	static const char *games[] = { "nethack", "crawl", "angband" };
	struct leases	 ls;
	struct lease	*l;
	uint32_t	 x = 777;
	u_int		 n, uid;
	const char	*game;

	(void)state;
	leases_init(&ls);
	for (n = 0; n < 5000; n++) {
		x = x * 1664525u + 1013904223u;
		uid = 100 + (x >> 8) % 40;
		game = games[(x >> 16) % nitems(games)];
		if ((l = lease_find_game(&ls, uid, game)) != NULL)
			lease_release(&ls, l);
		else
			(void)acquire_ok(&ls, uid, game, n,
			    ((x >> 4) % 100) * MB);
		if (n % 50 == 0)
			check_totals(&ls);
	}
	check_totals(&ls);
	/* Freeing with leases live frees them all (the sanitizer checks). */
	leases_free(&ls);
	assert_int_equal(ls.count, 0);
	assert_true(ls.memory == 0);
}

struct release_arg {
	struct leases	*ls;
	struct lease	*l;
};

/* Child: release a lease. */
static void
release_cb(void *arg)
{
	struct release_arg	*ra = arg;

	lease_release(ra->ls, ra->l);
}

/*
 * Releasing a lease that is not live in this table is a broken
 * invariant, whether the uid has nothing in it or holds other leases.
 */
static void
test_lease_release_not_live(void **state)
{
	struct leases		 ls, other;
	struct lease		*l, *mine;
	struct release_arg	 ra;

	(void)state;
	leases_init(&ls);
	leases_init(&other);
	l = acquire_ok(&other, 1000, "nethack", 1, 64 * MB);
	ra.ls = &ls;
	ra.l = l;

	/* The uid has no lease in this table. */
	assert_dies(release_cb, &ra, "is not live");

	/* The uid has a lease here on another game. */
	mine = acquire_ok(&ls, 1000, "crawl", 2, 16 * MB);
	assert_dies(release_cb, &ra, "is not live");

	/* The uid has a lease here on the same game, a different one. */
	lease_release(&ls, mine);
	mine = acquire_ok(&ls, 1000, "nethack", 3, 16 * MB);
	assert_dies(release_cb, &ra, "is not live");

	/* Both tables are as they were. */
	assert_int_equal(other.count, 1);
	assert_int_equal(ls.count, 1);
	assert_ptr_equal(lease_find_game(&ls, 1000, "nethack"), mine);
	assert_ptr_equal(lease_find_game(&other, 1000, "nethack"), l);
	check_totals(&ls);
	check_totals(&other);
	leases_free(&other);
	leases_free(&ls);
}

/*
 * A lease taken back after a restart keeps its id and start, counts as
 * any lease (once), and is refused for an id or a game already held.
 */
static void
test_lease_rejoin(void **state)
{
	struct leases	 ls;
	struct lease	*l, *m;

	(void)state;
	leases_init(&ls);
	l = lease_rejoin(&ls, "l-0123456789abcdef", 1000, "nethack", 7,
	    64 * MB, 1700000000123LL);
	assert_non_null(l);
	assert_string_equal(l->id, "l-0123456789abcdef");
	assert_int_equal(l->started, 1700000000123LL);
	assert_int_equal(ls.count, 1);
	assert_int_equal(ls.granted, 0);
	assert_int_equal(ls.rejoined, 1);
	assert_int_equal(leases_user_count(&ls, 1000), 1);
	assert_true(leases_user_memory(&ls, 1000) == 64 * MB);
	assert_ptr_equal(lease_find_id(&ls, "l-0123456789abcdef"), l);
	assert_null(lease_find_id(&ls, "l-0000000000000000"));

	/* The same id again, for another game or uid: refused. */
	assert_null(lease_rejoin(&ls, "l-0123456789abcdef", 1000, "crawl", 8,
	    MB, 1));
	assert_null(lease_rejoin(&ls, "l-0123456789abcdef", 1001, "nethack",
	    8, MB, 1));
	/* Another id for a game the uid holds: refused too. */
	assert_null(lease_rejoin(&ls, "l-1111111111111111", 1000, "nethack",
	    8, MB, 1));
	/* An id too long for the table: refused. */
	assert_null(lease_rejoin(&ls, "l-0123456789abcdef0", 1002, "nethack",
	    8, MB, 1));
	assert_int_equal(ls.count, 1);
	assert_int_equal(ls.rejoined, 1);

	/* A fresh lease beside it, then both released. */
	m = lease_acquire(&ls, 1000, "crawl", 9, MB, 2);
	assert_non_null(m);
	assert_int_equal(leases_user_count(&ls, 1000), 2);
	check_totals(&ls);
	lease_release(&ls, l);
	assert_null(lease_find_id(&ls, "l-0123456789abcdef"));
	assert_int_equal(leases_user_count(&ls, 1000), 1);
	check_totals(&ls);
	leases_free(&ls);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leases_init),
		cmocka_unit_test(test_lease_acquire),
		cmocka_unit_test(test_lease_one_per_user_game),
		cmocka_unit_test(test_lease_release),
		cmocka_unit_test(test_lease_find),
		cmocka_unit_test(test_lease_ids_unique),
		cmocka_unit_test(test_lease_many),
		cmocka_unit_test(test_lease_release_not_live),
		cmocka_unit_test(test_lease_rejoin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
