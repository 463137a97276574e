/*
 * The PTY lease table: which games run, for whom, holding how much
 * memory; one live game per user per game. Totals for the system and
 * for each uid are kept here, where the leases are, and read from here.
 * No event loop.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* A uid's leases and what they hold together. */
struct lease_user {
	struct lease_list list;
	u_int		 count;
	uint64_t	 memory;
};

/* An empty table. */
void
leases_init(struct leases *ls)
{
	memset(ls, 0, sizeof *ls);
	TAILQ_INIT(&ls->list);
	idmap_init(&ls->by_uid);
}

/* The live lease uid holds on a game, or NULL. */
struct lease *
lease_find_game(const struct leases *ls, uid_t uid, const char *game)
{
	struct lease_user	*lu;
	struct lease		*l;

	if ((lu = idmap_get(&ls->by_uid, uid)) == NULL)
		return NULL;
	TAILQ_FOREACH(l, &lu->list, user_entry) {
		if (strcmp(l->game, game) == 0)
			return l;
	}
	return NULL;
}

/* The live lease with an id, or NULL (walks the table). */
struct lease *
lease_find_id(const struct leases *ls, const char *id)
{
	struct lease	*l;

	TAILQ_FOREACH(l, &ls->list, entry) {
		if (strcmp(l->id, id) == 0)
			return l;
	}
	return NULL;
}

/*
 * Put a lease in the table under an id (a new one when id is NULL).
 * Returns NULL when uid already plays that game or the id is held.
 */
static struct lease *
lease_insert(struct leases *ls, const char *id, uid_t uid, const char *game,
    uint64_t client, uint64_t memory, int64_t started)
{
	struct lease_user	*lu;
	struct lease		*l;

	if (lease_find_game(ls, uid, game) != NULL)
		return NULL;
	if (id != NULL && (strlen(id) >= sizeof l->id ||
	    lease_find_id(ls, id) != NULL))
		return NULL;
	if ((lu = idmap_get(&ls->by_uid, uid)) == NULL) {
		lu = xcalloc(1, sizeof *lu);
		TAILQ_INIT(&lu->list);
		idmap_put(&ls->by_uid, uid, lu);
	}
	l = xcalloc(1, sizeof *l);
	if (id != NULL)
		snprintf(l->id, sizeof l->id, "%s", id);
	else
		util_random_id('l', l->id, sizeof l->id);
	l->uid = uid;
	l->game = xstrdup(game);
	l->client = client;
	l->memory = memory;
	l->started = started;
	TAILQ_INSERT_TAIL(&ls->list, l, entry);
	TAILQ_INSERT_TAIL(&lu->list, l, user_entry);
	lu->count++;
	lu->memory += memory;
	ls->count++;
	ls->memory += memory;
	return l;
}

/*
 * Grant uid a lease on a game, held by a client, with a memory slice.
 * Returns NULL when uid already plays that game.
 */
struct lease *
lease_acquire(struct leases *ls, uid_t uid, const char *game,
    uint64_t client, uint64_t memory, int64_t now)
{
	struct lease	*l;

	if ((l = lease_insert(ls, NULL, uid, game, client, memory, now)) !=
	    NULL)
		ls->granted++;
	return l;
}

/*
 * Take back the lease of a game that ran on across a restart of the
 * broker, with its id and start: the same counts as any lease, whatever
 * the bounds are now. Returns NULL when uid already plays that game or
 * the id is held.
 */
struct lease *
lease_rejoin(struct leases *ls, const char *id, uid_t uid, const char *game,
    uint64_t client, uint64_t memory, int64_t started)
{
	struct lease	*l;

	if ((l = lease_insert(ls, id, uid, game, client, memory, started)) !=
	    NULL)
		ls->rejoined++;
	return l;
}

/* End a lease and free it. */
void
lease_release(struct leases *ls, struct lease *l)
{
	struct lease_user	*lu;

	/* Only a lease on the uid's own list: any other would corrupt it. */
	if ((lu = idmap_get(&ls->by_uid, l->uid)) == NULL ||
	    lease_find_game(ls, l->uid, l->game) != l)
		fatalx("lease_release: lease %s is not live", l->id);
	TAILQ_REMOVE(&lu->list, l, user_entry);
	lu->count--;
	lu->memory -= l->memory;
	if (lu->count == 0) {
		idmap_remove(&ls->by_uid, l->uid);
		free(lu);
	}
	TAILQ_REMOVE(&ls->list, l, entry);
	ls->count--;
	ls->memory -= l->memory;
	free(l->game);
	free(l);
}

/* How many live games uid has. */
u_int
leases_user_count(const struct leases *ls, uid_t uid)
{
	struct lease_user	*lu = idmap_get(&ls->by_uid, uid);

	return lu != NULL ? lu->count : 0;
}

/* The memory granted to uid's live games. */
uint64_t
leases_user_memory(const struct leases *ls, uid_t uid)
{
	struct lease_user	*lu = idmap_get(&ls->by_uid, uid);

	return lu != NULL ? lu->memory : 0;
}

/* How many live leases a game has (for --status: walks the table). */
u_int
leases_count_game(const struct leases *ls, const char *game)
{
	const struct lease	*l;
	u_int			 n = 0;

	TAILQ_FOREACH(l, &ls->list, entry) {
		if (strcmp(l->game, game) == 0)
			n++;
	}
	return n;
}

/* Free every lease. */
void
leases_free(struct leases *ls)
{
	struct lease	*l;

	while ((l = TAILQ_FIRST(&ls->list)) != NULL)
		lease_release(ls, l);
	idmap_clear(&ls->by_uid, free);
}
