#!/bin/sh
# Code swaps of a PPO agent (docs/hot-reload.md): two PPO agents train on CartPole (zoo preset,
# two runners) while the ppo library alternates between two copies that differ by one byte
# appended (another sha256, the same code), SWAPS times through POST .../reload. Prints the
# p50/p99 of request -> every instance migrated, of its parts (the smoke test in a child
# process, publication -> every instance migrated), and the longest runner stall (save +
# create + load + destroy on the runner). Asserts nothing. BENCH_CONFIG adds config keys
# (e.g. '"runner_nice": 5,').
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SWAPS=${HOT_SWAPS:-20}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-bench-XXXXXX")
PID=
trap '[ -n "$PID" ] && kill -9 $PID 2>/dev/null; rm -rf "$TMP"' EXIT
mkdir -p "$TMP/plugins"
cp "$B/lib/tars/plugins/agent-ppo.so" "$TMP/a.so"
cp "$B/lib/tars/plugins/agent-ppo.so" "$TMP/b.so"
printf x >>"$TMP/b.so"
cp "$TMP/a.so" "$TMP/plugins/agent-ppo.so"
cat >"$TMP/tars.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "$TMP/state", "manifest_dirs": ["$SRC/manifests"],
 "plugin_dirs": ["$TMP/plugins", "$B/lib/tars/plugins"], "runners": 2, "api_rate": 0,
 "api_address_rate": 0, "watch_plugins": false, ${BENCH_CONFIG:-}
 "agents": [{"id": "p1", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 1},
            {"id": "p2", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 2}]}
JSON
: >"$TMP/serve.log"
"$B/bin/tarsd" serve --config "$TMP/tars.json" --log-format json 2>"$TMP/serve.log" &
PID=$!
PORT=
for _ in $(seq 200); do
	PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$TMP/serve.log" | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.1
done
[ -n "$PORT" ] || { echo "== code swaps: tarsd did not start"; cat "$TMP/serve.log"; exit 1; }
TOKEN=$(cat "$TMP/state/admin.token")
sleep 2 # both agents well into training
: >"$TMP/replies"
for i in $(seq "$SWAPS"); do
	if [ $((i % 2)) = 1 ]; then cp "$TMP/b.so" "$TMP/plugins/agent-ppo.so"; else cp "$TMP/a.so" "$TMP/plugins/agent-ppo.so"; fi
	curl -s --max-time 120 -X POST -H "Authorization: Bearer $TOKEN" \
		"http://127.0.0.1:$PORT/api/v1/plugins/ppo/reload" >>"$TMP/replies"
	echo >>"$TMP/replies"
	sleep 0.3
done
kill -TERM "$PID"
wait "$PID"
PID=
perl -MJSON::PP -e '
	my @r = map { decode_json($_) } grep { /\S/ } <STDIN>;
	my @ok = grep { $_->{outcome} eq "reloaded" } @r;
	sub pct { my ($p, @v) = @_; @v = sort { $a <=> $b } @v; return $v[int($p * $#v + 0.5)] }
	sub row {
		my ($what, @v) = @_;
		printf "| %-52s | %8.2f | %8.2f | %8.2f |\n", $what, pct(0.5, @v), pct(0.99, @v), pct(1, @v);
	}
	printf "== code swaps of PPO (2 agents on CartPole, 2 runners): %d of %d swaps migrated every instance\n",
		scalar @ok, scalar @r;
	print "| ms                                                   |      p50 |      p99 |      max |\n";
	print "|------------------------------------------------------|----------|----------|----------|\n";
	row("request -> all instances migrated", map { $_->{took_ms} } @ok);
	row("  smoke test (child process)", map { $_->{timings_ms}{smoke} } @ok);
	row("    of which the old instance saving its state", map { $_->{timings_ms}{smoke_state} // 0 } @ok);
	row("    of which the child", map { $_->{timings_ms}{smoke} - ($_->{timings_ms}{smoke_state} // 0) } @ok);
	row("  stage + load + queue", map { $_->{timings_ms}{stage} + $_->{timings_ms}{load} + $_->{timings_ms}{queued} } @ok);
	row("  publish -> all instances migrated", map { $_->{timings_ms}{migrate} } @ok);
	row("longest runner stall (save+create+load+destroy)", map { $_->{stall_max_ms} } @ok);
	row("old generation freed after (grace period, dlclose)", map { $_->{timings_ms}{free} } @ok);
' <"$TMP/replies"
