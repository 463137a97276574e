/*
 * Unit tests for the circuit breaker, on a clock the tests move: closed
 * to open at exactly the threshold, a success that starts the count
 * again, open to half-open exactly at the recovery boundary (by an ask
 * and by a look at the state), the one probe and its two outcomes,
 * results that arrive while open or with no probe out, a reload that
 * keeps the state, a disabled breaker, the settings it refuses, and a
 * long random sequence checked against a small model of the contract.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker.h"
#include "dies.h"

/* A start that is not zero, as a monotonic clock's is not. */
#define T0	987654321LL
#define REC	30000LL		/* recovery, ms */

/* Every transition counter at once. */
static void
assert_transitions(const struct breaker *b, uint64_t closed, uint64_t open,
    uint64_t half)
{
	assert_int_equal(b->transitions[BREAKER_CLOSED], closed);
	assert_int_equal(b->transitions[BREAKER_OPEN], open);
	assert_int_equal(b->transitions[BREAKER_HALF_OPEN], half);
}

/* Fail n times at now; only the last may change the state. */
static void
fail_times(struct breaker *b, u_int n, int64_t now, int opens)
{
	u_int	 i;

	for (i = 0; i < n; i++) {
		assert_int_equal(breaker_ask(b, now), BREAKER_CALL);
		assert_int_equal(breaker_failure(b, now),
		    (opens && i == n - 1) ? 1 : 0);
	}
}

/* ---- closed ------------------------------------------------------------ */

/* A new breaker is closed, lets calls through and has no probe time. */
static void
test_breaker_init(void **state)
{
	struct breaker	 b;

	(void)state;
	memset(&b, 0xa5, sizeof b);
	breaker_init(&b, 1, 3, REC);
	assert_int_equal(b.enabled, 1);
	assert_int_equal(b.threshold, 3);
	assert_int_equal(b.recovery, REC);
	assert_int_equal(b.failures, 0);
	assert_int_equal(b.probing, 0);
	assert_int_equal(breaker_state(&b, T0), BREAKER_CLOSED);
	assert_int_equal(breaker_ask(&b, T0), BREAKER_CALL);
	assert_int_equal(breaker_next_probe(&b), -1);
	/* Starting closed is not a transition. */
	assert_transitions(&b, 0, 0, 0);
	assert_string_equal(breaker_state_name(BREAKER_CLOSED), "closed");
	assert_string_equal(breaker_state_name(BREAKER_OPEN), "open");
	assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN),
	    "half_open");
}

/* threshold consecutive failures open it, and not one fewer. */
static void
test_breaker_opens_at_threshold(void **state)
{
	static const u_int thresholds[] = { 1, 2, 3, 10, 100 };
	struct breaker	 b;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(thresholds); i++) {
		breaker_init(&b, 1, thresholds[i], REC);
		fail_times(&b, thresholds[i] - 1, T0, 0);
		assert_int_equal(b.failures, thresholds[i] - 1);
		assert_int_equal(breaker_state(&b, T0), BREAKER_CLOSED);
		assert_transitions(&b, 0, 0, 0);

		assert_int_equal(breaker_failure(&b, T0 + 5), 1);
		assert_int_equal(breaker_state(&b, T0 + 5), BREAKER_OPEN);
		assert_int_equal(b.failures, thresholds[i]);
		assert_int_equal(b.opened_at, T0 + 5);
		assert_int_equal(breaker_next_probe(&b), T0 + 5 + REC);
		assert_transitions(&b, 0, 1, 0);
		assert_int_equal(breaker_ask(&b, T0 + 5), BREAKER_SKIP);
	}
}

/* A success while closed starts the count again: failures in a row only. */
static void
test_breaker_success_resets(void **state)
{
	struct breaker	 b;
	int		 round;

	(void)state;
	breaker_init(&b, 1, 3, REC);
	for (round = 0; round < 10; round++) {
		fail_times(&b, 2, T0 + round, 0);
		assert_int_equal(b.failures, 2);
		assert_int_equal(breaker_success(&b, T0 + round), 0);
		assert_int_equal(b.failures, 0);
	}
	assert_int_equal(breaker_state(&b, T0 + 10), BREAKER_CLOSED);
	assert_transitions(&b, 0, 0, 0);
	/* Successes on a clean count change nothing. */
	assert_int_equal(breaker_success(&b, T0 + 10), 0);
	assert_int_equal(breaker_success(&b, T0 + 10), 0);
	fail_times(&b, 3, T0 + 11, 1);
	assert_int_equal(breaker_state(&b, T0 + 11), BREAKER_OPEN);
}

/* ---- open and half-open ------------------------------------------------ */

/* Open until exactly opened_at + recovery, then half-open on an ask. */
static void
test_breaker_recovery_boundary(void **state)
{
	struct breaker	 b;
	int64_t		 t;

	(void)state;
	breaker_init(&b, 1, 2, REC);
	fail_times(&b, 2, T0, 1);
	for (t = T0; t < T0 + REC; t += 997) {
		assert_int_equal(breaker_ask(&b, t), BREAKER_SKIP);
		assert_int_equal(breaker_state(&b, t), BREAKER_OPEN);
	}
	assert_int_equal(breaker_ask(&b, T0 + REC - 1), BREAKER_SKIP);
	assert_int_equal(breaker_state(&b, T0 + REC - 1), BREAKER_OPEN);
	assert_transitions(&b, 0, 1, 0);
	assert_int_equal(breaker_next_probe(&b), T0 + REC);

	assert_int_equal(breaker_ask(&b, T0 + REC), BREAKER_PROBE);
	assert_int_equal(b.probing, 1);
	assert_int_equal(breaker_state(&b, T0 + REC), BREAKER_HALF_OPEN);
	assert_transitions(&b, 0, 1, 1);
	assert_int_equal(breaker_next_probe(&b), -1);
}

/* Looking at the state moves an open breaker too, and counts it once. */
static void
test_breaker_state_moves(void **state)
{
	struct breaker	 b;
	int		 i;

	(void)state;
	breaker_init(&b, 1, 1, REC);
	fail_times(&b, 1, T0, 1);
	assert_int_equal(breaker_state(&b, T0 + REC - 1), BREAKER_OPEN);
	for (i = 0; i < 5; i++)
		assert_int_equal(breaker_state(&b, T0 + REC + i),
		    BREAKER_HALF_OPEN);
	assert_transitions(&b, 0, 1, 1);
	/* No probe went out by looking: the next ask is the probe. */
	assert_int_equal(b.probing, 0);
	assert_int_equal(breaker_ask(&b, T0 + REC + 10), BREAKER_PROBE);
	assert_int_equal(breaker_ask(&b, T0 + REC + 10), BREAKER_SKIP);
}

/* Half-open: one probe, every other ask skips until its result. */
static void
test_breaker_one_probe(void **state)
{
	struct breaker	 b;
	int		 i;

	(void)state;
	breaker_init(&b, 1, 1, REC);
	fail_times(&b, 1, T0, 1);
	assert_int_equal(breaker_ask(&b, T0 + REC), BREAKER_PROBE);
	for (i = 0; i < 1000; i++)
		assert_int_equal(breaker_ask(&b, T0 + REC + i * 1000),
		    BREAKER_SKIP);
	/* However long the probe takes, it stays the only one. */
	assert_int_equal(breaker_ask(&b, T0 + 100 * REC), BREAKER_SKIP);
	assert_int_equal(breaker_state(&b, T0 + 100 * REC), BREAKER_HALF_OPEN);
	assert_transitions(&b, 0, 1, 1);
}

/* The probe's success closes it, with a clean count. */
static void
test_breaker_probe_success(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, 1, 3, REC);
	fail_times(&b, 3, T0, 1);
	assert_int_equal(breaker_ask(&b, T0 + REC + 7), BREAKER_PROBE);
	assert_int_equal(breaker_success(&b, T0 + REC + 50), 1);
	assert_int_equal(breaker_state(&b, T0 + REC + 50), BREAKER_CLOSED);
	assert_int_equal(b.failures, 0);
	assert_int_equal(b.probing, 0);
	assert_int_equal(breaker_next_probe(&b), -1);
	assert_transitions(&b, 1, 1, 1);
	assert_int_equal(breaker_ask(&b, T0 + REC + 51), BREAKER_CALL);
	/* It takes a whole threshold again to open. */
	fail_times(&b, 2, T0 + REC + 60, 0);
	assert_int_equal(breaker_state(&b, T0 + REC + 60), BREAKER_CLOSED);
	fail_times(&b, 1, T0 + REC + 70, 1);
	assert_int_equal(breaker_state(&b, T0 + REC + 70), BREAKER_OPEN);
	assert_transitions(&b, 1, 2, 1);
}

/* The probe's failure opens it again for another full recovery. */
static void
test_breaker_probe_failure(void **state)
{
	struct breaker	 b;
	int64_t		 t;

	(void)state;
	breaker_init(&b, 1, 3, REC);
	fail_times(&b, 3, T0, 1);
	assert_int_equal(breaker_ask(&b, T0 + REC), BREAKER_PROBE);
	t = T0 + REC + 1234;
	assert_int_equal(breaker_failure(&b, t), 1);
	assert_int_equal(breaker_state(&b, t), BREAKER_OPEN);
	assert_int_equal(b.opened_at, t);
	assert_int_equal(b.failures, 4);
	assert_int_equal(b.probing, 0);
	assert_int_equal(breaker_next_probe(&b), t + REC);
	assert_transitions(&b, 0, 2, 1);
	assert_int_equal(breaker_ask(&b, t + REC - 1), BREAKER_SKIP);
	assert_int_equal(breaker_ask(&b, t + REC), BREAKER_PROBE);
	assert_transitions(&b, 0, 2, 2);
	/* And again, and then a success. */
	assert_int_equal(breaker_failure(&b, t + REC + 1), 1);
	assert_int_equal(b.failures, 5);
	assert_int_equal(breaker_ask(&b, t + 2 * REC + 1), BREAKER_PROBE);
	assert_int_equal(breaker_success(&b, t + 2 * REC + 2), 1);
	assert_int_equal(b.failures, 0);
	assert_transitions(&b, 1, 3, 3);
}

/*
 * Results while open count for nothing: a late success of a call made
 * before it opened does not close it, a late failure does not push the
 * probe back.
 */
static void
test_breaker_results_while_open(void **state)
{
	struct breaker	 b;
	int		 i;

	(void)state;
	breaker_init(&b, 1, 2, REC);
	/* A call goes out while closed... */
	assert_int_equal(breaker_ask(&b, T0), BREAKER_CALL);
	/* ...others fail and open the breaker... */
	fail_times(&b, 2, T0 + 10, 1);
	/* ...and the first comes back late, successful. */
	assert_int_equal(breaker_success(&b, T0 + 20), 0);
	assert_int_equal(breaker_state(&b, T0 + 20), BREAKER_OPEN);
	assert_int_equal(b.failures, 2);
	for (i = 0; i < 5; i++)
		assert_int_equal(breaker_failure(&b, T0 + 30 + i), 0);
	assert_int_equal(b.opened_at, T0 + 10);
	assert_int_equal(b.failures, 2);
	assert_int_equal(breaker_next_probe(&b), T0 + 10 + REC);
	assert_transitions(&b, 0, 1, 0);
	assert_int_equal(breaker_ask(&b, T0 + 10 + REC), BREAKER_PROBE);
}

/*
 * A result that comes after recovery has passed but before any probe:
 * the breaker is half-open then (and says so), but the result is not a
 * probe's and decides nothing.
 */
static void
test_breaker_results_without_probe(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, 1, 1, REC);
	fail_times(&b, 1, T0, 1);
	/* It moves to half-open on the result itself: a change, reported. */
	assert_int_equal(breaker_success(&b, T0 + REC), 1);
	assert_int_equal(breaker_state(&b, T0 + REC), BREAKER_HALF_OPEN);
	assert_transitions(&b, 0, 1, 1);
	assert_int_equal(breaker_success(&b, T0 + REC + 1), 0);
	assert_int_equal(breaker_failure(&b, T0 + REC + 2), 0);
	assert_int_equal(breaker_state(&b, T0 + REC + 3), BREAKER_HALF_OPEN);
	assert_int_equal(b.failures, 1);
	assert_transitions(&b, 0, 1, 1);
	/* The probe is still to come. */
	assert_int_equal(breaker_ask(&b, T0 + REC + 4), BREAKER_PROBE);
	assert_int_equal(breaker_failure(&b, T0 + REC + 5), 1);
	assert_int_equal(breaker_state(&b, T0 + REC + 5), BREAKER_OPEN);

	/* A late failure past recovery moves it, and opens nothing again. */
	assert_int_equal(breaker_failure(&b, T0 + 2 * REC + 5), 1);
	assert_int_equal(breaker_state(&b, T0 + 2 * REC + 5),
	    BREAKER_HALF_OPEN);
	assert_int_equal(b.opened_at, T0 + REC + 5);
	assert_transitions(&b, 0, 2, 2);
}

/* A recovery of 0: half-open at the first look after opening. */
static void
test_breaker_zero_recovery(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, 1, 1, 0);
	assert_int_equal(breaker_failure(&b, T0), 1);
	assert_int_equal(breaker_next_probe(&b), T0);
	assert_int_equal(breaker_ask(&b, T0), BREAKER_PROBE);
	assert_int_equal(breaker_ask(&b, T0), BREAKER_SKIP);
	assert_int_equal(breaker_failure(&b, T0), 1);
	assert_int_equal(breaker_ask(&b, T0), BREAKER_PROBE);
	assert_int_equal(breaker_success(&b, T0), 1);
	assert_int_equal(breaker_ask(&b, T0), BREAKER_CALL);
	assert_transitions(&b, 1, 2, 2);
}

/* Clock values anywhere in int64_t: no overflow decides anything. */
static void
test_breaker_clock_extremes(void **state)
{
	struct breaker	 b;

	(void)state;
	/* A probe time past INT64_MAX is INT64_MAX, never negative. */
	breaker_init(&b, 1, 1, INT64_MAX);
	assert_int_equal(breaker_failure(&b, 1000), 1);
	assert_true(breaker_next_probe(&b) == INT64_MAX);
	assert_int_equal(breaker_ask(&b, INT64_MAX - 1), BREAKER_SKIP);
	assert_int_equal(breaker_ask(&b, INT64_MAX), BREAKER_SKIP);

	/* A clock that starts negative. */
	breaker_init(&b, 1, 1, REC);
	assert_int_equal(breaker_failure(&b, -5 * REC), 1);
	assert_int_equal(breaker_ask(&b, -4 * REC - 1), BREAKER_SKIP);
	assert_int_equal(breaker_ask(&b, -4 * REC), BREAKER_PROBE);

	/* Opened at INT64_MIN: the distance to now is never negative. */
	breaker_init(&b, 1, 1, INT64_MAX - 10);
	assert_int_equal(breaker_failure(&b, INT64_MIN), 1);
	assert_int_equal(breaker_next_probe(&b), -11);
	assert_int_equal(breaker_ask(&b, -12), BREAKER_SKIP);
	assert_int_equal(breaker_ask(&b, -11), BREAKER_PROBE);
	assert_int_equal(breaker_failure(&b, INT64_MAX), 1);
	assert_true(breaker_next_probe(&b) == INT64_MAX);

	/* A clock that went back before opened_at: still open. */
	breaker_init(&b, 1, 1, 10);
	assert_int_equal(breaker_failure(&b, T0), 1);
	assert_int_equal(breaker_ask(&b, T0 - REC), BREAKER_SKIP);
	assert_int_equal(breaker_state(&b, T0 - REC), BREAKER_OPEN);
}

/* The failure count stops at UINT_MAX instead of wrapping to 0. */
static void
test_breaker_count_saturates(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, 1, UINT_MAX, REC);
	b.failures = UINT_MAX - 2;
	assert_int_equal(breaker_failure(&b, T0), 0);
	assert_int_equal(b.failures, UINT_MAX - 1);
	assert_int_equal(breaker_failure(&b, T0), 1);
	assert_int_equal(b.failures, UINT_MAX);
	assert_int_equal(breaker_ask(&b, T0 + REC), BREAKER_PROBE);
	assert_int_equal(breaker_failure(&b, T0 + REC), 1);
	assert_int_equal(b.failures, UINT_MAX);
	assert_int_equal(breaker_state(&b, T0 + REC), BREAKER_OPEN);
}

/* ---- reload and disabled ----------------------------------------------- */

/* A reload keeps the state and the count; a lower threshold acts next. */
static void
test_breaker_configure_keeps(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, 1, 10, REC);
	fail_times(&b, 5, T0, 0);
	/* Lowered past the count: nothing yet, the next failure opens. */
	breaker_configure(&b, 1, 3, REC);
	assert_int_equal(b.failures, 5);
	assert_int_equal(breaker_state(&b, T0), BREAKER_CLOSED);
	assert_int_equal(breaker_ask(&b, T0), BREAKER_CALL);
	assert_int_equal(breaker_failure(&b, T0 + 1), 1);
	assert_int_equal(breaker_state(&b, T0 + 1), BREAKER_OPEN);
	assert_int_equal(b.failures, 6);

	/* Raised: the count goes on towards the new threshold. */
	breaker_init(&b, 1, 3, REC);
	fail_times(&b, 2, T0, 0);
	breaker_configure(&b, 1, 5, REC);
	fail_times(&b, 2, T0, 0);
	assert_int_equal(b.failures, 4);
	fail_times(&b, 1, T0, 1);

	/* An open breaker stays open; the probe follows the new recovery. */
	breaker_init(&b, 1, 1, REC);
	fail_times(&b, 1, T0, 1);
	breaker_configure(&b, 1, 1, 2 * REC);
	assert_int_equal(breaker_state(&b, T0 + REC), BREAKER_OPEN);
	assert_int_equal(breaker_next_probe(&b), T0 + 2 * REC);
	assert_int_equal(breaker_ask(&b, T0 + 2 * REC - 1), BREAKER_SKIP);
	breaker_configure(&b, 1, 1, REC / 2);
	assert_int_equal(breaker_ask(&b, T0 + REC / 2), BREAKER_PROBE);

	/* The probe out stays out over a reload. */
	breaker_configure(&b, 1, 7, REC);
	assert_int_equal(breaker_state(&b, T0 + REC / 2), BREAKER_HALF_OPEN);
	assert_int_equal(breaker_ask(&b, T0 + REC / 2), BREAKER_SKIP);
	assert_int_equal(breaker_success(&b, T0 + REC / 2 + 1), 1);
	assert_int_equal(breaker_state(&b, T0 + REC), BREAKER_CLOSED);
	assert_int_equal(b.threshold, 7);
	assert_transitions(&b, 1, 1, 1);
}

/* Disabled: every call goes, nothing counts, nothing changes. */
static void
test_breaker_disabled(void **state)
{
	struct breaker	 b;
	int		 i;

	(void)state;
	breaker_init(&b, 0, 1, REC);
	for (i = 0; i < 100; i++) {
		assert_int_equal(breaker_ask(&b, T0 + i), BREAKER_CALL);
		assert_int_equal(breaker_failure(&b, T0 + i), 0);
	}
	assert_int_equal(b.failures, 0);
	assert_int_equal(breaker_state(&b, T0 + 100 * REC), BREAKER_CLOSED);
	assert_int_equal(breaker_success(&b, T0), 0);
	assert_int_equal(breaker_next_probe(&b), -1);
	assert_transitions(&b, 0, 0, 0);
}

/*
 * Disabled on a reload: an open breaker closes (counted), and enabled
 * again it starts from closed with no failures.
 */
static void
test_breaker_configure_disable(void **state)
{
	struct breaker	 b;

	(void)state;
	breaker_init(&b, 1, 2, REC);
	fail_times(&b, 2, T0, 1);
	breaker_configure(&b, 0, 2, REC);
	assert_int_equal(breaker_state(&b, T0 + 1), BREAKER_CLOSED);
	assert_int_equal(breaker_ask(&b, T0 + 1), BREAKER_CALL);
	assert_int_equal(breaker_next_probe(&b), -1);
	assert_int_equal(b.failures, 0);
	assert_transitions(&b, 1, 1, 0);
	assert_int_equal(breaker_failure(&b, T0 + 2), 0);
	assert_int_equal(breaker_failure(&b, T0 + 3), 0);

	breaker_configure(&b, 1, 2, REC);
	assert_int_equal(breaker_state(&b, T0 + 4), BREAKER_CLOSED);
	assert_int_equal(b.failures, 0);
	fail_times(&b, 1, T0 + 5, 0);
	fail_times(&b, 1, T0 + 6, 1);
	assert_transitions(&b, 1, 2, 0);

	/* Disabled with a probe out: closed, and no probe is waited for. */
	assert_int_equal(breaker_ask(&b, T0 + 6 + REC), BREAKER_PROBE);
	breaker_configure(&b, 0, 2, REC);
	assert_int_equal(b.probing, 0);
	breaker_configure(&b, 1, 2, REC);
	assert_int_equal(breaker_ask(&b, T0 + 7 + REC), BREAKER_CALL);
	/* A closed breaker disabled is no transition. */
	breaker_configure(&b, 0, 2, REC);
	assert_transitions(&b, 2, 2, 1);
}

/* ---- broken invariants ------------------------------------------------- */

/* A threshold of 0 would open the breaker before any failure. */
static void
init_threshold_zero(void *arg)
{
	struct breaker	 b;

	(void)arg;
	breaker_init(&b, 1, 0, REC);
}

/* A negative recovery is no time the clock can reach. */
static void
init_recovery_negative(void *arg)
{
	struct breaker	 b;

	(void)arg;
	breaker_init(&b, 1, 3, -1);
}

/* A reload is held to the same settings, even disabling. */
static void
configure_threshold_zero(void *arg)
{
	struct breaker	 b;

	(void)arg;
	breaker_init(&b, 1, 3, REC);
	breaker_configure(&b, 0, 0, REC);
}

/* A state past the last has no name. */
static void
name_out_of_range(void *arg)
{
	(void)arg;
	breaker_state_name((enum breaker_state)BREAKER_STATES);
}

/* Settings the configuration must never let through, and a bad state. */
static void
test_breaker_dies(void **state)
{
	(void)state;
	assert_dies(init_threshold_zero, NULL, "breaker: threshold 0");
	assert_dies(init_recovery_negative, NULL, "breaker: recovery -1");
	assert_dies(configure_threshold_zero, NULL, "breaker: threshold 0");
	assert_dies(name_out_of_range, NULL, "breaker_state_name: 3");
}

/* ---- against a model --------------------------------------------------- */

/*
 * The contract written the plain way: the time a probe is due rather
 * than when it opened, and the state worked out at each step.
 */
struct model {
	int		 enabled;
	u_int		 threshold;
	int64_t		 recovery;
	int		 state;		/* 0 closed, 1 open, 2 half-open */
	u_int		 failures;
	int64_t		 due;		/* open: the probe's time */
	int		 probe_out;
	uint64_t	 into[3];
};

/* Make the model's clock catch up: 1 when it moved to half-open. */
static int
model_tick(struct model *m, int64_t now)
{
	if (m->enabled && m->state == 1 && now >= m->due) {
		m->state = 2;
		m->probe_out = 0;
		m->into[2]++;
		return 1;
	}
	return 0;
}

/* The model's answer to an ask. */
static int
model_ask(struct model *m, int64_t now)
{
	if (!m->enabled)
		return BREAKER_CALL;
	model_tick(m, now);
	if (m->state == 0)
		return BREAKER_CALL;
	if (m->state == 1 || m->probe_out)
		return BREAKER_SKIP;
	m->probe_out = 1;
	return BREAKER_PROBE;
}

/* The model takes a result (ok: a success): 1 when its state changed. */
static int
model_result(struct model *m, int ok, int64_t now)
{
	int	 moved;

	if (!m->enabled)
		return 0;
	moved = model_tick(m, now);
	if (m->state == 0) {
		if (ok)
			m->failures = 0;
		else if (++m->failures >= m->threshold) {
			m->state = 1;
			m->due = now + m->recovery;
			m->into[1]++;
			return 1;
		}
		return moved;
	}
	if (m->state == 2 && m->probe_out) {
		m->probe_out = 0;
		if (ok) {
			m->state = 0;
			m->failures = 0;
			m->into[0]++;
		} else {
			m->failures++;
			m->state = 1;
			m->due = now + m->recovery;
			m->into[1]++;
		}
		return 1;
	}
	return moved;
}

/* The model's reload. */
static void
model_configure(struct model *m, int enabled, u_int threshold,
    int64_t recovery)
{
	if (!enabled) {
		if (m->state != 0)
			m->into[0]++;
		m->state = 0;
		m->failures = 0;
		m->probe_out = 0;
	}
	if (m->state == 1)
		m->due += recovery - m->recovery;
	m->enabled = enabled;
	m->threshold = threshold;
	m->recovery = recovery;
}

/* The breaker and the model agree on everything visible. */
static void
check_against(const struct breaker *b, const struct model *m, u_int step)
{
	static const enum breaker_state states[] = {
		BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN
	};
	u_int	 i;

	if (b->state != states[m->state] || b->failures != m->failures ||
	    b->probing != m->probe_out ||
	    breaker_next_probe(b) != (m->enabled && m->state == 1 ?
	    m->due : -1))
		fail_msg("step %u: breaker %s failures %u probing %d, model "
		    "%s failures %u probing %d", step,
		    breaker_state_name(b->state), b->failures, b->probing,
		    breaker_state_name(states[m->state]), m->failures,
		    m->probe_out);
	for (i = 0; i < 3; i++) {
		if (b->transitions[states[i]] != m->into[i])
			fail_msg("step %u: transitions into %s: %llu, model "
			    "%llu", step, breaker_state_name(states[i]),
			    (unsigned long long)b->transitions[states[i]],
			    (unsigned long long)m->into[i]);
	}
}

/* A long random run: asks, results, looks, reloads and time passing. */
static void
test_breaker_random_model(void **state)
{
	struct breaker	 b;
	struct model	 m;
	uint32_t	 x = 12345;
	int64_t		 now = T0;
	u_int		 step, op, threshold;
	int64_t		 recovery;
	int		 enabled, got, want;
	uint64_t	 seen[BREAKER_STATES] = { 0 };
	uint64_t	 probes = 0;

	(void)state;
	breaker_init(&b, 1, 3, 500);
	memset(&m, 0, sizeof m);
	m.enabled = 1;
	m.threshold = 3;
	m.recovery = 500;

	for (step = 0; step < 200000; step++) {
		x = x * 1664525u + 1013904223u;
		op = (x >> 8) % 100;
		if (op < 30) {
			got = breaker_ask(&b, now);
			want = model_ask(&m, now);
			assert_int_equal(got, want);
			if (got == BREAKER_PROBE)
				probes++;
		} else if (op < 50) {
			assert_int_equal(breaker_success(&b, now),
			    model_result(&m, 1, now));
		} else if (op < 75) {
			assert_int_equal(breaker_failure(&b, now),
			    model_result(&m, 0, now));
		} else if (op < 80) {
			model_tick(&m, now);
			got = breaker_state(&b, now);
			want = m.state == 0 ? BREAKER_CLOSED : m.state == 1 ?
			    BREAKER_OPEN : BREAKER_HALF_OPEN;
			assert_int_equal(got, want);
		} else if (op < 81) {
			/* A reload, now and then disabling the breaker. */
			enabled = ((x >> 20) % 8) != 0;
			threshold = 1 + (x >> 12) % 6;
			recovery = (int64_t)((x >> 4) % 1500);
			breaker_configure(&b, enabled, threshold, recovery);
			model_configure(&m, enabled, threshold, recovery);
		} else {
			now += (int64_t)((x >> 16) % 120);
		}
		check_against(&b, &m, step);
		seen[b.state]++;
	}
	/* The run went through every state, many times. */
	assert_true(seen[BREAKER_CLOSED] > 1000);
	assert_true(seen[BREAKER_OPEN] > 1000);
	assert_true(seen[BREAKER_HALF_OPEN] > 1000);
	assert_true(probes > 100);
	assert_true(b.transitions[BREAKER_HALF_OPEN] > 100);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breaker_init),
		cmocka_unit_test(test_breaker_opens_at_threshold),
		cmocka_unit_test(test_breaker_success_resets),
		cmocka_unit_test(test_breaker_recovery_boundary),
		cmocka_unit_test(test_breaker_state_moves),
		cmocka_unit_test(test_breaker_one_probe),
		cmocka_unit_test(test_breaker_probe_success),
		cmocka_unit_test(test_breaker_probe_failure),
		cmocka_unit_test(test_breaker_results_while_open),
		cmocka_unit_test(test_breaker_results_without_probe),
		cmocka_unit_test(test_breaker_zero_recovery),
		cmocka_unit_test(test_breaker_clock_extremes),
		cmocka_unit_test(test_breaker_count_saturates),
		cmocka_unit_test(test_breaker_configure_keeps),
		cmocka_unit_test(test_breaker_disabled),
		cmocka_unit_test(test_breaker_configure_disable),
		cmocka_unit_test(test_breaker_dies),
		cmocka_unit_test(test_breaker_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
