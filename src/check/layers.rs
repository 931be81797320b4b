//! Networks from `layer` definitions: each layer of the stack is an instance of a
//! layer kind written in the language (stdlib/layers.pde or the user's file), with
//! the activation and every `def` inlined. Nothing about a particular kind lives
//! here: a name left of `·` is a weight matrix, another free name a bias vector,
//! unless the layer's `where` clause declares it otherwise.

use super::layer_body::{Activation, LayerLowering};
use super::settings::NetworkSpec;
use super::{Checker, Origin};
use crate::diag::{suggest, Diag};
use crate::expr::{CoordId, Func};
use crate::problem::{Layer, Network};
use crate::syntax::ast::{self, Span};

/// Builds the network: `depth` hidden layers of `width`, then the output layer.
pub(crate) fn network(
    cx: &mut Checker,
    spec: Option<&NetworkSpec>,
    inputs: Vec<CoordId>,
    outputs: Vec<String>,
) -> Option<Network> {
    let spec = spec?;
    let (def, origin) = cx.layers.get(&spec.kind.name).cloned()?;
    let activation = cx.activation(&spec.activation)?;
    let mut widths = vec![inputs.len()];
    widths.extend(std::iter::repeat_n(spec.width, spec.depth));
    widths.push(outputs.len());
    let at = match origin {
        Origin::Stdlib => Some(spec.span),
        Origin::User(_) => None,
    };
    let mut layers = Vec::new();
    for (l, pair) in widths.windows(2).enumerate() {
        let last = l + 2 == widths.len();
        let first = l == 0;
        let name = &def.name.name;
        let (body, act, kind) = match (&def.first, first, &def.last, last) {
            (_, _, Some(b), true) => (b, activation.clone(), format!("{name}.last")),
            (_, _, None, true) => (&def.body, Activation::Identity, format!("{name}.last")),
            (Some(b), true, _, _) => (b, activation.clone(), format!("{name}.first")),
            _ => (&def.body, activation.clone(), name.clone()),
        };
        let mut lx = LayerLowering::new(cx, &def, act, (spec.depth, pair[0]), at);
        let lowered = lx.body(body);
        let reads = lowered.as_ref().is_some_and(|b| lx.reads_input(b));
        let width = lowered.as_ref().map(|b| lx.width(b, pair[0], pair[1]));
        let (tensors, locals) = (lx.tensors, lx.locals);
        let lowered = lowered?;
        if !reads {
            cx.ignores_input(&def, body, at);
            return None;
        }
        if let Some(bad) =
            width.and_then(|w| cx.width_mismatch(w, &kind, l, pair, at.unwrap_or(body.span)))
        {
            cx.error(bad);
            return None;
        }
        layers.push(Layer {
            kind,
            inputs: pair[0],
            outputs: pair[1],
            tensors,
            body: lowered,
            locals,
        });
    }
    Some(Network {
        kind: spec.kind.name.clone(),
        inputs,
        outputs,
        layers,
    })
}

impl Checker<'_> {
    /// A body that never reads its input makes the network a constant: every
    /// derivative along a coordinate would be zero and training could not succeed,
    /// silently. (Reported once per body: each layer of the stack repeats it.)
    fn ignores_input(&mut self, def: &ast::LayerDef, body: &ast::Expr, at: Option<Span>) {
        let already = self.diags.iter().any(|d| {
            d.code == "pdenet::check::layer_ignores_input"
                && d.span() == Some(at.unwrap_or(body.span))
        });
        if !already {
            self.error(
                Diag::error(
                    "pdenet::check::layer_ignores_input",
                    format!("layer `{}` never reads its input `{}`", def.name.name, def.input.name),
                )
                .label(at.unwrap_or(body.span), "the network would not depend on the coordinates")
                .help(format!(
                    "a layer maps its input to its output: use `{}` in the body, e.g. `σ(W·{} + b)`",
                    def.input.name, def.input.name
                )),
            );
        }
    }

    /// Layer `l` (`kind`, `pair[0]` → `pair[1]`) must give one entry per output.
    fn width_mismatch(
        &self,
        width: Result<usize, String>,
        kind: &str,
        l: usize,
        pair: &[usize],
        at: Span,
    ) -> Option<Diag> {
        let (i, o) = (pair[0], pair[1]);
        let why = match width {
            Err(why) => why,
            Ok(n) if n == o || n == 1 => return None,
            Ok(n) => format!("the body gives {n} entries where the layer has {o} outputs"),
        };
        Some(
            Diag::error("pdenet::check::layer_width", format!("layer `{kind}` (layer {} of the network, {i} → {o}): {why}", l + 1))
                .label(at, "widths do not fit")
                .help("vectors must agree entry for entry: h has one entry per input, W·h and biases one per output; give the first or last layer its own body (`first = …`, `last = …`) where widths change"),
        )
    }

    fn activation(&mut self, name: &ast::Ident) -> Option<Activation> {
        if let Some(f) = Func::from_name(&name.name) {
            return Some(Activation::Func(f));
        }
        if let Some((def, _)) = self.defs.get(&name.name) {
            if def.params.len() == 1 {
                return Some(Activation::Def(def.clone()));
            }
        }
        let mut candidates: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
        candidates.extend(
            self.defs
                .iter()
                .filter(|(_, (d, _))| d.params.len() == 1)
                .map(|(n, _)| n.as_str()),
        );
        let d = Diag::error(
            "pdenet::check::bad_activation",
            format!("unknown activation `{}`", name.name),
        )
        .label(name.span, "not a function of one argument");
        let d = match suggest(&name.name, candidates) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help("use tanh, sin, sigmoid, … or a one-argument `def`"),
        };
        self.error(d);
        None
    }
}
