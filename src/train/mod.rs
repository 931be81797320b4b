//! Training: everything `pdenet run` does after the kernel is built — point sets,
//! optimizers, the training loop and the run that ties them together.

mod causal;
pub(crate) mod device;
pub(crate) mod matrix;
mod ntk;
pub(crate) mod optim;
pub mod points;
pub(crate) mod resample;
pub mod run;
mod self_adaptive;
pub mod snapshot;
pub(crate) mod trainer;
