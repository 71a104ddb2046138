#!/bin/sh
# The tree obeys .clang-format: every C file, one TAP line each.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC" || exit 1
if git rev-parse --git-dir >/dev/null 2>&1; then
	files=$(git ls-files --cached --others --exclude-standard '*.c' '*.h')
else
	files=$(find host sdk plugins tests -name '*.c' -o -name '*.h')
fi
n=0
failed=0
for f in $files; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "ok $n - $f is formatted"
	else
		echo "not ok $n - $f is formatted (run: make format)"
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
