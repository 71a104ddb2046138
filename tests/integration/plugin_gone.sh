#!/bin/sh
# An agent created through the API whose plugin is gone at the next start (its package
# removed, its library deleted) does not keep tarsd from starting: the other agents resume,
# the log names the agent and why, its record and checkpoints stay in the store, and a start
# that has the plugin again resumes it from its checkpoint. An agent the config names still
# stops the start, with a line naming it (the config asks for something that is not there).
. "$(dirname "$0")/../tap.sh"

mkdir -p "$TMP/plugins" "$TMP/manifests"
cp "$PLUGINS/env-cartpole.so" "$PLUGINS/agent-random.so" "$PLUGINS/agent-a2c.so" "$TMP/plugins/"
cp "$SRC/manifests/cartpole.json" "$SRC/manifests/random.json" "$SRC/manifests/a2c.json" "$TMP/manifests/"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "$TMP/state", "manifest_dirs": ["$TMP/manifests"],
 "plugin_dirs": ["$TMP/plugins"], "checkpoint_every_s": 0.2,
 "agents": [{"id": "stays", "agent": "random", "env": "cartpole", "seed": 1}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
code=$(api /api/v1/agents -X POST -o "$TMP/create" -w '%{http_code}' \
	-d '{"id": "goes", "agent": "a2c", "env": "cartpole", "seed": 2}')
check "an agent is created through the API ($code)" test "$code" = 201
for _i in $(seq 100); do [ "$(api /api/v1/agents/goes | json steps)" -gt 2000 ] 2>/dev/null && break; sleep 0.1; done
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
STEPS=$(grep -o '"goes","msg":"stopped after [0-9]*' "$TMP/serve.log" | grep -o '[0-9]*$')
check "  and stops, checkpointed at step ${STEPS:-?}" test "${STEPS:-0}" -gt 0

mv "$TMP/plugins/agent-a2c.so" "$TMP/a2c.so"
mv "$TMP/manifests/a2c.json" "$TMP/a2c.json"
start_serve --config "$TMP/tars.json"
ok $? "with its plugin gone, tarsd still starts" || diag "$(tail -n 3 "$TMP/serve.log")"
check "  the config's agent trains" sh -c "grep -q '\"source\":\"stays\",\"msg\":\"resumed at step' '$TMP/serve.log'"
check "  and the log says which agent waits, and why" \
	grep -q "\"source\":\"goes\",\"msg\":\"not resumed: unknown agent 'a2c'" "$TMP/serve.log"
check "  which the API does not list" test "$(api /api/v1/agents/goes -o /dev/null -w '%{http_code}')" = 404
code=$(api /api/v1/agents -X POST -o "$TMP/again" -w '%{http_code}' \
	-d '{"id": "goes", "agent": "random", "env": "cartpole"}')
check "  and whose id a new agent cannot take ($code): it would inherit its checkpoints" \
	sh -c "test $code = 409 && grep -q 'waiting for its plugin; delete it first' '$TMP/again'" ||
	diag "$(cat "$TMP/again")"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "  and stops cleanly" test "$EXIT_CODE" = 0

mv "$TMP/a2c.so" "$TMP/plugins/agent-a2c.so"
mv "$TMP/a2c.json" "$TMP/manifests/a2c.json"
start_serve --config "$TMP/tars.json"
ok $? "the plugin back, tarsd starts"
check "  and the agent resumes from its checkpoint (step $STEPS)" \
	grep -q "\"source\":\"goes\",\"msg\":\"resumed at step $STEPS," "$TMP/serve.log"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

# A delete forgets a waiting agent: its record and checkpoints go, its id is free again.
mv "$TMP/plugins/agent-a2c.so" "$TMP/a2c.so"
start_serve --config "$TMP/tars.json"
code=$(api /api/v1/agents/goes -X DELETE -o "$TMP/del" -w '%{http_code}')
check "a waiting agent can be deleted ($code)" test "$code" = 200 || diag "$(cat "$TMP/del")"
code=$(api /api/v1/agents/goes -X DELETE -o /dev/null -w '%{http_code}')
check "  once ($code)" test "$code" = 404
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
mv "$TMP/a2c.so" "$TMP/plugins/agent-a2c.so"
start_serve --config "$TMP/tars.json"
check "  and with its plugin back, it is gone for good" sh -c "! grep -q '\"source\":\"goes\"' '$TMP/serve.log'"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

# The config's own agent on a plugin that is gone: the start fails, naming it.
mv "$TMP/plugins/agent-random.so" "$TMP/random.so"
mv "$TMP/manifests/random.json" "$TMP/random.json"
timeout 60 "$TARSD" serve --config "$TMP/tars.json" >"$TMP/out" 2>"$TMP/err"
check "a config agent whose plugin is gone still stops the start ($?)" test $? = 1
check "  naming the agent and the plugin" grep -q "agent 'stays' (in the state dir): unknown agent 'random'" "$TMP/err" ||
	diag "$(cat "$TMP/err")"
done_testing
