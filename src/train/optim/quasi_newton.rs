//! The line-search quasi-Newton iteration shared by L-BFGS and the dense methods (BFGS
//! and its self-scaled variants): direction −H·g, strong-Wolfe line search, accept,
//! update H. What differs between them is only how H is kept and updated, a
//! [`Memory`]: L-BFGS's curvature pairs (`lbfgs`) or a dense matrix (`dense`).
//!
//! The iteration follows `torch.optim.LBFGS(line_search_fn="strong_wolfe")`: the same
//! first step, the same stopping tests, so that L-BFGS runs can be compared with the
//! papers' PyTorch code. Departures are documented where they are made.

use super::line_search::{strong_wolfe, LineFunction, SearchStatus, Trial, WolfeConfig};
use super::{dot, evaluate, max_abs, Abort, Eval, Objective, Stop};
use super::{End, Kind, Optimizer, OptimizerState, StateError, Step};

/// The settings of the iteration. The defaults are torch's except `max_iter` (50 000,
/// the papers' `maxiter`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuasiNewtonConfig {
    /// Scales every initial trial step (torch's `lr`); 1 is right for quasi-Newton.
    pub lr: f64,
    pub max_iter: usize,
    /// Objective evaluations allowed, the first included; `None` means 5/4 of
    /// `max_iter`, as in torch.
    pub max_evals: Option<usize>,
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
    /// When a line search finds no lower point along −H·g, forget H and search once
    /// more along the scaled −g before giving up. torch's L-BFGS gives up at once (off
    /// for `lbfgs`); a dense H that has drifted after thousands of updates is usually
    /// what failed, and the papers' runs restart from a scaled identity (on for the dense
    /// methods).
    pub retry_after_failed_search: bool,
}

impl Default for QuasiNewtonConfig {
    fn default() -> Self {
        QuasiNewtonConfig {
            lr: 1.0,
            max_iter: 50_000,
            max_evals: None,
            tolerance_grad: 1e-7,
            tolerance_change: 1e-9,
            max_ls: 25,
            c1: 1e-4,
            c2: 0.9,
            retry_after_failed_search: false,
        }
    }
}

/// Why H was forgotten or an update refused; history.csv's `event` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// sᵀy was not clearly positive (or not finite): the pair was not used.
    CurvatureSkipped,
    /// −H·g was not a descent direction (H lost positive definiteness to rounding):
    /// H was reset to a scaled identity.
    ResetNotDescent,
    /// yᵀHy was not positive or an updated entry was not finite: H was reset.
    ResetNotPositive,
    /// The line search along −H·g found no lower point: H was reset and the search
    /// repeated along −g.
    ResetFailedSearch,
    /// The `reset = k` setting: H was reset after k iterations.
    ResetPeriodic,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::CurvatureSkipped,
        Event::ResetNotDescent,
        Event::ResetNotPositive,
        Event::ResetFailedSearch,
        Event::ResetPeriodic,
    ];

    /// The word history.csv writes.
    pub fn name(self) -> &'static str {
        match self {
            Event::CurvatureSkipped => "skip-curvature",
            Event::ResetNotDescent => "reset-not-descent",
            Event::ResetNotPositive => "reset-not-positive",
            Event::ResetFailedSearch => "reset-failed-search",
            Event::ResetPeriodic => "reset-periodic",
        }
    }
}

/// What [`Memory::update`] says: the pair's event, if any, or why the device
/// holding H failed.
pub type Updated = Result<Option<Event>, Stop>;

/// How a quasi-Newton method keeps its inverse-Hessian approximation H.
pub trait Memory {
    fn kind(&self) -> &'static Kind;
    /// Sizes the memory for θ of `n` numbers and forgets everything.
    fn start(&mut self, n: usize);
    /// No curvature is known: H is (a multiple of) the identity.
    fn is_empty(&self) -> bool;
    /// Forgets the curvature: H becomes the identity again.
    fn clear(&mut self);
    /// d = −H·g. Fails only where H is on a device and the device fails.
    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> Result<(), Stop>;
    /// Takes in the accepted step s = t·d, which moved the gradient from `g_old` to
    /// `g_new`; says so when the pair was refused or H had to be reset.
    fn update(&mut self, t: f64, d: &[f64], g_old: &[f64], g_new: &[f64]) -> Updated;
    /// The objective changed: whatever was derived from the old one's gradients and
    /// cannot be trusted for the new one goes.
    fn objective_changed(&mut self);
    fn save(&self, state: &mut OptimizerState);
    /// Reads back what [`Memory::save`] wrote, for θ of `n` numbers.
    fn restore(&mut self, state: &OptimizerState, n: usize) -> Result<(), StateError>;
}

/// A line-search quasi-Newton method as an [`Optimizer`]: the settings, the memory of
/// H, the evaluation at the current θ and the tests still to run on the last accepted
/// step.
pub struct QuasiNewton<M> {
    config: QuasiNewtonConfig,
    max_evals: usize,
    memory: M,
    /// The loss and gradient at θ; `None` before the first step and after the objective
    /// changed, when the next step evaluates θ first.
    current: Option<Eval>,
    /// torch tests a step after accepting it; here those tests run at the start of the
    /// next step, so that the accepted step is reported first, as torch's loop does.
    accepted: Option<Accepted>,
    /// Objective evaluations in this phase, for the evaluation cap.
    evaluations: usize,
    /// `reset = k`: H is reset every k iterations (0: never).
    reset_every: usize,
    iterations: usize,
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

impl<M: Memory> QuasiNewton<M> {
    pub fn with_memory(config: QuasiNewtonConfig, memory: M) -> Self {
        QuasiNewton {
            config,
            max_evals: config
                .max_evals
                .unwrap_or(config.max_iter.saturating_mul(5) / 4)
                .max(1),
            memory,
            current: None,
            accepted: None,
            evaluations: 0,
            reset_every: 0,
            iterations: 0,
            d: Vec::new(),
            x0: Vec::new(),
            xt: Vec::new(),
        }
    }

    /// Resets H every `k` iterations (0: never), the papers' `reset` policy.
    pub fn reset_every(mut self, k: usize) -> Self {
        self.reset_every = k;
        self
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

    /// The search along −H·g, and when it fails and the settings allow, once more along
    /// −g with H forgotten.
    fn search_with_retry(
        &mut self,
        obj: &mut dyn Objective,
        theta: &[f64],
        current: &Eval,
        event: &mut Option<Event>,
    ) -> Result<(f64, SearchStatus, Eval), End> {
        match self.search(obj, theta, current, event) {
            Err(End::Finished(_))
                if self.config.retry_after_failed_search && !self.memory.is_empty() =>
            {
                self.memory.clear();
                *event = Some(Event::ResetFailedSearch);
                self.search(obj, theta, current, event)
            }
            other => other,
        }
    }
}

fn converged(grad_max: f64, tol: f64) -> String {
    format!("converged: max |∂loss/∂θᵢ| is {grad_max:e}, at most tolerance_grad {tol:e}")
}

fn evaluation_cap(max_evals: usize) -> String {
    format!("reached the evaluation cap ({max_evals})")
}

impl<M: Memory> Optimizer for QuasiNewton<M> {
    fn kind(&self) -> &'static Kind {
        self.memory.kind()
    }

    fn start(&mut self, theta: &[f64]) {
        let n = theta.len();
        self.memory.start(n);
        self.current = None;
        self.accepted = None;
        self.evaluations = 0;
        self.iterations = 0;
        self.d = vec![0.0; n];
        self.x0 = vec![0.0; n];
        self.xt = vec![0.0; n];
    }

    /// One iteration (N&W Algorithm 7.5 for L-BFGS, 6.1 for BFGS): direction,
    /// strong-Wolfe line search, accept, update H. θ moves only when the search found a
    /// lower point.
    fn step(&mut self, obj: &mut dyn Objective, theta: &mut [f64]) -> Result<Step, End> {
        if let Some(a) = self.accepted.take() {
            let grad_max = self.current.as_ref().map_or(f64::NAN, |e| max_abs(&e.grad));
            if let Some(end) = self.after_accepted(a, grad_max) {
                return Err(end);
            }
        }
        let mut event = None;
        if self.reset_every > 0
            && self.iterations > 0
            && self.iterations.is_multiple_of(self.reset_every)
        {
            self.memory.clear();
            event = Some(Event::ResetPeriodic);
        }
        let current = self.at_theta(obj, theta)?;
        let (t, status, next) = match self.search_with_retry(obj, theta, &current, &mut event) {
            Ok(found) => found,
            Err(end) => {
                self.current = Some(current);
                return Err(end);
            }
        };
        // H first: a device holding it that fails leaves θ at the last reported step.
        let updated = self.memory.update(t, &self.d, &current.grad, &next.grad);
        if let Some(e) = updated.map_err(memory_failed)? {
            event = Some(e);
        }
        // Accept: θ = x0 + t·d, computed exactly as the trial point was.
        for ((p, &x), &di) in theta.iter_mut().zip(&self.x0).zip(&self.d) {
            *p = x + t * di;
        }
        self.iterations += 1;
        self.accepted = Some(Accepted {
            moved: t * max_abs(&self.d),
            loss_change: (next.loss - current.loss).abs(),
        });
        let step = Step {
            loss: next.loss,
            step: t,
            line_search: Some(status),
            event,
        };
        self.current = Some(next);
        Ok(step)
    }

    /// Drops the evaluation at θ and whatever the memory cannot carry over (L-BFGS:
    /// its pairs, which mix two objectives' gradients; a dense H: nothing but its cached
    /// direction). The next step evaluates θ again.
    fn objective_changed(&mut self) {
        self.memory.objective_changed();
        self.current = None;
        self.accepted = None;
    }

    fn save(&self) -> OptimizerState {
        let mut state = OptimizerState::new(self.kind());
        state.put("evaluations", vec![self.evaluations as f64]);
        state.put("iterations", vec![self.iterations as f64]);
        if let Some(e) = &self.current {
            state.put("loss", vec![e.loss]);
            state.put("grad", e.grad.clone());
        }
        if let Some(a) = self.accepted {
            state.put("accepted", vec![a.moved, a.loss_change]);
        }
        self.memory.save(&mut state);
        state
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<(), StateError> {
        state.expect(self.kind())?;
        let n = self.d.len();
        let evaluations = state.scalar("evaluations")?;
        let iterations = state.scalar("iterations")?;
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
        self.memory.restore(state, n)?;
        self.evaluations = evaluations as usize;
        self.iterations = iterations as usize;
        self.current = current;
        self.accepted = accepted;
        Ok(())
    }
}

impl<M: Memory> QuasiNewton<M> {
    /// The direction and the line search from θ; on success the accepted step length,
    /// how the search ended and the evaluation there. θ itself does not move: trial
    /// points live in `xt`.
    fn search(
        &mut self,
        obj: &mut dyn Objective,
        theta: &[f64],
        current: &Eval,
        event: &mut Option<Event>,
    ) -> Result<(f64, SearchStatus, Eval), End> {
        let config = &self.config;
        let gtd = descent_direction(&mut self.memory, &current.grad, &mut self.d, event)
            .map_err(memory_failed)?;
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
        let t_init = initial_step(&self.memory, &current.grad, config.lr);
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

/// Sets d to the quasi-Newton direction −H·g and returns gᵀd. A positive definite H
/// gives a descent direction; if rounding (or an update that lost definiteness) wins,
/// H is forgotten and d = −g, which is what a fresh start would do.
fn descent_direction<M: Memory>(
    memory: &mut M,
    g: &[f64],
    d: &mut [f64],
    event: &mut Option<Event>,
) -> Result<f64, Stop> {
    memory.direction(g, d)?;
    let gtd = dot(g, d);
    if gtd.is_nan() || gtd >= 0.0 {
        if !memory.is_empty() {
            *event = Some(Event::ResetNotDescent);
        }
        memory.clear();
        memory.direction(g, d)?;
        return Ok(dot(g, d));
    }
    Ok(gtd)
}

/// The step's end when the memory's device failed: θ stays where it was.
fn memory_failed(stop: Stop) -> End {
    End::Aborted(Abort::Objective(stop))
}

/// The first trial step. With curvature known, H·g already has the right length and
/// the step is `lr`. Without it the step along −g has no natural length, and torch's
/// min(1, 1/‖g‖₁)·lr keeps the first trial from leaping when the gradient is large.
fn initial_step<M: Memory>(memory: &M, g: &[f64], lr: f64) -> f64 {
    if memory.is_empty() {
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
