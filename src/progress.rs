//! What a run shows on the terminal: one progress bar per optimizer phase (epoch,
//! loss, rate, ETA), plain lines when output is not a terminal or with `--quiet`,
//! and the closing summary.

use crate::problem::Problem;
use crate::train::run::RunResult;
use crate::train::trainer::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

pub struct Display {
    quiet: bool,
    tty: bool,
    bar: Option<ProgressBar>,
    phase: &'static str,
    phase_start: Instant,
    last_line: Instant,
    last: Option<(usize, f64)>,
}

impl Display {
    pub fn new(quiet: bool) -> Display {
        Display {
            quiet,
            tty: std::io::stderr().is_terminal(),
            bar: None,
            phase: "",
            phase_start: Instant::now(),
            last_line: Instant::now(),
            last: None,
        }
    }

    pub fn update(&mut self, p: &Progress) {
        if p.phase != self.phase {
            self.end_phase();
            self.phase = p.phase;
            self.phase_start = Instant::now();
            if self.tty && !self.quiet {
                let bar =
                    ProgressBar::with_draw_target(Some(p.of as u64), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template(
                    "{prefix:>6} [{bar:30}] {pos}/{len} {msg} {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
                bar.set_style(style);
                bar.set_prefix(p.phase);
                self.bar = Some(bar);
            }
        }
        self.last = Some((p.iter, p.loss));
        let error = p
            .error
            .map_or(String::new(), |e| format!(" rel. L2 {e:.2e}"));
        if let Some(bar) = &self.bar {
            bar.set_position(p.iter as u64);
            if p.iter % 10 == 1 {
                bar.set_message(format!("loss {:.3e}{error}", p.loss));
            }
        } else if !self.quiet && self.last_line.elapsed() > Duration::from_secs(10) {
            // Not a terminal (a log file, CI): a plain line every ten seconds.
            let secs = self.phase_start.elapsed().as_secs_f64();
            let rate = p.iter as f64 / secs.max(1e-9);
            let eta = p.of.saturating_sub(p.iter) as f64 / rate.max(1e-9);
            eprintln!(
                "{} {}/{} loss {:.3e}{error} {rate:.1}/s ETA {eta:.0} s",
                p.phase, p.iter, p.of, p.loss
            );
            self.last_line = Instant::now();
        }
    }

    fn end_phase(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some((iter, loss)) = self.last.take() {
            eprintln!("{}: {iter} iterations, loss {loss:.3e}", self.phase);
        }
    }

    pub fn finish(&mut self) {
        self.end_phase();
    }
}

/// The lines printed after a run: errors, recovered parameters, where the files are.
pub fn summary(problem: &Problem, r: &RunResult, out: &Path) -> String {
    let mut s = format!("{}: trained in {:.1} s", problem.name, r.train_s);
    if let Some(row) = r.outcome.history.last() {
        s += &format!(", final loss {:.3e}", row.loss);
        for (q, v) in problem.params.iter().zip(&row.params) {
            s += &format!("\n  {} = {v:.6}", q.name);
            if let (Some(exact), Some(err)) = (q.exact, q.rel_error(*v)) {
                s += &format!(" (exact {exact:.6}, rel. error {err:.2e})");
            }
        }
    }
    for e in &r.errors {
        s += &format!(
            "\n  error {}: rel. L2 {:.3e}, max abs {:.3e}",
            e.name, e.rel_l2, e.max_abs
        );
        if let Some(free) = &e.up_to {
            s += &format!(
                " (the loss fixes {} only up to a function of ({}): means matched first)",
                e.name,
                free.join(", ")
            );
        }
    }
    for a in &r.auto {
        let timed: Vec<String> = (a.timings.iter())
            .map(|(k, ms)| format!("{} {ms:.2} ms", k.name()))
            .collect();
        s += &format!(
            "\n  --backend auto chose {} for {} (per evaluation: {})",
            a.chosen.name(),
            a.precision.name(),
            timed.join(", ")
        );
    }
    for ph in &r.outcome.phases {
        if let Some(t) = ph.pass_ms {
            s += &format!(
                "\n  {} kept its H on the {} (a pass over it: host {:.3} ms, device {:.3} ms)",
                ph.name, ph.update, t.host_ms, t.device_ms
            );
        }
    }
    if let Some(t) = r.traffic {
        s += &format!(
            "\n  shared by {} MPI ranks: {} gathers of {:.0} kB, {:.2} s in them ({:.1} % of training)",
            r.engine.ranks,
            t.gathers,
            t.bytes as f64 / t.gathers.max(1) as f64 / 1e3,
            t.seconds,
            100.0 * t.seconds / r.train_s.max(1e-9)
        );
    }
    s += &format!("\n  outputs in {}", out.display());
    s
}
