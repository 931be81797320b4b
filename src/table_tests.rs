//! The interpolant against the functions it was sampled from: exact on the grid
//! and on linear functions (the layout of the coefficients in every dimension), and
//! close, with its derivatives, on smooth ones.

use super::*;

fn axis(k: usize, start: f64, end: f64, n: usize) -> Axis {
    Axis {
        coord: CoordId(k),
        start,
        step: (end - start) / (n - 1) as f64,
        n,
    }
}

/// The table of f sampled on `axes` (first axis fastest).
fn sampled(axes: Vec<Axis>, f: &dyn Fn(&[f64]) -> f64) -> Table {
    let total: usize = axes.iter().map(|a| a.n).product();
    let values: Vec<f64> = (0..total)
        .map(|mut p| {
            let x: Vec<f64> = axes
                .iter()
                .map(|a| {
                    let i = p % a.n;
                    p /= a.n;
                    a.start + a.step * i as f64
                })
                .collect();
            f(&x)
        })
        .collect();
    Table::new("a".into(), axes, &values)
}

/// A deterministic point of [lo, hi) for index i.
fn at(i: usize, k: usize, lo: f64, hi: f64) -> f64 {
    let u = ((i * 7919 + k * 104_729) as f64 * 0.618_033_988_749_895).fract();
    lo + (hi - lo) * u
}

#[test]
fn grid_values_are_reproduced() {
    let t = sampled(vec![axis(0, 0.0, 2.0, 9), axis(1, -1.0, 1.0, 6)], &|x| {
        (3.0 * x[0]).sin() * x[1].exp()
    });
    for i in 0..9 {
        for j in 0..6 {
            let x = [i as f64 * 0.25, -1.0 + j as f64 * 0.4];
            let want = (3.0 * x[0]).sin() * x[1].exp();
            assert!((t.eval(&x, &[0, 0]) - want).abs() < 1e-12, "at {x:?}");
        }
    }
}

#[test]
fn linear_functions_are_exact_in_three_dimensions() {
    let f = |x: &[f64]| 1.0 + x[0] + 2.0 * x[1] - 3.0 * x[2];
    let t = sampled(
        vec![
            axis(0, 0.0, 1.0, 5),
            axis(1, -2.0, 2.0, 6),
            axis(2, 0.5, 1.5, 7),
        ],
        &f,
    );
    for i in 0..50 {
        let x = [at(i, 0, 0.0, 1.0), at(i, 1, -2.0, 2.0), at(i, 2, 0.5, 1.5)];
        assert!((t.eval(&x, &[0, 0, 0]) - f(&x)).abs() < 1e-12);
        assert!((t.eval(&x, &[1, 0, 0]) - 1.0).abs() < 1e-11);
        assert!((t.eval(&x, &[0, 1, 0]) - 2.0).abs() < 1e-11);
        assert!((t.eval(&x, &[0, 0, 1]) + 3.0).abs() < 1e-11);
        assert!(t.eval(&x, &[1, 1, 0]).abs() < 1e-10);
        assert!(t.eval(&x, &[0, 0, 2]).abs() < 1e-9);
    }
}

#[test]
fn smooth_functions_and_their_derivatives_are_close() {
    // f = sin(x)·cos(2y) + x·y on [0, 2] × [−1, 1], 81 × 81 (h = 0.025).
    let t = sampled(vec![axis(0, 0.0, 2.0, 81), axis(1, -1.0, 1.0, 81)], &|x| {
        x[0].sin() * (2.0 * x[1]).cos() + x[0] * x[1]
    });
    let mut worst = [0.0f64; 4];
    for i in 0..400 {
        // Away from the ends, where the natural end conditions (f'' = 0) are wrong
        // for this f and cost accuracy within a few cells.
        let x = [at(i, 0, 0.3, 1.7), at(i, 1, -0.7, 0.7)];
        let (s, c) = (x[0].sin(), (2.0 * x[1]).cos());
        let exact = [
            s * c + x[0] * x[1],
            x[0].cos() * c + x[1],
            -x[0].cos() * 2.0 * (2.0 * x[1]).sin() + 1.0,
            -s * c,
        ];
        let got = [
            t.eval(&x, &[0, 0]),
            t.eval(&x, &[1, 0]),
            t.eval(&x, &[1, 1]),
            t.eval(&x, &[2, 0]),
        ];
        for k in 0..4 {
            worst[k] = worst[k].max((got[k] - exact[k]).abs());
        }
    }
    // Cubic splines: O(h⁴) values, O(h³) first and O(h²) second derivatives.
    assert!(worst[0] < 1e-6, "value {worst:?}");
    assert!(worst[1] < 1e-4, "u_x {worst:?}");
    assert!(worst[2] < 1e-3, "u_xy {worst:?}");
    assert!(worst[3] < 1e-2, "u_xx {worst:?}");
}

#[test]
fn derivatives_match_finite_differences_of_the_interpolant() {
    let t = sampled(vec![axis(0, 0.0, 1.0, 7), axis(1, 0.0, 3.0, 5)], &|x| {
        (4.0 * x[0]).cos() + x[1] * x[1] * x[0]
    });
    let h = 1e-5;
    for i in 0..40 {
        let x = [at(i, 0, 0.0, 1.0), at(i, 1, 0.0, 3.0)];
        for (k, d) in [[1u8, 0], [0, 1]].iter().enumerate() {
            let mut lo = x;
            let mut hi = x;
            lo[k] -= h;
            hi[k] += h;
            let fd = (t.eval(&hi, &[0, 0]) - t.eval(&lo, &[0, 0])) / (2.0 * h);
            assert!((t.eval(&x, d) - fd).abs() < 1e-6, "d{k} at {x:?}");
        }
        let mut lo = x;
        let mut hi = x;
        lo[0] -= h;
        hi[0] += h;
        let fd2 = (t.eval(&hi, &[1, 0]) - t.eval(&lo, &[1, 0])) / (2.0 * h);
        assert!((t.eval(&x, &[2, 0]) - fd2).abs() < 1e-4, "d2 at {x:?}");
    }
}

#[test]
fn derivatives_along_other_coordinates_are_zero_columns() {
    let t = sampled(vec![axis(1, 0.0, 1.0, 4)], &|x| 2.0 * x[0] + 1.0);
    assert_eq!(t.orders(&[0, 2, 0]), Some(vec![2]));
    assert_eq!(t.orders(&[1, 0, 0]), None);
    let coords = vec![vec![0.3, 0.4], vec![0.5, 0.25], vec![0.0, 0.0]];
    let col = t.column(&coords, &[0, 0, 0]).expect("a column");
    assert!((col[0] - 2.0).abs() < 1e-12 && (col[1] - 1.5).abs() < 1e-12);
    assert!(t.column(&coords, &[0, 0, 1]).is_none());
}

/// −∇·(a∇u) with a written as a formula and as a table sampled from it on an 81 × 61
/// grid: the whole chain (the `table` block, `d(a·u_x, x)` expanded to a_x·u_x +
/// a·u_xx, the columns the points carry) gives the same loss terms and gradient to
/// the interpolation's accuracy (1e-4 relative: the natural ends cost some near
/// x = 0 and 1, where a_xx = 2y is not 0).
#[test]
fn a_table_in_a_residual_matches_the_formula_it_samples() {
    let dir = std::env::temp_dir().join(format!("pdenet-table-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let (nx, ny) = (81, 61);
    let xs: Vec<f64> = (0..nx).map(|i| i as f64 / (nx - 1) as f64).collect();
    let ys: Vec<f64> = (0..ny).map(|j| 2.0 * j as f64 / (ny - 1) as f64).collect();
    let a = |x: f64, y: f64| 1.0 + x * x * y + 0.5 * (2.0 * y).sin();
    let values: Vec<f64> = (0..nx * ny).map(|p| a(xs[p % nx], ys[p / nx])).collect();
    let file = crate::io::matwrite::write_shaped(&[
        ("xg".into(), vec![nx, 1], &xs),
        ("yg".into(), vec![ny, 1], &ys),
        ("A".into(), vec![nx, ny], &values),
    ]);
    std::fs::write(dir.join("coef.mat"), file).expect("written");
    let text = |coefficient: &str| {
        format!(
            "domain x ∈ [0, 1], y ∈ [0, 2]\nfield u(x, y)\n{coefficient}\n\
             equation d(a*u_x, x) + d(a*u_y, y) = 1\nboundary a*u = 0 on x = 0\n\
             network mlp(width = 8, depth = 2)\nsample collocation 300, boundary 40\n"
        )
    };
    let opts = crate::check::Options {
        name: "t".into(),
        base_dir: Some(dir.clone()),
        ..Default::default()
    };
    let evaluate = |text: &str| {
        let p = crate::pipeline::front_end(text, &opts)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .problem;
        let kernel = crate::kernel::compile(&p).expect("compiles");
        let data = crate::train::points::load(&p).expect("no data files");
        let batches = crate::train::points::sample(&p, &data, 3);
        let theta = crate::net::init_theta(&p, 5);
        (p, kernel.eval(&theta, &batches).expect("evaluates"))
    };
    let (_, formula) = evaluate(&text("let a = 1 + x^2*y + 0.5*sin(2*y)"));
    let (p, table) = evaluate(&text("table \"coef.mat\" { x = xg, y = yg, a = A[x, y] }"));
    std::fs::remove_dir_all(&dir).ok();
    // The equation's points read a, a_x, a_y; the boundary's a alone.
    let uses: Vec<usize> = p.point_sets.iter().map(|s| s.tables.len()).collect();
    assert_eq!(uses, [3, 1], "{:?}", p.point_sets);
    for (f, t) in formula.terms.iter().zip(&table.terms) {
        assert!(
            (f - t).abs() <= 1e-4 * f.abs().max(1e-3),
            "terms {f} vs {t}"
        );
    }
    let scale = formula.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (f, t) in formula.grad.iter().zip(&table.grad) {
        assert!((f - t).abs() <= 1e-4 * scale, "gradient {f} vs {t}");
    }
}

#[test]
fn cells_are_constant_per_cell_with_zero_derivatives() {
    // 2 cells along x (coordinate 0) by 3 along y (coordinate 1), first axis fastest.
    let axes = vec![
        Axis {
            coord: CoordId(0),
            start: 0.0,
            step: 0.5,
            n: 2,
        },
        Axis {
            coord: CoordId(1),
            start: -3.0,
            step: 2.0,
            n: 3,
        },
    ];
    let t = Table::cells("a".into(), axes, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let coords = vec![
        vec![0.1, 0.9, 0.1, 0.6, 0.49, 1.2],
        vec![-2.5, -2.5, 0.5, 2.9, -1.01, 9.0],
    ];
    let col = t.column(&coords, &[0, 0]).expect("values");
    // The last two: a point on the edge of a cell, and one beyond the grid (the
    // edge cell continues).
    assert_eq!(col, [1.0, 2.0, 3.0, 6.0, 1.0, 6.0]);
    assert_eq!(t.orders(&[1, 0]), None);
    assert!(t.column(&coords, &[0, 1]).is_none());
}

/// The spline KAN layers' basis is the stdlib's `bspline3`, the tables' is `basis`:
/// one cubic B-spline, checked equal wherever it is evaluated (at t in a cell, the
/// four pieces are B(t + 1), B(t), B(t − 1), B(t − 2); beyond |z| = 2 it is zero).
#[test]
fn the_stdlib_bspline3_is_the_tables_basis() {
    let src = "domain x ∈ [-3, 3]\nfield u(x)\nequation u_xx = 0\n\
               network mlp(width = 2, depth = 1)\n\
               reference u = bspline3(x) sample 500\n";
    let c = crate::pipeline::front_end(src, &Default::default()).expect("checks");
    let set = &c.problem.datasets[c.problem.reference.expect("a reference")];
    let (xs, bs) = (
        &set.arrays.get("x").expect("x").real,
        &set.arrays.get("u").expect("u").real,
    );
    assert_eq!(xs.len(), 500);
    for (&z, &b) in xs.iter().zip(bs) {
        let want = if z.abs() >= 2.0 {
            0.0
        } else {
            let k = 1 - z.floor() as i64;
            basis(z + k as f64 - 1.0, 0)[k as usize]
        };
        assert!((b - want).abs() < 1e-14, "B({z}) = {b}, the tables' {want}");
    }
}
