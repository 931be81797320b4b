//! MPI jobs (a build with the `mpi` feature): `mpirun -np 2` on loopback against
//! one process. The ranks share every evaluation and must reproduce the single
//! process's run bit for bit; only rank 0 writes; a rank that dies ends the job
//! with rank 0's checkpoint intact, and `--resume` under mpirun continues from it.
//! Needs `mpirun` (Open MPI or MPICH) on PATH: scripts/test.sh runs these only in
//! an MPI build.
#![cfg(feature = "mpi")]

mod common;
use common::{out_dir, pdenet, root, run_args};

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const FILE: &str = "tests/mpi/burgers_lbfgs.pde";
/// The CPU runs' precision: the equivalence is asked of f64 (f32 holds as well).
const F64: [&str; 2] = ["--precision", "f64"];
/// A run long enough to be killed after its first checkpoint.
const LONG: [&str; 6] = [
    "--set",
    "train.adam.epochs=3000",
    "--checkpoint-every",
    "1",
    "--precision",
    "f64",
];

/// `mpirun -np 2 pdenet ARGS --out OUT/rankR`: each rank is given its own out
/// directory, so a rank other than 0 that wrote anything would show.
fn mpirun(args: &[&str], out: &Path, tag: &str) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        "2",
        "sh",
        "-c",
    ])
    .arg(r#"exec "$0" "$@" --out "$OUT/rank${OMPI_COMM_WORLD_RANK:-$PMI_RANK}""#)
    .arg(env!("CARGO_BIN_EXE_pdenet"))
    .args(args)
    .env("OUT", out)
    .env("PDENET_TEST_JOB", tag)
    .current_dir(root());
    c
}

/// `mpirun -np 2 pdenet ARGS --out OUT`, as a job is run: one out directory on a
/// file system every rank sees (rank 1 reads the checkpoint it resumes from there).
fn mpirun_shared(args: &[&str], out: &Path) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .arg(env!("CARGO_BIN_EXE_pdenet"))
        .args(args)
        .arg("--out")
        .arg(out)
        .current_dir(root());
    c
}

fn output(mut c: Command) -> Output {
    c.output().expect("mpirun runs (is MPI installed?)")
}

/// history.csv without its clock column: the numbers two runs must share.
fn history(out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(out.join("history.csv")).expect("history.csv exists");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let clock = header.iter().position(|&h| h == "time_s");
    text.lines()
        .map(|l| {
            let cells = l.split(',').enumerate();
            let kept: Vec<&str> = cells
                .filter(|(i, _)| Some(*i) != clock)
                .map(|(_, c)| c)
                .collect();
            kept.join(",")
        })
        .collect()
}

fn args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = run_args(FILE, out, &["--error-every", "20"]);
    a.extend_from_slice(extra);
    a
}

/// The arguments of the ranks: `args` without `--out` (the wrapper adds each rank's).
fn rank_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", FILE, "--data-dir", "examples/data", "--quiet"];
    a.extend_from_slice(&["--error-every", "20", "--threads", "1"]);
    a.extend_from_slice(extra);
    a
}

#[test]
fn two_ranks_train_as_one_process_and_only_rank_0_writes() {
    let one = out_dir("mpi_one");
    let o = pdenet(&args(
        &one.to_string_lossy(),
        &[&F64[..], &["--threads", "2"]].concat(),
    ));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let job = out_dir("mpi_two");
    let o = output(mpirun(&rank_args(&F64), &job, "equal"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h1, h2) = (history(&one), history(&job.join("rank0")));
    assert_eq!(
        h1.len(),
        201,
        "Adam 100 and L-BFGS 100 steps and the header"
    );
    assert_eq!(h1, h2, "the job's history differs from one process's");
    assert!(
        h1.iter().any(|r| r.contains("resample")),
        "RAD redrew points"
    );
    let report = std::fs::read_to_string(job.join("rank0/report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["machine"]["ranks"], 2);
    assert_eq!(report["mpi"]["ranks"], 2);
    let gathers = report["mpi"]["gathers"].as_u64().unwrap();
    assert!(gathers >= 200, "a gather per evaluation: {gathers}");
    assert!(!job.join("rank1").exists(), "rank 1 wrote files");
}

/// Rank 1 is killed once rank 0 has written a checkpoint: mpirun ends the job, the
/// checkpoint stays whole, and the job resumed under mpirun ends with the
/// uninterrupted run's history.
#[test]
fn a_job_that_loses_a_rank_resumes_from_rank_0s_checkpoint() {
    let one = whole_run("mpi_whole");

    let job = out_dir("mpi_killed");
    let tag = format!("killed-{}", std::process::id());
    let mut c = mpirun_shared(&rank_args(&LONG), &job);
    c.env("PDENET_TEST_JOB", &tag);
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let saved = job.join("checkpoint.npz");
    wait_for(&mut child, || saved.exists());
    let rank1 = rank_pid(&tag, 1).expect("rank 1's process");
    signal("KILL", rank1);
    let status = child.wait().unwrap();
    assert!(!status.success(), "the job ends when a rank dies");
    assert!(saved.exists(), "rank 0's checkpoint stays");
    assert!(!job.join("report.json").exists(), "the job did not finish");
    resumes_to(&one, &job);
}

/// Ctrl-C to mpirun (which passes SIGTERM to the ranks): rank 0 decides to stop
/// after the step, every rank stops there, rank 0 writes the whole output set, and
/// `--resume` continues to the uninterrupted history.
#[test]
fn ctrl_c_to_mpirun_stops_every_rank_and_writes_the_outputs() {
    let one = whole_run("mpi_whole_again");

    let job = out_dir("mpi_interrupted");
    let mut c = mpirun_shared(&rank_args(&LONG), &job);
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&mut child, || job.join("checkpoint.npz").exists());
    signal("INT", child.id());
    child.wait().unwrap();
    let report = std::fs::read_to_string(job.join("report.json")).expect("a report");
    assert!(report.contains("stopped by Ctrl-C or SIGTERM"), "{report}");
    resumes_to(&one, &job);
}

/// The LONG run in one process, uninterrupted, into a fresh `name` directory.
fn whole_run(name: &str) -> std::path::PathBuf {
    let one = out_dir(name);
    let o = pdenet(&args(&one.to_string_lossy(), &LONG));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    one
}

/// `--resume` of the LONG job in `job` under mpirun ends with `one`'s history.
fn resumes_to(one: &Path, job: &Path) {
    let resume = [&LONG[..], &["--resume"]].concat();
    let o = output(mpirun_shared(&rank_args(&resume), job));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(history(one), history(job));
}

/// A rank that fails on its own (here: rank 1 finds no checkpoint to resume from
/// in its out directory) ends the whole job with its message instead of leaving
/// rank 0 waiting for it.
#[test]
fn one_rank_failing_ends_the_job() {
    let job = out_dir("mpi_lonely");
    let first = job.join("rank0");
    let stopped = [&LONG[..], &["--time-limit", "0.5"]].concat();
    let o = pdenet(&args(&first.to_string_lossy(), &stopped));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(first.join("checkpoint.npz").exists());
    let resume = [&LONG[..], &["--resume"]].concat();
    let o = output(mpirun(&rank_args(&resume), &job, "lonely"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("checkpoint"), "{err}");
}

/// The GPU engine shares its 256-point segments the same way (lavapipe in CI, one
/// adapter per rank): 20 steps of each phase as one process takes them.
#[test]
fn two_ranks_on_the_gpu_engine_train_as_one_process() {
    let gpu = ["--backend", "gpu", "--precision", "f32", "--epochs", "20"];
    let one = out_dir("mpi_gpu_one");
    // Shared ranks run Adam on the host (its sum is over every rank's rows): so
    // does the one process here, whose Adam would otherwise run on the device.
    let o = Command::new(env!("CARGO_BIN_EXE_pdenet"))
        .args(args(&one.to_string_lossy(), &gpu))
        .env("PDENET_GPU_ADAM", "host")
        .current_dir(root())
        .output()
        .expect("the pdenet binary runs");
    if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no_adapter") {
        let required = std::env::var("PDENET_REQUIRE_GPU_ADAPTER").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "PDENET_REQUIRE_GPU_ADAPTER=1 but there is no adapter"
        );
        return;
    }
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let job = out_dir("mpi_gpu_two");
    let o = output(mpirun(&rank_args(&gpu), &job, "gpu"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(history(&one), history(&job.join("rank0")));
}

/// The interpreter sums all points in one row and cannot be shared: refused on
/// every rank with the reason.
#[test]
fn the_interpreter_is_refused_under_mpi() {
    let job = out_dir("mpi_interp");
    let o = output(mpirun(&rank_args(&["--interp"]), &job, "interp"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("cannot split"), "{err}");
}

/// Polls until `done` holds; panics if the child exits first or after a minute.
fn wait_for(child: &mut Child, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the job ended ({status}) before the condition held");
        }
        assert!(start.elapsed() < Duration::from_secs(60), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The process of rank `rank` of the job tagged `tag` (its environment names both).
fn rank_pid(tag: &str, rank: usize) -> Option<u32> {
    let want = [
        format!("PDENET_TEST_JOB={tag}"),
        format!("OMPI_COMM_WORLD_RANK={rank}"),
    ];
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let env = std::fs::read(e.path().join("environ")).ok()?;
        let vars: Vec<&[u8]> = env.split(|&b| b == 0).collect();
        let exe = std::fs::read_link(e.path().join("exe")).ok()?;
        let is_pdenet = exe.file_name()? == Path::new(env!("CARGO_BIN_EXE_pdenet")).file_name()?;
        (is_pdenet && want.iter().all(|w| vars.contains(&w.as_bytes()))).then_some(pid)
    })
}

/// `kill -NAME pid`.
fn signal(name: &str, pid: u32) {
    let flag = format!("-{name}");
    let ok = Command::new("kill")
        .args([&flag, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {flag} {pid}");
}
