//! The diagonal of each loss term's neural tangent kernel, for `balance = ntk`.
//!
//! The NTK of a term with residual r is K(x, x') = ∇θ r(x) · ∇θ r(x'); Wang, Yu &
//! Perdikaris (2022) weight the terms by the inverse of its trace. The fused kernel
//! gives the gradient of a sum of squares, not of r itself, so each probe evaluates the
//! term on one point: there the gradient of w r² is 2 w r ∇r, and
//! w ‖∇r‖² = ‖∇(w r²)‖² / (4 w r²). For a term with several entries this is the kernel
//! along the residual's direction, a lower estimate than the sum over entries.

use crate::backend::Engine;
use crate::kernel::{Kernel, KernelError, PointBatch};
use crate::problem::Reduce;
use crate::train::optim::dot;

/// Points probed per term, evenly spread over its set: the mean diagonal is a sample
/// mean over them (jaxpi samples a batch too), and 64 single-point evaluations per term
/// cost little next to the thousands of steps between two rebalancings.
const PROBES: usize = 64;

/// Each term's mean NTK diagonal w‖∇θ r(x)‖² over up to [`PROBES`] of its points; NaN
/// for a term that has none to probe (an integral constraint, an empty set, a zero
/// weight, a residual that vanishes at every probe).
pub fn diagonals(
    engine: &dyn Engine,
    kernel: &Kernel,
    batches: &[PointBatch],
    theta: &[f64],
) -> Result<Vec<f64>, KernelError> {
    (0..kernel.terms.len())
        .map(|t| diagonal(engine, kernel, batches, theta, t))
        .collect()
}

fn diagonal(
    engine: &dyn Engine,
    kernel: &Kernel,
    batches: &[PointBatch],
    theta: &[f64],
    t: usize,
) -> Result<f64, KernelError> {
    let term = &kernel.terms[t];
    let set = &batches[term.points];
    if matches!(term.reduce, Reduce::Integral { .. }) || set.is_empty() || term.weight <= 0.0 {
        return Ok(f64::NAN);
    }
    let one_hot = Kernel::one_term(kernel.terms.len(), t);
    // The other sets keep one point each: their terms are weighted by zero.
    let mut probe: Vec<PointBatch> = batches
        .iter()
        .map(|b| b.pick(if b.is_empty() { &[] } else { &[0] }))
        .collect();
    let (n, m) = (set.len(), set.len().min(PROBES));
    let (mut sum, mut count) = (0.0, 0);
    for i in 0..m {
        probe[term.points] = set.pick(&[i * n / m]);
        let e = engine.eval_scaled(theta, &probe, Some(&one_hot))?;
        let r2 = e.terms[t];
        if r2 > 0.0 && r2.is_finite() {
            sum += dot(&e.grad, &e.grad) / (4.0 * term.weight * r2);
            count += 1;
        }
    }
    Ok(if count > 0 {
        sum / f64::from(count)
    } else {
        f64::NAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{self, EngineChoice, EngineKind, Precision};
    use crate::kernel::tests::{jittered_theta, random_batches};
    use crate::net::testnets::burgers;

    /// On a small Burgers problem (a term weighted 3), each term's diagonal is the
    /// mean over its points of w Σₖ (∂|r|/∂θₖ)², the derivatives taken by central
    /// differences of the term's value on one point: no gradient of the kernel enters
    /// the oracle.
    #[test]
    fn diagonals_match_finite_differences_of_the_residual() {
        let mut p = burgers("mlp", 4, 2);
        p.terms[1].weight = 3.0;
        let k = crate::kernel::compile(&p).expect("compiles");
        let b = random_batches(&p, |s| k.programs[s].program.n_data as usize, 6, 3);
        let th = jittered_theta(&p, 5, 0.3);
        let e = backend::compile(
            EngineChoice::Engine(EngineKind::Interp),
            &k,
            Precision::F64,
            1,
        )
        .expect("compiles");
        let got = diagonals(e.as_ref(), &k, &b, &th).expect("probes");
        for (t, term) in k.terms.iter().enumerate() {
            let set = &b[term.points];
            let abs_r = |theta: &[f64], i: usize| {
                let mut probe: Vec<PointBatch> = b.iter().map(|x| x.pick(&[0])).collect();
                probe[term.points] = set.pick(&[i]);
                e.eval(theta, &probe).expect("runs").terms[t].sqrt()
            };
            let h = 1e-6;
            let mut want = 0.0;
            for i in 0..set.len() {
                for j in 0..th.len() {
                    let (mut up, mut down) = (th.clone(), th.clone());
                    up[j] += h;
                    down[j] -= h;
                    want += term.weight * ((abs_r(&up, i) - abs_r(&down, i)) / (2.0 * h)).powi(2);
                }
            }
            want /= set.len() as f64;
            assert!(
                (got[t] - want).abs() <= 1e-6 * want,
                "term {t}: {} vs {want}",
                got[t]
            );
        }
    }
}
