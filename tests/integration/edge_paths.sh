#!/bin/sh
# Issue 10, finding 8: a %00 must not cut a path short (/api/v1/tokens%00.css was served as
# /api/v1/tokens): a path with a NUL or another control byte is refused with a 400 JSON error,
# in the API and among the UI's files, and the API's refusal is audited.
. "$(dirname "$0")/../tap.sh"

mkdir -p "$TMP/www"
echo '<!doctype html><title>t</title>' >"$TMP/www/index.html"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "www_dir": "$TMP/www"}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
ADMIN=$(cat "$STATE_DIR/admin.token")

# refused PATH DESCRIPTION: 400 bad_path, as JSON
refused() {
	CODE=$(curl -s --max-time 10 --path-as-is -o "$TMP/out" -w '%{http_code}' \
		-H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$PORT$1")
	_code=$(perl -MJSON::PP -e 'print eval { decode_json(join "", <STDIN>)->{error}{code} } // "-"' <"$TMP/out")
	[ "$CODE/$_code" = 400/bad_path ] || diag "got $CODE: $(head -c 300 "$TMP/out")"
	ok $([ "$CODE/$_code" = 400/bad_path ] && echo 0 || echo 1) "$2 -> 400 bad_path"
}

refused '/api/v1/tokens%00.css' "the tokens route with %00.css"
check "  the message names the byte" contains "$TMP/out" 'control byte (0x00)'
refused '/api/v1/health%00' "health with a trailing %00"
refused '/api/v1/agents%0a' "a %0A in an API path"
refused '/api/v1/agents%7F' "a %7F in an API path"
refused '/api/v1/agents/%2e%2e/start' "an encoded .. segment"
refused '/api/v1/agents%zz' "a malformed escape"
refused '/index.html%00.css' "a UI file with %00.css"
refused '/index%00.html' "a UI file with %00 inside"
refused '/%2e%2e/etc/passwd' "an encoded .. among the UI's files"

CODE=$(curl -s --max-time 10 -o "$TMP/out" -w '%{http_code}' "http://127.0.0.1:$PORT/index%2Ehtml")
check "an encoded, harmless byte still works (index%2Ehtml -> 200)" test "$CODE" = 200
check "  serving the file" contains "$TMP/out" "<title>t</title>"
CODE=$(curl -s --max-time 10 -o "$TMP/out" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/h%65alth")
check "so does an encoded letter in an API path" test "$CODE" = 200

for _i in $(seq 100); do
	api "/api/v1/audit?limit=100" >"$TMP/audit.json"
	grep -qF '%00.css' "$TMP/audit.json" && break
	sleep 0.1
done
check "the API's refusal is in the audit log, as sent" perl -MJSON::PP -e '
	exit !grep { $_->{path} eq "/api/v1/tokens%00.css" && $_->{status} == 400 }
		@{decode_json(join "", <STDIN>)->{entries}}' <"$TMP/audit.json"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
