//! Accuracy of the CLIF vector functions against `std` (`cargo test --release --lib
//! backend::cpu::vmath_tests -- --nocapture` prints the measured table).
//!
//! Each function runs as a tiny JIT-compiled map over a column of arguments, through
//! the same `jit::run` as the kernels.

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, MemFlagsData};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clif::{self, args, Plan, TILE, UNROLL};
use super::jit::{self, Jit};
use super::vmath::Vm;
use crate::expr::Func;

/// f applied to every element of `xs` by generated code.
fn map(f: Func, wide: bool, xs: &[f64]) -> Vec<f64> {
    let isa = jit::host_isa().expect("host ISA");
    let vm = Vm {
        wide,
        fma: jit::has_fma(&*isa),
    };
    let mut jit = Jit::new(isa);
    let mut func = clif::new_function(0, jit.call_conv());
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut func, &mut fctx);
        let flags = MemFlagsData::new().with_notrap();
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let a = b.block_params(entry)[0];
        let cols = b.ins().load(I64, flags, a, args::COLS);
        let n = b.ins().load(I64, flags, a, args::NBLOCKS);
        let out = b.ins().load(I64, flags, a, args::SCRATCH);
        let lp = b.create_block();
        let exit = b.create_block();
        b.append_block_param(lp, I64);
        let zero = b.ins().iconst(I64, 0);
        b.ins().brif(n, lp, &[zero.into()], exit, &[]);
        b.switch_to_block(lp);
        let i = b.block_params(lp)[0];
        let off = b.ins().imul_imm_s(i, (16 * UNROLL) as i64);
        let p = b.ins().iadd(cols, off);
        let q = b.ins().iadd(out, off);
        for u in 0..UNROLL {
            let x = b.ins().load(vm.ty(), flags, p, (16 * u) as i32);
            let y = clif::call(vm, &mut b, f, x);
            b.ins().store(flags, y, q, (16 * u) as i32);
        }
        let next = b.ins().iadd_imm_s(i, 1);
        let more = b.ins().icmp(
            cranelift_codegen::ir::condcodes::IntCC::UnsignedLessThan,
            next,
            n,
        );
        b.ins().brif(more, lp, &[next.into()], exit, &[]);
        b.seal_block(lp);
        b.switch_to_block(exit);
        b.seal_block(exit);
        b.ins().return_(&[]);
        b.finalize(jit.frontend());
    }
    let id = jit.define(func).expect("map compiles");
    jit.finish().expect("finalizes");
    // The map's loop takes UNROLL vectors per iteration; `jit::run` checks sizes in
    // whole tiles, so the buffers are padded to that.
    let lanes = if wide { 2 } else { 4 };
    let block = lanes * UNROLL;
    let nblocks = xs.len().div_ceil(block);
    let mut cols = Vec::new();
    for k in 0..nblocks * lanes * TILE {
        let x = xs.get(k).copied().unwrap_or(1.0);
        if wide {
            cols.extend_from_slice(&x.to_ne_bytes());
        } else {
            cols.extend_from_slice(&(x as f32).to_ne_bytes());
        }
    }
    let plan = Plan {
        vm,
        loc: vec![],
        tmp_off: 0,
        scratch_bytes: nblocks * TILE * 16,
        uniform_bytes: 0,
        n_cols: 1,
        native: None,
        tile: TILE,
        groups: vec![],
        group_of: vec![],
        grad_sums: vec![],
        group_code: None,
    };
    let mut scratch = vec![0u128; nblocks * TILE];
    let code = jit.code(id, &plan, 0, 0).expect("finalized");
    jit::run(
        &code,
        jit::Call {
            cols: &cols,
            stride: 0,
            nblocks,
            theta: &[],
            seeds: &[],
            scratch: &mut scratch,
            uniform: &mut [],
            grad: &mut [],
            terms: &mut [],
        },
    );
    let mut out = Vec::with_capacity(xs.len());
    for v in scratch {
        for l in 0..lanes {
            out.push(if wide {
                f64::from_bits((v >> (64 * l)) as u64)
            } else {
                f32::from_bits((v >> (32 * l)) as u32) as f64
            });
        }
    }
    out.truncate(xs.len()); // (the padding computed f(1) or was never written)
    out
}

/// The spacing of the format's numbers at |y| (its ulp).
fn ulp(y: f64, wide: bool) -> f64 {
    if wide {
        let a = y.abs().max(f64::MIN_POSITIVE);
        f64::from_bits(a.to_bits() + 1) - a
    } else {
        let a = (y.abs() as f32).max(f32::MIN_POSITIVE);
        (f32::from_bits(a.to_bits() + 1) - a) as f64
    }
}

/// Largest error in ulp of the result, and in units of the format's epsilon of
/// max(1, |result|) (the absolute bound that suits sin and cos near their zeros).
fn errors(f: Func, wide: bool, xs: &[f64]) -> (f64, f64) {
    let xs: Vec<f64> = if wide {
        xs.to_vec()
    } else {
        xs.iter().map(|&x| x as f32 as f64).collect()
    };
    let got = map(f, wide, &xs);
    let eps = if wide {
        f64::EPSILON
    } else {
        f32::EPSILON as f64
    };
    let (mut ulps, mut abs) = (0.0f64, 0.0f64);
    for (&x, &g) in xs.iter().zip(&got) {
        // The reference: std in f64 on the (rounded) argument; for f32 this is far
        // more accurate than the result, for f64 it is std's own (≤ 1 ulp) result.
        let r = f.eval(x);
        if !wide && r.abs() < f32::MIN_POSITIVE as f64 {
            continue; // f32 subnormal results: outside the stated range.
        }
        let e = (g - r).abs();
        assert!(e.is_finite() || g == r, "{f:?} at {x}: {g} vs {r}");
        if g != r {
            ulps = ulps.max(e / ulp(r, wide));
            abs = abs.max(e / (eps * r.abs().max(1.0)));
        }
    }
    (ulps, abs)
}

fn uniform(lo: f64, hi: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

fn log_uniform(lo: f64, hi: f64, n: usize, seed: u64) -> Vec<f64> {
    let (a, b) = (lo.ln(), hi.ln());
    uniform(a, b, n, seed).into_iter().map(f64::exp).collect()
}

#[test]
fn vector_math_accuracy() {
    const N: usize = 200_000;
    // (function, arguments, stated bound in ulp (f32, f64), or None: absolute bound
    // in epsilons of max(1, |y|) instead).
    type Case = (Func, Vec<f64>, Vec<f64>, (f64, f64), bool);
    let cases: Vec<Case> = vec![
        (
            Func::Exp,
            uniform(-87.0, 88.0, N, 1),
            uniform(-708.0, 709.0, N, 2),
            (2.0, 2.0),
            true,
        ),
        (
            Func::Tanh,
            uniform(-10.0, 10.0, N, 3),
            uniform(-20.0, 20.0, N, 4),
            (3.0, 3.0),
            true,
        ),
        (
            Func::Tanh,
            uniform(-1e-3, 1e-3, N, 5),
            uniform(-1e-3, 1e-3, N, 6),
            (3.0, 3.0),
            true,
        ),
        (
            Func::Log,
            log_uniform(1e-37, 1e38, N, 7),
            log_uniform(1e-300, 1e300, N, 8),
            (2.0, 2.0),
            true,
        ),
        (
            Func::Log,
            uniform(0.5, 2.0, N, 9),
            uniform(0.5, 2.0, N, 10),
            (2.0, 2.0),
            true,
        ),
        (
            Func::Sin,
            uniform(-100.0, 100.0, N, 11),
            uniform(-100.0, 100.0, N, 12),
            (2.0, 2.0),
            false,
        ),
        (
            Func::Cos,
            uniform(-100.0, 100.0, N, 13),
            uniform(-100.0, 100.0, N, 14),
            (2.0, 2.0),
            false,
        ),
        (
            Func::Sin,
            uniform(-1e4, 1e4, N, 15),
            uniform(-1e8, 1e8, N, 16),
            (2.0, 2.0),
            false,
        ),
        (
            Func::Sqrt,
            uniform(0.0, 100.0, N, 17),
            uniform(0.0, 100.0, N, 18),
            (0.5, 0.5),
            true,
        ),
    ];
    for (f, x32, x64, (b32, b64), by_ulp) in cases {
        let (u32_, a32) = errors(f, false, &x32);
        let (u64_, a64) = errors(f, true, &x64);
        println!(
            "{f:?}: f32 {u32_:.2} ulp ({a32:.2} eps abs) on [{:.3e}, {:.3e}]; f64 {u64_:.2} ulp ({a64:.2} eps abs) on [{:.3e}, {:.3e}]",
            x32.iter().cloned().fold(f64::INFINITY, f64::min),
            x32.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
            x64.iter().cloned().fold(f64::INFINITY, f64::min),
            x64.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
        let (m32, m64) = if by_ulp { (u32_, u64_) } else { (a32, a64) };
        assert!(m32 <= b32, "{f:?} f32: {m32} > {b32}");
        assert!(m64 <= b64, "{f:?} f64: {m64} > {b64}");
    }
}

#[test]
fn vector_math_special_values() {
    let xs = [0.0, -0.0, 1.0, -1.0, f64::INFINITY];
    for wide in [false, true] {
        let l = map(Func::Log, wide, &xs);
        assert_eq!(l[0], f64::NEG_INFINITY);
        assert_eq!(l[2], 0.0);
        assert!(l[3].is_nan());
        assert_eq!(l[4], f64::INFINITY);
        let t = map(Func::Tanh, wide, &[0.0, 30.0, -30.0, 1e-20]);
        assert_eq!(t[..3], [0.0, 1.0, -1.0]);
        assert!((t[3] - 1e-20).abs() <= 1e-26);
        let e = map(Func::Exp, wide, &[0.0, 1.0]);
        assert_eq!(e[0], 1.0);
        let s = map(Func::Sin, wide, &[0.0, 1e-20]);
        assert_eq!(s[0], 0.0);
        assert!((s[1] - 1e-20).abs() <= 1e-26);
    }
}

/// `micro`'s full-width tanh and exp against these CLIF functions: the same
/// algorithm, so on an FMA host the same bits, on every instruction set the host
/// has, in place and across entries.
#[test]
fn native_functions_match_the_clif_ones_bit_for_bit() {
    use super::micro::{Isa, Kernels, Native};
    let isa = jit::host_isa().expect("host ISA");
    if !jit::has_fma(&*isa) {
        return; // Cranelift's code rounds products separately there.
    }
    let mut args = uniform(-30.0, 30.0, 4000, 21);
    args.extend(uniform(-1e-3, 1e-3, 2000, 22));
    args.extend(uniform(-800.0, 800.0, 2000, 23));
    args.extend([
        0.0,
        -0.0,
        1e-30,
        -1e-30,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ]);
    for wide in [false, true] {
        let el = if wide { 8 } else { 4 };
        let tb = TILE * 16;
        let pts = tb / el;
        let entries = args.len().div_ceil(pts);
        let mut xs: Vec<f64> = args.clone();
        xs.resize(entries * pts, 0.5);
        let bytes: Vec<u8> = xs
            .iter()
            .flat_map(|&x| match wide {
                true => x.to_ne_bytes().to_vec(),
                false => (x as f32).to_ne_bytes().to_vec(),
            })
            .collect();
        for (f, g) in [(Func::Tanh, Native::Tanh), (Func::Exp, Native::Exp)] {
            let want = map(f, wide, &xs);
            for i in Isa::ALL.into_iter().filter(|i| i.available()) {
                let func = Kernels::new(i, wide).func;
                let mut out = bytes.clone();
                // In place: out is x, entries tb bytes apart.
                // SAFETY: `entries` entries of `tb` bytes each.
                unsafe {
                    func(
                        g as usize,
                        out.as_ptr(),
                        tb as isize,
                        out.as_mut_ptr(),
                        tb as isize,
                        entries,
                        tb,
                    )
                };
                for (k, c) in out.chunks(el).enumerate() {
                    let got = match wide {
                        true => f64::from_ne_bytes(c.try_into().expect("8 bytes")),
                        false => f32::from_ne_bytes(c.try_into().expect("4 bytes")) as f64,
                    };
                    assert!(
                        got.to_bits() == want[k].to_bits() || got.is_nan() && want[k].is_nan(),
                        "{} {f:?} (f64: {wide}) at {}: {got} vs {}",
                        i.name(),
                        xs[k],
                        want[k]
                    );
                }
            }
        }
    }
}
