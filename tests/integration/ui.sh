#!/bin/sh
# The web UI in a real browser (SPEC §8): headless Chromium, driven by playwright-core
# (tests/browser/ui.mjs), signs in, watches the agents table follow the stream, opens an
# agent's charts, changes a HOT parameter there (and sees one changed elsewhere arrive, and a
# bad value refused), creates, stops and deletes an agent with the form and the buttons, reads
# the plugins, audit and tokens pages, signs in as an operator to propose a change and as an
# admin to approve it on the Proposals page, and signs in again as a viewer. Any console error
# or warning fails it. `make check` installs chromium, node and playwright-core (package.json).
#
# It runs on the sanitizer builds too: the UI drives the HTTP server, the stream and the agent
# routes the way a person does, which is worth checking under ASan and TSan (it found a leak
# and a data race there before they were fixed); every wait in it is for a condition, with
# room for a slow build.
. "$(dirname "$0")/../tap.sh"

if ! [ -x /usr/bin/chromium ] || ! command -v node >/dev/null 2>&1 ||
	! [ -d "$SRC/node_modules/playwright-core" ]; then
	ok 1 "chromium, node and playwright-core are installed (make check installs them)"
	diag "missing: /usr/bin/chromium (packaging/deps.sh test), node, or node_modules" \
		"(npm ci --ignore-scripts in $SRC)"
	done_testing
	exit 1
fi

# cartpole-a2c learns in seconds (charts with a shape); cartpole-random finishes thousands of
# short episodes a second (a stream the UI must keep up with). For the admin guide's pictures
# (TARS_SCREENSHOTS=1) cartpole-a2c learns over a minute instead, so they show a learning curve,
# beside a few more agents.
a2c='"preset": "cartpole"'
more=''
if [ "${TARS_SCREENSHOTS:-}" = 1 ]; then
	a2c='"n_envs": 1, "params": {"hidden": 256}'
	more=', {"id": "acrobot-ppo", "agent": "ppo", "env": "acrobot", "preset": "acrobot"},
	{"id": "pendulum-ddpg", "agent": "ddpg", "env": "pendulum", "preset": "pendulum"}'
fi
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "www_dir": "$SRC/www", "runners": 2,
 "agents": [{"id": "cartpole-a2c", "agent": "a2c", "env": "cartpole", $a2c},
            {"id": "cartpole-random", "agent": "random", "env": "cartpole", "n_envs": 16}$more]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"

node "$SRC/tests/browser/ui.mjs" "http://127.0.0.1:$PORT/" "$STATE_DIR/admin.token" >"$TMP/ui.out" 2>"$TMP/ui.err"
status=$?
while IFS= read -r line; do
	case $line in
	"ok - "*) ok 0 "${line#ok - }" ;;
	"not ok - "*) ok 1 "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done <"$TMP/ui.out"
check "the browser test ran to its end (exit $status)" test "$status" -eq 0
[ -s "$TMP/ui.err" ] && diag "stderr:" "$(head -c 3000 "$TMP/ui.err")"

check "the agent the form created is gone again" \
	test "$(api /api/v1/agents/made-in-ui | json error.code)" = not_found
api '/api/v1/audit?limit=100' >"$TMP/audit.json"
audited() { # audited METHOD PATH STATUS: the audit log holds that call
	perl -MJSON::PP -e 'my ($m, $p, $s) = @ARGV; my $a = decode_json(join "", <STDIN>);
		exit !grep { $_->{method} eq $m && $_->{path} eq $p && $_->{status} == $s } @{$a->{entries}}' \
		"$@" <"$TMP/audit.json"
}
check "  the audit log has its creation by the form" audited POST /api/v1/agents 201
check "  and its deletion" audited DELETE /api/v1/agents/made-in-ui 200
check "  the admin's parameter change" audited PATCH /api/v1/agents/cartpole-a2c/params 200
check "  the operator's proposal" audited PATCH /api/v1/agents/cartpole-a2c/params 202
api '/api/v1/proposals?agent=cartpole-a2c&state=applied' >"$TMP/applied.json"
check "the proposal the operator made in the UI was applied on the admin's approval" perl -MJSON::PP -e '
	exit !grep { $_->{by}{name} eq "ui operator" && $_->{decided_by}{role} eq "admin" &&
		$_->{diff}{params}{gamma}{new} == 0.96 } @{decode_json(join "", <STDIN>)->{proposals}}' <"$TMP/applied.json"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
[ "$EXIT_CODE" -eq 0 ] || diag "exit $EXIT_CODE; the end of its log:" "$(tail -n 60 "$TMP/serve.log")"
done_testing
