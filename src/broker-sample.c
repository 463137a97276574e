/*
 * The resource sampler: once a second a worker reads what the broker
 * needs from /proc (the kernel's PTYs in use and their limit, the
 * broker's own open descriptors), and decisions, --check and --status
 * answer from the last sample. Nothing on the event loop reads /proc.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "broker.h"

/* One sample being taken on a worker. */
struct sample_job {
	struct broker	*broker;
	struct sample	 s;
};

/* Read one unsigned number from a /proc file; 0 or -1. */
static int
sample_read_uint(const char *path, u_int *out)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	ok = fscanf(f, "%u", out) == 1;
	fclose(f);
	return ok ? 0 : -1;
}

/* Count the broker's open descriptors. */
static u_int
sample_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	u_int		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* less the one opendir holds */
}

/* Take a sample (on a worker, or before the loop starts). */
static void
sample_take(struct sample *s)
{
	memset(s, 0, sizeof *s);
	s->kernel_ptys =
	    sample_read_uint("/proc/sys/kernel/pty/nr", &s->pty_nr) == 0 &&
	    sample_read_uint("/proc/sys/kernel/pty/max", &s->pty_max) == 0;
	s->open_fds = sample_open_fds();
	s->at = util_now_ms();
}

/* On a worker. */
static void
sample_run(void *arg)
{
	struct sample_job	*j = arg;

	sample_take(&j->s);
}

/* The worker let go of a sample nobody waits for. */
static void
sample_release(void *arg)
{
	struct sample_job	*j = arg;

	j->broker->sampling = 0;
	free(j);
}

/* Back on the loop: the sample becomes the broker's. */
static void
sample_done(void *arg, int timed_out)
{
	struct sample_job	*j = arg;

	if (timed_out)
		return;		/* released when the worker lets go */
	j->broker->sample = j->s;
	sample_release(j);
}

/* Once a second: ask a worker for a sample, unless one is under way. */
static void
sample_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct broker		*b = arg;
	struct sample_job	*j;

	if (b->sampling)
		return;
	j = xcalloc(1, sizeof *j);
	j->broker = b;
	if (workers_submit(b->workers, sample_run, sample_done,
	    sample_release, j) != 0) {
		free(j);
		return;		/* the workers are full: keep the last one */
	}
	b->sampling = 1;
	b->leases.since_sample = 0;
}

/* Take a first sample now and one every BROKER_SAMPLE_MS on a worker. */
void
sample_start(struct broker *b)
{
	struct timeval	 tv = util_timeval_ms(BROKER_SAMPLE_MS);

	sample_take(&b->sample);
	b->sample_ev = event_new(b->base, -1, EV_PERSIST, sample_tick_cb, b);
	event_add(b->sample_ev, &tv);
}

/* Stop sampling. */
void
sample_stop(struct broker *b)
{
	if (b->sample_ev != NULL) {
		event_free(b->sample_ev);
		b->sample_ev = NULL;
	}
}

/*
 * Kernel PTYs in use (as sampled, plus the games granted since) and
 * their limit. Returns 0, or -1 when the kernel does not say.
 */
int
sample_pty_room(const struct broker *b, u_int *nr, u_int *max)
{
	if (!b->sample.kernel_ptys)
		return -1;
	*nr = b->sample.pty_nr + b->leases.since_sample;
	*max = b->sample.pty_max;
	return 0;
}
