//! Front-end tests: the broken-input corpus (one diagnostic code and span per file),
//! "no input makes the front end panic" (generated inputs, deep nesting through the
//! CLI, truncated data files), a problem found nowhere in examples/ or stdlib/, the
//! golden residuals of every example, and every example passing `check`.
//!
//! `UPDATE_GOLDEN=1 cargo test --release --test frontend` rewrites tests/golden/.

use pdenet::check::Options;
use pdenet::describe;
use pdenet::diag::Diag;
use pdenet::pipeline::{self, Compiled};
use pdenet::problem::TensorShape;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(name: &str, base_dir: &Path) -> Options {
    Options {
        name: name.to_string(),
        base_dir: Some(base_dir.to_path_buf()),
        data_dirs: vec![root().join("examples/data")],
        ..Options::default()
    }
}

/// The `.pde` files directly in `dir`, sorted by name.
fn pde_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pde"))
        .collect();
    v.sort();
    v
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .expect("file stem")
        .to_string_lossy()
        .into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Runs the front end on a file, with its directory as the base for data files.
fn compile_file(p: &Path) -> Result<Compiled, Vec<Diag>> {
    let dir = p.parent().expect("parent directory");
    pipeline::front_end(&read(p), &options(&stem(p), dir))
}

fn show(text: &str, diags: &[Diag]) -> String {
    let mut s = String::new();
    for d in diags {
        let at = d
            .span()
            .map(|sp| format!("{:?}", text.get(sp.start..sp.end).unwrap_or("<bad span>")));
        s += &format!(
            "\n    {} at {} — {} (help: {})",
            d.code,
            at.unwrap_or_else(|| "<no label>".into()),
            d.message,
            d.help.as_deref().unwrap_or("-")
        );
    }
    s
}

/// Runs the CLI binary.
fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pdenet"))
        .args(args)
        .env_remove("PDENET_DATA")
        .output()
        .expect("the pdenet binary runs")
}

/// A fresh scratch directory under the system's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pdenet-frontend-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

// ------------------------------------------------------------------ 1. broken inputs

/// What a broken-input file expects: `# expect: CODE "TEXT"` on its first line,
/// optionally followed by `help "PART"` (a part of the diagnostic's help).
struct Expect {
    code: String,
    text: String,
    help: Option<String>,
}

fn expectation(text: &str) -> Option<Expect> {
    let line = text.lines().next()?.strip_prefix("# expect: ")?;
    let (code, rest) = line.split_once(' ')?;
    let (quoted, help) = match rest.rsplit_once(" help ") {
        Some((q, h)) => (q, Some(h.strip_prefix('"')?.strip_suffix('"')?.to_string())),
        None => (rest, None),
    };
    Some(Expect {
        code: code.to_string(),
        text: quoted.strip_prefix('"')?.strip_suffix('"')?.to_string(),
        help,
    })
}

#[test]
fn broken_inputs_get_their_diagnostic_at_their_span() {
    let files = pde_files(&root().join("tests/broken"));
    assert!(files.len() >= 45, "only {} broken-input files", files.len());
    let mut failures = Vec::new();
    let mut codes = std::collections::BTreeSet::new();
    for p in &files {
        let text = read(p);
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let Some(Expect {
            code,
            text: want,
            help,
        }) = expectation(&text)
        else {
            failures.push(format!("{name}: no `# expect: CODE \"TEXT\"` first line"));
            continue;
        };
        codes.insert(code.clone());
        let diags = match panic::catch_unwind(|| compile_file(p)) {
            Err(_) => {
                failures.push(format!("{name}: the front end panicked"));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!("{name}: accepted, expected {code} at {want:?}"));
                continue;
            }
            Ok(Err(diags)) => diags,
        };
        if let Some(d) = diags.iter().find(|d| d.labels.is_empty()) {
            failures.push(format!("{name}: {} has no label", d.code));
        }
        let hit = diags.iter().any(|d| {
            d.code == code
                && d.span()
                    .is_some_and(|s| text.get(s.start..s.end) == Some(want.as_str()))
                && help
                    .as_ref()
                    .is_none_or(|h| d.help.as_ref().is_some_and(|dh| dh.contains(h.as_str())))
        });
        if !hit {
            failures.push(format!(
                "{name}: expected {code} at {want:?} (help {help:?}), got:{}",
                show(&text, &diags)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} broken inputs failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    assert!(codes.len() >= 30, "only {} distinct codes", codes.len());
}

// ------------------------------------------------------------------ 2. no panic, ever

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const VOCABULARY: &[&str] = &[
    "domain",
    "field",
    "const",
    "param",
    "let",
    "def",
    "equation",
    "initial",
    "boundary",
    "periodic",
    "constraint",
    "network",
    "layer",
    "sample",
    "train",
    "reference",
    "data",
    "scheme",
    "on",
    "in",
    "∈",
    "if",
    "then",
    "else",
    "from",
    "to",
    "weight",
    "positive",
    "noise",
    "at",
    "last",
    "where",
    "integral",
    "∫",
    "complex",
    "x",
    "t",
    "y",
    "u",
    "v",
    "h",
    "ψ",
    "p",
    "u_t",
    "u_x",
    "u_xx",
    "u_xxxx",
    "ψ_xy",
    "λ1",
    "lambda2",
    "π",
    "pi",
    "i",
    "net",
    "d",
    "∂x",
    "sin",
    "exp",
    "tanh",
    "sech",
    "lap",
    "W",
    "b",
    "W1",
    "σ",
    "skip",
    "qres",
    "mlp",
    "apinn",
    "adam",
    "lbfgs",
    "irk",
    "stages",
    "width",
    "depth",
    "lr",
    "epochs",
    "activation",
    "collocation",
    "latin",
    "uniform",
    "dx",
    "normal",
    "std",
    "scalar",
    "\"burgers_shock.mat\"",
    "\"AC.mat\"",
    "\"nope.mat\"",
    "usol",
    "uu",
    "tt",
    "0",
    "1",
    "-1",
    "0.5",
    "1e-3",
    "1e999",
    "100",
    "10000",
    "0.0",
    "2.5e308",
    "=",
    "+",
    "-",
    "−",
    "*",
    "×",
    "/",
    "^",
    "·",
    "⊙",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "|",
    ",",
    ":",
    "~",
    "%",
    "<",
    "<=",
    "≥",
    "#",
    "\n",
    " ",
    "\t",
    "\"",
];

/// Characters a mutation may insert: ASCII, the language's own symbols, combining
/// marks, right-to-left text, astral planes, a byte-order mark, controls.
const ODD_CHARS: &[char] = &[
    'a',
    '_',
    '9',
    '.',
    '(',
    ')',
    '|',
    '"',
    '#',
    '\n',
    '∂',
    '∫',
    '∈',
    '·',
    '⊙',
    'λ',
    'ψ',
    'π',
    '−',
    '×',
    '≤',
    '\u{301}',
    '\u{200b}',
    '\u{202e}',
    '\u{feff}',
    'א',
    '中',
    '😀',
    '𝑥',
    '\u{7f}',
    '\u{1}',
    '\r',
    'ß',
    'İ',
    '\u{10ffff}',
];

/// A mutation of `base`: delete, duplicate or swap random spans, or insert odd
/// characters; several rounds.
fn mutate(rng: &mut Rng, base: &str) -> String {
    let mut cs: Vec<char> = base.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let n = cs.len();
        let a = rng.below(n + 1);
        let b = (a + 1 + rng.below(24)).min(n);
        match rng.below(5) {
            0 => {
                cs.drain(a..b);
            }
            1 => {
                let piece: Vec<char> = cs[a..b].to_vec();
                let at = rng.below(n + 1);
                cs.splice(at..at, piece);
            }
            2 => {
                let c = rng.below(n + 1);
                let d = (c + 1 + rng.below(24)).min(n);
                if b <= c {
                    let (first, second) = (cs[a..b].to_vec(), cs[c..d].to_vec());
                    cs.splice(c..d, first);
                    cs.splice(a..b, second);
                }
            }
            3 => {
                let at = rng.below(n + 1);
                let k = 1 + rng.below(3);
                let ins: Vec<char> = (0..k).map(|_| *rng.pick(ODD_CHARS)).collect();
                cs.splice(at..at, ins);
            }
            _ => {
                let at = rng.below(n + 1);
                let word: Vec<char> = format!(" {} ", rng.pick(VOCABULARY)).chars().collect();
                cs.splice(at..at, word);
            }
        }
    }
    cs.into_iter().collect()
}

fn token_soup(rng: &mut Rng) -> String {
    let n = 1 + rng.below(80);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(rng.pick::<&str>(VOCABULARY));
        if rng.below(3) > 0 {
            s.push(' ');
        }
    }
    s
}

fn random_bytes(rng: &mut Rng) -> String {
    let n = rng.below(300);
    let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs the front end on `text` and returns why it misbehaved, if it did: a panic,
/// or a label outside the text (which the CLI could not render).
fn misbehaves(text: &str, opts: &Options) -> Option<String> {
    match panic::catch_unwind(AssertUnwindSafe(|| pipeline::front_end(text, opts))) {
        Err(e) => {
            let what = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Some(format!("panicked: {what}"))
        }
        Ok(Ok(c)) => bad_labels(text, &c.warnings),
        Ok(Err(diags)) => bad_labels(text, &diags),
    }
}

fn bad_labels(text: &str, diags: &[Diag]) -> Option<String> {
    diags.iter().find_map(|d| {
        d.labels
            .iter()
            .find(|(s, _)| text.get(s.start..s.end).is_none())
            .map(|(s, _)| {
                format!(
                    "{}: label {s:?} outside the text or inside a character",
                    d.code
                )
            })
    })
}

/// Runs `f` on a thread with a big stack, as the CLI does.
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(f)
        .expect("spawn a worker thread")
        .join()
        .expect("the worker thread finished")
}

/// About 2000 generated inputs: random bytes, token soup, and mutations of every
/// example and stdlib file (with the example's directory for its data files).
fn generated_inputs() -> Vec<(String, PathBuf)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let examples = root().join("examples");
    let mut out = Vec::new();
    for _ in 0..250 {
        out.push((random_bytes(&mut rng), examples.clone()));
        out.push((token_soup(&mut rng), examples.clone()));
    }
    let mut bases = pde_files(&examples);
    bases.extend(pde_files(&root().join("stdlib")));
    for base in &bases {
        let text = read(base);
        for _ in 0..110 {
            out.push((mutate(&mut rng, &text), examples.clone()));
        }
    }
    out
}

#[test]
fn no_generated_input_makes_the_front_end_panic() {
    // The default hook would print a backtrace per panic; the report below says it.
    let inputs = generated_inputs();
    assert!(inputs.len() >= 2000, "{} inputs", inputs.len());
    let threads = std::thread::available_parallelism()
        .map_or(4, |n| n.get())
        .min(16);
    let chunks: Vec<Vec<(String, PathBuf)>> = (0..threads)
        .map(|k| inputs.iter().skip(k).step_by(threads).cloned().collect())
        .collect();
    let workers: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn(move || {
                    let mut bad = Vec::new();
                    for (text, dir) in chunk {
                        if let Some(why) = misbehaves(&text, &options("fuzz", &dir)) {
                            bad.push(format!("{why}\n--- input ---\n{text}\n-------------"));
                        }
                    }
                    bad
                })
                .expect("spawn a worker thread")
        })
        .collect();
    let bad: Vec<String> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a worker thread finished"))
        .collect();
    assert!(
        bad.is_empty(),
        "{} inputs misbehaved:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// `n` levels of nesting of each kind that recursion could choke on.
fn deep_inputs(n: usize) -> Vec<(&'static str, String)> {
    let pre = "domain x ∈ [-1, 1], t ∈ [0, 1]\nfield u(x, t)\n";
    vec![
        (
            "(",
            format!("{pre}equation {}u{} = 0", "(".repeat(n), ")".repeat(n)),
        ),
        ("(unclosed", format!("{pre}equation {}u = 0", "(".repeat(n))),
        (
            "[",
            format!("domain x ∈ {}-1, 1{}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "{",
            format!(
                "{pre}data \"AC.mat\" {}x = x{}",
                "{".repeat(n),
                "}".repeat(n)
            ),
        ),
        (
            "|",
            format!("{pre}equation {}u{} = 0", "|".repeat(n), "|".repeat(n)),
        ),
        ("-", format!("{pre}equation {}u = 0", "-".repeat(n))),
        ("- -", format!("{pre}equation {}u = 0", "- ".repeat(n))),
        (
            "sin(",
            format!("{pre}equation {}u{} = 0", "sin(".repeat(n), ")".repeat(n)),
        ),
        (
            "∂x(",
            format!("{pre}equation {}u{} = 0", "∂x(".repeat(n), ")".repeat(n)),
        ),
        (
            "if",
            format!(
                "{pre}equation {}0{} = 0",
                "if x < 1 then ".repeat(n),
                " else 1".repeat(n)
            ),
        ),
        ("+", format!("{pre}equation u{} = 0", "+u".repeat(n))),
        ("^", format!("{pre}equation u{} = 0", "^u".repeat(n))),
        (
            "*",
            format!("{pre}equation u{} = 0", "*(u".repeat(n) + &")".repeat(n)),
        ),
    ]
}

/// Deep nesting could overflow the stack, which aborts the process rather than
/// panicking, so these go through the CLI as a subprocess: a diagnostic and exit
/// status 1, never a signal.
#[test]
fn deep_nesting_through_the_cli_is_a_diagnostic() {
    let dir = scratch("deep");
    let mut bad = Vec::new();
    for n in [5_000, 100_000] {
        for (kind, text) in deep_inputs(n) {
            let path = dir.join("deep.pde");
            std::fs::write(&path, &text).expect("write the input");
            let out = cli(&["check", path.to_str().expect("UTF-8 path")]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.code() != Some(1) || !stderr.contains("pdenet::") {
                bad.push(format!(
                    "{n} × {kind}: status {:?}, stderr {}",
                    out.status,
                    stderr.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn front_end_codes(text: &str) -> Vec<&'static str> {
    let text = text.to_string();
    on_big_stack(
        move || match pipeline::front_end(&text, &options("x", &root())) {
            Ok(_) => Vec::new(),
            Err(diags) => diags.iter().map(|d| d.code).collect(),
        },
    )
}

#[test]
fn nul_bytes_and_huge_files_are_diagnostics() {
    let codes = front_end_codes("domain x ∈ [0, 1]\nfield u(x)\nequation u\0 = 0\n");
    assert_eq!(codes, ["pdenet::syntax::nul_byte"]);
    let line = "# a comment line that pads the file to two megabytes ..................\n";
    let huge = line.repeat((2 << 20) / line.len() + 1);
    assert_eq!(front_end_codes(&huge), ["pdenet::syntax::too_large"]);
    // A huge file of real statements, through the CLI.
    let dir = scratch("huge");
    let path = dir.join("huge.pde");
    let stmt = "const c = 1 + 2*3 - 4/5\n";
    std::fs::write(&path, stmt.repeat((2 << 20) / stmt.len() + 1)).expect("write");
    let out = cli(&["check", path.to_str().expect("UTF-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pdenet::syntax::too_large"));
}

#[test]
fn invalid_utf8_through_the_cli_is_a_diagnostic() {
    let dir = scratch("utf8");
    let cases: [&[u8]; 4] = [
        b"domain x \xff [0, 1]\n",
        b"\xff",
        b"field u(x, t)\nequation u_t = \xe2\x88",
        b"\xc0\x80\xed\xa0\x80 # overlong and surrogate",
    ];
    for bytes in cases {
        let path = dir.join("bad.pde");
        std::fs::write(&path, bytes).expect("write");
        let out = cli(&["check", path.to_str().expect("UTF-8 path")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bytes:?}: {stderr}");
        assert!(
            stderr.contains("pdenet::syntax::invalid_utf8"),
            "{bytes:?}: {stderr}"
        );
    }
}

#[test]
fn truncated_data_files_are_unreadable_not_a_panic() {
    let full = std::fs::read(root().join("examples/data/burgers_shock.mat")).expect("read");
    let dir = scratch("truncated");
    for percent in [10, 50, 99] {
        let name = format!("burgers_{percent}.mat");
        std::fs::write(dir.join(&name), &full[..full.len() * percent / 100]).expect("write");
        let text = format!(
            "domain x ∈ [-1, 1], t ∈ [0, 1]\nfield u(x, t)\nequation u_t + u*u_x = 0\n\
             network mlp(width = 4, depth = 1, activation = tanh)\n\
             data \"{name}\" {{ x = x, t = t, u = usol[x, t] }} sample 100\n"
        );
        let opts = Options {
            name: "truncated".into(),
            base_dir: Some(dir.clone()),
            data_dirs: Vec::new(),
            ..Options::default()
        };
        let result = panic::catch_unwind(|| pipeline::front_end(&text, &opts));
        let diags = match result {
            Ok(Err(diags)) => diags,
            Ok(Ok(_)) => panic!("{percent} %: a truncated file was accepted"),
            Err(_) => panic!("{percent} %: the front end panicked"),
        };
        assert!(
            diags
                .iter()
                .any(|d| d.code == "pdenet::check::data_unreadable"),
            "{percent} %:{}",
            show(&text, &diags)
        );
        let path = dir.join("t.pde");
        std::fs::write(&path, &text).expect("write");
        let out = cli(&["check", path.to_str().expect("UTF-8 path")]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("pdenet::check::data_unreadable"));
    }
}

// ------------------------------------------------------------------ 3. not fitted to the examples

#[test]
fn a_problem_and_layer_found_nowhere_in_the_examples() {
    let path = root().join("tests/novel/gated_kuramoto.pde");
    let c = compile_file(&path).unwrap_or_else(|d| panic!("rejected:{}", show(&read(&path), &d)));
    assert_eq!(
        describe::residuals(&c),
        "equation: u_t + α*u*u_x + β*u_xx + γ*u_xxxx    needs u, u_t, u_x, u_xx, u_xxxx\n\
         initial: u - sin(3.141592653589793*x)^2    needs u\n\
         boundary x = 0: u    needs u\n\
         boundary x = 1: u_x    needs u_x\n"
    );
    let p = &c.problem;
    let weights: Vec<(&str, f64)> = p
        .terms
        .iter()
        .map(|t| (t.name.as_str(), t.weight))
        .collect();
    assert_eq!(
        weights,
        [
            ("equation", 2.0),
            ("initial", 1.0),
            ("boundary x = 0", 1.0),
            ("boundary x = 1", 1.0)
        ]
    );
    let params: Vec<&str> = p.params.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(params, ["α", "β", "γ"]);
    // Three hidden gated layers and the `last` variant: W, b, V, c where the body
    // uses them, W and b only in the last layer.
    let net = &p.networks[0];
    assert_eq!(net.kind, "gated");
    type Shape<'a> = (usize, usize, Vec<(&'a str, TensorShape)>);
    let shapes: Vec<Shape> = net
        .layers
        .iter()
        .map(|l| {
            let ts = l
                .tensors
                .iter()
                .map(|t| (t.name.as_str(), t.shape))
                .collect();
            (l.inputs, l.outputs, ts)
        })
        .collect();
    let gated = |i| {
        let ts = vec![
            ("W", TensorShape::Matrix),
            ("b", TensorShape::Vector),
            ("V", TensorShape::Matrix),
            ("c", TensorShape::Vector),
        ];
        (i, 12, ts)
    };
    let last = (
        12,
        1,
        vec![("W", TensorShape::Matrix), ("b", TensorShape::Vector)],
    );
    assert_eq!(shapes, [gated(2), gated(12), gated(12), last]);
    // 2·12·2 + 12·2, then (12·12 + 12)·2 twice, then 12 + 1.
    assert_eq!(net.param_count(), 72 + 312 + 312 + 13);
    let kinds: Vec<&str> = net.layers.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["gated", "gated", "gated", "gated.last"]);
}

// ------------------------------------------------------------------ 4. golden residuals

#[test]
fn residuals_of_every_example_match_their_golden_file() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let golden = root().join("tests/golden");
    let mut bad = Vec::new();
    let examples = pde_files(&root().join("examples"));
    assert!(examples.len() >= 11, "{} examples", examples.len());
    for p in &examples {
        let c =
            compile_file(p).unwrap_or_else(|d| panic!("{}:{}", p.display(), show(&read(p), &d)));
        let got = describe::residuals(&c);
        let file = golden.join(format!("{}.residual", stem(p)));
        if update {
            std::fs::create_dir_all(&golden).expect("create tests/golden");
            std::fs::write(&file, &got).expect("write a golden file");
            continue;
        }
        match std::fs::read_to_string(&file) {
            Ok(want) if want == got => {}
            Ok(want) => bad.push(format!("{}:\n--- golden\n{want}--- now\n{got}", stem(p))),
            Err(e) => bad.push(format!(
                "{}: {e} (UPDATE_GOLDEN=1 writes it)",
                file.display()
            )),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `∂n(u)` on the faces of a box domain is the derivative along each face's outward
/// normal: −u_x on x = 0, +u_x on x = 1, −u_t on t = 0; a residual without `n` is the
/// same on every face.
#[test]
fn the_normal_derivative_on_box_faces_points_outwards() {
    let src = "domain x ∈ [0, 1], t ∈ [0, 1]\nfield u(x, t)\nequation u_t = u_xx\n\
               boundary ∂n(u) = 0 on x = 0, x = 1\ninitial d(u, n) + u = 1 on t = 0\n\
               network mlp(width = 8, depth = 2, activation = tanh)\n";
    let c = pipeline::front_end(src, &options("normals", &root())).unwrap_or_else(|d| {
        panic!("{}", show(src, &d));
    });
    let r = describe::residuals(&c);
    let line = |name: &str| {
        r.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in\n{r}"))
            .split("    needs")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(line("boundary x = 0:"), "boundary x = 0: -u_x");
    assert_eq!(line("boundary x = 1:"), "boundary x = 1: u_x");
    assert_eq!(line("initial:"), "initial: -u_t + u - 1");
}

/// `initial u = …, v = … on t = 0` is the same as one statement per field: the same
/// terms, names, weights and residuals, in the order written.
#[test]
fn one_condition_statement_may_list_several_fields() {
    let head = "domain x ∈ [0, 1], t ∈ [0, 1]\nfield u(x, t), v(x, t)\n\
                equation u_t - v_x = 0\nequation v_t - u_x = 0\n";
    let tail = "network mlp(width = 8, depth = 2, activation = tanh)\n";
    let one = "initial u = sin(π*x), v = 0, u_t = 0 on t = 0 weight 10\n\
               boundary u = 0, v_x = 0 on x = 0, x = 1\n";
    let many = "initial u = sin(π*x) on t = 0 weight 10\ninitial v = 0 on t = 0 weight 10\n\
                initial u_t = 0 on t = 0 weight 10\nboundary u = 0 on x = 0, x = 1\n\
                boundary v_x = 0 on x = 0, x = 1\n";
    let compiled = |conds: &str| {
        let src = format!("{head}{conds}{tail}");
        let c = pipeline::front_end(&src, &options("multi", &root()))
            .unwrap_or_else(|d| panic!("{}", show(&src, &d)));
        let terms: Vec<(String, f64)> = (c.problem.terms.iter())
            .map(|t| (t.name.clone(), t.weight))
            .collect();
        (terms, describe::residuals(&c))
    };
    let (terms, residuals) = compiled(one);
    assert_eq!((terms.clone(), residuals), compiled(many));
    assert_eq!(terms.len(), 9, "{terms:?}");
    assert!(terms
        .iter()
        .any(|(n, w)| n == "initial t = 0 (u_t)" && *w == 10.0));
}

/// A field over fewer coordinates gets its own network over them: `a(x)` beside
/// `u(x, t)` is one value per x whatever t is, and its t-derivatives are zero.
#[test]
fn a_field_over_fewer_coordinates_has_its_own_network() {
    let src = "domain x ∈ [0, 1], t ∈ [0, 1]\nfield u(x, t), a(x), v(t, x)\n\
               let w = a*u\nequation u_t = d(a*u_x, x) + w_t + v\n\
               boundary a = 1 + x on x = 0, x = 1\ninitial u = sin(π*x) on t = 0\n\
               network mlp(width = 8, depth = 2, activation = tanh)\n";
    let c = pipeline::front_end(src, &options("two_networks", &root())).unwrap_or_else(|d| {
        panic!("{}", show(src, &d));
    });
    let p = &c.problem;
    let nets: Vec<(Vec<usize>, Vec<&str>, usize)> = p
        .networks
        .iter()
        .map(|n| {
            let inputs = n.inputs.iter().map(|c| c.0).collect();
            let outputs = n.outputs.iter().map(String::as_str).collect();
            (inputs, outputs, n.param_count())
        })
        .collect();
    // (x, t) → 8 → 8 → (u, v): 2·8 + 8, 8·8 + 8, 8·2 + 2; x → 8 → 8 → a: 8 + 8, 72, 9.
    assert_eq!(
        nets,
        [
            (vec![0, 1], vec!["u", "v"], 24 + 72 + 18),
            (vec![0], vec!["a"], 16 + 72 + 9)
        ]
    );
    // w_t = a·u_t: the product rule's a_t term is zero.
    let equation = describe::residuals(&c)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        equation.contains("a_x") && !equation.contains("a_t"),
        "{equation}"
    );
    // a is the same at every t; u is not.
    let theta = pdenet::net::init_theta(p, 7);
    let coords = vec![vec![0.3, 0.3, 0.8], vec![0.1, 0.9, 0.5]];
    let values: Vec<Vec<f64>> = ["u", "a"]
        .iter()
        .map(|name| {
            let f = p.fields.iter().find(|f| f.name == *name).expect("a field");
            let got = pdenet::kernel::predict(p, &theta, &coords, std::slice::from_ref(&f.value));
            got.expect("predicts").remove(0)
        })
        .collect();
    assert_ne!(values[0][0], values[0][1]);
    assert_eq!(values[1][0], values[1][1]);
}

/// `first` gives the first layer its own body: the stdlib's `fourier` starts with
/// sin(F·h + c), F drawn with std 10, then its plain body; a file's layer may do the
/// same.
#[test]
fn a_first_body_shapes_the_first_layer_only() {
    let c = compile_file(&root().join("tests/gpu/fourier.pde")).expect("fourier checks");
    let net = &c.problem.networks[0];
    let kinds: Vec<&str> = net.layers.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["fourier.first", "fourier", "fourier.last"]);
    let names: Vec<Vec<&str>> = net
        .layers
        .iter()
        .map(|l| l.tensors.iter().map(|t| t.name.as_str()).collect())
        .collect();
    assert_eq!(names, [vec!["F", "c"], vec!["W", "b"], vec!["W", "b"]]);
    assert_eq!(
        net.layers[0].tensors[0].init,
        pdenet::problem::Init::Normal(10.0)
    );
    // 2·6 + 6, 6·6 + 6, 6 + 1.
    assert_eq!(net.param_count(), 18 + 42 + 7);
    let src = "domain x ∈ [0, 1]\nfield u(x)\nequation u_xx = 0\n\
               boundary u = x on x = 0, x = 1\n\
               layer wave(h) = σ(W·h + b)\n    first = cos(V·h)\n\
               network wave(width = 4, depth = 1, activation = tanh)\n";
    let c = pipeline::front_end(src, &options("one_layer", &root())).unwrap_or_else(|d| {
        panic!("{}", show(src, &d));
    });
    let kinds: Vec<&str> = c.problem.networks[0]
        .layers
        .iter()
        .map(|l| l.kind.as_str())
        .collect();
    assert_eq!(kinds, ["wave.first", "wave.last"]);
}

#[test]
fn burgers_residual_is_the_textbook_one() {
    let c = compile_file(&root().join("examples/burgers.pde")).expect("burgers checks");
    let r = describe::residuals(&c);
    let first = r.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "equation: u_t + u*u_x - 0.003183098861837907*u_xx    needs u, u_t, u_x, u_xx"
    );
}

// ------------------------------------------------------------------ 5. every example checks

#[test]
fn every_example_passes_check_in_process_and_through_the_cli() {
    let mut counts = Vec::new();
    let collections = [root().join("examples"), root().join("examples/pinnacle")];
    for p in collections.iter().flat_map(|d| pde_files(d)) {
        let c =
            compile_file(&p).unwrap_or_else(|d| panic!("{}:{}", p.display(), show(&read(&p), &d)));
        assert!(
            c.warnings.is_empty(),
            "{}: warnings{}",
            p.display(),
            show(&read(&p), &c.warnings)
        );
        counts.push((stem(&p), c.problem.network_params()));
        let data = root().join("examples/data");
        let out = cli(&[
            "check",
            p.to_str().expect("UTF-8 path"),
            "--data-dir",
            data.to_str().expect("UTF-8 path"),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with(&format!("{}: ok", stem(&p))), "{stdout}");
        let weights = format!("{} weights", c.problem.network_params());
        assert!(stdout.contains(&weights), "{stdout}");
    }
    for (name, want) in [
        ("burgers", 1541),
        ("schrodinger", 15602),
        ("allen_cahn", 25501),
    ] {
        let got = counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c);
        assert_eq!(got, Some(want), "{name}");
    }
}

#[test]
fn adam_decay_reads_as_a_step_decay_of_the_learning_rate() {
    use pdenet::problem::{Decay, Phase};
    let base = read(&root().join("tests/broken/26_unknown_optimizer.pde"));
    let body: Vec<&str> = base
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("train"))
        .collect();
    let training = |train: &str| {
        let text = format!("{}\n{train}\n", body.join("\n"));
        let compiled = pipeline::front_end(&text, &options("decay", &root()))
            .unwrap_or_else(|d| panic!("{train}:{}", show(&text, &d)));
        compiled.problem.training
    };
    let decay = |train: &str| match training(train).first() {
        Some(Phase::Adam { decay, .. }) => *decay,
        other => panic!("{train}: {other:?}"),
    };
    assert_eq!(
        decay("train adam(lr = 1e-3, epochs = 100, decay = 0.9, every = 1000) then lbfgs"),
        Some(Decay {
            rate: 0.9,
            every: 1000
        })
    );
    assert_eq!(
        decay("train adam(decay = 0.5)"),
        Some(Decay {
            rate: 0.5,
            every: 1
        })
    );
    assert_eq!(decay("train adam(lr = 1e-3)"), None);
}

/// The stdlib's KAN and PDE layers have the parameters their definitions say, counted
/// by hand for a 2 → w → w → w → 1 network (w = 6, depth 3; e = edges per layer).
#[test]
fn kan_and_pde_layers_have_their_hand_counted_parameters() {
    let (w, i, o) = (6, 2, 1);
    // Edges of the four layers and the outputs of each.
    let edges = i * w + 2 * w * w + w * o;
    let outs = 3 * w + o;
    let pde_ends = (i * w + w) + (w * o + o);
    let cases = [
        ("cheb_kan", 4 * edges + outs),       // C[1..4] and a bias
        ("fourier_kan", 8 * edges + outs),    // A[1..4], B[1..4], a bias
        ("bspline_kan", 9 * edges),           // Wb and C[0..7]
        ("bspline5_kan", 11 * edges),         // Wb and C[0..9]
        ("qkan", 8 * edges),                  // β[0..2], w[1..2], c[1..2], s per edge
        ("pde2", pde_ends + 2 * (3 + w)),     // α, β, γ and b in the two middle layers
        ("stencil3", pde_ends + 2 * (3 + w)), // K[−1..1] and b
    ];
    for (kind, want) in cases {
        let src = format!(
            "domain x ∈ [0, 1], t ∈ [0, 1]\nfield u(x, t)\nequation u_t = u_xx\n\
             network {kind}(width = {w}, depth = 3)\n"
        );
        let c = pipeline::front_end(&src, &options(kind, &root()))
            .unwrap_or_else(|d| panic!("{}", show(&src, &d)));
        assert_eq!(c.problem.networks[0].param_count(), want, "{kind}");
    }
}
