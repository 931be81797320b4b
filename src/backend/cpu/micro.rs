//! The products with θ as precompiled microkernels on the host's full-width vectors.
//!
//! Cranelift 0.135 emits 128-bit vectors only: a quarter of an AVX-512 core's lanes,
//! half of AVX2's. The products with θ (`MatVec`, `MatTVec`, `GradMatrix`) carry about
//! nine tenths of a PINN kernel's FLOPs, so the JIT'd code calls these functions for
//! them (one call per op per tile of points) and keeps the element-wise work. Each
//! function is plain Rust over fixed-size arrays, compiled once per instruction set
//! with `#[target_feature]` so LLVM puts the arrays in ymm/zmm registers, and chosen
//! when the kernel is compiled ([`Products::choose`]).
//!
//! Shapes (a tile is `TILE` vectors of 16 bytes per entry: 128 f32 or 64 f64 points,
//! contiguous, entries `xs` bytes apart; see `clif.rs`):
//! - `matvec`: out[o][p] = Σₖ W[o·so + k·sk] · x[k][p], a register block of `MR` rows
//!   by `NR` points, the sum over k in order, one fused multiply-add per term: the
//!   same sum, in the same order, as the Cranelift code, so the values agree
//!   wherever the host has FMA (the first term is fma(w, x, +0) here and w·x
//!   there, which can differ only in the sign of a zero);
//! - `grad`: grad[r][c] += Σₚ (δ[r][p] & mask[p]) · x[c][p], each (r, c) summed in
//!   the `G` lanes of one vector (point p in lane p mod G), folded to the four (f32)
//!   or two (f64) lanes of the kernel's accumulators in a fixed order. The order
//!   follows the vector width, so each instruction set (and Cranelift's code, in
//!   16-byte lanes) sums in its own order: results are reproducible for one route
//!   on one machine, and every route agrees with the interpreter to its tolerance.

use std::mem::size_of;

use super::clif::{TILE, VB};
use super::BackendError;

mod funcs;

pub use funcs::{FuncFn, Native};

/// Which code computes a kernel's products with θ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Products {
    /// Inline Cranelift code on 128-bit vectors.
    Clif,
    /// The microkernels of this module compiled for `Isa`.
    Native(Isa),
}

/// An instruction set the microkernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// No target features: SSE2 on x86-64 (fused multiply-add through libm, for
    /// tests), NEON on aarch64.
    Generic,
    /// AVX2 and FMA: 256-bit vectors.
    Avx2,
    /// AVX-512F (and FMA): 512-bit vectors.
    Avx512,
}

impl Isa {
    pub const ALL: [Isa; 3] = [Isa::Generic, Isa::Avx2, Isa::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Generic => "generic",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this host runs code compiled for the set.
    pub fn available(self) -> bool {
        match self {
            Isa::Generic => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 | Isa::Avx512 => false,
        }
    }
}

impl std::fmt::Display for Products {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Products::Clif => f.write_str("clif"),
            Products::Native(isa) => f.write_str(isa.name()),
        }
    }
}

impl Products {
    /// The route for this host, or the one `PDENET_PRODUCTS` names (`auto`, `clif`,
    /// `generic`, `avx2`, `avx512`).
    ///
    /// The rule: the widest instruction set the host has, AVX-512 then AVX2 (with
    /// FMA); on aarch64 the generic code (NEON, which always has FMA); Cranelift's
    /// own code elsewhere (an x86 host without FMA, where the generic code's fused
    /// multiply-add would be a libm call per term). Measured in docs/PERFORMANCE.md.
    pub fn choose() -> Result<Products, BackendError> {
        let setting = std::env::var("PDENET_PRODUCTS").unwrap_or_default();
        Products::parse(&setting)
    }

    fn parse(setting: &str) -> Result<Products, BackendError> {
        let named = match setting {
            "" | "auto" => return Ok(Products::auto()),
            "clif" => return Ok(Products::Clif),
            name => Isa::ALL.into_iter().find(|i| i.name() == name),
        };
        match named {
            Some(isa) if isa.available() => Ok(Products::Native(isa)),
            Some(isa) => Err(BackendError::Unsupported(format!(
                "PDENET_PRODUCTS={}: this CPU has no {}",
                isa.name(),
                isa.name()
            ))),
            None => Err(BackendError::Unsupported(format!(
                "PDENET_PRODUCTS={setting}: expected auto, clif, generic, avx2 or avx512"
            ))),
        }
    }

    fn auto() -> Products {
        if cfg!(target_arch = "aarch64") {
            return Products::Native(Isa::Generic);
        }
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|i| i.available())
            .map_or(Products::Clif, Products::Native)
    }
}

/// `out = W·x` over one tile: (w, x, xs, out, n_out, n_in, so, sk, tb); pointers
/// to the kernel's precision, `xs` and `tb` (a tile's entry: its points) in bytes,
/// the rest in elements.
pub type MatVecFn =
    unsafe extern "C" fn(*const u8, *const u8, isize, *mut u8, usize, usize, usize, usize, usize);

/// One product of a gradient sum: δ and x with their entries' strides in bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct GradPair {
    pub d: *const u8,
    pub ds: isize,
    pub x: *const u8,
    pub xs: isize,
}

/// The most pairs one `grad` call sums (a layer's jet components: value, first and
/// second derivatives; `clif` merges up to this many).
pub const MAX_PAIRS: usize = 4;

/// `grad += Σ_pairs Σ_points δ·xᵀ` over one tile: (pairs, n, mask, grad, rows, cols,
/// tb); `pairs` points at `n` (1..=`MAX_PAIRS`) [`GradPair`]s, `tb` in bytes, `grad`
/// at the matrix's first accumulator.
pub type GradFn =
    unsafe extern "C" fn(*const GradPair, usize, *const u8, *mut u8, usize, usize, usize);

/// `out[e] += accumulator e's lanes, in lane order, in f64` for `n` accumulators of
/// 16 bytes, which are then zeroed: (acc, out, n). After each call of a compiled
/// function the host flushes θ's whole gradient this way.
pub type FlushFn = unsafe extern "C" fn(*mut u8, *mut f64, usize);

/// The entry points for one precision and instruction set.
#[derive(Debug, Clone, Copy)]
pub struct Kernels {
    pub matvec: MatVecFn,
    pub grad: GradFn,
    pub flush: FlushFn,
    /// tanh and exp over a tile's entries (`funcs`).
    pub func: FuncFn,
}

impl Kernels {
    /// The microkernels for `isa` in f64 (`wide`) or f32. The caller has checked
    /// [`Isa::available`].
    pub fn new(isa: Isa, wide: bool) -> Kernels {
        let [f32s, f64s] = match isa {
            Isa::Generic => generic::KERNELS,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2::KERNELS,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512::KERNELS,
            #[cfg(not(target_arch = "x86_64"))]
            Isa::Avx2 | Isa::Avx512 => generic::KERNELS,
        };
        if wide {
            f64s
        } else {
            f32s
        }
    }
}

/// What the microkernels need of a number type.
trait Real: Copy + Default + std::ops::Add<Output = Self> {
    /// self·a + b, rounded once.
    fn fma(self, a: Self, b: Self) -> Self;
    /// self with its bits ANDed with m's (the lane mask).
    fn masked(self, m: Self) -> Self;
    /// Whether every bit is set (a live point's lane mask).
    fn is_all_ones(self) -> bool;
    /// a = d·x + a lane by lane, each rounded once.
    #[inline(always)]
    fn fma_lanes<const G: usize>(a: &mut [Self; G], d: &[Self; G], x: &[Self; G]) {
        fma_each(a, d, x)
    }
}

/// [`Real::fma_lanes`] as a plain loop, for LLVM to vectorize.
#[inline(always)]
fn fma_each<T: Real, const G: usize>(a: &mut [T; G], d: &[T; G], x: &[T; G]) {
    for j in 0..G {
        a[j] = d[j].fma(x[j], a[j]);
    }
}

impl Real for f32 {
    #[inline(always)]
    fn fma(self, a: f32, b: f32) -> f32 {
        self.mul_add(a, b)
    }
    #[inline(always)]
    fn masked(self, m: f32) -> f32 {
        f32::from_bits(self.to_bits() & m.to_bits())
    }
    #[inline(always)]
    fn is_all_ones(self) -> bool {
        self.to_bits() == u32::MAX
    }
}

impl Real for f64 {
    #[inline(always)]
    fn fma(self, a: f64, b: f64) -> f64 {
        self.mul_add(a, b)
    }
    #[inline(always)]
    fn masked(self, m: f64) -> f64 {
        f64::from_bits(self.to_bits() & m.to_bits())
    }
    #[inline(always)]
    fn is_all_ones(self) -> bool {
        self.to_bits() == u64::MAX
    }
    /// Four lanes are the AVX2 build's (only it sums f64 in 4 lanes), where LLVM
    /// vectorized the plain loop into half-vector shuffles and spills: the `grad`
    /// microkernel took 46 % of the MLP 100×5 f64 epoch, 26 % in f32. One FMA.
    #[inline(always)]
    fn fma_lanes<const G: usize>(a: &mut [f64; G], d: &[f64; G], x: &[f64; G]) {
        #[cfg(target_arch = "x86_64")]
        if G == 4 {
            use std::arch::x86_64::{__m256d, _mm256_fmadd_pd};
            let v =
                |x: &[f64; G]| -> __m256d { bytemuck::cast(*bytemuck::cast_ref::<_, [f64; 4]>(x)) };
            // SAFETY: this instance runs only in the AVX2 + FMA entry points.
            let r = unsafe { _mm256_fmadd_pd(v(d), v(x), v(a)) };
            *bytemuck::cast_mut::<_, [f64; 4]>(a) = bytemuck::cast(r);
            return;
        }
        fma_each(a, d, x)
    }
}

/// Lanes of one of the kernel's accumulators.
const fn lanes<T>() -> usize {
    VB / size_of::<T>()
}

/// Reads N consecutive numbers.
#[inline(always)]
unsafe fn load<T: Copy, const N: usize>(p: *const T) -> [T; N] {
    unsafe { p.cast::<[T; N]>().read_unaligned() }
}

/// Runs `$call` with a constant `R` equal to the run-time `$n` in 1..=7 (a register
/// block's remainder), nothing for 0.
macro_rules! by_count {
    ($n:expr, |$r:ident| $call:expr) => {
        by_count!(@arms $n, $r, $call, [1, 2, 3, 4, 5, 6, 7])
    };
    (@arms $n:expr, $r:ident, $call:expr, [$($k:literal),*]) => {
        match $n {
            $($k => {
                const $r: usize = $k;
                $call
            })*
            _ => {}
        }
    };
}

/// [`FlushFn`]: `C` accumulators at a time, each lane of the `C` converted and
/// added as one vector (the lanes of one accumulator are a transpose away, which
/// LLVM does with shuffles), so each f64 sees its lanes in order as a scalar loop
/// would add them.
#[inline(always)]
unsafe fn flush<T: Real + Into<f64>, const C: usize>(acc: *mut u8, out: *mut f64, n: usize) {
    let l = lanes::<T>();
    let a = acc.cast::<T>();
    let mut e0 = 0;
    while e0 + C <= n {
        let mut o: [f64; C] = unsafe { load(out.add(e0)) };
        for lane in 0..l {
            for (e, oe) in o.iter_mut().enumerate() {
                *oe += unsafe { *a.add((e0 + e) * l + lane) }.into();
            }
        }
        unsafe { out.add(e0).cast::<[f64; C]>().write_unaligned(o) };
        e0 += C;
    }
    for e in e0..n {
        for lane in 0..l {
            unsafe { *out.add(e) += (*a.add(e * l + lane)).into() };
        }
    }
    unsafe { std::ptr::write_bytes(acc, 0, n * VB) };
}

/// out = W·x over one tile in blocks of `MR` rows (MR ≤ 16: a remainder of 8 or
/// more takes a block of 8, the rest up to 7 rows) by `NR` points.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn matvec<T: Real, const MR: usize, const NR: usize>(
    w: *const u8,
    x: *const u8,
    xs: isize,
    out: *mut u8,
    n_out: usize,
    n_in: usize,
    so: usize,
    sk: usize,
    tb: usize,
) {
    let m = Product {
        w: w.cast::<T>(),
        x,
        xs,
        out: out.cast::<T>(),
        n_in,
        so,
        sk,
        pts: tb / size_of::<T>(),
    };
    let mut o0 = 0;
    while o0 + MR <= n_out {
        unsafe { m.rows::<MR, NR>(o0) };
        o0 += MR;
    }
    if MR > 8 && o0 + 8 <= n_out {
        unsafe { m.rows::<8, NR>(o0) };
        o0 += 8;
    }
    by_count!(n_out - o0, |R| unsafe { m.rows::<R, NR>(o0) });
}

/// The operands of one `matvec` call.
struct Product<T> {
    w: *const T,
    x: *const u8,
    xs: isize,
    out: *mut T,
    n_in: usize,
    so: usize,
    sk: usize,
    /// Points of the tile.
    pts: usize,
}

impl<T: Real> Product<T> {
    /// Output rows o0 .. o0 + R, `NR` points at a time.
    #[inline(always)]
    unsafe fn rows<const R: usize, const NR: usize>(&self, o0: usize) {
        for p0 in (0..self.pts).step_by(NR) {
            let mut acc = [[T::default(); NR]; R];
            for k in 0..self.n_in {
                let xk = unsafe { self.x.offset(k as isize * self.xs).cast::<T>().add(p0) };
                let xv: [T; NR] = unsafe { load(xk) };
                for (r, row) in acc.iter_mut().enumerate() {
                    let wv = unsafe { *self.w.add((o0 + r) * self.so + k * self.sk) };
                    for (a, &xj) in row.iter_mut().zip(&xv) {
                        *a = wv.fma(xj, *a);
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                let dst = unsafe { self.out.add((o0 + r) * self.pts + p0) };
                unsafe { dst.cast::<[T; NR]>().write_unaligned(*row) };
            }
        }
    }
}

/// grad += Σ_pairs Σₚ δ·xᵀ over one tile in blocks of `RB` rows by `CB` columns
/// (each ≤ 8), `G` interleaved lanes per sum. Only a tile with padding (the last)
/// masks δ. A block sums every pair before it folds its sums into the accumulators:
/// the fold and the accumulators' load and store cost about as much as a tile's
/// FMAs for one pair, so the jet components of a layer are summed together.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn grad<T: Real, const RB: usize, const CB: usize, const G: usize>(
    pairs: *const GradPair,
    n: usize,
    mask: *const u8,
    grad: *mut u8,
    rows: usize,
    cols: usize,
    tb: usize,
) {
    let pairs = unsafe { std::slice::from_raw_parts(pairs, n) };
    let g = Outer {
        pairs,
        mask: mask.cast::<T>(),
        grad: grad.cast::<T>(),
        cols,
        pts: tb / size_of::<T>(),
    };
    let m: &[T] = unsafe { std::slice::from_raw_parts(g.mask, g.pts) };
    let full = m.iter().all(|&v| v.is_all_ones());
    let mut r0 = 0;
    while r0 + RB <= rows {
        match full {
            true => unsafe { g.rows::<RB, CB, G, false>(r0) },
            false => unsafe { g.rows::<RB, CB, G, true>(r0) },
        }
        r0 += RB;
    }
    match full {
        true => by_count!(rows - r0, |R| unsafe { g.rows::<R, CB, G, false>(r0) }),
        false => by_count!(rows - r0, |R| unsafe { g.rows::<R, CB, G, true>(r0) }),
    }
}

/// The operands of one `grad` call.
struct Outer<'a, T> {
    pairs: &'a [GradPair],
    mask: *const T,
    grad: *mut T,
    cols: usize,
    /// Points of the tile.
    pts: usize,
}

impl<T: Real> Outer<'_, T> {
    /// Rows r0 .. r0 + R, every column, `CB` at a time.
    #[inline(always)]
    unsafe fn rows<const R: usize, const CB: usize, const G: usize, const MASK: bool>(
        &self,
        r0: usize,
    ) {
        let mut c0 = 0;
        while c0 + CB <= self.cols {
            unsafe { self.block::<R, CB, G, MASK>(r0, c0) };
            c0 += CB;
        }
        by_count!(self.cols - c0, |C| unsafe {
            self.block::<R, C, G, MASK>(r0, c0)
        });
    }

    /// Entry e of a value at point p0 of the tile.
    #[inline(always)]
    unsafe fn at(base: *const u8, stride: isize, e: usize, p0: usize) -> *const T {
        unsafe { base.offset(e as isize * stride).cast::<T>().add(p0) }
    }

    /// One R × C block of sums over the tile and every pair, pair after pair,
    /// folded into the accumulators.
    #[inline(always)]
    unsafe fn block<const R: usize, const C: usize, const G: usize, const MASK: bool>(
        &self,
        r0: usize,
        c0: usize,
    ) {
        let mut acc = [[[T::default(); G]; C]; R];
        for pair in self.pairs {
            for p0 in (0..self.pts).step_by(G) {
                let mut dv = [[T::default(); G]; R];
                for (r, dr) in dv.iter_mut().enumerate() {
                    *dr = unsafe { load(Self::at(pair.d, pair.ds, r0 + r, p0)) };
                    if MASK {
                        let m: [T; G] = unsafe { load(self.mask.add(p0)) };
                        for (v, mj) in dr.iter_mut().zip(m) {
                            *v = v.masked(mj);
                        }
                    }
                }
                for c in 0..C {
                    let xv: [T; G] = unsafe { load(Self::at(pair.x, pair.xs, c0 + c, p0)) };
                    for (ar, dr) in acc.iter_mut().zip(&dv) {
                        T::fma_lanes(&mut ar[c], dr, &xv);
                    }
                }
            }
        }
        for (r, ar) in acc.iter().enumerate() {
            let g = unsafe { self.grad.add(((r0 + r) * self.cols + c0) * lanes::<T>()) };
            unsafe { fold_into::<T, C, G>(ar, g) };
        }
    }
}

/// Adds each of `C` sums in `G` lanes to its accumulator of `L = lanes::<T>()`
/// lanes (`C` consecutive accumulators from `g`). Lane j of an accumulator gets
/// the tree of its sum's lanes j, j + L, … (neighbouring quarters first:
/// (q0 + q1) + (q2 + q3)). `G / L` sums fold side by side into one vector by
/// [`halve`], whole vectors at a time (shuffles and adds), and go to memory in one
/// add. (Folded a quarter at a time, the fold cost about as much as the tile's FMAs.)
#[inline(always)]
unsafe fn fold_into<T: Real, const C: usize, const G: usize>(acc: &[[T; G]; C], g: *mut T) {
    const { assert!(G / lanes::<T>() <= MAX_QUARTERS) };
    let l = lanes::<T>();
    let q = G / l;
    let mut c = 0;
    while c < C {
        // q sums side by side where there are q left, else one at a time.
        let n = if c + q <= C { q } else { 1 };
        let mut v = [[T::default(); G]; MAX_QUARTERS];
        for (i, vi) in v.iter_mut().enumerate().take(q) {
            *vi = acc[c + i.min(n - 1)];
        }
        let mut m = q;
        while m > 1 {
            for i in 0..m / 2 {
                v[i] = halve::<T, G>(&v[2 * i], &v[2 * i + 1], l);
            }
            m /= 2;
        }
        let dst = unsafe { g.add(c * l) };
        for (e, &s) in v[0].iter().enumerate().take(n * l) {
            unsafe { *dst.add(e) = *dst.add(e) + s };
        }
        c += n;
    }
}

/// The most quarters (`G / L`) of any instruction set's sums: 16 f32 lanes in
/// accumulators of four, 8 f64 lanes in accumulators of two.
const MAX_QUARTERS: usize = 4;

/// Quarter k (of `l` lanes) of the result is the sum of neighbouring quarters
/// 2k and 2k + 1 of x for the first half of k, of y for the second.
#[inline(always)]
fn halve<T: Real, const G: usize>(x: &[T; G], y: &[T; G], l: usize) -> [T; G] {
    let half = G / l / 2;
    // A plain loop, not `array::from_fn`: LLVM left from_fn's f32 AVX-512 instance
    // an out-of-line call without the caller's target features (a quarter of the
    // QRes epoch in `perf`); a loop inlines into the entry point and vectorizes.
    let mut out = [T::default(); G];
    for (e, o) in out.iter_mut().enumerate() {
        let (k, j) = (e / l, e % l);
        let (src, k) = if k < half {
            (x, 2 * k)
        } else {
            (y, 2 * (k - half))
        };
        *o = src[k * l + j] + src[(k + 1) * l + j];
    }
    out
}

/// `V` vectors of `L` lanes of independent fused multiply-add chains, `reps` deep:
/// the instruction set's FMA throughput when V hides the latency (V ≥ latency ×
/// FMA units; 12 ≥ 4 × 2 on current cores). Returns a number that depends on every
/// chain. For the generic build; x86 uses [`x86_chains`]' intrinsics, since LLVM
/// left these f64 chains scalar under AVX2 (and a peak must not depend on the
/// autovectorizer).
#[inline(always)]
fn chains<T: Real, const V: usize, const L: usize>(reps: usize) -> T {
    let a: T = std::hint::black_box(T::default());
    let b: T = std::hint::black_box(T::default());
    let mut acc = [[T::default(); L]; V];
    for _ in 0..reps {
        for v in acc.iter_mut() {
            for x in v.iter_mut() {
                *x = x.fma(a, b);
            }
        }
    }
    acc.into_iter().flatten().fold(T::default(), |s, x| s + x)
}

/// Chains of the peak measurement: vectors per chain set.
const CHAINS: usize = 12;

/// [`chains`] written with x86 intrinsics: `$v` vectors of `$t` (`$lanes` lanes).
#[cfg(target_arch = "x86_64")]
macro_rules! x86_chains {
    ($name:ident, $feat:literal, $t:ty, $lanes:literal, $v:ty,
     $set1:ident, $fmadd:ident, $store:ident) => {
        #[target_feature(enable = $feat)]
        pub unsafe fn $name(reps: usize) -> $t {
            use std::arch::x86_64::*;
            let a = $set1(std::hint::black_box(0.0));
            let b = $set1(std::hint::black_box(0.0));
            let mut acc: [$v; CHAINS] = [a; CHAINS];
            for _ in 0..reps {
                for x in acc.iter_mut() {
                    *x = $fmadd(*x, a, b);
                }
            }
            let mut lanes = [0.0 as $t; $lanes];
            let mut sum = 0.0;
            for x in acc {
                unsafe { $store(lanes.as_mut_ptr(), x) };
                sum += lanes.iter().sum::<$t>();
            }
            sum
        }
    };
}

/// The `extern "C"` entry points of one instruction set: `$feat` the target
/// features and `$lanes` f32 per vector, then matvec's (MR, NR) and grad's (RB, CB)
/// for f32 and f64 (grad sums in one vector of lanes), and the peak's FMA chains.
macro_rules! entry_points {
    ($feat:literal, $lanes:literal,
     ($mr32:literal, $nr32:literal, $rb32:literal, $cb32:literal),
     ($mr64:literal, $nr64:literal, $rb64:literal, $cb64:literal)) => {
        use super::{flush, funcs, grad, matvec, GradPair, Kernels};

        /// The f32 and the f64 kernels.
        pub const KERNELS: [Kernels; 2] = [
            Kernels {
                matvec: matvec_f32,
                grad: grad_f32,
                flush: flush_f32,
                func: func_f32,
            },
            Kernels {
                matvec: matvec_f64,
                grad: grad_f64,
                flush: flush_f64,
                func: func_f64,
            },
        ];

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn flush_f32(acc: *mut u8, out: *mut f64, n: usize) {
            unsafe { flush::<f32, { 2 * $lanes }>(acc, out, n) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn flush_f64(acc: *mut u8, out: *mut f64, n: usize) {
            unsafe { flush::<f64, { 2 * $lanes }>(acc, out, n) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn func_f32(
            f: usize,
            x: *const u8,
            xs: isize,
            out: *mut u8,
            os: isize,
            entries: usize,
            tb: usize,
        ) {
            unsafe { funcs::apply::<f32, $lanes>(f, x, xs, out, os, entries, tb) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn func_f64(
            f: usize,
            x: *const u8,
            xs: isize,
            out: *mut u8,
            os: isize,
            entries: usize,
            tb: usize,
        ) {
            unsafe { funcs::apply::<f64, { $lanes / 2 }>(f, x, xs, out, os, entries, tb) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn matvec_f32(
            w: *const u8,
            x: *const u8,
            xs: isize,
            out: *mut u8,
            n_out: usize,
            n_in: usize,
            so: usize,
            sk: usize,
            tb: usize,
        ) {
            unsafe { matvec::<f32, $mr32, $nr32>(w, x, xs, out, n_out, n_in, so, sk, tb) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn matvec_f64(
            w: *const u8,
            x: *const u8,
            xs: isize,
            out: *mut u8,
            n_out: usize,
            n_in: usize,
            so: usize,
            sk: usize,
            tb: usize,
        ) {
            unsafe { matvec::<f64, $mr64, $nr64>(w, x, xs, out, n_out, n_in, so, sk, tb) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn grad_f32(
            pairs: *const GradPair,
            n: usize,
            mask: *const u8,
            g: *mut u8,
            rows: usize,
            cols: usize,
            tb: usize,
        ) {
            unsafe { grad::<f32, $rb32, $cb32, $lanes>(pairs, n, mask, g, rows, cols, tb) }
        }

        #[target_feature(enable = $feat)]
        pub unsafe extern "C" fn grad_f64(
            pairs: *const GradPair,
            n: usize,
            mask: *const u8,
            g: *mut u8,
            rows: usize,
            cols: usize,
            tb: usize,
        ) {
            unsafe { grad::<f64, $rb64, $cb64, { $lanes / 2 }>(pairs, n, mask, g, rows, cols, tb) }
        }
    };
}

/// Block sizes keep the accumulators in registers: 16 ymm (AVX2, and 16 xmm for
/// SSE2), 32 zmm (AVX-512). The matvec block is MR rows by two vectors of points
/// (2·MR accumulators); the grad block RB × CB sums of one vector each, with RB
/// vectors of δ and one of x beside them.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::CHAINS;
    entry_points!("avx2,fma", 8, (6, 16, 2, 5), (6, 8, 2, 5));
    x86_chains!(
        fma_f32,
        "avx2,fma",
        f32,
        8,
        __m256,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_storeu_ps
    );
    x86_chains!(
        fma_f64,
        "avx2,fma",
        f64,
        4,
        __m256d,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_storeu_pd
    );
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::CHAINS;
    entry_points!("avx512f,fma", 16, (12, 32, 6, 4), (12, 16, 6, 4));
    x86_chains!(
        fma_f32,
        "avx512f",
        f32,
        16,
        __m512,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_storeu_ps
    );
    x86_chains!(
        fma_f64,
        "avx512f",
        f64,
        8,
        __m512d,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_storeu_pd
    );
}

/// The baseline of the target (`target_feature` wants a name: each is always there).
mod generic {
    use super::{chains, CHAINS};

    pub fn fma_f32(reps: usize) -> f32 {
        chains::<f32, CHAINS, 4>(reps)
    }

    pub fn fma_f64(reps: usize) -> f64 {
        chains::<f64, CHAINS, 2>(reps)
    }

    #[cfg(target_arch = "x86_64")]
    entry_points!("sse2", 4, (6, 8, 2, 5), (6, 4, 2, 5));
    #[cfg(target_arch = "aarch64")]
    entry_points!("neon", 4, (6, 8, 2, 5), (6, 4, 2, 5));
}

/// This core's measured throughput on an instruction set, GFLOP/s (an FMA is two).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Independent FMA chains in registers: the core's arithmetic peak.
    pub fma: f64,
    /// The `matvec` microkernel on a 256 × 256 W over tiles of points (a large GEMM,
    /// in L2): what the products can reach.
    pub gemm: f64,
    /// The `grad` microkernel on a 256 × 256 gradient over tiles of points: the sums
    /// over a tile's points, folded into the accumulators once per tile.
    pub grad: f64,
}

/// Measures one core's [`Peak`] for `isa` in f64 (`wide`) or f32, in about 0.2 s.
/// The caller has checked [`Isa::available`].
pub fn peak(isa: Isa, wide: bool) -> Peak {
    let fma = |reps: usize| -> f64 {
        // SAFETY: `isa` is available (the caller's contract).
        unsafe {
            match (isa, wide) {
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx512, false) => avx512::fma_f32(reps) as f64,
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx512, true) => avx512::fma_f64(reps),
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx2, false) => avx2::fma_f32(reps) as f64,
                #[cfg(target_arch = "x86_64")]
                (Isa::Avx2, true) => avx2::fma_f64(reps),
                (_, false) => generic::fma_f32(reps) as f64,
                (_, true) => generic::fma_f64(reps),
            }
        }
    };
    let lanes = match isa {
        Isa::Generic => 4,
        Isa::Avx2 => 8,
        Isa::Avx512 => 16,
    };
    let chains = CHAINS * lanes / if wide { 2 } else { 1 };
    let fma = gflops(
        |reps| {
            std::hint::black_box(fma(reps));
        },
        2 * chains,
    );
    let k = Kernels::new(isa, wide);
    let n = 256usize;
    let el = if wide { 8 } else { 4 };
    let pts = TILE * VB / el;
    let w = vec![0x3c00_3c00u32; n * n * el / 4];
    let x = vec![0x3c00_3c00u32; n * pts * el / 4];
    let mut out = vec![0u32; n * pts * el / 4];
    let mask = vec![u32::MAX; pts * el / 4];
    let mut acc = vec![0u32; n * n * VB / 4];
    let gemm = gflops(
        |reps| {
            for _ in 0..reps {
                // SAFETY: the buffers hold W (n × n), x and out (n entries of a tile).
                unsafe {
                    (k.matvec)(
                        w.as_ptr().cast(),
                        x.as_ptr().cast(),
                        (pts * el) as isize,
                        out.as_mut_ptr().cast(),
                        n,
                        n,
                        n,
                        1,
                        pts * el,
                    )
                }
            }
        },
        2 * n * n * pts,
    );
    let pair = GradPair {
        d: x.as_ptr().cast(),
        ds: (pts * el) as isize,
        x: out.as_ptr().cast(),
        xs: (pts * el) as isize,
    };
    let pairs = [pair; MAX_PAIRS];
    let grad = gflops(
        |reps| {
            for _ in 0..reps {
                // SAFETY: δ and x are n entries of a tile, acc n × n accumulators.
                unsafe {
                    (k.grad)(
                        pairs.as_ptr(),
                        MAX_PAIRS,
                        mask.as_ptr().cast(),
                        acc.as_mut_ptr().cast(),
                        n,
                        n,
                        pts * el,
                    )
                }
            }
        },
        2 * n * n * pts * MAX_PAIRS,
    );
    Peak { fma, gemm, grad }
}

/// GFLOP/s of `run(reps)` doing `flops` per rep: reps doubled until a run takes
/// 20 ms, then the best of five runs.
fn gflops(mut run: impl FnMut(usize), flops: usize) -> f64 {
    let mut reps = 1usize;
    loop {
        let t0 = std::time::Instant::now();
        run(reps);
        if t0.elapsed().as_secs_f64() > 0.02 {
            break;
        }
        reps *= 2;
    }
    let best = (0..5)
        .map(|_| {
            let t0 = std::time::Instant::now();
            run(reps);
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    (reps * flops) as f64 / best / 1e9
}

/// AVX-512's block sizes in the generic build, so their remainders and folds are
/// tested on hosts without AVX-512 (`micro_tests`).
#[cfg(all(test, target_arch = "x86_64"))]
pub(super) mod wide_blocks {
    entry_points!("sse2", 16, (12, 32, 6, 4), (12, 16, 6, 4));
}
