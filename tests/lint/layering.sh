#!/bin/sh
# The parts' layering (host/LAYERS): every #include "..." of host/, state/, sdk/ and plugins/
# points at its own part or a part listed before it; plugins include only the SDK. One TAP
# line per part, and one per arrow the layering does not allow.
SRC=$(cd "$(dirname "$0")/../.." && pwd)
exec python3 - "$SRC" <<'PY'
import os, re, sys
src = sys.argv[1]
order, folders, only = [], {}, {}
for line in open(os.path.join(src, "host", "LAYERS")):
    line = line.split("#", 1)[0].split()
    if not line:
        continue
    # The folders are the words after the name up to the first that is not a folder (the
    # description follows), so a description's word never counts as a folder.
    name, dirs = line[0], []
    for word in line[1:]:
        if not os.path.isdir(os.path.join(src, word)):
            break
        dirs.append(word)
    if "uses:" in line:
        only[name] = line[line.index("uses:") + 1:]
    order.append(name)
    folders[name] = dirs

def part_of(path):
    rel = os.path.relpath(path, src)
    best = None
    for name, dirs in folders.items():
        for d in dirs:
            if rel == d or rel.startswith(d + "/"):
                if best is None or len(d) > len(best[1]):
                    best = (name, d)
    return best[0] if best else None

headers = {}  # basename -> [paths], for includes by name
files = []
for top in ("host", "state", "sdk", "plugins"):
    for root, _, names in os.walk(os.path.join(src, top)):
        if "/examples" in root:
            continue  # out-of-tree example plugins build against the installed SDK
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.join(root, n)
                files.append(p)
                # The SDK's public headers are included as "tars/NAME.h" only.
                if n.endswith(".h") and "/sdk/include/" not in p:
                    headers.setdefault(n, []).append(p)

n = failed = 0
def tap(ok, what):
    global n, failed
    n += 1
    failed += not ok
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what))

inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
bad = {}
unplaced = []
for f in sorted(files):
    me = part_of(f)
    if me is None:
        unplaced.append(os.path.relpath(f, src))
        continue
    for name in inc.findall(open(f, errors="replace").read()):
        local = os.path.join(os.path.dirname(f), name)
        if os.path.exists(local):
            target = local
        elif name.startswith("tars/"):
            target = os.path.join(src, "sdk", "include", name)
        else:
            cands = headers.get(os.path.basename(name), [])
            if len(cands) != 1:
                bad.setdefault(me, []).append("%s includes \"%s\": %s" % (
                    os.path.relpath(f, src), name,
                    "no such header" if not cands else "ambiguous (%d headers of that name)" % len(cands)))
                continue
            target = cands[0]
        them = part_of(target)
        if them == me:
            continue
        allowed = only[me] if me in only else order[:order.index(me)]
        if them not in allowed:
            bad.setdefault(me, []).append("%s includes %s: %s may not use %s" % (
                os.path.relpath(f, src), os.path.relpath(target, src), me, them))

tap(not unplaced, "every source file belongs to a part of host/LAYERS" +
    ("" if not unplaced else ": " + ", ".join(unplaced[:10])))
for name in order:
    tap(name not in bad, "%s uses only the parts below it" % name)
    for b in bad.get(name, []):
        print("#   " + b)
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
