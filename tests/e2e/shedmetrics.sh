#!/bin/bash
# Load shedding as /metrics and /health show it, with the load written
# into the files the broker reads ([load_shedding] stat_file and
# meminfo_file), a real broker and sshd: the readings series match the
# files; memory past its threshold starts shedding (active 1, counted
# once, /health/ready 503, the load component degraded, refusals counted
# as overloaded); CPU past its threshold keeps it going while memory
# calms; CPU calm ends it (active 0, /health/ready 200) and players get
# in again. Every scrape passes `promtool check metrics` and
# promcheck.py.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init shedmetrics
. "$DG_SRCDIR/tests/e2e/authlib.sh"
command -v promtool >/dev/null || e2e_die "missing promtool (package prometheus)"
e2e_http_port
load_files_start
e2e_config "[load_shedding]
enabled = true
cpu_threshold = 0.8
memory_threshold = 0.9
stat_file = $T/stat
meminfo_file = $T/meminfo"
e2e_broker_start
e2e_user 1
e2e_user 2
e2e_sshd_start

active() { metric dungeongate_load_shedding_active; }
shedding() { [ "$(active)" = 1 ]; }
not_shedding() { [ "$(active)" = 0 ]; }
# Is the reading of $1 (cpu or memory) within [$2, $3]?
reading_in() { metric_in "dungeongate_load_ratio{resource=\"$1\"}" "$2" "$3"; }
overloaded() { metric 'session_pool_rejected_connections_total{reason="overloaded"}'; }
load_status() { e2e_http /health/resource-limiter; jq -r .details.load.status <<<"$HTTP_BODY"; }
HEAVY='DungeonGate is under heavy load; please try again in [0-9]+ s'

# --- Calm: 10% CPU, half the memory.
e2e_ok "the cpu reading is the file's (10%)" 'e2e_wait 10 reading_in cpu 0.09 0.11'
e2e_ok "the memory reading is the file's (50%)" 'e2e_wait 10 reading_in memory 0.499 0.501'
e2e_eq "not shedding" "$(active)" 0
e2e_eq "never started" "$(metric dungeongate_load_shedding_started_total)" 0
e2e_eq "no refusal for load" "$(overloaded)" 0
e2e_eq "/health/ready 200" "$(health_of /health/ready)" "200 healthy"
e2e_eq "the load component healthy" "$(load_status)" healthy
scraped "calm"

# --- Memory at 95%: shedding.
mem_use 950
e2e_ok "95% memory: shedding_active 1" 'e2e_wait 10 shedding'
e2e_ok "the memory reading reaches the file's (95%)" 'e2e_wait 10 reading_in memory 0.949 0.951'
e2e_eq "started once" "$(metric dungeongate_load_shedding_started_total)" 1
e2e_eq "/health/ready 503" "$(health_of /health/ready)" "503 unhealthy"
e2e_match "saying why" "$(health_detail /health/ready .details.ready.detail)" '^shedding load'
e2e_eq "/health/resource-limiter degraded (200)" "$(health_of /health/resource-limiter)" "200 degraded"
e2e_eq "its load component degraded" "$(load_status)" degraded
e2e_eq "the health series says degraded" "$(metric 'dungeongate_health{component="load"}')" 1
term_login n1 "$U1"
login_is "through ssh: a normal player is shed, exit 69" "exit 69" "$HEAVY"
e2e_tmux kill-session -t n1
e2e_eq "the refusal counted as overloaded" "$(overloaded)" 1
e2e_eq "another, on the socket" "$(hello_as "$U2" 5000)" "refused overloaded"
e2e_eq "counted too" "$(overloaded)" 2
e2e_eq "as refused admissions" "$(metric 'dungeongate_admissions_total{outcome="refused"}')" 2
scraped "shedding for memory"

# --- CPU at 100% as well, then memory calm: still shedding, for CPU.
echo 100 > "$T/cpu.pct"
e2e_ok "the cpu reading reaches 100%" 'e2e_wait 10 reading_in cpu 0.999 1'
mem_use 500
e2e_ok "the memory reading back at 50%" 'e2e_wait 10 reading_in memory 0.499 0.501'
e2e_eq "still shedding" "$(active)" 1
e2e_eq "one episode, not two" "$(metric dungeongate_load_shedding_started_total)" 1
e2e_eq "/health/ready still 503" "$(health_of /health/ready)" "503 unhealthy"
scraped "shedding for CPU"

# --- CPU calm: shedding ends.
echo 10 > "$T/cpu.pct"
e2e_ok "10% CPU: shedding_active 0" 'e2e_wait 10 not_shedding'
e2e_ok "the cpu reading back at 10%" 'e2e_wait 10 reading_in cpu 0.09 0.11'
e2e_eq "/health/ready 200 again" "$(health_of /health/ready)" "200 healthy"
e2e_eq "the load component healthy again" "$(load_status)" healthy
e2e_eq "the health series says healthy" "$(metric 'dungeongate_health{component="load"}')" 0
term_login n2 "$U1"
login_is "through ssh: the player gets in again" menu
term_close n2
e2e_eq "no refusal more" "$(overloaded)" 2
scraped "calm again"

scrapes_agree
e2e_done
