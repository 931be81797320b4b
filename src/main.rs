//! The `pdenet` command line: parses arguments, calls the library, prints. It is
//! the only place that renders diagnostics (miette) and decides exit codes.

use clap::{Parser, Subcommand, ValueEnum};
use miette::{NamedSource, Report};
use pdenet::check::Options;
use pdenet::describe;
use pdenet::diag::Diag;
use pdenet::pipeline::{self, Compiled};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    },
    /// Train and report.
    Run {
        #[command(flatten)]
        input: Input,
    },
    /// Compare the kernel's jets and gradient with finite differences.
    Gradcheck {
        #[command(flatten)]
        input: Input,
    },
    /// Evaluate a trained model.
    Eval {
        /// The out directory a run left.
        dir: PathBuf,
    },
    /// Time loss + gradient + Adam update per epoch.
    Bench {
        #[command(flatten)]
        input: Input,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    Residual,
    Ir,
    Clif,
    Wgsl,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Deeply nested input is bounded before parsing, but the checker and the
    // symbolic passes recurse too: give them a stack that no accepted file exhausts.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || dispatch(cli.command));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("pdenet: internal error (the worker thread failed); please report it with the input file");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Check { input } => with_problem(&input, |c, _| {
            println!("{}", describe::summary(&c.problem));
            ExitCode::SUCCESS
        }),
        Command::Kernels { input, emit } => match emit {
            Emit::Residual => with_problem(&input, |c, _| {
                print!("{}", describe::residuals(c));
                ExitCode::SUCCESS
            }),
            Emit::Ir => not_yet("kernels --emit ir", "the fused kernel"),
            Emit::Clif => not_yet("kernels --emit clif", "the Cranelift back end"),
            Emit::Wgsl => not_yet("kernels --emit wgsl", "the WGSL back end"),
        },
        Command::Run { .. } => not_yet("run", "training"),
        Command::Gradcheck { .. } => not_yet("gradcheck", "the fused kernel"),
        Command::Eval { .. } => not_yet("eval", "model saving"),
        Command::Bench { .. } => not_yet("bench", "the Cranelift back end"),
    }
}

fn not_yet(what: &str, needs: &str) -> ExitCode {
    eprintln!("pdenet {what}: not yet implemented (it needs {needs}, which is still being built)");
    ExitCode::FAILURE
}

/// Reads, compiles and hands the problem to `f`; prints diagnostics either way.
fn with_problem(input: &Input, f: impl FnOnce(&Compiled, &str) -> ExitCode) -> ExitCode {
    let name = input.file.display().to_string();
    let text = match read_source(&input.file) {
        Ok(t) => t,
        Err((text, diag)) => {
            render(&name, &text, vec![diag]);
            return ExitCode::FAILURE;
        }
    };
    let opts = options(input);
    match pipeline::front_end(&text, &opts) {
        Ok(compiled) => {
            render(&name, &text, compiled.warnings.clone());
            f(&compiled, &text)
        }
        Err(diags) => {
            render(&name, &text, diags);
            ExitCode::FAILURE
        }
    }
}

fn options(input: &Input) -> Options {
    let mut data_dirs = input.data_dir.clone();
    if let Some(env) = std::env::var_os("PDENET_DATA") {
        data_dirs.extend(std::env::split_paths(&env));
    }
    Options {
        name: input
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        base_dir: input.file.parent().map(Path::to_path_buf),
        data_dirs,
    }
}

/// The file as UTF-8 text, or a diagnostic (with a lossy copy of the text to show).
fn read_source(path: &Path) -> Result<String, (String, Diag)> {
    let bytes = std::fs::read(path).map_err(|e| {
        let d = Diag::error(
            "pdenet::io::unreadable",
            format!("cannot read `{}`: {e}", path.display()),
        )
        .help("check the path; pdenet reads .pde text files");
        (String::new(), d)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let d = Diag::error(
            "pdenet::syntax::invalid_utf8",
            format!("the file is not valid UTF-8 (byte {at})"),
        )
        .label(
            pdenet::syntax::ast::Span::new(at, at + 3),
            "invalid byte here",
        )
        .help("save the file as UTF-8");
        (text, d)
    })
}

fn render(name: &str, text: &str, diags: Vec<Diag>) {
    for d in diags {
        let report = Report::new(d).with_source_code(NamedSource::new(name, text.to_string()));
        eprintln!("{report:?}");
    }
}
