/*
 * Maps from 64-bit keys (client ids, uids) to pointers, or to counts: a
 * chained hash table that doubles when it fills, so a lookup costs the
 * same with ten entries or ten thousand. No event loop here.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dungeongate.h"

struct idmap_entry {
	uint64_t		 key;
	void			*value;
	struct idmap_entry	*next;
};

/* Which bucket a key falls in (Fibonacci hashing on the top bits). */
static u_int
idmap_bucket(const struct idmap *m, uint64_t key)
{
	return (u_int)((key * 0x9e3779b97f4a7c15ULL) >> (64 - m->shift));
}

/* An empty map. */
void
idmap_init(struct idmap *m)
{
	memset(m, 0, sizeof *m);
}

/* Spread the entries over twice as many buckets. */
static void
idmap_grow(struct idmap *m)
{
	struct idmap_entry	**old = m->buckets, *e, *next;
	u_int			  n = m->nbuckets, i, b;

	m->shift = n == 0 ? 4 : m->shift + 1;
	m->nbuckets = 1U << m->shift;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	for (i = 0; i < n; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->next;
			b = idmap_bucket(m, e->key);
			e->next = m->buckets[b];
			m->buckets[b] = e;
		}
	}
	free(old);
}

/* The entry for a key, or NULL. */
static struct idmap_entry *
idmap_find(const struct idmap *m, uint64_t key)
{
	struct idmap_entry	*e;

	if (m->nbuckets == 0)
		return NULL;
	for (e = m->buckets[idmap_bucket(m, key)]; e != NULL; e = e->next) {
		if (e->key == key)
			return e;
	}
	return NULL;
}

/* The value stored under a key, or NULL. */
void *
idmap_get(const struct idmap *m, uint64_t key)
{
	struct idmap_entry	*e = idmap_find(m, key);

	return e != NULL ? e->value : NULL;
}

/* Store a value under a key, replacing what was there. */
void
idmap_put(struct idmap *m, uint64_t key, void *value)
{
	struct idmap_entry	*e;
	u_int			 b;

	if ((e = idmap_find(m, key)) != NULL) {
		e->value = value;
		return;
	}
	if (m->count >= m->nbuckets)
		idmap_grow(m);
	e = xmalloc(sizeof *e);
	e->key = key;
	e->value = value;
	b = idmap_bucket(m, key);
	e->next = m->buckets[b];
	m->buckets[b] = e;
	m->count++;
}

/* Take a key out; returns what was stored under it, or NULL. */
void *
idmap_remove(struct idmap *m, uint64_t key)
{
	struct idmap_entry	**ep, *e;
	void			 *value;

	if (m->nbuckets == 0)
		return NULL;
	for (ep = &m->buckets[idmap_bucket(m, key)]; (e = *ep) != NULL;
	    ep = &e->next) {
		if (e->key == key) {
			*ep = e->next;
			value = e->value;
			free(e);
			m->count--;
			return value;
		}
	}
	return NULL;
}

/* How many keys the map holds. */
u_int
idmap_size(const struct idmap *m)
{
	return m->count;
}

/*
 * Walk the map: start with *cursor zeroed; each call gives the next key
 * and value and returns 1, or 0 at the end. The map must not change
 * during a walk.
 */
int
idmap_next(const struct idmap *m, struct idmap_cursor *cur, uint64_t *key,
    void **value)
{
	const struct idmap_entry *e = cur->entry;

	if (e != NULL)
		e = e->next;
	while (e == NULL && cur->bucket < m->nbuckets)
		e = m->buckets[cur->bucket++];
	cur->entry = e;
	if (e == NULL)
		return 0;
	if (key != NULL)
		*key = e->key;
	if (value != NULL)
		*value = e->value;
	return 1;
}

/* A count kept under a key (0 when absent). */
u_int
idmap_count(const struct idmap *m, uint64_t key)
{
	return (u_int)(uintptr_t)idmap_get(m, key);
}

/*
 * Change the count under a key by delta; a count that reaches 0 is
 * taken out, so the map holds only keys that count something. The sum
 * is worked out wide, so no delta and no count can wrap it.
 */
void
idmap_count_add(struct idmap *m, uint64_t key, int delta)
{
	int64_t	 n = (int64_t)idmap_count(m, key) + delta;

	if (n < 0)
		fatalx("idmap_count_add: count of %llu would go below zero",
		    (unsigned long long)key);
	if (n > UINT_MAX)
		fatalx("idmap_count_add: count of %llu would overflow",
		    (unsigned long long)key);
	if (n == 0)
		idmap_remove(m, key);
	else
		idmap_put(m, key, (void *)(uintptr_t)n);
}

/* Empty the map, calling fn on each value first when fn is set. */
void
idmap_clear(struct idmap *m, void (*fn)(void *))
{
	struct idmap_entry	*e, *next;
	u_int			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			if (fn != NULL)
				fn(e->value);
			free(e);
		}
	}
	free(m->buckets);
	memset(m, 0, sizeof *m);
}
