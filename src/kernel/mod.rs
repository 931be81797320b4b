//! The fused training kernel: one SSA program per point set computing the loss terms
//! and ∂(total loss)/∂θ, its passes, and the interpreter that is every back end's oracle.
//!
//! Pipeline ([`compile`]): lower the residuals with the network's jets (`lower`,
//! `jets`) → optimize (DCE + CSE + folding) → reverse-mode AD (`ad`) → optimize →
//! validate. The host side of a loss evaluation lives in [`Kernel::eval`]: it checks
//! the batches, seeds the reverse pass (`TermSeed`) and assembles
//! total = Σ_terms weight · reduce(Σ r²).
//!
//! Invariants: nothing here parses or reads files; the kernel never sees the AST or
//! egg; θ's layout is `net::Layout`'s and nobody else's.

pub(crate) mod ad;
pub(crate) mod builder;
pub mod gradcheck;
pub mod interp;
pub(crate) mod ir;
pub(crate) mod jets;
pub(crate) mod lower;
pub(crate) mod passes;
pub(crate) mod print;
#[cfg(test)]
pub(crate) mod tests;

use miette::Diagnostic;
use thiserror::Error;

use crate::expr::Expr;
use crate::net::Layout;
use crate::primitive::{self, Rules};
use crate::problem::{Problem, Reduce};
use interp::{Inputs, Real, Sums};
use ir::Program;
use passes::Info;

#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
pub enum KernelError {
    /// The problem asks for something the kernel cannot compile.
    #[error("cannot compile the kernel: {0}")]
    #[diagnostic(
        code(pdenet::kernel::unsupported),
        help("`pdenet kernels FILE --emit residual` shows what the kernel is asked to compute")
    )]
    Unsupported(String),
    /// The points handed to an evaluation do not fit the problem.
    #[error("bad point batch: {0}")]
    #[diagnostic(
        code(pdenet::kernel::batch),
        help("every point set needs one column per coordinate and per data column")
    )]
    Batch(String),
    /// The device running the kernel failed (GPU back end).
    #[error("the device failed: {0}")]
    #[diagnostic(
        code(pdenet::kernel::device),
        help("run again with `--backend cpu` to train on the CPU")
    )]
    Device(String),
    /// A compiler bug: an invalid program was produced.
    #[error("internal kernel error (a bug): {0}")]
    #[diagnostic(
        code(pdenet::kernel::internal),
        help("please report it with the .pde file; `--interp` runs the reference interpreter")
    )]
    Internal(String),
}

/// One point set's program with its validation info.
#[derive(Debug, Clone, PartialEq)]
pub struct SetProgram {
    pub program: Program,
    pub info: Info,
}

/// What a loss evaluation needs to know about a term.
#[derive(Debug, Clone, PartialEq)]
pub struct TermInfo {
    pub name: String,
    pub points: usize,
    pub weight: f64,
    pub reduce: Reduce,
}

/// The compiled loss-and-gradient kernel of a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// One program per point set, in `Problem::point_sets` order.
    pub programs: Vec<SetProgram>,
    pub terms: Vec<TermInfo>,
    pub layout: Layout,
}

/// Points of one point set, structure of arrays.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointBatch {
    /// One column per problem coordinate (all of them, in `Problem::coords` order).
    pub coords: Vec<Vec<f64>>,
    /// The data columns the set's residuals read (`Expr::Data(k)` is column k).
    pub data: Vec<Vec<f64>>,
    /// A weight per point: the quadrature weights of integral terms, or the causal
    /// weights of the equations' points (`Problem::causal`).
    pub weights: Option<Vec<f64>>,
}

impl PointBatch {
    pub fn len(&self) -> usize {
        self.coords.first().map_or(0, Vec::len)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points at `idx`, in that order, with their data and weights.
    pub fn pick(&self, idx: &[usize]) -> PointBatch {
        let take = |c: &Vec<f64>| idx.iter().map(|&i| c[i]).collect::<Vec<f64>>();
        PointBatch {
            coords: self.coords.iter().map(take).collect(),
            data: self.data.iter().map(take).collect(),
            weights: self.weights.as_ref().map(take),
        }
    }
}

/// The loss and its gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Σ_terms weight · terms[t].
    pub total: f64,
    /// Each term reduced but unweighted: mean or sum of r², or (Σ w·r − target)².
    pub terms: Vec<f64>,
    /// ∂total/∂θ in θ's layout (positive params: with respect to the stored log).
    pub grad: Vec<f64>,
}

/// Compiles the kernel of `problem`.
pub fn compile(problem: &Problem) -> Result<Kernel, KernelError> {
    compile_with(problem, primitive::prime)
}

/// [`compile`] with the jets reading `rules`: a test passes a wrong one.
pub(crate) fn compile_with(problem: &Problem, rules: Rules) -> Result<Kernel, KernelError> {
    let layout = Layout::of(problem);
    let mut programs = vec![];
    for set in 0..problem.point_sets.len() {
        let fwd = lower::forward_program(problem, &layout, set, rules)?;
        let fwd = passes::optimize(&fwd).map_err(KernelError::Internal)?;
        let full = ad::differentiate(&fwd)?;
        let program = passes::optimize(&full).map_err(KernelError::Internal)?;
        let info = passes::validate(&program).map_err(KernelError::Internal)?;
        programs.push(SetProgram { program, info });
    }
    let terms = problem
        .terms
        .iter()
        .map(|t| TermInfo {
            name: t.name.clone(),
            points: t.points,
            weight: t.weight,
            reduce: t.reduce,
        })
        .collect();
    Ok(Kernel {
        programs,
        terms,
        layout,
    })
}

impl Kernel {
    /// Loss per term, total and gradient in f64.
    pub fn eval(&self, theta: &[f64], batches: &[PointBatch]) -> Result<Evaluation, KernelError> {
        self.eval_as::<f64>(theta, batches)
    }

    /// The same in precision `F` (sums still in f64).
    pub fn eval_as<F: Real>(
        &self,
        theta: &[f64],
        batches: &[PointBatch],
    ) -> Result<Evaluation, KernelError> {
        self.eval_with(theta, batches, None, |seeds, forward_only| {
            Ok(self.pass_as::<F>(theta, seeds, batches, forward_only))
        })
    }

    /// One interpreted pass over every point set in precision `F`: the sums that
    /// [`Kernel::eval_with`]'s `run` returns (the interpreter engine's).
    pub fn pass_as<F: Real>(
        &self,
        theta: &[f64],
        seeds: &[f64],
        batches: &[PointBatch],
        forward_only: bool,
    ) -> Sums {
        let theta_f: Vec<F> = theta.iter().map(|&x| F::from_f64(x)).collect();
        let seeds_f: Vec<F> = seeds.iter().map(|&s| F::from_f64(s)).collect();
        let mut sums = self.sums(if forward_only { 0 } else { theta.len() });
        self.run_all(&theta_f, &seeds_f, batches, forward_only, &mut sums);
        sums
    }

    /// The host side of a loss evaluation, shared by every engine (see
    /// `backend::Engine::eval`): checks the batches, runs the forward pass first
    /// where integral terms need their sums, seeds the reverse pass and assembles
    /// the terms and the total. `run(seeds, forward_only)` runs every point set's
    /// program (`ops[..backward_start]` when `forward_only`) and returns the
    /// per-term sums and, unless `forward_only`, the gradient (θ's length): an
    /// engine's partial sums, combined in their fixed order.
    ///
    /// `scale`, when given, multiplies each term's weight (adaptive loss weights; a
    /// one-hot scale makes the gradient that of one weighted term).
    pub fn eval_with(
        &self,
        theta: &[f64],
        batches: &[PointBatch],
        scale: Option<&[f64]>,
        mut run: impl FnMut(&[f64], bool) -> Result<Sums, KernelError>,
    ) -> Result<Evaluation, KernelError> {
        self.check(theta, batches)?;
        // Integral terms need their sums before the reverse pass can be seeded.
        let integral = self
            .terms
            .iter()
            .any(|t| matches!(t.reduce, Reduce::Integral { .. }));
        let mut sums = if integral {
            Some(run(&vec![0.0; self.terms.len()], true)?.terms)
        } else {
            None
        };
        let seeds = self.seeds(batches, scale, sums.as_deref());
        let out = run(&seeds, false)?;
        let sums = sums.get_or_insert(out.terms);
        let (terms, total) = self.terms_and_total(batches, scale, sums);
        Ok(Evaluation {
            total,
            terms,
            grad: out.grad,
        })
    }

    /// Each term's points.
    fn counts(&self, batches: &[PointBatch]) -> Vec<usize> {
        self.terms.iter().map(|t| batches[t.points].len()).collect()
    }

    /// The reverse pass's seeds, ∂total/∂(sum of each term), each weight times
    /// `scale[t]` when given; an integral term's needs its forward `sums`.
    pub fn seeds(
        &self,
        batches: &[PointBatch],
        scale: Option<&[f64]>,
        sums: Option<&[f64]>,
    ) -> Vec<f64> {
        let counts = self.counts(batches);
        (0..self.terms.len())
            .map(|t| {
                let seed = self.seed(t, counts[t], sums.map(|s| s[t]));
                scale.map_or(seed, |s| seed * s[t])
            })
            .collect()
    }

    /// Each term's value from its sum over its points, and the weighted total
    /// (each weight times `scale[t]` when given).
    pub fn terms_and_total(
        &self,
        batches: &[PointBatch],
        scale: Option<&[f64]>,
        sums: &[f64],
    ) -> (Vec<f64>, f64) {
        let counts = self.counts(batches);
        let terms: Vec<f64> = (0..self.terms.len())
            .map(|t| self.reduce(t, counts[t], sums[t]))
            .collect();
        let total = (terms.iter().zip(&self.terms).enumerate())
            .map(|(k, (v, t))| scale.map_or(v * t.weight, |s| v * t.weight * s[k]))
            .sum();
        (terms, total)
    }

    /// The scale for [`Kernel::eval_with`] that keeps only term `t` of `n`: the
    /// gradient of that one weighted term.
    pub fn one_term(n: usize, t: usize) -> Vec<f64> {
        (0..n).map(|k| f64::from(u8::from(k == t))).collect()
    }

    fn sums(&self, theta_len: usize) -> Sums {
        Sums {
            terms: vec![0.0; self.terms.len()],
            grad: vec![0.0; theta_len],
            stores: vec![],
        }
    }

    fn run_all<F: Real>(
        &self,
        theta: &[F],
        seeds: &[F],
        batches: &[PointBatch],
        forward_only: bool,
        sums: &mut Sums,
    ) {
        for (set, batch) in self.programs.iter().zip(batches) {
            let p = &set.program;
            let end = if forward_only {
                p.backward_start
            } else {
                p.ops.len()
            };
            let inputs = Inputs {
                coords: &batch.coords,
                data: &batch.data,
                weights: batch.weights.as_deref(),
                points: 0..batch.len(),
            };
            interp::run(p, &set.info, theta, seeds, &inputs, end, sums);
        }
    }

    /// ∂total/∂(sum of term t).
    fn seed(&self, t: usize, count: usize, sum: Option<f64>) -> f64 {
        let term = &self.terms[t];
        match term.reduce {
            Reduce::Mean if count == 0 => 0.0,
            Reduce::Mean => term.weight / count as f64,
            Reduce::Sum => term.weight,
            Reduce::Integral { target } => 2.0 * term.weight * (sum.unwrap_or(0.0) - target),
        }
    }

    fn reduce(&self, t: usize, count: usize, sum: f64) -> f64 {
        match self.terms[t].reduce {
            Reduce::Mean if count == 0 => 0.0,
            Reduce::Mean => sum / count as f64,
            Reduce::Sum => sum,
            Reduce::Integral { target } => (sum - target).powi(2),
        }
    }

    /// Every batch fits its program: all coordinates, the data columns it reads,
    /// weights where integral terms need them, equal lengths.
    fn check(&self, theta: &[f64], batches: &[PointBatch]) -> Result<(), KernelError> {
        let bad = |m: String| Err(KernelError::Batch(m));
        if theta.len() != self.layout.len {
            return bad(format!(
                "θ has {} entries, the problem needs {}",
                theta.len(),
                self.layout.len
            ));
        }
        if batches.len() != self.programs.len() {
            return bad(format!(
                "{} batches for {} point sets",
                batches.len(),
                self.programs.len()
            ));
        }
        for (s, (set, batch)) in self.programs.iter().zip(batches).enumerate() {
            let p = &set.program;
            let n = batch.len();
            if batch.coords.len() != p.n_coords as usize {
                return bad(format!(
                    "point set {s}: {} coordinate columns, expected {}",
                    batch.coords.len(),
                    p.n_coords
                ));
            }
            if batch.data.len() < p.n_data as usize {
                return bad(format!(
                    "point set {s}: {} data columns, expected {}",
                    batch.data.len(),
                    p.n_data
                ));
            }
            let columns = batch
                .coords
                .iter()
                .chain(&batch.data)
                .chain(batch.weights.iter());
            if columns.into_iter().any(|c| c.len() != n) {
                return bad(format!("point set {s}: columns of different lengths"));
            }
            let needs_weights = p
                .ops
                .iter()
                .any(|op| matches!(op, ir::Op::Weight | ir::Op::AccumWeighted { .. }));
            if needs_weights && batch.weights.is_none() {
                return bad(format!(
                    "point set {s} needs a weight per point (an integral term's quadrature, or causal or self-adaptive weights)"
                ));
            }
        }
        Ok(())
    }

    /// The printable IR of every point set (`pdenet kernels --emit ir`).
    pub fn emit_ir(&self, problem: &Problem) -> String {
        let mut out = String::new();
        for (s, set) in self.programs.iter().enumerate() {
            let ps = &problem.point_sets[s];
            // A count of 0 means "every grid point", known only once the data is read.
            let points = Some(ps.count).filter(|&n| n > 0);
            let title = format!("point set {s}: {}", ps.name);
            out += &print::program(&set.program, &set.info, &title, points);
            out.push('\n');
        }
        out
    }
}

/// A compiled forward program that evaluates expressions at points.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictor {
    pub set: SetProgram,
    slots: usize,
}

impl Predictor {
    /// Compiles `exprs` (over outputs, their derivatives, coordinates, params and data
    /// columns such as tables'; no extra sites).
    pub fn new(problem: &Problem, exprs: &[Expr]) -> Result<Predictor, KernelError> {
        Predictor::with_rules(problem, exprs, primitive::prime)
    }

    /// [`Predictor::new`] with the jets reading `rules`: a test passes a wrong one.
    pub(crate) fn with_rules(
        problem: &Problem,
        exprs: &[Expr],
        rules: Rules,
    ) -> Result<Predictor, KernelError> {
        let layout = Layout::of(problem);
        let prog = lower::store_program(problem, &layout, exprs, rules)?;
        let program = passes::optimize(&prog).map_err(KernelError::Internal)?;
        let info = passes::validate(&program).map_err(KernelError::Internal)?;
        Ok(Predictor {
            set: SetProgram { program, info },
            slots: exprs.len(),
        })
    }

    /// One column of values per expression, one value per point.
    pub fn eval<F: Real>(
        &self,
        theta: &[f64],
        coords: &[Vec<f64>],
    ) -> Result<Vec<Vec<f64>>, KernelError> {
        let n = self.check_inputs(theta, coords, &[])?;
        let theta_f: Vec<F> = theta.iter().map(|&x| F::from_f64(x)).collect();
        Ok(self.run_points(&theta_f, coords, &[], 0..n))
    }

    /// [`Predictor::eval`] in f64 with the points split over `threads` threads (the
    /// error during training, the residuals of resampling: tens of thousands of
    /// points), with the expressions' data columns. Each point's values are computed
    /// as in one thread.
    pub fn eval_threaded(
        &self,
        theta: &[f64],
        coords: &[Vec<f64>],
        data: &[Vec<f64>],
        threads: usize,
    ) -> Result<Vec<Vec<f64>>, KernelError> {
        let n = self.check_inputs(theta, coords, data)?;
        let per = n.div_ceil(threads.max(1)).max(1);
        let parts: Vec<Vec<Vec<f64>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..n)
                .step_by(per)
                .map(|start| {
                    let points = start..(start + per).min(n);
                    scope.spawn(move || self.run_points(theta, coords, data, points))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join())
                .collect::<Result<_, _>>()
        })
        .map_err(|_| KernelError::Internal("a prediction thread failed".into()))?;
        let mut out = vec![Vec::with_capacity(n); self.slots];
        for part in parts {
            for (column, values) in out.iter_mut().zip(part) {
                column.extend(values);
            }
        }
        Ok(out)
    }

    /// The number of points, after checking the columns and θ.
    fn check_inputs(
        &self,
        theta: &[f64],
        coords: &[Vec<f64>],
        data: &[Vec<f64>],
    ) -> Result<usize, KernelError> {
        let p = &self.set.program;
        let n = coords.first().map_or(0, Vec::len);
        if coords.len() != p.n_coords as usize || coords.iter().any(|c| c.len() != n) {
            return Err(KernelError::Batch(
                "one column per coordinate, all of one length".into(),
            ));
        }
        if data.len() < p.n_data as usize || data.iter().any(|c| c.len() != n) {
            return Err(KernelError::Batch(format!(
                "{} data columns of the points' length, expected {}",
                data.len(),
                p.n_data
            )));
        }
        if theta.len() != p.theta_len as usize {
            return Err(KernelError::Batch(format!(
                "θ has {} entries, expected {}",
                theta.len(),
                p.theta_len
            )));
        }
        Ok(n)
    }

    /// The values at the points `points`, one column per expression.
    fn run_points<F: Real>(
        &self,
        theta: &[F],
        coords: &[Vec<f64>],
        data: &[Vec<f64>],
        points: std::ops::Range<usize>,
    ) -> Vec<Vec<f64>> {
        let p = &self.set.program;
        let mut sums = Sums {
            terms: vec![],
            grad: vec![],
            stores: vec![vec![]; self.slots],
        };
        let inputs = Inputs {
            coords,
            data,
            weights: None,
            points,
        };
        interp::run(
            p,
            &self.set.info,
            theta,
            &[],
            &inputs,
            p.ops.len(),
            &mut sums,
        );
        sums.stores
    }
}

/// Network outputs and their derivatives (`(output, deriv over all coordinates)`) at
/// points, in f64: one column per request.
pub fn predict_outputs(
    problem: &Problem,
    theta: &[f64],
    coords: &[Vec<f64>],
    requests: &[(crate::expr::OutputId, crate::expr::Deriv)],
) -> Result<Vec<Vec<f64>>, KernelError> {
    let exprs: Vec<Expr> = requests
        .iter()
        .map(|(k, d)| Expr::out(*k, d.clone()))
        .collect();
    predict(problem, theta, coords, &exprs)
}

/// Evaluates `exprs` at points in f64 (fields, derivatives: errors and `pdenet eval`).
pub fn predict(
    problem: &Problem,
    theta: &[f64],
    coords: &[Vec<f64>],
    exprs: &[Expr],
) -> Result<Vec<Vec<f64>>, KernelError> {
    Predictor::new(problem, exprs)?.eval::<f64>(theta, coords)
}

impl Kernel {
    /// The total loss and the terms, forward pass only (finite differences, line
    /// searches). Problems with integral terms need their sums, which the forward
    /// pass gives.
    pub fn loss(&self, theta: &[f64], batches: &[PointBatch]) -> Result<f64, KernelError> {
        self.check(theta, batches)?;
        let n_terms = self.terms.len();
        let mut fwd = self.sums(0);
        self.run_all(theta, &vec![0.0; n_terms], batches, true, &mut fwd);
        let total = (0..n_terms)
            .map(|t| {
                self.terms[t].weight
                    * self.reduce(t, batches[self.terms[t].points].len(), fwd.terms[t])
            })
            .sum();
        Ok(total)
    }
}
