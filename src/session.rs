//! What the commands do with files, for the command line (`main.rs`) and the Python
//! package (`python/`) alike: a .pde file read with its `--set` changes and checked,
//! a run trained (warm start, checkpoints, resume) and its outputs written, a trained
//! model reloaded. Front-end diagnostics come back rendered by miette against their
//! source; everything later is a miette report with a code and a help line.

use crate::backend::Team;
use crate::check::Options;
use crate::diag::Diag;
use crate::io::model::SavedModel;
use crate::io::{checkpoint, output};
use crate::pipeline::{self, Compiled};
use crate::problem::Problem;
use crate::syntax;
use crate::train::run::{self, Hooks, RunOptions, RunResult};
use crate::train::snapshot::Snapshot;
pub use crate::train::trainer::Progress;
use miette::{miette, NamedSource, Report, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A checked problem and the text it came from (after the `--set` changes).
#[derive(Debug)]
pub struct Loaded {
    /// Where the text came from, for messages (a path, or `<source>`).
    pub name: String,
    pub text: String,
    pub compiled: Compiled,
    /// The front end's warnings, rendered (empty when there are none).
    pub warnings: String,
}

/// Diagnostics rendered by miette against `text`, one after another.
pub fn render(name: &str, text: &str, diags: &[Diag]) -> String {
    let mut out = String::new();
    for d in diags {
        let report =
            Report::new(d.clone()).with_source_code(NamedSource::new(name, text.to_string()));
        out += &format!("{report:?}\n");
    }
    out
}

/// Where a file's data files are looked for: beside it, then `data_dirs`, then
/// `PDENET_DATA`.
fn options(name: &str, base_dir: Option<&Path>, data_dirs: &[PathBuf]) -> Options {
    let mut data_dirs = data_dirs.to_vec();
    if let Some(env) = std::env::var_os("PDENET_DATA") {
        data_dirs.extend(std::env::split_paths(&env));
    }
    Options {
        name: name.to_string(),
        base_dir: base_dir.map(Path::to_path_buf),
        data_dirs,
        skip_data: false,
    }
}

/// Reads and checks the .pde file at `path` with the `--set` changes `sets`; the
/// error is the rendered diagnostics.
pub fn load_file(path: &Path, sets: &[String], data_dirs: &[PathBuf]) -> Result<Loaded, String> {
    let name = path.display().to_string();
    let text = read_source(path).map_err(|(text, d)| render(&name, &text, &[d]))?;
    let stem = path
        .file_stem()
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    let opts = options(&stem, path.parent(), data_dirs);
    load_text(&name, &text, sets, &opts)
}

/// Checks `.pde` source text given directly (`name` for messages; data files are
/// looked for in the working directory and `data_dirs`).
pub fn load_source(
    name: &str,
    text: &str,
    sets: &[String],
    data_dirs: &[PathBuf],
) -> Result<Loaded, String> {
    let opts = options(name, None, data_dirs);
    load_text(name, text, sets, &opts)
}

fn load_text(name: &str, text: &str, sets: &[String], opts: &Options) -> Result<Loaded, String> {
    let text = syntax::overrides::apply(text, sets).map_err(|d| render(name, text, &[d]))?;
    match pipeline::front_end(&text, opts) {
        Ok(compiled) => Ok(Loaded {
            name: name.to_string(),
            warnings: render(name, &text, &compiled.warnings),
            text,
            compiled,
        }),
        Err(diags) => Err(render(name, &text, &diags)),
    }
}

/// The file as UTF-8 text, or a diagnostic (with a lossy copy of the text to show).
fn read_source(path: &Path) -> std::result::Result<String, (String, Diag)> {
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
        .label(syntax::ast::Span::new(at, at + 3), "invalid byte here")
        .help("save the file as UTF-8");
        (text, d)
    })
}

/// `examples/burgers.pde` → `examples/burgers.out/`.
pub fn default_out_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pdenet".into());
    file.with_file_name(format!("{stem}.out"))
}

/// How to train, as `pdenet run`'s options say.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// The run's own options (their `init` is filled from `init_from`).
    pub run: RunOptions,
    pub out: PathBuf,
    pub resume: bool,
    /// A trained model's out directory to start from (`--init`).
    pub init_from: Option<PathBuf>,
    /// The ranks of an MPI job sharing the run; only rank 0 writes (outputs,
    /// checkpoints), every rank reads a checkpoint it resumes from.
    pub team: Option<Arc<dyn Team>>,
}

impl TrainSettings {
    /// Whether this process writes the run's files: alone, or rank 0 of a job.
    pub fn writes(&self) -> bool {
        self.team.as_ref().is_none_or(|t| t.rank() == 0)
    }
}

/// A finished (or stopped, or diverged) run whose outputs are written.
#[derive(Debug)]
pub struct Trained {
    pub result: RunResult,
    /// Warnings for the user (a picture not drawn, a checkpoint not written).
    pub notes: Vec<String>,
}

/// Trains `l` as `s` says and writes its outputs (and checkpoints) into `s.out`.
pub fn train(
    l: &Loaded,
    s: &TrainSettings,
    progress: &mut dyn FnMut(&Progress),
    interrupted: Option<&AtomicBool>,
) -> Result<Trained> {
    let problem = &l.compiled.problem;
    let mut notes = Vec::new();
    if s.resume && s.init_from.is_some() {
        return Err(miette!(
            code = "pdenet::run::resume",
            help = "`--resume` continues a run from its checkpoint; `--init` starts a new one from a model",
            "a run cannot both resume and start from another model"
        ));
    }
    let mut opts = s.run.clone();
    if let Some(dir) = &s.init_from {
        opts.init = Some(warm_start(problem, opts.seed, dir, &mut notes)?);
    }
    let identity = checkpoint::Identity {
        source: l.text.clone(),
        seed: opts.seed,
        epochs: opts.epochs,
        precision: opts.precision.map(|p| p.name().to_string()),
        engine: opts.engine.name().into(),
    };
    let resume = match s.resume {
        true => Some(checkpoint::read(&s.out, &identity)?),
        false => None,
    };
    // A fresh run replaces what the directory held: an earlier run's checkpoint must
    // not be taken for this one's if this one stops before its first.
    if !s.resume && s.writes() {
        checkpoint::remove(&s.out).map_err(|e| {
            miette!(
                code = "pdenet::io::write_outputs",
                help = "check that the directory is writable (`--out DIR` writes elsewhere)",
                "cannot remove the earlier checkpoint in {}: {e}",
                s.out.display()
            )
        })?;
    }
    let mut unwritten = None;
    let mut keep = |snap: &Snapshot| {
        if let Err(e) = checkpoint::write(&s.out, &identity, snap) {
            unwritten.get_or_insert(e.to_string());
        }
    };
    let hooks = Hooks {
        progress,
        checkpoint: match opts.checkpoint_every > 0.0 && s.writes() {
            true => Some(&mut keep),
            false => None,
        },
        interrupted,
        resume,
        team: s.team.clone(),
    };
    let result = run::run(problem, &opts, hooks)?;
    if !s.writes() {
        return Ok(Trained { result, notes });
    }
    if let Some(e) = unwritten {
        let at = checkpoint::path(&s.out);
        notes.push(format!(
            "a checkpoint could not be written to {}: {e}",
            at.display()
        ));
    }
    let info = output::RunInfo {
        problem,
        source: &l.text,
        source_path: Path::new(&l.name),
        seed: opts.seed,
    };
    let written = output::write_run(&s.out, &info, &result).map_err(|e| {
        miette!(
            code = "pdenet::io::write_outputs",
            help = "check that the directory is writable and the disk has room (`--out DIR` writes elsewhere); a set written before is left as it was",
            "cannot write the outputs to {}: {e}",
            s.out.display()
        )
    })?;
    notes.extend(written.notes);
    if !result.outcome.cut_short {
        if let Err(e) = checkpoint::remove(&s.out) {
            notes.push(format!("the finished run's checkpoint stays: {e}"));
        }
    }
    Ok(Trained { result, notes })
}

/// θ for `problem` from the trained model in `dir` (`--init`); a note per PDE
/// parameter the model lacks.
fn warm_start(
    problem: &Problem,
    seed: u64,
    dir: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<f64>> {
    let (saved, compiled) = load_model(dir)?;
    let mut theta = crate::net::init_theta(problem, seed);
    let kept = crate::net::warm_start(problem, &mut theta, &compiled.problem, &saved.theta)
        .map_err(|why| {
            miette!(
                code = "pdenet::run::init",
                help = "a warm start needs the same network (kind, width, depth, inputs and outputs); train afresh without `--init`",
                "the model in {} does not fit this file's networks: {why}",
                dir.display()
            )
        })?;
    for why in kept {
        notes.push(format!(
            "parameter {why} starts from the file's value, not from {}",
            dir.display()
        ));
    }
    Ok(theta)
}

/// Writes the networks of the model in `dir` as an .npz (`io::export`) at `output`,
/// by default `dir/export.npz`; gives the path.
pub fn export(dir: &Path, output: Option<&Path>) -> Result<PathBuf> {
    let (saved, compiled) = load_model(dir)?;
    let path = output.map_or_else(|| dir.join("export.npz"), Path::to_path_buf);
    let written = crate::io::export::export(&compiled.problem, &saved.theta)
        .map_err(std::io::Error::other)
        .and_then(|bytes| output::write_atomic(&path, &bytes));
    written.map_err(|e| {
        miette!(
            code = "pdenet::io::export",
            help = "check that the directory exists and is writable",
            "cannot write {}: {e}",
            path.display()
        )
    })?;
    Ok(path)
}

/// The trained model in a run's out directory, with its problem compiled from the
/// stored source (without opening data files).
pub fn load_model(dir: &Path) -> Result<(SavedModel, Compiled)> {
    let saved = crate::io::model::load(dir).map_err(|e| {
        miette!(
            code = "pdenet::model::load",
            help =
                "give the out directory of a finished `pdenet run` (the one holding manifest.json)",
            "{e}"
        )
    })?;
    let opts = Options {
        name: saved.problem.clone(),
        skip_data: true,
        ..Options::default()
    };
    match pipeline::front_end(&saved.source, &opts) {
        Ok(c) => Ok((saved, c)),
        Err(diags) => Err(miette!(
            code = "pdenet::model::stale_source",
            help = "this pdenet no longer accepts the model's source; use the version that trained it, or train again",
            "the model's stored source no longer compiles:\n{}",
            render(&saved.source_path, &saved.source, &diags)
        )),
    }
}
