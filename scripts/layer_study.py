#!/usr/bin/env python3
"""The layer study of docs/RESULTS.md: layer kinds on Burgers (examples/burgers.pde).

    python3 scripts/layer_study.py --time-limit 90      # 24 runs
    python3 scripts/layer_study.py --only matched       # or: depth

Two experiments, each run `pdenet run examples/burgers.pde --set network=KIND
--set network.width=W --set network.depth=D --time-limit T` with the file's own
optimizer (Adam 500 steps, then self-scaled Broyden, dense, until the time limit):

- matched: MLP, QRes, ISC, the KAN layers (Chebyshev, Fourier, cubic B-spline,
  QKAN) and the PDE layer at about 1.5k and 3k parameters;
- depth: the PDE layer (pde2) against ISC (a ResNet block) at width 10 and depths
  5, 15, 27 and 50.

Every run is recorded in docs/layer_study.json (figures, settings, command, commit,
date, CPU) and the section between the `layers` markers of docs/RESULTS.md is rebuilt
from that record. Needs a release build or --pdenet BIN.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sweep  # noqa: E402
from reproduce import replace_between  # noqa: E402

ROOT = sweep.ROOT
RECORD = os.path.join(ROOT, "docs", "layer_study.json")
RESULTS = os.path.join(ROOT, "docs", "RESULTS.md")
BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"
FILE = "examples/burgers.pde"

# (kind, width, depth) near 1.5k and 3k parameters (`pdenet check --set …` counts
# them; the PDE layer has 3 + width per hidden layer, so it needs wide layers).
MATCHED = {
    "1.5k": [("mlp", 16, 6), ("qres", 10, 8), ("isc", 16, 6), ("cheb_kan", 8, 6),
             ("fourier_kan", 12, 2), ("bspline_kan", 6, 5), ("qkan", 12, 2), ("pde2", 100, 10)],
    "3k": [("mlp", 20, 8), ("qres", 14, 8), ("isc", 20, 8), ("cheb_kan", 10, 8),
           ("fourier_kan", 8, 6), ("bspline_kan", 10, 4), ("qkan", 8, 6), ("pde2", 200, 12)],
}
DEPTHS = [5, 15, 27, 50]


def runs(only):
    out = []
    if only in (None, "matched"):
        for size, cases in MATCHED.items():
            out += [("matched", size, k, w, d) for k, w, d in cases]
    if only in (None, "depth"):
        out += [("depth", f"depth {d}", k, 10, d) for d in DEPTHS for k in ("pde2", "isc")]
    return out


def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return "unknown CPU"
    name = next((l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("model name")), "?")
    flags = next((l for l in text.splitlines() if l.startswith("flags")), "")
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    return f"{name} ({isa}, {os.cpu_count()} threads)"


def ms_per_step(report):
    parts = []
    for p in report.get("phases", []):
        if p.get("iterations"):
            parts.append(f"{1000 * p['seconds'] / p['iterations']:.1f} ms/{p['phase']}")
    return ", ".join(parts) or "–"


def record_run(args, study, group, kind, width, depth):
    sets = [f"network={kind}", f"network.width={width}", f"network.depth={depth}"]
    out = os.path.join("results", "layers", f"{study}_{kind}_{width}x{depth}")
    extra = ["--time-limit", str(args.time_limit)]
    report, wall, cmd = sweep.run_point(args.pdenet, FILE, sets, out, extra)
    params, err, loss, steps = sweep.figures(report)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    return {
        "study": study, "group": group, "kind": kind, "width": width, "depth": depth,
        "params": params, "rel_l2": err, "loss": loss, "steps": steps,
        "seconds": round(wall, 1), "per_step": ms_per_step(report or {}),
        "command": " ".join(["pdenet"] + cmd[1:]), "commit": commit,
        "date": datetime.date.today().isoformat(), "cpu": cpu(),
    }


def table(rows, mlp_error):
    head = "| group | layer | width × depth | params | rel. L2 of u | vs base | final loss | steps | time per step |"
    out = [head, "|" + "---|" * 9]
    for r in rows:
        base = mlp_error.get(r["group"])
        ratio = f"{base / r['rel_l2']:.2g}×" if base and r["rel_l2"] else "–"
        out.append("| " + " | ".join([
            r["group"], r["kind"], f"{r['width']} × {r['depth']}", sweep.fmt(r["params"]),
            sweep.fmt(r["rel_l2"]), ratio, sweep.fmt(r["loss"]), sweep.fmt(r["steps"]), r["per_step"],
        ]) + " |")
    return out


def write(record):
    rows = []
    for study in ("matched", "depth"):
        chosen = [r for r in record if r["study"] == study]
        if not chosen:
            continue
        mlp = {r["group"]: r["rel_l2"] for r in chosen if r["kind"] == ("mlp" if study == "matched" else "isc")}
        rows.append(f"**{'Matched parameter counts' if study == 'matched' else 'PDE layer against ISC by depth'}** "
                    f"(`vs base`: the {'MLP' if study == 'matched' else 'ISC'} error of the row's group over the row's; above 1 is better)")
        rows.append("")
        rows += table(chosen, mlp)
        rows.append("")
    first = record[0] if record else {}
    rows.append(f"Each run: `pdenet run {FILE} --set network=KIND --set network.width=W --set "
                f"network.depth=D --time-limit T` (commands in docs/layer_study.json), seed 1234, "
                f"{first.get('cpu', '?')}, commit {first.get('commit', '?')}, {first.get('date', '?')}.")
    replace_between(RESULTS, BEGIN, END, rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--time-limit", type=float, default=90.0, help="seconds per run")
    ap.add_argument("--only", choices=["matched", "depth"])
    ap.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    ap.add_argument("--write-only", action="store_true", help="rebuild the section from the record")
    args = ap.parse_args()
    record = []
    if os.path.exists(RECORD):
        with open(RECORD) as f:
            record = json.load(f)
    if not args.write_only:
        for study, group, kind, width, depth in runs(args.only):
            r = record_run(args, study, group, kind, width, depth)
            print(f"{study} {group} {kind} {width}×{depth}: {r['params']} params, rel. L2 {sweep.fmt(r['rel_l2'])}, {r['seconds']} s", flush=True)
            key = (study, group, kind, width, depth)
            record = [x for x in record if (x["study"], x["group"], x["kind"], x["width"], x["depth"]) != key] + [r]
            with open(RECORD, "w") as f:
                json.dump(record, f, indent=1)
    order = {k: i for i, k in enumerate(runs(None))}
    record.sort(key=lambda r: order.get((r["study"], r["group"], r["kind"], r["width"], r["depth"]), 1e9))
    write(record)


if __name__ == "__main__":
    main()
