/*
 * Who a peer is: the uid the kernel reported, resolved on a worker thread
 * (NSS may block) to a name, a home and the names of the user's groups.
 * Back on the event loop the answer is kept in the user's record for
 * the tier's expires_after, so a user's next connection needs no
 * lookup; the tier and admin rights are worked out from the groups at
 * each decision (broker-user.c).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* The longest user name a ticket may carry (see proto.c). */
#define LOOKUP_NAME_MAX	64

/* A lookup handed to a worker. */
struct lookup {
	struct broker	*broker;
	uint64_t	 client;
	uid_t		 uid;
	int		 found;
	int		 failed;	/* errno of a failed lookup */
	int		 unusable;	/* name or home is not UTF-8 text */
	char		*user;
	char		*home;
	char		**groups;	/* names */
	u_int		 ngroups;
};

/* Call a reentrant NSS lookup, growing its buffer on ERANGE. */
#define LOOKUP_R(rc, call, buf, len) do {				\
	while (((rc) = (call)) == ERANGE && (len) < 1024 * 1024) {	\
		(buf) = xreallocarray((buf), 2, (len));			\
		(len) *= 2;						\
	}								\
} while (0)

/*
 * Can a name go as it is into a log field, JSON and onto a terminal?
 * Text that escaping would change (controls, bidi and invisible
 * characters, backslashes), or that holds a blank, = or ", cannot.
 */
static int
lookup_name_ok(const char *name)
{
	char	*shown;
	int	 ok;

	if (*name == '\0' || strlen(name) > LOOKUP_NAME_MAX ||
	    strpbrk(name, " \t=\"") != NULL || !util_valid_text(name))
		return 0;
	shown = util_escape(name, 256);
	ok = strcmp(shown, name) == 0;
	free(shown);
	return ok;
}

/* On a worker: the uid's name, home and group names. */
static void
lookup_run(void *arg)
{
	struct lookup	*lk = arg;
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp;
	gid_t		*gids;
	char		*buf;
	size_t		 len = 16384;
	int		 n = 64, i, rc;

	buf = xmalloc(len);
	errno = 0;
	LOOKUP_R(rc, getpwuid_r(lk->uid, &pw, buf, len, &pwp), buf, len);
	/*
	 * Some NSS modules answer "not found" when they could not even
	 * open their files: out of descriptors is a failure, not an answer.
	 */
	if (rc == 0 && pwp == NULL && (errno == EMFILE || errno == ENFILE))
		rc = errno;
	if (rc != 0) {
		/* NSS failed (LDAP down, no descriptors): not "no such user". */
		lk->failed = rc;
		free(buf);
		return;
	}
	if (pwp == NULL) {
		free(buf);
		return;
	}
	/* Names go into logs, JSON and onto terminals; homes into JSON. */
	if (!lookup_name_ok(pw.pw_name) || !util_valid_text(pw.pw_dir)) {
		lk->unusable = 1;
		free(buf);
		return;
	}
	lk->found = 1;
	lk->user = xstrdup(pw.pw_name);
	lk->home = xstrdup(pw.pw_dir);

	gids = xcalloc((size_t)n, sizeof *gids);
	if (getgrouplist(lk->user, pw.pw_gid, gids, &n) == -1) {
		gids = xreallocarray(gids, (size_t)n, sizeof *gids);
		if (getgrouplist(lk->user, pw.pw_gid, gids, &n) == -1)
			n = 0;
	}
	lk->groups = xcalloc((size_t)n + 1, sizeof *lk->groups);
	for (i = 0; i < n; i++) {
		grp = NULL;
		LOOKUP_R(rc, getgrgid_r(gids[i], &gr, buf, len, &grp), buf,
		    len);
		if (rc == 0 && grp != NULL)
			lk->groups[lk->ngroups++] = xstrdup(gr.gr_name);
	}
	free(gids);
	free(buf);
}

/* Free a lookup nobody waits for. */
static void
lookup_free(void *arg)
{
	struct lookup	*lk = arg;
	u_int		 i;

	for (i = 0; i < lk->ngroups; i++)
		free(lk->groups[i]);
	free(lk->groups);
	free(lk->user);
	free(lk->home);
	free(lk);
}

/* Back on the event loop: settle the user's tier and rights. */
static void
lookup_done(void *arg, int timed_out)
{
	struct lookup			*lk = arg;
	struct broker			*b = lk->broker;
	struct client			*c;
	const struct config_quota	*q, *was;

	c = client_find(b, lk->client);
	if (c == NULL || c->dead || c->state == CLIENT_CLOSING ||
	    c->looked_up || c->uid != lk->uid) {
		if (!timed_out)
			lookup_free(lk);
		return;
	}
	if (timed_out || lk->failed != 0) {
		log_peer(LOG_LEVEL_WARN, c->uid, "user lookup failed",
		    CLIENT_LOG_FIELDS " pid=%ld error=%s", CLIENT_LOG_ARGS(c),
		    (long)c->pid, log_quote(timed_out ? "timed out" :
		    strerror(lk->failed)));
		metrics_rejected(b, REASON_BUSY);
		if (!timed_out && (lk->failed == EMFILE ||
		    lk->failed == ENFILE))
			client_close(c, "error", REASON_BUSY,
			    BROKER_NOFILE_MESSAGE);
		else
			client_close(c, "error", REASON_BUSY, "The server is "
			    "busy; please try again in a moment.");
		if (!timed_out)
			lookup_free(lk);
		return;
	}
	was = user_tier(c->u, b->cfg);
	if (!lk->found) {
		user_forget_policy(c->u);
		c->u->unusable = lk->unusable;
	} else {
		q = quota_tier(b->cfg, lk->groups, lk->ngroups);
		user_set_policy(c->u, lk->user, lk->home, lk->groups,
		    lk->ngroups, util_now_ms() + (int64_t)q->expires_after);
		log_debug("policy", "user=%s tier=%s admin=%d groups=%u",
		    lk->user, q->name, user_is_admin(c->u, b->cfg),
		    lk->ngroups);
	}
	/* The user's live sessions take the new tier's shares now. */
	if (user_tier(c->u, b->cfg) != was)
		share_user_changed(b, c->u);
	lookup_free(lk);
	client_looked_up(c);
}

/*
 * Ask a worker who the client's uid is. Returns 0, or -1 when the
 * workers are too busy to take it.
 */
int
lookup_start(struct client *c)
{
	struct lookup	*lk;

	lk = xcalloc(1, sizeof *lk);
	lk->broker = c->broker;
	lk->client = c->id;
	lk->uid = c->uid;
	if (workers_submit(c->broker->workers, JOB_LOOKUP,
	    c->uid == 0 ? CLASS_CRITICAL : CLASS_NORMAL, lookup_run, lookup_done,
	    lookup_free, lk) != 0) {
		lookup_free(lk);
		return -1;
	}
	return 0;
}
