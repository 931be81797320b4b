//! Tests of Adam and L-BFGS on functions with known minimizers, of the stopping rules,
//! and of what happens to θ when the objective fails.

use std::ops::ControlFlow;

use super::phase::Outcome;
use super::*;

/// Records every point evaluated and what came back.
struct Recorder<F> {
    f: F,
    points: Vec<(Vec<f64>, f64, Vec<f64>)>,
}

impl<F: FnMut(&[f64]) -> Result<Eval, Stop>> Objective for Recorder<F> {
    fn eval(&mut self, theta: &[f64]) -> Result<Eval, Stop> {
        let e = (self.f)(theta)?;
        self.points.push((theta.to_vec(), e.loss, e.grad.clone()));
        Ok(e)
    }
}

fn record<F: FnMut(&[f64]) -> Result<Eval, Stop>>(f: F) -> Recorder<F> {
    Recorder { f, points: vec![] }
}

/// The chained Rosenbrock function Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², minimized at 1.
fn rosenbrock(x: &[f64]) -> Result<Eval, Stop> {
    let mut loss = 0.0;
    let mut grad = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        loss += 100.0 * a * a + b * b;
        grad[i] += -400.0 * a * x[i] - 2.0 * b;
        grad[i + 1] += 200.0 * a;
    }
    Ok(Eval { loss, grad })
}

/// L-BFGS with `cfg` from `theta` through the trainer's loop, capped at `cfg.max_iter`.
fn minimize(
    obj: &mut dyn Objective,
    theta: &mut [f64],
    cfg: &QuasiNewtonConfig,
    on_step: impl FnMut(&IterInfo) -> ControlFlow<()>,
) -> Outcome {
    let mut lbfgs = lbfgs(*cfg, 50);
    lbfgs.start(theta);
    run(&mut lbfgs, obj, theta, cfg.max_iter, on_step)
}

fn lbfgs_run(cfg: &QuasiNewtonConfig, obj: &mut dyn Objective, theta: &mut [f64]) -> Outcome {
    minimize(obj, theta, cfg, |_| ControlFlow::Continue(()))
}

fn run_adam(
    obj: &mut dyn Objective,
    theta: &mut [f64],
    adam: &mut Adam,
    epochs: usize,
    on_step: impl FnMut(&IterInfo) -> ControlFlow<()>,
) -> Outcome {
    adam.start(theta);
    run(adam, obj, theta, epochs, on_step)
}

/// Whether the phase ended on one of the optimizer's own tests, with a message
/// starting with `start`.
fn finished(out: &Outcome, start: &str) -> bool {
    matches!(&out.end, End::Finished(m) if m.starts_with(start))
}

fn converged(out: &Outcome) -> bool {
    finished(out, "converged: max |∂loss/∂θᵢ| is ")
}

/// Settings that stop only on a tiny gradient, for the convergence tests.
fn strict() -> QuasiNewtonConfig {
    QuasiNewtonConfig {
        tolerance_grad: 1e-11,
        tolerance_change: 0.0,
        max_iter: 1000,
        ..QuasiNewtonConfig::default()
    }
}

fn max_error(x: &[f64], target: f64) -> f64 {
    x.iter().fold(0.0, |m, v| m.max((v - target).abs()))
}

// ----- Adam -----

#[test]
fn adam_first_two_steps_match_torch_by_hand() {
    let (lr, b1, b2, eps) = (1e-3, 0.9, 0.999, 1e-8);
    let theta0 = [0.5, -1.5, 2.0, 0.0];
    let g1 = [0.1, -0.2, 3.0, 1e-9];
    let g2 = [-0.3, -0.1, 2.5, 0.0];
    let mut adam = Adam::new(4, AdamConfig::default());
    let mut theta = theta0;
    adam.update(&mut theta, &g1).expect("finite gradient");
    let theta1 = theta;
    adam.update(&mut theta, &g2).expect("finite gradient");
    for i in 0..4 {
        // torch.optim.Adam, written out: m, v, the bias corrections, the update.
        let m1 = (1.0 - b1) * g1[i];
        let v1 = (1.0 - b2) * g1[i] * g1[i];
        let want1 = theta0[i] - lr / (1.0 - b1) * m1 / (v1.sqrt() / (1.0 - b2).sqrt() + eps);
        let m2 = b1 * m1 + (1.0 - b1) * g2[i];
        let v2 = b2 * v1 + (1.0 - b2) * g2[i] * g2[i];
        let bc1 = 1.0 - b1 * b1;
        let bc2 = 1.0 - b2 * b2;
        let want2 = want1 - lr / bc1 * m2 / (v2.sqrt() / bc2.sqrt() + eps);
        assert!(
            (theta1[i] - want1).abs() <= 1e-15,
            "step 1, {i}: {} vs {want1}",
            theta1[i]
        );
        assert!(
            (theta[i] - want2).abs() <= 1e-15,
            "step 2, {i}: {} vs {want2}",
            theta[i]
        );
    }
    // The first step moves each component by about lr·sign(g) (|g| ≫ eps).
    assert!((theta1[2] - (2.0 - 1e-3)).abs() < 1e-11);
    // Except where |g| is comparable to eps: 1e-9 / (1e-9 + 1e-8) of a full step.
    assert!((theta1[3] + 1e-3 * 1e-9 / (1e-9 + 1e-8)).abs() < 1e-15);
}

/// Warm-up then cosine, by hand: lr·(k + 1)/w for the first w steps, then
/// end + (lr − end)·½(1 + cos(π j/n)) for j steps after the warm-up, then `end`.
#[test]
fn adam_warmup_then_cosine_by_hand() {
    let config = AdamConfig {
        lr: 1e-3,
        warmup: 4,
        schedule: Schedule::Cosine {
            end: 1e-5,
            steps: 10,
        },
        ..AdamConfig::default()
    };
    assert_eq!(config.lr_at(0), 1e-3 / 4.0);
    assert_eq!(config.lr_at(3), 1e-3);
    assert_eq!(config.lr_at(4), 1e-3);
    let half = 1e-5 + (1e-3 - 1e-5) * 0.5;
    assert!((config.lr_at(4 + 5) - half).abs() < 1e-18);
    assert!((config.lr_at(4 + 10) - 1e-5).abs() < 1e-18);
    assert_eq!(config.lr_at(4 + 1000), config.lr_at(4 + 10));
    let falling: Vec<f64> = (4..=14).map(|k| config.lr_at(k)).collect();
    assert!(falling.windows(2).all(|w| w[1] < w[0]), "{falling:?}");
}

#[test]
fn adam_schedule_is_a_step_decay() {
    let s = Schedule::Exponential {
        gamma: 0.5,
        every: 10,
    };
    assert_eq!(s.lr_at(1e-2, 0), 1e-2);
    assert_eq!(s.lr_at(1e-2, 9), 1e-2);
    assert_eq!(s.lr_at(1e-2, 10), 5e-3);
    assert_eq!(s.lr_at(1e-2, 35), 1.25e-3);
    assert_eq!(Schedule::Constant.lr_at(3.0, 1_000_000), 3.0);
    let config = AdamConfig {
        schedule: s,
        ..AdamConfig::default()
    };
    let mut adam = Adam::new(1, config);
    let mut theta = [0.0];
    for _ in 0..10 {
        adam.update(&mut theta, &[1.0]).expect("finite gradient");
    }
    assert_eq!(adam.lr(), 5e-4);
}

#[test]
fn adam_converges_on_a_quadratic() {
    let centers: Vec<f64> = (0..20).map(|i| (i as f64 * 0.37).sin()).collect();
    let scales: Vec<f64> = (0..20).map(|i| 1.0 + i as f64).collect();
    let mut obj = |x: &[f64]| -> Result<Eval, Stop> {
        let mut loss = 0.0;
        let mut grad = vec![0.0; x.len()];
        for i in 0..x.len() {
            let r = x[i] - centers[i];
            loss += scales[i] * r * r;
            grad[i] = 2.0 * scales[i] * r;
        }
        Ok(Eval { loss, grad })
    };
    let config = AdamConfig {
        lr: 1e-2,
        schedule: Schedule::Exponential {
            gamma: 0.5,
            every: 500,
        },
        ..AdamConfig::default()
    };
    let mut adam = Adam::new(20, config);
    let mut theta = vec![0.0; 20];
    let mut losses = vec![];
    let out = run_adam(&mut obj, &mut theta, &mut adam, 5000, |info| {
        losses.push(info.loss);
        ControlFlow::Continue(())
    });
    assert_eq!(out.end, End::IterationCap(5000));
    assert_eq!(
        (out.iterations, out.evaluations, losses.len()),
        (5000, 5000, 5000)
    );
    let err = theta
        .iter()
        .zip(&centers)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    eprintln!(
        "adam quadratic: max error {err:.2e}, final loss {:.2e}",
        losses[4999]
    );
    assert!(err < 1e-6, "max error {err}");
}

#[test]
fn adam_refuses_a_bad_gradient_without_moving() {
    let mut adam = Adam::new(2, AdamConfig::default());
    let mut theta = [1.0, 2.0];
    let err = adam.update(&mut theta, &[0.5, f64::NAN]);
    assert!(matches!(
        err,
        Err(Abort::NonFiniteGradient { index: 1, .. })
    ));
    let err = adam.update(&mut theta, &[0.5]);
    assert!(matches!(
        err,
        Err(Abort::GradientLength {
            expected: 2,
            found: 1
        })
    ));
    assert_eq!((theta, adam.steps()), ([1.0, 2.0], 0));
}

#[test]
fn adam_run_puts_theta_back_on_a_nan_and_passes_stops_on() {
    let mut calls = 0;
    let mut obj = record(|x: &[f64]| {
        calls += 1;
        let loss = if calls == 5 { f64::NAN } else { x[0] * x[0] };
        Ok(Eval {
            loss,
            grad: vec![2.0 * x[0]],
        })
    });
    let mut theta = vec![1.0];
    let mut adam = Adam::new(1, AdamConfig::default());
    let out = run_adam(&mut obj, &mut theta, &mut adam, 100, |_| {
        ControlFlow::Continue(())
    });
    assert!(
        matches!(out.end, End::Aborted(Abort::NonFiniteLoss { .. })),
        "{out:?}"
    );
    assert_eq!((out.iterations, out.evaluations), (4, 5));
    // The 4th evaluation was the last finite one; θ is that point, bit for bit.
    assert_eq!(theta, obj.points[3].0);
    assert_eq!(out.loss, Some(obj.points[3].1));

    let mut obj = |_: &[f64]| -> Result<Eval, Stop> { Err(Stop::new("term `pde` is NaN")) };
    let out = run_adam(&mut obj, &mut theta, &mut adam, 10, |_| {
        ControlFlow::Continue(())
    });
    assert_eq!(
        out.end,
        End::Aborted(Abort::Objective(Stop::new("term `pde` is NaN")))
    );
    assert_eq!(out.loss, None);
}

/// A device that runs Adam's epochs on ½‖θ − 1‖² in memory, taking the step as
/// `backend::gpu::adam`'s shader does, and whose gradient entry 1 is NaN at epoch
/// `nan_at`.
struct FakeDevice {
    state: crate::backend::AdamState,
    grad: Vec<f64>,
    epochs: usize,
    nan_at: usize,
    loads: usize,
    unloads: usize,
    /// The device is lost before the state comes back.
    lost: bool,
}

impl AdamDevice for FakeDevice {
    fn load(&mut self, state: &crate::backend::AdamState) -> Result<(), Stop> {
        self.state = state.clone();
        self.loads += 1;
        Ok(())
    }

    fn epoch(
        &mut self,
        u: &crate::backend::AdamUpdate,
        theta: &mut [f64],
    ) -> Result<(f64, bool), Stop> {
        self.epochs += 1;
        let s = &mut self.state;
        let loss = s.theta.iter().map(|x| 0.5 * (x - 1.0) * (x - 1.0)).sum();
        self.grad = s.theta.iter().map(|x| x - 1.0).collect();
        if self.epochs == self.nan_at {
            self.grad[1] = f64::NAN;
            return Ok((loss, false));
        }
        for (i, &g) in self.grad.iter().enumerate() {
            let (p, m0) = (s.theta[i], s.m[i]);
            s.last_good[i] = p;
            s.m[i] = match u.weight1 < 0.5 {
                true => m0 + u.weight1 * (g - m0),
                false => g - (g - m0) * (1.0 - u.weight1),
            };
            s.v[i] = s.v[i] * u.beta2 + (1.0 - u.beta2) * g * g;
            s.theta[i] = p + -u.step_size * s.m[i] / (s.v[i].sqrt() / u.bias2_sqrt + u.eps);
        }
        theta[0] = s.theta[0];
        Ok((loss, true))
    }

    fn unload(&mut self) -> Result<(crate::backend::AdamState, Vec<f64>), Stop> {
        self.unloads += 1;
        if self.lost {
            return Err(Stop::new("the device was lost"));
        }
        Ok((self.state.clone(), self.grad.clone()))
    }
}

/// An objective that only offers its device.
struct OnDevice(FakeDevice);

impl Objective for OnDevice {
    fn eval(&mut self, _theta: &[f64]) -> Result<Eval, Stop> {
        Err(Stop::new("evaluated on the host"))
    }
    fn adam_device(&mut self) -> Option<&mut dyn AdamDevice> {
        Some(&mut self.0)
    }
}

/// Adam on a device (`AdamDevice`) takes the host's steps bit for bit when the
/// device computes as the host does: the state goes there once and comes back once
/// as the segment ends, the watched entry of θ is current after every step, and a
/// NaN gradient ends the phase with the host's abort and θ where the host's is
/// (the start of the last finite epoch).
#[test]
fn adam_on_a_device_takes_the_host_s_steps() {
    let quadratic = |calls: &mut usize, x: &[f64]| {
        *calls += 1;
        let mut grad: Vec<f64> = x.iter().map(|x| x - 1.0).collect();
        if *calls == 5 {
            grad[1] = f64::NAN;
        }
        let loss = x.iter().map(|x| 0.5 * (x - 1.0) * (x - 1.0)).sum();
        Ok(Eval { loss, grad })
    };
    let config = AdamConfig {
        lr: 0.1,
        ..AdamConfig::default()
    };
    for epochs in [3, 8] {
        let start = vec![0.3, -2.0, 5.0];
        let (mut host_theta, mut calls, mut host_losses) = (start.clone(), 0, vec![]);
        let mut host_obj = |x: &[f64]| quadratic(&mut calls, x);
        let host = run_adam(
            &mut host_obj,
            &mut host_theta,
            &mut Adam::new(3, config),
            epochs,
            |i| {
                host_losses.push((i.loss, i.theta[0]));
                ControlFlow::Continue(())
            },
        );
        let mut dev = OnDevice(FakeDevice {
            state: Default::default(),
            grad: vec![],
            epochs: 0,
            nan_at: 5,
            loads: 0,
            unloads: 0,
            lost: false,
        });
        let (mut theta, mut losses) = (start.clone(), vec![]);
        let out = run_adam(
            &mut dev,
            &mut theta,
            &mut Adam::new(3, config),
            epochs,
            |i| {
                losses.push((i.loss, i.theta[0]));
                ControlFlow::Continue(())
            },
        );
        // Debug text: the abort's NaN is not equal to itself.
        assert_eq!(format!("{out:?}"), format!("{host:?}"), "{epochs} epochs");
        assert_eq!(losses, host_losses);
        assert_eq!(theta, host_theta, "{epochs} epochs: θ bit for bit");
        assert_eq!((dev.0.loads, dev.0.unloads), (1, 1));
        // A device lost before the state comes back: the phase ends and θ is the
        // point the state left from, not a mixture of stale and watched entries.
        dev.0.lost = true;
        let mut theta = start.clone();
        let out = run_adam(&mut dev, &mut theta, &mut Adam::new(3, config), 3, |i| {
            assert_ne!(i.theta[0], start[0], "the watched entry moves");
            ControlFlow::Continue(())
        });
        let lost = End::Aborted(Abort::Objective(Stop::new("the device was lost")));
        assert_eq!((out.end, theta), (lost, start));
    }
}

// ----- L-BFGS -----

#[test]
fn lbfgs_rosenbrock_2d() {
    let mut obj = record(rosenbrock);
    let mut theta = vec![-1.2, 1.0];
    let out = lbfgs_run(&strict(), &mut obj, &mut theta);
    eprintln!("rosenbrock 2-D: {out:?}, θ = {theta:?}");
    assert!(converged(&out), "{out:?}");
    assert!(max_error(&theta, 1.0) < 1e-8, "{theta:?}");
    assert!(out.iterations < 60, "{out:?}");
    assert_eq!(out.evaluations, obj.points.len());
}

#[test]
fn lbfgs_rosenbrock_10d() {
    for start in [[-1.2, 1.0].repeat(5), vec![0.0; 10]] {
        let mut obj = record(rosenbrock);
        let mut theta = start.clone();
        let out = lbfgs_run(&strict(), &mut obj, &mut theta);
        eprintln!("rosenbrock 10-D from {:?}: {out:?}", &start[..2]);
        assert!(converged(&out), "{out:?}");
        assert!(max_error(&theta, 1.0) < 1e-8, "{theta:?}");
        assert!(out.iterations < 150, "{out:?}");
    }
}

#[test]
fn lbfgs_with_a_short_history_still_converges() {
    let mut theta = vec![0.0; 10];
    let mut short = lbfgs(strict(), 3);
    short.start(&theta);
    let out = run(&mut short, &mut rosenbrock, &mut theta, 1000, |_| {
        ControlFlow::Continue(())
    });
    eprintln!("rosenbrock 10-D, history 3: {out:?}");
    assert!(converged(&out), "{out:?}");
    assert!(max_error(&theta, 1.0) < 1e-8, "{theta:?}");
}

/// ½ (Qx − c)ᵀ Λ (Qx − c), with Q a Householder reflection (so the problem is not
/// aligned with the axes) and Λ spread geometrically over [1, κ]. Written around the
/// minimizer x* = Qc so that the loss has no cancellation and reaches 0.
struct IllConditioned {
    lambda: Vec<f64>,
    v: Vec<f64>,
    c: Vec<f64>,
}

impl IllConditioned {
    fn new(n: usize, condition: f64) -> Self {
        let last = (n - 1) as f64;
        IllConditioned {
            lambda: (0..n).map(|i| condition.powf(i as f64 / last)).collect(),
            v: (0..n).map(|i| 1.0 + (i as f64 * 0.7).cos()).collect(),
            c: (0..n).map(|i| (i as f64 * 1.3).sin()).collect(),
        }
    }

    fn reflect(&self, x: &[f64]) -> Vec<f64> {
        let k = 2.0 * dot(&self.v, x) / dot(&self.v, &self.v);
        x.iter().zip(&self.v).map(|(xi, vi)| xi - k * vi).collect()
    }

    fn solution(&self) -> Vec<f64> {
        self.reflect(&self.c)
    }
}

impl Objective for IllConditioned {
    fn eval(&mut self, x: &[f64]) -> Result<Eval, Stop> {
        let r: Vec<f64> = self
            .reflect(x)
            .iter()
            .zip(&self.c)
            .map(|(a, c)| a - c)
            .collect();
        let lr: Vec<f64> = r.iter().zip(&self.lambda).map(|(a, l)| a * l).collect();
        let loss = 0.5 * dot(&r, &lr);
        Ok(Eval {
            loss,
            grad: self.reflect(&lr),
        })
    }
}

#[test]
fn lbfgs_ill_conditioned_quadratic_n100() {
    let mut obj = IllConditioned::new(100, 1e4);
    let want = obj.solution();
    let mut theta = vec![0.0; 100];
    let config = QuasiNewtonConfig {
        tolerance_grad: 1e-10,
        max_iter: 5000,
        ..strict()
    };
    let out = lbfgs_run(&config, &mut obj, &mut theta);
    let err = theta
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    let rel = err / dot(&want, &want).sqrt();
    eprintln!("quadratic n = 100, κ = 1e4: {out:?}, relative error {rel:.2e}");
    assert!(converged(&out), "{out:?}");
    assert!(rel < 1e-9, "relative error {rel}");
    // Unit steps (what strong Wolfe with c2 = 0.9 accepts) are far from exact line
    // searches, so L-BFGS needs several times n here; 921 when this was written.
    assert!(out.iterations < 1500, "{out:?}");
}

/// Checks the strong Wolfe conditions between consecutive accepted points, from the
/// values and gradients the objective actually returned there.
fn check_wolfe_steps(start: Vec<f64>) -> usize {
    let config = strict();
    let mut obj = record(rosenbrock);
    let mut theta = start.clone();
    let mut accepted = vec![(start, None)];
    let out = minimize(&mut obj, &mut theta, &config, |info| {
        accepted.push((info.theta.to_vec(), info.line_search));
        ControlFlow::Continue(())
    });
    assert!(converged(&out), "{out:?}");
    let lookup = |x: &[f64]| {
        let (_, f, g) = obj
            .points
            .iter()
            .find(|(p, _, _)| p.as_slice() == x)
            .expect("every accepted point was evaluated");
        (*f, g.clone())
    };
    let mut checked = 0;
    for pair in accepted.windows(2) {
        let [(x0, _), (x1, status)] = pair else {
            unreachable!()
        };
        if *status != Some(SearchStatus::Wolfe) {
            continue;
        }
        let (f0, g0) = lookup(x0);
        let (f1, g1) = lookup(x1);
        let s: Vec<f64> = x1.iter().zip(x0).map(|(a, b)| a - b).collect();
        let (gs0, gs1) = (dot(&g0, &s), dot(&g1, &s));
        // s is x1 − x0 as rounded, not t·d: allow for that rounding.
        let slack = 1e-12 * gs0.abs() + 1e-15 * f0.abs();
        assert!(gs0 < 0.0);
        assert!(f1 <= f0 + config.c1 * gs0 + slack, "sufficient decrease");
        assert!(gs1.abs() <= config.c2 * gs0.abs() + slack, "curvature");
        checked += 1;
    }
    assert!(
        checked * 10 >= out.iterations * 9,
        "{checked} of {}",
        out.iterations
    );
    checked
}

#[test]
fn lbfgs_accepted_steps_satisfy_strong_wolfe() {
    let a = check_wolfe_steps(vec![-1.2, 1.0]);
    let b = check_wolfe_steps([-1.2, 1.0].repeat(5));
    eprintln!("strong Wolfe checked on {a} + {b} steps");
}

#[test]
fn lbfgs_first_trial_step_is_torch_s() {
    let mut obj = record(|x: &[f64]| {
        Ok(Eval {
            loss: 0.5 * dot(x, x),
            grad: x.to_vec(),
        })
    });
    let mut theta = vec![3.0, -4.0];
    let config = QuasiNewtonConfig {
        lr: 0.5,
        ..strict()
    };
    lbfgs_run(&config, &mut obj, &mut theta);
    // d = −g, t = min(1, 1/‖g‖₁)·lr = lr/7.
    let t = 0.5 / 7.0;
    assert_eq!(obj.points[1].0, vec![3.0 + t * -3.0, -4.0 + t * 4.0]);
}

#[test]
fn lbfgs_is_deterministic() {
    let go = || {
        let mut obj = IllConditioned::new(50, 1e3);
        let mut theta: Vec<f64> = (0..50).map(|i| (i as f64).cos()).collect();
        let config = QuasiNewtonConfig {
            max_iter: 40,
            ..strict()
        };
        let out = lbfgs_run(&config, &mut obj, &mut theta);
        (theta.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), out)
    };
    assert_eq!(go(), go());
}

#[test]
fn lbfgs_nan_stops_with_theta_at_the_last_good_point() {
    for bad_eval in [1, 2, 7, 20] {
        for gradient in [false, true] {
            let mut calls = 0;
            let mut obj = record(|x: &[f64]| {
                calls += 1;
                let mut e = rosenbrock(x)?;
                if calls >= bad_eval {
                    if gradient {
                        e.grad[1] = f64::INFINITY;
                    } else {
                        e.loss = f64::NAN;
                    }
                }
                Ok(e)
            });
            let mut theta = vec![-1.2, 1.0];
            let mut last_accepted = theta.clone();
            let out = minimize(&mut obj, &mut theta, &strict(), |info| {
                last_accepted = info.theta.to_vec();
                ControlFlow::Continue(())
            });
            match (&out.end, gradient) {
                (End::Aborted(Abort::NonFiniteLoss { .. }), false) => {}
                (End::Aborted(Abort::NonFiniteGradient { index: 1, .. }), true) => {}
                other => panic!("evaluation {bad_eval}: {other:?}"),
            }
            assert_eq!(theta, last_accepted, "evaluation {bad_eval}");
            assert_eq!(out.evaluations, bad_eval);
            if out.iterations > 0 {
                let loss = rosenbrock(&theta).map(|e| e.loss).expect("ok");
                assert_eq!(out.loss, Some(loss));
            } else {
                assert_eq!(out.loss, None);
            }
        }
    }
}

#[test]
fn lbfgs_passes_the_objective_s_stop_on() {
    let mut calls = 0;
    let mut obj = |x: &[f64]| {
        calls += 1;
        if calls == 6 {
            return Err(Stop::new("loss term `boundary` is NaN"));
        }
        rosenbrock(x)
    };
    let mut theta = vec![-1.2, 1.0];
    let out = lbfgs_run(&strict(), &mut obj, &mut theta);
    let want = Stop::new("loss term `boundary` is NaN");
    assert_eq!(out.end, End::Aborted(Abort::Objective(want)));
    assert_eq!(
        out.end.to_string(),
        "the objective stopped: loss term `boundary` is NaN"
    );
    assert_eq!(out.evaluations, 6);
}

#[test]
fn lbfgs_stops_for_each_stated_reason() {
    // Already at the minimum: no iteration, one evaluation.
    let mut theta = vec![1.0, 1.0];
    let out = lbfgs_run(&strict(), &mut rosenbrock, &mut theta);
    assert!(converged(&out), "{out:?}");
    assert_eq!((out.iterations, out.evaluations), (0, 1));

    // The iteration cap.
    let mut theta = vec![-1.2, 1.0];
    let config = QuasiNewtonConfig {
        max_iter: 5,
        max_evals: Some(1000),
        ..strict()
    };
    let out = lbfgs_run(&config, &mut rosenbrock, &mut theta);
    assert_eq!((out.end, out.iterations), (End::IterationCap(5), 5));

    // The evaluation cap.
    let mut theta = vec![-1.2, 1.0];
    let config = QuasiNewtonConfig {
        max_evals: Some(10),
        ..strict()
    };
    let out = lbfgs_run(&config, &mut rosenbrock, &mut theta);
    assert_eq!(
        out.end,
        End::Finished("reached the evaluation cap (10)".into())
    );
    assert!(out.evaluations <= 10);

    // Torch's default tolerances stop on a small change before the gradient test.
    let mut theta = vec![-1.2, 1.0];
    let config = QuasiNewtonConfig {
        tolerance_grad: 0.0,
        ..QuasiNewtonConfig::default()
    };
    let out = lbfgs_run(&config, &mut rosenbrock, &mut theta);
    assert!(
        finished(&out, "the loss changed by")
            || finished(&out, "θ moved by")
            || finished(&out, "the directional derivative"),
        "{out:?}"
    );

    // The callback.
    let mut theta = vec![-1.2, 1.0];
    let mut seen = vec![];
    let out = minimize(&mut rosenbrock, &mut theta, &strict(), |info| {
        seen.push((info.iter, info.loss));
        if info.iter == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!((out.end, out.iterations), (End::Caller, 3));
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(
        seen.windows(2).all(|w| w[1].1 < w[0].1),
        "losses decrease: {seen:?}"
    );
    assert_eq!(out.loss, Some(seen[2].1));
}

#[test]
fn lbfgs_line_search_failure_leaves_theta_alone() {
    // A gradient that promises descent the loss never delivers.
    let mut obj = |x: &[f64]| -> Result<Eval, Stop> {
        Ok(Eval {
            loss: 1.0 + 0.0 * x[0],
            grad: vec![1.0, -2.0],
        })
    };
    let mut theta = vec![0.25, 0.5];
    let out = lbfgs_run(&strict(), &mut obj, &mut theta);
    assert!(
        finished(&out, "the line search found no lower point"),
        "{out:?}"
    );
    assert_eq!((theta, out.iterations), (vec![0.25, 0.5], 0));
    assert!(out.evaluations <= 1 + 25);
}

#[test]
fn lbfgs_curvature_test_does_not_depend_on_the_scale_of_the_loss() {
    // Rosenbrock times 1e-12: every sᵀy is below torch's absolute 1e-10, yet the
    // relative test keeps the pairs and L-BFGS converges as fast as at scale 1.
    let mut tiny = |x: &[f64]| {
        let e = rosenbrock(x)?;
        Ok(Eval {
            loss: 1e-12 * e.loss,
            grad: e.grad.iter().map(|g| 1e-12 * g).collect(),
        })
    };
    let config = QuasiNewtonConfig {
        tolerance_grad: 1e-23,
        ..strict()
    };
    let mut theta = vec![-1.2, 1.0];
    let out = lbfgs_run(&config, &mut tiny, &mut theta);
    eprintln!("rosenbrock 2-D × 1e-12: {out:?}");
    assert!(converged(&out), "{out:?}");
    assert!(max_error(&theta, 1.0) < 1e-8, "{theta:?}");
    assert!(out.iterations < 60, "{out:?}");
}

#[test]
fn lbfgs_refuses_a_gradient_of_the_wrong_length() {
    let mut obj = |_: &[f64]| -> Result<Eval, Stop> {
        Ok(Eval {
            loss: 0.0,
            grad: vec![1.0; 3],
        })
    };
    let mut theta = vec![0.0; 4];
    let out = lbfgs_run(&strict(), &mut obj, &mut theta);
    let want = Abort::GradientLength {
        expected: 4,
        found: 3,
    };
    assert_eq!(out.end, End::Aborted(want));
    assert_eq!(out.loss, None);
}

#[test]
fn rosenbrock_runs_are_bit_identical() {
    let go = || {
        let mut theta = [-1.2, 1.0].repeat(5);
        let mut losses = vec![];
        let out = minimize(&mut rosenbrock, &mut theta, &strict(), |info| {
            losses.push(info.loss.to_bits());
            ControlFlow::Continue(())
        });
        let bits: Vec<u64> = theta.iter().map(|x| x.to_bits()).collect();
        (bits, losses, out)
    };
    assert_eq!(go(), go());
}

// ----- The optimizer boundary -----

/// Losses and θ (as bits) after `steps` steps of `opt` on Rosenbrock from `theta`.
fn steps_of(opt: &mut dyn Optimizer, theta: &mut [f64], steps: usize) -> Vec<u64> {
    let mut losses = vec![];
    let out = run(opt, &mut rosenbrock, theta, steps, |info| {
        losses.push(info.loss.to_bits());
        ControlFlow::Continue(())
    });
    assert_eq!(out.end, End::IterationCap(steps), "{out:?}");
    losses
}

/// 10 steps, save, restore into a fresh optimizer, 10 more: the same losses and θ, bit
/// for bit, as 20 steps straight.
fn check_save_restore(fresh: &dyn Fn() -> Box<dyn Optimizer>) {
    let start = [-1.2, 1.0].repeat(3);
    let mut straight = start.clone();
    let mut opt = fresh();
    opt.start(&straight);
    let want = steps_of(opt.as_mut(), &mut straight, 20);

    let mut theta = start;
    let mut first = fresh();
    first.start(&theta);
    let mut got = steps_of(first.as_mut(), &mut theta, 10);
    let state = first.save();
    let mut second = fresh();
    second.start(&theta);
    second.restore(&state).expect("the state fits");
    got.extend(steps_of(second.as_mut(), &mut theta, 10));
    assert_eq!(got, want);
    let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&theta), bits(&straight));
}

#[test]
fn adam_continues_bit_for_bit_from_a_saved_state() {
    let config = AdamConfig {
        lr: 1e-2,
        warmup: 3,
        schedule: Schedule::Exponential {
            gamma: 0.5,
            every: 7,
        },
        ..AdamConfig::default()
    };
    check_save_restore(&|| Box::new(Adam::new(0, config)));
}

#[test]
fn lbfgs_continues_bit_for_bit_from_a_saved_state() {
    check_save_restore(&|| Box::new(lbfgs(strict(), 50)));
    check_save_restore(&|| Box::new(lbfgs(strict(), 3)));
}

#[test]
fn a_state_for_another_optimizer_or_size_is_refused() {
    let mut adam = Adam::new(0, AdamConfig::default());
    adam.start(&[0.0; 3]);
    let mut lbfgs = lbfgs(strict(), 50);
    lbfgs.start(&[0.0; 2]);
    assert!(matches!(
        lbfgs.restore(&adam.save()),
        Err(StateError::Optimizer { .. })
    ));
    let mut small = Adam::new(0, AdamConfig::default());
    small.start(&[0.0; 2]);
    assert!(matches!(
        small.restore(&adam.save()),
        Err(StateError::Length { .. })
    ));
}

#[test]
fn lbfgs_starts_afresh_when_the_objective_changes() {
    let mut lbfgs = lbfgs(strict(), 50);
    let mut theta = vec![-1.2, 1.0];
    lbfgs.start(&theta);
    steps_of(&mut lbfgs, &mut theta, 5);
    lbfgs.objective_changed();
    let mut obj = record(rosenbrock);
    let at = theta.clone();
    lbfgs.step(&mut obj, &mut theta).expect("a step");
    // θ itself is evaluated again, then the first trial lies along −g with torch's
    // first step length, as for a fresh start.
    assert_eq!(obj.points[0].0, at);
    let g = &obj.points[0].2;
    let t = (1.0 / g.iter().map(|g| g.abs()).sum::<f64>()).min(1.0);
    let first_trial: Vec<f64> = at.iter().zip(g).map(|(x, g)| x + t * -g).collect();
    assert_eq!(obj.points[1].0, first_trial);
}

#[test]
fn adam_keeps_its_moments_when_the_objective_changes() {
    let mut adam = Adam::new(0, AdamConfig::default());
    let mut theta = vec![-1.2, 1.0];
    adam.start(&theta);
    steps_of(&mut adam, &mut theta, 5);
    let before = adam.save();
    adam.objective_changed();
    assert_eq!(adam.save(), before);
}

#[test]
fn a_phase_with_decay_steps_the_learning_rate_down() {
    let phase = crate::problem::Phase::Adam {
        lr: 1e-2,
        epochs: 25,
        beta1: 0.9,
        beta2: 0.999,
        decay: Some(crate::problem::Decay {
            rate: 0.5,
            every: 10,
        }),
        cosine: None,
        warmup: 0,
        precision: None,
        balance: None,
        causal: None,
        self_adaptive: None,
    };
    let mut adam = build(&phase, 1, None);
    let mut theta = vec![-1.2, 1.0];
    adam.start(&theta);
    let mut rates = vec![];
    run(
        adam.as_mut(),
        &mut rosenbrock,
        &mut theta,
        phase.cap(),
        |info| {
            rates.push(info.step);
            ControlFlow::Continue(())
        },
    );
    let want: Vec<f64> = (0..25).map(|k| [1e-2, 5e-3, 2.5e-3][k / 10]).collect();
    assert_eq!(rates, want);
}

// ----- Dense quasi-Newton -----

use super::dense::Rule;

/// `rule` with settings that stop only on a tiny gradient.
fn dense_method(rule: Rule, tolerance_grad: f64, max_iter: usize) -> Box<dyn Optimizer> {
    let config = QuasiNewtonConfig {
        tolerance_grad,
        tolerance_change: 0.0,
        max_iter,
        retry_after_failed_search: true,
        ..QuasiNewtonConfig::default()
    };
    Box::new(dense(config, rule, 1, None))
}

/// Runs `rule` from `theta` until max |gᵢ| ≤ 1e-10, and returns the outcome and the
/// events it reported.
fn dense_run(rule: Rule, obj: &mut dyn Objective, theta: &mut [f64], cap: usize) -> Outcome {
    let mut opt = dense_method(rule, 1e-10, cap);
    opt.start(theta);
    run(opt.as_mut(), obj, theta, cap, |_| ControlFlow::Continue(()))
}

/// Every dense method solves the chained Rosenbrock function in 10 and 100 dimensions
/// to max |gᵢ| ≤ 1e-10 from 0 (from (−1.2, 1, −1.2, …) a method may end in the local
/// minimum near (−1, 1, …, 1), loss 3.99, as BFGS did once). The iteration counts when
/// this was written (printed with --nocapture): 10-D BFGS 62, SSBFGS 66, SSBFGS-OL 75,
/// SSBroyden 78, SSBroyden1 92; 100-D 372, 460, 544, 774, 1540.
#[test]
fn dense_methods_solve_rosenbrock_in_10_and_100_dimensions() {
    for n in [10, 100] {
        for rule in Rule::ALL {
            let mut theta = vec![0.0; n];
            let out = dense_run(rule, &mut rosenbrock, &mut theta, 5000);
            eprintln!(
                "rosenbrock {n}-D, {}: {} iterations, {:?}",
                rule.name(),
                out.iterations,
                out.end
            );
            assert!(converged(&out), "{}: {out:?}", rule.name());
            assert!(max_error(&theta, 1.0) < 1e-8, "{}: {theta:?}", rule.name());
            assert!(out.iterations < 30 * n, "{}: {out:?}", rule.name());
        }
    }
}

/// On a quadratic with condition number 1e4 in 100 dimensions every dense method ends
/// below L-BFGS's 921 iterations (`lbfgs_ill_conditioned_quadratic_n100`), and the
/// self-scaled ones far below: when this was written BFGS 620, SSBFGS 262, SSBFGS-OL
/// 303, SSBroyden 176, SSBroyden1 142 iterations to max |gᵢ| ≤ 1e-10.
#[test]
fn dense_methods_solve_an_ill_conditioned_quadratic() {
    for rule in Rule::ALL {
        let mut obj = IllConditioned::new(100, 1e4);
        let want = obj.solution();
        let mut theta = vec![0.0; 100];
        let out = dense_run(rule, &mut obj, &mut theta, 5000);
        let err: f64 = theta.iter().zip(&want).map(|(a, b)| (a - b).powi(2)).sum();
        let rel = (err / dot(&want, &want)).sqrt();
        eprintln!(
            "quadratic n = 100, κ = 1e4, {}: {} iterations, rel. error {rel:.2e}",
            rule.name(),
            out.iterations
        );
        assert!(converged(&out), "{}: {out:?}", rule.name());
        assert!(rel < 1e-9, "{}: relative error {rel}", rule.name());
        assert!(out.iterations < 1000, "{}: {out:?}", rule.name());
    }
}

#[test]
fn dense_methods_continue_bit_for_bit_from_a_saved_state() {
    for rule in Rule::ALL {
        check_save_restore(&|| dense_method(rule, 1e-12, 1000));
    }
}

/// A planted H that is negative definite makes −H·g an ascent direction: the step
/// must notice, reset H, say so, and still go down.
#[test]
fn a_dense_method_resets_on_a_planted_non_descent_direction() {
    let n = 4;
    let mut theta = [-1.2, 1.0].repeat(n / 2);
    let mut opt = dense_method(Rule::SsBroyden2, 1e-12, 100);
    opt.start(&theta);
    let mut state = opt.save();
    state.put("fresh", vec![0.0]);
    let minus_identity = (0..n * n).map(|k| if k % (n + 1) == 0 { -1.0 } else { 0.0 });
    state.put("h", minus_identity.collect());
    opt.restore(&state).expect("the state fits");
    let before = rosenbrock(&theta).expect("finite").loss;
    let mut events = vec![];
    let out = run(opt.as_mut(), &mut rosenbrock, &mut theta, 1, |info| {
        events.push(info.event);
        ControlFlow::Continue(())
    });
    assert_eq!(out.iterations, 1, "{out:?}");
    assert_eq!(events, [Some(Event::ResetNotDescent)]);
    assert!(out.loss.expect("a step") < before);
}

/// A resampling keeps a dense H (the landscape's shape changes little) but not its
/// cached direction: after `objective_changed` the next step evaluates θ again and
/// steps along −H·g of the new gradient, not the old one's.
#[test]
fn a_dense_method_keeps_h_when_the_objective_changes() {
    let mut theta = [-1.2, 1.0].repeat(2);
    let mut opt = dense_method(Rule::Bfgs, 1e-12, 100);
    opt.start(&theta);
    steps_of(opt.as_mut(), &mut theta, 5);
    let h_before = opt.save().get("h").expect("H was updated").to_vec();
    opt.objective_changed();
    assert_eq!(opt.save().get("h"), Some(h_before.as_slice()));
    let mut calls = 0;
    let mut shifted = |x: &[f64]| {
        calls += 1;
        let mut e = rosenbrock(x)?;
        e.loss += 1.0;
        Ok(e)
    };
    let out = run(opt.as_mut(), &mut shifted, &mut theta, 1, |_| {
        ControlFlow::Continue(())
    });
    assert_eq!(out.iterations, 1);
    assert!(calls >= 2, "θ is evaluated again, then the line search");
}

/// H on a fake device: the host's row arithmetic on its own copy, so that its
/// steps must be the host's bit for bit; it fails from its `fail_at`-th pass on.
pub(crate) struct FakeMatrix {
    pub n: usize,
    pub h: Vec<f64>,
    pub passes: usize,
    pub fail_at: Option<usize>,
}

impl crate::backend::DeviceMatrix for FakeMatrix {
    fn order(&self) -> usize {
        self.n
    }

    fn sweep(
        &mut self,
        update: Option<(crate::backend::RankTwo, &[f64], &[f64])>,
        g: &[f64],
        y: &[f64],
    ) -> Result<(Vec<f64>, Vec<f64>), crate::kernel::KernelError> {
        self.passes += 1;
        if self.fail_at.is_some_and(|k| self.passes >= k) {
            return Err(crate::kernel::KernelError::Device("lost".into()));
        }
        let mut products = (vec![0.0; self.n], vec![0.0; self.n]);
        for (r, row) in self.h.chunks_mut(self.n).enumerate() {
            if let Some((c, u, s)) = update {
                super::dense::update_row(row, r, c, u, s);
            }
            products.0[r] = super::dense::dot_fast(row, g);
            products.1[r] = super::dense::dot_fast(row, y);
        }
        Ok(products)
    }

    fn read(&self) -> Result<Vec<f64>, crate::kernel::KernelError> {
        Ok(self.h.clone())
    }

    fn write(&mut self, h: &[f64]) -> Result<(), crate::kernel::KernelError> {
        self.h.copy_from_slice(h);
        Ok(())
    }
}

/// `rule` as [`dense_method`] makes it, with H of order `n` on a [`FakeMatrix`].
fn dense_on_a_fake_device(rule: Rule, n: usize, fail_at: Option<usize>) -> Box<dyn Optimizer> {
    let config = QuasiNewtonConfig {
        tolerance_grad: 1e-12,
        tolerance_change: 0.0,
        max_iter: 1000,
        retry_after_failed_search: true,
        ..QuasiNewtonConfig::default()
    };
    let fake = FakeMatrix {
        n,
        h: vec![0.0; n * n],
        passes: 0,
        fail_at,
    };
    Box::new(dense(config, rule, 1, Some(Box::new(fake))))
}

/// With H on a device (a fake one doing the host's arithmetic) every dense method
/// takes the host's steps bit for bit, through its updates, resets and a saved and
/// restored state (H read from the device and written back).
#[test]
fn a_dense_h_on_a_device_takes_the_host_s_steps() {
    for rule in Rule::ALL {
        let start = [-1.2, 1.0].repeat(5);
        let (mut host, mut device) = (start.clone(), start.clone());
        let mut on_host = dense_method(rule, 1e-12, 1000);
        on_host.start(&host);
        let mut on_device = dense_on_a_fake_device(rule, start.len(), None);
        on_device.start(&device);
        let want = steps_of(on_host.as_mut(), &mut host, 40);
        assert_eq!(
            steps_of(on_device.as_mut(), &mut device, 40),
            want,
            "{rule:?}"
        );
        assert_eq!(device, host, "{rule:?}");
        check_save_restore(&|| dense_on_a_fake_device(rule, 6, None));
    }
}

/// When the device holding H fails, the phase stops with the device's words, and θ
/// is where the last whole step left it (the host's θ after as many steps).
#[test]
fn a_failing_device_stops_the_dense_phase_where_it_was() {
    let start = [-1.2, 1.0].repeat(2);
    let mut theta = start.clone();
    let mut opt = dense_on_a_fake_device(Rule::SsBroyden2, 4, Some(5));
    opt.start(&theta);
    let out = run(opt.as_mut(), &mut rosenbrock, &mut theta, 50, |_| {
        ControlFlow::Continue(())
    });
    let End::Aborted(Abort::Objective(stop)) = &out.end else {
        panic!("{out:?}");
    };
    assert!(
        stop.reason
            .contains("the device holding the dense H failed"),
        "{stop}"
    );
    assert!(out.iterations >= 1, "{out:?}");
    let mut host = start;
    let mut on_host = dense_method(Rule::SsBroyden2, 1e-12, 1000);
    on_host.start(&host);
    steps_of(on_host.as_mut(), &mut host, out.iterations);
    assert_eq!(theta, host);
}
