#!/bin/bash
# A player never reaches a shell: commands, sftp, scp and forwarding are
# refused, and a hostile TERM or command changes nothing.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup shell "" 1
home="$T/home/$U1"

# Commands: only the whitelist.
for cmd in 'bash' 'sh -c id' 'play nethack; sh' 'play nethack && id' \
    'play $(id)' 'play `id`' 'play nethack | sh' 'play ../../bin/sh' \
    'play nethack
id' '/bin/sh' 'exec sh' 'internal-sftp' 'list; id' 'watchroot' \
    "$(printf 'x%.0s' $(seq 300))"; do
	out=$(e2e_ssh "$U1" "" "$cmd" </dev/null 2>&1); rc=$?
	e2e_match "refused: $(printf '%s' "$cmd" | head -c 30 | tr '\n' ' ')" "$out" 'DungeonGate: unknown command'
	e2e_eq "exit 1 for: $(printf '%s' "$cmd" | head -c 30 | tr '\n' ' ')" "$rc" 1
	e2e_nomatch "no shell output" "$out" 'uid=[0-9]'
done

# `watch` takes a player's name and nothing else.
for cmd in 'watch root; id' 'watch $(id)' 'watch ../../bin/sh'; do
	out=$(e2e_ssh "$U1" "-tt" "$cmd" </dev/null 2>&1); rc=$?
	e2e_match "refused: $cmd" "$out" "is not a player's name"
	e2e_eq "exit 1 for: $cmd" "$rc" 1
	e2e_nomatch "no shell output" "$out" 'uid=[0-9]'
done

# A command with a terminal is refused the same way.
out=$(e2e_ssh "$U1" "-tt" 'sh' 2>&1); rc=$?
e2e_match "refused with a tty" "$out" 'unknown command "sh"'
e2e_eq "exit 1 with a tty" "$rc" 1

# No terminal: say how to connect.
out=$(e2e_ssh "$U1" "-T" </dev/null 2>&1); rc=$?
e2e_match "no tty explained" "$out" 'DungeonGate needs a terminal: connect with ssh -t'
e2e_eq "no tty exits 1" "$rc" 1
out=$(e2e_ssh "$U1" "-T" play nethack </dev/null 2>&1); rc=$?
e2e_match "play without tty explained" "$out" 'connect with ssh -t'

# sftp and scp: no file moves either way.
echo secret > "$T/upload"
out=$(printf 'put %s up\nls\n' "$T/upload" | timeout 30 sftp -P "$PORT" -i "$T/keys/$U1" \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
    -b - "$U1@127.0.0.1" 2>&1); rc=$?
e2e_ok "sftp fails" '[ "$rc" != 0 ]'
e2e_ok "sftp put nothing" '[ ! -e "$home/up" ]'
out=$(timeout 30 scp -P "$PORT" -i "$T/keys/$U1" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes "$T/upload" "$U1@127.0.0.1:up" 2>&1); rc=$?
e2e_ok "scp fails" '[ "$rc" != 0 ]'
out=$(timeout 30 scp -O -P "$PORT" -i "$T/keys/$U1" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes "$T/upload" "$U1@127.0.0.1:up" 2>&1); rc=$?
e2e_ok "legacy scp fails" '[ "$rc" != 0 ]'
e2e_ok "scp put nothing" '[ ! -e "$home/up" ]'
out=$(timeout 30 scp -P "$PORT" -i "$T/keys/$U1" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes "$U1@127.0.0.1:/etc/passwd" "$T/got" 2>&1); rc=$?
e2e_ok "scp download fails and fetches nothing" '[ "$rc" != 0 ] && [ ! -s "$T/got" ]'

# Is something listening on a port of 127.0.0.1?
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Local forwarding: the client's listener comes up, but the channel is
# refused and nothing reaches the target.
lport=$(e2e_port) || e2e_die "no free port"
ssh -N -p "$PORT" -i "$T/keys/$U1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR -L "127.0.0.1:$lport:127.0.0.1:$PORT" \
    "$U1@127.0.0.1" 2>"$T/fwd-L.err" &
fwd=$!
E2E_PIDS="$E2E_PIDS $fwd"
e2e_ok "-L listener up" 'e2e_wait 10 listening "$lport"'
banner=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport; head -c 7 <&3" 2>/dev/null)
e2e_nomatch "-L forwarding carries nothing" "$banner" 'SSH-2'
e2e_ok "-L refused by the server" \
    'e2e_wait 5 grep -q "refused local port forward" "$T/sshd.log"'
kill "$fwd" 2>/dev/null; wait "$fwd" 2>/dev/null

# Remote forwarding: refused outright.
rport=$(e2e_port) || e2e_die "no free port"
out=$(timeout 20 ssh -N -p "$PORT" -i "$T/keys/$U1" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ExitOnForwardFailure=yes \
    -R "127.0.0.1:$rport:127.0.0.1:$PORT" "$U1@127.0.0.1" 2>&1); rc=$?
e2e_ok "-R refused" '[ "$rc" != 0 ]'
e2e_match "-R failure reported" "$out" 'forwarding failed'
e2e_ok "-R opened no port" '! listening "$rport"'

# Dynamic forwarding: the client's SOCKS listener comes up and carries
# nothing either.
dport=$(e2e_port) || e2e_die "no free port"
ssh -N -p "$PORT" -i "$T/keys/$U1" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR -D "127.0.0.1:$dport" "$U1@127.0.0.1" 2>"$T/fwd-D.err" &
fwd=$!
E2E_PIDS="$E2E_PIDS $fwd"
e2e_ok "-D listener up" 'e2e_wait 10 listening "$dport"'
# A SOCKS5 CONNECT to the sshd port: no banner may come back.
reply=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$dport
printf '\x05\x01\x00' >&3; head -c 2 <&3 >/dev/null
printf '\x05\x01\x00\x01\x7f\x00\x00\x01\x$(printf %02x $((PORT >> 8)))\x$(printf %02x $((PORT & 255)))' >&3
cat <&3" 2>/dev/null | od -c)
e2e_nomatch "-D forwarding carries nothing" "$reply" 'S +S +H +-'
kill "$fwd" 2>/dev/null; wait "$fwd" 2>/dev/null

# A hostile TERM is not passed on: the broker sees a safe one.
e2e_term t "env 'TERM=xterm\$(id);x' $(e2e_ssh_cmd "$U1") -t"
e2e_expect_screen "menu with a hostile TERM" t 'Your choice'
e2e_ok "hostile TERM replaced" 'grep -q "msg=admitted user=$U1 .*term=vt100" "$T/broker.log"'
e2e_keys t q
e2e_expect_screen "the session with a hostile TERM ends" t '^\[exit 0\]'

# Once every session has ended, nothing runs as the player: no shell, no
# leftover dg-session, nothing.
e2e_wait 10 bash -c "[ -z \"\$(ps -o pid= -u $U1)\" ]"
e2e_eq "no processes left for the player" "$(ps -o pid=,args= -u "$U1" | tr '\n' ' ')" ""
e2e_done
