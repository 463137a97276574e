#!/bin/bash
# dg-broker's admin commands: --check exit codes with the broker healthy,
# degraded, down and gone stale; --test-config; --status permissions;
# clean exit on SIGTERM; one broker per socket.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init check
e2e_user 1
e2e_user 2 "$E2E_ADMIN_GROUP"

# --test-config: the effective configuration, or file:line:key and 78.
e2e_config "[connection_pool]
max_connections = 5
[alerts]
high_connection_count = 2"
out=$("$BROKER" --test-config -f "$CONF"); rc=$?
e2e_eq "--test-config accepts a good file" "$rc" 0
e2e_match "effective value printed" "$out" '^max_connections = 5$'
e2e_match "every key printed plainly" "$out" '^idle_timeout = 30m$'
e2e_nomatch "no key marked as not in effect" "$out" 'not yet'
e2e_nomatch "keys nothing reads are not in the schema" "$out" \
    '^state_dir ?'
e2e_match "the HTTP listener is in the schema" "$out" '^listen = $'
e2e_match "and so is the log format" "$out" '^log_format = kv$'
e2e_match "and the recordings" "$out" '^\[recording\]$'
printf '[broker]\nstate_dir = /var/lib/dungeongate\n[nonesuch]\nlisten =\n' > "$T/unread.ini"
out=$("$BROKER" --test-config -f "$T/unread.ini" 2>&1); rc=$?
e2e_eq "--test-config refuses a key nothing reads with 78" "$rc" 78
e2e_match "and names it" "$out" "^$T/unread.ini:2:broker.state_dir: unknown key$"
e2e_match "and an unknown section" "$out" "^$T/unread.ini:3: \[nonesuch\]: unknown section$"
printf '[http]\nlisten = localhost:8085\n' > "$T/listen.ini"
out=$("$BROKER" --test-config -f "$T/listen.ini" 2>&1); rc=$?
e2e_eq "--test-config refuses a listen address by name with 78" "$rc" 78
e2e_match "naming the key and what it accepts" "$out" "^$T/listen.ini:2:http.listen: bad value \"localhost:8085\": expected an IPv4 address and port"
printf '[broker]\nlog_level = loud\n[connection_pool]\nqueue_timeout = soon\n' > "$T/bad.ini"
out=$("$BROKER" --test-config -f "$T/bad.ini" 2>&1); rc=$?
e2e_eq "--test-config rejects a bad file with 78" "$rc" 78
e2e_match "error names file:line:key" "$out" "^$T/bad.ini:2:broker.log_level: bad value \"loud\""
e2e_match "every error is reported" "$out" "^$T/bad.ini:4:connection_pool.queue_timeout: "
out=$("$BROKER" -D -f "$T/bad.ini" 2>&1); rc=$?
e2e_eq "the broker refuses to start on a bad file" "$rc" 78
"$BROKER" --test-config -f "$DG_SRCDIR/conf/dungeongate.ini" >/dev/null
e2e_eq "the shipped configuration is valid" "$?" 0

# Down: nothing listens.
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_eq "--check with no broker exits 2" "$rc" 2
e2e_match "--check says unreachable" "$out" '^broker: unreachable \(connect .*No such file or directory\)$'

# Up and healthy, on a socket only the players' group may use.
e2e_broker_start
e2e_eq "socket is 0660 and the players' group's" "$(stat -c '%a %U %G' "$SOCK")" \
    "660 $E2E_SOCKET_OWNER $E2E_GROUP"
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_eq "--check healthy exits 0" "$rc" 0
e2e_match "broker line" "$out" '^broker: healthy \(pid [0-9]+, up [0-9]+s, protocol 1'
e2e_match "pool line" "$out" '^connection_pool: healthy \(0/5 sessions\)$'
e2e_match "worker line" "$out" '^worker_pool: healthy'
e2e_match "games line" "$out" '^games: healthy \(1 game ready, 0 playing\)$'
e2e_match "queue line" "$out" '^queue: healthy \(0/100 waiting\)$'
e2e_match "pty line" "$out" '^pty_pool: healthy \(0/500 games; kernel [0-9]+/[0-9]+ PTYs\)$'
e2e_match "memory line" "$out" '^memory: healthy \(0B of 8GB granted to games\)$'
e2e_match "descriptor line" "$out" '^descriptors: healthy \([0-9]+/8192 descriptors open\)$'

# A second broker on the same socket refuses to start.
out=$("$BROKER" -D -f "$CONF" 2>&1); rc=$?
e2e_ok "second broker refused" '[ "$rc" != 0 ]'
e2e_match "second broker says why" "$out" 'another dg-broker is listening'

# Degraded: sessions at the alert threshold.
"$WIRE" "$SOCK" -t 60000 -j '{"type":"hello","version":1,"client":"session"}' >/dev/null &
h1=$!; E2E_PIDS="$E2E_PIDS $h1"
"$WIRE" "$SOCK" -t 60000 -j '{"type":"hello","version":1,"client":"session"}' >/dev/null &
h2=$!; E2E_PIDS="$E2E_PIDS $h2"
e2e_wait 5 bash -c "[ \"\$('$BROKER' --status -f '$CONF' | jq .connection_pool.active)\" = 2 ]"
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_eq "--check degraded exits 1" "$rc" 1
e2e_match "degraded pool explained" "$out" '^connection_pool: degraded \(2/5 sessions, at or above high_connection_count \(2\)\)$'
kill "$h1" "$h2"; wait "$h1" "$h2" 2>/dev/null

# --check is open to players; --status needs root or the admin group.
out=$(su -s /bin/sh "$U1" -c "$BROKER --check -f $CONF"); rc=$?
e2e_eq "a player may run --check" "$rc" 0
out=$(su -s /bin/sh "$U1" -c "$BROKER --status -f $CONF" 2>&1); rc=$?
e2e_eq "a player may not run --status" "$rc" 1
e2e_match "--status refusal explained" "$out" "status needs root or membership of $E2E_ADMIN_GROUP"
out=$(su -s /bin/sh "$U2" -c "$BROKER --status -f $CONF" 2>&1); rc=$?
e2e_eq "an admin-group member may run --status" "$rc" 0
e2e_eq "--status is JSON with the pool" "$(printf '%s' "$out" | jq .connection_pool.max)" 5

# The PTY pool: at high_resource_usage degraded, at its bound refusing.
e2e_config "[limits]
max_ptys = 1
[game:one]
command = /bin/true
[game:two]
command = /bin/true"
e2e_ok "max_ptys of 1 reloaded" e2e_reload
HELLO='{"type":"hello","version":1,"client":"session"}'
"$WIRE" "$SOCK" -t 30000 -j "$HELLO" -c -c \
    -j '{"type":"play","game":"one","cols":80,"rows":24}' > "$T/lease.out" &
lp=$!; E2E_PIDS="$E2E_PIDS $lp"
e2e_wait 5 grep -q '"type":"lease"' "$T/lease.out" || e2e_fail "lease granted"
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_match "a full PTY pool is degraded" "$out" '^pty_pool: degraded \(1/1 games; kernel '
e2e_eq "--check exits 1 for it" "$rc" 1
out=$("$WIRE" "$SOCK" -t 1000 -j "$HELLO" -c -c -j '{"type":"play","game":"two","cols":80,"rows":24}')
e2e_match "a game past max_ptys refused" "$out" '"reason":"ptys_full"'
e2e_match "with the bound named" "$out" 'as many games as it may \(1\)'
kill "$lp"; wait "$lp" 2>/dev/null

# A game whose program is missing degrades the games component.
e2e_config "[game:ghost]
command = /nonexistent/ghost"
e2e_ok "a game with a missing program reloaded" e2e_reload
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_eq "--check with a missing game exits 1" "$rc" 1
e2e_match "missing game named" "$out" '^games: degraded \(ghost: /nonexistent/ghost is not executable\)$'

# SIGTERM: a clean exit that removes the socket, unless it is the
# socket unit's, which stays for the next broker.
e2e_broker_stop
e2e_eq "broker exits 0 on SIGTERM" "$BROKER_STATUS" 0
if [ "$E2E_INSTALLED" = 1 ]; then
	e2e_ok "the socket unit's socket left in place" '[ -S "$SOCK" ]'
else
	e2e_ok "socket removed" '[ ! -e "$SOCK" ]'
fi
e2e_ok "stop logged" 'grep -q "msg=stopped" "$T/broker.log"'

# Killed: a stale socket is unhealthy, and a new broker replaces it.
e2e_broker_start
e2e_broker_kill KILL
e2e_ok "stale socket left behind" '[ -S "$SOCK" ]'
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_eq "--check on a stale socket exits 2" "$rc" 2
e2e_match "refused connection named" "$out" '^broker: unreachable \(connect .*Connection refused\)$'
e2e_config
e2e_broker_start
e2e_ok "new broker over a stale socket" '"$BROKER" --check -f "$CONF"'
e2e_done
