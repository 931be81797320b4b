#!/usr/bin/env python3
"""The longest functions of a Rust source tree, to keep "functions that fit on a
screen" honest: `python3 scripts/longest_functions.py [DIR] [N]` (default src, 10).

A function runs from its `fn` line to the closing brace at the same indentation;
files named *test* and `mod tests` blocks are left out.
"""

import pathlib
import re
import sys

FN = re.compile(r"^(\s*)(pub(\([a-z]+\))? )?(const )?(unsafe )?fn (\w+)")


def lengths(root):
    for f in sorted(root.rglob("*.rs")):
        if "test" in f.name:
            continue
        lines = f.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s*mod tests\b", line):
                break
            m = FN.match(line)
            if not m or line.rstrip().endswith(";"):
                continue
            end = next((j for j in range(i + 1, len(lines)) if lines[j] == m.group(1) + "}"), None)
            if end is not None:
                yield end - i + 1, f"{f.relative_to(root)}:{i + 1} {m.group(6)}"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    for length, where in sorted(lengths(root), reverse=True)[:n]:
        print(f"{length:4d}  {where}")


if __name__ == "__main__":
    main()
