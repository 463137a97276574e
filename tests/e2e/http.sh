#!/bin/bash
# Bad HTTP at the broker's listener: other methods, bodies, a 1 MB
# request line, 100 KB of headers, a slowloris, more connections than it
# takes, paths that climb or wander. Each is refused; meanwhile and
# afterwards the broker answers, its sessions go on, and nothing it says
# over HTTP names a user or where they connect from.
. "$DG_SRCDIR/tests/e2e/lib.sh"
e2e_init http
e2e_http_port
e2e_config
e2e_broker_start
e2e_user 1
PORT_HTTP=${E2E_HTTP##*:}

# A player's session that stays throughout, with an address to look for.
REMOTE=203.0.113.77:5150
setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups "$WIRE" "$SOCK" -t 120000 \
    -j "{\"type\":\"hello\",\"version\":1,\"client\":\"session\",\"remote\":\"$REMOTE\"}" > "$T/session.out" 2>&1 &
session=$!
E2E_PIDS="$E2E_PIDS $session"
e2e_wait 5 grep -q '"type":"ticket"' "$T/session.out" || e2e_die "the player's session"

# Raw HTTP: python3 rawhttp.py MODE, printing what came back and how
# long it took (seconds).
cat > "$T/rawhttp.py" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
start = time.time()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
def send(b):
    try:
        s.sendall(b)
    except OSError:
        pass
if mode == "long-line":
    send(b"GET /" + b"a" * (1024 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
elif mode == "many-headers":
    send(b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"b" * 100 + b"\r\n" * 1 +
         b"".join(b"X-%d: %s\r\n" % (i, b"c" * 90) for i in range(1000)) + b"\r\n")
elif mode == "body":
    send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
elif mode == "http10":
    send(b"GET /health/ready HTTP/1.0\r\n\r\n")
elif mode == "slowloris":
    send(b"GET /metrics HTTP/1.1\r\n")
    for i in range(60):
        try:
            s.sendall(b"X-Slow-%d: y\r\n" % i)
        except OSError:
            break
        time.sleep(0.25)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except OSError:
    pass
first = out.split(b"\r\n", 1)[0].decode("latin-1") if out else "closed"
print("%s %.2f" % (first, time.time() - start))
PY
raw() { python3 "$T/rawhttp.py" "$PORT_HTTP" "$1"; }
alive() { e2e_http /health/ready; [ "$HTTP_CODE" = 200 ]; }

# Only GET and HEAD.
for m in POST PUT DELETE PATCH OPTIONS; do
	e2e_http /metrics -X "$m"
	e2e_eq "$m refused with 405" "$HTTP_CODE" 405
done
e2e_eq "with the methods that are allowed" \
    "$(curl -s -m 5 -D - -o /dev/null -X POST "$HTTP_URL/metrics" | tr -d '\r' | sed -n 's/^Allow: //p')" "GET, HEAD"
out=$(raw body)
e2e_nomatch "a GET with a body is refused" "$out" '^HTTP/1.1 200'

# Size: a 1 MB request line, 100 KB of headers.
out=$(raw long-line)
e2e_nomatch "a 1 MB request line is refused" "$out" '^HTTP/1.1 200'
e2e_ok "at once ($out)" '[ "${out##* }" \< 3 ]'
e2e_ok "the broker is fine" alive
out=$(raw many-headers)
e2e_nomatch "100 KB of headers are refused" "$out" '^HTTP/1.1 200'
e2e_ok "the broker is fine" alive

# A slowloris is cut off at the deadline, and others are served meanwhile.
raw slowloris > "$T/slow.out" &
slow=$!
E2E_PIDS="$E2E_PIDS $slow"
sleep 0.5
start=$(date +%s%N)
e2e_http /metrics
ms=$(( ($(date +%s%N) - start) / 1000000 ))
e2e_eq "a scrape during a slowloris is served" "$HTTP_CODE" 200
e2e_ok "at once ($ms ms)" '[ "$ms" -lt 2000 ]'
e2e_reap 15 "$slow" || e2e_fail "the slowloris ends"
out=$(cat "$T/slow.out")
e2e_match "the slowloris gets no answer" "$out" '^closed '
e2e_ok "and is cut off within the 5 s deadline ($out)" '[ "${out##* }" \< 7 ]'

# More connections than it takes: the extra ones are closed at once.
python3 - "$PORT_HTTP" > "$T/flood.out" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(100)]
time.sleep(1)
closed = 0
for s in held:
    s.settimeout(0.05)
    try:
        if s.recv(1) == b"":
            closed += 1
    except socket.timeout:
        pass
    except OSError:
        closed += 1
print(closed)
for s in held:
    s.close()
PY
flood=$!
E2E_PIDS="$E2E_PIDS $flood"
e2e_reap 20 "$flood" || e2e_fail "the flood ends"
closed=$(cat "$T/flood.out")
e2e_ok "past 64 connections the rest are closed ($closed of 100)" '[ "$closed" -ge 30 ] && [ "$closed" -le 40 ]'
e2e_ok "then the broker serves again" 'e2e_wait 5 alive'

# Paths: only the known ones, as they are.
for p in /health/../metrics /%2e%2e/etc/passwd /metrics/ /METRICS /health/ /health/ready/x \
    "/health/$U1" /; do
	e2e_http "$p" --path-as-is
	e2e_eq "$p is not found" "$HTTP_CODE" 404
done
e2e_http "/metrics?name=$U1"
e2e_eq "a query string changes nothing" "$HTTP_CODE" 200
out=$(raw http10)
e2e_match "HTTP/1.0 is answered" "$out" '^HTTP/1.0 200'

# Nothing over HTTP names the player or their address.
for p in /metrics /health /health/connection-pool /health/worker-pool /health/pty-pool \
    /health/resource-limiter /health/auth /health/ready; do
	e2e_http "$p"
	e2e_ok "$p names no user" '! grep -qF "$U1" <<<"$HTTP_BODY"'
	e2e_ok "$p shows no address" '! grep -qF "${REMOTE%:*}" <<<"$HTTP_BODY"'
done

# The broker and the player's session came through all of it.
e2e_ok "the session is still in" 'e2e_status_is .connection_pool.active 1'
e2e_ok "--check is healthy" '"$BROKER" --check -f "$CONF" > /dev/null'
kill "$session"; wait "$session" 2>/dev/null
e2e_broker_stop
e2e_eq "the broker exits cleanly" "$BROKER_STATUS" 0
e2e_done
