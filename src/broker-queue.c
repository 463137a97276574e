/*
 * The wait queue in front of a full connection pool: bounded, ordered by
 * class (critical, high, normal, low) and first come first served within
 * a class, or one FIFO when prioritization is off. Every entry has a
 * deadline. Time comes in as an argument, so tests can drive the clock.
 * No event loop here.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

static struct qentry	*queue_find(const struct queue *, uint64_t);

/* An empty queue. */
void
queue_init(struct queue *q, u_int max, int prioritize)
{
	u_int	 i;

	memset(q, 0, sizeof *q);
	for (i = 0; i < CLASS_COUNT; i++)
		TAILQ_INIT(&q->classes[i]);
	TAILQ_INIT(&q->by_deadline);
	q->max = max;
	q->prioritize = prioritize;
	idmap_init(&q->by_uid);
	idmap_init(&q->by_client);
}

/* New bounds; entries already queued beyond a lower bound stay. */
void
queue_configure(struct queue *q, u_int max, int prioritize)
{
	q->max = max;
	q->prioritize = prioritize;
}

/*
 * Keep the deadline list in order. Deadlines are arrival plus the
 * queue_timeout of the time, so a new one is nearly always the latest:
 * the walk back stops at once, unless a reload shortened the timeout.
 */
static void
queue_insert_deadline(struct queue *q, struct qentry *e)
{
	struct qentry	*f;

	TAILQ_FOREACH_REVERSE(f, &q->by_deadline, qentries, dl_entry) {
		if (f->deadline <= e->deadline)
			break;
	}
	if (f == NULL)
		TAILQ_INSERT_HEAD(&q->by_deadline, e, dl_entry);
	else
		TAILQ_INSERT_AFTER(&q->by_deadline, f, e, dl_entry);
}

/* Queue a client of uid; -1 when the queue is full. */
int
queue_push(struct queue *q, uint64_t client, uid_t uid,
    enum quota_class class, int64_t now, int64_t timeout)
{
	struct qentry	*e;

	if ((u_int)class >= CLASS_COUNT)
		fatalx("queue_push: class %d", (int)class);
	if (queue_find(q, client) != NULL)
		fatalx("queue_push: client %llu is queued already",
		    (unsigned long long)client);
	if (q->size >= q->max)
		return -1;
	e = xcalloc(1, sizeof *e);
	e->client = client;
	e->uid = uid;
	e->class = class;
	e->seq = ++q->next_seq;
	e->since = now;
	e->deadline = now + timeout;
	TAILQ_INSERT_TAIL(&q->classes[class], e, entry);
	queue_insert_deadline(q, e);
	q->count[class]++;
	q->size++;
	idmap_count_add(&q->by_uid, uid, 1);
	idmap_put(&q->by_client, client, e);
	return 0;
}

/* The entry that is admitted next, or NULL. */
static struct qentry *
queue_head(const struct queue *q)
{
	struct qentry	*e, *best = NULL;
	int		 i;

	for (i = CLASS_COUNT - 1; i >= 0; i--) {
		e = TAILQ_FIRST(&q->classes[i]);
		if (e == NULL)
			continue;
		if (q->prioritize)
			return e;
		if (best == NULL || e->seq < best->seq)
			best = e;
	}
	return best;
}

/* Take an entry out; returns how long it waited. */
static int64_t
queue_take(struct queue *q, struct qentry *e, int64_t now)
{
	int64_t	 waited = now - e->since;

	TAILQ_REMOVE(&q->classes[e->class], e, entry);
	TAILQ_REMOVE(&q->by_deadline, e, dl_entry);
	q->count[e->class]--;
	q->size--;
	idmap_count_add(&q->by_uid, e->uid, -1);
	idmap_remove(&q->by_client, e->client);
	free(e);
	return waited;
}

/* Take the next client to admit; 0 when the queue is empty. */
uint64_t
queue_pop(struct queue *q, int64_t now, int64_t *waited)
{
	struct qentry	*e;
	uint64_t	 client;

	if ((e = queue_head(q)) == NULL)
		return 0;
	client = e->client;
	*waited = queue_take(q, e, now);
	return client;
}

/* Find a client's entry. */
static struct qentry *
queue_find(const struct queue *q, uint64_t client)
{
	return idmap_get(&q->by_client, client);
}

/* How many entries uid has waiting. */
u_int
queue_user(const struct queue *q, uid_t uid)
{
	return idmap_count(&q->by_uid, uid);
}

/* Take a client out (it left); 0, or -1 when it was not queued. */
int
queue_remove(struct queue *q, uint64_t client, int64_t now)
{
	struct qentry	*e;

	if ((e = queue_find(q, client)) == NULL)
		return -1;
	queue_take(q, e, now);
	return 0;
}

/* A client's place in line, from 1; 0 when it is not queued. */
u_int
queue_position(const struct queue *q, uint64_t client)
{
	const struct qentry	*e, *f;
	u_int			 i, ahead = 0;

	if ((e = queue_find(q, client)) == NULL)
		return 0;
	/* The newest arrival, as when it is told its place: no walk. */
	if (e->seq == q->next_seq) {
		if (!q->prioritize)
			return q->size;
		for (i = e->class; i < CLASS_COUNT; i++)
			ahead += q->count[i];
		return ahead;
	}
	for (i = 0; i < CLASS_COUNT; i++) {
		TAILQ_FOREACH(f, &q->classes[i], entry) {
			if (f == e)
				continue;
			if (q->prioritize ? (f->class > e->class ||
			    (f->class == e->class && f->seq < e->seq)) :
			    f->seq < e->seq)
				ahead++;
		}
	}
	return ahead + 1;
}

/*
 * Call fn on every entry in the order it would be admitted, with its
 * place in line from 1: best class first when prioritizing, otherwise
 * by arrival across the classes.
 */
void
queue_walk(const struct queue *q, void (*fn)(const struct qentry *, u_int,
    void *), void *arg)
{
	const struct qentry	*next[CLASS_COUNT], *e;
	u_int			 pos = 0;
	int			 i, best;

	for (i = 0; i < CLASS_COUNT; i++)
		next[i] = TAILQ_FIRST(&q->classes[i]);
	for (;;) {
		best = -1;
		for (i = CLASS_COUNT - 1; i >= 0; i--) {
			if (next[i] == NULL)
				continue;
			if (best == -1 || (!q->prioritize &&
			    next[i]->seq < next[best]->seq))
				best = i;
			if (q->prioritize)
				break;
		}
		if (best == -1)
			return;
		e = next[best];
		next[best] = TAILQ_NEXT(e, entry);
		fn(e, ++pos, arg);
	}
}

/* How long the longest waiter has waited, in ms (0: nobody waits). */
int64_t
queue_longest(const struct queue *q, int64_t now)
{
	const struct qentry	*e;
	int64_t			 longest = 0;
	u_int			 i;

	for (i = 0; i < CLASS_COUNT; i++) {
		/* Within a class the first to arrive has waited longest. */
		if ((e = TAILQ_FIRST(&q->classes[i])) != NULL &&
		    now - e->since > longest)
			longest = now - e->since;
	}
	return longest;
}

/* Take one client whose deadline has passed; 0 when there is none. */
uint64_t
queue_expire(struct queue *q, int64_t now)
{
	struct qentry	*e;
	uint64_t	 client;

	if ((e = TAILQ_FIRST(&q->by_deadline)) == NULL || e->deadline > now)
		return 0;
	client = e->client;
	queue_take(q, e, now);
	return client;
}

/* The earliest deadline, or -1 when the queue is empty. */
int64_t
queue_next_deadline(const struct queue *q)
{
	const struct qentry	*e = TAILQ_FIRST(&q->by_deadline);

	return e != NULL ? e->deadline : -1;
}

/*
 * Move a client to another class (its tier or rights changed), keeping
 * its place by arrival among that class. Returns 0, or -1 when it is not
 * queued.
 */
int
queue_reclass(struct queue *q, uint64_t client, enum quota_class class)
{
	struct qentry	*e, *f;

	if ((u_int)class >= CLASS_COUNT)
		fatalx("queue_reclass: class %d", (int)class);
	if ((e = queue_find(q, client)) == NULL)
		return -1;
	if (e->class == class)
		return 0;
	TAILQ_REMOVE(&q->classes[e->class], e, entry);
	q->count[e->class]--;
	e->class = class;
	TAILQ_FOREACH_REVERSE(f, &q->classes[class], qentries, entry) {
		if (f->seq < e->seq)
			break;
	}
	if (f == NULL)
		TAILQ_INSERT_HEAD(&q->classes[class], e, entry);
	else
		TAILQ_INSERT_AFTER(&q->classes[class], f, e, entry);
	q->count[class]++;
	return 0;
}

/* A slot came free: remember when, to estimate waits. */
void
queue_departure(struct queue *q, int64_t now)
{
	q->departures[q->next_departure++ % QUEUE_DEPARTURES] = now;
	if (q->ndepartures < QUEUE_DEPARTURES)
		q->ndepartures++;
}

/*
 * About how many seconds until the client at this position is admitted,
 * from how often slots came free lately; -1 when there is nothing to go
 * on yet.
 */
int
queue_eta(const struct queue *q, u_int position, int64_t now)
{
	int64_t	 first, last, every;
	u_int	 i, n = q->ndepartures;

	if (n < 2)
		return -1;
	first = last = q->departures[0];
	for (i = 1; i < n; i++) {
		if (q->departures[i] < first)
			first = q->departures[i];
		if (q->departures[i] > last)
			last = q->departures[i];
	}
	/* Slots free up once every this many ms, or slower if none lately. */
	every = (last - first) / (n - 1);
	if (now - last > every)
		every = now - last;
	every = (every * position + 999) / 1000;
	return every > INT_MAX ? INT_MAX : (int)every;
}

/* Free every entry. */
void
queue_free(struct queue *q)
{
	struct qentry	*e;
	u_int		 i;

	for (i = 0; i < CLASS_COUNT; i++) {
		while ((e = TAILQ_FIRST(&q->classes[i])) != NULL) {
			TAILQ_REMOVE(&q->classes[i], e, entry);
			TAILQ_REMOVE(&q->by_deadline, e, dl_entry);
			free(e);
		}
		q->count[i] = 0;
	}
	q->size = 0;
	idmap_clear(&q->by_uid, NULL);
	idmap_clear(&q->by_client, NULL);
}
