# What the benchmark scripts share: starting and stopping the broker by
# its pid, and the machine line of their reports. A script sets $tmp (a
# directory of its own holding dg.ini) and $broker, and calls
# bench_broker_stop from its cleanup.

broker_pid=
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
	local name=$1 i
	shift
	if ! "$broker" --test-config -f "$tmp/dg.ini" >"$tmp/test-config.out" 2>&1
	then
		cat "$tmp/test-config.out" >&2
		exit 1
	fi
	"$@" "$broker" -D -f "$tmp/dg.ini" 2>"$tmp/broker.log" &
	broker_pid=$!
	for i in $(seq 100); do
		if [ -S "$tmp/broker.sock" ] &&
		    "$broker" --check -f "$tmp/dg.ini" >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$broker_pid" 2>/dev/null; then
			echo "$name: dg-broker did not start:" >&2
			cat "$tmp/broker.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "$name: dg-broker did not answer in 10 s:" >&2
	cat "$tmp/broker.log" >&2
	exit 1
}

# Is the broker still there after the run? Says so when it is not.
bench_broker_alive() {
	if ! kill -0 "$broker_pid" 2>/dev/null; then
		echo "$1: dg-broker died during the run:" >&2
		cat "$tmp/broker.log" >&2
		broker_pid=
		return 1
	fi
}

# Stop the broker by its pid: SIGTERM, up to 10 s, then SIGKILL.
bench_broker_stop() {
	local i
	[ -n "$broker_pid" ] || return 0
	kill "$broker_pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$broker_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$broker_pid" 2>/dev/null || true
	wait "$broker_pid" 2>/dev/null || true
	broker_pid=
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
