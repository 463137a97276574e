#!/bin/bash
# A lying, broken or absent auth service through real ssh: garbage, a
# body over 64 KB, a reset mid-body, a 500, a redirect, a timeout, a
# closed port and a tier no [quota:NAME] defines are failures, never
# answers, and each is handled per [auth] on_failure: deny refuses with
# a retry time (exit 69), allow admits in the local tier, cached uses the
# player's last verdict even past its expiry (else the local tier).
# --check's auth line follows [alerts] high_error_rate.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init authfail
. "$DG_SRCDIR/tests/e2e/authlib.sh"
VIP="dgv$E2E_SUFFIX"
groupadd "$VIP" || e2e_die "groupadd"
E2E_GROUPS="$E2E_GROUPS $VIP"
authd_start

# The configuration, with on_failure = $1.
conf() {
	e2e_config "[auth]
url = $AUTHD_URL
timeout = 1s
on_failure = $1
[circuit_breaker]
failure_threshold = 1000
[load_shedding]
enabled = false
[alerts]
high_error_rate = 0.5
[quota:vip]
groups = $VIP"
}
conf deny
e2e_broker_start
e2e_user 1		# no verdict: always forgotten first
e2e_user 2 "$VIP"	# no verdict, vip by Unix group
e2e_user 3		# last verdict: allow, tier vip, expired
e2e_user 4		# last verdict: deny, expired
e2e_sshd_start

# Every failure, as "label mode [KEY=VALUE...]". Each failing answer
# would make the player vip if it were taken for an allow.
CASES=(
	"garbage garbage"
	"huge huge"
	"reset reset"
	"500 500"
	"redirect redirect"
	"timeout slow"
	"down down"
	"unknown-tier ok tier=gold"
	"not-the-contract raw status=200 body={\"allow\":\"yes\",\"tier\":\"vip\"}"
)

# What --check says about auth.
auth_line() { "$BROKER" --check -f "$CONF" | grep '^auth:'; }

# Healthy while the service answers.
authd ok
term_login w1 "$U1"
login_is "the service answers: admitted" menu
term_close w1
e2e_match "--check: auth healthy while calls succeed" "$(auth_line)" '^auth: healthy'

# --- on_failure = deny: "cannot check your account", exit 69.
for c in "${CASES[@]}"; do
	set -- $c
	label=$1; shift
	authd "$@"
	"$BROKER" --forget "$U1" -f "$CONF" >/dev/null || e2e_fail "--forget $U1"
	before=$(authd_count "$U1")
	term_login "d$label" "$U1"
	login_is "deny, $label: refused with a retry time, exit 69" "exit 69" \
	    'DungeonGate cannot check your account right now; please try again in [0-9]+ s'
	if [ "$label" != down ]; then
		e2e_eq "deny, $label: the service was asked once" "$(authd_count "$U1")" $((before + 1))
	fi
	e2e_tmux kill-session -t "d$label"
done
e2e_eq "a redirect is never followed" "$(authd_stats '.paths["/redirected"] // 0')" 0
e2e_eq "each failure counted for the breaker (threshold 1000: still closed)" \
    "$(e2e_status | jq -r '"\(.auth.breaker.state) \(.auth.breaker.failures >= 9)"')" "closed true"
out=$("$BROKER" --check -f "$CONF"); rc=$?
e2e_match "--check: auth degraded past high_error_rate" "$out" '^auth: degraded'
e2e_eq "--check exits 1 for it" "$rc" 1

# --- on_failure = allow: admitted in the local tier.
conf allow
e2e_ok "reload to on_failure = allow" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
for c in "${CASES[@]}"; do
	set -- $c
	label=$1; shift
	authd "$@"
	"$BROKER" --forget "$U1" -f "$CONF" >/dev/null || e2e_fail "--forget $U1"
	before=$(authd_count "$U1")
	term_login "a$label" "$U1"
	login_is "allow, $label: admitted" menu
	e2e_eq "allow, $label: in the local tier, not the one the failure named" \
	    "$(user_tier "$U1")" default
	if [ "$label" != down ]; then
		e2e_eq "allow, $label: the service was asked once" "$(authd_count "$U1")" $((before + 1))
	fi
	term_close "a$label"
done
authd 500
"$BROKER" --forget "$U2" -f "$CONF" >/dev/null
term_login av "$U2"
login_is "allow: a player in the vip group admitted" menu
e2e_eq "allow: in their local tier, vip" "$(user_tier "$U2")" vip
term_close av

# --- on_failure = cached: the last verdict, even expired; else local.
conf cached
e2e_ok "reload to on_failure = cached" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
authd ok-vip user="$U3" ttl=1
authd deny user="$U4" ttl=1 reason=cheating message="Banned for cheating."
term_login v3 "$U3"
login_is "a verdict to keep: allow in vip" menu
e2e_eq "in vip" "$(user_tier "$U3")" vip
term_close v3
term_login v4 "$U4"
login_is "a verdict to keep: deny" "exit 77" 'Banned for cheating\.'
e2e_tmux kill-session -t v4
wait_until_ms 10 $(( $(now_ms) + 1500 ))
for c in "${CASES[@]}"; do
	set -- $c
	label=$1; shift
	authd "$@"
	b3=$(authd_count "$U3")
	term_login "c3$label" "$U3"
	login_is "cached, $label: an expired allow still admits" menu
	e2e_eq "cached, $label: in its tier" "$(user_tier "$U3")" vip
	term_close "c3$label"
	term_login "c4$label" "$U4"
	login_is "cached, $label: an expired deny still refuses" "exit 77" 'Banned for cheating\.'
	e2e_tmux kill-session -t "c4$label"
	if [ "$label" != down ]; then
		e2e_eq "cached, $label: the expired verdicts made it ask" \
		    "$(( $(authd_count "$U3") - b3 ))" 1
	fi
	"$BROKER" --forget "$U1" -f "$CONF" >/dev/null || e2e_fail "--forget $U1"
	term_login "c1$label" "$U1"
	login_is "cached, $label: no verdict: admitted" menu
	e2e_eq "cached, $label: in the local tier" "$(user_tier "$U1")" default
	term_close "c1$label"
done
e2e_eq "still no redirect followed" "$(authd_stats '.paths["/redirected"] // 0')" 0
e2e_ok "the broker is up" '"$BROKER" --status -f "$CONF" >/dev/null'
e2e_done
