#!/bin/bash
# SIGHUP reloads the configuration: live sessions keep their tickets, new
# bounds and games apply to what comes next, a bad file changes nothing.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup reload "[connection_pool]
max_connections = 1
queue_size = 0" 3

e2e_ssh_term a "$U1"
e2e_expect_screen "first player in" a 'Your choice'
ticket=$(e2e_status | jq -r '.sessions[0].ticket')
out=$(e2e_ssh "$U2" "-tt" 2>&1)
e2e_match "pool of one is full" "$out" 'DungeonGate is full \(1 player online\)'

# A bigger pool and a second game.
e2e_config "[connection_pool]
max_connections = 2
queue_size = 0
[game:nethack]
name = NetHack 3.6
key = p
command = /usr/games/nethack -u %u
rcfile = .nethackrc
env = NETHACKOPTIONS=@%h/.nethackrc
[game:clock]
name = The Clock
key = c
command = /bin/date"
e2e_ok "reload logged" e2e_reload
e2e_eq "live session kept its ticket" "$(e2e_status | jq -r '.sessions[0].ticket')" "$ticket"
e2e_eq "new bound in force" "$(e2e_status | jq .connection_pool.max)" 2
e2e_ssh_term b "$U2"
e2e_expect_screen "second player admitted" b 'Your choice'
e2e_expect_screen "new game on a new menu" b 'c\) The Clock'
e2e_keys b c
e2e_ok "new game runs and exits" \
    'e2e_wait 10 grep -q "msg=\"game ended\" user=$U2 .*game=clock reason=exit status=0" "$T/broker.log"'
e2e_expect_screen "and the player is back at the menu" b 'Your choice'

# A bad file: logged, and the running configuration stays.
e2e_config "[connection_pool]
max_connections = lots"
e2e_reload
e2e_eq "a bad file is refused on reload" "$E2E_RELOAD" failed
e2e_match "bad reload logged with file:line:key" "$(e2e_reload_outcomes | tail -1)" \
    'reload failed; keeping the running configuration.*dg.ini:[0-9]+:connection_pool.max_connections'
e2e_eq "bound unchanged after a bad reload" "$(e2e_status 2>/dev/null | jq .connection_pool.max)" 2
e2e_ok "broker alive" '! e2e_gone "$BROKER_PID"'
out=$("$BROKER" --check -f "$CONF" 2>&1); rc=$?
e2e_match "--check names the file's errors" "$out" "dg.ini:[0-9]+:connection_pool.max_connections: bad value"
e2e_match "--check reports the bad file" "$out" "^config: degraded \($CONF has errors; a reload or restart would fail\)$"
e2e_eq "--check exits 1 for a bad file" "$rc" 1

# A lower bound keeps who is in and refuses who comes next.
e2e_config "[connection_pool]
max_connections = 1
queue_size = 0"
e2e_ok "a lower bound reloaded" e2e_reload
e2e_eq "lower bound in force" "$(e2e_status | jq .connection_pool.max)" 1
e2e_eq "both sessions kept" "$(e2e_active)" 2
out=$(e2e_ssh "$U3" "-tt" 2>&1)
e2e_match "newcomer refused under the lower bound" "$out" 'DungeonGate is full \(2 players online\)'

# The broker stops: the menu player is told; a running game goes on.
e2e_keys b p
e2e_wait_screen b 'Shall I pick' 20 || e2e_fail "NetHack did not start"
nh=$(ps -o pid=,comm= -u "$U2" | awk '$2 ~ /^nethack/ {print $1; exit}')
e2e_broker_stop
e2e_eq "broker stops cleanly" "$BROKER_STATUS" 0
e2e_expect_screen "menu player told of the shutdown" a \
    'DungeonGate is shutting down; please reconnect in a moment'
e2e_ok "the game outlives the broker" '! e2e_gone "$nh"'
e2e_keys b n
e2e_expect_screen "the game still answers keys" b 'Pick a role or profession' 10
e2e_keys b q
e2e_expect_screen "when it ends, the player is told why" b \
    'DungeonGate restarted while you played; please reconnect\.' 15
e2e_done
