//! Residual-based adaptive resampling of the collocation set (RAD; Wu, Zhu, Tan,
//! Kartha & Lu 2023, "A comprehensive study of non-adaptive and residual-based
//! adaptive sampling for physics-informed neural networks"). Every `every` steps a
//! fresh uniform candidate set is drawn, the equations' residuals are evaluated there
//! at the current θ, and the collocation points are drawn from the candidates without
//! replacement with density ∝ |r|^k / mean |r|^k + c, r² the sum of the set's squared
//! residuals. Where the network is wrong (a shock), points gather; c keeps a uniform
//! share everywhere else.
//!
//! Each redraw is seeded from the run's seed and the redraw's number, so a run is
//! reproducible. The residuals are evaluated by the f64 interpreter ([`Predictor`]) on
//! the run's threads: 100 000 candidates of Burgers cost about 1.2 s on one thread.

use crate::expr::Deriv;
use crate::kernel::{KernelError, PointBatch, Predictor};
use crate::problem::{Problem, Resampling};
use crate::table::Table;
use crate::train::points;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The equations' residuals on one point set, compiled for evaluation at any points
/// (RAD's candidates, causal weighting's chunks).
pub struct SetResiduals {
    predictor: Predictor,
    /// The set's tables (`PointSet::tables`), its data columns at any points.
    tables: Vec<(Table, Deriv)>,
    /// Each residual's term weight.
    weights: Vec<f64>,
    /// Threads the residuals are evaluated on.
    threads: usize,
}

impl SetResiduals {
    pub fn new(problem: &Problem, set: usize, threads: usize) -> Result<Self, KernelError> {
        let terms = problem.terms.iter().filter(|t| t.points == set);
        let residuals: Vec<_> = terms
            .clone()
            .flat_map(|t| t.residuals.iter().cloned())
            .collect();
        let tables = problem.point_sets[set].tables.iter();
        Ok(SetResiduals {
            predictor: Predictor::new(problem, &residuals)?,
            tables: tables
                .map(|(t, d)| (problem.tables[*t].clone(), d.clone()))
                .collect(),
            weights: terms
                .flat_map(|t| t.residuals.iter().map(|_| t.weight))
                .collect(),
            threads,
        })
    }

    /// Σ r² over the set's residuals at each point, each weighted by its term's weight
    /// when `weighted`.
    pub fn squares(
        &self,
        theta: &[f64],
        coords: &[Vec<f64>],
        weighted: bool,
    ) -> Result<Vec<f64>, KernelError> {
        // A collocation set's only data columns are its tables'.
        let data = self.columns(coords);
        let residuals = self
            .predictor
            .eval_threaded(theta, coords, &data, self.threads)?;
        let n = coords.first().map_or(0, Vec::len);
        let w = |k: usize| if weighted { self.weights[k] } else { 1.0 };
        Ok((0..n)
            .map(|i| {
                residuals
                    .iter()
                    .enumerate()
                    .map(|(k, r)| w(k) * r[i] * r[i])
                    .sum()
            })
            .collect())
    }
}

impl SetResiduals {
    /// The set's data columns (its tables') at `coords`.
    fn columns(&self, coords: &[Vec<f64>]) -> Vec<Vec<f64>> {
        self.tables
            .iter()
            .map(|(t, d)| t.column(coords, d).unwrap_or_default())
            .collect()
    }
}

/// What redraws the collocation set: the rule and the compiled residuals.
pub struct Resampler {
    rule: Resampling,
    residuals: SetResiduals,
    seed: u64,
    draws: u64,
}

impl Resampler {
    /// The residuals of every term on the rule's point set, compiled for evaluation.
    pub fn new(
        problem: &Problem,
        rule: Resampling,
        seed: u64,
        threads: usize,
    ) -> Result<Self, KernelError> {
        Ok(Resampler {
            rule,
            residuals: SetResiduals::new(problem, rule.set, threads)?,
            seed,
            draws: 0,
        })
    }

    pub fn rule(&self) -> &Resampling {
        &self.rule
    }

    /// Redraws so far; the next one's seed follows from it.
    pub fn draws(&self) -> u64 {
        self.draws
    }

    /// Continues after `draws` redraws (a snapshot's).
    pub fn set_draws(&mut self, draws: u64) {
        self.draws = draws;
    }

    /// A new collocation set for θ, of the size of `current`.
    pub fn redraw(
        &mut self,
        problem: &Problem,
        theta: &[f64],
        current: &PointBatch,
    ) -> Result<PointBatch, KernelError> {
        self.draws += 1;
        let mut rng =
            StdRng::seed_from_u64(self.seed ^ self.draws.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let candidates = points::uniform_interior(problem, self.rule.candidates, &mut rng);
        let r2 = self.residuals.squares(theta, &candidates, false)?;
        let picked = rad_draw(&r2, current.len(), self.rule.k, self.rule.c, &mut rng);
        let coords: Vec<Vec<f64>> = candidates
            .iter()
            .map(|col| picked.iter().map(|&i| col[i]).collect())
            .collect();
        Ok(PointBatch {
            data: self.residuals.columns(&coords),
            coords,
            // A weighted set (causal weights) starts again from 1 at its new points.
            weights: current.weights.as_ref().map(|_| vec![1.0; picked.len()]),
        })
    }
}

/// `n` distinct indices of `r2` (squared residuals), drawn with probability
/// proportional to w = |r|^k / mean |r|^k + c (Efraimidis & Spirakis: the n largest
/// keys u^(1/w), compared as ln u / w). Non-finite residuals count as the largest
/// finite one: such a point needs attention, but must not take all the weight.
pub fn rad_draw(r2: &[f64], n: usize, k: f64, c: f64, rng: &mut StdRng) -> Vec<usize> {
    let largest = r2
        .iter()
        .copied()
        .filter(|r| r.is_finite())
        .fold(0.0, f64::max);
    let power: Vec<f64> = r2
        .iter()
        .map(|&r| if r.is_finite() { r } else { largest }.powf(k / 2.0))
        .collect();
    let mean = power.iter().sum::<f64>() / power.len().max(1) as f64;
    let mut keys: Vec<(f64, usize)> = power
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let w = if mean > 0.0 { p / mean + c } else { 1.0 };
            let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
            (u.ln() / w, i)
        })
        .collect();
    let n = n.min(keys.len());
    if n < keys.len() {
        keys.select_nth_unstable_by(n, |a, b| b.0.total_cmp(&a.0));
    }
    let mut picked: Vec<usize> = keys[..n].iter().map(|&(_, i)| i).collect();
    picked.sort_unstable();
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A planted residual |r| = 1 on the first tenth of the candidates and 0 elsewhere,
    /// k = 1, c = 1: weights 1/0.1 + 1 = 11 there and 1 elsewhere, so with few points
    /// drawn from many candidates (sampling without replacement then barely differs
    /// from sampling with it) the first tenth gets 11/(11 + 9) = 55 % of the points.
    #[test]
    fn rad_density_follows_the_residual() {
        let m = 100_000;
        let r2: Vec<f64> = (0..m).map(|i| if i < m / 10 { 1.0 } else { 0.0 }).collect();
        let mut rng = StdRng::seed_from_u64(7);
        let picked = rad_draw(&r2, 2000, 1.0, 1.0, &mut rng);
        assert_eq!(picked.len(), 2000);
        assert!(
            picked.windows(2).all(|w| w[0] < w[1]),
            "distinct and sorted"
        );
        let share = picked.iter().filter(|&&i| i < m / 10).count() as f64 / 2000.0;
        // Binomial standard deviation √(0.55·0.45/2000) ≈ 0.011: ±4σ.
        assert!((share - 0.55).abs() < 0.045, "share {share}");
        // k = 2 on a residual √i: weight ∝ i / mean + c. With c = 0, the upper half
        // of the range holds 3/4 of the mass.
        let r2: Vec<f64> = (0..m).map(|i| i as f64).collect();
        let picked = rad_draw(&r2, 2000, 2.0, 0.0, &mut rng);
        let upper = picked.iter().filter(|&&i| i >= m / 2).count() as f64 / 2000.0;
        assert!((upper - 0.75).abs() < 0.04, "upper half {upper}");
    }

    #[test]
    fn rad_draws_are_reproducible_and_seeded() {
        let r2: Vec<f64> = (0..5000)
            .map(|i| ((i as f64) * 0.01).sin().powi(2))
            .collect();
        let draw = |seed| rad_draw(&r2, 300, 1.0, 1.0, &mut StdRng::seed_from_u64(seed));
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }

    /// Zero residuals everywhere (or none finite) fall back to a uniform draw rather
    /// than dividing by a zero mean.
    #[test]
    fn rad_without_any_residual_draws_uniformly() {
        let mut rng = StdRng::seed_from_u64(1);
        let picked = rad_draw(&vec![0.0; 1000], 100, 1.0, 0.0, &mut rng);
        assert_eq!(picked.len(), 100);
        let picked = rad_draw(&vec![f64::NAN; 1000], 100, 1.0, 1.0, &mut rng);
        assert_eq!(picked.len(), 100);
    }
}
