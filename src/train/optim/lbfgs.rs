//! L-BFGS (Nocedal & Wright, Algorithm 7.5): the line-search quasi-Newton iteration of
//! [`super::quasi_newton`] with H kept as the last m curvature pairs and applied by the
//! two-loop recursion, as `torch.optim.LBFGS(line_search_fn="strong_wolfe")` does: the
//! same initial scaling γ = sᵀy / yᵀy, so that runs can be compared with the papers'
//! PyTorch code.

use std::collections::VecDeque;

use super::quasi_newton::{Event, Memory, QuasiNewton, QuasiNewtonConfig, Updated};
use super::{dot, Kind, OptimizerState, StateError, Stop};

pub const KIND: Kind = Kind {
    name: "lbfgs",
    title: "L-BFGS",
    unit: "iteration",
    timing_key: "lbfgs_iter_ms",
};

/// L-BFGS as an optimizer.
pub type Lbfgs = QuasiNewton<History>;

/// L-BFGS remembering `history` curvature pairs (the papers' `maxcor` is 50).
pub fn lbfgs(config: QuasiNewtonConfig, history: usize) -> Lbfgs {
    QuasiNewton::with_memory(config, History::new(history))
}

/// The (s, y) pairs, oldest first, and γ, the scaling of the initial inverse Hessian.
pub struct History {
    capacity: usize,
    pairs: VecDeque<Pair>,
    /// Buffers for the next candidate pair: the oldest pair once the history is full, or
    /// the last candidate refused, so that a full history allocates nothing.
    spare: Option<Pair>,
    gamma: f64,
    /// The two-loop recursion's α, one per pair, kept to avoid allocating per iteration.
    alpha: Vec<f64>,
}

struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    /// 1 / sᵀy.
    rho: f64,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        History {
            capacity,
            pairs: VecDeque::with_capacity(capacity),
            spare: None,
            gamma: 1.0,
            alpha: vec![0.0; capacity],
        }
    }
}

impl Memory for History {
    fn kind(&self) -> &'static Kind {
        &KIND
    }

    fn start(&mut self, _n: usize) {
        *self = History::new(self.capacity);
    }

    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn clear(&mut self) {
        self.spare = self.pairs.pop_back().or(self.spare.take());
        self.pairs.clear();
        self.gamma = 1.0;
    }

    /// Writes the pairs (oldest first, s and y each concatenated) and γ.
    fn save(&self, state: &mut OptimizerState) {
        state.put("gamma", vec![self.gamma]);
        state.put("rho", self.pairs.iter().map(|p| p.rho).collect());
        state.put("s", self.pairs.iter().flat_map(|p| p.s.clone()).collect());
        state.put("y", self.pairs.iter().flat_map(|p| p.y.clone()).collect());
    }

    /// Reads back what [`History::save`] wrote, for θ of `n` numbers.
    fn restore(&mut self, state: &OptimizerState, n: usize) -> Result<(), StateError> {
        let gamma = state.scalar("gamma")?;
        let rho = state.get("rho").unwrap_or_default();
        if rho.len() > self.capacity {
            return Err(StateError::Length {
                name: "rho".into(),
                expected: self.capacity,
                found: rho.len(),
            });
        }
        let s = state.vector("s", rho.len() * n)?;
        let y = state.vector("y", rho.len() * n)?;
        self.clear();
        for (k, &rho) in rho.iter().enumerate() {
            self.pairs.push_back(Pair {
                s: s[k * n..(k + 1) * n].to_vec(),
                y: y[k * n..(k + 1) * n].to_vec(),
                rho,
            });
        }
        self.gamma = gamma;
        Ok(())
    }

    /// d = −H·g by the two-loop recursion (N&W Algorithm 7.4), H₀ = γI.
    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> Result<(), Stop> {
        for (di, &gi) in d.iter_mut().zip(g) {
            *di = -gi;
        }
        for (pair, alpha) in self.pairs.iter().zip(&mut self.alpha).rev() {
            *alpha = pair.rho * dot(&pair.s, d);
            for (di, &yi) in d.iter_mut().zip(&pair.y) {
                *di -= *alpha * yi;
            }
        }
        for di in d.iter_mut() {
            *di *= self.gamma;
        }
        for (pair, &alpha) in self.pairs.iter().zip(&self.alpha) {
            let beta = pair.rho * dot(&pair.y, d);
            for (di, &si) in d.iter_mut().zip(&pair.s) {
                *di += (alpha - beta) * si;
            }
        }
        Ok(())
    }

    /// Adds s = t·d, y = g_new − g_old, unless the curvature sᵀy is not clearly
    /// positive. A pair with sᵀy ≤ 0 would make H indefinite; one with a tiny sᵀy would
    /// make ρ huge and the next direction garbage. The test is relative,
    /// sᵀy ≤ 1e-10·‖s‖·‖y‖ (the cosine of the angle between s and y), because torch's
    /// absolute sᵀy ≤ 1e-10 discards every pair once a step changes the loss by less
    /// than about 1e-10, which late PINN training routinely does, and silently turns
    /// L-BFGS into gradient descent. A strong-Wolfe step always passes
    /// (sᵀy ≥ (1 − c2)·|gᵀs| > 0); only steps from a failed search can be skipped.
    fn update(&mut self, t: f64, d: &[f64], g_old: &[f64], g_new: &[f64]) -> Updated {
        if self.capacity == 0 {
            return Ok(None);
        }
        let mut pair = self.spare.take().unwrap_or_else(|| Pair {
            s: vec![0.0; d.len()],
            y: vec![0.0; d.len()],
            rho: 0.0,
        });
        for (si, &di) in pair.s.iter_mut().zip(d) {
            *si = t * di;
        }
        for ((yi, &new), &old) in pair.y.iter_mut().zip(g_new).zip(g_old) {
            *yi = new - old;
        }
        let ys = dot(&pair.y, &pair.s);
        let yy = dot(&pair.y, &pair.y);
        let ss = dot(&pair.s, &pair.s);
        if !(ys > 1e-10 * (ss * yy).sqrt() && ys.is_finite()) {
            self.spare = Some(pair);
            return Ok(Some(Event::CurvatureSkipped));
        }
        if self.pairs.len() == self.capacity {
            self.spare = self.pairs.pop_front();
        }
        pair.rho = 1.0 / ys;
        self.gamma = ys / yy;
        self.pairs.push_back(pair);
        Ok(None)
    }

    /// Drops the curvature pairs: pairs mixing two objectives' gradients
    /// (y = g_new − g_old across the change) can have any sign, which would make the
    /// next direction garbage. The next step starts along −g, as a fresh L-BFGS would.
    fn objective_changed(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::max_abs;
    use super::*;

    /// Steps of exact-line-search L-BFGS (or, with `memory = None`, of conjugate
    /// gradients) to bring max |gᵢ| below 1e-9 on ½ Σ λᵢ (xᵢ − sin i)².
    fn exact_steps(lambda: &[f64], memory: Option<(usize, bool)>) -> usize {
        let n = lambda.len();
        let grad = |x: &[f64]| -> Vec<f64> {
            let target = (0..n).map(|i| (i as f64).sin());
            x.iter()
                .zip(lambda)
                .zip(target)
                .map(|((x, l), c)| l * (x - c))
                .collect()
        };
        let (capacity, fixed_gamma) = memory.unwrap_or((1, false));
        let mut history = History::new(capacity);
        let mut x = vec![0.0; n];
        let mut g = grad(&x);
        let mut d: Vec<f64> = g.iter().map(|g| -g).collect();
        let mut steps = 0;
        while max_abs(&g) > 1e-9 && steps < 1000 {
            if memory.is_some() {
                history.direction(&g, &mut d).expect("on the host");
            }
            let ad: Vec<f64> = d.iter().zip(lambda).map(|(d, l)| d * l).collect();
            let t = -dot(&g, &d) / dot(&d, &ad);
            for (xi, di) in x.iter_mut().zip(&d) {
                *xi += t * di;
            }
            let g_new = grad(&x);
            if memory.is_some() {
                history.update(t, &d, &g, &g_new).expect("on the host");
                if fixed_gamma {
                    history.gamma = 1.0;
                }
            } else {
                // Fletcher–Reeves.
                let beta = dot(&g_new, &g_new) / dot(&g, &g);
                for (di, gi) in d.iter_mut().zip(&g_new) {
                    *di = -gi + beta * *di;
                }
            }
            g = g_new;
            steps += 1;
        }
        steps
    }

    /// With exact line searches on a quadratic and a fixed H₀ = I, L-BFGS's directions
    /// are those of conjugate gradients whatever the memory, and with a memory of at
    /// least n it is BFGS, which ends in at most n steps (N&W §6.1, §7.2). This tests the
    /// two-loop recursion and the pair bookkeeping apart from the line search.
    #[test]
    fn two_loop_with_exact_steps_behaves_like_conjugate_gradients() {
        let n = 30;
        let lambda: Vec<f64> = (0..n)
            .map(|i| 1e3f64.powf(i as f64 / (n - 1) as f64))
            .collect();
        let cg = exact_steps(&lambda, None);
        let full = exact_steps(&lambda, Some((n, false)));
        assert!(full <= n, "full memory: {full} steps");
        for memory in [1, 5] {
            // In floating point CG loses conjugacy and needs more than n steps; the same
            // rounding hits L-BFGS, so compare with CG rather than with n.
            let steps = exact_steps(&lambda, Some((memory, true)));
            assert!(
                steps.abs_diff(cg) <= 5,
                "memory {memory}: {steps} steps, CG {cg}"
            );
            let steps = exact_steps(&lambda, Some((memory, false)));
            assert!(
                steps <= 2 * cg,
                "memory {memory}, scaled: {steps} steps, CG {cg}"
            );
        }
    }
}
