//! Adam, with the arithmetic of `torch.optim.Adam` (single-tensor path, no weight
//! decay, no AMSGrad) reproduced operation by operation, so that a run can be compared
//! with the reference PyTorch implementations of the papers step by step.

use super::{check_gradient, evaluate, max_abs, Abort, Objective};
use super::{End, Kind, Optimizer, OptimizerState, StateError, Step};

pub const KIND: Kind = Kind {
    name: "adam",
    title: "Adam",
    unit: "epoch",
    timing_key: "adam_epoch_ms",
};

/// Adam's hyper-parameters. The defaults are PyTorch's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub schedule: Schedule,
    /// Linear warm-up: step k < warmup uses lr·(k + 1)/warmup; the schedule starts
    /// after it (optax's `warmup_*_schedule`, jaxpi's `warmup_steps`).
    pub warmup: u64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            schedule: Schedule::Constant,
            warmup: 0,
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
    /// Half a cosine from lr down to `end` over `steps` steps, then `end` (SGDR without
    /// restarts, Loshchilov & Hutter 2017; optax's `cosine_decay_schedule`).
    Cosine {
        end: f64,
        steps: u64,
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
            Schedule::Cosine { end, steps } => {
                let progress = steps_taken.min(steps) as f64 / steps.max(1) as f64;
                end + (base - end) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

impl AdamConfig {
    /// The learning rate for the step after `steps_taken` steps: the warm-up, then the
    /// schedule counted from its end.
    pub fn lr_at(&self, steps_taken: u64) -> f64 {
        if steps_taken < self.warmup {
            self.lr * (steps_taken + 1) as f64 / self.warmup as f64
        } else {
            self.schedule.lr_at(self.lr, steps_taken - self.warmup)
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
    /// θ where the last finite evaluation was made: a step from there ended at a point
    /// whose evaluation may fail, and θ goes back here then. `None` before the first.
    last_good: Option<Vec<f64>>,
}

impl Adam {
    /// Fresh state for `n` parameters: zero moments, no steps taken.
    pub fn new(n: usize, config: AdamConfig) -> Self {
        Adam {
            config,
            m: vec![0.0; n],
            v: vec![0.0; n],
            steps: 0,
            last_good: None,
        }
    }

    /// Steps taken so far.
    #[cfg(test)]
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The learning rate the next step will use.
    pub fn lr(&self) -> f64 {
        self.config.lr_at(self.steps)
    }

    /// One Adam update from a gradient already computed: θ ← θ − lr/(1 − β₁ᵏ) · m / (√v / √(1 − β₂ᵏ) + ε).
    ///
    /// The gradient is checked first (length, finiteness); when it is unusable, neither θ
    /// nor the state changes. Nothing is allocated.
    pub fn update(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<(), Abort> {
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

impl Optimizer for Adam {
    fn kind(&self) -> &'static Kind {
        &KIND
    }

    fn start(&mut self, theta: &[f64]) {
        *self = Adam::new(theta.len(), self.config);
    }

    /// One epoch: the full-batch gradient at θ, then [`Adam::update`]. If the evaluation
    /// fails, θ goes back to where the previous epoch began, the last point with a finite
    /// loss and gradient; the moments are not rolled back, since the phase ends there.
    fn step(&mut self, obj: &mut dyn Objective, theta: &mut [f64]) -> Result<Step, End> {
        let eval = match evaluate(obj, theta) {
            Ok(e) => e,
            Err(abort) => {
                if let Some(good) = &self.last_good {
                    theta.copy_from_slice(good);
                }
                return Err(End::Aborted(abort));
            }
        };
        match &mut self.last_good {
            Some(good) => good.copy_from_slice(theta),
            None => self.last_good = Some(theta.to_vec()),
        }
        let lr = self.lr();
        self.update(theta, &eval.grad).map_err(End::Aborted)?;
        Ok(Step {
            loss: eval.loss,
            grad_max: max_abs(&eval.grad),
            step: lr,
            line_search: None,
            event: None,
        })
    }

    /// Keeps the moments and the step count, as torch's Adam does when a loop feeds it
    /// new batches: the moments are running averages over changing gradients by design,
    /// and resetting them would restart the bias correction with a large first step.
    fn objective_changed(&mut self) {}

    fn save(&self) -> OptimizerState {
        let mut state = OptimizerState::new(&KIND);
        state.put("steps", vec![self.steps as f64]);
        state.put("m", self.m.clone());
        state.put("v", self.v.clone());
        // Where a failed next epoch puts θ back to: the start of the last epoch.
        if let Some(good) = &self.last_good {
            state.put("last_good", good.clone());
        }
        state
    }

    fn restore(&mut self, state: &OptimizerState) -> Result<(), StateError> {
        state.expect(&KIND)?;
        let n = self.m.len();
        let (steps, m, v) = (
            state.scalar("steps")?,
            state.vector("m", n)?,
            state.vector("v", n)?,
        );
        self.m.copy_from_slice(m);
        self.v.copy_from_slice(v);
        self.steps = steps as u64;
        self.last_good = match state.get("last_good") {
            Some(_) => Some(state.vector("last_good", n)?.to_vec()),
            None => None,
        };
        Ok(())
    }
}
