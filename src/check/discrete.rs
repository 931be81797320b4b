//! Discrete time: `scheme irk(stages = q) from t = a to t = b`, as far as checking
//! goes. The checker keeps the one equation, makes a data term for each snapshot at
//! either end of the step and the conditions for every stage output; solving the
//! equation for u_t and writing each snapshot's residuals through the Gauss–Legendre
//! tableau is a stage of its own, `scheme::discretize`, which the driver runs next.

use super::data::Datasets;
use super::lower::Val;
use super::settings::{SchemeSpec, Settings};
use super::terms::{Pending, Terms};
use super::Checker;
use crate::diag::Diag;
use crate::expr::{Expr, OutputId};
use crate::problem::{PointKind, Reduce, StepEquation};
use crate::syntax::ast::{self, ConditionKind, Span, StatementKind};

/// Output `j` in place of the field's placeholder output 0, at every site.
pub(crate) fn on_output(e: &Expr, j: usize) -> Expr {
    e.substitute(&|leaf| match leaf {
        Expr::Out { deriv, site, .. } => Some(Expr::Out {
            output: OutputId(j),
            deriv: deriv.clone(),
            site: *site,
        }),
        _ => None,
    })
}

impl Checker<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn discrete(
        &mut self,
        file: &ast::File,
        datasets: &Datasets,
        s: &SchemeSpec,
        settings: &Settings,
        equations: Vec<(String, Val, f64, Span)>,
        irk_final: bool,
        t: &mut Terms,
    ) {
        let Some(step) = self.step_equation(&equations, s) else {
            return;
        };
        t.step = Some(step);
        let outputs = s.scheme.stages + usize::from(irk_final);
        let start_seen = self.snapshot_terms(datasets, s, t);
        if !start_seen && !datasets.failed {
            self.error(
                Diag::error(
                    "pdenet::check::scheme_data",
                    format!(
                        "a discrete-time scheme needs data at its start, t = {}",
                        s.scheme.from
                    ),
                )
                .label(s.span, "scheme declared here")
                .help(format!(
                    "add `at {} = {} sample N` to a data block",
                    self.decls.coords[s.scheme.coord.0].coord.name, s.scheme.from
                )),
            );
        }
        self.no_initial_condition(file);
        let expand =
            move |_: &mut Checker, v: Val| (0..outputs).map(|j| on_output(&v.re, j)).collect();
        let inputs = self.decls.coords.len().saturating_sub(1);
        self.conditions(file, settings, t, &expand, inputs);
    }

    /// A data term for each snapshot at either end of the step (its residuals are
    /// `scheme::discretize`'s); whether one is at the start.
    fn snapshot_terms(&mut self, datasets: &Datasets, s: &SchemeSpec, t: &mut Terms) -> bool {
        let mut start_seen = false;
        for (d, set) in datasets.sets.iter().enumerate() {
            if Some(d) == datasets.reference {
                continue;
            }
            for &(time, count) in &set.snapshots {
                let at_start = (time - s.scheme.from).abs() < 1e-9;
                if !at_start && (time - s.scheme.to).abs() >= 1e-9 {
                    self.error(
                        Diag::error(
                            "pdenet::check::snapshot_time",
                            format!("the snapshot at t = {time} is neither end of the scheme"),
                        )
                        .label(datasets.spans[d], "data block")
                        .help(format!(
                            "snapshots must be at {} or {}",
                            s.scheme.from, s.scheme.to
                        )),
                    );
                    continue;
                }
                start_seen |= at_start;
                let name = format!("snapshot t = {time}");
                let kind = PointKind::Data {
                    dataset: d,
                    at: Some((s.scheme.coord, time)),
                };
                let points = t.points(
                    name.clone(),
                    kind,
                    count.or(set.sample).unwrap_or(0),
                    vec![],
                );
                t.term(
                    Pending {
                        name,
                        // Written by `scheme::discretize`.
                        residuals: vec![],
                        weight: 1.0,
                    },
                    points,
                    Reduce::Sum,
                );
            }
        }
        start_seen
    }

    /// The start snapshot plays the initial condition's role.
    fn no_initial_condition(&mut self, file: &ast::File) {
        if let Some(st) = file.statements.iter().find(|st| {
            matches!(
                st.kind,
                StatementKind::Condition {
                    kind: ConditionKind::Initial,
                    ..
                }
            )
        }) {
            self.error(
                Diag::error(
                    "pdenet::check::scheme_initial",
                    "an initial condition does not fit a discrete-time scheme",
                )
                .label(st.span, "the start snapshot plays this role")
                .help("give the start values as data: `data \"…\" { … } at t = a`"),
            );
        }
    }

    /// The single equation R = 0 a step solves.
    fn step_equation(
        &mut self,
        equations: &[(String, Val, f64, Span)],
        s: &SchemeSpec,
    ) -> Option<StepEquation> {
        let [(_, v, _, span)] = equations else {
            if let Some((_, _, _, second)) = equations.get(1) {
                self.error(
                    Diag::error(
                        "pdenet::check::scheme_equations",
                        "a discrete-time scheme takes exactly one equation",
                    )
                    .label(*second, "a second equation")
                    .label(s.span, "scheme declared here")
                    .help("an implicit Runge–Kutta step solves one equation u_t = N[u]; keep only that one"),
                );
            }
            return None;
        };
        Some(StepEquation {
            residual: v.re.clone(),
            span: *span,
        })
    }
}
