#!/bin/sh
# What tests/fuzz found, through a real tarsd: a request body with a NUL byte between JSON
# tokens (jansson skips it) made agent creation loop in the position scanner (host/jdoc.c),
# holding a worker and growing without bound. It is refused now, and tarsd stays healthy.
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
done_testing
