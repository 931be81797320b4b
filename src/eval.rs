//! Evaluating a trained model away from training: which quantities (`u`, `u_x`,
//! `|h|`), at which points (a list, a regular grid). Pure computation: reading
//! the model and the point files is `io`'s business, printing is `main.rs`'s.

use crate::expr::{CoordId, Expr};
use crate::kernel::{KernelError, Predictor};
use crate::problem::Problem;
use crate::sym;
use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum EvalError {
    #[error("unknown quantity `{name}`")]
    #[diagnostic(code(pdenet::eval::unknown_quantity), help("{help}"))]
    UnknownField { name: String, help: String },
    #[error("bad point specification `{spec}`: {why}")]
    #[diagnostic(
        code(pdenet::eval::points),
        help("name every coordinate: `--points x=0.1,t=0.5;x=0.2,t=0.5` or `--grid x=-1:1:256,t=0:1:100` (start:stop:count)")
    )]
    Points { spec: String, why: String },
    #[error("cannot differentiate `{0}`: {1}")]
    #[diagnostic(
        code(pdenet::eval::derivative),
        help("ask for derivatives along the coordinates the field depends on, e.g. `u_x`")
    )]
    Expand(String, String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Kernel(#[from] KernelError),
}

/// What a requested quantity evaluates: a real expression, or the modulus of a
/// complex field's two parts.
#[derive(Debug, Clone, PartialEq)]
pub enum Quantity {
    Real(Expr),
    Modulus(Expr, Expr),
}

/// The model's fields when none are asked for: every declared field (both parts
/// of a complex one).
pub fn default_fields(problem: &Problem) -> Vec<String> {
    problem.fields.iter().map(|f| f.name.clone()).collect()
}

/// Resolves a quantity by name: a field (`u`, a complex field's part), `|h|` for a
/// complex field h, or a field with derivative suffixes (`u_x`, `u_xt`, `ψ_xx`)
/// whose letters are coordinate names.
pub fn quantity(problem: &Problem, name: &str) -> Result<Quantity, EvalError> {
    let field = |n: &str| problem.fields.iter().find(|f| f.name == n);
    if let Some(f) = field(name) {
        return Ok(Quantity::Real(f.value.clone()));
    }
    if let Some(inner) = name.strip_prefix('|').and_then(|s| s.strip_suffix('|')) {
        let parts: Vec<&Expr> = problem
            .fields
            .iter()
            .filter(|f| f.complex_of.as_ref().is_some_and(|(c, _)| c == inner))
            .map(|f| &f.value)
            .collect();
        if let [re, im] = parts[..] {
            return Ok(Quantity::Modulus(re.clone(), im.clone()));
        }
    }
    if let Some((base, suffix)) = name.rsplit_once('_') {
        if let (Some(f), Some(coords)) = (field(base), split_coords(problem, suffix)) {
            let mut e = f.value.clone();
            for c in coords {
                e = Expr::d(e, CoordId(c));
            }
            let e =
                sym::expand(&e).map_err(|err| EvalError::Expand(name.into(), err.to_string()))?;
            return Ok(Quantity::Real(e));
        }
    }
    let known: Vec<String> = problem.fields.iter().map(|f| f.name.clone()).collect();
    Err(EvalError::UnknownField {
        name: name.into(),
        help: format!(
            "the model's fields are {}; add derivative suffixes of coordinate names ({}) like `{}_{}`",
            known.join(", "),
            problem.coords.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
            known.first().map_or("u", String::as_str),
            problem.coords.first().map_or("x", |c| c.name.as_str()),
        ),
    })
}

/// `xt` → [x, t]: the suffix read as coordinate names (`problem::split_suffix`).
fn split_coords(problem: &Problem, suffix: &str) -> Option<Vec<usize>> {
    let names: Vec<&str> = problem.coords.iter().map(|c| c.name.as_str()).collect();
    crate::problem::split_suffix(&names, suffix)
}

/// Evaluates the quantities at the points (one column per coordinate, in the
/// problem's order): one column per quantity.
pub fn evaluate(
    problem: &Problem,
    theta: &[f64],
    quantities: &[Quantity],
    coords: &[Vec<f64>],
) -> Result<Vec<Vec<f64>>, EvalError> {
    let mut exprs = Vec::new();
    for q in quantities {
        match q {
            Quantity::Real(e) => exprs.push(e.clone()),
            Quantity::Modulus(re, im) => {
                exprs.push(re.clone());
                exprs.push(im.clone());
            }
        }
    }
    let values = Predictor::new(problem, &exprs)?.eval::<f64>(theta, coords)?;
    let mut values = values.into_iter();
    let mut out = Vec::new();
    for q in quantities {
        match q {
            Quantity::Real(_) => out.extend(values.next()),
            Quantity::Modulus(..) => {
                if let (Some(re), Some(im)) = (values.next(), values.next()) {
                    out.push(re.iter().zip(&im).map(|(a, b)| a.hypot(*b)).collect());
                }
            }
        }
    }
    Ok(out)
}

/// Index of each coordinate named in `names`, or an error naming the unknown one.
pub fn coord_columns(problem: &Problem, names: &[String]) -> Result<Vec<usize>, EvalError> {
    problem
        .coords
        .iter()
        .map(|c| {
            names
                .iter()
                .position(|n| n.trim() == c.name)
                .ok_or_else(|| EvalError::Points {
                    spec: names.join(","),
                    why: format!("no column for coordinate `{}`", c.name),
                })
        })
        .collect()
}

/// `x=0.1,t=0.5;x=0.2,t=0.5`: points separated by `;`, each naming every
/// coordinate once. Returns one column per coordinate.
pub fn parse_points(problem: &Problem, spec: &str) -> Result<Vec<Vec<f64>>, EvalError> {
    let bad = |why: String| EvalError::Points {
        spec: spec.into(),
        why,
    };
    let mut cols = vec![Vec::new(); problem.coords.len()];
    for point in spec.split(';').filter(|p| !p.trim().is_empty()) {
        let mut seen = vec![None; problem.coords.len()];
        for pair in point.split(',') {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("`{pair}` is not name=value")))?;
            let c = coord_index(problem, name.trim())
                .ok_or_else(|| bad(unknown_coord(problem, name)))?;
            let v: f64 = value
                .trim()
                .parse()
                .map_err(|_| bad(format!("`{}` is not a number", value.trim())))?;
            seen[c] = Some(v);
        }
        for (c, v) in seen.into_iter().enumerate() {
            let v = v.ok_or_else(|| {
                bad(format!(
                    "the point `{point}` gives no `{}`",
                    problem.coords[c].name
                ))
            })?;
            cols[c].push(v);
        }
    }
    if cols.first().is_some_and(Vec::is_empty) {
        return Err(bad("no points".into()));
    }
    Ok(cols)
}

/// `x=-1:1:256,t=0:1:100` (start:stop:count, both ends included): the regular
/// grid, the first coordinate varying slowest. Every coordinate needs a range.
pub fn parse_grid(problem: &Problem, spec: &str) -> Result<Vec<Vec<f64>>, EvalError> {
    let bad = |why: String| EvalError::Points {
        spec: spec.into(),
        why,
    };
    let mut axes: Vec<Option<Vec<f64>>> = vec![None; problem.coords.len()];
    for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, range) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("`{part}` is not name=start:stop:count")))?;
        let c =
            coord_index(problem, name.trim()).ok_or_else(|| bad(unknown_coord(problem, name)))?;
        let fields: Vec<&str> = range.split(':').map(str::trim).collect();
        let [a, b, n] = fields[..] else {
            return Err(bad(format!("`{range}` is not start:stop:count")));
        };
        let num = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("`{s}` is not a finite number")))
        };
        let (a, b) = (num(a)?, num(b)?);
        let n: usize = n
            .parse()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| bad(format!("`{n}` is not a positive count")))?;
        axes[c] = Some(linspace(a, b, n));
    }
    let mut grids = Vec::new();
    for (c, axis) in axes.into_iter().enumerate() {
        grids.push(axis.ok_or_else(|| {
            bad(format!(
                "no range for `{}` (its domain is [{}, {}])",
                problem.coords[c].name, problem.coords[c].lo, problem.coords[c].hi
            ))
        })?);
    }
    Ok(mesh(&grids))
}

/// `n` points from `a` to `b`, both included (`a` alone when `n` is 1).
/// Whether each point (one column per coordinate) lies in the domain's shape;
/// `None` for a box domain, where every point within the ranges does.
pub fn inside(problem: &Problem, coords: &[Vec<f64>]) -> Option<Vec<bool>> {
    let region = problem.region.as_ref()?;
    let n = coords.first().map_or(0, Vec::len);
    let point = |i: usize| -> Vec<f64> { coords.iter().map(|c| c[i]).collect() };
    Some((0..n).map(|i| region.contains(&point(i))).collect())
}

pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![a];
    }
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// The tensor product of 1-D axes, the first axis varying slowest.
pub fn mesh(axes: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let total: usize = axes.iter().map(Vec::len).product();
    let mut cols = vec![Vec::with_capacity(total); axes.len()];
    for k in 0..total {
        let mut rest = k;
        for (c, axis) in axes.iter().enumerate().rev() {
            cols[c].push(axis[rest % axis.len()]);
            rest /= axis.len();
        }
    }
    cols
}

fn coord_index(problem: &Problem, name: &str) -> Option<usize> {
    problem.coords.iter().position(|c| c.name == name)
}

fn unknown_coord(problem: &Problem, name: &str) -> String {
    let names: Vec<&str> = problem.coords.iter().map(|c| c.name.as_str()).collect();
    format!(
        "`{}` is not a coordinate (the domain declares {})",
        name.trim(),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_varies_the_first_axis_slowest() {
        let m = mesh(&[vec![0.0, 1.0], vec![5.0, 6.0, 7.0]]);
        assert_eq!(m[0], [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        assert_eq!(m[1], [5.0, 6.0, 7.0, 5.0, 6.0, 7.0]);
    }

    #[test]
    fn linspace_includes_both_ends() {
        assert_eq!(linspace(-1.0, 1.0, 5), [-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(linspace(2.0, 3.0, 1), [2.0]);
    }
}
