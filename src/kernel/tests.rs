//! Property and differential tests of the whole kernel: random networks of every layer
//! kind, random points, jets and gradients against finite differences.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::gradcheck::{gradcheck, gradcheck_with, GradcheckOptions};
use super::*;
use crate::expr::{Cmp, CoordId, Expr, Func, OutputId, ParamId};
use crate::net::init_theta;
use crate::net::testnets::{burgers, network};
use crate::primitive::{prime, Prime};
use crate::problem::*;

const KINDS: [&str; 6] = ["mlp", "qres", "apinn", "isc", "qsc", "weird"];

/// Random points for every point set of `p` (data columns and weights included).
fn batches(p: &Problem, n: usize, seed: u64) -> Vec<PointBatch> {
    random_batches(p, |_| 2, n, seed)
}

/// Random points in the domain (slices on their plane), `data(set)` random data
/// columns and random quadrature weights for every point set of `p`. The back ends'
/// tests share it.
pub(crate) fn random_batches(
    p: &Problem,
    data: impl Fn(usize) -> usize,
    n: usize,
    seed: u64,
) -> Vec<PointBatch> {
    let mut rng = StdRng::seed_from_u64(seed);
    p.point_sets
        .iter()
        .enumerate()
        .map(|(s, set)| {
            let mut coords: Vec<Vec<f64>> = p
                .coords
                .iter()
                .map(|c| (0..n).map(|_| rng.random_range(c.lo..c.hi)).collect())
                .collect();
            if let PointKind::Slice { coord, value, .. } = set.kind {
                coords[coord.0] = vec![value; n];
            }
            let data = (0..data(s))
                .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
                .collect();
            let weights = Some((0..n).map(|_| rng.random_range(0.0..0.1)).collect());
            PointBatch {
                coords,
                data,
                weights,
            }
        })
        .collect()
}

/// θ from the initializer, then jittered so zero biases cannot hide a missing term.
fn theta(p: &Problem, seed: u64) -> Vec<f64> {
    jittered_theta(p, seed, 0.2)
}

/// θ from the initializer plus uniform noise of size `by` (shared with the back
/// ends' tests).
pub(crate) fn jittered_theta(p: &Problem, seed: u64, by: f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    init_theta(p, seed)
        .into_iter()
        .map(|x| x + by * rng.random_range(-1.0..1.0))
        .collect()
}

fn u(d: [u8; 2]) -> Expr {
    Expr::out(OutputId(0), d.to_vec())
}

/// A problem whose residual needs jets up to 4th order, mixed ones included.
fn high_order(kind: &str) -> Problem {
    let mut p = burgers(kind, 5, 2);
    p.networks = vec![network(kind, 2, 5, 2, 1)];
    let r = Expr::add(
        Expr::add(u([4, 0]), Expr::mul(u([2, 1]), u([1, 3]))),
        Expr::add(
            Expr::mul(u([2, 2]), u([0, 1])),
            Expr::sub(u([1, 1]), u([0, 0])),
        ),
    );
    p.terms[0].residuals = vec![Expr::mul(Expr::num(0.1), r)];
    p
}

fn check(p: &Problem, tol: f64) {
    let th = theta(p, 7);
    let opts = GradcheckOptions {
        tolerance: tol,
        max_points: 12,
        ..GradcheckOptions::default()
    };
    let report = gradcheck(p, &th, &batches(p, 12, 3), &opts).expect("gradcheck runs");
    assert!(report.passed(), "{}:\n{report}", p.networks[0].kind);
}

#[test]
fn jets_and_gradients_of_every_layer_kind_match_finite_differences() {
    for kind in KINDS {
        check(&burgers(kind, 5, 2), 1e-6);
        check(&high_order(kind), 1e-6);
    }
}

/// The stdlib's layer kinds that exist only in the language (no hand-written twin in
/// `testnets`): recurrences, families, per-edge tensors and shifts. B-spline KANs
/// are piecewise polynomials: finite differences are only checked where the loss is
/// smooth, so the cubic one is left to the order-2 test below and the quintic one
/// (C⁴) to order-2 residuals here.
const STDLIB_KINDS: [&str; 5] = ["cheb_kan", "fourier_kan", "qkan", "pde2", "stencil3"];

/// A 2 → 5 → 5 → 5 → 1 network of a stdlib kind over (x, t), as `check` builds it.
fn stdlib_network(kind: &str) -> Network {
    let src = format!(
        "domain x ∈ [-1, 1], t ∈ [0, 1]\nfield u(x, t)\nequation u_t = u_xx\n\
         network {kind}(width = 5, depth = 3, activation = tanh)\n"
    );
    let compiled = crate::pipeline::front_end(&src, &Default::default());
    compiled.expect("the stdlib kind checks").problem.networks[0].clone()
}

#[test]
fn jets_and_gradients_of_the_stdlib_only_kinds_match_finite_differences() {
    for kind in STDLIB_KINDS {
        let net = stdlib_network(kind);
        let mut p = burgers("mlp", 5, 2);
        p.networks = vec![net.clone()];
        check(&p, 1e-6);
        let mut p = high_order("mlp");
        p.networks = vec![net];
        check(&p, 1e-6);
    }
    let mut p = burgers("mlp", 5, 2);
    p.networks = vec![stdlib_network("bspline5_kan")];
    check(&p, 1e-5);
    // The cubic spline is C²: a first-order residual keeps the loss C¹ in θ with a
    // continuous gradient.
    p.networks = vec![stdlib_network("bspline_kan")];
    p.terms[0].residuals = vec![Expr::add(u([0, 1]), Expr::mul(u([0, 0]), u([1, 0])))];
    check(&p, 1e-5);
}

/// The real table but for tanh' = 1 − y²/1.1: the jets' first derivatives are
/// wrong while the values, which the finite differences see, stay right.
fn wrong_tanh(f: Func) -> &'static Prime {
    use Prime::*;
    match f {
        Func::Tanh => &Sub(&Num(1.0), &Div(&Square(&Value), &Num(1.1))),
        f => prime(f),
    }
}

#[test]
fn deliberately_wrong_jet_rule_fails_gradcheck() {
    let p = high_order("mlp");
    let th = theta(&p, 7);
    let opts = GradcheckOptions::default();
    let report = gradcheck_with(&p, &th, &batches(&p, 8, 3), &opts, wrong_tanh);
    let report = report.expect("gradcheck runs");
    assert!(!report.passed(), "{report}");
}

/// Params (plain and positive), an integral term with weights, data, `if`, a real
/// power, every function, and a second evaluation site.
fn everything() -> Problem {
    let mut p = burgers("qres", 4, 2);
    p.params = vec![
        Param {
            name: "λ1".into(),
            init: 0.3,
            positive: false,
            exact: None,
        },
        Param {
            name: "λ2".into(),
            init: 0.05,
            positive: true,
            exact: None,
        },
    ];
    let f = |f, e| Expr::call(f, e);
    let s = Expr::add(
        Expr::mul(Expr::Param(ParamId(0)), u([1, 0])),
        Expr::mul(Expr::Param(ParamId(1)), u([2, 0])),
    );
    let g = Expr::add(
        Expr::add(f(Func::Sin, u([0, 1])), f(Func::Cos, u([0, 0]))),
        Expr::add(
            f(
                Func::Log,
                Expr::add(Expr::num(2.0), f(Func::Tanh, u([0, 0]))),
            ),
            f(Func::Abs, u([1, 0])),
        ),
    );
    let h = Expr::add(
        Expr::pow(f(Func::Exp, u([0, 0])), Expr::num(1.5)),
        f(
            Func::Sqrt,
            Expr::add(Expr::num(1.0), Expr::mul(u([0, 0]), u([0, 0]))),
        ),
    );
    let iff = Expr::If(
        Cmp::Gt,
        Box::new(Expr::Coord(CoordId(0))),
        Box::new(Expr::num(0.0)),
        Box::new(u([0, 0])),
        Box::new(Expr::Data(1)),
    );
    p.terms[0].residuals = vec![s, Expr::mul(Expr::num(0.1), g), Expr::sub(h, iff)];
    p.point_sets[1].sites = vec![(CoordId(0), -1.0)];
    p.terms[1].residuals = vec![Expr::sub(
        u([0, 0]),
        Expr::Out {
            output: OutputId(0),
            deriv: vec![0, 0],
            site: 1,
        },
    )];
    p.terms.push(LossTerm {
        name: "constraint".into(),
        points: 0,
        residuals: vec![Expr::mul(u([0, 0]), u([0, 0]))],
        weight: 0.5,
        reduce: Reduce::Integral { target: 1.0 },
    });
    p
}

#[test]
fn params_integrals_sites_and_functions_pass_gradcheck() {
    check(&everything(), 1e-6);
}

#[test]
fn positive_param_gradient_is_with_respect_to_its_log() {
    let p = everything();
    let th = theta(&p, 1);
    let k = compile(&p).expect("compiles");
    let e = k.eval(&th, &batches(&p, 20, 5)).expect("evaluates");
    let last = th.len() - 1;
    let mut t2 = th.clone();
    t2[last] += 1e-6;
    let fd = (k.loss(&t2, &batches(&p, 20, 5)).unwrap() - e.total) / 1e-6;
    assert!(
        (fd - e.grad[last]).abs() <= 1e-4 * fd.abs().max(1e-8),
        "{fd} vs {}",
        e.grad[last]
    );
}

#[test]
fn f32_interpreter_agrees_with_f64() {
    for kind in ["qres", "mlp"] {
        let p = burgers(kind, 10, 4);
        let (th, b) = (theta(&p, 2), batches(&p, 300, 9));
        let k = compile(&p).expect("compiles");
        let (e64, e32) = (k.eval(&th, &b).unwrap(), k.eval_as::<f32>(&th, &b).unwrap());
        // Stated tolerance: loss to 1e-4 relative, gradient to 1e-3 of its largest entry.
        assert!(
            (e64.total - e32.total).abs() <= 1e-4 * e64.total,
            "{} vs {}",
            e64.total,
            e32.total
        );
        let gmax = e64.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
        for (a, b) in e64.grad.iter().zip(&e32.grad) {
            assert!((a - b).abs() <= 1e-3 * gmax, "{a} vs {b}");
        }
    }
}

#[test]
fn gradient_costs_at_most_four_times_the_loss() {
    for kind in KINDS {
        let k = compile(&burgers(kind, 10, 8)).expect("compiles");
        for set in &k.programs {
            let s = passes::stats(&set.program, &set.info);
            assert!(
                s.gradient_ratio(None) <= 4.0,
                "{kind}: ratio {:.2}",
                s.gradient_ratio(None)
            );
        }
    }
}

#[test]
fn terms_are_reduced_as_declared() {
    let p = burgers("qres", 4, 2);
    let k = compile(&p).expect("compiles");
    let th = theta(&p, 4);
    let b = batches(&p, 30, 1);
    let e = k.eval(&th, &b).unwrap();
    let u0 = predict(&p, &th, &b[1].coords, &[u([0, 0])]).unwrap();
    let mean: f64 = u0[0].iter().map(|x| x * x).sum::<f64>() / 30.0;
    assert!((e.terms[1] - mean).abs() < 1e-12 * mean.max(1.0));
    let ud = predict(&p, &th, &b[2].coords, &[u([0, 0])]).unwrap();
    let sum: f64 = ud[0]
        .iter()
        .zip(&b[2].data[0])
        .map(|(x, d)| (x - d).powi(2))
        .sum();
    assert!((e.terms[2] - sum).abs() < 1e-12 * sum.max(1.0));
    let total = e.terms[0] + e.terms[1] + 2.0 * e.terms[2];
    assert!((e.total - total).abs() < 1e-12 * total);
}

/// Causal weights (`Problem::causal`): the equation's term is Σ wₚ rₚ² / N over the
/// collocation points' weights, its gradient passes gradcheck, and weights of 1 give
/// the unweighted kernel's loss and gradient.
#[test]
fn causal_weights_weigh_the_equation_s_points() {
    let plain = burgers("mlp", 5, 2);
    let mut p = plain.clone();
    p.causal = Some(CausalSet {
        set: 0,
        time: CoordId(1),
    });
    check(&p, 1e-6);
    let th = theta(&p, 4);
    let mut b = batches(&p, 30, 1);
    let k = compile(&p).expect("compiles");
    let e = k.eval(&th, &b).expect("runs");
    let r = predict(&p, &th, &b[0].coords, &p.terms[0].residuals).expect("predicts");
    let w = b[0].weights.as_ref().expect("random weights");
    let want: f64 = r[0].iter().zip(w).map(|(r, w)| w * r * r).sum::<f64>() / 30.0;
    assert!(
        (e.terms[0] - want).abs() < 1e-12 * want,
        "{} vs {want}",
        e.terms[0]
    );
    b[0].weights = Some(vec![1.0; 30]);
    let ones = k.eval(&th, &b).expect("runs");
    let unweighted = compile(&plain)
        .expect("compiles")
        .eval(&th, &b)
        .expect("runs");
    assert!((ones.total - unweighted.total).abs() < 1e-14 * unweighted.total);
    for (a, b) in ones.grad.iter().zip(&unweighted.grad) {
        assert!((a - b).abs() < 1e-12 * b.abs().max(1e-3), "{a} vs {b}");
    }
}

#[test]
fn validate_rejects_broken_programs() {
    let k = compile(&burgers("qres", 4, 2)).expect("compiles");
    let mut prog = k.programs[0].program.clone();
    assert!(passes::validate(&prog).is_ok());
    // An operand that does not precede its use.
    let n = prog.ops.len() as u32;
    prog.ops[5] = ir::Op::Neg(ir::Value(n - 1));
    assert!(passes::validate(&prog).is_err());
    let mut prog = k.programs[0].program.clone();
    prog.types[3].width += 1;
    assert!(passes::validate(&prog).is_err());
}

#[test]
fn bad_batches_are_errors_not_panics() {
    let p = burgers("qres", 4, 2);
    let k = compile(&p).expect("compiles");
    let th = theta(&p, 4);
    let mut b = batches(&p, 10, 1);
    assert!(k.eval(&th[1..], &b).is_err());
    b[2].data.clear();
    assert!(matches!(k.eval(&th, &b), Err(KernelError::Batch(_))));
    assert!(k.eval(&th, &b[..2]).is_err());
}

#[test]
fn printer_shows_the_cost_header() {
    let p = burgers("qres", 10, 8);
    let text = compile(&p).expect("compiles").emit_ir(&p);
    assert!(text.contains("; FLOPs per point: forward"));
    assert!(text.contains("tape per point"));
    assert!(text.contains("reverse pass"));
}

/// `cargo test --release --lib kernel::tests::burgers_qres_numbers -- --ignored --nocapture`
#[test]
#[ignore]
fn burgers_qres_numbers() {
    let p = burgers("qres", 10, 8);
    let t0 = std::time::Instant::now();
    let k = compile(&p).expect("compiles");
    println!("compile: {:.3} s", t0.elapsed().as_secs_f64());
    for (s, set) in k.programs.iter().enumerate() {
        let st = passes::stats(&set.program, &set.info);
        println!(
            "set {s}: ops {}  FLOPs/pt fwd {} grad {} (ratio {:.2})  tape {} B/pt  peak {} B/pt",
            st.ops,
            st.flops_forward,
            st.flops_backward,
            st.gradient_ratio(None),
            st.tape_bytes,
            st.peak_bytes
        );
    }
    let th = init_theta(&p, 1234);
    let mut b = batches(&p, 10_000, 1);
    b[1] = PointBatch::default();
    b[1].coords = vec![vec![]; 2];
    b[2].coords = vec![vec![]; 2];
    b[2].data = vec![vec![]; 1];
    b[2].weights = None;
    b[1].weights = None;
    for prec in ["f64", "f32"] {
        let t0 = std::time::Instant::now();
        let e = if prec == "f64" {
            k.eval(&th, &b)
        } else {
            k.eval_as::<f32>(&th, &b)
        }
        .unwrap();
        println!(
            "interp {prec}, 10 000 collocation points: {:.3} s (loss {:.4e})",
            t0.elapsed().as_secs_f64(),
            e.total
        );
    }
}

/// `cargo test --release --lib kernel::tests::print_reports -- --ignored --nocapture`
#[test]
#[ignore]
fn print_reports() {
    for p in [high_order("qres"), everything(), high_order("weird")] {
        let th = theta(&p, 7);
        let r = gradcheck(&p, &th, &batches(&p, 12, 3), &GradcheckOptions::default()).unwrap();
        println!("{}:\n{r}\n", p.networks[0].kind);
    }
    let p = high_order("mlp");
    let r = gradcheck_with(
        &p,
        &theta(&p, 7),
        &batches(&p, 12, 3),
        &GradcheckOptions::default(),
        wrong_tanh,
    )
    .unwrap();
    println!("sabotaged:\n{r}");
}

/// `cargo test --release --lib kernel::tests::print_ir -- --ignored --nocapture`
#[test]
#[ignore]
fn print_ir() {
    let p = burgers("qres", 3, 1);
    println!("{}", compile(&p).expect("compiles").emit_ir(&p));
}

#[test]
fn buffer_plan_never_shares_a_slot_between_live_values() {
    let k = compile(&burgers("qres", 10, 8)).expect("compiles");
    let set = &k.programs[0];
    let prog = &set.program;
    let plan = passes::plan_slots(prog, &set.info, |i| {
        !prog.ops[i].is_sink() && prog.types[i].varying
    });
    let mut owner: Vec<Option<usize>> = vec![None; plan.slot_width.len()];
    for (i, op) in set.program.ops.iter().enumerate() {
        for v in op.operands() {
            if let Some(s) = plan.slot[v.index()] {
                assert_eq!(
                    owner[s as usize],
                    Some(v.index()),
                    "v{} was overwritten before v{i}",
                    v.0
                );
            }
        }
        if let Some(s) = plan.slot[i] {
            owner[s as usize] = Some(i);
        }
    }
    let naive: u64 = set
        .program
        .types
        .iter()
        .filter(|t| t.varying)
        .map(|t| 4 * t.width as u64)
        .sum();
    assert!(
        plan.bytes_per_point() < naive / 2,
        "{} of {naive}",
        plan.bytes_per_point()
    );
}

/// Every example through the front end, compiled and gradchecked on random points.
#[test]
fn every_example_compiles_and_passes_gradcheck() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "pde"));
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable example");
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let opts = crate::check::Options {
            name: name.clone(),
            base_dir: Some(dir.clone()),
            data_dirs: vec![],
            ..Default::default()
        };
        let p = match crate::pipeline::front_end(&text, &opts) {
            Ok(c) => c.problem,
            Err(d) => panic!("{name}: front end failed: {d:?}"),
        };
        let k = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut b = batches(&p, 6, 11);
        for (batch, set) in b.iter_mut().zip(&k.programs) {
            batch.data = (0..set.program.n_data)
                .map(|j| (0..6).map(|i| 0.1 * (i + j) as f64).collect())
                .collect();
        }
        let th = theta(&p, 5);
        let opts = GradcheckOptions {
            max_entries: 3,
            max_points: 6,
            tolerance: 1e-5,
        };
        let report = gradcheck(&p, &th, &b, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.passed(), "{name}:\n{report}");
        let ops: usize = k.programs.iter().map(|s| s.program.ops.len()).sum();
        // The gradient costs at most 4× the loss alone at the set's own batch size.
        let ratio = k
            .programs
            .iter()
            .zip(&p.point_sets)
            .map(|(s, ps)| {
                let points = Some(ps.count).filter(|&n| n > 0);
                passes::stats(&s.program, &s.info).gradient_ratio(points)
            })
            .fold(0.0, f64::max);
        assert!(ratio <= 4.0, "{name}: gradient/loss cost {ratio:.2}");
        println!(
            "{name}: {} params, {ops} ops, grad/loss FLOPs ≤ {ratio:.2}, worst rel error {:.1e}",
            k.layout.len,
            report.worst()
        );
    }
}

/// Predictions split over threads are those of one thread, bit for bit, in point
/// order, for any thread count (more threads than points included).
#[test]
fn threaded_predictions_are_the_single_threaded_ones() {
    let p = burgers("qres", 6, 3);
    let th = theta(&p, 3);
    let coords = batches(&p, 1001, 5).swap_remove(0).coords;
    let exprs = [u([0, 0]), u([2, 0]), u([1, 1])];
    let predictor = Predictor::new(&p, &exprs).expect("compiles");
    let one = predictor.eval::<f64>(&th, &coords).expect("runs");
    let bits = |v: &Vec<Vec<f64>>| -> Vec<Vec<u64>> {
        v.iter()
            .map(|c| c.iter().map(|x| x.to_bits()).collect())
            .collect()
    };
    for threads in [1, 2, 3, 7, 2000] {
        let split = predictor
            .eval_threaded(&th, &coords, &[], threads)
            .expect("runs");
        assert_eq!(bits(&split), bits(&one), "{threads} threads");
    }
    let none: Vec<Vec<f64>> = coords.iter().map(|_| Vec::new()).collect();
    assert_eq!(
        predictor.eval_threaded(&th, &none, &[], 2).expect("runs"),
        vec![Vec::<f64>::new(); 3]
    );
}
