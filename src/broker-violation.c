/*
 * Violations: every refusal and every enforcement action, counted by
 * type. The names are the reasons the wire protocol gives. No event loop
 * here.
 */
#include "config.h"

#include <stdlib.h>

#include "broker.h"

static const char *violation_names[V_COUNT] = {
	"none",
	"user_connections",
	"user_ptys",
	"user_memory",
	"game_busy",
	"ptys_full",
	"ptys_exhausted",
	"memory_full",
	"queue_full",
	"queue_timeout",
	"fd_budget",
	"pending",
	"bandwidth",
	"cpu",
	"rate_limited",
	"overloaded",
	"watchers_full",
	"recording",
	"stream_gap",
};

/* A violation's name: its reason on the wire and its key in --status. */
const char *
violation_name(enum violation v)
{
	if ((u_int)v >= V_COUNT)
		fatalx("violation_name: %d", (int)v);
	return violation_names[v];
}

/* Count n of a violation. */
void
violations_add(struct violations *vs, enum violation v, uint64_t n)
{
	if (v == V_NONE || (u_int)v >= V_COUNT)
		fatalx("violations_add: %d", (int)v);
	vs->n[v] += n;
}

/* The counters as a JSON object, by name. */
json_t *
violations_json(const struct violations *vs)
{
	json_t	*o = json_object();
	u_int	 i;

	for (i = V_NONE + 1; i < V_COUNT; i++)
		json_object_set_new(o, violation_names[i],
		    json_integer((json_int_t)vs->n[i]));
	return o;
}
