//! `reference u = FORMULA, … sample N`: an exact solution given as formulas of the
//! coordinates. They are evaluated once, here, at N points drawn in the domain, and
//! become a scattered reference data set held in memory, so that errors, history,
//! predictions and pictures treat it as they treat a reference file.

use super::lower::Scope;
use super::Checker;
use crate::diag::Diag;
use crate::expr::{CoordId, Expr};
use crate::io::Array;
use crate::problem::{DataArrays, Dataset};
use crate::syntax::ast;
use std::sync::Arc;

/// Points of an exact reference when the statement gives no `sample`.
const DEFAULT_POINTS: usize = 10_000;

impl Checker<'_> {
    /// The data set of an exact reference and its point count; `None` after
    /// reporting an error.
    pub(crate) fn exact_reference(
        &mut self,
        fields: &[ast::Binding],
        sample: Option<&ast::Expr>,
    ) -> Option<(Dataset, usize)> {
        let n = match sample {
            Some(s) => self.count(s, "the number of reference points", 1.0)?,
            None => DEFAULT_POINTS,
        };
        let points = self.domain_points(n);
        let mut set = Dataset::new("(exact formula)".into(), "(exact formula)".into());
        let mut arrays = Vec::new();
        for (k, c) in self.decls.coords.iter().enumerate() {
            set.coords.push((CoordId(k), c.coord.name.clone()));
            arrays.push(row(&c.coord.name, points[k].clone(), None));
        }
        let mut ok = true;
        for b in fields {
            let mapping = ast::Mapping {
                name: b.name.clone(),
                variable: b.name.clone(),
                axes: None,
                span: b.span,
            };
            let Some(()) = self.data_field(&mapping, &mut set) else {
                ok = false;
                continue;
            };
            let complex = set.fields.last().is_some_and(|f| f.value.len() == 2);
            match self.formula(&b.value, complex) {
                Some((re, im)) => {
                    let at = |e: &Expr| values(e, &points);
                    arrays.push(row(&b.name.name, at(&re), im.as_ref().map(at)));
                }
                None => ok = false,
            }
        }
        set.arrays = DataArrays(arrays.into_iter().map(Arc::new).collect());
        ok.then_some((set, n))
    }

    /// A formula of the coordinates (and constants): its real part and, for a
    /// complex field, its imaginary part.
    fn formula(&mut self, e: &ast::Expr, complex: bool) -> Option<(Expr, Option<Expr>)> {
        let v = self.lower(e, &Scope::default())?;
        let unknown = |x: &Expr| {
            !matches!(x, Expr::Coord(_)) && x.children().is_empty() && !matches!(x, Expr::Num(_))
        };
        if v.re.any(&unknown) || v.im.as_ref().is_some_and(|im| im.any(&unknown)) {
            self.error(
                Diag::error(
                    "pdenet::check::reference_formula",
                    "a reference formula may use only coordinates and constants",
                )
                .label(e.span, "depends on a field or a parameter")
                .help("write the exact solution in the coordinates, e.g. `reference u = sin(π*x)*exp(-t)`"),
            );
            return None;
        }
        if complex != v.im.is_some() {
            self.error(
                Diag::error(
                    "pdenet::check::data_complex",
                    if complex {
                        "the field is complex but its reference formula is real"
                    } else {
                        "the field is real but its reference formula is complex"
                    },
                )
                .label(e.span, "formula")
                .help("write a complex field's reference with `i`, e.g. `2*exp(i*x)`"),
            );
            return None;
        }
        Some((v.re, v.im))
    }

    /// `n` points of the domain, one column per coordinate: the Halton sequence over
    /// the coordinates' box, kept where it lies in the region's shape. Deterministic,
    /// so every run measures its error at the same points.
    fn domain_points(&self, n: usize) -> Vec<Vec<f64>> {
        let coords = &self.decls.coords;
        let mut out = vec![Vec::with_capacity(n); coords.len()];
        let mut point = vec![0.0; coords.len()];
        // The region was checked to fill a sampled share of its box, so this ends;
        // the bound only guards a shape too thin for that check.
        for i in 1..=100 * n as u64 + 1000 {
            if out[0].len() == n {
                break;
            }
            for (k, (c, p)) in coords.iter().zip(&mut point).enumerate() {
                let u = crate::train::points::halton(i, k);
                *p = c.coord.lo + (c.coord.hi - c.coord.lo) * u;
            }
            if self
                .decls
                .region
                .as_ref()
                .is_none_or(|r| r.contains(&point))
            {
                out.iter_mut().zip(&point).for_each(|(col, v)| col.push(*v));
            }
        }
        out
    }
}

/// A 1×n MATLAB-style row vector.
fn row(name: &str, real: Vec<f64>, imag: Option<Vec<f64>>) -> Array {
    Array {
        name: name.to_string(),
        shape: vec![1, real.len()],
        real,
        imag,
    }
}

/// `e` at every point (coordinates column by column).
fn values(e: &Expr, points: &[Vec<f64>]) -> Vec<f64> {
    let n = points.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| {
            e.value(&|leaf| match leaf {
                Expr::Coord(c) => points[c.0][i],
                _ => f64::NAN,
            })
        })
        .collect()
}
