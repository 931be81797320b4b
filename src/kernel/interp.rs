//! The interpreter: runs a program on points in f64 or f32, one op at a time over a
//! chunk of points. It is the oracle for every other back end, so it stays plain:
//! no fusion, no SIMD, buffers freed after their last use (from [`Info`]).
//!
//! Sums over points (losses, gradient) are reduced in f64 whatever the precision.
//! A uniform value summed over points counts once per point.

use std::fmt::Debug;
use std::ops::Range;
use std::ops::{Add, Div, Mul, Neg, Sub};

use super::ir::{Op, Program};
use super::passes::Info;
use crate::expr::Func;

/// The floating-point types the interpreter runs in.
pub trait Real:
    Copy
    + Debug
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
    fn call(self, f: Func) -> Self;
    fn powi(self, n: i32) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn call(self, f: Func) -> Self {
                match f {
                    Func::Sin => self.sin(),
                    Func::Cos => self.cos(),
                    Func::Exp => self.exp(),
                    Func::Log => self.ln(),
                    Func::Tanh => self.tanh(),
                    Func::Sqrt => self.sqrt(),
                    Func::Abs => self.abs(),
                }
            }
            fn powi(self, n: i32) -> Self {
                <$t>::powi(self, n)
            }
        }
    };
}
real!(f32);
real!(f64);

/// The points a run reads: SoA columns and the range of points to take from them.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub coords: &'a [Vec<f64>],
    pub data: &'a [Vec<f64>],
    pub weights: Option<&'a [f64]>,
    pub points: Range<usize>,
}

/// What sinks produce, added to across runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sums {
    /// Per loss term: Σ r² (or Σ w·r for integral terms).
    pub terms: Vec<f64>,
    pub grad: Vec<f64>,
    /// Per store slot: one value per point, in point order.
    pub stores: Vec<Vec<f64>>,
}

/// Points per chunk: bounds memory (values × width × chunk) without mattering to results.
const CHUNK: usize = 256;

/// A value over a chunk: `width` entries × `lanes` points (lanes = 1 when uniform),
/// entry-major. Width-1 and lane-1 buffers broadcast.
struct Buf<F> {
    width: usize,
    lanes: usize,
    data: Vec<F>,
}

impl<F: Real> Buf<F> {
    fn get(&self, j: usize, p: usize) -> F {
        let j = if self.width == 1 { 0 } else { j };
        let p = if self.lanes == 1 { 0 } else { p };
        self.data[j * self.lanes + p]
    }
    fn build(width: usize, lanes: usize, f: impl Fn(usize, usize) -> F) -> Buf<F> {
        let mut data = Vec::with_capacity(width * lanes);
        for j in 0..width {
            for p in 0..lanes {
                data.push(f(j, p));
            }
        }
        Buf { width, lanes, data }
    }
}

/// Runs `prog.ops[..end]` on every point of `inputs`, adding into `sums`
/// (whose vectors must be sized: terms n_terms, grad θ, stores per slot).
pub fn run<F: Real>(
    prog: &Program,
    info: &Info,
    theta: &[F],
    seeds: &[F],
    inputs: &Inputs,
    end: usize,
    sums: &mut Sums,
) {
    let mut start = inputs.points.start;
    while start < inputs.points.end {
        let stop = (start + CHUNK).min(inputs.points.end);
        run_chunk(prog, info, theta, seeds, inputs, start..stop, end, sums);
        start = stop;
    }
}

#[allow(clippy::too_many_arguments)]
fn run_chunk<F: Real>(
    prog: &Program,
    info: &Info,
    theta: &[F],
    seeds: &[F],
    inputs: &Inputs,
    points: Range<usize>,
    end: usize,
    sums: &mut Sums,
) {
    let n = points.len();
    let mut vals: Vec<Option<Buf<F>>> = (0..end).map(|_| None).collect();
    for i in 0..end {
        let op = &prog.ops[i];
        let out = {
            let v = |x: super::ir::Value| {
                vals[x.index()]
                    .as_ref()
                    .expect("operand freed before its last use")
            };
            let column = |c: &[f64]| Buf {
                width: 1,
                lanes: n,
                data: c[points.clone()].iter().map(|&x| F::from_f64(x)).collect(),
            };
            let lanes = |xs: &[&Buf<F>]| xs.iter().map(|b| b.lanes).max().unwrap_or(1);
            let ew2 = |a: &Buf<F>, b: &Buf<F>, f: fn(F, F) -> F| {
                Buf::build(a.width.max(b.width), lanes(&[a, b]), |j, p| {
                    f(a.get(j, p), b.get(j, p))
                })
            };
            let ew1 = |a: &Buf<F>, f: &dyn Fn(F) -> F| {
                Buf::build(a.width, a.lanes, |j, p| f(a.get(j, p)))
            };
            match *op {
                Op::Coord(k) => Some(column(&inputs.coords[k as usize])),
                Op::DataCol(k) => Some(column(&inputs.data[k as usize])),
                Op::Weight => Some(column(inputs.weights.unwrap_or(&[]))),
                Op::Const { value, width } => Some(Buf::build(width as usize, 1, |_, _| {
                    F::from_f64(value.get())
                })),
                Op::Param { offset, len } => Some(Buf::build(len as usize, 1, |j, _| {
                    theta[offset as usize + j]
                })),
                Op::TermSeed(t) => Some(Buf::build(1, 1, |_, _| seeds[t as usize])),
                Op::MatVec {
                    w_offset,
                    rows,
                    cols,
                    x,
                } => {
                    let (x, w) = (v(x), &theta[w_offset as usize..]);
                    Some(Buf::build(rows as usize, x.lanes, |r, p| {
                        (0..cols as usize).fold(F::from_f64(0.0), |s, c| {
                            s + w[r * cols as usize + c] * x.get(c, p)
                        })
                    }))
                }
                Op::MatTVec {
                    w_offset,
                    rows,
                    cols,
                    x,
                } => {
                    let (x, w) = (v(x), &theta[w_offset as usize..]);
                    Some(Buf::build(cols as usize, x.lanes, |c, p| {
                        (0..rows as usize).fold(F::from_f64(0.0), |s, r| {
                            s + w[r * cols as usize + c] * x.get(r, p)
                        })
                    }))
                }
                Op::Add(a, b) => Some(ew2(v(a), v(b), |x, y| x + y)),
                Op::Sub(a, b) => Some(ew2(v(a), v(b), |x, y| x - y)),
                Op::Mul(a, b) => Some(ew2(v(a), v(b), |x, y| x * y)),
                Op::Div(a, b) => Some(ew2(v(a), v(b), |x, y| x / y)),
                Op::Neg(a) => Some(ew1(v(a), &|x| -x)),
                Op::Func(f, a) => Some(ew1(v(a), &|x| x.call(f))),
                Op::Powi(a, k) => Some(ew1(v(a), &|x| x.powi(k))),
                Op::Select {
                    cmp,
                    a,
                    b,
                    then,
                    other,
                } => {
                    let (a, b, t, o) = (v(a), v(b), v(then), v(other));
                    let w = a.width.max(b.width).max(t.width).max(o.width);
                    Some(Buf::build(w, lanes(&[a, b, t, o]), |j, p| {
                        if cmp.holds(a.get(j, p).to_f64(), b.get(j, p).to_f64()) {
                            t.get(j, p)
                        } else {
                            o.get(j, p)
                        }
                    }))
                }
                Op::Concat(ref parts) => {
                    let parts: Vec<&Buf<F>> = parts.iter().map(|&p| v(p)).collect();
                    let lanes = lanes(&parts);
                    let index: Vec<(usize, usize)> = parts
                        .iter()
                        .enumerate()
                        .flat_map(|(k, b)| (0..b.width).map(move |j| (k, j)))
                        .collect();
                    Some(Buf::build(index.len(), lanes, |e, p| {
                        parts[index[e].0].get(index[e].1, p)
                    }))
                }
                Op::Slice { x, start, len } => {
                    let x = v(x);
                    Some(Buf::build(len as usize, x.lanes, |j, p| {
                        x.get(start as usize + j, p)
                    }))
                }
                Op::Splat { x, width } => {
                    let x = v(x);
                    Some(Buf::build(width as usize, x.lanes, |_, p| x.get(0, p)))
                }
                Op::SumEntries(x) => {
                    let x = v(x);
                    Some(Buf::build(1, x.lanes, |_, p| {
                        (0..x.width).fold(F::from_f64(0.0), |s, j| s + x.get(j, p))
                    }))
                }
                _ => {
                    sink(op, &v, inputs, &points, sums);
                    None
                }
            }
        };
        vals[i] = out;
        for x in op.operands() {
            if info.last_use[x.index()] == i {
                vals[x.index()] = None;
            }
        }
    }
}

/// Σ over the chunk's points of g(p), where a uniform operand (lanes 1) counts n times.
fn over_points(lanes: usize, n: usize, g: impl Fn(usize) -> f64) -> f64 {
    if lanes == 1 {
        n as f64 * g(0)
    } else {
        (0..n).map(g).sum()
    }
}

fn sink<'b, F: Real>(
    op: &Op,
    v: &dyn Fn(super::ir::Value) -> &'b Buf<F>,
    inputs: &Inputs,
    points: &Range<usize>,
    sums: &mut Sums,
) {
    let n = points.len();
    match *op {
        Op::AccumSquares { term, value } => {
            let r = v(value);
            sums.terms[term as usize] += (0..r.width)
                .map(|j| over_points(r.lanes, n, |p| r.get(j, p).to_f64().powi(2)))
                .sum::<f64>();
        }
        Op::AccumWeighted { term, value } => {
            let (r, w) = (v(value), inputs.weights.unwrap_or(&[]));
            sums.terms[term as usize] += (0..r.width)
                .map(|j| {
                    (0..n)
                        .map(|p| w[points.start + p] * r.get(j, p).to_f64())
                        .sum::<f64>()
                })
                .sum::<f64>();
        }
        Op::GradParam { offset, len, value } => {
            let d = v(value);
            for j in 0..len as usize {
                sums.grad[offset as usize + j] += over_points(d.lanes, n, |p| d.get(j, p).to_f64());
            }
        }
        Op::GradMatrix {
            w_offset,
            rows,
            cols,
            delta,
            x,
        } => {
            let (d, x) = (v(delta), v(x));
            let lanes = d.lanes.max(x.lanes);
            for r in 0..rows as usize {
                for c in 0..cols as usize {
                    let g = over_points(lanes, n, |p| (d.get(r, p) * x.get(c, p)).to_f64());
                    sums.grad[w_offset as usize + r * cols as usize + c] += g;
                }
            }
        }
        Op::Store { slot, value } => {
            let r = v(value);
            sums.stores[slot as usize].extend((0..n).map(|p| r.get(0, p).to_f64()));
        }
        _ => {}
    }
}
