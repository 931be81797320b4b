//! The CPU engine: the Kernel IR lowered to Cranelift (`clif`) and JIT-compiled
//! for the host (`jit`), points in SIMD lanes, threads over blocks of points; the
//! transcendental functions are vector polynomials in CLIF (`vmath`), the products
//! with θ precompiled microkernels (`micro`). This file is its host side.
//!
//! How a [`ClifKernel`] evaluates (see `clif.rs` for the generated code):
//! - each point set's points are copied into padded structure-of-arrays columns in
//!   the kernel's precision; the tail block is padded with copies of the last point
//!   and a lane mask (all-ones bits for real points, zero for padding) that every
//!   sink ANDs with its contribution, so padding adds exactly nothing;
//! - the points are cut into *parts* whose size depends only on the point count;
//!   each part is run in calls of at most `CALL_POINTS` points; after each call the
//!   per-lane accumulators (kernel precision) are added into the part's f64 partial
//!   sums, lane by lane in order; each part is one row of the engine's
//!   [`Partials`], which the host sums in order, so results are bit-identical from
//!   run to run and for any thread count;
//! - the threads of the process's crew (`crate::crew`) take parts of all point sets
//!   in turn from one list.
//!
//! The products with θ run either as Cranelift's own 128-bit code or as calls into
//! `micro`'s precompiled kernels on the host's full-width vectors ([`Products`],
//! chosen once per kernel: the widest instruction set, or `PDENET_PRODUCTS`). Both
//! write the same tile layout and the same per-lane accumulators, so the host side
//! here does not change with the route.
//!
//! Accuracy of the vector functions (`vmath`), measured against `std` by
//! `vmath_tests::vector_math_accuracy`, is reported there and in `docs/`.

mod asm;
mod clif;
mod jit;
mod micro;
mod split;
mod vmath;

#[cfg(test)]
mod micro_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vmath_tests;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{BackendError, Engine, EngineFacts, EngineKind, Partials, Pass, Precision, Share};
use crate::kernel::{Evaluation, Kernel, KernelError, PointBatch};
pub use asm::Groups;
use clif::{Part, Plan};
pub use micro::{peak, Isa, Peak, Products};
pub use split::{split_seconds, Split};
use vmath::Vm;

/// Points per call of a compiled function: bounds how many blocks a lane's
/// accumulator sums in the kernel's precision before it goes into f64.
const CALL_POINTS: usize = 256;
/// At most this many parts per point set (bounds the partial-sum memory).
const MAX_PARTS: usize = 256;

/// One point set's compiled code.
struct SetCode {
    plan: Plan,
    full: jit::Code,
    forward: Option<jit::Code>,
}

/// A kernel compiled to native code for this machine.
///
/// It owns its JIT memory and is not `Send`: build it on the thread that uses it
/// (its own worker threads are internal).
pub struct ClifKernel {
    kernel: Kernel,
    precision: Precision,
    threads: usize,
    /// The vector extension Cranelift targets (`jit::vector_isa`).
    isa: String,
    /// Which code computes the products with θ.
    products: Products,
    /// Which code computes the fused element-wise groups.
    groups: Groups,
    sets: Vec<SetCode>,
    _jit: jit::Jit,
}

impl std::fmt::Debug for ClifKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClifKernel")
            .field("precision", &self.precision)
            .field("threads", &self.threads)
            .field("isa", &self.isa)
            .field("products", &self.products)
            .field("groups", &self.groups)
            .field("sets", &self.sets.len())
            .finish()
    }
}

impl ClifKernel {
    /// Compiles every point set's program (and its forward part alone, when integral
    /// terms need a forward pass first). `threads` ≥ 1 worker threads per evaluation.
    pub fn compile(
        kernel: &Kernel,
        precision: Precision,
        threads: usize,
    ) -> Result<ClifKernel, BackendError> {
        let products = Products::choose()?;
        let groups = Groups::choose(products)?;
        ClifKernel::compile_with(kernel, precision, threads, products, groups)
    }

    /// [`ClifKernel::compile`] with the products' and the groups' code named rather
    /// than chosen.
    pub fn compile_with(
        kernel: &Kernel,
        precision: Precision,
        threads: usize,
        products: Products,
        groups: Groups,
    ) -> Result<ClifKernel, BackendError> {
        ClifKernel::compile_part(kernel, precision, threads, (products, groups), Part::All)
    }

    /// A kernel that computes only `part` of each program's varying ops (for
    /// timing; its results are meaningless unless `part` is `All`). Only `All`
    /// compiles the forward-only functions.
    fn compile_part(
        kernel: &Kernel,
        precision: Precision,
        threads: usize,
        (products, groups): (Products, Groups),
        part: Part,
    ) -> Result<ClifKernel, BackendError> {
        let isa = jit::host_isa()?;
        let vm = Vm {
            wide: precision == Precision::F64,
            fma: jit::has_fma(&*isa),
        };
        let isa_name = jit::vector_isa(&*isa);
        let mut jit = jit::Jit::new(isa);
        let integral = part == Part::All
            && kernel
                .terms
                .iter()
                .any(|t| matches!(t.reduce, crate::problem::Reduce::Integral { .. }));
        let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
        let mut ids = vec![];
        let mut plans = vec![];
        for set in &kernel.programs {
            let prog = &set.program;
            let plan = clif::plan(prog, &set.info, vm, native(products, precision), groups)?;
            let mut one = |end: usize| {
                let mut func = clif::new_function(0, jit.call_conv());
                clif::build(prog, &plan, end, part, &mut func, &mut fctx, jit.frontend());
                jit.define(func)
            };
            let full = one(prog.ops.len())?;
            let forward = if integral {
                Some(one(prog.backward_start)?)
            } else {
                None
            };
            ids.push((full, forward));
            plans.push(plan);
        }
        jit.finish()?;
        let mut sets = vec![];
        for ((plan, (full, forward)), set) in plans.into_iter().zip(ids).zip(&kernel.programs) {
            let prog = &set.program;
            let code = |id| jit.code(id, &plan, prog.theta_len as usize, prog.n_terms as usize);
            sets.push(SetCode {
                full: code(full)?,
                forward: forward.map(code).transpose()?,
                plan,
            });
        }
        Ok(ClifKernel {
            kernel: kernel.clone(),
            precision,
            threads: threads.max(1),
            isa: isa_name,
            products,
            groups,
            sets,
            _jit: jit,
        })
    }

    /// Which code computes the groups, over all point sets (`Groups::describe`).
    fn groups_route(&self) -> String {
        let plans = self.sets.iter().map(|s| &s.plan);
        let assembled = plans.clone().map(Plan::assembled).sum();
        let total = plans.map(|p| p.groups.len()).sum();
        self.groups.describe(assembled, total)
    }

    /// The microkernels of the products' route, or the generic ones where
    /// Cranelift computes the products (the host still flushes with them).
    fn kernels(&self) -> micro::Kernels {
        native(self.products, self.precision)
            .unwrap_or_else(|| micro::Kernels::new(Isa::Generic, self.precision == Precision::F64))
    }

    /// Worker threads per evaluation (at least 1).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Every point set's input columns in precision `F`, padded to whole blocks.
    fn inputs<F: Elem>(&self, batches: &[PointBatch]) -> Vec<Columns> {
        self.sets
            .iter()
            .zip(&self.kernel.programs)
            .zip(batches)
            .map(|((code, set), batch)| columns::<F>(&code.plan, &set.program, batch))
            .collect()
    }

    /// [`Engine::eval`] with the input columns built once: a kernel with integral
    /// terms runs two passes over the same points.
    fn eval_as<F: Elem>(
        &self,
        theta: &[f64],
        batches: &[PointBatch],
        scale: Option<&[f64]>,
    ) -> Result<Evaluation, KernelError> {
        let mut inputs: Option<Vec<Columns>> = None;
        self.kernel
            .eval_with(theta, batches, scale, |seeds, forward_only| {
                let inputs = inputs.get_or_insert_with(|| self.inputs::<F>(batches));
                let pass = Pass {
                    theta,
                    seeds,
                    batches,
                    forward_only,
                    share: Share::WHOLE,
                };
                Ok(self.partials_as::<F>(&pass, inputs)?.combine())
            })
    }

    /// Every point set's parts, in set order, each set's in part order. All sets'
    /// parts are one list that the threads take from in turn, so a small set runs
    /// beside a large one's tail and the crew is woken once per evaluation.
    fn partials_as<F: Elem>(
        &self,
        pass: &Pass,
        inputs: &[Columns],
    ) -> Result<Partials, KernelError> {
        let theta_f = to_bytes::<F>(pass.theta);
        let seeds_f = to_bytes::<F>(pass.seeds);
        let flush = self.kernels().flush;
        let mut runs = vec![];
        for ((code, set), cols) in self.sets.iter().zip(&self.kernel.programs).zip(inputs) {
            let f = if pass.forward_only {
                code.forward.as_ref()
            } else {
                Some(&code.full)
            };
            let f = f.ok_or_else(|| {
                KernelError::Internal("no forward-only function was compiled".into())
            })?;
            runs.push(SetRun::new(
                f,
                &code.plan,
                &set.program,
                cols,
                (pass.share, flush),
            ));
        }
        let mut out = Partials::new(self.kernel.terms.len(), pass.grad_len());
        let width = out.width();
        let rows = out.add_sets(runs.iter().map(|r| r.parts.len()));
        let rows: Vec<_> = rows
            .chunks_exact_mut(width.max(1))
            .map(Mutex::new)
            .collect();
        let items: Vec<(&SetRun, usize)> = runs
            .iter()
            .flat_map(|r| r.parts.clone().map(move |p| (r, p)))
            .collect();
        let next = AtomicUsize::new(0);
        let buffers = Buffers::sizes(&runs, self.kernel.terms.len(), pass.theta.len());
        let threads = self.threads.min(items.len()).max(1);
        crate::crew::run(threads, &|_| {
            let mut bufs = Buffers::alloc(buffers);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(run, part)) = items.get(i) else {
                    break;
                };
                let mut row = rows[i].lock().unwrap_or_else(|e| e.into_inner());
                run.part::<F>(part, &theta_f, &seeds_f, &mut bufs, &mut row);
            }
        });
        Ok(out)
    }
}

impl Engine for ClifKernel {
    fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    fn facts(&self) -> EngineFacts {
        EngineFacts {
            kind: EngineKind::Cpu,
            precision: self.precision,
            isa: Some(self.isa.clone()),
            products: Some(self.products.to_string()),
            groups: Some(self.groups_route()),
            adapter: None,
            threads: self.threads,
            ranks: 1,
        }
    }

    fn partials(&self, pass: &Pass) -> Result<Partials, KernelError> {
        match self.precision {
            Precision::F32 => self.partials_as::<f32>(pass, &self.inputs::<f32>(pass.batches)),
            Precision::F64 => self.partials_as::<f64>(pass, &self.inputs::<f64>(pass.batches)),
        }
    }

    fn eval_scaled(
        &self,
        theta: &[f64],
        batches: &[PointBatch],
        scale: Option<&[f64]>,
    ) -> Result<Evaluation, KernelError> {
        match self.precision {
            Precision::F32 => self.eval_as::<f32>(theta, batches, scale),
            Precision::F64 => self.eval_as::<f64>(theta, batches, scale),
        }
    }
}

/// The numbers a kernel computes in, as the host sees them.
trait Elem: Copy + Send + Sync + 'static {
    const BYTES: usize;
    fn bits(x: f64) -> u64;
    /// The bits of a lane mask that keeps a lane.
    const ALL_ONES: u64;
}

impl Elem for f32 {
    const BYTES: usize = 4;
    const ALL_ONES: u64 = u32::MAX as u64;
    fn bits(x: f64) -> u64 {
        (x as f32).to_bits() as u64
    }
}

impl Elem for f64 {
    const BYTES: usize = 8;
    const ALL_ONES: u64 = u64::MAX;
    fn bits(x: f64) -> u64 {
        x.to_bits()
    }
}

/// Numbers in F as native-endian bytes.
fn to_bytes<F: Elem>(xs: &[f64]) -> Vec<u8> {
    let mut out = vec![0; xs.len() * F::BYTES];
    for (&x, dst) in xs.iter().zip(out.chunks_exact_mut(F::BYTES)) {
        write::<F>(dst, F::bits(x));
    }
    out
}

/// `bits` (of an F) into `dst`'s `F::BYTES` bytes, native-endian.
fn write<F: Elem>(dst: &mut [u8], bits: u64) {
    if F::BYTES == 4 {
        dst.copy_from_slice(&(bits as u32).to_ne_bytes());
    } else {
        dst.copy_from_slice(&bits.to_ne_bytes());
    }
}

/// One point set's input columns, padded to whole blocks, on a cache line.
struct Columns {
    lines: Lines,
    /// Points, and points after padding.
    n: usize,
    padded: usize,
}

/// Coordinates, data, weights and the lane mask, each padded with copies of the last
/// point (so padding lanes compute finite values) to a whole number of blocks.
fn columns<F: Elem>(plan: &Plan, prog: &crate::kernel::ir::Program, batch: &PointBatch) -> Columns {
    let n = batch.len();
    let padded = n.div_ceil(plan.block()) * plan.block();
    let mut lines = Lines::new((plan.n_cols * padded * F::BYTES).div_ceil(16));
    let mut values = lines.bytes_mut().chunks_exact_mut(F::BYTES);
    let mut put = |bits: u64| write::<F>(values.next().expect("the columns' length"), bits);
    let zeros = vec![0.0; n];
    let data = batch.data.iter().take(prog.n_data as usize);
    let weights = batch.weights.as_ref().unwrap_or(&zeros);
    for col in batch.coords.iter().chain(data).chain([weights]) {
        for p in 0..padded {
            put(F::bits(col[p.min(n - 1)]));
        }
    }
    for p in 0..padded {
        put(if p < n { F::ALL_ONES } else { 0 });
    }
    Columns { lines, n, padded }
}

/// One point set's evaluation: its code, its columns and how they are cut.
struct SetRun<'a> {
    code: &'a jit::Code,
    plan: &'a Plan,
    cols: &'a Columns,
    n_terms: usize,
    flush: micro::FlushFn,
    /// Blocks per part and per call of the compiled function.
    part_blocks: usize,
    call_blocks: usize,
    /// This process's parts (all of them, but for an MPI rank).
    parts: std::ops::Range<usize>,
}

impl<'a> SetRun<'a> {
    /// The parts depend only on the point count: `CALL_POINTS` per call, and as
    /// many calls per part as keep the set within `MAX_PARTS` parts.
    fn new(
        code: &'a jit::Code,
        plan: &'a Plan,
        prog: &crate::kernel::ir::Program,
        cols: &'a Columns,
        (share, flush): (Share, micro::FlushFn),
    ) -> SetRun<'a> {
        let nblocks = cols.padded / plan.block();
        let call_blocks = (CALL_POINTS / plan.block()).max(1);
        let calls = nblocks.div_ceil(call_blocks);
        let part_blocks = calls.div_ceil(MAX_PARTS) * call_blocks;
        let parts = if cols.n == 0 {
            0..0
        } else {
            share.of(nblocks.div_ceil(part_blocks))
        };
        SetRun {
            code,
            plan,
            cols,
            n_terms: prog.n_terms as usize,
            flush,
            part_blocks,
            call_blocks,
            parts,
        }
    }

    /// One part's blocks, in calls of `call_blocks` blocks, each call's per-lane
    /// accumulators flushed in lane order into `row` (`[terms | grad]`, f64).
    fn part<F: Elem>(
        &self,
        part: usize,
        theta: &[u8],
        seeds: &[u8],
        bufs: &mut Buffers,
        row: &mut [f64],
    ) {
        let block_bytes = self.plan.block() * F::BYTES;
        let stride = self.cols.padded * F::BYTES;
        let nblocks = self.cols.padded / self.plan.block();
        let end = ((part + 1) * self.part_blocks).min(nblocks);
        let mut b0 = part * self.part_blocks;
        while b0 < end {
            let nb = self.call_blocks.min(end - b0);
            jit::run(
                self.code,
                jit::Call {
                    cols: &self.cols.lines.bytes()[b0 * block_bytes..],
                    stride,
                    nblocks: nb,
                    theta,
                    seeds,
                    scratch: bufs.scratch.get(),
                    uniform: &mut bufs.uniform,
                    grad: &mut bufs.grad,
                    terms: &mut bufs.terms,
                },
            );
            let (terms, grad) = row.split_at_mut(self.n_terms);
            for (acc, out) in [(&mut bufs.terms, terms), (&mut bufs.grad, grad)] {
                let n = acc.len().min(out.len());
                // SAFETY: `n` accumulators and `n` numbers; the flush function
                // is compiled for an instruction set this host has.
                unsafe { (self.flush)(acc.as_mut_ptr().cast(), out.as_mut_ptr(), n) };
            }
            b0 += nb;
        }
    }
}

/// One thread's working memory for the compiled functions, large enough for
/// every point set's.
struct Buffers {
    scratch: Lines,
    uniform: Vec<u128>,
    grad: Vec<u128>,
    terms: Vec<u128>,
}

/// Zeroed 16-byte vectors starting on a cache line: the microkernels and the
/// assembled groups load the tape and the columns in 64-byte vectors, and one that
/// straddles two lines costs two loads (a 16-byte aligned scratch area made the
/// MLP 20 × 8 epoch 1.3 times slower, and its time varied with where malloc put it).
struct Lines {
    vectors: Vec<u128>,
    skip: usize,
    len: usize,
}

impl Lines {
    fn new(len: usize) -> Lines {
        let vectors = vec![0; len + 3];
        let skip = vectors.as_ptr().align_offset(64);
        Lines { vectors, skip, len }
    }

    fn get(&mut self) -> &mut [u128] {
        &mut self.vectors[self.skip..self.skip + self.len]
    }

    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(&self.vectors[self.skip..self.skip + self.len])
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        bytemuck::cast_slice_mut(self.get())
    }
}

impl Buffers {
    /// The lengths [`Buffers::alloc`] takes: the most any of `runs` needs.
    fn sizes(runs: &[SetRun], n_terms: usize, theta_len: usize) -> [usize; 4] {
        let most = |f: fn(&Plan) -> usize| runs.iter().map(|r| f(r.plan)).max().unwrap_or(0);
        [
            most(|p| p.scratch_bytes).div_ceil(16),
            most(|p| p.uniform_bytes).div_ceil(16),
            theta_len,
            n_terms,
        ]
    }

    fn alloc([scratch, uniform, grad, terms]: [usize; 4]) -> Buffers {
        Buffers {
            scratch: Lines::new(scratch),
            uniform: vec![0; uniform],
            grad: vec![0; grad],
            terms: vec![0; terms],
        }
    }
}

/// The Cranelift IR of every point set's function (`pdenet kernels --emit clif`),
/// before Cranelift's own optimizations: vector ops on f32x4 (f64x2) over points.
/// With `asm`, the host's machine code instead (`--emit asm`), compiled as the JIT
/// compiles it, so the cost of each op can be read off the instructions.
pub fn emit_clif(kernel: &Kernel, precision: Precision, asm: bool) -> String {
    let isa = match jit::host_isa() {
        Ok(isa) => isa,
        Err(e) => return format!("; {e}\n"),
    };
    let vm = Vm {
        wide: precision == Precision::F64,
        fma: jit::has_fma(&*isa),
    };
    let products = Products::choose().unwrap_or(Products::Clif);
    let groups = Groups::choose(products).unwrap_or(Groups::Clif);
    let mut out = format!("; products with θ: {products}\n");
    let mut fctx = cranelift_frontend::FunctionBuilderContext::new();
    for (s, set) in kernel.programs.iter().enumerate() {
        let prog = &set.program;
        out += &format!("; point set {s}: loss and gradient\n");
        match clif::plan(prog, &set.info, vm, native(products, precision), groups) {
            Ok(plan) => {
                out += &format!(
                    "; {} points per block ({} × {}), scratch {} B, uniform {} B\n",
                    plan.block(),
                    clif::TILE,
                    vm.ty(),
                    plan.scratch_bytes,
                    plan.uniform_bytes
                );
                let route = groups.describe(plan.assembled(), plan.groups.len());
                out += &format!("; element-wise groups: {route}\n");
                let mut func = clif::new_function(s as u32, isa.default_call_conv());
                let end = prog.ops.len();
                clif::build(
                    prog,
                    &plan,
                    end,
                    Part::All,
                    &mut func,
                    &mut fctx,
                    isa.frontend_config(),
                );
                out += &if asm {
                    machine_code(func, &*isa)
                } else {
                    func.display().to_string()
                };
            }
            Err(e) => out += &format!("; {e}\n"),
        }
        out.push('\n');
    }
    out
}

/// `func` compiled for `isa` and disassembled (Cranelift's VCode listing, with
/// register names), or the compiler's error as a comment.
fn machine_code(
    func: cranelift_codegen::ir::Function,
    isa: &dyn cranelift_codegen::isa::TargetIsa,
) -> String {
    let mut ctx = cranelift_codegen::Context::for_function(func);
    ctx.set_disasm(true);
    let mut ctrl = cranelift_codegen::control::ControlPlane::default();
    match ctx.compile(isa, &mut ctrl) {
        Ok(code) => code.vcode.clone().unwrap_or_default(),
        Err(e) => format!("; compile error: {:?}\n", e.inner),
    }
}

/// The microkernels a route calls, if any.
fn native(products: Products, precision: Precision) -> Option<micro::Kernels> {
    match products {
        Products::Clif => None,
        Products::Native(isa) => Some(micro::Kernels::new(isa, precision == Precision::F64)),
    }
}
