//! The microkernels against plain f64 loops, for every instruction set the host
//! has and AVX-512's block sizes in the generic build: shapes with every remainder
//! of the register blocks, entries packed or broadcast (width 1), a padded tile.

use super::clif::{TILE, VB};
use super::micro::{GradFn, GradPair, Isa, Kernels, MatVecFn, MAX_PAIRS};

/// A deterministic value in [-1, 1) for index i.
fn wave(i: usize, f: f64) -> f64 {
    ((i as f64 + 1.0) * f).sin()
}

fn bytes(v: &[f64], wide: bool) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| match wide {
            true => x.to_ne_bytes().to_vec(),
            false => (x as f32).to_ne_bytes().to_vec(),
        })
        .collect()
}

fn values(b: &[u8], wide: bool) -> Vec<f64> {
    match wide {
        true => b
            .chunks(8)
            .map(|c| f64::from_ne_bytes(c.try_into().expect("8 bytes")))
            .collect(),
        false => b
            .chunks(4)
            .map(|c| f32::from_ne_bytes(c.try_into().expect("4 bytes")) as f64)
            .collect(),
    }
}

/// Every route to test: the host's instruction sets, and AVX-512's blocks.
fn routes(wide: bool) -> Vec<(String, MatVecFn, GradFn)> {
    let mut r: Vec<(String, MatVecFn, GradFn)> = Isa::ALL
        .into_iter()
        .filter(|i| i.available())
        .map(|i| {
            let k = Kernels::new(i, wide);
            (i.name().to_string(), k.matvec, k.grad)
        })
        .collect();
    #[cfg(target_arch = "x86_64")]
    {
        let k = super::micro::wide_blocks::KERNELS[wide as usize];
        r.push(("avx512 blocks".into(), k.matvec, k.grad));
    }
    r
}

#[test]
fn microkernels_match_plain_loops() {
    for wide in [false, true] {
        let el = if wide { 8 } else { 4 };
        let pts = TILE * VB / el;
        let lanes = VB / el;
        let tol = if wide { 1e-13 } else { 1e-5 };
        for (name, matvec, grad) in routes(wide) {
            for (rows, cols) in [(1, 1), (3, 2), (7, 13), (13, 7), (20, 20), (9, 17), (23, 5)] {
                for transpose in [false, true] {
                    let (n_out, n_in) = if transpose {
                        (cols, rows)
                    } else {
                        (rows, cols)
                    };
                    let (so, sk) = if transpose { (1, cols) } else { (cols, 1) };
                    let w: Vec<f64> = (0..rows * cols).map(|i| wave(i, 0.37)).collect();
                    // Width 1 broadcasts: its entry stride is 0, as for a coordinate.
                    let xs = if n_in == 1 { 0 } else { pts * el };
                    let x: Vec<f64> = (0..n_in * pts).map(|i| wave(i, 0.11)).collect();
                    let mut out = vec![0u8; n_out * pts * el];
                    unsafe {
                        matvec(
                            bytes(&w, wide).as_ptr(),
                            bytes(&x, wide).as_ptr(),
                            xs as isize,
                            out.as_mut_ptr(),
                            n_out,
                            n_in,
                            so,
                            sk,
                            pts * el,
                        )
                    };
                    let out = values(&out, wide);
                    for o in 0..n_out {
                        for p in 0..pts {
                            let want: f64 =
                                (0..n_in).map(|k| w[o * so + k * sk] * x[k * pts + p]).sum();
                            let got = out[o * pts + p];
                            assert!(
                                (got - want).abs() <= tol * (1.0 + want.abs()) * n_in as f64,
                                "{name} matvec {rows}×{cols} t={transpose} [{o},{p}]: {got} vs {want}"
                            );
                        }
                    }
                }
                // grad += Σ_pairs Σ δ·xᵀ over a tile whose last 5 points are padding,
                // for one pair and for MAX_PAIRS pairs.
                let live = pts - 5;
                let mask: Vec<u8> = (0..pts)
                    .flat_map(|p| vec![if p < live { 0xff } else { 0 }; el])
                    .collect();
                for n in [1, MAX_PAIRS] {
                    let d: Vec<Vec<f64>> = (0..n)
                        .map(|q| {
                            (0..rows * pts)
                                .map(|i| wave(i, 0.23 + 0.1 * q as f64))
                                .collect()
                        })
                        .collect();
                    let x: Vec<Vec<f64>> = (0..n)
                        .map(|q| {
                            (0..cols * pts)
                                .map(|i| wave(i, 0.19 - 0.05 * q as f64))
                                .collect()
                        })
                        .collect();
                    let (db, xb): (Vec<Vec<u8>>, Vec<Vec<u8>>) = d
                        .iter()
                        .zip(&x)
                        .map(|(d, x)| (bytes(d, wide), bytes(x, wide)))
                        .unzip();
                    let pairs: Vec<GradPair> = db
                        .iter()
                        .zip(&xb)
                        .map(|(d, x)| GradPair {
                            d: d.as_ptr(),
                            ds: (pts * el) as isize,
                            x: x.as_ptr(),
                            xs: (pts * el) as isize,
                        })
                        .collect();
                    let start: Vec<f64> = (0..rows * cols * lanes).map(|i| wave(i, 0.5)).collect();
                    let mut g = bytes(&start, wide);
                    unsafe {
                        grad(
                            pairs.as_ptr(),
                            n,
                            mask.as_ptr(),
                            g.as_mut_ptr(),
                            rows,
                            cols,
                            pts * el,
                        )
                    };
                    let g = values(&g, wide);
                    for r in 0..rows {
                        for c in 0..cols {
                            let e = (r * cols + c) * lanes;
                            let got: f64 = g[e..e + lanes].iter().sum();
                            let want: f64 = start[e..e + lanes].iter().sum::<f64>()
                                + (0..n)
                                    .map(|q| {
                                        (0..live)
                                            .map(|p| d[q][r * pts + p] * x[q][c * pts + p])
                                            .sum::<f64>()
                                    })
                                    .sum::<f64>();
                            assert!(
                                (got - want).abs() <= tol * (n * pts) as f64,
                                "{name} grad {rows}×{cols} ×{n} [{r},{c}]: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The flush adds each accumulator's lanes, in lane order, into its f64 exactly as
/// a scalar loop does (bit for bit), and zeroes the accumulators; the counts go
/// around the vectors' chunk so the tail runs too.
#[test]
fn flush_adds_lanes_in_order_and_zeroes_them() {
    for wide in [false, true] {
        let lanes = VB / if wide { 8 } else { 4 };
        for isa in Isa::ALL.into_iter().filter(|i| i.available()) {
            let flush = Kernels::new(isa, wide).flush;
            for n in [0, 1, 7, 31, 32, 33, 70] {
                let lane_values: Vec<f64> = (0..n * lanes).map(|i| wave(i, 0.37) * 1e3).collect();
                let mut acc: Vec<u128> = bytes(&lane_values, wide)
                    .chunks_exact(16)
                    .map(|c| u128::from_ne_bytes(c.try_into().expect("16 bytes")))
                    .collect();
                let rounded = values(&bytes(&lane_values, wide), wide);
                let mut out: Vec<f64> = (0..n).map(|e| wave(e, 0.11)).collect();
                let mut expect = out.clone();
                for (e, x) in expect.iter_mut().enumerate() {
                    for l in 0..lanes {
                        *x += rounded[e * lanes + l];
                    }
                }
                // SAFETY: `n` accumulators and `n` numbers, an available set.
                unsafe { flush(acc.as_mut_ptr().cast(), out.as_mut_ptr(), n) };
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&out),
                    bits(&expect),
                    "{} wide={wide} n={n}",
                    isa.name()
                );
                assert!(acc.iter().all(|&a| a == 0), "{} left lanes", isa.name());
            }
        }
    }
}
