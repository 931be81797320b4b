//! Adam, with the arithmetic of `torch.optim.Adam` (single-tensor path, no weight
//! decay, no AMSGrad) reproduced operation by operation, so that a run can be compared
//! with the reference PyTorch implementations of the papers step by step.

use std::ops::ControlFlow;

use thiserror::Error;

use super::{check_gradient, evaluate, max_abs, Abort, IterInfo, Objective};

/// Adam's hyper-parameters. The defaults are PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub schedule: Schedule,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            schedule: Schedule::Constant,
        }
    }
}

/// How the learning rate changes with the number of steps taken.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant,
    /// lr · gamma^⌊k / every⌋ for step k (counted from 0): PyTorch's `StepLR` stepped once
    /// per epoch, and `ExponentialLR` when `every` is 1. `every = 0` is read as 1.
    Exponential {
        gamma: f64,
        every: u64,
    },
}

impl Schedule {
    /// The learning rate for the step after `steps_taken` steps. The closed form (one
    /// `powf`) rather than repeated multiplication is what PyTorch's schedulers use when
    /// asked for the rate of a given epoch, and it does not drift over 50 000 epochs.
    pub fn lr_at(&self, base: f64, steps_taken: u64) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Exponential { gamma, every } => {
                let k = steps_taken / every.max(1);
                base * gamma.powf(k as f64)
            }
        }
    }
}

/// Adam's state: the two moment estimates and the step count.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    m: Vec<f64>,
    v: Vec<f64>,
    steps: u64,
}

impl Adam {
    /// Fresh state for `n` parameters: zero moments, no steps taken.
    pub fn new(n: usize, config: AdamConfig) -> Self {
        Adam {
            config,
            m: vec![0.0; n],
            v: vec![0.0; n],
            steps: 0,
        }
    }

    pub fn config(&self) -> &AdamConfig {
        &self.config
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The learning rate the next step will use.
    pub fn lr(&self) -> f64 {
        self.config.schedule.lr_at(self.config.lr, self.steps)
    }

    /// One Adam step: θ ← θ − lr/(1 − β₁ᵏ) · m / (√v / √(1 − β₂ᵏ) + ε).
    ///
    /// The gradient is checked first (length, finiteness); when it is unusable, neither θ
    /// nor the state changes. Nothing is allocated.
    pub fn step(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<(), Abort> {
        check_gradient(self.m.len(), grad)?;
        if theta.len() != self.m.len() {
            return Err(Abort::GradientLength {
                expected: theta.len(),
                found: self.m.len(),
            });
        }
        let AdamConfig {
            beta1, beta2, eps, ..
        } = self.config;
        let lr = self.lr();
        self.steps += 1;
        // PyTorch computes these in Python floats: `beta ** step` is C's pow, and
        // `bias_correction2 ** 0.5` is a correctly rounded square root like `sqrt`.
        let k = self.steps as f64;
        let bias_correction1 = 1.0 - beta1.powf(k);
        let bias_correction2 = 1.0 - beta2.powf(k);
        let step_size = lr / bias_correction1;
        let bias_correction2_sqrt = bias_correction2.sqrt();
        let moments = self.m.iter_mut().zip(self.v.iter_mut());
        for ((p, &g), (m, v)) in theta.iter_mut().zip(grad).zip(moments) {
            // exp_avg.lerp_(grad, 1 - beta1)
            *m = lerp(*m, g, 1.0 - beta1);
            // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            *v = *v * beta2 + (1.0 - beta2) * g * g;
            // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            let denom = v.sqrt() / bias_correction2_sqrt + eps;
            // param.addcdiv_(exp_avg, denom, value=-step_size)
            *p += -step_size * *m / denom;
        }
        Ok(())
    }
}

/// `torch.lerp`'s formula, which switches form at weight ½ to stay accurate near both
/// ends; with β₁ = 0.9 only the first branch runs.
fn lerp(start: f64, end: f64, weight: f64) -> f64 {
    if weight.abs() < 0.5 {
        start + weight * (end - start)
    } else {
        end - (end - start) * (1.0 - weight)
    }
}

/// Why [`run_adam`] returned.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum AdamStop {
    /// Every epoch ran.
    #[error("every epoch ran")]
    Completed,
    /// The callback asked to stop.
    #[error("stopped by the caller")]
    Callback,
    #[error("{0}")]
    Aborted(Abort),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AdamOutcome {
    pub stop: AdamStop,
    /// Steps taken in this call.
    pub epochs: usize,
    pub evaluations: usize,
    /// The last finite loss seen: the loss at the start of the last epoch that ran, or
    /// `None` when the first evaluation already failed.
    pub loss: Option<f64>,
}

/// Runs `epochs` Adam steps on full-batch gradients from `obj`, calling `on_epoch` after
/// each. If an evaluation fails, θ is put back where it was when the previous epoch
/// began, the last point with a finite loss and gradient; the moments are not rolled
/// back, since the run stops there.
///
/// Allocates one copy of θ for that roll-back, once per call.
pub fn run_adam<O: Objective + ?Sized>(
    obj: &mut O,
    theta: &mut [f64],
    adam: &mut Adam,
    epochs: usize,
    mut on_epoch: impl FnMut(&IterInfo) -> ControlFlow<()>,
) -> AdamOutcome {
    let mut last_good = theta.to_vec();
    let mut outcome = AdamOutcome {
        stop: AdamStop::Completed,
        epochs: 0,
        evaluations: 0,
        loss: None,
    };
    for epoch in 1..=epochs {
        outcome.evaluations += 1;
        let eval = match evaluate(obj, theta) {
            Ok(e) => e,
            Err(abort) => {
                if epoch > 1 {
                    theta.copy_from_slice(&last_good);
                }
                outcome.stop = AdamStop::Aborted(abort);
                return outcome;
            }
        };
        last_good.copy_from_slice(theta);
        let lr = adam.lr();
        if let Err(abort) = adam.step(theta, &eval.grad) {
            outcome.stop = AdamStop::Aborted(abort);
            return outcome;
        }
        outcome.epochs = epoch;
        outcome.loss = Some(eval.loss);
        let info = IterInfo {
            iter: epoch,
            loss: eval.loss,
            grad_max: max_abs(&eval.grad),
            step: lr,
            evaluations: outcome.evaluations,
            line_search: None,
            theta,
        };
        if on_epoch(&info).is_break() {
            outcome.stop = AdamStop::Callback;
            return outcome;
        }
    }
    outcome
}
