#!/bin/sh
# Studies in tarsd, as the issue measures them (docs/performance.md, "Tuners"):
#  - trials per hour: quick PPO/CartPole trials (the zoo preset, learning rate and gamma
#    searched by tpe, a budget of 25,000 steps, 10 evaluation episodes at the budget), two at a
#    time on two runners; beside it, in the same run, the same study as Optuna runs it with
#    Stable-Baselines3's PPO (../shared/peers, Debian's torch) on two worker processes;
#  - pruning: 50 PPO/CartPole trials around the preset (5 dimensions), 50,000 steps each,
#    evaluated every EVERY steps (5,000; 10,000 is the other figure docs/performance.md gives),
#    with the median pruner and without, seeds SEEDS (0 1 2): wall time and best value, their
#    medians and ratios.
# PARTS ("tph view prune") picks what runs.
# Prints the figures and the ratios. Asserts nothing.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${TARS_BUILD:-$SRC/build}
SEEDS=${SEEDS:-0 1 2}
EVERY=${EVERY:-5000}
PARTS=${PARTS:-tph view prune}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
PEERS=${TARS_PEERS:-$SRC/../shared/peers}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
trap 'kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
. "$SRC/tests/bench/serve.lib"

cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$B/lib/tars/plugins"], "runners": 2, "api_rate": 0, "api_address_rate": 0,
 "agents": []}
JSON
serve_bench
api() { curl -s -H "Authorization: Bearer $T" "$@"; }
# study BODY: runs a study to its end; prints "seconds best trials_per_hour pruned".
study() {
	t0=$(date +%s.%N)
	id=$(api -X POST "http://127.0.0.1:$PORT/api/v1/studies" -d "$1" |
		perl -MJSON::PP -e 'local $/; print JSON::PP->new->decode(<STDIN>)->{id} // ""')
	[ -n "$id" ] || { echo "study refused: $1" >&2; return 1; }
	while :; do
		api "http://127.0.0.1:$PORT/api/v1/studies/$id" >"$TMP/s.json"
		grep -q '"state":"COMPLETE"' "$TMP/s.json" && break
		grep -q '"state":"BROKEN"' "$TMP/s.json" && { cat "$TMP/s.json" >&2; return 1; }
		sleep 0.2
	done
	t1=$(date +%s.%N)
	perl -MJSON::PP -e 'local $/; my $s = JSON::PP->new->decode(<STDIN>);
		printf "%.2f %.2f %.0f %d\n", $ARGV[1] - $ARGV[0], $s->{best_value}, $s->{trials_per_hour} // 0,
			$s->{trials}{pruned}' "$t0" "$t1" <"$TMP/s.json"
	api -X DELETE "http://127.0.0.1:$PORT/api/v1/studies/$id" >/dev/null
}

if part tph; then
echo "== studies: trials per hour, PPO/CartPole, 25,000 steps and 10 evaluation episodes a trial, 2 at a time"
N=${TRIALS:-40}
study "{\"name\": \"tph\", \"agent\": \"ppo\", \"env\": \"cartpole\", \"preset\": \"cartpole\",
  \"space\": {\"learning_rate\": {\"low\": 0.0001, \"high\": 0.003, \"log\": true},
            \"gamma\": {\"low\": 0.95, \"high\": 0.999}},
  \"budget\": 25000, \"eval_every\": 0, \"eval_episodes\": 10, \"n_trials\": $N, \"parallel\": 2,
  \"sampler\": \"tpe\", \"pruner\": \"none\", \"keep\": \"none\"}" >"$TMP/tph" || exit 1
read -r secs best tph _ <"$TMP/tph"
ours=$(perl -e "printf '%.0f', $N / $secs * 3600")
echo "tars:   $N trials in $secs s = $ours trials/hour (first start to last end: $tph); best $best"
PEER_N=${PEER_TRIALS:-10}
if OMP_NUM_THREADS=1 PYTHONPATH="$PEERS/gymnasium-1.0.0:$PEERS/sb3-2.4.1" /usr/bin/python3 -c \
	'import torch, optuna, stable_baselines3' 2>/dev/null; then
	t0=$(date +%s.%N)
	pids=""
	for w in 0 1; do
		OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH="$PEERS/gymnasium-1.0.0:$PEERS/sb3-2.4.1" \
			/usr/bin/python3 -B "$SRC/tests/tools/optuna_sb3_trials.py" $((PEER_N / 2)) 25000 "$w" \
			>"$TMP/peer$w" 2>"$TMP/peer$w.err" &
		pids="$pids $!"
	done
	wait $pids # not tarsd, which runs in the background too
	t1=$(date +%s.%N)
	theirs=$(perl -e "printf '%.0f', $PEER_N / ($t1 - $t0) * 3600")
	echo "optuna + SB3: $PEER_N trials on 2 processes in $(perl -e "printf '%.1f', $t1 - $t0") s = $theirs trials/hour; best $(cat "$TMP"/peer? | sort -g | tail -n 1)"
	echo "ratio: tars $(perl -e "printf '%.1f', $ours / $theirs")x Optuna + SB3's trials per hour (goal: >= 5,000 per hour; T.A.R.S. claims 1,200)"
else
	echo "optuna + SB3: not run (needs python3-torch, python3-optuna and $PEERS: packaging/deps.sh bench)"
	echo "goal: >= 5,000 trials per hour ($ours here); T.A.R.S. claims 1,200"
fi
fi

if part view; then
echo "== studies: the study page's data for 10,000 trials (an external study told by a client)"
/usr/bin/python3 - "$PORT" "$T" <<'EOP'
import json, sys, time, urllib.request
port, token = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req) as r:
        return r.read()
sid = json.loads(call("POST", "/studies", {"name": "big", "sampler": "random", "directions": ["minimize"],
    "space": {"x": {"type": "float", "low": -5, "high": 5}, "y": {"type": "float", "low": -5, "high": 5},
              "k": {"type": "categorical", "choices": ["a", "b", "c"]}}}))["id"]
t0 = time.time()
for n in range(10000):
    p = json.loads(call("POST", f"/studies/{sid}/ask", {}))["params"]
    v = (p["x"] - 1) ** 2 + p["y"] ** 2 + {"a": 0, "b": 1, "c": 2}[p["k"]]
    call("POST", f"/studies/{sid}/trials/{n}/tell", {"value": v})
told = time.time() - t0
times, size = [], 0
for _ in range(5):
    t0 = time.time()
    size = len(call("GET", f"/studies/{sid}/view?points=1000"))
    times.append(time.time() - t0)
times.sort()
print(f"10,000 trials asked and told over HTTP in {told:.1f} s ({20000 / told:.0f} calls/s, one connection each)")
print(f"GET /studies/{{id}}/view: median {1000 * times[2]:.1f} ms over 5, {size / 1024:.0f} KiB (1,000 points, 500 for parallel coordinates)")
call("DELETE", f"/studies/{sid}")
EOP
fi

part prune || exit 0
echo "== studies: pruning, 50 PPO/CartPole trials of 50,000 steps (evaluated every $EVERY), seeds $SEEDS"
for s in $SEEDS; do
	for pr in median none; do
		study "{\"name\": \"prune-$pr-$s\", \"agent\": \"ppo\", \"env\": \"cartpole\", \"preset\": \"cartpole\",
  \"space\": {\"learning_rate\": {\"low\": 0.0001, \"high\": 0.003, \"log\": true},
            \"gamma\": {\"low\": 0.95, \"high\": 0.999}, \"gae_lambda\": {\"low\": 0.8, \"high\": 0.99},
            \"ent_coef\": {\"low\": 0, \"high\": 0.01}, \"n_epochs\": {\"choices\": [5, 10, 20]}},
  \"budget\": 50000, \"eval_every\": $EVERY, \"eval_episodes\": 10, \"n_trials\": 50, \"parallel\": 2,
  \"seed\": $s, \"sampler\": \"tpe\", \"pruner\": \"$pr\", \"keep\": \"none\"}" >"$TMP/prune-$pr-$s" || exit 1
		echo "seed $s, pruner $pr: $(cat "$TMP/prune-$pr-$s" | awk '{printf "%s s, best %s, %s pruned", $1, $2, $4}')"
	done
done
perl -e '
	my ($tmp, @seeds) = @ARGV;
	sub median { my @v = sort { $a <=> $b } @_; @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2 }
	my (%t, %b);
	for my $s (@seeds) { for my $p ("median", "none") {
		open my $f, "<", "$tmp/prune-$p-$s" or die; my ($secs, $best) = split " ", <$f>;
		push @{$t{$p}}, $secs; push @{$b{$p}}, $best } }
	my ($tm, $tn, $bm, $bn) = (median(@{$t{median}}), median(@{$t{none}}), median(@{$b{median}}), median(@{$b{none}}));
	printf "medians: with median pruner %.1f s, best %.1f; without %.1f s, best %.1f\n", $tm, $bm, $tn, $bn;
	printf "ratio: %.2fx less wall time (goal >= 2x: %s), best within %.1f%% (goal <= 5%%: %s)\n",
		$tn / $tm, $tn / $tm >= 2 ? "met" : "MISSED", 100 * abs($bn - $bm) / abs($bn),
		abs($bn - $bm) <= 0.05 * abs($bn) ? "met" : "MISSED";
' "$TMP" $SEEDS
