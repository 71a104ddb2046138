#!/bin/sh
# Function length (STYLE, issue 11 §1): no function of host/ over 80 lines unless the comment
# just above it gives the reason with "long:" (for example "long: one table of every route,
# read top to bottom"). A function is counted from its opening brace at column 0 to its closing
# brace at column 0, as clang-format lays out every definition here. One TAP line per file with
# a long function, and one per long function without a reason.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
LIMIT=${FUNCTION_LENGTH_LIMIT:-80}
exec python3 - "$SRC" "$LIMIT" <<'PY'
import os, re, sys
src, limit = sys.argv[1], int(sys.argv[2])
name_re = re.compile(r"^\**([A-Za-z_][A-Za-z0-9_]*)\(")
comment_re = re.compile(r"^\s*(/\*|\*|//)")

def functions(lines):
    """(name, first line of the signature, length in lines) of each definition."""
    i = 0
    while i < len(lines):
        if lines[i].rstrip() == "{":
            j = i - 1  # back over the signature to the line that names the function
            while j >= 0 and not name_re.match(lines[j]) and i - j < 12:
                j -= 1
            if j >= 0 and name_re.match(lines[j]):
                end = i + 1
                while end < len(lines) and lines[end].rstrip() != "}":
                    end += 1
                start = j - 1 if j > 0 and lines[j - 1].strip() and not comment_re.match(lines[j - 1]) else j
                yield name_re.match(lines[j]).group(1), start, end - i + 1
                i = end
        i += 1

def reason(lines, start):
    """The comment block just above the signature, if it says why the function is long."""
    k, text = start - 1, []
    while k >= 0 and comment_re.match(lines[k]):
        text.append(lines[k])
        k -= 1
    return "long:" in "".join(text)

n, failed = 0, 0
for root, _, files in sorted(os.walk(os.path.join(src, "host"))):
    for f in sorted(files):
        if not f.endswith(".c"):
            continue
        path = os.path.join(root, f)
        rel = os.path.relpath(path, src)
        lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
        for name, start, length in functions(lines):
            if length <= limit:
                continue
            n += 1
            if reason(lines, start):
                print(f"ok {n} - {rel}: {name} is {length} lines, with a reason")
            else:
                failed += 1
                print(f"not ok {n} - {rel}: {name} is {length} lines (over {limit}) and the "
                      f"comment above it gives no reason (\"long: ...\")")
if n == 0:
    n = 1
    print(f"ok 1 - no function of host/ is over {limit} lines")
print(f"1..{n}")
sys.exit(1 if failed else 0)
PY
