//! What `pdenet run` leaves and `pdenet eval` reads: the model reloads and gives
//! the run's own numbers, .npy/.mat files read back, pictures exist, report.json
//! follows docs/report.schema.json, and a run killed at any moment leaves a
//! manifest naming one complete set.

mod common;
use common::{out_dir, pdenet, root, run_args};

use pdenet::io::{matwrite, npy, read_mat};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn run(file: &str, out: &Path, extra: &[&str]) {
    let out = out.to_string_lossy().into_owned();
    let o = pdenet(&run_args(file, &out, extra));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A CSV with a header, as columns by name.
fn parse_csv(text: &str) -> Vec<(String, Vec<f64>)> {
    let mut lines = text.lines();
    let mut cols: Vec<(String, Vec<f64>)> = lines
        .next()
        .expect("a header")
        .split(',')
        .map(|h| (h.to_string(), Vec::new()))
        .collect();
    for line in lines {
        for (c, v) in cols.iter_mut().zip(line.split(',')) {
            c.1.push(v.parse().expect("a number"));
        }
    }
    cols
}

fn column<'a>(cols: &'a [(String, Vec<f64>)], name: &str) -> &'a [f64] {
    &cols
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .1
}

fn eval(dir: &Path, extra: &[&str]) -> Vec<(String, Vec<f64>)> {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec!["eval", d.as_str()];
    args.extend_from_slice(extra);
    let o = pdenet(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    parse_csv(&String::from_utf8(o.stdout).unwrap())
}

#[test]
fn eval_reproduces_the_runs_predictions_at_points_and_on_a_grid() {
    let out = out_dir("outputs-eval");
    run("tests/run/burgers_small.pde", &out, &["--epochs", "20"]);
    let pred = npy::read(&std::fs::read(out.join("predictions.npy")).unwrap()).unwrap();
    let (x, t, u) = (&pred[0], &pred[1], &pred[2]);
    let rows = [0usize, 1, 777, 12_345, x.len() - 1];
    let spec: Vec<String> = rows
        .iter()
        .map(|&i| format!("x={:?},t={:?}", x[i], t[i]))
        .collect();
    let got = eval(&out, &["--points", &spec.join(";"), "--fields", "u,u_x"]);
    for (k, &i) in rows.iter().enumerate() {
        assert_eq!(column(&got, "x")[k], x[i]);
        let diff = (column(&got, "u")[k] - u[i]).abs();
        assert!(
            diff <= 1e-12,
            "u at row {i}: eval {} vs run {}",
            column(&got, "u")[k],
            u[i]
        );
    }
    // u_x against a central difference of u.
    let (x0, t0, h) = (0.3, 0.4, 1e-5);
    let pts = format!("x={},t={t0};x={},t={t0};x={x0},t={t0}", x0 - h, x0 + h);
    let d = eval(&out, &["--points", &pts, "--fields", "u,u_x"]);
    let fd = (column(&d, "u")[1] - column(&d, "u")[0]) / (2.0 * h);
    assert!(
        (fd - column(&d, "u_x")[2]).abs() < 1e-5 * (1.0 + fd.abs()),
        "u_x {} vs {fd}",
        column(&d, "u_x")[2]
    );

    // A grid whose corners lie on the reference grid (x = ±1, t = 0).
    let t_last = t.iter().copied().fold(f64::MIN, f64::max);
    let grid = eval(&out, &["--grid", &format!("x=-1:1:5,t=0:{t_last:?}:3")]);
    assert_eq!(column(&grid, "u").len(), 15);
    let mut matched = 0;
    for (gx, gt, gu) in grid_points(&grid) {
        if let Some(i) = (0..x.len()).find(|&i| x[i] == gx && t[i] == gt) {
            assert!((u[i] - gu).abs() <= 1e-12, "grid point ({gx}, {gt})");
            matched += 1;
        }
    }
    assert!(
        matched >= 2,
        "only {matched} grid points lie on the reference grid"
    );
    // The same points from a CSV file, and written as .npy and .mat.
    let csv = out.join("points.csv");
    std::fs::write(&csv, "t,x\n0.5,0.25\n0.75,-0.5\n").unwrap();
    let from_csv = eval(&out, &["--input", csv.to_str().unwrap()]);
    let direct = eval(&out, &["--points", "x=0.25,t=0.5;x=-0.5,t=0.75"]);
    assert_eq!(column(&from_csv, "u"), column(&direct, "u"));
    let eval_to = |file: &Path| {
        let o = pdenet(&[
            "eval",
            out.to_str().unwrap(),
            "--input",
            csv.to_str().unwrap(),
            "--output",
            file.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let npy_out = out.join("eval.npy");
    eval_to(&npy_out);
    let back = npy::read(&std::fs::read(&npy_out).unwrap()).unwrap();
    assert_eq!(back[2], column(&direct, "u"));
    let mat_out = out.join("eval.mat");
    eval_to(&mat_out);
    let m = read_mat(&mat_out).unwrap();
    let u_var = m
        .arrays
        .iter()
        .find(|a| a.name == "u")
        .expect("u in the .mat");
    assert_eq!(u_var.real, column(&direct, "u"));
    // Unknown quantities and coordinates are errors that say what exists.
    let o = pdenet(&[
        "eval",
        out.to_str().unwrap(),
        "--points",
        "x=0,t=0",
        "--fields",
        "v",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("fields are u"));
    let o = pdenet(&["eval", out.to_str().unwrap(), "--points", "x=0,y=0"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a coordinate"));
}

fn grid_points(cols: &[(String, Vec<f64>)]) -> Vec<(f64, f64, f64)> {
    let (x, t, u) = (column(cols, "x"), column(cols, "t"), column(cols, "u"));
    (0..x.len()).map(|i| (x[i], t[i], u[i])).collect()
}

#[test]
fn mat_writer_round_trips_through_read_mat() {
    let dir = out_dir("outputs-mat");
    std::fs::create_dir_all(&dir).unwrap();
    let vars = vec![
        ("x".to_string(), vec![-1.0, 0.5, 1.0]),
        ("u_x".to_string(), vec![1e-300, -2.5, f64::MAX]),
        ("abcdefghi".to_string(), vec![7.0]),
    ];
    let path = dir.join("t.mat");
    std::fs::write(&path, matwrite::write(&vars)).unwrap();
    let m = read_mat(&path).unwrap();
    assert_eq!(m.arrays.len(), 3);
    for ((name, values), a) in vars.iter().zip(&m.arrays) {
        assert_eq!(&a.name, name);
        assert_eq!(a.shape, vec![values.len(), 1]);
        assert_eq!(&a.real, values);
        assert!(a.imag.is_none());
    }
}

#[test]
fn pictures_npy_mat_and_schema_for_a_2d_and_a_1d_problem() {
    let out = out_dir("outputs-burgers");
    run("tests/run/burgers_small.pde", &out, &["--epochs", "30"]);
    for f in ["solution_u.png", "error_u.png", "loss.png"] {
        assert_png(&out.join(f));
    }
    assert!(!out.join("params.png").exists(), "no params, no params.png");
    // predictions.mat holds the .npy's columns.
    let pred = npy::read(&std::fs::read(out.join("predictions.npy")).unwrap()).unwrap();
    let m = read_mat(&out.join("predictions.mat")).unwrap();
    let names: Vec<&str> = m.arrays.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["x", "t", "u"]);
    for (a, col) in m.arrays.iter().zip(&pred) {
        assert_eq!(&a.real, col);
    }
    numpy_reads(&out.join("predictions.npy"), &pred);
    validate(
        &json(&root().join("docs/report.schema.json")),
        &json(&out.join("report.json")),
        "report",
    );

    let well = out_dir("outputs-well");
    run("examples/well_infinite.pde", &well, &["--epochs", "30"]);
    for f in ["solution_psi.png", "loss.png", "params.png"] {
        assert_png(&well.join(f));
    }
    assert!(
        !well.join("error_psi.png").exists(),
        "no reference, no error picture"
    );
    let report = json(&well.join("report.json"));
    validate(
        &json(&root().join("docs/report.schema.json")),
        &report,
        "report",
    );
    // `param E = 5 exact π^2`: the recovered value's error in the report and at every
    // step of the history.
    let e = &report["parameter_errors"]["E"];
    let pi2 = std::f64::consts::PI.powi(2);
    assert_eq!(e["exact"].as_f64(), Some(pi2));
    let value = report["parameters"]["E"].as_f64().expect("E");
    let want = (value - pi2).abs() / pi2;
    let got = e["rel_error"].as_f64().expect("rel_error");
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
    let history = std::fs::read_to_string(well.join("history.csv")).unwrap();
    let mut lines = history.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    let at = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (v, err) = (at("E"), at("rel_err_E"));
    let rows: Vec<Vec<&str>> = lines.collect();
    assert!(rows.len() > 30, "30 Adam epochs and some L-BFGS iterations");
    for row in rows {
        let num = |k: usize| -> f64 { row[k].parse().expect("a number") };
        let want = (num(v) - pi2).abs() / pi2;
        assert!(
            (num(err) - want).abs() <= 1e-12 * want,
            "{} vs {want}",
            num(err)
        );
    }
}

/// A PNG signature, a sensible size and the closing IEND chunk.
fn assert_png(path: &Path) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    assert!(
        (400..4000).contains(&w) && (300..4000).contains(&h),
        "{}: {w}×{h}",
        path.display()
    );
    assert_eq!(&b[b.len() - 8..b.len() - 4], b"IEND");
}

/// Whether python3 has numpy (CI installs it); says so when not.
fn has_numpy(what: &str) -> bool {
    let has = Command::new("python3")
        .args(["-c", "import numpy"])
        .stderr(Stdio::null())
        .status();
    let has = has.is_ok_and(|s| s.success());
    if !has {
        eprintln!("note: numpy is not installed; {what} was not checked with numpy");
    }
    has
}

/// Loads the file with numpy when python3 has it; else says so.
fn numpy_reads(path: &Path, cols: &[Vec<f64>]) {
    if !has_numpy("the .npy file") {
        return;
    }
    let script = format!(
        "import numpy as np; a = np.load({:?}); print(a.shape[0], a.shape[1], repr(float(a[-1, -1])), repr(float(a[0, 0])))",
        path.to_string_lossy()
    );
    let o = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let f: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(f[0].parse::<usize>().unwrap(), cols[0].len());
    assert_eq!(f[1].parse::<usize>().unwrap(), cols.len());
    assert_eq!(
        f[2].parse::<f64>().unwrap(),
        *cols.last().unwrap().last().unwrap()
    );
    assert_eq!(f[3].parse::<f64>().unwrap(), cols[0][0]);
}

/// The subset of JSON Schema that docs/report.schema.json uses: type (one or a
/// list), enum, minimum, required, properties, additionalProperties (false or a
/// schema), items.
fn validate(schema: &Value, v: &Value, at: &str) {
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema at {at}"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_u64() || v.is_i64(),
            "null" => v.is_null(),
            "boolean" => v.is_boolean(),
            _ => false,
        });
        assert!(ok, "{at}: {v} is not of type {types:?}");
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        assert!(options.contains(v), "{at}: {v} is not one of {options:?}");
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64()) {
        assert!(x >= min, "{at}: {x} < {min}");
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            assert!(obj.contains_key(r), "{at}: `{r}` is required");
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, child) in obj {
            let path = format!("{at}.{k}");
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => validate(s, child, &path),
                (None, Some(Value::Bool(false))) => panic!("{path}: not allowed by the schema"),
                (None, Some(s @ Value::Object(_))) => validate(s, child, &path),
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(items, x, &format!("{at}[{i}]"));
        }
    }
}

/// Checks that `dir`'s manifest names files that all exist, parse, and carry
/// the manifest's run id; returns that id.
fn check_consistent(dir: &Path) -> String {
    let m = json(&dir.join("manifest.json"));
    let id = m["run_id"].as_str().expect("a run id").to_string();
    let files = m["files"].as_object().expect("a file list");
    for name in [
        "report.json",
        "model.json",
        "history.csv",
        "predictions.npy",
        "predictions.mat",
        "loss.png",
    ] {
        let rel = files
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("the manifest lacks {name}"));
        let path = dir.join(rel);
        match name {
            "report.json" | "model.json" => {
                assert_eq!(json(&path)["run_id"], id.as_str(), "{name}")
            }
            "predictions.npy" => {
                npy::read(&std::fs::read(&path).unwrap()).expect("a readable .npy");
            }
            "predictions.mat" => {
                read_mat(&path).expect("a readable .mat");
            }
            "history.csv" => {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.starts_with("phase,iter,loss") && text.ends_with('\n'));
            }
            _ => assert_png(&path),
        }
    }
    // The top-level copies are whole files of some run.
    for name in files.keys() {
        assert!(dir.join(name).is_file(), "top-level {name}");
    }
    json(&dir.join("report.json"));
    id
}

/// The `.run-*` directories in `dir`.
fn run_dirs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".run-"))
                .collect()
        })
        .unwrap_or_default()
}

fn spawn_run(out: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pdenet"))
        .args(run_args("tests/run/burgers_small.pde", out, &[]))
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts a run into `out`, waits for its run directory to appear, then kills it
/// `kill_after` later (or lets it finish). Returns whether it exited successfully
/// and how long it ran after the directory appeared.
fn until_writing(out: &str, kill_after: Option<Duration>) -> (bool, Duration) {
    let dir = Path::new(out);
    let before = run_dirs(dir);
    let mut child = spawn_run(out);
    let start = Instant::now();
    while run_dirs(dir).iter().all(|r| before.contains(r))
        && start.elapsed() < Duration::from_secs(60)
    {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let writing = Instant::now();
    if let Some(after) = kill_after {
        std::thread::sleep(after);
        let _ = child.kill();
    }
    let ok = child.wait().unwrap().success();
    (ok, writing.elapsed())
}

#[test]
fn a_run_killed_at_any_moment_leaves_one_complete_set() {
    let dir = out_dir("outputs-kill");
    let d = dir.to_string_lossy().into_owned();
    run("tests/run/burgers_small.pde", &dir, &["--epochs", "20"]);
    let mut ids = vec![check_consistent(&dir)];
    let mut completed = 0;
    // Killed during set-up and training, at fixed moments.
    for delay in [50u64, 300, 1000] {
        let mut child = spawn_run(&d);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        completed += child.wait().unwrap().success() as usize;
        ids.push(check_consistent(&dir));
    }
    // Killed while writing: the new run's directory appearing marks the start of
    // the write phase. One complete run measures how long writing takes; then
    // runs are killed at fractions of that (before, around and after the
    // manifest's commit, which comes last).
    let (_, writing) = until_writing(&d, None);
    let mut during_writes = 0;
    for fraction in [0.0, 0.1, 0.5, 0.9, 0.97, 1.0, 1.05] {
        let (ok, _) = until_writing(&d, Some(writing.mul_f64(fraction)));
        completed += ok as usize;
        during_writes += !ok as usize;
        ids.push(check_consistent(&dir));
    }
    ids.dedup();
    assert!(during_writes > 0, "no run was killed while writing");
    eprintln!(
        "{during_writes} runs killed while writing, {completed} finished before the kill; {} committed runs seen",
        ids.len()
    );
    // A later complete run cleans up what the killed ones left.
    run("tests/run/burgers_small.pde", &dir, &["--epochs", "5"]);
    check_consistent(&dir);
    assert_eq!(run_dirs(&dir).len(), 1, "one run directory left");
    let stray: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temporary files left: {stray:?}");
}

/// A run on a shape domain: it learns the exact solution's values at points of the
/// annulus, `eval` marks the point in the hole and the one outside, and the
/// solution picture exists.
#[test]
fn a_shape_domain_trains_and_eval_marks_points_outside_it() {
    let out = out_dir("annulus_small");
    run("tests/run/annulus_small.pde", &out, &[]);
    let cols = eval(
        &out,
        &[
            "--points",
            "x=0.5,y=0;x=0,y=-0.8;x=0.1,y=0;x=0.9,y=0.9",
            "--fields",
            "u",
        ],
    );
    assert_eq!(column(&cols, "inside"), [1.0, 1.0, 0.0, 0.0]);
    let u = column(&cols, "u");
    for (k, exact) in [(0, 0.25), (1, 0.64)] {
        assert!(
            (u[k] - exact).abs() < 0.05,
            "u = {} where x² + y² = {exact}",
            u[k]
        );
    }
    assert!(out.join("solution_u.png").exists());
}

/// A hard constraint on a CSG domain (`u = dist(plate)·net`): after training, u is
/// zero on every boundary piece to rounding, and nonzero inside. The plates: a
/// square minus a disk; an L-shaped (non-convex) polygon minus a disk.
#[test]
fn a_distance_function_imposes_zero_on_every_boundary_piece() {
    let cases = [
        // Sides x = −1, x = 1, y = 1; the hole's circle (center (0.3, 0.2), r = 0.3)
        // at two angles; then an interior point.
        (
            "hard_square_minus_disk",
            "x=-1,y=0.3;x=1,y=-0.5;x=0.2,y=1;x=0.6,y=0.2;x=0.3,y=0.5;x=0,y=-0.5",
        ),
        // The re-entrant edges y = 1 and x = 1, the outer edges x = 2 and y = 2, the
        // hole's circle (center (0.5, 0.5), r = 0.2); then an interior point.
        (
            "hard_l_shape",
            "x=1.5,y=1;x=1,y=1.5;x=2,y=0.5;x=0.5,y=2;x=0.7,y=0.5;x=1.5,y=0.5",
        ),
    ];
    for (name, points) in cases {
        let out = out_dir(name);
        run(&format!("tests/run/{name}.pde"), &out, &[]);
        let cols = eval(&out, &["--points", points, "--fields", "u"]);
        let u = column(&cols, "u");
        for (k, v) in u[..5].iter().enumerate() {
            assert!(v.abs() < 1e-12, "{name}: u = {v} at boundary point {k}");
        }
        assert!(u[5] > 0.01, "{name}: u = {} inside", u[5]);
    }
}

/// `pdenet export` of layer kinds that use every kind of layer node (matrices and
/// vectors; `where` recurrences: cheb_kan; per-edge values: qkan; shifts: stencil3)
/// rebuilds in NumPy through examples/python/pdenet_model.py and agrees with
/// `pdenet eval` to 1e-12 (f64).
#[test]
fn exported_networks_rebuild_in_numpy() {
    for kind in ["qres", "cheb_kan", "qkan", "stencil3"] {
        let out = out_dir(&format!("export-{kind}"));
        let network = format!("network={kind}");
        run(
            "tests/run/burgers_small.pde",
            &out,
            &["--epochs", "3", "--set", &network],
        );
        let dir = out.to_string_lossy().into_owned();
        let o = pdenet(&["export", &dir]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let npz = out.join("export.npz");
        let bytes = std::fs::read(&npz).expect("export.npz");
        let mut a = pdenet::io::npz::Archive::new(bytes).expect("a zip");
        let desc: Value = serde_json::from_slice(&a.member("description.json").unwrap()).unwrap();
        assert_eq!(desc["format"], "pdenet-export/1");
        assert_eq!(desc["networks"][0]["outputs"][0], "u");
        let csv = out.join("pts.csv").to_string_lossy().into_owned();
        let grid = "x=-1:1:13,t=0:1:7";
        let o = pdenet(&[
            "eval", &dir, "--grid", grid, "--fields", "u", "--output", &csv,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        if !has_numpy("the exported network") {
            return;
        }
        let script = root().join("examples/python/pdenet_model.py");
        let o = Command::new("python3")
            .arg(&script)
            .arg(&npz)
            .args(["--check", &csv, "--tolerance", "1e-12"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{kind}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// scripts/gpu-check.sh, the GPU device check, rehearsed at its smallest scale on
/// whatever adapter there is (lavapipe in CI): one JSON file whose steps each carry a
/// command, an exit status, seconds and a result; the comparisons pass and the
/// timings name the adapter. Skipped (with a note) where no adapter opens and CI does
/// not require one.
#[test]
fn the_gpu_check_writes_one_json_of_its_steps() {
    let out = out_dir("gpu-check");
    std::fs::create_dir_all(&out).unwrap();
    let json_path = out.join("gpu-check.json");
    let o = Command::new("bash")
        .arg(root().join("scripts/gpu-check.sh"))
        .arg(env!("CARGO_BIN_EXE_pdenet"))
        .arg(&json_path)
        .env("GPU_CHECK_SCALE", "tiny")
        .current_dir(root())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let check = json(&json_path);
    assert_eq!(check["format"], "pdenet-gpu-check/1");
    let steps = check["steps"].as_array().expect("steps");
    for s in steps {
        assert!(s["name"].is_string() && s["command"].is_string(), "{s}");
        assert!(s["exit"].is_i64() && s["seconds"].is_f64(), "{s}");
    }
    let no_adapter = steps.iter().all(|s| s["exit"] != 0);
    if no_adapter && std::env::var_os("PDENET_REQUIRE_GPU_ADAPTER").is_none() {
        eprintln!("note: no GPU adapter opened; the check's results were not examined");
        return;
    }
    assert_eq!(check["failed"].as_array().map(Vec::len), Some(0), "{check}");
    let named = |prefix: &str| -> Vec<Value> {
        let starts = |s: &&Value| s["name"].as_str().is_some_and(|n| n.starts_with(prefix));
        steps.iter().filter(starts).cloned().collect()
    };
    assert_eq!((named("compare").len(), named("bench").len()), (2, 3));
    for s in named("compare") {
        assert_eq!(s["result"]["passes"], true, "{s}");
    }
    for s in named("bench") {
        assert!(
            s["result"]["adam_epoch_ms"]
                .as_f64()
                .is_some_and(|t| t > 0.0),
            "{s}"
        );
        assert!(s["result"]["adapter"].is_string(), "{s}");
        assert!(s["result"]["device"]["reduction"].is_string(), "{s}");
        // The device's stages, where the adapter has timestamps (lavapipe does).
        let split = &s["result"]["split_ms"];
        if !split.is_null() {
            assert!(split["pass1"].as_f64().is_some_and(|t| t > 0.0), "{s}");
            assert!(split["unaccounted"].is_f64(), "{s}");
        }
    }
    // The dense update timed with H on the host and on the device.
    let dense = named("bench burgers-qres nf=500 f64 dense-h");
    let positive = |v: &Value| v.as_f64().is_some_and(|t| t > 0.0);
    for s in &dense {
        assert!(positive(&s["result"]["hessian_update_ms"]), "{s}");
        assert!(positive(&s["result"]["hessian_update_device_ms"]), "{s}");
    }
    assert_eq!(dense.len(), 1);
    // The short training run: Adam, then SSBroyden, each capped at 3 iterations.
    let run = named("run burgers-qres nf=500 f64 dense-phase");
    assert_eq!(run.len(), 1);
    let phases = run[0]["result"]["phases"].as_array().expect("phases");
    let names: Vec<_> = phases.iter().map(|p| p["phase"].as_str()).collect();
    assert_eq!(names, [Some("adam"), Some("ssbroyden")], "{}", run[0]);
    for p in phases {
        assert_eq!(p["iterations"], 3, "{p}");
        assert!(p["evaluations"].as_u64().is_some_and(|e| e >= 3), "{p}");
        assert!(positive(&p["seconds"]), "{p}");
    }
}
