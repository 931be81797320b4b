//! The distance functions against the shapes' own geometry: zero on boundary points
//! (sampled by `geometry`), the sign of the inside, and |∇φ| = 1 at the boundary
//! away from corners, convex and non-convex polygons alike.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::distance;
use crate::expr::{CoordId, Expr};
use crate::geometry::tests::{disk, rect};
use crate::geometry::Shape;

fn phi(shape: &Shape) -> Expr {
    let x: Vec<Expr> = (0..shape.dim()).map(|k| Expr::Coord(CoordId(k))).collect();
    distance(shape, &x).expect("a distance function")
}

fn at(e: &Expr, p: &[f64]) -> f64 {
    e.value(&|leaf| match leaf {
        Expr::Coord(c) => p[c.0],
        _ => f64::NAN,
    })
}

/// |∇φ| by central differences.
fn slope(e: &Expr, p: &[f64]) -> f64 {
    let h = 1e-6;
    (0..p.len())
        .map(|k| {
            let (mut a, mut b) = (p.to_vec(), p.to_vec());
            a[k] -= h;
            b[k] += h;
            ((at(e, &b) - at(e, &a)) / (2.0 * h)).powi(2)
        })
        .sum::<f64>()
        .sqrt()
}

fn shapes() -> Vec<(&'static str, Shape)> {
    vec![
        ("disk", disk(0.2, -0.1, 0.7)),
        ("rectangle", rect([-1.0, 0.0], [2.0, 0.5])),
        (
            "triangle",
            Shape::Polygon {
                vertices: vec![[0.0, 0.0], [1.0, 0.0], [0.3, 0.8]],
            },
        ),
        (
            "square minus disk",
            Shape::Difference(
                Box::new(rect([-1.0, -1.0], [1.0, 1.0])),
                Box::new(disk(0.0, 0.0, 0.4)),
            ),
        ),
        (
            "union of disks",
            Shape::Union(
                Box::new(disk(-0.3, 0.0, 0.5)),
                Box::new(disk(0.3, 0.0, 0.5)),
            ),
        ),
        (
            "intersection of disks",
            Shape::Intersection(
                Box::new(disk(-0.3, 0.0, 0.5)),
                Box::new(disk(0.3, 0.0, 0.5)),
            ),
        ),
        ("L-shape", l_shape()),
        (
            // Its pocket (under the top edge) has a pocket of its own.
            "channel",
            Shape::Polygon {
                vertices: vec![
                    [0.0, 0.0],
                    [4.0, 0.0],
                    [4.0, 4.0],
                    [3.0, 4.0],
                    [3.0, 1.0],
                    [1.0, 1.0],
                    [1.0, 3.0],
                    [2.0, 3.0],
                    [2.0, 3.5],
                    [0.0, 4.0],
                ],
            },
        ),
        (
            "L-shape minus disk",
            Shape::Difference(Box::new(l_shape()), Box::new(disk(0.5, 0.5, 0.2))),
        ),
        (
            "5-ball",
            Shape::Ball {
                center: vec![0.0; 5],
                radius: 1.0,
            },
        ),
    ]
}

#[test]
fn zero_on_the_boundary_positive_inside_negative_outside() {
    let mut rng = StdRng::seed_from_u64(7);
    for (name, s) in shapes() {
        let e = phi(&s);
        let on = s.sample_boundary(&s, 200, &mut rng).expect("a boundary");
        for b in &on {
            assert!(
                at(&e, &b.x).abs() < 1e-9,
                "{name}: φ = {} at {:?}",
                at(&e, &b.x),
                b.x
            );
        }
        let (lo, hi) = s.bounds();
        for _ in 0..2000 {
            let p: Vec<f64> = lo
                .iter()
                .zip(&hi)
                .map(|(l, h)| rng.random_range(l - 0.2..h + 0.2))
                .collect();
            let d = s.distance(&p);
            if d.abs() < 1e-6 {
                continue;
            }
            let v = at(&e, &p);
            assert!(
                v.signum() == -d.signum(),
                "{name}: φ = {v} where the distance is {d}"
            );
        }
    }
}

#[test]
fn the_slope_is_one_at_the_boundary_away_from_corners() {
    // A disk and a rectangle's face midpoints, and the hole of the square minus disk.
    let cases = [
        (disk(0.2, -0.1, 0.7), vec![0.9, -0.1]),
        (rect([-1.0, 0.0], [2.0, 0.5]), vec![0.5, 0.5]),
        (rect([-1.0, 0.0], [2.0, 0.5]), vec![-1.0, 0.25]),
        (shapes()[3].1.clone(), vec![0.0, 0.4]),
        // The L-shape's re-entrant edges and a hull edge.
        (l_shape(), vec![1.5, 1.0]),
        (l_shape(), vec![1.0, 1.5]),
        (l_shape(), vec![1.0, 0.0]),
    ];
    for (s, p) in cases {
        let g = slope(&phi(&s), &p);
        assert!((g - 1.0).abs() < 0.05, "|∇φ| = {g} at {p:?}");
    }
}

/// The unit square less its upper-right quarter, scaled by 2.
fn l_shape() -> Shape {
    Shape::Polygon {
        vertices: vec![
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 2.0],
            [0.0, 2.0],
        ],
    }
}
