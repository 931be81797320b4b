# %% [markdown]
# # Burgers' equation from Python
#
# Trains examples/burgers_ssbroyden.pde (a 4×20 MLP, Adam then the self-scaled Broyden
# method) for a minute, plots u and its error against the reference solution, evaluates
# derivatives of the trained network, and plots the loss. Run it as a script
# (`python3 examples/python/burgers.py`) or cell by cell (`# %%` cells: VS Code,
# Jupyter via jupytext). Needs `pip install .` (pdenet), matplotlib and scipy.

# %%
import os

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from scipy.io import loadmat

import pdenet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "examples", "python", "burgers.out")
SECONDS = float(os.environ.get("PDENET_EXAMPLE_SECONDS", "60"))

run = pdenet.run(os.path.join(ROOT, "examples", "burgers_ssbroyden.pde"),
                 time_limit=SECONDS, out=OUT)
print("rel. L2 error of u:", run.report["errors"]["u"]["rel_l2"])

# %% [markdown]
# ## The solution and its error on the reference grid

# %%
ref = loadmat(os.path.join(ROOT, "examples", "data", "burgers_shock.mat"))
x, t, usol = ref["x"].ravel(), ref["t"].ravel(), ref["usol"]
X, T = np.meshgrid(x, t, indexing="ij")  # usol is x × t
u = run.model.eval(x=X, t=T)["u"]
error = u - usol
print("rel. L2 on the grid:", np.linalg.norm(error) / np.linalg.norm(usol))

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
extent = [t[0], t[-1], x[0], x[-1]]
for ax, values, title, cmap in [(axes[0], u, "u(x, t)", "RdBu_r"),
                                (axes[1], error, "u − reference", "coolwarm")]:
    im = ax.imshow(values, extent=extent, origin="lower", aspect="auto", cmap=cmap)
    ax.set(xlabel="t", ylabel="x", title=title)
    fig.colorbar(im, ax=ax)
fig.savefig(os.path.join(OUT, "python_solution.png"), dpi=110)

# %% [markdown]
# ## Derivatives: the PDE residual u_t + u u_x − ν u_xx from the trained network

# %%
nu = 0.01 / np.pi
d = run.model.eval(x=X, t=T, fields=["u", "u_t", "u_x", "u_xx"])
residual = d["u_t"] + d["u"] * d["u_x"] - nu * d["u_xx"]
print("mean |residual| on the grid:", np.mean(np.abs(residual)))
print("largest |u_x| (the shock at x = 0):", np.max(np.abs(d["u_x"])))

# %% [markdown]
# ## The loss during training (history.csv as NumPy columns)

# %%
fig, ax = plt.subplots(figsize=(6, 3.4), constrained_layout=True)
h = run.history
for phase in dict.fromkeys(h["phase"]):
    rows = [k for k, p in enumerate(h["phase"]) if p == phase]
    ax.semilogy(h["time_s"][rows], h["loss"][rows], label=phase)
ax.set(xlabel="seconds", ylabel="loss")
ax.legend()
fig.savefig(os.path.join(OUT, "python_loss.png"), dpi=110)
print("pictures in", OUT, "backend", matplotlib.get_backend())
