//! L-BFGS (Nocedal & Wright, Algorithm 7.5) with the two-loop recursion and the
//! strong-Wolfe line search of [`super::line_search`]. The iteration follows
//! `torch.optim.LBFGS(line_search_fn="strong_wolfe")`: the same first step, the same
//! initial scaling γ = sᵀy / yᵀy, the same stopping tests, so that runs can be compared
//! with the papers' PyTorch code. Departures are documented where they are made.

use std::collections::VecDeque;

use super::line_search::{strong_wolfe, LineFunction, SearchStatus, Trial, WolfeConfig};
use super::{dot, evaluate, max_abs, Abort, Eval, Objective};
use super::{End, Kind, Optimizer, OptimizerState, StateError, Step};

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

/// L-BFGS as an [`Optimizer`]: the settings, the curvature pairs, the evaluation at the
/// current θ and the tests still to run on the last accepted step.
pub struct Lbfgs {
    config: LbfgsConfig,
    max_evals: usize,
    history: History,
    /// The loss and gradient at θ; `None` before the first step and after the objective
    /// changed, when the next step evaluates θ first.
    current: Option<Eval>,
    /// torch tests a step after accepting it; here those tests run at the start of the
    /// next step, so that the accepted step is reported first, as torch's loop does.
    accepted: Option<Accepted>,
    /// Objective evaluations in this phase, for the evaluation cap.
    evaluations: usize,
    d: Vec<f64>,
    x0: Vec<f64>,
    xt: Vec<f64>,
}

/// What the tests after an accepted step need.
#[derive(Clone, Copy, Debug)]
struct Accepted {
    /// max |t·dᵢ|: how far θ moved.
    moved: f64,
    /// |loss − previous loss|.
    loss_change: f64,
}

pub const KIND: Kind = Kind {
    name: "lbfgs",
    title: "L-BFGS",
    unit: "iteration",
    timing_key: "lbfgs_iter_ms",
};

impl Lbfgs {
    pub fn new(config: LbfgsConfig) -> Self {
        Lbfgs {
            config,
            max_evals: config
                .max_evals
                .unwrap_or(config.max_iter.saturating_mul(5) / 4)
                .max(1),
            history: History::new(config.history),
            current: None,
            accepted: None,
            evaluations: 0,
            d: Vec::new(),
            x0: Vec::new(),
            xt: Vec::new(),
        }
    }

    /// torch's tests after an accepted step, in torch's order.
    fn after_accepted(&self, a: Accepted, grad_max: f64) -> Option<End> {
        let c = &self.config;
        let message = if grad_max <= c.tolerance_grad {
            converged(grad_max, c.tolerance_grad)
        } else if a.moved <= c.tolerance_change {
            format!(
                "θ moved by {:e}, at most tolerance_change {:e}",
                a.moved, c.tolerance_change
            )
        } else if a.loss_change < c.tolerance_change {
            format!(
                "the loss changed by {:e}, less than tolerance_change {:e}",
                a.loss_change, c.tolerance_change
            )
        } else if self.evaluations >= self.max_evals {
            evaluation_cap(self.max_evals)
        } else {
            return None;
        };
        Some(End::Finished(message))
    }

    /// The loss and gradient at θ: remembered, or evaluated now (a first step, or the
    /// objective changed), which may already meet the gradient tolerance.
    fn at_theta(&mut self, obj: &mut dyn Objective, theta: &[f64]) -> Result<Eval, End> {
        if let Some(current) = self.current.take() {
            return Ok(current);
        }
        self.evaluations += 1;
        let e = evaluate(obj, theta).map_err(End::Aborted)?;
        let grad_max = max_abs(&e.grad);
        if grad_max <= self.config.tolerance_grad {
            self.current = Some(e);
            return Err(End::Finished(converged(
                grad_max,
                self.config.tolerance_grad,
            )));
        }
        Ok(e)
    }
}

fn converged(grad_max: f64, tol: f64) -> String {
    format!("converged: max |∂loss/∂θᵢ| is {grad_max:e}, at most tolerance_grad {tol:e}")
}

fn evaluation_cap(max_evals: usize) -> String {
    format!("reached the evaluation cap ({max_evals})")
}

impl Optimizer for Lbfgs {
    fn kind(&self) -> &'static Kind {
        &KIND
    }

    fn start(&mut self, theta: &[f64]) {
        *self = Lbfgs::new(self.config);
        let n = theta.len();
        self.d = vec![0.0; n];
        self.x0 = vec![0.0; n];
        self.xt = vec![0.0; n];
    }

    /// One iteration (N&W Algorithm 7.5): direction, strong-Wolfe line search, accept,
    /// update the pairs. θ moves only when the search found a lower point.
    fn step(&mut self, obj: &mut dyn Objective, theta: &mut [f64]) -> Result<Step, End> {
        if let Some(a) = self.accepted.take() {
            let grad_max = self.current.as_ref().map_or(f64::NAN, |e| max_abs(&e.grad));
            if let Some(end) = self.after_accepted(a, grad_max) {
                return Err(end);
            }
        }
        let current = self.at_theta(obj, theta)?;
        let (t, status, next) = match self.search(obj, theta, &current) {
            Ok(found) => found,
            Err(end) => {
                self.current = Some(current);
                return Err(end);
            }
        };
        // Accept: θ = x0 + t·d, computed exactly as the trial point was.
        for ((p, &x), &di) in theta.iter_mut().zip(&self.x0).zip(&self.d) {
            *p = x + t * di;
        }
        self.history.update(t, &self.d, &current.grad, &next.grad);
        self.accepted = Some(Accepted {
            moved: t * max_abs(&self.d),
            loss_change: (next.loss - current.loss).abs(),
        });
        let step = Step {
            loss: next.loss,
            grad_max: max_abs(&next.grad),
            step: t,
            line_search: Some(status),
        };
        self.current = Some(next);
        Ok(step)
    }

    /// Drops the curvature pairs and the evaluation at θ: both describe the old
    /// objective, and pairs mixing two objectives' gradients (y = g_new − g_old across
    /// the change) can have any sign, which would make the next direction garbage. The
    /// next step evaluates θ again and starts along −g, as a fresh L-BFGS would.
    fn objective_changed(&mut self) {
        self.history.clear();
        self.current = None;
        self.accepted = None;
    }

    fn save(&self) -> OptimizerState {
        let mut state = OptimizerState::new(&KIND);
        state.put("evaluations", vec![self.evaluations as f64]);
        if let Some(e) = &self.current {
            state.put("loss", vec![e.loss]);
            state.put("grad", e.grad.clone());
        }
        if let Some(a) = self.accepted {
            state.put("accepted", vec![a.moved, a.loss_change]);
        }
        self.history.save(&mut state);
        state
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<(), StateError> {
        state.expect(&KIND)?;
        let n = self.d.len();
        let evaluations = state.scalar("evaluations")?;
        let current = match state.get("loss") {
            Some(_) => Some(Eval {
                loss: state.scalar("loss")?,
                grad: state.vector("grad", n)?.to_vec(),
            }),
            None => None,
        };
        let accepted = match state.get("accepted") {
            Some(_) => {
                let a = state.vector("accepted", 2)?;
                Some(Accepted {
                    moved: a[0],
                    loss_change: a[1],
                })
            }
            None => None,
        };
        self.history.restore(state, n)?;
        self.evaluations = evaluations as usize;
        self.current = current;
        self.accepted = accepted;
        Ok(())
    }
}

impl Lbfgs {
    /// The direction and the line search from θ; on success the accepted step length,
    /// how the search ended and the evaluation there. θ itself does not move: trial
    /// points live in `xt`.
    fn search(
        &mut self,
        obj: &mut dyn Objective,
        theta: &[f64],
        current: &Eval,
    ) -> Result<(f64, SearchStatus, Eval), End> {
        let config = &self.config;
        let gtd = descent_direction(&mut self.history, &current.grad, &mut self.d);
        if gtd > -config.tolerance_change {
            return Err(End::Finished(format!(
                "the directional derivative {gtd:e} is above −tolerance_change {:e}",
                config.tolerance_change
            )));
        }
        let budget = config
            .max_ls
            .min(self.max_evals.saturating_sub(self.evaluations));
        if budget == 0 {
            return Err(End::Finished(evaluation_cap(self.max_evals)));
        }
        let wolfe = WolfeConfig {
            c1: config.c1,
            c2: config.c2,
            max_evals: budget,
            // torch compares the bracket width times ‖d‖∞ with tolerance_change.
            min_width: config.tolerance_change / max_abs(&self.d),
        };
        let start = Trial {
            t: 0.0,
            f: current.loss,
            df: gtd,
        };
        let t_init = initial_step(&self.history, &current.grad, config.lr);
        self.x0.copy_from_slice(theta);
        let mut line = Line {
            obj,
            x0: &self.x0,
            d: &self.d,
            xt: &mut self.xt,
            last: None,
            kept: None,
            evaluations: 0,
        };
        let searched = strong_wolfe(&mut line, start, t_init, &wolfe);
        self.evaluations += line.evaluations;
        match (searched, line.kept.take()) {
            (Err(abort), _) => Err(End::Aborted(abort)),
            (Ok(result), Some((t, eval))) if t == result.best.t && t > 0.0 => {
                Ok((t, result.status, eval))
            }
            (Ok(result), _) => Err(End::Finished(format!(
                "the line search found no lower point ({})",
                result.status
            ))),
        }
    }
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
