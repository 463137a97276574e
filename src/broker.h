/*
 * dg-broker: declarations shared by the broker's event-loop files.
 */
#ifndef BROKER_H
#define BROKER_H

#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "dungeongate.h"
#include "proto.h"

/* How long a refused session is asked to wait before trying again. */
#define BROKER_RETRY_AFTER	30
/* Grace beyond idle_timeout before the broker revokes a silent ticket. */
#define BROKER_EXPIRY_GRACE_MS	(60 * 1000)
/* Most bytes queued to a peer that does not read before it is dropped. */
#define BROKER_MAX_OUTPUT	(4 * 1024 * 1024)
/* Time a peer has to send its hello, and to take a closing message. */
#define BROKER_HELLO_TIMEOUT	10
#define BROKER_CLOSE_TIMEOUT	5
/*
 * Descriptors kept back from the budget for the broker's own use (the
 * listener, the event loop, worker pipes, lookups reading NSS files).
 */
#define BROKER_FD_RESERVE	32
/* Connections one uid may hold without a ticket (connecting or admin). */
#define BROKER_MAX_PENDING_PER_UID 8
/* How long accepting pauses when the process is out of descriptors. */
#define BROKER_ACCEPT_PAUSE	1
/* Limits every game gets, whatever the tier. */
#define BROKER_GAME_NOFILE	1024
/* Games are refused while fewer kernel PTYs than this are left. */
#define BROKER_PTY_RESERVE	16
/* How often the broker forgets users it no longer needs (seconds). */
#define BROKER_TICK		60
/* How often queued sessions hear their place and estimate again. */
#define BROKER_QUEUE_TICK	1

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct broker;

enum client_state {
	CLIENT_NEW,		/* waiting for hello */
	CLIENT_QUEUED,		/* waiting for a slot */
	CLIENT_SESSION,		/* holds a ticket and a slot */
	CLIENT_ADMIN,		/* an admin tool */
	CLIENT_CLOSING		/* flushing a last message */
};

/* What a session is doing, for the resource tracker. */
enum activity {
	ACT_CONNECTING,
	ACT_QUEUED,
	ACT_MENU,
	ACT_PLAYING,
	ACT_IDLE,
	ACT_COUNT
};
#define ACTIVITY_HISTORY	16

/* Refusals and enforcement actions, counted by type. */
enum violation {
	V_USER_CONNECTIONS,
	V_USER_PTYS,
	V_USER_MEMORY,
	V_GAME_BUSY,
	V_PTYS_FULL,
	V_PTYS_EXHAUSTED,
	V_MEMORY_FULL,
	V_QUEUE_FULL,
	V_QUEUE_TIMEOUT,
	V_FD_BUDGET,
	V_PENDING,
	V_BANDWIDTH,
	V_CPU,
	V_COUNT
};

struct client {
	struct broker	*broker;
	uint64_t	 id;		/* never reused */
	int		 fd;
	struct bufferevent *bev;
	enum client_state state;
	int		 dead;		/* dropped; freed next loop turn */

	pid_t		 pid;		/* from SO_PEERCRED */
	uid_t		 uid;
	gid_t		 gid;
	struct user	*u;		/* the user's record, referenced */

	int		 looked_up;	/* policy answered */
	char		*user;		/* NULL: no such uid, or unusable */
	int		 unusable;
	char		*home;
	int		 is_admin;
	json_t		*hello;		/* arrived before the lookup */
	int		 busy;		/* a request is with the workers */

	enum quota_class class;
	u_int		 queue_pos;	/* last place in line sent */
	int		 queue_eta;	/* last estimate sent */

	char		 ticket[ID_LEN];
	int		 holds_slot;
	int64_t		 since;		/* wall ms when connected */
	int64_t		 last_input;	/* monotonic ms */
	struct event	*expiry;
	char		*remote;
	char		*term;
	u_int		 cols;
	u_int		 rows;

	enum activity	 activity;
	struct {
		enum activity	 activity;
		int64_t		 at;	/* wall ms */
	}		 history[ACTIVITY_HISTORY];
	u_int		 nhistory;
	uint64_t	 bytes_in;	/* as the session reports them */
	uint64_t	 bytes_out;
	uint64_t	 bandwidth;	/* share sent, bytes/s */
	int64_t		 last_report;	/* monotonic ms */
	char		*cpu_mechanism;

	struct lease	*lease;
	int64_t		 game_since;	/* wall ms when the game started */

	TAILQ_ENTRY(client) entry;
};
TAILQ_HEAD(clients, client);

struct broker {
	struct event_base *base;
	struct config	*cfg;
	char		*config_path;
	int		 foreground;

	int		 listen_fd;
	struct event	*listen_ev;
	struct event	*accept_pause;
	u_int		 max_clients;	/* from the descriptor budget */
	struct event	*sig_term;
	struct event	*sig_int;
	struct event	*sig_hup;
	int		 reloading;
	int		 stopping;
	int		 draining;
	int64_t		 drain_end;	/* monotonic ms */
	struct event	*drain_ev;
	struct event	*tick;		/* housekeeping */

	struct clients	 clients;
	uint64_t	 next_id;
	u_int		 nclients;

	struct pool	 pool;
	struct queue	 queue;
	struct event	*queue_timer;	/* the earliest deadline */
	struct event	*queue_tick;	/* refreshes estimates */
	struct users	 users;
	struct leases	 leases;
	uint64_t	 memory;	/* granted to live games */
	struct workers	*workers;

	int64_t		 started;	/* wall ms */
	uint64_t	 bad_frames;
	uint64_t	 violations[V_COUNT];
};

/* broker.c */
int		 broker_main(struct config *, const char *, int);
void		 broker_set_budget(struct broker *);
void		 broker_reload(struct broker *, struct client *);
void		 broker_drain(struct broker *, struct client *);
void		 broker_drain_check(struct broker *);

/* broker-client.c */
void		 client_accept(struct broker *, int);
void		 client_refuse_fd(int, const char *);
struct client	*client_find(struct broker *, uint64_t);
void		 client_send(struct client *, json_t *);
void		 client_close(struct client *, const char *, const char *,
		     const char *);
void		 client_drop(struct client *);
void		 client_looked_up(struct client *);
void		 client_set_activity(struct client *, enum activity);
void		 client_schedule_expiry(struct client *);
int64_t		 client_expiry_after(struct broker *);
const char	*client_activity_name(enum activity);

/* broker-lookup.c */
int		 lookup_start(struct client *);

/* broker-admit.c */
void		 admit_hello(struct client *, json_t *);
void		 admit_release(struct client *);
void		 admit_from_queue(struct broker *);
void		 admit_play(struct client *, json_t *);
void		 admit_game_end(struct client *, json_t *);
void		 admit_keepalive(struct client *, json_t *);
void		 admit_push_shares(struct broker *);
void		 admit_violation(struct broker *, enum violation);
const char	*admit_violation_name(enum violation);
void		 admit_queue_init(struct broker *);
void		 admit_queue_free(struct broker *);
int		 admit_pty_room(struct broker *, u_int *, u_int *);

/* broker-admin.c */
void		 admin_check(struct client *);
void		 admin_status(struct client *);
json_t		*admin_status_json(struct broker *);

/* broker-worker.c */
struct workers	*workers_create(struct event_base *, u_int, u_int, uint64_t);
void		 workers_configure(struct workers *, u_int, u_int, uint64_t);
int		 workers_submit(struct workers *, void (*)(void *),
		     void (*)(void *, int), void (*)(void *), void *);
json_t		*workers_status(struct workers *);
int		 workers_health(struct workers *, const char **);
u_int		 workers_shutdown(struct workers *, uint64_t);
void		 workers_free(struct workers *);

#endif
