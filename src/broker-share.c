/*
 * Bandwidth shares: each session may send its player its user's
 * max_bandwidth split over the user's sessions, within the system's
 * max_bandwidth split over all sessions. The broker pushes a share to a
 * session when it has moved by more than a twentieth from what that
 * session was last told.
 *
 * Finding who needs a push must not cost a walk of every session at
 * every admission. A user's split is remembered (share_ref) when it is
 * pushed to the user's sessions, and only when it has moved past the
 * hysteresis are that user's sessions looked at; likewise the system's
 * split, for everyone. A split moves by a twentieth only after the
 * number of sessions behind it has changed by about as much, so a walk
 * of n sessions comes at most once per n/20 admissions or releases.
 */
#include "config.h"

#include <stdlib.h>

#include "broker.h"

/* Has a share moved from what was sent by more than the hysteresis? */
static int
share_moved(uint64_t sent, uint64_t now)
{
	uint64_t	 slack = sent / BROKER_SHARE_HYSTERESIS;

	return sent == 0 || now > sent + slack || now + slack < sent;
}

/*
 * A split of at least a byte a second: more sessions than the limit has
 * bytes must not make every split look moved (0 means never sent).
 */
static uint64_t
share_at_least_one(uint64_t v)
{
	return v > 0 ? v : 1;
}

/* The user's quota split over their sessions. */
static uint64_t
share_user_part(struct broker *b, struct user *u)
{
	const struct config_quota	*q = user_tier(u, b->cfg);
	u_int				 n = pool_user(&b->pool, u->uid);

	return share_at_least_one(q->max_bandwidth / (n > 0 ? n : 1));
}

/* The system's limit split over every session. */
static uint64_t
share_system_part(struct broker *b)
{
	u_int	 n = b->pool.used;

	return share_at_least_one(b->cfg->limits_max_bandwidth /
	    (n > 0 ? n : 1));
}

/* A session's share now, in bytes per second (at least 1). */
uint64_t
share_of(struct broker *b, struct client *c)
{
	const struct config_quota	*q = user_tier(c->u, b->cfg);
	uint64_t			 share;

	share = quota_bandwidth_share(q->max_bandwidth,
	    pool_user(&b->pool, c->uid), b->cfg->limits_max_bandwidth,
	    b->pool.used);
	return share_at_least_one(share);
}

/* Tell a session its share if it has moved from what it was told. */
static void
share_push(struct broker *b, struct client *c)
{
	uint64_t	 share;

	if (c->state != CLIENT_SESSION || c->dead || !c->holds_slot)
		return;
	share = share_of(b, c);
	if (!share_moved(c->bandwidth, share))
		return;
	c->bandwidth = share;
	client_send(c, json_pack("{s:s, s:I}", "type", "limits", "bandwidth",
	    (json_int_t)share));
}

/* Look at each of a user's sessions. */
static void
share_push_user(struct broker *b, struct user *u)
{
	struct client	*c, *c1;

	u->share_ref = share_user_part(b, u);
	TAILQ_FOREACH_SAFE(c, &u->clients, user_entry, c1)
		share_push(b, c);
}

/* Look at every session (after a reload, or when the system's split moved). */
void
share_push_all(struct broker *b)
{
	struct client	*c, *c1;

	b->share_ref = share_system_part(b);
	TAILQ_FOREACH_SAFE(c, &b->clients, entry, c1) {
		c->u->share_ref = share_user_part(b, c->u);
		share_push(b, c);
	}
}

/* A user's count of sessions changed: push where a split has moved. */
static void
share_check(struct broker *b, struct user *u)
{
	if (share_moved(b->share_ref, share_system_part(b))) {
		share_push_all(b);
		return;
	}
	if (share_moved(u->share_ref, share_user_part(b, u)))
		share_push_user(b, u);
}

/* A session was admitted: it gets its share, and others may move. */
void
share_admitted(struct client *c)
{
	struct broker	*b = c->broker;

	share_push(b, c);
	share_check(b, c->u);
}

/* The user's tier changed (a new answer from policy): push their shares. */
void
share_user_changed(struct broker *b, struct user *u)
{
	share_push_user(b, u);
}

/* A session of the user was released: others may move. */
void
share_released(struct broker *b, struct user *u)
{
	share_check(b, u);
}
