/*
 * Fuzz the HTTP routing: a request line's method and URI, parsed by
 * libevent as evhttp parses a request's, then routed by our code. Only
 * GET and HEAD of a known path get past the refusals, and a route is
 * exactly the path asked for.
 *
 * The input is "METHOD URI", split at the first space; the rest of the
 * URI, after a NUL, is a component name for the health endpoint found.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <event2/http.h>

#include "broker.h"
#include "fuzz.h"

/* The method as the broker sees it: what evhttp made of its name. */
static enum http_method
fuzz_http_method(const char *name)
{
	if (strcmp(name, "GET") == 0)
		return HTTP_METHOD_GET;
	if (strcmp(name, "HEAD") == 0)
		return HTTP_METHOD_HEAD;
	return HTTP_METHOD_OTHER;
}

/* Does the endpoint answer for the component: all, or it is named? */
static int
fuzz_http_answers(const struct http_health *health, const char *component)
{
	u_int	 i;

	if (health->components[0] == NULL)
		return 1;
	for (i = 0; i < nitems(health->components); i++) {
		if (health->components[i] == NULL)
			break;
		if (strcmp(health->components[i], component) == 0)
			return 1;
	}
	return 0;
}

/* One request's method and URI. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct http_health	*health;
	struct evhttp_uri		*uri;
	enum http_method		 method;
	enum http_route			 route;
	const char			*path, *component;
	char				*text, *sp;

	/* Text with a NUL after it, and one more to end the component. */
	text = xmalloc(size + 2);
	memcpy(text, data, size);
	text[size] = '\0';
	text[size + 1] = '\0';
	component = text + strlen(text) + 1;
	if ((sp = strchr(text, ' ')) == NULL) {
		free(text);
		return 0;
	}
	*sp = '\0';
	method = fuzz_http_method(text);

	uri = evhttp_uri_parse_with_flags(sp + 1, EVHTTP_URI_NONCONFORMANT);
	if (uri == NULL) {
		/* evhttp answers 400 itself; the callback never sees it. */
		free(text);
		return 0;
	}
	path = evhttp_uri_get_path(uri);
	route = http_route_find(method, path, &health);
	FUZZ_CHECK((route == HTTP_ROUTE_HEALTH) == (health != NULL));
	switch (route) {
	case HTTP_ROUTE_BAD_METHOD:
		FUZZ_CHECK(method == HTTP_METHOD_OTHER);
		break;
	case HTTP_ROUTE_BAD_REQUEST:
		FUZZ_CHECK(method != HTTP_METHOD_OTHER && path == NULL);
		break;
	case HTTP_ROUTE_METRICS:
		FUZZ_CHECK(method != HTTP_METHOD_OTHER);
		FUZZ_CHECK(strcmp(path, "/metrics") == 0);
		break;
	case HTTP_ROUTE_HEALTH:
		FUZZ_CHECK(method != HTTP_METHOD_OTHER);
		FUZZ_CHECK(strcmp(path, health->path) == 0);
		FUZZ_CHECK(strncmp(path, "/health", 7) == 0);
		FUZZ_CHECK(http_health_has(health, component) ==
		    fuzz_http_answers(health, component));
		break;
	case HTTP_ROUTE_NOT_FOUND:
		FUZZ_CHECK(method != HTTP_METHOD_OTHER && path != NULL);
		FUZZ_CHECK(strcmp(path, "/metrics") != 0);
		FUZZ_CHECK(strcmp(path, "/health") != 0);
		break;
	default:
		FUZZ_CHECK(0);
	}
	evhttp_uri_free(uri);
	free(text);
	return 0;
}
