/*
 * The connection pool: a bounded number of session slots, and how many
 * each uid holds. No event loop: the broker calls in, and the unit tests
 * call in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* Start an empty pool of max slots. */
void
pool_init(struct pool *p, u_int max)
{
	memset(p, 0, sizeof *p);
	p->max = max;
	idmap_init(&p->by_uid);
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

/* Count a slot uid takes. */
static void
pool_take(struct pool *p, uid_t uid)
{
	p->used++;
	idmap_count_add(&p->by_uid, uid, 1);
}

/* Take a slot for uid: 0, or -1 when the pool is full. */
int
pool_admit(struct pool *p, uid_t uid)
{
	if (p->used >= p->max) {
		p->refused++;
		return -1;
	}
	pool_take(p, uid);
	p->admitted++;
	return 0;
}

/*
 * Give back the slot of a session admitted before the broker restarted:
 * it was admitted under the bound of then, so it takes its slot even past
 * the bound of now (like slots kept across a reload that lowered it).
 */
void
pool_readmit(struct pool *p, uid_t uid)
{
	pool_take(p, uid);
	p->readmitted++;
}

/* Give back a slot uid held. */
void
pool_release(struct pool *p, uid_t uid)
{
	if (p->used == 0 || idmap_count(&p->by_uid, uid) == 0)
		fatalx("pool_release: uid %lu holds no slot", (u_long)uid);
	p->used--;
	idmap_count_add(&p->by_uid, uid, -1);
}

/* How many slots uid holds. */
u_int
pool_user(const struct pool *p, uid_t uid)
{
	return idmap_count(&p->by_uid, uid);
}

/* Free the pool's index. */
void
pool_free(struct pool *p)
{
	idmap_clear(&p->by_uid, NULL);
}
