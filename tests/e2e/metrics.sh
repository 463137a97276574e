#!/bin/bash
# /metrics through real parts: the values follow what happens (sessions
# in, refusals by reason, waits in the queue, bytes reported, a real
# NetHack's memory and PTYs, reloads); scrapes taken while many sessions
# come and go pass Debian's `promtool check metrics` and promcheck.py
# (unique series, sound histograms, counters that never go down, the
# same series whoever is online, no user name or address anywhere).
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init metrics
e2e_http_port
command -v promtool >/dev/null || e2e_die "missing promtool (package prometheus)"
e2e_config "[connection_pool]
max_connections = 3
queue_size = 2
queue_timeout = 2s
[quota:default]
max_connections = 1"
e2e_broker_start
for i in 1 2 3 4 5 6; do e2e_user "$i"; done
e2e_sshd_start

REMOTE=198.51.100.23:4711
HELLO="{\"type\":\"hello\",\"version\":1,\"client\":\"session\",\"remote\":\"$REMOTE\"}"

# One scrape into a file; fails unless the answer is 200.
scrape() {
	[ "$(curl -s -m 10 -o "$1" -w '%{http_code}' "$HTTP_URL/metrics")" = 200 ]
}
# The value of one series (name and labels as exposed) in a fresh scrape.
metric() {
	curl -s -m 10 "$HTTP_URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_ge() { local v; v=$(metric "$1"); [ -n "$v" ] && awk -v v="$v" -v m="$2" 'BEGIN { exit !(v >= m) }'; }
# A session of user $1 over the raw protocol that holds its place until
# killed; its pid in HELD. The pid is the one the broker sees.
hold() {
	setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups \
	    "$WIRE" "$SOCK" -t 120000 -j "$HELLO" > "$T/hold.$1.$2" 2>&1 &
	HELD=$!
	E2E_PIDS="$E2E_PIDS $HELD"
}
# A session of user $1 that says hello and leaves after $2 ms of silence.
brief() {
	setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups \
	    "$WIRE" "$SOCK" -t "$2" -j "$HELLO" > /dev/null 2>&1
}
release() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# Idle: the exposition's format, and promtool's judgement.
curl -s -m 10 -D "$T/headers" -o "$T/scrape.0" "$HTTP_URL/metrics"
e2e_match "text format 0.0.4" "$(cat "$T/headers")" '^Content-Type: text/plain; version=0.0.4'
out=$(promtool check metrics < "$T/scrape.0" 2>&1); rc=$?
e2e_eq "promtool check metrics on an idle broker" "$rc" 0
[ "$rc" = 0 ] || e2e_log "$out"
e2e_match "build info" "$(cat "$T/scrape.0")" '^dungeongate_build_info\{version="[0-9.]+"\} 1$'
e2e_ok "no pty reuse series: PTYs are never reused" '! grep -q session_pty_reuse_rate "$T/scrape.0"'
for s in session_pool_active_connections session_pool_connections_total \
    session_pool_rejected_connections_total session_pool_queue_time_seconds \
    session_worker_active_workers session_worker_queue_size \
    session_worker_processing_time_seconds session_worker_utilization \
    session_pty_active_ptys session_pty_available_ptys session_pty_fd_usage \
    session_resource_memory_usage_bytes session_resource_memory_granted_bytes \
    session_resource_bandwidth_bytes_total session_resource_cpu_usage_cores \
    session_resource_violations_total process_cpu_seconds_total \
    process_resident_memory_bytes process_open_fds process_start_time_seconds; do
	e2e_ok "$s exported" 'grep -q "^# TYPE $s " "$T/scrape.0"'
done
start=$(metric process_start_time_seconds)
e2e_ok "the broker's start time is now-ish" '[ $(( $(date +%s) - ${start%.*} )) -lt 120 ]'
e2e_ok "its resident memory is sampled" 'e2e_wait 5 metric_ge process_resident_memory_bytes 1000000'
e2e_ok "its descriptors are counted" 'metric_ge process_open_fds 3'

# N sessions in: the gauge says N, the counters count them.
hold "$U1" a; h1=$HELD
hold "$U2" a; h2=$HELD
hold "$U3" a; h3=$HELD
e2e_ok "three sessions in: active 3" 'e2e_wait 10 metric_is session_pool_active_connections 3'
e2e_eq "three admitted" "$(metric session_pool_connections_total)" 3
e2e_eq "three admission decisions" "$(metric 'dungeongate_admissions_total{outcome="admitted"}')" 3
e2e_eq "three in the menu" "$(metric 'dungeongate_sessions{activity="menu"}')" 3
e2e_eq "the pool's bound" "$(metric session_pool_max_connections)" 3
e2e_eq "lookups ran on the workers" "$(metric 'session_worker_jobs_total{type="lookup",result="completed"}')" 3
e2e_ok "and their time is in the histogram" 'metric_is "session_worker_processing_time_seconds_count{type=\"lookup\"}" 3'

# A refusal bumps its reason: a second session of the same user.
out=$(setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups "$WIRE" "$SOCK" -t 5000 -j "$HELLO" 2>&1)
e2e_match "a session past the user's quota is refused" "$out" '"reason":"user_connections"'
e2e_ok "counted under its reason" 'metric_is "session_pool_rejected_connections_total{reason=\"user_connections\"}" 1'
e2e_eq "and as a refusal" "$(metric 'dungeongate_admissions_total{outcome="refused"}')" 1
e2e_eq "and as a violation" "$(metric 'session_resource_violations_total{type="user_connections"}')" 1

# A wait that times out lands in the histogram, and its reason counts.
hold "$U4" a; h4=$HELD
e2e_ok "a fourth waits in the queue" 'e2e_wait 5 metric_is "session_pool_queue_length{class=\"normal\"}" 1'
e2e_eq "queued, by activity" "$(metric 'dungeongate_sessions{activity="queued"}')" 1
e2e_ok "the longest wait grows" 'e2e_wait 3 metric_ge session_pool_queue_longest_wait_seconds 0.5'
e2e_ok "refused at queue_timeout" 'e2e_wait 5 grep -q "queue_timeout" "$T/hold.$U4.a"'
e2e_ok "queue_timeout counted" 'metric_is "session_pool_rejected_connections_total{reason=\"queue_timeout\"}" 1'
e2e_eq "one timed-out wait" "$(metric 'session_pool_queue_time_seconds_count{outcome="timed_out"}')" 1
e2e_eq "not within 1 s" "$(metric 'session_pool_queue_time_seconds_bucket{outcome="timed_out",le="1"}')" 0
e2e_eq "within 5 s" "$(metric 'session_pool_queue_time_seconds_bucket{outcome="timed_out",le="5"}')" 1
release "$h4"

# A wait that ends in a slot lands there too.
hold "$U4" b; h4=$HELD
e2e_ok "queued again" 'e2e_wait 5 metric_is "session_pool_queue_length{class=\"normal\"}" 1'
release "$h1"
e2e_ok "admitted from the queue when a slot frees" 'e2e_wait 5 metric_is "session_pool_queue_time_seconds_count{outcome=\"admitted\"}" 1'
e2e_eq "the queue is empty" "$(metric 'session_pool_queue_length{class="normal"}')" 0
e2e_eq "still three in" "$(metric session_pool_active_connections)" 3

# A full queue refuses at once, and says so.
hold "$U5" a; h5=$HELD
hold "$U6" a; h6=$HELD
e2e_ok "two wait" 'e2e_wait 5 metric_is "dungeongate_sessions{activity=\"queued\"}" 2'
out=$(setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups "$WIRE" "$SOCK" -t 5000 -j "$HELLO" 2>&1)
e2e_match "the third is refused" "$out" '"reason":"queue_full"'
e2e_ok "queue_full counted" 'metric_is "session_pool_rejected_connections_total{reason=\"queue_full\"}" 1'
release "$h5"; release "$h6"; release "$h2"; release "$h3"; release "$h4"
e2e_ok "everyone gone: active 0" 'e2e_wait 5 metric_is session_pool_active_connections 0'

# Bytes the sessions report are counted once, by direction.
in0=$(metric 'session_resource_bandwidth_bytes_total{direction="in"}')
out0=$(metric 'session_resource_bandwidth_bytes_total{direction="out"}')
setpriv --reuid="$U2" --regid="$(id -g "$U2")" --init-groups "$WIRE" "$SOCK" -t 1000 -j "$HELLO" -c \
    -j '{"type":"keepalive","idle":0,"bytes_in":1000,"bytes_out":250000}' \
    -j '{"type":"keepalive","idle":0,"bytes_in":1500,"bytes_out":250000}' \
    -j '{"type":"keepalive","idle":0,"bytes_in":1200,"bytes_out":100}' >/dev/null
e2e_eq "bytes in: what grew, and no more" \
    "$(metric 'session_resource_bandwidth_bytes_total{direction="in"}')" "$(( ${in0:-0} + 1500 ))"
e2e_eq "bytes out: a report that went back adds nothing" \
    "$(metric 'session_resource_bandwidth_bytes_total{direction="out"}')" "$(( ${out0:-0} + 250000 ))"

# Real NetHack through ssh: its lease, its memory as sampled, its PTYs.
e2e_ssh_term g "$U3"
e2e_expect_screen "a player in the menu" g 'Your choice'
e2e_nethack_start g || e2e_fail "NetHack's first level"
e2e_ok "one PTY leased" 'e2e_wait 5 metric_is session_pty_active_ptys 1'
e2e_eq "its memory slice granted" "$(metric session_resource_memory_granted_bytes)" 67108864
e2e_ok "the game found by the sampler" 'e2e_wait 5 metric_is dungeongate_games_sampled 1'
e2e_ok "the game's real memory" 'metric_ge session_resource_memory_usage_bytes 1000000'
e2e_ok "below its slice" '! metric_ge session_resource_memory_usage_bytes 67108864'
# NetHack is setgid: its descriptors are its own, the session's master is
# what its report can count.
e2e_ok "descriptors on its PTY, as the session reports them" \
    'e2e_wait 10 metric_ge session_pty_fd_usage 1'
e2e_ok "one playing" 'metric_is "dungeongate_sessions{activity=\"playing\"}" 1'
e2e_ok "CPU in cores, sampled" 'metric_ge session_resource_cpu_usage_cores 0'
avail=$(metric session_pty_available_ptys)
e2e_ok "PTYs left: below max_ptys" '[ "$avail" -lt 500 ] && [ "$avail" -gt 0 ]'

# Under load: sessions coming and going, refusals, queueing, while
# scraping; every scrape is sound and they agree with each other.
load() {
	local round u
	for round in 1 2 3 4 5 6 7 8; do
		for u in "$U1" "$U2" "$U4" "$U5" "$U6"; do
			brief "$u" 300 &
			brief "$u" 600 &
		done
		wait
	done
}
load & loader=$!
E2E_PIDS="$E2E_PIDS $loader"
for n in 1 2 3 4 5 6 7 8 9 10; do
	scrape "$T/scrape.$n" || e2e_fail "scrape $n under load"
	sleep 0.3
done
wait "$loader"
scrape "$T/scrape.11" || e2e_fail "scrape after the load"
bad=0
for n in $(seq 1 11); do
	promtool check metrics < "$T/scrape.$n" > "$T/promtool.$n" 2>&1 || bad=$n
done
e2e_eq "promtool check metrics passes on every scrape under load" "$bad" 0
[ "$bad" = 0 ] || cat "$T/promtool.$bad"
forbid=
for u in $E2E_USERS; do forbid="$forbid --forbid $u"; done
out=$(python3 "$DG_SRCDIR/tests/e2e/promcheck.py" $forbid --forbid "${REMOTE%:*}" \
    $(for n in $(seq 0 11); do echo "$T/scrape.$n"; done) 2>&1); rc=$?
e2e_eq "promcheck: sound, steady series, counters never down, no names" "$rc" 0
e2e_log "$out"
e2e_ok "the load queued sessions" 'metric_ge "session_pool_queue_time_seconds_count{outcome=\"admitted\"}" 2'
e2e_ok "and refused some" 'metric_ge "session_pool_rejected_connections_total{reason=\"queue_full\"}" 2'
lines0=$(grep -vc '^#' "$T/scrape.0")
lines11=$(grep -vc '^#' "$T/scrape.11")
e2e_eq "as many series with six users and a game as with none" "$lines11" "$lines0"

# The player leaves the game: its lease and memory go.
e2e_nethack_save g
e2e_expect_screen "back in the menu" g 'Your choice'
e2e_ok "no PTY leased" 'e2e_wait 5 metric_is session_pty_active_ptys 0'
e2e_ok "no game sampled" 'e2e_wait 5 metric_is dungeongate_games_sampled 0'
e2e_ok "no game memory" 'metric_is session_resource_memory_usage_bytes 0'
e2e_ok "no descriptors on a game's PTY" 'metric_is session_pty_fd_usage 0'
e2e_keys g q

# Reloads: when, and whether they worked.
e2e_eq "no reload yet" "$(metric dungeongate_config_last_reload_timestamp_seconds)" 0
e2e_ok "reloaded" e2e_reload
e2e_eq "a good reload counted" "$(metric 'dungeongate_config_reloads_total{result="success"}')" 1
e2e_eq "and it worked" "$(metric dungeongate_config_last_reload_success)" 1
printf 'bogus\n' >> "$CONF"
e2e_ok "a bad reload fails" '! e2e_reload'
e2e_eq "a bad reload counted" "$(metric 'dungeongate_config_reloads_total{result="failure"}')" 1
e2e_eq "and it failed" "$(metric dungeongate_config_last_reload_success)" 0
when=$(metric dungeongate_config_last_reload_timestamp_seconds)
e2e_ok "its time is now" '[ $(( $(date +%s) - ${when%.*} )) -lt 60 ]'
e2e_done
