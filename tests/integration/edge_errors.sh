#!/bin/sh
# CivetWeb's own errors (issue 10, finding 9): requests it refuses before the API sees them
# (a bad length, a long path or header, an odd method, a mangled request line, an HTTP version
# it does not speak) are answered with the API's JSON error and the right status, and the
# reply never repeats any of the request (path, headers, version).
. "$(dirname "$0")/../tap.sh"

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"

# raw.py PORT NAME: sends one malformed request (each carries the markers zzpath and hunter2),
# prints "STATUS-LINE|CONTENT-TYPE|ERROR-CODE|ECHO" where ECHO says whether a marker came back.
cat >"$TMP/raw.py" <<'PY'
import json, socket, sys
H = b"Host: x\r\nX-Secret: hunter2\r\n"
cases = {
    "length": b"POST /api/v1/zzpath HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n",
    "long-path": b"GET /api/v1/zzpath" + b"a" * 20000 + b" HTTP/1.1\r\n" + H + b"\r\n",
    "long-header": b"GET /api/v1/zzpath HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n",
    "odd-method": b"FOO /api/v1/zzpath HTTP/1.1\r\n" + H + b"\r\n",
    "control-method": b"G\x01T /api/v1/zzpath HTTP/1.1\r\n" + H + b"\r\n",
    "split-method": b"G ET /api/v1/zzpath HTTP/1.1\r\n" + H + b"\r\n",
    "bad-header": b"GET /api/v1/zzpath HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n",
    "version": b"GET /api/v1/zzpath HTTP/2.0\r\n" + H + b"\r\n",
}
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
try:
    s.sendall(cases[sys.argv[2]])
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
data = b""
while True:
    try:
        d = s.recv(65536)
    except OSError:
        break
    if not d:
        break
    data += d
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
ctype = [l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("content-type:")]
try:
    code = json.loads(body)["error"]["code"]
except Exception:
    code = "not-json"
echo = "echo" if (b"zzpath" in data or b"hunter2" in data or b"2.0" in data) else "no-echo"
print("%s|%s|%s|%s" % (lines[0], ctype[0] if ctype else "", code, echo))
PY

# refused NAME STATUS CODE: the malformed request gets STATUS as JSON with CODE, and no echo
refused() {
	_got=$(python3 "$TMP/raw.py" "$PORT" "$1")
	_want="HTTP/1.1 $2 $(printf '%s' "$_got" | sed 's/^HTTP\/1.1 [0-9]* \([^|]*\)|.*/\1/')|application/json|$3|no-echo"
	check "$1: $2 $3 as JSON, nothing of the request repeated (got '$_got')" test "$_got" = "$_want"
}
refused length 411 length_required
refused long-path 400 bad_request
refused long-header 400 bad_request
refused odd-method 400 bad_request
refused control-method 400 bad_request
refused split-method 400 bad_request
refused bad-header 400 bad_request
refused version 505 http_version

code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/api/v1/health")
check "the API still answers (health $code)" test "$code" = 200
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGTERM stops it cleanly (exit $EXIT_CODE)" test "$EXIT_CODE" = 0
done_testing
