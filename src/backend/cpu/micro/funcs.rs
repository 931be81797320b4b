//! tanh and exp over a tile's entries on the host's full-width vectors.
//!
//! With the products on full-width vectors, a PINN epoch's other half is the
//! element-wise work, and most of that is the activation: the MLP 20×8 file spends
//! about three fifths of it in tanh, which Cranelift computes on 128-bit vectors
//! (`vmath`). These are the same algorithms, step for step (range reduction,
//! Taylor polynomial of `elementary`'s coefficients, reconstruction, the same
//! clamps and fused multiply-adds), written once over one number and compiled per
//! instruction set with the products, where LLVM runs them on ymm or zmm registers.
//! On a host with FMA the results are bit for bit those of `vmath` (a test holds
//! both to that), so the route changes the speed and not the numbers.

use std::mem::size_of;
use std::ops::{Div, Mul, Sub};

use super::{load, Real};
use crate::backend::elementary::{
    Terms, EXP_RANGE, LN2_F32, LN2_F64, TANH_ARG_MAX, TERMS_F32, TERMS_F64,
};
use crate::expr::Func;

/// `out[e] = f(x[e])` for `entries` entries of one tile: (f, x, xs, out, os,
/// entries, tb), `f` a [`Native`] as a number, `xs`, `os` and `tb` (a tile's
/// entry: its points) in bytes. `out` may be `x` (in place), never a partial overlap.
pub type FuncFn = unsafe extern "C" fn(usize, *const u8, isize, *mut u8, isize, usize, usize);

/// The functions computed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    Tanh = 0,
    Exp = 1,
}

impl Native {
    /// The native version of `f`, if there is one.
    pub fn of(f: Func) -> Option<Native> {
        match f {
            Func::Tanh => Some(Native::Tanh),
            Func::Exp => Some(Native::Exp),
            _ => None,
        }
    }
}

/// What the functions need of a number type beyond [`Real`].
pub(super) trait Lane:
    Real + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + PartialOrd
{
    /// 0 for f32, 1 for f64: the index into `elementary`'s per-format tables.
    const WIDE: usize;
    /// Taylor terms of the format.
    const TERMS: Terms;
    /// 1.5·2^(mantissa bits): adding and subtracting it rounds to an integer (ties
    /// to even, the default rounding mode), as Cranelift's `nearest` does.
    const ROUND: f64;
    fn of(x: f64) -> Self;
    fn abs(self) -> Self;
    /// 2^k from t = k + ROUND + bias: t's low mantissa bits shifted into the
    /// exponent field.
    fn exponent_from(t: Self) -> Self;
    /// self (≥ 0) with x's sign bit.
    fn signed_like(self, x: Self) -> Self;
}

/// `Lane` for a float type: its index, Taylor terms, rounding constant (1.5·2^m)
/// and mantissa bits.
macro_rules! lane {
    ($t:ty, $wide:literal, $terms:expr, $round:literal, $mbits:literal) => {
        impl Lane for $t {
            const WIDE: usize = $wide;
            const TERMS: Terms = $terms;
            const ROUND: f64 = $round;
            #[inline(always)]
            fn of(x: f64) -> $t {
                x as $t
            }
            #[inline(always)]
            fn abs(self) -> $t {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn exponent_from(t: $t) -> $t {
                <$t>::from_bits(t.to_bits() << $mbits)
            }
            #[inline(always)]
            fn signed_like(self, x: $t) -> $t {
                <$t>::from_bits(self.to_bits() | (x.to_bits() & (-0.0 as $t).to_bits()))
            }
        }
    };
}

lane!(f32, 0, TERMS_F32, 12582912.0, 23);
lane!(f64, 1, TERMS_F64, 6755399441055744.0, 52);

/// The constants of the functions in the format, made once per call.
struct Consts<T> {
    /// expm1(r) = r + r²·Q(r): Q's coefficients, lowest first (`Terms::expm1`).
    q: [T; 16],
    log2e: T,
    round: T,
    /// ROUND + the exponent bias.
    biased: T,
    neg_ln2: (T, T),
}

impl<T: Lane> Consts<T> {
    /// Q's degree + 1.
    const NQ: usize = T::TERMS.expm1 as usize - 1;

    fn new() -> Consts<T> {
        // 1/j! for j = 2 …, as `Terms::expm1_coeffs` computes them, without its
        // allocation (this runs once per call).
        let mut q = [T::default(); 16];
        let mut factorial = 1.0;
        for (j, c) in (2..=T::TERMS.expm1).zip(q.iter_mut()) {
            factorial *= j as f64;
            *c = T::of(1.0 / factorial);
        }
        let (hi, lo) = [LN2_F32, LN2_F64][T::WIDE];
        Consts {
            q,
            log2e: T::of(std::f64::consts::LOG2_E),
            round: T::of(T::ROUND),
            biased: T::of(T::ROUND + [127.0, 1023.0][T::WIDE]),
            neg_ln2: (T::of(-hi), T::of(-lo)),
        }
    }

    /// (2^k, expm1(r)) with x = k·ln2 + r, |r| ≤ ln2/2 (`Vm::exp_parts`).
    #[inline(always)]
    fn exp_parts(&self, x: T) -> (T, T) {
        let k = (x * self.log2e + self.round) - self.round;
        let r = k.fma(self.neg_ln2.0, x);
        let r = k.fma(self.neg_ln2.1, r);
        let mut q = self.q[Self::NQ - 1];
        for j in (0..Self::NQ - 1).rev() {
            q = q.fma(r, self.q[j]);
        }
        let p = (r * r).fma(q, r);
        (T::exponent_from(k + self.biased), p)
    }

    /// `Vm::exp`.
    #[inline(always)]
    fn exp(&self, x: T) -> T {
        let (lo, hi) = EXP_RANGE[T::WIDE];
        let x = at_most(at_least(x, T::of(lo)), T::of(hi));
        let (s, p) = self.exp_parts(x);
        s.fma(p, s)
    }

    /// `Vm::tanh`: sign(x)·e/(e + 2), e = expm1(2|x|).
    #[inline(always)]
    fn tanh(&self, x: T) -> T {
        let two = T::of(2.0);
        let y = at_most(x.abs() * two, T::of(TANH_ARG_MAX[T::WIDE]));
        let (s, p) = self.exp_parts(y);
        let e = s.fma(p, s - T::of(1.0));
        (e / (e + two)).signed_like(x)
    }
}

/// min(x, hi) as `Vm::at_most` computes it (a NaN x stays NaN).
#[inline(always)]
fn at_most<T: Lane>(x: T, hi: T) -> T {
    if x > hi {
        hi
    } else {
        x
    }
}

/// max(x, lo) as `Vm::at_least`.
#[inline(always)]
fn at_least<T: Lane>(x: T, lo: T) -> T {
    if x < lo {
        lo
    } else {
        x
    }
}

/// `FuncFn`'s body, `N` numbers (one or two vectors) at a time.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn apply<T: Lane, const N: usize>(
    f: usize,
    x: *const u8,
    xs: isize,
    out: *mut u8,
    os: isize,
    entries: usize,
    tb: usize,
) {
    let c = Consts::<T>::new();
    // SAFETY: the caller's contract (`FuncFn`).
    unsafe {
        if f == Native::Tanh as usize {
            each::<T, N>(x, xs, out, os, entries, tb, |v| c.tanh(v))
        } else {
            each::<T, N>(x, xs, out, os, entries, tb, |v| c.exp(v))
        }
    }
}

/// out[e][p] = g(x[e][p]) over the tile, a register's worth of points at a time
/// (read whole before it is written, so `out` may be `x`).
#[inline(always)]
unsafe fn each<T: Lane, const N: usize>(
    x: *const u8,
    xs: isize,
    out: *mut u8,
    os: isize,
    entries: usize,
    tb: usize,
    g: impl Fn(T) -> T,
) {
    let pts = tb / size_of::<T>();
    for e in 0..entries as isize {
        let xe = unsafe { x.offset(e * xs).cast::<T>() };
        let oe = unsafe { out.offset(e * os).cast::<T>() };
        for p0 in (0..pts).step_by(N) {
            let v: [T; N] = unsafe { load(xe.add(p0)) };
            let mut r = [T::default(); N];
            for (r, v) in r.iter_mut().zip(v) {
                *r = g(v);
            }
            unsafe { oe.add(p0).cast::<[T; N]>().write_unaligned(r) };
        }
    }
}
