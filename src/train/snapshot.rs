//! A run's state at the end of a training step, as plain data: what a checkpoint
//! holds (`io::checkpoint` writes and reads it) and what `--resume` continues from.
//!
//! Continuing from a snapshot gives, bit for bit, the steps the uninterrupted run
//! would have taken: θ, the optimizer's own state (moments, curvature pairs, H), the
//! point sets that change during training (redrawn, causally or self-adaptively
//! weighted) with the redraw counter that seeds the next draw, the self-adaptive
//! weights' ascent, the terms' balancing multipliers and the history so far. What
//! does not influence the steps (when the error was last measured) starts afresh.

use super::optim::{self, OptimizerState};
use super::trainer::{PhaseReport, Row};
use crate::kernel::PointBatch;

/// Everything needed to continue a run after step `done` of phase `phase`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The phase in progress: its index among the run's phases.
    pub phase: usize,
    /// Its steps taken, evaluations made and seconds spent so far.
    pub done: usize,
    pub evaluations: usize,
    pub phase_seconds: f64,
    pub theta: Vec<f64>,
    pub optimizer: OptimizerState,
    pub history: Vec<Row>,
    /// The phases that ended before this one.
    pub phases: Vec<PhaseReport>,
    /// The trainer's running values: each term's balancing multiplier (empty when no
    /// phase balances), the smallest causal weight, each self-adaptive set's mean
    /// weight, the latest measured error.
    pub scale: Vec<f64>,
    pub causal: Option<f64>,
    pub adaptive: Vec<f64>,
    pub latest: Option<f64>,
    /// Seconds since the run started (history's `time_s`) at the snapshot.
    pub elapsed: f64,
    /// The point sets' state; `run` fills it in.
    pub sets: SetState,
}

/// The state of the point sets that change during training.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SetState {
    /// (set index, its points now) for every set that is redrawn or weighted.
    pub batches: Vec<(usize, PointBatch)>,
    /// Redraws so far (the next draw's seed follows from it).
    pub draws: u64,
    /// Each self-adaptive set's λ and its ascent's state.
    pub lambdas: Vec<LambdaState>,
}

/// One self-adaptive set's weights λ and, once it has climbed, its Adam's rate and
/// state.
#[derive(Debug, Clone, PartialEq)]
pub struct LambdaState {
    pub lambda: Vec<f64>,
    pub ascent: Option<(f64, OptimizerState)>,
}

/// A history row as numbers: [iter, loss, time_s, then each list as its length
/// (−1 for an absent option) and its values]: terms, params, errors, scale, causal,
/// adaptive. The phase and events are words, kept beside.
pub fn row_numbers(row: &Row) -> Vec<f64> {
    let mut out = vec![row.iter as f64, row.loss, row.time_s];
    let mut list = |v: Option<&[f64]>| match v {
        Some(v) => {
            out.push(v.len() as f64);
            out.extend_from_slice(v);
        }
        None => out.push(-1.0),
    };
    list(Some(&row.terms));
    list(Some(&row.params));
    list(row.errors.as_deref());
    list(Some(&row.scale));
    list(row.causal.as_ref().map(std::slice::from_ref));
    list(Some(&row.adaptive));
    out
}

/// The row [`row_numbers`] wrote, from its numbers (consumed from the front of
/// `numbers`), its phase and events; `None` when they do not make a row.
pub fn row_from(numbers: &mut &[f64], phase: &str, events: &[String]) -> Option<Row> {
    fn take<'a>(n: &mut &'a [f64], k: usize) -> Option<&'a [f64]> {
        let (head, tail) = (n.get(..k)?, n.get(k..)?);
        *n = tail;
        Some(head)
    }
    fn list(n: &mut &[f64]) -> Option<Option<Vec<f64>>> {
        let len = take(n, 1)?[0];
        if len < 0.0 {
            return Some(None);
        }
        Some(Some(take(n, len as usize)?.to_vec()))
    }
    let head = take(numbers, 3)?;
    let (iter, loss, time_s) = (head[0] as usize, head[1], head[2]);
    let terms = list(numbers)??;
    let params = list(numbers)??;
    let errors = list(numbers)?;
    let scale = list(numbers)??;
    let causal = list(numbers)?.and_then(|c| c.first().copied());
    let adaptive = list(numbers)??;
    Some(Row {
        phase: optim::kind(phase)?.name,
        iter,
        loss,
        terms,
        params,
        events: events
            .iter()
            .map(|e| event_word(e))
            .collect::<Option<_>>()?,
        time_s,
        errors,
        scale,
        causal,
        adaptive,
    })
}

/// The static word of a history event read back from a checkpoint.
fn event_word(word: &str) -> Option<&'static str> {
    optim::Event::ALL
        .into_iter()
        .map(optim::Event::name)
        .chain([super::trainer::RESAMPLE_EVENT])
        .find(|w| *w == word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of list, present and absent, survives the numbers.
    #[test]
    fn rows_survive_their_numbers() {
        let rows = [
            Row {
                phase: "adam",
                iter: 7,
                loss: 0.1 + 0.2,
                terms: vec![1e-300, -0.0],
                params: vec![],
                events: vec![],
                time_s: 1.5,
                errors: None,
                scale: vec![],
                causal: None,
                adaptive: vec![],
            },
            Row {
                phase: "ssbroyden",
                iter: 12,
                loss: f64::MIN_POSITIVE,
                terms: vec![3.0],
                params: vec![0.01 / 3.0],
                events: vec!["reset-periodic", "resample"],
                time_s: 2.0,
                errors: Some(vec![1e-7, 2e-7]),
                scale: vec![1.0, 4.5],
                causal: Some(0.25),
                adaptive: vec![1.25],
            },
        ];
        let mut numbers = Vec::new();
        for r in &rows {
            numbers.extend(row_numbers(r));
        }
        let mut rest = numbers.as_slice();
        for r in &rows {
            let events: Vec<String> = r.events.iter().map(|e| e.to_string()).collect();
            let back = row_from(&mut rest, r.phase, &events).expect("a row");
            assert_eq!(&back, r);
            let bits = |t: &[f64]| t.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back.terms), bits(&r.terms), "-0.0 stays negative");
        }
        assert!(rest.is_empty());
        assert!(row_from(&mut [1.0, 2.0].as_slice(), "adam", &[]).is_none());
        assert!(row_from(&mut numbers.as_slice(), "sgd", &[]).is_none());
    }
}
