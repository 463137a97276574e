/*
 * The user cache: what policy said of each uid (name, home, the names of
 * its groups) and until when to trust it, and which connections are open
 * as that uid. Tier and admin rights are not stored: they are worked out
 * from the groups and the running configuration at each decision, so a
 * reload that changes admin_group or a tier shows in the next one.
 * No event loop here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* An empty cache. */
void
users_init(struct users *us)
{
	idmap_init(&us->by_uid);
}

/* Find a user by uid. */
struct user *
users_find(const struct users *us, uid_t uid)
{
	return idmap_get(&us->by_uid, uid);
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
	TAILQ_INIT(&u->clients);
	idmap_put(&us->by_uid, uid, u);
	return u;
}

/* Free the group names a record holds. */
static void
user_free_groups(struct user *u)
{
	u_int	 i;

	for (i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	u->groups = NULL;
	u->ngroups = 0;
}

/* Record what policy said of a user, trusted until expires. */
void
user_set_policy(struct user *u, const char *name, const char *home,
    char *const *groups, u_int ngroups, int64_t expires)
{
	u_int	 i;

	free(u->name);
	free(u->home);
	user_free_groups(u);
	u->name = xstrdup(name);
	u->home = xstrdup(home);
	u->groups = xcalloc(ngroups + 1, sizeof *u->groups);
	for (i = 0; i < ngroups; i++)
		u->groups[i] = xstrdup(groups[i]);
	u->ngroups = ngroups;
	u->expires = expires;
	u->known = 1;
	u->unusable = 0;
}

/*
 * The account is gone or unusable: nothing policy said of it stands.
 * The name stays for the connections that still use it in their logs.
 */
void
user_forget_policy(struct user *u)
{
	u->known = 0;
	u->expires = 0;
	user_free_groups(u);
}

/* Is what policy said of this user still to be trusted? */
int
user_policy_valid(const struct user *u, int64_t now)
{
	return u->known && now < u->expires;
}

/* Root, or a member of the running configuration's admin_group. */
int
user_is_admin(const struct user *u, const struct config *cfg)
{
	u_int	 i;

	if (u->uid == 0)
		return 1;
	if (!u->known)
		return 0;
	for (i = 0; i < u->ngroups; i++) {
		if (strcmp(u->groups[i], cfg->broker_admin_group) == 0)
			return 1;
	}
	return 0;
}

/*
 * The user's tier under the running configuration: the one the auth
 * service gave, while the configuration still has it, else the one the
 * user's groups give.
 */
const struct config_quota *
user_tier(const struct user *u, const struct config *cfg)
{
	const struct config_quota	*q;

	if (u->auth_tier != NULL &&
	    (q = config_find_quota(cfg, u->auth_tier)) != NULL)
		return q;
	return quota_tier(cfg, u->groups, u->known ? u->ngroups : 0);
}

/* Forget a verdict of the auth service. */
void
user_verdict_clear(struct auth_verdict *v)
{
	free(v->tier);
	free(v->reason);
	free(v->message);
	memset(v, 0, sizeof *v);
}

/* A connection is open as this user. */
void
user_attach(struct user *u, struct client *c)
{
	TAILQ_INSERT_TAIL(&u->clients, c, user_entry);
	u->nclients++;
}

/* A connection as this user has closed. */
void
user_detach(struct user *u, struct client *c)
{
	if (u->nclients == 0)
		fatalx("user_detach: uid %lu has no connections", (u_long)u->uid);
	TAILQ_REMOVE(&u->clients, c, user_entry);
	u->nclients--;
}

/*
 * May the user make one more health or status request now? Admins get a
 * bigger bucket than players; a change of rights takes the new bucket.
 */
int
user_request_allowed(struct user *u, const struct config *cfg, int64_t now)
{
	int	 admin = user_is_admin(u, cfg);

	if (u->requests.burst == 0 || admin != u->requests_admin) {
		if (admin)
			bucket_init_burst(&u->requests, BROKER_ADMIN_RATE_ADMIN,
			    BROKER_ADMIN_BURST_ADMIN, now);
		else
			bucket_init_burst(&u->requests, BROKER_ADMIN_RATE,
			    BROKER_ADMIN_BURST, now);
		u->requests_admin = admin;
	}
	if (bucket_available(&u->requests, now) < 1)
		return 0;
	bucket_spend(&u->requests, 1);
	return 1;
}

/* Free one record. */
static void
user_free(void *arg)
{
	struct user	*u = arg;

	free(u->name);
	free(u->home);
	user_free_groups(u);
	user_verdict_clear(&u->verdict);
	free(u->auth_tier);
	free(u);
}

/*
 * Forget users no connection points at and whose policy has lapsed (or
 * all policy, when forget_policy is set, as after a reload), unless the
 * auth service's verdict on them may still serve: it is kept for
 * USER_VERDICT_KEEP_MS past its expiry, a reload included.
 */
void
users_sweep(struct users *us, int64_t now, int forget_policy)
{
	struct idmap_cursor	 cur;
	struct user		*u;
	uint64_t		 uid;
	uid_t			*gone = NULL;
	u_int			 ngone = 0, i;
	void			*v;

	memset(&cur, 0, sizeof cur);
	while (idmap_next(&us->by_uid, &cur, &uid, &v)) {
		u = v;
		if (forget_policy && u->expires > now)
			u->expires = now;
		if (u->nclients == 0 && !user_policy_valid(u, now) &&
		    (!u->verdict.have ||
		    now >= u->verdict.expires + USER_VERDICT_KEEP_MS)) {
			gone = xreallocarray(gone, ngone + 1, sizeof *gone);
			gone[ngone++] = u->uid;
		}
	}
	for (i = 0; i < ngone; i++)
		user_free(idmap_remove(&us->by_uid, gone[i]));
	free(gone);
}

/* Free every record. */
void
users_free(struct users *us)
{
	idmap_clear(&us->by_uid, user_free);
}
