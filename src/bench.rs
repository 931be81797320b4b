//! `pdenet bench`: times what ../shared/bench/burgers_torch.py `--mode speed` times —
//! one Adam epoch (loss and gradient over every point set, then the update) — as
//! the median over the timed epochs after a warm-up.

use crate::backend::{self, EngineChoice, EngineFacts, Precision};
use crate::io::machine;
use crate::problem::DenseRule;
use crate::problem::Problem;
use crate::train::optim::dense::Dense;
use crate::train::optim::quasi_newton::Memory;
use crate::train::optim::{Adam, AdamConfig};
use crate::train::points;
use crate::train::run::RunError;
use crate::train::trainer::Evaluator;
use std::time::Instant;

/// What one engine measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// The engine that ran (never `auto`) and where.
    pub engine: EngineFacts,
    pub points: usize,
    pub compile_s: f64,
    pub adam_epoch_ms: f64,
    pub adam_epoch_ms_min: f64,
    /// Trainable numbers (network and PDE parameters): the order of a dense H.
    pub parameters: usize,
    /// One dense quasi-Newton update of H with the next direction (`ssbroyden`'s, the
    /// dearest: BFGS's costs the same passes), median ms; `None` when H would not fit
    /// in memory.
    pub hessian_update_ms: Option<f64>,
}

/// Timed dense updates after one untimed (the first update after a reset writes H
/// without reading it).
const HESSIAN_REPS: usize = 10;

pub const WARMUP: usize = 20;

/// What `pdenet bench` times: an engine (as `run` chooses it), a precision, the
/// CPU engine's threads, the timed epochs after [`WARMUP`], the seed of θ and the
/// points.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub engine: EngineChoice,
    pub precision: Precision,
    pub threads: usize,
    pub epochs: usize,
    pub seed: u64,
}

/// Compiles the problem for the engine and times Adam epochs on its point sets as
/// `run` samples them; compile time includes the kernel's.
pub fn bench(problem: &Problem, opts: &BenchOptions) -> Result<Timing, RunError> {
    let t0 = Instant::now();
    let kernel = crate::kernel::compile(problem)?;
    let engine = backend::compile(opts.engine, &kernel, opts.precision, opts.threads)?;
    let compile_s = t0.elapsed().as_secs_f64();
    let data = points::load(problem)?;
    let batches = points::sample(problem, &data, opts.seed);
    let theta = crate::net::init::init_theta(problem, opts.seed);
    let mut eval = |th: &[f64]| engine.eval(th, &batches);
    let (median, min) = time_adam(&mut eval, &theta, WARMUP, opts.epochs)?;
    let n = theta.len();
    let fits = machine::dense_matrix_bytes(n) <= machine::memory_for_a_matrix();
    Ok(Timing {
        engine: engine.facts(),
        points: batches.iter().map(|b| b.len()).sum(),
        compile_s,
        adam_epoch_ms: median,
        adam_epoch_ms_min: min,
        parameters: n,
        hessian_update_ms: fits.then(|| time_hessian_update(n, opts.threads, HESSIAN_REPS)),
    })
}

/// The median milliseconds of `reps` dense SSBroyden updates (H·y, the rank-two
/// update and the next direction) of order `n` on `threads` threads.
pub fn time_hessian_update(n: usize, threads: usize, reps: usize) -> f64 {
    let mut dense = Dense::new(DenseRule::SsBroyden2, threads);
    dense.start(n);
    let wave = |k: usize, f: f64| (k as f64 * f).sin();
    let d: Vec<f64> = (0..n).map(|k| wave(k, 0.7)).collect();
    let g_old: Vec<f64> = (0..n).map(|k| wave(k, 1.3) - 2.0 * d[k]).collect();
    let g_new: Vec<f64> = (0..n).map(|k| wave(k, 1.3)).collect();
    let mut times = Vec::with_capacity(reps);
    let mut direction = vec![0.0; n];
    for k in 0..=reps {
        let t0 = Instant::now();
        dense.update(1.0 / (k + 1) as f64, &d, &g_old, &g_new);
        dense.direction(&g_new, &mut direction);
        if k > 0 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Runs `warmup + epochs` Adam epochs from `theta` and returns the median and the
/// minimum of the timed ones in milliseconds.
pub fn time_adam(
    eval: &mut dyn Evaluator,
    theta: &[f64],
    warmup: usize,
    epochs: usize,
) -> Result<(f64, f64), crate::kernel::KernelError> {
    let mut theta = theta.to_vec();
    let mut adam = Adam::new(theta.len(), AdamConfig::default());
    let mut times = Vec::with_capacity(epochs);
    for k in 0..warmup + epochs {
        let t0 = Instant::now();
        let e = eval.evaluate(&theta)?;
        // A diverging benchmark still measures the work; the update is skipped only
        // when the gradient is unusable.
        let _ = adam.update(&mut theta, &e.grad);
        if k >= warmup {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    let min = times.first().copied().unwrap_or(f64::NAN);
    Ok((median, min))
}

impl Timing {
    /// The GPU adapter, or the CPU's model name.
    fn device(&self) -> String {
        self.engine
            .adapter
            .clone()
            .unwrap_or_else(machine::cpu_model)
    }

    /// The `--json` line: `{backend, adapter, precision, points, compile_s,
    /// adam_epoch_ms, adam_epoch_ms_min, machine}`, `machine` as in report.json.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "backend": self.engine.kind.name(),
            "adapter": self.device(),
            "precision": self.engine.precision.name(),
            "points": self.points,
            "compile_s": self.compile_s,
            "adam_epoch_ms": self.adam_epoch_ms,
            "adam_epoch_ms_min": self.adam_epoch_ms_min,
            "parameters": self.parameters,
            "hessian_update_ms": self.hessian_update_ms,
            "hessian_update_per_epoch": self.hessian_update_ms.map(|h| h / self.adam_epoch_ms),
            "machine": machine::json(&self.engine),
        })
    }

    /// The line printed without `--json`.
    pub fn summary(&self, epochs: usize) -> String {
        let e = &self.engine;
        let isa = e.isa.as_deref().map_or(String::new(), |i| format!(", {i}"));
        let hessian = match self.hessian_update_ms {
            Some(h) => format!(
                "; a dense {n}×{n} Hessian update {h:.3} ms ({:.0} % of an epoch)",
                100.0 * h / self.adam_epoch_ms,
                n = self.parameters
            ),
            None => format!(
                "; a dense {n}×{n} Hessian would not fit",
                n = self.parameters
            ),
        };
        format!(
            "{}: {} points, {:.3} ms per Adam epoch (median of {epochs}, min {:.3}){hessian}, \
             compile {:.3} s on {} ({} thread(s){isa}, pdenet {} {})",
            e.kind.name(),
            self.points,
            self.adam_epoch_ms,
            self.adam_epoch_ms_min,
            self.compile_s,
            self.device(),
            e.threads,
            machine::VERSION,
            machine::COMMIT,
        )
    }
}
