//! Kernel IR → CLIF: one function per point-set program (and, for problems with
//! integral terms, one more for its forward pass alone).
//!
//! The generated function is `extern "C" fn(*const Args)`. It runs `nblocks`
//! consecutive *tiles* of points; a tile is `TILE` vectors of `lanes` points (128
//! points in f32x4, 64 in f64x2), structure of arrays. Memory it touches:
//! - `cols`: the input columns (coordinates, data, weights, lane mask), each
//!   `stride` bytes apart, pointing at the first point of the first tile;
//! - `theta`, `seeds`: θ and the term seeds in the kernel's precision;
//! - `uniform`: one splatted vector per entry of every uniform value, computed once
//!   per call in the prologue (θ, constants, seeds and everything made of them);
//! - `scratch`: the varying values of one tile, `TILE` vectors per entry, in the
//!   slots of [`plan_slots`] (a slot is reused once its value is dead), and one
//!   entry of temporary space; values read only inside their fused group
//!   (`fuse`) have no slot;
//! - `grad`, `terms`: per-thread accumulators, one vector per θ entry and per term;
//!   every sink adds its tile's (masked) contribution lane-wise. The host reduces
//!   lanes in f64 after each call.
//!
//! Every op is a small loop over the tile's vectors (`UNROLL` vectors per
//! iteration), inside a loop over its entries where it is wide: the code of an op
//! runs `TILE / UNROLL` times per pass, so it stays in the instruction cache, and its
//! size does not grow with widths. (A first version unrolled whole 16-point blocks
//! straight-line: megabytes of code, front-end bound, and Cranelift's compile time
//! grew faster than linearly.) Products with θ (`MatVec`, `MatTVec`, `GradMatrix`)
//! loop over output rows, then over vectors, with the inner dimension unrolled.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{
    AbiParam, AliasRegionData, Function, InstBuilder, MemFlagsData, SigRef, Signature, StackSlot,
    UserFuncName, Value as CValue,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

pub(super) mod fuse;
mod products;

pub(crate) use fuse::Group;
pub(crate) use products::GradSum;

use super::asm::{self, GroupCode, Groups};
use super::micro::{Kernels, Native};
use super::vmath::Vm;
use super::BackendError;
use crate::expr::{Cmp, Func};
use crate::kernel::ir::{Op, Program, Value};
use crate::kernel::passes::{plan_slots, Info};

/// Vectors per entry in a tile of points.
pub(crate) const TILE: usize = 32;
/// Vectors per iteration of an op's loop over the tile.
pub(crate) const UNROLL: usize = 4;
/// Output entries of a product computed together.
const ROW_BLOCK: usize = 2;
/// Columns of a gradient product accumulated together.
const COL_BLOCK: usize = 8;
/// Entries of a value up to which an op's entry loop is unrolled.
const UNROLL_ENTRIES: usize = 4;
/// Bytes of one vector.
pub(crate) const VB: usize = 16;

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
    /// Read only inside its fused group, so kept in a register (`fuse`).
    Register,
}

/// The memory plan of one program in one precision.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub vm: Vm,
    pub loc: Vec<Loc>,
    /// One entry of temporary space in the scratch area.
    pub tmp_off: u32,
    pub scratch_bytes: usize,
    pub uniform_bytes: usize,
    /// Input columns: coordinates, data, weights, mask.
    pub n_cols: usize,
    /// The microkernels that compute the products with θ over varying values, or
    /// `None` for Cranelift's own code (`micro::Products`).
    pub native: Option<Kernels>,
    /// Vectors per entry in a tile of points: `TILE`. (Halving it for wide networks,
    /// so that a tile's scratch stays in L2, measured no faster: MLP 100×5 f32 with
    /// the microkernels, 1 thread, AVX2 EPYC, tiles of 16 vs 32 vectors within the
    /// run-to-run noise, 8 vectors 30 % slower.)
    pub tile: usize,
    /// The element-wise ops fused per loop over the tile (`fuse`).
    pub groups: Vec<Group>,
    /// For each op in a group, the group's index.
    pub group_of: Vec<Option<u32>>,
    /// For each `GradMatrix` op, which call computes it (`products::grad_sums`).
    pub grad_sums: Vec<GradSum>,
    /// The groups assembled as AVX-512 machine code (`asm`), if any.
    pub group_code: Option<GroupCode>,
}

impl Plan {
    pub fn lanes(&self) -> usize {
        if self.vm.wide {
            2
        } else {
            4
        }
    }
    /// Points per tile.
    pub fn block(&self) -> usize {
        self.lanes() * self.tile
    }
    /// Bytes of one entry of a varying value in scratch.
    pub fn entry_bytes(&self) -> usize {
        self.tile * VB
    }
    pub fn elem(&self) -> usize {
        if self.vm.wide {
            8
        } else {
            4
        }
    }
    /// How many of the groups run as assembled code (`asm`).
    pub fn assembled(&self) -> usize {
        self.group_code.as_ref().map_or(0, GroupCode::assembled)
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
pub(crate) fn plan(
    prog: &Program,
    info: &Info,
    vm: Vm,
    native: Option<Kernels>,
    route: Groups,
) -> Result<Plan, BackendError> {
    let (grad_sums, info) = products::grad_sums(prog, info, native.is_some());
    let info = &info;
    let max_ops = route.max_ops();
    // Assembled groups compute tanh and exp themselves; Cranelift's call `micro`.
    let calls = native.is_some() && route == Groups::Clif;
    let groups = fuse::groups(prog, info, vm, calls, max_ops);
    let mut group_of = vec![None; prog.ops.len()];
    let mut in_registers = vec![false; prog.ops.len()];
    for (g, group) in groups.iter().enumerate() {
        for (&i, &stored) in group.ops.iter().zip(&group.stored) {
            group_of[i] = Some(g as u32);
            in_registers[i] = !stored;
        }
    }
    let buffers = plan_slots(prog, info, |i| {
        !prog.ops[i].is_sink() && prog.types[i].varying && !in_registers[i]
    });
    let tile = TILE;
    let mut slot_off = vec![0u32; buffers.slot_width.len()];
    let mut at = 0usize;
    for (s, &w) in buffers.slot_width.iter().enumerate() {
        slot_off[s] = at as u32;
        at += w as usize * tile * VB;
    }
    let tmp_off = at as u32;
    let scratch_bytes = at + tile * VB;
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
            _ if ty.varying && in_registers[i] => Loc::Register,
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
    let layout = asm::Layout {
        prog,
        loc: &loc,
        wide: vm.wide,
        entry_bytes: tile * VB,
    };
    let group_code = asm::assemble(&layout, &groups, route);
    Ok(Plan {
        vm,
        loc,
        tmp_off,
        scratch_bytes,
        uniform_bytes,
        n_cols: Plan::mask_col(prog) as usize + 1,
        native,
        tile,
        groups,
        group_of,
        grad_sums,
        group_code,
    })
}

/// Which of a program's varying ops a function computes: all of them, or one class
/// alone (or none: the loops and the host's work), so that `pdenet bench` can time
/// each class over the same tiles (`split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    All,
    /// `MatVec`, `MatTVec`, `GradMatrix`.
    Products,
    /// Sums over points into the loss terms and θ's gradient (`AccumSquares`,
    /// `AccumWeighted`, `GradParam`).
    Reductions,
    /// Everything else: the fused groups, copies and sums over entries.
    Elementwise,
    None,
}

impl Part {
    fn runs(self, op: &Op) -> bool {
        let class = match op {
            Op::MatVec { .. } | Op::MatTVec { .. } | Op::GradMatrix { .. } => Part::Products,
            Op::AccumSquares { .. } | Op::AccumWeighted { .. } | Op::GradParam { .. } => {
                Part::Reductions
            }
            _ => Part::Elementwise,
        };
        self == Part::All || self == class
    }
}

/// The signature of every kernel function: one pointer to `Args`.
pub(crate) fn signature(call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(I64));
    sig
}

/// Builds the CLIF of `prog.ops[..end]` (the varying ones of `part`) into `func`.
pub(crate) fn build(
    prog: &Program,
    plan: &Plan,
    end: usize,
    part: Part,
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
        micro_sigs: vec![],
        pairs: None,
    };
    t.body(end, part);
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

/// How an op's loops address a value.
#[derive(Clone, Copy)]
struct Opd {
    base: CValue,
    flags: MemFlagsData,
    /// Static byte offset of entry 0 from `base`.
    off: i64,
    /// Bytes between entries (0 for a width-1 value, which broadcasts).
    estride: i64,
    /// Varying: the tile's vectors follow each other; uniform: one vector for all.
    varying: bool,
}

impl Opd {
    fn entry(self, j: usize) -> Opd {
        Opd {
            off: self.off + j as i64 * self.estride,
            ..self
        }
    }
}

/// An entry index known at compile time or only at run time (inside a loop).
#[derive(Clone, Copy)]
enum Entry {
    Static(usize),
    Dynamic(CValue),
}

type Elementwise<'f> = &'f dyn Fn(&mut FunctionBuilder, &[CValue]) -> CValue;

/// The translator: one method per construct.
struct Tr<'a> {
    b: FunctionBuilder<'a>,
    prog: &'a Program,
    plan: &'a Plan,
    vm: Vm,
    p: Ptrs,
    flags: Flags,
    /// Column pointers of the current tile.
    col: Vec<CValue>,
    /// The microkernels' signatures by their number of arguments, once imported.
    micro_sigs: Vec<(usize, SigRef)>,
    /// The stack slot that passes a gradient sum's pairs, once made.
    pairs: Option<StackSlot>,
}

impl Tr<'_> {
    /// Prologue (uniform values), then the loop over tiles (varying values, sinks).
    fn body(&mut self, end: usize, part: Part) {
        for i in 0..end {
            if !self.prog.ops[i].is_sink() && !self.prog.types[i].varying {
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
        for i in 0..end {
            let op = &self.prog.ops[i];
            if !op.is_sink() && !self.prog.types[i].varying || !part.runs(op) {
                continue;
            }
            match self.plan.group_of[i] {
                Some(g) if self.plan.groups[g as usize].ops[0] == i => self.group(g as usize),
                Some(_) => {}
                None => self.op(i),
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

    fn width(&self, v: Value) -> usize {
        self.prog.ty(v).width as usize
    }

    /// The addressing of value v.
    fn opd(&self, v: usize) -> Opd {
        let ty = self.prog.types[v];
        let wide = ty.width > 1;
        match self.plan.loc[v] {
            Loc::Input(c) => self.input(c),
            Loc::Slot(off) => Opd {
                base: self.p.scratch,
                flags: self.flags.scratch,
                off: off as i64,
                estride: if wide {
                    self.plan.entry_bytes() as i64
                } else {
                    0
                },
                varying: true,
            },
            Loc::Uniform(off) => Opd {
                base: self.p.uniform,
                flags: self.flags.uniform,
                off: off as i64,
                estride: if wide { VB as i64 } else { 0 },
                varying: false,
            },
            Loc::Sink => unreachable!("validated programs never read a sink"),
            Loc::Register => unreachable!("v{v} is read only inside its group"),
        }
    }

    fn input(&self, c: u32) -> Opd {
        Opd {
            base: self.col[c as usize],
            flags: self.flags.input,
            off: 0,
            estride: 0,
            varying: true,
        }
    }

    fn mask(&self) -> Opd {
        self.input(Plan::mask_col(self.prog))
    }

    fn tmp(&self) -> Opd {
        Opd {
            base: self.p.scratch,
            flags: self.flags.scratch,
            off: self.plan.tmp_off as i64,
            estride: 0,
            varying: true,
        }
    }

    /// o moved to entry e.
    fn at(&mut self, o: Opd, e: Entry) -> Opd {
        match e {
            Entry::Static(j) => o.entry(j),
            Entry::Dynamic(_) if o.estride == 0 => o,
            Entry::Dynamic(k) => {
                let d = self.b.ins().imul_imm_s(k, o.estride);
                Opd {
                    base: self.b.ins().iadd(o.base, d),
                    ..o
                }
            }
        }
    }

    /// Vector u of o at the loop's byte offset `i` into the tile.
    fn ld(&mut self, o: Opd, i: CValue, u: usize) -> CValue {
        let (ptr, off) = self.addr(o, i, u);
        self.b.ins().load(self.vm.ty(), o.flags, ptr, off)
    }

    fn st(&mut self, o: Opd, i: CValue, u: usize, x: CValue) {
        let (ptr, off) = self.addr(o, i, u);
        self.b.ins().store(o.flags, x, ptr, off);
    }

    fn addr(&mut self, o: Opd, i: CValue, u: usize) -> (CValue, i32) {
        if o.varying {
            let ptr = self.b.ins().iadd(o.base, i);
            (ptr, (o.off + (u * VB) as i64) as i32)
        } else {
            (o.base, o.off as i32)
        }
    }

    /// `for k in (0..n).step_by(step)` at run time, carrying vector values.
    fn counted(
        &mut self,
        n: i64,
        step: i64,
        carry: Vec<CValue>,
        mut body: impl FnMut(&mut Self, CValue, &[CValue]) -> Vec<CValue>,
    ) -> Vec<CValue> {
        if n <= step {
            let k = self.b.ins().iconst(I64, 0);
            return body(self, k, &carry);
        }
        let lp = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(lp, I64);
        for _ in &carry {
            self.b.append_block_param(lp, self.vm.ty());
            self.b.append_block_param(exit, self.vm.ty());
        }
        let zero = self.b.ins().iconst(I64, 0);
        let args: Vec<_> = std::iter::once(zero).chain(carry).map(Into::into).collect();
        self.b.ins().jump(lp, &args);
        self.b.switch_to_block(lp);
        let params = self.b.block_params(lp).to_vec();
        let out = body(self, params[0], &params[1..]);
        let next = self.b.ins().iadd_imm_s(params[0], step);
        let more = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, next, n);
        let back: Vec<_> = std::iter::once(next)
            .chain(out.iter().copied())
            .map(Into::into)
            .collect();
        let done: Vec<_> = out.iter().copied().map(Into::into).collect();
        self.b.ins().brif(more, lp, &back, exit, &done);
        self.b.seal_block(lp);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        self.b.block_params(exit).to_vec()
    }

    /// Runs `body` for every entry of a value of width w: unrolled when narrow, a
    /// run-time loop otherwise.
    fn entries(&mut self, w: usize, mut body: impl FnMut(&mut Self, Entry)) {
        if w <= UNROLL_ENTRIES {
            for j in 0..w {
                body(self, Entry::Static(j));
            }
        } else {
            self.counted(w as i64, 1, vec![], |t, k, _| {
                body(t, Entry::Dynamic(k));
                vec![]
            });
        }
    }

    /// Bytes of the tile loop and vectors per iteration for a result.
    fn extent(&self, varying: bool) -> (i64, usize) {
        if varying {
            (self.plan.entry_bytes() as i64, UNROLL)
        } else {
            (VB as i64, 1)
        }
    }

    /// out[e] = f(args[e]) for every entry e < w and every vector of the tile.
    fn map(&mut self, out: Opd, w: usize, args: &[Opd], f: Elementwise) {
        self.entries(w, |t, e| {
            let out = t.at(out, e);
            let args: Vec<Opd> = args.iter().map(|&a| t.at(a, e)).collect();
            t.map_entry(out, &args, f);
        });
    }

    fn map_entry(&mut self, out: Opd, args: &[Opd], f: Elementwise) {
        let (n, nu) = self.extent(out.varying);
        self.counted(n, (nu * VB) as i64, vec![], |t, i, _| {
            for u in 0..nu {
                let xs: Vec<CValue> = args.iter().map(|&a| t.ld(a, i, u)).collect();
                let r = f(&mut t.b, &xs);
                t.st(out, i, u, r);
            }
            vec![]
        });
    }

    /// Σ over the tile's live points of f(args), as one vector (lanes unreduced).
    fn tile_sum(&mut self, args: &[Opd], f: Elementwise) -> CValue {
        let zero = self.vm.c(&mut self.b, 0.0);
        let mask = self.mask();
        let acc = self.counted(
            self.plan.entry_bytes() as i64,
            (UNROLL * VB) as i64,
            vec![zero; UNROLL],
            |t, i, acc| {
                (0..UNROLL)
                    .map(|u| {
                        let xs: Vec<CValue> = args.iter().map(|&a| t.ld(a, i, u)).collect();
                        let r = f(&mut t.b, &xs);
                        let m = t.ld(mask, i, u);
                        let r = t.b.ins().band(r, m);
                        t.b.ins().fadd(acc[u], r)
                    })
                    .collect()
            },
        );
        let a = self.b.ins().fadd(acc[0], acc[1]);
        let c = self.b.ins().fadd(acc[2], acc[3]);
        self.b.ins().fadd(a, c)
    }

    /// acc[index + e] += s (one vector per accumulator).
    fn accumulate(&mut self, base: CValue, e: Entry, index: usize, s: CValue) {
        let (ptr, off) = match e {
            Entry::Static(j) => (base, (index + j) * VB),
            Entry::Dynamic(k) => {
                let d = self.b.ins().imul_imm_s(k, VB as i64);
                (self.b.ins().iadd(base, d), index * VB)
            }
        };
        let old = self
            .b
            .ins()
            .load(self.vm.ty(), self.flags.accum, ptr, off as i32);
        let new = self.b.ins().fadd(old, s);
        self.b.ins().store(self.flags.accum, new, ptr, off as i32);
    }

    /// ptr[index + e] as a scalar, splatted (θ and seeds).
    fn scalar_splat(&mut self, ptr: CValue, e: Entry, index: usize) -> CValue {
        let el = self.plan.elem();
        let (ptr, off) = match e {
            Entry::Static(j) => (ptr, (index + j) * el),
            Entry::Dynamic(k) => {
                let d = self.b.ins().imul_imm_s(k, el as i64);
                (self.b.ins().iadd(ptr, d), index * el)
            }
        };
        let x = self
            .b
            .ins()
            .load(self.vm.scalar(), self.flags.input, ptr, off as i32);
        self.b.ins().splat(self.vm.ty(), x)
    }

    fn op(&mut self, i: usize) {
        let w = self.prog.types[i].width as usize;
        let vm = self.vm;
        let out = if self.prog.ops[i].is_sink() {
            None
        } else {
            Some(self.opd_out(i))
        };
        let o = |v: &Value| v.index();
        match self.prog.ops[i].clone() {
            Op::Coord(_) | Op::DataCol(_) | Op::Weight => {}
            Op::Const { value, width } => {
                let out = out.expect("a value");
                let x = value.get();
                self.map(out, width as usize, &[], &move |b, _| vm.c(b, x));
            }
            Op::Param { offset, len } => {
                let out = out.expect("a value");
                self.entries(len as usize, |t, e| {
                    let x = t.scalar_splat(t.p.theta, e, offset as usize);
                    let dst = t.at(out, e);
                    let zero = t.b.ins().iconst(I64, 0);
                    t.st(dst, zero, 0, x);
                });
            }
            Op::TermSeed(k) => {
                let x = self.scalar_splat(self.p.seeds, Entry::Static(0), k as usize);
                let zero = self.b.ins().iconst(I64, 0);
                self.st(out.expect("a value"), zero, 0, x);
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
            Op::Concat(parts) => {
                let out = out.expect("a value");
                let mut at = 0;
                for part in parts {
                    let src = self.opd(o(&part));
                    let pw = self.width(part);
                    self.map(out.entry(at), pw, &[src], &|_, x| x[0]);
                    at += pw;
                }
            }
            Op::Slice { x, start, .. } => {
                let src = self.opd(o(&x)).entry(start as usize);
                self.map(out.expect("a value"), w, &[src], &|_, x| x[0]);
            }
            Op::Splat { x, .. } => {
                let src = self.opd(o(&x));
                self.map(out.expect("a value"), w, &[src], &|_, x| x[0]);
            }
            Op::SumEntries(x) => {
                let src = self.opd(o(&x));
                let parts: Vec<Opd> = (0..self.width(x)).map(|j| src.entry(j)).collect();
                self.map_entry(out.expect("a value"), &parts, &|b, x| {
                    x[1..].iter().fold(x[0], |s, &v| b.ins().fadd(s, v))
                });
            }
            Op::AccumSquares { term, value } => {
                let v = self.opd(o(&value));
                self.entries(self.width(value), |t, e| {
                    let ve = t.at(v, e);
                    let s = t.tile_sum(&[ve], &|b, x| b.ins().fmul(x[0], x[0]));
                    t.accumulate(t.p.terms, Entry::Static(0), term as usize, s);
                });
            }
            Op::AccumWeighted { term, value } => {
                let v = self.opd(o(&value));
                let wt = self.input(Plan::weights_col(self.prog));
                self.entries(self.width(value), |t, e| {
                    let ve = t.at(v, e);
                    let s = t.tile_sum(&[wt, ve], &|b, x| b.ins().fmul(x[0], x[1]));
                    t.accumulate(t.p.terms, Entry::Static(0), term as usize, s);
                });
            }
            Op::GradParam { offset, len, value } => {
                let v = self.opd(o(&value));
                self.entries(len as usize, |t, e| {
                    let ve = t.at(v, e);
                    let s = t.tile_sum(&[ve], &|_, x| x[0]);
                    t.accumulate(t.p.grad, e, offset as usize, s);
                });
            }
            Op::GradMatrix {
                w_offset,
                rows,
                cols,
                delta,
                x,
            } => {
                let plan = self.plan;
                match &plan.grad_sums[i] {
                    GradSum::Own => self.grad_matrix(w_offset, rows, cols, delta, x),
                    GradSum::Later => {}
                    GradSum::Of(ops) => self.grad_sum(ops, w_offset, rows, cols),
                }
            }
            Op::Store { .. } => unreachable!("rejected by the plan"),
            Op::Func(_, x) => match native_call(self.prog, i, self.plan.native.is_some()) {
                Some(g) => self.call_func(i, g, x),
                None => self.map_elementwise(i),
            },
            _ => self.map_elementwise(i),
        }
    }

    /// out = g(x) over the tile: one call of the native function.
    fn call_func(&mut self, i: usize, g: Native, x: Value) {
        let func = self.plan.native.expect("a native route").func;
        let out = self.opd_out(i);
        let src = self.opd(x.index());
        let xp = self.ptr(src);
        let op = self.ptr(out);
        let w = self.prog.types[i].width;
        let args = [
            g as i64,
            src.estride,
            out.estride,
            w as i64,
            self.plan.entry_bytes() as i64,
        ]
        .map(|v| self.b.ins().iconst(I64, v));
        let [g, xs, os, w, tb] = args;
        self.call(func as usize, &[g, xp, xs, op, os, w, tb]);
    }

    /// An element-wise op (`elementwise` lists them) in Cranelift's code.
    fn map_elementwise(&mut self, i: usize) {
        let (args, f) = elementwise(self.vm, &self.prog.ops[i]).expect("element-wise");
        let args: Vec<Opd> = args.iter().map(|a| self.opd(a.index())).collect();
        let w = self.prog.types[i].width as usize;
        self.map(self.opd_out(i), w, &args, &*f);
    }

    fn opd_out(&self, i: usize) -> Opd {
        self.opd(i)
    }
}

/// The native function op i is a call of on a native route (`micro::Native`: a
/// varying tanh or exp), if any; the one rule for `fuse` and the translator.
fn native_call(prog: &Program, i: usize, native: bool) -> Option<Native> {
    match prog.ops[i] {
        Op::Func(f, _) if native && prog.types[i].varying => Native::of(f),
        _ => None,
    }
}

/// An element-wise op's operands and its arithmetic on one vector of each.
type Arith = Box<dyn Fn(&mut FunctionBuilder, &[CValue]) -> CValue>;

/// The operands and arithmetic of an element-wise op; `None` for other ops.
fn elementwise(vm: Vm, op: &Op) -> Option<(Vec<Value>, Arith)> {
    let f: Arith = match *op {
        Op::Add(..) => Box::new(|b, x| b.ins().fadd(x[0], x[1])),
        Op::Sub(..) => Box::new(|b, x| b.ins().fsub(x[0], x[1])),
        Op::Mul(..) => Box::new(|b, x| b.ins().fmul(x[0], x[1])),
        Op::Div(..) => Box::new(|b, x| b.ins().fdiv(x[0], x[1])),
        Op::Neg(..) => Box::new(|b, x| b.ins().fneg(x[0])),
        Op::Func(f, _) => Box::new(move |b, x| call(vm, b, f, x[0])),
        Op::Powi(_, k) => Box::new(move |b, x| powi(vm, b, x[0], k)),
        Op::Select { cmp, .. } => {
            let cc = match cmp {
                Cmp::Lt => FloatCC::LessThan,
                Cmp::Le => FloatCC::LessThanOrEqual,
                Cmp::Gt => FloatCC::GreaterThan,
                Cmp::Ge => FloatCC::GreaterThanOrEqual,
            };
            Box::new(move |b, x| {
                let m = b.ins().fcmp(cc, x[0], x[1]);
                let m = vm.to_float(b, m);
                b.ins().bitselect(m, x[2], x[3])
            })
        }
        _ => return None,
    };
    Some((op.operands(), f))
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
