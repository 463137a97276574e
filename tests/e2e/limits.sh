#!/bin/bash
# Enforced limits on games through real ssh: a memory slice that an
# allocation cannot pass (the session and the broker live on), the
# user's memory quota, a spewing game held to its bandwidth share (also
# when the user's share is split), a CPU burner held to max_cpu_cores.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init limits
install -m 755 "$DG_BUILDDIR/tests/tools/dg-testgame" "$T/bin/dg-testgame"
printf '#!/bin/sh\n%s burn &\nwait\n' "$T/bin/dg-testgame" > "$T/bin/forker"
chmod 755 "$T/bin/forker"
METER="$DG_BUILDDIR/tests/tools/dg-meter"
e2e_config "[quota:default]
max_memory = 48MB
max_bandwidth = 100KB/s
max_cpu_cores = 0.5
[game:big]
key = b
memory = 32MB
command = $T/bin/dg-testgame alloc 48
[game:small]
key = s
memory = 32MB
command = $T/bin/dg-testgame alloc 8
[game:spew]
key = x
memory = 16MB
command = $T/bin/dg-testgame spew
[game:spew2]
key = y
memory = 16MB
command = $T/bin/dg-testgame spew
[game:burn]
key = c
memory = 16MB
command = $T/bin/dg-testgame burn
[game:forker]
key = f
memory = 16MB
command = /bin/sh $T/bin/forker"
e2e_broker_start
e2e_user 1
e2e_user 2
e2e_user 3
e2e_sshd_start

# The memory slice: RLIMIT_AS of 32MB.
e2e_ssh_term m1 "$U1"
e2e_wait_screen m1 'Your choice' || e2e_die "no menu"
e2e_keys m1 b
e2e_expect_screen "an allocation past the slice fails" m1 'allocation of 48 MB failed'
e2e_keys m1 q
e2e_expect_screen "the session lives on" m1 'Your choice'
e2e_ok "the broker lives on" '! e2e_gone "$BROKER_PID"'
e2e_keys m1 s
e2e_expect_screen "an allocation within the slice works" m1 'allocated 8 MB'

# The user's memory quota: 32MB held, 32MB more would pass 48MB.
e2e_ssh_term m2 "$U1"
e2e_wait_screen m2 'Your choice' || e2e_die "no menu"
e2e_keys m2 b
e2e_expect_screen "a game past the user's memory refused" m2 \
    'This game needs 32MB of memory and your games already hold 32MB of the 48MB'
e2e_expect_screen "the tier is named" m2 'your tier \(default\) allows\.'
e2e_keys m1 q
e2e_wait_screen m1 'Your choice'
e2e_keys m2 q
e2e_keys m1 q

# Bandwidth: 100KB/s for the user's one session.
rate() { "$METER" 1500 5000 | sed -n 's/.*rate=//p'; }
# Held to a share: never more than PERCENT over it, and not starved
# (at least half of it; less only when the machine itself has no CPU to
# give, which the test cannot rule out for a burner, so it asks half).
held() {	# held VALUE SHARE PERCENT
	[ "$1" -le $(( $2 * (100 + $3) / 100 )) ] && [ "$1" -ge $(( $2 / 2 )) ]
}
within() {	# within VALUE TARGET PERCENT
	[ "$1" -ge $(( $2 * (100 - $3) / 100 )) ] && [ "$1" -le $(( $2 * (100 + $3) / 100 )) ]
}
r=$(e2e_ssh "$U2" "-tt" play spew 2>/dev/null | rate)
e2e_log "one session: $r bytes/s (share 102400)"
e2e_ok "a spewing game held to its share (+-10% over 5 s)" 'within "$r" 102400 10'

# Two sessions of one user split the user's quota.
e2e_ssh "$U3" "-tt" play spew 2>/dev/null | rate > "$T/r1" &
p1=$!
e2e_ssh "$U3" "-tt" play spew2 2>/dev/null | rate > "$T/r2" &
p2=$!
wait "$p1" "$p2"
r1=$(cat "$T/r1"); r2=$(cat "$T/r2")
e2e_log "two sessions: $r1 and $r2 bytes/s (share 51200 each)"
e2e_ok "first of two held to half (+-10%)" 'within "$r1" 51200 10'
e2e_ok "second of two held to half (+-10%)" 'within "$r2" 51200 10'
e2e_match "bandwidth holds counted" "$(e2e_status | jq .violations.bandwidth)" '^[1-9]'

# CPU: a burner held to 0.5 cores.
e2e_ssh_term c1 "$U1"
e2e_wait_screen c1 'Your choice' || e2e_die "no menu"
e2e_keys c1 c
e2e_wait_screen c1 'ready' 10 || e2e_fail "burner started"
game=$(pgrep -u "$U1" -f "dg-testgame burn" | head -1)
[ -n "$game" ] || e2e_die "no burner process"
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$1/stat"; }
sleep 1
c0=$(cpu_ms "$game"); t0=$(date +%s%N)
sleep 5
c1=$(cpu_ms "$game"); t1=$(date +%s%N)
used=$(( (c1 - c0) * 1000 / ((t1 - t0) / 1000000) ))	# millicores
e2e_log "the burner used $used millicores over 5 s (limit 500)"
e2e_ok "a CPU burner held to max_cpu_cores (at most +10%, not starved)" 'held "$used" 500 10'
e2e_eq "the mechanism is reported" \
    "$(e2e_status | jq -r --arg u "$U1" '.sessions[] | select(.user == $u) | .cpu_mechanism')" duty_cycle
# On a machine busy with other work the burner may get less than its
# share for a while, and need no hold: it burns on until it does.
cpu_held() { e2e_status | jq -e '.violations.cpu >= 1' >/dev/null; }
e2e_ok "CPU holds counted" 'e2e_wait 20 cpu_held'
e2e_keys c1 C-c 2>/dev/null

# A game that leaves the burning to a child is held all the same.
e2e_ssh_term c2 "$U2"
e2e_wait_screen c2 'Your choice' || e2e_die "no menu"
e2e_keys c2 f
e2e_ok "the forking burner runs" \
    'e2e_wait 10 pgrep -u "$U2" -f "dg-testgame burn" >/dev/null'
child=$(pgrep -u "$U2" -f "dg-testgame burn" | head -1)
sleep 1
c0=$(cpu_ms "$child"); t0=$(date +%s%N)
sleep 5
c1=$(cpu_ms "$child"); t1=$(date +%s%N)
used=$(( (c1 - c0) * 1000 / ((t1 - t0) / 1000000) ))
e2e_log "the burning child used $used millicores over 5 s (limit 500)"
e2e_ok "a burning child held to max_cpu_cores (at most +10%, not starved)" 'held "$used" 500 10'
e2e_done
