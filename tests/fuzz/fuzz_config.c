/*
 * Fuzz the configuration reader with a file's bytes. The first byte says
 * which reader: the broker's (every key checked) or the session's (the
 * few keys it needs, never failing). A file the broker accepts must print
 * as --test-config prints it, and that text must load again to the same
 * configuration.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dungeongate.h"
#include "fuzz.h"

#define FUZZ_CONFIG_PATH	"fuzz.ini"

/* The configuration as --test-config prints it; the caller frees it. */
static char *
fuzz_config_print(const struct config *cfg, size_t *len)
{
	FILE	*f;
	char	*text = NULL;

	if ((f = open_memstream(&text, len)) == NULL)
		abort();
	config_print(cfg, f);
	if (fclose(f) != 0)
		abort();
	return text;
}

/* The broker's reader, and the round trip of what it accepts. */
static void
fuzz_config_broker(const char *text, size_t len)
{
	struct config	*cfg, *again;
	char		*cause, *printed, *printed2;
	size_t		 plen, plen2;

	if ((cfg = config_load_text(FUZZ_CONFIG_PATH, text, len,
	    &cause)) == NULL) {
		FUZZ_CHECK(cause != NULL && *cause != '\0');
		free(cause);
		return;
	}
	FUZZ_CHECK(cause == NULL);
	FUZZ_CHECK(cfg->ngames >= 1 && cfg->ngames <= CONFIG_MAX_GAMES);
	FUZZ_CHECK(cfg->nquotas >= 1 && cfg->nquotas <= CONFIG_MAX_QUOTAS);
	FUZZ_CHECK(config_find_quota(cfg, "default") != NULL);
	FUZZ_CHECK(config_max_connections(cfg) >= 1);

	printed = fuzz_config_print(cfg, &plen);
	if ((again = config_load_text(FUZZ_CONFIG_PATH, printed, plen,
	    &cause)) == NULL) {
		fprintf(stderr, "printed configuration refused:\n%s\n--\n%s",
		    cause, printed);
		FUZZ_CHECK(0);
	}
	printed2 = fuzz_config_print(again, &plen2);
	if (plen != plen2 || memcmp(printed, printed2, plen) != 0) {
		fprintf(stderr, "printed configuration changed:\n%s\n--\n%s",
		    printed, printed2);
		FUZZ_CHECK(0);
	}
	free(printed2);
	free(printed);
	config_free(again);
	config_free(cfg);
}

/* One file's bytes, for the broker's reader or the session's. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	char		*warnings;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		cfg = config_load_session_text(FUZZ_CONFIG_PATH,
		    (const char *)data + 1, size - 1, &warnings);
		FUZZ_CHECK(cfg != NULL);
		FUZZ_CHECK(*cfg->broker_socket == '/');
		free(warnings);
		config_free(cfg);
	} else
		fuzz_config_broker((const char *)data + 1, size - 1);
	return 0;
}
