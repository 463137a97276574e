/*
 * Unit tests for the load shedder's arithmetic: /proc/stat and
 * /proc/meminfo as the kernel writes them and as nothing should (cut
 * short, no newline, huge, negative, letters, empty, NUL bytes), each
 * parsed from a buffer of exactly its length so that a read past it is
 * a sanitizer report; the utilisation two snapshots give; the window;
 * the margin that keeps it from flapping; readings that failed; and a
 * disabled shedder.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker.h"

/* Doubles that must agree to well within any rounding of the mean. */
#define assert_close(a, b)	assert_close_at((a), (b), __LINE__)

/* Fail, naming the line, unless got is want to within 1e-9. */
static void
assert_close_at(double got, double want, int line)
{
	if (!(fabs(got - want) < 1e-9))
		fail_msg("line %d: %.12f, expected %.12f", line, got, want);
}

/* Parse len bytes of s from a buffer of exactly len bytes. */
static int
parse_stat_n(const char *s, size_t len, struct shed_cpu *out)
{
	char	*buf;
	int	 rv;

	buf = len == 0 ? NULL : xmalloc(len);
	if (len != 0)
		memcpy(buf, s, len);
	rv = shed_parse_stat(len == 0 ? "" : buf, len, out);
	free(buf);
	return rv;
}

/* Parse a whole string as /proc/stat, without its NUL. */
static int
parse_stat(const char *s, struct shed_cpu *out)
{
	return parse_stat_n(s, strlen(s), out);
}

/* Parse len bytes of s as /proc/meminfo, from a buffer of exactly len. */
static int
parse_meminfo_n(const char *s, size_t len, double *out)
{
	char	*buf;
	int	 rv;

	buf = len == 0 ? NULL : xmalloc(len);
	if (len != 0)
		memcpy(buf, s, len);
	rv = shed_parse_meminfo(len == 0 ? "" : buf, len, out);
	free(buf);
	return rv;
}

/* Parse a whole string as /proc/meminfo, without its NUL. */
static int
parse_meminfo(const char *s, double *out)
{
	return parse_meminfo_n(s, strlen(s), out);
}

/* ---- /proc/stat -------------------------------------------------------- */

/* A Linux 5.x /proc/stat, its first lines. */
static const char stat_a[] =
    "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0\n"
    "cpu0 1393280 32966 572056 13647388 6021 0 4267 0 42144 0\n"
    "cpu1 1335185 36054 458004 14064454 4153 0 2416 0 43790 0\n"
    "intr 114930548 113199788 31 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

/* The same machine a second later. */
static const char stat_b[] =
    "cpu  10132253 290706 3084759 46828633 16703 0 25205 0 175700 0\n"
    "cpu0 1393330 32971 572076 13647438 6031 0 4272 0 42180 0\n";

/* The kernel's line: the total without guests, busy less idle and iowait. */
static void
test_stat_real(void **state)
{
	struct shed_cpu	 c;
	uint64_t	 total;

	(void)state;
	assert_int_equal(parse_stat(stat_a, &c), 0);
	total = 10132153ULL + 290696 + 3084719 + 46828483 + 16683 + 0 +
	    25195 + 0;
	assert_int_equal(c.total, total);
	assert_int_equal(c.busy, total - 46828483 - 16683);
}

/* Old kernels give four fields, or seven; later ones may give more. */
static void
test_stat_field_counts(void **state)
{
	struct shed_cpu	 c;

	(void)state;
	assert_int_equal(parse_stat("cpu 100 20 30 850\n", &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 150);
	assert_int_equal(parse_stat("cpu 100 20 30 800 50\n", &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 150);
	assert_int_equal(parse_stat("cpu  100 20 30 800 40 5 5\n", &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 160);
	assert_int_equal(parse_stat("cpu  100 20 30 800 40 5 4 1\n", &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 160);
	/* Fields after guest_nice: numbers, ignored. */
	assert_int_equal(parse_stat("cpu  100 20 30 800 40 5 4 1 9 9 7 7 7\n",
	    &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 160);
}

/* guest and guest_nice are already in user and nice: counted once. */
static void
test_stat_guest_once(void **state)
{
	struct shed_cpu	 c;

	(void)state;
	assert_int_equal(parse_stat("cpu 300 100 0 600 0 0 0 0 250 90\n", &c),
	    0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 400);
	/* The guests may be anything: they change neither figure. */
	assert_int_equal(parse_stat("cpu 300 100 0 600 0 0 0 0 "
	    "18446744073709551615 18446744073709551615\n", &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 400);
}

/* Blanks: the kernel's two spaces, tabs, blanks before the newline. */
static void
test_stat_blanks(void **state)
{
	static const char stat_tail[] = "cpu 1 2 3 4\n\0\xff garbage\x1b[2J";
	struct shed_cpu	 c;

	(void)state;
	assert_int_equal(parse_stat("cpu\t100\t20  30   850 \t \n", &c), 0);
	assert_int_equal(c.total, 1000);
	assert_int_equal(c.busy, 150);
	assert_int_equal(parse_stat("cpu 0 0 0 0\n", &c), 0);
	assert_int_equal(c.total, 0);
	assert_int_equal(c.busy, 0);
	/* Leading zeros are still decimal. */
	assert_int_equal(parse_stat("cpu 0100 020 030 0850\n", &c), 0);
	assert_int_equal(c.total, 1000);
	/* The largest counter there is, alone. */
	assert_int_equal(parse_stat("cpu 18446744073709551615 0 0 0\n", &c),
	    0);
	assert_true(c.total == UINT64_MAX);
	assert_true(c.busy == UINT64_MAX);
	/* Only the first line matters: the rest may be anything. */
	assert_int_equal(parse_stat_n(stat_tail, sizeof stat_tail - 1, &c), 0);
	assert_int_equal(c.total, 10);
	assert_int_equal(c.busy, 6);
}

/* Everything that is not the cpu line, or not all of it. */
static void
test_stat_malformed(void **state)
{
	static const char *bad[] = {
		"",				/* empty */
		"\n",				/* an empty line */
		"cpu",				/* no newline */
		"cpu\n",
		"cpu \n",			/* no numbers */
		"cpu 1 2 3\n",			/* too few */
		"cpu  10132153 290696 3084719 46828483",  /* no newline */
		"cpu  10132153 290696 3084719 468284",	/* cut in a number */
		"cpu0 1 2 3 4\n",		/* a single CPU's line */
		"cpu1 1 2 3 4\ncpu 1 2 3 4\n",	/* not first */
		"intr 1 2 3 4\ncpu 1 2 3 4\n",
		" cpu 1 2 3 4\n",		/* not at the start */
		"CPU 1 2 3 4\n",
		"cpux 1 2 3 4\n",
		"cp 1 2 3 4\n",
		"cpu 1 2 -3 4\n",		/* negative */
		"cpu -1 2 3 4\n",
		"cpu 1 2 +3 4\n",
		"cpu 1 2 3a 4\n",		/* letters */
		"cpu 1 2 three 4\n",
		"cpu 0x10 2 3 4\n",
		"cpu 1.5 2 3 4\n",
		"cpu 1,2 3 4 5\n",
		"cpu 1 2 3 4 x\n",		/* letters after enough */
		"cpu 1 2 3 4\r\n",		/* a carriage return */
		"cpu 1 2 3 4\v\n",
		"cpu 18446744073709551616 0 0 0\n",	/* one past 2^64-1 */
		"cpu 99999999999999999999999999 0 0 0\n",
		"cpu 1 2 3 4 5 6 7 8 9 "
		    "1000000000000000000000000000000000000000000000000\n",
		/* Each fits, but the total does not. */
		"cpu 9223372036854775808 9223372036854775808 0 0\n",
		"cpu 18446744073709551615 0 0 0 0 0 0 1\n",
	};
	struct shed_cpu	 c;
	u_int		 i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		memset(&c, 0xa5, sizeof c);
		if (parse_stat(bad[i], &c) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
	}
	assert_int_equal(shed_parse_stat(NULL, 0, &c), -1);
	assert_int_equal(shed_parse_stat(NULL, 100, &c), -1);
}

/* NUL bytes in the line, and a newline that is past the length given. */
static void
test_stat_nul_and_length(void **state)
{
	static const char nul_mid[] = "cpu 1 2\0 3 4\n";
	static const char nul_num[] = "cpu 1 2 3\0004\n";
	static const char nul_key[] = "cp\0 1 2 3 4\n";
	static const char nul_end[] = "cpu 1 2 3 4\0\n";
	static const char nul_lead[] = "\0cpu 1 2 3 4\n";
	static const char good[] = "cpu 100 20 30 850\n";
	struct shed_cpu	 c;
	size_t		 len;

	(void)state;
	assert_int_equal(parse_stat_n(nul_mid, sizeof nul_mid - 1, &c), -1);
	assert_int_equal(parse_stat_n(nul_num, sizeof nul_num - 1, &c), -1);
	assert_int_equal(parse_stat_n(nul_key, sizeof nul_key - 1, &c), -1);
	assert_int_equal(parse_stat_n(nul_end, sizeof nul_end - 1, &c), -1);
	assert_int_equal(parse_stat_n(nul_lead, sizeof nul_lead - 1, &c), -1);
	/* Every cut short of the newline is refused. */
	for (len = 0; len < sizeof good - 1; len++) {
		if (parse_stat_n(good, len, &c) != -1)
			fail_msg("accepted %zu bytes of it", len);
	}
	assert_int_equal(parse_stat_n(good, sizeof good - 1, &c), 0);
	assert_int_equal(c.total, 1000);
}

/* A line of thousands of numbers: read to its end, no more kept. */
static void
test_stat_long_line(void **state)
{
	struct shed_cpu	 c;
	char		*buf;
	size_t		 len = 0, size = 64 * 1024;
	int		 i;

	(void)state;
	buf = xmalloc(size);
	len += (size_t)snprintf(buf, size, "cpu 100 20 30 850");
	for (i = 0; i < 10000; i++)
		len += (size_t)snprintf(buf + len, size - len, " %d", i);
	buf[len++] = '\n';
	assert_int_equal(shed_parse_stat(buf, len, &c), 0);
	assert_int_equal(c.total, 1000 + 0 + 1 + 2 + 3);
	/* The same, with a letter at its very end. */
	buf[len - 1] = 'x';
	buf[len++] = '\n';
	assert_int_equal(shed_parse_stat(buf, len, &c), -1);
	free(buf);
}

/* ---- /proc/meminfo ----------------------------------------------------- */

static const char meminfo_real[] =
    "MemTotal:       16318464 kB\n"
    "MemFree:         1822128 kB\n"
    "MemAvailable:   12238848 kB\n"
    "Buffers:          602468 kB\n"
    "Cached:         9423316 kB\n"
    "SwapCached:            0 kB\n"
    "HugePages_Total:       0\n"
    "Hugepagesize:       2048 kB\n";

/* The kernel's file: 1 - MemAvailable / MemTotal. */
static void
test_meminfo_real(void **state)
{
	double	 m;

	(void)state;
	assert_int_equal(parse_meminfo(meminfo_real, &m), 0);
	assert_close(m, 1.0 - 12238848.0 / 16318464.0);
}

/* Anywhere in the buffer, in either order, at the edges of the range. */
static void
test_meminfo_edges(void **state)
{
	static const char meminfo_odd[] = "MemTotalX: 5 kB\n"
	    "MemAvailableish: 9\n\0\xff\x1b[2J\n"
	    "MemTotal: 1000 kB\nMemAvailable: 500 kB\n";
	double	 m;

	(void)state;
	assert_int_equal(parse_meminfo("Foo: 1 kB\nMemAvailable: 250 kB\n"
	    "Bar: 2\nMemTotal: 1000 kB\n", &m), 0);
	assert_close(m, 0.75);
	assert_int_equal(parse_meminfo("MemTotal: 1000 kB\n"
	    "MemAvailable: 1000 kB\n", &m), 0);
	assert_close(m, 0.0);
	assert_int_equal(parse_meminfo("MemTotal: 1000 kB\n"
	    "MemAvailable: 0 kB\n", &m), 0);
	assert_close(m, 1.0);
	assert_int_equal(parse_meminfo("MemTotal:\t1000\tkB \n"
	    "MemAvailable:100 kB\n", &m), 0);
	assert_close(m, 0.9);
	assert_int_equal(parse_meminfo("MemTotal: 18446744073709551615 kB\n"
	    "MemAvailable: 9223372036854775807 kB\n", &m), 0);
	assert_close(m, 0.5);
	/* Keys that only begin like ours, and bytes elsewhere: no matter. */
	assert_int_equal(parse_meminfo_n(meminfo_odd, sizeof meminfo_odd - 1,
	    &m), 0);
	assert_close(m, 0.5);
	/* A last line cut short, when it is not one of ours. */
	assert_int_equal(parse_meminfo("MemTotal: 1000 kB\n"
	    "MemAvailable: 500 kB\nCach", &m), 0);
	assert_close(m, 0.5);
}

/* Missing, repeated, out of range, cut short, not numbers, not kB. */
static void
test_meminfo_malformed(void **state)
{
	static const char *bad[] = {
		"",
		"\n\n\n",
		"MemTotal: 1000 kB\n",			/* no MemAvailable */
		"MemAvailable: 1000 kB\n",		/* no MemTotal */
		"MemTotal: 0 kB\nMemAvailable: 0 kB\n",	/* total 0 */
		"MemTotal: 1000 kB\nMemAvailable: 1001 kB\n",
		"MemTotal: 1000 kB\nMemAvailable: 500 kB",   /* no newline */
		"MemTotal: 1000 kB\nMemAvailable: 50",	/* cut in a number */
		"MemTotal: 1000 kB\nMemAvail",		/* cut in a key */
		"MemAvailable: 500 kB\nMemTotal: 1000",
		"MemTotal: 1000 kB\nMemTotal: 2000 kB\n"	/* repeated */
		    "MemAvailable: 500 kB\n",
		"MemTotal: 1000 kB\nMemAvailable: 500 kB\n"
		    "MemAvailable: 400 kB\n",
		" MemTotal: 1000 kB\nMemAvailable: 500 kB\n",  /* indented */
		"memtotal: 1000 kB\nMemAvailable: 500 kB\n",
		"MemTotal 1000 kB\nMemAvailable: 500 kB\n",	/* no colon */
		"MemTotal: -1000 kB\nMemAvailable: 500 kB\n",	/* negative */
		"MemTotal: 1000 kB\nMemAvailable: -5 kB\n",
		"MemTotal: +1000 kB\nMemAvailable: 500 kB\n",
		"MemTotal: 1e6 kB\nMemAvailable: 500 kB\n",	/* letters */
		"MemTotal: lots kB\nMemAvailable: 500 kB\n",
		"MemTotal: 1000kB\nMemAvailable: 500 kB\n",
		"MemTotal: 0x1000 kB\nMemAvailable: 500 kB\n",
		"MemTotal: 1000.5 kB\nMemAvailable: 500 kB\n",
		"MemTotal: 1000 MB\nMemAvailable: 500 kB\n",	/* not kB */
		"MemTotal: 1000 kb\nMemAvailable: 500 kB\n",
		"MemTotal: 1000\nMemAvailable: 500 kB\n",
		"MemTotal: kB\nMemAvailable: 500 kB\n",
		"MemTotal:\nMemAvailable: 500 kB\n",
		"MemTotal: 1000 kB extra\nMemAvailable: 500 kB\n",
		"MemTotal: 1000 kBx\nMemAvailable: 500 kB\n",
		"MemTotal: 1000 kB\r\nMemAvailable: 500 kB\n",
		"MemTotal: 1000 1000 kB\nMemAvailable: 500 kB\n",
		"MemTotal: 18446744073709551616 kB\n"		/* overflow */
		    "MemAvailable: 500 kB\n",
		"MemTotal: 99999999999999999999999 kB\n"
		    "MemAvailable: 500 kB\n",
	};
	double	 m;
	u_int	 i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		m = -7.0;
		if (parse_meminfo(bad[i], &m) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
		/* Nothing was written on failure. */
		assert_close(m, -7.0);
	}
	assert_int_equal(shed_parse_meminfo(NULL, 0, &m), -1);
	assert_int_equal(shed_parse_meminfo(NULL, 10, &m), -1);
}

/* NUL bytes inside our lines, and every cut of the real file. */
static void
test_meminfo_nul_and_length(void **state)
{
	static const char nul_num[] = "MemTotal: 10\00000 kB\n"
	    "MemAvailable: 500 kB\n";
	static const char nul_unit[] = "MemTotal: 1000 k\0B\n"
	    "MemAvailable: 500 kB\n";
	static const char nul_key[] = "MemTo\0al: 1000 kB\n"
	    "MemAvailable: 500 kB\n";
	static const char nul_after[] = "MemTotal: 1000 kB\0\n"
	    "MemAvailable: 500 kB\n";
	double		 m;
	size_t		 len, whole;
	const char	*avail;

	(void)state;
	assert_int_equal(parse_meminfo_n(nul_num, sizeof nul_num - 1, &m), -1);
	assert_int_equal(parse_meminfo_n(nul_unit, sizeof nul_unit - 1, &m),
	    -1);
	assert_int_equal(parse_meminfo_n(nul_key, sizeof nul_key - 1, &m), -1);
	assert_int_equal(parse_meminfo_n(nul_after, sizeof nul_after - 1, &m),
	    -1);

	/* Cut before the end of MemAvailable's line: refused; after: read. */
	avail = strstr(meminfo_real, "MemAvailable:");
	assert_non_null(avail);
	whole = (size_t)(strchr(avail, '\n') - meminfo_real) + 1;
	for (len = 0; len <= sizeof meminfo_real - 1; len++) {
		if (parse_meminfo_n(meminfo_real, len, &m) != (len < whole ?
		    -1 : 0))
			fail_msg("%zu bytes of %zu", len, whole);
	}
}

/* ---- sampling ---------------------------------------------------------- */

/* Counters for a sample, from busy and idle jiffies. */
static struct shed_cpu
counters(uint64_t busy, uint64_t idle)
{
	struct shed_cpu	 c;

	c.busy = busy;
	c.total = busy + idle;
	return c;
}

/* Two snapshots of /proc/stat through the parser: the right utilisation. */
static void
test_sample_two_snapshots(void **state)
{
	struct shedder	 s;
	struct shed_cpu	 a, b;
	uint64_t	 dtotal, didle;

	(void)state;
	shed_init(&s, 1, 0.8, 0.9);
	assert_int_equal(parse_stat(stat_a, &a), 0);
	assert_int_equal(parse_stat(stat_b, &b), 0);
	/* The first gives no reading. */
	assert_int_equal(shed_sample(&s, &a, 1, 0.0, 0), 0);
	assert_int_equal(s.cpu.n, 0);
	assert_close(shed_cpu(&s), 0.0);
	assert_int_equal(shed_sample(&s, &b, 1, 0.0, 0), 0);
	assert_int_equal(s.cpu.n, 1);
	/* user 100 nice 10 system 40 idle 150 iowait 20 softirq 10. */
	dtotal = 100 + 10 + 40 + 150 + 20 + 10;
	didle = 150 + 20;
	assert_close(shed_cpu(&s), (double)(dtotal - didle) / (double)dtotal);
	assert_close(shed_cpu(&s), 160.0 / 330.0);
}

/* The mean of the last SHED_WINDOW readings, the oldest dropped. */
static void
test_sample_window(void **state)
{
	struct shedder	 s;
	uint64_t	 busy = 1000, idle = 1000;
	static const uint64_t pct[] = { 90, 60, 30, 0, 100, 100, 100 };
	static const double mean[] = {
		0.9, 0.75, 0.6, 0.3, 1.3 / 3, 2.0 / 3, 1.0
	};
	u_int		 i;

	(void)state;
	assert_int_equal(SHED_WINDOW, 3);
	shed_init(&s, 0, 0.8, 0.9);
	shed_sample(&s, &(struct shed_cpu){ busy, busy + idle }, 1, 0.0, 0);
	for (i = 0; i < nitems(pct); i++) {
		busy += pct[i];
		idle += 100 - pct[i];
		shed_sample(&s, &(struct shed_cpu){ busy, busy + idle }, 1,
		    (double)pct[i] / 200.0, 1);
		assert_close(shed_cpu(&s), mean[i]);
		assert_close(shed_memory(&s), mean[i] / 2);
	}
	assert_int_equal(s.cpu.n, SHED_WINDOW);
	assert_int_equal(s.mem.n, SHED_WINDOW);
}

/* Counters that went backwards or did not move: no reading, a new base. */
static void
test_sample_no_delta(void **state)
{
	struct shedder	 s;
	struct shed_cpu	 c;

	(void)state;
	shed_init(&s, 1, 0.8, 0.9);
	c = counters(1000, 9000);
	shed_sample(&s, &c, 1, 0.0, 0);
	c = counters(1500, 9500);		/* 50% */
	shed_sample(&s, &c, 1, 0.0, 0);
	assert_int_equal(s.cpu.n, 1);
	assert_close(shed_cpu(&s), 0.5);

	/* No time passed at all: no reading. */
	shed_sample(&s, &c, 1, 0.0, 0);
	assert_int_equal(s.cpu.n, 1);
	assert_close(shed_cpu(&s), 0.5);

	/* The total went backwards (a reset, another file): no reading... */
	c = counters(100, 100);
	shed_sample(&s, &c, 1, 0.0, 0);
	assert_int_equal(s.cpu.n, 1);
	assert_close(shed_cpu(&s), 0.5);
	/* ...and the next delta is from there. */
	c = counters(190, 110);			/* 90 of 100 */
	shed_sample(&s, &c, 1, 0.0, 0);
	assert_int_equal(s.cpu.n, 2);
	assert_close(shed_cpu(&s), (0.5 + 0.9) / 2);

	/* Busy went backwards though the total moved: no reading. */
	c = counters(180, 1000);
	shed_sample(&s, &c, 1, 0.0, 0);
	assert_int_equal(s.cpu.n, 2);
	assert_close(shed_cpu(&s), 0.7);

	/* Busy moved more than the total (iowait went back): at most 1. */
	c.busy += 200;
	c.total += 100;
	shed_sample(&s, &c, 1, 0.0, 0);
	assert_int_equal(s.cpu.n, 3);
	assert_close(shed_cpu(&s), (0.5 + 0.9 + 1.0) / 3);
}

/* A reading that failed leaves its series as it was, the other moves. */
static void
test_sample_failed_readings(void **state)
{
	struct shedder	 s;
	struct shed_cpu	 c, garbage = { 1, 1 };

	(void)state;
	shed_init(&s, 1, 0.8, 0.9);
	c = counters(0, 1000);
	shed_sample(&s, &c, 1, 0.5, 1);
	c = counters(200, 1800);		/* 20% */
	shed_sample(&s, &c, 1, 0.5, 1);
	assert_close(shed_cpu(&s), 0.2);
	assert_close(shed_memory(&s), 0.5);

	/* CPU failed: neither the series nor the base moves. */
	shed_sample(&s, &garbage, 0, 0.2, 1);
	assert_int_equal(s.cpu.n, 1);
	assert_close(shed_cpu(&s), 0.2);
	assert_int_equal(s.last.busy, 200);
	assert_int_equal(s.mem.n, 3);
	assert_close(shed_memory(&s), 0.4);
	shed_sample(&s, NULL, 1, 0.2, 1);
	assert_int_equal(s.cpu.n, 1);

	/* Memory failed, or is no pressure at all: its series stays. */
	c = counters(1000, 1800);		/* 800 of 800 */
	shed_sample(&s, &c, 1, 0.99, 0);
	assert_int_equal(s.mem.n, 3);
	assert_close(shed_memory(&s), 0.3);
	assert_close(shed_cpu(&s), 0.6);
	shed_sample(&s, NULL, 0, NAN, 1);
	shed_sample(&s, NULL, 0, -0.01, 1);
	shed_sample(&s, NULL, 0, 1.01, 1);
	shed_sample(&s, NULL, 0, INFINITY, 1);
	assert_close(shed_memory(&s), 0.3);
	assert_int_equal(s.shedding, 0);
}

/* ---- shedding ---------------------------------------------------------- */

/* Feed n memory readings of v; returns how many changed the state. */
static int
feed_mem(struct shedder *s, double v, int n)
{
	int	 changes = 0;

	while (n-- > 0)
		changes += shed_sample(s, NULL, 0, v, 1);
	return changes;
}

/* Above the threshold starts it; at the threshold does not. */
static void
test_shed_starts_above(void **state)
{
	struct shedder	 s;

	(void)state;
	shed_init(&s, 1, 0.8, 0.5);
	assert_int_equal(feed_mem(&s, 0.5, 10), 0);
	assert_int_equal(shed_active(&s), 0);
	assert_int_equal(shed_sample(&s, NULL, 0, 0.5 + 3 * 0.001, 1), 1);
	assert_int_equal(shed_active(&s), 1);
	assert_int_equal(s.started, 1);
	/* Once on, more pressure changes nothing. */
	assert_int_equal(feed_mem(&s, 1.0, 5), 0);
	assert_int_equal(s.started, 1);
}

/* Stops only when below the threshold less the margin: no flapping. */
static void
test_shed_margin(void **state)
{
	static const double wobble[] = { 0.79, 0.81, 0.78, 0.82, 0.77, 0.80,
		0.76, 0.79, 0.81 };
	struct shedder	 s;
	u_int		 i, round;

	(void)state;
	shed_init(&s, 1, 0.95, 0.8);
	assert_int_equal(feed_mem(&s, 0.85, 1), 1);
	/* Readings wobbling about the threshold: on, and it stays on. */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < nitems(wobble); i++) {
			assert_int_equal(shed_sample(&s, NULL, 0, wobble[i], 1),
			    0);
			assert_int_equal(shed_active(&s), 1);
		}
	}
	/* Just above threshold - margin, smoothed: still on. */
	assert_int_equal(feed_mem(&s, 0.7501, SHED_WINDOW), 0);
	assert_int_equal(shed_active(&s), 1);
	assert_int_equal(feed_mem(&s, 0.76, SHED_WINDOW), 0);
	assert_int_equal(feed_mem(&s, 0.74, 1), 0);	/* mean 0.7533 */
	assert_int_equal(shed_active(&s), 1);
	assert_int_equal(feed_mem(&s, 0.74, 1), 1);	/* mean 0.7467 */
	assert_int_equal(shed_active(&s), 0);
	/* And off, wobbling under the threshold never starts it again. */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < nitems(wobble); i++)
			assert_int_equal(shed_sample(&s, NULL, 0,
			    wobble[i] - 0.02, 1), 0);
	}
	assert_int_equal(s.started, 1);
	assert_int_equal(shed_active(&s), 0);
}

/* A single spike is smoothed away; a sustained one is not. */
static void
test_shed_smoothing(void **state)
{
	struct shedder	 s;

	(void)state;
	shed_init(&s, 1, 0.9, 0.8);
	assert_int_equal(feed_mem(&s, 0.5, 3), 0);
	assert_int_equal(feed_mem(&s, 1.0, 1), 0);	/* mean 0.667 */
	assert_int_equal(shed_active(&s), 0);
	assert_int_equal(feed_mem(&s, 0.5, 3), 0);
	assert_int_equal(feed_mem(&s, 1.0, 1), 0);
	assert_int_equal(feed_mem(&s, 1.0, 1), 1);	/* mean 0.833 */
	assert_int_equal(shed_active(&s), 1);
}

/* Feed n CPU readings of pct percent busy; returns the state changes. */
static int
feed_cpu(struct shedder *s, struct shed_cpu *c, u_int pct, int n)
{
	int	 changes = 0;

	while (n-- > 0) {
		c->busy += pct;
		c->total += 100;
		changes += shed_sample(s, c, 1, 0.0, 0);
	}
	return changes;
}

/* The margin holds for CPU as it does for memory. */
static void
test_shed_cpu_margin(void **state)
{
	struct shedder	 s;
	struct shed_cpu	 c;

	(void)state;
	shed_init(&s, 1, 0.8, 0.9);
	c = counters(5000, 5000);
	assert_int_equal(shed_sample(&s, &c, 1, 0.0, 0), 0);
	assert_int_equal(feed_cpu(&s, &c, 80, 10), 0);	/* at, not above */
	assert_int_equal(feed_cpu(&s, &c, 83, 1), 1);
	/* Under the threshold, over the margin: on. */
	assert_int_equal(feed_cpu(&s, &c, 79, 10), 0);
	assert_int_equal(feed_cpu(&s, &c, 76, 10), 0);
	assert_int_equal(shed_active(&s), 1);
	assert_close(shed_cpu(&s), 0.76);
	/* At threshold - margin exactly: still on. */
	assert_int_equal(feed_cpu(&s, &c, 75, 10), 0);
	assert_int_equal(shed_active(&s), 1);
	/* Under the margin: off, and it stays off up to the threshold. */
	assert_int_equal(feed_cpu(&s, &c, 74, 3), 1);
	assert_int_equal(shed_active(&s), 0);
	assert_int_equal(feed_cpu(&s, &c, 80, 10), 0);
	assert_int_equal(s.started, 1);
}

/* Either starts it; stopping needs both clear of the margin. */
static void
test_shed_either_both(void **state)
{
	struct shedder	 s;
	struct shed_cpu	 c;
	int		 i;

	(void)state;
	shed_init(&s, 1, 0.8, 0.9);
	c = counters(0, 0);
	shed_sample(&s, &c, 1, 0.1, 1);
	/* CPU at 100% for a while: CPU alone starts it. */
	for (i = 0; i < SHED_WINDOW; i++) {
		c.busy += 100;
		c.total += 100;
		shed_sample(&s, &c, 1, 0.1, 1);
	}
	assert_int_equal(shed_active(&s), 1);
	assert_int_equal(s.started, 1);
	/* Memory rises between its threshold and the margin... */
	feed_mem(&s, 0.87, SHED_WINDOW);
	/* ...and CPU goes idle: CPU is clear, memory is not. */
	for (i = 0; i < SHED_WINDOW; i++) {
		c.total += 100;
		assert_int_equal(shed_sample(&s, &c, 1, 0.87, 1), 0);
	}
	assert_close(shed_cpu(&s), 0.0);
	assert_int_equal(shed_active(&s), 1);
	/* Memory clear too: off. */
	assert_int_equal(feed_mem(&s, 0.5, SHED_WINDOW), 1);
	assert_int_equal(shed_active(&s), 0);
	/* Memory alone starts it. */
	assert_int_equal(feed_mem(&s, 0.99, SHED_WINDOW), 1);
	assert_int_equal(s.started, 2);
}

/* Disabled: readings are kept, nothing is ever shed. */
static void
test_shed_disabled(void **state)
{
	struct shedder	 s;
	struct shed_cpu	 c;
	int		 i;

	(void)state;
	shed_init(&s, 0, 0.1, 0.1);
	c = counters(0, 0);
	for (i = 0; i < 10; i++) {
		c.busy += 100;
		c.total += 100;
		assert_int_equal(shed_sample(&s, &c, 1, 1.0, 1), 0);
		assert_int_equal(shed_active(&s), 0);
	}
	assert_close(shed_cpu(&s), 1.0);
	assert_close(shed_memory(&s), 1.0);
	assert_int_equal(s.started, 0);
}

/* A reload: the readings stay; disabling stops at once; new thresholds next. */
static void
test_shed_configure(void **state)
{
	struct shedder	 s;

	(void)state;
	shed_init(&s, 1, 0.8, 0.8);
	assert_int_equal(feed_mem(&s, 0.9, SHED_WINDOW), 1);
	shed_configure(&s, 0, 0.8, 0.8);
	assert_int_equal(shed_active(&s), 0);
	assert_int_equal(s.mem.n, SHED_WINDOW);
	assert_close(shed_memory(&s), 0.9);
	assert_int_equal(feed_mem(&s, 0.9, 5), 0);
	/* Enabled again: the next sample decides from the readings kept. */
	shed_configure(&s, 1, 0.8, 0.8);
	assert_int_equal(shed_active(&s), 0);
	assert_int_equal(feed_mem(&s, 0.9, 1), 1);
	assert_int_equal(s.started, 2);
	/* A higher threshold: still in the margin of the old one, so on... */
	shed_configure(&s, 1, 0.8, 0.92);
	assert_int_equal(shed_active(&s), 1);
	assert_int_equal(feed_mem(&s, 0.9, 1), 0);
	/* ...until below the new threshold less the margin. */
	shed_configure(&s, 1, 0.8, 0.96);
	assert_int_equal(feed_mem(&s, 0.9, 1), 1);
	assert_int_equal(shed_active(&s), 0);
	/* A lower one: the next sample starts it. */
	shed_configure(&s, 1, 0.8, 0.85);
	assert_int_equal(shed_active(&s), 0);
	assert_int_equal(feed_mem(&s, 0.9, 1), 1);
}

/* Run every test in this file. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stat_real),
		cmocka_unit_test(test_stat_field_counts),
		cmocka_unit_test(test_stat_guest_once),
		cmocka_unit_test(test_stat_blanks),
		cmocka_unit_test(test_stat_malformed),
		cmocka_unit_test(test_stat_nul_and_length),
		cmocka_unit_test(test_stat_long_line),
		cmocka_unit_test(test_meminfo_real),
		cmocka_unit_test(test_meminfo_edges),
		cmocka_unit_test(test_meminfo_malformed),
		cmocka_unit_test(test_meminfo_nul_and_length),
		cmocka_unit_test(test_sample_two_snapshots),
		cmocka_unit_test(test_sample_window),
		cmocka_unit_test(test_sample_no_delta),
		cmocka_unit_test(test_sample_failed_readings),
		cmocka_unit_test(test_shed_starts_above),
		cmocka_unit_test(test_shed_margin),
		cmocka_unit_test(test_shed_smoothing),
		cmocka_unit_test(test_shed_cpu_margin),
		cmocka_unit_test(test_shed_either_both),
		cmocka_unit_test(test_shed_disabled),
		cmocka_unit_test(test_shed_configure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
