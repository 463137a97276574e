/*
 * A token bucket: bytes may pass at rate per second, with bursts of up
 * to burst bytes. Time comes in as an argument (milliseconds), so tests
 * drive the clock. No event loop here.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "dungeongate.h"

/* Tokens earned since the last look, capped at the burst. */
static void
bucket_refill(struct bucket *bk, int64_t now)
{
	if (now > bk->last) {
		bk->tokens += (double)bk->rate * (double)(now - bk->last) /
		    1000.0;
		if (bk->tokens > (double)bk->burst)
			bk->tokens = (double)bk->burst;
	}
	bk->last = now;
}

/* A bucket for rate bytes per second (0: no limit), full to start. */
void
bucket_init(struct bucket *bk, uint64_t rate, int64_t now)
{
	memset(bk, 0, sizeof *bk);
	bk->last = now;
	bucket_set_rate(bk, rate, now);
	bk->tokens = (double)bk->burst;
}

/*
 * A new rate: what was earned at the old rate stays, and a burst is a
 * tenth of a second's worth, at least BUCKET_MIN_BURST.
 */
void
bucket_set_rate(struct bucket *bk, uint64_t rate, int64_t now)
{
	bucket_refill(bk, now);
	bk->rate = rate;
	bk->burst = rate / 10 > BUCKET_MIN_BURST ? rate / 10 :
	    BUCKET_MIN_BURST;
	if (bk->tokens > (double)bk->burst)
		bk->tokens = (double)bk->burst;
}

/*
 * A bucket of burst tokens that refills at rate per second, full to
 * start: for counting requests rather than bytes.
 */
void
bucket_init_burst(struct bucket *bk, uint64_t rate, uint64_t burst,
    int64_t now)
{
	memset(bk, 0, sizeof *bk);
	bk->last = now;
	bk->rate = rate;
	bk->burst = burst;
	bk->tokens = (double)burst;
}

/* How many bytes may pass now (SIZE_MAX when there is no limit). */
size_t
bucket_available(struct bucket *bk, int64_t now)
{
	if (bk->rate == 0)
		return SIZE_MAX;
	bucket_refill(bk, now);
	return bk->tokens < 1.0 ? 0 : (size_t)bk->tokens;
}

/* Bytes passed: take them from the bucket. */
void
bucket_spend(struct bucket *bk, size_t n)
{
	if (bk->rate != 0)
		bk->tokens -= (double)n;
}

/*
 * Milliseconds until at least n bytes may pass (0: now). More than the
 * burst never fits, so a wait for more is a wait for a full bucket.
 */
int64_t
bucket_wait_for(const struct bucket *bk, int64_t now, size_t n)
{
	double	 tokens = bk->tokens, want;

	if (bk->rate == 0)
		return 0;
	want = n > bk->burst ? (double)bk->burst : (double)n;
	if (want < 1.0)
		want = 1.0;
	if (now > bk->last)
		tokens += (double)bk->rate * (double)(now - bk->last) / 1000.0;
	if (tokens >= want)
		return 0;
	return (int64_t)((want - tokens) * 1000.0 / (double)bk->rate) + 1;
}

/* Milliseconds until at least one byte may pass (0: now). */
int64_t
bucket_wait(const struct bucket *bk, int64_t now)
{
	return bucket_wait_for(bk, now, 1);
}
