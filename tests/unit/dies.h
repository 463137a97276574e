/*
 * Unit tests: a call that must meet a broken invariant runs in a child
 * process, and the child must end through fatalx with the message
 * expected: not by returning, and not by a crash or a sanitizer report
 * (AddressSanitizer also exits 1, so the status alone proves nothing).
 * Include it after cmocka.h.
 */
#ifndef TEST_DIES_H
#define TEST_DIES_H

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What of the child's stderr is kept; the rest is read and dropped. */
#define DIES_OUTPUT_MAX	8192
/* A child that neither dies nor returns by then is killed. */
#define DIES_TIMEOUT	10

/*
 * Run fn(arg) in a child: it must exit 1 after logging a fatal line
 * that holds what.
 */
static void
assert_dies(void (*fn)(void *), void *arg, const char *what)
{
	char	 out[DIES_OUTPUT_MAX], scratch[512];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fds[2], status;
	pid_t	 pid;

	/* Nothing buffered is written twice, once by each process. */
	fflush(stdout);
	fflush(stderr);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDERR_FILENO) == -1)
			_exit(99);
		close(fds[1]);
		alarm(DIES_TIMEOUT);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		if (len < sizeof out - 1)
			n = read(fds[0], out + len, sizeof out - 1 - len);
		else
			n = read(fds[0], scratch, sizeof scratch);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < sizeof out - 1)
			len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1 ||
	    strstr(out, "level=error msg=fatal") == NULL ||
	    strstr(out, what) == NULL) {
		print_error("child output:\n%s\n", out);
		if (WIFSIGNALED(status))
			fail_msg("expected fatalx \"%s\"; killed by signal %d",
			    what, WTERMSIG(status));
		fail_msg("expected fatalx \"%s\"; exit status %d", what,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
}

#endif
