//! The checked problem: the plain data type between the front end (`check`) and
//! everything after it (`sym`, `net`, `kernel`, `train`).
//!
//! Everything here is resolved: names are indices, `let`s, `def`s and trial functions
//! are inlined, complex fields are split into real parts, `periodic` has become
//! matching terms. Nothing here refers to the source text except the spans kept
//! for later diagnostics (a discrete-time step's equation), and nothing here knows of pest or egg.

use crate::backend::Precision;
use crate::expr::{CoordId, Expr, OutputId};
use crate::geometry::Shape;
use crate::io::Array;
use crate::syntax::ast::Span;

/// A fully resolved PINN problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The problem's name: the `.pde` file's stem (`burgers`).
    pub name: String,
    /// Coordinates in declaration order with their bounds (for a region's
    /// coordinates, its shape's bounding box).
    pub coords: Vec<Coord>,
    /// `domain (x, y) ∈ SHAPE`: the spatial coordinates' shape, when it is not the
    /// box of their intervals.
    pub region: Option<Region>,
    /// Scalar unknowns (λ, E): trainable alongside the network.
    pub params: Vec<Param>,
    /// Named constants after folding (`ν = 0.0031831`), kept for printing only;
    /// every use in an expression has already been replaced by its value.
    pub consts: Vec<(String, f64)>,
    /// The networks: which coordinates feed each, its layers and its outputs. One
    /// network per set of coordinates the fields depend on (`field a(x, y)` beside
    /// `field u(x, y, t)` gets its own network over x and y); the first holds the
    /// fields over every coordinate. Output ids count through them in order.
    pub networks: Vec<Network>,
    /// The fields the user declared, as expressions over network outputs (for
    /// errors, predictions and plots). A complex field appears as its two parts.
    pub fields: Vec<Field>,
    /// Shared subexpressions referenced by [`Expr::Shared`] (the IRK stage
    /// right-hand sides N[u^{n+c_j}]); each may use only earlier entries.
    pub shared: Vec<Expr>,
    /// Every loss term; the total loss is Σ weight · reduce(residual²).
    pub terms: Vec<LossTerm>,
    /// Point sets the terms are evaluated on.
    pub point_sets: Vec<PointSet>,
    /// Data files: the `data` blocks (used in loss terms) and the `reference`
    /// block (used only for the reported errors).
    pub datasets: Vec<Dataset>,
    /// Index into `datasets` of the reference solution, if any.
    pub reference: Option<usize>,
    /// `table` blocks: quantities given on grids, read in residuals as
    /// [`Expr::Table`] until `table::to_columns` makes them data columns.
    pub tables: Vec<crate::table::Table>,
    /// The time-stepping scheme, if the problem is discrete in time.
    pub scheme: Option<Scheme>,
    /// `sample collocation N rad(...)`: the collocation set redrawn during training.
    pub resampling: Option<Resampling>,
    /// Where causal weights apply when a phase asks for them (`adam(…, causal = ε)`):
    /// the kernel weighs each point of this set's equations by a weight column.
    pub causal: Option<CausalSet>,
    /// The point sets whose points carry self-adaptive weights when a phase asks for
    /// them (`adam(…, self_adaptive = η)`): every set of equations or conditions.
    pub self_adaptive: Vec<usize>,
    /// Optimizer phases in order (`adam(...) then lbfgs(...)`).
    pub training: Vec<Phase>,
}

impl Problem {
    /// Every network output's name, in output-id order.
    pub fn outputs(&self) -> impl Iterator<Item = &String> {
        self.networks.iter().flat_map(|n| n.outputs.iter())
    }

    /// The network that computes `output` and the output's place in it.
    pub fn output_of(&self, output: OutputId) -> Option<(usize, usize)> {
        let mut k = output.0;
        for (n, net) in self.networks.iter().enumerate() {
            if k < net.outputs.len() {
                return Some((n, k));
            }
            k -= net.outputs.len();
        }
        None
    }

    /// The coordinates some network reads, in coordinate order: where points are
    /// drawn (every coordinate but a discrete-time scheme's time).
    pub fn inputs(&self) -> Vec<CoordId> {
        let mut all: Vec<CoordId> = self
            .networks
            .iter()
            .flat_map(|n| n.inputs.iter().copied())
            .collect();
        all.sort_by_key(|c| c.0);
        all.dedup();
        all
    }

    /// The number of trainable numbers in the networks (PDE parameters excluded).
    pub fn network_params(&self) -> usize {
        self.networks.iter().map(Network::param_count).sum()
    }

    /// The data columns a point set's points carry before its tables'
    /// (`PointSet::tables`): a data set's mapped values (two for a complex field), a
    /// boundary piece's outward normal, nothing for the others.
    pub fn own_columns(&self, set: &PointSet) -> usize {
        match set.kind {
            PointKind::Data { dataset, .. } => self.datasets[dataset]
                .fields
                .iter()
                .map(|f| f.value.len())
                .sum(),
            PointKind::Piece { .. } => self.region.as_ref().map_or(0, |r| r.coords.len()),
            _ => 0,
        }
    }

    /// Whether the kernel weighs each point's squared residuals on `set` by the set's
    /// weight column (causal or self-adaptive weights; 1 when no phase sets them).
    pub fn weighted(&self, set: usize) -> bool {
        self.causal.is_some_and(|c| c.set == set) || self.self_adaptive.contains(&set)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Coord {
    pub name: String,
    pub lo: f64,
    pub hi: f64,
}

/// A derivative suffix read as coordinate names, longest name first: `xt` → [x, t]
/// with coordinates x and t, `x1x2` → [x1, x2] with x1…x5. `None` when some part is
/// no coordinate's name. (The checker rejects a multi-letter name made of others,
/// such as `xt` beside x and t, so the reading is never ambiguous.)
pub fn split_suffix(names: &[&str], mut suffix: &str) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(names[i].len()));
    let mut out = Vec::new();
    while !suffix.is_empty() {
        let c = order
            .iter()
            .copied()
            .find(|&i| !names[i].is_empty() && suffix.starts_with(names[i]))?;
        suffix = &suffix[names[c].len()..];
        out.push(c);
    }
    (!out.is_empty()).then_some(out)
}

/// A domain whose spatial part is a shape (`domain (x, y) ∈ plate − hole`).
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    /// The coordinates that are the shape's axes, in order.
    pub coords: Vec<CoordId>,
    pub shape: Shape,
    /// The named shapes (`shape hole = …`): the boundary pieces a condition can
    /// name (`on hole`), [`PointKind::Piece`]'s index.
    pub pieces: Vec<(String, Shape)>,
}

impl Region {
    /// Whether the point whose coordinates are `coords` (one value per problem
    /// coordinate) lies in the shape.
    pub fn contains(&self, coords: &[f64]) -> bool {
        let x: Vec<f64> = self.coords.iter().map(|c| coords[c.0]).collect();
        self.shape.contains(&x)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    /// The initial value as written (for a positive param: the value, not its log).
    pub init: f64,
    /// Trained as its logarithm: the kernel sees exp(raw).
    pub positive: bool,
    /// The true value when the file gives it (`param λ1 = 0 exact 1`): the run
    /// reports the recovered value's relative error.
    pub exact: Option<f64>,
}

impl Param {
    /// The relative error |value − exact| / |exact| of a recovered value, when the true
    /// value is known.
    pub fn rel_error(&self, value: f64) -> Option<f64> {
        self.exact.map(|exact| (value - exact).abs() / exact.abs())
    }

    /// The value θ's entry `raw` stands for: exp(raw) for a positive parameter.
    pub fn value(&self, raw: f64) -> f64 {
        if self.positive {
            raw.exp()
        } else {
            raw
        }
    }
}

/// A user-visible field: one real quantity the user can ask for (`u`, `ψ`, `re(h)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The field as an expression over network outputs and coordinates (a trial
    /// function `x*(1-x)*net(x)` stays an expression here).
    pub value: Expr,
    /// For the parts of a complex field: the complex field's name, and whether
    /// this is the real (false) or imaginary (true) part.
    pub complex_of: Option<(String, bool)>,
}

/// The network: a stack of layers, each an instance of a `layer` definition from the
/// stdlib or the file, with its shapes fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// The network kind as written (`qres`).
    pub kind: String,
    /// Coordinates fed to the network, in order. Each is rescaled to [−1, 1] with
    /// its bounds before the first layer; that rescaling is part of the network.
    pub inputs: Vec<CoordId>,
    /// Names of the network outputs (`u`, `ψ`, `re(h)`, `u[3]` for an IRK stage).
    pub outputs: Vec<String>,
    pub layers: Vec<Layer>,
}

impl Network {
    /// The number of trainable numbers in the network (PDE parameters excluded).
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(Layer::param_count).sum()
    }
}

impl Layer {
    pub fn param_count(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| match t.shape {
                TensorShape::Matrix => self.inputs * self.outputs,
                TensorShape::Vector => self.outputs,
                TensorShape::Scalar => 1,
            })
            .sum()
    }
}

/// One layer: `out = body(h)` where h has `inputs` entries and out has `outputs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The layer definition's name (`qres`, or `qres.last` for its output variant).
    pub kind: String,
    pub inputs: usize,
    pub outputs: usize,
    /// Trainable tensors of this layer in a fixed order (the order of first use in
    /// the body): the parameter vector θ lays them out layer by layer in this order.
    pub tensors: Vec<Tensor>,
    /// The body with the activation and every `def` inlined.
    pub body: LayerExpr,
    /// The values of the `where` definitions the body reads ([`LayerExpr::Local`]),
    /// each after those it reads: a recurrence's members are shared, not copied.
    pub locals: Vec<LayerExpr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: TensorShape,
    pub init: Init,
    /// Kept at its initial value: its gradient is zeroed before the optimizer.
    pub fixed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TensorShape {
    /// outputs × inputs, row-major; used as the left operand of `·`.
    Matrix,
    /// One entry per output.
    Vector,
    /// One number per layer (APINN's slope a).
    Scalar,
}

impl TensorShape {
    pub fn word(self) -> &'static str {
        match self {
            TensorShape::Matrix => "matrix",
            TensorShape::Vector => "vector",
            TensorShape::Scalar => "scalar",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Truncated normal, std gain·√(2/(in+out)), cut at two standard deviations.
    Xavier(f64),
    Zeros,
    /// Truncated normal with the given std, cut at two standard deviations.
    Normal(f64),
    /// A matrix's entries in column j drawn as `Normal(std[j])`: one scale per input
    /// (Fourier features of different frequency along each coordinate).
    NormalColumns(Vec<f64>),
    Constant(f64),
}

/// A layer body: a vector-valued expression of the layer input `h`.
/// Element-wise semantics unless stated; scalars broadcast.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerExpr {
    /// The layer input h (a vector of `inputs` entries).
    Input,
    /// A trainable tensor of this layer, by index into [`Layer::tensors`]: a vector
    /// or a scalar, or inside [`LayerExpr::Edges`] a matrix (one entry per edge).
    Tensor(usize),
    /// A local value, by index into [`Layer::locals`]: computed once, however often
    /// it is read.
    Local(usize),
    /// Entry j is x_{j+by}: zero past the ends, or wrapped around when `periodic`.
    Shift {
        x: Box<LayerExpr>,
        by: i32,
        periodic: bool,
    },
    /// `edges(e)`: e has one entry per edge (i, j) of the layer, outputs × inputs
    /// row-major; the result is its sum over j, one entry per output.
    Edges(Box<LayerExpr>),
    /// Inside `edges`: the layer input as each edge sees it, entry (i, j) = h_j.
    EdgeInput,
    /// Matrix (by tensor index) times a vector expression.
    MatVec(usize, Box<LayerExpr>),
    /// `skip(h)`: h where the layer's input and output widths are equal, else 0.
    Skip(Box<LayerExpr>),
    Num(f64),
    Add(Box<LayerExpr>, Box<LayerExpr>),
    Sub(Box<LayerExpr>, Box<LayerExpr>),
    /// Element-wise (Hadamard) product; also scalar × vector.
    Mul(Box<LayerExpr>, Box<LayerExpr>),
    Div(Box<LayerExpr>, Box<LayerExpr>),
    Neg(Box<LayerExpr>),
    /// Integer power (x^2, x^3): the only powers a layer body may use.
    Powi(Box<LayerExpr>, i32),
    Call(crate::expr::Func, Box<LayerExpr>),
}

/// The generic walks, as for [`Expr`]: only these matches and the passes that decide
/// per node kind (the jets) must learn about a new node.
impl LayerExpr {
    /// Whether `f` holds for this node or any node below it.
    pub fn any(&self, f: &dyn Fn(&LayerExpr) -> bool) -> bool {
        f(self) || self.children().into_iter().any(|c| c.any(f))
    }

    /// The direct subexpressions, left to right.
    pub fn children(&self) -> Vec<&LayerExpr> {
        match self {
            LayerExpr::Input
            | LayerExpr::Tensor(_)
            | LayerExpr::Num(_)
            | LayerExpr::Local(_)
            | LayerExpr::EdgeInput => vec![],
            LayerExpr::MatVec(_, x)
            | LayerExpr::Shift { x, .. }
            | LayerExpr::Edges(x)
            | LayerExpr::Skip(x)
            | LayerExpr::Neg(x)
            | LayerExpr::Powi(x, _)
            | LayerExpr::Call(_, x) => vec![x],
            LayerExpr::Add(x, y)
            | LayerExpr::Sub(x, y)
            | LayerExpr::Mul(x, y)
            | LayerExpr::Div(x, y) => vec![x, y],
        }
    }

    /// The same node over `f` of each child (a leaf is cloned).
    pub fn map_children(&self, mut f: impl FnMut(&LayerExpr) -> LayerExpr) -> LayerExpr {
        let mut b = |x: &LayerExpr| Box::new(f(x));
        match self {
            LayerExpr::Input
            | LayerExpr::Tensor(_)
            | LayerExpr::Num(_)
            | LayerExpr::Local(_)
            | LayerExpr::EdgeInput => self.clone(),
            LayerExpr::MatVec(i, x) => LayerExpr::MatVec(*i, b(x)),
            LayerExpr::Shift { x, by, periodic } => LayerExpr::Shift {
                x: b(x),
                by: *by,
                periodic: *periodic,
            },
            LayerExpr::Edges(x) => LayerExpr::Edges(b(x)),
            LayerExpr::Skip(x) => LayerExpr::Skip(b(x)),
            LayerExpr::Neg(x) => LayerExpr::Neg(b(x)),
            LayerExpr::Powi(x, n) => LayerExpr::Powi(b(x), *n),
            LayerExpr::Call(func, x) => LayerExpr::Call(*func, b(x)),
            LayerExpr::Add(x, y) => LayerExpr::Add(b(x), b(y)),
            LayerExpr::Sub(x, y) => LayerExpr::Sub(b(x), b(y)),
            LayerExpr::Mul(x, y) => LayerExpr::Mul(b(x), b(y)),
            LayerExpr::Div(x, y) => LayerExpr::Div(b(x), b(y)),
        }
    }
}

/// One term of the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct LossTerm {
    /// A readable name, unique in the problem: `equation`, `equation 2`, `initial`,
    /// `boundary x = -1`, `periodic x`, `data u`, `constraint`, `re(equation)`.
    pub name: String,
    /// Index into [`Problem::point_sets`].
    pub points: usize,
    /// The residuals: one squared-error contribution per point and per entry.
    /// Several entries when one condition gives several residuals at a point
    /// (periodic: value and first derivative; IRK: one per stage).
    pub residuals: Vec<Expr>,
    pub weight: f64,
    pub reduce: Reduce,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reduce {
    /// (1/N) Σ_points Σ_entries r²
    Mean,
    /// Σ_points Σ_entries r²
    Sum,
    /// (Σ_points w_p · r − target)²: an integral constraint (`∫ψ² dx = 1`) whose
    /// residual is the integrand; the point set carries the quadrature weights.
    Integral { target: f64 },
}

/// Where a term is evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct PointSet {
    pub name: String,
    pub kind: PointKind,
    /// Number of points (for data sets: the sample count; 0 = every grid point).
    pub count: usize,
    /// Other places the network is evaluated for each point: site k > 0 moves the
    /// point's coordinate `.0` to value `.1` (periodic matching: site 1 is the far
    /// end). [`Expr::Out`] picks its site.
    pub sites: Vec<(CoordId, f64)>,
    /// The tables (index into `Problem::tables`, derivative) the set's residuals read,
    /// as data columns after the set's own ([`Problem::own_columns`]).
    pub tables: Vec<(usize, crate::expr::Deriv)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PointKind {
    /// Interior points of the domain (network inputs only, for IRK).
    Collocation { method: Sampling },
    /// Points with `coord` fixed at `value`, the other coordinates sampled.
    Slice {
        coord: CoordId,
        value: f64,
        method: Sampling,
    },
    /// Points on the part of the domain's boundary that region piece `piece` makes
    /// (`on hole`), the coordinates outside the region (time) sampled by `method`.
    /// Data columns 0…d−1 are the outward unit normal there.
    Piece { piece: usize, method: Sampling },
    /// Points with the `fixed` coordinates at their values and the `within` ones in
    /// their ranges, the rest sampled by `method` (`on x = 0, y ∈ [0, 0.5]`, `at x =
    /// 0, y = 0`).
    Part {
        fixed: Vec<(CoordId, f64)>,
        within: Vec<(CoordId, f64, f64)>,
        method: Sampling,
    },
    /// Points from a dataset's grid; `at` selects a snapshot (coord, value) by the
    /// nearest grid value. Data columns are the dataset's fields, in order.
    Data {
        dataset: usize,
        at: Option<(CoordId, f64)>,
    },
    /// A uniform quadrature grid over the network inputs, with trapezoid weights.
    Quadrature,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    Latin,
    Uniform,
    /// A regular grid (used for 1-D problems and quadrature).
    Grid,
    /// Quasi-random: the Halton sequence (prime bases 2, 3, 5, … per coordinate)
    /// from a random start, shifted by a random offset modulo 1 per coordinate.
    Halton,
}

/// A data file with its variable mapping. Shapes were checked against the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The path as resolved (beside the .pde, then --data-dir / PDENET_DATA).
    pub path: std::path::PathBuf,
    /// The variables the block maps, as `check` read them: the file is read once, so
    /// training sees exactly the numbers that were checked, even if the file changes.
    pub arrays: DataArrays,
    /// The name as written in the file.
    pub written: String,
    /// Coordinate → 1-D variable in the file holding its grid values.
    pub coords: Vec<(CoordId, String)>,
    /// Field name → variable and the coordinate of each array axis, in file order
    /// (`u = usol[x, t]`).
    pub fields: Vec<DataField>,
    /// Random subset size (`sample 2000`), per snapshot when `snapshots` is set.
    pub sample: Option<usize>,
    /// Noise added to the data: u + noise·std(u)·N(0, 1) when `noise_relative`
    /// (`noise 1%` = 0.01), u + noise·N(0, 1) otherwise (`noise 0.1`).
    pub noise: f64,
    pub noise_relative: bool,
    /// Snapshots (time value, sample count) for discrete-time data.
    pub snapshots: Vec<(f64, Option<usize>)>,
}

impl Dataset {
    /// A set with nothing mapped yet, read from `path` (written `written`).
    pub fn new(path: std::path::PathBuf, written: String) -> Dataset {
        Dataset {
            path,
            arrays: DataArrays::default(),
            written,
            coords: Vec::new(),
            fields: Vec::new(),
            sample: None,
            noise: 0.0,
            noise_relative: true,
            snapshots: Vec::new(),
        }
    }
}

/// The arrays of one data file, by variable name. Shared (`Arc`), so cloning a problem
/// does not copy its data; empty when the checker left the files unopened
/// (`check::Options::skip_data`).
#[derive(Clone, Default, PartialEq)]
pub struct DataArrays(pub Vec<std::sync::Arc<Array>>);

impl DataArrays {
    pub fn get(&self, variable: &str) -> Option<&Array> {
        self.0.iter().find(|a| a.name == variable).map(|a| &**a)
    }
}

/// Names and shapes only: a problem's debug output must not print its data.
impl std::fmt::Debug for DataArrays {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|a| (&a.name, &a.shape)))
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataField {
    /// The name the data observes (a field, a complex field or a `let`).
    pub field: String,
    /// That quantity over network outputs: one expression, or two (real and
    /// imaginary part) for a complex field, whose data fill two columns.
    pub value: Vec<Expr>,
    pub variable: String,
    pub axes: Vec<CoordId>,
}

/// `scheme irk(stages = q) from t = a to t = b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheme {
    pub stages: usize,
    pub coord: CoordId,
    pub from: f64,
    pub to: f64,
    /// The one equation R = 0 over output 0 (a placeholder for every stage), as
    /// checked; `scheme::discretize` solves it for u_t and builds the stage terms.
    /// `None` only while the checker has not reached the equations.
    pub equation: Option<StepEquation>,
    /// Whether the network also predicts the value at the end time (no data there).
    pub predicts_end: bool,
}

/// The equation of a discrete-time step, with its span for the diagnostics of solving
/// it for u_t.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEquation {
    pub residual: Expr,
    pub span: Span,
}

/// One optimizer phase: the settings `train::optim::build` makes an optimizer from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    Adam {
        lr: f64,
        epochs: usize,
        beta1: f64,
        beta2: f64,
        /// `decay = γ, every = k`; `None` keeps the learning rate constant.
        decay: Option<Decay>,
        /// `cosine = lr_end`: half a cosine from `lr` down to lr_end over the epochs
        /// after the warm-up (never together with `decay`).
        cosine: Option<f64>,
        /// `warmup = k`: the learning rate grows linearly to `lr` over the first k
        /// epochs.
        warmup: usize,
        precision: Option<Precision>,
        /// `balance = gradnorm | ntk`: the terms' weights adapted during the phase.
        balance: Option<Balance>,
        /// `causal = ε`: the equations' points weighted in time during the phase.
        causal: Option<Causal>,
        /// `self_adaptive = η`: a trained weight per point (McClenny & Braga-Neto).
        self_adaptive: Option<SelfAdaptive>,
    },
    Lbfgs {
        iterations: usize,
        tol: f64,
        history: usize,
        precision: Option<Precision>,
    },
    /// A dense-Hessian method: `bfgs`, `ssbfgs`, `ssbfgs_ol`, `ssbroyden`, `ssbroyden1`.
    Dense {
        rule: DenseRule,
        iterations: usize,
        /// Stop when max |∂loss/∂θᵢ| ≤ tol.
        tol: f64,
        /// The strong Wolfe constants of the line search.
        c1: f64,
        c2: f64,
        /// Reset H to a scaled identity every `reset` iterations (0: only when a guard
        /// says so).
        reset: usize,
        precision: Option<Precision>,
    },
}

/// Loss weights adapted during a phase: every `every` steps each term's multiplier λᵢ
/// moves towards Σⱼ sⱼ / sᵢ with momentum `alpha`, where sᵢ is the term's size under
/// `rule`, so that no term dominates the others. The multipliers stay as they are after
/// the phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balance {
    pub rule: BalanceRule,
    pub every: usize,
    pub alpha: f64,
}

/// What a term's size is, for [`Balance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceRule {
    /// `gradnorm`: ‖∇θ wᵢLᵢ‖ (learning-rate annealing: Wang, Teng & Perdikaris 2021, in
    /// the form of Wang et al. 2023's "expert's guide" and jaxpi).
    GradNorm,
    /// `ntk`: the mean diagonal of the term's neural tangent kernel, wᵢ‖∇θ rᵢ(x)‖²
    /// averaged over the term's points (Wang, Yu & Perdikaris 2022, as jaxpi averages
    /// it).
    Ntk,
}

impl BalanceRule {
    pub const ALL: [BalanceRule; 2] = [BalanceRule::GradNorm, BalanceRule::Ntk];

    /// The rule's name in a `train` statement.
    pub fn name(self) -> &'static str {
        match self {
            BalanceRule::GradNorm => "gradnorm",
            BalanceRule::Ntk => "ntk",
        }
    }
}

/// Causal weighting in time (Wang, Sankaran & Perdikaris 2024, "Respecting causality
/// for training physics-informed neural networks", as jaxpi does it): the time span is
/// cut into `chunks` equal intervals, Lᵢ is the mean weighted squared residual of the
/// equations on the points of interval i, and those points weigh
/// wᵢ = exp(−tol · Σ_{k<i} L_k), recomputed every `every` steps. The network must fit
/// early times before the loss lets later ones pull on it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Causal {
    pub tol: f64,
    pub chunks: usize,
    pub every: usize,
}

/// Self-adaptive weights (McClenny & Braga-Neto 2023, "Self-adaptive physics-informed
/// neural networks"): each point i of a weighted set carries a weight λᵢ, its squared
/// residual enters the loss as λᵢ² rᵢ², and the λ climb the loss (gradient ascent, by
/// Adam as the authors' code does) while θ descends it, so points that stay wrong
/// weigh more. Every `every` steps one ascent step of rate `lr` from the residuals at
/// the current θ. The weights stay as they are after the phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelfAdaptive {
    pub lr: f64,
    pub every: usize,
}

/// The point set causal weights apply to (the continuous-time collocation set) and the
/// coordinate that is time (the one the `initial` condition fixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CausalSet {
    pub set: usize,
    pub time: CoordId,
}

/// Residual-based adaptive resampling of a collocation set (RAD; Wu, Zhu, Tan, Kartha
/// & Lu 2023): every `every` steps of each phase, `candidates` points are drawn
/// uniformly, and the set's points are drawn from them without replacement with
/// density ∝ |r|^k / mean |r|^k + c, where r² is the sum of the set's squared
/// residuals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resampling {
    /// The point set redrawn (the collocation set).
    pub set: usize,
    pub every: usize,
    pub k: f64,
    pub c: f64,
    pub candidates: usize,
}

/// Which dense quasi-Newton update a `Phase::Dense` uses (see `train::optim::dense`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseRule {
    /// `bfgs`.
    Bfgs,
    /// `ssbfgs`: self-scaled BFGS with Al-Baali's scaling.
    SsbfgsAb,
    /// `ssbfgs_ol`: self-scaled BFGS with Oren & Luenberger's scaling.
    SsbfgsOl,
    /// `ssbroyden`: self-scaled Broyden (the papers' SSBroyden2).
    SsBroyden2,
    /// `ssbroyden1`: the papers' other self-scaled Broyden choice.
    SsBroyden1,
}

impl DenseRule {
    pub const ALL: [DenseRule; 5] = [
        DenseRule::Bfgs,
        DenseRule::SsbfgsAb,
        DenseRule::SsbfgsOl,
        DenseRule::SsBroyden2,
        DenseRule::SsBroyden1,
    ];

    /// The optimizer's name in a `train` statement and in history.csv.
    pub fn name(self) -> &'static str {
        match self {
            DenseRule::Bfgs => "bfgs",
            DenseRule::SsbfgsAb => "ssbfgs",
            DenseRule::SsbfgsOl => "ssbfgs_ol",
            DenseRule::SsBroyden2 => "ssbroyden",
            DenseRule::SsBroyden1 => "ssbroyden1",
        }
    }
}

/// A step decay of the learning rate: lr · rate^⌊epoch / every⌋, epochs counted from 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay {
    pub rate: f64,
    pub every: u64,
}

impl Phase {
    /// The most steps (epochs, iterations) the phase takes.
    pub fn cap(&self) -> usize {
        match *self {
            Phase::Adam { epochs, .. } => epochs,
            Phase::Lbfgs { iterations, .. } | Phase::Dense { iterations, .. } => iterations,
        }
    }

    /// `precision = f32 | f64`: the kernel's number format during this phase (`None`:
    /// the run's default; `--precision` overrides every phase).
    pub fn precision(&self) -> Option<Precision> {
        match *self {
            Phase::Adam { precision, .. }
            | Phase::Lbfgs { precision, .. }
            | Phase::Dense { precision, .. } => precision,
        }
    }

    /// The phase's self-adaptive weighting, if any (`adam(…, self_adaptive = η)`).
    pub fn self_adaptive(&self) -> Option<SelfAdaptive> {
        match *self {
            Phase::Adam { self_adaptive, .. } => self_adaptive,
            Phase::Lbfgs { .. } | Phase::Dense { .. } => None,
        }
    }

    /// The phase's causal weighting, if any (`adam(…, causal = ε)`).
    pub fn causal(&self) -> Option<Causal> {
        match *self {
            Phase::Adam { causal, .. } => causal,
            Phase::Lbfgs { .. } | Phase::Dense { .. } => None,
        }
    }

    /// The phase's loss balancing, if any (`adam(…, balance = gradnorm)`).
    pub fn balance(&self) -> Option<Balance> {
        match *self {
            Phase::Adam { balance, .. } => balance,
            Phase::Lbfgs { .. } | Phase::Dense { .. } => None,
        }
    }

    /// The same phase in `precision` (`--precision`).
    pub fn in_precision(mut self, precision: Precision) -> Phase {
        match &mut self {
            Phase::Adam { precision: p, .. }
            | Phase::Lbfgs { precision: p, .. }
            | Phase::Dense { precision: p, .. } => *p = Some(precision),
        }
        self
    }

    /// The same phase with at most `cap` steps (`--epochs N`).
    pub fn capped(mut self, cap: usize) -> Phase {
        match &mut self {
            Phase::Adam { epochs: n, .. }
            | Phase::Lbfgs { iterations: n, .. }
            | Phase::Dense { iterations: n, .. } => {
                *n = (*n).min(cap);
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Func;

    /// W·(h ⊙ skip(h)) + (−t)^2 / sin(3 − h): every node kind once.
    fn body() -> LayerExpr {
        let b = Box::new;
        let h = || b(LayerExpr::Input);
        let product = LayerExpr::Mul(h(), b(LayerExpr::Skip(h())));
        let power = LayerExpr::Powi(b(LayerExpr::Neg(b(LayerExpr::Tensor(1)))), 2);
        let sine = LayerExpr::Call(Func::Sin, b(LayerExpr::Sub(b(LayerExpr::Num(3.0)), h())));
        LayerExpr::Add(
            b(LayerExpr::MatVec(0, b(product))),
            b(LayerExpr::Div(b(power), b(sine))),
        )
    }

    #[test]
    fn map_children_with_the_identity_rebuilds_the_body() {
        let e = body();
        fn copy(x: &LayerExpr) -> LayerExpr {
            x.map_children(copy)
        }
        assert_eq!(copy(&e), e);
    }

    #[test]
    fn children_are_in_order_and_any_sees_every_node() {
        let e = body();
        let LayerExpr::Add(left, right) = &e else {
            unreachable!()
        };
        assert_eq!(e.children(), vec![&**left, &**right]);
        assert!(e.any(&|x| matches!(x, LayerExpr::Skip(_))));
        assert!(e.any(&|x| matches!(x, LayerExpr::Num(v) if *v == 3.0)));
        assert!(!e.any(&|x| matches!(x, LayerExpr::Tensor(7))));
    }
}
