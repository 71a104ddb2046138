#!/bin/sh
# Issue 10, finding 11: SPEC §8's plugin rescan and agent export have routes, in the API and
# in tarsctl. POST /api/v1/plugins/rescan (admin) does what SIGHUP does and is audited;
# GET /api/v1/agents/{id}/export (operator) sends the agent's latest checkpoint as a download,
# refuses any format but the native one with a 400, and is audited.
. "$(dirname "$0")/../tap.sh"

mkdir "$TMP/m" "$TMP/late"
cp "$SRC"/manifests/*.json "$TMP/m/"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["m"],
 "plugin_dirs": ["$PLUGINS", "late"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "agents": [{"id": "policy", "agent": "random", "env": "cartpole", "n_envs": 2, "seed": 1}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
ADMIN=$(cat "$STATE_DIR/admin.token")
URL="http://127.0.0.1:$PORT"

# call METHOD PATH [CURL ARGS...]: status in $CODE, body in $TMP/out, headers in $TMP/head
call() {
	_m=$1 _p=$2
	shift 2
	CODE=$(curl -s --max-time 60 -D "$TMP/head" -o "$TMP/out" -w '%{http_code}' -X "$_m" "$@" "$URL$_p")
}
for role in viewer operator; do
	call POST /api/v1/tokens -H "Authorization: Bearer $ADMIN" -d "{\"role\": \"$role\", \"name\": \"$role\"}"
	eval "$(echo "$role" | tr a-z A-Z)=\$(json token <\"\$TMP/out\")"
done
CTL="$TARSCTL --url $URL"

# --- rescan
call POST /api/v1/plugins/rescan -H "Authorization: Bearer $OPERATOR"
check "an operator may not rescan (403)" test "$CODE" = 403
call POST /api/v1/plugins/rescan
check "nor anyone without a token (401)" test "$CODE" = 401
printf '{"name": "testagent", "kind": "agent", "version": "0.1.0", "abi": "1.1",\n "library": "late-good.so", "description": "x"}\n' >"$TMP/m/testagent.json"
call POST /api/v1/plugins/rescan -H "Authorization: Bearer $ADMIN"
check "admin rescans: 200" test "$CODE" = 200
check "  a new manifest whose library is missing is refused" test "$(json refused <"$TMP/out")" = 1
check "  saying why" contains "$TMP/out" "library 'late-good.so' not found"
check "  as the log says" contains "$TMP/serve.log" "rescanned manifests: 0 new, 1 refused"
cp "$B/tests/plugins/test-good.so" "$TMP/late/late-good.so"
$CTL --token "$ADMIN" plugin rescan >"$TMP/ctl.out" 2>"$TMP/ctl.err"
ok $? "tarsctl plugin rescan, once the library is there"
check "  reports what it loaded" contains "$TMP/ctl.out" "loaded agent testagent 0.1.0"
check "  the plugin is listed" test "$(api /api/v1/plugins/testagent | json status)" = loaded
$CTL --token "$OPERATOR" plugin rescan >"$TMP/ctl.out" 2>"$TMP/ctl.err"
check "tarsctl plugin rescan with an operator token exits 1" test $? -eq 1
check "  naming the role needed" contains "$TMP/ctl.err" "needs the admin role"

# --- export
call GET /api/v1/agents/policy/export -H "Authorization: Bearer $VIEWER"
check "a viewer may not export (403)" test "$CODE" = 403
call GET /api/v1/agents/nosuch/export -H "Authorization: Bearer $OPERATOR"
check "an unknown agent: 404" test "$CODE/$(json error.code <"$TMP/out")" = 404/not_found
call GET "/api/v1/agents/policy/export?format=onnx" -H "Authorization: Bearer $OPERATOR"
check "format=onnx: 400 unsupported_format" test "$CODE/$(json error.code <"$TMP/out")" = 400/unsupported_format
check "  naming the native one" contains "$TMP/out" "'tars'"
kill -USR1 "$SERVE_PID" # a checkpoint of every agent now
for _i in $(seq 200); do
	[ "$(api /api/v1/agents/policy/checkpoints | json checkpoints.0.step)" != null ] && break
	sleep 0.1
done
api /api/v1/agents/policy/checkpoints >"$TMP/ckpts"
bytes=$(perl -MJSON::PP -e 'my $c = decode_json(join "", <STDIN>)->{checkpoints}; print $c->[-1]{bytes}' <"$TMP/ckpts")
step=$(perl -MJSON::PP -e 'my $c = decode_json(join "", <STDIN>)->{checkpoints}; print $c->[-1]{step}' <"$TMP/ckpts")
call GET "/api/v1/agents/policy/export" -H "Authorization: Bearer $OPERATOR"
check "an operator exports: 200" test "$CODE" = 200
check "  a download" grep -qi '^Content-Disposition: attachment; filename="policy-step' "$TMP/head"
check "  of bytes" grep -qi '^Content-Type: application/octet-stream' "$TMP/head"
check "  the latest checkpoint, whole ($bytes bytes)" test "$(wc -c <"$TMP/out")" = "$bytes"
check "  as stored (TCKP)" test "$(head -c 4 "$TMP/out")" = TCKP
check "  of step $step" grep -qi "^X-Tars-Checkpoint-Step: $step" "$TMP/head"
call GET "/api/v1/agents/policy/export?format=tars" -H "Authorization: Bearer $OPERATOR"
check "format=tars (the native one) works too" test "$CODE" = 200
$CTL --token "$OPERATOR" agent export policy -o "$TMP/policy.tckp" >"$TMP/ctl.out" 2>"$TMP/ctl.err"
ok $? "tarsctl agent export policy -o FILE"
check "  writes the checkpoint" test "$(wc -c <"$TMP/policy.tckp")" -ge "$bytes"
check "  says where" contains "$TMP/ctl.out" "$TMP/policy.tckp"
$CTL --token "$OPERATOR" agent export policy -o "$TMP/x.onnx" --format onnx >"$TMP/ctl.out" 2>"$TMP/ctl.err"
check "tarsctl agent export --format onnx exits 1" test $? -eq 1
check "  with the API's sentence" contains "$TMP/ctl.err" "not available"
check "  leaving no file" test ! -e "$TMP/x.onnx" -a ! -e "$TMP/x.onnx.tmp"

# --- both are audited
for _i in $(seq 100); do
	api "/api/v1/audit?limit=200" >"$TMP/audit.json"
	grep -q '"exported agent' "$TMP/audit.json" && grep -q 'format=onnx\|unsupported\|not available' "$TMP/audit.json" && break
	sleep 0.1
done
check "the audit log has the admin's rescan" perl -MJSON::PP -e '
	exit !grep { $_->{path} eq "/api/v1/plugins/rescan" && $_->{status} == 200 && $_->{detail} =~ /1 new/ }
		@{decode_json(join "", <STDIN>)->{entries}}' <"$TMP/audit.json"
check "  the operator's export, by whom" perl -MJSON::PP -e '
	exit !grep { $_->{path} eq "/api/v1/agents/policy/export" && $_->{status} == 200 &&
		$_->{who}{role} eq "operator" && $_->{detail} =~ /exported agent .policy./ }
		@{decode_json(join "", <STDIN>)->{entries}}' <"$TMP/audit.json"
check "  and the refused format" perl -MJSON::PP -e '
	exit !grep { $_->{path} eq "/api/v1/agents/policy/export" && $_->{status} == 400 }
		@{decode_json(join "", <STDIN>)->{entries}}' <"$TMP/audit.json"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
