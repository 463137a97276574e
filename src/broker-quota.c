/*
 * Tiers and quotas: which [quota:NAME] a user's groups give, the queue
 * class, and whether one more session or game fits in what the user and
 * the system hold. Each check returns the violation it would be, and a
 * separate function puts it in words for the player. No event loop.
 *
 * A user's tier is the highest-priority tier one of their Unix groups
 * names (the first such in the file on a tie), else [quota:default].
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker.h"

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
	if ((u_int)class >= CLASS_COUNT)
		fatalx("quota_class_name: %d", (int)class);
	return class_names[class];
}

/* May this user open one more session? V_NONE, or the violation. */
enum violation
quota_check_session(const struct config_quota *q,
    const struct quota_usage *use)
{
	if (use->sessions >= q->max_connections)
		return V_USER_CONNECTIONS;
	return V_NONE;
}

/*
 * May this user start one more game taking memory bytes? V_NONE, or the
 * first limit it would pass: the user's PTYs, the system's, the user's
 * memory, the system's.
 */
enum violation
quota_check_lease(const struct config_quota *q, const struct config *cfg,
    const struct quota_usage *use, uint64_t memory)
{
	if (use->ptys >= q->max_ptys)
		return V_USER_PTYS;
	if (use->sys_ptys >= cfg->limits_max_ptys)
		return V_PTYS_FULL;
	if (use->memory + memory > q->max_memory)
		return V_USER_MEMORY;
	if (use->sys_memory + memory > cfg->limits_max_memory)
		return V_MEMORY_FULL;
	return V_NONE;
}

/* A sentence for the player about a quota violation. */
char *
quota_explain(enum violation v, const struct config_quota *q,
    const struct config *cfg, const struct quota_usage *use,
    uint64_t memory)
{
	char	*s, *need, *have, *max;

	switch (v) {
	case V_USER_CONNECTIONS:
		xasprintf(&s, "You already have %u session%s open and your "
		    "tier (%s) allows %u; close one and try again.",
		    use->sessions, use->sessions == 1 ? "" : "s", q->name,
		    q->max_connections);
		return s;
	case V_USER_PTYS:
		xasprintf(&s, "You already have %u game%s running and your "
		    "tier (%s) allows %u.", use->ptys, use->ptys == 1 ? "" : "s",
		    q->name, q->max_ptys);
		return s;
	case V_PTYS_FULL:
		xasprintf(&s, "DungeonGate is running as many games as it may "
		    "(%u); please try again later.", cfg->limits_max_ptys);
		return s;
	case V_USER_MEMORY:
		need = config_format_size(memory);
		have = config_format_size(use->memory);
		max = config_format_size(q->max_memory);
		xasprintf(&s, "This game needs %s of memory and your games "
		    "already hold %s of the %s your tier (%s) allows.", need,
		    have, max, q->name);
		free(need);
		free(have);
		free(max);
		return s;
	case V_MEMORY_FULL:
		return xstrdup("DungeonGate has no memory left for another "
		    "game; please try again later.");
	default:
		fatalx("quota_explain: %s", violation_name(v));
	}
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
