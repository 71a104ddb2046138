#!/bin/sh
# No CivetWeb thread runs short of stack, whatever the client sends (issue 10, findings 1 and 2):
# WebSocket clients that close mid-frame, signed in or not, and twice as many upgrades as there
# are HTTP threads (the ones beyond the stream's share are refused, and the refusal is logged).
# tarsd stays up and /api/v1/health answers 200 after each.
. "$(dirname "$0")/../tap.sh"

THREADS=8
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "http_threads": $THREADS}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
T=$(cat "$STATE_DIR/admin.token")

cat >"$TMP/ws.py" <<'PY'
import os, socket, sys, time

UPGRADE = (b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")

def frame(text):  # a masked text frame, as a client must send
    data, mask = text.encode(), os.urandom(4)
    return bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))

def upgrade(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(UPGRADE)
    return s

port, what = int(sys.argv[1]), sys.argv[2]
if what == "midframe":  # midframe TOKEN|-: a frame header announcing 100 bytes, 10 sent, closed
    s = upgrade(port)
    s.recv(999)
    if sys.argv[3] != "-":
        s.sendall(frame('{"token": "%s"}' % sys.argv[3]))
        time.sleep(0.2)
    s.sendall(b"\x81\xe4" + os.urandom(4) + b"x" * 10)
    s.close()
elif what == "upgrades":  # upgrades N: N upgrades held open together, then closed
    socks = [upgrade(port) for _ in range(int(sys.argv[3]))]
    answered = 0
    for s in socks:
        try:
            answered += s.recv(200).startswith(b"HTTP/1.1 101")
        except OSError:
            pass
    print(answered)
    time.sleep(1)
    for s in socks:
        s.close()
PY

# alive WHAT: tarsd still runs and its health answers 200
alive() {
	kill -0 "$SERVE_PID" 2>/dev/null
	ok $? "tarsd is alive after $1"
	_code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/api/v1/health")
	check "  and /api/v1/health answers 200 (got $_code)" test "$_code" = 200
}

for i in 1 2 3 4; do python3 "$TMP/ws.py" "$PORT" midframe -; done
sleep 1
alive "4 clients closed mid-frame without a token"
for i in 1 2 3 4; do python3 "$TMP/ws.py" "$PORT" midframe "$T"; done
sleep 1
alive "4 signed-in clients closed mid-frame"

n=$(python3 "$TMP/ws.py" "$PORT" upgrades $((2 * THREADS)))
check "the stream took $((THREADS - 2)) of $((2 * THREADS)) upgrades (got $n)" test "$n" = $((THREADS - 2))
alive "$((2 * THREADS)) upgrades at once"
check "  the refusals are logged" contains "$TMP/serve.log" "refused a client at 127.0.0.1"
# Refused calls are audited, and a refused upgrade is one (no token yet: who is null).
refused=$(api "/api/v1/audit?limit=200" | perl -MJSON::PP -e '
	print scalar grep { $_->{path} eq "/api/v1/stream" && $_->{status} == 503 &&
		$_->{outcome} eq "refused" && !defined $_->{who} && $_->{detail} =~ /streaming/ }
		@{decode_json(join "", <STDIN>)->{entries}}')
check "  and audited: $((THREADS + 2)) refusals of GET /api/v1/stream, 503 (got $refused)" test "$refused" = $((THREADS + 2))
n=$(python3 "$TMP/ws.py" "$PORT" upgrades $((2 * THREADS)))
check "once they have closed, the stream takes $((THREADS - 2)) again (got $n)" test "$n" = $((THREADS - 2))
alive "a second round"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGTERM stops it cleanly (exit $EXIT_CODE)" test "$EXIT_CODE" = 0
done_testing
