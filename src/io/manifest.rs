//! The out directory as one consistent set of files, committed by a manifest.
//!
//! A run writes its files into a fresh hidden directory `.run-<id>/` (each one
//! atomically: a temporary name, fsync, rename). Then `manifest.json` is written
//! atomically: it is the commit point, naming the run id and, for each published
//! name (`report.json`, `model.json`, ...), the file of this run that holds it.
//! Only then are the top-level names (what a person opens) pointed at the new
//! files, each by hard link (or copy) to a temporary name and a rename; last, the
//! previous runs' directories and top-level names this run no longer makes are
//! removed. A run killed at any moment leaves a manifest naming one complete set:
//! the previous one until the manifest's rename, the new one after it. Readers
//! (`pdenet eval`) go through the manifest; the top-level copies are for people and
//! are each whole, but during a commit they may mix two runs for a moment.

use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "pdenet-manifest/1";

/// A committed set: its run id and, per published name, the path (relative to
/// the out directory) of the file that holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub run_id: String,
    pub files: Vec<(String, String)>,
}

impl Manifest {
    /// The path of a published name (`model.json`) in the out directory `dir`.
    pub fn path(&self, dir: &Path, name: &str) -> Option<PathBuf> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| dir.join(p))
    }
}

/// Reads `dir/manifest.json`; `Ok(None)` when there is none (no run committed
/// there yet, or a directory from before manifests).
pub fn read(dir: &Path) -> std::io::Result<Option<Manifest>> {
    let text = match std::fs::read_to_string(dir.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let bad = |why: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{MANIFEST}: {why}"),
        )
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    if v["format"] != FORMAT {
        return Err(bad(&format!("not a {FORMAT} manifest")));
    }
    let run_id = v["run_id"]
        .as_str()
        .ok_or_else(|| bad("no run_id"))?
        .to_string();
    let files = v["files"]
        .as_object()
        .ok_or_else(|| bad("no files"))?
        .iter()
        .map(|(k, p)| {
            Ok((
                k.clone(),
                p.as_str()
                    .ok_or_else(|| bad("a file path is not a string"))?
                    .to_string(),
            ))
        })
        .collect::<std::io::Result<_>>()?;
    Ok(Some(Manifest { run_id, files }))
}

/// A new run id: seconds since the epoch, process id and a nanosecond count, in
/// hex, so two runs into one directory never share one.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!(
        "{:x}-{:x}-{:x}",
        now.as_secs(),
        std::process::id(),
        now.subsec_nanos()
    )
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory,
/// flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_name(path);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// `dir/.name.tmp<pid>`: hidden, and recognizable for clean-up.
fn temp_name(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}.tmp{}", std::process::id()))
}

/// The files of one run, written but not yet committed.
pub struct Staging {
    out: PathBuf,
    run_id: String,
    sub: String,
    files: Vec<String>,
}

impl Staging {
    /// Creates `out/.run-<id>/` (and `out` if needed).
    pub fn begin(out: &Path, run_id: &str) -> std::io::Result<Staging> {
        let sub = format!(".run-{run_id}");
        std::fs::create_dir_all(out.join(&sub))?;
        Ok(Staging {
            out: out.to_path_buf(),
            run_id: run_id.to_string(),
            sub,
            files: Vec::new(),
        })
    }

    /// Writes one file of the run under its published name.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        write_atomic(&self.out.join(&self.sub).join(name), bytes)?;
        self.files.retain(|f| f != name);
        self.files.push(name.to_string());
        Ok(())
    }

    /// Commits the set (the manifest's rename), publishes the top-level names and
    /// removes what the previous run left that this one does not replace.
    pub fn commit(self) -> std::io::Result<Manifest> {
        sync_dir(&self.out.join(&self.sub));
        let previous = read(&self.out).ok().flatten();
        let mut files = Map::new();
        for f in &self.files {
            files.insert(f.clone(), json!(format!("{}/{f}", self.sub)));
        }
        let manifest = json!({ "format": FORMAT, "run_id": self.run_id, "files": files });
        let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
        write_atomic(&self.out.join(MANIFEST), text.as_bytes())?;
        sync_dir(&self.out);
        for f in &self.files {
            publish(&self.out.join(&self.sub).join(f), &self.out.join(f))?;
        }
        if let Some(prev) = previous {
            for (name, _) in prev.files.iter().filter(|(n, _)| !self.files.contains(n)) {
                if is_plain_name(name) {
                    let _ = std::fs::remove_file(self.out.join(name));
                }
            }
        }
        self.remove_leftovers();
        Ok(Manifest {
            run_id: self.run_id.clone(),
            files: self
                .files
                .iter()
                .map(|f| (f.clone(), format!("{}/{f}", self.sub)))
                .collect(),
        })
    }

    /// Earlier runs' directories (committed or killed before committing) and
    /// temporary files of killed writers.
    fn remove_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(&self.out) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".run-") && name != self.sub {
                let _ = std::fs::remove_dir_all(e.path());
            } else if name.starts_with('.') && name.contains(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A published name from a manifest is removed only if it is a plain file name in
/// the out directory (never a path that leads elsewhere).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// Points `dst` at `src`'s content atomically: a hard link (or a copy where links
/// are not supported) under a temporary name, renamed over `dst`.
fn publish(src: &Path, dst: &Path) -> std::io::Result<()> {
    let tmp = temp_name(dst);
    let _ = std::fs::remove_file(&tmp);
    if std::fs::hard_link(src, &tmp).is_err() {
        std::fs::copy(src, &tmp)?;
    }
    std::fs::rename(&tmp, dst)
}

/// Flushes a directory's entries (the renames in it) to disk where the platform
/// allows opening a directory; elsewhere the renames are still atomic.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
