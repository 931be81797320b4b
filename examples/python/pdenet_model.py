"""Rebuild the networks of a trained pdenet model in NumPy or PyTorch.

`pdenet export OUT_DIR` writes OUT_DIR/export.npz: every tensor as an array, and
description.json, which says how each layer computes as an expression tree over the
layer's input and tensors (src/io/export.rs lists the nodes). Any layer kind written
in the pdenet language rebuilds here; nothing is specific to MLPs.

    import pdenet_model
    m = pdenet_model.load("examples/burgers.out/export.npz")
    u = m.numpy(x=xs, t=ts)["u"]          # NumPy, float64
    net = m.torch()                       # a torch.nn.Module (parameters trainable)
    u = net(torch.stack([xs, ts], 1))     # columns in m.inputs order

From the command line, `python3 pdenet_model.py EXPORT.npz --check EVAL.csv`
compares the NumPy rebuild with a CSV that `pdenet eval` wrote (the network outputs'
columns) and exits 1 if they differ by more than --tolerance.
"""

import argparse
import json
import sys
import zipfile

import numpy as np


class Ops:
    """The array operations the layer trees need, for NumPy."""

    funcs = {"sin": np.sin, "cos": np.cos, "exp": np.exp, "log": np.log,
             "tanh": np.tanh, "sqrt": np.sqrt, "abs": np.abs}

    def const(self, c, like):
        return np.full((1,), c, dtype=np.float64)

    def tile(self, h, times):
        return np.tile(h, (1,) * (h.ndim - 1) + (times,))

    def cat(self, parts):
        return np.concatenate(parts, axis=-1)

    def zeros(self, like, n):
        return np.zeros(like.shape[:-1] + (n,), dtype=np.float64)

    def roll(self, x, by):
        return np.roll(x, by, axis=-1)

    def expand(self, x, shape):
        return np.broadcast_to(x, shape)


class TorchOps(Ops):
    """The same operations for PyTorch tensors."""

    def __init__(self, torch):
        self.torch = torch
        self.funcs = {k: getattr(torch, k) for k in Ops.funcs}

    def const(self, c, like):
        return self.torch.full((1,), c, dtype=like.dtype, device=like.device)

    def tile(self, h, times):
        return h.repeat(*((1,) * (h.dim() - 1) + (times,)))

    def cat(self, parts):
        return self.torch.cat(parts, dim=-1)

    def zeros(self, like, n):
        return like.new_zeros(like.shape[:-1] + (n,))

    def roll(self, x, by):
        return self.torch.roll(x, by, dims=-1)

    def expand(self, x, shape):
        return x.expand(*shape)


BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
}


def run_layer(layer, tensors, h, ops):
    """One layer on h (points × inputs); `tensors` in the layer's order, each flat."""
    rows, cols = layer["outputs"], layer["inputs"]
    cache = {}

    def ev(t):
        op = t[0]
        if op == "input":
            return h
        if op == "tensor":
            return tensors[t[1]]
        if op == "local":
            if t[1] not in cache:
                cache[t[1]] = ev(layer["locals"][t[1]])
            return cache[t[1]]
        if op == "num":
            return ops.const(t[1], h)
        if op == "edge_input":
            return h if h.shape[-1] == 1 else ops.tile(h, rows)
        if op == "matvec":
            w = tensors[t[1]].reshape(rows, cols)
            x = ev(t[2])
            if x.shape[-1] == 1:
                x = ops.expand(x, x.shape[:-1] + (cols,))
            return x @ w.T
        if op == "edges":
            e = ev(t[1])
            if e.shape[-1] == 1:
                return e * cols
            return e.reshape(e.shape[:-1] + (rows, cols)).sum(-1)
        if op == "skip":
            x = ev(t[1])
            return x if rows == cols else ops.const(0.0, h)
        if op == "shift":
            return shift(ev(t[1]), t[2], t[3], ops)
        if op in BINARY:
            return BINARY[op](ev(t[1]), ev(t[2]))
        if op == "neg":
            return -ev(t[1])
        if op == "powi":
            x, n = ev(t[1]), t[2]
            p = ops.const(1.0, h)
            for _ in range(abs(n)):
                p = p * x
            return 1.0 / p if n < 0 else p
        if op == "call":
            return ops.funcs[t[1]](ev(t[2]))
        raise ValueError(f"unknown layer node {op!r}")

    out = ev(layer["body"])
    return ops.expand(out, h.shape[:-1] + (rows,)) if out.shape[-1] == 1 else out


def shift(x, by, periodic, ops):
    """Entry j is x[j + by]: wrapped around, or zero past the ends."""
    n = x.shape[-1]
    if periodic:
        return ops.roll(x, -by)
    if abs(by) >= n:
        return ops.zeros(x, n)
    if by >= 0:
        return ops.cat([x[..., by:], ops.zeros(x, by)])
    return ops.cat([ops.zeros(x, -by), x[..., : n + by]])


def rescale(net, x):
    """Each input column to [−1, 1] with its coordinate's bounds, as pdenet does."""
    cols = []
    for k, c in enumerate(net["inputs"]):
        s = 2.0 / (c["hi"] - c["lo"])
        cols.append((x[:, k] - c["lo"]) * s - 1.0)
    return cols


class Model:
    def __init__(self, path):
        with zipfile.ZipFile(path) as z:
            self.description = json.loads(z.read("description.json"))
        with np.load(path) as arrays:
            self.arrays = {k: arrays[k] for k in arrays.files if not k.endswith(".json")}
        self.networks = self.description["networks"]
        self.parameters = self.description["parameters"]

    def tensors(self, layer):
        return [self.arrays[t["array"]].reshape(-1) for t in layer["tensors"]]

    def numpy(self, **coords):
        """Every network's outputs at the points, by output name (float64 arrays)."""
        out = {}
        for net in self.networks:
            x = np.stack([np.asarray(coords[c["name"]], dtype=np.float64).ravel()
                          for c in net["inputs"]], axis=1)
            h = np.stack(rescale(net, x), axis=1)
            for layer in net["layers"]:
                h = run_layer(layer, self.tensors(layer), h, Ops())
            for k, name in enumerate(net["outputs"]):
                out[name] = h[:, k]
        return out

    def torch(self, network=0):
        """Network `network` as a torch.nn.Module of float64 parameters: its forward
        takes points × inputs (raw coordinates, in the description's order)."""
        import torch

        net = self.networks[network]
        ops = TorchOps(torch)
        model = self

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.layer_tensors = torch.nn.ModuleList()
                for layer in net["layers"]:
                    ps = torch.nn.ParameterList(
                        torch.nn.Parameter(torch.from_numpy(a.copy()),
                                           requires_grad=not t["fixed"])
                        for a, t in zip(model.tensors(layer), layer["tensors"]))
                    self.layer_tensors.append(ps)

            def forward(self, x):
                h = torch.stack(rescale(net, x), dim=1)
                for layer, ps in zip(net["layers"], self.layer_tensors):
                    h = run_layer(layer, list(ps), h, ops)
                return h

        return Net()


def load(path):
    return Model(path)


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",", ndmin=2)
    return {name: data[:, k] for k, name in enumerate(header)}


def main():
    a = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("export", help="the .npz that `pdenet export` wrote")
    a.add_argument("--check", metavar="EVAL_CSV", required=True,
                   help="a CSV from `pdenet eval … --output FILE.csv`")
    a.add_argument("--tolerance", type=float, default=1e-12)
    a.add_argument("--torch", action="store_true", help="check the PyTorch module too")
    args = a.parse_args()
    m = load(args.export)
    table = read_csv(args.check)
    got = m.numpy(**table)
    worst = 0.0
    for name, values in got.items():
        if name in table:
            worst = max(worst, float(np.max(np.abs(values - table[name]))))
    if args.torch:
        import torch
        net = m.networks[0]
        x = torch.tensor(np.stack([table[c["name"]] for c in net["inputs"]], 1))
        h = m.torch()(x).detach().numpy()
        for k, name in enumerate(net["outputs"]):
            if name in table:
                worst = max(worst, float(np.max(np.abs(h[:, k] - table[name]))))
    compared = [n for n in got if n in table]
    print(f"max |difference| {worst:.3e} over {len(compared)} output(s) "
          f"({', '.join(compared)}) at {len(next(iter(table.values())))} points")
    if not compared or worst > args.tolerance:
        sys.exit(1)


if __name__ == "__main__":
    main()
