//! Derivative expansion: removes every `D` by a direct recursive pass.
//!
//! This is deliberately not done in egg: an e-graph of expanded derivatives (products
//! of sums of products …) grows without bound before extraction can pick a small
//! tree. The rules form one table, [`derivative`], matched exhaustively on [`Expr`] so a new
//! node kind does not compile until it has a rule. The same table differentiates with
//! respect to a coordinate (for `D`) and with respect to one leaf (for `isolate`,
//! which needs ∂R/∂u_t); only the leaf rules differ, see [`Wrt`].

use super::ops::{add, call, div, is_num, mul, neg, pow, sub};
use crate::expr::{Expr, Func};
use crate::problem::CoordId;
use thiserror::Error;

/// Why an expression could not be differentiated.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExpandError {
    /// A shared subexpression is referenced by index only, so its derivative is not
    /// known here; the IRK stage right-hand sides are never differentiated.
    #[error("cannot differentiate shared subexpression #{0}: its derivative is not known")]
    SharedInDerivative(usize),
    /// `D` along a coordinate that an output's multi-index does not have.
    #[error("derivative along coordinate #{coord} of an output with only {len} coordinates")]
    CoordOutOfRange { coord: CoordId, len: usize },
    /// A multi-index entry would pass 255.
    #[error("derivative order along coordinate #{0} exceeds 255")]
    OrderTooHigh(CoordId),
}

/// What a derivative is taken with respect to.
#[derive(Clone, Copy)]
pub(crate) enum Wrt<'a> {
    /// A coordinate: the network outputs' multi-indices move up by one.
    Coord(CoordId),
    /// One leaf (e.g. u_t) treated as an independent variable: every other leaf,
    /// including other derivatives of the same output, is constant.
    Leaf(&'a Expr),
}

/// Removes every `D` from `e`: the result has the same value and contains no `D`.
/// Nested `D`s are expanded innermost first, so `D(D(e, x), t)` works.
pub fn expand(e: &Expr) -> Result<Expr, ExpandError> {
    Ok(match e {
        Expr::D(inner, c) => derivative(&expand(inner)?, Wrt::Coord(*c))?,
        Expr::Num(_)
        | Expr::Coord(_)
        | Expr::Param(_)
        | Expr::Out { .. }
        | Expr::Data(_)
        | Expr::Shared(_) => e.clone(),
        Expr::Add(a, b) => Expr::add(expand(a)?, expand(b)?),
        Expr::Sub(a, b) => Expr::sub(expand(a)?, expand(b)?),
        Expr::Mul(a, b) => Expr::mul(expand(a)?, expand(b)?),
        Expr::Div(a, b) => Expr::div(expand(a)?, expand(b)?),
        Expr::Pow(a, b) => Expr::pow(expand(a)?, expand(b)?),
        Expr::Neg(a) => Expr::neg(expand(a)?),
        Expr::Call(f, a) => Expr::call(*f, expand(a)?),
        Expr::If(cmp, l, r, x, y) => Expr::If(
            *cmp,
            Box::new(expand(l)?),
            Box::new(expand(r)?),
            Box::new(expand(x)?),
            Box::new(expand(y)?),
        ),
    })
}

/// The derivative of `e` with respect to `wrt`, built with light simplification.
/// This is the rule table: one arm per node kind (sum, product, quotient and chain
/// rules); `D` inside is expanded first.
pub(crate) fn derivative(e: &Expr, wrt: Wrt) -> Result<Expr, ExpandError> {
    let d = |x: &Expr| derivative(x, wrt);
    Ok(match e {
        Expr::Num(_) | Expr::Param(_) | Expr::Data(_) => leaf_or_zero(e, wrt),
        Expr::Coord(c) => match wrt {
            Wrt::Coord(w) => Expr::Num(if *c == w { 1.0 } else { 0.0 }),
            Wrt::Leaf(_) => leaf_or_zero(e, wrt),
        },
        Expr::Out {
            output,
            deriv,
            site,
        } => match wrt {
            Wrt::Coord(c) => {
                let mut deriv = deriv.clone();
                let len = deriv.len();
                let slot = deriv
                    .get_mut(c)
                    .ok_or(ExpandError::CoordOutOfRange { coord: c, len })?;
                *slot = slot.checked_add(1).ok_or(ExpandError::OrderTooHigh(c))?;
                Expr::Out {
                    output: *output,
                    deriv,
                    site: *site,
                }
            }
            Wrt::Leaf(_) => leaf_or_zero(e, wrt),
        },
        Expr::Shared(k) => return Err(ExpandError::SharedInDerivative(*k)),
        Expr::Add(a, b) => add(d(a)?, d(b)?),
        Expr::Sub(a, b) => sub(d(a)?, d(b)?),
        Expr::Neg(a) => neg(d(a)?),
        Expr::Mul(a, b) => add(mul(d(a)?, (**b).clone()), mul((**a).clone(), d(b)?)),
        Expr::Div(a, b) => quotient(a, b, d(a)?, d(b)?),
        Expr::Pow(a, b) => power(a, b, d(a)?, d(b)?),
        Expr::Call(f, a) => mul(func_derivative(*f, a), d(a)?),
        Expr::If(cmp, l, r, x, y) => {
            // Piecewise: each branch's derivative; the condition selects, it is not
            // differentiated (its derivative is zero almost everywhere).
            let (dx, dy) = (d(x)?, d(y)?);
            if dx == dy {
                dx
            } else {
                Expr::If(*cmp, l.clone(), r.clone(), Box::new(dx), Box::new(dy))
            }
        }
        Expr::D(inner, c) => d(&derivative(&expand(inner)?, Wrt::Coord(*c))?)?,
    })
}

/// 1 for the leaf we differentiate by, 0 for every other leaf.
fn leaf_or_zero(e: &Expr, wrt: Wrt) -> Expr {
    match wrt {
        Wrt::Leaf(target) if target == e => Expr::Num(1.0),
        _ => Expr::Num(0.0),
    }
}

/// (a/b)' = a'/b when b is constant, else (a'·b − a·b')/b².
fn quotient(a: &Expr, b: &Expr, da: Expr, db: Expr) -> Expr {
    if is_num(&db, 0.0) {
        return div(da, b.clone());
    }
    let top = sub(mul(da, b.clone()), mul(a.clone(), db));
    div(top, pow(b.clone(), Expr::Num(2.0)))
}

/// (a^b)' = b·a^(b−1)·a' for a constant exponent (the common, integer case, which
/// must stay defined for negative a), else a^b·(b'·ln a + b·a'/a).
fn power(a: &Expr, b: &Expr, da: Expr, db: Expr) -> Expr {
    if is_num(&db, 0.0) {
        let lowered = pow(a.clone(), sub(b.clone(), Expr::Num(1.0)));
        return mul(mul(b.clone(), lowered), da);
    }
    let log_term = mul(db, call(Func::Log, a.clone()));
    let base_term = div(mul(b.clone(), da), a.clone());
    mul(Expr::pow(a.clone(), b.clone()), add(log_term, base_term))
}

/// f'(a) for each primitive function.
fn func_derivative(f: Func, a: &Expr) -> Expr {
    let a = a.clone();
    match f {
        Func::Sin => call(Func::Cos, a),
        Func::Cos => neg(call(Func::Sin, a)),
        Func::Exp => call(Func::Exp, a),
        Func::Log => div(Expr::Num(1.0), a),
        Func::Tanh => sub(Expr::Num(1.0), pow(call(Func::Tanh, a), Expr::Num(2.0))),
        Func::Sqrt => div(Expr::Num(1.0), mul(Expr::Num(2.0), call(Func::Sqrt, a))),
        // The sign of a, written so it needs no new primitive; undefined at 0 like
        // the derivative itself.
        Func::Abs => div(a.clone(), call(Func::Abs, a)),
    }
}
