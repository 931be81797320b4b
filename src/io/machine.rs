//! The machine facts every figure carries (report.json's `machine`, `pdenet bench
//! --json`'s): the machines our timings come from change between sessions, and a
//! number without its CPU, vector ISA, thread count and build is not comparable.

use crate::backend::EngineFacts;
use serde_json::{json, Value};

/// pdenet's version (Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the binary was built from (`git rev-parse --short HEAD` in
/// build.rs), `unknown` when it was built without git.
pub const COMMIT: &str = env!("PDENET_COMMIT");

/// `{cpu, isa, products, groups, threads, ranks, version, commit}` for an engine. `isa` is the vector
/// extension the engine used (null on a GPU, whose adapter the report names).
pub fn json(facts: &EngineFacts) -> Value {
    json!({
        "cpu": cpu_model(),
        "isa": facts.isa,
        "products": facts.products,
        "groups": facts.groups,
        "threads": facts.threads,
        "ranks": facts.ranks,
        "version": VERSION,
        "commit": COMMIT,
    })
}

/// The CPU's model name: /proc/cpuinfo's `model name` on Linux x86, or its
/// `Hardware`/`CPU part` lines where ARM kernels put them; `unknown` elsewhere
/// (macOS, Windows) or when the file cannot be read.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| model_name(&text))
        .unwrap_or_else(|| "unknown".into())
}

/// The first non-empty value of the first key cpuinfo has, in order of preference.
fn model_name(cpuinfo: &str) -> Option<String> {
    ["model name", "Hardware", "Processor", "CPU part"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                let v = v.trim();
                (k.trim() == *key && !v.is_empty()).then(|| v.to_string())
            })
        })
}

/// The bytes of a dense n×n matrix of f64 (a dense quasi-Newton method's H).
pub fn dense_matrix_bytes(n: usize) -> u64 {
    (n as u64).saturating_pow(2).saturating_mul(8)
}

/// How large a dense matrix this machine holds comfortably: half its memory
/// (MemTotal in /proc/meminfo), or 8 GiB where that cannot be read. The checker
/// refuses a dense quasi-Newton phase above it; `pdenet bench` skips the timing.
pub fn memory_for_a_matrix() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    });
    total.map_or(8 << 30, |t| t / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_name_comes_from_cpuinfo_or_is_absent() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            model_name(x86).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
        let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n";
        assert_eq!(model_name(arm).as_deref(), Some("0xd0c"));
        assert_eq!(model_name("processor : 0\nmodel name :\n"), None);
    }
}
