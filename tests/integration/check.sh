#!/bin/sh
# tarsd check: lists the bundled plugins; a bad manifest makes it exit 1 with FILE:LINE:COL.
. "$(dirname "$0")/../tap.sh"

"$TARSD" check --manifests "$SRC/manifests" --plugins "$PLUGINS" >"$TMP/out" 2>"$TMP/err"
ok $? "check of the bundled manifests exits 0"
check "lists cartpole" grep -qE '^cartpole +env +1\.0\.0 +1\.1 +ok$' "$TMP/out"
check "lists random" grep -qE '^random +agent +1\.0\.0 +1\.1 +ok$' "$TMP/out"
check "prints no errors" test ! -s "$TMP/err"

(cd "$TMP" && "$TARSD" check >"$TMP/out2" 2>&1)
ok $? "with no flags, a build tree finds its own manifests and plugins"
check "  and lists them" contains "$TMP/out2" "cartpole"

mkdir "$TMP/m"
cp "$SRC"/manifests/*.json "$TMP/m/"
printf '{"name": "broken", "kind": "agent", "version": "1.0.0", "abi": "1.1",\n  "library": "agent-broken.so", "description": "x", "extra": 1}\n' >"$TMP/m/broken.json"
"$TARSD" check --manifests "$TMP/m" --plugins "$PLUGINS" >"$TMP/out" 2>"$TMP/err"
ok $(($? != 1)) "a bad manifest makes check exit 1"
check "the error names FILE:LINE:COL" contains "$TMP/err" "$TMP/m/broken.json:2:53: unknown key 'extra'"
check "the good plugins are still listed" contains "$TMP/out" "cartpole"
check "the bad one is listed as an error" grep -qE "broken.json +- +- +- +error" "$TMP/out"

printf '{"name": "ghost", "kind": "env", "version": "1.0.0", "abi": "1.1",\n  "library": "env-ghost.so", "description": "x"}\n' >"$TMP/m/broken.json"
"$TARSD" check --manifests "$TMP/m" --plugins "$PLUGINS" >"$TMP/out" 2>"$TMP/err"
ok $(($? != 1)) "a manifest whose library is missing fails check"
check "  at the library key" contains "$TMP/err" "broken.json:2:14: library 'env-ghost.so' not found in the plugin dirs ($PLUGINS)"

done_testing
