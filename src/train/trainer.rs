//! The training loop: the problem's optimizer phases in order (`adam(...) then
//! lbfgs(...)`), one loop whatever the optimizer, a history of the loss per term and of
//! the PDE parameters, and a clean stop with a named cause when the loss diverges.

use super::optim::{self, End, Eval, Objective, Stop};
use crate::kernel::{Evaluation, KernelError};
use crate::net::Layout;
use crate::problem::{Phase, Problem};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::time::Instant;

/// Anything that evaluates the loss and its gradient (the interpreter, the JIT, …).
pub trait Evaluator {
    fn evaluate(&mut self, theta: &[f64]) -> Result<Evaluation, KernelError>;
}

impl<F: FnMut(&[f64]) -> Result<Evaluation, KernelError>> Evaluator for F {
    fn evaluate(&mut self, theta: &[f64]) -> Result<Evaluation, KernelError> {
        self(theta)
    }
}

/// One row of the history: after an Adam epoch or an L-BFGS iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub phase: &'static str,
    /// 1-based within the phase.
    pub iter: usize,
    pub loss: f64,
    /// Each term, unweighted (as `Evaluation::terms`).
    pub terms: Vec<f64>,
    /// The PDE parameters' values (a positive one as its value, not its log).
    pub params: Vec<f64>,
    /// A quasi-Newton step that refused its curvature pair or reset H says so here
    /// (`Event::name`).
    pub event: Option<&'static str>,
}

/// How one phase ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseReport {
    pub name: &'static str,
    pub iterations: usize,
    pub evaluations: usize,
    pub seconds: f64,
    /// Why it stopped, in words.
    pub stop: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The last good θ.
    pub theta: Vec<f64>,
    pub history: Vec<Row>,
    pub phases: Vec<PhaseReport>,
    /// Set when the loss became NaN/Inf: which term, which phase and epoch.
    pub diverged: Option<String>,
}

/// Progress seen by the command line's display.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub phase: &'static str,
    pub iter: usize,
    /// The phase's iteration cap.
    pub of: usize,
    pub loss: f64,
    pub terms: &'a [f64],
}

/// Caps every phase at `cap` iterations when given (`--epochs N`).
pub fn phases(problem: &Problem, cap: Option<usize>) -> Vec<Phase> {
    problem
        .training
        .iter()
        .map(|p| cap.map_or(*p, |c| p.capped(c)))
        .collect()
}

/// Adapts an evaluator to the optimizers: remembers the terms of the last
/// evaluation and names the first non-finite term.
struct KernelObjective<'e> {
    eval: &'e mut dyn Evaluator,
    names: Vec<String>,
    last_terms: Vec<f64>,
}

impl Objective for KernelObjective<'_> {
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop> {
        let e = self
            .eval
            .evaluate(theta)
            .map_err(|e| Stop::new(e.to_string()))?;
        if !e.total.is_finite() {
            let bad = e.terms.iter().position(|t| !t.is_finite());
            let name = bad
                .and_then(|k| self.names.get(k))
                .map_or("total", String::as_str);
            return Err(Stop::new(format!(
                "loss term `{name}` is {}",
                if e.total.is_nan() { "NaN" } else { "infinite" }
            )));
        }
        self.last_terms = e.terms;
        Ok(Eval {
            loss: e.total,
            grad: e.grad,
        })
    }
}

/// Runs the phases from `theta`, each through [`optim::run`], the same loop for every
/// optimizer.
pub fn train(
    problem: &Problem,
    evaluator: &mut dyn Evaluator,
    theta: Vec<f64>,
    phases: &[Phase],
    threads: usize,
    progress: &mut dyn FnMut(&Progress),
) -> Outcome {
    let layout = Layout::of(problem);
    let mut obj = KernelObjective {
        eval: evaluator,
        names: problem.terms.iter().map(|t| t.name.clone()).collect(),
        last_terms: Vec::new(),
    };
    let mut out = Outcome {
        theta,
        history: Vec::new(),
        phases: Vec::new(),
        diverged: None,
    };
    for phase in phases {
        let start = Instant::now();
        let mut optimizer = optim::build(phase, threads);
        optimizer.start(&out.theta);
        let kind = optimizer.kind();
        let of = phase.cap();
        // The objective writes the terms of each evaluation; the callback reads them.
        // Every optimizer reports after its last evaluation of the step (L-BFGS's line
        // search evaluates the accepted point last), so they are the reported point's.
        let terms = RefCell::new(Vec::new());
        let mut objective = |theta: &[f64]| {
            let r = obj.eval(theta);
            terms.borrow_mut().clone_from(&obj.last_terms);
            r
        };
        let o = optim::run(
            optimizer.as_mut(),
            &mut objective,
            &mut out.theta,
            of,
            |info| {
                let terms = terms.borrow();
                out.history.push(Row {
                    phase: kind.name,
                    iter: info.iter,
                    loss: info.loss,
                    terms: terms.clone(),
                    params: param_values(problem, &layout, info.theta),
                    event: info.event.map(optim::Event::name),
                });
                progress(&Progress {
                    phase: kind.name,
                    iter: info.iter,
                    of,
                    loss: info.loss,
                    terms: &terms,
                });
                ControlFlow::Continue(())
            },
        );
        out.phases.push(PhaseReport {
            name: kind.name,
            iterations: o.iterations,
            evaluations: o.evaluations,
            seconds: start.elapsed().as_secs_f64(),
            stop: o.end.to_string(),
        });
        if let End::Aborted(abort) = o.end {
            out.diverged = Some(format!(
                "{abort} at {} {} {}",
                kind.title,
                kind.unit,
                o.iterations + 1
            ));
            break;
        }
    }
    out
}

/// The PDE parameters' values in θ (exp of the stored log for positive ones).
pub fn param_values(problem: &Problem, layout: &Layout, theta: &[f64]) -> Vec<f64> {
    problem
        .params
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let raw = theta[layout.params[k]];
            if p.positive {
                raw.exp()
            } else {
                raw
            }
        })
        .collect()
}
