//! `--set KEY=VALUE`: settings changed on the command line without editing the file.
//! Each one is written into the source text itself, so the run's saved copy of the
//! source (and `pdenet eval` of its model) says what actually ran.
//!
//! Keys: `network=KIND`, `network.ARG=V` (width, depth, activation, …),
//! `train.PHASE.ARG=V` (the first phase of that optimizer, e.g. `train.adam.lr`),
//! `sample.SET=N` (a point count, e.g. `sample.collocation=5000`).

use super::ast::{CallArgs, File, Span, StatementKind};
use crate::diag::Diag;

/// The text with every `KEY=VALUE` of `sets` applied, in order.
pub fn apply(text: &str, sets: &[String]) -> Result<String, Diag> {
    let mut text = text.to_string();
    for set in sets {
        let file = super::parse(&text).map_err(|mut d| d.remove(0))?;
        let (at, new) = edit(&file, set)?;
        text.replace_range(at.start..at.end, &new);
    }
    Ok(text)
}

fn bad(set: &str, why: impl Into<String>, help: &str) -> Diag {
    Diag::error(
        "pdenet::cli::bad_set",
        format!("`--set {set}`: {}", why.into()),
    )
    .help(help)
}

/// Where to write and what, for one `KEY=VALUE`.
fn edit(file: &File, set: &str) -> Result<(Span, String), Diag> {
    let help = "write --set network.width=20, --set network=qres, --set train.adam.lr=1e-3 or --set sample.collocation=5000";
    let Some((key, value)) = set.split_once('=') else {
        return Err(bad(set, "no `=` between the key and the value", help));
    };
    let (key, value) = (key.trim(), value.trim());
    let word = |c: char| c.is_alphanumeric() || "_.+-".contains(c);
    if value.is_empty() || !value.chars().all(word) {
        return Err(bad(set, "the value must be a number or a name", help));
    }
    let path: Vec<&str> = key.split('.').collect();
    let statements = || file.statements.iter().map(|s| &s.kind);
    match path.as_slice() {
        ["network", rest @ ..] if rest.len() <= 1 => {
            let net = statements().find_map(|k| match k {
                StatementKind::Network(c) => Some(c),
                _ => None,
            });
            let net = net.ok_or_else(|| bad(set, "the file has no `network` statement", help))?;
            Ok(match rest {
                [] => (net.name.span, value.to_string()),
                [arg] => set_arg(net, arg, value),
                _ => unreachable!("matched one or no part"),
            })
        }
        ["train", phase, arg] => {
            let phases: Vec<&CallArgs> = statements()
                .filter_map(|k| match k {
                    StatementKind::Train(p) => Some(p),
                    _ => None,
                })
                .flatten()
                .collect();
            match phases.iter().find(|p| p.name.name == *phase) {
                Some(p) => Ok(set_arg(p, arg, value)),
                None => {
                    let names: Vec<&str> = phases.iter().map(|p| p.name.name.as_str()).collect();
                    let why = format!("the file trains with {} and no `{phase}`", names.join(", "));
                    Err(bad(
                        set,
                        why,
                        "name a phase of the file's `train` statement",
                    ))
                }
            }
        }
        ["sample", target] => {
            let item = statements()
                .filter_map(|k| match k {
                    StatementKind::Sample(items) => Some(items),
                    _ => None,
                })
                .flatten()
                .find(|i| i.target.name == *target);
            match item {
                Some(i) => Ok((i.count.span, value.to_string())),
                None => Err(bad(
                    set,
                    format!("the file samples no `{target}` points"),
                    "name a set of the file's `sample` statement",
                )),
            }
        }
        _ => Err(bad(set, format!("unknown key `{key}`"), help)),
    }
}

/// Replaces `arg`'s value in a call, or adds the argument.
fn set_arg(call: &CallArgs, arg: &str, value: &str) -> (Span, String) {
    if let Some(b) = call.args.iter().find(|b| b.name.name == arg) {
        return (b.value.span, value.to_string());
    }
    let end = call.span.end;
    if call.args.is_empty() && end == call.name.span.end {
        return (Span::new(end, end), format!("({arg} = {value})"));
    }
    // Before the closing parenthesis.
    let at = end - 1;
    let sep = if call.args.is_empty() { "" } else { ", " };
    (Span::new(at, at), format!("{sep}{arg} = {value}"))
}

#[cfg(test)]
mod tests {
    use super::apply;

    const SRC: &str = "domain x ∈ [0, 1]\nfield u(x)\nequation u_xx = 1\n\
                       network mlp(width = 10, depth = 2)\nsample collocation 100\n\
                       train adam(lr = 1e-3, epochs = 100) then lbfgs\n";

    fn set(keys: &[&str]) -> Result<String, String> {
        let keys: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        apply(SRC, &keys).map_err(|d| d.message)
    }

    #[test]
    fn settings_are_rewritten_in_the_source() {
        let out = set(&[
            "network.width=20",
            "network=qres",
            "network.activation=sin",
            "train.adam.lr=1e-2",
            "train.lbfgs.iterations=50",
            "sample.collocation=5000",
        ])
        .expect("applies");
        assert!(
            out.contains("network qres(width = 20, depth = 2, activation = sin)"),
            "{out}"
        );
        assert!(
            out.contains("adam(lr = 1e-2, epochs = 100) then lbfgs(iterations = 50)"),
            "{out}"
        );
        assert!(out.contains("sample collocation 5000"), "{out}");
        assert!(crate::syntax::parse(&out).is_ok());
    }

    #[test]
    fn unknown_keys_phases_and_values_are_errors() {
        assert!(set(&["network.width"]).unwrap_err().contains("no `=`"));
        assert!(set(&["optimizer.lr=1"])
            .unwrap_err()
            .contains("unknown key"));
        assert!(set(&["train.sgd.lr=1"])
            .unwrap_err()
            .contains("adam, lbfgs and no `sgd`"));
        assert!(set(&["sample.boundary=10"])
            .unwrap_err()
            .contains("no `boundary`"));
        assert!(set(&["network.width=2; rm"])
            .unwrap_err()
            .contains("number or a name"));
    }
}
