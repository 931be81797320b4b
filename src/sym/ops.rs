//! Smart constructors that do the light, exact local simplification the direct passes
//! (`expand`, `isolate`, the tidy pass) need so that their output does not fill up
//! with `0·x`, `1·x` and `x + 0`.
//!
//! Every rule here is exact in f64 for finite operands: folding two numbers computes
//! the very operation the kernel would compute at run time, and the identities
//! (`x + 0`, `x·1`, `−(−x)`) do not round. `0·x → 0` differs from IEEE only when x is
//! infinite or NaN, which a residual never is on purpose.

use crate::expr::{Expr, Func};

pub(crate) fn is_num(e: &Expr, v: f64) -> bool {
    matches!(e, Expr::Num(n) if *n == v)
}

/// Folds a number only when the result is finite, so that a division by zero or the
/// log of a negative number stays visible in the expression instead of becoming NaN.
fn fold(v: f64, otherwise: impl FnOnce() -> Expr) -> Expr {
    if v.is_finite() {
        Expr::Num(v)
    } else {
        otherwise()
    }
}

pub(crate) fn add(a: Expr, b: Expr) -> Expr {
    match (&a, &b) {
        (_, _) if is_num(&a, 0.0) => b,
        (_, _) if is_num(&b, 0.0) => a,
        (Expr::Num(x), Expr::Num(y)) => fold(x + y, || Expr::add(a.clone(), b.clone())),
        (_, Expr::Neg(nb)) => sub(a, (**nb).clone()),
        _ => Expr::add(a, b),
    }
}

pub(crate) fn sub(a: Expr, b: Expr) -> Expr {
    match (&a, &b) {
        (_, _) if is_num(&b, 0.0) => a,
        (_, _) if is_num(&a, 0.0) => neg(b),
        (Expr::Num(x), Expr::Num(y)) => fold(x - y, || Expr::sub(a.clone(), b.clone())),
        (_, Expr::Neg(nb)) => add(a, (**nb).clone()),
        _ => Expr::sub(a, b),
    }
}

pub(crate) fn neg(a: Expr) -> Expr {
    match a {
        Expr::Num(x) => Expr::Num(-x),
        Expr::Neg(inner) => *inner,
        _ => Expr::neg(a),
    }
}

pub(crate) fn mul(a: Expr, b: Expr) -> Expr {
    match (&a, &b) {
        (_, _) if is_num(&a, 0.0) || is_num(&b, 0.0) => Expr::Num(0.0),
        (_, _) if is_num(&a, 1.0) => b,
        (_, _) if is_num(&b, 1.0) => a,
        (_, _) if is_num(&a, -1.0) => neg(b),
        (_, _) if is_num(&b, -1.0) => neg(a),
        (Expr::Num(x), Expr::Num(y)) => fold(x * y, || Expr::mul(a.clone(), b.clone())),
        _ => Expr::mul(a, b),
    }
}

pub(crate) fn div(a: Expr, b: Expr) -> Expr {
    match (&a, &b) {
        (_, _) if is_num(&b, 1.0) => a,
        (Expr::Num(x), Expr::Num(y)) => fold(x / y, || Expr::div(a.clone(), b.clone())),
        (_, _) if is_num(&a, 0.0) => Expr::Num(0.0),
        _ => Expr::div(a, b),
    }
}

pub(crate) fn pow(a: Expr, b: Expr) -> Expr {
    match (&a, &b) {
        (_, _) if is_num(&b, 1.0) => a,
        (_, _) if is_num(&b, 0.0) => Expr::Num(1.0),
        (Expr::Num(x), Expr::Num(y)) => fold(x.powf(*y), || Expr::pow(a.clone(), b.clone())),
        _ => Expr::pow(a, b),
    }
}

pub(crate) fn call(f: Func, a: Expr) -> Expr {
    match a {
        Expr::Num(x) => fold(f.eval(x), || Expr::call(f, a.clone())),
        _ => Expr::call(f, a),
    }
}
