#!/bin/bash
#
# The auth service benchmark: admissions per second and hello-to-ticket
# times of one user, from the socket, through four real dg-brokers that
# differ only in [auth]:
#
#   local policy   no [auth] url: Unix groups decide, as without a service
#   warm cache     the test auth service, ttl 86400: after the first login
#                  every admission uses the verdict the broker keeps
#   cold cache     a second test auth service, ttl 0: every admission is
#                  an HTTP call
#   breaker open   a port nobody listens on, failure_threshold 1, a day's
#                  recovery_timeout, on_failure allow: after the first
#                  failed call no call is made
#
#   bash tests/bench/auth.sh BUILDDIR [bench-admit options]
#
# Before the brokers start, the cold-cache service is measured alone:
# DG_BENCH_SERVICE_N (default 2000) requests in turn over one kept-alive
# connection with curl(1), three times. DG_BENCH_CPU is the CPU that the
# brokers, the services, curl and the benchmark share (default: the last
# this script may use; none: wherever the scheduler puts them). Runs as
# root: it makes a group, an admin group and one locked user with no home
# of its own and shell nologin, and removes them, and only them, however
# it ends; every process it starts is stopped by its pid. Prints figures
# only; the exit status says whether the run worked (and each row did
# what its label says), never how fast it was.

set -eu

if [ $# -lt 1 ]; then
	echo "usage: auth.sh BUILDDIR [bench-admit options]" >&2
	exit 64
fi
builddir=$(cd "$1" && pwd)
shift
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
bench=$builddir/tests/bench/bench-admit
broker=$builddir/dg-broker
authd=$srcdir/tests/tools/dg-authd.py
service_n=${DG_BENCH_SERVICE_N:-2000}

for f in "$bench" "$broker"; do
	if [ ! -x "$f" ]; then
		echo "auth.sh: $f is not built" >&2
		exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "auth.sh: needs root (it makes a throwaway user)" >&2
	exit 1
fi
for tool in groupadd groupdel useradd userdel getent python3 curl jq; do
	if ! command -v "$tool" >/dev/null; then
		echo "auth.sh: $tool is needed" >&2
		exit 1
	fi
done
case $service_n in
'' | *[!0-9]*)
	echo "auth.sh: DG_BENCH_SERVICE_N must be a count: $service_n" >&2
	exit 64
	;;
esac
service_n=$((10#$service_n))
if [ "$service_n" -lt 1 ] || [ "$service_n" -gt 100000 ]; then
	echo "auth.sh: DG_BENCH_SERVICE_N is 1 to 100000" >&2
	exit 64
fi
python=$(command -v python3)

. "$srcdir/tests/bench/lib.sh"

# An admission is a ping-pong between the benchmark, a broker and, for
# a call, the service: one CPU is all they need, and sharing one they
# are not woken across CPUs (see BENCHMARKS.md, "Admission").
bench_pin auth.sh
nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/bin/false

tmp=
group=
group_made=
admin_made=
user_made=
service_pids=
bench_pid=

# Unique, short names: users and groups are system-wide. The x keeps
# them apart from the end-to-end tests' (dg, dgt or dga and hex digits).
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
prefix=dgx$suffix
user=${prefix}m
admin_group=${prefix}a

# Stop one process we started, by its pid: SIGTERM, up to 5 s, SIGKILL.
bench_stop_pid() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Stop the brokers and the services by their pids, remove our user,
# groups and temp dir, however we leave; a second Ctrl-C must not leave
# them behind.
cleanup() {
	local rc=$? pid
	trap '' INT TERM HUP PIPE
	if [ -n "$bench_pid" ]; then
		bench_stop_pid "$bench_pid"
	fi
	bench_broker_stop
	for pid in $service_pids; do
		bench_stop_pid "$pid"
	done
	bench_user_remove
	if [ -n "$user_made" ]; then
		userdel "$user" || rc=1
	fi
	if [ -n "$group_made" ]; then
		groupdel "$group" || rc=1
	fi
	if [ -n "$admin_made" ]; then
		groupdel "$admin_group" || rc=1
	fi
	if [ -n "$tmp" ]; then
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
# Output into a pipe that closed (| head) must not skip the cleanup.
trap 'exit 141' PIPE

# Start a test auth service, its files $tmp/NAME.*: authd_start NAME.
# Sets svc_port, svc_ctl and svc_pid. Another program may take a port
# first: then try others.
authd_start() {
	local name=$1 try i
	for try in 1 2 3 4 5; do
		svc_port=$(bench_port) && svc_ctl=$(bench_port) || exit 1
		[ "$svc_port" != "$svc_ctl" ] || continue
		rm -f "$tmp/$name.ready"
		"${pin[@]}" "$python" "$authd" serve "$svc_port" "$svc_ctl" \
		    --parent $$ --ready "$tmp/$name.ready" >>"$tmp/$name.log" 2>&1 &
		svc_pid=$!
		service_pids="$service_pids $svc_pid"
		for i in $(seq 100); do
			[ ! -f "$tmp/$name.ready" ] || return 0
			kill -0 "$svc_pid" 2>/dev/null || break
			sleep 0.1
		done
		bench_stop_pid "$svc_pid"
	done
	echo "auth.sh: the $name auth service did not start:" >&2
	tail -n 5 "$tmp/$name.log" >&2
	exit 1
}

# Tell a test auth service what to answer: authd_set CTLPORT MODE [K=V...].
authd_set() {
	local ctl=$1
	shift
	"$python" "$authd" ctl "$ctl" set "$@" >/dev/null || {
		echo "auth.sh: cannot set the auth service on $ctl to $*" >&2
		exit 1
	}
}

# The requests a test auth service got from USER: authd_count CTLPORT USER.
authd_count() {
	"$python" "$authd" ctl "$1" stats | jq -r --arg u "$2" '.users[$u] // 0'
}

# Hold a port on 127.0.0.1 that is bound and never listens, so a
# connection to it is refused and no other program can serve it; prints
# the port in FILE and lives until its parent is gone or it is stopped.
holder_py='
import os, socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
parent = int(sys.argv[2])
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        sys.exit(0)
    time.sleep(0.2)
'

# A broker's directory, with the lines every configuration has and then
# those of stdin: bench_config NAME.
bench_config() {
	local dir=$tmp/$1
	mkdir "$dir"
	# The user connects to the broker's socket in here.
	chmod 711 "$dir"
	{
		cat <<EOF
[broker]
socket = $dir/broker.sock
socket_group = $group
admin_group = $admin_group
log_level = warn
user = $bench_user

; The benchmark loads the machine on purpose: no shedding.
[load_shedding]
enabled = false

EOF
		cat
	} >"$dir/dg.ini"
}

# The CPU time of a process so far, its ended threads' too, in
# microseconds (user and system, to the clock tick).
bench_cpu_us() {
	sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$(getconf CLK_TCK)" \
	    '{ printf "%.0f\n", ($12 + $13) * 1e6 / hz }'
}

# A broker's --status, or a jq filter on it: bench_status NAME FILTER.
bench_status() {
	"$broker" --status -f "$tmp/$1/dg.ini" | jq -r "$2"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-bench-auth.XXXXXX")
chmod 711 "$tmp"
mkdir "$tmp/home"

if getent passwd "$user" >/dev/null || getent group "$prefix" >/dev/null ||
    getent group "$admin_group" >/dev/null; then
	echo "auth.sh: a user or group named $prefix... exists already" >&2
	exit 1
fi
groupadd "$prefix"
group=$prefix
group_made=1
groupadd "$admin_group"
admin_made=1
useradd -g "$group" -M -N -d "$tmp/home" -s "$nologin" \
    -c "DungeonGate benchmark" "$user"
user_made=1
# The account must be locked: no password can log in.
if ! awk -F: -v u="$user" '$1 == u && $2 ~ /^[!*]/ { ok = 1 }
    END { exit !ok }' /etc/shadow; then
	echo "auth.sh: $user has a password" >&2
	exit 1
fi
uid=$(id -u "$user")

# The services: the warm cache's keeps its verdict a day, the cold
# cache's for no time at all; and the port of the open breaker.
authd_start warm
warm_port=$svc_port warm_ctl=$svc_ctl
authd_set "$warm_ctl" ok ttl=86400
authd_start cold
cold_port=$svc_port cold_ctl=$svc_ctl cold_svc=$svc_pid
authd_set "$cold_ctl" ok ttl=0
"${pin[@]}" "$python" -c "$holder_py" "$tmp/closed.port" $$ &
service_pids="$service_pids $!"
for i in $(seq 100); do
	[ ! -f "$tmp/closed.port" ] || break
	sleep 0.1
done
if [ ! -f "$tmp/closed.port" ]; then
	echo "auth.sh: no closed port in 10 s" >&2
	exit 1
fi
closed_port=$(cat "$tmp/closed.port")

# The cold-cache service alone: the request the broker makes, in turn
# over one kept-alive connection, as a worker's handle makes them.
body=$(jq -cn --arg u "$user" --argjson uid "$uid" --arg g "$group" \
    --arg n "$(uname -n)" '{user: $u, uid: $uid, groups: [$g],
    remote_addr: "127.0.0.1:40000", node: $n, service: "dungeongate",
    command: ""}')
bench_service() {
	local t0 t1 c0 c1
	c0=$(bench_cpu_us "$cold_svc")
	t0=$(date +%s%N)
	"${pin[@]}" curl -sS --max-time 120 -o /dev/null \
	    -w '%{time_total} %{http_code} %{num_connects}\n' \
	    -H 'Content-Type: application/json' -A "DungeonGate/bench" \
	    -d "$body" "http://127.0.0.1:$cold_port/v1/authorize?[1-$service_n]" \
	    >"$tmp/service.times" || return 1
	t1=$(date +%s%N)
	c1=$(bench_cpu_us "$cold_svc")
	# Requests/s, the p50 and p99 (nearest rank) in ms, the service's
	# CPU per request in us.
	sort -n "$tmp/service.times" | awk -v n="$service_n" -v ns=$((t1 - t0)) \
	    -v cpu=$((c1 - c0)) '
	    $2 != 200 { bad++ } { c += $3; t[NR] = $1 * 1e3 }
	    END {
		if (NR != n || bad > 0 || c != 1) {
			printf "auth.sh: %d of %d answers, %d not 200, %d " \
			    "connections\n", NR, n, bad, c > "/dev/stderr"
			exit 1
		}
		p50 = int((n * 50 + 99) / 100)
		p99 = int((n * 99 + 99) / 100)
		printf "%.0f %.3f %.3f %.0f\n", n / (ns / 1e9), t[p50], t[p99],
		    cpu / n
	    }'
}
service_rows=
for k in 1 2 3; do
	service_rows="$service_rows$(bench_service)
"
done
# Its counts start from zero for the brokers.
"$python" "$authd" ctl "$cold_ctl" reset >/dev/null

bench_user_make
bench_config local </dev/null
bench_config warm <<EOF
[auth]
url = http://127.0.0.1:$warm_port/v1/authorize
EOF
bench_config cold <<EOF
[auth]
url = http://127.0.0.1:$cold_port/v1/authorize
EOF
bench_config open <<EOF
[auth]
url = http://127.0.0.1:$closed_port/v1/authorize
on_failure = allow

[circuit_breaker]
failure_threshold = 1
recovery_timeout = 24h
EOF
bench_broker_start_in "$tmp/local" auth.sh "${pin[@]}"
local_pid=$broker_pid
bench_broker_start_in "$tmp/warm" auth.sh "${pin[@]}"
warm_pid=$broker_pid
bench_broker_start_in "$tmp/cold" auth.sh "${pin[@]}"
cold_pid=$broker_pid
bench_broker_start_in "$tmp/open" auth.sh "${pin[@]}"
open_pid=$broker_pid

bench_machine
bench_build
echo "service: tests/tools/dg-authd.py, Python $("$python" -c \
    'import platform; print(platform.python_version())'), ThreadingHTTPServer"
if [ "$cpu" = none ]; then
	echo "CPU: the brokers, the services and the benchmark wherever the" \
	    "scheduler puts them"
else
	echo "CPU: the brokers, the services and the benchmark share CPU $cpu"
fi
echo
echo "the cold-cache service alone: $service_n requests in turn over one" \
    "connection (curl), 3 times"
printf '%s' "$service_rows" | awk '{ printf "  %6d requests/s   p50 %6.3f ms" \
    "   p99 %6.3f ms   service CPU %4d us a request\n", $1, $2, $3, $4 }'
echo

# In the background, so that a signal to this script stops it at once.
status=0
cold_cpu0=$(bench_cpu_us "$cold_svc")
"${pin[@]}" "$bench" -s "$tmp/local/broker.sock" -b "$local_pid" \
    -L "local policy" -u "$user" \
    -S "$tmp/warm/broker.sock,warm cache,$warm_pid" \
    -S "$tmp/cold/broker.sock,cold cache,$cold_pid" \
    -S "$tmp/open/broker.sock,breaker open,$open_pid" "$@" &
bench_pid=$!
wait "$bench_pid" || status=$?
bench_pid=
cold_cpu1=$(bench_cpu_us "$cold_svc")

alive=1
bench_broker_alive auth.sh "$tmp/local" "$local_pid" || alive=
bench_broker_alive auth.sh "$tmp/warm" "$warm_pid" || alive=
bench_broker_alive auth.sh "$tmp/cold" "$cold_pid" || alive=
bench_broker_alive auth.sh "$tmp/open" "$open_pid" || alive=
[ -n "$alive" ] || exit 1
[ "$status" = 0 ] || exit "$status"

# Each row did what its label says, by the brokers' and services' counts.
outcomes='.auth.outcomes_total'
failed="$outcomes | .fail_connect + .fail_timeout + .fail_status + .fail_body"
decided="$outcomes | .allow + .deny + .fail_connect + .fail_timeout +
    .fail_status + .fail_body + .skipped"
check() {
	if [ "$2" != "$3" ]; then
		echo "auth.sh: $1: $2, not $3" >&2
		status=1
	fi
}
check "local policy: the auth service in use" \
    "$(bench_status local .auth.enabled)" false

warm_n=$(bench_status warm "$decided")
warm_calls=$(authd_count "$warm_ctl" "$user")
check "warm cache: calls" "$warm_calls" 1
check "warm cache: admissions allowed" "$(bench_status warm \
    "$outcomes.allow")" "$warm_n"

cold_n=$(bench_status cold "$decided")
cold_calls=$(authd_count "$cold_ctl" "$user")
check "cold cache: failed calls" "$(bench_status cold "$failed")" 0
check "cold cache: calls" "$cold_calls" "$cold_n"
check "cold cache: admissions allowed" "$(bench_status cold \
    "$outcomes.allow")" "$cold_n"

open_n=$(bench_status open "$decided")
check "breaker open: its state" "$(bench_status open .auth.breaker.state)" \
    open
check "breaker open: times it opened" "$(bench_status open \
    .auth.breaker.transitions_total.open)" 1
check "breaker open: failed calls" "$(bench_status open "$failed")" 1
check "breaker open: admissions with no call" "$(bench_status open \
    "$outcomes.skipped")" $((open_n - 1))

echo
echo "calls to the auth service during the run, by the brokers' counts:"
echo "  warm cache    $warm_calls for $warm_n admissions (the service's count)"
echo "  cold cache    $cold_calls for $cold_n admissions (the service's count);" \
    "the service's CPU $(( (cold_cpu1 - cold_cpu0) / (cold_calls > 0 ? cold_calls : 1) )) us a call"
echo "  breaker open  1 refused connection, then $((open_n - 1)) admissions" \
    "with no call"

for b in local warm cold open; do
	if [ -s "$tmp/$b/broker.log" ]; then
		echo "broker log of $b (warnings and errors):"
		tail -n 5 "$tmp/$b/broker.log"
	fi
done
exit $status
