#!/bin/sh
# PPO learns cartpole with its rl-zoo preset, fixed seed, within the zoo's step budget.
. "$(dirname "$0")/../tap.sh"
skip_if_sanitized
learns ppo cartpole 0 5000 475 100000
done_testing
