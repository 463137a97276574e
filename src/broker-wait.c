/*
 * The queue's side on the event loop: a timer for the earliest deadline,
 * which refuses those who waited queue_timeout, and the places and
 * estimates that queued sessions are told. Telling is batched: a change
 * of the queue schedules one pass a moment later, and a pass runs at
 * least once a second while anyone waits, so its cost does not grow
 * with how often the queue changes.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "broker.h"

/* What one telling pass needs. */
struct wait_tell {
	struct broker	*broker;
	int64_t		 now;
};

/* Tell one queued session its place and estimate, when they changed. */
static void
wait_tell_one(const struct qentry *e, u_int pos, void *arg)
{
	struct wait_tell	*wt = arg;
	struct broker		*b = wt->broker;
	struct client		*c;
	int			 eta;

	if ((c = client_find(b, e->client)) == NULL || c->dead)
		return;
	eta = queue_eta(&b->queue, pos, wt->now);
	if (pos == c->queue_pos && eta == c->queue_eta)
		return;
	c->queue_pos = pos;
	c->queue_eta = eta;
	client_send(c, json_pack("{s:s, s:i, s:i, s:s, s:i}", "type", "queued",
	    "position", (int)pos, "eta", eta, "class",
	    quota_class_name(c->class), "online", (int)b->pool.used));
}

/* Arm the deadline timer for the earliest entry, and the next pass. */
static void
wait_schedule(struct broker *b, int64_t tell_ms)
{
	struct timeval	 tv;
	int64_t		 next, now;

	if ((next = queue_next_deadline(&b->queue)) == -1) {
		evtimer_del(b->queue_timer);
		evtimer_del(b->queue_tell);
		return;
	}
	now = util_now_ms();
	tv = util_timeval_ms(next - now);
	evtimer_add(b->queue_timer, &tv);
	/* A pass comes within tell_ms: sooner than a later one pending. */
	if (!evtimer_pending(b->queue_tell, NULL) ||
	    b->queue_tell_at > now + tell_ms) {
		tv = util_timeval_ms(tell_ms);
		evtimer_add(b->queue_tell, &tv);
		b->queue_tell_at = now + tell_ms;
	}
}

/* A pass: every queued session hears its place, in one walk. */
static void
wait_tell_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker		*b = arg;
	struct wait_tell	 wt = { b, util_now_ms() };

	queue_walk(&b->queue, wait_tell_one, &wt);
	wait_schedule(b, BROKER_QUEUE_TICK_MS);
}

/* The queue changed: tell who waits soon, and rearm the deadline. */
void
wait_changed(struct broker *b)
{
	wait_schedule(b, BROKER_QUEUE_TELL_MS);
}

/* Deadlines passed: refuse those who waited queue_timeout. */
static void
wait_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker	*b = arg;
	struct client	*c;
	uint64_t	 id;
	char		*d, *message;

	d = config_format_duration(b->cfg->pool_queue_timeout);
	xasprintf(&message, "DungeonGate stayed full for %s; please try again "
	    "in a moment.", d);
	while ((id = queue_expire(&b->queue, util_now_ms())) != 0) {
		if ((c = client_find(b, id)) == NULL)
			continue;
		/* Out of the queue already: closing must not take it again. */
		client_set_state(c, CLIENT_NEW);
		admit_refuse(c, V_QUEUE_TIMEOUT, message);
	}
	free(message);
	free(d);
	wait_changed(b);
}

/* Set up the queue and its timers. */
void
wait_init(struct broker *b)
{
	queue_init(&b->queue, b->cfg->pool_queue_size,
	    b->cfg->pool_enable_prioritization);
	b->queue_timer = evtimer_new(b->base, wait_timer_cb, b);
	b->queue_tell = evtimer_new(b->base, wait_tell_cb, b);
}

/* Free the queue and its timers. */
void
wait_free(struct broker *b)
{
	queue_free(&b->queue);
	event_free(b->queue_timer);
	event_free(b->queue_tell);
}
