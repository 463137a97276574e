/*
 * Connection pool and game lease arithmetic. No event loop: the broker
 * calls in, and the unit tests call in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dungeongate.h"

/* Start an empty pool of max slots. */
void
pool_init(struct pool *p, u_int max)
{
	memset(p, 0, sizeof *p);
	p->max = max;
}

/*
 * Change the bound; slots already held above a lower bound stay held,
 * and no new ones are granted until enough are released.
 */
void
pool_resize(struct pool *p, u_int max)
{
	p->max = max;
}

/* Take a slot: 0, or -1 when the pool is full. */
int
pool_admit(struct pool *p)
{
	if (p->used >= p->max) {
		p->refused++;
		return -1;
	}
	p->used++;
	p->admitted++;
	return 0;
}

/* Give a slot back. */
void
pool_release(struct pool *p)
{
	if (p->used == 0)
		fatalx("pool_release: no slot held");
	p->used--;
}

/* Find a live lease by its id. */
struct lease *
lease_find(struct leases *ls, const char *id)
{
	struct lease	*l;

	for (l = ls->head; l != NULL; l = l->next) {
		if (strcmp(l->id, id) == 0)
			return l;
	}
	return NULL;
}

/* Find the live lease a user holds on a game. */
struct lease *
lease_find_game(struct leases *ls, const char *user, const char *game)
{
	struct lease	*l;

	for (l = ls->head; l != NULL; l = l->next) {
		if (strcmp(l->user, user) == 0 && strcmp(l->game, game) == 0)
			return l;
	}
	return NULL;
}

/* How many live leases a game has. */
u_int
lease_count_game(const struct leases *ls, const char *game)
{
	const struct lease	*l;
	u_int			 n = 0;

	for (l = ls->head; l != NULL; l = l->next) {
		if (strcmp(l->game, game) == 0)
			n++;
	}
	return n;
}

/*
 * Grant a lease on a game to a user: one live game per user per game.
 * Returns NULL when the user already plays that game.
 */
struct lease *
lease_acquire(struct leases *ls, const char *user, const char *game,
    uint64_t client, int64_t now)
{
	struct lease	*l;

	if (lease_find_game(ls, user, game) != NULL)
		return NULL;
	l = xcalloc(1, sizeof *l);
	util_random_id('l', l->id, sizeof l->id);
	l->user = xstrdup(user);
	l->game = xstrdup(game);
	l->client = client;
	l->started = now;
	l->next = ls->head;
	ls->head = l;
	ls->count++;
	return l;
}

/* End a lease and free it. */
void
lease_release(struct leases *ls, struct lease *l)
{
	struct lease	**lp;

	for (lp = &ls->head; *lp != NULL; lp = &(*lp)->next) {
		if (*lp == l) {
			*lp = l->next;
			ls->count--;
			free(l->user);
			free(l->game);
			free(l);
			return;
		}
	}
	fatalx("lease_release: lease %s is not live", l->id);
}
