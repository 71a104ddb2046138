#!/bin/sh
# Persistence costs: checkpoint stall and commit per agent size, history append rate.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
"$B/tests/bench/bench_state" "$SRC/manifests" "$B/lib/tars/plugins"
