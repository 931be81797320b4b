//! Test helpers: the stdlib's layer kinds written by hand as `LayerExpr` bodies (as
//! the checker will produce them), and small problems built without the front end.

use crate::expr::{CoordId, Expr, Func, OutputId};
use crate::problem::*;

type E = LayerExpr;

fn bx(e: E) -> Box<E> {
    Box::new(e)
}
pub fn add(a: E, b: E) -> E {
    E::Add(bx(a), bx(b))
}
pub fn mul(a: E, b: E) -> E {
    E::Mul(bx(a), bx(b))
}
pub fn mv(i: usize, x: E) -> E {
    E::MatVec(i, bx(x))
}
pub fn call(f: Func, x: E) -> E {
    E::Call(f, bx(x))
}
fn tanh(x: E) -> E {
    call(Func::Tanh, x)
}
pub fn t(i: usize) -> E {
    E::Tensor(i)
}
pub fn tensor(name: &str, shape: TensorShape, init: Init) -> Tensor {
    Tensor {
        name: name.into(),
        shape,
        init,
        fixed: false,
    }
}
fn mat(name: &str) -> Tensor {
    tensor(name, TensorShape::Matrix, Init::Xavier(1.0))
}
fn vec_(name: &str) -> Tensor {
    tensor(name, TensorShape::Vector, Init::Zeros)
}

/// One layer of a stdlib kind; `last` selects the output variant.
pub fn layer(kind: &str, inputs: usize, outputs: usize, last: bool) -> Layer {
    use LayerExpr::Input as H;
    let (tensors, body) = match kind {
        "mlp" => {
            let z = add(mv(0, H), t(1));
            (vec![mat("W"), vec_("b")], if last { z } else { tanh(z) })
        }
        "qres" => {
            let h1 = || add(mv(0, H), t(1));
            let z = add(mul(h1(), mv(2, H)), h1());
            (
                vec![mat("W1"), vec_("b"), mat("W2")],
                if last { z } else { tanh(z) },
            )
        }
        "isc" if !last => (
            vec![mat("W"), vec_("b")],
            add(tanh(add(mv(0, H), t(1))), E::Skip(bx(H))),
        ),
        "qsc" if !last => {
            let q = mul(mv(0, H), mv(1, H));
            (
                vec![mat("W1"), mat("W2"), vec_("b")],
                add(q, tanh(add(mv(0, H), t(2)))),
            )
        }
        "apinn" if !last => {
            let a = tensor("a", TensorShape::Scalar, Init::Normal(1.0));
            let z = mul(mul(E::Num(5.0), t(0)), add(mv(1, H), t(2)));
            (vec![a, mat("W"), vec_("b")], tanh(z))
        }
        "isc" | "apinn" | "mlp_last" => (vec![mat("W"), vec_("b")], add(mv(0, H), t(1))),
        "qsc" => (vec![mat("W1"), vec_("b")], add(mv(0, H), t(1))),
        // A kind no stdlib has: sin(W·h) ⊙ (V·h + c) + exp(-h*h) + skip(h)/(1 + h²).
        "weird" => {
            let s = mul(call(Func::Sin, mv(0, H)), add(mv(1, H), t(2)));
            let g = call(Func::Exp, E::Neg(bx(mul(H, H))));
            let r = E::Div(bx(E::Skip(bx(H))), bx(add(E::Num(1.0), E::Powi(bx(H), 2))));
            (vec![mat("W"), mat("V"), vec_("c")], add(add(s, g), r))
        }
        other => panic!("test helper has no layer kind {other}"),
    };
    let kind = if last {
        format!("{kind}.last")
    } else {
        kind.to_string()
    };
    Layer {
        kind,
        inputs,
        outputs,
        tensors,
        body,
        locals: vec![],
    }
}

/// `depth` hidden layers of `width`, then the output layer.
pub fn network(kind: &str, inputs: usize, width: usize, depth: usize, outputs: usize) -> Network {
    let mut layers = Vec::new();
    let mut w_in = inputs;
    for _ in 0..depth {
        // The made-up kind needs equal widths: the first layer is plain.
        let k = if kind == "weird" && w_in != width {
            "mlp"
        } else {
            kind
        };
        layers.push(layer(k, w_in, width, false));
        w_in = width;
    }
    let last_kind = if kind == "weird" { "mlp_last" } else { kind };
    layers.push(layer(last_kind, w_in, outputs, true));
    Network {
        kind: kind.into(),
        inputs: (0..inputs).map(CoordId).collect(),
        outputs: (0..outputs).map(|k| format!("u{k}")).collect(),
        layers,
    }
}

fn u(deriv: [u8; 2]) -> Expr {
    Expr::out(OutputId(0), deriv.to_vec())
}

/// Burgers: x ∈ [−1, 1], t ∈ [0, 1]; u_t + u·u_x − ν·u_xx on collocation points,
/// u on the boundary x = 1 (mean), u − data on data points (sum, weight 2).
pub fn burgers(kind: &str, width: usize, depth: usize) -> Problem {
    let nu = 0.01 / std::f64::consts::PI;
    let residual = Expr::sub(
        Expr::add(u([0, 1]), Expr::mul(u([0, 0]), u([1, 0]))),
        Expr::mul(Expr::num(nu), u([2, 0])),
    );
    let set = |name: &str, kind| PointSet {
        name: name.into(),
        kind,
        count: 0,
        sites: vec![],
        tables: vec![],
    };
    let term = |name: &str, points, residual, weight, reduce| LossTerm {
        name: name.into(),
        points,
        residuals: vec![residual],
        weight,
        reduce,
    };
    Problem {
        name: "burgers".into(),
        region: None,
        coords: vec![
            Coord {
                name: "x".into(),
                lo: -1.0,
                hi: 1.0,
            },
            Coord {
                name: "t".into(),
                lo: 0.0,
                hi: 1.0,
            },
        ],
        params: vec![],
        consts: vec![("ν".into(), nu)],
        networks: vec![network(kind, 2, width, depth, 1)],
        fields: vec![],
        shared: vec![],
        terms: vec![
            term("equation", 0, residual, 1.0, Reduce::Mean),
            term("boundary", 1, u([0, 0]), 1.0, Reduce::Mean),
            term(
                "data u",
                2,
                Expr::sub(u([0, 0]), Expr::Data(0)),
                2.0,
                Reduce::Sum,
            ),
        ],
        point_sets: vec![
            set(
                "collocation",
                PointKind::Collocation {
                    method: Sampling::Latin,
                },
            ),
            set(
                "boundary",
                PointKind::Slice {
                    coord: CoordId(0),
                    value: 1.0,
                    method: Sampling::Uniform,
                },
            ),
            set(
                "data",
                PointKind::Data {
                    dataset: 0,
                    at: None,
                },
            ),
        ],
        datasets: vec![],
        reference: None,
        tables: vec![],
        scheme: None,
        resampling: None,
        causal: None,
        self_adaptive: vec![],
        training: vec![],
    }
}
