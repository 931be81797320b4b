//! Kernel IR → CLIF: one function per point-set program (and, for problems with
//! integral terms, one more for its forward pass alone).
//!
//! The generated function is `extern "C" fn(*const Args)`. It runs `nblocks`
//! consecutive blocks of points; a block is `UNROLL` vectors of `lanes` points
//! (16 points in f32, 8 in f64), structure of arrays. Memory it touches:
//! - `cols`: the input columns (coordinates, data, weights, lane mask), each
//!   `stride` bytes apart, pointing at the first point of the first block;
//! - `theta`, `seeds`: θ and the term seeds in the kernel's precision;
//! - `uniform`: one splatted vector per entry of every uniform value, computed once
//!   per call in the prologue (θ, constants, seeds and everything made of them);
//! - `scratch`: the varying values of one block, `UNROLL` vectors per entry, in the
//!   slots of [`plan_buffers`] (a slot is reused once its value is dead);
//! - `grad`, `terms`: per-thread accumulators, one vector per θ entry and per term;
//!   every sink adds its block's (masked) contribution lane-wise. The host reduces
//!   lanes in f64 after each call.
//!
//! Varying element-wise ops are unrolled over entries × vectors; products with θ
//! (`MatVec`, `MatTVec`, `GradMatrix`) loop over their output rows with CLIF blocks
//! and unroll the inner dimension, which keeps code size linear in the network.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    AbiParam, AliasRegionData, Function, InstBuilder, MemFlagsData, Signature, UserFuncName,
    Value as CValue,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use super::vmath::Vm;
use super::BackendError;
use crate::expr::{Cmp, Func};
use crate::kernel::ir::{Op, Program, Value};
use crate::kernel::passes::{plan_buffers, Info};

/// Vectors per entry in a block of points.
pub(crate) const UNROLL: usize = 4;
/// Bytes of one vector.
const VB: usize = 16;

/// Byte offsets of the fields of `Args` (all pointer-sized).
pub(crate) mod args {
    pub const COLS: i32 = 0;
    pub const STRIDE: i32 = 8;
    pub const NBLOCKS: i32 = 16;
    pub const THETA: i32 = 24;
    pub const SEEDS: i32 = 32;
    pub const SCRATCH: i32 = 40;
    pub const UNIFORM: i32 = 48;
    pub const GRAD: i32 = 56;
    pub const TERMS: i32 = 64;
}

/// Where a value lives while a block runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Loc {
    /// Sinks have no value.
    Sink,
    /// An input column (coordinates, data, weights).
    Input(u32),
    /// Byte offset in the per-block scratch area.
    Slot(u32),
    /// Byte offset in the uniform area.
    Uniform(u32),
}

/// The memory plan of one program in one precision.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub vm: Vm,
    pub loc: Vec<Loc>,
    pub scratch_bytes: usize,
    pub uniform_bytes: usize,
    /// Input columns: coordinates, data, weights, mask.
    pub n_cols: usize,
}

impl Plan {
    pub fn lanes(&self) -> usize {
        if self.vm.wide {
            2
        } else {
            4
        }
    }
    pub fn block(&self) -> usize {
        self.lanes() * UNROLL
    }
    pub fn elem(&self) -> usize {
        if self.vm.wide {
            8
        } else {
            4
        }
    }
    pub fn weights_col(prog: &Program) -> u32 {
        prog.n_coords + prog.n_data
    }
    pub fn mask_col(prog: &Program) -> u32 {
        prog.n_coords + prog.n_data + 1
    }
}

/// Lays out a program's values: inputs read in place, varying values in reused
/// scratch slots, uniform values once each.
pub(crate) fn plan(prog: &Program, info: &Info, vm: Vm) -> Result<Plan, BackendError> {
    let buffers = plan_buffers(prog, info);
    let mut slot_off = vec![0u32; buffers.slot_width.len()];
    let mut at = 0usize;
    for (s, &w) in buffers.slot_width.iter().enumerate() {
        slot_off[s] = at as u32;
        at += w as usize * UNROLL * VB;
    }
    let scratch_bytes = at;
    let mut uniform_bytes = 0usize;
    let mut loc = Vec::with_capacity(prog.ops.len());
    for (i, op) in prog.ops.iter().enumerate() {
        let ty = prog.types[i];
        let l = match op {
            Op::Store { .. } => {
                return Err(BackendError::Unsupported(
                    "stores (prediction programs) are not compiled by the JIT".into(),
                ))
            }
            _ if op.is_sink() => Loc::Sink,
            Op::Coord(k) => Loc::Input(*k),
            Op::DataCol(k) => Loc::Input(prog.n_coords + k),
            Op::Weight => Loc::Input(Plan::weights_col(prog)),
            _ if ty.varying => match buffers.slot[i] {
                Some(s) => Loc::Slot(slot_off[s as usize]),
                None => return Err(BackendError::Internal(format!("v{i} has no slot"))),
            },
            _ => {
                let off = uniform_bytes;
                uniform_bytes += ty.width as usize * VB;
                Loc::Uniform(off as u32)
            }
        };
        loc.push(l);
    }
    if scratch_bytes > i32::MAX as usize / 2 || uniform_bytes > i32::MAX as usize / 2 {
        return Err(BackendError::Unsupported("kernel too large".into()));
    }
    Ok(Plan {
        vm,
        loc,
        scratch_bytes,
        uniform_bytes,
        n_cols: Plan::mask_col(prog) as usize + 1,
    })
}

/// The signature of every kernel function: one pointer to `Args`.
pub(crate) fn signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(I64));
    sig
}

/// Builds the CLIF of `prog.ops[..end]` into `func`.
pub(crate) fn build(
    prog: &Program,
    plan: &Plan,
    end: usize,
    func: &mut Function,
    fctx: &mut FunctionBuilderContext,
    frontend: TargetFrontendConfig,
) {
    let region = |func: &mut Function, id: u32, name: &'static str| {
        func.dfg.alias_regions.insert(AliasRegionData {
            user_id: id,
            description: name.into(),
        })
    };
    let base = MemFlagsData::new().with_notrap();
    let flags = Flags {
        args: base.with_readonly(),
        input: base.with_readonly(),
        scratch: base.with_alias_region(Some(region(func, 1, "scratch"))),
        uniform: base.with_alias_region(Some(region(func, 2, "uniform"))),
        accum: base.with_alias_region(Some(region(func, 3, "accum"))),
    };
    let mut b = FunctionBuilder::new(func, fctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let a = b.block_params(entry)[0];
    let field = |b: &mut FunctionBuilder, off: i32| b.ins().load(I64, flags.args, a, off);
    let p = Ptrs {
        cols: field(&mut b, args::COLS),
        stride: field(&mut b, args::STRIDE),
        nblocks: field(&mut b, args::NBLOCKS),
        theta: field(&mut b, args::THETA),
        seeds: field(&mut b, args::SEEDS),
        scratch: field(&mut b, args::SCRATCH),
        uniform: field(&mut b, args::UNIFORM),
        grad: field(&mut b, args::GRAD),
        terms: field(&mut b, args::TERMS),
    };
    let mut t = Tr {
        b,
        prog,
        plan,
        vm: plan.vm,
        p,
        flags,
        col: vec![],
        mask: vec![],
    };
    t.body(end);
    t.b.finalize(frontend);
}

#[derive(Clone, Copy)]
struct Flags {
    args: MemFlagsData,
    input: MemFlagsData,
    scratch: MemFlagsData,
    uniform: MemFlagsData,
    accum: MemFlagsData,
}

struct Ptrs {
    cols: CValue,
    stride: CValue,
    nblocks: CValue,
    theta: CValue,
    seeds: CValue,
    scratch: CValue,
    uniform: CValue,
    grad: CValue,
    terms: CValue,
}

/// The translator: one method per construct.
struct Tr<'a> {
    b: FunctionBuilder<'a>,
    prog: &'a Program,
    plan: &'a Plan,
    vm: Vm,
    p: Ptrs,
    flags: Flags,
    /// Column pointers of the current block.
    col: Vec<CValue>,
    /// Lane masks of the current block, one per vector.
    mask: Vec<CValue>,
}

impl Tr<'_> {
    /// Prologue (uniform values), then the loop over blocks (varying values, sinks).
    fn body(&mut self, end: usize) {
        for i in 0..end {
            let op = &self.prog.ops[i];
            if !op.is_sink() && !self.prog.types[i].varying {
                self.op(i);
            }
        }
        let lp = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(lp, I64);
        let zero = self.b.ins().iconst(I64, 0);
        self.b
            .ins()
            .brif(self.p.nblocks, lp, &[zero.into()], exit, &[]);
        self.b.switch_to_block(lp);
        let blk = self.b.block_params(lp)[0];
        let bytes = (self.plan.block() * self.plan.elem()) as i64;
        let off = self.b.ins().imul_imm_s(blk, bytes);
        let base = self.b.ins().iadd(self.p.cols, off);
        self.col = (0..self.plan.n_cols as i64)
            .map(|k| {
                let o = self.b.ins().imul_imm_s(self.p.stride, k);
                self.b.ins().iadd(base, o)
            })
            .collect();
        let mcol = self.col[Plan::mask_col(self.prog) as usize];
        self.mask = (0..UNROLL)
            .map(|u| {
                self.b
                    .ins()
                    .load(self.vm.ty(), self.flags.input, mcol, (u * VB) as i32)
            })
            .collect();
        for i in 0..end {
            if self.prog.ops[i].is_sink() || self.prog.types[i].varying {
                self.op(i);
            }
        }
        let next = self.b.ins().iadd_imm_s(blk, 1);
        let more = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThan, next, self.p.nblocks);
        self.b.ins().brif(more, lp, &[next.into()], exit, &[]);
        self.b.seal_block(lp);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        self.b.ins().return_(&[]);
    }

    /// Vectors per entry of value v (UNROLL when varying, 1 when uniform).
    fn nv(&self, v: usize) -> usize {
        if self.prog.types[v].varying {
            UNROLL
        } else {
            1
        }
    }

    fn width(&self, v: Value) -> usize {
        self.prog.ty(v).width as usize
    }

    /// Entry j, vector u of value v (broadcasting width-1 and uniform values).
    fn get(&mut self, v: Value, j: usize, u: usize) -> CValue {
        let j = if self.width(v) == 1 { 0 } else { j };
        let u = if self.prog.ty(v).varying { u } else { 0 };
        let ty = self.vm.ty();
        match self.plan.loc[v.index()] {
            Loc::Input(c) => {
                let ptr = self.col[c as usize];
                self.b
                    .ins()
                    .load(ty, self.flags.input, ptr, (u * VB) as i32)
            }
            Loc::Slot(off) => {
                let o = off as usize + (j * UNROLL + u) * VB;
                self.b
                    .ins()
                    .load(ty, self.flags.scratch, self.p.scratch, o as i32)
            }
            Loc::Uniform(off) => {
                let o = off as usize + j * VB;
                self.b
                    .ins()
                    .load(ty, self.flags.uniform, self.p.uniform, o as i32)
            }
            Loc::Sink => unreachable!("validated programs never read a sink"),
        }
    }

    /// Stores entry j, vector u of value i.
    fn put(&mut self, i: usize, j: usize, u: usize, x: CValue) {
        match self.plan.loc[i] {
            Loc::Slot(off) => {
                let o = off as usize + (j * UNROLL + u) * VB;
                self.b
                    .ins()
                    .store(self.flags.scratch, x, self.p.scratch, o as i32);
            }
            Loc::Uniform(off) => {
                let o = off as usize + j * VB;
                self.b
                    .ins()
                    .store(self.flags.uniform, x, self.p.uniform, o as i32);
            }
            Loc::Input(_) | Loc::Sink => unreachable!("only computed values are stored"),
        }
    }

    /// The base pointer, flags and static offset of value v's storage, and the byte
    /// step between entries (for loops with a run-time entry index).
    fn storage(&self, v: usize) -> (CValue, MemFlagsData, i64, i64) {
        let nv = self.nv(v) as i64;
        match self.plan.loc[v] {
            Loc::Slot(off) => (self.p.scratch, self.flags.scratch, off as i64, nv * 16),
            Loc::Uniform(off) => (self.p.uniform, self.flags.uniform, off as i64, 16),
            Loc::Input(c) => (self.col[c as usize], self.flags.input, 0, 0),
            Loc::Sink => unreachable!("sinks have no storage"),
        }
    }

    /// A θ (or seed) entry splatted.
    fn scalar_splat(&mut self, ptr: CValue, index: usize) -> CValue {
        let s = self.vm.scalar();
        let off = (index * self.plan.elem()) as i32;
        let x = self.b.ins().load(s, self.flags.input, ptr, off);
        self.b.ins().splat(self.vm.ty(), x)
    }

    fn op(&mut self, i: usize) {
        let nv = if self.prog.ops[i].is_sink() {
            UNROLL
        } else {
            self.nv(i)
        };
        let w = self.prog.types[i].width as usize;
        let vm = self.vm;
        match self.prog.ops[i].clone() {
            Op::Coord(_) | Op::DataCol(_) | Op::Weight => {}
            Op::Const { value, width } => {
                for j in 0..width as usize {
                    let c = vm.c(&mut self.b, value.get());
                    self.put(i, j, 0, c);
                }
            }
            Op::Param { offset, len } => {
                for j in 0..len as usize {
                    let x = self.scalar_splat(self.p.theta, offset as usize + j);
                    self.put(i, j, 0, x);
                }
            }
            Op::TermSeed(t) => {
                let x = self.scalar_splat(self.p.seeds, t as usize);
                self.put(i, 0, 0, x);
            }
            Op::MatVec {
                w_offset,
                rows,
                cols,
                x,
            } => self.matvec(i, w_offset, rows, cols, x, false),
            Op::MatTVec {
                w_offset,
                rows,
                cols,
                x,
            } => self.matvec(i, w_offset, rows, cols, x, true),
            Op::Add(a, c) => self.ew2(i, a, c, |b, x, y| b.ins().fadd(x, y)),
            Op::Sub(a, c) => self.ew2(i, a, c, |b, x, y| b.ins().fsub(x, y)),
            Op::Mul(a, c) => self.ew2(i, a, c, |b, x, y| b.ins().fmul(x, y)),
            Op::Div(a, c) => self.ew2(i, a, c, |b, x, y| b.ins().fdiv(x, y)),
            Op::Neg(a) => self.ew1(i, a, |b, x| b.ins().fneg(x)),
            Op::Func(f, a) => self.ew1(i, a, move |b, x| call(vm, b, f, x)),
            Op::Powi(a, k) => self.ew1(i, a, move |b, x| powi(vm, b, x, k)),
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            } => {
                let cc = match cmp {
                    Cmp::Lt => FloatCC::LessThan,
                    Cmp::Le => FloatCC::LessThanOrEqual,
                    Cmp::Gt => FloatCC::GreaterThan,
                    Cmp::Ge => FloatCC::GreaterThanOrEqual,
                };
                for j in 0..w {
                    for u in 0..nv {
                        let (x, y) = (self.get(a, j, u), self.get(b, j, u));
                        let (t, o) = (self.get(then, j, u), self.get(other, j, u));
                        let m = self.b.ins().fcmp(cc, x, y);
                        let m = vm.to_float(&mut self.b, m);
                        let r = self.b.ins().bitselect(m, t, o);
                        self.put(i, j, u, r);
                    }
                }
            }
            Op::Concat(parts) => {
                let mut at = 0;
                for part in parts {
                    for j in 0..self.width(part) {
                        for u in 0..nv {
                            let x = self.get(part, j, u);
                            self.put(i, at + j, u, x);
                        }
                    }
                    at += self.width(part);
                }
            }
            Op::Slice { x, start, len } => {
                for j in 0..len as usize {
                    for u in 0..nv {
                        let v = self.get(x, start as usize + j, u);
                        self.put(i, j, u, v);
                    }
                }
            }
            Op::Splat { x, width } => {
                for j in 0..width as usize {
                    for u in 0..nv {
                        let v = self.get(x, 0, u);
                        self.put(i, j, u, v);
                    }
                }
            }
            Op::SumEntries(x) => {
                for u in 0..nv {
                    let mut s = self.get(x, 0, u);
                    for j in 1..self.width(x) {
                        let v = self.get(x, j, u);
                        s = self.b.ins().fadd(s, v);
                    }
                    self.put(i, 0, u, s);
                }
            }
            Op::AccumSquares { term, value } => {
                let mut s = None;
                for j in 0..self.width(value) {
                    for u in 0..UNROLL {
                        let v = self.get(value, j, u);
                        let sq = self.b.ins().fmul(v, v);
                        s = Some(self.masked_add(s, sq, u));
                    }
                }
                self.accumulate(self.p.terms, term as usize, s);
            }
            Op::AccumWeighted { term, value } => {
                let wcol = self.col[Plan::weights_col(self.prog) as usize];
                let mut s = None;
                for j in 0..self.width(value) {
                    for u in 0..UNROLL {
                        let v = self.get(value, j, u);
                        let wt =
                            self.b
                                .ins()
                                .load(vm.ty(), self.flags.input, wcol, (u * VB) as i32);
                        let p = self.b.ins().fmul(wt, v);
                        s = Some(self.masked_add(s, p, u));
                    }
                }
                self.accumulate(self.p.terms, term as usize, s);
            }
            Op::GradParam { offset, len, value } => {
                for j in 0..len as usize {
                    let mut s = None;
                    for u in 0..UNROLL {
                        let v = self.get(value, j, u);
                        s = Some(self.masked_add(s, v, u));
                    }
                    self.accumulate(self.p.grad, offset as usize + j, s);
                }
            }
            Op::GradMatrix {
                w_offset,
                rows,
                cols,
                delta,
                x,
            } => self.grad_matrix(w_offset, rows, cols, delta, x),
            Op::Store { .. } => unreachable!("rejected by the plan"),
        }
    }

    fn ew2(
        &mut self,
        i: usize,
        a: Value,
        c: Value,
        f: impl Fn(&mut FunctionBuilder, CValue, CValue) -> CValue,
    ) {
        let nv = self.nv(i);
        for j in 0..self.prog.types[i].width as usize {
            for u in 0..nv {
                let (x, y) = (self.get(a, j, u), self.get(c, j, u));
                let r = f(&mut self.b, x, y);
                self.put(i, j, u, r);
            }
        }
    }

    fn ew1(&mut self, i: usize, a: Value, f: impl Fn(&mut FunctionBuilder, CValue) -> CValue) {
        let nv = self.nv(i);
        for j in 0..self.prog.types[i].width as usize {
            for u in 0..nv {
                let x = self.get(a, j, u);
                let r = f(&mut self.b, x);
                self.put(i, j, u, r);
            }
        }
    }

    /// s + (x masked to the block's live lanes of vector u).
    fn masked_add(&mut self, s: Option<CValue>, x: CValue, u: usize) -> CValue {
        let m = self.b.ins().band(x, self.mask[u]);
        match s {
            Some(s) => self.b.ins().fadd(s, m),
            None => m,
        }
    }

    /// acc[index] += s (one vector per accumulator).
    fn accumulate(&mut self, base: CValue, index: usize, s: Option<CValue>) {
        let Some(s) = s else { return };
        let off = (index * VB) as i32;
        let old = self.b.ins().load(self.vm.ty(), self.flags.accum, base, off);
        let new = self.b.ins().fadd(old, s);
        self.b.ins().store(self.flags.accum, new, base, off);
    }

    /// Emits `for k in 0..n { body(k) }` with a run-time k (n ≥ 1).
    fn repeat(&mut self, n: u32, mut body: impl FnMut(&mut Self, CValue)) {
        if n == 1 {
            let k = self.b.ins().iconst(I64, 0);
            body(self, k);
            return;
        }
        let lp = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(lp, I64);
        let zero = self.b.ins().iconst(I64, 0);
        self.b.ins().jump(lp, &[zero.into()]);
        self.b.switch_to_block(lp);
        let k = self.b.block_params(lp)[0];
        body(self, k);
        let next = self.b.ins().iadd_imm_s(k, 1);
        let more = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedLessThan, next, n as i64);
        self.b.ins().brif(more, lp, &[next.into()], exit, &[]);
        self.b.seal_block(lp);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
    }

    /// out = W·x (or Wᵀ·x): a run-time loop over output entries, the inner
    /// dimension unrolled, points in the vector lanes.
    fn matvec(&mut self, i: usize, w_offset: u32, rows: u32, cols: u32, x: Value, transpose: bool) {
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
        let nv = self.nv(i);
        let el = self.plan.elem();
        let (obase, oflags, ooff, ostep) = self.storage(i);
        self.repeat(n_out, |t, o| {
            let wo = t.b.ins().imul_imm_s(o, (so * el) as i64);
            let wrow = t.b.ins().iadd(t.p.theta, wo);
            let mut acc: Vec<Option<CValue>> = vec![None; nv];
            for k in 0..n_in as usize {
                let off = ((w_offset as usize + k * sk) * el) as i32;
                let ws = t.b.ins().load(t.vm.scalar(), t.flags.input, wrow, off);
                let wv = t.b.ins().splat(t.vm.ty(), ws);
                for (u, a) in acc.iter_mut().enumerate() {
                    let xv = t.get(x, k, u);
                    *a = Some(match *a {
                        None => t.b.ins().fmul(wv, xv),
                        Some(s) => t.vm.fma(&mut t.b, wv, xv, s),
                    });
                }
            }
            let oo = t.b.ins().imul_imm_s(o, ostep);
            let optr = t.b.ins().iadd(obase, oo);
            for (u, a) in acc.into_iter().enumerate() {
                let a = a.expect("products have an inner dimension");
                t.b.ins()
                    .store(oflags, a, optr, (ooff as usize + u * VB) as i32);
            }
        });
    }

    /// grad[W] += Σ_lanes δ·xᵀ: a loop over rows, columns unrolled.
    fn grad_matrix(&mut self, w_offset: u32, rows: u32, cols: u32, delta: Value, x: Value) {
        let (dbase, dflags, doff, dstep) = self.storage(delta.index());
        let dvar = self.prog.ty(delta).varying;
        self.repeat(rows, |t, r| {
            let dd = t.b.ins().imul_imm_s(r, dstep);
            let dptr = t.b.ins().iadd(dbase, dd);
            let d: Vec<CValue> = (0..UNROLL)
                .map(|u| {
                    let uu = if dvar { u } else { 0 };
                    let v =
                        t.b.ins()
                            .load(t.vm.ty(), dflags, dptr, (doff as usize + uu * VB) as i32);
                    t.b.ins().band(v, t.mask[u])
                })
                .collect();
            let go = t.b.ins().imul_imm_s(r, (cols as usize * VB) as i64);
            let gptr = t.b.ins().iadd(t.p.grad, go);
            for c in 0..cols as usize {
                let mut s = None;
                for (u, &du) in d.iter().enumerate() {
                    let xv = t.get(x, c, u);
                    s = Some(match s {
                        None => t.b.ins().fmul(du, xv),
                        Some(s) => t.vm.fma(&mut t.b, du, xv, s),
                    });
                }
                let s = s.expect("UNROLL ≥ 1");
                let off = ((w_offset as usize + c) * VB) as i32;
                let old = t.b.ins().load(t.vm.ty(), t.flags.accum, gptr, off);
                let new = t.b.ins().fadd(old, s);
                t.b.ins().store(t.flags.accum, new, gptr, off);
            }
        });
    }
}

pub(crate) fn call(vm: Vm, b: &mut FunctionBuilder, f: Func, x: CValue) -> CValue {
    match f {
        Func::Sin => vm.sin_cos(b, x, false),
        Func::Cos => vm.sin_cos(b, x, true),
        Func::Exp => vm.exp(b, x),
        Func::Log => vm.log(b, x),
        Func::Tanh => vm.tanh(b, x),
        Func::Sqrt => b.ins().sqrt(x),
        Func::Abs => b.ins().fabs(x),
    }
}

/// x^n by binary powering in the order compiler-rt's `__powidf2` uses (what `powi`
/// does on the host), so results usually agree bit for bit.
fn powi(vm: Vm, b: &mut FunctionBuilder, x: CValue, n: i32) -> CValue {
    let mut e = n.unsigned_abs();
    let mut a = x;
    let mut r: Option<CValue> = None;
    loop {
        if e & 1 == 1 {
            r = Some(match r {
                None => a,
                Some(r) => b.ins().fmul(r, a),
            });
        }
        e /= 2;
        if e == 0 {
            break;
        }
        a = b.ins().fmul(a, a);
    }
    let r = match r {
        Some(r) => r,
        None => vm.c(b, 1.0),
    };
    if n < 0 {
        let one = vm.c(b, 1.0);
        b.ins().fdiv(one, r)
    } else {
        r
    }
}

/// A fresh function with the kernel signature.
pub(crate) fn new_function(name: u32, call_conv: CallConv) -> Function {
    Function::with_name_signature(UserFuncName::user(0, name), signature(call_conv))
}
