//! Causal weights in time (`adam(…, causal = ε)`; Wang, Sankaran & Perdikaris 2024):
//! the collocation points of early times must be fitted before later ones weigh in.
//! The time span is cut into equal chunks; chunk i's points weigh
//! wᵢ = exp(−ε Σ_{k<i} L_k), L_k the mean weighted squared residual of the equations on
//! chunk k. The weights are not differentiated: they are a column of the point set
//! that the kernel reads (`Problem::causal`), recomputed every `causal_every` steps
//! from the residuals at the current θ. jaxpi recomputes them every step; here the
//! residuals are evaluated by the f64 interpreter (about 12 µs a point on one thread
//! for Burgers), so every step would cost more than the step itself.

use super::resample::SetResiduals;
use crate::kernel::{KernelError, PointBatch};
use crate::problem::{Causal, CausalSet, Problem};

/// What recomputes the causal weights of the collocation set.
pub struct CausalWeights {
    set: CausalSet,
    /// The time span [lo, hi].
    span: (f64, f64),
    residuals: SetResiduals,
}

impl CausalWeights {
    pub fn new(problem: &Problem, set: CausalSet, threads: usize) -> Result<Self, KernelError> {
        let time = &problem.coords[set.time.0];
        Ok(CausalWeights {
            set,
            span: (time.lo, time.hi),
            residuals: SetResiduals::new(problem, set.set, threads)?,
        })
    }

    /// The point set the weights belong to.
    pub fn set(&self) -> usize {
        self.set.set
    }

    /// The weight of each point of `batch` at θ under `rule`, and the smallest chunk
    /// weight (the last chunk's: 1 once causality is respected everywhere).
    pub fn weights(
        &self,
        theta: &[f64],
        batch: &PointBatch,
        rule: Causal,
    ) -> Result<(Vec<f64>, f64), KernelError> {
        let r2 = self.residuals.squares(theta, &batch.coords, true)?;
        let chunk = chunks(&batch.coords[self.set.time.0], self.span, rule.chunks);
        let w = chunk_weights(&r2, &chunk, rule);
        let smallest = w.iter().copied().fold(1.0, f64::min);
        Ok((chunk.iter().map(|&c| w[c]).collect(), smallest))
    }
}

/// The chunk of each time in `span` cut into `n` equal intervals.
fn chunks(t: &[f64], (lo, hi): (f64, f64), n: usize) -> Vec<usize> {
    let width = (hi - lo) / n as f64;
    t.iter()
        .map(|&t| (((t - lo) / width).floor().max(0.0) as usize).min(n - 1))
        .collect()
}

/// wᵢ = exp(−tol Σ_{k<i} L_k) for each of the rule's chunks, L_k the mean of `r2` over
/// the points in chunk k (0 for an empty chunk).
fn chunk_weights(r2: &[f64], chunk: &[usize], rule: Causal) -> Vec<f64> {
    let mut sum = vec![0.0; rule.chunks];
    let mut count = vec![0usize; rule.chunks];
    for (&r, &c) in r2.iter().zip(chunk) {
        sum[c] += r;
        count[c] += 1;
    }
    let mut before = 0.0;
    (0..rule.chunks)
        .map(|i| {
            let w = (-rule.tol * before).exp();
            if count[i] > 0 {
                before += sum[i] / count[i] as f64;
            }
            w
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Residual 1 on the first half of [0, 2], 0 on the rest, four chunks, ε = 0.5:
    /// chunk losses 1, 1, 0, 0 give weights 1, e^−0.5, e^−1, e^−1, and each point gets
    /// its chunk's (the end point t = 2 is in the last chunk).
    #[test]
    fn each_chunk_weighs_by_the_losses_before_it() {
        let t = [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.0];
        let r2 = [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        let chunk = chunks(&t, (0.0, 2.0), 4);
        assert_eq!(chunk, [0, 0, 1, 1, 2, 3, 3, 3]);
        let rule = Causal {
            tol: 0.5,
            chunks: 4,
            every: 1,
        };
        let w = chunk_weights(&r2, &chunk, rule);
        let want = [1.0, (-0.5f64).exp(), (-1.0f64).exp(), (-1.0f64).exp()];
        for (got, want) in w.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{w:?}");
        }
    }
}
