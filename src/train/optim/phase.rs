//! The optimizer boundary: what every optimizer is to the trainer ([`Optimizer`]), how
//! a phase ends ([`End`]), its saved state ([`OptimizerState`]) and the one loop that
//! drives any optimizer ([`run`]).

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use thiserror::Error;

use super::dense;
use super::{adam, lbfgs, Abort, Adam, AdamConfig, AdamDevice, Eval, Event, IterInfo};
use super::{Objective, Schedule};
use super::{QuasiNewtonConfig, SearchStatus, Stop};
use crate::backend::DeviceMatrix;
use crate::problem::{Decay, Phase};

/// What names an optimizer in the history, the terminal and report.json.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// The phase column of history.csv and the key under report.json's `epochs`.
    pub name: &'static str,
    /// For people: pictures' phase marks, divergence messages ("L-BFGS").
    pub title: &'static str,
    /// What one step is called ("epoch", "iteration").
    pub unit: &'static str,
    /// The key of the milliseconds per evaluation under report.json's `time_s`.
    pub timing_key: &'static str,
}

/// Every optimizer a `train` statement can name, in the order report.json lists them.
pub const KINDS: [&Kind; 7] = [
    &adam::KIND,
    &lbfgs::KIND,
    &dense::BFGS,
    &dense::SSBFGS,
    &dense::SSBFGS_OL,
    &dense::SSBROYDEN,
    &dense::SSBROYDEN1,
];

/// The kind named `name` in history rows, if any.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// What one step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// L-BFGS: the loss at the accepted point. Adam: the loss at the start of the epoch,
    /// before the update (what PyTorch training loops print).
    pub loss: f64,
    /// L-BFGS: the accepted step length. Adam: the learning rate used.
    pub step: f64,
    /// L-BFGS only: how the line search ended.
    pub line_search: Option<SearchStatus>,
    /// Quasi-Newton only: a refused curvature pair or a reset of H in this step.
    pub event: Option<Event>,
}

/// Why a phase ended. The `Display` text is what report.json's `stop` says.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum End {
    /// The phase took as many steps as its settings allow.
    #[error("reached the iteration cap ({0})")]
    IterationCap(usize),
    /// The optimizer met one of its own stopping tests (converged, no progress, its
    /// evaluation budget); the message names the test and its numbers.
    #[error("{0}")]
    Finished(String),
    /// [`run`]'s callback asked to stop.
    #[error("stopped by the caller")]
    Caller,
    /// The objective failed or gave something unusable: the run diverged.
    #[error("{0}")]
    Aborted(Abort),
}

/// An optimizer's state as named vectors of numbers (counts stored exactly as f64):
/// plain data a checkpoint can write and read back. Restoring it into a fresh
/// optimizer with the same settings continues bit for bit as if never interrupted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState {
    /// The [`Kind::name`] of the optimizer that saved it.
    pub optimizer: String,
    pub numbers: BTreeMap<String, Vec<f64>>,
}

/// Why a saved state does not fit the optimizer asked to restore it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum StateError {
    #[error("the state is `{found}`'s, not `{expected}`'s")]
    Optimizer { expected: String, found: String },
    #[error("the state has no `{0}`")]
    Missing(String),
    #[error("the state's `{name}` has {found} numbers where {expected} were expected")]
    Length {
        name: String,
        expected: usize,
        found: usize,
    },
    #[error("the device that holds the state failed: {0}")]
    Device(String),
}

impl OptimizerState {
    pub fn new(kind: &Kind) -> Self {
        OptimizerState {
            optimizer: kind.name.into(),
            numbers: BTreeMap::new(),
        }
    }

    pub fn put(&mut self, name: &str, values: Vec<f64>) {
        self.numbers.insert(name.into(), values);
    }

    /// Checks that the state was saved by `kind`.
    pub fn expect(&self, kind: &Kind) -> Result<(), StateError> {
        if self.optimizer == kind.name {
            Ok(())
        } else {
            Err(StateError::Optimizer {
                expected: kind.name.into(),
                found: self.optimizer.clone(),
            })
        }
    }

    /// The vector `name`, which may be absent.
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.numbers.get(name).map(Vec::as_slice)
    }

    /// The vector `name`, which must be there with `len` numbers.
    pub fn vector(&self, name: &str, len: usize) -> Result<&[f64], StateError> {
        let v = self
            .get(name)
            .ok_or_else(|| StateError::Missing(name.into()))?;
        if v.len() != len {
            return Err(StateError::Length {
                name: name.into(),
                expected: len,
                found: v.len(),
            });
        }
        Ok(v)
    }

    pub fn scalar(&self, name: &str) -> Result<f64, StateError> {
        Ok(self.vector(name, 1)?[0])
    }
}

/// An optimizer as a phase of training. θ belongs to the caller; the optimizer keeps
/// only what it needs between steps (moments, curvature pairs, the last evaluation).
pub trait Optimizer {
    fn kind(&self) -> &'static Kind;
    /// Forgets everything and sizes the state for `theta`; the next step is a first one.
    fn start(&mut self, theta: &[f64]);
    /// One epoch or iteration: evaluates `obj` as it needs and moves `theta`. On `Err`
    /// the phase is over and `theta` is the last point whose loss and gradient were
    /// finite.
    fn step(&mut self, obj: &mut dyn Objective, theta: &mut [f64]) -> Result<Step, End>;
    /// The objective is now a different function (resampled points, new loss weights):
    /// anything remembered from earlier evaluations may be stale.
    fn objective_changed(&mut self);
    /// Brings θ and the state back from wherever the optimizer kept them between
    /// steps (Adam on a device); [`run`] calls it as its segment ends, before
    /// anything reads θ or saves the state.
    fn finish(&mut self, _obj: &mut dyn Objective, _theta: &mut [f64]) -> Result<(), Abort> {
        Ok(())
    }
    fn save(&self) -> OptimizerState;
    /// Puts back a state from [`Optimizer::save`], after [`Optimizer::start`] sized it.
    fn restore(&mut self, state: &OptimizerState) -> Result<(), StateError>;
}

/// The optimizer a `train` phase asks for, with its settings; a dense method keeps
/// H on `matrix` when given, else on the host with its n² products split over
/// `threads` threads.
pub fn build(
    phase: &Phase,
    threads: usize,
    matrix: Option<Box<dyn DeviceMatrix>>,
) -> Box<dyn Optimizer> {
    match *phase {
        Phase::Adam {
            lr,
            epochs,
            beta1,
            beta2,
            decay,
            cosine,
            warmup,
            ..
        } => Box::new(Adam::new(
            0,
            AdamConfig {
                lr,
                beta1,
                beta2,
                eps: 1e-8,
                schedule: match (decay, cosine) {
                    (Some(Decay { rate, every }), _) => {
                        Schedule::Exponential { gamma: rate, every }
                    }
                    (None, Some(end)) => Schedule::Cosine {
                        end,
                        steps: epochs.saturating_sub(warmup) as u64,
                    },
                    (None, None) => Schedule::Constant,
                },
                warmup: warmup as u64,
            },
        )),
        Phase::Lbfgs {
            iterations,
            tol,
            history,
            ..
        } => Box::new(lbfgs::lbfgs(
            QuasiNewtonConfig {
                max_iter: iterations,
                tolerance_grad: tol,
                tolerance_change: tol,
                ..QuasiNewtonConfig::default()
            },
            history,
        )),
        Phase::Dense {
            rule,
            iterations,
            tol,
            c1,
            c2,
            reset,
            ..
        } => Box::new(
            dense::dense(
                QuasiNewtonConfig {
                    max_iter: iterations,
                    tolerance_grad: tol,
                    // The loss of a well-trained PINN changes by less than any fixed
                    // threshold per step long before it stops improving: only the
                    // gradient, the caps and a failed search end a dense phase.
                    tolerance_change: 0.0,
                    // Each line search is bounded by `max_ls`; the papers' BFGS has no
                    // budget of evaluations besides, and early searches need several.
                    max_evals: Some(usize::MAX),
                    c1,
                    c2,
                    retry_after_failed_search: true,
                    ..QuasiNewtonConfig::default()
                },
                rule,
                threads,
                matrix,
            )
            .reset_every(reset),
        ),
    }
}

/// How [`run`] went.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub end: End,
    /// Steps that completed.
    pub iterations: usize,
    /// Objective evaluations, the failed ones included.
    pub evaluations: usize,
    /// The loss the last completed step reported; `None` when none completed.
    pub loss: Option<f64>,
}

/// Counts the evaluations an optimizer asks for, for the report and the callback.
struct Counted<'o> {
    obj: &'o mut dyn Objective,
    calls: usize,
}

impl Objective for Counted<'_> {
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop> {
        self.calls += 1;
        self.obj.eval(theta)
    }

    /// Adam asks for its device once per epoch, which evaluates once there.
    fn adam_device(&mut self) -> Option<&mut dyn AdamDevice> {
        let device = self.obj.adam_device()?;
        self.calls += 1;
        Some(device)
    }
}

/// Steps `opt` from `theta` until it ends or `cap` steps have run, calling `on_step`
/// after each. The caller has started `opt` (or restored a saved state into it), so
/// that a run can continue one that was saved. The cap is tested before a step, so an optimizer that would
/// also have stopped on its own tests after the last step ends with the cap's message.
pub fn run(
    opt: &mut dyn Optimizer,
    obj: &mut dyn Objective,
    theta: &mut [f64],
    cap: usize,
    mut on_step: impl FnMut(&IterInfo) -> ControlFlow<()>,
) -> Outcome {
    let mut obj = Counted { obj, calls: 0 };
    let mut loss = None;
    let mut end = End::IterationCap(cap);
    let mut iterations = cap;
    for iter in 1..=cap {
        let step = match opt.step(&mut obj, theta) {
            Ok(step) => step,
            Err(e) => {
                (end, iterations) = (e, iter - 1);
                break;
            }
        };
        loss = Some(step.loss);
        let info = IterInfo {
            iter,
            loss: step.loss,
            #[cfg(test)]
            step: step.step,
            #[cfg(test)]
            line_search: step.line_search,
            event: step.event,
            theta,
        };
        if on_step(&info).is_break() {
            (end, iterations) = (End::Caller, iter);
            break;
        }
    }
    if let Err(abort) = opt.finish(obj.obj, theta) {
        end = End::Aborted(abort);
    }
    outcome(end, iterations, obj.calls, loss)
}

fn outcome(end: End, iterations: usize, evaluations: usize, loss: Option<f64>) -> Outcome {
    Outcome {
        end,
        iterations,
        evaluations,
        loss,
    }
}
