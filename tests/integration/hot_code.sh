#!/bin/sh
# Code swaps (SPEC §6, docs/hot-reload.md): a plugin library replaced under a running tarsd.
# Two instances of the test agent (tests/plugins/hot_agent.c) train on CartPole and one on the
# test env that cannot save. A rebuilt agent copied over its file in place, as make install
# does, becomes generation 2 and every instance migrates: versions follow, steps go on, the
# history's episodes stay continuous, the agent's own step count (carried in its state blob)
# matches the host's at every recorded point, and the old library leaves the process. Then
# each broken build in turn (not ELF, ABI major, a load that fails, a crash in the smoke test,
# a schema that refuses a running value, a smoke test that hangs) leaves 0.2.0 running, with
# the cause in the API, the log and the audit log. The reload route, its roles, a manifest
# change, a build some instances cannot move to (they keep the old one, which is freed when the
# last of them goes), an env that cannot move, an env that can, the stream's reload events, and
# a restart on the new code.
. "$(dirname "$0")/../tap.sh"

TP=$B/tests/plugins
mkdir -p "$TMP/plugins" "$TMP/manifests" "$TMP/cache"
# tarsd's plugin copies (and its smoke tests') go here, to be seen to go away.
export TMPDIR="$TMP/cache"
cp "$TP/hot-v1.so" "$TMP/plugins/hotagent.so"
cp "$TP/hotenv-v1.so" "$TMP/plugins/hotenv.so"
cp "$PLUGINS/env-cartpole.so" "$TMP/plugins/env-cartpole.so"
cp "$SRC/manifests/cartpole.json" "$TMP/manifests/cartpole.json"
for p in hotagent:agent hotenv:env; do
	printf '{"name": "%s", "kind": "%s", "version": "0.1.0", "abi": "1.1",\n "library": "%s.so", "description": "A code-swap test plugin."}\n' \
		"${p%:*}" "${p#*:}" "${p%:*}" >"$TMP/manifests/${p%:*}.json"
done
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$TMP/manifests"],
 "plugin_dirs": ["$TMP/plugins"], "runners": 2, "api_rate": 0, "api_address_rate": 0,
 "scalars_every_s": 0.01, "smoke_timeout_s": 5,
 "agents": [
  {"id": "a1", "agent": "hotagent", "env": "cartpole", "n_envs": 4, "seed": 1, "params": {"epsilon": 0.5, "work_us": 200}},
  {"id": "a2", "agent": "hotagent", "env": "cartpole", "n_envs": 4, "seed": 2, "params": {"epsilon": 0.5, "work_us": 200}},
  {"id": "e1", "agent": "hotagent", "env": "hotenv", "n_envs": 4, "seed": 3, "params": {"work_us": 200}}]}
JSON
sha() { sha256sum "$1" | cut -d' ' -f1; }
V1=$(sha "$TP/hot-v1.so")
V2=$(sha "$TP/hot-v2.so")

start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts with three agents of hotagent 0.1.0"

# steps ID: the agent's live step counter
steps() { api "/api/v1/agents/$1" | json steps; }
# advances ID: its steps grow within 20 s
advances() {
	_from=$(steps "$1")
	for _i in $(seq 200); do
		[ "$(steps "$1")" -gt "${_from:-0}" ] 2>/dev/null && return 0
		sleep 0.1
	done
	diag "agent $1 stayed at ${_from:-?} steps"
	return 1
}
# wait_reload NAME SHA: until the plugin's last reload looked at the build with this sha256
# (60 s: sanitized smoke tests are slow); the plugin's detail is then in $TMP/plugin.json.
wait_reload() {
	for _i in $(seq 600); do
		api "/api/v1/plugins/$1" >"$TMP/plugin.json"
		[ "$(json last_reload.candidate_sha256 <"$TMP/plugin.json")" = "$2" ] && return 0
		sleep 0.1
	done
	diag "no reload of $1 looked at sha256 $2; its detail: $(head -c 1500 "$TMP/plugin.json")"
	return 1
}
field() { json "$1" <"$TMP/plugin.json"; }
# episodes ID: the number of finished episodes the agent reports
episodes() { api "/api/v1/agents/$1" | json episodes; }
# continuous ID FROM TO: the agent's history from episode FROM to TO has every number, and the
# steps at which they ended never go back (a swap between them lost or replayed nothing)
continuous() {
	for _i in $(seq 300); do # until the store has the whole range
		[ "$(api "/api/v1/agents/$1" | json history.last)" -ge "$3" ] 2>/dev/null && break
		sleep 0.1
	done
	_at=$2
	while [ "$_at" -le "$3" ]; do
		api "/api/v1/agents/$1/history?from=$_at&limit=10000" >"$TMP/history.json"
		perl -MJSON::PP -e '
			my ($from, $to) = @ARGV;
			my $h = decode_json(join "", <STDIN>);
			my @e = grep { $_->{episode} <= $to } @{$h->{episodes}};
			my $bad = grep { $e[$_]{episode} != $from + $_ || ($_ && $e[$_]{step} < $e[$_ - 1]{step}) } 0 .. $#e;
			printf "# episodes %d to %s: %d, %d out of order (the store holds %d to %d)\n", $from,
				(@e ? $e[-1]{episode} : "-"), scalar @e, $bad, $h->{first}, $h->{last};
			exit($bad || !@e)' "$_at" "$3" <"$TMP/history.json" || return 1
		_at=$((_at + 10000))
	done
}
# has FILE PATH TEXT: the JSON value at PATH in FILE holds TEXT
has() { json "$2" <"$1" | grep -qF -- "$3" || { diag "$1 $2 is: $(json "$2" <"$1" | head -c 600)"; false; }; }
# counted ID N_ENVS: in every scalars record of the agent, the host's step counter is N_ENVS
# times the steps the agent itself observed (a count its state blob carries across swaps)
counted() {
	_from=1
	while [ "$_from" != null ]; do
		api "/api/v1/agents/$1/scalars?from=$_from&limit=10000" >"$TMP/scalars.json"
		perl -MJSON::PP -e '
			my ($n) = @ARGV;
			my @s = grep { defined $_->{"hot/observed"} } @{decode_json(join "", <STDIN>)->{scalars}};
			my @bad = grep { $_->{step} != $n * $_->{"hot/observed"} } @s;
			print "# ", scalar @s, " records from ", ($s[0]{step} // "-"), " to ", ($s[-1]{step} // "-"),
				" steps, ", scalar @bad, " off", (@bad ? ": step $bad[0]{step}, observed $bad[0]{q{hot/observed}}" : ""), "\n";
			exit(@bad || !@s)' "$2" <"$TMP/scalars.json" || return 1
		_from=$(json next <"$TMP/scalars.json")
		[ -n "$_from" ] || return 1
	done
}
mapped() { grep -q "$1" "/proc/$WORKER_PID/maps"; }

check "a1 trains" advances a1
check "a2 trains" advances a2
# A stream client following a1 only: reload events reach it all the same.
"$B/tests/tools/wsclient" "$PORT" /api/v1/stream --seconds 600 \
	--send "{\"token\": \"$(cat "$STATE_DIR/admin.token")\", \"agents\": [\"a1\"]}" >"$TMP/stream.out" 2>&1 &
WS_PID=$!
_pids="$_pids $WS_PID"
api /api/v1/plugins/hotagent >"$TMP/plugin.json"
check "plugin detail: generation 1" test "$(field generation)" = 1
check "  version 0.1.0, the library's sha256" test "$(field version)/$(field sha256)" = "0.1.0/$V1"
check "  and a load time" test "$(field loaded_at | cut -d. -f1)" -gt 1700000000
check "the v1 library is mapped" mapped "$V1"

# --- a rebuilt library copied over the old file in place
ep0=$(episodes a1)
cp "$TP/hot-v2.so" "$TMP/plugins/hotagent.so"
wait_reload hotagent "$V2"
ok $? "the watch reloads hotagent after cp over its file"
ep1=$(episodes a1)
check "  generation 2, 0.2.0, the new sha256" test "$(field generation)/$(field version)/$(field sha256)" = "2/0.2.0/$V2"
check "  outcome reloaded, by the watcher" test "$(field last_reload.outcome)/$(field last_reload.trigger)" = reloaded/watcher
check "  all three instances migrated" test "$(field last_reload.migrated)/$(field last_reload.kept)" = 3/0
check "  the schema is the new one" has "$TMP/plugin.json" schema bonus
check "  nothing is left of generation 1" test "$(field retired)" = "[]"
check "  which the reply says was freed" test "$(field last_reload.freed.0.generation)" = 1
for _i in $(seq 50); do grep -q '"type":"reload"' "$TMP/stream.out" && break; sleep 0.1; done
check "the stream sent a reload event, to a client following one agent" \
	grep -q '"type":"reload","plugin":"hotagent","outcome":"reloaded"' "$TMP/stream.out"
for id in a1 a2 e1; do
	api "/api/v1/agents/$id" >"$TMP/agent.json"
	check "agent $id reports agent_version 0.2.0" test "$(json agent_version <"$TMP/agent.json")" = 0.2.0
done
api /api/v1/agents/a1 >"$TMP/agent.json"
check "  its parameter values carried over (epsilon 0.5)" test "$(json params.epsilon <"$TMP/agent.json")" = 0.5
check "  a new parameter takes its default (bonus 0)" test "$(json params.bonus <"$TMP/agent.json")" = 0
check "a1 keeps training" advances a1
check "a2 keeps training" advances a2
sleep 1 # the episodes reach the store
check "a1's episodes across the swap have every number, in order" continuous a1 "$((ep0 > 500 ? ep0 - 500 : 1))" "$((ep1 + 500))"
check "the old library left the process (not in /proc/PID/maps)" sh -c "! grep -q $V1 /proc/$WORKER_PID/maps"
check "  the new one is mapped" mapped "$V2"
check "the log says what was replaced" contains "$TMP/serve.log" "generation 2 (0.2.0, sha256 ${V2%"${V2#????????}"}) replaced 1 (0.1.0)"
api "/api/v1/audit?limit=50" >"$TMP/audit.json"
check "the audit log has the watcher's swap" perl -MJSON::PP -e '
	my @e = grep { ($_->{who}{name} // "") eq "watcher" && $_->{method} eq "WATCH" && $_->{status} == 200
		&& $_->{detail} =~ /generation 2/ } @{decode_json(join "", <STDIN>)->{entries}};
	exit !@e' <"$TMP/audit.json"

# --- broken builds: each leaves 0.2.0 running and says why
printf 'not a library\n' >"$TMP/notelf.so"
for case in "notelf:$TMP/notelf.so:is not an ELF shared object" \
	"abi:$TP/hot-abi.so:this host loads ABI 1.x only" \
	"loadfail:$TP/hot-loadfail.so:this build cannot read state blobs" \
	"crash:$TP/hot-crash.so:SEGV" \
	"narrow:$TP/hot-narrow.so:refuses the running value" \
	"hang:$TP/hot-hang.so:did not finish within 5 s and was killed"; do
	name=${case%%:*}
	rest=${case#*:}
	file=${rest%%:*}
	cause=${rest#*:}
	before=$(steps a1)
	cp "$file" "$TMP/plugins/hotagent.so"
	wait_reload hotagent "$(sha "$file")"
	ok $? "$name: the watch tries the build"
	check "  refused" test "$(field last_reload.outcome)" = refused
	check "  the cause is in the API ($cause)" has "$TMP/plugin.json" last_reload.error "$cause"
	check "  0.2.0 (generation 2) keeps running" test "$(field version)/$(field generation)" = 0.2.0/2
	check "  and training" advances a1
	check "  the log says why" contains "$TMP/serve.log" "$cause"
	api "/api/v1/audit?limit=20" >"$TMP/audit.json"
	check "  so does the audit log" perl -MJSON::PP -e '
		my $cause = $ARGV[0];
		my @e = grep { ($_->{who}{name} // "") eq "watcher" && $_->{status} >= 400
			&& index($_->{detail}, $cause) >= 0 } @{decode_json(join "", <STDIN>)->{entries}};
		exit !@e' "$cause" <"$TMP/audit.json"
	[ "$(steps a1)" -gt "$before" ] || diag "a1 at $(steps a1) steps, $before before"
done
api /api/v1/agents >"$TMP/agents.json"
check "no agent failed" test "$(grep -c '"state":"running"' "$TMP/agents.json")" -eq 1 -a "$(grep -o '"state":"running"' "$TMP/agents.json" | wc -l)" -eq 3
check "the daemon never mapped a broken build" sh -c "! grep -q -e $(sha "$TP/hot-crash.so") -e $(sha "$TP/hot-loadfail.so") -e $(sha "$TP/hot-hang.so") /proc/$WORKER_PID/maps"

# --- the reload route
cp "$TP/hot-narrow.so" "$TMP/plugins/hotagent.so"
TOKEN=$(cat "$STATE_DIR/admin.token")
OPERATOR=$(api /api/v1/tokens -X POST -d '{"role": "operator", "name": "ops"}' | json token)
code() { curl -s -o "$TMP/out" -w '%{http_code}' --max-time 90 -X POST -H "Authorization: Bearer $1" \
	"http://127.0.0.1:$PORT/api/v1/plugins/$2/reload"; }
check "an operator may not reload (403)" test "$(code "$OPERATOR" hotagent)" = 403
check "  naming the admin role" contains "$TMP/out" "needs the admin role"
check "admin: the narrow build is refused (422)" test "$(code "$TOKEN" hotagent)" = 422
check "  code refused" test "$(json error.code <"$TMP/out")" = refused
check "  the cause in the message" has "$TMP/out" error.message "refuses the running value"
check "  the outcome in the reply" test "$(json reload.outcome <"$TMP/out")" = refused
cp "$TP/hot-v2.so" "$TMP/plugins/hotagent.so"
check "the running build again: 200" test "$(code "$TOKEN" hotagent)" = 200
check "  unchanged: nothing to do, it says" has "$TMP/out" message "nothing to do"
check "an unknown plugin: 404" test "$(code "$TOKEN" nosuch)" = 404
"$TARSCTL" --url "http://127.0.0.1:$PORT" --token "$TOKEN" plugin reload hotagent >"$TMP/ctl.out" 2>&1
check "tarsctl plugin reload: exit 0" test $? -eq 0
check "  saying nothing was to do" contains "$TMP/ctl.out" "nothing to do"
"$TARSCTL" --url "http://127.0.0.1:$PORT" --token "$OPERATOR" plugin reload hotagent >"$TMP/ctl.out" 2>&1
check "  refused to an operator: exit 1" test $? -eq 1
check "  with one line naming the role" contains "$TMP/ctl.out" "needs the admin role"
"$TARSCTL" --url "http://127.0.0.1:$PORT" --token "$TOKEN" plugin show hotagent >"$TMP/ctl.out" 2>&1
check "tarsctl plugin show: the generation" contains "$TMP/ctl.out" "generation   2, loaded"
check "  and the last reload" contains "$TMP/ctl.out" "last reload  plugin 'hotagent': the library has the sha256 of generation 2"
cp "$TP/hot-v1.so" "$TMP/plugins/hotagent.so"
sleep 0.5 # the watch may get there first: either way the API's reply is the one that counts
check "back to 0.1.0 through the API: 200" test "$(code "$TOKEN" hotagent)" = 200
check "  reloaded (or already by the watch)" sh -c "grep -Eq '\"outcome\":\"(reloaded|unchanged)\"' '$TMP/out'"
check "  the reply has where the time went" test "$(json timings_ms.total <"$TMP/out" | cut -c1)" != n
check "  and the runners' longest stall" test "$(json stall_max_ms <"$TMP/out" | cut -c1)" != n
api /api/v1/agents/a1 >"$TMP/agent.json"
check "  a1 on 0.1.0, bonus gone" test "$(json agent_version <"$TMP/agent.json")/$(json params.bonus <"$TMP/agent.json")" = 0.1.0/null
# A parameter change (published as the run's next parameter pair), then a swap: it carries on.
code=$(api /api/v1/agents/a1/params -X PATCH -o "$TMP/patch.json" -w '%{http_code}' \
	-d '{"params": {"epsilon": 0.45}}')
check "a1's epsilon changed to 0.45 (PATCH params, admin)" test "${code#2}" != "$code"
pv=$(api /api/v1/agents/a1/params | json version)
cp "$TP/hot-v2.so" "$TMP/plugins/hotagent.so"
wait_reload hotagent "$V2"
check "and forward to 0.2.0 once more" test "$(field version)" = 0.2.0
api /api/v1/agents/a1/params >"$TMP/params.json"
check "  the swap carried the changed value" test "$(json params.epsilon <"$TMP/params.json")" = 0.45
check "  as the run's next parameter version" test "$(json version <"$TMP/params.json")" = $((pv + 1))

# wait_seq NAME SEQ: until the plugin's last reload is a later one than SEQ
wait_seq() {
	for _i in $(seq 600); do
		api "/api/v1/plugins/$1" >"$TMP/plugin.json"
		[ "$(field last_reload.seq)" -gt "$2" ] 2>/dev/null && return 0
		sleep 0.1
	done
	diag "no reload of $1 after number $2: $(head -c 1500 "$TMP/plugin.json")"
	return 1
}

# --- a manifest change
seq=$(field last_reload.seq)
gen=$(field generation)
cp "$TMP/manifests/hotagent.json" "$TMP/hotagent.json"
printf '{"name": "hotagent", "kind": "agent", "version": "0.2.0", "abi": "1.1",\n "library": "hotagent.so", "description": "A code-swap test plugin.",\n "defaults": {"epsilon": 0.3}}\n' \
	>"$TMP/manifests/hotagent.json"
wait_seq hotagent "$seq"
ok $? "the watch sees the manifest change"
check "  only the manifest changed: it applies, the code stays" test "$(field last_reload.outcome)/$(field generation)" = "manifest/$gen"
check "  its defaults are the plugin's now" test "$(field defaults.epsilon)" = 0.3
check "  the warning about the version is gone (it says 0.2.0 now)" test "$(field warning)" = null
seq=$(field last_reload.seq)
sed 's/"name": "hotagent"/"name": "coldagent"/' "$TMP/manifests/hotagent.json" >"$TMP/renamed.json"
cp "$TMP/renamed.json" "$TMP/manifests/hotagent.json"
wait_seq hotagent "$seq"
check "a manifest that renames a loaded plugin is refused" test "$(field last_reload.outcome)/$(field name)" = refused/hotagent
check "  saying so" has "$TMP/plugin.json" last_reload.error "now names plugin 'coldagent': a loaded plugin keeps its name"
seq=$(field last_reload.seq)
cp "$TMP/hotagent.json" "$TMP/manifests/hotagent.json"
wait_seq hotagent "$seq"

# --- a build some instances cannot move to: they keep the old one, freed when they go
code=$(api /api/v1/agents -X POST -o /dev/null -w '%{http_code}' \
	-d '{"id": "p1", "agent": "hotagent", "env": "cartpole", "n_envs": 2, "seed": 4, "params": {"work_us": 200}}')
check "an agent with 2 envs is created" test "$code" = 201
cp "$TP/hot-picky.so" "$TMP/plugins/hotagent.so"
wait_reload hotagent "$(sha "$TP/hot-picky.so")"
check "a build that needs 4 envs: a partial swap" test "$(field last_reload.outcome)/$(field version)" = partial/0.7.0
check "  three instances moved, one kept the old build" test "$(field last_reload.migrated)/$(field last_reload.kept)" = 3/1
check "  saying why" has "$TMP/plugin.json" last_reload.error "agent 'p1' stays on 0.2.0: agent 'hotagent' 0.7.0 create failed: this build needs at least 4 envs, not 2"
check "  the old generation stays, for p1" test "$(field retired.0.agents)" = '["p1"]'
check "  p1 runs 0.2.0" test "$(api /api/v1/agents/p1 | json agent_version)" = 0.2.0
check "  and trains" advances p1
check "  a1 runs 0.7.0" test "$(api /api/v1/agents/a1 | json agent_version)" = 0.7.0
check "  both builds are mapped" sh -c "grep -q $V2 /proc/$WORKER_PID/maps && grep -q $(sha "$TP/hot-picky.so") /proc/$WORKER_PID/maps"
check "p1 is deleted" test "$(api /api/v1/agents/p1 -X DELETE -o /dev/null -w '%{http_code}')" = 200
for _i in $(seq 100); do
	api /api/v1/plugins/hotagent >"$TMP/plugin.json"
	[ "$(field retired)" = "[]" ] && break
	sleep 0.1
done
check "  then the old generation is freed" test "$(field retired)" = "[]"
check "  and leaves the process" sh -c "! grep -q $V2 /proc/$WORKER_PID/maps"
check "the log says so" contains "$TMP/serve.log" "is unloaded: its last agent left"
cp "$TP/hot-v2.so" "$TMP/plugins/hotagent.so"
wait_reload hotagent "$V2"
check "back on 0.2.0" test "$(field version)/$(field last_reload.outcome)" = 0.2.0/reloaded

# --- envs: one that cannot save may not move while used; one that can, moves
cp "$TP/hotenv-v2.so" "$TMP/plugins/hotenv.so"
wait_reload hotenv "$(sha "$TP/hotenv-v2.so")"
check "an env that cannot save is not swapped under its agent" test "$(field last_reload.outcome)/$(field version)" = refused/0.1.0
check "  saying why" has "$TMP/plugin.json" last_reload.error "cannot save and load its state, so the agents using it (e1)"
check "  the API says 409" test "$(code "$TOKEN" hotenv)" = 409
CP0=$(sha "$TMP/plugins/env-cartpole.so")
ep0=$(episodes a2)
printf x >>"$TMP/plugins/env-cartpole.so"
wait_reload cartpole "$(sha "$TMP/plugins/env-cartpole.so")"
ep1=$(episodes a2)
check "cartpole with a byte appended: generation 2" test "$(field generation)/$(field last_reload.migrated)" = 2/2
check "  its old copy left the process" sh -c "! grep -q $CP0 /proc/$WORKER_PID/maps"
check "a1 trains on" advances a1
sleep 1
check "a2's episodes across the env swap have every number, in order" continuous a2 "$((ep0 - 500))" "$((ep1 + 500))"

# --- continuity: no episode lost or repeated, no step lost or repeated
sleep 1 # the last scalars reach the store
kill "$WS_PID" 2>/dev/null
check "a1's agent counted every step the host made, across every swap" counted a1 4
check "so did a2's" counted a2 4

# --- a restart resumes on the new code
before=$(steps a1)
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGTERM stops tarsd cleanly (every instance and library freed under ASan)" test "$EXIT_CODE" -eq 0
[ "$EXIT_CODE" -eq 0 ] || diag "exit code $EXIT_CODE; the log ends with:" "$(tail -n 40 "$TMP/serve.log")"
check "  leaving no plugin copy behind, not even of the crashed smoke test" test -z "$(find "$TMP/cache" "$STATE_DIR/plugin-cache" -mindepth 1)"
"$TARSD" inspect --state "$STATE_DIR" --json >"$TMP/inspect.json"
check "no episode is missing from any agent's history (tarsd inspect)" perl -MJSON::PP -e '
	my @a = @{decode_json(join "", <STDIN>)->{agents}};
	printf "# %s: episodes %d to %d, %d missing\n", $_->{id}, @{$_->{history}}{qw(first last missing)} for @a;
	exit(grep { $_->{history}{missing} || !$_->{history}{recorded} } @a)' <"$TMP/inspect.json"
start_serve --config "$TMP/tars.json"
ok $? "tarsd starts again"
api /api/v1/agents/a1 >"$TMP/agent.json"
check "  a1 resumes on 0.2.0" test "$(json agent_version <"$TMP/agent.json")" = 0.2.0
check "  at the step it stopped at or beyond ($before)" test "$(json steps <"$TMP/agent.json")" -ge "$before"
check "  with its parameters (the changed epsilon among them)" test "$(json params.epsilon <"$TMP/agent.json")/$(json params.bonus <"$TMP/agent.json")" = 0.45/0
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "  and stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
