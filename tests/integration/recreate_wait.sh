#!/bin/sh
# A re-creation builds the agent anew, which takes seconds for a large network (an orthogonal
# initialisation is cubic in the width): it must not hold the run set's lock meanwhile, or
# every start, stop and change of every other agent waits behind it, nor HyperSync's lock, or
# every other proposal does (a fuzz_router find: a PATCH of "hidden" with "recreate" held both
# for a minute on the fuzz build). While one agent
# is re-created with 1,024-wide layers, another is stopped and started and changed, and the
# re-creation is still in progress when they are done.
. "$(dirname "$0")/../tap.sh"

mkdir "$TMP/m"
cp "$SRC"/manifests/*.json "$TMP/m/"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["m"],
 "plugin_dirs": ["$PLUGINS"], "runners": 2, "api_rate": 0, "api_address_rate": 0,
 "agents": [{"id": "big", "agent": "ppo", "env": "cartpole", "seed": 1},
            {"id": "other", "agent": "a2c", "env": "cartpole", "seed": 2}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts with two agents"

# The slow call, in the background: its curl exits when the answer comes.
api /api/v1/agents/big/params --max-time 600 -X PATCH -o "$TMP/big.json" -w '%{http_code}' \
	-d '{"params": {"hidden": 1024}, "recreate": true}' >"$TMP/big.code" &
BIG=$!
# Let the call reach the re-creation (milliseconds; the networks take seconds), then work on
# the other agent.
sleep 0.3
api /api/v1/agents/other/stop -X POST -o /dev/null -w '%{http_code}\n' >"$TMP/other.codes"
api /api/v1/agents/other/start -X POST -o /dev/null -w '%{http_code}\n' >>"$TMP/other.codes"
api /api/v1/agents/other/params -X PATCH -o /dev/null -w '%{http_code}\n' \
	-d '{"params": {"learning_rate": 0.0005}}' >>"$TMP/other.codes"
kill -0 "$BIG" 2>/dev/null
big_pending=$?
check "the other agent is stopped, started and changed (200 each)" \
	test "$(tr '\n' ' ' <"$TMP/other.codes")" = "200 200 200 "
ok "$big_pending" "  while the re-creation of the large one is still in progress"
wait "$BIG"
check "the re-creation answers (its saved state does not fit 1,024-wide layers: 409)" \
	test "$(cat "$TMP/big.code")" = 409
check "  saying why" grep -q "cannot take its saved state" "$TMP/big.json"
api /api/v1/agents/big >"$TMP/big2.json"
check "  and the agent goes on as it was" test "$(json params.hidden <"$TMP/big2.json")" = 64
done_testing
