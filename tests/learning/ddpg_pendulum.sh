#!/bin/sh
# DDPG learns pendulum with its rl-zoo preset, fixed seed, within the zoo's step budget.
. "$(dirname "$0")/../tap.sh"
skip_if_sanitized
learns ddpg pendulum 0 2000 -200 20000
done_testing
