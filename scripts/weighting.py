#!/usr/bin/env python3
"""Measures the loss weightings against none: the same file, the same seed and time
limit, only the Adam phase's weighting changed; writes the table in docs/RESULTS.md
between the `weighting` markers.

    python3 scripts/weighting.py                 # both problems (about 30 min on 2 cores)
    python3 scripts/weighting.py --limit 60      # shorter runs
    python3 scripts/weighting.py --weightings none sa   # some rows; the others are kept

Each variant is the example with its `train` line replaced (the quasi-Newton phase
kept), written to results/weighting/NAME.pde and run with
`pdenet run FILE --quiet --threads 2 --time-limit LIMIT --error-every 50`. The figures
come from each run's report.json: the relative L2 error at the limit and the first
times below 1e-2 and 1e-3 (seconds since the command started). Rows not run again
stay in the table with the commit and time limit they were measured at.
"""

import argparse
import datetime
import json
import os
import re
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
    "sa": ", self_adaptive = 5e-3",
}
HEADER = ["| problem | weighting | train | rel. L2 at the limit | to 1e-2 | to 1e-3 | limit | commit |",
          "|---|---|---|---|---|---|---|---|"]


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
            cell(u["time_to"]["1e-2"]), cell(u["time_to"]["1e-3"]), f"{limit} s", commit()]


def recorded():
    """The rows in the table now, by (problem, weighting). A row of the first version of
    the table (six cells, one footer for all) gets its limit and commit from the footer."""
    with open(RESULTS) as f:
        text = f.read()
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    footer = re.search(r"Time limits: (.*?); .*commit (\w+)", table)
    limits = dict(re.findall(r"(\w+) (\d+ s)", footer.group(1))) if footer else {}
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if not line.startswith("| ") or cells[0] in ("problem", "---") or len(cells) < 6:
            continue
        if len(cells) == 6 and footer:
            cells += [limits.get(cells[0], "?"), footer.group(2)]
        rows[(cells[0], cells[1])] = cells
    return rows


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("problems", nargs="*", default=list(PROBLEMS))
    a.add_argument("--weightings", nargs="+", default=list(WEIGHTINGS), choices=list(WEIGHTINGS))
    a.add_argument("--limit", type=int, help="seconds per run (default: the problem's)")
    a.add_argument("--results", default="results")
    a.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    args = a.parse_args()
    rows = recorded()
    for name in args.problems:
        limit = args.limit or PROBLEMS[name][2]
        for weighting in args.weightings:
            rows[(name, weighting)] = run(args, name, weighting, limit)
            print("| " + " | ".join(rows[(name, weighting)]) + " |", flush=True)
    order = lambda k: (list(PROBLEMS).index(k[0]), list(WEIGHTINGS).index(k[1]))
    lines = HEADER + ["| " + " | ".join(rows[k]) + " |" for k in sorted(rows, key=order)]
    lines += ["", f"2 threads, seed 1234, each row at its commit; last run {datetime.date.today()}; "
                  "`python3 scripts/weighting.py`."]
    replace_between(RESULTS, BEGIN, END, lines)


if __name__ == "__main__":
    sys.exit(main())
