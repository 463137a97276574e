#!/bin/bash
# Admin rights and tiers follow the running configuration: a reload that
# changes admin_group or a tier's groups shows in the very next decision,
# for users the broker already knows. Health and status requests are held
# to a rate per uid. A broker stopped with peers of every kind connected
# exits cleanly, with nothing leaked.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init admin
OPS="dgo$E2E_SUFFIX"
VIP="dgv$E2E_SUFFIX"
groupadd "$OPS" && groupadd "$VIP" || e2e_die "groupadd"
E2E_GROUPS="$E2E_GROUPS $OPS $VIP"
base="[quota:default]
max_connections = 1
[quota:vip]
groups = $VIP
max_connections = 3"
e2e_config "$base"
e2e_broker_start
e2e_user 1 "$OPS"	# becomes an admin when admin_group names its group
e2e_user 2 "$VIP"	# vip, until the tier stops naming its group
e2e_sshd_start
HELLO='{"type":"hello","version":1,"client":"session"}'

as() { local u=$1; shift; su -s /bin/sh "$u" -c "$*"; }
# Start a command as a user in the background: as_bg USER CMD... &
# (the subshell becomes the command, so that $! is its pid).
as_bg() { local u=$1; shift; exec setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }

# A known user without rights: the broker has looked them up already.
out=$(as "$U1" "$WIRE $SOCK -t 1000 -j '$HELLO'")
e2e_match "player known to the broker" "$out" '"type":"ticket"'
out=$(as "$U1" "$BROKER --status -f $CONF" 2>&1); rc=$?
e2e_eq "not an admin yet: --status refused" "$rc" 1
e2e_match "refusal names the admin group" "$out" "needs root or membership of $E2E_ADMIN_GROUP"

# admin_group now names the player's group: the next request follows.
e2e_config "$base"
sed -i "s/^admin_group = $E2E_ADMIN_GROUP\$/admin_group = $OPS/" "$CONF"
grep -q "^admin_group = $OPS\$" "$CONF" || e2e_die "admin_group not rewritten"
e2e_ok "reload with a new admin_group" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
out=$(as "$U1" "$BROKER --status -f $CONF" 2>&1); rc=$?
e2e_eq "the new admin may run --status at once" "$rc" 0
e2e_eq "--status answers them" "$(printf '%s' "$out" | jq .connection_pool.max)" 1000
# An admin's session is of class critical (it would queue first).
out=$(as "$U1" "$WIRE $SOCK -t 1000 -j '$HELLO' -c -c -j '{\"type\":\"goodbye\"}'")
e2e_match "the new admin's session admitted" "$out" '"type":"ticket"'
e2e_ok "as class critical" 'grep -q "msg=admitted user=$U1 .*class=critical" "$T/broker.log"'

# Back: the rights go at once, even on a connection opened before.
as_bg "$U1" "$WIRE" "$SOCK" -t 10000 -j '{"type":"hello","version":1,"client":"admin"}' \
    -w "$T/go1" -j '{"type":"status"}' > "$T/early-admin.out" &
early=$!
E2E_PIDS="$E2E_PIDS $early"
e2e_wait 5 bash -c "[ \"\$('$BROKER' --status -f '$CONF' | jq .broker.admin_connections)\" -ge 2 ]" ||
    e2e_fail "the early admin connection is open"
e2e_config "$base"
e2e_ok "reload back to the old admin_group" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
out=$(as "$U1" "$BROKER --status -f $CONF" 2>&1); rc=$?
e2e_eq "rights removed at once: --status refused" "$rc" 1
touch "$T/go1"
wait "$early"
e2e_match "and refused on a connection opened before the reload" \
    "$(cat "$T/early-admin.out")" '"reason":"forbidden"'

# Tiers: U2 is vip by group, with a live session.
e2e_ssh_term v1 "$U2"
e2e_wait_screen v1 'Your choice' || e2e_die "no menu for $U2"
tier() { e2e_status | jq -r --arg u "$U2" '.users[] | select(.user == $u) | "\(.tier) \(.sessions.used)/\(.sessions.max)"'; }
e2e_eq "vip tier from the group" "$(tier)" "vip 1/3"
e2e_ssh_term v2 "$U2"
e2e_expect_screen "a second vip session is admitted" v2 'Your choice'
# A third session, admitted as vip, asks for a game after the reload.
as_bg "$U2" "$WIRE" "$SOCK" -t 10000 -j "$HELLO" -c -c -w "$T/go2" \
    -j '{"type":"play","game":"nethack","cols":80,"rows":24}' > "$T/early-play.out" &
early=$!
E2E_PIDS="$E2E_PIDS $early"
e2e_wait 5 grep -q '"type":"ticket"' "$T/early-play.out" || e2e_fail "a third vip session"
# The vip tier stops naming the group: the live sessions stay, and the
# next decision is made in the default tier.
e2e_config "[quota:default]
max_connections = 1
max_ptys = 0
[quota:vip]
groups = nosuchgroup
max_connections = 3"
e2e_ok "reload with the vip tier's groups changed" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
e2e_eq "the live sessions now count against the default tier" "$(tier)" "default 3/1"
touch "$T/go2"
e2e_ok "a game asked for on a session opened before is refused by the default tier" \
    'e2e_wait 5 grep -q "your tier (default) allows 0" "$T/early-play.out"'
kill "$early"; wait "$early" 2>/dev/null
e2e_ok "that session is gone" \
    'e2e_wait 5 e2e_status_is ".users[] | select(.user == \"$U2\") | .sessions.used" 2'

out=$(e2e_ssh "$U2" "-tt" 2>&1); rc=$?
e2e_match "the next session is refused by the default tier" "$out" \
    'You already have 2 sessions open and your tier \(default\) allows 1'
e2e_eq "refused with exit 1" "$rc" 1
e2e_keys v1 q
e2e_keys v2 q
e2e_ok "the vip sessions end" 'e2e_wait 10 e2e_status_is .connection_pool.active 0'

# Health requests are held to a rate per uid; another uid is unaffected.
# Asked 25 times at once on one connection: the burst is answered, then
# the connection is refused and closed.
checks=""
for i in $(seq 25); do checks="$checks -j {\"type\":\"check\"} -c"; done
# shellcheck disable=SC2086
out=$(setpriv --reuid="$U2" --regid="$U2" --init-groups "$WIRE" "$SOCK" -t 5000 \
    -j '{"type":"hello","version":1,"client":"admin"}' $checks)
answered=$(printf '%s\n' "$out" | grep -c '"type":"health"')
e2e_log "25 checks at once: $answered answered"
e2e_ok "a player asking 25 times at once is held back ($answered answered)" \
    '[ "$answered" -ge 10 ] && [ "$answered" -le 12 ]'
e2e_match "and told why" "$out" '"reason":"rate_limited"'
e2e_match "in words" "$out" 'Too many requests from your account; please try again in a few seconds\.'
out=$(as "$U2" "$BROKER --check -f $CONF"); rc=$?
e2e_match "--check says so" "$out" '^broker: unknown \(Too many requests from your account; please try again in a few seconds\.\)$'
e2e_eq "--check exits 2 when held back" "$rc" 2
out=$(as "$U1" "$BROKER --check -f $CONF" 2>&1); rc=$?
e2e_nomatch "another player is not held back" "$out" 'Too many requests'
e2e_match "rate refusals counted" "$(e2e_status | jq .violations.rate_limited)" '^[1-9]'
# The bucket refills: one request a little later is answered.
answered() { as "$U2" "$BROKER --check -f $CONF" | grep -q '^broker: healthy'; }
e2e_ok "the player is answered again after a pause" 'e2e_wait 5 answered'

# Text a session reports about itself is escaped before it reaches
# --status or the log: a bidi override in the remote address shows as an
# escape, never as the character itself.
"$WIRE" "$SOCK" -t 30000 -j '{"type":"hello","version":1,"client":"session","remote":"203.0.113.9:22\u202egnp.exe"}' > "$T/bidi.out" &
bidi=$!
E2E_PIDS="$E2E_PIDS $bidi"
e2e_wait 5 grep -q '"type":"ticket"' "$T/bidi.out" || e2e_fail "the session with a bidi remote is admitted"
remote=$(e2e_status | jq -r '.sessions[] | select(.remote | startswith("203.0.113.9")) | .remote')
e2e_eq "the remote is shown escaped in --status" "$remote" '203.0.113.9:22\u{202e}gnp.exe'
e2e_eq "and marked as the session's report" \
    "$(e2e_status | jq -r '.sessions[] | select(.remote | startswith("203.0.113.9")) | .remote_source')" \
    "reported by the session"
RLO=$'\xe2\x80\xae'
e2e_ok "no bidi override in --status" '! e2e_status | grep -qF "$RLO"'
e2e_ok "the log has the escape" 'grep -qF "remote_addr=\"203.0.113.9:22\\u{202e}gnp.exe\"" "$T/broker.log"'
e2e_ok "and no bidi override" '! grep -qF "$RLO" "$T/broker.log"'
kill "$bidi"; wait "$bidi" 2>/dev/null

# A session that does not read while its user's share keeps moving (a
# second session of the same account comes and goes, thousands of
# times): the broker drops it once, when its output passes the bound,
# and lives on with its counts right.
e2e_config "[quota:default]
max_connections = 10"
e2e_ok "reload to room for two sessions of one account" e2e_reload
"$WIRE" "$SOCK" -t 60000 -j "$HELLO" -c -c -w "$T/never" > "$T/deaf.out" &
deaf=$!
E2E_PIDS="$E2E_PIDS $deaf"
e2e_wait 5 grep -q '"type":"limits"' "$T/deaf.out" || e2e_fail "the deaf session is admitted"
kill -STOP "$deaf"
python3 - "$SOCK" "$T/broker.log" > "$T/churn.out" 2>&1 <<'PY'
import json, socket, struct, sys, time
def frame(o):
    b = json.dumps(o).encode()
    return struct.pack(">IB", len(b), 1) + b
hello = frame({"type": "hello", "version": 1, "client": "session"})
bye = frame({"type": "goodbye"})
def read_frame(s):
    buf = b""
    while len(buf) < 5:
        c = s.recv(5 - len(buf))
        if not c:
            return None
        buf += c
    n = struct.unpack(">I", buf[:4])[0]
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            return None
        body += c
    return json.loads(body)
end = time.time() + 60
cycles = 0
while time.time() < end and cycles < 40000:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.sendall(hello)
    m = read_frame(s)
    if m is None or m["type"] != "ticket":
        print("no ticket after", cycles, m)
        sys.exit(1)
    s.sendall(bye)
    while read_frame(s) is not None:
        pass
    s.close()
    cycles += 1
    # Enough once the broker has let the deaf session go.
    if cycles % 500 == 0 and "peer does not read" in open(sys.argv[2]).read():
        break
print("cycles", cycles)
PY
e2e_log "churn: $(cat "$T/churn.out")"
e2e_ok "the churn was served throughout" 'grep -q "^cycles" "$T/churn.out"'
e2e_ok "the deaf session was dropped" 'grep -q "peer does not read; dropping it" "$T/broker.log"'
e2e_eq "once" "$(grep -c 'peer does not read; dropping it' "$T/broker.log")" 1
e2e_ok "the broker lives on" 'kill -0 "$BROKER_PID"'
e2e_ok "and counts no session" 'e2e_wait 5 e2e_status_is .connection_pool.active 0'
kill -CONT "$deaf"; kill "$deaf"; wait "$deaf" 2>/dev/null

# A queued session takes the class a reload gives its account: admin
# rights move it ahead of those who came before it.
e2e_config "[connection_pool]
max_connections = 1
queue_size = 5
queue_timeout = 60s"
e2e_ok "reload to a pool of one" e2e_reload
"$WIRE" "$SOCK" -t 60000 -j "$HELLO" > "$T/holder.out" &
holder=$!
E2E_PIDS="$E2E_PIDS $holder"
e2e_wait 5 grep -q '"type":"ticket"' "$T/holder.out" || e2e_fail "a session holds the pool"
as_bg "$U2" "$WIRE" "$SOCK" -t 60000 -j "$HELLO" > "$T/first.out" &
first=$!
E2E_PIDS="$E2E_PIDS $first"
e2e_wait 5 grep -q '"position":1' "$T/first.out" || e2e_fail "a player queues first"
as_bg "$U1" "$WIRE" "$SOCK" -t 60000 -j "$HELLO" > "$T/second.out" &
second=$!
E2E_PIDS="$E2E_PIDS $second"
e2e_wait 5 grep -q '"position":2' "$T/second.out" || e2e_fail "another queues second"
e2e_config "[connection_pool]
max_connections = 1
queue_size = 5
queue_timeout = 60s"
sed -i "s/^admin_group = $E2E_ADMIN_GROUP\$/admin_group = $OPS/" "$CONF"
e2e_ok "reload making the second player's group the admins" e2e_reload
e2e_ok "the new admin moves to the head of the line" \
    'e2e_wait 5 grep -qE "\"class\":\"critical\".*\"position\":1," "$T/second.out"'
e2e_ok "and the first player is told it is second now" \
    'e2e_wait 5 grep -q "\"position\":2" "$T/first.out"'
e2e_eq "--status agrees" "$(e2e_status | jq -c '.queue.by_class')" \
    '{"low":0,"normal":1,"high":0,"critical":1}'
kill "$holder"
e2e_ok "the freed slot goes to the new admin" 'e2e_wait 5 grep -q "\"type\":\"ticket\"" "$T/second.out"'
kill "$first" "$second" 2>/dev/null; wait "$holder" "$first" "$second" 2>/dev/null
e2e_config "$base"
e2e_ok "reload back" e2e_reload

# Stop with peers of every kind: a menu session, a queued one (the pool
# is made full), an admin tool that asked nothing yet, a connection that
# never says hello, and new connections arriving while it stops.
e2e_config "[connection_pool]
max_connections = 1
queue_size = 5
queue_timeout = 60s"
e2e_ok "reload to a pool of one" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
"$WIRE" "$SOCK" -t 60000 -j "$HELLO" > "$T/held.out" &
held=$!
e2e_wait 5 grep -q '"type":"ticket"' "$T/held.out" || e2e_fail "a session holds the pool"
"$WIRE" "$SOCK" -t 60000 -j "$HELLO" > "$T/queued.out" &
queued=$!
e2e_wait 5 grep -q '"type":"queued"' "$T/queued.out" || e2e_fail "a session waits in line"
"$WIRE" "$SOCK" -t 60000 -j '{"type":"hello","version":1,"client":"admin"}' > "$T/admin.out" &
admin=$!
"$WIRE" "$SOCK" -t 60000 > "$T/silent.out" &
silent=$!
E2E_PIDS="$E2E_PIDS $held $queued $admin $silent"
e2e_wait 5 bash -c "[ \"\$('$BROKER' --status -f '$CONF' | jq '.broker.connecting + .broker.admin_connections')\" -ge 3 ]" ||
    e2e_fail "the admin tool and the silent peer are connected"
( for i in $(seq 40); do "$WIRE" "$SOCK" -t 2000 -j "$HELLO" >/dev/null 2>&1 & done; wait ) &
flood=$!
kill -TERM "$BROKER_PID"
e2e_wait 20 bash -c "! kill -0 $BROKER_PID 2>/dev/null" || e2e_fail "the broker stopped"
wait "$BROKER_PID"; rc=$?
e2e_eq "the broker exits 0 with peers of every kind" "$rc" 0
e2e_ok "stop logged" 'grep -q "msg=stopped" "$T/broker.log"'
e2e_match "the session was told" "$(cat "$T/held.out")" '"reason":"shutdown"'
e2e_match "the queued session was told" "$(cat "$T/queued.out")" '"reason":"shutdown"'
wait "$flood" 2>/dev/null
kill "$held" "$queued" "$admin" "$silent" 2>/dev/null
wait "$held" "$queued" "$admin" "$silent" 2>/dev/null
# (The harness fails the test on any sanitizer report, leaks included.)
e2e_done
