/*
 * Unit tests for tiers and quotas: which [quota:NAME] a user's groups
 * give, the queue class, the user records and how long their policy is
 * trusted, and the session, game and bandwidth arithmetic exactly at
 * each limit. Configurations are real files read by config_load.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

#define KB	1024ULL
#define MB	(1024ULL * KB)
#define GB	(1024ULL * MB)
#define HOUR	(3600LL * 1000)

/* Load text as a configuration file that must be accepted. */
static struct config *
load_ok(const char *text)
{
	struct config	*cfg;
	char		 path[] = "/tmp/dg-test-quota-XXXXXX";
	char		*cause = NULL;
	FILE		*f;
	int		 fd;

	fd = mkstemp(path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	cfg = config_load(path, &cause);
	unlink(path);
	if (cfg == NULL) {
		print_error("refused:\n%s\ncause: %s\n", text,
		    cause != NULL ? cause : "(none)");
		free(cause);
		fail_msg("a good configuration was refused");
	}
	assert_null(cause);
	return cfg;
}

/* A tier that must exist. */
static const struct config_quota *
tier(const struct config *cfg, const char *name)
{
	const struct config_quota	*q;

	q = config_find_quota(cfg, name);
	if (q == NULL)
		fail_msg("no [quota:%s]", name);
	return q;
}

/* The name of the tier these groups give. */
static const char *
tier_of(const struct config *cfg, char *const *groups, u_int n)
{
	const struct config_quota	*q;

	q = quota_tier(cfg, groups, n);
	assert_non_null(q);
	return q->name;
}

/* Does s hold the number n, not as part of a longer number? */
static int
has_number(const char *s, unsigned long long n)
{
	char		 want[32];
	const char	*p;
	size_t		 len;

	snprintf(want, sizeof want, "%llu", n);
	len = strlen(want);
	for (p = s; (p = strstr(p, want)) != NULL; p++) {
		if ((p == s || !isdigit((u_char)p[-1])) &&
		    !isdigit((u_char)p[len]))
			return 1;
	}
	return 0;
}

/* ---- tiers ------------------------------------------------------------- */

/* An empty file: dgvip members are vip, everyone else default. */
static void
test_tier_builtin(void **state)
{
	struct config	*cfg;
	char		*none[] = { "users" };
	char		*vip[] = { "dgvip" };
	char		*both[] = { "users", "dgplayers", "dgvip" };
	char		*near[] = { "dgvi", "dgvipx", "DGVIP", "dgvip " };

	(void)state;
	cfg = load_ok("");
	assert_string_equal(tier_of(cfg, NULL, 0), "default");
	assert_string_equal(tier_of(cfg, none, nitems(none)), "default");
	assert_string_equal(tier_of(cfg, vip, nitems(vip)), "vip");
	assert_string_equal(tier_of(cfg, both, nitems(both)), "vip");
	/* Only the whole name matches. */
	assert_string_equal(tier_of(cfg, near, nitems(near)), "default");
	assert_int_equal(tier(cfg, "default")->priority, 1);
	assert_int_equal(tier(cfg, "vip")->priority, 5);
	config_free(cfg);
}

/* Several matching tiers: the highest priority wins, in any group order. */
static void
test_tier_highest_priority(void **state)
{
	struct config	*cfg;
	char		*g1[] = { "bronzers" };
	char		*g13[] = { "bronzers", "silver2" };
	char		*g31[] = { "silver2", "bronzers" };
	char		*g134[] = { "bronzers", "silver2", "goldies" };
	char		*g41[] = { "goldies", "bronzers" };
	char		*g2[] = { "nobody", "silver1" };
	char		*gv[] = { "goldies", "dgvip" };
	char		*gx[] = { "staff", "wheel" };

	(void)state;
	cfg = load_ok(
	    "[quota:bronze]\n"
	    "groups = bronzers\n"
	    "priority = 2\n"
	    "[quota:silver]\n"
	    "groups = silver1, silver2\n"
	    "priority = 4\n"
	    "[quota:gold]\n"
	    "groups = goldies\n"
	    "priority = 8\n");
	assert_string_equal(tier_of(cfg, g1, nitems(g1)), "bronze");
	assert_string_equal(tier_of(cfg, g13, nitems(g13)), "silver");
	assert_string_equal(tier_of(cfg, g31, nitems(g31)), "silver");
	assert_string_equal(tier_of(cfg, g134, nitems(g134)), "gold");
	assert_string_equal(tier_of(cfg, g41, nitems(g41)), "gold");
	/* Any name in the tier's list counts, not only the first. */
	assert_string_equal(tier_of(cfg, g2, nitems(g2)), "silver");
	/* gold (8) beats the built-in vip (5). */
	assert_string_equal(tier_of(cfg, gv, nitems(gv)), "gold");
	assert_string_equal(tier_of(cfg, gx, nitems(gx)), "default");
	/* Only the first n names are looked at. */
	assert_string_equal(tier_of(cfg, g134, 2), "silver");
	assert_string_equal(tier_of(cfg, g134, 1), "bronze");
	config_free(cfg);
}

/* Equal priority: the first tier in the file, whatever the group order. */
static void
test_tier_tie_file_order(void **state)
{
	struct config	*cfg;
	char		*ab[] = { "ga", "gb" };
	char		*ba[] = { "gb", "ga" };
	char		*abc[] = { "ga", "gb", "gc" };

	(void)state;
	cfg = load_ok(
	    "[quota:alpha]\ngroups = ga\npriority = 3\n"
	    "[quota:beta]\ngroups = gb\npriority = 3\n");
	assert_string_equal(tier_of(cfg, ab, 2), "alpha");
	assert_string_equal(tier_of(cfg, ba, 2), "alpha");
	config_free(cfg);

	cfg = load_ok(
	    "[quota:beta]\ngroups = gb\npriority = 3\n"
	    "[quota:alpha]\ngroups = ga\npriority = 3\n");
	assert_string_equal(tier_of(cfg, ab, 2), "beta");
	assert_string_equal(tier_of(cfg, ba, 2), "beta");
	config_free(cfg);

	/* A later, higher tier still wins over an earlier tie. */
	cfg = load_ok(
	    "[quota:alpha]\ngroups = ga\npriority = 3\n"
	    "[quota:beta]\ngroups = gb\npriority = 3\n"
	    "[quota:gamma]\ngroups = gc\npriority = 4\n");
	assert_string_equal(tier_of(cfg, abc, 3), "gamma");
	config_free(cfg);
}

/* A matching tier counts even when its priority is below the default's. */
static void
test_tier_low_priority_match(void **state)
{
	struct config	*cfg;
	char		*guests[] = { "guests" };
	char		*other[] = { "players" };

	(void)state;
	cfg = load_ok("[quota:guest]\ngroups = guests\npriority = 0\n"
	    "max_connections = 1\n");
	assert_string_equal(tier_of(cfg, guests, 1), "guest");
	assert_string_equal(tier_of(cfg, other, 1), "default");
	config_free(cfg);
}

/* A file may give the vip tier other groups, or none. */
static void
test_tier_redefined_vip(void **state)
{
	struct config	*cfg;
	char		*old[] = { "dgvip" };
	char		*new[] = { "patrons" };

	(void)state;
	cfg = load_ok("[quota:vip]\ngroups = patrons\n");
	assert_string_equal(tier_of(cfg, old, 1), "default");
	assert_string_equal(tier_of(cfg, new, 1), "vip");
	config_free(cfg);

	cfg = load_ok("[quota:vip]\ngroups =\n");
	assert_string_equal(tier_of(cfg, old, 1), "default");
	config_free(cfg);
}

/* ---- classes ----------------------------------------------------------- */

/* Admins are critical; then priority 5 and up high, 1 to 4 normal, 0 low. */
static void
test_class(void **state)
{
	(void)state;
	assert_int_equal(quota_class(1, 0), CLASS_CRITICAL);
	assert_int_equal(quota_class(1, 1), CLASS_CRITICAL);
	assert_int_equal(quota_class(1, 5), CLASS_CRITICAL);
	assert_int_equal(quota_class(1, 100), CLASS_CRITICAL);
	assert_int_equal(quota_class(0, 100), CLASS_HIGH);
	assert_int_equal(quota_class(0, 6), CLASS_HIGH);
	assert_int_equal(quota_class(0, 5), CLASS_HIGH);
	assert_int_equal(quota_class(0, 4), CLASS_NORMAL);
	assert_int_equal(quota_class(0, 2), CLASS_NORMAL);
	assert_int_equal(quota_class(0, 1), CLASS_NORMAL);
	assert_int_equal(quota_class(0, 0), CLASS_LOW);

	assert_true(CLASS_LOW < CLASS_NORMAL);
	assert_true(CLASS_NORMAL < CLASS_HIGH);
	assert_true(CLASS_HIGH < CLASS_CRITICAL);
	assert_string_equal(quota_class_name(CLASS_LOW), "low");
	assert_string_equal(quota_class_name(CLASS_NORMAL), "normal");
	assert_string_equal(quota_class_name(CLASS_HIGH), "high");
	assert_string_equal(quota_class_name(CLASS_CRITICAL), "critical");
}

/* The built-in tiers map to the classes CONFIG.md gives. */
static void
test_class_of_builtin_tiers(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = load_ok("[quota:guest]\ngroups = guests\npriority = 0\n");
	assert_int_equal(quota_class(0, tier(cfg, "default")->priority),
	    CLASS_NORMAL);
	assert_int_equal(quota_class(0, tier(cfg, "vip")->priority),
	    CLASS_HIGH);
	assert_int_equal(quota_class(0, tier(cfg, "guest")->priority),
	    CLASS_LOW);
	config_free(cfg);
}

/* ---- user records ------------------------------------------------------ */

/* get adds an empty record once; find never adds. */
static void
test_users_get_find(void **state)
{
	struct users	 us = { NULL, 0 };
	struct user	*a, *b;

	(void)state;
	assert_null(users_find(&us, 1000));
	assert_int_equal(us.count, 0);
	a = users_get(&us, 1000);
	assert_non_null(a);
	assert_int_equal(a->uid, 1000);
	assert_int_equal(a->known, 0);
	assert_int_equal(a->refs, 0);
	assert_int_equal(a->sessions, 0);
	assert_int_equal(a->queued, 0);
	assert_int_equal(a->ptys, 0);
	assert_int_equal(a->memory, 0);
	assert_null(a->name);
	assert_null(a->tier);
	assert_int_equal(us.count, 1);
	assert_ptr_equal(users_get(&us, 1000), a);
	assert_int_equal(us.count, 1);

	b = users_get(&us, 0);
	assert_non_null(b);
	assert_true(a != b);
	assert_int_equal(b->uid, 0);
	assert_int_equal(us.count, 2);
	assert_ptr_equal(users_find(&us, 0), b);
	assert_ptr_equal(users_find(&us, 1000), a);
	assert_null(users_find(&us, 1001));
	assert_int_equal(us.count, 2);
	/* A record never asked about is not trusted. */
	assert_int_equal(user_policy_valid(a, 0), 0);
	assert_int_equal(user_policy_valid(a, -1000), 0);

	users_free(&us);
	assert_null(us.head);
	assert_int_equal(us.count, 0);
}

/* Policy holds the tier, and is trusted until now + expires_after. */
static void
test_user_policy(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def, *vip;
	struct users			 us = { NULL, 0 };
	struct user			*u;
	int64_t				 t0 = 777000;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	vip = tier(cfg, "vip");
	assert_int_equal(def->expires_after, 24 * HOUR);
	assert_int_equal(vip->expires_after, 168 * HOUR);

	u = users_get(&us, 1000);
	user_set_policy(u, "alice", "/home/alice", 0, def, t0);
	assert_int_equal(u->known, 1);
	assert_string_equal(u->name, "alice");
	assert_string_equal(u->home, "/home/alice");
	assert_string_equal(u->tier, "default");
	assert_int_equal(u->priority, 1);
	assert_int_equal(u->is_admin, 0);
	assert_int_equal(u->expires, t0 + 24 * HOUR);
	assert_int_equal(user_policy_valid(u, t0), 1);
	assert_int_equal(user_policy_valid(u, t0 + 24 * HOUR - 1), 1);
	assert_int_equal(user_policy_valid(u, t0 + 24 * HOUR), 0);
	assert_int_equal(user_policy_valid(u, t0 + 25 * HOUR), 0);

	/* Asked again later, with another answer: all of it replaced. */
	user_set_policy(u, "alice2", "/srv/alice", 1, vip, t0 + 30 * HOUR);
	assert_string_equal(u->name, "alice2");
	assert_string_equal(u->home, "/srv/alice");
	assert_string_equal(u->tier, "vip");
	assert_int_equal(u->priority, 5);
	assert_int_equal(u->is_admin, 1);
	assert_int_equal(u->expires, t0 + 30 * HOUR + 168 * HOUR);
	assert_int_equal(user_policy_valid(u, t0 + 30 * HOUR), 1);
	assert_int_equal(user_policy_valid(u, t0 + 198 * HOUR - 1), 1);
	assert_int_equal(user_policy_valid(u, t0 + 198 * HOUR), 0);

	/* The record does not point into the configuration. */
	config_free(cfg);
	assert_string_equal(u->tier, "vip");
	users_free(&us);
}

/* A short expires_after from the file is honoured to the millisecond. */
static void
test_user_policy_short(void **state)
{
	struct config	*cfg;
	struct users	 us = { NULL, 0 };
	struct user	*u;

	(void)state;
	cfg = load_ok("[quota:brief]\ngroups = brief\nexpires_after = 90s\n");
	u = users_get(&us, 42);
	user_set_policy(u, "bob", "/home/bob", 0, tier(cfg, "brief"), 1000);
	assert_int_equal(user_policy_valid(u, 90999), 1);
	assert_int_equal(user_policy_valid(u, 91000), 0);
	config_free(cfg);
	users_free(&us);
}

/* Sweep frees unreferenced records whose policy lapsed, and no others. */
static void
test_users_sweep(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct users			 us = { NULL, 0 };
	struct user			*fresh, *stale, *held, *unknown, *heldok;
	int64_t				 t0 = 1000000, later;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	later = t0 + (int64_t)def->expires_after;

	fresh = users_get(&us, 1);
	user_set_policy(fresh, "fresh", "/home/fresh", 0, def, later - 10);
	stale = users_get(&us, 2);
	user_set_policy(stale, "stale", "/home/stale", 0, def, t0);
	held = users_get(&us, 3);
	user_set_policy(held, "held", "/home/held", 0, def, t0);
	held->refs = 2;
	unknown = users_get(&us, 4);
	assert_int_equal(unknown->known, 0);
	heldok = users_get(&us, 5);
	user_set_policy(heldok, "heldok", "/home/heldok", 0, def, later);
	heldok->refs = 1;
	assert_int_equal(us.count, 5);

	/* Just before stale's policy lapses only the unknown one goes. */
	users_sweep(&us, later - 1, 0);
	assert_int_equal(us.count, 4);
	assert_null(users_find(&us, 4));
	assert_ptr_equal(users_find(&us, 2), stale);

	users_sweep(&us, later, 0);
	assert_int_equal(us.count, 3);
	assert_ptr_equal(users_find(&us, 1), fresh);
	assert_null(users_find(&us, 2));
	assert_ptr_equal(users_find(&us, 3), held);
	assert_ptr_equal(users_find(&us, 5), heldok);
	assert_int_equal(user_policy_valid(fresh, later), 1);
	assert_int_equal(user_policy_valid(heldok, later), 1);
	/* A referenced record stays even with its policy lapsed. */
	assert_int_equal(user_policy_valid(held, later), 0);

	/* After a reload: every policy forgotten, only held records stay. */
	users_sweep(&us, later + 1, 1);
	assert_int_equal(us.count, 2);
	assert_null(users_find(&us, 1));
	assert_ptr_equal(users_find(&us, 3), held);
	assert_ptr_equal(users_find(&us, 5), heldok);
	assert_int_equal(user_policy_valid(heldok, later + 1), 0);
	assert_int_equal(user_policy_valid(held, later + 1), 0);
	/* What they hold is untouched. */
	assert_int_equal(held->refs, 2);
	assert_string_equal(held->name, "held");

	/* Let go, they are swept too. */
	held->refs = 0;
	heldok->refs = 0;
	users_sweep(&us, later + 2, 0);
	assert_int_equal(us.count, 0);
	assert_null(us.head);

	config_free(cfg);
	users_free(&us);
}

/* Freeing releases records with policy and without. */
static void
test_users_free(void **state)
{
	struct config	*cfg;
	struct users	 us = { NULL, 0 };
	struct user	*u;
	uid_t		 uid;

	(void)state;
	cfg = load_ok("");
	for (uid = 100; uid < 150; uid++) {
		u = users_get(&us, uid);
		if (uid % 2 == 0)
			user_set_policy(u, "x", "/home/x", 0,
			    tier(cfg, "default"), 0);
		u->refs = uid % 3;
	}
	assert_int_equal(us.count, 50);
	users_free(&us);
	assert_int_equal(us.count, 0);
	assert_null(us.head);
	config_free(cfg);
}

/* ---- sessions ---------------------------------------------------------- */

/* Check one more session; returns the result, and checks the outputs. */
static int
session(const struct user *u, const struct config_quota *q, char **message)
{
	const char	*reason = NULL;
	int		 rc;

	*message = NULL;
	rc = quota_check_session(u, q, &reason, message);
	if (rc == 0) {
		assert_null(*message);
		return 0;
	}
	assert_int_equal(rc, -1);
	assert_non_null(reason);
	assert_string_equal(reason, "user_connections");
	assert_non_null(*message);
	return -1;
}

/* Sessions and queued places both count, up to max_connections. */
static void
test_session_limit(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct user			 u;
	char				*msg;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	assert_int_equal(def->max_connections, 10);
	memset(&u, 0, sizeof u);

	assert_int_equal(session(&u, def, &msg), 0);
	u.sessions = 9;
	assert_int_equal(session(&u, def, &msg), 0);
	u.sessions = 5;
	u.queued = 4;
	assert_int_equal(session(&u, def, &msg), 0);

	/* Exactly at the limit: refused, the message names 10 and the tier. */
	u.sessions = 10;
	u.queued = 0;
	assert_int_equal(session(&u, def, &msg), -1);
	assert_true(has_number(msg, 10));
	assert_non_null(strstr(msg, "default"));
	free(msg);
	u.sessions = 6;
	u.queued = 4;
	assert_int_equal(session(&u, def, &msg), -1);
	assert_true(has_number(msg, 10));
	free(msg);
	u.sessions = 0;
	u.queued = 10;
	assert_int_equal(session(&u, def, &msg), -1);
	free(msg);

	/* vip allows 25. */
	u.sessions = 24;
	u.queued = 0;
	assert_int_equal(session(&u, tier(cfg, "vip"), &msg), 0);
	u.sessions = 25;
	assert_int_equal(session(&u, tier(cfg, "vip"), &msg), -1);
	assert_true(has_number(msg, 25));
	assert_non_null(strstr(msg, "vip"));
	free(msg);
	config_free(cfg);
}

/* A tier of one session: the second is refused. */
static void
test_session_limit_one(void **state)
{
	struct config			*cfg;
	const struct config_quota	*q;
	struct user			 u;
	char				*msg;

	(void)state;
	cfg = load_ok("[quota:solo]\ngroups = solo\nmax_connections = 1\n");
	q = tier(cfg, "solo");
	memset(&u, 0, sizeof u);
	assert_int_equal(session(&u, q, &msg), 0);
	u.queued = 1;
	assert_int_equal(session(&u, q, &msg), -1);
	assert_true(has_number(msg, 1));
	assert_non_null(strstr(msg, "solo"));
	free(msg);
	config_free(cfg);
}

/*
 * Over the limit (the tier was lowered by a reload, or the user moved to
 * a smaller tier): still refused, and the message names the limit the
 * tier sets, not only what the user holds.
 */
static void
test_session_over_limit_message(void **state)
{
	struct config			*cfg;
	const struct config_quota	*q;
	struct user			 u;
	char				*msg;
	int				 rc;

	(void)state;
	cfg = load_ok("[quota:bronze]\ngroups = bronzers\n"
	    "max_connections = 3\n");
	q = tier(cfg, "bronze");
	memset(&u, 0, sizeof u);
	u.sessions = 4;
	u.queued = 1;
	rc = session(&u, q, &msg);
	config_free(cfg);
	assert_int_equal(rc, -1);
	if (!has_number(msg, 3) || strstr(msg, "bronze") == NULL) {
		print_error("message: %s\n", msg);
		free(msg);
		fail_msg("the message does not name the limit (3) and the "
		    "tier (bronze)");
	}
	free(msg);
}

/* ---- games ------------------------------------------------------------- */

/*
 * Check one more game; returns the reason code ("" when allowed) and
 * checks the outputs.
 */
static const char *
lease(const struct user *u, const struct config_quota *q,
    const struct config *cfg, u_int ptys, uint64_t sys_memory,
    uint64_t memory, char **message)
{
	const char	*reason = NULL;
	int		 rc;

	*message = NULL;
	rc = quota_check_lease(u, q, cfg, ptys, sys_memory, memory, &reason,
	    message);
	if (rc == 0) {
		assert_null(*message);
		return "";
	}
	assert_int_equal(rc, -1);
	assert_non_null(reason);
	assert_non_null(*message);
	assert_true(**message != '\0');
	return reason;
}

/* Expect one reason; the message is freed. */
static void
lease_is(const char *want, const struct user *u, const struct config_quota *q,
    const struct config *cfg, u_int ptys, uint64_t sys_memory,
    uint64_t memory)
{
	const char	*got;
	char		*msg;

	got = lease(u, q, cfg, ptys, sys_memory, memory, &msg);
	if (strcmp(got, want) != 0) {
		print_error("user ptys=%u memory=%llu, system ptys=%u "
		    "memory=%llu, game memory=%llu: message %s\n", u->ptys,
		    (unsigned long long)u->memory, ptys,
		    (unsigned long long)sys_memory, (unsigned long long)memory,
		    msg != NULL ? msg : "(none)");
		free(msg);
		fail_msg("got \"%s\", expected \"%s\"", got, want);
	}
	free(msg);
}

/* The defaults of an empty file, as CONFIG.md gives them. */
static void
test_lease_defaults(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	const struct config_game	*g;
	struct user			 u;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	assert_int_equal(def->max_ptys, 5);
	assert_int_equal(def->max_memory, 256 * MB);
	assert_int_equal(tier(cfg, "vip")->max_ptys, 10);
	assert_int_equal(tier(cfg, "vip")->max_memory, 512 * MB);
	assert_int_equal(cfg->limits_max_ptys, 500);
	assert_int_equal(cfg->limits_max_memory, 8 * GB);
	g = config_find_game(cfg, "nethack");
	assert_non_null(g);
	assert_int_equal(g->memory, 64 * MB);

	memset(&u, 0, sizeof u);
	lease_is("", &u, def, cfg, 0, 0, g->memory);
	/* Four games of 64MB fill 256MB exactly. */
	u.ptys = 3;
	u.memory = 3 * g->memory;
	lease_is("", &u, def, cfg, 3, 3 * g->memory, g->memory);
	u.ptys = 4;
	u.memory = 4 * g->memory;
	lease_is("user_memory", &u, def, cfg, 4, 4 * g->memory, g->memory);
	config_free(cfg);
}

/* user_ptys at the tier's max_ptys, not one before. */
static void
test_lease_user_ptys(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct user			 u;
	char				*msg;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	u.ptys = 4;
	lease_is("", &u, def, cfg, 4, 0, MB);
	u.ptys = 5;
	assert_string_equal(lease(&u, def, cfg, 5, 0, MB, &msg), "user_ptys");
	assert_non_null(strstr(msg, "default"));
	free(msg);
	u.ptys = 6;
	lease_is("user_ptys", &u, def, cfg, 6, 0, MB);
	/* The vip tier allows ten. */
	u.ptys = 9;
	lease_is("", &u, tier(cfg, "vip"), cfg, 9, 0, MB);
	u.ptys = 10;
	lease_is("user_ptys", &u, tier(cfg, "vip"), cfg, 10, 0, MB);
	config_free(cfg);
}

/* A tier of zero games refuses the first. */
static void
test_lease_zero_ptys(void **state)
{
	struct config	*cfg;
	struct user	 u;

	(void)state;
	cfg = load_ok("[quota:watcher]\ngroups = watchers\nmax_ptys = 0\n");
	memset(&u, 0, sizeof u);
	lease_is("user_ptys", &u, tier(cfg, "watcher"), cfg, 0, 0, MB);
	config_free(cfg);
}

/* ptys_full at [limits] max_ptys, not one before. */
static void
test_lease_ptys_full(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct user			 u;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	lease_is("", &u, def, cfg, 499, 0, 64 * MB);
	lease_is("ptys_full", &u, def, cfg, 500, 0, 64 * MB);
	lease_is("ptys_full", &u, def, cfg, 501, 0, 64 * MB);
	config_free(cfg);

	cfg = load_ok("[limits]\nmax_ptys = 3\n");
	def = tier(cfg, "default");
	lease_is("", &u, def, cfg, 2, 0, 64 * MB);
	lease_is("ptys_full", &u, def, cfg, 3, 0, 64 * MB);
	config_free(cfg);
}

/* user_memory when the game would take the user past the tier. */
static void
test_lease_user_memory(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct user			 u;
	char				*msg;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	/* Exactly the tier's 256MB is allowed; a byte more is not. */
	u.memory = 192 * MB;
	lease_is("", &u, def, cfg, 0, 0, 64 * MB);
	u.memory = 192 * MB + 1;
	assert_string_equal(lease(&u, def, cfg, 0, 0, 64 * MB, &msg),
	    "user_memory");
	assert_non_null(strstr(msg, "default"));
	free(msg);
	u.memory = 192 * MB;
	lease_is("user_memory", &u, def, cfg, 0, 0, 64 * MB + 1);
	/* One game bigger than the whole tier. */
	u.memory = 0;
	lease_is("", &u, def, cfg, 0, 0, 256 * MB);
	lease_is("user_memory", &u, def, cfg, 0, 0, 256 * MB + 1);
	/* The vip tier has room for it. */
	lease_is("", &u, tier(cfg, "vip"), cfg, 0, 0, 256 * MB + 1);
	config_free(cfg);
}

/* A game's memory = from the file is what counts. */
static void
test_lease_game_memory(void **state)
{
	struct config			*cfg;
	const struct config_game	*big, *small;
	const struct config_quota	*def;
	struct user			 u;

	(void)state;
	cfg = load_ok(
	    "[game:big]\ncommand = /usr/games/big\nmemory = 300MB\n"
	    "[game:small]\ncommand = /usr/games/small\nmemory = 16MB\n");
	big = config_find_game(cfg, "big");
	small = config_find_game(cfg, "small");
	assert_non_null(big);
	assert_non_null(small);
	assert_int_equal(big->memory, 300 * MB);
	assert_int_equal(small->memory, 16 * MB);
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	lease_is("user_memory", &u, def, cfg, 0, 0, big->memory);
	lease_is("", &u, tier(cfg, "vip"), cfg, 0, 0, big->memory);
	u.ptys = 4;
	u.memory = 240 * MB;
	lease_is("", &u, def, cfg, 4, 240 * MB, small->memory);
	u.memory = 240 * MB + 1;
	lease_is("user_memory", &u, def, cfg, 4, 240 * MB, small->memory);
	config_free(cfg);
}

/* memory_full when the game would take the system past [limits]. */
static void
test_lease_memory_full(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct user			 u;

	(void)state;
	cfg = load_ok("");
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	lease_is("", &u, def, cfg, 10, 8 * GB - 64 * MB, 64 * MB);
	lease_is("memory_full", &u, def, cfg, 10, 8 * GB - 64 * MB + 1,
	    64 * MB);
	lease_is("memory_full", &u, def, cfg, 10, 8 * GB, 64 * MB);
	config_free(cfg);

	cfg = load_ok("[limits]\nmax_memory = 100MB\n");
	def = tier(cfg, "default");
	lease_is("", &u, def, cfg, 1, 36 * MB, 64 * MB);
	lease_is("memory_full", &u, def, cfg, 1, 36 * MB + 1, 64 * MB);
	config_free(cfg);
}

/* user_ptys, then ptys_full, then user_memory, then memory_full. */
static void
test_lease_precedence(void **state)
{
	struct config			*cfg;
	const struct config_quota	*q;
	struct user			 u;

	(void)state;
	cfg = load_ok("[limits]\nmax_ptys = 10\nmax_memory = 1GB\n"
	    "[quota:small]\ngroups = small\nmax_ptys = 2\n"
	    "max_memory = 100MB\n");
	q = tier(cfg, "small");
	memset(&u, 0, sizeof u);

	/* Everything over. */
	u.ptys = 2;
	u.memory = 100 * MB;
	lease_is("user_ptys", &u, q, cfg, 10, GB, 64 * MB);
	/* All but the user's games. */
	u.ptys = 1;
	lease_is("ptys_full", &u, q, cfg, 10, GB, 64 * MB);
	/* The memory ones. */
	lease_is("user_memory", &u, q, cfg, 9, GB, 64 * MB);
	/* Only the system's memory. */
	u.memory = 36 * MB;
	lease_is("memory_full", &u, q, cfg, 9, GB, 64 * MB);
	/* Nothing. */
	lease_is("", &u, q, cfg, 9, GB - 64 * MB, 64 * MB);
	config_free(cfg);
}

/* ---- bandwidth --------------------------------------------------------- */

/* The smaller of the user's share and the system's fair share. */
static void
test_bandwidth_share(void **state)
{
	(void)state;
	/* One session, system idle: the user's whole quota. */
	assert_int_equal(quota_bandwidth_share(10 * MB, 1, GB, 1), 10 * MB);
	/* Split over the user's sessions. */
	assert_int_equal(quota_bandwidth_share(10 * MB, 4, GB, 4),
	    10 * MB / 4);
	assert_int_equal(quota_bandwidth_share(10 * MB, 3, GB, 3),
	    10 * MB / 3);
	/* Held to the system's fair share when the system is busy. */
	assert_int_equal(quota_bandwidth_share(10 * MB, 1, GB, 1000),
	    GB / 1000);
	assert_int_equal(quota_bandwidth_share(10 * MB, 2, GB, 1000),
	    GB / 1000);
	assert_int_equal(quota_bandwidth_share(10 * MB, 2, GB, 200),
	    5 * MB);
	/* Equal shares either way. */
	assert_int_equal(quota_bandwidth_share(4 * MB, 2, 8 * MB, 4),
	    2 * MB);
	/* No sessions counts as one. */
	assert_int_equal(quota_bandwidth_share(10 * MB, 0, GB, 0), 10 * MB);
	assert_int_equal(quota_bandwidth_share(10 * MB, 0, GB, 1), 10 * MB);
	assert_int_equal(quota_bandwidth_share(10 * MB, 0, GB, 500),
	    GB / 500);
	assert_int_equal(quota_bandwidth_share(2 * GB, 0, GB, 0), GB);
	assert_int_equal(quota_bandwidth_share(10 * MB, 5, 5 * MB, 0),
	    2 * MB);
	/* Large values do not overflow. */
	assert_true(quota_bandwidth_share(UINT64_MAX, 1, UINT64_MAX, 1) ==
	    UINT64_MAX);
	assert_true(quota_bandwidth_share(UINT64_MAX, 2, UINT64_MAX, 4) ==
	    UINT64_MAX / 4);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tier_builtin),
		cmocka_unit_test(test_tier_highest_priority),
		cmocka_unit_test(test_tier_tie_file_order),
		cmocka_unit_test(test_tier_low_priority_match),
		cmocka_unit_test(test_tier_redefined_vip),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_class_of_builtin_tiers),
		cmocka_unit_test(test_users_get_find),
		cmocka_unit_test(test_user_policy),
		cmocka_unit_test(test_user_policy_short),
		cmocka_unit_test(test_users_sweep),
		cmocka_unit_test(test_users_free),
		cmocka_unit_test(test_session_limit),
		cmocka_unit_test(test_session_limit_one),
		cmocka_unit_test(test_session_over_limit_message),
		cmocka_unit_test(test_lease_defaults),
		cmocka_unit_test(test_lease_user_ptys),
		cmocka_unit_test(test_lease_zero_ptys),
		cmocka_unit_test(test_lease_ptys_full),
		cmocka_unit_test(test_lease_user_memory),
		cmocka_unit_test(test_lease_game_memory),
		cmocka_unit_test(test_lease_memory_full),
		cmocka_unit_test(test_lease_precedence),
		cmocka_unit_test(test_bandwidth_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
