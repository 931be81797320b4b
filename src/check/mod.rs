//! The checker: AST → [`Problem`]. It resolves every name, inlines `let`s, `def`s
//! and trial functions, splits complex fields into real parts, turns conditions,
//! `periodic`, constraints, data and schemes into loss terms, assembles the network
//! from `layer` definitions, and checks every value range and data file.
//!
//! It never stops at the first mistake: diagnostics accumulate in [`Checker`] and the
//! caller decides. It knows nothing of the kernel and nothing of `sym`: solving a
//! discrete-time step's equation for u_t is the next stage (`scheme::discretize`).
//! Its only I/O is reading each data file once (`data`), whose arrays the problem
//! then carries.

mod data;
mod decls;
mod discrete;
mod exact;
mod fields;
mod layer_body;
mod layers;
mod lower;
mod settings;
mod shapes;
mod tables;
mod terms;

use crate::diag::Diag;
use crate::problem::{Problem, Region, Scheme};
use crate::syntax::ast::{self, Span};
use std::collections::HashMap;
use std::path::PathBuf;

pub use data::resolve_data_path;
pub(crate) use discrete::on_output;

/// Everything the checker needs besides the AST.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The problem's name (the file stem).
    pub name: String,
    /// The directory of the `.pde` file: bare data file names are looked up here
    /// first, then in `data_dirs`.
    pub base_dir: Option<PathBuf>,
    pub data_dirs: Vec<PathBuf>,
    /// Leave data files unopened (`pdenet eval` rebuilds a trained model from its
    /// source without its data): the mapping is checked, but not the files, their
    /// variables or shapes, and each `Dataset::path` stays empty.
    pub skip_data: bool,
}

/// The result of a successful check: the problem and any warnings.
#[derive(Debug)]
pub struct Checked {
    pub problem: Problem,
    pub warnings: Vec<Diag>,
}

/// Checks a parsed file against the stdlib. Returns every diagnostic on failure
/// (errors and warnings, in source order).
pub fn check(file: &ast::File, opts: &Options) -> Result<Checked, Vec<Diag>> {
    let stdlib = crate::stdlib::files();
    let mut cx = Checker::new(opts);
    for lib in &stdlib {
        cx.collect_library(lib);
    }
    cx.collect(file);
    let problem = cx.build(file);
    let (errors, warnings): (Vec<Diag>, Vec<Diag>) =
        cx.diags.into_iter().partition(|d| d.is_error());
    match problem {
        Some(problem) if errors.is_empty() => Ok(Checked { problem, warnings }),
        _ => {
            let mut all = errors;
            all.extend(warnings);
            all.sort_by_key(|d| d.span().map_or(0, |s| s.start));
            Err(all)
        }
    }
}

/// An empty span after the last statement: where a missing statement would go.
pub(crate) fn end_of_file(file: &ast::File) -> Span {
    let end = file.statements.last().map_or(0, |s| s.span.end);
    Span::new(end, end)
}

/// Where a name came from: the user's file (with its span) or the stdlib.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Origin {
    User(Span),
    Stdlib,
}

/// The checker's state: declarations by name and the diagnostics so far.
pub(crate) struct Checker<'a> {
    pub opts: &'a Options,
    pub diags: Vec<Diag>,
    pub decls: decls::Decls,
    /// `def`s and `layer`s by name, user ones shadowing the stdlib's.
    pub defs: HashMap<String, (ast::FnDef, Origin)>,
    pub layers: HashMap<String, (ast::LayerDef, Origin)>,
    /// Values of fields and lets, computed once.
    pub env: lower::Env,
}

impl<'a> Checker<'a> {
    fn new(opts: &'a Options) -> Checker<'a> {
        Checker {
            opts,
            diags: Vec::new(),
            decls: decls::Decls::default(),
            defs: HashMap::new(),
            layers: HashMap::new(),
            env: lower::Env::default(),
        }
    }

    pub fn error(&mut self, d: Diag) {
        self.diags.push(d);
    }

    /// Registers the stdlib's `def`s and `layer`s (nothing else may appear there).
    fn collect_library(&mut self, file: &ast::File) {
        for st in &file.statements {
            match &st.kind {
                ast::StatementKind::Def(d) => {
                    self.defs
                        .insert(d.name.name.clone(), (d.clone(), Origin::Stdlib));
                }
                ast::StatementKind::Layer(l) => {
                    self.layers
                        .insert(l.name.name.clone(), (l.clone(), Origin::Stdlib));
                }
                _ => {}
            }
        }
    }

    /// Builds the problem from the collected declarations. `None` when something
    /// essential is missing (the diagnostics say what).
    fn build(&mut self, file: &ast::File) -> Option<Problem> {
        let settings = settings::read(self, file);
        let scheme = self.scheme(file);
        let outputs = self.outputs(file, scheme.as_ref())?;
        let fields = self.fields(&outputs, scheme.as_ref());
        let datasets = self.datasets(file);
        let tables = self.tables(file);
        let terms = terms::build(
            self,
            file,
            &datasets,
            scheme.as_ref(),
            &settings,
            outputs.irk_final,
        );
        // Every network is built from the one `network` statement: a spec that fails
        // for one fails alike for all, so the first one's diagnostics say it once.
        let wanted = outputs.nets.len();
        let mut networks = Vec::new();
        for (inputs, names) in outputs.nets {
            match layers::network(self, settings.network.as_ref(), inputs, names) {
                Some(net) => networks.push(net),
                None => break,
            }
        }
        self.unused();
        if networks.len() != wanted {
            return None;
        }
        self.hessian_fits(
            &settings,
            crate::net::param_count(&networks) + self.decls.params.len(),
        );
        let causal = self.causal_set(&settings, &terms.point_sets, scheme.is_some());
        let self_adaptive =
            self.self_adaptive_sets(&settings, &terms.point_sets, &terms.terms, scheme.is_some());
        Some(Problem {
            name: self.opts.name.clone(),
            coords: self.decls.coords.iter().map(|c| c.coord.clone()).collect(),
            region: self.decls.region.clone().map(|r| Region {
                pieces: self.decls.pieces(),
                ..r
            }),
            params: self.decls.params.iter().map(|p| p.param.clone()).collect(),
            consts: self
                .decls
                .consts
                .iter()
                .map(|c| (c.name.clone(), c.value))
                .collect(),
            networks,
            fields,
            // Filled by `scheme::discretize` under a scheme.
            shared: Vec::new(),
            terms: terms.terms,
            point_sets: terms.point_sets,
            datasets: datasets.sets,
            reference: datasets.reference,
            tables: tables?,
            scheme: scheme.map(|s| Scheme {
                equation: terms.step,
                predicts_end: outputs.irk_final,
                ..s.scheme
            }),
            resampling: terms.resampling,
            causal,
            self_adaptive,
            training: settings.training,
        })
    }

    /// An unused parameter cannot be recovered (an error); an unused constant or
    /// `let` is only noise (a warning).
    fn unused(&mut self) {
        let mut found = Vec::new();
        for p in self.decls.params.iter().filter(|p| !p.used.get()) {
            found.push(
                Diag::error(
                    "pdenet::check::unused_param",
                    format!("parameter `{}` appears in no equation", p.param.name),
                )
                .label(p.span, "declared but never used")
                .help(
                    "use it in an equation, or remove it: an unused parameter cannot be recovered",
                ),
            );
        }
        for c in self.decls.consts.iter().filter(|c| !c.used.get()) {
            found.push(
                Diag::warning(
                    "pdenet::check::unused_const",
                    format!("constant `{}` is never used", c.name),
                )
                .label(c.span, "unused"),
            );
        }
        for l in self.decls.lets.iter().filter(|l| !l.used.get()) {
            let b = &l.binding;
            found.push(
                Diag::warning(
                    "pdenet::check::unused_let",
                    format!("`{}` is never used", b.name.name),
                )
                .label(b.name.span, "unused"),
            );
        }
        self.diags.extend(found);
    }
}
