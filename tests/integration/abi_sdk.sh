#!/bin/sh
# libtars-sdk as plugins see it (SPEC §4, "ABI growth"): it exports the public API only, under
# its symbol version; its ABI equals the stored baseline (abidiff); pkg-config and the CMake
# package report the same SDK version.
. "$(dirname "$0")/../tap.sh"

LIB=$B/lib/libtars-sdk.so.1
ABI=$(sed -n 's/^#define TARS_ABI_MAJOR \([0-9]*\)$/\1/p; s/^#define TARS_ABI_MINOR \([0-9]*\)$/.\1/p' \
	"$SRC/sdk/include/tars/version.h" | tr -d '\n')
RELEASE=$(sed -n 's/^#define TARS_VERSION_STRING "\(.*\)"$/\1/p' "$SRC/sdk/include/tars/version.h")

# objdump -T: "... DF .text SIZE VERSION NAME" for each defined dynamic symbol.
objdump -T "$LIB" | awk '$3 == "DF" && $4 != "*UND*" {print $6, $7}' >"$TMP/syms"
check "libtars-sdk exports functions" test -s "$TMP/syms"
check "  none of the host's tars__* half" sh -c "! grep -q ' tars__' '$TMP/syms'"
check "  nothing but tars_*" sh -c "! grep -qv ' tars_' '$TMP/syms'"
check "  every one under a TARS_SDK_M.m version node" \
	sh -c "! grep -qvE '^TARS_SDK_[0-9]+\.[0-9]+ ' '$TMP/syms'"
check "  tars_log among them, as TARS_SDK_1.0" grep -qx "TARS_SDK_1.0 tars_log" "$TMP/syms"

# abidiff against the baseline: any change to what 1.0 plugins see fails here. A minor that
# grows the ABI on purpose regenerates the baseline (tests/abi/update-baseline.sh).
if command -v abidiff >/dev/null 2>&1; then
	# The library is read as the baseline was written (tests/abi/update-baseline.sh), then the
	# two are compared with every public type, reachable from a function or not (the ops
	# tables are not: plugins hand them over, no SDK function takes them).
	abidw --load-all-types --no-corpus-path --no-comp-dir-path --no-show-locs --drop-private-types \
		--headers-dir "$SRC/sdk/include/tars" --out-file "$TMP/current.abi" "$LIB" 2>"$TMP/abidiff"
	abidiff --non-reachable-types "$SRC/tests/abi/libtars-sdk.abi" "$TMP/current.abi" \
		>>"$TMP/abidiff" 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || diag "$(head -n 60 "$TMP/abidiff")"
	ok "$rc" "abidiff: libtars-sdk's ABI is the baseline's (tests/abi/libtars-sdk.abi)"
else
	ok 1 "abidiff is installed (Debian's abigail-tools: packaging/deps.sh test)"
fi

# pkg-config and CMake, from the build tree's generated files.
pc_version=$(pkg-config --modversion "$B/sdk/tars-sdk.pc" 2>"$TMP/err")
ok $? "pkg-config reads tars-sdk.pc"
cat >"$TMP/v.cmake" <<EOC
set(PACKAGE_FIND_VERSION $ABI)
set(PACKAGE_FIND_VERSION_MAJOR ${ABI%.*})
set(PACKAGE_FIND_VERSION_MINOR ${ABI#*.})
include("$B/sdk/TarsSDKConfigVersion.cmake")
message(STATUS "version=\${PACKAGE_VERSION} compatible=\${PACKAGE_VERSION_COMPATIBLE}")
EOC
cmake -P "$TMP/v.cmake" >"$TMP/cmake.out" 2>&1
ok $? "cmake reads TarsSDKConfigVersion.cmake"
cmake_version=$(sed -n 's/.*version=\([^ ]*\) .*/\1/p' "$TMP/cmake.out")
check "pkg-config and CMake report the same SDK version ($pc_version, $cmake_version)" \
	test -n "$pc_version" -a "$pc_version" = "$cmake_version"
check "  the ABI of tars/version.h ($ABI)" test "$pc_version" = "$ABI"
check "  which CMake finds compatible with a request for it" contains "$TMP/cmake.out" "compatible=TRUE"
check "the release both name is version.h's ($RELEASE)" sh -c \
	"[ \"\$(pkg-config --variable=release '$B/sdk/tars-sdk.pc')\" = '$RELEASE' ] &&
	 grep -q 'TARS_SDK_RELEASE \"$RELEASE\"' '$B/sdk/TarsSDKConfig.cmake'"

done_testing
