/*
 * Unit tests for the auth service's answer parser: allows in each tier a
 * configuration defines (and failures for any other), denies with their
 * reason ids at the edges, 401 and 403 with and without a body, every
 * class of status, every malformed body we could think of, the size
 * bound, the message made safe for a terminal and cut without splitting
 * a character, and bodies cut or mangled at random. Every body is read
 * from a buffer of exactly its length, so that a read past it is a
 * sanitizer report.
 */
#include "config.h"

#include <limits.h>
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

static const char test_config[] =
    "[quota:gold]\n"
    "priority = 3\n"
    "[quota:free-tier_2]\n"
    "priority = 0\n";

static struct config *cfg;

/* Load the tiers once: default and vip built in, gold and free-tier_2. */
static int
setup(void **state)
{
	(void)state;
	cfg = config_from_text_ok(test_config);
	return 0;
}

/* Free the tiers. */
static int
teardown(void **state)
{
	(void)state;
	config_free(cfg);
	return 0;
}

/* Is s text a terminal shows as it is: UTF-8 and no control at all? */
static int
is_safe_text(const char *s)
{
	const u_char	*p;

	for (p = (const u_char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	}
	return util_valid_text(s);
}

/*
 * Parse len bytes of body from a buffer of exactly that size, and check
 * what holds for every answer whatever came.
 */
static void
parse_n(long status, const char *body, size_t len, int truncated,
    struct auth_answer *aa)
{
	char	*copy = NULL;

	if (len != 0) {
		copy = xmalloc(len);
		memcpy(copy, body, len);
	}
	memset(aa, 0xa5, sizeof *aa);
	assert_int_equal(auth_answer_parse(status, copy, len, truncated, cfg,
	    aa), 0);
	free(copy);

	switch (aa->kind) {
	case AUTH_ALLOW:
		assert_null(aa->reason);
		assert_null(aa->why);
		if (aa->tier != NULL)
			assert_non_null(config_find_quota(cfg, aa->tier));
		break;
	case AUTH_DENY:
		assert_non_null(aa->reason);
		assert_null(aa->tier);
		assert_true(strlen(aa->reason) >= 1);
		assert_true(strlen(aa->reason) <= AUTH_REASON_MAX);
		assert_int_equal(strspn(aa->reason,
		    "abcdefghijklmnopqrstuvwxyz0123456789_-"),
		    strlen(aa->reason));
		break;
	case AUTH_FAIL:
		assert_null(aa->tier);
		assert_null(aa->reason);
		assert_null(aa->message);
		assert_int_equal(aa->ttl, -1);
		assert_non_null(aa->why);
		break;
	default:
		fail_msg("kind %d", (int)aa->kind);
	}
	if (aa->message != NULL) {
		assert_true(strlen(aa->message) >= 1);
		assert_true(strlen(aa->message) <= AUTH_MESSAGE_MAX);
		if (!is_safe_text(aa->message))
			fail_msg("unsafe message \"%s\"", aa->message);
		assert_true(aa->message[0] != ' ');
		assert_true(aa->message[strlen(aa->message) - 1] != ' ');
	}
	if (aa->why != NULL && !is_safe_text(aa->why))
		fail_msg("unsafe why \"%s\"", aa->why);
	assert_true(aa->ttl >= -1 && aa->ttl <= AUTH_TTL_MAX);
}

/* Parse a whole string as the body, as parse_n does. */
static void
parse(long status, const char *body, struct auth_answer *aa)
{
	parse_n(status, body, strlen(body), 0, aa);
}

/* A 200 body that must be a failure, its why naming what. */
static void
expect_fail(const char *body, size_t len, const char *what)
{
	struct auth_answer	 aa;

	parse_n(200, body, len, 0, &aa);
	if (aa.kind != AUTH_FAIL)
		fail_msg("not a failure: \"%.*s\"", (int)len, body);
	if (what != NULL && strstr(aa.why, what) == NULL)
		fail_msg("\"%.*s\": why \"%s\", expected \"%s\"", (int)len,
		    body, aa.why, what);
	auth_answer_clear(&aa);
}

/* The message an allow with this JSON string value gives (or NULL). */
static char *
message_of(const char *json_value)
{
	struct auth_answer	 aa;
	char			*body, *msg;

	xasprintf(&body, "{\"allow\": true, \"message\": %s}", json_value);
	parse(200, body, &aa);
	free(body);
	assert_int_equal(aa.kind, AUTH_ALLOW);
	msg = aa.message;
	aa.message = NULL;
	auth_answer_clear(&aa);
	return msg;
}

/* The message must come out as want exactly (NULL: none). */
static void
expect_message(const char *json_value, const char *want)
{
	char	*got;

	got = message_of(json_value);
	if (want == NULL && got != NULL)
		fail_msg("%s: got \"%s\", expected none", json_value, got);
	if (want != NULL && (got == NULL || strcmp(got, want) != 0))
		fail_msg("%s: got \"%s\", expected \"%s\"", json_value,
		    got != NULL ? got : "(none)", want);
	free(got);
}

/* ---- allow ------------------------------------------------------------- */

/* The least allow: the local tier, nothing else. */
static void
test_allow_minimal(void **state)
{
	struct auth_answer	 aa;

	(void)state;
	parse(200, "{\"allow\": true}", &aa);
	assert_int_equal(aa.kind, AUTH_ALLOW);
	assert_null(aa.tier);
	assert_null(aa.message);
	assert_int_equal(aa.ttl, -1);
	auth_answer_clear(&aa);

	/* Blanks around it are JSON too. */
	parse(200, " \r\n\t{ \"allow\" :\ttrue }\n\n", &aa);
	assert_int_equal(aa.kind, AUTH_ALLOW);
	auth_answer_clear(&aa);
}

/* Each tier the configuration defines, with a ttl and a message. */
static void
test_allow_tiers(void **state)
{
	static const char *tiers[] = { "default", "vip", "gold",
		"free-tier_2" };
	struct auth_answer	 aa;
	char			*body;
	u_int			 i;

	(void)state;
	for (i = 0; i < nitems(tiers); i++) {
		xasprintf(&body, "{\"allow\": true, \"tier\": \"%s\", "
		    "\"ttl\": %u, \"message\": \"Welcome back!\"}", tiers[i],
		    i * 100);
		parse(200, body, &aa);
		free(body);
		assert_int_equal(aa.kind, AUTH_ALLOW);
		assert_string_equal(aa.tier, tiers[i]);
		assert_int_equal(aa.ttl, i * 100);
		assert_string_equal(aa.message, "Welcome back!");
		auth_answer_clear(&aa);
	}
}

/* A tier no [quota:NAME] defines is the service breaking the contract. */
static void
test_allow_unknown_tier(void **state)
{
	static const char *bad[] = {
		"{\"allow\": true, \"tier\": \"platinum\"}",
		"{\"allow\": true, \"tier\": \"VIP\"}",
		"{\"allow\": true, \"tier\": \"vip \"}",
		"{\"allow\": true, \"tier\": \" vip\"}",
		"{\"allow\": true, \"tier\": \"\"}",
		"{\"allow\": true, \"tier\": \"quota:vip\"}",
		"{\"allow\": true, \"tier\": \"vip\\u0000\"}",
		"{\"allow\": true, \"tier\": \"vip\\u0000x\"}",
		"{\"allow\": true, \"tier\": \"gol\"}",
		"{\"allow\": true, \"tier\": \"golden\"}",
	};
	struct auth_answer	 aa;
	u_int			 i;

	(void)state;
	for (i = 0; i < nitems(bad); i++)
		expect_fail(bad[i], strlen(bad[i]), "is not a [quota:NAME]");
	expect_fail(bad[0], strlen(bad[0]), "\"platinum\"");

	/* The name is the service's text: escaped in why, and bounded. */
	parse(200, "{\"allow\": true, \"tier\": \"\\u001b[2J\\u001b]0;x\\u0007"
	    "\\n\\u202e\"}", &aa);
	assert_int_equal(aa.kind, AUTH_FAIL);
	assert_non_null(strstr(aa.why, "\\x1b[2J"));
	assert_non_null(strstr(aa.why, "\\u{202e}"));
	auth_answer_clear(&aa);
	parse(200, "{\"allow\": true, \"tier\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\"}", &aa);
	assert_int_equal(aa.kind, AUTH_FAIL);
	assert_true(strlen(aa.why) < 128);
	auth_answer_clear(&aa);

	/* A configuration without the tier refuses what another accepts. */
	parse(200, "{\"allow\": true, \"tier\": \"gold\"}", &aa);
	assert_int_equal(aa.kind, AUTH_ALLOW);
	auth_answer_clear(&aa);
}

/* Fields the contract does not name are ignored, whatever they hold. */
static void
test_allow_extra_fields(void **state)
{
	struct auth_answer	 aa;

	(void)state;
	parse(200, "{\"version\": 2, \"allow\": true, \"user\": {\"id\": 7, "
	    "\"roles\": [\"a\", null, 1.5, {\"x\": []}]}, \"reason\": 5, "
	    "\"Tier\": 3, \"extra\": null, \"tier\": \"vip\"}", &aa);
	assert_int_equal(aa.kind, AUTH_ALLOW);
	assert_string_equal(aa.tier, "vip");
	auth_answer_clear(&aa);

	/* A deny's tier is not the contract's either: ignored. */
	parse(200, "{\"allow\": false, \"reason\": \"banned\", \"tier\": 5}",
	    &aa);
	assert_int_equal(aa.kind, AUTH_DENY);
	assert_string_equal(aa.reason, "banned");
	auth_answer_clear(&aa);
}

/* ttl: any integer from 0 to the cap; anything else is a failure. */
static void
test_ttl(void **state)
{
	static const struct {
		const char	*value;
		const char	*why;
	} bad[] = {
		{ "-1", "ttl is negative" },
		{ "-9223372036854775808", "ttl is negative" },
		{ "2592001", "ttl 2592001 is over 2592000" },
		{ "9223372036854775807", "is over" },
		{ "60.0", "ttl is not an integer" },
		{ "6e1", "ttl is not an integer" },
		{ "0.5", "ttl is not an integer" },
		{ "\"60\"", "ttl is not an integer" },
		{ "true", "ttl is not an integer" },
		{ "null", "ttl is not an integer" },
		{ "[60]", "ttl is not an integer" },
		{ "{}", "ttl is not an integer" },
		{ "99999999999999999999", "not JSON" },
		{ "-99999999999999999999", "not JSON" },
		{ "0x10", "not JSON" },
		{ "060", "not JSON" },
		{ "+60", "not JSON" },
	};
	struct auth_answer	 aa;
	char			*body;
	u_int			 i;

	(void)state;
	parse(200, "{\"allow\": true, \"ttl\": 0}", &aa);
	assert_int_equal(aa.ttl, 0);
	auth_answer_clear(&aa);
	parse(200, "{\"allow\": true, \"ttl\": 2592000}", &aa);
	assert_int_equal(AUTH_TTL_MAX, 2592000);
	assert_int_equal(aa.ttl, AUTH_TTL_MAX);
	auth_answer_clear(&aa);
	parse(200, "{\"allow\": false, \"reason\": \"x\", \"ttl\": 86400}", &aa);
	assert_int_equal(aa.kind, AUTH_DENY);
	assert_int_equal(aa.ttl, 86400);
	auth_answer_clear(&aa);
	parse(200, "{\"allow\": false, \"reason\": \"x\"}", &aa);
	assert_int_equal(aa.ttl, -1);
	auth_answer_clear(&aa);

	for (i = 0; i < nitems(bad); i++) {
		xasprintf(&body, "{\"allow\": true, \"ttl\": %s}",
		    bad[i].value);
		expect_fail(body, strlen(body), bad[i].why);
		free(body);
		xasprintf(&body, "{\"allow\": false, \"reason\": \"banned\", "
		    "\"ttl\": %s}", bad[i].value);
		expect_fail(body, strlen(body), bad[i].why);
		free(body);
	}
}

/* ---- deny -------------------------------------------------------------- */

/* A deny with its reason, message and ttl. */
static void
test_deny(void **state)
{
	struct auth_answer	 aa;

	(void)state;
	parse(200, "{\"allow\": false, \"reason\": \"banned\", \"message\": "
	    "\"You are banned until Friday.\"}", &aa);
	assert_int_equal(aa.kind, AUTH_DENY);
	assert_string_equal(aa.reason, "banned");
	assert_string_equal(aa.message, "You are banned until Friday.");
	assert_int_equal(aa.ttl, -1);
	assert_null(aa.why);
	auth_answer_clear(&aa);

	parse(200, "{\"reason\": \"no-subscription_2\", \"allow\": false}",
	    &aa);
	assert_int_equal(aa.kind, AUTH_DENY);
	assert_string_equal(aa.reason, "no-subscription_2");
	assert_null(aa.message);
	auth_answer_clear(&aa);
}

/* Reasons: ids of [a-z0-9_-], 1 to 32 bytes; anything else fails. */
static void
test_deny_reasons(void **state)
{
	static const char *good[] = {
		"a", "0", "-", "_", "banned", "ban-2024_x",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32 */
	};
	static const struct {
		const char	*value;
		const char	*why;
	} bad[] = {
		{ "\"\"", "is not an id" },
		{ "\"abcdefghijklmnopqrstuvwxyz0123456\"", "is not an id" },
		{ "\"Banned\"", "is not an id" },
		{ "\"ban ned\"", "is not an id" },
		{ "\"ban.ned\"", "is not an id" },
		{ "\"ban/ned\"", "is not an id" },
		{ "\"b\\u00e4n\"", "is not an id" },
		{ "\"ban\\u0000\"", "is not an id" },
		{ "\"\\u0000\"", "is not an id" },
		{ "\"ban\\n\"", "is not an id" },
		{ "\"\\u001b[2J\"", "is not an id" },
		{ "5", "reason is not a string" },
		{ "true", "reason is not a string" },
		{ "null", "reason is not a string" },
		{ "[\"banned\"]", "reason is not a string" },
		{ "{\"id\": \"banned\"}", "reason is not a string" },
	};
	struct auth_answer	 aa;
	const char		*lit;
	char			*body;
	u_int			 i;

	(void)state;
	for (i = 0; i < nitems(good); i++) {
		xasprintf(&body, "{\"allow\": false, \"reason\": \"%s\"}",
		    good[i]);
		parse(200, body, &aa);
		free(body);
		assert_int_equal(aa.kind, AUTH_DENY);
		assert_string_equal(aa.reason, good[i]);
		auth_answer_clear(&aa);
	}
	for (i = 0; i < nitems(bad); i++) {
		xasprintf(&body, "{\"allow\": false, \"reason\": %s}",
		    bad[i].value);
		expect_fail(body, strlen(body), bad[i].why);
		free(body);
	}
	lit = "{\"allow\": false}";
	expect_fail(lit, strlen(lit), "reason is missing");
	lit = "{\"allow\": false, \"message\": \"bye\"}";
	expect_fail(lit, strlen(lit), "reason is missing");
	/* The reason is quoted in why, escaped. */
	parse(200, "{\"allow\": false, \"reason\": \"\\u001b]0;pwned\\u0007\"}",
	    &aa);
	assert_int_equal(aa.kind, AUTH_FAIL);
	assert_non_null(strstr(aa.why, "\\x1b]0;pwned\\x07"));
	auth_answer_clear(&aa);
}

/* 401 and 403 refuse, with the deny body's details or without any. */
static void
test_refusal_status(void **state)
{
	static const long statuses[] = { 401, 403 };
	static const char *ignored[] = {
		"not json",
		"<html><body>Forbidden</body></html>",
		"{\"allow\": true}",
		"{\"allow\": true, \"message\": \"come in\"}",
		"{\"allow\": false}",
		"{\"allow\": false, \"reason\": \"Bad Id\", \"message\": \"x\"}",
		"{\"allow\": false, \"reason\": \"banned\", \"message\": 5}",
		"{\"allow\": false, \"reason\": \"banned\", \"ttl\": -5}",
		"{\"allow\": false, \"reason\": \"banned\", \"message\": \"x\", "
		    "\"message\": \"y\"}",
		"{\"error\": \"unauthorized\"}",
		"[]",
		"\xff\xfe",
	};
	static const char deny[] = "{\"allow\": false, \"reason\": \"banned\"}";
	struct auth_answer	 aa;
	u_int			 i, k;
	char			 big[AUTH_BODY_MAX + 10];

	(void)state;
	for (k = 0; k < nitems(statuses); k++) {
		/* No body. */
		parse_n(statuses[k], NULL, 0, 0, &aa);
		assert_int_equal(aa.kind, AUTH_DENY);
		assert_string_equal(aa.reason, "denied");
		assert_null(aa.message);
		assert_null(aa.why);
		assert_int_equal(aa.ttl, -1);
		auth_answer_clear(&aa);

		/* The contract's deny body: all of it is used. */
		parse(statuses[k], "{\"allow\": false, \"reason\": \"suspended\","
		    " \"message\": \"Suspended: see the forum.\", \"ttl\": 300}",
		    &aa);
		assert_int_equal(aa.kind, AUTH_DENY);
		assert_string_equal(aa.reason, "suspended");
		assert_string_equal(aa.message, "Suspended: see the forum.");
		assert_int_equal(aa.ttl, 300);
		assert_null(aa.why);
		auth_answer_clear(&aa);

		/* Any other body: a deny still, without its message. */
		for (i = 0; i < nitems(ignored); i++) {
			parse(statuses[k], ignored[i], &aa);
			if (aa.kind != AUTH_DENY)
				fail_msg("%ld \"%s\": not a deny", statuses[k],
				    ignored[i]);
			assert_string_equal(aa.reason, "denied");
			assert_null(aa.message);
			assert_int_equal(aa.ttl, -1);
			assert_non_null(aa.why);
			assert_non_null(strstr(aa.why, "ignored"));
			auth_answer_clear(&aa);
		}

		/* Too big: a deny, the body unread. */
		memset(big, ' ', sizeof big);
		memcpy(big, deny, strlen(deny));
		parse_n(statuses[k], big, sizeof big, 0, &aa);
		assert_int_equal(aa.kind, AUTH_DENY);
		assert_string_equal(aa.reason, "denied");
		assert_non_null(strstr(aa.why, "body over 65536 bytes"));
		auth_answer_clear(&aa);
		parse_n(statuses[k], big, 100, 1, &aa);
		assert_int_equal(aa.kind, AUTH_DENY);
		assert_string_equal(aa.reason, "denied");
		auth_answer_clear(&aa);
	}
}

/* ---- statuses ---------------------------------------------------------- */

/* Only 200, 401 and 403 are answers; every other status is a failure. */
static void
test_status_classes(void **state)
{
	static const struct {
		long		 status;
		const char	*why;
	} fails[] = {
		{ 300, "redirect (status 300)" },
		{ 301, "redirect (status 301)" },
		{ 302, "redirect (status 302)" },
		{ 303, "redirect (status 303)" },
		{ 304, "redirect (status 304)" },
		{ 307, "redirect (status 307)" },
		{ 308, "redirect (status 308)" },
		{ 399, "redirect (status 399)" },
		{ 500, "server error (status 500)" },
		{ 502, "server error (status 502)" },
		{ 503, "server error (status 503)" },
		{ 504, "server error (status 504)" },
		{ 599, "server error (status 599)" },
		{ 0, "unexpected status 0" },
		{ -1, "unexpected status -1" },
		{ 100, "unexpected status 100" },
		{ 199, "unexpected status 199" },
		{ 201, "unexpected status 201" },
		{ 202, "unexpected status 202" },
		{ 204, "unexpected status 204" },
		{ 206, "unexpected status 206" },
		{ 299, "unexpected status 299" },
		{ 400, "unexpected status 400" },
		{ 402, "unexpected status 402" },
		{ 404, "unexpected status 404" },
		{ 407, "unexpected status 407" },
		{ 418, "unexpected status 418" },
		{ 429, "unexpected status 429" },
		{ 499, "unexpected status 499" },
		{ 600, "unexpected status 600" },
		{ 2000, "unexpected status 2000" },
		{ LONG_MAX, "unexpected status" },
		{ LONG_MIN, "unexpected status" },
	};
	static const char *bodies[] = {
		"{\"allow\": true}",
		"{\"allow\": false, \"reason\": \"banned\", \"message\": \"no\"}",
		"",
		"garbage",
	};
	struct auth_answer	 aa;
	u_int			 i, k;

	(void)state;
	for (i = 0; i < nitems(fails); i++) {
		for (k = 0; k < nitems(bodies); k++) {
			parse(fails[i].status, bodies[k], &aa);
			if (aa.kind != AUTH_FAIL)
				fail_msg("status %ld \"%s\": not a failure",
				    fails[i].status, bodies[k]);
			if (strstr(aa.why, fails[i].why) == NULL)
				fail_msg("status %ld: why \"%s\"",
				    fails[i].status, aa.why);
			auth_answer_clear(&aa);
		}
	}
}

/* ---- malformed bodies -------------------------------------------------- */

/* Bodies of a 200 that are not the contract, with what why must say. */
static void
test_body_malformed(void **state)
{
	static const struct {
		const char	*body;
		const char	*why;
	} bad[] = {
		/* Not JSON. */
		{ " ", "not JSON" },
		{ "\n\n", "not JSON" },
		{ "allow", "not JSON" },
		{ "OK", "not JSON" },
		{ "<html>Internal error</html>", "not JSON" },
		{ "{", "not JSON" },
		{ "}", "not JSON" },
		{ "{\"allow\": true", "not JSON" },
		{ "{\"allow\": tru}", "not JSON" },
		{ "{\"allow\": True}", "not JSON" },
		{ "{\"allow\": true,}", "not JSON" },
		{ "{\"allow\": true}}", "not JSON" },
		{ "{\"allow\": true} x", "not JSON" },
		{ "{\"allow\": true}{\"allow\": true}", "not JSON" },
		{ "{\"allow\": true}\n{\"allow\": false}", "not JSON" },
		{ "{'allow': true}", "not JSON" },
		{ "{allow: true}", "not JSON" },
		{ "{\"allow\" true}", "not JSON" },
		{ "{\"allow\": true /* ok */}", "not JSON" },
		{ "// ok\n{\"allow\": true}", "not JSON" },
		{ "{\"allow\": true, \"ttl\": NaN}", "not JSON" },
		{ "{\"allow\": true, \"ttl\": Infinity}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"a\tb\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"a\nb\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"\\x41\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"\\ud800\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"\\udc00\\ud800\"}",
		    "not JSON" },
		{ "{\"allow\": true, \"message\": \"\\u12\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": 'hi'}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"unterminated}", "not JSON" },
		{ "\xef\xbb\xbf{\"allow\": true}", "not JSON" },	/* BOM */
		{ "{\"allow\": true, \"message\": \"\xff\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"\xc0\xaf\"}", "not JSON" },
		{ "{\"allow\": true, \"message\": \"\xed\xa0\x80\"}",
		    "not JSON" },
		{ "{\"allow\": true, \"message\": \"\xe2\x82\"}", "not JSON" },
		{ "{\"a\\u0000b\": 1, \"allow\": true}", "not JSON" },
		/* Duplicate keys, at any depth. */
		{ "{\"allow\": true, \"allow\": false}", "duplicate" },
		{ "{\"allow\": false, \"allow\": true}", "duplicate" },
		{ "{\"allow\": true, \"allow\": true}", "duplicate" },
		{ "{\"allow\": true, \"tier\": \"vip\", \"tier\": \"gold\"}",
		    "duplicate" },
		{ "{\"allow\": true, \"x\": {\"a\": 1, \"a\": 2}}", "duplicate" },
		/* JSON, but not an object. */
		{ "null", NULL },
		{ "true", NULL },
		{ "1", NULL },
		{ "\"allow\"", NULL },
		{ "[]", "not a JSON object" },
		{ "[{\"allow\": true}]", "not a JSON object" },
		/* allow missing or not a boolean. */
		{ "{}", "allow is missing" },
		{ "{\"Allow\": true}", "allow is missing" },
		{ "{\"allowed\": true}", "allow is missing" },
		{ "{\"ok\": true, \"tier\": \"vip\"}", "allow is missing" },
		{ "{\"allow\": 1}", "allow is not true or false" },
		{ "{\"allow\": 0}", "allow is not true or false" },
		{ "{\"allow\": \"true\"}", "allow is not true or false" },
		{ "{\"allow\": \"yes\"}", "allow is not true or false" },
		{ "{\"allow\": null}", "allow is not true or false" },
		{ "{\"allow\": []}", "allow is not true or false" },
		{ "{\"allow\": [true]}", "allow is not true or false" },
		{ "{\"allow\": {}}", "allow is not true or false" },
		/* Wrong types for the rest. */
		{ "{\"allow\": true, \"tier\": 5}", "tier is not a string" },
		{ "{\"allow\": true, \"tier\": null}", "tier is not a string" },
		{ "{\"allow\": true, \"tier\": true}", "tier is not a string" },
		{ "{\"allow\": true, \"tier\": [\"vip\"]}",
		    "tier is not a string" },
		{ "{\"allow\": true, \"tier\": {\"name\": \"vip\"}}",
		    "tier is not a string" },
		{ "{\"allow\": true, \"message\": 5}",
		    "message is not a string" },
		{ "{\"allow\": true, \"message\": null}",
		    "message is not a string" },
		{ "{\"allow\": true, \"message\": false}",
		    "message is not a string" },
		{ "{\"allow\": true, \"message\": [\"hi\"]}",
		    "message is not a string" },
		{ "{\"allow\": true, \"message\": {\"text\": \"hi\"}}",
		    "message is not a string" },
		{ "{\"allow\": false, \"reason\": \"x\", \"message\": 1}",
		    "message is not a string" },
	};
	static const char nul_raw[] = "{\"allow\": true, \"message\": \"a\0b\"}";
	static const char nul_after[] = "{\"allow\": true}\0";
	static const char nul_before[] = "\0{\"allow\": true}";
	static const char nul_inside[] = "{\"allow\":\0 true}";
	u_int	 i;

	(void)state;
	for (i = 0; i < nitems(bad); i++)
		expect_fail(bad[i].body, strlen(bad[i].body), bad[i].why);

	/* NUL bytes in the body itself. */
	expect_fail(nul_raw, sizeof nul_raw - 1, "not JSON");
	expect_fail(nul_after, sizeof nul_after - 1, "not JSON");
	expect_fail(nul_before, sizeof nul_before - 1, "not JSON");
	expect_fail(nul_inside, sizeof nul_inside - 1, "not JSON");
	/* Nothing at all. */
	expect_fail("", 0, "empty body");
	expect_fail(NULL, 0, "empty body");
}

/* JSON nested far deeper than any parser should follow: a failure. */
static void
test_body_deep(void **state)
{
	char	*body;
	size_t	 depth = 20000, i;

	(void)state;
	body = xmalloc(2 * depth + 32);
	memcpy(body, "{\"allow\": true, \"x\": ", 21);
	for (i = 0; i < depth; i++)
		body[21 + i] = '[';
	for (i = 0; i < depth; i++)
		body[21 + depth + i] = ']';
	body[21 + 2 * depth] = '}';
	expect_fail(body, 22 + 2 * depth, "not JSON");
	free(body);
}

/* The size bound: at it is read; past it, or cut, is a failure. */
static void
test_body_size(void **state)
{
	struct auth_answer	 aa;
	char			*body;
	size_t			 len;

	(void)state;
	body = xmalloc(AUTH_BODY_MAX + 100);
	len = (size_t)snprintf(body, 64, "{\"allow\": true, \"pad\": \"");
	memset(body + len, 'x', AUTH_BODY_MAX - len - 2);
	memcpy(body + AUTH_BODY_MAX - 2, "\"}", 2);
	parse_n(200, body, AUTH_BODY_MAX, 0, &aa);
	assert_int_equal(aa.kind, AUTH_ALLOW);
	auth_answer_clear(&aa);

	/* The caller stopped reading at the bound: whatever it got fails. */
	parse_n(200, body, AUTH_BODY_MAX, 1, &aa);
	assert_int_equal(aa.kind, AUTH_FAIL);
	assert_string_equal(aa.why, "body over 65536 bytes");
	auth_answer_clear(&aa);
	parse_n(200, "{\"allow\": true}", 15, 1, &aa);
	assert_int_equal(aa.kind, AUTH_FAIL);
	auth_answer_clear(&aa);

	/* More than the bound, even unflagged. */
	memset(body + AUTH_BODY_MAX - 2, ' ', 100);
	memcpy(body + AUTH_BODY_MAX + 98, "\"}", 2);
	parse_n(200, body, AUTH_BODY_MAX + 100, 0, &aa);
	assert_int_equal(aa.kind, AUTH_FAIL);
	assert_string_equal(aa.why, "body over 65536 bytes");
	auth_answer_clear(&aa);
	free(body);
}

/* A good body cut at every length: only the whole of it is an answer. */
static void
test_body_cut(void **state)
{
	static const char deny[] = "{\"allow\": false, \"reason\": \"banned\", "
	    "\"message\": \"Gone fishing \\u2014 back at 5\", \"ttl\": 120}";
	struct auth_answer	 aa;
	size_t			 len;

	(void)state;
	for (len = 0; len < sizeof deny - 1; len++)
		expect_fail(deny, len, NULL);
	parse_n(200, deny, sizeof deny - 1, 0, &aa);
	assert_int_equal(aa.kind, AUTH_DENY);
	assert_string_equal(aa.message, "Gone fishing \xe2\x80\x94 back at 5");
	assert_int_equal(aa.ttl, 120);
	auth_answer_clear(&aa);
}

/*
 * Good bodies with bytes changed at random: whatever comes of them, the
 * parser returns an answer that keeps every rule (parse_n checks them).
 */
static void
test_body_mangled(void **state)
{
	static const char *seeds[] = {
		"{\"allow\": true, \"tier\": \"vip\", \"ttl\": 3600, "
		    "\"message\": \"Welcome, \\u00e9l\\u00e8ve \\ud83c\\udfae\"}",
		"{\"allow\": false, \"reason\": \"banned\", \"message\": "
		    "\"Banned \\u001b[31m for cheating\\n\", \"ttl\": 60}",
	};
	static const char bytes[] = "{}[]\":,\\ \n\x01\x1b\x7f\x80\xc3\xe2"
	    "\xf0\xff\0aeu0123456789-tfn";
	struct auth_answer	 aa;
	char			 buf[512];
	uint32_t		 x = 777;
	size_t			 len;
	u_int			 i, k, n, kinds[3] = { 0, 0, 0 };

	(void)state;
	for (i = 0; i < 20000; i++) {
		const char *seed = seeds[i % nitems(seeds)];

		len = strlen(seed);
		memcpy(buf, seed, len);
		x = x * 1664525u + 1013904223u;
		n = 1 + (x >> 28);
		for (k = 0; k < n; k++) {
			x = x * 1664525u + 1013904223u;
			buf[(x >> 8) % len] = bytes[(x >> 20) %
			    (sizeof bytes - 1)];
		}
		parse_n(i % 7 == 0 ? 403 : 200, buf, len, 0, &aa);
		kinds[aa.kind]++;
		auth_answer_clear(&aa);
	}
	/* Some survived a change, most did not. */
	assert_true(kinds[AUTH_FAIL] > 1000);
	assert_true(kinds[AUTH_ALLOW] + kinds[AUTH_DENY] > 100);
}

/* ---- the message ------------------------------------------------------- */

/* Text a terminal would act on comes out as visible escapes. */
static void
test_message_escaped(void **state)
{
	(void)state;
	expect_message("\"plain text, nothing to do\"",
	    "plain text, nothing to do");
	expect_message("\"\\u001b[2J\\u001b[Hgotcha\"", "\\x1b[2J\\x1b[Hgotcha");
	expect_message("\"title\\u001b]0;owned\\u0007\"",
	    "title\\x1b]0;owned\\x07");
	expect_message("\"bell\\u0007 bs\\b ff\\f vt\\u000b del\\u007f\"",
	    "bell\\x07 bs\\x08 ff\\x0c vt\\x0b del\\x7f");
	/* C1 controls (CSI as one code point). */
	expect_message("\"\\u009b2J \\u0085\"", "\\xc2\\x9b2J \\xc2\\x85");
	/* Bidi overrides and zero widths: shown, not obeyed. */
	expect_message("\"abc\\u202edef\\u200b\\u2066x\\u2069\"",
	    "abc\\u{202e}def\\u{200b}\\u{2066}x\\u{2069}");
	expect_message("\"\\ufeffBOM\"", "\\u{feff}BOM");
	/* A backslash is harmless on a terminal: it stays one. */
	expect_message("\"C:\\\\games\\\\nethack\"", "C:\\games\\nethack");
	/* Text in any script stays as it is. */
	expect_message("\"\\u00e9t\\u00e9 \\u2014 \\u65e5\\u672c \\ud83c\\udfae\"",
	    "\xc3\xa9t\xc3\xa9 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac "
	    "\xf0\x9f\x8e\xae");
	expect_message("\"\xc3\xa9t\xc3\xa9 raw\"", "\xc3\xa9t\xc3\xa9 raw");
}

/* A long message of nothing but controls: escapes only, to the cut. */
static void
test_message_long_hostile(void **state)
{
	char	*json, *got, *want;
	size_t	 len = 0;
	u_int	 i;

	(void)state;
	json = xmalloc(2 + 100 * 9 + 1);
	json[len++] = '"';
	for (i = 0; i < 100; i++) {
		memcpy(json + len, "\\u001b[1m", 9);
		len += 9;
	}
	json[len++] = '"';
	json[len] = '\0';
	got = message_of(json);
	/*
	 * "\x1b[1m" is 7 bytes: 28 of them fit in 200, and the next one's
	 * escape (4 bytes) too.
	 */
	want = xmalloc(AUTH_MESSAGE_MAX + 1);
	want[0] = '\0';
	for (i = 0; i < 28; i++)
		strcat(want, "\\x1b[1m");
	strcat(want, "\\x1b");
	assert_string_equal(got, want);
	assert_null(strchr(got, '\x1b'));
	free(want);
	free(got);
	free(json);
}

/* Line breaks, tabs and NULs become spaces; blank ends go; empty is none. */
static void
test_message_blanks(void **state)
{
	char	*body;
	size_t	 len, i;

	(void)state;
	expect_message("\"line one\\nline two\\r\\nthree\\tfour\"",
	    "line one line two  three four");
	expect_message("\"nul\\u0000inside\"", "nul inside");
	expect_message("\"\\u0000\\u0000lead and trail\\u0000\"",
	    "lead and trail");
	expect_message("\"  \\n\\t padded \\n \"", "padded");
	expect_message("\"\"", NULL);
	expect_message("\" \"", NULL);
	expect_message("\"\\n\\r\\t\\u0000 \"", NULL);

	/* A thousand blank lines do not hide the text after them. */
	body = xmalloc(6 * 1000 + 16);
	len = 0;
	body[len++] = '"';
	for (i = 0; i < 1000; i++) {
		memcpy(body + len, "\\n", 2);
		len += 2;
	}
	memcpy(body + len, "hello\"", 7);
	expect_message(body, "hello");
	free(body);
}

/* Cut at AUTH_MESSAGE_MAX bytes, never inside a character or an escape. */
static void
test_message_cut(void **state)
{
	static const struct {
		u_int		 pad;		/* 'a's before the tail */
		const char	*tail;		/* JSON text, then "zzz" */
		const char	*out;		/* what follows the 'a's */
	} cuts[] = {
		{ 200, "", "" },
		{ 300, "", "" },
		{ 197, "", "zzz" },
		{ 198, "", "zz" },
		{ 199, "b", "b" },
		{ 200, "b", "" },
		{ 190, "\\u00e9", "\xc3\xa9zzz" },
		{ 198, "\\u00e9", "\xc3\xa9" },		/* 2 bytes fit */
		{ 199, "\\u00e9", "" },			/* 2 bytes, 1 left */
		{ 196, "\\ud83c\\udfae", "\xf0\x9f\x8e\xae" },
		{ 197, "\\ud83c\\udfae", "" },		/* 4 bytes, 3 left */
		{ 199, "\\ud83c\\udfae", "" },
		{ 197, "\\u2014", "\xe2\x80\x94" },
		{ 198, "\\u2014", "" },
		{ 196, "\\u001b", "\\x1b" },		/* the escape fits */
		{ 197, "\\u001b", "" },			/* 4 bytes, 3 left */
		{ 199, "\\u001b", "" },
		{ 192, "\\u202e", "\\u{202e}" },	/* 8 bytes */
		{ 193, "\\u202e", "" },
		{ 192, "\\u009b", "\\xc2\\x9b" },	/* 8 bytes */
		{ 195, "\\u009b", "" },
	};
	char	*json, *want, *got;
	size_t	 a;
	u_int	 i;

	(void)state;
	for (i = 0; i < nitems(cuts); i++) {
		json = xmalloc(cuts[i].pad + strlen(cuts[i].tail) + 16);
		json[0] = '"';
		memset(json + 1, 'a', cuts[i].pad);
		json[1 + cuts[i].pad] = '\0';
		strcat(json, cuts[i].tail);
		strcat(json, "zzz\"");
		a = cuts[i].pad < AUTH_MESSAGE_MAX ? cuts[i].pad :
		    AUTH_MESSAGE_MAX;
		want = xmalloc(a + strlen(cuts[i].out) + 1);
		memset(want, 'a', a);
		strcpy(want + a, cuts[i].out);
		got = message_of(json);
		assert_non_null(got);
		if (strcmp(got, want) != 0)
			fail_msg("pad %u tail %s: got %zu bytes \"%s\", "
			    "expected %zu \"%s\"", cuts[i].pad, cuts[i].tail,
			    strlen(got), got, strlen(want), want);
		assert_true(strlen(got) <= AUTH_MESSAGE_MAX);
		free(got);
		free(want);
		free(json);
	}
}

/* ---- clearing and broken invariants ------------------------------------ */

/* Clearing frees everything and leaves an empty answer, twice over. */
static void
test_clear(void **state)
{
	struct auth_answer	 aa;

	(void)state;
	parse(200, "{\"allow\": true, \"tier\": \"vip\", \"message\": \"hi\"}",
	    &aa);
	auth_answer_clear(&aa);
	assert_null(aa.tier);
	assert_null(aa.reason);
	assert_null(aa.message);
	assert_null(aa.why);
	assert_int_equal(aa.ttl, -1);
	auth_answer_clear(&aa);
	assert_null(aa.tier);
}

/* Parse with no configuration to check a tier against. */
static void
parse_without_config(void *arg)
{
	struct auth_answer	 aa;

	(void)arg;
	auth_answer_parse(200, "{\"allow\": true}", 15, 0, NULL, &aa);
}

/* Asking without a configuration is the caller's bug. */
static void
test_no_config(void **state)
{
	(void)state;
	assert_dies(parse_without_config, NULL,
	    "auth_answer_parse: no configuration");
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_minimal),
		cmocka_unit_test(test_allow_tiers),
		cmocka_unit_test(test_allow_unknown_tier),
		cmocka_unit_test(test_allow_extra_fields),
		cmocka_unit_test(test_ttl),
		cmocka_unit_test(test_deny),
		cmocka_unit_test(test_deny_reasons),
		cmocka_unit_test(test_refusal_status),
		cmocka_unit_test(test_status_classes),
		cmocka_unit_test(test_body_malformed),
		cmocka_unit_test(test_body_deep),
		cmocka_unit_test(test_body_size),
		cmocka_unit_test(test_body_cut),
		cmocka_unit_test(test_body_mangled),
		cmocka_unit_test(test_message_escaped),
		cmocka_unit_test(test_message_long_hostile),
		cmocka_unit_test(test_message_blanks),
		cmocka_unit_test(test_message_cut),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_no_config),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
