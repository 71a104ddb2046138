#!/bin/sh
# ABI growth (SPEC §4): plugins built from the FROZEN 1.0 headers (tests/abi/1.0) load and run
# on this host, and a plugin linked against a newer libtars-sdk is refused in one sentence.
# ABI_PLUGINS names the dir of the test builds (default: this build's), so that an older tarsd
# can be pointed at them: TARS_BUILD=/old/build ABI_PLUGINS=build/tests/plugins prove ...
. "$(dirname "$0")/../tap.sh"

TP=${ABI_PLUGINS:-$B/tests/plugins}
mkdir "$TMP/m"
for kind in agent env solver exporter; do
	"$TARSCTL" plugin manifest "$TP/abi/abi10-$kind.so" -o "$TMP/m/abi10-$kind.json" 2>"$TMP/err"
	ok $? "tarsctl writes a manifest for the frozen-1.0 $kind"
done

"$TARSD" check --manifests "$TMP/m" --plugins "$TP/abi" >"$TMP/out" 2>"$TMP/err"
ok $? "tarsd check accepts every frozen-1.0 plugin but the tuner"
for kind in agent env solver exporter; do
	check "  lists the $kind as loaded, ABI 1.0" grep -qE "^abi10-$kind +$kind +1\.0\.0 +1\.0 +ok$" "$TMP/out"
done
# 1.0's tuner table was provisional (nothing ran it); 1.1 froze another, so a 1.0 tuner is
# refused with the reason rather than called through the wrong table.
"$TARSCTL" plugin manifest "$TP/abi/abi10-tuner.so" >/dev/null 2>"$TMP/err"
ok $(($? == 0)) "tarsctl plugin manifest refuses the frozen-1.0 tuner"
check "  saying tuners need ABI 1.1" contains "$TMP/err" "tuner plugins need ABI 1.1 or later (built for 1.0"
check "  in one line" one_line "$TMP/err"
printf '{"name": "abi10-tuner", "kind": "tuner", "version": "1.0.0", "abi": "1.0",\n  "library": "abi10-tuner.so", "description": "x"}\n' \
	>"$TMP/m/abi10-tuner.json"
"$TARSD" check --manifests "$TMP/m" --plugins "$TP/abi" >"$TMP/out" 2>"$TMP/err"
ok $(($? != 1)) "tarsd check refuses it"
check "  with the same reason" contains "$TMP/err" "tuner plugins need ABI 1.1 or later"
rm "$TMP/m/abi10-tuner.json"

"$TARSD" train --log-format json --manifests "$TMP/m" --plugins "$TP/abi" --agent abi10-agent \
	--env abi10-env --n-envs 4 --steps 400 --json >"$TMP/train.json" 2>"$TMP/err"
ok $? "tarsd train runs the frozen-1.0 agent on the frozen-1.0 env"
# The host's log sink reaches the plugin through libtars-sdk (not its stderr fallback).
check "  the agent's tars_log line goes through the host's log" contains "$TMP/err" \
	'"level":"info","source":"train","msg":"abi10-agent plays 2 actions"}'
check "  for the steps asked" test "$(json steps <"$TMP/train.json")" = 400
# 400 steps are 100 of 4 copies; episodes last 10 steps: 40 episodes, each of return 10.
check "  ending the episodes the 1.0 env defines" test "$(json episodes <"$TMP/train.json")" = 40
check "  each of return 10" test "$(json mean_return <"$TMP/train.json")" = 10
check "  and the agent's observe ran once a step" test "$(json scalars.abi10/steps <"$TMP/train.json")" = 100

"$TARSD" train --manifests "$TMP/m" --plugins "$TP/abi" --agent abi10-agent --env abi10-env \
	--steps 50 --save "$TMP/a.tars" >/dev/null 2>"$TMP/err"
ok $? "the frozen-1.0 agent saves its state through the current SDK"
check "  into a state file" test -s "$TMP/a.tars"

# An agent built against a 1.2 libtars-sdk (it calls a TARS_SDK_1.2 function).
mkdir "$TMP/m12"
printf '{"name": "abi12-agent", "kind": "agent", "version": "1.2.0", "abi": "1.1",\n  "library": "abi12-agent.so", "description": "An agent built against a 1.2 libtars-sdk."}\n' \
	>"$TMP/m12/abi12.json"
"$TARSD" check --manifests "$TMP/m12" --plugins "$TP/abi12" >"$TMP/out" 2>"$TMP/err"
ok $(($? != 1)) "tarsd check refuses the plugin that needs libtars-sdk 1.2"
check "  saying which ABI it needs and which this tarsd has" contains "$TMP/err" \
	"built for ABI 1.2, this tarsd has 1.1"
check "  in one line" one_line "$TMP/err"
check "  not with dlopen's symbol error" sh -c "! grep -qiE 'undefined symbol|version .* not found' '$TMP/err'"

"$TARSCTL" plugin manifest "$TP/abi12/abi12-agent.so" >/dev/null 2>"$TMP/err"
ok $(($? == 0)) "tarsctl plugin manifest refuses it too"
check "  with the same sentence" contains "$TMP/err" "built for ABI 1.2, this tarsd has 1.1"

done_testing
