//! Time-stepping schemes for discrete-time PINNs: the Gauss–Legendre implicit
//! Runge–Kutta tableaus behind `scheme irk(stages = q)`.

pub mod irk;

pub use irk::{gauss_legendre, read_butcher, Tableau, TableauError};
