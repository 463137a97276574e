/*
 * dg-broker --alert-rules: a Prometheus alerting-rules file built from
 * [alerts], so that the thresholds live in one place. Each rule reads a
 * series the broker exports with the same judgement --check makes:
 * sessions against high_connection_count, the longest wait in the queue
 * against high_queue_time, each resource's share of its limit against
 * high_resource_usage, the share of failed calls to the auth service
 * against high_error_rate, the auth service's breaker not closed, load
 * shed, and the broker down or a component unhealthy.
 *
 * The scrape job must be called "dungeongate" for the rule on `up`.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"

/* One rule of the file. */
struct alert_rule {
	const char	*name;
	const char	*expr;		/* @@: the threshold */
	const char	*for_;
	const char	*severity;
	const char	*summary;
	const char	*description;
};

/* Print a number with the fewest digits that read back the same. */
static void
alerts_number(char *buf, size_t len, double v)
{
	int	 prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, len, "%.17g", v);
}

/* Print text with every @@ in it replaced by value. */
static void
alerts_put(FILE *f, const char *text, const char *value)
{
	const char	*p;

	while ((p = strstr(text, "@@")) != NULL) {
		fwrite(text, 1, (size_t)(p - text), f);
		fputs(value, f);
		text = p + 2;
	}
	fputs(text, f);
}

/* Print one rule, the threshold in its expression and description. */
static void
alerts_rule(FILE *f, const struct alert_rule *r, const char *threshold)
{
	fprintf(f, "      - alert: %s\n", r->name);
	fprintf(f, "        expr: ");
	alerts_put(f, r->expr, threshold);
	fprintf(f, "\n        for: %s\n", r->for_);
	fprintf(f, "        labels:\n          severity: %s\n", r->severity);
	fprintf(f, "        annotations:\n");
	fprintf(f, "          summary: \"%s\"\n", r->summary);
	fprintf(f, "          description: \"");
	alerts_put(f, r->description, threshold);
	fprintf(f, "\"\n");
}

/* Print the rules file for a configuration's [alerts]. */
void
alerts_print(const struct config *cfg, FILE *f)
{
	static const struct alert_rule	 down = {
		"DungeonGateDown",
		"up{job=\"dungeongate\"} == 0", "1m", "critical",
		"DungeonGate broker {{ $labels.instance }} is down",
		"Prometheus cannot scrape the broker's /metrics; players "
		"cannot log in."
	}, connections = {
		"DungeonGateHighConnectionCount",
		"session_pool_active_connections >= @@", "2m", "warning",
		"{{ $value }} sessions on {{ $labels.instance }}",
		"At or above high_connection_count (@@) for 2 minutes."
	}, queue = {
		"DungeonGateHighQueueTime",
		"session_pool_queue_longest_wait_seconds >= @@", "1m",
		"warning",
		"Players wait {{ $value }}s in line on {{ $labels.instance }}",
		"Someone has waited at least high_queue_time (@@ s) for 1 "
		"minute."
	}, usage = {
		"DungeonGateHighResourceUsage",
		"dungeongate_resource_usage_ratio >= @@", "5m", "warning",
		"{{ $labels.resource }} at "
		"{{ $value | humanizePercentage }} of its limit on "
		"{{ $labels.instance }}",
		"At or above high_resource_usage (@@) for 5 minutes."
	}, auth_errors = {
		"DungeonGateAuthErrorRate",
		"sum without (outcome) (rate(dungeongate_auth_decisions_total"
		"{outcome=~\"fail_.*\"}[5m])) / "
		"rate(dungeongate_auth_request_duration_seconds_count[5m]) >= @@",
		"2m", "warning",
		"{{ $value | humanizePercentage }} of auth calls fail on "
		"{{ $labels.instance }}",
		"Of the calls to the auth service over 5 minutes, a share at or "
		"above high_error_rate (@@) failed (no connection, no answer in "
		"time, a status or body outside the contract), for 2 minutes. "
		"Decisions from a kept verdict, or skipped while the breaker is "
		"open, are no calls and count on neither side."
	}, breaker = {
		"DungeonGateAuthBreakerOpen",
		"max without (state) (dungeongate_auth_breaker_state"
		"{state!=\"closed\"}) == 1", "1m",
		"warning",
		"The auth service's circuit breaker is open on "
		"{{ $labels.instance }}",
		"The breaker has not been closed (open, or half-open for its "
		"probe) for 1 minute: the auth service failed failure_threshold "
		"calls in a row, and decisions follow [auth] on_failure."
	}, shedding = {
		"DungeonGateLoadShedding",
		"dungeongate_load_shedding_active == 1", "2m", "warning",
		"{{ $labels.instance }} sheds load",
		"CPU or memory has been past [load_shedding] cpu_threshold or "
		"memory_threshold for 2 minutes: new sessions below class high "
		"are refused as overloaded."
	}, unhealthy = {
		"DungeonGateUnhealthy",
		"dungeongate_health >= 2", "2m", "critical",
		"{{ $labels.component }} is unhealthy on "
		"{{ $labels.instance }}",
		"dg-broker --check reports the component unhealthy."
	};
	char	 n[64], *d;

	d = config_format_duration(cfg->alerts_high_queue_time);
	fprintf(f, "# Prometheus alerting rules for DungeonGate, built by "
	    "dg-broker --alert-rules\n");
	fprintf(f, "# from [alerts]: high_connection_count = %u, "
	    "high_queue_time = %s,\n", cfg->alerts_high_connection_count, d);
	free(d);
	alerts_number(n, sizeof n, cfg->alerts_high_resource_usage);
	fprintf(f, "# high_resource_usage = %s, ", n);
	alerts_number(n, sizeof n, cfg->alerts_high_error_rate);
	fprintf(f, "high_error_rate = %s.\n# The scrape job must be named "
	    "\"dungeongate\".\n", n);
	fprintf(f, "groups:\n  - name: dungeongate\n    rules:\n");
	alerts_rule(f, &down, "");
	snprintf(n, sizeof n, "%u", cfg->alerts_high_connection_count);
	alerts_rule(f, &connections, n);
	alerts_number(n, sizeof n, (double)cfg->alerts_high_queue_time / 1000);
	alerts_rule(f, &queue, n);
	alerts_number(n, sizeof n, cfg->alerts_high_resource_usage);
	alerts_rule(f, &usage, n);
	alerts_number(n, sizeof n, cfg->alerts_high_error_rate);
	alerts_rule(f, &auth_errors, n);
	alerts_rule(f, &breaker, "");
	alerts_rule(f, &shedding, "");
	alerts_rule(f, &unhealthy, "");
}
