/*
 * Giving up root. A broker started as root by hand binds its socket,
 * raises its descriptor limit, and then runs on as [broker] user with
 * that user's groups; it never serves a connection as root. Under
 * systemd it starts as that user (User= in dg-broker.service), gets its
 * socket from dg-broker.socket, and nothing here changes who it is.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

/* Room for one passwd entry: NSS answers within this or not at all. */
#define PRIV_PWBUF	65536

/*
 * Work out who the broker runs as: a broker started as root drops to
 * [broker] user, which must exist and must not be root; any other
 * broker stays who it is. Returns 0, or -1 with *cause saying why the
 * broker must not start.
 */
int
priv_lookup(const char *user, struct priv *pv, char **cause)
{
	struct passwd	 pw, *pwp = NULL;
	char		*buf;
	int		 rc;

	memset(pv, 0, sizeof *pv);
	if (geteuid() != 0) {
		pv->uid = geteuid();
		pv->gid = getegid();
		return 0;
	}
	buf = xmalloc(PRIV_PWBUF);
	rc = getpwnam_r(user, &pw, buf, PRIV_PWBUF, &pwp);
	if (rc != 0 || pwp == NULL) {
		if (rc != 0)
			xasprintf(cause, "[broker] user %s: cannot look it up: "
			    "%s", user, strerror(rc));
		else
			xasprintf(cause, "[broker] user %s does not exist; a "
			    "broker started as root runs as that user: create "
			    "it (useradd --system --no-create-home --shell "
			    "/usr/sbin/nologin %s) or name another", user,
			    user);
		free(buf);
		return -1;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		xasprintf(cause, "[broker] user %s has uid %ld and gid %ld; the "
		    "broker does not run on as root: name an unprivileged "
		    "user", user, (long)pw.pw_uid, (long)pw.pw_gid);
		free(buf);
		return -1;
	}
	pv->drop = 1;
	pv->user = xstrdup(pw.pw_name);
	pv->uid = pw.pw_uid;
	pv->gid = pw.pw_gid;
	free(buf);
	return 0;
}

/*
 * While still root, lift the hard descriptor limit to the budget, so
 * that the unprivileged broker can raise its soft limit that far. A
 * reload can raise the budget only within this hard limit.
 */
void
priv_raise_nofile(const struct priv *pv, u_int want)
{
	struct rlimit	 rl;

	if (!pv->drop || getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_max >= want)
		return;
	rl.rlim_max = want;
	if (rl.rlim_cur > want)
		rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		log_warn("cannot raise the descriptor limit", "want=%u "
		    "error=%s", want, log_quote(strerror(errno)));
}

/*
 * Become [broker] user for good: its groups, its gid, its uid, all three
 * of each (real, effective, saved), then check that root is out of
 * reach. Before any thread starts: every thread must be the same user.
 */
void
priv_drop(const struct priv *pv)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (!pv->drop)
		return;
	if (initgroups(pv->user, pv->gid) != 0)
		fatal("initgroups %s", pv->user);
	if (setresgid(pv->gid, pv->gid, pv->gid) != 0)
		fatal("setresgid %ld", (long)pv->gid);
	if (setresuid(pv->uid, pv->uid, pv->uid) != 0)
		fatal("setresuid %ld", (long)pv->uid);
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		fatal("getresuid");
	if (ru != pv->uid || eu != pv->uid || su != pv->uid ||
	    rg != pv->gid || eg != pv->gid || sg != pv->gid)
		fatalx("still uid %ld/%ld/%ld gid %ld/%ld/%ld after dropping "
		    "to %s", (long)ru, (long)eu, (long)su, (long)rg, (long)eg,
		    (long)sg, pv->user);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("root is still within reach after dropping to %s",
		    pv->user);
	/*
	 * The kernel marks a process that changed its uid as not dumpable;
	 * undo that, so the broker is what systemd starts as User=: its
	 * /proc files its own, and tools of the same user (and the leak
	 * checker, which traces its own threads) can attach. Only that user
	 * and root can; players cannot.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		log_warn("cannot mark the broker dumpable", "error=%s",
		    log_quote(strerror(errno)));
	log_info("gave up root", "user=%s uid=%ld gid=%ld", pv->user,
	    (long)pv->uid, (long)pv->gid);
}

/* Free what priv_lookup kept. */
void
priv_free(struct priv *pv)
{
	free(pv->user);
	pv->user = NULL;
}
