//! Numerical schemes: the Gauss–Legendre implicit Runge–Kutta tableaus behind
//! `scheme irk(stages = q)`, and the shooting method that gives the eigenvalue
//! examples their reference energies.

pub mod eigen;
pub mod irk;

pub use irk::{gauss_legendre, read_butcher, Tableau, TableauError};
