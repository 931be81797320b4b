//! Derivative expansion: removes every `D` by a direct recursive pass.
//!
//! This is deliberately not done in egg: an e-graph of expanded derivatives (products
//! of sums of products …) grows without bound before extraction can pick a small
//! tree. The rules form one table, [`derivative`], matched exhaustively on [`Expr`] so a new
//! node kind does not compile until it has a rule. The same table differentiates with
//! respect to a coordinate (for `D`) and with respect to one leaf (for `isolate`,
//! which needs ∂R/∂u_t); only the leaf rules differ, see [`Wrt`]. f′ of a primitive
//! function is read from `crate::primitive`, the table `kernel` reads too.

use super::ops::{add, call, div, is_num, mul, neg, pow, sub};
use crate::expr::{Cmp, CoordId, Expr, Func};
use crate::primitive::{build, prime, Interp};
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
    match e {
        Expr::D(inner, c) => derivative(&expand(inner)?, Wrt::Coord(*c)),
        _ => e.try_map_children(expand),
    }
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
            Wrt::Coord(c) => Expr::Out {
                output: *output,
                deriv: raised(deriv, c)?,
                site: *site,
            },
            Wrt::Leaf(_) => leaf_or_zero(e, wrt),
        },
        Expr::Table { table, deriv } => match wrt {
            Wrt::Coord(c) => Expr::Table {
                table: *table,
                deriv: raised(deriv, c)?,
            },
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

/// A multi-index one order higher along c.
fn raised(deriv: &[u8], c: CoordId) -> Result<Vec<u8>, ExpandError> {
    let mut deriv = deriv.to_vec();
    let len = deriv.len();
    let slot = deriv
        .get_mut(c.0)
        .ok_or(ExpandError::CoordOutOfRange { coord: c, len })?;
    *slot = slot.checked_add(1).ok_or(ExpandError::OrderTooHigh(c))?;
    Ok(deriv)
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

/// f'(a) for each primitive function, read from the one table: the value y is
/// written out as f(a) because an expression has no names for shared values.
fn func_derivative(f: Func, a: &Expr) -> Expr {
    build(prime(f), &mut SymPrime { f, a })
}

/// Reads [`crate::primitive::Prime`] as an `Expr` with the light simplification of
/// [`super::ops`].
struct SymPrime<'a> {
    f: Func,
    a: &'a Expr,
}

impl Interp for SymPrime<'_> {
    type V = Expr;
    fn arg(&mut self) -> Expr {
        self.a.clone()
    }
    fn value(&mut self) -> Expr {
        call(self.f, self.a.clone())
    }
    fn num(&mut self, c: f64) -> Expr {
        Expr::Num(c)
    }
    fn neg(&mut self, x: Expr) -> Expr {
        neg(x)
    }
    fn sub(&mut self, x: Expr, y: Expr) -> Expr {
        sub(x, y)
    }
    fn mul(&mut self, x: Expr, y: Expr) -> Expr {
        mul(x, y)
    }
    fn div(&mut self, x: Expr, y: Expr) -> Expr {
        div(x, y)
    }
    fn square(&mut self, x: Expr) -> Expr {
        pow(x, Expr::Num(2.0))
    }
    fn of(&mut self, h: Func) -> Expr {
        call(h, self.a.clone())
    }
    /// `if x >= 0 then 1 else -1`, the kernel's sign.
    fn sign(&mut self, x: Expr) -> Expr {
        let (zero, one, minus_one) = (Expr::Num(0.0), Expr::Num(1.0), Expr::Num(-1.0));
        Expr::If(
            Cmp::Ge,
            Box::new(x),
            Box::new(zero),
            Box::new(one),
            Box::new(minus_one),
        )
    }
}
