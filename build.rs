//! Records the commit the binary is built from (`PDENET_COMMIT`, in report.json and
//! `pdenet bench --json`): `git rev-parse --short HEAD`, or `unknown` when git or
//! the repository is missing (a source tarball, a crates.io build).

use std::process::Command;

fn main() {
    let commit = git(&["rev-parse", "--short", "HEAD"]);
    println!(
        "cargo:rustc-env=PDENET_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    // Run again when HEAD moves: HEAD itself (a checkout), the branch it names and
    // packed-refs (a commit). `--git-path` finds them in a worktree too. Only
    // files that exist: cargo reruns the script every build for a missing one.
    println!("cargo:rerun-if-changed=build.rs");
    let branch = git(&["symbolic-ref", "-q", "HEAD"]);
    let refs = ["HEAD", "packed-refs"].into_iter().map(String::from);
    for path in refs.chain(branch) {
        match git(&["rev-parse", "--git-path", &path]) {
            Some(file) if std::path::Path::new(&file).exists() => {
                println!("cargo:rerun-if-changed={file}")
            }
            _ => {}
        }
    }
}

/// The trimmed output of a successful git command.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}
