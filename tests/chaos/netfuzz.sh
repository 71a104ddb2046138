#!/bin/sh
# The chaos suite's request-mutation fuzzer (tests/chaos/netfuzz.py; TARS_SOAK=1: 20,000 requests).
exec python3 "$(dirname "$0")/netfuzz.py"
