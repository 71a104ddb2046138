#!/bin/sh
# The chaos suite's kill -9 scenario (tests/chaos/kill9.py; TARS_SOAK=1: 100 kills).
exec python3 "$(dirname "$0")/kill9.py"
