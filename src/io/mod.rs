//! Input and output: reading MATLAB v5 data files (and, later, report.json, model
//! save/load and plots). Only `main.rs` and this module touch the file system.

mod mat;
mod mat_scan;
pub mod output;

pub use mat::{parse_mat, read_mat, Array, MatData, MatError, Skipped};
