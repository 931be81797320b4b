//! Data as functions: a quantity given on a regular grid of some coordinates (a
//! coefficient a(x, y) on a 256² grid), usable in residuals with its derivatives.
//!
//! The interpolant is the tensor-product cubic B-spline through the grid values with
//! natural end conditions (second derivative zero at each axis's ends): C² inside,
//! so the first and second derivatives that a PDE's residual takes of a coefficient
//! are continuous; the third is piecewise constant and higher ones vanish. A table
//! depends on coordinates only, never on θ, so the kernels need nothing new: each
//! point set that reads a table (or one of its derivatives) gets it as a data column
//! ([`to_columns`], after `sym`), which the host fills when it draws the points
//! (`train::points`), and every engine reads like any other data.

use crate::expr::{CoordId, Deriv, Expr};
use crate::problem::Problem;

/// One axis of a table's grid: `n` values `start + i·step`.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub coord: CoordId,
    pub start: f64,
    pub step: f64,
    pub n: usize,
}

impl Axis {
    pub fn end(&self) -> f64 {
        self.start + self.step * (self.n - 1) as f64
    }
}

/// A function of some coordinates given on a regular grid: the interpolating cubic
/// B-spline of values at the grid's points (`table "f.mat" {…}`), or a constant per
/// cell (`table a = [[…]] on x ∈ […], …`, piecewise coefficients).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    /// For cells, `n` cells of width `step` from `start`.
    pub axes: Vec<Axis>,
    pub kind: Kind,
    /// The B-spline coefficients, n + 2 per axis (one beyond each end), or the cells'
    /// values; the first axis varying fastest.
    coeffs: Vec<f64>,
}

/// How a table's numbers make a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Spline,
    /// Piecewise constant: its derivatives are zero (inside the cells; the jumps
    /// between them are not seen, as in every PINN code that uses such a coefficient).
    Cells,
}

impl Table {
    /// The spline through `values` (the grid's, first axis fastest). Each axis has
    /// at least two points.
    pub fn new(name: String, axes: Vec<Axis>, values: &[f64]) -> Table {
        let mut dims: Vec<usize> = axes.iter().map(|a| a.n).collect();
        let mut coeffs = values.to_vec();
        for k in 0..dims.len() {
            coeffs = along(&coeffs, &dims, k);
            dims[k] += 2;
        }
        Table {
            name,
            axes,
            kind: Kind::Spline,
            coeffs,
        }
    }

    /// A constant per cell: `values` (first axis fastest) on the cells of `axes`.
    pub fn cells(name: String, axes: Vec<Axis>, values: Vec<f64>) -> Table {
        Table {
            name,
            axes,
            kind: Kind::Cells,
            coeffs: values,
        }
    }

    /// The interpolant's derivative `deriv` (an order per axis) at `x` (a value per
    /// axis). Points beyond the grid continue its end cells' cubics.
    pub fn eval(&self, x: &[f64], deriv: &[u8]) -> f64 {
        if self.kind == Kind::Cells {
            return self.cell(x, deriv);
        }
        // Per axis: the first of the four coefficients that touch x, and their weights.
        let mut first = Vec::with_capacity(self.axes.len());
        let mut weights = Vec::with_capacity(self.axes.len());
        for ((a, &xk), &d) in self.axes.iter().zip(x).zip(deriv) {
            let u = (xk - a.start) / a.step;
            let i = (u.floor().max(0.0) as usize).min(a.n - 2);
            let w = basis(u - i as f64, d);
            first.push(i);
            weights.push(w.map(|v| v / a.step.powi(d as i32)));
        }
        let mut sum = 0.0;
        for corner in 0..4usize.pow(self.axes.len() as u32) {
            let (mut off, mut stride, mut w, mut rest) = (0, 1, 1.0, corner);
            for (k, a) in self.axes.iter().enumerate() {
                let j = rest % 4;
                rest /= 4;
                off += (first[k] + j) * stride;
                stride *= a.n + 2;
                w *= weights[k][j];
            }
            sum += w * self.coeffs[off];
        }
        sum
    }

    /// The value of the cell that holds x (the edge cells continue outward);
    /// derivatives are zero.
    fn cell(&self, x: &[f64], deriv: &[u8]) -> f64 {
        if deriv.iter().any(|&d| d > 0) {
            return 0.0;
        }
        let (mut off, mut stride) = (0, 1);
        for (a, &xk) in self.axes.iter().zip(x) {
            let k = ((xk - a.start) / a.step).floor().max(0.0) as usize;
            off += k.min(a.n - 1) * stride;
            stride *= a.n;
        }
        self.coeffs[off]
    }

    /// The orders along the table's axes of `deriv` (an order per problem
    /// coordinate), or `None` if the derivative is zero: along another coordinate,
    /// or any derivative of cells.
    pub fn orders(&self, deriv: &[u8]) -> Option<Vec<u8>> {
        let d: Vec<u8> = self.axes.iter().map(|a| deriv[a.coord.0]).collect();
        let total = |v: &[u8]| v.iter().map(|&o| o as u32).sum::<u32>();
        let zero = self.kind == Kind::Cells && total(deriv) > 0;
        (total(&d) == total(deriv) && !zero).then_some(d)
    }

    /// The table's value (its derivative `deriv`, an order per problem coordinate)
    /// at each point; `None` when the derivative is along a coordinate the table
    /// does not depend on (it is zero).
    pub fn column(&self, coords: &[Vec<f64>], deriv: &[u8]) -> Option<Vec<f64>> {
        let d = self.orders(deriv)?;
        let n = coords.first().map_or(0, Vec::len);
        let mut x = vec![0.0; self.axes.len()];
        Some(
            (0..n)
                .map(|p| {
                    for (xk, a) in x.iter_mut().zip(&self.axes) {
                        *xk = coords[a.coord.0][p];
                    }
                    self.eval(&x, &d)
                })
                .collect(),
        )
    }
}

/// The uniform cubic B-spline's four basis functions at t ∈ [0, 1] (the cell's
/// coefficients i−1 … i+2), differentiated `d` times in t.
fn basis(t: f64, d: u8) -> [f64; 4] {
    let s = 1.0 - t;
    match d {
        0 => [
            s * s * s / 6.0,
            (3.0 * t * t * t - 6.0 * t * t + 4.0) / 6.0,
            (-3.0 * t * t * t + 3.0 * t * t + 3.0 * t + 1.0) / 6.0,
            t * t * t / 6.0,
        ],
        1 => [
            -s * s / 2.0,
            (3.0 * t * t - 4.0 * t) / 2.0,
            (-3.0 * t * t + 2.0 * t + 1.0) / 2.0,
            t * t / 2.0,
        ],
        2 => [s, 3.0 * t - 2.0, 1.0 - 3.0 * t, t],
        3 => [-1.0, 3.0, -3.0, 1.0],
        _ => [0.0; 4],
    }
}

/// The coefficients along axis k of an array of shape `dims` (first axis fastest):
/// each line of values f₀ … f_{n−1} becomes c₋₁ … c_n with (c_{i−1} + 4cᵢ + c_{i+1})/6
/// = fᵢ and the natural end conditions c₋₁ − 2c₀ + c₁ = 0 = c_{n−2} − 2c_{n−1} + c_n.
fn along(values: &[f64], dims: &[usize], k: usize) -> Vec<f64> {
    let n = dims[k];
    let inner: usize = dims[..k].iter().product();
    let outer: usize = dims[k + 1..].iter().product();
    let mut out = vec![0.0; inner * (n + 2) * outer];
    let mut line = vec![0.0; n];
    for o in 0..outer {
        for i in 0..inner {
            for (j, v) in line.iter_mut().enumerate() {
                *v = values[i + inner * (j + n * o)];
            }
            for (j, c) in solve_line(&line).into_iter().enumerate() {
                out[i + inner * (j + (n + 2) * o)] = c;
            }
        }
    }
    out
}

/// One line's n + 2 coefficients. The natural conditions make c₀ = f₀ and
/// c_{n−1} = f_{n−1}; the interior is a (1, 4, 1)/6 tridiagonal system (Thomas'
/// algorithm: diagonally dominant, so stable without pivoting).
fn solve_line(f: &[f64]) -> Vec<f64> {
    let n = f.len();
    let mut c = vec![0.0; n + 2];
    c[1] = f[0];
    c[n] = f[n - 1];
    let m = n.saturating_sub(2);
    if m > 0 {
        // Rows i = 1 … n−2: cᵢ₋₁ + 4cᵢ + cᵢ₊₁ = 6fᵢ, the known ends moved right.
        let mut rhs: Vec<f64> = (1..n - 1).map(|i| 6.0 * f[i]).collect();
        rhs[0] -= f[0];
        rhs[m - 1] -= f[n - 1];
        let mut diag = vec![4.0; m];
        for r in 1..m {
            let w = 1.0 / diag[r - 1];
            diag[r] -= w;
            rhs[r] -= w * rhs[r - 1];
        }
        let mut x = vec![0.0; m];
        x[m - 1] = rhs[m - 1] / diag[m - 1];
        for r in (0..m - 1).rev() {
            x[r] = (rhs[r] - x[r + 1]) / diag[r];
        }
        c[2..n].copy_from_slice(&x);
    }
    c[0] = 2.0 * c[1] - c[2];
    c[n + 1] = 2.0 * c[n] - c[n - 1];
    c
}

/// Replaces every `Expr::Table` leaf of the problem's residuals by a data column of
/// its term's point set (appended after the set's own columns; the set lists it in
/// `PointSet::tables`), or by 0 for a derivative along a coordinate the table does
/// not depend on.
pub fn to_columns(problem: &mut Problem) {
    for t in 0..problem.terms.len() {
        let set = problem.terms[t].points;
        let own = problem.own_columns(&problem.point_sets[set]);
        let mut uses = std::mem::take(&mut problem.point_sets[set].tables);
        for r in &problem.terms[t].residuals {
            leaves(r, &mut uses);
        }
        let tables = &problem.tables;
        uses.retain(|(u, d)| tables[*u].orders(d).is_some());
        let column = |e: &Expr| match e {
            Expr::Table { table, deriv } if tables[*table].orders(deriv).is_none() => {
                Some(Expr::Num(0.0))
            }
            Expr::Table { table, deriv } => {
                let k = uses.iter().position(|(u, d)| u == table && d == deriv)?;
                Some(Expr::Data(own + k))
            }
            _ => None,
        };
        let residuals: Vec<Expr> = problem.terms[t]
            .residuals
            .iter()
            .map(|r| r.substitute(&column))
            .collect();
        problem.terms[t].residuals = residuals;
        problem.point_sets[set].tables = uses;
    }
}

/// Adds the distinct table leaves of `e` to `uses`, in order of appearance.
fn leaves(e: &Expr, uses: &mut Vec<(usize, Deriv)>) {
    if let Expr::Table { table, deriv } = e {
        if !uses.iter().any(|(u, d)| u == table && d == deriv) {
            uses.push((*table, deriv.clone()));
        }
    }
    for c in e.children() {
        leaves(c, uses);
    }
}

/// The data columns a point set's tables add to a batch at `coords`.
pub fn columns(problem: &Problem, uses: &[(usize, Deriv)], coords: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = coords.first().map_or(0, Vec::len);
    uses.iter()
        .map(|(t, d)| {
            problem.tables[*t]
                .column(coords, d)
                .unwrap_or_else(|| vec![0.0; n])
        })
        .collect()
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
