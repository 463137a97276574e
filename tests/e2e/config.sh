#!/bin/bash
# The configuration reader on awkward files. Each file either loads or is
# refused with file:line: `--test-config` exits 0 or 78; sent to a running
# broker with SIGHUP, a bad one is logged and ignored while the broker
# stays up with the bounds it had. And while the file on disk has errors,
# a player still logs in through real ssh and plays.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init config
install -m 755 "$DG_BUILDDIR/tests/tools/dg-testgame" "$T/bin/dg-testgame"
e2e_user 1

# The [broker] lines every file starts with (lines 1 to 5).
hdr() {
	printf '[broker]\nsocket = %s\nsocket_group = %s\nadmin_group = %s\nlog_level = debug\n' \
	    "$SOCK" "$E2E_GROUP" "$E2E_ADMIN_GROUP"
}

# The test game, for the files that keep it on the menu, recorded into
# the test's own directory (and load shedding reading calm files, so
# that the machine's load sheds no one).
e2e_calm_load
game() {
	printf '[game:echo]\nname = Echo\nkey = t\ncommand = %s alloc 1\n' \
	    "$T/bin/dg-testgame"
	printf '[load_shedding]\nstat_file = %s\nmeminfo_file = %s\n' \
	    "$T/calm.stat" "$T/calm.meminfo"
	printf '[recording]\ndir = %s/rec\n' "$T"
}

long() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }

# Write case $1 to file $2. Good cases set max_connections and max_ptys
# to a value of their own, so a reload shows that it took.
write_case() {
	local name=$1 f=$2 i
	rm -f "$f"
	if [ "$name" = fifo ]; then
		mkfifo -m 644 "$f"
		return
	fi
	case $name in
	# Good files.
	indented)	{ hdr; printf '[connection_pool]\nmax_connections = 11\n   [limits]\n\tmax_ptys = 41\n'; game; } ;;
	bom)		{ printf '\xef\xbb\xbf'; hdr; printf '[connection_pool]\nmax_connections = 12\n[limits]\nmax_ptys = 42\n'; game; } ;;
	crlf)		{ hdr; printf '[connection_pool]\nmax_connections = 13\n[limits]\nmax_ptys = 43\n'; game; } | sed 's/$/\r/' ;;
	comments)	{ hdr; printf '# hash\n  ; indented\n[connection_pool]   ; pool\nmax_connections = 14   ; fourteen\n[limits] # system\nmax_ptys = 44\t# tab\n'; game; } ;;
	empty_sections)	{ hdr; printf '[alerts]\n[worker_pool]\n[connection_pool]\nmax_connections = 15\n[limits]\nmax_ptys = 45\n[quota:gold]\n'; game; } ;;
	only_comments)	{ hdr; printf '; nothing but comments from here\n#\n\n   \n'; game; } ;;
	# Bad files, each with its first error's line.
	unknown_empty)	{ hdr; printf '[connection_pool]\nmax_connections = 20\n[bogus]\n'; } ;;
	section_60)	{ hdr; printf '[%s]\n' "$(long 60)"; } ;;
	section_250)	{ hdr; printf '[%s]\nkey = 1\n' "$(long 250)"; } ;;
	game_id_60)	{ hdr; printf '[game:%s]\ncommand = /bin/true\n' "$(long 60)"; } ;;
	nul)		{ hdr; printf '[limits]\nmax_ptys = 4\0 0\n'; } ;;
	long_line)	{ hdr; printf '; %s\n' "$(long 5000 x)"; } ;;
	outside)	{ printf 'log_level = debug\n'; hdr; } ;;
	twice)		{ hdr; printf '[connection_pool]\nmax_connections = 21\nmax_connections = 22\n'; } ;;
	header_junk)	{ hdr; printf '[limits] junk\nmax_ptys = 5\n'; } ;;
	bad_utf8)	{ hdr; printf '; caf\xe9\n'; } ;;
	empty_game)	{ hdr; printf '[game:x]\n'; } ;;
	continuation)	{ hdr; printf '[connection_pool]\nmax_connections = 23\n   more text\n'; } ;;
	bad_value)	{ hdr; printf '[connection_pool]\nmax_connections = lots\n'; } ;;
	unread_key)	{ hdr; printf '[broker]\nstate_dir = /var/lib/dungeongate\n'; } ;;
	many_errors)	{ hdr; for i in $(seq 150); do echo "junk $i"; done; } ;;
	huge)		{ hdr; long 1100000 ';'; echo; } ;;
	esac >"$f"
	chmod 644 "$f"
}

# What each case gives: "ok MAXCONN MAXPTYS" or "LINE: message" (LINE
# empty for problems with the file as a whole, such as its size).
declare -A WANT=(
	[indented]="ok 11 41"
	[bom]="ok 12 42"
	[crlf]="ok 13 43"
	[comments]="ok 14 44"
	[empty_sections]="ok 15 45"
	[only_comments]="ok 1000 500"
	[unknown_empty]="8: [bogus]: unknown section"
	[section_60]="6: [aaaaaaaaaa"
	[section_250]="6: [aaaaaaaaaa"
	[game_id_60]="6: [game:aaaaaaaaaa"
	[nul]="7: NUL byte"
	[long_line]="6: line longer than 4096 bytes"
	[outside]="1: log_level: key outside any [section]"
	[twice]="8:connection_pool.max_connections: set twice"
	[header_junk]="6: unexpected \"junk\""
	[bad_utf8]="6: invalid UTF-8"
	[empty_game]="6:game:x.command: missing"
	[continuation]="8: expected [section]"
	[bad_value]="7:connection_pool.max_connections: bad value"
	[unread_key]="7:broker.state_dir: unknown key"
	[many_errors]="106: too many errors"
	[huge]=" larger than 1048576 bytes"
	[fifo]=" not a regular file"
)
# The log quotes the errors up to a bound: it shows the first of many.
declare -A LOG_WANT=([many_errors]="6: expected")
CASES="indented bom crlf comments empty_sections only_comments unknown_empty
	section_60 section_250 game_id_60 nul long_line outside twice
	header_junk bad_utf8 empty_game continuation bad_value unread_key
	many_errors huge fifo"

# At startup: --test-config exits 0, or 78 naming file:line.
for c in $CASES; do
	f="$T/$c.ini"
	write_case "$c" "$f"
	out=$(timeout 10 "$BROKER" --test-config -f "$f" 2>&1); rc=$?
	want=${WANT[$c]}
	if [ "${want%% *}" = ok ]; then
		e2e_eq "$c: --test-config accepts it" "$rc" 0
		e2e_match "$c: max_connections read" "$out" "^max_connections = $(echo "$want" | cut -d' ' -f2)$"
		e2e_match "$c: max_ptys read" "$out" "^max_ptys = $(echo "$want" | cut -d' ' -f3)$"
	else
		e2e_eq "$c: --test-config refuses it with 78" "$rc" 78
		e2e_ok "$c: error names $f:${want%%:*}:" \
		    'grep -qF -- "$f:$want" <<<"$out"'
		e2e_nomatch "$c: no fatal exit" "$out" 'msg=fatal'
	fi
done
: >"$T/empty.ini"
"$BROKER" --test-config -f "$T/empty.ini" >/dev/null
e2e_eq "an empty file is a working configuration" "$?" 0
printf '; only\n# comments\n' >"$T/comments.ini"
"$BROKER" --test-config -f "$T/comments.ini" >/dev/null
e2e_eq "so is a file of only comments" "$?" 0
out=$(timeout 10 "$BROKER" -D -f "$T/nul.ini" 2>&1); rc=$?
e2e_eq "the broker will not start on a bad file" "$rc" 78
e2e_match "and says where" "$out" "^$T/nul.ini:7: NUL byte"

# A running broker on a plain file, then each file sent to it with SIGHUP.
{ hdr; printf 'user = %s\n[connection_pool]\nmax_connections = 10\n[limits]\nmax_ptys = 40\n' \
    "$E2E_BROKER_USER"; game; } >"$CONF"
chmod 644 "$CONF"
e2e_broker_start
e2e_sshd_start
# The admin commands find the broker through a file that stays good.
hdr > "$T/admin.ini"

bounds() {
	"$BROKER" --status -f "$T/admin.ini" 2>/dev/null |
	    jq -r '"\(.connection_pool.max) \(.pty_pool.max)"'
}
count() { grep -c -- "$1" "$T/broker.log"; }
OK_MSG='msg="configuration reloaded"'
BAD_MSG='msg="reload failed; keeping the running configuration"'

# Send SIGHUP and wait for the reload it starts to be logged, either
# way; a broker that exits on it ends the test.
reload() {
	local ok bad
	ok=$(count "$OK_MSG")
	bad=$(count "$BAD_MSG")
	kill -HUP "$BROKER_PID"
	e2e_wait 15 bash -c "[ \$(grep -c -- '$OK_MSG' '$T/broker.log') -gt $ok ] ||
	    [ \$(grep -c -- '$BAD_MSG' '$T/broker.log') -gt $bad ]" && return 0
	kill -0 "$BROKER_PID" 2>/dev/null ||
	    e2e_die "the broker exited on a reload: $(tail -3 "$T/broker.log")"
	return 1
}

running="10 40"
e2e_eq "the first file is in force" "$(bounds)" "$running"

# While a file with errors all over ([broker] too, but not its socket)
# is on disk, the broker keeps its configuration and players play.
{
	hdr
	printf 'state_dir = /var/lib/dungeongate\nsockt = /typo.sock\n'
	printf '[limits]\nmax_ptys = lots\n[bogus]\n[connection_pool]\n'
	printf 'max_connections = 3 0\n; caf\xe9\n[game:echo]\n'
} >"$CONF"
bad=$(count "$BAD_MSG")
reload
e2e_eq "the file with errors is refused" "$(count "$BAD_MSG")" $((bad + 1))
e2e_eq "the bounds stay" "$(bounds)" "$running"
out=$("$BROKER" --status -f "$CONF" 2>/dev/null | jq -r .connection_pool.max)
e2e_eq "--status works through the bad file" "$out" 10
e2e_ssh_term a "$U1"
e2e_expect_screen "the player gets the menu" a 'Your choice'
e2e_expect_screen "with the running configuration's game" a 't\) Echo'
e2e_keys a t
e2e_expect_screen "the game runs" a 'allocated 1 MB'
e2e_keys a q
e2e_ok "the game ended normally" \
    'e2e_wait 10 grep -q "msg=\"game ended\" user=$U1 .*game=echo reason=exit status=0" "$T/broker.log"'
e2e_expect_screen "back at the menu" a 'Your choice'
e2e_keys a q
e2e_expect_screen "and out" a 'Goodbye from DungeonGate' 10
e2e_nomatch "the session never called it misconfigured" "$(e2e_screen a)" 'misconfigured'

# Each case, sent to the running broker.
for c in $CASES; do
	write_case "$c" "$CONF"
	want=${WANT[$c]}
	bad=$(count "$BAD_MSG")
	e2e_ok "$c: reload logged" reload
	if [ "${want%% *}" = ok ]; then
		e2e_eq "$c: reloaded, not refused" "$(count "$BAD_MSG")" "$bad"
		running=${want#ok }
		e2e_eq "$c: its bounds in force" "$(bounds)" "$running"
		continue
	fi
	want=${LOG_WANT[$c]:-$want}
	line=$(grep -F -- "$BAD_MSG" "$T/broker.log" | tail -1)
	e2e_ok "$c: refusal names $CONF:${want%%:*}:" \
	    'grep -qF -- "$CONF:${want%%\"*}" <<<"$line"'
	e2e_ok "$c: broker still running" 'kill -0 "$BROKER_PID"'
	e2e_eq "$c: bounds unchanged" "$(bounds)" "$running"
	if [ "${want:0:1}" = " " ]; then
		# A file that cannot be read gives no socket either.
		out=$("$BROKER" --check -f "$T/admin.ini" 2>&1); rc=$?
		e2e_eq "$c: --check answers" "$rc" 0
		e2e_match "$c: --check reaches the broker" "$out" '^broker: healthy'
	else
		out=$("$BROKER" --check -f "$CONF" 2>&1); rc=$?
		e2e_eq "$c: --check answers, degraded by the file" "$rc" 1
		e2e_match "$c: --check reaches the broker" "$out" '^broker: healthy'
		e2e_match "$c: --check names the file" "$out" \
		    "^config: degraded \($CONF has errors; a reload or restart would fail\)$"
	fi
done
e2e_nomatch "no fatal exit in the broker's log" "$(cat "$T/broker.log")" 'msg=fatal'
e2e_done
