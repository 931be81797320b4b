#!/usr/bin/env python3
"""pdenet against the PyTorch reference, in one run on one machine.

For each case, `pdenet bench` and ../shared/bench/burgers_torch.py --mode speed time
the same work (loss and gradient over every point set, then one Adam step; median
over the timed epochs after 20 warm-up). The two are run alternately, `--rounds`
times, and the median of each side's medians is compared, so background load hits
both sides alike.

    python3 bench/compare.py                      # from the repository root
    python3 bench/compare.py --rounds 5 --markdown
    python3 bench/compare.py --isa avx2           # both sides limited to AVX2

`--isa avx2` stands in for an AVX2-only host on an AVX-512 one: pdenet's products
run the AVX2 microkernels (PDENET_PRODUCTS; its element-wise groups are then
Cranelift's, as on such a host) and PyTorch's ATen, oneDNN and MKL are held to AVX2
by their own variables. The cores' clocks and caches stay this host's.

Needs the reference's environment (../shared/bench/README.md) and a release build
(`cargo build --release`). Prints one JSON line per case, or a markdown table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_DIR = os.path.join(ROOT, "..", "shared", "bench")

# (name, pdenet file, reference flags)
CASES = [
    ("Burgers QRes (2,10×8,1), N_f = 10 000", "examples/burgers.pde", ["--net", "qres"]),
    ("Burgers MLP (2,20×8,1), N_f = 10 000", "examples/burgers_pinn.pde", ["--net", "mlp"]),
    ("Burgers QRes, N_f = 1 000", "bench/burgers_qres_nf1000.pde", ["--net", "qres", "--nf", "1000"]),
    ("4th order (u_xxxx), QRes, N_f = 10 000", "bench/ks_qres.pde", ["--net", "qres", "--pde", "ks"]),
    ("Burgers QRes (2,50×4,1), N_f = 20 000", "bench/burgers_qres_50x4.pde",
     ["--net", "qres", "--width", "50", "--depth", "4", "--nf", "20000"]),
    ("Burgers MLP (2,100×5,1), N_f = 8 192", "bench/burgers_mlp_100x5.pde",
     ["--net", "mlp", "--width", "100", "--depth", "5", "--nf", "8192"]),
]


# What `--isa avx2` sets for each side.
AVX2_ENV = {
    "pdenet": {"PDENET_PRODUCTS": "avx2"},
    "torch": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
              "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
}


def run_json(cmd, cwd, env=None):
    """The command's last JSON line, with its peak resident memory in MiB; `env`
    adds to the environment."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, text=True,
                                 env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{err.read()}")
        lines = [l for l in out.read().splitlines() if l.startswith("{")]
    row = json.loads(lines[-1])
    row["peak_rss_mib"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return row


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--torch-python", default=os.path.expanduser("~/torchbench/bin/python"))
    a.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--epochs", type=int, default=100)
    a.add_argument("--rounds", type=int, default=3)
    a.add_argument("--precision", choices=["f32", "f64"], default="f32")
    a.add_argument("--markdown", action="store_true", help="print a markdown table")
    a.add_argument("--only", help="run only the cases whose name contains this text")
    a.add_argument("--isa", choices=["native", "avx2"], default="native",
                   help="avx2: hold both sides to AVX2 (an AVX2-only host, emulated)")
    args = a.parse_args()
    env = AVX2_ENV if args.isa == "avx2" else {"pdenet": {}, "torch": {}}

    rows = []
    for name, pde, flags in CASES:
        if args.only and args.only not in name:
            continue
        ours, theirs, rss = [], [], ([], [])
        for _ in range(args.rounds):
            p = run_json([args.pdenet, "bench", pde, "--backend", "cpu", "--json",
                          "--threads", str(args.threads), "--epochs", str(args.epochs), "--no-hessian",
                          "--precision", args.precision], ROOT, env["pdenet"])
            cmd = [args.torch_python, "burgers_torch.py", "--mode", "speed",
                   "--threads", str(args.threads), "--epochs", str(args.epochs)] + flags
            if args.precision == "f64":
                cmd.append("--f64")
            t = run_json(cmd, TORCH_DIR, env["torch"])
            ours.append(p["adam_epoch_ms"])
            theirs.append(t["adam_epoch_ms_median"])
            rss[0].append(p["peak_rss_mib"])
            rss[1].append(t["peak_rss_mib"])
        row = {
            "case": name,
            "pdenet_ms": statistics.median(ours),
            "torch_ms": statistics.median(theirs),
            "pdenet_runs": ours,
            "torch_runs": theirs,
            "torch": t["framework"],
            "cpu": p["adapter"],
            "isa": p["machine"]["isa"],
            "products": p["machine"].get("products"),
            "groups": p["machine"].get("groups"),
            "pdenet_rss_mib": max(rss[0]),
            "torch_rss_mib": max(rss[1]),
            "gflops": p.get("gflops"),
            "fraction_of_peak": p.get("fraction_of_peak"),
            "flops_per_point": p.get("flops_per_point"),
            "tape_bytes_per_point": p.get("tape_bytes_per_point"),
            "threads": args.threads,
            "precision": args.precision,
            "limited_to": args.isa if args.isa != "native" else None,
        }
        row["speedup"] = row["torch_ms"] / row["pdenet_ms"]
        rows.append(row)
        if not args.markdown:
            print(json.dumps(row), flush=True)
    if args.markdown:
        r0 = rows[0]
        limit = f", both sides limited to {args.isa}" if args.isa != "native" else ""
        print(f"{r0['cpu']} ({r0['isa']}, products {r0['products']}, element-wise groups "
              f"{r0['groups']}), {r0['threads']} threads, {r0['precision']}, {r0['torch']}{limit}")
        print()
        print(f"| case | pdenet ms/epoch | {r0['torch']} ms/epoch | speed-up "
              f"| pdenet GFLOP/s (of peak) | peak RSS pdenet / torch MiB |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            frac = r["fraction_of_peak"]
            frac = f" ({100 * frac:.0f} %)" if frac is not None else ""
            print(f"| {r['case']} | {r['pdenet_ms']:.1f} | {r['torch_ms']:.1f} | {r['speedup']:.2f}× "
                  f"| {r['gflops']:.1f}{frac} | {r['pdenet_rss_mib']:.0f} / {r['torch_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
