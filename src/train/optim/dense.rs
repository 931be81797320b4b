//! Dense quasi-Newton: BFGS and its self-scaled variants, with the inverse Hessian H
//! kept as a full n×n matrix in f64 whatever the kernel's precision. These are the
//! methods that take a PINN's loss far below what L-BFGS reaches (Urbán, Stefanou &
//! Pons 2024, arXiv 2405.04230; Kiyani et al. 2025, arXiv 2501.16371: Burgers to
//! about 1e-7 with SSBroyden in f64, where L-BFGS stalls near 1e-3).
//!
//! Every rule here is one member of the scaled Broyden family,
//!
//!   H⁺ = (H − u uᵀ/c + φ c v vᵀ) / τ + ρ s sᵀ,   u = H y, c = yᵀu, ρ = 1/sᵀy,
//!   v = ρ s − u/c,
//!
//! with s = θ⁺ − θ, y = g⁺ − g; BFGS is φ = 1, τ = 1, and the self-scaled rules choose τ
//! (and φ) from h = c·ρ and b = −t·ρ·sᵀg (t the step length), by the paper's
//! formulas. Expanded, H⁺ = H/τ + β u uᵀ + γ (s uᵀ + u sᵀ) + δ s sᵀ, which
//! [`Dense::update`] applies row by row in one pass over H, computing the next
//! direction −H⁺g⁺ from each row as it is written: an iteration reads H twice (H·y,
//! then the update) and writes it once. Memory-bound above a few thousand parameters;
//! `pdenet bench` reports the cost against one loss-and-gradient evaluation. Where
//! the kernel runs on a GPU and a pass there is faster (`train::matrix`), that pass
//! runs there too, H kept on the device ([`DeviceMatrix`], `Store::Device`).
//!
//! The first update after a start or reset scales the identity first, H₀ = (sᵀy/yᵀy)·I
//! (Nocedal & Wright eq. 6.20), and applies plain BFGS: the self-scaling formulas
//! assume an H that has already seen curvature.

use super::quasi_newton::{Event, Memory, QuasiNewton, QuasiNewtonConfig, Updated};
use super::{dot, Kind, OptimizerState, StateError, Stop};
use crate::backend::DeviceMatrix;
use crate::kernel::KernelError;

pub use crate::problem::DenseRule as Rule;

/// The [`Kind`] of the dense method `rule`.
pub fn kind(rule: Rule) -> &'static Kind {
    match rule {
        Rule::Bfgs => &BFGS,
        Rule::SsbfgsAb => &SSBFGS,
        Rule::SsbfgsOl => &SSBFGS_OL,
        Rule::SsBroyden2 => &SSBROYDEN,
        Rule::SsBroyden1 => &SSBROYDEN1,
    }
}

/// (τ, φ) for an update by `rule` with h = yᵀHy/sᵀy and b = −t·sᵀg/sᵀy in dimension
/// n: BFGS τ = φ = 1; SSBFGS φ = 1 with Oren & Luenberger's τ = 1/b or Al-Baali's
/// τ = min(1, 1/b) (eq. 11 of arXiv 2405.04230); SSBroyden θ, τ, φ from its
/// eqs. 13–23. A τ that is not finite or not positive means the formulas broke down
/// (a = bh − 1 = 0, for one); the caller falls back to BFGS.
pub fn scaling(rule: Rule, h: f64, b: f64, n: usize) -> (f64, f64) {
    match rule {
        Rule::Bfgs => (1.0, 1.0),
        Rule::SsbfgsOl => (1.0 / b, 1.0),
        Rule::SsbfgsAb => ((1.0 / b).min(1.0), 1.0),
        Rule::SsBroyden1 | Rule::SsBroyden2 => broyden_scaling(rule, h, b, n),
    }
}

/// The self-scaled Broyden choice of θ (the Broyden-class parameter), then τ and
/// φ = (1 − θ)/(1 + aθ), after arXiv 2405.04230 §3.
fn broyden_scaling(rule: Rule, h: f64, b: f64, n: usize) -> (f64, f64) {
    let a = b * h - 1.0;
    let r = (a.abs() / (1.0 + a)).sqrt();
    let rho_minus = (h * (1.0 - r)).min(1.0);
    let theta_minus = (rho_minus - 1.0) / a;
    let theta = if rule == Rule::SsBroyden2 {
        let theta_plus = 1.0 / rho_minus;
        theta_minus.max(theta_plus.min((1.0 - b) / b))
    } else {
        let theta_plus = (b * (1.0 + r)).max(1.0);
        let theta_sr1 = 1.0 / (1.0 - b);
        if b == 1.0 {
            theta_minus
        } else if b > 1.0 {
            theta_minus.max(theta_sr1)
        } else {
            theta_plus.min(theta_sr1)
        }
    };
    let rho_b = (1.0 / b).min(1.0);
    let sigma = 1.0 + theta * a;
    let sigma_root = sigma.abs().powf(1.0 / (1.0 - n as f64));
    let tau = if theta <= 0.0 {
        (rho_b * sigma_root).min(sigma)
    } else {
        rho_b * sigma_root.min(1.0 / theta)
    };
    (tau, (1.0 - theta) / sigma)
}

pub const BFGS: Kind = dense_kind("bfgs", "BFGS", "bfgs_iter_ms");
pub const SSBFGS: Kind = dense_kind("ssbfgs", "SSBFGS", "ssbfgs_iter_ms");
pub const SSBFGS_OL: Kind = dense_kind("ssbfgs_ol", "SSBFGS (OL)", "ssbfgs_ol_iter_ms");
pub const SSBROYDEN: Kind = dense_kind("ssbroyden", "SSBroyden", "ssbroyden_iter_ms");
pub const SSBROYDEN1: Kind = dense_kind("ssbroyden1", "SSBroyden1", "ssbroyden1_iter_ms");

const fn dense_kind(name: &'static str, title: &'static str, timing_key: &'static str) -> Kind {
    Kind {
        name,
        title,
        unit: "iteration",
        timing_key,
    }
}

/// A dense method as an optimizer.
pub type DenseQuasiNewton = QuasiNewton<Dense>;

/// The dense method `rule`, its n² products split over `threads` threads, or on
/// `device` when given (H of θ's order there).
pub fn dense(
    config: QuasiNewtonConfig,
    rule: Rule,
    threads: usize,
    device: Option<Box<dyn DeviceMatrix>>,
) -> DenseQuasiNewton {
    let memory = match device {
        Some(m) => Dense::on_device(rule, m),
        None => Dense::new(rule, threads),
    };
    QuasiNewton::with_memory(config, memory)
}

/// Where H is kept and its pass runs.
enum Store {
    /// Row-major in host memory, the pass split over `threads` threads.
    Host { h: Vec<f64>, threads: usize },
    /// On the kernel's device (a GPU), which makes the pass there.
    Device(Box<dyn DeviceMatrix>),
}

/// H as a dense symmetric matrix (both triangles stored, row-major, so that every pass
/// streams through memory), with the last update kept pending: H⁺ is written into the
/// matrix during the next update's pass, which reads each row once, applies the pending
/// update, writes it back and takes its products with g⁺ and y. One pass over H per
/// iteration; the direction −H⁺g⁺ comes from those products without another pass.
pub struct Dense {
    rule: Rule,
    n: usize,
    /// The matrix, before `pending` is applied.
    store: Store,
    /// H is the identity (nothing learned since the start or the last reset) and the
    /// store is not read; a pending update then starts from a multiple of the identity.
    fresh: bool,
    /// The last update, not yet written into the store; its vectors are `pu` and `ps`.
    pending: Option<Coefficients>,
    pu: Vec<f64>,
    ps: Vec<f64>,
    /// −H·g⁺ after the last update; valid while `cached`.
    next: Vec<f64>,
    cached: bool,
    s: Vec<f64>,
    y: Vec<f64>,
    /// H·y and H·g⁺ from the last pass.
    u: Vec<f64>,
    w: Vec<f64>,
}

/// The coefficients of H⁺ = keep·H + β u uᵀ + γ (s uᵀ + u sᵀ) + δ s sᵀ, where H is the
/// stored matrix, or the identity when `from_identity`.
type Coefficients = crate::backend::RankTwo;

// What the host does with an update's coefficients besides the pass over H.
impl Coefficients {
    fn to_vec(self) -> Vec<f64> {
        let from = f64::from(u8::from(self.from_identity));
        vec![self.keep, from, self.beta, self.gamma, self.delta]
    }

    fn from_slice(c: &[f64]) -> Self {
        Coefficients {
            keep: c[0],
            from_identity: c[1] != 0.0,
            beta: c[2],
            gamma: c[3],
            delta: c[4],
        }
    }

    /// H⁺·g from H·g = `hg`, with u and s the update's vectors: no pass over H.
    fn times(self, hg: &[f64], u: &[f64], s: &[f64], g: &[f64], out: &mut [f64]) {
        let (ug, sg) = (dot(u, g), dot(s, g));
        let cu = self.beta * ug + self.gamma * sg;
        let cs = self.gamma * ug + self.delta * sg;
        for (((o, &hg), &u), &s) in out.iter_mut().zip(hg).zip(u).zip(s) {
            *o = self.keep * hg + cu * u + cs * s;
        }
    }
}

impl Dense {
    /// H on the host, its pass split over `threads` threads.
    pub fn new(rule: Rule, threads: usize) -> Self {
        let threads = threads.max(1);
        Dense::with_store(
            rule,
            Store::Host {
                h: Vec::new(),
                threads,
            },
        )
    }

    /// H on a device (`backend::Engine::device_matrix`), its pass there.
    pub fn on_device(rule: Rule, matrix: Box<dyn DeviceMatrix>) -> Self {
        Dense::with_store(rule, Store::Device(matrix))
    }

    fn with_store(rule: Rule, store: Store) -> Self {
        Dense {
            rule,
            n: 0,
            store,
            fresh: true,
            pending: None,
            pu: Vec::new(),
            ps: Vec::new(),
            next: Vec::new(),
            cached: false,
            s: Vec::new(),
            y: Vec::new(),
            u: Vec::new(),
            w: Vec::new(),
        }
    }

    /// Puts H back to the identity.
    fn reset(&mut self) {
        self.fresh = true;
        self.pending = None;
        self.cached = false;
    }

    /// The one pass over H: writes the pending update into it, then w = H·g and, with
    /// `y`, u = H·y. Nothing to read while H is still the identity. Fails only when
    /// the device holding H does.
    fn sweep(&mut self, g: &[f64], with_y: bool) -> Result<(), Stop> {
        if self.fresh && self.pending.is_none() {
            self.w.copy_from_slice(g);
            self.u.copy_from_slice(&self.y);
            return Ok(());
        }
        let pending = self.pending.take();
        let (pu, ps, y) = (&self.pu, &self.ps, &self.y);
        let update = pending.map(|c| (c, &pu[..], &ps[..]));
        match &mut self.store {
            Store::Host { h, threads } => {
                let y = with_y.then_some(&y[..]);
                host_pass(h, *threads, update, g, y, &mut self.w, &mut self.u);
            }
            Store::Device(m) => {
                let (w, u) = m.sweep(update, g, y).map_err(device_failed)?;
                self.w = w;
                if with_y {
                    self.u = u;
                }
            }
        }
        self.fresh = false;
        Ok(())
    }

    /// Takes in the pair (s, y) with ρ = 1/sᵀy and c = yᵀHy, after a sweep with g⁺:
    /// the update becomes pending and `next` = −H⁺·g⁺. `restart` starts from
    /// (sᵀy/yᵀy)·I and BFGS instead (the first update, or a reset). Says whether the
    /// new direction is finite.
    fn take_pair(
        &mut self,
        t: f64,
        g_old: &[f64],
        g: &[f64],
        rho: f64,
        c: f64,
        restart: bool,
    ) -> bool {
        let coefficients = if restart {
            let scale = 1.0 / (rho * dot(&self.y, &self.y));
            for (u, &y) in self.u.iter_mut().zip(&self.y) {
                *u = scale * y;
            }
            let c = scale / rho;
            Coefficients {
                keep: scale,
                from_identity: true,
                beta: 0.0,
                gamma: -rho,
                delta: rho + c * rho * rho,
            }
        } else {
            let b = -t * rho * dot(&self.s, g_old);
            let (tau, phi) = match scaling(self.rule, c * rho, b, self.n) {
                (tau, phi) if tau > 0.0 && tau.is_finite() && phi.is_finite() => (tau, phi),
                _ => (1.0, 1.0),
            };
            Coefficients {
                keep: 1.0 / tau,
                from_identity: false,
                beta: (phi - 1.0) / (c * tau),
                gamma: -phi * rho / tau,
                delta: phi * c * rho * rho / tau + rho,
            }
        };
        // H·g⁺ is g⁺ itself when the update starts from the identity.
        let hg: &[f64] = if restart { g } else { &self.w };
        coefficients.times(hg, &self.u, &self.s, g, &mut self.next);
        for x in &mut self.next {
            *x = -*x;
        }
        std::mem::swap(&mut self.pu, &mut self.u);
        std::mem::swap(&mut self.ps, &mut self.s);
        self.pending = Some(coefficients);
        self.fresh = false;
        self.cached = self.next.iter().all(|x| x.is_finite());
        self.cached
    }
}

/// The pending update with its u and s, as a pass takes it.
type Update<'a> = Option<(Coefficients, &'a [f64], &'a [f64])>;

/// The host's pass over `h`, whole rows of order g.len() from row 0: `update` written
/// into each row, then w = H·g and, where `y` is given, u = H·y; the rows split over
/// `threads` threads.
fn host_pass(
    h: &mut [f64],
    threads: usize,
    update: Update,
    g: &[f64],
    y: Option<&[f64]>,
    w: &mut [f64],
    u: &mut [f64],
) {
    let mut rows: Vec<(&mut [f64], (&mut f64, &mut f64))> = h
        .chunks_mut(g.len().max(1))
        .zip(w.iter_mut().zip(u.iter_mut()))
        .collect();
    split_rows(&mut rows, threads, |first, chunk| {
        for (k, (row, (w, u))) in chunk.iter_mut().enumerate() {
            if let Some((c, pu, ps)) = update {
                update_row(row, first + k, c, pu, ps);
            }
            **w = dot_fast(row, g);
            if let Some(y) = y {
                **u = dot_fast(row, y);
            }
        }
    });
}

/// An update that changes nothing (keep = 1, β = γ = δ = 0): what a timed pass
/// over H applies, so that H is as it was after it.
const UNCHANGED: Coefficients = Coefficients {
    keep: 1.0,
    from_identity: false,
    beta: 0.0,
    gamma: 0.0,
    delta: 0.0,
};

/// A pass over `rows` (whole rows of an H of order `zeros.len()`, from row 0) that
/// applies [`UNCHANGED`] and takes both products, on `threads` threads: the host's
/// side of timing a pass (`train::matrix`), the same code as the phase's.
pub(crate) fn unchanged_host_pass(rows: &mut [f64], zeros: &[f64], threads: usize) {
    let count = rows.len() / zeros.len().max(1);
    let (mut w, mut u) = (vec![0.0; count], vec![0.0; count]);
    let update = Some((UNCHANGED, zeros, zeros));
    host_pass(rows, threads, update, zeros, Some(zeros), &mut w, &mut u);
}

/// The same pass over the H that `device` holds, which it leaves as it was.
pub(crate) fn unchanged_device_pass(
    device: &mut dyn DeviceMatrix,
    zeros: &[f64],
) -> Result<(), KernelError> {
    let update = Some((UNCHANGED, zeros, zeros));
    device.sweep(update, zeros, zeros).map(drop)
}

/// Why a quasi-Newton step stops when the device holding H fails.
fn device_failed(e: KernelError) -> Stop {
    Stop::new(format!("the device holding the dense H failed: {e}"))
}

/// Row `i` of the stored H replaced by the same row of keep·H (or keep·I) + β u uᵀ +
/// γ (s uᵀ + u sᵀ) + δ s sᵀ. Kept apart so that the compiler vectorizes the loop (three
/// independent fused multiply-adds per element).
#[inline]
pub(super) fn update_row(row: &mut [f64], i: usize, c: Coefficients, u: &[f64], s: &[f64]) {
    let a = c.beta * u[i] + c.gamma * s[i];
    let b = c.gamma * u[i] + c.delta * s[i];
    if c.from_identity {
        for ((h, &uj), &sj) in row.iter_mut().zip(u).zip(s) {
            *h = a * uj + b * sj;
        }
        row[i] += c.keep;
    } else {
        for ((h, &uj), &sj) in row.iter_mut().zip(u).zip(s) {
            *h = *h * c.keep + a * uj + b * sj;
        }
    }
}

/// A dot product in four independent partial sums, so that it vectorizes (the plain
/// left-to-right sum has one dependency chain and does not).
pub(super) fn dot_fast(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Runs `work(first_index, chunk)` over `items` split into `threads` contiguous chunks,
/// on the process's crew when there is more than one and the work is worth it.
fn split_rows<T: Send>(items: &mut [T], threads: usize, work: impl Fn(usize, &mut [T]) + Sync) {
    let len = items.len();
    if threads <= 1 || len < 256 {
        work(0, items);
        return;
    }
    let per = len.div_ceil(threads);
    let chunks: Vec<_> = items.chunks_mut(per).map(std::sync::Mutex::new).collect();
    crate::crew::run(chunks.len(), &|k| {
        let mut chunk = chunks[k].lock().unwrap_or_else(|e| e.into_inner());
        work(k * per, &mut chunk);
    });
}

impl Memory for Dense {
    fn kind(&self) -> &'static Kind {
        kind(self.rule)
    }

    fn start(&mut self, n: usize) {
        self.n = n;
        match &mut self.store {
            Store::Host { h, .. } => *h = vec![0.0; n * n],
            // A device matrix is made for θ's order; one of another cannot hold H.
            Store::Device(m) if m.order() != n => {
                self.store = Store::Host {
                    h: vec![0.0; n * n],
                    threads: 1,
                };
            }
            Store::Device(_) => {}
        }
        for v in [
            &mut self.pu,
            &mut self.ps,
            &mut self.next,
            &mut self.s,
            &mut self.y,
            &mut self.u,
            &mut self.w,
        ] {
            *v = vec![0.0; n];
        }
        self.reset();
    }

    fn is_empty(&self) -> bool {
        self.fresh
    }

    fn clear(&mut self) {
        self.reset();
    }

    fn direction(&mut self, g: &[f64], d: &mut [f64]) -> Result<(), Stop> {
        if !self.cached {
            self.sweep(g, false)?;
            for (n, &w) in self.next.iter_mut().zip(&self.w) {
                *n = -w;
            }
            self.cached = true;
        }
        d.copy_from_slice(&self.next);
        Ok(())
    }

    /// The guarded update: a pair whose curvature sᵀy is not clearly positive is
    /// skipped (the relative test of L-BFGS); yᵀHy ≤ 0 or a non-finite direction means
    /// H is no longer positive definite, and H restarts from a scaled identity with
    /// this pair.
    fn update(&mut self, t: f64, d: &[f64], g_old: &[f64], g_new: &[f64]) -> Updated {
        for (((s, y), &d), (&new, &old)) in self
            .s
            .iter_mut()
            .zip(&mut self.y)
            .zip(d)
            .zip(g_new.iter().zip(g_old))
        {
            *s = t * d;
            *y = new - old;
        }
        let (sy, yy, ss) = (
            dot(&self.s, &self.y),
            dot(&self.y, &self.y),
            dot(&self.s, &self.s),
        );
        self.cached = false;
        if !(sy > 1e-10 * (ss * yy).sqrt() && sy.is_finite()) {
            return Ok(Some(Event::CurvatureSkipped));
        }
        let rho = 1.0 / sy;
        let first = self.fresh;
        self.sweep(g_new, true)?;
        let c = dot(&self.y, &self.u);
        let positive = c > 0.0 && c.is_finite();
        let event = (!first && !positive).then_some(Event::ResetNotPositive);
        if self.take_pair(t, g_old, g_new, rho, c, first || !positive) {
            return Ok(event);
        }
        // The update left a direction that is not finite: restart from a scaled
        // identity with this pair (its vectors back in place), or forget everything if
        // even that fails.
        if !first && positive {
            std::mem::swap(&mut self.pu, &mut self.u);
            std::mem::swap(&mut self.ps, &mut self.s);
            if self.take_pair(t, g_old, g_new, rho, c, true) {
                return Ok(Some(Event::ResetNotPositive));
            }
        }
        self.reset();
        Ok(Some(Event::ResetNotPositive))
    }

    /// H keeps its curvature across a change of objective (the points were redrawn
    /// from the same distribution: the landscape's shape changes little, and the
    /// papers carry H across their resamplings); only the cached direction, which was
    /// computed from the old gradient, goes.
    fn objective_changed(&mut self) {
        self.cached = false;
    }

    /// A device that cannot give H back leaves a snapshot whose H is reset (a resumed
    /// run starts it again from the identity, as after a reset); the device's failure
    /// stops the run at its next evaluation.
    fn save(&self, state: &mut OptimizerState) {
        let h = match &self.store {
            _ if self.fresh => None,
            Store::Host { h, .. } => Some(h.clone()),
            Store::Device(m) => m.read().ok(),
        };
        let Some(h) = h else {
            state.put("fresh", vec![1.0]);
            return;
        };
        state.put("fresh", vec![0.0]);
        state.put("h", h);
        if self.cached {
            state.put("next", self.next.clone());
        }
        if let Some(c) = self.pending {
            state.put("pending", c.to_vec());
            state.put("pending_u", self.pu.clone());
            state.put("pending_s", self.ps.clone());
        }
    }

    fn restore(&mut self, state: &OptimizerState, n: usize) -> Result<(), StateError> {
        self.reset();
        if state.scalar("fresh")? == 0.0 {
            let saved = state.vector("h", n * n)?;
            match &mut self.store {
                Store::Host { h, .. } => h.copy_from_slice(saved),
                Store::Device(m) => m
                    .write(saved)
                    .map_err(|e| StateError::Device(e.to_string()))?,
            }
            self.fresh = false;
        }
        if state.get("pending").is_some() {
            self.pending = Some(Coefficients::from_slice(state.vector("pending", 5)?));
            self.pu.copy_from_slice(state.vector("pending_u", n)?);
            self.ps.copy_from_slice(state.vector("pending_s", n)?);
            self.fresh = false;
        }
        // The direction as the update computed it, which the pass over H would give
        // only up to rounding.
        if state.get("next").is_some() {
            self.next.copy_from_slice(state.vector("next", n)?);
            self.cached = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Matrix = Vec<Vec<f64>>;

    /// The host store's matrix.
    fn stored(dense: &mut Dense) -> &mut Vec<f64> {
        match &mut dense.store {
            Store::Host { h, .. } => h,
            Store::Device(_) => panic!("H is on a device"),
        }
    }

    fn mat_vec(a: &Matrix, x: &[f64]) -> Vec<f64> {
        a.iter().map(|row| dot(row, x)).collect()
    }

    fn outer(a: &[f64], b: &[f64]) -> Matrix {
        a.iter()
            .map(|x| b.iter().map(|y| x * y).collect())
            .collect()
    }

    /// The scaled Broyden update written as the paper writes it,
    /// H⁺ = (H − u uᵀ/c + φ c v vᵀ)/τ + ρ s sᵀ, term by term.
    fn by_the_formula(h: &Matrix, s: &[f64], y: &[f64], tau: f64, phi: f64) -> Matrix {
        let u = mat_vec(h, y);
        let c = dot(y, &u);
        let rho = 1.0 / dot(s, y);
        let v: Vec<f64> = s.iter().zip(&u).map(|(s, u)| rho * s - u / c).collect();
        let (uu, vv, ss) = (outer(&u, &u), outer(&v, &v), outer(s, s));
        (0..h.len())
            .map(|i| {
                (0..h.len())
                    .map(|j| (h[i][j] - uu[i][j] / c + phi * c * vv[i][j]) / tau + rho * ss[i][j])
                    .collect()
            })
            .collect()
    }

    /// One update of each rule from a planted H against the paper's formula, with τ
    /// and φ from [`scaling`]; and the direction it leaves against −H⁺·g⁺. For BFGS the
    /// secant equation H⁺y = s holds too.
    #[test]
    fn the_fused_update_is_the_papers_formula() {
        let h0: Matrix = vec![
            vec![2.0, 0.3, -0.1],
            vec![0.3, 1.0, 0.2],
            vec![-0.1, 0.2, 0.5],
        ];
        let (t, d) = (0.5, [-1.0, 0.4, 0.3]);
        let g_old = [0.8, -0.5, -0.2];
        let g_new = [0.1, -0.2, 0.15];
        let s: Vec<f64> = d.iter().map(|d| t * d).collect();
        let y: Vec<f64> = g_new.iter().zip(&g_old).map(|(a, b)| a - b).collect();
        for rule in Rule::ALL {
            let mut dense = Dense::new(rule, 1);
            dense.start(3);
            *stored(&mut dense) = h0.concat();
            dense.fresh = false;
            assert_eq!(dense.update(t, &d, &g_old, &g_new), Ok(None), "{rule:?}");
            // The direction the update left, from products alone; then the pass that
            // writes H⁺ and computes −H⁺·g⁺ from it.
            let cached = dense.next.clone();
            dense.objective_changed();
            let mut direction = [0.0; 3];
            dense
                .direction(&g_new, &mut direction)
                .expect("on the host");
            let u = mat_vec(&h0, &y);
            let rho = 1.0 / dot(&s, &y);
            let b = -t * rho * dot(&s, &g_old);
            let (tau, phi) = scaling(rule, dot(&y, &u) * rho, b, 3);
            assert!(
                tau > 0.0 && tau.is_finite() && phi.is_finite(),
                "{rule:?}: {tau} {phi}"
            );
            let want = by_the_formula(&h0, &s, &y, tau, phi);
            for (got, want) in stored(&mut dense).iter().zip(want.concat()) {
                assert!((got - want).abs() < 1e-13, "{rule:?}: {got} vs {want}");
            }
            for ((got, cached), want) in direction.iter().zip(&cached).zip(mat_vec(&want, &g_new)) {
                assert!((got + want).abs() < 1e-13, "{rule:?}");
                assert!((cached + want).abs() < 1e-13, "{rule:?}");
            }
            if rule == Rule::Bfgs {
                for (hy, s) in mat_vec(&want, &y).iter().zip(&s) {
                    assert!((hy - s).abs() < 1e-13, "secant: {hy} vs {s}");
                }
            }
        }
    }

    /// The scalings by hand for one (h, b): BFGS and the two SSBFGS choices are one
    /// line each; SSBroyden2's θ is clamped to [θ⁻, θ⁺] around (1 − b)/b.
    #[test]
    fn scalings_by_hand() {
        let (h, b) = (1.5, 2.0);
        assert_eq!(scaling(Rule::Bfgs, h, b, 10), (1.0, 1.0));
        assert_eq!(scaling(Rule::SsbfgsOl, h, b, 10), (0.5, 1.0));
        assert_eq!(scaling(Rule::SsbfgsAb, h, b, 10), (0.5, 1.0));
        assert_eq!(scaling(Rule::SsbfgsAb, h, 0.5, 10), (1.0, 1.0));
        // a = bh − 1 = 2, √(a/(1+a)) = √(2/3), ρ⁻ = min(1, h(1 − √(2/3))) = 0.27526,
        // θ⁻ = (ρ⁻ − 1)/a = −0.36237, θ⁺ = 1/ρ⁻ = 3.6330, (1 − b)/b = −0.5 → θ = θ⁻;
        // σ = 1 + θa = 0.27526; θ ≤ 0: τ = min(min(1, 1/b)·σ^(1/(1−n)), σ) = σ;
        // φ = (1 − θ)/σ = 4.9495.
        let (tau, phi) = scaling(Rule::SsBroyden2, h, b, 10);
        let r = (2.0f64 / 3.0).sqrt();
        let rho_minus = h * (1.0 - r);
        let theta = (rho_minus - 1.0) / 2.0;
        let sigma = 1.0 + 2.0 * theta;
        assert!((tau - sigma).abs() < 1e-15, "{tau} vs {sigma}");
        assert!((phi - (1.0 - theta) / sigma).abs() < 1e-12, "{phi}");
        assert!((tau - 0.27526).abs() < 1e-5 && (phi - 4.9495).abs() < 1e-4);
    }

    /// Split over threads or not, the update gives the same bits: each row is one
    /// thread's, computed the same way.
    #[test]
    fn threads_do_not_change_the_update() {
        let n = 300;
        let wave = |k: usize, f: f64| (k as f64 * f).sin();
        let d: Vec<f64> = (0..n).map(|k| wave(k, 0.7)).collect();
        let g_old: Vec<f64> = (0..n).map(|k| wave(k, 1.3) - 2.0 * d[k]).collect();
        let g_new: Vec<f64> = (0..n).map(|k| wave(k, 1.3)).collect();
        let run = |threads| {
            let mut dense = Dense::new(Rule::SsBroyden2, threads);
            dense.start(n);
            for (t, d, g_old, g_new) in [
                (0.5, &d, &g_old, &g_new),
                (0.25, &g_new, &d, &g_old),
                (0.125, &d, &g_new, &g_old),
            ] {
                dense.update(t, d, g_old, g_new).expect("on the host");
            }
            (stored(&mut dense).clone(), dense.next)
        };
        assert_eq!(run(1), run(3));
    }
}
