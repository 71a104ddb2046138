#!/bin/sh
# Raw env step rates in C (median of 5 runs of 4M steps) next to REFERENCE.md's figures.
B=${TARS_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
echo "== env step rate (tests/bench/bench_env, median of 5 runs)"
"$B/tests/bench/bench_env" "$B/lib/tars/plugins/env-cartpole.so" 4000000 5 || exit 1
echo "   reference: CartPole step in C 24.8M steps/s (40 ns); Gymnasium CartPole-v1 77k-112k steps/s;"
echo "   SB3 DummyVecEnv x8 59k steps/s (../shared/REFERENCE.md)"
