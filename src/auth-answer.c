/*
 * The auth service's answer, checked against the contract:
 *
 *	200 {"allow": true, "tier"?: NAME, "message"?: TEXT, "ttl"?: SECONDS}
 *	200 {"allow": false, "reason": ID, "message"?: TEXT, "ttl"?: SECONDS}
 *	401 or 403, with that deny body or any other (or none)
 *
 * The first admits (in the tier named, which a [quota:NAME] must define;
 * absent, the local tier), the others refuse. Anything else is a failure,
 * with a line for the log saying what was wrong. Fields the contract does
 * not name are ignored; the ones it names must have exactly their type.
 * No event loop here: the HTTP call is the caller's, this only reads what
 * came back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* Bytes of a peer's text quoted in a why line, escaped. */
#define AUTH_WHY_QUOTE	64
/*
 * Input bytes the message may need: each gives at least one byte out, and
 * the character at the cut may be a whole UTF-8 sequence (four bytes).
 */
#define AUTH_MESSAGE_INPUT (AUTH_MESSAGE_MAX + 8)

/* Fill a failure, why made from a format (peer text already escaped). */
static void printflike(2, 3)
auth_fail(struct auth_answer *aa, const char *fmt, ...)
{
	va_list	 ap;

	auth_answer_clear(aa);
	aa->kind = AUTH_FAIL;
	va_start(ap, fmt);
	xvasprintf(&aa->why, fmt, ap);
	va_end(ap);
}

/* Text from the service, escaped and bounded for a why line. */
static char *
auth_quote(const char *s)
{
	return util_escape(s, AUTH_WHY_QUOTE);
}

/* Is a JSON string a reason id, [a-z0-9_-]{1,AUTH_REASON_MAX}? */
static int
auth_valid_reason(const json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 len = json_string_length(v), i;

	if (len == 0 || len > AUTH_REASON_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Is c shown as a space in a message (a blank, a line break, a NUL)? */
static int
auth_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

/*
 * The service's message made safe for a terminal: tabs, line breaks and
 * NUL bytes become spaces, other controls, invisible code points and
 * bytes that are not UTF-8 become visible escapes (util_escape_buf's
 * rules; a backslash stays itself, since it does nothing on a terminal),
 * blanks at either end go, and the result is cut at AUTH_MESSAGE_MAX
 * bytes, never inside a character or an escape. NULL when nothing is left.
 */
static char *
auth_safe_message(const char *s, size_t len)
{
	char	 in[AUTH_MESSAGE_INPUT + 1], out[AUTH_MESSAGE_MAX + 1];
	char	*end;
	size_t	 i, n;

	/* Skipped before the copy, so that no run of them hides the text. */
	while (len > 0 && auth_is_space(*s)) {
		s++;
		len--;
	}
	n = len < AUTH_MESSAGE_INPUT ? len : AUTH_MESSAGE_INPUT;
	for (i = 0; i < n; i++)
		in[i] = auth_is_space(s[i]) ? ' ' : s[i];
	in[n] = '\0';
	util_escape_buf(out, sizeof out, in, UTIL_ESCAPE_KEEP_BACKSLASH);
	end = out + strlen(out);
	while (end > out && end[-1] == ' ')
		*--end = '\0';
	if (*out == '\0')
		return NULL;
	return xstrdup(out);
}

/*
 * Check a body against the contract and fill aa from it (kind, tier,
 * reason, message, ttl). Returns 0, or -1 with *why.
 */
static int
auth_read_body(const char *body, size_t len, const struct config *cfg,
    struct auth_answer *aa, char **why)
{
	const struct config_quota	*q;
	json_t				*o, *allow, *tier, *reason, *ttl, *msg;
	json_error_t			 err;
	json_int_t			 secs;
	char				*text;

	o = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &err);
	if (o == NULL) {
		text = auth_quote(err.text);
		xasprintf(why, "body is not JSON: %s (line %d, column %d)",
		    text, err.line, err.column);
		free(text);
		return -1;
	}
	if (!json_is_object(o)) {
		*why = xstrdup("body is not a JSON object");
		goto bad;
	}

	allow = json_object_get(o, "allow");
	if (allow == NULL) {
		*why = xstrdup("allow is missing");
		goto bad;
	}
	if (!json_is_boolean(allow)) {
		*why = xstrdup("allow is not true or false");
		goto bad;
	}
	aa->kind = json_is_true(allow) ? AUTH_ALLOW : AUTH_DENY;

	if (aa->kind == AUTH_ALLOW && (tier = json_object_get(o, "tier")) !=
	    NULL) {
		if (!json_is_string(tier)) {
			*why = xstrdup("tier is not a string");
			goto bad;
		}
		q = NULL;
		if (strlen(json_string_value(tier)) == json_string_length(tier))
			q = config_find_quota(cfg, json_string_value(tier));
		if (q == NULL) {
			text = auth_quote(json_string_value(tier));
			xasprintf(why, "tier \"%s\" is not a [quota:NAME]",
			    text);
			free(text);
			goto bad;
		}
		aa->tier = xstrdup(q->name);
	}

	if (aa->kind == AUTH_DENY) {
		reason = json_object_get(o, "reason");
		if (reason == NULL) {
			*why = xstrdup("reason is missing on a deny");
			goto bad;
		}
		if (!json_is_string(reason)) {
			*why = xstrdup("reason is not a string");
			goto bad;
		}
		if (!auth_valid_reason(reason)) {
			text = auth_quote(json_string_value(reason));
			xasprintf(why, "reason \"%s\" is not an id "
			    "([a-z0-9_-], 1 to %d)", text, AUTH_REASON_MAX);
			free(text);
			goto bad;
		}
		aa->reason = xstrdup(json_string_value(reason));
	}

	if ((ttl = json_object_get(o, "ttl")) != NULL) {
		if (!json_is_integer(ttl)) {
			*why = xstrdup("ttl is not an integer");
			goto bad;
		}
		secs = json_integer_value(ttl);
		if (secs < 0) {
			*why = xstrdup("ttl is negative");
			goto bad;
		}
		if (secs > AUTH_TTL_MAX) {
			xasprintf(why, "ttl %lld is over %d", (long long)secs,
			    AUTH_TTL_MAX);
			goto bad;
		}
		aa->ttl = (int64_t)secs;
	}

	if ((msg = json_object_get(o, "message")) != NULL) {
		if (!json_is_string(msg)) {
			*why = xstrdup("message is not a string");
			goto bad;
		}
		aa->message = auth_safe_message(json_string_value(msg),
		    json_string_length(msg));
	}

	json_decref(o);
	return 0;

bad:
	json_decref(o);
	return -1;
}

/*
 * A 401 or 403: a deny whatever the body says. A body that is the deny
 * contract gives its reason, message and ttl; any other is ignored, and
 * why says why.
 */
static void
auth_read_refusal(long status, const char *body, size_t len, int truncated,
    const struct config *cfg, struct auth_answer *aa)
{
	char	*why = NULL;

	if (truncated)
		xasprintf(&why, "body over %d bytes", AUTH_BODY_MAX);
	else if (len != 0 && auth_read_body(body, len, cfg, aa, &why) == 0 &&
	    aa->kind == AUTH_ALLOW)
		xasprintf(&why, "allow on status %ld", status);
	if (len == 0 || why != NULL) {
		auth_answer_clear(aa);
		aa->reason = xstrdup("denied");
		if (why != NULL)
			xasprintf(&aa->why, "%s; ignored", why);
	}
	free(why);
	aa->kind = AUTH_DENY;
}

/*
 * Read the service's answer: the HTTP status, the body (len bytes, not
 * NUL-terminated; truncated when the caller stopped at AUTH_BODY_MAX) and
 * the configuration whose tiers an allow may name. Fills aa and returns
 * 0 whatever came: kind says allow, deny or fail. An allow's tier is NULL
 * for the local tier; a deny's reason is the service's id or "denied";
 * message is safe for a terminal, or NULL; ttl is -1 when absent (the
 * caller applies AUTH_DENY_TTL_DEFAULT and the tier's expiry). why says
 * what was wrong, for the log, escaped already: on a failure always, on
 * a 401 or 403 when its body was ignored. Free with auth_answer_clear.
 */
int
auth_answer_parse(long status, const char *body, size_t len, int truncated,
    const struct config *cfg, struct auth_answer *aa)
{
	char	*why = NULL;

	if (cfg == NULL)
		fatalx("auth_answer_parse: no configuration");
	memset(aa, 0, sizeof *aa);
	aa->ttl = -1;
	if (body == NULL)
		len = 0;
	if (len > AUTH_BODY_MAX)
		truncated = 1;

	if (status == 401 || status == 403) {
		auth_read_refusal(status, body, len, truncated, cfg, aa);
		return 0;
	}
	if (status >= 300 && status <= 399) {
		auth_fail(aa, "redirect (status %ld)", status);
		return 0;
	}
	if (status >= 500 && status <= 599) {
		auth_fail(aa, "server error (status %ld)", status);
		return 0;
	}
	if (status != 200) {
		auth_fail(aa, "unexpected status %ld", status);
		return 0;
	}
	if (truncated) {
		auth_fail(aa, "body over %d bytes", AUTH_BODY_MAX);
		return 0;
	}
	if (len == 0) {
		auth_fail(aa, "empty body");
		return 0;
	}
	if (auth_read_body(body, len, cfg, aa, &why) != 0) {
		auth_fail(aa, "%s", why);
		free(why);
	}
	return 0;
}

/* Free what an answer holds and leave it empty. */
void
auth_answer_clear(struct auth_answer *aa)
{
	free(aa->tier);
	free(aa->reason);
	free(aa->message);
	free(aa->why);
	memset(aa, 0, sizeof *aa);
	aa->kind = AUTH_FAIL;
	aa->ttl = -1;
}
