//! Approximate distance functions of shapes, as expressions of the coordinates, for
//! hard constraints: `field u(x, y) = g + dist(plate)*net(x, y)` is g on the plate's
//! boundary whatever the network does (Sukumar & Srivastava 2022, "Exact imposition
//! of boundary conditions with distance functions in physics-informed deep neural
//! networks", CMAME 389).
//!
//! φ is positive inside the shape, zero on its boundary and, near the boundary away
//! from corners, equal to the distance to first order (|∇φ| = 1 there):
//! - a ball: (r² − |x − c|²)/(2r);
//! - a box and a convex polygon: the R-conjunction of their faces' half-planes (each
//!   the signed distance to the face's plane);
//! - a non-convex polygon: its convex hull minus its pockets (the regions between
//!   the hull and the polygon, each a polygon again, non-convex ones in turn split
//!   the same way: Rvachev's convex-deficiency tree), so φ stays signed and smooth
//!   inside and can be combined like any other;
//! - union, intersection and difference by Rvachev's R-functions (R₀):
//!   a ∧ b = a + b − √(a² + b²), a ∨ b = a + b + √(a² + b²), A − B = φ_A ∧ (−φ_B).
//!
//! Being expressions, the derivatives a residual takes of them are exact (`sym`).

use crate::expr::Expr;
use crate::geometry::{signed_area, Shape};

/// φ of `shape` over the coordinate expressions `x` (one per shape axis); `None` for
/// a shape without faces (`check` rejects those before).
pub fn distance(shape: &Shape, x: &[Expr]) -> Option<Expr> {
    Some(match shape {
        Shape::Ball { center, radius } => {
            let r2 = x
                .iter()
                .zip(center)
                .map(|(xk, &c)| square(Expr::sub(xk.clone(), Expr::num(c))))
                .reduce(Expr::add)?;
            Expr::div(
                Expr::sub(Expr::num(radius * radius), r2),
                Expr::num(2.0 * radius),
            )
        }
        Shape::Box { lo, hi } => {
            let faces = x.iter().zip(lo.iter().zip(hi)).flat_map(|(xk, (&l, &h))| {
                [
                    Expr::sub(xk.clone(), Expr::num(l)),
                    Expr::sub(Expr::num(h), xk.clone()),
                ]
            });
            faces.reduce(and)?
        }
        Shape::Polygon { vertices } => polygon(vertices, x)?,
        Shape::Union(a, b) => or(distance(a, x)?, distance(b, x)?),
        Shape::Intersection(a, b) => and(distance(a, x)?, distance(b, x)?),
        Shape::Difference(a, b) => and(distance(a, x)?, Expr::neg(distance(b, x)?)),
    })
}

/// φ of a counter-clockwise polygon: the conjunction of its edges' half-planes if it
/// is convex, else its convex hull's φ without its pockets'.
fn polygon(v: &[[f64; 2]], x: &[Expr]) -> Option<Expr> {
    let n = v.len();
    if convex(v) {
        return (0..n)
            .map(|i| half_plane(v[i], v[(i + 1) % n], x))
            .reduce(and);
    }
    let hull = hull(v);
    let h: Vec<[f64; 2]> = hull.iter().map(|&i| v[i]).collect();
    let mut phi = polygon(&h, x)?;
    for (k, &a) in hull.iter().enumerate() {
        let b = hull[(k + 1) % hull.len()];
        // The polygon's vertices a, a + 1, …, b dip inside the hull edge a → b; with
        // that edge they bound a pocket, clockwise, so reversed.
        let mut pocket: Vec<[f64; 2]> = (0..=(b + n - a) % n).map(|j| v[(a + j) % n]).collect();
        pocket.reverse();
        if pocket.len() > 2 && signed_area(&pocket) > 1e-12 * signed_area(&h) {
            phi = and(phi, Expr::neg(polygon(&pocket, x)?));
        }
    }
    Some(phi)
}

/// The indices of a counter-clockwise polygon's convex hull vertices, in its order
/// (Andrew's monotone chain; points on a hull edge are left out).
fn hull(v: &[[f64; 2]]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].partial_cmp(&v[j]).unwrap_or(std::cmp::Ordering::Equal));
    let turn = |a: usize, b: usize, c: usize| cross(v[a], v[b], v[c]);
    let mut chain: Vec<usize> = Vec::new();
    for pass in [order.clone(), order.into_iter().rev().collect()] {
        let start = chain.len();
        for i in pass {
            while chain.len() >= start + 2
                && turn(chain[chain.len() - 2], chain[chain.len() - 1], i) <= 0.0
            {
                chain.pop();
            }
            chain.push(i);
        }
        chain.pop();
    }
    chain.sort_unstable();
    chain
}

/// (b − a) × (c − b): positive where a → b → c turns left.
fn cross(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
}

/// The signed distance to the line through p → q, positive on its left (inside a
/// counter-clockwise polygon).
fn half_plane(p: [f64; 2], q: [f64; 2], x: &[Expr]) -> Expr {
    let (dx, dy) = (q[0] - p[0], q[1] - p[1]);
    let len = dx.hypot(dy);
    // ((x − p) × (q − p)) with the sign for "left", over |q − p|.
    let along_y = Expr::mul(
        Expr::num(dx / len),
        Expr::sub(x[1].clone(), Expr::num(p[1])),
    );
    let along_x = Expr::mul(
        Expr::num(dy / len),
        Expr::sub(x[0].clone(), Expr::num(p[0])),
    );
    Expr::sub(along_y, along_x)
}

/// Whether a counter-clockwise polygon turns left (or goes straight) at every vertex.
fn convex(v: &[[f64; 2]]) -> bool {
    let n = v.len();
    (0..n).all(|i| cross(v[i], v[(i + 1) % n], v[(i + 2) % n]) >= 0.0)
}

fn square(e: Expr) -> Expr {
    Expr::pow(e, Expr::num(2.0))
}

fn root_of_squares(a: &Expr, b: &Expr) -> Expr {
    Expr::call(
        crate::expr::Func::Sqrt,
        Expr::add(square(a.clone()), square(b.clone())),
    )
}

/// R-conjunction: positive where both are.
fn and(a: Expr, b: Expr) -> Expr {
    let r = root_of_squares(&a, &b);
    Expr::sub(Expr::add(a, b), r)
}

/// R-disjunction: positive where either is.
fn or(a: Expr, b: Expr) -> Expr {
    let r = root_of_squares(&a, &b);
    Expr::add(Expr::add(a, b), r)
}

#[cfg(test)]
#[path = "adf_tests.rs"]
mod tests;
