"""pdenet from Python: check, train and evaluate physics-informed networks written
as .pde files, with NumPy arrays in and out.

    import pdenet
    problem = pdenet.check("examples/burgers.pde")      # raises PdenetError with the diagnostics
    run = pdenet.run("examples/burgers.pde", epochs=200, out="burgers.out")
    run.report["errors"]["u"]["rel_l2"]                 # report.json as a dict
    run.history["loss"]                                 # history.csv as NumPy columns
    u = run.model.eval(x=xs, t=ts, fields=["u", "u_x"])  # dict of arrays

Training is the command line's own code (`pdenet run`): the same outputs are written
to the out directory, checkpoints included, and `pdenet.load(out_dir)` reopens them.
"""

import csv
import json
import os
import sys
import time

import numpy as np

from . import _native
from ._native import PdenetError

__all__ = ["check", "run", "load", "Problem", "Run", "Model", "PdenetError"]


class Problem:
    """A checked problem: `summary`, `residuals` (each term's simplified residual),
    `coords`, `fields`, `terms`, `params`, `parameter_count`, `warnings`, `source`."""

    def __init__(self, facts):
        self.__dict__.update(facts)

    def __repr__(self):
        return f"Problem({self.summary})"


def _is_source(text):
    """Text with a line break, or that names no file and does not look like a path."""
    if "\n" in text or os.path.exists(text):
        return "\n" in text
    if text.endswith(".pde") or os.sep in text:
        raise PdenetError(f"no such file: {text}")
    return True


def check(path_or_source, set=None, data_dirs=()):
    """Checks a .pde file (or its text): a Problem, or PdenetError with every
    diagnostic rendered."""
    text = os.fspath(path_or_source)
    kind = "source" if _is_source(text) else "path"
    facts = _native.check(**{kind: text}, set=_settings(set), data_dirs=list(data_dirs))
    if facts["warnings"]:
        print(facts["warnings"], file=sys.stderr)
    return Problem(facts)


def _settings(set):
    return None if set is None else {k: str(v) for k, v in set.items()}


class _Printer:
    """The default progress: a line every few seconds and at each phase's end."""

    def __init__(self, every=2.0):
        self.every, self.last = every, 0.0

    def __call__(self, p):
        now = time.monotonic()
        if now - self.last < self.every and p["iter"] != p["of"]:
            return
        self.last = now
        error = "" if p["error"] is None else f", rel. L2 {p['error']:.3e}"
        print(f"{p['phase']} {p['iter']}/{p['of']}: loss {p['loss']:.3e}{error}", flush=True)


def run(path, *, epochs=None, threads=None, precision=None, out=None, set=None, seed=1234,
        data_dirs=(), backend="cpu", time_limit=None, checkpoint_every=60.0, resume=False,
        init=None, progress=True):
    """Trains the .pde file at `path` and writes its outputs (as `pdenet run`).

    epochs caps every phase; precision is "f32" or "f64" (default: each phase's own);
    set changes settings as `--set` does ({"network.width": 20}); progress is True (a
    line every few seconds), False, or a callable taking {phase, iter, of, loss, error}.
    Ctrl-C stops after the current step, writes everything, and raises
    KeyboardInterrupt; `resume=True` continues a stopped run. Gives a Run; a run
    that diverged keeps its last good model and says so in a warning and in
    `run.report["diverged"]` (the command line exits 1 instead)."""
    callback = _Printer() if progress is True else (progress or None)
    out_dir, notes = _native.run(
        os.fspath(path), out=None if out is None else os.fspath(out), epochs=epochs,
        threads=threads, precision=precision, seed=seed, set=_settings(set),
        data_dirs=[os.fspath(d) for d in data_dirs], backend=backend, time_limit=time_limit,
        checkpoint_every=checkpoint_every, resume=resume,
        init=None if init is None else os.fspath(init), progress=callback)
    for note in notes:
        print(f"pdenet: warning: {note}", file=sys.stderr)
    return Run(out_dir)


def load(out_dir):
    """The trained model a run left in `out_dir`."""
    return Model(out_dir)


class Model:
    """A trained model: `eval` at any points, `export` for NumPy/PyTorch."""

    def __init__(self, out_dir):
        self.out_dir = os.fspath(out_dir)

    def eval(self, fields=None, **coords):
        """Fields and derivatives (`u`, `u_x`, `|h|`) at the points given by one 1-D
        array per coordinate (broadcast to a common shape); arrays of that shape."""
        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=np.float64) for v in coords.values()])
        shape = arrays[0].shape if arrays else ()
        flat = {k: np.ascontiguousarray(a.ravel()) for k, a in zip(coords, arrays)}
        values = _native.eval(self.out_dir, flat, None if fields is None else list(fields))
        return {k: v.reshape(shape) for k, v in values.items()}

    def export(self, path=None):
        """Writes the networks as an .npz (examples/python/pdenet_model.py rebuilds it)."""
        return _native.export(self.out_dir, None if path is None else os.fspath(path))

    def __repr__(self):
        return f"Model({self.out_dir!r})"


class Run:
    """A run's outputs: `report` (report.json), `history` (history.csv as NumPy
    columns; phase and event as lists of strings), `model`, `out_dir`."""

    def __init__(self, out_dir):
        self.out_dir = os.fspath(out_dir)
        with open(os.path.join(self.out_dir, "report.json")) as f:
            self.report = json.load(f)
        self.history = _read_history(os.path.join(self.out_dir, "history.csv"))
        self.model = Model(self.out_dir)

    def eval(self, fields=None, **coords):
        return self.model.eval(fields, **coords)

    def __repr__(self):
        return f"Run({self.out_dir!r})"


def _read_history(path):
    """Columns by header name: numbers as float arrays (NaN where empty), the phase
    and event columns as lists of strings. `pandas.DataFrame(history)` takes it."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    columns = {}
    for k, name in enumerate(header):
        cells = [r[k] if k < len(r) else "" for r in body]
        if name in ("phase", "event"):
            columns[name] = cells
        else:
            columns[name] = np.array([float(c) if c else np.nan for c in cells])
    return columns
