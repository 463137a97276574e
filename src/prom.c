/*
 * A registry of Prometheus series and their text exposition (format
 * 0.0.4). A family is registered once with its name, help, kind and at
 * most PROM_MAX_LABELS labels whose values are all given then, so the
 * number of series is fixed up front and never follows the number of
 * users or sessions. The module that owns a figure updates its series
 * by index at the event; rendering is one pass over the series.
 *
 * No event loop and no locks: one thread (the broker's loop) owns a
 * registry.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

struct prom_family {
	char			*name;
	char			*help;
	enum prom_kind		 kind;
	struct prom_label	 labels[PROM_MAX_LABELS];
	u_int			 nlabels;
	u_int			 nseries;
	double			*values;	/* counter, gauge: per series */
	double			 bounds[PROM_MAX_BUCKETS];
	u_int			 nbounds;
	uint64_t		*buckets;	/* per series, per bound */
	uint64_t		*count;		/* histogram: per series */
	double			*sum;
	TAILQ_ENTRY(prom_family) entry;
};

struct prom {
	TAILQ_HEAD(, prom_family) families;
	u_int			 nfamilies;
	u_int			 nseries;
};

/* A growing text buffer for one exposition. */
struct prom_buf {
	char	*p;
	size_t	 len;
	size_t	 size;
};

static const char *prom_kinds[] = { "counter", "gauge", "histogram" };

/* Append formatted text to a buffer. */
static void printflike(2, 3)
prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("prom_printf: bad format");
		if ((size_t)n < b->size - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->p = xreallocarray(b->p, 2, b->size);
		b->size *= 2;
	}
}

/* Append one character. */
static void
prom_putc(struct prom_buf *b, char c)
{
	if (b->len + 1 >= b->size) {
		b->p = xreallocarray(b->p, 2, b->size);
		b->size *= 2;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

/* Is this a metric name (or, without colons, a label name)? */
static int
prom_valid_name(const char *s, int colons)
{
	const char	*p;

	if (*s == '\0' || isdigit((u_char)*s))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((u_char)*p) && *p != '_' && (!colons || *p != ':'))
			return 0;
	}
	return p - s <= 128;
}

/* Does a string end with a suffix? */
static int
prom_ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Start an empty registry. */
struct prom *
prom_create(void)
{
	struct prom	*p;

	p = xcalloc(1, sizeof *p);
	TAILQ_INIT(&p->families);
	return p;
}

/* Free a registry and its families. */
void
prom_free(struct prom *p)
{
	struct prom_family	*f;

	if (p == NULL)
		return;
	while ((f = TAILQ_FIRST(&p->families)) != NULL) {
		TAILQ_REMOVE(&p->families, f, entry);
		free(f->name);
		free(f->help);
		free(f->values);
		free(f->buckets);
		free(f->count);
		free(f->sum);
		free(f);
	}
	free(p);
}

/* Find a family by name. */
struct prom_family *
prom_find(const struct prom *p, const char *name)
{
	struct prom_family	*f;

	TAILQ_FOREACH(f, &p->families, entry) {
		if (strcmp(f->name, name) == 0)
			return f;
	}
	return NULL;
}

/*
 * Register a family: its series are every combination of its labels'
 * values. Names follow Prometheus' rules (counters end in _total, no
 * histogram label is called le); a family that breaks them is a bug in
 * the caller and fatal.
 */
struct prom_family *
prom_register(struct prom *p, enum prom_kind kind, const char *name,
    const char *help, const struct prom_label *labels, u_int nlabels,
    const double *bounds, u_int nbounds)
{
	struct prom_family	*f;
	u_int			 i, j, k, n = 1;

	if (!prom_valid_name(name, 1) || prom_find(p, name) != NULL)
		fatalx("prom_register: bad or duplicate name %s", name);
	if (kind == PROM_COUNTER && !prom_ends_with(name, "_total"))
		fatalx("prom_register: counter %s must end in _total", name);
	if (kind != PROM_COUNTER && prom_ends_with(name, "_total"))
		fatalx("prom_register: only a counter may end in _total");
	if (nlabels > PROM_MAX_LABELS)
		fatalx("prom_register: %s: too many labels", name);
	for (i = 0; i < nlabels; i++) {
		if (!prom_valid_name(labels[i].name, 0) ||
		    strncmp(labels[i].name, "__", 2) == 0 ||
		    (kind == PROM_HISTOGRAM && strcmp(labels[i].name,
		    "le") == 0) || labels[i].nvalues == 0)
			fatalx("prom_register: %s: bad label", name);
		for (j = 0; j < labels[i].nvalues; j++) {
			for (k = 0; k < j; k++) {
				if (strcmp(labels[i].values[j],
				    labels[i].values[k]) == 0)
					fatalx("prom_register: %s: value %s "
					    "twice", name, labels[i].values[j]);
			}
		}
		n *= labels[i].nvalues;
		if (n > PROM_MAX_SERIES)
			fatalx("prom_register: %s: too many series", name);
	}
	if (kind == PROM_HISTOGRAM) {
		if (nbounds == 0 || nbounds > PROM_MAX_BUCKETS)
			fatalx("prom_register: %s: bad buckets", name);
		for (i = 0; i < nbounds; i++) {
			if (!isfinite(bounds[i]) ||
			    (i > 0 && bounds[i] <= bounds[i - 1]))
				fatalx("prom_register: %s: buckets must "
				    "increase", name);
		}
	} else if (nbounds != 0)
		fatalx("prom_register: %s: buckets on a non-histogram", name);

	f = xcalloc(1, sizeof *f);
	f->name = xstrdup(name);
	f->help = xstrdup(help);
	f->kind = kind;
	if (nlabels > 0)
		memcpy(f->labels, labels, nlabels * sizeof *labels);
	f->nlabels = nlabels;
	f->nseries = n;
	if (kind == PROM_HISTOGRAM) {
		memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
		f->nbounds = nbounds;
		f->buckets = xcalloc((size_t)n * nbounds, sizeof *f->buckets);
		f->count = xcalloc(n, sizeof *f->count);
		f->sum = xcalloc(n, sizeof *f->sum);
	} else
		f->values = xcalloc(n, sizeof *f->values);
	TAILQ_INSERT_TAIL(&p->families, f, entry);
	p->nfamilies++;
	p->nseries += n;
	return f;
}

/* A counter with up to two labels (NULL label: none). */
struct prom_family *
prom_counter(struct prom *p, const char *name, const char *help,
    const struct prom_label *labels, u_int nlabels)
{
	return prom_register(p, PROM_COUNTER, name, help, labels, nlabels,
	    NULL, 0);
}

/* A gauge with up to two labels. */
struct prom_family *
prom_gauge(struct prom *p, const char *name, const char *help,
    const struct prom_label *labels, u_int nlabels)
{
	return prom_register(p, PROM_GAUGE, name, help, labels, nlabels,
	    NULL, 0);
}

/* A histogram with up to two labels and its buckets' upper bounds. */
struct prom_family *
prom_histogram(struct prom *p, const char *name, const char *help,
    const struct prom_label *labels, u_int nlabels, const double *bounds,
    u_int nbounds)
{
	return prom_register(p, PROM_HISTOGRAM, name, help, labels, nlabels,
	    bounds, nbounds);
}

/* How many series a family has. */
u_int
prom_series(const struct prom_family *f)
{
	return f->nseries;
}

/* How many series a registry has, over every family. */
u_int
prom_total_series(const struct prom *p)
{
	return p->nseries;
}

/*
 * The index of the series with these label values (NULL for a label
 * the family does not have). A value the family does not list is a bug.
 */
u_int
prom_index(const struct prom_family *f, const char *v0, const char *v1)
{
	const char	*want[PROM_MAX_LABELS] = { v0, v1 };
	u_int		 i, j, idx = 0;

	for (i = 0; i < PROM_MAX_LABELS; i++) {
		if (i >= f->nlabels) {
			if (want[i] != NULL)
				fatalx("prom_index: %s has no label %u",
				    f->name, i);
			continue;
		}
		if (want[i] == NULL)
			fatalx("prom_index: %s needs label %s", f->name,
			    f->labels[i].name);
		for (j = 0; j < f->labels[i].nvalues; j++) {
			if (strcmp(f->labels[i].values[j], want[i]) == 0)
				break;
		}
		if (j == f->labels[i].nvalues)
			fatalx("prom_index: %s{%s} has no value %s", f->name,
			    f->labels[i].name, want[i]);
		idx = idx * f->labels[i].nvalues + j;
	}
	return idx;
}

/* Check an index and the kind of what is done with it. */
static void
prom_check(const struct prom_family *f, u_int idx, int histogram)
{
	if (idx >= f->nseries)
		fatalx("prom: %s: series %u of %u", f->name, idx, f->nseries);
	if ((f->kind == PROM_HISTOGRAM) != histogram)
		fatalx("prom: %s is a %s", f->name, prom_kinds[f->kind]);
}

/* Add to a counter (or a gauge); a counter never goes down. */
void
prom_add(struct prom_family *f, u_int idx, double v)
{
	prom_check(f, idx, 0);
	if (f->kind == PROM_COUNTER && (!isfinite(v) || v < 0))
		fatalx("prom_add: %s: %g", f->name, v);
	f->values[idx] += v;
}

/* Add one. */
void
prom_inc(struct prom_family *f, u_int idx)
{
	prom_add(f, idx, 1);
}

/*
 * Set a gauge; or a counter from a count its owner keeps, which may only
 * grow: a smaller value is ignored.
 */
void
prom_set(struct prom_family *f, u_int idx, double v)
{
	prom_check(f, idx, 0);
	if (f->kind == PROM_COUNTER && !(v >= f->values[idx]))
		return;
	f->values[idx] = v;
}

/* A series' value (counter or gauge), or a histogram's count. */
double
prom_get(const struct prom_family *f, u_int idx)
{
	if (idx >= f->nseries)
		fatalx("prom_get: %s: series %u", f->name, idx);
	if (f->kind == PROM_HISTOGRAM)
		return (double)f->count[idx];
	return f->values[idx];
}

/* Record one observation in a histogram. */
void
prom_observe(struct prom_family *f, u_int idx, double v)
{
	u_int	 i;

	prom_check(f, idx, 1);
	if (isnan(v))
		return;
	for (i = 0; i < f->nbounds; i++) {
		if (v <= f->bounds[i]) {
			f->buckets[(size_t)idx * f->nbounds + i]++;
			break;
		}
	}
	f->count[idx]++;
	f->sum[idx] += v;
}

/*
 * Set a histogram's series from counts its owner keeps: counts[i] the
 * observations in bucket i alone (not cumulative), counts[nbounds] those
 * past every bound, and sum their total. Like a counter it only grows: a
 * smaller total count is ignored.
 */
void
prom_load_histogram(struct prom_family *f, u_int idx, const uint64_t *counts,
    u_int n, double sum)
{
	uint64_t	 total = 0;
	u_int		 i;

	prom_check(f, idx, 1);
	if (n != f->nbounds + 1)
		fatalx("prom_load_histogram: %s: %u counts for %u bounds",
		    f->name, n, f->nbounds);
	for (i = 0; i < n; i++)
		total += counts[i];
	if (total < f->count[idx])
		return;
	memcpy(&f->buckets[(size_t)idx * f->nbounds], counts,
	    f->nbounds * sizeof *counts);
	f->count[idx] = total;
	if (isfinite(sum) && sum >= 0)
		f->sum[idx] = sum;
}

/* Print a sample value: the shortest text that reads back the same. */
static void
prom_put_value(struct prom_buf *b, double v)
{
	char	 s[40];
	int	 prec;

	if (isnan(v)) {
		prom_printf(b, "NaN");
		return;
	}
	if (isinf(v)) {
		prom_printf(b, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		prom_printf(b, "%.0f", v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(s, sizeof s, "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (prec == 17)
		snprintf(s, sizeof s, "%.17g", v);
	prom_printf(b, "%s", s);
}

/* Print a label value or help text, escaped as the format wants. */
static void
prom_put_escaped(struct prom_buf *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			prom_printf(b, "\\\\");
		else if (*s == '\n')
			prom_printf(b, "\\n");
		else if (quote && *s == '"')
			prom_printf(b, "\\\"");
		else
			prom_putc(b, *s);
	}
}

/* Print one series' name and labels, with le when given. */
static void
prom_put_series(struct prom_buf *b, const struct prom_family *f,
    const char *suffix, u_int idx, const char *le)
{
	u_int	 i, rest = idx, div, sel[PROM_MAX_LABELS];
	int	 any = 0;

	for (i = f->nlabels; i > 0; i--) {
		div = f->labels[i - 1].nvalues;
		sel[i - 1] = rest % div;
		rest /= div;
	}
	prom_printf(b, "%s%s", f->name, suffix);
	for (i = 0; i < f->nlabels; i++) {
		prom_printf(b, "%s%s=\"", any ? "," : "{", f->labels[i].name);
		prom_put_escaped(b, f->labels[i].values[sel[i]], 1);
		prom_putc(b, '"');
		any = 1;
	}
	if (le != NULL) {
		prom_printf(b, "%sle=\"%s\"", any ? "," : "{", le);
		any = 1;
	}
	if (any)
		prom_putc(b, '}');
	prom_putc(b, ' ');
}

/* Print one histogram series: cumulative buckets, +Inf, sum, count. */
static void
prom_put_histogram(struct prom_buf *b, const struct prom_family *f,
    u_int idx)
{
	char		 les[40];
	uint64_t	 cum = 0;
	u_int		 i;

	for (i = 0; i < f->nbounds; i++) {
		cum += f->buckets[(size_t)idx * f->nbounds + i];
		snprintf(les, sizeof les, "%.15g", f->bounds[i]);
		prom_put_series(b, f, "_bucket", idx, les);
		prom_printf(b, "%llu\n", (unsigned long long)cum);
	}
	prom_put_series(b, f, "_bucket", idx, "+Inf");
	prom_printf(b, "%llu\n", (unsigned long long)f->count[idx]);
	prom_put_series(b, f, "_sum", idx, NULL);
	prom_put_value(b, f->sum[idx]);
	prom_putc(b, '\n');
	prom_put_series(b, f, "_count", idx, NULL);
	prom_printf(b, "%llu\n", (unsigned long long)f->count[idx]);
}

/*
 * The exposition: every family's HELP and TYPE, then its series. The
 * caller frees the text; *len is its length.
 */
char *
prom_render(const struct prom *p, size_t *len)
{
	const struct prom_family	*f;
	struct prom_buf			 b;
	u_int				 i;

	b.size = 4096 + (size_t)p->nseries * 96;
	b.p = xmalloc(b.size);
	b.p[0] = '\0';
	b.len = 0;
	TAILQ_FOREACH(f, &p->families, entry) {
		prom_printf(&b, "# HELP %s ", f->name);
		prom_put_escaped(&b, f->help, 0);
		prom_printf(&b, "\n# TYPE %s %s\n", f->name,
		    prom_kinds[f->kind]);
		for (i = 0; i < f->nseries; i++) {
			if (f->kind == PROM_HISTOGRAM) {
				prom_put_histogram(&b, f, i);
				continue;
			}
			prom_put_series(&b, f, "", i, NULL);
			prom_put_value(&b, f->values[i]);
			prom_putc(&b, '\n');
		}
	}
	*len = b.len;
	return b.p;
}
