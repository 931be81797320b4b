"""The KdV inverse problem of examples/kdv_pinn.pde written directly in PyTorch (f64):
a cross-check of pdenet's λ trajectory, with the same loss (a sum of squares over both
snapshots and all q = 50 stages), data sizes, network (MLP 1,50×4,50, Xavier normal,
zero biases), Adam (lr 1e-3) and λ2 trained as its logarithm from −6. Seeds differ
from pdenet's, so the trajectories agree in shape, not digit for digit.

    $HOME/torchbench/bin/python scripts/kdv_torch.py --epochs 2000    # ~6 min, 1 thread

(the PyTorch environment of ../shared/bench/README.md). Prints one JSON line per 250
epochs: loss, λ1, λ2.
"""
import argparse, json, os, time

import numpy as np
import scipy.io
import torch
from torch.func import functional_call, jacfwd, vmap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
a.add_argument("--epochs", type=int, default=2000)
a.add_argument("--seed", type=int, default=1234)
a.add_argument("--irk", default=os.path.join(ROOT, "..", "shared", "data", "irk", "Butcher_IRK50.txt"))
args = a.parse_args()

torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)
torch.manual_seed(args.seed)
np.random.seed(args.seed)
q = 50
d = scipy.io.loadmat(os.path.join(ROOT, "examples", "data", "KdV.mat"))
t, x, U = d["tt"].flatten(), d["x"].flatten(), np.real(d["uu"])
i0, i1 = 40, 160  # t = 0.2 and 0.8
dt = t[i1] - t[i0]
s0 = np.random.choice(len(x), 199, replace=False)
s1 = np.random.choice(len(x), 201, replace=False)
x0, u0 = torch.tensor(x[s0]), torch.tensor(U[s0, i0])
x1, u1 = torch.tensor(x[s1]), torch.tensor(U[s1, i1])
w = np.loadtxt(args.irk, ndmin=2).flatten()
W = torch.tensor(w[: q * q + q].reshape(q + 1, q))
A, b = W[:-1], W[-1:]

widths = [1, 50, 50, 50, 50, q]
layers = []
for i in range(len(widths) - 1):
    lin = torch.nn.Linear(widths[i], widths[i + 1])
    torch.nn.init.xavier_normal_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    layers += [lin, torch.nn.Tanh()]
net = torch.nn.Sequential(*layers[:-1])  # x ∈ [-1, 1] already: no rescaling needed
l1 = torch.nn.Parameter(torch.tensor(0.0))
log_l2 = torch.nn.Parameter(torch.tensor(-6.0))


def u_of(p, xs):
    return functional_call(net, p, (xs.reshape(1, 1),)).reshape(q)


u_x = jacfwd(u_of, argnums=1)
u_xxx = jacfwd(jacfwd(u_x, argnums=1), argnums=1)


def stages(p, xs):
    u = vmap(u_of, (None, 0))(p, xs)
    n = -l1 * u * vmap(u_x, (None, 0))(p, xs) - torch.exp(log_l2) * vmap(u_xxx, (None, 0))(p, xs)
    return u, n


def loss():
    p = dict(net.named_parameters())
    u, n = stages(p, x0)
    back = u - dt * n @ A.T          # each stage stepped back to t = 0.2
    u, n = stages(p, x1)
    ahead = u + dt * n @ (b - A).T   # and on to t = 0.8
    return ((u0[:, None] - back) ** 2).sum() + ((u1[:, None] - ahead) ** 2).sum()


opt = torch.optim.Adam(list(net.parameters()) + [l1, log_l2], lr=1e-3)
start = time.time()
for epoch in range(1, args.epochs + 1):
    opt.zero_grad()
    value = loss()
    value.backward()
    opt.step()
    if epoch % 250 == 0 or epoch in (1, 100):
        print(json.dumps({"epoch": epoch, "loss": value.item(), "λ1": l1.detach().item(),
                          "λ2": float(torch.exp(log_l2.detach())), "s": round(time.time() - start, 1)},
                         ensure_ascii=False), flush=True)
