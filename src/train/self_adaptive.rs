//! Self-adaptive weights (`adam(…, self_adaptive = η)`; McClenny & Braga-Neto 2023):
//! a weight λᵢ per point of every weighted set, the point's squared residuals entering
//! the loss as λᵢ² rᵢ². θ descends the loss; the λ climb it, so a point that stays
//! wrong gains weight until the network fits it. The ascent is Adam's (the authors'
//! code trains the weights with Adam too), on ∂L/∂λᵢ = 2 λᵢ rᵢ² / N for a mean term.
//!
//! The kernel gives the loss's gradient in θ, not the residual of each point, so every
//! `self_adaptive_every` steps the residuals are evaluated by the f64 interpreter (as
//! for RAD and causal weights) and the λ take one ascent step; the kernel reads λ² from
//! the set's weight column. A redrawn set (RAD) starts again from λ = 1.

use super::resample::SetResiduals;
use crate::kernel::{KernelError, PointBatch};
use crate::problem::{Problem, Reduce};
use crate::train::optim::{Abort, Adam, AdamConfig, Optimizer};
use crate::train::snapshot::LambdaState;

/// The weights of every weighted set and their ascent's state.
pub struct SelfAdaptiveWeights {
    sets: Vec<SetWeights>,
}

/// One set's weights and what evaluates its residuals.
struct SetWeights {
    set: usize,
    residuals: SetResiduals,
    /// Whether the set's terms are means (∂L/∂λ carries 1/N) rather than sums.
    mean: bool,
    lambda: Lambdas,
}

/// Weights λ with the state of their ascent: the project's Adam (PyTorch's defaults
/// besides the rate) descending −∂L/∂λ, made at the first step and made afresh when
/// a phase asks for another rate.
struct Lambdas {
    lambda: Vec<f64>,
    adam: Option<(f64, Adam)>,
}

impl Lambdas {
    fn ones(n: usize) -> Self {
        Lambdas {
            lambda: vec![1.0; n],
            adam: None,
        }
    }

    /// One ascent step of rate `lr` on ∂L/∂λᵢ = 2 λᵢ r2ᵢ · per_point.
    fn climb(&mut self, r2: &[f64], per_point: f64, lr: f64) -> Result<(), Abort> {
        let descent: Vec<f64> = (self.lambda.iter().zip(r2))
            .map(|(l, r2)| -2.0 * l * r2 * per_point)
            .collect();
        let n = self.lambda.len();
        let adam = match &mut self.adam {
            Some((rate, adam)) if *rate == lr => adam,
            slot => {
                let config = AdamConfig {
                    lr,
                    ..AdamConfig::default()
                };
                &mut slot.insert((lr, Adam::new(n, config))).1
            }
        };
        adam.update(&mut self.lambda, &descent)
    }

    /// The weights the kernel reads: λ².
    fn weights(&self) -> Vec<f64> {
        self.lambda.iter().map(|l| l * l).collect()
    }
}

impl SelfAdaptiveWeights {
    /// λ = 1 at each of the `batches`' points of the problem's weighted sets.
    pub fn new(
        problem: &Problem,
        batches: &[PointBatch],
        threads: usize,
    ) -> Result<Self, KernelError> {
        let sets = problem
            .self_adaptive
            .iter()
            .map(|&set| {
                Ok(SetWeights {
                    set,
                    residuals: SetResiduals::new(problem, set, threads)?,
                    mean: problem
                        .terms
                        .iter()
                        .any(|t| t.points == set && t.reduce == Reduce::Mean),
                    lambda: Lambdas::ones(batches[set].len()),
                })
            })
            .collect::<Result<_, KernelError>>()?;
        Ok(SelfAdaptiveWeights { sets })
    }

    /// Each weighted set's λ and ascent, for a snapshot.
    pub fn state(&self) -> Vec<LambdaState> {
        let one = |w: &SetWeights| LambdaState {
            lambda: w.lambda.lambda.clone(),
            ascent: w.lambda.adam.as_ref().map(|(lr, adam)| (*lr, adam.save())),
        };
        self.sets.iter().map(one).collect()
    }

    /// Puts back what [`SelfAdaptiveWeights::state`] gave, for the same problem.
    pub fn restore(&mut self, state: &[LambdaState]) -> Result<(), String> {
        if state.len() != self.sets.len() {
            return Err(format!(
                "{} self-adaptive sets where the problem has {}",
                state.len(),
                self.sets.len()
            ));
        }
        for (w, s) in self.sets.iter_mut().zip(state) {
            let n = s.lambda.len();
            w.lambda.lambda.clone_from(&s.lambda);
            w.lambda.adam = match &s.ascent {
                None => None,
                Some((lr, saved)) => {
                    let config = AdamConfig {
                        lr: *lr,
                        ..AdamConfig::default()
                    };
                    let mut adam = Adam::new(n, config);
                    adam.restore(saved).map_err(|e| e.to_string())?;
                    Some((*lr, adam))
                }
            };
        }
        Ok(())
    }

    /// Back to λ = 1 on `set` (its points were redrawn) with fresh moments and bias
    /// correction.
    pub fn reset(&mut self, set: usize) {
        for w in self.sets.iter_mut().filter(|w| w.set == set) {
            w.lambda = Lambdas::ones(w.lambda.lambda.len());
        }
    }

    /// One ascent step of rate `lr` from the residuals at θ; writes λ² into each set's
    /// weight column and gives each set's mean weight.
    pub fn ascend(
        &mut self,
        theta: &[f64],
        batches: &mut [PointBatch],
        lr: f64,
    ) -> Result<Vec<f64>, String> {
        let mut means = Vec::with_capacity(self.sets.len());
        for w in &mut self.sets {
            let batch = &mut batches[w.set];
            let r2 = w
                .residuals
                .squares(theta, &batch.coords, true)
                .map_err(|e| e.to_string())?;
            let per_point = if w.mean { 1.0 / r2.len() as f64 } else { 1.0 };
            w.lambda
                .climb(&r2, per_point, lr)
                .map_err(|e| e.to_string())?;
            let weights = w.lambda.weights();
            means.push(weights.iter().sum::<f64>() / weights.len().max(1) as f64);
            batch.weights = Some(weights);
        }
        Ok(means)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Planted residuals: a point with none keeps λ = 1; the others climb by lr on the
    /// first step (Adam's first step is ±lr), and keep climbing by about lr a step while
    /// their residual holds. A point whose residual falls to nothing climbs less and less.
    #[test]
    fn weights_climb_where_residuals_stay() {
        let mut l = Lambdas::ones(3);
        let lr = 0.01;
        l.climb(&[0.0, 1e-2, 1.0], 1.0, lr).expect("finite");
        assert_eq!(l.lambda[0], 1.0);
        for &x in &l.lambda[1..] {
            assert!((x - (1.0 + lr)).abs() < 1e-6 * lr, "{x}");
        }
        let mut r2 = [0.0, 1e-2, 1.0];
        for _ in 2..=100 {
            r2[1] *= 0.5;
            l.climb(&r2, 1.0, lr).expect("finite");
        }
        let [zero, fitted, wrong] = [l.lambda[0], l.lambda[1], l.lambda[2]];
        assert_eq!(zero, 1.0);
        // At least lr a step; a little more, as its gradient 2λr² grows with λ.
        assert!(
            wrong > 1.0 + 100.0 * lr && wrong < 1.0 + 150.0 * lr,
            "{wrong}"
        );
        assert!(fitted < 1.0 + 0.5 * (wrong - 1.0), "{fitted} vs {wrong}");
        assert_eq!(l.weights()[2], wrong * wrong);
    }

    /// Allen–Cahn in continuous time with `self_adaptive`: the equation and the initial
    /// condition are weighted, the periodic matching (two sites, which the residual
    /// evaluator cannot read) is not; one ascent step writes a weight column on each
    /// weighted set; a reset set starts its ascent over.
    #[test]
    fn periodic_matching_keeps_weight_one() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("examples/allen_cahn_continuous.pde"))
            .expect("the example");
        let text: String = text
            .lines()
            .map(|l| match l.starts_with("train") {
                true => "train adam(lr = 1e-3, epochs = 10, self_adaptive = 5e-3)",
                false => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let opts = crate::check::Options {
            name: "ac".into(),
            data_dirs: vec![root.join("examples/data")],
            ..crate::check::Options::default()
        };
        let p = crate::pipeline::front_end(&text, &opts)
            .expect("checks")
            .problem;
        let named = |k: &usize| p.point_sets[*k].name.clone();
        let sets: Vec<String> = p.self_adaptive.iter().map(named).collect();
        assert!(sets.iter().any(|s| s.starts_with("initial")), "{sets:?}");
        assert!(sets.iter().all(|s| !s.contains("periodic")), "{sets:?}");
        let periodic = (0..p.point_sets.len()).find(|&k| !p.point_sets[k].sites.is_empty());
        assert!(periodic.is_some_and(|k| !p.self_adaptive.contains(&k)));
        let mut batches: Vec<PointBatch> = crate::train::points::sample(&p, &[], 1)
            .into_iter()
            .map(|b| b.pick(&(0..b.len().min(50)).collect::<Vec<_>>()))
            .collect();
        let mut sa = SelfAdaptiveWeights::new(&p, &batches, 1).expect("compiles");
        let theta = crate::net::init_theta(&p, 1);
        sa.ascend(&theta, &mut batches, 5e-3).expect("evaluates");
        for &k in &p.self_adaptive {
            assert!(batches[k]
                .weights
                .as_ref()
                .is_some_and(|w| w.len() == batches[k].len()));
        }
        // A reset set starts over, bias correction included: its next step is at most lr
        // (a step count kept from before would give up to 3.2 lr).
        let first = p.self_adaptive[0];
        sa.ascend(&theta, &mut batches, 5e-3).expect("evaluates");
        sa.reset(first);
        sa.ascend(&theta, &mut batches, 5e-3).expect("evaluates");
        let w = batches[first].weights.as_ref().expect("a weight column");
        let top = (1.0 + 5e-3f64).powi(2);
        assert!(w.iter().all(|&x| x <= top + 1e-12), "{w:?}");
        assert!(w.iter().any(|&x| x > 1.0 + 5e-3), "{w:?}");
    }
}
