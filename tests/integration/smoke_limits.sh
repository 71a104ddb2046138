#!/bin/sh
# A smoke test under the hard limits tarsd was started with (ulimit, systemd's LimitAS=): the
# child only ever lowers its rlimits, so a hard address-space limit below its own 8 GiB does
# not refuse every build (before, setrlimit failed with EPERM and every code swap was refused
# with "cannot limit the smoke test's address space"). Sanitizer builds set no address-space
# limit on the child (their shadow memory reserves terabytes) and cannot run under one.
. "$(dirname "$0")/../tap.sh"
if [ -n "${TARS_SANITIZED:-}" ]; then
	echo "1..0 # SKIP sanitizer builds set no address-space limit and cannot run under ulimit -v"
	exit 0
fi

mkdir -p "$TMP/plugins"
cp "$PLUGINS/agent-random.so" "$TMP/plugins/agent-random.so"
cp "$PLUGINS/env-cartpole.so" "$TMP/plugins/env-cartpole.so"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$TMP/plugins"], "runners": 1, "watch_plugins": false,
 "agents": [{"id": "r1", "agent": "random", "env": "cartpole", "seed": 1}]}
JSON
# 6 GiB of address space, hard: below the smoke child's 8 GiB, well above what tarsd maps.
ulimit -v 6291456 # soft and hard
ok $? "a hard address-space limit of 6 GiB is set"
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts under it"
printf x >>"$TMP/plugins/agent-random.so" # another build of the same code
api /api/v1/plugins/random/reload -X POST >"$TMP/reload.json"
diag "reload: $(head -c 400 "$TMP/reload.json")"
check "a new build of random is smoke-tested and swapped in" test "$(json outcome <"$TMP/reload.json")" = reloaded
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGTERM stops it cleanly (exit $EXIT_CODE)" test "$EXIT_CODE" = 0
done_testing
