//! Tables of points and values for `pdenet eval`: reading points from CSV or .npy
//! and writing named columns as CSV, .npy or .mat.

use super::{ascii_name, matwrite, npy};
use std::path::Path;

/// Points from a file: a CSV whose header names the columns (every coordinate
/// must be among them), or a .npy array with one column per coordinate in the
/// domain's order. Returns one column per coordinate, in `coords`' order.
pub fn read_points(path: &Path, coords: &[String]) -> Result<Vec<Vec<f64>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "npy") {
        let cols = npy::read(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if cols.len() != coords.len() {
            return Err(format!(
                "{} has {} columns; expected one per coordinate ({})",
                path.display(),
                cols.len(),
                coords.join(", ")
            ));
        }
        return Ok(cols);
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| format!("{} is empty", path.display()))?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_string())
        .collect();
    let index: Vec<usize> = coords
        .iter()
        .map(|c| {
            header.iter().position(|h| h == c).ok_or_else(|| {
                format!(
                    "{}: the header ({}) has no column `{c}`",
                    path.display(),
                    header.join(",")
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut cols = vec![Vec::new(); coords.len()];
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        for (k, &i) in index.iter().enumerate() {
            let v = cells
                .get(i)
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| {
                    format!(
                        "{}: row {}: column `{}` is not a number",
                        path.display(),
                        n + 2,
                        coords[k]
                    )
                })?;
            cols[k].push(v);
        }
    }
    Ok(cols)
}

/// Named columns as CSV text (numbers in Rust's shortest round-trip form).
pub fn csv(names: &[String], columns: &[Vec<f64>]) -> String {
    let mut s = names.join(",");
    s.push('\n');
    let rows = columns.first().map_or(0, Vec::len);
    for i in 0..rows {
        let row: Vec<String> = columns.iter().map(|c| format!("{:?}", c[i])).collect();
        s += &row.join(",");
        s.push('\n');
    }
    s
}

/// The bytes of `path`'s format, chosen by its extension: .npy, .mat, else CSV.
pub fn encode(path: &Path, names: &[String], columns: &[Vec<f64>]) -> Vec<u8> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => npy::write(columns),
        Some("mat") => {
            let vars: Vec<(String, Vec<f64>)> = names
                .iter()
                .map(|n| ascii_name(n))
                .zip(columns.iter().cloned())
                .collect();
            matwrite::write(&vars)
        }
        _ => csv(names, columns).into_bytes(),
    }
}
