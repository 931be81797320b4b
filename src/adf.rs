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
//! - union, intersection and difference by Rvachev's R-functions (R₀):
//!   a ∧ b = a + b − √(a² + b²), a ∨ b = a + b + √(a² + b²), A − B = φ_A ∧ (−φ_B).
//!
//! Being expressions, the derivatives a residual takes of them are exact (`sym`).
//! A non-convex polygon has no such signed function here (its half-planes' conjunction
//! is a smaller shape); `check` says so.

use crate::expr::Expr;
use crate::geometry::Shape;

/// φ of `shape` over the coordinate expressions `x` (one per shape axis); `None` for
/// a non-convex polygon anywhere in it.
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
        Shape::Polygon { vertices } => {
            if !convex(vertices) {
                return None;
            }
            let n = vertices.len();
            (0..n)
                .map(|i| half_plane(vertices[i], vertices[(i + 1) % n], x))
                .reduce(and)?
        }
        Shape::Union(a, b) => or(distance(a, x)?, distance(b, x)?),
        Shape::Intersection(a, b) => and(distance(a, x)?, distance(b, x)?),
        Shape::Difference(a, b) => and(distance(a, x)?, Expr::neg(distance(b, x)?)),
    })
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
    (0..n).all(|i| {
        let (a, b, c) = (v[i], v[(i + 1) % n], v[(i + 2) % n]);
        (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]) >= 0.0
    })
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
