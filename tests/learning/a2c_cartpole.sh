#!/bin/sh
# A2C learns cartpole with its rl-zoo preset, fixed seed, within the zoo's step budget.
. "$(dirname "$0")/../tap.sh"
skip_if_sanitized
learns a2c cartpole 0 5000 475 500000
done_testing
