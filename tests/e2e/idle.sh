#!/bin/bash
# idle_timeout: an idle menu ends, keys keep it alive, an idle game is
# hung up (NetHack saves) before the session ends, and a session that
# stops talking loses its ticket at the broker.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup idle "[connection_pool]
idle_timeout = 3s" 3

# An idle menu.
e2e_ssh_term a "$U1"
e2e_wait_screen a 'Your choice' || e2e_die "no menu"
start=$(date +%s%N)
e2e_expect_screen "idle menu closed with a reason" a \
    'You were idle for 3s, so DungeonGate closed your session\.' 15
ms=$(( ($(date +%s%N) - start) / 1000000 ))
e2e_log "idle menu closed after $ms ms"
e2e_ok "not before idle_timeout" '[ "$ms" -ge 2500 ]'
e2e_expect_screen "idle exit is 0" a '^\[exit 0\]'

# Keys keep a session alive.
e2e_ssh_term b "$U2"
e2e_wait_screen b 'Your choice' || e2e_die "no menu"
for i in 1 2 3 4 5 6; do sleep 1; e2e_keys b C-l; done	# 6 s of keys
s=$(e2e_screen b)
e2e_nomatch "active player kept past idle_timeout" "$s" 'idle for|^\[exit'
e2e_match "and still at the menu" "$s" 'Your choice'
e2e_expect_screen "then idle again, closed" b 'You were idle for 3s' 15

# An idle game is hung up; NetHack saves before the session goes.
e2e_ssh_term c "$U3"
e2e_wait_screen c 'Your choice' || e2e_die "no menu"
e2e_ok "in the game" 'e2e_nethack_start c'
e2e_expect_screen "idle game closed with a reason" c \
    '^Your game was hung up, which makes it save\.$' 20
uid=$(id -u "$U3")
e2e_ok "NetHack saved on the idle hangup" 'test -s "/var/games/nethack/save/$uid$U3.gz"'
e2e_ok "lease ended when the game exited" \
    'e2e_wait 5 grep -q "msg=\"game ended\" user=$U3 .*reason=exit" "$T/broker.log"'

# A session that stops talking: the broker revokes its ticket itself.
e2e_ssh_term d "$U1"
e2e_wait_screen d 'Your choice' || e2e_die "no menu"
pid=$(e2e_sessions "$U1" | awk '{print $1}')
kill -STOP "$pid"
e2e_ok "silent session's ticket expires at the broker" \
    'e2e_wait 15 grep -q "msg=\"ticket expired\" user=$U1 " "$T/broker.log"'
e2e_eq "its slot is free" "$(e2e_active)" 0
kill -CONT "$pid"
e2e_expect_screen "the session ends when it wakes" d '^\[exit 0\]' 10
e2e_done
