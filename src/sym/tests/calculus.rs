//! `expand`: the derivative rules one per line, checked against central finite
//! differences; `derivatives`, `substitute`, `eval`.

use super::*;
use crate::sym::expand::ExpandError;

/// Expands `src` and checks the printed result.
fn expands(src: &str, expect: &str) {
    let e = expand(&parse(src)).unwrap_or_else(|err| panic!("{src}: {err}"));
    assert_eq!(show(&e), expect, "expanding {src}");
}

/// The rule table, one rule per line.
#[rustfmt::skip]
mod rules {
    use super::*;

    #[test] fn d_const()       { expands("(d 3 x)", "0"); }
    #[test] fn d_coord()       { expands("(d x x)", "1"); }
    #[test] fn d_other_coord() { expands("(d t x)", "0"); }
    #[test] fn d_param()       { expands("(d λ1 x)", "0"); }
    #[test] fn d_data()        { expands("(d data0 x)", "0"); }
    #[test] fn d_out()         { expands("(d u x)", "u_x"); }
    #[test] fn d_out_mixed()   { expands("(d u_xx t)", "u_xxt"); }
    #[test] fn d_out_site()    { expands("(d u@1 x)", "u_x@1"); }
    #[test] fn d_add()         { expands("(d (+ u x) x)", "u_x + 1"); }
    #[test] fn d_sub()         { expands("(d (- u t) x)", "u_x"); }
    #[test] fn d_neg()         { expands("(d (neg u) t)", "-u_t"); }
    #[test] fn d_cube()        { expands("(d (^ x 3) x)", "3*x^2"); }
    #[test] fn d_square()      { expands("(d (^ u 2) x)", "2*u*u_x"); }
    #[test] fn d_param_power() { expands("(d (^ u λ1) x)", "λ1*u^(λ1 - 1)*u_x"); }
    #[test] fn d_general_pow() { expands("(d (^ x x) x)", "x^x*(log(x) + x/x)"); }
    #[test] fn d_product()     { expands("(d (* u u_x) x)", "u_x*u_x + u*u_xx"); }
    #[test] fn d_scaled()      { expands("(d (* 0.01 u_x) x)", "0.01*u_xx"); }
    #[test] fn d_quotient()    { expands("(d (/ u x) x)", "(u_x*x - u)/x^2"); }
    #[test] fn d_quot_const()  { expands("(d (/ u 2) x)", "u_x/2"); }
    #[test] fn d_sin_mul()     { expands("(d (sin (* x u)) x)", "cos(x*u)*(u + x*u_x)"); }
    #[test] fn d_cos()         { expands("(d (cos u) t)", "-sin(u)*u_t"); }
    #[test] fn d_exp()         { expands("(d (exp (* 2 x)) x)", "exp(2*x)*2"); }
    #[test] fn d_log()         { expands("(d (log u) x)", "1/u*u_x"); }
    #[test] fn d_tanh_chain()  { expands("(d (tanh (* λ1 u)) x)", "(1 - tanh(λ1*u)^2)*λ1*u_x"); }
    #[test] fn d_sqrt()        { expands("(d (sqrt u) x)", "0.5/sqrt(u)*u_x"); }
    #[test] fn d_abs()         { expands("(d (abs u) x)", "(if u >= 0 then 1 else -1)*u_x"); }
    #[test] fn d_if()          { expands("(d (if< x 0 (* x u) u) x)", "if x < 0 then u + x*u_x else u_x"); }
    #[test] fn d_if_same()     { expands("(d (if< u 0 x (* 2 x)) t)", "0"); }
    #[test] fn d_nested()      { expands("(d (d (* u u) x) t)", "u_xt*u + u_x*u_t + u_t*u_x + u*u_xt"); }
    #[test] fn d_second()      { expands("(d (d (sin x) x) x)", "-sin(x)"); }
    #[test] fn d_inside()      { expands("(+ u_t (d (* u u) x))", "u_t + u_x*u + u*u_x"); }
    #[test] fn d_shared_free() { expands("(+ shared0 u)", "N[1] + u"); }
}

#[test]
fn d_of_shared_is_an_error() {
    let err = expand(&parse("(d (* shared0 u) x)")).expect_err("shared");
    assert_eq!(err, ExpandError::SharedInDerivative(0));
}

#[test]
fn d_along_a_missing_coordinate_is_an_error() {
    let e = Expr::d(Expr::out(OutputId(0), vec![0]), CoordId(1));
    assert_eq!(
        expand(&e),
        Err(ExpandError::CoordOutOfRange {
            coord: CoordId(1),
            len: 1
        })
    );
}

#[test]
fn d_order_overflow_is_an_error() {
    let e = Expr::d(Expr::out(OutputId(0), vec![255, 0]), CoordId(0));
    assert_eq!(expand(&e), Err(ExpandError::OrderTooHigh(CoordId(0))));
}

/// d/dx of expressions over the coordinates only, against central differences.
#[test]
fn expand_matches_finite_differences() {
    let cases = [
        "(^ x 3)",
        "(* (sin (* x t)) (exp x))",
        "(/ (+ x 2) (+ (* x x) 1))",
        "(tanh (* 3 (- x t)))",
        "(sqrt (+ 2 (cos x)))",
        "(log (+ 3 (* x t)))",
        "(^ (+ x 2) (+ t 1))",
        "(^ (+ x 2) -2)",
        "(abs (- x 0.1))",
        "(neg (* x (cos (^ x 2))))",
        "(if< x t (* x x) (sin x))",
        "(d (* (sin x) t) x)",
        "(d (* (exp x) (^ t 2)) t)",
    ];
    let h = 1e-5;
    let mut rng = Rng(7);
    for src in cases {
        let e = parse(src);
        let d = expand(&Expr::d(e.clone(), CoordId(0))).expect("expands");
        let value = expand(&e).expect("expands");
        for _ in 0..20 {
            let (x, t) = (rng.uniform(-0.9, 0.9), rng.uniform(-0.9, 0.9));
            if (x - t).abs() < 1e-3 || (x - 0.1).abs() < 1e-3 {
                continue; // too close to a kink for a finite difference
            }
            let at = |x: f64| eval(&value, &CoordEnv([x, t]));
            let fd = (at(x + h) - at(x - h)) / (2.0 * h);
            assert_close(eval(&d, &CoordEnv([x, t])), fd, 1e-7, src);
        }
    }
}

#[test]
fn derivatives_lists_output_jets() {
    let e = parse("(+ (* u u_x@1) (- h_xt u_x@1))");
    let found: Vec<_> = derivatives(&e).into_iter().collect();
    assert_eq!(
        found,
        vec![
            (OutputId(0), vec![0, 0], 0),
            (OutputId(0), vec![1, 0], 1),
            (OutputId(1), vec![1, 1], 0)
        ]
    );
}

#[test]
fn substitute_replaces_leaves() {
    let e = parse("(+ u_t (* u u_x))");
    let to_stage = |leaf: &Expr| match leaf {
        Expr::Out {
            output: OutputId(0),
            deriv,
            site,
        } if deriv[1] == 0 => Some(Expr::Out {
            output: OutputId(2),
            deriv: deriv.clone(),
            site: *site,
        }),
        _ => None,
    };
    assert_eq!(show(&e.substitute(&to_stage)), "u_t + u[3]*u[3]_x");
}

#[test]
fn eval_follows_the_tree() {
    let e = parse("(if>= x 0 (- (^ x 2) (/ 1 t)) (neg (sin x)))");
    assert_eq!(eval(&e, &CoordEnv([2.0, 4.0])), 3.75);
    assert_eq!(eval(&e, &CoordEnv([-0.5, 4.0])), 0.5f64.sin());
    assert!(eval(&parse("(d u x)"), &CoordEnv([0.0, 0.0])).is_nan());
}
