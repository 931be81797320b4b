//! The engine boundary's tests (choice, combination, thread independence) and the
//! helpers every engine's tests share (`cpu::tests`, `gpu::tests`). Run with
//! `cargo test --release --lib backend`.

use std::path::{Path, PathBuf};

use super::*;
use crate::kernel::compile;
use crate::kernel::tests::{jittered_theta, random_batches};
use crate::problem::Problem;

pub(super) fn examples() -> Vec<(String, Problem)> {
    problems_in("examples")
}

/// Every .pde file in `dir` (relative to the crate root), by file name, checked
/// with data from its own directory or examples/data.
pub(crate) fn problems_in(dir: &str) -> Vec<(String, Problem)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("a directory of .pde files")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pde"))
        .collect();
    files.sort();
    files.iter().map(|path| problem_at(path)).collect()
}

/// The .pde file at `path` (absolute, or relative to the crate root), by file name,
/// checked with data from its own directory or examples/data.
pub(crate) fn problem_at(path: &Path) -> (String, Problem) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(path);
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(&path).expect("readable example");
    let opts = crate::check::Options {
        name: name.clone(),
        base_dir: path.parent().map(Path::to_path_buf),
        data_dirs: vec![root.join("examples/data")],
        ..crate::check::Options::default()
    };
    let p = crate::pipeline::front_end(&text, &opts)
        .unwrap_or_else(|d| panic!("{name}: {d:?}"))
        .problem;
    (name, p)
}

/// Random points in the domain (slices on their plane), random data and weights.
pub(super) fn batches(p: &Problem, k: &Kernel, n: usize, seed: u64) -> Vec<PointBatch> {
    random_batches(p, |s| k.programs[s].program.n_data as usize, n, seed)
}

/// θ from the initializer, jittered so that zero biases hide nothing.
pub(super) fn theta(p: &Problem, seed: u64) -> Vec<f64> {
    jittered_theta(p, seed, 0.1)
}

/// |a − b| within `rel` of the larger of |a|, |b| and `floor`.
fn close(a: f64, b: f64, rel: f64, floor: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(floor)
}

/// Compares an evaluation with the oracle: every term and the total to `rel_loss`,
/// every gradient entry to `rel_grad` of the largest gradient entry.
pub(super) fn compare(
    what: &str,
    jit: &Evaluation,
    oracle: &Evaluation,
    rel_loss: f64,
    rel_grad: f64,
) {
    assert!(
        close(jit.total, oracle.total, rel_loss, 1e-300),
        "{what}: total {} vs {}",
        jit.total,
        oracle.total
    );
    for (t, (a, b)) in jit.terms.iter().zip(&oracle.terms).enumerate() {
        assert!(
            close(*a, *b, rel_loss, 1e-12 * oracle.total.abs()),
            "{what}: term {t}: {a} vs {b}"
        );
    }
    let gmax = oracle.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    for (i, (a, b)) in jit.grad.iter().zip(&oracle.grad).enumerate() {
        assert!(
            (a - b).abs() <= rel_grad * gmax,
            "{what}: grad[{i}]: {a} vs {b} (largest {gmax})"
        );
    }
    assert_eq!(jit.grad.len(), oracle.grad.len());
}

pub(super) fn bits(e: &Evaluation) -> Vec<u64> {
    let mut v = vec![e.total.to_bits()];
    v.extend(e.terms.iter().map(|x| x.to_bits()));
    v.extend(e.grad.iter().map(|x| x.to_bits()));
    v
}

/// Median wall time of `reps` runs of f after one warm-up run, in ms.
pub(super) fn median_ms(reps: usize, f: &mut dyn FnMut()) -> f64 {
    f();
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = std::time::Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[reps / 2]
}

pub(super) fn burgers() -> (Problem, Kernel) {
    let (_, p) = examples()
        .into_iter()
        .find(|(n, _)| n == "burgers")
        .expect("examples/burgers.pde");
    let k = compile(&p).expect("compiles");
    (p, k)
}

/// Without a hardware GPU, `auto` has one candidate, the CPU engine, and nothing
/// to time; `time_evaluations` gives each engine's milliseconds.
#[test]
fn auto_times_its_candidates_only_when_there_is_a_choice() {
    let (p, k) = burgers();
    let hardware = Gpu::new(AdapterChoice::Hardware, Precision::F32).is_ok();
    let c = candidates(EngineChoice::Auto, &k, Precision::F32, 1).expect("compiles");
    let kinds: Vec<EngineKind> = c.iter().map(|e| e.facts().kind).collect();
    match hardware {
        false => assert_eq!(kinds, [EngineKind::Cpu]),
        true => assert_eq!(kinds, [EngineKind::Gpu, EngineKind::Cpu]),
    }
    let interp = super::compile(
        EngineChoice::Engine(EngineKind::Interp),
        &k,
        Precision::F32,
        1,
    );
    let engines = vec![
        c.into_iter().last().expect("the CPU engine"),
        interp.expect("opens"),
    ];
    let b = batches(&p, &k, 200, 3);
    let ms = time_evaluations(&engines, &theta(&p, 3), &b).expect("runs");
    assert_eq!(ms.len(), 2);
    assert!(ms.iter().all(|t| t.is_finite() && *t > 0.0), "{ms:?}");
}

/// Rows are summed in order from zero; a short row counts as zeros, a long one is
/// cut to the width.
#[test]
fn partials_combine_row_by_row_in_order() {
    let mut p = Partials::new(1, 2);
    p.push(&[1.0, 2.0, 3.0]);
    p.push(&[1e-16]);
    p.push(&[-1.0, 0.0, 0.0, 99.0]);
    p.add_sets([0, 2].into_iter())[3..].copy_from_slice(&[0.5, 0.25, 0.125]);
    let sums = p.combine();
    assert_eq!(sums.terms, vec![(1.0 + 1e-16) - 1.0 + 0.5]);
    assert_eq!(sums.grad, vec![2.25, 3.125]);
    let forward = Partials::new(2, 0);
    assert_eq!(forward.combine().terms, vec![0.0, 0.0]);
}

/// `compile` gives each named engine, and each reproduces the oracle through the
/// boundary: the interpreter engine bit for bit, the JIT within its tolerances; also
/// with weight columns (causal on the equations' set, self-adaptive on every set).
#[test]
fn every_cpu_engine_through_the_boundary_matches_the_oracle() {
    let (p, k) = burgers();
    engines_match_the_oracle(&p, &k);
    let mut causal = p.clone();
    causal.causal = Some(crate::problem::CausalSet {
        set: 0,
        time: crate::expr::CoordId(1),
    });
    engines_match_the_oracle(&causal, &compile(&causal).expect("compiles"));
    // Self-adaptive weights: every set reads its weight column.
    let mut adaptive = p.clone();
    adaptive.self_adaptive = (0..p.point_sets.len()).collect();
    engines_match_the_oracle(&adaptive, &compile(&adaptive).expect("compiles"));
}

/// The check of [`every_cpu_engine_through_the_boundary_matches_the_oracle`] on one
/// problem.
fn engines_match_the_oracle(p: &Problem, k: &Kernel) {
    let th = theta(p, 5);
    let b = batches(p, k, 301, 3);
    let oracle = k.eval(&th, &b).expect("interpreter runs");
    let oracle32 = k.eval_as::<f32>(&th, &b).expect("interpreter runs");
    let cases = [
        (Precision::F64, &oracle, 1e-10, 1e-10),
        (Precision::F32, &oracle32, 1e-4, 1e-3),
    ];
    for kind in [EngineKind::Interp, EngineKind::Cpu] {
        for (precision, oracle, rel_loss, rel_grad) in cases {
            let e = super::compile(EngineChoice::Engine(kind), k, precision, 2).expect("compiles");
            let facts = e.facts();
            assert_eq!((facts.kind, facts.precision), (kind, precision));
            assert!(facts.isa.is_some() && facts.adapter.is_none());
            let got = e.eval(&th, &b).expect("runs");
            let what = format!("{kind:?} {precision:?}");
            if kind == EngineKind::Interp {
                assert_eq!(bits(&got), bits(oracle), "{what}");
            } else {
                compare(&what, &got, oracle, rel_loss, rel_grad);
            }
        }
    }
}

/// The CPU engine's sums are bit-identical for any thread count, on a problem with
/// an integral term (the forward pass first) as on one without.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let names = ["burgers", "well_harmonic"];
    for (name, p) in examples()
        .into_iter()
        .filter(|(n, _)| names.contains(&n.as_str()))
    {
        let k = compile(&p).expect("compiles");
        let th = theta(&p, 7);
        let b = batches(&p, &k, 5000, 11);
        let mut cpu = ClifKernel::compile(&k, Precision::F64, 1).expect("compiles");
        let one = bits(&cpu.eval(&th, &b).expect("runs"));
        for threads in [2, 3, 8] {
            cpu.set_threads(threads);
            let e = cpu.eval(&th, &b).expect("runs");
            assert_eq!(bits(&e), one, "{name}: {threads} threads");
        }
    }
}

/// Scaled weights (loss balancing): a scale of ones changes nothing, bit for bit; the
/// one-hot scales give each weighted term's gradient, which sum to the gradient of the
/// total; a general scale weighs the total's terms. On both CPU engines.
#[test]
fn scaled_weights_give_each_terms_gradient() {
    let (p, k) = burgers();
    let th = theta(&p, 9);
    let b = batches(&p, &k, 257, 4);
    let n = k.terms.len();
    for kind in [EngineKind::Interp, EngineKind::Cpu] {
        let e =
            super::compile(EngineChoice::Engine(kind), &k, Precision::F64, 2).expect("compiles");
        let plain = e.eval(&th, &b).expect("runs");
        let ones = e.eval_scaled(&th, &b, Some(&vec![1.0; n])).expect("runs");
        assert_eq!(bits(&ones), bits(&plain), "{kind:?}");
        let mut sum = vec![0.0; th.len()];
        for t in 0..n {
            let one_hot: Vec<f64> = (0..n).map(|j| if j == t { 1.0 } else { 0.0 }).collect();
            let g = e.eval_scaled(&th, &b, Some(&one_hot)).expect("runs").grad;
            sum.iter_mut().zip(&g).for_each(|(s, g)| *s += g);
        }
        for (s, g) in sum.iter().zip(&plain.grad) {
            assert!(close(*s, *g, 1e-12, 1e-15), "{kind:?}: {s} vs {g}");
        }
        let scale: Vec<f64> = (0..n).map(|t| 0.5 + t as f64).collect();
        let scaled = e.eval_scaled(&th, &b, Some(&scale)).expect("runs");
        let total: f64 = (0..n)
            .map(|t| scale[t] * k.terms[t].weight * plain.terms[t])
            .sum();
        assert!(
            close(scaled.total, total, 1e-14, 0.0),
            "{kind:?}: {} vs {total}",
            scaled.total
        );
    }
}
