/*
 * Tiers and quotas: which [quota:NAME] a user gets, what they hold, and
 * whether one more session or game fits. No event loop here.
 *
 * A user's tier is the highest-priority tier one of their Unix groups
 * names (the first such in the file on a tie), else [quota:default].
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dungeongate.h"

static const char *class_names[] = { "low", "normal", "high", "critical" };

/* The tier a user with these group names gets. */
const struct config_quota *
quota_tier(const struct config *cfg, char *const *groups, u_int ngroups)
{
	const struct config_quota	*q, *best = NULL;
	u_int				 i, j, k;

	for (i = 0; i < cfg->nquotas; i++) {
		q = &cfg->quotas[i];
		for (j = 0; j < q->ngroups; j++) {
			for (k = 0; k < ngroups; k++) {
				if (strcmp(q->groups[j], groups[k]) == 0)
					break;
			}
			if (k != ngroups)
				break;
		}
		if (j == q->ngroups)
			continue;
		if (best == NULL || q->priority > best->priority)
			best = q;
	}
	if (best != NULL)
		return best;
	return config_find_quota(cfg, "default");
}

/* The queue class: critical for admins, then by the tier's priority. */
enum quota_class
quota_class(int is_admin, u_int priority)
{
	if (is_admin)
		return CLASS_CRITICAL;
	if (priority >= 5)
		return CLASS_HIGH;
	if (priority >= 1)
		return CLASS_NORMAL;
	return CLASS_LOW;
}

/* A class's name, for messages and --status. */
const char *
quota_class_name(enum quota_class class)
{
	return class_names[class];
}

/* Find a user by uid. */
struct user *
users_find(struct users *us, uid_t uid)
{
	struct user	*u;

	for (u = us->head; u != NULL; u = u->next) {
		if (u->uid == uid)
			return u;
	}
	return NULL;
}

/* Find a user by uid, adding an empty record when there is none. */
struct user *
users_get(struct users *us, uid_t uid)
{
	struct user	*u;

	if ((u = users_find(us, uid)) != NULL)
		return u;
	u = xcalloc(1, sizeof *u);
	u->uid = uid;
	u->next = us->head;
	us->head = u;
	us->count++;
	return u;
}

/* Record what policy said of a user, trusted until expires. */
void
user_set_policy(struct user *u, const char *name, const char *home,
    int is_admin, const struct config_quota *q, int64_t now)
{
	free(u->name);
	free(u->home);
	free(u->tier);
	u->name = xstrdup(name);
	u->home = xstrdup(home);
	u->is_admin = is_admin;
	u->tier = xstrdup(q->name);
	u->priority = q->priority;
	u->expires = now + (int64_t)q->expires_after;
	u->known = 1;
}

/* The account is gone or unusable: nothing policy said of it stands. */
void
user_forget_policy(struct user *u)
{
	u->known = 0;
	u->is_admin = 0;
	u->expires = 0;
}

/* Is what policy said of this user still to be trusted? */
int
user_policy_valid(const struct user *u, int64_t now)
{
	return u->known && now < u->expires;
}

/* Free one record. */
static void
user_free(struct user *u)
{
	free(u->name);
	free(u->home);
	free(u->tier);
	free(u);
}

/*
 * Forget users no connection points at and whose policy has lapsed (or
 * all policy, when forget_policy is set, as after a reload).
 */
void
users_sweep(struct users *us, int64_t now, int forget_policy)
{
	struct user	**up, *u;

	for (up = &us->head; (u = *up) != NULL;) {
		if (forget_policy)
			u->expires = now;
		if (u->refs == 0 && !user_policy_valid(u, now)) {
			*up = u->next;
			us->count--;
			user_free(u);
			continue;
		}
		up = &u->next;
	}
}

/* Free every record. */
void
users_free(struct users *us)
{
	struct user	*u;

	while ((u = us->head) != NULL) {
		us->head = u->next;
		user_free(u);
	}
	us->count = 0;
}

/*
 * May this user open one more session? Returns 0, or -1 with a reason
 * code and a sentence for the player.
 */
int
quota_check_session(const struct user *u, const struct config_quota *q,
    const char **reason, char **message)
{
	if (u->sessions + u->queued >= q->max_connections) {
		*reason = "user_connections";
		xasprintf(message, "You already have %u session%s open and "
		    "your tier (%s) allows %u; close one and try again.",
		    u->sessions + u->queued,
		    u->sessions + u->queued == 1 ? "" : "s", q->name,
		    q->max_connections);
		return -1;
	}
	return 0;
}

/*
 * May this user start one more game taking memory bytes, with the system
 * holding ptys games and sys_memory bytes? Returns 0, or -1 with a
 * reason code and a sentence for the player.
 */
int
quota_check_lease(const struct user *u, const struct config_quota *q,
    const struct config *cfg, u_int ptys, uint64_t sys_memory,
    uint64_t memory, const char **reason, char **message)
{
	char	*need, *have, *max;

	if (u->ptys >= q->max_ptys) {
		*reason = "user_ptys";
		xasprintf(message, "You already have %u game%s running and "
		    "your tier (%s) allows %u.", u->ptys,
		    u->ptys == 1 ? "" : "s", q->name, q->max_ptys);
		return -1;
	}
	if (ptys >= cfg->limits_max_ptys) {
		*reason = "ptys_full";
		xasprintf(message, "DungeonGate is running as many games as it "
		    "may (%u); please try again later.", cfg->limits_max_ptys);
		return -1;
	}
	if (u->memory + memory > q->max_memory) {
		*reason = "user_memory";
		need = config_format_size(memory);
		have = config_format_size(u->memory);
		max = config_format_size(q->max_memory);
		xasprintf(message, "This game needs %s of memory and your games "
		    "already hold %s of the %s your tier (%s) allows.", need,
		    have, max, q->name);
		free(need);
		free(have);
		free(max);
		return -1;
	}
	if (sys_memory + memory > cfg->limits_max_memory) {
		*reason = "memory_full";
		xasprintf(message, "DungeonGate has no memory left for another "
		    "game; please try again later.");
		return -1;
	}
	return 0;
}

/*
 * A session's share of bandwidth in bytes per second: the user's quota
 * split over their sessions, held within the system's limit split over
 * all sessions.
 */
uint64_t
quota_bandwidth_share(uint64_t user_max, u_int user_sessions,
    uint64_t system_max, u_int system_sessions)
{
	uint64_t	 mine, fair;

	mine = user_max / (user_sessions > 0 ? user_sessions : 1);
	fair = system_max / (system_sessions > 0 ? system_sessions : 1);
	return mine < fair ? mine : fair;
}
