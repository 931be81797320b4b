#!/usr/bin/env python3
"""The matrix-product FLOPs per collocation point of a PyTorch PINN epoch, counted by
torch.utils.flop_counter (matmuls only: mm, addmm, bmm; element-wise work is not
counted). The network and residual are those of ../shared/bench/burgers_torch.py
(MLP or QRes, Burgers by nested autograd); compare with `pdenet bench --json`'s
`flops_per_point` times `products_share`, the products with θ of pdenet's jets.

    ~/torchbench/bin/python bench/torch_flops.py --net mlp --width 100 --depth 5
"""

import argparse
import math

import torch
from torch.utils.flop_counter import FlopCounterMode

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--net", choices=["mlp", "qres"], default="mlp")
p.add_argument("--width", type=int, default=20)
p.add_argument("--depth", type=int, default=8)
p.add_argument("--points", type=int, default=256, help="collocation points counted")
a = p.parse_args()

sizes = [2] + [a.width] * a.depth + [1]
layers = list(zip(sizes[:-1], sizes[1:]))
w1 = [torch.randn(o, i, requires_grad=True) for i, o in layers]
w2 = [torch.randn(o, i, requires_grad=True) for i, o in layers] if a.net == "qres" else None
bias = [torch.zeros(o, requires_grad=True) for _, o in layers]


def net(x):
    h = x
    for k in range(len(layers)):
        z = h @ w1[k].T + bias[k]
        if w2 is not None:
            z = z * (h @ w2[k].T) + z
        h = torch.tanh(z) if k < len(layers) - 1 else z
    return h


x = torch.rand(a.points, 2, requires_grad=True)
with FlopCounterMode(display=False) as count:
    u = net(x)
    g = torch.autograd.grad(u, x, torch.ones_like(u), create_graph=True)[0]
    u_x, u_t = g[:, 0:1], g[:, 1:2]
    u_xx = torch.autograd.grad(u_x, x, torch.ones_like(u_x), create_graph=True)[0][:, 0:1]
    f = u_t + u * u_x - 0.01 / math.pi * u_xx
    torch.mean(f ** 2).backward()
print(f"{a.net} (2,{a.width}×{a.depth},1): {count.get_total_flops() / a.points:.0f} "
      f"matmul FLOPs per collocation point (loss and gradient)")
