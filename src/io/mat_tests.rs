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
        let x = &d
            .arrays
            .iter()
            .find(|a| a.name == "x")
            .map(|a| a.real.clone());
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
    assert!(
        text.contains("some/KdV.mat") && text.contains("truncated"),
        "{text}"
    );
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
                assert!(
                    matches!(result, Err(MatError::Malformed { .. })),
                    "len {len}"
                );
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

/// Builders for hand-made MAT-files, to reach the cases the example data does not.
mod craft {
    /// A 128-byte v5 header in either byte order.
    pub fn header(big_endian: bool, version: u16) -> Vec<u8> {
        let mut h = b"MATLAB 5.0 MAT-file, crafted by a pdenet test".to_vec();
        h.resize(116, b' ');
        h.extend_from_slice(&[0; 8]);
        if big_endian {
            h.extend_from_slice(&version.to_be_bytes());
            h.extend_from_slice(b"MI");
        } else {
            h.extend_from_slice(&version.to_le_bytes());
            h.extend_from_slice(b"IM");
        }
        h
    }

    pub fn word(w: u32, big_endian: bool) -> [u8; 4] {
        if big_endian {
            w.to_be_bytes()
        } else {
            w.to_le_bytes()
        }
    }

    /// A long-format element padded to 8 bytes.
    pub fn element(typ: u32, data: &[u8], big_endian: bool) -> Vec<u8> {
        let mut e = word(typ, big_endian).to_vec();
        e.extend_from_slice(&word(data.len() as u32, big_endian));
        e.extend_from_slice(data);
        e.resize(e.len() + (8 - data.len() % 8) % 8, 0);
        e
    }

    /// A matrix element of class `class` whose real part has data type `typ`.
    pub fn matrix(
        name: &str,
        class: u32,
        dims: &[i32],
        typ: u32,
        data: &[u8],
        big_endian: bool,
    ) -> Vec<u8> {
        let mut flags = word(class, big_endian).to_vec();
        flags.extend_from_slice(&[0; 4]);
        let dim_bytes: Vec<u8> = dims
            .iter()
            .flat_map(|&d| word(d as u32, big_endian))
            .collect();
        let mut body = element(6, &flags, big_endian);
        body.extend(element(5, &dim_bytes, big_endian));
        body.extend(element(1, name.as_bytes(), big_endian));
        body.extend(element(typ, data, big_endian));
        element(14, &body, big_endian)
    }

    pub fn doubles(values: &[f64], big_endian: bool) -> Vec<u8> {
        values
            .iter()
            .flat_map(|v| {
                if big_endian {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            })
            .collect()
    }

    /// Wraps a matrix element in a zlib-compressed element.
    pub fn compressed(matrix: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = libflate::zlib::Encoder::new(Vec::new()).expect("encoder");
        encoder.write_all(matrix).expect("compress");
        let stream = encoder.finish().into_result().expect("compress");
        let mut e = 15u32.to_le_bytes().to_vec();
        e.extend_from_slice(&(stream.len() as u32).to_le_bytes());
        e.extend(stream);
        e
    }
}

fn parse(bytes: &[u8]) -> Result<MatData, MatError> {
    parse_mat(bytes, Path::new("crafted.mat"))
}

fn malformed_reason(bytes: &[u8]) -> String {
    match parse(bytes) {
        Err(MatError::Malformed { reason, .. }) => reason,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn crafted_classes_convert_to_f64() {
    let mut file = craft::header(false, 0x0100);
    let singles: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    file.extend(craft::matrix("s", 7, &[1, 2], 7, &singles, false));
    let i16s: Vec<u8> = [-3i16, 4, 5].iter().flat_map(|v| v.to_le_bytes()).collect();
    file.extend(craft::matrix("i", 10, &[3, 1], 3, &i16s, false));
    // MATLAB stores small integer-valued doubles in the narrowest type that fits.
    file.extend(craft::matrix("d", 6, &[2, 1], 2, &[7, 255], false));
    let m = craft::matrix("z", 6, &[1, 1], 9, &craft::doubles(&[0.25], false), false);
    file.extend(craft::compressed(&m));
    let data = parse(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data.names(), ["s", "i", "d", "z"]);
    assert_eq!(data.arrays[0].real, [1.5, -2.0]);
    assert_eq!(data.arrays[1].real, [-3.0, 4.0, 5.0]);
    assert_eq!(data.arrays[2].real, [7.0, 255.0]);
    assert_eq!(data.arrays[3].real, [0.25]);
}

#[test]
fn crafted_big_endian_file_reads() {
    let mut file = craft::header(true, 0x0100);
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    file.extend(craft::matrix(
        "a",
        6,
        &[2, 3],
        9,
        &craft::doubles(&values, true),
        true,
    ));
    let data = parse(&file).unwrap_or_else(|e| panic!("{e}"));
    let a = data.get("a").cloned().unwrap_or_else(|| panic!("no a"));
    assert_eq!(a.shape, [2, 3]);
    assert_eq!(a.at(&[1, 2]), 6.0);
}

#[test]
fn crafted_non_numeric_variables_are_unsupported() {
    let mut file = craft::header(false, 0x0100);
    file.extend(craft::matrix("s", 2, &[1, 1], 5, &[0; 4], false));
    file.extend(craft::matrix("c", 4, &[1, 2], 4, &[104, 0, 105, 0], false));
    let ints: Vec<u8> = [7i32, -8].iter().flat_map(|v| v.to_le_bytes()).collect();
    file.extend(craft::matrix("n", 12, &[2, 1], 5, &ints, false));
    file.extend(craft::matrix(
        "ok",
        6,
        &[1, 1],
        9,
        &craft::doubles(&[1.0], false),
        false,
    ));
    let data = parse(&file).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(data.names(), ["ok"]);
    for (name, says) in [("s", "struct"), ("c", "char"), ("n", "int32")] {
        match data.require(name) {
            Err(MatError::Unsupported { reason, .. }) => assert!(reason.contains(says)),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn crafted_structural_errors_are_malformed() {
    let le = |w: u32| w.to_le_bytes();
    let base = craft::header(false, 0x0100);

    // Dimensions whose product overflows i32 (matfile 0.5 panics on this in debug).
    let mut f = base.clone();
    f.extend(craft::matrix("a", 6, &[65536, 65536, 2], 9, &[], false));
    assert!(malformed_reason(&f).contains("2^31"));

    // A tag declaring 4 GiB (matfile 0.5 overflows rounding it up to 8 bytes).
    let mut f = base.clone();
    f.extend(le(14));
    f.extend(le(u32::MAX));
    f.extend([0; 64]);
    assert!(malformed_reason(&f).contains("truncated"));

    let mut f = base.clone();
    f.extend(craft::matrix("a", 6, &[-1, 3], 9, &[0; 24], false));
    assert!(malformed_reason(&f).contains("negative"));

    let mut f = base.clone();
    f.extend(craft::matrix(
        "a",
        6,
        &[2, 2],
        9,
        &craft::doubles(&[1.0; 3], false),
        false,
    ));
    assert!(malformed_reason(&f).contains("holds 3 numbers"));

    let mut f = base.clone();
    f.extend(craft::element(16, b"text", false));
    assert!(malformed_reason(&f).contains("top level"));

    assert!(malformed_reason(&craft::header(false, 0x0200)).contains("v7.3"));
    assert!(malformed_reason(&[0; 128]).contains("no MAT v5 header"));

    // A compressed element whose stream is damaged.
    let m = craft::matrix("z", 6, &[1, 1], 9, &craft::doubles(&[0.25], false), false);
    let mut c = craft::compressed(&m);
    let last = c.len() - 1;
    c[last] ^= 0x55; // the Adler-32 checksum
    let mut f = base.clone();
    f.extend(c);
    assert!(malformed_reason(&f).contains("corrupt compressed data"));

    // A header alone is an empty, valid file.
    assert_eq!(parse(&base).map(|d| d.arrays.len()).ok(), Some(0));
}
