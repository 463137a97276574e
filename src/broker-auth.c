/*
 * The auth service: sshd has authenticated the player; the service says
 * whether this account may play now, and in which tier. With [auth] url
 * empty the broker decides from Unix groups alone.
 *
 * A call is a POST of JSON, made with libcurl on a worker thread (each
 * thread keeps its own handle, and so its connections); the event loop
 * never waits on it. Verdicts are kept per user: an allow for the smaller
 * of its ttl and the tier's expires_after, a deny for its ttl. A circuit
 * breaker stands in front of the service: while it is open no call is
 * made, and each decision follows [auth] on_failure at once, as it does
 * when a call fails. Calls to the same user's account are made once:
 * connections that arrive while one is out wait for its answer.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "broker.h"

/* A call handed to a worker. */
struct auth_call {
	struct broker	*broker;
	uid_t		 uid;
	int		 probe;		/* the breaker's one probe */
	char		*url;
	char		*token;		/* NULL: no Authorization header */
	long		 timeout;	/* ms, for the whole request */
	char		*request;	/* the JSON body */

	/* What came back (on the worker). */
	long		 status;
	char		*body;
	size_t		 len;
	int		 truncated;	/* the body passed AUTH_BODY_MAX */
	CURLcode	 code;
	char		 error[CURL_ERROR_SIZE];
	int64_t		 ms;
};

static pthread_key_t	auth_handle_key;
static pthread_once_t	auth_handle_once = PTHREAD_ONCE_INIT;

static const char *auth_outcome_names[AUTH_OUTCOMES] = {
	"allow", "deny", "fail_connect", "fail_timeout", "fail_status",
	"fail_body", "skipped"
};

/* An outcome's name, for --status and the metrics. */
const char *
auth_outcome_name(enum auth_outcome o)
{
	if ((u_int)o >= AUTH_OUTCOMES)
		fatalx("auth_outcome_name: %d", (int)o);
	return auth_outcome_names[o];
}

/* A thread's handle goes with the thread. */
static void
auth_handle_free(void *h)
{
	curl_easy_cleanup(h);
}

/* Make the key under which each worker thread keeps its handle. */
static void
auth_handle_key_create(void)
{
	if (pthread_key_create(&auth_handle_key, auth_handle_free) != 0)
		fatalx("pthread_key_create failed");
}

/* This thread's curl handle, made on first use and reused after. */
static CURL *
auth_handle(void)
{
	CURL	*h;

	pthread_once(&auth_handle_once, auth_handle_key_create);
	if ((h = pthread_getspecific(auth_handle_key)) != NULL) {
		curl_easy_reset(h);
		return h;
	}
	if ((h = curl_easy_init()) == NULL)
		return NULL;
	if (pthread_setspecific(auth_handle_key, h) != 0) {
		curl_easy_cleanup(h);
		return NULL;
	}
	return h;
}

/* libcurl's writer: keep the body, up to one byte past the bound. */
static size_t
auth_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct auth_call	*ac = arg;
	size_t			 len = size * n;

	if (ac->len + len > AUTH_BODY_MAX) {
		ac->truncated = 1;
		return 0;	/* ends the transfer */
	}
	ac->body = xreallocarray(ac->body, ac->len + len + 1, 1);
	memcpy(ac->body + ac->len, data, len);
	ac->len += len;
	ac->body[ac->len] = '\0';
	return len;
}

/* On a worker: make the call. */
static void
auth_run(void *arg)
{
	struct auth_call	*ac = arg;
	struct curl_slist	*headers = NULL;
	CURL			*h;
	char			*bearer = NULL;
	int64_t			 start = util_now_ms();

	if ((h = auth_handle()) == NULL) {
		ac->code = CURLE_OUT_OF_MEMORY;
		snprintf(ac->error, sizeof ac->error, "no curl handle");
		return;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Accept: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (ac->token != NULL) {
		xasprintf(&bearer, "Authorization: Bearer %s", ac->token);
		headers = curl_slist_append(headers, bearer);
	}
	curl_easy_setopt(h, CURLOPT_URL, ac->url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ac->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ac->timeout);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "DungeonGate/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, ac->request);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(ac->request));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, auth_write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ac);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ac->error);
	ac->error[0] = '\0';
	ac->code = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ac->status);
	/* Nothing of this call stays on the handle but its connection. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	if (bearer != NULL) {
		explicit_bzero(bearer, strlen(bearer));
		free(bearer);
	}
	ac->ms = util_now_ms() - start;
}

/* Free a call. */
static void
auth_call_free(struct auth_call *ac)
{
	free(ac->url);
	if (ac->token != NULL) {
		explicit_bzero(ac->token, strlen(ac->token));
		free(ac->token);
	}
	free(ac->request);
	free(ac->body);
	free(ac);
}

/* Count a decision's outcome, and a call's time and result. */
static void
auth_count(struct broker *b, enum auth_outcome o, int64_t ms, int call)
{
	struct auth_stats	*st = &b->auth;
	int64_t			 now = util_now_ms();
	struct auth_second	*sec;
	u_int			 i;

	st->outcomes[o]++;
	if (!call)
		return;
	for (i = 0; i < WORKER_BUCKETS; i++) {
		if ((double)ms / 1000.0 <= workers_bucket(i))
			break;
	}
	st->buckets[i]++;
	st->count++;
	st->seconds += (double)ms / 1000.0;
	sec = &st->window[(now / 1000) % AUTH_WINDOW];
	if (sec->second != now / 1000) {
		sec->second = now / 1000;
		sec->calls = sec->failures = 0;
	}
	sec->calls++;
	if (o != AUTH_OUT_ALLOW && o != AUTH_OUT_DENY)
		sec->failures++;
}

/* Calls and failed calls over the last minute. */
void
auth_error_rate(struct broker *b, u_int *calls, u_int *failures)
{
	int64_t	 now = util_now_ms() / 1000;
	u_int	 i;

	*calls = *failures = 0;
	for (i = 0; i < AUTH_WINDOW; i++) {
		if (now - b->auth.window[i].second < AUTH_WINDOW) {
			*calls += b->auth.window[i].calls;
			*failures += b->auth.window[i].failures;
		}
	}
}

/* The breaker's state changed: say so. */
static void
auth_breaker_changed(struct broker *b, int64_t now)
{
	log_warn("breaker", "state=%s failures=%u",
	    breaker_state_name(breaker_state(&b->breaker, now)),
	    b->breaker.failures);
}

/* Seconds until a player should try again, after a failure. */
static int
auth_retry_after(struct broker *b, int64_t now)
{
	int64_t	 next = breaker_next_probe(&b->breaker);

	if (next > now)
		return (int)((next - now + 999) / 1000);
	return AUTH_RETRY_AFTER;
}

/* Apply a verdict to one waiting connection. */
static void
auth_apply(struct client *c, const struct auth_verdict *v, int cached)
{
	struct broker			*b = c->broker;
	const struct config_quota	*q = NULL;
	const char			*message;

	if (v->kind == AUTH_DENY) {
		message = v->message != NULL ? v->message : "Your account may "
		    "not play on DungeonGate now.";
		log_info("refused", "user=%s pid=%ld reason=%s by=auth "
		    "service_reason=%s cached=%d", client_name(c),
		    (long)c->pid, REASON_DENIED, log_quote(v->reason != NULL ?
		    v->reason : "-"), cached);
		metrics_admission(c, "refused", REASON_DENIED, -1);
		client_close(c, "refused", REASON_DENIED, message);
		return;
	}
	/* A tier that a reload took away leaves the local one. */
	free(c->u->auth_tier);
	c->u->auth_tier = NULL;
	if (v->tier != NULL && (q = config_find_quota(b->cfg, v->tier)) !=
	    NULL)
		c->u->auth_tier = xstrdup(v->tier);
	free(c->auth_message);
	c->auth_message = v->message != NULL ? xstrdup(v->message) : NULL;
	admit_decided(c);
}

/*
 * The service failed or was not asked: [auth] on_failure decides, for
 * one connection.
 */
static void
auth_fail_one(struct client *c, const char *why)
{
	struct broker	*b = c->broker;
	struct user	*u = c->u;
	char		*message;
	int64_t		 now = util_now_ms();

	switch (b->cfg->auth_on_failure) {
	case AUTH_ON_FAILURE_CACHED:
		if (u->verdict.have) {
			log_info("auth failed; using the last verdict",
			    "user=%s why=%s", client_name(c), log_quote(why));
			auth_apply(c, &u->verdict, 1);
			return;
		}
		/* FALLTHROUGH */
	case AUTH_ON_FAILURE_ALLOW:
		log_info("auth failed; local policy", "user=%s why=%s",
		    client_name(c), log_quote(why));
		free(u->auth_tier);
		u->auth_tier = NULL;
		admit_decided(c);
		return;
	default:
		xasprintf(&message, "DungeonGate cannot check your account "
		    "right now; please try again in %d s",
		    auth_retry_after(b, now));
		log_info("refused", "user=%s pid=%ld reason=%s why=%s",
		    client_name(c), (long)c->pid, REASON_UNAVAILABLE,
		    log_quote(why));
		metrics_admission(c, "refused", REASON_UNAVAILABLE, -1);
		client_close(c, "refused", REASON_UNAVAILABLE, message);
		free(message);
		return;
	}
}

/* Every connection of the user that waits for the service's answer. */
static void
auth_resolve(struct broker *b, struct user *u, const struct auth_verdict *v,
    const char *why)
{
	struct client	*c, *c1;

	u->auth_inflight = 0;
	TAILQ_FOREACH_SAFE(c, &u->clients, user_entry, c1) {
		if (!c->auth_wait || c->dead)
			continue;
		c->auth_wait = 0;
		if (v != NULL)
			auth_apply(c, v, 0);
		else
			auth_fail_one(c, why);
	}
}

/* The worker let go of a call nobody waits for any more. */
static void
auth_release(void *arg)
{
	auth_call_free(arg);
}

/* What the answer was, in the outcome's terms. */
static enum auth_outcome
auth_classify(const struct auth_call *ac, const struct auth_answer *ans)
{
	if (ans->kind == AUTH_ALLOW)
		return AUTH_OUT_ALLOW;
	if (ans->kind == AUTH_DENY)
		return AUTH_OUT_DENY;
	if (ac->code == CURLE_OPERATION_TIMEDOUT)
		return AUTH_OUT_TIMEOUT;
	if (ac->code != CURLE_OK && !ac->truncated)
		return ac->status == 0 ? AUTH_OUT_CONNECT : AUTH_OUT_BODY;
	if (ac->status < 200 || ac->status > 299)
		return AUTH_OUT_STATUS;
	return AUTH_OUT_BODY;
}

/* Back on the loop: the service answered, or did not in time. */
static void
auth_done(void *arg, int timed_out)
{
	struct auth_call	*ac = arg;
	struct broker		*b = ac->broker;
	struct user		*u = users_find(&b->users, ac->uid);
	struct auth_answer	 ans;
	struct auth_verdict	 v;
	const struct config_quota *q;
	enum auth_outcome	 o;
	int64_t			 now = util_now_ms(), life;
	char			*why = NULL;
	int			 heard;

	memset(&ans, 0, sizeof ans);
	if (timed_out) {
		ans.kind = AUTH_FAIL;
		o = AUTH_OUT_TIMEOUT;
		why = xstrdup("no answer within worker_timeout");
	} else if (ac->code != CURLE_OK && !ac->truncated) {
		ans.kind = AUTH_FAIL;
		o = auth_classify(ac, &ans);
		xasprintf(&why, "%s", ac->error[0] != '\0' ? ac->error :
		    curl_easy_strerror(ac->code));
	} else {
		auth_answer_parse(ac->status, ac->body != NULL ? ac->body : "",
		    ac->len, ac->truncated, b->cfg, &ans);
		o = auth_classify(ac, &ans);
		if (ans.kind == AUTH_FAIL)
			why = xstrdup(ans.why != NULL ? ans.why : "bad answer");
	}
	auth_count(b, o, timed_out ? (int64_t)b->cfg->worker_timeout : ac->ms,
	    1);
	/*
	 * The breaker hears a probe's result always, another call's only
	 * while it is closed (a late answer of a call made before it opened
	 * must not pass for the probe's).
	 */
	heard = ac->probe || breaker_state(&b->breaker, now) == BREAKER_CLOSED;
	if (ans.kind == AUTH_FAIL) {
		log_warn("auth call failed", "uid=%lu outcome=%s status=%ld "
		    "ms=%lld probe=%d why=%s", (u_long)ac->uid,
		    auth_outcome_name(o), ac->status, (long long)ac->ms,
		    ac->probe, log_quote(why));
		if (heard && breaker_failure(&b->breaker, now))
			auth_breaker_changed(b, now);
	} else if (heard && breaker_success(&b->breaker, now))
		auth_breaker_changed(b, now);

	if (u != NULL) {
		if (ans.kind == AUTH_FAIL)
			auth_resolve(b, u, NULL, why);
		else {
			memset(&v, 0, sizeof v);
			v.have = 1;
			v.kind = ans.kind;
			v.tier = ans.tier != NULL ? xstrdup(ans.tier) : NULL;
			v.reason = ans.reason != NULL ? xstrdup(ans.reason) :
			    NULL;
			v.message = ans.message != NULL ?
			    xstrdup(ans.message) : NULL;
			if (ans.kind == AUTH_ALLOW) {
				q = v.tier != NULL ? config_find_quota(b->cfg,
				    v.tier) : user_tier(u, b->cfg);
				if (q == NULL)
					q = config_find_quota(b->cfg,
					    "default");
				life = (int64_t)q->expires_after;
				if (ans.ttl >= 0 && ans.ttl * 1000 < life)
					life = ans.ttl * 1000;
			} else
				life = (ans.ttl >= 0 ? ans.ttl :
				    AUTH_DENY_TTL_DEFAULT) * 1000;
			v.expires = now + life;
			user_verdict_clear(&u->verdict);
			u->verdict = v;
			log_info("auth verdict", "user=%s verdict=%s tier=%s "
			    "ttl_ms=%lld ms=%lld", u->name != NULL ? u->name :
			    "-", ans.kind == AUTH_ALLOW ? "allow" : "deny",
			    v.tier != NULL ? v.tier : "-", (long long)life,
			    (long long)ac->ms);
			auth_resolve(b, u, &u->verdict, NULL);
		}
	}
	free(why);
	auth_answer_clear(&ans);
	if (!timed_out)
		auth_call_free(ac);
}

/* The request's body: who, from where, asking for what. */
static char *
auth_request(struct client *c)
{
	struct broker	*b = c->broker;
	json_t		*groups, *o;
	char		*s;
	u_int		 i;

	groups = json_array();
	for (i = 0; i < c->u->ngroups; i++)
		json_array_append_new(groups, json_string(c->u->groups[i]));
	o = json_pack("{s:s, s:I, s:o, s:s, s:s, s:s, s:s}",
	    "user", c->u->name,
	    "uid", (json_int_t)c->uid,
	    "groups", groups,
	    "remote_addr", c->remote != NULL ? c->remote : "",
	    "node", b->hostname,
	    "service", "dungeongate",
	    "command", c->command != NULL ? c->command : "");
	if (o == NULL)
		fatalx("auth request could not be built");
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("json_dumps failed");
	json_decref(o);
	return s;
}

/*
 * Decide whether a session's account may play now: from the user's
 * cached verdict, or by asking the service (the connection waits), or,
 * when the service cannot be asked, as on_failure says. Without an
 * auth service the local policy decides at once.
 */
void
auth_decide(struct client *c)
{
	struct broker		*b = c->broker;
	struct user		*u = c->u;
	struct auth_call	*ac;
	enum breaker_verdict	 bv;
	int64_t			 now = util_now_ms();
	int			 probe;

	if (*b->cfg->auth_url == '\0') {
		admit_decided(c);
		return;
	}
	if (u->verdict.have && now < u->verdict.expires) {
		auth_count(b, u->verdict.kind == AUTH_ALLOW ? AUTH_OUT_ALLOW :
		    AUTH_OUT_DENY, 0, 0);
		b->auth.cached++;
		auth_apply(c, &u->verdict, 1);
		return;
	}
	if (u->auth_inflight) {
		c->auth_wait = 1;
		return;
	}
	if ((bv = breaker_ask(&b->breaker, now)) == BREAKER_SKIP) {
		auth_count(b, AUTH_OUT_SKIPPED, 0, 0);
		auth_fail_one(c, "the circuit breaker is open");
		return;
	}
	probe = bv == BREAKER_PROBE;
	ac = xcalloc(1, sizeof *ac);
	ac->broker = b;
	ac->uid = c->uid;
	ac->probe = probe;
	ac->url = xstrdup(b->cfg->auth_url);
	if (b->cfg->auth_token.value != NULL)
		ac->token = xstrdup(b->cfg->auth_token.value);
	ac->timeout = (long)b->cfg->auth_timeout;
	ac->request = auth_request(c);
	if (workers_submit(b->workers, JOB_AUTH, c->class, auth_run, auth_done,
	    auth_release, ac) != 0) {
		auth_call_free(ac);
		/* The probe was not made: the breaker may probe again. */
		if (probe)
			breaker_failure(&b->breaker, now);
		log_warn("auth call refused: worker queue full", "user=%s",
		    client_name(c));
		client_close(c, "refused", REASON_BUSY, "The server is busy; "
		    "please try again in a moment.");
		return;
	}
	if (probe)
		log_info("breaker probe", "user=%s", client_name(c));
	u->auth_inflight = 1;
	c->auth_wait = 1;
}

/*
 * dg-broker --forget USER: drop the user's cached verdict, so the next
 * login asks the service. Returns 1 when there was one.
 */
int
auth_forget(struct broker *b, const char *name)
{
	struct idmap_cursor	 cur;
	struct user		*u;
	void			*v;
	int			 had = 0;

	memset(&cur, 0, sizeof cur);
	while (idmap_next(&b->users.by_uid, &cur, NULL, &v)) {
		u = v;
		if (u->name == NULL || strcmp(u->name, name) != 0)
			continue;
		had |= u->verdict.have;
		user_verdict_clear(&u->verdict);
	}
	log_info("auth verdict forgotten", "user=%s had=%d", log_quote(name),
	    had);
	return had;
}

/* How many users have a verdict kept. */
u_int
auth_cached(struct broker *b)
{
	struct idmap_cursor	 cur;
	void			*v;
	u_int			 n = 0;

	memset(&cur, 0, sizeof cur);
	while (idmap_next(&b->users.by_uid, &cur, NULL, &v)) {
		if (((struct user *)v)->verdict.have)
			n++;
	}
	return n;
}

/* Start: libcurl's global state, before any worker thread runs. */
void
auth_init(struct broker *b)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	if (gethostname(b->hostname, sizeof b->hostname) != 0)
		snprintf(b->hostname, sizeof b->hostname, "localhost");
	b->hostname[sizeof b->hostname - 1] = '\0';
	breaker_init(&b->breaker, b->cfg->breaker_enabled,
	    b->cfg->breaker_failure_threshold,
	    (int64_t)b->cfg->breaker_recovery_timeout);
}

/* A reload: the breaker's settings; the verdicts and state stay. */
void
auth_configure(struct broker *b)
{
	breaker_configure(&b->breaker, b->cfg->breaker_enabled,
	    b->cfg->breaker_failure_threshold,
	    (int64_t)b->cfg->breaker_recovery_timeout);
}

/* Stop: libcurl's global state, after every worker thread. */
void
auth_free(void)
{
	curl_global_cleanup();
}
