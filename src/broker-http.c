/*
 * HTTP on [http] listen (libevent's evhttp): /metrics for Prometheus,
 * /health and one endpoint per component for load balancers and people.
 * Every answer comes from what the broker already holds, so nothing here
 * waits on the disk, a worker or the network; only a health request
 * that comes before the first sample of a new configuration is answered
 * on a timer, a moment later, like --check.
 *
 * What a peer can cost is bounded: GET and HEAD only, no body, a request
 * line and headers of HTTP_MAX_HEADERS bytes together,
 * HTTP_MAX_CONNECTIONS connections at once, and HTTP_DEADLINE_MS from a
 * connection's start or its last request to its end (a client that
 * sends a byte now and then is cut off as surely as one that sends
 * nothing). Nothing it answers names a user.
 *
 * evhttp has no hook for a connection's end, so each connection's
 * bufferevent is a pass-through filter over the socket's: freeing it
 * tells us, and its deadline timer goes with it. A deadline shuts the
 * socket down, and evhttp then closes the connection as it would any
 * that its peer closed. (The socket stays open until the filter is
 * freed, so the descriptor a deadline shuts down is always its own.)
 * Through a filter, evhttp would free a connection it closes after a
 * reply before the reply has left, so connections are kept alive after
 * each reply; the client closes them, or the deadline does. And a filter
 * passes on what evhttp wrote while writing was off only when told, so
 * whatever evhttp writes (our replies and its own errors) is flushed on
 * the next turn of the loop. evhttp frees a bufferevent by clearing its
 * callbacks first and letting the loop finish it later; a flush or a
 * deadline that comes in between leaves it alone.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netdb.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "broker.h"

/* Bytes of request line and headers together. */
#define HTTP_MAX_HEADERS	8192
/* Connections at once; one past it is closed at once. */
#define HTTP_MAX_CONNECTIONS	64
/* Everything a connection does, from accept to the last byte out. */
#define HTTP_DEADLINE_MS	5000

struct http_conn;

struct http {
	struct broker	*broker;
	struct evhttp	*server;
	u_int		 nconns;
	TAILQ_HEAD(, http_conn) conns;
	uint64_t	 refused;	/* connections past the bound */
};

/* One connection: its filter bufferevent and its deadline. */
struct http_conn {
	struct http	*http;
	struct bufferevent *bev;
	struct event	*deadline;
	struct event	*flush;
	TAILQ_ENTRY(http_conn) entry;
};

/* A health request waiting for the sample of a new configuration. */
struct http_waiting {
	struct evhttp_request	*req;
	const struct http_health *route;
};

/* The connection's filter has been freed: forget it. */
static void
http_conn_free_cb(void *arg)
{
	struct http_conn	*hc = arg;

	if (hc->http != NULL) {
		TAILQ_REMOVE(&hc->http->conns, hc, entry);
		hc->http->nconns--;
	}
	event_free(hc->deadline);
	event_free(hc->flush);
	free(hc);
}

/* Is evhttp done with the connection's bufferevent (freeing it)? */
static int
http_conn_gone(struct http_conn *hc)
{
	bufferevent_event_cb	 eventcb = NULL;

	bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, NULL);
	return eventcb == NULL;
}

/* Pass what evhttp has written on to the socket. */
static void
http_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_conn	*hc = arg;

	if (!http_conn_gone(hc))
		bufferevent_flush(hc->bev, EV_WRITE, BEV_NORMAL);
}

/* evhttp has written to the connection: flush it on the next turn. */
static void
http_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*hc = arg;

	if (info->n_added > 0)
		event_active(hc->flush, EV_TIMEOUT, 0);
}

/* The connection has had its time: shut its socket down. */
static void
http_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_conn	*hc = arg;
	evutil_socket_t		 s;

	if (!http_conn_gone(hc) && (s = bufferevent_getfd(hc->bev)) != -1)
		shutdown(s, SHUT_RDWR);
}

/*
 * A new connection: its bufferevent, a filter over the socket's, and
 * its deadline. Past HTTP_MAX_CONNECTIONS the deadline is now.
 */
static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	struct http		*http = arg;
	struct http_conn	*hc;
	struct bufferevent	*under;
	struct timeval		 tv = util_timeval_ms(HTTP_DEADLINE_MS);

	hc = xcalloc(1, sizeof *hc);
	hc->http = http;
	under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (under == NULL)
		fatalx("bufferevent_socket_new failed");
	hc->bev = bufferevent_filter_new(under, NULL, NULL,
	    BEV_OPT_CLOSE_ON_FREE, http_conn_free_cb, hc);
	if (hc->bev == NULL)
		fatalx("bufferevent_filter_new failed");
	hc->deadline = evtimer_new(base, http_deadline_cb, hc);
	hc->flush = event_new(base, -1, 0, http_flush_cb, hc);
	evbuffer_add_cb(bufferevent_get_output(hc->bev), http_output_cb, hc);
	if (http->nconns >= HTTP_MAX_CONNECTIONS) {
		http->refused++;
		tv = util_timeval_ms(0);
	}
	evtimer_add(hc->deadline, &tv);
	TAILQ_INSERT_TAIL(&http->conns, hc, entry);
	http->nconns++;
	return hc->bev;
}

/* Send a reply with a body; one request per connection. */
static void
http_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*buf;

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if ((buf = evbuffer_new()) == NULL)
		fatalx("evbuffer_new failed");
	evbuffer_add(buf, body, len);
	evhttp_send_reply(req, code, reason, buf);
	evbuffer_free(buf);
}

/* A short plain-text reply. */
static void
http_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	http_reply(req, code, reason, "text/plain; charset=utf-8", text,
	    strlen(text));
}

/* A JSON reply; frees the object. */
static void
http_reply_json(struct evhttp_request *req, int code, const char *reason,
    json_t *o)
{
	char	*text;

	if ((text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		fatalx("json_dumps failed");
	json_decref(o);
	http_reply(req, code, reason, "application/json", text, strlen(text));
	free(text);
}

/*
 * Answer a health endpoint: {"status", "details": {component: {status,
 * detail}}}, 200 for healthy and degraded, 503 for unhealthy.
 */
static void
http_health_answer(struct broker *b, struct evhttp_request *req,
    const struct http_health *route)
{
	struct health_report	 r;
	json_t			*details;
	enum health		 worst = HEALTHY, h;
	const char		*why;
	u_int			 i;

	details = json_object();
	if (strcmp(route->path, "/health/ready") == 0) {
		worst = health_ready(b, &why);
		json_object_set_new(details, "ready", json_pack("{s:s, s:s}",
		    "status", health_name(worst), "detail", why));
	} else {
		health_build(b, &r);
		for (i = 0; i < r.n; i++) {
			if (!http_health_has(route, r.items[i].name))
				continue;
			h = r.items[i].status;
			if (h > worst)
				worst = h;
			json_object_set_new(details, r.items[i].name,
			    json_pack("{s:s, s:s}", "status", health_name(h),
			    "detail", r.items[i].detail));
		}
		health_report_free(&r);
	}
	http_reply_json(req, worst == UNHEALTHY ? 503 : 200, worst ==
	    UNHEALTHY ? "Service Unavailable" : "OK", json_pack("{s:s, s:o}",
	    "status", health_name(worst), "details", details));
}

/* The sample a health request waited for is in (or late): answer. */
static void
http_health_waited(struct broker *b, void *arg)
{
	struct http_waiting	*hw = arg;

	http_health_answer(b, hw->req, hw->route);
	free(hw);
}

/* Answer /metrics: the exposition, read now. */
static void
http_metrics(struct broker *b, struct evhttp_request *req)
{
	char	*text;
	size_t	 len;

	text = metrics_render(b, &len);
	http_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
	free(text);
}

/*
 * A request has come in on a connection: its deadline starts again, and
 * the connection stays open after the reply (see above).
 */
static void
http_request_started(struct http *http, struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct evkeyvalq		*in;
	struct bufferevent		*bev;
	struct http_conn		*hc;
	struct timeval			 tv = util_timeval_ms(HTTP_DEADLINE_MS);

	in = evhttp_request_get_input_headers(req);
	while (evhttp_remove_header(in, "Connection") == 0)
		;
	evhttp_add_header(in, "Connection", "keep-alive");
	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return;
	bev = evhttp_connection_get_bufferevent(evcon);
	TAILQ_FOREACH(hc, &http->conns, entry) {
		if (hc->bev == bev) {
			evtimer_add(hc->deadline, &tv);
			break;
		}
	}
}

/* Every request: GET or HEAD of a known path, or a refusal. */
static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	struct http		 *http = arg;
	struct broker		 *b = http->broker;
	struct http_waiting	 *hw;
	const struct http_health *health;
	enum http_method	  method;

	http_request_started(http, req);
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		method = HTTP_METHOD_GET;
		break;
	case EVHTTP_REQ_HEAD:
		method = HTTP_METHOD_HEAD;
		break;
	default:
		method = HTTP_METHOD_OTHER;
		break;
	}
	switch (http_route_find(method, evhttp_uri_get_path(
	    evhttp_request_get_evhttp_uri(req)), &health)) {
	case HTTP_ROUTE_BAD_METHOD:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_reply_text(req, 405, "Method Not Allowed",
		    "only GET and HEAD\n");
		return;
	case HTTP_ROUTE_BAD_REQUEST:
		http_reply_text(req, 400, "Bad Request", "bad request\n");
		return;
	case HTTP_ROUTE_METRICS:
		http_metrics(b, req);
		return;
	case HTTP_ROUTE_HEALTH:
		if (health_fresh(b)) {
			http_health_answer(b, req, health);
			return;
		}
		hw = xcalloc(1, sizeof *hw);
		hw->req = req;
		hw->route = health;
		health_wait(b, http_health_waited, hw);
		return;
	case HTTP_ROUTE_NOT_FOUND:
		break;
	}
	http_reply_text(req, 404, "Not Found", "not found: try /metrics or "
	    "/health\n");
}

/*
 * Bind and listen on [http] listen before the broker daemonizes, so that
 * an address in use stops it with a clear error. Returns the socket, or
 * -1 when HTTP is off.
 */
int
http_bind(const struct config *cfg)
{
	struct addrinfo	 hints, *ai;
	char		 addr[64], port[8];
	u_int		 n;
	int		 fd, on = 1, rc;

	if (*cfg->http_listen == '\0')
		return -1;
	if (config_parse_listen(cfg->http_listen, addr, sizeof addr, &n) != 0)
		fatalx("validated listen address does not parse: %s",
		    cfg->http_listen);
	snprintf(port, sizeof port, "%u", n);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(addr, port, &hints, &ai)) != 0)
		fatalx("cannot listen on %s for HTTP: %s", cfg->http_listen,
		    gai_strerror(rc));
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		fatal("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
		fatal("cannot listen on %s for HTTP: bind", cfg->http_listen);
	if (listen(fd, 128) != 0)
		fatal("cannot listen on %s for HTTP: listen", cfg->http_listen);
	freeaddrinfo(ai);
	return fd;
}

/* Serve HTTP on the socket http_bind made (-1: HTTP is off). */
void
http_start(struct broker *b, int fd)
{
	struct http	*http;

	if (fd == -1)
		return;
	http = xcalloc(1, sizeof *http);
	http->broker = b;
	TAILQ_INIT(&http->conns);
	if ((http->server = evhttp_new(b->base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_max_headers_size(http->server, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http->server, 0);
	/*
	 * No evhttp_set_timeout: libevent 2.1's timeouts on a filter
	 * bufferevent free it twice. The connection's deadline does it.
	 */
	/* Other methods reach the callback only to be refused with 405. */
	evhttp_set_allowed_methods(http->server, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(http->server, http_bev_cb, http);
	evhttp_set_gencb(http->server, http_request_cb, http);
	if (evhttp_accept_socket(http->server, fd) != 0)
		fatalx("evhttp_accept_socket failed");
	b->http = http;
	log_info("http listening", "listen=%s", b->cfg->http_listen);
}

/*
 * Stop listening and close every HTTP connection. Health requests that
 * wait must have been answered first (health_free).
 */
void
http_stop(struct broker *b)
{
	struct http		*http = b->http;
	struct http_conn	*hc;

	if (http == NULL)
		return;
	/* Filters are freed later, by the event base: let them go. */
	while ((hc = TAILQ_FIRST(&http->conns)) != NULL) {
		TAILQ_REMOVE(&http->conns, hc, entry);
		hc->http = NULL;
	}
	evhttp_free(http->server);
	free(http);
	b->http = NULL;
}
