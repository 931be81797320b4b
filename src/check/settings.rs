//! The `network`, `sample`, `train` and `scheme` statements: hyper-parameters with
//! their ranges checked.

use super::Checker;
use crate::backend::Precision;
use crate::diag::{suggest, Diag};
use crate::io::machine;
use crate::problem::{
    Balance, BalanceRule, Causal, CausalSet, Decay, DenseRule as Rule, LossTerm, Phase, PointKind,
    PointSet, Reduce, Sampling, Scheme, SelfAdaptive,
};
use crate::syntax::ast::{self, Span, StatementKind};

#[derive(Debug, Clone)]
pub(crate) struct NetworkSpec {
    pub kind: ast::Ident,
    pub width: usize,
    pub depth: usize,
    /// The activation's name (a primitive or a one-argument `def`).
    pub activation: ast::Ident,
    pub span: Span,
}

/// Point counts per kind of term, as `sample` gives them (or the defaults).
#[derive(Debug, Clone)]
pub(crate) struct Samples {
    /// `None`: no `sample collocation`; with data, the equations use the data points.
    pub collocation: Option<(usize, Sampling)>,
    pub initial: (usize, Sampling),
    pub boundary: (usize, Sampling),
    pub periodic: (usize, Sampling),
    pub constraint: usize,
    /// `rad(...)` on the collocation set, with where it was written.
    pub rad: Option<(Rad, Span)>,
}

/// A checked `rad(every = …, k = …, c = …, candidates = …)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rad {
    pub every: usize,
    pub k: f64,
    pub c: f64,
    /// `None`: ten times the set's points.
    pub candidates: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub network: Option<NetworkSpec>,
    pub samples: Samples,
    pub training: Vec<Phase>,
    /// Where each phase of `training` was written (empty for the default training).
    pub training_spans: Vec<Span>,
}

/// A checked `scheme` with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct SchemeSpec {
    pub scheme: Scheme,
    pub span: Span,
}

const SAMPLE_TARGETS: [&str; 5] = [
    "collocation",
    "initial",
    "boundary",
    "periodic",
    "constraint",
];
const SAMPLING_METHODS: [&str; 4] = ["latin", "uniform", "grid", "halton"];

pub(crate) fn read(cx: &mut Checker, file: &ast::File) -> Settings {
    let mut settings = Settings {
        network: None,
        samples: Samples {
            collocation: None,
            initial: (100, Sampling::Uniform),
            boundary: (100, Sampling::Uniform),
            periodic: (100, Sampling::Uniform),
            constraint: 256,
            rad: None,
        },
        training: default_training(),
        training_spans: Vec::new(),
    };
    let mut seen: Vec<(&'static str, Span)> = Vec::new();
    for st in &file.statements {
        let once = match &st.kind {
            StatementKind::Network(_) => "network",
            StatementKind::Sample(_) => "sample",
            StatementKind::Train(_) => "train",
            StatementKind::Scheme { .. } => "scheme",
            _ => continue,
        };
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == once) {
            let first = *first;
            cx.error(
                Diag::error(
                    "pdenet::check::duplicate_statement",
                    format!("more than one `{once}` statement"),
                )
                .label(st.span, "again here")
                .label(first, "first here")
                .help(format!("merge them into one `{once}`")),
            );
            continue;
        }
        seen.push((once, st.span));
        match &st.kind {
            StatementKind::Network(call) => settings.network = cx.network_spec(call),
            StatementKind::Sample(items) => cx.samples(items, &mut settings.samples),
            StatementKind::Train(phases) => {
                (settings.training, settings.training_spans) =
                    cx.training(phases).into_iter().unzip()
            }
            _ => {}
        }
    }
    if settings.network.is_none() && !seen.iter().any(|(k, _)| *k == "network") {
        cx.error(
            Diag::error("pdenet::check::no_network", "the file declares no network")
                .label(
                    super::end_of_file(file),
                    "no `network` statement in the file",
                )
                .help("add e.g. `network qres(width = 10, depth = 8, activation = tanh)`"),
        );
    }
    settings
}

fn default_training() -> Vec<Phase> {
    vec![
        Phase::Adam {
            lr: 1e-3,
            epochs: 5000,
            beta1: 0.9,
            beta2: 0.999,
            decay: None,
            cosine: None,
            warmup: 0,
            precision: None,
            balance: None,
            causal: None,
            self_adaptive: None,
        },
        Phase::Lbfgs {
            iterations: 50_000,
            tol: 1e-12,
            history: 50,
            precision: None,
        },
    ]
}

impl Checker<'_> {
    /// Checks that every argument is one of `known`; reports the others.
    fn known_args(&mut self, call: &ast::CallArgs, known: &[&str]) {
        for a in &call.args {
            if !known.contains(&a.name.name.as_str()) {
                let d = Diag::error(
                    "pdenet::check::unknown_argument",
                    format!("`{}` takes no argument `{}`", call.name.name, a.name.name),
                )
                .label(a.name.span, "unknown argument");
                let d = match suggest(&a.name.name, known.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("it takes {}", known.join(", "))),
                };
                self.error(d);
            }
        }
    }

    fn arg<'c>(call: &'c ast::CallArgs, name: &str) -> Option<&'c ast::Expr> {
        call.args
            .iter()
            .find(|a| a.name.name == name)
            .map(|a| &a.value)
    }

    fn network_spec(&mut self, call: &ast::CallArgs) -> Option<NetworkSpec> {
        self.known_args(call, &["width", "depth", "activation"]);
        if !self.layers.contains_key(&call.name.name) {
            let kinds: Vec<&str> = self.layers.keys().map(String::as_str).collect();
            let d = Diag::error(
                "pdenet::check::unknown_layer",
                format!("unknown network kind `{}`", call.name.name),
            )
            .label(call.name.span, "no layer of this name");
            let mut sorted = kinds.clone();
            sorted.sort();
            let d = match suggest(&call.name.name, kinds) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "known kinds: {}; or define one with `layer`",
                    sorted.join(", ")
                )),
            };
            self.error(d);
        }
        let width = match Self::arg(call, "width") {
            Some(e) => self.count(e, "the width", 1.0),
            None => Some(20),
        };
        let depth = match Self::arg(call, "depth") {
            Some(e) => self.count(e, "the depth", 1.0),
            None => Some(4),
        };
        let activation = match Self::arg(call, "activation") {
            Some(ast::Expr {
                kind: ast::ExprKind::Name(n),
                span,
            }) => ast::Ident {
                name: n.clone(),
                span: *span,
            },
            Some(e) => {
                self.error(
                    Diag::error(
                        "pdenet::check::bad_activation",
                        "the activation must be a function name",
                    )
                    .label(e.span, "not a name")
                    .help("write e.g. `activation = tanh` or the name of a one-argument `def`"),
                );
                return None;
            }
            None => ast::Ident {
                name: "tanh".into(),
                span: call.span,
            },
        };
        Some(NetworkSpec {
            kind: call.name.clone(),
            width: width?,
            depth: depth?,
            activation,
            span: call.span,
        })
    }

    fn samples(&mut self, items: &[ast::SampleItem], samples: &mut Samples) {
        for item in items {
            let target = item.target.name.as_str();
            if !SAMPLE_TARGETS.contains(&target) {
                let d = Diag::error(
                    "pdenet::check::unknown_sample",
                    format!("cannot sample points for `{target}`"),
                )
                .label(item.target.span, "unknown point set");
                let d = match suggest(target, SAMPLE_TARGETS) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help(format!("point sets: {}", SAMPLE_TARGETS.join(", "))),
                };
                self.error(d);
                continue;
            }
            let Some(n) = self.count(&item.count, "a point count", 1.0) else {
                continue;
            };
            let method = match &item.method {
                None if target == "collocation" => Sampling::Latin,
                None => Sampling::Uniform,
                Some(m) => match m.name.as_str() {
                    "latin" => Sampling::Latin,
                    "uniform" => Sampling::Uniform,
                    "grid" => Sampling::Grid,
                    "halton" => Sampling::Halton,
                    other => {
                        let d = Diag::error(
                            "pdenet::check::unknown_sampling",
                            format!("unknown sampling method `{other}`"),
                        )
                        .label(m.span, "not a sampling method");
                        let d = match suggest(other, SAMPLING_METHODS) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help("use latin, uniform or grid"),
                        };
                        self.error(d);
                        continue;
                    }
                },
            };
            if let Some(adapt) = &item.adapt {
                match self.rad(adapt, target) {
                    Some(rad) => samples.rad = Some((rad, adapt.span)),
                    None => continue,
                }
            }
            match target {
                "collocation" => samples.collocation = Some((n, method)),
                "initial" => samples.initial = (n, method),
                "boundary" => samples.boundary = (n, method),
                "periodic" => samples.periodic = (n, method),
                _ => samples.constraint = n,
            }
        }
    }

    /// `rad(every = …, k = …, c = …, candidates = …)` on the collocation set: the
    /// only set whose points carry the equations' residual to resample by.
    fn rad(&mut self, call: &ast::CallArgs, target: &str) -> Option<Rad> {
        if call.name.name != "rad" {
            let d = Diag::error(
                "pdenet::check::unknown_resampling",
                format!("unknown resampling rule `{}`", call.name.name),
            )
            .label(call.name.span, "not a resampling rule")
            .help("the residual-based rule is rad(every = 500, k = 1, c = 1)");
            self.error(d);
            return None;
        }
        if target != "collocation" {
            self.error(
                Diag::error(
                    "pdenet::check::rad_without_residual",
                    format!("`{target}` points cannot be resampled by the equations' residual"),
                )
                .label(call.span, "only collocation points carry the equations' residual")
                .help("move `rad(...)` to the collocation set: `sample collocation 10000 latin rad(every = 500)`"),
            );
            return None;
        }
        self.known_args(call, &["every", "k", "c", "candidates"]);
        let count = |cx: &mut Self, name, what, default: Option<usize>| match Self::arg(call, name)
        {
            Some(e) => cx.count(e, what, 1.0).map(Some),
            None => Some(default),
        };
        let every = count(self, "every", "`every` (steps between redraws)", Some(500));
        let candidates = count(self, "candidates", "the candidate points", None);
        let num = |cx: &mut Self, name, default| match Self::arg(call, name) {
            Some(e) => cx.in_range(e, name, 0.0, 1e6, true),
            None => Some(default),
        };
        let (k, c) = (num(self, "k", 1.0), num(self, "c", 1.0));
        Some(Rad {
            every: every??,
            k: k?,
            c: c?,
            candidates: candidates?,
        })
    }

    fn training(&mut self, phases: &[ast::CallArgs]) -> Vec<(Phase, Span)> {
        let mut out = Vec::new();
        for call in phases {
            let name = call.name.name.as_str();
            let phase = match name {
                "adam" => self.adam(call),
                "lbfgs" => self.lbfgs(call),
                _ => match Rule::ALL.into_iter().find(|r| r.name() == name) {
                    Some(rule) => self.dense(call, rule),
                    None => {
                        self.unknown_optimizer(call);
                        None
                    }
                },
            };
            out.extend(phase.map(|p| (p, call.span)));
        }
        out
    }

    fn unknown_optimizer(&mut self, call: &ast::CallArgs) {
        let other = call.name.name.as_str();
        let d = Diag::error(
            "pdenet::check::unknown_optimizer",
            format!("unknown optimizer `{other}`"),
        )
        .label(call.name.span, "not an optimizer");
        let names = || {
            ["adam", "lbfgs"]
                .into_iter()
                .chain(Rule::ALL.map(Rule::name))
        };
        let d = match suggest(other, names()) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!(
                "the optimizers are {}; e.g. adam(lr = …, epochs = …) then ssbroyden(iterations = …)",
                names().collect::<Vec<_>>().join(", ")
            )),
        };
        self.error(d);
    }

    /// `adam(lr = …, epochs = …, beta1 = …, beta2 = …, decay = γ, every = k)`.
    fn adam(&mut self, call: &ast::CallArgs) -> Option<Phase> {
        self.known_args(
            call,
            &[
                "lr",
                "epochs",
                "beta1",
                "beta2",
                "decay",
                "every",
                "cosine",
                "warmup",
                "precision",
                "balance",
                "balance_every",
                "balance_alpha",
                "causal",
                "causal_chunks",
                "causal_every",
                "self_adaptive",
                "self_adaptive_every",
            ],
        );
        let num = |cx: &mut Self, name, default, lo, hi, inclusive| match Self::arg(call, name) {
            Some(e) => cx.in_range(e, name, lo, hi, inclusive),
            None => Some(default),
        };
        let lr = num(self, "lr", 1e-3, 0.0, 1e6, false);
        let beta1 = num(self, "beta1", 0.9, 0.0, 1.0, true);
        let beta2 = num(self, "beta2", 0.999, 0.0, 1.0, true);
        let epochs = match Self::arg(call, "epochs") {
            Some(e) => self.count(e, "the number of epochs", 0.0),
            None => Some(5000),
        };
        let decay = self.decay(call);
        let cosine = self.cosine(call, lr?);
        let warmup = match Self::arg(call, "warmup") {
            Some(e) => self.count(e, "the warm-up epochs", 0.0),
            None => Some(0),
        };
        Some(Phase::Adam {
            lr: lr?,
            epochs: epochs?,
            beta1: beta1?,
            beta2: beta2?,
            decay: decay?,
            cosine: cosine?,
            warmup: warmup?,
            precision: self.precision(call)?,
            balance: self.balance(call)?,
            causal: self.causal(call)?,
            self_adaptive: self.self_adaptive(call)?,
        })
    }

    /// `self_adaptive = η, self_adaptive_every = k` of `adam`. `Some(None)` without
    /// `self_adaptive`; `None` after an error.
    fn self_adaptive(&mut self, call: &ast::CallArgs) -> Option<Option<SelfAdaptive>> {
        let Some(e) = Self::arg(call, "self_adaptive") else {
            let help =
                "add `self_adaptive = 5e-3` (the weights' learning rate), or remove the setting";
            let alone = self.tuning_alone(
                call,
                (
                    "self_adaptive",
                    "pdenet::check::self_adaptive_setting_alone",
                ),
                "a self-adaptive weighting",
                help,
            );
            return (!alone).then_some(None);
        };
        let lr = self.in_range(e, "self_adaptive", 0.0, 1e6, false);
        let every = match Self::arg(call, "self_adaptive_every") {
            Some(e) => self.count(e, "`self_adaptive_every`", 1.0),
            None => Some(10),
        };
        Some(Some(SelfAdaptive {
            lr: lr?,
            every: every?,
        }))
    }

    /// `causal = ε, causal_chunks = M, causal_every = k` of `adam`. `Some(None)`
    /// without `causal`; `None` after an error.
    fn causal(&mut self, call: &ast::CallArgs) -> Option<Option<Causal>> {
        let Some(e) = Self::arg(call, "causal") else {
            let help = "add `causal = 1.0` (the tolerance ε), or remove the setting";
            let alone = self.tuning_alone(
                call,
                ("causal", "pdenet::check::causal_setting_alone"),
                "a causal weighting",
                help,
            );
            return (!alone).then_some(None);
        };
        let tol = self.in_range(e, "causal", 0.0, 1e6, false);
        let count = |cx: &mut Self, name, what, default| match Self::arg(call, name) {
            Some(e) => cx.count(e, what, 1.0),
            None => Some(default),
        };
        let chunks = count(self, "causal_chunks", "`causal_chunks`", 32);
        let every = count(self, "causal_every", "`causal_every`", 100);
        Some(Some(Causal {
            tol: tol?,
            chunks: chunks?,
            every: every?,
        }))
    }

    /// Where causal weights apply, when a phase asks for them: the continuous-time
    /// collocation set, with the `initial` condition's coordinate as time.
    pub(crate) fn causal_set(
        &mut self,
        settings: &Settings,
        sets: &[PointSet],
        discrete: bool,
    ) -> Option<CausalSet> {
        let at = settings
            .training
            .iter()
            .zip(&settings.training_spans)
            .find(|(p, _)| p.causal().is_some())
            .map(|(_, span)| *span)?;
        let set = sets
            .iter()
            .position(|s| matches!(s.kind, PointKind::Collocation { .. }))
            .filter(|_| !discrete);
        let time = sets.iter().find_map(|s| match s.kind {
            PointKind::Slice { coord, .. } if s.name.starts_with("initial") => Some(coord),
            _ => None,
        });
        let why = match (set, time) {
            (Some(set), Some(time)) => return Some(CausalSet { set, time }),
            (None, _) => "causal weighting needs continuous-time collocation points",
            (_, None) => "causal weighting needs an `initial` condition: its coordinate is time",
        };
        self.error(
            Diag::error("pdenet::check::causal_without_time", why)
                .label(at, "this phase weights the equations' points in time")
                .help("remove `causal = …`: it is for time-dependent forward problems with an initial condition, in continuous time"),
        );
        None
    }

    /// Where self-adaptive weights apply, when a phase asks for them: every set of
    /// equations or conditions on sampled points. Data sets (their residuals read
    /// observations) and periodic matching (it reads the network at two sites) keep
    /// weight 1, as the residual evaluator reads neither, and so do integral constraints
    /// (their weight column is the quadrature's); a discrete-time problem's sets
    /// all read the previous step's data, and a phase that also weights in time would
    /// need both in the one column, so those are errors.
    pub(crate) fn self_adaptive_sets(
        &mut self,
        settings: &Settings,
        sets: &[PointSet],
        terms: &[LossTerm],
        discrete: bool,
    ) -> Vec<usize> {
        let phases = || settings.training.iter().zip(&settings.training_spans);
        let Some(at) = phases()
            .find(|(p, _)| p.self_adaptive().is_some())
            .map(|(_, span)| *span)
        else {
            return Vec::new();
        };
        let eligible = |k: usize| {
            let on = || terms.iter().filter(move |t| t.points == k);
            !matches!(sets[k].kind, PointKind::Data { .. } | PointKind::Quadrature)
                && sets[k].sites.is_empty()
                && on().next().is_some()
                && on().all(|t| !matches!(t.reduce, Reduce::Integral { .. }))
        };
        let chosen: Vec<usize> = (0..sets.len()).filter(|&k| eligible(k)).collect();
        if discrete || chosen.is_empty() {
            self.error(
                Diag::error(
                    "pdenet::check::self_adaptive_without_points",
                    "self-adaptive weights need equations or conditions on sampled points, in continuous time",
                )
                .label(at, "this phase trains a weight per point")
                .help(
                    "remove `self_adaptive = …`, or use `balance = gradnorm` to weigh whole terms",
                ),
            );
            return Vec::new();
        }
        if let Some((_, causal)) = phases().find(|(p, _)| p.causal().is_some()) {
            self.error(
                Diag::error(
                    "pdenet::check::self_adaptive_with_causal",
                    "self-adaptive and causal weights in one run",
                )
                .label(*causal, "this phase weights the points in time")
                .label(at, "this phase trains a weight per point")
                .help("keep one of them: both would write the points' one weight column"),
            );
            return Vec::new();
        }
        chosen
    }

    /// A `name_…` setting in a phase without `name = …` (`balance_every` without
    /// `balance`): the error `code` at the setting. True when there is one.
    fn tuning_alone(
        &mut self,
        call: &ast::CallArgs,
        (name, code): (&str, &'static str),
        what: &str,
        help: &str,
    ) -> bool {
        let prefix = format!("{name}_");
        let Some(b) = call.args.iter().find(|a| a.name.name.starts_with(&prefix)) else {
            return false;
        };
        self.error(
            Diag::error(
                code,
                format!("`{}` tunes {what} that is not asked for", b.name.name),
            )
            .label(b.name.span, format!("no `{name} = …` in this phase"))
            .help(help),
        );
        true
    }

    /// `balance = gradnorm | ntk, balance_every = k, balance_alpha = a` of `adam`.
    /// `Some(None)` without `balance`; `None` after an error.
    fn balance(&mut self, call: &ast::CallArgs) -> Option<Option<Balance>> {
        let Some(e) = Self::arg(call, "balance") else {
            let help = "add `balance = gradnorm`, or remove the setting";
            let alone = self.tuning_alone(
                call,
                ("balance", "pdenet::check::balance_setting_alone"),
                "a balancing",
                help,
            );
            return (!alone).then_some(None);
        };
        let rule = BalanceRule::ALL
            .into_iter()
            .find(|r| matches!(&e.kind, ast::ExprKind::Name(n) if n == r.name()));
        let Some(rule) = rule else {
            self.error(
                Diag::error("pdenet::check::unknown_balance", "unknown loss balancing")
                    .label(e.span, "not a balancing rule")
                    .help("the rules are `balance = gradnorm` (weights by gradient norms, Wang et al. 2021) and `balance = ntk` (by the neural tangent kernel's trace, Wang et al. 2022)"),
            );
            return None;
        };
        let every = match Self::arg(call, "balance_every") {
            Some(e) => self.count(e, "`balance_every`", 1.0),
            None => Some(1000),
        };
        let alpha = match Self::arg(call, "balance_alpha") {
            Some(e) => self.in_range(e, "balance_alpha", 0.0, 1.0, true),
            None => Some(0.9),
        };
        Some(Some(Balance {
            rule,
            every: every?,
            alpha: alpha?,
        }))
    }

    /// `precision = f32 | f64` of a phase: `Some(None)` when absent, `None` after an
    /// error.
    fn precision(&mut self, call: &ast::CallArgs) -> Option<Option<Precision>> {
        let Some(e) = Self::arg(call, "precision") else {
            return Some(None);
        };
        match &e.kind {
            ast::ExprKind::Name(n) if n == "f32" => Some(Some(Precision::F32)),
            ast::ExprKind::Name(n) if n == "f64" => Some(Some(Precision::F64)),
            _ => {
                self.error(
                    Diag::error(
                        "pdenet::check::bad_precision",
                        "a phase's precision is f32 or f64",
                    )
                    .label(e.span, "not a precision")
                    .help(
                        "write `precision = f32` (faster, first-order phases) or `precision = f64`",
                    ),
                );
                None
            }
        }
    }

    /// `cosine = lr_end` of `adam`: a cosine decay from `lr` to lr_end, which must lie
    /// in [0, lr), and not together with a step `decay`. `Some(None)` when absent.
    fn cosine(&mut self, call: &ast::CallArgs, lr: f64) -> Option<Option<f64>> {
        let Some(e) = Self::arg(call, "cosine") else {
            return Some(None);
        };
        if let Some(d) = Self::arg(call, "decay") {
            self.error(
                Diag::error(
                    "pdenet::check::two_schedules",
                    "`cosine` and `decay` are two schedules for the same learning rate",
                )
                .label(d.span, "a step decay")
                .label(e.span, "a cosine decay")
                .help("keep one: `cosine = 1e-6` (down to 1e-6 by the last epoch) or `decay = 0.9, every = 1000`"),
            );
            return None;
        }
        let end = self.constant(e, "the final learning rate")?;
        if !(end >= 0.0 && end < lr) {
            self.error(
                Diag::error(
                    "pdenet::check::bad_cosine",
                    format!("the cosine schedule ends at {end}, which is not in [0, lr = {lr})"),
                )
                .label(e.span, "the learning rate at the last epoch")
                .help("write the final learning rate, below `lr`: e.g. `lr = 1e-3, cosine = 1e-5`"),
            );
            return None;
        }
        Some(Some(end))
    }

    /// `decay = γ, every = k` of `adam`: the learning rate is multiplied by γ every k
    /// epochs (DeepXDE's `decay=("step", k, γ)`, PyTorch's `StepLR`, jaxpi's
    /// `exponential_decay` with `staircase`). `Some(None)` when there is no decay,
    /// `None` after an error.
    fn decay(&mut self, call: &ast::CallArgs) -> Option<Option<Decay>> {
        let every = Self::arg(call, "every").map(|e| self.count(e, "`every`", 1.0));
        let Some(rate) = Self::arg(call, "decay") else {
            if let Some(b) = call.args.iter().find(|a| a.name.name == "every") {
                self.error(
                    Diag::error(
                        "pdenet::check::every_without_decay",
                        "`every` says how often the learning rate decays, but no `decay` is given",
                    )
                    .label(b.name.span, "no decay to apply")
                    .help("add the factor, e.g. `decay = 0.9, every = 1000`"),
                );
                return None;
            }
            return Some(None);
        };
        let value = self.constant(rate, "the decay")?;
        if !(value > 0.0 && value < 1.0) {
            self.error(
                Diag::error(
                    "pdenet::check::bad_decay",
                    format!("the decay is {value}; it must lie strictly between 0 and 1"),
                )
                .label(rate.span, "not a factor in (0, 1)")
                .help("the learning rate is multiplied by `decay` every `every` epochs: write e.g. `decay = 0.9, every = 1000`"),
            );
            return None;
        }
        let every = match every {
            None => 1,
            Some(k) => k? as u64,
        };
        Some(Some(Decay { rate: value, every }))
    }

    /// `lbfgs(iterations = …, tol = …, history = …)`.
    fn lbfgs(&mut self, call: &ast::CallArgs) -> Option<Phase> {
        self.known_args(call, &["iterations", "tol", "history", "precision"]);
        let iterations = match Self::arg(call, "iterations") {
            Some(e) => self.count(e, "the number of iterations", 0.0),
            None => Some(50_000),
        };
        let history = match Self::arg(call, "history") {
            Some(e) => self.count(e, "the history size", 1.0),
            None => Some(50),
        };
        let tol = match Self::arg(call, "tol") {
            Some(e) => self.in_range(e, "tol", 0.0, 1.0, true),
            None => Some(1e-12),
        };
        Some(Phase::Lbfgs {
            iterations: iterations?,
            tol: tol?,
            history: history?,
            precision: self.precision(call)?,
        })
    }

    /// `bfgs(iterations = …, tol = …, c1 = …, c2 = …, reset = …)`, and the same for
    /// every dense method.
    fn dense(&mut self, call: &ast::CallArgs, rule: Rule) -> Option<Phase> {
        self.known_args(
            call,
            &["iterations", "tol", "c1", "c2", "reset", "precision"],
        );
        let iterations = match Self::arg(call, "iterations") {
            Some(e) => self.count(e, "the number of iterations", 0.0),
            None => Some(50_000),
        };
        let reset = match Self::arg(call, "reset") {
            Some(e) => self.count(e, "`reset` (iterations between resets of H)", 0.0),
            None => Some(0),
        };
        let num = |cx: &mut Self, name, default, lo, hi| match Self::arg(call, name) {
            Some(e) => cx.in_range(e, name, lo, hi, false),
            None => Some(default),
        };
        let tol = match Self::arg(call, "tol") {
            Some(e) => self.in_range(e, "tol", 0.0, 1.0, true),
            None => Some(0.0),
        };
        let (c1, c2) = (
            num(self, "c1", 1e-4, 0.0, 1.0)?,
            num(self, "c2", 0.9, 0.0, 1.0)?,
        );
        if c1 >= c2 {
            let at = Self::arg(call, "c1")
                .or(Self::arg(call, "c2"))
                .map_or(call.span, |e| e.span);
            self.error(
                Diag::error(
                    "pdenet::check::wolfe_constants",
                    format!("c1 = {c1} is not below c2 = {c2}"),
                )
                .label(at, "the strong Wolfe conditions need 0 < c1 < c2 < 1")
                .help("the usual values are c1 = 1e-4, c2 = 0.9"),
            );
            return None;
        }
        Some(Phase::Dense {
            rule,
            iterations: iterations?,
            tol: tol?,
            c1,
            c2,
            reset: reset?,
            precision: self.precision(call)?,
        })
    }

    /// A dense method keeps an n×n matrix of f64: refuses one this machine cannot
    /// hold comfortably (half its memory), saying how much it would need.
    pub(crate) fn hessian_fits(&mut self, settings: &Settings, parameters: usize) {
        let need = machine::dense_matrix_bytes(parameters);
        let limit = machine::memory_for_a_matrix();
        for (phase, span) in settings.training.iter().zip(&settings.training_spans) {
            let Phase::Dense { rule, .. } = phase else {
                continue;
            };
            if need <= limit {
                continue;
            }
            self.error(
                Diag::error(
                    "pdenet::check::hessian_too_large",
                    format!(
                        "`{}` keeps a dense {parameters}×{parameters} inverse Hessian: {}, more than {} (half of this machine's memory)",
                        rule.name(),
                        gib(need),
                        gib(limit)
                    ),
                )
                .label(*span, "too many parameters for a dense Hessian")
                .help("use lbfgs(iterations = …), which keeps only a few vectors, or a smaller network"),
            );
        }
    }

    /// `irk(stages = q)`'s q, at most 500.
    fn irk_stages(&mut self, kind: &ast::CallArgs) -> Option<usize> {
        self.known_args(kind, &["stages"]);
        let stages = match Self::arg(kind, "stages") {
            Some(e) => self.count(e, "the number of stages", 1.0),
            None => {
                self.error(
                    Diag::error(
                        "pdenet::check::missing_argument",
                        "`irk` needs its number of stages",
                    )
                    .label(kind.span, "write irk(stages = q)"),
                );
                None
            }
        };
        if stages.is_some_and(|q| q > 500) {
            let at = Self::arg(kind, "stages").map_or(kind.span, |e| e.span);
            self.error(
                Diag::error(
                    "pdenet::check::out_of_range",
                    "at most 500 stages are supported",
                )
                .label(at, "too many stages")
                .help("use at most 500 stages (the examples use 50 and 100)"),
            );
        }
        stages
    }

    /// The `scheme` statement, if any.
    pub(crate) fn scheme(&mut self, file: &ast::File) -> Option<SchemeSpec> {
        let (kind, coord, from, to_coord, to, span) =
            file.statements.iter().find_map(|st| match &st.kind {
                StatementKind::Scheme {
                    kind,
                    coord,
                    from,
                    to_coord,
                    to,
                } => Some((kind, coord, from, to_coord, to, st.span)),
                _ => None,
            })?;
        if kind.name.name != "irk" {
            let d = Diag::error(
                "pdenet::check::unknown_scheme",
                format!("unknown scheme `{}`", kind.name.name),
            )
            .label(kind.name.span, "not a scheme")
            .help("the implicit Runge–Kutta scheme is `irk(stages = q)`");
            self.error(d);
            return None;
        }
        let stages = self.irk_stages(kind);
        if to_coord.name != coord.name {
            self.error(
                Diag::error(
                    "pdenet::check::scheme_coordinates",
                    "a scheme steps along one coordinate",
                )
                .label(to_coord.span, format!("expected `{}`", coord.name))
                .help(format!("write `from {0} = a to {0} = b`", coord.name)),
            );
        }
        let id = self.coordinate_named(coord, "not a coordinate");
        let (a, b) = (
            self.constant(from, "the start time"),
            self.constant(to, "the end time"),
        );
        let (id, a, b, stages) = (id?, a?, b?, stages?);
        let c = self.decls.coords[id.0].coord.clone();
        for (v, e) in [(a, from), (b, to)] {
            if v < c.lo || v > c.hi {
                self.error(
                    Diag::error(
                        "pdenet::check::outside_domain",
                        format!("{} = {v} lies outside [{}, {}]", c.name, c.lo, c.hi),
                    )
                    .label(e.span, "outside the domain"),
                );
            }
        }
        if a >= b {
            self.error(
                Diag::error(
                    "pdenet::check::empty_interval",
                    "the scheme's end must come after its start",
                )
                .label(to.span, format!("ends at {b}, not after its start"))
                .label(from.span, format!("starts at {a}"))
                .help(format!(
                    "write `from {0} = {1} to {0} = {2}`",
                    c.name,
                    a.min(b),
                    a.max(b)
                )),
            );
            return None;
        }
        Some(SchemeSpec {
            scheme: Scheme {
                stages,
                coord: id,
                from: a,
                to: b,
                equation: None,
                predicts_end: false,
            },
            span,
        })
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}
