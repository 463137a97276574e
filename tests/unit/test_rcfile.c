/*
 * Unit tests for a game's options file: made from the template when
 * missing and never over a file that is there, and for the editor opened
 * only when it is a plain file of the player's own, with one name,
 * within the cap, reached through no link below the home.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"
#include "session.h"

#define CAP	1024

/* A scratch home for one test, and paths in it. */
struct home {
	char	 dir[64];
	char	 path[160];	/* the options file */
	char	 template[160];
	char	 other[160];	/* a file elsewhere */
};

/* Make a scratch home with a template and a file outside the home. */
static int
setup(void **state)
{
	struct home	*h = xcalloc(1, sizeof *h);
	char		 sub[160];

	snprintf(h->dir, sizeof h->dir, "/tmp/dg-rcfile.XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(sub, sizeof sub, "%s/home", h->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(h->path, sizeof h->path, "%s/home/.nethackrc", h->dir);
	snprintf(h->template, sizeof h->template, "%s/template", h->dir);
	snprintf(h->other, sizeof h->other, "%s/other", h->dir);
	*state = h;
	return 0;
}

/* Remove the scratch home and all in it. */
static int
teardown(void **state)
{
	struct home	*h = *state;
	char		*cmd;

	xasprintf(&cmd, "rm -rf '%s'", h->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(h);
	return 0;
}

/* Write text to a file, made fresh. */
static void
put(const char *path, const char *text)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd != -1);
	assert_int_equal(util_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* Write n bytes of 'x' to a file, made fresh. */
static void
put_size(const char *path, size_t n)
{
	char	*buf = xmalloc(n + 1);

	memset(buf, 'x', n);
	buf[n] = '\0';
	put(path, buf);
	free(buf);
}

/* What a file holds (at most 4 KB), as a string the caller frees. */
static char *
get(const char *path)
{
	char	 buf[4096];
	ssize_t	 n;
	int	 fd;

	fd = open(path, O_RDONLY);
	assert_true(fd != -1);
	n = read(fd, buf, sizeof buf - 1);
	assert_true(n >= 0);
	close(fd);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Does a path exist, link or not? */
static int
exists(const char *path)
{
	struct stat	 sb;

	return lstat(path, &sb) == 0;
}

/* An rcfile of the scratch home, for this process's uid. */
static struct rcfile
rf_of(struct home *h, const char *template)
{
	struct rcfile	 rf;
	char		*home;

	memset(&rf, 0, sizeof rf);
	xasprintf(&home, "%s/home", h->dir);
	rf.home = home;
	rf.path = h->path;
	rf.template = template;
	rf.max = CAP;
	rf.uid = getuid();
	return rf;
}

/* Free what an rcfile holds. */
static void
rf_free(struct rcfile *rf)
{
	free((char *)rf->home);
	free(rf->warning);
}

/* Opening must fail with a cause that says want; nothing is left open. */
static void
refused(struct rcfile *rf, const char *want)
{
	char	*cause = NULL;
	int	 fd;

	fd = rcfile_open(rf, &cause);
	if (fd != -1)
		close(fd);
	assert_int_equal(fd, -1);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause \"%s\" does not say \"%s\"", cause, want);
	free(cause);
}

/* Opening must succeed; returns the descriptor. */
static int
opened(struct rcfile *rf)
{
	char	*cause = NULL;
	int	 fd;

	fd = rcfile_open(rf, &cause);
	if (fd == -1)
		fail_msg("refused: %s", cause);
	return fd;
}

/* A missing file with no template is made empty, 0600, and opened. */
static void
test_missing_made_empty(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);
	struct stat	 sb;
	int		 fd;

	fd = opened(&rf);
	assert_int_equal(rf.made, 1);
	assert_null(rf.warning);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_nlink, 1);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* The second time, it is there. */
	fd = opened(&rf);
	assert_int_equal(rf.made, 0);
	close(fd);
	rf_free(&rf);
}

/* A missing file starts as a copy of the template. */
static void
test_missing_from_template(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, h->template);
	char		*text;
	int		 fd;

	put(h->template, "OPTIONS=time\nOPTIONS=!autopickup\n");
	fd = opened(&rf);
	assert_int_equal(rf.made, 1);
	assert_null(rf.warning);
	close(fd);
	text = get(h->path);
	assert_string_equal(text, "OPTIONS=time\nOPTIONS=!autopickup\n");
	free(text);
	rf_free(&rf);
}

/* The template never replaces a file that is there, even an empty one. */
static void
test_template_never_over(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, h->template);
	char		*text, *cause = NULL;
	int		 fd;

	put(h->template, "OPTIONS=time\n");
	put(h->path, "OPTIONS=showexp\n");
	fd = opened(&rf);
	assert_int_equal(rf.made, 0);
	close(fd);
	text = get(h->path);
	assert_string_equal(text, "OPTIONS=showexp\n");
	free(text);

	put(h->path, "");
	assert_int_equal(rcfile_ensure(&rf, &cause), 0);
	assert_int_equal(rf.made, 0);
	text = get(h->path);
	assert_string_equal(text, "");
	free(text);
	rf_free(&rf);
}

/* A template that cannot be used gives an empty file and a warning. */
static void
test_template_unusable(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, h->template);
	char		*text, *cause = NULL;
	int		 fd;

	/* Missing. */
	fd = opened(&rf);
	assert_int_equal(rf.made, 1);
	assert_non_null(rf.warning);
	assert_non_null(strstr(rf.warning, "cannot read"));
	close(fd);
	free(rf.warning);
	rf.warning = NULL;
	assert_int_equal(unlink(h->path), 0);

	/* Over the cap: nothing of it is copied. */
	put_size(h->template, CAP + 1);
	assert_int_equal(rcfile_ensure(&rf, &cause), 0);
	assert_int_equal(rf.made, 1);
	assert_non_null(rf.warning);
	assert_non_null(strstr(rf.warning, "larger than"));
	text = get(h->path);
	assert_string_equal(text, "");
	free(text);
	free(rf.warning);
	rf.warning = NULL;
	assert_int_equal(unlink(h->path), 0);

	/* Not a regular file. */
	assert_int_equal(unlink(h->template), 0);
	assert_int_equal(mkfifo(h->template, 0644), 0);
	assert_int_equal(rcfile_ensure(&rf, &cause), 0);
	assert_non_null(rf.warning);
	assert_non_null(strstr(rf.warning, "not a regular file"));
	rf_free(&rf);
}

/* A symlinked options file is refused, and nothing is written through it. */
static void
test_symlink_refused(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, h->template);
	char		*text, *cause = NULL;

	put(h->template, "OPTIONS=time\n");
	put(h->other, "secret\n");
	assert_int_equal(symlink(h->other, h->path), 0);
	refused(&rf, "is a symbolic link");
	text = get(h->other);
	assert_string_equal(text, "secret\n");
	free(text);

	/* A dangling link is not followed to make its target. */
	assert_int_equal(unlink(h->path), 0);
	assert_int_equal(unlink(h->other), 0);
	assert_int_equal(symlink(h->other, h->path), 0);
	refused(&rf, "is a symbolic link");
	assert_false(exists(h->other));
	assert_int_equal(rcfile_ensure(&rf, &cause), 0);
	assert_int_equal(rf.made, 0);
	assert_false(exists(h->other));
	rf_free(&rf);
}

/* A file with another name (a hard link) is refused. */
static void
test_hard_link_refused(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);
	int		 fd;

	put(h->other, "OPTIONS=time\n");
	assert_int_equal(link(h->other, h->path), 0);
	refused(&rf, "hard links");
	/* With the other name gone, it is the player's plain file again. */
	assert_int_equal(unlink(h->other), 0);
	fd = opened(&rf);
	close(fd);
	rf_free(&rf);
}

/* A FIFO or a folder is no options file; a FIFO does not block. */
static void
test_not_regular_refused(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);

	assert_int_equal(mkfifo(h->path, 0600), 0);
	refused(&rf, "is not a plain file");
	assert_int_equal(unlink(h->path), 0);
	assert_int_equal(mkdir(h->path, 0700), 0);
	refused(&rf, "is not a plain file");
	rf_free(&rf);
}

/* A file of another user is refused. */
static void
test_other_owner_refused(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);

	put(h->path, "OPTIONS=time\n");
	rf.uid = getuid() + 1;
	refused(&rf, "belongs to another user");
	rf_free(&rf);
}

/* Up to the cap is edited; a byte more is refused. */
static void
test_size_cap(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);
	int		 fd;

	put_size(h->path, CAP);
	fd = opened(&rf);
	close(fd);
	put_size(h->path, CAP + 1);
	refused(&rf, "more than the 1 KB");
	rf_free(&rf);
}

/* Folders on the way are walked without following links. */
static void
test_folders(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);
	char		 sub[200], path[200], elsewhere[100], beyond[200];
	char		*cause = NULL;
	int		 fd;

	snprintf(path, sizeof path, "%s/home/.crawl/./init.txt", h->dir);
	rf.path = path;
	refused(&rf, "folder ~/.crawl of your options file does not exist");
	assert_int_equal(rcfile_ensure(&rf, &cause), -1);
	assert_non_null(strstr(cause, "does not exist"));
	free(cause);

	snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", h->dir);
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	snprintf(sub, sizeof sub, "%s/home/.crawl", h->dir);
	assert_int_equal(symlink(elsewhere, sub), 0);
	refused(&rf, "is a symbolic link or not a folder");
	snprintf(beyond, sizeof beyond, "%s/init.txt", elsewhere);
	assert_false(exists(beyond));
	assert_int_equal(rcfile_ensure(&rf, &cause), -1);
	free(cause);
	assert_false(exists(beyond));

	assert_int_equal(unlink(sub), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	fd = opened(&rf);
	assert_int_equal(rf.made, 1);
	close(fd);
	snprintf(beyond, sizeof beyond, "%s/home/.crawl/init.txt", h->dir);
	assert_true(exists(beyond));
	rf_free(&rf);
}

/* A path that is not below the home is refused, whatever it is. */
static void
test_outside_home(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);
	char		 path[200];

	put(h->other, "x\n");
	rf.path = h->other;
	refused(&rf, "not in your home folder");
	snprintf(path, sizeof path, "%s/homeother/.rc", h->dir);
	rf.path = path;
	refused(&rf, "not in your home folder");
	snprintf(path, sizeof path, "%s/home/", h->dir);
	rf.path = path;
	refused(&rf, "not in your home folder");
	rf_free(&rf);
}

/* A home written with a slash at its end is the same home. */
static void
test_home_trailing_slash(void **state)
{
	struct home	*h = *state;
	struct rcfile	 rf = rf_of(h, NULL);
	char		*home;
	int		 fd;

	free((char *)rf.home);
	xasprintf(&home, "%s/home/", h->dir);
	rf.home = home;
	fd = opened(&rf);
	close(fd);
	assert_true(exists(h->path));
	rf_free(&rf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_made_empty,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_from_template,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_never_over,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_unusable,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hard_link_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_owner_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_folders,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_home,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_home_trailing_slash,
		    setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
