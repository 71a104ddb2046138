#!/bin/sh
# Issue 10, finding 4: bytes that are not UTF-8 (a path with %FF, a body's key of 600 × "é"
# that a 1 KiB message cuts in two) get a JSON error, escaped as \xFF; every refused call
# (unauthenticated, 404, 400...) is in the audit log; and the log's seq has no gap.
. "$(dirname "$0")/../tap.sh"

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$PLUGINS"], "runners": 1, "api_rate": 0, "api_address_rate": 0}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts"
ADMIN=$(cat "$STATE_DIR/admin.token")

# call METHOD PATH [CURL ARGS...]: status in $CODE, body in $TMP/out (raw, as sent)
call() {
	_m=$1 _p=$2
	shift 2
	CODE=$(curl -s --max-time 10 --path-as-is -o "$TMP/out" -w '%{http_code}' -X "$_m" "$@" \
		"http://127.0.0.1:$PORT$_p")
}
# is_json_error CODE: the reply is strict UTF-8 JSON with that error code
is_json_error() {
	perl -MJSON::PP -e '
		local $/; my $t = <STDIN>;
		my $v = eval { JSON::PP->new->utf8->decode($t) };
		print STDERR "# not JSON (", length($t), " bytes): ", substr($t, 0, 200), "\n" unless $v;
		exit !($v && $v->{error}{code} eq $ARGV[0]);' "$1" <"$TMP/out"
}

call GET '/api/v1/nope%FF'
check "a path with %FF: 404" test "$CODE" = 404
check "  JSON, strict UTF-8" is_json_error not_found
check '  the byte shown as \xFF' contains "$TMP/out" 'no route GET /api/v1/nope\\xFF'

E=$(perl -e 'print "\xc3\xa9" x 600')
call POST /api/v1/agents -H "Authorization: Bearer $ADMIN" \
	-d "{\"id\": \"a\", \"agent\": \"random\", \"env\": \"cartpole\", \"$E\": 1}"
check "an unknown key of 600 × é: 400" test "$CODE" = 400
check "  JSON, strict UTF-8" is_json_error invalid
cp "$TMP/out" "$TMP/even"
# The other parity: the 1 KiB cut falls on the other byte of a character.
call POST /api/v1/agents -H "Authorization: Bearer $ADMIN" \
	-d "{\"id\": \"a\", \"agent\": \"random\", \"env\": \"cartpole\", \"x$E\": 1}"
check "the same key one byte longer: 400" test "$CODE" = 400
check "  JSON, strict UTF-8" is_json_error invalid
# A path of 600 × é: the 1 KiB message cuts a character in two, in one of the two parities.
P=$(perl -e 'print "%C3%A9" x 600')
call GET "/api/v1/$P"
check "a path of 600 × é: 404" test "$CODE" = 404
check "  JSON, strict UTF-8" is_json_error not_found
cp "$TMP/out" "$TMP/even"
call GET "/api/v1/x$P"
check "the same path one byte longer: 404" test "$CODE" = 404
check "  JSON, strict UTF-8" is_json_error not_found
check '  the cut character shown as \xC3' grep -qF '\xC3' "$TMP/out" "$TMP/even"

call GET /api/v1/agents
check "a call without a token: 401" test "$CODE" = 401
call POST /api/v1/agents/x/stop
check "a mutating call without a token: 401" test "$CODE" = 401
call GET /api/v1/nosuch -H "Authorization: Bearer $ADMIN"
check "an unknown route: 404" test "$CODE" = 404
call GET /api/v1/agents/nosuch -H "Authorization: Bearer $ADMIN"
check "an unknown agent: 404" test "$CODE" = 404
call POST /api/v1/agents -H "Authorization: Bearer $ADMIN" -d '{"id": "a", "agent": "random",'
check "a truncated body: 400" test "$CODE" = 400
call PUT /api/v1/agents -H "Authorization: Bearer $ADMIN"
check "PUT on agents: 405" test "$CODE" = 405
call POST /api/v1/agents -H "Authorization: Bearer $ADMIN" \
	-d '{"id": "a", "agent": "random", "env": "cartpole"}'
check "an agent created: 201" test "$CODE" = 201

# Refused reads are not flushed one by one: they reach the store with the writer's next batch.
want=12
for _i in $(seq 100); do
	call GET "/api/v1/audit?limit=1000" -H "Authorization: Bearer $ADMIN"
	n=$(perl -MJSON::PP -e 'print scalar @{decode_json(join "", <STDIN>)->{entries}}' <"$TMP/out")
	[ "$n" -ge $want ] && break
	sleep 0.1
done
cp "$TMP/out" "$TMP/audit.json"
check "the audit log holds all $want calls (has $n)" test "$n" -ge $want
# has METHOD PATH STATUS [WHO]: an entry for that call ("-": no token)
has() {
	perl -MJSON::PP -e '
		my ($m, $p, $s, $who) = @ARGV;
		my @e = grep { $_->{method} eq $m && $_->{path} eq $p && $_->{status} == $s &&
			(!defined $who || ($who eq "-" ? !defined $_->{who} : ($_->{who}{role} // "") eq $who)) }
			@{decode_json(join "", <STDIN>)->{entries}};
		exit !@e' "$@" <"$TMP/audit.json"
}
check '  the %FF path, escaped, without a token' has GET '/api/v1/nope\xFF' 404 -
check "  the 600 × é refusals, by the admin" has POST /api/v1/agents 400 admin
check "  the unauthenticated read" has GET /api/v1/agents 401 -
check "  the unauthenticated stop" has POST /api/v1/agents/x/stop 401 -
check "  the unknown route" has GET /api/v1/nosuch 404 admin
check "  the unknown agent" has GET /api/v1/agents/nosuch 404 admin
check "  the PUT" has PUT /api/v1/agents 405 admin
check "  the creation" has POST /api/v1/agents 201 admin
check "  a refusal's detail keeps the escaped cut" perl -MJSON::PP -e '
	exit !grep { $_->{status} == 404 && $_->{detail} =~ /\\xC3/ } @{decode_json(join "", <STDIN>)->{entries}}' \
	<"$TMP/audit.json"
check "seq runs 1..N with no gap" perl -MJSON::PP -e '
	my @s = sort { $a <=> $b } map { $_->{seq} } @{decode_json(join "", <STDIN>)->{entries}};
	for my $i (0 .. $#s) { if ($s[$i] != $i + 1) { print STDERR "# seq $s[$i] at $i\n"; exit 1 } }
	exit 0' <"$TMP/audit.json"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
done_testing
