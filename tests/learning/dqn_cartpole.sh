#!/bin/sh
# DQN learns cartpole with its rl-zoo preset, fixed seed, within the zoo's step budget.
. "$(dirname "$0")/../tap.sh"
skip_if_sanitized
learns dqn cartpole 0 5000 475 50000
done_testing
