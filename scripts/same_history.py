#!/usr/bin/env python3
"""Checks that a change to pdenet leaves training unchanged, bit for bit.

A refactoring must not move a single bit of any run: this script trains every
top-level example for a few epochs on one thread and keeps each history.csv
(loss per term and parameters per epoch, printed with `{:e}`, so every bit of
every f64 shows). Record them with the binary before the change, compare with
the binary after it:

    python3 scripts/same_history.py record /tmp/hist-before   # on the old commit
    python3 scripts/same_history.py compare /tmp/hist-before  # on the new one

`--bin` picks the pdenet binary (default target/release/pdenet), `--epochs`
the cap on every phase (default 30), `--only a,b` a subset of the examples.
`compare` prints one line per example and exits 1 on any difference.
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def examples(only):
    files = sorted((ROOT / "examples").glob("*.pde"))
    if only:
        names = set(only.split(","))
        files = [f for f in files if f.stem in names]
    return files


def without_clock(text):
    """history.csv without its `time_s` column, the one that differs between runs."""
    rows = [line.split(",") for line in text.splitlines()]
    if not rows or "time_s" not in rows[0]:
        return text
    k = rows[0].index("time_s")
    return "\n".join(",".join(r[:k] + r[k + 1:]) for r in rows) + "\n"


def history(binary, pde, epochs):
    """history.csv of a short run (without the clock), or the run's error output
    when it fails. The error is measured every 10 steps, so that its columns are the
    same in every run."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(binary), "run", str(pde), "--epochs", str(epochs),
               "--threads", "1", "--quiet", "--out", out, "--error-every", "10"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            return None, done.stderr + done.stdout
        return without_clock((pathlib.Path(out) / "history.csv").read_text()), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["record", "compare"])
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--bin", type=pathlib.Path, default=ROOT / "target/release/pdenet")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    different = 0
    for pde in examples(args.only):
        text, err = history(args.bin, pde, args.epochs)
        if text is None:
            print(f"{pde.stem}: run failed\n{err}")
            different += 1
            continue
        kept = args.dir / f"{pde.stem}.csv"
        if args.mode == "record":
            kept.write_text(text)
            print(f"{pde.stem}: recorded {len(text.splitlines()) - 1} rows")
        elif not kept.exists():
            print(f"{pde.stem}: no recorded history in {args.dir}")
            different += 1
        elif kept.read_text() == text:
            print(f"{pde.stem}: same ({len(text.splitlines()) - 1} rows)")
        else:
            old, new = kept.read_text().splitlines(), text.splitlines()
            at = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b),
                      min(len(old), len(new)))
            print(f"{pde.stem}: DIFFERS from line {at + 1}")
            different += 1
    if args.mode == "compare":
        print(f"{different} of {len(examples(args.only))} examples differ")
    sys.exit(1 if different else 0)


if __name__ == "__main__":
    main()
