//! Human-readable descriptions of a compiled problem: the one-line summary of
//! `pdenet check` and the residual listing of `pdenet kernels --emit residual`.

use crate::expr::Expr;
use crate::pipeline::Compiled;
use crate::problem::{Problem, Reduce};
use crate::sym::{self, Names};
use std::fmt::Write;

/// The names `sym::display` needs for this problem's indices.
pub fn names(p: &Problem, data: Vec<String>) -> Names {
    Names {
        coords: p.coords.iter().map(|c| c.name.clone()).collect(),
        outputs: p.outputs().cloned().collect(),
        params: p.params.iter().map(|q| q.name.clone()).collect(),
        data,
        tables: p.tables.iter().map(|t| t.name.clone()).collect(),
    }
}

/// `burgers: ok — …` with the sizes a user checks before training.
pub fn summary(p: &Problem) -> String {
    let coords: Vec<String> = p
        .coords
        .iter()
        .map(|c| format!("{} ∈ [{}, {}]", c.name, c.lo, c.hi))
        .collect();
    // One network: its widths (2→20→1); several: each with the fields it computes.
    let several = p.networks.len() > 1;
    let widths: Vec<String> = p
        .networks
        .iter()
        .map(|net| {
            let w: Vec<String> = std::iter::once(net.layers.first().map_or(0, |l| l.inputs))
                .chain(net.layers.iter().map(|l| l.outputs))
                .map(|w| w.to_string())
                .collect();
            match several {
                true => format!("{} for {}", w.join("→"), net.outputs.join(", ")),
                false => w.join("→"),
            }
        })
        .collect();
    let params: Vec<&str> = p.params.iter().map(|q| q.name.as_str()).collect();
    let fixed: usize = crate::net::Layout::of(p)
        .fixed(p)
        .iter()
        .map(|r| r.len())
        .sum();
    let fixed = match fixed {
        0 => String::new(),
        n => format!(" ({n} fixed)"),
    };
    let mut s = format!(
        "{}: ok — {}; network {} ({}), {} weights{fixed}; {} loss term{}",
        p.name,
        coords.join(", "),
        p.networks.first().map_or("none", |n| n.kind.as_str()),
        widths.join("; "),
        p.network_params(),
        p.terms.len(),
        if p.terms.len() == 1 { "" } else { "s" }
    );
    if let Some(r) = &p.region {
        let names: Vec<&str> = r
            .coords
            .iter()
            .map(|c| p.coords[c.0].name.as_str())
            .collect();
        let share = 100.0 * r.shape.share_of_bounds(20_000);
        let _ = write!(
            s,
            "; ({}) in a shape filling {share:.0} % of their box",
            names.join(", ")
        );
    }
    if !params.is_empty() {
        let _ = write!(s, "; unknowns {}", params.join(", "));
    }
    for (k, d) in p.datasets.iter().enumerate() {
        let role = if p.reference == Some(k) {
            "reference"
        } else {
            "data"
        };
        let _ = write!(s, "; {role} {}", d.path.display());
    }
    s
}

/// One line per loss term: its name, its simplified residual, what it needs.
pub fn residuals(c: &Compiled) -> String {
    let p = &c.problem;
    let mut s = String::new();
    // Stage j's right-hand side is stage 1's with u[1] replaced by u[j].
    if let Some(first) = p.shared.first() {
        let _ = writeln!(s, "N[1] = {}", sym::display(first, &names(p, vec![])));
        if p.shared.len() > 1 {
            let _ = writeln!(s, "N[2..{}]: the same with u[j] for u[1]", p.shared.len());
        }
    }
    for term in &p.terms {
        let data = data_names(p, term.points);
        let names = names(p, data);
        let n = term.residuals.len();
        for (k, e) in term.residuals.iter().enumerate() {
            // Long families (one entry per IRK stage) show their first and last.
            if n > 4 && k == 1 {
                let _ = writeln!(s, "{}[2..{}]: …", term.name, n - 1);
            }
            if n > 4 && k > 0 && k + 1 < n {
                continue;
            }
            let label = if n == 1 {
                term.name.clone()
            } else {
                format!("{}[{}]", term.name, k + 1)
            };
            let _ = writeln!(
                s,
                "{label}: {}{}    needs {}",
                sym::display(e, &names),
                reduce_note(term.reduce),
                needs(e, &names)
            );
        }
    }
    s
}

fn reduce_note(r: Reduce) -> String {
    match r {
        Reduce::Mean => String::new(),
        Reduce::Sum => "    (summed)".into(),
        Reduce::Integral { target } => format!("    (∫ … = {target})"),
    }
}

/// The network-output derivatives an expression uses, e.g. `u, u_t, u_x, u_xx`.
fn needs(e: &Expr, names: &Names) -> String {
    let list: Vec<String> = sym::derivatives(e)
        .into_iter()
        .map(|(output, deriv, site)| {
            sym::display(
                &Expr::Out {
                    output,
                    deriv,
                    site,
                },
                names,
            )
        })
        .collect();
    if list.is_empty() {
        "nothing from the network".into()
    } else {
        list.join(", ")
    }
}

/// The names of a point set's data columns (for `Expr::Data`): its own, then its
/// tables' (`a`, `a_x`).
fn data_names(p: &Problem, points: usize) -> Vec<String> {
    let mut out = own_data_names(p, points);
    for (t, deriv) in p.point_sets.get(points).iter().flat_map(|s| &s.tables) {
        let table = Expr::Table {
            table: *t,
            deriv: deriv.clone(),
        };
        out.push(sym::display(&table, &names(p, vec![])));
    }
    out
}

fn own_data_names(p: &Problem, points: usize) -> Vec<String> {
    let dataset = match p.point_sets.get(points).map(|s| &s.kind) {
        Some(crate::problem::PointKind::Data { dataset, .. }) => dataset,
        // A shape's piece of the boundary: the outward normal, n_x, n_y, ….
        Some(crate::problem::PointKind::Piece { .. }) => {
            let coords = p.region.iter().flat_map(|r| &r.coords);
            return coords
                .map(|c| format!("n_{}", p.coords[c.0].name))
                .collect();
        }
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for f in &p.datasets[*dataset].fields {
        if f.value.len() == 2 {
            out.push(format!("{}.data.re", f.field));
            out.push(format!("{}.data.im", f.field));
        } else {
            out.push(format!("{}.data", f.field));
        }
    }
    out
}
