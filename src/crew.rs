//! The process's crew of worker threads, kept awake between jobs.
//!
//! Why not `std::thread::scope` per job: an Adam epoch on 10 000 points is a few
//! milliseconds, and on the virtual machines we run on a freshly spawned thread
//! starts about 15 µs after `spawn` when its core is busy, about 30 µs when the
//! core has been idle for 0.5 ms and 160 µs after 3 ms (medians: the hypervisor
//! has to wake the virtual CPU; `tests::start_latency`, docs/PERFORMANCE.md). Every evaluation paid that on
//! its critical path. The crew's workers instead spin for [`SPIN`] after each job
//! (yielding, so oversubscribed processes still progress), then park; a job
//! handed to a spinning worker starts within a microsecond or two.
//!
//! One crew serves the whole process. A job started while another thread holds
//! the crew (tests run in parallel) runs on scoped threads instead: which threads
//! run a job never changes what it computes.

use std::cell::UnsafeCell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long an idle worker spins before it parks.
const SPIN: Duration = Duration::from_millis(2);

/// The most threads one job can use (the lanes of [`Shared::state`]'s count).
const MAX_THREADS: usize = 255;

/// A job: called once with each index in `0..threads`.
type Job<'a> = &'a (dyn Fn(usize) + Sync);

/// Runs `job(i)` for every `i` in `0..threads`, `job(0)` on the calling thread,
/// and returns when all have returned. A panic in any of them is raised here after
/// all have finished.
pub fn run(threads: usize, job: Job<'_>) {
    let threads = threads.clamp(1, MAX_THREADS);
    if threads == 1 {
        return job(0);
    }
    let crew = CREW.get_or_init(Crew::default);
    // A job that panicked poisons the lock but leaves the crew whole.
    let mut workers = match crew.workers.try_lock() {
        Ok(w) => w,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => return scoped(threads, job),
    };
    crew.shared.run(&mut workers, threads, job);
}

/// The same job on threads spawned for it.
fn scoped(threads: usize, job: Job<'_>) {
    std::thread::scope(|scope| {
        for i in 1..threads {
            scope.spawn(move || job(i));
        }
        job(0);
    });
}

static CREW: OnceLock<Crew> = OnceLock::new();

#[derive(Default)]
struct Crew {
    /// Held by the thread whose job the crew runs; the workers' handles, to wake them.
    workers: Mutex<Vec<Thread>>,
    shared: Arc<Shared>,
}

/// What the caller and the workers share.
#[derive(Default)]
struct Shared {
    /// The job's number (bits 8..) and how many workers it needs (bits 0..8), in
    /// one word so a worker never pairs one job's number with another's count.
    state: AtomicU64,
    /// The current job, its lifetime erased: valid while `pending` is not zero.
    job: UnsafeCell<Option<Job<'static>>>,
    /// Workers still running the current job.
    pending: AtomicUsize,
    panicked: AtomicBool,
}

// SAFETY: `job` is written only by the thread holding `Crew::workers`, while no
// worker is running (pending is zero), and published by the release store of
// `state`; workers read it after the acquire load that sees that store.
unsafe impl Sync for Shared {}

impl Shared {
    fn run(self: &Arc<Self>, workers: &mut Vec<Thread>, threads: usize, job: Job<'_>) {
        while workers.len() < threads - 1 {
            let (shared, index) = (self.clone(), workers.len());
            let seen = self.state.load(Ordering::Relaxed) >> 8;
            let handle = std::thread::Builder::new()
                .name(format!("pdenet-crew-{index}"))
                .spawn(move || shared.work(index, seen))
                .expect("a worker thread of the crew could not be started");
            workers.push(handle.thread().clone());
        }
        // SAFETY: see `Shared`'s Sync: no worker reads `job` now, and this call
        // does not return before every worker of this job is done with it.
        unsafe {
            *self.job.get() = Some(std::mem::transmute::<Job<'_>, Job<'static>>(job));
        }
        self.panicked.store(false, Ordering::Relaxed);
        self.pending.store(threads - 1, Ordering::Relaxed);
        let next = ((self.state.load(Ordering::Relaxed) >> 8) + 1) << 8;
        self.state
            .store(next | (threads - 1) as u64, Ordering::Release);
        for w in &workers[..threads - 1] {
            w.unpark();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        let mut spins = 0u32;
        while self.pending.load(Ordering::Acquire) != 0 {
            pause(&mut spins);
        }
        // SAFETY: every worker is done with the job.
        unsafe { *self.job.get() = None };
        if let Err(p) = mine {
            resume_unwind(p);
        }
        if self.panicked.load(Ordering::Relaxed) {
            panic!("a worker thread of the crew panicked");
        }
    }

    /// A worker's life: wait for a job that needs it, run its index, repeat.
    /// `seen` is the job number when it was started: it runs only later ones.
    fn work(&self, index: usize, mut seen: u64) {
        loop {
            let state = self.wait_past(seen);
            seen = state >> 8;
            if index < (state & 0xff) as usize {
                // SAFETY: the job of `state` is set and stays valid until this
                // worker decrements `pending`.
                let job = unsafe { (*self.job.get()).expect("a published job") };
                if catch_unwind(AssertUnwindSafe(|| job(index + 1))).is_err() {
                    self.panicked.store(true, Ordering::Relaxed);
                }
                self.pending.fetch_sub(1, Ordering::Release);
            }
        }
    }

    /// The state once its job number differs from `seen`: spins for `SPIN`, then
    /// parks until woken.
    fn wait_past(&self, seen: u64) -> u64 {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state >> 8 != seen {
                return state;
            }
            if start.elapsed() < SPIN {
                pause(&mut spins);
            } else {
                std::thread::park();
            }
        }
    }
}

/// One round of waiting: a few pause instructions, and a yield now and then so a
/// waiting thread gives its core to one that has work.
fn pause(spins: &mut u32) {
    *spins = spins.wrapping_add(1);
    for _ in 0..16 {
        std::hint::spin_loop();
    }
    if spins.is_multiple_of(16) {
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Not a check: how long after it is handed out a second thread starts a job,
    /// spawned or from the crew, when the calling thread was busy for `gap` before
    /// (the other core idle). `cargo test --release --lib crew::tests::start_latency
    /// -- --ignored --nocapture`; figures in docs/PERFORMANCE.md.
    #[test]
    #[ignore]
    fn start_latency() {
        let busy = |us: u64| {
            let t = Instant::now();
            while t.elapsed() < Duration::from_micros(us) {}
        };
        let median_us = |gap: u64, crew: bool| {
            let mut lat: Vec<f64> = (0..200)
                .map(|_| {
                    busy(gap);
                    let t0 = Instant::now();
                    let started = Mutex::new(0.0);
                    let job = |i: usize| {
                        if i == 1 {
                            *started.lock().unwrap() = t0.elapsed().as_secs_f64() * 1e6;
                        }
                        busy(100);
                    };
                    match crew {
                        true => run(2, &job),
                        false => scoped(2, &job),
                    }
                    let us = *started.lock().unwrap();
                    us
                })
                .collect();
            lat.sort_by(f64::total_cmp);
            lat[lat.len() / 2]
        };
        for gap in [0, 500, 3000] {
            println!(
                "busy {gap} µs before: spawned thread starts after {:.1} µs, crew worker after {:.1} µs",
                median_us(gap, false),
                median_us(gap, true)
            );
        }
    }

    #[test]
    fn every_index_runs_once_whatever_the_thread_count() {
        for threads in [1, 2, 3, 5, 2, 1, 4] {
            let hits: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            run(threads, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        }
    }

    #[test]
    fn jobs_from_parallel_callers_all_complete() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        run(3, &|_| {
                            total.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 4 * 50 * 3);
    }

    #[test]
    fn a_workers_panic_reaches_the_caller_and_the_crew_goes_on() {
        let r = catch_unwind(|| run(3, &|i| assert!(i != 2, "worker two fails")));
        assert!(r.is_err());
        let hits = AtomicUsize::new(0);
        run(3, &|_| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 3);
    }
}
