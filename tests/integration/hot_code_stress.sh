#!/bin/sh
# Code swaps under load, for the ThreadSanitizer and AddressSanitizer runs (make check-tsan,
# check-asan): the test agent's library alternates between two builds (0.1.0, 0.2.0) through
# POST /api/v1/plugins/hotagent/reload, SWAPS times, while two runners step two agents, API
# clients poll the agents and the plugins, another client creates and deletes an agent, a
# third stops and starts one (stopped instances migrate too), and a fourth changes a1's
# parameters (each change publishes a parameter pair, as each migration does). Every swap must migrate every
# instance; no step may be lost or repeated; only the running build may stay mapped; and the
# daemon must stop cleanly (leak-free under ASan, race-free under TSan: halt_on_error).
. "$(dirname "$0")/../tap.sh"

SWAPS=${HOT_SWAPS:-60}
TP=$B/tests/plugins
mkdir -p "$TMP/plugins" "$TMP/manifests"
cp "$TP/hot-v1.so" "$TMP/plugins/hotagent.so"
cp "$SRC/manifests/cartpole.json" "$TMP/manifests/cartpole.json"
printf '{"name": "hotagent", "kind": "agent", "version": "0.1.0", "abi": "1.1",\n "library": "hotagent.so", "description": "The code-swap test agent."}\n' \
	>"$TMP/manifests/hotagent.json"
# The watch is off: each swap is the API's, so each one counts.
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$TMP/manifests"],
 "plugin_dirs": ["$TMP/plugins", "$PLUGINS"], "runners": 2, "api_rate": 0,
 "api_address_rate": 0, "watch_plugins": false, "scalars_every_s": 0.01,
 "agents": [
  {"id": "a1", "agent": "hotagent", "env": "cartpole", "n_envs": 4, "seed": 1},
  {"id": "a2", "agent": "hotagent", "env": "cartpole", "n_envs": 4, "seed": 2}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
TOKEN=$(cat "$STATE_DIR/admin.token")

# Background clients until $TMP/stop exists; each counts its failed calls in $TMP/fail.NAME.
client() {
	_name=$1
	shift
	: >"$TMP/fail.$_name"
	(while [ ! -e "$TMP/stop" ]; do "$@" || echo x >>"$TMP/fail.$_name"; done) &
	_pids="$_pids $!"
	eval "CLIENT_$_name=$!"
}
get() { curl -sf --max-time 60 -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
poll() { get /api/v1/agents && get /api/v1/agents/a1 && get /api/v1/plugins && get /api/v1/plugins/hotagent && get /api/v1/agents/a2/params; }
churn() {
	curl -sf --max-time 60 -o /dev/null -H "Authorization: Bearer $TOKEN" -X POST \
		-d '{"id": "c1", "agent": "hotagent", "env": "cartpole", "n_envs": 2, "seed": 9}' \
		"http://127.0.0.1:$PORT/api/v1/agents" &&
		curl -sf --max-time 60 -o /dev/null -H "Authorization: Bearer $TOKEN" -X DELETE \
			"http://127.0.0.1:$PORT/api/v1/agents/c1"
}
pause() {
	curl -sf --max-time 60 -o /dev/null -H "Authorization: Bearer $TOKEN" -X POST "http://127.0.0.1:$PORT/api/v1/agents/a2/stop" &&
		curl -sf --max-time 60 -o /dev/null -H "Authorization: Bearer $TOKEN" -X POST "http://127.0.0.1:$PORT/api/v1/agents/a2/start"
}
tune() {
	for eps in 0.2 0.3; do
		curl -sf --max-time 60 -o /dev/null -H "Authorization: Bearer $TOKEN" -X PATCH \
			-d "{\"params\": {\"epsilon\": $eps}}" "http://127.0.0.1:$PORT/api/v1/agents/a1/params" || return 1
	done
}
client poll1 poll
client poll2 poll
client churn churn
client pause pause
client tune tune

reloaded=0
other=""
for i in $(seq "$SWAPS"); do
	if [ $((i % 2)) = 1 ]; then build=v2; else build=v1; fi
	cp "$TP/hot-$build.so" "$TMP/plugins/hotagent.so"
	code=$(curl -s --max-time 120 -o "$TMP/reload.json" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/v1/plugins/hotagent/reload")
	if [ "$code" = 200 ] && grep -q '"outcome":"reloaded"' "$TMP/reload.json"; then
		reloaded=$((reloaded + 1))
	elif [ -z "$other" ]; then
		other="swap $i: $code $(head -c 800 "$TMP/reload.json")"
	fi
done
touch "$TMP/stop"
for c in $CLIENT_poll1 $CLIENT_poll2 $CLIENT_churn $CLIENT_pause $CLIENT_tune; do wait "$c"; done
check "all $SWAPS swaps reloaded every instance" test "$reloaded" = "$SWAPS"
[ -n "$other" ] && diag "$other"
kill -0 "$SERVE_PID" 2>/dev/null
ok $? "tarsd is alive"

api /api/v1/plugins/hotagent >"$TMP/plugin.json"
check "the generation counts every swap" test "$(json generation <"$TMP/plugin.json")" = $((SWAPS + 1))
last=$(if [ $((SWAPS % 2)) = 1 ]; then echo 0.2.0; else echo 0.1.0; fi)
check "  the version is the last build's" test "$(json version <"$TMP/plugin.json")" = "$last"
check "  nothing is left of the others" test "$(json retired <"$TMP/plugin.json")" = "[]"
copies=$(grep -o 'tars-plugins-[^/]*/[0-9a-f]*[^ ]*\.so' "/proc/$WORKER_PID/maps" | sort -u |
	grep -c -e "$(sha256sum "$TP/hot-v1.so" | cut -c1-64)" -e "$(sha256sum "$TP/hot-v2.so" | cut -c1-64)")
check "  one copy of hotagent is mapped" test "$copies" = 1
for c in poll1 poll2 churn pause tune; do
	check "client $c saw no failed call" test ! -s "$TMP/fail.$c"
done
api /api/v1/agents/a2/start -X POST >/dev/null
api /api/v1/agents >"$TMP/agents.json"
check "both agents run" test "$(grep -o '"state":"running"' "$TMP/agents.json" | wc -l)" = 2
for id in a1 a2; do
	check "$id runs $last" test "$(api "/api/v1/agents/$id" | json agent_version)" = "$last"
done
api /api/v1/agents/a1/params >"$TMP/params.json"
check "a1's parameter version counts every change and every swap" \
	test "$(json version <"$TMP/params.json")" -gt "$SWAPS"
check "  its epsilon is one the tuner set" sh -c "grep -Eq '\"epsilon\":0\.(2|3)[,}]' '$TMP/params.json'"

sleep 1 # the last scalars reach the store
for id in a1 a2; do
	api "/api/v1/agents/$id/scalars?tail=10000" >"$TMP/scalars.json"
	check "$id: its agent observed every step the host made, across the swaps" perl -MJSON::PP -e '
		my @s = grep { defined $_->{"hot/observed"} } @{decode_json(join "", <STDIN>)->{scalars}};
		my @bad = grep { $_->{step} != 4 * $_->{"hot/observed"} } @s;
		print "# ", scalar @s, " records, ", scalar @bad, " off\n";
		exit(@bad || !@s)' <"$TMP/scalars.json"
done
api "/api/v1/agents/a1/history?tail=10000" >"$TMP/history.json"
check "a1's history has no gap" perl -MJSON::PP -e '
	my @e = @{decode_json(join "", <STDIN>)->{episodes}};
	my $bad = grep { $e[$_]{episode} != $e[$_ - 1]{episode} + 1 || $e[$_]{step} < $e[$_ - 1]{step} } 1 .. $#e;
	exit($bad || !@e)' <"$TMP/history.json"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
[ "$EXIT_CODE" -eq 0 ] || diag "exit code $EXIT_CODE; the log ends with:" "$(tail -n 40 "$TMP/serve.log")"
check "  no sanitizer report" sh -c "! grep -q -e 'ThreadSanitizer' -e 'AddressSanitizer' -e 'LeakSanitizer' '$TMP/serve.log'"
done_testing
