"""The Python package against the command line it wraps: checks, short runs,
evaluation, export, Ctrl-C. Run by scripts/test.sh after `pip install .`."""

import json
import os
import subprocess
import sys
import threading
import _thread

import numpy as np
import pytest

import pdenet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = os.path.join(ROOT, "tests", "run", "burgers_small.pde")
DATA = [os.path.join(ROOT, "examples", "data")]
PDENET = os.path.join(ROOT, "target", "release", "pdenet")


def test_check_gives_the_problem():
    p = pdenet.check(SMALL, data_dirs=DATA)
    assert p.coords == ["x", "t"]
    assert p.fields == ["u"]
    assert p.terms[0] == "equation"
    assert p.parameter_count == 701
    assert "u_t + u*u_x" in p.residuals


def test_a_mistake_raises_the_rendered_diagnostic():
    with pytest.raises(pdenet.PdenetError) as e:
        pdenet.check("domain x ∈ [0, 1]\nfield u(x)\nequation u_xx + v = 0\n")
    text = str(e.value)
    assert "pdenet::check::unknown_name" in text
    assert "equation u_xx + v = 0" in text, "the source line is shown"


def test_a_missing_file_is_named():
    with pytest.raises(pdenet.PdenetError, match="no such file"):
        pdenet.check("examples/no_such_problem.pde")


def test_settings_change_like_the_command_line():
    p = pdenet.check(SMALL, data_dirs=DATA, set={"network.width": 12})
    assert p.parameter_count != 701
    assert "width = 12" in p.source


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    seen = []
    run = pdenet.run(SMALL, epochs=20, threads=1, out=out, data_dirs=DATA,
                     progress=seen.append)
    return run, seen


def test_a_run_gives_report_history_and_model(small_run):
    run, seen = small_run
    assert run.report["epochs"]["adam"] == 20
    n = len(run.history["loss"])
    assert n == len(run.history["phase"]) and n >= 20
    assert run.history["phase"][0] == "adam"
    assert np.all(np.isfinite(run.history["loss"]))
    assert seen and seen[-1]["iter"] == seen[-1]["of"], "the last step is reported"
    with open(os.path.join(run.out_dir, "report.json")) as f:
        assert json.load(f)["loss"] == run.report["loss"]


def test_eval_agrees_with_the_command_line(small_run):
    run, _ = small_run
    x, t = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(0, 1, 3))
    got = run.model.eval(x=x, t=t, fields=["u", "u_x"])
    assert got["u"].shape == (3, 7)
    points = ";".join(f"x={float(a)!r},t={float(b)!r}" for a, b in zip(x.ravel(), t.ravel()))
    out = subprocess.run([PDENET, "eval", run.out_dir, "--points", points, "--fields", "u,u_x"],
                         capture_output=True, text=True, check=True).stdout
    table = np.loadtxt(out.splitlines()[1:], delimiter=",", ndmin=2)
    assert np.max(np.abs(table[:, 2] - got["u"].ravel())) <= 1e-14
    assert np.max(np.abs(table[:, 3] - got["u_x"].ravel())) <= 1e-13
    with pytest.raises(pdenet.PdenetError, match="coordinate `t`"):
        run.model.eval(x=[0.0])


def test_export_rebuilds_in_numpy(small_run):
    run, _ = small_run
    path = run.model.export()
    sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
    import pdenet_model
    m = pdenet_model.load(path)
    x, t = np.linspace(-1, 1, 11), np.full(11, 0.3)
    assert np.max(np.abs(m.numpy(x=x, t=t)["u"] - run.model.eval(x=x, t=t)["u"])) <= 1e-12


def test_ctrl_c_stops_cleanly_and_keeps_the_outputs(tmp_path):
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="resume=True"):
            pdenet.run(SMALL, set={"train.adam.epochs": 1000000}, threads=1, out=tmp_path,
                       data_dirs=DATA, progress=False, checkpoint_every=0.5)
    finally:
        timer.cancel()
    stopped = pdenet.Run(tmp_path)
    assert stopped.report["phases"][0]["stop"] == "stopped by Ctrl-C or SIGTERM"
    assert os.path.exists(tmp_path / "checkpoint.npz")


def test_the_notebook_example_runs(tmp_path):
    """examples/python/burgers.py end to end, for a few seconds of training."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("scipy")
    env = dict(os.environ, PDENET_EXAMPLE_SECONDS="3", MPLBACKEND="Agg")
    script = os.path.join(ROOT, "examples", "python", "burgers.py")
    done = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "rel. L2 on the grid" in done.stdout
    out = os.path.join(ROOT, "examples", "python", "burgers.out")
    for picture in ("python_solution.png", "python_loss.png"):
        assert os.path.getsize(os.path.join(out, picture)) > 1000
