#!/bin/sh
# API under load: wrk on loopback for 10 s against GET /api/v1/agents with a token while four
# agents train, three rounds, once with the HTTP threads at the default niceness (0, above the
# runners at 5) and once at 10 (below them); HTTP_NICES and RUNNER_NICE choose others. Prints requests/s, p99 latency, the agents'
# steps/s in the 10 s before the load and during it, and where the machine's cores went
# during the load. Asserts nothing.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v wrk >/dev/null; then
	echo "== API load: wrk is missing (packaging/deps.sh bench installs it); skipped"
	exit 0
fi
. "$SRC/tests/bench/serve.lib"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
THREADS=${WRK_THREADS:-2}
CONNS=${WRK_CONNECTIONS:-8}
RUNNERS=${BENCH_RUNNERS:-2}
NICES=${HTTP_NICES:-0 10}
RUNNER_NICE=${RUNNER_NICE:-5} # the runners' niceness (the default), for every configuration

# The worker, whose threads train and serve (PID is the supervising parent).
worker() { pgrep -P "$PID" -x tarsd | head -n 1; }

# "runners OTHER MACHINE": jiffies the runner threads, tarsd's other threads and the whole
# machine have used so far.
cpu() {
	perl -e '
		my ($run, $other) = (0, 0);
		for my $stat (glob "/proc/$ARGV[0]/task/*/stat") {
			open my $f, "<", $stat or next;
			my $s = <$f>;
			my ($comm, $rest) = $s =~ /\((.*)\) (.*)/ or next;
			my @v = split / /, $rest;
			my $t = $v[11] + $v[12];
			if ($comm =~ /^tars-runner/) { $run += $t } else { $other += $t }
		}
		open my $p, "<", "/proc/stat";
		my (undef, @j) = split " ", scalar <$p>;
		print "$run $other ", $j[0] + $j[1] + $j[2] + $j[5] + $j[6] + $j[7], "\n";
	' "$1"
}

# One configuration: http_nice $1.
load() {
	rm -rf "$TMP/state" "$TMP/rounds"
	cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$B/lib/tars/plugins"], "runners": $RUNNERS, "http_threads": 16, "http_nice": $1, "runner_nice": $RUNNER_NICE,
 "api_rate": 0, "api_address_rate": 0, "log_format": "json",
 "agents": [{"id": "ppo", "agent": "ppo", "env": "cartpole", "preset": "cartpole"},
            {"id": "a2c", "agent": "a2c", "env": "cartpole", "preset": "cartpole"},
            {"id": "dqn", "agent": "dqn", "env": "cartpole", "preset": "cartpole"},
            {"id": "ddpg", "agent": "ddpg", "env": "pendulum", "preset": "pendulum"}]}
JSON
	serve_bench
	URL=http://127.0.0.1:$PORT/api/v1/agents
	echo "== API load: wrk -t$THREADS -c$CONNS -d10s GET /api/v1/agents (token) while 4 agents train on $RUNNERS runners, http_nice $1, runner_nice $RUNNER_NICE (3 rounds)"
	sleep 3 # past the agents' start-up
	for round in 1 2 3; do
		steps >"$TMP/s0"
		sleep 10
		steps >"$TMP/s1"
		c0=$(cpu "$(worker)")
		wrk -t"$THREADS" -c"$CONNS" -d10s --latency -H "Authorization: Bearer $T" "$URL" >"$TMP/wrk"
		c1=$(cpu "$(worker)")
		steps >"$TMP/s2"
		rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk")
		p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk")
		non2xx=$(awk '/Non-2xx/ {print $5}' "$TMP/wrk")
		# Cores used during the load: runners, tarsd's other threads, the rest (wrk, the system).
		cores=$(echo "$c0 $c1" | awk -v hz="$(getconf CLK_TCK)" '{r = ($4 - $1) / hz / 10; o = ($5 - $2) / hz / 10; m = ($6 - $3) / hz / 10; printf "%.2f:%.2f:%.2f", r, o, m - r - o}')
		# Each agent's steps/s in the quiet 10 s and in the loaded 10 s.
		rates=$(paste "$TMP/s0" "$TMP/s1" "$TMP/s2" | awk '{printf "%s:%d:%d ", $1, ($4 - $2) / 10, ($6 - $4) / 10}')
		echo "   round $round: $rps req/s, p99 $p99${non2xx:+, $non2xx non-2xx}; cores runners:tarsd-other:rest $cores; steps/s quiet:loaded $rates"
		echo "$rps $p99 $cores $rates" >>"$TMP/rounds"
	done
	summary <"$TMP/rounds"
	kill -TERM $PID
	wait $PID 2>/dev/null
	PID=
}

# "id steps" per agent.
steps() { curl -s -H "Authorization: Bearer $T" "$URL" | perl -MJSON::PP -e 'print map { "$_->{id} $_->{steps}\n" } @{decode_json(join "", <STDIN>)->{agents}}'; }

summary() {
	perl -e '
	my @r = map { [split] } <STDIN>;
	my $med = sub { my @v = sort { $a <=> $b } @_; $v[int(@v / 2)] };
	my $ms = sub { my $t = shift; $t =~ /([\d.]+)(us|ms|s)/ ? $1 * {us => 0.001, ms => 1, s => 1000}->{$2} : 0 };
	my $rps = $med->(map { $_->[0] } @r);
	my $p99 = $med->(map { $ms->($_->[1]) } @r);
	my @cores = map { my $i = $_; $med->(map { (split /:/, $_->[2])[$i] } @r) } 0 .. 2;
	# The slow-down of a round: 1 - the geometric mean over agents of loaded / quiet steps/s.
	my @slow = map {
		my ($log, $n) = (0, 0);
		for my $a (@{$_}[3 .. $#$_]) { my (undef, $q, $l) = split /:/, $a; next unless $q > 0 && $l > 0; $log += log($l / $q); $n++ }
		$n ? 100 * (1 - exp($log / $n)) : 0
	} @r;
	printf "   median: %.0f req/s, p99 %.2f ms; training slowed by %.0f%% under load (geometric mean over agents)\n",
	    $rps, $p99, $med->(@slow);
	printf "   cores during the load: runners %.2f, tarsd'"'"'s HTTP and other threads %.2f, wrk and the rest %.2f\n", @cores;
	printf "   goals: >= 20000 req/s %s, p99 < 10 ms %s, slow-down < 10%% %s\n",
	    $rps >= 20000 ? "met" : "MISSED", $p99 < 10 ? "met" : "MISSED", $med->(@slow) < 10 ? "met" : "MISSED";
	'
}

for nice in $NICES; do
	load "$nice"
done
