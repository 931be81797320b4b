//! Fields and network outputs. Each field is one network output (two for a complex
//! field); a trial-function field is its definition with `net(…)` standing for its
//! output. Under a discrete-time scheme the single field becomes the q stage
//! outputs (plus the final value for a forward problem).

use super::lower::{Scope, Val};
use super::settings::SchemeSpec;
use super::Checker;
use crate::diag::Diag;
use crate::expr::{CoordId, Expr, OutputId};
use crate::problem::Field;
use crate::syntax::ast::{self, StatementKind};

#[derive(Debug, Clone)]
pub(crate) struct Outputs {
    /// One network per set of coordinates the fields depend on, the set of every
    /// coordinate first: its inputs (in coordinate order) and its outputs' names.
    pub nets: Vec<(Vec<CoordId>, Vec<String>)>,
    /// Each field's first output id (networks number their outputs one after another).
    pub first: Vec<usize>,
    /// Under a scheme: whether the network also predicts the value at the end time
    /// (a forward problem: data at the start only).
    pub irk_final: bool,
}

impl Checker<'_> {
    /// The networks' inputs (coordinates) and outputs (names).
    pub(crate) fn outputs(
        &mut self,
        file: &ast::File,
        scheme: Option<&SchemeSpec>,
    ) -> Option<Outputs> {
        let fields = self.decls.fields.clone();
        let coords: Vec<Vec<CoordId>> = fields
            .iter()
            .map(|f| self.field_coords(f))
            .collect::<Option<_>>()?;
        // No coordinates at all: a file without a domain, which `no_domain` reports.
        if coords.iter().any(Vec::is_empty) {
            return None;
        }
        let Some(s) = scheme else {
            return Some(by_coordinates(&fields, &coords, self.decls.coords.len()));
        };
        let field = fields.first()?.clone();
        if fields.len() != 1 || field.complex.is_some() || field.definition.is_some() {
            self.error(
                Diag::error(
                    "pdenet::check::scheme_fields",
                    "a discrete-time scheme needs exactly one real field without a trial function",
                )
                .label(s.span, "scheme declared here")
                .help("declare a single `field u(x, t)`"),
            );
            return None;
        }
        if coords[0].len() != self.decls.coords.len() {
            self.error(
                Diag::error(
                    "pdenet::check::field_coordinates",
                    format!(
                        "under a discrete-time scheme, `{}` must depend on every coordinate",
                        field.name.name
                    ),
                )
                .label(field.span, "declared over fewer coordinates")
                .help(format!(
                    "write `{}({})`",
                    field.name.name,
                    self.decls.coord_names()
                )),
            );
            return None;
        }
        let inputs: Vec<CoordId> = coords[0]
            .iter()
            .copied()
            .filter(|&c| s.scheme.coord != c)
            .collect();
        let q = s.scheme.stages;
        let irk_final = !ends_observed(file, s.scheme.to);
        let mut names: Vec<String> = (1..=q)
            .map(|j| format!("{}[{j}]", field.name.name))
            .collect();
        if irk_final {
            names.push(format!("{}[end]", field.name.name));
        }
        Some(Outputs {
            nets: vec![(inputs, names)],
            first: vec![0],
            irk_final,
        })
    }

    /// The coordinates field `f` is declared over, in coordinate order; `None` (with a
    /// diagnostic) when one is not a coordinate or is named twice.
    fn field_coords(&mut self, f: &ast::FieldDecl) -> Option<Vec<CoordId>> {
        let mut out = Vec::new();
        for a in &f.args {
            let problem = match self.decls.coord(&a.name) {
                Some(c) if !out.contains(&c) => {
                    out.push(c);
                    continue;
                }
                Some(_) => format!("names `{}` twice", a.name),
                // With no domain at all, `no_domain` has said what is wrong.
                None if self.decls.coords.is_empty() => return None,
                None => format!("is declared over `{}`, which is not a coordinate", a.name),
            };
            self.error(
                Diag::error(
                    "pdenet::check::field_coordinates",
                    format!("field `{}` {problem}", f.name.name),
                )
                .label(a.span, "not one of the domain's coordinates, once each")
                .help(format!(
                    "a field depends on some of the domain's coordinates {}, each named once",
                    self.decls.coord_names()
                )),
            );
            return None;
        }
        out.sort_by_key(|c| c.0);
        Some(out)
    }

    /// Computes every field's value over the outputs; fills `env.fields`.
    pub(crate) fn fields(&mut self, outputs: &Outputs, scheme: Option<&SchemeSpec>) -> Vec<Field> {
        let mut out = Vec::new();
        let fields = self.decls.fields.clone();
        let n_outputs: usize = outputs.nets.iter().map(|(_, o)| o.len()).sum();
        self.env.fields = vec![None; fields.len()];
        for (i, f) in fields.iter().enumerate() {
            let outs = if f.complex.is_some() { 2 } else { 1 };
            let next = outputs.first[i];
            let net = Val {
                re: Expr::out(OutputId(next), vec![0; self.decls.coords.len()]),
                im: (outs == 2)
                    .then(|| Expr::out(OutputId(next + 1), vec![0; self.decls.coords.len()])),
            };
            let value = match &f.definition {
                None => Some(net),
                Some(def) => {
                    let scope = Scope {
                        net: Some(net),
                        net_args: self.decls.field_coords(i),
                        ..Scope::default()
                    };
                    self.lower(def, &scope)
                }
            };
            self.env.fields[i] = value.clone();
            let Some(value) = value else { continue };
            match (&f.complex, value.im) {
                (Some(parts), Some(im)) => {
                    let (re_name, im_name) = part_names(&f.name.name, parts.as_ref());
                    let of = |imag| Some((f.name.name.clone(), imag));
                    out.push(Field {
                        name: re_name,
                        value: value.re,
                        complex_of: of(false),
                    });
                    out.push(Field {
                        name: im_name,
                        value: im,
                        complex_of: of(true),
                    });
                }
                (_, _) => {
                    // Under a scheme the reported field is the last output: the
                    // value at the end time (forward) or the last stage (inverse).
                    let value = match scheme {
                        Some(_) => {
                            Expr::out(OutputId(n_outputs - 1), vec![0; self.decls.coords.len()])
                        }
                        None => value.re,
                    };
                    out.push(Field {
                        name: f.name.name.clone(),
                        value,
                        complex_of: None,
                    });
                }
            }
        }
        out
    }
}

/// One network per set of coordinates the fields are declared over (`coords`, each
/// in coordinate order), the set of all `n_coords` first; each field's outputs in its
/// network in declaration order.
fn by_coordinates(fields: &[ast::FieldDecl], coords: &[Vec<CoordId>], n_coords: usize) -> Outputs {
    let single = fields.len() == 1;
    let mut nets: Vec<(Vec<CoordId>, Vec<String>)> = Vec::new();
    let all: Vec<CoordId> = (0..n_coords).map(CoordId).collect();
    if coords.contains(&all) {
        nets.push((all, vec![]));
    }
    // Each field's network and its place among that network's outputs.
    let mut local = Vec::new();
    for (f, c) in fields.iter().zip(coords) {
        let n = match nets.iter().position(|(inputs, _)| inputs == c) {
            Some(n) => n,
            None => {
                nets.push((c.clone(), vec![]));
                nets.len() - 1
            }
        };
        local.push((n, nets[n].1.len()));
        nets[n].1.extend(output_names(f, single));
    }
    let starts: Vec<usize> = nets
        .iter()
        .scan(0, |at, (_, names)| {
            let start = *at;
            *at += names.len();
            Some(start)
        })
        .collect();
    let first = local.iter().map(|&(n, k)| starts[n] + k).collect();
    Outputs {
        nets,
        first,
        irk_final: false,
    }
}

/// The names of field `f`'s network outputs (two for a complex field). A trial
/// function's output is the network itself, not the field.
fn output_names(f: &ast::FieldDecl, single: bool) -> Vec<String> {
    match &f.complex {
        None if f.definition.is_some() && single => vec!["net".into()],
        None if f.definition.is_some() => vec![format!("net[{}]", f.name.name)],
        None => vec![f.name.name.clone()],
        Some(parts) => {
            let (re, im) = part_names(&f.name.name, parts.as_ref());
            vec![re, im]
        }
    }
}

/// The names of a complex field's parts: as declared (`complex(u, v)`) or re(h), im(h).
fn part_names(field: &str, parts: Option<&(ast::Ident, ast::Ident)>) -> (String, String) {
    match parts {
        Some((re, im)) => (re.name.clone(), im.name.clone()),
        None => (format!("re({field})"), format!("im({field})")),
    }
}

/// Whether some `data` block observes a snapshot at time `t` (an inverse problem).
fn ends_observed(file: &ast::File, t: f64) -> bool {
    file.statements.iter().any(|st| match &st.kind {
        StatementKind::Data(d) if d.kind == ast::DataKind::Data => {
            d.snapshots.iter().any(|s| match s.value.kind {
                ast::ExprKind::Number(v) => (v - t).abs() < 1e-9,
                _ => false,
            })
        }
        _ => false,
    })
}
