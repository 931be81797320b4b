//! Domains beyond boxes: shapes over a problem's spatial coordinates (boxes,
//! balls in any dimension, polygons) and their union, intersection and difference
//! (constructive solid geometry, as DeepXDE's `geometry` module builds them).
//!
//! Everything here works through one function, a signed distance: negative inside,
//! zero on the boundary, positive outside. It is exact for the primitives; for the
//! set operations (min, max, max(a, −b)) it has the right sign and the right zero
//! set, which is all that sampling needs:
//! - inside a shape: draw in its bounding box and keep points with distance ≤ 0;
//! - on a boundary piece: draw on each primitive's boundary in proportion to its
//!   measure (arc length, area), keep points whose distance to the piece and to the
//!   domain is ~0 (uniform in measure on what is kept), and orient the primitive's
//!   normal outward from the domain by probing the domain's distance on both sides.

use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::StandardNormal;

/// Points closer than this to a boundary (relative to the shape's size) are on it.
const ON: f64 = 1e-9;

/// A region of ℝᵈ.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// An axis-aligned box (a rectangle in 2-D): lo[k] < hi[k].
    Box {
        lo: Vec<f64>,
        hi: Vec<f64>,
    },
    /// A ball (a disk in 2-D).
    Ball {
        center: Vec<f64>,
        radius: f64,
    },
    /// A simple polygon in 2-D, its vertices counter-clockwise (the checker orders
    /// them), not repeating the first.
    Polygon {
        vertices: Vec<[f64; 2]>,
    },
    Union(Box<Shape>, Box<Shape>),
    Intersection(Box<Shape>, Box<Shape>),
    Difference(Box<Shape>, Box<Shape>),
}

/// A point on a boundary with the outward unit normal there.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryPoint {
    pub x: Vec<f64>,
    pub normal: Vec<f64>,
}

impl Shape {
    /// The number of coordinates the shape lives in.
    pub fn dim(&self) -> usize {
        match self {
            Shape::Box { lo, .. } => lo.len(),
            Shape::Ball { center, .. } => center.len(),
            Shape::Polygon { .. } => 2,
            Shape::Union(a, _) | Shape::Intersection(a, _) | Shape::Difference(a, _) => a.dim(),
        }
    }

    /// The signed distance of `p` (exact for a primitive; see the module's doc).
    pub fn distance(&self, p: &[f64]) -> f64 {
        match self {
            Shape::Box { lo, hi } => box_distance(lo, hi, p),
            Shape::Ball { center, radius } => norm(&sub(p, center)) - radius,
            Shape::Polygon { vertices } => polygon_distance(vertices, p),
            Shape::Union(a, b) => a.distance(p).min(b.distance(p)),
            Shape::Intersection(a, b) => a.distance(p).max(b.distance(p)),
            Shape::Difference(a, b) => a.distance(p).max(-b.distance(p)),
        }
    }

    /// Whether `p` is inside or on the boundary.
    pub fn contains(&self, p: &[f64]) -> bool {
        self.distance(p) <= ON * self.size()
    }

    /// The bounding box (lo, hi): exact for primitives and unions, an enclosing box
    /// for intersections and differences.
    pub fn bounds(&self) -> (Vec<f64>, Vec<f64>) {
        match self {
            Shape::Box { lo, hi } => (lo.clone(), hi.clone()),
            Shape::Ball { center, radius } => (
                center.iter().map(|c| c - radius).collect(),
                center.iter().map(|c| c + radius).collect(),
            ),
            Shape::Polygon { vertices } => {
                let fold = |k: usize, f: fn(f64, f64) -> f64, init: f64| {
                    vertices.iter().map(|v| v[k]).fold(init, f)
                };
                (
                    vec![
                        fold(0, f64::min, f64::INFINITY),
                        fold(1, f64::min, f64::INFINITY),
                    ],
                    vec![
                        fold(0, f64::max, f64::NEG_INFINITY),
                        fold(1, f64::max, f64::NEG_INFINITY),
                    ],
                )
            }
            Shape::Union(a, b) => {
                let ((alo, ahi), (blo, bhi)) = (a.bounds(), b.bounds());
                (zip(&alo, &blo, f64::min), zip(&ahi, &bhi, f64::max))
            }
            Shape::Intersection(a, b) => {
                let ((alo, ahi), (blo, bhi)) = (a.bounds(), b.bounds());
                (zip(&alo, &blo, f64::max), zip(&ahi, &bhi, f64::min))
            }
            Shape::Difference(a, _) => a.bounds(),
        }
    }

    /// A point drawn uniformly in the bounding box.
    pub fn point_in_bounds(&self, rng: &mut StdRng) -> Vec<f64> {
        let (lo, hi) = self.bounds();
        lo.iter()
            .zip(&hi)
            .map(|(l, h)| l + (h - l) * rng.random::<f64>())
            .collect()
    }

    /// The share of `n` uniform points of the bounding box (seeded, so the same
    /// every time) that lie strictly inside: 0 for an empty shape.
    pub fn share_of_bounds(&self, n: usize) -> f64 {
        let (lo, hi) = self.bounds();
        if lo.iter().zip(&hi).any(|(l, h)| l >= h) {
            return 0.0;
        }
        let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(0);
        let inside = (0..n)
            .filter(|_| self.distance(&self.point_in_bounds(&mut rng)) < 0.0)
            .count();
        inside as f64 / n.max(1) as f64
    }

    /// The largest side of the bounding box: the scale of the boundary tolerance.
    fn size(&self) -> f64 {
        let (lo, hi) = self.bounds();
        lo.iter()
            .zip(&hi)
            .map(|(l, h)| h - l)
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE)
    }

    /// The primitives the shape is built from, in order.
    fn primitives(&self) -> Vec<&Shape> {
        match self {
            Shape::Union(a, b) | Shape::Intersection(a, b) | Shape::Difference(a, b) => {
                let mut v = a.primitives();
                v.extend(b.primitives());
                v
            }
            leaf => vec![leaf],
        }
    }

    /// The volume (area in 2-D) of a primitive; `None` for a set operation.
    pub fn volume(&self) -> Option<f64> {
        match self {
            Shape::Box { lo, hi } => Some(lo.iter().zip(hi).map(|(l, h)| h - l).product()),
            Shape::Ball { center, radius } => {
                Some(unit_ball(center.len()) * radius.powi(center.len() as i32))
            }
            Shape::Polygon { vertices } => Some(signed_area(vertices)),
            _ => None,
        }
    }

    /// The boundary measure (perimeter in 2-D, area in 3-D) of a primitive.
    fn boundary_measure(&self) -> f64 {
        match self {
            Shape::Box { lo, hi } => (0..lo.len()).map(|k| 2.0 * face_area(lo, hi, k)).sum(),
            Shape::Ball { center, radius } => {
                let d = center.len();
                d as f64 * unit_ball(d) * radius.powi(d as i32 - 1)
            }
            Shape::Polygon { vertices } => edges(vertices).map(|(a, b)| norm(&sub(&b, &a))).sum(),
            _ => 0.0,
        }
    }

    /// A point drawn uniformly (in measure) on a primitive's boundary, with the
    /// primitive's outward normal.
    fn boundary_point(&self, rng: &mut StdRng) -> BoundaryPoint {
        match self {
            Shape::Box { lo, hi } => {
                let d = lo.len();
                let areas: Vec<f64> = (0..d).map(|k| face_area(lo, hi, k)).collect();
                let k = pick(&areas, rng);
                let upper = rng.random::<bool>();
                let mut x: Vec<f64> = lo
                    .iter()
                    .zip(hi)
                    .map(|(l, h)| l + (h - l) * rng.random::<f64>())
                    .collect();
                x[k] = if upper { hi[k] } else { lo[k] };
                let mut normal = vec![0.0; d];
                normal[k] = if upper { 1.0 } else { -1.0 };
                BoundaryPoint { x, normal }
            }
            Shape::Ball { center, radius } => {
                let mut n: Vec<f64> = center.iter().map(|_| rng.sample(StandardNormal)).collect();
                let len = norm(&n).max(f64::MIN_POSITIVE);
                n.iter_mut().for_each(|v| *v /= len);
                let x = center.iter().zip(&n).map(|(c, v)| c + radius * v).collect();
                BoundaryPoint { x, normal: n }
            }
            Shape::Polygon { vertices } => {
                let lengths: Vec<f64> = edges(vertices).map(|(a, b)| norm(&sub(&b, &a))).collect();
                let (a, b) = edges(vertices).nth(pick(&lengths, rng)).expect("an edge");
                let s = rng.random::<f64>();
                let e = sub(&b, &a);
                let len = norm(&e);
                BoundaryPoint {
                    x: vec![a[0] + s * e[0], a[1] + s * e[1]],
                    // Counter-clockwise: the outside is on the right of each edge.
                    normal: vec![e[1] / len, -e[0] / len],
                }
            }
            _ => unreachable!("boundary_point is called on primitives only"),
        }
    }

    /// `n` points of the part of `piece`'s boundary that lies on this shape's
    /// boundary, uniform in measure, with this shape's outward normal; `None` when
    /// (almost) none of the piece's boundary is on this shape's (the piece does not
    /// touch the domain's boundary, or only in a set of measure zero).
    pub fn sample_boundary(
        &self,
        piece: &Shape,
        n: usize,
        rng: &mut StdRng,
    ) -> Option<Vec<BoundaryPoint>> {
        let leaves = piece.primitives();
        let measures: Vec<f64> = leaves.iter().map(|s| s.boundary_measure()).collect();
        // A drawn point is on its primitive's boundary to rounding; its distance to
        // the piece and to the domain goes through the other primitives' distances
        // (square roots, min/max), hence a looser test than `contains`. The probe
        // steps far enough off the boundary for the domain's distance to change sign.
        let tol = ON * self.size().max(piece.size()) * 1e3;
        let probe = 1e-6 * self.size();
        let mut out = Vec::with_capacity(n);
        // Give up when fewer than one draw in 10⁴ lands on the domain's boundary.
        let mut budget = 10_000 * n.max(1) + 100_000;
        while out.len() < n {
            if budget == 0 {
                return None;
            }
            budget -= 1;
            let mut b = leaves[pick(&measures, rng)].boundary_point(rng);
            if piece.distance(&b.x).abs() > tol || self.distance(&b.x).abs() > tol {
                continue;
            }
            let step = |s: f64| -> Vec<f64> {
                b.x.iter().zip(&b.normal).map(|(x, v)| x + s * v).collect()
            };
            // Where the domain is outside on both sides, the point lies on a face
            // of a removed shape that another one's boundary covers (a step's
            // face on the wall of the channel it is cut from): no boundary at all.
            let (ahead, behind) = (self.distance(&step(probe)), self.distance(&step(-probe)));
            if ahead.min(behind) > -probe / 2.0 {
                continue;
            }
            if ahead < behind {
                b.normal.iter_mut().for_each(|v| *v = -*v);
            }
            out.push(b);
        }
        Some(out)
    }
}

fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn zip(a: &[f64], b: &[f64], f: fn(f64, f64) -> f64) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect()
}

/// An index drawn with probability proportional to `weights[i]`.
fn pick(weights: &[f64], rng: &mut StdRng) -> usize {
    let total: f64 = weights.iter().sum();
    let mut r = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    weights.len() - 1
}

/// The area of the box's faces normal to axis k (1 in one dimension).
fn face_area(lo: &[f64], hi: &[f64], k: usize) -> f64 {
    (0..lo.len())
        .filter(|&j| j != k)
        .map(|j| hi[j] - lo[j])
        .product()
}

/// The volume of the unit ball in d dimensions: π^(d/2) / Γ(d/2 + 1), by the
/// recurrence V_d = 2π/d · V_{d−2}.
fn unit_ball(d: usize) -> f64 {
    match d {
        0 => 1.0,
        1 => 2.0,
        _ => 2.0 * std::f64::consts::PI / d as f64 * unit_ball(d - 2),
    }
}

fn box_distance(lo: &[f64], hi: &[f64], p: &[f64]) -> f64 {
    // Per axis: how far outside the slab (negative inside it).
    let q: Vec<f64> = (0..p.len())
        .map(|k| (lo[k] - p[k]).max(p[k] - hi[k]))
        .collect();
    let outside = q.iter().map(|v| v.max(0.0).powi(2)).sum::<f64>().sqrt();
    let inside = q.iter().copied().fold(f64::NEG_INFINITY, f64::max).min(0.0);
    outside + inside
}

/// The polygon's edges (a, b), the last closing back to the first vertex.
fn edges(v: &[[f64; 2]]) -> impl Iterator<Item = ([f64; 2], [f64; 2])> + '_ {
    (0..v.len()).map(move |i| (v[i], v[(i + 1) % v.len()]))
}

/// The shoelace area: positive for counter-clockwise vertices.
pub fn signed_area(v: &[[f64; 2]]) -> f64 {
    0.5 * edges(v)
        .map(|(a, b)| a[0] * b[1] - b[0] * a[1])
        .sum::<f64>()
}

fn polygon_distance(v: &[[f64; 2]], p: &[f64]) -> f64 {
    let mut d2 = f64::INFINITY;
    let mut inside = false;
    for (a, b) in edges(v) {
        let e = [b[0] - a[0], b[1] - a[1]];
        let w = [p[0] - a[0], p[1] - a[1]];
        let t = ((w[0] * e[0] + w[1] * e[1]) / (e[0] * e[0] + e[1] * e[1])).clamp(0.0, 1.0);
        let r = [w[0] - t * e[0], w[1] - t * e[1]];
        d2 = d2.min(r[0] * r[0] + r[1] * r[1]);
        // Even–odd rule: count the edges a ray to +x crosses.
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0] + (p[1] - a[1]) / (b[1] - a[1]) * e[0] {
            inside = !inside;
        }
    }
    if inside {
        -d2.sqrt()
    } else {
        d2.sqrt()
    }
}

#[cfg(test)]
#[path = "geometry_tests.rs"]
pub(crate) mod tests;
