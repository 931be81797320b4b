//! Initial values of θ from a seed: the network tensors by their [`Init`], then the PDE
//! parameters from their written values (a positive one as its logarithm).
//!
//! Reproducibility: one `StdRng` seeded with the seed draws every tensor in θ order,
//! so the same seed and network always give the same θ.

use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use super::{tensor_len, Layout};
use crate::problem::{Init, Network, Problem};

/// The seed used when the user gives none.
pub const DEFAULT_SEED: u64 = 1234;

/// Number of trainable numbers in the networks (without PDE parameters).
pub fn param_count(nets: &[Network]) -> usize {
    Layout::of_networks(nets, 0).net_len
}

/// θ for `problem` from `seed` (layout in [`crate::net`]).
pub fn init_theta(problem: &Problem, seed: u64) -> Vec<f64> {
    let layout = Layout::of(problem);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut theta = Vec::with_capacity(layout.len);
    for layer in problem.networks.iter().flat_map(|n| &n.layers) {
        for (i, t) in layer.tensors.iter().enumerate() {
            let n = tensor_len(layer, i);
            let xavier = (2.0 / (layer.inputs + layer.outputs) as f64).sqrt();
            for k in 0..n {
                theta.push(match &t.init {
                    Init::Xavier(gain) => truncated_normal(&mut rng, gain * xavier),
                    Init::Normal(std) => truncated_normal(&mut rng, *std),
                    Init::NormalColumns(std) => truncated_normal(&mut rng, std[k % layer.inputs]),
                    Init::Zeros => 0.0,
                    Init::Constant(c) => *c,
                });
            }
        }
    }
    for p in &problem.params {
        theta.push(if p.positive { p.init.ln() } else { p.init });
    }
    theta
}

/// A normal draw with mean 0 and `std`, redrawn until it lies within two standard
/// deviations (what TensorFlow's `truncated_normal` does).
fn truncated_normal(rng: &mut StdRng, std: f64) -> f64 {
    let Ok(normal) = Normal::new(0.0, std.abs()) else {
        return 0.0;
    };
    if std == 0.0 {
        return 0.0;
    }
    loop {
        let x: f64 = normal.sample(rng);
        if x.abs() <= 2.0 * std.abs() {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::testnets::network;

    #[test]
    fn parameter_counts_match_the_paper() {
        let cases = [
            ("qres", 2, 10, 8, 1, 1541),
            ("mlp", 2, 20, 8, 1, 3021),
            ("qres", 2, 14, 8, 1, 2941),
            ("qres", 2, 50, 4, 2, 15602),
            ("qres", 1, 50, 4, 101, 25501),
            ("mlp", 1, 200, 4, 101, 141301),
        ];
        for (kind, i, w, d, o, n) in cases {
            let net = network(kind, i, w, d, o);
            assert_eq!(net.layers.len(), d + 1);
            assert_eq!(
                param_count(std::slice::from_ref(&net)),
                n,
                "{kind} ({i},{w}×{d},{o})"
            );
        }
    }

    #[test]
    fn init_is_reproducible_and_truncated() {
        let p = crate::net::testnets::burgers("qres", 10, 8);
        let a = init_theta(&p, DEFAULT_SEED);
        assert_eq!(a, init_theta(&p, DEFAULT_SEED));
        assert_ne!(a, init_theta(&p, 7));
        assert_eq!(a.len(), 1541);
        // First layer W1 is 10×2: std √(2/12), cut at 2 std.
        let bound = 2.0 * (2.0f64 / 12.0).sqrt();
        assert!(a[..20].iter().all(|x| x.abs() <= bound && *x != 0.0));
        // Its bias b (after W1) starts at zero.
        assert!(a[20..30].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn column_stds_scale_each_input_column() {
        let mut p = crate::net::testnets::burgers("qres", 10, 8);
        // W1 is 10×2 row-major: entries 0, 2, 4, … are column 0 (the first input).
        p.networks[0].layers[0].tensors[0].init = Init::NormalColumns(vec![20.0, 0.5]);
        let a = init_theta(&p, DEFAULT_SEED);
        let column = |j: usize| {
            a[..20]
                .iter()
                .skip(j)
                .step_by(2)
                .copied()
                .collect::<Vec<_>>()
        };
        assert!(column(0).iter().all(|x| x.abs() <= 40.0));
        assert!(column(0).iter().any(|x| x.abs() > 2.0), "{:?}", column(0));
        assert!(column(1).iter().all(|x| x.abs() <= 1.0 && *x != 0.0));
    }
}
