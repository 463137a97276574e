#!/bin/bash
# The auth service and its circuit breaker as /metrics and /health/auth
# show them, with a real auth service, broker and sshd: calls counted by
# outcome and timed in the histogram, kept verdicts counted apart; the
# service failing opens the breaker (the state series says open, the
# transition is counted, /health/auth is degraded, decisions are
# skipped); the service back, the breaker goes half-open and its probe
# closes it, /health/auth healthy again. Every scrape passes `promtool
# check metrics` and promcheck.py; the figures agree with --status.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init authmetrics
. "$DG_SRCDIR/tests/e2e/authlib.sh"
command -v promtool >/dev/null || e2e_die "missing promtool (package prometheus)"
e2e_http_port
authd_start
# high_error_rate well above what the test's failures make: /health/auth
# follows the breaker alone.
e2e_config "[auth]
url = $AUTHD_URL
timeout = 3s
on_failure = cached
[circuit_breaker]
failure_threshold = 2
recovery_timeout = 10s
[alerts]
high_error_rate = 0.9"
e2e_broker_start
e2e_user 1	# allowed in vip, verdict kept
e2e_user 2	# the slow call
e2e_user 3	# no verdict kept (forgotten before each hello)
e2e_sshd_start

forget() { "$BROKER" --forget "$1" -f "$CONF" >/dev/null || e2e_fail "--forget $1"; }
decisions() { metric "dungeongate_auth_decisions_total{outcome=\"$1\"}"; }
calls() { metric dungeongate_auth_request_duration_seconds_count; }
breaker_is() {
	local s want=$1
	for s in closed open half_open; do
		metric_is "dungeongate_auth_breaker_state{state=\"$s\"}" \
		    "$([ "$s" = "$want" ] && echo 1 || echo 0)" || return 1
	done
}
transitions() { metric "dungeongate_auth_breaker_transitions_total{to=\"$1\"}"; }
# The metrics and --status count from the same tables.
agrees() {
	local st o
	st=$(e2e_status)
	[ "$(calls)" = "$(jq -r .auth.calls_total <<<"$st")" ] || return 1
	[ "$(metric dungeongate_auth_cached_decisions_total)" = \
	    "$(jq -r .auth.cached_total <<<"$st")" ] || return 1
	for o in allow deny fail_connect fail_timeout fail_status fail_body skipped; do
		[ "$(decisions "$o")" = "$(jq -r ".auth.outcomes_total.$o" <<<"$st")" ] ||
		    return 1
	done
}

# --- No call yet: closed, nothing counted, healthy.
e2e_ok "the breaker closed" 'breaker_is closed'
for s in closed open half_open; do
	e2e_eq "no transition to $s" "$(transitions "$s")" 0
done
e2e_eq "no call timed" "$(calls)" 0
e2e_eq "no decision" "$(decisions allow)" 0
e2e_eq "/health/auth healthy" "$(health_of /health/auth)" "200 healthy"
scraped "before any call"

# --- Calls that work: counted and timed; a kept verdict is no call.
authd ok-vip user="$U1" ttl=3600
term_login s1 "$U1"
login_is "through ssh: the service allows" menu
term_close s1
e2e_eq "one call" "$(calls)" 1
e2e_eq "one allow" "$(decisions allow)" 1
e2e_eq "the service had one request" "$(authd_count)" 1
e2e_eq "a second login of U1 uses the kept verdict" "$(hello_as "$U1" 5000)" ticket
e2e_eq "an allow more" "$(decisions allow)" 2
e2e_eq "counted as kept" "$(metric dungeongate_auth_cached_decisions_total)" 1
e2e_eq "and no call" "$(calls)" 1
e2e_eq "nor request" "$(authd_count)" 1
# A call that takes 0.6 s lands in the bucket of 1 s, not in that of 0.5.
b05=$(metric 'dungeongate_auth_request_duration_seconds_bucket{le="0.5"}')
b1=$(metric 'dungeongate_auth_request_duration_seconds_bucket{le="1"}')
sum0=$(metric dungeongate_auth_request_duration_seconds_sum)
authd slow delay=0.6
forget "$U2"
e2e_eq "a slow call admits" "$(hello_as "$U2" 5000)" ticket
authd ok
e2e_eq "two calls" "$(calls)" 2
e2e_eq "the slow one is not within 0.5 s" \
    "$(metric 'dungeongate_auth_request_duration_seconds_bucket{le="0.5"}')" "$b05"
e2e_eq "it is within 1 s" \
    "$(metric 'dungeongate_auth_request_duration_seconds_bucket{le="1"}')" $((b1 + 1))
e2e_ok "its time is in the sum" \
    'awk -v a="$sum0" -v b="$(metric dungeongate_auth_request_duration_seconds_sum)" "BEGIN { exit !(b - a >= 0.6) }"'
e2e_ok "the metrics agree with --status" agrees

# --- The service fails: failure_threshold (2) failures open the breaker.
authd 500
forget "$U3"
e2e_eq "a failed call follows on_failure" "$(hello_as "$U3" 5000)" ticket
e2e_eq "counted by how it failed" "$(decisions fail_status)" 1
e2e_ok "still closed after one failure" 'breaker_is closed'
forget "$U3"
e2e_eq "a second failure" "$(hello_as "$U3" 5000)" ticket
t_open=$(now_ms)
e2e_eq "two failed" "$(decisions fail_status)" 2
e2e_ok "the state series says open" 'breaker_is open'
e2e_eq "the transition to open counted" "$(transitions open)" 1
e2e_eq "none to half_open yet" "$(transitions half_open)" 0
e2e_eq "four calls timed, failed ones too" "$(calls)" 4
e2e_eq "/health/auth degraded (200)" "$(health_of /health/auth)" "200 degraded"
e2e_match "saying why" "$(health_detail /health/auth .details.auth.detail)" \
    '^the circuit breaker is open after 2 failures'
e2e_eq "the health series says degraded" "$(metric 'dungeongate_health{component="auth"}')" 1
e2e_eq "/health degraded" "$(health_of /health)" "200 degraded"
e2e_eq "/health/ready still admits" "$(health_of /health/ready)" "200 healthy"
scraped "breaker open"
# While open no call is made: decisions are skipped.
before=$(authd_count)
forget "$U3"
e2e_eq "open: a decision at once" "$(hello_as "$U3" 5000)" ticket
term_login s2 "$U3"
login_is "open: through ssh, on_failure (no verdict: the local tier)" menu
term_close s2
e2e_eq "two decisions skipped" "$(decisions skipped)" 2
e2e_eq "no request while open" "$(authd_count)" "$before"
e2e_eq "no call timed while open" "$(calls)" 4
e2e_ok "still open" 'breaker_is open && [ $(( $(now_ms) - t_open )) -lt 10000 ]'
e2e_ok "the metrics agree with --status" agrees

# --- The service is back: after recovery_timeout half-open, and the
# probe closes it.
authd ok
half_open() { breaker_is half_open; }
e2e_ok "half-open once recovery_timeout has passed" 'e2e_wait 20 half_open'
e2e_ok "not before" '[ $(( $(now_ms) - t_open )) -ge 10000 ]'
e2e_eq "the transition to half_open counted" "$(transitions half_open)" 1
e2e_eq "/health/auth degraded while half-open" "$(health_of /health/auth)" "200 degraded"
e2e_match "saying so" "$(health_detail /health/auth .details.auth.detail)" 'half-open'
scraped "breaker half-open"
forget "$U3"
e2e_eq "the probe admits" "$(hello_as "$U3" 5000)" ticket
e2e_ok "the state series says closed" 'breaker_is closed'
e2e_eq "the transition to closed counted" "$(transitions closed)" 1
e2e_eq "still one to open" "$(transitions open)" 1
e2e_eq "the probe is a call" "$(calls)" 5
e2e_eq "/health/auth healthy again" "$(health_of /health/auth)" "200 healthy"
e2e_eq "the health series says healthy" "$(metric 'dungeongate_health{component="auth"}')" 0
forget "$U3"
term_login s3 "$U3"
login_is "closed: through ssh, the service asked again" menu
term_close s3
e2e_eq "and called" "$(calls)" 6
e2e_ok "the metrics agree with --status" agrees
scraped "breaker closed again"

scrapes_agree
e2e_done
