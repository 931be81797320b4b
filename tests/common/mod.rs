//! Helpers shared by the integration tests that drive the `pdenet` binary.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root: tests run the binary from here.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `pdenet` with `args` from the repository root.
pub fn pdenet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdenet"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the pdenet binary runs")
}

/// A fresh out directory under the target dir, unique per test.
pub fn out_dir(name: &str) -> PathBuf {
    let d = root().join("target").join("test-runs").join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The names of the bundled examples (examples/*.pde), sorted.
pub fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            (p.extension()? == "pde").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

/// The arguments of a quiet `pdenet run FILE` into `out`, data from examples/data.
pub fn run_args<'a>(file: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        file,
        "--data-dir",
        "examples/data",
        "--quiet",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}
