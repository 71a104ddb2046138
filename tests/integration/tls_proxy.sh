#!/bin/sh
# TLS: tarsd refuses a certificate its CivetWeb cannot serve, and the documented nginx site
# (packaging/nginx/tars.conf) serves the API and the stream's upgrade over HTTPS, with the
# client's address reaching the audit log through trusted_proxies.
. "$(dirname "$0")/../tap.sh"

cat >"$TMP/tls.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "tls-state", "tls_cert": "cert.pem"}
JSON
"$TARSD" serve --config "$TMP/tls.json" >"$TMP/out" 2>"$TMP/err"
check "a tls_cert this CivetWeb cannot serve is refused" test $? -ne 0
check "  in one line" one_line "$TMP/err"
check "  pointing to the proxy setup" contains "$TMP/err" "put a TLS proxy such as nginx in front of tarsd"
check "  without a token left behind" test ! -e "$TMP/tls-state/admin.token"

if ! command -v nginx >/dev/null || ! command -v openssl >/dev/null; then
	echo "# nginx or openssl missing (packaging/deps.sh test installs them)"
	ok 1 "nginx and openssl are installed"
	done_testing
	exit
fi

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "trusted_proxies": ["127.0.0.1"],
 "agents": [{"id": "policy", "agent": "random", "env": "cartpole", "n_envs": 2}]}
JSON
start_serve --config "$TMP/tars.json" --manifests "$SRC/manifests" --plugins "$PLUGINS"
ok $? "tarsd starts on loopback"
T=$(cat "$STATE_DIR/admin.token")

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
ok $? "a self-signed certificate"
TLS_PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
# The shipped site, with this test's ports and files, inside a minimal nginx.conf.
mkdir -p "$TMP/nginx"
sed -e "s#server 127.0.0.1:8080#server 127.0.0.1:$PORT#" -e "s#listen 443 ssl#listen 127.0.0.1:$TLS_PORT ssl#" \
	-e '/listen \[::\]:443/d' -e "s#/etc/ssl/tars/fullchain.pem#$TMP/cert.pem#" \
	-e "s#/etc/ssl/tars/privkey.pem#$TMP/key.pem#" "$SRC/packaging/nginx/tars.conf" >"$TMP/nginx/site.conf"
cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    include $TMP/nginx/site.conf;
}
CONF
nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>"$TMP/nginx/start.log" &
NGINX_PID=$!
_pids="$_pids $NGINX_PID"
for i in $(seq 100); do
	curl -s --cacert "$TMP/cert.pem" "https://127.0.0.1:$TLS_PORT/api/v1/health" >"$TMP/health" 2>/dev/null && break
	sleep 0.1
done
check "nginx serves tarsd's health over HTTPS" test "$(json status <"$TMP/health")" = ok
curl -s --cacert "$TMP/cert.pem" -H "Authorization: Bearer $T" -H "X-Forwarded-For: 6.6.6.6" \
	-X POST "https://127.0.0.1:$TLS_PORT/api/v1/agents/policy/stop" >"$TMP/stop"
check "  and the API with a token" test "$(json state <"$TMP/stop")" = stopped
curl -s --cacert "$TMP/cert.pem" "https://127.0.0.1:$TLS_PORT/" >"$TMP/index"
check "  and the UI" grep -qi "<html\|<!doctype" "$TMP/index"
curl -s --cacert "$TMP/cert.pem" -H "Authorization: Bearer $T" "https://127.0.0.1:$TLS_PORT/api/v1/audit?limit=1" >"$TMP/audit"
check "the audit log has the client's address, not a spoofed one" test "$(json entries.0.address <"$TMP/audit")" = 127.0.0.1
curl -s -H "Authorization: Bearer $T" -H "X-Forwarded-For: 10.9.8.7" -X POST \
	"http://127.0.0.1:$PORT/api/v1/agents/policy/start" >/dev/null
check "  and, from a trusted proxy, the address it forwarded" \
	test "$(api '/api/v1/audit?limit=1' | json entries.0.address)" = 10.9.8.7
code=$(curl -s -o "$TMP/stop2" -w '%{http_code}' -H "Authorization: Bearer $T" \
	-H "$(printf 'X-Forwarded-For: 10.0.0.1, \377not-an-address')" -X POST \
	"http://127.0.0.1:$PORT/api/v1/agents/policy/stop")
check "  but what is not an address is not believed: the call still works ($code)" test "$code" = 200
check "  and is audited with the proxy's address" \
	test "$(api '/api/v1/audit?limit=1' | json entries.0.address)" = 127.0.0.1
curl -s -i --http1.1 --max-time 2 --cacert "$TMP/cert.pem" -H "Connection: Upgrade" -H "Upgrade: websocket" \
	-H "Sec-WebSocket-Version: 13" -H "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" \
	"https://127.0.0.1:$TLS_PORT/api/v1/stream" >"$TMP/upgrade" 2>/dev/null
check "the stream's WebSocket upgrade passes through" grep -q "^HTTP/1.1 101" "$TMP/upgrade"

kill -TERM "$NGINX_PID" "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
