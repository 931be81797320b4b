//! Training: point sets, optimizers and the training loop.

pub mod points;
