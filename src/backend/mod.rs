//! Engines: what evaluates a compiled [`Kernel`]'s loss terms and gradient over the
//! point sets. This module is the boundary every engine keeps and the code they
//! share; each engine lives in a folder of its own and imports only this module and
//! `kernel`, never another engine:
//! - `cpu/`: the Cranelift JIT (the default): `clif` lowers the Kernel IR to
//!   vector code, `jit` compiles it for the host, `vmath` writes the elementary
//!   functions in CLIF;
//! - `gpu/`: `wgsl` lowers the Kernel IR to WGSL compute shaders, the runtime
//!   validates them with naga and runs them with wgpu;
//! - `interp.rs`: the reference interpreter (`kernel::interp`, which stays in
//!   `kernel`: it is the oracle every engine is tested against) behind the same
//!   boundary;
//! - `elementary.rs`: the numerical facts of exp, tanh, log, sin and cos that the
//!   CPU's vector functions and the GPU's f64 functions share.
//!
//! **The boundary.** [`compile`] is the one place that turns an [`EngineChoice`]
//! into an engine: it compiles the kernel for a precision and a thread count. An
//! [`Engine`] runs one [`Pass`] (θ, the reverse pass's seeds, the points) and
//! returns [`Partials`]: rows of f64 partial sums, `[terms | gradient]`, in an order
//! fixed by the points alone. The host side is shared: [`Engine::eval`] hands the
//! passes to `Kernel::eval_with` (checks, seeding, assembly) and combines each
//! pass's rows with [`Partials::combine`], in row order. Results therefore do not
//! depend on the thread count, and reproduce from run to run.
//!
//! **What plugs in here next.**
//! - A second CPU code path chosen per kernel: inside `cpu/` (`ClifKernel::compile`
//!   picks per point set), or, if it deserves its own flag, a new [`EngineKind`]
//!   with a folder of its own and one arm in [`compile`]. Either way its rows are
//!   one per part of points, so its sums agree bit for bit with any thread count.
//! - The loss reduction and the optimizer step on the device: an engine may
//!   override [`Engine::eval`] (fewer rows come back when the device reduces them
//!   in a fixed order), and a device-side step is a new provided method here with
//!   a host fallback, so the trainer keeps one interface.
//!
//! **Across processes** (`team`): under MPI each rank runs [`Engine::partials`] on
//! its contiguous [`Share`] of every point set's parts; the rows are gathered in
//! rank order (an all-gather) so that they stand in the order one process would
//! have produced, and [`Partials::combine`] sums them. Parts are cut by point count
//! alone, so results do not depend on the rank count either.

pub mod cpu;
mod elementary;
pub mod gpu;
mod interp;
mod team;

#[cfg(test)]
pub(crate) mod tests;

use miette::Diagnostic;
use thiserror::Error;

use crate::kernel::interp::Sums;
use crate::kernel::{Evaluation, Kernel, KernelError, PointBatch};
pub use cpu::{emit_clif, ClifKernel};
pub use gpu::{emit_wgsl, AdapterChoice, Gpu, GpuKernel, Profile};
pub use interp::InterpEngine;
pub use team::{on_team, Team};

/// The number format a compiled kernel computes in (sums are always f64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    pub const ALL: [Precision; 2] = [Precision::F32, Precision::F64];

    /// The name on the command line and in the reports.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        }
    }

    /// The precision of that name (reports, checkpoints, the Python package).
    pub fn named(name: &str) -> Option<Precision> {
        Precision::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
pub enum BackendError {
    /// The kernel uses something this back end does not compile.
    #[error("the back end cannot compile this kernel: {0}")]
    #[diagnostic(
        code(pdenet::backend::unsupported),
        help("`--backend cpu` (the default) compiles every kernel")
    )]
    Unsupported(String),
    /// No adapter fits the request (`--backend gpu` without a GPU driver).
    #[error("{0}")]
    #[diagnostic(
        code(pdenet::backend::no_adapter),
        help("install a Vulkan driver (without a GPU: `apt-get install mesa-vulkan-drivers`), or use `--backend cpu` or `--backend auto`")
    )]
    NoAdapter(String),
    /// f64 was asked of an adapter without 64-bit floats in shaders.
    #[error("the adapter `{0}` has no 64-bit floats in shaders (SHADER_F64)")]
    #[diagnostic(
        code(pdenet::backend::no_f64),
        help("use --precision f32, or --backend cpu")
    )]
    NoF64(String),
    /// The device refused a request or failed while running.
    #[error("GPU device error: {0}")]
    #[diagnostic(
        code(pdenet::backend::device),
        help("run again with `--backend cpu`; a device lost mid-run is often a driver reset")
    )]
    Device(String),
    /// naga rejected a generated shader: a compiler bug. The message shows the
    /// offending WGSL lines (`pdenet kernels FILE --emit wgsl` prints it all).
    #[error("internal error (a bug): generated WGSL failed validation:\n{message}")]
    #[diagnostic(
        code(pdenet::backend::invalid_shader),
        help("please report it with the .pde file; `--backend cpu` trains meanwhile")
    )]
    InvalidShader { message: String },
    /// Cranelift refused the generated code or the host.
    #[error("code generation failed: {0}")]
    #[diagnostic(
        code(pdenet::backend::codegen),
        help("please report it with the .pde file and the CPU model; `--interp` trains with the interpreter meanwhile")
    )]
    Codegen(String),
    /// A back-end bug.
    #[error("internal back-end error (a bug): {0}")]
    #[diagnostic(
        code(pdenet::backend::internal),
        help(
            "please report it with the .pde file; `--interp` trains with the interpreter meanwhile"
        )
    )]
    Internal(String),
}

/// An engine, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// The reference interpreter (`kernel::interp`), one thread.
    Interp,
    /// The Cranelift JIT on the CPU.
    Cpu,
    /// WGSL shaders through wgpu.
    Gpu,
}

impl EngineKind {
    /// The name on the command line (`--backend`) and in `bench --json`'s
    /// `backend`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Cpu => "cpu",
            EngineKind::Gpu => "gpu",
        }
    }

    /// The device it runs on: report.json's `backend`.
    pub fn device(self) -> &'static str {
        match self {
            EngineKind::Interp | EngineKind::Cpu => "cpu",
            EngineKind::Gpu => "gpu",
        }
    }

    /// How it runs there: report.json's `engine`.
    pub fn engine(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Cpu => "jit",
            EngineKind::Gpu => "wgsl",
        }
    }
}

/// What the command line asks for: one engine, or the best this machine has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    Engine(EngineKind),
    /// The faster of a hardware GPU (if one opens for the precision) and the CPU
    /// engine, timed by [`fastest`] where the caller has points ([`compile`]
    /// alone takes the GPU); never a software adapter (lavapipe is slower than
    /// the JIT).
    Auto,
}

impl EngineChoice {
    const ALL: [EngineChoice; 4] = [
        EngineChoice::Engine(EngineKind::Cpu),
        EngineChoice::Engine(EngineKind::Gpu),
        EngineChoice::Engine(EngineKind::Interp),
        EngineChoice::Auto,
    ];

    /// The `--backend` name: an engine's, or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            EngineChoice::Engine(k) => k.name(),
            EngineChoice::Auto => "auto",
        }
    }

    /// The choice of that `--backend` name (checkpoints, the Python package).
    pub fn named(name: &str) -> Option<EngineChoice> {
        EngineChoice::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// Compiles `kernel` on the engine `choice` names: the one place that chooses.
/// `threads` ≥ 1 is the CPU engine's worker threads per evaluation.
pub fn compile(
    choice: EngineChoice,
    kernel: &Kernel,
    precision: Precision,
    threads: usize,
) -> Result<Box<dyn Engine>, BackendError> {
    let cpu = || -> Result<Box<dyn Engine>, BackendError> {
        Ok(Box::new(ClifKernel::compile(kernel, precision, threads)?))
    };
    let gpu = |gpu: Gpu| -> Result<Box<dyn Engine>, BackendError> {
        Ok(Box::new(GpuKernel::compile(kernel, precision, gpu)?))
    };
    match choice {
        EngineChoice::Engine(EngineKind::Interp) => {
            Ok(Box::new(InterpEngine::new(kernel, precision)))
        }
        EngineChoice::Engine(EngineKind::Cpu) => cpu(),
        EngineChoice::Engine(EngineKind::Gpu) => gpu(Gpu::new(AdapterChoice::Any, precision)?),
        EngineChoice::Auto => match Gpu::new(AdapterChoice::Hardware, precision) {
            Ok(device) => gpu(device),
            Err(_) => cpu(),
        },
    }
}

/// The engines `choice` may run on here, each compiled: for `auto` on a machine
/// with a hardware GPU that opens for the precision, the GPU engine and the CPU
/// engine, timed by [`time_evaluations`] to choose between; otherwise the one engine
/// [`compile`] gives.
pub fn candidates(
    choice: EngineChoice,
    kernel: &Kernel,
    precision: Precision,
    threads: usize,
) -> Result<Vec<Box<dyn Engine>>, BackendError> {
    if choice != EngineChoice::Auto {
        return Ok(vec![compile(choice, kernel, precision, threads)?]);
    }
    // The adapters are looked at once: without a hardware GPU the CPU engine is
    // the one candidate.
    let cpu = compile(
        EngineChoice::Engine(EngineKind::Cpu),
        kernel,
        precision,
        threads,
    )?;
    let gpu = Gpu::new(AdapterChoice::Hardware, precision)
        .and_then(|gpu| GpuKernel::compile(kernel, precision, gpu));
    match gpu {
        Ok(g) => Ok(vec![Box::new(g), cpu]),
        Err(_) => Ok(vec![cpu]),
    }
}

/// Which of `candidates` evaluates fastest at θ over `batches`, with every
/// candidate's median milliseconds (none timed when there is only one): `--backend
/// auto`'s measured choice, for `run` and `bench` alike.
pub fn fastest(
    candidates: &[Box<dyn Engine>],
    theta: &[f64],
    batches: &[PointBatch],
) -> Result<(usize, Vec<f64>), KernelError> {
    if candidates.len() < 2 {
        return Ok((0, Vec::new()));
    }
    let ms = time_evaluations(candidates, theta, batches)?;
    let best = (0..ms.len()).min_by(|&a, &b| ms[a].total_cmp(&ms[b]));
    Ok((best.unwrap_or(0), ms))
}

/// Evaluations timed per engine by [`time_evaluations`], after one untimed (a GPU
/// compiles its shaders at its first dispatch).
const TIMED_EVALUATIONS: usize = 3;

/// Each engine's median milliseconds for the loss-and-gradient evaluation at θ
/// over `batches`: what `--backend auto` chooses the faster engine by.
pub fn time_evaluations(
    engines: &[Box<dyn Engine>],
    theta: &[f64],
    batches: &[PointBatch],
) -> Result<Vec<f64>, KernelError> {
    let mut out = Vec::with_capacity(engines.len());
    for e in engines {
        let mut ms = Vec::with_capacity(TIMED_EVALUATIONS);
        for k in 0..=TIMED_EVALUATIONS {
            let t0 = std::time::Instant::now();
            e.eval(theta, batches)?;
            if k > 0 {
                ms.push(t0.elapsed().as_secs_f64() * 1e3);
            }
        }
        ms.sort_by(f64::total_cmp);
        out.push(ms[ms.len() / 2]);
    }
    Ok(out)
}

/// What an engine is and where it runs, for report.json and `bench --json`.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineFacts {
    pub kind: EngineKind,
    pub precision: Precision,
    /// The vector instruction set the CPU engine targets (`AVX-512`, `AVX2`,
    /// `NEON`, …), `scalar` for the interpreter, `None` on a GPU.
    pub isa: Option<String>,
    /// Which code computes the CPU engine's products with θ (`avx512`, `avx2`,
    /// `generic` microkernels or `clif`); `None` on other engines.
    pub products: Option<String>,
    /// Which code computes the CPU engine's fused element-wise groups (`clif`, or
    /// `avx512 (k of n)`: k of the n groups as AVX-512 machine code); `None` on
    /// other engines.
    pub groups: Option<String>,
    /// The GPU adapter's name and type.
    pub adapter: Option<String>,
    /// Host threads evaluating the kernel (in each process).
    pub threads: usize,
    /// Processes sharing each evaluation (MPI ranks); 1 in one process.
    pub ranks: usize,
}

/// One pass of an evaluation over every point set.
#[derive(Debug, Clone, Copy)]
pub struct Pass<'a> {
    pub theta: &'a [f64],
    /// ∂total/∂(sum of each term): the reverse pass's seeds (zeros when forward only).
    pub seeds: &'a [f64],
    /// One batch per point set, in `Kernel::programs` order.
    pub batches: &'a [PointBatch],
    /// Run only the forward part (`ops[..backward_start]`): term sums, no gradient.
    pub forward_only: bool,
    /// Which of each point set's parts to compute (all, but under MPI).
    pub share: Share,
}

/// What a device engine did, for `bench`: the figures of issue 21 that do not
/// depend on the hardware's speed. Counts are since the kernel was compiled.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DeviceWork {
    /// How pass 1 is cut: `software` (short segments) or `hardware` (whole).
    pub profile: &'static str,
    /// How pass 2 sums a weight matrix's gradient: `outputs` (an invocation per
    /// entry) or `tiles` (a workgroup per tile).
    pub reduction: &'static str,
    /// Compute pipelines built (every segment of every pass, and the reduction).
    pub shaders: usize,
    /// The widest point set's tape, bytes per point.
    pub tape_bytes_per_point: u64,
    /// Bytes pass 2 reads from global memory per point of the widest point set
    /// (its products' columns; a tiled weight matrix reads each row once per tile).
    pub reduce_bytes_per_point: u64,
    /// Bytes of θ each pass-1 workgroup copies into workgroup memory and reads
    /// the weights from (the widest point set's; 0: θ read from its buffer).
    pub shared_theta_bytes: u64,
    pub dispatches: u64,
    /// Command buffers submitted; each is followed by a wait and a read-back.
    pub submissions: u64,
    pub uploaded_bytes: u64,
    pub read_back_bytes: u64,
    /// Seconds the device spent in pass 1, pass 2, the fold and Adam's update,
    /// from its timestamps, while [`DeviceAdam::time_stages`] is on.
    pub stage_seconds: [f64; 4],
}

/// The exchanges of an engine shared by MPI ranks: every evaluation gathers the
/// ranks' partial sums.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Traffic {
    /// Gathers (one per pass of an evaluation).
    pub gathers: u64,
    /// Seconds in them, waiting for the slowest rank included.
    pub seconds: f64,
    /// Bytes each rank received in all (the whole rows of every rank).
    pub bytes: u64,
}

impl std::ops::Add for Traffic {
    type Output = Traffic;
    fn add(self, o: Traffic) -> Traffic {
        Traffic {
            gathers: self.gathers + o.gathers,
            seconds: self.seconds + o.seconds,
            bytes: self.bytes + o.bytes,
        }
    }
}

/// One of `count` equal, contiguous shares of every point set's parts: an MPI
/// rank's work. Share `index` of n parts is parts `index·n/count ..
/// (index+1)·n/count`, the rule that splits parts over threads too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub index: usize,
    pub count: usize,
}

impl Share {
    /// Every part: one process.
    pub const WHOLE: Share = Share { index: 0, count: 1 };

    /// This share of `n` parts.
    pub fn of(self, n: usize) -> std::ops::Range<usize> {
        self.index * n / self.count..(self.index + 1) * n / self.count
    }
}

impl Pass<'_> {
    /// Gradient entries per row: θ's length, or none for a forward pass.
    pub fn grad_len(&self) -> usize {
        if self.forward_only {
            0
        } else {
            self.theta.len()
        }
    }
}

/// The numbers of one Adam update, computed by the optimizer in f64 (torch's
/// arithmetic, `optim::Adam`) and applied by an engine where θ lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamUpdate {
    /// lr / (1 − β₁ᵏ) for step k.
    pub step_size: f64,
    /// √(1 − β₂ᵏ).
    pub bias2_sqrt: f64,
    /// The first moment's interpolation weight, 1 − β₁.
    pub weight1: f64,
    pub beta2: f64,
    pub eps: f64,
}

/// Adam's vectors: θ, the two moments, and θ where the last finite epoch began
/// (where a failed epoch puts θ back).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdamState {
    pub theta: Vec<f64>,
    pub m: Vec<f64>,
    pub v: Vec<f64>,
    pub last_good: Vec<f64>,
}

/// What one Adam epoch on a device gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEpoch {
    /// Each term's sum over its points at the epoch's θ, before the update.
    pub sums: Vec<f64>,
    /// Whether every term sum and gradient entry was finite, and so θ moved.
    pub updated: bool,
    /// The entries of θ the caller watches, after the update.
    pub watched: Vec<f64>,
}

/// Adam run whole where the kernel runs (issue 21): θ, the moments and the last
/// good θ stay on the device between epochs, and an epoch sends back only the term
/// sums, a flag and the entries of θ the caller watches (the PDE parameters).
pub trait DeviceAdam {
    /// Puts `state` on the device with the loss seeds; θ entries whose `trains`
    /// is false get a zero gradient (`fixed` tensors).
    fn load(&self, state: &AdamState, seeds: &[f64], trains: &[bool]) -> Result<(), KernelError>;
    /// One epoch at the device's θ over `batches`, then `update` unless a term sum
    /// or a gradient entry is not finite. `batches` must not change between a load
    /// and the next unload (only the first epoch after a load compares them with
    /// the device's copy).
    fn epoch(
        &self,
        batches: &[PointBatch],
        update: &AdamUpdate,
        watch: &[usize],
    ) -> Result<DeviceEpoch, KernelError>;
    /// The state as the device holds it, and the last epoch's gradient.
    fn unload(&self) -> Result<(AdamState, Vec<f64>), KernelError>;
    /// Starts (or stops) timing the device's stages into
    /// [`DeviceWork::stage_seconds`]; false where the device has no timestamps.
    fn time_stages(&self, on: bool) -> bool;
}

/// One update of a dense symmetric matrix H (the dense quasi-Newton methods'
/// inverse Hessian): H ← keep·H + β u uᵀ + γ (s uᵀ + u sᵀ) + δ s sᵀ, with keep·I
/// in place of keep·H when `from_identity`. Row i of it is keep·Hᵢ + aᵢ uᵀ + bᵢ sᵀ
/// with aᵢ = β uᵢ + γ sᵢ and bᵢ = γ uᵢ + δ sᵢ, which is how both places that apply
/// it (`optim::dense` on the host, [`DeviceMatrix`]) compute it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankTwo {
    pub keep: f64,
    pub from_identity: bool,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

/// A dense H kept on the engine's device (issue 21): its n² numbers stay there, and
/// each pass over it sends the pending update's vectors and the vectors H
/// multiplies (4n numbers) and brings back the two products (2n). Always f64.
pub trait DeviceMatrix {
    /// Order of the matrix.
    fn order(&self) -> usize;
    /// The one pass over H: applies `update` (with its u and s) to every row, then
    /// returns H·g and H·y.
    fn sweep(
        &mut self,
        update: Option<(RankTwo, &[f64], &[f64])>,
        g: &[f64],
        y: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), KernelError>;
    /// H, row after row (a snapshot's copy).
    fn read(&self) -> Result<Vec<f64>, KernelError>;
    /// Replaces H (a restored snapshot).
    fn write(&mut self, h: &[f64]) -> Result<(), KernelError>;
}

/// A dense H on an engine's device (`Engine::device_matrix`), and whether a setting
/// put it there (`forced`) or the dense phase should first time its pass against the
/// host's and keep H where the pass is faster.
pub struct MatrixOffer {
    pub matrix: Box<dyn DeviceMatrix>,
    pub forced: bool,
}

/// A kernel compiled for one engine, precision and thread count.
pub trait Engine {
    /// The kernel it was compiled from (the host side of an evaluation is its).
    fn kernel(&self) -> &Kernel;

    fn facts(&self) -> EngineFacts;

    /// Runs `pass` over every point set and returns its partial sums, rows in an
    /// order that depends only on the points: point set after point set, within
    /// one its parts of points in point order, each set's rows closed by
    /// [`Partials::end_set`], only `pass.share`'s parts. The interpreter, the
    /// oracle, sums its own way and returns a single row (and is never shared:
    /// [`on_team`]).
    fn partials(&self, pass: &Pass) -> Result<Partials, KernelError>;

    /// A device engine's shaders and the work it has handed its device so far
    /// (dispatches, submissions, bytes each way); `None` on the CPU.
    fn device_work(&self) -> Option<DeviceWork> {
        None
    }

    /// Adam on the engine's device, where it can run there (a GPU engine whose
    /// seeds do not depend on the sums: no integral terms); `None` otherwise.
    fn device_adam(&self) -> Option<&dyn DeviceAdam> {
        None
    }

    /// A dense n×n H on the engine's device for a dense quasi-Newton phase, where
    /// it fits there and may be worth it (`gpu::matrix`); `None` keeps H on the host.
    fn device_matrix(&self, _n: usize) -> Option<MatrixOffer> {
        None
    }

    /// What sharing the evaluations with other processes cost so far; `None` for
    /// an engine that does not share them.
    fn traffic(&self) -> Option<Traffic> {
        None
    }

    /// Loss per term, total and gradient: the semantics of [`Kernel::eval`] in
    /// the engine's precision, sums in f64.
    fn eval(&self, theta: &[f64], batches: &[PointBatch]) -> Result<Evaluation, KernelError> {
        self.eval_scaled(theta, batches, None)
    }

    /// [`Engine::eval`] with each term's weight multiplied by `scale[t]` when given
    /// (adaptive loss weights; a one-hot scale gives one weighted term's gradient).
    fn eval_scaled(
        &self,
        theta: &[f64],
        batches: &[PointBatch],
        scale: Option<&[f64]>,
    ) -> Result<Evaluation, KernelError> {
        self.kernel()
            .eval_with(theta, batches, scale, |seeds, forward_only| {
                let pass = Pass {
                    theta,
                    seeds,
                    batches,
                    forward_only,
                    share: Share::WHOLE,
                };
                Ok(self.partials(&pass)?.combine())
            })
    }
}

/// Partial sums of one pass: rows of `[terms | gradient]`, `width` numbers each,
/// in the order the engine documents; combined only by [`Partials::combine`].
#[derive(Debug, Clone, PartialEq)]
pub struct Partials {
    n_terms: usize,
    width: usize,
    rows: Vec<f64>,
    /// The number of rows when each point set's rows ended.
    set_ends: Vec<usize>,
}

impl Partials {
    /// No rows yet, for `n_terms` terms and `grad_len` gradient entries.
    pub fn new(n_terms: usize, grad_len: usize) -> Partials {
        Partials {
            n_terms,
            width: n_terms + grad_len,
            rows: vec![],
            set_ends: vec![],
        }
    }

    /// Rows so far.
    pub fn row_count(&self) -> usize {
        self.rows.len() / self.width.max(1)
    }

    /// Closes the current point set's rows (an engine calls it after each set).
    pub fn end_set(&mut self) {
        self.set_ends.push(self.row_count());
    }

    /// Numbers per row: the terms, then the gradient.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Appends `n` rows of zeros for each of several point sets, closing each set,
    /// and returns them all, for an engine to fill in place (the CPU engine's
    /// threads take rows in turn).
    pub fn add_sets(&mut self, counts: impl Iterator<Item = usize>) -> &mut [f64] {
        let start = self.rows.len();
        for n in counts {
            self.rows.resize(self.rows.len() + n * self.width, 0.0);
            self.end_set();
        }
        &mut self.rows[start..]
    }

    /// Appends one row: `row`'s first `width` numbers, zeros where it is shorter.
    pub fn push(&mut self, row: &[f64]) {
        let take = row.len().min(self.width);
        self.rows.extend_from_slice(&row[..take]);
        self.rows.resize(self.rows.len() + self.width - take, 0.0);
    }

    /// The sums: every row added in order, starting from zero. This one
    /// combination, the same for every engine, is what makes the results
    /// independent of how the rows were computed.
    pub fn combine(&self) -> Sums {
        let mut terms = vec![0.0; self.n_terms];
        let mut grad = vec![0.0; self.width - self.n_terms];
        for row in self.rows.chunks_exact(self.width.max(1)) {
            let (t, g) = row.split_at(self.n_terms);
            for (s, p) in terms.iter_mut().zip(t) {
                *s += p;
            }
            for (s, p) in grad.iter_mut().zip(g) {
                *s += p;
            }
        }
        Sums {
            terms,
            grad,
            stores: vec![],
        }
    }
}
