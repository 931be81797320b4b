//! Solving a residual for one leaf, for discrete-time (IRK) schemes: from
//! R(u_t, u, u_x, …) = 0, linear in u_t, get u_t = N[u] = −R|_{u_t=0} / (∂R/∂u_t).

use super::expand::{derivative, expand, ExpandError, Wrt};
use super::simplify::{simplify, Limits};
use super::visit_leaves;
use crate::expr::Expr;
use thiserror::Error;

/// Why a residual could not be solved for the target.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum IsolateError {
    #[error("the target to solve for must be a leaf (an output derivative, a coordinate, a parameter or a data column)")]
    TargetNotALeaf,
    #[error("the residual does not contain the term to solve for")]
    Absent,
    #[error("the residual is not linear in the term to solve for (it appears squared, inside a function, in a denominator or in a condition)")]
    NotLinear,
    #[error("the coefficient of the term to solve for simplifies to zero")]
    ZeroCoefficient,
    #[error("while expanding the residual: {0}")]
    Expand(#[from] ExpandError),
}

/// Returns N with R = 0 ⇔ target = N, for a residual R linear in `target`: checks that
/// ∂R/∂target is free of the target and not identically zero, then returns
/// −R|_{target=0} / (∂R/∂target), simplified. The coefficient may depend on other
/// leaves (R = (1 + u²)·u_t − u_xx gives N = u_xx/(1 + u²)).
pub fn isolate(residual: &Expr, target: &Expr) -> Result<Expr, IsolateError> {
    if !is_leaf(target) || matches!(target, Expr::Num(_)) {
        return Err(IsolateError::TargetNotALeaf);
    }
    let r = expand(residual)?;
    if !contains(&r, target) {
        return Err(IsolateError::Absent);
    }
    if in_condition(&r, target) {
        return Err(IsolateError::NotLinear);
    }
    let limits = Limits::default();
    let coefficient = simplify(&derivative(&r, Wrt::Leaf(target))?, &limits).expr;
    if contains(&coefficient, target) {
        return Err(IsolateError::NotLinear);
    }
    if coefficient == Expr::Num(0.0) {
        return Err(IsolateError::ZeroCoefficient);
    }
    let rest = r.substitute(&|leaf| (leaf == target).then_some(Expr::Num(0.0)));
    let solved = Expr::neg(Expr::div(rest, coefficient));
    Ok(simplify(&solved, &limits).expr)
}

fn is_leaf(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Num(_)
            | Expr::Coord(_)
            | Expr::Param(_)
            | Expr::Out { .. }
            | Expr::Data(_)
            | Expr::Shared(_)
            | Expr::Table { .. }
    )
}

fn contains(e: &Expr, target: &Expr) -> bool {
    let mut found = false;
    visit_leaves(e, &mut |leaf| found |= leaf == target);
    found
}

/// Whether the target appears in the condition of an `if` (the derivative does not
/// see conditions, so linearity must be checked there separately).
fn in_condition(e: &Expr, target: &Expr) -> bool {
    match e {
        Expr::If(_, l, r, x, y) => {
            contains(l, target)
                || contains(r, target)
                || in_condition(x, target)
                || in_condition(y, target)
        }
        _ => e.children().into_iter().any(|c| in_condition(c, target)),
    }
}
