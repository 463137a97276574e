#!/bin/bash
# Watching live games through a real sshd: `list` and `list --json`
# without a terminal; a late watcher's screen equal to the player's
# (tmux capture-pane -e, text and attributes) after megabytes of varied
# output, a resize and a NetHack screen; live updates; a watcher's keys
# never reaching the game; the list in the menu; the end of the game
# told; the line-drawing set on a UTF-8 terminal and on one that is not.
. "$DG_SRCDIR/tests/e2e/lib.sh"
GAME="$DG_BUILDDIR/tests/tools/dg-testgame"
# The player's output is held to 1MB/s: a broker built with
# AddressSanitizer takes libvterm's scrolling at a few MB/s, and faster
# output would be dropped as gaps (counted, and the player never waits).
e2e_setup watch "[recording]
enabled = false
[quota:default]
max_bandwidth = 1MB/s
[game:nethack]
name = NetHack 3.6
key = p
command = $GAME chaos 16 /usr/games/nethack -u %u
rcfile = .nethackrc
env = NETHACKOPTIONS=@%h/.nethackrc
[game:box]
name = Box
key = b
command = $GAME box" 3

# Text and attributes of a window, cell by cell, and where its cursor is.
# capture-pane -e writes the codes that change the attributes wherever
# tmux's lines end, and tmux's lines end where cells were last written,
# which no screen shows: so each character is printed with the attributes
# in force (colours, attributes, the line-drawing set), one per line.
cells() {
	LC_ALL=C awk '
	function sgr(list,   n, a, i) {
		n = split(list, a, ";")
		if (n == 0 || list == "") { n = 1; a[1] = 0 }
		for (i = 1; i <= n; i++) {
			c = a[i] + 0
			if (a[i] == "" || c == 0) { at = ""; fg = "d"; bg = "d" }
			else if (c == 38 || c == 48) {
				v = (a[i + 1] == 5) ? a[i + 1] ":" a[i + 2] : \
				    a[i + 1] ":" a[i + 2] ":" a[i + 3] ":" a[i + 4]
				i += (a[i + 1] == 5) ? 2 : 4
				if (c == 38) fg = v; else bg = v
			}
			else if (c == 39) fg = "d"
			else if (c == 49) bg = "d"
			else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) fg = c
			else if ((c >= 40 && c <= 47) || (c >= 100 && c <= 107)) bg = c
			else at = at "," a[i]
		}
	}
	BEGIN { at = ""; fg = "d"; bg = "d"; cs = 0 }
	{
		line = $0
		col = 0
		while (length(line) > 0) {
			ch = substr(line, 1, 1)
			if (ch == "\033" && match(line, /^\033\[[0-9;:]*m/)) {
				sgr(substr(line, 3, RLENGTH - 3))
				line = substr(line, RLENGTH + 1)
				continue
			}
			if (ch == "\016") { cs = 1; line = substr(line, 2); continue }
			if (ch == "\017") { cs = 0; line = substr(line, 2); continue }
			printf "%d %d %s|%s|%s|%d %s\n", NR, col++, fg, bg, at, cs, ch
			line = substr(line, 2)
		}
	}'
}
pane() {
	e2e_tmux capture-pane -p -e -t "$1" | cells
	e2e_tmux display -p -t "$1" '#{cursor_x},#{cursor_y}'
}
same_screen() { [ "$(pane "$1")" = "$(pane "$2")" ]; }
# Show both when they differ.
show_diff() { diff <(pane "$1") <(pane "$2") | head -20 | cat -v | sed 's/^/    | /'; }

# Nothing is played yet: the plain list says so, without a terminal.
out=$(e2e_ssh "$U2" "-T" list 2>&1); rc=$?
e2e_eq "list without a terminal exits 0" "$rc" 0
e2e_eq "list with no game" "$out" "No one is playing right now."
e2e_eq "list --json with no game" "$(e2e_ssh "$U2" "-T" list --json | jq -c .)" "[]"

# A watcher waits on the list before anyone plays.
e2e_term w0 "LC_ALL=C.UTF-8 $(e2e_ssh_cmd "$U3") -o SendEnv=LC_ALL -t watch"
e2e_expect_screen "the watch list, empty" w0 'no one is playing right now' 15

# The player, in a UTF-8 locale, plays the chaos game: megabytes of
# output, a resize half way, then NetHack.
e2e_term p1 "LC_ALL=C.UTF-8 $(e2e_ssh_cmd "$U1") -o SendEnv=LC_ALL -t"
e2e_wait_screen p1 'Your choice' || e2e_die "no menu: $(e2e_screen p1)"
e2e_keys p1 p
e2e_expect_screen "the list shows the new game within seconds" w0 \
    "a\\) $U1 +NetHack 3\\.6 +80x24 " 5
e2e_keys w0 a
e2e_expect_screen "chaos asks for a resize" p1 'chaos: resize me' 60
e2e_ok "the watcher from the start follows" 'e2e_wait 15 e2e_screen_has w0 "chaos: resize me"'
e2e_tmux resize-window -t p1 -x 90 -y 28
e2e_tmux resize-window -t w0 -x 90 -y 28
pty_is() { [ "$(e2e_status | jq -r --arg u "$U1" '.sessions[] | select(.user == $u) | "\(.cols)x\(.rows)"')" = "$1" ]; }
e2e_ok "the broker hears of the resize" 'e2e_wait 10 pty_is 90x28'
e2e_keys p1 x
e2e_wait_screen p1 'Shall I pick' 90 && e2e_keys p1 y
e2e_wait_screen p1 'Is this ok\?' 10 && e2e_keys p1 y
for i in 1 2 3 4; do
	e2e_wait_screen p1 'Dlvl:1' 1 && break
	e2e_keys p1 Enter
done
e2e_expect_screen "NetHack after the chaos" p1 'Dlvl:1' 10
e2e_nethack_more p1 || e2e_fail "NetHack's --More-- prompts answered"

# The list, as text and as JSON.
out=$(e2e_ssh "$U2" "-T" list)
e2e_match "list names the player, the game and the size" "$out" \
    "^$U1 +NetHack 3\\.6 +90x28 +[0-9]+[smh] +[0-9]+[smh] +1\$"
js=$(e2e_ssh "$U2" "-T" list --json)
e2e_eq "list --json: the player" "$(echo "$js" | jq -r '.[0].user')" "$U1"
e2e_eq "list --json: the game" "$(echo "$js" | jq -r '.[0].game')" nethack
e2e_eq "list --json: the size" "$(echo "$js" | jq -r '"\(.[0].cols)x\(.[0].rows)"')" 90x28
e2e_eq "list --json: the watcher from the start" "$(echo "$js" | jq -r '.[0].watchers')" 1
# Every byte is accounted for: taken in, or counted as a gap the session
# had to drop while the broker was busy (the player never waits for it).
# What the session still holds for a busy broker (a slow build: under
# valgrind) comes in after the player's screen: wait for it.
followed() {
	local st
	st=$(e2e_status) || return 1
	offset=$(jq -r --arg u "$U1" '.sessions[] | select(.user == $u) | .stream_offset' <<<"$st")
	gaps=$(jq -r --arg u "$U1" '.sessions[] | select(.user == $u) | .stream_gaps' <<<"$st")
	streamed=$(jq -r .spectate.stream_bytes <<<"$st")
	[ "$offset" -gt 16000000 ] && [ $((streamed + gaps)) -eq "$offset" ]
}
e2e_wait 60 followed
e2e_ok "the broker followed the game's 16 MB ($streamed taken, $gaps dropped)" followed

# A late watcher, straight in: the same screen at once.
e2e_term w1 "LC_ALL=C.UTF-8 $(e2e_ssh_cmd "$U2") -o SendEnv=LC_ALL -t watch $U1"
e2e_tmux resize-window -t w1 -x 90 -y 28
e2e_wait_screen w1 'Dlvl:1' 15 || e2e_fail "the watcher sees no game: $(e2e_screen w1)"
if e2e_wait 10 same_screen p1 w1; then
	e2e_pass "a late watcher's screen equals the player's, attributes and cursor"
else
	e2e_fail "a late watcher's screen equals the player's"
	show_diff p1 w1
fi
e2e_ok "the broker counts both watchers" 'e2e_wait 5 e2e_status_is .spectate.watchers 2'
# The watcher that saw every byte of it shows the same.
e2e_ok "the watcher from the start shows the player's screen too" \
    'e2e_wait 10 same_screen p1 w0' || show_diff p1 w0

# Live: the player moves and opens a menu; the watcher follows.
e2e_keys p1 i
e2e_wait 5 e2e_screen_changed p1 "$(e2e_screen w1)"
e2e_ok "the watcher follows the player live" 'e2e_wait 10 same_screen p1 w1' ||
    show_diff p1 w1
e2e_keys p1 Escape
e2e_keys p1 s
e2e_ok "and again" 'e2e_wait 10 same_screen p1 w1' || show_diff p1 w1

# A watcher's keys never reach the game.
# The session takes keys in order: once ? has been answered, every key
# before it has been dealt with, and none may have changed the game.
before=$(pane p1)
e2e_keys w1 i
e2e_keys w1 S
e2e_keys w1 y
e2e_keys w1 h j k l Enter
e2e_keys w1 '?'
e2e_expect_screen "? shows the watcher's keys" w1 'q leave, r redraw' 5
e2e_eq "the watcher's keys do not reach the game" "$(pane p1)" "$before"
e2e_ok "the game runs on" 'e2e_status_is ".sessions[] | select(.user == \"$U1\") | .state" playing'
e2e_keys w1 r
e2e_ok "r redraws the screen from the state" 'e2e_wait 10 same_screen p1 w1'

# The menu's watch list: a second watcher in an 80x24 terminal.
e2e_ssh_term w2 "$U3"
e2e_wait_screen w2 'Your choice' || e2e_fail "no menu for the second watcher"
e2e_expect_screen "the menu offers watching" w2 'w\) Watch a game' 5
e2e_keys w2 w
e2e_expect_screen "the list shows the game and its watchers" w2 \
    "a\\) $U1 +NetHack 3\\.6 +90x28 .* 2\$" 10
e2e_keys w2 a
e2e_expect_screen "a watcher's smaller terminal is told so" w2 \
    "Your terminal is 80x24 and $U1's is 90x28" 10
e2e_ok "three watchers counted" 'e2e_wait 5 e2e_status_is .spectate.watchers 3'
js=$(e2e_ssh "$U2" "-T" list --json)
e2e_eq "list --json counts them" "$(echo "$js" | jq -r '.[0].watchers')" 3

# The game ends: each watcher is told and goes back to the list.
e2e_nethack_save p1
e2e_expect_screen "the player is back at the menu" p1 'Your choice' 20
e2e_expect_screen "the watcher is told the game ended" w1 \
    "$U1's game of NetHack 3\\.6 has ended" 15
e2e_expect_screen "and is back at the list" w1 'no one is playing right now' 5
e2e_expect_screen "so is the one from the menu" w2 "$U1's game of NetHack 3\\.6 has ended" 15
e2e_expect_screen "and the one from the start" w0 "$U1's game of NetHack 3\\.6 has ended" 15
e2e_keys w0 q
e2e_keys w2 q
e2e_expect_screen "q on the list goes back to the menu" w2 'Your choice' 5
e2e_ok "no watchers left" 'e2e_wait 5 e2e_status_is .spectate.watchers 0'
e2e_keys w1 q
e2e_expect_screen "q on a \`watch\` list ends the session" w1 '^\[exit 0\]' 10

# The line-drawing set: the player draws a box; a UTF-8 watcher gets it
# in UTF-8, a watcher whose terminal is not UTF-8 in the line-drawing set.
e2e_keys p1 b
e2e_expect_screen "the box is drawn" p1 'box$' 10
e2e_term w3 "LC_ALL=C.UTF-8 $(e2e_ssh_cmd "$U2") -o SendEnv=LC_ALL -t watch $U1"
e2e_expect_screen "a UTF-8 watcher sees box drawing" w3 '^└────┘ box$' 15
e2e_expect_screen "with its top and sides" w3 '^┌────┐$' 5
e2e_expect_screen "and its sides" w3 '^│    │$' 5
e2e_term w4 "LC_ALL=C LANG= $(e2e_ssh_cmd "$U3") -o SendEnv=LC_ALL -t watch $U1"
e2e_wait_screen w4 'box$' 15 || e2e_fail "the other watcher sees no box"
box() { e2e_tmux capture-pane -p -e -t "$1" | head -3; }
e2e_match "a watcher that is not UTF-8 gets the line-drawing set" \
    "$(box w4)" "$(printf '\016')lqqqqk"
e2e_eq "the same cells as on the player's screen" "$(box w4)" "$(box p1)"
e2e_nomatch "the UTF-8 watcher gets none of it" "$(box w3)" "$(printf '\016')"
# Control strings are the player's terminal's business: the game's title
# is set there, and on no watcher's terminal.
title() { e2e_tmux display -p -t "$1" '#{pane_title}'; }
e2e_eq "the game set the player's title" "$(title p1)" dg-title-from-game
e2e_keys p1 t
e2e_expect_screen "the game sets another title live" p1 '^titled' 10
e2e_expect_screen "which the UTF-8 watcher follows" w3 '^titled' 10
e2e_expect_screen "and the other" w4 '^titled' 10
e2e_eq "the player's terminal has the new title" "$(title p1)" dg-title-again
e2e_ok "no watcher's terminal has either" \
    '! title w3 | grep -q dg-title && ! title w4 | grep -q dg-title'
e2e_keys p1 q
e2e_expect_screen "watch USER ends at the list when the game ends" w3 "$U1's game of Box has ended" 15

e2e_keys p1 q
e2e_expect_screen "the player quits" p1 '^\[exit 0\]' 10
e2e_ok "broker counts no games" 'e2e_wait 5 e2e_status_is .spectate.games 0'
e2e_done
