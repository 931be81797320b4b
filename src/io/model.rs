//! Reading back the model a run left, through its manifest (or, in a directory
//! from before manifests, the top-level model.json).

use super::manifest;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A trained model as `pdenet run` saved it.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    /// The run that wrote it (None for a model from before run ids).
    pub run_id: Option<String>,
    /// The problem's name (the .pde file's stem).
    pub problem: String,
    /// The .pde source it was compiled from.
    pub source: String,
    /// Where that source was read from (for messages; the file may be gone).
    pub source_path: String,
    pub theta: Vec<f64>,
}

/// Loads the model of the run committed in the out directory `dir`.
pub fn load(dir: &Path) -> Result<SavedModel, String> {
    let (path, run_id) = model_path(dir)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    if v["format"] != "pdenet-model/1" {
        return Err(format!("{} is not a pdenet model", path.display()));
    }
    let text_field = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{} has no `{k}`", path.display()))
    };
    let theta = v["theta"]
        .as_array()
        .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
        .ok_or_else(|| format!("{}: `theta` is not a list of numbers", path.display()))?;
    let stored_id = v["run_id"].as_str().map(str::to_string);
    if let (Some(m), Some(s)) = (&run_id, &stored_id) {
        if m != s {
            return Err(format!(
                "{} belongs to run {s}, but the manifest names run {m}",
                path.display()
            ));
        }
    }
    Ok(SavedModel {
        run_id: stored_id,
        problem: text_field("problem")?,
        source: text_field("source")?,
        source_path: text_field("source_path").unwrap_or_default(),
        theta,
    })
}

/// The model file the manifest names, with the manifest's run id.
fn model_path(dir: &Path) -> Result<(PathBuf, Option<String>), String> {
    match manifest::read(dir) {
        Ok(Some(m)) => match m.path(dir, "model.json") {
            Some(p) => Ok((p, Some(m.run_id))),
            None => Err(format!("the manifest in {} names no model.json", dir.display())),
        },
        Ok(None) if dir.join("model.json").is_file() => Ok((dir.join("model.json"), None)),
        Ok(None) => Err(format!(
            "{} holds no trained model (no manifest.json or model.json); run `pdenet run FILE --out {}` first",
            dir.display(),
            dir.display()
        )),
        Err(e) => Err(format!("cannot read the manifest in {}: {e}", dir.display())),
    }
}
