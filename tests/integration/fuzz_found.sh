#!/bin/sh
# What tests/fuzz found, end to end. A request body with a NUL byte between JSON tokens
# (jansson skips it) was read out of step by the position scanner (host/config/jdoc.c), which could
# loop on it, holding a worker and growing without bound: it is refused now, and tarsd stays
# healthy. tarsctl converted a reply's time or uptime too large for its integer types, which
# is undefined behaviour (UBSan stops it): it prints the number now.
. "$(dirname "$0")/../tap.sh"

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "api_rate": 0, "api_address_rate": 0}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
ADMIN=$(cat "$STATE_DIR/admin.token")

# The body as tests/fuzz/corpus/router/found-nul-in-body sends it.
printf '{"id": "n1", "agent": "random", "n_envs": 2\000, "env": "cartpole"}' >"$TMP/body"
CODE=$(curl -s --max-time 20 -o "$TMP/out" -w '%{http_code}' -X POST \
	-H "Authorization: Bearer $ADMIN" --data-binary @"$TMP/body" \
	"http://127.0.0.1:$PORT/api/v1/agents")
check "a NUL byte between tokens is refused with 400 (got '$CODE')" test "$CODE" = 400
check "  saying where" contains "$TMP/out" "a NUL byte, which JSON text cannot hold"
check "  and no agent was created" \
	test "$(api /api/v1/agents/n1 -o /dev/null -w '%{http_code}')" = 404
check "tarsd still answers /health" \
	test "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/health")" = 200

# A tarsd that answers every request with one body (fuzz_tarsctl's found-huge-created-time).
cat >"$TMP/fake.py" <<'PY'
import http.server, sys
body = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_port))
s.serve_forever()
PY
# fake BODY: serves BODY, sets FAKE_PORT
fake() {
	printf '%s' "$1" >"$TMP/fake.json"
	rm -f "$TMP/fake.port"
	python3 "$TMP/fake.py" "$TMP/fake.json" "$TMP/fake.port" &
	_pids="$_pids $!"
	FAKE_PID=$!
	for _i in $(seq 100); do [ -s "$TMP/fake.port" ] && break; sleep 0.1; done
	FAKE_PORT=$(cat "$TMP/fake.port")
}
fake '{"tokens": [{"name": "admin", "role": "admin", "created": 1.8e21, "created_by": "tarsd", "id": "7ae85c2d2ddc3187"}]}'
"$TARSCTL" --url "http://127.0.0.1:$FAKE_PORT" --token tars_x token list >"$TMP/out" 2>"$TMP/err"
ok $? "tarsctl token list shows a creation time past time_t's range"
check "  as the number it is" contains "$TMP/out" "1800000000000000000000"
kill "$FAKE_PID"
fake '{"status": "ok", "version": "0.1.0", "uptime_s": 1e300, "agents": 0}'
"$TARSCTL" --url "http://127.0.0.1:$FAKE_PORT" health >"$TMP/out" 2>"$TMP/err"
check "tarsctl health shows an uptime past long long's range, clamped" contains "$TMP/out" "up 37037d"
[ -s "$TMP/err" ] && diag "$(cat "$TMP/err")"
kill "$FAKE_PID"
done_testing
