//! A run's checkpoint, `OUT/checkpoint.npz`: a [`Snapshot`] written atomically every
//! so often and when a run stops early, and read back by `pdenet run --resume`.
//!
//! An .npz, so NumPy opens it (`numpy.load`): the arrays (θ, the optimizer's vectors,
//! the changing point sets, the history's numbers) as .npy members, everything else in
//! `meta.json`, with the run's identity: the source text, seed, `--epochs` and
//! `--precision`. A checkpoint continues only the run it came from; anything else that
//! differs is an error that says what.

use super::npz;
use crate::kernel::PointBatch;
use crate::train::optim::{self, OptimizerState};
use crate::train::snapshot::{row_from, row_numbers, LambdaState, SetState, Snapshot};
use crate::train::trainer::PhaseReport;
use miette::Diagnostic;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The file name in the out directory.
pub const FILE: &str = "checkpoint.npz";

/// What a checkpoint's format says of itself.
const FORMAT: &str = "pdenet checkpoint";
const VERSION: u64 = 1;

/// What makes two runs the same run: a checkpoint continues only its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The problem's source text (after `--set`).
    pub source: String,
    pub seed: u64,
    /// `--epochs`.
    pub epochs: Option<usize>,
    /// `--precision`, by name.
    pub precision: Option<String>,
    /// The engine (`cpu`, `gpu`, `interp`, `auto`): each computes its own roundings.
    pub engine: String,
}

impl Identity {
    fn json(&self) -> Value {
        json!({
            "source": self.source,
            "seed": self.seed,
            "epochs": self.epochs,
            "precision": self.precision,
            "engine": self.engine,
        })
    }

    /// What differs between the run asked for (`self`) and the one that wrote `meta`.
    fn difference(&self, meta: &Value) -> Option<String> {
        let saved = &meta["identity"];
        let mine = self.json();
        let what = ["source", "seed", "epochs", "precision", "engine"]
            .into_iter()
            .find(|k| saved[k] != mine[k])?;
        Some(match what {
            "source" => "the .pde file (or a `--set`) changed since it was written".into(),
            "engine" => format!(
                "it was written by the {} engine, this run uses {}",
                saved[what], mine[what]
            ),
            k => format!(
                "it was written by a run with --{k} {}, this one has {}",
                saved[k], mine[k]
            ),
        })
    }
}

#[derive(Debug, Error, Diagnostic)]
pub enum CheckpointError {
    #[error("there is no checkpoint to resume from: {} does not exist", path.display())]
    #[diagnostic(
        code(pdenet::resume::missing),
        help("a run writes its checkpoint every `--checkpoint-every` seconds and when it stops early (time limit, Ctrl-C); a finished run removes it. Run without `--resume` to start afresh")
    )]
    Missing { path: PathBuf },
    #[error("cannot read the checkpoint {}: {why}", path.display())]
    #[diagnostic(
        code(pdenet::resume::unreadable),
        help("the file is damaged or was not written by pdenet; delete it and run without `--resume`")
    )]
    Unreadable { path: PathBuf, why: String },
    #[error("the checkpoint {} belongs to another run: {why}", path.display())]
    #[diagnostic(
        code(pdenet::resume::other_run),
        help("resume with the same file and options, or run without `--resume` (or with another `--out`) to start afresh")
    )]
    OtherRun { path: PathBuf, why: String },
}

/// Where the checkpoint of an out directory is.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Writes the snapshot as `dir`'s checkpoint, replacing the last one in one rename.
pub fn write(dir: &Path, identity: &Identity, s: &Snapshot) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = encode(identity, s).map_err(std::io::Error::other)?;
    super::manifest::write_atomic(&path(dir), &bytes)
}

/// Removes `dir`'s checkpoint, if any (a finished run's).
pub fn remove(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path(dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads `dir`'s checkpoint for the run `identity` describes.
pub fn read(dir: &Path, identity: &Identity) -> Result<Snapshot, CheckpointError> {
    let path = path(dir);
    let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CheckpointError::Missing { path: path.clone() },
        _ => CheckpointError::Unreadable {
            path: path.clone(),
            why: e.to_string(),
        },
    })?;
    let unreadable = |why: String| CheckpointError::Unreadable {
        path: path.clone(),
        why,
    };
    let mut a = npz::Archive::new(bytes).map_err(unreadable)?;
    let meta = a.member("meta.json").map_err(unreadable)?;
    let meta: Value = serde_json::from_slice(&meta)
        .map_err(|e| unreadable(format!("meta.json is not JSON: {e}")))?;
    if meta["format"] != FORMAT || meta["version"] != VERSION {
        return Err(unreadable(format!(
            "it is not a version {VERSION} pdenet checkpoint"
        )));
    }
    if let Some(why) = identity.difference(&meta) {
        return Err(CheckpointError::OtherRun { path, why });
    }
    decode(&meta, &mut a).map_err(unreadable)
}

fn encode(identity: &Identity, s: &Snapshot) -> zip::result::ZipResult<Vec<u8>> {
    let mut w = npz::Writer::new();
    w.vector("theta", &s.theta)?;
    w.vector("scale", &s.scale)?;
    w.vector("adaptive", &s.adaptive)?;
    let numbers: Vec<f64> = s.history.iter().flat_map(row_numbers).collect();
    w.vector("history", &numbers)?;
    write_state(&mut w, "optimizer", &s.optimizer)?;
    for (k, b) in &s.sets.batches {
        w.columns(&format!("set{k}.coords"), &b.coords)?;
        w.columns(&format!("set{k}.data"), &b.data)?;
        if let Some(weights) = &b.weights {
            w.vector(&format!("set{k}.weights"), weights)?;
        }
    }
    for (i, l) in s.sets.lambdas.iter().enumerate() {
        w.vector(&format!("lambda{i}"), &l.lambda)?;
        if let Some((_, state)) = &l.ascent {
            write_state(&mut w, &format!("lambda{i}.ascent"), state)?;
        }
    }
    let meta = json!({
        "format": FORMAT,
        "version": VERSION,
        "identity": identity.json(),
        "phase": s.phase,
        "done": s.done,
        "evaluations": s.evaluations,
        "phase_seconds": s.phase_seconds,
        "elapsed": s.elapsed,
        "causal": s.causal,
        "latest": s.latest,
        "draws": s.sets.draws,
        "optimizer": state_meta(&s.optimizer),
        "history": {
            "phases": s.history.iter().map(|r| r.phase).collect::<Vec<_>>(),
            "events": s.history.iter().map(|r| &r.events).collect::<Vec<_>>(),
        },
        "phases": s.phases.iter().map(phase_json).collect::<Vec<_>>(),
        "sets": s.sets.batches.iter().map(|(k, b)| json!({
            "set": k,
            "data": b.data.len(),
            "weights": b.weights.is_some(),
        })).collect::<Vec<_>>(),
        "lambdas": s.sets.lambdas.iter().map(|l| json!({
            "rate": l.ascent.as_ref().map(|a| a.0),
            "ascent": l.ascent.as_ref().map(|a| state_meta(&a.1)),
        })).collect::<Vec<_>>(),
    });
    w.member("meta.json", meta.to_string().as_bytes())?;
    w.finish()
}

/// An optimizer state's vectors as members `prefix.NAME`.
fn write_state(
    w: &mut npz::Writer,
    prefix: &str,
    state: &OptimizerState,
) -> zip::result::ZipResult<()> {
    for (name, v) in &state.numbers {
        w.vector(&format!("{prefix}.{name}"), v)?;
    }
    Ok(())
}

fn state_meta(state: &OptimizerState) -> Value {
    json!({
        "kind": state.optimizer,
        "vectors": state.numbers.keys().collect::<Vec<_>>(),
    })
}

fn read_state(a: &mut npz::Archive, prefix: &str, meta: &Value) -> Result<OptimizerState, String> {
    let mut state = OptimizerState {
        optimizer: text(&meta["kind"])?,
        ..OptimizerState::default()
    };
    for name in meta["vectors"].as_array().ok_or("no optimizer vectors")? {
        let name = text(name)?;
        let v = a.vector(&format!("{prefix}.{name}"))?;
        state.put(&name, v);
    }
    Ok(state)
}

/// A dense phase's timed pass over H, as report.json and a snapshot write it.
pub(super) fn pass_ms_json(t: Option<crate::train::matrix::PassTimes>) -> Value {
    t.map_or(
        Value::Null,
        |t| json!({ "host": t.host_ms, "device": t.device_ms }),
    )
}

fn phase_json(p: &PhaseReport) -> Value {
    json!({
        "name": p.name,
        "precision": p.precision,
        "update": p.update,
        "pass_ms": pass_ms_json(p.pass_ms),
        "iterations": p.iterations,
        "evaluations": p.evaluations,
        "seconds": p.seconds,
        "stop": p.stop,
    })
}

fn phase_from(v: &Value) -> Result<PhaseReport, String> {
    let name = text(&v["name"])?;
    let precision = text(&v["precision"])?;
    Ok(PhaseReport {
        name: optim::kind(&name)
            .ok_or(format!("unknown optimizer `{name}`"))?
            .name,
        precision: crate::backend::Precision::named(&precision)
            .ok_or(format!("unknown precision `{precision}`"))?
            .name(),
        // Snapshots from before Adam ran on the device have no `update`.
        update: match v["update"].as_str() {
            Some("device") => "device",
            _ => "host",
        },
        pass_ms: match &v["pass_ms"] {
            Value::Null => None,
            t => Some(crate::train::matrix::PassTimes {
                host_ms: number(&t["host"])?,
                device_ms: number(&t["device"])?,
            }),
        },
        iterations: count(&v["iterations"])?,
        evaluations: count(&v["evaluations"])?,
        seconds: number(&v["seconds"])?,
        stop: text(&v["stop"])?,
    })
}

fn decode(meta: &Value, a: &mut npz::Archive) -> Result<Snapshot, String> {
    let numbers = a.vector("history")?;
    let mut rest = numbers.as_slice();
    let phases = list(&meta["history"]["phases"])?;
    let events = list(&meta["history"]["events"])?;
    let mut history = Vec::with_capacity(phases.len());
    for (p, e) in phases.iter().zip(events) {
        let words: Vec<String> = list(e)?.iter().map(text).collect::<Result<_, _>>()?;
        let row = row_from(&mut rest, &text(p)?, &words).ok_or("a history row is malformed")?;
        history.push(row);
    }
    if history.len() != phases.len() || !rest.is_empty() {
        return Err("the history's numbers do not match its rows".into());
    }
    let mut batches = Vec::new();
    for s in list(&meta["sets"])? {
        let k = count(&s["set"])?;
        let data = match count(&s["data"])? {
            0 => Vec::new(),
            _ => a.columns(&format!("set{k}.data"))?,
        };
        let weights = match s["weights"].as_bool() {
            Some(true) => Some(a.vector(&format!("set{k}.weights"))?),
            _ => None,
        };
        let coords = a.columns(&format!("set{k}.coords"))?;
        batches.push((
            k,
            PointBatch {
                coords,
                data,
                weights,
            },
        ));
    }
    let mut lambdas = Vec::new();
    for (i, l) in list(&meta["lambdas"])?.iter().enumerate() {
        let ascent = match l["rate"].as_f64() {
            Some(rate) => Some((
                rate,
                read_state(a, &format!("lambda{i}.ascent"), &l["ascent"])?,
            )),
            None => None,
        };
        lambdas.push(LambdaState {
            lambda: a.vector(&format!("lambda{i}"))?,
            ascent,
        });
    }
    Ok(Snapshot {
        phase: count(&meta["phase"])?,
        done: count(&meta["done"])?,
        evaluations: count(&meta["evaluations"])?,
        phase_seconds: number(&meta["phase_seconds"])?,
        theta: a.vector("theta")?,
        optimizer: read_state(a, "optimizer", &meta["optimizer"])?,
        history,
        phases: list(&meta["phases"])?
            .iter()
            .map(phase_from)
            .collect::<Result<_, _>>()?,
        scale: a.vector("scale")?,
        causal: meta["causal"].as_f64(),
        adaptive: a.vector("adaptive")?,
        latest: meta["latest"].as_f64(),
        elapsed: number(&meta["elapsed"])?,
        sets: SetState {
            batches,
            draws: meta["draws"].as_u64().ok_or("no redraw count")?,
            lambdas,
        },
    })
}

fn list(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected a list, found {v}"))
}

fn text(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("expected text, found {v}"))
}

fn count(v: &Value) -> Result<usize, String> {
    v.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("expected a count, found {v}"))
}

fn number(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("expected a number, found {v}"))
}
