//! `simplify` (one line per rewrite, value preservation at random points), `isolate`
//! on the discrete-time problems, and the printer.

use super::*;
use crate::sym::expand::ExpandError;
use crate::sym::isolate::IsolateError;

/// Expands and simplifies `src` and checks the printed result and its value.
fn simplifies(src: &str, expect: &str) {
    let e = expand(&parse(src)).unwrap_or_else(|err| panic!("{src}: {err}"));
    let s = simplify(&e, &Limits::default());
    assert_eq!(
        show(&s.expr),
        expect,
        "simplifying {src} ({})",
        s.stop_reason
    );
    assert_same_value(&e, &s.expr, src);
}

/// Asserts that two expressions agree at a few random environments.
fn assert_same_value(a: &Expr, b: &Expr, what: &str) {
    for seed in 0..8 {
        let env = RandomEnv(seed);
        assert_close(eval(a, &env), eval(b, &env), 1e-12, what);
    }
}

fn isolates(residual: &str, expect: &str) {
    let n = isolate(&parse(residual), &parse("u_t")).unwrap_or_else(|e| panic!("{residual}: {e}"));
    assert_eq!(show(&n), expect, "isolating u_t in {residual}");
    // R(u_t = N) must vanish.
    let r = expand(&parse(residual)).expect("expands");
    let u_t = parse("u_t");
    let back = r.substitute(&|leaf| (leaf == &u_t).then(|| n.clone()));
    for seed in 0..8 {
        assert_close(eval(&back, &RandomEnv(seed)), 0.0, 1e-12, residual);
    }
}

fn prints(src: &str, expect: &str) {
    assert_eq!(show(&parse(src)), expect);
}

const BURGERS: &str = "(- (+ u_t (* u u_x)) (* 0.0031830988618379067 u_xx))";
const ALLEN_CAHN: &str = "(+ (- (+ (- u_t (* 0.0001 u_xx)) (* 5 (^ u 3))) (* 5 u)) 0)";
const KDV: &str = "(+ (+ u_t (* (* λ1 u) u_x)) (* λ2 u_xxx))";

#[rustfmt::skip]
mod rules {
    use super::*;

    #[test] fn sub_self()       { simplifies("(- (* u u_x) (* u u_x))", "0"); }
    #[test] fn coefficients()   { simplifies("(* (* 2 x) 3)", "6*x"); }
    #[test] fn coefficients_r() { simplifies("(* 2 (* u_x 3))", "6*u_x"); }
    #[test] fn fold_div()       { simplifies("(/ 0.01 pi)", "0.003183098861837907"); }
    #[test] fn fold_pi_pi()     { simplifies("(/ pi pi)", "1"); }
    #[test] fn fold_sin_pi()    { simplifies("(sin pi)", "1.2246467991473532e-16"); }
    #[test] fn fold_func()      { simplifies("(* (exp 0) u)", "u"); }
    #[test] fn add_zero()       { simplifies("(+ u 0)", "u"); }
    #[test] fn mul_one()        { simplifies("(* 1 u)", "u"); }
    #[test] fn mul_zero()       { simplifies("(* u_xx 0)", "0"); }
    #[test] fn div_one()        { simplifies("(/ u 1)", "u"); }
    #[test] fn neg_neg()        { simplifies("(neg (neg u))", "u"); }
    #[test] fn add_self()       { simplifies("(+ u u)", "2*u"); }
    #[test] fn collect()        { simplifies("(+ (* 2 u) (* 3 u))", "5*u"); }
    #[test] fn cancel()         { simplifies("(- (+ u_x 1) 1)", "u_x"); }
    #[test] fn square()         { simplifies("(* u u)", "u^2"); }
    #[test] fn cube()           { simplifies("(* (* u u) u)", "u^3"); }
    #[test] fn powers()         { simplifies("(* (^ u 2) (^ u 3))", "u^5"); }
    #[test] fn pow_one()        { simplifies("(^ u_x 1)", "u_x"); }
    #[test] fn sub_as_sub()     { simplifies("(+ u_t (* -2 u_xx))", "u_t - 2*u_xx"); }
    #[test] fn const_last()     { simplifies("(* x (- x 1))", "x*(x - 1)"); }
    #[test] fn neg_const_last() { simplifies("(+ -0.5 (abs (+ -0.5 x)))", "abs(x - 0.5) - 0.5"); }
    #[test] fn nested_sign()    { simplifies("(* (neg (* u λ1)) u_x)", "-λ1*u*u_x"); }
    #[test] fn leading_neg()    { simplifies("(+ (* -2 u_xx) u_t)", "-2*u_xx + u_t"); }
    #[test] fn burgers()        { simplifies(BURGERS, "u_t + u*u_x - 0.0031830988618379067*u_xx"); }
    #[test] fn kdv()            { simplifies(KDV, "u_t + λ1*u*u_x + λ2*u_xxx"); }
    #[test] fn d_then_simplify() { simplifies("(d (* u u) x)", "2*u*u_x"); }
}

#[test]
fn simplify_reports_its_run() {
    let s = simplify(&parse(BURGERS), &Limits::default());
    assert!(s.iterations > 0 && s.egraph_nodes > 0);
    assert!(!s.stop_reason.is_empty());
    let tight = Limits {
        iterations: 1,
        ..Limits::default()
    };
    let s = simplify(&parse(BURGERS), &tight);
    assert_eq!(s.stop_reason, "iteration limit 1");
    assert_same_value(&parse(BURGERS), &s.expr, "one iteration");
}

/// A random expression over a few leaves (so that subterms repeat and the
/// collection rules fire); every operation stays finite on [−1, 1].
fn random_expr(rng: &mut Rng, depth: usize) -> Expr {
    const LEAVES: [&str; 8] = ["u", "u_x", "u_t", "u_xx", "x", "λ1", "data0", "shared0"];
    if depth == 0 || rng.below(5) == 0 {
        return match rng.below(4) {
            0 => Expr::Num([0.0, 1.0, 2.0, -1.0, 0.5, -3.0][rng.below(6)]),
            _ => parse(LEAVES[rng.below(LEAVES.len())]),
        };
    }
    let mut sub = || random_expr(rng, depth - 1);
    let (a, b) = (sub(), sub());
    match rng.below(11) {
        0 | 1 => Expr::add(a, b),
        2 | 3 => Expr::sub(a, b),
        4 | 5 => Expr::mul(a, b),
        6 => Expr::div(a, Expr::add(Expr::num(2.0), Expr::pow(b, Expr::num(2.0)))),
        7 => Expr::neg(a),
        8 => Expr::pow(a, Expr::num([2.0, 3.0][rng.below(2)])),
        9 => Expr::call([Func::Sin, Func::Cos, Func::Tanh][rng.below(3)], a),
        _ => Expr::If(
            Cmp::Lt,
            Box::new(a),
            Box::new(Expr::num(0.0)),
            Box::new(b),
            Box::new(Expr::num(1.0)),
        ),
    }
}

#[test]
fn simplify_preserves_values() {
    let mut rng = Rng(1234);
    for case in 0..300 {
        let e = random_expr(&mut rng, 4);
        let s = simplify(&e, &Limits::default());
        assert_same_value(
            &e,
            &s.expr,
            &format!("case {case}: {} => {}", show(&e), show(&s.expr)),
        );
    }
}

#[test]
fn simplify_keeps_opaque_leaves() {
    let e = parse("(+ shared0 (d u x))");
    assert_eq!(
        show(&simplify(&e, &Limits::default()).expr),
        "N[1] + d(u, x)"
    );
}

#[rustfmt::skip]
mod solve {
    use super::*;

    #[test] fn burgers()    { isolates(BURGERS, "-u*u_x + 0.0031830988618379067*u_xx"); }
    #[test] fn allen_cahn() { isolates(ALLEN_CAHN, "0.0001*u_xx + 5*u - 5*u^3"); }
    #[test] fn kdv()        { isolates(KDV, "-λ1*u*u_x - λ2*u_xxx"); }
    #[test] fn scaled()     { isolates("(- (* 2 u_t) u_xx)", "0.5*u_xx"); }
    #[test] fn coefficient(){ isolates("(- (* (+ 1 (^ u 2)) u_t) u_xx)", "u_xx/(u^2 + 1)"); }
    #[test] fn in_d()       { isolates("(+ (d u t) (d (* 0.5 (^ u 2)) x))", "-u*u_x"); }
}

#[test]
fn isolate_errors() {
    let u_t = parse("u_t");
    let fails = |src: &str| isolate(&parse(src), &u_t).expect_err(src);
    assert_eq!(fails("(+ (^ u_t 2) u_xx)"), IsolateError::NotLinear);
    assert_eq!(fails("(+ (* u_t u_t) u)"), IsolateError::NotLinear);
    assert_eq!(fails("(+ (sin u_t) u)"), IsolateError::NotLinear);
    assert_eq!(fails("(if< u_t 0 u 1)"), IsolateError::NotLinear);
    assert_eq!(fails("(+ u_x u_xx)"), IsolateError::Absent);
    assert_eq!(fails("(+ (- u_t u_t) u)"), IsolateError::ZeroCoefficient);
    assert_eq!(
        fails("(+ u_t (* shared0 u))"),
        IsolateError::Expand(ExpandError::SharedInDerivative(0))
    );
    let err = isolate(&parse("u_t"), &parse("(+ u_t 1)")).expect_err("not a leaf");
    assert_eq!(err, IsolateError::TargetNotALeaf);
    assert_eq!(fails("(* u_t u_t)").to_string(), "the residual is not linear in the term to solve for (it appears squared, inside a function, in a denominator or in a condition)");
}

#[rustfmt::skip]
mod printer {
    use super::*;

    #[test] fn burgers()      { prints(BURGERS, "u_t + u*u_x - 0.0031830988618379067*u_xx"); }
    #[test] fn jets()         { prints("(+ u_xxt (* u_x@1 h_x))", "u_xxt + u_x@1*re(h)_x"); }
    #[test] fn not_ident()    { prints("(* w_x w)", "u[3]_x*u[3]"); }
    #[test] fn sum_right()    { prints("(- u (+ u u_x))", "u - (u + u_x)"); }
    #[test] fn sum_assoc()    { prints("(+ u (+ u_x u_t))", "u + u_x + u_t"); }
    #[test] fn prod_in_sum()  { prints("(* (+ u 1) (- u 1))", "(u + 1)*(u - 1)"); }
    #[test] fn quotient()     { prints("(/ u (* 2 u_x))", "u/(2*u_x)"); }
    #[test] fn quot_left()    { prints("(/ (* u 2) u_x)", "u*2/u_x"); }
    #[test] fn neg_product()  { prints("(neg (* u u_x))", "-u*u_x"); }
    #[test] fn neg_sum()      { prints("(neg (+ u u_x))", "-(u + u_x)"); }
    #[test] fn neg_right()    { prints("(- u (neg u_x))", "u - (-u_x)"); }
    #[test] fn neg_num()      { prints("(* u -2)", "u*(-2)"); }
    #[test] fn neg_num_left() { prints("(* -2 u)", "-2*u"); }
    #[test] fn pow_neg_base() { prints("(^ (neg u) 2)", "(-u)^2"); }
    #[test] fn pow_neg_exp()  { prints("(^ u -1)", "u^(-1)"); }
    #[test] fn pow_sum()      { prints("(^ (+ u 1) (- λ1 1))", "(u + 1)^(λ1 - 1)"); }
    #[test] fn pow_pow()      { prints("(^ (^ u 2) 3)", "(u^2)^3"); }
    #[test] fn func()         { prints("(* (tanh (+ x t)) (sin u))", "tanh(x + t)*sin(u)"); }
    #[test] fn conditional()  { prints("(+ 1 (if<= x 0.5 u 0))", "1 + (if x <= 0.5 then u else 0)"); }
    #[test] fn numbers()      { prints("(+ (+ 1e-10 2.5) 1e20)", "1e-10 + 2.5 + 1e20"); }
    #[test] fn params_data()  { prints("(- (* λ1 data0) λ2)", "λ1*u_data - λ2"); }
    #[test] fn neg_in_sum()   { prints("(+ u (* (neg u_x) u))", "u + (-u_x*u)"); }
    #[test] fn unexpanded()   { prints("(d (* u u) x)", "d(u*u, x)"); }
}

/// A Navier–Stokes-shaped residual (ψ is u here and t stands in for y): the
/// expansion's `+ -a*b` becomes a subtraction, terms stay in source order.
#[test]
fn navier_stokes_shape() {
    let src = "(- (+ (d u_t t) (* λ1 (+ (* u_t (d u_t x)) (* (neg u_x) (d u_t t))))) \
               (* λ2 (+ (d (d u_t x) x) (d (d u_t t) t))))";
    let e = expand(&parse(src)).expect("expands");
    assert_eq!(
        show(&e),
        "u_tt + λ1*(u_t*u_xt + (-u_x*u_tt)) - λ2*(u_xxt + u_ttt)"
    );
    let s = simplify(&e, &Limits::default());
    assert_eq!(
        show(&s.expr),
        "u_tt + λ1*(u_t*u_xt - u_x*u_tt) - λ2*(u_xxt + u_ttt)"
    );
    assert_eq!(s.stop_reason, "saturated");
}

/// A large expanded derivative stops at the node limit and still keeps its value.
#[test]
fn large_expression_stops_at_a_limit() {
    let src = "(d (d (d (d (* (tanh (* u x)) (exp (* u_t t))) x) x) t) x)";
    let big = expand(&parse(src)).expect("expands");
    let s = simplify(&big, &Limits::default());
    assert!(s.stop_reason.starts_with("node limit"), "{}", s.stop_reason);
    assert!(show(&s.expr).len() < show(&big).len());
    assert_same_value(&big, &s.expr, "large expression");
}
