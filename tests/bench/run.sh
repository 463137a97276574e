#!/bin/bash
#
# The relay benchmark: echo latency and bulk throughput through no relay,
# script(1) and dg-session (with a real dg-broker), side by side.
#
#   bash tests/bench/run.sh BUILDDIR [bench-relay options]
#
# Prints figures only; the exit status says whether the run worked, never
# how fast it was.

set -eu

if [ $# -lt 1 ]; then
	echo "usage: run.sh BUILDDIR [bench-relay options]" >&2
	exit 64
fi
builddir=$(cd "$1" && pwd)
shift
bench=$builddir/tests/bench/bench-relay
broker=$builddir/dg-broker
session=$builddir/dg-session
size=${DG_BENCH_BYTES:-$((64 * 1024 * 1024))}

for f in "$bench" "$broker" "$session"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f is not built" >&2
		exit 1
	fi
done
if ! command -v script >/dev/null; then
	echo "run.sh: script(1) (util-linux) is needed for the baseline" >&2
	exit 1
fi
case $bench in
*[[:space:]]*)
	# Game commands are split on spaces.
	echo "run.sh: the build directory must not contain spaces" >&2
	exit 1
	;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-bench.XXXXXX")
top=$tmp
. "$(dirname "$0")/lib.sh"
watched_pid=

# Stop the brokers by their pids and remove the temp dir, however we leave.
cleanup() {
	tmp=$top
	bench_broker_stop
	if [ -n "$watched_pid" ]; then
		broker_pid=$watched_pid
		bench_broker_stop
	fi
	bench_user_remove
	rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
bench_user_make
# The broker, once unprivileged, removes its socket from here.
[ -z "$bench_user" ] || { chmod 755 "$tmp"; chown "$bench_user" "$tmp"; }

cat >"$tmp/dg.ini" <<EOF
[broker]
socket = $tmp/broker.sock
socket_group = $(id -gn)
log_level = warn
${bench_user:+user = $bench_user}

; The benchmark loads the machine on purpose: no shedding.
[load_shedding]
enabled = false

[http]
listen =

[recording]
enabled = false

; The relay itself is measured: no bandwidth, CPU or memory limit in the
; way (a sanitized bench-relay needs a vast address space).
[limits]
max_bandwidth = 1TB/s
max_memory = 64TB

[quota:default]
max_bandwidth = 1TB/s
max_cpu_cores = 1024
max_memory = 64TB

[game:echo]
name = Echo
key = a
memory = 16TB
command = $bench --echo

[game:spew]
name = Spew
key = b
memory = 16TB
command = $bench --spew $size
EOF

# A second broker that records every game, for the relay with a watcher.
mkdir "$top/watched"
[ -z "$bench_user" ] || chown "$bench_user" "$top/watched"
sed -e "s|^socket = .*|socket = $top/watched/broker.sock|" \
    -e "/^\[recording\]/,/^\$/s|^enabled = false|enabled = true\\ndir = $top/watched/rec|" \
    "$top/dg.ini" > "$top/watched/dg.ini"

tmp=$top/watched
bench_broker_start run.sh
watched_pid=$broker_pid
tmp=$top
bench_broker_start run.sh
bench_machine
status=0
"$bench" -d "$session" -f "$tmp/dg.ini" -F "$top/watched/dg.ini" \
    -s "$size" "$@" || status=$?

bench_broker_alive run.sh || exit 1
broker_pid=$watched_pid tmp=$top/watched bench_broker_alive run.sh || exit 1
exit $status
