//! Tests of the MAT-file reader on the example data and on damaged copies of it.

use super::*;

fn data_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/data")
        .join(file)
}

fn read(file: &str) -> MatData {
    match read_mat(&data_path(file)) {
        Ok(data) => data,
        Err(e) => panic!("{file}: {e}"),
    }
}

fn shape(data: &MatData, name: &str) -> Vec<usize> {
    match data.require(name) {
        Ok(a) => a.shape.clone(),
        Err(e) => panic!("{e}"),
    }
}

const FILES: [&str; 5] = [
    "burgers_shock.mat",
    "KdV.mat",
    "AC.mat",
    "NLS.mat",
    "ns_periodic.mat",
];

#[test]
fn burgers_shapes_and_values() {
    let d = read("burgers_shock.mat");
    assert_eq!(d.names(), ["x", "t", "usol"]);
    assert_eq!(shape(&d, "x"), [256, 1]);
    assert_eq!(shape(&d, "t"), [100, 1]);
    assert_eq!(shape(&d, "usol"), [256, 100]);
    let (x, t, u) = (&d.arrays[0], &d.arrays[1], &d.arrays[2]);
    assert!(x.is_vector() && t.is_vector() && !u.is_vector() && !u.is_complex());
    assert_eq!(t.at(&[1, 0]), 0.01);
    assert_eq!((x.at(&[0, 0]), x.at(&[255, 0])), (-1.0, 1.0));
    for i in 0..256 {
        let exact = -(std::f64::consts::PI * x.real[i]).sin();
        assert!((u.at(&[i, 0]) - exact).abs() <= 1e-15, "usol[{i}, 0]");
    }
    // Column-major: usol(i, j) is real[i + 256 j].
    assert_eq!(u.at(&[3, 7]), u.real[3 + 256 * 7]);
    assert!(u.at(&[0, 50]).abs() < 4e-16 && u.at(&[255, 50]).abs() < 4e-16);
}

#[test]
fn kdv_and_allen_cahn_shapes() {
    for file in ["KdV.mat", "AC.mat"] {
        let d = read(file);
        assert_eq!(shape(&d, "x"), [1, 512], "{file}");
        assert_eq!(shape(&d, "tt"), [1, 201], "{file}");
        assert_eq!(shape(&d, "uu"), [512, 201], "{file}");
        let x = &d.arrays.iter().find(|a| a.name == "x").map(|a| a.real.clone());
        let x = x.as_deref().unwrap_or_default();
        assert_eq!(x[0], -1.0);
        assert!((x[1] - (-1.0 + 2.0 / 512.0)).abs() < 1e-15);
    }
    // Allen–Cahn starts from x² cos πx.
    let d = read("AC.mat");
    let (x, u) = (&d.arrays.iter().find(|a| a.name == "x"), d.get("uu"));
    if let (Some(x), Some(u)) = (x, u) {
        for i in (0..512).step_by(37) {
            let xi = x.real[i];
            let exact = xi * xi * (std::f64::consts::PI * xi).cos();
            assert!((u.at(&[i, 0]) - exact).abs() < 1e-12);
        }
    }
}

#[test]
fn nls_is_complex() {
    let d = read("NLS.mat");
    assert_eq!(shape(&d, "x"), [1, 256]);
    assert_eq!(shape(&d, "tt"), [1, 201]);
    assert_eq!(shape(&d, "uu"), [256, 201]);
    let uu = d.get("uu").filter(|a| a.is_complex());
    let Some(uu) = uu else {
        panic!("NLS uu is not complex")
    };
    // h(0, x) = 2 sech x, and x_0 = -5.
    let magnitude = uu.at(&[0, 0]).hypot(uu.at_imag(&[0, 0]));
    let exact = 2.0 / (-5.0f64).cosh();
    assert!((magnitude - exact).abs() < 1e-12, "{magnitude} vs {exact}");
    assert_eq!(uu.imag.as_ref().map(Vec::len), Some(256 * 201));
}

#[test]
fn navier_stokes_shapes() {
    let d = read("ns_periodic.mat");
    for name in ["u", "v", "p", "w"] {
        assert_eq!(shape(&d, name), [64, 64, 41], "{name}");
    }
    for name in ["x", "y"] {
        assert_eq!(shape(&d, name), [64, 1], "{name}");
    }
    assert_eq!(shape(&d, "t"), [41, 1]);
    assert_eq!(shape(&d, "nu"), [1, 1]);
    assert_eq!(d.get("nu").map(|a| a.real[0]), Some(0.01));
    let t = d.get("t").map(|a| a.real.clone()).unwrap_or_default();
    assert!((t[40] - 2.0).abs() < 1e-14);
    // Axis order (y, x, t): the offset of (i, j, k) is i + 64 j + 4096 k.
    if let Some(u) = d.get("u") {
        assert_eq!(u.offset(&[1, 2, 3]), Some(1 + 64 * 2 + 4096 * 3));
        assert_eq!(u.offset(&[64, 0, 0]), None);
        assert_eq!(u.offset(&[0, 0]), None);
    }
}

#[test]
fn missing_file_is_not_found() {
    let err = read_mat(&data_path("no_such_file.mat"));
    assert!(matches!(err, Err(MatError::NotFound { .. })), "{err:?}");
}

#[test]
fn missing_and_unsupported_variables_are_named() {
    let d = read("burgers_shock.mat");
    match d.require("u") {
        Err(e @ MatError::MissingVariable { .. }) => {
            let text = e.to_string();
            assert!(text.contains("usol") && text.contains("`u`"), "{text}");
        }
        other => panic!("{other:?}"),
    }
}

/// Damages every example file in several ways; each must give `Malformed`, never a
/// panic and never a silent success with fewer variables.
#[test]
fn truncated_files_are_malformed() {
    for file in FILES {
        let bytes = std::fs::read(data_path(file)).unwrap_or_default();
        assert!(bytes.len() > 1000, "{file} is missing");
        let cuts = [
            bytes.len() / 10,
            bytes.len() / 2,
            bytes.len() * 99 / 100,
            bytes.len() - 1,
            100,
            130,
        ];
        for cut in cuts {
            let result = parse_mat(&bytes[..cut], Path::new(file));
            match result {
                Err(MatError::Malformed { reason, .. }) => {
                    assert!(!reason.is_empty());
                }
                other => panic!("{file} cut at {cut}: {other:?}"),
            }
        }
    }
}

#[test]
fn malformed_message_names_the_file() {
    let bytes = std::fs::read(data_path("KdV.mat")).unwrap_or_default();
    let err = parse_mat(&bytes[..bytes.len() / 2], Path::new("some/KdV.mat"));
    let text = err.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
    assert!(text.contains("some/KdV.mat") && text.contains("truncated"), "{text}");
}

/// A small deterministic generator, so that failures reproduce.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn garbage_is_malformed() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let header = std::fs::read(data_path("burgers_shock.mat")).unwrap_or_default();
    for len in [0, 7, 127, 128, 200, 4096, 100_000] {
        for _ in 0..20 {
            let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            assert!(parse_mat(&garbage, Path::new("g")).is_err(), "len {len}");
            // A valid header followed by garbage.
            let mut file = header[..128].to_vec();
            file.extend_from_slice(&garbage);
            let result = parse_mat(&file, Path::new("g"));
            if len > 0 {
                assert!(matches!(result, Err(MatError::Malformed { .. })), "len {len}");
            }
        }
    }
}

/// Single-byte changes anywhere: the reader may succeed (a changed number is still a
/// number) but must not panic, and a success must keep every variable.
#[test]
fn single_byte_mutations_never_panic() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    for file in FILES {
        let bytes = std::fs::read(data_path(file)).unwrap_or_default();
        let names = read(file).names().len();
        let trials = if file == "ns_periodic.mat" { 40 } else { 150 };
        for trial in 0..trials {
            let mut copy = bytes.clone();
            // Half the mutations hit the header and first tags, where structure lives.
            let pos = if trial % 2 == 0 {
                rng.next() as usize % 400
            } else {
                rng.next() as usize % copy.len()
            };
            copy[pos] ^= (rng.next() % 255 + 1) as u8;
            if let Ok(data) = parse_mat(&copy, Path::new(file)) {
                assert_eq!(
                    data.arrays.len() + data.skipped.len(),
                    names,
                    "{file}: byte {pos} changed, variables lost"
                );
            }
        }
    }
}
