//! The WGSL back end against the interpreter on every example, on whatever adapter
//! this machine has (lavapipe in CI). `cargo test --release --lib backend::gpu`.
//!
//! Without an adapter the tests print why and pass, unless
//! `PDENET_REQUIRE_GPU_ADAPTER=1` (set by `.ci/run`), where they fail.

use super::*;
use crate::backend::tests::{batches, bits, compare, examples, problem_at, problems_in, theta};
use crate::kernel::compile;
use std::path::Path;

/// A device for `precision`, or `None` after printing why there is none. A missing
/// adapter fails when CI requires one; a missing f64 feature never does (the f32
/// tests still run).
pub(crate) fn device(precision: Precision) -> Option<Gpu> {
    match Gpu::new(AdapterChoice::Any, precision) {
        Ok(gpu) => Some(gpu),
        Err(BackendError::NoF64(name)) => {
            println!("skipping f64 on the GPU: the adapter `{name}` has no SHADER_F64");
            None
        }
        Err(e) => {
            let required = std::env::var("PDENET_REQUIRE_GPU_ADAPTER").is_ok_and(|v| v == "1");
            assert!(!required, "PDENET_REQUIRE_GPU_ADAPTER=1 but: {e}");
            println!("skipping the GPU tests: {e}");
            None
        }
    }
}

/// Every example in f32, and tests/gpu/functions.pde for the elementary functions.
/// `PDENET_ONLY=burgers,kdv` restricts the problems (when looking into one).
#[test]
fn gpu_matches_the_interpreter_on_every_example_in_f32() {
    matches_the_interpreter(Precision::F32);
}

/// The same in f64: a test of its own, so that the two precisions (lavapipe
/// compiling on one core each) run side by side.
#[test]
fn gpu_matches_the_interpreter_on_every_example_in_f64() {
    matches_the_interpreter(Precision::F64);
}

fn matches_the_interpreter(precision: Precision) {
    let only = std::env::var("PDENET_ONLY").unwrap_or_default();
    for (name, p) in examples().into_iter().chain(problems_in("tests/gpu")) {
        let named = only.split(',').any(|o| o == name);
        if !only.is_empty() && !named {
            continue;
        }
        let started = std::time::Instant::now();
        let Some(gpu) = device(precision) else {
            return;
        };
        let adapter = gpu.adapter();
        let k = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        // 256 points a chunk: n = 300 runs two chunks, the second one partial.
        // (lavapipe is slow: a few hundred points keep the test in minutes.)
        let design = Design::for_adapter(gpu.info.device_type);
        let g = GpuKernel::compile_chunked(&k, precision, gpu, 300, design)
            .unwrap_or_else(|e| panic!("{name} {precision:?}: {e}"));
        let th = theta(&p, 5);
        for n in [1, 300] {
            let b = batches(&p, &k, n, n as u64);
            let e = g.eval(&th, &b).unwrap_or_else(|e| panic!("{name}: {e}"));
            let what = format!("{name} {precision:?} n={n}");
            match precision {
                // Stated tolerances: f64 1e-10 relative (loss) and 1e-10 of the
                // largest gradient entry; f32 1e-4 and 1e-3, as for the JIT.
                Precision::F64 => compare(&what, &e, &k.eval(&th, &b).expect("runs"), 1e-10, 1e-10),
                Precision::F32 => {
                    compare(&what, &e, &k.eval(&th, &b).expect("runs"), 1e-4, 1e-3);
                    let oracle32 = k.eval_as::<f32>(&th, &b).expect("runs");
                    compare(&what, &e, &oracle32, 1e-4, 1e-3);
                }
            }
            let again = g.eval(&th, &b).expect("runs again");
            assert_eq!(bits(&e), bits(&again), "{what}: not reproducible");
        }
        println!(
            "{name} {precision:?}: the GPU agrees with the interpreter on {adapter} ({:.1} s \
                 with the shader compilation)",
            started.elapsed().as_secs_f64()
        );
    }
}

/// The hardware profile (each pass 1 in one shader, as a real GPU gets it) on
/// lavapipe: a small Burgers file against the interpreter in both precisions, with
/// one pass-1 shader per point set, three dispatches per chunk (pass 1, the
/// reduction, the fold) and a fourth where weight matrices are tiled, every chunk
/// of every point set in one submission, and one row of partial sums read back per
/// 16 384 points (per chunk where a chunk is smaller); a second evaluation at the
/// same points uploads only θ and the seeds. With the tiled pass 2 (width 10: full
/// and edge tiles) and θ in workgroup memory, as a GPU gets them, the sums are
/// those of the pass per output reading θ from its buffer, bit for bit, and pass 2
/// reads fewer numbers.
#[test]
fn the_hardware_profile_matches_the_interpreter() {
    let (name, p) = problem_at(Path::new("tests/run/burgers_small.pde"));
    let k = compile(&p).expect("compiles");
    let row = (SEG * ROW_SEGS) as usize;
    // Functions of 60 lines: every set's pass is several, in one shader.
    let design = |reduction, theta| Design {
        profile: Profile::Hardware,
        reduction,
        theta,
        function_lines: 60,
        loop_budget: true,
    };
    let limits = wgpu::Limits::default();
    let sets = pass1_shaders(
        &k,
        Precision::F32,
        design(Reduction::Tiles, Theta::Workgroup),
        &limits,
    );
    for (full, _) in sets.expect("emits") {
        assert_eq!(full.segments.len(), 1);
        assert!(
            full.segments[0].contains("fn part1("),
            "{}",
            full.segments[0]
        );
    }
    for precision in Precision::ALL {
        for (cap, n) in [(300, 1usize), (300, 300), (MAX_CHUNK, row + 600)] {
            let Some(gpu) = device(precision) else {
                return;
            };
            let build = |gpu, reduction, theta| {
                let design = design(reduction, theta);
                GpuKernel::compile_chunked(&k, precision, gpu, cap, design)
                    .unwrap_or_else(|e| panic!("{name} {precision:?}: {e}"))
            };
            let g = build(gpu, Reduction::Tiles, Theta::Workgroup);
            let work = g.device_work().expect("counted");
            assert_eq!(
                (work.profile, work.shaders),
                ("hardware", k.programs.len() + 3 + adam::SHADERS)
            );
            // Per set: its chunks, each 3 dispatches or 4 with the tiled pass 2,
            // and its rows of n_out numbers each.
            let dispatches: u64 = (g.sets.iter())
                .map(|s| n.div_ceil(s.chunk as usize) as u64 * (3 + s.full.tiles.is_some() as u64))
                .sum();
            assert!(g.sets.iter().any(|s| s.full.tiles.is_some()), "no tiles");
            let rows = |s: &SetCode| n.div_ceil((s.chunk as usize).min(row)) as u64;
            let row_numbers: u64 = g.sets.iter().map(|s| rows(s) * s.full.n_out as u64).sum();
            let th = theta(&p, 5);
            let b = batches(&p, &k, n, n as u64);
            let before = g.device_work().expect("counted");
            let e = g.eval(&th, &b).unwrap_or_else(|e| panic!("{name}: {e}"));
            let after = g.device_work().expect("counted");
            assert_eq!(after.submissions - before.submissions, 1, "n = {n}");
            let dispatched = after.dispatches - before.dispatches;
            assert_eq!(dispatched, dispatches, "n = {n}");
            let read = after.read_back_bytes - before.read_back_bytes;
            assert_eq!(read, row_numbers * elem(precision), "n = {n}");
            // Again at the same points: only θ and the seeds go up, once for all
            // sets (every chunk's columns and sizes are still on the device).
            let again = g.eval(&th, &b).unwrap_or_else(|e| panic!("{name}: {e}"));
            let up = g.device_work().expect("counted").uploaded_bytes - after.uploaded_bytes;
            let params = (th.len() + k.terms.len()) as u64;
            assert_eq!(up, params * elem(precision), "n = {n}");
            assert_eq!(bits(&again), bits(&e), "n = {n}: the same sums again");
            let (rel, grad) = match precision {
                Precision::F64 => (1e-10, 1e-10),
                Precision::F32 => (1e-4, 1e-3),
            };
            let what = format!("{name} {precision:?} n={n} (hardware profile)");
            compare(&what, &e, &k.eval(&th, &b).expect("runs"), rel, grad);
            let again = device(precision).expect("opened once");
            let plain = build(again, Reduction::Outputs, Theta::Storage);
            let (work, plain_work) = (g.device_work(), plain.device_work());
            let (work, plain_work) = (work.expect("counted"), plain_work.expect("counted"));
            assert!(work.reduce_bytes_per_point < plain_work.reduce_bytes_per_point);
            let theta_bytes = th.len() as u64 * elem(precision);
            assert_eq!(
                (work.shared_theta_bytes, plain_work.shared_theta_bytes),
                (theta_bytes, 0)
            );
            let sums = plain.eval(&th, &b).expect("runs");
            assert_eq!(bits(&e), bits(&sums), "{what}: the designs sum alike");
        }
    }
}

#[test]
fn invalid_wgsl_is_an_error_with_nagas_message() {
    let err = validate("fn main() { let x: f32 = 1u; }", Precision::F32).expect_err("a type error");
    let text = err.to_string();
    assert!(
        text.contains("failed validation") && text.contains("let x"),
        "{text}"
    );
}

#[test]
fn chunks_fit_the_adapters_limits() {
    let limits = |bytes: u64| wgpu::Limits {
        max_storage_buffer_binding_size: bytes,
        max_buffer_size: bytes,
        ..wgpu::Limits::default()
    };
    // The widest per-point buffer (10 f32 = 40 bytes) decides: 1 MiB / 40 B = 26 214
    // points, rounded down to whole 16 384-point rows; below a row, to whole
    // 256-point segments.
    let n = chunk_points(&limits(1 << 20), 4, &[10, 3, 1], 1 << 16).expect("fits");
    assert_eq!(n, 16_384);
    assert_eq!(
        chunk_points(&limits(1 << 19), 4, &[10], 1 << 16),
        Ok(13_056)
    );
    // The caller's cap wins; below one segment the count is not rounded.
    assert_eq!(chunk_points(&limits(1 << 20), 4, &[10], 300), Ok(256));
    assert_eq!(chunk_points(&limits(400), 8, &[10], 1 << 16), Ok(5));
    // A point that does not fit at all is an error, not a zero-sized chunk.
    assert!(chunk_points(&limits(40), 8, &[10], 1 << 16).is_err());
}

/// Adam on the device (`adam.rs`) against the host's Adam over the same engine's
/// gradients: four epochs of a small Burgers file whose point sets take two chunks
/// each, three entries of θ fixed. The losses and θ agree (f64 to 1e-12, f32 to
/// 1e-5, relative); the fixed entries do not move and their gradient is zero; an
/// epoch is one submission, two dispatches more than an evaluation, uploads the
/// step's seven numbers and reads back only the term sums, two watched entries and
/// the flag, with its stages timed or not (where the adapter has timestamps, the
/// timed epochs add to each stage's seconds and the untimed ones to none). A NaN in
/// θ raises the flag, θ does not move, and the last good θ stays;
/// an evaluation in between takes θ's place, which the next epoch refuses.
#[test]
fn adam_on_the_device_follows_the_host_adam() {
    use crate::backend::AdamState;
    use crate::train::optim::{Adam, AdamConfig};
    let (name, p) = problem_at(Path::new("tests/run/burgers_small.pde"));
    let k = compile(&p).expect("compiles");
    let (n, epochs, watch) = (400, 4, [5, 17]);
    for precision in Precision::ALL {
        let Some(gpu) = device(precision) else {
            continue;
        };
        let design = Design::for_adapter(gpu.info.device_type);
        let g = GpuKernel::compile_chunked(&k, precision, gpu, 300, design)
            .unwrap_or_else(|e| panic!("{name} {precision:?}: {e}"));
        let (th0, b) = (theta(&p, 5), batches(&p, &k, n, 7));
        let trains: Vec<bool> = (0..th0.len()).map(|i| i >= 3).collect();
        // The host: the engine's gradient, fixed entries zeroed, Adam in f64.
        let mut host = Adam::new(th0.len(), AdamConfig::default());
        let (mut th, mut updates, mut losses) = (th0.clone(), vec![], vec![]);
        for _ in 0..epochs {
            let mut e = g.eval(&th, &b).expect("evaluates");
            e.grad[..3].iter_mut().for_each(|x| *x = 0.0);
            updates.push(host.next_update());
            host.update(&mut th, &e.grad).expect("a finite step");
            losses.push(e.total);
        }
        let dev = g.device_adam().expect("Burgers runs Adam on the device");
        let zeros = vec![0.0; th0.len()];
        let start = AdamState {
            theta: th0.clone(),
            m: zeros.clone(),
            v: zeros,
            last_good: th0.clone(),
        };
        let seeds = k.seeds(&b, None, None);
        dev.load(&start, &seeds, &trains).expect("loads");
        let chunks: Vec<u64> = (g.sets.iter())
            .map(|s| n.div_ceil(s.chunk as usize) as u64)
            .collect();
        let el = elem(precision);
        let (rel, what) = match precision {
            Precision::F64 => (1e-12, format!("{name} f64")),
            Precision::F32 => (1e-5, format!("{name} f32")),
        };
        let mut watched = vec![];
        for (epoch, update) in updates.iter().enumerate() {
            // Every other epoch with its stages timed: the same steps and counts.
            let timed = epoch % 2 == 1;
            assert_eq!(dev.time_stages(timed), timed && g.gpu.timestamps);
            let before = g.device_work().expect("counted");
            let e = dev.epoch(&b, update, &watch).expect("an epoch");
            let after = g.device_work().expect("counted");
            assert!(e.updated, "{what}: epoch {epoch} did not step");
            let stages = before.stage_seconds.iter().zip(after.stage_seconds);
            let advanced: Vec<bool> = stages.map(|(b, a)| a > *b).collect();
            assert_eq!(advanced, [timed && g.gpu.timestamps; 4], "{what}: {epoch}");
            let (_, total) = k.terms_and_total(&b, None, &e.sums);
            let host_loss = losses[epoch];
            assert!(
                (total - host_loss).abs() <= rel * host_loss,
                "{what}: {total} vs {host_loss}"
            );
            assert_eq!(after.submissions - before.submissions, 1, "{what}");
            let per_chunk = |s: &SetCode| s.full.pass1.len() as u64 + 2;
            let dispatched: u64 = (g.sets.iter().zip(&chunks))
                .map(|(s, c)| c * per_chunk(s))
                .sum();
            assert_eq!(
                after.dispatches - before.dispatches,
                dispatched + 2,
                "{what}"
            );
            let read = (k.terms.len() + watch.len()) as u64 * el + 4;
            assert_eq!(
                after.read_back_bytes - before.read_back_bytes,
                read,
                "{what}"
            );
            if epoch > 0 {
                // The step's seven numbers: the points and θ are on the device.
                let up = after.uploaded_bytes - before.uploaded_bytes;
                assert_eq!(up, 7 * el, "{what}");
            }
            watched = e.watched;
        }
        let (state, grad) = dev.unload().expect("unloads");
        let scale = th.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (i, (d, h)) in state.theta.iter().zip(&th).enumerate() {
            assert!((d - h).abs() <= rel * scale, "{what}: θ[{i}] {d} vs {h}");
        }
        let rounded = |x: f64| from_bytes(&to_bytes(&[x], precision), precision)[0];
        assert!((0..3).all(|i| state.theta[i] == rounded(th0[i]) && grad[i] == 0.0));
        assert_eq!(watched, watch.map(|i| state.theta[i]), "{what}");
        // A NaN: the flag is raised, θ does not move, the last good θ stays.
        let mut bad = state.clone();
        bad.theta[10] = f64::NAN;
        dev.load(&bad, &seeds, &trains).expect("loads");
        let e = dev.epoch(&b, &updates[0], &watch).expect("an epoch");
        assert!(
            !e.updated && e.sums.iter().any(|s| s.is_nan()),
            "{what}: {e:?}"
        );
        let (after, _) = dev.unload().expect("unloads");
        assert!(after.theta[10].is_nan() && after.theta[11] == state.theta[11]);
        assert_eq!(
            (after.last_good, after.m),
            (state.last_good.clone(), state.m.clone())
        );
        // An evaluation replaces θ on the device.
        dev.load(&state, &seeds, &trains).expect("loads");
        g.eval(&th, &b).expect("evaluates");
        let err = dev.epoch(&b, &updates[0], &watch).expect_err("θ is gone");
        assert!(err.to_string().contains("not on the device"), "{err}");
    }
}

/// The dense quasi-Newton H on the device (`matrix.rs`) against the host's, on
/// lavapipe in f64: order 300 (a row is four strides of a workgroup and part of a
/// fifth), kept whole and in blocks of 64 rows (the last of 44), six SSBroyden
/// updates from the identity on (the first from a scaled identity, then the
/// rank-two updates), each update's event and next direction, then H itself, within
/// 1e-12 of the largest entry (the device sums in another order); then a state saved
/// from the host and written to fresh device matrices takes the same next update.
#[test]
fn dense_h_on_the_device_follows_the_host() {
    use crate::train::optim::dense::{Dense, Rule};
    use crate::train::optim::quasi_newton::Memory;
    use crate::train::optim::OptimizerState;
    let Some(gpu) = device(Precision::F64) else {
        return;
    };
    let n = 300;
    let on_device = |max_rows: usize| {
        let m = matrix::GpuMatrix::new(gpu.clone(), n, max_rows).expect("an H of 300 fits");
        let mut dense = Dense::on_device(Rule::SsBroyden2, Box::new(m));
        dense.start(n);
        dense
    };
    let blocks = [usize::MAX, 64];
    let mut on_devices: Vec<Dense> = blocks.iter().map(|&b| on_device(b)).collect();
    let mut host_h = Dense::new(Rule::SsBroyden2, 1);
    host_h.start(n);
    let wave = |k: usize, f: f64| (0..n).map(|i| (i as f64 * f + k as f64).sin()).collect();
    // y = A s with A = diag(1 + i/n): every pair has positive curvature.
    let step = |k: usize| {
        let (d, g_old): (Vec<f64>, Vec<f64>) = (wave(k, 0.7), wave(k, 1.3));
        let t = 0.5 / (k + 1) as f64;
        let g_new: Vec<f64> = (0..n)
            .map(|i| g_old[i] + (1.0 + i as f64 / n as f64) * t * d[i])
            .collect();
        (t, d, g_old, g_new)
    };
    let close = |a: &[f64], b: &[f64], what: &str| {
        let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let worst = (a.iter().zip(b)).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst <= 1e-12 * scale,
            "{what}: off by {worst:e} of {scale:e}"
        );
    };
    let saved = |dense: &Dense| {
        let mut state = OptimizerState::new(dense.kind());
        dense.save(&mut state);
        state
    };
    let h = |s: &OptimizerState| s.get("h").expect("H was written").to_vec();
    let (mut want, mut got) = (vec![0.0; n], vec![0.0; n]);
    for k in 0..7 {
        let (t, d, g_old, g_new) = step(k);
        if k == 6 {
            // The host's state, H included, on fresh device matrices.
            on_devices = blocks.iter().map(|&b| on_device(b)).collect();
            for dense in &mut on_devices {
                dense.restore(&saved(&host_h), n).expect("the state fits");
            }
        }
        let event = host_h.update(t, &d, &g_old, &g_new);
        // The direction from a pass over H (not the one the update cached).
        host_h.objective_changed();
        host_h.direction(&g_new, &mut want).expect("on the host");
        for (dense, rows) in on_devices.iter_mut().zip(blocks) {
            let what = |of: &str| format!("{of} after update {k}, blocks of {rows} rows");
            assert_eq!(
                dense.update(t, &d, &g_old, &g_new),
                event,
                "{}",
                what("event")
            );
            dense.objective_changed();
            dense.direction(&g_new, &mut got).expect("the device works");
            close(&got, &want, &what("direction"));
            close(&h(&saved(dense)), &h(&saved(&host_h)), &what("H"));
        }
    }
}

/// A block of H holds as many whole rows as one storage binding takes; a row wider
/// than a binding leaves none.
#[test]
fn a_block_of_h_fills_one_binding() {
    let limits = wgpu::Limits::default();
    let binding = (limits.max_storage_buffer_binding_size).min(limits.max_buffer_size);
    for n in [300, 40_701] {
        let rows = matrix::block_rows(&limits, n) as u64;
        let row = 8 * n as u64;
        assert!(
            rows > 0 && rows * row <= binding && (rows + 1) * row > binding,
            "{n}"
        );
    }
    assert_eq!(matrix::block_rows(&limits, (binding / 8) as usize + 1), 0);
}
