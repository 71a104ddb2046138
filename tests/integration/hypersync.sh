#!/bin/sh
# The approval modes of HyperSync: what happens to an operator's validated proposal under
# `threshold` (approved when its expected improvement reaches hypersync_threshold) and
# `always`; a mode that does not exist is refused at start with its position.
. "$(dirname "$0")/../tap.sh"

config() { # config MODE: a random agent on cartpole, the given approval mode
	cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "hypersync_mode": "$1", "hypersync_threshold": 0.05,
 "agents": [{"id": "policy", "agent": "random", "env": "cartpole"}]}
JSON
}

# patch VALUE EXPECTED: an operator's change of sticky; the status in $TMP/code.
patch() {
	TOKEN=$OPER api /api/v1/agents/policy/params -X PATCH -o "$TMP/out" -w '%{http_code}' \
		-d "{\"params\": {\"sticky\": $1}${2:+, \"expected_improvement\": $2}}" >"$TMP/code"
}

config threshold
start_serve --config "$TMP/tars.json"
ok $? "tarsd starts in the threshold mode"
OPER=$(api /api/v1/tokens -X POST -d '{"role": "operator", "name": "ops"}' | json token)
patch 0.25 0.1
check "an expected improvement at the threshold or above: approved and applied (200)" \
	test "$(cat "$TMP/code")/$(json state <"$TMP/out")" = 200/applied
check "  approved by the mode, which says why" \
	sh -c "grep -q 'expected improvement 0.1 reaches the threshold 0.05' '$TMP/out'"
check "  the agent has the value" test "$(api /api/v1/agents/policy/params | json params.sticky)" = 0.25
patch 0.5 0.01
check "below the threshold: pending approval (202)" \
	test "$(cat "$TMP/code")/$(json state <"$TMP/out")" = 202/pending_approval
patch 0.5
check "with no expected improvement: pending approval" \
	test "$(cat "$TMP/code")/$(json state <"$TMP/out")" = 202/pending_approval
check "  and the agent keeps its value" test "$(api /api/v1/agents/policy/params | json params.sticky)" = 0.25
check "the list names the mode and threshold" \
	test "$(api /api/v1/proposals | json mode)/$(api /api/v1/proposals | json threshold)" = threshold/0.05
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

config always
start_serve --config "$TMP/tars.json"
ok $? "tarsd starts again in the always mode, on the same state"
patch 0.75
check "any operator's proposal is approved and applied" \
	test "$(cat "$TMP/code")/$(json state <"$TMP/out")" = 200/applied
check "  the two left pending stay pending" \
	test "$(api '/api/v1/proposals?state=pending_approval' | json proposals.1.state)" = pending_approval
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "  and it stops cleanly" test "$EXIT_CODE" -eq 0

config sometimes
"$TARSD" serve --config "$TMP/tars.json" >/dev/null 2>"$TMP/err"
check "an unknown mode is refused at start" test $? -eq 1
check "  naming the key's position and the modes" \
	sh -c "grep -q 'tars.json:2:[0-9]*: .*hypersync_mode.*manual' '$TMP/err'"
[ -s "$TMP/err" ] && diag "$(cat "$TMP/err")"
done_testing
