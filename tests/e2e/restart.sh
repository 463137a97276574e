#!/bin/bash
# The broker stopped, and away for 30 s: a broker stopped with SIGSTOP
# for 10 s slows no player; killed with SIGKILL and started again 30 s
# later, every session re-registers, a login made meanwhile waits and
# gets in, and a recording that ran across it has every byte the player
# received, in one file, and the watchers' screen is drawn again from it.
. "$DG_SRCDIR/tests/e2e/lib.sh"
GAME="$DG_BUILDDIR/tests/tools/dg-testgame"
TTYREC="$DG_BUILDDIR/tests/tools/dg-ttyrec"
e2e_setup restart "[quota:default]
max_bandwidth = 1MB/s
[game:nethack]
name = NetHack 3.6
key = p
command = /usr/games/nethack -u %u
rcfile = .nethackrc
env = NETHACKOPTIONS=@%h/.nethackrc
[game:chaos]
name = Chaos
key = c
command = $GAME chaos 2
[game:box]
name = Box
key = b
command = $GAME box" 2

# Four games: chaos (its terminal's bytes kept), a box each, NetHack.
e2e_ssh_term p1 "$U1" play chaos
e2e_tmux pipe-pane -t p1 -o "cat >> $T/p1.raw"
e2e_expect_screen "chaos runs its first MB" p1 'chaos: resize me' 60
e2e_ssh_term b1 "$U1" play box
e2e_ssh_term b2 "$U2" play box
e2e_ssh_term n2 "$U2" play nethack
e2e_expect_screen "a box" b1 'box' 20
e2e_expect_screen "another box" b2 'box' 20
e2e_expect_screen "NetHack" n2 'Shall I pick' 20
e2e_ok "four games" 'e2e_wait 10 e2e_status_is ".leases | length" 4'

# Has the clock passed a time (seconds)?
past() { [ "$(date +%s)" -ge "$1" ]; }

# SIGSTOP for 10 s: the players type and see their games meanwhile.
stopped() { [ "$(sed 's/.*) //' "/proc/$BROKER_MAIN/stat" | cut -d' ' -f1)" = T ]; }
kill -STOP "$BROKER_MAIN"
stop_at=$(date +%s)
e2e_ok "the broker is stopped" 'e2e_wait 5 stopped'
e2e_keys b1 t
e2e_expect_screen "a key gets its answer with the broker stopped" b1 'titled' 5
e2e_keys n2 n
e2e_expect_screen "NetHack answers with the broker stopped" n2 'Pick a role or profession' 5
e2e_ok "and the broker is still stopped" 'stopped'
e2e_wait 15 past $((stop_at + 10))
kill -CONT "$BROKER_MAIN"
e2e_ok "the broker goes on, every session still its" \
    'e2e_wait 10 e2e_status_is "[.connection_pool.active, (.leases | length)] | @text" "[4,4]"'

# SIGKILL, and 30 s away: the games go on; chaos writes its second MB
# meanwhile, which the session holds for the recording.
e2e_broker_kill KILL
kill_at=$(date +%s)
e2e_keys p1 x
e2e_expect_screen "chaos writes on without a broker" p1 'chaos done: 80x24' 60
e2e_keys b2 t
e2e_expect_screen "a box answers without a broker" b2 'titled' 10

# A login 20 s into the absence waits for the broker.
e2e_wait 25 past $((kill_at + 20))
e2e_ssh_term l2 "$U2"
e2e_expect_screen "a login meanwhile is told to wait" l2 'DungeonGate is restarting, one moment' 10
e2e_wait 15 past $((kill_at + 30))
e2e_broker_start
t0=$(date +%s%N)
rejoined_all() { e2e_status_is '.rejoins.rejoined' 4; }
e2e_wait 20 rejoined_all
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
e2e_ok "after 30 s away, all four re-registered within 2 s (took $ms ms)" \
    'rejoined_all && [ "$ms" -le 2000 ]'
e2e_expect_screen "the waiting login gets in" l2 'Your choice' 15
e2e_ok "five sessions, four games" \
    'e2e_wait 10 e2e_status_is "[.connection_pool.active, (.leases | length)] | @text" "[5,4]"'
was=$(e2e_screen b1)
e2e_keys b1 t
e2e_ok "a game answers after the restart" 'e2e_wait 10 e2e_screen_changed b1 "$was"'

# The recording across it: one file, every byte the player received.
e2e_keys p1 q
finished() { grep -q "msg=\"recording finished\" user=$U1 game=chaos" "$T/broker.log"; }
e2e_ok "the recording is finished when the game ends" 'e2e_wait 15 finished'
e2e_match "it was resumed, not begun again" "$(cat "$T/broker.log")" \
    "msg=\"recording resumed\" user=$U1 game=chaos"
e2e_eq "one file for the game" "$(ls "$T/rec/$U1/chaos" | wc -l)" 1
f=$(ls "$T/rec/$U1/chaos/"*.ttyrec | head -1)
e2e_match "its records whole" "$("$TTYREC" check "$f")" '^records [0-9]+ bytes [0-9]+ first'
"$TTYREC" payload "$f" > "$T/payload"
e2e_ok "over 2 MB" '[ "$(stat -c %s "$T/payload")" -gt 2000000 ]'
e2e_ok "the payload is what the player's terminal received, in one piece" \
    '"$TTYREC" contains "$T/p1.raw" "$T/payload"'
e2e_nomatch "no stream gap" "$(cat "$T/broker.log")" 'stream gap|stream had gaps'

# The new broker lost the games' screens and drew them again from their
# recordings: a watcher now sees U1's box, drawn before the restart and
# never since.
e2e_ssh_term w2 "$U2" watch "$U1"
e2e_expect_screen "a watcher sees the screen the recording drew" w2 'box' 20
e2e_done
