/*
 * Which answer an HTTP request gets, from its method and the path of its
 * URI (libevent has parsed the request): /metrics, one of the health
 * endpoints, or a refusal. No event loop here, so that the routing can be
 * tested and fuzzed alone; broker-http.c sends the answers.
 */
#include "config.h"

#include <string.h>

#include "broker.h"

static const struct http_health http_healths[] = {
	{ "/health", { NULL } },
	{ "/health/connection-pool", { "connection_pool", "queue", NULL } },
	{ "/health/worker-pool", { "worker_pool", NULL } },
	{ "/health/pty-pool", { "pty_pool", "games", NULL } },
	{ "/health/resource-limiter", { "memory", "descriptors", "load",
	    NULL } },
	{ "/health/auth", { "auth", NULL } },
	{ "/health/ready", { NULL } },
};

/*
 * Route a request: GET or HEAD of a known path, or a refusal. path is
 * NULL when the URI has none. For HTTP_ROUTE_HEALTH, *health is the
 * endpoint; otherwise it is NULL.
 */
enum http_route
http_route_find(enum http_method method, const char *path,
    const struct http_health **health)
{
	u_int	 i;

	*health = NULL;
	if (method != HTTP_METHOD_GET && method != HTTP_METHOD_HEAD)
		return HTTP_ROUTE_BAD_METHOD;
	if (path == NULL)
		return HTTP_ROUTE_BAD_REQUEST;
	if (strcmp(path, "/metrics") == 0)
		return HTTP_ROUTE_METRICS;
	for (i = 0; i < nitems(http_healths); i++) {
		if (strcmp(path, http_healths[i].path) == 0) {
			*health = &http_healths[i];
			return HTTP_ROUTE_HEALTH;
		}
	}
	return HTTP_ROUTE_NOT_FOUND;
}

/* Is a component one a health endpoint answers for? */
int
http_health_has(const struct http_health *health, const char *name)
{
	u_int	 i;

	if (health->components[0] == NULL)
		return 1;
	for (i = 0; i < nitems(health->components) &&
	    health->components[i] != NULL; i++) {
		if (strcmp(health->components[i], name) == 0)
			return 1;
	}
	return 0;
}
