#!/bin/sh
# Studies in tarsd (docs/studies.md): a study of PPO on CartPole runs its trials on the
# runners, two at a time, with the median pruner; tarsd is killed with -9 in the middle and the
# study completes after the restart with every completed trial intact. An external study is
# driven by ask, report and tell. The best trial becomes a proposal applied to a running agent.
. "$(dirname "$0")/../tap.sh"

mkdir "$TMP/m"
cp "$SRC"/manifests/*.json "$TMP/m/"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["m"],
 "plugin_dirs": ["$PLUGINS"], "runners": 2, "api_rate": 0, "api_address_rate": 0,
 "hypersync_mode": "always",
 "agents": [{"id": "live", "agent": "ppo", "env": "cartpole", "seed": 7}]}
JSON
cd "$TMP" || exit 1
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"

api /api/v1/studies -X POST -o "$TMP/bad.json" -w '%{http_code}' \
	-d '{"name": "x", "agent": "ppo", "env": "cartpole", "space": {"nope": {}}}' >"$TMP/bad.code"
check "a study of a parameter the agent lacks is refused (400)" test "$(cat "$TMP/bad.code")" = 400
check "  naming it" contains "$TMP/bad.json" "agent 'ppo' has no parameter 'nope'"
api /api/v1/studies -X POST -o "$TMP/bad2.json" -w '%{http_code}' \
	-d '{"name": "y", "agent": "ppo", "env": "cartpole", "params": {"gamma": 7}}' >"$TMP/bad2.code"
check "a study whose trials could not be built is refused at create (400)" test "$(cat "$TMP/bad2.code")" = 400
check "  naming why" contains "$TMP/bad2.json" "gamma"
api /api/v1/studies -X POST -o "$TMP/bad3.json" -w '%{http_code}' \
	-d '{"name": "z", "agent": "ppo", "env": "cartpole", "space": {"n_epochs": {"choices": [5, 100000]}}}' >"$TMP/bad3.code"
check "  as is one with a choice out of the parameter's range" test "$(cat "$TMP/bad3.code")" = 400

# Trials of 40,000 steps (seconds each), so that the kill lands among them.
api /api/v1/studies -X POST -o "$TMP/created.json" -w '%{http_code}' -d '{
  "name": "cp", "agent": "ppo", "env": "cartpole", "n_envs": 8,
  "space": {"learning_rate": {"low": 0.0001, "high": 0.003, "log": true},
            "ent_coef": {"low": 0, "high": 0.01}},
  "budget": 40960, "eval_every": 8192, "eval_episodes": 5, "n_trials": 8, "parallel": 2,
  "sampler": {"name": "tpe", "params": {"n_startup_trials": 3}},
  "pruner": {"name": "median", "params": {"n_startup_trials": 2}}}' >"$TMP/created.code"
check "a study of PPO on CartPole is created (201)" test "$(cat "$TMP/created.code")" = 201
ID=$(json id <"$TMP/created.json")

# Wait for two completed trials, then kill tarsd in the middle of the others.
for _i in $(seq 600); do
	api "/api/v1/studies/$ID" >"$TMP/s.json"
	[ "$(json trials.complete <"$TMP/s.json")" -ge 2 ] 2>/dev/null && break
	sleep 0.2
done
check "two trials complete" test "$(json trials.complete <"$TMP/s.json")" -ge 2
api /api/v1/agents >"$TMP/agents.json"
check "  its running trials are agents of the study" contains "$TMP/agents.json" '"origin":"study"'
api "/api/v1/studies/$ID/trials?state=COMPLETE" >"$TMP/before.json"
kill -KILL "$WORKER_PID" "$SERVE_PID" 2>/dev/null
sleep 0.5
start_serve --config "$TMP/tars.json"
ok $? "tarsd starts again after kill -9"
for _i in $(seq 1500); do
	api "/api/v1/studies/$ID" >"$TMP/s.json"
	[ "$(json state <"$TMP/s.json")" = COMPLETE ] && break
	sleep 0.2
done
check "the study completes after the restart" test "$(json state <"$TMP/s.json")" = COMPLETE
check "  with its 8 trials finished" \
	test "$(($(json trials.complete <"$TMP/s.json") + $(json trials.pruned <"$TMP/s.json")))" = 8
api "/api/v1/studies/$ID/trials?state=COMPLETE" >"$TMP/after.json"
perl -MJSON::PP -e '
	my ($a, $b) = map { local $/; open my $f, "<", $_ or die; JSON::PP->new->decode(<$f>) } @ARGV;
	my %after = map { $_->{number} => $_ } @{$b->{trials}};
	for my $t (@{$a->{trials}}) {
		my $u = $after{$t->{number}} or die "trial $t->{number} is gone\n";
		$u->{value} == $t->{value} or die "trial $t->{number}: $t->{value} became $u->{value}\n";
		$u->{params}{learning_rate} == $t->{params}{learning_rate} or die "params changed\n";
	}' "$TMP/before.json" "$TMP/after.json" 2>"$TMP/cmp.err"
ok $? "  every trial completed before the kill is intact (number, value, parameters)"
[ -s "$TMP/cmp.err" ] && diag "$(cat "$TMP/cmp.err")"
api "/api/v1/studies/$ID/best" >"$TMP/best.json"
check "the best trial is the one with the highest return" perl -MJSON::PP -e '
	my ($best, $t) = map { local $/; open my $f, "<", $_ or die; JSON::PP->new->decode(<$f>) } @ARGV;
	my ($max) = sort { $b <=> $a } map { $_->{value} } @{$t->{trials}};
	exit($best->{best}{value} == $max ? 0 : 1)' "$TMP/best.json" "$TMP/after.json"
api "/api/v1/studies/$ID/trials/0" >"$TMP/t0.json"
check "  trials carry their intermediate values" contains "$TMP/t0.json" '"intermediate":[[8192,'

# The best trial as a proposal for the running agent (approval "always": applied).
api "/api/v1/studies/$ID/propose" -X POST -o "$TMP/prop.json" -w '%{http_code}' \
	-d '{"agent": "live"}' >"$TMP/prop.code"
check "the best trial becomes a proposal for agent 'live'" test "$(cat "$TMP/prop.code")" = 201
check "  applied" test "$(json state <"$TMP/prop.json")" = applied
check "  with the expected improvement measured" test "$(json expected_improvement <"$TMP/prop.json")" != null
api /api/v1/agents/live >"$TMP/live.json"
check "  the agent runs with the best trial's learning rate" \
	test "$(json params.learning_rate <"$TMP/live.json")" = "$(json best.params.learning_rate <"$TMP/best.json")"

# Ask and tell: an objective computed here, (x - 2)^2 + [k == "b"].
api /api/v1/studies -X POST -o "$TMP/ext.json" -d '{"name": "ext", "sampler": "tpe",
  "pruner": "median", "directions": ["minimize"],
  "space": {"x": {"type": "float", "low": -10, "high": 10},
            "k": {"type": "categorical", "choices": ["a", "b"]}}}'
EXT=$(json id <"$TMP/ext.json")
fails=0
for n in $(seq 0 29); do
	api "/api/v1/studies/$EXT/ask" -X POST -d '{}' >"$TMP/ask.json"
	num=$(json number <"$TMP/ask.json")
	[ "$num" = "$n" ] || fails=$((fails + 1))
	x=$(json params.x <"$TMP/ask.json")
	k=$(json params.k <"$TMP/ask.json")
	v=$(perl -e "printf '%.17g', ($x - 2) ** 2 + ('$k' eq 'b' ? 1 : 0)")
	api "/api/v1/studies/$EXT/trials/$num/tell" -X POST -d "{\"value\": $v}" >/dev/null
done
check "30 trials asked and told over the API, numbered 0-29" test "$fails" = 0
api "/api/v1/studies/$EXT/best" >"$TMP/extbest.json"
check "  TPE finds x near 2 with k = a" perl -e 'exit(!($ARGV[0] < 0.5))' "$(json best.value <"$TMP/extbest.json")"
api "/api/v1/studies/$EXT/ask" -X POST -d '{"params": {"x": 2.0, "k": "a"}}' >"$TMP/enq.json"
check "an enqueued trial runs with the given values" test "$(json params.x <"$TMP/enq.json")" = 2
N=$(json number <"$TMP/enq.json")
api "/api/v1/studies/$EXT/trials/$N/report" -X POST -d '{"step": 1, "value": 5}' >"$TMP/rep.json"
check "  a report answers whether to prune" contains "$TMP/rep.json" '"prune":'
api "/api/v1/studies/$EXT/trials/$N/report" -X POST -o "$TMP/rep2.json" -w '%{http_code}' \
	-d '{"step": 1, "value": 5}' >"$TMP/rep2.code"
check "  a report at a step already reported is refused (400)" test "$(cat "$TMP/rep2.code")" = 400
api "/api/v1/studies/$EXT/trials/$N/tell" -X POST -o "$TMP/tell2.json" -w '%{http_code}' \
	-d '{"values": [1, 2]}' >"$TMP/tell2.code"
check "  a tell with two values for one objective is refused (400)" test "$(cat "$TMP/tell2.code")" = 400

# Two objectives: nsga2 by default, and the Pareto front as the best.
api /api/v1/studies -X POST -o "$TMP/mo.json" -d '{"name": "mo", "directions": ["minimize", "minimize"],
  "space": {"x": {"type": "float", "low": 0, "high": 1}}}'
MO=$(json id <"$TMP/mo.json")
check "a study of two objectives samples with nsga2 by default" test "$(json spec.sampler.name <"$TMP/mo.json")" = nsga2
for n in $(seq 0 19); do
	api "/api/v1/studies/$MO/ask" -X POST -d '{}' >"$TMP/ask.json"
	x=$(json params.x <"$TMP/ask.json")
	api "/api/v1/studies/$MO/trials/$n/tell" -X POST \
		-d "{\"values\": [$x, $(perl -e "print((1 - $x) ** 2)")]}" >/dev/null
done
api "/api/v1/studies/$MO/best" >"$TMP/front.json"
check "  its best is the Pareto front: all 20 trials (x against (1 - x)^2)" \
	test "$(perl -MJSON::PP -e 'local $/; print scalar @{JSON::PP->new->decode(<STDIN>)->{pareto_front}}' <"$TMP/front.json")" = 20

# Categorical dimensions of numbers and of any text, as written.
api /api/v1/studies -X POST -o "$TMP/cat.json" -d '{"name": "cat", "sampler": "random",
  "space": {"lr": {"type": "categorical", "choices": [0.001, 0.01]},
            "act": {"type": "categorical", "choices": ["ReLU", "tanh"]}}}'
CAT=$(json id <"$TMP/cat.json")
api "/api/v1/studies/$CAT/ask" -X POST -d '{}' >"$TMP/c1.json"
check "a categorical dimension of numbers gives a number" \
	sh -c "case '$(json params.lr <"$TMP/c1.json")' in 0.001|0.01) exit 0;; esac; exit 1"
check "  and one of text gives the text" \
	sh -c "case '$(json params.act <"$TMP/c1.json")' in ReLU|tanh) exit 0;; esac; exit 1"
api "/api/v1/studies/$CAT/ask" -X POST -d '{"params": {"lr": 0.01, "act": "ReLU"}}' >"$TMP/c2.json"
check "  an enqueued trial names them as written" \
	test "$(json params.lr <"$TMP/c2.json") $(json params.act <"$TMP/c2.json")" = "0.01 ReLU"
api "/api/v1/studies/$CAT/ask" -X POST -o "$TMP/c3.json" -w '%{http_code}' -d '{"params": {"lr": 5}}' >"$TMP/c3.code"
check "  and a value that is not a choice is refused (400)" test "$(cat "$TMP/c3.code")" = 400

# The stream carries the studies' metrics every 2 s.
"$B/tests/tools/wsclient" "$PORT" /api/v1/stream --send "{\"token\": \"$(cat "$STATE_DIR/admin.token")\"}" \
	--seconds 3 >"$TMP/ws" 2>&1
check "the stream sends a studies event: each study's state and best value" \
	sh -c "grep -q '\"type\":\"studies\"' '$TMP/ws' && grep -q '\"name\":\"cp\",\"state\":\"COMPLETE\"' '$TMP/ws'"

# tarsctl: the same studies, by name.
ctl() { "$TARSCTL" --url "http://127.0.0.1:$PORT" --token-file "$STATE_DIR/admin.token" "$@" \
	>"$TMP/out" 2>"$TMP/err"; }
ctl studies
ok $? "tarsctl studies lists them"
check "  with cp complete" grep -q "^ *$ID  *cp  *ppo  *COMPLETE  *100%" "$TMP/out"
ctl study show cp
check "tarsctl study show cp names the tuners" sh -c "grep -q 'sampler *tpe' '$TMP/out' && grep -q 'pruner *median' '$TMP/out'"
ctl study trials cp --state COMPLETE
check "tarsctl study trials --state COMPLETE lists only completed ones" \
	sh -c "grep -q COMPLETE '$TMP/out' && ! grep -q PRUNED '$TMP/out'"
ctl study best cp
check "tarsctl study best gives the best trial" grep -q "^trial $(json best.number <"$TMP/best.json"):" "$TMP/out"
ctl study best nope
check "  an unknown name fails in one line" sh -c "[ \$? -ne 0 ] || true; one() { [ \$(wc -l <'$TMP/err') -eq 1 ]; }; one && grep -q \"no study named 'nope'\" '$TMP/err'"
ctl --json study show ext
check "  --json prints the API's reply alone" test "$(json name <"$TMP/out")" = ext
api "/api/v1/studies/$ID" -X DELETE -o /dev/null -w '%{http_code}' >"$TMP/del.code"
check "a study is deleted (200)" test "$(cat "$TMP/del.code")" = 200
api /api/v1/agents >"$TMP/agents2.json"
check "  with its agents (the kept best one, and any a crash left behind)" sh -c "! grep -q '\"origin\":\"study\"' '$TMP/agents2.json'"
done_testing
