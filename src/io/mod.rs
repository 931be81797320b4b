//! Input and output: reading MATLAB v5 data files, writing and reading back what
//! a run leaves (report, model, predictions as .npy and .mat, pictures), all
//! committed as one set by a manifest; checkpoints and exports. Besides this module,
//! only `main.rs`, `session` (and the Python package through it) touch the file
//! system.

pub mod checkpoint;
pub mod datafile;
pub mod export;
pub(crate) mod machine;
pub(crate) mod manifest;
mod mat;
mod mat_scan;
pub mod matwrite;
pub mod model;
pub mod npy;
pub mod npz;
pub mod output;
mod pictures;
mod plots;
mod png;
pub mod table;

pub use mat::{parse_mat, read_mat, Array, MatData, MatError, Skipped};

/// A file-name and MATLAB-identifier friendly spelling of a quantity's name:
/// Greek letters spelled out (ψ → psi), `|h|` → `abs_h`, anything else not
/// alphanumeric → `_`.
pub fn ascii_name(name: &str) -> String {
    #[rustfmt::skip]
    const GREEK: [(char, &str); 24] = [
        ('α', "alpha"), ('β', "beta"), ('γ', "gamma"), ('δ', "delta"), ('ε', "epsilon"),
        ('ζ', "zeta"), ('η', "eta"), ('θ', "theta"), ('ι', "iota"), ('κ', "kappa"),
        ('λ', "lambda"), ('μ', "mu"), ('ν', "nu"), ('ξ', "xi"), ('ο', "omicron"),
        ('π', "pi"), ('ρ', "rho"), ('σ', "sigma"), ('τ', "tau"), ('υ', "upsilon"),
        ('φ', "phi"), ('χ', "chi"), ('ψ', "psi"), ('ω', "omega"),
    ];
    let mut s = String::new();
    let trimmed = match name.strip_prefix('|').and_then(|n| n.strip_suffix('|')) {
        Some(inner) => {
            s.push_str("abs_");
            inner
        }
        None => name,
    };
    for ch in trimmed.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            s.push(ch);
        } else if let Some((_, g)) = GREEK
            .iter()
            .find(|(c, _)| *c == ch.to_lowercase().next().unwrap_or(ch))
        {
            s.push_str(g);
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_end_matches('_').to_string();
    match s.chars().next() {
        None => "v".into(),
        Some(c) if c.is_ascii_digit() || c == '_' => format!("v{s}"),
        Some(_) => s,
    }
}
