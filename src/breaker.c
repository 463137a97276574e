/*
 * The circuit breaker around the auth service: closed while calls
 * succeed, open after threshold consecutive failures (no calls at all),
 * half-open after recovery ms (one probe call), and closed or open again
 * by that probe's result. Time comes in as an argument (monotonic ms), so
 * tests drive the clock. No event loop here.
 *
 * The breaker cannot tell one call from another, so results are taken by
 * the state they arrive in. Closed: every result counts. Open: none does,
 * so a late success of a call made before it opened does not close it,
 * and a late failure does not push the probe back. Half-open: with the
 * probe out, the next result is taken as the probe's; with no probe out,
 * a result counts for nothing. A caller that wants exactness reports a
 * call it was told BREAKER_CALL only while breaker_state still says
 * closed, and always reports the result of a BREAKER_PROBE: the breaker
 * skips every call until that result comes.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "broker.h"

static const char *breaker_names[BREAKER_STATES] = {
	"closed",
	"open",
	"half_open",
};

/* Refuse settings the configuration should never have let through. */
static void
breaker_check_settings(u_int threshold, int64_t recovery)
{
	if (threshold == 0)
		fatalx("breaker: threshold 0");
	if (recovery < 0)
		fatalx("breaker: recovery %lld", (long long)recovery);
}

/* Move to state, counting the transition. */
static void
breaker_enter(struct breaker *b, enum breaker_state state, int64_t now)
{
	b->state = state;
	b->probing = 0;
	b->transitions[state]++;
	if (state == BREAKER_OPEN)
		b->opened_at = now;
	if (state == BREAKER_CLOSED)
		b->failures = 0;
}

/* Open long enough: move to half-open. Returns 1 when it moved. */
static int
breaker_advance(struct breaker *b, int64_t now)
{
	if (b->state != BREAKER_OPEN || now < b->opened_at)
		return 0;
	/* Unsigned, so no pair of clock values can overflow. */
	if ((uint64_t)now - (uint64_t)b->opened_at < (uint64_t)b->recovery)
		return 0;
	breaker_enter(b, BREAKER_HALF_OPEN, now);
	return 1;
}

/* One more consecutive failure, without wrapping. */
static void
breaker_count_failure(struct breaker *b)
{
	if (b->failures < UINT_MAX)
		b->failures++;
}

/*
 * A closed breaker that opens after threshold consecutive failures (at
 * least 1) and stays open recovery ms (at least 0) before a probe.
 */
void
breaker_init(struct breaker *b, int enabled, u_int threshold,
    int64_t recovery)
{
	breaker_check_settings(threshold, recovery);
	memset(b, 0, sizeof *b);
	b->enabled = enabled;
	b->threshold = threshold;
	b->recovery = recovery;
	b->state = BREAKER_CLOSED;
}

/*
 * New settings on a reload. The state and the failure count stay: a
 * count already at or past a lower threshold opens the breaker at the
 * next failure, and an open breaker probes at opened_at plus the new
 * recovery. Disabling closes it (a disabled breaker lets every call
 * through, so calling it open would be false); enabling again starts
 * from closed with no failures.
 */
void
breaker_configure(struct breaker *b, int enabled, u_int threshold,
    int64_t recovery)
{
	breaker_check_settings(threshold, recovery);
	if (!enabled) {
		if (b->state != BREAKER_CLOSED)
			breaker_enter(b, BREAKER_CLOSED, 0);
		b->failures = 0;
		b->probing = 0;
	}
	b->enabled = enabled;
	b->threshold = threshold;
	b->recovery = recovery;
}

/*
 * May a call go out now? Closed: CALL. Open: SKIP, until recovery has
 * passed; then half-open, where the first ask gets PROBE and every other
 * SKIP until the probe's result. Disabled: always CALL.
 */
enum breaker_verdict
breaker_ask(struct breaker *b, int64_t now)
{
	if (!b->enabled)
		return BREAKER_CALL;
	breaker_advance(b, now);
	switch (b->state) {
	case BREAKER_CLOSED:
		return BREAKER_CALL;
	case BREAKER_OPEN:
		return BREAKER_SKIP;
	case BREAKER_HALF_OPEN:
		if (b->probing)
			return BREAKER_SKIP;
		b->probing = 1;
		return BREAKER_PROBE;
	}
	fatalx("breaker_ask: state %d", (int)b->state);
}

/*
 * A call succeeded. Closed: the failure count starts again. Half-open
 * with the probe out: it closes. Otherwise it counts for nothing.
 * Returns 1 when the state changed.
 */
int
breaker_success(struct breaker *b, int64_t now)
{
	int	 changed;

	if (!b->enabled)
		return 0;
	changed = breaker_advance(b, now);
	switch (b->state) {
	case BREAKER_CLOSED:
		b->failures = 0;
		break;
	case BREAKER_OPEN:
		break;
	case BREAKER_HALF_OPEN:
		if (b->probing) {
			breaker_enter(b, BREAKER_CLOSED, now);
			changed = 1;
		}
		break;
	}
	return changed;
}

/*
 * A call failed. Closed: one more consecutive failure, and at the
 * threshold it opens. Half-open with the probe out: it opens again for
 * another full recovery (and the count goes on from where it was).
 * Otherwise it counts for nothing. Returns 1 when the state changed.
 */
int
breaker_failure(struct breaker *b, int64_t now)
{
	int	 changed;

	if (!b->enabled)
		return 0;
	changed = breaker_advance(b, now);
	switch (b->state) {
	case BREAKER_CLOSED:
		breaker_count_failure(b);
		if (b->failures >= b->threshold) {
			breaker_enter(b, BREAKER_OPEN, now);
			changed = 1;
		}
		break;
	case BREAKER_OPEN:
		break;
	case BREAKER_HALF_OPEN:
		if (b->probing) {
			breaker_count_failure(b);
			breaker_enter(b, BREAKER_OPEN, now);
			changed = 1;
		}
		break;
	}
	return changed;
}

/* The state at now (an open breaker past its recovery is half-open). */
enum breaker_state
breaker_state(struct breaker *b, int64_t now)
{
	if (b->enabled)
		breaker_advance(b, now);
	return b->state;
}

/*
 * When an open breaker lets its probe through (monotonic ms; at or before
 * now when it is due), or -1 when it is not open.
 */
int64_t
breaker_next_probe(const struct breaker *b)
{
	if (!b->enabled || b->state != BREAKER_OPEN)
		return -1;
	if (b->opened_at > INT64_MAX - b->recovery)
		return INT64_MAX;
	return b->opened_at + b->recovery;
}

/* A state's name, for the log and --status. */
const char *
breaker_state_name(enum breaker_state state)
{
	if ((u_int)state >= BREAKER_STATES)
		fatalx("breaker_state_name: %d", (int)state);
	return breaker_names[state];
}
