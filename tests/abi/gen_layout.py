#!/usr/bin/env python3
"""Writes the offsetof/sizeof asserts of every struct in the frozen ABI 1.0 headers.

Usage: gen_layout.py HEADER_DIR  -> prints a C program that, compiled against those headers,
prints the asserts (sdk/src/abi_layout.c was made this way once; it is never regenerated
from the current headers, which is the point: the asserts hold 1.0's layout).
"""
import re
import sys
from pathlib import Path


def fields(body):
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    out, depth, cur = [], 0, ""
    for ch in body:
        depth += ch == "("
        depth -= ch == ")"
        if ch == ";" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    names = []
    for decl in out:
        if not decl:
            continue
        m = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
        if not m:
            m = re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", decl)
        names.append(m.group(1))
    return names


structs = []
for h in sorted(Path(sys.argv[1]).glob("tars/*.h")):
    text = h.read_text()
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\n\} (\w+);", text, re.S):
        structs.append((m.group(3), fields(m.group(2))))

print('#include <stddef.h>\n#include <stdio.h>\n#include "tars/plugin.h"\nint main(void)\n{')
for name, names in structs:
    print(f'    printf("_Static_assert(sizeof({name}) == %zu, \\"{name} changed size\\");\\n", sizeof({name}));')
    for f in names:
        print(f'    printf("_Static_assert(offsetof({name}, {f}) == %zu, \\"{name}.{f} moved\\");\\n", offsetof({name}, {f}));')
print("    return 0;\n}")
