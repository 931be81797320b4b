#!/usr/bin/env python3
"""Writes examples/data/pinv_u.mat: the observation grid of PINNacle's PInv.

PINNacle (src/pde/inverse.py, PoissonInv) observes u = sin πx · sin πy on the
50 × 50 grid linspace(0, 1, 50)² and adds Gaussian noise of standard deviation 0.1
when it builds the problem. This file holds the noise-free values on that grid; the
example adds the noise itself (`noise 0.1`, seeded by --seed).

    ~/torchbench/bin/python scripts/make_pinv_data.py     # needs numpy and scipy
"""
import os

import numpy as np
from scipy.io import savemat

x = np.linspace(0.0, 1.0, 50)
y = np.linspace(0.0, 1.0, 50)
u = np.sin(np.pi * x)[:, None] * np.sin(np.pi * y)[None, :]  # u[i, j] at (x[i], y[j])
out = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "pinv_u.mat")
savemat(out, {"x": x[None, :], "y": y[None, :], "u": u})
print(f"wrote {os.path.normpath(out)}")
