#!/bin/bash
# A game that ignores SIGHUP when its player vanishes: the session keeps
# waiting for it (even when the broker says goodbye meanwhile), pushes
# it with SIGTERM after 30 s, and only then lets the lease go.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init hangup
cat > "$T/bin/stubborn" <<'SH'
#!/bin/sh
trap '' HUP
echo "stubborn game running"
while :; do sleep 1; done
SH
chmod 755 "$T/bin/stubborn"
e2e_config "[game:stubborn]
key = s
command = $T/bin/stubborn"
e2e_broker_start
e2e_user 1
e2e_sshd_start

e2e_ssh_term a "$U1"
e2e_wait_screen a 'Your choice' || e2e_die "no menu"
e2e_keys a s
e2e_expect_screen "game started" a 'stubborn game running'
sess=$(e2e_sessions "$U1" | awk '{print $1}')
game=$(pgrep -u "$U1" -f "$T/bin/stubborn" | head -1)
[ -n "$sess" ] && [ -n "$game" ] || e2e_die "no session or game process"

# The player vanishes; the game shrugs off SIGHUP.
kill -KILL "$(pgrep -P "$(e2e_pane_pid a)" -x ssh || e2e_pane_pid a)"
start=$(date +%s)
sleep 2
e2e_ok "the game ignored SIGHUP" kill -0 "$game"
e2e_ok "the session waits for it" kill -0 "$sess"
e2e_eq "and keeps its lease meanwhile" "$(e2e_sessions "$U1")" "$sess playing stubborn"

# The broker stops meanwhile: the session must still wait.
e2e_broker_stop
sleep 2
e2e_ok "the session still waits after the broker's goodbye" kill -0 "$sess"

# SIGTERM follows SIGHUP after 30 s; the game and the session end.
e2e_ok "the game is ended with SIGTERM" e2e_wait 40 bash -c "! kill -0 $game 2>/dev/null"
e2e_ok "not before 30 s" [ $(( $(date +%s) - start )) -ge 29 ]
e2e_ok "then the session exits" e2e_wait 5 bash -c "! kill -0 $sess 2>/dev/null"
e2e_done
