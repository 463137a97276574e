#!/bin/bash
#
# The soak: an hour (SOAK_SECONDS; --quick: 3 minutes) of sessions
# arriving at a steady rate against a real dg-broker, each holding for a
# random while, a share of them killed with SIGKILL, and the broker
# restarted a few times along the way (SIGTERM and a fresh start at a
# quarter and at half the run, kill -9 and a fresh start at three
# quarters). Every SOAK_EVERY seconds it prints the elapsed time, the
# broker's RSS and descriptors, the sessions live, and the attempts with
# their outcomes; at the end it checks that every attempt had one:
# admitted + refused + unanswered == attempts, where "unanswered" is a
# client that could not connect (the broker was restarting) or got no
# answer before its connection closed. Exits non-zero if not, or if the
# broker died by itself.
#
#   bash tests/bench/soak.sh BUILDDIR [--quick]
#
# SOAK_RATE sessions a second (default 2), SOAK_HOLD the longest hold in
# seconds (default 30; each holds 2 s to that), SOAK_KILL the percentage
# killed with SIGKILL instead of leaving (default 20), SOAK_USERS the
# accounts they come from (default 3: with the default tier's 10
# sessions each, the busiest moments bring refusals), SOAK_EVERY the seconds between
# lines (default 60, 10 with --quick).
#
# No sshd and no game: each session is tests/tools/dg-wire speaking the
# session's hello over the broker's socket as one of the soak's own
# users, then holding the connection (a session at its menu), so that
# what is measured is the broker alone. Runs as root: it makes a group,
# SOAK_USERS locked users with no home and shell nologin, and the
# broker's own user, and removes them, and only them, however it ends.
# Prints figures; the exit status says whether every attempt was
# accounted for, never how fast anything was.

set -eu

usage() {
	echo "usage: soak.sh BUILDDIR [--quick]" >&2
	exit 64
}
[ $# -ge 1 ] || usage
builddir=$(cd "$1" && pwd)
shift
quick=
case ${1:-} in
--quick) quick=1 ;;
'') ;;
*) usage ;;
esac
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
broker=$builddir/dg-broker
wire=$builddir/tests/tools/dg-wire

if [ -n "$quick" ]; then
	seconds=${SOAK_SECONDS:-180}
	every=${SOAK_EVERY:-10}
else
	seconds=${SOAK_SECONDS:-3600}
	every=${SOAK_EVERY:-60}
fi
rate=${SOAK_RATE:-2}
hold=${SOAK_HOLD:-30}
killpct=${SOAK_KILL:-20}
nusers=${SOAK_USERS:-3}
for v in seconds every rate hold killpct nusers; do
	case ${!v} in
	'' | *[!0-9]*)
		echo "soak.sh: $v must be a whole number: ${!v}" >&2
		exit 64
		;;
	esac
done
if [ "$seconds" -lt 20 ] || [ "$every" -lt 1 ] || [ "$rate" -lt 1 ] ||
    [ "$hold" -lt 2 ] || [ "$killpct" -gt 100 ] || [ "$nusers" -lt 1 ] ||
    [ "$nusers" -gt 100 ]; then
	echo "soak.sh: SOAK_SECONDS >= 20, SOAK_EVERY >= 1, SOAK_RATE >= 1," \
	    "SOAK_HOLD >= 2, SOAK_KILL <= 100, 1 <= SOAK_USERS <= 100" >&2
	exit 64
fi
for f in "$broker" "$wire"; do
	if [ ! -x "$f" ]; then
		echo "soak.sh: $f is not built (make && make check TESTS=)" >&2
		exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "soak.sh: needs root (it makes throwaway users)" >&2
	exit 1
fi
for tool in groupadd groupdel useradd userdel setpriv getent; do
	if ! command -v "$tool" >/dev/null; then
		echo "soak.sh: $tool is needed (packages passwd, util-linux)" >&2
		exit 1
	fi
done

. "$srcdir/tests/bench/lib.sh"

nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/bin/false
tmp=
group=
users=
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
prefix=dgxs$suffix

declare -A c_end c_kill c_out
live=0 attempts=0 admitted=0 refused=0 unanswered=0 killed=0 restarts=0

# End every client still running, by its pid.
clients_stop() {
	local pid
	for pid in "${!c_end[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# Stop clients and broker, remove our users, group and temp dir, however
# we leave.
cleanup() {
	local rc=$? u
	trap '' INT TERM HUP PIPE
	clients_stop
	bench_broker_stop
	bench_user_remove
	for u in $users; do
		userdel "$u" 2>/dev/null || { echo "soak.sh: userdel $u failed" >&2; rc=1; }
	done
	if [ -n "$group" ]; then
		groupdel "$group" || rc=1
	fi
	[ -z "$tmp" ] || rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
trap 'exit 141' PIPE

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-soak.XXXXXX")
chmod 711 "$tmp"
mkdir "$tmp/c"
groupadd "$prefix"
group=$prefix
for i in $(seq "$nusers"); do
	u=$prefix$i
	useradd --no-create-home --home-dir /nonexistent --shell "$nologin" \
	    -g "$group" "$u"
	users="$users $u"
done
uids=()
for u in $users; do uids+=("$(id -u "$u")"); done
gid=$(getent group "$group" | cut -d: -f3)
bench_user_make
# An idle machine as load shedding reads it: the soak is about the
# broker, not about who else runs on this one.
printf 'cpu  100 0 100 10000 0 0 0 0 0 0\n' >"$tmp/calm.stat"
printf 'MemTotal:       8000000 kB\nMemFree:        7000000 kB\nMemAvailable:   7000000 kB\n' \
    >"$tmp/calm.meminfo"
cat >"$tmp/dg.ini" <<INI
[broker]
socket = $tmp/broker.sock
socket_group = $group
admin_group = $group
log_level = info
${bench_user:+user = $bench_user}
[http]
listen =
[load_shedding]
stat_file = $tmp/calm.stat
meminfo_file = $tmp/calm.meminfo
[recording]
enabled = false
INI
chmod 644 "$tmp/dg.ini" "$tmp/calm.stat" "$tmp/calm.meminfo"
sock=$tmp/broker.sock

# Milliseconds since the start.
now_ms() { echo $(( ($(date +%s%N) - start_ns) / 1000000 )); }

# One session: dg-wire as one of our users says hello and waits for the
# answer, then holds the connection without reading (as a session at its
# menu does) until we end it: soak_client HOLD_MS KILL.
soak_client() {
	local ms=$1 kill=$2 n=$((attempts % nusers)) out pid
	out=$tmp/c/$attempts
	setpriv --reuid="${uids[$n]}" --regid="$gid" --clear-groups \
	    "$wire" "$sock" -t $((ms + 10000)) \
	    -j '{"type":"hello","version":1,"client":"session","term":"xterm","cols":80,"rows":24,"remote":"127.0.0.1:1"}' \
	    -c -w "$tmp/never" >"$out" 2>&1 &
	pid=$!
	c_end[$pid]=$(( $(now_ms) + ms ))
	c_kill[$pid]=$kill
	c_out[$pid]=$out
	attempts=$((attempts + 1))
	live=$((live + 1))
}

# What became of a client, from the first frame it read.
soak_outcome() {
	local first
	first=$(head -n 5 "$1" 2>/dev/null)
	case $first in
	*'"type":"ticket"'*) admitted=$((admitted + 1)) ;;
	*'"type":"refused"'* | *'"type":"error"'* | *'"type":"bye"'*)
		refused=$((refused + 1)) ;;
	*) unanswered=$((unanswered + 1)) ;;
	esac
}

# End the clients whose hold is over: leave (SIGTERM: the connection
# closes as a session's does) or, for the share chosen, SIGKILL once the
# broker has answered.
soak_reap() {
	local t pid sig
	t=$(now_ms)
	for pid in "${!c_end[@]}"; do
		if kill -0 "$pid" 2>/dev/null && [ "${c_end[$pid]}" -gt "$t" ]; then
			continue
		fi
		sig=TERM
		if [ "${c_kill[$pid]}" = 1 ] && [ -s "${c_out[$pid]}" ]; then
			sig=KILL
			killed=$((killed + 1))
		fi
		kill "-$sig" "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		soak_outcome "${c_out[$pid]}"
		rm -f "${c_out[$pid]}"
		unset "c_end[$pid]" "c_kill[$pid]" "c_out[$pid]"
		live=$((live - 1))
	done
}

# The broker's resident memory in kB and its open descriptors.
soak_rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$broker_pid/status" 2>/dev/null || echo -; }
soak_fds() { find "/proc/$broker_pid/fd" -mindepth 1 2>/dev/null | wc -l; }

soak_line() {
	printf '%8s %9s %5s %5s %8s %8s %7s %10s %6s %8s\n' \
	    "$(( $(now_ms) / 1000 ))" "$(soak_rss)" "$(soak_fds)" "$live" \
	    "$attempts" "$admitted" "$refused" "$unanswered" "$killed" \
	    "$restarts"
}

# Restart the broker: SIGTERM (or kill -9) now, and a fresh start once
# it is gone (soak_restart_tick, from the loop: sessions keep arriving
# meanwhile, and find no broker).
stopping=
stop_deadline=
soak_restart() {
	stopping=$1
	stop_deadline=$(( $(now_ms) + 15000 ))
	kill "-$1" "$broker_pid" 2>/dev/null || true
}

soak_restart_tick() {
	[ -n "$stopping" ] || return 0
	if kill -0 "$broker_pid" 2>/dev/null; then
		if [ "$(now_ms)" -gt "$stop_deadline" ]; then
			echo "soak.sh: dg-broker outlived SIG$stopping by 15 s" >&2
			exit 1
		fi
		return 0
	fi
	# (Quietly: bash would report a kill -9 of its child.)
	{ wait "$broker_pid"; } 2>/dev/null || true
	cp "$tmp/broker.log" "$tmp/broker.log.$restarts"
	"$broker" -D -f "$tmp/dg.ini" 2>"$tmp/broker.log" &
	broker_pid=$!
	broker_pids=$broker_pid
	restarts=$((restarts + 1))
	echo "# restarted after SIG$stopping at $(( $(now_ms) / 1000 )) s"
	stopping=
}

echo "DungeonGate soak: ${seconds} s, $rate sessions/s holding 2-$hold s," \
    "$killpct% killed with SIGKILL, $nusers users; restarts at 1/4," \
    "1/2 (SIGTERM) and 3/4 (SIGKILL)"
bench_machine
bench_build
bench_broker_start soak.sh
start_ns=$(date +%s%N)
printf '%8s %9s %5s %5s %8s %8s %7s %10s %6s %8s\n' seconds rss_kb fds \
    live attempts admitted refused unanswered killed restarts
soak_line
next_line=$((every * 1000))
restart_at=( $((seconds * 250)) $((seconds * 500)) $((seconds * 750)) )
restart_sig=( TERM TERM KILL )
r=0
interval=$((1000 / rate))
next_arrival=0
end_ms=$((seconds * 1000))
while :; do
	t=$(now_ms)
	[ "$t" -lt "$end_ms" ] || break
	while [ "$next_arrival" -le "$t" ]; do
		ms=$(( 2000 + (RANDOM * 32768 + RANDOM) % ((hold - 2) * 1000 + 1) ))
		k=$(( RANDOM % 100 < killpct ? 1 : 0 ))
		soak_client "$ms" "$k"
		next_arrival=$((next_arrival + interval))
	done
	soak_reap
	soak_restart_tick
	if [ "$r" -lt 3 ] && [ "$t" -ge "${restart_at[$r]}" ] && [ -z "$stopping" ]; then
		soak_restart "${restart_sig[$r]}"
		r=$((r + 1))
	fi
	if [ "$t" -ge "$next_line" ]; then
		soak_line
		next_line=$((next_line + every * 1000))
	fi
	[ -n "$stopping" ] || bench_broker_alive soak.sh || exit 1
	sleep 0.05
done

# No more arrivals: let every hold run out, then the last line.
while [ "$live" -gt 0 ] || [ -n "$stopping" ]; do
	soak_reap
	soak_restart_tick
	sleep 0.1
done
soak_line
echo "attempts $attempts: admitted $admitted, refused $refused," \
    "unanswered $unanswered (killed $killed, restarts $restarts)"
# The broker's own account, over all its lives: each admission and each
# refusal it logged. A client it answered just before a kill -9 may not
# have read the answer, so it may count as unanswered here.
cat "$tmp"/broker.log.* "$tmp/broker.log" >"$tmp/broker.all"
b_admitted=$(grep -c ' msg=admitted ' "$tmp/broker.all" || true)
b_refused=$(grep -cE ' msg=(refused|"connection refused[^"]*") ' "$tmp/broker.all" || true)
echo "broker logged: admitted $b_admitted, refused $b_refused"
rc=0
if [ $((admitted + refused + unanswered)) -ne "$attempts" ]; then
	echo "soak.sh: admitted + refused + unanswered != attempts" >&2
	rc=1
fi
if [ "$b_admitted" -lt "$admitted" ] ||
    [ "$b_admitted" -gt $((admitted + unanswered)) ]; then
	echo "soak.sh: the broker logged $b_admitted admissions, the" \
	    "clients saw $admitted ($unanswered unanswered)" >&2
	rc=1
fi
if [ "$b_refused" -lt "$refused" ] ||
    [ "$b_refused" -gt $((refused + unanswered)) ]; then
	echo "soak.sh: the broker logged $b_refused refusals, the clients" \
	    "saw $refused ($unanswered unanswered)" >&2
	rc=1
fi
[ "$rc" = 0 ] || exit 1
echo "every attempt accounted for"
