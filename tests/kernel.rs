//! The fused kernel on every example (and three of tests/gpu), through the command line: gradcheck passes
//! (gradient and jets against finite differences), and the Burgers IR is pinned.

mod common;
use common::{examples, root};
use std::process::Command;

#[test]
fn every_example_passes_gradcheck() {
    let names = examples();
    for reference in [
        "allen_cahn",
        "burgers",
        "kdv",
        "navier_stokes",
        "schrodinger",
        "well_finite",
    ] {
        assert!(
            names.iter().any(|n| n == reference),
            "{reference} missing from {names:?}"
        );
    }
    // And small files of tests/gpu: a field over fewer coordinates (two networks),
    // the Fourier-feature first layer and a KAN layer written in the file.
    let files = names
        .iter()
        .map(|n| format!("examples/{n}.pde"))
        .chain(["two_networks", "fourier", "kan"].map(|n| format!("tests/gpu/{n}.pde")));
    for name in files {
        let o = Command::new(env!("CARGO_BIN_EXE_pdenet"))
            .args(["gradcheck", &name])
            .current_dir(root())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{name}: {out}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(out.contains("passed"), "{name}: {out}");
    }
}

/// `UPDATE_GOLDEN=1 cargo test --release --test kernel` rewrites the snapshot.
#[test]
fn burgers_ir_snapshot() {
    let o = Command::new(env!("CARGO_BIN_EXE_pdenet"))
        .args(["kernels", "examples/burgers.pde", "--emit", "ir"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success());
    let ir = String::from_utf8_lossy(&o.stdout).into_owned();
    let golden = root().join("tests/golden/burgers.ir");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &ir).unwrap();
    }
    let want = std::fs::read_to_string(&golden)
        .expect("tests/golden/burgers.ir (UPDATE_GOLDEN=1 writes it)");
    assert!(
        ir == want,
        "the Burgers IR changed; review the diff and rerun with UPDATE_GOLDEN=1"
    );
    // The header states the costs the issue asks for, and the reverse pass is there.
    assert!(ir.contains("gradient/loss cost") && ir.contains("tape per point"));
    assert!(ir.contains("grad_matrix") && ir.contains("matTvec"));
}
