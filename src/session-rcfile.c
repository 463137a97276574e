/*
 * A game's options file in the player's home. Before a game, and before
 * the editor, a missing file is made as a copy of the server's template
 * (or empty), and never over a file that is there. For the editor, the
 * file is then opened without following any link below the home and
 * checked: a plain file of the player's own, with no other name, within
 * the size cap. The editor is handed that descriptor, so what it edits
 * is what was checked whatever happens to the name afterwards.
 *
 * No event loop: the unit tests call these directly.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

/* The part of path below home, or NULL when path is not below it. */
static const char *
rcfile_relative(const char *home, const char *path)
{
	size_t	 len = strlen(home);

	while (len > 1 && home[len - 1] == '/')
		len--;
	if (len == 0 || strncmp(path, home, len) != 0 ||
	    (path[len] != '/' && home[len - 1] != '/'))
		return NULL;
	path += len;
	while (*path == '/')
		path++;
	return *path != '\0' ? path : NULL;
}

/*
 * Read the template: a regular file of at most max bytes. Returns 0 with
 * its bytes, or -1 with *why.
 */
static int
rcfile_read_template(const char *path, size_t max, char **buf, size_t *len,
    char **why)
{
	struct stat	 sb;
	size_t		 got = 0;
	ssize_t		 n;
	char		*b;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC)) == -1) {
		xasprintf(why, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		xasprintf(why, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size > max) {
		xasprintf(why, "%s is larger than %zu bytes", path, max);
		close(fd);
		return -1;
	}
	/* One byte more than allowed, to see a file that grew meanwhile. */
	b = xmalloc(max + 1);
	while (got < max + 1) {
		n = read(fd, b + got, max + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				break;
			xasprintf(why, "cannot read %s: %s", path,
			    strerror(errno));
			free(b);
			close(fd);
			return -1;
		}
		got += (size_t)n;
	}
	close(fd);
	if (got > max) {
		xasprintf(why, "%s is larger than %zu bytes", path, max);
		free(b);
		return -1;
	}
	*buf = b;
	*len = got;
	return 0;
}

/*
 * Write a new file called name in dir holding len bytes: whole or not at
 * all. It is written unnamed (O_TMPFILE) and then given its name, which
 * fails when the name exists; where the filesystem cannot do that, it is
 * created exclusively and written. Returns 1 when made, 0 when the name
 * was taken meanwhile, -1 with errno.
 */
static int
rcfile_write_new(int dir, const char *name, const char *buf, size_t len)
{
	char	 proc[64];
	int	 fd, rc, err;

	fd = openat(dir, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd != -1) {
		if (util_write_all(fd, buf, len) != 0) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		rc = linkat(AT_FDCWD, proc, dir, name, AT_SYMLINK_FOLLOW);
		err = errno;
		close(fd);
		if (rc == 0)
			return 1;
		if (err == EEXIST)
			return 0;
		/* No /proc, or a filesystem that cannot link it: below. */
	}
	fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return errno == EEXIST ? 0 : -1;
	if (util_write_all(fd, buf, len) != 0) {
		err = errno;
		unlinkat(dir, name, 0);
		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return 1;
}

/*
 * Make the options file name in dir when it is missing: a copy of the
 * template, or empty when there is none or it cannot be used (rf->warning
 * says why). Returns 0 (rf->made says whether it was made now), or -1
 * with errno.
 */
static int
rcfile_make(struct rcfile *rf, int dir, const char *name)
{
	struct stat	 sb;
	char		*buf = NULL;
	size_t		 len = 0;
	int		 rc;

	if (fstatat(dir, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	if (rf->template != NULL && *rf->template != '\0' &&
	    rcfile_read_template(rf->template, rf->max, &buf, &len,
	    &rf->warning) != 0) {
		buf = NULL;
		len = 0;
	}
	rc = rcfile_write_new(dir, name, buf, len);
	free(buf);
	if (rc == -1)
		return -1;
	rf->made = rc;
	return 0;
}

/*
 * Open the folder holding the options file, from the home down, following
 * no link below the home. Returns its descriptor with *name the file's
 * name in it, or -1 with *cause.
 */
static int
rcfile_dir(struct rcfile *rf, const char **name, char **cause)
{
	const char	*rel, *p, *slash;
	char		*part, *shown;
	int		 dir, next, err;

	if ((rel = rcfile_relative(rf->home, rf->path)) == NULL) {
		xasprintf(cause, "Your options file %s is not in your home "
		    "folder; please tell the server admin.", rf->path);
		return -1;
	}
	if ((dir = open(rf->home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "DungeonGate cannot open your home folder "
		    "(%s); please tell the server admin.", strerror(errno));
		return -1;
	}
	for (p = rel; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		if (slash == p || (slash == p + 1 && *p == '.'))
			continue;
		part = xstrndup(p, (size_t)(slash - p));
		next = openat(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		err = errno;
		free(part);
		if (next != -1) {
			close(dir);
			dir = next;
			continue;
		}
		shown = xstrndup(rel, (size_t)(slash - rel));
		if (err == ELOOP || err == ENOTDIR)
			xasprintf(cause, "The folder ~/%s of your options file "
			    "is a symbolic link or not a folder, so DungeonGate "
			    "will not go through it; please ask the server "
			    "admin to replace it.", shown);
		else if (err == ENOENT)
			xasprintf(cause, "The folder ~/%s of your options file "
			    "does not exist; please ask the server admin to "
			    "make it.", shown);
		else
			xasprintf(cause, "DungeonGate cannot open the folder "
			    "~/%s of your options file (%s).", shown,
			    strerror(err));
		free(shown);
		close(dir);
		return -1;
	}
	*name = p;
	return dir;
}

/*
 * Before a game: make its options file when it is missing. Returns 0
 * (rf->made and rf->warning say what happened), or -1 with *cause.
 */
int
rcfile_ensure(struct rcfile *rf, char **cause)
{
	const char	*name;
	int		 dir, rc;

	rf->made = 0;
	if ((dir = rcfile_dir(rf, &name, cause)) == -1)
		return -1;
	rc = rcfile_make(rf, dir, name);
	if (rc != 0)
		xasprintf(cause, "DungeonGate cannot make your options file "
		    "~/%s (%s).", rcfile_relative(rf->home, rf->path),
		    strerror(errno));
	close(dir);
	return rc;
}

/*
 * Before the editor: make the options file when it is missing, then open
 * it, following no link, and check it is one the player may edit here: a
 * plain file, the player's own, with no other name (a hard link would
 * make an edit change another file), within the cap. Returns the
 * descriptor (read-only, close-on-exec), or -1 with *cause, a sentence
 * for the player.
 */
int
rcfile_open(struct rcfile *rf, char **cause)
{
	struct stat	 sb;
	const char	*name, *rel;
	int		 dir, fd, err;

	rf->made = 0;
	if ((dir = rcfile_dir(rf, &name, cause)) == -1)
		return -1;
	rel = rcfile_relative(rf->home, rf->path);
	if (rcfile_make(rf, dir, name) != 0) {
		xasprintf(cause, "DungeonGate cannot make your options file "
		    "~/%s (%s).", rel, strerror(errno));
		close(dir);
		return -1;
	}
	/* Non-blocking, so that a FIFO cannot hold the session here. */
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	err = errno;
	close(dir);
	if (fd == -1) {
		if (err == ELOOP)
			xasprintf(cause, "Your options file ~/%s is a symbolic "
			    "link, so DungeonGate will not open it: it edits "
			    "only a plain file of your own. Please ask the "
			    "server admin to replace it.", rel);
		else if (err == ENXIO)
			xasprintf(cause, "Your options file ~/%s is not a "
			    "plain file, so DungeonGate will not open it.",
			    rel);
		else
			xasprintf(cause, "DungeonGate cannot open your options "
			    "file ~/%s (%s).", rel, strerror(err));
		return -1;
	}
	if (fstat(fd, &sb) != 0) {
		xasprintf(cause, "DungeonGate cannot look at your options file "
		    "~/%s (%s).", rel, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode))
		xasprintf(cause, "Your options file ~/%s is not a plain file, "
		    "so DungeonGate will not open it.", rel);
	else if (sb.st_uid != rf->uid)
		xasprintf(cause, "Your options file ~/%s belongs to another "
		    "user, so DungeonGate will not open it; please ask the "
		    "server admin to give it back to you.", rel);
	else if (sb.st_nlink != 1)
		xasprintf(cause, "Your options file ~/%s has other names "
		    "(hard links), so DungeonGate will not open it: an edit "
		    "would change another file too. Please ask the server "
		    "admin to replace it.", rel);
	else if ((uint64_t)sb.st_size > rf->max)
		xasprintf(cause, "Your options file ~/%s is %llu KB, more than "
		    "the %zu KB DungeonGate edits; please ask the server admin "
		    "to shorten it.", rel,
		    (unsigned long long)(sb.st_size + 1023) / 1024,
		    rf->max / 1024);
	else
		return fd;
	close(fd);
	return -1;
}
