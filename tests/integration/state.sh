#!/bin/sh
# The state dir: resume after a stop (config agents and agents no longer in the config, at the
# steps the running daemon reports), on-demand checkpoints (SIGUSR1, with no periodic ones), a
# second daemon refused, a hot backup that starts and resumes, and every fault: corrupt,
# foreign, truncated, read-only, missing, full, a map that must grow.
. "$(dirname "$0")/../tap.sh"

cat >"$TMP/two.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "s", "checkpoint_every_s": 0.2,
 "agents": [{"id": "keeper", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 1},
            {"id": "leaver", "agent": "a2c", "env": "cartpole", "preset": "cartpole", "seed": 2}]}
JSON
# No periodic checkpoints here: only SIGUSR1 (and the stop) may take one.
cat >"$TMP/one.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "s", "checkpoint_every_s": 0,
 "agents": [{"id": "keeper", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 1}]}
JSON

steps_of() { # steps_of ID [DIR]: the agent's steps at its last checkpoint
	"$TARSD" inspect --state "$TMP/${2:-s}" --json | perl -MJSON::PP -e '
		for (@{decode_json(<STDIN>)->{agents}}) { print $_->{steps} if $_->{id} eq $ARGV[0] }' "$1"
}

# live_steps ID: the steps the running daemon reports for an agent (its live counter, not a
# log line built from the checkpoint).
live_steps() { api "/api/v1/agents/$1" | json steps; }

start_serve --config "$TMP/two.json"
ok $? "tarsd serves a fresh state dir"
for i in $(seq 100); do [ "$(api /api/v1/agents | json agents.0.steps)" -gt 20000 ] 2>/dev/null && break; sleep 0.1; done
"$TARSD" serve --config "$TMP/two.json" >"$TMP/out" 2>"$TMP/err"
check "a second tarsd on the same state dir is refused" test $? -eq 1
check "  in one line" one_line "$TMP/err"
check "  naming the dir and the running daemon" contains "$TMP/err" "tarsd: state dir $TMP/s is in use by another tarsd (pid $SERVE_PID)"
"$TARSD" inspect --state "$TMP/s" >"$TMP/inspect.txt" 2>&1
ok $? "inspect reads the state dir while the daemon runs"
check "  and lists both agents" grep -qE "^keeper +ppo +cartpole" "$TMP/inspect.txt"

# A hot backup under load, started elsewhere, resumes.
"$TARSCTL" backup --state "$TMP/s" --to "$TMP/backup" >"$TMP/out" 2>&1
ok $? "tarsctl backup copies the store while tarsd trains"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "tarsd stops cleanly" test "$EXIT_CODE" -eq 0
check "  checkpointing both agents" contains "$TMP/serve.log" '"msg":"checkpointed 2 agents in'
k1=$(steps_of keeper)
l1=$(steps_of leaver)
check "the checkpoint holds the keeper's steps ($k1) and the leaver's ($l1)" test "${k1:-0}" -gt 0 -a "${l1:-0}" -gt 0
"$TARSD" inspect --state "$TMP/s" --json >"$TMP/i.json"
check "the history holds every episode, without gaps" perl -MJSON::PP -e '
	for (@{decode_json(<STDIN>)->{agents}}) {
		exit 1 unless $_->{history}{missing} == 0 && $_->{history}{recorded} == $_->{episodes}
			&& $_->{history}{last} == $_->{episodes};
	}' <"$TMP/i.json"

start_serve --config "$TMP/one.json"
ok $? "tarsd starts again on the same dir"
# A run that skipped its counters at load would report the few steps trained since the start.
s2=$(live_steps keeper)
check "  the configured agent reports the steps it stopped at or more (${s2:-none} >= $k1)" test "${s2:-0}" -ge "$k1"
s3=$(live_steps leaver)
check "  and so does the agent that left the config (${s3:-none} >= $l1)" test "${s3:-0}" -ge "$l1"
check "  which keeps training" test "$(api /api/v1/agents | json agents.1.id)" = leaver
c0=$(steps_of keeper)
kill -USR1 "$SERVE_PID"
for i in $(seq 100); do [ "$(steps_of keeper)" -gt "$c0" ] && break; sleep 0.1; done
c1=$(steps_of keeper)
check "SIGUSR1 takes a checkpoint on demand (checkpointed steps $c0 -> $c1)" test "$c1" -gt "$c0"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

sed "s#\"state_dir\": \"s\"#\"state_dir\": \"backup\"#" "$TMP/two.json" >"$TMP/backup.json"
b1=$(steps_of keeper backup)
start_serve --config "$TMP/backup.json"
ok $? "tarsd starts on the backup"
# The backup holds the tokens (hashed) but not admin.token, which stays with the original.
s4=$(TOKEN=$(cat "$TMP/s/admin.token") live_steps keeper)
check "  and resumes from it (${s4:-none} >= $b1 steps)" test "${b1:-0}" -gt 0 -a "${s4:-0}" -ge "${b1:-0}"
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"

# Faults: one line, exit 1, and the file as it was.
mkdir "$TMP/corrupt"
head -c 65536 /dev/urandom >"$TMP/corrupt/data.mdb"
sum=$(sha256sum <"$TMP/corrupt/data.mdb")
"$TARSD" serve --listen 127.0.0.1:0 --state "$TMP/corrupt" >"$TMP/out" 2>"$TMP/err"
check "a corrupt data.mdb: exit 1" test $? -eq 1
check "  one line naming the path and the cause" contains "$TMP/err" "tarsd: cannot open the state store in $TMP/corrupt: not an LMDB file, or its header is corrupt"
check "  the file untouched" test "$(sha256sum <"$TMP/corrupt/data.mdb")" = "$sum"

mkdir "$TMP/foreign"
printf 'VERSION=3\nformat=print\ntype=btree\nHEADER=END\n apple\n 42\nDATA=END\n' |
	mdb_load -s inventory "$TMP/foreign"
sum=$(sha256sum <"$TMP/foreign/data.mdb")
"$TARSD" serve --listen 127.0.0.1:0 --state "$TMP/foreign" >"$TMP/out" 2>"$TMP/err"
check "another program's LMDB store: exit 1" test $? -eq 1
check "  one line saying so" contains "$TMP/err" "tarsd: $TMP/foreign/data.mdb is an LMDB store, but not a tars one; refusing to touch it"
check "  the file untouched" test "$(sha256sum <"$TMP/foreign/data.mdb")" = "$sum"

# A data.mdb cut short, as a copy onto a full disk used to leave: refused, never mapped past
# its end (which is SIGBUS).
mkdir "$TMP/cut"
size=$(stat -c %s "$TMP/backup/data.mdb")
head -c $((size / 2)) "$TMP/backup/data.mdb" >"$TMP/cut/data.mdb"
"$TARSD" inspect --state "$TMP/cut" >"$TMP/out" 2>"$TMP/err"
check "a truncated data.mdb: inspect exits 1" test $? -eq 1
check "  one line naming it and its size" contains "$TMP/err" "tarsd: $TMP/cut/data.mdb is truncated ($((size / 2)) bytes, "
"$TARSD" serve --listen 127.0.0.1:0 --state "$TMP/cut" >"$TMP/out" 2>"$TMP/err"
check "  and so does serve" test $? -eq 1
mkdir "$TMP/notes" && echo hi >"$TMP/notes/readme"
"$TARSCTL" backup --state "$TMP/s" --to "$TMP/notes" >"$TMP/out" 2>"$TMP/err"
check "a backup into a dir that is not empty is refused" test $? -eq 1
check "  saying so" contains "$TMP/err" "tarsctl: $TMP/notes is not an empty directory; back up into a new or empty one"

"$TARSD" inspect --state "$TMP/nowhere" >"$TMP/out" 2>"$TMP/err"
check "inspect of a missing dir: exit 1" test $? -eq 1
check "  naming it" contains "$TMP/err" "tarsd: state dir $TMP/nowhere: No such file or directory"
"$TARSD" serve --listen 127.0.0.1:0 --state /etc/passwd/state >"$TMP/out" 2>"$TMP/err"
check "a state dir that cannot be created: exit 1" test $? -eq 1
check "  naming it and the cause" contains "$TMP/err" "tarsd: cannot create state dir '/etc/passwd/state': Not a directory"

# A map that starts at 1 MiB grows for DDPG's multi-megabyte checkpoints.
cat >"$TMP/map.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "map", "state_map_mb": 1, "checkpoint_every_s": 0.2,
 "agents": [{"id": "big", "agent": "ddpg", "env": "pendulum", "preset": "pendulum"}]}
JSON
start_serve --config "$TMP/map.json"
sleep 1
kill -TERM "$SERVE_PID"
wait_exit "$SERVE_PID"
check "a full map grows: the daemon stops cleanly" test "$EXIT_CODE" -eq 0
check "  with no state error" test -z "$(grep '"level":"error"' "$TMP/serve.log")"
check "  and the store is larger than the map it began with" test "$(stat -c %s "$TMP/map/data.mdb")" -gt 1048576

# Read-only and full file systems need a private mount namespace (root, or user namespaces).
if unshare -m true 2>/dev/null; then
	mkdir "$TMP/ro"
	unshare -m sh -c "mount --bind -o ro '$TMP/ro' '$TMP/ro' && exec '$TARSD' serve --listen 127.0.0.1:0 --state '$TMP/ro'" >"$TMP/out" 2>"$TMP/err"
	check "a read-only state dir: exit 1" test $? -eq 1
	check "  one line naming the path and the cause" contains "$TMP/err" "tarsd: cannot create $TMP/ro/tarsd.lock: Read-only file system"
	mkdir "$TMP/full"
	cat >"$TMP/full.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "full", "checkpoint_every_s": 0.1,
 "agents": [{"id": "fat", "agent": "ddpg", "env": "pendulum", "preset": "pendulum"}]}
JSON
	unshare -m sh -c "mount -t tmpfs -o size=256k tmpfs '$TMP/full' && exec '$TARSD' serve --config '$TMP/full.json' --log-format json" >"$TMP/out" 2>"$TMP/full.log" &
	fpid=$!
	for i in $(seq 100); do grep -q "No space left" "$TMP/full.log" && break; sleep 0.1; done
	kill -TERM "$fpid" 2>/dev/null
	wait_exit "$fpid"
	check "a full disk: the failed writes are logged with the path and the cause" contains "$TMP/full.log" "cannot write the state store in $TMP/full: No space left on device"
	check "  and the daemon exits 1" test "$EXIT_CODE" -eq 1
	check "  saying the state was not all saved" contains "$TMP/full.log" "stopped, but the state was not all saved"

	# A disk that fills, then has room again: what could not be written meanwhile commits
	# later, so the history has no gap. All in one private mount namespace (the tmpfs lives
	# only there), inspect included.
	mkdir "$TMP/heal"
	cat >"$TMP/heal.json" <<JSON
{"listen": "127.0.0.1:0", "state_dir": "heal", "checkpoint_every_s": 0.2,
 "agents": [{"id": "healer", "agent": "ppo", "env": "cartpole", "preset": "cartpole", "seed": 3}]}
JSON
	cat >"$TMP/heal.sh" <<SH
mount -t tmpfs -o size=4m tmpfs '$TMP/heal' || exit 1
'$TARSD' serve --config '$TMP/heal.json' --log-format json 2>'$TMP/heal.log' &
pid=\$!
for i in \$(seq 200); do grep -q listening '$TMP/heal.log' && break; sleep 0.1; done
sleep 0.3
cat /dev/zero >'$TMP/heal/filler' 2>/dev/null
for i in \$(seq 100); do grep -q 'No space left' '$TMP/heal.log' && break; sleep 0.1; done
sleep 0.5
rm '$TMP/heal/filler'
failed=\$(grep -c 'No space left' '$TMP/heal.log')
kill -TERM \$pid
wait \$pid
echo \$? >'$TMP/heal.exit'
echo \$failed >'$TMP/heal.failed'
'$TARSD' inspect --state '$TMP/heal' --json >'$TMP/heal.after'
SH
	unshare -m sh "$TMP/heal.sh" >"$TMP/out" 2>&1
	check "a disk full for a while: writes failed meanwhile" test "$(cat "$TMP/heal.failed" 2>/dev/null || echo 0)" -gt 0
	check "  then with room again the history has every episode, without gaps" perl -MJSON::PP -e '
		my ($a) = @{decode_json(<STDIN>)->{agents}};
		my $h = $a->{history};
		print "# $h->{recorded} recorded, $h->{first}..$h->{last}, $h->{missing} missing, checkpoint at $a->{episodes}\n";
		exit !($h->{missing} == 0 && $h->{first} == 1 && $h->{last} == $a->{episodes} && $a->{episodes} > 0)' <"$TMP/heal.after"
	check "  and tarsd still exits 1, as writes failed" test "$(cat "$TMP/heal.exit" 2>/dev/null)" = 1
	check "  saying how many" grep -q 'state writes failed while tarsd ran' "$TMP/heal.log"
else
	echo "ok $((_n + 1)) # SKIP no mount namespace here for the read-only and full-disk cases"
	_n=$((_n + 1))
fi

done_testing
