//! Loss terms and the point sets they live on: equations, initial and boundary
//! conditions, `periodic`, integral constraints and data, in continuous time or
//! through an implicit Runge–Kutta step.

use super::data::Datasets;
use super::decls::Named;
use super::lower::{Normal, Scope, Val};
use super::settings::{SchemeSpec, Settings};
use super::Checker;
use crate::diag::{suggest, Diag};
use crate::expr::{CoordId, Expr};
use crate::problem::{LossTerm, PointKind, PointSet, Reduce, Resampling, Sampling, StepEquation};
use crate::syntax::ast::{self, ConditionKind, Span, StatementKind};

#[derive(Debug, Default)]
pub(crate) struct Terms {
    pub terms: Vec<LossTerm>,
    pub point_sets: Vec<PointSet>,
    /// Under a scheme: the equation the step solves.
    pub step: Option<StepEquation>,
    /// `rad(...)` on the collocation set.
    pub resampling: Option<Resampling>,
}

/// A residual before it is assigned to points: name, values, weight, span.
pub(crate) struct Pending {
    pub name: String,
    pub residuals: Vec<Expr>,
    pub weight: f64,
}

pub(crate) fn build(
    cx: &mut Checker,
    file: &ast::File,
    datasets: &Datasets,
    scheme: Option<&SchemeSpec>,
    settings: &Settings,
    irk_final: bool,
) -> Terms {
    let mut t = Terms::default();
    let equations = cx.equations(file);
    // Equations that failed to check were reported already; "no equation" would
    // only add noise then.
    let written = file
        .statements
        .iter()
        .any(|st| matches!(st.kind, StatementKind::Equation { .. }));
    let has_data = file
        .statements
        .iter()
        .any(|st| matches!(&st.kind, StatementKind::Data(d) if d.kind == ast::DataKind::Data));
    if !written && has_data {
        cx.diags.push(
            Diag::warning(
                "pdenet::check::regression",
                "no equation: the network is fitted to the data alone",
            )
            .label(
                super::end_of_file(file),
                "no `equation` statement in the file",
            )
            .help("this is regression; add an `equation` to train a PINN on the same data"),
        );
    } else if !written {
        cx.error(
            Diag::error("pdenet::check::no_equation", "the file has no equation")
                .label(
                    super::end_of_file(file),
                    "no `equation` statement in the file",
                )
                .help("add e.g. `equation u_t + u*u_x - 0.01*u_xx = 0`"),
        );
    }
    if let (Some(_), Some((_, at))) = (scheme, settings.samples.rad) {
        cx.error(
            Diag::error(
                "pdenet::check::rad_without_residual",
                "a discrete-time scheme's collocation points cannot be resampled",
            )
            .label(
                at,
                "the stage equations hold at fixed points of one time step",
            )
            .help("remove `rad(...)`: residual-based resampling is for continuous-time problems"),
        );
    }
    match scheme {
        None => cx.continuous(file, datasets, settings, equations, &mut t),
        Some(s) => cx.discrete(file, datasets, s, settings, equations, irk_final, &mut t),
    }
    number_repeats(t.terms.iter_mut().map(|x| &mut x.name));
    number_repeats(t.point_sets.iter_mut().map(|x| &mut x.name));
    t
}

/// Makes names unique: report.json and history.csv key loss terms (and the report
/// its point sets) by name, so a repeated name would lose a term. The second and
/// later uses of a name get ` #2`, ` #3`, … (two integral constraints, two data
/// files for one field, the same condition written twice).
fn number_repeats<'a>(names: impl Iterator<Item = &'a mut String>) {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for name in names {
        let uses = seen.entry(name.clone()).or_default();
        *uses += 1;
        if *uses > 1 {
            *name = format!("{name} #{uses}");
        }
    }
}

/// Conditions of several fields on one face (a cavity's lid: u = 1 and v = 0 on
/// y = 1) share the face's name; each such term (and its point set) gets the
/// fields and derivatives its left side names: `boundary y = 1 (u)`.
fn qualify(t: &mut Terms, written: &[(usize, String)]) {
    let count = |t: &Terms, name: &str| t.terms.iter().filter(|x| x.name == name).count();
    let renames: Vec<(usize, String)> = written
        .iter()
        .filter(|(i, q)| !q.is_empty() && count(t, &t.terms[*i].name) > 1)
        .map(|(i, q)| (*i, format!("{} ({q})", t.terms[*i].name)))
        .collect();
    for (i, name) in renames {
        let set = &mut t.point_sets[t.terms[i].points];
        if set.name == t.terms[i].name {
            set.name = name.clone();
        }
        t.terms[i].name = name;
    }
}

impl Terms {
    pub(crate) fn points(
        &mut self,
        name: String,
        kind: PointKind,
        count: usize,
        sites: Vec<(CoordId, f64)>,
    ) -> usize {
        self.point_sets.push(PointSet {
            name,
            kind,
            count,
            sites,
            tables: vec![],
        });
        self.point_sets.len() - 1
    }

    pub(crate) fn term(&mut self, p: Pending, points: usize, reduce: Reduce) {
        self.terms.push(LossTerm {
            name: p.name,
            points,
            residuals: p.residuals,
            weight: p.weight,
            reduce,
        });
    }
}

/// A real and an imaginary residual become two terms, or one pair of entries.
fn parts(v: Val) -> Vec<Expr> {
    let mut r = vec![v.re];
    r.extend(v.im);
    r
}

impl Checker<'_> {
    fn weight(&mut self, w: &Option<ast::Expr>) -> f64 {
        match w {
            Some(e) => self.in_range(e, "a weight", 0.0, 1e12, true).unwrap_or(1.0),
            None => 1.0,
        }
    }

    /// `lhs = rhs` as the residual lhs − rhs.
    fn residual(&mut self, lhs: &ast::Expr, rhs: &ast::Expr) -> Option<Val> {
        self.residual_in(lhs, rhs, &Scope::default())
    }

    /// lhs − rhs, lowered in `scope`.
    fn residual_in(&mut self, lhs: &ast::Expr, rhs: &ast::Expr, scope: &Scope) -> Option<Val> {
        let (l, r) = (self.lower(lhs, scope), self.lower(rhs, scope));
        let (l, r) = (l?, r?);
        Some(Val {
            re: Expr::sub(l.re, r.re),
            im: match (l.im, r.im) {
                (None, None) => None,
                (a, b) => Some(Expr::sub(
                    a.unwrap_or(Expr::Num(0.0)),
                    b.unwrap_or(Expr::Num(0.0)),
                )),
            },
        })
    }

    /// Every equation as (name, residual, weight, span).
    fn equations(&mut self, file: &ast::File) -> Vec<(String, Val, f64, Span)> {
        let eqs: Vec<_> = file
            .statements
            .iter()
            .filter_map(|st| match &st.kind {
                StatementKind::Equation { lhs, rhs, weight } => Some((lhs, rhs, weight, st.span)),
                _ => None,
            })
            .collect();
        let n = eqs.len();
        let mut out = Vec::new();
        for (k, (lhs, rhs, weight, span)) in eqs.into_iter().enumerate() {
            let w = self.weight(weight);
            let name = if n == 1 {
                "equation".to_string()
            } else {
                format!("equation {}", k + 1)
            };
            if let Some(v) = self.residual(lhs, rhs) {
                out.push((name, v, w, span));
            }
        }
        out
    }

    fn continuous(
        &mut self,
        file: &ast::File,
        datasets: &Datasets,
        settings: &Settings,
        equations: Vec<(String, Val, f64, Span)>,
        t: &mut Terms,
    ) {
        let data_sets: Vec<usize> = (0..datasets.sets.len())
            .filter(|d| Some(*d) != datasets.reference)
            .collect();
        let collocation = match (settings.samples.collocation, data_sets.first()) {
            (Some((n, method)), _) => {
                let set = t.points(
                    "collocation".into(),
                    PointKind::Collocation { method },
                    n,
                    vec![],
                );
                t.resampling = settings.samples.rad.map(|(rad, _)| Resampling {
                    set,
                    every: rad.every,
                    k: rad.k,
                    c: rad.c,
                    candidates: rad.candidates.unwrap_or(10 * n),
                });
                set
            }
            (None, Some(&d)) => self.data_points(datasets, d, t),
            (None, None) => t.points(
                "collocation".into(),
                PointKind::Collocation {
                    method: Sampling::Latin,
                },
                10_000,
                vec![],
            ),
        };
        for (name, v, weight, _) in equations {
            match v.im {
                None => t.term(
                    Pending {
                        name,
                        residuals: vec![v.re],
                        weight,
                    },
                    collocation,
                    Reduce::Mean,
                ),
                Some(im) => {
                    t.term(
                        Pending {
                            name: format!("{name}.re"),
                            residuals: vec![v.re],
                            weight,
                        },
                        collocation,
                        Reduce::Mean,
                    );
                    t.term(
                        Pending {
                            name: format!("{name}.im"),
                            residuals: vec![im],
                            weight,
                        },
                        collocation,
                        Reduce::Mean,
                    );
                }
            }
        }
        for &d in &data_sets {
            let points = self.data_points(datasets, d, t);
            for (col, f) in data_columns(&datasets.sets[d]) {
                let residuals = vec![Expr::sub(f.1, Expr::Data(col))];
                t.term(
                    Pending {
                        name: format!("data {}", f.0),
                        residuals,
                        weight: 1.0,
                    },
                    points,
                    Reduce::Mean,
                );
            }
        }
        let inputs = self.decls.coords.len();
        self.conditions(file, settings, t, &|_, v| parts(v), inputs);
        self.constraints(file, settings, t);
    }

    /// The point set of data set `d`, made once.
    fn data_points(&mut self, datasets: &Datasets, d: usize, t: &mut Terms) -> usize {
        let kind = PointKind::Data {
            dataset: d,
            at: None,
        };
        if let Some(i) = t.point_sets.iter().position(|p| p.kind == kind) {
            return i;
        }
        let count = datasets.sets[d].sample.unwrap_or(0);
        t.points(
            format!("data {}", datasets.sets[d].written),
            kind,
            count,
            vec![],
        )
    }

    /// Initial, boundary and periodic conditions. `expand` turns a condition's
    /// residual into its entries (the real and imaginary part, or one per IRK output).
    /// `inputs` is how many coordinates the network sees (all but time in discrete
    /// time): a slice that fixes the only one is a single point, not n copies of it.
    pub(crate) fn conditions(
        &mut self,
        file: &ast::File,
        settings: &Settings,
        t: &mut Terms,
        expand: &dyn Fn(&mut Checker, Val) -> Vec<Expr>,
        inputs: usize,
    ) {
        let slice_points = |n: usize| if inputs <= 1 { 1 } else { n };
        // The point sets each kind of condition makes: one per locus, one for `at`.
        let loci = |kind: ConditionKind| -> usize {
            file.statements
                .iter()
                .map(|st| match &st.kind {
                    StatementKind::Condition {
                        kind: k, at: true, ..
                    } if *k == kind => 1,
                    StatementKind::Condition { kind: k, on, .. } if *k == kind => {
                        on.iter().filter(|l| l.range.is_none()).count()
                    }
                    _ => 0,
                })
                .sum::<usize>()
                .max(1)
        };
        let (n_initial, n_boundary) = (loci(ConditionKind::Initial), loci(ConditionKind::Boundary));
        // (term, the unknowns its left side names), for `qualify`.
        let mut written = Vec::new();
        for st in &file.statements {
            match &st.kind {
                StatementKind::Condition {
                    kind,
                    lhs,
                    rhs,
                    on,
                    at,
                    weight,
                } => {
                    let (total, method, word, n) = match kind {
                        ConditionKind::Initial => (
                            settings.samples.initial.0,
                            settings.samples.initial.1,
                            "initial",
                            n_initial,
                        ),
                        ConditionKind::Boundary => (
                            settings.samples.boundary.0,
                            settings.samples.boundary.1,
                            "boundary",
                            n_boundary,
                        ),
                    };
                    let w = self.weight(weight);
                    // `∂n(u)` (the outward normal derivative) where every locus is a
                    // shape's piece of the boundary, whose points carry the normal, or
                    // a face of the domain's box: lowered again per locus only where
                    // the residual reads the normal.
                    let pieces =
                        self.decls.region.is_some() && on.iter().all(|l| l.value.is_none());
                    let mut lowered: Option<Val> = None;
                    for (kind, label) in self.condition_sets(on, *at, method) {
                        let normal = match pieces {
                            true => Normal::Pieces,
                            false => self.face_normal(&kind),
                        };
                        let v = match lowered.take() {
                            Some(v) if !self.env.normal_read => v,
                            _ => {
                                self.env.normal_read = false;
                                let scope = Scope {
                                    normal,
                                    ..Scope::default()
                                };
                                match self.residual_in(lhs, rhs, &scope) {
                                    Some(v) => v,
                                    None => break,
                                }
                            }
                        };
                        lowered = Some(v.clone());
                        // Unique names where there are several (report.json keys
                        // loss terms by name): `boundary x = 0`, `boundary x = 1`.
                        let name = if n == 1 {
                            word.to_string()
                        } else {
                            format!("{word} {label}")
                        };
                        // A set that fixes every network input is one point.
                        let fixed = match &kind {
                            PointKind::Slice { .. } => 1,
                            PointKind::Part { fixed, .. } => fixed.len(),
                            _ => 0,
                        };
                        let count = if fixed > 0 && inputs <= fixed {
                            1
                        } else {
                            total.div_ceil(n).max(1)
                        };
                        let points = t.points(name.clone(), kind, count, vec![]);
                        let residuals = expand(self, v.clone());
                        t.term(
                            Pending {
                                name,
                                residuals,
                                weight: w,
                            },
                            points,
                            Reduce::Mean,
                        );
                        written.push((t.terms.len() - 1, self.unknowns(lhs)));
                    }
                }
                StatementKind::Periodic {
                    coords,
                    matched,
                    weight,
                } => {
                    let w = self.weight(weight);
                    let n = slice_points(settings.samples.periodic.0);
                    for c in coords {
                        self.periodic(c, matched, w, n, settings, t, expand);
                    }
                }
                _ => {}
            }
        }
        qualify(t, &written);
    }

    /// The fields and field derivatives (`u`, `u_xx`) an expression names, in order
    /// of first use, comma-separated.
    fn unknowns(&self, e: &ast::Expr) -> String {
        let mut names: Vec<&str> = Vec::new();
        let is_field = |n: &str| matches!(self.decls.lookup(n), Some(Named::Field(_)));
        e.visit(&mut |x| {
            if let ast::ExprKind::Name(n) = &x.kind {
                let base = n.split('_').next().unwrap_or(n);
                if (is_field(n) || is_field(base)) && !names.contains(&n.as_str()) {
                    names.push(n);
                }
            }
        });
        names.join(", ")
    }

    /// The outward normal where a condition's points lie on a face `x = lo` or
    /// `x = hi` of the domain's box (x outside any shape region); none elsewhere.
    fn face_normal(&self, kind: &PointKind) -> Normal {
        let (coord, value) = match kind {
            PointKind::Slice { coord, value, .. } => (*coord, *value),
            PointKind::Part { fixed, .. } if fixed.len() == 1 => fixed[0],
            _ => return Normal::None,
        };
        if (self.decls.region.as_ref()).is_some_and(|r| r.coords.contains(&coord)) {
            return Normal::None;
        }
        let c = &self.decls.coords[coord.0].coord;
        match value {
            v if v == c.lo => Normal::Face(coord, -1.0),
            v if v == c.hi => Normal::Face(coord, 1.0),
            _ => Normal::None,
        }
    }

    /// The point sets of one condition statement, each with its label: one per
    /// locus (`on x = 0, x = 1`, `on hole`), narrowed by the statement's ranges
    /// (`y ∈ [0, 0.5]`), or one for all of them together (`at x = 0, y = 0`).
    fn condition_sets(
        &mut self,
        on: &[ast::Locus],
        at: bool,
        method: Sampling,
    ) -> Vec<(PointKind, String)> {
        let mut within = Vec::new();
        let mut range_labels = Vec::new();
        for l in on.iter().filter(|l| l.range.is_some()) {
            if let Some((c, lo, hi)) = self.range(l) {
                within.push((c, lo, hi));
                range_labels.push(format!("{} ∈ [{lo}, {hi}]", l.name.name));
            }
        }
        let sets: Vec<(PointKind, String)> = on
            .iter()
            .filter(|l| l.range.is_none())
            .filter_map(|l| self.locus(l, method))
            .collect();
        if at {
            let fixed: Vec<(CoordId, f64)> = sets
                .iter()
                .filter_map(|(k, _)| match k {
                    PointKind::Slice { coord, value, .. } => Some((*coord, *value)),
                    _ => None,
                })
                .collect();
            if fixed.len() < on.len() {
                return Vec::new(); // a locus had an error, reported by `locus`
            }
            if let Some(i) =
                (1..fixed.len()).find(|&i| fixed[..i].iter().any(|f| f.0 == fixed[i].0))
            {
                self.error(
                    Diag::error("pdenet::check::duplicate_locus", "`at` fixes a coordinate twice")
                        .label(on[i].span, "fixed again here")
                        .help("`at x = 0, y = 0` fixes each coordinate once; two points are two conditions"),
                );
                return Vec::new();
            }
            let labels: Vec<String> = sets.into_iter().map(|(_, l)| l).collect();
            return vec![(
                PointKind::Part {
                    fixed,
                    within,
                    method,
                },
                labels.join(", "),
            )];
        }
        if within.is_empty() {
            return sets;
        }
        if on.iter().all(|l| l.range.is_some()) {
            self.error(
                Diag::error(
                    "pdenet::check::range_on_locus",
                    "a range alone is not a locus",
                )
                .label(on[0].span, "narrows nothing")
                .help("name the face it narrows: `on x = 0, y ∈ [0, 0.5]`"),
            );
        }
        let suffix = range_labels.join(", ");
        let mut out = Vec::new();
        for (kind, label) in sets {
            match kind {
                PointKind::Slice {
                    coord,
                    value,
                    method,
                } if within.iter().all(|w| w.0 != coord) => {
                    let kind = PointKind::Part {
                        fixed: vec![(coord, value)],
                        within: within.clone(),
                        method,
                    };
                    out.push((kind, format!("{label}, {suffix}")));
                }
                _ => {
                    let at = on
                        .iter()
                        .find(|l| l.range.is_some())
                        .map_or(Span::default(), |l| l.span);
                    self.error(
                        Diag::error(
                            "pdenet::check::range_on_locus",
                            format!("a range cannot narrow `{label}`"),
                        )
                        .label(at, "this range")
                        .help("a range narrows a coordinate's slice along another coordinate: `on x = 0, y ∈ [0, 0.5]`"),
                    );
                }
            }
        }
        out
    }

    /// `y ∈ [a, b]` in a condition: a coordinate and a non-empty range inside its
    /// interval.
    fn range(&mut self, l: &ast::Locus) -> Option<(CoordId, f64, f64)> {
        let (lo, hi) = l.range.as_ref()?;
        let coord = self.coordinate_named(&l.name, "a range narrows a coordinate");
        let (lo, hi) = (
            self.constant(lo, "a range's bound"),
            self.constant(hi, "a range's bound"),
        );
        let (coord, lo, hi) = (coord?, lo?, hi?);
        let c = self.decls.coords[coord.0].coord.clone();
        if lo >= hi || lo < c.lo || hi > c.hi {
            self.error(
                Diag::error(
                    "pdenet::check::outside_domain",
                    format!(
                        "{} ∈ [{lo}, {hi}] is empty or leaves the domain [{}, {}]",
                        c.name, c.lo, c.hi
                    ),
                )
                .label(l.span, "not a range inside the domain")
                .help(format!(
                    "write {} ∈ [a, b] with {} ≤ a < b ≤ {}",
                    c.name, c.lo, c.hi
                )),
            );
            return None;
        }
        Some((coord, lo, hi))
    }

    /// Where a condition holds, as a point set's kind and the term's label: `x = v`
    /// (a coordinate and a value inside its interval, meeting the domain's shape)
    /// or a named shape's part of the domain's boundary.
    fn locus(&mut self, locus: &ast::Locus, method: Sampling) -> Option<(PointKind, String)> {
        let Some(value) = &locus.value else {
            return self.piece(&locus.name, method);
        };
        let coord = self.coordinate_named(&locus.name, "conditions hold on a coordinate value");
        let value = self.constant(value, "a condition's coordinate value")?;
        let decl = self.decls.coords.get(coord?.0)?;
        let (c, declared) = (decl.coord.clone(), decl.span);
        if value < c.lo || value > c.hi {
            self.error(
                Diag::error(
                    "pdenet::check::outside_domain",
                    format!(
                        "{} = {value} lies outside the domain [{}, {}]",
                        c.name, c.lo, c.hi
                    ),
                )
                .label(locus.span, "outside the domain")
                .label(declared, "interval declared here")
                .help(format!(
                    "conditions hold at {0} = {1} or {0} = {2}, or inside",
                    c.name, c.lo, c.hi
                )),
            );
            return None;
        }
        let coord = coord?;
        if !self.slice_meets_region(coord, value) {
            self.error(
                Diag::error(
                    "pdenet::check::outside_domain",
                    format!("{} = {value} does not meet the domain's shape", c.name),
                )
                .label(locus.span, "no point of this slice is in the shape")
                .help("name a value where the slice crosses the shape, or the shape's piece of the boundary (`on NAME`)"),
            );
            return None;
        }
        let kind = PointKind::Slice {
            coord,
            value,
            method,
        };
        Some((kind, format!("{} = {value}", c.name)))
    }

    /// Whether the slice `coord = value` has points in the region (always, without
    /// one or for a coordinate outside it).
    fn slice_meets_region(&self, coord: CoordId, value: f64) -> bool {
        let Some(r) = &self.decls.region else {
            return true;
        };
        let Some(axis) = r.coords.iter().position(|c| *c == coord) else {
            return true;
        };
        let (mut lo, mut hi) = r.shape.bounds();
        (lo[axis], hi[axis]) = (value, value);
        let slab = crate::geometry::Shape::Box { lo, hi };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
        (0..20_000).any(|_| r.shape.contains(&slab.point_in_bounds(&mut rng)))
    }

    /// `on NAME`: the named shape's part of the domain's boundary.
    fn piece(&mut self, name: &ast::Ident, method: Sampling) -> Option<(PointKind, String)> {
        let pieces = self.decls.pieces();
        let index = pieces.iter().position(|(n, _)| *n == name.name);
        let (Some(region), Some(index)) = (&self.decls.region, index) else {
            let d = Diag::error(
                "pdenet::check::unknown_coordinate",
                format!("`{}` is neither a coordinate nor a shape", name.name),
            )
            .label(
                name.span,
                "a condition holds on `x = value` or on a shape's boundary",
            );
            let d = if self.decls.region.is_none() {
                d.help("write `on x = 0`; `on NAME` needs a domain with a shape, e.g. `domain (x, y) ∈ plate − hole`")
            } else {
                match suggest(&name.name, pieces.iter().map(|p| p.0.as_str())) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("declare it with `shape NAME = …` and use it in the domain"),
                }
            };
            self.error(d);
            return None;
        };
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
        if region
            .shape
            .sample_boundary(&pieces[index].1, 1, &mut rng)
            .is_none()
        {
            self.error(
                Diag::error(
                    "pdenet::check::piece_off_boundary",
                    format!("shape `{}` does not touch the domain's boundary", name.name),
                )
                .label(name.span, "no part of its boundary is the domain's")
                .help("name a shape the domain's shape is built from"),
            );
            return None;
        }
        Some((
            PointKind::Piece {
                piece: index,
                method,
            },
            name.name.clone(),
        ))
    }

    /// `periodic x`: every field and its first x-derivative agree at the two ends.
    /// The points sit at the lower end; site 1 is the same point at the upper end.
    #[allow(clippy::too_many_arguments)]
    fn periodic(
        &mut self,
        c: &ast::Ident,
        matched: &[ast::Expr],
        weight: f64,
        n: usize,
        settings: &Settings,
        t: &mut Terms,
        expand: &dyn Fn(&mut Checker, Val) -> Vec<Expr>,
    ) {
        let Some(coord) = self.coordinate_named(c, "not a coordinate") else {
            return;
        };
        let (lo, hi) = (
            self.decls.coords[coord.0].coord.lo,
            self.decls.coords[coord.0].coord.hi,
        );
        let method = settings.samples.periodic.1;
        let name = format!("periodic {}", c.name);
        let points = t.points(
            name.clone(),
            PointKind::Slice {
                coord,
                value: lo,
                method,
            },
            n,
            vec![(coord, hi)],
        );
        let quantities: Vec<Val> = if matched.is_empty() {
            let fields = self.env.fields.clone().into_iter().flatten();
            fields
                .flat_map(|v| [v.clone(), v.derivative(coord)])
                .collect()
        } else {
            let scope = Scope::default();
            matched
                .iter()
                .filter_map(|e| self.lower(e, &scope))
                .collect()
        };
        let mut residuals = Vec::new();
        for v in quantities {
            let far = Val {
                re: at_far_end(&v.re, coord, hi - lo),
                im: v.im.as_ref().map(|e| at_far_end(e, coord, hi - lo)),
            };
            let diff = Val {
                re: Expr::sub(v.re, far.re),
                im: v.im.zip(far.im).map(|(a, b)| Expr::sub(a, b)),
            };
            residuals.extend(expand(self, diff));
        }
        t.term(
            Pending {
                name,
                residuals,
                weight,
            },
            points,
            Reduce::Mean,
        );
    }

    fn constraints(&mut self, file: &ast::File, settings: &Settings, t: &mut Terms) {
        for st in &file.statements {
            let StatementKind::Constraint {
                integrand,
                var,
                value,
                weight,
            } = &st.kind
            else {
                continue;
            };
            let w = self.weight(weight);
            let target = self.constant(value, "the constraint's value");
            let coord = self.decls.coord(&var.name);
            if coord.is_none() || self.decls.coords.len() != 1 {
                self.error(
                    Diag::error("pdenet::check::constraint_variable", format!("cannot integrate over `{}`", var.name))
                        .label(var.span, "integration variable")
                        .help("∫ … dx integrates over the problem's only coordinate; the problem must be one-dimensional"),
                );
                continue;
            }
            let Some(v) = self.real(integrand, &Scope::default(), "an integrand") else {
                continue;
            };
            let Some(target) = target else { continue };
            let n = settings.samples.constraint;
            let points = t.points("constraint".into(), PointKind::Quadrature, n.max(2), vec![]);
            t.term(
                Pending {
                    name: "constraint".into(),
                    residuals: vec![v],
                    weight: w,
                },
                points,
                Reduce::Integral { target },
            );
        }
    }
}

/// The expression evaluated at the far end of a periodic coordinate: network
/// outputs move to site 1, and the coordinate itself is shifted by the period.
pub(crate) fn at_far_end(e: &Expr, coord: CoordId, period: f64) -> Expr {
    e.substitute(&|leaf| match leaf {
        Expr::Out { output, deriv, .. } => Some(Expr::Out {
            output: *output,
            deriv: deriv.clone(),
            site: 1,
        }),
        Expr::Coord(c) if *c == coord => Some(Expr::add(Expr::Coord(coord), Expr::Num(period))),
        _ => None,
    })
}

/// The data columns of a data set: (column, (field name, its value)).
fn data_columns(set: &crate::problem::Dataset) -> Vec<(usize, (String, Expr))> {
    let mut out = Vec::new();
    let mut col = 0;
    for f in &set.fields {
        let names: Vec<String> = if f.value.len() == 2 {
            vec![format!("re({})", f.field), format!("im({})", f.field)]
        } else {
            vec![f.field.clone()]
        };
        for (name, v) in names.into_iter().zip(&f.value) {
            out.push((col, (name, v.clone())));
            col += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::expr::Expr;

    /// `periodic x (u, u_x, u_xx, u_xxx)` matches those four at the two ends (a
    /// fourth-order equation needs them); without a list, u and u_x.
    #[test]
    fn periodic_matches_the_listed_quantities() {
        let text = |list: &str| {
            format!(
                "domain x ∈ [0, 2], t ∈ [0, 1]\nfield u(x, t)\n\
                 equation u_t + u_xxxx + u_xx + u*u_x = 0\nperiodic x {list}\n\
                 network mlp(width = 8, depth = 2)\n"
            )
        };
        let opts = crate::check::Options::default();
        let orders = |list: &str| -> Vec<Vec<(u8, u8)>> {
            let p = crate::pipeline::front_end(&text(list), &opts)
                .unwrap_or_else(|e| panic!("{e:?}"))
                .problem;
            let term = p
                .terms
                .iter()
                .find(|t| t.name == "periodic x")
                .expect("a term");
            term.residuals
                .iter()
                .map(|r| {
                    let mut outs = Vec::new();
                    collect(r, &mut outs);
                    outs
                })
                .collect()
        };
        // (order along x, site) of each residual's outputs.
        assert_eq!(
            orders("(u, u_x, u_xx, u_xxx)"),
            (0..4).map(|k| vec![(k, 0), (k, 1)]).collect::<Vec<_>>()
        );
        assert_eq!(orders(""), [vec![(0, 0), (0, 1)], vec![(1, 0), (1, 1)]]);
    }

    fn collect(e: &Expr, out: &mut Vec<(u8, u8)>) {
        if let Expr::Out { deriv, site, .. } = e {
            out.push((deriv[0], *site));
        }
        for c in e.children() {
            collect(c, out);
        }
    }

    #[test]
    fn repeated_names_are_numbered_from_the_second_use() {
        let mut names: Vec<String> = ["constraint", "data u", "constraint", "constraint"]
            .map(String::from)
            .into();
        super::number_repeats(names.iter_mut());
        assert_eq!(
            names,
            ["constraint", "data u", "constraint #2", "constraint #3"]
        );
    }
}
