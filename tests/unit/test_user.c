/*
 * Unit tests for the user cache: records by uid, what policy said and
 * until when it is trusted, admin rights and tier worked out from the
 * groups and the running configuration at each call (so a reload shows
 * at once), the connections attached to a record, the per-user request
 * rate over a clock the tests move, and the sweep that forgets records
 * nobody needs. Configurations are real files read by config_load.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker.h"
#include "config-text.h"
#include "dies.h"

#define HOUR	(3600LL * 1000)

/* A start that is not zero, as a monotonic clock's is not. */
#define T0	987654321LL

/* The name of the user's tier under cfg. */
static const char *
tier_name(const struct user *u, const struct config *cfg)
{
	const struct config_quota	*q;

	q = user_tier(u, cfg);
	assert_non_null(q);
	return q->name;
}

/* Set a user's policy from a list of group names, trusted until expires. */
static void
set_groups(struct user *u, const char *name, char *const *groups, u_int n,
    int64_t expires)
{
	char	 home[64];

	snprintf(home, sizeof home, "/home/%s", name);
	user_set_policy(u, name, home, groups, n, expires);
}

/* ---- records ----------------------------------------------------------- */

/* get adds an empty record once; find never adds. */
static void
test_users_get_find(void **state)
{
	struct users	 us;
	struct user	*a, *b;

	(void)state;
	users_init(&us);
	assert_null(users_find(&us, 1000));
	assert_int_equal(idmap_size(&us.by_uid), 0);
	a = users_get(&us, 1000);
	assert_non_null(a);
	assert_int_equal(a->uid, 1000);
	assert_int_equal(a->known, 0);
	assert_int_equal(a->unusable, 0);
	assert_null(a->name);
	assert_null(a->home);
	assert_int_equal(a->ngroups, 0);
	assert_int_equal(a->nclients, 0);
	assert_true(TAILQ_EMPTY(&a->clients));
	assert_int_equal(idmap_size(&us.by_uid), 1);
	assert_ptr_equal(users_get(&us, 1000), a);
	assert_int_equal(idmap_size(&us.by_uid), 1);

	b = users_get(&us, 0);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_int_equal(b->uid, 0);
	assert_int_equal(idmap_size(&us.by_uid), 2);
	assert_ptr_equal(users_find(&us, 0), b);
	assert_ptr_equal(users_find(&us, 1000), a);
	assert_null(users_find(&us, 1001));
	b = users_get(&us, (uid_t)-1);
	assert_ptr_equal(users_find(&us, (uid_t)-1), b);
	assert_int_equal(b->uid, (uid_t)-1);
	assert_int_equal(idmap_size(&us.by_uid), 3);
	/* A record never asked about is not trusted. */
	assert_int_equal(user_policy_valid(a, 0), 0);
	assert_int_equal(user_policy_valid(a, -1000), 0);
	assert_int_equal(user_policy_valid(a, T0), 0);

	users_free(&us);
	assert_int_equal(idmap_size(&us.by_uid), 0);
}

/* Policy is copied into the record and trusted until expires, exactly. */
static void
test_user_policy(void **state)
{
	struct users	 us;
	struct user	*u;
	char		 name[] = "alice", home[] = "/home/alice";
	char		 g1[] = "users", g2[] = "dgplayers";
	char		*groups[] = { g1, g2 };
	char		*others[] = { "dgvip" };

	(void)state;
	users_init(&us);
	u = users_get(&us, 1000);
	user_set_policy(u, name, home, groups, nitems(groups), T0 + 24 * HOUR);
	assert_int_equal(u->known, 1);
	assert_string_equal(u->name, "alice");
	assert_string_equal(u->home, "/home/alice");
	assert_int_equal(u->ngroups, 2);
	assert_string_equal(u->groups[0], "users");
	assert_string_equal(u->groups[1], "dgplayers");
	assert_int_equal(u->expires, T0 + 24 * HOUR);
	assert_int_equal(user_policy_valid(u, T0), 1);
	assert_int_equal(user_policy_valid(u, T0 + 24 * HOUR - 1), 1);
	assert_int_equal(user_policy_valid(u, T0 + 24 * HOUR), 0);
	assert_int_equal(user_policy_valid(u, T0 + 25 * HOUR), 0);

	/* The record keeps its own copies. */
	assert_ptr_not_equal(u->name, name);
	assert_ptr_not_equal(u->groups[0], g1);
	name[0] = 'X';
	home[1] = 'X';
	g1[0] = 'X';
	g2[0] = 'X';
	assert_string_equal(u->name, "alice");
	assert_string_equal(u->home, "/home/alice");
	assert_string_equal(u->groups[0], "users");
	assert_string_equal(u->groups[1], "dgplayers");

	/* Asked again later, with another answer: all of it replaced. */
	user_set_policy(u, "alice2", "/srv/alice", others, 1, T0 + 200 * HOUR);
	assert_string_equal(u->name, "alice2");
	assert_string_equal(u->home, "/srv/alice");
	assert_int_equal(u->ngroups, 1);
	assert_string_equal(u->groups[0], "dgvip");
	assert_int_equal(user_policy_valid(u, T0 + 200 * HOUR - 1), 1);
	assert_int_equal(user_policy_valid(u, T0 + 200 * HOUR), 0);

	/* No groups at all is an answer too. */
	user_set_policy(u, "alice3", "/", NULL, 0, T0 + HOUR);
	assert_int_equal(u->ngroups, 0);
	assert_int_equal(u->known, 1);
	assert_int_equal(user_policy_valid(u, T0), 1);
	users_free(&us);
}

/* Forgetting policy distrusts the record and drops its groups, not its name. */
static void
test_user_forget_policy(void **state)
{
	struct config	*cfg;
	struct users	 us;
	struct user	*u, *root;
	char		*groups[] = { "dgadmin", "dgvip" };

	(void)state;
	cfg = config_from_text_ok("");
	users_init(&us);
	u = users_get(&us, 1000);
	set_groups(u, "alice", groups, nitems(groups), T0 + HOUR);
	assert_int_equal(user_is_admin(u, cfg), 1);
	assert_string_equal(tier_name(u, cfg), "vip");

	user_forget_policy(u);
	assert_int_equal(u->known, 0);
	assert_int_equal(user_policy_valid(u, T0), 0);
	assert_int_equal(u->ngroups, 0);
	assert_null(u->groups);
	/* The name stays for the logs of connections still open. */
	assert_string_equal(u->name, "alice");
	/* Nothing policy said stands: no rights, the default tier. */
	assert_int_equal(user_is_admin(u, cfg), 0);
	assert_string_equal(tier_name(u, cfg), "default");

	/* Root stays root whatever policy says. */
	root = users_get(&us, 0);
	assert_int_equal(user_is_admin(root, cfg), 1);
	set_groups(root, "root", groups + 1, 1, T0 + HOUR);
	user_forget_policy(root);
	assert_int_equal(user_is_admin(root, cfg), 1);

	/* Told again, trusted again. */
	set_groups(u, "alice", groups, nitems(groups), T0 + HOUR);
	assert_int_equal(user_policy_valid(u, T0), 1);
	assert_int_equal(user_is_admin(u, cfg), 1);
	users_free(&us);
	config_free(cfg);
}

/* ---- rights and tiers under the running configuration ------------------ */

/* Admin: root, or a member of admin_group by its whole name. */
static void
test_user_is_admin(void **state)
{
	struct config	*cfg;
	struct users	 us;
	struct user	*u;
	char		*admin[] = { "users", "dgadmin" };
	char		*near[] = {
		"dgadmi", "dgadminx", "DGADMIN", "dgadmin "
	};
	char		*none[] = { "users" };

	(void)state;
	cfg = config_from_text_ok("");
	assert_string_equal(cfg->broker_admin_group, "dgadmin");
	users_init(&us);

	/* Unknown records: only root. */
	assert_int_equal(user_is_admin(users_get(&us, 0), cfg), 1);
	assert_int_equal(user_is_admin(users_get(&us, 1000), cfg), 0);

	u = users_get(&us, 1000);
	set_groups(u, "alice", admin, nitems(admin), T0 + HOUR);
	assert_int_equal(user_is_admin(u, cfg), 1);
	set_groups(u, "alice", near, nitems(near), T0 + HOUR);
	assert_int_equal(user_is_admin(u, cfg), 0);
	set_groups(u, "alice", none, nitems(none), T0 + HOUR);
	assert_int_equal(user_is_admin(u, cfg), 0);
	set_groups(u, "alice", NULL, 0, T0 + HOUR);
	assert_int_equal(user_is_admin(u, cfg), 0);
	users_free(&us);
	config_free(cfg);
}

/* A reload that changes admin_group changes an existing record's rights. */
static void
test_user_admin_follows_reload(void **state)
{
	struct config	*before, *after;
	struct users	 us;
	struct user	*alice, *bob;
	char		*ga[] = { "dgadmin", "users" };
	char		*gb[] = { "staff", "users" };

	(void)state;
	before = config_from_text_ok("");
	after = config_from_text_ok("[broker]\nadmin_group = staff\n");
	users_init(&us);
	alice = users_get(&us, 1000);
	set_groups(alice, "alice", ga, nitems(ga), T0 + HOUR);
	bob = users_get(&us, 1001);
	set_groups(bob, "bob", gb, nitems(gb), T0 + HOUR);

	assert_int_equal(user_is_admin(alice, before), 1);
	assert_int_equal(user_is_admin(bob, before), 0);
	/* The same records, nothing asked again: the new file decides. */
	assert_int_equal(user_is_admin(alice, after), 0);
	assert_int_equal(user_is_admin(bob, after), 1);
	/* And back. */
	assert_int_equal(user_is_admin(alice, before), 1);
	assert_int_equal(user_is_admin(bob, before), 0);
	/* The queue class follows: critical for admins only. */
	assert_int_equal(quota_class(user_is_admin(bob, after),
	    user_tier(bob, after)->priority), CLASS_CRITICAL);
	assert_int_equal(quota_class(user_is_admin(bob, before),
	    user_tier(bob, before)->priority), CLASS_NORMAL);
	users_free(&us);
	config_free(after);
	config_free(before);
}

/* A reload that changes a tier's groups changes an existing record's tier. */
static void
test_user_tier_follows_reload(void **state)
{
	struct config	*one, *two, *three;
	struct users	 us;
	struct user	*u, *v;
	char		*gu[] = { "users", "goldies" };
	char		*gv[] = { "dgvip" };

	(void)state;
	one = config_from_text_ok("[quota:gold]\ngroups = goldies\npriority = 8\n"
	    "max_connections = 3\n");
	/* goldies no longer gold; dgvip now gold, above vip. */
	two = config_from_text_ok("[quota:gold]\ngroups = dgvip\npriority = 8\n");
	/* No gold tier at all, and vip for the goldies. */
	three = config_from_text_ok("[quota:vip]\ngroups = goldies\n");
	users_init(&us);
	u = users_get(&us, 1000);
	set_groups(u, "alice", gu, nitems(gu), T0 + HOUR);
	v = users_get(&us, 1001);
	set_groups(v, "bob", gv, nitems(gv), T0 + HOUR);

	assert_string_equal(tier_name(u, one), "gold");
	assert_int_equal(user_tier(u, one)->max_connections, 3);
	assert_string_equal(tier_name(v, one), "vip");
	assert_string_equal(tier_name(u, two), "default");
	assert_string_equal(tier_name(v, two), "gold");
	assert_string_equal(tier_name(u, three), "vip");
	assert_string_equal(tier_name(v, three), "default");
	/* The tier is the running file's own, not a copy from before. */
	assert_ptr_equal(user_tier(u, three), config_find_quota(three, "vip"));
	assert_ptr_equal(user_tier(u, one), config_find_quota(one, "gold"));
	/* A record policy never answered for gets the default tier. */
	assert_string_equal(tier_name(users_get(&us, 1002), one), "default");
	users_free(&us);
	config_free(three);
	config_free(two);
	config_free(one);
}

/* ---- connections ------------------------------------------------------- */

/* Connections attach to and detach from their user, in any order. */
static void
test_user_attach_detach(void **state)
{
	struct users	 us;
	struct user	*u;
	struct client	 c[3];
	struct client	*cp;
	u_int		 i;

	(void)state;
	memset(c, 0, sizeof c);
	users_init(&us);
	u = users_get(&us, 1000);
	for (i = 0; i < nitems(c); i++) {
		c[i].id = i + 1;
		user_attach(u, &c[i]);
		assert_int_equal(u->nclients, i + 1);
	}
	i = 0;
	TAILQ_FOREACH(cp, &u->clients, user_entry)
		assert_ptr_equal(cp, &c[i++]);
	assert_int_equal(i, 3);

	/* The middle one leaves; the others stay, in order. */
	user_detach(u, &c[1]);
	assert_int_equal(u->nclients, 2);
	assert_ptr_equal(TAILQ_FIRST(&u->clients), &c[0]);
	assert_ptr_equal(TAILQ_NEXT(&c[0], user_entry), &c[2]);
	assert_null(TAILQ_NEXT(&c[2], user_entry));
	user_detach(u, &c[2]);
	user_detach(u, &c[0]);
	assert_int_equal(u->nclients, 0);
	assert_true(TAILQ_EMPTY(&u->clients));
	/* And again. */
	user_attach(u, &c[1]);
	assert_int_equal(u->nclients, 1);
	user_detach(u, &c[1]);
	users_free(&us);
}

struct detach_arg {
	struct user	*u;
	struct client	*c;
};

/* Child: detach a connection. */
static void
detach_cb(void *arg)
{
	struct detach_arg	*da = arg;

	user_detach(da->u, da->c);
}

/* Detaching from a user with no connections is a broken invariant. */
static void
test_user_detach_none(void **state)
{
	struct users		 us;
	struct client		 c;
	struct detach_arg	 da;

	(void)state;
	memset(&c, 0, sizeof c);
	users_init(&us);
	da.u = users_get(&us, 1234);
	da.c = &c;
	assert_dies(detach_cb, &da, "user_detach: uid 1234 has no connections");
	user_attach(da.u, &c);
	user_detach(da.u, &c);
	assert_dies(detach_cb, &da, "user_detach: uid 1234 has no connections");
	users_free(&us);
}

/* ---- request rate ------------------------------------------------------ */

/* Make requests at now until one is refused; returns how many passed. */
static u_int
requests_until_refused(struct user *u, const struct config *cfg, int64_t now,
    u_int most)
{
	u_int	 n = 0;

	while (n < most && user_request_allowed(u, cfg, now))
		n++;
	return n;
}

/*
 * A new record for uid with these groups whose bucket was used up at T0
 * (each check of a bucket moves its clock, so a test of when the next
 * request passes needs a bucket no one has looked at since).
 */
static struct user *
used_up(struct users *us, uid_t uid, char *const *groups, u_int ngroups,
    const struct config *cfg, u_int burst)
{
	struct user	*u;

	u = users_get(us, uid);
	set_groups(u, "someone", groups, ngroups, T0 + 24 * HOUR);
	assert_int_equal(requests_until_refused(u, cfg, T0, 100000), burst);
	assert_int_equal(user_request_allowed(u, cfg, T0), 0);
	return u;
}

/* A player: a burst of BROKER_ADMIN_BURST, then BROKER_ADMIN_RATE a second. */
static void
test_user_requests_player(void **state)
{
	struct config	*cfg;
	struct users	 us;
	struct user	*u;
	char		*groups[] = { "users" };
	int64_t		 t, every = 1000 / BROKER_ADMIN_RATE;
	u_int		 i;

	(void)state;
	cfg = config_from_text_ok("");
	users_init(&us);

	/* One more a 1/rate later, not a millisecond sooner. */
	u = used_up(&us, 1000, groups, 1, cfg, BROKER_ADMIN_BURST);
	assert_int_equal(user_request_allowed(u, cfg, T0 + every - 1), 0);
	u = used_up(&us, 1001, groups, 1, cfg, BROKER_ADMIN_BURST);
	assert_int_equal(user_request_allowed(u, cfg, T0 + every), 1);
	assert_int_equal(user_request_allowed(u, cfg, T0 + every), 0);

	/* Ten seconds at the rate: the rate's worth passes, no more. */
	t = T0 + every;
	for (i = 0; i < 10 * BROKER_ADMIN_RATE; i++) {
		t += every;
		assert_int_equal(user_request_allowed(u, cfg, t), 1);
		assert_int_equal(user_request_allowed(u, cfg, t), 0);
	}

	/* Two seconds quiet: two seconds' worth. */
	t += 2000;
	assert_int_equal(requests_until_refused(u, cfg, t, 1000),
	    2 * BROKER_ADMIN_RATE);

	/* A long quiet spell refills to the burst, not beyond. */
	t += 3600 * 1000;
	assert_int_equal(requests_until_refused(u, cfg, t, 1000),
	    BROKER_ADMIN_BURST);
	users_free(&us);
	config_free(cfg);
}

/* An admin: the bigger bucket, BROKER_ADMIN_BURST_ADMIN at _RATE_ADMIN. */
static void
test_user_requests_admin(void **state)
{
	struct config	*cfg;
	struct users	 us;
	struct user	*u;
	char		*groups[] = { "dgadmin" };
	int64_t		 every = 1000 / BROKER_ADMIN_RATE_ADMIN;

	(void)state;
	assert_true(BROKER_ADMIN_BURST_ADMIN > BROKER_ADMIN_BURST);
	assert_true(BROKER_ADMIN_RATE_ADMIN > BROKER_ADMIN_RATE);
	cfg = config_from_text_ok("");
	users_init(&us);
	u = used_up(&us, 1000, groups, 1, cfg, BROKER_ADMIN_BURST_ADMIN);
	assert_int_equal(user_request_allowed(u, cfg, T0 + every - 1), 0);
	u = used_up(&us, 1001, groups, 1, cfg, BROKER_ADMIN_BURST_ADMIN);
	assert_int_equal(user_request_allowed(u, cfg, T0 + every), 1);
	assert_int_equal(user_request_allowed(u, cfg, T0 + every), 0);
	/* One second refills the rate's worth. */
	assert_int_equal(requests_until_refused(u, cfg, T0 + every + 1000,
	    10000), BROKER_ADMIN_RATE_ADMIN);

	/* Root is an admin without any policy. */
	u = users_get(&us, 0);
	assert_int_equal(requests_until_refused(u, cfg, T0, 10000),
	    BROKER_ADMIN_BURST_ADMIN);
	users_free(&us);
	config_free(cfg);
}

/* Each user has a bucket of their own. */
static void
test_user_requests_separate(void **state)
{
	struct config	*cfg;
	struct users	 us;
	struct user	*a, *b;

	(void)state;
	cfg = config_from_text_ok("");
	users_init(&us);
	a = users_get(&us, 1000);
	b = users_get(&us, 1001);
	assert_int_equal(requests_until_refused(a, cfg, T0, 1000),
	    BROKER_ADMIN_BURST);
	assert_int_equal(requests_until_refused(b, cfg, T0, 1000),
	    BROKER_ADMIN_BURST);
	assert_int_equal(user_request_allowed(a, cfg, T0), 0);
	users_free(&us);
	config_free(cfg);
}

/* A change of rights, by a reload, takes the bucket of the new rights. */
static void
test_user_requests_rights_change(void **state)
{
	struct config	*player, *admin;
	struct users	 us;
	struct user	*u;
	char		*groups[] = { "staff" };

	(void)state;
	player = config_from_text_ok("");
	admin = config_from_text_ok("[broker]\nadmin_group = staff\n");
	users_init(&us);
	u = users_get(&us, 1000);
	set_groups(u, "alice", groups, 1, T0 + 24 * HOUR);

	/* A player who has used up the bucket... */
	assert_int_equal(requests_until_refused(u, player, T0, 1000),
	    BROKER_ADMIN_BURST);
	assert_int_equal(user_request_allowed(u, player, T0), 0);
	/* ...made an admin: the admin's bucket, at once. */
	assert_int_equal(requests_until_refused(u, admin, T0, 10000),
	    BROKER_ADMIN_BURST_ADMIN);
	assert_int_equal(user_request_allowed(u, admin, T0), 0);
	/* Back to a player: the player's bucket, not what an admin had. */
	assert_int_equal(requests_until_refused(u, player, T0 + 1, 10000),
	    BROKER_ADMIN_BURST);
	assert_int_equal(user_request_allowed(u, player, T0 + 1), 0);
	users_free(&us);
	config_free(admin);
	config_free(player);
}

/* ---- sweep ------------------------------------------------------------- */

/* Sweep frees records without connections whose policy lapsed, no others. */
static void
test_users_sweep(void **state)
{
	struct users	 us;
	struct user	*fresh, *stale, *held, *unknown, *heldok;
	struct client	 c[3];
	int64_t		 later = T0 + 24 * HOUR;

	(void)state;
	memset(c, 0, sizeof c);
	users_init(&us);
	fresh = users_get(&us, 1);
	set_groups(fresh, "fresh", NULL, 0, later + 10);
	stale = users_get(&us, 2);
	set_groups(stale, "stale", NULL, 0, later);
	held = users_get(&us, 3);
	set_groups(held, "held", NULL, 0, later);
	user_attach(held, &c[0]);
	user_attach(held, &c[1]);
	unknown = users_get(&us, 4);
	assert_int_equal(unknown->known, 0);
	heldok = users_get(&us, 5);
	set_groups(heldok, "heldok", NULL, 0, later + 10);
	user_attach(heldok, &c[2]);
	assert_int_equal(idmap_size(&us.by_uid), 5);

	/* Just before stale's policy lapses only the unknown one goes. */
	users_sweep(&us, later - 1, 0);
	assert_int_equal(idmap_size(&us.by_uid), 4);
	assert_null(users_find(&us, 4));
	assert_ptr_equal(users_find(&us, 2), stale);

	users_sweep(&us, later, 0);
	assert_int_equal(idmap_size(&us.by_uid), 3);
	assert_ptr_equal(users_find(&us, 1), fresh);
	assert_null(users_find(&us, 2));
	assert_ptr_equal(users_find(&us, 3), held);
	assert_ptr_equal(users_find(&us, 5), heldok);
	assert_int_equal(user_policy_valid(fresh, later), 1);
	assert_int_equal(user_policy_valid(heldok, later), 1);
	/* A record with connections stays even with its policy lapsed. */
	assert_int_equal(user_policy_valid(held, later), 0);

	/* After a reload: every policy forgotten, only held records stay. */
	users_sweep(&us, later + 1, 1);
	assert_int_equal(idmap_size(&us.by_uid), 2);
	assert_null(users_find(&us, 1));
	assert_ptr_equal(users_find(&us, 3), held);
	assert_ptr_equal(users_find(&us, 5), heldok);
	assert_int_equal(user_policy_valid(heldok, later + 1), 0);
	assert_int_equal(user_policy_valid(held, later + 1), 0);
	/* What they hold is untouched. */
	assert_int_equal(held->nclients, 2);
	assert_ptr_equal(TAILQ_FIRST(&held->clients), &c[0]);
	assert_string_equal(held->name, "held");

	/* One connection left is enough to stay. */
	user_detach(held, &c[0]);
	users_sweep(&us, later + 2, 0);
	assert_ptr_equal(users_find(&us, 3), held);

	/* Let go, they are swept too. */
	user_detach(held, &c[1]);
	user_detach(heldok, &c[2]);
	users_sweep(&us, later + 3, 0);
	assert_int_equal(idmap_size(&us.by_uid), 0);
	users_free(&us);
}

/* A reload's sweep keeps a trusted record with connections, untrusted. */
static void
test_users_sweep_reload_distrusts(void **state)
{
	struct config	*cfg;
	struct users	 us;
	struct user	*u;
	struct client	 c;
	char		*groups[] = { "dgadmin" };

	(void)state;
	memset(&c, 0, sizeof c);
	cfg = config_from_text_ok("");
	users_init(&us);
	u = users_get(&us, 1000);
	set_groups(u, "alice", groups, 1, T0 + 24 * HOUR);
	user_attach(u, &c);
	users_sweep(&us, T0, 1);
	assert_ptr_equal(users_find(&us, 1000), u);
	/* Asked again at the next decision... */
	assert_int_equal(user_policy_valid(u, T0), 0);
	/* ...and until then the groups it had still decide. */
	assert_int_equal(user_is_admin(u, cfg), 1);
	/* An expiry already past is not moved later. */
	set_groups(u, "alice", groups, 1, T0 - 5);
	users_sweep(&us, T0, 1);
	assert_int_equal(u->expires, T0 - 5);
	user_detach(u, &c);
	users_sweep(&us, T0, 0);
	assert_null(users_find(&us, 1000));
	users_free(&us);
	config_free(cfg);
}

/* Many records, a few held: the sweep keeps exactly those. */
static void
test_users_sweep_many(void **state)
{
	struct users	 us;
	struct user	*u;
	struct client	*c;
	uid_t		 uid;
	u_int		 n = 3000;

	(void)state;
	users_init(&us);
	c = xcalloc(n, sizeof *c);
	for (uid = 0; uid < n; uid++) {
		u = users_get(&us, 100000 + uid);
		if (uid % 3 != 0)
			set_groups(u, "x", NULL, 0, T0 + (uid % 2 ? 0 : HOUR));
		if (uid % 7 == 0)
			user_attach(u, &c[uid]);
	}
	users_sweep(&us, T0, 0);
	for (uid = 0; uid < n; uid++) {
		u = users_find(&us, 100000 + uid);
		/* Kept: held, or known and still trusted. */
		if (uid % 7 == 0 || (uid % 3 != 0 && uid % 2 == 0))
			assert_non_null(u);
		else if (u != NULL)
			fail_msg("uid %u kept", 100000 + uid);
		if (uid % 7 == 0)
			user_detach(u, &c[uid]);
	}
	users_free(&us);
	free(c);
}

/* Freeing releases records with policy and without. */
static void
test_users_free(void **state)
{
	struct users	 us;
	struct user	*u;
	uid_t		 uid;
	char		*groups[] = { "a", "b", "c" };

	(void)state;
	users_init(&us);
	for (uid = 100; uid < 150; uid++) {
		u = users_get(&us, uid);
		if (uid % 2 == 0)
			set_groups(u, "x", groups, uid % 4, T0);
		if (uid % 5 == 0)
			user_forget_policy(u);
	}
	assert_int_equal(idmap_size(&us.by_uid), 50);
	users_free(&us);
	assert_int_equal(idmap_size(&us.by_uid), 0);
	/* Usable again. */
	assert_non_null(users_get(&us, 1));
	users_free(&us);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_get_find),
		cmocka_unit_test(test_user_policy),
		cmocka_unit_test(test_user_forget_policy),
		cmocka_unit_test(test_user_is_admin),
		cmocka_unit_test(test_user_admin_follows_reload),
		cmocka_unit_test(test_user_tier_follows_reload),
		cmocka_unit_test(test_user_attach_detach),
		cmocka_unit_test(test_user_detach_none),
		cmocka_unit_test(test_user_requests_player),
		cmocka_unit_test(test_user_requests_admin),
		cmocka_unit_test(test_user_requests_separate),
		cmocka_unit_test(test_user_requests_rights_change),
		cmocka_unit_test(test_users_sweep),
		cmocka_unit_test(test_users_sweep_reload_distrusts),
		cmocka_unit_test(test_users_sweep_many),
		cmocka_unit_test(test_users_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
