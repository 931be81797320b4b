#!/usr/bin/env python3
"""pdenet against the PyTorch reference, in one run on one machine.

For each case, `pdenet bench` and ../shared/bench/burgers_torch.py --mode speed time
the same work (loss and gradient over every point set, then one Adam step; median
over the timed epochs after 20 warm-up). The two are run alternately, `--rounds`
times, and the median of each side's medians is compared, so background load hits
both sides alike.

    python3 bench/compare.py                      # from the repository root
    python3 bench/compare.py --rounds 5 --markdown

Needs the reference's environment (../shared/bench/README.md) and a release build
(`cargo build --release`). Prints one JSON line per case, or a markdown table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_DIR = os.path.join(ROOT, "..", "shared", "bench")

# (name, pdenet file, reference flags)
CASES = [
    ("Burgers QRes (2,10×8,1), N_f = 10 000", "examples/burgers.pde", ["--net", "qres"]),
    ("Burgers MLP (2,20×8,1), N_f = 10 000", "examples/burgers_pinn.pde", ["--net", "mlp"]),
    ("Burgers QRes, N_f = 1 000", "bench/burgers_qres_nf1000.pde", ["--net", "qres", "--nf", "1000"]),
    ("4th order (u_xxxx), QRes, N_f = 10 000", "bench/ks_qres.pde", ["--net", "qres", "--pde", "ks"]),
]


def run_json(cmd, cwd):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1])


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--torch-python", default=os.path.expanduser("~/torchbench/bin/python"))
    a.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--epochs", type=int, default=100)
    a.add_argument("--rounds", type=int, default=3)
    a.add_argument("--precision", choices=["f32", "f64"], default="f32")
    a.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = a.parse_args()

    rows = []
    for name, pde, flags in CASES:
        ours, theirs = [], []
        for _ in range(args.rounds):
            p = run_json([args.pdenet, "bench", pde, "--backend", "cpu", "--json",
                          "--threads", str(args.threads), "--epochs", str(args.epochs),
                          "--precision", args.precision], ROOT)
            cmd = [args.torch_python, "burgers_torch.py", "--mode", "speed",
                   "--threads", str(args.threads), "--epochs", str(args.epochs)] + flags
            if args.precision == "f64":
                cmd.append("--f64")
            t = run_json(cmd, TORCH_DIR)
            ours.append(p["adam_epoch_ms"])
            theirs.append(t["adam_epoch_ms_median"])
        row = {
            "case": name,
            "pdenet_ms": statistics.median(ours),
            "torch_ms": statistics.median(theirs),
            "pdenet_runs": ours,
            "torch_runs": theirs,
            "torch": t["framework"],
            "cpu": p["adapter"],
            "threads": args.threads,
            "precision": args.precision,
        }
        row["speedup"] = row["torch_ms"] / row["pdenet_ms"]
        rows.append(row)
        if not args.markdown:
            print(json.dumps(row), flush=True)
    if args.markdown:
        print(f"| case | pdenet ms/epoch | {rows[0]['torch']} ms/epoch | speed-up |")
        print("|---|---|---|---|")
        for r in rows:
            print(f"| {r['case']} | {r['pdenet_ms']:.1f} | {r['torch_ms']:.1f} | {r['speedup']:.2f}× |")


if __name__ == "__main__":
    main()
