//! `pdenet bench`: times what ../shared/bench/burgers_torch.py `--mode speed` times —
//! one Adam epoch (loss and gradient over every point set, then the update) — as
//! the median over the timed epochs after a warm-up.

use crate::train::optim::{Adam, AdamConfig};
use crate::train::trainer::Evaluator;
use std::time::Instant;

/// What one back end measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub backend: String,
    /// The adapter or CPU the back end ran on.
    pub adapter: String,
    pub points: usize,
    pub compile_s: f64,
    pub adam_epoch_ms: f64,
    pub adam_epoch_ms_min: f64,
}

pub const WARMUP: usize = 20;

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
    /// The `--json` line: `{backend, adapter, points, compile_s, adam_epoch_ms}`.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "backend": self.backend,
            "adapter": self.adapter,
            "points": self.points,
            "compile_s": self.compile_s,
            "adam_epoch_ms": self.adam_epoch_ms,
            "adam_epoch_ms_min": self.adam_epoch_ms_min,
        })
    }
}

/// The CPU's model name (Linux), for the report.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "cpu".into())
}
