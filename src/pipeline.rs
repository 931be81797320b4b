//! The front end as one call: text → AST → checked problem → discrete-time terms →
//! expanded and simplified residuals. Only this module knows the order of the stages.

use crate::check::{self, Options};
use crate::diag::Diag;
use crate::expr::{CoordId, Expr};
use crate::problem::Problem;
use crate::sym::{self, Limits};
use crate::syntax;

/// A problem ready for the kernel: no `D` left anywhere, residuals simplified.
#[derive(Debug)]
pub struct Compiled {
    pub problem: Problem,
    pub warnings: Vec<Diag>,
    /// How each simplification run ended, by term (for `--emit residual`).
    pub simplify_log: Vec<(String, String)>,
}

/// A rewrite that makes 0 of every derivative of a network output along a coordinate
/// its network does not read (a field declared over fewer coordinates: `a_t` of
/// `a(x)`), so `simplify` drops what it multiplies.
fn unread_derivatives(problem: &Problem) -> impl Fn(&Expr) -> Option<Expr> {
    let reads: Vec<Vec<CoordId>> = problem
        .networks
        .iter()
        .flat_map(|n| n.outputs.iter().map(|_| n.inputs.clone()))
        .collect();
    // Under a discrete-time scheme its time is no input, and no derivative is taken
    // along it: the rewrite leaves such a problem as it is.
    let scheme = problem.scheme.as_ref().map(|s| s.coord);
    move |e| match e {
        Expr::Out { output, deriv, .. } => {
            let unread = deriv.iter().enumerate().any(|(c, &k)| {
                k > 0
                    && Some(CoordId(c)) != scheme
                    && reads
                        .get(output.0)
                        .is_some_and(|r| !r.contains(&CoordId(c)))
            });
            unread.then(|| Expr::num(0.0))
        }
        _ => None,
    }
}

/// Parses, checks, expands and simplifies. Every diagnostic on failure.
pub fn front_end(text: &str, opts: &Options) -> Result<Compiled, Vec<Diag>> {
    let file = syntax::parse(text)?;
    let checked = check::check(&file, opts)?;
    let mut problem = checked.problem;
    crate::scheme::discretize(&mut problem)?;
    let mut log = Vec::new();
    let limits = Limits::default();
    let mut errors = Vec::new();
    let unread = unread_derivatives(&problem);
    let mut run = |what: &str, e: &mut Expr, log: &mut Vec<(String, String)>| match sym::expand(e) {
        Ok(x) => {
            let x = x.substitute(&unread);
            // Residuals built from shared stage values (IRK) are already linear
            // combinations; egg has nothing to gain on them and they are large.
            if contains_shared(&x) {
                *e = x;
            } else {
                let s = sym::simplify(&x, &limits);
                log.push((what.to_string(), s.stop_reason.clone()));
                *e = s.expr;
            }
        }
        Err(err) => errors.push(Diag::error("pdenet::sym::expand", format!("{what}: {err}"))),
    };
    for (j, e) in problem.shared.iter_mut().enumerate() {
        run(&format!("stage {}", j + 1), e, &mut log);
    }
    for term in &mut problem.terms {
        let n = term.residuals.len();
        for (k, e) in term.residuals.iter_mut().enumerate() {
            let what = if n == 1 {
                term.name.clone()
            } else {
                format!("{}[{}]", term.name, k + 1)
            };
            run(&what, e, &mut log);
        }
    }
    for f in &mut problem.fields {
        let name = f.name.clone();
        run(&name, &mut f.value, &mut log);
    }
    for set in &mut problem.datasets {
        for f in &mut set.fields {
            let name = f.field.clone();
            for e in &mut f.value {
                run(&name, e, &mut log);
            }
        }
    }
    crate::table::to_columns(&mut problem);
    if tables_left(&problem) {
        errors.push(
            Diag::error(
                "pdenet::check::table_use",
                "a table is used outside the equations and conditions",
            )
            .help("tables are coefficients of residuals; a discrete-time scheme's stages, fields and data blocks cannot read them yet"),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Compiled {
        problem,
        warnings: checked.warnings,
        simplify_log: log,
    })
}

/// Whether an `Expr::Table` is left where `table::to_columns` does not reach.
fn tables_left(p: &crate::problem::Problem) -> bool {
    let is_table = |x: &Expr| matches!(x, Expr::Table { .. });
    let exprs = p
        .shared
        .iter()
        .chain(p.fields.iter().map(|f| &f.value))
        .chain(
            p.datasets
                .iter()
                .flat_map(|d| d.fields.iter().flat_map(|f| &f.value)),
        );
    exprs
        .chain(p.terms.iter().flat_map(|t| &t.residuals))
        .any(|e| e.any(&is_table))
}

fn contains_shared(e: &Expr) -> bool {
    e.any(&|x| matches!(x, Expr::Shared(_)))
}
