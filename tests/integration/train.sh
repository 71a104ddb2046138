#!/bin/sh
# tarsd train: the JSON report, determinism for a seed, --target, --save.
. "$(dirname "$0")/../tap.sh"

T="$TARSD train --manifests $SRC/manifests --plugins $PLUGINS"

$T --agent random --env cartpole --n-envs 8 --steps 100000 --seed 4 --json >"$TMP/a.json" 2>"$TMP/err"
ok $? "train exits 0"
for key in steps wall_s sps episodes eval_mean_return reached_target steps_to_target wall_to_target_s; do
	check "the report has $key" perl -MJSON::PP -e 'exit !exists JSON::PP->new->decode(<STDIN>)->{$ARGV[0]}' "$key" <"$TMP/a.json"
done
check "it ran exactly the steps asked" test "$(json steps <"$TMP/a.json")" -eq 100000
check "episodes finished" test "$(json episodes <"$TMP/a.json")" -gt 1000
check "a positive step rate" perl -e 'exit !($ARGV[0] > 0)' "$(json sps <"$TMP/a.json")"
check "random play scores like random play (eval mean $(json eval_mean_return <"$TMP/a.json"))" \
	perl -e 'exit !($ARGV[0] > 8 && $ARGV[0] < 60)' "$(json eval_mean_return <"$TMP/a.json")"
check "no target, nothing reached" test "$(json reached_target <"$TMP/a.json")" = null
check "--json prints nothing else" one_line "$TMP/a.json"

$T --agent random --env cartpole --n-envs 8 --steps 100000 --seed 4 --json >"$TMP/b.json" 2>/dev/null
check "same seed, same episodes" test "$(json episodes <"$TMP/a.json")" = "$(json episodes <"$TMP/b.json")"
check "same seed, same evaluation" test "$(json eval_mean_return <"$TMP/a.json")" = "$(json eval_mean_return <"$TMP/b.json")"
$T --agent random --env cartpole --n-envs 8 --steps 100000 --seed 5 --json >"$TMP/c.json" 2>/dev/null
check "another seed, other episodes" test "$(json episodes <"$TMP/a.json")" != "$(json episodes <"$TMP/c.json")"

$T --agent random --env cartpole --steps 1000000 --eval-every 2000 --eval-episodes 10 --target 10 --json >"$TMP/t.json" 2>/dev/null
ok $? "train with a target exits 0"
check "random play reaches a mean of 10" test "$(json reached_target <"$TMP/t.json")" = true
check "  at the first evaluation" test "$(json steps_to_target <"$TMP/t.json")" -eq 2000
check "  and stops there" test "$(json steps <"$TMP/t.json")" -eq 2000
check "  with its wall time" perl -e 'exit !($ARGV[0] > 0)' "$(json wall_to_target_s <"$TMP/t.json")"

$T --agent random --env cartpole --steps 1000 --eval-episodes 5 --target 1000 --json >"$TMP/u.json" 2>/dev/null
check "an unreachable target is reported as not reached" test "$(json reached_target <"$TMP/u.json")" = false
check "  with no step count" test "$(json steps_to_target <"$TMP/u.json")" = null

$T --agent random --env cartpole --steps 5000 --save "$TMP/agent.blob" >"$TMP/h.txt" 2>&1
ok $? "train --save exits 0"
check "the state blob is written" test "$(head -c 8 "$TMP/agent.blob")" = TARSBLOB
check "the human report says what ran" grep -qE '^random on cartpole: 5000 steps, [0-9]+ episodes in' "$TMP/h.txt"
check "  and the evaluation" contains "$TMP/h.txt" "evaluation over 20 episodes: mean return"
$T --agent random --env cartpole --steps 5000 --save "$TMP/nodir/agent.blob" >/dev/null 2>"$TMP/err"
check "an unwritable --save path fails" contains "$TMP/err" "cannot write $TMP/nodir/agent.blob"

done_testing
