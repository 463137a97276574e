#!/bin/bash
# A real Prometheus server (Debian's), on loopback, scrapes the broker:
# the target is up, a seed series follows sessions coming in, and the
# rules dg-broker --alert-rules printed load. The server is started by
# this test and stopped by its pid.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init prometheus
for tool in prometheus promtool; do
	command -v "$tool" >/dev/null || e2e_die "missing $tool (package prometheus)"
done
e2e_http_port
e2e_config
e2e_broker_start
e2e_user 1
e2e_user 2

PROM_PORT=$(e2e_port) || e2e_die "no free port for Prometheus"
PROM="http://127.0.0.1:$PROM_PORT"
mkdir -p "$T/prom/data"
"$BROKER" --alert-rules -f "$CONF" > "$T/prom/rules.yml" || e2e_fail "--alert-rules"
cat > "$T/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $T/prom/rules.yml
scrape_configs:
  - job_name: dungeongate
    static_configs:
      - targets: ['$E2E_HTTP']
YML
out=$(promtool check config "$T/prom/prometheus.yml" 2>&1)
e2e_eq "promtool accepts the scrape configuration" "$?" 0
prometheus --config.file="$T/prom/prometheus.yml" \
    --storage.tsdb.path="$T/prom/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" \
    --log.level=warn > "$T/prometheus.log" 2>&1 &
PROM_PID=$!
E2E_PIDS="$E2E_PIDS $PROM_PID"

# The value of an instant query's first result (empty when none).
query() {
	curl -s -m 5 --data-urlencode "query=$1" "$PROM/api/v1/query" |
	    jq -r '.data.result[0].value[1] // empty'
}
query_is() { [ "$(query "$1")" = "$2" ]; }
ready() { [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$PROM/-/ready")" = 200 ]; }

e2e_ok "Prometheus is ready" 'e2e_wait 60 ready' || {
	tail -20 "$T/prometheus.log"
	e2e_die "Prometheus did not start"
}
e2e_ok "the broker is up: up == 1" 'e2e_wait 30 query_is "up{job=\"dungeongate\"}" 1'
targets=$(curl -s -m 5 "$PROM/api/v1/targets")
e2e_eq "the target is healthy" "$(jq -r '.data.activeTargets[0].health' <<<"$targets")" up
e2e_eq "with no scrape error" "$(jq -r '.data.activeTargets[0].lastError' <<<"$targets")" ""
e2e_ok "a seed series through the HTTP API" 'e2e_wait 10 query_is session_pool_active_connections 0'

# Two sessions in: Prometheus sees them.
HELLO='{"type":"hello","version":1,"client":"session"}'
for u in "$U1" "$U2"; do
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
	    "$WIRE" "$SOCK" -t 120000 -j "$HELLO" > /dev/null 2>&1 &
	E2E_PIDS="$E2E_PIDS $!"
	held="${held:-} $!"
done
e2e_ok "session_pool_active_connections 2 in Prometheus" 'e2e_wait 15 query_is session_pool_active_connections 2'
e2e_ok "admissions counted there" 'e2e_wait 10 query_is "dungeongate_admissions_total{outcome=\"admitted\"}" 2'
e2e_ok "a histogram queried" 'e2e_wait 10 query_is "session_worker_processing_time_seconds_count{type=\"lookup\"}" 2'
# shellcheck disable=SC2086
kill $held 2>/dev/null
e2e_ok "and gone again" 'e2e_wait 15 query_is session_pool_active_connections 0'

# The alerting rules printed from [alerts] are loaded, and none fires.
rules=$(curl -s -m 5 "$PROM/api/v1/rules")
printed=$(sed -n 's/^      - alert: //p' "$T/prom/rules.yml" | sort | tr '\n' ' ')
e2e_ok "the rules file has rules" '[ -n "$printed" ]'
e2e_eq "Prometheus loaded every rule printed" \
    "$(jq -r '.data.groups[].rules[] | select(.type == "alerting") | .name' <<<"$rules" | sort | tr '\n' ' ')" "$printed"
e2e_eq "every rule evaluates" \
    "$(jq -r '[.data.groups[].rules[] | .health] | unique | join(" ")' <<<"$rules")" ok
e2e_eq "no alert fires on a healthy broker" \
    "$(curl -s -m 5 "$PROM/api/v1/alerts" | jq '.data.alerts | length')" 0

# Stopped by its pid.
kill -TERM "$PROM_PID"
e2e_reap 30 "$PROM_PID" || e2e_fail "Prometheus stops on SIGTERM"
e2e_done
