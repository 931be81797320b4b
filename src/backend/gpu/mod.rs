//! The GPU engine: `wgsl` lowers the Kernel IR to WGSL compute shaders; this file
//! is its runtime: picks an adapter, validates every generated module with naga
//! before wgpu sees it, builds the pipelines, and evaluates the kernel in chunks of
//! points (see `wgsl.rs` for the three passes); `adam.rs` runs Adam's epochs whole
//! on the device.
//!
//! A chunk is as many points as the adapter's limits allow for the largest of the
//! buffers one point needs (tape, contribution columns, input columns, pass-2
//! partials), at most `MAX_CHUNK`. A pass is one submission: every chunk of every
//! point set, each folding its partial sums into its place in one rows buffer,
//! then one copy back. Each row is one row of the engine's [`Partials`], which the
//! host adds in f64, row after row, so an evaluation is reproducible bit for bit.
//!
//! wgpu reports device errors to a callback; ours records the first one and every
//! call checks it, so a device failure becomes an error value, never a panic.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

mod adam;
mod matrix;
mod timing;
mod wgsl;

#[cfg(test)]
pub(crate) mod tests;

use super::Share;
use super::{BackendError, DeviceWork, Engine, EngineFacts, EngineKind, Partials, Pass, Precision};
use crate::kernel::{Kernel, KernelError, PointBatch};
use crate::problem::Reduce;
use timing::Stage;
pub use wgsl::{Design, Profile, Reduction, Theta};
use wgsl::{Shader, WORKGROUP};

/// Points per pass-2 segment: how many products an invocation sums in the kernel's
/// precision (the CPU back end flushes as often).
const SEG: u32 = 256;
/// Segments per row that pass 3 folds on the device: the host reads back and adds,
/// in f64, one row per `SEG * ROW_SEGS` points.
const ROW_SEGS: u32 = 64;
/// The most points per chunk (bounds memory and keeps every index well inside u32).
const MAX_CHUNK: u32 = 1 << 16;

/// Which adapters `Gpu::new` may pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterChoice {
    /// The best adapter there is, a software one (lavapipe) included.
    Any,
    /// Only a real GPU: `--backend auto` falls back to the CPU rather than run on a
    /// software adapter, which is slower than the JIT.
    Hardware,
}

/// A device and its queue on the chosen adapter (a clone shares them).
#[derive(Clone)]
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    /// Whether it writes timestamps inside compute passes (`timing.rs`).
    timestamps: bool,
    /// The first error the device reported (see the module docs).
    error: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.info.name)
            .finish()
    }
}

/// Discrete before integrated before virtual GPUs, then software adapters.
fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// Which of a machine's equally good adapters this process takes: an MPI rank's
/// index among the ranks on its machine ([`take_gpus_in_turn`]), 0 otherwise.
static TURN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Makes this process open the `turn`-th of the machine's best adapters (modulo
/// their number), so that the MPI ranks on a machine with several GPUs each take
/// one instead of all sharing the first.
pub fn take_gpus_in_turn(turn: usize) {
    TURN.store(turn, std::sync::atomic::Ordering::Relaxed);
}

impl Gpu {
    /// Opens a device on the best adapter `choice` allows (of several of the best
    /// kind, the one [`take_gpus_in_turn`] says), with the features `precision`
    /// needs (f64: `SHADER_F64`, asked for wherever the adapter has it) and the
    /// adapter's own limits.
    pub fn new(choice: AdapterChoice, precision: Precision) -> Result<Gpu, BackendError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        adapters.retain(|a| {
            choice == AdapterChoice::Any
                || rank(a.get_info().device_type) < rank(wgpu::DeviceType::Cpu)
        });
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let best = adapters.first().map(|a| rank(a.get_info().device_type));
        adapters.retain(|a| Some(rank(a.get_info().device_type)) == best);
        let turn = TURN.load(std::sync::atomic::Ordering::Relaxed);
        let pick = turn % adapters.len().max(1);
        let adapter = adapters.into_iter().nth(pick).ok_or_else(|| {
            BackendError::NoAdapter(match choice {
                AdapterChoice::Any => "no GPU adapter was found (on Linux without a GPU, install Mesa's Vulkan software driver: apt-get install mesa-vulkan-drivers)".into(),
                AdapterChoice::Hardware => "no hardware GPU adapter was found".into(),
            })
        })?;
        let info = adapter.get_info();
        // f64 wherever the adapter has it: an f32 kernel's dense quasi-Newton phase
        // keeps its H in f64 on the device too (`matrix.rs`).
        let f64s = adapter.features() & wgpu::Features::SHADER_F64;
        if precision == Precision::F64 && f64s.is_empty() {
            return Err(BackendError::NoF64(info.name));
        }
        let mut features = f64s;
        let timestamps =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        let timestamps = adapter
            .features()
            .contains(timestamps)
            .then_some(timestamps);
        features |= timestamps.unwrap_or_else(wgpu::Features::empty);
        let limits = adapter.limits();
        let desc = wgpu::DeviceDescriptor {
            label: Some("pdenet"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| BackendError::Device(format!("{}: {e}", info.name)))?;
        let error = Arc::new(Mutex::new(None));
        let slot = error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut s) = slot.lock() {
                s.get_or_insert_with(|| e.to_string());
            }
        }));
        Ok(Gpu {
            device,
            queue,
            info,
            limits,
            timestamps: timestamps.is_some(),
            error,
        })
    }

    /// The adapter's name and type, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) (Cpu)`.
    pub fn adapter(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.device_type)
    }

    /// Waits until the device has done everything submitted, then reports its
    /// first error, if any.
    fn wait(&self) -> Result<(), BackendError> {
        (self.device)
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| BackendError::Device(e.to_string()))?;
        self.check()
    }

    /// The first error the device reported since it was opened, if any.
    fn check(&self) -> Result<(), BackendError> {
        match self.error.lock().ok().and_then(|s| s.clone()) {
            Some(e) => Err(BackendError::Device(e)),
            None => Ok(()),
        }
    }

    /// A compute pipeline from WGSL that naga has validated.
    fn pipeline(
        &self,
        wgsl: &str,
        precision: Precision,
        layout: &wgpu::PipelineLayout,
        label: &str,
    ) -> Result<wgpu::ComputePipeline, BackendError> {
        let module = validate(wgsl, precision)?;
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Naga(Cow::Owned(module)),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: Some(layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        self.check()?;
        Ok(pipeline)
    }

    /// A bind group layout of compute-stage buffers, one per slot.
    fn layout(&self, slots: &[Slot]) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        let entries: Vec<wgpu::BindGroupLayoutEntry> = slots
            .iter()
            .enumerate()
            .map(|(i, slot)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match slot {
                        Slot::Read | Slot::ReadPerChunk => {
                            wgpu::BufferBindingType::Storage { read_only: true }
                        }
                        Slot::Write => wgpu::BufferBindingType::Storage { read_only: false },
                        Slot::Uniform | Slot::UniformPerChunk => wgpu::BufferBindingType::Uniform,
                    },
                    has_dynamic_offset: matches!(slot, Slot::ReadPerChunk | Slot::UniformPerChunk),
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let bgl = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: None,
                entries: &entries,
            });
        let pl = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: None,
                bind_group_layouts: &[Some(&bgl)],
                immediate_size: 0,
            });
        (bgl, pl)
    }

    fn buffer(&self, bytes: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            // Bindings may not be empty; a program without tape still binds one.
            size: bytes.max(16).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT),
            usage,
            mapped_at_creation: false,
        })
    }

    /// A bind group of whole buffers.
    fn bind(&self, layout: &wgpu::BindGroupLayout, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let whole: Vec<_> = buffers.iter().map(|b| b.as_entire_binding()).collect();
        self.bind_windows(layout, whole)
    }

    /// A bind group of buffer bindings (whole buffers, or a chunk's window at an
    /// offset set per dispatch).
    fn bind_windows(
        &self,
        layout: &wgpu::BindGroupLayout,
        resources: Vec<wgpu::BindingResource<'_>>,
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = resources
            .into_iter()
            .enumerate()
            .map(|(i, resource)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource,
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        })
    }
}

/// A buffer's first bytes asked to be mapped for reading once the device is done
/// with it.
struct Mapping<'b> {
    buffer: &'b wgpu::Buffer,
    bytes: u64,
    done: std::sync::mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
}

impl<'b> Mapping<'b> {
    fn ask(buffer: &'b wgpu::Buffer, bytes: u64) -> Mapping<'b> {
        let (tx, done) = std::sync::mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
            let _ = tx.send(r);
        });
        Mapping {
            buffer,
            bytes,
            done,
        }
    }

    /// The bytes, after the wait for the device; the buffer is unmapped again.
    fn bytes(self) -> Result<Vec<u8>, BackendError> {
        let device = |e: &dyn std::fmt::Display| BackendError::Device(e.to_string());
        self.done
            .recv()
            .map_err(|e| device(&e))?
            .map_err(|e| device(&e))?;
        let out = (self.buffer.get_mapped_range(0..self.bytes))
            .map_err(|e| device(&e))?
            .to_vec();
        self.buffer.unmap();
        Ok(out)
    }
}

/// How a shader binds a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Read,
    Write,
    Uniform,
    /// A chunk's window of a buffer that holds every chunk's, at an offset given
    /// with each dispatch: its columns.
    ReadPerChunk,
    /// The same for a chunk's sizes.
    UniformPerChunk,
}

/// `bytes` of `buffer` from 0, a window whose offset moves per dispatch.
fn window(buffer: &wgpu::Buffer, bytes: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset: 0,
        size: std::num::NonZeroU64::new(bytes),
    })
}

/// Parses and validates generated WGSL. A failure is a compiler bug; the error
/// carries naga's message with the offending lines.
pub(crate) fn validate(wgsl: &str, precision: Precision) -> Result<naga::Module, BackendError> {
    let invalid = |message: String| BackendError::InvalidShader { message };
    let module = naga::front::wgsl::parse_str(wgsl).map_err(|e| invalid(e.emit_to_string(wgsl)))?;
    let caps = match precision {
        Precision::F32 => naga::valid::Capabilities::empty(),
        Precision::F64 => naga::valid::Capabilities::FLOAT64,
    };
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| invalid(e.emit_to_string(wgsl)))?;
    Ok(module)
}

/// One pass 1 (its segments, run in order) with the pass-2 tables that reduce it.
struct Pipelines {
    pass1: Vec<wgpu::ComputePipeline>,
    table: wgpu::Buffer,
    /// The tiled pass 2's table and its tile count, when a weight matrix is tiled.
    tiles: Option<(wgpu::Buffer, u32)>,
    n_out: u32,
    /// Where the table's pairs start (after its `n_out + 1` offsets).
    pairs: u32,
}

/// One point set's pipelines and sizes.
struct SetCode {
    full: Pipelines,
    forward: Option<Pipelines>,
    tape_width: u32,
    contrib_width: u32,
    n_cols: u32,
    n_data: usize,
    /// Points per chunk under the adapter's limits.
    chunk: u32,
}

/// One point set's buffers: those sized for a chunk, which its chunks take in
/// turn, and those that follow its point count.
struct SetBuffers {
    tape: wgpu::Buffer,
    contrib: wgpu::Buffer,
    /// Pass 2's sums per segment, which pass 3 folds into the pass's rows.
    partial: wgpu::Buffer,
    store: std::cell::RefCell<Option<SetStore>>,
}

/// Every chunk's columns and sizes of one point set, each chunk's at its own
/// offset, so that all chunks go in one submission and a set's points go up once
/// until they change; and the bind groups that window them.
struct SetStore {
    /// Chunks it has room for.
    chunks: usize,
    cols: wgpu::Buffer,
    info: wgpu::Buffer,
    /// The columns last written to `cols` (not written again while the same).
    written: Vec<u8>,
    /// Each chunk's sizes last written to `info`.
    info_written: Vec<[u32; 8]>,
    pass1: wgpu::BindGroup,
    reduce_full: ReduceGroups,
    reduce_forward: Option<ReduceGroups>,
    /// Pass 3's, on the rows of that [`RowStore::generation`].
    fold: Option<(u64, wgpu::BindGroup)>,
}

/// Pass 2's bind groups for one pass: per output, and tiled where it has tiles.
struct ReduceGroups {
    outputs: wgpu::BindGroup,
    tiles: Option<wgpu::BindGroup>,
}

/// Every chunk's rows of one pass on the device (pass 3 writes each chunk's at its
/// own place), and the buffer they come back through.
struct RowStore {
    rows: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// Numbers each buffer holds.
    capacity: u64,
    /// Counts the buffers made, so that a set's pass-3 bind group knows its rows.
    generation: u64,
}

/// One chunk of a pass: its point set, its points, and where its rows go.
#[derive(Debug, Clone)]
struct Chunk {
    set: usize,
    /// Its place among its set's chunks in this pass.
    index: usize,
    points: std::ops::Range<usize>,
    /// Where its rows start in the pass's rows (numbers).
    base: u64,
    rows: u32,
    n_out: u32,
}

/// A kernel compiled to WGSL and built for one device.
pub struct GpuKernel {
    kernel: Kernel,
    precision: Precision,
    gpu: Gpu,
    sets: Vec<SetCode>,
    buffers: Vec<SetBuffers>,
    /// θ and the loss seeds, one buffer every point set's pass 1 reads.
    params: wgpu::Buffer,
    reduce: wgpu::ComputePipeline,
    tiled: wgpu::ComputePipeline,
    fold: wgpu::ComputePipeline,
    /// The bind group layouts of passes 1, 2 and 3.
    layouts: [wgpu::BindGroupLayout; 3],
    rows: std::cell::RefCell<Option<RowStore>>,
    /// Adam's state when it runs on the device (`adam.rs`).
    adam: adam::DeviceState,
    /// The stages' timestamps, where the adapter writes them; used while `timing`.
    stopwatch: Option<timing::Stopwatch>,
    timing: std::cell::Cell<bool>,
    /// The shaders built and the work handed to the device so far.
    work: std::cell::Cell<DeviceWork>,
}

impl std::fmt::Debug for GpuKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuKernel")
            .field("adapter", &self.gpu.info.name)
            .field("precision", &self.precision)
            .finish()
    }
}

impl GpuKernel {
    /// Generates, validates and builds every point set's shaders on `gpu`.
    pub fn compile(
        kernel: &Kernel,
        precision: Precision,
        gpu: Gpu,
    ) -> Result<GpuKernel, BackendError> {
        let design = Design::for_adapter(gpu.info.device_type);
        Self::compile_chunked(kernel, precision, gpu, MAX_CHUNK, design)
    }

    /// The same with at most `max_chunk` points per chunk (tests force many chunks),
    /// shaped as `design` says (tests run the hardware profile, the tiles and θ in
    /// workgroup memory on lavapipe).
    pub(crate) fn compile_chunked(
        kernel: &Kernel,
        precision: Precision,
        gpu: Gpu,
        max_chunk: u32,
        design: Design,
    ) -> Result<GpuKernel, BackendError> {
        let Design {
            profile, reduction, ..
        } = design;
        use Slot::{Read, ReadPerChunk, UniformPerChunk, Write};
        let (bgl1, pl1) = gpu.layout(&[ReadPerChunk, Read, Write, Write, UniformPerChunk]);
        let (bgl2, pl2) = gpu.layout(&[Read, Read, Write, UniformPerChunk]);
        let (bgl3, pl3) = gpu.layout(&[Read, Write, UniformPerChunk]);
        let reduce = gpu.pipeline(&wgsl::reduce(precision), precision, &pl2, "reduce")?;
        let tiled = gpu.pipeline(&wgsl::tiled(precision), precision, &pl2, "tiled")?;
        let fold = gpu.pipeline(&wgsl::fold(precision), precision, &pl3, "fold")?;
        let el = elem(precision);
        let n_params = (kernel.programs.iter())
            .map(|set| set.program.theta_len + set.program.n_terms)
            .max()
            .unwrap_or(0);
        let params = gpu.buffer(
            n_params as u64 * el,
            // COPY_SRC: Adam on the device reads θ back from here.
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
        );
        let mut sets = vec![];
        let mut buffers = vec![];
        let mut reduce_reads = vec![];
        let mut shared = vec![];
        let shaders = pass1_shaders(kernel, precision, design, &gpu.limits)?;
        for (s, (set, (full, forward))) in kernel.programs.iter().zip(shaders).enumerate() {
            let prog = &set.program;
            let n_cols = prog.n_coords + prog.n_data + 1;
            let tape_width = full
                .tape_width
                .max(forward.as_ref().map_or(0, |f| f.tape_width));
            let widths = [
                tape_width,
                full.contrib_width,
                n_cols,
                full.n_out.div_ceil(SEG),
            ];
            let chunk = chunk_points(&gpu.limits, el, &widths, max_chunk)?;
            reduce_reads.push(full.reduce_reads(reduction));
            shared.push(u64::from(full.shared) * el);
            let make = |sh: &Shader, what: &str| -> Result<Pipelines, BackendError> {
                let trips = sh.reduce_trips(SEG, reduction);
                if trips > wgsl::LOOP_BUDGET {
                    return Err(BackendError::Unsupported(format!(
                        "summing one gradient entry over {SEG} points takes {trips} loop \
                         iterations, more than the {} a shader may run on llvmpipe",
                        wgsl::LOOP_BUDGET
                    )));
                }
                let pass1 = sh
                    .segments
                    .iter()
                    .enumerate()
                    .map(|(k, wgsl)| {
                        gpu.pipeline(wgsl, precision, &pl1, &format!("set {s} {what} {k}"))
                    })
                    .collect::<Result<_, _>>()?;
                let table = |words: &[u32]| {
                    let contents: Vec<u8> = words.iter().flat_map(|x| x.to_ne_bytes()).collect();
                    (gpu.device).create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: None,
                        contents: &contents,
                        usage: wgpu::BufferUsages::STORAGE,
                    })
                };
                Ok(Pipelines {
                    pass1,
                    table: table(&sh.table(reduction)),
                    tiles: (sh.n_tiles(reduction) > 0)
                        .then(|| (table(&sh.tiles), sh.n_tiles(reduction))),
                    n_out: sh.n_out,
                    pairs: sh.n_out + 1,
                })
            };
            let code = SetCode {
                full: make(&full, "loss and gradient")?,
                forward: forward.as_ref().map(|f| make(f, "forward")).transpose()?,
                tape_width,
                contrib_width: full.contrib_width,
                n_cols,
                n_data: prog.n_data as usize,
                chunk,
            };
            buffers.push(set_buffers(&gpu, &code, el));
            sets.push(code);
        }
        gpu.check()?;
        let adam = adam::DeviceState::new(&gpu, precision)?;
        let stopwatch = (gpu.timestamps).then(|| timing::Stopwatch::new(&gpu.device, &gpu.queue));
        let work = DeviceWork {
            profile: profile.name(),
            reduction: reduction.name(),
            shaders: 3
                + adam::SHADERS
                + (sets.iter())
                    .map(|s| s.full.pass1.len() + s.forward.as_ref().map_or(0, |f| f.pass1.len()))
                    .sum::<usize>(),
            tape_bytes_per_point: sets
                .iter()
                .map(|s| s.tape_width as u64 * el)
                .max()
                .unwrap_or(0),
            reduce_bytes_per_point: reduce_reads.into_iter().max().unwrap_or(0) * el,
            shared_theta_bytes: shared.into_iter().max().unwrap_or(0),
            ..DeviceWork::default()
        };
        Ok(GpuKernel {
            kernel: kernel.clone(),
            precision,
            gpu,
            sets,
            buffers,
            params,
            reduce,
            tiled,
            fold,
            layouts: [bgl1, bgl2, bgl3],
            rows: Default::default(),
            stopwatch,
            timing: Default::default(),
            adam,
            work: std::cell::Cell::new(work),
        })
    }

    /// The adapter the kernel runs on.
    pub fn adapter(&self) -> String {
        self.gpu.adapter()
    }

    /// The chunks of a pass over `batches` (only `share`'s rows of each set), in
    /// order, each with the place of its rows; and the rows' total size in numbers.
    fn plan(&self, batches: &[PointBatch], share: Share, forward_only: bool) -> (Vec<Chunk>, u64) {
        let mut chunks = vec![];
        let mut base = 0;
        for (set, batch) in batches.iter().enumerate() {
            let code = &self.sets[set];
            let pass = match (forward_only, &code.forward) {
                (true, Some(f)) => f,
                _ => &code.full,
            };
            let (n, chunk) = (batch.len(), code.chunk as usize);
            let row = chunk.min((SEG * ROW_SEGS) as usize);
            let rows = share.of(n.div_ceil(row));
            let points = rows.start * row..(rows.end * row).min(n);
            for (index, start) in points.clone().step_by(chunk).enumerate() {
                let end = (start + chunk).min(points.end);
                let segs = ((end - start) as u32).div_ceil(SEG);
                let rows = segs.div_ceil(segs.min(ROW_SEGS));
                chunks.push(Chunk {
                    set,
                    index,
                    points: start..end,
                    base,
                    rows,
                    n_out: pass.n_out,
                });
                base += u64::from(rows) * u64::from(pass.n_out);
            }
        }
        (chunks, base)
    }

    /// Encodes a pass's chunks into one command buffer: each set's columns (unless
    /// the caller knows they are `same_points` as last time: building them to
    /// compare costs the host a pass over every point) and sizes written where
    /// they changed, then per chunk pass 1, the reduction and
    /// the fold into its place in the rows, each chunk's columns and sizes bound at
    /// its offset. Returns the encoder, not submitted, and the rows (room for at
    /// least `total` numbers).
    fn encode_pass(
        &self,
        chunks: &[Chunk],
        total: u64,
        batches: &[PointBatch],
        forward_only: bool,
        same_points: bool,
    ) -> Result<(wgpu::CommandEncoder, std::cell::RefMut<'_, RowStore>), BackendError> {
        if total > u64::from(u32::MAX) {
            return Err(BackendError::Unsupported(
                "a pass's rows need more than 2³² numbers".into(),
            ));
        }
        let rows = self.row_store(total);
        let mut stores = vec![];
        for (set, batch) in batches.iter().enumerate() {
            let mine: Vec<&Chunk> = chunks.iter().filter(|c| c.set == set).collect();
            let columns = (!same_points).then_some(batch);
            stores.push(self.set_store(set, columns, &mine, forward_only, &rows));
        }
        let mut enc = self.gpu.device.create_command_encoder(&Default::default());
        {
            let mut cp = enc.begin_compute_pass(&Default::default());
            for c in chunks {
                self.encode_chunk(c, forward_only, &stores[c.set], &mut cp)?;
            }
        }
        Ok((enc, rows))
    }

    /// The rows buffer with room for `total` numbers (grown when a pass needs more
    /// than any before).
    fn row_store(&self, total: u64) -> std::cell::RefMut<'_, RowStore> {
        let mut slot = self.rows.borrow_mut();
        if slot.as_ref().is_none_or(|r| r.capacity < total) {
            use wgpu::BufferUsages as U;
            let el = elem(self.precision);
            *slot = Some(RowStore {
                rows: self.gpu.buffer(total * el, U::STORAGE | U::COPY_SRC),
                staging: self.gpu.buffer(total * el, U::MAP_READ | U::COPY_DST),
                capacity: total,
                generation: slot.as_ref().map_or(0, |r| r.generation + 1),
            });
        }
        std::cell::RefMut::map(slot, |s| s.as_mut().expect("just made"))
    }

    /// Bytes between two chunks' columns in a set's store: a chunk's columns,
    /// rounded up to the adapter's alignment of storage offsets.
    fn cols_stride(&self, code: &SetCode) -> u64 {
        let align = u64::from(self.gpu.limits.min_storage_buffer_offset_alignment);
        (u64::from(code.chunk) * u64::from(code.n_cols) * elem(self.precision))
            .next_multiple_of(align)
    }

    /// Bytes between two chunks' sizes.
    fn info_stride(&self) -> u64 {
        32u64.next_multiple_of(u64::from(
            self.gpu.limits.min_uniform_buffer_offset_alignment,
        ))
    }

    /// Point set `set`'s store, with room for `chunks` and their sizes, and their
    /// columns of `batch` when given, written where they changed; bound to `rows`.
    fn set_store(
        &self,
        set: usize,
        batch: Option<&PointBatch>,
        chunks: &[&Chunk],
        forward_only: bool,
        rows: &RowStore,
    ) -> std::cell::RefMut<'_, SetStore> {
        let (code, bufs) = (&self.sets[set], &self.buffers[set]);
        let mut slot = bufs.store.borrow_mut();
        if slot.as_ref().is_none_or(|s| s.chunks < chunks.len()) {
            *slot = Some(self.new_set_store(set, chunks.len().max(1)));
        }
        let st = slot.as_mut().expect("just made");
        if let Some(batch) = batch {
            let stride = self.cols_stride(code) as usize;
            let mut cols = Vec::with_capacity(stride * chunks.len());
            for c in chunks {
                cols.extend(self.columns(code, batch, c.points.clone()));
                cols.resize(cols.len().next_multiple_of(stride), 0);
            }
            if st.written != cols {
                self.upload(&st.cols, 0, &cols);
                st.written = cols;
            }
        }
        let pass = match (forward_only, &code.forward) {
            (true, Some(f)) => f,
            _ => &code.full,
        };
        for c in chunks {
            let (m, segs) = (c.points.len() as u32, (c.points.len() as u32).div_ceil(SEG));
            // `zero` (always 0) is added to every loop bound (see `wgsl.rs`).
            let base = c.base as u32;
            let info = [
                m,
                SEG,
                pass.n_out,
                pass.pairs,
                0,
                segs.min(ROW_SEGS),
                base,
                0,
            ];
            if st.info_written.get(c.index) != Some(&info) {
                let bytes: Vec<u8> = info.iter().flat_map(|x| x.to_ne_bytes()).collect();
                self.upload(&st.info, c.index as u64 * self.info_stride(), &bytes);
                st.info_written
                    .resize(st.info_written.len().max(c.index + 1), [u32::MAX; 8]);
                st.info_written[c.index] = info;
            }
        }
        if st.fold.as_ref().map(|f| f.0) != Some(rows.generation) {
            let info = window(&st.info, 32);
            let resources = vec![
                bufs.partial.as_entire_binding(),
                rows.rows.as_entire_binding(),
                info,
            ];
            st.fold = Some((
                rows.generation,
                self.gpu.bind_windows(&self.layouts[2], resources),
            ));
        }
        std::cell::RefMut::map(slot, |s| s.as_mut().expect("just made"))
    }

    /// Buffers for `chunks` chunks of point set `set`, and their bind groups.
    fn new_set_store(&self, set: usize, chunks: usize) -> SetStore {
        use wgpu::BufferUsages as U;
        let (code, bufs) = (&self.sets[set], &self.buffers[set]);
        let stride = self.cols_stride(code);
        let cols = self
            .gpu
            .buffer(stride * chunks as u64, U::STORAGE | U::COPY_DST);
        let info = (self.gpu).buffer(self.info_stride() * chunks as u64, U::UNIFORM | U::COPY_DST);
        let chunk_cols = u64::from(code.chunk) * u64::from(code.n_cols) * elem(self.precision);
        let pass1 = self.gpu.bind_windows(
            &self.layouts[0],
            vec![
                window(&cols, chunk_cols),
                self.params.as_entire_binding(),
                bufs.tape.as_entire_binding(),
                bufs.contrib.as_entire_binding(),
                window(&info, 32),
            ],
        );
        let group = |table: &wgpu::Buffer| {
            let whole = [&bufs.contrib, table, &bufs.partial].map(|b| b.as_entire_binding());
            let resources = whole.into_iter().chain([window(&info, 32)]).collect();
            self.gpu.bind_windows(&self.layouts[1], resources)
        };
        let reduce = |p: &Pipelines| ReduceGroups {
            outputs: group(&p.table),
            tiles: p.tiles.as_ref().map(|(t, _)| group(t)),
        };
        SetStore {
            chunks,
            reduce_full: reduce(&code.full),
            reduce_forward: code.forward.as_ref().map(reduce),
            cols,
            info,
            written: vec![],
            info_written: vec![],
            pass1,
            fold: None,
        }
    }

    /// Encodes one chunk into `cp`: pass 1, the reduction and the fold into its
    /// place in the rows, its columns and sizes bound at its offsets.
    fn encode_chunk(
        &self,
        c: &Chunk,
        forward_only: bool,
        st: &SetStore,
        cp: &mut wgpu::ComputePass<'_>,
    ) -> Result<(), BackendError> {
        let code = &self.sets[c.set];
        let (pass, reduce_bg) = match (forward_only, &code.forward, &st.reduce_forward) {
            (false, _, _) => (&code.full, &st.reduce_full),
            (true, Some(f), Some(bg)) => (f, bg),
            _ => {
                return Err(BackendError::Internal(
                    "no forward-only shader was built".into(),
                ))
            }
        };
        let offset = |bytes: u64| {
            u32::try_from(bytes)
                .map_err(|_| BackendError::Unsupported("a point set's columns pass 4 GiB".into()))
        };
        let cols_at = offset(c.index as u64 * self.cols_stride(code))?;
        let info_at = offset(c.index as u64 * self.info_stride())?;
        let (Some((_, fold)), m) = (&st.fold, c.points.len() as u32) else {
            return Err(BackendError::Internal("pass 3 has no bind group".into()));
        };
        let watch = self.watching();
        let mark = |cp: &mut wgpu::ComputePass<'_>| watch.and_then(|w| w.mark(cp));
        let before = mark(cp);
        cp.set_bind_group(0, &st.pass1, &[cols_at, info_at]);
        for segment in &pass.pass1 {
            cp.set_pipeline(segment);
            cp.dispatch_workgroups(m.div_ceil(WORKGROUP), 1, 1);
        }
        let pass1 = mark(cp);
        cp.set_pipeline(&self.reduce);
        cp.set_bind_group(0, &reduce_bg.outputs, &[info_at]);
        cp.dispatch_workgroups(pass.n_out.div_ceil(WORKGROUP), m.div_ceil(SEG), 1);
        // After the pass per output, which writes 0 for the tiled outputs (they
        // have no pairs there): wgpu orders two dispatches that write one buffer.
        if let (Some((_, n_tiles)), Some(tiles)) = (&pass.tiles, &reduce_bg.tiles) {
            cp.set_pipeline(&self.tiled);
            cp.set_bind_group(0, tiles, &[info_at]);
            cp.dispatch_workgroups(*n_tiles, m.div_ceil(SEG), 1);
            self.count(|w| w.dispatches += 1);
        }
        let reduced = mark(cp);
        cp.set_pipeline(&self.fold);
        cp.set_bind_group(0, fold, &[info_at]);
        cp.dispatch_workgroups(pass.n_out.div_ceil(WORKGROUP), c.rows, 1);
        let folded = mark(cp);
        if let Some(w) = watch {
            w.span(Stage::Pass1, before, pass1);
            w.span(Stage::Reduce, pass1, reduced);
            w.span(Stage::Fold, reduced, folded);
        }
        self.count(|w| w.dispatches += pass.pass1.len() as u64 + 2);
        Ok(())
    }

    /// Submits `enc` without waiting (ending it with the stages' timestamps when
    /// they are being timed).
    fn submit(&self, mut enc: wgpu::CommandEncoder) {
        if let Some(w) = self.watching() {
            w.resolve(&mut enc);
        }
        self.gpu.queue.submit([enc.finish()]);
        self.count(|w| w.submissions += 1);
    }

    /// Submits `enc`, which ends by copying into `staging`, waits for the device
    /// and returns `staging`'s first `bytes`.
    fn read_back(
        &self,
        enc: wgpu::CommandEncoder,
        staging: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<u8>, BackendError> {
        self.submit(enc);
        // The submission's timestamps come back with its results, after one wait.
        let times = self.stopwatch.as_ref().and_then(|w| w.submitted());
        let rows = (bytes > 0).then(|| Mapping::ask(staging, bytes));
        let timestamps = times.map(|(buffer, n)| Mapping::ask(buffer, n));
        self.gpu.wait()?;
        if let (Some(w), Some(t)) = (&self.stopwatch, timestamps) {
            let mut seconds = self.work.get().stage_seconds;
            w.add(&t.bytes()?, &mut seconds);
            self.count(|w| w.stage_seconds = seconds);
        }
        let Some(rows) = rows else {
            return Ok(vec![]);
        };
        self.count(|w| w.read_back_bytes += bytes);
        rows.bytes()
    }

    /// Writes `bytes` into `buffer` at `at`, counted as uploaded.
    fn upload(&self, buffer: &wgpu::Buffer, at: u64, bytes: &[u8]) {
        self.gpu.queue.write_buffer(buffer, at, bytes);
        self.count(|w| w.uploaded_bytes += bytes.len() as u64);
    }

    /// The stopwatch while the stages are being timed.
    fn watching(&self) -> Option<&timing::Stopwatch> {
        self.stopwatch.as_ref().filter(|_| self.timing.get())
    }

    /// Adds to the work handed to the device.
    fn count(&self, add: impl FnOnce(&mut DeviceWork)) {
        let mut w = self.work.get();
        add(&mut w);
        self.work.set(w);
    }

    /// The chunk's coordinates, data and weights (zeros when absent), one column
    /// after another, in the kernel's precision.
    fn columns(
        &self,
        code: &SetCode,
        batch: &PointBatch,
        points: std::ops::Range<usize>,
    ) -> Vec<u8> {
        let zeros = vec![0.0; batch.len()];
        let weights = batch.weights.as_ref().unwrap_or(&zeros);
        let cols = batch
            .coords
            .iter()
            .chain(batch.data.iter().take(code.n_data))
            .chain([weights]);
        let mut vals = Vec::with_capacity(code.n_cols as usize * points.len());
        for c in cols {
            vals.extend_from_slice(&c[points.clone()]);
        }
        to_bytes(&vals, self.precision)
    }
}

impl Engine for GpuKernel {
    fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    fn device_work(&self) -> Option<DeviceWork> {
        Some(self.work.get())
    }

    fn device_adam(&self) -> Option<&dyn super::DeviceAdam> {
        self.adam_here()
    }

    /// On a device with f64 where [`matrix::wanted`] does not say host and H fits
    /// its memory.
    fn device_matrix(&self, n: usize) -> Option<super::MatrixOffer> {
        let gpu = &self.gpu;
        let f64s = gpu.device.features().contains(wgpu::Features::SHADER_F64);
        let forced = match matrix::wanted(gpu.info.device_type) {
            _ if !f64s => return None,
            matrix::Wanted::Host => return None,
            matrix::Wanted::Device => true,
            matrix::Wanted::Timed => false,
        };
        let m = matrix::GpuMatrix::new(gpu.clone(), n, usize::MAX).ok()?;
        Some(super::MatrixOffer {
            matrix: Box::new(m),
            forced,
        })
    }

    fn facts(&self) -> EngineFacts {
        EngineFacts {
            kind: EngineKind::Gpu,
            precision: self.precision,
            isa: None,
            products: None,
            groups: None,
            adapter: Some(self.adapter()),
            threads: 1,
            ranks: 1,
        }
    }

    /// Point set after point set, chunk after chunk, one row per `SEG * ROW_SEGS`
    /// points (per chunk where a chunk is smaller); a share is a run of whole rows.
    /// Every chunk's rows stay on the device until one wait and one copy bring
    /// them all back.
    fn partials(&self, pass: &Pass) -> Result<Partials, KernelError> {
        let device = |e: BackendError| KernelError::Device(e.to_string());
        self.adam.lose();
        let params: Vec<f64> = pass.theta.iter().chain(pass.seeds).copied().collect();
        let params = to_bytes(&params, self.precision);
        self.upload(&self.params, 0, &params);
        let (chunks, total) = self.plan(pass.batches, pass.share, pass.forward_only);
        let encoded = self.encode_pass(&chunks, total, pass.batches, pass.forward_only, false);
        let (mut enc, store) = encoded.map_err(device)?;
        let bytes = total * elem(self.precision);
        if bytes > 0 {
            enc.copy_buffer_to_buffer(&store.rows, 0, &store.staging, 0, bytes);
        }
        let rows = self.read_back(enc, &store.staging, bytes).map_err(device)?;
        let rows = from_bytes(&rows, self.precision);
        let mut out = Partials::new(self.kernel.terms.len(), pass.grad_len());
        let mut chunks = chunks.iter().peekable();
        for set in 0..pass.batches.len() {
            while let Some(c) = chunks.next_if(|c| c.set == set) {
                let at = c.base as usize;
                let numbers = &rows[at..at + c.rows as usize * c.n_out as usize];
                numbers
                    .chunks(c.n_out as usize)
                    .for_each(|row| out.push(row));
            }
            out.end_set();
        }
        Ok(out)
    }
}

/// Allocates one point set's buffers for a chunk.
fn set_buffers(gpu: &Gpu, code: &SetCode, el: u64) -> SetBuffers {
    use wgpu::BufferUsages as U;
    let chunk = code.chunk as u64;
    let segs = chunk.div_ceil(SEG as u64);
    SetBuffers {
        tape: gpu.buffer(code.tape_width as u64 * chunk * el, U::STORAGE),
        contrib: gpu.buffer(code.contrib_width as u64 * chunk * el, U::STORAGE),
        partial: gpu.buffer(code.full.n_out as u64 * segs * el, U::STORAGE),
        store: Default::default(),
    }
}

/// The most points per chunk such that every per-point buffer (`widths` numbers
/// per point, or per segment for the partials) fits the adapter's binding and buffer
/// limits, at most `max_chunk`; a multiple of a row's `SEG * ROW_SEGS` points when
/// above it (so rows start at the same points in every chunk and share), else of `SEG`.
pub(crate) fn chunk_points(
    limits: &wgpu::Limits,
    el: u64,
    widths: &[u32],
    max_chunk: u32,
) -> Result<u32, BackendError> {
    let max = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let widest = widths.iter().copied().max().unwrap_or(1).max(1) as u64;
    let points = (max / (widest * el)).min(max_chunk as u64) as u32;
    if points == 0 {
        return Err(BackendError::Unsupported(format!(
            "one point needs {} bytes of a buffer, more than the adapter's limit of {max}",
            widest * el
        )));
    }
    let whole = |unit: u32| points / unit * unit;
    Ok(match points {
        p if p >= SEG * ROW_SEGS => whole(SEG * ROW_SEGS),
        p if p >= SEG => whole(SEG),
        p => p,
    })
}

fn elem(precision: Precision) -> u64 {
    match precision {
        Precision::F32 => 4,
        Precision::F64 => 8,
    }
}

/// Numbers in the kernel's precision as native-endian bytes.
fn to_bytes(xs: &[f64], precision: Precision) -> Vec<u8> {
    match precision {
        Precision::F32 => xs.iter().flat_map(|&x| (x as f32).to_ne_bytes()).collect(),
        Precision::F64 => xs.iter().flat_map(|&x| x.to_ne_bytes()).collect(),
    }
}

fn from_bytes(bytes: &[u8], precision: Precision) -> Vec<f64> {
    match precision {
        Precision::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect(),
        Precision::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect(),
    }
}

/// A point set's pass 1 for loss and gradient, and for the forward values alone.
type SetShaders = (Shader, Option<Shader>);

/// Each point set's pass 1: loss and gradient, and the forward values alone when a
/// term is an integral (its normalization needs them first). All are cut together,
/// so that the kernel keeps under [`wgsl::MAX_SEGMENTS`]. With θ in workgroup
/// memory, as much of it as the adapter's `limits` give a workgroup.
fn pass1_shaders(
    kernel: &Kernel,
    precision: Precision,
    design: Design,
    limits: &wgpu::Limits,
) -> Result<Vec<SetShaders>, BackendError> {
    let theta_room = match design.theta {
        Theta::Workgroup => {
            (limits.max_compute_workgroup_storage_size as u64 / elem(precision)) as u32
        }
        Theta::Storage => 0,
    };
    let integral = kernel
        .terms
        .iter()
        .any(|t| matches!(t.reduce, Reduce::Integral { .. }));
    let mut passes = vec![];
    for set in &kernel.programs {
        let prog = &set.program;
        passes.push((prog, &set.info, prog.ops.len()));
        if integral {
            passes.push((prog, &set.info, prog.backward_start));
        }
    }
    let mut shaders = wgsl::emit_all(&passes, precision, design, theta_room)?.into_iter();
    let mut sets = vec![];
    while let Some(full) = shaders.next() {
        let forward = if integral { shaders.next() } else { None };
        sets.push((full, forward));
    }
    Ok(sets)
}

/// Every point set's generated WGSL, validated (`pdenet kernels --emit wgsl`), and
/// the reduction shaders; a validation failure is shown in place of its shader.
/// Shaped as for a software adapter unless `PDENET_GPU_PROFILE=hardware` (and the
/// other settings of [`Design::for_adapter`]; θ in workgroup memory up to WebGPU's
/// default 16 KiB).
pub fn emit_wgsl(kernel: &Kernel, precision: Precision) -> String {
    let mut out = String::new();
    // lavapipe's shaders, or with PDENET_GPU_PROFILE=hardware a hardware GPU's
    // (no loop budget there).
    let mut design = Design::for_adapter(wgpu::DeviceType::Cpu);
    design.loop_budget = design.profile == Profile::Software;
    match pass1_shaders(kernel, precision, design, &wgpu::Limits::default()) {
        Ok(sets) => {
            for (s, (full, _)) in sets.iter().enumerate() {
                out += &format!("// point set {s}: loss and gradient\n");
                for wgsl in &full.segments {
                    if let Err(e) = validate(wgsl, precision) {
                        out += &format!("// {e}\n");
                    }
                    out += wgsl;
                }
                out.push('\n');
            }
        }
        Err(e) => out += &format!("// {e}\n\n"),
    }
    out += &wgsl::reduce(precision);
    out.push('\n');
    out += &wgsl::tiled(precision);
    out.push('\n');
    out += &wgsl::fold(precision);
    out.push('\n');
    out += &adam::emit(precision);
    if precision == Precision::F64 {
        out.push('\n');
        out += &matrix::emit();
    }
    out
}
