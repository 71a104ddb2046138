#!/bin/sh
# No plugin takes tarsd down for good (SPEC §5 "Supervision", issue 11 §3). tarsd serve is a
# supervising parent and a worker. A build of the test agent that dies of SIGSEGV in observe
# after 400 steps (tests/plugins/hot_agent.c, HOT_CRASH_AFTER) trains beside a random agent:
# the worker dies, the parent (the pid the test started) lives on, quarantines the build by
# sha256 in the state dir and starts a new worker that resumes the random agent from its
# checkpoint; the crashing agent comes back failed with the reason (API, log, audit), and
# cannot be started on the quarantined build. A fixed build copied in + SIGHUP, then a start,
# resume it from its checkpoint. The release route lifts a quarantine. A library whose
# constructor segfaults, dropped in + SIGHUP, never crashes the worker (the rescan smoke-tests
# it first). A worker killed with no plugin to blame, over and over, stops the parent with an
# error instead of a crash loop. The plugin cache lives in the state dir, and what a dead
# worker left there is swept at the next start. `tarsd train` names the plugin and op before it dies.
. "$(dirname "$0")/../tap.sh"

# TARS_TEST_PLUGINS: where the test builds are (to run this test on an older tarsd)
TP=${TARS_TEST_PLUGINS:-$B/tests/plugins}
mkdir -p "$TMP/plugins" "$TMP/manifests"
cp "$TP/hot-late.so" "$TMP/plugins/hotagent.so"
cp "$PLUGINS/env-cartpole.so" "$PLUGINS/agent-random.so" "$TMP/plugins/"
cp "$SRC/manifests/cartpole.json" "$SRC/manifests/random.json" "$TMP/manifests/"
printf '{"name": "hotagent", "kind": "agent", "version": "0.9.0", "abi": "1.1",\n "library": "hotagent.so", "description": "A test agent."}\n' >"$TMP/manifests/hotagent.json"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$TMP/manifests"],
 "plugin_dirs": ["$TMP/plugins"], "checkpoint_every_s": 0.1, "api_rate": 0,
 "api_address_rate": 0, "smoke_timeout_s": 20,
 "agents": [
  {"id": "victim", "agent": "hotagent", "env": "cartpole", "n_envs": 2, "seed": 1, "params": {"work_us": 3000}},
  {"id": "bystander", "agent": "random", "env": "cartpole", "n_envs": 2, "seed": 2}]}
JSON
sha() { sha256sum "$1" | cut -d' ' -f1; }
LATE=$(sha "$TP/hot-late.so")
cd "$TMP" || exit 1

# relisten N: waits (60 s) for the Nth "listening" line and takes its port (a new worker's)
relisten() {
	for _i in $(seq 600); do
		_c=$(grep -c '(port [0-9]*)' "$TMP/serve.log")
		if [ "$_c" -ge "$1" ]; then
			PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$TMP/serve.log" | tail -n 1)
			WORKER_PID=$(worker_of "$SERVE_PID")
			return 0
		fi
		sleep 0.1
	done
	diag "no listening line number $1; the log:" "$(tail -n 20 "$TMP/serve.log")"
	return 1
}
field() { api "/api/v1/agents/$1" | json "$2"; }
# advances ID: its steps grow within 20 s
advances() {
	_from=$(field "$1" steps)
	for _i in $(seq 200); do
		[ "$(field "$1" steps)" -gt "${_from:-0}" ] 2>/dev/null && return 0
		sleep 0.1
	done
	diag "agent $1 stayed at ${_from:-?} steps"
	return 1
}

start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts with the late-crashing build"
FIRST=$WORKER_PID
check "  as a parent and a worker" test -n "$FIRST" -a "$FIRST" != "$SERVE_PID"

relisten 2
ok $? "the worker died in observe and a new worker listens"
check "  the parent lives on" kill -0 "$SERVE_PID"
check "  in a new worker" test -n "$WORKER_PID" -a "$WORKER_PID" != "$FIRST"
check "  the log names the build, the op and the signal" \
	grep -q "hotagent.so (sha256 $(echo "$LATE" | cut -c1-12)…) crashed tarsd in observe at [0-9:]*: SIGSEGV; build quarantined" "$TMP/serve.log"
check "  the build is quarantined in the state dir" test -s "$TMP/state/quarantine/$LATE.json"
check "  the plugin cache under the state dir holds the new worker's copies alone" \
	test "$(ls "$TMP/state/plugin-cache" | wc -l)" -eq 1
check "  the victim comes back failed" test "$(field victim state)" = failed
check "  with the reason" sh -c "curl -s -H 'Authorization: Bearer $(cat "$TMP/state/admin.token")' http://127.0.0.1:$PORT/api/v1/agents/victim | grep -q 'crashed tarsd in observe at'"
VSTEPS=$(field victim steps)
check "  at its checkpointed steps ($VSTEPS)" test "${VSTEPS:-0}" -gt 0
check "  the plugin shows as quarantined" test "$(api /api/v1/plugins/hotagent | json status)" = quarantined
check "  the bystander resumed from its checkpoint" test "$(field bystander steps)" -gt 0
check "  and trains on" advances bystander
check "  the audit log has the crash" sh -c "curl -s -H 'Authorization: Bearer $(cat "$TMP/state/admin.token")' 'http://127.0.0.1:$PORT/api/v1/audit' | grep -q 'crashed tarsd in observe'"
check "  the log says the agent failed" grep -q '"source":"victim".*failed: hotagent.so' "$TMP/serve.log"
code=$(api /api/v1/agents/victim/start -X POST -o "$TMP/start.json" -w '%{http_code}')
check "a start on the quarantined build is refused ($code)" test "$code" -ge 400
check "  naming the quarantine" grep -q 'quarantined\|crashed tarsd' "$TMP/start.json"

# The fixed build: copied over the crashing one, SIGHUP; the failed agent moves to it.
cp "$TP/hot-v1.so" "$TMP/plugins/hotagent.so.new" && mv "$TMP/plugins/hotagent.so.new" "$TMP/plugins/hotagent.so"
kill -HUP "$SERVE_PID"
for i in $(seq 600); do
	[ "$(api /api/v1/plugins/hotagent | json status)" = loaded ] && break
	sleep 0.1
done
check "SIGHUP loads the fixed build" test "$(api /api/v1/plugins/hotagent | json version)" = 0.1.0
code=$(api /api/v1/agents/victim/start -X POST -o "$TMP/start.json" -w '%{http_code}')
check "  a start then succeeds ($code)" test "$code" = 200
check "  the victim runs" test "$(field victim state)" = running
check "  resumed from its checkpoint (steps $(field victim steps) >= $VSTEPS)" test "$(field victim steps)" -ge "$VSTEPS"
check "  and trains on" advances victim
check "  still in the first new worker" test "$(worker_of "$SERVE_PID")" = "$WORKER_PID"

# A library whose constructor segfaults, dropped in as a new plugin: a SIGHUP smoke-tests it in
# a child, so the worker never maps it.
cp "$TP/hot-ctor.so" "$TMP/plugins/ctor.so"
printf '{"name": "ctor", "kind": "agent", "version": "0.10.0", "abi": "1.1",\n "library": "ctor.so", "description": "Crashes when mapped."}\n' >"$TMP/manifests/ctor.json"
kill -HUP "$SERVE_PID"
for i in $(seq 600); do
	api /api/v1/plugins | grep -q '"name":"ctor"' && break
	sleep 0.1
done
api /api/v1/plugins/ctor >"$TMP/plugins.json"
check "a library whose constructor segfaults is refused by a rescan" test "$(json status <"$TMP/plugins.json")" = refused
# (SIGABRT under ASan, whose handler aborts; TSan's reports the SEGV and exits)
check "  with the signal that killed its smoke test" grep -q 'SEGV\|SIGABRT' "$TMP/plugins.json"
check "  the worker lives on" test "$(worker_of "$SERVE_PID")" = "$WORKER_PID"
check "  and serves" test "$(api /api/v1/health | json status)" = ok

# The release route lifts a quarantine (here the record of the crashing build: put it back).
cp "$TP/hot-late.so" "$TMP/plugins/hotagent.so.new" && mv "$TMP/plugins/hotagent.so.new" "$TMP/plugins/hotagent.so"
code=$(api /api/v1/plugins/hotagent/release -X POST -o "$TMP/release.json" -w '%{http_code}')
check "releasing a build that is not quarantined is a conflict ($code)" test "$code" = 409

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "SIGTERM stops the parent and the worker" test "$EXIT_CODE" = 0
check "  cleanly" grep -q 'stopped cleanly' "$TMP/serve.log"

# A restart on the quarantined build (copied back): refused, without a crash; release lifts it.
start_serve --config "$TMP/tars.json"
ok $? "a restart with the quarantined build copied back serves"
check "  the victim is failed again, with the reason" sh -c "test \"\$(curl -s -H 'Authorization: Bearer $(cat "$TMP/state/admin.token")' http://127.0.0.1:$PORT/api/v1/agents/victim | perl -MJSON::PP -e 'print decode_json(join q(), <STDIN>)->{state}')\" = failed"
"$TARSCTL" --url "http://127.0.0.1:$PORT" --token "$(cat "$TMP/state/admin.token")" plugin release hotagent >"$TMP/ctl.out" 2>&1
check "  an admin's release (tarsctl plugin release) lifts it" grep -q "plugin 'hotagent' released" "$TMP/ctl.out"
check "  its record leaves the state dir" test ! -e "$TMP/state/quarantine/$LATE.json"
check "  the plugin is loaded again" test "$(api /api/v1/plugins/hotagent | json status)" = loaded
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
cp "$TP/hot-v1.so" "$TMP/plugins/hotagent.so"

# No crash loop: a worker killed (SIGKILL, nothing to blame) three times in a row.
start_serve --config "$TMP/tars.json"
for n in 1 2 3; do
	w=$(worker_of "$SERVE_PID")
	[ -n "$w" ] && kill -KILL "$w"
	[ "$n" -lt 3 ] && relisten $((n + 1)) >/dev/null
done
wait_exit "$SERVE_PID"
check "a worker that dies 3 times in a row with nothing to blame stops the parent" test "$EXIT_CODE" = 1
check "  with a clear error" grep -q 'died of SIGKILL 3 times in a row with no plugin to blame' "$TMP/serve.log" ||
	diag "the log ends with:" "$(tail -n 12 "$TMP/serve.log")"

# A worker that cannot start (its port taken) stops the parent, after the worker's one line.
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$TMP/taken" &
HOLDER=$!
_pids="$_pids $HOLDER"
for _i in $(seq 200); do [ -s "$TMP/taken" ] && break; sleep 0.1; done
sed "s/127.0.0.1:0/127.0.0.1:$(cat "$TMP/taken")/" "$TMP/tars.json" >"$TMP/taken.json"
timeout 60 "$TARSD" serve --config "$TMP/taken.json" >"$TMP/taken.out" 2>"$TMP/taken.err"
rc=$?
kill "$HOLDER"
check "a worker that cannot listen exits, and so does the parent ($rc)" test "$rc" = 1
check "  with the worker's error, naming the address" grep -q "^tarsd: cannot listen on 127.0.0.1:$(cat "$TMP/taken"): Address already in use" "$TMP/taken.err" ||
	diag "the port held: $(cat "$TMP/taken"); stderr ends with:" "$(tail -n 3 "$TMP/taken.err")"
check "  and nothing from the parent: the worker said why" sh -c "! grep -q 'worker exited' '$TMP/taken.err'"
# A worker that had started and exits unasked (SIGTERM sent to it alone): the parent says so.
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts again" || diag "its log:" "$(tail -n 8 "$TMP/serve.log")"
kill -TERM "$(worker_of "$SERVE_PID")"
wait_exit "$SERVE_PID"
check "a worker stopped on its own stops the parent with its status ($EXIT_CODE)" test "$EXIT_CODE" = 0
check "  which says the worker exited unasked" grep -q 'the worker exited with status 0, unasked' "$TMP/serve.log" ||
	diag "the log ends with:" "$(tail -n 5 "$TMP/serve.log")"

# tarsd train names the plugin and the op before it dies.
mkdir -p "$TMP/late" && cp "$TP/hot-late.so" "$TMP/late/hotagent.so" && cp "$TMP/plugins/env-cartpole.so" "$TMP/late/"
"$TARSD" train --manifests "$TMP/manifests" --plugins "$TMP/late" --agent hotagent --env cartpole \
	--steps 100000 --seed 1 >"$TMP/train.out" 2>"$TMP/train.err"
rc=$?
check "tarsd train on the crashing build dies of SIGSEGV ($rc)" test "$rc" = 139
check "  after one line naming the plugin, the op and the signal" \
	grep -q "^tarsd: hotagent.so (sha256 $(echo "$LATE" | cut -c1-12)…) crashed tarsd in observe of agent 'train': SIGSEGV" "$TMP/train.err"
done_testing
