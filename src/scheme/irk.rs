//! Gauss–Legendre implicit Runge–Kutta tableaus, for `scheme irk(stages = q)`.
//!
//! The q-stage Gauss–Legendre method (order 2q) is the collocation method at the
//! Gauss–Legendre nodes c₁ < … < c_q of [0, 1]: with ℓ_j the Lagrange basis polynomial
//! on the nodes,
//!
//! - b_j = ∫₀¹ ℓ_j(s) ds, which are the Gauss weights on [0, 1];
//! - a_ij = ∫₀^{c_i} ℓ_j(s) ds.
//!
//! The integrals are computed by quadrature, not by solving a Vandermonde system (whose
//! condition number makes q = 100 hopeless): ℓ_j has degree q − 1, so the q-point Gauss
//! rule mapped to [0, c_i] integrates it exactly, and ℓ_j is evaluated in barycentric
//! form, which is stable on Gauss nodes.
//!
//! Raissi's PINNs repository ships the same tableaus as text files (one number per line:
//! the q² entries of A row by row, then b, then c); the tests read them and compare.

use std::f64::consts::PI;

/// A q-stage Runge–Kutta Butcher tableau.
#[derive(Clone, Debug, PartialEq)]
pub struct Tableau {
    /// The number of stages.
    pub q: usize,
    /// The q×q stage matrix, row-major: `a[i * q + j]` is a_ij.
    pub a: Vec<f64>,
    /// The q weights.
    pub b: Vec<f64>,
    /// The q nodes, increasing.
    pub c: Vec<f64>,
}

/// The Gauss–Legendre nodes and weights of [−1, 1], nodes increasing.
///
/// Newton's method on P_q, evaluated by the three-term recurrence, from the
/// asymptotic guesses cos(π(i − ¼)/(q + ½)). Only half the nodes are computed; the other
/// half are their mirror images, so the rule is exactly symmetric.
pub fn gauss_legendre_rule(q: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; q];
    let mut w = vec![0.0; q];
    for i in 0..q.div_ceil(2) {
        // Node i + 1 counting down from +1; it lands at position q − 1 − i.
        let mut t = (PI * (i as f64 + 0.75) / (q as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (p, d) = legendre_and_derivative(q, t);
            dp = d;
            let step = p / d;
            t -= step;
            if step.abs() <= 1e-17 {
                break;
            }
        }
        // One more derivative at the converged node, for the weight.
        let (_, d) = legendre_and_derivative(q, t);
        if d.is_finite() {
            dp = d;
        }
        let weight = 2.0 / ((1.0 - t * t) * dp * dp);
        x[q - 1 - i] = t;
        x[i] = -t;
        w[q - 1 - i] = weight;
        w[i] = weight;
    }
    if q % 2 == 1 {
        // The middle node is 0 exactly.
        x[q / 2] = 0.0;
    }
    (x, w)
}

/// P_q(t) and P_q'(t) by the recurrence (k + 1) P_{k+1} = (2k + 1) t P_k − k P_{k−1}.
fn legendre_and_derivative(q: usize, t: f64) -> (f64, f64) {
    let (mut p_prev, mut p) = (1.0, t);
    if q == 0 {
        return (1.0, 0.0);
    }
    for k in 1..q {
        let k = k as f64;
        let next = ((2.0 * k + 1.0) * t * p - k * p_prev) / (k + 1.0);
        p_prev = p;
        p = next;
    }
    // P_q'(t) = q (t P_q − P_{q−1}) / (t² − 1); t is never ±1 at a Gauss node.
    let d = q as f64 * (t * p - p_prev) / (t * t - 1.0);
    (p, d)
}

/// The q-stage Gauss–Legendre tableau.
///
/// Costs O(q³) operations (q = 100: about a millisecond).
///
/// # Panics
/// When q = 0, which is not a method; the checker rejects `stages = 0` before this.
pub fn gauss_legendre(q: usize) -> Tableau {
    assert!(q >= 1, "a Runge–Kutta method needs at least one stage");
    let (x, w) = gauss_legendre_rule(q);
    // Map to [0, 1]. The lower half is computed and the upper half mirrored, so that
    // c_i + c_{q+1−i} = 1 and b is symmetric exactly.
    let mut c = vec![0.0; q];
    let mut b = vec![0.0; q];
    for i in 0..q.div_ceil(2) {
        let lower = (1.0 + x[i]) / 2.0;
        c[i] = lower;
        c[q - 1 - i] = 1.0 - lower;
        b[i] = w[i] / 2.0;
        b[q - 1 - i] = w[i] / 2.0;
    }
    if q % 2 == 1 {
        c[q / 2] = 0.5;
    }
    // Barycentric weights for Gauss–Legendre nodes: λ_j ∝ (−1)^j √((1 − x_j²) w_j)
    // (Berrut & Trefethen 2004; Wang & Xiang 2012). The formula below is invariant under
    // a common factor, so the constant is irrelevant. 1 − x_j² = 4 c_j (1 − c_j).
    let lambda: Vec<f64> = (0..q)
        .map(|j| {
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            sign * (4.0 * c[j] * (1.0 - c[j]) * w[j]).sqrt()
        })
        .collect();

    let mut a = vec![0.0; q * q];
    let mut basis = vec![0.0; q];
    for i in 0..q {
        // a_ij = ∫₀^{c_i} ℓ_j = c_i Σ_k b_k ℓ_j(c_i c_k): the q-point rule on [0, c_i].
        for k in 0..q {
            lagrange_basis(&c, &lambda, c[i] * c[k], &mut basis);
            for (j, l) in basis.iter().enumerate() {
                a[i * q + j] += b[k] * l;
            }
        }
        for j in 0..q {
            a[i * q + j] *= c[i];
        }
    }
    Tableau { q, a, b, c }
}

/// Every Lagrange basis polynomial ℓ_j on `nodes` at the point s, by the second
/// (true) barycentric formula ℓ_j(s) = (λ_j / (s − c_j)) / Σ_m λ_m / (s − c_m).
fn lagrange_basis(nodes: &[f64], lambda: &[f64], s: f64, out: &mut [f64]) {
    if let Some(hit) = nodes.iter().position(|&c| c == s) {
        out.iter_mut().for_each(|l| *l = 0.0);
        out[hit] = 1.0;
        return;
    }
    let mut sum = 0.0;
    for ((l, &c), &lam) in out.iter_mut().zip(nodes).zip(lambda) {
        *l = lam / (s - c);
        sum += *l;
    }
    out.iter_mut().for_each(|l| *l /= sum);
}

#[cfg(test)]
#[path = "irk_tests.rs"]
mod tests;
