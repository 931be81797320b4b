//! Numerical schemes: the discrete-time stage (`discretize`: a step's equation and
//! snapshots → loss terms), the Gauss–Legendre implicit Runge–Kutta tableaus behind
//! `scheme irk(stages = q)`, and the shooting method that gives the eigenvalue
//! examples their reference energies.

pub mod discretize;
pub mod eigen;
pub mod irk;

pub use discretize::discretize;
pub use irk::{gauss_legendre, read_butcher, Tableau, TableauError};
