#!/bin/bash
# Bad input on the broker's socket: each gets an error frame and a closed
# connection, and the broker goes on serving everyone else. Identity is
# the kernel's (SO_PEERCRED), never a field of a message.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init protocol
e2e_config
e2e_broker_start
e2e_user 1
HELLO='{"type":"hello","version":1,"client":"session"}'

# A well-behaved session held open across everything below.
"$WIRE" "$SOCK" -t 120000 -j "$HELLO" > "$T/steady.out" &
steady=$!; E2E_PIDS="$E2E_PIDS $steady"
e2e_wait 5 grep -q '"type":"ticket"' "$T/steady.out" || e2e_fail "steady session admitted"

# Is the steady session still admitted under the ticket it was given?
steady_admitted() {
	local t
	t=$(grep '"type":"ticket"' "$T/steady.out" | head -1 | jq -r .id)
	[ -n "$t" ] && [ "$t" != null ] &&
	    e2e_status | jq -e --arg t "$t" 'any(.sessions[]; .user == "root" and .ticket == $t)' >/dev/null
}

# expect WHAT REASON REGEX dg-wire-args...: an error with that reason, then EOF.
expect() {
	local what=$1 reason=$2 re=$3; shift 3
	local out
	out=$("$WIRE" "$SOCK" -t 5000 "$@")
	e2e_match "$what: error frame" "$out" "\"reason\":\"$reason\""
	e2e_match "$what: reason explained" "$out" "$re"
	e2e_match "$what: connection closed" "$(printf '%s\n' "$out" | tail -1)" '^EOF$'
}

expect "garbage" bad_frame 'bad frame: unknown frame type' -x 6465616462656566636166656261626500
expect "garbage length" bad_frame 'frame too large \(1684365668 bytes; at most 65536\)' -x 646561640100
expect "oversized length" bad_frame 'frame too large \(65537 bytes; at most 65536\)' -x 000100010100
expect "zero length" bad_frame 'empty frame' -x 0000000001
expect "unknown frame type" bad_frame 'unknown frame type' -x 00000002077b7d
expect "a stream frame without bytes" bad_frame 'stream frame without bytes' \
    -x 000000080200000000000000000000
expect "an oversized stream frame" bad_frame 'frame too large' -x 0001000902
expect "a stream frame before hello" unexpected 'a stream frame is expected only while a game runs' \
    -x 00000009020000000000000000780a
expect "a stream frame from a session with no game" unexpected \
    'a stream frame is expected only while a game runs' -j "$HELLO" -c -c \
    -x 00000009020000000000000000780a
expect "a resize out of range" bad_message 'cols: 0 not in 1\.\.1000' -j "$HELLO" -c -c \
    -j '{"type":"resize","cols":0,"rows":24,"offset":0}'
expect "a watch of a name with a path" bad_message 'user: characters not allowed' -j "$HELLO" -c -c \
    -j '{"type":"watch","user":"../root"}'
expect "a replay of a hidden file" bad_message 'file: characters not allowed' -j "$HELLO" -c -c \
    -j '{"type":"replay","user":"root","game":"nethack","file":".profile"}'
expect "invalid JSON" bad_message 'invalid JSON' -j '{"type":"hello",'
expect "not an object" bad_message 'must be a JSON object' -j '[1,2,3]'
expect "no type" bad_message 'type: missing' -j '{"version":1}'
expect "unknown type" bad_message 'unknown message' -j '{"type":"sudo"}'
expect "a broker-only message" bad_message 'unknown message' -j '{"type":"ticket"}'
expect "wrong type" bad_message 'version: expected an integer' \
    -j '{"type":"hello","version":"1","client":"session"}'
expect "missing field" bad_message 'version: missing' -j '{"type":"hello","client":"session"}'
expect "oversized string" bad_message 'term: length' \
    -j "{\"type\":\"hello\",\"version\":1,\"client\":\"session\",\"term\":\"$(printf 'x%.0s' $(seq 65))\"}"
expect "control characters" bad_message 'term: characters not allowed' \
    -j '{"type":"hello","version":1,"client":"session","term":"xterm\u001b[2J"}'
expect "out of range" bad_message 'cols: 0 not in 1\.\.1000' \
    -j '{"type":"hello","version":1,"client":"session","cols":0}'
expect "duplicate keys" bad_message 'invalid JSON' \
    -j '{"type":"hello","version":1,"version":1,"client":"session"}'
expect "wrong protocol version" version 'protocol version 99 is not supported; this broker speaks version 1' \
    -j '{"type":"hello","version":99,"client":"session"}'
expect "unknown client role" bad_message 'client must be' \
    -j '{"type":"hello","version":1,"client":"root"}'
expect "a message before hello" unexpected 'play is not expected now' \
    -j '{"type":"play","game":"nethack","cols":80,"rows":24}'
# (A ticket is followed by the session's bandwidth share: two frames.)
expect "hello twice" unexpected 'hello is not expected now' -j "$HELLO" -c -c -j "$HELLO"
expect "a lease not held" bad_message 'lease this session does not hold' \
    -j "$HELLO" -c -c -j '{"type":"game_end","lease":"l-0000000000000000"}'
expect "identity in a message" bad_message 'user.*unknown field' \
    -j '{"type":"hello","version":1,"client":"session","user":"root"}'
expect "a session asking for status" unexpected 'status is not expected now' \
    -j "$HELLO" -c -c -j '{"type":"status"}'
REJOIN='{"type":"rejoin","version":1,"client":"session","ticket":"t-0123456789abcdef","cols":80,"rows":24'
expect "a rejoin without its ticket" bad_message 'ticket: missing' \
    -j '{"type":"rejoin","version":1,"client":"session","cols":80,"rows":24}'
expect "a rejoin with a pid out of range" bad_message 'pid' -j "$REJOIN"',"pid":0}'
expect "a rejoin with an unknown field" bad_message 'uid.*unknown field' -j "$REJOIN"',"uid":0}'
expect "an admin tool rejoining" bad_message 'only a session rejoins' \
    -j '{"type":"rejoin","version":1,"client":"admin","ticket":"t-0123456789abcdef","cols":80,"rows":24}'
expect "a rejoin after hello" unexpected 'rejoin is not expected now' \
    -j "$HELLO" -c -c -j "$REJOIN}"
out=$("$WIRE" "$SOCK" -t 5000 -j "$REJOIN"',"lease":"l-0123456789abcdef"}')
e2e_match "a rejoin's lease without its game and pid: refused" "$out" '"reason":"bad_message".*"type":"refused"'

# A truncated frame and a vanished peer cost nothing: the broker sees
# each peer go (it logs the peer, known by its pid, as closed) and serves
# everyone else as before.
"$WIRE" "$SOCK" -t 100 -x 0000001001 >/dev/null &
trunc=$!
"$WIRE" "$SOCK" -t 100 -x 00000020017b22747970 >/dev/null &
vanished=$!
e2e_ok "truncated frame sent" 'e2e_reap 10 "$trunc"'
e2e_ok "half a message sent" 'e2e_reap 10 "$vanished"'
peer_gone() { grep -Eq "msg=\"peer (closed|error)\" .*pid=$1( |\$)" "$T/broker.log"; }
e2e_ok "the broker saw the truncated frame's peer go" 'e2e_wait 5 peer_gone "$trunc"'
e2e_ok "the broker saw the vanished peer go" 'e2e_wait 5 peer_gone "$vanished"'
e2e_eq "no connection left half open" "$(e2e_status | jq .broker.connecting)" 0
e2e_ok "the steady session is still admitted" steady_admitted
e2e_ok "--check healthy after both" '"$BROKER" --check -f "$CONF" >/dev/null'

# A peer that never says hello is let go; so is an admin tool that asks
# nothing. (Both wait out the deadline side by side.)
start=$(date +%s)
"$WIRE" "$SOCK" -t 20000 > "$T/silent.out" &
silent=$!
"$WIRE" "$SOCK" -t 20000 -j '{"type":"hello","version":1,"client":"admin"}' > "$T/idle-admin.out" &
idle_admin=$!
E2E_PIDS="$E2E_PIDS $silent $idle_admin"

# A player may hold only a few connections without a ticket.
pending=""
for i in 1 2 3 4 5 6 7 8; do
	setpriv --reuid="$U1" --regid="$U1" --init-groups "$WIRE" "$SOCK" -t 30000 >/dev/null &
	pending="$pending $!"
done
E2E_PIDS="$E2E_PIDS $pending"
# Eight of the account's connections wait, and the silent peer's too.
e2e_ok "eight connections of one account waiting" \
    'e2e_wait 5 e2e_status_is ".broker.connecting >= 9" true'
out=$(setpriv --reuid="$U1" --regid="$U1" --init-groups "$WIRE" "$SOCK" -t 2000 -j "$HELLO")
e2e_match "ninth waiting connection refused" "$out" 'Too many connections from your account are waiting'
e2e_match "refusal says busy" "$out" '"reason":"busy"'
out=$("$WIRE" "$SOCK" -t 500 -j "$HELLO")
e2e_match "other accounts unaffected" "$out" '"type":"ticket"'
kill $pending; wait $pending 2>/dev/null

wait "$silent" "$idle_admin"
e2e_match "silent peer told" "$(cat "$T/silent.out")" 'no hello in time'
e2e_match "silent peer closed" "$(tail -1 "$T/silent.out")" '^EOF$'
e2e_match "idle admin tool told" "$(cat "$T/idle-admin.out")" 'no request in time'
e2e_match "idle admin tool closed" "$(tail -1 "$T/idle-admin.out")" '^EOF$'
e2e_ok "both closed within the deadline" '[ $(( $(date +%s) - start )) -le 13 ]'

# A game that does not exist is refused; the connection stays.
out=$("$WIRE" "$SOCK" -t 1000 -j "$HELLO" -c -c -j '{"type":"play","game":"rogue","cols":80,"rows":24}')
e2e_match "unknown game refused" "$out" '"reason":"no_game"'
e2e_match "connection kept after a refusal" "$(printf '%s\n' "$out" | tail -1)" '^TIMEOUT$'

# The identity is the peer's uid: a player gets a ticket in their own name.
out=$(su -s /bin/sh "$U1" -c "$WIRE $SOCK -t 500 -j '$HELLO'")
e2e_match "ticket in the peer's own name" "$out" "\"user\":\"$U1\""
out=$(su -s /bin/sh "$U1" -c "$WIRE $SOCK -t 500 -j '$HELLO' -c -c -j '{\"type\":\"play\",\"game\":\"nethack\",\"cols\":80,\"rows\":24}'")
e2e_match "lease runs the game as the peer" "$out" "\"argv\":\\[\"/usr/games/nethack\",\"-u\",\"$U1\"\\]"
e2e_match "lease home is the peer's" "$out" "\"home\":\"$T/home/$U1\""

# Everyone else was served throughout.
e2e_ok "broker alive" 'kill -0 "$BROKER_PID"'
e2e_ok "steady session still admitted" steady_admitted
e2e_match "bad frames counted" "$(e2e_status | jq .broker.bad_frames_total)" '^[1-9][0-9]+$'
e2e_ok "--check healthy" '"$BROKER" --check -f "$CONF"'
out=$("$WIRE" "$SOCK" -t 500 -j "$HELLO")
e2e_match "a new session is admitted" "$out" '"type":"ticket"'

# The descriptor budget: 64 descriptors leave 32 for connections.
e2e_config "[limits]
max_file_descriptors = 64
[quota:default]
max_connections = 100"
e2e_ok "descriptor budget reloaded" e2e_reload
e2e_ok "budget applied on reload" 'grep -q "max_file_descriptors=64 connections=32" "$T/broker.log"'
held=""
for i in $(seq 31); do
	# One at a time: a uid may only have a few connections waiting.
	"$WIRE" "$SOCK" -t 30000 -j "$HELLO" > "$T/held.$i" &
	held="$held $!"
	e2e_wait 5 grep -q ticket "$T/held.$i"
done
E2E_PIDS="$E2E_PIDS $held"
e2e_eq "31 more connections held (32 with the steady one)" "$(cat "$T"/held.* | grep -c ticket)" 31
out=$("$WIRE" "$SOCK" -t 2000 -j "$HELLO")
e2e_match "connection past the budget refused" "$out" 'DungeonGate is at its connection limit'
e2e_ok "refusal logged" 'grep -q "connection refused: descriptor budget spent" "$T/broker.log"'
kill $held; wait $held 2>/dev/null
e2e_ok "connections released" 'e2e_wait 5 e2e_status_is .connection_pool.active 1'
out=$("$WIRE" "$SOCK" -t 500 -j "$HELLO")
e2e_match "admitted again under the budget" "$out" '"type":"ticket"'
e2e_done
