#!/bin/bash
# Structured logs: with log_format = json every line is one JSON object;
# each admission decision is one line with its outcome, reason, class
# and time in the queue, and connection events carry connection_id,
# user_id, remote_addr and active_connections; one uid flooding the log
# is held to 30 lines in 10 s and the rest summed up in one line, while
# another uid's lines go on; a reload back to kv takes effect at once.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init logs
SETTINGS="[connection_pool]
max_connections = 1
queue_size = 1
queue_timeout = 1s"
e2e_config "$SETTINGS"
sed -i 's/^log_level = debug$/log_level = debug\nlog_format = json/' "$CONF"
e2e_broker_start
for i in 1 2 3 4; do e2e_user "$i"; done
uid4=$(id -u "$U4")
LOG="$T/broker.log"

hello() { printf '{"type":"hello","version":1,"client":"session","remote":"%s"}' "$1"; }
# Run a command as a user (in the foreground: a background job must be
# setpriv itself, so that its pid is the one the broker sees).
as() { local u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups "$@"; }
# The JSON lines of the log that a jq filter selects.
lines() { jq -c "select($1)" "$LOG" 2>/dev/null; }
has() { [ -n "$(lines "$1")" ]; }

setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups \
    "$WIRE" "$SOCK" -t 60000 -j "$(hello 198.51.100.9:2222)" > "$T/u1.out" 2>&1 &
u1=$!
E2E_PIDS="$E2E_PIDS $u1"
e2e_wait 5 grep -q '"type":"ticket"' "$T/u1.out" || e2e_fail "the first player admitted"
setpriv --reuid="$U2" --regid="$(id -g "$U2")" --init-groups \
    "$WIRE" "$SOCK" -t 10000 -j "$(hello 198.51.100.10:3333)" > "$T/u2.out" 2>&1 &
u2=$!
E2E_PIDS="$E2E_PIDS $u2"
e2e_wait 5 grep -q '"type":"queued"' "$T/u2.out" || e2e_fail "the second player queued"
out=$(as "$U3" "$WIRE" "$SOCK" -t 5000 -j "$(hello 198.51.100.11:4444)" 2>&1)
e2e_match "a third finds the queue full" "$out" '"reason":"queue_full"'
e2e_reap 10 "$u2" || e2e_fail "the queued player refused at queue_timeout"

e2e_ok "every line is JSON" 'jq -e . "$LOG" > /dev/null'
e2e_eq "every line has ts, level and msg" \
    "$(jq -c 'select(has("ts") and has("level") and has("msg")) | 1' "$LOG" | wc -l)" "$(wc -l < "$LOG")"
adm=".msg == \"admitted\" and .user == \"$U1\""
e2e_ok "the admission is one line" '[ "$(lines "$adm" | wc -l)" = 1 ]'
e2e_ok "with its outcome, reason, class and wait" \
    'has "$adm and .outcome == \"admitted\" and .reason == \"-\" and .class == \"normal\" and .queue_ms == 0"'
e2e_ok "and the seed's connection fields" \
    'has "$adm and (.connection_id | type) == \"number\" and .user_id == $(id -u "$U1") and .remote_addr == \"198.51.100.9:2222\" and .active_connections == 1"'
e2e_ok "the queued decision" \
    'has ".msg == \"queued\" and .user == \"$U2\" and .outcome == \"queued\" and .class == \"normal\" and .remote_addr == \"198.51.100.10:3333\""'
e2e_ok "the refusal at queue_timeout, with the wait" \
    'has ".msg == \"refused\" and .user == \"$U2\" and .reason == \"queue_timeout\" and .queue_ms >= 900"'
e2e_ok "the refusal of a full queue" \
    'has ".msg == \"refused\" and .user == \"$U3\" and .reason == \"queue_full\" and .queue_ms == 0 and .active_connections == 1"'
e2e_ok "one decision line per session" '[ "$(lines "(.msg == \"admitted\" or .msg == \"queued\" or .msg == \"refused\")" | wc -l)" = 4 ]'

# A flood from one uid: 50 connections that each send a frame too large
# (two lines each: connected, bad frame). 30 go out, the rest are counted.
for i in $(seq 50); do
	as "$U4" "$WIRE" "$SOCK" -t 200 -x ffffffff01 > /dev/null 2>&1
done
e2e_ok "the flood's summary comes when its window ends" \
    'e2e_wait 15 has ".msg == \"repeated lines suppressed\" and .user_id == $uid4"'
shown=$(lines ".user_id == $uid4 and .msg != \"repeated lines suppressed\"" | wc -l)
e2e_eq "30 of the uid's lines went out" "$shown" 30
sum=$(lines ".msg == \"repeated lines suppressed\" and .user_id == $uid4")
e2e_eq "one summary" "$(printf '%s\n' "$sum" | wc -l)" 1
e2e_eq "the rest counted: 70 of 100" "$(jq -r .suppressed <<<"$sum")" 70
e2e_match "said as the admin reads it" "$(jq -r .summary <<<"$sum")" '^70 more like this in (10|[1-9]) s$'
e2e_eq "like the line it held back" "$(jq -r .like <<<"$sum")" "bad frame"

# Another uid's lines went on meanwhile.
kill "$u1"; wait "$u1" 2>/dev/null
e2e_ok "another player's session end is logged" \
    'e2e_wait 5 has ".msg == \"session ended\" and .user == \"$U1\" and .remote_addr == \"198.51.100.9:2222\" and .active_connections == 0"'

# Back to key=value with a reload: the next line is kv.
e2e_config "$SETTINGS"
e2e_ok "reloaded" e2e_reload
e2e_match "kv again" "$(tail -1 "$LOG")" '^ts=[0-9T:.-]+Z level=info msg="configuration reloaded" '
e2e_done
