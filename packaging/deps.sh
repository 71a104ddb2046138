#!/bin/sh
# Installs the Debian packages tars needs (SPEC §3), only those missing.
# Usage: packaging/deps.sh [build|test|bench|deb|all]   (default: all)
# Runs apt-get as root, or through sudo when not root.
set -eu

build_pkgs="gcc make cmake pkg-config clang-format
libuv1-dev libopenblas-dev liblmdb-dev libcivetweb-dev liburcu-dev
libjansson-dev libsodium-dev libcurl4-openssl-dev libjs-chart.js"
# libclang-rt-14-dev: the libFuzzer runtime of Debian 12's clang (14), for tests/fuzz; the clang
# package does not pull it in. wrk and python3: the chaos suite (tests/chaos). abigail-tools:
# abidiff, which holds libtars-sdk to its ABI baseline (tests/integration/abi_sdk.sh).
# python3-optuna: the tuners' peer, whose numbers tests/integration/tuners.sh compares with ours
# and tests/bench/tuners.sh measures beside them. python3-torch, -yaml, -pandas, -cloudpickle:
# what Stable-Baselines3 (../shared/peers) needs to run beside tars in tests/bench/studies.sh.
test_pkgs="perl python3 lmdb-utils valgrind clang libclang-rt-14-dev curl chromium nginx openssl wrk abigail-tools
debhelper dpkg-dev lintian python3-optuna"
bench_pkgs="wrk python3-optuna python3-torch python3-yaml python3-pandas python3-cloudpickle"
# make deb: debhelper (compat 13, with dh-sequence-installsysusers), dpkg-dev, and lintian,
# which tests/packaging/deb.sh runs on what it builds.
deb_pkgs="debhelper dpkg-dev lintian"

group=${1:-all}
case "$group" in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
bench) want=$bench_pkgs ;;
deb) want="$build_pkgs $deb_pkgs" ;;
all) want="$build_pkgs $test_pkgs $bench_pkgs" ;;
*)
	echo "deps.sh: unknown group '$group' (expected build, test, bench, deb or all)" >&2
	exit 2
	;;
esac
# The browser test runs on node and npm. A machine may already have them from elsewhere
# (NodeSource's nodejs bundles npm, and Debian's npm would conflict with it), so Debian's
# packages are asked for only when the commands are missing.
if [ "$group" != build ]; then
	command -v node >/dev/null 2>&1 || want="$want nodejs"
	command -v npm >/dev/null 2>&1 || want="$want npm"
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -n "$missing" ] || exit 0

echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps.sh: need root or sudo to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have stale package lists; refresh once if the first try fails.
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $missing ||
	{ $sudo apt-get update && $sudo apt-get install -y --no-install-recommends $missing; }
