#!/bin/bash
# Recordings through a real sshd: every game written as ttyrec by the
# broker's user, byte for byte what the player received, with real times;
# played by Debian's ttyplay and termplay as it is; replayed from the menu
# to the last screen; private unless [recording] public; compressed when
# asked; a directory that cannot be written stops the recording, not the
# game.
. "$DG_SRCDIR/tests/e2e/lib.sh"
GAME="$DG_BUILDDIR/tests/tools/dg-testgame"
TTYREC="$DG_BUILDDIR/tests/tools/dg-ttyrec"
INI="[quota:default]
max_bandwidth = 1MB/s
[game:chaos]
name = Chaos
key = c
command = $GAME chaos 2
[game:box]
name = Box
key = b
command = $GAME box
[game:more]
name = More chaos
key = m
command = $GAME chaos 14"
e2e_init record
REC="$T/rec"
e2e_config "[recording]
dir = $REC
$INI"
e2e_broker_start
e2e_user 1
e2e_user 2
e2e_sshd_start

# Everything the player's terminal receives, as it comes.
e2e_ssh_term p1 "$U1"
e2e_tmux pipe-pane -t p1 -o "cat >> $T/p1.raw"
e2e_wait_screen p1 'Your choice' || e2e_die "no menu: $(e2e_screen p1)"
e2e_expect_screen "the menu offers recordings" p1 'r\) Recordings' 5
start=$(date +%s)
e2e_keys p1 c
e2e_expect_screen "chaos runs" p1 'chaos: resize me' 30
e2e_keys p1 x
e2e_expect_screen "chaos writes its 2 MB" p1 'chaos done: 80x24' 60
last=$(e2e_tmux capture-pane -p -e -t p1)
e2e_keys p1 q
e2e_expect_screen "back at the menu" p1 'Your choice' 10
finished() { grep -q "msg=\"recording finished\" user=$U1 game=chaos" "$T/broker.log"; }
e2e_ok "the recording is finished when the game ends" 'e2e_wait 10 finished'
# The broker stamps what it takes in: its last bytes may come after the
# player's menu, never after the recording is finished.
end=$(date +%s)

# Where and whose it is.
f=$(ls "$REC/$U1/chaos/"*.ttyrec 2>/dev/null | head -1)
e2e_match "named <dir>/<user>/<game>/<YYYY-MM-DD.HH:MM:SS>.ttyrec" "$f" \
    "^$REC/$U1/chaos/[0-9]{4}-[0-9]{2}-[0-9]{2}\\.[0-9]{2}:[0-9]{2}:[0-9]{2}\\.ttyrec\$"
named=$(date -u -d "$(basename "$f" .ttyrec | sed 's/\./ /')Z" +%s)
e2e_ok "the time in the name is the game's start, in UTC" \
    '[ "$named" -ge $((start - 1)) ] && [ "$named" -le "$end" ]'
e2e_eq "owned by the broker's user, mode 0640" "$(stat -c '%U %a' "$f")" "$E2E_BROKER_USER 640"
e2e_eq "its directories are 0750" "$(stat -c '%a' "$REC/$U1" "$REC/$U1/chaos" | tr '\n' ' ')" "750 750 "
e2e_ok "the player cannot change it" '! su -s /bin/sh "$U1" -c "echo x >> $f" 2>/dev/null'
e2e_ok "nor read it" '! su -s /bin/sh "$U1" -c "cat $f" >/dev/null 2>&1'

# Byte for byte what the player received, with real times.
out=$("$TTYREC" check "$f")
e2e_match "every record whole, times in order" "$out" '^records [0-9]+ bytes [0-9]+ first [0-9]+ last [0-9]+$'
read -r _ records _ bytes _ first _ final <<< "$out"
e2e_ok "over 2 MB in $records records" '[ "$bytes" -gt 2000000 ]'
e2e_ok "real times, within the game ($first..$final in $start..$end)" \
    '[ "$first" -ge "$start" ] && [ "$final" -le "$end" ] && [ "$final" -gt "$first" ]'
"$TTYREC" payload "$f" > "$T/payload"
e2e_ok "the payload is what the player's terminal received, in one piece" \
    '"$TTYREC" contains "$T/p1.raw" "$T/payload"'
e2e_eq "and as the broker counted it" "$(stat -c %s "$T/payload")" \
    "$(grep "msg=\"recording finished\" user=$U1 game=chaos" "$T/broker.log" | sed 's/.*bytes=//')"

# It plays in Debian's ttyplay and termplay as it is.
e2e_ok "ttyplay -n gives the payload" 'cmp -s <(ttyplay -n "$f") "$T/payload"'
screen_e() { e2e_tmux capture-pane -p -e -t "$1"; }
shows_last() { [ "$(screen_e "$1")" = "$last" ]; }
e2e_term tp "ttyplay -n $f; exec sleep 100000"
e2e_ok "ttyplay reaches the player's last screen" 'e2e_wait 20 shows_last tp'
e2e_term tr "termplay -s 100 $f"
e2e_ok "termplay reaches it too" 'e2e_wait 30 shows_last tr'

# Replay from the menu: the last screen, below the end notice.
e2e_keys p1 r
e2e_expect_screen "menu r lists the recording" p1 \
    "a\\) $U1 +chaos +[0-9-]+ [0-9:]+ +[0-9.]+[KM]B" 10
e2e_keys p1 a
e2e_expect_screen "the replay reaches its end" p1 'End of the recording: q goes back' 60
below() { e2e_tmux capture-pane -p -e -t "$1" | tail -n +2; }
e2e_eq "the replay shows the player's last screen" "$(below p1)" "$(printf '%s\n' "$last" | tail -n +2)"
e2e_keys p1 q
e2e_expect_screen "q goes back to the list" p1 'a\) .* chaos' 10
e2e_keys p1 a
# The replay takes the game's own two seconds: pause it as it starts.
off_list() { ! e2e_screen_has p1 'recordings, newest first'; }
e2e_ok "a replay starts again" 'e2e_wait 10 off_list'
e2e_keys p1 ' '
e2e_expect_screen "space pauses" p1 'Paused: space goes on' 10
e2e_keys p1 +
e2e_expect_screen "+ goes faster" p1 'Speed x2' 10
e2e_keys p1 - -
e2e_expect_screen "- goes slower" p1 'Speed x0.5' 10
e2e_keys p1 i
e2e_expect_screen "i plays idle gaps in full" p1 'Idle gaps played in full' 10
e2e_keys p1 q
e2e_expect_screen "q stops the replay" p1 'recordings, newest first' 10
e2e_keys p1 q
e2e_expect_screen "and q the list" p1 'Your choice' 10

# Others' recordings are private by default, and public when so set.
e2e_ssh_term p2 "$U2"
e2e_wait_screen p2 'Your choice' || e2e_fail "no menu for the second player"
e2e_keys p2 r
e2e_expect_screen "another player sees none of them" p2 'no recordings yet' 10
file=$(basename "$f")
out=$(su -s /bin/sh "$U2" -c "$DG_BUILDDIR/tests/tools/dg-wire $SOCK -t 3000 \
    -j '{\"type\":\"hello\",\"version\":1,\"client\":\"session\"}' -c \
    -j '{\"type\":\"replay\",\"user\":\"$U1\",\"game\":\"chaos\",\"file\":\"$file\"}' -c")
e2e_match "nor may replay one" "$(printf '%s\n' "$out" | grep -v '"type":"ticket"')" \
    'private on this server.*"reason":"forbidden"'
out=$(su -s /bin/sh "$U2" -c "$DG_BUILDDIR/tests/tools/dg-wire $SOCK -t 3000 \
    -j '{\"type\":\"hello\",\"version\":1,\"client\":\"session\"}' -c \
    -j '{\"type\":\"replay\",\"user\":\"$U2\",\"game\":\"chaos\",\"file\":\"../../$U1/chaos/$file\"}' -c")
e2e_match "a path in a name is a bad message" "$out" '"reason":"bad_message"'
e2e_config "[recording]
dir = $REC
public = true
compress = gzip
$INI"
e2e_ok "public and gzip reloaded" e2e_reload
e2e_keys p2 q
e2e_keys p2 r
e2e_expect_screen "with public on, others' recordings are listed" p2 "a\\) $U1 +chaos" 10
e2e_keys p2 a
e2e_expect_screen "and play" p2 'End of the recording' 60
e2e_eq "to the same last screen" "$(below p2)" "$(printf '%s\n' "$last" | tail -n +2)"
e2e_keys p2 q q

# Compressed when finished, and still replayed.
e2e_keys p1 b
e2e_expect_screen "the box game runs" p1 'box$' 10
e2e_keys p1 q
e2e_expect_screen "and ends" p1 'Your choice' 10
gz() { ls "$REC/$U1/box/"*.ttyrec.gz >/dev/null 2>&1; }
e2e_ok "a finished recording is compressed" 'e2e_wait 10 gz'
g=$(ls "$REC/$U1/box/"*.ttyrec.gz | head -1)
e2e_ok "nothing uncompressed is left beside it" '[ -z "$(ls "$REC/$U1/box/" | grep -v "\\.gz$")" ]'
e2e_match "the compressed one holds the game" "$("$TTYREC" payload "$g" | tr -d '\033' )" 'box'
e2e_match "byte for byte, the title it set included" "$("$TTYREC" payload "$g" | tr -d '\033\007')" \
    '\]2;dg-title-from-game'
e2e_term tz "termplay -s 100 $g"
e2e_expect_screen "termplay plays it compressed" tz 'box$' 20
e2e_keys p1 r
e2e_expect_screen "newest first" p1 "a\\) $U1 +box" 10
e2e_expect_screen "then the one before" p1 "b\\) $U1 +chaos" 5
e2e_keys p1 a
e2e_expect_screen "the compressed one replays" p1 'End of the recording' 30
e2e_keys p1 q q

# A directory that cannot be made stops the recording, not the game.
touch "$T/notadir"
e2e_config "[recording]
dir = $T/notadir/rec
$INI"
e2e_ok "an unwritable directory reloaded" e2e_reload
e2e_keys p1 b
e2e_expect_screen "the game starts anyway" p1 'box$' 10
stopped() { grep -q "msg=\"recording stopped; the game goes on\" user=$U1 game=box" "$T/broker.log"; }
e2e_ok "the error is logged" 'e2e_wait 10 stopped'
e2e_match "naming the path" "$(grep 'recording stopped' "$T/broker.log" | tail -1)" "notadir/rec"
e2e_ok "and counted" '[ "$(e2e_status | jq -r .violations.recording)" -ge 1 ]'
e2e_keys p1 q
e2e_expect_screen "the game goes on to its end" p1 'Your choice' 10

# A disk that fills up: a small tmpfs, where mounting one is allowed.
mkdir -p "$T/small"
if mount -t tmpfs -o size=256k tmpfs "$T/small" 2>/dev/null; then
	trap '_rc=$?; umount "$T/small" 2>/dev/null; (exit $_rc); e2e_cleanup' EXIT
	e2e_config "[recording]
dir = $T/small
$INI"
	e2e_ok "a small disk reloaded" e2e_reload
	before=$(e2e_status | jq -r .violations.recording)
	e2e_keys p1 c
	e2e_expect_screen "chaos on a small disk" p1 'chaos: resize me' 30
	e2e_keys p1 x
	e2e_expect_screen "the game writes all of it anyway" p1 'chaos done' 60
	e2e_match "the full disk is logged" "$(grep 'recording stopped' "$T/broker.log" | tail -1)" \
	    'No space left on device'
	e2e_ok "and counted" '[ "$(e2e_status | jq -r .violations.recording)" -gt "$before" ]'
	e2e_keys p1 q
	e2e_expect_screen "the game ends as usual" p1 'Your choice' 10
	umount "$T/small"
else
	e2e_log "no tmpfs may be mounted here: the full-disk case is left out"
fi

# A stopped broker is never waited for: the game writes on at the
# player's pace, and the copy past what the session holds (4 MB unsent,
# 1 MB queued) is dropped (the recording has a gap, counted).
e2e_config "[recording]
dir = $REC/stopped
$INI"
e2e_ok "recordings in a directory of their own" e2e_reload
e2e_keys p1 m
e2e_expect_screen "more chaos: 7 MB, then 7 MB more" p1 'chaos: resize me' 30
: > "$T/p1.raw"
kill -STOP "$BROKER_MAIN"
e2e_keys p1 x
e2e_expect_screen "with the broker stopped, the game writes all of it" p1 'chaos done' 60
kill -CONT "$BROKER_MAIN"
e2e_keys p1 q
e2e_expect_screen "and ends as usual" p1 'Your choice' 10
gapped() { grep -q "msg=\"recording finished\" user=$U1 game=more" "$T/broker.log"; }
e2e_ok "the broker, continued, finishes the recording" 'e2e_wait 10 gapped'
e2e_ok "and counts the gap" '[ "$(e2e_status | jq -r .violations.stream_gap)" -ge 1 ]'
got=$("$TTYREC" payload "$(ls "$REC/stopped/$U1/more/"*.ttyrec | head -1)" | wc -c)
shown=$(stat -c %s "$T/p1.raw")
e2e_ok "which lacks what the session dropped ($got bytes; $shown to the player after the stop)" \
    '[ "$shown" -gt 7000000 ] && [ "$got" -lt $((14 * 1024 * 1024 - 1000000)) ]'

e2e_keys p1 q
e2e_expect_screen "the player quits" p1 '^\[exit 0\]' 10
e2e_done
