/*
 * Starting a game: a PTY with the player's window size, a new session
 * with the PTY as its controlling terminal, a scrubbed environment, the
 * lease's rlimits, then exec. No shell is involved at any point.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

extern char	**environ;

/*
 * The locale variables a client may pass: LANG and the categories of
 * setlocale(3), so that a client sending many LC_ names cannot crowd
 * anything out of the game's environment.
 */
static const char *env_locales[] = {
	"LANG", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES",
	"LC_MONETARY", "LC_NUMERIC", "LC_TIME", "LC_ADDRESS",
	"LC_IDENTIFICATION", "LC_MEASUREMENT", "LC_NAME", "LC_PAPER",
	"LC_TELEPHONE",
};

/*
 * What every game gets whatever its env lines say: each program a game
 * may start in the player's name leads nowhere. NetHack runs $SHELL for
 * ! (and /bin/sh when it is unset) to users in its sysconf's SHELLERS,
 * and $MAILREADER (else /usr/bin/mail, whose ~! is a shell) for a scroll
 * of mail, which comes when $MAIL (else /var/mail/USER) grows; /dev/null
 * never grows. The rest are the usual ways out of any program: an editor,
 * a pager, a browser, and less's own commands.
 */
static const char *pty_closed[][2] = {
	{ "SHELL", "/bin/false" },
	{ "MAILREADER", "/bin/false" },
	{ "MAIL", "/dev/null" },
	{ "EDITOR", "/bin/false" },
	{ "VISUAL", "/bin/false" },
	{ "PAGER", "/bin/false" },
	{ "BROWSER", "/bin/false" },
	{ "LESSSECURE", "1" },
};

/* Is the name of NAME=VALUE exactly name? */
static int
env_is(const char *entry, const char *name)
{
	size_t	 len = strcspn(entry, "=");

	return strlen(name) == len && strncmp(entry, name, len) == 0;
}

/* Is NAME=VALUE from the client a locale variable with a plausible value? */
static int
env_locale_ok(const char *entry)
{
	const char	*v = strchr(entry, '=');
	u_int		 i;

	if (v == NULL || *++v == '\0' || strlen(v) > 64)
		return 0;
	for (i = 0; i < nitems(env_locales); i++) {
		if (env_is(entry, env_locales[i]))
			break;
	}
	if (i == nitems(env_locales))
		return 0;
	for (; *v != '\0'; v++) {
		if (!isalnum((u_char)*v) && strchr("._-@", *v) == NULL)
			return 0;
	}
	return 1;
}

/* Is NAME=VALUE one of the variables no env line may change? */
static int
env_closed(const char *entry)
{
	u_int	 i;

	for (i = 0; i < nitems(pty_closed); i++) {
		if (env_is(entry, pty_closed[i][0]))
			return 1;
	}
	return 0;
}

/*
 * Set NAME=VALUE in an environment array, replacing an earlier NAME. The
 * array is sized for everything that can go in it.
 */
static void
env_set(char **env, u_int *n, u_int max, const char *entry)
{
	size_t	 len = strcspn(entry, "=");
	u_int	 i;

	for (i = 0; i < *n; i++) {
		if (strncmp(env[i], entry, len) == 0 && env[i][len] == '=') {
			free(env[i]);
			env[i] = xstrdup(entry);
			return;
		}
	}
	if (*n >= max)
		fatalx("game environment full at %u entries", max);
	env[(*n)++] = xstrdup(entry);
}

/* Set name=value in an environment array. */
static void
env_set_pair(char **env, u_int *n, u_int max, const char *name,
    const char *value)
{
	char	*e;

	xasprintf(&e, "%s=%s", name, value);
	env_set(env, n, max, e);
	free(e);
}

/*
 * The game's environment: TERM, HOME, USER, LOGNAME, a fixed PATH,
 * the client's LANG and LC_* when sane, the game's own env lines, then
 * the closed ways out, which the env lines cannot change. Nothing else
 * from the client passes.
 */
char **
pty_environment(json_t *lease, const char *user, const char *term)
{
	const char	*home = json_string_value(json_object_get(lease, "home"));
	const char	*game = json_string_value(json_object_get(lease, "game"));
	json_t		*lines = json_object_get(lease, "env");
	const char	*fixed[][2] = {
		{ "TERM", term },
		{ "HOME", home },
		{ "USER", user },
		{ "LOGNAME", user },
		{ "PATH", SESSION_GAME_PATH },
	};
	char		**env, *name, **ep;
	const char	*line;
	json_t		*v;
	size_t		 i;
	u_int		 n = 0, max;

	max = nitems(fixed) + nitems(env_locales) + nitems(pty_closed) +
	    (u_int)json_array_size(lines);
	env = xcalloc(max + 1, sizeof *env);
	for (i = 0; i < nitems(fixed); i++)
		env_set_pair(env, &n, max, fixed[i][0], fixed[i][1]);
	for (ep = environ; *ep != NULL; ep++) {
		if (env_locale_ok(*ep))
			env_set(env, &n, max, *ep);
	}
	json_array_foreach(lines, i, v) {
		line = json_string_value(v);
		if (env_closed(line)) {
			name = xstrndup(line, strcspn(line, "="));
			log_warn("game env line ignored", "user=%s game=%s "
			    "name=%s reason=%s", log_quote(user),
			    log_quote(game != NULL ? game : ""),
			    log_quote(name), log_quote("it would open a way "
			    "out of the game"));
			free(name);
			continue;
		}
		env_set(env, &n, max, line);
	}
	for (i = 0; i < nitems(pty_closed); i++)
		env_set_pair(env, &n, max, pty_closed[i][0], pty_closed[i][1]);
	env[n] = NULL;
	return env;
}

/* Free an environment or argv array. */
static void
strv_free(char **v)
{
	u_int	 i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Fill in what the lease says of its options file. */
static void
pty_rcfile_init(struct rcfile *rf, json_t *lease)
{
	memset(rf, 0, sizeof *rf);
	rf->home = json_string_value(json_object_get(lease, "home"));
	rf->path = json_string_value(json_object_get(lease, "rcfile"));
	rf->template = json_string_value(json_object_get(lease,
	    "rc_template"));
	rf->max = (size_t)json_integer_value(json_object_get(lease,
	    "rc_max_size"));
	rf->uid = getuid();
	/* Without a cap, nothing is copied. */
	if (rf->max == 0)
		rf->template = NULL;
}

/* Log what making the options file came to. */
static void
pty_rcfile_log(struct session *s, struct rcfile *rf)
{
	if (rf->warning != NULL)
		log_warn("options template not copied", "user=%s path=%s "
		    "error=%s", log_quote(s->user), log_quote(rf->path),
		    log_quote(rf->warning));
	if (rf->made)
		log_info("options file made", "user=%s path=%s template=%s",
		    log_quote(s->user), log_quote(rf->path),
		    log_quote(rf->template != NULL && rf->warning == NULL ?
		    rf->template : ""));
	free(rf->warning);
	rf->warning = NULL;
}

/*
 * Make the game's options file when it is missing, as a copy of the
 * server's template when it has one, so the game does not stop to
 * complain and new players start from the recommended options. Never
 * follows a link below the home, never replaces a file.
 */
static void
pty_make_rcfile(struct session *s, json_t *lease)
{
	struct rcfile	 rf;
	char		*cause;

	pty_rcfile_init(&rf, lease);
	if (rf.path == NULL)
		return;
	if (rcfile_ensure(&rf, &cause) != 0) {
		log_warn("cannot create options file", "user=%s path=%s "
		    "error=%s", log_quote(s->user), log_quote(rf.path),
		    log_quote(cause));
		free(cause);
	}
	pty_rcfile_log(s, &rf);
}

/*
 * The options file for the editor, made when missing, opened and checked
 * (session-rcfile.c). Returns its descriptor, or -1 with *cause for the
 * player.
 */
int
pty_open_rcfile(struct session *s, json_t *lease, char **cause)
{
	struct rcfile	 rf;
	int		 fd;

	pty_rcfile_init(&rf, lease);
	fd = rcfile_open(&rf, cause);
	pty_rcfile_log(s, &rf);
	if (fd == -1)
		log_warn("options file refused", "user=%s path=%s reason=%s",
		    log_quote(s->user), log_quote(rf.path), log_quote(*cause));
	return fd;
}

/* Close every descriptor from lowest up, except keep. */
static void
pty_close_from(int lowest, int keep)
{
	long	 max;
	int	 fd;

	if (keep > lowest && close_range((u_int)lowest, (u_int)keep - 1,
	    0) != 0)
		goto slow;
	if (close_range((u_int)keep + 1, ~0U, 0) != 0)
		goto slow;
	return;
slow:
	if ((max = sysconf(_SC_OPEN_MAX)) <= 0 || max > 65536)
		max = 65536;
	for (fd = lowest; fd < max; fd++) {
		if (fd != keep)
			close(fd);
	}
}

/*
 * Hold a resource to the lease's value, or to the hard limit already in
 * place when that is lower (an unprivileged process cannot raise it).
 */
static int
pty_limit(int resource, json_int_t value)
{
	struct rlimit	 rl;
	rlim_t		 want = (rlim_t)value;

	if (getrlimit(resource, &rl) != 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = want;
	if (setrlimit(resource, &rl) == 0)
		return 0;
	/*
	 * Lowering a hard limit cannot fail on Linux, but under valgrind
	 * the descriptor limit's hard value is fixed: hold the soft one.
	 */
	if (errno != EPERM || resource != RLIMIT_NOFILE ||
	    getrlimit(resource, &rl) != 0)
		return -1;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	return setrlimit(resource, &rl);
}

/*
 * In the child, for the editor: its options file, checked by the session,
 * becomes descriptor PROTO_EDIT_FD, which the command names. The error
 * pipe moves out of its way (*errfd follows it). Returns 0, or -1.
 */
static int
pty_child_rcfile(int rcfd, int *errfd)
{
	struct stat	 a, b;
	int		 fd;

	if (*errfd == PROTO_EDIT_FD) {
		if ((fd = fcntl(*errfd, F_DUPFD_CLOEXEC,
		    PROTO_EDIT_FD + 1)) == -1)
			return -1;
		*errfd = fd;
	}
	if (rcfd == PROTO_EDIT_FD) {
		if (fcntl(rcfd, F_SETFD, 0) == -1)
			return -1;
	} else if (dup2(rcfd, PROTO_EDIT_FD) == -1)
		return -1;
	/* The name the editor opens must lead to this very file. */
	if (fstat(PROTO_EDIT_FD, &a) != 0 || stat(PROTO_EDIT_FILE, &b) != 0)
		return -1;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* In the child: become the game (or the editor). Never returns. */
static __dead void
pty_child(int slave, int errfd, int rcfd, char **argv, char **env,
    const char *home, json_t *rlimits)
{
	sigset_t	 set;
	json_t		*fsize;
	int		 sig, err, lowest;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);

	if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1)
		goto fail;
	if (dup2(slave, STDIN_FILENO) == -1 ||
	    dup2(slave, STDOUT_FILENO) == -1 ||
	    dup2(slave, STDERR_FILENO) == -1)
		goto fail;
	lowest = 3;
	if (rcfd != -1) {
		if (pty_child_rcfile(rcfd, &errfd) != 0)
			goto fail;
		lowest = PROTO_EDIT_FD + 1;
	}
	pty_close_from(lowest, errfd);

	if (pty_limit(RLIMIT_CORE, json_integer_value(json_object_get(rlimits,
	    "core"))) != 0 || pty_limit(RLIMIT_NOFILE,
	    json_integer_value(json_object_get(rlimits, "nofile"))) != 0 ||
	    pty_limit(RLIMIT_AS, json_integer_value(json_object_get(rlimits,
	    "as"))) != 0)
		goto fail;
	/*
	 * A write past the file size limit fails with EFBIG rather than
	 * killing the editor, so it can say so and keep the text.
	 */
	if ((fsize = json_object_get(rlimits, "fsize")) != NULL) {
		if (pty_limit(RLIMIT_FSIZE, json_integer_value(fsize)) != 0)
			goto fail;
		signal(SIGXFSZ, SIG_IGN);
	}

	if (chdir(home) != 0 && chdir("/") != 0)
		goto fail;
	execve(argv[0], argv, env);
fail:
	err = errno;
	(void)write(errfd, &err, sizeof err);
	_exit(127);
}

/*
 * Start the game a lease describes. Returns 0 with the game's pid and PTY
 * master filled in, or -1 with *cause.
 */
int
pty_spawn(struct session *s, json_t *lease, struct game *g, char **cause)
{
	struct winsize	 ws;
	sigset_t	 all, old;
	char		**argv, **env;
	json_t		*v;
	size_t		 i, argc;
	int		 master, slave, errpipe[2], err;
	ssize_t		 n;
	pid_t		 pid;

	/* The editor's file is made and checked before; a game's here. */
	if (g->rc_fd == -1)
		pty_make_rcfile(s, lease);

	argc = json_array_size(json_object_get(lease, "argv"));
	argv = xcalloc(argc + 2, sizeof *argv);
	json_array_foreach(json_object_get(lease, "argv"), i, v)
		argv[i] = xstrdup(json_string_value(v));
	if (g->rc_fd != -1)
		argv[argc] = xstrdup(PROTO_EDIT_FILE);
	env = pty_environment(lease, s->user, s->term);

	memset(&ws, 0, sizeof ws);
	ws.ws_col = (u_short)s->cols;
	ws.ws_row = (u_short)s->rows;
	if (openpty(&master, &slave, NULL, NULL, &ws) != 0) {
		xasprintf(cause, "no terminal is free for the game (%s)",
		    strerror(errno));
		strv_free(argv);
		strv_free(env);
		return -1;
	}
	fcntl(master, F_SETFD, FD_CLOEXEC);
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	if (pipe2(errpipe, O_CLOEXEC) != 0)
		fatal("pipe2");

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		close(master);
		close(errpipe[0]);
		pty_child(slave, errpipe[1], g->rc_fd, argv, env,
		    json_string_value(json_object_get(lease, "home")),
		    json_object_get(lease, "rlimits"));
	}
	err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(slave);
	close(errpipe[1]);
	strv_free(env);
	if (pid == -1) {
		xasprintf(cause, "cannot start the game (%s)", strerror(err));
		close(errpipe[0]);
		close(master);
		strv_free(argv);
		return -1;
	}

	/* The pipe closes on exec; a number on it is exec's errno. */
	do
		n = read(errpipe[0], &err, sizeof err);
	while (n == -1 && errno == EINTR);
	close(errpipe[0]);
	if (n == sizeof err) {
		xasprintf(cause, "cannot run %s (%s)", argv[0], strerror(err));
		waitpid(pid, NULL, 0);
		close(master);
		strv_free(argv);
		return -1;
	}
	strv_free(argv);
	g->pid = pid;
	g->master = master;
	return 0;
}
