#!/bin/bash
# Per-user quotas by tier through real ssh: max_connections and max_ptys
# refuse with the limit named, other users are unaffected, a vip tier
# (by Unix group) gets more, and kill -9 of a session frees at once
# everything it held.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init quota
VIP="dgv$E2E_SUFFIX"
groupadd "$VIP" || e2e_die "groupadd"
E2E_GROUPS="$E2E_GROUPS $VIP"
install -m 755 "$DG_BUILDDIR/tests/tools/dg-testgame" "$T/bin/dg-testgame"
e2e_config "[quota:default]
max_connections = 2
max_ptys = 1
[quota:vip]
groups = $VIP
max_connections = 3
[game:a]
key = a
command = $T/bin/dg-testgame alloc 1
[game:b]
key = b
command = $T/bin/dg-testgame alloc 1"
e2e_broker_start
e2e_user 1
e2e_user 2
e2e_user 3 "$VIP"
e2e_sshd_start

e2e_ssh_term s1 "$U1"
e2e_ssh_term s2 "$U1"
e2e_wait_screen s1 'Your choice' && e2e_wait_screen s2 'Your choice' ||
    e2e_die "two sessions for $U1"
out=$(e2e_ssh "$U1" "-tt" 2>&1); rc=$?
e2e_match "third session refused, the limit named" "$out" \
    'You already have 2 sessions open and your tier \(default\) allows 2; close one and try again\.'
e2e_eq "refusal exits 1" "$rc" 1
e2e_ssh_term o1 "$U2"
e2e_expect_screen "another user is unaffected" o1 'Your choice'
for i in 1 2 3; do e2e_ssh_term "v$i" "$U3"; done
for i in 1 2 3; do e2e_expect_screen "vip session $i admitted" "v$i" 'Your choice'; done
e2e_eq "vip tier from the Unix group" \
    "$(e2e_status | jq -r --arg u "$U3" '.users[] | select(.user == $u) | "\(.tier) \(.sessions.used)/\(.sessions.max)"')" \
    "vip 3/3"
e2e_ok "refusals counted" 'e2e_status_is .violations.user_connections 1'

# max_ptys: one game at a time for the default tier.
e2e_keys s1 a
e2e_expect_screen "first game runs" s1 'allocated 1 MB'
e2e_keys s2 b
e2e_expect_screen "second game refused, the limit named" s2 \
    'You already have 1 game running and your tier \(default\) allows 1\.'
e2e_keys o1 b
e2e_expect_screen "another user may still play" o1 'allocated 1 MB'

# The tracker: what each session did, and what passed each way. The
# bytes come in the session's periodic report: wait for one that counts
# the key that started the game.
u2_session() { e2e_status | jq -c --arg u "$U2" '.sessions[] | select(.user == $u)'; }
reported() { [ "$(u2_session | jq '.bytes_in >= 1 and .state == "playing"')" = true ]; }
e2e_ok "the session's report reached the broker" 'e2e_wait 10 reported'
o=$(u2_session)
e2e_eq "states in order" "$(printf '%s' "$o" | jq -r '[.history[].state] | join(" ")')" \
    "connecting menu playing"
e2e_eq "the game and its memory" "$(printf '%s' "$o" | jq -r '"\(.state) \(.game) \(.memory)"')" \
    "playing b 67108864"
e2e_ok "keys counted in" '[ "$(printf "%s" "$o" | jq .bytes_in)" -ge 1 ]'
out_bytes=$(printf '%s' "$o" | jq .bytes_out)
e2e_log "bytes out so far: $out_bytes"
# The menu drawn once is over 300 bytes, and the game said two lines.
e2e_ok "screens counted out" '[ "$out_bytes" -ge 300 ]'
e2e_match "remote address kept" "$(printf '%s' "$o" | jq -r .remote)" '^127\.0\.0\.1:[0-9]+$'
e2e_eq "every session accounted for" "$(e2e_status | jq '.sessions | length')" 6
e2e_eq "every lease accounted for" "$(e2e_status | jq '.leases | length')" 2
e2e_eq "usage against the quota" \
    "$(e2e_status | jq -r --arg u "$U1" '.users[] | select(.user == $u) | "\(.sessions.used) \(.ptys.used)/\(.ptys.max) \(.memory.used)"')" \
    "2 1/1 67108864"

# kill -9 of the playing session frees its slot, game and memory at once.
pid=$(e2e_sessions "$U1" | awk '$2 == "playing" {print $1}')
start=$(date +%s%N)
kill -KILL "$pid"
freed() {
	[ "$(e2e_status | jq -r --arg u "$U1" '.users[] | select(.user == $u) | "\(.sessions.used) \(.ptys.used) \(.memory.used)"')" = "1 0 0" ]
}
e2e_ok "kill -9 frees session, game and memory" 'e2e_wait 2 freed'
ms=$(( ($(date +%s%N) - start) / 1000000 ))
e2e_log "freed within $ms ms of kill -9 (each look is a --status round trip)"
e2e_ok "within 1500 ms, --status round trips on a busy machine included" '[ "$ms" -le 1500 ]'
e2e_keys s2 b
e2e_expect_screen "the freed game slot is usable" s2 'allocated 1 MB'
e2e_keys o1 q
e2e_wait_screen o1 'Your choice'
e2e_keys o1 q
e2e_ok "a session's end is logged with its bytes" \
    'e2e_wait 5 grep -Eq "msg=\"session ended\" user=$U2 .*bytes_in=[1-9][0-9]* bytes_out=[1-9][0-9]*" "$T/broker.log"'
e2e_done
