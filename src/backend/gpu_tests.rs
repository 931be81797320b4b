//! The WGSL back end against the interpreter on every example, on whatever adapter
//! this machine has (lavapipe in CI). `cargo test --release --lib backend::gpu_tests`.
//!
//! Without an adapter the tests print why and pass, unless
//! `PDENET_REQUIRE_GPU_ADAPTER=1` (set by `.ci/run`), where they fail.

use super::tests::{batches, bits, compare, examples, theta};
use super::*;
use crate::kernel::compile;

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

/// `PDENET_ONLY=burgers,kdv` restricts the examples (when looking into one).
#[test]
fn gpu_matches_the_interpreter_on_every_example() {
    let only = std::env::var("PDENET_ONLY").unwrap_or_default();
    for precision in [Precision::F32, Precision::F64] {
        for (name, p) in examples() {
            if !only.is_empty() && !only.split(',').any(|o| o == name) {
                continue;
            }
            let Some(gpu) = device(precision) else {
                break;
            };
            let adapter = gpu.adapter();
            let k = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            // 256 points a chunk: n = 1001 runs four chunks, the last one partial.
            let g = GpuKernel::compile_chunked(&k, precision, gpu, 300)
                .unwrap_or_else(|e| panic!("{name} {precision:?}: {e}"));
            let th = theta(&p, 5);
            for n in [1, 7, 1001] {
                let b = batches(&p, &k, n, n as u64);
                let e = g.eval(&th, &b).unwrap_or_else(|e| panic!("{name}: {e}"));
                let what = format!("{name} {precision:?} n={n}");
                match precision {
                    // Stated tolerances: f64 1e-10 relative (loss) and 1e-10 of the
                    // largest gradient entry; f32 1e-4 and 1e-3, as for the JIT.
                    Precision::F64 => {
                        compare(&what, &e, &k.eval(&th, &b).expect("runs"), 1e-10, 1e-10)
                    }
                    Precision::F32 => {
                        compare(&what, &e, &k.eval(&th, &b).expect("runs"), 1e-4, 1e-3);
                        let oracle32 = k.eval_as::<f32>(&th, &b).expect("runs");
                        compare(&what, &e, &oracle32, 1e-4, 1e-3);
                    }
                }
                let again = g.eval(&th, &b).expect("runs again");
                assert_eq!(bits(&e), bits(&again), "{what}: not reproducible");
            }
            println!("{name} {precision:?}: the GPU agrees with the interpreter on {adapter}");
        }
    }
}

#[test]
fn invalid_wgsl_is_an_error_with_nagas_message() {
    let err =
        gpu::validate("fn main() { let x: f32 = 1u; }", Precision::F32).expect_err("a type error");
    let text = err.to_string();
    assert!(
        text.contains("failed validation") && text.contains("let x"),
        "{text}"
    );
}

#[test]
#[ignore]
fn zz_timing() {
    let gpu = device(Precision::F32).unwrap();
    let t0 = std::time::Instant::now();
    let (_, pl2) = gpu.layout(&[Some(true), Some(true), Some(false), None]);
    let _ = gpu
        .pipeline(
            &wgsl::reduce(Precision::F32),
            Precision::F32,
            &pl2,
            "reduce",
        )
        .unwrap();
    println!("reduce {:?}", t0.elapsed());
    let only = std::env::var("PDENET_ONLY").unwrap_or_default();
    for (name, p) in examples() {
        if !only.split(',').any(|o| o == name) {
            continue;
        }
        let k = compile(&p).unwrap();
        let (_, pl1) = gpu.layout(&[Some(true), Some(true), Some(false), Some(false), None]);
        for set in &k.programs {
            let sh = wgsl::emit(
                &set.program,
                &set.info,
                set.program.ops.len(),
                Precision::F32,
            )
            .unwrap();
            let t0 = std::time::Instant::now();
            let _ = gpu.pipeline(&sh.wgsl, Precision::F32, &pl1, "x").unwrap();
            println!("{name} {} bytes {:?}", sh.wgsl.len(), t0.elapsed());
        }
    }
}
