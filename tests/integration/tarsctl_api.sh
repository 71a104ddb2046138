#!/bin/sh
# tarsctl against a real tarsd: each API command in human and --json form, how tarsctl finds
# tarsd and a token (options, environment, tarsd's config and state dir), and its errors: one
# line each, exit 1 for failures and 2 for bad command lines (SPEC §8).
. "$(dirname "$0")/../tap.sh"
unset TARS_URL TARS_TOKEN

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "scalars_every_s": 0.05,
 "agents": [{"id": "policy", "agent": "random", "env": "cartpole", "n_envs": 2, "seed": 3}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
URL=http://127.0.0.1:$PORT
ADMIN=$(cat "$STATE_DIR/admin.token")
# The config tarsctl reads: the same state dir, and the port tarsd picked.
sed "s/127.0.0.1:0/127.0.0.1:$PORT/" "$TMP/tars.json" >"$TMP/ctl.json"

# ctl ARGS...: runs tarsctl; stdout in $TMP/out, stderr in $TMP/err, exit code in $RC
ctl() {
	"$TARSCTL" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}
# fails CODE TEXT DESCRIPTION: the last ctl exited CODE with one line on stderr holding TEXT
fails() {
	[ "$RC" -eq "$1" ] || diag "exit $RC, stderr: $(cat "$TMP/err")"
	check "$3: exit $1" test "$RC" -eq "$1"
	check "  in one line" one_line "$TMP/err"
	check "  saying: $2" contains "$TMP/err" "$2"
}
# has REGEX DESCRIPTION: a line of the last ctl's stdout matches
has() {
	if grep -Eq -- "$1" "$TMP/out"; then ok 0 "$2"; else
		diag "no line matches $1 in:" "$(cat "$TMP/out" "$TMP/err")"
		ok 1 "$2"
	fi
}
# no_token_shown: neither output of the last ctl holds a token
no_token_shown() { check "  no token printed" sh -c "! grep -q tars_ '$TMP/out' '$TMP/err'"; }

# --- finding tarsd and a token
ctl --config "$TMP/ctl.json" whoami
check "--config: tarsd's address and admin token from its config" test $RC -eq 0
has '^role +admin$' "  the admin token"
has "^from +$STATE_DIR/admin.token\$" "  read from the state dir"
no_token_shown
ctl whoami --url "$URL" --state "$STATE_DIR" --json
check "--state and --url, after the command: the admin token" test "$(json role <"$TMP/out")" = admin
ctl --config "$TMP/tars.json" agents
fails 1 "a port chosen at start: give --url" "a config listening on port 0"
ctl --url "$URL" --state "$TMP/nowhere" agents
fails 1 "cannot read the admin token $TMP/nowhere/admin.token: No such file" "no token anywhere"
(cd "$TMP" && "$TARSCTL" --url "$URL" agents >"$TMP/out" 2>"$TMP/err")
RC=$?
fails 1 "var/admin.token" "no token, no config: the default state dir"
ctl --url "$URL" --token-file "$TMP/none.token" agents
fails 1 "cannot read the token file $TMP/none.token: No such file or directory" "a missing token file"
printf '%s\n' "$ADMIN" >"$TMP/admin.copy"
ctl --url "$URL" --token-file "$TMP/admin.copy" whoami
has '^role +admin$' "--token-file"
ctl --url "$URL" --token tars_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA agents
fails 1 "the token is not valid (revoked or mistyped?); the token came from --token" "a made-up token"
ctl --url ftp://x agents
fails 2 "--url needs an http:// or https:// URL" "a URL that is not http"
export TARS_URL="$URL" TARS_TOKEN="$ADMIN"

# --- health, version, plugins
ctl health --state "$TMP/nowhere"
check "health needs no token" test $RC -eq 0
has "^ok: tarsd [0-9.]+ at $URL, up " "  says ok, the version and the address"
ctl --json health
check "  --json: the API's reply" test "$(json status <"$TMP/out")" = ok
ctl version
has '^tarsd +[0-9.]+ \(plugin ABI 1\.1, SDK ' "version: the server's"
has '^tarsctl +[0-9.]+ \(plugin ABI 1\.1\)' "  and tarsctl's"
ctl version --json
check "  --json" test "$(json abi <"$TMP/out")" = 1.1
ctl plugins
has '^NAME +KIND +VERSION +ABI +STATUS +DESCRIPTION$' "plugins: a table"
has '^ppo +agent +1\.0\.0 +1\.1 +loaded +Proximal' "  with ppo loaded"
ctl plugin show ppo
has '^presets +cartpole, ' "plugin show: its presets"
has '^learning_rate +float \(log\) +0\.0003 +\[1e-07, 1\] +yes +Adam' "  its schema, with range and hot flag"
ctl plugin show ppo --json
check "  --json" test "$(json schema.0.name <"$TMP/out")" = learning_rate
ctl plugin show nosuch
fails 1 "tarsctl: no plugin 'nosuch'" "an unknown plugin"

# --- agents
ctl agents
has '^ID +AGENT +ENV +STATE +STEPS +STEPS/S +EPISODES +MEAN RETURN$' "agents: a table"
has '^policy +random +cartpole +running +[0-9,]+ ' "  with the configured agent"
ctl --json agents
check "  --json" test "$(json agents.0.id <"$TMP/out")" = policy
ctl agent create learner --agent ppo --env cartpole --preset cartpole --n-envs 2 --seed 7 \
	--set learning_rate=0.002 --set normalize_advantage=false --set lr_schedule=constant \
	--set=n_epochs=3 --env-set max_episode_steps=200
check "agent create" test $RC -eq 0
has '^created agent learner: ppo on cartpole, 2 envs, running$' "  says what it created"
ctl agent show learner --json
check "  --set numbers become numbers" test "$(json params.learning_rate <"$TMP/out")/$(json params.n_epochs <"$TMP/out")" = 0.002/3
check "  true/false booleans, other text strings" test "$(json params.normalize_advantage <"$TMP/out")/$(json params.lr_schedule <"$TMP/out")" = false/constant
check "  --env-set, --seed and --n-envs" test "$(json env_params.max_episode_steps <"$TMP/out")/$(json seed <"$TMP/out")/$(json n_envs <"$TMP/out")" = 200/7/2
ctl agent show learner
has '^agent +ppo 1\.0\.0$' "agent show: the plugin"
has '^env +cartpole 1\.0\.0 \(2 envs, seed 7\)$' "  the env, envs and seed"
has '^preset +cartpole$' "  the preset"
has '^params +.*learning_rate=0\.002' "  the parameters"
ctl params get learner
has '^PARAMETER +VALUE +TYPE +DEFAULT +RANGE +HOT +HELP$' "params get: a table"
has '^learning_rate +0\.002 +float \(log\) +0\.0003 +\[1e-07, 1\] +yes ' "  value, type, default, range, hot"
has '^n_steps +32 +int +2048 +\[1, 1000000\] +no ' "  a parameter that is not hot"
has '^max_episode_steps +200 +int ' "  and the env's"
ctl params get learner --json
check "  --json" test "$(json params.learning_rate <"$TMP/out")" = 0.002
ctl agent create bad --agent ppo --env cartpole --set learning_rate=abc
fails 1 "tarsctl: parameter 'learning_rate' needs a number, not 'abc'" "a --set value of the wrong type"
ctl agent create bad --agent ppo --env cartpole --set learning_rate=7 --json
check "  --json prints the API's error" test "$(json error.code <"$TMP/out")" = invalid
check "  and still one line on stderr" contains "$TMP/err" "out of range [1e-07, 1]"
ctl agent create learner --agent ppo --env cartpole
fails 1 "tarsctl: agent 'learner' already exists" "an id already in use"
ctl agent show nosuch
fails 1 "tarsctl: no agent 'nosuch'" "an unknown agent"
ctl history nosuch
fails 1 "tarsctl: no agent 'nosuch'" "  its history"

# --- records
for i in $(seq 100); do
	ctl --json scalars policy --tail 1
	[ "$(json scalars.0.step <"$TMP/out")" != null ] && break
	sleep 0.1
done
ctl history policy --tail 2
has '^ *EPISODE +STEP +RETURN +LENGTH +TIME$' "history: a table"
check "  two episodes" test "$(grep -cE '^ *[0-9,]+ +[0-9,]+ +[0-9.]+ +[0-9,]+ +[0-9]{4}-' "$TMP/out")" = 2
has '^episodes [0-9,]+ to [0-9,]+ kept$' "  and what is kept"
ctl history policy --limit 2
next=$(sed -n 's/.*next page: tarsctl history policy --from \([0-9]*\) --limit 2$/\1/p' "$TMP/out")
check "  a page says how to get the next" test -n "$next"
ctl --json history policy --from "$next" --limit 2
check "  which starts there" test "$(json episodes.0.episode <"$TMP/out")" = "$next"
ctl scalars policy --tail 1
has '^ *SEQ +STEP +TIME +sticky$' "scalars: one column per scalar"
ctl agent stop learner
has '^agent learner is stopped at step [0-9,]+$' "agent stop"
ctl --json agent show learner
step=$(json steps <"$TMP/out")
for i in $(seq 100); do
	ctl --json checkpoints learner
	[ "$(json checkpoints.0.step <"$TMP/out")" = "$step" ] && break
	sleep 0.1
done
check "checkpoints --json: the checkpoint of the stop" test "$(json checkpoints.0.step <"$TMP/out")" = "$step"
ctl checkpoints learner
has '^ *STEP +EPISODES +TIME +SIZE$' "checkpoints: a table"
grouped=$(perl -e '$_ = shift; 1 while s/^(\d+)(\d{3})/$1,$2/; print' "$step")
has "^ *$grouped +[0-9,]+ +[0-9]{4}-" "  with that step, digits grouped ($grouped)"
ctl agent start learner
has '^agent learner is running at step ' "agent start"
ctl agent reset learner
has '^agent learner is running at step ' "agent reset"

# --- tokens and roles
ctl token create --role viewer --name ci
check "token create" test $RC -eq 0
VIEWER=$(head -n 1 "$TMP/out")
check "  prints the token alone on the first line" sh -c "echo '$VIEWER' | grep -Eq '^tars_[A-Za-z0-9_-]{43}$'"
has '^token id [0-9a-f]+, role viewer, name .ci., expires never: ' "  then its id, role and expiry"
vid=$(sed -n 's/^token id \([0-9a-f]*\),.*/\1/p' "$TMP/out")
ctl token create --role operator --name ops --json
check "  --json" test "$(json role <"$TMP/out")" = operator
OPER=$(json token <"$TMP/out")
ctl token list
has '^ID +NAME +ROLE +CREATED +BY +EXPIRES +OLD SECRET UNTIL +LAST USED$' "token list: a table"
has "^$vid +ci +viewer " "  with the new token"
no_token_shown
ctl --json token list
check "  --json" test "$(json tokens.0.id <"$TMP/out")" != null
TARS_TOKEN=$VIEWER ctl whoami
has '^role +viewer$' "TARS_TOKEN"
has '^from +\$TARS_TOKEN$' "  named as the source"
no_token_shown
TARS_TOKEN=$VIEWER ctl agent stop policy
fails 1 "needs the operator role; this token is viewer" "a viewer stopping an agent"
TARS_TOKEN=$VIEWER ctl token list
fails 1 "needs the admin role" "a viewer listing tokens"
# --- parameter changes and HyperSync proposals (an admin applies, an operator proposes)
ctl params set policy sticky=0.25 --reason "less sticky"
check "params set as admin: applied at once" test $RC -eq 0
has '^proposal [0-9]+ applied to policy: sticky 0 -> 0\.25 \(published in [0-9.]+ [µm]?s, ' \
	"  says old -> new and the publish latency"
ctl --json params get policy
check "  the agent has the new value" test "$(json params.sticky <"$TMP/out")" = 0.25
ctl params policy
has '^sticky +0\.25 +float ' "params ID: the same as params get"
ctl params set policy sticky=2
fails 1 "tarsctl: params: parameter 'sticky' = 2 is out of range [0, 1]" \
	"a value out of range: names the parameter and its range"
ctl params set policy --env max_episode_steps=abc
fails 1 "parameter 'max_episode_steps' needs a number, not 'abc'" "  an env value of the wrong type"
ctl params set policy nosuch=1
fails 1 "unknown parameter 'nosuch'" "  an unknown parameter"
ctl params set learner n_steps=64
fails 1 "parameter 'n_steps' of agent 'learner' is not HOT" "  a parameter that is not HOT, without --recreate"
ctl --json agent show learner
before=$(json steps <"$TMP/out")
ctl params set learner n_steps=64 --env max_episode_steps=300 --recreate
has '^proposal [0-9]+ applied to learner: n_steps 32 -> 64, env max_episode_steps 200 -> 300 \(re-created in ' \
	"  with --recreate: the agent is re-created with it"
ctl --json agent show learner
check "  and trains on with the new values" \
	test "$(json params.n_steps <"$TMP/out")/$(json env_params.max_episode_steps <"$TMP/out")/$(json state <"$TMP/out")" = 64/300/running
check "  from where it stood: its steps go on ($before -> $(json steps <"$TMP/out"))" \
	test "$(json steps <"$TMP/out")" -ge "$before"
ctl params set policy sticky
fails 2 "a change needs KEY=VALUE, not 'sticky'" "params set: a word without ="
ctl params set policy
fails 2 "nothing to change: give KEY=VALUE" "params set without a change"
ctl params set policy sticky=0.1 --expected much
fails 2 "--expected needs a number, not 'much'" "a bad --expected"

TARS_TOKEN=$OPER ctl params set policy sticky=0.5 --reason explore --expected 0.1
has '^proposal [0-9]+ for policy is pending approval: sticky 0\.25 -> 0\.5 ' \
	"an operator's params set is a proposal, pending approval"
p1=$(sed -n 's/^proposal \([0-9]*\) for policy is pending approval.*/\1/p' "$TMP/out")
ctl --json params get policy
check "  which changes nothing yet" test "$(json params.sticky <"$TMP/out")" = 0.25
TARS_TOKEN=$OPER ctl --json propose policy sticky=0.75
check "propose --json: the proposal, pending approval" test "$(json state <"$TMP/out")" = pending_approval
p2=$(json id <"$TMP/out")
ctl proposals --state pending_approval
has '^ *ID +AGENT +STATE +CHANGES +BY +WHEN$' "proposals: a table"
has "^ *$p1 +policy +pending_approval +sticky 0\\.25 -> 0\\.5 +ops \\(operator\\) +[0-9]{4}-" \
	"  with the pending proposal: old -> new, who, when"
has '^approval mode manual$' "  and the approval mode"
ctl --json proposals --agent policy --limit 1
check "  --json, --agent and --limit: the newest" test "$(json proposals.0.id <"$TMP/out")/$(json proposals.1 <"$TMP/out")" = "$p2/null"
ctl proposals --state nosuch
fails 1 "unknown state 'nosuch' (known: proposed, " "  an unknown state"
TARS_TOKEN=$OPER ctl approve "$p1"
fails 1 "needs the admin role; this token is operator" "an operator's approve: refused (403)"
ctl approve "$p1" --reason "worth a try"
has "^proposal $p1 applied to policy: sticky 0\\.25 -> 0\\.5 \\(published in " "approve: applied"
ctl --json params get policy
check "  the agent has the approved value" test "$(json params.sticky <"$TMP/out")" = 0.5
ctl proposal "$p1"
has '^state +applied$' "proposal ID: its state"
has '^changes +sticky 0\.25 -> 0\.5$' "  its changes"
has '^rationale +explore$' "  the rationale"
has '^expected +0\.1$' "  the expected improvement"
has '^proposed by +ops \(operator\), [0-9]{4}-' "  who proposed it, when"
has '^decided by +admin \(first start\) \(admin\)$' "  who decided"
has '^outcome +version [0-9]+, published in ' "  the outcome"
has "pending_approval +tarsd +approval mode 'manual'\$" "  its history, step by step"
has 'approved +admin \(first start\) \(admin\) +worth a try$' "  with the approver's reason"
ctl reject "$p2" --reason "too sticky"
has "^proposal $p2 for policy rejected: sticky 0\\.25 -> 0\\.75\$" "reject: the change as it was proposed"
ctl --json proposal "$p2"
check "  the proposal is rejected" test "$(json state <"$TMP/out")" = rejected
ctl --json params get policy
check "  and the agent unchanged" test "$(json params.sticky <"$TMP/out")" = 0.5
ctl approve "$p2"
fails 1 "proposal $p2 is rejected, not pending approval" "approving a decided proposal"
ctl approve 999999
fails 1 "tarsctl: no proposal 999999" "an unknown proposal"
ctl approve x
fails 2 "a proposal ID is a whole number from 1, not 'x'" "a proposal ID that is not one"
TARS_TOKEN=$OPER ctl propose policy sticky=0.3
p3=$(sed -n 's/^proposal \([0-9]*\) for policy is pending approval.*/\1/p' "$TMP/out")
ctl proposals reject "$p3"
has "^proposal $p3 for policy rejected: " "proposals reject ID: the same as reject"
TARS_TOKEN=$VIEWER ctl propose policy sticky=0.3
fails 1 "needs the operator role; this token is viewer" "a viewer's proposal: refused"

ctl agent delete learner
has '^deleted agent learner and its records$' "agent delete"
ctl agent delete policy
fails 1 "listed in the config" "deleting an agent of the config"

# --- audit
ctl audit --limit 50
has '^ *SEQ +TIME +WHO +ADDRESS +METHOD +PATH +STATUS +DETAIL$' "audit: a table"
has "admin \\(first start\\) \\(admin\\) +127\\.0\\.0\\.1 +DELETE +/api/v1/agents/learner +200" "  with the delete and who did it"
has "ci \\(viewer\\) .* 403 +.*operator role" "  and the refusal"
no_token_shown
ctl audit --limit 1
before=$(sed -n 's/^older entries: tarsctl audit --before \([0-9]*\) --limit 1$/\1/p' "$TMP/out")
check "  a page says how to get older entries" test -n "$before"
ctl --json audit --before "$before" --limit 1
check "  --before pages back" test "$(json entries.0.seq <"$TMP/out")" -lt "$before"
ctl token revoke "$vid"
has "^revoked token $vid\$" "token revoke"
TARS_TOKEN=$VIEWER ctl agents
fails 1 "the token is not valid (revoked or mistyped?); the token came from \$TARS_TOKEN" "  the revoked token"

# --- bad command lines: exit 2, one line
ctl agents extra
fails 2 "unexpected argument 'extra'" "an extra argument"
ctl agents --frob
fails 2 "unknown option '--frob'" "an unknown option"
ctl agent create x --agent ppo
fails 2 "missing --env" "agent create without --env"
ctl agent create x --agent ppo --env cartpole --set learning_rate
fails 2 "--set needs KEY=VALUE, not 'learning_rate'" "a --set without ="
ctl agent create x --agent ppo --env cartpole --n-envs many
fails 2 "--n-envs needs a whole number, not 'many'" "a --n-envs that is not a number"
ctl history policy --tail 2 --from 1
fails 2 "give --tail or --from/--limit, not both" "--tail with --from"
ctl agent show
fails 2 "missing ID" "agent show without an id"
ctl agent
fails 2 "'agent' needs a subcommand: show, create" "agent alone"
ctl frob
fails 2 "unknown command 'frob'" "an unknown command"
ctl token create --name x
fails 2 "missing --role" "token create without --role"
ctl agents --timeout 0
fails 2 "--timeout needs seconds in [1, 3600]" "a zero timeout"
ctl agent create --help
check "a command's --help" test $RC -eq 0
has '^usage: tarsctl agent create ID --agent A --env E ' "  prints its usage"
ctl --help
has '^  token create --role viewer\|operator\|admin --name NAME' "tarsctl --help lists the commands"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
ctl health
fails 1 "cannot reach tarsd at $URL: " "a daemon that is not running"

done_testing
