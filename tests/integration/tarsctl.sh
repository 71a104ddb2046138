#!/bin/sh
# tarsctl plugin manifest / check: offline tools on built plugins.
. "$(dirname "$0")/../tap.sh"

"$TARSCTL" plugin manifest "$PLUGINS/env-cartpole.so" >"$TMP/m.json" 2>"$TMP/err"
ok $? "plugin manifest exits 0"
check "it names the plugin" test "$(json name <"$TMP/m.json")" = cartpole
check "  its kind and library" test "$(json kind <"$TMP/m.json")/$(json library <"$TMP/m.json")" = env/env-cartpole.so
check "  and pins nothing by default (a copied build is taken)" test "$(json sha256 <"$TMP/m.json")" = null
"$TARSCTL" plugin manifest "$PLUGINS/env-cartpole.so" --pin >"$TMP/pinned.json"
ok $? "plugin manifest --pin exits 0"
check "  and pins the library's sha256" test "$(json sha256 <"$TMP/pinned.json")" = "$(sha256sum "$PLUGINS/env-cartpole.so" | cut -d' ' -f1)"
"$TARSCTL" plugin --help >"$TMP/help" 2>"$TMP/err"
ok $? "plugin --help exits 0"
check "  listing every plugin subcommand" sh -c 'for s in show reload rescan check manifest; do grep -q "^  plugin $s" "$1" || exit 1; done' - "$TMP/help"
check "  and the manifest's --pin" contains "$TMP/help" "--pin"
"$TARSCTL" plugin manifest --help >"$TMP/help" 2>"$TMP/err"
check "plugin manifest --help names --pin" contains "$TMP/help" "[--pin]"

mkdir "$TMP/man"
"$TARSCTL" plugin manifest "$PLUGINS/agent-random.so" -o "$TMP/man/random.json"
ok $? "plugin manifest -o writes a file"
cp "$TMP/pinned.json" "$TMP/man/cartpole.json"
"$TARSD" check --manifests "$TMP/man" --plugins "$PLUGINS" >"$TMP/out" 2>&1
ok $? "tarsd check accepts the generated, pinned manifests"

"$TARSCTL" plugin check "$PLUGINS/agent-random.so" >"$TMP/c.txt" 2>&1
ok $? "plugin check exits 0"
check "it reports the ABI" contains "$TMP/c.txt" "agent random 1.0.0 (ABI 1.1): ok"
check "  and the parameters" grep -qE '^  sticky +float +0 +\[0, 1\] +HOT' "$TMP/c.txt"
"$TARSCTL" plugin check "$PLUGINS/agent-random.so" --json >"$TMP/c.json"
check "--json gives the schema" test "$(json params.0.name <"$TMP/c.json")" = sticky
check "  with flags" test "$(json params.0.hot <"$TMP/c.json")" = true

"$TARSCTL" plugin check "$B/tests/plugins/test-abi_major.so" >"$TMP/out" 2>"$TMP/err"
check "a plugin for another ABI fails the check" test $? -eq 1
check "  in one line" one_line "$TMP/err"
check "  naming file and reason" contains "$TMP/err" "test-abi_major.so: built for ABI 2.1; this host loads ABI 1.x only"
"$TARSCTL" plugin check "$TMP/none.so" >"$TMP/out" 2>"$TMP/err"
check "a missing file fails" test $? -eq 1
check "  naming it" contains "$TMP/err" "cannot open $TMP/none.so: No such file or directory"
"$TARSCTL" plugin frob x >"$TMP/out" 2>"$TMP/err"
check "an unknown subcommand is a usage error" test $? -eq 2

done_testing
