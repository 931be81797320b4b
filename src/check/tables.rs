//! `table "file.mat" { x = xg, y = yg, a = A[x, y] }`: quantities given on a grid
//! of some coordinates, read once from the file and made into `table::Table`s (the
//! names were declared by `decls`, so equations may use `a`, `a_x`, `d(a, y)`).
//!
//! Checked here, each at its span: the grid vectors are evenly spaced (a cubic
//! B-spline on a uniform grid; resample a stretched grid first) with at least two
//! points; each table names its axes, every axis is mapped in the block, and the
//! array's shape is the grids'; the grids cover the domain along their coordinates,
//! so no point is ever outside a table.
//!
//! `table a = [[…], …] on x ∈ [lo, hi], y ∈ [lo, hi]` is a constant per cell (PINNacle's
//! 5 × 5-block Poisson problem): one list level per coordinate, every list of a level
//! as long as the others, constant numbers, ranges that cover the domain.

use super::Checker;
use crate::diag::Diag;
use crate::expr::CoordId;
use crate::io::{Array, MatData};
use crate::problem::DataField;
use crate::syntax::ast::{self, ArrayLit, DataKind, Span, StatementKind};
use crate::table::{Axis, Table};

impl Checker<'_> {
    /// Every `table` block's tables, in the order `decls` declared their names.
    /// `None` if any failed (the diagnostics say why).
    pub(crate) fn tables(&mut self, file: &ast::File) -> Option<Vec<Table>> {
        let mut out = Vec::new();
        let mut ok = true;
        for st in &file.statements {
            match &st.kind {
                StatementKind::Data(b) if b.kind == DataKind::Table => match self.table_block(b) {
                    Some(t) => out.extend(t),
                    None => ok = false,
                },
                StatementKind::TableCells { name, values, axes } => {
                    match self.table_cells(name, values, axes) {
                        Some(t) => out.push(t),
                        None => ok = false,
                    }
                }
                _ => {}
            }
        }
        (ok && out.len() == self.decls.tables.len()).then_some(out)
    }

    fn table_block(&mut self, block: &ast::DataBlock) -> Option<Vec<Table>> {
        if let Some(s) = block.sample.as_ref().or(block.noise.as_ref().map(|n| &n.0)) {
            self.error(
                Diag::error("pdenet::check::table_option", "a table takes no `sample` or `noise`")
                    .label(s.span, "not for a table")
                    .help("a table is a function of the coordinates, read whole; `data` blocks are sampled"),
            );
            return None;
        }
        if self.opts.skip_data {
            // Unread: each table stands as the constant 0 (no axes).
            let names = block
                .mappings
                .iter()
                .filter(|m| self.decls.coord(&m.name.name).is_none());
            return Some(
                names
                    .map(|m| Table::new(m.name.name.clone(), vec![], &[0.0]))
                    .collect(),
            );
        }
        let (_, mat) = self.open(block)?;
        let mut grids: Vec<(CoordId, Axis)> = Vec::new();
        let mut tables = Vec::new();
        for m in &block.mappings {
            match self.decls.coord(&m.name.name) {
                Some(c) => grids.push((c, self.grid_axis(c, m, &mat)?)),
                None => tables.push(m),
            }
        }
        let mut out = Vec::new();
        for m in tables {
            out.push(self.table(m, &grids, &mat)?);
        }
        Some(out)
    }

    /// A coordinate's grid: a vector of evenly spaced values that covers the domain.
    fn grid_axis(&mut self, c: CoordId, m: &ast::Mapping, mat: &MatData) -> Option<Axis> {
        let a = self.variable(mat, &m.variable.name, m.variable.span)?;
        let v = &a.real;
        let bad = |why: String, help: &str| {
            Diag::error("pdenet::check::table_grid", why)
                .label(m.variable.span, "this grid")
                .help(help.to_string())
        };
        if !a.is_vector() || v.len() < 2 {
            self.error(bad(
                format!(
                    "`{}` must be a vector of at least two grid values",
                    m.variable.name
                ),
                "a table's grid along each coordinate is a vector",
            ));
            return None;
        }
        let step = (v[v.len() - 1] - v[0]) / (v.len() - 1) as f64;
        let uneven = v
            .iter()
            .enumerate()
            .any(|(i, &x)| (x - (v[0] + step * i as f64)).abs() > 1e-6 * step.abs());
        if step.is_nan() || step <= 0.0 || uneven {
            self.error(bad(
                format!("`{}` is not evenly spaced and increasing", m.variable.name),
                "tables are cubic B-splines on a uniform grid: resample the data onto one",
            ));
            return None;
        }
        let axis = Axis {
            coord: c,
            start: v[0],
            step,
            n: v.len(),
        };
        let coord = &self.decls.coords[c.0].coord;
        let slack = 1e-9 * (coord.hi - coord.lo).abs();
        if axis.start > coord.lo + slack || axis.end() < coord.hi - slack {
            let (name, lo, hi) = (coord.name.clone(), coord.lo, coord.hi);
            self.error(bad(
                format!(
                    "the grid of {name} covers [{}, {}], but the domain's {name} is [{lo}, {hi}]",
                    axis.start,
                    axis.end()
                ),
                "a table must cover the domain: points outside its grid would be extrapolated",
            ));
            return None;
        }
        Some(axis)
    }

    /// One table: its axes' grids (from the block) and its array, shape-checked.
    fn table(
        &mut self,
        m: &ast::Mapping,
        grids: &[(CoordId, Axis)],
        mat: &MatData,
    ) -> Option<Table> {
        let Some(axes) = &m.axes else {
            self.error(
                Diag::error(
                    "pdenet::check::data_axes",
                    format!("say which coordinates `{}` depends on", m.name.name),
                )
                .label(m.span, "no axes")
                .help(format!(
                    "write e.g. `{} = {}[x, y]` in the file's axis order",
                    m.name.name, m.variable.name
                )),
            );
            return None;
        };
        let mut table_axes = Vec::new();
        for a in axes {
            let found = self
                .decls
                .coord(&a.name)
                .and_then(|c| grids.iter().find(|(k, _)| *k == c));
            match found {
                Some((_, axis)) if !table_axes.contains(axis) => table_axes.push(axis.clone()),
                _ => {
                    self.error(
                        Diag::error(
                            "pdenet::check::data_axes",
                            format!("axis `{}` is not a coordinate mapped to a grid in this block (or is named twice)", a.name),
                        )
                        .label(a.span, "no grid for this axis")
                        .help(format!("map it, e.g. `{0} = {0}`, before the table", a.name)),
                    );
                    return None;
                }
            }
        }
        let a: &Array = self.variable(mat, &m.variable.name, m.variable.span)?;
        if a.is_complex() {
            self.error(
                Diag::error(
                    "pdenet::check::data_complex",
                    format!("`{}` holds complex numbers", m.variable.name),
                )
                .label(m.variable.span, "complex data")
                .help("a table is real; map the real and imaginary parts to two tables"),
            );
            return None;
        }
        let field = DataField {
            field: m.name.name.clone(),
            value: vec![],
            variable: m.variable.name.clone(),
            axes: table_axes.iter().map(|x| x.coord).collect(),
        };
        let lens: Vec<(CoordId, usize)> = table_axes.iter().map(|x| (x.coord, x.n)).collect();
        self.field_shape(&field, a, &lens, m.variable.span)?;
        Some(Table::new(m.name.name.clone(), table_axes, &a.real))
    }
}

impl Checker<'_> {
    /// `table a = [[…], …] on x ∈ [lo, hi], …`: the cells' values and axes.
    fn table_cells(
        &mut self,
        name: &ast::Ident,
        values: &ArrayLit,
        ranges: &[ast::Interval],
    ) -> Option<Table> {
        let mut shape = Vec::new();
        let mut level = values;
        while let ArrayLit::List(items, _) = level {
            shape.push(items.len());
            level = &items[0];
        }
        if shape.len() != ranges.len() {
            self.error(
                Diag::error(
                    "pdenet::check::table_shape",
                    format!(
                        "the values are nested {} deep, but the table has {} coordinate{}",
                        shape.len(),
                        ranges.len(),
                        if ranges.len() == 1 { "" } else { "s" }
                    ),
                )
                .label(array_span(values), "one list level per coordinate")
                .help("write e.g. `[[1, 2], [3, 4]] on x ∈ [0, 1], y ∈ [0, 1]` (the outer list along x)"),
            );
            return None;
        }
        let mut flat = vec![0.0; shape.iter().product()];
        self.cell_values(values, &shape, 0, 0, &mut flat)?;
        let mut axes: Vec<Axis> = Vec::new();
        for (iv, &n) in ranges.iter().zip(&shape) {
            let c = self.coordinate_named(&iv.coord, "not a coordinate")?;
            let lo = self.constant(&iv.lo, "a table's range")?;
            let hi = self.constant(&iv.hi, "a table's range")?;
            let coord = &self.decls.coords[c.0].coord;
            let slack = 1e-9 * (coord.hi - coord.lo).abs();
            let why = if axes.iter().any(|a| a.coord == c) {
                Some(format!("{} is named twice", iv.coord.name))
            } else if lo >= hi || lo > coord.lo + slack || hi < coord.hi - slack {
                Some(format!(
                    "the cells span [{lo}, {hi}], but the domain's {} is [{}, {}]",
                    coord.name, coord.lo, coord.hi
                ))
            } else {
                None
            };
            if let Some(why) = why {
                self.error(
                    Diag::error("pdenet::check::table_grid", why)
                        .label(iv.span, "these cells")
                        .help("give each coordinate once, with a range that covers the domain"),
                );
                return None;
            }
            axes.push(Axis {
                coord: c,
                start: lo,
                step: (hi - lo) / n as f64,
                n,
            });
        }
        Some(Table::cells(name.name.clone(), axes, flat))
    }

    /// Writes the numbers of a nested list at `depth` into `flat` (first axis
    /// fastest, `at` the offset so far), checking every list's length.
    fn cell_values(
        &mut self,
        v: &ArrayLit,
        shape: &[usize],
        depth: usize,
        at: usize,
        flat: &mut [f64],
    ) -> Option<()> {
        let stride: usize = shape[..depth.min(shape.len())].iter().product();
        match v {
            ArrayLit::List(items, _) if depth < shape.len() && items.len() == shape[depth] => {
                for (j, item) in items.iter().enumerate() {
                    self.cell_values(item, shape, depth + 1, at + j * stride, flat)?;
                }
                Some(())
            }
            ArrayLit::Item(e) if depth == shape.len() => {
                flat[at] = self.constant(e, "a table's value")?;
                Some(())
            }
            _ => {
                let want = match shape.get(depth) {
                    Some(n) => format!("a list of {n}"),
                    None => "a number".to_string(),
                };
                self.error(
                    Diag::error(
                        "pdenet::check::table_shape",
                        format!("the values are not a regular grid: {want} was expected here"),
                    )
                    .label(array_span(v), format!("expected {want}"))
                    .help("every list of one level has the same length, numbers at the innermost level only"),
                );
                None
            }
        }
    }
}

fn array_span(v: &ArrayLit) -> Span {
    match v {
        ArrayLit::Item(e) => e.span,
        ArrayLit::List(_, span) => *span,
    }
}
