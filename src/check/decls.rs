//! Declarations: coordinates, constants, parameters, fields and `let`s, collected
//! in one pass so that later statements can refer to them in any order. Constant
//! expressions (bounds, initial values, constants) are evaluated here.

use super::{Checker, Origin};
use crate::diag::{suggest, Diag};
use crate::expr::CoordId;
use crate::geometry::Shape;
use crate::problem::{Coord, Param, Region};
use crate::syntax::ast::{self, BinaryOp, ExprKind, Span, StatementKind, UnaryOp};
use std::cell::Cell;

#[derive(Debug, Default)]
pub(crate) struct Decls {
    pub coords: Vec<CoordDecl>,
    pub consts: Vec<ConstDecl>,
    pub params: Vec<ParamDecl>,
    pub fields: Vec<ast::FieldDecl>,
    pub lets: Vec<LetDecl>,
    /// `shape` statements in order; `shape` is `None` where it had an error.
    pub shapes: Vec<ShapeDecl>,
    /// `domain (x, y) ∈ SHAPE` (its `pieces` are filled when the problem is built).
    pub region: Option<Region>,
    /// The names `table` blocks define, in order: `Problem::tables`' indices.
    pub tables: Vec<ast::Ident>,
}

#[derive(Debug)]
pub(crate) struct ShapeDecl {
    pub name: String,
    pub shape: Option<Shape>,
}

#[derive(Debug)]
pub(crate) struct CoordDecl {
    pub coord: Coord,
    pub span: Span,
}

#[derive(Debug)]
pub(crate) struct ConstDecl {
    pub name: String,
    pub value: f64,
    pub span: Span,
    pub used: Cell<bool>,
}

#[derive(Debug)]
pub(crate) struct ParamDecl {
    pub param: Param,
    pub span: Span,
    pub used: Cell<bool>,
}

#[derive(Debug)]
pub(crate) struct LetDecl {
    pub binding: ast::Binding,
    pub used: Cell<bool>,
}

/// What a plain name refers to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Named {
    Coord(usize),
    Const(usize),
    Param(usize),
    Field(usize),
    Let(usize),
    Table(usize),
}

impl Decls {
    pub fn lookup(&self, name: &str) -> Option<Named> {
        let find = |names: Vec<&str>| names.iter().position(|n| *n == name);
        let coords = self.coords.iter().map(|c| c.coord.name.as_str()).collect();
        let consts = self.consts.iter().map(|c| c.name.as_str()).collect();
        let params = self.params.iter().map(|p| p.param.name.as_str()).collect();
        let fields = self.fields.iter().map(|f| f.name.name.as_str()).collect();
        let lets = self
            .lets
            .iter()
            .map(|l| l.binding.name.name.as_str())
            .collect();
        let tables = self.tables.iter().map(|t| t.name.as_str()).collect();
        find(coords)
            .map(Named::Coord)
            .or_else(|| find(consts).map(Named::Const))
            .or_else(|| find(params).map(Named::Param))
            .or_else(|| find(fields).map(Named::Field))
            .or_else(|| find(lets).map(Named::Let))
            .or_else(|| find(tables).map(Named::Table))
    }

    /// Every declared name, for "did you mean" suggestions.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        v.extend(self.coords.iter().map(|c| c.coord.name.as_str()));
        v.extend(self.consts.iter().map(|c| c.name.as_str()));
        v.extend(self.params.iter().map(|p| p.param.name.as_str()));
        v.extend(self.fields.iter().map(|f| f.name.name.as_str()));
        v.extend(self.lets.iter().map(|l| l.binding.name.name.as_str()));
        v.extend(self.tables.iter().map(|t| t.name.as_str()));
        v
    }

    /// The named shapes that checked, as the problem's region pieces.
    pub fn pieces(&self) -> Vec<(String, Shape)> {
        self.shapes
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.shape.clone()?)))
            .collect()
    }

    /// The coordinates' names in declaration order.
    pub fn coord_name_list(&self) -> Vec<&str> {
        self.coords.iter().map(|c| c.coord.name.as_str()).collect()
    }

    pub fn coord_names(&self) -> String {
        self.coord_name_list().join(", ")
    }

    pub fn coord(&self, name: &str) -> Option<CoordId> {
        self.coords
            .iter()
            .position(|c| c.coord.name == name)
            .map(CoordId)
    }

    /// The coordinates field `f` is declared over (those that are coordinates), in
    /// coordinate order.
    pub fn field_coords(&self, f: usize) -> Vec<CoordId> {
        let mut out: Vec<CoordId> = self.fields[f]
            .args
            .iter()
            .filter_map(|a| self.coord(&a.name))
            .collect();
        out.sort_by_key(|c| c.0);
        out.dedup();
        out
    }
}

/// Names the language gives a meaning without a declaration.
pub(crate) const BUILTIN_NAMES: [&str; 5] = ["π", "i", "net", "d", "dist"];

impl Checker<'_> {
    /// Collects every declaration of the user's file, and its `def`s and `layer`s.
    pub(crate) fn collect(&mut self, file: &ast::File) {
        let mut seen: Vec<(String, Span)> = Vec::new();
        // Shapes first: a domain may name one declared further down.
        for st in &file.statements {
            if let StatementKind::Shape(items) = &st.kind {
                for (name, e) in items {
                    self.declare(&mut seen, name);
                    let shape = self.shape(e);
                    self.decls.shapes.push(ShapeDecl {
                        name: name.name.clone(),
                        shape,
                    });
                }
            }
        }
        for st in &file.statements {
            match &st.kind {
                StatementKind::Domain(items) => {
                    for item in items {
                        match item {
                            ast::DomainItem::Interval(iv) => {
                                self.declare(&mut seen, &iv.coord);
                                self.interval(iv);
                            }
                            ast::DomainItem::Region(r) => {
                                r.coords.iter().for_each(|c| self.declare(&mut seen, c));
                                self.region(r);
                            }
                        }
                    }
                }
                StatementKind::Const(bs) => {
                    for b in bs {
                        self.declare(&mut seen, &b.name);
                        let value = self.constant(&b.value, "a constant").unwrap_or(0.0);
                        self.decls.consts.push(ConstDecl {
                            name: b.name.name.clone(),
                            value,
                            span: b.name.span,
                            used: Cell::new(false),
                        });
                    }
                }
                StatementKind::Param(ps) => {
                    for p in ps {
                        self.declare(&mut seen, &p.name);
                        self.param(p);
                    }
                }
                StatementKind::Field(fs) => {
                    for f in fs {
                        self.declare(&mut seen, &f.name);
                        self.decls.fields.push(f.clone());
                    }
                }
                StatementKind::Let(bs) => {
                    for b in bs {
                        self.declare(&mut seen, &b.name);
                        self.decls.lets.push(LetDecl {
                            binding: b.clone(),
                            used: Cell::new(false),
                        });
                    }
                }
                StatementKind::Def(d) => {
                    self.declare(&mut seen, &d.name);
                    self.defs
                        .insert(d.name.name.clone(), (d.clone(), Origin::User(st.span)));
                }
                StatementKind::Layer(l) => {
                    self.declare(&mut seen, &l.name);
                    self.layers
                        .insert(l.name.name.clone(), (l.clone(), Origin::User(st.span)));
                }
                _ => {}
            }
        }
        // Tables last: a block's names that are not coordinates are its tables.
        for st in &file.statements {
            let names: Vec<&ast::Ident> = match &st.kind {
                StatementKind::Data(b) if b.kind == ast::DataKind::Table => b
                    .mappings
                    .iter()
                    .filter(|m| self.decls.coord(&m.name.name).is_none())
                    .map(|m| &m.name)
                    .collect(),
                StatementKind::TableCells { name, .. } => vec![name],
                _ => continue,
            };
            for name in names {
                self.declare(&mut seen, name);
                self.decls.tables.push(name.clone());
            }
        }
        self.ambiguous_coordinates();
        if self.decls.coords.is_empty() {
            self.error(
                Diag::error("pdenet::check::no_domain", "the file declares no domain")
                    .label(
                        super::end_of_file(file),
                        "no `domain` statement in the file",
                    )
                    .help("add e.g. `domain x ∈ [-1, 1], t ∈ [0, 1]`"),
            );
        }
        if self.decls.fields.is_empty() {
            self.error(
                Diag::error("pdenet::check::no_field", "the file declares no field")
                    .label(super::end_of_file(file), "no `field` statement in the file")
                    .help("add e.g. `field u(x, t)`"),
            );
        }
    }

    fn declare(&mut self, seen: &mut Vec<(String, Span)>, name: &ast::Ident) {
        if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name.name) {
            let first = *first;
            self.error(
                Diag::error(
                    "pdenet::check::duplicate_name",
                    format!("`{}` is declared twice", name.name),
                )
                .label(name.span, "declared again here")
                .label(first, "first declared here")
                .help(
                    "give each coordinate, field, constant, parameter and definition its own name",
                ),
            );
        } else if BUILTIN_NAMES.contains(&name.name.as_str())
            || crate::expr::Func::from_name(&name.name).is_some()
        {
            self.error(
                Diag::error(
                    "pdenet::check::reserved_name",
                    format!("`{}` is a built-in name", name.name),
                )
                .label(name.span, "cannot be redeclared")
                .help("choose another name"),
            );
        } else {
            seen.push((name.name.clone(), name.span));
        }
    }

    fn interval(&mut self, iv: &ast::Interval) {
        let lo = self.constant(&iv.lo, "a domain bound");
        let hi = self.constant(&iv.hi, "a domain bound");
        let (lo, hi) = (lo.unwrap_or(0.0), hi.unwrap_or(1.0));
        if lo >= hi {
            self.error(
                Diag::error(
                    "pdenet::check::empty_interval",
                    format!(
                        "the interval of `{}` is empty or reversed: [{lo}, {hi}]",
                        iv.coord.name
                    ),
                )
                .label(iv.span, "lower bound must be below upper bound")
                .help(format!(
                    "write `{} ∈ [{}, {}]`",
                    iv.coord.name,
                    lo.min(hi),
                    lo.max(hi)
                )),
            );
        }
        self.coordinate(&iv.coord, lo, hi);
    }

    /// A multi-letter coordinate name made of others (`xt` beside x and t) would make
    /// a derivative suffix such as `u_xt` ambiguous: an error at the long name.
    fn ambiguous_coordinates(&mut self) {
        let names = self.decls.coord_name_list();
        let found: Vec<(String, Span)> = self
            .decls
            .coords
            .iter()
            .enumerate()
            .filter(|(k, c)| {
                let others: Vec<&str> = names
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| j != k)
                    .map(|(_, n)| *n)
                    .collect();
                c.coord.name.chars().count() > 1
                    && crate::problem::split_suffix(&others, &c.coord.name).is_some()
            })
            .map(|(_, c)| (c.coord.name.clone(), c.span))
            .collect();
        for (name, span) in found {
            self.error(
                Diag::error(
                    "pdenet::check::ambiguous_coordinate",
                    format!("coordinate `{name}` reads as other coordinates in a row"),
                )
                .label(span, "a derivative suffix could not tell them apart")
                .help(
                    "name it so that it does not spell other coordinate names, e.g. x1, x2 or r, θ",
                ),
            );
        }
    }

    /// The coordinate `name` names, or an error at it (labelled `label`) that lists
    /// the declared ones.
    pub(crate) fn coordinate_named(&mut self, name: &ast::Ident, label: &str) -> Option<CoordId> {
        let found = self.decls.coord(&name.name);
        if found.is_none() {
            self.error(
                Diag::error(
                    "pdenet::check::unknown_coordinate",
                    format!("`{}` is not a coordinate", name.name),
                )
                .label(name.span, label.to_string())
                .help(format!("the domain declares {}", self.decls.coord_names())),
            );
        }
        found
    }

    /// Declares coordinate `name` on [lo, hi].
    pub(crate) fn coordinate(&mut self, name: &ast::Ident, lo: f64, hi: f64) -> CoordId {
        self.decls.coords.push(CoordDecl {
            coord: Coord {
                name: name.name.clone(),
                lo,
                hi,
            },
            span: name.span,
        });
        CoordId(self.decls.coords.len() - 1)
    }

    fn param(&mut self, p: &ast::ParamDecl) {
        let init = self.constant(&p.init, "an initial value").unwrap_or(0.0);
        if p.positive && init <= 0.0 {
            self.error(
                Diag::error(
                    "pdenet::check::nonpositive_initial",
                    format!("positive parameter `{}` starts at {init}", p.name.name),
                )
                .label(p.init.span, "must be > 0: it is trained as its logarithm")
                .help("start it at a small positive value, e.g. exp(-6)"),
            );
        }
        let exact = p.exact.as_ref().and_then(|e| {
            let v = self.constant(e, "a true value")?;
            if v == 0.0 || (p.positive && v < 0.0) {
                self.error(
                    Diag::error(
                        "pdenet::check::bad_exact_value",
                        format!("parameter `{}` cannot have the true value {v}", p.name.name),
                    )
                    .label(e.span, if v == 0.0 { "the relative error of a recovered 0 is not defined" } else { "a positive parameter's true value is > 0" })
                    .help("give the true value the run should compare with, nonzero (> 0 for a positive parameter), or remove `exact …`"),
                );
                return None;
            }
            Some(v)
        });
        self.decls.params.push(ParamDecl {
            param: Param {
                name: p.name.name.clone(),
                init,
                positive: p.positive,
                exact,
            },
            span: p.name.span,
            used: Cell::new(false),
        });
    }

    /// Evaluates a constant expression (numbers, constants declared earlier, π and
    /// the primitive functions). Reports what is not constant.
    pub(crate) fn constant(&mut self, e: &ast::Expr, what: &str) -> Option<f64> {
        let v = self.const_eval(e, what)?;
        if v.is_finite() {
            Some(v)
        } else {
            self.error(
                Diag::error(
                    "pdenet::check::non_finite",
                    format!("{what} evaluates to {v}"),
                )
                .label(e.span, "not a finite number")
                .help("check for a division by zero or an overflow"),
            );
            None
        }
    }

    fn const_eval(&mut self, e: &ast::Expr, what: &str) -> Option<f64> {
        match &e.kind {
            ExprKind::Number(v) => Some(*v),
            ExprKind::Name(n) if n == "π" => Some(std::f64::consts::PI),
            ExprKind::Name(n) => {
                if let Some(c) = self.decls.consts.iter().find(|c| c.name == *n) {
                    c.used.set(true);
                    return Some(c.value);
                }
                let known: Vec<&str> = self.decls.consts.iter().map(|c| c.name.as_str()).collect();
                let mut d = Diag::error(
                    "pdenet::check::not_constant",
                    format!("`{n}` is not a constant, but {what} must be"),
                )
                .label(e.span, "not known here");
                d = match suggest(n, known) {
                    Some(s) => d.help(format!(
                        "did you mean `{s}`? (declare constants before use)"
                    )),
                    None => d.help("use numbers, π and constants declared earlier with `const`"),
                };
                self.error(d);
                None
            }
            ExprKind::Unary(op, a) => {
                let a = self.const_eval(a, what)?;
                Some(if *op == UnaryOp::Neg { -a } else { a })
            }
            ExprKind::Binary(op, a, b) => {
                let (a, b) = (self.const_eval(a, what), self.const_eval(b, what));
                let (a, b) = (a?, b?);
                Some(match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul | BinaryOp::Dot | BinaryOp::Hadamard => a * b,
                    BinaryOp::Div => a / b,
                    BinaryOp::Pow => a.powf(b),
                })
            }
            ExprKind::Abs(a) => Some(self.const_eval(a, what)?.abs()),
            ExprKind::Call(f, args) if args.len() == 1 => {
                match crate::expr::Func::from_name(&f.name) {
                    Some(func) => Some(func.eval(self.const_eval(&args[0], what)?)),
                    None => self.not_constant(e, what),
                }
            }
            ExprKind::List(_) => {
                self.list_not_allowed(e.span);
                None
            }
            _ => self.not_constant(e, what),
        }
    }

    /// A list `[a, b, …]` where one value belongs: lists are only the per-column
    /// standard deviations of a matrix's initializer.
    pub(crate) fn list_not_allowed(&mut self, at: Span) {
        self.error(
            Diag::error("pdenet::check::list_here", "a list is not allowed here")
                .label(at, "one value expected")
                .help("lists `[a, b, …]` give a matrix one std per input column, as in `F: matrix ~ normal(std = [20, 1, 1])`; elsewhere write one number"),
        );
    }

    fn not_constant(&mut self, e: &ast::Expr, what: &str) -> Option<f64> {
        self.error(
            Diag::error(
                "pdenet::check::not_constant",
                format!("{what} must be a constant expression"),
            )
            .label(e.span, "not constant")
            .help("use numbers, π, constants and sin/cos/exp/log/tanh/sqrt of them"),
        );
        None
    }

    /// A positive whole number (widths, counts, epochs).
    pub(crate) fn count(&mut self, e: &ast::Expr, what: &str, min: f64) -> Option<usize> {
        let v = self.constant(e, what)?;
        if v.fract() != 0.0 || v < min || v > 1e9 {
            self.error(
                Diag::error(
                    "pdenet::check::bad_count",
                    format!("{what} must be a whole number ≥ {min}, not {v}"),
                )
                .label(e.span, "out of range"),
            );
            return None;
        }
        Some(v as usize)
    }

    /// A number with `lo < v` (or `lo <= v` when `inclusive`) and `v < hi`.
    pub(crate) fn in_range(
        &mut self,
        e: &ast::Expr,
        what: &str,
        lo: f64,
        hi: f64,
        inclusive: bool,
    ) -> Option<f64> {
        let v = self.constant(e, what)?;
        let ok = (v > lo || (inclusive && v == lo)) && v < hi;
        if !ok {
            let open = if inclusive { "[" } else { "(" };
            self.error(
                Diag::error(
                    "pdenet::check::out_of_range",
                    format!("{what} is {v}, outside {open}{lo}, {hi})"),
                )
                .label(e.span, "out of range"),
            );
            return None;
        }
        Some(v)
    }
}
