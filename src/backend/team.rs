//! One kernel evaluated by several processes (MPI ranks): each computes its
//! [`Share`] of every point set's parts, the rows are gathered, put back in the
//! order one process produces them, and combined as one process combines them.
//! So `mpirun -np N` gives, bit for bit, the single process's sums, whatever N and
//! each rank's thread count. The transport is behind [`Team`] (`crate::cluster`
//! implements it with MPI collectives); nothing here depends on MPI.

use std::cell::Cell;
use std::sync::Arc;
use std::time::Instant;

use super::{BackendError, Engine, EngineFacts, EngineKind, Partials, Pass, Share, Traffic};
use crate::kernel::{Kernel, KernelError};

/// The processes of one job, seen from one of them. Every method is a collective:
/// all ranks call it, in the same order.
pub trait Team: std::fmt::Debug + Send + Sync {
    /// This process's index, 0 ..size.
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Every rank's `mine` (the same length on every rank), in rank order.
    fn gather_counts(&self, mine: &[u64]) -> Vec<u64>;
    /// Every rank's `mine` concatenated in rank order; rank r sends `counts[r]`
    /// numbers.
    fn gather_rows(&self, mine: &[f64], counts: &[usize]) -> Vec<f64>;
    /// Rank 0's `value`, on every rank.
    fn broadcast(&self, value: u64) -> u64;
    /// Ends every rank of the job (one rank's failure would leave the others
    /// waiting in a collective forever).
    fn abort(&self, code: i32) -> !;
}

/// `engine` as one rank of `team` sees it: each evaluation computes this rank's
/// share and gathers the others'. A team of one gets the engine back unchanged.
/// The interpreter, which sums all points into one row, cannot be shared and is
/// refused on a larger team.
pub fn on_team(
    engine: Box<dyn Engine>,
    team: Option<&Arc<dyn Team>>,
) -> Result<Box<dyn Engine>, BackendError> {
    let Some(team) = team.filter(|t| t.size() > 1) else {
        return Ok(engine);
    };
    if engine.facts().kind == EngineKind::Interp {
        return Err(BackendError::Unsupported(format!(
            "under MPI ({} ranks) the interpreter cannot split the points (it sums them in one row); `--backend cpu` or `gpu` can",
            team.size()
        )));
    }
    Ok(Box::new(Ranked {
        engine,
        team: Arc::clone(team),
        traffic: Cell::new(Traffic::default()),
    }))
}

/// An engine whose evaluations are shared with the other ranks of a team.
struct Ranked {
    engine: Box<dyn Engine>,
    team: Arc<dyn Team>,
    traffic: Cell<Traffic>,
}

impl Engine for Ranked {
    fn kernel(&self) -> &Kernel {
        self.engine.kernel()
    }

    fn facts(&self) -> EngineFacts {
        EngineFacts {
            ranks: self.team.size(),
            ..self.engine.facts()
        }
    }

    fn partials(&self, pass: &Pass) -> Result<Partials, KernelError> {
        let share = Share {
            index: self.team.rank(),
            count: self.team.size(),
        };
        let mine = self.engine.partials(&Pass { share, ..*pass })?;
        let t0 = Instant::now();
        let sets: Vec<u64> = set_sizes(&mine).iter().map(|&n| n as u64).collect();
        let counts = self.team.gather_counts(&sets);
        let counts: Vec<usize> = counts.iter().map(|&n| n as usize).collect();
        let per_rank: Vec<usize> = (counts.chunks(sets.len().max(1)))
            .map(|c| c.iter().sum::<usize>() * mine.width)
            .collect();
        let rows = self.team.gather_rows(&mine.rows, &per_rank);
        let t = self.traffic.get();
        self.traffic.set(Traffic {
            gathers: t.gathers + 1,
            seconds: t.seconds + t0.elapsed().as_secs_f64(),
            bytes: t.bytes + (rows.len() * 8) as u64,
        });
        Ok(in_process_order(&mine, rows, &counts))
    }

    fn traffic(&self) -> Option<Traffic> {
        Some(self.traffic.get())
    }

    fn device_work(&self) -> Option<super::DeviceWork> {
        self.engine.device_work()
    }
}

/// Rows per point set of `p`, in set order.
fn set_sizes(p: &Partials) -> Vec<usize> {
    let mut start = 0;
    let mut out = Vec::with_capacity(p.set_ends.len());
    for &end in &p.set_ends {
        out.push(end - start);
        start = end;
    }
    out
}

/// Every rank's rows (`rows`: rank after rank, each rank's set after set, rank r
/// holding `counts[r·sets + s]` rows of set s) rearranged set after set, rank
/// after rank within a set: the order of one process's parts, since rank r's share
/// of a set's parts comes before rank r + 1's. `like` gives the shape.
fn in_process_order(like: &Partials, rows: Vec<f64>, counts: &[usize]) -> Partials {
    let width = like.width;
    let sets = like.set_ends.len();
    let ranks = counts.len() / sets.max(1);
    let mut starts = Vec::with_capacity(counts.len());
    let mut at = 0;
    for &n in counts {
        starts.push(at);
        at += n * width;
    }
    let mut out = Partials::new(like.n_terms, width - like.n_terms);
    for s in 0..sets {
        for r in 0..ranks {
            let k = r * sets + s;
            out.rows
                .extend_from_slice(&rows[starts[k]..starts[k] + counts[k] * width]);
        }
        out.end_set();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gpu::tests::device;
    use crate::backend::tests::{batches, burgers, theta};
    use crate::backend::{compile, EngineChoice, GpuKernel, Precision};

    /// Every rank's share of a pass, put together as the gather does, combines to
    /// the single process's sums bit for bit; shares that hold no parts (more
    /// ranks than parts) are empty and harmless.
    fn shares_put_together_sum_as_one_pass(engine: &dyn Engine, points: usize) {
        let (problem, kernel) = burgers();
        let batches = batches(&problem, &kernel, points, 37);
        let theta = theta(&problem, 37);
        let seeds = vec![1.0; kernel.terms.len()];
        let pass = |share| Pass {
            theta: &theta,
            seeds: &seeds,
            batches: &batches,
            forward_only: false,
            share,
        };
        let whole = engine.partials(&pass(Share::WHOLE)).unwrap();
        assert!(whole.row_count() > 8, "enough parts to share");
        for count in [2, 3, 7, 300] {
            let shares: Vec<Partials> = (0..count)
                .map(|index| engine.partials(&pass(Share { index, count })).unwrap())
                .collect();
            let counts: Vec<usize> = shares.iter().flat_map(set_sizes).collect();
            let rows: Vec<f64> = shares.iter().flat_map(|p| p.rows.clone()).collect();
            let joined = in_process_order(&whole, rows, &counts);
            assert_eq!(joined, whole, "{count} ranks");
            assert_eq!(joined.combine(), whole.combine());
        }
    }

    #[test]
    fn cpu_shares_put_together_sum_as_one_process() {
        let (_, kernel) = burgers();
        let cpu = EngineChoice::Engine(EngineKind::Cpu);
        let engine = compile(cpu, &kernel, Precision::F64, 2).unwrap();
        shares_put_together_sum_as_one_pass(engine.as_ref(), 10_007);
    }

    /// The GPU engine's rows are 16 384 points each (the device folds 64 segments
    /// of 256): a share is a run of them. Three rows and a partial one per set.
    #[test]
    fn gpu_shares_put_together_sum_as_one_process() {
        let Some(gpu) = device(Precision::F32) else {
            return;
        };
        let (_, kernel) = burgers();
        let engine = GpuKernel::compile(&kernel, Precision::F32, gpu).unwrap();
        shares_put_together_sum_as_one_pass(&engine, 3 * 16_384 + 1_001);
    }
}
