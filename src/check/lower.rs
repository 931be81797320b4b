//! Lowering source expressions to resolved [`Expr`]s: names become coordinates,
//! parameters, numbers or network outputs; `let`s, `def`s and trial functions are
//! inlined; `u_xt` and `d(e, x)` become unexpanded derivatives; complex values are
//! carried as (real, imaginary) pairs so every equation splits into real ones.

use super::decls::Named;
use super::{Checker, Origin};
use crate::diag::{suggest, Diag};
use crate::expr::{CoordId, Expr, Func, ParamId};
use crate::syntax::ast::{self, BinaryOp, ExprKind, Span, UnaryOp};

/// Deepest chain of `def` calls inside `def`s (recursion is an error well before).
const MAX_CALL_DEPTH: usize = 32;

/// A value: real, or complex as two real expressions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Val {
    pub re: Expr,
    pub im: Option<Expr>,
}

impl Val {
    pub fn real(e: Expr) -> Val {
        Val { re: e, im: None }
    }
    fn map(self, f: impl Fn(Expr) -> Expr) -> Val {
        Val {
            re: f(self.re),
            im: self.im.map(f),
        }
    }
    fn zip(a: Val, b: Val, f: impl Fn(Expr, Expr) -> Expr) -> Val {
        let im = match (a.im, b.im) {
            (None, None) => None,
            (x, y) => Some(f(x.unwrap_or(Expr::Num(0.0)), y.unwrap_or(Expr::Num(0.0)))),
        };
        Val {
            re: f(a.re, b.re),
            im,
        }
    }
    pub fn derivative(self, coord: CoordId) -> Val {
        self.map(|e| Expr::d(e, coord))
    }
}

/// Where names are looked up besides the declarations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    /// `def` parameters bound to their arguments, innermost last.
    pub args: Vec<(String, Val)>,
    /// In a trial-function definition: what `net(…)` stands for, and the
    /// coordinates its field depends on (what `net(…)` takes).
    pub net: Option<Val>,
    pub net_args: Vec<CoordId>,
    /// Set inside a stdlib `def`: report errors at the call in the user's file.
    pub at: Option<Span>,
    pub depth: usize,
    /// What `n` in `∂n(e)` and `d(e, n)` stands for here.
    pub normal: Normal,
}

/// The outward normal of the boundary a condition holds on, as `n` reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) enum Normal {
    /// Not in a condition on the boundary: `n` is no coordinate.
    #[default]
    None,
    /// Shapes' pieces of the boundary: the point set's data columns 0…d−1.
    Pieces,
    /// A face of the domain's box, `coord = lo` (sign −1) or `coord = hi` (+1).
    Face(CoordId, f64),
}

/// Values of fields and `let`s, computed once.
#[derive(Debug, Default)]
pub(crate) struct Env {
    pub fields: Vec<Option<Val>>,
    pub lets: Vec<LetState>,
    /// Set when `n` was read as the normal: a condition whose residual does not
    /// read it is lowered once for all its loci.
    pub normal_read: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum LetState {
    #[default]
    Todo,
    InProgress,
    Done(Option<Val>),
}

impl Checker<'_> {
    /// Lowers an expression. `None` after reporting an error.
    pub(crate) fn lower(&mut self, e: &ast::Expr, scope: &Scope) -> Option<Val> {
        let at = scope.at.unwrap_or(e.span);
        match &e.kind {
            ExprKind::Number(v) => Some(Val::real(Expr::Num(*v))),
            ExprKind::Name(n) => self.name(n, at, scope),
            ExprKind::Call(f, args) => self.call(f, args, at, scope),
            ExprKind::Partial(c, a) => {
                let v = self.lower(a, scope)?;
                self.along(v, c, scope)
            }
            ExprKind::Unary(op, a) => {
                let v = self.lower(a, scope)?;
                Some(if *op == UnaryOp::Neg {
                    v.map(Expr::neg)
                } else {
                    v
                })
            }
            ExprKind::Abs(a) => {
                let v = self.lower(a, scope)?;
                Some(Val::real(match v.im {
                    None => Expr::call(Func::Abs, v.re),
                    Some(im) => Expr::call(Func::Sqrt, modulus_squared(v.re, im)),
                }))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, at, scope),
            ExprKind::List(_) => {
                self.list_not_allowed(at);
                None
            }
            ExprKind::Index(..) | ExprKind::Sum { .. } => {
                self.error(
                    Diag::error(
                        "pdenet::check::layer_only",
                        "indexed names and sums over an index belong in layer bodies",
                    )
                    .label(at, "not in a layer")
                    .help("in an equation, write the terms out or use a `def`"),
                );
                None
            }
            ExprKind::If {
                lhs,
                cmp,
                rhs,
                then,
                otherwise,
            } => {
                let l = self.real(lhs, scope, "a comparison")?;
                let r = self.real(rhs, scope, "a comparison")?;
                let t = self.lower(then, scope);
                let o = self.lower(otherwise, scope);
                let select = |x: Expr, y: Expr| {
                    Expr::If(
                        *cmp,
                        Box::new(l.clone()),
                        Box::new(r.clone()),
                        Box::new(x),
                        Box::new(y),
                    )
                };
                Some(Val::zip(t?, o?, select))
            }
        }
    }

    /// Lowers an expression that must be real (comparisons, exponents).
    pub(crate) fn real(&mut self, e: &ast::Expr, scope: &Scope, what: &str) -> Option<Expr> {
        let v = self.lower(e, scope)?;
        if v.im.is_some() {
            self.error(
                Diag::error(
                    "pdenet::check::complex_not_allowed",
                    format!("{what} needs a real value"),
                )
                .label(scope.at.unwrap_or(e.span), "this is complex")
                .help("take |z| or compare the real parts"),
            );
            return None;
        }
        Some(v.re)
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        a: &ast::Expr,
        b: &ast::Expr,
        at: Span,
        scope: &Scope,
    ) -> Option<Val> {
        let combine: fn(Val, Val) -> Val = match op {
            BinaryOp::Pow => return self.power(a, b, at, scope),
            BinaryOp::Add => |x, y| Val::zip(x, y, Expr::add),
            BinaryOp::Sub => |x, y| Val::zip(x, y, Expr::sub),
            // `·` and `⊙` are plain products on scalars; they matter in layer bodies.
            BinaryOp::Mul | BinaryOp::Dot | BinaryOp::Hadamard => complex_mul,
            BinaryOp::Div => complex_div,
        };
        let (x, y) = (self.lower(a, scope), self.lower(b, scope));
        Some(combine(x?, y?))
    }

    fn power(&mut self, a: &ast::Expr, b: &ast::Expr, at: Span, scope: &Scope) -> Option<Val> {
        let exponent = self.real(b, scope, "an exponent")?;
        // |z|^2k of a complex z is (re² + im²)^k: no square root to differentiate.
        if let (ExprKind::Abs(inner), Expr::Num(n)) = (&a.kind, &exponent) {
            let v = self.lower(inner, scope)?;
            if let Some(im) = v.im {
                if n.fract() == 0.0 && *n as i64 % 2 == 0 {
                    let m = modulus_squared(v.re, im);
                    return Some(Val::real(Expr::pow(m, Expr::Num(n / 2.0))));
                }
                let m = Expr::call(Func::Sqrt, modulus_squared(v.re, im));
                return Some(Val::real(Expr::pow(m, exponent)));
            }
            return Some(Val::real(Expr::pow(Expr::call(Func::Abs, v.re), exponent)));
        }
        let base = self.lower(a, scope)?;
        if base.im.is_none() {
            return Some(Val::real(Expr::pow(base.re, exponent)));
        }
        match exponent {
            Expr::Num(n) if n.fract() == 0.0 && (1.0..=8.0).contains(&n) => {
                let mut acc = base.clone();
                for _ in 1..n as usize {
                    acc = complex_mul(acc, base.clone());
                }
                Some(acc)
            }
            _ => {
                self.error(
                    Diag::error(
                        "pdenet::check::complex_power",
                        "a complex value is raised to a power other than 1 … 8",
                    )
                    .label(at, "complex base")
                    .help("write z*z, or use |z|^2 for the squared modulus"),
                );
                None
            }
        }
    }

    fn name(&mut self, name: &str, at: Span, scope: &Scope) -> Option<Val> {
        if let Some(v) = self.plain_name(name, at, scope) {
            return v;
        }
        if let Some(v) = self.suffix_derivative(name, at, scope) {
            return v;
        }
        let mut candidates = self.decls.names();
        candidates.extend(scope.args.iter().map(|(n, _)| n.as_str()));
        // `lamda1` is a typo of `lambda1`, which is how the user spells `λ1`.
        let spelled: Vec<String> = candidates
            .iter()
            .filter_map(|c| crate::syntax::ascii_spelling(c))
            .collect();
        candidates.extend(spelled.iter().map(String::as_str));
        let d = Diag::error(
            "pdenet::check::unknown_name",
            format!("unknown name `{name}`"),
        )
        .label(at, "not declared");
        let d = match suggest(name, candidates) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("declare it with `field`, `const`, `param` or `let`"),
        };
        self.error(d);
        None
    }

    /// A name without derivative suffix. `None` if it names nothing; `Some(None)` if
    /// it names something that failed to lower (already reported).
    fn plain_name(&mut self, name: &str, at: Span, scope: &Scope) -> Option<Option<Val>> {
        if let Some((_, v)) = scope.args.iter().rev().find(|(n, _)| n == name) {
            return Some(Some(v.clone()));
        }
        let found = match self.decls.lookup(name) {
            Some(Named::Coord(c)) => Some(Val::real(Expr::Coord(CoordId(c)))),
            Some(Named::Const(c)) => {
                self.decls.consts[c].used.set(true);
                Some(Val::real(Expr::Num(self.decls.consts[c].value)))
            }
            Some(Named::Param(p)) => {
                self.decls.params[p].used.set(true);
                Some(Val::real(Expr::Param(ParamId(p))))
            }
            Some(Named::Field(f)) => return Some(self.env.fields.get(f).cloned().flatten()),
            Some(Named::Table(t)) => Some(Val::real(Expr::Table {
                table: t,
                deriv: vec![0; self.decls.coords.len()],
            })),
            Some(Named::Let(l)) => return Some(self.let_value(l, at)),
            None => None,
        };
        if found.is_some() {
            return Some(found);
        }
        match name {
            "π" => Some(Some(Val::real(Expr::Num(std::f64::consts::PI)))),
            "i" => Some(Some(Val {
                re: Expr::Num(0.0),
                im: Some(Expr::Num(1.0)),
            })),
            _ => None,
        }
    }

    /// `u_xt`: the derivative of `u` along x then t. `None` if the name has no
    /// differentiable prefix.
    fn suffix_derivative(&mut self, name: &str, at: Span, scope: &Scope) -> Option<Option<Val>> {
        for (k, _) in name.match_indices('_') {
            let (base, suffix) = (&name[..k], &name[k + 1..]);
            if suffix.is_empty() || base.is_empty() {
                continue;
            }
            let differentiable = scope.args.iter().any(|(n, _)| n == base)
                || matches!(
                    self.decls.lookup(base),
                    Some(Named::Field(_) | Named::Let(_) | Named::Table(_))
                );
            if !differentiable {
                continue;
            }
            let names = self.decls.coord_name_list();
            let Some(found) = crate::problem::split_suffix(&names, suffix) else {
                self.error(
                    Diag::error(
                        "pdenet::check::unknown_coordinate",
                        format!("`{name}` differentiates along `{suffix}`, which is not made of coordinate names"),
                    )
                    .label(at, "unknown coordinate in derivative suffix")
                    .help(format!(
                        "the domain declares {}; `d({base}, x, y)` names the coordinates one by one",
                        self.decls.coord_names()
                    )),
                );
                return Some(None);
            };
            let coords: Vec<CoordId> = found.into_iter().map(CoordId).collect();
            if !self.depends_on(base, &coords, at, scope) {
                return Some(None);
            }
            let v = self.plain_name(base, at, scope)?;
            return Some(v.map(|v| coords.into_iter().fold(v, Val::derivative)));
        }
        None
    }

    /// False (with a diagnostic) when `name` is a field declared without one of
    /// `coords`: its derivative along it is zero, which no one writes on purpose.
    fn depends_on(&mut self, name: &str, coords: &[CoordId], at: Span, scope: &Scope) -> bool {
        let shadowed = scope.args.iter().any(|(n, _)| n == name);
        let Some(Named::Field(f)) = self.decls.lookup(name).filter(|_| !shadowed) else {
            return true;
        };
        let own = self.decls.field_coords(f);
        let Some(c) = coords.iter().find(|c| !own.contains(c)) else {
            return true;
        };
        let coord = self.decls.coords[c.0].coord.name.clone();
        let own = self.names_of(&own);
        self.error(
            Diag::error(
                "pdenet::check::field_coordinates",
                format!("`{name}` does not depend on `{coord}`: this derivative is zero"),
            )
            .label(
                at,
                format!("`{name}` is declared over ({own})"),
            )
            .help(format!(
                "declare `field {name}({own}, {coord})` if it varies along {coord}, or drop the term"
            )),
        );
        false
    }

    fn let_value(&mut self, l: usize, at: Span) -> Option<Val> {
        self.decls.lets[l].used.set(true);
        match self.env.lets.get(l).cloned().unwrap_or_default() {
            LetState::Done(v) => v,
            LetState::InProgress => {
                let name = self.decls.lets[l].binding.name.name.clone();
                self.error(
                    Diag::error(
                        "pdenet::check::cyclic_let",
                        format!("`{name}` is defined in terms of itself"),
                    )
                    .label(at, "used here while being defined")
                    .help("a `let` may use fields and other lets, but not itself"),
                );
                None
            }
            LetState::Todo => {
                if self.env.lets.len() <= l {
                    self.env.lets.resize(self.decls.lets.len(), LetState::Todo);
                }
                self.env.lets[l] = LetState::InProgress;
                let body = self.decls.lets[l].binding.value.clone();
                let v = self.lower(&body, &Scope::default());
                self.env.lets[l] = LetState::Done(v.clone());
                v
            }
        }
    }

    /// The derivative of `v` along `c`: a coordinate, or in a condition on the
    /// boundary `n`, the outward normal: n·∇v over the region's coordinates on
    /// shapes' pieces, ±∂v/∂x on a face x = lo or hi of the domain's box.
    fn along(&mut self, v: Val, c: &ast::Ident, scope: &Scope) -> Option<Val> {
        if let Some(coord) = self.decls.coord(&c.name) {
            return Some(v.derivative(coord));
        }
        match (scope.normal, c.name.as_str(), &self.decls.region) {
            (Normal::Pieces, "n", Some(r)) => {
                self.env.normal_read = true;
                let coords = r.coords.clone();
                let parts = coords
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| v.clone().derivative(x).map(|e| Expr::mul(Expr::Data(k), e)));
                return parts.reduce(|a, b| Val::zip(a, b, Expr::add));
            }
            (Normal::Face(coord, sign), "n", _) => {
                self.env.normal_read = true;
                return Some(v.derivative(coord).map(|e| Expr::mul(Expr::num(sign), e)));
            }
            _ => {}
        }
        let help = format!(
            "the domain declares {}; `n`, the outward normal, is there in conditions on a shape or on a face of the domain's box",
            self.decls.coord_names()
        );
        self.error(
            Diag::error(
                "pdenet::check::unknown_coordinate",
                format!("cannot differentiate along `{}`: not a coordinate", c.name),
            )
            .label(scope.at.unwrap_or(c.span), "not a coordinate")
            .help(help),
        );
        None
    }

    fn call(&mut self, f: &ast::Ident, args: &[ast::Expr], at: Span, scope: &Scope) -> Option<Val> {
        let name = f.name.as_str();
        if name == "d" {
            return self.d_call(args, at, scope);
        }
        if name == "net" {
            return self.net_call(args, at, scope);
        }
        if name == "dist" {
            return self.dist_call(args, at);
        }
        if let Some(func) = Func::from_name(name) {
            self.arity(name, 1, args.len(), at)?;
            let v = self.lower(&args[0], scope)?;
            if v.im.is_some() {
                self.error(
                    Diag::error(
                        "pdenet::check::complex_not_allowed",
                        format!("`{name}` of a complex value"),
                    )
                    .label(at, "complex argument")
                    .help("only |z| and arithmetic take complex values"),
                );
                return None;
            }
            return Some(Val::real(Expr::call(func, v.re)));
        }
        if let Some((def, origin)) = self.defs.get(name).cloned() {
            return self.inline_def(&def, origin, args, at, scope);
        }
        if let Some(Named::Field(i)) = self.decls.lookup(name) {
            return self.field_call(i, args, at, scope);
        }
        // The primitives first: on a tie (`sinn`: sin or sinh) they are the likelier.
        let mut candidates: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
        candidates.push("d");
        candidates.extend(self.defs.keys().map(String::as_str));
        let d = Diag::error(
            "pdenet::check::unknown_function",
            format!("unknown function `{name}`"),
        )
        .label(at, "not a function");
        let d = match suggest(name, candidates) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("define it with `def name(args) = …`"),
        };
        self.error(d);
        None
    }

    /// `dist(NAME)`: an approximate distance function of a named shape's boundary
    /// (`adf`) over the region's coordinates, positive on the domain's side of it (so
    /// a hole's is the negated function of its disk).
    fn dist_call(&mut self, args: &[ast::Expr], at: Span) -> Option<Val> {
        self.arity("dist", 1, args.len(), at)?;
        let shape = match &args[0].kind {
            ExprKind::Name(n) => self.decls.shapes.iter().find(|s| s.name == *n),
            _ => None,
        }
        .and_then(|s| s.shape.clone());
        let (Some(region), Some(shape)) = (self.decls.region.clone(), shape) else {
            let names: Vec<&str> = self.decls.shapes.iter().map(|s| s.name.as_str()).collect();
            self.error(
                Diag::error("pdenet::check::dist", "`dist` takes the name of a shape of the domain")
                    .label(args[0].span, "not a shape's name")
                    .help(if names.is_empty() {
                        "declare the domain as a shape: `shape plate = rectangle([0, 0], [1, 1])`, `domain (x, y) ∈ plate`".to_string()
                    } else {
                        format!("the file's shapes: {}", names.join(", "))
                    }),
            );
            return None;
        };
        if shape.dim() != region.coords.len() {
            self.error(
                Diag::error(
                    "pdenet::check::dist",
                    format!(
                        "the shape has {} dimensions, the domain's region {}",
                        shape.dim(),
                        region.coords.len()
                    ),
                )
                .label(args[0].span, "another dimension")
                .help("`dist` takes a shape over the region's coordinates"),
            );
            return None;
        }
        let x: Vec<Expr> = region.coords.iter().map(|&c| Expr::Coord(c)).collect();
        let Some(phi) = crate::adf::distance(&shape, &x) else {
            self.error(
                Diag::error(
                    "pdenet::check::dist",
                    "this shape has no faces to measure from",
                )
                .label(args[0].span, "a shape without faces")
                .help("give the shape a positive size in every dimension"),
            );
            return None;
        };
        let inside = inner_point(&region).is_none_or(|p| shape.distance(&p) <= 0.0);
        Some(Val::real(if inside { phi } else { Expr::neg(phi) }))
    }

    fn arity(&mut self, name: &str, want: usize, got: usize, at: Span) -> Option<()> {
        if want == got {
            return Some(());
        }
        self.error(
            Diag::error(
                "pdenet::check::wrong_arity",
                format!(
                    "`{name}` takes {want} argument{}, but {got} {} given",
                    plural(want),
                    if got == 1 { "was" } else { "were" }
                ),
            )
            .label(at, format!("{got} argument{}", plural(got))),
        );
        None
    }

    /// `d(e, x)` or `d(e, x, t)`: derivatives along the listed coordinates.
    fn d_call(&mut self, args: &[ast::Expr], at: Span, scope: &Scope) -> Option<Val> {
        if args.len() < 2 {
            self.error(
                Diag::error(
                    "pdenet::check::wrong_arity",
                    "`d` takes an expression and at least one coordinate",
                )
                .label(at, "write d(expr, x)"),
            );
            return None;
        }
        let mut along = Vec::new();
        for a in &args[1..] {
            let ExprKind::Name(n) = &a.kind else {
                self.error(
                    Diag::error(
                        "pdenet::check::unknown_coordinate",
                        "the arguments after the first must be coordinates",
                    )
                    .label(scope.at.unwrap_or(a.span), "not a coordinate name")
                    .help(format!("the domain declares {}", self.decls.coord_names())),
                );
                return None;
            };
            along.push(ast::Ident {
                name: n.clone(),
                span: a.span,
            });
        }
        if let ExprKind::Name(base) = &args[0].kind {
            let coords: Vec<CoordId> = along
                .iter()
                .filter_map(|c| self.decls.coord(&c.name))
                .collect();
            if !self.depends_on(base, &coords, at, scope) {
                return None;
            }
        }
        let mut v = self.lower(&args[0], scope)?;
        for c in &along {
            v = self.along(v, c, scope)?;
        }
        Some(v)
    }

    fn net_call(&mut self, args: &[ast::Expr], at: Span, scope: &Scope) -> Option<Val> {
        let Some(net) = scope.net.clone() else {
            self.error(
                Diag::error(
                    "pdenet::check::net_outside_trial",
                    "`net(…)` is only meaningful in a field's trial function",
                )
                .label(at, "not in a field definition")
                .help("write e.g. `field ψ(x) = x*(1 - x)*net(x)`"),
            );
            return None;
        };
        if !same_names(args, &scope.net_args, &self.decls.coord_name_list()) {
            let want = self.names_of(&scope.net_args);
            self.error(
                Diag::error(
                    "pdenet::check::field_at_point",
                    "`net(…)` takes the coordinates its field depends on",
                )
                .label(at, format!("write net({want})"))
                .help("a field declared over fewer coordinates gets a network over just those"),
            );
            return None;
        }
        Some(net)
    }

    /// The names of coordinates, comma-separated.
    fn names_of(&self, coords: &[CoordId]) -> String {
        let names: Vec<&str> = coords
            .iter()
            .map(|c| self.decls.coords[c.0].coord.name.as_str())
            .collect();
        names.join(", ")
    }

    fn field_call(
        &mut self,
        i: usize,
        args: &[ast::Expr],
        at: Span,
        _scope: &Scope,
    ) -> Option<Val> {
        let want = self.decls.field_coords(i);
        if !same_names(args, &want, &self.decls.coord_name_list()) {
            let want = self.names_of(&want);
            self.error(
                Diag::error(
                    "pdenet::check::field_at_point",
                    "a field can only be taken at the point itself",
                )
                .label(at, format!("write the coordinates ({want})"))
                .help("to impose a value somewhere, write a condition: `boundary u = 0 on x = 1`"),
            );
            return None;
        }
        self.env.fields.get(i).cloned().flatten()
    }

    fn inline_def(
        &mut self,
        def: &ast::FnDef,
        origin: Origin,
        args: &[ast::Expr],
        at: Span,
        scope: &Scope,
    ) -> Option<Val> {
        self.arity(&def.name.name, def.params.len(), args.len(), at)?;
        if scope.depth >= MAX_CALL_DEPTH {
            self.error(
                Diag::error(
                    "pdenet::check::recursive_def",
                    format!(
                        "`{}` calls itself (directly or through others)",
                        def.name.name
                    ),
                )
                .label(at, "recursion here")
                .help("definitions are inlined, so they cannot recurse"),
            );
            return None;
        }
        let mut bound = Vec::new();
        for (p, a) in def.params.iter().zip(args) {
            bound.push((p.name.clone(), self.lower(a, scope)?));
        }
        let inner = Scope {
            args: bound,
            net: None,
            net_args: vec![],
            at: match origin {
                Origin::Stdlib => Some(scope.at.unwrap_or(at)),
                Origin::User(_) => scope.at,
            },
            depth: scope.depth + 1,
            normal: scope.normal,
        };
        self.lower(&def.body, &inner)
    }
}

/// Whether call arguments are exactly the coordinates `want` (by name, any order).
fn same_names(args: &[ast::Expr], want: &[CoordId], coord_names: &[&str]) -> bool {
    let wanted: Vec<&str> = want.iter().map(|c| coord_names[c.0]).collect();
    args.len() == wanted.len()
        && args
            .iter()
            .all(|a| matches!(&a.kind, ExprKind::Name(n) if wanted.contains(&n.as_str())))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn modulus_squared(re: Expr, im: Expr) -> Expr {
    Expr::add(Expr::pow(re, Expr::Num(2.0)), Expr::pow(im, Expr::Num(2.0)))
}

/// (a + bi)(c + di) = (ac − bd) + (ad + bc)i, skipping the zero parts.
fn complex_mul(x: Val, y: Val) -> Val {
    match (x.im, y.im) {
        (None, None) => Val::real(Expr::mul(x.re, y.re)),
        (Some(b), None) => Val {
            re: Expr::mul(x.re, y.re.clone()),
            im: Some(Expr::mul(b, y.re)),
        },
        (None, Some(d)) => Val {
            re: Expr::mul(x.re.clone(), y.re),
            im: Some(Expr::mul(x.re, d)),
        },
        (Some(b), Some(d)) => Val {
            re: Expr::sub(
                Expr::mul(x.re.clone(), y.re.clone()),
                Expr::mul(b.clone(), d.clone()),
            ),
            im: Some(Expr::add(Expr::mul(x.re, d), Expr::mul(b, y.re))),
        },
    }
}

/// (a + bi)/(c + di) = (a + bi)(c − di)/(c² + d²).
fn complex_div(x: Val, y: Val) -> Val {
    match y.im {
        None => {
            let c = y.re;
            Val {
                re: Expr::div(x.re, c.clone()),
                im: x.im.map(|b| Expr::div(b, c)),
            }
        }
        Some(d) => {
            let den = modulus_squared(y.re.clone(), d.clone());
            let num = complex_mul(
                x,
                Val {
                    re: y.re,
                    im: Some(Expr::neg(d)),
                },
            );
            Val {
                re: Expr::div(num.re, den.clone()),
                im: num.im.map(|e| Expr::div(e, den)),
            }
        }
    }
}

/// A point well inside the region's shape (the first Halton point of its bounding box
/// that is), to tell which side of a shape's boundary the domain is on.
fn inner_point(region: &crate::problem::Region) -> Option<Vec<f64>> {
    let (lo, hi) = region.shape.bounds();
    let size: f64 = lo.iter().zip(&hi).map(|(l, h)| h - l).fold(0.0, f64::max);
    (1..10_000u64)
        .map(|i| {
            let k = lo.len();
            (0..k)
                .map(|d| lo[d] + (hi[d] - lo[d]) * crate::train::points::halton(i, d))
                .collect::<Vec<f64>>()
        })
        .find(|p| region.shape.distance(p) < -1e-3 * size)
}
