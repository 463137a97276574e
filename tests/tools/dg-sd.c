/*
 * dg-sd: the part of systemd that dg-broker.socket and dg-broker.service
 * describe, for tests on machines without systemd as PID 1.
 *
 *   dg-sd [-R] [-m MODE] [-g GROUP] [-u USER] [-n NOTIFY-SOCKET]
 *         [-l NOTIFY-LOG] [-w WATCHDOG-USEC] [-p PIDFILE] [-e NAME]...
 *         SOCKET PROGRAM [ARG]...
 *
 * It listens on the unix stream SOCKET (mode MODE, group GROUP), as the
 * socket unit does, and keeps it for as long as it runs. It starts
 * PROGRAM as USER with the socket as descriptor 3 and the environment a
 * service gets: PATH, HOME, USER, LOGNAME, SHELL, LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES, NOTIFY_SOCKET with -n, WATCHDOG_USEC and WATCHDOG_PID
 * with -w, and the variables named by -e as they are here. Each
 * notification PROGRAM sends is written to NOTIFY-LOG, one assignment
 * a line; one from another process (NotifyAccess=main) is written as
 * "ignored pid=N".
 *
 * SIGHUP, SIGINT, SIGTERM and SIGUSR1 go on to PROGRAM. When it exits,
 * dg-sd exits with its status (128 + the signal that killed it), and
 * leaves the socket in place; with -R it instead waits for SIGUSR2 and
 * starts PROGRAM again on the same socket, so that a connection made in
 * between waits in the backlog, and exits 0 on SIGTERM meanwhile.
 */
#include "config.h"

#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dungeongate.h"

#define SD_MAX_PASS	16
#define SD_MAX_MSG	4096

static const char	*notify_path;
static const char	*notify_log;
static const char	*watchdog;
static const char	*pass[SD_MAX_PASS];
static u_int		 npass;
static struct passwd	*run_as;

/* Say how to call it, and stop. */
static __dead void
usage(void)
{
	fprintf(stderr, "usage: dg-sd [-R] [-m MODE] [-g GROUP] [-u USER] "
	    "[-n NOTIFY-SOCKET] [-l NOTIFY-LOG] [-w WATCHDOG-USEC] "
	    "[-p PIDFILE] [-e NAME]... SOCKET PROGRAM [ARG]...\n");
	exit(EXIT_USAGE);
}

/* Stop with a message about a failed call. */
static __dead void
die(const char *what)
{
	fprintf(stderr, "dg-sd: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Listen on a unix socket with a mode and group, as a socket unit does. */
static int
sd_listen(const char *path, mode_t mode, gid_t gid, int type)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path) >=
	    sizeof sun.sun_path) {
		fprintf(stderr, "dg-sd: %s: path too long\n", path);
		exit(1);
	}
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path);
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		die("socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
		die(path);
	if (chmod(path, mode) != 0 || chown(path, 0, gid) != 0)
		die(path);
	if (type == SOCK_STREAM && listen(fd, 128) != 0)
		die("listen");
	return fd;
}

/* Set an environment variable for the child, or die. */
static void
sd_setenv(const char *name, const char *value)
{
	if (setenv(name, value, 1) != 0)
		die("setenv");
}

/* In the child: the service's descriptors, environment and user. */
static __dead void
sd_exec(int lfd, char **argv)
{
	char		*kept[SD_MAX_PASS], pid[32];
	const char	*v;
	u_int		 i;
	int		 fd;

	for (i = 0; i < npass; i++)
		kept[i] = (v = getenv(pass[i])) != NULL ? xstrdup(v) : NULL;
	if (clearenv() != 0)
		die("clearenv");
	for (i = 0; i < npass; i++) {
		if (kept[i] != NULL)
			sd_setenv(pass[i], kept[i]);
	}
	sd_setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin");
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	sd_setenv("LISTEN_PID", pid);
	sd_setenv("LISTEN_FDS", "1");
	sd_setenv("LISTEN_FDNAMES", "dg-broker.socket");
	if (notify_path != NULL)
		sd_setenv("NOTIFY_SOCKET", notify_path);
	if (watchdog != NULL) {
		sd_setenv("WATCHDOG_USEC", watchdog);
		sd_setenv("WATCHDOG_PID", pid);
	}
	if (lfd == 3) {
		if (fcntl(3, F_SETFD, 0) != 0)
			die("fcntl");
	} else if (dup2(lfd, 3) != 3)
		die("dup2");
	for (fd = 4; fd < 1024; fd++)
		close(fd);
	if (run_as != NULL) {
		sd_setenv("HOME", run_as->pw_dir);
		sd_setenv("USER", run_as->pw_name);
		sd_setenv("LOGNAME", run_as->pw_name);
		sd_setenv("SHELL", run_as->pw_shell);
		if (initgroups(run_as->pw_name, run_as->pw_gid) != 0 ||
		    setresgid(run_as->pw_gid, run_as->pw_gid,
		    run_as->pw_gid) != 0 ||
		    setresuid(run_as->pw_uid, run_as->pw_uid,
		    run_as->pw_uid) != 0)
			die(run_as->pw_name);
	}
	execv(argv[0], argv);
	fprintf(stderr, "dg-sd: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Start the program; its pid, also written to pidfile when given. */
static pid_t
sd_start(int lfd, char **argv, const char *pidfile, const sigset_t *old)
{
	FILE	*f;
	pid_t	 pid;

	if ((pid = fork()) == -1)
		die("fork");
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, old, NULL);
		sd_exec(lfd, argv);
	}
	if (pidfile != NULL) {
		if ((f = fopen(pidfile, "w")) == NULL)
			die(pidfile);
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
	return pid;
}

/* Write one notification to the log, one assignment a line. */
static void
sd_notify_read(int nfd, pid_t main_pid)
{
	char		 buf[SD_MAX_MSG + 1], ctl[CMSG_SPACE(sizeof
			     (struct ucred))];
	struct iovec	 iov = { buf, SD_MAX_MSG };
	struct msghdr	 msg;
	struct cmsghdr	*cm;
	struct ucred	*uc = NULL;
	ssize_t		 n;
	FILE		*f;

	memset(&msg, 0, sizeof msg);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = ctl;
	msg.msg_controllen = sizeof ctl;
	if ((n = recvmsg(nfd, &msg, MSG_DONTWAIT)) <= 0)
		return;
	buf[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS)
			uc = (struct ucred *)CMSG_DATA(cm);
	}
	if (notify_log == NULL || (f = fopen(notify_log, "a")) == NULL)
		return;
	if (uc == NULL || uc->pid != main_pid)
		fprintf(f, "ignored pid=%ld\n", uc != NULL ? (long)uc->pid :
		    -1L);
	else
		fprintf(f, "%s%s", buf, n > 0 && buf[n - 1] == '\n' ? "" :
		    "\n");
	fclose(f);
}

/* Run the program on the socket until it exits (or, with -R, SIGTERM). */
int
main(int argc, char **argv)
{
	struct signalfd_siginfo	 si;
	struct pollfd		 pfd[2];
	struct group		*gr;
	sigset_t		 mask, old;
	const char		*pidfile = NULL;
	mode_t			 mode = 0666;
	gid_t			 gid = 0;
	pid_t			 pid;
	char			*end;
	int			 ch, restart = 0, lfd, nfd = -1, sfd, status;
	int			 one = 1;

	while ((ch = getopt(argc, argv, "+Rm:g:u:n:l:w:p:e:")) != -1) {
		switch (ch) {
		case 'R':
			restart = 1;
			break;
		case 'm':
			mode = (mode_t)strtoul(optarg, &end, 8);
			if (*end != '\0')
				usage();
			break;
		case 'g':
			if ((gr = getgrnam(optarg)) == NULL) {
				fprintf(stderr, "dg-sd: no group %s\n", optarg);
				return 1;
			}
			gid = gr->gr_gid;
			break;
		case 'u':
			if ((run_as = getpwnam(optarg)) == NULL) {
				fprintf(stderr, "dg-sd: no user %s\n", optarg);
				return 1;
			}
			break;
		case 'n':
			notify_path = optarg;
			break;
		case 'l':
			notify_log = optarg;
			break;
		case 'w':
			watchdog = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'e':
			if (npass == SD_MAX_PASS)
				usage();
			pass[npass++] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argv[1][0] != '/')
		usage();

	lfd = sd_listen(argv[0], mode, gid, SOCK_STREAM);
	if (notify_path != NULL) {
		nfd = sd_listen(notify_path, 0666, 0, SOCK_DGRAM);
		if (setsockopt(nfd, SOL_SOCKET, SO_PASSCRED, &one,
		    sizeof one) != 0)
			die("SO_PASSCRED");
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &mask, &old) != 0)
		die("sigprocmask");
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		die("signalfd");
	signal(SIGPIPE, SIG_IGN);

	pid = sd_start(lfd, argv + 1, pidfile, &old);
	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = nfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, nfd != -1 ? 2 : 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (nfd != -1 && (pfd[1].revents & POLLIN))
			sd_notify_read(nfd, pid);
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(sfd, &si, sizeof si) != sizeof si)
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			if (pid == -1 || waitpid(pid, &status, WNOHANG) != pid)
				break;
			/* What it said just before it left is logged too. */
			while (nfd != -1 && poll(&pfd[1], 1, 0) == 1)
				sd_notify_read(nfd, pid);
			pid = -1;
			if (!restart) {
				if (notify_path != NULL)
					unlink(notify_path);
				if (WIFSIGNALED(status))
					return 128 + WTERMSIG(status);
				return WEXITSTATUS(status);
			}
			break;
		case SIGUSR2:
			if (restart && pid == -1)
				pid = sd_start(lfd, argv + 1, pidfile, &old);
			break;
		case SIGTERM:
			if (pid == -1) {
				if (notify_path != NULL)
					unlink(notify_path);
				return 0;
			}
			kill(pid, SIGTERM);
			break;
		default:
			if (pid != -1)
				kill(pid, (int)si.ssi_signo);
			break;
		}
	}
}
