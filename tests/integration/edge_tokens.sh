#!/bin/sh
# The token lifecycle (issue 10, finding 5): a revoked, expired or rotated-out token's open
# streams are closed with 1008 and a reason, and nothing built after the change reaches them;
# expiry at creation; rotation with a grace period for the old secret; last use (time and
# address) in the list; bad input; tarsctl; all of it across a restart, and a record stored
# before expiry and rotation existed still works.
. "$(dirname "$0")/../tap.sh"
WS=$B/tests/tools/wsclient

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "api_rate": 0, "api_address_rate": 0,
 "agents": [{"id": "alpha", "agent": "random", "env": "cartpole", "n_envs": 4}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
ADMIN=$(cat "$STATE_DIR/admin.token")

# call METHOD PATH [BODY] with $TOKEN (default: the admin's): status in $CODE, body in $TMP/out
call() {
	_m=$1 _p=$2
	shift 2
	CODE=$(curl -s --max-time 10 -o "$TMP/out" -w '%{http_code}' -X "$_m" \
		-H "Authorization: Bearer ${TOKEN:-$ADMIN}" "$@" "http://127.0.0.1:$PORT$_p")
}
expect() { # expect STATUS ERROR-CODE DESCRIPTION
	_ok=1
	[ "$CODE" = "$1" ] || _ok=0
	[ -z "$2" ] || [ "$(json error.code <"$TMP/out")" = "$2" ] || _ok=0
	[ $_ok = 1 ] || diag "got $CODE: $(head -c 600 "$TMP/out")"
	ok $((1 - _ok)) "$3 -> $1${2:+ $2}"
}
# new_token ROLE NAME [EXPIRES_IN]: sets NEW (text) and NEW_ID
new_token() {
	_e=${3:+, \"expires_in\": $3}
	call POST /api/v1/tokens -d "{\"role\": \"$1\", \"name\": \"$2\"$_e}"
	NEW=$(json token <"$TMP/out")
	NEW_ID=$(json id <"$TMP/out")
}
whoami() { TOKEN=$1 call GET /api/v1/whoami; }
# listed ID FIELD: the field of token ID in GET /api/v1/tokens
listed() {
	TOKEN= call GET /api/v1/tokens
	perl -MJSON::PP -e 'for (@{decode_json(join "", <STDIN>)->{tokens}}) { next unless $_->{id} eq $ARGV[0]; my $v = $_->{$ARGV[1]}; print defined $v ? (ref $v ? ($v ? "true" : "false") : $v) : "null" }' "$1" "$2" <"$TMP/out"
}
# stream FILE TOKEN: a stream client in the background (PID in $WSPID), 30 s at most
stream() {
	"$WS" "$PORT" /api/v1/stream --send "{\"token\": \"$2\"}" --seconds 30 >"$1" 2>&1 &
	WSPID=$!
	_pids="$_pids $WSPID"
}
# wait_line FILE PATTERN: waits (up to 15 s, for sanitizer builds) for a line matching PATTERN
wait_line() {
	for _i in $(seq 150); do
		grep -Eq "$2" "$1" && return 0
		sleep 0.1
	done
	diag "$1 never matched $2; it ends with:" "$(tail -n 3 "$1" | cut -c1-200)"
	return 1
}
now() { perl -MTime::HiRes=time -e 'printf "%.6f\n", time'; }
# batches_after FILE T: how many batches in FILE were built after Unix time T
batches_after() { perl -MJSON::PP -e 'my $n = 0; while (<STDIN>) { next unless /^\{/; $n++ if decode_json($_)->{t} > $ARGV[0] } print $n' "$2" <"$1"; }

# --- finding 5: a revoked token's stream closes (1008, a reason) and gets nothing after
new_token viewer watcher
W=$NEW W_ID=$NEW_ID
stream "$TMP/revoked" "$W"
stream "$TMP/bystander" "$ADMIN"
BYSTANDER=$WSPID
check "a stream signed in with a viewer token gets the snapshot" wait_line "$TMP/revoked" '"type":"snapshot"'
check "  and batches" wait_line "$TMP/revoked" '"type":"(progress|episodes)"'
call DELETE "/api/v1/tokens/$W_ID"
expect 200 "" "the token is revoked"
REVOKED_AT=$(now)
check "its stream is closed with 1008 and the reason" wait_line "$TMP/revoked" '^close 1008 token revoked$'
check "  no batch built after the revocation reached it" test "$(batches_after "$TMP/revoked" "$REVOKED_AT")" = 0
check "  the log says so" contains "$TMP/serve.log" "closed the client at 127.0.0.1 (watcher): token revoked"
sleep 1
check "another client's stream goes on" sh -c "kill -0 $BYSTANDER && ! grep -q '^close' '$TMP/bystander'"

# --- expiry
for bad in -1 0 315360001 1e3 '"60"' 1.5 true; do
	call POST /api/v1/tokens -d "{\"role\": \"viewer\", \"name\": \"x\", \"expires_in\": $bad}"
	expect 400 invalid "expires_in $bad is refused"
done
check "  saying the range" contains "$TMP/out" "expires_in must be a whole number of seconds from 1 to 315360000"
call POST /api/v1/tokens -d '{"role": "viewer", "name": "x", "expires_in": 99999999999999999999999}'
expect 400 "" "a huge expires_in is refused"
new_token viewer brief 5
check "a token with expires_in 5 is created, stating when it expires" \
	perl -e 'exit !($ARGV[0] > time + 3 && $ARGV[0] < time + 6)' "$(json expires <"$TMP/out")"
B_ID=$NEW_ID
BRIEF=$NEW
whoami "$BRIEF"
expect 200 "" "  it works at first"
check "  the list shows its expiry, not expired yet" test "$(listed "$B_ID" expired)" = false
stream "$TMP/expiring" "$BRIEF"
check "  a stream signs in with it" wait_line "$TMP/expiring" '"type":"snapshot"'
check "  the stream is closed with 1008 when it expires" wait_line "$TMP/expiring" '^close 1008 token expired$'
whoami "$BRIEF"
expect 401 unauthorized "  then the token is refused"
check "  saying it expired" contains "$TMP/out" "the token 'brief' expired at "
check "  the list says expired" test "$(listed "$B_ID" expired)" = true
"$WS" "$PORT" /api/v1/stream --send "{\"token\": \"$BRIEF\"}" --seconds 10 >"$TMP/late" 2>&1
check "  a stream cannot sign in with it" grep -q '^close 1008 sign in first: the token expired' "$TMP/late"

# --- rotation
new_token operator deployer
D_ID=$NEW_ID
OLD=$NEW
check "a new token has not been used" test "$(listed "$D_ID" last_used)/$(listed "$D_ID" last_address)" = null/null
whoami "$OLD"
check "  after a call the list shows when and from where" \
	test "$(listed "$D_ID" last_used)" != null -a "$(listed "$D_ID" last_address)" = 127.0.0.1
stream "$TMP/old" "$OLD"
check "  a stream signs in with the old secret" wait_line "$TMP/old" '"type":"snapshot"'
call POST "/api/v1/tokens/$D_ID/rotate" -d '{"grace": 6}'
expect 200 "" "rotating it with a 6 s grace"
NEWER=$(json token <"$TMP/out")
check "  returns a new secret for the same id, name and role" \
	test "$(json id <"$TMP/out")/$(json name <"$TMP/out")/$(json role <"$TMP/out")/$(json grace <"$TMP/out")" = "$D_ID/deployer/operator/6"
check "  that differs from the old one" test -n "$NEWER" -a "$NEWER" != "$OLD" -a "${#NEWER}" = 48
check "  and says until when the old one works" \
	perl -e 'exit !($ARGV[0] > time + 3 && $ARGV[0] < time + 7)' "$(json previous_until <"$TMP/out")"
stream "$TMP/new" "$NEWER"
check "  a stream signs in with the new secret" wait_line "$TMP/new" '"type":"snapshot"'
whoami "$OLD"
expect 200 "" "  during the grace the old secret works"
check "    as the same token" test "$(json id <"$TMP/out")/$(json role <"$TMP/out")" = "$D_ID/operator"
whoami "$NEWER"
expect 200 "" "    and so does the new one"
check "  the list shows the rotation and the old secret's last use" \
	test "$(listed "$D_ID" rotated)" != null -a "$(listed "$D_ID" previous_last_used)" != null
check "  the old secret's stream is closed with 1008 when the grace ends" \
	wait_line "$TMP/old" '^close 1008 token rotated: the old secret.s grace period ended$'
whoami "$OLD"
expect 401 unauthorized "  after the grace the old secret is refused"
check "    saying it was rotated out" contains "$TMP/out" "was rotated out: it stopped working at"
whoami "$NEWER"
expect 200 "" "  the new one works"
check "  the new secret's stream goes on" sh -c "! grep -q '^close' '$TMP/new'"
call POST "/api/v1/tokens/$D_ID/rotate"
expect 200 "" "rotating without a body"
check "  gives the default grace of an hour" test "$(json grace <"$TMP/out")" = 3600
NEWEST=$(json token <"$TMP/out")
call POST "/api/v1/tokens/$D_ID/rotate" -d '{"grace": 0}'
expect 200 "" "rotating with grace 0"
whoami "$NEWEST"
expect 401 unauthorized "  stops the secret at once"
whoami "$NEWER"
expect 401 unauthorized "  and a second rotation drops the first one's old secret"
for bad in -1 604801 '"10"' 2.5 null; do
	call POST "/api/v1/tokens/$D_ID/rotate" -d "{\"grace\": $bad}"
	expect 400 invalid "grace $bad is refused"
done
check "  saying the range" contains "$TMP/out" "grace must be a whole number of seconds from 0 to 604800"
call POST "/api/v1/tokens/$D_ID/rotate" -d '{"grace": 5, "expires_in": 5}'
expect 400 invalid "a rotation with an unknown key"
call POST "/api/v1/tokens/$D_ID/rotate" -d '[]'
expect 400 invalid "a rotation body that is not an object"
call POST /api/v1/tokens/0123456789abcdef/rotate
expect 404 not_found "rotating an unknown id"
check "  saying which" contains "$TMP/out" "no token '0123456789abcdef'"
call POST /api/v1/tokens/nothex/rotate
expect 404 not_found "rotating a malformed id"
new_token viewer looker
LOOKER=$NEW
TOKEN=$LOOKER call POST "/api/v1/tokens/$D_ID/rotate"
expect 403 forbidden "a viewer rotating a token"
new_token operator runner
TOKEN=$NEW call POST "/api/v1/tokens/$NEW_ID/rotate"
expect 403 forbidden "an operator rotating even its own token"
call GET "/api/v1/audit?limit=100"
check "rotations are in the audit log" contains "$TMP/out" "rotated token $D_ID 'deployer': the old secret works for 6 s more"
check "  as is a creation with an expiry" contains "$TMP/out" "created viewer token $B_ID 'brief' expiring in 5 s"
check "  refused ones too" sh -c "perl -MJSON::PP -e 'exit !grep { \$_->{status} == 403 && \$_->{path} =~ m{/rotate\$} } @{decode_json(join \"\", <STDIN>)->{entries}}' <'$TMP/out'"
check "  never a token's text" sh -c "! grep -q tars_ '$TMP/out'"

# --- tarsctl
ctl() { "$TARSCTL" --url "http://127.0.0.1:$PORT" --token "$ADMIN" "$@" >"$TMP/ctl" 2>"$TMP/ctl.err"; }
ctl token create --role viewer --name ctl-viewer --expires-in 3600
check "tarsctl token create --expires-in" test $? -eq 0
CTL_TOKEN=$(head -n 1 "$TMP/ctl")
CTL_ID=$(sed -n 's/^token id \([0-9a-f]*\),.*/\1/p' "$TMP/ctl")
check "  prints the token alone on the first line" sh -c "head -n 1 '$TMP/ctl' | grep -Eq '^tars_[A-Za-z0-9_-]{43}\$'"
check "  and when it expires" grep -q "name 'ctl-viewer', expires 20[0-9-]* [0-9:]*: store it now" "$TMP/ctl"
whoami "$CTL_TOKEN"
expect 200 "" "  the token works"
ctl token rotate "$CTL_ID" --grace 600
check "tarsctl token rotate --grace" test $? -eq 0
CTL_ROTATED=$(head -n 1 "$TMP/ctl")
check "  prints the new secret alone on the first line" test "${#CTL_ROTATED}" = 48 -a "$CTL_ROTATED" != "$CTL_TOKEN"
check "  and until when the old one works" grep -q "rotated: the old secret works until 20" "$TMP/ctl"
whoami "$CTL_ROTATED"
expect 200 "" "  the new secret works"
ctl token list
check "tarsctl token list" test $? -eq 0
check "  has expiry, old-secret and last-use columns" grep -q 'EXPIRES .*OLD SECRET UNTIL .*LAST USED' "$TMP/ctl"
check "  the expired token says so" grep -q "^$B_ID .*(expired)" "$TMP/ctl"
check "  the last use shows its address" grep -q "^$CTL_ID .* from 127.0.0.1" "$TMP/ctl"
check "  and no token's text" sh -c "! grep -q tars_ '$TMP/ctl'"
ctl token rotate 0123456789abcdef
check "tarsctl token rotate of an unknown id fails" test $? -ne 0
check "  saying why" grep -q "no token '0123456789abcdef'" "$TMP/ctl.err"
ctl token create --role viewer --name x --expires-in -5
check "tarsctl token create --expires-in -5 is a usage error" test $? -eq 2
ctl token create --role viewer --name x --expires-in 999999999
check "  and one beyond ten years is refused by tarsd" test $? -ne 0
check "    saying the range" grep -q "expires_in must be a whole number of seconds from 1 to 315360000" "$TMP/ctl.err"

# --- a restart keeps expiry, rotation and last use
LAST_BEFORE=$(listed "$CTL_ID" last_used)
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
# A record as tarsd stored them before expiry and rotation: only hash, name, role, created.
LEGACY=tars_legacylegacylegacylegacylegacylegacylegacyl
HASH=$(printf %s "$LEGACY" | perl -MDigest::SHA=sha256_hex -e 'print sha256_hex(<STDIN>)')
KEY=$(printf %s "$HASH" | cut -c1-16 | sed 's/../\\&/g')
printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n %s\n {"hash":"%s","name":"legacy","role":"viewer","created":1700000000.5,"created_by":"tarsd"}\nDATA=END\n' \
	"$KEY" "$HASH" | mdb_load -s tars-tokens "$STATE_DIR"
check "a record of before this release is added to the store" test $? -eq 0
start_serve --config "$TMP/tars.json"
ok $? "tarsd starts again"
whoami "$LEGACY"
expect 200 "" "the old record's token works"
check "  as a token that never expires and was never rotated" \
	test "$(listed "$(printf %s "$HASH" | cut -c1-16)" expires)/$(listed "$(printf %s "$HASH" | cut -c1-16)" rotated)" = null/null
check "the last use survived the restart" test "$(listed "$CTL_ID" last_used)" = "$LAST_BEFORE"
whoami "$CTL_TOKEN"
expect 200 "" "the rotated token's old secret still works in its grace"
whoami "$CTL_ROTATED"
expect 200 "" "  and its new one"
whoami "$BRIEF"
expect 401 unauthorized "the expired token stays expired"
whoami "$OLD"
expect 401 unauthorized "a secret rotated out stays out"
check "the expiry survived" test "$(listed "$CTL_ID" expires)" != null

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
