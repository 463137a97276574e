/*
 * Unit tests for the HTTP routing: GET and HEAD of /metrics and of each
 * health endpoint, the components each answers for, and the refusals:
 * any other method (405, whatever the path), no path (400), and any path
 * that is not exactly a known one (404), near misses included.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "broker.h"

/* Route path with a method; *health is checked against the route. */
static enum http_route
route(enum http_method method, const char *path,
    const struct http_health **health)
{
	enum http_route	 r;

	r = http_route_find(method, path, health);
	if (r == HTTP_ROUTE_HEALTH) {
		assert_non_null(*health);
		assert_string_equal((*health)->path, path);
	} else
		assert_null(*health);
	return r;
}

/* GET and HEAD reach /metrics and every health endpoint. */
static void
test_known_paths(void **state)
{
	static const char *const healths[] = {
		"/health", "/health/connection-pool", "/health/worker-pool",
		"/health/pty-pool", "/health/resource-limiter",
		"/health/auth", "/health/ready"
	};
	const struct http_health	*h;
	u_int				 i;

	(void)state;
	assert_int_equal(route(HTTP_METHOD_GET, "/metrics", &h),
	    HTTP_ROUTE_METRICS);
	assert_int_equal(route(HTTP_METHOD_HEAD, "/metrics", &h),
	    HTTP_ROUTE_METRICS);
	for (i = 0; i < nitems(healths); i++) {
		assert_int_equal(route(HTTP_METHOD_GET, healths[i], &h),
		    HTTP_ROUTE_HEALTH);
		assert_int_equal(route(HTTP_METHOD_HEAD, healths[i], &h),
		    HTTP_ROUTE_HEALTH);
	}
}

/* Each endpoint answers for its own components; /health for all. */
static void
test_components(void **state)
{
	const struct http_health	*h;

	(void)state;
	route(HTTP_METHOD_GET, "/health", &h);
	assert_true(http_health_has(h, "auth"));
	assert_true(http_health_has(h, "broker"));
	route(HTTP_METHOD_GET, "/health/connection-pool", &h);
	assert_true(http_health_has(h, "connection_pool"));
	assert_true(http_health_has(h, "queue"));
	assert_false(http_health_has(h, "auth"));
	assert_false(http_health_has(h, ""));
	route(HTTP_METHOD_GET, "/health/resource-limiter", &h);
	assert_true(http_health_has(h, "memory"));
	assert_true(http_health_has(h, "descriptors"));
	assert_true(http_health_has(h, "load"));
	assert_false(http_health_has(h, "games"));
	route(HTTP_METHOD_GET, "/health/auth", &h);
	assert_true(http_health_has(h, "auth"));
	assert_false(http_health_has(h, "authx"));
}

/* Other methods are refused before the path is looked at. */
static void
test_methods(void **state)
{
	const struct http_health	*h;

	(void)state;
	assert_int_equal(route(HTTP_METHOD_OTHER, "/metrics", &h),
	    HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(route(HTTP_METHOD_OTHER, "/health", &h),
	    HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(route(HTTP_METHOD_OTHER, NULL, &h),
	    HTTP_ROUTE_BAD_METHOD);
	assert_int_equal(route(HTTP_METHOD_GET, NULL, &h),
	    HTTP_ROUTE_BAD_REQUEST);
	assert_int_equal(route(HTTP_METHOD_HEAD, NULL, &h),
	    HTTP_ROUTE_BAD_REQUEST);
}

/* Only exact paths match: no prefix, suffix, case or slash games. */
static void
test_near_misses(void **state)
{
	static const char *const paths[] = {
		"", "/", "metrics", "/metrics/", "/Metrics", "/metricsx",
		"/metric", "//metrics", "/health/", "/health/ready/",
		"/health/Auth", "/health/../metrics", "/health/auth\n",
		"/health/pty", "/healthz", "/health/connection_pool"
	};
	const struct http_health	*h;
	u_int				 i;

	(void)state;
	for (i = 0; i < nitems(paths); i++) {
		assert_int_equal(route(HTTP_METHOD_GET, paths[i], &h),
		    HTTP_ROUTE_NOT_FOUND);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_paths),
		cmocka_unit_test(test_components),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_near_misses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
