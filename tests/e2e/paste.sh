#!/bin/bash
# A paste into the menu through real ssh costs a bounded amount of memory
# and goes out at the bandwidth share: (a) a client that does not read is
# sent 3 MB of keys: the session stays small, it and the broker live on,
# and the menu answers once the client reads again; (b) 1 MB pasted
# through tmux: the session stays small and the menu answers; (c) keys
# pasted into the menu of a player whose share is 4KB/s: what the menu
# draws for them reaches a reading client at that share.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init paste
# ASan holds freed memory back in a quarantine (256 MB by default, and
# twice that resident with its redzones), which would count here: without
# it, what is measured is what the session itself holds.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0"
export ASAN_OPTIONS
METER="$DG_BUILDDIR/tests/tools/dg-meter"
SLOW="dgs$E2E_SUFFIX"
groupadd "$SLOW" || e2e_die "groupadd $SLOW"
E2E_GROUPS="$E2E_GROUPS $SLOW"
e2e_config "[quota:slow]
groups = $SLOW
priority = 1
max_bandwidth = 4KB/s"
e2e_broker_start
e2e_user 1
e2e_user 2
e2e_user 3 "$SLOW"
e2e_sshd_start

# The most a session may reach, resident, at any time in this test (kB).
BOUND_KB=16384
SHARE=4096

# Keys that are no choice in the menu.
head -c $((3 * 1024 * 1024)) /dev/zero | tr '\0' z > "$T/junk3m"
head -c $((1024 * 1024)) /dev/zero | tr '\0' z > "$T/junk1m"

# The pid of a user's session once the broker has it in the menu.
menu_pid() { e2e_sessions "$1" | awk '$2 == "menu" {print $1; exit}'; }
in_menu() { [ -n "$(menu_pid "$1")" ]; }
# A field of a user's session in --status.
session_field() {
	e2e_status | jq -r --arg u "$1" --arg f "$2" \
	    '.sessions[] | select(.user == $u) | .[$f]'
}
# kB of a process's peak resident memory (VmHWM), 0 once it is gone.
hwm_kb() {
	local h
	h=$(awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null)
	echo "${h:-0}"
}
# Bytes a process has read so far.
rchar() { awk '/^rchar/ {print $2}' "/proc/$1/io" 2>/dev/null; }

# Watch a session's peak memory until a condition holds, for up to SECS:
#	watch_session PID SECS COMMAND...
# Sets PEAK_KB; returns 1 at once when the peak passes BOUND_KB, 2 when
# the time ran out, 3 when the session is gone.
watch_session() {
	local pid=$1 secs=$2 end h; shift 2
	end=$(( $(date +%s%N) + secs * 1000000000 ))
	PEAK_KB=0
	while :; do
		kill -0 "$pid" 2>/dev/null || return 3
		h=$(hwm_kb "$pid")
		[ "$h" -gt "$PEAK_KB" ] && PEAK_KB=$h
		[ "$PEAK_KB" -gt "$BOUND_KB" ] && return 1
		"$@" && return 0
		[ "$(date +%s%N)" -ge "$end" ] && return 2
		sleep 0.1
	done
}

# Has a process stopped reading: rchar unchanged for two seconds?
LAST_RCHAR=
LAST_RCHAR_AT=0
reads_stalled() {
	local r now
	r=$(rchar "$1"); now=$(date +%s%N)
	if [ "$r" != "$LAST_RCHAR" ]; then
		LAST_RCHAR=$r
		LAST_RCHAR_AT=$now
		return 1
	fi
	[ $(( now - LAST_RCHAR_AT )) -ge 2000000000 ]
}

# Has a session taken in at least N bytes of keys, as it last reported?
keys_in() { [ "$(session_field "$1" bytes_in)" -ge "$2" ] 2>/dev/null; }

# Send keys into a client's stdin (descriptor $1), never blocking for good.
send_keys() { timeout 10 sh -c "printf '%s' '$2' >&$1"; }

# Judge what watch_session saw of a paste: PART RC PID WHAT. Returns 1
# when the part cannot go on (the session passed the bound or died).
paste_judged() {
	local part=$1 rc=$2 pid=$3 what=$4
	case $rc in
	0) e2e_pass "$part $what: the session stays under $BOUND_KB kB ($PEAK_KB kB)" ;;
	1) e2e_fail "$part the session passed $BOUND_KB kB ($PEAK_KB kB) on $what"
	   kill -KILL "$pid" 2>/dev/null
	   return 1 ;;
	2) e2e_fail "$part the paste did not settle in 120 s (peak $PEAK_KB kB)" ;;
	3) e2e_fail "$part the session died during the paste"
	   return 1 ;;
	esac
	return 0
}

# ---- (a) a client that does not read ------------------------------------

part_a() {
	local rc
	# ssh's stdin and stdout are fifos the test holds open both ways:
	# nothing blocks on opening them, and nothing reads ssh's output
	# until the test does.
	mkfifo "$T/a.in" "$T/a.out"
	exec 7<>"$T/a.in" 8<>"$T/a.out"
	timeout 300 $(e2e_ssh_cmd "$U1") -tt <"$T/a.in" >"$T/a.out" 2>/dev/null &
	a_ssh=$!
	E2E_PIDS="$E2E_PIDS $a_ssh"
	e2e_wait 20 in_menu "$U1" || { e2e_fail "(a) no menu for $U1"; return; }
	a_pid=$(menu_pid "$U1")
	e2e_log "(a) session $a_pid in the menu, peak $(hwm_kb "$a_pid") kB"
	cat "$T/junk3m" >&7 &
	a_feed=$!
	E2E_PIDS="$E2E_PIDS $a_feed"
	# Until ssh has taken all 3 MB and the session reads no more (it has
	# them all, or it holds its keys while its output cannot go out).
	a_done() { ! kill -0 "$a_feed" 2>/dev/null && reads_stalled "$a_pid"; }
	watch_session "$a_pid" 120 a_done
	rc=$?
	e2e_log "(a) peak resident $PEAK_KB kB, keys in so far $(session_field "$U1" bytes_in)"
	paste_judged "(a)" "$rc" "$a_pid" \
	    "3 MB of keys to a client that does not read" || return
	e2e_ok "(a) the session lives on" 'kill -0 "$a_pid"'
	e2e_ok "(a) the broker lives on" 'kill -0 "$BROKER_PID"'
	e2e_eq "(a) the broker still counts the session" \
	    "$(e2e_sessions "$U1" | awk '{print $2}')" menu
	# The client reads again: what was held back goes out, and the menu
	# answers a key sent after the paste, then q.
	cat <&8 >"$T/a.log" &
	a_read=$!
	E2E_PIDS="$E2E_PIDS $a_read"
	send_keys 7 x || e2e_fail "(a) the client takes no more keys"
	e2e_ok "(a) the menu answers once the client reads again" \
	    'e2e_wait 120 grep -q "There is no choice .x." "$T/a.log"'
	send_keys 7 q
	e2e_ok "(a) q still says goodbye" \
	    'e2e_wait 30 grep -q "Goodbye from DungeonGate" "$T/a.log"'
	e2e_ok "(a) the session ends" 'e2e_wait 10 e2e_gone "$a_pid"'
	wait "$a_ssh"
	e2e_eq "(a) ssh exits 0" "$?" 0
}
part_a
kill "${a_feed:-}" "${a_ssh:-}" "${a_read:-}" 2>/dev/null
exec 7>&- 8>&-

# ---- (b) 1 MB pasted through tmux ---------------------------------------

part_b() {
	local rc
	e2e_ssh_term b "$U2"
	e2e_wait_screen b 'Your choice' || { e2e_fail "(b) no menu"; return; }
	e2e_wait 10 in_menu "$U2" ||
	    { e2e_fail "(b) the broker has no menu session for $U2"; return; }
	b_pid=$(menu_pid "$U2")
	e2e_tmux load-buffer -b junk "$T/junk1m" ||
	    { e2e_fail "(b) tmux load-buffer"; return; }
	e2e_tmux paste-buffer -d -b junk -t b ||
	    { e2e_fail "(b) tmux paste-buffer"; return; }
	watch_session "$b_pid" 120 keys_in "$U2" $((1024 * 1024))
	rc=$?
	e2e_log "(b) peak resident $PEAK_KB kB, keys in $(session_field "$U2" bytes_in)"
	paste_judged "(b)" "$rc" "$b_pid" "1 MB pasted through tmux" || return
	e2e_keys b x
	e2e_expect_screen "(b) the menu answers after the paste" b \
	    "There is no choice 'x'" 30
	e2e_keys b q
	e2e_expect_screen "(b) q says goodbye" b 'Goodbye from DungeonGate' 10
	e2e_expect_screen "(b) and exits 0" b '^\[exit 0\]' 10
	e2e_ok "(b) the broker lives on" 'kill -0 "$BROKER_PID"'
}
part_b

# ---- (c) the menu's output is held to the bandwidth share ----------------

part_c() {
	local r keys
	mkfifo "$T/c.in" "$T/c.out"
	exec 5<>"$T/c.in" 6<>"$T/c.out"
	timeout 300 $(e2e_ssh_cmd "$U3") -tt <"$T/c.in" >"$T/c.out" 2>/dev/null &
	c_ssh=$!
	E2E_PIDS="$E2E_PIDS $c_ssh"
	share_set() { [ "$(session_field "$U3" bandwidth)" = "$SHARE" ]; }
	e2e_wait 20 in_menu "$U3" || { e2e_fail "(c) no menu for $U3"; return; }
	e2e_ok "(c) the session's share is 4KB/s" 'e2e_wait 10 share_set'
	c_pid=$(menu_pid "$U3")
	cat "$T/junk3m" >&5 &
	c_feed=$!
	E2E_PIDS="$E2E_PIDS $c_feed"
	# Skip what went out before the share and its first burst; measure.
	r=$("$METER" 2000 5000 <&6 | sed -n 's/.*rate=//p')
	keys=$(session_field "$U3" bytes_in)
	e2e_log "(c) the menu's output under a paste: $r bytes/s (share $SHARE), keys in $keys"
	e2e_ok "(c) the session lives on" 'kill -0 "$c_pid"'
	# Nothing reads the client now: it goes.
	kill "$c_feed" "$c_ssh" 2>/dev/null
	e2e_ok "(c) the session ends with its client" 'e2e_wait 10 e2e_gone "$c_pid"'
	e2e_ok "(c) keys were pasted all along (over 10 KB in)" '[ "$keys" -gt 10240 ]'
	# A read of keys waits for the screen it caused to go out: at the
	# share, a few hundred reads of 4 KB in these seconds at most.
	e2e_ok "(c) the keys wait for the menu's output (under 1 MB of 3 MB in)" \
	    '[ "$keys" -lt $((1024 * 1024)) ]'
	# The share, and at most one burst (a second's worth at this rate:
	# 20% of the 5 s measured) saved up while the session waited for CPU.
	e2e_ok "(c) the menu's output stays at the share (at most +25%)" \
	    '[ "$r" -le $(( SHARE * 125 / 100 )) ]'
	e2e_ok "(c) and uses it (at least half)" '[ "$r" -ge $(( SHARE / 2 )) ]'
	e2e_match "(c) holds for the share counted" \
	    "$(e2e_status | jq .violations.bandwidth)" '^[1-9]'
}
part_c
kill "${c_feed:-}" "${c_ssh:-}" 2>/dev/null
exec 5>&- 6>&-

e2e_ok "the broker lives on" 'kill -0 "$BROKER_PID"'
e2e_ok "the broker counts no sessions" 'e2e_wait 10 e2e_status_is .connection_pool.active 0'
e2e_done
