#!/usr/bin/env python3
"""Writes stand-ins for PINNacle's unpublished coefficient tables and initial data.

PINNacle reads two 256 × 256 coefficient tables that are not public:
ref/heat_2d_coef_256.dat (Heat 2d-VC, `HeatDarcy`, a(x, y) on [0, 1]²) and
ref/darcy_2d_coef_256.dat (Wave 2d-CG, `Wave2D_Heterogeneous`, c(x, y), looked up at
((x + 1)/2, (y + 1)/2) for (x, y) in [−1, 1]²). Its generator (src/utils/random.py)
makes each as exp(g), g a Gaussian random field on a 256 × 256 grid with a power-law
spectrum of exponent alpha = 4, normalized to mean 0 and standard deviation 1. This
script draws a field of that kind with a fixed seed per problem, so the examples train
on coefficients of the same character; PINNacle's references (which need its own
tables) cannot score them.

Burgers 2d-C (`Burgers2D`) starts from velocities read from
ref/burgers2d_init_{u,v}_0.dat, also not public; the stand-ins are two such fields g
(not exponentiated: mean 0, standard deviation 1) on a 128² grid of [0, 4]², periodic as the
problem is, the grid's last row and column repeating its first so that the table covers the
whole square.

    ~/torchbench/bin/python scripts/make_random_coef.py heat2d_vc   # numpy and scipy
    ~/torchbench/bin/python scripts/make_random_coef.py wave2d_cg
    ~/torchbench/bin/python scripts/make_random_coef.py burgers2d_c

heat2d_vc writes examples/data/heat2d_vc_coef.mat (`x`, `y` on [0, 1], `a`);
wave2d_cg writes examples/data/wave2d_cg_coef.mat (`x`, `y` on [−1, 1], `c`);
burgers2d_c writes examples/data/burgers2d_c_init.mat (`x`, `y` on [0, 4], `u0`, `v0`).
"""
import sys

import numpy as np
from scipy.io import savemat

N, ALPHA = 256, 4.0
# problem: (seed, the grid's axis range, the variable's name)
PROBLEMS = {
    "heat2d_vc": (20261205, (0.0, 1.0), "a"),
    "wave2d_cg": (20261206, (-1.0, 1.0), "c"),
}


def gaussian_field(seed, n=N):
    """g, a periodic Gaussian random field with a power-law spectrum, mean 0, std 1;
    g[i, j] at (x[i], y[j])."""
    rng = np.random.default_rng(seed)
    k = np.fft.fftfreq(n, d=1.0 / n)
    kx, ky = np.meshgrid(k, k, indexing="ij")
    k2 = kx**2 + ky**2
    spectrum = np.where(k2 > 0, (k2 + 1e-10) ** (-ALPHA / 4.0), 0.0)
    noise = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    g = np.fft.ifft2(noise * spectrum).real
    return (g - g.mean()) / g.std()


def initial_velocities():
    """Burgers 2d-C's stand-in u0, v0 on a 129² grid of [0, 4]² (periodic wrap)."""
    n = 128
    axis = np.linspace(0.0, 4.0, n + 1)
    wrap = [np.pad(gaussian_field(seed, n), ((0, 1), (0, 1)), mode="wrap") for seed in (20261207, 20261208)]
    path = "examples/data/burgers2d_c_init.mat"
    savemat(path, {"x": axis[:, None], "y": axis[:, None], "u0": wrap[0], "v0": wrap[1]})
    print(f"wrote {path}")


def main():
    names = list(PROBLEMS) + ["burgers2d_c"]
    if len(sys.argv) != 2 or sys.argv[1] not in names:
        sys.exit(f"usage: make_random_coef.py {{{','.join(names)}}}")
    name = sys.argv[1]
    if name == "burgers2d_c":
        return initial_velocities()
    seed, (lo, hi), var = PROBLEMS[name]
    field = np.exp(gaussian_field(seed))
    axis = np.linspace(lo, hi, N)
    path = f"examples/data/{name}_coef.mat"
    savemat(path, {"x": axis[:, None], "y": axis[:, None], var: field})
    print(f"wrote {path}: {var} in [{field.min():.3f}, {field.max():.3f}], mean {field.mean():.3f}")


if __name__ == "__main__":
    main()
