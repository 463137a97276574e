/*
 * Unit tests for tiers and quotas: which [quota:NAME] a user's groups
 * give, the queue class, the session, game and bandwidth arithmetic
 * exactly at each limit, the sentences that explain a refusal, and the
 * violations' names and counters. Configurations are real files read
 * by config_load. The user records are tested in test_user.c.
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

#include "broker.h"
#include "config-text.h"
#include "dies.h"

#define KB	1024ULL
#define MB	(1024ULL * KB)
#define GB	(1024ULL * MB)
#define HOUR	(3600LL * 1000)

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
	cfg = config_from_text_ok("");
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
	cfg = config_from_text_ok(
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
	cfg = config_from_text_ok(
	    "[quota:alpha]\ngroups = ga\npriority = 3\n"
	    "[quota:beta]\ngroups = gb\npriority = 3\n");
	assert_string_equal(tier_of(cfg, ab, 2), "alpha");
	assert_string_equal(tier_of(cfg, ba, 2), "alpha");
	config_free(cfg);

	cfg = config_from_text_ok(
	    "[quota:beta]\ngroups = gb\npriority = 3\n"
	    "[quota:alpha]\ngroups = ga\npriority = 3\n");
	assert_string_equal(tier_of(cfg, ab, 2), "beta");
	assert_string_equal(tier_of(cfg, ba, 2), "beta");
	config_free(cfg);

	/* A later, higher tier still wins over an earlier tie. */
	cfg = config_from_text_ok(
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
	cfg = config_from_text_ok("[quota:guest]\ngroups = guests\npriority = 0\n"
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
	cfg = config_from_text_ok("[quota:vip]\ngroups = patrons\n");
	assert_string_equal(tier_of(cfg, old, 1), "default");
	assert_string_equal(tier_of(cfg, new, 1), "vip");
	config_free(cfg);

	cfg = config_from_text_ok("[quota:vip]\ngroups =\n");
	assert_string_equal(tier_of(cfg, old, 1), "default");
	config_free(cfg);
}

/* How long a tier's policy is trusted: the defaults, and a file's own. */
static void
test_tier_expires_after(void **state)
{
	struct config	*cfg;

	(void)state;
	cfg = config_from_text_ok("");
	assert_int_equal(tier(cfg, "default")->expires_after, 24 * HOUR);
	assert_int_equal(tier(cfg, "vip")->expires_after, 168 * HOUR);
	config_free(cfg);
	cfg = config_from_text_ok("[quota:brief]\ngroups = brief\nexpires_after = 90s\n");
	assert_int_equal(tier(cfg, "brief")->expires_after, 90 * 1000);
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
	cfg = config_from_text_ok("[quota:guest]\ngroups = guests\npriority = 0\n");
	assert_int_equal(quota_class(0, tier(cfg, "default")->priority),
	    CLASS_NORMAL);
	assert_int_equal(quota_class(0, tier(cfg, "vip")->priority),
	    CLASS_HIGH);
	assert_int_equal(quota_class(0, tier(cfg, "guest")->priority),
	    CLASS_LOW);
	config_free(cfg);
}

/* ---- sessions ---------------------------------------------------------- */

/*
 * What a user holds, as the tests set it: open sessions and queued
 * places apart, which the broker adds up for quota_usage.
 */
struct held {
	u_int		 sessions;
	u_int		 queued;
	u_int		 ptys;
	uint64_t	 memory;
};

/* Check one more session; returns the result, and checks the outputs. */
static int
session(const struct held *u, const struct config_quota *q,
    const struct config *cfg, char **message)
{
	struct quota_usage	 use;
	enum violation		 v;

	*message = NULL;
	memset(&use, 0, sizeof use);
	use.sessions = u->sessions + u->queued;
	v = quota_check_session(q, &use);
	if (v == V_NONE)
		return 0;
	assert_int_equal(v, V_USER_CONNECTIONS);
	assert_string_equal(violation_name(v), "user_connections");
	*message = quota_explain(v, q, cfg, &use, 0);
	assert_non_null(*message);
	/* The message names what the user holds as well as the limit. */
	assert_true(has_number(*message, use.sessions));
	return -1;
}

/* Sessions and queued places both count, up to max_connections. */
static void
test_session_limit(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct held			 u;
	char				*msg;

	(void)state;
	cfg = config_from_text_ok("");
	def = tier(cfg, "default");
	assert_int_equal(def->max_connections, 10);
	memset(&u, 0, sizeof u);

	assert_int_equal(session(&u, def, cfg, &msg), 0);
	u.sessions = 9;
	assert_int_equal(session(&u, def, cfg, &msg), 0);
	u.sessions = 5;
	u.queued = 4;
	assert_int_equal(session(&u, def, cfg, &msg), 0);

	/* Exactly at the limit: refused, the message names 10 and the tier. */
	u.sessions = 10;
	u.queued = 0;
	assert_int_equal(session(&u, def, cfg, &msg), -1);
	assert_true(has_number(msg, 10));
	assert_non_null(strstr(msg, "default"));
	free(msg);
	u.sessions = 6;
	u.queued = 4;
	assert_int_equal(session(&u, def, cfg, &msg), -1);
	assert_true(has_number(msg, 10));
	free(msg);
	u.sessions = 0;
	u.queued = 10;
	assert_int_equal(session(&u, def, cfg, &msg), -1);
	free(msg);

	/* vip allows 25. */
	u.sessions = 24;
	u.queued = 0;
	assert_int_equal(session(&u, tier(cfg, "vip"), cfg, &msg), 0);
	u.sessions = 25;
	assert_int_equal(session(&u, tier(cfg, "vip"), cfg, &msg), -1);
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
	struct held			 u;
	char				*msg;

	(void)state;
	cfg = config_from_text_ok("[quota:solo]\ngroups = solo\nmax_connections = 1\n");
	q = tier(cfg, "solo");
	memset(&u, 0, sizeof u);
	assert_int_equal(session(&u, q, cfg, &msg), 0);
	u.queued = 1;
	assert_int_equal(session(&u, q, cfg, &msg), -1);
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
	struct held			 u;
	char				*msg;
	int				 rc;

	(void)state;
	cfg = config_from_text_ok("[quota:bronze]\ngroups = bronzers\n"
	    "max_connections = 3\n");
	q = tier(cfg, "bronze");
	memset(&u, 0, sizeof u);
	u.sessions = 4;
	u.queued = 1;
	rc = session(&u, q, cfg, &msg);
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
 * Check one more game; returns the violation's name ("" when allowed)
 * and checks the outputs.
 */
static const char *
lease(const struct held *u, const struct config_quota *q,
    const struct config *cfg, u_int ptys, uint64_t sys_memory,
    uint64_t memory, char **message)
{
	struct quota_usage	 use;
	enum violation		 v;

	*message = NULL;
	memset(&use, 0, sizeof use);
	use.sessions = u->sessions + u->queued;
	use.ptys = u->ptys;
	use.memory = u->memory;
	use.sys_ptys = ptys;
	use.sys_memory = sys_memory;
	v = quota_check_lease(q, cfg, &use, memory);
	if (v == V_NONE)
		return "";
	assert_true(v == V_USER_PTYS || v == V_PTYS_FULL ||
	    v == V_USER_MEMORY || v == V_MEMORY_FULL);
	*message = quota_explain(v, q, cfg, &use, memory);
	assert_non_null(*message);
	assert_true(**message != '\0');
	return violation_name(v);
}

/* Expect one reason; the message is freed. */
static void
lease_is(const char *want, const struct held *u, const struct config_quota *q,
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
	struct held			 u;

	(void)state;
	cfg = config_from_text_ok("");
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
	struct held			 u;
	char				*msg;

	(void)state;
	cfg = config_from_text_ok("");
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
	struct held	 u;

	(void)state;
	cfg = config_from_text_ok("[quota:watcher]\ngroups = watchers\nmax_ptys = 0\n");
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
	struct held			 u;

	(void)state;
	cfg = config_from_text_ok("");
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	lease_is("", &u, def, cfg, 499, 0, 64 * MB);
	lease_is("ptys_full", &u, def, cfg, 500, 0, 64 * MB);
	lease_is("ptys_full", &u, def, cfg, 501, 0, 64 * MB);
	config_free(cfg);

	cfg = config_from_text_ok("[limits]\nmax_ptys = 3\n");
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
	struct held			 u;
	char				*msg;

	(void)state;
	cfg = config_from_text_ok("");
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
	struct held			 u;

	(void)state;
	cfg = config_from_text_ok(
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
	struct held			 u;

	(void)state;
	cfg = config_from_text_ok("");
	def = tier(cfg, "default");
	memset(&u, 0, sizeof u);
	lease_is("", &u, def, cfg, 10, 8 * GB - 64 * MB, 64 * MB);
	lease_is("memory_full", &u, def, cfg, 10, 8 * GB - 64 * MB + 1,
	    64 * MB);
	lease_is("memory_full", &u, def, cfg, 10, 8 * GB, 64 * MB);
	config_free(cfg);

	cfg = config_from_text_ok("[limits]\nmax_memory = 100MB\n");
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
	struct held			 u;

	(void)state;
	cfg = config_from_text_ok("[limits]\nmax_ptys = 10\nmax_memory = 1GB\n"
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

/* ---- explanations ------------------------------------------------------ */

/* quota_explain's sentence for v, compared whole. */
static void
explain_is(enum violation v, const struct config_quota *q,
    const struct config *cfg, const struct quota_usage *use, uint64_t memory,
    const char *want)
{
	char	*got;

	got = quota_explain(v, q, cfg, use, memory);
	assert_non_null(got);
	if (strcmp(got, want) != 0) {
		print_error("got:  %s\nwant: %s\n", got, want);
		free(got);
		fail_msg("quota_explain(%s) differs", violation_name(v));
	}
	free(got);
}

/* The sentences players see, as README.md gives them. */
static void
test_explain_sentences(void **state)
{
	struct config			*cfg;
	const struct config_quota	*def;
	struct quota_usage		 use;

	(void)state;
	cfg = config_from_text_ok("[limits]\nmax_ptys = 7\n");
	def = tier(cfg, "default");
	memset(&use, 0, sizeof use);

	use.sessions = 10;
	explain_is(V_USER_CONNECTIONS, def, cfg, &use, 0,
	    "You already have 10 sessions open and your tier (default) "
	    "allows 10; close one and try again.");
	use.sessions = 1;
	explain_is(V_USER_CONNECTIONS, tier(cfg, "vip"), cfg, &use, 0,
	    "You already have 1 session open and your tier (vip) allows 25; "
	    "close one and try again.");

	use.ptys = 5;
	explain_is(V_USER_PTYS, def, cfg, &use, 0,
	    "You already have 5 games running and your tier (default) "
	    "allows 5.");
	use.ptys = 1;
	explain_is(V_USER_PTYS, def, cfg, &use, 0,
	    "You already have 1 game running and your tier (default) "
	    "allows 5.");

	explain_is(V_PTYS_FULL, def, cfg, &use, 0,
	    "DungeonGate is running as many games as it may (7); please try "
	    "again later.");

	use.memory = 224 * MB;
	explain_is(V_USER_MEMORY, def, cfg, &use, 64 * MB,
	    "This game needs 64MB of memory and your games already hold "
	    "224MB of the 256MB your tier (default) allows.");
	use.memory = 0;
	explain_is(V_USER_MEMORY, def, cfg, &use, 300 * MB,
	    "This game needs 300MB of memory and your games already hold "
	    "0B of the 256MB your tier (default) allows.");

	explain_is(V_MEMORY_FULL, def, cfg, &use, 64 * MB,
	    "DungeonGate has no memory left for another game; please try "
	    "again later.");
	config_free(cfg);
}

struct explain_arg {
	enum violation			 v;
	const struct config_quota	*q;
	const struct config		*cfg;
};

/* Child: explain a violation. */
static void
explain_cb(void *arg)
{
	struct explain_arg	*ea = arg;
	struct quota_usage	 use;

	memset(&use, 0, sizeof use);
	free(quota_explain(ea->v, ea->q, ea->cfg, &use, 0));
}

/* Only the quota violations have a quota sentence; others are a bug. */
static void
test_explain_other(void **state)
{
	struct config		*cfg;
	struct explain_arg	 ea;

	(void)state;
	cfg = config_from_text_ok("");
	ea.q = tier(cfg, "default");
	ea.cfg = cfg;
	ea.v = V_NONE;
	assert_dies(explain_cb, &ea, "quota_explain: none");
	ea.v = V_QUEUE_FULL;
	assert_dies(explain_cb, &ea, "quota_explain: queue_full");
	ea.v = V_GAME_BUSY;
	assert_dies(explain_cb, &ea, "quota_explain: game_busy");
	config_free(cfg);
}

/* ---- violations -------------------------------------------------------- */

/* Every violation has its own name; those on the wire match proto.h. */
static void
test_violation_names(void **state)
{
	const char	*a, *b;
	u_int		 i, j;

	(void)state;
	assert_string_equal(violation_name(V_NONE), "none");
	assert_string_equal(violation_name(V_USER_CONNECTIONS),
	    "user_connections");
	assert_string_equal(violation_name(V_USER_PTYS), "user_ptys");
	assert_string_equal(violation_name(V_USER_MEMORY), "user_memory");
	assert_string_equal(violation_name(V_PTYS_FULL), "ptys_full");
	assert_string_equal(violation_name(V_MEMORY_FULL), "memory_full");
	assert_string_equal(violation_name(V_GAME_BUSY), REASON_GAME_BUSY);
	assert_string_equal(violation_name(V_PTYS_EXHAUSTED),
	    REASON_PTYS_EXHAUSTED);
	assert_string_equal(violation_name(V_QUEUE_FULL), REASON_QUEUE_FULL);
	assert_string_equal(violation_name(V_QUEUE_TIMEOUT),
	    REASON_QUEUE_TIMEOUT);
	assert_string_equal(violation_name(V_RATE_LIMITED),
	    REASON_RATE_LIMITED);
	for (i = 0; i < V_COUNT; i++) {
		a = violation_name((enum violation)i);
		assert_non_null(a);
		assert_true(*a != '\0');
		for (j = 0; j < i; j++) {
			b = violation_name((enum violation)j);
			if (strcmp(a, b) == 0)
				fail_msg("violations %u and %u are both %s", j,
				    i, a);
		}
	}
}

/* Counters add up by type; the JSON has every type but none, by name. */
static void
test_violations_count(void **state)
{
	struct violations	 vs;
	json_t			*o, *v;
	const char		*key;
	u_int			 i, n = 0;

	(void)state;
	memset(&vs, 0, sizeof vs);
	violations_add(&vs, V_QUEUE_FULL, 1);
	violations_add(&vs, V_QUEUE_FULL, 2);
	violations_add(&vs, V_CPU, 1000000);
	violations_add(&vs, V_BANDWIDTH, 0);
	violations_add(&vs, V_RATE_LIMITED, 1);
	assert_true(vs.n[V_QUEUE_FULL] == 3);
	assert_true(vs.n[V_CPU] == 1000000);
	assert_true(vs.n[V_BANDWIDTH] == 0);
	assert_true(vs.n[V_NONE] == 0);

	o = violations_json(&vs);
	assert_non_null(o);
	assert_true(json_is_object(o));
	assert_int_equal(json_object_size(o), V_COUNT - 1);
	assert_null(json_object_get(o, "none"));
	json_object_foreach(o, key, v) {
		assert_true(json_is_integer(v));
		n++;
	}
	assert_int_equal(n, V_COUNT - 1);
	for (i = V_NONE + 1; i < V_COUNT; i++) {
		v = json_object_get(o, violation_name((enum violation)i));
		assert_non_null(v);
		assert_true((uint64_t)json_integer_value(v) == vs.n[i]);
	}
	assert_int_equal(json_integer_value(json_object_get(o, "queue_full")),
	    3);
	assert_int_equal(json_integer_value(json_object_get(o, "cpu")),
	    1000000);
	assert_int_equal(json_integer_value(json_object_get(o,
	    "user_connections")), 0);
	json_decref(o);
}

struct violation_arg {
	struct violations	*vs;
	int			 v;
};

/* Child: name a violation. */
static void
violation_name_cb(void *arg)
{
	struct violation_arg	*va = arg;

	(void)violation_name((enum violation)va->v);
}

/* Child: count a violation. */
static void
violation_add_cb(void *arg)
{
	struct violation_arg	*va = arg;

	violations_add(va->vs, (enum violation)va->v, 1);
}

/* Counting none, or a type that does not exist, is a bug. */
static void
test_violations_bad(void **state)
{
	struct violations	 vs;
	struct violation_arg	 va;

	(void)state;
	memset(&vs, 0, sizeof vs);
	va.vs = &vs;
	va.v = V_NONE;
	assert_dies(violation_add_cb, &va, "violations_add: 0");
	va.v = V_COUNT;
	assert_dies(violation_add_cb, &va, "violations_add: ");
	assert_dies(violation_name_cb, &va, "violation_name: ");
	va.v = -1;
	assert_dies(violation_add_cb, &va, "violations_add: -1");
	assert_dies(violation_name_cb, &va, "violation_name: -1");
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
		cmocka_unit_test(test_tier_expires_after),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_class_of_builtin_tiers),
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
		cmocka_unit_test(test_explain_sentences),
		cmocka_unit_test(test_explain_other),
		cmocka_unit_test(test_violation_names),
		cmocka_unit_test(test_violations_count),
		cmocka_unit_test(test_violations_bad),
		cmocka_unit_test(test_bandwidth_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
