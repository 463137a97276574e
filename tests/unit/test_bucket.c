/*
 * Unit tests for the token bucket: the burst, refill and cap, no limit at
 * rate 0, waits that agree with the rate (for one byte and for a chunk),
 * rate changes that keep what was earned, and long-run accuracy of a
 * simulated sender over ten seconds of a clock the tests move.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dungeongate.h"

#define KB	1024ULL
#define MB	(1024ULL * KB)

/* A start that is not zero, as a monotonic clock's is not. */
#define T0	987654321LL

/* The burst the contract gives: a tenth of a second, at least the minimum. */
static uint64_t
burst_for(uint64_t rate)
{
	return rate / 10 > BUCKET_MIN_BURST ? rate / 10 : BUCKET_MIN_BURST;
}

/* Take everything available now; returns how much that was. */
static uint64_t
drain(struct bucket *bk, int64_t now)
{
	size_t	 n;

	n = bucket_available(bk, now);
	assert_true(n != SIZE_MAX);
	bucket_spend(bk, n);
	/* What is left is less than a byte, and never a debt. */
	assert_int_equal(bucket_available(bk, now), 0);
	assert_true(bk->tokens >= 0.0);
	assert_true(bk->tokens < 1.0);
	return n;
}

/* ---- burst and refill -------------------------------------------------- */

/* A new bucket is full: a tenth of a second's worth, at least the minimum. */
static void
test_bucket_init_full(void **state)
{
	static const uint64_t rates[] = {
		1, 100, 10 * KB, 40959, 40960, 40970, 200 * KB, 10 * MB,
		1024 * MB
	};
	struct bucket	 bk;
	u_int		 i;

	(void)state;
	assert_int_equal(burst_for(40960), 4096);
	assert_int_equal(burst_for(40970), 4097);
	for (i = 0; i < nitems(rates); i++) {
		memset(&bk, 0xa5, sizeof bk);
		bucket_init(&bk, rates[i], T0);
		assert_int_equal(bk.burst, burst_for(rates[i]));
		assert_int_equal(bucket_available(&bk, T0), burst_for(rates[i]));
		assert_int_equal(bucket_wait(&bk, T0), 0);
		/* Full stays full. */
		assert_int_equal(bucket_available(&bk, T0 + 60000),
		    burst_for(rates[i]));
	}
}

/* Rate 0 is no limit at all. */
static void
test_bucket_unlimited(void **state)
{
	struct bucket	 bk;

	(void)state;
	bucket_init(&bk, 0, T0);
	assert_true(bucket_available(&bk, T0) == SIZE_MAX);
	assert_int_equal(bucket_wait(&bk, T0), 0);
	bucket_spend(&bk, 1000 * MB);
	bucket_spend(&bk, SIZE_MAX / 2);
	assert_true(bucket_available(&bk, T0) == SIZE_MAX);
	assert_int_equal(bucket_wait(&bk, T0), 0);
	assert_true(bucket_available(&bk, T0 + 1) == SIZE_MAX);
	assert_int_equal(bucket_wait(&bk, T0 + 1), 0);
}

/* Refill is rate times the time gone, capped at the burst. */
static void
test_bucket_refill_cap(void **state)
{
	struct bucket	 bk;

	(void)state;
	/* 10 KB/s: 10.24 bytes a millisecond, burst 4096. */
	bucket_init(&bk, 10 * KB, T0);
	assert_int_equal(drain(&bk, T0), 4096);
	assert_int_equal(bucket_available(&bk, T0 + 100), 1024);
	assert_int_equal(bucket_available(&bk, T0 + 200), 2048);
	assert_int_equal(bucket_available(&bk, T0 + 250), 2560);
	/* 400 ms would be 4096: the burst exactly. */
	assert_int_equal(bucket_available(&bk, T0 + 400), 4096);
	assert_int_equal(bucket_available(&bk, T0 + 1000), 4096);
	assert_int_equal(bucket_available(&bk, T0 + 3600000), 4096);
	/* Idle time past the cap is not saved up for later. */
	assert_int_equal(drain(&bk, T0 + 3600000), 4096);
	assert_int_equal(bucket_available(&bk, T0 + 3600000 + 100), 1024);

	/* 10 MB/s: burst of 1 MB, 10485.76 bytes a millisecond. */
	bucket_init(&bk, 10 * MB, T0);
	assert_int_equal(drain(&bk, T0), MB);
	assert_int_equal(bucket_available(&bk, T0 + 1), 10485);
	assert_int_equal(bucket_available(&bk, T0 + 50), 524288);
	assert_int_equal(bucket_available(&bk, T0 + 100), MB);
	assert_int_equal(bucket_available(&bk, T0 + 101), MB);
}

/* Looking again at the same time earns nothing. */
static void
test_bucket_no_time_no_tokens(void **state)
{
	struct bucket	 bk;
	int		 i;

	(void)state;
	bucket_init(&bk, 10 * KB, T0);
	drain(&bk, T0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(bucket_available(&bk, T0), 0);
		assert_true(bucket_wait(&bk, T0) > 0);
	}
	assert_int_equal(bucket_available(&bk, T0 + 10), 102);
	for (i = 0; i < 100; i++)
		assert_int_equal(bucket_available(&bk, T0 + 10), 102);
}

/* Fractions of a byte are kept, not lost, between looks. */
static void
test_bucket_fractions(void **state)
{
	struct bucket	 bk;
	uint64_t	 total = 0;
	int64_t		 t;

	(void)state;
	/* 1500 bytes a second is 1.5 a millisecond. */
	bucket_init(&bk, 1500, T0);
	drain(&bk, T0);
	assert_int_equal(bucket_available(&bk, T0 + 1), 1);
	bucket_spend(&bk, 1);
	assert_int_equal(bucket_available(&bk, T0 + 2), 2);
	bucket_spend(&bk, 2);
	assert_int_equal(bucket_available(&bk, T0 + 2), 0);

	/* 700 bytes a second looked at every millisecond: 700 a second. */
	bucket_init(&bk, 700, T0);
	drain(&bk, T0);
	for (t = T0 + 1; t <= T0 + 1000; t++)
		total += drain(&bk, t);
	/* 0.7 a look: lost fractions would leave nothing at all. */
	assert_true(total >= 699 && total <= 700);
}

/* Spending exactly what is available never leaves a debt. */
static void
test_bucket_spend_exact(void **state)
{
	static const uint64_t rates[] = { 1, 999, 12345, 200 * KB, 3333333 };
	struct bucket	 bk;
	uint32_t	 x = 1;
	int64_t		 t;
	u_int		 i, k;

	(void)state;
	for (i = 0; i < nitems(rates); i++) {
		bucket_init(&bk, rates[i], T0);
		t = T0;
		for (k = 0; k < 2000; k++) {
			x = x * 1664525u + 1013904223u;
			t += (x >> 16) % 37;
			drain(&bk, t);
			assert_true(bucket_wait(&bk, t) > 0);
		}
	}
}

/* ---- waits ------------------------------------------------------------- */

/*
 * With the bucket as it is at now, the wait must be enough (a byte is
 * there after it) and not much more than needed (none a millisecond
 * before the wait's last millisecond). Checked on copies, so the bucket
 * itself is not moved on.
 */
static void
check_wait(const struct bucket *bk, int64_t now)
{
	struct bucket	 probe;
	int64_t		 w;

	w = bucket_wait(bk, now);
	probe = *bk;
	if (bucket_available(&probe, now) > 0) {
		assert_int_equal(w, 0);
		return;
	}
	assert_true(w > 0);
	probe = *bk;
	if (bucket_available(&probe, now + w) < 1)
		fail_msg("rate %llu: waited %lld ms, still nothing",
		    (unsigned long long)bk->rate, (long long)w);
	if (w >= 2) {
		probe = *bk;
		if (bucket_available(&probe, now + w - 2) != 0)
			fail_msg("rate %llu: wait %lld ms, but a byte was "
			    "there at %lld", (unsigned long long)bk->rate,
			    (long long)w, (long long)(w - 2));
	}
}

/* Waits follow the rate: a byte's time, rounded up. */
static void
test_bucket_wait(void **state)
{
	struct bucket	 bk;

	(void)state;
	/* 100 bytes a second: one every 10 ms. */
	bucket_init(&bk, 100, T0);
	drain(&bk, T0);
	assert_true(bucket_wait(&bk, T0) >= 10);
	assert_true(bucket_wait(&bk, T0) <= 11);
	check_wait(&bk, T0);
	/* Time passing without a look counts. */
	assert_true(bucket_wait(&bk, T0 + 4) >= 6);
	assert_true(bucket_wait(&bk, T0 + 4) <= 7);
	check_wait(&bk, T0 + 4);
	assert_int_equal(bucket_wait(&bk, T0 + 10), 0);
	assert_int_equal(bucket_wait(&bk, T0 + 500), 0);
	/* bucket_wait looks, it does not take or move the clock. */
	assert_int_equal(bucket_available(&bk, T0 + 10), 1);

	/* 1 byte a second: a second. */
	bucket_init(&bk, 1, T0);
	drain(&bk, T0);
	assert_true(bucket_wait(&bk, T0) >= 1000);
	assert_true(bucket_wait(&bk, T0) <= 1001);
	check_wait(&bk, T0);
	assert_true(bucket_wait(&bk, T0 + 999) >= 1);
	assert_int_equal(bucket_wait(&bk, T0 + 1000), 0);

	/* 300 bytes a second: 3.33 ms, so 4. */
	bucket_init(&bk, 300, T0);
	drain(&bk, T0);
	assert_int_equal(bucket_wait(&bk, T0), 4);
	assert_int_equal(bucket_available(&bk, T0 + 3), 0);
	assert_int_equal(bucket_available(&bk, T0 + 4), 1);

	/* Fast rates: the next millisecond. */
	bucket_init(&bk, 10 * KB, T0);
	drain(&bk, T0);
	assert_int_equal(bucket_wait(&bk, T0), 1);
	bucket_init(&bk, 10 * MB, T0);
	drain(&bk, T0);
	assert_int_equal(bucket_wait(&bk, T0), 1);

	/* Available now: no wait. */
	bucket_init(&bk, 100, T0);
	assert_int_equal(bucket_wait(&bk, T0), 0);
	bucket_spend(&bk, 4095);
	assert_int_equal(bucket_wait(&bk, T0), 0);
}

/* After a partial refill, the wait is for what is still missing. */
static void
test_bucket_wait_partial(void **state)
{
	static const uint64_t rates[] = { 1, 7, 100, 333, 1000, 4096, 9999 };
	struct bucket	 bk;
	int64_t		 t;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(rates); i++) {
		bucket_init(&bk, rates[i], T0);
		drain(&bk, T0);
		for (t = T0; t < T0 + 3000; t += 13) {
			check_wait(&bk, t);
			if (bucket_available(&bk, t) > 0)
				drain(&bk, t);
		}
	}
}

/*
 * The wait for n bytes is enough (n are there after it) and not much more
 * (fewer than n two milliseconds before its end), on copies of the bucket.
 */
static void
check_wait_for(const struct bucket *bk, int64_t now, size_t n)
{
	struct bucket	 probe;
	size_t		 want = n > bk->burst ? bk->burst : (n == 0 ? 1 : n);
	int64_t		 w;

	w = bucket_wait_for(bk, now, n);
	probe = *bk;
	if (bucket_available(&probe, now) >= want) {
		assert_int_equal(w, 0);
		return;
	}
	assert_true(w > 0);
	probe = *bk;
	if (bucket_available(&probe, now + w) < want)
		fail_msg("rate %llu: waited %lld ms for %zu, still short",
		    (unsigned long long)bk->rate, (long long)w, n);
	if (w >= 2) {
		probe = *bk;
		if (bucket_available(&probe, now + w - 2) >= want)
			fail_msg("rate %llu: wait %lld ms for %zu, but they "
			    "were there at %lld", (unsigned long long)bk->rate,
			    (long long)w, n, (long long)(w - 2));
	}
}

/* Waiting for a chunk: the chunk's time at the rate, rounded up. */
static void
test_bucket_wait_for(void **state)
{
	static const uint64_t rates[] = { 1, 100, 1000, 4 * KB, 10 * KB,
		100 * KB, 10 * MB };
	static const size_t sizes[] = { 0, 1, 2, 100, 512, 4095, 4096, 4097,
		100000, SIZE_MAX };
	struct bucket	 bk;
	int64_t		 t;
	u_int		 i, k;

	(void)state;
	/* 4 KB/s: 512 bytes take 125 ms. */
	bucket_init(&bk, 4 * KB, T0);
	drain(&bk, T0);
	assert_int_equal(bucket_wait_for(&bk, T0, 512), 126);
	assert_int_equal(bucket_available(&bk, T0 + 124), 507);
	assert_int_equal(bucket_available(&bk, T0 + 126), 516);
	assert_int_equal(bucket_wait_for(&bk, T0 + 126, 512), 0);
	/* One byte is bucket_wait; none asks for one. */
	drain(&bk, T0 + 126);
	assert_int_equal(bucket_wait_for(&bk, T0 + 126, 1),
	    bucket_wait(&bk, T0 + 126));
	assert_int_equal(bucket_wait_for(&bk, T0 + 126, 0),
	    bucket_wait(&bk, T0 + 126));
	/* More than the burst is a full bucket: a second at 4 KB/s. */
	bucket_init(&bk, 4 * KB, T0);
	drain(&bk, T0);
	assert_int_equal(bucket_wait_for(&bk, T0, 1000000),
	    bucket_wait_for(&bk, T0, 4096));
	assert_true(bucket_wait_for(&bk, T0, 4096) >= 1000);
	assert_true(bucket_wait_for(&bk, T0, 4096) <= 1001);
	/* No limit: never a wait. */
	bucket_init(&bk, 0, T0);
	assert_int_equal(bucket_wait_for(&bk, T0, SIZE_MAX), 0);

	for (i = 0; i < nitems(rates); i++) {
		for (k = 0; k < nitems(sizes); k++) {
			bucket_init(&bk, rates[i], T0);
			check_wait_for(&bk, T0, sizes[k]);
			drain(&bk, T0);
			for (t = T0; t < T0 + 2000; t += 37) {
				check_wait_for(&bk, t, sizes[k]);
				if (bucket_available(&bk, t) > sizes[k] / 2)
					drain(&bk, t);
			}
		}
	}
}

/* ---- rate changes ------------------------------------------------------ */

/* What was earned at the old rate stays; the new rate counts from now. */
static void
test_bucket_set_rate_keeps(void **state)
{
	struct bucket	 bk;

	(void)state;
	bucket_init(&bk, 10 * KB, T0);
	drain(&bk, T0);
	/* 100 ms at 10 KB/s is 1024, even if the rate changes at that time. */
	bucket_set_rate(&bk, 1000 * KB, T0 + 100);
	assert_int_equal(bk.burst, 102400);
	assert_int_equal(bucket_available(&bk, T0 + 100), 1024);
	/* Then 50 ms at 1000 KB/s: 51200 more. */
	assert_int_equal(bucket_available(&bk, T0 + 150), 1024 + 51200);

	/* A higher rate does not fill the bucket to its new burst. */
	bucket_init(&bk, 10 * KB, T0);
	bucket_set_rate(&bk, 10 * MB, T0);
	assert_int_equal(bucket_available(&bk, T0), 4096);
	assert_int_equal(bucket_available(&bk, T0 + 10), 4096 + 104857);
	assert_int_equal(bucket_available(&bk, T0 + 1000), MB);
}

/* A lower rate caps what is there at its smaller burst. */
static void
test_bucket_set_rate_recap(void **state)
{
	struct bucket	 bk;

	(void)state;
	bucket_init(&bk, 10 * MB, T0);
	assert_int_equal(bucket_available(&bk, T0), MB);
	bucket_set_rate(&bk, 10 * KB, T0 + 5);
	assert_int_equal(bk.burst, 4096);
	assert_int_equal(bucket_available(&bk, T0 + 5), 4096);
	assert_int_equal(bucket_available(&bk, T0 + 5000), 4096);

	/* Below the cap, nothing is lost. */
	bucket_init(&bk, 10 * MB, T0);
	bucket_spend(&bk, MB - 1000);
	bucket_set_rate(&bk, 10 * KB, T0);
	assert_int_equal(bucket_available(&bk, T0), 1000);

	/* To no limit and back. */
	bucket_init(&bk, 10 * KB, T0);
	drain(&bk, T0);
	bucket_set_rate(&bk, 0, T0 + 100);
	assert_true(bucket_available(&bk, T0 + 200) == SIZE_MAX);
	assert_int_equal(bucket_wait(&bk, T0 + 200), 0);
	bucket_set_rate(&bk, 10 * KB, T0 + 300);
	assert_true(bucket_available(&bk, T0 + 300) <= 4096);
	assert_int_equal(bucket_available(&bk, T0 + 2000), 4096);
}

/* ---- long run ---------------------------------------------------------- */

/* Within 1% of want. */
static void
assert_near(uint64_t got, uint64_t want, const char *what, uint64_t rate)
{
	double	 d = (double)got - (double)want;

	if (d < 0)
		d = -d;
	if (d > (double)want / 100.0)
		fail_msg("%s at %llu B/s: %llu bytes, expected %llu +- 1%%",
		    what, (unsigned long long)rate, (unsigned long long)got,
		    (unsigned long long)want);
}

/* A sender that each millisecond takes all there is, for ten seconds. */
static void
test_bucket_accuracy_every_ms(void **state)
{
	static const uint64_t rates[] = {
		10 * KB, 200 * KB, 10 * MB, 1000, 3333333, 100 * MB
	};
	struct bucket	 bk;
	uint64_t	 total, want;
	int64_t		 t;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(rates); i++) {
		bucket_init(&bk, rates[i], T0);
		total = 0;
		for (t = T0; t <= T0 + 10000; t++)
			total += drain(&bk, t);
		want = rates[i] * 10 + burst_for(rates[i]);
		assert_near(total, want, "every ms", rates[i]);
		/* Never more than the rate and one burst allow. */
		assert_true(total <= want);
	}
}

/* A sender that sleeps for bucket_wait each time it runs dry. */
static void
test_bucket_accuracy_wait(void **state)
{
	static const uint64_t rates[] = {
		10 * KB, 200 * KB, 10 * MB, 100, 1000, 77777
	};
	struct bucket	 bk;
	uint64_t	 total, want, wakes;
	int64_t		 t, w;
	size_t		 n;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(rates); i++) {
		bucket_init(&bk, rates[i], T0);
		total = wakes = 0;
		t = T0;
		while (t <= T0 + 10000) {
			n = bucket_available(&bk, t);
			/* Every wake-up finds something: waits are enough. */
			assert_true(n > 0);
			bucket_spend(&bk, n);
			total += n;
			w = bucket_wait(&bk, t);
			assert_true(w > 0);
			t += w;
			wakes++;
		}
		want = rates[i] * 10 + burst_for(rates[i]);
		assert_near(total, want, "sleeping for bucket_wait", rates[i]);
		assert_true(total <= want);
		/* No busier than once a millisecond. */
		assert_true(wakes <= 10001);
	}
}

/* A relay-like sender: reads of at most 4 KB, at every wait. */
static void
test_bucket_accuracy_chunks(void **state)
{
	static const uint64_t rates[] = { 10 * KB, 200 * KB, 10 * MB };
	struct bucket	 bk;
	uint64_t	 total, want;
	int64_t		 t, w;
	size_t		 n;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(rates); i++) {
		bucket_init(&bk, rates[i], T0);
		total = 0;
		t = T0;
		while (t <= T0 + 10000) {
			while ((n = bucket_available(&bk, t)) > 0) {
				if (n > 4096)
					n = 4096;
				bucket_spend(&bk, n);
				total += n;
			}
			w = bucket_wait(&bk, t);
			t += w > 0 ? w : 1;
		}
		want = rates[i] * 10 + burst_for(rates[i]);
		assert_near(total, want, "4 KB reads", rates[i]);
		assert_true(total <= want);
	}
}

/*
 * A sender that sleeps until a chunk is there, then takes all there is,
 * as the session's output queue does: the rate holds, every wake-up finds
 * a chunk, and it wakes about once a chunk.
 */
static void
test_bucket_accuracy_wait_for(void **state)
{
	static const uint64_t rates[] = { 1 * KB, 4 * KB, 100 * KB, 10 * MB };
	static const size_t chunks[] = { 1, 64, 512, 4096 };
	struct bucket	 bk;
	uint64_t	 total, want, wakes;
	int64_t		 t, w;
	size_t		 n, chunk;
	u_int		 i, k;

	(void)state;
	for (i = 0; i < nitems(rates); i++) {
		for (k = 0; k < nitems(chunks); k++) {
			bucket_init(&bk, rates[i], T0);
			chunk = chunks[k];
			total = wakes = 0;
			t = T0;
			while (t <= T0 + 10000) {
				n = bucket_available(&bk, t);
				assert_true(n >= chunk);
				bucket_spend(&bk, n);
				total += n;
				w = bucket_wait_for(&bk, t, chunk);
				assert_true(w > 0);
				t += w;
				wakes++;
			}
			want = rates[i] * 10 + burst_for(rates[i]);
			/* Only the chunk the clock ran out on is lost. */
			if (total + chunk < want || total > want)
				fail_msg("chunks of %zu at %llu B/s: %llu "
				    "bytes, expected %llu less at most a chunk",
				    chunk, (unsigned long long)rates[i],
				    (unsigned long long)total,
				    (unsigned long long)want);
			if (chunk * 100 <= want)
				assert_near(total, want, "sleeping for chunks",
				    rates[i]);
			/* Once a chunk, or once a millisecond at most. */
			assert_true(wakes <= 10001);
			if (chunk > 1 && rates[i] / chunk < 1000)
				assert_true(wakes <= want / chunk + 1);
		}
	}
}

/* Rate changes mid-stream: each stretch runs at its own rate. */
static void
test_bucket_accuracy_rate_change(void **state)
{
	static const struct {
		uint64_t	 first;
		uint64_t	 second;
	} pairs[] = {
		{ 10 * KB, 200 * KB },
		{ 200 * KB, 10 * KB },
		{ 10 * MB, 10 * KB },
		{ 10 * KB, 10 * MB },
		{ 1000, 3333333 },
	};
	struct bucket	 bk;
	uint64_t	 total, want, part;
	int64_t		 t;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(pairs); i++) {
		bucket_init(&bk, pairs[i].first, T0);
		total = 0;
		for (t = T0; t < T0 + 5000; t++)
			total += drain(&bk, t);
		bucket_set_rate(&bk, pairs[i].second, T0 + 5000);
		for (t = T0 + 5000; t <= T0 + 10000; t++)
			total += drain(&bk, t);
		want = burst_for(pairs[i].first) + pairs[i].first * 5 +
		    pairs[i].second * 5;
		assert_near(total, want, "rate change", pairs[i].second);
		assert_true(total <= want);

		/* The second stretch alone is at the second rate. */
		part = 0;
		for (t = T0 + 10001; t <= T0 + 12000; t++)
			part += drain(&bk, t);
		assert_near(part, pairs[i].second * 2, "after change",
		    pairs[i].second);
	}
}

/* ---- request buckets ----------------------------------------------------- */

/* A bucket of a given burst: full to start, no minimum, the rate apart. */
static void
test_bucket_init_burst(void **state)
{
	struct bucket	 bk;
	u_int		 i;

	(void)state;
	memset(&bk, 0xa5, sizeof bk);
	bucket_init_burst(&bk, 2, 10, T0);
	assert_int_equal(bk.rate, 2);
	/* Not raised to BUCKET_MIN_BURST, unlike a bucket of bytes. */
	assert_int_equal(bk.burst, 10);
	assert_int_equal(bucket_available(&bk, T0), 10);
	for (i = 0; i < 10; i++) {
		assert_true(bucket_available(&bk, T0) >= 1);
		bucket_spend(&bk, 1);
	}
	assert_int_equal(bucket_available(&bk, T0), 0);
	/* Two a second: the next in half a second. */
	assert_true(bucket_wait(&bk, T0) >= 500);
	assert_true(bucket_wait(&bk, T0) <= 501);
	assert_int_equal(bucket_wait(&bk, T0 + 500), 0);
	assert_int_equal(bucket_available(&bk, T0 + 500), 1);
	/* Refilled no further than the burst. */
	assert_int_equal(bucket_available(&bk, T0 + 3600 * 1000), 10);

	/* A burst larger than a second's worth. */
	bucket_init_burst(&bk, 100, 300, T0);
	assert_int_equal(bucket_available(&bk, T0), 300);
	bucket_spend(&bk, 300);
	assert_int_equal(bucket_available(&bk, T0 + 1000), 100);
	assert_int_equal(bucket_available(&bk, T0 + 5000), 300);

	/* A burst of one: one at a time. */
	bucket_init_burst(&bk, 1, 1, T0);
	assert_int_equal(bucket_available(&bk, T0), 1);
	bucket_spend(&bk, 1);
	assert_int_equal(bucket_available(&bk, T0 + 999), 0);
	assert_int_equal(bucket_available(&bk, T0 + 1000), 1);
	assert_int_equal(bucket_available(&bk, T0 + 9000), 1);

	/* Rate 0 is no limit, as for any bucket. */
	bucket_init_burst(&bk, 0, 10, T0);
	assert_true(bucket_available(&bk, T0) == SIZE_MAX);
	bucket_spend(&bk, 1000);
	assert_true(bucket_available(&bk, T0) == SIZE_MAX);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_init_full),
		cmocka_unit_test(test_bucket_unlimited),
		cmocka_unit_test(test_bucket_refill_cap),
		cmocka_unit_test(test_bucket_no_time_no_tokens),
		cmocka_unit_test(test_bucket_fractions),
		cmocka_unit_test(test_bucket_spend_exact),
		cmocka_unit_test(test_bucket_wait),
		cmocka_unit_test(test_bucket_wait_partial),
		cmocka_unit_test(test_bucket_wait_for),
		cmocka_unit_test(test_bucket_set_rate_keeps),
		cmocka_unit_test(test_bucket_set_rate_recap),
		cmocka_unit_test(test_bucket_accuracy_every_ms),
		cmocka_unit_test(test_bucket_accuracy_wait),
		cmocka_unit_test(test_bucket_accuracy_chunks),
		cmocka_unit_test(test_bucket_accuracy_wait_for),
		cmocka_unit_test(test_bucket_accuracy_rate_change),
		cmocka_unit_test(test_bucket_init_burst),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
