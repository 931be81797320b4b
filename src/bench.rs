//! `pdenet bench`: times what ../shared/bench/burgers_torch.py `--mode speed` times —
//! one Adam epoch (loss and gradient over every point set, then the update) — as
//! the median over the timed epochs after a warm-up.

use crate::backend::{self, EngineChoice, EngineFacts, Precision};
use crate::io::machine;
use crate::problem::Problem;
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
}

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
    Ok(Timing {
        engine: engine.facts(),
        points: batches.iter().map(|b| b.len()).sum(),
        compile_s,
        adam_epoch_ms: median,
        adam_epoch_ms_min: min,
    })
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
            "machine": machine::json(&self.engine),
        })
    }

    /// The line printed without `--json`.
    pub fn summary(&self, epochs: usize) -> String {
        let e = &self.engine;
        let isa = e.isa.as_deref().map_or(String::new(), |i| format!(", {i}"));
        format!(
            "{}: {} points, {:.3} ms per Adam epoch (median of {epochs}, min {:.3}), \
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
