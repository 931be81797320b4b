//! The CPU engine against the interpreter on every example (and tests/gpu), for both precisions
//! and thread counts. Run with `cargo test --release --lib backend::cpu`.

use super::*;
use crate::backend::tests::{batches, bits, compare, examples, median_ms, theta};
use crate::backend::Engine;
use crate::kernel::compile;

#[test]
fn jit_matches_the_interpreter_on_every_example() {
    let gpu_cases = crate::backend::tests::problems_in("tests/gpu");
    for (name, p) in examples().into_iter().chain(gpu_cases) {
        let k = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let th = theta(&p, 5);
        let mut k64 = ClifKernel::compile(&k, Precision::F64, 2).expect("f64 compiles");
        let k32 = ClifKernel::compile(&k, Precision::F32, 2).expect("f32 compiles");
        for n in [1, 7, 1001] {
            let b = batches(&p, &k, n, n as u64);
            let oracle = k.eval(&th, &b).expect("interpreter runs");
            let oracle32 = k.eval_as::<f32>(&th, &b).expect("interpreter runs");
            for threads in [1, 2] {
                k64.set_threads(threads);
                let e = k64.eval(&th, &b).expect("f64 JIT runs");
                compare(
                    &format!("{name} f64 n={n} t={threads}"),
                    &e,
                    &oracle,
                    1e-10,
                    1e-10,
                );
                let again = k64.eval(&th, &b).expect("f64 JIT runs");
                assert_eq!(bits(&e), bits(&again), "{name}: f64 not reproducible");
            }
            let e = k32.eval(&th, &b).expect("f32 JIT runs");
            // Stated tolerance for f32: loss 1e-4 relative, gradient 1e-3 of its
            // largest entry, against the f64 interpreter and the f32 one.
            compare(&format!("{name} f32 n={n}"), &e, &oracle, 1e-4, 1e-3);
            compare(&format!("{name} f32/f32 n={n}"), &e, &oracle32, 1e-4, 1e-3);
            let again = k32.eval(&th, &b).expect("f32 JIT runs");
            assert_eq!(bits(&e), bits(&again), "{name}: f32 not reproducible");
        }
        println!("{name}: JIT agrees with the interpreter");
    }
}

/// `cargo test --release --lib backend::cpu::tests::compile_times -- --ignored --nocapture`
#[test]
#[ignore]
fn compile_times() {
    let only = std::env::var("PDENET_ONLY").unwrap_or_default();
    for (name, p) in examples() {
        if !only.is_empty() && !only.split(',').any(|o| o == name) {
            continue;
        }
        let t0 = std::time::Instant::now();
        let k = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let tk = t0.elapsed().as_secs_f64();
        let ops: usize = k.programs.iter().map(|s| s.program.ops.len()).sum();
        let t0 = std::time::Instant::now();
        let k32 = ClifKernel::compile(&k, Precision::F32, 1).expect("compiles");
        let t32 = t0.elapsed().as_secs_f64();
        let mut widths = std::collections::BTreeMap::new();
        for s in &k.programs {
            for (i, t) in s.program.types.iter().enumerate() {
                let kind = s.program.ops[i].kind();
                *widths
                    .entry((t.varying, t.width.min(1000), kind))
                    .or_insert(0usize) += 1;
            }
        }
        if std::env::var("PDENET_WIDTHS").is_ok() {
            println!("{widths:?}");
        }
        let b0 = batches(&p, &k, 10000, 1);
        let th0 = theta(&p, 5);
        let t0 = std::time::Instant::now();
        let _ = k32.eval(&th0, &b0).expect("runs");
        println!(
            "  jit f32 10000 pts: {:.2} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
        let b = batches(&p, &k, 1001, 1);
        let th = theta(&p, 5);
        let t0 = std::time::Instant::now();
        let _ = k.eval(&th, &b).expect("runs");
        let ti = t0.elapsed().as_secs_f64();
        println!(
            "{name}: {ops} ops, kernel {tk:.2} s, clif f32 {t32:.2} s, interp 1001 pts {ti:.2} s"
        );
    }
}

/// ms per loss+gradient evaluation on examples/burgers.pde (QRes 2,10×8,1) with
/// 10 000 collocation + 100 initial/boundary points, median of repeated runs:
/// `cargo test --release --lib backend::cpu::tests::bench_burgers -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_burgers() {
    let (_, p) = examples()
        .into_iter()
        .find(|(n, _)| n == "burgers")
        .expect("examples/burgers.pde");
    let k = compile(&p).expect("compiles");
    let th = crate::net::init_theta(&p, 1234);
    let mut b = batches(&p, &k, 50, 7);
    b[0] = batches(&p, &k, 10_000, 8).swap_remove(0);
    let points: usize = b.iter().map(PointBatch::len).sum();
    println!(
        "burgers QRes 2,10×8,1: {} points in {} sets",
        points,
        b.len()
    );
    for (set, batch) in k.programs.iter().zip(&b) {
        let st = crate::kernel::passes::stats(&set.program, &set.info);
        let plan = clif::plan(
            &set.program,
            &set.info,
            vmath::Vm {
                wide: false,
                fma: true,
            },
            None,
            Groups::Clif,
        )
        .expect("plans");
        println!(
            "  {} points: {} ops, {} FLOPs/point, f32 scratch {} KiB per tile of {}",
            batch.len(),
            st.ops,
            st.flops_forward + st.flops_backward,
            plan.scratch_bytes / 1024,
            plan.block()
        );
    }
    for prec in [Precision::F32, Precision::F64] {
        let t0 = std::time::Instant::now();
        let mut jit = ClifKernel::compile(&k, prec, 1).expect("compiles");
        println!(
            "{prec:?}: compile {:.0} ms",
            t0.elapsed().as_secs_f64() * 1e3
        );
        for threads in [1, 2] {
            jit.set_threads(threads);
            let ms = median_ms(21, &mut || drop(jit.eval(&th, &b).expect("runs")));
            println!("  clif {prec:?} {threads} thread(s): {ms:.2} ms per loss+gradient");
        }
        let ms = median_ms(3, &mut || match prec {
            Precision::F32 => drop(k.eval_as::<f32>(&th, &b).expect("runs")),
            Precision::F64 => drop(k.eval(&th, &b).expect("runs")),
        });
        println!("  interp {prec:?} 1 thread: {ms:.1} ms per loss+gradient");
    }
}

#[test]
fn emitted_clif_shows_vector_ops() {
    let (_, p) = examples()
        .into_iter()
        .find(|(n, _)| n == "burgers")
        .expect("examples/burgers.pde");
    let k = compile(&p).expect("compiles");
    let text = emit_clif(&k, Precision::F32, false);
    assert!(
        text.contains("f32x4") && text.contains("fma"),
        "{}",
        &text[..2000]
    );
    assert!(emit_clif(&k, Precision::F64, false).contains("f64x2"));
    assert_eq!(text.matches("function ").count(), k.programs.len());
    // The machine code of the same functions: one listing per point set, each
    // ending in a return (x86's `ret`, aarch64's `ret`), and no compile error.
    let asm = emit_clif(&k, Precision::F32, true);
    assert!(!asm.contains("compile error"), "{asm}");
    assert!(
        asm.matches("ret").count() >= k.programs.len(),
        "{}",
        &asm[..2000]
    );
}

/// Every products route the host has (Cranelift's code and each instruction set's
/// microkernels, forced as `PDENET_PRODUCTS` would) against the interpreter, on
/// Burgers, an IRK step, every layer kind and a 4th-order problem with a layer no
/// example has, each reproducible at 1 and 3 threads. Odd point counts leave
/// partial tiles.
#[test]
fn products_routes_match_the_interpreter() {
    let wanted = [
        "burgers",
        "allen_cahn",
        "table4_apinn_adam",
        "table4_isc_lbfgs",
        "table4_pinn_lbfgs",
        "table4_qsc_lbfgs",
    ];
    let mut problems: Vec<(String, crate::problem::Problem)> = examples()
        .into_iter()
        .filter(|(n, _)| wanted.contains(&n.as_str()))
        .collect();
    problems.extend(crate::backend::tests::problems_in("tests/novel"));
    assert!(
        problems.len() > wanted.len(),
        "examples and tests/novel found"
    );
    let mut routes = vec![Products::Clif];
    routes.extend(
        Isa::ALL
            .into_iter()
            .filter(|i| i.available())
            .map(Products::Native),
    );
    for (name, p) in &problems {
        let t0 = std::time::Instant::now();
        let k = compile(p).unwrap_or_else(|e| panic!("{name}: {e}"));
        let th = theta(p, 3);
        let cases: Vec<_> = [7, 300]
            .into_iter()
            .map(|n| {
                let b = batches(p, &k, n, n as u64 + 1);
                let oracle = k.eval(&th, &b).expect("interpreter runs");
                (n, b, oracle)
            })
            .collect();
        for prec in [Precision::F64, Precision::F32] {
            for &route in &routes {
                let what = format!("{name} {prec:?} products {route}");
                let groups = Groups::choose(route).expect("no setting");
                let mut e = ClifKernel::compile_with(&k, prec, 1, route, groups)
                    .unwrap_or_else(|err| panic!("{what}: {err}"));
                // The groups' machine code computes what Cranelift's loops compute.
                let clif_groups = (groups != Groups::Clif).then(|| {
                    ClifKernel::compile_with(&k, prec, 1, route, Groups::Clif)
                        .unwrap_or_else(|err| panic!("{what}: {err}"))
                });
                for (n, b, oracle) in &cases {
                    let what = format!("{what} n={n}");
                    e.set_threads(1);
                    let one = e.eval(&th, b).expect("runs");
                    match prec {
                        Precision::F64 => compare(&what, &one, oracle, 1e-10, 1e-10),
                        Precision::F32 => compare(&what, &one, oracle, 1e-4, 1e-3),
                    }
                    e.set_threads(3);
                    let three = e.eval(&th, b).expect("runs");
                    assert_eq!(bits(&one), bits(&three), "{what}: 1 vs 3 threads");
                    if let Some(c) = &clif_groups {
                        let theirs = c.eval(&th, b).expect("runs");
                        assert_eq!(
                            bits(&one),
                            bits(&theirs),
                            "{what}: {groups:?} vs clif groups"
                        );
                    }
                }
            }
        }
        println!(
            "{name}: {} products routes agree with the interpreter ({:.1} s)",
            routes.len(),
            t0.elapsed().as_secs_f64()
        );
    }
}

/// The fused groups' memory plan on every example: run in program order (which, op
/// by op and point by point, is the order a group's loop runs them in), no op reads
/// a slot another value has overwritten, and a value kept in a register is read only
/// inside its own group.
#[test]
fn fused_groups_never_read_an_overwritten_slot() {
    let vm = vmath::Vm {
        wide: false,
        fma: true,
    };
    let mut fused = 0;
    for (name, p) in examples() {
        let k = compile(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
        for set in &k.programs {
            let prog = &set.program;
            let plan = clif::plan(prog, &set.info, vm, None, Groups::Clif).expect("plans");
            let mut owner = std::collections::HashMap::new();
            for (i, op) in prog.ops.iter().enumerate() {
                for v in op.operands().iter().map(|v| v.index()) {
                    match plan.loc[v] {
                        clif::Loc::Slot(off) => {
                            assert_eq!(
                                owner.get(&off),
                                Some(&v),
                                "{name}: v{v} overwritten before v{i}"
                            )
                        }
                        clif::Loc::Register => assert!(
                            plan.group_of[v].is_some() && plan.group_of[v] == plan.group_of[i],
                            "{name}: v{v} is in a register but read by v{i} outside its group"
                        ),
                        _ => {}
                    }
                }
                if let clif::Loc::Slot(off) = plan.loc[i] {
                    owner.insert(off, i);
                }
            }
            fused += plan.groups.iter().filter(|g| g.ops.len() > 1).count();
        }
    }
    assert!(fused > 0, "no example has a group of two ops or more");
}

/// The scratch areas and the input columns start on a cache line wherever malloc
/// puts them (16-byte aligned ones made the AVX-512 epoch 1.3 times slower).
#[test]
fn working_memory_starts_on_a_cache_line() {
    for len in [1, 5, 1000, 40_000] {
        let mut areas: Vec<super::Lines> = (0..8).map(|_| super::Lines::new(len)).collect();
        for l in &mut areas {
            assert_eq!(l.get().as_ptr() as usize % 64, 0);
            assert_eq!(l.get().len(), len);
            assert_eq!(l.bytes().len(), 16 * len);
        }
    }
}
