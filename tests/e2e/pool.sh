#!/bin/bash
# The bounded connection pool through real ssh: full means a clear refusal
# with the reason; a slot freed by quitting, or by kill -9 of a session,
# is usable again at once.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup pool "[connection_pool]
max_connections = 2
queue_size = 0" 3

e2e_ssh_term a "$U1"
e2e_ssh_term b "$U2"
e2e_expect_screen "first player in the menu" a 'Your choice'
e2e_expect_screen "second player in the menu" b 'Your choice'
e2e_eq "two sessions counted" "$(e2e_active)" 2

# The third is refused with the reason and a time to come back.
out=$(e2e_ssh "$U3" "-tt" 2>&1); rc=$?
e2e_match "full pool refused with the reason" "$out" \
    'DungeonGate is full \(2 players online\); try again in 30 s'
e2e_eq "refusal exits 69" "$rc" 69
e2e_eq "refusal took no slot" "$(e2e_active)" 2
e2e_match "refusal counted" "$(e2e_status | jq .connection_pool.refused_total)" '^[1-9]'
e2e_ok "refusal logged with its reason" 'grep -q "msg=refused user=$U3 .*reason=queue_full" "$T/broker.log"'

# Quitting frees the slot.
e2e_keys a q
e2e_expect_screen "first player quits" a '^\[exit 0\]'
e2e_ok "slot freed on goodbye" 'e2e_wait 5 e2e_status_is .connection_pool.active 1'
e2e_ssh_term c "$U3"
e2e_expect_screen "freed slot is usable" c 'Your choice'

# kill -9 of a session frees its slot at once: the broker sees the socket close.
pid=$(e2e_sessions "$U2" | awk '{print $1}')
[ -n "$pid" ] || e2e_die "no session pid for $U2"
start=$(date +%s%N)
kill -KILL "$pid"
e2e_ok "kill -9 frees the slot" 'e2e_wait 2 e2e_status_is .connection_pool.active 1'
e2e_log "slot freed $(( ($(date +%s%N) - start) / 1000000 )) ms after kill -9 (including --status round trips)"
e2e_eq "the killed session is gone from status" "$(e2e_sessions "$U2")" ""
e2e_ssh_term d "$U1"
e2e_expect_screen "slot of the killed session is usable" d 'Your choice'
e2e_eq "two sessions again" "$(e2e_active)" 2

# The broker kept serving throughout; a full pool reads as degraded.
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_match "full pool shows in --check" "$out" '^connection_pool: degraded \(full: 2/2 sessions\)$'
e2e_eq "--check exits 1 when full" "$rc" 1

# No broker: the player is told plainly.
e2e_broker_stop
out=$(e2e_ssh "$U3" "-tt" 2>&1); rc=$?
e2e_match "broker down explained" "$out" 'DungeonGate is not running; please tell the server admin\.'
e2e_eq "broker down exits 69" "$rc" 69
e2e_done
