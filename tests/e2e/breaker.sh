#!/bin/bash
# The circuit breaker around the auth service, measured at the broker's
# socket: while the service hangs, --check answers within 100 ms and a
# player with a cached verdict is admitted at once; failure_threshold
# consecutive failures open the breaker (logged, in --status, --check's
# auth degraded); while open the service gets no request and every
# decision follows on_failure in under 5 ms; after recovery_timeout one
# probe, and only one, goes through; a failed probe opens it again, a
# good one closes it.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init breaker
. "$DG_SRCDIR/tests/e2e/authlib.sh"
authd_start
recovery=10000
e2e_config "[auth]
url = $AUTHD_URL
timeout = 3s
on_failure = cached
[circuit_breaker]
failure_threshold = 3
recovery_timeout = 10s
[load_shedding]
enabled = false"
e2e_broker_start
e2e_user 1	# last verdict: allow in vip, expired
e2e_user 2	# last verdict: deny, expired
e2e_user 3	# no verdict (forgotten before each hello): the local tier
e2e_user 4	# a verdict kept fresh, for the hanging service
e2e_user 5	# more players for the probe
e2e_user 6
e2e_sshd_start
forget() { "$BROKER" --forget "$1" -f "$CONF" >/dev/null || e2e_fail "--forget $1"; }
state() { e2e_status | jq -r .auth.breaker.state; }
state_is() { [ "$(state)" = "$1" ]; }
opened() { grep -c 'msg=breaker state=open ' "$T/broker.log"; }
opened_ge() { [ "$(opened)" -ge "$1" ]; }

# --- The service hangs (breaker closed): the loop waits on no HTTP.
authd ok-vip user="$U4" ttl=3600
term_login h0 "$U4"
login_is "a verdict to keep: admitted through ssh" menu
term_close h0
authd slow delay=30
forget "$U3"
forget "$U5"
(wire_as_bg "$U3" -t 10000 -j "$HELLO" -c -j '{"type":"goodbye"}') > "$T/hang.3" &
hp1=$!
(wire_as_bg "$U5" -t 10000 -j "$HELLO" -c -j '{"type":"goodbye"}') > "$T/hang.5" &
hp2=$!
E2E_PIDS="$E2E_PIDS $hp1 $hp2"
inflight() { [ "$(authd_stats .inflight)" -ge 2 ]; }
e2e_ok "two calls hang at the service" 'e2e_wait 10 inflight'
out=$("$WIRE" "$SOCK" -t 100 -j '{"type":"hello","version":1,"client":"admin"}' \
    -j '{"type":"check"}' -c | head -1)
e2e_match "the check's answer within 100 ms at the socket while the service hangs" \
    "$out" '"components":'
# And the command, start-up included (a sanitized binary on a busy
# machine takes tens of ms to start): the best of three tries, far from
# the 30 s the hanging calls wait.
best=100000
for i in 1 2 3; do
	start=$(date +%s%N)
	out=$("$BROKER" --check -f "$CONF")
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -lt "$best" ] && best=$ms
done
e2e_ok "dg-broker --check answers at once while the service hangs ($best ms)" '[ "$best" -lt 1000 ]'
e2e_match "--check names auth" "$out" '^auth: '
e2e_eq "a cached verdict is admitted at once while the service hangs" \
    "$(hello_as "$U4" 50)" ticket
term_login h1 "$U4"
login_is "and through ssh" menu
e2e_eq "in its tier" "$(user_tier "$U4")" vip
term_close h1
e2e_eq "the hanging calls were the service's only requests" "$(authd_stats .inflight)" 2
e2e_ok "the hanging calls end with the timeout" 'e2e_reap 10 "$hp1" && e2e_reap 10 "$hp2"'
e2e_match "a timed-out call follows on_failure (cached: no verdict, local tier)" \
    "$(head -1 "$T/hang.3")" '"type":"ticket"'
e2e_eq "two failures so far" "$(e2e_status | jq -r '"\(.auth.breaker.state) \(.auth.breaker.failures)"')" "closed 2"

# A success resets the count; then verdicts to keep: U1 allowed in vip
# and U2 denied, both for 1 s.
authd ok
forget "$U3"
e2e_eq "a good call admits" "$(hello_as "$U3" 5000)" ticket
e2e_eq "a success resets the failures" "$(e2e_status | jq -r .auth.breaker.failures)" 0
authd ok-vip user="$U1" ttl=1
authd deny user="$U2" ttl=1 message="Banned for cheating."
e2e_eq "U1 allowed" "$(hello_as "$U1" 5000)" ticket
e2e_match "U2 denied" "$(hello_as "$U2" 5000)" '^refused '
wait_until_ms 10 $(( $(now_ms) + 1500 ))

# --- failure_threshold (3) consecutive failures open it.
authd 500
for i in 1 2 3; do
	forget "$U3"
	e2e_eq "failure $i: follows on_failure" "$(hello_as "$U3" 5000)" ticket
	[ "$i" -lt 3 ] && e2e_eq "failure $i: still closed" \
	    "$(e2e_status | jq -r '"\(.auth.breaker.state) \(.auth.breaker.failures)"')" "closed $i"
done
t_open=$(now_ms)
e2e_eq "open after 3 failures" "$(e2e_status | jq -r '"\(.auth.breaker.state) \(.auth.breaker.failures)"')" "open 3"
e2e_ok "the transition is logged" 'grep -q "msg=breaker state=open failures=3" "$T/broker.log"'
probe=$(e2e_status | jq -r .auth.breaker.next_probe_ms)
e2e_ok "--status has the next probe, within recovery_timeout ($probe)" \
    '[ "$probe" -gt 0 ] && [ "$probe" -le "$recovery" ]'
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_match "--check: auth degraded while open" "$out" '^auth: degraded'
e2e_eq "--check exits 1" "$rc" 1
e2e_log "outcomes: $(e2e_status | jq -c .auth.outcomes_total)"

# --- Open: no request, every decision at once (under 5 ms from the
# hello, at the socket), per on_failure.
# A loaded machine may not run the broker within 5 ms every time: each
# player has up to 20 tries to be answered 10 times in under 5 ms.
before=$(authd_count)
fast() {
	local u=$1 want=$2 i n=0 got
	for i in $(seq 20); do
		got=$(hello_as "$u" 5)
		case $got in $want) n=$((n + 1)) ;; *) e2e_log "$u: $got" >&2 ;; esac
		[ "$n" -ge 10 ] && break
	done
	echo "$n of $i"
}
r1=$(fast "$U1" ticket)
r2=$(fast "$U2" 'refused *')
r3=$(fast "$U3" ticket)
e2e_log "answered in under 5 ms: $r1, $r2, $r3 tries"
e2e_ok "an expired allow admits in under 5 ms ($r1)" '[ "${r1%% *}" -ge 10 ]'
e2e_ok "an expired deny refuses in under 5 ms ($r2)" '[ "${r2%% *}" -ge 10 ]'
e2e_ok "no verdict: the local tier in under 5 ms ($r3)" '[ "${r3%% *}" -ge 10 ]'
e2e_ok "still open: the probe is still to come" 'state_is open && [ $(( $(now_ms) - t_open )) -lt "$recovery" ]'
e2e_eq "zero requests while open" "$(authd_count)" "$before"
e2e_eq "the expired deny's message" \
    "$(wire_as "$U2" -t 1000 -j "$HELLO" | head -1 | jq -r .message)" "Banned for cheating."

# --- After recovery_timeout exactly one probe, however many players
# come; the service hangs, so the probe fails by the timeout: open again.
authd slow delay=30
wait_until_ms 10 $((t_open + recovery + 200))
for u in "$U1" "$U2" "$U3" "$U5" "$U6"; do
	(wire_as_bg "$u" -t 10000 -j "$HELLO" -c -j '{"type":"goodbye"}') > "$T/probe.$u" &
	E2E_PIDS="$E2E_PIDS $!"
done
e2e_ok "a probe arrives after recovery_timeout" 'e2e_wait 5 authd_count_ge $((before + 1))'
# While the probe is out the other four are answered per on_failure.
nanswered() { grep -l '"type"' "$T"/probe.* 2>/dev/null | wc -l; }
four() { [ "$(nanswered)" -ge 4 ]; }
e2e_ok "the other players are answered at once while the probe is out" 'e2e_wait 1 four'
e2e_ok "the probe still out meanwhile" '[ "$(authd_stats .inflight)" = 1 ] && [ "$(nanswered)" = 4 ]'
e2e_match "--check: auth degraded while half-open" "$("$BROKER" --check -f "$CONF")" '^auth: degraded'
answered() { local u; for u in "$U1" "$U2" "$U3" "$U5" "$U6"; do grep -q '"type"' "$T/probe.$u" || return 1; done; }
e2e_ok "all five players answered (the probe's after the timeout)" 'e2e_wait 10 answered'
e2e_ok "the failed probe opens it again" 'e2e_wait 5 opened_ge 2'
t_open=$(now_ms)
e2e_eq "exactly one probe" "$(authd_count)" $((before + 1))
e2e_eq "open again" "$(state)" open
e2e_match "during the probe an expired allow admits" "$(head -1 "$T/probe.$U1")" '"type":"ticket"'
e2e_match "and an expired deny refuses" "$(head -1 "$T/probe.$U2")" '"type":"refused"'

# --- Still down (port closed) at the next probe: open again.
authd down
e2e_eq "the service's port is closed" "$(authd_stats .listening)" false
wait_until_ms 10 $((t_open + recovery + 200))
forget "$U3"
e2e_eq "a player at probe time: on_failure" "$(hello_as "$U3" 5000)" ticket
e2e_ok "the probe to a closed port opens it again" 'e2e_wait 5 opened_ge 3'
t_open=$(now_ms)
e2e_eq "open" "$(state)" open

# --- Back: the probe succeeds and closes it.
authd ok
before=$(authd_count)
wait_until_ms 10 $((t_open + recovery + 200))
forget "$U3"
e2e_eq "a player at probe time admitted" "$(hello_as "$U3" 5000)" ticket
e2e_ok "the good probe closes it" 'e2e_wait 5 state_is closed'
e2e_ok "the transition is logged" 'grep -q "msg=breaker state=closed" "$T/broker.log"'
e2e_eq "one request, the probe" "$(authd_count)" $((before + 1))
e2e_eq "failures back to 0" "$(e2e_status | jq -r .auth.breaker.failures)" 0
forget "$U3"
e2e_eq "closed: calls go through again" "$(hello_as "$U3" 5000)" ticket
e2e_eq "one more request" "$(authd_count)" $((before + 2))
e2e_match "--check: the breaker is closed" "$("$BROKER" --check -f "$CONF")" '^auth: '
e2e_done
