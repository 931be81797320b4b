//! One layer body, lowered from the AST to a [`LayerExpr`]: names resolve to the
//! layer input, tensors (families `C[k]` included), `where` values and recurrences,
//! static indices and inlined `def`s; `Σ(k = a to b, …)` is unrolled. Shapes are
//! checked here so that the jets never meet a width they cannot combine.

use super::Checker;
use crate::diag::Diag;
use crate::expr::Func;
use crate::problem::{Init, LayerExpr, Tensor, TensorShape};
use crate::syntax::ast::{self, BinaryOp, ExprKind, Span, UnaryOp};
use std::collections::HashMap;

/// What σ stands for in one layer.
#[derive(Clone)]
pub(super) enum Activation {
    Func(Func),
    Def(ast::FnDef),
    Identity,
}

/// The most terms one `Σ` may unroll to, and the deepest chain of recurrence
/// members (both are meant to be small: a basis of a few functions).
const MAX_TERMS: i64 = 64;
const MAX_CHAIN: usize = 64;

/// What names mean at one place in a body.
#[derive(Clone, Default)]
struct Scope {
    /// A `def`'s arguments while its body is inlined; the def sees only these.
    args: Option<HashMap<String, LayerExpr>>,
    /// Static indices bound by `Σ` or by a recurrence's general member.
    ints: HashMap<String, i64>,
    /// Inside `edges(…)`: values are per edge, h is the edge's input.
    edges: bool,
}

/// A `where` value's identity: its name, its index, and whether it was read per edge.
type LocalKey = (String, Option<i64>, bool);

pub(super) struct LayerLowering<'c, 'a, 'd> {
    pub cx: &'c mut Checker<'a>,
    pub def: &'d ast::LayerDef,
    pub activation: Activation,
    /// The network's number of hidden layers (`depth` in a body).
    pub depth: usize,
    /// The layer's input width: a matrix's column count.
    pub inputs: usize,
    pub tensors: Vec<Tensor>,
    pub locals: Vec<LayerExpr>,
    local_ids: HashMap<LocalKey, usize>,
    /// Members being lowered, innermost last: a cycle or a runaway recurrence.
    open: Vec<LocalKey>,
    /// Set for stdlib layers: report at the `network` statement.
    at: Option<Span>,
}

impl<'c, 'a, 'd> LayerLowering<'c, 'a, 'd> {
    pub fn new(
        cx: &'c mut Checker<'a>,
        def: &'d ast::LayerDef,
        activation: Activation,
        (depth, inputs): (usize, usize),
        at: Option<Span>,
    ) -> Self {
        LayerLowering {
            cx,
            def,
            activation,
            depth,
            inputs,
            tensors: Vec::new(),
            locals: Vec::new(),
            local_ids: HashMap::new(),
            open: Vec::new(),
            at,
        }
    }

    /// Lowers a body (the layer's own, or its `first`/`last` variant).
    pub fn body(&mut self, e: &ast::Expr) -> Option<LayerExpr> {
        self.lower(e, &Scope::default())
    }

    /// Whether `e` reads the layer input, through the locals it reads too.
    pub fn reads_input(&self, e: &LayerExpr) -> bool {
        e.any(&|x| match x {
            LayerExpr::Input | LayerExpr::EdgeInput => true,
            LayerExpr::Local(i) => self.reads_input(&self.locals[*i]),
            _ => false,
        })
    }

    /// The number of entries of `e` in a layer of `inputs` → `outputs` (1: one
    /// value broadcast), or what does not fit.
    pub fn width(&self, e: &LayerExpr, inputs: usize, outputs: usize) -> Result<usize, String> {
        let w = |x: &LayerExpr| self.width(x, inputs, outputs);
        let words = |n: usize| match n {
            n if n == inputs && n == outputs => format!("{n} entries (one per unit)"),
            n if n == inputs => format!("{n} entries (one per input)"),
            n if n == outputs => format!("{n} entries (one per output)"),
            n if n == inputs * outputs => format!("{n} entries (one per edge)"),
            n => format!("{n} entries"),
        };
        Ok(match e {
            LayerExpr::Input => inputs,
            LayerExpr::EdgeInput => inputs * outputs,
            LayerExpr::Num(_) => 1,
            LayerExpr::Tensor(i) => match self.tensors[*i].shape {
                TensorShape::Scalar => 1,
                TensorShape::Vector => outputs,
                TensorShape::Matrix => inputs * outputs,
            },
            LayerExpr::Local(i) => w(&self.locals[*i])?,
            LayerExpr::MatVec(_, x) | LayerExpr::Edges(x) => {
                let n = w(x)?;
                let want = if matches!(e, LayerExpr::MatVec(..)) {
                    inputs
                } else {
                    inputs * outputs
                };
                if n != 1 && n != want {
                    return Err(format!("this needs {}, and gets {}", words(want), words(n)));
                }
                outputs
            }
            // skip(h) is 0 where the widths differ.
            LayerExpr::Skip(x) if inputs == outputs => w(x)?,
            LayerExpr::Skip(_) => 1,
            LayerExpr::Shift { x, .. } => match w(x)? {
                1 => return Err("shift/roll of a single value: there is nothing to move".into()),
                n => n,
            },
            LayerExpr::Neg(x) | LayerExpr::Powi(x, _) | LayerExpr::Call(_, x) => w(x)?,
            LayerExpr::Add(x, y)
            | LayerExpr::Sub(x, y)
            | LayerExpr::Mul(x, y)
            | LayerExpr::Div(x, y) => match (w(x)?, w(y)?) {
                (1, n) | (n, 1) => n,
                (a, b) if a == b => a,
                (a, b) => {
                    return Err(format!(
                        "one operand has {} and the other {}",
                        words(a),
                        words(b)
                    ))
                }
            },
        })
    }

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

    fn lower(&mut self, e: &ast::Expr, sc: &Scope) -> Option<LayerExpr> {
        let b = |x: LayerExpr| Box::new(x);
        match &e.kind {
            ExprKind::Number(v) => Some(LayerExpr::Num(*v)),
            ExprKind::Name(n) => self.name(n, e.span, sc),
            ExprKind::Index(n, i) => {
                let k = self.static_int(i, sc)?;
                self.indexed(n, k, e.span, sc)
            }
            ExprKind::Sum {
                index,
                lo,
                hi,
                body,
            } => self.sum(index, lo, hi, body, e.span, sc),
            ExprKind::Binary(BinaryOp::Dot, w, x) => self.matvec(w, x, sc),
            ExprKind::Binary(BinaryOp::Pow, x, p) => {
                let x = self.lower(x, sc)?;
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
                let (x, y) = (self.lower(x, sc), self.lower(y, sc));
                let (x, y) = (b(x?), b(y?));
                Some(match op {
                    BinaryOp::Add => LayerExpr::Add(x, y),
                    BinaryOp::Sub => LayerExpr::Sub(x, y),
                    BinaryOp::Div => LayerExpr::Div(x, y),
                    _ => LayerExpr::Mul(x, y),
                })
            }
            ExprKind::Unary(op, x) => {
                let x = self.lower(x, sc)?;
                Some(if *op == UnaryOp::Neg {
                    LayerExpr::Neg(b(x))
                } else {
                    x
                })
            }
            ExprKind::Abs(x) => Some(LayerExpr::Call(Func::Abs, b(self.lower(x, sc)?))),
            ExprKind::Call(f, xs) => self.call(f, xs, e.span, sc),
            ExprKind::List(_) => {
                self.cx.list_not_allowed(self.at.unwrap_or(e.span));
                None
            }
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

    fn name(&mut self, n: &str, span: Span, sc: &Scope) -> Option<LayerExpr> {
        if let Some(args) = &sc.args {
            if let Some(v) = args.get(n) {
                return Some(v.clone());
            }
            if n == "π" {
                return Some(LayerExpr::Num(std::f64::consts::PI));
            }
            let msg = format!("`{n}` is not an argument of this definition");
            let help = "a `def` used in a layer sees only its arguments";
            return self.fail(span, "pdenet::check::unknown_name", msg, help);
        }
        if let Some(&k) = sc.ints.get(n) {
            return Some(LayerExpr::Num(k as f64));
        }
        if n == self.def.input.name {
            return Some(if sc.edges {
                LayerExpr::EdgeInput
            } else {
                LayerExpr::Input
            });
        }
        match n {
            "π" => return Some(LayerExpr::Num(std::f64::consts::PI)),
            "depth" => return Some(LayerExpr::Num(self.depth as f64)),
            _ => {}
        }
        if self.def.locals.iter().any(|l| l.name.name == n) {
            return self.local(n, None, span, sc);
        }
        self.tensor(n, n, span, false, sc.edges)
    }

    /// `n[k]`: a member of a recurrence, else of a tensor family.
    fn indexed(&mut self, n: &ast::Ident, k: i64, span: Span, sc: &Scope) -> Option<LayerExpr> {
        if sc.args.is_some() {
            let msg = format!("`{}[…]` is not an argument of this definition", n.name);
            let help = "a `def` used in a layer sees only its arguments";
            return self.fail(span, "pdenet::check::unknown_name", msg, help);
        }
        if self.def.locals.iter().any(|l| l.name.name == n.name) {
            return self.local(&n.name, Some(k), span, sc);
        }
        self.tensor(&format!("{}[{k}]", n.name), &n.name, span, false, sc.edges)
    }

    /// A whole number from numbers, bound indices, +, −, × and parentheses.
    fn static_int(&mut self, e: &ast::Expr, sc: &Scope) -> Option<i64> {
        let v = match &e.kind {
            ExprKind::Number(v) if v.fract() == 0.0 && v.abs() < 1e9 => Some(*v as i64),
            ExprKind::Name(n) => sc.ints.get(n).copied(),
            ExprKind::Unary(op, x) => {
                let x = self.static_int(x, sc)?;
                Some(if *op == UnaryOp::Neg { -x } else { x })
            }
            ExprKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul), x, y) => {
                let (x, y) = (self.static_int(x, sc)?, self.static_int(y, sc)?);
                match op {
                    BinaryOp::Add => x.checked_add(y),
                    BinaryOp::Sub => x.checked_sub(y),
                    _ => x.checked_mul(y),
                }
            }
            _ => None,
        };
        if v.is_none() {
            self.fail(
                e.span,
                "pdenet::check::bad_index",
                "an index must be a whole number known before training".into(),
                "build it from whole numbers, indices bound by Σ or a recurrence, +, − and *",
            );
        }
        v
    }

    fn sum(
        &mut self,
        index: &ast::Ident,
        lo: &ast::Expr,
        hi: &ast::Expr,
        body: &ast::Expr,
        span: Span,
        sc: &Scope,
    ) -> Option<LayerExpr> {
        let (lo, hi) = (self.static_int(lo, sc)?, self.static_int(hi, sc)?);
        if hi < lo || hi - lo >= MAX_TERMS {
            let msg = format!(
                "`Σ({} = {lo} to {hi}, …)` has {} terms",
                index.name,
                (hi - lo + 1).max(0)
            );
            let help = format!("the range runs up from its start and has 1 to {MAX_TERMS} terms");
            return self.fail(span, "pdenet::check::bad_index", msg, &help);
        }
        let mut total: Option<LayerExpr> = None;
        for k in lo..=hi {
            let mut inner = sc.clone();
            inner.ints.insert(index.name.clone(), k);
            let term = self.lower(body, &inner)?;
            total = Some(match total {
                None => term,
                Some(t) => LayerExpr::Add(Box::new(t), Box::new(term)),
            });
        }
        total
    }

    fn matvec(&mut self, w: &ast::Expr, x: &ast::Expr, sc: &Scope) -> Option<LayerExpr> {
        if sc.edges {
            let msg = "`·` inside `edges(…)`: a product with a matrix gives one value per output, not per edge".to_string();
            return self.fail(
                w.span,
                "pdenet::check::tensor_shape",
                msg,
                "multiply per edge with `*` (e.g. `w*h`), or use `·` outside edges",
            );
        }
        let (name, family) = match &w.kind {
            ExprKind::Name(n) => (n.clone(), n.clone()),
            ExprKind::Index(n, i) => {
                let k = self.static_int(i, sc)?;
                (format!("{}[{k}]", n.name), n.name.clone())
            }
            _ => {
                let msg = "the left operand of `·` must be a weight matrix".to_string();
                return self.fail(
                    w.span,
                    "pdenet::check::tensor_shape",
                    msg,
                    "write W·h or C[k]·h",
                );
            }
        };
        let x = self.lower(x, sc);
        let i = self.tensor_index(&name, &family, w.span, true, false)?;
        Some(LayerExpr::MatVec(i, Box::new(x?)))
    }

    fn tensor(
        &mut self,
        name: &str,
        family: &str,
        span: Span,
        matvec: bool,
        edges: bool,
    ) -> Option<LayerExpr> {
        Some(LayerExpr::Tensor(
            self.tensor_index(name, family, span, matvec, edges)?,
        ))
    }

    /// The index of tensor `name` (declared under `family`), registering it on first
    /// use. Left of `·` it must be a matrix; element-wise, a vector or a scalar, or
    /// inside `edges(…)` a matrix (one entry per edge) or a scalar.
    fn tensor_index(
        &mut self,
        name: &str,
        family: &str,
        span: Span,
        matvec: bool,
        edges: bool,
    ) -> Option<usize> {
        let existing = self.tensors.iter().position(|t| t.name == name);
        let decl = self.def.tensors.iter().find(|t| t.name.name == family);
        let decl = decl.cloned();
        let fixed = decl.as_ref().is_some_and(|d| d.fixed);
        let (shape, init) = match (existing, decl) {
            (Some(i), _) => (self.tensors[i].shape, self.tensors[i].init.clone()),
            (None, Some(d)) => self.declared(&d)?,
            (None, None) if matvec => (TensorShape::Matrix, Init::Xavier(1.0)),
            (None, None) if edges => (TensorShape::Matrix, Init::Zeros),
            (None, None) => (TensorShape::Vector, Init::Zeros),
        };
        let fits = match shape {
            TensorShape::Matrix => matvec || edges,
            TensorShape::Vector => !matvec && !edges,
            TensorShape::Scalar => !matvec,
        };
        if !fits {
            let (msg, help) = if matvec {
                (
                    format!("`{name}` is a {} but is used left of `·`", shape.word()),
                    "only matrices multiply with `·`",
                )
            } else if edges {
                (format!("`{name}` is a vector (one entry per output) but is used per edge inside `edges(…)`"), "declare it a matrix for one entry per edge, or add it outside edges(…)")
            } else {
                (
                    format!("`{name}` is a matrix but is used element-wise"),
                    "a matrix multiplies with `·`, or is read per edge inside edges(…)",
                )
            };
            self.fail(span, "pdenet::check::tensor_shape", msg, help);
            return None;
        }
        if let Some(i) = existing {
            return Some(i);
        }
        self.tensors.push(Tensor {
            name: name.to_string(),
            shape,
            init,
            fixed,
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
            Init::Xavier(1.0)
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
            ("xavier", None, None) => match arg("gain") {
                Some(g) => Init::Xavier(self.cx.in_range(&g, "gain", 0.0, 1e3, false)?),
                None => Init::Xavier(1.0),
            },
            ("zeros", None, None) => Init::Zeros,
            (
                "normal",
                Some(ast::Expr {
                    kind: ExprKind::List(stds),
                    span,
                }),
                None,
            ) => self.column_stds(d, shape, &stds, span)?,
            ("normal", Some(std), None) => {
                Init::Normal(self.cx.in_range(&std, "std", 0.0, 1e6, false)?)
            }
            ("constant", None, Some(v)) => {
                Init::Constant(self.cx.constant(&v, "an initial value")?)
            }
            _ => {
                let msg = format!("unknown initializer `{}`", call.name.name);
                let help =
                    "use xavier, xavier(gain = g), zeros, normal(std = s) or constant(value = c)";
                self.fail(call.span, "pdenet::check::bad_init", msg, help);
                return None;
            }
        };
        Some((shape, init))
    }

    /// `normal(std = [s1, s2, …])`: one std per input column of a matrix, so the
    /// list has as many entries as the layer has inputs.
    fn column_stds(
        &mut self,
        d: &ast::TensorDecl,
        shape: TensorShape,
        stds: &[ast::Expr],
        span: Span,
    ) -> Option<Init> {
        let values: Option<Vec<f64>> = stds
            .iter()
            .map(|s| self.cx.in_range(s, "std", 0.0, 1e6, false))
            .collect();
        let values = values?;
        let (msg, help) = if shape != TensorShape::Matrix {
            (
                format!(
                    "`{}` is a {}: a list of stds is one per column of a matrix",
                    d.name.name,
                    shape.word()
                ),
                "give one number, `normal(std = s)`".to_string(),
            )
        } else if values.len() != self.inputs {
            (
                format!(
                    "`std` lists {} values, but `{}` has {} input columns in this layer",
                    values.len(),
                    d.name.name,
                    self.inputs
                ),
                format!(
                    "give one std per input of the layer ({} here), or one number for all",
                    self.inputs
                ),
            )
        } else {
            return Some(Init::NormalColumns(values));
        };
        self.fail(span, "pdenet::check::bad_init", msg, &help);
        None
    }

    /// A `where` value: `n` alone, or member `k` of a recurrence (its base case for
    /// k if there is one, else the general member with its index bound to k).
    fn local(&mut self, n: &str, k: Option<i64>, span: Span, sc: &Scope) -> Option<LayerExpr> {
        let key: LocalKey = (n.to_string(), k, sc.edges);
        if let Some(&i) = self.local_ids.get(&key) {
            return Some(LayerExpr::Local(i));
        }
        let def = self.local_def(n, k, span)?;
        let show = |(n, k, _): &LocalKey| k.map_or(n.clone(), |k| format!("{n}[{k}]"));
        let msg = if self.open.contains(&key) {
            Some(format!("`{}` is defined in terms of itself", show(&key)))
        } else if self.open.len() >= MAX_CHAIN {
            Some(format!(
                "`{}` never reaches a base case: its recurrence went {MAX_CHAIN} members deep, to `{}`",
                show(&self.open[0]),
                show(&key)
            ))
        } else {
            None
        };
        if let Some(msg) = msg {
            let help = "give base cases (T[0] = …, T[1] = …) and read lower members (T[k-1])";
            return self.fail(def.span, "pdenet::check::recurrence", msg, help);
        }
        let mut inner = Scope {
            edges: sc.edges,
            ..Scope::default()
        };
        if let (
            Some(ast::Expr {
                kind: ExprKind::Name(var),
                ..
            }),
            Some(k),
        ) = (&def.index, k)
        {
            inner.ints.insert(var.clone(), k);
        }
        self.open.push(key.clone());
        let value = self.lower(&def.body, &inner);
        self.open.pop();
        self.locals.push(value?);
        self.local_ids.insert(key, self.locals.len() - 1);
        Some(LayerExpr::Local(self.locals.len() - 1))
    }

    /// The definition that gives `n` (or `n[k]`).
    fn local_def(&mut self, n: &str, k: Option<i64>, span: Span) -> Option<ast::LocalDef> {
        let defs: Vec<ast::LocalDef> = self
            .def
            .locals
            .iter()
            .filter(|l| l.name.name == n)
            .cloned()
            .collect();
        let base = |l: &ast::LocalDef| match (&l.index, k) {
            (
                Some(ast::Expr {
                    kind: ExprKind::Number(v),
                    ..
                }),
                Some(k),
            ) => *v == k as f64,
            _ => false,
        };
        let general = |l: &ast::LocalDef| {
            matches!(
                (&l.index, k),
                (None, None)
                    | (
                        Some(ast::Expr {
                            kind: ExprKind::Name(_),
                            ..
                        }),
                        Some(_)
                    )
            )
        };
        if let Some(d) = defs
            .iter()
            .find(|l| base(l))
            .or_else(|| defs.iter().find(|l| general(l)))
        {
            return Some(d.clone());
        }
        let (msg, help) = match k {
            None => (
                format!("`{n}` is defined only with an index"),
                format!("write `{n}[k]` with a whole-number index"),
            ),
            Some(k) => (
                format!("`{n}[{k}]` is not defined"),
                format!("define it (`{n}[{k}] = …`) or a general member (`{n}[k] = …`)"),
            ),
        };
        self.fail(span, "pdenet::check::recurrence", msg, &help);
        None
    }

    fn call(
        &mut self,
        f: &ast::Ident,
        xs: &[ast::Expr],
        span: Span,
        sc: &Scope,
    ) -> Option<LayerExpr> {
        match f.name.as_str() {
            "shift" | "roll" if sc.args.is_none() => return self.shift(f, xs, span, sc),
            "edges" if sc.args.is_none() => return self.edges(xs, span, sc),
            _ => {}
        }
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
        let x = self.lower(&xs[0], sc)?;
        if f.name == "σ" {
            return match self.activation.clone() {
                Activation::Func(func) => Some(LayerExpr::Call(func, Box::new(x))),
                Activation::Identity => Some(x),
                Activation::Def(def) => self.inline(&def, x, sc),
            };
        }
        if f.name == "skip" {
            if sc.edges {
                let msg = "`skip` inside `edges(…)`".to_string();
                return self.fail(
                    span,
                    "pdenet::check::tensor_shape",
                    msg,
                    "add skip(h) outside edges(…)",
                );
            }
            return Some(LayerExpr::Skip(Box::new(x)));
        }
        if let Some(func) = Func::from_name(&f.name) {
            return Some(LayerExpr::Call(func, Box::new(x)));
        }
        if let Some((def, _)) = self.cx.defs.get(&f.name).cloned() {
            if def.params.len() == 1 {
                return self.inline(&def, x, sc);
            }
        }
        let msg = format!("unknown function `{}` in a layer body", f.name);
        self.fail(
            f.span,
            "pdenet::check::unknown_function",
            msg,
            "use σ (the activation), skip, edges, shift, roll, a primitive or a one-argument def",
        )
    }

    /// `shift(v, s)`: entry j is v_{j+s}, zero past the ends; `roll` wraps around.
    fn shift(
        &mut self,
        f: &ast::Ident,
        xs: &[ast::Expr],
        span: Span,
        sc: &Scope,
    ) -> Option<LayerExpr> {
        let [x, by] = xs else {
            let msg = format!("`{}` takes a vector and a whole-number offset", f.name);
            return self.fail(
                span,
                "pdenet::check::wrong_arity",
                msg,
                "write shift(h, 1) for entry j+1 at j",
            );
        };
        if sc.edges {
            let msg = format!("`{}` inside `edges(…)`", f.name);
            return self.fail(
                span,
                "pdenet::check::tensor_shape",
                msg,
                "shift the hidden vector outside edges(…)",
            );
        }
        let by = self.static_int(by, sc)?;
        let x = self.lower(x, sc)?;
        Some(LayerExpr::Shift {
            x: Box::new(x),
            by: by.clamp(-(1 << 20), 1 << 20) as i32,
            periodic: f.name == "roll",
        })
    }

    /// `edges(e)`: e per edge (h its input), summed over each output's edges.
    fn edges(&mut self, xs: &[ast::Expr], span: Span, sc: &Scope) -> Option<LayerExpr> {
        if sc.edges {
            let msg = "`edges(…)` inside `edges(…)`".to_string();
            return self.fail(
                span,
                "pdenet::check::tensor_shape",
                msg,
                "a sum over edges is one level deep",
            );
        }
        let [x] = xs else {
            let msg = format!("`edges` takes one expression, not {}", xs.len());
            return self.fail(
                span,
                "pdenet::check::wrong_arity",
                msg,
                "write edges(s*tanh(w*h + b))",
            );
        };
        let inner = Scope {
            edges: true,
            ..sc.clone()
        };
        Some(LayerExpr::Edges(Box::new(self.lower(x, &inner)?)))
    }

    fn inline(&mut self, def: &ast::FnDef, x: LayerExpr, sc: &Scope) -> Option<LayerExpr> {
        let param = def.params.first()?.name.clone();
        let inner = Scope {
            args: Some(HashMap::from([(param, x)])),
            ints: HashMap::new(),
            edges: sc.edges,
        };
        self.lower(&def.body, &inner)
    }
}
