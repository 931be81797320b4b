//! Vector elementary functions written in CLIF: exp, tanh, log, sin and cos on
//! `f32x4` or `f64x2`, branch-free (range reduction, a polynomial, selects), so a
//! kernel never calls libm once per lane. Cranelift has no transcendental
//! instructions; `sqrt`, `fabs` and `fneg` are native and need nothing here.
//!
//! The splits of ln 2 and π/2 and the Taylor coefficients come from
//! `backend::elementary`, shared with the GPU engine's f64 functions.
//!
//! Accuracy (measured by `vmath_tests::vector_math_accuracy` against `std`): every
//! function is within a few ulp of the correctly rounded result over its stated
//! range. Ranges:
//! - exp: arguments are clamped to [-87, 88] (f32) or [-708, 709] (f64), so exp never
//!   returns 0 or ∞ (std does beyond those);
//! - tanh: exact limits ±1 beyond |x| = 9 (f32) or 20 (f64);
//! - log: positive normal numbers; 0 gives −∞, negatives NaN, subnormals are wrong;
//! - sin, cos: |x| ≤ 1e4 (f32) or 1e8 (f64) (Cody–Waite reduction by π/2).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2, I32, I32X4, I64, I64X2};
use cranelift_codegen::ir::{Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

use crate::backend::elementary::{
    Terms, EXP_RANGE, LN2_F32, LN2_F64, PIO2_F64, TANH_ARG_MAX, TERMS_F32, TERMS_F64,
};

/// The vector kind being generated and how to build its constants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Vm {
    /// f64x2 when true, f32x4 otherwise.
    pub wide: bool,
    /// Emit `fma` (the host has it); otherwise a multiply and an add.
    pub fma: bool,
}

impl Vm {
    pub fn ty(self) -> Type {
        if self.wide {
            F64X2
        } else {
            F32X4
        }
    }

    pub fn scalar(self) -> Type {
        if self.wide {
            F64
        } else {
            F32
        }
    }

    fn int(self) -> Type {
        if self.wide {
            I64X2
        } else {
            I32X4
        }
    }

    /// The Taylor terms of this format's functions.
    fn terms(self) -> Terms {
        if self.wide {
            TERMS_F64
        } else {
            TERMS_F32
        }
    }

    /// Bits in the mantissa field.
    fn mbits(self) -> i64 {
        if self.wide {
            52
        } else {
            23
        }
    }

    /// A splatted float constant.
    pub fn c(self, b: &mut FunctionBuilder, x: f64) -> Value {
        let s = if self.wide {
            b.ins().f64const(x)
        } else {
            b.ins().f32const(x as f32)
        };
        b.ins().splat(self.ty(), s)
    }

    /// A splatted integer constant of the lane width.
    fn ci(self, b: &mut FunctionBuilder, x: i64) -> Value {
        let s = if self.wide {
            b.ins().iconst(I64, x)
        } else {
            b.ins().iconst(I32, x)
        };
        b.ins().splat(self.int(), s)
    }

    fn flags() -> MemFlagsData {
        MemFlagsData::new().with_endianness(Endianness::Little)
    }

    /// The float vector's bits as integer lanes.
    pub fn to_int(self, b: &mut FunctionBuilder, x: Value) -> Value {
        b.ins().bitcast(self.int(), Self::flags(), x)
    }

    /// Integer lanes (or a comparison mask) reinterpreted as floats.
    pub fn to_float(self, b: &mut FunctionBuilder, x: Value) -> Value {
        b.ins().bitcast(self.ty(), Self::flags(), x)
    }

    /// x·y + z, fused where the host can.
    pub fn fma(self, b: &mut FunctionBuilder, x: Value, y: Value, z: Value) -> Value {
        if self.fma {
            b.ins().fma(x, y, z)
        } else {
            let m = b.ins().fmul(x, y);
            b.ins().fadd(m, z)
        }
    }

    /// Σ coeffs[k]·x^k by Horner's rule (coefficients lowest first).
    fn poly(self, b: &mut FunctionBuilder, x: Value, coeffs: &[f64]) -> Value {
        let (&last, rest) = coeffs.split_last().expect("a polynomial has a coefficient");
        let mut acc = self.c(b, last);
        for &k in rest.iter().rev() {
            let kc = self.c(b, k);
            acc = self.fma(b, acc, x, kc);
        }
        acc
    }

    /// `if mask then x else y` lane-wise, for a float-typed mask from `fcmp`.
    fn pick(self, b: &mut FunctionBuilder, mask: Value, x: Value, y: Value) -> Value {
        let m = self.to_float(b, mask);
        b.ins().bitselect(m, x, y)
    }

    /// 2^k for integral k (as a float) in the normal exponent range, by the
    /// magic-number trick: adding 1.5·2^m + bias puts k + bias in the low mantissa
    /// bits, and shifting them into the exponent field drops everything above.
    fn pow2(self, b: &mut FunctionBuilder, k: Value) -> Value {
        let magic = if self.wide {
            6755399441055744.0 + 1023.0
        } else {
            12582912.0 + 127.0
        };
        let m = self.c(b, magic);
        let t = b.ins().fadd(k, m);
        let bits = self.to_int(b, t);
        let e = b.ins().ishl_imm_u(bits, self.mbits());
        self.to_float(b, e)
    }

    /// min(x, hi) by a compare and a select: Cranelift's `fmin` lowers to about eight
    /// x86 instructions for IEEE's NaN and signed-zero rules; this is two to four,
    /// and a NaN x still comes out as NaN.
    fn at_most(self, b: &mut FunctionBuilder, x: Value, hi: f64) -> Value {
        let hi = self.c(b, hi);
        let over = b.ins().fcmp(FloatCC::GreaterThan, x, hi);
        self.pick(b, over, hi, x)
    }

    /// max(x, lo), as [`Vm::at_most`].
    fn at_least(self, b: &mut FunctionBuilder, x: Value, lo: f64) -> Value {
        let lo = self.c(b, lo);
        let under = b.ins().fcmp(FloatCC::LessThan, x, lo);
        self.pick(b, under, lo, x)
    }

    /// (2^k, expm1(r)) with x = k·ln2 + r, |r| ≤ ln2/2, so exp(x) = 2^k·(1 + p),
    /// for x already in exp's clamped range (see the module's doc).
    fn exp_parts(self, b: &mut FunctionBuilder, x: Value) -> (Value, Value) {
        let log2e = self.c(b, std::f64::consts::LOG2_E);
        let k = b.ins().fmul(x, log2e);
        let k = b.ins().nearest(k);
        // Cody–Waite: ln2 split so that k·ln2_hi is exact.
        let (ln2_hi, ln2_lo) = if self.wide { LN2_F64 } else { LN2_F32 };
        let nhi = self.c(b, -ln2_hi);
        let nlo = self.c(b, -ln2_lo);
        let r = self.fma(b, k, nhi, x);
        let r = self.fma(b, k, nlo, r);
        // expm1(r) = r + r²·(1/2! + r/3! + …), Taylor, enough terms for the format.
        let q = self.poly(b, r, &self.terms().expm1_coeffs());
        let r2 = b.ins().fmul(r, r);
        let p = self.fma(b, r2, q, r);
        (self.pow2(b, k), p)
    }

    pub fn exp(self, b: &mut FunctionBuilder, x: Value) -> Value {
        let (lo, hi) = EXP_RANGE[self.wide as usize];
        let x = self.at_least(b, x, lo);
        let x = self.at_most(b, x, hi);
        let (s, p) = self.exp_parts(b, x);
        self.fma(b, s, p, s)
    }

    /// tanh(x) = sign(x)·e/(e + 2) with e = expm1(2|x|), accurate near 0 too.
    pub fn tanh(self, b: &mut FunctionBuilder, x: Value) -> Value {
        let a = b.ins().fabs(x);
        let two = self.c(b, 2.0);
        let y = b.ins().fmul(a, two);
        let y = self.at_most(b, y, TANH_ARG_MAX[self.wide as usize]);
        let (s, p) = self.exp_parts(b, y);
        let one = self.c(b, 1.0);
        let sm1 = b.ins().fsub(s, one);
        let e = self.fma(b, s, p, sm1);
        let d = b.ins().fadd(e, two);
        let t = b.ins().fdiv(e, d);
        // copysign(t, x) for t ≥ 0 (vector fcopysign has no x86 lowering); −0.0 is
        // the sign bit alone, loaded as a float constant in one instruction.
        let sign = self.c(b, -0.0);
        let sb = b.ins().band(x, sign);
        b.ins().bor(t, sb)
    }

    /// log(x) = e·ln2 + log(m), m ∈ [√½, √2), log(m) = 2·atanh(s), s = (m−1)/(m+1).
    pub fn log(self, b: &mut FunctionBuilder, x: Value) -> Value {
        let bits = self.to_int(b, x);
        let (mant_mask, one_bits, bias) = if self.wide {
            (0x000f_ffff_ffff_ffff_i64, 0x3ff0_0000_0000_0000_i64, 1023)
        } else {
            (0x007f_ffff, 0x3f80_0000, 127)
        };
        let mm = self.ci(b, mant_mask);
        let ob = self.ci(b, one_bits);
        let mbits = b.ins().band(bits, mm);
        let mbits = b.ins().bor(mbits, ob);
        let m = self.to_float(b, mbits);
        let e = b.ins().ushr_imm_u(bits, self.mbits());
        let biasv = self.ci(b, bias);
        let e = b.ins().isub(e, biasv);
        // Move m into [√½, √2): halve it and bump the exponent where m > √2.
        let sqrt2 = self.c(b, std::f64::consts::SQRT_2);
        let big = b.ins().fcmp(FloatCC::GreaterThan, m, sqrt2);
        let half = self.c(b, 0.5);
        let mh = b.ins().fmul(m, half);
        let m = self.pick(b, big, mh, m);
        let e = b.ins().isub(e, big); // the mask is −1 where big
        let ef = self.int_to_float(b, e);
        let one = self.c(b, 1.0);
        let f = b.ins().fsub(m, one);
        let d = b.ins().fadd(m, one);
        let s = b.ins().fdiv(f, d);
        let z = b.ins().fmul(s, s);
        // log(m)/(2s) = 1 + z/3 + z²/5 + …; enough terms for z ≤ 0.0295.
        let q = self.poly(b, z, &self.terms().atanh_coeffs());
        let sz = b.ins().fmul(s, z);
        let s2 = b.ins().fadd(s, s);
        let lm = self.fma(b, sz, q, s2);
        let (ln2_hi, ln2_lo) = if self.wide { LN2_F64 } else { LN2_F32 };
        let hi = self.c(b, ln2_hi);
        let lo = self.c(b, ln2_lo);
        let lm = self.fma(b, ef, lo, lm);
        let r = self.fma(b, ef, hi, lm);
        // Special cases: log 0 = −∞, log(negative) = NaN, log ∞ = ∞.
        let zero = self.c(b, 0.0);
        let ninf = self.c(b, f64::NEG_INFINITY);
        let nan = self.c(b, f64::NAN);
        let inf = self.c(b, f64::INFINITY);
        let is0 = b.ins().fcmp(FloatCC::Equal, x, zero);
        let r = self.pick(b, is0, ninf, r);
        let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
        let r = self.pick(b, neg, nan, r);
        let isinf = b.ins().fcmp(FloatCC::Equal, x, inf);
        let r = self.pick(b, isinf, inf, r);
        let isnan = b.ins().fcmp(FloatCC::Unordered, x, x);
        self.pick(b, isnan, x, r)
    }

    /// Small integers (|e| < 2^31) in integer lanes to floats. f64x2 goes through the
    /// magic-number trick because x86 has no packed i64 → f64 conversion before AVX-512.
    fn int_to_float(self, b: &mut FunctionBuilder, e: Value) -> Value {
        if self.wide {
            let magic = self.ci(b, 0x4338_0000_0000_0000);
            let t = b.ins().iadd(e, magic);
            let t = self.to_float(b, t);
            let m = self.c(b, 6755399441055744.0);
            b.ins().fsub(t, m)
        } else {
            b.ins().fcvt_from_sint(F32X4, e)
        }
    }

    /// sin(x), or cos(x) = sin(x + π/2) by shifting the quadrant.
    pub fn sin_cos(self, b: &mut FunctionBuilder, x: Value, cos: bool) -> Value {
        let two_pi = self.c(b, std::f64::consts::FRAC_2_PI);
        let k = b.ins().fmul(x, two_pi);
        let k = b.ins().nearest(k);
        let parts: [f64; 3] = if self.wide {
            PIO2_F64
        } else {
            [1.570_312_5, 4.837_513e-4, 7.549_79e-8]
        };
        let mut r = x;
        for p in parts {
            let np = self.c(b, -p);
            r = self.fma(b, k, np, r);
        }
        // The quadrant k mod 4 from k's bits (k + 1.5·2^m holds k in its low bits).
        let magic = self.c(
            b,
            if self.wide {
                6755399441055744.0
            } else {
                12582912.0
            },
        );
        let t = b.ins().fadd(k, magic);
        let mut q = self.to_int(b, t);
        if cos {
            let one = self.ci(b, 1);
            q = b.ins().iadd(q, one);
        }
        let z = b.ins().fmul(r, r);
        // sin r = r + r·z·S(z), cos r = 1 − z/2 + z²·C(z): Taylor for |r| ≤ π/4.
        let s = self.poly(b, z, &self.terms().sin_coeffs());
        let rz = b.ins().fmul(r, z);
        let s = self.fma(b, rz, s, r);
        let c = self.poly(b, z, &self.terms().cos_coeffs());
        let z2 = b.ins().fmul(z, z);
        let one = self.c(b, 1.0);
        let nhalf = self.c(b, -0.5);
        let c0 = self.fma(b, z, nhalf, one);
        let c = self.fma(b, z2, c, c0);
        // Odd quadrants take the cosine branch; quadrants 2 and 3 flip the sign.
        let one = self.ci(b, 1);
        let odd = b.ins().band(q, one);
        let odd = b.ins().icmp(IntCC::Equal, odd, one);
        let v = self.pick(b, odd, c, s);
        let two = self.ci(b, 2);
        let flip = b.ins().band(q, two);
        let sign_bit = if self.wide { 62 } else { 30 };
        let flip = b.ins().ishl_imm_u(flip, sign_bit);
        let vb = self.to_int(b, v);
        let vb = b.ins().bxor(vb, flip);
        self.to_float(b, vb)
    }
}
