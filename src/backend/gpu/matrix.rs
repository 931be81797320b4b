//! The dense quasi-Newton methods' H on the device (issue 21). BFGS, SSBFGS and
//! SSBroyden keep an n×n inverse Hessian and pass over it once per iteration
//! (`optim::dense`): apply the pending rank-two update to each row, then take the
//! row's products with g and y. On the host that pass streams 16n² bytes through
//! two cores' memory bandwidth and, above a few thousand parameters, costs more than
//! the GPU's whole loss-and-gradient evaluation; a GPU streams it in a fraction of
//! that. H stays on the device from the phase's start: a pass sends 4n numbers (the
//! update's u and s, then g and y) and brings back 2n (H·g and H·y), the order of
//! the gradient the evaluation already reads back.
//!
//! One workgroup per row: its invocations stride across the row (neighbours reading
//! neighbouring words), each keeps two partial sums, and a tree in workgroup memory
//! adds them. The sums are in another order than the host's, so the products agree
//! with the host's to rounding, not bit for bit; the update of each entry is the
//! host's expression. H is kept in blocks of whole rows, each within one storage
//! binding (a Vulkan binding holds at most 4 GiB: an H of order 23 170, where a
//! 100×5 MLP's is of order 40 701), dispatched one after another in one submission.

use std::fmt::Write;

use super::{from_bytes, to_bytes, validate, BackendError, Gpu, Mapping, Slot, WORKGROUP};
use crate::backend::{DeviceMatrix, Precision, RankTwo};
use crate::kernel::KernelError;

/// Where a GPU engine offers to keep a dense phase's H.
pub(super) enum Wanted {
    Host,
    Device,
    /// On the device if a pass there is timed faster than the host's at the phase's
    /// start (`train::matrix::place`).
    Timed,
}

/// `PDENET_GPU_MATRIX=host|device|timed` says; by default timed on a hardware GPU
/// (faster there by the memory bandwidth, unless H is so small that a submission's
/// round trip costs more than the host's pass) and the host on a software adapter
/// (lavapipe's pass is the CPU's through a slower compiler: 14 to 23 times the
/// host's, docs/gpu-notes.md).
pub(super) fn wanted(device_type: wgpu::DeviceType) -> Wanted {
    match std::env::var("PDENET_GPU_MATRIX").as_deref() {
        Ok("host") => Wanted::Host,
        Ok("device") => Wanted::Device,
        Ok("timed") => Wanted::Timed,
        _ if device_type == wgpu::DeviceType::Cpu => Wanted::Host,
        _ => Wanted::Timed,
    }
}

/// The most rows of an n×n f64 H one block holds: as many as one binding takes,
/// their entries' indices within the shader's u32, a row per workgroup in one
/// dispatch; 0 where not even one row fits.
pub(super) fn block_rows(limits: &wgpu::Limits, n: usize) -> usize {
    let binding = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let by_bytes = binding / (8 * n.max(1) as u64);
    let by_index = u64::from(u32::MAX) / n.max(1) as u64;
    let rows = by_bytes.min(by_index) as usize;
    rows.min(limits.max_compute_workgroups_per_dimension as usize)
}

/// How a pass treats H before its products (`Sizes::mode`).
const KEEP: u32 = 0;
const UPDATE: u32 = 1;
const FROM_IDENTITY: u32 = 2;

/// H on a device, with the buffers of a pass.
pub struct GpuMatrix {
    gpu: Gpu,
    n: usize,
    pipeline: wgpu::ComputePipeline,
    blocks: Vec<Block>,
    /// u, s, g and y, n numbers each, then keep, β, γ, δ.
    vectors: wgpu::Buffer,
    /// H·g, then H·y.
    products: wgpu::Buffer,
    staging: wgpu::Buffer,
}

/// Rows `first..first + rows` of H, in a buffer of their own.
struct Block {
    first: usize,
    rows: usize,
    h: wgpu::Buffer,
    /// `Sizes`, this block's first row included.
    sizes: wgpu::Buffer,
    group: wgpu::BindGroup,
}

/// The pass over one block: row `r = first + workgroup_id.x` updated as `mode` says
/// and multiplied by g and y.
fn shader() -> String {
    let half = WORKGROUP / 2;
    let mut code = String::from(
        "// pdenet dense quasi-Newton: one pass over H, a workgroup per row\n\
         alias F = f64;\n\
         // first: the block's first row, whose rows `h` holds\n\
         struct Sizes { n: u32, mode: u32, zero: u32, first: u32 }\n\
         @group(0) @binding(0) var<storage, read_write> h: array<F>;\n\
         // u, s, g, y (n each), then keep, β, γ, δ\n\
         @group(0) @binding(1) var<storage, read> v: array<F>;\n\
         @group(0) @binding(2) var<storage, read_write> products: array<F>;\n\
         @group(0) @binding(3) var<uniform> sizes: Sizes;\n",
    );
    let _ = write!(
        code,
        "var<workgroup> part: array<F, {two}>;\n\
         \n@compute @workgroup_size({WORKGROUP})\n\
         fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) k: u32) {{\n\
         \x20   let n = sizes.n;\n\
         \x20   let r = sizes.first + wg.x;\n\
         \x20   let keep = v[4u * n];\n\
         \x20   let a = v[4u * n + 1u] * v[r] + v[4u * n + 2u] * v[n + r];\n\
         \x20   let b = v[4u * n + 2u] * v[r] + v[4u * n + 3u] * v[n + r];\n\
         \x20   var hg = F(0);\n\
         \x20   var hy = F(0);\n\
         \x20   for (var c = k; c < n + sizes.zero; c += {WORKGROUP}u) {{\n\
         \x20       let i = wg.x * n + c;\n\
         \x20       var x = h[i];\n\
         \x20       if (sizes.mode == {UPDATE}u) {{\n\
         \x20           x = x * keep + a * v[c] + b * v[n + c];\n\
         \x20           h[i] = x;\n\
         \x20       }} else if (sizes.mode == {FROM_IDENTITY}u) {{\n\
         \x20           x = a * v[c] + b * v[n + c];\n\
         \x20           if (c == r) {{ x += keep; }}\n\
         \x20           h[i] = x;\n\
         \x20       }}\n\
         \x20       hg += x * v[2u * n + c];\n\
         \x20       hy += x * v[3u * n + c];\n\
         \x20   }}\n\
         \x20   part[k] = hg;\n\
         \x20   part[{WORKGROUP}u + k] = hy;\n\
         \x20   workgroupBarrier();\n\
         \x20   for (var w = {half}u; w > 0u; w >>= 1u) {{\n\
         \x20       if (k < w) {{\n\
         \x20           part[k] += part[k + w];\n\
         \x20           part[{WORKGROUP}u + k] += part[{WORKGROUP}u + k + w];\n\
         \x20       }}\n\
         \x20       workgroupBarrier();\n\
         \x20   }}\n\
         \x20   if (k == 0u) {{\n\
         \x20       products[r] = part[0];\n\
         \x20       products[n + r] = part[{WORKGROUP}u];\n\
         \x20   }}\n\
         }}\n",
        two = 2 * WORKGROUP,
    );
    code
}

/// The shader, validated, for `pdenet kernels --emit wgsl`.
pub(super) fn emit() -> String {
    let wgsl = shader();
    match validate(&wgsl, Precision::F64) {
        Ok(_) => wgsl,
        Err(e) => format!("// {e}\n{wgsl}"),
    }
}

impl GpuMatrix {
    /// An n×n H on `gpu`'s device (which must have f64) in blocks of at most
    /// `max_rows` rows (tests force several), holding nothing until the first pass
    /// starts it from the identity or [`DeviceMatrix::write`] fills it.
    pub fn new(gpu: Gpu, n: usize, max_rows: usize) -> Result<GpuMatrix, BackendError> {
        use Slot::{Read, Uniform, Write};
        let per_block = block_rows(&gpu.limits, n).min(max_rows);
        if per_block == 0 {
            let why = format!("a row of an H of order {n} exceeds the adapter's largest binding");
            return Err(BackendError::Device(why));
        }
        let (layout, pl) = gpu.layout(&[Write, Read, Write, Uniform]);
        let pipeline = gpu.pipeline(&shader(), Precision::F64, &pl, "dense H")?;
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let copy_src = wgpu::BufferUsages::COPY_SRC;
        let n64 = n as u64;
        let vectors = gpu.buffer(8 * (4 * n64 + 4), usage);
        let products = gpu.buffer(8 * 2 * n64, wgpu::BufferUsages::STORAGE | copy_src);
        let staging = gpu.buffer(
            8 * 2 * n64,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        // Out of device memory is a reason to keep H on the host, not an error that
        // would stop the kernel's next evaluation (`Gpu::check`).
        let scope = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let blocks: Vec<Block> = (0..n)
            .step_by(per_block)
            .map(|first| {
                let rows = per_block.min(n - first);
                let h = gpu.buffer(8 * (rows as u64) * n64, usage | copy_src);
                let uniform = wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST;
                let sizes = gpu.buffer(16, uniform);
                let group = gpu.bind(&layout, &[&h, &vectors, &products, &sizes]);
                Block {
                    first,
                    rows,
                    h,
                    sizes,
                    group,
                }
            })
            .collect();
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(BackendError::Device(format!("H of order {n}: {e}")));
        }
        gpu.check()?;
        Ok(GpuMatrix {
            gpu,
            n,
            pipeline,
            blocks,
            vectors,
            products,
            staging,
        })
    }

    /// Copies `bytes` of `from` into `staging`, submits, waits and reads them.
    fn fetch(
        &self,
        mut enc: wgpu::CommandEncoder,
        from: &wgpu::Buffer,
        staging: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<f64>, BackendError> {
        enc.copy_buffer_to_buffer(from, 0, staging, 0, bytes);
        self.gpu.queue.submit([enc.finish()]);
        let mapping = Mapping::ask(staging, bytes);
        self.gpu.wait()?;
        Ok(from_bytes(&mapping.bytes()?, Precision::F64))
    }

    /// [`DeviceMatrix::sweep`], failing with the back end's error.
    fn pass(
        &mut self,
        update: Option<(RankTwo, &[f64], &[f64])>,
        g: &[f64],
        y: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), BackendError> {
        let n = self.n;
        let mut numbers = vec![0.0; 4 * n + 4];
        let mut mode = KEEP;
        if let Some((c, u, s)) = update {
            numbers[..n].copy_from_slice(u);
            numbers[n..2 * n].copy_from_slice(s);
            numbers[4 * n..].copy_from_slice(&[c.keep, c.beta, c.gamma, c.delta]);
            mode = if c.from_identity {
                FROM_IDENTITY
            } else {
                UPDATE
            };
        }
        numbers[2 * n..3 * n].copy_from_slice(g);
        numbers[3 * n..4 * n].copy_from_slice(y);
        let queue = &self.gpu.queue;
        queue.write_buffer(&self.vectors, 0, &to_bytes(&numbers, Precision::F64));
        let mut enc = (self.gpu.device).create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            for b in &self.blocks {
                let sizes = [n as u32, mode, 0, b.first as u32];
                let sizes: Vec<u8> = sizes.iter().flat_map(|x| x.to_ne_bytes()).collect();
                queue.write_buffer(&b.sizes, 0, &sizes);
                pass.set_bind_group(0, &b.group, &[]);
                pass.dispatch_workgroups(b.rows as u32, 1, 1);
            }
        }
        let mut products = self.fetch(enc, &self.products, &self.staging, 16 * n as u64)?;
        let hy = products.split_off(n);
        Ok((products, hy))
    }
}

impl DeviceMatrix for GpuMatrix {
    fn order(&self) -> usize {
        self.n
    }

    fn sweep(
        &mut self,
        update: Option<(RankTwo, &[f64], &[f64])>,
        g: &[f64],
        y: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), KernelError> {
        self.pass(update, g, y)
            .map_err(|e| KernelError::Device(e.to_string()))
    }

    /// Block by block, each through a staging buffer of its own size.
    fn read(&self) -> Result<Vec<f64>, KernelError> {
        let mut h = Vec::with_capacity(self.n * self.n);
        for b in &self.blocks {
            let bytes = 8 * (b.rows * self.n) as u64;
            let staging = (self.gpu).buffer(
                bytes,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let enc = (self.gpu.device).create_command_encoder(&Default::default());
            let rows = self.fetch(enc, &b.h, &staging, bytes);
            h.extend(rows.map_err(|e| KernelError::Device(e.to_string()))?);
        }
        Ok(h)
    }

    fn write(&mut self, h: &[f64]) -> Result<(), KernelError> {
        for b in &self.blocks {
            let rows = &h[b.first * self.n..(b.first + b.rows) * self.n];
            (self.gpu.queue).write_buffer(&b.h, 0, &to_bytes(rows, Precision::F64));
        }
        (self.gpu.check()).map_err(|e| KernelError::Device(e.to_string()))
    }
}
