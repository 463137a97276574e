# Helpers for the tests of the auth service, the breaker and shedding:
# the test auth service (tests/tools/dg-authd.py), players on the
# broker's socket, and /proc/stat and /proc/meminfo files whose load a
# test sets. Sourced after lib.sh and e2e_init.

AUTHD="$DG_SRCDIR/tests/tools/dg-authd.py"
AUTHD_PY=$(command -v python3) || e2e_die "missing python3 (run tests/run-all.sh to install)"

# Start the auth service on a free port, its control on another. Sets
# AUTHD_PORT, AUTHD_CTL, AUTHD_PID and AUTHD_URL (the endpoint). Another
# test may take a port first: then try others.
authd_start() {
	local try
	for try in 1 2 3 4 5; do
		AUTHD_PORT=$(e2e_port) && AUTHD_CTL=$(e2e_port) || e2e_die "no free port"
		[ "$AUTHD_PORT" != "$AUTHD_CTL" ] || continue
		rm -f "$T/authd.ready"
		"$AUTHD_PY" "$AUTHD" serve "$AUTHD_PORT" "$AUTHD_CTL" --parent $$ \
		    --ready "$T/authd.ready" >>"$T/authd.log" 2>&1 &
		AUTHD_PID=$!
		E2E_PIDS="$E2E_PIDS $AUTHD_PID"
		if e2e_wait 10 authd_ready_or_gone && [ -f "$T/authd.ready" ] &&
		    kill -0 "$AUTHD_PID" 2>/dev/null; then
			AUTHD_URL="http://127.0.0.1:$AUTHD_PORT/v1/authorize"
			e2e_log "auth service on $AUTHD_URL (control $AUTHD_CTL, pid $AUTHD_PID)"
			return 0
		fi
		kill -TERM "$AUTHD_PID" 2>/dev/null
		e2e_reap 5 "$AUTHD_PID"
	done
	e2e_die "the auth service did not start: $(tail -5 "$T/authd.log")"
}

# Has the service said it listens, or died trying?
authd_ready_or_gone() { [ -f "$T/authd.ready" ] || e2e_gone "$AUTHD_PID"; }

# Set the service's mode: authd MODE [KEY=VALUE...] (see dg-authd.py).
authd() {
	"$AUTHD_PY" "$AUTHD" ctl "$AUTHD_CTL" set "$@" >/dev/null ||
	    e2e_die "auth service mode $*"
}

# Zero the service's counts.
authd_reset() { "$AUTHD_PY" "$AUTHD" ctl "$AUTHD_CTL" reset >/dev/null; }

# The service's counts and last request as JSON, or a jq filter on them.
authd_stats() {
	"$AUTHD_PY" "$AUTHD" ctl "$AUTHD_CTL" stats | jq -r "${1:-.}"
}

# Requests the service got (all of them, or one user's).
authd_count() {
	if [ -n "${1:-}" ]; then
		authd_stats ".users[\"$1\"] // 0"
	else
		authd_stats .requests
	fi
}

# Has the service got at least $1 requests (of user $2)?
authd_count_ge() { [ "$(authd_count "${2:-}")" -ge "$1" ]; }

# A user's tier as --status shows it (while they have a session).
user_tier() {
	e2e_status | jq -r --arg u "$1" '.users[] | select(.user == $u) | .tier'
}

# Does --status show user $1 in tier $2?
user_tier_is() { [ "$(user_tier "$1")" = "$2" ]; }

HELLO='{"type":"hello","version":1,"client":"session"}'

# dg-wire as a player: wire_as USER DG-WIRE-ARGS...
wire_as() {
	local u=$1; shift
	setpriv --reuid="$u" --regid="$u" --init-groups "$WIRE" "$SOCK" "$@"
}

# The same in the background, for `wire_as_bg USER ARGS... > FILE &`
# (the subshell becomes dg-wire, so that $! is its pid).
wire_as_bg() {
	local u=$1; shift
	exec setpriv --reuid="$u" --regid="$u" --init-groups "$WIRE" "$SOCK" "$@"
}

# Log a player in through ssh on terminal NAME and wait for the menu or
# the end: term_login NAME USER [COMMAND]. LOGIN is "menu", "exit N" or
# "timeout"; the screen is in LOGIN_SCREEN.
term_login() {
	local name=$1 user=$2; shift 2
	e2e_ssh_term "$name" "$user" "$@"
	e2e_wait 20 e2e_screen_has "$name" 'Your choice|\[exit [0-9]+\]'
	LOGIN_SCREEN=$(e2e_screen "$name")
	if printf '%s\n' "$LOGIN_SCREEN" | grep -q '\[exit [0-9]*\]'; then
		LOGIN=$(printf '%s\n' "$LOGIN_SCREEN" | grep -o '\[exit [0-9]*\]' |
		    tail -1 | tr -d '[]')
	elif printf '%s\n' "$LOGIN_SCREEN" | grep -q 'Your choice'; then
		LOGIN=menu
	else
		LOGIN=timeout
	fi
}

# Has the terminal's ssh ended (its exit line shown, or the pane gone)?
term_ended() {
	e2e_screen_has "$1" '\[exit [0-9]+\]' ||
	    [ "$(e2e_tmux display -p -t "$1" '#{pane_dead}' 2>/dev/null)" = 1 ]
}
# Leave terminal NAME: q at the menu, then its tmux session goes.
term_close() {
	if [ "$(e2e_tmux display -p -t "$1" '#{pane_dead}' 2>/dev/null)" != 1 ]; then
		e2e_keys "$1" q
		e2e_wait 10 term_ended "$1" ||
		    e2e_fail "terminal $1 did not end after q: $(e2e_screen "$1" | tail -3)"
	fi
	e2e_tmux kill-session -t "$1" 2>/dev/null
}

# Check a login's outcome: login_is WHAT WANT [REGEX], with WANT "menu"
# or "exit N"; the screen must match REGEX too when one is given.
login_is() {
	local what=$1 want=$2 re=${3:-}
	if [ "$LOGIN" != "$want" ]; then
		e2e_fail "$what: got '$LOGIN', want '$want'; screen:"
		printf '%s\n' "$LOGIN_SCREEN" | sed 's/^/    | /'
	elif [ -n "$re" ]; then
		e2e_match "$what" "$LOGIN_SCREEN" "$re"
	else
		e2e_pass "$what"
	fi
}

# Wait up to $1 seconds for the current time to reach $2 (ms since the
# epoch): cache lifetimes are the state these tests wait on.
wait_until_ms() {
	local secs=$1 deadline=$2
	e2e_wait "$secs" now_past "$deadline"
}
now_past() { [ "$(( $(date +%s%N) / 1000000 ))" -ge "$1" ]; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One hello on the socket as USER, its answer due within MS ms: prints
# "ticket", "refused REASON", "error REASON", "TIMEOUT" (nothing in time)
# or what else came first. The clock starts when the hello is sent, so
# this measures the broker, not ssh or process start-up.
hello_as() {
	local u=$1 ms=$2 first
	first=$(wire_as "$u" -t "$ms" -j "$HELLO" -c -j '{"type":"goodbye"}' | head -1)
	case $first in
	*'"type":"ticket"'*) echo ticket ;;
	*'"type":"refused"'*|*'"type":"error"'*)
		printf '%s %s\n' "$(printf '%s' "$first" | jq -r .type)" \
		    "$(printf '%s' "$first" | jq -r .reason)" ;;
	*) echo "$first" ;;
	esac
}

# /proc/stat as the broker would read it ([load_shedding] stat_file =
# $T/stat), its counters moving on 10 times a second: $T/cpu.pct
# hundredths of each step busy, the rest idle. Run in the background.
cpu_feed() {
	local user=0 system=0 idle=0 iowait=0 pct
	while :; do
		pct=$(cat "$T/cpu.pct")
		user=$((user + pct * 3 / 4))
		system=$((system + pct - pct * 3 / 4))
		idle=$((idle + (100 - pct) * 9 / 10))
		iowait=$((iowait + (100 - pct) - (100 - pct) * 9 / 10))
		{
			printf 'cpu  %d 0 %d %d %d 0 0 0 0 0\n' "$user" "$system" "$idle" "$iowait"
			printf 'cpu0 %d 0 %d %d %d 0 0 0 0 0\n' "$user" "$system" "$idle" "$iowait"
			printf 'intr 1 0\nctxt 1\nbtime 1700000000\nprocesses 1\n'
			printf 'procs_running 1\nprocs_blocked 0\nsoftirq 0 0\n'
		} > "$T/stat.tmp"
		mv -f "$T/stat.tmp" "$T/stat"
		sleep 0.1
	done
}
# Start the fake /proc files: 10% CPU busy and half the memory in use.
load_files_start() {
	echo 10 > "$T/cpu.pct"
	mem_use 500
	cpu_feed &
	E2E_PIDS="$E2E_PIDS $!"
	e2e_wait 5 test -f "$T/stat" || e2e_die "no stat file"
}
# /proc/meminfo with a share $1 (in thousandths) of 16 GB not available.
mem_use() {
	local total=16384000 avail
	avail=$(( total - total * $1 / 1000 ))
	printf 'MemTotal:       %d kB\nMemFree:        %d kB\nMemAvailable:   %d kB\nBuffers:           1024 kB\nCached:          204800 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n' \
	    "$total" $((avail / 2)) "$avail" > "$T/meminfo.tmp"
	mv -f "$T/meminfo.tmp" "$T/meminfo"
}

# The broker's /metrics (needs e2e_http_port): `scrape FILE` keeps one
# scrape and fails unless it is a 200 that `promtool check metrics`
# passes; `metric SERIES` is one series' value (name and labels as
# exposed) in a fresh scrape.
scrape() {
	[ "$(curl -s -m 10 -o "$1" -w '%{http_code}' "$HTTP_URL/metrics")" = 200 ] ||
	    return 1
	promtool check metrics < "$1" > "$1.promtool" 2>&1
}
# `scraped WHAT`: the next of the scrapes $T/scrape.1..$SCRAPES, checked
# by promtool as a test step named WHAT.
SCRAPES=0
scraped() {
	SCRAPES=$((SCRAPES + 1))
	if scrape "$T/scrape.$SCRAPES"; then
		e2e_pass "promtool check metrics: $1"
	else
		e2e_fail "promtool check metrics: $1"
		cat "$T/scrape.$SCRAPES.promtool"
	fi
}
# Across all those scrapes: the same series, counters never down, and no
# user's name anywhere (promcheck.py); extra arguments go to it.
scrapes_agree() {
	local forbid="" u out rc
	for u in $E2E_USERS; do forbid="$forbid --forbid $u"; done
	# shellcheck disable=SC2086
	out=$(python3 "$DG_SRCDIR/tests/e2e/promcheck.py" $forbid "$@" \
	    $(seq -f "$T/scrape.%g" 1 "$SCRAPES") 2>&1); rc=$?
	e2e_eq "promcheck: the same series throughout, counters never down, no names" "$rc" 0
	[ "$rc" = 0 ] || e2e_log "$out"
}
metric() {
	curl -s -m 10 "$HTTP_URL/metrics" | awk -v k="$1" '$1 == k { print $2 }'
}
metric_is() { [ "$(metric "$1")" = "$2" ]; }
# Is the series' value within [$2, $3]?
metric_in() {
	local v
	v=$(metric "$1")
	[ -n "$v" ] && awk -v v="$v" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'
}
# One field (a jq filter) of a /health endpoint's answer.
health_detail() { e2e_http "$1"; jq -r "$2" <<<"$HTTP_BODY"; }
# A /health endpoint's HTTP code and status, as "200 healthy".
health_of() {
	e2e_http "$1"
	printf '%s %s\n' "$HTTP_CODE" "$(jq -r .status <<<"$HTTP_BODY" 2>/dev/null)"
}
