//! `pdenet run` end to end through the command line: short training runs whose loss
//! must fall, complete reports, bad data and diverging runs.

mod common;
use common::{examples, out_dir, pdenet, run_args};

use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn run(file: &str, out: &Path, extra: &[&str]) -> Output {
    let out = out.to_string_lossy().into_owned();
    pdenet(&run_args(file, &out, extra))
}

fn report(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json exists");
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// The loss column of history.csv.
fn losses(out: &Path) -> Vec<f64> {
    let text = std::fs::read_to_string(out.join("history.csv")).expect("history.csv exists");
    text.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(2)
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        })
        .collect()
}

#[test]
fn burgers_smoke_run_lowers_the_loss_and_reports_everything() {
    let out = out_dir("burgers_small");
    let o = run("tests/run/burgers_small.pde", &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let loss = losses(&out);
    let (first, last) = (loss[0], *loss.last().unwrap());
    assert!(
        last < first / 5.0,
        "the loss fell only from {first} to {last}"
    );
    let r = report(&out);
    for key in [
        "problem",
        "backend",
        "precision",
        "seed",
        "network",
        "epochs",
        "loss",
        "parameters",
        "errors",
        "time_s",
    ] {
        assert!(r.get(key).is_some(), "report.json lacks `{key}`");
    }
    assert_eq!(r["backend"], "cpu");
    assert_eq!(r["network"]["kind"], "qres");
    assert_eq!(r["epochs"]["adam"], 150);
    // The report and history.csv print the same number (history.csv in `{:e}` text).
    let total = r["loss"]["total"].as_f64().expect("a total loss");
    assert!(
        (total - last).abs() <= 1e-12 * last,
        "report {total} vs history {last}"
    );
    for term in ["equation", "initial", "boundary x = -1", "boundary x = 1"] {
        assert!(
            r["loss"]["terms"][term].as_f64().is_some(),
            "no loss for term `{term}`"
        );
    }
    let rel = r["errors"]["u"]["rel_l2"].as_f64().expect("an error for u");
    assert!(rel > 0.0 && rel < 1.0, "rel. L2 error {rel}");
    for t in ["compile", "train", "adam_epoch_ms", "lbfgs_iter_ms"] {
        assert!(
            r["time_s"][t].as_f64().is_some_and(|v| v >= 0.0),
            "time_s.{t}"
        );
    }
    let model: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(
        model["theta"].as_array().map(Vec::len),
        r["network"]["params"].as_u64().map(|n| n as usize)
    );
    // predictions.npy: the 256 × 100 reference grid, columns x, t, u.
    let npy = std::fs::read(out.join("predictions.npy")).unwrap();
    assert_eq!(&npy[..6], b"\x93NUMPY");
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    assert!(header.contains("'shape': (25600, 3)"), "{header}");
    assert_eq!(npy.len(), 10 + header_len + 8 * 25600 * 3);
    assert_eq!((10 + header_len) % 64, 0, "the data starts 64-byte aligned");
}

/// Every bundled example trains a few epochs: the loss falls and the out directory
/// holds everything its manifest lists (the paper-accuracy runs are
/// scripts/reproduce.py, not tests).
#[test]
fn every_example_smoke_runs() {
    let names = examples();
    assert!(names.len() >= 12, "examples: {names:?}");
    for name in names {
        let out = out_dir(&format!("smoke_{name}"));
        let file = format!("examples/{name}.pde");
        let o = run(&file, &out, &["--epochs", "5"]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let loss = losses(&out);
        let (first, last) = (loss[0], *loss.last().unwrap());
        assert!(last < first, "{name}: the loss went from {first} to {last}");
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        let files = manifest["files"].as_object().expect("manifest maps files");
        assert!(files.len() >= 5, "{name}: manifest {manifest}");
        for (file, stored) in files {
            let stored = stored.as_str().expect("a stored path");
            assert!(
                out.join(stored).is_file(),
                "{name}: {file} ({stored}) is missing"
            );
        }
        let r = report(&out);
        assert!(
            r["loss"]["total"].as_f64().is_some(),
            "{name}: no loss in report"
        );
    }
}

/// The PINNacle collection (examples/pinnacle/, their own data paths): each file
/// trains a few epochs and reports PINNacle's joint error against its reference
/// where it has one.
#[test]
fn pinnacle_examples_smoke_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pinnacle");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/pinnacle")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pde"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let name = file
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let out = out_dir(&format!("pinnacle_{name}"));
        let o = run(file.to_str().expect("UTF-8"), &out, &["--epochs", "3"]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r = report(&out);
        let joint = r["rel_l2_all"].as_f64();
        // A stand-in coefficient (Heat 2d-VC) leaves a file without its reference.
        let text = std::fs::read_to_string(&file).expect("readable");
        let has_reference = text.lines().any(|l| l.starts_with("reference"));
        assert!(
            joint.is_some_and(|e| e > 0.0) || !has_reference && joint.is_none(),
            "{name}: rel_l2_all {joint:?}"
        );
    }
}

/// examples/layers: each file checks and trains a few epochs; and the QRes paper's
/// toy holds at full length: the physics term (dy/dx at points between the eight
/// samples) beats the data alone by more than ten times.
#[test]
fn layer_examples_run_and_physics_beats_data_alone() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/layers");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples/layers")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pde"))
        .collect();
    files.sort();
    assert!(files.len() >= 2);
    for file in &files {
        let name = file.file_stem().expect("a name").to_string_lossy();
        let out = out_dir(&format!("layers_{name}"));
        let o = run(file.to_str().expect("UTF-8"), &out, &["--epochs", "3"]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let error = |name: &str| {
        let out = out_dir(&format!("layers_full_{name}"));
        let file = format!("examples/layers/{name}.pde");
        let o = run(&file, &out, &[]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        report(&out)["rel_l2_all"]
            .as_f64()
            .expect("an error against the reference")
    };
    let (data, physics) = (error("sin6_data"), error("sin6_physics"));
    assert!(
        physics < data / 10.0,
        "data alone {data}, with physics {physics}"
    );
}

/// θ of a run's model.json by tensor name.
fn model_tensors(out: &Path) -> std::collections::HashMap<String, Vec<f64>> {
    let text = std::fs::read_to_string(out.join("model.json")).expect("model.json");
    let m: Value = serde_json::from_str(&text).expect("JSON");
    let theta: Vec<f64> = m["theta"]
        .as_array()
        .expect("θ")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    let layout = m["layout"].as_array().expect("a layout");
    layout
        .iter()
        .map(|t| {
            let (o, n) = (
                t["offset"].as_u64().expect("offset") as usize,
                t["len"].as_u64().expect("len") as usize,
            );
            (
                t["name"].as_str().expect("name").to_string(),
                theta[o..o + n].to_vec(),
            )
        })
        .collect()
}

/// `fixed` tensors keep their drawn values: the random Fourier features of `rff`
/// are the same after 2 and 20 epochs while the layers after them train; in
/// `fourier` (the same layer, trained) they move. `--set` picks the kind and the
/// saved source says so.
#[test]
fn fixed_tensors_are_not_trained() {
    let run_kind = |kind: &str, epochs: &str| {
        let out = out_dir(&format!("fixed_{kind}_{epochs}"));
        let set = format!("network={kind}");
        let o = run(
            "tests/gpu/fourier.pde",
            &out,
            &["--set", &set, "--epochs", epochs],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let source = std::fs::read_to_string(out.join("model.json")).expect("model.json");
        assert!(
            source.contains(&format!("network {kind}(")),
            "{kind}: the saved source"
        );
        model_tensors(&out)
    };
    let (a, b) = (run_kind("rff", "2"), run_kind("rff", "20"));
    assert_eq!(a["layer 1 F"], b["layer 1 F"]);
    assert_eq!(a["layer 1 c"], b["layer 1 c"]);
    assert_ne!(a["layer 2 W"], b["layer 2 W"]);
    let (a, b) = (run_kind("fourier", "2"), run_kind("fourier", "20"));
    assert_ne!(a["layer 1 F"], b["layer 1 F"]);
}

/// A Kolmogorov–Arnold layer defined only in a test file (families, a recurrence,
/// per-edge tensors, shifts) trains: its loss falls to a twentieth in 300 epochs.
#[test]
fn a_layer_written_in_the_file_trains() {
    let out = out_dir("kan_layer");
    let o = run("tests/gpu/kan.pde", &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let l = losses(&out);
    assert_eq!(l.len(), 300);
    assert!(l[299] < l[0] / 20.0, "{} → {}", l[0], l[299]);
}

#[test]
fn epochs_caps_every_phase_and_runs_reproduce() {
    let (a, b) = (out_dir("cap_a"), out_dir("cap_b"));
    for out in [&a, &b] {
        let o = run(
            "tests/run/inverse_small.pde",
            out,
            &["--epochs", "7", "--seed", "42"],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (ra, rb) = (report(&a), report(&b));
    assert_eq!(ra["epochs"]["adam"], 7);
    assert!(ra["epochs"]["lbfgs"].as_u64().is_some_and(|n| n <= 7));
    // Stop reasons are sentences, not Rust `Debug` output.
    assert_eq!(ra["phases"][0]["stop"], "reached the iteration cap (7)");
    let lbfgs_stop = ra["phases"][1]["stop"].as_str().unwrap_or_default();
    assert!(
        lbfgs_stop.starts_with(|c: char| c.is_lowercase()) && !lbfgs_stop.contains('{'),
        "{lbfgs_stop}"
    );
    assert_eq!(ra["seed"], 42);
    assert_eq!(
        ra["parameters"], rb["parameters"],
        "the same seed gives the same run"
    );
    let l2 = ra["parameters"]["λ2"].as_f64().unwrap();
    assert!(
        l2 > 0.0,
        "a positive parameter is reported by its value: {l2}"
    );
}

#[test]
fn a_diverging_run_names_the_term_and_keeps_its_outputs() {
    let out = out_dir("diverging");
    let o = run("tests/run/diverging.pde", &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("`equation`") && err.contains("Adam epoch"),
        "{err}"
    );
    let r = report(&out);
    assert!(r["diverged"]
        .as_str()
        .is_some_and(|s| s.contains("equation")));
    assert!(
        r["loss"]["total"].as_f64().is_some_and(f64::is_finite),
        "the last good loss is kept"
    );
    assert!(out.join("model.json").is_file());
}

#[test]
fn missing_data_fails_before_anything_is_written() {
    let out = out_dir("missing_data");
    let o = run("tests/run/missing_data.pde", &out, &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no_such_file.mat") && err.contains("pdenet::check::data_missing"),
        "{err}"
    );
    assert!(
        !out.exists(),
        "nothing may be written for a run that cannot start"
    );
}

/// `pdenet run --backend gpu` follows the CPU back end's loss curve: 20 Adam epochs
/// (on the device, `backend::gpu::adam`) and up to 20 L-BFGS iterations of
/// tests/run/burgers_small.pde (Burgers with a QRes 10×4 and 400 points:
/// examples/burgers.pde's 8 layers take lavapipe minutes to compile) in f64,
/// every recorded loss within 1e-8 relative of the JIT's (stated tolerance; the two
/// back ends sum in different orders, so they agree to rounding, which 40 steps
/// barely amplify), and the error measured on the same rows (every 9 steps: with θ
/// on the device, Adam's segment ends there to measure it) within 1e-6. Without an
/// adapter it skips, unless PDENET_REQUIRE_GPU_ADAPTER=1.
#[test]
fn gpu_run_follows_the_cpu_loss_curve() {
    let (cpu, gpu) = (out_dir("burgers_cpu20"), out_dir("burgers_gpu20"));
    let common = ["--epochs", "20", "--precision", "f64", "--error-every", "9"];
    let g = run(
        "tests/run/burgers_small.pde",
        &gpu,
        &[&common[..], &["--backend", "gpu"]].concat(),
    );
    if skipped_without_an_adapter(&g) {
        return;
    }
    let c = run(
        "tests/run/burgers_small.pde",
        &cpu,
        &[&common[..], &["--backend", "cpu"]].concat(),
    );
    assert!(c.status.success(), "{}", String::from_utf8_lossy(&c.stderr));
    assert_eq!(report(&gpu)["backend"], "gpu");
    assert_eq!(report(&gpu)["phases"][0]["update"], "device");
    assert_eq!(report(&gpu)["phases"][1]["update"], "host");
    let (lc, lg) = (losses(&cpu), losses(&gpu));
    assert_eq!(lc.len(), lg.len(), "different numbers of epochs");
    assert!(lc.len() >= 21, "{} epochs recorded", lc.len());
    for (i, (a, b)) in lc.iter().zip(&lg).enumerate() {
        assert!(
            (a - b).abs() <= 1e-8 * a.abs(),
            "epoch {i}: cpu {a} vs gpu {b}"
        );
    }
    let errors = |out: &Path| {
        let (header, rows) = history(out);
        let k = column(&header, "rel_l2_u");
        rows.iter()
            .map(|r| r[k].parse::<f64>().ok())
            .collect::<Vec<_>>()
    };
    let (ec, eg) = (errors(&cpu), errors(&gpu));
    assert!(ec[8].is_some() && ec[17].is_some(), "{ec:?}");
    for (i, (a, b)) in ec.iter().zip(&eg).enumerate() {
        match (a, b) {
            (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-6 * a, "row {i}: {a} vs {b}"),
            (None, None) => {}
            _ => panic!("row {i}: the error measured on one back end only: {ec:?} {eg:?}"),
        }
    }
}

/// Whether a GPU run failed for want of an adapter, which skips its test (said on
/// stdout) unless PDENET_REQUIRE_GPU_ADAPTER=1; any other failure panics with
/// the run's stderr.
fn skipped_without_an_adapter(o: &Output) -> bool {
    if o.status.success() {
        return false;
    }
    let err = String::from_utf8_lossy(&o.stderr);
    let required = std::env::var("PDENET_REQUIRE_GPU_ADAPTER").is_ok_and(|v| v == "1");
    if err.contains("no GPU adapter") && !required {
        println!("skipping: {err}");
        return true;
    }
    panic!("{err}");
}

/// history.csv as its header and rows of cells.
fn history(out: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(out.join("history.csv")).expect("history.csv exists");
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    (header, lines.collect())
}

fn column(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column `{name}` in {header:?}"))
}

/// tests/run/burgers_small.pde with its `train` (and optionally `sample`) line
/// replaced, written where the run can find it.
fn variant(name: &str, train: &str, sample: Option<&str>) -> String {
    let base = std::fs::read_to_string(common::root().join("tests/run/burgers_small.pde"))
        .expect("the small Burgers file");
    let text: Vec<String> = base
        .lines()
        .map(|l| match (l.split_whitespace().next(), sample) {
            (Some("train"), _) => format!("train {train}"),
            (Some("sample"), Some(s)) => format!("sample {s}"),
            _ => l.to_string(),
        })
        .collect();
    let dir = common::root().join("target").join("test-runs");
    std::fs::create_dir_all(&dir).expect("the test-runs directory");
    let path = dir.join(format!("{name}.pde"));
    std::fs::write(&path, text.join("\n")).expect("the variant is written");
    path.to_string_lossy().into_owned()
}

/// After 50 Adam epochs (still on the plateau where u ≈ −sin πx is being learned),
/// 150 iterations of each quasi-Newton method at least halve the loss. The factors when
/// this was written (one thread): L-BFGS 3, BFGS 3, SSBFGS 42, SSBFGS-OL 5,
/// SSBroyden 46, SSBroyden1 14.
#[test]
fn each_quasi_newton_method_lowers_the_loss_after_adam() {
    for opt in [
        "lbfgs",
        "bfgs",
        "ssbfgs",
        "ssbfgs_ol",
        "ssbroyden",
        "ssbroyden1",
    ] {
        let file = variant(
            &format!("qn_{opt}"),
            &format!("adam(lr = 1e-3, epochs = 50) then {opt}(iterations = 150)"),
            None,
        );
        let out = out_dir(&format!("qn_{opt}"));
        let o = run(&file, &out, &["--threads", "1"]);
        assert!(
            o.status.success(),
            "{opt}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (header, rows) = history(&out);
        let (phase, loss) = (column(&header, "phase"), column(&header, "loss"));
        let of = |name: &str| -> Vec<f64> {
            rows.iter()
                .filter(|r| r[phase] == name)
                .map(|r| r[loss].parse().expect("a loss"))
                .collect()
        };
        let (adam, qn) = (of("adam"), of(opt));
        assert_eq!(qn.len(), 150, "{opt}: {} iterations", qn.len());
        let (before, after) = (adam[adam.len() - 1], qn[qn.len() - 1]);
        eprintln!(
            "{opt}: loss {before:.3e} → {after:.3e} ({:.0}×)",
            before / after
        );
        assert!(
            after < before / 2.0,
            "{opt}: the loss fell only from {before} to {after}"
        );
    }
}

/// The error over time: time_s never decreases, the error is measured every N steps
/// and at each phase end, and report.json gives the first time below each level,
/// later for smaller levels.
#[test]
fn history_and_report_carry_the_error_over_time() {
    let out = out_dir("error_over_time");
    let file = variant(
        "error_over_time",
        "adam(lr = 1e-3, epochs = 30) then ssbroyden(iterations = 30)",
        None,
    );
    let o = run(&file, &out, &["--threads", "1", "--error-every", "5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, rows) = history(&out);
    let (time, err) = (column(&header, "time_s"), column(&header, "rel_l2_u"));
    let times: Vec<f64> = rows
        .iter()
        .map(|r| r[time].parse().expect("a time"))
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "time_s goes back: {times:?}"
    );
    let measured: Vec<usize> = (0..rows.len())
        .filter(|&i| !rows[i][err].is_empty())
        .collect();
    // Rows 5, 10, …, 30 of each phase (every 5 steps; the last is also the phase end).
    assert_eq!(measured, [4, 9, 14, 19, 24, 29, 34, 39, 44, 49, 54, 59]);
    let r = report(&out);
    // Adam in f32 and the quasi-Newton phase in f64 unless the file says otherwise.
    assert_eq!(r["precision"], "f32+f64");
    assert_eq!(r["phases"][0]["precision"], "f32");
    assert_eq!(r["phases"][1]["precision"], "f64");
    let time_to = &r["errors"]["u"]["time_to"];
    let mut last = 0.0;
    let mut reached = true;
    for level in ["1e-2", "1e-3", "1e-4", "1e-5", "1e-6"] {
        let t = &time_to[level];
        assert!(t.is_null() || t.is_f64(), "time_to {level}: {t}");
        if let Some(t) = t.as_f64() {
            assert!(reached && t >= last, "time_to {level} = {t} after {last}");
            last = t;
        } else {
            reached = false;
        }
    }
    let first = time_to["1e-2"].as_f64();
    let errors: Vec<f64> = measured
        .iter()
        .map(|&i| rows[i][err].parse().expect("an error"))
        .collect();
    let best = errors.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(
        first.is_some(),
        best < 1e-2,
        "errors {errors:?}, time_to {time_to}"
    );
}

/// `--time-limit` ends the running phase cleanly, skips the rest, and writes every
/// output with the reason in report.json.
#[test]
fn a_time_limit_stops_cleanly_with_everything_written() {
    let out = out_dir("time_limit");
    let file = variant(
        "time_limit",
        "adam(lr = 1e-3, epochs = 1000000) then ssbroyden(iterations = 30)",
        None,
    );
    let o = run(&file, &out, &["--threads", "1", "--time-limit", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    let phases = r["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 1, "{phases:?}");
    assert_eq!(phases[0]["stop"], "reached the time limit (2 s)");
    for f in ["history.csv", "model.json", "predictions.npy", "loss.png"] {
        assert!(out.join(f).exists(), "{f} was not written");
    }
}

/// `balance = gradnorm` and `balance = ntk`: history.csv has each term's multiplier,
/// constant between the rebalancing steps (before steps 1, 11 and 21 of Adam), kept by
/// the next phase; and the loss is Σ λᵢ Lᵢ (every weight of this file is 1).
#[test]
fn balanced_weights_are_in_the_history() {
    for rule in ["gradnorm", "ntk"] {
        let name = format!("balance_{rule}");
        let file = variant(
            &name,
            &format!("adam(lr = 1e-3, epochs = 30, balance = {rule}, balance_every = 10) then lbfgs(iterations = 5)"),
            None,
        );
        let out = out_dir(&name);
        let o = run(&file, &out, &["--threads", "1"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        balanced_history(&out, rule);
    }
}

/// `causal = ε`: history.csv has the smallest causal weight, in (0, 1], constant
/// between the updates (before steps 1, 11 and 21 of Adam); the next phase, without
/// causal weighting, has weights 1.
#[test]
fn causal_weights_are_in_the_history() {
    let file = variant(
        "causal",
        "adam(lr = 1e-3, epochs = 30, causal = 1.0, causal_every = 10) then lbfgs(iterations = 5)",
        None,
    );
    let out = out_dir("causal");
    let o = run(&file, &out, &["--threads", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, rows) = history(&out);
    let c = column(&header, "causal weight");
    let weight = |r: &Vec<String>| -> f64 { r[c].parse().expect("a number") };
    let adam = rows.iter().filter(|r| r[0] == "adam").count();
    assert_eq!(adam, 30);
    let changes: Vec<usize> = (1..adam)
        .filter(|&i| weight(&rows[i]) != weight(&rows[i - 1]))
        .collect();
    assert_eq!(
        changes,
        [10, 20],
        "the weights change after steps 10 and 20 only"
    );
    assert!(rows[..adam]
        .iter()
        .all(|r| weight(r) > 0.0 && weight(r) <= 1.0));
    assert!(
        rows[..adam].iter().any(|r| weight(r) < 1.0),
        "later times wait"
    );
    assert!(
        rows[adam..].iter().all(|r| weight(r) == 1.0),
        "L-BFGS is unweighted"
    );
}

/// `self_adaptive = η`: history.csv has each set's mean weight λ², 1 + η-ish after the
/// first ascent step, changing only after steps 10 and 20 of Adam, never falling (the
/// weights climb), and kept by the next phase; the loss still falls.
#[test]
fn self_adaptive_weights_are_in_the_history() {
    let file = variant(
        "self_adaptive",
        "adam(lr = 1e-3, epochs = 30, self_adaptive = 0.01, self_adaptive_every = 10) then lbfgs(iterations = 5)",
        None,
    );
    let out = out_dir("self_adaptive");
    let o = run(&file, &out, &["--threads", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (header, rows) = history(&out);
    let sets = ["equation", "initial", "boundary"];
    let cols: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.starts_with("sa weight "))
        .map(|(k, _)| k)
        .collect();
    assert!(cols.len() >= sets.len(), "{header:?}");
    let adam = rows.iter().filter(|r| r[0] == "adam").count();
    assert_eq!(adam, 30);
    let weight = |i: usize, c: usize| -> f64 { rows[i][c].parse().expect("a number") };
    for &c in &cols {
        let first = weight(0, c);
        assert!(
            first > 1.0 && first <= 1.0201 + 1e-9,
            "{} = {first}",
            header[c]
        );
        let changes: Vec<usize> = (1..adam)
            .filter(|&i| weight(i, c) != weight(i - 1, c))
            .collect();
        assert_eq!(changes, [10, 20], "{}", header[c]);
        assert!((1..rows.len()).all(|i| weight(i, c) >= weight(i - 1, c)));
        assert!((adam..rows.len()).all(|i| weight(i, c) == weight(adam - 1, c)));
    }
    let loss = |i: usize| -> f64 { rows[i][2].parse().expect("a number") };
    assert!(
        loss(rows.len() - 1) < 0.5 * loss(0),
        "{} → {}",
        loss(0),
        loss(rows.len() - 1)
    );
}

/// The checks of [`balanced_weights_are_in_the_history`] on one run's history.
fn balanced_history(out: &Path, rule: &str) {
    let (header, rows) = history(out);
    let terms = ["equation", "initial", "boundary x = -1", "boundary x = 1"];
    let lambda: Vec<usize> = terms
        .iter()
        .map(|t| column(&header, &format!("λ {t}")))
        .collect();
    let value: Vec<usize> = terms.iter().map(|t| column(&header, t)).collect();
    let num = |r: &Vec<String>, c: usize| -> f64 { r[c].parse().expect("a number") };
    let scale = |r: &Vec<String>| lambda.iter().map(|&c| num(r, c)).collect::<Vec<f64>>();
    let changes: Vec<usize> = (1..rows.len())
        .filter(|&i| scale(&rows[i]) != scale(&rows[i - 1]))
        .collect();
    assert_eq!(
        changes,
        [10, 20],
        "{rule}: multipliers change after steps 10 and 20 only"
    );
    assert!(
        scale(&rows[0]).iter().any(|&l| l != 1.0),
        "{rule}: the first step is balanced already"
    );
    for r in &rows {
        let total: f64 = lambda
            .iter()
            .zip(&value)
            .map(|(&l, &v)| num(r, l) * num(r, v))
            .sum();
        let loss = num(r, column(&header, "loss"));
        assert!(
            (total - loss).abs() <= 1e-12 * loss.abs(),
            "{rule}: {total} vs {loss}"
        );
    }
}

/// A phase's `precision = …` picks its kernel; `--precision` overrides every phase.
#[test]
fn each_phase_runs_in_its_precision() {
    let file = variant(
        "precisions",
        "adam(lr = 1e-3, epochs = 5, precision = f64) then ssbroyden(iterations = 5, precision = f32)",
        None,
    );
    for (extra, want) in [(None, "f64+f32"), (Some("f32"), "f32")] {
        let out = out_dir(&format!("precisions_{want}"));
        let mut args = vec!["--threads", "1"];
        args.extend(extra.iter().flat_map(|p| ["--precision", p]));
        let o = run(&file, &out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(report(&out)["precision"], want);
    }
}

/// Resampling is part of the seeded run: the same seed redraws the same points, so
/// two runs have the same history (but for the clock); another seed differs.
#[test]
fn resampled_runs_reproduce() {
    let file = variant(
        "rad",
        "adam(lr = 1e-3, epochs = 40) then ssbroyden(iterations = 20)",
        Some("collocation 300 latin rad(every = 10, candidates = 2000), initial 50, boundary 50"),
    );
    let histories: Vec<Vec<Vec<String>>> = ["1", "1", "2"]
        .iter()
        .enumerate()
        .map(|(k, seed)| {
            let out = out_dir(&format!("rad_{k}"));
            let o = run(
                &file,
                &out,
                &["--threads", "1", "--seed", seed, "--error-every", "1000"],
            );
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let (header, mut rows) = history(&out);
            let (time, event) = (column(&header, "time_s"), column(&header, "event"));
            let redraws = rows
                .iter()
                .filter(|r| r[event].contains("resample"))
                .count();
            assert_eq!(
                redraws,
                3 + 1,
                "redrawn after steps 10, 20, 30 of Adam, 10 of SSBroyden"
            );
            for r in &mut rows {
                r[time].clear();
            }
            rows
        })
        .collect();
    assert_eq!(histories[0], histories[1]);
    assert_ne!(histories[0], histories[2]);
}

/// Conditions of two fields on one face get names with their fields, every term
/// reaches report.json and history.csv once, and the terms (all of weight 1) add up
/// to the total loss.
#[test]
fn terms_on_shared_faces_keep_their_names_and_sum_to_the_total() {
    let out = out_dir("shared_faces");
    let o = run("tests/run/shared_faces.pde", &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = report(&out);
    let terms = r["loss"]["terms"].as_object().expect("loss terms");
    let names: Vec<&str> = terms.keys().map(String::as_str).collect();
    for name in [
        "equation 1",
        "equation 2",
        "boundary y = 1 (u)",
        "boundary y = 1 (v)",
        "boundary x = 0 (v)",
        "boundary x = 0 (u)",
        "boundary x = 1 (u_x)",
        "boundary x = 1 (u)",
    ] {
        assert!(names.contains(&name), "no term `{name}` in {names:?}");
    }
    assert_eq!(names.len(), 8, "{names:?}");
    let sum: f64 = terms.values().map(|v| v.as_f64().expect("a number")).sum();
    let total = r["loss"]["total"].as_f64().expect("a total");
    assert!(
        (sum - total).abs() <= 1e-12 * total,
        "terms add to {sum}, the total is {total}"
    );
    let history = std::fs::read_to_string(out.join("history.csv")).expect("history.csv");
    let header: Vec<&str> = history.lines().next().unwrap_or("").split(',').collect();
    let mut unique = header.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), header.len(), "repeated columns: {header:?}");
}

/// history.csv without the columns that depend on the clock (time_s) or on when the
/// error happened to be measured.
fn steps_only(out: &Path) -> Vec<Vec<String>> {
    let (header, rows) = history(out);
    let keep: Vec<usize> = (0..header.len())
        .filter(|&k| header[k] != "time_s" && !header[k].starts_with("rel_l2"))
        .collect();
    rows.iter()
        .map(|r| keep.iter().map(|&k| r[k].clone()).collect())
        .collect()
}

/// Starts a run in the background, waits until it has written a checkpoint and taken
/// a few more steps, and sends it `signal` (`-KILL`, `-INT`); gives its exit status.
fn interrupt(file: &str, out: &Path, signal: &str) -> std::process::ExitStatus {
    let out_s = out.to_string_lossy().into_owned();
    let args = run_args(
        file,
        &out_s,
        &[
            "--threads",
            "1",
            "--error-every",
            "1000",
            "--checkpoint-every",
            "0.05",
        ],
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pdenet"))
        .args(&args)
        .current_dir(common::root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("pdenet starts");
    let checkpoint = out.join("checkpoint.npz");
    let t0 = std::time::Instant::now();
    while !checkpoint.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(checkpoint.exists(), "no checkpoint within a minute");
    std::thread::sleep(std::time::Duration::from_millis(150));
    let pid = child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    child.wait().expect("the run ends")
}

/// A run killed outright (SIGKILL) or stopped by Ctrl-C (SIGINT) and resumed takes
/// exactly the steps of the run that was never interrupted: Adam with self-adaptive
/// weights and RAD redraws, then SSBroyden (its dense H in the checkpoint). Ctrl-C
/// writes the full output set first; a checkpoint continues only its own run; a
/// finished run removes its checkpoint.
#[test]
fn a_killed_or_stopped_run_resumes_to_the_same_steps() {
    let file = variant(
        "resume",
        "adam(lr = 1e-3, epochs = 1500, self_adaptive = 1e-3) then ssbroyden(iterations = 200)",
        Some("collocation 300 latin rad(every = 25, candidates = 2000), initial 50, boundary 50"),
    );
    let whole = out_dir("resume_whole");
    let quiet = ["--threads", "1", "--error-every", "1000"];
    let o = run(&file, &whole, &quiet);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!whole.join("checkpoint.npz").exists());
    let want = steps_only(&whole);

    let stopped = out_dir("resume_int");
    let status = interrupt(&file, &stopped, "-INT");
    assert!(status.success(), "Ctrl-C ends the run cleanly: {status:?}");
    let r = report(&stopped);
    let phases = r["phases"].as_array().expect("phases");
    assert_eq!(
        phases.last().expect("a phase ran")["stop"],
        "stopped by Ctrl-C or SIGTERM"
    );
    for f in ["history.csv", "model.json", "report.json", "checkpoint.npz"] {
        assert!(stopped.join(f).exists(), "{f} was not written");
    }
    let cut = steps_only(&stopped);
    assert!(cut.len() < want.len(), "the run was stopped before its end");
    assert_eq!(cut[..], want[..cut.len()]);

    let other = run(&file, &stopped, &["--resume", "--seed", "7"]);
    assert!(!other.status.success());
    let err = String::from_utf8_lossy(&other.stderr);
    assert!(
        err.contains("belongs to another run") && err.contains("seed"),
        "{err}"
    );

    let killed = out_dir("resume_kill");
    let status = interrupt(&file, &killed, "-KILL");
    assert!(!status.success(), "SIGKILL ends the run at once");
    for out in [&stopped, &killed] {
        let mut args = quiet.to_vec();
        args.push("--resume");
        let o = run(&file, out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(steps_only(out), want, "{}", out.display());
        assert!(!out.join("checkpoint.npz").exists());
    }
    let missing = run(&file, &killed, &["--resume"]);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("no checkpoint to resume from"), "{err}");
}

/// `--init DIR` starts from a trained model: with no training steps the new run's θ
/// is the old one's; a network of another width is refused, saying which tensor.
#[test]
fn a_warm_start_takes_the_trained_weights() {
    let (first, second, other) = (out_dir("init_a"), out_dir("init_b"), out_dir("init_c"));
    let o = run("tests/run/burgers_small.pde", &first, &["--epochs", "5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from = first.to_string_lossy().into_owned();
    let o = run(
        "tests/run/burgers_small.pde",
        &second,
        &["--epochs", "0", "--seed", "9", "--init", &from],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let theta = |out: &Path| {
        let text = std::fs::read_to_string(out.join("model.json")).expect("model.json");
        let v: Value = serde_json::from_str(&text).expect("JSON");
        v["theta"].clone()
    };
    assert_eq!(theta(&first), theta(&second));
    let o = run(
        "tests/run/burgers_small.pde",
        &other,
        &[
            "--epochs",
            "1",
            "--set",
            "network.width=12",
            "--init",
            &from,
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("does not fit") && err.contains("numbers here"),
        "{err}"
    );
}

/// The same data as .npz (a grid by key) and as CSV (one row per point, a header
/// naming the columns) read like the .mat: an inverse run on the .npz grid recovers
/// the same parameters bit for bit, and a reference given as CSV gives the same error.
#[test]
fn data_in_numpy_and_text_files_reads_like_mat() {
    let mat = pdenet::io::read_mat(&common::root().join("examples/data/burgers_shock.mat"))
        .expect("the .mat");
    let get = |n: &str| mat.get(n).expect(n).clone();
    let (x, t, usol) = (get("x"), get("t"), get("usol"));
    let dir = common::root().join("target").join("test-runs");
    std::fs::create_dir_all(&dir).expect("the test-runs directory");
    let mut w = pdenet::io::npz::Writer::new();
    w.vector("x", &x.real).unwrap();
    w.vector("t", &t.real).unwrap();
    let columns: Vec<Vec<f64>> = usol.real.chunks(x.len()).map(<[f64]>::to_vec).collect();
    w.columns("usol", &columns).unwrap();
    std::fs::write(dir.join("burgers_grid.npz"), w.finish().unwrap()).unwrap();
    let mut csv = String::from("x,t,u\n");
    for (j, tj) in t.real.iter().enumerate() {
        for (i, xi) in x.real.iter().enumerate() {
            csv += &format!("{xi:e},{tj:e},{:e}\n", usol.at(&[i, j]));
        }
    }
    std::fs::write(dir.join("burgers_points.csv"), csv).unwrap();

    let inverse = std::fs::read_to_string(common::root().join("tests/run/inverse_small.pde"))
        .expect("the inverse file");
    let npz = inverse.replace("burgers_shock.mat", "burgers_grid.npz");
    std::fs::write(dir.join("inverse_npz.pde"), npz).unwrap();
    let (a, b) = (out_dir("formats_mat"), out_dir("formats_npz"));
    let args = ["--epochs", "5", "--seed", "3"];
    for (file, out) in [
        ("tests/run/inverse_small.pde", &a),
        ("target/test-runs/inverse_npz.pde", &b),
    ] {
        let o = run(file, out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(report(&a)["parameters"], report(&b)["parameters"]);

    let reference = "reference \"burgers_points.csv\" { x = x, t = t, u = u }";
    let file = variant("reference_csv", "adam(lr = 1e-3, epochs = 2)", None);
    let text = std::fs::read_to_string(&file).unwrap();
    let text: Vec<&str> = text
        .lines()
        .map(|l| {
            if l.starts_with("reference") {
                reference
            } else {
                l
            }
        })
        .collect();
    std::fs::write(&file, text.join("\n")).unwrap();
    let (c, d) = (out_dir("formats_ref_mat"), out_dir("formats_ref_csv"));
    let args = ["--epochs", "0"];
    for (f, out) in [("tests/run/burgers_small.pde", &c), (file.as_str(), &d)] {
        let o = run(f, out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let err = |out: &Path| report(out)["errors"]["u"]["rel_l2"].as_f64().unwrap();
    assert!(
        (err(&c) - err(&d)).abs() <= 1e-12 * err(&c),
        "{} {}",
        err(&c),
        err(&d)
    );
}

/// A dense quasi-Newton phase on the GPU with H on the device
/// (`PDENET_GPU_MATRIX=device`: on a software adapter H stays on the host unless
/// asked) follows the same phase with H on the host: every loss within 1e-10
/// relative (the device sums H's rows in another order; 3e-13 was measured over 40
/// SSBroyden steps), and report.json says where each phase's update ran. Placed by
/// timing (`timed`, a hardware GPU's default), H goes where report.json's timed
/// pass was faster, which the summary says, and the losses are the same again.
/// Without an adapter it skips, unless PDENET_REQUIRE_GPU_ADAPTER=1.
#[test]
fn a_dense_phase_keeps_h_on_the_gpu() {
    let run_with = |matrix: &str| {
        let out = out_dir(&format!("burgers_dense_{matrix}"));
        let path = out.to_string_lossy().into_owned();
        let args = ["--backend", "gpu", "--precision", "f64"];
        let args = run_args("tests/run/burgers_dense_small.pde", &path, &args);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pdenet"))
            .args(&args)
            .env("PDENET_GPU_MATRIX", matrix)
            .current_dir(common::root())
            .output()
            .expect("the pdenet binary runs");
        (out, o)
    };
    let (device, d) = run_with("device");
    if skipped_without_an_adapter(&d) {
        return;
    }
    let (host, h) = run_with("host");
    let (timed, t) = run_with("timed");
    for o in [&h, &t] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(report(&device)["phases"][1]["phase"], "ssbroyden");
    assert_eq!(report(&device)["phases"][1]["update"], "device");
    assert_eq!(report(&host)["phases"][1]["update"], "host");
    for forced in [&device, &host] {
        assert!(report(forced)["phases"][1]["pass_ms"].is_null());
    }
    let phase = &report(&timed)["phases"][1];
    let ms = |side: &str| phase["pass_ms"][side].as_f64().expect("a timed pass");
    let faster = if ms("device") < ms("host") {
        "device"
    } else {
        "host"
    };
    assert!(ms("device") > 0.0 && ms("host") > 0.0, "{phase}");
    assert_eq!(phase["update"], faster, "{phase}");
    let said = format!("ssbroyden kept its H on the {faster}");
    assert!(String::from_utf8_lossy(&t.stdout).contains(&said));
    let lh = losses(&host);
    assert!(lh.len() >= 30, "{} steps recorded", lh.len());
    for other in [&device, &timed] {
        let lo = losses(other);
        assert_eq!(lo.len(), lh.len());
        for (i, (a, b)) in lo.iter().zip(&lh).enumerate() {
            assert!(
                (a - b).abs() <= 1e-10 * b.abs(),
                "step {i}: {a} vs host {b} ({})",
                other.display()
            );
        }
    }
}
