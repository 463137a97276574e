# What the benchmark scripts share: starting and stopping the broker by
# its pid, and the machine line of their reports. A script sets $tmp (a
# directory of its own holding dg.ini) and $broker, and calls
# bench_broker_stop from its cleanup. A script with several brokers
# starts each in a directory of its own with bench_broker_start_in.

. "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

broker_pid=
broker_pids=
bench_user=

# A broker started as root gives up root for [broker] user: as root, make
# a locked system user of the benchmark's own (bench_user_remove removes
# it); otherwise the broker runs as whoever runs the benchmark.
bench_user_make() {
	[ "$(id -u)" = 0 ] || return 0
	bench_user=dgxb$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$bench_user" || {
		echo "useradd $bench_user failed" >&2
		bench_user=
		return 1
	}
}

# Remove the user bench_user_make made, once the broker has stopped.
bench_user_remove() {
	[ -n "$bench_user" ] || return 0
	userdel "$bench_user" || echo "userdel $bench_user failed" >&2
	if getent group "$bench_user" >/dev/null; then
		groupdel "$bench_user" || echo "groupdel $bench_user failed" >&2
	fi
	bench_user=
}

# Check dg.ini, start the broker (with a prefix command such as taskset,
# if given) and wait, up to 10 s, until it answers --check.
bench_broker_start() {
	bench_broker_start_in "$tmp" "$@"
}

# The same for the broker of DIR/dg.ini, whose socket is DIR/broker.sock
# and whose log goes to DIR/broker.log: bench_broker_start_in DIR NAME
# [COMMAND...]. Sets broker_pid; bench_broker_stop stops them all.
bench_broker_start_in() {
	local dir=$1 name=$2 i
	shift 2
	if ! "$broker" --test-config -f "$dir/dg.ini" >"$dir/test-config.out" 2>&1
	then
		cat "$dir/test-config.out" >&2
		exit 1
	fi
	"$@" "$broker" -D -f "$dir/dg.ini" 2>"$dir/broker.log" &
	broker_pid=$!
	broker_pids="$broker_pids $broker_pid"
	for i in $(seq 100); do
		if [ -S "$dir/broker.sock" ] &&
		    "$broker" --check -f "$dir/dg.ini" >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$broker_pid" 2>/dev/null; then
			echo "$name: dg-broker did not start:" >&2
			cat "$dir/broker.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "$name: dg-broker did not answer in 10 s:" >&2
	cat "$dir/broker.log" >&2
	exit 1
}

# Is the broker still there after the run? Says so when it is not:
# bench_broker_alive NAME [DIR PID] (by default $tmp and $broker_pid).
bench_broker_alive() {
	local dir=${2:-$tmp} pid=${3:-$broker_pid}
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "$1: dg-broker died during the run:" >&2
		cat "$dir/broker.log" >&2
		# Not to be signalled later: its pid may be another's by then.
		broker_pids=$(printf ' %s ' $broker_pids | sed "s/ $pid / /")
		[ "$pid" != "$broker_pid" ] || broker_pid=
		return 1
	fi
}

# Stop every broker started, by its pid: SIGTERM, up to 10 s, then
# SIGKILL.
bench_broker_stop() {
	local i pid alive
	[ -n "$broker_pids" ] || return 0
	for pid in $broker_pids; do
		kill "$pid" 2>/dev/null || true
	done
	for i in $(seq 100); do
		alive=
		for pid in $broker_pids; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ -n "$alive" ] || break
		sleep 0.1
	done
	for pid in $broker_pids; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	broker_pid=
	broker_pids=
}

# The machine line: CPUs, their model, the kernel.
bench_machine() {
	local cpus
	cpus="$(nproc --all) CPUs"
	if [ "$(nproc)" != "$(nproc --all)" ]; then
		cpus="$cpus (this run on $(nproc))"
	fi
	echo "machine: $cpus, $(sed -n 's/^model name[[:space:]]*: //p' \
	    /proc/cpuinfo | head -n 1), Linux $(uname -r)"
}

# The CPU that the brokers and the benchmark share, from DG_BENCH_CPU
# (default: the last this script may use; none: wherever the scheduler
# puts them): sets cpu (a number or none) and pin (the taskset command to
# put before theirs, or nothing). Exits on a bad DG_BENCH_CPU.
bench_pin() {
	local name=$1
	cpu=${DG_BENCH_CPU-}
	if [ -z "$cpu" ] && command -v taskset >/dev/null; then
		cpu=$(taskset -pc $$ | sed 's/.*: *//; s/.*[,-]//')
	fi
	pin=()
	case ${cpu:-none} in
	none)
		cpu=none
		;;
	*[!0-9]*)
		echo "$name: DG_BENCH_CPU must be a CPU number or none: $cpu" >&2
		exit 64
		;;
	*)
		if ! command -v taskset >/dev/null; then
			echo "$name: taskset (util-linux) is needed for DG_BENCH_CPU" >&2
			exit 1
		fi
		pin=(taskset -c "$cpu")
		;;
	esac
}

# The build line: the commit of $srcdir (+changes when it has some) and
# the options $builddir was configured with.
bench_build() {
	local commit=unknown options
	if git -C "$srcdir" rev-parse --short HEAD >/dev/null 2>&1; then
		commit=$(git -C "$srcdir" rev-parse --short HEAD)
		git -C "$srcdir" diff --quiet HEAD -- 2>/dev/null ||
		    commit="$commit+changes"
	fi
	options=$("$builddir/config.status" --config 2>/dev/null || true)
	echo "build: commit $commit, configure ${options:-(no options)}"
}

# A TCP port on 127.0.0.1 that nothing listens on now.
bench_port() {
	dg_free_port && return 0
	echo "${0##*/}: no free port" >&2
	return 1
}
