#!/bin/sh
# The JSON API against a real tarsd: every route, every role, bad input, unknown ids, the
# audit log, tokens, rate limits (SPEC §8).
. "$(dirname "$0")/../tap.sh"

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 2, "api_rate": 0, "api_address_rate": 0,
 "api_max_body_kb": 1, "api_max_depth": 8,
 "agents": [{"id": "policy", "agent": "random", "env": "cartpole", "n_envs": 4, "seed": 3}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
ADMIN=$(cat "$STATE_DIR/admin.token")
check "the first start writes an admin token" test -n "$ADMIN"
check "  readable by its owner only" test "$(stat -c %a "$STATE_DIR/admin.token")" = 600
check "  and logs where" contains "$TMP/serve.log" "admin.token"

# call METHOD PATH [BODY]: status in $CODE, body in $TMP/out, with $TOKEN (may be empty)
call() {
	_m=$1 _p=$2
	shift 2
	if [ -n "${TOKEN:-}" ]; then set -- -H "Authorization: Bearer $TOKEN" "$@"; fi
	CODE=$(curl -s --max-time 10 -o "$TMP/out" -w '%{http_code}' -X "$_m" "$@" \
		"http://127.0.0.1:$PORT$_p")
}
# expect STATUS ERROR-CODE DESCRIPTION: the last call answered so
expect() {
	_ok=1
	[ "$CODE" = "$1" ] || _ok=0
	[ -z "$2" ] || [ "$(json error.code <"$TMP/out")" = "$2" ] || _ok=0
	[ $_ok = 1 ] || diag "got $CODE: $(head -c 600 "$TMP/out")"
	ok $((1 - _ok)) "$3 -> $1${2:+ $2}"
}

# --- tokens and roles
TOKEN=
call GET /api/v1/health
expect 200 "" "health needs no token"
call GET /api/v1/agents
expect 401 unauthorized "no token"
check "  says how to send one" contains "$TMP/out" "Authorization: Bearer"
TOKEN=tars_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
call GET /api/v1/agents
expect 401 unauthorized "a made-up token"
TOKEN=$ADMIN
call GET /api/v1/whoami
expect 200 "" "whoami with the admin token"
check "  is admin" test "$(json role <"$TMP/out")" = admin
for role in viewer operator admin; do
	call POST /api/v1/tokens -d "{\"role\": \"$role\", \"name\": \"ci $role\"}"
	expect 201 "" "admin creates a $role token"
	eval "$(echo "$role" | tr a-z A-Z)=\$(json token <\"\$TMP/out\")"
	eval "${role}_id=\$(json id <\"\$TMP/out\")"
done
check "a token is tars_ and 43 base64url characters" \
	sh -c "echo '$VIEWER' | grep -Eq '^tars_[A-Za-z0-9_-]{43}$'"
call GET /api/v1/tokens
expect 200 "" "admin lists tokens"
check "  four of them" test "$(perl -MJSON::PP -e 'print scalar @{decode_json(join "", <STDIN>)->{tokens}}' <"$TMP/out")" = 4
check "  never with their secret or hash" sh -c "! grep -q -e tars_ -e hash '$TMP/out'"
call POST /api/v1/tokens -d '{"role": "root", "name": "x"}'
expect 400 invalid "a token with an unknown role"
call POST /api/v1/tokens -d '{"role": "viewer", "name": "x", "admin": true}'
expect 400 invalid "a token request with an unknown key"

TOKEN=$VIEWER
call GET /api/v1/agents
expect 200 "" "viewer reads agents"
call POST /api/v1/agents/policy/stop
expect 403 forbidden "viewer stops an agent"
check "  naming the role needed" contains "$TMP/out" "needs the operator role"
call POST /api/v1/tokens -d '{"role": "admin", "name": "x"}'
expect 403 forbidden "viewer creates a token"
TOKEN=$OPERATOR
call GET /api/v1/tokens
expect 403 forbidden "operator lists tokens"
call POST /api/v1/tokens -d '{"role": "admin", "name": "x"}'
expect 403 forbidden "operator creates a token"
call DELETE "/api/v1/tokens/$viewer_id"
expect 403 forbidden "operator revokes a token"

# --- plugins, version, openapi
TOKEN=$VIEWER
call GET /api/v1/version
expect 200 "" "version"
check "  names the ABI" test "$(json abi <"$TMP/out")" = 1.1
call GET /api/v1/plugins
expect 200 "" "plugins"
check "  lists ppo as a loaded agent" sh -c "perl -MJSON::PP -e 'exit !grep { \$_->{name} eq \"ppo\" && \$_->{kind} eq \"agent\" && \$_->{status} eq \"loaded\" } @{decode_json(join \"\", <STDIN>)->{plugins}}' <'$TMP/out'"
call GET /api/v1/plugins/ppo
expect 200 "" "plugin detail"
check "  with its schema" test "$(json schema.0.name <"$TMP/out")" = learning_rate
check "  and its presets" test "$(json defaults.cartpole.n_steps <"$TMP/out")" = 32
call GET /api/v1/plugins/nosuch
expect 404 not_found "an unknown plugin"
TOKEN=
call GET /api/v1/openapi.json
expect 200 "" "the OpenAPI document, without a token"
check "  is the one in docs/" test "$(json info.title <"$TMP/out")" = "tars API"

# --- agents: create, bad input
TOKEN=$OPERATOR
call POST /api/v1/agents -d '{"id": "learner", "agent": "ppo", "env": "cartpole"'
expect 400 bad_json "truncated JSON"
check "  says where" contains "$TMP/out" "request body:1:"
call POST /api/v1/agents -d "$(perl -e 'print "{\"a\":" x 9, "1", "}" x 9')"
expect 400 too_deep "nine levels of nesting (limit 8)"
call POST /api/v1/agents -d "{\"id\": \"x\", \"pad\": \"$(head -c 2000 /dev/zero | tr '\0' a)\"}"
expect 413 too_large "a 2 KiB body (limit 1 KiB)"
call POST /api/v1/agents -d '[1, 2]'
expect 400 invalid "a body that is not an object"
call POST /api/v1/agents -d '{"id": "Bad Id", "agent": "ppo", "env": "cartpole"}'
expect 400 invalid "an id with capitals and a space"
call POST /api/v1/agents -d '{"id": "learner", "agent": "ppo", "env": "cartpole",
  "params": {"learning_rate": 7, "nosuch": 1}}'
expect 400 invalid "out-of-range and unknown parameters"
check "  each reported with its position" test "$(json error.details.1 <"$TMP/out" | grep -c 'request body:')" = 1
check "  the range named" contains "$TMP/out" "out of range"
call POST /api/v1/agents -d '{"id": "learner", "agent": "dqn", "env": "pendulum"}'
expect 400 invalid "an agent on an env it cannot act in"
call POST /api/v1/agents -d '{"id": "policy", "agent": "random", "env": "cartpole"}'
expect 409 exists "an id already in use"
call POST /api/v1/agents -d '{"id": "learner", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 1}'
expect 201 "" "operator creates a PPO agent"
check "  running" test "$(json state <"$TMP/out")" = running
check "  from the API, with no checkpoint yet" test "$(json origin <"$TMP/out")/$(json checkpoint_step <"$TMP/out")" = api/null
check "  with the preset's parameters" test "$(json params.n_steps <"$TMP/out")" = 32

# Until episodes are in the history (the writer commits them within a period).
for i in $(seq 100); do
	api_ep=$(TOKEN=$VIEWER api /api/v1/agents/learner | json history.count)
	[ "${api_ep:-0}" -gt 5 ] 2>/dev/null && break
	sleep 0.1
done
TOKEN=$VIEWER
call GET /api/v1/agents/learner
expect 200 "" "agent detail"
check "  it trains" test "$(json steps <"$TMP/out")" -gt 0
check "  its record says it came from the API" test "$(json origin <"$TMP/out")" = api
check "  its history range is known" test "$(json history.count <"$TMP/out")" -gt 0
call GET /api/v1/agents/nosuch
expect 404 not_found "an unknown agent"
for sub in params history scalars checkpoints; do
	call GET "/api/v1/agents/nosuch/$sub"
	expect 404 not_found "  and its $sub"
done
call GET /api/v1/agents/learner/params
expect 200 "" "agent params"
check "  values and schema" test "$(json params.batch_size <"$TMP/out")/$(json schema.0.name <"$TMP/out")" = 256/learning_rate

# history paging
call GET "/api/v1/agents/learner/history?limit=2"
expect 200 "" "history, first page of 2"
check "  starts at episode 1" test "$(json episodes.0.episode <"$TMP/out")" = 1
check "  and says where the next starts" test "$(json next <"$TMP/out")" = 3
call GET "/api/v1/agents/learner/history?from=3&limit=2"
check "  the next page starts there" test "$(json episodes.0.episode <"$TMP/out")" = 3
call GET "/api/v1/agents/learner/history?tail=1"
check "  tail=1 is the newest" test "$(json episodes.0.episode <"$TMP/out")" = "$(json last <"$TMP/out")"
check "  and has no next page" test "$(json next <"$TMP/out")" = null
call GET "/api/v1/agents/learner/history?limit=0"
expect 400 bad_query "limit=0"
call GET "/api/v1/agents/learner/history?from=abc"
expect 400 bad_query "from=abc"
call GET "/api/v1/agents/learner/scalars?tail=5"
expect 200 "" "scalars"
for i in $(seq 50); do
	[ "$(TOKEN=$VIEWER api '/api/v1/agents/learner/scalars?tail=1' | json scalars.0.step)" != null ] && break
	sleep 0.1
done
call GET "/api/v1/agents/learner/scalars?tail=1"
check "  a record has the step and PPO's loss" test "$(json scalars.0.step <"$TMP/out")" != null -a "$(json scalars.0.loss <"$TMP/out")" != null

# --- lifecycle
TOKEN=$OPERATOR
call POST /api/v1/agents/learner/stop
expect 200 "" "operator stops the agent"
check "  stopped" test "$(json state <"$TMP/out")" = stopped
s1=$(json steps <"$TMP/out")
check "  the reply names the checkpoint it stands at" test "$(json checkpoint_step <"$TMP/out")" = "$s1"
for i in $(seq 50); do
	[ "$(TOKEN=$VIEWER api /api/v1/agents/learner/checkpoints | json checkpoints.0.step)" = "$s1" ] && break
	sleep 0.1
done
call GET /api/v1/agents/learner/checkpoints
check "  checkpointed where it stopped" test "$(json checkpoints.0.step <"$TMP/out")" = "$s1"
sleep 0.3
call GET /api/v1/agents/learner
check "  and does not step" test "$(json steps <"$TMP/out")" = "$s1"
call POST /api/v1/agents/learner/stop
expect 200 "" "stopping a stopped agent"
call POST /api/v1/agents/nosuch/start
expect 404 not_found "starting an unknown agent"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
start_serve --config "$TMP/tars.json"
ok $? "tarsd restarts"
TOKEN=$VIEWER
call GET /api/v1/agents/learner
expect 200 "" "the API-created agent is back"
check "  still stopped, at the same step" test "$(json state <"$TMP/out")/$(json steps <"$TMP/out")" = "stopped/$s1"
call GET /api/v1/whoami
expect 200 "" "tokens survive the restart"
TOKEN=$OPERATOR
call POST /api/v1/agents/learner/start
expect 200 "" "operator starts it again"
for i in $(seq 100); do
	[ "$(TOKEN=$VIEWER api /api/v1/agents/learner | json steps)" -gt "$s1" ] 2>/dev/null && break
	sleep 0.1
done
check "  it trains on from there" test "$(TOKEN=$VIEWER api /api/v1/agents/learner | json steps)" -gt "$s1"
call POST /api/v1/agents/learner/reset
expect 200 "" "operator resets it"
call GET /api/v1/agents/learner/history
check "  its history is gone" test "$(json last <"$TMP/out")" -lt 50
call GET /api/v1/agents/learner/checkpoints
check "  and its checkpoints" test "$(json checkpoints.0.step <"$TMP/out")" = null
call DELETE /api/v1/agents/learner
expect 403 forbidden "operator deletes an agent"
TOKEN=$ADMIN
call DELETE /api/v1/agents/policy
expect 409 not_allowed "deleting an agent the config lists"
call DELETE /api/v1/agents/learner
expect 200 "" "admin deletes the agent"
call GET /api/v1/agents/learner
expect 404 not_found "  it is gone"
call DELETE /api/v1/agents/learner
expect 404 not_found "  deleting it again"

# --- audit
TOKEN=$VIEWER
call GET "/api/v1/audit?limit=200"
expect 200 "" "the audit log"
check "  records the delete, by whom" sh -c "perl -MJSON::PP -e 'exit !grep { \$_->{method} eq \"DELETE\" && \$_->{path} eq \"/api/v1/agents/learner\" && \$_->{status} == 200 && \$_->{who}{role} eq \"admin\" } @{decode_json(join \"\", <STDIN>)->{entries}}' <'$TMP/out'"
check "  and refusals, with the reason" sh -c "perl -MJSON::PP -e 'exit !grep { \$_->{status} == 403 && \$_->{outcome} eq \"refused\" && \$_->{detail} =~ /operator role/ } @{decode_json(join \"\", <STDIN>)->{entries}}' <'$TMP/out'"
check "  and calls without a token" sh -c "perl -MJSON::PP -e 'exit !grep { \$_->{status} == 413 } @{decode_json(join \"\", <STDIN>)->{entries}}' <'$TMP/out'"
check "  never a token's text" sh -c "! grep -q tars_ '$TMP/out'"
call GET "/api/v1/audit?limit=2"
n2=$(json next_before <"$TMP/out")
call GET "/api/v1/audit?limit=2&before=$n2"
check "  pages backwards" test "$(json entries.0.seq <"$TMP/out")" -lt "$n2"

# --- revoking
TOKEN=$ADMIN
call DELETE "/api/v1/tokens/$viewer_id"
expect 200 "" "admin revokes the viewer token"
TOKEN=$VIEWER
call GET /api/v1/agents
expect 401 unauthorized "  which no longer works"
TOKEN=$ADMIN
call DELETE /api/v1/tokens/0123456789abcdef
expect 404 not_found "revoking an unknown token"
call PUT /api/v1/agents
expect 405 method_not_allowed "PUT on agents"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0

# --- rate limits: 2 requests at once per token, then 1 per second
sed -e 's/"api_rate": 0/"api_rate": 1, "api_burst": 2/' -e 's/"state_dir": "state"/"state_dir": "state2"/' \
	"$TMP/tars.json" >"$TMP/limited.json"
start_serve --config "$TMP/limited.json"
TOKEN=$(cat "$STATE_DIR/admin.token")
call GET /api/v1/agents
call GET /api/v1/agents
expect 200 "" "two requests within the burst"
CODE=$(curl -s -D "$TMP/headers" -o "$TMP/out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	"http://127.0.0.1:$PORT/api/v1/agents")
expect 429 rate_limited "the third at once"
check "  with Retry-After" grep -qi '^Retry-After: [1-9]' "$TMP/headers"
sleep 1.1
call GET /api/v1/agents
expect 200 "" "  and served again a second later"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

sed -e 's/"api_address_rate": 0/"api_address_rate": 1, "api_address_burst": 1/' \
	-e 's/"state_dir": "state"/"state_dir": "state3"/' "$TMP/tars.json" >"$TMP/limited.json"
start_serve --config "$TMP/limited.json"
TOKEN=
call GET /api/v1/health
call GET /api/v1/health
expect 429 rate_limited "per address, even without a token"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

done_testing
