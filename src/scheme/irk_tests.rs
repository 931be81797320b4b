//! Tests of the Gauss–Legendre tableaus against closed forms and against the PINNs
//! repository's files in tests/data/irk/.

use super::*;
use miette::Diagnostic;
use std::path::{Path, PathBuf};
use thiserror::Error;

impl Tableau {
    /// The entry a_ij (0-based).
    fn a(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.q + j]
    }
}

/// Why a tableau file could not be read.
#[derive(Debug, Error, Diagnostic)]
enum TableauError {
    #[error("cannot read tableau file `{}`", path.display())]
    #[diagnostic(code(pdenet::scheme::tableau_unreadable))]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("tableau file `{}`, line {line}: `{text}` is not a number", path.display())]
    #[diagnostic(code(pdenet::scheme::tableau_number))]
    NotANumber {
        path: PathBuf,
        line: usize,
        text: String,
    },

    #[error(
        "tableau file `{}` holds {count} numbers, but a q-stage tableau holds q² + 2q \
         (3, 8, 15, 24, …)",
        path.display()
    )]
    #[diagnostic(
        code(pdenet::scheme::tableau_count),
        help("the file lists A row by row, then b, then c, one number per line")
    )]
    WrongCount { path: PathBuf, count: usize },
}

/// Reads a Butcher tableau file in the PINNs repository's format: q² + 2q numbers, one
/// per line (A row-major, then b, then c); q is inferred from the count.
fn read_butcher(path: &Path) -> Result<Tableau, TableauError> {
    let text = std::fs::read_to_string(path).map_err(|source| TableauError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    parse_butcher(&text, path)
}

/// Parses the text of a tableau file; `path` only names it in errors.
fn parse_butcher(text: &str, path: &Path) -> Result<Tableau, TableauError> {
    let mut numbers = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for token in line.split_whitespace() {
            let value = token
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| TableauError::NotANumber {
                    path: path.to_path_buf(),
                    line: index + 1,
                    text: token.to_string(),
                })?;
            numbers.push(value);
        }
    }
    let count = numbers.len();
    // q² + 2q = (q + 1)² − 1.
    let root = ((count + 1) as f64).sqrt().round() as usize;
    if root < 2 || root * root != count + 1 {
        return Err(TableauError::WrongCount {
            path: path.to_path_buf(),
            count,
        });
    }
    let q = root - 1;
    let c = numbers.split_off(q * q + q);
    let b = numbers.split_off(q * q);
    Ok(Tableau {
        q,
        a: numbers,
        b,
        c,
    })
}

fn reference(q: usize) -> Tableau {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/irk")
        .join(format!("Butcher_IRK{q}.txt"));
    read_butcher(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn max_diff(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    x.iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

/// Measured maximum absolute differences from the reference files (A, b, c), before
/// the bounds asserted here:
///
/// | q   | A       | b       | c       |
/// |-----|---------|---------|---------|
/// | 1   | 0       | 0       | 0       |
/// | 2   | 1.1e-16 | 1.1e-16 | 2.8e-17 |
/// | 4   | 1.7e-16 | 5.6e-17 | 1.1e-16 |
/// | 8   | 1.4e-16 | 5.6e-17 | 1.1e-16 |
/// | 50  | 2.6e-16 | 5.8e-17 | 1.1e-16 |
/// | 100 | 3.5e-16 | 4.3e-17 | 1.1e-16 |
///
/// That is a few units in the last place: the files are correctly rounded to about 20
/// digits, so these are our own rounding errors.
#[test]
fn matches_reference_files() {
    // (q, bound on A, bound on b, bound on c)
    let cases = [
        (1, 0.0, 0.0, 0.0),
        (2, 2e-16, 2e-16, 1e-16),
        (4, 2.5e-16, 1e-16, 2e-16),
        (8, 2.5e-16, 1e-16, 2e-16),
        (50, 4e-16, 1e-16, 2e-16),
        (100, 5e-16, 1e-16, 2e-16),
    ];
    for (q, bound_a, bound_b, bound_c) in cases {
        let want = reference(q);
        let got = gauss_legendre(q);
        assert_eq!(want.q, q);
        let (da, db, dc) = (
            max_diff(&got.a, &want.a),
            max_diff(&got.b, &want.b),
            max_diff(&got.c, &want.c),
        );
        println!("q = {q:3}: max |ΔA| = {da:.2e}, |Δb| = {db:.2e}, |Δc| = {dc:.2e}");
        assert!(da <= bound_a, "q = {q}: A differs by {da:e}");
        assert!(db <= bound_b, "q = {q}: b differs by {db:e}");
        assert!(dc <= bound_c, "q = {q}: c differs by {dc:e}");
    }
}

#[test]
fn row_sums_are_nodes_and_weights_sum_to_one() {
    for q in [1, 2, 3, 5, 8, 17, 50, 100, 200] {
        let t = gauss_legendre(q);
        let sum_b: f64 = t.b.iter().sum();
        assert!((sum_b - 1.0).abs() < 1e-14, "q = {q}: Σb = {sum_b}");
        for i in 0..q {
            let row: f64 = (0..q).map(|j| t.a(i, j)).sum();
            assert!((row - t.c[i]).abs() < 1e-14, "q = {q}, row {i}");
        }
        assert!(
            t.c.windows(2).all(|w| w[0] < w[1]),
            "q = {q}: c not increasing"
        );
        assert!(t.c[0] > 0.0 && t.c[q - 1] < 1.0);
    }
}

/// b_j are the Gauss weights halved, and Σ_j b_j c_j^k = 1/(k+1) for k < 2q (order 2q).
#[test]
fn quadrature_is_exact_to_degree_2q_minus_1() {
    for q in [1, 2, 3, 4, 7, 12] {
        let t = gauss_legendre(q);
        for k in 0..2 * q {
            let s: f64 =
                t.b.iter()
                    .zip(&t.c)
                    .map(|(b, c)| b * c.powi(k as i32))
                    .sum();
            assert!(
                (s - 1.0 / (k as f64 + 1.0)).abs() < 1e-14,
                "q = {q}, k = {k}"
            );
        }
        // Stage order q: Σ_j a_ij c_j^k = c_i^{k+1}/(k+1) for k < q.
        for i in 0..q {
            for k in 0..q {
                let s: f64 = (0..q).map(|j| t.a(i, j) * t.c[j].powi(k as i32)).sum();
                let exact = t.c[i].powi(k as i32 + 1) / (k as f64 + 1.0);
                assert!((s - exact).abs() < 1e-14, "q = {q}, i = {i}, k = {k}");
            }
        }
    }
}

#[test]
fn one_stage_is_the_midpoint_rule() {
    let t = gauss_legendre(1);
    assert_eq!(
        (t.a.as_slice(), t.b.as_slice(), t.c.as_slice()),
        (&[0.5][..], &[1.0][..], &[0.5][..])
    );
}

#[test]
fn three_stages_match_the_closed_form() {
    let t = gauss_legendre(3);
    let r = 15f64.sqrt();
    let c = [0.5 - r / 10.0, 0.5, 0.5 + r / 10.0];
    let b = [5.0 / 18.0, 4.0 / 9.0, 5.0 / 18.0];
    #[rustfmt::skip]
    let a = [
        5.0 / 36.0,            2.0 / 9.0 - r / 15.0, 5.0 / 36.0 - r / 30.0,
        5.0 / 36.0 + r / 24.0, 2.0 / 9.0,            5.0 / 36.0 - r / 24.0,
        5.0 / 36.0 + r / 30.0, 2.0 / 9.0 + r / 15.0, 5.0 / 36.0,
    ];
    let (da, db, dc) = (max_diff(&t.a, &a), max_diff(&t.b, &b), max_diff(&t.c, &c));
    println!("q = 3 closed form: |ΔA| = {da:.1e}, |Δb| = {db:.1e}, |Δc| = {dc:.1e}");
    assert!(da < 3e-16 && db < 3e-16 && dc < 3e-16);
}

#[test]
fn two_stage_reference_file_parses() {
    let t = reference(2);
    assert_eq!(t.q, 2);
    assert_eq!(t.a(0, 0), 0.25);
    assert_eq!(t.b, [0.5, 0.5]);
}

#[test]
fn bad_tableau_files_are_errors() {
    let p = Path::new("bad.txt");
    assert!(matches!(
        parse_butcher("1\n2\n3\n4", p),
        Err(TableauError::WrongCount { count: 4, .. })
    ));
    assert!(matches!(
        parse_butcher("", p),
        Err(TableauError::WrongCount { count: 0, .. })
    ));
    match parse_butcher("0.5\n1.\nx7\n", p) {
        Err(TableauError::NotANumber { line: 3, text, .. }) => assert_eq!(text, "x7"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_butcher("0.5\nNaN\n0.5", p),
        Err(TableauError::NotANumber { .. })
    ));
    let missing = read_butcher(Path::new("/nonexistent/Butcher_IRK3.txt"));
    assert!(matches!(missing, Err(TableauError::Unreadable { .. })));
    // Exponent form and a trailing dot both parse, as in the reference files.
    let t = parse_butcher("5e-1\n1.\n.5", p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((t.a, t.b, t.c), (vec![0.5], vec![1.0], vec![0.5]));
}
