#!/bin/bash
#
# The admission benchmark: admissions per second and hello-to-ticket
# times of one user against a real dg-broker, with no live sessions, with
# 1000 and 2000 live sessions of as many users, and with 3000 live
# sessions of one user.
#
#   bash tests/bench/admit.sh BUILDDIR [bench-admit options]
#
# DG_BENCH_LEVELS (default 1000,2000) and DG_BENCH_ONE (default 3000; 0
# leaves that row out) set the live sessions; DG_BENCH_CPU the CPU that
# the broker and the benchmark share (default: the last this script may
# use; none: wherever the scheduler puts them). Runs as root: it makes a
# group, a user for each live session of the largest row of distinct
# users and two more (the measured user and the one user), locked, with
# no home of their own and shell nologin, and removes them, and only
# them, however it ends. Prints figures only; the exit status says
# whether the run worked, never how fast it was.

set -eu

if [ $# -lt 1 ]; then
	echo "usage: admit.sh BUILDDIR [bench-admit options]" >&2
	exit 64
fi
builddir=$(cd "$1" && pwd)
shift
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
bench=$builddir/tests/bench/bench-admit
broker=$builddir/dg-broker
levels=${DG_BENCH_LEVELS:-1000,2000}
one=${DG_BENCH_ONE:-3000}

for f in "$bench" "$broker"; do
	if [ ! -x "$f" ]; then
		echo "admit.sh: $f is not built" >&2
		exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "admit.sh: needs root (it makes throwaway users)" >&2
	exit 1
fi
for tool in groupadd groupdel newusers userdel getent; do
	if ! command -v "$tool" >/dev/null; then
		echo "admit.sh: $tool is needed (package passwd)" >&2
		exit 1
	fi
done
case $levels in
'' | *[!0-9,]* | ,* | *, | *,,*)
	echo "admit.sh: DG_BENCH_LEVELS must be counts with commas: $levels" >&2
	exit 64
	;;
esac
case $one in
'' | *[!0-9]*)
	echo "admit.sh: DG_BENCH_ONE must be a count: $one" >&2
	exit 64
	;;
esac
distinct=${levels##*,}
distinct=$((10#$distinct))
one=$((10#$one))
if [ "$distinct" -lt 1 ] || [ "$distinct" -gt 9999 ] || [ "$one" -gt 9999 ]
then
	echo "admit.sh: at most 9999 live sessions of each kind" >&2
	exit 64
fi
most=$((distinct > one ? distinct : one))

. "$srcdir/tests/bench/lib.sh"

# Each admission is a ping-pong between the benchmark and the broker, so
# one CPU is all they need; sharing one, they are not woken across CPUs,
# and the figures move much less from run to run on a busy machine.
bench_pin admit.sh
nologin=/usr/sbin/nologin
[ -x "$nologin" ] || nologin=/bin/false

# Descriptors: the live sessions, once in this benchmark and once in the
# broker, which also keeps some for itself.
fds=$((most + 1024))
if [ "$(ulimit -Sn)" != unlimited ] && [ "$(ulimit -Sn)" -lt "$fds" ]; then
	if ! ulimit -n "$fds" 2>/dev/null; then
		echo "admit.sh: needs $fds descriptors; the hard limit is" \
		    "$(ulimit -Hn)" >&2
		exit 1
	fi
fi

tmp=
group=
group_made=
admin_made=

# Unique, short names: users and groups are system-wide. The x keeps
# them apart from the end-to-end tests' (dg, dgt or dga and hex digits).
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
prefix=dgx$suffix
user=${prefix}m
one_user=${prefix}o
admin_group=${prefix}a

# Seconds since a time from date +%s.%N, to a tenth.
bench_since() {
	awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

# Our users: named with our random prefix and in the group we made.
bench_users() {
	local gid
	[ -n "$group_made" ] || return 0
	gid=$(getent group "$group" | cut -d: -f3)
	[ -n "$gid" ] || return 0
	awk -F: -v p="$prefix" -v g="$gid" \
	    'index($1, p) == 1 && $4 == g { print $1 }' /etc/passwd
}

# Stop the broker by its pid, remove our users, groups and temp dir,
# however we leave; a second Ctrl-C must not leave users behind.
cleanup() {
	local rc=$? u n left
	trap '' INT TERM HUP PIPE
	bench_broker_stop
	bench_user_remove
	n=$(bench_users | wc -l)
	if [ "$n" -gt 0 ]; then
		# userdel(8) one by one: 15 to 25 ms each.
		echo "removing the $n benchmark users..." >&2
		started=$(date +%s.%N)
		bench_users | while read -r u; do
			userdel "$u" >/dev/null 2>&1 ||
			    echo "admit.sh: userdel $u failed" >&2
		done
		echo "users: removed in $(bench_since "$started") s" >&2
	fi
	left=$(bench_users | wc -l)
	if [ "$left" -gt 0 ]; then
		echo "admit.sh: $left users of group $group are left" >&2
		rc=1
	elif [ -n "$group_made" ]; then
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-bench-admit.XXXXXX")
# The users connect to the broker's socket in here.
chmod 711 "$tmp"
mkdir "$tmp/home" "$tmp/state"

if getent passwd | awk -F: -v p="$prefix" 'index($1, p) == 1' | grep -q .
then
	echo "admit.sh: users named $prefix... exist already" >&2
	exit 1
fi
groupadd "$prefix"
group=$prefix
group_made=1
groupadd "$admin_group"
admin_made=1

# One batch: useradd takes 10-20 ms a user. The password field is left
# empty, so each account stays locked (newusers' PAM pass refuses to set
# an empty password, and says so for every user: not an error here).
{
	echo "$user:::$group:DungeonGate benchmark:$tmp/home:$nologin"
	if [ "$one" -gt 0 ]; then
		echo "$one_user:::$group:DungeonGate benchmark:$tmp/home:$nologin"
	fi
	for i in $(seq "$distinct"); do
		printf '%s%04d:::%s:DungeonGate benchmark:%s:%s\n' "$prefix" "$i" \
		    "$group" "$tmp/home" "$nologin"
	done
} >"$tmp/users"
want=$((distinct + 1 + (one > 0 ? 1 : 0)))
started=$(date +%s.%N)
newusers "$tmp/users" >"$tmp/newusers.out" 2>&1 || true
made=$(bench_users | wc -l)
if [ "$made" != "$want" ]; then
	echo "admit.sh: newusers made $made of $want users:" >&2
	grep -v -e 'No password has been supplied' -e 'pam_chauthtok' \
	    -e 'Authentication token manipulation error' \
	    -e 'password not changed' "$tmp/newusers.out" | head -20 >&2
	exit 1
fi
# Every account must be locked: no password can log in.
unlocked=$(awk -F: -v p="$prefix" \
    'index($1, p) == 1 && $2 !~ /^[!*]/ { print $1 }' /etc/shadow | head -5)
if [ -n "$unlocked" ]; then
	echo "admit.sh: accounts with a password: $unlocked" >&2
	exit 1
fi
echo "users: $made made in $(bench_since "$started") s by newusers(8)"

bench_user_make
# A free port for the broker's /metrics, scraped with the live sessions.
http_port=$(bench_port) || exit 1

cat >"$tmp/dg.ini" <<EOF
[broker]
socket = $tmp/broker.sock
socket_group = $group
admin_group = $admin_group
log_level = warn
user = $bench_user

[http]
listen = 127.0.0.1:$http_port

; Room for every live session and the measured one, none queued.
; The benchmark loads the machine on purpose: no shedding.
[load_shedding]
enabled = false

[connection_pool]
max_connections = $((most + 64))

[limits]
max_connections = $((most + 64))
max_file_descriptors = $fds

; The one user holds all of its row's sessions.
[quota:default]
max_connections = $((most + 64))
EOF

bench_broker_start admit.sh "${pin[@]}"

bench_machine
bench_build
if [ "$cpu" = none ]; then
	echo "CPU: the broker and the benchmark wherever the scheduler puts them"
else
	echo "CPU: the broker and the benchmark share CPU $cpu"
fi
status=0
opts=(-s "$tmp/broker.sock" -b "$broker_pid" -u "$user" -p "$prefix"
    -l "$levels" -m "$http_port")
if [ "$one" -gt 0 ]; then
	opts+=(-o "$one_user" -O "$one")
fi
"${pin[@]}" "$bench" "${opts[@]}" "$@" || status=$?

bench_broker_alive admit.sh || exit 1
if [ -s "$tmp/broker.log" ]; then
	echo "broker log (warnings and errors):"
	tail -n 20 "$tmp/broker.log"
fi
exit $status
