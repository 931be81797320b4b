//! The symbolic stage: between `check` (which produces residuals with unexpanded `D`)
//! and `net`/`kernel` (which need plain expressions over network-output jets).
//!
//! * [`expand`] removes every `D` by a direct recursive pass with the usual rules
//!   (never in egg: an e-graph of expanded derivatives explodes).
//! * [`simplify`] runs egg on the `D`-free result: constant folding, identities,
//!   collection of numeric coefficients and powers, extraction by operation count,
//!   then a tidy pass that puts terms in source order (`u_t + u*u_x - ν*u_xx`).
//! * [`isolate`] solves a residual that is linear in u_t for u_t (discrete-time
//!   schemes).
//! * [`derivatives`] lists the output jets an expression needs, [`display`] is the
//!   printer behind `--emit residual`.
//!
//! This module knows nothing of the syntax, of networks or of the kernel; egg types
//! never leave it.

mod expand;
mod isolate;
mod ops;
mod print;
mod simplify;
mod tidy;

#[cfg(test)]
mod tests;

pub use expand::expand;
pub use isolate::isolate;
pub use print::{display, Names};
pub use simplify::{simplify, Limits};

use crate::expr::{Deriv, Expr, OutputId};
use std::collections::BTreeSet;

/// The network-output derivatives `e` reads: (output, multi-index, site) of every
/// `Out` leaf. Not closed under sub-indices (the jet propagation does that), and
/// meant for expanded expressions: a `D` still present is not accounted for.
pub fn derivatives(e: &Expr) -> BTreeSet<(OutputId, Deriv, u8)> {
    let mut found = BTreeSet::new();
    visit_leaves(e, &mut |leaf| {
        if let Expr::Out {
            output,
            deriv,
            site,
        } = leaf
        {
            found.insert((*output, deriv.clone(), *site));
        }
    });
    found
}

/// Calls `f` on every leaf of `e`, left to right (a `D` is entered: its operand's
/// leaves are visited).
pub(crate) fn visit_leaves(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    let children = e.children();
    if children.is_empty() {
        f(e);
    }
    for child in children {
        visit_leaves(child, f);
    }
}
