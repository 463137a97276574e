#!/bin/bash
# The /health endpoints: each flips to degraded (200) or unhealthy (503)
# when its component does, and back; they say what dg-broker --check
# says, component by component; /health/ready turns 503 while the broker
# drains, and 200 again once a broker is back.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init health
e2e_http_port
e2e_config "[connection_pool]
max_connections = 2
queue_size = 2
queue_timeout = 60s
drain_timeout = 60s
[limits]
max_ptys = 1
max_memory = 64MB
[alerts]
high_queue_time = 1s
[game:one]
command = /bin/true
memory = 64MB"
e2e_broker_start
for i in 1 2 3 4; do e2e_user "$i"; done

HELLO='{"type":"hello","version":1,"client":"session"}'
PLAY='{"type":"play","game":"one","cols":80,"rows":24}'
ENDPOINTS="/health /health/connection-pool /health/worker-pool /health/pty-pool /health/resource-limiter /health/auth /health/ready"

# Does an endpoint answer with this code and status?
endpoint_is() {
	e2e_http "$1"
	[ "$HTTP_CODE" = "$2" ] && [ "$(jq -r .status <<<"$HTTP_BODY" 2>/dev/null)" = "$3" ]
}
# A component's status in an endpoint's details.
detail_status() { e2e_http "$1"; jq -r ".details.$2.status" <<<"$HTTP_BODY"; }
# A session of user $1 over the raw protocol, held until killed ($2: a
# tag; more frames may follow). Its pid in HELD.
hold() {
	local u=$1 tag=$2
	shift 2
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
	    "$WIRE" "$SOCK" -t 120000 -j "$HELLO" "$@" > "$T/hold.$tag" 2>&1 &
	HELD=$!
	E2E_PIDS="$E2E_PIDS $HELD"
}
release() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# Everything healthy at first: 200, JSON, status and details.
for e in $ENDPOINTS; do
	e2e_ok "$e healthy" 'endpoint_is "$e" 200 healthy'
done
e2e_http /health
e2e_eq "JSON content" "$(curl -s -m 5 -o /dev/null -w '%{content_type}' "$HTTP_URL/health")" application/json
e2e_eq "/health holds every component" "$(jq -r '.details | keys | sort | join(" ")' <<<"$HTTP_BODY")" \
    "auth broker connection_pool descriptors games load memory pty_pool queue worker_pool"
e2e_eq "/health/connection-pool: the pool and its queue" \
    "$(e2e_http /health/connection-pool; jq -r '.details | keys_unsorted | join(" ")' <<<"$HTTP_BODY")" "connection_pool queue"
e2e_eq "/health/resource-limiter: memory, descriptors and the machine's load" \
    "$(e2e_http /health/resource-limiter; jq -r '.details | keys_unsorted | join(" ")' <<<"$HTTP_BODY")" "memory descriptors load"
e2e_eq "/health/auth says local policy" \
    "$(e2e_http /health/auth; jq -r .details.auth.detail <<<"$HTTP_BODY")" \
    "local policy (no auth service)"
e2e_eq "a HEAD has the status and no body" \
    "$(curl -s -m 5 -I -o /dev/null -w '%{http_code} %{size_download}' "$HTTP_URL/health/ready")" "200 0"

# One implementation, two renderings: --check's lines and /health agree
# on every component's status, and on the details that do not move from
# one moment to the next (uptime, waits and kernel counts do).
same_as_check() {
	local line name status detail
	e2e_http /health
	"$BROKER" --check -f "$CONF" > "$T/check.out"
	[ "$(wc -l < "$T/check.out")" = "$(jq '.details | length' <<<"$HTTP_BODY")" ] || return 1
	while IFS= read -r line; do
		name=${line%%: *}
		status=${line#"$name: "}; status=${status%% (*}
		detail=${line#"$name: $status ("}; detail=${detail%)}
		[ "$(jq -r ".details.$name.status" <<<"$HTTP_BODY")" = "$status" ] || return 1
		case $name in
		connection_pool|memory|games|auth|worker_pool)
			[ "$(jq -r ".details.$name.detail" <<<"$HTTP_BODY")" = "$detail" ] || return 1 ;;
		esac
	done < "$T/check.out"
}
e2e_ok "healthy: --check and /health agree" 'e2e_wait 5 same_as_check'

# The PTY pool and the memory limit: one game fills both.
hold "$U1" game -c -c -j "$PLAY"
game=$HELD
e2e_wait 5 grep -q '"type":"lease"' "$T/hold.game" || e2e_fail "the game's lease"
e2e_ok "/health/pty-pool degraded, still 200" 'endpoint_is /health/pty-pool 200 degraded'
e2e_eq "the PTY pool is the reason" "$(detail_status /health/pty-pool pty_pool)" degraded
e2e_ok "/health/resource-limiter degraded" 'endpoint_is /health/resource-limiter 200 degraded'
e2e_eq "memory is the reason" "$(detail_status /health/resource-limiter memory)" degraded
e2e_ok "/health degraded" 'endpoint_is /health 200 degraded'
e2e_ok "/health/connection-pool unaffected" 'endpoint_is /health/connection-pool 200 healthy'
e2e_ok "ready: degraded is still ready" 'endpoint_is /health/ready 200 healthy'
e2e_ok "degraded: --check and /health agree" 'e2e_wait 5 same_as_check'
release "$game"
e2e_ok "/health/pty-pool back to healthy" 'e2e_wait 5 endpoint_is /health/pty-pool 200 healthy'
e2e_ok "/health/resource-limiter back to healthy" 'endpoint_is /health/resource-limiter 200 healthy'

# The connection pool: full, then someone waits past high_queue_time.
hold "$U1" s1; s1=$HELD
hold "$U2" s2; s2=$HELD
e2e_ok "/health/connection-pool degraded when full" 'e2e_wait 5 endpoint_is /health/connection-pool 200 degraded'
e2e_eq "the pool is the reason" "$(detail_status /health/connection-pool connection_pool)" degraded
e2e_eq "the queue is not, yet" "$(detail_status /health/connection-pool queue)" healthy
hold "$U3" s3; s3=$HELD
queue_degraded() { [ "$(detail_status /health/connection-pool queue)" = degraded ]; }
e2e_ok "a wait past high_queue_time degrades the queue" 'e2e_wait 5 queue_degraded'
e2e_ok "full and waiting: --check and /health agree" 'e2e_wait 5 same_as_check'
release "$s3"; release "$s2"
e2e_ok "/health/connection-pool back to healthy" 'e2e_wait 5 endpoint_is /health/connection-pool 200 healthy'

# The worker pool answers with its judgement (stuck workers are the
# unit test's: test_worker).
e2e_eq "/health/worker-pool: ok" "$(e2e_http /health/worker-pool; jq -r .details.worker_pool.detail <<<"$HTTP_BODY")" ok

# Right after a reload, an answer waits for the new configuration's
# sample rather than guess.
e2e_ok "reloaded" e2e_reload
e2e_eq "the games are checked, not unknown" "$(detail_status /health/pty-pool games)" healthy

# Drain: /health/ready turns 503 while the broker lets sessions finish.
"$BROKER" --drain -f "$CONF" > /dev/null || e2e_fail "--drain"
e2e_ok "/health/ready 503 while draining" 'endpoint_is /health/ready 503 unhealthy'
e2e_eq "and says why" "$(e2e_http /health/ready; jq -r .details.ready.detail <<<"$HTTP_BODY")" "draining for maintenance"
e2e_ok "/health itself still answers 200" 'endpoint_is /health 200 healthy'
release "$s1"
e2e_broker_wait 10
e2e_eq "drained and stopped" "$BROKER_STATUS" 0
e2e_http /health/ready
e2e_eq "no broker: no answer" "$HTTP_CODE" 000
e2e_broker_start
e2e_ok "a broker back: /health/ready 200" 'e2e_wait 5 endpoint_is /health/ready 200 healthy'
e2e_done
