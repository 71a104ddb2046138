#!/bin/sh
# Issue 10, finding 10: the UI's files. A symlink in www_dir that leads out of it
# (leak.json -> /etc/passwd) is not followed, nor is an absolute one; a relative symlink that
# stays inside is (Debian's Chart.js -> chart.js is one). Static files have a rate limit of
# their own per address (static_rate, static_burst): 429 JSON with Retry-After, while the API
# keeps its own budget.
. "$(dirname "$0")/../tap.sh"

W=$TMP/www
mkdir -p "$W/sub" "$TMP/outside"
echo '<!doctype html><title>t</title>' >"$W/index.html"
echo 'export const inside = 1;' >"$W/sub/real.js"
echo '{"secret": "outside www_dir"}' >"$TMP/outside/secret.json"
ln -s /etc/passwd "$W/leak.json"
ln -s ../outside/secret.json "$W/climb.json"
ln -s "$TMP/outside" "$W/dir"
ln -s "$W/sub/real.js" "$W/absolute.js"
ln -s sub/real.js "$W/alias.js"
ln -s ../../outside/secret.json "$W/sub/up.json"

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "www_dir": "$W"}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"

# get PATH: status in $CODE, body in $TMP/out, headers in $TMP/head
get() {
	CODE=$(curl -s --max-time 10 -D "$TMP/head" -o "$TMP/out" -w '%{http_code}' "http://127.0.0.1:$PORT$1")
}
# not_served PATH DESCRIPTION: 404 JSON, and nothing of what lies outside
not_served() {
	get "$1"
	_code=$(perl -MJSON::PP -e 'print eval { decode_json(join "", <STDIN>)->{error}{code} } // "-"' <"$TMP/out")
	_ok=0
	[ "$CODE/$_code" = 404/not_found ] || _ok=1
	! grep -q -e 'root:' -e secret "$TMP/out" || _ok=1
	[ $_ok = 0 ] || diag "got $CODE: $(head -c 300 "$TMP/out")"
	ok $_ok "$2 -> 404 JSON, nothing leaked"
}

get /index.html
check "a plain file is served" test "$CODE" = 200
not_served /leak.json "leak.json -> /etc/passwd"
not_served /climb.json "a relative symlink climbing out"
not_served /sub/up.json "a symlink in a subdir climbing out"
not_served /dir/secret.json "a symlinked dir outside"
not_served /absolute.js "an absolute symlink, even to a file inside"
get /alias.js
check "a relative symlink that stays inside is followed" test "$CODE" = 200
check "  serving its target" contains "$TMP/out" "inside = 1"
get /vendor/chart.js/Chart.js
check "Debian's Chart.js -> chart.js (a symlink within chartjs_dir) is served" test "$CODE" = 200

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

# --- the rate limit
sed -e 's/"www_dir"/"static_rate": 0.2, "static_burst": 3, "www_dir"/' "$TMP/tars.json" >"$TMP/limited.json"
start_serve --config "$TMP/limited.json"
ok $? "tarsd serve starts with static_rate 0.2/s, static_burst 3"
codes=""
for _i in 1 2 3 4; do
	get /index.html
	codes="$codes $CODE"
done
check "three files at once, the fourth refused (got$codes)" test "$codes" = " 200 200 200 429"
check "  with Retry-After" grep -qi '^Retry-After: [0-9]' "$TMP/head"
check "  as JSON" test "$(json error.code <"$TMP/out")" = rate_limited
CODE=$(curl -s --max-time 10 -o "$TMP/out" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/health")
check "the API keeps its own budget (health -> 200)" test "$CODE" = 200
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
