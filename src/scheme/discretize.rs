//! The discrete-time stage, between `check` and `sym`: `scheme irk(stages = q) from
//! t = a to t = b` becomes loss terms. The equation is solved for u_t symbolically
//! (u_t = N[u]); the network predicts the q stage values u^{n+c_j}(x) (and u^{n+1}(x)
//! when only the start is observed); each observed snapshot gives q (or q + 1)
//! predictions of the data through the Gauss–Legendre tableau (Raissi et al. 2019,
//! section 4):
//!
//! - start: u^n = u^{n+c_i} − Δt Σ_j a_ij N_j, and u^n = u^{n+1} − Δt Σ_j b_j N_j;
//! - end:   u^{n+1} = u^{n+c_i} + Δt Σ_j (b_j − a_ij) N_j.
//!
//! N_j (N with u replaced by stage output j) is a shared subexpression. The checker
//! has made the snapshot terms, with their point sets, and left their residuals empty.

use super::irk::gauss_legendre;
use crate::check::on_output;
use crate::diag::Diag;
use crate::expr::{Expr, OutputId};
use crate::problem::{PointKind, Problem, Scheme, StepEquation};

/// Solves the step's equation for u_t, fills `Problem::shared` with N_j and writes
/// every snapshot term's residuals. A problem without a scheme is left as it is.
pub fn discretize(problem: &mut Problem) -> Result<(), Vec<Diag>> {
    let Some(scheme) = &problem.scheme else {
        return Ok(());
    };
    let Some(step) = &scheme.equation else {
        return Ok(());
    };
    let n = stage_rhs(problem, scheme, step).map_err(|d| vec![d])?;
    let q = scheme.stages;
    let tab = gauss_legendre(q);
    let dt = scheme.to - scheme.from;
    let ncoords = problem.coords.len();
    let stage = |i: usize| Expr::out(OutputId(i), vec![0; ncoords]);
    let snapshot_at = |points: usize| match problem.point_sets[points].kind {
        PointKind::Data {
            at: Some((_, time)),
            ..
        } => Some(time),
        _ => None,
    };
    let mut residuals_of = Vec::with_capacity(problem.terms.len());
    for term in &problem.terms {
        let Some(time) = snapshot_at(term.points) else {
            residuals_of.push(None);
            continue;
        };
        let at_start = (time - scheme.from).abs() < 1e-9;
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
        if at_start && scheme.predicts_end {
            let pred = Expr::sub(
                stage(q),
                Expr::mul(Expr::Num(dt), weighted_stages(tab.b.iter().copied())),
            );
            residuals.push(Expr::sub(pred, Expr::Data(0)));
        }
        residuals_of.push(Some(residuals));
    }
    problem.shared = (0..q).map(|j| on_output(&n, j)).collect();
    for (term, residuals) in problem.terms.iter_mut().zip(residuals_of) {
        if let Some(r) = residuals {
            term.residuals = r;
        }
    }
    Ok(())
}

/// N[u] from the single equation R = 0, with u_t isolated.
fn stage_rhs(problem: &Problem, scheme: &Scheme, step: &StepEquation) -> Result<Expr, Diag> {
    let mut deriv = vec![0; problem.coords.len()];
    deriv[scheme.coord.0] = 1;
    let target = Expr::out(OutputId(0), deriv);
    let isolated = crate::sym::expand(&step.residual)
        .map_err(|e| e.to_string())
        .and_then(|r| crate::sym::isolate(&r, &target).map_err(|e| e.to_string()));
    let tname = &problem.coords[scheme.coord.0].name;
    match isolated {
        Ok(n)
            if !crate::sym::derivatives(&n)
                .iter()
                .any(|(_, d, _)| d[scheme.coord.0] > 0) =>
        {
            Ok(n)
        }
        Ok(_) => Err(Diag::error(
            "pdenet::scheme::equation",
            format!("after solving for u_{tname}, other {tname}-derivatives remain"),
        )
        .label(step.span, "mixed or higher time derivatives")
        .help("an implicit Runge–Kutta step needs u_t = N[u] with N free of time derivatives")),
        Err(why) => Err(Diag::error(
            "pdenet::scheme::equation",
            format!("cannot solve this equation for u_{tname}: {why}"),
        )
        .label(step.span, "equation")
        .help("the equation must be linear in u_t, e.g. u_t + N[u] = 0")),
    }
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
