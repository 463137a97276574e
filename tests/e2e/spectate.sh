#!/bin/bash
# Watching's limits through a real sshd: every refusal with its message
# (no such player, not playing, a name with path characters or escapes,
# [spectate] off, max_watchers_per_game); and a stopped watcher (its ssh
# client under SIGSTOP) that slows neither the player, nor the other
# watcher, nor the recording, while the broker's memory stays bounded
# and the watcher gets a fresh screen once it goes on.
. "$DG_SRCDIR/tests/e2e/lib.sh"
GAME="$DG_BUILDDIR/tests/tools/dg-testgame"
TTYREC="$DG_BUILDDIR/tests/tools/dg-ttyrec"
e2e_init spectate
REC="$T/rec"
INI="[quota:default]
max_bandwidth = 1MB/s
[game:chaos]
name = Chaos
key = c
command = $GAME chaos 12
[game:box]
name = Box
key = b
command = $GAME box"
e2e_config "[recording]
dir = $REC
[spectate]
max_watchers_per_game = 2
$INI"
# A small quarantine, so that the broker's memory says what it holds
# rather than what AddressSanitizer keeps back of what it freed.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1" e2e_broker_start
for i in 1 2 3 4; do e2e_user "$i"; done
e2e_sshd_start

# Refusals, each with its message and status.
out=$(e2e_ssh "$U2" "-tt" watch nosuchplayer 2>&1); rc=$?
e2e_eq "watching no such player exits 1" "$rc" 1
e2e_match "and says so" "$out" 'there is no player called "nosuchplayer" here'
out=$(e2e_ssh "$U2" "-tt" watch "$U1" 2>&1); rc=$?
e2e_eq "watching someone not playing exits 1" "$rc" 1
e2e_match "and says so" "$out" "$U1 is not playing right now\\."
out=$(e2e_ssh "$U2" "-tt" "watch ../../etc/passwd" 2>&1); rc=$?
e2e_eq "a name with path characters exits 1" "$rc" 1
e2e_match "and is refused by name" "$out" '"\.\./\.\./etc/passwd" is not a player.s name'
out=$(e2e_ssh "$U2" "-tt" "$(printf 'watch x\033]0;owned\007')" 2>&1); rc=$?
e2e_eq "a name with terminal escapes exits 1" "$rc" 1
e2e_match "and is shown escaped" "$out" '"x\?\]0;owned\?" is not a player.s name'
e2e_nomatch "no escape reaches the terminal" "$out" "$(printf '\033')"
out=$(e2e_ssh "$U2" "-tt" "watch $U1 $U3" 2>&1)
e2e_match "two names are not one" "$out" "is not a player.s name"
out=$(e2e_ssh "$U2" "-T" "list --xml" 2>&1); rc=$?
e2e_eq "an unknown list option exits 1" "$rc" 1
e2e_match "and is an unknown command" "$out" 'unknown command "list --xml"'

# The player plays; two watchers may watch, a third may not.
e2e_ssh_term p1 "$U1"
e2e_wait_screen p1 'Your choice' || e2e_die "no menu: $(e2e_screen p1)"
e2e_keys p1 b
e2e_expect_screen "the box game runs" p1 'box$' 10
e2e_ssh_term w1 "$U2" watch "$U1"
e2e_expect_screen "a first watcher" w1 'box$' 15
e2e_ssh_term w2 "$U3" watch "$U1"
e2e_expect_screen "a second watcher" w2 'box$' 15
out=$(e2e_ssh "$U4" "-tt" watch "$U1" 2>&1); rc=$?
e2e_eq "a third watcher is refused" "$rc" 1
e2e_match "with the limit named" "$out" "$U1 already has 2 watchers, as many as this server allows"
e2e_ok "and counted" '[ "$(e2e_status | jq -r .violations.watchers_full)" = 1 ]'

# Watching turned off: a reload says so to the next who tries.
e2e_config "[recording]
dir = $REC
[spectate]
enabled = false
$INI"
e2e_ok "spectate off reloaded" e2e_reload
out=$(e2e_ssh "$U4" "-tt" watch "$U1" 2>&1); rc=$?
e2e_eq "watching refused when turned off" "$rc" 1
e2e_match "with its message" "$out" 'Watching games is turned off on this server\.'
out=$(e2e_ssh "$U4" "-T" list 2>&1); rc=$?
e2e_match "and so is the list" "$out" 'Watching games is turned off on this server\.'
e2e_ssh_term m4 "$U4"
e2e_wait_screen m4 'Your choice' || e2e_fail "no menu for the fourth player"
e2e_keys m4 w
e2e_expect_screen "the menu's watch list says so" m4 'Watching games is turned off' 10
e2e_config "[recording]
dir = $REC
$INI"
e2e_ok "spectate on again" e2e_reload
e2e_keys p1 q
e2e_expect_screen "the box game ends" p1 'Your choice' 10
e2e_expect_screen "its watchers are told" w1 "$U1's game of Box has ended" 10

# A stopped watcher: the player plays megabytes while one watcher's ssh
# client is stopped and another watches on.
e2e_keys w1 q
e2e_ssh_term w3 "$U2" watch
e2e_ssh_term w2b "$U3" watch
rss() { awk '/^VmRSS/ {print $2}' "/proc/$BROKER_PID/status"; }
e2e_keys p1 c
e2e_expect_screen "chaos starts" p1 'chaos: resize me' 30
e2e_keys p1 x
e2e_wait_screen w3 "a\\) $U1 +Chaos" 10 && e2e_keys w3 a
e2e_wait_screen w2b "a\\) $U1 +Chaos" 10 && e2e_keys w2b a
both() { e2e_status_is .spectate.watchers 2; }
e2e_ok "two watchers on the chaos" 'e2e_wait 10 both'
rss0=$(rss)
ssh_pid=$(pgrep -P "$(e2e_pane_pid w3)" -x ssh || e2e_pane_pid w3)
kill -STOP "$ssh_pid"
behind() { e2e_status | jq -e '.sessions[] | select(.watching != null and .watch_behind == true)' >/dev/null; }
e2e_ok "the stopped watcher falls behind" 'e2e_wait 60 behind'
e2e_expect_screen "the player's game runs to its end" p1 'chaos done' 60
rss1=$(rss)
queued=$(e2e_status | jq -r '[.sessions[] | select(.watching != null) | .output_queued] | max')
e2e_ok "what waits for the stopped watcher stays under its bound ($queued bytes)" \
    '[ "$queued" -le $((256 * 1024 + 65536)) ]'
e2e_ok "the broker's memory stays bounded (${rss0} kB, then ${rss1} kB, for 12 MB played)" \
    '[ "$rss1" -lt $((rss0 + 8192)) ]'
gaps=$(e2e_status | jq -r --arg u "$U1" '.sessions[] | select(.user == $u) | .stream_gaps')
e2e_eq "the player's stream lost nothing" "$gaps" 0
e2e_ok "the other watcher shows the player's screen" \
    'e2e_wait 15 bash -c "[ \"\$(tmux -S $T/tmux.sock capture-pane -p -t p1)\" = \"\$(tmux -S $T/tmux.sock capture-pane -p -t w2b)\" ]"'
kill -CONT "$ssh_pid"
e2e_ok "once it goes on, the stopped watcher gets a fresh screen" \
    'e2e_wait 30 bash -c "[ \"\$(tmux -S $T/tmux.sock capture-pane -p -t p1)\" = \"\$(tmux -S $T/tmux.sock capture-pane -p -t w3)\" ]"'
e2e_ok "the broker counts the fresh screen" '[ "$(e2e_status | jq -r .spectate.resyncs)" -ge 1 ]'
e2e_keys p1 q
finished() { grep -q "msg=\"recording finished\" user=$U1 game=chaos" "$T/broker.log"; }
e2e_ok "the recording is finished" 'e2e_wait 10 finished'
rec=$(ls "$REC/$U1/chaos/"*.ttyrec | head -1)
e2e_ok "and holds all 12 MB" '[ "$("$TTYREC" payload "$rec" | wc -c)" -gt 12000000 ]'
e2e_expect_screen "the player is back at the menu" p1 'Your choice' 10

# The list with three games, on a terminal with room for two a page:
# sorted by player, paged, the other way round, picked by letter.
e2e_keys p1 b
e2e_wait_screen m4 'Your choice' 5
e2e_keys m4 b
e2e_ssh_term p3 "$U3"
e2e_wait_screen p3 'Your choice' || e2e_fail "no menu for the third player"
e2e_keys p3 b
three() { e2e_status_is .spectate.games 3; }
e2e_ok "three games are played" 'e2e_wait 10 three'
e2e_term wl "$(e2e_ssh_cmd "$U2") -t watch"
e2e_tmux resize-window -t wl -x 80 -y 10
e2e_expect_screen "two a page" wl 'page 1 of 2' 10
e2e_expect_screen "sorted by player: the first" wl "a\\) $U1 " 5
e2e_expect_screen "and the second" wl "b\\) $U3 " 5
e2e_keys wl '>'
e2e_expect_screen "the next page" wl "page 2 of 2" 5
e2e_expect_screen "holds the third" wl "a\\) $U4 " 5
e2e_keys wl '<' P
e2e_expect_screen "P again sorts the other way" wl "a\\) $U4 " 5
e2e_expect_screen "page 1 of it" wl "b\\) $U3 " 5
e2e_keys wl b
e2e_expect_screen "a letter watches that game" wl 'box$' 10
e2e_ok "the one picked" 'e2e_status | jq -e --arg u "$U3" "any(.sessions[]; .watching == \$u)" >/dev/null'
e2e_keys wl q
e2e_expect_screen "q goes back to the list" wl 'page 1 of 2' 10
for w in p1 m4 p3; do e2e_keys "$w" q; done
e2e_ok "the games end" 'e2e_wait 10 e2e_status_is .spectate.games 0'
e2e_expect_screen "the list empties" wl 'no one is playing right now' 10

e2e_expect_screen "the player is back at the menu again" p1 'Your choice' 10
e2e_keys p1 q
e2e_expect_screen "the player quits" p1 '^\[exit 0\]' 10
e2e_done
