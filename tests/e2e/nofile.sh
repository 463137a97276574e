#!/bin/bash
# Out of descriptors: the broker's kernel limit (lowered under it, as a
# tight ulimit or a busy machine would) runs out while players log in.
# The next ones read a clear refusal instead of waiting, the broker logs
# it and keeps running, --status and --check answer or say why not, and
# once sessions leave, logins work again.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_setup nofile "" 6

for tool in prlimit setpriv; do
	command -v "$tool" >/dev/null || e2e_die "missing $tool (util-linux)"
done
e2e_broker_fds() { find "/proc/$BROKER_MAIN/fd" -mindepth 1 2>/dev/null | wc -l; }

# A first login and --status: whatever the broker opens once (caches,
# the status sampler) is open before the limit is set.
e2e_ssh_term w "$U6"
e2e_expect_screen "a first player in the menu" w 'Your choice'
e2e_keys w q
e2e_expect_screen "the first player leaves" w '^\[exit 0\]'
e2e_ok "the broker counts no session" 'e2e_wait 10 e2e_status_is .connection_pool.active 0'

# The broker raised its soft limit to [limits] max_file_descriptors at
# start (8192): lower both limits under it so that the kernel's bites
# long before the broker's own budget does.
n0=$(e2e_broker_fds)
limit=$(( n0 + 3 ))
# Without CAP_SYS_RESOURCE (a container's root may lack it) only the
# broker's own user may change its limits: ask as that user.
setpriv --reuid="$(id -u "$E2E_BROKER_USER")" \
    --regid="$(id -g "$E2E_BROKER_USER")" --clear-groups \
    prlimit --pid "$BROKER_MAIN" --nofile="$limit:$limit" ||
    e2e_die "prlimit on the broker"
e2e_log "broker holds $n0 descriptors; limit set to $limit"
e2e_match "the broker's limit is lowered" \
    "$(grep '^Max open files' "/proc/$BROKER_MAIN/limits")" " $limit +$limit +files"

# Players log in one after another until one is refused.
admitted=0 refused=
for i in 1 2 3 4 5; do
	e2e_ssh_term "t$i" "$(eval echo "\$U$i")"
	if ! e2e_wait_screen "t$i" 'Your choice|\[exit [0-9]+\]' 30; then
		e2e_fail "login $i neither reached the menu nor ended (a hang):"
		e2e_screen "t$i" | sed 's/^/    | /'
		break
	fi
	if e2e_screen_has "t$i" 'Your choice'; then
		admitted=$((admitted + 1))
		continue
	fi
	refused=t$i
	break
done
e2e_log "$admitted logins reached the menu before descriptors ran out"
e2e_ok "some logins were admitted before the limit" '[ "$admitted" -ge 1 ]'
e2e_ok "a login was refused once descriptors ran out" '[ -n "$refused" ]'
if [ -n "$refused" ]; then
	# (80 columns wrap the sentence before its last word.)
	e2e_expect_screen "the refused player reads why" "$refused" \
	    'DungeonGate has run out of room for new connections; please try again in a'
	e2e_expect_screen "the refusal exits 69 (come back later)" "$refused" '^\[exit 69\]'
fi
# Refused as it was accepted, or when looking the player up found no
# descriptor to read the user database with.
e2e_ok "the broker logged the refusal" \
    'e2e_wait 10 grep -Eq "msg=\"connection refused: out of descriptors\" error=|msg=\"user lookup failed\" .*error=\"Too many open files\"" "$T/broker.log"'
e2e_ok "the broker is still running" '! e2e_gone "$BROKER_MAIN"'

# The admitted players are still served while the broker is out.
e2e_keys t1 '?'
e2e_ok "an admitted session is alive" 'kill -0 "$(e2e_pane_pid t1)"'

# Admin tools: an answer, or a sentence that says why not.
out=$("$BROKER" --status -f "$CONF" 2>&1); rc=$?
if [ "$rc" = 0 ]; then
	e2e_ok "--status answers while out of descriptors" \
	    'printf "%s" "$out" | jq -e .connection_pool.active >/dev/null'
else
	e2e_match "--status says why it cannot answer" "$out" \
	    'run out of room for new connections'
fi
out=$("$BROKER" --check -f "$CONF" 2>&1); rc=$?
if printf '%s\n' "$out" | grep -q '^broker: healthy'; then
	e2e_pass "--check answers while out of descriptors"
	e2e_match "--check names the kernel's limit" "$out" \
	    "^descriptors: degraded \\([0-9]+/8192 descriptors open; the kernel's limit is $limit\\)\$"
else
	e2e_match "--check says why it cannot answer" "$out" \
	    '^broker: unknown \(DungeonGate has run out of room for new connections'
	e2e_eq "--check exits 2 when it cannot ask" "$rc" 2
fi

# The players leave; descriptors come back, and so do logins.
for i in $(seq "$admitted"); do
	e2e_keys "t$i" q
	e2e_expect_screen "player $i leaves" "t$i" '^\[exit 0\]'
done
e2e_ok "the broker counts no session once they left" \
    'e2e_wait 15 e2e_status_is .connection_pool.active 0'
e2e_ssh_term again "$U5"
e2e_expect_screen "a new login reaches the menu again" again 'Your choice'
e2e_keys again q
e2e_expect_screen "the new player leaves" again '^\[exit 0\]'
# With the descriptors back it answers --check again (its /proc sample
# may still be late, which it reports as degraded).
e2e_ok "the broker counts no session" \
    'e2e_wait 15 e2e_status_is .connection_pool.active 0'
answers() { "$BROKER" --check -f "$CONF" | grep -Eq "^broker: (healthy|degraded)"; }
e2e_ok "--check answers again" 'e2e_wait 10 answers'

e2e_broker_stop
e2e_eq "the broker stops cleanly" "$BROKER_STATUS" 0
e2e_done
