#!/bin/bash
# The configuration of the auth service, the breaker, shedding and the
# alerts: a url that is not http(s), a token file that group or others
# may read or write, a negative threshold and the like stop the broker
# and --test-config with 78 and file:line:section.key; a good file shows
# the keys; a reload with such an error changes nothing.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init authconf
printf 'token\n' > "$T/token"
chmod 600 "$T/token"
# The broker may start as its own user (as systemd runs it): the file is
# that user's, as an admin would make it.
chown "$E2E_BROKER_USER:" "$T/token"
# Where e2e_config put the first line of text $1: lines before it are
# the harness's own.
offset() {
	local first
	first=$(grep -nxF -- "$(printf '%s\n' "$1" | head -1)" "$CONF" | head -1 | cut -d: -f1)
	echo $(( ${first:-1} - 1 ))
}

# bad WHAT LINE KEY TEXT: TEXT is refused at its line LINE (counted in
# TEXT) naming KEY, by --test-config and by the broker at startup.
bad() {
	local what=$1 line key=$3 text=$4 out rc
	e2e_config "$text"
	line=$(( $2 + $(offset "$text") ))
	out=$("$BROKER" --test-config -f "$CONF" 2>&1); rc=$?
	e2e_eq "$what: --test-config exits 78" "$rc" 78
	e2e_match "$what: --test-config names $key at line $line" "$out" "^$CONF:$line:$key: "
	out=$(timeout 10 "$BROKER" -D -f "$CONF" 2>&1); rc=$?
	e2e_eq "$what: the broker refuses to start with 78" "$rc" 78
	e2e_match "$what: and names $key at line $line" "$out" "$CONF:$line:$key: "
	e2e_ok "$what: no socket left" '[ ! -e "$SOCK" ]'
}

# good WHAT TEXT: --test-config accepts TEXT.
good() {
	local out rc
	e2e_config "$2"
	out=$("$BROKER" --test-config -f "$CONF" 2>&1); rc=$?
	e2e_eq "$1: --test-config exits 0" "$rc" 0
	[ "$rc" = 0 ] || printf '%s\n' "$out" | sed 's/^/    | /'
	GOOD_OUT=$out
}

# --- The url: http or https, nothing else.
bad "an ftp url" 2 auth.url "[auth]
url = ftp://127.0.0.1/authorize"
bad "a url without a scheme" 2 auth.url "[auth]
url = 127.0.0.1:8080/authorize"
bad "a file url" 2 auth.url "[auth]
url = file:///etc/passwd"
good "an http url" "[auth]
url = http://127.0.0.1:9/authorize"
e2e_match "the effective url is printed" "$GOOD_OUT" '^url = http://127\.0\.0\.1:9/authorize$'
good "an https url" "[auth]
url = https://auth.example.org/v1/authorize"
good "no url: local policy" "[auth]
url ="

# --- The token file: absolute, there, and private like an ssh key.
for mode in 644 640 604 620 602; do
	chmod "$mode" "$T/token"
	bad "a token file of mode $mode" 3 auth.token_file "[auth]
url = http://127.0.0.1:9/authorize
token_file = $T/token"
done
for mode in 600 400; do
	chmod "$mode" "$T/token"
	good "a token file of mode $mode" "[auth]
url = http://127.0.0.1:9/authorize
token_file = $T/token"
done
chmod 600 "$T/token"
bad "a missing token file" 3 auth.token_file "[auth]
url = http://127.0.0.1:9/authorize
token_file = $T/no-such-token"
bad "a relative token file" 3 auth.token_file "[auth]
url = http://127.0.0.1:9/authorize
token_file = token"

# --- Values out of range.
bad "a negative failure_threshold" 2 circuit_breaker.failure_threshold "[circuit_breaker]
failure_threshold = -1"
bad "a recovery_timeout under 100 ms" 3 circuit_breaker.recovery_timeout "[circuit_breaker]
enabled = true
recovery_timeout = 50ms"
bad "a negative recovery_timeout" 2 circuit_breaker.recovery_timeout "[circuit_breaker]
recovery_timeout = -5s"
bad "a negative cpu_threshold" 2 load_shedding.cpu_threshold "[load_shedding]
cpu_threshold = -0.5"
bad "a negative memory_threshold" 3 load_shedding.memory_threshold "[load_shedding]
cpu_threshold = 0.8
memory_threshold = -0.1"
bad "a negative high_error_rate" 2 alerts.high_error_rate "[alerts]
high_error_rate = -0.05"
bad "a negative auth timeout" 3 auth.timeout "[auth]
url = http://127.0.0.1:9/authorize
timeout = -2s"
bad "an unknown on_failure" 3 auth.on_failure "[auth]
url = http://127.0.0.1:9/authorize
on_failure = maybe"
bad "enabled that is not a boolean" 2 load_shedding.enabled "[load_shedding]
enabled = sometimes"

# Every error in a file at once.
text="[auth]
url = gopher://127.0.0.1/
[circuit_breaker]
failure_threshold = -3
[alerts]
high_error_rate = -1"
e2e_config "$text"
o=$(offset "$text")
out=$("$BROKER" --test-config -f "$CONF" 2>&1); rc=$?
e2e_eq "several errors: 78" "$rc" 78
e2e_match "the url's" "$out" "^$CONF:$((o + 2)):auth.url: "
e2e_match "the threshold's" "$out" "^$CONF:$((o + 4)):circuit_breaker.failure_threshold: "
e2e_match "the rate's" "$out" "^$CONF:$((o + 6)):alerts.high_error_rate: "

# --- Every key, with its default, in the effective configuration and in
# the shipped file.
good "all the keys" "[auth]
url = http://127.0.0.1:9/authorize
token_file = $T/token
timeout = 2s
on_failure = cached
[circuit_breaker]
enabled = true
failure_threshold = 10
recovery_timeout = 60s
[load_shedding]
enabled = true
cpu_threshold = 0.8
memory_threshold = 0.9
stat_file = /proc/stat
meminfo_file = /proc/meminfo
[alerts]
high_error_rate = 0.05"
for k in "token_file = $T/token" "timeout = 2s" "on_failure = cached" \
    "failure_threshold = 10" "recovery_timeout = (60s|1m)" "cpu_threshold = 0.8" \
    "memory_threshold = 0.9" "stat_file = /proc/stat" \
    "meminfo_file = /proc/meminfo" "high_error_rate = 0.05"; do
	e2e_match "effective: $k" "$GOOD_OUT" "^$k\$"
done
shipped="$DG_SRCDIR/conf/dungeongate.ini"
for k in '^\[auth\]' '^url =' '^token_file =' '^on_failure = cached' \
    '^\[circuit_breaker\]' '^recovery_timeout = 60s' '^\[load_shedding\]' \
    '^stat_file = /proc/stat' '^meminfo_file = /proc/meminfo' \
    '^high_error_rate = 0.05'; do
	e2e_ok "the shipped file has $k" 'grep -Eq "$k" "$shipped"'
done

# --- A reload with an auth error changes nothing.
e2e_config "[auth]
url = http://127.0.0.1:9/authorize
token_file = $T/token
on_failure = allow"
e2e_broker_start
e2e_config "[auth]
url = ftp://127.0.0.1/authorize"
e2e_reload
e2e_eq "a reload with an ftp url fails" "$E2E_RELOAD" failed
e2e_ok "the failure names the key" 'grep -q "auth.url" "$T/broker.log"'
e2e_config "[auth]
url = http://127.0.0.1:9/authorize
token_file = $T/token
on_failure = allow"
chmod 644 "$T/token"
e2e_reload
e2e_eq "a reload with a world-readable token file fails" "$E2E_RELOAD" failed
chmod 600 "$T/token"
e2e_ok "a reload once it is private again" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
e2e_ok "the broker is up throughout" '"$BROKER" --status -f "$CONF" >/dev/null'
e2e_broker_stop
e2e_eq "and stops cleanly" "$BROKER_STATUS" 0
e2e_done
