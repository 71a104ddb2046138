#!/bin/sh
# An env's code swap under a running agent (SPEC §4, "ABI growth"; docs/hot-reload.md): the new
# build must pass the spec check a create runs, and offer the agent exactly the spaces it was
# built for, bounds and shapes included, not only the same counts and types. Builds of the
# test env (tests/plugins/swap_env.c) with other bounds, another shape, or a spec a create
# refuses are not swapped in; one with the same spec is, and so is one with a longer episode.
. "$(dirname "$0")/../tap.sh"

# SWAP_PLUGINS names the dir of the test builds (default: this build's), for an older tarsd.
TP=${SWAP_PLUGINS:-$B/tests/plugins}/swapenv
mkdir -p "$TMP/plugins" "$TMP/manifests"
cp "$TP/swapenv-v1.so" "$TMP/plugins/swapenv.so"
cp "$PLUGINS/agent-random.so" "$TMP/plugins/agent-random.so"
cp "$SRC/manifests/random.json" "$TMP/manifests/random.json"
printf '{"name": "swapenv", "kind": "env", "version": "0.1.0", "abi": "1.1",\n "library": "swapenv.so", "description": "The env-swap spec test env."}\n' \
	>"$TMP/manifests/swapenv.json"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$TMP/manifests"],
 "plugin_dirs": ["$TMP/plugins"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "smoke_timeout_s": 30,
 "agents": [{"id": "e1", "agent": "random", "env": "swapenv", "n_envs": 2, "seed": 1}]}
JSON
sha() { sha256sum "$1" | cut -d' ' -f1; }
# wait_reload SHA: until swapenv's last reload looked at the build with this sha256 (60 s:
# sanitized smoke tests are slow); the plugin's detail is then in $TMP/plugin.json.
wait_reload() {
	for _i in $(seq 600); do
		api /api/v1/plugins/swapenv >"$TMP/plugin.json"
		[ "$(json last_reload.candidate_sha256 <"$TMP/plugin.json")" = "$1" ] && return 0
		sleep 0.1
	done
	diag "no reload of swapenv looked at sha256 $1; its detail: $(head -c 1500 "$TMP/plugin.json")"
	return 1
}
field() { json "$1" <"$TMP/plugin.json"; }
env_version() { api /api/v1/agents/e1 | json env_version; }

start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts agent e1 on swapenv 0.1.0"
check "  e1 runs on 0.1.0" test "$(env_version)" = 0.1.0

# refused VARIANT WHY: the build is not swapped in under e1, and the reload says why
refused() {
	cp "$TP/swapenv-$1.so" "$TMP/plugins/swapenv.so"
	wait_reload "$(sha "$TP/swapenv-$1.so")"
	ok $? "the $1 build is looked at"
	check "  e1 stays on 0.1.0" test "$(env_version)" = 0.1.0
	check "  the reload moved no instance" test "$(field last_reload.migrated)" = 0
	check "  saying why: $2" contains "$TMP/plugin.json" "$2"
}
refused bounds "other observation bounds"
refused shape "another observation shape"
refused reserved "reserved fields set"

cp "$TP/swapenv-v2.so" "$TMP/plugins/swapenv.so"
wait_reload "$(sha "$TP/swapenv-v2.so")"
check "a build with the same spec is swapped in" test "$(field last_reload.outcome)/$(field last_reload.migrated)" = reloaded/1
check "  e1 runs on 0.2.0" test "$(env_version)" = 0.2.0
cp "$TP/swapenv-longer.so" "$TMP/plugins/swapenv.so"
wait_reload "$(sha "$TP/swapenv-longer.so")"
check "so is one that only lengthens the episodes" test "$(field last_reload.outcome)/$(env_version)" = reloaded/0.6.0

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
