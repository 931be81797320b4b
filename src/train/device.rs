//! Adam on the device, the trainer's side (issue 21): the current engine's
//! [`DeviceAdam`] with the point sets and loss weights it runs on, so that an
//! epoch's term sums become the loss as [`Kernel::eval_with`] makes it.

use std::cell::Ref;

use super::optim::{AdamDevice, Eval, Objective, Stop};
use crate::backend::{AdamState, AdamUpdate, DeviceAdam};
use crate::kernel::{Kernel, KernelError, PointBatch};

/// Whether Adam may run on the device: yes unless `PDENET_GPU_ADAM=host`, which
/// keeps the host's f64 Adam over the device's gradient (for comparisons).
pub fn allowed() -> bool {
    std::env::var("PDENET_GPU_ADAM").map_or(true, |v| v != "host")
}

/// The fewest epochs between a phase's redraws, reweighings and error measurements
/// for Adam to run on the device: each segment between them sends θ, the moments,
/// the last good θ and the mask there and reads all but the mask back (about ten
/// θ-sized vectors, what two epochs with the update on the host move for a problem
/// of four point sets).
pub const MIN_SEGMENT: usize = 8;

/// An engine's device Adam over the run's point sets.
pub struct DeviceRun<'e> {
    pub engine: &'e dyn DeviceAdam,
    pub kernel: &'e Kernel,
    pub batches: Ref<'e, Vec<PointBatch>>,
    /// The terms' weight multipliers when the run balances them.
    pub scale: Option<&'e [f64]>,
}

/// One epoch's loss: each term (unweighted) and the weighted total.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLoss {
    pub terms: Vec<f64>,
    pub total: f64,
    /// Whether θ moved (every total was finite).
    pub updated: bool,
    /// The watched entries of θ after the step.
    pub watched: Vec<f64>,
}

impl DeviceRun<'_> {
    /// Puts `state` on the device with the seeds of the current points and weights.
    pub fn load(&self, state: &AdamState, trains: &[bool]) -> Result<(), KernelError> {
        let seeds = self.kernel.seeds(&self.batches, self.scale, None);
        self.engine.load(state, &seeds, trains)
    }

    /// One epoch, and the loss at the θ it started from.
    pub fn epoch(&self, update: &AdamUpdate, watch: &[usize]) -> Result<EpochLoss, KernelError> {
        let e = self.engine.epoch(&self.batches, update, watch)?;
        let (terms, total) = (self.kernel).terms_and_total(&self.batches, self.scale, &e.sums);
        Ok(EpochLoss {
            terms,
            total,
            updated: e.updated,
            watched: e.watched,
        })
    }

    /// The state as the device holds it, and the last epoch's gradient.
    pub fn unload(&self) -> Result<(AdamState, Vec<f64>), KernelError> {
        self.engine.unload()
    }
}

/// A device run as the whole objective, every entry of θ training and none
/// watched: what `pdenet bench` times Adam's device epochs with.
pub struct Timed<'e>(pub DeviceRun<'e>);

impl Objective for Timed<'_> {
    fn eval(&mut self, _theta: &[f64]) -> Result<Eval, Stop> {
        Err(Stop::new("this objective evaluates on the device only"))
    }

    fn adam_device(&mut self) -> Option<&mut dyn AdamDevice> {
        Some(self)
    }
}

impl AdamDevice for Timed<'_> {
    fn load(&mut self, state: &AdamState) -> Result<(), Stop> {
        let trains = vec![true; state.theta.len()];
        self.0
            .load(state, &trains)
            .map_err(|e| Stop::new(e.to_string()))
    }

    fn epoch(&mut self, update: &AdamUpdate, _theta: &mut [f64]) -> Result<(f64, bool), Stop> {
        let e = self
            .0
            .epoch(update, &[])
            .map_err(|e| Stop::new(e.to_string()))?;
        Ok((e.total, e.updated))
    }

    fn unload(&mut self) -> Result<(AdamState, Vec<f64>), Stop> {
        self.0.unload().map_err(|e| Stop::new(e.to_string()))
    }
}
