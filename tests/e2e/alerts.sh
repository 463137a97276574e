#!/bin/bash
# dg-broker --alert-rules: the rules file comes from [alerts], passes
# `promtool check rules`, and the shipped conf/dungeongate-alerts.yml is
# what the default configuration gives; `promtool test rules` holds a
# test of every alert, firing and not, against the shipped file.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init alerts
command -v promtool >/dev/null || e2e_die "missing promtool (package prometheus)"
SHIPPED="$DG_SRCDIR/conf/dungeongate-alerts.yml"

# The defaults: an empty file and the shipped one give the shipped rules.
: > "$T/empty.ini"
"$BROKER" --alert-rules -f "$T/empty.ini" > "$T/default.yml"
e2e_eq "--alert-rules exits 0" "$?" 0
e2e_ok "the shipped rules are the defaults' output" 'cmp -s "$T/default.yml" "$SHIPPED"'
"$BROKER" --alert-rules -f "$DG_SRCDIR/conf/dungeongate.ini" > "$T/shipped-ini.yml"
e2e_ok "and the shipped configuration's" 'cmp -s "$T/shipped-ini.yml" "$SHIPPED"'
out=$(promtool check rules "$T/default.yml" 2>&1); rc=$?
e2e_eq "promtool check rules on the defaults" "$rc" 0
e2e_match "eight rules" "$out" 'SUCCESS: 8 rules found'
for a in DungeonGateDown DungeonGateHighConnectionCount DungeonGateHighQueueTime \
    DungeonGateHighResourceUsage DungeonGateAuthErrorRate \
    DungeonGateAuthBreakerOpen DungeonGateLoadShedding DungeonGateUnhealthy; do
	e2e_ok "$a is a rule" 'grep -q "^      - alert: $a$" "$T/default.yml"'
done

# Every threshold comes from the file.
printf '[alerts]\nhigh_connection_count = 7\nhigh_queue_time = 1500ms\nhigh_resource_usage = 0.75\nhigh_error_rate = 0.125\n' > "$T/mine.ini"
"$BROKER" --alert-rules -f "$T/mine.ini" > "$T/mine.yml"
out=$(cat "$T/mine.yml")
e2e_match "high_connection_count in the rule" "$out" 'expr: session_pool_active_connections >= 7$'
e2e_match "high_queue_time, in seconds" "$out" 'expr: session_pool_queue_longest_wait_seconds >= 1.5$'
e2e_match "high_resource_usage" "$out" 'expr: dungeongate_resource_usage_ratio >= 0.75$'
e2e_match "high_error_rate: failed calls over all calls" "$out" \
    'expr: sum without \(outcome\) \(rate\(dungeongate_auth_decisions_total\{outcome=~"fail_\.\*"\}\[5m\]\)\) / rate\(dungeongate_auth_request_duration_seconds_count\[5m\]\) >= 0\.125$'
e2e_match "and in the descriptions" "$out" 'high_connection_count \(7\)'
e2e_match "high_error_rate in its description" "$out" 'high_error_rate \(0\.125\)'
e2e_nomatch "nothing of the defaults left" "$out" '(connections|seconds|ratio|\[5m\]\)) >= (900|2|0\.9|0\.05)$'
out=$(promtool check rules "$T/mine.yml" 2>&1); rc=$?
e2e_eq "promtool check rules on a file of its own" "$rc" 0

# A file with errors gives no rules.
printf '[alerts]\nhigh_resource_usage = 2\n' > "$T/bad.ini"
out=$("$BROKER" --alert-rules -f "$T/bad.ini" 2>&1); rc=$?
e2e_eq "a bad file exits 78" "$rc" 78
e2e_match "naming the key" "$out" "^$T/bad.ini:2:alerts.high_resource_usage: bad value"
e2e_nomatch "and prints no rules" "$out" 'groups:'

# Each alert fires when it should, and not before.
sed "s|@RULES@|$SHIPPED|" "$DG_SRCDIR/tests/e2e/alerts-test.yml" > "$T/alerts-test.yml"
out=$(promtool test rules "$T/alerts-test.yml" 2>&1); rc=$?
e2e_eq "promtool test rules: every alert" "$rc" 0
[ "$rc" = 0 ] || e2e_log "$out"
e2e_eq "a test for each rule" "$(grep -c '^        alertname:' "$T/alerts-test.yml" | tr -d ' ')" 18
e2e_eq "every alert tested" "$(sed -n 's/^        alertname: //p' "$T/alerts-test.yml" | sort -u | wc -l | tr -d ' ')" 8
e2e_done
