#!/bin/sh
# Parameter swaps under load: 10,000 changes through the API to a PPO agent training on
# CartPole (2,000 on sanitizer builds), from four clients at once, while API readers poll and
# a second agent, pairagent,
# gets changes of its own and checks in every op that its step sees one snapshot, whole.
# No step is lost: the step counter and the episode history stay continuous.
. "$(dirname "$0")/../tap.sh"

N=${HOT_PARAMS_N:-10000}
[ -n "${TARS_SANITIZED:-}" ] && N=2000
M=$((N / 5))
mkdir "$TMP/m"
cp "$SRC"/manifests/*.json "$TMP/m/"
"$TARSCTL" plugin manifest "$B/tests/plugins/pairagent.so" -o "$TMP/m/pairagent.json" 2>"$TMP/err"
ok $? "a manifest for the test agent"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["m"],
 "plugin_dirs": ["$PLUGINS", "$B/tests/plugins"], "runners": 2, "api_rate": 0,
 "api_address_rate": 0, "http_nice": 0,
 "agents": [{"id": "learner", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 5},
            {"id": "pair", "agent": "pairagent", "env": "cartpole", "n_envs": 4}]}
JSON
start_serve --config "$TMP/tars.json"
ok $? "tarsd serve starts with a PPO agent and the pair agent"
T=$(cat "$STATE_DIR/admin.token")
URL=http://127.0.0.1:$PORT/api/v1/agents

# curl config files: one request each, all on one keep-alive connection.
perl -e '
	my ($n, $m, $url, $t, $dir) = @ARGV;
	my $req = sub { my ($fh, $path, $body) = @_;
		print $fh "url = \"$url/$path\"\nrequest = \"PATCH\"\nheader = \"Authorization: Bearer $t\"\n",
		    "data = \"$body\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\\\n\"\n" };
	# One request per block; "next" between them.
	my $next = sub { my ($fh, $i) = @_; print $fh "next\n" if $i > 1 };
	for my $c (1 .. 4) { # client c sends changes c, c + 4, ...
		open my $l, ">", "$dir/learner$c.curl" or die;
		for (my $i = $c; $i <= $n; $i += 4) {
			my ($lr, $ent) = (1e-4 + $i * 1e-8, ($i % 2) * 0.01); # each change differs
			$next->($l, $i - $c + 1);
			$req->($l, "learner/params", "{\\\"params\\\": {\\\"learning_rate\\\": $lr, \\\"ent_coef\\\": $ent}}");
		}
	}
	open my $p, ">", "$dir/pair.curl" or die;
	for my $i (1 .. $m) { # a = 1 is the default: start at 2
		$next->($p, $i);
		$req->($p, "pair/params", "{\\\"params\\\": {\\\"a\\\": " . ($i + 1) . ", \\\"b\\\": -" . ($i + 1) . "}}");
	}
	open my $r, ">", "$dir/read.curl" or die;
	for my $i (1 .. $m) {
		$next->($r, $i);
		print $r "url = \"$url/", ($i % 2 ? "learner" : "learner/params"), "\"\n",
		    "header = \"Authorization: Bearer $t\"\noutput = \"/dev/null\"\nwrite-out = \"%{http_code}\\\\n\"\n";
	}
' "$N" "$M" "$URL" "$T" "$TMP"

s0=$(api /api/v1/agents/learner | json steps)
CLIENTS=""
for c in 1 2 3 4; do
	curl -s -K "$TMP/learner$c.curl" >"$TMP/learner$c.codes" &
	CLIENTS="$CLIENTS $!"
done
curl -s -K "$TMP/pair.curl" >"$TMP/pair.codes" &
C2=$!
curl -s -K "$TMP/read.curl" >"$TMP/read.codes" &
C3=$!
wait $CLIENTS $C2 $C3
cat "$TMP"/learner?.codes >"$TMP/learner.codes"
s1=$(api /api/v1/agents/learner | json steps)

count() { grep -c "^$1\$" "$2"; }
check "$N changes to the PPO agent, each applied (200)" test "$(count 200 "$TMP/learner.codes")" -eq "$N"
check "$M changes to the pair agent, each applied" test "$(count 200 "$TMP/pair.codes")" -eq "$M"
check "  while readers polled ($M reads, all 200)" test "$(count 200 "$TMP/read.codes")" -eq "$M"
api /api/v1/agents/learner/params >"$TMP/params"
check "the PPO agent's parameters are at version $N" test "$(json version <"$TMP/params")" -eq "$N"
check "the PPO agent trained on through them ($s0 -> $s1 steps)" test "$s1" -gt "$s0"
api /api/v1/agents/pair >"$TMP/pair"
check "the pair agent never saw a torn snapshot, nor two in one step" test "$(json state <"$TMP/pair")" = running
[ "$(json state <"$TMP/pair")" = running ] || diag "$(json error <"$TMP/pair")"
check "  at version $M" test "$(api /api/v1/agents/pair/params | json version)" -eq "$M"

# Every change is recorded: the newest 1000, each applied, versions consecutive.
for i in $(seq 20); do # the last records commit with the writer's next batch
	api "/api/v1/proposals?agent=learner&limit=1000" >"$TMP/proposals"
	[ "$(json proposals.0.outcome.version <"$TMP/proposals")" = "$N" ] && break
	sleep 0.1
done
check "each change is recorded as an applied proposal, old -> new, with its latency" perl -MJSON::PP -e '
	my ($n) = @ARGV;
	my @p = @{decode_json(join "", <STDIN>)->{proposals}};
	my $want = $n < 1000 ? $n : 1000;
	die "count ", scalar(@p), " != $want\n" unless @p == $want;
	my $v = $n;
	for my $p (@p) {
		die "state $p->{state}\n" unless $p->{state} eq "applied";
		die "version $p->{outcome}{version} != $v\n" unless $p->{outcome}{version} == $v--;
		die "no publish time\n" unless $p->{outcome}{publish_us} > 0;
		die "no old value\n" unless exists $p->{diff}{params}{learning_rate}{old};
	}
' "$N" <"$TMP/proposals"
newest=$(json proposals.0.diff.params.learning_rate.new <"$TMP/proposals")
check "  and the newest record's values are the agent's" test "$newest" = "$(json params.learning_rate <"$TMP/params")" -o "$newest" = null
check "the runner stepped with the last version" test "$(api /api/v1/agents/learner/params | json first_use_us)" != null

# No step lost: the history is continuous, in step order; the steps match at a stop.
api /api/v1/agents/learner/stop -X POST >"$TMP/stop"
steps=$(json steps <"$TMP/stop")
check "the stop's checkpoint is where it stopped" test "$(json checkpoint_step <"$TMP/stop")" = "$steps"
last=$(api "/api/v1/agents/learner/history?tail=1" | json last)
: >"$TMP/history"
from=1
while [ "$from" -le "$last" ]; do
	api "/api/v1/agents/learner/history?from=$from&limit=10000" >>"$TMP/history"
	echo >>"$TMP/history"
	from=$((from + 10000))
done
check "the history holds every episode once, 1..$last, in step order, none past $steps" perl -MJSON::PP -e '
	my ($last, $steps) = @ARGV;
	my ($want, $prev) = (1, 0);
	for my $line (<STDIN>) {
		next unless $line =~ /\S/;
		for my $e (@{decode_json($line)->{episodes}}) {
			die "episode $e->{episode}, expected $want\n" unless $e->{episode} == $want++;
			die "step $e->{step} after $prev\n" if $e->{step} < $prev;
			$prev = $e->{step};
		}
	}
	die "ended at ", $want - 1, " of $last\n" unless $want - 1 == $last;
	die "an episode at step $prev past $steps\n" if $prev > $steps;
' "$last" "$steps" <"$TMP/history"

kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly (every retired snapshot freed, under ASan)" test "$EXIT_CODE" -eq 0
done_testing
