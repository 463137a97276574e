#!/bin/bash
# dg-broker --drain with live games: new sessions and the queue get the
# maintenance line, live sessions a notice; after drain_timeout NetHack
# is hung up (its save file appears) and the broker exits 0.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup drain "[connection_pool]
max_connections = 2
drain_timeout = 6s" 4

e2e_ssh_term p "$U1"
e2e_wait_screen p 'Your choice' || e2e_die "no menu"
e2e_ok "NetHack in play" 'e2e_nethack_start p'
e2e_ssh_term m "$U2"
e2e_expect_screen "second player at the menu" m 'Your choice'
e2e_ssh_term q "$U3"
e2e_expect_screen "third player in line" q 'you are number 1 in line'

out=$("$BROKER" --drain -f "$CONF"); rc=$?
e2e_eq "--drain exits 0" "$rc" 0
e2e_match "--drain says what it does" "$out" '^draining: 2 sessions left; the broker stops within 6 s$'
e2e_expect_screen "the queue is told and emptied" q 'DungeonGate is restarting for maintenance'
e2e_expect_screen "the queued player's exit is 69" q '^\[exit 69\]'
e2e_expect_screen "the menu shows the notice" m 'DungeonGate restarts for maintenance in 6s'
e2e_expect_screen "the game shows the notice" p 'DungeonGate restarts for maintenance in 6s'
e2e_keys m p
e2e_expect_screen "no new games during a drain" m 'about to restart for maintenance; no new games now'
out=$(e2e_ssh "$U4" "-tt" 2>&1); rc=$?
e2e_match "a newcomer gets the maintenance line" "$out" 'DungeonGate is restarting for maintenance; please come back in a few minutes\.'
e2e_eq "and exit 69" "$rc" 69

# After drain_timeout: hangup-save, goodbye, exit 0.
e2e_broker_wait 30
e2e_eq "the broker exits 0" "$BROKER_STATUS" 0
uid=$(id -u "$U1")
e2e_ok "NetHack's hangup save is there" 'e2e_wait 20 test -s "/var/games/nethack/save/$uid$U1.gz"'
e2e_expect_screen "the player is told" p 'DungeonGate is restarting for maintenance; your game was told to save'
e2e_expect_screen "the menu player is told" m 'DungeonGate is restarting for maintenance'
no_nethack() { ! ps -o comm= -u "$U1" | grep -q nethack; }
e2e_ok "no NetHack left" 'e2e_wait 10 no_nethack'
e2e_done
