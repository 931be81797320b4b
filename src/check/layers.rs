//! Networks from `layer` definitions: each layer of the stack is an instance of a
//! layer kind written in the language (stdlib/layers.pde or the user's file), with
//! the activation and every `def` inlined. Nothing about a particular kind lives
//! here: a name left of `·` is a weight matrix, another free name a bias vector,
//! unless the layer's `where` clause declares it otherwise.

use super::settings::NetworkSpec;
use super::{Checker, Origin};
use crate::diag::{suggest, Diag};
use crate::expr::{CoordId, Func};
use crate::problem::{Init, Layer, LayerExpr, Network, Tensor, TensorShape};
use crate::syntax::ast::{self, BinaryOp, ExprKind, Span, UnaryOp};
use std::collections::HashMap;

/// What σ stands for in one layer.
#[derive(Clone)]
enum Activation {
    Func(Func),
    Def(ast::FnDef),
    Identity,
}

/// Builds the network: `depth` hidden layers of `width`, then the output layer.
pub(crate) fn network(
    cx: &mut Checker,
    spec: Option<&NetworkSpec>,
    inputs: Vec<CoordId>,
    outputs: Vec<String>,
) -> Option<Network> {
    let spec = spec?;
    let (def, origin) = cx.layers.get(&spec.kind.name).cloned()?;
    let activation = cx.activation(&spec.activation)?;
    let mut widths = vec![inputs.len()];
    widths.extend(std::iter::repeat_n(spec.width, spec.depth));
    widths.push(outputs.len());
    let at = match origin {
        Origin::Stdlib => Some(spec.span),
        Origin::User(_) => None,
    };
    let mut layers = Vec::new();
    for (l, pair) in widths.windows(2).enumerate() {
        let last = l + 2 == widths.len();
        let first = l == 0;
        let name = &def.name.name;
        let (body, act, kind) = match (&def.first, first, &def.last, last) {
            (_, _, Some(b), true) => (b, activation.clone(), format!("{name}.last")),
            (_, _, None, true) => (&def.body, Activation::Identity, format!("{name}.last")),
            (Some(b), true, _, _) => (b, activation.clone(), format!("{name}.first")),
            _ => (&def.body, activation.clone(), name.clone()),
        };
        let mut lx = LayerLowering {
            cx,
            def: &def,
            activation: act,
            tensors: Vec::new(),
            at,
        };
        let lowered = lx.lower(body, &HashMap::new());
        let tensors = lx.tensors;
        let body = lowered.filter(|b| cx.reads_input(b, &def, body, at));
        layers.push(Layer {
            kind,
            inputs: pair[0],
            outputs: pair[1],
            tensors,
            body: body?,
        });
    }
    Some(Network {
        kind: spec.kind.name.clone(),
        inputs,
        outputs,
        layers,
    })
}

impl Checker<'_> {
    /// A body that never reads its input makes the network a constant: every
    /// derivative along a coordinate would be zero and training could not succeed,
    /// silently. (Reported once per body: each layer of the stack repeats it.)
    fn reads_input(
        &mut self,
        lowered: &LayerExpr,
        def: &ast::LayerDef,
        body: &ast::Expr,
        at: Option<Span>,
    ) -> bool {
        if lowered.any(&|e| matches!(e, LayerExpr::Input)) {
            return true;
        }
        let already = self.diags.iter().any(|d| {
            d.code == "pdenet::check::layer_ignores_input"
                && d.span() == Some(at.unwrap_or(body.span))
        });
        if !already {
            self.error(
                Diag::error(
                    "pdenet::check::layer_ignores_input",
                    format!("layer `{}` never reads its input `{}`", def.name.name, def.input.name),
                )
                .label(at.unwrap_or(body.span), "the network would not depend on the coordinates")
                .help(format!(
                    "a layer maps its input to its output: use `{}` in the body, e.g. `σ(W·{} + b)`",
                    def.input.name, def.input.name
                )),
            );
        }
        false
    }

    fn activation(&mut self, name: &ast::Ident) -> Option<Activation> {
        if let Some(f) = Func::from_name(&name.name) {
            return Some(Activation::Func(f));
        }
        if let Some((def, _)) = self.defs.get(&name.name) {
            if def.params.len() == 1 {
                return Some(Activation::Def(def.clone()));
            }
        }
        let mut candidates: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
        candidates.extend(
            self.defs
                .iter()
                .filter(|(_, (d, _))| d.params.len() == 1)
                .map(|(n, _)| n.as_str()),
        );
        let d = Diag::error(
            "pdenet::check::bad_activation",
            format!("unknown activation `{}`", name.name),
        )
        .label(name.span, "not a function of one argument");
        let d = match suggest(&name.name, candidates) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("use tanh, sin, sigmoid, … or a one-argument `def`"),
        };
        self.error(d);
        None
    }
}

struct LayerLowering<'c, 'a, 'd> {
    cx: &'c mut Checker<'a>,
    def: &'d ast::LayerDef,
    activation: Activation,
    tensors: Vec<Tensor>,
    /// Set for stdlib layers: report at the `network` statement.
    at: Option<Span>,
}

impl LayerLowering<'_, '_, '_> {
    fn fail(
        &mut self,
        span: Span,
        code: &'static str,
        msg: String,
        help: &str,
    ) -> Option<LayerExpr> {
        let at = self.at.unwrap_or(span);
        let what = if self.at.is_some() {
            format!("in layer `{}`", self.def.name.name)
        } else {
            "here".to_string()
        };
        self.cx
            .error(Diag::error(code, msg).label(at, what).help(help));
        None
    }

    /// The index of tensor `name`, registering it on first use.
    fn tensor(&mut self, name: &ast::Ident, in_matvec: bool) -> Option<usize> {
        if let Some(i) = self.tensors.iter().position(|t| t.name == name.name) {
            let is_matrix = self.tensors[i].shape == TensorShape::Matrix;
            if is_matrix != in_matvec {
                let msg = format!(
                    "`{}` is used both as a matrix (left of `·`) and as a vector",
                    name.name
                );
                self.fail(
                    name.span,
                    "pdenet::check::tensor_shape",
                    msg,
                    "use separate names",
                );
                return None;
            }
            return Some(i);
        }
        let decl = self
            .def
            .tensors
            .iter()
            .find(|t| t.name.name == name.name)
            .cloned();
        let (shape, init) = match decl {
            Some(d) => self.declared(&d)?,
            None if in_matvec => (TensorShape::Matrix, Init::Xavier),
            None => (TensorShape::Vector, Init::Zeros),
        };
        if in_matvec != (shape == TensorShape::Matrix) {
            let msg = format!("`{}` is declared {shape:?} but used left of `·`", name.name);
            self.fail(
                name.span,
                "pdenet::check::tensor_shape",
                msg,
                "only matrices multiply with `·`",
            );
            return None;
        }
        self.tensors.push(Tensor {
            name: name.name.clone(),
            shape,
            init,
        });
        Some(self.tensors.len() - 1)
    }

    fn declared(&mut self, d: &ast::TensorDecl) -> Option<(TensorShape, Init)> {
        let shape = match d.shape.name.as_str() {
            "matrix" => TensorShape::Matrix,
            "vector" => TensorShape::Vector,
            "scalar" => TensorShape::Scalar,
            other => {
                let msg = format!("unknown tensor shape `{other}`");
                self.fail(
                    d.shape.span,
                    "pdenet::check::tensor_shape",
                    msg,
                    "use matrix, vector or scalar",
                );
                return None;
            }
        };
        let default = if shape == TensorShape::Matrix {
            Init::Xavier
        } else {
            Init::Zeros
        };
        let Some(call) = &d.init else {
            return Some((shape, default));
        };
        let arg = |n: &str| {
            call.args
                .iter()
                .find(|a| a.name.name == n)
                .map(|a| a.value.clone())
        };
        let init = match (call.name.name.as_str(), arg("std"), arg("value")) {
            ("xavier", None, None) => Init::Xavier,
            ("zeros", None, None) => Init::Zeros,
            ("normal", Some(std), None) => {
                Init::Normal(self.cx.in_range(&std, "std", 0.0, 1e6, false)?)
            }
            ("constant", None, Some(v)) => {
                Init::Constant(self.cx.constant(&v, "an initial value")?)
            }
            _ => {
                let msg = format!("unknown initializer `{}`", call.name.name);
                let help = "use xavier, zeros, normal(std = s) or constant(value = c)";
                self.fail(call.span, "pdenet::check::bad_init", msg, help);
                return None;
            }
        };
        Some((shape, init))
    }

    fn lower(&mut self, e: &ast::Expr, args: &HashMap<String, LayerExpr>) -> Option<LayerExpr> {
        let b = |x: LayerExpr| Box::new(x);
        match &e.kind {
            ExprKind::Number(v) => Some(LayerExpr::Num(*v)),
            ExprKind::Name(n) if args.contains_key(n) => args.get(n).cloned(),
            ExprKind::Name(n) if *n == self.def.input.name && args.is_empty() => {
                Some(LayerExpr::Input)
            }
            ExprKind::Name(n) if n == "π" => Some(LayerExpr::Num(std::f64::consts::PI)),
            ExprKind::Name(n) if !args.is_empty() => {
                let msg = format!("`{n}` is not an argument of this definition");
                self.fail(
                    e.span,
                    "pdenet::check::unknown_name",
                    msg,
                    "a `def` used in a layer sees only its arguments",
                )
            }
            ExprKind::Name(n) => {
                let id = ast::Ident {
                    name: n.clone(),
                    span: e.span,
                };
                Some(LayerExpr::Tensor(self.tensor(&id, false)?))
            }
            ExprKind::Binary(BinaryOp::Dot, w, x) => {
                let ExprKind::Name(n) = &w.kind else {
                    let msg = "the left operand of `·` must be a weight matrix".to_string();
                    return self.fail(w.span, "pdenet::check::tensor_shape", msg, "write W·h");
                };
                let id = ast::Ident {
                    name: n.clone(),
                    span: w.span,
                };
                let x = self.lower(x, args);
                Some(LayerExpr::MatVec(self.tensor(&id, true)?, b(x?)))
            }
            ExprKind::Binary(BinaryOp::Pow, x, p) => {
                let x = self.lower(x, args)?;
                match p.kind {
                    ExprKind::Number(n) if n.fract() == 0.0 && n.abs() <= 16.0 => {
                        Some(LayerExpr::Powi(b(x), n as i32))
                    }
                    _ => self.fail(
                        p.span,
                        "pdenet::check::layer_power",
                        "a layer body may only raise to whole powers up to 16".into(),
                        "write x^2 or x*x",
                    ),
                }
            }
            ExprKind::Binary(op, x, y) => {
                let (x, y) = (self.lower(x, args), self.lower(y, args));
                let (x, y) = (b(x?), b(y?));
                Some(match op {
                    BinaryOp::Add => LayerExpr::Add(x, y),
                    BinaryOp::Sub => LayerExpr::Sub(x, y),
                    BinaryOp::Div => LayerExpr::Div(x, y),
                    _ => LayerExpr::Mul(x, y),
                })
            }
            ExprKind::Unary(op, x) => {
                let x = self.lower(x, args)?;
                Some(if *op == UnaryOp::Neg {
                    LayerExpr::Neg(b(x))
                } else {
                    x
                })
            }
            ExprKind::Abs(x) => Some(LayerExpr::Call(Func::Abs, b(self.lower(x, args)?))),
            ExprKind::Call(f, xs) => self.call(f, xs, e.span, args),
            ExprKind::Partial(..) | ExprKind::If { .. } => {
                let msg = "derivatives and `if` are not allowed in a layer body".to_string();
                self.fail(
                    e.span,
                    "pdenet::check::layer_expression",
                    msg,
                    "layers are built from ·, ⊙, +, −, /, powers and functions",
                )
            }
        }
    }

    fn call(
        &mut self,
        f: &ast::Ident,
        xs: &[ast::Expr],
        span: Span,
        args: &HashMap<String, LayerExpr>,
    ) -> Option<LayerExpr> {
        if xs.len() != 1 {
            let msg = format!(
                "`{}` in a layer body takes one argument, not {}",
                f.name,
                xs.len()
            );
            return self.fail(
                span,
                "pdenet::check::wrong_arity",
                msg,
                "functions act element-wise on one vector",
            );
        }
        let x = self.lower(&xs[0], args)?;
        if f.name == "σ" {
            return match self.activation.clone() {
                Activation::Func(func) => Some(LayerExpr::Call(func, Box::new(x))),
                Activation::Identity => Some(x),
                Activation::Def(def) => self.inline(&def, x),
            };
        }
        if f.name == "skip" {
            return Some(LayerExpr::Skip(Box::new(x)));
        }
        if let Some(func) = Func::from_name(&f.name) {
            return Some(LayerExpr::Call(func, Box::new(x)));
        }
        if let Some((def, _)) = self.cx.defs.get(&f.name).cloned() {
            if def.params.len() == 1 {
                return self.inline(&def, x);
            }
        }
        let msg = format!("unknown function `{}` in a layer body", f.name);
        self.fail(
            f.span,
            "pdenet::check::unknown_function",
            msg,
            "use σ (the activation), skip, a primitive or a one-argument def",
        )
    }

    fn inline(&mut self, def: &ast::FnDef, x: LayerExpr) -> Option<LayerExpr> {
        let param = def.params.first()?.name.clone();
        let args = HashMap::from([(param, x)]);
        self.lower(&def.body, &args)
    }
}
