//! The training loop: the problem's optimizer phases in order (`adam(...) then
//! lbfgs(...)`), one loop whatever the optimizer, a history of the loss per term and of
//! the PDE parameters, and a clean stop with a named cause when the loss diverges.

use super::device::{self, DeviceRun};
use super::matrix::{self, PassTimes};
use super::optim::{
    self, AdamDevice, End, Eval, IterInfo, Objective, Optimizer, OptimizerState, Stop,
};
use super::snapshot::Snapshot;
use crate::backend::{AdamState, AdamUpdate, MatrixOffer, Precision, Team};
use crate::kernel::{Evaluation, KernelError};
use crate::net::Layout;
use crate::problem::{Balance, BalanceRule, Causal, Phase, Problem, SelfAdaptive};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// history.csv's event on the row after which the points were redrawn.
pub const RESAMPLE_EVENT: &str = "resample";

/// Anything that evaluates the loss and its gradient (the interpreter, the JIT, …).
pub trait Evaluator {
    fn evaluate(&mut self, theta: &[f64]) -> Result<Evaluation, KernelError>;
    /// Evaluates in `precision` from now on (a phase's `precision = …`); an evaluator
    /// with one precision ignores it.
    fn use_precision(&mut self, _precision: Precision) -> Result<(), String> {
        Ok(())
    }
    /// Multiplies each term's weight by `scale[t]` from now on (loss balancing).
    fn set_scale(&mut self, _scale: &[f64]) -> Result<(), String> {
        Err("this evaluator cannot reweight its terms".into())
    }
    /// Each weighted term's gradient ∇θ wₜLₜ at θ, one reverse pass per term.
    fn term_gradients(&mut self, _theta: &[f64]) -> Result<Vec<Vec<f64>>, KernelError> {
        Err(KernelError::Unsupported(
            "this evaluator cannot give each term's gradient".into(),
        ))
    }
    /// Adam on the current engine's device, when it has one
    /// (`backend::Engine::device_adam`).
    fn device_adam(&mut self) -> Option<DeviceRun<'_>> {
        None
    }
    /// A dense n×n H on the current engine's device, when it keeps one
    /// (`backend::Engine::device_matrix`).
    fn device_matrix(&mut self, _n: usize) -> Option<MatrixOffer> {
        None
    }
    /// Each weighted term's mean NTK diagonal wₜ‖∇θ rₜ(x)‖² over (some of) its points;
    /// NaN for a term that has none (an integral constraint).
    fn ntk_diagonals(&mut self, _theta: &[f64]) -> Result<Vec<f64>, KernelError> {
        Err(KernelError::Unsupported(
            "this evaluator cannot give the terms' tangent kernels".into(),
        ))
    }
}

/// The precision a phase from [`phases`] runs in: its own `precision = …`, else f32
/// for Adam and f64 for the quasi-Newton methods. Measured on
/// examples/burgers_ssbroyden.pde (2 threads, AMD EPYC AVX2, seed 1234, docs/RESULTS.md
/// "precision"): f32 Adam then f64 SSBroyden reached rel. L2 1e-3 after 30.0 s and
/// 1e-4 after 62.0 s, f64 throughout after 46.6 s and 68.4 s. A first-order phase only
/// needs the gradient's direction, which f32 gives at twice the speed; the quasi-Newton
/// phase divides by small curvatures and goes far below f32's resolution of the loss.
pub fn precision(phase: &Phase) -> Precision {
    phase.precision().unwrap_or(match phase {
        Phase::Adam { .. } => Precision::F32,
        Phase::Lbfgs { .. } | Phase::Dense { .. } => Precision::F64,
    })
}

impl<F: FnMut(&[f64]) -> Result<Evaluation, KernelError>> Evaluator for F {
    fn evaluate(&mut self, theta: &[f64]) -> Result<Evaluation, KernelError> {
        self(theta)
    }
}

/// One row of the history: after an Adam epoch or an L-BFGS iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub phase: &'static str,
    /// 1-based within the phase.
    pub iter: usize,
    pub loss: f64,
    /// Each term, unweighted (as `Evaluation::terms`).
    pub terms: Vec<f64>,
    /// The PDE parameters' values (a positive one as its value, not its log).
    pub params: Vec<f64>,
    /// What happened at this step besides the update: a quasi-Newton step that refused
    /// its curvature pair or reset H (`Event::name`), a redraw of the points
    /// (`resample`, after the step).
    pub events: Vec<&'static str>,
    /// Seconds since the run started (compilation included) when the row was written.
    pub time_s: f64,
    /// The relative L2 error of each reference field at this row's θ, on the rows where
    /// it was measured ([`Monitor`]).
    pub errors: Option<Vec<f64>>,
    /// Each term's weight multiplier when the run balances its terms (else empty):
    /// the loss is Σ λᵢ wᵢ Lᵢ.
    pub scale: Vec<f64>,
    /// The smallest causal weight (the last time chunk's) when the problem is weighted
    /// in time; 1 in a phase without causal weighting.
    pub causal: Option<f64>,
    /// The mean self-adaptive weight λ² of each weighted set (`Problem::self_adaptive`)
    /// when a phase trains them (1 before; as left after); else empty.
    pub adaptive: Vec<f64>,
}

/// How often the error against the reference is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEvery {
    /// Every n steps, and at the end of each phase.
    Steps(usize),
    /// As often as keeps the measuring under 2 % of the run: the next measurement waits
    /// at least 50 times as long as the last one took. And at the end of each phase.
    Auto,
}

/// The relative L2 error of each reference field at θ ([`Monitor::measure`]).
pub type Measure<'a> = dyn FnMut(&[f64]) -> Option<Vec<f64>> + 'a;
/// Sets the causal weights at θ under a rule ([`Monitor::causal`]).
pub type CausalWeights<'a> = dyn FnMut(&[f64], Option<Causal>) -> Result<f64, String> + 'a;
/// One ascent step of the self-adaptive weights at θ ([`Monitor::self_adaptive`]).
pub type AdaptiveStep<'a> = dyn FnMut(&[f64], SelfAdaptive) -> Result<Vec<f64>, String> + 'a;

/// What the trainer watches besides the loss: the clock, a time limit, and the error
/// against the reference.
pub struct Monitor<'m> {
    /// When the run started: every `time_s` counts from here.
    pub started: Instant,
    /// Stop cleanly (the current phase ends, the rest are skipped) after this many
    /// seconds since `started`.
    pub time_limit: Option<f64>,
    pub every: ErrorEvery,
    /// The relative L2 error of each reference field at θ; `None` when there is no
    /// reference.
    pub measure: Option<&'m mut Measure<'m>>,
    /// Redraws the collocation points every so many steps of each phase.
    pub resample: Option<Resample<'m>>,
    /// Sets the causal weights of the collocation points for θ under a phase's rule (or
    /// to 1 without one) and gives the smallest; `None` when the problem has none.
    pub causal: Option<&'m mut CausalWeights<'m>>,
    /// Takes one ascent step of the self-adaptive weights at θ under a phase's rule and
    /// gives each weighted set's mean weight; `None` when the problem has none.
    pub self_adaptive: Option<&'m mut AdaptiveStep<'m>>,
    /// Takes a snapshot every so often and when the run stops early; `None`: never.
    pub checkpoint: Option<Checkpointing<'m>>,
    /// Set by Ctrl-C: the run stops at the end of the current step, as at the time
    /// limit.
    pub interrupted: Option<&'m AtomicBool>,
    /// The other processes of an MPI job: every rank takes rank 0's decisions to
    /// stop or pause (its clock, its Ctrl-C, its checkpoints), so that all take the
    /// same steps and meet in the same collectives.
    pub team: Option<&'m dyn Team>,
}

/// When and where snapshots go.
pub struct Checkpointing<'m> {
    /// Seconds between snapshots.
    pub every: f64,
    /// Completes the snapshot (the point sets) and keeps it.
    pub save: &'m mut dyn FnMut(Snapshot),
}

/// A point set redrawn during training (`sample collocation N rad(every = …)`).
pub struct Resample<'m> {
    /// Steps of a phase between redraws.
    pub every: usize,
    /// Redraws the points for θ; the message says why it could not.
    pub redraw: &'m mut dyn FnMut(&[f64]) -> Result<(), String>,
}

/// When the error was last measured and what that cost, for [`ErrorEvery::Auto`].
struct Measuring {
    last_at: f64,
    last_cost: f64,
}

impl Measuring {
    fn due(&self, every: ErrorEvery, iter: usize, now: f64) -> bool {
        match every {
            ErrorEvery::Steps(n) => n > 0 && iter.is_multiple_of(n),
            ErrorEvery::Auto => now - self.last_at >= 50.0 * self.last_cost,
        }
    }
}

/// How one phase ended.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseReport {
    pub name: &'static str,
    /// The kernel precision it ran in ("f32", "f64").
    pub precision: &'static str,
    /// Where the optimizer's state and update lived: `device` (Adam on the GPU
    /// engine's device, or a dense method's H there) or `host`.
    pub update: &'static str,
    /// A dense phase's pass over H timed on the host and on the device at its start,
    /// which chose `update` (`matrix::place`); `None` when nothing was timed.
    pub pass_ms: Option<PassTimes>,
    pub iterations: usize,
    pub evaluations: usize,
    pub seconds: f64,
    /// Why it stopped, in words.
    pub stop: String,
}

/// The `stop` of a phase cut short by `--time-limit`.
fn time_limit_reached(limit: f64) -> String {
    format!("reached the time limit ({limit} s)")
}

/// The `stop` of a phase cut short by Ctrl-C.
const INTERRUPTED: &str = "stopped by Ctrl-C or SIGTERM";

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The last good θ.
    pub theta: Vec<f64>,
    pub history: Vec<Row>,
    pub phases: Vec<PhaseReport>,
    /// Set when the loss became NaN/Inf: which term, which phase and epoch.
    pub diverged: Option<String>,
    /// Set when a phase could not start (its precision's kernel did not compile); the
    /// phases before it stand.
    pub failed: Option<String>,
    /// Whether the time limit or Ctrl-C stopped the run before its phases ended (its
    /// last snapshot, when snapshots are taken, continues it).
    pub cut_short: bool,
}

/// Progress seen by the command line's display.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub phase: &'static str,
    pub iter: usize,
    /// The phase's iteration cap.
    pub of: usize,
    pub loss: f64,
    pub terms: &'a [f64],
    /// The latest relative L2 error of the first reference field, once measured.
    pub error: Option<f64>,
}

/// The problem's phases, each capped at `cap` iterations when given (`--epochs N`) and
/// in precision `precision` when given (`--precision`).
pub fn phases(problem: &Problem, cap: Option<usize>, precision: Option<Precision>) -> Vec<Phase> {
    problem
        .training
        .iter()
        .map(|p| {
            let p = cap.map_or(*p, |c| p.capped(c));
            precision.map_or(p, |f| p.in_precision(f))
        })
        .collect()
}

/// Adapts an evaluator to the optimizers: remembers the terms of the last
/// evaluation and names the first non-finite term.
struct KernelObjective<'e> {
    eval: &'e mut dyn Evaluator,
    names: Vec<String>,
    last_terms: Vec<f64>,
    /// θ ranges of `fixed` tensors: their gradient is zero, so no optimizer moves them.
    fixed: Vec<std::ops::Range<usize>>,
    /// Offer Adam the evaluator's device (in an Adam phase, where there is one).
    on_device: bool,
    /// The entries of θ a device epoch sends back: the PDE parameters.
    watch: Vec<usize>,
}

impl KernelObjective<'_> {
    /// The terms of a finite total, else why the run stops.
    fn check(&mut self, terms: Vec<f64>, total: f64) -> Result<(), Stop> {
        if !total.is_finite() {
            let bad = terms.iter().position(|t| !t.is_finite());
            let name = bad
                .and_then(|k| self.names.get(k))
                .map_or("total", String::as_str);
            return Err(Stop::new(format!(
                "loss term `{name}` is {}",
                if total.is_nan() { "NaN" } else { "infinite" }
            )));
        }
        self.last_terms = terms;
        Ok(())
    }

    fn device(&mut self) -> Result<DeviceRun<'_>, Stop> {
        (self.eval.device_adam()).ok_or_else(no_device)
    }
}

/// Why a device epoch cannot run: the engine offers none.
fn no_device() -> Stop {
    Stop::new("the engine has no device for Adam")
}

impl Objective for KernelObjective<'_> {
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop> {
        let e = self
            .eval
            .evaluate(theta)
            .map_err(|e| Stop::new(e.to_string()))?;
        self.check(e.terms, e.total)?;
        let mut grad = e.grad;
        for r in &self.fixed {
            grad[r.clone()].iter_mut().for_each(|g| *g = 0.0);
        }
        Ok(Eval {
            loss: e.total,
            grad,
        })
    }

    fn adam_device(&mut self) -> Option<&mut dyn AdamDevice> {
        self.on_device.then_some(self)
    }
}

impl AdamDevice for KernelObjective<'_> {
    fn load(&mut self, state: &AdamState) -> Result<(), Stop> {
        let mut trains = vec![true; state.theta.len()];
        for r in &self.fixed {
            trains[r.clone()].iter_mut().for_each(|t| *t = false);
        }
        let device = self.device()?;
        device
            .load(state, &trains)
            .map_err(|e| Stop::new(e.to_string()))
    }

    fn epoch(&mut self, update: &AdamUpdate, theta: &mut [f64]) -> Result<(f64, bool), Stop> {
        let e = {
            let device = (self.eval.device_adam()).ok_or_else(no_device)?;
            (device.epoch(update, &self.watch)).map_err(|e| Stop::new(e.to_string()))?
        };
        for (&i, &x) in self.watch.iter().zip(&e.watched) {
            theta[i] = x;
        }
        self.check(e.terms, e.total)?;
        Ok((e.total, e.updated))
    }

    fn unload(&mut self) -> Result<(AdamState, Vec<f64>), Stop> {
        let device = self.device()?;
        device.unload().map_err(|e| Stop::new(e.to_string()))
    }
}

/// The objective as a phase's optimizer sees it: each evaluation's terms are
/// kept for the history row the step writes.
struct Reporting<'o, 'e> {
    obj: &'o mut KernelObjective<'e>,
    terms: &'o RefCell<Vec<f64>>,
}

impl Objective for Reporting<'_, '_> {
    // Every optimizer reports after its last evaluation of the step (L-BFGS's line
    // search evaluates the accepted point last), so they are the reported point's.
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop> {
        let r = self.obj.eval(theta);
        self.terms.borrow_mut().clone_from(&self.obj.last_terms);
        r
    }

    fn adam_device(&mut self) -> Option<&mut dyn AdamDevice> {
        self.obj.on_device.then_some(self)
    }
}

impl AdamDevice for Reporting<'_, '_> {
    fn load(&mut self, state: &AdamState) -> Result<(), Stop> {
        self.obj.load(state)
    }

    fn epoch(&mut self, update: &AdamUpdate, theta: &mut [f64]) -> Result<(f64, bool), Stop> {
        let r = self.obj.epoch(update, theta);
        self.terms.borrow_mut().clone_from(&self.obj.last_terms);
        r
    }

    fn unload(&mut self) -> Result<(AdamState, Vec<f64>), Stop> {
        self.obj.unload()
    }
}

/// Runs the phases from `theta`, or from where `resume` left off, each through
/// [`optim::run`], the same loop for every optimizer, writing a history row per step,
/// measuring the error and taking snapshots as `monitor` says.
#[allow(clippy::too_many_arguments)]
pub fn train(
    problem: &Problem,
    evaluator: &mut dyn Evaluator,
    theta: Vec<f64>,
    phases: &[Phase],
    threads: usize,
    monitor: &mut Monitor,
    progress: &mut dyn FnMut(&Progress),
    resume: Option<Snapshot>,
) -> Outcome {
    let layout = Layout::of(problem);
    let mut obj = KernelObjective {
        eval: evaluator,
        names: problem.terms.iter().map(|t| t.name.clone()).collect(),
        last_terms: Vec::new(),
        fixed: layout.fixed(problem),
        on_device: false,
        watch: layout.params.clone(),
    };
    let mut rows = Rows {
        problem,
        layout: layout.clone(),
        monitor,
        measuring: Measuring {
            last_at: 0.0,
            last_cost: 0.0,
        },
        latest: None,
        out_of_time: false,
        interrupted: false,
        pause: false,
        last_checkpoint: 0.0,
        scale: if phases.iter().any(|p| p.balance().is_some()) {
            vec![1.0; problem.terms.len()]
        } else {
            Vec::new()
        },
        causal: None,
        adaptive: if phases.iter().any(|p| p.self_adaptive().is_some()) {
            vec![1.0; problem.self_adaptive.len()]
        } else {
            Vec::new()
        },
        defer_errors: false,
        error_due: false,
    };
    let mut out = Outcome {
        theta,
        history: Vec::new(),
        phases: Vec::new(),
        diverged: None,
        failed: None,
        cut_short: false,
    };
    let first = resume.as_ref().map_or(0, |s| s.phase);
    let mut within = resume.map(|s| rows.resume(s, &mut out));
    if within.is_some() && rows.scale.iter().any(|&l| l != 1.0) {
        if let Err(e) = obj.eval.set_scale(&rows.scale) {
            out.failed = Some(e);
            return out;
        }
    }
    for (index, phase) in phases.iter().enumerate().skip(first) {
        // A phase's seconds include compiling its precision's kernel, as they always did.
        let t0 = Instant::now();
        if let Err(e) = obj.eval.use_precision(precision(phase)) {
            out.failed = Some(e);
            break;
        }
        let mut at = within.take().unwrap_or(PhaseStart::fresh(index));
        at.seconds += t0.elapsed().as_secs_f64();
        let ran = run_phase(phase, at, threads, &mut obj, &mut rows, &mut out, progress);
        rows.phase_end(&mut out.history, &out.theta);
        let kind = ran.kind;
        out.phases.push(PhaseReport {
            name: kind.name,
            precision: precision(phase).name(),
            update: if ran.on_device { "device" } else { "host" },
            pass_ms: ran.pass_ms,
            iterations: ran.steps,
            evaluations: ran.evaluations,
            seconds: ran.seconds,
            stop: match (&ran.end, rows.monitor.time_limit) {
                (End::Caller, _) if rows.interrupted => INTERRUPTED.into(),
                (End::Caller, Some(limit)) if rows.out_of_time => time_limit_reached(limit),
                (end, _) => end.to_string(),
            },
        });
        if let End::Aborted(abort) = ran.end {
            out.diverged = Some(format!(
                "{abort} at {} {} {}",
                kind.title,
                kind.unit,
                ran.steps + 1
            ));
            break;
        }
        if rows.out_of_time || rows.interrupted {
            out.cut_short = true;
            break;
        }
    }
    out
}

/// Where a phase starts: at its beginning, or after `done` steps from a snapshot.
struct PhaseStart {
    index: usize,
    done: usize,
    evaluations: usize,
    seconds: f64,
    optimizer: Option<OptimizerState>,
}

impl PhaseStart {
    fn fresh(index: usize) -> Self {
        PhaseStart {
            index,
            done: 0,
            evaluations: 0,
            seconds: 0.0,
            optimizer: None,
        }
    }
}

/// How one phase went.
struct PhaseRun {
    kind: &'static optim::Kind,
    /// Adam's state or a dense H was on the engine's device.
    on_device: bool,
    /// A pass over the dense H timed on the host and the device before choosing.
    pass_ms: Option<PassTimes>,
    end: End,
    steps: usize,
    evaluations: usize,
    seconds: f64,
}

/// One phase from `out.theta` (or from a snapshot's step `at.done`): its optimizer,
/// run in segments that end where the points are redrawn, the weights rebalanced or
/// a snapshot taken, a history row per step.
fn run_phase(
    phase: &Phase,
    at: PhaseStart,
    threads: usize,
    obj: &mut KernelObjective,
    rows: &mut Rows,
    out: &mut Outcome,
    progress: &mut dyn FnMut(&Progress),
) -> PhaseRun {
    let t0 = Instant::now();
    let offer = match phase {
        Phase::Dense { .. } => obj.eval.device_matrix(out.theta.len()),
        _ => None,
    };
    let (matrix, pass_ms) = matrix::place(offer, threads);
    let matrix_on_device = matrix.is_some();
    let mut optimizer = optim::build(phase, threads, matrix);
    optimizer.start(&out.theta);
    let kind = optimizer.kind();
    let of = phase.cap();
    let terms = RefCell::new(Vec::new());
    let balance = phase.balance();
    let causal = phase.causal();
    let adaptive = phase.self_adaptive();
    let resample_every = rows.monitor.resample.as_ref().map(|r| r.every);
    let schedules: Vec<usize> = resample_every
        .into_iter()
        .chain(balance.map(|b| b.every))
        .chain(causal.map(|c| c.every))
        .chain(adaptive.map(|a| a.every))
        .collect();
    let errors_every = match rows.monitor.every {
        ErrorEvery::Steps(n) if n > 0 => Some(n),
        _ => None,
    };
    // θ and the moments go to the device and back once per segment: worth it only
    // for segments of several epochs.
    let short = schedules
        .iter()
        .chain(&errors_every)
        .any(|&k| k < device::MIN_SEGMENT);
    obj.on_device = matches!(phase, Phase::Adam { .. })
        && !short
        && device::allowed()
        && obj.eval.device_adam().is_some();
    // Between a segment's ends θ is on the device: the error waits for the end.
    rows.defer_errors = obj.on_device;
    let aborted = |e: String| End::Aborted(optim::Abort::Objective(Stop::new(e)));
    let (mut done, mut evaluations) = (at.done, at.evaluations);
    let restored = at.optimizer.map(|state| optimizer.restore(&state));
    // After a step the phase may end or the points be redrawn; a resumed phase
    // continues from just after its snapshot's step.
    let mut stepped = done > 0;
    // The causal weights are due at the phase's start, on their schedule, and after a
    // redraw (new points start at weight 1); a resumed phase has its weights.
    let mut reweigh = !stepped;
    let end = loop {
        if let Some(Err(e)) = &restored {
            break aborted(format!(
                "the checkpoint's optimizer state does not fit: {e}"
            ));
        }
        if stepped {
            if done >= of {
                break End::IterationCap(of);
            }
            if resample_every.is_some_and(|k| done % k == 0) {
                if let Err(e) = rows.redraw(&out.theta, &mut out.history) {
                    break aborted(e);
                }
                optimizer.objective_changed();
                reweigh = causal.is_some();
            }
        }
        if reweigh || causal.is_some_and(|c| done % c.every == 0) {
            if let Err(e) = rows.reweigh(&out.theta, causal) {
                break aborted(e);
            }
            if done > 0 {
                optimizer.objective_changed();
            }
        }
        reweigh = false;
        if let Some(b) = balance.filter(|b| done % b.every == 0 && done < of) {
            if let Err(e) = rebalance(&mut *obj.eval, &out.theta, &mut rows.scale, b) {
                break aborted(e);
            }
            if done > 0 {
                optimizer.objective_changed();
            }
        }
        if let Some(a) = adaptive.filter(|a| done % a.every == 0 && done < of) {
            if let Err(e) = rows.adapt(&out.theta, a) {
                break aborted(e);
            }
            if done > 0 {
                optimizer.objective_changed();
            }
        }
        // The objective writes the terms of each evaluation; the callback reads them.
        let mut objective = Reporting {
            obj: &mut *obj,
            terms: &terms,
        };
        let segment = next_segment(done, of - done, &schedules);
        let o = optim::run(
            optimizer.as_mut(),
            &mut objective,
            &mut out.theta,
            segment,
            |info| {
                let row = rows.row(kind.name, done + info.iter, info, &terms.borrow());
                progress(&Progress {
                    phase: kind.name,
                    iter: row.iter,
                    of,
                    loss: info.loss,
                    terms: &row.terms,
                    error: rows.latest,
                });
                out.history.push(row);
                rows.after_step()
            },
        );
        done += o.iterations;
        evaluations += o.evaluations;
        stepped = true;
        let here = PhaseStart {
            index: at.index,
            done,
            evaluations,
            seconds: at.seconds + t0.elapsed().as_secs_f64(),
            optimizer: None,
        };
        let measured = rows.deferred_error(&mut out.history, &out.theta);
        let stopping = rows.out_of_time || rows.interrupted;
        match o.end {
            End::IterationCap(_) => {}
            End::Caller if rows.pause => rows.snapshot(here, optimizer.as_ref(), out),
            End::Caller if measured && !stopping => {}
            End::Caller => {
                rows.snapshot(here, optimizer.as_ref(), out);
                break End::Caller;
            }
            end => break end,
        }
    };
    PhaseRun {
        kind,
        on_device: obj.on_device || matrix_on_device,
        pass_ms,
        end,
        steps: done,
        evaluations,
        seconds: at.seconds + t0.elapsed().as_secs_f64(),
    }
}

/// Steps until the next boundary of any schedule (every k steps) after `done` steps,
/// at most `left`.
fn next_segment(done: usize, left: usize, schedules: &[usize]) -> usize {
    schedules
        .iter()
        .map(|&k| k - done % k)
        .fold(left, usize::min)
}

/// One balancing step (`Balance`): each multiplier λᵢ moves towards Σⱼ sⱼ / sᵢ with
/// momentum `alpha`, sᵢ the term's size under the rule (its weighted gradient's norm,
/// or its mean NTK diagonal); a term whose size vanishes or is unknown keeps its
/// multiplier. The evaluator computes with the new multipliers from then on.
fn rebalance(
    evaluator: &mut dyn Evaluator,
    theta: &[f64],
    scale: &mut [f64],
    balance: Balance,
) -> Result<(), String> {
    let sizes: Vec<f64> = match balance.rule {
        BalanceRule::GradNorm => evaluator
            .term_gradients(theta)
            .map_err(|e| e.to_string())?
            .iter()
            .map(|g| optim::dot(g, g).sqrt())
            .collect(),
        BalanceRule::Ntk => evaluator.ntk_diagonals(theta).map_err(|e| e.to_string())?,
    };
    let total: f64 = sizes.iter().filter(|s| s.is_finite()).sum();
    for (lambda, &size) in scale.iter_mut().zip(&sizes) {
        let target = total / size;
        if target.is_finite() && size > 0.0 {
            *lambda = balance.alpha * *lambda + (1.0 - balance.alpha) * target;
        }
    }
    evaluator.set_scale(scale)
}

/// Writes the history rows: the loss, the terms and parameters, the clock, and the
/// error when it is due.
struct Rows<'p, 'm, 'n> {
    problem: &'p Problem,
    layout: Layout,
    monitor: &'m mut Monitor<'n>,
    measuring: Measuring,
    /// The latest error of the first reference field, for the progress line.
    latest: Option<f64>,
    out_of_time: bool,
    /// Ctrl-C was pressed.
    interrupted: bool,
    /// A snapshot is due: the segment ended early to take it.
    pause: bool,
    /// When the last snapshot was taken (seconds since the start).
    last_checkpoint: f64,
    /// The terms' weight multipliers when a phase balances them (else empty).
    scale: Vec<f64>,
    /// The smallest causal weight, once set.
    causal: Option<f64>,
    /// Each weighted set's mean self-adaptive weight, when a phase trains them.
    adaptive: Vec<f64>,
    /// θ is away on a device between a segment's ends (Adam there): an error due
    /// mid-segment ends it and is measured then, on the segment's last row.
    defer_errors: bool,
    /// Such an error is due.
    error_due: bool,
}

impl Rows<'_, '_, '_> {
    /// Measures the error that came due while θ was on the device, onto the last
    /// row; whether one was due.
    fn deferred_error(&mut self, history: &mut [Row], theta: &[f64]) -> bool {
        if !std::mem::take(&mut self.error_due) {
            return false;
        }
        let errors = self.measure(theta);
        if let Some(last) = history.last_mut() {
            last.errors = errors;
        }
        true
    }

    /// The row of step `iter` of the phase.
    fn row(&mut self, phase: &'static str, iter: usize, info: &IterInfo, terms: &[f64]) -> Row {
        let time_s = self.now();
        let due = self.measuring.due(self.monitor.every, iter, time_s);
        self.error_due |= due && self.defer_errors;
        let errors = match due && !self.defer_errors {
            true => self.measure(info.theta),
            false => None,
        };
        Row {
            phase,
            iter,
            loss: info.loss,
            terms: terms.to_vec(),
            params: param_values(self.problem, &self.layout, info.theta),
            events: info.event.map(optim::Event::name).into_iter().collect(),
            time_s,
            errors,
            scale: self.scale.clone(),
            causal: self.causal,
            adaptive: self.adaptive.clone(),
        }
    }

    /// One ascent step of the self-adaptive weights at θ under `rule`.
    fn adapt(&mut self, theta: &[f64], rule: SelfAdaptive) -> Result<(), String> {
        if let Some(step) = self.monitor.self_adaptive.as_mut() {
            self.adaptive = step(theta, rule)?;
        }
        Ok(())
    }

    /// Sets the causal weights for θ under `rule` (to 1 without one); nothing when the
    /// problem has none. A phase without a rule after one with weights 1 costs nothing.
    fn reweigh(&mut self, theta: &[f64], rule: Option<Causal>) -> Result<(), String> {
        let Some(set) = self.monitor.causal.as_mut() else {
            return Ok(());
        };
        if rule.is_none() && self.causal.is_some_and(|w| w == 1.0) {
            return Ok(());
        }
        self.causal = Some(set(theta, rule)?);
        Ok(())
    }

    /// Redraws the resampled point set at θ and says so on the last row.
    fn redraw(&mut self, theta: &[f64], history: &mut [Row]) -> Result<(), String> {
        let Some(resample) = self.monitor.resample.as_mut() else {
            return Ok(());
        };
        (resample.redraw)(theta)?;
        if let Some(last) = history.last_mut() {
            last.events.push(RESAMPLE_EVENT);
        }
        Ok(())
    }

    /// The error at the end of a phase, on its last row, if that row has none.
    fn phase_end(&mut self, history: &mut [Row], theta: &[f64]) {
        if let Some(last) = history.last_mut().filter(|r| r.errors.is_none()) {
            last.errors = self.measure(theta);
        }
    }

    fn measure(&mut self, theta: &[f64]) -> Option<Vec<f64>> {
        let measure = self.monitor.measure.as_mut()?;
        let t0 = self.monitor.started.elapsed().as_secs_f64();
        let errors = measure(theta);
        let t1 = self.monitor.started.elapsed().as_secs_f64();
        self.measuring = Measuring {
            last_at: t1,
            last_cost: t1 - t0,
        };
        if let Some(first) = errors.as_ref().and_then(|e| e.first()) {
            self.latest = Some(*first);
        }
        errors
    }

    fn now(&self) -> f64 {
        self.monitor.started.elapsed().as_secs_f64()
    }

    /// Breaks the segment once the time limit has passed, Ctrl-C was pressed or a
    /// snapshot is due (on an MPI team: once rank 0 says one of these).
    fn after_step(&mut self) -> ControlFlow<()> {
        let now = self.now();
        if self.monitor.time_limit.is_some_and(|limit| now >= limit) {
            self.out_of_time = true;
        } else if self
            .monitor
            .interrupted
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            self.interrupted = true;
        } else if let Some(c) = &self.monitor.checkpoint {
            self.pause = now - self.last_checkpoint >= c.every;
        }
        if self.error_due {
            return ControlFlow::Break(());
        }
        if let Some(team) = self.monitor.team {
            let flags = self.out_of_time as u64 | (self.interrupted as u64) << 1;
            let flags = team.broadcast(flags | (self.pause as u64) << 2);
            self.out_of_time = flags & 1 != 0;
            self.interrupted = flags & 2 != 0;
            self.pause = flags & 4 != 0;
        }
        match self.out_of_time || self.interrupted || self.pause {
            true => ControlFlow::Break(()),
            false => ControlFlow::Continue(()),
        }
    }

    /// Hands a snapshot of the run after step `at.done` of phase `at.index` to the
    /// monitor, if it takes them.
    fn snapshot(&mut self, at: PhaseStart, optimizer: &dyn Optimizer, out: &Outcome) {
        self.pause = false;
        let now = self.now();
        let Some(c) = self.monitor.checkpoint.as_mut() else {
            return;
        };
        (c.save)(Snapshot {
            phase: at.index,
            done: at.done,
            evaluations: at.evaluations,
            phase_seconds: at.seconds,
            theta: out.theta.clone(),
            optimizer: optimizer.save(),
            history: out.history.clone(),
            phases: out.phases.clone(),
            scale: self.scale.clone(),
            causal: self.causal,
            adaptive: self.adaptive.clone(),
            latest: self.latest,
            elapsed: now,
            sets: Default::default(),
        });
        self.last_checkpoint = self.now();
    }

    /// Takes up a snapshot's values: θ, history and ended phases into `out`, the
    /// running values here; where its phase starts.
    fn resume(&mut self, s: Snapshot, out: &mut Outcome) -> PhaseStart {
        out.theta = s.theta;
        out.history = s.history;
        out.phases = s.phases;
        self.scale = s.scale;
        self.causal = s.causal;
        self.adaptive = s.adaptive;
        self.latest = s.latest;
        self.last_checkpoint = self.now();
        PhaseStart {
            index: s.phase,
            done: s.done,
            evaluations: s.evaluations,
            seconds: s.phase_seconds,
            optimizer: Some(s.optimizer),
        }
    }
}

/// The PDE parameters' values in θ (exp of the stored log for positive ones).
pub fn param_values(problem: &Problem, layout: &Layout, theta: &[f64]) -> Vec<f64> {
    problem
        .params
        .iter()
        .enumerate()
        .map(|(k, p)| p.value(theta[layout.params[k]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An evaluator whose terms have planted gradients.
    struct Planted {
        grads: Vec<Vec<f64>>,
        diagonals: Vec<f64>,
        scale: Vec<f64>,
    }

    impl Evaluator for Planted {
        fn evaluate(&mut self, _theta: &[f64]) -> Result<Evaluation, KernelError> {
            unreachable!("balancing only asks for the terms' gradients")
        }
        fn set_scale(&mut self, scale: &[f64]) -> Result<(), String> {
            self.scale = scale.to_vec();
            Ok(())
        }
        fn term_gradients(&mut self, _theta: &[f64]) -> Result<Vec<Vec<f64>>, KernelError> {
            Ok(self.grads.clone())
        }
        fn ntk_diagonals(&mut self, _theta: &[f64]) -> Result<Vec<f64>, KernelError> {
            Ok(self.diagonals.clone())
        }
    }

    /// Gradient norms 1, 3 and 0: targets Σ/‖g‖ = 4 and 4/3, and none for the term
    /// whose gradient vanishes; with momentum 0.9 from 1 the multipliers become
    /// 0.9 + 0.1·4, 0.9 + 0.1·4/3 and stay 1, and the evaluator gets them.
    #[test]
    fn balancing_moves_each_weight_towards_the_gradient_norm_ratio() {
        let mut planted = Planted {
            grads: vec![vec![0.6, 0.8], vec![0.0, 3.0], vec![0.0, 0.0]],
            diagonals: vec![],
            scale: vec![],
        };
        let mut scale = vec![1.0; 3];
        let gradnorm = Balance {
            rule: BalanceRule::GradNorm,
            every: 1,
            alpha: 0.9,
        };
        rebalance(&mut planted, &[0.0, 0.0], &mut scale, gradnorm).expect("balances");
        let want = [0.9 + 0.4, 0.9 + 0.1 * 4.0 / 3.0, 1.0];
        for (got, want) in scale.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{scale:?}");
        }
        assert_eq!(planted.scale, scale);
    }

    /// NTK diagonals 2, 6 and NaN (an integral term): targets 8/2 and 8/6 with
    /// momentum 0.5 from 1, and the third term keeps its multiplier.
    #[test]
    fn ntk_balancing_weights_by_the_inverse_trace() {
        let mut planted = Planted {
            grads: vec![],
            diagonals: vec![2.0, 6.0, f64::NAN],
            scale: vec![],
        };
        let mut scale = vec![1.0; 3];
        let ntk = Balance {
            rule: BalanceRule::Ntk,
            every: 1,
            alpha: 0.5,
        };
        rebalance(&mut planted, &[0.0], &mut scale, ntk).expect("balances");
        let want = [0.5 + 0.5 * 4.0, 0.5 + 0.5 * 8.0 / 6.0, 1.0];
        for (got, want) in scale.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{scale:?}");
        }
        assert_eq!(planted.scale, scale);
    }

    #[test]
    fn segments_end_at_every_schedule_s_boundary() {
        assert_eq!(next_segment(0, 100, &[]), 100);
        assert_eq!(next_segment(0, 100, &[30, 40]), 30);
        assert_eq!(next_segment(30, 70, &[30, 40]), 10);
        assert_eq!(next_segment(40, 60, &[30, 40]), 20);
        assert_eq!(next_segment(95, 5, &[30, 40]), 5);
    }
}
