#!/bin/bash
# Play NetHack through a real sshd: menu, game screen, resize, a second
# session refused the same game, hangup save on a killed client, restore,
# back to the menu, direct `play nethack`, quit.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup play "" 1

# The menu over real ssh.
e2e_ssh_term w1 "$U1"
e2e_wait_screen w1 'Your choice' || e2e_die "no menu: $(e2e_screen w1)"
s=$(e2e_screen w1)
e2e_match "menu shows the title" "$s" '^ DungeonGate +'"$U1"'$'
e2e_match "menu lists NetHack" "$s" 'p\) NetHack 3\.6'
e2e_match "menu offers quit" "$s" 'q\) Quit'

# The menu redraws on resize.
e2e_tmux resize-window -t w1 -x 100 -y 30
e2e_expect_screen "title laid out for 100 columns" w1 \
    "^ DungeonGate {$((100 - 12 - ${#U1} - 1))}$U1\$" 5
e2e_expect_screen "menu redrawn for 100 columns" w1 "^ -{98}\$" 5
# A window too small for the menu costs nothing: once the menu is drawn
# for 3 columns (its rule is then " -", which scrolls into the history),
# the session is still small.
e2e_tmux resize-window -t w1 -x 3 -y 5
e2e_ok "menu redrawn for 3 columns" 'e2e_wait 5 e2e_history_has w1 "^ -\$"'
sess=$(e2e_sessions "$U1" | awk '{print $1}')
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$sess/status")
e2e_ok "a 3x5 window keeps the session small (${rss} kB)" '[ "$rss" -lt 65536 ]'
e2e_tmux resize-window -t w1 -x 80 -y 24
e2e_expect_screen "menu redrawn for 80 columns" w1 "^ -{78}\$" 5

# An unknown key is explained, not ignored.
e2e_keys w1 x
e2e_expect_screen "unknown key explained" w1 "no choice 'x'" 5

# NetHack's own screen.
e2e_keys w1 p
e2e_expect_screen "NetHack starts" w1 'Shall I pick' 20
s=$(e2e_screen w1)
e2e_match "NetHack banner relayed" "$s" 'NetHack, Copyright'

# The game's PTY follows the player's window.
nh=$(ps -o pid=,comm= -u "$U1" | awk '$2 ~ /^nethack/ {print $1; exit}')
[ -n "$nh" ] || e2e_die "no NetHack process for $U1"
pty=$(readlink "/proc/$nh/fd/0")
e2e_match "game runs on its own pty" "$pty" '^/dev/pts/[0-9]+$'
e2e_eq "game pty starts at 80x24" "$(stty -F "$pty" size)" "24 80"
e2e_tmux resize-window -t w1 -x 90 -y 28
pty_is() { [ "$(stty -F "$pty" size)" = "$1" ]; }
e2e_ok "resize reaches the game's pty" 'e2e_wait 5 pty_is "28 90"'
# Only what dg-session passes (the nethack wrapper adds HACKDIR, PWD, OLDPWD).
envnames=$(tr '\0' '\n' < "/proc/$nh/environ" | cut -d= -f1 | sort | tr '\n' ' ')
# (SHELL, MAIL and the rest of the closed ways out are checked by escape.sh.)
e2e_nomatch "game's environment is scrubbed" "$envnames" \
    '(^| )(SSH_[A-Z_]+|LD_[A-Z_]+|ASAN_OPTIONS|UBSAN_OPTIONS)( |$)'
e2e_eq "game's environment is the fixed set" \
    "$(echo "$envnames" | tr ' ' '\n' | grep -vE '^(LANG|LC_[A-Z]+|HACKDIR|PWD|OLDPWD)$' | tr '\n' ' ')" \
    "BROWSER EDITOR HOME LESSSECURE LOGNAME MAIL MAILREADER NETHACKOPTIONS PAGER PATH SHELL TERM USER VISUAL  "
e2e_eq "game's PATH is fixed" \
    "$(tr '\0' '\n' < "/proc/$nh/environ" | grep '^PATH=')" \
    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/games"
e2e_match "rcfile was created" "$(ls -la "$T/home/$U1/.nethackrc")" "^-rw------- .* $U1 "

# One live game per user per game.
e2e_ssh_term w2 "$U1"
e2e_wait_screen w2 'Your choice' || e2e_fail "second session has no menu"
e2e_keys w2 p
e2e_expect_screen "second game of NetHack refused" w2 \
    'already have a game of NetHack 3\.6 running' 10

# Into the dungeon.
e2e_keys w1 y
e2e_wait_screen w1 'Is this ok\?' 10 && e2e_keys w1 y
for i in 1 2 3 4; do
	e2e_wait_screen w1 'Dlvl:1' 1 && break
	e2e_keys w1 Enter
done
e2e_expect_screen "playing on level 1" w1 'Dlvl:1' 10
e2e_nethack_more w1 || e2e_fail "NetHack's --More-- prompts answered"
e2e_eq "broker sees the game" "$(e2e_sessions "$U1" | awk '$2 == "playing" {print $3}')" nethack

# Kill the ssh client: NetHack must hangup-save before the lease ends.
sess=$(e2e_sessions "$U1" | awk '$2 == "playing" {print $1}')
ssh_pid=$(pgrep -P "$(e2e_pane_pid w1)" -x ssh || e2e_pane_pid w1)
kill -KILL "$ssh_pid"
uid=$(id -u "$U1")
save="/var/games/nethack/save/$uid$U1.gz"
e2e_ok "hangup save file written" 'e2e_wait 20 test -s "$save"'
e2e_ok "dg-session of the killed client exits" 'e2e_wait 20 e2e_gone "$sess"'
e2e_ok "lease ended after the game exited" \
    'e2e_wait 5 grep -q "msg=\"game ended\" user=$U1 .*reason=exit" "$T/broker.log"'
no_nethack() { ! ps -o comm= -u "$U1" | grep -q nethack; }
e2e_ok "no NetHack left for the player" 'e2e_wait 5 no_nethack'

# The other session may now play: the saved game comes back.
e2e_keys w2 p
e2e_wait_screen w2 'Restoring save file' 20 && e2e_keys w2 Enter
e2e_expect_screen "saved game restored" w2 'welcome back to NetHack' 20
e2e_nethack_more w2 || e2e_fail "NetHack's --More-- prompts answered"
e2e_nethack_save w2
e2e_expect_screen "a game that exits returns to the menu" w2 'Your choice' 20
e2e_ok "save file after a normal save" 'test -s "$save"'
e2e_keys w2 q
e2e_expect_screen "quit says goodbye" w2 'Goodbye from DungeonGate' 10
e2e_expect_screen "quit exits 0" w2 '^\[exit 0\]' 10

# `play GAME` goes straight in; when the game ends, so does the session.
e2e_ssh_term w3 "$U1" play nethack
e2e_wait_screen w3 'Restoring save file' 20 && e2e_keys w3 Enter
e2e_expect_screen "play nethack skips the menu" w3 'welcome back to NetHack' 20
e2e_nethack_more w3 || e2e_fail "NetHack's --More-- prompts answered"
e2e_nethack_save w3
e2e_expect_screen "session ends with the game" w3 '^\[exit 0\]' 20
e2e_nomatch "no menu after a direct game" "$(e2e_screen w3)" 'Your choice'

e2e_ssh_term w4 "$U1" play rogue
e2e_expect_screen "unknown game named" w4 'no game called "rogue" here; the games are: nethack' 15
e2e_expect_screen "unknown game exits 1" w4 '^\[exit 1\]' 5

e2e_ok "broker counts no sessions" 'e2e_wait 5 e2e_status_is .connection_pool.active 0'
e2e_done
