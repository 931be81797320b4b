//! Where a GPU epoch's time goes: timestamps the device writes between the stages
//! of a pass (pass 1, pass 2, the fold) and around Adam's update, so that
//! `pdenet bench` can split an epoch as it does on the CPU. On only while asked
//! ([`crate::backend::DeviceAdam::time_stages`]) and only on adapters with
//! timestamps inside compute passes (wgpu's `TIMESTAMP_QUERY_INSIDE_PASSES`;
//! Vulkan drivers generally have them, lavapipe too).
//!
//! Each stage's time is the difference of the timestamps written before and after
//! its dispatches. The resolved timestamps travel back in the same submission as
//! the pass's own results, and are not counted as read back ([`DeviceWork`]
//! counts the engine's own traffic).
//!
//! [`DeviceWork`]: crate::backend::DeviceWork

use std::cell::{Cell, RefCell};

/// The timed stages, in the order of [`crate::backend::DeviceWork::stage_seconds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Pass1,
    Reduce,
    Fold,
    Adam,
}

/// Timestamps per submission at most (wgpu's limit on a query set's size). A pass
/// with more chunks than fit leaves its further stages untimed.
const CAPACITY: u32 = 4096;

/// The device's timestamps of one submission, and the seconds they add up to.
pub(crate) struct Stopwatch {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    staging: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
    /// Timestamps written into the submission being encoded.
    written: Cell<u32>,
    /// The stages timed in it: each with the timestamps before and after it.
    spans: RefCell<Vec<(Stage, u32, u32)>>,
    /// Whether the encoder being submitted resolves timestamps.
    pending: Cell<bool>,
}

impl Stopwatch {
    pub(crate) fn new(device: &wgpu::Device, queue: &wgpu::Queue) -> Stopwatch {
        use wgpu::BufferUsages as U;
        let bytes = u64::from(CAPACITY) * 8;
        let buffer = |usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Stopwatch {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: CAPACITY,
            }),
            resolved: buffer(U::QUERY_RESOLVE | U::COPY_SRC),
            staging: buffer(U::MAP_READ | U::COPY_DST),
            period: f64::from(queue.get_timestamp_period()),
            written: Cell::new(0),
            spans: RefCell::new(vec![]),
            pending: Cell::new(false),
        }
    }

    /// Writes a timestamp into `cp` and returns its index (`None` when full).
    pub(crate) fn mark(&self, cp: &mut wgpu::ComputePass<'_>) -> Option<u32> {
        let at = self.written.get();
        (at < CAPACITY).then(|| {
            cp.write_timestamp(&self.queries, at);
            self.written.set(at + 1);
            at
        })
    }

    /// Times `stage` from timestamp `from` to `to` (either missing: untimed).
    pub(crate) fn span(&self, stage: Stage, from: Option<u32>, to: Option<u32>) {
        if let (Some(a), Some(b)) = (from, to) {
            self.spans.borrow_mut().push((stage, a, b));
        }
    }

    /// Ends `enc` (about to be submitted) by resolving its timestamps and copying
    /// them where [`Stopwatch::submitted`] says they are.
    pub(crate) fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        let n = self.written.get();
        if n == 0 {
            return;
        }
        enc.resolve_query_set(&self.queries, 0..n, &self.resolved, 0);
        enc.copy_buffer_to_buffer(&self.resolved, 0, &self.staging, 0, u64::from(n) * 8);
        self.pending.set(true);
    }

    /// After a submission: the buffer its resolved timestamps land in and their
    /// bytes, if it wrote any; either way the next submission starts afresh.
    pub(crate) fn submitted(&self) -> Option<(&wgpu::Buffer, u64)> {
        let n = self.written.replace(0);
        if !self.pending.replace(false) {
            self.spans.borrow_mut().clear();
            return None;
        }
        Some((&self.staging, u64::from(n) * 8))
    }

    /// The seconds of each stage timed in the submission whose timestamps are
    /// `bytes`, added into `seconds` (indexed by [`Stage`]).
    pub(crate) fn add(&self, bytes: &[u8], seconds: &mut [f64; 4]) {
        let ticks: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
            .collect();
        for (stage, a, b) in std::mem::take(&mut *self.spans.borrow_mut()) {
            let elapsed = ticks[b as usize].saturating_sub(ticks[a as usize]);
            seconds[stage as usize] += elapsed as f64 * self.period * 1e-9;
        }
    }
}
