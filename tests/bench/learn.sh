#!/bin/sh
# Learning benchmark: each algorithm with its rl-zoo preset over 5 seeds, to the threshold users
# quote, next to Stable-Baselines3's figures (../shared/REFERENCE.md) and the sgemm roofline.
# Prints a table; asserts nothing. SEEDS=3 or ONLY="ppo a2c" make bench for a quicker run.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SEEDS=${SEEDS:-5}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
trap 'rm -rf "$OUT"' EXIT

"$B/tests/bench/bench_sgemm" >"$OUT/sgemm.txt"
echo "== learning (median over $SEEDS seeds; the roofline is cblas_sgemm at each agent's main shape)"

# agent env eval_every target | SB3 steps/s (low high) | SB3 steps to threshold | SB3 seconds
# (low high) | sgemm shape of its update (batch x out x in) | goals: steps/s ratio to SB3,
# seconds to the threshold (0: none)
while read -r agent env every target sb3lo sb3hi sb3steps sb3tlo sb3thi shape goal goal_s; do
	peak=$(awk -v shape="$shape" '$5 == "sgemm" && $6 == shape { print $4 }' "$OUT/sgemm.txt")
	case " ${ONLY:-$agent} " in *" $agent "*) ;; *) continue ;; esac
	for seed in $(seq 0 $((SEEDS - 1))); do
		"$B/bin/tarsd" train --manifests "$SRC/manifests" --plugins "$B/lib/tars/plugins" \
			--agent "$agent" --env "$env" --preset "$env" --seed "$seed" --eval-every "$every" \
			--eval-episodes 20 --target "$target" --json >"$OUT/$agent-$seed.json" 2>/dev/null
	done
	perl -MJSON::PP -e '
		my ($agent, $env, $target, $peak, $lo, $hi, $sb3steps, $tlo, $thi, $goal, $goal_s, @files) = @ARGV;
		sub median { my @v = sort { $a <=> $b } @_; return @v ? $v[$#v / 2] : "nan" }
		my (@sps, @steps, @secs, @gfs, @share, @us_upd, @us_rest, $ok);
		for my $f (@files) {
			open my $h, "<", $f or next; my $j = eval { decode_json(join "", <$h>) } or next;
			my $s = $j->{scalars};
			push @sps, $j->{sps};
			push @gfs, $s->{update_gflop} / $s->{update_s} if $s->{update_s};
			push @share, $s->{update_s} / $j->{train_s} if $j->{train_s};
			push @us_upd, 1e6 * $s->{update_s} / $j->{steps} if $j->{steps};
			push @us_rest, 1e6 * ($j->{train_s} - $s->{update_s}) / $j->{steps} if $j->{steps};
			if ($j->{reached_target}) { $ok++; push @steps, $j->{steps_to_target}; push @secs, $j->{train_to_target_s} }
		}
		my $sb3 = ($lo + $hi) / 2;
		$peak ||= 1;
		printf "%-5s %-9s success %d/%d | %8.0f steps/s = %5.1fx SB3 (%d-%d) | to %s: %6s steps (SB3 %d), %6.2f s (SB3 %.1f-%.1f) = %5.1fx faster\n",
			$agent, $env, $ok // 0, scalar @files, median(@sps), median(@sps) / $sb3, $lo, $hi, $target,
			median(@steps), $sb3steps, median(@secs), $tlo, $thi, (($tlo + $thi) / 2) / (median(@secs) || 1);
		printf "      update path %5.1f GFLOP/s = %3.0f%% of sgemm at its shape (%.1f) | per env step: update %.1f us (%.0f%% of training), act+env+host %.1f us\n",
			median(@gfs), 100 * median(@gfs) / $peak, $peak, median(@us_upd), 100 * median(@share), median(@us_rest);
		my $ratio = median(@sps) / $sb3, $roof = 100 * median(@gfs) / $peak;
		my @goals = (sprintf("%s steps/s >= %gx SB3 (%.1fx)", $ratio >= $goal ? "met" : "MISSED", $goal, $ratio),
		             sprintf("%s update path >= 50%% of the roofline (%.0f%%)", $roof >= 50 ? "met" : "MISSED", $roof));
		push @goals, sprintf("%s solves in < %g s (%.2f s)", median(@secs) < $goal_s ? "met" : "MISSED", $goal_s, median(@secs)) if $goal_s > 0;
		print "      goals: ", join("; ", @goals), "\n";
	' "$agent" "$env" "$target" "$peak" "$sb3lo" "$sb3hi" "$sb3steps" "$sb3tlo" "$sb3thi" "$goal" "$goal_s" "$OUT/$agent"-*.json
done <<'TABLE'
ppo cartpole 5000 475 3800 4640 20000 5.6 6.5 256x64x64 8 1
a2c cartpole 5000 475 8450 9340 20000 3.3 3.6 40x64x64 50 1
dqn cartpole 5000 475 1150 1210 40000 35 42 64x256x256 3 0
ddpg pendulum 2000 -200 141 160 13000 29 57 256x300x400 1.5 0
TABLE
