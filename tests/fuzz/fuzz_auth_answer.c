/*
 * Fuzz the auth service's answer: a status and a body, as libcurl hands
 * them over. Whatever comes, the answer is one of allow, deny or fail,
 * every field within the contract, and every text in it safe for a
 * terminal and a log.
 *
 * The first byte picks the status (or, past the table, makes one of the
 * next two bytes), and bit 7 of the second says the body was cut off.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "broker.h"
#include "fuzz.h"

/* Tiers an allow may name: the built-in two and these. */
static const char fuzz_config_text[] =
	"[quota:gold]\n"
	"groups = dggold\n"
	"[quota:bronze]\n"
	"groups = dgbronze\n";

static struct config	*fuzz_cfg;

static const long fuzz_statuses[] = {
	200, 401, 403, 204, 301, 302, 399, 400, 404, 500, 503, 599, 0, -1
};

/* Load the configuration whose tiers an allow may name. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	*cause;

	fuzz_cfg = config_load_text("fuzz.ini", fuzz_config_text,
	    sizeof fuzz_config_text - 1, &cause);
	if (fuzz_cfg == NULL) {
		fprintf(stderr, "fuzz configuration refused: %s\n", cause);
		abort();
	}
	return 0;
}

/* Is s a reason id, [a-z0-9_-]{1,AUTH_REASON_MAX}? */
static int
fuzz_is_reason(const char *s)
{
	size_t	 len = strlen(s);

	return len >= 1 && len <= AUTH_REASON_MAX &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* One answer: a status, a body, and whether it was cut off. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_answer	 aa;
	const char		*body;
	long			 status;
	size_t			 len, mlen;
	int			 truncated;

	if (size < 3)
		return 0;
	if (data[0] < nitems(fuzz_statuses))
		status = fuzz_statuses[data[0]];
	else
		status = ((long)data[1] << 8 | data[2]) % 1000;
	truncated = (data[1] & 0x80) != 0;
	body = (const char *)data + 3;
	len = size - 3;

	FUZZ_CHECK(auth_answer_parse(status, len == 0 && (data[1] & 1) ?
	    NULL : body, len, truncated, fuzz_cfg, &aa) == 0);
	switch (aa.kind) {
	case AUTH_ALLOW:
		FUZZ_CHECK(status == 200 && !truncated);
		FUZZ_CHECK(aa.reason == NULL);
		FUZZ_CHECK(aa.why == NULL);
		FUZZ_CHECK(aa.tier == NULL ||
		    config_find_quota(fuzz_cfg, aa.tier) != NULL);
		break;
	case AUTH_DENY:
		FUZZ_CHECK(status == 200 || status == 401 || status == 403);
		FUZZ_CHECK(aa.tier == NULL);
		FUZZ_CHECK(aa.reason != NULL && fuzz_is_reason(aa.reason));
		break;
	case AUTH_FAIL:
		FUZZ_CHECK(status != 401 && status != 403);
		FUZZ_CHECK(aa.why != NULL);
		FUZZ_CHECK(aa.tier == NULL && aa.reason == NULL &&
		    aa.message == NULL);
		break;
	default:
		FUZZ_CHECK(0);
	}
	if (aa.message != NULL) {
		mlen = strlen(aa.message);
		FUZZ_CHECK(mlen >= 1 && mlen <= AUTH_MESSAGE_MAX);
		FUZZ_CHECK(util_valid_text(aa.message));
		FUZZ_CHECK(aa.message[0] != ' ' && aa.message[mlen - 1] != ' ');
	}
	if (aa.why != NULL)
		FUZZ_CHECK(util_valid_text(aa.why));
	FUZZ_CHECK(aa.ttl >= -1 && aa.ttl <= AUTH_TTL_MAX);
	auth_answer_clear(&aa);
	return 0;
}
