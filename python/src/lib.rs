//! `pdenet._native`: the Python package's door into the library, as thin as it can
//! be. Each function is one `pdenet::session` call (the command line's own path),
//! with NumPy arrays in and out; python/pdenet/__init__.py builds the friendly API on
//! top. Failures raise `PdenetError` carrying miette's rendered text.

use numpy::{PyArray1, PyReadonlyArray1};
use pdenet::backend::{EngineChoice, Precision};
use pdenet::session::{self, Progress, TrainSettings};
use pdenet::train::run::{ErrorEvery, RunOptions};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

create_exception!(
    _native,
    PdenetError,
    PyException,
    "A pdenet diagnostic or failure; str() is the rendered message."
);

fn failure(e: impl std::fmt::Debug) -> PyErr {
    PdenetError::new_err(format!("{e:?}"))
}

fn sets_of(set: Option<HashMap<String, String>>) -> Vec<String> {
    let mut sets: Vec<String> = (set.unwrap_or_default().into_iter())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    sets.sort();
    sets
}

fn load(
    path: Option<&str>,
    source: Option<&str>,
    sets: &[String],
    data_dirs: &[PathBuf],
) -> PyResult<session::Loaded> {
    let loaded = match (path, source) {
        (Some(p), _) => session::load_file(Path::new(p), sets, data_dirs),
        (None, Some(text)) => session::load_source("<source>", text, sets, data_dirs),
        (None, None) => return Err(PdenetError::new_err("give a path or source text")),
    };
    loaded.map_err(PdenetError::new_err)
}

/// Checks a problem: its summary, residuals, names and size.
#[pyfunction]
#[pyo3(signature = (path=None, source=None, set=None, data_dirs=vec![]))]
fn check<'py>(
    py: Python<'py>,
    path: Option<&str>,
    source: Option<&str>,
    set: Option<HashMap<String, String>>,
    data_dirs: Vec<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let l = load(path, source, &sets_of(set), &data_dirs)?;
    let p = &l.compiled.problem;
    let d = PyDict::new(py);
    d.set_item("name", &p.name)?;
    d.set_item("summary", pdenet::describe::summary(p))?;
    d.set_item("residuals", pdenet::describe::residuals(&l.compiled))?;
    let names = |v: Vec<String>| PyList::new(py, v);
    d.set_item(
        "coords",
        names(p.coords.iter().map(|c| c.name.clone()).collect())?,
    )?;
    d.set_item(
        "fields",
        names(p.fields.iter().map(|f| f.name.clone()).collect())?,
    )?;
    d.set_item(
        "terms",
        names(p.terms.iter().map(|t| t.name.clone()).collect())?,
    )?;
    d.set_item(
        "params",
        names(p.params.iter().map(|q| q.name.clone()).collect())?,
    )?;
    d.set_item(
        "parameter_count",
        pdenet::net::param_count(&p.networks) + p.params.len(),
    )?;
    d.set_item("warnings", &l.warnings)?;
    d.set_item("source", &l.text)?;
    Ok(d)
}

/// Trains and writes the outputs; gives the out directory. `progress(dict)` is called
/// a few times a second; Ctrl-C stops after the current step, writes everything and
/// raises KeyboardInterrupt.
#[pyfunction]
#[pyo3(signature = (path, out=None, epochs=None, threads=None, precision=None, seed=1234,
                    set=None, data_dirs=vec![], backend="cpu", time_limit=None,
                    checkpoint_every=60.0, resume=false, init=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    path: &str,
    out: Option<PathBuf>,
    epochs: Option<usize>,
    threads: Option<usize>,
    precision: Option<&str>,
    seed: u64,
    set: Option<HashMap<String, String>>,
    data_dirs: Vec<PathBuf>,
    backend: &str,
    time_limit: Option<f64>,
    checkpoint_every: f64,
    resume: bool,
    init: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Vec<String>)> {
    let l = load(Some(path), None, &sets_of(set), &data_dirs)?;
    let precision = match precision {
        None => None,
        Some(p) => Some(
            Precision::named(p)
                .ok_or_else(|| PdenetError::new_err(format!("precision `{p}`: f32 or f64")))?,
        ),
    };
    let engine = EngineChoice::named(backend).ok_or_else(|| {
        PdenetError::new_err(format!("backend `{backend}`: cpu, gpu, auto or interp"))
    })?;
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    let settings = TrainSettings {
        run: RunOptions {
            seed,
            epochs,
            precision,
            engine,
            threads: threads.unwrap_or_else(cores),
            started: Instant::now(),
            time_limit,
            error_every: ErrorEvery::Auto,
            checkpoint_every,
            init: None,
        },
        out: out.unwrap_or_else(|| session::default_out_dir(Path::new(path))),
        resume,
        init_from: init,
        team: None,
    };
    let interrupted = AtomicBool::new(false);
    let mut last = Instant::now();
    let mut report = |p: &Progress| {
        // A few times a second: the callback, and a look for Ctrl-C.
        if last.elapsed().as_secs_f64() < 0.25 && p.iter != p.of {
            return;
        }
        last = Instant::now();
        Python::attach(|py| {
            if py.check_signals().is_err() {
                interrupted.store(true, Ordering::SeqCst);
            }
            if let Some(f) = &progress {
                let d = PyDict::new(py);
                let _ = d.set_item("phase", p.phase);
                let _ = d.set_item("iter", p.iter);
                let _ = d.set_item("of", p.of);
                let _ = d.set_item("loss", p.loss);
                let _ = d.set_item("error", p.error);
                if let Err(e) = f.call1(py, (d,)) {
                    e.print(py);
                }
            }
        });
    };
    let trained = py.detach(|| session::train(&l, &settings, &mut report, Some(&interrupted)));
    let trained = trained.map_err(failure)?;
    let out = settings.out.display().to_string();
    if interrupted.load(Ordering::SeqCst) {
        let how = match pdenet::io::checkpoint::path(&settings.out).exists() {
            true => "the same call with `resume=True` continues",
            false => "no checkpoint was written (checkpoint_every=0)",
        };
        return Err(PyKeyboardInterrupt::new_err(format!(
            "stopped by Ctrl-C after the current step; outputs in {out}; {how}"
        )));
    }
    let mut notes = trained.notes;
    if let Some(why) = &trained.result.outcome.diverged {
        notes.push(format!(
            "training diverged: {why}; the last good model is kept"
        ));
    }
    if let Some(why) = &trained.result.outcome.failed {
        notes.push(format!("a training phase could not start: {why}"));
    }
    Ok((out, notes))
}

/// Quantities of a trained model at points: `coords` maps every coordinate to a 1-D
/// array; `fields` names fields and derivatives (`u`, `u_x`, `|h|`), default every field.
#[pyfunction]
#[pyo3(signature = (out_dir, coords, fields=None))]
fn eval<'py>(
    py: Python<'py>,
    out_dir: PathBuf,
    coords: HashMap<String, PyReadonlyArray1<'py, f64>>,
    fields: Option<Vec<String>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (saved, compiled) = session::load_model(&out_dir).map_err(failure)?;
    let problem = &compiled.problem;
    let mut columns = Vec::new();
    for c in &problem.coords {
        let a = coords.get(&c.name).ok_or_else(|| {
            let all: Vec<&str> = problem.coords.iter().map(|c| c.name.as_str()).collect();
            PdenetError::new_err(format!(
                "no values for coordinate `{}` (give {})",
                c.name,
                all.join(", ")
            ))
        })?;
        columns.push(a.as_array().to_vec());
    }
    if let Some(n) = columns.first().map(Vec::len) {
        if columns.iter().any(|c| c.len() != n) {
            return Err(PdenetError::new_err(
                "the coordinates' arrays differ in length",
            ));
        }
    }
    let names = fields.unwrap_or_else(|| pdenet::eval::default_fields(problem));
    let quantities = (names.iter())
        .map(|n| pdenet::eval::quantity(problem, n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(failure)?;
    let values =
        pdenet::eval::evaluate(problem, &saved.theta, &quantities, &columns).map_err(failure)?;
    let d = PyDict::new(py);
    for (name, v) in names.iter().zip(values) {
        d.set_item(name, PyArray1::from_vec(py, v))?;
    }
    Ok(d)
}

/// Writes a trained model's networks as an .npz (see `pdenet export`); gives its path.
#[pyfunction]
#[pyo3(signature = (out_dir, output=None))]
fn export(out_dir: PathBuf, output: Option<PathBuf>) -> PyResult<String> {
    let path = session::export(&out_dir, output.as_deref()).map_err(failure)?;
    Ok(path.display().to_string())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("PdenetError", m.py().get_type::<PdenetError>())?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(eval, m)?)?;
    m.add_function(wrap_pyfunction!(export, m)?)?;
    Ok(())
}
