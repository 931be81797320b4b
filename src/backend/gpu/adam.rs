//! Adam on the device (issue 21). An epoch encodes the usual passes, whose rows
//! stay on the device, then two more shaders in the same submission: `total` adds
//! every row per output, in order (the host's [`Partials::combine`] order, in the
//! kernel's precision), zeroes the gradient of fixed entries and raises a flag when
//! a sum is not finite; `update` then takes torch's Adam step on θ in the params
//! buffer, unless the flag is up, keeping the moments and θ where the step began in
//! one `moments` buffer (m, then v, then the last good θ). What comes back is the
//! term sums, the flag and the few θ entries the caller watches: no gradient, no θ.
//!
//! The step's numbers (step size, bias corrections) are the optimizer's, computed
//! on the host in f64 as for the host's Adam; on an f32 device θ and the moments are
//! f32, as in a PyTorch CUDA run.
//!
//! [`Partials::combine`]: crate::backend::Partials::combine

use std::cell::{Cell, RefCell};
use std::fmt::Write;

use super::timing::Stage;
use super::wgsl::{scalar as scalar_type, WORKGROUP};
use super::{elem, from_bytes, to_bytes, validate, BackendError, Gpu, GpuKernel, Share, Slot};
use crate::backend::{AdamState, AdamUpdate, DeviceAdam, DeviceEpoch, Precision};
use crate::kernel::{KernelError, PointBatch};
use crate::problem::Reduce;

/// Shaders this module builds.
pub(super) const SHADERS: usize = 2;

/// The pipelines, and the buffers of the state once loaded.
pub(super) struct DeviceState {
    total: wgpu::ComputePipeline,
    update: wgpu::ComputePipeline,
    total_layout: wgpu::BindGroupLayout,
    update_layout: wgpu::BindGroupLayout,
    buffers: RefCell<Option<Buffers>>,
    /// Whether the params buffer holds the loaded θ: any other pass writes its own.
    current: Cell<bool>,
}

/// The device's copy of Adam's state and what an epoch needs besides the rows.
struct Buffers {
    n_terms: u32,
    n_params: u32,
    /// 1 for an entry of θ that trains, 0 for a fixed one.
    trains: wgpu::Buffer,
    /// Each output's total: the term sums, then the gradient.
    sums: wgpu::Buffer,
    /// Nonzero once a total is not finite.
    bad: wgpu::Buffer,
    /// m, v and the last good θ, `n_params` numbers each.
    moments: wgpu::Buffer,
    /// The step's numbers (`HYPER`).
    hyper: wgpu::Buffer,
    sizes: wgpu::Buffer,
    sizes_written: Cell<[u32; 8]>,
    /// The point sets' columns were compared with the device's since the load.
    points_checked: Cell<bool>,
    staging: wgpu::Buffer,
    update_group: wgpu::BindGroup,
}

/// The uniform both shaders read; `zero` is 0 (see `wgsl.rs` on loop bounds).
const SIZES: &str =
    "struct Sizes { rows: u32, width: u32, n_terms: u32, n_params: u32, zero: u32 }\n";

/// `hyper`'s numbers, in order.
const HYPER: usize = 7;

impl DeviceState {
    pub(super) fn new(gpu: &Gpu, precision: Precision) -> Result<DeviceState, BackendError> {
        use Slot::{Read, Uniform, Write};
        let (total_layout, total_pl) = gpu.layout(&[Read, Read, Write, Write, Uniform]);
        let (update_layout, update_pl) = gpu.layout(&[Read, Write, Write, Write, Read, Uniform]);
        Ok(DeviceState {
            total: gpu.pipeline(&total(precision), precision, &total_pl, "adam total")?,
            update: gpu.pipeline(&update(precision), precision, &update_pl, "adam update")?,
            total_layout,
            update_layout,
            buffers: RefCell::new(None),
            current: Cell::new(false),
        })
    }

    /// The params buffer no longer holds the loaded θ.
    pub(super) fn lose(&self) {
        self.current.set(false);
    }
}

/// `total` in `precision`: output `o = gid.x` summed over every row in order.
pub(super) fn total(precision: Precision) -> String {
    // WGSL lets a compiler assume no NaN or infinity, so a float test such as
    // `s != s` may be folded away: test the exponent's bits (all ones). naga has no
    // 64-bit bitcast, so an f64 is tested as the f32 it rounds to, which flags a
    // finite sum above 3.4e38 too: a run long diverged.
    let not_finite = match precision {
        Precision::F32 => "(bitcast<u32>(s) & 0x7f800000u) == 0x7f800000u",
        Precision::F64 => "(bitcast<u32>(f32(s)) & 0x7f800000u) == 0x7f800000u",
    };
    let mut code = header(precision, "Adam, 1 of 2: each output's total over the rows");
    code += "@group(0) @binding(0) var<storage, read> rows: array<F>;\n\
             @group(0) @binding(1) var<storage, read> trains: array<u32>;\n\
             @group(0) @binding(2) var<storage, read_write> sums: array<F>;\n\
             @group(0) @binding(3) var<storage, read_write> bad: array<atomic<u32>>;\n\
             @group(0) @binding(4) var<uniform> sizes: Sizes;\n";
    let _ = write!(
        code,
        "\n@compute @workgroup_size({WORKGROUP})\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         \x20   let o = gid.x;\n\
         \x20   if (o >= sizes.width) {{ return; }}\n\
         \x20   var s = F(0);\n\
         \x20   for (var r = 0u; r < sizes.rows + sizes.zero; r++) {{ s += rows[r * sizes.width + o]; }}\n\
         \x20   if (o >= sizes.n_terms && trains[o - sizes.n_terms] == 0u) {{ s = F(0); }}\n\
         \x20   sums[o] = s;\n\
         \x20   if ({not_finite}) {{ atomicOr(&bad[0], 1u); }}\n\
         }}\n"
    );
    code
}

/// `update` in `precision`: entry `i = gid.x` of θ takes `optim::Adam::update`'s
/// step, operation for operation, unless `bad` is up.
pub(super) fn update(precision: Precision) -> String {
    let mut code = header(precision, "Adam, 2 of 2: torch's step on each entry of θ");
    code += "@group(0) @binding(0) var<storage, read> sums: array<F>;\n\
             @group(0) @binding(1) var<storage, read_write> bad: array<atomic<u32>>;\n\
             @group(0) @binding(2) var<storage, read_write> params: array<F>;\n\
             @group(0) @binding(3) var<storage, read_write> moments: array<F>;\n\
             // step size, √(1 − β₂ᵏ), w = 1 − β₁, 1 − w, β₂, 1 − β₂, ε\n\
             @group(0) @binding(4) var<storage, read> hyper: array<F>;\n\
             @group(0) @binding(5) var<uniform> sizes: Sizes;\n";
    let _ = write!(
        code,
        "\n@compute @workgroup_size({WORKGROUP})\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
         \x20   let i = gid.x;\n\
         \x20   let n = sizes.n_params;\n\
         \x20   if (i >= n || atomicLoad(&bad[0]) != 0u) {{ return; }}\n\
         \x20   let g = sums[sizes.n_terms + i];\n\
         \x20   let p = params[i];\n\
         \x20   moments[2u * n + i] = p;\n\
         \x20   let m0 = moments[i];\n\
         \x20   // torch.lerp's two forms\n\
         \x20   var m = g - (g - m0) * hyper[3];\n\
         \x20   if (hyper[2] < F(0.5)) {{ m = m0 + hyper[2] * (g - m0); }}\n\
         \x20   let v = moments[n + i] * hyper[4] + hyper[5] * g * g;\n\
         \x20   moments[i] = m;\n\
         \x20   moments[n + i] = v;\n\
         \x20   params[i] = p + -hyper[0] * m / (sqrt(v) / hyper[1] + hyper[6]);\n\
         }}\n"
    );
    code
}

fn header(precision: Precision, what: &str) -> String {
    format!(
        "// pdenet {what}\nalias F = {};\n{SIZES}",
        scalar_type(precision)
    )
}

/// Both shaders, validated, for `pdenet kernels --emit wgsl`.
pub(super) fn emit(precision: Precision) -> String {
    let mut out = String::new();
    for wgsl in [total(precision), update(precision)] {
        if let Err(e) = validate(&wgsl, precision) {
            out += &format!("// {e}\n");
        }
        out += &wgsl;
    }
    out
}

impl GpuKernel {
    /// θ's length and the outputs per row, when every point set's rows hold the
    /// same outputs (every term, then all of θ) and no seed depends on the sums.
    fn adam_shape(&self) -> Option<(u32, u32)> {
        let integral =
            (self.kernel.terms.iter()).any(|t| matches!(t.reduce, Reduce::Integral { .. }));
        let n_params = self.kernel.programs.first()?.program.theta_len;
        let width = self.kernel.terms.len() as u32 + n_params;
        let same = (self.sets.iter().zip(&self.kernel.programs))
            .all(|(s, p)| s.full.n_out == width && p.program.theta_len == n_params);
        (!integral && same).then_some((n_params, width))
    }

    /// The loaded buffers, or an error when the params buffer holds another θ.
    fn loaded(&self) -> Result<std::cell::Ref<'_, Buffers>, KernelError> {
        let buffers = self.adam.buffers.borrow();
        match (self.adam.current.get(), buffers.is_some()) {
            (true, true) => Ok(std::cell::Ref::map(buffers, |b| b.as_ref().expect("some"))),
            _ => Err(KernelError::Device(
                "Adam's state is not on the device (another evaluation replaced θ)".into(),
            )),
        }
    }

    /// Allocates the state's buffers for `n_params` entries and `width` outputs.
    fn adam_buffers(&self, n_params: u32, width: u32) -> Buffers {
        use wgpu::BufferUsages as U;
        let (gpu, el) = (&self.gpu, elem(self.precision));
        let (p, n_terms) = (u64::from(n_params), width - n_params);
        let sums = gpu.buffer(u64::from(width) * el, U::STORAGE | U::COPY_SRC);
        let bad = gpu.buffer(4, U::STORAGE | U::COPY_DST | U::COPY_SRC);
        let moments = gpu.buffer(3 * p * el, U::STORAGE | U::COPY_DST | U::COPY_SRC);
        let hyper = gpu.buffer(HYPER as u64 * el, U::STORAGE | U::COPY_DST);
        let sizes = gpu.buffer(32, U::UNIFORM | U::COPY_DST);
        let update_group = gpu.bind(
            &self.adam.update_layout,
            &[&sums, &bad, &self.params, &moments, &hyper, &sizes],
        );
        Buffers {
            n_terms,
            n_params,
            trains: gpu.buffer(4 * p, U::STORAGE | U::COPY_DST),
            // Unload reads θ, the three vectors and the gradient; an epoch the terms,
            // at most all of θ, and the flag.
            staging: gpu.buffer(
                (5 * p).max(u64::from(width)) * el + 8,
                U::MAP_READ | U::COPY_DST,
            ),
            sums,
            bad,
            moments,
            hyper,
            sizes,
            sizes_written: Cell::new([u32::MAX; 8]),
            points_checked: Cell::new(false),
            update_group,
        }
    }
}

impl DeviceAdam for GpuKernel {
    fn load(&self, state: &AdamState, seeds: &[f64], trains: &[bool]) -> Result<(), KernelError> {
        let (n_params, width) = self.adam_shape().ok_or_else(|| {
            KernelError::Unsupported("this kernel cannot run Adam on the device".into())
        })?;
        let n = n_params as usize;
        let lengths = [
            state.theta.len(),
            state.m.len(),
            state.v.len(),
            state.last_good.len(),
        ];
        if lengths.iter().chain([&trains.len()]).any(|&l| l != n) {
            return Err(KernelError::Device(format!(
                "Adam's state has lengths {lengths:?}, θ has {n} entries"
            )));
        }
        let mut slot = self.adam.buffers.borrow_mut();
        let b = slot.get_or_insert_with(|| self.adam_buffers(n_params, width));
        let params: Vec<f64> = state.theta.iter().chain(seeds).copied().collect();
        self.upload(&self.params, 0, &to_bytes(&params, self.precision));
        let moments = [state.m.as_slice(), &state.v, &state.last_good].concat();
        self.upload(&b.moments, 0, &to_bytes(&moments, self.precision));
        let mask: Vec<u8> = trains
            .iter()
            .flat_map(|&t| u32::from(t).to_ne_bytes())
            .collect();
        self.upload(&b.trains, 0, &mask);
        b.points_checked.set(false);
        self.adam.current.set(true);
        Ok(())
    }

    fn epoch(
        &self,
        batches: &[PointBatch],
        update: &AdamUpdate,
        watch: &[usize],
    ) -> Result<DeviceEpoch, KernelError> {
        let device = |e: BackendError| KernelError::Device(e.to_string());
        let b = self.loaded()?;
        let (chunks, total) = self.plan(batches, Share::WHOLE, false);
        // The points do not change between a load and an unload (the trainer
        // redraws and reweighs them only between segments): checked once.
        let same = b.points_checked.replace(true);
        let encoded = self.encode_pass(&chunks, total, batches, false, same);
        let (mut enc, store) = encoded.map_err(device)?;
        let width = b.n_terms + b.n_params;
        let rows = u32::try_from(total / u64::from(width.max(1)))
            .map_err(|_| KernelError::Device("an epoch's rows do not fit a 32-bit count".into()))?;
        let sizes = [rows, width, b.n_terms, b.n_params, 0, 0, 0, 0];
        if b.sizes_written.replace(sizes) != sizes {
            let bytes: Vec<u8> = sizes.iter().flat_map(|x| x.to_ne_bytes()).collect();
            self.upload(&b.sizes, 0, &bytes);
        }
        let w = update.weight1;
        let hyper = [
            update.step_size,
            update.bias2_sqrt,
            w,
            1.0 - w,
            update.beta2,
            1.0 - update.beta2,
            update.eps,
        ];
        self.upload(&b.hyper, 0, &to_bytes(&hyper, self.precision));
        enc.clear_buffer(&b.bad, 0, None);
        let total_group = self.gpu.bind(
            &self.adam.total_layout,
            &[&store.rows, &b.trains, &b.sums, &b.bad, &b.sizes],
        );
        {
            let mut cp = enc.begin_compute_pass(&Default::default());
            let watch = self.watching();
            let before = watch.and_then(|w| w.mark(&mut cp));
            cp.set_pipeline(&self.adam.total);
            cp.set_bind_group(0, &total_group, &[]);
            cp.dispatch_workgroups(width.div_ceil(WORKGROUP), 1, 1);
            cp.set_pipeline(&self.adam.update);
            cp.set_bind_group(0, &b.update_group, &[]);
            cp.dispatch_workgroups(b.n_params.div_ceil(WORKGROUP), 1, 1);
            if let Some(w) = watch {
                w.span(Stage::Adam, before, w.mark(&mut cp));
            }
        }
        self.count(|w| w.dispatches += 2);
        let el = elem(self.precision);
        let terms = u64::from(b.n_terms) * el;
        enc.copy_buffer_to_buffer(&b.sums, 0, &b.staging, 0, terms);
        for (k, &i) in watch.iter().enumerate() {
            let to = terms + k as u64 * el;
            enc.copy_buffer_to_buffer(&self.params, i as u64 * el, &b.staging, to, el);
        }
        let flag = terms + watch.len() as u64 * el;
        enc.copy_buffer_to_buffer(&b.bad, 0, &b.staging, flag, 4);
        let bytes = self.read_back(enc, &b.staging, flag + 4).map_err(device)?;
        let numbers = from_bytes(&bytes[..flag as usize], self.precision);
        let (sums, watched) = numbers.split_at(b.n_terms as usize);
        let bad = u32::from_ne_bytes(bytes[flag as usize..].try_into().expect("4 bytes"));
        Ok(DeviceEpoch {
            sums: sums.to_vec(),
            updated: bad == 0,
            watched: watched.to_vec(),
        })
    }

    fn time_stages(&self, on: bool) -> bool {
        self.timing.set(on && self.stopwatch.is_some());
        self.timing.get()
    }

    fn unload(&self) -> Result<(AdamState, Vec<f64>), KernelError> {
        let device = |e: BackendError| KernelError::Device(e.to_string());
        let b = self.loaded()?;
        let el = elem(self.precision);
        let p = u64::from(b.n_params) * el;
        let mut enc = self.gpu.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(&self.params, 0, &b.staging, 0, p);
        enc.copy_buffer_to_buffer(&b.moments, 0, &b.staging, p, 3 * p);
        let grad_at = u64::from(b.n_terms) * el;
        enc.copy_buffer_to_buffer(&b.sums, grad_at, &b.staging, 4 * p, p);
        let bytes = self.read_back(enc, &b.staging, 5 * p).map_err(device)?;
        let numbers = from_bytes(&bytes, self.precision);
        let mut parts = numbers.chunks(b.n_params as usize).map(<[f64]>::to_vec);
        let mut next = || parts.next().unwrap_or_default();
        let state = AdamState {
            theta: next(),
            m: next(),
            v: next(),
            last_good: next(),
        };
        Ok((state, next()))
    }
}

impl GpuKernel {
    /// Adam on this device, where the kernel allows it
    /// ([`crate::backend::Engine::device_adam`]).
    pub(super) fn adam_here(&self) -> Option<&dyn DeviceAdam> {
        self.adam_shape().map(|_| self as &dyn DeviceAdam)
    }
}
