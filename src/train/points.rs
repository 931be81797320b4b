//! Point sets: the coordinates (and data columns) each loss term is evaluated on.
//!
//! Each data set's arrays (read once by `check`) become [`Observations`] (every grid
//! point, every mapped column); [`sample`] then draws every point set of a problem
//! from one seeded RNG, so a run is reproducible from its seed. Latin hypercube
//! sampling stratifies each coordinate into n equal bins and takes one point per bin,
//! in a random pairing.

use crate::expr::CoordId;
use crate::io::Array;
use crate::kernel::PointBatch;
use crate::problem::{Dataset, PointKind, PointSet, Problem, Sampling};
use miette::Diagnostic;
use rand::rngs::StdRng;
use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use thiserror::Error;

/// Every point of one data set: coordinates (one column per problem coordinate) and
/// the data columns its fields fill (two for a complex field).
#[derive(Debug, Clone, PartialEq)]
pub struct Observations {
    pub coords: Vec<Vec<f64>>,
    pub columns: Vec<Vec<f64>>,
}

impl Observations {
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The subset of points `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Observations {
        let pick = |col: &Vec<f64>| idx.iter().map(|&i| col[i]).collect();
        Observations {
            coords: self.coords.iter().map(pick).collect(),
            columns: self.columns.iter().map(pick).collect(),
        }
    }
}

/// A data set whose arrays do not fit its mapping. `check` rejects such files, so
/// this is only reached with a problem built by hand or checked without its data.
#[derive(Debug, Error, Diagnostic)]
#[error("data file `{file}`: {reason}")]
#[diagnostic(
    code(pdenet::train::data),
    help("`pdenet check FILE` checks every data block against its file")
)]
pub struct DataError {
    pub file: String,
    pub reason: String,
}

/// Every data set of the problem as observations (every access is checked again, so a
/// problem that did not come through `check` fails with a message, not a panic).
pub fn load(problem: &Problem) -> Result<Vec<Observations>, DataError> {
    problem
        .datasets
        .iter()
        .map(|d| observations(problem, d))
        .collect()
}

fn observations(problem: &Problem, set: &Dataset) -> Result<Observations, DataError> {
    let shape_err = |reason: String| DataError {
        file: set.written.clone(),
        reason,
    };
    let require = |var: &str| {
        set.arrays
            .get(var)
            .ok_or_else(|| shape_err(format!("`{var}` was not read from the file")))
    };
    let mut grids: Vec<Option<&Array>> = vec![None; problem.coords.len()];
    for (c, var) in &set.coords {
        grids[c.0] = Some(require(var)?);
    }
    let first = set
        .fields
        .first()
        .ok_or_else(|| shape_err("maps no field".into()))?;
    // The points: every multi-index over the first field's axes (or every entry of a
    // scattered list when it names none).
    let first_array = require(&first.variable)?;
    let lens: Vec<usize> = first
        .axes
        .iter()
        .map(|c| grids[c.0].map_or(0, Array::len))
        .collect();
    let n = if first.axes.is_empty() {
        first_array.len()
    } else {
        lens.iter().product()
    };
    let mut coords = vec![vec![0.0; n]; problem.coords.len()];
    // multi[p]: point p's index along each of the first field's axes (the first
    // axis varies fastest, as in the file).
    let mut multi = vec![vec![0usize; first.axes.len()]; n];
    for (p, ix) in multi.iter_mut().enumerate() {
        let mut rest = p;
        for (k, len) in lens.iter().enumerate() {
            ix[k] = rest % len;
            rest /= len;
        }
    }
    for (c, grid) in grids.iter().enumerate() {
        let Some(grid) = grid else { continue };
        let axis = first.axes.iter().position(|a| a.0 == c);
        for (p, slot) in coords[c].iter_mut().enumerate() {
            let i = axis.map_or(p, |k| multi[p][k]);
            *slot = *grid.real.get(i).ok_or_else(|| {
                shape_err(format!("grid of `{}` too short", problem.coords[c].name))
            })?;
        }
    }
    let mut columns = Vec::new();
    for f in &set.fields {
        let a = require(&f.variable)?;
        let mut offsets = Vec::with_capacity(n);
        for (p, at) in multi.iter().enumerate() {
            let index: Vec<usize> = if f.axes.is_empty() {
                vec![p]
            } else {
                let mut ix: Vec<usize> = f
                    .axes
                    .iter()
                    .map(|c| first.axes.iter().position(|a| a == c).map_or(0, |k| at[k]))
                    .collect();
                ix.resize(a.shape.len(), 0);
                ix
            };
            let off = if f.axes.is_empty() {
                Some(p)
            } else {
                a.offset(&index)
            };
            offsets
                .push(off.filter(|&o| o < a.len()).ok_or_else(|| {
                    shape_err(format!("`{}` does not fit the grids", f.variable))
                })?);
        }
        columns.push(offsets.iter().map(|&o| a.real[o]).collect());
        if f.value.len() == 2 {
            let imag = a
                .imag
                .as_ref()
                .ok_or_else(|| shape_err(format!("`{}` is not complex", f.variable)))?;
            columns.push(offsets.iter().map(|&o| imag[o]).collect());
        }
    }
    Ok(Observations { coords, columns })
}

/// Draws every point set of the problem. `data[d]` are the observations of data set d.
/// A set weighted per point (causal or self-adaptive weights) starts with weights 1.
pub fn sample(problem: &Problem, data: &[Observations], seed: u64) -> Vec<PointBatch> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut batches: Vec<PointBatch> = problem
        .point_sets
        .iter()
        .map(|set| {
            let mut b = batch(problem, set, data, &mut rng);
            with_tables(problem, set, &mut b);
            b
        })
        .collect();
    for (set, b) in batches.iter_mut().enumerate() {
        if problem.weighted(set) {
            b.weights = Some(vec![1.0; b.len()]);
        }
    }
    batches
}

/// Appends the columns of the set's tables (`PointSet::tables`) at its points.
pub fn with_tables(problem: &Problem, set: &PointSet, b: &mut PointBatch) {
    let columns = crate::table::columns(problem, &set.tables, &b.coords);
    b.data.extend(columns);
}

fn batch(problem: &Problem, set: &PointSet, data: &[Observations], rng: &mut StdRng) -> PointBatch {
    let inputs = &problem.inputs();
    match &set.kind {
        PointKind::Collocation { method } => PointBatch {
            coords: in_region(problem, set.count, rng, &|m, rng| {
                box_points(problem, inputs, m, *method, rng)
            }),
            data: vec![],
            weights: None,
        },
        PointKind::Slice {
            coord,
            value,
            method,
        } => PointBatch {
            coords: part_points(problem, &[(*coord, *value)], &[], *method, set.count, rng),
            data: vec![],
            weights: None,
        },
        PointKind::Piece { piece, method } => {
            piece_points(problem, *piece, set.count, *method, rng)
        }
        PointKind::Part {
            fixed,
            within,
            method,
        } => PointBatch {
            coords: part_points(problem, fixed, within, *method, set.count, rng),
            data: vec![],
            weights: None,
        },
        PointKind::Quadrature => quadrature(problem, set.count),
        PointKind::Data { dataset, at } => {
            let obs = &data[*dataset];
            let mut pool: Vec<usize> = (0..obs.len()).collect();
            if let Some((c, t)) = at {
                let nearest = obs.coords[c.0]
                    .iter()
                    .map(|v| (v - t).abs())
                    .fold(f64::INFINITY, f64::min);
                pool.retain(|&i| (obs.coords[c.0][i] - t).abs() <= nearest + 1e-12);
            }
            let idx: Vec<usize> = if set.count == 0 || set.count >= pool.len() {
                pool
            } else {
                index::sample(rng, pool.len(), set.count)
                    .into_iter()
                    .map(|k| pool[k])
                    .collect()
            };
            let picked = obs.select(&idx);
            let set = &problem.datasets[*dataset];
            let noise = (set.noise, set.noise_relative);
            let columns = picked
                .columns
                .into_iter()
                .map(|c| with_noise(c, noise, rng))
                .collect();
            PointBatch {
                coords: picked.coords,
                data: columns,
                weights: None,
            }
        }
    }
}

/// u + noise·std(u)·N(0, 1) (relative, with the standard deviation of the sampled
/// column) or u + noise·N(0, 1) (absolute).
fn with_noise(mut col: Vec<f64>, (noise, relative): (f64, bool), rng: &mut StdRng) -> Vec<f64> {
    if noise == 0.0 || col.is_empty() {
        return col;
    }
    let n = col.len() as f64;
    let mean = col.iter().sum::<f64>() / n;
    let std = if relative {
        (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
    } else {
        1.0
    };
    for v in &mut col {
        let z: f64 = rng.sample(StandardNormal);
        *v += noise * std * z;
    }
    col
}

/// `n` points drawn uniformly in the box of the network's inputs: RAD's candidates.
pub fn uniform_interior(problem: &Problem, n: usize, rng: &mut StdRng) -> Vec<Vec<f64>> {
    in_region(problem, n, rng, &|m, rng| {
        box_points(problem, &problem.inputs(), m, Sampling::Uniform, rng)
    })
}

/// `n` points of `draw`'s (one column per problem coordinate) that lie in the
/// problem's region, by rejection; `draw(n)` itself without a region.
fn in_region(
    problem: &Problem,
    n: usize,
    rng: &mut StdRng,
    draw: &dyn Fn(usize, &mut StdRng) -> Vec<Vec<f64>>,
) -> Vec<Vec<f64>> {
    let Some(region) = &problem.region else {
        return draw(n, rng);
    };
    let mut out = vec![Vec::with_capacity(n); problem.coords.len()];
    let mut point = vec![0.0; problem.coords.len()];
    // `check` made sure every set meets the region; the bound only stops a region
    // too thin to hit, whose points found so far are then repeated.
    for _ in 0..10_000 {
        let kept = out[0].len();
        if kept == n {
            break;
        }
        let m = 2 * (n - kept) + 16;
        let cols = draw(m, rng);
        for i in 0..m {
            cols.iter().zip(&mut point).for_each(|(c, p)| *p = c[i]);
            if out[0].len() < n && region.contains(&point) {
                out.iter_mut().zip(&point).for_each(|(c, p)| c.push(*p));
            }
        }
    }
    let found = out[0].len();
    if found == 0 {
        return draw(n, rng);
    }
    for col in &mut out {
        col.extend((found..n).map(|i| col[i % found]).collect::<Vec<_>>());
    }
    out
}

/// `n` points with the `fixed` coordinates at their values and the `within` ones in
/// their ranges, the other network inputs drawn by `method`, inside the region.
///
/// A slice at an end of a region coordinate's range (`on x = 0`) keeps only points
/// where the region has an inside next to the slice: each is tested a millionth of
/// the range inwards. Otherwise a face of a removed shape lying on the slice would
/// count (the step's left face x = 0, y ∈ [1, 2] of a channel minus a step is on the
/// boundary of both, but no point of the domain is near it).
fn part_points(
    problem: &Problem,
    fixed: &[(CoordId, f64)],
    within: &[(CoordId, f64, f64)],
    method: Sampling,
    n: usize,
    rng: &mut StdRng,
) -> Vec<Vec<f64>> {
    let free: Vec<CoordId> = problem
        .inputs()
        .into_iter()
        .filter(|c| fixed.iter().all(|f| f.0 != *c))
        .collect();
    let probe: Vec<(CoordId, f64)> = fixed
        .iter()
        .map(|&(c, v)| (c, inwards(problem, c, v)))
        .collect();
    let mut coords = in_region(problem, n, rng, &|m, rng| {
        let mut coords = box_points(problem, &free, m, method, rng);
        // Drawn over the coordinate's interval, moved into the range.
        for &(c, a, b) in within {
            let (lo, hi) = (problem.coords[c.0].lo, problem.coords[c.0].hi);
            coords[c.0]
                .iter_mut()
                .for_each(|v| *v = a + (*v - lo) / (hi - lo) * (b - a));
        }
        for &(c, v) in &probe {
            coords[c.0] = vec![v; m];
        }
        coords
    });
    for &(c, v) in fixed {
        coords[c.0] = vec![v; coords[c.0].len()];
    }
    coords
}

/// Where a slice `c = v` is tested for the region: a millionth of the range inside
/// when `v` is an end of a region coordinate's range, `v` itself otherwise.
fn inwards(problem: &Problem, c: CoordId, v: f64) -> f64 {
    let in_region = problem
        .region
        .as_ref()
        .is_some_and(|r| r.coords.contains(&c));
    let (lo, hi) = (problem.coords[c.0].lo, problem.coords[c.0].hi);
    let step = 1e-6 * (hi - lo);
    let at = |end: f64| (v - end).abs() <= 1e-12 * (hi - lo);
    match in_region {
        true if at(lo) => v + step,
        true if at(hi) => v - step,
        _ => v,
    }
}

/// `n` points on region piece `piece`'s part of the boundary, the other network
/// inputs (time) drawn by `method`; the data columns are the outward normal.
fn piece_points(
    problem: &Problem,
    piece: usize,
    n: usize,
    method: Sampling,
    rng: &mut StdRng,
) -> PointBatch {
    let Some((region, (_, shape))) = problem
        .region
        .as_ref()
        .and_then(|r| Some((r, r.pieces.get(piece)?)))
    else {
        return PointBatch::default();
    };
    let free: Vec<CoordId> = problem
        .inputs()
        .into_iter()
        .filter(|c| !region.coords.contains(c))
        .collect();
    let on = region
        .shape
        .sample_boundary(shape, n, rng)
        .unwrap_or_default();
    let mut coords = box_points(problem, &free, on.len(), method, rng);
    for (k, c) in region.coords.iter().enumerate() {
        coords[c.0] = on.iter().map(|b| b.x[k]).collect();
    }
    PointBatch {
        coords,
        data: (0..region.coords.len())
            .map(|k| on.iter().map(|b| b.normal[k]).collect())
            .collect(),
        weights: None,
    }
}

/// `n` points in the box of coordinates `dims` (other coordinates are left 0, the
/// caller fixes them). One column per problem coordinate.
fn box_points(
    problem: &Problem,
    dims: &[CoordId],
    n: usize,
    method: Sampling,
    rng: &mut StdRng,
) -> Vec<Vec<f64>> {
    let mut coords = vec![vec![0.0; n]; problem.coords.len()];
    let per_axis = (n as f64)
        .powf(1.0 / dims.len().max(1) as f64)
        .round()
        .max(1.0) as usize;
    // Only Halton draws here, so the other methods' random streams stay as they were.
    let start = match method {
        Sampling::Halton => rng.random_range(0..1u64 << 20),
        _ => 0,
    };
    for (k, &CoordId(c)) in dims.iter().enumerate() {
        let (lo, hi) = (problem.coords[c].lo, problem.coords[c].hi);
        let unit: Vec<f64> = match method {
            Sampling::Halton => {
                // The random shift (Cranley–Patterson) makes each seed's set its own;
                // the random start lets rejection sampling draw further batches.
                let base = PRIMES[k % PRIMES.len()];
                let shift = rng.random::<f64>();
                (0..n as u64)
                    .map(|p| (radical_inverse(start + p, base) + shift).fract())
                    .collect()
            }
            Sampling::Uniform => (0..n).map(|_| rng.random::<f64>()).collect(),
            Sampling::Latin => {
                let mut strata: Vec<usize> = (0..n).collect();
                shuffle(&mut strata, rng);
                strata
                    .into_iter()
                    .map(|s| (s as f64 + rng.random::<f64>()) / n as f64)
                    .collect()
            }
            Sampling::Grid => (0..n)
                .map(|p| {
                    let i = (p / per_axis.pow(k as u32)) % per_axis;
                    if per_axis == 1 {
                        0.5
                    } else {
                        i as f64 / (per_axis - 1) as f64
                    }
                })
                .collect(),
        };
        coords[c] = unit.into_iter().map(|u| lo + (hi - lo) * u).collect();
    }
    coords
}

/// The Halton sequence's bases: one prime per coordinate.
const PRIMES: [u64; 16] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53];

/// Entry i of the Halton sequence along axis k (unshifted).
pub fn halton(i: u64, k: usize) -> f64 {
    radical_inverse(i, PRIMES[k % PRIMES.len()])
}

/// i's digits in base b mirrored about the radix point: 0.d₀d₁d₂… (van der Corput).
fn radical_inverse(mut i: u64, b: u64) -> f64 {
    let (mut r, mut f) = (0.0, 1.0 / b as f64);
    while i > 0 {
        r += f * (i % b) as f64;
        i /= b;
        f /= b as f64;
    }
    r
}

fn shuffle(v: &mut [usize], rng: &mut StdRng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// A uniform grid over the problem's only coordinate with trapezoid weights: Σ w f
/// approximates ∫ f over the interval.
fn quadrature(problem: &Problem, n: usize) -> PointBatch {
    let n = n.max(2);
    let mut coords = vec![vec![0.0; n]; problem.coords.len()];
    let c = problem.inputs().first().map_or(0, |c| c.0);
    let (lo, hi) = (problem.coords[c].lo, problem.coords[c].hi);
    let h = (hi - lo) / (n - 1) as f64;
    coords[c] = (0..n).map(|i| lo + h * i as f64).collect();
    let weights = (0..n)
        .map(|i| if i == 0 || i + 1 == n { h / 2.0 } else { h })
        .collect();
    PointBatch {
        coords,
        data: vec![],
        weights: Some(weights),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Options;

    fn problem(name: &str) -> Problem {
        let root = env!("CARGO_MANIFEST_DIR");
        let text = std::fs::read_to_string(format!("{root}/examples/{name}.pde")).unwrap();
        let opts = Options {
            name: name.into(),
            base_dir: Some(format!("{root}/examples").into()),
            data_dirs: vec![],
            ..Default::default()
        };
        crate::pipeline::front_end(&text, &opts).unwrap().problem
    }

    #[test]
    fn sampling_is_reproducible_and_seed_dependent() {
        let p = problem("burgers");
        let data = load(&p).unwrap();
        let a = sample(&p, &data, 7);
        assert_eq!(a, sample(&p, &data, 7));
        assert_ne!(a, sample(&p, &data, 8));
    }

    fn problem_from(text: &str) -> Problem {
        let opts = Options {
            name: "region".into(),
            ..Default::default()
        };
        crate::pipeline::front_end(text, &opts).unwrap().problem
    }

    #[test]
    fn halton_points_fill_each_tenth_of_every_axis_evenly() {
        let p = problem("burgers");
        let mut rng = StdRng::seed_from_u64(2);
        let cols = box_points(&p, &p.inputs(), 1000, Sampling::Halton, &mut rng);
        for (c, col) in cols.iter().enumerate() {
            let (lo, hi) = (p.coords[c].lo, p.coords[c].hi);
            let mut bins = [0usize; 10];
            col.iter()
                .for_each(|v| bins[((v - lo) / (hi - lo) * 10.0) as usize] += 1);
            // Independent uniform points would miss 100 by ±9.5 (one σ).
            assert!(bins.iter().all(|&b| b.abs_diff(100) <= 3), "{bins:?}");
        }
    }

    /// A channel minus a step that sits on its inlet wall: the step's left face
    /// (x = 0, y ∈ [1, 2]) and top face (y = 2) are on both shapes' boundaries but
    /// next to no point of the domain, so neither the inlet slice nor the step's
    /// piece may put points there.
    #[test]
    fn faces_a_removed_shape_shares_with_the_wall_get_no_points() {
        let p = problem_from(
            "shape channel = rectangle([0, 0], [4, 2]), step = rectangle([0, 1], [2, 2])\n\
             domain (x, y) ∈ channel − step\n\
             field u(x, y)\n\
             equation u_xx + u_yy = 0\n\
             boundary u = 1 on x = 0\n\
             boundary u = 0 on step\n\
             network mlp(width = 4, depth = 1, activation = tanh)\n\
             sample collocation 100 halton, boundary 400",
        );
        let batches = sample(&p, &[], 5);
        for (set, b) in p.point_sets.iter().zip(&batches) {
            let (x, y) = (&b.coords[0], &b.coords[1]);
            match set.kind {
                PointKind::Piece { .. } => {
                    // The step's bottom face y = 1 (x ≤ 2) and right face x = 2 (y ≥ 1).
                    let on_face = |i: usize| {
                        (y[i] - 1.0).abs() < 1e-9 && x[i] <= 2.0 + 1e-9
                            || (x[i] - 2.0).abs() < 1e-9 && y[i] >= 1.0 - 1e-9
                    };
                    assert!((0..b.len()).all(on_face), "{}", set.name);
                    assert!((0..b.len()).any(|i| x[i] > 1e-6 && x[i] < 1.0));
                }
                PointKind::Collocation { .. } => {}
                _ => {
                    assert!(x.iter().all(|&v| v == 0.0), "{}", set.name);
                    assert!(y.iter().all(|&v| v <= 1.0), "{}: {y:?}", set.name);
                }
            }
        }
    }

    #[test]
    fn region_points_stay_inside_and_pieces_carry_outward_normals() {
        let p = problem_from(
            "shape hole = disk([0.5, 0.5], 0.2)\n\
             domain (x, y) ∈ rectangle([0, 0], [1, 1]) − hole, t ∈ [0, 1]\n\
             field u(x, y, t)\n\
             equation u_t - u_xx - u_yy = 0\n\
             initial u = 0 on t = 0\n\
             boundary ∂n(u) = 0 on hole\n\
             boundary u = 0 on x = 0\n\
             network mlp(width = 4, depth = 1, activation = tanh)\n\
             sample collocation 500 halton, initial 200, boundary 300",
        );
        let batches = sample(&p, &[], 3);
        let r2 = |b: &PointBatch, i: usize| {
            (b.coords[0][i] - 0.5).powi(2) + (b.coords[1][i] - 0.5).powi(2)
        };
        for (set, b) in p.point_sets.iter().zip(&batches) {
            assert_eq!(b.len(), set.count, "{}", set.name);
            match set.kind {
                PointKind::Piece { .. } => {
                    for i in 0..b.len() {
                        let r = r2(b, i).sqrt();
                        assert!((r - 0.2).abs() < 1e-12);
                        // The outward normal of the domain points into the hole.
                        let n = [b.data[0][i], b.data[1][i]];
                        let radial = [(b.coords[0][i] - 0.5) / r, (b.coords[1][i] - 0.5) / r];
                        assert!(
                            (n[0] + radial[0]).abs() < 1e-12 && (n[1] + radial[1]).abs() < 1e-12
                        );
                        assert!((0.0..=1.0).contains(&b.coords[2][i]));
                    }
                }
                _ => {
                    for i in 0..b.len() {
                        assert!(
                            r2(b, i) >= 0.04 - 1e-12,
                            "{}: a point in the hole",
                            set.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn conditions_on_part_of_a_face_and_at_a_point_stay_there() {
        let p = problem_from(
            "domain x ∈ [0, 1], y ∈ [0, 2]\n\
             field u(x, y), q(x, y)\n\
             equation u_xx + u_yy = q\n\
             equation q = 0\n\
             boundary u = 0 on x = 0, x = 1, y ∈ [0.5, 1]\n\
             boundary q = 0 at x = 1, y = 2\n\
             network mlp(width = 4, depth = 1, activation = tanh)\n\
             sample collocation 50, boundary 400",
        );
        let names: Vec<&str> = p.point_sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names[1..],
            [
                "boundary x = 0, y ∈ [0.5, 1]",
                "boundary x = 1, y ∈ [0.5, 1]",
                "boundary x = 1, y = 2"
            ]
        );
        let batches = sample(&p, &[], 4);
        for (face, b) in [0.0, 1.0].iter().zip(&batches[1..3]) {
            assert!(b.len() > 100);
            assert!(b.coords[0].iter().all(|x| x == face));
            assert!(b.coords[1].iter().all(|y| (0.5..=1.0).contains(y)));
        }
        assert_eq!(
            (batches[3].coords[0].clone(), batches[3].coords[1].clone()),
            (vec![1.0], vec![2.0])
        );
    }

    #[test]
    fn latin_hypercube_puts_one_point_in_each_stratum() {
        let p = problem("burgers");
        let b = &sample(&p, &[], 1)[0];
        assert_eq!(b.len(), 10_000);
        for (c, col) in b.coords.iter().enumerate() {
            let (lo, hi) = (p.coords[c].lo, p.coords[c].hi);
            let mut seen = vec![false; col.len()];
            for v in col {
                let k = (((v - lo) / (hi - lo)) * col.len() as f64) as usize;
                assert!(
                    !seen[k],
                    "two points in stratum {k} of {}",
                    p.coords[c].name
                );
                seen[k] = true;
            }
        }
    }

    #[test]
    fn conditions_sit_on_their_slice_and_periodic_on_the_lower_end() {
        let p = problem("schrodinger");
        let batches = sample(
            &p,
            &[Observations {
                coords: vec![],
                columns: vec![],
            }],
            3,
        );
        for (set, b) in p.point_sets.iter().zip(&batches) {
            if let PointKind::Slice { coord, value, .. } = set.kind {
                assert!(
                    b.coords[coord.0].iter().all(|v| *v == value),
                    "{}",
                    set.name
                );
            }
        }
    }

    #[test]
    fn a_periodic_end_in_discrete_time_is_one_point() {
        // The IRK network sees x only: the slice x = −1 has nothing left to sample.
        let p = problem("allen_cahn");
        let set = p
            .point_sets
            .iter()
            .find(|s| s.name == "periodic x")
            .unwrap();
        assert_eq!(set.count, 1);
        let continuous = problem("schrodinger");
        let set = continuous
            .point_sets
            .iter()
            .find(|s| s.name == "periodic x");
        assert!(set.unwrap().count > 1);
    }

    #[test]
    fn data_points_carry_the_file_values() {
        let p = problem("burgers_inverse");
        let data = load(&p).unwrap();
        assert_eq!(data[0].len(), 256 * 100);
        // usol[:, 0] is −sin(πx) at t = 0.
        for i in 0..data[0].len() {
            if data[0].coords[1][i] == 0.0 {
                let x = data[0].coords[0][i];
                assert!((data[0].columns[0][i] + (std::f64::consts::PI * x).sin()).abs() < 1e-12);
            }
        }
        let b = &sample(&p, &data, 1)[0];
        assert_eq!(b.len(), 2000);
    }

    #[test]
    fn noise_has_the_requested_size() {
        let clean = problem("burgers_inverse");
        let noisy = problem("burgers_inverse_noisy");
        let data = load(&clean).unwrap();
        let (a, b) = (&sample(&clean, &data, 5)[0], &sample(&noisy, &data, 5)[0]);
        assert_eq!(a.coords, b.coords, "the same points are drawn");
        let col = &a.data[0];
        let n = col.len() as f64;
        let mean = col.iter().sum::<f64>() / n;
        let std = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let diff: Vec<f64> = a.data[0]
            .iter()
            .zip(&b.data[0])
            .map(|(x, y)| y - x)
            .collect();
        let rms = (diff.iter().map(|d| d * d).sum::<f64>() / n).sqrt();
        assert!(
            (rms / (0.01 * std) - 1.0).abs() < 0.1,
            "noise rms {rms} vs 1% of std {std}"
        );
        // Without `%` the level is the noise's own standard deviation.
        let root = env!("CARGO_MANIFEST_DIR");
        let text = std::fs::read_to_string(format!("{root}/examples/burgers_inverse_noisy.pde"))
            .unwrap()
            .replace("noise 1%", "noise 0.05");
        let opts = Options {
            name: "absolute".into(),
            base_dir: Some(format!("{root}/examples").into()),
            ..Default::default()
        };
        let absolute = crate::pipeline::front_end(&text, &opts).unwrap().problem;
        let c = &sample(&absolute, &data, 5)[0];
        assert_eq!(a.coords, c.coords);
        let rms = (a.data[0]
            .iter()
            .zip(&c.data[0])
            .map(|(x, y)| (y - x).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        assert!((rms / 0.05 - 1.0).abs() < 0.1, "noise rms {rms} vs 0.05");
    }

    #[test]
    fn snapshots_select_the_nearest_time() {
        let p = problem("kdv");
        let data = load(&p).unwrap();
        let batches = sample(&p, &data, 1);
        for (set, b) in p.point_sets.iter().zip(&batches) {
            if let PointKind::Data {
                at: Some((c, t)), ..
            } = set.kind
            {
                assert!(b.coords[c.0].iter().all(|v| (v - t).abs() < 1e-12));
                assert_eq!(b.len(), set.count);
            }
        }
    }

    #[test]
    fn quadrature_integrates_exactly_for_linear_functions() {
        let p = problem("well_infinite");
        let batches = sample(&p, &[], 1);
        let q = p
            .point_sets
            .iter()
            .position(|s| s.kind == PointKind::Quadrature)
            .unwrap();
        let b = &batches[q];
        let w = b.weights.as_ref().unwrap();
        let integral: f64 = b.coords[0]
            .iter()
            .zip(w)
            .map(|(x, w)| (3.0 * x + 1.0) * w)
            .sum();
        assert!((integral - 2.5).abs() < 1e-12);
    }
}
