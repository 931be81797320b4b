//! The products with θ: `MatVec`, `MatTVec` and `GradMatrix`, which carry almost
//! all of a PINN kernel's FLOPs. With a `Plan::native` route each varying product
//! is one call into `micro`'s kernels per tile (pointers to the tile's entries,
//! their strides, the shape); otherwise, and for uniform products, Cranelift's own
//! loops below compute it on 128-bit vectors.

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{AbiParam, InstBuilder, Signature, Value as CValue};

use super::{Entry, Opd, Tr, COL_BLOCK, ROW_BLOCK, UNROLL, VB};
use crate::kernel::ir::Value;

impl Tr<'_> {
    /// out = W·x (or Wᵀ·x): a loop over pairs of output entries, then over the tile;
    /// the inner dimension unrolled with θ entries broadcast from memory. Two rows
    /// share each load of x and give eight independent FMA chains.
    pub(super) fn matvec(
        &mut self,
        i: usize,
        w_offset: u32,
        rows: u32,
        cols: u32,
        x: Value,
        transpose: bool,
    ) {
        let (n_out, n_in) = if transpose {
            (cols, rows)
        } else {
            (rows, cols)
        };
        // W[o, k] sits at θ[w_offset + o·so + k·sk].
        let (so, sk) = if transpose {
            (1, cols as usize)
        } else {
            (cols as usize, 1)
        };
        let m = Product {
            out: self.opd_out(i),
            x: self.opd(x.index()),
            w_offset: w_offset as usize,
            n_in: n_in as usize,
            so,
            sk,
        };
        if let (Some(native), true) = (self.plan.native, m.out.varying) {
            let w = self
                .b
                .ins()
                .iadd_imm_s(self.p.theta, (m.w_offset * self.plan.elem()) as i64);
            let x = self.ptr(m.x);
            let out = self.ptr(m.out);
            let tb = self.plan.entry_bytes() as i64;
            let args = [
                m.x.estride,
                n_out as i64,
                m.n_in as i64,
                so as i64,
                sk as i64,
                tb,
            ]
            .map(|v| self.b.ins().iconst(I64, v));
            let [xs, n_out, n_in, so, sk, tb] = args;
            self.call(
                native.matvec as usize,
                &[w, x, xs, out, n_out, n_in, so, sk, tb],
            );
            return;
        }
        let pairs = n_out as usize / ROW_BLOCK;
        if pairs > 0 {
            self.counted(pairs as i64, 1, vec![], |t, p, _| {
                let r0 = t.b.ins().imul_imm_s(p, ROW_BLOCK as i64);
                t.matvec_rows(&m, Entry::Dynamic(r0), ROW_BLOCK);
                vec![]
            });
        }
        let rest = n_out as usize % ROW_BLOCK;
        if rest > 0 {
            self.matvec_rows(&m, Entry::Static(pairs * ROW_BLOCK), rest);
        }
    }

    /// Output entries r0 .. r0 + nr of a product.
    fn matvec_rows(&mut self, m: &Product, r0: Entry, nr: usize) {
        let el = self.plan.elem();
        let wrow = match r0 {
            Entry::Static(r) => {
                let o = self.b.ins().iconst(I64, (r * m.so * el) as i64);
                self.b.ins().iadd(self.p.theta, o)
            }
            Entry::Dynamic(r) => {
                let o = self.b.ins().imul_imm_s(r, (m.so * el) as i64);
                self.b.ins().iadd(self.p.theta, o)
            }
        };
        let out0 = self.at(m.out, r0);
        let (n, nu) = self.extent(m.out.varying);
        self.counted(n, (nu * VB) as i64, vec![], |t, i, _| {
            let mut acc: Vec<Vec<Option<CValue>>> = vec![vec![None; nu]; nr];
            for k in 0..m.n_in {
                let ws: Vec<CValue> = (0..nr)
                    .map(|j| {
                        let off = ((m.w_offset + j * m.so + k * m.sk) * el) as i32;
                        let s = t.b.ins().load(t.vm.scalar(), t.flags.input, wrow, off);
                        t.b.ins().splat(t.vm.ty(), s)
                    })
                    .collect();
                let xk = m.x.entry(k);
                for u in 0..nu {
                    let xv = t.ld(xk, i, u);
                    for (row, w) in acc.iter_mut().zip(&ws) {
                        row[u] = Some(match row[u] {
                            None => t.b.ins().fmul(*w, xv),
                            Some(s) => t.vm.fma(&mut t.b, *w, xv, s),
                        });
                    }
                }
            }
            for (j, row) in acc.into_iter().enumerate() {
                for (u, a) in row.into_iter().enumerate() {
                    let a = a.expect("products have an inner dimension");
                    t.st(out0.entry(j), i, u, a);
                }
            }
            vec![]
        });
    }

    /// grad[W] += Σ_points δ·xᵀ: per row, δ masked into the temporary entry, then
    /// blocks of up to `COL_BLOCK` columns, each a dot product over the tile with
    /// its own accumulator (one load of δ serves the whole block).
    pub(super) fn grad_matrix(
        &mut self,
        w_offset: u32,
        rows: u32,
        cols: u32,
        delta: Value,
        x: Value,
    ) {
        let d = self.opd(delta.index());
        let xo = self.opd(x.index());
        let tmp = self.tmp();
        let mask = self.mask();
        if let (Some(native), true) = (self.plan.native, d.varying && xo.varying) {
            let g = self
                .b
                .ins()
                .iadd_imm_s(self.p.grad, w_offset as i64 * VB as i64);
            let dp = self.ptr(d);
            let xp = self.ptr(xo);
            let mp = self.ptr(mask);
            let tb = self.plan.entry_bytes() as i64;
            let args = [d.estride, xo.estride, rows as i64, cols as i64, tb]
                .map(|v| self.b.ins().iconst(I64, v));
            let [ds, xs, rows, cols, tb] = args;
            self.call(
                native.grad as usize,
                &[dp, ds, xp, xs, mp, g, rows, cols, tb],
            );
            return;
        }
        let cols = cols as usize;
        self.counted(rows as i64, 1, vec![], |t, r, _| {
            let dr = t.at(d, Entry::Dynamic(r));
            t.map_entry(tmp, &[dr, mask], &|b, x| b.ins().band(x[0], x[1]));
            let go = t.b.ins().imul_imm_s(r, (cols * VB) as i64);
            let grow = t.b.ins().iadd(t.p.grad, go);
            for c0 in (0..cols).step_by(COL_BLOCK) {
                let nc = COL_BLOCK.min(cols - c0);
                let zero = t.vm.c(&mut t.b, 0.0);
                let acc = t.counted(
                    t.plan.entry_bytes() as i64,
                    (UNROLL * VB) as i64,
                    vec![zero; nc],
                    |t, i, acc| {
                        let mut acc = acc.to_vec();
                        for u in 0..UNROLL {
                            let dv = t.ld(tmp, i, u);
                            for (cc, a) in acc.iter_mut().enumerate() {
                                let xv = t.ld(xo.entry(c0 + cc), i, u);
                                *a = t.vm.fma(&mut t.b, dv, xv, *a);
                            }
                        }
                        acc
                    },
                );
                for (cc, a) in acc.into_iter().enumerate() {
                    t.accumulate(grow, Entry::Static(c0 + cc), w_offset as usize, a);
                }
            }
            vec![]
        });
    }
}

impl Tr<'_> {
    /// The address of o's entry 0 (of the current tile when varying).
    pub(super) fn ptr(&mut self, o: Opd) -> CValue {
        self.b.ins().iadd_imm_s(o.base, o.off)
    }

    /// A call of a microkernel (`micro::MatVecFn`, `GradFn`, `FuncFn`: pointer-sized
    /// arguments) at its address.
    pub(super) fn call(&mut self, f: usize, args: &[CValue]) {
        let known = self.micro_sigs.iter().find(|(n, _)| *n == args.len());
        let sig = match known {
            Some(&(_, s)) => s,
            None => {
                let mut sig = Signature::new(self.b.func.signature.call_conv);
                sig.params = vec![AbiParam::new(I64); args.len()];
                let s = self.b.import_signature(sig);
                self.micro_sigs.push((args.len(), s));
                s
            }
        };
        let callee = self.b.ins().iconst(I64, f as i64);
        self.b.ins().call_indirect(sig, callee, args);
    }
}

/// A product with θ: W[o, k] = θ[w_offset + o·so + k·sk].
pub(super) struct Product {
    out: Opd,
    x: Opd,
    w_offset: usize,
    n_in: usize,
    so: usize,
    sk: usize,
}
