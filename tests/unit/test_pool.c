/*
 * Unit tests for the connection pool and game leases.
 */
#include "config.h"

#include <sys/wait.h>

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

/* ---- pool -------------------------------------------------------------- */

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
}

/* Slots are granted up to the bound, then refused and counted. */
static void
test_pool_admit_to_max(void **state)
{
	struct pool	 p;
	u_int		 i;

	(void)state;
	pool_init(&p, 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(pool_admit(&p), 0);
		assert_int_equal(p.used, i + 1);
	}
	assert_int_equal(pool_admit(&p), -1);
	assert_int_equal(pool_admit(&p), -1);
	assert_int_equal(p.used, 5);
	assert_int_equal(p.admitted, 5);
	assert_int_equal(p.refused, 2);
}

/* A released slot can be taken again. */
static void
test_pool_release(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 2);
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), -1);
	pool_release(&p);
	assert_int_equal(p.used, 1);
	/* A released slot can be taken again, once. */
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), -1);
	pool_release(&p);
	pool_release(&p);
	assert_int_equal(p.used, 0);
	assert_int_equal(p.admitted, 3);
	assert_int_equal(p.refused, 2);
	/* Releasing does not count as admitting or refusing. */
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(p.admitted, 4);
	assert_int_equal(p.refused, 2);
}

/* A pool of zero admits nobody. */
static void
test_pool_zero(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 0);
	assert_int_equal(pool_admit(&p), -1);
	assert_int_equal(p.used, 0);
	assert_int_equal(p.refused, 1);
}

/* Shrinking keeps held slots and refuses until below the bound. */
static void
test_pool_resize_down(void **state)
{
	struct pool	 p;
	u_int		 i;

	(void)state;
	pool_init(&p, 10);
	for (i = 0; i < 8; i++)
		assert_int_equal(pool_admit(&p), 0);

	/* Held slots stay held; nothing new until below the bound. */
	pool_resize(&p, 5);
	assert_int_equal(p.max, 5);
	assert_int_equal(p.used, 8);
	assert_int_equal(pool_admit(&p), -1);
	pool_release(&p);
	pool_release(&p);
	pool_release(&p);
	assert_int_equal(p.used, 5);
	assert_int_equal(pool_admit(&p), -1);
	pool_release(&p);
	assert_int_equal(p.used, 4);
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), -1);
	assert_int_equal(p.used, 5);
	assert_int_equal(p.admitted, 9);
	assert_int_equal(p.refused, 3);
}

/* Growing admits more at once; shrinking to zero admits none. */
static void
test_pool_resize_up(void **state)
{
	struct pool	 p;

	(void)state;
	pool_init(&p, 1);
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), -1);
	pool_resize(&p, 3);
	assert_int_equal(p.used, 1);
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), 0);
	assert_int_equal(pool_admit(&p), -1);
	assert_int_equal(p.used, 3);
	/* Resizing keeps the counters. */
	assert_int_equal(p.admitted, 3);
	assert_int_equal(p.refused, 2);

	/* Down to zero: everything held stays, nothing new. */
	pool_resize(&p, 0);
	assert_int_equal(pool_admit(&p), -1);
	pool_release(&p);
	pool_release(&p);
	pool_release(&p);
	assert_int_equal(p.used, 0);
	assert_int_equal(pool_admit(&p), -1);
}

/* Releasing a slot nobody holds is a broken invariant: the process dies. */
static void
test_pool_release_empty(void **state)
{
	struct pool	 p;
	pid_t		 pid;
	int		 status;

	(void)state;
	pool_init(&p, 1);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		pool_release(&p);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
	assert_int_equal(p.used, 0);
}

/* ---- leases ------------------------------------------------------------ */

/* Release every live lease. */
static void
free_leases(struct leases *ls)
{
	while (ls->head != NULL)
		lease_release(ls, ls->head);
	assert_int_equal(ls->count, 0);
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

/* A lease records its user, game, client and start, in copies. */
static void
test_lease_acquire(void **state)
{
	struct leases	 ls = { NULL, 0 };
	struct lease	*l;
	char		 user[] = "alice", game[] = "nethack";

	(void)state;
	l = lease_acquire(&ls, user, game, 7, 1700000000123LL);
	assert_non_null(l);
	assert_string_equal(l->user, "alice");
	assert_string_equal(l->game, "nethack");
	assert_int_equal(l->client, 7);
	assert_int_equal(l->started, 1700000000123LL);
	assert_lease_id(l->id);
	assert_int_equal(ls.count, 1);

	/* The lease keeps its own copies. */
	assert_ptr_not_equal(l->user, user);
	assert_ptr_not_equal(l->game, game);
	user[0] = 'X';
	game[0] = 'X';
	assert_string_equal(l->user, "alice");
	assert_string_equal(l->game, "nethack");

	assert_ptr_equal(lease_find(&ls, l->id), l);
	assert_ptr_equal(lease_find_game(&ls, "alice", "nethack"), l);
	assert_int_equal(lease_count_game(&ls, "nethack"), 1);
	free_leases(&ls);
}

/* One live lease per user per game; other pairs are fine. */
static void
test_lease_one_per_user_game(void **state)
{
	struct leases	 ls = { NULL, 0 };
	struct lease	*a, *b, *c, *d;

	(void)state;
	a = lease_acquire(&ls, "alice", "nethack", 1, 0);
	assert_non_null(a);

	/* Same user, same game: refused, whatever the client. */
	assert_null(lease_acquire(&ls, "alice", "nethack", 1, 0));
	assert_null(lease_acquire(&ls, "alice", "nethack", 2, 0));
	assert_int_equal(ls.count, 1);

	/* Same user, other game; other user, same game: fine. */
	b = lease_acquire(&ls, "alice", "crawl", 1, 0);
	assert_non_null(b);
	c = lease_acquire(&ls, "bob", "nethack", 3, 0);
	assert_non_null(c);
	assert_int_equal(ls.count, 3);

	/* Names that only share a prefix are different. */
	d = lease_acquire(&ls, "alice2", "nethack", 4, 0);
	assert_non_null(d);
	assert_non_null(lease_acquire(&ls, "alice", "nethack2", 4, 0));
	assert_int_equal(ls.count, 5);

	assert_int_equal(lease_count_game(&ls, "nethack"), 3);
	assert_int_equal(lease_count_game(&ls, "crawl"), 1);
	assert_int_equal(lease_count_game(&ls, "nethack2"), 1);
	assert_int_equal(lease_count_game(&ls, "zork"), 0);
	assert_ptr_equal(lease_find_game(&ls, "alice", "crawl"), b);
	assert_ptr_equal(lease_find_game(&ls, "bob", "nethack"), c);
	assert_null(lease_find_game(&ls, "bob", "crawl"));
	assert_null(lease_find_game(&ls, "carol", "nethack"));
	free_leases(&ls);
}

/* Released leases are gone, and the user may play again. */
static void
test_lease_release(void **state)
{
	struct leases	 ls = { NULL, 0 };
	struct lease	*a, *b, *c, *again;
	char		 id_a[ID_LEN];

	(void)state;
	a = lease_acquire(&ls, "alice", "nethack", 1, 0);
	b = lease_acquire(&ls, "bob", "nethack", 2, 0);
	c = lease_acquire(&ls, "carol", "nethack", 3, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	memcpy(id_a, a->id, sizeof id_a);

	/* Release from the middle of the list. */
	lease_release(&ls, b);
	assert_int_equal(ls.count, 2);
	assert_null(lease_find_game(&ls, "bob", "nethack"));
	assert_ptr_equal(lease_find_game(&ls, "alice", "nethack"), a);
	assert_ptr_equal(lease_find_game(&ls, "carol", "nethack"), c);
	assert_int_equal(lease_count_game(&ls, "nethack"), 2);

	/* Release, then the same user may play again, with a new id. */
	lease_release(&ls, a);
	assert_null(lease_find(&ls, id_a));
	assert_null(lease_find_game(&ls, "alice", "nethack"));
	again = lease_acquire(&ls, "alice", "nethack", 1, 5);
	assert_non_null(again);
	assert_string_not_equal(again->id, id_a);
	assert_ptr_equal(lease_find_game(&ls, "alice", "nethack"), again);
	assert_ptr_equal(lease_find(&ls, again->id), again);
	assert_int_equal(ls.count, 2);

	/* Release the head and the tail. */
	lease_release(&ls, ls.head);
	assert_int_equal(ls.count, 1);
	lease_release(&ls, ls.head);
	assert_int_equal(ls.count, 0);
	assert_null(ls.head);
	assert_int_equal(lease_count_game(&ls, "nethack"), 0);
}

/* Leases are found by id and by user and game. */
static void
test_lease_find(void **state)
{
	struct leases	 ls = { NULL, 0 };
	struct lease	*l[10];
	char		 user[16];
	u_int		 i;

	(void)state;
	assert_null(lease_find(&ls, "l-0000000000000000"));
	assert_null(lease_find_game(&ls, "alice", "nethack"));
	assert_int_equal(lease_count_game(&ls, "nethack"), 0);

	for (i = 0; i < nitems(l); i++) {
		snprintf(user, sizeof user, "user%u", i);
		l[i] = lease_acquire(&ls, user, i % 2 ? "crawl" : "nethack", i,
		    0);
		assert_non_null(l[i]);
	}
	for (i = 0; i < nitems(l); i++) {
		assert_ptr_equal(lease_find(&ls, l[i]->id), l[i]);
		snprintf(user, sizeof user, "user%u", i);
		assert_ptr_equal(lease_find_game(&ls, user,
		    i % 2 ? "crawl" : "nethack"), l[i]);
		assert_null(lease_find_game(&ls, user,
		    i % 2 ? "nethack" : "crawl"));
	}
	assert_int_equal(lease_count_game(&ls, "nethack"), 5);
	assert_int_equal(lease_count_game(&ls, "crawl"), 5);

	/* Ids match whole, not by prefix. */
	assert_null(lease_find(&ls, "l-"));
	assert_null(lease_find(&ls, ""));
	free_leases(&ls);
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
	struct leases	 ls = { NULL, 0 };
	struct lease	*l;
	char		 user[16], **ids;
	u_int		 i, n = 2000;

	(void)state;
	ids = calloc(n, sizeof *ids);
	assert_non_null(ids);
	for (i = 0; i < n; i++) {
		snprintf(user, sizeof user, "u%u", i);
		l = lease_acquire(&ls, user, "nethack", i, 0);
		assert_non_null(l);
		assert_lease_id(l->id);
		ids[i] = l->id;
	}
	assert_int_equal(ls.count, n);
	qsort(ids, n, sizeof *ids, cmp_str);
	for (i = 1; i < n; i++) {
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("duplicate lease id %s", ids[i]);
	}
	free(ids);
	free_leases(&ls);
}

/* Releasing a lease that is not live is a broken invariant. */
static void
test_lease_release_not_live(void **state)
{
	struct leases	 ls = { NULL, 0 }, other = { NULL, 0 };
	struct lease	*l;
	pid_t		 pid;
	int		 status;

	(void)state;
	l = lease_acquire(&other, "alice", "nethack", 1, 0);
	assert_non_null(l);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		lease_release(&ls, l);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(!WIFEXITED(status) || WEXITSTATUS(status) != 0);
	assert_int_equal(other.count, 1);
	free_leases(&other);
}

/* Run every test in this file. */
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
		cmocka_unit_test(test_pool_release_empty),
		cmocka_unit_test(test_lease_acquire),
		cmocka_unit_test(test_lease_one_per_user_game),
		cmocka_unit_test(test_lease_release),
		cmocka_unit_test(test_lease_find),
		cmocka_unit_test(test_lease_ids_unique),
		cmocka_unit_test(test_lease_release_not_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
