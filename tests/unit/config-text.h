/*
 * Unit tests: load a configuration from text, through a temporary file,
 * as the broker would read it. Include it after cmocka.h.
 */
#ifndef TEST_CONFIG_TEXT_H
#define TEST_CONFIG_TEXT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Load text as a configuration file, then remove the file. */
static inline struct config *
config_from_text(const char *text, char **cause)
{
	struct config	*cfg;
	char		 path[] = "/tmp/dg-unit-config-XXXXXX";
	FILE		*f;
	int		 fd;

	fd = mkstemp(path);
	assert_true(fd != -1);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	cfg = config_load(path, cause);
	unlink(path);
	return cfg;
}

/* Text that must load; the caller frees the result. */
static inline struct config *
config_from_text_ok(const char *text)
{
	struct config	*cfg;
	char		*cause = NULL;

	cfg = config_from_text(text, &cause);
	if (cfg == NULL) {
		print_error("refused:\n%s\ncause: %s\n", text,
		    cause != NULL ? cause : "(none)");
		free(cause);
		fail_msg("a good configuration was refused");
	}
	assert_null(cause);
	return cfg;
}

#endif
