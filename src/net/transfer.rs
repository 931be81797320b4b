//! θ from another run: a warm start (`pdenet run FILE --init OUT_DIR`) from a trained
//! model whose networks match this problem's.

use super::Layout;
use crate::problem::Problem;

/// Copies `saved`'s trained θ into `theta` (this problem's): every network tensor,
/// which must match tensor for tensor (layer, name and size, in order), and each PDE
/// parameter `saved` has by name. Gives the parameters that kept their initial
/// values, each with why; the message says where the networks differ.
pub fn warm_start(
    problem: &Problem,
    theta: &mut [f64],
    saved: &Problem,
    saved_theta: &[f64],
) -> Result<Vec<String>, String> {
    let (mine, theirs) = (Layout::of(problem), Layout::of(saved));
    if saved_theta.len() != theirs.len {
        return Err(format!(
            "its θ has {} numbers where its own file lays out {}",
            saved_theta.len(),
            theirs.len
        ));
    }
    let tensors = |p: &Problem, l: &Layout| {
        let mut e = l.entries(p);
        e.truncate(e.len() - p.params.len());
        e
    };
    let (a, b) = (tensors(problem, &mine), tensors(saved, &theirs));
    for k in 0..a.len().max(b.len()) {
        match (a.get(k), b.get(k)) {
            (Some((n, r)), Some((m, s))) if n == m && r.len() == s.len() => {
                theta[r.clone()].copy_from_slice(&saved_theta[s.clone()]);
            }
            (Some((n, r)), Some((m, s))) => {
                return Err(format!(
                    "tensor {} is `{n}` of {} numbers here and `{m}` of {} there",
                    k + 1,
                    r.len(),
                    s.len()
                ))
            }
            (Some((n, _)), None) => return Err(format!("it has no `{n}`")),
            (None, Some((m, _))) => return Err(format!("it has `{m}`, which this file has not")),
            (None, None) => {}
        }
    }
    let mut kept = Vec::new();
    for (k, p) in problem.params.iter().enumerate() {
        // θ holds a positive parameter's logarithm: carry the value across.
        let value = (saved.params.iter().position(|q| q.name == p.name))
            .map(|j| saved.params[j].value(saved_theta[theirs.params[j]]));
        match value {
            Some(v) if p.positive && v > 0.0 => theta[mine.params[k]] = v.ln(),
            Some(v) if !p.positive => theta[mine.params[k]] = v,
            Some(v) => kept.push(format!(
                "{} (its value there, {v}, cannot start a positive parameter)",
                p.name
            )),
            None => kept.push(format!("{} (the model has none)", p.name)),
        }
    }
    Ok(kept)
}
