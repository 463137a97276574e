#!/bin/bash
#
# The watching benchmark: watcher lag, a late watcher's first screen after
# 1 MB and 100 MB of game output, the player's throughput with 0, 1 and
# 100 watchers and one stopped watcher, and the broker's CPU and memory,
# against a real dg-broker that records the game.
#
#   bash tests/bench/watch.sh BUILDDIR [bench-watch options]
#
# Prints figures only; the exit status says whether the run worked, never
# how fast it was.

set -eu

if [ $# -lt 1 ]; then
	echo "usage: watch.sh BUILDDIR [bench-watch options]" >&2
	exit 64
fi
builddir=$(cd "$1" && pwd)
shift
bench=$builddir/tests/bench/bench-watch
broker=$builddir/dg-broker
session=$builddir/dg-session
for f in "$bench" "$broker" "$session"; do
	if [ ! -x "$f" ]; then
		echo "watch.sh: $f is not built" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-bench-watch.XXXXXX")
. "$(dirname "$0")/lib.sh"
cleanup() {
	bench_broker_stop
	bench_user_remove
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
bench_user_make
# The broker, once unprivileged, removes its socket from here and writes
# the recordings under it.
mkdir "$tmp/rec"
[ -z "$bench_user" ] || { chmod 755 "$tmp"; chown "$bench_user" "$tmp" "$tmp/rec"; }

cat >"$tmp/dg.ini" <<INI
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
dir = $tmp/rec

[spectate]
max_watchers_per_game = 200

; The player and a hundred watchers are one user here.
[limits]
max_bandwidth = 1TB/s
max_memory = 64TB

[quota:default]
max_connections = 1000
max_bandwidth = 1TB/s
max_cpu_cores = 1024
max_memory = 64TB

[game:watchbench]
name = Watch bench
key = a
memory = 16TB
command = $bench --game
INI

bench_broker_start watch.sh
bench_machine
status=0
"$bench" -d "$session" -f "$tmp/dg.ini" -b "$broker_pid" "$@" || status=$?
echo "recordings written: $(du -sh "$tmp/rec" | cut -f1)"
bench_broker_alive watch.sh || exit 1
exit $status
