#!/bin/bash
# Load shedding through real ssh, with CPU and memory pressure written
# into the files the broker reads ([load_shedding] stat_file and
# meminfo_file): above a threshold new sessions of class normal and low
# are refused (overloaded, exit 69) while high (vip) and critical
# (admin_group) get in and a running NetHack goes on; shedding ends only
# below the threshold minus the margin. Then a saturated worker pool
# (pool_size 1, queue_size 1, a slow auth service) refuses with busy and
# the broker lives on.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init shed
. "$DG_SRCDIR/tests/e2e/authlib.sh"
LOW="dgl$E2E_SUFFIX"
VIP="dgv$E2E_SUFFIX"
groupadd "$LOW" && groupadd "$VIP" || e2e_die "groupadd"
E2E_GROUPS="$E2E_GROUPS $LOW $VIP"

load_files_start

e2e_config "[load_shedding]
enabled = true
cpu_threshold = 0.8
memory_threshold = 0.9
stat_file = $T/stat
meminfo_file = $T/meminfo
[quota:low]
groups = $LOW
priority = 0
[quota:vip]
groups = $VIP"
e2e_broker_start
e2e_user 1			# normal, plays NetHack throughout
e2e_user 2			# normal
e2e_user 3 "$LOW"		# low
e2e_user 4 "$VIP"		# high
e2e_user 5 "$E2E_ADMIN_GROUP"	# critical
e2e_user 10			# normal, at the menu before the pressure
e2e_sshd_start

shed() { e2e_status | jq -r .load_shedding.shedding; }
shedding() { [ "$(shed)" = true ]; }
not_shedding() { [ "$(shed)" = false ]; }
# Is the smoothed reading $1 (cpu or memory) within [$2, $3]?
reading_in() {
	e2e_status | jq -e --argjson lo "$2" --argjson hi "$3" \
	    ".load_shedding.$1 >= \$lo and .load_shedding.$1 <= \$hi" >/dev/null
}
HEAVY='DungeonGate is under heavy load; please try again in [0-9]+ s'
# Log in, expect the menu, leave.
admitted() {
	term_login "$1" "$2"
	login_is "$3" menu
	term_close "$1"
}
# Log in, expect to be shed.
shed_off() {
	term_login "$1" "$2"
	login_is "$3" "exit 69" "$HEAVY"
	e2e_tmux kill-session -t "$1"
}
# Does NetHack still answer on terminal g1? Its inventory opens on i and
# closes on Escape, and its session is still playing.
nethack_alive() {
	e2e_keys g1 i
	e2e_wait 5 e2e_screen_has g1 '\(end\)|\([0-9]+ of [0-9]+\)' || return 1
	e2e_keys g1 Escape
	e2e_wait 5 nethack_inventory_closed || return 1
	e2e_sessions "$U1" | grep -q ' playing '
}
nethack_inventory_closed() { ! e2e_screen_has g1 '\(end\)|\([0-9]+ of [0-9]+\)'; }

# --- Calm: 10% CPU, half the memory.
e2e_ok "the readings come from the files" 'e2e_wait 10 reading_in cpu 0.05 0.15'
e2e_ok "memory from meminfo" 'reading_in memory 0.45 0.55'
e2e_eq "not shedding" "$(shed)" false
e2e_match "--check: load healthy" "$("$BROKER" --check -f "$CONF")" '^load: healthy'
e2e_ssh_term g1 "$U1"
e2e_wait_screen g1 'Your choice' || e2e_die "no menu for $U1"
e2e_nethack_start g1 || e2e_die "NetHack did not start: $(e2e_screen g1)"
nh=$(ps -o pid=,comm= -u "$U1" | awk '$2 ~ /^nethack/ {print $1; exit}')
[ -n "$nh" ] || e2e_die "no NetHack process for $U1"
e2e_ssh_term m1 "$U10"
e2e_wait_screen m1 'Your choice' || e2e_die "no menu for $U10"

# --- CPU at 100%: normal and low shed, high and critical admitted.
echo 100 > "$T/cpu.pct"
e2e_ok "100% CPU: shedding starts" 'e2e_wait 10 shedding'
e2e_ok "the reading shows it" 'reading_in cpu 0.8 1.0'
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_match "--check: load degraded while shedding" "$out" '^load: degraded'
e2e_eq "--check exits 1" "$rc" 1
shed_off n1 "$U2" "cpu: a normal player is shed, exit 69"
shed_off l1 "$U3" "cpu: a low player is shed"
admitted v1 "$U4" "cpu: a high (vip) player is admitted"
admitted c1 "$U5" "cpu: a critical (admin) player is admitted"
e2e_eq "the refusals have reason overloaded" \
    "$(hello_as "$U2" 5000)" "refused overloaded"
e2e_ok "the running NetHack goes on" nethack_alive
# A session admitted before is no new session: its game may start.
e2e_keys m1 p
e2e_expect_screen "a player at the menu before may start a game" m1 'Shall I pick'
e2e_keys m1 q
e2e_expect_screen "and leave it for the menu" m1 'Your choice' 20
term_close m1
e2e_eq "the same process" "$(ps -o pid= -p "$nh" | tr -d ' ')" "$nh"

# --- 78%: under the threshold, above the margin (0.75): still shedding.
echo 78 > "$T/cpu.pct"
e2e_ok "the reading settles at 78%" 'e2e_wait 10 reading_in cpu 0.76 0.80'
e2e_ok "still shedding inside the margin" shedding
e2e_ok "and for the next samples too" '! e2e_wait 3 not_shedding'
shed_off n2 "$U2" "78% CPU: still shed"

# --- 70%: below the margin, shedding ends.
echo 70 > "$T/cpu.pct"
e2e_ok "70% CPU: shedding ends" 'e2e_wait 10 not_shedding'
admitted n3 "$U2" "70% CPU: a normal player is admitted"
admitted l3 "$U3" "70% CPU: a low player is admitted"

# --- Memory: 95% in use sheds, 87% keeps shedding, 50% ends it.
echo 10 > "$T/cpu.pct"
mem_use 950
e2e_ok "95% memory: shedding starts" 'e2e_wait 10 shedding'
e2e_ok "the memory reading shows it" 'reading_in memory 0.9 1.0'
shed_off n4 "$U2" "memory: a normal player is shed"
shed_off l4 "$U3" "memory: a low player is shed"
admitted v4 "$U4" "memory: a high player is admitted"
admitted c4 "$U5" "memory: a critical player is admitted"
mem_use 870
e2e_ok "the memory reading settles at 87%" 'e2e_wait 10 reading_in memory 0.86 0.88'
e2e_ok "still shedding inside the margin" '! e2e_wait 3 not_shedding'
mem_use 500
e2e_ok "50% memory: shedding ends" 'e2e_wait 10 not_shedding'
admitted n5 "$U2" "memory back: a normal player is admitted"
e2e_match "--check: load healthy again" "$("$BROKER" --check -f "$CONF")" '^load: healthy'
e2e_ok "NetHack went on through all of it" nethack_alive
e2e_eq "the same process" "$(ps -o pid= -p "$nh" | tr -d ' ')" "$nh"
e2e_nethack_save g1
e2e_expect_screen "NetHack saved, back at the menu" g1 'Your choice' 20
term_close g1

# --- A saturated worker pool: one worker held by a slow auth call, the
# one queue slot taken; the next is refused with busy, at once.
e2e_broker_stop
authd_start
authd slow delay=30
e2e_config "[worker_pool]
pool_size = 1
queue_size = 1
[auth]
url = $AUTHD_URL
timeout = 6s
on_failure = allow
[circuit_breaker]
failure_threshold = 100
[load_shedding]
stat_file = $T/stat
meminfo_file = $T/meminfo"
e2e_broker_start
# The admin's own lookup is done before the pool fills (as an admin's
# first --check after starting the broker does).
e2e_ok "--status before the pool fills" 'e2e_status >/dev/null'
e2e_user 6
e2e_user 7
e2e_user 8
e2e_user 9
(wire_as_bg "$U6" -t 20000 -j "$HELLO" -c -j '{"type":"goodbye"}') > "$T/pool.6" &
p6=$!
E2E_PIDS="$E2E_PIDS $p6"
held() { [ "$(authd_stats .inflight)" -ge 1 ]; }
e2e_ok "the one worker waits on the service" 'e2e_wait 10 held'
(wire_as_bg "$U7" -t 20000 -j "$HELLO" -c -j '{"type":"goodbye"}') > "$T/pool.7" &
p7=$!
E2E_PIDS="$E2E_PIDS $p7"
queued() { e2e_status_is .worker_pool.queued 1; }
e2e_ok "the one queue slot is taken" 'e2e_wait 5 queued'
out=$(wire_as "$U8" -t 2000 -j "$HELLO")
e2e_match "a full worker queue refuses with busy" "$out" '"reason":"busy"'
e2e_match "and says so" "$out" 'The server is busy; please try again in a moment\.'
term_login p9 "$U9"
login_is "through ssh: busy, exit 69" "exit 69" 'The server is busy; please try again in a moment\.'
e2e_tmux kill-session -t p9
e2e_ok "the worker queue was still full" queued
e2e_ok "refusals counted" '[ "$(e2e_status | jq .worker_pool.rejected_total)" -ge 2 ]'
e2e_ok "the broker lives on" 'kill -0 "$BROKER_PID" && "$BROKER" --status -f "$CONF" >/dev/null'
authd ok
e2e_ok "the held players are answered once the service is" \
    'e2e_reap 20 "$p6" && e2e_reap 20 "$p7"'
e2e_match "the first admitted" "$(head -1 "$T/pool.6")" '"type":"ticket"'
e2e_match "the queued one admitted" "$(head -1 "$T/pool.7")" '"type":"ticket"'
e2e_eq "a new player is admitted" "$(hello_as "$U8" 5000)" ticket
e2e_done
