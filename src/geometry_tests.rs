use super::*;
use rand::SeedableRng;
use std::f64::consts::PI;

pub(crate) fn disk(cx: f64, cy: f64, r: f64) -> Shape {
    Shape::Ball {
        center: vec![cx, cy],
        radius: r,
    }
}

pub(crate) fn rect(lo: [f64; 2], hi: [f64; 2]) -> Shape {
    Shape::Box {
        lo: lo.to_vec(),
        hi: hi.to_vec(),
    }
}

fn minus(a: Shape, b: Shape) -> Shape {
    Shape::Difference(Box::new(a), Box::new(b))
}

/// The volume of `s` by the fraction of uniform points of its bounding box inside.
fn sampled_volume(s: &Shape, n: usize, rng: &mut StdRng) -> f64 {
    let (lo, hi) = s.bounds();
    let inside = (0..n)
        .filter(|_| s.contains(&s.point_in_bounds(rng)))
        .count();
    let bbox: f64 = lo.iter().zip(&hi).map(|(l, h)| h - l).product();
    bbox * inside as f64 / n as f64
}

#[test]
fn sampled_volumes_match_the_exact_ones() {
    let mut rng = StdRng::seed_from_u64(7);
    // An L-shaped (non-convex) polygon: the unit square less its upper-right quarter.
    let l_shape = Shape::Polygon {
        vertices: vec![
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, 0.5],
            [0.5, 0.5],
            [0.5, 1.0],
            [0.0, 1.0],
        ],
    };
    // Two unit disks 1 apart overlap in a lens of area 2π/3 − √3/2.
    let lens = 2.0 * PI / 3.0 - 3f64.sqrt() / 2.0;
    let cases = [
        (disk(0.3, -0.2, 0.7), PI * 0.49),
        (l_shape.clone(), 0.75),
        (
            minus(rect([-1.0, -1.0], [1.0, 1.0]), disk(0.0, 0.0, 0.5)),
            4.0 - PI * 0.25,
        ),
        (
            Shape::Union(Box::new(disk(0.0, 0.0, 1.0)), Box::new(disk(1.0, 0.0, 1.0))),
            2.0 * PI - lens,
        ),
        (
            Shape::Intersection(Box::new(disk(0.0, 0.0, 1.0)), Box::new(disk(1.0, 0.0, 1.0))),
            lens,
        ),
        (
            Shape::Ball {
                center: vec![0.0; 5],
                radius: 1.0,
            },
            8.0 * PI * PI / 15.0,
        ),
    ];
    for (s, exact) in cases {
        assert!((s.volume().unwrap_or(exact) - exact).abs() < 1e-12, "{s:?}");
        let v = sampled_volume(&s, 400_000, &mut rng);
        assert!(
            (v - exact).abs() < 0.01 * exact,
            "{s:?}: sampled {v}, exact {exact}"
        );
    }
}

#[test]
fn planted_points_are_inside_or_outside() {
    let s = minus(rect([-0.5, -0.5], [0.5, 0.5]), disk(0.3, 0.3, 0.1));
    for (p, inside) in [
        ([0.0, 0.0], true),
        ([0.3, 0.3], false),
        ([0.3, 0.41], true),
        ([0.6, 0.0], false),
        ([0.5, 0.0], true), // on the boundary counts as inside
        ([0.3, 0.2], true),
    ] {
        assert_eq!(s.contains(&p), inside, "{p:?}");
    }
    let tri = Shape::Polygon {
        vertices: vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]],
    };
    assert!(tri.contains(&[0.2, 0.2]) && !tri.contains(&[0.6, 0.6]));
    assert!((tri.distance(&[0.6, 0.6]) - 0.2 / 2f64.sqrt()).abs() < 1e-12);
    assert!((tri.distance(&[0.1, 0.5]) + 0.1).abs() < 1e-12);
}

#[test]
fn boundary_points_lie_on_the_boundary_with_outward_normals() {
    let mut rng = StdRng::seed_from_u64(3);
    let hole = disk(0.3, 0.3, 0.1);
    let outer = rect([-0.5, -0.5], [0.5, 0.5]);
    let domain = minus(outer.clone(), hole.clone());
    let on_hole = domain
        .sample_boundary(&hole, 500, &mut rng)
        .expect("the hole's circle");
    for b in &on_hole {
        let r = [b.x[0] - 0.3, b.x[1] - 0.3];
        let len = (r[0] * r[0] + r[1] * r[1]).sqrt();
        assert!((len - 0.1).abs() < 1e-12, "{b:?}");
        // Outward from the domain is into the hole.
        assert!(
            (b.normal[0] + r[0] / len).abs() < 1e-12 && (b.normal[1] + r[1] / len).abs() < 1e-12
        );
    }
    let on_outer = domain
        .sample_boundary(&outer, 2000, &mut rng)
        .expect("the square");
    for b in &on_outer {
        let edge = (0..2)
            .find(|&k| (b.x[k].abs() - 0.5).abs() < 1e-12)
            .expect("on an edge");
        assert_eq!(b.normal[edge], b.x[edge].signum(), "{b:?}");
        assert_eq!(b.normal[1 - edge], 0.0);
    }
    // The whole boundary: points split between the square and the circle in
    // proportion to their lengths (4 and 0.2π).
    let all = domain
        .sample_boundary(&domain, 20_000, &mut rng)
        .expect("the boundary");
    let on_circle = all
        .iter()
        .filter(|b| b.x.iter().all(|v| v.abs() < 0.45))
        .count();
    let expected = 0.2 * PI / (4.0 + 0.2 * PI);
    let share = on_circle as f64 / all.len() as f64;
    assert!((share - expected).abs() < 0.01, "{share} vs {expected}");
    // A polygon, clockwise as written here: the checker orders vertices
    // counter-clockwise first, as this test does.
    let mut v = vec![[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]];
    if signed_area(&v) < 0.0 {
        v.reverse();
    }
    let tri = Shape::Polygon { vertices: v };
    for b in tri.sample_boundary(&tri, 300, &mut rng).expect("edges") {
        assert!(tri.distance(&b.x).abs() < 1e-12);
        let out: Vec<f64> =
            b.x.iter()
                .zip(&b.normal)
                .map(|(x, n)| x + 1e-3 * n)
                .collect();
        assert!(!tri.contains(&out), "{b:?}");
    }
}

#[test]
fn a_ball_in_five_dimensions_has_unit_normals_along_the_radius() {
    let mut rng = StdRng::seed_from_u64(11);
    let ball = Shape::Ball {
        center: vec![0.5; 5],
        radius: 2.0,
    };
    for b in ball
        .sample_boundary(&ball, 200, &mut rng)
        .expect("the sphere")
    {
        let r = sub(&b.x, &[0.5; 5]);
        assert!((norm(&r) - 2.0).abs() < 1e-12);
        assert!(r
            .iter()
            .zip(&b.normal)
            .all(|(r, n)| (r / 2.0 - n).abs() < 1e-12));
    }
}

#[test]
fn a_piece_off_the_boundary_has_no_points() {
    let mut rng = StdRng::seed_from_u64(5);
    let domain = rect([0.0, 0.0], [1.0, 1.0]);
    let outside = disk(3.0, 3.0, 0.5);
    assert!(domain.sample_boundary(&outside, 10, &mut rng).is_none());
}
