#!/usr/bin/env python3
"""Writes examples/data/sin6.mat: the QRes paper's toy regression (Bu & Karpatne
2021, Fig. 1): eight samples of y = sin 6x, evenly spaced on [-1, 1].

    ~/torchbench/bin/python scripts/make_sin6_data.py     # needs numpy and scipy
"""
import os

import numpy as np
from scipy.io import savemat

x = np.linspace(-1.0, 1.0, 8)
out = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "sin6.mat")
savemat(out, {"x": x[:, None], "y": np.sin(6.0 * x)[:, None]})
print(f"wrote {os.path.normpath(out)}")
