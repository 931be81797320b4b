//! `pdenet bench`: times what ../shared/bench/burgers_torch.py `--mode speed` times —
//! one Adam epoch (loss and gradient over every point set, then the update) — as
//! the median over the timed epochs after a warm-up.

use crate::backend::cpu::{self, Isa, Peak};
use crate::backend::{self, DeviceWork, EngineChoice, EngineFacts, EngineKind, Precision};
use crate::io::machine;
use crate::kernel::{KernelError, PointBatch};
use crate::problem::DenseRule;
use crate::problem::Problem;
use crate::train::device::{self, DeviceRun};
use crate::train::optim::dense::Dense;
use crate::train::optim::quasi_newton::Memory;
use crate::train::optim::{self, Adam, AdamConfig, Optimizer, Stop};
use crate::train::points;
use crate::train::run::RunError;
use crate::train::trainer::Evaluator;
use std::time::Instant;

/// What one engine measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// The engine that ran (never `auto`) and where.
    pub engine: EngineFacts,
    pub points: usize,
    pub compile_s: f64,
    pub adam_epoch_ms: f64,
    pub adam_epoch_ms_min: f64,
    /// Trainable numbers (network and PDE parameters): the order of a dense H.
    pub parameters: usize,
    /// One dense quasi-Newton update of H with the next direction (`ssbroyden`'s, the
    /// dearest: BFGS's costs the same passes), median ms; `None` when H would not fit
    /// in memory.
    pub hessian_update_ms: Option<f64>,
    /// The same update with H on the engine's device, where the engine keeps it
    /// there (`backend::Engine::device_matrix`), median ms.
    pub hessian_update_device_ms: Option<f64>,
    /// Whether a dense H of this order fits in memory.
    pub hessian_fits: bool,
    /// The kernel's work per epoch (`kernel::passes::stats` over the point sets).
    pub work: Work,
    /// Where an epoch's time goes.
    pub split: Split,
    /// One core's measured peak on its widest vectors in the engine's precision
    /// (CPU engine only).
    pub peak: Option<Peak>,
    /// A device engine's shaders and its work per Adam epoch (GPU engine only).
    pub device: Option<DevicePerEpoch>,
}

/// What a device engine hands its device per Adam epoch: issue 21's figures that
/// do not depend on the hardware's speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DevicePerEpoch {
    /// Where Adam's update ran: `device` (θ and the moments kept there), `host`.
    pub adam: &'static str,
    pub profile: &'static str,
    pub reduction: &'static str,
    pub shaders: usize,
    pub tape_bytes_per_point: u64,
    pub reduce_bytes_per_point: u64,
    pub shared_theta_bytes: u64,
    pub dispatches: f64,
    pub submissions: f64,
    pub uploaded_bytes: f64,
    pub read_back_bytes: f64,
}

impl DevicePerEpoch {
    /// The work between two counts, over `epochs` epochs.
    fn between(
        before: DeviceWork,
        after: DeviceWork,
        epochs: usize,
        adam: &'static str,
    ) -> DevicePerEpoch {
        let per = |a: u64, b: u64| (b - a) as f64 / epochs.max(1) as f64;
        DevicePerEpoch {
            adam,
            profile: after.profile,
            reduction: after.reduction,
            shaders: after.shaders,
            tape_bytes_per_point: after.tape_bytes_per_point,
            reduce_bytes_per_point: after.reduce_bytes_per_point,
            shared_theta_bytes: after.shared_theta_bytes,
            dispatches: per(before.dispatches, after.dispatches),
            submissions: per(before.submissions, after.submissions),
            uploaded_bytes: per(before.uploaded_bytes, after.uploaded_bytes),
            read_back_bytes: per(before.read_back_bytes, after.read_back_bytes),
        }
    }
}

/// An epoch's time in parts: on the CPU the evaluation's classes of work, each
/// timed alone (`backend::cpu::split_seconds`), and the optimizer's update; on a
/// GPU with timestamps and Adam there, the device's stages per epoch (pass 1,
/// pass 2, the fold, Adam's update), timed over as many further epochs as were
/// timed, [`STAGED`] at most. What the epoch takes beyond their sum is reported
/// as unaccounted (on a GPU: the host's side, the submission and the wait, against
/// those epochs' mean).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Split {
    pub kernel: Option<cpu::Split>,
    pub optimizer_ms: f64,
    pub device: Option<DeviceSplit>,
}

/// A GPU epoch's stages (ms per epoch: pass 1, pass 2, the fold, Adam's update)
/// and the mean time of the epochs they were timed in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceSplit {
    pub stages_ms: [f64; 4],
    pub epoch_ms: f64,
}

/// The most epochs timed stage by stage on a GPU, after the timed ones.
const STAGED: usize = 5;

impl Split {
    /// (name, ms) of each part, the unaccounted rest of `epoch_ms` last.
    fn parts(&self, epoch_ms: f64) -> Option<Vec<(&'static str, f64)>> {
        let epoch_ms = self.device.map_or(epoch_ms, |d| d.epoch_ms);
        let stages = self.device.map(|d| d.stages_ms);
        let mut parts = match (self.kernel, stages) {
            (Some(k), _) => vec![
                ("products", k.products * 1e3),
                ("elementwise", k.elementwise * 1e3),
                ("reductions", k.reductions * 1e3),
                ("loops_and_host", k.loops_and_host * 1e3),
                ("optimizer", self.optimizer_ms),
            ],
            (None, Some([pass1, reduce, fold, adam])) => vec![
                ("pass1", pass1),
                ("reduce", reduce),
                ("fold", fold),
                ("adam", adam),
            ],
            (None, None) => return None,
        };
        let sum: f64 = parts.iter().map(|p| p.1).sum();
        parts.push(("unaccounted", epoch_ms - sum));
        Some(parts)
    }
}

/// What one loss-and-gradient evaluation costs, counted from the programs.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Work {
    /// FLOPs of one evaluation over every point set (uniform work once per set).
    pub flops: f64,
    /// Of those, the products with θ.
    pub products: f64,
    /// Per point of the largest set: FLOPs, and bytes of tape the forward pass leaves
    /// for the reverse pass in the engine's precision.
    pub flops_per_point: f64,
    pub tape_bytes_per_point: f64,
}

impl Work {
    fn count(kernel: &crate::kernel::Kernel, batches: &[PointBatch], precision: Precision) -> Work {
        let mut w = Work::default();
        let mut largest = 0;
        for (set, batch) in kernel.programs.iter().zip(batches) {
            let s = crate::kernel::passes::stats(&set.program, &set.info);
            let n = batch.len() as f64;
            let per_point = (s.flops_forward + s.flops_backward) as f64;
            w.flops += n * per_point + (s.once_forward + s.once_backward) as f64;
            w.products += n * s.flops_products as f64;
            if batch.len() >= largest {
                largest = batch.len();
                w.flops_per_point = per_point;
                let el = if precision == Precision::F64 {
                    2.0
                } else {
                    1.0
                };
                w.tape_bytes_per_point = s.tape_bytes as f64 * el;
            }
        }
        w
    }
}

/// Timed dense updates after one untimed (the first update after a reset writes H
/// without reading it).
const HESSIAN_REPS: usize = 10;

pub const WARMUP: usize = 20;

/// What `pdenet bench` times: an engine (as `run` chooses it), a precision, the
/// CPU engine's threads, the timed epochs after `warmup` untimed ones ([`WARMUP`]
/// by default), the seed of θ and the points.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub engine: EngineChoice,
    pub precision: Precision,
    pub threads: usize,
    pub epochs: usize,
    pub warmup: usize,
    pub seed: u64,
    /// Time a dense quasi-Newton update too (its n² matrix counts in the process's
    /// peak memory, which bench/compare.py reports).
    pub hessian: bool,
}

/// Compiles the problem for the engine and times Adam epochs on its point sets as
/// `run` samples them; compile time includes the kernel's.
pub fn bench(problem: &Problem, opts: &BenchOptions) -> Result<Timing, RunError> {
    let t0 = Instant::now();
    let kernel = crate::kernel::compile(problem)?;
    let mut candidates = backend::candidates(opts.engine, &kernel, opts.precision, opts.threads)?;
    let compile_s = t0.elapsed().as_secs_f64();
    let data = points::load(problem)?;
    let batches = points::sample(problem, &data, opts.seed);
    let theta = crate::net::init::init_theta(problem, opts.seed);
    let (pick, _) = backend::fastest(&candidates, &theta, &batches)?;
    let engine = candidates.swap_remove(pick);
    let mut marks = vec![];
    let mut mark = || marks.push(engine.device_work());
    let on_device = engine.device_adam().filter(|_| device::allowed());
    let adam = match on_device {
        Some(dev) => {
            let batches = std::cell::RefCell::new(batches.clone());
            let run = DeviceRun {
                engine: dev,
                kernel: &kernel,
                batches: batches.borrow(),
                scale: None,
            };
            time_adam_on(run, &theta, opts.warmup, opts.epochs, &mut mark)?
        }
        None => {
            let mut eval = |th: &[f64]| engine.eval(th, &batches);
            time_adam(&mut eval, &theta, opts.warmup, opts.epochs, &mut mark)?
        }
    };
    let adam_on = if on_device.is_some() {
        "device"
    } else {
        "host"
    };
    let device = match marks[..] {
        [Some(b), Some(a), ..] => Some(DevicePerEpoch::between(b, a, opts.epochs, adam_on)),
        _ => None,
    };
    // A third mark only where the device timed its stages over further epochs.
    let device_split = match (&marks[..], adam.staged_ms) {
        (&[_, Some(a), Some(s)], Some(epoch_ms)) => Some(DeviceSplit {
            stages_ms: std::array::from_fn(|k| {
                (s.stage_seconds[k] - a.stage_seconds[k]) * 1e3 / opts.epochs.min(STAGED) as f64
            }),
            epoch_ms,
        }),
        _ => None,
    };
    let n = theta.len();
    let rule = DenseRule::SsBroyden2;
    let fits = machine::dense_matrix_bytes(n) <= machine::memory_for_a_matrix();
    let facts = engine.facts();
    let cpu = facts.kind == EngineKind::Cpu;
    let peak = cpu.then(|| {
        let widest = Isa::ALL.into_iter().rev().find(|i| i.available());
        cpu::peak(
            widest.unwrap_or(Isa::Generic),
            opts.precision == Precision::F64,
        )
    });
    let products = cpu::Products::choose()?;
    let split = match cpu {
        true => Some(cpu::split_seconds(
            &kernel,
            opts.precision,
            opts.threads,
            products,
            cpu::Groups::choose(products)?,
            &theta,
            &batches,
        )?),
        false => None,
    };
    let (median, min) = (adam.median_ms, adam.min_ms);
    Ok(Timing {
        split: Split {
            kernel: split,
            optimizer_ms: adam.update_ms,
            device: device_split,
        },
        work: Work::count(&kernel, &batches, opts.precision),
        peak,
        device,
        engine: facts,
        points: batches.iter().map(|b| b.len()).sum(),
        compile_s,
        adam_epoch_ms: median,
        adam_epoch_ms_min: min,
        parameters: n,
        hessian_update_ms: match fits && opts.hessian {
            true => Some(time_hessian_update(Dense::new(rule, opts.threads), n)?),
            false => None,
        },
        hessian_update_device_ms: match opts.hessian.then(|| engine.device_matrix(n)).flatten() {
            Some(offer) => Some(time_hessian_update(
                Dense::on_device(rule, offer.matrix),
                n,
            )?),
            None => None,
        },
        hessian_fits: fits,
    })
}

/// The median milliseconds of [`HESSIAN_REPS`] updates of `dense` (H·y, the rank-two
/// update and the next direction) of order `n`.
fn time_hessian_update(mut dense: Dense, n: usize) -> Result<f64, RunError> {
    let failed = |e: Stop| RunError::Kernel(KernelError::Device(e.reason));
    dense.start(n);
    let wave = |k: usize, f: f64| (k as f64 * f).sin();
    let d: Vec<f64> = (0..n).map(|k| wave(k, 0.7)).collect();
    let g_old: Vec<f64> = (0..n).map(|k| wave(k, 1.3) - 2.0 * d[k]).collect();
    let g_new: Vec<f64> = (0..n).map(|k| wave(k, 1.3)).collect();
    let mut times = Vec::with_capacity(HESSIAN_REPS);
    let mut direction = vec![0.0; n];
    for k in 0..=HESSIAN_REPS {
        let t0 = Instant::now();
        (dense.update(1.0 / (k + 1) as f64, &d, &g_old, &g_new)).map_err(failed)?;
        dense.direction(&g_new, &mut direction).map_err(failed)?;
        if k > 0 {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Milliseconds of the timed Adam epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamTimes {
    pub median_ms: f64,
    pub min_ms: f64,
    /// The update alone (median).
    pub update_ms: f64,
    /// The mean of the epochs timed stage by stage on the device, if any (the
    /// stages' times are means over the same epochs).
    pub staged_ms: Option<f64>,
}

/// Runs `warmup + epochs` Adam epochs from `theta` and times the timed ones;
/// `mark` is called as the timed ones begin and as they end.
pub fn time_adam(
    eval: &mut dyn Evaluator,
    theta: &[f64],
    warmup: usize,
    epochs: usize,
    mark: &mut dyn FnMut(),
) -> Result<AdamTimes, crate::kernel::KernelError> {
    let mut theta = theta.to_vec();
    let mut adam = Adam::new(theta.len(), AdamConfig::default());
    let mut times = Vec::with_capacity(epochs);
    let mut updates = Vec::with_capacity(epochs);
    for k in 0..warmup + epochs {
        if k == warmup {
            mark();
        }
        let t0 = Instant::now();
        let e = eval.evaluate(&theta)?;
        let t1 = Instant::now();
        // A diverging benchmark still measures the work; the update is skipped only
        // when the gradient is unusable.
        let _ = adam.update(&mut theta, &e.grad);
        if k >= warmup {
            times.push(t0.elapsed().as_secs_f64() * 1e3);
            updates.push(t1.elapsed().as_secs_f64() * 1e3);
        }
    }
    mark();
    Ok(AdamTimes::of(&mut times, median(&mut updates)))
}

/// [`time_adam`] with Adam on the engine's device, as `pdenet run` takes its
/// epochs there: the update is inside each epoch's submission (`update_ms` 0).
/// Where the device has timestamps, up to [`STAGED`] more epochs follow with its
/// stages timed, and `mark` is called once more after them.
fn time_adam_on(
    run: DeviceRun,
    theta: &[f64],
    warmup: usize,
    epochs: usize,
    mark: &mut dyn FnMut(),
) -> Result<AdamTimes, crate::kernel::KernelError> {
    let failed = |e: optim::End| crate::kernel::KernelError::Device(e.to_string());
    let mut theta = theta.to_vec();
    let mut adam = Adam::new(theta.len(), AdamConfig::default());
    adam.start(&theta);
    let stages = run.engine;
    let mut staged = false;
    let mut obj = device::Timed(run);
    let (mut times, mut staged_times) = (Vec::with_capacity(epochs), vec![]);
    for k in 0..warmup + epochs + epochs.min(STAGED) {
        if k == warmup {
            mark();
        }
        if k == warmup + epochs {
            mark();
            staged = epochs > 0 && stages.time_stages(true);
            if !staged {
                break;
            }
        }
        let t0 = Instant::now();
        // A diverging benchmark still measures the work: an epoch whose totals are
        // not finite ends Adam's phase, and the next one loads the state again.
        if let Err(e) = adam.step(&mut obj, &mut theta) {
            if !matches!(e, optim::End::Aborted(_)) {
                return Err(failed(e));
            }
        }
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        match k >= warmup + epochs {
            true => staged_times.push(ms),
            false if k >= warmup => times.push(ms),
            false => {}
        }
    }
    if staged {
        stages.time_stages(false);
        mark();
    }
    adam.finish(&mut obj, &mut theta)
        .map_err(|e| failed(optim::End::Aborted(e)))?;
    Ok(AdamTimes {
        staged_ms: staged.then(|| staged_times.iter().sum::<f64>() / staged_times.len() as f64),
        ..AdamTimes::of(&mut times, 0.0)
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl AdamTimes {
    /// The median and the first of the epochs' times, and the update's.
    fn of(times: &mut [f64], update_ms: f64) -> AdamTimes {
        let median_ms = median(times);
        AdamTimes {
            median_ms,
            min_ms: times.first().copied().unwrap_or(f64::NAN),
            update_ms,
            staged_ms: None,
        }
    }
}

impl Timing {
    /// The kernel's FLOPs per second over a whole Adam epoch (the update included).
    pub fn gflops(&self) -> f64 {
        self.work.flops / self.adam_epoch_ms / 1e6
    }

    /// [`Timing::gflops`] over the cores' FMA peak (one core's times the threads).
    pub fn fraction_of_peak(&self) -> Option<f64> {
        self.peak
            .map(|p| self.gflops() / (p.fma * self.engine.threads as f64))
    }

    /// The GPU adapter, or the CPU's model name.
    fn device(&self) -> String {
        self.engine
            .adapter
            .clone()
            .unwrap_or_else(machine::cpu_model)
    }

    /// The `--json` line: `{backend, adapter, precision, points, compile_s,
    /// adam_epoch_ms, adam_epoch_ms_min, parameters, hessian_update_ms, …, the work
    /// counted (FLOPs, the products' share, per point FLOPs and tape bytes), gflops,
    /// peak, fraction_of_peak, machine}`, `machine` as in report.json.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "backend": self.engine.kind.name(),
            "adapter": self.device(),
            "precision": self.engine.precision.name(),
            "points": self.points,
            "compile_s": self.compile_s,
            "adam_epoch_ms": self.adam_epoch_ms,
            "adam_epoch_ms_min": self.adam_epoch_ms_min,
            "parameters": self.parameters,
            "hessian_update_ms": self.hessian_update_ms,
            "hessian_update_per_epoch": self.hessian_update_ms.map(|h| h / self.adam_epoch_ms),
            "hessian_update_device_ms": self.hessian_update_device_ms,
            "flops_per_evaluation": self.work.flops,
            "products_share": self.work.products / self.work.flops,
            "flops_per_point": self.work.flops_per_point,
            "tape_bytes_per_point": self.work.tape_bytes_per_point,
            "gflops": self.gflops(),
            "peak": self.peak.map(|p| serde_json::json!({
                "fma_gflops_per_core": p.fma,
                "gemm_gflops_per_core": p.gemm,
                "grad_gflops_per_core": p.grad,
                "fma_gflops": p.fma * self.engine.threads as f64,
            })),
            "fraction_of_peak": self.fraction_of_peak(),
            "split_ms": self.split.parts(self.adam_epoch_ms).map(|parts| {
                parts
                    .into_iter()
                    .map(|(name, ms)| (name.to_string(), serde_json::json!(ms)))
                    .collect::<serde_json::Map<_, _>>()
            }),
            "device": self.device.map(|d| serde_json::json!({
                "adam": d.adam,
                "profile": d.profile,
                "reduction": d.reduction,
                "shaders": d.shaders,
                "tape_bytes_per_point": d.tape_bytes_per_point,
                "reduce_bytes_per_point": d.reduce_bytes_per_point,
                "shared_theta_bytes": d.shared_theta_bytes,
                "dispatches_per_epoch": d.dispatches,
                "submissions_per_epoch": d.submissions,
                "uploaded_bytes_per_epoch": d.uploaded_bytes,
                "read_back_bytes_per_epoch": d.read_back_bytes,
            })),
            "machine": machine::json(&self.engine),
        })
    }

    /// The line printed without `--json`.
    pub fn summary(&self, epochs: usize) -> String {
        let e = &self.engine;
        let isa = e.isa.as_deref().map_or(String::new(), |i| format!(", {i}"));
        let isa = match &e.products {
            Some(p) => format!("{isa}, products {p}"),
            None => isa,
        };
        let isa = match &e.groups {
            Some(g) => format!("{isa}, element-wise {g}"),
            None => isa,
        };
        let on_device = self.hessian_update_device_ms.map_or(String::new(), |h| {
            format!(", {h:.3} ms with H on the device")
        });
        let hessian = match self.hessian_update_ms {
            Some(h) => format!(
                "; a dense {n}×{n} Hessian update {h:.3} ms ({:.0} % of an epoch){on_device}",
                100.0 * h / self.adam_epoch_ms,
                n = self.parameters
            ),
            None if self.hessian_fits => String::new(),
            None => format!(
                "; a dense {n}×{n} Hessian would not fit",
                n = self.parameters
            ),
        };
        let split = match self.split.parts(self.adam_epoch_ms) {
            Some(parts) => {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|(name, ms)| format!("{} {ms:.2}", name.replace('_', " ")))
                    .collect();
                format!("; of an epoch (ms): {}", parts.join(", "))
            }
            None => String::new(),
        };
        let split = match &self.device {
            Some(d) => format!(
                "{split}; Adam on the {}, {} profile, pass 2 by {}, {} shaders, per epoch {:.0} \
                 dispatches, {:.0} submissions, {:.2} kB up, {:.2} kB back; tape {} B and \
                 pass 2 reads {} B per point; θ in workgroup memory {} B",
                d.adam,
                d.profile,
                d.reduction,
                d.shaders,
                d.dispatches,
                d.submissions,
                d.uploaded_bytes / 1e3,
                d.read_back_bytes / 1e3,
                d.tape_bytes_per_point,
                d.reduce_bytes_per_point,
                d.shared_theta_bytes
            ),
            None => split,
        };
        let rate = match self.fraction_of_peak() {
            Some(f) => format!(
                "{:.1} GFLOP/s, {:.0} % of the cores' FMA peak",
                self.gflops(),
                100.0 * f
            ),
            None => format!("{:.1} GFLOP/s", self.gflops()),
        };
        format!(
            "{}: {} points, {:.3} ms per Adam epoch (median of {epochs}, min {:.3}; {rate}, \
             {:.0} % of the FLOPs in products with θ){split}{hessian}, \
             compile {:.3} s on {} ({} thread(s){isa}, pdenet {} {})",
            e.kind.name(),
            self.points,
            self.adam_epoch_ms,
            self.adam_epoch_ms_min,
            100.0 * self.work.products / self.work.flops,
            self.compile_s,
            self.device(),
            e.threads,
            machine::VERSION,
            machine::COMMIT,
        )
    }
}

/// How an engine's loss and gradient agree with the f64 interpreter's (the oracle)
/// at the file's initial θ, on its sampled points: `pdenet compare`, the device
/// check's correctness step.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    pub engine: EngineFacts,
    pub points: usize,
    /// |total − oracle's| / |oracle's|.
    pub total: f64,
    /// The largest term's |a − b| / max(|b|, 1e-12 |oracle's total|).
    pub terms: f64,
    /// max |∂ − oracle's ∂| / max |oracle's ∂|.
    pub grad: f64,
}

impl Agreement {
    /// The tolerances of the engine tests: 1e-10 in f64; 1e-4 on the loss and 1e-3 on
    /// the gradient in f32.
    pub fn passes(&self) -> bool {
        let (loss, grad) = match self.engine.precision {
            Precision::F64 => (1e-10, 1e-10),
            Precision::F32 => (1e-4, 1e-3),
        };
        self.total <= loss && self.terms <= loss && self.grad <= grad
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "engine": self.engine.kind.name(),
            "adapter": self.engine.adapter,
            "precision": self.engine.precision.name(),
            "points": self.points,
            "rel_total": self.total,
            "rel_terms": self.terms,
            "rel_grad": self.grad,
            "passes": self.passes(),
        })
    }
}

/// Evaluates the loss and gradient once with the engine `opts` names and once with
/// the interpreter in f64, on at most `per_set` points of each set (all when `None`).
pub fn compare(
    problem: &Problem,
    opts: &BenchOptions,
    per_set: Option<usize>,
) -> Result<Agreement, RunError> {
    let kernel = crate::kernel::compile(problem)?;
    let engine = backend::compile(opts.engine, &kernel, opts.precision, opts.threads)?;
    let oracle = backend::compile(
        EngineChoice::Engine(EngineKind::Interp),
        &kernel,
        Precision::F64,
        1,
    )?;
    let data = points::load(problem)?;
    let batches: Vec<PointBatch> = points::sample(problem, &data, opts.seed)
        .into_iter()
        .map(|b| match per_set {
            Some(n) if n < b.len() => b.pick(&(0..n).collect::<Vec<_>>()),
            _ => b,
        })
        .collect();
    let theta = crate::net::init::init_theta(problem, opts.seed);
    let (got, want) = (
        engine.eval(&theta, &batches)?,
        oracle.eval(&theta, &batches)?,
    );
    let rel = |a: f64, b: f64, floor: f64| (a - b).abs() / b.abs().max(floor);
    let floor = 1e-12 * want.total.abs();
    let terms = (got.terms.iter().zip(&want.terms))
        .map(|(a, b)| rel(*a, *b, floor))
        .fold(0.0, f64::max);
    let gmax = want.grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let grad = (got.grad.iter().zip(&want.grad))
        .map(|(a, b)| (a - b).abs() / gmax.max(f64::MIN_POSITIVE))
        .fold(0.0, f64::max);
    Ok(Agreement {
        engine: engine.facts(),
        points: batches.iter().map(PointBatch::len).sum(),
        total: rel(got.total, want.total, f64::MIN_POSITIVE),
        terms,
        grad,
    })
}
