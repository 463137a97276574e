#!/bin/bash
# NetHack's ways out stay closed. The game's environment names a shell,
# a mail reader, a mailbox, editors and pagers that lead nowhere, and the
# admin's env lines cannot change that. Even with a sysconf that lets
# every player use ! and ^Z (the admin's worst case), a player with the
# mail option gets no mail daemon when their mailbox fills, ! starts no
# shell and ^Z does not leave the game.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init escape
e2e_config "[game:nethack]
name = NetHack 3.6
key = p
command = /usr/games/nethack -u %u
rcfile = .nethackrc
env = NETHACKOPTIONS=@%h/.nethackrc
env = SHELL=/bin/sh
env = MAILREADER=/bin/sh
env = MAIL=/var/mail/%u
env = PAGER=/bin/more
env = DG_ESCAPE_TEST=kept"
e2e_broker_start
e2e_user 1
MBOX="/var/mail/$U1"
home="$T/home/$U1"

# The mailbox this test writes is outside $T: remove it on every exit.
escape_cleanup() {
	local rc=$?
	rm -f "$MBOX"
	(exit "$rc")
	e2e_cleanup
}
trap escape_cleanup EXIT

# The premise of the audit in the README: the installed NetHack starts
# other programs only through execl and execv (its shell, its mail
# reader, gzip), never through a shell command line.
nhbin=/usr/lib/games/nethack/nethack-console
[ -x "$nhbin" ] || e2e_die "no $nhbin (nethack-console is needed)"
syms=$(objdump -T "$nhbin" 2>/dev/null | awk '{print $NF}')
e2e_match "NetHack's symbols were read" "$syms" '^execl$'
e2e_nomatch "NetHack runs no command lines (popen, system, posix_spawn)" \
    "$syms" '^(popen|system|posix_spawnp?|execlp|execvp|execvpe|backtrace)$'

# An admin's sysconf that opens ! and ^Z to everyone, seen only by this
# test's sshd and what it starts: a private mount namespace puts it over
# /etc/nethack/sysconf, so the system's file and other tests see nothing.
{ cat /etc/nethack/sysconf; echo 'SHELLERS=*'; } > "$T/sysconf"
chmod 644 "$T/sysconf"
unshare -m --propagation private true 2>/dev/null ||
    e2e_die "needs a private mount namespace (unshare -m) for the test sysconf"
for try in 1 2 3 4 5; do
	PORT=$(e2e_port)
	dg_sshd_config "$T/sshd" "$PORT" "$E2E_GROUP" \
	    "$SESSION -f $CONF" "$T/authorized_keys/%u" \
	    "SetEnv ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS" ||
	    e2e_die "sshd configuration"
	unshare -m --propagation private -- sh -c \
	    'mount --bind "$1" /etc/nethack/sysconf && exec /usr/sbin/sshd -D -e -f "$2"' \
	    sh "$T/sysconf" "$T/sshd/sshd_config" >>"$T/sshd.log" 2>&1 &
	SSHD_PID=$!
	E2E_PIDS="$E2E_PIDS $SSHD_PID"
	if e2e_wait 10 bash -c "kill -0 $SSHD_PID 2>/dev/null &&
	    exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null &&
	    kill -0 "$SSHD_PID" 2>/dev/null; then
		break
	fi
	wait "$SSHD_PID" 2>/dev/null
	SSHD_PID=
done
[ -n "$SSHD_PID" ] || e2e_die "sshd did not listen: $(tail -5 "$T/sshd.log")"
e2e_match "the test's sshd sees the test sysconf" \
    "$(grep '^SHELLERS' "/proc/$SSHD_PID/root/etc/nethack/sysconf")" '^SHELLERS=\*$'
e2e_nomatch "the system's sysconf is untouched" \
    "$(grep '^SHELLERS' /etc/nethack/sysconf)" 'SHELLERS'

# The player asks for mail (on in NetHack 3.6 anyway) and a fixed,
# sturdy hero, so that 110 turns of searching (and fighting what comes)
# are safe.
cat > "$home/.nethackrc" <<'RC'
OPTIONS=mail,time,number_pad:0,!autopickup,!legacy
OPTIONS=role:Valkyrie,race:human,gender:female,align:lawful
RC
chown "$U1:" "$home/.nethackrc"
chmod 600 "$home/.nethackrc"
rm -f "$MBOX"

# The turn counter on NetHack's status line.
escape_turn() {
	e2e_screen w | grep -oE 'T:[0-9]+' | tail -1 | cut -d: -f2
}

# The player's processes, one pid a line.
escape_pids() { ps -o pid= -u "$U1" | tr -d ' ' | sort; }

# The player's processes that were not in the list $1, with their names.
escape_new_pids() {
	local pid
	for pid in $(comm -13 <(printf '%s\n' "$1") <(escape_pids)); do
		printf '%s(%s) ' "$pid" "$(ps -o comm= -p "$pid")"
	done
}

# Has the screen changed from $1?
escape_screen_moved() { [ "$(e2e_screen w)" != "$1" ]; }

# Has the turn counter passed $1?
escape_turn_past() {
	local t
	t=$(escape_turn)
	[ -n "$t" ] && [ "$t" -gt "$1" ]
}

# The direction key (yku h l bjn) of a monster next to the hero on
# screen $1 that is safe to fight, or nothing: a letter but the kitten
# (f), a floating eye (e) and molds (F), an I where one was unseen, or
# : ; & ' (newts and lizards, eels, demons, golems).
escape_foe_dir() {
	printf '%s\n' "$1" | awk -v foes="[A-Za-z:;&']" '
	NR >= 2 && NR <= 22 {
		row[NR] = $0
		if (!r && (c = index($0, "@")) > 0) { r = NR; col = c }
	}
	END {
		if (!r)
			exit
		split("y k u h l b j n", key, " ")
		split("-1 -1 -1 0 0 1 1 1", dr, " ")
		split("-1 0 1 -1 1 -1 0 1", dc, " ")
		for (i = 1; i <= 8; i++) {
			if (col + dc[i] < 1)
				continue
			ch = substr(row[r + dr[i]], col + dc[i], 1)
			if (ch ~ foes && ch !~ /[feF]/) {
				print key[i]
				exit
			}
		}
	}'
}

# Search until the turn counter reaches $1 (or $2 seconds pass), fighting
# what comes next to the hero (searching does not fight back) and
# answering --More--; every screen seen is kept in $T/screens.
escape_pass_turns() {
	local until=$1 end=$(( $(date +%s) + $2 )) s t dir
	while [ "$(date +%s)" -lt "$end" ]; do
		s=$(e2e_screen w)
		printf '%s\n' "$s" >> "$T/screens"
		if printf '%s\n' "$s" | grep -Eq 'You die|possessions identified'; then
			e2e_die "the hero died at turn $(escape_turn): $s"
		fi
		t=$(printf '%s\n' "$s" | grep -oE 'T:[0-9]+' | tail -1 | cut -d: -f2)
		[ -n "$t" ] && [ "$t" -ge "$until" ] && return 0
		if printf '%s\n' "$s" | grep -q -- '--More--'; then
			e2e_keys w Enter
		elif printf '%s\n' "$s" | grep -q 'Really attack'; then
			e2e_keys w y
		elif dir=$(escape_foe_dir "$s") && [ -n "$dir" ]; then
			e2e_keys w F "$dir"
		else
			e2e_keys w 2 0 s
		fi
		e2e_wait 5 escape_screen_moved "$s"
	done
	return 1
}

# Go on searching until the turn counter passes $1 (10 seconds at most),
# answering --More--: does the game still take commands?
escape_advance() {
	local end=$(( $(date +%s) + 10 )) s
	while [ "$(date +%s)" -lt "$end" ]; do
		escape_turn_past "$1" && return 0
		s=$(e2e_screen w)
		if printf '%s\n' "$s" | grep -q -- '--More--'; then
			e2e_keys w Enter
		else
			e2e_keys w s
		fi
		e2e_wait 2 escape_screen_moved "$s"
	done
	return 1
}

# Into the game: answer what NetHack asks until the first level shows.
# The client sends a hundred made-up LC_ names besides a real one: they
# must crowd nothing out of the game's environment.
flood=$(for a in A B C D E F G H I J; do for b in A B C D E F G H I J; do
	printf 'LC_DG%s%s=C ' "$a" "$b"; done; done)
e2e_term w "env $flood LC_TIME=C $(e2e_ssh_cmd "$U1") '-oSendEnv=LC_*' -t"
e2e_wait_screen w 'Your choice' || e2e_die "no menu: $(e2e_screen w)"
e2e_keys w p
end=$(( $(date +%s) + 40 ))
while ! e2e_screen_has w 'T:[0-9]+' || e2e_screen_has w '--More--'; do
	[ "$(date +%s)" -lt "$end" ] || e2e_die "NetHack never showed level 1: $(e2e_screen w)"
	s=$(e2e_screen w)
	if printf '%s\n' "$s" | grep -Eq 'Shall I pick|Is this ok\?'; then
		e2e_keys w y
	elif printf '%s\n' "$s" | grep -Eq -- '--More--|Hit return'; then
		e2e_keys w Enter
	fi
	e2e_wait 2 escape_screen_moved "$s"
done
e2e_pass "NetHack started at level 1"

# The game is the child of this player's dg-session, as the broker knows it.
sess=$(e2e_sessions "$U1" | awk '$2 == "playing" {print $1; exit}')
[ -n "$sess" ] || e2e_die "the broker has no game of $U1"
nh=$(pgrep -P "$sess" | head -1)
e2e_eq "the game is NetHack" "$(ps -o comm= -p "${nh:-0}")" nethack-console
env=$(tr '\0' '\n' < "/proc/$nh/environ")
for want in SHELL=/bin/false MAILREADER=/bin/false MAIL=/dev/null \
    EDITOR=/bin/false VISUAL=/bin/false PAGER=/bin/false \
    BROWSER=/bin/false LESSSECURE=1; do
	e2e_eq "game's environment has $want, once" \
	    "$(printf '%s\n' "$env" | grep "^${want%%=*}=" | tr '\n' ' ')" "$want "
done
e2e_match "the admin's other env lines still reach the game" "$env" '^DG_ESCAPE_TEST=kept$'
e2e_match "a real locale variable reaches the game" "$env" '^LC_TIME=C$'
e2e_nomatch "made-up LC_ names do not" "$env" '^LC_DG'
e2e_match "the player's options file is the one in use" "$env" "^NETHACKOPTIONS=@$home/.nethackrc\$"

# Mail: the default mailbox fills during play. NetHack looks every 50
# turns; 110 turns after the letter give it at least two looks.
t0=$(escape_turn)
printf 'From root  Thu Jan  1 00:00:00 2026\nSubject: hello\n\nYou have mail.\n' > "$MBOX"
chown "$U1:mail" "$MBOX"
chmod 660 "$MBOX"
e2e_ok "the mailbox has a letter" 'test -s "$MBOX"'
if escape_pass_turns $((t0 + 110)) 180; then
	e2e_pass "passed 110 turns after the letter (turn $(escape_turn))"
else
	e2e_fail "could not pass 110 turns after turn $t0 (at $(escape_turn))"
fi
e2e_nomatch "no mail daemon came" "$(cat "$T/screens")" \
    'mail for you|[Mm]ail daemon|stamped scroll|scroll of mail'
e2e_nethack_more w
e2e_keys w i
e2e_wait 5 e2e_screen_has w '\(end\)|Weapons|Armor'
e2e_nomatch "no mail in the inventory" "$(e2e_screen w)" 'stamped|mail'
e2e_keys w Escape
rm -f "$MBOX"

# ! runs $SHELL: the game comes back at once and nothing new runs.
e2e_nethack_more w
before=$(escape_pids)
t=$(escape_turn)
e2e_keys w '!'
e2e_ok "after !, the game takes the next command" 'escape_advance "$t"'
e2e_nomatch "after !, no shell prompt took the keys" "$(e2e_screen w)" '^[$#] s|not found'
e2e_eq "after !, no new process of the player" "$(escape_new_pids "$before")" ""

# ^Z: the game does not stop, and no shell takes the terminal.
t=$(escape_turn)
e2e_keys w C-z
e2e_ok "after ^Z, the game takes the next command" 'escape_advance "$t"'
e2e_nomatch "after ^Z, the game is not stopped" \
    "$(awk '{print $3}' "/proc/$nh/stat" 2>/dev/null)" '^[Tt]$'
e2e_nomatch "after ^Z, no shell prompt took the keys" "$(e2e_screen w)" '^[$#] s|not found|Stopped'
e2e_eq "after ^Z, no new process of the player" "$(escape_new_pids "$before")" ""

# The game saves and the session goes back to the menu, then quits.
e2e_nethack_more w
e2e_nethack_save w
e2e_expect_screen "the game saved, back at the menu" w 'Your choice' 20
e2e_keys w q
e2e_expect_screen "quit exits 0" w '^\[exit 0\]' 10
e2e_done
