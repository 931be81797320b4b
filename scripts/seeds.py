#!/usr/bin/env python3
"""Runs one example under several seeds and writes the spread of its recovered
parameters' errors in docs/RESULTS.md between the `seeds` markers.

    python3 scripts/seeds.py burgers_inverse_noisy             # seeds 1234 … 1238
    python3 scripts/seeds.py burgers_inverse_noisy --count 3

The seed draws the network's initial θ, the points, and for a noisy data set the
subset and the noise, so the spread is what one run's figure is worth. Each run is
`pdenet run examples/NAME.pde --quiet --out results/seeds/NAME_SEED --threads 2
--seed SEED`; its report.json gives each parameter's relative error (the file gives
the true values with `exact`).
"""

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from reproduce import ROOT, RESULTS, commit, replace_between

BEGIN, END = "<!-- seeds:begin -->", "<!-- seeds:end -->"


def run(args, name, seed):
    out = os.path.join(ROOT, args.results, "seeds", f"{name}_{seed}")
    cmd = [args.pdenet, "run", os.path.join("examples", f"{name}.pde"), "--quiet",
           "--out", out, "--threads", "2", "--seed", str(seed)]
    t0 = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    seconds = time.time() - t0
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    return report["parameter_errors"], seconds


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("name")
    a.add_argument("--count", type=int, default=5)
    a.add_argument("--first", type=int, default=1234)
    a.add_argument("--results", default="results")
    a.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    args = a.parse_args()
    seeds = range(args.first, args.first + args.count)
    stamp = commit()  # the checkout the runs start from, not the one at the end
    runs = [(seed, *run(args, args.name, seed)) for seed in seeds]
    params = list(runs[0][1])
    pct = lambda e: f"{100 * e:.4f} %"
    rows = ["| seed | " + " | ".join(f"{p} rel. error" for p in params) + " | time |",
            "|---|" + "---|" * len(params) + "---|"]
    for seed, errors, seconds in runs:
        rows.append(f"| {seed} | " + " | ".join(pct(errors[p]["rel_error"]) for p in params)
                    + f" | {seconds:.0f} s |")
    for label, f in [("min", min), ("median", statistics.median), ("max", max)]:
        rows.append(f"| {label} | " + " | ".join(pct(f(r[1][p]["rel_error"] for r in runs)) for p in params) + " | |")
    rows += ["", f"`python3 scripts/seeds.py {args.name} --count {args.count}`: examples/{args.name}.pde, "
                 f"2 threads, commit {stamp}, {datetime.date.today()}."]
    replace_between(RESULTS, BEGIN, END, rows)


if __name__ == "__main__":
    sys.exit(main())
