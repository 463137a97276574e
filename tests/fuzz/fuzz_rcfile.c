/*
 * Fuzz the options-file checks with a home folder the player has laid
 * out: folders, files of any size, symbolic links (to a file or folder
 * outside the home too), hard links, FIFOs and files of another user.
 * Whatever the layout, the descriptor handed to the editor is a plain
 * file of the player's own below the home, with one name and within the
 * cap; nothing outside the home changes; no descriptor is left open.
 *
 * The input is lines of "OP ARGS", applied in a fresh folder each run:
 *
 *	path REL	the options file, "HOME/REL" (as the broker makes it)
 *	home SUFFIX	the home as passwd spells it: the folder and SUFFIX
 *			(up to 4 of / and ., without "..")
 *	max N		the size cap (0: no template is copied)
 *	template T	@tpl (a template), @big, @dir, @fifo, @none or @secret
 *	ensure		before a game (rcfile_ensure), not the editor
 *	dir REL, file REL SIZE, fifo REL, chown REL
 *	link REL TARGET	TARGET: @out, @secret, @none or a name in REL's folder
 *	hard REL FROM	FROM: @secret or a REL of the home
 *
 * REL is up to 64 of [A-Za-z0-9._/-] without "..", so that whatever the
 * layout, every name resolves inside the run's folder: no link leads out.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "session.h"
#include "fuzz.h"

#define FUZZ_MAX_LINES	32
#define FUZZ_MAX_FILE	(256 * 1024)
#define FUZZ_TEMPLATE	"OPTIONS=autopickup,pickup_types:$\n"

static char	 fuzz_base[PATH_MAX];	/* this process's folder */
static char	 fuzz_home[PATH_MAX];	/* base/home */
static char	 fuzz_home_real[PATH_MAX];
static char	 fuzz_out[PATH_MAX];	/* base/outside */
static char	 fuzz_secret[PATH_MAX];	/* base/outside/secret */

/* Remove one entry of a tree, for nftw. */
static int
fuzz_remove_cb(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Remove a tree if it is there. */
static void
fuzz_remove(const char *path)
{
	nftw(path, fuzz_remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write a whole small file. */
static void
fuzz_write(const char *path, const char *text)
{
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || util_write_all(fd, text, strlen(text)) != 0)
		abort();
	close(fd);
}

/* Remove the run's folder at exit. */
static void
fuzz_cleanup(void)
{
	if (*fuzz_base != '\0')
		fuzz_remove(fuzz_base);
}

/* Make this process's folder and the templates in it. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp;
	char		 path[PATH_MAX];

	/* Under run.sh's folder, which goes even when a crash stops us. */
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp != '/' ||
	    strlen(tmp) > 256)
		tmp = "/tmp";
	snprintf(fuzz_base, sizeof fuzz_base, "%s/dg-fuzz-rcfile-XXXXXX",
	    tmp);
	if (mkdtemp(fuzz_base) == NULL)
		abort();
	atexit(fuzz_cleanup);
	snprintf(fuzz_home, sizeof fuzz_home, "%s/home", fuzz_base);
	snprintf(fuzz_out, sizeof fuzz_out, "%s/outside", fuzz_base);
	snprintf(fuzz_secret, sizeof fuzz_secret, "%s/secret", fuzz_out);
	/* The templates, which never change. */
	snprintf(path, sizeof path, "%s/tpl", fuzz_base);
	fuzz_write(path, FUZZ_TEMPLATE);
	snprintf(path, sizeof path, "%s/big", fuzz_base);
	fuzz_write(path, "");
	if (truncate(path, 1024 * 1024) != 0)
		abort();
	snprintf(path, sizeof path, "%s/tpldir", fuzz_base);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/fifo", fuzz_base);
	mkfifo(path, 0600);
	return 0;
}

/* Lay out a fresh home and the folder outside it. */
static void
fuzz_reset(void)
{
	fuzz_remove(fuzz_home);
	fuzz_remove(fuzz_out);
	if (mkdir(fuzz_home, 0700) != 0 || mkdir(fuzz_out, 0700) != 0)
		abort();
	fuzz_write(fuzz_secret, "secret\n");
	if (realpath(fuzz_home, fuzz_home_real) == NULL)
		abort();
}

/* Is s a name below the home that stays within the run's folder? */
static int
fuzz_valid_rel(const char *s)
{
	size_t	 len = strlen(s);

	return len >= 1 && len <= 64 && s[0] != '/' &&
	    strstr(s, "..") == NULL && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == len;
}

/* The whole path of a name below the home. */
static void
fuzz_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", fuzz_home, rel);
}

/* What the folder outside the home holds, to see that nothing changed. */
struct fuzz_outside {
	ino_t	 ino;
	nlink_t	 nlink;
	off_t	 size;
	u_int	 entries;
};

/* Take stock of the folder outside the home. */
static void
fuzz_outside_read(struct fuzz_outside *fo)
{
	struct stat	 sb;
	struct dirent	*de;
	DIR		*d;

	memset(fo, 0, sizeof *fo);
	if (lstat(fuzz_secret, &sb) == 0) {
		fo->ino = sb.st_ino;
		fo->nlink = sb.st_nlink;
		fo->size = sb.st_size;
	}
	if ((d = opendir(fuzz_out)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		fo->entries++;
	closedir(d);
}

/* The lowest free descriptor, to see that none was left open. */
static int
fuzz_lowest_fd(void)
{
	int	 fd;

	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	close(fd);
	return fd;
}

/* A link's target from the input, or NULL for one that is not allowed. */
static const char *
fuzz_link_target(const char *t, char *buf, size_t len)
{
	if (strcmp(t, "@out") == 0)
		return fuzz_out;
	if (strcmp(t, "@secret") == 0)
		return fuzz_secret;
	if (strcmp(t, "@none") == 0) {
		snprintf(buf, len, "%s/none", fuzz_out);
		return buf;
	}
	if (strchr(t, '/') != NULL || strstr(t, "..") != NULL ||
	    !fuzz_valid_rel(t))
		return NULL;
	return t;
}

/* The template a name from the input stands for. */
static const char *
fuzz_template(const char *t, char *buf, size_t len)
{
	static const char *const names[][2] = {
		{ "@tpl", "tpl" }, { "@big", "big" }, { "@dir", "tpldir" },
		{ "@fifo", "fifo" }, { "@none", "none" }
	};
	u_int	 i;

	if (strcmp(t, "@secret") == 0)
		return fuzz_secret;
	for (i = 0; i < nitems(names); i++) {
		if (strcmp(t, names[i][0]) == 0) {
			snprintf(buf, len, "%s/%s", fuzz_base, names[i][1]);
			return buf;
		}
	}
	return NULL;
}

/* Apply one layout line; the rcfile's own settings go in rf. */
static void
fuzz_apply(char *line, struct rcfile *rf, char *rcpath, size_t rclen,
    char *home, size_t homelen, char *tpl, size_t tpllen, int *ensure)
{
	char		 path[PATH_MAX], from[PATH_MAX], buf[PATH_MAX];
	char		*op, *a, *b;
	const char	*t;
	long long	 n;
	int		 fd;

	op = strtok(line, " ");
	a = strtok(NULL, " ");
	b = strtok(NULL, " ");
	if (op == NULL)
		return;
	if (strcmp(op, "ensure") == 0) {
		*ensure = 1;
		return;
	}
	if (a == NULL)
		return;
	if (strcmp(op, "home") == 0) {
		/* The same folder, spelt otherwise: "..", another, is not. */
		if (strlen(a) <= 4 && strspn(a, "/.") == strlen(a) &&
		    strstr(a, "..") == NULL)
			snprintf(home, homelen, "%s%s", fuzz_home, a);
		return;
	}
	if (strcmp(op, "max") == 0) {
		n = strtoll(a, NULL, 10);
		if (n >= 0 && n <= FUZZ_MAX_FILE)
			rf->max = (size_t)n;
		return;
	}
	if (strcmp(op, "template") == 0) {
		if ((t = fuzz_template(a, buf, sizeof buf)) != NULL) {
			snprintf(tpl, tpllen, "%s", t);
			rf->template = tpl;
		}
		return;
	}
	if (!fuzz_valid_rel(a))
		return;
	if (strcmp(op, "path") == 0) {
		snprintf(rcpath, rclen, "%s", a);
		return;
	}
	fuzz_path(path, sizeof path, a);
	if (strcmp(op, "dir") == 0)
		mkdir(path, 0700);
	else if (strcmp(op, "file") == 0) {
		n = b != NULL ? strtoll(b, NULL, 10) : 0;
		if (n < 0 || n > FUZZ_MAX_FILE)
			return;
		if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC, 0600)) != -1) {
			if (ftruncate(fd, (off_t)n) != 0)
				abort();
			close(fd);
		}
	} else if (strcmp(op, "fifo") == 0)
		mkfifo(path, 0600);
	else if (strcmp(op, "chown") == 0) {
		if (lchown(path, 1, 1) != 0 && errno != ENOENT &&
		    errno != EPERM && errno != ENOTDIR)
			abort();
	} else if (strcmp(op, "link") == 0 && b != NULL) {
		if ((t = fuzz_link_target(b, buf, sizeof buf)) != NULL)
			symlink(t, path);
	} else if (strcmp(op, "hard") == 0 && b != NULL) {
		if (strcmp(b, "@secret") == 0)
			link(fuzz_secret, path);
		else if (fuzz_valid_rel(b)) {
			fuzz_path(from, sizeof from, b);
			link(from, path);
		}
	}
}

/* The descriptor for the editor: what the checks promise of it. */
static void
fuzz_check_fd(int fd, const struct rcfile *rf)
{
	struct stat	 sb;
	char		 proc[64], target[PATH_MAX];
	size_t		 hlen = strlen(fuzz_home_real);
	ssize_t		 n;
	int		 fl;

	FUZZ_CHECK(fstat(fd, &sb) == 0);
	FUZZ_CHECK(S_ISREG(sb.st_mode));
	FUZZ_CHECK(sb.st_uid == rf->uid);
	FUZZ_CHECK(sb.st_nlink == 1);
	FUZZ_CHECK((uint64_t)sb.st_size <= rf->max);
	FUZZ_CHECK((fl = fcntl(fd, F_GETFL)) != -1);
	FUZZ_CHECK((fl & O_ACCMODE) == O_RDONLY);
	FUZZ_CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof target - 1);
	FUZZ_CHECK(n > 0);
	target[n] = '\0';
	FUZZ_CHECK(strncmp(target, fuzz_home_real, hlen) == 0 &&
	    target[hlen] == '/');
}

/* One layout of the home, then the checks on it. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcfile		 rf;
	struct fuzz_outside	 before, after;
	char			*text, *line, *next, *cause = NULL;
	char			 rcrel[PATH_MAX], home[PATH_MAX];
	char			 rcpath[PATH_MAX * 2], tpl[PATH_MAX];
	int			 ensure = 0, fd, lowest, rc;
	u_int			 lines = 0;

	fuzz_reset();
	memset(&rf, 0, sizeof rf);
	rf.max = 4096;
	rf.uid = getuid();
	snprintf(rcrel, sizeof rcrel, ".nethackrc");
	snprintf(home, sizeof home, "%s", fuzz_home);

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line != NULL && lines < FUZZ_MAX_LINES;
	    line = next, lines++) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		fuzz_apply(line, &rf, rcrel, sizeof rcrel, home, sizeof home,
		    tpl, sizeof tpl, &ensure);
	}
	free(text);
	/* As the session does: without a cap, nothing is copied. */
	if (rf.max == 0)
		rf.template = NULL;
	snprintf(rcpath, sizeof rcpath, "%s/%s", home, rcrel);
	rf.home = home;
	rf.path = rcpath;

	fuzz_outside_read(&before);
	lowest = fuzz_lowest_fd();
	if (ensure) {
		rc = rcfile_ensure(&rf, &cause);
		FUZZ_CHECK(rc == 0 || rc == -1);
		fd = -1;
	} else {
		fd = rcfile_open(&rf, &cause);
		rc = fd == -1 ? -1 : 0;
	}
	if (rc == -1) {
		FUZZ_CHECK(cause != NULL && util_valid_text(cause));
		FUZZ_CHECK(fd == -1);
		free(cause);
	} else {
		FUZZ_CHECK(cause == NULL);
		if (fd != -1) {
			fuzz_check_fd(fd, &rf);
			close(fd);
		}
	}
	if (rf.warning != NULL)
		FUZZ_CHECK(util_valid_text(rf.warning));
	free(rf.warning);
	FUZZ_CHECK(fuzz_lowest_fd() == lowest);
	fuzz_outside_read(&after);
	FUZZ_CHECK(before.ino == after.ino && before.nlink == after.nlink &&
	    before.size == after.size && before.entries == after.entries);
	return 0;
}
