//! `data` and `reference` blocks: the file is found and opened, every mapped
//! variable must exist with a shape that fits the coordinates' grids, and the
//! mapping must name coordinates and fields of this problem. A wrong axis order
//! is silent in the numbers, so arrays of more than one dimension must say which
//! axis is which (`u = usol[x, t]`).

use super::lower::Scope;
use super::Checker;
use crate::diag::{suggest, Diag};
use crate::expr::CoordId;
use crate::io::datafile::read_data;
use crate::io::{Array, MatData};
use crate::problem::{DataArrays, DataField, Dataset};
use crate::syntax::ast::{self, Span, StatementKind};
use std::path::{Path, PathBuf};

/// The checked data sets, with the blocks they came from.
#[derive(Debug, Default)]
pub(crate) struct Datasets {
    pub sets: Vec<Dataset>,
    pub reference: Option<usize>,
    /// For each set: the block's statement span (for later diagnostics).
    pub spans: Vec<Span>,
    /// For each set: the number of points of its grid (or scattered list).
    pub points: Vec<usize>,
    /// Whether some block failed its checks (later checks that need the data skip).
    pub failed: bool,
}

/// Finds a data file: a path with a directory part is taken relative to `base`;
/// a bare name is looked up beside the `.pde`, then in `data/` beside it (where
/// the examples keep theirs), then in each data directory.
pub fn resolve_data_path(
    written: &str,
    base: Option<&Path>,
    data_dirs: &[PathBuf],
) -> Result<PathBuf, Vec<PathBuf>> {
    let written_path = Path::new(written);
    let mut tried = Vec::new();
    let beside = match base {
        Some(b) => b.join(written_path),
        None => written_path.to_path_buf(),
    };
    if beside.is_file() {
        return Ok(beside);
    }
    tried.push(beside);
    if written_path.components().count() == 1 {
        let local = base.map(|b| b.join("data"));
        for dir in local.iter().chain(data_dirs) {
            let p = dir.join(written_path);
            if p.is_file() {
                return Ok(p);
            }
            tried.push(p);
        }
    }
    Err(tried)
}

impl Checker<'_> {
    pub(crate) fn datasets(&mut self, file: &ast::File) -> Datasets {
        let mut out = Datasets::default();
        for st in &file.statements {
            let is_reference = match &st.kind {
                StatementKind::Data(block) if block.kind == ast::DataKind::Table => continue,
                StatementKind::Data(block) => block.kind == ast::DataKind::Reference,
                StatementKind::ExactReference { .. } => true,
                _ => continue,
            };
            if is_reference && out.reference.is_some() {
                self.error(
                    Diag::error(
                        "pdenet::check::duplicate_statement",
                        "more than one `reference` block",
                    )
                    .label(st.span, "again here")
                    .help("one reference solution per problem"),
                );
                continue;
            }
            let made = match &st.kind {
                StatementKind::ExactReference { fields, sample } => {
                    self.exact_reference(fields, sample.as_ref())
                }
                StatementKind::Data(block) => self.dataset(block),
                _ => None,
            };
            if let Some((set, points)) = made {
                if is_reference {
                    out.reference = Some(out.sets.len());
                }
                out.sets.push(set);
                out.spans.push(st.span);
                out.points.push(points);
            } else {
                out.failed = true;
            }
        }
        out
    }

    fn dataset(&mut self, block: &ast::DataBlock) -> Option<(Dataset, usize)> {
        let opened = if self.opts.skip_data {
            None
        } else {
            self.open(block)
        };
        let mut set = Dataset::new(PathBuf::new(), block.file.clone());
        let mut ok = true;
        for m in &block.mappings {
            if let Some(c) = self.decls.coord(&m.name.name) {
                if m.axes.is_some() {
                    self.error(
                        Diag::error(
                            "pdenet::check::data_axes",
                            "a coordinate's grid is a vector and takes no axes",
                        )
                        .label(m.span, "remove the [..]"),
                    );
                }
                set.coords.push((c, m.variable.name.clone()));
            } else {
                ok &= self.data_field(m, &mut set).is_some();
            }
        }
        if let Some(s) = &block.sample {
            set.sample = self.count(s, "the sample size", 1.0);
        }
        match &block.noise {
            Some((n, true)) => {
                set.noise = self
                    .in_range(n, "the noise level", 0.0, 100.0, true)
                    .unwrap_or(0.0)
                    / 100.0;
            }
            Some((n, false)) => {
                set.noise = self
                    .in_range(n, "the noise's standard deviation", 0.0, 1e300, true)
                    .unwrap_or(0.0);
                set.noise_relative = false;
            }
            None => {}
        }
        for snap in &block.snapshots {
            ok &= self.snapshot(snap, &mut set).is_some();
        }
        if set.fields.is_empty() {
            self.error(
                Diag::error("pdenet::check::data_no_field", "this block maps no field")
                    .label(block.file_span, "nothing to compare with")
                    .help("map a field to a variable, e.g. `u = usol[x, t]`"),
            );
            ok = false;
        }
        if self.opts.skip_data {
            return ok.then_some((set, 0));
        }
        let (path, mat) = opened?;
        set.path = path;
        let points = self.data_shapes(block, &set, &mat)?;
        set.arrays = mapped_arrays(&set, mat);
        if let Some(n) = set.sample {
            if set.snapshots.is_empty() && n > points {
                self.error(
                    Diag::error(
                        "pdenet::check::sample_too_large",
                        format!("cannot sample {n} of {points} data points"),
                    )
                    .label(
                        block.sample.as_ref().map_or(block.file_span, |s| s.span),
                        "too many",
                    )
                    .help(format!("sample at most {points}")),
                );
                ok = false;
            }
        }
        ok.then_some((set, points))
    }

    pub(crate) fn open(&mut self, block: &ast::DataBlock) -> Option<(PathBuf, MatData)> {
        let path = match resolve_data_path(
            &block.file,
            self.opts.base_dir.as_deref(),
            &self.opts.data_dirs,
        ) {
            Ok(p) => p,
            Err(tried) => {
                let places: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
                self.error(
                    Diag::error("pdenet::check::data_missing", format!("data file `{}` not found", block.file))
                        .label(block.file_span, "no such file")
                        .help(format!("looked in {}; bare names are found beside the .pde file, in data/ beside it, then in --data-dir or PDENET_DATA", places.join(", "))),
                );
                return None;
            }
        };
        match read_data(&path) {
            Ok(mat) => Some((path, mat)),
            Err(e) => {
                self.error(
                    Diag::error("pdenet::check::data_unreadable", e.message)
                        .label(block.file_span, "cannot be read")
                        .help(e.help),
                );
                None
            }
        }
    }

    pub(crate) fn data_field(&mut self, m: &ast::Mapping, set: &mut Dataset) -> Option<()> {
        let known = self.decls.names();
        let is_quantity = self.decls.fields.iter().any(|f| f.name.name == m.name.name)
            || self
                .decls
                .lets
                .iter()
                .any(|l| l.binding.name.name == m.name.name);
        if !is_quantity {
            let d = Diag::error(
                "pdenet::check::data_unknown_name",
                format!("`{}` is neither a coordinate nor a field", m.name.name),
            )
            .label(m.name.span, "maps to nothing in this problem");
            let d = match suggest(&m.name.name, known) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "map coordinates ({}) and fields or lets",
                    self.decls.coord_names()
                )),
            };
            self.error(d);
            return None;
        }
        let mut axes = Vec::new();
        for a in m.axes.iter().flatten() {
            match self.decls.coord(&a.name) {
                Some(c) if !axes.contains(&c) => axes.push(c),
                Some(_) => {
                    self.error(
                        Diag::error(
                            "pdenet::check::data_axes",
                            format!("axis `{}` is named twice", a.name),
                        )
                        .label(a.span, "repeated axis"),
                    );
                    return None;
                }
                None => {
                    self.error(
                        Diag::error(
                            "pdenet::check::data_axes",
                            format!("axis `{}` is not a coordinate", a.name),
                        )
                        .label(a.span, "not a coordinate")
                        .help(format!("the domain declares {}", self.decls.coord_names())),
                    );
                    return None;
                }
            }
        }
        let scope = Scope::default();
        let name = ast::Expr {
            kind: ast::ExprKind::Name(m.name.name.clone()),
            span: m.name.span,
        };
        let v = self.lower(&name, &scope)?;
        let mut value = vec![v.re];
        value.extend(v.im);
        set.fields.push(DataField {
            field: m.name.name.clone(),
            value,
            variable: m.variable.name.clone(),
            axes,
        });
        Some(())
    }

    fn snapshot(&mut self, snap: &ast::Snapshot, set: &mut Dataset) -> Option<()> {
        let c = self.coordinate_named(&snap.coord, "not a coordinate");
        let v = self.constant(&snap.value, "a snapshot time")?;
        let n = match &snap.sample {
            Some(s) => Some(self.count(s, "the sample size", 1.0)?),
            None => None,
        };
        let c = self.decls.coords.get(c?.0)?.coord.clone();
        if v < c.lo || v > c.hi {
            self.error(
                Diag::error(
                    "pdenet::check::outside_domain",
                    format!("{} = {v} lies outside [{}, {}]", c.name, c.lo, c.hi),
                )
                .label(snap.value.span, "outside the domain"),
            );
            return None;
        }
        set.snapshots.push((v, n));
        Some(())
    }

    /// Checks every mapped variable against the file; returns the number of points.
    fn data_shapes(
        &mut self,
        block: &ast::DataBlock,
        set: &Dataset,
        mat: &MatData,
    ) -> Option<usize> {
        let var_span = |name: &str| {
            block
                .mappings
                .iter()
                .find(|m| m.variable.name == name)
                .map_or(block.file_span, |m| m.variable.span)
        };
        let mut grid = Vec::new();
        for (c, var) in &set.coords {
            let a = self.variable(mat, var, var_span(var))?;
            if !a.is_vector() {
                let shape = shape_text(&a.shape);
                self.error(
                    Diag::error(
                        "pdenet::check::data_shape",
                        format!("`{var}` is {shape}, but a coordinate's grid must be a vector"),
                    )
                    .label(var_span(var), "not a vector"),
                );
                return None;
            }
            grid.push((*c, a.len()));
        }
        let mut points = None;
        for f in &set.fields {
            let a = self.variable(mat, &f.variable, var_span(&f.variable))?;
            let complex_field = f.value.len() == 2;
            if complex_field != a.is_complex() {
                let (want, got) = if complex_field {
                    ("complex", "real")
                } else {
                    ("real", "complex")
                };
                self.error(
                    Diag::error(
                        "pdenet::check::data_complex",
                        format!(
                            "`{}` is {want} but `{}` holds {got} numbers",
                            f.field, f.variable
                        ),
                    )
                    .label(var_span(&f.variable), format!("{got} data"))
                    .help(if complex_field {
                        "map a complex field to a complex variable".to_string()
                    } else {
                        format!(
                            "declare `{}` complex: `field {}(…): complex`",
                            f.field, f.field
                        )
                    }),
                );
                return None;
            }
            let n = self.field_shape(f, a, &grid, var_span(&f.variable))?;
            points = Some(n);
        }
        let missing: Vec<String> = self
            .decls
            .coords
            .iter()
            .enumerate()
            .filter(|(c, _)| !set.coords.iter().any(|(k, _)| k.0 == *c))
            .map(|(_, c)| c.coord.name.clone())
            .collect();
        if !missing.is_empty() {
            self.error(
                Diag::error(
                    "pdenet::check::data_missing_coordinate",
                    format!(
                        "the block does not say where coordinate{} {} are",
                        if missing.len() > 1 { "s" } else { "" },
                        missing.join(", ")
                    ),
                )
                .label(block.file_span, "incomplete mapping")
                .help(format!(
                    "map each coordinate to its grid, e.g. `{0} = {0}`",
                    missing[0]
                )),
            );
            return None;
        }
        points
    }

    pub(crate) fn variable<'m>(
        &mut self,
        mat: &'m MatData,
        name: &str,
        span: Span,
    ) -> Option<&'m Array> {
        match mat.require(name) {
            Ok(a) => Some(a),
            Err(e) => {
                self.error(
                    Diag::error("pdenet::check::data_variable", e.to_string())
                        .label(span, "not in the file")
                        .help(format!("the file holds {}", mat.names().join(", "))),
                );
                None
            }
        }
    }

    /// A field's array must have one axis per named coordinate with that grid's
    /// length; without axes, it is a scattered list as long as every grid vector.
    pub(crate) fn field_shape(
        &mut self,
        f: &DataField,
        a: &Array,
        grid: &[(CoordId, usize)],
        span: Span,
    ) -> Option<usize> {
        let dims: Vec<usize> = a.shape.iter().copied().filter(|&d| d != 1).collect();
        if f.axes.is_empty() {
            if dims.len() <= 1 && grid.iter().all(|(_, n)| *n == a.len()) {
                return Some(a.len());
            }
            let names: Vec<String> = grid
                .iter()
                .map(|(c, _)| self.decls.coords[c.0].coord.name.clone())
                .collect();
            self.error(
                Diag::error(
                    "pdenet::check::data_axes",
                    format!(
                        "`{}` is {}: say which axis is which coordinate",
                        f.variable,
                        shape_text(&a.shape)
                    ),
                )
                .label(span, "axis order not given")
                .help(format!(
                    "write e.g. `{} = {}[{}]` in the file's axis order",
                    f.field,
                    f.variable,
                    names.join(", ")
                )),
            );
            return None;
        }
        let want: Vec<usize> = f
            .axes
            .iter()
            .map(|c| grid.iter().find(|(k, _)| k == c).map_or(0, |(_, n)| *n))
            .collect();
        let full: Vec<usize> = a.shape.iter().copied().take(want.len()).collect();
        let fits = full == want && a.shape.iter().skip(want.len()).all(|&d| d == 1);
        if !fits {
            let axes: Vec<String> = f
                .axes
                .iter()
                .map(|c| self.decls.coords[c.0].coord.name.clone())
                .collect();
            let lens: Vec<String> = want.iter().map(usize::to_string).collect();
            self.error(
                Diag::error(
                    "pdenet::check::data_shape",
                    format!(
                        "`{}` is {}, but [{}] means {}",
                        f.variable,
                        shape_text(&a.shape),
                        axes.join(", "),
                        lens.join("×")
                    ),
                )
                .label(span, "shape does not fit the grids")
                .help("list the axes in the file's order; each coordinate's grid must be mapped"),
            );
            return None;
        }
        Some(a.len())
    }
}

/// The variables the set maps (grids and fields), taken out of the file's contents;
/// the rest of the file is dropped.
fn mapped_arrays(set: &Dataset, mat: MatData) -> DataArrays {
    let wanted = |name: &str| {
        set.coords.iter().any(|(_, v)| v == name) || set.fields.iter().any(|f| f.variable == name)
    };
    DataArrays(
        mat.arrays
            .into_iter()
            .filter(|a| wanted(&a.name))
            .map(std::sync::Arc::new)
            .collect(),
    )
}

fn shape_text(shape: &[usize]) -> String {
    let s: Vec<String> = shape.iter().map(usize::to_string).collect();
    s.join("×")
}
