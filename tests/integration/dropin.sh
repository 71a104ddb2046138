#!/bin/sh
# The drop-in workflow (issue 11 §5, docs/plugin-guide.md "Dropping in a new build"): a third
# party copies a new build over the running one and (re)writes its manifest with tarsctl, in
# either order. Without a pin, the copy alone is taken. With a pin (--pin), a build copied over
# the pinned one is refused, with the reason in GET /api/v1/plugins (refused_build), the log (a
# warning) and the audit log, while the old build runs on; writing the manifest again then
# takes the new build (copy, then regenerate). Regenerating the manifest first is refused the
# same way until the build it pins arrives (regenerate, then copy). With the watch off, SIGHUP
# looks at loaded plugins' files too.
. "$(dirname "$0")/../tap.sh"

TP=$B/tests/plugins
mkdir -p "$TMP/plugins" "$TMP/manifests" "$TMP/stage"
cp "$TP/hot-v1.so" "$TMP/plugins/hotagent.so"
cp "$PLUGINS/env-cartpole.so" "$TMP/plugins/env-cartpole.so"
cp "$SRC/manifests/cartpole.json" "$TMP/manifests/cartpole.json"
"$TARSCTL" plugin manifest "$TMP/plugins/hotagent.so" -o "$TMP/manifests/hotagent.json"
ok $? "tarsctl plugin manifest writes the manifest"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$TMP/manifests"],
 "plugin_dirs": ["$TMP/plugins"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "smoke_timeout_s": 30,
 "agents": [{"id": "a1", "agent": "hotagent", "env": "cartpole", "n_envs": 2, "seed": 1,
             "params": {"work_us": 100}}]}
JSON
sha() { sha256sum "$1" | cut -d' ' -f1; }
V1=$(sha "$TP/hot-v1.so")
V2=$(sha "$TP/hot-v2.so")

start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts with hotagent 0.1.0"

# plugin: hotagent's entry in GET /api/v1/plugins, in $TMP/entry.json
plugin() {
	api /api/v1/plugins | perl -MJSON::PP -e '
		my ($p) = grep { ($_->{name} // "") eq "hotagent" } @{decode_json(join "", <STDIN>)->{plugins}};
		print JSON::PP->new->canonical->encode($p // {})' >"$TMP/entry.json"
}
# wait_for KEY VALUE: until hotagent's entry has KEY = VALUE (60 s: sanitized smoke tests)
wait_for() {
	for _i in $(seq 600); do
		plugin
		[ "$(json "$1" <"$TMP/entry.json")" = "$2" ] && return 0
		sleep 0.1
	done
	diag "hotagent's $1 never became $2: $(head -c 1500 "$TMP/entry.json")"
	return 1
}
# install SRC: copies a build over the running library the way cp does (in place)
install() { cp "$1" "$TMP/plugins/hotagent.so"; }
# manifest FILE [--pin]: regenerates hotagent's manifest from a build named hotagent.so
manifest() {
	cp "$1" "$TMP/stage/hotagent.so"
	shift
	"$TARSCTL" plugin manifest "$TMP/stage/hotagent.so" "$@" -o "$TMP/manifests/hotagent.json"
}
# audited TEXT: the audit log has an entry whose detail holds TEXT
audited() {
	for _i in $(seq 100); do
		api "/api/v1/audit?limit=50" >"$TMP/audit.json"
		grep -qF -- "$1" "$TMP/audit.json" && return 0
		sleep 0.1
	done
	diag "no audit entry holds: $1"
	return 1
}

# --- no pin: the copy alone is taken, then the manifest catches up
check "the manifest has no pin" test "$(json sha256 <"$TMP/manifests/hotagent.json")" = null
install "$TP/hot-v2.so"
check "unpinned: a copied build runs (generation 2, 0.2.0)" wait_for sha256 "$V2"
check "  as generation 2" test "$(json generation <"$TMP/entry.json")" = 2
manifest "$TP/hot-v2.so"
check "  its regenerated manifest is taken" wait_for version 0.2.0
check "  and nothing is refused" test "$(json refused_build <"$TMP/entry.json")" = null

# --- pinned, copy then regenerate
manifest "$TP/hot-v2.so" --pin
check "pinned: the manifest pins the running build" test "$(json sha256 <"$TMP/manifests/hotagent.json")" = "$V2"
install "$TP/hot-v1.so"
check "a build copied over a pinned one is refused, visibly" wait_for refused_build.sha256 "$V1"
check "  with the reason (the pin)" sh -c 'grep -q "sha256" "$1"' - "$TMP/entry.json"
diag "refused_build: $(json refused_build <"$TMP/entry.json")"
check "  while the pinned build runs on" test "$(json sha256 <"$TMP/entry.json")" = "$V2"
check "  and the plugin stays loaded" test "$(json status <"$TMP/entry.json")" = loaded
check "  the log has it as a warning" sh -c 'grep "was refused" "$1" | grep -q "\"warn"' - "$TMP/serve.log"
check "  the audit log has it" audited "the new build (sha256 ${V1%"${V1#????????}"}) was refused"
manifest "$TP/hot-v1.so" --pin
check "copy, then regenerate: the new build runs" wait_for sha256 "$V1"
check "  as generation 3" test "$(json generation <"$TMP/entry.json")" = 3
check "  and the refusal is gone" wait_for refused_build null

# --- pinned, regenerate then copy
manifest "$TP/hot-v2.so" --pin
check "a pin for a build not there yet is refused, visibly" wait_for refused_build.sha256 "$V1"
check "  while the running build runs on" test "$(json sha256 <"$TMP/entry.json")" = "$V1"
install "$TP/hot-v2.so"
check "regenerate, then copy: the new build runs" wait_for sha256 "$V2"
check "  as generation 4" test "$(json generation <"$TMP/entry.json")" = 4
check "  and the refusal is gone" wait_for refused_build null
api /api/v1/agents/a1 >"$TMP/a1.json"
check "the agent runs the new build" test "$(json state <"$TMP/a1.json")" = running
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" = 0

# --- the watch off: SIGHUP looks at the loaded plugins' files too
sed 's/"smoke_timeout_s": 30,/"smoke_timeout_s": 30, "watch_plugins": false,/' "$TMP/tars.json" >"$TMP/nowatch.json"
start_serve --config "$TMP/nowatch.json"
ok $? "tarsd serve starts without the watch"
manifest "$TP/hot-v1.so"
install "$TP/hot-v1.so"
kill -HUP "$SERVE_PID"
check "SIGHUP takes a build copied in unwatched" wait_for sha256 "$V1"

done_testing
