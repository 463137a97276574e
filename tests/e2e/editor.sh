#!/bin/bash
# Editing a game's options from the menu: e opens the player's options
# file in the restricted editor (rnano), under the rules of a game; a new
# player's file starts as the server's template, an existing one is never
# replaced; the next game uses what was saved. Every way out of the
# editor is tried and stays closed: other files, commands, the spell
# checker, suspend, the player's nanorc; and a symlinked, hard-linked or
# oversized options file is refused before the editor starts. An idle
# editor ends the session cleanly.
. "$DG_SRCDIR/tests/e2e/lib.sh"
[ -x /usr/bin/rnano ] || { echo "editor: missing /usr/bin/rnano (run tests/run-all.sh to install)"; exit 1; }
e2e_init editor
TEMPLATE="$T/nethackrc.template"
printf '# The recommended options\nOPTIONS=showexp\n' > "$TEMPLATE"
chmod 644 "$TEMPLATE"
GAME="[game:nethack]
name = NetHack 3.6
key = p
command = /usr/games/nethack -u %u
rcfile = .nethackrc
rc_template = $TEMPLATE
env = NETHACKOPTIONS=@%h/.nethackrc"
e2e_config "$GAME"
e2e_broker_start
for i in 1 2 3; do e2e_user "$i"; done
e2e_sshd_start
CAP=65536

# The editor process of a user, if one runs.
ed_pid() { pgrep -u "$1" -x rnano | head -1; }

# Does the user run no editor?
ed_gone() { [ -z "$(ed_pid "$1")" ]; }

# Press e at the menu of window $1 and wait for the editor; fails if it
# does not come.
ed_open() {
	e2e_keys "$1" e
	e2e_wait_screen "$1" 'GNU nano .* Restricted' 15
}

# Leave the editor of window $1 for user $2 without saving, and wait for
# the menu and for the editor to be gone.
ed_quit() {
	e2e_keys "$1" C-x
	if e2e_wait_screen "$1" 'Save modified buffer' 2; then
		e2e_keys "$1" n
	fi
	e2e_wait_screen "$1" 'Your choice' 10 && e2e_wait 5 ed_gone "$2"
}

# The editor's children (none, ever).
ed_children() { pgrep -P "$1" | tr '\n' ' '; }

# The files of user $1 below $2 changed since the marker $3, but $4.
ed_written() {
	find "$2" -newer "$3" -user "$1" ! -path "$4" ! -type d 2>/dev/null |
	    sort | tr '\n' ' '
}

# The state of a process (R, S, T, ...).
ed_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }

# An editing session's line of --status: state, game, CPU mechanism.
ed_status() {
	e2e_status | jq -r --arg u "$1" '[.sessions[] | select(.user == $u) |
	    "\(.state) \(.game // "-") \(.cpu_mechanism // "-")"][0]'
}
ed_status_is() { [ "$(ed_status "$1")" = "$2" ]; }

# How many times the broker logged an editor of user $1 ending with $2.
ed_ended() {
	grep -c "msg=\"editor ended\" user=$1 .*game=edit:nethack reason=exit status=$2 " \
	    "$T/broker.log" 2>/dev/null
}
ed_ended_past() { [ "$(ed_ended "$1" "$2")" -gt "$3" ]; }

h1="$T/home/$U1"
h2="$T/home/$U2"
h3="$T/home/$U3"

# ---- The menu offers it; a player with options keeps them. ----------
cat > "$h2/.nethackrc" <<'RC'
OPTIONS=!autopickup
RC
chown "$U2:" "$h2/.nethackrc"
chmod 600 "$h2/.nethackrc"
cp -p "$h2/.nethackrc" "$T/u2.before"
e2e_ssh_term w2 "$U2"
e2e_wait_screen w2 'Your choice' || e2e_die "no menu: $(e2e_screen w2)"
e2e_match "the menu offers editing" "$(e2e_screen w2)" '^    e\) Edit a game.s options$'
e2e_ok "e opens the editor" 'ed_open w2'
s=$(e2e_screen w2)
e2e_match "the editor shows the player's own options" "$s" '^OPTIONS=!autopickup$'
e2e_nomatch "and not the template" "$s" 'showexp|recommended'
e2e_ok "leaving without a change" 'ed_quit w2 "$U2"'
e2e_expect_screen "the menu says nothing changed" w2 'Your NetHack 3\.6 options are unchanged' 5
e2e_ok "the template never replaced an existing file" 'cmp -s "$h2/.nethackrc" "$T/u2.before"'
e2e_keys w2 q
e2e_expect_screen "the player with options quits" w2 '^\[exit 0\]' 10

# ---- A new player: the template, the editor's world, save, play. -------
e2e_ok "a new player has no options file" '! test -e "$h1/.nethackrc"'
e2e_ssh_term w1 "$U1"
e2e_wait_screen w1 'Your choice' || e2e_die "no menu: $(e2e_screen w1)"
e2e_ok "e opens the editor for a new player" 'ed_open w1'
e2e_match "the new file is the template" "$(e2e_screen w1)" '^OPTIONS=showexp$'
e2e_ok "the file copied from the template" 'cmp -s "$h1/.nethackrc" "$TEMPLATE"'
e2e_match "it is the player's, mode 0600, one name" \
    "$(stat -c '%U %a %h %F' "$h1/.nethackrc")" "^$U1 600 1 regular file\$"

ed=$(ed_pid "$U1")
[ -n "$ed" ] || e2e_die "no editor process for $U1"
sess=$(e2e_sessions "$U1" | awk '{print $1; exit}')
e2e_eq "the editor is dg-session's child" "$(ps -o ppid= -p "$ed" | tr -d ' ')" "$sess"
e2e_eq "it runs as the player" "$(awk '/^Uid:/ {print $2}' "/proc/$ed/status")" "$(id -u "$U1")"
e2e_eq "its command is fixed by the broker" \
    "$(tr '\0' ' ' < "/proc/$ed/cmdline")" \
    "/usr/bin/rnano --restricted --ignorercfiles -- /dev/fd/3 "
e2e_eq "the file it edits is the one checked" \
    "$(readlink "/proc/$ed/fd/3")" "$h1/.nethackrc"
e2e_eq "it holds nothing else open" \
    "$(ls "/proc/$ed/fd" | sort -n | tr '\n' ' ')" "0 1 2 3 "
e2e_match "it may write no file past the cap" \
    "$(grep '^Max file size' "/proc/$ed/limits")" "^Max file size +$CAP +$CAP +bytes"
e2e_match "it has the editor's memory slice" \
    "$(grep '^Max address space' "/proc/$ed/limits")" '^Max address space +33554432 +33554432 '
envnames=$(tr '\0' '\n' < "/proc/$ed/environ" | cut -d= -f1 | grep -vE '^(LANG|LC_[A-Z]+)$' | sort | tr '\n' ' ')
e2e_eq "its environment is the fixed set, none of the game's" "$envnames" \
    "BROWSER EDITOR HOME LESSSECURE LOGNAME MAIL MAILREADER PAGER PATH SHELL TERM USER VISUAL "
pty=$(readlink "/proc/$ed/fd/0")
e2e_match "it runs on its own pty" "$pty" '^/dev/pts/[0-9]+$'
e2e_tmux resize-window -t w1 -x 90 -y 28
pty_is() { [ "$(stty -F "$pty" size)" = "$1" ]; }
e2e_ok "a resize reaches the editor's pty" 'e2e_wait 5 pty_is "28 90"'
e2e_tmux resize-window -t w1 -x 80 -y 24
e2e_ok "the broker sees the session editing, held to its CPU share" \
    'e2e_wait 10 ed_status_is "$U1" "editing edit:nethack duty_cycle"'
e2e_eq "the editor holds a PTY lease" "$(e2e_status | jq -r .pty_pool.leased)" 1

# A second editor of the same file, from another session, is refused.
e2e_ssh_term w1b "$U1"
e2e_wait_screen w1b 'Your choice' || e2e_fail "second session has no menu"
e2e_keys w1b e
e2e_expect_screen "a second editor of the same options is refused" w1b \
    'already editing your options for NetHack 3\.6 in another session' 10
e2e_keys w1b q
e2e_expect_screen "the second session quits" w1b '^\[exit 0\]' 10

# Add an option whose effect shows on the first screen: the turn counter.
e2e_keys w1 "OPTIONS=time" Enter
e2e_keys w1 C-o
e2e_wait_screen w1 'File Name to Write: /dev/fd/3' 5 || e2e_fail "no write prompt: $(e2e_screen w1)"
e2e_keys w1 Enter
e2e_expect_screen "the editor wrote the file" w1 'Wrote 3 lines' 5
e2e_keys w1 C-x
e2e_expect_screen "saving returns to the menu" w1 'Your NetHack 3\.6 options are saved' 10
e2e_ok "the editor is gone" 'e2e_wait 5 ed_gone "$U1"'
e2e_eq "the file holds the new option and the template's" \
    "$(cat "$h1/.nethackrc")" "$(printf 'OPTIONS=time\n# The recommended options\nOPTIONS=showexp')"
e2e_ok "the editor's lease ended" 'e2e_wait 5 ed_ended_past "$U1" 0 0'
e2e_eq "no PTY lease is held" "$(e2e_status | jq -r .pty_pool.leased)" 0
e2e_ok "the game starts" 'e2e_nethack_start w1'
s=$(e2e_screen w1)
e2e_match "the game shows the edited option (the turn counter)" "$s" 'T:[0-9]+'
e2e_match "and the template's (experience points)" "$s" 'Xp:[0-9]+/[0-9]+'
e2e_nethack_save w1
e2e_expect_screen "the game saved, back at the menu" w1 'Your choice' 20

# ---- Every way out of the editor, each in an editor of its own. --------
touch "$T/marker"
sleep 1	# the marker's time stamp must be older than anything written
ntries=0
# Try one key sequence: the editor must say the function is disabled,
# stay up and start nothing.
ed_try() {
	local what=$1 ed; shift
	ntries=$((ntries + 1))
	if ! ed_open w1; then
		e2e_fail "$what: the editor did not open: $(e2e_screen w1)"
		return
	fi
	ed=$(ed_pid "$U1")
	e2e_keys w1 "$@"
	e2e_expect_screen "$what: refused" w1 'This function is disabled in restricted mode' 5
	e2e_eq "$what: the editor started nothing" "$(ed_children "$ed")" ""
	e2e_nomatch "$what: the editor is not stopped" "$(ed_state "$ed")" '^[Tt]$'
	e2e_ok "$what: the editor leaves" 'ed_quit w1 "$U1"'
}
ed_try "insert another file (^R)" C-r
ed_try "insert another file (Insert)" IC
ed_try "execute a command (^T)" C-t
ed_try "spell check (F12)" F12
ed_try "linter (M-B)" M-b
ed_try "formatter (M-F)" M-f

# Suspend: ^Z only tells how nano would, and ^T, the way it names, is
# refused (ed_try above); the editor goes on, never stopped.
ntries=$((ntries + 1))
ed_open w1 || e2e_fail "the editor did not open for ^Z"
ed=$(ed_pid "$U1")
e2e_keys w1 C-z
e2e_expect_screen "^Z: no suspension" w1 'To suspend, type \^T\^Z' 5
e2e_keys w1 C-t
e2e_expect_screen "^T^Z: ^T refused" w1 'This function is disabled in restricted mode' 5
e2e_keys w1 C-z
e2e_expect_screen "^T^Z: ^Z again only tells" w1 'To suspend, type \^T\^Z' 5
e2e_nomatch "^Z: the editor is not stopped" "$(ed_state "$ed")" '^[Tt]$'
e2e_match "^Z: the editor still shows the file" "$(e2e_screen w1)" '^OPTIONS=time$'
e2e_eq "^Z: the editor started nothing" "$(ed_children "$ed")" ""
e2e_ok "^Z: the editor leaves" 'ed_quit w1 "$U1"'

# Writing under another name: the name at the prompt cannot change.
ed_open w1 || e2e_fail "the editor did not open to write elsewhere"
ed=$(ed_pid "$U1")
e2e_keys w1 C-o
e2e_wait_screen w1 'File Name to Write: /dev/fd/3' 5
e2e_keys w1 C-u C-h C-h C-h "$T/escaped"
e2e_keys w1 M-a M-p M-b C-t
e2e_match "the write prompt keeps the file's own name" \
    "$(e2e_screen w1 | grep 'File Name to')" '^File Name to Write: /dev/fd/3 *$'
e2e_keys w1 Enter
e2e_expect_screen "the write goes to the options file" w1 'Wrote 3 lines' 5
e2e_ok "no file written under another name" '! test -e "$T/escaped"'
e2e_ok "writing elsewhere: the editor leaves" 'ed_quit w1 "$U1"'

# Search and replace still work: the editor is usable, not crippled.
ed_open w1 || e2e_fail "the editor did not open to search"
e2e_keys w1 C-w showexp Enter
e2e_expect_screen "search finds text" w1 '^OPTIONS=showexp$' 5
e2e_ok "searching: the editor leaves" 'ed_quit w1 "$U1"'

e2e_eq "the ways out were all tried" "$ntries" 7
e2e_eq "the escapes wrote nothing but the options file" \
    "$(ed_written "$U1" "$T" "$T/marker" "$h1/.nethackrc")$(ed_written "$U1" /tmp "$T/marker" "$h1/.nethackrc")" ""
e2e_ok "no backup, lock or history file" \
    '! ls -a "$h1" | grep -Eq "~$|\.swp$|\.save$|^\.local$"'

# ---- The player's nanorc is never read. -------------------------------
# It would number lines, show an included file's lines in errors, run a
# speller, bind a key to a shell command and write backups and locks.
printf 'bogus secret words\n' > "$T/secret.nanorc"
chmod 644 "$T/secret.nanorc"
mkdir -p "$h1/.config/nano" "$T/backups"
cat > "$h1/.nanorc" <<RC
set linenumbers
set backup
set backupdir "$T/backups"
set locking
set historylog
set positionlog
set operatingdir "/"
set speller "/bin/sh -c 'touch $T/spelled'"
bind ^Z suspend main
bind M-1 "{execute}touch $T/bound{enter}" main
include "$T/secret.nanorc"
RC
cp "$h1/.nanorc" "$h1/.config/nano/nanorc"
chown -R "$U1:" "$h1/.nanorc" "$h1/.config" "$T/backups"
# First, that it would matter: nano run by hand, without -I, reads it.
e2e_term control "runuser -u $U1 -- env -i HOME=$h1 TERM=xterm-256color /usr/bin/rnano --restricted $T/control.txt"
e2e_expect_screen "control: a nano that reads the nanorc numbers lines" control \
    '^ *1( |$)' 10
e2e_expect_screen "control: and reads the included file" control \
    "Mistakes in '$T/secret\.nanorc'" 5
e2e_tmux kill-session -t control
touch "$T/marker"
sleep 1
ed_open w1 || e2e_fail "the editor did not open with a nanorc"
ed=$(ed_pid "$U1")
s=$(e2e_screen w1)
e2e_match "nanorc: lines are not numbered" "$s" '^OPTIONS=time$'
e2e_nomatch "nanorc: nothing of the included file shows" "$s" 'secret|bogus'
e2e_keys w1 M-1
e2e_keys w1 C-z
e2e_expect_screen "nanorc: ^Z is not bound to suspend" w1 'To suspend, type \^T\^Z' 5
e2e_nomatch "nanorc: the editor is not stopped" "$(ed_state "$ed")" '^[Tt]$'
e2e_keys w1 "# edited" Enter C-o
e2e_wait_screen w1 'File Name to Write' 5 && e2e_keys w1 Enter
e2e_expect_screen "nanorc: the file is saved" w1 'Wrote 4 lines' 5
e2e_eq "nanorc: the editor started nothing" "$(ed_children "$ed")" ""
e2e_ok "nanorc: the editor leaves" 'ed_quit w1 "$U1"'
e2e_ok "nanorc: no speller or bound command ran" '! test -e "$T/spelled" && ! test -e "$T/bound"'
e2e_eq "nanorc: no backup" "$(ls -A "$T/backups")" ""
e2e_eq "nanorc: nothing written but the options file" \
    "$(ed_written "$U1" "$T" "$T/marker" "$h1/.nethackrc")$(ed_written "$U1" /tmp "$T/marker" "$h1/.nethackrc")" ""
e2e_ok "nanorc: no backup, lock or history file" \
    '! ls -a "$h1" | grep -Eq "~$|\.swp$|\.save$|^\.local$"'
rm -rf "$h1/.nanorc" "$h1/.config"

# ---- A new player who plays first gets the template too. -------------
e2e_ok "the third player has no options file" '! test -e "$h3/.nethackrc"'
e2e_ssh_term w3p "$U3" play nethack
e2e_expect_screen "a new player's first game starts" w3p 'Shall I pick' 20
e2e_ok "the game's options file was made from the template" 'cmp -s "$h3/.nethackrc" "$TEMPLATE"'
e2e_match "the player's, mode 0600" "$(stat -c '%U %a' "$h3/.nethackrc")" "^$U3 600\$"
e2e_keys w3p q
e2e_expect_screen "the game quits and the session ends" w3p '^\[exit 0\]' 20
rm "$h3/.nethackrc"

# ---- Options files that are refused before the editor starts. ---------
e2e_ssh_term w3 "$U3"
e2e_wait_screen w3 'Your choice' || e2e_die "no menu: $(e2e_screen w3)"
# Refused with a reason on the menu, no editor started, no lease kept.
ed_refused() {
	local what=$1 re=$2 before
	before=$(ed_ended "$U3" -1)
	# A notice of its own first, so that the reason seen is new.
	e2e_keys w3 x
	e2e_wait_screen w3 "There is no choice 'x'" 5
	e2e_keys w3 e
	e2e_expect_screen "$what: refused with the reason" w3 "$re" 10
	e2e_ok "$what: no editor started" 'ed_gone "$U3"'
	e2e_ok "$what: the lease was given back" \
	    'e2e_wait 5 ed_ended_past "$U3" -1 "$before"'
	e2e_eq "$what: no PTY lease is held" "$(e2e_status | jq -r .pty_pool.leased)" 0
	e2e_match "$what: still at the menu" "$(e2e_screen w3)" 'Your choice'
}
# A symlink to a file of the player's own elsewhere.
printf 'not an options file\n' > "$T/target"
chown "$U3:" "$T/target"
cp -p "$T/target" "$T/target.before"
ln -s "$T/target" "$h3/.nethackrc"
ed_refused "a symlinked options file" 'options file ~/\.nethackrc is a symbolic link, so'
e2e_ok "the symlink's target is untouched" 'cmp -s "$T/target" "$T/target.before"'
# A dangling one: the template is not copied through it.
rm "$h3/.nethackrc"
ln -s "$T/dangling" "$h3/.nethackrc"
ed_refused "a dangling symlink" 'is a symbolic link'
e2e_ok "nothing was made through the dangling link" '! test -e "$T/dangling"'
rm "$h3/.nethackrc"
# A hard link to another file.
ln "$T/target" "$h3/.nethackrc"
ed_refused "a hard-linked options file" 'has other names \(hard links\)'
e2e_ok "the hard link's other file is untouched" 'cmp -s "$T/target" "$T/target.before"'
rm "$h3/.nethackrc"
# Not a plain file.
mkfifo "$h3/.nethackrc"
chown "$U3:" "$h3/.nethackrc"
ed_refused "a FIFO for an options file" 'is not a plain file'
rm "$h3/.nethackrc"
# Someone else's file.
printf 'OPTIONS=time\n' > "$h3/.nethackrc"
ed_refused "an options file of another user" 'belongs to another user'
# Past the cap.
head -c $((CAP + 4000)) /dev/zero | tr '\0' '#' > "$h3/.nethackrc"
chown "$U3:" "$h3/.nethackrc"
ed_refused "an options file past the cap" 'options file ~/\.nethackrc is 68 KB, more than the 64 KB'

# A save past the cap fails in the editor, which keeps the text; the file
# never grows past the cap.
{ printf '#%04000d\n' 0; for i in $(seq 580); do printf '#%0099d\n' "$i"; done; } > "$h3/.nethackrc"
chown "$U3:" "$h3/.nethackrc"
size=$(stat -c %s "$h3/.nethackrc")
e2e_ok "the file starts within the cap ($size bytes)" '[ "$size" -le "$CAP" ] && [ $((size + 8002)) -gt "$CAP" ]'
e2e_keys w3 C-l
e2e_keys w3 e
e2e_wait_screen w3 'GNU nano .* Restricted' 15 || e2e_fail "no editor for the big file: $(e2e_screen w3)"
ed=$(ed_pid "$U3")
# Cut the long first line and paste it back three times: 8 KB more.
e2e_keys w3 C-k C-u C-u C-u C-o
e2e_wait_screen w3 'File Name to Write' 5 && e2e_keys w3 Enter
e2e_expect_screen "a save past the cap fails in the editor" w3 'File too large' 10
e2e_ok "the editor is still running" 'kill -0 "$ed" && [ "$(ed_pid "$U3")" = "$ed" ]'
e2e_ok "the file is no larger than the cap" '[ "$(stat -c %s "$h3/.nethackrc")" -le "$CAP" ]'
e2e_ok "the big file: the editor leaves" 'ed_quit w3 "$U3"'
e2e_expect_screen "the menu says what was not saved" w3 \
    'options file is at the 64 KB limit: what went past it' 5
e2e_keys w3 q
e2e_expect_screen "quit exits 0" w3 '^\[exit 0\]' 10

# ---- More games: the menu asks whose options; the broker decides. ---
MORE="[game:plain]
name = Plain
key = x
command = /bin/true
[game:second]
name = Second
key = s
command = /bin/true
rcfile = .secondrc"
e2e_config "$GAME
$MORE"
e2e_reload || e2e_die "reload: $E2E_RELOAD"
e2e_keys w1 q
e2e_expect_screen "the first session quits" w1 '^\[exit 0\]' 10
e2e_ssh_term w4 "$U1"
e2e_wait_screen w4 'Your choice' || e2e_die "no menu: $(e2e_screen w4)"
e2e_keys w4 e
e2e_expect_screen "with two games that have options, e asks which" w4 \
    'Edit the options of which game\? Press its key' 5
e2e_keys w4 x
e2e_expect_screen "a game without options says so" w4 'Plain has no options file to edit\.' 5
e2e_keys w4 e
e2e_wait_screen w4 'Edit the options of which game' 5
e2e_keys w4 Escape
e2e_ok "any other key goes back" 'e2e_wait 5 e2e_screen_has w4 "Your choice" && ! e2e_screen_has w4 "which game"'
e2e_ok "no editor for either" 'ed_gone "$U1"'
e2e_keys w4 e
e2e_wait_screen w4 'Edit the options of which game' 5
e2e_keys w4 s
e2e_expect_screen "the chosen game's options open" w4 'GNU nano .* Restricted' 15
e2e_ok "its file was made, empty (it has no template)" '[ -f "$h1/.secondrc" ] && [ ! -s "$h1/.secondrc" ]'
e2e_ok "the chosen game's editor leaves" 'ed_quit w4 "$U1"'
e2e_expect_screen "and says nothing changed" w4 'Your Second options are unchanged' 5
e2e_keys w4 e
e2e_wait_screen w4 'Edit the options of which game' 5
e2e_keys w4 p
e2e_expect_screen "the other game's options open" w4 '^OPTIONS=time$' 15
e2e_ok "the other game's editor leaves" 'ed_quit w4 "$U1"'
e2e_keys w4 q
e2e_expect_screen "the session quits" w4 '^\[exit 0\]' 10

# What the broker answers on the wire, as the player: the editor and its
# limits are the broker's; a game without options, or unknown, is refused.
HELLO='{"type":"hello","version":1,"client":"session"}'
wire_edit() {
	su -s /bin/sh "$U1" -c "$WIRE $SOCK -t 1000 -j '$HELLO' -c -c -j '{\"type\":\"edit\",\"game\":\"$1\",\"cols\":80,\"rows\":24}'" |
	    grep -E '"type":"(edit_lease|refused|error)"'
}
out=$(wire_edit nethack)
e2e_eq "the edit lease names the broker's editor" \
    "$(printf '%s\n' "$out" | jq -c .argv)" '["/usr/bin/rnano","--restricted","--ignorercfiles","--"]'
e2e_eq "the file, its template and cap, the limits" \
    "$(printf '%s\n' "$out" | jq -r '"\(.rcfile) \(.rc_template) \(.rc_max_size) \(.rlimits.fsize) \(.rlimits.as)"')" \
    "$h1/.nethackrc $TEMPLATE $CAP $CAP 33554432"
e2e_eq "no environment lines of the game" "$(printf '%s\n' "$out" | jq -r 'has("env")')" false
e2e_eq "a game without options is refused" \
    "$(wire_edit plain | jq -r '"\(.type) \(.reason) \(.message)"')" \
    "refused no_rcfile Plain has no options file to edit."
e2e_eq "an unknown game is refused" \
    "$(wire_edit rogue | jq -r '"\(.type) \(.reason)"')" "refused no_game"
e2e_ok "the wire's leases ended with their connections" 'e2e_wait 5 e2e_status_is .pty_pool.leased 0'

# ---- An idle editor ends the session cleanly. -------------------------
e2e_config "$GAME
[connection_pool]
idle_timeout = 3s"
e2e_reload || e2e_die "reload: $E2E_RELOAD"
cp -p "$h1/.nethackrc" "$T/u1.before"
e2e_ssh_term w5 "$U1"
e2e_wait_screen w5 'Your choice' || e2e_die "no menu: $(e2e_screen w5)"
e2e_ok "the editor opens" 'ed_open w5'
e2e_keys w5 "OPTIONS=unsaved" Enter
e2e_expect_screen "an idle editor closes the session with a reason" w5 \
    '^The editor was closed; changes you had not saved are lost\.$' 20
e2e_expect_screen "the idle session exits 0" w5 '^\[exit 0\]' 10
e2e_ok "the editor is gone" 'e2e_wait 5 ed_gone "$U1"'
e2e_ok "the unsaved text is not in the options file" 'cmp -s "$h1/.nethackrc" "$T/u1.before"'
e2e_ok "and no emergency file was written" \
    '! ls -a "$h1" /tmp | grep -Eq "\.save$|^nano\.save"'
e2e_ok "the editor's lease ended" \
    'e2e_wait 5 e2e_status_is .pty_pool.leased 0'
e2e_ok "the broker counts no sessions" 'e2e_wait 5 e2e_status_is .connection_pool.active 0'
e2e_done
