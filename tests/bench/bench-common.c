/*
 * What the benchmark programs share: a clock, number arguments, and the
 * percentiles their tables print.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dungeongate.h"
#include "bench-common.h"

extern const char	*__progname;

/* Monotonic time in nanoseconds. */
int64_t
bench_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parse a count or size within min..max; exits on nonsense. */
unsigned long long
bench_number(const char *s, unsigned long long min, unsigned long long max)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || !isdigit((u_char)*s) ||
	    v < min || v > max) {
		fprintf(stderr, "%s: bad number (%llu to %llu): %s\n",
		    __progname, min, max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

/* For qsort: ascending doubles. */
int
bench_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The pct-th percentile (nearest rank) of n sorted values. */
double
bench_percentile(const double *v, u_int n, u_int pct)
{
	uint64_t	 rank;

	if (n == 0)
		return 0;
	rank = ((uint64_t)pct * n + 99) / 100;
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}
