#!/bin/bash
# The broker dies and comes back without a game lost: 50 live sessions
# (NetHack and test games) through a real sshd, the broker killed with
# SIGKILL and started again; every game still running, every session
# re-registered within 2 s, the tables as they were, a quota still held.
# Then claims the broker cannot verify, sent raw, each refused with its
# reason.
. "$DG_SRCDIR/tests/e2e/lib.sh"
GAME="$DG_BUILDDIR/tests/tools/dg-testgame"
BOXES="a b c d f"
INI="[game:nethack]
name = NetHack 3.6
key = p
command = /usr/games/nethack -u %u
rcfile = .nethackrc
env = NETHACKOPTIONS=@%h/.nethackrc"
for k in $BOXES g; do
	INI="$INI
[game:box$k]
name = Box $k
key = $k
memory = 32MB
command = $GAME box"
done
e2e_setup rejoin "$INI" 10

# Players 1 to 4 play NetHack and four boxes, 5 to 10 five boxes: 50
# games, five a player (the default tier's max_ptys). sshd may drop
# logins past ten at once (MaxStartups), so they come five at a time.
games_of() { if [ "$1" -le 4 ]; then echo "nethack boxa boxb boxc boxd"; else echo "boxa boxb boxc boxd boxf"; fi; }
leases() { e2e_status | jq '.leases | length'; }
leases_are() { [ "$(leases)" = "$1" ]; }
n=0
for i in $(seq 10); do
	eval "u=\$U$i"
	for g in $(games_of "$i"); do
		e2e_ssh_term "t$i$g" "$u" play "$g"
		n=$((n + 1))
	done
	e2e_wait 60 leases_are "$n" || e2e_die "$(leases) of $n games started"
done
e2e_eq "50 games run" "$(leases)" 50
e2e_expect_screen "a box is drawn" t5boxa 'box' 10
e2e_expect_screen "NetHack runs" t1nethack 'Shall I pick' 20

# What the tables hold: sessions, leases, and each user's use.
tables() {
	e2e_status | jq -c '[.connection_pool.active, (.leases | length),
	    ([.leases[] | "\(.id) \(.user) \(.game)"] | sort),
	    ([.users[] | "\(.user) \(.sessions.used) \(.ptys.used) \(.memory.used)"] | sort)]'
}
# The games: the children of the players' sessions.
game_pids() {
	local i u s
	for i in $(seq 10); do
		eval "u=\$U$i"
		for s in $(pgrep -u "$u" -x dg-session); do pgrep -P "$s"; done
	done | sort -n
}
before=$(tables)
pids=$(game_pids)
e2e_eq "50 game processes" "$(printf '%s\n' "$pids" | wc -l)" 50

# SIGKILL: the games go on without a broker.
e2e_broker_kill KILL
all_alive() { local p; for p in $pids; do e2e_gone "$p" && return 1; done; return 0; }
e2e_ok "every game outlives the broker" 'all_alive'
e2e_keys t6boxa t
e2e_expect_screen "a game answers its player with no broker" t6boxa 'titled' 10

# Back: every session re-registers within 2 s, the tables as before.
e2e_broker_start
t0=$(date +%s%N)
rejoined_all() { e2e_status_is '.rejoins.rejoined' 50; }
e2e_wait 20 rejoined_all
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
e2e_ok "all 50 re-registered within 2 s (took $ms ms)" 'rejoined_all && [ "$ms" -le 2000 ]'
e2e_eq "none refused" "$(e2e_status | jq .rejoins.refused)" 0
e2e_eq "sessions, leases (same ids) and every user's use as before" "$(tables)" "$before"
e2e_ok "every game still running" 'all_alive'
e2e_eq "the same game processes" "$(game_pids)" "$pids"
e2e_match "a rejoin is logged with its lease" "$(cat "$T/broker.log")" \
    "msg=rejoined user=$U1 .*lease=l-[0-9a-f]{16} game=nethack"
e2e_keys t7boxb t
e2e_expect_screen "a game answers after the restart" t7boxb 'titled' 10

# A quota still holds: a player with five games gets no sixth.
e2e_ssh_term q1 "$U1"
e2e_expect_screen "a sixth session of a player with five games" q1 'Your choice' 20
e2e_keys q1 g
e2e_expect_screen "is refused a sixth game" q1 'You already have 5 games running' 10
e2e_keys q1 q

# A session that ends gives back what it re-registered, once.
e2e_keys t10boxf q
ended() { e2e_status_is '.leases | length' 49; }
e2e_ok "a game that ends after the restart gives back its lease" 'e2e_wait 10 ended'
e2e_ok "and its slot" 'e2e_wait 10 e2e_status_is ".connection_pool.active" 49'

# Claims that cannot be verified, sent raw as root: each refused.
lease=$(e2e_status | jq -r --arg u "$U2" '.leases[] | select(.user == $u) | .id' | head -1)
ticket=$(e2e_status | jq -r --arg u "$U2" '.sessions[] | select(.user == $u) | .ticket' | head -1)
forged() {
	printf '{"type":"rejoin","version":1,"client":"session","ticket":"%s","cols":80,"rows":24%s}' "$1" "${2:-}"
}
refused() {
	local what=$1 reason=$2; shift 2
	out=$("$WIRE" "$SOCK" -t 5000 -j "$(forged "$@")" 2>&1)
	e2e_match "$what: refused ($reason)" "$out" "\"reason\":\"$reason\",.*\"type\":\"refused\""
}
fresh=t-0123456789abcdef
refused "a ticket not of the broker's kind" bad_ticket "t-xyz"
refused "a ticket another session holds" ticket_held "$ticket"
refused "a game not in the configuration" no_game "$fresh" \
    ',"lease":"l-0123456789abcdef","game":"crawl","pid":1,"started":1,"offset":0'
refused "a lease another session holds" lease_held "$fresh" \
    ",\"lease\":\"$lease\",\"game\":\"nethack\",\"pid\":1,\"started\":1,\"offset\":0"
refused "a pid that is not the session's child" not_child "$fresh" \
    ',"lease":"l-0123456789abcdef","game":"boxa","pid":1,"started":1,"offset":0'
e2e_eq "five refusals counted" "$(e2e_status | jq .rejoins.refused)" 5
e2e_match "each refusal logged with its reason" "$(grep 'rejoin refused' "$T/broker.log")" \
    'reason=not_child why="the game.s process is not this session.s"'
e2e_eq "no forged claim took a slot or a lease" "$(e2e_status | jq '[.connection_pool.active, (.leases | length)]' | tr -d ' \n')" "[49,49]"
e2e_ok "and the broker serves on" '"$BROKER" --check -f "$CONF" >/dev/null; [ $? -le 1 ]'
e2e_done
