//! The products' share of an epoch, replayed for `pdenet bench`: every product with
//! θ a kernel's programs would run over the given point sets, called on buffers of
//! the same shapes and timed. The JIT's element-wise work and reductions are what
//! an epoch takes beyond them and the optimizer; Cranelift's inline products
//! cannot be timed apart, so only the microkernel routes are split.

use std::time::Instant;

use super::clif::{TILE, VB};
use super::micro::{Kernels, Products};
use crate::backend::Precision;
use crate::kernel::ir::Op;
use crate::kernel::Kernel;

/// Seconds the products of one evaluation over sets of `points` points take on
/// `threads` threads (the tiles shared evenly), the best of three replays; `None`
/// for Cranelift's own products.
pub fn products_seconds(
    kernel: &Kernel,
    points: &[usize],
    precision: Precision,
    products: Products,
    threads: usize,
) -> Option<f64> {
    let Products::Native(isa) = products else {
        return None;
    };
    let wide = precision == Precision::F64;
    let k = Kernels::new(isa, wide);
    let el = if wide { 8 } else { 4 };
    let tb = TILE * VB;
    let mut calls: Vec<(Call, usize)> = vec![];
    let mut widest = 1;
    for (set, &n) in kernel.programs.iter().zip(points) {
        let prog = &set.program;
        let tiles = n.div_ceil(tb / el);
        for op in &prog.ops {
            let varying = |v: crate::kernel::ir::Value| prog.ty(v).varying;
            let call = match *op {
                Op::MatVec { rows, cols, x, .. } if varying(x) => Call::MatVec(rows, cols, false),
                Op::MatTVec { rows, cols, x, .. } if varying(x) => Call::MatVec(rows, cols, true),
                Op::GradMatrix {
                    rows,
                    cols,
                    delta,
                    x,
                    ..
                } if varying(delta) && varying(x) => Call::Grad(rows, cols),
                _ => continue,
            };
            widest = widest.max(call.widest());
            calls.push((call, tiles));
        }
    }
    let buf = |entries: usize, v: f64| -> Vec<u8> {
        let mut b = Vec::with_capacity(entries * tb);
        for _ in 0..entries * tb / el {
            match wide {
                true => b.extend_from_slice(&v.to_ne_bytes()),
                false => b.extend_from_slice(&(v as f32).to_ne_bytes()),
            }
        }
        b
    };
    let theta = buf(widest * widest / (tb / el) + 1, 0.01);
    let x = buf(widest, 0.5);
    let mut out = buf(widest, 0.0);
    let mask = vec![0xffu8; tb];
    let mut grad = buf(widest * widest * VB / tb + 1, 0.0);
    let replay = |out: &mut Vec<u8>, grad: &mut Vec<u8>| {
        let t0 = Instant::now();
        for &(call, tiles) in &calls {
            for _ in 0..tiles {
                // SAFETY: every buffer holds the widest call's operands.
                unsafe { call.run(&k, &theta, &x, out, &mask, grad, tb) };
            }
        }
        t0.elapsed().as_secs_f64()
    };
    let best = (0..3)
        .map(|_| replay(&mut out, &mut grad))
        .fold(f64::INFINITY, f64::min);
    Some(best / threads.max(1) as f64)
}

/// One product's shape.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// rows, cols, transposed.
    MatVec(u32, u32, bool),
    /// rows, cols.
    Grad(u32, u32),
}

impl Call {
    fn widest(self) -> usize {
        match self {
            Call::MatVec(r, c, _) | Call::Grad(r, c) => r.max(c) as usize,
        }
    }

    /// # Safety
    /// The buffers hold `widest()` entries of a tile (`grad`: its square).
    #[allow(clippy::too_many_arguments)]
    unsafe fn run(
        self,
        k: &Kernels,
        theta: &[u8],
        x: &[u8],
        out: &mut [u8],
        mask: &[u8],
        grad: &mut [u8],
        tb: usize,
    ) {
        let tbi = tb as isize;
        match self {
            Call::MatVec(rows, cols, t) => {
                let (n_out, n_in, so, sk) = match t {
                    false => (rows, cols, cols, 1),
                    true => (cols, rows, 1, cols),
                };
                let (n_out, n_in, so, sk) =
                    (n_out as usize, n_in as usize, so as usize, sk as usize);
                unsafe {
                    (k.matvec)(
                        theta.as_ptr(),
                        x.as_ptr(),
                        tbi,
                        out.as_mut_ptr(),
                        n_out,
                        n_in,
                        so,
                        sk,
                        tb,
                    )
                }
            }
            Call::Grad(rows, cols) => unsafe {
                (k.grad)(
                    x.as_ptr(),
                    tbi,
                    x.as_ptr(),
                    tbi,
                    mask.as_ptr(),
                    grad.as_mut_ptr(),
                    rows as usize,
                    cols as usize,
                    tb,
                )
            },
        }
    }
}
