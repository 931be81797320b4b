//! Discrete time: `scheme irk(stages = q) from t = a to t = b`. The equation is
//! solved for u_t symbolically (u_t = N[u]); the network predicts the q stage
//! values u^{n+c_j}(x) (and u^{n+1}(x) when only the start is observed); each
//! observed snapshot gives q (or q + 1) predictions of the data through the
//! Gauss–Legendre tableau (Raissi et al. 2019, section 4):
//!
//! - start: u^n = u^{n+c_i} − Δt Σ_j a_ij N_j, and u^n = u^{n+1} − Δt Σ_j b_j N_j;
//! - end:   u^{n+1} = u^{n+c_i} + Δt Σ_j (b_j − a_ij) N_j.
//!
//! N_j (N with u replaced by stage output j) is a shared subexpression.

use super::data::Datasets;
use super::lower::Val;
use super::settings::{SchemeSpec, Settings};
use super::terms::{Pending, Terms};
use super::Checker;
use crate::diag::Diag;
use crate::expr::Expr;
use crate::problem::{PointKind, Reduce};
use crate::syntax::ast::{self, ConditionKind, Span, StatementKind};

/// Output `j` in place of the field's placeholder output 0, at every site.
fn on_output(e: &Expr, j: usize) -> Expr {
    crate::sym::substitute(e, &|leaf| match leaf {
        Expr::Out { deriv, site, .. } => Some(Expr::Out {
            output: j,
            deriv: deriv.clone(),
            site: *site,
        }),
        _ => None,
    })
}

/// Σ_j w_j · Shared(j), skipping zero weights; negative weights are subtracted so
/// the sum prints as it reads.
fn weighted_stages(w: impl Iterator<Item = f64>) -> Expr {
    let mut sum: Option<Expr> = None;
    for (j, c) in w.enumerate().filter(|(_, c)| *c != 0.0) {
        let term = |c: f64| Expr::mul(Expr::Num(c), Expr::Shared(j));
        sum = Some(match sum {
            None => term(c),
            Some(s) if c < 0.0 => Expr::sub(s, term(-c)),
            Some(s) => Expr::add(s, term(c)),
        });
    }
    sum.unwrap_or(Expr::Num(0.0))
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
        let Some(n) = self.stage_rhs(&equations, s) else {
            return;
        };
        let q = s.scheme.stages;
        let outputs = q + usize::from(irk_final);
        t.shared = (0..q).map(|j| on_output(&n, j)).collect();
        let tab = crate::scheme::irk::gauss_legendre(q);
        let dt = s.scheme.to - s.scheme.from;
        let ncoords = self.decls.coords.len();
        let stage = |i: usize| Expr::out(i, vec![0; ncoords]);
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
                let mut residuals = Vec::new();
                for i in 0..q {
                    let row = tab.a[i * q..(i + 1) * q].iter();
                    let pred = if at_start {
                        Expr::sub(
                            stage(i),
                            Expr::mul(Expr::Num(dt), weighted_stages(row.copied())),
                        )
                    } else {
                        let w = row.zip(&tab.b).map(|(a, b)| b - a);
                        Expr::add(stage(i), Expr::mul(Expr::Num(dt), weighted_stages(w)))
                    };
                    residuals.push(Expr::sub(pred, Expr::Data(0)));
                }
                if at_start && irk_final {
                    let pred = Expr::sub(
                        stage(q),
                        Expr::mul(Expr::Num(dt), weighted_stages(tab.b.iter().copied())),
                    );
                    residuals.push(Expr::sub(pred, Expr::Data(0)));
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
                        residuals,
                        weight: 1.0,
                    },
                    points,
                    Reduce::Sum,
                );
            }
        }
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
                    self.decls.coords[s.scheme.coord].coord.name, s.scheme.from
                )),
            );
        }
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
        let expand =
            move |_: &mut Checker, v: Val| (0..outputs).map(|j| on_output(&v.re, j)).collect();
        let inputs = self.decls.coords.len().saturating_sub(1);
        self.conditions(file, settings, t, &expand, inputs);
    }

    /// N[u] from the single equation R = 0, with u_t isolated.
    fn stage_rhs(
        &mut self,
        equations: &[(String, Val, f64, Span)],
        s: &SchemeSpec,
    ) -> Option<Expr> {
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
        let mut deriv = vec![0; self.decls.coords.len()];
        deriv[s.scheme.coord] = 1;
        let target = Expr::out(0, deriv);
        let isolated = crate::sym::expand(&v.re)
            .map_err(|e| e.to_string())
            .and_then(|r| crate::sym::isolate(&r, &target).map_err(|e| e.to_string()));
        let tname = &self.decls.coords[s.scheme.coord].coord.name;
        match isolated {
            Ok(n)
                if !crate::sym::derivatives(&n)
                    .iter()
                    .any(|(_, d, _)| d[s.scheme.coord] > 0) =>
            {
                Some(n)
            }
            Ok(_) => {
                self.error(
                    Diag::error("pdenet::check::scheme_equation", format!("after solving for u_{tname}, other {tname}-derivatives remain"))
                        .label(*span, "mixed or higher time derivatives")
                        .help("an implicit Runge–Kutta step needs u_t = N[u] with N free of time derivatives"),
                );
                None
            }
            Err(why) => {
                self.error(
                    Diag::error(
                        "pdenet::check::scheme_equation",
                        format!("cannot solve this equation for u_{tname}: {why}"),
                    )
                    .label(*span, "equation")
                    .help("the equation must be linear in u_t, e.g. u_t + N[u] = 0"),
                );
                None
            }
        }
    }
}
