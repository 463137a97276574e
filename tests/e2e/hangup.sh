#!/bin/bash
# A game that ignores SIGHUP when its player vanishes: the session keeps
# waiting for it (even when the broker says goodbye meanwhile), pushes
# it with SIGTERM after 30 s, and only then lets the lease go.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init hangup
# The game notes in $1 each SIGHUP it shrugs off, each second it goes on
# living, and the SIGTERM that ends it, with the time in milliseconds.
cat > "$T/bin/stubborn" <<'SH'
#!/bin/sh
log=$1
now() { echo $(( $(date +%s%N) / 1000000 )); }
trap 'echo "hup $(now)" >> "$log"' HUP
trap 'echo "term $(now)" >> "$log"; exit 0' TERM
echo "stubborn game running"
while :; do sleep 1; echo "alive $(now)" >> "$log"; done
SH
chmod 755 "$T/bin/stubborn"
e2e_config "[game:stubborn]
key = s
command = $T/bin/stubborn %h/signals"
e2e_broker_start
e2e_user 1
e2e_sshd_start
sig="$T/home/$U1/signals"

e2e_ssh_term a "$U1"
e2e_wait_screen a 'Your choice' || e2e_die "no menu"
e2e_keys a s
e2e_expect_screen "game started" a 'stubborn game running'
sess=$(e2e_sessions "$U1" | awk '{print $1}')
game=$(pgrep -u "$U1" -f "$T/bin/stubborn" | head -1)
[ -n "$sess" ] && [ -n "$game" ] || e2e_die "no session or game process"

# The player vanishes; the game shrugs off SIGHUP.
kill -KILL "$(pgrep -P "$(e2e_pane_pid a)" -x ssh || e2e_pane_pid a)"
e2e_ok "the game is sent SIGHUP" 'e2e_wait 10 grep -q "^hup " "$sig"'
hup=$(awk '$1 == "hup" {print $2; exit}' "$sig")
# Did the game note a second alive after the time $1 (ms)?
alive_since() { [ -n "$1" ] && awk -v t="$1" '$1 == "alive" && $2 > t { ok = 1 } END { exit !ok }' "$sig"; }
e2e_ok "the game ignored SIGHUP and plays on" 'e2e_wait 5 alive_since "$hup"'
e2e_ok "the game is still there" '! e2e_gone "$game"'
e2e_ok "the session waits for it" '! e2e_gone "$sess"'
e2e_eq "and keeps its lease meanwhile" "$(e2e_sessions "$U1")" "$sess playing stubborn"

# The broker stops meanwhile: the session must still wait, the game go on.
e2e_broker_stop
e2e_eq "the broker stopped cleanly" "$BROKER_STATUS" 0
stopped=$(( $(date +%s%N) / 1000000 ))
e2e_ok "the game goes on after the broker's goodbye" 'e2e_wait 5 alive_since "$stopped"'
e2e_ok "the session still waits after the broker's goodbye" '! e2e_gone "$sess"'

# SIGTERM follows SIGHUP after 30 s, from the session that kept waiting;
# the game and the session end.
e2e_ok "the game is sent SIGTERM" 'e2e_wait 40 grep -q "^term " "$sig"'
term=$(awk '$1 == "term" {print $2; exit}' "$sig")
e2e_log "SIGTERM came $(( ${term:-0} - ${hup:-0} )) ms after SIGHUP"
e2e_ok "not before 30 s" '[ $(( term - hup )) -ge 29500 ]'
e2e_ok "nor long after" '[ $(( term - hup )) -le 35000 ]'
e2e_ok "the game ended" 'e2e_wait 5 e2e_gone "$game"'
e2e_ok "then the session exits" 'e2e_wait 5 e2e_gone "$sess"'
e2e_done
