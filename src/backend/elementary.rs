//! The elementary functions' numerical facts, shared by the engines that write
//! their own exp, tanh, log, sin and cos: the CPU engine's vector functions
//! (`cpu::vmath`, in CLIF) and the GPU engine's f64 functions (`gpu::wgsl`, in WGSL;
//! Vulkan has no f64 transcendentals). One copy of the splits and coefficients
//! keeps the two algorithms the same, and keeps `gpu` from importing `cpu`.
//!
//! Every algorithm is a range reduction, a Taylor polynomial and a reconstruction:
//! - exp(x) = 2^k·(1 + expm1(r)), x = k·ln2 + r, |r| ≤ ln2/2;
//! - log(x) = e·ln2 + 2·atanh(s), s = (m−1)/(m+1), m ∈ [√½, √2);
//! - sin and cos of r = x − k·π/2, |r| ≤ π/4, the quadrant from k.

/// ln 2 split for Cody–Waite reduction in f64: k·hi is exact for the k that occur.
pub(crate) const LN2_F64: (f64, f64) = (0.6931471803691238, 1.9082149292705877e-10);
/// ln 2 split for f32: k·hi is exact for the k that occur.
pub(crate) const LN2_F32: (f64, f64) = (0.693_359_375, -2.121_944_4e-4);
/// exp's arguments are clamped to these ranges (f32, f64), so exp never returns 0
/// or ∞.
pub(crate) const EXP_RANGE: [(f64, f64); 2] = [(-87.0, 88.0), (-708.0, 709.0)];
/// tanh(x) = sign(x)·e/(e + 2), e = expm1(2|x|): 2|x| is clamped to this (f32, f64),
/// beyond which tanh rounds to ±1.
pub(crate) const TANH_ARG_MAX: [f64; 2] = [18.0, 40.0];
/// π/2 in three parts for the f64 reduction of sin and cos.
pub(crate) const PIO2_F64: [f64; 3] = [
    1.5707963267341256,
    6.077100506303966e-11,
    2.0222662487111665e-21,
];

/// The Taylor terms each format needs for its accuracy (see `cpu::vmath`'s table).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms {
    /// expm1's polynomial runs to r^expm1 / expm1!.
    pub expm1: u32,
    /// log(m)/(2s) = 1 + z/3 + … + z^atanh/(2·atanh + 1).
    pub atanh: u32,
    /// sin r = r + r·z·S(z), S of this many terms.
    pub sin: u32,
    /// cos r = 1 − z/2 + z²·C(z), C running to z^cos.
    pub cos: u32,
}

/// f32's terms.
pub(crate) const TERMS_F32: Terms = Terms {
    expm1: 8,
    atanh: 4,
    sin: 5,
    cos: 6,
};
/// f64's terms.
pub(crate) const TERMS_F64: Terms = Terms {
    expm1: 14,
    atanh: 10,
    sin: 8,
    cos: 9,
};

impl Terms {
    /// expm1(r) = r + r²·Q(r): Q's coefficients 1/2!, 1/3!, …, lowest first.
    pub fn expm1_coeffs(self) -> Vec<f64> {
        (2..=self.expm1).map(|j| 1.0 / factorial(j)).collect()
    }

    /// log(m) = 2s + s·z·L(z), z = s²: L's coefficients 2/3, 2/5, …, lowest first.
    pub fn atanh_coeffs(self) -> Vec<f64> {
        (1..=self.atanh).map(|j| 2.0 / (2 * j + 1) as f64).collect()
    }

    /// sin r = r + r·z·S(z): S's coefficients −1/3!, 1/5!, …, lowest first.
    pub fn sin_coeffs(self) -> Vec<f64> {
        (1..=self.sin)
            .map(|j| sign(j) / factorial(2 * j + 1))
            .collect()
    }

    /// cos r = 1 − z/2 + z²·C(z): C's coefficients 1/4!, −1/6!, …, lowest first.
    pub fn cos_coeffs(self) -> Vec<f64> {
        (2..=self.cos).map(|j| sign(j) / factorial(2 * j)).collect()
    }
}

fn factorial(n: u32) -> f64 {
    (1..=n).map(f64::from).product()
}

/// (−1)^j.
fn sign(j: u32) -> f64 {
    if j.is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}
