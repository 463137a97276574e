/*
 * What /proc says of a process: its descendants, CPU time, resident
 * memory and PTY descriptors. Each read is bounded (a buffer, a count of
 * processes or descriptors) and a process that is gone, or that may not
 * be read, reads as nothing rather than as an error. The broker's
 * sampler and the session's CPU share both use these.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dungeongate.h"

/* Read up to size - 1 bytes of a file, NUL-terminated; its length, or -1. */
ssize_t
proc_read(const char *path, char *buf, size_t size)
{
	ssize_t	 n, len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)len < size - 1) {
		n = read(fd, buf + len, size - 1 - (size_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/*
 * A process and its descendants, found through the children of each of
 * their threads (/proc/PID/task/TID/children): root first, at most max.
 */
u_int
proc_tree(pid_t root, pid_t *pids, u_int max)
{
	char		 path[320], buf[4096], *p, *end;
	u_int		 n = 0, i;
	long		 child;
	DIR		*d;
	struct dirent	*de;

	if (max == 0)
		return 0;
	pids[n++] = root;
	for (i = 0; i < n && n < max; i++) {
		snprintf(path, sizeof path, "/proc/%ld/task", (long)pids[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL && n < max) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "/proc/%ld/task/%s/children",
			    (long)pids[i], de->d_name);
			if (proc_read(path, buf, sizeof buf) <= 0)
				continue;
			for (p = buf; n < max; p = end) {
				child = strtol(p, &end, 10);
				if (end == p || child <= 0)
					break;
				pids[n++] = (pid_t)child;
			}
		}
		closedir(d);
	}
	return n;
}

/*
 * CPU clock ticks a process has used (utime and stime, fields 14 and 15
 * of /proc/PID/stat) and, with reaped set, those of the children it has
 * waited for (cutime and cstime); -1 when it is gone.
 */
int64_t
proc_cpu_ticks(pid_t pid, int reaped)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st, cut, cst;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (proc_read(path, buf, sizeof buf) <= 0)
		return -1;
	/* The name in parentheses may hold anything: skip past its end. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu %llu %llu", &ut, &st, &cut, &cst) != 4)
		return -1;
	if (!reaped)
		cut = cst = 0;
	return (int64_t)(ut + st + cut + cst);
}

/*
 * A process's parent and its start in wall-clock milliseconds (fields 4
 * and 22 of /proc/PID/stat; the start counts from boot, which is now on
 * the wall clock less CLOCK_BOOTTIME): 0, or -1 when it is gone or
 * cannot be read. The start is good to a clock tick.
 */
int
proc_parent_start(pid_t pid, pid_t *parent, int64_t *start_ms)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 start;
	struct timespec		 up, now;
	int			 ppid;
	char			 state;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if (proc_read(path, buf, sizeof buf) <= 0)
		return -1;
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%*u %*u %*d %*d %*d %*d %*d %*d %llu", &state, &ppid,
	    &start) != 3)
		return -1;
	if (clock_gettime(CLOCK_BOOTTIME, &up) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &now) != 0)
		return -1;
	*parent = (pid_t)ppid;
	*start_ms = ((int64_t)now.tv_sec - up.tv_sec) * 1000 +
	    ((int64_t)now.tv_nsec - up.tv_nsec) / 1000000 +
	    (int64_t)(start * 1000 / (unsigned long long)proc_ticks_per_second());
	return 0;
}

/* The clock ticks of proc_cpu_ticks in a second. */
long
proc_ticks_per_second(void)
{
	static long	 hz;

	if (hz == 0 && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	return hz;
}

/* Resident memory of a process in bytes (/proc/PID/statm); 0 if gone. */
uint64_t
proc_rss(pid_t pid)
{
	static long		 page;
	char			 path[64], buf[256];
	unsigned long long	 size, resident;

	if (page == 0 && (page = sysconf(_SC_PAGESIZE)) <= 0)
		page = 4096;
	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/statm");
	else
		snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
	if (proc_read(path, buf, sizeof buf) <= 0 ||
	    sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)page;
}

/*
 * Descriptors of a process (0: this one) that are PTYs: masters
 * (/dev/ptmx) or slaves (/dev/pts/N), as asked, looking at no more than
 * max of them; -1 when its descriptors may not be read (a setgid game,
 * or another user's process) or it is gone.
 */
int
proc_pty_fds(pid_t pid, int masters, u_int max)
{
	char		 path[64], link[352], target[64];
	DIR		*d;
	struct dirent	*de;
	ssize_t		 n;
	u_int		 looked = 0;
	int		 count = 0;

	if (pid == 0)
		snprintf(path, sizeof path, "/proc/self/fd");
	else
		snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && looked++ < max) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof link, "%s/%s", path, de->d_name);
		if ((n = readlink(link, target, sizeof target - 1)) <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "/dev/ptmx") == 0 ||
		    strcmp(target, "/dev/pts/ptmx") == 0) {
			if (masters)
				count++;
		} else if (!masters && strncmp(target, "/dev/pts/", 9) == 0)
			count++;
	}
	closedir(d);
	return count;
}
