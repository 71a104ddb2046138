#!/bin/sh
# kill -9 at random moments, 20 times, while a PPO and a DDPG agent train and checkpoint every
# 0.2 s. After each kill: the store is clean (mdb_stat), the history has every episode up to
# the checkpoint and no duplicates; the next start resumes both agents exactly at their
# checkpoints, so steps never fall below the last one.
. "$(dirname "$0")/../tap.sh"

KILLS=20
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "state", "checkpoint_every_s": 0.2,
 "agents": [{"id": "ethical", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 5},
            {"id": "resource", "agent": "ddpg", "env": "pendulum", "preset": "pendulum", "seed": 6,
             "params": {"learning_starts": 300}}]}
JSON

# The checkpointed steps and episodes of both agents, and whether each history is complete up
# to its checkpoint: "ethical STEPS EPISODES OK resource STEPS EPISODES OK".
state() {
	"$TARSD" inspect --state "$TMP/state" --json | perl -MJSON::PP -e '
		my %a = map { $_->{id} => $_ } @{decode_json(<STDIN>)->{agents}};
		for my $id ("ethical", "resource") {
			my $x = $a{$id} or do { print "$id 0 0 1 "; next };
			my $h = $x->{history};
			# every number from 1 to the checkpoint present, none missing (no gaps), and keys
			# are episode numbers, so there can be no duplicates
			my $ok = $h->{missing} == 0 && ($x->{episodes} == 0 ||
				($h->{first} == 1 && $h->{last} >= $x->{episodes} && $h->{recorded} >= $x->{episodes}));
			print "$id $x->{steps} $x->{episodes} ", ($ok ? 1 : 0), " ";
		}'
}

prev=""
failures=0
for i in $(seq $KILLS); do
	start_serve --config "$TMP/tars.json" || { ok 1 "start $i"; break; }
	if [ -n "$prev" ]; then
		set -- $prev
		# A resumed agent logs the step it resumed at: exactly its checkpoint.
		for pair in "$1 $2" "$5 $6"; do
			set -- $pair
			if [ "$2" -gt 0 ] && ! grep -q "\"source\":\"$1\",\"msg\":\"resumed at step $2," "$TMP/serve.log"; then
				diag "start $i: $1 did not resume at its checkpoint step $2"
				grep "$1" "$TMP/serve.log" | head -3 | while read -r l; do diag "$l"; done
				failures=$((failures + 1))
			fi
		done
	fi
	pause=$(perl -e 'srand($ARGV[0]); printf "%.2f", 0.3 + rand(1.2)' "$i")
	sleep "$pause"
	kill -KILL "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null
	if ! mdb_stat -a "$TMP/state" >"$TMP/mdb_stat" 2>&1; then
		diag "kill $i: mdb_stat failed: $(head -3 "$TMP/mdb_stat")"
		failures=$((failures + 1))
	fi
	now=$(state)
	set -- $now
	if [ "$4" != 1 ] || [ "$8" != 1 ]; then
		diag "kill $i: history incomplete up to the checkpoint: $now"
		failures=$((failures + 1))
	fi
	if [ -n "$prev" ]; then
		set -- $prev
		p1=$2 p2=$6
		set -- $now
		if [ "$2" -lt "$p1" ] || [ "$6" -lt "$p2" ]; then
			diag "kill $i: checkpointed steps went back: $prev -> $now"
			failures=$((failures + 1))
		fi
	fi
	diag "kill $i after ${pause}s: $now"
	prev=$now
done
ok "$failures" "$KILLS kills -9: stores clean, histories complete, every start resumed at its checkpoint"
set -- $prev
check "training made progress across the kills (ethical at $2 steps, resource at $6)" test "$2" -gt 0 -a "$6" -gt 0

done_testing
