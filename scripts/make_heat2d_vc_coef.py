#!/usr/bin/env python3
"""Writes examples/data/heat2d_vc_coef.mat: a stand-in for PINNacle's Heat 2d-VC
coefficient table.

PINNacle (src/pde/heat.py, HeatDarcy) reads a(x, y) from ref/heat_2d_coef_256.dat,
which is not public; its generator (src/utils/random.py) makes a = exp(g) with g a
Gaussian random field on a 256 × 256 grid of [0, 1]², power-law spectrum with
exponent alpha = 4, normalized to mean 0 and standard deviation 1. This script draws
a field of that kind with a fixed seed, so the example trains on a coefficient of
the same character; its reference solution (which needs PINNacle's own table)
cannot score it.

    python3 scripts/make_heat2d_vc_coef.py      # needs numpy and scipy
"""
import numpy as np
from scipy.io import savemat

N, ALPHA, SEED = 256, 4.0, 20261205

rng = np.random.default_rng(SEED)
k = np.fft.fftfreq(N, d=1.0 / N)
kx, ky = np.meshgrid(k, k, indexing="ij")
k2 = kx**2 + ky**2
spectrum = np.where(k2 > 0, (k2 + 1e-10) ** (-ALPHA / 4.0), 0.0)
noise = rng.standard_normal((N, N)) + 1j * rng.standard_normal((N, N))
g = np.fft.ifft2(noise * spectrum).real
g = (g - g.mean()) / g.std()
a = np.exp(g)  # a[i, j] at (x[i], y[j])
x = np.linspace(0.0, 1.0, N)
y = np.linspace(0.0, 1.0, N)
savemat("examples/data/heat2d_vc_coef.mat", {"x": x[:, None], "y": y[:, None], "a": a})
print(f"a in [{a.min():.3f}, {a.max():.3f}], mean {a.mean():.3f}")
