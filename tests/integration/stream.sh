#!/bin/sh
# The WebSocket stream: several clients get batches of live events (each its filter), see
# agents added, stopped and removed, a client that stops reading is dropped while the others
# go on, and a client without a valid token is closed.
. "$(dirname "$0")/../tap.sh"
WS=$B/tests/tools/wsclient

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 2, "stream_buffer_kb": 64,
 "agents": [{"id": "alpha", "agent": "random", "env": "cartpole", "n_envs": 16},
            {"id": "beta", "agent": "random", "env": "acrobot", "n_envs": 4}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
T=$(cat "$STATE_DIR/admin.token")

"$WS" "$PORT" /api/v1/stream --send '{"token": "tars_nope"}' --seconds 10 >"$TMP/bad" 2>&1
check "a bad token is closed with 1008" grep -q '^close 1008 sign in first' "$TMP/bad"
"$WS" "$PORT" /api/v1/stream --send '{"agents": []}' --seconds 10 >"$TMP/notoken" 2>&1
check "  as is a first message without a token" grep -q '^close 1008' "$TMP/notoken"

# Three readers and one client that reads nothing for 8 s through a tiny window.
"$WS" "$PORT" /api/v1/stream --send "{\"token\": \"$T\"}" --seconds 12 >"$TMP/a" &
A=$!
"$WS" "$PORT" /api/v1/stream --send "{\"token\": \"$T\"}" --seconds 12 >"$TMP/a2" &
A2=$!
"$WS" "$PORT" /api/v1/stream --send "{\"token\": \"$T\", \"agents\": [\"beta\", \"gamma\"]}" \
	--seconds 12 >"$TMP/b" &
BB=$!
"$WS" "$PORT" /api/v1/stream --send "{\"token\": \"$T\"}" --rcvbuf 4096 --stall 8 --seconds 14 \
	>"$TMP/slow" &
S=$!
sleep 2
api /api/v1/agents -X POST -d '{"id": "gamma", "agent": "random", "env": "pendulum", "n_envs": 2}' >"$TMP/created"
check "an agent is created while they listen" test "$(json state <"$TMP/created")" = running
sleep 1
api /api/v1/agents/alpha/params -X PATCH -d '{"params": {"sticky": 0.5}, "env_params": {"max_episode_steps": 300}}' >/dev/null
api /api/v1/agents/beta/stop -X POST >/dev/null
api /api/v1/agents/gamma/reset -X POST >/dev/null
sleep 1
api /api/v1/agents/gamma -X DELETE >/dev/null
wait $A $A2 $BB $S

# events TYPE FILE: the number of events of that type in a client's output
events() { perl -MJSON::PP -e 'my $n = 0; while (<STDIN>) { next unless /^\{/; $n += grep { $_->{type} eq $ARGV[0] } @{decode_json($_)->{events}} } print $n' "$1" <"$2"; }
check "the first message is a snapshot of the agents" \
	test "$(head -n 1 "$TMP/a" | json events.0.type)/$(head -n 1 "$TMP/a" | json events.0.agents.1.id)" = snapshot/beta
na=$(grep -c '^{' "$TMP/a")
check "a reader gets batches all along ($na in 12 s)" test "$na" -ge 30
check "  a second one too" test "$(grep -c '^{' "$TMP/a2")" -ge 30
check "  with finished episodes" test "$(events episodes "$TMP/a")" -gt 0
check "  progress with steps/s" sh -c "grep -q '\"type\":\"progress\",\"agent\":\"alpha\",\"steps\":[0-9]*,\"episodes\":[0-9]*,\"sps\":[0-9]' '$TMP/a'"
check "  the agent added" test "$(events added "$TMP/a")" -ge 1
check "  the stop" sh -c "grep -q '\"type\":\"status\",\"agent\":\"beta\",\"state\":\"stopped\"' '$TMP/a'"
check "  the checkpoint the stop took" sh -c "grep -q '\"type\":\"checkpoint\",\"agent\":\"beta\"' '$TMP/a'"
check "  the parameter change, both scopes" sh -c "grep -q '\"type\":\"params\",\"agent\":\"alpha\",\"version\":1,\"params\":{\"sticky\":0.5},\"env_params\":{\"max_episode_steps\":300' '$TMP/a'"
check "  the reset" test "$(events reset "$TMP/a")" -ge 1
check "  and the removal" test "$(events removed "$TMP/a")" -ge 1
check "a filtered client sees only its agents" \
	sh -c "! grep -q '\"agent\":\"alpha\"' '$TMP/b' && grep -q '\"agent\":\"beta\"' '$TMP/b'"
check "  the stop of its agent" sh -c "grep -q '\"state\":\"stopped\"' '$TMP/b'"
check "  and the one it named before it existed" test "$(events added "$TMP/b")" -ge 1
check "the client that stopped reading is dropped" contains "$TMP/serve.log" "dropped the client at 127.0.0.1"
check "  it ends with a close frame or a cut connection" sh -c "tail -n 1 '$TMP/slow' | grep -Eq '^(close 1008|eof)'"
check "  only that one" test "$(grep -c 'dropped the client' "$TMP/serve.log")" = 1
check "the agents kept training" test "$(api /api/v1/agents | json agents.0.state)" = running

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
