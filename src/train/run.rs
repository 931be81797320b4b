//! One training run end to end: kernel, data, points, initial θ, the optimizer
//! phases, and the errors against the reference solution. No file is written here
//! (see `io::output`).

use super::causal::CausalWeights;
use super::points::{self, DataError, Observations};
use super::resample::Resampler;
use super::self_adaptive::SelfAdaptiveWeights;
use super::snapshot::{SetState, Snapshot};
use super::trainer::{self, Checkpointing, Evaluator, Monitor, Outcome, Progress, Resample};
use crate::backend::{self, Engine, EngineChoice, EngineFacts, EngineKind, Team, Traffic};
use crate::expr::Expr;
use crate::kernel::{self, Evaluation, Kernel, KernelError, PointBatch, Predictor};
use crate::net;
use crate::problem::{Causal, Problem, SelfAdaptive};
use miette::Diagnostic;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;

pub use super::trainer::ErrorEvery;
pub use crate::backend::Precision;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    /// `--epochs N`: caps every phase.
    pub epochs: Option<usize>,
    /// `--precision`: every phase's kernel in this format, whatever the `train`
    /// statement says.
    pub precision: Option<Precision>,
    pub engine: EngineChoice,
    pub threads: usize,
    /// When the command started: history's `time_s` counts from here.
    pub started: Instant,
    /// `--time-limit`: stop cleanly after this many seconds since `started`.
    pub time_limit: Option<f64>,
    /// How often the error against the reference is measured during training.
    pub error_every: ErrorEvery,
    /// Seconds between snapshots (when [`Hooks::checkpoint`] takes them).
    pub checkpoint_every: f64,
    /// θ to start from (a warm start, `--init`), else drawn from the seed.
    pub init: Option<Vec<f64>>,
}

/// What the caller sees of a run besides its result, and where it starts.
pub struct Hooks<'h> {
    pub progress: &'h mut dyn FnMut(&Progress),
    /// Keeps each snapshot (`io::checkpoint` writes it); `None`: none are taken.
    pub checkpoint: Option<&'h mut dyn FnMut(&Snapshot)>,
    /// Set by Ctrl-C: the run stops at the end of its current step.
    pub interrupted: Option<&'h AtomicBool>,
    /// A snapshot of this problem's run to continue from.
    pub resume: Option<Snapshot>,
    /// The processes of an MPI job, when there is one: they share every evaluation
    /// and take rank 0's decisions to stop.
    pub team: Option<Arc<dyn Team>>,
}

#[derive(Debug, Error, Diagnostic)]
pub enum RunError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Kernel(#[from] KernelError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Backend(#[from] crate::backend::BackendError),
    #[error("the checkpoint does not fit this problem: {0}")]
    #[diagnostic(
        code(pdenet::run::resume),
        help("was the checkpoint written by a run of this file? Run without `--resume` to start afresh")
    )]
    Resume(String),
}

/// Relative L2 and max-abs error of one field against the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub name: String,
    pub rel_l2: f64,
    pub max_abs: f64,
    /// For a field the loss only sees differentiated: the coordinates of the
    /// function it is determined up to (Navier–Stokes' pressure: `t`); the
    /// prediction's mean was matched to the reference's over each group of points
    /// sharing these coordinates before measuring.
    pub up_to: Option<Vec<String>>,
}

/// The model's values on the reference grid: coordinates, then one column per field.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub columns: Vec<String>,
    pub values: Vec<Vec<f64>>,
    /// The reference's values at the same points, one column per predicted field
    /// (for the error pictures).
    pub reference: Vec<Vec<f64>>,
}

impl Predictions {
    /// PINNacle's metric: the relative L2 error over every predicted field at once,
    /// ‖pred − ref‖ / ‖ref‖ with all fields' values in one vector (no field's mean
    /// is matched first, unlike [`FieldError`]'s).
    pub fn joint_rel_l2(&self) -> f64 {
        let predicted = &self.values[self.values.len() - self.reference.len()..];
        let (mut diff, mut norm) = (0.0, 0.0);
        for (p, r) in predicted.iter().zip(&self.reference) {
            diff += p.iter().zip(r).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
            norm += r.iter().map(|b| b * b).sum::<f64>();
        }
        (diff / norm).sqrt()
    }
}

#[derive(Debug, Clone)]
pub struct RunResult {
    pub outcome: Outcome,
    pub errors: Vec<FieldError>,
    pub predictions: Option<Predictions>,
    pub compile_s: f64,
    pub train_s: f64,
    /// The names of history's error columns (`Row::errors`), in order.
    pub error_names: Vec<String>,
    /// Points per point set, as sampled.
    pub points: Vec<usize>,
    /// The engine that ran the kernel (never `auto`) and where.
    pub engine: EngineFacts,
    /// The exchanges of an MPI job's ranks (every precision's engine together);
    /// `None` in one process.
    pub traffic: Option<Traffic>,
    /// `--backend auto`'s measured choices (none unless a hardware GPU was there
    /// to choose from).
    pub auto: Vec<AutoChoice>,
}

/// Trains the problem and measures it against its reference.
pub fn run(problem: &Problem, opts: &RunOptions, hooks: Hooks) -> Result<RunResult, RunError> {
    let Hooks {
        progress,
        checkpoint: mut keep,
        interrupted,
        resume,
        team,
    } = hooks;
    let t0 = Instant::now();
    let kernel = kernel::compile(problem)?;
    let kernel_s = t0.elapsed().as_secs_f64();
    let phases = trainer::phases(problem, opts.epochs, opts.precision);
    let first = phases.first().map_or(Precision::F64, trainer::precision);
    let data = points::load(problem)?;
    let batches = RefCell::new(points::sample(problem, &data, opts.seed));
    let theta = match &opts.init {
        Some(theta) => theta.clone(),
        None => net::init_theta(problem, opts.seed),
    };
    let mut engines = Engines {
        kernel: &kernel,
        choice: opts.engine,
        threads: opts.threads,
        compiled: Vec::new(),
        current: 0,
        batches: &batches,
        scale: None,
        team: team.clone(),
        probe: theta.clone(),
        auto: Vec::new(),
    };
    let t1 = Instant::now();
    engines.open(first)?;
    let compile_s = kernel_s + t1.elapsed().as_secs_f64();
    let reference = match problem.reference {
        Some(r) => Some(Reference::new(problem, &data[r], r, opts.threads)?),
        None => None,
    };
    let mut measure = |theta: &[f64]| {
        let errors = reference.as_ref()?.errors(theta).ok()?;
        Some(errors.iter().map(|e| e.rel_l2).collect())
    };
    let resampler = RefCell::new(match problem.resampling {
        Some(rule) => Some(Resampler::new(problem, rule, opts.seed, opts.threads)?),
        None => None,
    });
    let adaptive = match problem.self_adaptive.is_empty() {
        true => None,
        false => Some(RefCell::new(SelfAdaptiveWeights::new(
            problem,
            &batches.borrow(),
            opts.threads,
        )?)),
    };
    if let Some(s) = &resume {
        restore_sets(&s.sets, &batches, &resampler, adaptive.as_ref())?;
    }
    let mut redraw = |theta: &[f64]| -> Result<(), String> {
        let mut resampler = resampler.borrow_mut();
        let Some(r) = resampler.as_mut() else {
            return Ok(());
        };
        let set = r.rule().set;
        let fresh = r
            .redraw(problem, theta, &batches.borrow()[set])
            .map_err(|e| format!("resampling the collocation points failed: {e}"))?;
        batches.borrow_mut()[set] = fresh;
        if let Some(a) = &adaptive {
            a.borrow_mut().reset(set);
        }
        Ok(())
    };
    let mut adapt = |theta: &[f64], rule: SelfAdaptive| -> Result<Vec<f64>, String> {
        let Some(a) = &adaptive else {
            return Ok(Vec::new());
        };
        a.borrow_mut()
            .ascend(theta, &mut batches.borrow_mut(), rule.lr)
            .map_err(|e| format!("computing the self-adaptive weights failed: {e}"))
    };
    let causal_weights = match problem.causal {
        Some(set) => Some(CausalWeights::new(problem, set, opts.threads)?),
        None => None,
    };
    let mut reweigh = |theta: &[f64], rule: Option<Causal>| -> Result<f64, String> {
        let Some(c) = causal_weights.as_ref() else {
            return Ok(1.0);
        };
        let mut batches = batches.borrow_mut();
        let batch = &mut batches[c.set()];
        let (weights, smallest) = match rule {
            Some(rule) => c
                .weights(theta, batch, rule)
                .map_err(|e| format!("computing the causal weights failed: {e}"))?,
            None => (vec![1.0; batch.len()], 1.0),
        };
        batch.weights = Some(weights);
        Ok(smallest)
    };
    let keep_snapshots = keep.is_some();
    let changing = changing_sets(problem);
    let mut save = |mut s: Snapshot| {
        s.sets = SetState {
            batches: (changing.iter())
                .map(|&k| (k, batches.borrow()[k].clone()))
                .collect(),
            draws: resampler.borrow().as_ref().map_or(0, Resampler::draws),
            lambdas: (adaptive.as_ref()).map_or(Vec::new(), |a| a.borrow().state()),
        };
        if let Some(keep) = keep.as_mut() {
            keep(&s);
        }
    };
    // A resumed run's clock goes on from its snapshot's.
    let started = resume
        .as_ref()
        .and_then(|s| Duration::try_from_secs_f64(s.elapsed).ok())
        .and_then(|d| Instant::now().checked_sub(d))
        .unwrap_or(opts.started);
    let mut monitor = Monitor {
        started,
        time_limit: opts.time_limit,
        every: opts.error_every,
        measure: Some(&mut measure),
        resample: problem.resampling.map(|rule| Resample {
            every: rule.every,
            redraw: &mut redraw,
        }),
        causal: match problem.causal {
            Some(_) => Some(&mut reweigh),
            None => None,
        },
        self_adaptive: match adaptive {
            Some(_) => Some(&mut adapt),
            None => None,
        },
        checkpoint: match keep_snapshots {
            true => Some(Checkpointing {
                every: opts.checkpoint_every,
                save: &mut save,
            }),
            false => None,
        },
        interrupted,
        team: team.as_deref(),
    };
    let t1 = Instant::now();
    let outcome = trainer::train(
        problem,
        &mut engines as &mut dyn Evaluator,
        theta,
        &phases,
        opts.threads,
        &mut monitor,
        progress,
        resume,
    );
    let train_s = t1.elapsed().as_secs_f64();
    let points = batches.borrow().iter().map(PointBatch::len).collect();
    let (errors, predictions) = match &reference {
        Some(r) => {
            let (e, p) = r.measure(&outcome.theta)?;
            (e, Some(p))
        }
        None => (Vec::new(), None),
    };
    Ok(RunResult {
        error_names: reference.as_ref().map(Reference::names).unwrap_or_default(),
        outcome,
        errors,
        predictions,
        compile_s,
        train_s,
        points,
        engine: engines.compiled[engines.current].facts(),
        traffic: (engines.compiled.iter())
            .filter_map(|e| e.traffic())
            .reduce(|a, b| a + b),
        auto: engines.auto,
    })
}

/// The point sets that change during training: redrawn, causally or self-adaptively
/// weighted. A snapshot keeps them whole.
fn changing_sets(problem: &Problem) -> Vec<usize> {
    let mut sets: Vec<usize> = (problem.resampling.map(|r| r.set).into_iter())
        .chain(problem.causal.map(|c| c.set))
        .chain(problem.self_adaptive.iter().copied())
        .collect();
    sets.sort_unstable();
    sets.dedup();
    sets
}

/// Puts a snapshot's point sets, redraw count and self-adaptive weights in place.
fn restore_sets(
    saved: &SetState,
    batches: &RefCell<Vec<PointBatch>>,
    resampler: &RefCell<Option<Resampler>>,
    adaptive: Option<&RefCell<SelfAdaptiveWeights>>,
) -> Result<(), RunError> {
    let mut batches = batches.borrow_mut();
    for (k, batch) in &saved.batches {
        let slot = batches.get_mut(*k).ok_or_else(|| {
            RunError::Resume(format!("it has point set {k}; the problem has fewer"))
        })?;
        *slot = batch.clone();
    }
    if let Some(r) = resampler.borrow_mut().as_mut() {
        r.set_draws(saved.draws);
    }
    if let Some(a) = adaptive {
        a.borrow_mut()
            .restore(&saved.lambdas)
            .map_err(RunError::Resume)?;
    }
    Ok(())
}

/// The kernel compiled for each precision the phases ask for, each compiled when its
/// first phase starts; the point sets they evaluate on.
struct Engines<'k> {
    kernel: &'k Kernel,
    choice: EngineChoice,
    threads: usize,
    compiled: Vec<Box<dyn Engine>>,
    current: usize,
    batches: &'k RefCell<Vec<PointBatch>>,
    /// The terms' weight multipliers once a phase balances them.
    scale: Option<Vec<f64>>,
    team: Option<Arc<dyn Team>>,
    /// θ at the start: where `auto` times its candidates.
    probe: Vec<f64>,
    /// The measured choices `auto` made, one per precision.
    auto: Vec<AutoChoice>,
}

/// How `--backend auto` chose for one precision: every candidate's median
/// milliseconds per evaluation, and the engine it took.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoChoice {
    pub precision: Precision,
    pub timings: Vec<(EngineKind, f64)>,
    pub chosen: EngineKind,
}

impl Engines<'_> {
    /// Compiles the kernel in `precision` and makes it current: on `choice`'s
    /// engine, or for `auto` with a hardware GPU on whichever of GPU and CPU
    /// evaluates faster here (timed at the starting θ; on an MPI team rank 0's
    /// choice, so that all ranks cut their work alike); shared by the team's ranks.
    fn open(&mut self, precision: Precision) -> Result<(), RunError> {
        let mut candidates =
            backend::candidates(self.choice, self.kernel, precision, self.threads)?;
        let (mut pick, ms) = backend::fastest(&candidates, &self.probe, &self.batches.borrow())?;
        if !ms.is_empty() {
            if let Some(team) = &self.team {
                pick = team.broadcast(pick as u64) as usize;
            }
            let kinds: Vec<EngineKind> = candidates.iter().map(|e| e.facts().kind).collect();
            self.auto.push(AutoChoice {
                precision,
                timings: kinds.iter().copied().zip(ms).collect(),
                chosen: kinds[pick],
            });
        }
        let engine = candidates.swap_remove(pick);
        self.compiled
            .push(backend::on_team(engine, self.team.as_ref())?);
        self.current = self.compiled.len() - 1;
        Ok(())
    }
}

impl Evaluator for Engines<'_> {
    fn evaluate(&mut self, theta: &[f64]) -> Result<Evaluation, KernelError> {
        let scale = self.scale.as_deref();
        self.compiled[self.current].eval_scaled(theta, &self.batches.borrow(), scale)
    }

    fn set_scale(&mut self, scale: &[f64]) -> Result<(), String> {
        self.scale = Some(scale.to_vec());
        Ok(())
    }

    fn term_gradients(&mut self, theta: &[f64]) -> Result<Vec<Vec<f64>>, KernelError> {
        let n = self.kernel.terms.len();
        let engine = &self.compiled[self.current];
        (0..n)
            .map(|t| {
                let one_hot = Kernel::one_term(n, t);
                Ok(engine
                    .eval_scaled(theta, &self.batches.borrow(), Some(&one_hot))?
                    .grad)
            })
            .collect()
    }

    fn device_adam(&mut self) -> Option<super::device::DeviceRun<'_>> {
        Some(super::device::DeviceRun {
            engine: self.compiled.get(self.current)?.device_adam()?,
            kernel: self.kernel,
            batches: self.batches.borrow(),
            scale: self.scale.as_deref(),
        })
    }

    fn device_matrix(&mut self, n: usize) -> Option<crate::backend::MatrixOffer> {
        self.compiled.get(self.current)?.device_matrix(n)
    }

    fn ntk_diagonals(&mut self, theta: &[f64]) -> Result<Vec<f64>, KernelError> {
        let engine = self.compiled[self.current].as_ref();
        super::ntk::diagonals(engine, self.kernel, &self.batches.borrow(), theta)
    }

    fn use_precision(&mut self, precision: Precision) -> Result<(), String> {
        if let Some(k) = self
            .compiled
            .iter()
            .position(|e| e.facts().precision == precision)
        {
            self.current = k;
            return Ok(());
        }
        self.open(precision)
            .map_err(|e| format!("compiling the {} kernel failed: {e}", precision.name()))
    }
}

/// The quantity each reference column measures: a field by name (under a
/// discrete-time scheme, its value at the end time), or the mapped expression.
fn reference_exprs(problem: &Problem, dataset: usize) -> Vec<(String, Expr)> {
    let mut out = Vec::new();
    for f in &problem.datasets[dataset].fields {
        let parts: Vec<&crate::problem::Field> = problem
            .fields
            .iter()
            .filter(|x| {
                x.name == f.field || x.complex_of.as_ref().is_some_and(|(c, _)| *c == f.field)
            })
            .collect();
        if parts.len() == f.value.len() {
            out.extend(parts.iter().map(|p| (p.name.clone(), p.value.clone())));
        } else {
            out.extend(f.value.iter().map(|v| (f.field.clone(), v.clone())));
        }
    }
    out
}

/// The reference solution, ready to measure any θ against: its points (under a
/// scheme, those at the end time), the compiled predictor of every reference column,
/// and which fields are known only up to a function.
pub struct Reference {
    obs: Observations,
    named: Vec<(String, Expr)>,
    predictor: Predictor,
    /// Per reference column: the coordinates of the function the field is known up to.
    up_to: Vec<Option<Vec<usize>>>,
    /// The column pairs that are a complex field's parts, with its name (`|h|`).
    moduli: Vec<(String, usize)>,
    coord_names: Vec<String>,
    /// Threads the predictions are split over.
    threads: usize,
}

impl Reference {
    pub fn new(
        problem: &Problem,
        obs: &Observations,
        dataset: usize,
        threads: usize,
    ) -> Result<Self, KernelError> {
        let obs = match &problem.scheme {
            Some(s) => {
                let times = &obs.coords[s.coord.0];
                let nearest = times
                    .iter()
                    .map(|t| (t - s.to).abs())
                    .fold(f64::INFINITY, f64::min);
                let idx: Vec<usize> = (0..obs.len())
                    .filter(|&i| (times[i] - s.to).abs() <= nearest + 1e-12)
                    .collect();
                obs.select(&idx)
            }
            None => obs.clone(),
        };
        let named = reference_exprs(problem, dataset);
        let exprs: Vec<Expr> = named.iter().map(|(_, e)| e.clone()).collect();
        let up_to = named.iter().map(|(_, e)| free_coords(problem, e)).collect();
        let mut moduli = Vec::new();
        let mut col = 0;
        for f in &problem.datasets[dataset].fields {
            if f.value.len() == 2 {
                moduli.push((format!("|{}|", f.field), col));
            }
            col += f.value.len();
        }
        Ok(Reference {
            predictor: Predictor::new(problem, &exprs)?,
            obs,
            named,
            up_to,
            moduli,
            coord_names: problem.coords.iter().map(|c| c.name.clone()).collect(),
            threads,
        })
    }

    /// The names [`Reference::errors`] reports, in its order.
    pub fn names(&self) -> Vec<String> {
        let fields = self.named.iter().map(|(n, _)| n.clone());
        fields
            .chain(self.moduli.iter().map(|(n, _)| n.clone()))
            .collect()
    }

    /// The errors per field at θ and the predicted columns they were measured on
    /// (matched in mean where a field is known only up to a function). The
    /// predictions' table is built only when asked for ([`Reference::measure`]): the
    /// errors during training need none of it.
    fn predict(&self, theta: &[f64]) -> Result<(Vec<FieldError>, Vec<Vec<f64>>), KernelError> {
        let obs = &self.obs;
        let mut predicted = self
            .predictor
            .eval_threaded(theta, &obs.coords, &[], self.threads)?;
        let mut errors = vec![];
        for (((name, _), p), (r, up_to)) in self
            .named
            .iter()
            .zip(&mut predicted)
            .zip(obs.columns.iter().zip(&self.up_to))
        {
            if let Some(free) = up_to {
                match_means(p, r, &obs.coords, free);
            }
            errors.push(FieldError {
                up_to: up_to
                    .as_ref()
                    .map(|free| free.iter().map(|&c| self.coord_names[c].clone()).collect()),
                ..error(name, p, r)
            });
        }
        for (name, col) in &self.moduli {
            let modulus = |a: &[f64], b: &[f64]| -> Vec<f64> {
                a.iter().zip(b).map(|(x, y)| x.hypot(*y)).collect()
            };
            let p = modulus(&predicted[*col], &predicted[col + 1]);
            let r = modulus(&obs.columns[*col], &obs.columns[col + 1]);
            errors.push(error(name, &p, &r));
        }
        Ok((errors, predicted))
    }

    /// Errors per field (and |h| for a complex field) at θ.
    pub fn errors(&self, theta: &[f64]) -> Result<Vec<FieldError>, KernelError> {
        Ok(self.predict(theta)?.0)
    }

    /// Errors per field and the predictions they were measured on.
    pub fn measure(&self, theta: &[f64]) -> Result<(Vec<FieldError>, Predictions), KernelError> {
        let (errors, predicted) = self.predict(theta)?;
        let obs = &self.obs;
        let mut columns = self.coord_names.clone();
        columns.extend(self.named.iter().map(|(n, _)| n.clone()));
        let mut values = obs.coords.clone();
        values.extend(predicted);
        let predictions = Predictions {
            columns,
            values,
            reference: obs.columns.clone(),
        };
        Ok((errors, predictions))
    }
}

fn error(name: &str, predicted: &[f64], reference: &[f64]) -> FieldError {
    let diff: f64 = predicted
        .iter()
        .zip(reference)
        .map(|(p, r)| (p - r).powi(2))
        .sum();
    let norm: f64 = reference.iter().map(|r| r * r).sum();
    let max_abs = predicted
        .iter()
        .zip(reference)
        .map(|(p, r)| (p - r).abs())
        .fold(0.0, f64::max);
    FieldError {
        name: name.to_string(),
        rel_l2: (diff / norm).sqrt(),
        max_abs,
        up_to: None,
    }
}

/// The coordinates of the function a field is determined up to, when the field
/// is a network output that every residual reads differentiated: the largest set S
/// such that each derivative read differentiates along some coordinate outside S,
/// so that adding any c(S) leaves the loss unchanged. Navier–Stokes' pressure
/// enters only as p_x and p_y, and its stream function through derivatives in x or
/// y: both are known up to c(t). `None` when some residual reads the field itself
/// (a data term, a boundary value).
fn free_coords(problem: &Problem, value: &Expr) -> Option<Vec<usize>> {
    let Expr::Out { output, deriv, .. } = value else {
        return None;
    };
    if deriv.iter().any(|&k| k > 0) {
        return None;
    }
    let residuals = problem.terms.iter().flat_map(|t| &t.residuals);
    let seen: Vec<_> = residuals
        .chain(&problem.shared)
        .flat_map(crate::sym::derivatives)
        .filter(|(o, _, _)| o == output)
        .map(|(_, d, _)| d)
        .collect();
    if seen.is_empty() {
        return None;
    }
    let n = problem.coords.len();
    let annihilated = |s: u32| {
        seen.iter()
            .all(|d| (0..n).any(|c| d[c] > 0 && s & (1 << c) == 0))
    };
    let best = (0..1u32 << n)
        .filter(|&s| annihilated(s))
        .max_by_key(|s| (s.count_ones(), std::cmp::Reverse(*s)))?;
    Some((0..n).filter(|&c| best & (1 << c) != 0).collect())
}

/// Shifts `predicted` so that over each group of points with equal `free`
/// coordinates its mean is the reference's (Raissi et al. compare their recovered
/// pressure the same way, snapshot by snapshot).
fn match_means(predicted: &mut [f64], reference: &[f64], coords: &[Vec<f64>], free: &[usize]) {
    let key = |k: usize| -> Vec<u64> { free.iter().map(|&c| coords[c][k].to_bits()).collect() };
    let mut groups: HashMap<Vec<u64>, (f64, f64, f64)> = HashMap::new();
    for (k, (p, r)) in predicted.iter().zip(reference).enumerate() {
        let g = groups.entry(key(k)).or_default();
        *g = (g.0 + p, g.1 + r, g.2 + 1.0);
    }
    for (k, p) in predicted.iter_mut().enumerate() {
        let (sp, sr, n) = groups[&key(k)];
        *p += (sr - sp) / n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Problem {
        crate::backend::tests::problems_in("examples")
            .into_iter()
            .find(|(n, _)| n == name)
            .expect("an example")
            .1
    }

    fn field<'a>(p: &'a Problem, name: &str) -> &'a Expr {
        &p.fields
            .iter()
            .find(|f| f.name == name)
            .expect("a field")
            .value
    }

    /// Navier–Stokes' pressure and stream function enter the loss only through
    /// derivatives in x or y: each is known up to a function of t. Burgers' u is
    /// read itself (initial and boundary values), so it is known.
    #[test]
    fn the_joint_error_stacks_every_field() {
        // u is off by 3 where it is 4, v is exact and 0: ‖(3, 0)‖ / ‖(4, 0)‖.
        let p = Predictions {
            columns: vec!["x".into(), "u".into(), "v".into()],
            values: vec![vec![0.0], vec![7.0], vec![0.0]],
            reference: vec![vec![4.0], vec![0.0]],
        };
        assert!((p.joint_rel_l2() - 0.75).abs() < 1e-15);
        // Two fields of different sizes: (1, 0; 0, 1) against (1, 0; 10, 0).
        let p = Predictions {
            columns: vec!["x".into(), "u".into(), "v".into()],
            values: vec![vec![0.0, 1.0], vec![1.0, 0.0], vec![0.0, 1.0]],
            reference: vec![vec![1.0, 0.0], vec![10.0, 0.0]],
        };
        let want = ((100.0f64 + 1.0) / 101.0).sqrt();
        assert!((p.joint_rel_l2() - want).abs() < 1e-15);
    }

    #[test]
    fn fields_seen_only_differentiated_are_known_up_to_a_function() {
        let ns = example("navier_stokes");
        let t = ns.coords.iter().position(|c| c.name == "t").expect("t");
        assert_eq!(free_coords(&ns, field(&ns, "p")), Some(vec![t]));
        assert_eq!(free_coords(&ns, field(&ns, "ψ")), Some(vec![t]));
        let burgers = example("burgers");
        assert_eq!(free_coords(&burgers, field(&burgers, "u")), None);
    }

    #[test]
    fn means_are_matched_per_group() {
        // Two snapshots t = 0 and t = 1; the prediction is off by 5 and by -2.
        let coords = vec![vec![0.0, 1.0, 0.0, 1.0], vec![0.0, 0.0, 1.0, 1.0]];
        let reference = [1.0, 2.0, 3.0, 4.0];
        let mut predicted = [6.0, 7.0, 1.0, 2.0];
        match_means(&mut predicted, &reference, &coords, &[1]);
        assert_eq!(predicted, reference);
    }
}
