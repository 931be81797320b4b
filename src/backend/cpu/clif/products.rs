//! The products with θ: `MatVec`, `MatTVec` and `GradMatrix`, which carry almost
//! all of a PINN kernel's FLOPs. With a `Plan::native` route each varying product
//! is one call into `micro`'s kernels per tile (pointers to the tile's entries,
//! their strides, the shape), and the `GradMatrix` ops of one matrix a few ops apart
//! (a layer's jet components) are one call that sums them all ([`grad_sums`]);
//! otherwise, and for uniform products, Cranelift's own loops below compute it on
//! 128-bit vectors.

use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    AbiParam, InstBuilder, Signature, StackSlotData, StackSlotKind, Value as CValue,
};

use super::{Entry, Opd, Tr, COL_BLOCK, ROW_BLOCK, UNROLL, VB};
use crate::backend::cpu::micro::{GradPair, MAX_PAIRS};
use crate::kernel::ir::{Op, Program, Value};
use crate::kernel::passes::Info;

/// How a `GradMatrix` op is computed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GradSum {
    /// By itself, in Cranelift's code (no microkernels, or a uniform operand).
    Own,
    /// In the microkernel call of a later op.
    Later,
    /// One microkernel call that sums these ops' products (this op last).
    Of(Vec<usize>),
}

/// The most ops from the first to the last of a sum: the earlier ops' δ stay in
/// scratch until the last.
const SUM_WINDOW: usize = 32;

/// Which `GradMatrix` ops one microkernel call sums, and the liveness that follows
/// (the operands of a summed op are read where the sum is). The microkernel folds
/// its sums into the accumulators once per call, and the fold with the
/// accumulators' load and store costs about as much as one pair's FMAs over a tile,
/// so a layer's jet components are summed in one call: up to `MAX_PAIRS` ops on
/// the same matrix at most `SUM_WINDOW` ops apart.
pub(crate) fn grad_sums(prog: &Program, info: &Info, native: bool) -> (Vec<GradSum>, Info) {
    let mut sums = vec![GradSum::Own; prog.ops.len()];
    let mut info = info.clone();
    let mut close = |set: Vec<usize>| {
        let last = *set.last().expect("a set has an op");
        for &j in &set {
            for v in prog.ops[j].operands() {
                let l = &mut info.last_use[v.index()];
                *l = (*l).max(last);
            }
            sums[j] = GradSum::Later;
        }
        sums[last] = GradSum::Of(set);
    };
    let mut open: Vec<((u32, u32, u32), Vec<usize>)> = vec![];
    for (i, op) in prog.ops.iter().enumerate() {
        let &Op::GradMatrix {
            w_offset,
            rows,
            cols,
            delta,
            x,
        } = op
        else {
            continue;
        };
        if !native || !prog.ty(delta).varying || !prog.ty(x).varying {
            continue;
        }
        let key = (w_offset, rows, cols);
        match open.iter().position(|(k, _)| *k == key) {
            Some(s) if i - open[s].1[0] <= SUM_WINDOW => open[s].1.push(i),
            Some(s) => {
                close(std::mem::replace(&mut open[s].1, vec![i]));
            }
            None => open.push((key, vec![i])),
        }
        if let Some(s) = open.iter().position(|(_, set)| set.len() == MAX_PAIRS) {
            close(open.swap_remove(s).1);
        }
    }
    for (_, set) in open {
        close(set);
    }
    (sums, info)
}

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
    /// grad[W] += Σ over `ops`' (δ, x) pairs and the tile's points of δ·xᵀ: one
    /// microkernel call with the pairs in a stack slot.
    pub(super) fn grad_sum(&mut self, ops: &[usize], w_offset: u32, rows: u32, cols: u32) {
        let native = self.plan.native.expect("sums are planned for microkernels");
        let pair_bytes = std::mem::size_of::<GradPair>();
        let slot = *self.pairs.get_or_insert_with(|| {
            let data = StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                (MAX_PAIRS * pair_bytes) as u32,
                3,
            );
            self.b.create_sized_stack_slot(data)
        });
        for (k, &j) in ops.iter().enumerate() {
            let Op::GradMatrix { delta, x, .. } = self.prog.ops[j] else {
                unreachable!("a sum holds GradMatrix ops")
            };
            let (d, xo) = (self.opd(delta.index()), self.opd(x.index()));
            let fields = [
                self.ptr(d),
                self.b.ins().iconst(I64, d.estride),
                self.ptr(xo),
                self.b.ins().iconst(I64, xo.estride),
            ];
            for (f, v) in fields.into_iter().enumerate() {
                let at = (k * pair_bytes + f * 8) as i32;
                self.b.ins().stack_store(I64, v, slot, at);
            }
        }
        let pairs = self.b.ins().stack_addr(I64, slot, 0);
        let g = self
            .b
            .ins()
            .iadd_imm_s(self.p.grad, w_offset as i64 * VB as i64);
        let mask = self.mask();
        let mp = self.ptr(mask);
        let tb = self.plan.entry_bytes() as i64;
        let args =
            [ops.len() as i64, rows as i64, cols as i64, tb].map(|v| self.b.ins().iconst(I64, v));
        let [n, rows, cols, tb] = args;
        self.call(native.grad as usize, &[pairs, n, mp, g, rows, cols, tb]);
    }

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
