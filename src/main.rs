//! The `pdenet` command line: parses arguments, calls the library, prints. It is
//! the only place that renders diagnostics (miette) and decides exit codes.
//!
//! Every failure past the front end is a miette diagnostic with a code and a help
//! line: the library's error types derive `Diagnostic`, and the few failures that
//! only the command line sees (a model that does not reload, a run that diverged,
//! a gradient check above its tolerance) are made here with `miette!`. A command
//! returns `miette::Result<ExitCode>`; `main` renders the error, or exits with the
//! code (1 after front-end diagnostics, which are rendered where they arise).

use clap::{Parser, Subcommand, ValueEnum};
use miette::{miette, Result};
use pdenet::backend::{EngineChoice, EngineKind, Precision, Team};
use pdenet::bench;
use pdenet::describe;
use pdenet::eval as evaluate;
use pdenet::io::{checkpoint, output, table};
use pdenet::kernel::{self, gradcheck::GradcheckOptions};
use pdenet::pipeline::Compiled;
use pdenet::progress;
use pdenet::session;
use pdenet::train::points;
use pdenet::train::run::{ErrorEvery, RunOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "pdenet",
    version,
    about = "A language and compiler for physics-informed neural networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Input {
    /// The .pde file.
    file: PathBuf,
    /// Directories searched for data files named by bare file name (after the
    /// .pde file's own directory). Also read from PDENET_DATA (':'-separated).
    #[arg(long = "data-dir")]
    data_dir: Vec<PathBuf>,
    /// Change a setting without editing the file (repeatable): network=KIND,
    /// network.width=20, train.adam.lr=1e-3, sample.collocation=5000. The run's
    /// saved source has the change written in.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Make every check `run` makes before training, without training.
    Check {
        #[command(flatten)]
        input: Input,
    },
    /// Print what the compiler generated.
    Kernels {
        #[command(flatten)]
        input: Input,
        #[arg(long, value_enum, default_value = "residual")]
        emit: Emit,
        /// The number format of the clif, asm and wgsl listings.
        #[arg(long, value_enum, default_value = "f32")]
        precision: PrecisionArg,
    },
    /// Train and report.
    Run {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Compare the kernel's jets and gradient with finite differences.
    Gradcheck {
        #[command(flatten)]
        input: Input,
        /// Seed of the network initialization and the sampled points.
        #[arg(long, default_value_t = pdenet::net::init::DEFAULT_SEED)]
        seed: u64,
        /// Largest acceptable relative error.
        #[arg(long, default_value_t = 1e-5)]
        tolerance: f64,
    },
    /// Evaluate a trained model at points or on a grid.
    Eval(EvalArgs),
    /// Compare an engine's loss and gradient with the f64 interpreter's at the
    /// file's initial θ (the GPU check's correctness step); exit 1 above the engine
    /// tests' tolerances (1e-10 in f64; 1e-4 loss, 1e-3 gradient in f32).
    Compare {
        #[command(flatten)]
        input: Input,
        #[arg(long, value_enum, default_value = "gpu")]
        backend: BackendArg,
        #[arg(long, value_enum, default_value = "f32")]
        precision: PrecisionArg,
        #[arg(long)]
        threads: Option<usize>,
        /// At most this many points of each point set (all when absent).
        #[arg(long)]
        points: Option<usize>,
        #[arg(long, default_value_t = pdenet::net::init::DEFAULT_SEED)]
        seed: u64,
        /// One JSON object instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Write a trained model's networks as an .npz for NumPy and PyTorch: every
    /// tensor, and how each layer computes (its description.json).
    Export {
        /// The out directory a run left (its manifest.json names the model).
        dir: PathBuf,
        /// Where to write (default: DIR/export.npz).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Time loss + gradient + Adam update per epoch (median after a warm-up).
    Bench {
        #[command(flatten)]
        input: Input,
        /// The engine to time, as `run --backend` chooses it.
        #[arg(long, value_enum, default_value = "cpu")]
        backend: BackendArg,
        #[arg(long, value_enum, default_value = "f32")]
        precision: PrecisionArg,
        #[arg(long)]
        threads: Option<usize>,
        /// Timed epochs after the warm-up epochs.
        #[arg(long, default_value_t = 100)]
        epochs: usize,
        /// Untimed epochs first (compilation, caches, the device's first
        /// submissions); fewer for a large problem timed on a short budget.
        #[arg(long, default_value_t = pdenet::bench::WARMUP)]
        warmup: usize,
        #[arg(long, default_value_t = pdenet::net::init::DEFAULT_SEED)]
        seed: u64,
        /// One JSON object per back end timed.
        #[arg(long)]
        json: bool,
        /// Do not time a dense quasi-Newton update (its n² matrix would count in
        /// the process's peak memory).
        #[arg(long)]
        no_hessian: bool,
    },
}

#[derive(clap::Args, Clone)]
#[command(group(clap::ArgGroup::new("at").required(true).args(["points", "input", "grid"])))]
struct EvalArgs {
    /// The out directory a run left (its manifest.json names the model).
    dir: PathBuf,
    /// Points, `;`-separated, each naming every coordinate: `x=0.1,t=0.5;x=0.2,t=0.5`.
    #[arg(long)]
    points: Option<String>,
    /// Points from a CSV file (a header naming the coordinates) or a .npy array
    /// (one column per coordinate, in the domain's order).
    #[arg(long)]
    input: Option<PathBuf>,
    /// A regular grid, start:stop:count per coordinate: `x=-1:1:256,t=0:1:100`.
    #[arg(long)]
    grid: Option<String>,
    /// The quantities: fields, `|h|` for a complex field, derivatives by suffix
    /// (`u,u_x,u_xx`). Default: every field.
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// Where to write: .csv, .npy or .mat by extension (default: CSV on stdout).
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Where the kernel runs.
    #[arg(long, value_enum, default_value = "cpu")]
    backend: BackendArg,
    /// Caps every optimizer phase at N epochs / iterations.
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, default_value_t = pdenet::net::init::DEFAULT_SEED)]
    seed: u64,
    /// Threads for the kernel (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// The kernel's number format in every phase (default: each phase's
    /// `precision = …`, else f64).
    #[arg(long, value_enum)]
    precision: Option<PrecisionArg>,
    /// The out directory (default: `<file>.out/` beside the .pde file).
    #[arg(long)]
    out: Option<PathBuf>,
    /// One line per optimizer phase instead of a progress bar.
    #[arg(long)]
    quiet: bool,
    /// The same as `--backend interp`.
    #[arg(long)]
    interp: bool,
    /// Stop cleanly after this many seconds (since the command started), writing
    /// everything as after a finished run.
    #[arg(long, value_name = "SECONDS")]
    time_limit: Option<f64>,
    /// Measure the error against the reference every N steps (default: as often as
    /// costs under 2 % of the run), and at the end of each phase.
    #[arg(long, value_name = "N")]
    error_every: Option<usize>,
    /// Continue the run whose checkpoint is in the out directory (same file and
    /// options) from its last snapshot, as if it had never stopped.
    #[arg(long)]
    resume: bool,
    /// Seconds between checkpoints (OUT/checkpoint.npz, also written when the time
    /// limit or Ctrl-C stops the run; removed when the run ends); 0: none.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    checkpoint_every: f64,
    /// Start from the trained θ of a run's out directory (a warm start): its networks
    /// must match this file's; PDE parameters are taken by name.
    #[arg(long, value_name = "OUT_DIR", conflicts_with = "resume")]
    init: Option<PathBuf>,
}

/// `--backend`, for `run` and `bench`: the one place the command line names the
/// engines (`backend::compile` is the one place that opens them).
#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum BackendArg {
    /// The Cranelift JIT on the CPU.
    Cpu,
    /// WGSL shaders on the best adapter, a software one (lavapipe) included.
    Gpu,
    /// The faster of a hardware GPU (if one runs the precision) and `cpu`, timed on
    /// the run's points at the start; `cpu` without one.
    Auto,
    /// The reference interpreter (slow; the oracle of the others).
    Interp,
}

impl From<BackendArg> for EngineChoice {
    fn from(arg: BackendArg) -> EngineChoice {
        match arg {
            BackendArg::Cpu => EngineChoice::Engine(EngineKind::Cpu),
            BackendArg::Gpu => EngineChoice::Engine(EngineKind::Gpu),
            BackendArg::Interp => EngineChoice::Engine(EngineKind::Interp),
            BackendArg::Auto => EngineChoice::Auto,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    F32,
    F64,
}

impl From<PrecisionArg> for Precision {
    fn from(arg: PrecisionArg) -> Precision {
        match arg {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F64 => Precision::F64,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// The residuals after symbolic expansion and simplification.
    Residual,
    /// The per-point program (tape ops) with its FLOP and tape counts.
    Ir,
    /// The CPU engine's Cranelift IR, before Cranelift's own passes.
    Clif,
    /// The CPU engine's machine code for this host, as Cranelift disassembles it.
    Asm,
    /// The GPU engine's compute shaders.
    Wgsl,
}

/// When the process started: a run's `time_s` (history.csv, the times to reach each
/// error in report.json) counts from here, front end and compilation included.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn main() -> Result<ExitCode> {
    STARTED.get_or_init(std::time::Instant::now);
    let cli = Cli::parse();
    // Deeply nested input is bounded before parsing, but the checker and the
    // symbolic passes recurse too: give them a stack that no accepted file exhausts.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || dispatch(cli.command));
    match worker.map(|h| h.join()) {
        Ok(Ok(result)) => result,
        _ => Err(miette!(
            code = "pdenet::internal",
            help = "please report it with the input file and the command line",
            "internal error: the worker thread failed"
        )),
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Check { input } => with_problem(&input, |c, _| {
            say(&format!("{}\n", describe::summary(&c.problem)));
            Ok(ExitCode::SUCCESS)
        }),
        Command::Kernels {
            input,
            emit,
            precision,
        } => match emit {
            Emit::Residual => with_problem(&input, |c, _| {
                say(&describe::residuals(c));
                Ok(ExitCode::SUCCESS)
            }),
            Emit::Ir => with_problem(&input, |c, _| {
                let k = kernel::compile(&c.problem)?;
                say(&k.emit_ir(&c.problem));
                Ok(ExitCode::SUCCESS)
            }),
            Emit::Clif | Emit::Asm => with_problem(&input, |c, _| {
                let k = kernel::compile(&c.problem)?;
                let asm = matches!(emit, Emit::Asm);
                say(&pdenet::backend::emit_clif(&k, precision.into(), asm));
                Ok(ExitCode::SUCCESS)
            }),
            Emit::Wgsl => with_problem(&input, |c, _| {
                let k = kernel::compile(&c.problem)?;
                say(&pdenet::backend::emit_wgsl(&k, precision.into()));
                Ok(ExitCode::SUCCESS)
            }),
        },
        Command::Run { input, run } => {
            // MPI starts on this thread, the one that makes every MPI call, and
            // ends (finalizes) when `job` drops after the run.
            #[cfg(feature = "mpi")]
            let job = pdenet::cluster::Job::start();
            #[cfg(feature = "mpi")]
            if let Some(j) = &job {
                pdenet::backend::gpu::take_gpus_in_turn(j.local_rank());
            }
            #[cfg(feature = "mpi")]
            let team = job.as_ref().map(|j| (j.team(), j.local_ranks()));
            #[cfg(not(feature = "mpi"))]
            let team = None;
            with_loaded(&input, |l| train(l, &input, &run, team.clone()))
        }
        Command::Gradcheck {
            input,
            seed,
            tolerance,
        } => with_problem(&input, |c, _| gradcheck(&c.problem, seed, tolerance)),
        Command::Eval(args) => eval(&args),
        Command::Export { dir, output } => export(&dir, output.as_deref()),
        Command::Compare {
            input,
            backend,
            precision,
            threads,
            points,
            seed,
            json,
        } => with_problem(&input, |c, _| {
            let opts = bench::BenchOptions {
                engine: backend.into(),
                precision: precision.into(),
                threads: threads.unwrap_or_else(default_threads),
                epochs: 0,
                warmup: 0,
                seed,
                hessian: false,
            };
            let a = bench::compare(&c.problem, &opts, points)?;
            say(&match json {
                true => format!("{}\n", a.json()),
                false => format!(
                    "{} on {} ({}, {} points): total {:.2e}, terms {:.2e}, gradient {:.2e} relative to the f64 interpreter: {}\n",
                    c.problem.name,
                    a.engine.adapter.as_deref().unwrap_or(a.engine.kind.name()),
                    a.engine.precision.name(),
                    a.points,
                    a.total,
                    a.terms,
                    a.grad,
                    if a.passes() { "within tolerance" } else { "ABOVE tolerance" }
                ),
            });
            Ok(if a.passes() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }),
        Command::Bench {
            input,
            backend,
            precision,
            threads,
            epochs,
            warmup,
            seed,
            json,
            no_hessian,
        } => with_problem(&input, |c, _| {
            let opts = bench::BenchOptions {
                engine: backend.into(),
                precision: precision.into(),
                threads: threads.unwrap_or_else(default_threads),
                epochs,
                warmup,
                seed,
                hessian: !no_hessian,
            };
            let t = bench::bench(&c.problem, &opts)?;
            if json {
                say(&format!("{}\n", t.json()));
            } else {
                say(&format!("{}\n", t.summary(epochs)));
            }
            Ok(ExitCode::SUCCESS)
        }),
    }
}

/// Initializes the network, samples points and compares the kernel with finite
/// differences; exit status 1 above the tolerance.
fn gradcheck(problem: &pdenet::problem::Problem, seed: u64, tolerance: f64) -> Result<ExitCode> {
    let data = points::load(problem)?;
    let batches = points::sample(problem, &data, seed);
    let theta = pdenet::net::init::init_theta(problem, seed);
    let opts = GradcheckOptions {
        tolerance,
        ..GradcheckOptions::default()
    };
    let report = kernel::gradcheck::gradcheck(problem, &theta, &batches, &opts)?;
    say(&report.to_string());
    if report.passed() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(miette!(
        code = "pdenet::gradcheck::failed",
        help = "the table above names the worst entry; a kernel bug if the finite differences are smooth there",
        "the largest relative error {:.2e} exceeds the tolerance {tolerance:.0e}",
        report.worst()
    ))
}

/// Reads, compiles and hands the problem to `f`; prints diagnostics either way.
fn with_problem(
    input: &Input,
    f: impl FnOnce(&Compiled, &str) -> Result<ExitCode>,
) -> Result<ExitCode> {
    with_loaded(input, |l| f(&l.compiled, &l.text))
}

/// Reads and checks the input file (printing its warnings), then runs `f`; the
/// diagnostics and exit code 1 when it does not check.
fn with_loaded(
    input: &Input,
    f: impl FnOnce(&session::Loaded) -> Result<ExitCode>,
) -> Result<ExitCode> {
    match session::load_file(&input.file, &input.set, &input.data_dir) {
        Ok(loaded) => {
            eprint!("{}", loaded.warnings);
            f(&loaded)
        }
        Err(rendered) => {
            eprint!("{rendered}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Writes to stdout. A closed pipe (`pdenet kernels … | head`) ends the output
/// quietly instead of panicking; the command's result is unchanged.
fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `pdenet run`, alone or as a rank of an MPI job (`team`: the job and how many of
/// its ranks share this machine's cores). Only rank 0 shows progress and writes.
fn train(
    loaded: &session::Loaded,
    input: &Input,
    args: &RunArgs,
    team: Option<(Arc<dyn Team>, usize)>,
) -> Result<ExitCode> {
    let local_ranks = team.as_ref().map_or(1, |(_, n)| *n);
    let team = team.map(|(t, _)| t);
    let backend = if args.interp {
        BackendArg::Interp
    } else {
        args.backend
    };
    let settings = session::TrainSettings {
        run: RunOptions {
            seed: args.seed,
            epochs: args.epochs,
            precision: args.precision.map(Precision::from),
            engine: backend.into(),
            threads: (args.threads).unwrap_or_else(|| (default_threads() / local_ranks).max(1)),
            started: *STARTED.get_or_init(std::time::Instant::now),
            time_limit: args.time_limit,
            error_every: args.error_every.map_or(ErrorEvery::Auto, ErrorEvery::Steps),
            checkpoint_every: args.checkpoint_every,
            init: None,
        },
        out: (args.out.clone()).unwrap_or_else(|| session::default_out_dir(&input.file)),
        resume: args.resume,
        init_from: args.init.clone(),
        team,
    };
    let lead = settings.writes();
    let mut display = progress::Display::new(args.quiet);
    let trained = session::train(
        loaded,
        &settings,
        &mut |p| {
            if lead {
                display.update(p)
            }
        },
        stop_on_ctrl_c(),
    );
    if lead {
        display.finish();
    }
    let trained = match (trained, &settings.team) {
        (Ok(t), _) => t,
        // The other ranks may be waiting for this one in a collective: end them.
        (Err(e), Some(team)) if team.size() > 1 => {
            eprintln!("{e:?}");
            team.abort(1)
        }
        (Err(e), _) => return Err(e),
    };
    if !lead {
        return Ok(ExitCode::SUCCESS);
    }
    for note in &trained.notes {
        eprintln!("pdenet: warning: {note}");
    }
    let (result, out_dir) = (&trained.result, &settings.out);
    let saved = checkpoint::path(out_dir);
    if result.outcome.cut_short && saved.exists() {
        eprintln!(
            "pdenet: stopped early; the same command with `--resume` continues from {}",
            saved.display()
        );
    }
    let problem = &loaded.compiled.problem;
    say(&format!(
        "{}\n",
        progress::summary(problem, result, out_dir)
    ));
    if let Some(why) = &result.outcome.failed {
        return Err(miette!(
            code = "pdenet::train::phase_failed",
            help = format!(
                "the phases before it ran and their model and report are in {}; `--precision f32` or `--precision f64` runs every phase in one precision",
                out_dir.display()
            ),
            "a training phase could not start: {why}"
        ));
    }
    match &result.outcome.diverged {
        Some(why) => Err(miette!(
            code = "pdenet::train::diverged",
            help = format!(
                "the last good model and report are in {}; a smaller learning rate (`adam(lr = …)`) or a smaller weight on the term that blew up usually helps",
                out_dir.display()
            ),
            "training diverged: {why}"
        )),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The flag Ctrl-C (or SIGTERM, SIGHUP) sets: the run stops at the end of its step
/// and writes everything. A second signal quits at once (the last checkpoint and
/// output set stay).
fn stop_on_ctrl_c() -> Option<&'static AtomicBool> {
    static INTERRUPTED: AtomicBool = AtomicBool::new(false);
    let installed = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\npdenet: stopping after this step (a second Ctrl-C quits at once)");
    });
    installed.ok().map(|_| &INTERRUPTED)
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `pdenet export`: the model's networks as an .npz; prints where it went.
fn export(dir: &Path, output: Option<&Path>) -> Result<ExitCode> {
    let path = session::export(dir, output)?;
    say(&format!("{}\n", path.display()));
    Ok(ExitCode::SUCCESS)
}

/// `pdenet eval`: reloads the committed model of an out directory (its source
/// through the front end, without opening data files) and evaluates quantities
/// at the requested points.
fn eval(args: &EvalArgs) -> Result<ExitCode> {
    let (saved, compiled) = session::load_model(&args.dir)?;
    let problem = &compiled.problem;
    let coords = eval_points(problem, args)?;
    let names = if args.fields.is_empty() {
        evaluate::default_fields(problem)
    } else {
        args.fields.iter().map(|f| f.trim().to_string()).collect()
    };
    let quantities = names
        .iter()
        .map(|n| evaluate::quantity(problem, n))
        .collect::<Result<Vec<_>, _>>()?;
    let values = evaluate::evaluate(problem, &saved.theta, &quantities, &coords)?;
    let mut columns: Vec<String> = problem.coords.iter().map(|c| c.name.clone()).collect();
    // On a domain with a shape, a column says which points are in it (1) or not (0).
    let inside = evaluate::inside(problem, &coords);
    let mut all = coords;
    if let Some(inside) = inside {
        columns.push("inside".into());
        all.push(inside.into_iter().map(|i| f64::from(u8::from(i))).collect());
    }
    columns.extend(names);
    all.extend(values);
    match &args.output {
        Some(path) => {
            let bytes = table::encode(path, &columns, &all);
            output::write_atomic(path, &bytes).map_err(|e| {
                miette!(
                    code = "pdenet::io::write_table",
                    help = "check that the directory exists and is writable",
                    "cannot write {}: {e}",
                    path.display()
                )
            })?;
        }
        None => print!("{}", table::csv(&columns, &all)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The points `eval` was asked for, one column per coordinate.
fn eval_points(problem: &pdenet::problem::Problem, args: &EvalArgs) -> Result<Vec<Vec<f64>>> {
    let coord_names: Vec<String> = problem.coords.iter().map(|c| c.name.clone()).collect();
    match (&args.points, &args.input, &args.grid) {
        (Some(p), _, _) => Ok(evaluate::parse_points(problem, p)?),
        (_, _, Some(g)) => Ok(evaluate::parse_grid(problem, g)?),
        (_, Some(f), _) => table::read_points(f, &coord_names).map_err(|e| {
            miette!(
                code = "pdenet::eval::point_file",
                help = format!(
                    "a CSV file with a header naming {} or a .npy array with one column per coordinate in that order",
                    coord_names.join(", ")
                ),
                "{e}"
            )
        }),
        // clap's argument group requires one of the three.
        (None, None, None) => Err(miette!(
            code = "pdenet::eval::no_points",
            help = "give --points, --input or --grid",
            "no points to evaluate at"
        )),
    }
}
