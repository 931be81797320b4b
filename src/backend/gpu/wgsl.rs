//! Kernel IR → WGSL: one compute shader per point-set program (and, for problems
//! with integral terms, one more for its forward pass alone), plus one generic
//! reduction shader.
//!
//! Pass 1 (generated): one invocation per point of a chunk runs the whole per-point
//! program, forward and reverse. Values of width 1 are WGSL `let`s (or `var`s that a
//! loop assigns); wider values live in the global `tape` buffer in slots from
//! [`plan_slots`] (a slot is reused once its value is dead), entry-major with the
//! chunk's point count `n` as stride, so neighbouring invocations touch neighbouring
//! words. θ slices are read from `params` in place; constants and splats are scalars.
//! Uniform values are simply recomputed by every invocation. Each sink writes its
//! per-point contribution to `contrib` columns: one column per loss term (the sum of
//! its sinks at this point), and the vectors the gradient sinks reduce (a
//! `GradParam`'s value, a `GradMatrix`'s δ and x), each value once.
//!
//! Pass 1 is cut into segments of about [`SEGMENT_LINES`] lines (larger where a kernel
//! would otherwise have more than [`MAX_SEGMENTS`]), each its own shader, dispatched
//! one after another on the same buffers: lavapipe's compile time grows with about
//! the square of a shader's size. On a hardware GPU ([`Profile::Hardware`]) the
//! segments are longer ([`FUNCTION_LINES`]) and are functions of one shader, called
//! in order by one invocation: one dispatch. A scalar (a `let`) that a later segment
//! reads goes through a tape slot of its own; leaves (coordinates, constants, θ
//! entries) are simply read again. Each segment adds its loss-term sums into
//! `contrib`.
//!
//! Pass 2 ([`reduce`]): one invocation per output (loss terms, then θ entries) and
//! segment of `SEG` points sums that output's products of contribution columns over
//! the segment's points, in point order, without atomics (WGSL has no float
//! atomics). A weight matrix's gradient dW[r,c] = Σₚ δ[r]·x[c] is a product of two
//! matrices over the points, so it goes to [`tiled`] instead: a workgroup per
//! [`TILE`] × [`TILE`] block of W and segment stages [`WORKGROUP`] points of the
//! block's δ and x rows in workgroup memory, and each invocation sums its entry from
//! there. Invocations per output would each read both of their columns from global
//! memory, neighbours reading columns `n` numbers apart; a tile reads each of its
//! 2·TILE columns once, in contiguous runs, 8 times fewer numbers for a whole tile.
//! Both add the same products in the same order, so they give the same sums.
//!
//! Pass 3 ([`fold`]): one invocation per output and *row* (up to 64 segments, 16 384
//! points) adds the row's segment sums in order into the pass's rows (each chunk's
//! at `info.base`), so one row per 16 384 points comes back, not one per 256. Rows start at fixed point indices, so the host adds the
//! same rows in f64, in the same order, however the points were shared among ranks.
//!
//! Every loop bound adds `info.zero`, which is 0 at run time but unknown to the
//! driver's compiler: lavapipe (and other drivers) fully unroll loops with constant
//! trip counts, and the unrolled products of a small network took LLVM 9.6 s for one
//! shader (examples/well_harmonic.pde); real GPUs lose little by keeping the loops.
//!
//! llvmpipe (lavapipe) also stops every loop of a shader invocation once all its
//! loops together have iterated 65 535 times (Mesa's `LP_MAX_TGSI_LOOP_ITERATIONS`,
//! one counter per invocation), silently: a QRes of width 64 and depth 2 with
//! Burgers' derivatives needs about 83 000 and got a product cut off mid-row. So the
//! emitter counts the iterations a point runs and, when they pass [`LOOP_BUDGET`],
//! writes `2, 4, 8, …` entries per iteration until they fit (on a software adapter:
//! [`Design::loop_budget`]).
//!
//! Functions: f32 uses WGSL's built-ins (tanh with its argument clamped to ±20, where
//! it is ±1 in f32, so no driver's exp-based formula overflows to NaN). Vulkan has
//! no f64 transcendentals, so f64 uses the same algorithms as the CPU back end's
//! vector math (range reduction, Taylor polynomials) written in WGSL.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::backend::elementary::{LN2_F64, PIO2_F64, TERMS_F64};
use crate::backend::{BackendError, Precision};
use crate::expr::Func;
use crate::kernel::ir::{Op, Program, Value};
use crate::kernel::passes::{plan_slots, Info};

/// Invocations per workgroup of every pass.
pub(crate) const WORKGROUP: u32 = 64;
/// Rows and columns of a weight matrix one workgroup of [`tiled`] sums
/// (`TILE`² = [`WORKGROUP`]).
pub(crate) const TILE: u32 = 8;
/// Marks a pass-2 product with one factor (`b` of a pair).
pub(crate) const NONE: u32 = u32::MAX;
/// Loop iterations one invocation may run: llvmpipe leaves every loop after 65 535
/// (counting each loop's final test too), less a margin for the helper functions'
/// data-dependent loops (`log_`'s rescaling, which rarely runs).
pub(crate) const LOOP_BUDGET: u64 = 60_000;

/// Lines of pass-1 code per shader (segment). On lavapipe a 391-line shader (the
/// collocation set of Burgers with a QSC network of width 10 × 8) took 16.7 s to
/// compile and a 119-line one 0.8 s: about the square of the size. The GPU check of
/// examples/burgers.pde (f32, compilation included) took 416 s uncut, 22 s cut at
/// 100 lines, 15 s at 50 and 15 s at 25; fewer, larger segments cost less on a real
/// GPU.
pub(crate) const SEGMENT_LINES: usize = 50;

/// Segments a kernel may have in all (every point set and pass). llvmpipe keeps at
/// most 1 024 compiled compute shaders per context (`LP_MAX_SHADER_VARIANTS` in
/// Mesa's lp_limits.h) and evicts the least recently used ones, so a kernel with more
/// segments than that compiles every one of them again on every evaluation:
/// examples/allen_cahn.pde in 1 105 segments of 50 lines took 146 s per evaluation.
/// Past this count the segments grow instead (to 78 lines for that example).
pub(crate) const MAX_SEGMENTS: usize = 768;

/// Op lines per function of a hardware-profile pass 1. Every shader goes through
/// naga's WGSL front end (our validation, and wgpu's), which types a function's
/// expressions by walking its arena from the first one again for each new
/// expression (`Typifier::grow` over a skipped iterator, naga 30): a function's parse
/// time grows with the square of its length. Navier–Stokes' pass 1 (4 706 ops) as
/// one function did not parse in 5 minutes; cut at this many lines, each function is
/// small and the whole shader parses in linear time (docs/gpu-notes.md).
pub(crate) const FUNCTION_LINES: usize = 2000;

/// A generated pass 1 (its segments' shaders, run in order) and what the host needs
/// to run and reduce it.
#[derive(Debug, Clone)]
pub(crate) struct Shader {
    pub segments: Vec<String>,
    /// Tape entries per point.
    pub tape_width: u32,
    /// Contribution columns per point (the loss terms first).
    pub contrib_width: u32,
    /// Per output (the loss terms, then θ's entries): the pairs `(a, b)` of
    /// contribution columns whose products pass 2 sums (`b == NONE`: column `a`
    /// alone).
    pub pairs: Vec<Vec<(u32, u32)>>,
    /// The tiled pass 2's table (empty when no weight matrix can be tiled): the
    /// tile count, where the pairs start, a record per tile (first output, the
    /// matrix's rows and columns, the tile's first row and column, its pairs
    /// `k0..k1`, 0), then the pairs (first δ column, first x column).
    pub tiles: Vec<u32>,
    /// The outputs the tiles sum.
    pub tiled: Vec<std::ops::Range<u32>>,
    pub n_out: u32,
    /// θ's first entries each workgroup reads from workgroup memory.
    pub shared: u32,
}

impl Shader {
    /// The table of the pass per output: `n_out + 1` offsets into the pairs, then
    /// the pairs; with `Reduction::Tiles`, the tiled outputs have none (that pass
    /// writes 0 for them, which the tiled pass then overwrites).
    pub(crate) fn table(&self, reduction: Reduction) -> Vec<u32> {
        let pairs = self.pairs_of(reduction);
        let mut table = Vec::with_capacity(pairs.len() + 1);
        let mut at = 0;
        for p in &pairs {
            table.push(at);
            at += p.len() as u32;
        }
        table.push(at);
        table.extend(pairs.into_iter().flatten().flat_map(|(a, b)| [*a, *b]));
        table
    }

    /// Each output's pairs in the pass per output.
    fn pairs_of(&self, reduction: Reduction) -> Vec<&[(u32, u32)]> {
        let tiled =
            |o: u32| reduction == Reduction::Tiles && self.tiled.iter().any(|r| r.contains(&o));
        (0..self.n_out)
            .map(|o| {
                if tiled(o) {
                    &[][..]
                } else {
                    &self.pairs[o as usize][..]
                }
            })
            .collect()
    }

    /// The tile count under `reduction` (0: no tiled pass).
    pub(crate) fn n_tiles(&self, reduction: Reduction) -> u32 {
        match reduction {
            Reduction::Tiles => self.tiles.first().copied().unwrap_or(0),
            Reduction::Outputs => 0,
        }
    }

    fn tile_records(&self, reduction: Reduction) -> impl Iterator<Item = &[u32]> {
        let n = self.n_tiles(reduction) as usize;
        self.tiles.get(2..2 + 8 * n).unwrap_or(&[]).chunks(8)
    }

    /// The most loop iterations a pass-2 invocation runs over segments of `seg`
    /// points (its products, each a loop over the points, or over the blocks of a
    /// tile), to hold it to [`LOOP_BUDGET`] too.
    pub(crate) fn reduce_trips(&self, seg: u32, reduction: Reduction) -> u64 {
        let seg = u64::from(seg);
        let pairs = self.pairs_of(reduction);
        let per_output = pairs
            .iter()
            .map(|p| p.len() as u64)
            .map(|k| k + 1 + k * (seg + 1));
        let block = u64::from(TILE + 1) + u64::from(WORKGROUP + 1) + 1;
        let per_tile = self.tile_records(reduction).map(|t| {
            let k = u64::from(t[6] - t[5]);
            k + 1 + k * (seg.div_ceil(u64::from(WORKGROUP)) * block + 1)
        });
        per_output.chain(per_tile).max().unwrap_or(0)
    }

    /// The numbers pass 2 reads from global memory per point: each product's
    /// columns in the pass per output, each pair's 2·TILE rows (fewer at a
    /// matrix's edge) per tile.
    pub(crate) fn reduce_reads(&self, reduction: Reduction) -> u64 {
        let pairs = self.pairs_of(reduction);
        let per_output = pairs
            .iter()
            .flat_map(|p| p.iter())
            .map(|&(_, b)| if b == NONE { 1 } else { 2 });
        let per_tile = self.tile_records(reduction).map(|t| {
            let edge = |size: u32, first: u32| u64::from(TILE.min(size - first));
            u64::from(t[6] - t[5]) * (edge(t[1], t[3]) + edge(t[2], t[4]))
        });
        per_output.sum::<u64>() + per_tile.sum::<u64>()
    }
}

/// How pass 2 sums a weight matrix's gradient: an invocation per entry, or a
/// workgroup per tile through workgroup memory ([`tiled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    Outputs,
    Tiles,
}

impl Reduction {
    /// `PDENET_GPU_REDUCE=outputs|tiles` if set, else by the profile: tiles on a
    /// GPU, as its matrix libraries do; per output on a software adapter, where
    /// lavapipe ran the tiled pass 2 about twice as slowly (its barriers are costly
    /// on a CPU; docs/gpu-notes.md).
    pub fn for_profile(profile: Profile) -> Reduction {
        let choices = [("outputs", Reduction::Outputs), ("tiles", Reduction::Tiles)];
        by_profile("PDENET_GPU_REDUCE", profile, choices)
    }

    pub fn name(self) -> &'static str {
        match self {
            Reduction::Outputs => "outputs",
            Reduction::Tiles => "tiles",
        }
    }
}

/// How a value is read.
#[derive(Debug, Clone)]
enum Repr {
    /// No value (sinks).
    Sink,
    /// A WGSL scalar named here, the same for every entry (width 1, constants, splats).
    Scalar(String),
    /// θ entries from this offset.
    Param(u32),
    /// Tape entries from this slot offset.
    Tape(u32),
}

/// How pass 1 is cut into shaders: for a software adapter or for a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Segments of about [`SEGMENT_LINES`] lines, at most [`MAX_SEGMENTS`]: what
    /// lavapipe compiles in reasonable time and caches (docs/gpu-notes.md).
    Software,
    /// Each pass 1 in one shader, one dispatch: a hardware driver compiles large
    /// shaders quickly, and every dispatch costs a trip of the live values through
    /// memory. A long pass is written as functions of at most [`FUNCTION_LINES`]
    /// lines called in order from its entry point, for naga's sake (there).
    Hardware,
}

impl Profile {
    /// `PDENET_GPU_PROFILE=software|hardware` if set, else by the adapter: software
    /// for a CPU adapter (lavapipe), hardware for any other.
    pub fn for_adapter(device_type: wgpu::DeviceType) -> Profile {
        let (software, hardware) = (Profile::Software, Profile::Hardware);
        let default = match device_type {
            wgpu::DeviceType::Cpu => software,
            _ => hardware,
        };
        let choices = [("software", software), ("hardware", hardware)];
        setting("PDENET_GPU_PROFILE", choices, default)
    }

    pub fn name(self) -> &'static str {
        match self {
            Profile::Software => "software",
            Profile::Hardware => "hardware",
        }
    }
}

/// What pass 1 reads θ from: its storage buffer, or workgroup memory that each
/// workgroup fills once (as many of θ's first entries as fit), so that the
/// products with θ, which every invocation of a workgroup makes with the same
/// weights, read them from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theta {
    Storage,
    Workgroup,
}

impl Theta {
    /// `PDENET_GPU_THETA=storage|workgroup` if set, else by the profile:
    /// workgroup memory on a GPU, the storage buffer on a software adapter (whose
    /// segments would each copy θ again).
    pub fn for_profile(profile: Profile) -> Theta {
        let choices = [("storage", Theta::Storage), ("workgroup", Theta::Workgroup)];
        by_profile("PDENET_GPU_THETA", profile, choices)
    }
}

/// The choice environment variable `var` names, or `default` when it is unset or
/// names none of `choices`.
fn setting<T: Copy>(var: &str, choices: [(&str, T); 2], default: T) -> T {
    let value = std::env::var(var).ok();
    let named = choices.iter().find(|c| value.as_deref() == Some(c.0));
    named.map_or(default, |c| c.1)
}

/// [`setting`] whose default is the profile's: the first of `choices` for the
/// software profile, the second for the hardware one.
fn by_profile<T: Copy>(var: &str, profile: Profile, choices: [(&str, T); 2]) -> T {
    let default = match profile {
        Profile::Software => choices[0].1,
        Profile::Hardware => choices[1].1,
    };
    setting(var, choices, default)
}

/// The engine's shape on an adapter: how pass 1 is cut, how pass 2 sums a weight
/// matrix's gradient, and where pass 1 reads θ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Design {
    pub profile: Profile,
    pub reduction: Reduction,
    pub theta: Theta,
    /// The hardware profile's most op lines per function ([`FUNCTION_LINES`]).
    pub function_lines: usize,
    /// llvmpipe's limit on a shader invocation's loop iterations applies (a
    /// software adapter: [`LOOP_BUDGET`]); a hardware driver has none, and its
    /// loops are then never unrolled.
    pub loop_budget: bool,
}

impl Design {
    /// By the adapter's type, each part forced by its setting.
    pub fn for_adapter(device_type: wgpu::DeviceType) -> Design {
        let profile = Profile::for_adapter(device_type);
        Design {
            profile,
            reduction: Reduction::for_profile(profile),
            theta: Theta::for_profile(profile),
            function_lines: FUNCTION_LINES,
            loop_budget: device_type == wgpu::DeviceType::Cpu,
        }
    }
}

/// One pass 1 to generate: a program, its point set's info and the ops it runs
/// (`..end`).
pub(crate) type PassSpec<'a> = (&'a Program, &'a Info, usize);

/// The pass-1 shaders of every pass in `passes`, in `precision`: in the software
/// profile cut at [`SEGMENT_LINES`], or at more where that would make more than
/// [`MAX_SEGMENTS`] segments in all; in the hardware profile one shader, its
/// functions cut at `design.function_lines`. Each reads as many of θ's first
/// entries from workgroup memory as `theta_room` (entries) allows, 0 for none.
pub(crate) fn emit_all(
    passes: &[PassSpec],
    precision: Precision,
    design: Design,
    theta_room: u32,
) -> Result<Vec<Shader>, BackendError> {
    let lines = passes
        .iter()
        .map(|&(prog, info, end)| {
            Ok(Emitter::run(prog, info, end, precision, 1, vec![], 0)?.op_lines)
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    let limit = match design.profile {
        Profile::Software => segment_limit(&lines),
        Profile::Hardware => design.function_lines,
    };
    passes
        .iter()
        .zip(&lines)
        .map(|(&(prog, info, end), l)| {
            let shared = theta_room.min(prog.theta_len);
            emit_cut((prog, info, end), precision, cut(l, limit), shared, design)
        })
        .collect()
}

/// The smallest line limit from [`SEGMENT_LINES`] up (in steps of an eighth) that
/// cuts passes of these op line counts into at most [`MAX_SEGMENTS`] segments.
fn segment_limit(lines: &[Vec<usize>]) -> usize {
    let segments = |limit| lines.iter().map(|l| cut(l, limit).len() + 1).sum::<usize>();
    let mut limit = SEGMENT_LINES;
    while segments(limit) > MAX_SEGMENTS && lines.iter().any(|l| !cut(l, limit).is_empty()) {
        limit += limit / 8;
    }
    limit
}

/// The same cut before each op in `cuts` (into shaders in the software profile,
/// into functions of one shader in the hardware one), unrolled as far as the loop
/// budget needs where it applies, with θ's first `shared` entries read from
/// workgroup memory.
fn emit_cut(
    (prog, info, end): PassSpec,
    precision: Precision,
    cuts: Vec<usize>,
    shared: u32,
    design: Design,
) -> Result<Shader, BackendError> {
    let widest = prog.types[..end].iter().map(|t| t.width).max().unwrap_or(1);
    let mut unroll = 1;
    loop {
        let e = Emitter::run(prog, info, end, precision, unroll, cuts.clone(), shared)?;
        // One invocation runs every function of a hardware-profile shader.
        let trips = match design.profile {
            Profile::Software => e.most_trips(),
            Profile::Hardware => e.total_trips(),
        };
        if !design.loop_budget || trips <= LOOP_BUDGET {
            return Ok(e.finish(end, design.profile));
        }
        if unroll >= widest {
            return Err(BackendError::Unsupported(format!(
                "one point of this kernel runs {trips} loop iterations in one shader even \
                 with every loop written out, more than the {LOOP_BUDGET} a shader may run \
                 on llvmpipe"
            )));
        }
        unroll *= 2;
    }
}

/// The first op of each segment after the first: a new segment starts where the
/// next op's lines would take the current one past `limit` (an op is never split).
fn cut(op_lines: &[usize], limit: usize) -> Vec<usize> {
    let mut cuts = vec![];
    let mut lines = 0;
    for (i, &l) in op_lines.iter().enumerate() {
        if lines > 0 && lines + l > limit {
            cuts.push(i);
            lines = 0;
        }
        lines += l;
    }
    cuts
}

struct Emitter<'a> {
    prog: &'a Program,
    ty: &'static str,
    suffix: &'static str,
    precision: Precision,
    repr: Vec<Repr>,
    tape_width: u32,
    /// First contribution column of each saved gradient value.
    saved: HashMap<Value, u32>,
    contrib_width: u32,
    /// Per output: the column pairs pass 2 sums.
    pairs: Vec<Vec<(u32, u32)>>,
    /// The weight-gradient sinks in order: first output, rows, columns, first δ
    /// column, first x column (what pass 2 may tile).
    matrices: Vec<[u32; 5]>,
    /// The current segment's code.
    out: String,
    /// Entries per loop iteration.
    unroll: u32,
    /// The current segment's loop iterations so far, as llvmpipe counts them (see
    /// [`LOOP_BUDGET`]).
    trips: u64,
    /// The first op of each segment after the first.
    cuts: Vec<usize>,
    /// The segment being written.
    seg: usize,
    /// Finished segments: code and loop iterations.
    segments: Vec<(String, u64)>,
    /// Lines written so far, and the number each op wrote (where to cut).
    lines: usize,
    op_lines: Vec<usize>,
    /// Tape slots of scalars that a later segment reads.
    spill: HashMap<usize, u32>,
    /// Per segment: scalars of earlier segments it reads (loaded or recomputed first),
    /// and spilled scalars it defines (stored last).
    loads: Vec<BTreeSet<usize>>,
    stores: Vec<BTreeSet<usize>>,
    /// θ's first entries that each workgroup copies into workgroup memory
    /// (`wtheta`) and reads from there: every invocation of a workgroup reads the
    /// same weights. 0 reads θ from its storage buffer only.
    shared: u32,
}

impl<'a> Emitter<'a> {
    /// The emitter after writing the body of `prog.ops[..end]`, cut before each op
    /// in `cuts`.
    fn run(
        prog: &'a Program,
        info: &Info,
        end: usize,
        precision: Precision,
        unroll: u32,
        cuts: Vec<usize>,
        shared: u32,
    ) -> Result<Emitter<'a>, BackendError> {
        let mut e = Emitter::new(prog, precision, unroll, cuts);
        e.shared = shared;
        e.plan(info, end);
        e.plan_segments(end)?;
        e.body(end)?;
        Ok(e)
    }

    fn new(prog: &'a Program, precision: Precision, unroll: u32, cuts: Vec<usize>) -> Emitter<'a> {
        let (ty, suffix) = match precision {
            Precision::F32 => ("f32", "f"),
            Precision::F64 => ("f64", "lf"),
        };
        Emitter {
            prog,
            ty,
            suffix,
            precision,
            repr: vec![],
            tape_width: 0,
            saved: HashMap::new(),
            contrib_width: prog.n_terms,
            pairs: vec![],
            matrices: vec![],
            out: String::new(),
            unroll,
            trips: 0,
            cuts,
            seg: 0,
            segments: vec![],
            lines: 0,
            op_lines: vec![],
            spill: HashMap::new(),
            loads: vec![],
            stores: vec![],
            shared: 0,
        }
    }

    /// The most loop iterations any one segment runs.
    fn most_trips(&self) -> u64 {
        self.segments.iter().map(|s| s.1).max().unwrap_or(0)
    }

    /// The loop iterations of all segments together (each counts its copy of θ
    /// into workgroup memory, which a shader of functions makes once: an
    /// overcount on the safe side).
    fn total_trips(&self) -> u64 {
        self.segments.iter().map(|s| s.1).sum()
    }

    /// The segment op `i` belongs to.
    fn segment_of(&self, i: usize) -> usize {
        self.cuts.partition_point(|&c| c <= i)
    }

    /// Which scalars cross into later segments, and the tape slots of those that
    /// are not leaves.
    fn plan_segments(&mut self, end: usize) -> Result<(), BackendError> {
        let prog = self.prog;
        let n = self.cuts.len() + 1;
        self.loads = vec![BTreeSet::new(); n];
        self.stores = vec![BTreeSet::new(); n];
        // A wide splat is read as its scalar's name: its scalar is what crosses.
        let mut owner: Vec<usize> = (0..end).collect();
        for i in 0..end {
            if let Op::Splat { x, width } = prog.ops[i] {
                if width > 1 {
                    owner[i] = owner[x.index()];
                }
            }
        }
        for i in 0..end {
            let s = self.segment_of(i);
            for v in prog.ops[i].operands() {
                let o = owner[v.index()];
                let from = self.segment_of(o);
                if from == s || !matches!(self.repr[o], Repr::Scalar(_)) {
                    continue;
                }
                self.loads[s].insert(o);
                if self.leaf(o)?.is_none() && !self.spill.contains_key(&o) {
                    self.spill.insert(o, self.tape_width);
                    self.tape_width += 1;
                    self.stores[from].insert(o);
                }
            }
        }
        Ok(())
    }

    /// Chooses each value's representation; wide computed values get tape slots.
    fn plan(&mut self, info: &Info, end: usize) {
        let prog = self.prog;
        let on_tape = |i: usize| {
            i < end
                && prog.types[i].width > 1
                && !matches!(
                    prog.ops[i],
                    Op::Const { .. } | Op::Param { .. } | Op::Splat { .. }
                )
        };
        let slots = plan_slots(prog, info, on_tape);
        let mut base = vec![];
        for &w in &slots.slot_width {
            base.push(self.tape_width);
            self.tape_width += w;
        }
        self.repr = (0..prog.ops.len())
            .map(|i| match (&prog.ops[i], slots.slot[i]) {
                (_, Some(s)) => Repr::Tape(base[s as usize]),
                (op, None) if op.is_sink() => Repr::Sink,
                (Op::Param { offset, len }, None) if *len > 1 => Repr::Param(*offset),
                (Op::Splat { x, .. }, None) => Repr::Scalar(format!("v{}", x.0)),
                _ => Repr::Scalar(format!("v{i}")),
            })
            .collect();
        let grads = if end > prog.backward_start {
            prog.theta_len
        } else {
            0
        };
        self.pairs = vec![vec![]; (prog.n_terms + grads) as usize];
        for t in 0..prog.n_terms {
            self.pairs[t as usize].push((t, NONE));
        }
    }

    fn lit(&self, x: f64) -> Result<String, BackendError> {
        let x = match self.precision {
            Precision::F32 => format!("{:?}", x as f32),
            Precision::F64 => format!("{x:?}"),
        };
        if x.contains("inf") || x.contains("NaN") {
            return Err(BackendError::Unsupported(format!(
                "the constant {x} has no WGSL literal"
            )));
        }
        Ok(format!("{x}{}", self.suffix))
    }

    /// Entry `j` (a WGSL u32 expression) of `v`; width-1 values broadcast.
    fn at(&self, v: Value, j: &str) -> String {
        let j = if self.prog.ty(v).width == 1 { "0u" } else { j };
        match &self.repr[v.index()] {
            Repr::Scalar(name) => name.clone(),
            Repr::Param(off) => {
                let from = self.theta_from(*off, self.prog.ty(v).width);
                format!("{from}[{off}u + {j}]")
            }
            Repr::Tape(base) => format!("tape[p + ({base}u + {j}) * n]"),
            Repr::Sink => "/* sink */".into(),
        }
    }

    /// The buffer θ's entries `first..first + len` are read from: workgroup memory
    /// when all of them were copied there.
    fn theta_from(&self, first: u32, len: u32) -> &'static str {
        match first + len <= self.shared {
            true => "wtheta",
            false => "params",
        }
    }

    /// Where entry `j` of op `i`'s result is assigned.
    fn dst(&self, i: usize, j: &str) -> String {
        match &self.repr[i] {
            Repr::Tape(base) => format!("tape[p + ({base}u + {j}) * n]"),
            _ => format!("v{i}"),
        }
    }

    fn line(&mut self, s: &str) {
        self.lines += 1;
        self.out.push_str("    ");
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// `dst[j] = f(j)` for every entry of op `i`'s result: a `let` at width 1, a loop
    /// over the tape slot otherwise.
    fn map(&mut self, i: usize, f: impl Fn(&Self, &str) -> String) {
        let w = self.prog.types[i].width;
        if w == 1 {
            let rhs = f(self, "0u");
            self.line(&format!("let v{i} = {rhs};"));
        } else {
            let code = repeat(w, "j", self.unroll, |j| {
                format!("{} = {};", self.dst(i, j), f(self, j))
            });
            self.looped(code);
        }
    }

    /// Writes a loop from [`repeat`] and counts its iterations.
    fn looped(&mut self, (code, trips): (String, u64)) {
        self.trips += trips;
        self.line(&code);
    }

    /// Declares op `i`'s scalar as a `var` when a loop assigns it.
    fn declare(&mut self, i: usize) {
        if self.prog.types[i].width == 1 {
            let ty = self.ty;
            self.line(&format!("var v{i}: {ty};"));
        }
    }

    /// The `let` of op `i` when it only reads a column, a constant or a θ entry:
    /// such scalars are read again where a later segment needs them.
    fn leaf(&self, i: usize) -> Result<Option<String>, BackendError> {
        let prog = self.prog;
        let (nc, nd) = (prog.n_coords, prog.n_data);
        let read = |what: String| Ok(Some(format!("let v{i} = {what};")));
        match prog.ops[i] {
            Op::Coord(k) => read(format!("cols[p + {k}u * n]")),
            Op::DataCol(k) => read(format!("cols[p + {}u * n]", nc + k)),
            Op::Weight => read(format!("cols[p + {}u * n]", nc + nd)),
            Op::Const { value, .. } => read(self.lit(value.get())?),
            Op::Param { offset, len: 1 } => {
                read(format!("{}[{offset}u]", self.theta_from(offset, 1)))
            }
            Op::TermSeed(t) => read(format!("params[{}u]", prog.theta_len + t)),
            _ => Ok(None),
        }
    }

    /// Starts segment `s`: its term sums, and the scalars it reads from earlier ones.
    fn open(&mut self, s: usize) -> Result<(), BackendError> {
        self.seg = s;
        // The copy of θ into workgroup memory that opens every segment.
        if self.shared > 0 {
            self.trips += u64::from(self.shared.div_ceil(WORKGROUP)) + 1;
        }
        let zero = self.lit(0.0)?;
        for t in 0..self.prog.n_terms {
            self.line(&format!("var acc{t} = {zero};"));
        }
        for o in self.loads[s].clone() {
            match self.leaf(o)? {
                Some(read) => self.line(&read),
                None => self.line(&format!("let v{o} = tape[p + {}u * n];", self.spill[&o])),
            }
        }
        Ok(())
    }

    /// Ends the current segment: stores the scalars later ones read and adds its
    /// term sums to the loss columns.
    fn close(&mut self) {
        for o in self.stores[self.seg].clone() {
            self.line(&format!("tape[p + {}u * n] = v{o};", self.spill[&o]));
        }
        let add = if self.seg == 0 { "=" } else { "+=" };
        for t in 0..self.prog.n_terms {
            self.line(&format!("contrib[p + {t}u * n] {add} acc{t};"));
        }
        let code = std::mem::take(&mut self.out);
        self.segments.push((code, std::mem::take(&mut self.trips)));
    }

    fn body(&mut self, end: usize) -> Result<(), BackendError> {
        self.open(0)?;
        for i in 0..end {
            if self.cuts.binary_search(&i).is_ok() {
                self.close();
                self.open(self.seg + 1)?;
            }
            let before = self.lines;
            self.op(i)?;
            self.op_lines.push(self.lines - before);
        }
        self.close();
        Ok(())
    }

    /// Writes op `i`.
    fn op(&mut self, i: usize) -> Result<(), BackendError> {
        let prog = self.prog;
        let (nc, nd) = (prog.n_coords, prog.n_data);
        if let Some(read) = self.leaf(i)? {
            self.line(&read);
            return Ok(());
        }
        match prog.ops[i] {
            // Leaves are written above; a wider θ slice is read in place.
            Op::Coord(_)
            | Op::DataCol(_)
            | Op::Weight
            | Op::Const { .. }
            | Op::Param { .. }
            | Op::TermSeed(_) => {}
            Op::MatVec {
                w_offset,
                rows,
                cols,
                x,
            } => self.product(i, w_offset, (rows, cols), x, false)?,
            Op::MatTVec {
                w_offset,
                rows,
                cols,
                x,
            } => self.product(i, w_offset, (rows, cols), x, true)?,
            Op::Add(a, b) => self.map(i, |e, j| format!("{} + {}", e.at(a, j), e.at(b, j))),
            Op::Sub(a, b) => self.map(i, |e, j| format!("{} - {}", e.at(a, j), e.at(b, j))),
            Op::Mul(a, b) => self.map(i, |e, j| format!("{} * {}", e.at(a, j), e.at(b, j))),
            Op::Div(a, b) => self.map(i, |e, j| format!("{} / {}", e.at(a, j), e.at(b, j))),
            Op::Neg(a) => self.map(i, |e, j| format!("-{}", e.at(a, j))),
            Op::Func(f, a) => {
                let name = self.func(f);
                if name == "log_" {
                    // Its two rescaling loops each test once.
                    self.trips += 2 * u64::from(prog.types[i].width);
                }
                self.map(i, |e, j| format!("{name}({})", e.at(a, j)));
            }
            Op::Powi(a, k) => {
                // powi_'s loop: one iteration per bit of |k|, and the final test.
                let bits = 32 - k.unsigned_abs().leading_zeros();
                self.trips += u64::from((bits + 1) * prog.types[i].width);
                self.map(i, |e, j| format!("powi_({}, {k})", e.at(a, j)));
            }
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            } => {
                let op = cmp.symbol();
                self.map(i, |e, j| {
                    format!(
                        "select({}, {}, {} {op} {})",
                        e.at(other, j),
                        e.at(then, j),
                        e.at(a, j),
                        e.at(b, j)
                    )
                });
            }
            Op::Concat(ref parts) => self.concat(i, parts),
            Op::Slice { x, start, .. } => {
                self.map(i, |e, j| e.at(x, &format!("{start}u + {j}")));
            }
            Op::Splat { x, width } => {
                if width == 1 {
                    self.line(&format!("let v{i} = v{};", x.0));
                }
            }
            Op::SumEntries(x) => {
                let w = prog.ty(x).width;
                let zero = self.lit(0.0)?;
                self.line(&format!("var v{i} = {zero};"));
                let sum = repeat(w, "j", self.unroll, |j| {
                    format!("v{i} += {};", self.at(x, j))
                });
                self.looped(sum);
            }
            Op::AccumSquares { term, value } => {
                let w = prog.ty(value).width;
                let squares = repeat(w, "j", self.unroll, |j| {
                    format!("let e = {}; acc{term} += e * e;", self.at(value, j))
                });
                self.looped(squares);
            }
            Op::AccumWeighted { term, value } => {
                let w = prog.ty(value).width;
                let zero = self.lit(0.0)?;
                let (sum, trips) = repeat(w, "j", self.unroll, |j| {
                    format!("s += {};", self.at(value, j))
                });
                let weight = nc + nd;
                self.looped((
                    format!(
                        "{{ var s = {zero}; {sum} acc{term} += cols[p + {weight}u * n] * s; }}"
                    ),
                    trips,
                ));
            }
            Op::GradParam { offset, len, value } => {
                let col = self.save(value);
                for j in 0..len {
                    self.pairs[(prog.n_terms + offset + j) as usize].push((col + j, NONE));
                }
            }
            Op::GradMatrix {
                w_offset,
                rows,
                cols,
                delta,
                x,
            } => {
                let (dc, xc) = (self.save(delta), self.save(x));
                let o0 = prog.n_terms + w_offset;
                self.matrices.push([o0, rows, cols, dc, xc]);
                for r in 0..rows {
                    for c in 0..cols {
                        let o = prog.n_terms + w_offset + r * cols + c;
                        self.pairs[o as usize].push((dc + r, xc + c));
                    }
                }
            }
            Op::Store { .. } => {
                return Err(BackendError::Unsupported(
                    "the GPU back end runs loss kernels, not predictions".into(),
                ))
            }
        }
        Ok(())
    }

    /// W·x or Wᵀ·x with W = θ[w ..] (rows × cols, row-major).
    fn product(
        &mut self,
        i: usize,
        w: u32,
        (rows, cols): (u32, u32),
        x: Value,
        transpose: bool,
    ) -> Result<(), BackendError> {
        let (outer, inner) = if transpose {
            (cols, rows)
        } else {
            (rows, cols)
        };
        let from = self.theta_from(w, rows * cols);
        let weight = |k: &str| match transpose {
            true => format!("{from}[{w}u + {k} * {cols}u + o]"),
            false => format!("{from}[{w}u + o * {cols}u + {k}]"),
        };
        self.declare(i);
        let zero = self.lit(0.0)?;
        let (sum, trips) = repeat(inner, "k", self.unroll, |k| {
            format!("s += {} * {};", weight(k), self.at(x, k))
        });
        let dst = self.dst(i, "o");
        // The rows stay a loop: only the inner sums need unrolling to fit the budget.
        self.looped((
            format!(
                "for (var o = 0u; o < {outer}u + z; o++) {{ var s = {zero}; {sum} {dst} = s; }}"
            ),
            u64::from(outer) + 1 + u64::from(outer) * trips,
        ));
        Ok(())
    }

    fn concat(&mut self, i: usize, parts: &[Value]) {
        if self.prog.types[i].width == 1 {
            let x = self.at(parts[0], "0u");
            self.line(&format!("let v{i} = {x};"));
            return;
        }
        let mut at = 0;
        for &part in parts {
            let w = self.prog.ty(part).width;
            if w == 1 {
                let (x, dst) = (self.at(part, "0u"), self.dst(i, &format!("{at}u")));
                self.line(&format!("{dst} = {x};"));
            } else {
                let copy = repeat(w, "j", self.unroll, |j| {
                    format!(
                        "{} = {};",
                        self.dst(i, &format!("{at}u + {j}")),
                        self.at(part, j)
                    )
                });
                self.looped(copy);
            }
            at += w;
        }
    }

    /// Writes `v` to contribution columns (once) and returns its first column.
    fn save(&mut self, v: Value) -> u32 {
        if let Some(&col) = self.saved.get(&v) {
            return col;
        }
        let col = self.contrib_width;
        let w = self.prog.ty(v).width;
        self.contrib_width += w;
        self.saved.insert(v, col);
        let copy = repeat(w, "j", self.unroll, |j| {
            format!("contrib[p + ({col}u + {j}) * n] = {};", self.at(v, j))
        });
        self.looped(copy);
        col
    }

    /// The WGSL function computing `f` in this precision.
    fn func(&self, f: Func) -> &'static str {
        match (self.precision, f) {
            (_, Func::Sqrt) => "sqrt",
            (_, Func::Abs) => "abs",
            (Precision::F32, Func::Sin) => "sin",
            (Precision::F32, Func::Cos) => "cos",
            (Precision::F32, Func::Exp) => "exp",
            (Precision::F32, Func::Log) => "log",
            (Precision::F32, Func::Tanh) => "tanh_",
            (Precision::F64, Func::Sin) => "sin_",
            (Precision::F64, Func::Cos) => "cos_",
            (Precision::F64, Func::Exp) => "exp_",
            (Precision::F64, Func::Log) => "log_",
            (Precision::F64, Func::Tanh) => "tanh_",
        }
    }

    fn finish(self, end: usize, profile: Profile) -> Shader {
        let count = self.segments.len();
        let starts = std::iter::once(0).chain(self.cuts.iter().copied());
        let ends = self.cuts.iter().copied().chain(std::iter::once(end));
        let ranges: Vec<(usize, usize)> = starts.zip(ends).collect();
        let segments = match profile {
            Profile::Hardware if count > 1 => vec![self.functions(end, &ranges)],
            _ => (self.segments.iter().zip(&ranges).enumerate())
                .map(|(s, ((code, trips), (a, b)))| {
                    let head = format!(
                        "// pdenet pass 1, segment {} of {count}: ops {a}..{b} of {end}, one invocation per point; {}; {trips} loop iterations, {} entries per iteration.\n",
                        s + 1,
                        self.widths(),
                        self.unroll
                    );
                    head + &self.prelude() + &self.entry(code)
                })
                .collect(),
        };
        let (tiles, tiled) = self.tile();
        Shader {
            segments,
            tape_width: self.tape_width,
            contrib_width: self.contrib_width,
            n_out: self.pairs.len() as u32,
            pairs: self.pairs,
            tiles,
            tiled,
            shared: self.shared,
        }
    }

    /// The tape's and the contributions' widths, as a shader's header gives them.
    fn widths(&self) -> String {
        format!(
            "tape {} entries, {} contribution columns per point",
            self.tape_width, self.contrib_width
        )
    }

    /// What a pass-1 shader declares before its code: the types, the bindings,
    /// θ's copy in workgroup memory and the math functions.
    fn prelude(&self) -> String {
        let mut wgsl = header(self.ty);
        wgsl += "@group(0) @binding(0) var<storage, read> cols: array<F>;\n";
        wgsl += "@group(0) @binding(1) var<storage, read> params: array<F>;\n";
        wgsl += "@group(0) @binding(2) var<storage, read_write> tape: array<F>;\n";
        wgsl += "@group(0) @binding(3) var<storage, read_write> contrib: array<F>;\n";
        wgsl += "@group(0) @binding(4) var<uniform> info: Info;\n";
        if self.shared > 0 {
            let _ = writeln!(wgsl, "var<workgroup> wtheta: array<F, {}>;", self.shared);
        }
        wgsl.push('\n');
        wgsl + &math(self.precision)
    }

    /// The entry point: θ copied into workgroup memory, then `body` for the
    /// invocation's point `p` of `n` (`z` = `info.zero`).
    fn entry(&self, body: &str) -> String {
        let mut wgsl = format!("\n@compute @workgroup_size({WORKGROUP})\n");
        wgsl += "fn main(@builtin(global_invocation_id) gid: vec3<u32>";
        if self.shared > 0 {
            wgsl += ", @builtin(local_invocation_index) lid: u32";
        }
        wgsl += ") {\n    let p = gid.x;\n    let n = info.n;\n    let z = info.zero;\n";
        if self.shared > 0 {
            // Before any invocation leaves: a barrier must be reached by all.
            let _ = writeln!(
                wgsl,
                "    for (var i = lid; i < {}u + z; i += {WORKGROUP}u) {{ wtheta[i] = params[i]; }}\n    workgroupBarrier();",
                self.shared
            );
        }
        wgsl += "    if (p >= n) { return; }\n";
        wgsl += body;
        wgsl + "}\n"
    }

    /// A hardware-profile pass 1 of several segments as one shader: each segment a
    /// function of the point, called in order by one invocation. The segments
    /// already hand their values on through the tape, so they read the same as
    /// separate shaders; naga types each function on its own (see
    /// [`FUNCTION_LINES`]).
    fn functions(&self, end: usize, ranges: &[(usize, usize)]) -> String {
        let mut wgsl = format!(
            "// pdenet pass 1, {} functions in one shader: ops 0..{end} of {end}, one invocation per point; {}; {} loop iterations, {} entries per iteration.\n",
            self.segments.len(),
            self.widths(),
            self.total_trips(),
            self.unroll
        );
        wgsl += &self.prelude();
        let mut calls = String::new();
        for (k, ((code, trips), (a, b))) in self.segments.iter().zip(ranges).enumerate() {
            let _ = write!(
                wgsl,
                "\n// ops {a}..{b}, {trips} loop iterations\nfn part{k}(p: u32, n: u32, z: u32) {{\n{code}}}\n"
            );
            let _ = writeln!(calls, "    part{k}(p, n, z);");
        }
        wgsl + &self.entry(&calls)
    }

    /// The tiled pass 2's table ([`Shader::tiles`]) and the outputs it sums. A
    /// matrix is tiled when its
    /// entries' sums are made only of its own weight-gradient sinks (the same
    /// offset and shape: one per derivative a layer carries): then each entry's
    /// `k`-th pair comes from the `k`-th sink, and a tile walks the sinks in that
    /// order, as the invocation per output would.
    fn tile(&self) -> (Vec<u32>, Vec<std::ops::Range<u32>>) {
        let mut groups: Vec<([u32; 3], Vec<u32>)> = vec![];
        for &[o0, rows, cols, dc, xc] in &self.matrices {
            match groups.iter_mut().find(|g| g.0 == [o0, rows, cols]) {
                Some(g) => g.1.extend([dc, xc]),
                None => groups.push(([o0, rows, cols], vec![dc, xc])),
            }
        }
        let (mut records, mut pairs, mut tiled) = (vec![], vec![], vec![]);
        for ([o0, rows, cols], columns) in groups {
            let outputs = o0..o0 + rows * cols;
            let k = columns.len() / 2;
            if outputs.clone().any(|o| self.pairs[o as usize].len() != k) {
                continue;
            }
            tiled.push(outputs);
            let k0 = pairs.len() as u32 / 2;
            pairs.extend(columns);
            for r0 in (0..rows).step_by(TILE as usize) {
                for c0 in (0..cols).step_by(TILE as usize) {
                    records.extend([o0, rows, cols, r0, c0, k0, k0 + k as u32, 0]);
                }
            }
        }
        if records.is_empty() {
            return (vec![], vec![]);
        }
        let n_tiles = records.len() as u32 / 8;
        let mut table = vec![n_tiles, 2 + 8 * n_tiles];
        table.extend(records);
        table.extend(pairs);
        (table, tiled)
    }
}

/// The code of [`Emitter::repeat`] and its loop iterations, for `unroll` entries per
/// iteration.
fn repeat(w: u32, var: &str, unroll: u32, body: impl Fn(&str) -> String) -> (String, u64) {
    let u = unroll.clamp(1, w.max(1));
    let (full, rest) = (w / u, w % u);
    let mut code = String::new();
    let mut trips = 0;
    if full > 0 {
        let copies: Vec<String> = if u == 1 {
            vec![body(var)]
        } else {
            (0..u)
                .map(|c| format!("{{ {} }}", body(&format!("({var} * {u}u + {c}u)"))))
                .collect()
        };
        let _ = write!(
            code,
            "for (var {var} = 0u; {var} < {full}u + z; {var}++) {{ {} }}",
            copies.join(" ")
        );
        trips = full as u64 + 1;
    }
    for r in w - rest..w {
        let _ = write!(code, " {{ {} }}", body(&format!("{r}u")));
    }
    (code.trim_start().to_string(), trips)
}

/// The element type alias and the per-chunk parameters both passes read.
fn header(ty: &str) -> String {
    format!(
        "alias F = {ty};\n\
         struct Info {{ n: u32, seg: u32, n_out: u32, pairs: u32, zero: u32, fold: u32, base: u32 }}\n"
    )
}

/// Pass 2 in `precision`: output `gid.x`, segment `gid.y`.
pub(crate) fn reduce(precision: Precision) -> String {
    let body = format!(
        "\x20   let n = info.n;\n\
         \x20   let p0 = gid.y * info.seg;\n\
         \x20   let p1 = min(p0 + info.seg, n);\n\
         \x20   var s = F(0);\n\
         \x20   for (var k = table[o]; k < table[o + 1u]; k++) {{\n\
         \x20       let a = table[info.pairs + 2u * k] * n;\n\
         \x20       let b = table[info.pairs + 2u * k + 1u];\n\
         \x20       if (b == {NONE}u) {{\n\
         \x20           for (var p = p0; p < p1; p++) {{ s += contrib[a + p]; }}\n\
         \x20       }} else {{\n\
         \x20           let bn = b * n;\n\
         \x20           for (var p = p0; p < p1; p++) {{ s += contrib[a + p] * contrib[bn + p]; }}\n\
         \x20       }}\n\
         \x20   }}\n\
         \x20   partial[gid.y * info.n_out + o] = s;\n"
    );
    per_output(
        precision,
        "pass 2: Σ over a segment's points of products of contribution columns.",
        &[
            "storage, read> contrib: array<F>",
            "storage, read> table: array<u32>",
            "storage, read_write> partial: array<F>",
        ],
        &body,
    )
}

/// The tiled pass 2 in `precision`: tile `wid.x` of [`Shader::tiles`], segment
/// `wid.y`. Each block of [`WORKGROUP`] points goes through workgroup memory: every
/// invocation loads one point of each of the tile's δ and x rows (neighbours read
/// neighbouring words), then sums its entry's products from there in point order.
/// The rows are [`WORKGROUP`] + 1 apart so that a tile's rows fall in different
/// banks. Loop bounds and barriers depend only on the workgroup, as barriers need.
pub(crate) fn tiled(precision: Precision) -> String {
    let (t, b, stride) = (TILE, WORKGROUP, WORKGROUP + 1);
    format!(
        "// pdenet pass 2, tiled: Σ over a segment's points of δ[r]·x[c] for a {t} × {t} tile of a weight matrix.\n\
         {header}\
         @group(0) @binding(0) var<storage, read> contrib: array<F>;\n\
         @group(0) @binding(1) var<storage, read> tiles: array<u32>;\n\
         @group(0) @binding(2) var<storage, read_write> partial: array<F>;\n\
         @group(0) @binding(3) var<uniform> info: Info;\n\
         var<workgroup> ds: array<F, {size}>;\n\
         var<workgroup> xs: array<F, {size}>;\n\
         \n\
         @compute @workgroup_size({b})\n\
         fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) l: u32) {{\n\
         \x20   let t = 2u + 8u * wid.x;\n\
         \x20   let o0 = tiles[t];\n\
         \x20   let rows = tiles[t + 1u];\n\
         \x20   let cols = tiles[t + 2u];\n\
         \x20   let r0 = tiles[t + 3u];\n\
         \x20   let c0 = tiles[t + 4u];\n\
         \x20   let n = info.n;\n\
         \x20   let p0 = wid.y * info.seg;\n\
         \x20   let p1 = min(p0 + info.seg, n);\n\
         \x20   let r = l / {t}u;\n\
         \x20   let c = l % {t}u;\n\
         \x20   var s = F(0);\n\
         \x20   for (var k = tiles[t + 5u]; k < tiles[t + 6u] + info.zero; k++) {{\n\
         \x20       let d0 = tiles[tiles[1] + 2u * k] + r0;\n\
         \x20       let x0 = tiles[tiles[1] + 2u * k + 1u] + c0;\n\
         \x20       for (var b = p0; b < p1; b += {b}u) {{\n\
         \x20           let m = min({b}u, p1 - b);\n\
         \x20           workgroupBarrier();\n\
         \x20           for (var i = 0u; i < {t}u + info.zero; i++) {{\n\
         \x20               var dv = F(0);\n\
         \x20               var xv = F(0);\n\
         \x20               if (l < m && r0 + i < rows) {{ dv = contrib[(d0 + i) * n + b + l]; }}\n\
         \x20               if (l < m && c0 + i < cols) {{ xv = contrib[(x0 + i) * n + b + l]; }}\n\
         \x20               ds[i * {stride}u + l] = dv;\n\
         \x20               xs[i * {stride}u + l] = xv;\n\
         \x20           }}\n\
         \x20           workgroupBarrier();\n\
         \x20           for (var q = 0u; q < m; q++) {{ s += ds[r * {stride}u + q] * xs[c * {stride}u + q]; }}\n\
         \x20       }}\n\
         \x20   }}\n\
         \x20   if (r0 + r < rows && c0 + c < cols) {{\n\
         \x20       partial[wid.y * info.n_out + o0 + (r0 + r) * cols + c0 + c] = s;\n\
         \x20   }}\n\
         }}\n",
        header = header(scalar(precision)),
        size = t * stride,
    )
}

/// Pass 3 in `precision`: output `gid.x`, row `gid.y` of `info.fold` segments,
/// written `info.base` numbers into `folded`, where every chunk of a pass has its
/// own rows.
pub(crate) fn fold(precision: Precision) -> String {
    per_output(
        precision,
        "pass 3: Σ over a row's segments of their partial sums, in order.",
        &[
            "storage, read> partial: array<F>",
            "storage, read_write> folded: array<F>",
        ],
        "\x20   let segs = (info.n + info.seg - 1u) / info.seg;\n\
         \x20   let s0 = gid.y * info.fold;\n\
         \x20   let s1 = min(s0 + info.fold, segs) + info.zero;\n\
         \x20   var s = F(0);\n\
         \x20   for (var k = s0; k < s1; k++) { s += partial[k * info.n_out + o]; }\n\
         \x20   folded[info.base + gid.y * info.n_out + o] = s;\n",
    )
}

/// A shader with an invocation per output `o = gid.x` (none past `info.n_out`):
/// `buffers` bound in order (`var<…` written by the caller), then `info`.
fn per_output(precision: Precision, what: &str, buffers: &[&str], body: &str) -> String {
    let mut code = format!("// pdenet {what}\n{}", header(scalar(precision)));
    for (i, b) in buffers.iter().enumerate() {
        let _ = writeln!(code, "@group(0) @binding({i}) var<{b};");
    }
    let _ = write!(
        code,
        "@group(0) @binding({}) var<uniform> info: Info;\n\
         \n\
         @compute @workgroup_size({WORKGROUP})\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         \x20   let o = gid.x;\n\
         \x20   if (o >= info.n_out) {{ return; }}\n\
         {body}}}\n",
        buffers.len()
    );
    code
}

/// The WGSL scalar type of a precision.
pub(crate) fn scalar(precision: Precision) -> &'static str {
    match precision {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

/// Helper functions: `powi_` and `tanh_` always; for f64 also exp, log, sin, cos.
fn math(precision: Precision) -> String {
    let mut s = String::from(
        "// x^k by repeated squaring (as Rust's powi), 1/x^|k| for k < 0.\n\
         fn powi_(x: F, k: i32) -> F {\n\
         \x20   var b = x;\n    var e = abs(k);\n    var r = F(1);\n\
         \x20   loop {\n\
         \x20       if (e == 0) { break; }\n\
         \x20       if ((e & 1) == 1) { r *= b; }\n\
         \x20       b *= b;\n        e = e >> 1u;\n\
         \x20   }\n\
         \x20   return select(r, F(1) / r, k < 0);\n\
         }\n",
    );
    match precision {
        Precision::F32 => {
            s += "fn tanh_(x: F) -> F { return tanh(clamp(x, -20.0f, 20.0f)); }\n";
        }
        Precision::F64 => s += &f64_math(),
    }
    s
}

/// Horner's rule for Σ coeffs[k]·z^k (lowest first) as a WGSL expression.
fn horner(z: &str, coeffs: &[f64]) -> String {
    let mut acc = format!("{:?}lf", coeffs[coeffs.len() - 1]);
    for c in coeffs[..coeffs.len() - 1].iter().rev() {
        acc = format!("({acc}) * {z} + {c:?}lf");
    }
    acc
}

/// exp, tanh, log, sin and cos in f64: the CPU engine's algorithms, scalar, with
/// the splits and coefficients of `backend::elementary`.
fn f64_math() -> String {
    let expm1 = TERMS_F64.expm1_coeffs();
    let atanh = TERMS_F64.atanh_coeffs();
    let sin = TERMS_F64.sin_coeffs();
    let cos = TERMS_F64.cos_coeffs();
    let (hi, lo) = LN2_F64;
    let [p0, p1, p2] = PIO2_F64;
    format!(
        "// expm1(r) for |r| <= ln2/2 (Taylor) and x = k ln2 + r (Cody-Waite).\n\
         fn exp_parts_(x0: F) -> vec2<F> {{\n\
         \x20   let x = clamp(x0, -708.0lf, 709.0lf);\n\
         \x20   let k = round(x * {log2e:?}lf);\n\
         \x20   let r = (x - k * {hi:?}lf) - k * {lo:?}lf;\n\
         \x20   let p = r + r * r * ({q});\n\
         \x20   return vec2<F>(k, p);\n\
         }}\n\
         fn exp_(x: F) -> F {{\n\
         \x20   let kp = exp_parts_(x);\n\
         \x20   let s = ldexp(1.0lf, i32(kp.x));\n\
         \x20   return s * kp.y + s;\n\
         }}\n\
         // tanh = sign(x) e/(e + 2), e = expm1(2|x|): accurate near 0 too.\n\
         fn tanh_(x: F) -> F {{\n\
         \x20   let kp = exp_parts_(min(2.0lf * abs(x), 40.0lf));\n\
         \x20   let s = ldexp(1.0lf, i32(kp.x));\n\
         \x20   let e = s * kp.y + (s - 1.0lf);\n\
         \x20   let t = e / (e + 2.0lf);\n\
         \x20   return select(t, -t, x < 0.0lf);\n\
         }}\n\
         // log x = e ln2 + 2 atanh((m-1)/(m+1)), m in [sqrt(1/2), sqrt(2)). naga's\n\
         // frexp on f64 needs i64, so the exponent comes from an f32 log2 of x scaled\n\
         // into f32's range, corrected by one step either way.\n\
         fn log_(x0: F) -> F {{\n\
         \x20   if (x0 == 0.0lf) {{ return -1.0lf / abs(x0); }}\n\
         \x20   if (!(x0 >= 0.0lf)) {{ return (x0 - x0) / (x0 - x0); }}\n\
         \x20   if (x0 > 1.7976931348623157e308lf) {{ return x0; }}\n\
         \x20   var x = x0;\n\
         \x20   var e = 0;\n\
         \x20   while (x > 1e30lf) {{ x = ldexp(x, -64); e += 64; }}\n\
         \x20   while (x < 1e-30lf) {{ x = ldexp(x, 64); e -= 64; }}\n\
         \x20   let k = i32(floor(log2(f32(x))));\n\
         \x20   var m = ldexp(x, -k);\n\
         \x20   e += k;\n\
         \x20   if (m < 1.0lf) {{ m = m * 2.0lf; e -= 1; }}\n\
         \x20   if (m >= 2.0lf) {{ m = m * 0.5lf; e += 1; }}\n\
         \x20   if (m > {sqrt2:?}lf) {{ m = m * 0.5lf; e += 1; }}\n\
         \x20   let ef = F(e);\n\
         \x20   let s = (m - 1.0lf) / (m + 1.0lf);\n\
         \x20   let z = s * s;\n\
         \x20   let lm = s * z * ({l}) + 2.0lf * s;\n\
         \x20   return ef * {hi:?}lf + (ef * {lo:?}lf + lm);\n\
         }}\n\
         // sin x (q = 0) or cos x (q = 1): reduction by pi/2 in three parts.\n\
         fn sin_q_(x: F, q0: i32) -> F {{\n\
         \x20   let k = round(x * {two_pi:?}lf);\n\
         \x20   let r = ((x - k * {p0:?}lf) - k * {p1:?}lf) - k * {p2:?}lf;\n\
         \x20   let q = i32(k) + q0;\n\
         \x20   let z = r * r;\n\
         \x20   let sn = r + r * z * ({sp});\n\
         \x20   let cs = (1.0lf - 0.5lf * z) + z * z * ({cp});\n\
         \x20   let v = select(sn, cs, (q & 1) == 1);\n\
         \x20   return select(v, -v, (q & 2) == 2);\n\
         }}\n\
         fn sin_(x: F) -> F {{ return sin_q_(x, 0); }}\n\
         fn cos_(x: F) -> F {{ return sin_q_(x, 1); }}\n",
        log2e = std::f64::consts::LOG2_E,
        q = horner("r", &expm1),
        sqrt2 = std::f64::consts::SQRT_2,
        l = horner("z", &atanh),
        two_pi = std::f64::consts::FRAC_2_PI,
        sp = horner("z", &sin),
        cp = horner("z", &cos),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::compile;

    /// A segment's header figure before `what` (e.g. " loop iterations").
    fn figure(wgsl: &str, what: &str) -> u64 {
        let header = wgsl.lines().next().expect("a header");
        let head = header.split(what).next().expect("in the header");
        head.rsplit(' ')
            .next()
            .expect("a number")
            .parse()
            .expect("a number")
    }

    /// The range `a..b` that `text` starts with (ops, in a header or a function's
    /// comment).
    fn ops_at(text: &str) -> (usize, usize) {
        let range: String = (text.chars())
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let (a, b) = range.split_once("..").expect("a..b");
        (a.parse().expect("a"), b.parse().expect("b"))
    }

    fn wide_qres() -> crate::kernel::Kernel {
        let p = crate::backend::tests::problems_in("tests/gpu")
            .into_iter()
            .find(|(name, _)| name == "wide_qres")
            .expect("tests/gpu/wide_qres.pde")
            .1;
        compile(&p).expect("compiles")
    }

    /// tests/gpu/wide_qres.pde runs past llvmpipe's 65 535 loop iterations when
    /// written as one shader, one entry per iteration; uncut, the emitter unrolls
    /// until it fits.
    #[test]
    fn shaders_keep_within_the_loop_budget() {
        let k = wide_qres();
        let (prog, info) = (&k.programs[0].program, &k.programs[0].info);
        let end = prog.ops.len();
        let plain = Emitter::run(prog, info, end, Precision::F32, 1, vec![], 0).expect("emits");
        assert!(
            plain.most_trips() > 65_535,
            "{} iterations",
            plain.most_trips()
        );
        let design = Design::for_adapter(wgpu::DeviceType::Cpu);
        let shader = emit_cut((prog, info, end), Precision::F32, vec![], 0, design).expect("emits");
        let wgsl = &shader.segments[0];
        let (trips, unroll) = (
            figure(wgsl, " loop iterations"),
            figure(wgsl, " entries per"),
        );
        assert!(trips <= LOOP_BUDGET && unroll > 1, "{trips} at {unroll}");
        let again =
            Emitter::run(prog, info, end, Precision::F32, unroll as u32, vec![], 0).expect("emits");
        assert_eq!(again.most_trips(), trips);
    }

    /// Cut into segments, the same program needs no unrolling, and every segment
    /// keeps to its size unless one op alone is larger.
    #[test]
    fn segments_keep_to_their_size() {
        let k = wide_qres();
        let (prog, info) = (&k.programs[0].program, &k.programs[0].info);
        let end = prog.ops.len();
        let whole = Emitter::run(prog, info, end, Precision::F64, 1, vec![], 0).expect("emits");
        let design = Design {
            profile: Profile::Software,
            ..Design::for_adapter(wgpu::DeviceType::Cpu)
        };
        let shader = emit_all(&[(prog, info, end)], Precision::F64, design, 0)
            .expect("emits")
            .remove(0);
        assert!(
            shader.segments.len() > 3,
            "{} segments",
            shader.segments.len()
        );
        let mut next = 0;
        for wgsl in &shader.segments {
            assert_eq!(figure(wgsl, " entries per"), 1);
            let first = wgsl.lines().next().expect("a header");
            let (a, b) = ops_at(first.split("ops ").nth(1).expect("ops a..b"));
            assert_eq!(a, next, "segments follow each other");
            let lines: usize = whole.op_lines[a..b].iter().sum();
            assert!(
                lines <= SEGMENT_LINES || b == a + 1,
                "{first}: {lines} lines"
            );
            next = b;
        }
        assert_eq!(next, end);
    }

    /// In the hardware profile the same program is one shader: functions of at most
    /// `function_lines` op lines (or one op) covering every op in order, each called
    /// once from the entry point, valid WGSL. Without the loop budget (a hardware
    /// adapter) nothing is unrolled; with it, all functions together keep within
    /// it, since one invocation runs them all.
    #[test]
    fn hardware_shaders_are_one_of_short_functions() {
        let k = wide_qres();
        let (prog, info) = (&k.programs[0].program, &k.programs[0].info);
        let end = prog.ops.len();
        let whole = Emitter::run(prog, info, end, Precision::F32, 1, vec![], 0).expect("emits");
        for loop_budget in [false, true] {
            let design = Design {
                profile: Profile::Hardware,
                function_lines: 20,
                loop_budget,
                ..Design::for_adapter(wgpu::DeviceType::Cpu)
            };
            let shader = emit_all(&[(prog, info, end)], Precision::F32, design, 0)
                .expect("emits")
                .remove(0);
            assert_eq!(shader.segments.len(), 1);
            let wgsl = &shader.segments[0];
            super::super::validate(wgsl, Precision::F32).expect("valid WGSL");
            let (trips, unroll) = (
                figure(wgsl, " loop iterations"),
                figure(wgsl, " entries per"),
            );
            let parts: Vec<&str> = wgsl.split("\n// ops ").skip(1).collect();
            assert!(parts.len() > 3, "{} functions", parts.len());
            let mut next = 0;
            for (k, part) in parts.iter().enumerate() {
                let (a, b) = ops_at(part);
                assert_eq!(a, next, "functions follow each other");
                let lines: usize = whole.op_lines[a..b].iter().sum();
                assert!(lines <= 20 || b == a + 1, "ops {a}..{b}: {lines} lines");
                assert_eq!(wgsl.matches(&format!("part{k}(p, n, z);")).count(), 1);
                next = b;
            }
            assert_eq!(next, end);
            if loop_budget {
                assert!(trips <= LOOP_BUDGET, "{trips} at {unroll}");
            } else {
                assert_eq!((trips, unroll), (whole.most_trips(), 1));
            }
        }
    }

    /// Small kernels are cut at [`SEGMENT_LINES`]; large ones at more, into at most
    /// [`MAX_SEGMENTS`] segments in all, and no op is split to get there.
    #[test]
    fn large_kernels_keep_under_the_segment_count() {
        let small = vec![vec![1; 1_000], vec![3; 200]];
        assert_eq!(segment_limit(&small), SEGMENT_LINES);
        // 100 000 one-line ops and a pass of 2-line ops: 2 800 segments at 50 lines.
        let large = vec![vec![1; 100_000], vec![2; 20_000]];
        let limit = segment_limit(&large);
        let count = |limit| large.iter().map(|l| cut(l, limit).len() + 1).sum::<usize>();
        assert_eq!(count(SEGMENT_LINES), 2_800);
        assert!(count(limit) <= MAX_SEGMENTS, "{} at {limit}", count(limit));
        assert!(
            count(limit * 8 / 9) > MAX_SEGMENTS,
            "{limit} is larger than needed"
        );
        // More passes than segments allowed: one segment each, not an endless loop.
        let many = vec![vec![1; 10]; MAX_SEGMENTS + 1];
        assert!(many.iter().all(|l| cut(l, segment_limit(&many)).is_empty()));
    }

    #[test]
    fn unrolled_loops_cover_every_entry_once() {
        for (w, unroll) in [(5, 1), (5, 2), (8, 4), (3, 8), (1, 4)] {
            let (code, trips) = repeat(w, "j", unroll, |j| format!("f({j});"));
            let copies = code.matches("f(").count() as u32;
            let per_iter = unroll.min(w);
            let loops = w / per_iter;
            assert_eq!(
                copies,
                if loops > 0 { per_iter } else { 0 } + w % per_iter,
                "{code}"
            );
            assert_eq!(
                trips,
                if loops > 0 { loops as u64 + 1 } else { 0 },
                "{code}"
            );
        }
    }
}
