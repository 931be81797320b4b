//! Gradcheck: the kernel against finite differences (`pdenet gradcheck`).
//!
//! - Gradient: for at most `max_entries` entries per tensor (and every PDE parameter),
//!   a central difference of the total loss, Richardson-extrapolated (h and h/2), on
//!   at most `max_points` points per point set.
//! - Jets: every derivative the residuals need, of order k ≥ 1, against a central
//!   difference (Richardson again) of the order-(k−1) jet: a 4th derivative from
//!   values alone could not be accurate.
//!
//! Relative errors are measured against the size of the quantity (the largest gradient
//! entry, the largest value of that jet over the points), so entries that happen to
//! be near zero do not report noise as failure.

use std::fmt;

use super::jets::{self, MultiIndex};
use super::{compile_with, Kernel, KernelError, PointBatch, Predictor};
use crate::expr::{Expr, OutputId};
use crate::primitive::{self, Rules};
use crate::problem::{Network, Problem};

#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckOptions {
    pub max_entries: usize,
    pub max_points: usize,
    /// Largest acceptable relative error.
    pub tolerance: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            max_entries: 16,
            max_points: 64,
            tolerance: 1e-5,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `layer 2 W1`, `λ1`, or `u_xx (jet)`.
    pub name: String,
    pub checked: usize,
    pub max_rel: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckReport {
    /// One line per tensor and PDE parameter.
    pub tensors: Vec<Check>,
    /// One line per (output, derivative) of order ≥ 1.
    pub jets: Vec<Check>,
    pub tolerance: f64,
}

impl GradcheckReport {
    pub fn worst(&self) -> f64 {
        self.tensors
            .iter()
            .chain(&self.jets)
            .map(|c| c.max_rel)
            .fold(0.0, f64::max)
    }
    /// False above tolerance, and on any NaN.
    pub fn passed(&self) -> bool {
        self.tensors
            .iter()
            .chain(&self.jets)
            .all(|c| c.max_rel <= self.tolerance)
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.tensors.iter().chain(&self.jets) {
            let verdict = if c.max_rel <= self.tolerance {
                "ok"
            } else {
                "FAIL"
            };
            writeln!(
                f,
                "{:<28} {:>4} checked  max rel error {:.2e}  {verdict}",
                c.name, c.checked, c.max_rel
            )?;
        }
        write!(
            f,
            "tolerance {:.1e}: {}",
            self.tolerance,
            if self.passed() { "passed" } else { "FAILED" }
        )
    }
}

/// At most `m` points of a batch, evenly spread.
fn subsample(batch: &PointBatch, m: usize) -> PointBatch {
    let n = batch.len();
    let pick: Vec<usize> = if n <= m {
        (0..n).collect()
    } else {
        (0..m).map(|i| i * n / m).collect()
    };
    batch.pick(&pick)
}

/// Central difference of `f` at step h and h/2, Richardson-extrapolated (error O(h⁴)).
fn richardson(
    h: f64,
    mut f: impl FnMut(f64) -> Result<f64, KernelError>,
) -> Result<f64, KernelError> {
    let d = |f: &mut dyn FnMut(f64) -> Result<f64, KernelError>,
             h: f64|
     -> Result<f64, KernelError> { Ok((f(h)? - f(-h)?) / (2.0 * h)) };
    let (d1, d2) = (d(&mut f, h)?, d(&mut f, h / 2.0)?);
    Ok((4.0 * d2 - d1) / 3.0)
}

pub fn gradcheck(
    problem: &Problem,
    theta: &[f64],
    batches: &[PointBatch],
    opts: &GradcheckOptions,
) -> Result<GradcheckReport, KernelError> {
    gradcheck_with(problem, theta, batches, opts, primitive::prime)
}

/// [`gradcheck`] of the kernel whose jets read `rules`: a test passes a wrong rule
/// to show that the check catches it.
pub(crate) fn gradcheck_with(
    problem: &Problem,
    theta: &[f64],
    batches: &[PointBatch],
    opts: &GradcheckOptions,
    rules: Rules,
) -> Result<GradcheckReport, KernelError> {
    let kernel = compile_with(problem, rules)?;
    let small: Vec<PointBatch> = batches
        .iter()
        .map(|b| subsample(b, opts.max_points))
        .collect();
    let tensors = check_gradient(problem, &kernel, theta, &small, opts)?;
    let points = merge_points(problem, &small);
    let jets = check_jets(problem, theta, &points, rules)?;
    Ok(GradcheckReport {
        tensors,
        jets,
        tolerance: opts.tolerance,
    })
}

fn check_gradient(
    problem: &Problem,
    kernel: &Kernel,
    theta: &[f64],
    batches: &[PointBatch],
    opts: &GradcheckOptions,
) -> Result<Vec<Check>, KernelError> {
    let grad = kernel.eval(theta, batches)?.grad;
    let scale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs())).max(1e-300) * 1e-5;
    let mut out = vec![];
    for (name, range) in kernel.layout.entries(problem) {
        let n = range.len();
        let picks: Vec<usize> = if n <= opts.max_entries {
            range.clone().collect()
        } else {
            (0..opts.max_entries)
                .map(|i| range.start + i * n / opts.max_entries)
                .collect()
        };
        let mut max_rel = 0.0f64;
        for &i in &picks {
            let h = 1e-3 * theta[i].abs().max(1.0);
            let fd = richardson(h, |dh| {
                let mut t = theta.to_vec();
                t[i] += dh;
                kernel.loss(&t, batches)
            })?;
            let rel = (fd - grad[i]).abs() / fd.abs().max(grad[i].abs()).max(scale);
            max_rel = if rel.is_nan() {
                f64::INFINITY
            } else {
                max_rel.max(rel)
            };
        }
        out.push(Check {
            name,
            checked: picks.len(),
            max_rel,
        });
    }
    Ok(out)
}

/// All (subsampled) points of all sets, as one batch of coordinates.
fn merge_points(problem: &Problem, batches: &[PointBatch]) -> Vec<Vec<f64>> {
    (0..problem.coords.len())
        .map(|c| {
            batches
                .iter()
                .flat_map(|b| b.coords.get(c).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

/// The name of a derivative: `u0_xxt`.
fn jet_name(problem: &Problem, net: &Network, output: usize, a: &[u8]) -> String {
    let mut s = format!("{}_", net.outputs[output]);
    for (k, &c) in net.inputs.iter().enumerate() {
        s += &problem.coords[c.0].name.repeat(a[k] as usize);
    }
    s
}

/// Every network's jets against finite differences of its values.
fn check_jets(
    problem: &Problem,
    theta: &[f64],
    points: &[Vec<f64>],
    rules: Rules,
) -> Result<Vec<Check>, KernelError> {
    let residuals: Vec<&Expr> = problem.terms.iter().flat_map(|t| &t.residuals).collect();
    let indices = jets::needed_indices(problem, residuals);
    let mut out = vec![];
    let mut first = 0;
    for (net, indices) in problem.networks.iter().zip(&indices) {
        out.extend(check_network_jets(
            problem, net, first, indices, theta, points, rules,
        )?);
        first += net.outputs.len();
    }
    Ok(out)
}

/// One network's jets (its outputs are ids `first`…) at `indices`.
fn check_network_jets(
    problem: &Problem,
    net: &Network,
    first: usize,
    indices: &[MultiIndex],
    theta: &[f64],
    points: &[Vec<f64>],
    rules: Rules,
) -> Result<Vec<Check>, KernelError> {
    let n_out = net.outputs.len();
    let to_deriv = |a: &MultiIndex| {
        let mut d = vec![0u8; problem.coords.len()];
        net.inputs
            .iter()
            .enumerate()
            .for_each(|(k, &c)| d[c.0] = a[k]);
        d
    };
    let exprs: Vec<Expr> = indices
        .iter()
        .flat_map(|a| (0..n_out).map(move |k| (k, a)))
        .map(|(k, a)| Expr::out(OutputId(first + k), to_deriv(a)))
        .collect();
    let slot =
        |k: usize, a: &MultiIndex| indices.iter().position(|b| b == a).map(|i| i * n_out + k);
    let predictor = Predictor::with_rules(problem, &exprs, rules)?;
    let at = predictor.eval::<f64>(theta, points)?;
    // Values at the points moved along each network input by ±h, ±h/2.
    let mut moved = std::collections::HashMap::new();
    for (k, &c) in net.inputs.iter().enumerate() {
        let h = 1e-3 * (problem.coords[c.0].hi - problem.coords[c.0].lo) / 2.0;
        for dh in [h, -h, h / 2.0, -h / 2.0] {
            let mut p = points.to_vec();
            p[c.0].iter_mut().for_each(|x| *x += dh);
            moved.insert((k, dh.to_bits()), predictor.eval::<f64>(theta, &p)?);
        }
    }
    let mut out = vec![];
    for a in indices.iter().filter(|a| jets::order(a) > 0) {
        let i = a.iter().position(|&k| k > 0).unwrap_or(0);
        let mut lower = a.clone();
        lower[i] -= 1;
        let c = net.inputs[i];
        let h = 1e-3 * (problem.coords[c.0].hi - problem.coords[c.0].lo) / 2.0;
        for k in 0..n_out {
            let (Some(s), Some(l)) = (slot(k, a), slot(k, &lower)) else {
                continue;
            };
            let col = |dh: f64| &moved[&(i, dh.to_bits())][l];
            let n = at[s].len();
            let fd: Vec<f64> = (0..n)
                .map(|p| {
                    let (d1, d2) = (
                        (col(h)[p] - col(-h)[p]) / (2.0 * h),
                        (col(h / 2.0)[p] - col(-h / 2.0)[p]) / h,
                    );
                    (4.0 * d2 - d1) / 3.0
                })
                .collect();
            let scale = at[s]
                .iter()
                .chain(&fd)
                .fold(1e-12f64, |m, x| m.max(x.abs()));
            let err = (0..n)
                .map(|p| (at[s][p] - fd[p]).abs() / scale)
                .fold(
                    0.0,
                    |m: f64, e| if e.is_nan() { f64::INFINITY } else { m.max(e) },
                );
            out.push(Check {
                name: format!("{} (jet)", jet_name(problem, net, k, a)),
                checked: n,
                max_rel: err,
            });
        }
    }
    Ok(out)
}
