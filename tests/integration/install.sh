#!/bin/sh
# The installed SDK: `cmake --install` into a prefix, the example plugin built against that
# prefix alone (CMake package and pkg-config), and tarsd loading it without a rebuild.
. "$(dirname "$0")/../tap.sh"

P=$TMP/prefix
cmake --install "$B" --prefix "$P" >"$TMP/install.log" 2>&1
ok $? "cmake --install into a temporary prefix"
for f in include/tars/plugin.h include/tars/params.h lib/libtars-sdk.so.1 lib/pkgconfig/tars-sdk.pc \
	lib/cmake/TarsSDK/TarsSDKConfig.cmake sbin/tarsd bin/tarsctl lib/tars/plugins/env-cartpole.so \
	share/tars/manifests/cartpole.json share/tars/www/index.html share/tars/www/js/app.js \
	share/man/man8/tarsd.8 share/man/man1/tarsctl.1 share/man/man7/tars-plugin.7; do
	check "installs $f" test -e "$P/$f"
done
check "manifests are installed as files, not links" test ! -L "$P/share/tars/manifests/cartpole.json"
"$P/sbin/tarsd" serve --listen 127.0.0.1:0 --state "$TMP/istate" --log-format json 2>"$TMP/iserve.log" &
IPID=$!
_pids="$_pids $IPID"
for i in $(seq 100); do
	IPORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$TMP/iserve.log" | head -n 1)
	[ -n "$IPORT" ] && break
	sleep 0.1
done
curl -s "http://127.0.0.1:${IPORT:-1}/" >"$TMP/index.html"
check "the installed tarsd serves the installed UI" grep -q '<title>' "$TMP/index.html"
kill -TERM "$IPID"
check "libtars-sdk has a SONAME" sh -c "readelf -d '$P/lib/libtars-sdk.so.1' | grep -q 'SONAME.*libtars-sdk.so.1'"
check "host-side headers are not installed" test ! -e "$P/include/tars/host_side.h"

# CMake: only the prefix on CMAKE_PREFIX_PATH (the example directory is copied out of the tree).
cp -r "$SRC/sdk/examples/hillclimb" "$TMP/ex"
cmake -S "$TMP/ex" -B "$TMP/ex/build" -DCMAKE_PREFIX_PATH="$P" >"$TMP/cmake.log" 2>&1 &&
	cmake --build "$TMP/ex/build" >>"$TMP/cmake.log" 2>&1
ok $? "the example builds with find_package(TarsSDK)"
[ -f "$TMP/ex/build/agent-hillclimb.so" ] || diag "$(tail -n 20 "$TMP/cmake.log")"
check "  into agent-hillclimb.so" test -f "$TMP/ex/build/agent-hillclimb.so"
check "  exporting only the entry point" sh -c "nm -D --defined-only '$TMP/ex/build/agent-hillclimb.so' | grep -v ' _' | awk '{print \$3}' | grep -qx tars_plugin_init && [ \$(nm -D --defined-only '$TMP/ex/build/agent-hillclimb.so' | grep -c ' T ') -eq 1 ]"

# pkg-config: only the prefix on PKG_CONFIG_PATH.
mkdir "$TMP/pc"
PKG_CONFIG_PATH="$P/lib/pkgconfig" make -s -C "$TMP/ex" >"$TMP/pc.log" 2>&1
ok $? "the example builds with pkg-config"
check "  into agent-hillclimb.so" test -f "$TMP/ex/agent-hillclimb.so"

mkdir "$TMP/plugins" "$TMP/manifests"
cp "$TMP/ex/build/agent-hillclimb.so" "$TMP/plugins/"
"$TARSCTL" plugin manifest "$TMP/plugins/agent-hillclimb.so" -o "$TMP/manifests/hillclimb.json"
ok $? "tarsctl writes its manifest"

"$TARSD" check --manifests "$SRC/manifests" --manifests "$TMP/manifests" \
	--plugins "$PLUGINS" --plugins "$TMP/plugins" >"$TMP/out" 2>&1
ok $? "the build tree's tarsd loads it"
check "  and lists it" grep -qE '^hillclimb +agent +1\.0\.0 +1\.1 +ok$' "$TMP/out"

"$P/sbin/tarsd" check --manifests "$P/share/tars/manifests" --manifests "$TMP/manifests" \
	--plugins "$P/lib/tars/plugins" --plugins "$TMP/plugins" >"$TMP/out" 2>&1
ok $? "the installed tarsd loads it"
(cd "$TMP" && "$P/sbin/tarsd" check >"$TMP/out" 2>&1)
ok $? "the installed tarsd finds its own manifests and plugins under the prefix"
check "  and lists them" contains "$TMP/out" "cartpole"
check "  and pkg-config names the prefix it lies under" \
	test "$(realpath "$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --variable=plugindir tars-sdk)")" = "$(realpath "$P/lib/tars/plugins")"
check "  and the plugin ABI's major" test "$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --variable=plugin_abi tars-sdk)" = 1

# The operator's config and manifests under the prefix: P/etc/tars/tarsd.json is read when
# no --config is given, and P/etc/tars/manifests.d is a manifest dir once it exists (the
# plugin goes into the prefix's plugin dir).
mkdir -p "$P/etc/tars/manifests.d"
cp "$TMP/manifests/hillclimb.json" "$P/etc/tars/manifests.d/"
cp "$TMP/plugins/agent-hillclimb.so" "$P/lib/tars/plugins/"
printf '{"listen": "127.0.0.1:0", "agents": [{"id": "hc", "agent": "hillclimb", "env": "cartpole"}]}\n' \
	>"$P/etc/tars/tarsd.json"
(cd "$TMP" && "$P/sbin/tarsd" check >"$TMP/out" 2>&1)
ok $? "the installed tarsd reads P/etc/tars/tarsd.json and P/etc/tars/manifests.d" ||
	diag "$(cat "$TMP/out")"
check "  and lists the operator's plugin" grep -qE '^hillclimb +agent' "$TMP/out"
rm -r "$P/etc/tars" "$P/lib/tars/plugins/agent-hillclimb.so"

"$TARSD" train --manifests "$SRC/manifests" --manifests "$TMP/manifests" --plugins "$PLUGINS" \
	--plugins "$TMP/plugins" --agent hillclimb --env cartpole --steps 300000 --seed 1 \
	--eval-every 20000 --target 475 --json >"$TMP/t.json" 2>"$TMP/err"
ok $? "the example agent trains on cartpole"
check "  and solves it (eval mean $(json eval_mean_return <"$TMP/t.json") at $(json steps_to_target <"$TMP/t.json") steps)" \
	test "$(json reached_target <"$TMP/t.json")" = true

done_testing
