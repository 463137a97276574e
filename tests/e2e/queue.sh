#!/bin/bash
# The priority queue through real ssh: a full pool of 3, a queue filled
# by low, normal, high and admin players; slots freed one by one admit
# strictly by class and first come first served within a class; a player
# who presses q leaves the line; a full queue refuses at once; a wait
# ends with queue_timeout on time.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init queue
LOW="dgl$E2E_SUFFIX"
VIP="dgv$E2E_SUFFIX"
groupadd "$LOW" && groupadd "$VIP" || e2e_die "groupadd"
E2E_GROUPS="$E2E_GROUPS $LOW $VIP"
e2e_config "[connection_pool]
max_connections = 3
queue_size = 5
queue_timeout = 90s
[quota:low]
groups = $LOW
priority = 0
[quota:vip]
groups = $VIP"
e2e_broker_start
for i in 1 2 3; do e2e_user $i; done	# hold the pool
e2e_user 4 "$LOW"			# low
e2e_user 5				# normal
e2e_user 6 "$VIP"			# high
e2e_user 7				# normal, leaves the line
e2e_user 8 "$E2E_ADMIN_GROUP"		# critical
e2e_user 9				# finds the queue full
e2e_user 10				# normal, arrives last
e2e_sshd_start

for i in 1 2 3; do
	eval "u=\$U$i"
	e2e_ssh_term "h$i" "$u"
	e2e_wait_screen "h$i" 'Your choice' || e2e_die "holder $i not in"
done

# In line, in this order of arrival: low, normal, high, normal, admin.
place() { e2e_wait_screen "$1" "you are number $2 in line" 10; }
e2e_ssh_term q4 "$U4"; place q4 1 || e2e_fail "low player queued first"
e2e_ssh_term q5 "$U5"; place q5 1 || e2e_fail "normal player goes ahead of low"
e2e_ssh_term q6 "$U6"; place q6 1 || e2e_fail "high player goes first"
e2e_ssh_term q7 "$U7"; place q7 3 || e2e_fail "second normal player after the first"
e2e_ssh_term q8 "$U8"; place q8 1 || e2e_fail "admin goes first of all"
e2e_eq "queue by class" "$(e2e_status | jq -c .queue.by_class)" \
    '{"low":1,"normal":2,"high":1,"critical":1}'
# Everyone's place is kept up to date on their screen.
e2e_ok "high player now second" 'place q6 2'
e2e_ok "first normal player third" 'place q5 3'
e2e_ok "second normal player fourth" 'place q7 4'
e2e_ok "low player last" 'place q4 5'

# A full queue refuses at once.
start=$(date +%s%N)
out=$(e2e_ssh "$U9" "-tt" 2>&1); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
e2e_match "full queue refused with the reason" "$out" 'DungeonGate is full \(3 players online\); try again in 30 s'
e2e_eq "full queue exits 69" "$rc" 69
e2e_ok "refused at once ($ms ms, ssh included)" '[ "$ms" -lt 5000 ]'
e2e_ok "queue_full counted" '[ "$(e2e_status | jq .violations.queue_full)" -ge 1 ]'

# A player who presses q leaves the line; those behind move up.
e2e_keys q7 q
e2e_expect_screen "q leaves the queue" q7 'You left the queue\.'
e2e_expect_screen "leaving exits 0" q7 '^\[exit 0\]'
e2e_ok "low player moves up" 'place q4 4'
e2e_eq "four waiting" "$(e2e_status | jq .queue.size)" 4
e2e_ssh_term q10 "$U10"; place q10 4 || e2e_fail "a later normal player queues behind the earlier one"
e2e_ok "and ahead of the low player" 'place q4 5'

# Free the slots one by one: admin, high, normal, normal, low.
admitted() { e2e_wait_screen "$1" 'Your choice' 10; }
still_waiting() { ! e2e_screen_has "$1" 'Your choice'; }
order="q8 q6 q5 q10 q4"
free="h1 h2 h3 q8 q6"
set -- $order
for f in $free; do
	e2e_keys "$f" q
	next=$1; shift
	e2e_ok "slot freed by $f goes to $next" 'admitted "$next"'
	for w in "$@"; do
		e2e_ok "$w still waits" 'still_waiting "$w"'
	done
	e2e_eq "$# left in the queue" "$(e2e_status | jq .queue.size)" "$#"
done
e2e_eq "queue empty" "$(e2e_status | jq .queue.size)" 0

# A player the broker already knows (no lookup) waits as long as the
# queue allows, not just the hello's 10 s: watched for 12 s, they never
# leave the line.
e2e_ssh_term r1 "$U1"
place r1 1 || e2e_fail "a known player queued"
left_line() { e2e_screen_has r1 '^\[exit' || ! e2e_status_is .queue.size 1; }
e2e_ok "still in line after 12 s" '! e2e_wait 12 left_line'
e2e_eq "still queued at the broker" "$(e2e_status | jq .queue.size)" 1
e2e_nomatch "not sent away" "$(e2e_screen r1)" 'idle|exit'

# queue_timeout: a wait ends on time (measured at the wire, not ssh).
e2e_config "[connection_pool]
max_connections = 3
queue_size = 5
queue_timeout = 2s"
e2e_ok "queue_timeout of 2s reloaded" e2e_reload
start=$(date +%s%N)
out=$("$WIRE" "$SOCK" -t 10000 -j '{"type":"hello","version":1,"client":"session"}')
ms=$(( ($(date +%s%N) - start) / 1000000 ))
e2e_match "queued at the wire" "$out" '"type":"queued"'
e2e_match "refused with queue_timeout" "$out" '"reason":"queue_timeout"'
e2e_match "and told why" "$out" 'DungeonGate stayed full for 2s'
e2e_log "queue_timeout of 2000 ms ended after $ms ms"
e2e_ok "queue_timeout within 100 ms" '[ "$ms" -ge 1900 ] && [ "$ms" -le 2100 ]'
e2e_ok "timeout counted" '[ "$(e2e_status | jq .violations.queue_timeout)" -ge 1 ]'
e2e_done
