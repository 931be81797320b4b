//! What a run leaves in its out directory: report.json, model.json (reloadable by
//! `pdenet eval`), history.csv (loss per term and parameters per epoch),
//! predictions on the reference grid (.npy and .mat) and pictures (.png). The set
//! is committed by a manifest (see `io::manifest`): a run killed at any moment
//! leaves the previous complete set or the new one.

use super::manifest::{self, Manifest, Staging};
use super::{matwrite, npy as npy_format, pictures};
use crate::problem::Problem;
use crate::train::optim;
use crate::train::run::RunResult;
use serde_json::{json, Map, Value};
use std::path::Path;

pub use super::manifest::write_atomic;

/// Everything the report needs besides the run itself.
pub struct RunInfo<'a> {
    pub problem: &'a Problem,
    pub source: &'a str,
    pub source_path: &'a Path,
    pub seed: u64,
}

/// What `write_run` committed, and a note per picture it could not draw.
#[derive(Debug)]
pub struct Written {
    pub manifest: Manifest,
    pub notes: Vec<String>,
}

/// Writes every output of a run into `dir` (created if needed) and commits them
/// as one set.
pub fn write_run(dir: &Path, info: &RunInfo, result: &RunResult) -> std::io::Result<Written> {
    let run_id = manifest::new_run_id();
    let mut set = Staging::begin(dir, &run_id)?;
    let report = serde_json::to_string_pretty(&report(info, result, &run_id)).unwrap_or_default();
    set.write("report.json", report.as_bytes())?;
    let model =
        serde_json::to_string(&model(info, &result.outcome.theta, &run_id)).unwrap_or_default();
    set.write("model.json", model.as_bytes())?;
    set.write("history.csv", history_csv(info.problem, result).as_bytes())?;
    if let Some(p) = &result.predictions {
        set.write("predictions.npy", &npy_format::write(&p.values))?;
        let vars: Vec<(String, Vec<f64>)> = p
            .columns
            .iter()
            .map(|c| super::ascii_name(c))
            .zip(p.values.iter().cloned())
            .collect();
        set.write("predictions.mat", &matwrite::write(&vars))?;
    }
    let (pngs, notes) = pictures::pictures(info.problem, result);
    for (name, bytes) in &pngs {
        set.write(name, bytes)?;
    }
    Ok(Written {
        manifest: set.commit()?,
        notes,
    })
}

/// The kernel precisions the phases ran in, in order and without repeats ("f64",
/// "f32+f64"); the engine's when no phase ran.
fn precisions(r: &RunResult) -> String {
    let mut names: Vec<&str> = Vec::new();
    for ph in &r.outcome.phases {
        if names.last() != Some(&ph.precision) {
            names.push(ph.precision);
        }
    }
    if names.is_empty() {
        names.push(r.engine.precision.name());
    }
    names.join("+")
}

/// report.json: the fields SPEC.md lists, plus how each phase stopped.
pub fn report(info: &RunInfo, r: &RunResult, run_id: &str) -> Value {
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
    let mut param_errors = Map::new();
    for (k, q) in p.params.iter().enumerate() {
        let value = last.map_or(q.init, |row| row.params[k]);
        params.insert(q.name.clone(), json!(value));
        if let (Some(exact), Some(err)) = (q.exact, q.rel_error(value)) {
            let entry = json!({ "exact": exact, "value": value, "rel_error": err });
            param_errors.insert(q.name.clone(), entry);
        }
    }
    let mut errors = Map::new();
    for (k, e) in r.errors.iter().enumerate() {
        let mut entry =
            json!({ "rel_l2": e.rel_l2, "max_abs": e.max_abs, "time_to": time_to(r, k) });
        if let Some(free) = &e.up_to {
            entry["up_to"] = json!(free);
        }
        errors.insert(e.name.clone(), entry);
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
    // Every optimizer has its entries, zero and null for those the file does not use,
    // so that a report's keys do not depend on the `train` statement.
    let mut epochs = Map::new();
    let mut time_s = Map::new();
    time_s.insert("compile".into(), json!(r.compile_s));
    time_s.insert("train".into(), json!(r.train_s));
    for kind in optim::KINDS {
        epochs.insert(kind.name.into(), json!(iters(kind.name)));
        time_s.insert(kind.timing_key.into(), ms_per(kind.name));
    }
    let stops: Vec<Value> = r.outcome.phases.iter().map(|ph| json!({ "phase": ph.name, "precision": ph.precision, "update": ph.update, "pass_ms": super::checkpoint::pass_ms_json(ph.pass_ms), "iterations": ph.iterations, "evaluations": ph.evaluations, "seconds": ph.seconds, "stop": ph.stop })).collect();
    json!({
        "run_id": run_id,
        "problem": p.name,
        "backend": r.engine.kind.device(),
        "precision": precisions(r),
        "engine": r.engine.kind.engine(),
        "adapter": r.engine.adapter,
        "machine": super::machine::json(&r.engine),
        "auto": r.auto.iter().map(|a| json!({
            "precision": a.precision.name(),
            "chosen": a.chosen.name(),
            "ms_per_evaluation": (a.timings.iter())
                .map(|(k, ms)| (k.name().to_string(), json!(ms)))
                .collect::<Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "mpi": r.traffic.map(|t| json!({
            "ranks": r.engine.ranks,
            "gathers": t.gathers,
            "gather_s": t.seconds,
            "gathered_bytes": t.bytes,
        })),
        "seed": info.seed,
        "network": { "kind": p.networks.first().map(|n| &n.kind), "params": p.network_params() },
        "networks": p.networks.iter().map(|n| json!({
            "inputs": n.inputs.iter().map(|c| &p.coords[c.0].name).collect::<Vec<_>>(),
            "outputs": n.outputs,
            "params": n.param_count(),
        })).collect::<Vec<_>>(),
        "epochs": epochs,
        "loss": { "total": last.map_or(f64::NAN, |row| row.loss), "terms": terms },
        "parameters": params,
        "parameter_errors": param_errors,
        "errors": errors,
        "rel_l2_all": r.predictions.as_ref().map(|p| p.joint_rel_l2()),
        "time_s": time_s,
        "points": points,
        "phases": stops,
        "diverged": r.outcome.diverged,
    })
}

/// model.json: the source it was compiled from and θ, enough for `pdenet eval` to
/// rebuild the network and evaluate it.
fn model(info: &RunInfo, theta: &[f64], run_id: &str) -> Value {
    let layout = crate::net::Layout::of(info.problem);
    let entries: Vec<Value> = layout
        .entries(info.problem)
        .into_iter()
        .map(|(name, range)| json!({ "name": name, "offset": range.start, "len": range.len() }))
        .collect();
    json!({
        "format": "pdenet-model/1",
        "run_id": run_id,
        "problem": info.problem.name,
        "source_path": info.source_path.display().to_string(),
        "source": info.source,
        "seed": info.seed,
        "theta": theta,
        "layout": entries,
    })
}

/// history.csv: per step the loss, each term, each parameter, the seconds since the
/// run started, the relative L2 error of each reference field (empty on the rows where
/// it was not measured), each parameter's relative error when its true value is known,
/// each term's multiplier when balanced, the smallest causal weight when weighted in
/// time, each set's mean self-adaptive weight when trained, and the optimizer's event (a reset of H, a refused
/// pair).
fn history_csv(p: &Problem, r: &RunResult) -> String {
    let mut s = String::from("phase,iter,loss");
    for t in &p.terms {
        s += &format!(",{}", t.name.replace(',', ";"));
    }
    for q in &p.params {
        s += &format!(",{}", q.name);
    }
    s += ",time_s";
    for name in &r.error_names {
        s += &format!(",rel_l2_{name}");
    }
    let exact: Vec<usize> = (0..p.params.len())
        .filter(|&k| p.params[k].exact.is_some())
        .collect();
    for &k in &exact {
        s += &format!(",rel_err_{}", p.params[k].name);
    }
    // The weighting columns are there when the first row has them (every row then has).
    let first = r.outcome.history.first();
    if first.is_some_and(|row| !row.scale.is_empty()) {
        for t in &p.terms {
            s += &format!(",λ {}", t.name.replace(',', ";"));
        }
    }
    if first.is_some_and(|row| row.causal.is_some()) {
        s += ",causal weight";
    }
    if first.is_some_and(|row| !row.adaptive.is_empty()) {
        for &set in &p.self_adaptive {
            s += &format!(",sa weight {}", p.point_sets[set].name);
        }
    }
    s += ",event\n";
    for row in &r.outcome.history {
        s += &format!("{},{},{:e}", row.phase, row.iter, row.loss);
        for v in row.terms.iter().chain(&row.params) {
            s += &format!(",{v:e}");
        }
        s += &format!(",{:.3}", row.time_s);
        for k in 0..r.error_names.len() {
            match row.errors.as_ref().and_then(|e| e.get(k)) {
                Some(e) => s += &format!(",{e:e}"),
                None => s.push(','),
            }
        }
        for err in exact
            .iter()
            .filter_map(|&k| p.params[k].rel_error(row.params[k]))
        {
            s += &format!(",{err:e}");
        }
        for v in row.scale.iter().chain(&row.causal).chain(&row.adaptive) {
            s += &format!(",{v:e}");
        }
        s += &format!(",{}\n", row.events.join(";"));
    }
    s
}

/// The error levels report.json's `time_to` gives the first time for.
pub const ERROR_LEVELS: [f64; 5] = [1e-2, 1e-3, 1e-4, 1e-5, 1e-6];

/// For the `k`th reference field: per level of [`ERROR_LEVELS`], the first `time_s`
/// of a history row whose measured error was below it (null when none was).
fn time_to(r: &RunResult, k: usize) -> Value {
    let measured: Vec<(f64, f64)> = r
        .outcome
        .history
        .iter()
        .filter_map(|row| Some((row.time_s, *row.errors.as_ref()?.get(k)?)))
        .collect();
    let mut out = Map::new();
    for level in ERROR_LEVELS {
        let first = measured.iter().find(|(_, e)| *e < level).map(|(t, _)| *t);
        out.insert(format!("{level:e}"), json!(first));
    }
    Value::Object(out)
}

/// A 2-D little-endian f64 array in NumPy's .npy format (see `io::npy`).
pub fn npy(columns: &[Vec<f64>]) -> Vec<u8> {
    npy_format::write(columns)
}
