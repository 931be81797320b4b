#!/usr/bin/env python3
"""Reference PINN for Burgers' equation in PyTorch: the speed and accuracy anchor.

The project's copy of ../shared/bench/burgers_torch.py with `--device cuda` for the
GPU device check (scripts/gpu-check.sh): tensors and parameters live on the device,
and each timed epoch ends with a synchronization so the host clock sees its work.

u_t + u u_x - (0.01/pi) u_xx = 0, x in [-1, 1], t in [0, 1],
u(0, x) = -sin(pi x), u(t, +-1) = 0 (Raissi et al. 2019; QRes: Bu & Karpatne 2021).
Derivatives by nested autograd, the way users of PyTorch/DeepXDE compute them.

  python burgers_torch.py --net qres --mode speed            # ms per Adam epoch
  python burgers_torch.py --net mlp  --mode train --adam 2000 --lbfgs 5000
  python burgers_torch.py --net qres --mode speed --nf 1000   # small point sets
  python burgers_torch.py --net qres --mode speed --pde ks    # 4th-order residual
  python burgers_torch.py --net mlp --mode speed --device cuda --nf 1000000
"""
import os
import argparse, json, math, time
import numpy as np
import scipy.io
import torch

p = argparse.ArgumentParser()
p.add_argument("--net", choices=["mlp", "qres"], default="qres")
p.add_argument("--mode", choices=["speed", "train"], default="speed")
p.add_argument("--pde", choices=["burgers", "ks"], default="burgers",
               help="ks: speed only, residual u_t + u u_x + u_xx + u_xxxx (4th order)")
p.add_argument("--width", type=int, default=None)
p.add_argument("--depth", type=int, default=8)
p.add_argument("--nf", type=int, default=10000)
p.add_argument("--nu", type=int, default=100)
p.add_argument("--epochs", type=int, default=120, help="speed mode: timed Adam epochs")
p.add_argument("--adam", type=int, default=2000)
p.add_argument("--lbfgs", type=int, default=5000)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--f64", action="store_true")
p.add_argument("--seed", type=int, default=1234)
p.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                              "..", "examples", "data", "burgers_shock.mat"))
p.add_argument("--device", default="cpu", help="cpu or cuda")
a = p.parse_args()

torch.set_num_threads(a.threads)
dev = torch.device(a.device)
sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
torch.manual_seed(a.seed)
np.random.seed(a.seed)
dtype = torch.float64 if a.f64 else torch.float32
width = a.width or (10 if a.net == "qres" else 20)
lb, ub = np.array([-1.0, 0.0]), np.array([1.0, 1.0])


def xavier(i, o):
    w = torch.empty(o, i, dtype=dtype)
    torch.nn.init.trunc_normal_(w, std=math.sqrt(2.0 / (i + o)), a=-2 * math.sqrt(2.0 / (i + o)), b=2 * math.sqrt(2.0 / (i + o)))
    return torch.nn.Parameter(w)


class Net(torch.nn.Module):
    def __init__(s, sizes, quad):
        super().__init__()
        s.quad = quad
        s.W1 = torch.nn.ParameterList([xavier(i, o) for i, o in zip(sizes[:-1], sizes[1:])])
        s.b = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(o, dtype=dtype)) for o in sizes[1:]])
        if quad:
            s.W2 = torch.nn.ParameterList([xavier(i, o) for i, o in zip(sizes[:-1], sizes[1:])])
        s.register_buffer("lb", torch.tensor(lb, dtype=dtype))
        s.register_buffer("ub", torch.tensor(ub, dtype=dtype))

    def forward(s, X):
        h = 2.0 * (X - s.lb) / (s.ub - s.lb) - 1.0
        n = len(s.W1)
        for k in range(n):
            h1 = h @ s.W1[k].T + s.b[k]
            z = h1 * (h @ s.W2[k].T) + h1 if s.quad else h1
            h = torch.tanh(z) if k < n - 1 else z
        return h


sizes = [2] + [width] * a.depth + [1]
net = Net(sizes, a.net == "qres").to(dev)
nparams = sum(p.numel() for p in net.parameters())

d = scipy.io.loadmat(a.data)
t, x, usol = d["t"].flatten(), d["x"].flatten(), np.real(d["usol"]).T  # usol: (t, x)
X, T = np.meshgrid(x, t)
Xstar = np.hstack([X.flatten()[:, None], T.flatten()[:, None]])
ustar = usol.flatten()[:, None]
# initial and boundary points from the grid, as in Raissi's code
xx1 = np.hstack([X[0:1, :].T, T[0:1, :].T]); uu1 = usol[0:1, :].T
xx2 = np.hstack([X[:, 0:1], T[:, 0:1]]); uu2 = usol[:, 0:1]
xx3 = np.hstack([X[:, -1:], T[:, -1:]]); uu3 = usol[:, -1:]
Xu = np.vstack([xx1, xx2, xx3]); U = np.vstack([uu1, uu2, uu3])
idx = np.random.choice(Xu.shape[0], a.nu, replace=False)
Xu, U = Xu[idx], U[idx]
# Latin hypercube collocation points
nf = a.nf
lhs = (np.argsort(np.random.rand(2, nf), axis=1).T + np.random.rand(nf, 2)) / nf
Xf = np.vstack([lb + (ub - lb) * lhs, Xu])

tXu = torch.tensor(Xu, dtype=dtype, device=dev)
tU = torch.tensor(U, dtype=dtype, device=dev)
tXf = torch.tensor(Xf, dtype=dtype, device=dev, requires_grad=True)
nu = 0.01 / math.pi


def loss_fn():
    u = net(tXf)
    g = torch.autograd.grad(u, tXf, torch.ones_like(u), create_graph=True)[0]
    u_x, u_t = g[:, 0:1], g[:, 1:2]
    u_xx = torch.autograd.grad(u_x, tXf, torch.ones_like(u_x), create_graph=True)[0][:, 0:1]
    if a.pde == "ks":
        u_xxx = torch.autograd.grad(u_xx, tXf, torch.ones_like(u_xx), create_graph=True)[0][:, 0:1]
        u_xxxx = torch.autograd.grad(u_xxx, tXf, torch.ones_like(u_xxx), create_graph=True)[0][:, 0:1]
        f = u_t + u * u_x + u_xx + u_xxxx
    else:
        f = u_t + u * u_x - nu * u_xx
    return torch.mean((net(tXu) - tU) ** 2) + torch.mean(f ** 2)


def rel_l2():
    with torch.no_grad():
        up = net(torch.tensor(Xstar, dtype=dtype, device=dev)).cpu().numpy()
    return float(np.linalg.norm(ustar - up) / np.linalg.norm(ustar))


opt = torch.optim.Adam(net.parameters(), lr=1e-3)


def adam_step():
    opt.zero_grad()
    l = loss_fn()
    l.backward()
    opt.step()
    return l


out = {"framework": "torch " + torch.__version__, "pde": a.pde, "net": a.net, "sizes": sizes, "params": nparams,
       "nf": nf, "nu": a.nu, "precision": "f64" if a.f64 else "f32", "threads": a.threads,
       "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"}
if a.mode == "speed":
    for _ in range(20):
        adam_step()
    sync()
    times = []
    for _ in range(a.epochs):
        t0 = time.perf_counter(); adam_step(); sync(); times.append(time.perf_counter() - t0)
    out["adam_epoch_ms_median"] = 1e3 * float(np.median(times))
    out["adam_epoch_ms_min"] = 1e3 * float(np.min(times))
else:
    t0 = time.perf_counter()
    for e in range(a.adam):
        l = adam_step()
    out["adam_s"] = time.perf_counter() - t0
    out["after_adam"] = {"loss": float(l.detach()), "rel_l2": rel_l2()}
    lb_opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=a.lbfgs, max_eval=int(a.lbfgs * 1.25),
                               history_size=50, tolerance_grad=1e-9, tolerance_change=1e-12,
                               line_search_fn="strong_wolfe")
    it = [0]

    def closure():
        lb_opt.zero_grad(); l = loss_fn(); l.backward(); it[0] += 1; return l

    t1 = time.perf_counter()
    l = lb_opt.step(closure)
    out["lbfgs_s"] = time.perf_counter() - t1
    out["lbfgs_evals"] = it[0]
    out["final"] = {"loss": float(loss_fn()), "rel_l2": rel_l2()}
print(json.dumps(out))
