//! MPI as the transport of a [`Team`] (the `mpi` cargo feature): `mpirun -np N
//! pdenet run FILE` starts N ranks that share every evaluation of the loss and
//! gradient (`backend::team`) and take the same optimizer steps; rank 0 writes the
//! outputs. Any launcher that sets up an MPI job works (Open MPI's `mpirun`,
//! MPICH's `mpiexec`, Slurm's `srun`).
//!
//! Collectives use MPI's default error handler (errors are fatal): a rank that dies
//! or a failed transfer ends the whole job, which is what a job of lock-step ranks
//! wants; rank 0's last checkpoint and output set stay, and `--resume` under the
//! launcher continues from them.

use std::sync::Arc;

use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::{Count, Threading};

use crate::backend::Team;

/// Environment variables a launcher sets for an MPI job's processes (Open MPI,
/// MPICH and Intel MPI's Hydra, PMIx launchers such as Slurm's `srun --mpi=pmix`).
/// Without one of them the process is on its own and MPI is not started, so a
/// plain `pdenet run` of an MPI build behaves as the default build.
const LAUNCHED: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"];

/// MPI, started for this process's life: dropping it finalizes MPI.
pub struct Job {
    _universe: Universe,
    team: Arc<MpiTeam>,
    /// Ranks on this machine (those sharing its cores and GPUs), and this one's
    /// index among them.
    local: usize,
    local_rank: usize,
}

impl Job {
    /// Starts MPI when a launcher started this process; `None` otherwise.
    pub fn start() -> Option<Job> {
        if !LAUNCHED.iter().any(|v| std::env::var_os(v).is_some()) {
            return None;
        }
        // Funneled: the engine's worker threads never call MPI, the training
        // thread makes every call.
        let (universe, _) = mpi::initialize_with_threading(Threading::Funneled)?;
        let world = universe.world();
        let node = world.split_shared(0);
        let (local, local_rank) = (node.size() as usize, node.rank() as usize);
        let team = Arc::new(MpiTeam {
            rank: world.rank() as usize,
            size: world.size() as usize,
        });
        Some(Job {
            _universe: universe,
            team,
            local,
            local_rank,
        })
    }

    /// This rank's index among the ranks on its machine.
    pub fn local_rank(&self) -> usize {
        self.local_rank
    }

    pub fn team(&self) -> Arc<dyn Team> {
        self.team.clone()
    }

    /// Ranks of this job on this machine.
    pub fn local_ranks(&self) -> usize {
        self.local.max(1)
    }
}

/// The world communicator's ranks.
#[derive(Debug)]
struct MpiTeam {
    rank: usize,
    size: usize,
}

impl Team for MpiTeam {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn gather_counts(&self, mine: &[u64]) -> Vec<u64> {
        let mut all = vec![0u64; mine.len() * self.size];
        SimpleCommunicator::world().all_gather_into(mine, &mut all[..]);
        all
    }

    fn gather_rows(&self, mine: &[f64], counts: &[usize]) -> Vec<f64> {
        let mut all = vec![0.0; counts.iter().sum()];
        let displs: Vec<Count> = counts
            .iter()
            .scan(0, |at, &n| {
                let start = *at;
                *at += n;
                Some(start as Count)
            })
            .collect();
        let counts: Vec<Count> = counts.iter().map(|&n| n as Count).collect();
        let mut into = PartitionMut::new(&mut all[..], counts, displs);
        SimpleCommunicator::world().all_gather_varcount_into(mine, &mut into);
        all
    }

    fn abort(&self, code: i32) -> ! {
        SimpleCommunicator::world().abort(code)
    }

    fn broadcast(&self, value: u64) -> u64 {
        let mut v = value;
        SimpleCommunicator::world()
            .process_at_rank(0)
            .broadcast_into(&mut v);
        v
    }
}
