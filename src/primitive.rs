//! The one table of primitive derivatives, in the style of JAX's jet rules: for each
//! primitive function f, f′ written as a tiny expression over its argument `a` and its
//! value `y = f(a)` ([`Prime`]).
//!
//! Three passes read it, each through its own [`Interp`]: `sym::expand` builds an
//! `Expr`, `kernel::ad` builds kernel IR ops for the reverse pass and `kernel::jets`
//! builds the Taylor coefficients of f′(z) order by order. Writing f′ once keeps them
//! from disagreeing (|x|′ used to be x/|x| in one and sign(x) in the others).
//!
//! Rules are written in terms of y where that lets the passes reuse the value they
//! already computed (tanh′ = 1 − y² needs no second tanh). A rule may apply a primitive
//! only to the argument itself ([`Prime::Of`]): the jet pass carries the jet of every
//! such h(a) beside f(a) and needs h′ from this same table, so sin′ = cos a and
//! cos′ = −sin a close on each other.

use crate::expr::Func;

/// f′ as an expression over the argument `a` and the value `y = f(a)`.
#[derive(Debug, PartialEq)]
pub enum Prime {
    /// The argument a.
    Arg,
    /// The value y = f(a).
    Value,
    Num(f64),
    Neg(&'static Prime),
    Sub(&'static Prime, &'static Prime),
    Div(&'static Prime, &'static Prime),
    /// x², written apart from x·x so that `sym` prints it as a power.
    Square(&'static Prime),
    /// Another primitive of the argument: h(a).
    Of(Func),
    /// ±1 (+1 at 0): a piecewise constant, so its own derivative is zero.
    Sign(&'static Prime),
}

/// Where the passes look up f′: [`prime`] in production; a test may pass a table with
/// a deliberately wrong rule to show that gradcheck catches it.
pub type Rules = fn(Func) -> &'static Prime;

/// f′ of every primitive. Adding a primitive adds one line here.
#[rustfmt::skip]
pub fn prime(f: Func) -> &'static Prime {
    use Prime::*;
    match f {
        Func::Sin  => &Of(Func::Cos),             // cos a
        Func::Cos  => &Neg(&Of(Func::Sin)),       // −sin a
        Func::Exp  => &Value,                     // y
        Func::Log  => &Div(&Num(1.0), &Arg),      // 1/a
        Func::Tanh => &Sub(&Num(1.0), &Square(&Value)), // 1 − y²
        Func::Sqrt => &Div(&Num(0.5), &Value),    // 0.5/y
        Func::Abs  => &Sign(&Arg),                // sign a
    }
}

/// One reading of [`Prime`]: how each node is built in some target language.
/// `V` is what a built node is in that target (an `Expr`, an IR value, a jet slot).
pub trait Interp {
    type V: Clone;
    fn arg(&mut self) -> Self::V;
    fn value(&mut self) -> Self::V;
    fn num(&mut self, c: f64) -> Self::V;
    fn neg(&mut self, x: Self::V) -> Self::V;
    fn sub(&mut self, x: Self::V, y: Self::V) -> Self::V;
    fn mul(&mut self, x: Self::V, y: Self::V) -> Self::V;
    fn div(&mut self, x: Self::V, y: Self::V) -> Self::V;
    fn square(&mut self, x: Self::V) -> Self::V;
    fn of(&mut self, h: Func) -> Self::V;
    fn sign(&mut self, x: Self::V) -> Self::V;
}

/// Builds `rule` with `i`, children before parents and left to right, so an
/// interpreter that numbers the nodes it builds sees the same numbering every time.
pub fn build<I: Interp>(rule: &Prime, i: &mut I) -> I::V {
    match rule {
        Prime::Arg => i.arg(),
        Prime::Value => i.value(),
        Prime::Num(c) => i.num(*c),
        Prime::Neg(x) => {
            let x = build(x, i);
            i.neg(x)
        }
        Prime::Sub(x, y) => {
            let (x, y) = (build(x, i), build(y, i));
            i.sub(x, y)
        }
        Prime::Div(x, y) => {
            let (x, y) = (build(x, i), build(y, i));
            i.div(x, y)
        }
        Prime::Square(x) => {
            let x = build(x, i);
            i.square(x)
        }
        Prime::Of(h) => i.of(*h),
        Prime::Sign(x) => {
            let x = build(x, i);
            i.sign(x)
        }
    }
}

/// The primitives the rule of f applies to its argument (f included, first), closed
/// under their own rules: sin needs cos and cos needs sin.
pub fn closure(f: Func, rules: Rules) -> Vec<Func> {
    let mut out = vec![f];
    let mut k = 0;
    while let Some(&g) = out.get(k) {
        let mut found = vec![];
        collect_of(rules(g), &mut found);
        for h in found {
            if !out.contains(&h) {
                out.push(h);
            }
        }
        k += 1;
    }
    out
}

/// Every `Of(h)` in `rule`, in build order.
fn collect_of(rule: &Prime, found: &mut Vec<Func>) {
    match rule {
        Prime::Arg | Prime::Value | Prime::Num(_) => {}
        Prime::Of(h) => found.push(*h),
        Prime::Neg(x) | Prime::Square(x) | Prime::Sign(x) => collect_of(x, found),
        Prime::Sub(x, y) | Prime::Div(x, y) => {
            collect_of(x, found);
            collect_of(y, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates a rule in f64, the reference the three passes are tested against.
    struct At(f64, Func);
    impl Interp for At {
        type V = f64;
        fn arg(&mut self) -> f64 {
            self.0
        }
        fn value(&mut self) -> f64 {
            self.1.eval(self.0)
        }
        fn num(&mut self, c: f64) -> f64 {
            c
        }
        fn neg(&mut self, x: f64) -> f64 {
            -x
        }
        fn sub(&mut self, x: f64, y: f64) -> f64 {
            x - y
        }
        fn mul(&mut self, x: f64, y: f64) -> f64 {
            x * y
        }
        fn div(&mut self, x: f64, y: f64) -> f64 {
            x / y
        }
        fn square(&mut self, x: f64) -> f64 {
            x * x
        }
        fn of(&mut self, h: Func) -> f64 {
            h.eval(self.0)
        }
        fn sign(&mut self, x: f64) -> f64 {
            if x >= 0.0 {
                1.0
            } else {
                -1.0
            }
        }
    }

    #[test]
    fn every_rule_matches_a_central_difference() {
        for f in Func::ALL {
            for a in [0.3, 0.7, 1.9] {
                let h = 1e-6;
                let fd = (f.eval(a + h) - f.eval(a - h)) / (2.0 * h);
                let d = build(prime(f), &mut At(a, f));
                assert!((d - fd).abs() < 1e-6, "{f:?} at {a}: {d} vs {fd}");
            }
        }
    }

    #[test]
    fn sin_and_cos_close_on_each_other() {
        assert_eq!(closure(Func::Sin, prime), [Func::Sin, Func::Cos]);
        assert_eq!(closure(Func::Tanh, prime), [Func::Tanh]);
    }
}
