#!/usr/bin/env python3
"""MPI ranks against threads, measured, and a model of larger jobs.

    python3 bench/mpi_scaling.py --pdenet target/release/pdenet [--nf 100000]
        [--epochs 40] [--rounds 3] [--precision f32|f64] [--markdown]

The binary must be built with `--features mpi`. Each round runs, back to back, one
process with 2 threads and `mpirun -np 2` ranks of 1 thread each on Burgers
(examples/burgers.pde, QRes 10×8) with N_f collocation points, Adam only, and reads
report.json: ms per Adam epoch, and for the job the gathers' time and bytes. The
medians over rounds go in the table; the job's epoch over the single process's is
the efficiency at 2 ranks on one machine.

The model (docs/PERFORMANCE.md) scales that to N_f = 10^7 on P ranks of T threads:
compute c·N_f/(min(P, parts)·T), with c the measured seconds per point per thread
(the single process's epoch × 2 threads / N_f), since at most `parts` (256 per point
set, the CPU engine's MAX_PARTS) ranks get work; and per epoch one all-gather of
every part's row (parts × (parameters + terms) × 8 bytes, with 256 parts for
the collocation set and one for each other), costed on an assumed interconnect: latency
α·log2 P plus bytes·(P−1)/P over bandwidth β (the stated defaults: α = 5 µs,
β = 10 GB/s, an InfiniBand-class network; `--alpha`, `--beta` change them).
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE = os.path.join(ROOT, "examples", "burgers.pde")
MAX_PARTS = 256


def run(cmd, out):
    """Runs a training command into `out` and returns its report."""
    done = subprocess.run(cmd + ["--out", out], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    with open(os.path.join(out, "report.json")) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pdenet", default=os.path.join(ROOT, "target", "release", "pdenet"))
    ap.add_argument("--nf", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--precision", choices=["f32", "f64"], default="f32")
    ap.add_argument("--alpha", type=float, default=5e-6, help="latency per message step, s")
    ap.add_argument("--beta", type=float, default=10e9, help="bandwidth, bytes/s")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()

    common = ["run", FILE, "--data-dir", os.path.join(ROOT, "examples", "data"), "--quiet",
              "--set", f"sample.collocation={a.nf}", "--set", f"train.adam.epochs={a.epochs}",
              "--set", "train.ssbroyden.iterations=0", "--precision", a.precision,
              "--error-every", "0", "--checkpoint-every", "0"]
    single = [a.pdenet] + common + ["--threads", "2"]
    job = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", "2", a.pdenet] + common + [
        "--threads", "1"]
    one, two, gather_ms, gather_bytes = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            rep = run(single, os.path.join(tmp, f"one{r}"))
            one.append(rep["time_s"]["adam_epoch_ms"])
            rep = run(job, os.path.join(tmp, f"two{r}"))
            two.append(rep["time_s"]["adam_epoch_ms"])
            m = rep["mpi"]
            gather_ms.append(1e3 * m["gather_s"] / m["gathers"])
            gather_bytes.append(m["gathered_bytes"] / m["gathers"])
            machine = rep["machine"]
    t1, t2 = statistics.median(one), statistics.median(two)
    g, b = statistics.median(gather_ms), statistics.median(gather_bytes)
    print(f"{machine['cpu']} ({machine['isa']}), {a.precision}, Burgers QRes 10x8, "
          f"N_f = {a.nf}, {a.epochs} Adam epochs, median of {a.rounds} rounds")
    rows = [
        ("1 process x 2 threads", t1, "", ""),
        ("mpirun -np 2 x 1 thread", t2, f"{g:.3f}", f"{b / 1e3:.1f}"),
    ]
    print("| run | ms per Adam epoch | gather ms per evaluation | kB gathered per evaluation |")
    print("|---|---|---|---|")
    for name, t, gm, kb in rows:
        print(f"| {name} | {t:.2f} | {gm} | {kb} |")
    print(f"\nefficiency at 2 ranks: {t1 / t2:.3f} (1 process's epoch / the job's)\n")

    # The model: a row is θ's gradient and the terms in f64; the collocation set
    # has MAX_PARTS rows at N_f = 1e7, the other sets one each.
    sets = len(rep["points"])
    row_bytes = 8 * (rep["network"]["params"] + len(rep["loss"]["terms"]))
    big_bytes = row_bytes * (MAX_PARTS + sets - 1)
    c = t1 * 1e-3 * 2 / a.nf
    nf = 10_000_000
    threads = 8
    print(f"model: N_f = 1e7, {threads} threads per rank, c = {c * 1e9:.1f} ns per point per "
          f"thread, {big_bytes / 1e6:.2f} MB per gather, alpha = {a.alpha * 1e6:.0f} us, "
          f"beta = {a.beta / 1e9:.0f} GB/s")
    print("| ranks | compute ms | gather ms | epoch ms | efficiency |")
    print("|---|---|---|---|---|")
    serial = c * nf / threads
    for p in (8, 64, 512):
        compute = c * nf / (min(p, MAX_PARTS) * threads)
        gather = a.alpha * math.log2(p) + big_bytes * (p - 1) / p / a.beta
        epoch = compute + gather
        print(f"| {p} | {compute * 1e3:.1f} | {gather * 1e3:.2f} | {epoch * 1e3:.1f} | "
              f"{serial / (p * epoch):.2f} |")


if __name__ == "__main__":
    main()
