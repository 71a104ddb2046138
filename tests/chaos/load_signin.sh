#!/bin/sh
# The chaos suite's signin scenario (tests/chaos/load.py; TARS_SOAK=1 runs it in full).
exec python3 "$(dirname "$0")/load.py" signin
