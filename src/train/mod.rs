//! Training: everything `pdenet run` does after the kernel is built.

pub mod optim;
