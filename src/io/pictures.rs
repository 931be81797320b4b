//! Which pictures a run gets, and their data: the solution and its error against
//! the reference (heat maps over two coordinates, curves over one), the loss per
//! term and the parameters per epoch. Drawing is `io::plots`.

use super::plots::{self, ColorMap, Curve, HeatMap, LinePlot};
use crate::eval::{self, Quantity};
use crate::problem::Problem;
use crate::train::optim;
use crate::train::run::RunResult;

/// The PNG files of a run, by file name, and a note for each picture that failed.
pub fn pictures(problem: &Problem, r: &RunResult) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let mut add = |name: String, png: Result<Vec<u8>, String>| match png {
        Ok(bytes) => out.push((name, bytes)),
        Err(e) => notes.push(format!("{name} not drawn: {e}")),
    };
    for f in solution_fields(problem, r) {
        let stem = super::ascii_name(&f.name);
        let (solution, error) = field_pictures(problem, &f);
        if let Some(png) = solution {
            add(format!("solution_{stem}.png"), png);
        }
        if let Some(png) = error {
            add(format!("error_{stem}.png"), png);
        }
    }
    if !r.outcome.history.is_empty() {
        add("loss.png".into(), loss(problem, r));
        if !problem.params.is_empty() {
            add("params.png".into(), params(problem, r));
        }
    }
    (out, notes)
}

/// One field's values at points, with the reference there when there is one.
struct FieldValues {
    name: String,
    coords: Vec<Vec<f64>>,
    predicted: Vec<f64>,
    reference: Option<Vec<f64>>,
    rel_l2: Option<f64>,
}

/// The fields to draw: on the reference's points when the run has a reference
/// (plus |h| for a complex field), else on a grid over the domain. A reference
/// scattered over more than two coordinates has too few points on any slice for a
/// picture: its fields are drawn on the grid (prediction only; the title keeps the
/// error over all its points).
fn solution_fields(problem: &Problem, r: &RunResult) -> Vec<FieldValues> {
    let k = problem.coords.len();
    let rel = |name: &str| r.errors.iter().find(|e| e.name == name).map(|e| e.rel_l2);
    let sliceable = |p: &crate::train::run::Predictions| {
        let coords = &p.values[..k];
        let all: Vec<usize> = (0..coords.first().map_or(0, Vec::len)).collect();
        slice(problem, coords, all).0.len() >= MIN_SLICE
    };
    if let Some(p) = r.predictions.as_ref().filter(|p| sliceable(p)) {
        let coords = p.values[..k].to_vec();
        let mut out: Vec<FieldValues> = p.columns[k..]
            .iter()
            .zip(&p.values[k..])
            .zip(&p.reference)
            .map(|((name, pred), refv)| FieldValues {
                name: name.clone(),
                coords: coords.clone(),
                predicted: pred.clone(),
                reference: Some(refv.clone()),
                rel_l2: rel(name),
            })
            .collect();
        for e in r.errors.iter().filter(|e| e.name.starts_with('|')) {
            let inner = e.name.trim_matches('|');
            let parts: Vec<usize> = problem
                .fields
                .iter()
                .filter(|f| f.complex_of.as_ref().is_some_and(|(c, _)| c == inner))
                .filter_map(|f| p.columns[k..].iter().position(|c| *c == f.name))
                .collect();
            if let [a, b] = parts[..] {
                let m = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(u, v)| u.hypot(*v)).collect();
                out.push(FieldValues {
                    name: e.name.clone(),
                    coords: coords.clone(),
                    predicted: m(&p.values[k + a], &p.values[k + b]),
                    reference: Some(m(&p.reference[a], &p.reference[b])),
                    rel_l2: Some(e.rel_l2),
                });
            }
        }
        return out;
    }
    let coords = domain_grid(problem);
    let quantities: Vec<Quantity> = problem
        .fields
        .iter()
        .map(|f| Quantity::Real(f.value.clone()))
        .collect();
    // Points outside the domain's shape are masked (NaN: left blank).
    let inside = eval::inside(problem, &coords);
    let mask = |v: Vec<f64>| -> Vec<f64> {
        match &inside {
            Some(inside) => v
                .into_iter()
                .zip(inside)
                .map(|(x, &i)| if i { x } else { f64::NAN })
                .collect(),
            None => v,
        }
    };
    match eval::evaluate(problem, &r.outcome.theta, &quantities, &coords) {
        Ok(values) => problem
            .fields
            .iter()
            .zip(values)
            .map(|(f, v)| FieldValues {
                name: f.name.clone(),
                coords: coords.clone(),
                predicted: mask(v),
                reference: None,
                rel_l2: rel(&f.name),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A grid over the domain for problems without a reference: 401 points on one
/// coordinate, 201 × 101 on two; a time-stepping scheme's coordinate is fixed at
/// its end time, and beyond two coordinates the time one at its upper bound.
fn domain_grid(problem: &Problem) -> Vec<Vec<f64>> {
    let n = problem.coords.len();
    let fixed_time = problem.scheme.as_ref().map(|s| (s.coord.0, s.to));
    let mut free: Vec<usize> = (0..n)
        .filter(|&c| fixed_time.map(|f| f.0) != Some(c))
        .collect();
    let mut fixed: Vec<(usize, f64)> = fixed_time.into_iter().collect();
    while free.len() > 2 {
        let t = time_like(problem, &free);
        fixed.push((t, problem.coords[t].hi));
        free.retain(|&c| c != t);
    }
    let counts = if free.len() == 1 {
        [401, 0]
    } else {
        [201, 101]
    };
    let axes: Vec<Vec<f64>> = (0..n)
        .map(|c| match fixed.iter().find(|f| f.0 == c) {
            Some(&(_, v)) => vec![v],
            None => {
                let k = free.iter().position(|&f| f == c).unwrap_or(0);
                let co = &problem.coords[c];
                eval::linspace(co.lo, co.hi, counts[k])
            }
        })
        .collect();
    eval::mesh(&axes)
}

/// Fewer points than this on a slice make no picture.
const MIN_SLICE: usize = 16;

/// The points of `keep` on the slice a picture shows: while more than two
/// coordinates vary, the time-like one is fixed at its largest value. Also the
/// coordinates left varying and a note naming the slice (` at t = 1`).
fn slice(
    problem: &Problem,
    coords: &[Vec<f64>],
    mut keep: Vec<usize>,
) -> (Vec<usize>, Vec<usize>, String) {
    let count = |c: usize| {
        let mut v = coords[c].clone();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v.len()
    };
    let mut varying: Vec<usize> = (0..coords.len()).filter(|&c| count(c) > 1).collect();
    // A coordinate fixed on every point (a grid's time at its end) is named too.
    let fixed = (0..coords.len()).find(|&c| count(c) == 1 && !keep.is_empty());
    let mut note = fixed.map_or(String::new(), |c| {
        let name = &problem.coords[c].name;
        format!(" at {name} = {}", short(coords[c][keep[0]]))
    });
    while varying.len() > 2 {
        let t = time_like(problem, &varying);
        let last = coords[t].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        keep.retain(|&i| coords[t][i] == last);
        note = format!(" at {} = {}", problem.coords[t].name, short(last));
        varying.retain(|&c| c != t);
    }
    (keep, varying, note)
}

/// The coordinate to slice first: one named `t`, else the last.
fn time_like(problem: &Problem, among: &[usize]) -> usize {
    among
        .iter()
        .copied()
        .find(|&c| problem.coords[c].name == "t")
        .or_else(|| among.last().copied())
        .unwrap_or(0)
}

type Png = Option<Result<Vec<u8>, String>>;

/// The solution and error pictures of one field.
fn field_pictures(problem: &Problem, f: &FieldValues) -> (Png, Png) {
    let (keep, varying, slice_note) = slice(problem, &f.coords, (0..f.predicted.len()).collect());
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let pred = pick(&f.predicted);
    let refv = f.reference.as_deref().map(pick);
    let abs_err: Option<Vec<f64>> = refv
        .as_ref()
        .map(|r| pred.iter().zip(r).map(|(p, q)| (p - q).abs()).collect());
    let max_err = abs_err
        .as_ref()
        .map(|e| e.iter().copied().fold(0.0, f64::max));
    let name = &problem.name;
    let field = &f.name;
    let sol_title = match f.rel_l2 {
        Some(e) => format!("{name}: {field}{slice_note}, rel. L2 error {e:.2e}"),
        None => format!("{name}: {field}{slice_note} (predicted)"),
    };
    let err_title = format!(
        "{name}: |{field} − reference|{slice_note}, max {:.2e}",
        max_err.unwrap_or(0.0)
    );
    match varying[..] {
        [a, b] => {
            // The time-like coordinate goes up the page, the other across.
            let (h, v) = if problem.coords[a].name == "t" {
                (b, a)
            } else {
                (a, b)
            };
            let (xs, ys) = (pick(&f.coords[h]), pick(&f.coords[v]));
            let map = |title: String, values: &[f64], color_map| {
                plots::heat_map(&HeatMap {
                    title,
                    x_label: &problem.coords[h].name,
                    y_label: &problem.coords[v].name,
                    x: &xs,
                    y: &ys,
                    values,
                    color_map,
                })
            };
            let sol = map(sol_title, &pred, ColorMap::Viridis);
            let err = abs_err.map(|e| map(err_title, &e, ColorMap::Inferno));
            (Some(sol), err)
        }
        [c] => {
            let xs = pick(&f.coords[c]);
            let mut order: Vec<usize> = (0..xs.len()).collect();
            order.sort_by(|&i, &j| xs[i].total_cmp(&xs[j]));
            let sorted = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
            let x = sorted(&xs);
            let mut curves = vec![Curve {
                label: format!("{field} predicted"),
                x: x.clone(),
                y: sorted(&pred),
                reference: false,
            }];
            if let Some(r) = &refv {
                curves.insert(
                    0,
                    Curve {
                        label: format!("{field} reference"),
                        x: x.clone(),
                        y: sorted(r),
                        reference: true,
                    },
                );
            }
            let coord = &problem.coords[c].name;
            let sol = plots::line_plots(&[LinePlot {
                title: sol_title,
                x_label: coord,
                y_label: field,
                curves,
                log_y: false,
                marks: Vec::new(),
            }]);
            let err = abs_err.map(|e| {
                plots::line_plots(&[LinePlot {
                    title: err_title,
                    x_label: coord,
                    y_label: "absolute error",
                    curves: vec![Curve {
                        label: "|error|".into(),
                        x: x.clone(),
                        y: sorted(&e),
                        reference: false,
                    }],
                    log_y: false,
                    marks: Vec::new(),
                }])
            });
            (Some(sol), err)
        }
        _ => (None, None),
    }
}

fn short(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Epoch numbers over the whole run (phases one after the other) and a mark at
/// each phase switch.
fn epochs(r: &RunResult) -> (Vec<f64>, Vec<(f64, String)>) {
    let h = &r.outcome.history;
    let x: Vec<f64> = (1..=h.len()).map(|i| i as f64).collect();
    let marks = h
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0].phase != w[1].phase)
        .map(|(i, w)| ((i + 1) as f64 + 0.5, format!(" {}", phase_name(w[1].phase))))
        .collect();
    (x, marks)
}

fn phase_name(p: &str) -> &str {
    optim::kind(p).map_or(p, |k| k.title)
}

fn loss(problem: &Problem, r: &RunResult) -> Result<Vec<u8>, String> {
    let (x, marks) = epochs(r);
    let h = &r.outcome.history;
    let mut curves = vec![Curve {
        label: "total (weighted)".into(),
        x: x.clone(),
        y: h.iter().map(|row| row.loss).collect(),
        reference: true,
    }];
    for (k, t) in problem.terms.iter().enumerate() {
        curves.push(Curve {
            label: t.name.clone(),
            x: x.clone(),
            y: h.iter()
                .map(|row| row.terms.get(k).copied().unwrap_or(f64::NAN))
                .collect(),
            reference: false,
        });
    }
    let first = h.first().map_or("adam", |row| row.phase);
    let mut plots = vec![LinePlot {
        title: format!(
            "{}: loss per term ({} first)",
            problem.name,
            phase_name(first)
        ),
        x_label: "epoch / iteration",
        y_label: "loss",
        curves,
        log_y: true,
        marks: marks.clone(),
    }];
    if !r.error_names.is_empty() {
        plots.push(LinePlot {
            title: format!("{}: relative L2 error against the reference", problem.name),
            x_label: "epoch / iteration",
            y_label: "rel. L2 error",
            curves: error_curves(r, &x),
            log_y: true,
            marks,
        });
    }
    plots::line_plots(&plots)
}

/// One curve per reference field, through the rows where the error was measured.
fn error_curves(r: &RunResult, x: &[f64]) -> Vec<Curve> {
    let h = &r.outcome.history;
    r.error_names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let (x, y) = h
                .iter()
                .zip(x)
                .filter_map(|(row, &x)| Some((x, *row.errors.as_ref()?.get(k)?)))
                .unzip();
            Curve {
                label: name.clone(),
                x,
                y,
                reference: k == 0,
            }
        })
        .collect()
}

fn params(problem: &Problem, r: &RunResult) -> Result<Vec<u8>, String> {
    let (x, marks) = epochs(r);
    let h = &r.outcome.history;
    let plots: Vec<LinePlot> = problem
        .params
        .iter()
        .enumerate()
        .map(|(k, q)| {
            let last = h.last().map_or(f64::NAN, |row| row.params[k]);
            LinePlot {
                title: format!(
                    "{}: {} per epoch (final {})",
                    problem.name,
                    q.name,
                    short_sig(last)
                ),
                x_label: "epoch / iteration",
                y_label: &q.name,
                curves: vec![Curve {
                    label: q.name.clone(),
                    x: x.clone(),
                    y: h.iter().map(|row| row.params[k]).collect(),
                    reference: false,
                }],
                log_y: false,
                marks: marks.clone(),
            }
        })
        .collect();
    plots::line_plots(&plots)
}

fn short_sig(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.5e}")
    } else {
        format!("{v:.6}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a grid over (x, y, t) the picture's slice is the last t's whole grid; on
    /// points scattered in all three, that slice holds one point: too few to draw,
    /// so such a reference's fields are drawn on the domain's grid instead.
    #[test]
    fn a_slice_of_scattered_points_is_too_small_to_draw() {
        let mut p = crate::net::testnets::burgers("mlp", 4, 1);
        p.coords.push(crate::problem::Coord {
            name: "t".into(),
            lo: 0.0,
            hi: 1.0,
        });
        p.coords[1].name = "y".into();
        let grid = eval::mesh(&[
            eval::linspace(0.0, 1.0, 5),
            eval::linspace(0.0, 1.0, 4),
            eval::linspace(0.0, 1.0, 3),
        ]);
        let (keep, varying, note) = slice(&p, &grid, (0..60).collect());
        assert_eq!(
            (keep.len(), varying, note.as_str()),
            (20, vec![0, 1], " at t = 1")
        );
        let scattered: Vec<Vec<f64>> = (1..=3)
            .map(|k| {
                (0..60)
                    .map(|i| ((i * (7 + 6 * k)) % 61) as f64 / 61.0)
                    .collect()
            })
            .collect();
        let (keep, varying, _) = slice(&p, &scattered, (0..60).collect());
        assert!(keep.len() < MIN_SLICE && varying.len() == 2, "{keep:?}");
    }
}
