#!/bin/bash
# The auth service's contract through real ssh, against a real HTTP
# service (tests/tools/dg-authd.py): an allow admits in the tier the
# service names (or the local one), a deny or a 401/403 shows the
# service's message, made safe, and exits 77; the request carries the
# token, the User-Agent and the player's facts; verdicts are cached for
# min(ttl, expires_after) or a deny's ttl, kept over SIGHUP, and dropped
# by an admin's --forget so that a ban takes effect at once.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init auth
. "$DG_SRCDIR/tests/e2e/authlib.sh"
VIP="dgv$E2E_SUFFIX"
groupadd "$VIP" || e2e_die "groupadd"
E2E_GROUPS="$E2E_GROUPS $VIP"
install -m 755 "$DG_BUILDDIR/tests/tools/dg-testgame" "$T/bin/dg-testgame"
authd_start
# As an admin writes it: with echo, so with a newline at the end.
echo "s3cr3t-t0ken" > "$T/token"
chmod 600 "$T/token"
# Owned by the broker's user, as the README says: it reads it again on
# every reload, without root.
chown "$E2E_BROKER_USER:" "$T/token"
# The [auth] section, with the token line given (or none).
auth_ini() {
	cat <<INI
[auth]
url = $AUTHD_URL
$1
timeout = 1s
on_failure = deny
[circuit_breaker]
failure_threshold = 1000
[load_shedding]
enabled = false
[quota:vip]
groups = $VIP
expires_after = 10s
[game:echo]
name = Echo
key = t
command = $T/bin/dg-testgame alloc 1
INI
}
e2e_config "$(auth_ini "token_file = $T/token")"
e2e_broker_start
e2e_user 1			# the service makes them vip
e2e_user 2			# banned, then lifted
e2e_user 3 "$VIP"		# vip by Unix group
e2e_user 4			# a message on the allow
e2e_user 5			# 401 and 403
e2e_user 6			# banned while cached
e2e_user 7			# a player who tries --forget
e2e_user 8 "$E2E_ADMIN_GROUP"	# an admin who may --forget
e2e_user 9			# a deny with a ttl
e2e_user 10			# the local tier, and no token
e2e_sshd_start
expires=10000			# vip's expires_after, in ms

# --- An allow naming a tier admits in that tier; the request's format.
authd ok-vip
term_login a1 "$U1"
login_is "an allow admits" menu
e2e_eq "in the tier the service named, though not in its group" "$(user_tier "$U1")" vip
t0=$(now_ms)
e2e_eq "one request for one login" "$(authd_count "$U1")" 1
last=$(authd_stats .last)
req() { printf '%s' "$last" | jq -r "$1"; }
body() { printf '%s' "$last" | jq -r '.body' | jq -r "$1"; }
e2e_eq "the request is a POST" "$(req .method)" POST
e2e_eq "to the url itself" "$(req .path)" /v1/authorize
e2e_match "Content-Type is JSON" "$(req '.headers["content-type"]')" '^application/json($|;)'
e2e_eq "the bearer token from token_file, without its newline" \
    "$(req '.headers.authorization')" "Bearer s3cr3t-t0ken"
e2e_match "a User-Agent naming DungeonGate and its version" \
    "$(req '.headers["user-agent"]')" '^DungeonGate/[0-9]+\.[0-9]+'
e2e_ok "the body is one JSON object" 'req .body | jq -e "type == \"object\"" >/dev/null'
e2e_eq "body: user" "$(body .user)" "$U1"
e2e_eq "body: uid, a number" "$(body '.uid | tostring + " " + (. | type)')" "$(id -u "$U1") number"
e2e_ok "body: groups, names, with the players' group" \
    'req .body | jq -e --arg g "$E2E_GROUP" "(.groups | type == \"array\") and (.groups | index(\$g) != null)" >/dev/null'
e2e_match "body: remote_addr, where ssh came from" "$(body .remote_addr)" '^127\.0\.0\.1(:[0-9]+)?$'
e2e_eq "body: node, this host" "$(body .node)" "$(uname -n)"
e2e_eq "body: service" "$(body .service)" dungeongate
e2e_eq "body: command, empty for the menu" "$(body '.command | tostring + " " + type')" " string"
term_close a1

# Within the verdict's life no request; past vip's expires_after (10 s,
# the verdict had no ttl) the service is asked again.
term_login a2 "$U1"
login_is "a cached allow admits" menu
e2e_eq "without a request" "$(authd_count "$U1")" 1
e2e_eq "in the cached tier" "$(user_tier "$U1")" vip
term_close a2
authd ok-vip ttl=3600
wait_until_ms 20 $((t0 + expires + 500))
term_login a3 "$U1"
login_is "admitted after the tier's expires_after" menu
e2e_eq "asked again once expires_after passed" "$(authd_count "$U1")" 2
t1=$(now_ms)
term_close a3
# A ttl over expires_after: the tier's bound wins.
term_login a4 "$U1"
e2e_eq "a ttl of an hour: cached at first" "$(authd_count "$U1")" 2
term_close a4
wait_until_ms 20 $((t1 + expires + 500))
term_login a5 "$U1"
login_is "admitted again" menu
e2e_eq "a ttl over expires_after ends with expires_after" "$(authd_count "$U1")" 3
term_close a5
# A ttl under expires_after: the ttl wins.
authd ok-vip ttl=1
"$BROKER" --forget "$U1" -f "$CONF" >/dev/null || e2e_fail "--forget $U1"
term_login a6 "$U1"
e2e_eq "forgotten: asked at once" "$(authd_count "$U1")" 4
t2=$(now_ms)
term_close a6
wait_until_ms 10 $((t2 + 1500))
term_login a7 "$U1"
login_is "admitted after the ttl" menu
e2e_eq "a ttl of 1 s under expires_after: asked again after it" "$(authd_count "$U1")" 5
term_close a7

# No tier in the allow: the local tier, from the Unix groups. The ssh
# command reaches the service.
authd ok
e2e_ssh_term c1 "$U3" play echo
e2e_expect_screen "an allow without a tier admits, with the command" c1 'ready'
e2e_eq "in the local tier (vip by group)" "$(user_tier "$U3")" vip
e2e_eq "body: command, the ssh command" "$(authd_stats .last.body | jq -r .command)" "play echo"
e2e_keys c1 q
e2e_wait 10 e2e_screen_has c1 '\[exit [0-9]+\]' || e2e_fail "the game ended on q"
e2e_tmux kill-session -t c1 2>/dev/null
term_login c2 "$U10"
login_is "an allow without a tier, a player in no tier's group" menu
e2e_eq "in the default tier" "$(user_tier "$U10")" default
term_close c2

# --- A deny refuses with the service's message and exit 77; it is
# cached (60 s without a ttl) even once the service lifts it; --forget
# by an admin drops it.
authd deny user="$U2" message="Banned for botting until Friday."
term_login d1 "$U2"
login_is "a deny refuses with exit 77 and the service's message" "exit 77" \
    'Banned for botting until Friday\.'
e2e_tmux kill-session -t d1
authd ok user="$U2"
term_login d2 "$U2"
login_is "a deny without a ttl is cached" "exit 77" 'Banned for botting until Friday\.'
e2e_eq "without asking again" "$(authd_count "$U2")" 1
e2e_tmux kill-session -t d2
out=$("$BROKER" --forget "$U2" -f "$CONF" 2>&1); rc=$?
e2e_eq "root may --forget a user" "$rc" 0
term_login d3 "$U2"
login_is "forgotten: the service is asked and the lift takes" menu
e2e_eq "asked again" "$(authd_count "$U2")" 2
term_close d3

# A ban while the allow is cached: it takes effect after an admin's
# --forget, at once; a player's --forget is refused and drops nothing.
authd ok user="$U6"
term_login b1 "$U6"
login_is "a player admitted" menu
term_close b1
authd deny user="$U6" message="Your account is closed."
term_login b2 "$U6"
login_is "banned at the service, the cached allow still admits" menu
term_close b2
out=$(setpriv --reuid="$U7" --regid="$U7" --init-groups "$BROKER" --forget "$U6" -f "$CONF" 2>&1); rc=$?
e2e_ok "a player may not --forget ($rc: $out)" '[ "$rc" != 0 ]'
e2e_match "the refusal names the admin group" "$out" "$E2E_ADMIN_GROUP"
term_login b3 "$U6"
login_is "a player's --forget dropped nothing" menu
e2e_eq "no request for it" "$(authd_count "$U6")" 1
term_close b3
out=$(setpriv --reuid="$U8" --regid="$U8" --init-groups "$BROKER" --forget "$U6" -f "$CONF" 2>&1); rc=$?
e2e_eq "a member of admin_group may --forget" "$rc" 0
term_login b4 "$U6"
login_is "the ban takes effect at the next login" "exit 77" 'Your account is closed\.'
e2e_tmux kill-session -t b4

# SIGHUP keeps the cache: the cached deny and the cached allow stand.
authd ok user="$U6"
before=$(authd_count)
e2e_ok "reload" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
term_login h1 "$U6"
login_is "a cached deny survives SIGHUP" "exit 77" 'Your account is closed\.'
e2e_tmux kill-session -t h1
term_login h2 "$U2"
login_is "a cached allow survives SIGHUP" menu
term_close h2
e2e_eq "no request after the reload" "$(authd_count)" "$before"

# A deny with a ttl is asked again after it.
authd deny user="$U9" ttl=1 message="Come back in a second."
term_login t1 "$U9"
login_is "a deny with a ttl" "exit 77" 'Come back in a second\.'
t3=$(now_ms)
e2e_tmux kill-session -t t1
authd ok user="$U9"
wait_until_ms 10 $((t3 + 1500))
term_login t2 "$U9"
login_is "asked again after the deny's ttl" menu
e2e_eq "two requests" "$(authd_count "$U9")" 2
e2e_eq "after SIGHUP the token is still sent" \
    "$(authd_stats .last.headers.authorization)" "Bearer s3cr3t-t0ken"
term_close t2

# --- 401 and 403, with the contract's body or none: refusals, exit 77.
authd 401 user="$U5" message="Your subscription has lapsed."
term_login r1 "$U5"
login_is "401 with a body refuses with its message" "exit 77" 'Your subscription has lapsed\.'
e2e_tmux kill-session -t r1
for st in 401 403; do
	"$BROKER" --forget "$U5" -f "$CONF" >/dev/null || e2e_fail "--forget $U5"
	authd "$st" user="$U5" bare=1
	term_login "r$st" "$U5"
	login_is "$st without a body refuses" "exit 77"
	e2e_nomatch "$st is no failure of the service" "$LOGIN_SCREEN" 'cannot check your account'
	e2e_tmux kill-session -t "r$st"
done
"$BROKER" --forget "$U5" -f "$CONF" >/dev/null
authd 403 user="$U5" message="Not from that address."
term_login r2 "$U5"
login_is "403 with a body refuses with its message" "exit 77" 'Not from that address\.'
e2e_tmux kill-session -t r2

# --- What the service says reaches the terminal made safe and cut.
# An allow's message is shown once above the menu: escapes do nothing.
authd ok-message user="$U4" \
    message=$'Welcome back, \e[31mred\e[0m adventurer!\e]2;pwned\a\e[2J'
term_login m1 "$U4"
login_is "an allow with a message admits" menu
e2e_match "its message is shown on the menu" "$LOGIN_SCREEN" 'Welcome back, .*red.* adventurer!'
e2e_match "the menu is not cleared by it" "$LOGIN_SCREEN" 't\) Echo'
e2e_nomatch "no colour from the message" "$(e2e_tmux capture-pane -e -p -t m1)" $'\e\\[31m'
e2e_ok "no window title from the message" '[ "$(e2e_tmux display -p -t m1 "#{pane_title}")" != pwned ]'
e2e_keys m1 t
e2e_expect_screen "a game from that menu" m1 'ready'
e2e_keys m1 q
e2e_expect_screen "back at the menu" m1 'Your choice'
e2e_nomatch "the message was shown once" "$(e2e_screen m1)" 'Welcome back'
term_close m1
long=$(head -c 5000 /dev/zero | tr '\0' A)
authd ok-message user="$U4" message="$long"
"$BROKER" --forget "$U4" -f "$CONF" >/dev/null
term_login m2 "$U4"
login_is "an allow with a 5000-byte message admits" menu
n=$(e2e_tmux capture-pane -p -S -2000 -t m2 | tr -cd A | wc -c)
e2e_ok "the message is cut ($n of 5000 shown)" '[ "$n" -gt 0 ] && [ "$n" -lt 1000 ]'
term_close m2
# A deny's message: the same.
"$BROKER" --forget "$U4" -f "$CONF" >/dev/null
authd deny user="$U4" message=$'Banned\e]2;pwned\a\e[2J\e[31m for good'
term_login m3 "$U4"
login_is "a deny with escapes in its message" "exit 77" 'Banned.* for good'
e2e_ok "no window title from it" '[ "$(e2e_tmux display -p -t m3 "#{pane_title}")" != pwned ]'
e2e_nomatch "no colour from it" "$(e2e_tmux capture-pane -e -p -S -5 -t m3)" $'\e\\[31m'
e2e_tmux kill-session -t m3
"$BROKER" --forget "$U4" -f "$CONF" >/dev/null
authd deny user="$U4" message="$long"
term_login m4 "$U4"
login_is "a deny with a 5000-byte message refuses" "exit 77"
n=$(e2e_tmux capture-pane -p -S -2000 -t m4 | tr -cd A | wc -c)
e2e_ok "its message is cut ($n of 5000 shown)" '[ "$n" -gt 0 ] && [ "$n" -lt 1000 ]'
e2e_tmux kill-session -t m4
esc=$'\e'
e2e_ok "the log holds the service's words escaped" '! grep -q "$esc" "$T/broker.log"'

# A body under the 64 KB bound is an answer like any other.
authd huge user="$U10" size=60000
"$BROKER" --forget "$U10" -f "$CONF" >/dev/null
term_login k1 "$U10"
login_is "a 60000-byte allow admits" menu
e2e_eq "in the tier it names" "$(user_tier "$U10")" vip
term_close k1

# --- A token file the broker's user cannot read (root's, mode 0600): a
# reload is refused and says why, and the token read before stays in use.
chown root: "$T/token"
e2e_reload
e2e_eq "a reload that cannot read the token file fails" "$E2E_RELOAD" failed
e2e_ok "and says why" 'grep -q "auth.token_file: .*the broker.s user must own it" "$T/broker.log"'
term_login k1 "$U1"
login_is "still admitted" menu
term_close k1
e2e_eq "with the token read before" \
    "$(authd_stats .last.headers.authorization)" "Bearer s3cr3t-t0ken"

# --- A new token: written to the file (the broker's user owns it, as an
# unprivileged broker needs) and a SIGHUP.
chown "$E2E_BROKER_USER:" "$T/token"
echo "n3w-t0ken" > "$T/token"
e2e_ok "reload with a new token" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
"$BROKER" --forget "$U10" -f "$CONF" >/dev/null
term_login k2 "$U10"
login_is "admitted after the token changed" menu
e2e_eq "the new token is sent" "$(authd_stats .last.headers.authorization)" "Bearer n3w-t0ken"
term_close k2

# --- Without token_file no Authorization header is sent.
e2e_config "$(auth_ini "")"
e2e_ok "reload without a token" 'e2e_reload && [ "$E2E_RELOAD" = reloaded ]'
authd ok
"$BROKER" --forget "$U10" -f "$CONF" >/dev/null
term_login n1 "$U10"
login_is "admitted with no token" menu
e2e_eq "the request was this login's" "$(authd_stats .last.body | jq -r .user)" "$U10"
e2e_eq "no Authorization header" "$(authd_stats '.last.headers.authorization // "none"')" none
term_close n1
e2e_done
