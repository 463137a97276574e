/*
 * Unit tests for the Prometheus registry and its text exposition: HELP
 * and TYPE lines, label values in order, escaping, the value format,
 * cumulative histogram buckets with +Inf equal to _count (observed, or
 * loaded from an owner's counts), counters that never go down, series
 * counts fixed at registration, and the bugs a
 * caller can make (bad names, a counter without _total, buckets that do
 * not increase, an unknown label value) stopping the program.
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
#include "dies.h"

static const char *const reasons[] = { "queue_full", "queue_timeout" };
static const char *const types[] = { "lookup", "reload" };
static const char *const results[] = { "completed", "timed_out",
    "rejected" };

/* Render a registry into a string the test frees. */
static char *
render(struct prom *p)
{
	size_t	 len;
	char	*text;

	text = prom_render(p, &len);
	assert_int_equal(strlen(text), len);
	return text;
}

/* Does text hold this exact line? */
static int
has_line(const char *text, const char *line)
{
	const char	*p = text;
	size_t		 n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

/* Check that text holds a line, or fail showing the text. */
static void
want_line(const char *text, const char *line)
{
	if (!has_line(text, line))
		fail_msg("line \"%s\" not in:\n%s", line, text);
}

/* A counter and a gauge without labels: HELP, TYPE and the value. */
static void
test_plain(void **state)
{
	struct prom		*p = prom_create();
	struct prom_family	*c, *g;
	char			*text;

	c = prom_counter(p, "x_things_total", "Things seen.", NULL, 0);
	g = prom_gauge(p, "x_level", "A level.", NULL, 0);
	prom_inc(c, 0);
	prom_add(c, 0, 2);
	prom_set(g, 0, 0.25);
	text = render(p);
	want_line(text, "# HELP x_things_total Things seen.");
	want_line(text, "# TYPE x_things_total counter");
	want_line(text, "x_things_total 3");
	want_line(text, "# TYPE x_level gauge");
	want_line(text, "x_level 0.25");
	/* HELP and TYPE come before the family's samples. */
	assert_true(strstr(text, "# TYPE x_level gauge") <
	    strstr(text, "x_level 0.25"));
	free(text);
	assert_int_equal(prom_total_series(p), 2);
	prom_free(p);
}

/* Labels: every value has its series from the start, in order. */
static void
test_labels(void **state)
{
	struct prom		*p = prom_create();
	struct prom_family	*c;
	struct prom_label	 l = { "reason", reasons, nitems(reasons) };
	char			*text;

	c = prom_counter(p, "x_refused_total", "Refusals.", &l, 1);
	assert_int_equal(prom_series(c), 2);
	text = render(p);
	want_line(text, "x_refused_total{reason=\"queue_full\"} 0");
	want_line(text, "x_refused_total{reason=\"queue_timeout\"} 0");
	free(text);
	prom_inc(c, prom_index(c, "queue_timeout", NULL));
	prom_inc(c, prom_index(c, "queue_timeout", NULL));
	text = render(p);
	want_line(text, "x_refused_total{reason=\"queue_full\"} 0");
	want_line(text, "x_refused_total{reason=\"queue_timeout\"} 2");
	free(text);
	prom_free(p);
}

/* Two labels: the series are every pair, the last label fastest. */
static void
test_two_labels(void **state)
{
	struct prom		*p = prom_create();
	struct prom_family	*c;
	struct prom_label	 l[2] = {
		{ "type", types, nitems(types) },
		{ "result", results, nitems(results) }
	};
	char			*text;

	c = prom_counter(p, "x_jobs_total", "Jobs.", l, 2);
	assert_int_equal(prom_series(c), 6);
	assert_int_equal(prom_index(c, "lookup", "completed"), 0);
	assert_int_equal(prom_index(c, "reload", "rejected"), 5);
	prom_add(c, prom_index(c, "reload", "timed_out"), 7);
	text = render(p);
	want_line(text, "x_jobs_total{type=\"reload\",result=\"timed_out\"} 7");
	want_line(text, "x_jobs_total{type=\"lookup\",result=\"rejected\"} 0");
	free(text);
	prom_free(p);
}

/*
 * A histogram: cumulative buckets in order, +Inf and _count equal to
 * the observations, _sum their total, each label value on its own.
 */
static void
test_histogram(void **state)
{
	static const double	 bounds[] = { 0.1, 1, 10 };
	struct prom		*p = prom_create();
	struct prom_family	*h;
	struct prom_label	 l = { "type", types, nitems(types) };
	char			*text;

	h = prom_histogram(p, "x_seconds", "Durations.", &l, 1, bounds,
	    nitems(bounds));
	prom_observe(h, 0, 0.05);
	prom_observe(h, 0, 0.1);	/* on a bound: in that bucket */
	prom_observe(h, 0, 5);
	prom_observe(h, 0, 100);	/* past every bound: +Inf only */
	prom_observe(h, 1, 2);
	text = render(p);
	want_line(text, "# TYPE x_seconds histogram");
	want_line(text, "x_seconds_bucket{type=\"lookup\",le=\"0.1\"} 2");
	want_line(text, "x_seconds_bucket{type=\"lookup\",le=\"1\"} 2");
	want_line(text, "x_seconds_bucket{type=\"lookup\",le=\"10\"} 3");
	want_line(text, "x_seconds_bucket{type=\"lookup\",le=\"+Inf\"} 4");
	want_line(text, "x_seconds_count{type=\"lookup\"} 4");
	want_line(text, "x_seconds_sum{type=\"lookup\"} 105.15");
	want_line(text, "x_seconds_bucket{type=\"reload\",le=\"1\"} 0");
	want_line(text, "x_seconds_bucket{type=\"reload\",le=\"10\"} 1");
	want_line(text, "x_seconds_count{type=\"reload\"} 1");
	assert_int_equal((int)prom_get(h, 0), 4);
	free(text);
	prom_free(p);
}

/*
 * A histogram loaded from its owner's counts: buckets made cumulative,
 * the last count past every bound only in +Inf, _count their total, and
 * a load with fewer observations than before ignored.
 */
static void
test_histogram_load(void **state)
{
	static const double	 bounds[] = { 0.1, 1, 10 };
	uint64_t		 counts[] = { 2, 0, 1, 1 };
	uint64_t		 fewer[] = { 1, 0, 0, 0 };
	struct prom		*p = prom_create();
	struct prom_family	*h;
	char			*text;

	h = prom_histogram(p, "x_seconds", "Durations.", NULL, 0, bounds,
	    nitems(bounds));
	prom_load_histogram(h, 0, counts, nitems(counts), 105.15);
	text = render(p);
	want_line(text, "x_seconds_bucket{le=\"0.1\"} 2");
	want_line(text, "x_seconds_bucket{le=\"1\"} 2");
	want_line(text, "x_seconds_bucket{le=\"10\"} 3");
	want_line(text, "x_seconds_bucket{le=\"+Inf\"} 4");
	want_line(text, "x_seconds_count 4");
	want_line(text, "x_seconds_sum 105.15");
	free(text);
	prom_load_histogram(h, 0, fewer, nitems(fewer), 0.05);
	assert_int_equal((int)prom_get(h, 0), 4);
	text = render(p);
	want_line(text, "x_seconds_bucket{le=\"0.1\"} 2");
	want_line(text, "x_seconds_sum 105.15");
	free(text);
	counts[1] = 3;
	prom_load_histogram(h, 0, counts, nitems(counts), 106);
	text = render(p);
	want_line(text, "x_seconds_bucket{le=\"1\"} 5");
	want_line(text, "x_seconds_count 7");
	free(text);
	prom_free(p);
}

/* A counter set from its owner's count never goes back. */
static void
test_counter_monotonic(void **state)
{
	struct prom		*p = prom_create();
	struct prom_family	*c;

	c = prom_counter(p, "x_admitted_total", "Admitted.", NULL, 0);
	prom_set(c, 0, 10);
	assert_true(prom_get(c, 0) == 10);
	prom_set(c, 0, 4);
	assert_true(prom_get(c, 0) == 10);
	prom_set(c, 0, 11);
	assert_true(prom_get(c, 0) == 11);
	prom_free(p);
}

/* Values: whole numbers plainly, fractions exactly, Inf and NaN. */
static void
test_values(void **state)
{
	struct prom		*p = prom_create();
	struct prom_family	*g[5];
	char			*text;

	g[0] = prom_gauge(p, "x_big", "Big.", NULL, 0);
	g[1] = prom_gauge(p, "x_third", "A third.", NULL, 0);
	g[2] = prom_gauge(p, "x_inf", "Infinite.", NULL, 0);
	g[3] = prom_gauge(p, "x_nan", "Not a number.", NULL, 0);
	g[4] = prom_gauge(p, "x_neg", "Negative.", NULL, 0);
	prom_set(g[0], 0, 8589934592.0);
	prom_set(g[1], 0, 1.0 / 3);
	prom_set(g[2], 0, INFINITY);
	prom_set(g[3], 0, NAN);
	prom_set(g[4], 0, -2.5);
	text = render(p);
	want_line(text, "x_big 8589934592");
	want_line(text, "x_third 0.3333333333333333");
	want_line(text, "x_inf +Inf");
	want_line(text, "x_nan NaN");
	want_line(text, "x_neg -2.5");
	free(text);
	prom_free(p);
}

/* Help text and label values are escaped as the format says. */
static void
test_escaping(void **state)
{
	static const char *const odd[] = { "a\"b\\c\nd" };
	struct prom		*p = prom_create();
	struct prom_label	 l = { "v", odd, 1 };
	char			*text;

	prom_gauge(p, "x_odd", "Back\\slash and\nnewline.", &l, 1);
	text = render(p);
	want_line(text, "# HELP x_odd Back\\\\slash and\\nnewline.");
	want_line(text, "x_odd{v=\"a\\\"b\\\\c\\nd\"} 0");
	free(text);
	prom_free(p);
}

/* The series count is what registration fixed, whatever is updated. */
static void
test_series_fixed(void **state)
{
	struct prom		*p = prom_create();
	struct prom_family	*c;
	struct prom_label	 l = { "reason", reasons, nitems(reasons) };
	char			*a, *b;
	u_int			 i, lines_a = 0, lines_b = 0;

	c = prom_counter(p, "x_refused_total", "Refusals.", &l, 1);
	a = render(p);
	for (i = 0; i < 10000; i++)
		prom_inc(c, i % 2);
	b = render(p);
	for (i = 0; a[i] != '\0'; i++)
		lines_a += a[i] == '\n';
	for (i = 0; b[i] != '\0'; i++)
		lines_b += b[i] == '\n';
	assert_int_equal(lines_a, lines_b);
	want_line(b, "x_refused_total{reason=\"queue_full\"} 5000");
	free(a);
	free(b);
	prom_free(p);
}

/* Mistakes of the caller, each of which must stop the program. */
static void
die_bad_name(void *arg)
{
	prom_gauge(arg, "9lives", "Bad.", NULL, 0);
}

static void
die_counter_suffix(void *arg)
{
	prom_counter(arg, "x_things", "No _total.", NULL, 0);
}

static void
die_gauge_suffix(void *arg)
{
	prom_gauge(arg, "x_things_total", "A gauge named like a counter.",
	    NULL, 0);
}

static void
die_duplicate(void *arg)
{
	prom_gauge(arg, "x_twice", "Once.", NULL, 0);
	prom_gauge(arg, "x_twice", "Twice.", NULL, 0);
}

static void
die_buckets(void *arg)
{
	static const double	 bounds[] = { 1, 0.5 };

	prom_histogram(arg, "x_seconds", "Bad buckets.", NULL, 0, bounds, 2);
}

static void
die_le_label(void *arg)
{
	static const double	 bounds[] = { 1 };
	struct prom_label	 l = { "le", types, nitems(types) };

	prom_histogram(arg, "x_seconds", "le is taken.", &l, 1, bounds, 1);
}

static void
die_unknown_value(void *arg)
{
	struct prom_label	 l = { "reason", reasons, nitems(reasons) };
	struct prom_family	*c;

	c = prom_counter(arg, "x_refused_total", "Refusals.", &l, 1);
	prom_inc(c, prom_index(c, "alice", NULL));
}

static void
die_negative_add(void *arg)
{
	struct prom_family	*c;

	c = prom_counter(arg, "x_refused_total", "Refusals.", NULL, 0);
	prom_add(c, 0, -1);
}

static void
die_out_of_range(void *arg)
{
	struct prom_family	*c;

	c = prom_counter(arg, "x_refused_total", "Refusals.", NULL, 0);
	prom_inc(c, 1);
}

static void
die_observe_gauge(void *arg)
{
	struct prom_family	*g;

	g = prom_gauge(arg, "x_level", "A level.", NULL, 0);
	prom_observe(g, 0, 1);
}

static void
die_load_counts(void *arg)
{
	static const double	 bounds[] = { 1, 2 };
	uint64_t		 counts[] = { 1, 2 };
	struct prom_family	*h;

	h = prom_histogram(arg, "x_seconds", "Durations.", NULL, 0, bounds,
	    nitems(bounds));
	prom_load_histogram(h, 0, counts, nitems(counts), 1);
}

static void
die_load_gauge(void *arg)
{
	uint64_t		 counts[] = { 1 };
	struct prom_family	*g;

	g = prom_gauge(arg, "x_level", "A level.", NULL, 0);
	prom_load_histogram(g, 0, counts, nitems(counts), 1);
}

/* Each mistake stops the program with what was wrong. */
static void
test_mistakes(void **state)
{
	struct prom	*p;
	struct {
		void		(*fn)(void *);
		const char	*what;
	} cases[] = {
		{ die_bad_name, "bad or duplicate name" },
		{ die_counter_suffix, "must end in _total" },
		{ die_gauge_suffix, "only a counter" },
		{ die_duplicate, "bad or duplicate name" },
		{ die_buckets, "buckets must increase" },
		{ die_le_label, "bad label" },
		{ die_unknown_value, "has no value alice" },
		{ die_negative_add, "prom_add" },
		{ die_out_of_range, "series 1 of 1" },
		{ die_observe_gauge, "is a gauge" },
		{ die_load_counts, "2 counts for 2 bounds" },
		{ die_load_gauge, "is a gauge" },
	};
	u_int	 i;

	for (i = 0; i < nitems(cases); i++) {
		p = prom_create();
		assert_dies(cases[i].fn, p, cases[i].what);
		prom_free(p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_two_labels),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_load),
		cmocka_unit_test(test_counter_monotonic),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_series_fixed),
		cmocka_unit_test(test_mistakes),
	};

	log_open("test_prom", LOG_LEVEL_ERROR, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
