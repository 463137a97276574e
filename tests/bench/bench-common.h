/*
 * What the benchmark programs share: a clock, number arguments, and the
 * percentiles their tables print.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <sys/types.h>

int64_t			 bench_now_ns(void);
unsigned long long	 bench_number(const char *, unsigned long long,
			     unsigned long long);
int			 bench_cmp(const void *, const void *);
double			 bench_percentile(const double *, u_int, u_int);

#endif
