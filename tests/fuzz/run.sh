#!/bin/sh
# Runs libFuzzer targets from their corpora for a bounded time each, one after the other.
# Usage: tests/fuzz/run.sh BUILD SECONDS [TARGET...]   (TARGET: manifest, config, ...; default all)
# The tree's corpus (tests/fuzz/corpus/TARGET) is read, never written: what a run finds goes
# to BUILD/fuzz/corpus/TARGET (kept, so that long runs build on each other), a crash to
# BUILD/fuzz/artifacts/, each run's output to BUILD/fuzz/logs/TARGET.log. Prints one line
# per target (executions, exec/s, coverage) and exits 1 when any target failed.
# FUZZ_RUNS=N also stops each target after N executions.
set -eu
build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-manifest config params blob checkpoint router stream tarsctl}
mkdir -p "$build/fuzz/artifacts" "$build/fuzz/logs"
failed=0
for t in $targets; do
	bin=$build/bin/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz: $bin is missing (build it: make fuzz-build)" >&2; exit 2; }
	mkdir -p "$build/fuzz/corpus/$t"
	log=$build/fuzz/logs/$t.log
	# -timeout: an input that takes 30 s is a hang, and a failure like a crash.
	if "$bin" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$build/fuzz/artifacts/$t-" \
		"$build/fuzz/corpus/$t" "$here/corpus/$t" >"$log" 2>&1; then
		done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
		echo "fuzz_$t: ok: $done_line"
	else
		failed=1
		echo "fuzz_$t: FAILED (see $log and $build/fuzz/artifacts/):" >&2
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5 >&2
	fi
done
exit $failed
