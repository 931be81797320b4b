//! What a run leaves in its out directory: report.json, model.json (reloadable),
//! history.csv (loss per term and parameters per epoch) and predictions.npy (the
//! model on the reference grid). Every file is written to a temporary name and
//! renamed into place, so a reader never sees a half-written file.

use crate::problem::Problem;
use crate::train::run::{Precision, RunResult};
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::Path;

/// Everything the report needs besides the run itself.
pub struct RunInfo<'a> {
    pub problem: &'a Problem,
    pub source: &'a str,
    pub source_path: &'a Path,
    pub backend: &'a str,
    /// `jit` or `interp`.
    pub engine: &'a str,
    pub precision: Precision,
    pub seed: u64,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory,
/// flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Writes every output of a run into `dir` (created if needed).
pub fn write_run(dir: &Path, info: &RunInfo, result: &RunResult) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let report = serde_json::to_string_pretty(&report(info, result)).unwrap_or_default();
    write_atomic(&dir.join("report.json"), report.as_bytes())?;
    let model = serde_json::to_string(&model(info, &result.outcome.theta)).unwrap_or_default();
    write_atomic(&dir.join("model.json"), model.as_bytes())?;
    write_atomic(
        &dir.join("history.csv"),
        history_csv(info.problem, result).as_bytes(),
    )?;
    if let Some(p) = &result.predictions {
        write_atomic(&dir.join("predictions.npy"), &npy(&p.values))?;
    }
    Ok(())
}

/// report.json: the fields SPEC.md lists, plus how each phase stopped.
pub fn report(info: &RunInfo, r: &RunResult) -> Value {
    let p = info.problem;
    let last = r.outcome.history.last();
    let mut terms = Map::new();
    for (k, t) in p.terms.iter().enumerate() {
        terms.insert(
            t.name.clone(),
            json!(last.map_or(f64::NAN, |row| row
                .terms
                .get(k)
                .copied()
                .unwrap_or(f64::NAN))),
        );
    }
    let mut params = Map::new();
    for (k, q) in p.params.iter().enumerate() {
        params.insert(
            q.name.clone(),
            json!(last.map_or(q.init, |row| row.params[k])),
        );
    }
    let mut errors = Map::new();
    for e in &r.errors {
        errors.insert(
            e.name.clone(),
            json!({ "rel_l2": e.rel_l2, "max_abs": e.max_abs }),
        );
    }
    let iters = |name: &str| {
        r.outcome
            .phases
            .iter()
            .filter(|ph| ph.name == name)
            .map(|ph| ph.iterations)
            .sum::<usize>()
    };
    let ms_per = |name: &str| {
        let (s, n) = r
            .outcome
            .phases
            .iter()
            .filter(|ph| ph.name == name)
            .fold((0.0, 0usize), |(s, n), ph| {
                (s + ph.seconds, n + ph.evaluations)
            });
        if n == 0 {
            Value::Null
        } else {
            json!(1e3 * s / n as f64)
        }
    };
    let points: Map<String, Value> = p
        .point_sets
        .iter()
        .zip(&r.points)
        .map(|(s, n)| (s.name.clone(), json!(n)))
        .collect();
    let stops: Vec<Value> = r.outcome.phases.iter().map(|ph| json!({ "phase": ph.name, "iterations": ph.iterations, "evaluations": ph.evaluations, "seconds": ph.seconds, "stop": ph.stop })).collect();
    json!({
        "problem": p.name,
        "backend": info.backend,
        "precision": match info.precision {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        },
        "engine": info.engine,
        "seed": info.seed,
        "network": { "kind": p.network.kind, "params": p.network.param_count() },
        "epochs": { "adam": iters("adam"), "lbfgs": iters("lbfgs") },
        "loss": { "total": last.map_or(f64::NAN, |row| row.loss), "terms": terms },
        "parameters": params,
        "errors": errors,
        "time_s": {
            "compile": r.compile_s,
            "train": r.train_s,
            "adam_epoch_ms": ms_per("adam"),
            "lbfgs_iter_ms": ms_per("lbfgs"),
        },
        "points": points,
        "phases": stops,
        "diverged": r.outcome.diverged,
    })
}

/// model.json: the source it was compiled from and θ, enough for `pdenet eval` to
/// rebuild the network and evaluate it.
fn model(info: &RunInfo, theta: &[f64]) -> Value {
    let layout = crate::net::Layout::of(info.problem);
    let entries: Vec<Value> = layout
        .entries(info.problem)
        .into_iter()
        .map(|(name, range)| json!({ "name": name, "offset": range.start, "len": range.len() }))
        .collect();
    json!({
        "format": "pdenet-model/1",
        "problem": info.problem.name,
        "source_path": info.source_path.display().to_string(),
        "source": info.source,
        "seed": info.seed,
        "theta": theta,
        "layout": entries,
    })
}

fn history_csv(p: &Problem, r: &RunResult) -> String {
    let mut s = String::from("phase,iter,loss");
    for t in &p.terms {
        s += &format!(",{}", t.name.replace(',', ";"));
    }
    for q in &p.params {
        s += &format!(",{}", q.name);
    }
    s.push('\n');
    for row in &r.outcome.history {
        s += &format!("{},{},{:e}", row.phase, row.iter, row.loss);
        for v in row.terms.iter().chain(&row.params) {
            s += &format!(",{v:e}");
        }
        s.push('\n');
    }
    s
}

/// A 2-D little-endian f64 array in NumPy's .npy format (version 1.0): one row per
/// point, one column per entry of `columns`.
pub fn npy(columns: &[Vec<f64>]) -> Vec<u8> {
    let rows = columns.first().map_or(0, Vec::len);
    let header = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {}), }}",
        columns.len()
    );
    // magic (6) + version (2) + header length (2) + header, padded to 64 with '\n' last.
    let unpadded = 10 + header.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(unpadded + pad + 8 * rows * columns.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((header.len() + pad + 1) as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    for i in 0..rows {
        for c in columns {
            out.extend_from_slice(&c[i].to_le_bytes());
        }
    }
    out
}
