#!/bin/sh
# tarsd serve end to end: a random agent on cartpole trains, health shows its steps advance,
# SIGHUP picks up a new manifest, SIGTERM stops it cleanly.
. "$(dirname "$0")/../tap.sh"

mkdir "$TMP/m" "$TMP/late"
cp "$SRC"/manifests/*.json "$TMP/m/"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["m"],
 "plugin_dirs": ["$PLUGINS", "late"], "runners": 2, "runner_nice": 3, "http_nice": 7,
 "agents": [{"id": "policy", "agent": "random", "env": "cartpole", "n_envs": 8, "seed": 3},
            {"id": "consensus", "agent": "random", "env": "cartpole", "n_envs": 4}]}
JSON

start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts and listens on a free port"
check "the state dir is created relative to the config" test -d "$TMP/state"

curl -s "http://127.0.0.1:$PORT/api/v1/health" >"$TMP/health"
check "health says ok, without a token" test "$(json status <"$TMP/health")" = ok
check "  and counts the agents" test "$(json agents <"$TMP/health")" = 2
api /api/v1/agents >"$TMP/h1"
check "the agents list shows the policy agent" test "$(json agents.0.id <"$TMP/h1")" = policy
check "  with its plugins" test "$(json agents.0.agent <"$TMP/h1")/$(json agents.0.env <"$TMP/h1")" = random/cartpole
# Wait for progress rather than sleeping a fixed time.
for i in $(seq 100); do
	api /api/v1/agents >"$TMP/h2"
	[ "$(json agents.0.episodes <"$TMP/h2")" -gt 0 ] 2>/dev/null && break
	sleep 0.1
done
s1=$(json agents.0.steps <"$TMP/h1")
s2=$(json agents.0.steps <"$TMP/h2")
check "steps advance ($s1 -> $s2)" test "$s2" -gt "$s1"
check "episodes finish" test "$(json agents.0.episodes <"$TMP/h2")" -gt 0
check "the second agent runs too" test "$(json agents.1.state <"$TMP/h2")" = running
check "steps count env transitions (a multiple of n_envs)" test $(($(json agents.1.steps <"$TMP/h2") % 4)) -eq 0

curl -s -o "$TMP/405" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/api/v1/health" >"$TMP/code"
check "POST on health is 405" test "$(cat "$TMP/code")" = 405
check "  with a JSON error" test "$(json error.code <"$TMP/405")" = method_not_allowed
curl -s -o "$TMP/404" -w '%{http_code}' "http://127.0.0.1:$PORT/api/v1/nothing" >"$TMP/code"
check "an unknown route is 404" test "$(cat "$TMP/code")" = 404

# "NAME NICE" for each of the daemon's threads.
threads() { for s in /proc/$WORKER_PID/task/*/stat; do sed 's/^[0-9]* (\(.*\)) \(.*\)/\1 \2/' "$s" | awk '{print $1, $18}'; done; }
threads >"$TMP/threads"
check "the runners run at runner_nice (3)" sh -c "grep '^tars-runner' '$TMP/threads' | awk '\$2 != 3 {exit 1} END {exit NR != 2}'"
check "  the HTTP workers at http_nice (7)" sh -c "grep '^civetweb-worker' '$TMP/threads' | awk '\$2 != 7 {exit 1} END {exit NR == 0}'"
check "  the control thread at tarsd's own (0)" sh -c "awk '\$1 == \"tarsd\" && \$2 != 0 {exit 1}' '$TMP/threads'"

# SIGHUP: a manifest added while running is tried; a refused one is tried again.
printf '{"name": "testagent", "kind": "agent", "version": "0.1.0", "abi": "1.1",\n "library": "late-good.so", "description": "x"}\n' >"$TMP/m/testagent.json"
kill -HUP "$SERVE_PID"
for i in $(seq 100); do grep -q "rescanned" "$TMP/serve.log" && break; sleep 0.1; done
check "SIGHUP rescans the manifests" contains "$TMP/serve.log" "SIGHUP: rescanned manifests: 0 new, 1 refused"
check "  and says why the new one was refused" contains "$TMP/serve.log" "library 'late-good.so' not found"
cp "$B/tests/plugins/test-good.so" "$TMP/late/late-good.so"
kill -HUP "$SERVE_PID"
for i in $(seq 100); do grep -q "1 new" "$TMP/serve.log" && break; sleep 0.1; done
check "a second SIGHUP retries it once its library is there" contains "$TMP/serve.log" "SIGHUP: rescanned manifests: 1 new, 0 refused"
check "  and loads it" contains "$TMP/serve.log" "loaded agent testagent 0.1.0"
check "  while the agents keep running" test "$(api /api/v1/agents | json agents.0.state)" = running

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
ok $? "SIGTERM stops tarsd"
check "  with exit code 0" test "$EXIT_CODE" -eq 0
check "  logging a clean stop" contains "$TMP/serve.log" '"msg":"stopped cleanly"'
check "  and each agent's final count" contains "$TMP/serve.log" '"source":"policy","msg":"stopped after'
# (ASan warns once, on its own line, that it follows the API's stack switches only partly.)
check "logs are JSON lines" perl -MJSON::PP -ne 'next if /^==\d+==WARNING: ASan doesn.t fully support makecontext/; JSON::PP->new->decode($_)' "$TMP/serve.log"

start_serve --config "$TMP/tars.json"
ok $? "a second start works"
kill -INT "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGINT stops it with exit code 0" test "$EXIT_CODE" -eq 0

done_testing
