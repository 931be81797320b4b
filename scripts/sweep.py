#!/usr/bin/env python3
"""Trains one .pde file over a grid of settings and tables the results.

    python3 scripts/sweep.py examples/burgers.pde \\
        --grid network.width=10,20 --grid network.depth=4,8 --time-limit 120

Each grid point is `pdenet run FILE --set KEY=VALUE ... --quiet --out DIR/<point>`
(the QRes paper's Fig. 4 sweeps width × depth this way). The table (Markdown, on
stdout) gives per point: parameters, the joint relative L2 error against the file's
reference, the final loss, epochs and time, read from each run's report.json.
Needs a release build (`cargo build --release`) or --pdenet BIN.
"""

import argparse
import itertools
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_point(pdenet, file, sets, out, extra):
    """One run; returns its report (None if it wrote none) and its wall time."""
    cmd = [pdenet, "run", file, "--quiet", "--out", out] + extra
    for s in sets:
        cmd += ["--set", s]
    started = time.time()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - started
    path = os.path.join(ROOT, out, "report.json")
    if proc.returncode != 0:
        sys.stderr.write(f"{' '.join(cmd)} failed:\n{proc.stderr}\n")
    if not os.path.exists(path):
        return None, wall, cmd
    with open(path) as f:
        return json.load(f), wall, cmd


def figures(report):
    """Parameters, joint error, final loss and epochs of a report."""
    if report is None:
        return None, None, None, None
    nets = report.get("networks") or []
    n = sum(net.get("params", 0) for net in nets) or None
    epochs = sum((report.get("epochs") or {}).values())
    return n, report.get("rel_l2_all"), (report.get("loss") or {}).get("total"), epochs


def fmt(x):
    if x is None:
        return "–"
    return f"{x:.3e}" if isinstance(x, float) else str(x)


def name_of(sets):
    return "_".join(s.replace("network.", "").replace("=", "") for s in sets) or "default"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,…",
                    help="a setting and its values (repeatable: the grid is their product)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting fixed for every point")
    ap.add_argument("--time-limit", type=float, help="seconds per run")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--out", default="results/sweep", help="where the runs write")
    ap.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    args = ap.parse_args()
    axes = []
    for g in args.grid:
        key, _, values = g.partition("=")
        if not values:
            sys.exit(f"--grid {g}: write KEY=V1,V2,…")
        axes.append([f"{key}={v}" for v in values.split(",")])
    extra = []
    if args.time_limit:
        extra += ["--time-limit", str(args.time_limit)]
    if args.threads:
        extra += ["--threads", str(args.threads)]
    print("| " + " | ".join(["setting", "params", "rel. L2 (all outputs)", "final loss", "epochs", "time"]) + " |")
    print("|" + "---|" * 6)
    for point in itertools.product(*axes):
        sets = args.set + list(point)
        out = os.path.join(args.out, name_of(list(point)))
        report, wall, _ = run_point(args.pdenet, args.file, sets, out, extra)
        n, err, loss, epochs = figures(report)
        cells = [", ".join(point) or "default", fmt(n), fmt(err), fmt(loss), fmt(epochs), f"{wall:.0f} s"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
