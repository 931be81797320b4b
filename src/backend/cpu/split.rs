//! An evaluation's time by class of work, for `pdenet bench`: the kernel compiled
//! again once per class with only that class's ops (`clif::Part`), each timed over
//! the same points on the same threads. A part kernel's loop over tiles, prologue
//! and host work (input columns, threads, the partial sums) are timed alone too
//! (`Part::None`) and taken out of each class. The parts run with the caches to
//! themselves, so their sum is not exactly the whole: bench reports the difference.

use std::time::Instant;

use super::clif::Part;
use super::{ClifKernel, Groups, Products};
use crate::backend::{BackendError, Engine, Pass, Precision, Share};
use crate::kernel::{Kernel, PointBatch};

/// Seconds per evaluation (loss and gradient) of each class of work.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    /// The products with θ, whichever code computes them.
    pub products: f64,
    /// The fused element-wise groups, copies and sums over entries.
    pub elementwise: f64,
    /// Sums over points into the loss terms and θ's gradient.
    pub reductions: f64,
    /// The loops over tiles with nothing in them, the prologue and the host's side.
    pub loops_and_host: f64,
}

/// Evaluations timed per part (the median is kept).
const REPS: usize = 9;

/// The split of one evaluation of `kernel` at θ over `batches` on `threads`
/// threads with the products computed by `products` and the groups by `groups`.
pub fn split_seconds(
    kernel: &Kernel,
    precision: Precision,
    threads: usize,
    products: Products,
    groups: Groups,
    theta: &[f64],
    batches: &[PointBatch],
) -> Result<Split, BackendError> {
    let seeds = vec![1.0; kernel.terms.len()];
    let pass = Pass {
        theta,
        seeds: &seeds,
        batches,
        forward_only: false,
        share: Share::WHOLE,
    };
    let time = |part: Part| -> Result<f64, BackendError> {
        let k = ClifKernel::compile_part(kernel, precision, threads, (products, groups), part)?;
        let mut t = Vec::with_capacity(REPS);
        for rep in 0..=REPS {
            let t0 = Instant::now();
            k.partials(&pass)
                .map_err(|e| BackendError::Internal(e.to_string()))?;
            if rep > 0 {
                t.push(t0.elapsed().as_secs_f64());
            }
        }
        t.sort_by(f64::total_cmp);
        Ok(t[REPS / 2])
    };
    let base = time(Part::None)?;
    Ok(Split {
        products: time(Part::Products)? - base,
        elementwise: time(Part::Elementwise)? - base,
        reductions: time(Part::Reductions)? - base,
        loops_and_host: base,
    })
}
