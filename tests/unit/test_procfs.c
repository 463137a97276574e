/*
 * Unit tests for the /proc readers, against real processes: a child and
 * its grandchild found as this process's tree, in order and within the
 * bound; PTY masters and slaves told apart; the CPU a busy child burns
 * seen in its ticks, and its reaped child's in the parent's with reaped
 * set only; resident memory; a process that is gone reading as nothing;
 * and a file read cut at its buffer.
 */
#include "config.h"

#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

/* Wait up to ms for pred(arg), polling; 0 when it held. */
static int
wait_for(int (*pred)(void *), void *arg, int ms)
{
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };
	int		 i;

	for (i = 0; i < ms / 10; i++) {
		if (pred(arg))
			return 0;
		nanosleep(&ts, NULL);
	}
	return pred(arg) ? 0 : -1;
}

/* A child that forks a grandchild and both wait to be killed. */
static pid_t
spawn_pair(int ready[2])
{
	pid_t	 pid;
	char	 c = 'x';

	if ((pid = fork()) == 0) {
		if (fork() == 0) {
			if (write(ready[1], &c, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		pause();
		_exit(0);
	}
	return pid;
}

/* Does this process's tree hold three processes yet? */
static int
tree_of_three(void *arg)
{
	pid_t	 pids[8];

	(void)arg;
	return proc_tree(getpid(), pids, 8) == 3;
}

static void
test_tree(void **state)
{
	pid_t	 pids[8], child;
	int	 ready[2];
	char	 c;
	u_int	 n;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	child = spawn_pair(ready);
	assert_true(child > 0);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(wait_for(tree_of_three, NULL, 5000), 0);

	n = proc_tree(getpid(), pids, 8);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], getpid());
	assert_int_equal(pids[1], child);
	assert_true(pids[2] > 0 && pids[2] != child);

	/* Bounded: the root and one more. */
	assert_int_equal(proc_tree(getpid(), pids, 2), 2);
	assert_int_equal(proc_tree(getpid(), pids, 0), 0);

	/* The child's own tree starts at it. */
	n = proc_tree(child, pids, 8);
	assert_int_equal(n, 2);
	assert_int_equal(pids[0], child);

	kill(pids[1], SIGKILL);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	close(ready[0]);
	close(ready[1]);
}

static void
test_pty_fds(void **state)
{
	int	 m, sl, before_m, before_s, fds[2];
	pid_t	 pid;
	char	 c;

	(void)state;
	before_m = proc_pty_fds(0, 1, 4096);
	before_s = proc_pty_fds(0, 0, 4096);
	assert_true(before_m >= 0 && before_s >= 0);

	assert_true((m = posix_openpt(O_RDWR | O_NOCTTY)) != -1);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_true((sl = open(ptsname(m), O_RDWR | O_NOCTTY)) != -1);
	assert_int_equal(proc_pty_fds(0, 1, 4096), before_m + 1);
	assert_int_equal(proc_pty_fds(0, 0, 4096), before_s + 1);

	/* A child with the slave three times over, as a game's stdio. */
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		close(m);
		dup2(sl, 10);
		dup2(sl, 11);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(proc_pty_fds(pid, 0, 4096), before_s + 3);
	assert_int_equal(proc_pty_fds(pid, 1, 4096), before_m);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	/* Gone: nothing to read. */
	assert_int_equal(proc_pty_fds(pid, 0, 4096), -1);
	close(sl);
	close(m);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(proc_pty_fds(0, 1, 4096), before_m);
}

/* Burn CPU for about ms of it, then exit. */
static void
burn(int ms)
{
	struct timespec	 ts;
	int64_t		 until;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	until = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
	do {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < until);
}

static void
test_cpu_ticks(void **state)
{
	int64_t	 own, with_reaped, t;
	pid_t	 pid, burner;
	int	 fds[2];
	char	 c;

	(void)state;
	assert_true(proc_ticks_per_second() > 0);
	assert_true(proc_cpu_ticks(getpid(), 0) >= 0);

	/* A child that waits for a burner of 300 ms, then says so. */
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		if ((burner = fork()) == 0) {
			burn(300);
			_exit(0);
		}
		waitpid(burner, NULL, 0);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	own = proc_cpu_ticks(pid, 0);
	with_reaped = proc_cpu_ticks(pid, 1);
	assert_true(own >= 0);
	/* At least 200 ms of the 300 ms are the reaped burner's. */
	t = with_reaped - own;
	assert_true(t * 1000 / proc_ticks_per_second() >= 200);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(proc_cpu_ticks(pid, 1), -1);
	close(fds[0]);
	close(fds[1]);
}

static void
test_rss(void **state)
{
	(void)state;
	assert_true(proc_rss(0) > 0);
	assert_true(proc_rss(getpid()) > 0);
	assert_int_equal(proc_rss((pid_t)0x7ffffff0), 0);
}

static void
test_parent_start(void **state)
{
	struct timespec	 ts;
	int64_t		 now, start;
	pid_t		 parent, pid;
	int		 fds[2];
	char		 c;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	/* A child started now: its parent is this process, its start now. */
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(proc_parent_start(pid, &parent, &start), 0);
	assert_int_equal(parent, getpid());
	assert_true(start >= now - 1000 && start <= now + 5000);
	/* This process began before it. */
	assert_int_equal(proc_parent_start(getpid(), &parent, &start), 0);
	assert_int_equal(parent, getppid());
	assert_true(start <= now + 1000);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(proc_parent_start(pid, &parent, &start), -1);
	close(fds[0]);
	close(fds[1]);
}

static void
test_read(void **state)
{
	char	 buf[8];

	(void)state;
	/* The buffer bounds the read and the result is a string. */
	assert_int_equal(proc_read("/proc/self/status", buf, sizeof buf), 7);
	assert_int_equal(strlen(buf), 7);
	assert_int_equal(proc_read("/nonexistent/file", buf, sizeof buf), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_pty_fds),
		cmocka_unit_test(test_cpu_ticks),
		cmocka_unit_test(test_rss),
		cmocka_unit_test(test_parent_start),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
