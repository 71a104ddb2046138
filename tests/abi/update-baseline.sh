#!/bin/sh
# Rewrites tests/abi/libtars-sdk.abi, the ABI baseline that tests/integration/abi_sdk.sh diffs
# libtars-sdk.so against. Run it ONLY when the ABI grows on purpose (a new minor: functions in a
# new TARS_SDK_1.N node, fields appended where the policy allows), in the same commit, after
# abidiff reported nothing but those additions. Usage: tests/abi/update-baseline.sh [BUILD_DIR]
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$SRC/build}
abidw --load-all-types --no-corpus-path --no-comp-dir-path --no-show-locs --drop-private-types --headers-dir "$SRC/sdk/include/tars" \
	--out-file "$SRC/tests/abi/libtars-sdk.abi" "$B/lib/libtars-sdk.so.1"
# Translation units are named by path: keep the file free of this checkout's location.
sed -i "s|path='$SRC/|path='|g" "$SRC/tests/abi/libtars-sdk.abi"
