# tap.sh — TAP helpers for the shell tests (the counterpart of tap.h). Source it first:
#   . "$(dirname "$0")/../tap.sh"
# TARS_BUILD names the build tree (default: build/ beside the sources).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${TARS_BUILD:-$SRC/build}
TARSD=$B/bin/tarsd
TARSCTL=$B/bin/tarsctl
PLUGINS=$B/lib/tars/plugins
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tars-it-XXXXXX")
_n=0
_failed=0
_pids=""
WORKER_PID=""

cleanup() {
	for p in $_pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { # ok STATUS DESCRIPTION   (STATUS 0 passes)
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

check() { # check DESCRIPTION COMMAND...
	_d=$1
	shift
	if "$@"; then ok 0 "$_d"; else ok 1 "$_d"; fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# contains FILE TEXT: the file holds the text (fixed string)
contains() { grep -qF -- "$2" "$1" || { diag "$1 lacks: $2" "it holds:" "$(head -c 2000 "$1")"; false; }; }

# one_line FILE: exactly one line
one_line() { [ "$(wc -l <"$1")" -eq 1 ] || { diag "$1 has $(wc -l <"$1") lines:" "$(cat "$1")"; false; }; }

# json GET-PATH: reads JSON on stdin, prints the value at a dotted path (agents.0.steps);
# perl's core JSON::PP keeps this free of extra dependencies.
json() {
	perl -MJSON::PP -e '
		my $v = JSON::PP->new->allow_nonref->decode(join("", <STDIN>));
		for my $k (split /\./, $ARGV[0]) {
			$v = ref($v) eq "ARRAY" ? $v->[$k] : $v->{$k};
		}
		print ref($v) eq "JSON::PP::Boolean" ? ($v ? "true" : "false")
		    : defined($v) ? (ref($v) ? JSON::PP->new->canonical->encode($v) : $v) : "null";
	' "$1"
}

# start_serve ARGS...: runs tarsd serve in the background, logs in $TMP/serve.log; sets
# SERVE_PID (the supervising parent, which signals go to), WORKER_PID (its worker, the process
# that maps plugins and runs threads), PORT and STATE_DIR once it listens (waits up to 20 s).
# Returns non-zero if it never did.
start_serve() {
	: >"$TMP/serve.log"
	"$TARSD" serve --log-format json "$@" 2>"$TMP/serve.log" &
	SERVE_PID=$!
	_pids="$_pids $SERVE_PID"
	PORT=""
	for _i in $(seq 200); do
		PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$TMP/serve.log" | head -n 1)
		STATE_DIR=$(sed -n 's/.*(port [0-9]*).*state in \([^"]*\)".*/\1/p' "$TMP/serve.log" | head -n 1)
		if [ -n "$PORT" ]; then
			WORKER_PID=$(worker_of "$SERVE_PID")
			return 0
		fi
		kill -0 "$SERVE_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# worker_of PID: the pid of tarsd serve's worker (the parent's one child).
worker_of() { read -r _w _rest <"/proc/$1/task/$1/children" 2>/dev/null; echo "${_w:-}"; }

# wait_exit PID: waits for PID to exit (up to 20 s) and sets EXIT_CODE; kills it otherwise.
wait_exit() {
	for _i in $(seq 200); do
		if ! kill -0 "$1" 2>/dev/null; then
			wait "$1"
			EXIT_CODE=$?
			return 0
		fi
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	EXIT_CODE=255
	return 1
}

# api PATH [CURL ARGS...]: the API of the tarsd that start_serve started, with the admin
# token of its state dir (or $TOKEN when set).
api() {
	_p=$1
	shift
	_t=${TOKEN:-$(cat "$STATE_DIR/admin.token" 2>/dev/null)}
	curl -s --max-time 10 -H "Authorization: Bearer $_t" "$@" "http://127.0.0.1:$PORT$_p"
}

# learns AGENT ENV SEED EVAL_EVERY TARGET BUDGET: trains with the env's preset until the
# deterministic evaluation over 20 episodes reaches TARGET; checks it did within BUDGET steps.
learns() {
	"$TARSD" train --manifests "$SRC/manifests" --plugins "$PLUGINS" --agent "$1" --env "$2" \
		--preset "$2" --seed "$3" --eval-every "$4" --eval-episodes 20 --target "$5" --json \
		>"$TMP/learn.json" 2>"$TMP/learn.err"
	ok $? "$1 on $2 (seed $3) trains"
	[ -s "$TMP/learn.err" ] && diag "$(cat "$TMP/learn.err")"
	_evals=$(perl -MJSON::PP -e 'print join(" ", map { "$_->{steps}:" . sprintf("%.1f", $_->{mean}) } @{decode_json(<STDIN>)->{evals}})' <"$TMP/learn.json")
	diag "evaluations (steps:mean): $_evals"
	check "$1 reaches a mean return of $5 over 20 deterministic episodes" \
		test "$(json reached_target <"$TMP/learn.json")" = true
	_at=$(json steps_to_target <"$TMP/learn.json")
	check "  within the zoo budget of $6 steps (at $_at)" test "${_at:-0}" != null -a "${_at:-0}" -le "$6"
}

# Learning tests train for a while: skipped on sanitizer builds, where they would take hours.
skip_if_sanitized() {
	if [ -n "${TARS_SANITIZED:-}" ]; then
		echo "1..0 # SKIP learning tests do not run on sanitizer builds"
		exit 0
	fi
}
