//! Tests of the symbolic stage, one line each where possible (in the style of egg's
//! tests/math.rs). Expressions are written as s-expressions over the coordinates
//! x, t, the outputs u, h, w (`u_xt`, `u_x@1`), the parameters λ1, λ2 and `data0`,
//! `shared0`; see [`parse`].

mod algebra;
mod calculus;

use super::*;
use crate::expr::{Cmp, Func};
use crate::expr::{CoordId, ParamId};

/// Values of the leaves, for [`eval`]: the tests check rewrites and derivatives by
/// evaluating both sides at points.
trait Env {
    fn coord(&self, c: CoordId) -> f64;
    fn param(&self, p: ParamId) -> f64;
    fn out(&self, output: OutputId, deriv: &[u8], site: u8) -> f64;
    fn data(&self, column: usize) -> f64;
    fn shared(&self, k: usize) -> f64;
}

/// Evaluates `e` in f64 with the leaf values from `env`. An unexpanded `D` has no
/// value here and evaluates to NaN (expand first).
fn eval(e: &Expr, env: &dyn Env) -> f64 {
    e.value(&|leaf| match leaf {
        Expr::Coord(c) => env.coord(*c),
        Expr::Param(p) => env.param(*p),
        Expr::Out {
            output,
            deriv,
            site,
        } => env.out(*output, deriv, *site),
        Expr::Data(k) => env.data(*k),
        Expr::Shared(k) => env.shared(*k),
        _ => f64::NAN,
    })
}

/// The names every test prints with: coordinates (x, t), one output u.
fn names() -> Names {
    Names {
        coords: vec!["x".into(), "t".into()],
        outputs: vec!["u".into(), "re(h)".into(), "u[3]".into()],
        params: vec!["λ1".into(), "λ2".into()],
        data: vec!["u_data".into()],
        tables: vec!["a".into()],
    }
}

fn show(e: &Expr) -> String {
    display(e, &names())
}

/// Parses a test s-expression: `(+ a b)`, `(- a b)`, `(neg a)`, `(* a b)`, `(/ a b)`,
/// `(^ a b)`, `(sin a)` …, `(d e x)`, `(if< l r a b)`; atoms are numbers, `pi`, `x`,
/// `t`, `u`, `u_xxt`, `u_x@1`, `h`, `w` (outputs 1, 2), `λ1`, `λ2`, `data0`, `shared0`.
fn parse(src: &str) -> Expr {
    let spaced = src.replace('(', " ( ").replace(')', " ) ");
    let mut tokens = spaced.split_whitespace().peekable();
    let e = parse_tokens(&mut tokens);
    assert!(tokens.next().is_none(), "trailing tokens in {src}");
    e
}

fn parse_tokens<'a>(tokens: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>) -> Expr {
    let tok = tokens.next().expect("unexpected end of test expression");
    if tok != "(" {
        return atom(tok);
    }
    let op = tokens.next().expect("operator");
    let mut args = Vec::new();
    while tokens.peek() != Some(&")") {
        args.push(parse_tokens(tokens));
    }
    tokens.next();
    let mut args = args.into_iter();
    let mut next = || args.next().expect("missing operand");
    let (a, b) = (next(), next_or_zero(&mut next, op));
    match op {
        "+" => Expr::add(a, b),
        "-" => Expr::sub(a, b),
        "*" => Expr::mul(a, b),
        "/" => Expr::div(a, b),
        "^" => Expr::pow(a, b),
        "neg" => Expr::neg(a),
        "d" => match b {
            Expr::Coord(c) => Expr::d(a, c),
            other => panic!("d needs a coordinate, got {other:?}"),
        },
        "if<" | "if<=" | "if>" | "if>=" => {
            let cmp = match op {
                "if<" => Cmp::Lt,
                "if<=" => Cmp::Le,
                "if>" => Cmp::Gt,
                _ => Cmp::Ge,
            };
            let (x, y) = (next(), next());
            Expr::If(cmp, Box::new(a), Box::new(b), Box::new(x), Box::new(y))
        }
        f => Expr::call(Func::from_name(f).expect("known function"), a),
    }
}

/// The second operand, or a placeholder for unary operators (never used by them).
fn next_or_zero(next: &mut impl FnMut() -> Expr, op: &str) -> Expr {
    let unary = op == "neg" || Func::from_name(op).is_some();
    if unary {
        Expr::Num(0.0)
    } else {
        next()
    }
}

fn atom(tok: &str) -> Expr {
    if let Ok(v) = tok.parse::<f64>() {
        return Expr::Num(v);
    }
    match tok {
        "pi" => Expr::Num(std::f64::consts::PI),
        "x" => Expr::Coord(CoordId(0)),
        "t" => Expr::Coord(CoordId(1)),
        "λ1" => Expr::Param(ParamId(0)),
        "λ2" => Expr::Param(ParamId(1)),
        "data0" => Expr::Data(0),
        "shared0" => Expr::Shared(0),
        _ => output(tok),
    }
}

/// `u`, `u_xxt`, `u_x@1`, `h_t` (h is output 1, printed `re(h)`; w is output 2, `u[3]`).
fn output(tok: &str) -> Expr {
    let (body, site) = match tok.split_once('@') {
        Some((b, s)) => (b, s.parse().expect("site")),
        None => (tok, 0),
    };
    let (name, suffix) = body.split_once('_').unwrap_or((body, ""));
    let output = match name {
        "u" => 0,
        "h" => 1,
        "w" => 2,
        _ => panic!("unknown atom {tok}"),
    };
    let mut deriv = vec![0u8; 2];
    for c in suffix.chars() {
        deriv[if c == 'x' { 0 } else { 1 }] += 1;
    }
    Expr::Out {
        output: OutputId(output),
        deriv,
        site,
    }
}

/// A fixed-seed generator (SplitMix64): reproducible and dependency-free.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Leaf values derived from a seed: every distinct leaf gets its own value in
/// [−1, 1] (hashing its identity), so an environment is a single number.
struct RandomEnv(u64);

impl RandomEnv {
    fn value(&self, key: &[u64]) -> f64 {
        let mut rng = Rng(self.0);
        for k in key {
            rng.0 ^= k.wrapping_mul(0x2545_F491_4F6C_DD1D);
            rng.next_u64();
        }
        rng.uniform(-1.0, 1.0)
    }
}

impl Env for RandomEnv {
    fn coord(&self, c: CoordId) -> f64 {
        self.value(&[1, c.0 as u64])
    }
    fn param(&self, p: ParamId) -> f64 {
        self.value(&[2, p.0 as u64])
    }
    fn out(&self, output: OutputId, deriv: &[u8], site: u8) -> f64 {
        let mut key = vec![3, output.0 as u64, site as u64];
        key.extend(deriv.iter().map(|&d| d as u64));
        self.value(&key)
    }
    fn data(&self, column: usize) -> f64 {
        self.value(&[4, column as u64])
    }
    fn shared(&self, k: usize) -> f64 {
        self.value(&[5, k as u64])
    }
}

/// Coordinates set explicitly, everything else 0.5 (for finite differences).
struct CoordEnv([f64; 2]);

impl Env for CoordEnv {
    fn coord(&self, c: CoordId) -> f64 {
        self.0[c.0]
    }
    fn param(&self, _: ParamId) -> f64 {
        0.5
    }
    fn out(&self, _: OutputId, _: &[u8], _: u8) -> f64 {
        0.5
    }
    fn data(&self, _: usize) -> f64 {
        0.5
    }
    fn shared(&self, _: usize) -> f64 {
        0.5
    }
}

/// Asserts |a − b| ≤ tol·max(1, |a|, |b|).
fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    let scale = 1f64.max(a.abs()).max(b.abs());
    assert!(
        (a - b).abs() <= tol * scale,
        "{what}: {a} vs {b} (diff {:e})",
        (a - b).abs()
    );
}
