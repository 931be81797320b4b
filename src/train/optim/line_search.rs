//! A line search for the strong Wolfe conditions: Nocedal & Wright's Algorithms 3.5
//! (bracketing) and 3.6 (zoom), with the cubic interpolation, the extrapolation bounds
//! and the zoom safeguard of `torch.optim.LBFGS`'s `_strong_wolfe`, so that L-BFGS runs
//! behave like the reference implementations'.
//!
//! It works on φ(t) = f(x + t·d) through [`LineFunction`], which knows nothing of
//! vectors: L-BFGS implements it over its objective, tests over 1-D functions.
//!
//! Two places depart from torch on purpose:
//! - the low end of the bracket only ever moves to a point that satisfies sufficient
//!   decrease and lowers φ (N&W's invariant); torch re-sorts the bracket by φ alone;
//! - a trial whose φ or φ′ is not finite is treated as a step too long (φ = +∞), and the
//!   interpolation falls back to bisection, instead of propagating NaN.

/// One evaluated point on the line: the step t, φ(t) and φ′(t).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trial {
    pub t: f64,
    pub f: f64,
    pub df: f64,
}

/// The parameters of the search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WolfeConfig {
    /// Sufficient decrease: φ(t) ≤ φ(0) + c1·t·φ′(0).
    pub c1: f64,
    /// Curvature: |φ′(t)| ≤ c2·|φ′(0)|.
    pub c2: f64,
    /// Evaluations of φ allowed in this search.
    pub max_evals: usize,
    /// The zoom gives up when the bracket is narrower than this (in units of t).
    pub min_width: f64,
}

impl Default for WolfeConfig {
    fn default() -> Self {
        WolfeConfig {
            c1: 1e-4,
            c2: 0.9,
            max_evals: 25,
            min_width: 1e-9,
        }
    }
}

/// How a search ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchStatus {
    /// The returned point satisfies both strong Wolfe conditions.
    Wolfe,
    /// The evaluation budget ran out; the best point found is returned.
    MaxEvaluations,
    /// The bracket shrank below `min_width`; the best point found is returned.
    IntervalTooSmall,
    /// φ′(0) ≥ 0 (or the starting point is not finite): there is nothing to search.
    NotDescent,
}

impl std::fmt::Display for SearchStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SearchStatus::Wolfe => "strong Wolfe conditions met",
            SearchStatus::MaxEvaluations => "evaluation budget spent",
            SearchStatus::IntervalTooSmall => "bracket narrower than tolerance_change",
            SearchStatus::NotDescent => "not a descent direction",
        })
    }
}

/// The outcome of a search. `best` is the point with the lowest φ among those that
/// satisfy sufficient decrease, or the start (t = 0) when there is none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchResult {
    pub best: Trial,
    pub status: SearchStatus,
    pub evaluations: usize,
}

/// φ and φ′ along a line, and a way to tell the caller which trial is the best so far,
/// so that it can keep that trial's data (a gradient, for L-BFGS) without copying every
/// trial's.
pub trait LineFunction {
    type Error;
    /// Evaluates (φ(t), φ′(t)).
    fn eval(&mut self, t: f64) -> Result<(f64, f64), Self::Error>;
    /// The trial evaluated last is now the best one; the search calls this only right
    /// after `eval`, and the last point it was called for is [`SearchResult::best`]
    /// unless `best` is the start.
    fn keep_last(&mut self);
}

/// Searches along the line from `start` (t = 0, φ(0), φ′(0) < 0) for a step satisfying
/// the strong Wolfe conditions, trying `t_init` first. Errors from φ are passed on at
/// once.
pub fn strong_wolfe<L: LineFunction + ?Sized>(
    phi: &mut L,
    start: Trial,
    t_init: f64,
    config: &WolfeConfig,
) -> Result<SearchResult, L::Error> {
    let mut search = Search {
        phi,
        start,
        config,
        evaluations: 0,
    };
    let descent = start.df < 0.0 && start.f.is_finite() && start.df.is_finite();
    if !descent {
        return Ok(search.done(start, SearchStatus::NotDescent));
    }
    search.bracket(t_init)
}

struct Search<'a, L: LineFunction + ?Sized> {
    phi: &'a mut L,
    start: Trial,
    config: &'a WolfeConfig,
    evaluations: usize,
}

impl<L: LineFunction + ?Sized> Search<'_, L> {
    fn done(&self, best: Trial, status: SearchStatus) -> SearchResult {
        SearchResult {
            best,
            status,
            evaluations: self.evaluations,
        }
    }

    fn out_of_budget(&self) -> bool {
        self.evaluations >= self.config.max_evals
    }

    /// Evaluates φ at t; a non-finite value or slope becomes φ = +∞ so that every test
    /// below reads it as "too far".
    fn trial(&mut self, t: f64) -> Result<Trial, L::Error> {
        self.evaluations += 1;
        let (f, df) = self.phi.eval(t)?;
        if f.is_finite() && df.is_finite() {
            Ok(Trial { t, f, df })
        } else {
            Ok(Trial {
                t,
                f: f64::INFINITY,
                df: f64::NAN,
            })
        }
    }

    fn sufficient_decrease(&self, p: Trial) -> bool {
        p.f <= self.start.f + self.config.c1 * p.t * self.start.df
    }

    fn curvature(&self, p: Trial) -> bool {
        p.df.abs() <= -self.config.c2 * self.start.df
    }

    /// Algorithm 3.5: grows the step until it brackets an acceptable one or satisfies
    /// both conditions. Each trial that neither brackets nor satisfies them lowers φ and
    /// satisfies sufficient decrease, so it becomes the best point.
    fn bracket(&mut self, t_init: f64) -> Result<SearchResult, L::Error> {
        let mut prev = self.start;
        let mut t = t_init;
        loop {
            if self.out_of_budget() {
                return Ok(self.done(prev, SearchStatus::MaxEvaluations));
            }
            let cur = self.trial(t)?;
            if !self.sufficient_decrease(cur) || cur.f >= prev.f {
                return self.zoom(prev, cur);
            }
            self.phi.keep_last();
            if self.curvature(cur) {
                return Ok(self.done(cur, SearchStatus::Wolfe));
            }
            if cur.df >= 0.0 {
                return self.zoom(cur, prev);
            }
            // Still going down: extrapolate, at least 1% past the last step and at most
            // ten times it, which is torch's rule.
            let lower = cur.t + 0.01 * (cur.t - prev.t);
            let upper = 10.0 * cur.t;
            t = cubic_minimizer(prev, cur, lower, upper);
            prev = cur;
        }
    }

    /// Algorithm 3.6. Invariants: `lo` satisfies sufficient decrease and has the lowest
    /// φ of all such trials; φ′(lo)·(hi − lo) < 0, so an acceptable step lies between.
    fn zoom(&mut self, mut lo: Trial, mut hi: Trial) -> Result<SearchResult, L::Error> {
        // torch's safeguard: an interpolant may land close to an end of the bracket once;
        // the second time in a row it is pushed 10% of the width inside, so the bracket
        // keeps shrinking.
        let mut insufficient_progress = false;
        loop {
            if self.out_of_budget() {
                return Ok(self.done(lo, SearchStatus::MaxEvaluations));
            }
            let (a, b) = (lo.t.min(hi.t), lo.t.max(hi.t));
            // A NaN width cannot arise from finite trials, but would stop here too.
            let width = b - a;
            if width.is_nan() || width < self.config.min_width {
                return Ok(self.done(lo, SearchStatus::IntervalTooSmall));
            }
            let mut t = cubic_minimizer(lo, hi, a, b);
            let margin = 0.1 * (b - a);
            if (b - t).min(t - a) < margin {
                if insufficient_progress || t >= b || t <= a {
                    t = if (t - b).abs() < (t - a).abs() {
                        b - margin
                    } else {
                        a + margin
                    };
                    insufficient_progress = false;
                } else {
                    insufficient_progress = true;
                }
            } else {
                insufficient_progress = false;
            }
            let cur = self.trial(t)?;
            if !self.sufficient_decrease(cur) || cur.f >= lo.f {
                hi = cur;
                continue;
            }
            self.phi.keep_last();
            if self.curvature(cur) {
                return Ok(self.done(cur, SearchStatus::Wolfe));
            }
            if cur.df * (hi.t - lo.t) >= 0.0 {
                hi = lo;
            }
            lo = cur;
        }
    }
}

/// The minimizer of the cubic through two trials (values and slopes), clamped to
/// [lower, upper]; the midpoint of the bounds when the cubic has no minimizer or the
/// data are not finite. The formula is N&W's (3.59), written as torch writes it.
fn cubic_minimizer(p: Trial, q: Trial, lower: f64, upper: f64) -> f64 {
    let midpoint = 0.5 * (lower + upper);
    let d1 = p.df + q.df - 3.0 * (p.f - q.f) / (p.t - q.t);
    let d2_square = d1 * d1 - p.df * q.df;
    if d2_square.is_nan() || d2_square < 0.0 {
        return midpoint;
    }
    let d2 = d2_square.sqrt();
    let t = if p.t <= q.t {
        q.t - (q.t - p.t) * ((q.df + d2 - d1) / (q.df - p.df + 2.0 * d2))
    } else {
        p.t - (p.t - q.t) * ((p.df + d2 - d1) / (p.df - q.df + 2.0 * d2))
    };
    if t.is_finite() {
        t.max(lower).min(upper)
    } else {
        midpoint
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// A 1-D function with a record of every evaluation and of the trials kept.
    struct Line<F: FnMut(f64) -> (f64, f64)> {
        f: F,
        trials: Vec<f64>,
        kept: Vec<f64>,
    }

    impl<F: FnMut(f64) -> (f64, f64)> LineFunction for Line<F> {
        type Error = Infallible;
        fn eval(&mut self, t: f64) -> Result<(f64, f64), Infallible> {
            self.trials.push(t);
            Ok((self.f)(t))
        }
        fn keep_last(&mut self) {
            if let Some(&t) = self.trials.last() {
                self.kept.push(t);
            }
        }
    }

    fn search(f: impl FnMut(f64) -> (f64, f64), t_init: f64) -> (SearchResult, Vec<f64>) {
        let mut line = Line {
            f,
            trials: vec![],
            kept: vec![],
        };
        let (f0, df0) = (line.f)(0.0);
        let start = Trial {
            t: 0.0,
            f: f0,
            df: df0,
        };
        let config = WolfeConfig::default();
        let Ok(result) = strong_wolfe(&mut line, start, t_init, &config);
        assert_eq!(result.evaluations, line.trials.len());
        assert!(result.evaluations <= config.max_evals);
        // The last trial kept is the one returned.
        if result.best.t > 0.0 {
            assert_eq!(line.kept.last().copied(), Some(result.best.t));
        }
        if result.status == SearchStatus::Wolfe {
            let b = result.best;
            assert!(
                b.f <= f0 + config.c1 * b.t * df0,
                "sufficient decrease at {b:?}"
            );
            assert!(b.df.abs() <= -config.c2 * df0, "curvature at {b:?}");
        }
        (result, line.trials)
    }

    fn quadratic(c: f64) -> impl FnMut(f64) -> (f64, f64) {
        move |t| ((t - c) * (t - c), 2.0 * (t - c))
    }

    #[test]
    fn accepts_a_good_first_step_with_one_evaluation() {
        let (r, trials) = search(quadratic(3.0), 2.5);
        assert_eq!(r.status, SearchStatus::Wolfe);
        assert_eq!(trials, vec![2.5]);
    }

    #[test]
    fn extrapolates_when_the_first_step_is_far_too_short() {
        let (r, trials) = search(quadratic(100.0), 1.0);
        assert_eq!(r.status, SearchStatus::Wolfe);
        assert!(trials.len() >= 2);
        // Every trial but the last grows the step: the search went outward.
        assert!(trials.windows(2).all(|w| w[1] > w[0]), "{trials:?}");
        assert!(r.best.t >= 10.0, "{r:?}");
    }

    #[test]
    fn zooms_when_the_first_step_is_far_too_long() {
        let (r, trials) = search(quadratic(1.0), 1000.0);
        assert_eq!(r.status, SearchStatus::Wolfe);
        assert!(trials.len() >= 2);
        assert!(r.best.t < 1000.0 && r.best.t > 0.0);
        // A cubic fit of a quadratic is exact: the second trial is the minimizer.
        assert!((trials[1] - 1.0).abs() < 1e-9, "{trials:?}");
    }

    /// Moré & Thuente's first test function, φ(t) = −t/(t² + β), β = 2, minimized at √2.
    #[test]
    fn more_thuente_function_1() {
        let phi = |t: f64| {
            let q = t * t + 2.0;
            (-t / q, (t * t - 2.0) / (q * q))
        };
        for t_init in [1e-3, 1e-1, 1e1, 1e3] {
            let (r, _) = search(phi, t_init);
            assert_eq!(r.status, SearchStatus::Wolfe, "from {t_init}: {r:?}");
        }
    }

    /// Moré & Thuente's second, φ(t) = (t + 0.004)⁵ − 2(t + 0.004)⁴, minimized at 1.596.
    #[test]
    fn more_thuente_function_2() {
        let phi = |t: f64| {
            let u = t + 0.004;
            (
                u.powi(5) - 2.0 * u.powi(4),
                5.0 * u.powi(4) - 8.0 * u.powi(3),
            )
        };
        for t_init in [1e-3, 1e-1, 1e1, 1e3] {
            let (r, _) = search(phi, t_init);
            assert_eq!(r.status, SearchStatus::Wolfe, "from {t_init}: {r:?}");
        }
    }

    #[test]
    fn a_nan_trial_is_treated_as_a_step_too_long() {
        let phi = |t: f64| {
            if t > 5.0 {
                (f64::NAN, f64::NAN)
            } else {
                ((t - 2.0) * (t - 2.0), 2.0 * (t - 2.0))
            }
        };
        let (r, trials) = search(phi, 50.0);
        assert_eq!(r.status, SearchStatus::Wolfe, "{r:?} {trials:?}");
        assert!(r.best.t <= 5.0);
    }

    #[test]
    fn an_ascent_direction_is_refused_without_evaluating() {
        let mut line = Line {
            f: quadratic(-1.0),
            trials: vec![],
            kept: vec![],
        };
        let start = Trial {
            t: 0.0,
            f: 1.0,
            df: 2.0,
        };
        let Ok(r) = strong_wolfe(&mut line, start, 1.0, &WolfeConfig::default());
        assert_eq!(r.status, SearchStatus::NotDescent);
        assert_eq!(r.evaluations, 0);
    }

    #[test]
    fn cubic_minimizer_of_a_cubic_is_exact() {
        // φ(t) = t³ − 3t has its local minimum at t = 1.
        let at = |t: f64| Trial {
            t,
            f: t * t * t - 3.0 * t,
            df: 3.0 * t * t - 3.0,
        };
        let t = cubic_minimizer(at(0.0), at(3.0), 0.0, 3.0);
        assert!((t - 1.0).abs() < 1e-14, "{t}");
        let t = cubic_minimizer(at(3.0), at(0.0), 0.0, 3.0);
        assert!((t - 1.0).abs() < 1e-14, "{t}");
    }
}
