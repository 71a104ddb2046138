#!/bin/sh
# Slow clients cannot take the HTTP threads (issue 10, finding 3). From one address: twice as
# many clients as threads trickling header lines, and three trickling a request body, while
# /api/v1/health is probed twice a second — every probe answers 200 within 5 s, the slow
# heads are cut off (displaced: closed; at http_header_timeout_s: 408), the slow bodies get the
# API's JSON 408 at http_body_timeout_s. A head alone is cut at its deadline too, one address
# keeps at most http_max_per_address slow connections while another's slow client is served,
# and many fast keep-alive connections from one address are never cut.
. "$(dirname "$0")/../tap.sh"

THREADS=8
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "http_threads": $THREADS,
 "http_header_timeout_s": 4, "http_body_timeout_s": 3, "http_max_per_address": 2,
 "api_address_rate": 1000, "api_address_burst": 1000}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
T=$(cat "$STATE_DIR/admin.token")

# slow.py PORT TOKEN HEADS BODIES SECONDS: HEADS clients send a header line a second, BODIES
# clients a body byte a second (of 200 announced), while health is probed for SECONDS.
# Prints NAME=VALUE lines: probes, failed (not 200 within 5 s), heads_closed / bodies_closed
# (clients the server closed within 30 s), head_status / body_status (status lines they got),
# body_code (the JSON error code of the bodies' replies).
cat >"$TMP/slow.py" <<'PY'
import json, socket, sys, threading, time
port, token = int(sys.argv[1]), sys.argv[2]
heads, bodies, seconds = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
got = {"head": [], "body": []}
lock = threading.Lock()

def trickle(kind, first, step):
    data, closed = b"", False
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.settimeout(1.0)
        s.sendall(first)
        start = time.monotonic()
        while time.monotonic() - start < 30:
            try:
                d = s.recv(4096)
                if not d:
                    closed = True
                    break
                data += d
                continue
            except socket.timeout:
                pass
            s.sendall(step)
    except OSError:
        closed = True
    with lock:
        got[kind].append((closed, data))

head = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"
body = ("POST /api/v1/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
        "Content-Length: 200\r\n\r\n{" % token).encode()
clients = [threading.Thread(target=trickle, args=("head", head, b"X-Slow: a\r\n")) for _ in range(heads)]
clients += [threading.Thread(target=trickle, args=("body", body, b" ")) for _ in range(bodies)]
for t in clients:
    t.start()
probes = failed = 0
t0 = time.monotonic()
while time.monotonic() - t0 < seconds:
    p0, ok = time.monotonic(), False
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.settimeout(max(0.1, 5 - (time.monotonic() - p0)))
        c.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        r = b""
        while not r.endswith(b"\n}\n") and b'"status"' not in r:
            d = c.recv(4096)
            if not d:
                break
            r += d
        ok = r.startswith(b"HTTP/1.1 200") and time.monotonic() - p0 < 5
        c.close()
    except OSError:
        pass
    probes += 1
    failed += not ok
    time.sleep(max(0.0, 0.5 - (time.monotonic() - p0)))
for t in clients:
    t.join()

def statuses(kind):
    return ",".join(sorted(set(d.split(b"\r\n", 1)[0].decode("latin-1") or "-" for _, d in got[kind]))) or "-"

codes = set()
for _, d in got["body"]:
    try:
        codes.add(json.loads(d.partition(b"\r\n\r\n")[2])["error"]["code"])
    except Exception:
        codes.add("not-json")
print("probes=%d\nfailed=%d\nheads_closed=%d\nhead_status=%s\nbodies_closed=%d\nbody_status=%s\nbody_code=%s" % (
    probes, failed, sum(c for c, _ in got["head"]), statuses("head"),
    sum(c for c, _ in got["body"]), statuses("body"), ",".join(sorted(codes)) or "-"))
PY

# cut_statuses LIST: each comma-separated status is "-" (closed, no reply) or a 408
cut_statuses() { ! printf '%s\n' "$1" | tr , '\n' | grep -qvx -e - -e 'HTTP/1.1 408 Request Time-out'; }

# field NAME: the value of NAME in $R
field() { printf '%s\n' "$R" | sed -n "s/^$1=//p"; }

R=$(python3 "$TMP/slow.py" "$PORT" "$T" $((2 * THREADS)) 3 8)
diag "$(printf '%s\n' "$R" | tr '\n' ' ')"
check "health answered every probe within 5 s while $((2 * THREADS)) slow heads and 3 slow bodies held on" \
	test "$(field failed)" = 0 -a "$(field probes)" -ge 8
check "  all $((2 * THREADS)) slow heads were cut off" test "$(field heads_closed)" = $((2 * THREADS))
check "  closed when displaced, or given 408 at their deadline (got '$(field head_status)')" \
	cut_statuses "$(field head_status)"
check "  the 3 slow bodies were cut off" test "$(field bodies_closed)" = 3
check "  with the API's JSON 408" test "$(field body_status)/$(field body_code)" = "HTTP/1.1 408 Request Time-out/timeout"

R=$(python3 "$TMP/slow.py" "$PORT" "$T" 1 0 1)
diag "$(printf '%s\n' "$R" | tr '\n' ' ')"
check "a slow head alone is cut off at its deadline, with 408" \
	test "$(field heads_closed)/$(field head_status)" = "1/HTTP/1.1 408 Request Time-out"
check "the cuts are logged" contains "$TMP/serve.log" "slow clients: cut off"

# From 127.0.0.2, eight slow heads: the address keeps two (http_max_per_address), which
# leaves the budget's other two for 127.0.0.1, whose client sends its head in three parts
# over a second and is served.
cat >"$TMP/cap.py" <<'PY'
import socket, sys, time
port, sources = int(sys.argv[1]), sys.argv[2].split(",")
slow = []
for i in range(8):
    s = socket.socket()
    s.bind((sources[i % len(sources)], 0))
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
time.sleep(1.5)
open_ = 0
for s in slow:
    s.setblocking(False)
    try:
        open_ += s.recv(1) != b""
    except BlockingIOError:
        open_ += 1
    except OSError:
        pass
c = socket.create_connection(("127.0.0.1", port), timeout=10)
for part in (b"GET /api/v1/health HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
    c.sendall(part)
    time.sleep(0.4)
reply = c.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
print("%d|%s" % (open_, reply))
PY
R=$(python3 "$TMP/cap.py" "$PORT" 127.0.0.2)
check "127.0.0.2 keeps 2 of its 8 slow heads (got ${R%%|*})" test "${R%%|*}" = 2
check "  while a client of 127.0.0.1 that sends its head in parts is served (got '${R#*|}')" \
	test "${R#*|}" = "HTTP/1.1 200 OK"

# One slow head from each of eight addresses: within each cap, but together over the budget
# of slow workers (http_threads 8 - 4 reserved): four are kept; 127.0.0.1's client is served.
R=$(python3 "$TMP/cap.py" "$PORT" 127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10)
check "eight addresses keep 4 slow heads between them, the budget (got ${R%%|*})" test "${R%%|*}" = 4
check "  and a client that sends its head in parts is served (got '${R#*|}')" \
	test "${R#*|}" = "HTTP/1.1 200 OK"

# 32 keep-alive connections at once from one address, each making requests back to back: none
# is cut (a prompt client is never slow), every request is answered.
cat >"$TMP/fast.py" <<'PY'
import socket, sys, threading
port, ok, lock = int(sys.argv[1]), [0], threading.Lock()
def client():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    for _ in range(20):
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        r = b""
        while b'"state_writes_ok"' not in r:
            d = s.recv(4096)
            if not d:
                return
            r += d
        with lock:
            ok[0] += r.startswith(b"HTTP/1.1 200")
threads = [threading.Thread(target=client) for _ in range(32)]
for t in threads: t.start()
for t in threads: t.join()
print(ok[0])
PY
n=$(python3 "$TMP/fast.py" "$PORT")
check "32 fast keep-alive clients from one address get all 640 answers (got $n)" test "$n" = 640

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGTERM stops it cleanly (exit $EXIT_CODE)" test "$EXIT_CODE" = 0
done_testing
