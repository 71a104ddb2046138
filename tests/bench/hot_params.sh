#!/bin/sh
# Parameter swap latency: 300 changes, one at a time, to a PPO agent training on CartPole and
# to pairagent (a trivial agent: the swap mechanism alone). For each: the server's time from
# request to publication (validation, the record queued, the pointer published: outcome's
# publish_us), the time from publication to the runner's first step with it (first_use_us),
# and whether that step was the runner's next (first_use_step - published_step <= one
# vectorised step). Prints p50/p99; asserts nothing.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/bench/serve.lib"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
N=${SWAPS:-300}
mkdir "$TMP/m"
cp "$SRC"/manifests/*.json "$TMP/m/"
"$B/bin/tarsctl" plugin manifest "$B/tests/plugins/pairagent.so" -o "$TMP/m/pairagent.json" || exit 1
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["m"],
 "plugin_dirs": ["$B/lib/tars/plugins", "$B/tests/plugins"], "runners": 2, "api_rate": 0,
 "api_address_rate": 0,
 "agents": [{"id": "ppo", "agent": "ppo", "env": "cartpole", "preset": "cartpole"},
            {"id": "pair", "agent": "pairagent", "env": "cartpole", "n_envs": 8}]}
JSON
serve_bench
sleep 2 # past the agents' start-up
echo "== Parameter swaps: $N changes each, one at a time (publish: request -> pointer published; first use: published -> the runner's first step with it)"
perl -MHTTP::Tiny -MJSON::PP -e '
	my ($port, $token, $n) = @ARGV;
	my $http = HTTP::Tiny->new(keep_alive => 1, default_headers => {Authorization => "Bearer $token"});
	my $base = "http://127.0.0.1:$port/api/v1/agents";
	my $pct = sub { my ($p, @v) = @_; @v = sort { $a <=> $b } @v; $v[int($p * $#v + 0.5)] };
	for my $a (["ppo", "learning_rate", 1e-4, 8], ["pair", "a", 2, 8]) {
		my ($id, $name, $base_v, $n_envs) = @$a;
		my (@pub, @first, $next, $seen) = ((), (), 0, 0);
		for my $i (1 .. $n) {
			my $v = $base_v + $i * 1e-6;
			my $body = $id eq "pair" ? {params => {a => $v, b => -$v}} : {params => {$name => $v}};
			my $r = $http->request("PATCH", "$base/$id/params", {content => encode_json($body)});
			die "PATCH $id: $r->{status} $r->{content}\n" unless $r->{success};
			my $o = decode_json($r->{content});
			push @pub, $o->{outcome}{publish_us};
			for (1 .. 2000) { # until the runner has stepped with it
				my $p = decode_json($http->get("$base/$id/params")->{content});
				next unless defined $p->{first_use_us} && $p->{version} == $o->{outcome}{version};
				push @first, $p->{first_use_us};
				$seen++;
				$next++ if $p->{first_use_step} - $p->{published_step} <= $n_envs;
				last;
			}
		}
		printf "   %-5s publish p50 %.0f us, p99 %.0f us; first use p50 %.0f us, p99 %.0f us; at the next step %d of %d\n",
		    $id, $pct->(0.5, @pub), $pct->(0.99, @pub), $pct->(0.5, @first), $pct->(0.99, @first), $next, $seen;
	}
' "$PORT" "$T" "$N"
kill -TERM $PID
wait $PID 2>/dev/null
PID=
