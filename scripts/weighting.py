#!/usr/bin/env python3
"""Measures the loss weightings against none: the same file, the same seed and time
limit, only the Adam phase's weighting changed; writes the table in docs/RESULTS.md
between the `weighting` markers.

    python3 scripts/weighting.py                 # both problems (about 25 min on 2 cores)
    python3 scripts/weighting.py --limit 60      # shorter runs

Each variant is the example with its `train` line replaced (the quasi-Newton phase
kept), written to results/weighting/NAME.pde and run with
`pdenet run FILE --quiet --threads 2 --time-limit LIMIT --error-every 50`. The figures
come from each run's report.json: the relative L2 error at the limit and the first
times below 1e-2 and 1e-3 (seconds since the command started).
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

from reproduce import ROOT, RESULTS, commit, replace_between

BEGIN, END = "<!-- weighting:begin -->", "<!-- weighting:end -->"

# Per problem: the example, the Adam phase with `{w}` where the weighting goes, the
# quasi-Newton phase, and the time limit's default.
PROBLEMS = {
    "allen_cahn_continuous": ("adam(lr = 1e-3, epochs = 2000{w})", "ssbroyden(iterations = 40000)", 240),
    "burgers_ssbroyden": ("adam(lr = 1e-3, epochs = 500{w})", "ssbroyden(iterations = 25000)", 120),
}
WEIGHTINGS = {
    "none": "",
    "gradnorm": ", balance = gradnorm, balance_every = 100",
    "ntk": ", balance = ntk, balance_every = 100",
    "causal": ", causal = 1.0",
}


def variant(name, weighting, out_dir):
    adam, qn, _ = PROBLEMS[name]
    train = f"train   {adam.format(w=WEIGHTINGS[weighting])} then {qn}"
    with open(os.path.join(ROOT, "examples", f"{name}.pde")) as f:
        lines = [train if l.startswith("train") else l for l in f.read().splitlines()]
    path = os.path.join(out_dir, f"{name}_{weighting}.pde")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, train.removeprefix("train").strip()


def run(args, name, weighting, limit):
    out_dir = os.path.join(ROOT, args.results, "weighting")
    os.makedirs(out_dir, exist_ok=True)
    pde, train = variant(name, weighting, out_dir)
    out = os.path.join(out_dir, f"{name}_{weighting}")
    cmd = [args.pdenet, "run", pde, "--quiet", "--out", out, "--threads", "2",
           "--time-limit", str(limit), "--error-every", "50",
           "--data-dir", os.path.join(ROOT, "examples", "data")]
    subprocess.run(cmd, cwd=ROOT)
    with open(os.path.join(out, "report.json")) as f:
        report = json.load(f)
    u = report["errors"]["u"]
    cell = lambda t: "–" if t is None else f"{t:.0f} s"
    return [name, weighting, f"`{train}`", f"{u['rel_l2']:.3e}",
            cell(u["time_to"]["1e-2"]), cell(u["time_to"]["1e-3"])]


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("problems", nargs="*", default=list(PROBLEMS))
    a.add_argument("--limit", type=int, help="seconds per run (default: the problem's)")
    a.add_argument("--results", default="results")
    a.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    args = a.parse_args()
    rows = ["| problem | weighting | train | rel. L2 at the limit | to 1e-2 | to 1e-3 |",
            "|---|---|---|---|---|---|"]
    limits = []
    for name in args.problems:
        limit = args.limit or PROBLEMS[name][2]
        limits.append(f"{name} {limit} s")
        for weighting in WEIGHTINGS:
            rows.append("| " + " | ".join(run(args, name, weighting, limit)) + " |")
            print(rows[-1], flush=True)
    rows.append("")
    rows.append(f"Time limits: {', '.join(limits)}; 2 threads, seed 1234, commit {commit()}, "
                f"{datetime.date.today()}; `python3 scripts/weighting.py`.")
    replace_between(RESULTS, BEGIN, END, rows)


if __name__ == "__main__":
    sys.exit(main())
