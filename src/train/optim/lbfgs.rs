//! L-BFGS (Nocedal & Wright, Algorithm 7.5) with the two-loop recursion and the
//! strong-Wolfe line search of [`super::line_search`]. The iteration follows
//! `torch.optim.LBFGS(line_search_fn="strong_wolfe")`: the same first step, the same
//! initial scaling γ = sᵀy / yᵀy, the same stopping tests, so that runs can be compared
//! with the papers' PyTorch code. Departures are documented where they are made.

use std::collections::VecDeque;
use std::ops::ControlFlow;

use thiserror::Error;

use super::line_search::{strong_wolfe, LineFunction, SearchStatus, Trial, WolfeConfig};
use super::{dot, evaluate, max_abs, Abort, Eval, IterInfo, Objective};

/// L-BFGS's settings. The defaults are torch's except `history` (50, the papers'
/// `maxcor`) and `max_iter` (50 000, the papers' `maxiter`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsConfig {
    /// Scales every initial trial step (torch's `lr`); 1 is right for L-BFGS.
    pub lr: f64,
    pub max_iter: usize,
    /// Objective evaluations allowed, the first included; `None` means 5/4 of
    /// `max_iter`, as in torch.
    pub max_evals: Option<usize>,
    /// How many (s, y) pairs the inverse-Hessian approximation remembers.
    pub history: usize,
    /// Stop when max |∂loss/∂θᵢ| ≤ this.
    pub tolerance_grad: f64,
    /// Stop when the loss changes by less than this, or θ moves by at most this in every
    /// component, or the directional derivative is above −this. Absolute, as in torch.
    pub tolerance_change: f64,
    /// Evaluations allowed per line search.
    pub max_ls: usize,
    /// The strong Wolfe constants.
    pub c1: f64,
    pub c2: f64,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        LbfgsConfig {
            lr: 1.0,
            max_iter: 50_000,
            max_evals: None,
            history: 50,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            max_ls: 25,
            c1: 1e-4,
            c2: 0.9,
        }
    }
}

/// Which "too small to go on" test stopped the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum Change {
    /// |loss − previous loss| < tolerance_change.
    #[error("the loss changed by less than tolerance_change")]
    Loss,
    /// max |t·dᵢ| ≤ tolerance_change: θ barely moved.
    #[error("θ moved by at most tolerance_change in every component")]
    Step,
    /// gᵀd > −tolerance_change before the line search: the predicted decrease per unit
    /// step is negligible (torch's first test in each iteration).
    #[error("the directional derivative is above −tolerance_change")]
    Directional,
}

/// Why [`minimize`] returned. The messages complete "L-BFGS stopped: …".
#[derive(Clone, Debug, PartialEq, Error)]
pub enum LbfgsStop {
    /// max |∂loss/∂θᵢ| ≤ tolerance_grad: converged.
    #[error("converged: every gradient component is at most tolerance_grad")]
    GradientTolerance,
    #[error("{0}")]
    SmallChange(Change),
    #[error("reached the iteration cap")]
    IterationCap,
    #[error("reached the evaluation cap")]
    EvaluationCap,
    /// The line search found no point lower than the current one, for the reason given;
    /// θ has not moved in the last iteration.
    #[error("the line search found no lower point ({0})")]
    LineSearchFailed(SearchStatus),
    /// The callback asked to stop.
    #[error("stopped by the caller")]
    Callback,
    #[error("{0}")]
    Aborted(Abort),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LbfgsOutcome {
    pub stop: LbfgsStop,
    /// Iterations that moved θ.
    pub iterations: usize,
    /// Objective evaluations, the failed ones included.
    pub evaluations: usize,
    /// The loss at the final θ; `None` when the first evaluation failed.
    pub loss: Option<f64>,
    /// max |∂loss/∂θᵢ| at the final θ; `None` when the first evaluation failed.
    pub grad_max: Option<f64>,
}

/// Minimizes `obj` from `theta`, leaving in `theta` the last accepted point: the lowest
/// loss found, with a finite loss and gradient. `on_iter` runs after every iteration and
/// can stop the run.
///
/// Allocates the history (2·history·n numbers, as it fills) and four vectors of n once;
/// each objective evaluation's `Eval` is moved, not copied.
pub fn minimize<O: Objective + ?Sized>(
    obj: &mut O,
    theta: &mut [f64],
    config: &LbfgsConfig,
    mut on_iter: impl FnMut(&IterInfo) -> ControlFlow<()>,
) -> LbfgsOutcome {
    let n = theta.len();
    let max_evals = config
        .max_evals
        .unwrap_or(config.max_iter.saturating_mul(5) / 4)
        .max(1);
    let mut outcome = LbfgsOutcome {
        stop: LbfgsStop::IterationCap,
        iterations: 0,
        evaluations: 1,
        loss: None,
        grad_max: None,
    };
    let mut current = match evaluate(obj, theta) {
        Ok(e) => e,
        Err(abort) => {
            outcome.stop = LbfgsStop::Aborted(abort);
            return outcome;
        }
    };
    outcome.loss = Some(current.loss);
    outcome.grad_max = Some(max_abs(&current.grad));
    if max_abs(&current.grad) <= config.tolerance_grad {
        outcome.stop = LbfgsStop::GradientTolerance;
        return outcome;
    }

    let mut history = History::new(config.history);
    let mut d = vec![0.0; n];
    let mut x0 = vec![0.0; n];
    let mut xt = vec![0.0; n];
    for iter in 1..=config.max_iter {
        let gtd = descent_direction(&mut history, &current.grad, &mut d);
        if gtd > -config.tolerance_change {
            outcome.stop = LbfgsStop::SmallChange(Change::Directional);
            return outcome;
        }
        let budget = config
            .max_ls
            .min(max_evals.saturating_sub(outcome.evaluations));
        if budget == 0 {
            outcome.stop = LbfgsStop::EvaluationCap;
            return outcome;
        }
        let d_max = max_abs(&d);
        let wolfe = WolfeConfig {
            c1: config.c1,
            c2: config.c2,
            max_evals: budget,
            // torch compares the bracket width times ‖d‖∞ with tolerance_change.
            min_width: config.tolerance_change / d_max,
        };
        let start = Trial {
            t: 0.0,
            f: current.loss,
            df: gtd,
        };
        x0.copy_from_slice(theta);
        let mut line = Line {
            obj: &mut *obj,
            x0: &x0,
            d: &d,
            xt: &mut xt,
            last: None,
            kept: None,
            evaluations: 0,
        };
        let t_init = initial_step(&history, &current.grad, config.lr);
        let searched = strong_wolfe(&mut line, start, t_init, &wolfe);
        outcome.evaluations += line.evaluations;
        let (t, status, next) = match (searched, line.kept.take()) {
            // θ is still x0 on every early return: trial points live in `xt` only.
            (Err(abort), _) => {
                outcome.stop = LbfgsStop::Aborted(abort);
                return outcome;
            }
            (Ok(result), Some((t, eval))) if t == result.best.t && t > 0.0 => {
                (t, result.status, eval)
            }
            (Ok(result), _) => {
                outcome.stop = LbfgsStop::LineSearchFailed(result.status);
                return outcome;
            }
        };

        // Accept: θ = x0 + t·d, computed exactly as the trial point was.
        for ((p, &x), &di) in theta.iter_mut().zip(&x0).zip(&d) {
            *p = x + t * di;
        }
        history.update(t, &d, &current.grad, &next.grad);
        let loss_change = (next.loss - current.loss).abs();
        current = next;
        let grad_max = max_abs(&current.grad);
        outcome.iterations = iter;
        outcome.loss = Some(current.loss);
        outcome.grad_max = Some(grad_max);

        let info = IterInfo {
            iter,
            loss: current.loss,
            grad_max,
            step: t,
            evaluations: outcome.evaluations,
            line_search: Some(status),
            theta,
        };
        if on_iter(&info).is_break() {
            outcome.stop = LbfgsStop::Callback;
            return outcome;
        }
        // torch's order of tests.
        let stop = if grad_max <= config.tolerance_grad {
            Some(LbfgsStop::GradientTolerance)
        } else if t * d_max <= config.tolerance_change {
            Some(LbfgsStop::SmallChange(Change::Step))
        } else if loss_change < config.tolerance_change {
            Some(LbfgsStop::SmallChange(Change::Loss))
        } else if outcome.evaluations >= max_evals {
            Some(LbfgsStop::EvaluationCap)
        } else {
            None
        };
        if let Some(stop) = stop {
            outcome.stop = stop;
            return outcome;
        }
    }
    outcome
}

/// Sets d to the quasi-Newton direction −H·g and returns gᵀd. Curvature-checked pairs
/// keep H positive definite, so d is a descent direction up to rounding; if rounding
/// wins, the history is forgotten and d = −g, which is what a fresh start would do.
fn descent_direction(history: &mut History, g: &[f64], d: &mut [f64]) -> f64 {
    history.direction(g, d);
    let gtd = dot(g, d);
    if gtd.is_nan() || gtd >= 0.0 {
        history.clear();
        history.direction(g, d);
        return dot(g, d);
    }
    gtd
}

/// The first trial step. With curvature pairs, H·g already has the right length and the
/// step is `lr`. Without them the step along −g has no natural length, and torch's
/// min(1, 1/‖g‖₁)·lr keeps the first trial from leaping when the gradient is large.
fn initial_step(history: &History, g: &[f64], lr: f64) -> f64 {
    if history.is_empty() {
        let l1: f64 = g.iter().map(|g| g.abs()).sum();
        (1.0 / l1).min(1.0) * lr
    } else {
        lr
    }
}

/// φ(t) = loss(x0 + t·d) for the line search. It keeps the `Eval` of the last trial and
/// of the best one, so that the accepted point's gradient is at hand without a second
/// evaluation or a copy per trial.
struct Line<'a, O: Objective + ?Sized> {
    obj: &'a mut O,
    x0: &'a [f64],
    d: &'a [f64],
    xt: &'a mut [f64],
    last: Option<(f64, Eval)>,
    kept: Option<(f64, Eval)>,
    evaluations: usize,
}

impl<O: Objective + ?Sized> LineFunction for Line<'_, O> {
    type Error = Abort;

    fn eval(&mut self, t: f64) -> Result<(f64, f64), Abort> {
        for ((x, &x0), &d) in self.xt.iter_mut().zip(self.x0).zip(self.d) {
            *x = x0 + t * d;
        }
        self.evaluations += 1;
        // A non-finite loss or gradient stops the run rather than shortening the step:
        // in a PINN it almost always means a term that is broken everywhere, and the
        // objective can name it.
        let e = evaluate(self.obj, self.xt)?;
        let slope = dot(&e.grad, self.d);
        let loss = e.loss;
        self.last = Some((t, e));
        Ok((loss, slope))
    }

    fn keep_last(&mut self) {
        if let Some(last) = self.last.take() {
            self.kept = Some(last);
        }
    }
}

/// The (s, y) pairs, oldest first, and γ, the scaling of the initial inverse Hessian.
struct History {
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
    fn new(capacity: usize) -> Self {
        History {
            capacity,
            pairs: VecDeque::with_capacity(capacity),
            spare: None,
            gamma: 1.0,
            alpha: vec![0.0; capacity],
        }
    }

    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn clear(&mut self) {
        self.spare = self.pairs.pop_back().or(self.spare.take());
        self.pairs.clear();
        self.gamma = 1.0;
    }

    /// d = −H·g by the two-loop recursion (N&W Algorithm 7.4), H₀ = γI.
    fn direction(&mut self, g: &[f64], d: &mut [f64]) {
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
    }

    /// Adds s = t·d, y = g_new − g_old, unless the curvature sᵀy is not clearly
    /// positive. A pair with sᵀy ≤ 0 would make H indefinite; one with a tiny sᵀy would
    /// make ρ huge and the next direction garbage. The test is relative,
    /// sᵀy ≤ 1e-10·‖s‖·‖y‖ (the cosine of the angle between s and y), because torch's
    /// absolute sᵀy ≤ 1e-10 discards every pair once a step changes the loss by less
    /// than about 1e-10, which late PINN training routinely does, and silently turns
    /// L-BFGS into gradient descent. A strong-Wolfe step always passes
    /// (sᵀy ≥ (1 − c2)·|gᵀs| > 0); only steps from a failed search can be skipped.
    fn update(&mut self, t: f64, d: &[f64], g_old: &[f64], g_new: &[f64]) {
        if self.capacity == 0 {
            return;
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
            return;
        }
        if self.pairs.len() == self.capacity {
            self.spare = self.pairs.pop_front();
        }
        pair.rho = 1.0 / ys;
        self.gamma = ys / yy;
        self.pairs.push_back(pair);
    }
}

#[cfg(test)]
mod tests {
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
                history.direction(&g, &mut d);
            }
            let ad: Vec<f64> = d.iter().zip(lambda).map(|(d, l)| d * l).collect();
            let t = -dot(&g, &d) / dot(&d, &ad);
            for (xi, di) in x.iter_mut().zip(&d) {
                *xi += t * di;
            }
            let g_new = grad(&x);
            if memory.is_some() {
                history.update(t, &d, &g, &g_new);
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
