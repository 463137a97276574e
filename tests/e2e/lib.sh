# DungeonGate end-to-end harness: real sshd, real dg-broker, real games.
#
# Each test sources this file and calls e2e_init. Everything it makes is
# its own: a temp dir, a Unix group and users with unique names, a free
# port, a broker socket, a tmux server, and the broker's own system user
# (the broker is started as root and drops to it through [broker] user,
# as a hand start on a server does). e2e_cleanup (on EXIT) ends every
# process it started by pid, deletes the users and groups, the NetHack
# files of those users, and the temp dir.
#
# With DG_INSTALLED=1 the tests run against the installed package
# instead: /usr/sbin/dg-broker and /usr/bin/dg-session, and the broker
# started as its systemd unit would start it (the unit's user and
# command line, the socket passed as dg-broker.socket would pass it,
# notifications and the watchdog), through tests/tools/dg-sd.
#
# Needs root (it creates users and runs sshd), DG_BUILDDIR and DG_SRCDIR.

set -u
. "$DG_SRCDIR/tests/common.sh"

E2E_FAILED=0
E2E_PIDS=""
E2E_USERS=""
E2E_GROUPS=""
E2E_KEEP=${E2E_KEEP:-0}
E2E_INSTALLED=${DG_INSTALLED:-0}
E2E_BROKER_MADE=0
BROKER_MAIN=
# E2E_VALGRIND: a valgrind command line (make check-valgrind sets it) to
# run the broker and dg-session under, each logging to $T/vg; any error
# it reports fails the test, as a sanitizer report does. E2E_SLOW scales
# every e2e_wait timeout (4 under valgrind unless set).
E2E_VALGRIND=${E2E_VALGRIND:-}
if [ -n "$E2E_VALGRIND" ]; then E2E_SLOW=${E2E_SLOW:-4}; else E2E_SLOW=${E2E_SLOW:-1}; fi

e2e_log() { printf '%s: %s\n' "$E2E_NAME" "$*"; }

# Record a failure and go on, so one run shows every broken check.
e2e_fail() {
	printf '%s: FAIL: %s\n' "$E2E_NAME" "$*"
	E2E_FAILED=1
}

e2e_pass() { printf '%s: ok: %s\n' "$E2E_NAME" "$*"; }

# Stop the test now (a step later checks depend on failed).
e2e_die() {
	printf '%s: FATAL: %s\n' "$E2E_NAME" "$*"
	E2E_FAILED=1
	exit 1
}

# Assert a condition: e2e_ok WHAT 'CONDITION'. The condition is one
# quoted piece of shell, evaluated here, so all of `a && b`, `! a` or a
# pipeline is what is asserted. Anything else is a mistake in the test
# (`e2e_ok WHAT [ a ] && [ b ]` would leave `[ b ]` unchecked): it stops.
e2e_ok() {
	if [ "$#" -ne 2 ]; then
		e2e_die "e2e_ok \"${1:-}\": the condition must be one quoted" \
		    "string, not $(( $# - 1 )) words"
	fi
	local _e2e_what=$1 _e2e_cond=$2
	shift 2
	if eval "$_e2e_cond"; then
		e2e_pass "$_e2e_what"
	else
		e2e_fail "$_e2e_what (false: $_e2e_cond)"
		return 1
	fi
}

# Assert that text matches an extended regular expression.
e2e_match() {
	local what=$1 text=$2 re=$3
	if printf '%s\n' "$text" | grep -Eq -- "$re"; then
		e2e_pass "$what"
	else
		e2e_fail "$what: /$re/ not in: $(printf '%s' "$text" | head -c 600)"
	fi
}

e2e_nomatch() {
	local what=$1 text=$2 re=$3
	if printf '%s\n' "$text" | grep -Eq -- "$re"; then
		e2e_fail "$what: /$re/ found in: $(printf '%s' "$text" | head -c 600)"
	else
		e2e_pass "$what"
	fi
}

e2e_eq() {
	local what=$1 got=$2 want=$3
	if [ "$got" = "$want" ]; then e2e_pass "$what"; else
		e2e_fail "$what: got '$got', want '$want'"; fi
}

# Wait until a command succeeds, up to $1 seconds (decimal allowed),
# times E2E_SLOW.
e2e_wait() {
	local secs=$1 whole frac end
	shift
	[ "$E2E_SLOW" = 1 ] ||
	    secs=$(awk -v s="$secs" -v f="$E2E_SLOW" 'BEGIN { printf "%.3f", s * f }')
	whole=${secs%%.*}
	frac=
	case $secs in *.*) frac=${secs#*.} ;; esac
	frac=$(printf '%-9.9s' "$frac" | tr ' ' 0)
	end=$(( $(date +%s%N) + ${whole:-0} * 1000000000 + 10#$frac ))
	while :; do
		if "$@"; then return 0; fi
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# Has a process ended (gone, or a zombie not yet reaped)?
e2e_gone() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -z "$st" ] || [ "$st" = Z ]
}

# Wait up to $1 seconds for our child $2 to exit and reap it, its status
# in E2E_STATUS. Fails, leaving it running, if it does not exit in time.
e2e_reap() {
	local secs=$1 pid=$2
	E2E_STATUS=
	e2e_wait "$secs" e2e_gone "$pid" || return 1
	wait "$pid" 2>/dev/null
	E2E_STATUS=$?
}

# Is a pid still one this test started: a child of this shell, or the
# tmux server? (A pid that exited long ago may be someone else's now.)
e2e_ours() {
	local ppid
	[ -r "/proc/$1/stat" ] || return 1
	ppid=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)
	[ "$ppid" = "$$" ] && return 0
	[ "$1" = "${TMUX_PID:-}" ] &&
	    case $(cat "/proc/$1/comm" 2>/dev/null) in tmux*) true ;; *) false ;; esac
}

# Set up the test's private world.
e2e_init() {
	E2E_NAME=$1
	[ "$(id -u)" = 0 ] || { echo "$E2E_NAME: needs root (creates users, runs sshd)"; exit 77; }
	: "${DG_BUILDDIR:?DG_BUILDDIR must be set}"
	: "${DG_SRCDIR:?DG_SRCDIR must be set}"
	for tool in /usr/sbin/sshd ssh ssh-keygen tmux useradd /usr/games/nethack; do
		command -v "$tool" >/dev/null || e2e_die "missing $tool (run tests/run-all.sh to install)"
	done
	T=$(mktemp -d "/tmp/dg-$E2E_NAME.XXXXXX")
	chmod 755 "$T"
	mkdir -p "$T/bin" "$T/run" "$T/home" "$T/keys" "$T/authorized_keys" \
	    "$T/sshd" "$T/state" "$T/san"
	chmod 1777 "$T/san"
	# Sanitizer reports from any of our processes land here.
	export ASAN_OPTIONS="log_path=$T/san/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$T/san/ubsan:print_stacktrace=1"
	# Unique, short names: users and group are system-wide.
	E2E_SUFFIX=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
	E2E_GROUP="dgt$E2E_SUFFIX"
	groupadd "$E2E_GROUP" || e2e_die "groupadd $E2E_GROUP"
	E2E_GROUPS="$E2E_GROUP"
	E2E_ADMIN_GROUP="dga$E2E_SUFFIX"
	groupadd "$E2E_ADMIN_GROUP" || e2e_die "groupadd $E2E_ADMIN_GROUP"
	E2E_GROUPS="$E2E_GROUPS $E2E_ADMIN_GROUP"
	if [ "$E2E_INSTALLED" = 1 ]; then
		BROKER=/usr/sbin/dg-broker
		SESSION=/usr/bin/dg-session
		E2E_UNIT_DIR=
		for d in /lib/systemd/system /usr/lib/systemd/system; do
			[ -f "$d/dg-broker.service" ] && E2E_UNIT_DIR=$d
		done
		[ -n "$E2E_UNIT_DIR" ] || e2e_die "no dg-broker.service installed"
		E2E_BROKER_USER=$(e2e_unit_key dg-broker.service User)
		id "$E2E_BROKER_USER" >/dev/null 2>&1 ||
		    e2e_die "the package made no user $E2E_BROKER_USER"
		E2E_SOCKET_OWNER=root
	else
		# The session runs as the player: it must live where players
		# can read.
		install -m 755 "$DG_BUILDDIR/dg-session" "$T/bin/dg-session"
		BROKER="$DG_BUILDDIR/dg-broker"
		SESSION="$T/bin/dg-session"
		[ -z "$E2E_VALGRIND" ] || e2e_valgrind_session
		E2E_BROKER_USER="dgb$E2E_SUFFIX"
		useradd --system --user-group --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin \
		    "$E2E_BROKER_USER" || e2e_die "useradd $E2E_BROKER_USER"
		E2E_BROKER_MADE=1
		E2E_SOCKET_OWNER=$E2E_BROKER_USER
	fi
	# The broker, once unprivileged, removes its socket from here, and
	# writes its recordings here (as the package's state directory is).
	mkdir -p "$T/rec"
	chown "$E2E_BROKER_USER:" "$T/run" "$T/rec"
	chmod 750 "$T/rec"
	SD="$DG_BUILDDIR/tests/tools/dg-sd"
	WIRE="$DG_BUILDDIR/tests/tools/dg-wire"
	SOCK="$T/run/broker.sock"
	CONF="$T/dg.ini"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	e2e_log "dir $T group $E2E_GROUP"
}

# Under E2E_VALGRIND, sshd's ForceCommand runs dg-session through
# valgrind: a wrapper players may run, logging where they may write.
e2e_valgrind_session() {
	mkdir -p "$T/vg"
	chmod 1777 "$T/vg"
	cat > "$T/bin/dg-session-vg" <<SH
#!/bin/sh
exec $E2E_VALGRIND --log-file=$T/vg/session.%p $T/bin/dg-session "\$@"
SH
	chmod 755 "$T/bin/dg-session-vg"
	SESSION="$T/bin/dg-session-vg"
}

# Valgrind's reports in $T/vg: a summary with errors, or (from a process
# killed before its summary) an error's first line. Prints the files.
e2e_valgrind_errors() {
	grep -lE '== ERROR SUMMARY: [1-9]|== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function)|are definitely lost|are indirectly lost' \
	    "$T"/vg/* 2>/dev/null
}

# Write the broker's configuration: the test's socket and groups, its
# HTTP listener (E2E_HTTP, off unless a test sets it: see e2e_http_port),
# then $1. The machine's own load (other tests running beside this one)
# must not shed the test's logins: load shedding reads calm files unless
# the test configures [load_shedding] itself. Recordings go into the
# test's own directory unless $1 names one.
e2e_config() {
	local calm="" rec=""
	case ${1:-} in
	*"[load_shedding]"*) ;;
	*)	e2e_calm_load
		calm="[load_shedding]
stat_file = $T/calm.stat
meminfo_file = $T/calm.meminfo" ;;
	esac
	printf '%s\n' "${1:-}" | grep -q '^dir *=' ||
	    rec="[recording]
dir = $T/rec"
	cat > "$CONF" <<INI
[broker]
socket = $SOCK
socket_group = $E2E_GROUP
admin_group = $E2E_ADMIN_GROUP
log_level = debug
user = $E2E_BROKER_USER
$calm
[http]
listen = ${E2E_HTTP:-}
${1:-}
$rec
INI
	chmod 644 "$CONF"
}

# Files that read as an idle machine with memory to spare.
e2e_calm_load() {
	printf 'cpu  100 0 100 10000 0 0 0 0 0 0\n' > "$T/calm.stat"
	printf 'MemTotal:       8000000 kB\nMemFree:        7000000 kB\nMemAvailable:   7000000 kB\n' \
	    > "$T/calm.meminfo"
	chmod 644 "$T/calm.stat" "$T/calm.meminfo"
}

# One key of an installed unit file: e2e_unit_key UNIT KEY (the last
# line that sets it).
e2e_unit_key() {
	sed -n "s/^$2=//p" "$E2E_UNIT_DIR/$1" | tail -1
}

# Start dg-broker in the foreground, logging to $T/broker.log: as root
# with [broker] user, or (DG_INSTALLED=1) as its unit would start it.
# Either way it must come to run as $E2E_BROKER_USER with that user's
# groups and no other. BROKER_PID is ours to signal and reap (the broker,
# or dg-sd, which passes signals on and exits with the broker's status);
# BROKER_MAIN is the broker's own pid.
e2e_broker_start() {
	rm -f "$SOCK"
	if [ "$E2E_INSTALLED" = 1 ]; then
		e2e_unit_start
	else
		# shellcheck disable=SC2086
		${E2E_VALGRIND:+$E2E_VALGRIND --log-file=$T/vg/broker.%p} \
		    "$BROKER" -D -f "$CONF" >>"$T/broker.log" 2>&1 &
		BROKER_PID=$!
		BROKER_MAIN=$BROKER_PID
		E2E_PIDS="$E2E_PIDS $BROKER_PID"
		e2e_wait 10 test -S "$SOCK" ||
		    e2e_die "broker did not start: $(tail -5 "$T/broker.log")"
	fi
	e2e_wait 10 e2e_broker_unprivileged ||
	    e2e_die "the broker does not run as $E2E_BROKER_USER alone:" \
		"$(grep -E '^(Uid|Gid|Groups):' "/proc/$BROKER_MAIN/status" 2>&1 | tr '\n\t' '  ')"
}

# The broker as dg-broker.service and dg-broker.socket would start it:
# the unit's user, its command line (and this test's file), its
# watchdog, and the socket's mode with the test's players' group.
e2e_unit_start() {
	local exec wd usec mode
	exec=$(e2e_unit_key dg-broker.service ExecStart)
	wd=$(e2e_unit_key dg-broker.service WatchdogSec)
	mode=$(e2e_unit_key dg-broker.socket SocketMode)
	case $wd in
	*[!0-9s]* | '') e2e_die "WatchdogSec=$wd: expected seconds" ;;
	esac
	usec=$(( ${wd%s} * 1000000 ))
	: >"$T/notify.log"
	# shellcheck disable=SC2086
	"$SD" -m "$mode" -g "$E2E_GROUP" -u "$E2E_BROKER_USER" \
	    -n "$T/notify.sock" -l "$T/notify.log" -w "$usec" \
	    -p "$T/broker.pid" -e ASAN_OPTIONS -e UBSAN_OPTIONS \
	    "$SOCK" $exec -f "$CONF" >>"$T/broker.log" 2>&1 &
	BROKER_PID=$!
	E2E_PIDS="$E2E_PIDS $BROKER_PID"
	e2e_wait 10 grep -qx 'READY=1' "$T/notify.log" ||
	    e2e_die "broker did not say READY=1: $(tail -5 "$T/broker.log")"
	BROKER_MAIN=$(cat "$T/broker.pid")
}

# Does the broker run as its user: uid and gid (real, effective, saved,
# file system) and exactly that user's groups?
e2e_broker_unprivileged() {
	local st uid gid want got
	st=$(cat "/proc/$BROKER_MAIN/status" 2>/dev/null) || return 1
	uid=$(id -u "$E2E_BROKER_USER") gid=$(id -g "$E2E_BROKER_USER")
	want=$(id -G "$E2E_BROKER_USER" | tr ' ' '\n' | sort -n | tr '\n' ' ')
	got=$(printf '%s\n' "$st" | sed -n 's/^Groups:[[:space:]]*//p' |
	    tr -s ' \t' '\n' | sed '/^$/d' | sort -n | tr '\n' ' ')
	printf '%s\n' "$st" | grep -Eq "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid\$" &&
	    printf '%s\n' "$st" | grep -Eq "^Gid:[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid[[:space:]]+$gid\$" &&
	    [ "$got" = "$want" ]
}

# Kill the broker itself with a signal (not dg-sd) and reap what we
# started: e2e_broker_kill SIGNAL.
e2e_broker_kill() {
	kill "-$1" "$BROKER_MAIN" 2>/dev/null
	e2e_reap 10 "$BROKER_PID" || e2e_fail "the broker outlived SIG$1"
}

# Stop the broker with SIGTERM and wait for it (30 s at most, then it is
# killed and the test fails). Its exit status is in BROKER_STATUS.
e2e_broker_stop() {
	kill -TERM "$BROKER_PID" 2>/dev/null
	e2e_broker_wait 30
}

# Wait up to $1 seconds for the broker to exit by itself.
e2e_broker_wait() {
	if ! e2e_reap "$1" "$BROKER_PID"; then
		e2e_fail "broker did not exit within $1 s"
		kill -KILL "$BROKER_PID" 2>/dev/null
		e2e_reap 5 "$BROKER_PID"
	fi
	BROKER_STATUS=$E2E_STATUS
}

# Reload the broker's configuration with SIGHUP and wait up to $1 seconds
# (10 by default) for the outcome of this reload, not an earlier one.
# E2E_RELOAD says "reloaded", "failed" or "timeout"; only "reloaded" is
# success.
e2e_reload() {
	local secs=${1:-10} before
	before=$(e2e_reload_outcomes | wc -l)
	E2E_RELOAD=timeout
	kill -HUP "$BROKER_PID" 2>/dev/null
	e2e_wait "$secs" e2e_reload_past "$before" || return 1
	case $(e2e_reload_outcomes | sed -n "$((before + 1))p") in
	*"configuration reloaded"*) E2E_RELOAD=reloaded ;;
	*) E2E_RELOAD=failed; return 1 ;;
	esac
}

# The broker's log lines that end a reload, one way or the other.
e2e_reload_outcomes() {
	grep -E 'configuration reloaded|reload failed' "$T/broker.log" 2>/dev/null
}

# Are there more than $1 of them?
e2e_reload_past() { [ "$(e2e_reload_outcomes | wc -l)" -gt "$1" ]; }

# Create a player: in the test's group, with an ssh key. Prints the name.
e2e_user() {
	local n=$1 name="dg${E2E_SUFFIX}$1"
	useradd -m -d "$T/home/$name" -s /bin/sh -G "$E2E_GROUP${2:+,$2}" "$name" ||
	    e2e_die "useradd $name"
	E2E_USERS="$E2E_USERS $name"
	usermod -p '*' "$name"
	ssh-keygen -q -t ed25519 -N '' -f "$T/keys/$name" -C "$name" ||
	    e2e_die "ssh-keygen"
	install -m 644 "$T/keys/$name.pub" "$T/authorized_keys/$name"
	eval "U$n=$name"
}

# A free TCP port on 127.0.0.1 (tests/common.sh).
e2e_port() {
	dg_free_port
}

# Give the broker an HTTP listener on a free port of 127.0.0.1: sets
# E2E_HTTP (for e2e_config) and HTTP_URL.
e2e_http_port() {
	local p
	p=$(e2e_port) || e2e_die "no free port for HTTP"
	E2E_HTTP="127.0.0.1:$p"
	HTTP_URL="http://$E2E_HTTP"
}

# GET a path of the broker's HTTP listener: the status in HTTP_CODE
# (000: no answer), the body in HTTP_BODY. e2e_http PATH [CURL OPTIONS...]
e2e_http() {
	local path=$1
	shift
	HTTP_CODE=$(curl -s -m 10 -o "$T/http.body" -w '%{http_code}' "$@" \
	    "$HTTP_URL$path")
	HTTP_BODY=$(cat "$T/http.body" 2>/dev/null)
}

# Start a private sshd on 127.0.0.1 with the project's drop-in. Another
# test may take the same port first: then try another.
e2e_sshd_start() {
	local try
	for try in 1 2 3 4 5; do
		PORT=$(e2e_port) || e2e_die "no free port"
		dg_sshd_config "$T/sshd" "$PORT" "$E2E_GROUP" \
		    "$SESSION -f $CONF" "$T/authorized_keys/%u" \
		    "SetEnv ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS" ||
		    e2e_die "sshd configuration"
		/usr/sbin/sshd -D -e -f "$T/sshd/sshd_config" >>"$T/sshd.log" 2>&1 &
		SSHD_PID=$!
		E2E_PIDS="$E2E_PIDS $SSHD_PID"
		if e2e_wait 10 bash -c "kill -0 $SSHD_PID 2>/dev/null &&
		    exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null &&
		    kill -0 "$SSHD_PID" 2>/dev/null; then
			return 0
		fi
		kill -TERM "$SSHD_PID" 2>/dev/null
		e2e_reap 5 "$SSHD_PID" || { kill -KILL "$SSHD_PID"; e2e_reap 5 "$SSHD_PID"; }
	done
	e2e_die "sshd did not listen: $(tail -5 "$T/sshd.log")"
}

# The ssh command line for a user (without the destination's command).
e2e_ssh_cmd() {
	echo "ssh -p $PORT -i $T/keys/$1 -o StrictHostKeyChecking=no" \
	    "-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes" \
	    "-o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10" \
	    "$1@127.0.0.1"
}

# Run ssh as a user: e2e_ssh USER "SSH OPTIONS" [REMOTE COMMAND...]
e2e_ssh() {
	local user=$1 opts=$2; shift 2
	# shellcheck disable=SC2086
	timeout 30 ssh -p "$PORT" -i "$T/keys/$user" -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes \
	    -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10 \
	    $opts "$user@127.0.0.1" "$@"
}

# tmux, on the test's own server.
e2e_tmux() { tmux -S "$T/tmux.sock" "$@"; }

# Open a terminal NAME (80x24) running a command; it stays after exit.
# Each terminal is its own tmux session, so resizing one moves no other.
e2e_term() {
	local name=$1; shift
	if [ ! -S "$T/tmux.sock" ]; then
		e2e_tmux -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 100000" ||
		    e2e_die "tmux"
		TMUX_PID=$(e2e_tmux display -p '#{pid}')
		E2E_PIDS="$E2E_PIDS $TMUX_PID"
		e2e_tmux set-option -g remain-on-exit on
		e2e_tmux set-option -g default-terminal xterm-256color
	fi
	e2e_tmux new-session -d -s "$name" -x 80 -y 24 "$* ; echo \"[exit \$?]\"" ||
	    e2e_die "tmux session $name"
}

# Log a player into the menu in window NAME: e2e_play_term NAME USER [CMD].
e2e_ssh_term() {
	local name=$1 user=$2; shift 2
	e2e_term "$name" "$(e2e_ssh_cmd "$user") -t $*"
}

# The visible screen of a terminal. Once its program has exited, tmux's
# "Pane is dead" line pushes the top line into history: include some.
e2e_screen() {
	if [ "$(e2e_tmux display -p -t "$1" '#{pane_dead}' 2>/dev/null)" = 1 ]; then
		e2e_tmux capture-pane -p -S -5 -t "$1" 2>/dev/null
	else
		e2e_tmux capture-pane -p -t "$1" 2>/dev/null
	fi
}

# Does a window's screen match a regular expression?
e2e_screen_has() { e2e_screen "$1" | grep -Eq -- "$2"; }

# Does a window's scrollback or screen have a line matching a regular
# expression? (What scrolled past on a small window is in the history.)
e2e_history_has() {
	e2e_tmux capture-pane -p -S -2000 -t "$1" 2>/dev/null | grep -Eq -- "$2"
}

# Wait for a window's screen to match a regular expression.
e2e_wait_screen() {
	local name=$1 re=$2 secs=${3:-15}
	e2e_wait "$secs" e2e_screen_has "$name" "$re"
}

# Check that a window's screen comes to match; show it when it does not.
e2e_expect_screen() {
	local what=$1 name=$2 re=$3 secs=${4:-15}
	if e2e_wait_screen "$name" "$re" "$secs"; then
		e2e_pass "$what"
	else
		e2e_fail "$what: /$re/ not on screen $name:"
		e2e_screen "$name" | sed 's/^/    | /'
	fi
}

e2e_keys() { local name=$1; shift; e2e_tmux send-keys -t "$name" "$@"; }

# The pid of the process running in a window (ssh, or the shell around it).
e2e_pane_pid() { e2e_tmux display -p -t "$1" '#{pane_pid}'; }

# dg-broker --status as JSON, field by a python-free jq-less path: use jq.
e2e_status() { "$BROKER" --status -f "$CONF"; }

# Does a jq filter on --status give exactly a value? e2e_status_is FILTER VALUE
e2e_status_is() { [ "$(e2e_status | jq -r "$1")" = "$2" ]; }

# Number of active sessions the broker counts.
e2e_active() { e2e_status | jq -r '.connection_pool.active'; }

# Sessions of a user, as "pid state game" lines.
e2e_sessions() {
	e2e_status | jq -r --arg u "$1" '.sessions[] | select(.user == $u) | "\(.pid) \(.state) \(.game // "-")"'
}

# Pids of a user's processes.
e2e_user_pids() { ps -o pid= -u "$1" 2>/dev/null | tr -d ' '; }

# Take a user's NetHack files out of the shared game directory.
e2e_nethack_clean() {
	local u=$1 uid
	uid=$(id -u "$u" 2>/dev/null) || return 0
	rm -f "/var/games/nethack/save/$uid$u".* "/var/games/nethack/save/$uid$u" \
	    /var/games/nethack/"$uid$u".* 2>/dev/null
}

# Have all the players' processes ended?
e2e_users_gone() {
	local u
	for u in $E2E_USERS; do
		[ -z "$(e2e_user_pids "$u")" ] || return 1
	done
}

# What the players still run, for a report.
e2e_users_ps() {
	local u
	for u in $E2E_USERS; do ps -o pid=,user=,args= -u "$u" 2>/dev/null; done
}

# Send a signal to every process of the players.
e2e_users_kill() {
	local sig=$1 u pid
	for u in $E2E_USERS; do
		for pid in $(e2e_user_pids "$u"); do kill "-$sig" "$pid" 2>/dev/null; done
	done
}

# Undo everything the test made.
e2e_cleanup() {
	local rc=$? pid u g out live=
	trap - EXIT
	if [ -S "${T:-/nonexistent}/tmux.sock" ]; then
		e2e_tmux kill-server 2>/dev/null
	fi
	for pid in $E2E_PIDS; do
		if e2e_ours "$pid"; then
			kill -TERM "$pid" 2>/dev/null
			live="$live $pid"
		fi
	done
	# Hang up what the players run, and give NetHack time to save.
	e2e_users_kill HUP
	e2e_users_kill CONT
	if ! e2e_wait 15 e2e_users_gone; then
		e2e_log "still running 15 s after SIGHUP, killed:"
		e2e_users_ps | sed 's/^/    | /'
		e2e_users_kill KILL
		e2e_wait 5 e2e_users_gone ||
		    e2e_fail "players' processes survive SIGKILL: $(e2e_users_ps | tr '\n' ' ')"
	fi
	for pid in $live; do
		e2e_reap 5 "$pid" && continue
		kill -KILL "$pid" 2>/dev/null
		e2e_reap 5 "$pid" || e2e_fail "pid $pid survives SIGKILL"
	done
	# A broker whose dg-sd was killed outright is left: end it by pid.
	if [ -n "$BROKER_MAIN" ] && [ "$BROKER_MAIN" != "${BROKER_PID:-}" ] &&
	    [ "$(cat "/proc/$BROKER_MAIN/comm" 2>/dev/null)" = dg-broker ]; then
		kill -TERM "$BROKER_MAIN" 2>/dev/null
		e2e_wait 10 e2e_gone "$BROKER_MAIN" || kill -KILL "$BROKER_MAIN"
	fi
	if [ -n "${T:-}" ] && ls "$T"/san/* >/dev/null 2>&1; then
		echo "$E2E_NAME: FAIL: sanitizer reports:"
		cat "$T"/san/*
		E2E_FAILED=1
	fi
	if [ -n "${T:-}" ] && [ -n "$(e2e_valgrind_errors)" ]; then
		echo "$E2E_NAME: FAIL: valgrind reports:"
		for out in $(e2e_valgrind_errors); do
			echo "--- $out"; cat "$out"
		done
		E2E_FAILED=1
	fi
	for u in $E2E_USERS; do
		e2e_nethack_clean "$u"
		out=$(userdel -r "$u" 2>&1) || e2e_fail "userdel -r $u: $out"
	done
	for g in $E2E_GROUPS; do
		out=$(groupdel "$g" 2>&1) || e2e_fail "groupdel $g: $out"
	done
	if [ "$E2E_BROKER_MADE" = 1 ]; then
		out=$(userdel "$E2E_BROKER_USER" 2>&1) ||
		    e2e_fail "userdel $E2E_BROKER_USER: $out"
		if getent group "$E2E_BROKER_USER" >/dev/null; then
			out=$(groupdel "$E2E_BROKER_USER" 2>&1) ||
			    e2e_fail "groupdel $E2E_BROKER_USER: $out"
		fi
	fi
	if [ "$E2E_FAILED" != 0 ] || [ "$rc" != 0 ]; then
		if [ -n "${T:-}" ]; then
			echo "--- broker.log (tail)"; tail -40 "$T/broker.log" 2>/dev/null
			echo "--- sshd.log (tail)"; tail -20 "$T/sshd.log" 2>/dev/null
		fi
		[ "$rc" = 0 ] && rc=1
	fi
	if [ "$E2E_KEEP" = 1 ]; then echo "kept $T"; else rm -rf "${T:-/nonexistent}"; fi
	exit "$rc"
}

# The usual world: e2e_setup NAME "EXTRA INI" USERS starts a broker with
# the test's configuration, makes players U1..UN and starts sshd.
e2e_setup() {
	local i
	e2e_init "$1"
	e2e_config "${2:-}"
	e2e_broker_start
	for i in $(seq "${3:-1}"); do e2e_user "$i"; done
	e2e_sshd_start
}

# From the menu into NetHack's first level: p, let it pick, accept, and
# read past the intro. Returns non-zero if the level never shows.
e2e_nethack_start() {
	local i
	e2e_keys "$1" p
	e2e_wait_screen "$1" 'Shall I pick' 20 && e2e_keys "$1" y
	e2e_wait_screen "$1" 'Is this ok\?' 10 && e2e_keys "$1" y
	for i in 1 2 3 4; do
		e2e_wait_screen "$1" 'Dlvl:1' 1 && break
		e2e_keys "$1" Enter
	done
	e2e_wait_screen "$1" 'Dlvl:1' 5 || return 1
	e2e_nethack_more "$1"
}

# Answer NetHack's --More-- prompts until there are none on screen: each
# Enter must change the screen within 5 s, and 20 prompts at most.
e2e_nethack_more() {
	local i before
	for i in $(seq 20); do
		before=$(e2e_screen "$1")
		case $before in *--More--*) ;; *) return 0 ;; esac
		e2e_keys "$1" Enter
		e2e_wait 5 e2e_screen_changed "$1" "$before" || return 1
	done
	return 1
}

# Does a window show something other than $2?
e2e_screen_changed() { [ "$(e2e_screen "$1")" != "$2" ]; }

# Save NetHack with S and confirm.
e2e_nethack_save() {
	e2e_keys "$1" S
	e2e_wait_screen "$1" 'Really save\?' 10 && e2e_keys "$1" y
}

# End of a test: the exit status tells automake.
e2e_done() {
	if [ "$E2E_FAILED" = 0 ]; then e2e_log "all checks passed"; exit 0; fi
	exit 1
}
