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
    pub names: Vec<String>,
    /// Under a scheme: whether the network also predicts the value at the end time
    /// (a forward problem: data at the start only).
    pub irk_final: bool,
}

impl Checker<'_> {
    /// The network's inputs (coordinates) and outputs (names).
    pub(crate) fn outputs(
        &mut self,
        file: &ast::File,
        scheme: Option<&SchemeSpec>,
    ) -> Option<(Vec<CoordId>, Outputs)> {
        let inputs: Vec<CoordId> = (0..self.decls.coords.len())
            .map(CoordId)
            .filter(|c| scheme.is_none_or(|s| s.scheme.coord != *c))
            .collect();
        let coord_names: Vec<String> = self
            .decls
            .coords
            .iter()
            .map(|c| c.coord.name.clone())
            .collect();
        let mut ok = !inputs.is_empty();
        for f in self.decls.fields.clone() {
            let mut args: Vec<String> = f.args.iter().map(|a| a.name.clone()).collect();
            args.sort();
            let mut want = coord_names.clone();
            want.sort();
            // With no domain at all, `no_domain` has said what is wrong.
            if args != want && !want.is_empty() {
                self.error(
                    Diag::error(
                        "pdenet::check::field_coordinates",
                        format!("field `{}` must depend on every coordinate", f.name.name),
                    )
                    .label(f.span, format!("declared over ({})", args.join(", ")))
                    .help(format!(
                        "write `{}({})`; the network takes all coordinates",
                        f.name.name,
                        coord_names.join(", ")
                    )),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let Some(s) = scheme else {
            let mut names = Vec::new();
            let single = self.decls.fields.len() == 1;
            for f in &self.decls.fields {
                match &f.complex {
                    // A trial function's output is the network itself, not the field.
                    None if f.definition.is_some() && single => names.push("net".into()),
                    None if f.definition.is_some() => names.push(format!("net[{}]", f.name.name)),
                    None => names.push(f.name.name.clone()),
                    Some(parts) => {
                        let (re, im) = part_names(&f.name.name, parts.as_ref());
                        names.push(re);
                        names.push(im);
                    }
                }
            }
            return Some((
                inputs,
                Outputs {
                    names,
                    irk_final: false,
                },
            ));
        };
        let field = self.decls.fields.first()?.clone();
        if self.decls.fields.len() != 1 || field.complex.is_some() || field.definition.is_some() {
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
        let q = s.scheme.stages;
        let irk_final = !ends_observed(file, s.scheme.to);
        let mut names: Vec<String> = (1..=q)
            .map(|j| format!("{}[{j}]", field.name.name))
            .collect();
        if irk_final {
            names.push(format!("{}[end]", field.name.name));
        }
        Some((inputs, Outputs { names, irk_final }))
    }

    /// Computes every field's value over the outputs; fills `env.fields`.
    pub(crate) fn fields(&mut self, outputs: &Outputs, scheme: Option<&SchemeSpec>) -> Vec<Field> {
        let mut out = Vec::new();
        let mut next = 0;
        let fields = self.decls.fields.clone();
        self.env.fields = vec![None; fields.len()];
        for (i, f) in fields.iter().enumerate() {
            let outs = if f.complex.is_some() { 2 } else { 1 };
            let net = Val {
                re: Expr::out(OutputId(next), vec![0; self.decls.coords.len()]),
                im: (outs == 2)
                    .then(|| Expr::out(OutputId(next + 1), vec![0; self.decls.coords.len()])),
            };
            next += outs;
            let value = match &f.definition {
                None => Some(net),
                Some(def) => {
                    let scope = Scope {
                        net: Some(net),
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
                        Some(_) => Expr::out(
                            OutputId(outputs.names.len() - 1),
                            vec![0; self.decls.coords.len()],
                        ),
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
