//! pdenet: a small language and an optimizing compiler for physics-informed neural
//! networks. The library is the pipeline; `main.rs` is only the command line.
//!
//! Stages, each a module with plain data in and out (see docs/ARCHITECTURE.md):
//! `syntax` (text → AST) → `check` (AST → [`problem::Problem`]) → `sym` (derivative
//! expansion and simplification) → `kernel` (jets through the layers, one fused
//! loss-and-gradient program, its passes and the interpreter). `net` is θ's layout
//! and initialization; `primitive` is the one table of primitive derivatives.

pub mod adf;
pub mod backend;
pub mod bench;
pub mod check;
/// MPI jobs (`mpirun -np N pdenet run`): the `mpi` feature.
#[cfg(feature = "mpi")]
pub mod cluster;
pub mod crew;
pub mod describe;
pub mod diag;
pub mod eval;
pub mod expr;
pub mod geometry;
pub mod io;
pub mod kernel;
pub mod net;
pub mod pipeline;
pub(crate) mod primitive;
pub mod problem;
pub mod progress;
pub(crate) mod scheme;
pub mod session;
pub(crate) mod stdlib;
pub(crate) mod sym;
pub mod syntax;
pub mod table;
pub mod train;
