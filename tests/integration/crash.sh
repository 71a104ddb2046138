#!/bin/sh
# kill -9 at random moments, 20 times, while a PPO and a DDPG agent train and checkpoint every
# 0.2 s. After each kill: the store is clean (mdb_stat), the history has every episode up to
# the checkpoint and no duplicates; at the next start the daemon reports both agents at their
# checkpointed steps or beyond, so steps never fall below the last checkpoint. Then a kill -9
# well past the last checkpoint, a restart and a SIGTERM: the history the lost training left
# is gone, so it ends exactly at the final checkpoint.
. "$(dirname "$0")/../tap.sh"

KILLS=20
# Sanitized builds take seconds to the DDPG agent's first checkpoint; lives twice as long
# give it some, or the kills would test nothing of it.
STRETCH=1
[ -n "${TARS_SANITIZED:-}" ] && STRETCH=2
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

# live_steps ID: the steps the running daemon reports for an agent (its live counter, not a
# log line or the checkpoint).
live_steps() { api "/api/v1/agents/$1" | json steps; }

# resumed_at_least ID STEPS WHEN: the running daemon reports ID at STEPS or beyond; a run whose
# load skipped its counters would report the few steps trained since the start instead.
resumed_at_least() {
	_live=$(live_steps "$1")
	if [ "${_live:-0}" -lt "$2" ]; then
		diag "$3: $1 reports ${_live:-no} steps after resuming from its checkpoint at step $2"
		return 1
	fi
}

prev=""
failures=0
for i in $(seq $KILLS); do
	start_serve --config "$TMP/tars.json" || { ok 1 "start $i"; break; }
	if [ -n "$prev" ]; then
		set -- $prev
		resumed_at_least "$1" "$2" "start $i" || failures=$((failures + 1))
		resumed_at_least "$5" "$6" "start $i" || failures=$((failures + 1))
	fi
	pause=$(perl -e 'srand($ARGV[0]); printf "%.2f", (0.3 + rand(1.2)) * $ARGV[1]' "$i" "$STRETCH")
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

# history_json: "ID LAST EPISODES STEPS" per agent from inspect.
history_json() {
	"$TARSD" inspect --state "$TMP/state" --json | perl -MJSON::PP -e '
		for (@{decode_json(<STDIN>)->{agents}}) {
			print "$_->{id} $_->{history}{last} $_->{episodes} $_->{steps}\n";
		}'
}

# No periodic checkpoints now: the last one stays where the loop left it while the history
# runs MARGIN episodes past it, which the kill then throws away. The restart below trains for
# a moment only, far fewer episodes, so a lost truncate would leave some of them behind.
# Sanitized builds train ten times slower: a smaller margin keeps the wait short.
MARGIN=50
[ -n "${TARS_SANITIZED:-}" ] && MARGIN=20
sed 's/"checkpoint_every_s": 0.2/"checkpoint_every_s": 0/' "$TMP/tars.json" >"$TMP/late.json"
start_serve --config "$TMP/late.json"
set -- $(history_json | grep '^ethical ')
ckpt_episodes=$3
for _ in $(seq 300); do
	set -- $(history_json | grep '^ethical ')
	[ "$2" -ge $((ckpt_episodes + MARGIN)) ] && break
	sleep 0.1
done
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
set -- $(history_json | grep '^ethical ')
check "killed -9 with the history $MARGIN episodes past the checkpoint ($2 > $3)" test "$2" -ge $(($3 + MARGIN))
start_serve --config "$TMP/late.json"
set -- $(history_json | grep '^ethical ')
check "  the restarted daemon reports the checkpoint's steps or more" resumed_at_least ethical "$4" restart
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "  and stops cleanly on SIGTERM" test "$EXIT_CODE" -eq 0
history_json >"$TMP/final"
check "  each history then ends exactly at its agent's final checkpoint" perl -ane '
	$bad = 1, print "# $_" if $F[1] != $F[2]; END { exit($bad ? 1 : 0) }' "$TMP/final"
"$TARSD" inspect --state "$TMP/state" --history ethical >"$TMP/history.json"
set -- $(grep '^ethical ' "$TMP/final")
check "  with no episode past the checkpoint's step ($4)" perl -MJSON::PP -e '
	my @late = grep { $_->{step} > $ARGV[0] } @{decode_json(<STDIN>)};
	print "# episode $_->{episode} at step $_->{step}\n" for @late[0 .. ($#late < 2 ? $#late : 2)];
	exit(@late ? 1 : 0)' "$4" <"$TMP/history.json"

done_testing
