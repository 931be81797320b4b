//! Numerical schemes: the discrete-time stage (`discretize`: a step's equation and
//! snapshots → loss terms), the Gauss–Legendre implicit Runge–Kutta tableaus behind
//! `scheme irk(stages = q)`, and the shooting method that gives the eigenvalue
//! examples their reference energies.

pub mod discretize;
/// Test-side only: it computes the references the eigenvalue examples are scored
/// against (`cargo test --release --lib wells -- --nocapture`).
#[cfg(test)]
pub(crate) mod eigen;
pub mod irk;

pub use discretize::discretize;
