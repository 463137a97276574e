#!/bin/bash
# The broker without root, and with systemd: started as root by hand it
# drops to [broker] user (uid, gid and groups in /proc), gives the socket
# and the directory it made to that user, and refuses to run on as root;
# given a socket as dg-broker.socket gives it (tests/tools/dg-sd stands
# in for systemd) it serves on it, leaves it in place when it stops so
# that a client connecting meanwhile waits in the backlog, and tells the
# service manager READY=1, STATUS=, RELOADING=1, WATCHDOG=1, STOPPING=1.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init systemd
e2e_user 1

# Refusals: a [broker] user that does not exist, or is root.
SOCK="$T/made/sub/broker.sock"
e2e_config
sed "s/^user = .*/user = nosuch$E2E_SUFFIX/" "$CONF" > "$T/nouser.ini"
out=$(timeout 10 "$BROKER" -D -f "$T/nouser.ini" 2>&1); rc=$?
e2e_eq "a missing [broker] user: the broker will not start" "$rc" 78
e2e_match "and says so" "$out" "\[broker\] user nosuch$E2E_SUFFIX does not exist"
sed 's/^user = .*/user = root/' "$CONF" > "$T/root.ini"
out=$(timeout 10 "$BROKER" -D -f "$T/root.ini" 2>&1); rc=$?
e2e_eq "[broker] user root: the broker will not start" "$rc" 78
e2e_match "and says why" "$out" 'does not run on as root'
e2e_ok "neither made a socket" '[ ! -e "$SOCK" ]'

# Started as root by hand: it binds, then runs as its user.
uid=$(id -u "$E2E_BROKER_USER")
"$BROKER" -D -f "$CONF" >>"$T/broker.log" 2>&1 &
BROKER_PID=$!
BROKER_MAIN=$BROKER_PID
E2E_PIDS="$E2E_PIDS $BROKER_PID"
e2e_wait 10 test -S "$SOCK" || e2e_die "broker did not start: $(tail -5 "$T/broker.log")"
e2e_ok "it runs as [broker] user, with its groups only" 'e2e_wait 5 e2e_broker_unprivileged'
e2e_match "uid in /proc" "$(grep '^Uid:' "/proc/$BROKER_PID/status")" \
    "^Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid$"
e2e_ok "it logged giving up root" 'grep -q "msg=\"gave up root\" user=$E2E_BROKER_USER uid=$uid" "$T/broker.log"'
e2e_eq "the socket is the user's and the players' group's, 0660" \
    "$(stat -c '%a %U %G' "$SOCK")" "660 $E2E_BROKER_USER $E2E_GROUP"
e2e_eq "the directory it made is the user's" "$(stat -c '%U' "$T/made/sub")" "$E2E_BROKER_USER"
e2e_eq "the directory above is not" "$(stat -c '%U' "$T/made")" root
out=$(su -s /bin/sh "$U1" -c "$BROKER --check -f $CONF"); rc=$?
e2e_eq "a player reaches it" "$rc" 0
e2e_broker_stop
e2e_eq "it stops cleanly" "$BROKER_STATUS" 0
e2e_ok "and, unprivileged, removes its socket" '[ ! -e "$SOCK" ]'

# As dg-broker.socket and dg-broker.service start it.
SOCK="$T/run/broker.sock"
e2e_config
sd_start() {
	: >"$T/notify.log"
	"$SD" -R -m 660 -g "$E2E_GROUP" -u "$E2E_BROKER_USER" \
	    -n "$T/notify.sock" -l "$T/notify.log" -w 1000000 \
	    -p "$T/broker.pid" -e ASAN_OPTIONS -e UBSAN_OPTIONS \
	    "$SOCK" "$BROKER" -D -f "$CONF" >>"$T/broker.log" 2>&1 &
	SD_PID=$!
	E2E_PIDS="$E2E_PIDS $SD_PID"
}
# Has READY=1 come after line $1 of the notifications?
ready_after() {
	[ -n "$(awk -v after="$1" 'NR > after && /^READY=1$/' "$T/notify.log")" ]
}
# Have at least $1 WATCHDOG=1 come?
watchdogs() { [ "$(grep -cx WATCHDOG=1 "$T/notify.log")" -ge "$1" ]; }
# The line number of the first notification matching $1 after line $2.
notified_after() {
	awk -v re="$1" -v after="$2" 'NR > after && $0 ~ re { print NR; exit }' "$T/notify.log"
}
sd_start
e2e_ok "READY=1 once it serves" 'e2e_wait 10 grep -qx READY=1 "$T/notify.log"'
BROKER_MAIN=$(cat "$T/broker.pid")
e2e_ok "as [broker] user" 'e2e_broker_unprivileged'
e2e_ok "with a one-line status" 'grep -qx "STATUS=0 of 1000 sessions, 0 queued, 0 games" "$T/notify.log"'
e2e_ok "on the socket it was given" 'grep -q "msg=\"listening on the socket systemd passed\"" "$T/broker.log"'
e2e_eq "which keeps the socket unit's owner, group and mode" \
    "$(stat -c '%a %U %G' "$SOCK")" "660 root $E2E_GROUP"
e2e_ok "no notification from another process" '! grep -q "^ignored" "$T/notify.log"'
e2e_ok "the watchdog is fed from the loop (WatchdogSec=1)" 'e2e_wait 5 watchdogs 3'
out=$(su -s /bin/sh "$U1" -c "$BROKER --check -f $CONF"); rc=$?
e2e_eq "a player reaches it" "$rc" 0

# A reload: RELOADING=1, then READY=1 again.
before=$(wc -l < "$T/notify.log")
kill -HUP "$SD_PID"
e2e_ok "RELOADING=1 on SIGHUP" 'e2e_wait 10 grep -qx RELOADING=1 "$T/notify.log"'
r=$(notified_after '^RELOADING=1$' "$before")
e2e_ok "then READY=1" 'e2e_wait 10 ready_after "${r:-999999}"'
e2e_ok "after the reload is logged" 'grep -q "configuration reloaded" "$T/broker.log"'

# Stopped: STOPPING=1, and the socket stays for the next broker.
kill -TERM "$BROKER_MAIN"
e2e_ok "the broker exits on SIGTERM" 'e2e_wait 30 e2e_gone "$BROKER_MAIN"'
e2e_ok "STOPPING=1" 'grep -qx STOPPING=1 "$T/notify.log"'
e2e_ok "the socket is left in place" '[ -S "$SOCK" ]'

# A client that connects while no broker runs waits in the backlog and
# is answered once the broker is back.
su -s /bin/sh "$U1" -c "$BROKER --check -f $CONF" > "$T/waiting.out" 2>&1 &
waiting=$!
E2E_PIDS="$E2E_PIDS $waiting"
# Connections waiting to be accepted on the listening socket (Recv-Q).
backlog_is() {
	[ "$(ss -xlH | awk -v p="$SOCK" '$5 == p { print $3 }')" = "$1" ]
}
e2e_ok "the client waits in the socket's backlog" 'e2e_wait 10 backlog_is 1'
e2e_ok "still running, with no answer yet" 'kill -0 "$waiting" && [ ! -s "$T/waiting.out" ]'
: >"$T/notify.log"
kill -USR2 "$SD_PID"
e2e_ok "the broker starts again on the same socket" 'e2e_wait 10 grep -qx READY=1 "$T/notify.log"'
BROKER_MAIN=$(cat "$T/broker.pid")
e2e_reap 15 "$waiting"
e2e_eq "the waiting client is answered" "$E2E_STATUS" 0
e2e_match "by the new broker" "$(cat "$T/waiting.out")" '^broker: healthy'
kill -TERM "$BROKER_MAIN"
e2e_wait 30 e2e_gone "$BROKER_MAIN" || e2e_fail "the second broker exits on SIGTERM"
kill -TERM "$SD_PID"
e2e_reap 10 "$SD_PID" || e2e_fail "dg-sd exits"

# A unit whose socket is not [broker] socket: refused, with both named.
"$SD" -m 660 -g "$E2E_GROUP" -u "$E2E_BROKER_USER" -e ASAN_OPTIONS \
    -e UBSAN_OPTIONS "$T/other.sock" "$BROKER" -D -f "$CONF" > "$T/other.out" 2>&1 &
other=$!
E2E_PIDS="$E2E_PIDS $other"
e2e_reap 10 "$other" || e2e_fail "the broker on the wrong socket exits"
e2e_ok "a socket elsewhere is refused" '[ "$E2E_STATUS" != 0 ]'
e2e_match "with both paths named" "$(cat "$T/other.out")" \
    "dg-broker.socket listens on $T/other.sock but \[broker\] socket is $SOCK"
e2e_done
