//! The optimizers of `pdenet run`: Adam for the first phase of training, then a
//! line-search quasi-Newton method (`quasi_newton`) for the second: L-BFGS, as in the
//! PINN papers pdenet reproduces, or a dense BFGS-family method (`dense`: BFGS,
//! self-scaled BFGS, self-scaled Broyden), which goes much further in f64.
//!
//! Every optimizer is an [`Optimizer`]: a phase that starts from θ, takes one step at
//! a time, hears when the objective changes, saves and restores its state, and ends
//! with an [`End`] whose message the report shows. [`run`] is the one loop that drives
//! any of them; [`build`] turns a phase of the problem's `train` statement into one.
//! A new optimizer is a new file here, its [`Kind`] in [`KINDS`], an arm in [`build`],
//! and its settings (`problem::Phase`, `check::settings`).
//!
//! The trainer hands over an [`Objective`] (the fused loss-and-gradient kernel) and a
//! flat parameter vector θ; the optimizers know nothing of networks, problems or
//! kernels. θ, the Adam moments and the L-BFGS history are `f64` even when a kernel
//! computes in `f32`, so that the optimizer adds no rounding of its own on top of the
//! kernel's.
//!
//! Invariants, stated as absences:
//! - no optimizer ever leaves θ at a point whose loss or gradient was not finite: a
//!   failed evaluation stops the run with an [`Abort`] and θ stays (or is put back) at
//!   the last point whose loss and gradient were both finite;
//! - no randomness, no threads, no clocks: the same objective and the same θ give
//!   bit-identical results on every run;
//! - no I/O: progress reaches the trainer through a per-iteration callback only.

pub(crate) mod adam;
pub(crate) mod dense;
pub(crate) mod lbfgs;
pub(crate) mod line_search;
mod phase;
pub(crate) mod quasi_newton;

#[cfg(test)]
pub(crate) mod tests;

pub use adam::{Adam, AdamConfig, AdamDevice, Schedule};
pub use dense::dense;
pub use lbfgs::lbfgs;
pub use line_search::{LineFunction, SearchStatus};
pub use phase::{build, kind, run, End, Kind, Optimizer, OptimizerState, StateError, Step, KINDS};
pub use quasi_newton::{Event, QuasiNewtonConfig};

use thiserror::Error;

/// The loss and its gradient at one θ.
#[derive(Clone, Debug, PartialEq)]
pub struct Eval {
    pub loss: f64,
    /// ∂loss/∂θ, the same length as θ.
    pub grad: Vec<f64>,
}

/// Why an objective refused to go on, in words the trainer can show the user (for
/// example "loss term `initial` is NaN at point 17").
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{reason}")]
pub struct Stop {
    pub reason: String,
}

impl Stop {
    pub fn new(reason: impl Into<String>) -> Self {
        Stop {
            reason: reason.into(),
        }
    }
}

/// What the optimizers minimize: the loss and its gradient as functions of θ.
///
/// An objective may keep state between calls (buffers, counters, a NaN detector that
/// names the offending loss term); it must not keep θ, which the optimizers own.
pub trait Objective {
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop>;

    /// Where Adam can run whole epochs next to the kernel (a GPU), if anywhere:
    /// Adam then keeps θ and its moments there ([`AdamDevice`]).
    fn adam_device(&mut self) -> Option<&mut dyn AdamDevice> {
        None
    }
}

/// Closures are objectives, which keeps tests and small drivers short.
impl<F> Objective for F
where
    F: FnMut(&[f64]) -> Result<Eval, Stop>,
{
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop> {
        self(theta)
    }
}

/// Why an optimizer stopped before it wanted to: the objective said so, or handed back
/// something the optimizer cannot use. In every case θ is left at the last point whose
/// loss and gradient were finite.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum Abort {
    #[error("the objective stopped: {0}")]
    Objective(Stop),
    #[error("the loss is not finite ({value})")]
    NonFiniteLoss { value: f64 },
    #[error("gradient component {index} of θ is not finite ({value})")]
    NonFiniteGradient { index: usize, value: f64 },
    #[error("the gradient has {found} components but θ has {expected}")]
    GradientLength { expected: usize, found: usize },
}

/// What [`run`]'s callback sees after every iteration (L-BFGS) or epoch (Adam).
#[derive(Clone, Copy, Debug)]
pub struct IterInfo<'a> {
    /// 1 for the first iteration or epoch.
    pub iter: usize,
    /// L-BFGS: the loss at the accepted point, which is `theta`. Adam: the loss at the
    /// start of the epoch, before the step (what PyTorch training loops print).
    pub loss: f64,
    /// L-BFGS: the accepted step length t (θ moved by t·d). Adam: the learning rate
    /// used. Read by the tests (schedules, line searches), which see every step.
    #[cfg(test)]
    pub step: f64,
    /// L-BFGS only: how the line search ended.
    #[cfg(test)]
    pub line_search: Option<SearchStatus>,
    /// Quasi-Newton: a refused pair or a reset of H in this step.
    pub event: Option<Event>,
    /// θ after the iteration.
    pub theta: &'a [f64],
}

/// Evaluates the objective and checks that the result is usable, so that no optimizer
/// can take a step from a NaN.
pub(crate) fn evaluate<O: Objective + ?Sized>(obj: &mut O, theta: &[f64]) -> Result<Eval, Abort> {
    let e = obj.eval(theta).map_err(Abort::Objective)?;
    check_gradient(theta.len(), &e.grad)?;
    if !e.loss.is_finite() {
        return Err(Abort::NonFiniteLoss { value: e.loss });
    }
    Ok(e)
}

/// Checks the length and finiteness of a gradient before anything uses it.
pub(crate) fn check_gradient(expected: usize, grad: &[f64]) -> Result<(), Abort> {
    if grad.len() != expected {
        return Err(Abort::GradientLength {
            expected,
            found: grad.len(),
        });
    }
    match grad.iter().position(|g| !g.is_finite()) {
        Some(index) => Err(Abort::NonFiniteGradient {
            index,
            value: grad[index],
        }),
        None => Ok(()),
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The ∞-norm, the measure torch.optim.LBFGS's tolerances use.
pub(crate) fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, x| m.max(x.abs()))
}
