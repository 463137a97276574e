/*
 * The load shedder's arithmetic: CPU utilisation from two /proc/stat
 * snapshots, memory pressure from /proc/meminfo, each smoothed over the
 * last SHED_WINDOW readings, and the decision to shed with a margin so
 * that it does not flap at the threshold. Reading the files is the
 * caller's; the parsers take whatever bytes it got, which may be cut
 * short or hostile, and never read past them. No event loop here.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "broker.h"

/* The fields of /proc/stat's cpu line that make up its total. */
#define SHED_STAT_TOTAL_FIELDS	8	/* user .. steal, not the guests */
#define SHED_STAT_IDLE		3
#define SHED_STAT_IOWAIT	4
#define SHED_STAT_MIN_FIELDS	4
/*
 * How far a mean may be from a threshold and still count as on it: the
 * mean of readings that are all exactly at a threshold may round to just
 * past it, and that must not start (or stop) shedding.
 */
#define SHED_ROUNDING		1e-9

/* Is c a blank between fields? */
static int
shed_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Read an unsigned decimal number at *pp, before end, into *out, and
 * move *pp past it. Returns -1 when there is no digit or it overflows.
 */
static int
shed_parse_number(const char **pp, const char *end, uint64_t *out)
{
	const char	*p = *pp;
	uint64_t	 v = 0;
	u_int		 d;

	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9') {
		d = (u_int)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

/*
 * The first line of /proc/stat, "cpu  user nice system idle iowait irq
 * softirq steal guest guest_nice", with at least the first four and any
 * number after (later kernels may add some: they must still be numbers).
 * The line must end in a newline, so that a buffer cut inside its last
 * number is refused rather than read as a smaller one. The guests are
 * already in user and nice, so the total leaves them out; busy is the
 * total less idle and iowait. Returns 0, or -1 on anything malformed.
 */
int
shed_parse_stat(const char *buf, size_t len, struct shed_cpu *out)
{
	const char	*p, *end;
	uint64_t	 v[SHED_STAT_TOTAL_FIELDS], x, total, idle;
	u_int		 n = 0, i;

	if (buf == NULL)
		return -1;
	end = memchr(buf, '\n', len);
	if (end == NULL)
		return -1;
	if (end - buf < 4 || memcmp(buf, "cpu", 3) != 0 ||
	    !shed_is_blank(buf[3]))
		return -1;
	p = buf + 3;
	for (;;) {
		while (p < end && shed_is_blank(*p))
			p++;
		if (p == end)
			break;
		if (shed_parse_number(&p, end, &x) != 0)
			return -1;
		if (p < end && !shed_is_blank(*p))
			return -1;
		if (n < nitems(v))
			v[n] = x;
		/* Counted only up to what decides anything, so never wraps. */
		if (n <= nitems(v))
			n++;
	}
	if (n < SHED_STAT_MIN_FIELDS)
		return -1;

	total = 0;
	for (i = 0; i < n && i < nitems(v); i++) {
		if (total > UINT64_MAX - v[i])
			return -1;
		total += v[i];
	}
	/* Both are in total, so this neither overflows nor passes it. */
	idle = v[SHED_STAT_IDLE] + (n > SHED_STAT_IOWAIT ? v[SHED_STAT_IOWAIT] :
	    0);
	out->total = total;
	out->busy = total - idle;
	return 0;
}

/*
 * A meminfo line's value after its key: blanks, a number, blanks, "kB",
 * and nothing after but blanks. Returns 0, or -1 when it is not that.
 */
static int
shed_parse_kb(const char *p, const char *end, uint64_t *out)
{
	while (p < end && shed_is_blank(*p))
		p++;
	if (shed_parse_number(&p, end, out) != 0)
		return -1;
	if (p == end || !shed_is_blank(*p))
		return -1;
	while (p < end && shed_is_blank(*p))
		p++;
	if (end - p < 2 || p[0] != 'k' || p[1] != 'B')
		return -1;
	p += 2;
	while (p < end && shed_is_blank(*p))
		p++;
	return p == end ? 0 : -1;
}

/*
 * Memory pressure from /proc/meminfo: 1 - MemAvailable / MemTotal, both
 * found at the start of a line anywhere in the buffer. Each must appear
 * once, on a whole line (one cut short by the end of the buffer may have
 * lost digits). Returns 0, or -1 when either is missing, repeated or
 * malformed, MemTotal is 0, or MemAvailable is more than MemTotal.
 */
int
shed_parse_meminfo(const char *buf, size_t len, double *out)
{
	static const char total_key[] = "MemTotal:";
	static const char avail_key[] = "MemAvailable:";
	const char	*p, *end, *bufend, *nl;
	uint64_t	 total = 0, avail = 0, *v;
	int		 have_total = 0, have_avail = 0, *have;
	size_t		 keylen;

	if (buf == NULL)
		return -1;
	bufend = buf + len;
	for (p = buf; p < bufend; p = (nl != NULL) ? nl + 1 : bufend) {
		nl = memchr(p, '\n', (size_t)(bufend - p));
		end = (nl != NULL) ? nl : bufend;
		if ((size_t)(end - p) >= sizeof total_key - 1 &&
		    memcmp(p, total_key, sizeof total_key - 1) == 0) {
			keylen = sizeof total_key - 1;
			v = &total;
			have = &have_total;
		} else if ((size_t)(end - p) >= sizeof avail_key - 1 &&
		    memcmp(p, avail_key, sizeof avail_key - 1) == 0) {
			keylen = sizeof avail_key - 1;
			v = &avail;
			have = &have_avail;
		} else
			continue;
		if (*have || nl == NULL)
			return -1;
		if (shed_parse_kb(p + keylen, end, v) != 0)
			return -1;
		*have = 1;
	}
	if (!have_total || !have_avail || total == 0 || avail > total)
		return -1;
	*out = 1.0 - (double)avail / (double)total;
	return 0;
}

/* Add a reading to a series, the oldest going when it is full. */
static void
shed_series_add(struct shed_series *ss, double v)
{
	ss->v[ss->next] = v;
	ss->next = (ss->next + 1) % SHED_WINDOW;
	if (ss->n < SHED_WINDOW)
		ss->n++;
}

/* The plain mean of a series' readings, 0 when it has none. */
static double
shed_series_mean(const struct shed_series *ss)
{
	double	 sum = 0.0;
	u_int	 i;

	if (ss->n == 0)
		return 0.0;
	for (i = 0; i < ss->n; i++)
		sum += ss->v[i];
	return sum / (double)ss->n;
}

/*
 * Start shedding when either smoothed value is above its threshold; stop
 * only when both are below it less SHED_MARGIN. A series with no
 * readings yet presses for nothing.
 */
static void
shed_decide(struct shedder *s)
{
	int	 cpu_over, mem_over, cpu_clear, mem_clear;
	double	 cpu, mem;

	if (!s->enabled) {
		s->shedding = 0;
		return;
	}
	cpu = shed_series_mean(&s->cpu);
	mem = shed_series_mean(&s->mem);
	cpu_over = s->cpu.n > 0 && cpu > s->cpu_threshold + SHED_ROUNDING;
	mem_over = s->mem.n > 0 && mem > s->mem_threshold + SHED_ROUNDING;
	cpu_clear = s->cpu.n == 0 ||
	    cpu < s->cpu_threshold - SHED_MARGIN - SHED_ROUNDING;
	mem_clear = s->mem.n == 0 ||
	    mem < s->mem_threshold - SHED_MARGIN - SHED_ROUNDING;
	if (!s->shedding && (cpu_over || mem_over)) {
		s->shedding = 1;
		s->started++;
	} else if (s->shedding && cpu_clear && mem_clear)
		s->shedding = 0;
}

/* A shedder with no readings, not shedding; thresholds are fractions. */
void
shed_init(struct shedder *s, int enabled, double cpu_threshold,
    double mem_threshold)
{
	memset(s, 0, sizeof *s);
	s->enabled = enabled;
	s->cpu_threshold = cpu_threshold;
	s->mem_threshold = mem_threshold;
}

/*
 * New settings on a reload: the readings stay, and the next sample
 * decides with the new thresholds. Disabling stops shedding at once.
 */
void
shed_configure(struct shedder *s, int enabled, double cpu_threshold,
    double mem_threshold)
{
	s->enabled = enabled;
	s->cpu_threshold = cpu_threshold;
	s->mem_threshold = mem_threshold;
	if (!enabled)
		s->shedding = 0;
}

/*
 * One sample: the CPU counters (when cpu_ok) and the memory pressure
 * (when mem_ok; a value outside 0..1 is no reading). The utilisation is
 * the busy delta over the total delta since the last counters; the first
 * counters give no reading, nor do counters that went backwards or did
 * not move (they become the base for the next). A series with no new
 * reading stays as it was. Returns 1 when shedding started or stopped.
 */
int
shed_sample(struct shedder *s, const struct shed_cpu *cpu, int cpu_ok,
    double mem, int mem_ok)
{
	uint64_t	 dbusy, dtotal;
	int		 was = s->shedding;

	if (cpu_ok && cpu != NULL) {
		if (s->have_last && cpu->total > s->last.total &&
		    cpu->busy >= s->last.busy) {
			dtotal = cpu->total - s->last.total;
			dbusy = cpu->busy - s->last.busy;
			shed_series_add(&s->cpu, dbusy >= dtotal ? 1.0 :
			    (double)dbusy / (double)dtotal);
		}
		s->last = *cpu;
		s->have_last = 1;
	}
	/* Written so that NaN fails it too. */
	if (mem_ok && mem >= 0.0 && mem <= 1.0)
		shed_series_add(&s->mem, mem);
	shed_decide(s);
	return s->shedding != was;
}

/* The smoothed CPU utilisation, 0..1 (0 before any reading). */
double
shed_cpu(const struct shedder *s)
{
	return shed_series_mean(&s->cpu);
}

/* The smoothed memory pressure, 0..1 (0 before any reading). */
double
shed_memory(const struct shedder *s)
{
	return shed_series_mean(&s->mem);
}

/* Are new sessions of class normal and low being refused? */
int
shed_active(const struct shedder *s)
{
	return s->enabled && s->shedding;
}
