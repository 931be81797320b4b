//! One training run end to end: kernel, data, points, initial θ, the optimizer
//! phases, and the errors against the reference solution. No file is written here
//! (see `io::output`).

use super::points::{self, DataError, Observations};
use super::trainer::{self, Evaluator, Outcome, Progress};
use crate::backend::{AdapterChoice, BackendError, ClifKernel, Gpu, GpuKernel};
use crate::expr::Expr;
use crate::kernel::{self, KernelError, PointBatch, Predictor};
use crate::net;
use crate::problem::Problem;
use std::time::Instant;
use thiserror::Error;

pub use crate::backend::Precision;

/// What evaluates the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The Cranelift JIT on the CPU (the default).
    Jit,
    /// The reference interpreter.
    Interp,
    /// WGSL shaders on the best GPU adapter, a software one included.
    Gpu,
    /// A hardware GPU when there is one that runs the precision, the JIT otherwise.
    Auto,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    /// `--epochs N`: caps every phase.
    pub epochs: Option<usize>,
    pub precision: Precision,
    pub engine: Engine,
    pub threads: usize,
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
}

/// Relative L2 and max-abs error of one field against the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub name: String,
    pub rel_l2: f64,
    pub max_abs: f64,
}

/// The model's values on the reference grid: coordinates, then one column per field.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub columns: Vec<String>,
    pub values: Vec<Vec<f64>>,
    /// The reference's values at the same points, one column per predicted field
    /// (for the error pictures).
    pub reference: Vec<Vec<f64>>,
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub outcome: Outcome,
    pub errors: Vec<FieldError>,
    pub predictions: Option<Predictions>,
    pub compile_s: f64,
    pub train_s: f64,
    /// Points per point set, as sampled.
    pub points: Vec<usize>,
    /// Where the kernel ran: `cpu` or `gpu` (never `auto`), and the adapter's
    /// name for `gpu`.
    pub backend: &'static str,
    pub adapter: Option<String>,
}

/// A compiled kernel on the engine that will run it.
enum Compiled {
    Jit(Box<ClifKernel>),
    Gpu(Box<GpuKernel>),
    Interp,
}

/// Compiles `kernel` for `engine`; `auto` takes a hardware GPU if one opens for
/// the precision and the JIT otherwise.
fn compile_for(kernel: &kernel::Kernel, opts: &RunOptions) -> Result<Compiled, BackendError> {
    let jit = || {
        ClifKernel::compile(kernel, opts.precision, opts.threads)
            .map(|j| Compiled::Jit(Box::new(j)))
    };
    match opts.engine {
        Engine::Jit => jit(),
        Engine::Interp => Ok(Compiled::Interp),
        Engine::Gpu => {
            let gpu = Gpu::new(AdapterChoice::Any, opts.precision)?;
            GpuKernel::compile(kernel, opts.precision, gpu).map(|g| Compiled::Gpu(Box::new(g)))
        }
        Engine::Auto => match Gpu::new(AdapterChoice::Hardware, opts.precision) {
            Ok(gpu) => {
                GpuKernel::compile(kernel, opts.precision, gpu).map(|g| Compiled::Gpu(Box::new(g)))
            }
            Err(_) => jit(),
        },
    }
}

/// Trains the problem and measures it against its reference.
pub fn run(
    problem: &Problem,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<RunResult, RunError> {
    let t0 = Instant::now();
    let kernel = kernel::compile(problem)?;
    let compiled = compile_for(&kernel, opts)?;
    let compile_s = t0.elapsed().as_secs_f64();
    let data = points::load(problem)?;
    let batches = points::sample(problem, &data, opts.seed);
    let theta = net::init_theta(problem, opts.seed);
    let precision = opts.precision;
    let mut evaluator = |theta: &[f64]| match (&compiled, precision) {
        (Compiled::Jit(jit), _) => jit.eval(theta, &batches),
        (Compiled::Gpu(gpu), _) => gpu.eval(theta, &batches),
        (Compiled::Interp, Precision::F64) => kernel.eval(theta, &batches),
        (Compiled::Interp, Precision::F32) => kernel.eval_as::<f32>(theta, &batches),
    };
    let phases = trainer::phases(problem, opts.epochs);
    let t1 = Instant::now();
    let outcome = trainer::train(
        problem,
        &mut evaluator as &mut dyn Evaluator,
        theta,
        &phases,
        progress,
    );
    let train_s = t1.elapsed().as_secs_f64();
    let (errors, predictions) = match problem.reference {
        Some(r) => {
            let (e, p) = compare(problem, &outcome.theta, &data[r], r)?;
            (e, Some(p))
        }
        None => (Vec::new(), None),
    };
    Ok(RunResult {
        outcome,
        errors,
        predictions,
        compile_s,
        train_s,
        points: batches.iter().map(PointBatch::len).collect(),
        backend: match compiled {
            Compiled::Gpu(_) => "gpu",
            _ => "cpu",
        },
        adapter: match &compiled {
            Compiled::Gpu(g) => Some(g.adapter()),
            _ => None,
        },
    })
}

/// The quantity each reference column measures: a field by name (under a
/// discrete-time scheme, its value at the end time), or the mapped expression.
fn reference_exprs(problem: &Problem, dataset: usize) -> Vec<(String, Expr)> {
    let mut out = Vec::new();
    for f in &problem.datasets[dataset].fields {
        let parts: Vec<&crate::problem::Field> = problem
            .fields
            .iter()
            .filter(|x| {
                x.name == f.field || x.complex_of.as_ref().is_some_and(|(c, _)| *c == f.field)
            })
            .collect();
        if parts.len() == f.value.len() {
            out.extend(parts.iter().map(|p| (p.name.clone(), p.value.clone())));
        } else {
            out.extend(f.value.iter().map(|v| (f.field.clone(), v.clone())));
        }
    }
    out
}

/// Errors per field (and |h| for a complex field) on the reference points; under a
/// scheme, on the points at its end time.
fn compare(
    problem: &Problem,
    theta: &[f64],
    obs: &Observations,
    dataset: usize,
) -> Result<(Vec<FieldError>, Predictions), KernelError> {
    let obs = match &problem.scheme {
        Some(s) => {
            let times = &obs.coords[s.coord];
            let nearest = times
                .iter()
                .map(|t| (t - s.to).abs())
                .fold(f64::INFINITY, f64::min);
            let idx: Vec<usize> = (0..obs.len())
                .filter(|&i| (times[i] - s.to).abs() <= nearest + 1e-12)
                .collect();
            obs.select(&idx)
        }
        None => obs.clone(),
    };
    let named = reference_exprs(problem, dataset);
    let exprs: Vec<Expr> = named.iter().map(|(_, e)| e.clone()).collect();
    let predicted = Predictor::new(problem, &exprs)?.eval::<f64>(theta, &obs.coords)?;
    let mut errors: Vec<FieldError> = named
        .iter()
        .zip(&predicted)
        .zip(&obs.columns)
        .map(|(((name, _), p), r)| error(name, p, r))
        .collect();
    let mut col = 0;
    for f in &problem.datasets[dataset].fields {
        if f.value.len() == 2 {
            let modulus = |a: &Vec<f64>, b: &Vec<f64>| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| x.hypot(*y))
                    .collect::<Vec<f64>>()
            };
            let p = modulus(&predicted[col], &predicted[col + 1]);
            let r = modulus(&obs.columns[col], &obs.columns[col + 1]);
            errors.push(error(&format!("|{}|", f.field), &p, &r));
        }
        col += f.value.len();
    }
    let mut columns: Vec<String> = problem.coords.iter().map(|c| c.name.clone()).collect();
    columns.extend(named.iter().map(|(n, _)| n.clone()));
    let mut values = obs.coords.clone();
    values.extend(predicted);
    let reference = obs.columns.clone();
    Ok((
        errors,
        Predictions {
            columns,
            values,
            reference,
        },
    ))
}

fn error(name: &str, predicted: &[f64], reference: &[f64]) -> FieldError {
    let diff: f64 = predicted
        .iter()
        .zip(reference)
        .map(|(p, r)| (p - r).powi(2))
        .sum();
    let norm: f64 = reference.iter().map(|r| r * r).sum();
    let max_abs = predicted
        .iter()
        .zip(reference)
        .map(|(p, r)| (p - r).abs())
        .fold(0.0, f64::max);
    FieldError {
        name: name.to_string(),
        rel_l2: (diff / norm).sqrt(),
        max_abs,
    }
}
