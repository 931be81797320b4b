//! `shape` statements and `domain (x, y) ∈ SHAPE`: shapes from the AST to
//! [`geometry::Shape`], with a diagnostic for every wrong argument and for shapes
//! that are empty or degenerate.

use super::Checker;
use crate::diag::{suggest, Diag};
use crate::geometry::{self, Shape};
use crate::problem::Region;
use crate::syntax::ast::{self, ShapeArg, ShapeKind, ShapeOp, Span};

/// The primitives and how each is written.
const PRIMITIVES: [(&str, &str); 5] = [
    (
        "rectangle",
        "rectangle([x0, y0], [x1, y1]): lower and upper corners",
    ),
    (
        "box",
        "box([lo…], [hi…]): lower and upper corners, any dimension",
    ),
    ("disk", "disk([cx, cy], r): center and radius"),
    ("ball", "ball([c…], r): center and radius, any dimension"),
    (
        "polygon",
        "polygon([x0, y0], [x1, y1], [x2, y2], …): three or more vertices in order",
    ),
];

impl Checker<'_> {
    /// A shape expression; `None` after reporting an error.
    pub(crate) fn shape(&mut self, e: &ast::ShapeExpr) -> Option<Shape> {
        match &e.kind {
            ShapeKind::Name(n) => self.named_shape(n),
            ShapeKind::Call(f, args) => self.primitive(f, args, e.span),
            ShapeKind::Op(op, a, b) => {
                let (a, b) = (self.shape(a), self.shape(b));
                let (a, b) = (a?, b?);
                if a.dim() != b.dim() {
                    self.error(
                        Diag::error(
                            "pdenet::check::shape_dimensions",
                            format!(
                                "a set operation on a {}-D and a {}-D shape",
                                a.dim(),
                                b.dim()
                            ),
                        )
                        .label(e.span, "the two sides live in different dimensions")
                        .help("combine shapes of the same dimension"),
                    );
                    return None;
                }
                let (a, b) = (Box::new(a), Box::new(b));
                Some(match op {
                    ShapeOp::Union => Shape::Union(a, b),
                    ShapeOp::Intersection => Shape::Intersection(a, b),
                    ShapeOp::Difference => Shape::Difference(a, b),
                })
            }
        }
    }

    fn named_shape(&mut self, n: &ast::Ident) -> Option<Shape> {
        if let Some(s) = self.decls.shapes.iter().find(|s| s.name == n.name) {
            // An error in the named shape was reported where it was declared.
            return s.shape.clone();
        }
        let names: Vec<&str> = self.decls.shapes.iter().map(|s| s.name.as_str()).collect();
        let d = Diag::error(
            "pdenet::check::unknown_shape",
            format!("unknown shape `{}`", n.name),
        )
        .label(n.span, "not a shape declared above");
        let d = match suggest(&n.name, names) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(
                "declare it first with `shape NAME = disk([0, 0], 1)`, or write a primitive here",
            ),
        };
        self.error(d);
        None
    }

    fn primitive(&mut self, f: &ast::Ident, args: &[ShapeArg], at: Span) -> Option<Shape> {
        let Some(&(name, usage)) = PRIMITIVES.iter().find(|(p, _)| *p == f.name) else {
            let d = Diag::error(
                "pdenet::check::unknown_shape",
                format!("unknown shape `{}`", f.name),
            )
            .label(f.span, "not a primitive shape");
            let d = match suggest(&f.name, PRIMITIVES.iter().map(|p| p.0)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("the primitives are rectangle, box, disk, ball and polygon"),
            };
            self.error(d);
            return None;
        };
        let wrong = |cx: &mut Self, why: &str| {
            cx.error(
                Diag::error(
                    "pdenet::check::shape_arguments",
                    format!("wrong arguments to `{name}`: {why}"),
                )
                .label(at, why.to_string())
                .help(format!("write {usage}")),
            );
            None
        };
        let mut points = Vec::new();
        let mut numbers = Vec::new();
        for a in args {
            match a {
                ShapeArg::Point(es, _) => {
                    let v: Option<Vec<f64>> = es
                        .iter()
                        .map(|e| self.constant(e, "a coordinate of a point"))
                        .collect();
                    points.push(v?);
                }
                ShapeArg::Number(e) => numbers.push(self.constant(e, "a radius")?),
            }
        }
        match name {
            "rectangle" | "box" => {
                let [lo, hi] = &points[..] else {
                    return wrong(self, "two corner points are needed");
                };
                if !numbers.is_empty()
                    || lo.len() != hi.len()
                    || (name == "rectangle" && lo.len() != 2)
                {
                    return wrong(self, "two corner points of the same dimension are needed");
                }
                if let Some(k) = (0..lo.len()).find(|&k| lo[k] >= hi[k]) {
                    let fix: (Vec<f64>, Vec<f64>) = lo
                        .iter()
                        .zip(hi)
                        .map(|(a, b)| (a.min(*b), a.max(*b)))
                        .unzip();
                    self.error(
                        Diag::error(
                            "pdenet::check::empty_shape",
                            format!("the {name} is empty along axis {}", k + 1),
                        )
                        .label(
                            at,
                            format!(
                                "lower corner {} ≥ upper corner {} on that axis",
                                lo[k], hi[k]
                            ),
                        )
                        .help(format!(
                            "write {name}({:?}, {:?}) with the lower corner first",
                            fix.0, fix.1
                        )),
                    );
                    return None;
                }
                Some(Shape::Box {
                    lo: lo.clone(),
                    hi: hi.clone(),
                })
            }
            "disk" | "ball" => {
                let ([center], [radius]) = (&points[..], &numbers[..]) else {
                    return wrong(self, "a center point and a radius are needed");
                };
                if name == "disk" && center.len() != 2 {
                    return wrong(
                        self,
                        "a disk's center has two coordinates (use `ball` in other dimensions)",
                    );
                }
                if *radius <= 0.0 {
                    self.error(
                        Diag::error(
                            "pdenet::check::empty_shape",
                            format!("the {name}'s radius is {radius}"),
                        )
                        .label(at, "a radius must be positive")
                        .help(format!("write {usage}")),
                    );
                    return None;
                }
                Some(Shape::Ball {
                    center: center.clone(),
                    radius: *radius,
                })
            }
            _ => self.polygon(&points, !numbers.is_empty(), at, usage),
        }
    }

    /// A polygon's vertices, counter-clockwise; an error for fewer than three,
    /// a zero area or crossing edges.
    fn polygon(
        &mut self,
        points: &[Vec<f64>],
        numbers: bool,
        at: Span,
        usage: &str,
    ) -> Option<Shape> {
        let bad = |cx: &mut Self, what: String| {
            cx.error(
                Diag::error(
                    "pdenet::check::degenerate_shape",
                    format!("the polygon {what}"),
                )
                .label(at, what.clone())
                .help(format!("write {usage}")),
            );
            None
        };
        if numbers || points.len() < 3 || points.iter().any(|p| p.len() != 2) {
            return bad(
                self,
                "needs three or more vertices [x, y] and nothing else".into(),
            );
        }
        let mut v: Vec<[f64; 2]> = points.iter().map(|p| [p[0], p[1]]).collect();
        let area = geometry::signed_area(&v);
        let (lo, hi) = Shape::Polygon {
            vertices: v.clone(),
        }
        .bounds();
        let scale = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        if area.abs() <= 1e-12 * scale * scale {
            return bad(self, "has zero area".into());
        }
        if let Some((i, j)) = crossing_edges(&v) {
            return bad(
                self,
                format!(
                    "has crossing edges: {} and {} (counting from 1)",
                    i + 1,
                    j + 1
                ),
            );
        }
        if area < 0.0 {
            v.reverse();
        }
        Some(Shape::Polygon { vertices: v })
    }

    /// `(x, y) ∈ SHAPE`: declares the coordinates on the shape's bounding box.
    pub(crate) fn region(&mut self, r: &ast::Region) {
        let shape = self.shape(&r.shape);
        if self.decls.region.is_some() {
            self.error(
                Diag::error("pdenet::check::two_regions", "the domain has two shapes")
                    .label(r.span, "a second `(…) ∈ shape`")
                    .help("combine them into one shape with ∪, ∩ or −"),
            );
        }
        let (lo, hi) = match &shape {
            Some(s) if s.dim() == r.coords.len() => s.bounds(),
            Some(s) => {
                self.error(
                    Diag::error(
                        "pdenet::check::shape_dimensions",
                        format!("{} coordinates in a {}-D shape", r.coords.len(), s.dim()),
                    )
                    .label(r.span, "one coordinate per axis of the shape")
                    .help(format!("list {} coordinates before ∈", s.dim())),
                );
                (vec![0.0; r.coords.len()], vec![1.0; r.coords.len()])
            }
            None => (vec![0.0; r.coords.len()], vec![1.0; r.coords.len()]),
        };
        let coords = r
            .coords
            .iter()
            .enumerate()
            .map(|(k, c)| self.coordinate(c, lo[k], hi[k]))
            .collect();
        let Some(shape) = shape.filter(|s| s.dim() == r.coords.len()) else {
            return;
        };
        if !has_interior(&shape) {
            self.error(
                Diag::error("pdenet::check::empty_shape", "the domain's shape is empty")
                    .label(r.shape.span, "no point of its bounding box is inside")
                    .help("check the set operations: an intersection of disjoint shapes, or a difference that removes everything, is empty"),
            );
            return;
        }
        self.decls.region = Some(Region {
            coords,
            shape,
            pieces: Vec::new(),
        });
    }
}

/// Whether any of 20 000 uniform points of the shape's bounding box is inside (an
/// interior of under 0.005 % of the box is reported as empty, too small to sample).
fn has_interior(shape: &Shape) -> bool {
    shape.share_of_bounds(20_000) > 0.0
}

/// The first pair of non-adjacent edges of a polygon that intersect.
fn crossing_edges(v: &[[f64; 2]]) -> Option<(usize, usize)> {
    let n = v.len();
    let edge = |i: usize| (v[i], v[(i + 1) % n]);
    let side = |a: [f64; 2], b: [f64; 2], p: [f64; 2]| {
        (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    };
    for i in 0..n {
        for j in i + 2..n {
            if i == 0 && j == n - 1 {
                continue; // adjacent through the closing edge
            }
            let ((a, b), (c, d)) = (edge(i), edge(j));
            if side(a, b, c) * side(a, b, d) < 0.0 && side(c, d, a) * side(c, d, b) < 0.0 {
                return Some((i, j));
            }
        }
    }
    None
}
