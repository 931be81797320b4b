//! Adam, with the arithmetic of `torch.optim.Adam` (single-tensor path, no weight
//! decay, no AMSGrad) reproduced operation by operation, so that a run can be compared
//! with the reference PyTorch implementations of the papers step by step.

use super::{check_gradient, evaluate, Abort, Objective, Stop};
use super::{End, Kind, Optimizer, OptimizerState, StateError, Step};
use crate::backend::{AdamState, AdamUpdate};

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

/// Where Adam's epochs can run whole, next to the kernel (the trainer's objective
/// over a GPU engine's `backend::DeviceAdam`): θ and the moments stay there between
/// epochs, and an epoch brings back only its loss and the entries of θ the
/// objective watches (the PDE parameters, for the history).
pub trait AdamDevice {
    /// Puts θ, the moments and the last good θ on the device.
    fn load(&mut self, state: &AdamState) -> Result<(), Stop>;
    /// One epoch from the device's θ: the loss there (an `Err` naming the term when
    /// it is not finite), then `update` unless a gradient entry is not finite; and
    /// whether θ moved. Writes the watched entries of θ after the step into `theta`.
    fn epoch(&mut self, update: &AdamUpdate, theta: &mut [f64]) -> Result<(f64, bool), Stop>;
    /// The state as the device holds it, and the last epoch's gradient.
    fn unload(&mut self) -> Result<(AdamState, Vec<f64>), Stop>;
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
    /// θ as it was when the state went to the objective's device (`AdamDevice`),
    /// where it lives until [`Optimizer::finish`] brings it back; θ, `m`, `v` and
    /// `last_good` here are stale meanwhile, but for the entries the device writes
    /// back each epoch. If the device cannot give the state back, θ returns here.
    loaded_from: Option<Vec<f64>>,
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
            loaded_from: None,
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
        let u = self.next_update();
        self.steps += 1;
        let moments = self.m.iter_mut().zip(self.v.iter_mut());
        for ((p, &g), (m, v)) in theta.iter_mut().zip(grad).zip(moments) {
            // exp_avg.lerp_(grad, 1 - beta1)
            *m = lerp(*m, g, u.weight1);
            // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            *v = *v * u.beta2 + (1.0 - u.beta2) * g * g;
            // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
            let denom = v.sqrt() / u.bias2_sqrt + u.eps;
            // param.addcdiv_(exp_avg, denom, value=-step_size)
            *p += -u.step_size * *m / denom;
        }
        Ok(())
    }

    /// The numbers of the next update, step k = steps taken + 1.
    pub fn next_update(&self) -> AdamUpdate {
        let AdamConfig {
            beta1, beta2, eps, ..
        } = self.config;
        // PyTorch computes these in Python floats: `beta ** step` is C's pow, and
        // `bias_correction2 ** 0.5` is a correctly rounded square root like `sqrt`.
        let k = (self.steps + 1) as f64;
        AdamUpdate {
            step_size: self.lr() / (1.0 - beta1.powf(k)),
            bias2_sqrt: (1.0 - beta2.powf(k)).sqrt(),
            weight1: 1.0 - beta1,
            beta2,
            eps,
        }
    }

    /// One epoch on `device`, loading the state there first if it is not.
    fn step_on(&mut self, device: &mut dyn AdamDevice, theta: &mut [f64]) -> Result<Step, End> {
        let objective = |s: Stop| End::Aborted(Abort::Objective(s));
        if self.loaded_from.is_none() {
            let state = AdamState {
                theta: theta.to_vec(),
                m: self.m.clone(),
                v: self.v.clone(),
                last_good: self.last_good.clone().unwrap_or_else(|| theta.to_vec()),
            };
            device.load(&state).map_err(objective)?;
            self.loaded_from = Some(state.theta);
        }
        let lr = self.lr();
        let failed = match device.epoch(&self.next_update(), theta) {
            Ok((loss, true)) => {
                self.steps += 1;
                return Ok(Step {
                    loss,
                    step: lr,
                    line_search: None,
                    event: None,
                });
            }
            Ok((_, false)) => None,
            Err(stop) => Some(objective(stop)),
        };
        // As on the host: θ back where the last finite epoch began, the moments kept.
        let grad = self.bring_back(device, theta).map_err(objective)?;
        if let Some(good) = &self.last_good {
            theta.copy_from_slice(good);
        }
        Err(failed.unwrap_or_else(|| {
            let unusable = check_gradient(theta.len(), &grad).err();
            End::Aborted(unusable.unwrap_or(Abort::Objective(Stop::new(
                "the device found a total that is not finite, the host none",
            ))))
        }))
    }

    /// Takes the state back from `device` into θ and the moments; the last
    /// epoch's gradient. When the device cannot give it, θ goes back to where it
    /// was at the load, a point the host knows whole.
    fn bring_back(
        &mut self,
        device: &mut dyn AdamDevice,
        theta: &mut [f64],
    ) -> Result<Vec<f64>, Stop> {
        let Some(loaded) = self.loaded_from.take() else {
            return Err(Stop::new("Adam's state is not on the device"));
        };
        let (state, grad) = device
            .unload()
            .inspect_err(|_| theta.copy_from_slice(&loaded))?;
        theta.copy_from_slice(&state.theta);
        self.m = state.m;
        self.v = state.v;
        self.last_good = Some(state.last_good);
        Ok(grad)
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
    /// On the objective's device when it has one ([`Objective::adam_device`]).
    fn step(&mut self, obj: &mut dyn Objective, theta: &mut [f64]) -> Result<Step, End> {
        if let Some(device) = obj.adam_device() {
            return self.step_on(device, theta);
        }
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
            step: lr,
            line_search: None,
            event: None,
        })
    }

    /// Keeps the moments and the step count, as torch's Adam does when a loop feeds it
    /// new batches: the moments are running averages over changing gradients by design,
    /// and resetting them would restart the bias correction with a large first step.
    fn objective_changed(&mut self) {}

    fn finish(&mut self, obj: &mut dyn Objective, theta: &mut [f64]) -> Result<(), Abort> {
        match (self.loaded_from.take(), obj.adam_device()) {
            (Some(loaded), Some(device)) => {
                self.loaded_from = Some(loaded);
                self.bring_back(device, theta)
                    .map(drop)
                    .map_err(Abort::Objective)
            }
            (Some(loaded), None) => {
                theta.copy_from_slice(&loaded);
                Err(Abort::Objective(Stop::new(
                    "Adam's state is on a device the objective no longer has",
                )))
            }
            (None, _) => Ok(()),
        }
    }

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
