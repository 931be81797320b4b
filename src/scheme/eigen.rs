//! Reference ground-state energies of −ψ'' + V(x)ψ = Eψ on [a, b] with
//! ψ(a) = ψ(b) = 0, computed independently of the network so that the eigenvalue
//! examples can be scored.
//!
//! Shooting: ψ(a) = 0, ψ'(a) = 1, integrated with classical RK4 on a grid that has a
//! node at every discontinuity of V (RK4 keeps its fourth order on each smooth piece
//! only if no step straddles a jump). Below the ground-state energy E₀ the solution
//! has no node in (a, b] — ψ stays positive — and from E₀ on it has one; bisection on
//! that predicate converges to E₀ for the grid, and Richardson extrapolation over two
//! grids removes the h⁴ error term.

/// Settings of [`ground_state`].
#[derive(Debug, Clone, Copy)]
pub struct Shooting {
    /// RK4 steps per smooth piece on the coarse grid (the fine grid has twice as many).
    pub steps: usize,
}

impl Default for Shooting {
    fn default() -> Self {
        Shooting { steps: 4000 }
    }
}

/// The ground-state energy, Richardson-extrapolated from two grids.
/// `jumps` are the points of (a, b) where V is discontinuous.
pub fn ground_state(v: &dyn Fn(f64) -> f64, a: f64, b: f64, jumps: &[f64], s: Shooting) -> f64 {
    let coarse = ground_state_on(v, a, b, jumps, s.steps);
    let fine = ground_state_on(v, a, b, jumps, 2 * s.steps);
    fine + (fine - coarse) / 15.0
}

/// The ground-state energy of the RK4 discretization with `steps` per piece.
pub fn ground_state_on(v: &dyn Fn(f64) -> f64, a: f64, b: f64, jumps: &[f64], steps: usize) -> f64 {
    let grid = grid(a, b, jumps, steps);
    let vmin = grid.iter().map(|&x| v(x)).fold(f64::INFINITY, f64::min);
    // E ≤ min V: ψ'' = (V − E)ψ ≥ 0 keeps ψ convex and positive, so no node.
    let mut lo = vmin;
    let mut step = 1.0;
    let mut hi = vmin + step;
    while below_ground(v, &grid, hi) {
        lo = hi;
        step *= 2.0;
        hi = vmin + step;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below_ground(v, &grid, mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Grid points from a to b with `steps` equal steps between consecutive jumps.
fn grid(a: f64, b: f64, jumps: &[f64], steps: usize) -> Vec<f64> {
    let mut ends: Vec<f64> = std::iter::once(a)
        .chain(jumps.iter().copied().filter(|&j| j > a && j < b))
        .chain(std::iter::once(b))
        .collect();
    ends.sort_by(f64::total_cmp);
    let mut g = vec![a];
    for w in ends.windows(2) {
        let h = (w[1] - w[0]) / steps as f64;
        g.extend((1..=steps).map(|k| {
            if k == steps {
                w[1]
            } else {
                w[0] + h * k as f64
            }
        }));
    }
    g
}

/// Whether E lies below the ground state: the shot solution keeps ψ > 0 on (a, b].
fn below_ground(v: &dyn Fn(f64) -> f64, grid: &[f64], e: f64) -> bool {
    let (mut psi, mut dpsi) = (0.0, 1.0);
    for w in grid.windows(2) {
        let (x0, h) = (w[0], w[1] - w[0]);
        // V is evaluated inside the step only, so a jump at a node is never straddled:
        // the ends are nudged inwards by 1e-6 of a step (far above rounding at any
        // grid we use, and a negligible shift for a smooth V).
        let eps = 1e-6 * h;
        let f = |x: f64, p: f64| (v(x.clamp(x0 + eps, x0 + h - eps)) - e) * p;
        let (k1p, k1d) = (dpsi, f(x0, psi));
        let (k2p, k2d) = (dpsi + 0.5 * h * k1d, f(x0 + 0.5 * h, psi + 0.5 * h * k1p));
        let (k3p, k3d) = (dpsi + 0.5 * h * k2d, f(x0 + 0.5 * h, psi + 0.5 * h * k2p));
        let (k4p, k4d) = (dpsi + h * k3d, f(x0 + h, psi + h * k3p));
        psi += h / 6.0 * (k1p + 2.0 * k2p + 2.0 * k3p + k4p);
        dpsi += h / 6.0 * (k1d + 2.0 * k2d + 2.0 * k3d + k4d);
        if psi <= 0.0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    #[test]
    fn infinite_well_is_pi_squared() {
        let e = ground_state(&|_| 0.0, 0.0, 1.0, &[], Shooting::default());
        assert!((e - PI * PI).abs() < 1e-9 * PI * PI, "{e}");
    }

    #[test]
    fn a_constant_potential_shifts_the_energy() {
        let e = ground_state(&|_| 7.5, 0.0, 1.0, &[], Shooting::default());
        assert!((e - PI * PI - 7.5).abs() < 1e-9 * e, "{e}");
    }

    /// A step potential: the analytic ground state solves a transcendental equation.
    /// V = 0 on (0, ½), V0 on (½, 1): with k = √E, κ = √(V0 − E) (E < V0), matching
    /// ψ = sin(kx) and ψ = A sinh(κ(1 − x)) at x = ½ gives k cot(k/2) = −κ coth(κ/2).
    #[test]
    fn step_potential_matches_the_matching_condition() {
        let v0 = 100.0;
        let e = ground_state(
            &|x| if x < 0.5 { 0.0 } else { v0 },
            0.0,
            1.0,
            &[0.5],
            Shooting::default(),
        );
        let (k, kappa) = (e.sqrt(), (v0 - e).sqrt());
        let mismatch = k / (k / 2.0).tan() + kappa / (kappa / 2.0).tanh();
        assert!(mismatch.abs() < 1e-7, "E = {e}, mismatch {mismatch}");
    }

    /// Extrapolated energies agree between grid pairs to far better than 1e-7.
    #[test]
    fn jumps_on_grid_nodes_keep_fourth_order() {
        let v = |x: f64| {
            if (x - 0.5f64).abs() < 0.25 {
                0.0
            } else {
                100.0
            }
        };
        let a = ground_state(&v, 0.0, 1.0, &[0.25, 0.75], Shooting { steps: 1000 });
        let b = ground_state(&v, 0.0, 1.0, &[0.25, 0.75], Shooting { steps: 4000 });
        assert!((a - b).abs() < 1e-9 * b, "{a} vs {b}");
    }

    /// The four wells of the example suite (SPEC.md), each converged on two grid
    /// pairs. `cargo test --release --lib wells -- --nocapture` prints the values
    /// that docs/RESULTS.md scores the examples against.
    /// A well: its example's name, its potential and the potential's jumps.
    type Well<'a> = (&'a str, &'a dyn Fn(f64) -> f64, &'a [f64]);

    #[test]
    fn wells_reference_energies() {
        let wells: [Well; 4] = [
            ("well_infinite", &|_| 0.0, &[]),
            (
                "well_finite",
                &|x| {
                    if (x - 0.5f64).abs() < 0.25 {
                        0.0
                    } else {
                        100.0
                    }
                },
                &[0.25, 0.75],
            ),
            (
                "well_barrier",
                &|x| if (x - 0.5f64).abs() < 0.1 { 100.0 } else { 0.0 },
                &[0.4, 0.6],
            ),
            ("well_harmonic", &|x| 1000.0 * (x - 0.5) * (x - 0.5), &[]),
        ];
        for (name, v, jumps) in wells {
            let a = ground_state(v, 0.0, 1.0, jumps, Shooting { steps: 2000 });
            let b = ground_state(v, 0.0, 1.0, jumps, Shooting { steps: 8000 });
            assert!((a - b).abs() < 1e-9 * b, "{name}: {a} vs {b}");
            println!("{name}: E0 = {b:.12}");
        }
    }
}
