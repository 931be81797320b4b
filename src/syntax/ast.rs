//! The abstract syntax tree: what the file says, with byte spans, before any name
//! is resolved. Greek names are already normalized (`lambda1` is `λ1`).

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    /// The smallest span covering both.
    pub fn join(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.len()).into()
    }
}

/// A name with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub kind: StatementKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    Domain(Vec<DomainItem>),
    /// `shape hole = disk([0.3, 0.3], 0.1), …`
    Shape(Vec<(Ident, ShapeExpr)>),
    Field(Vec<FieldDecl>),
    Const(Vec<Binding>),
    Param(Vec<ParamDecl>),
    Let(Vec<Binding>),
    Def(FnDef),
    Equation {
        lhs: Expr,
        rhs: Expr,
        weight: Option<Expr>,
    },
    Condition {
        kind: ConditionKind,
        lhs: Expr,
        rhs: Expr,
        on: Vec<Locus>,
        /// `at x = 0, y = 0`: the loci fix their coordinates together.
        at: bool,
        weight: Option<Expr>,
    },
    Periodic {
        coords: Vec<Ident>,
        /// `(u, u_x, u_xx)`: what matches at the two ends; empty: every field and
        /// its first derivative.
        matched: Vec<Expr>,
        weight: Option<Expr>,
    },
    Constraint {
        integrand: Expr,
        var: Ident,
        value: Expr,
        weight: Option<Expr>,
    },
    Network(CallArgs),
    Layer(LayerDef),
    Sample(Vec<SampleItem>),
    Train(Vec<CallArgs>),
    Data(DataBlock),
    /// `table a = [[…], …] on x ∈ [lo, hi], y ∈ [lo, hi]`: a constant per cell of a
    /// regular grid (the outer list along the first coordinate).
    TableCells {
        name: Ident,
        values: ArrayLit,
        axes: Vec<Interval>,
    },
    /// `reference u = FORMULA, … sample N`: an exact solution.
    ExactReference {
        fields: Vec<Binding>,
        sample: Option<Expr>,
    },
    Scheme {
        kind: CallArgs,
        coord: Ident,
        from: Expr,
        to_coord: Ident,
        to: Expr,
    },
}

impl StatementKind {
    /// The keyword that starts the statement, for messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            StatementKind::Domain(_) => "domain",
            StatementKind::Shape(_) => "shape",
            StatementKind::Field(_) => "field",
            StatementKind::Const(_) => "const",
            StatementKind::Param(_) => "param",
            StatementKind::Let(_) => "let",
            StatementKind::Def(_) => "def",
            StatementKind::Equation { .. } => "equation",
            StatementKind::Condition { kind, .. } => match kind {
                ConditionKind::Initial => "initial",
                ConditionKind::Boundary => "boundary",
            },
            StatementKind::Periodic { .. } => "periodic",
            StatementKind::Constraint { .. } => "constraint",
            StatementKind::Network(_) => "network",
            StatementKind::Layer(_) => "layer",
            StatementKind::Sample(_) => "sample",
            StatementKind::Train(_) => "train",
            StatementKind::Data(d) => match d.kind {
                DataKind::Data => "data",
                DataKind::Reference => "reference",
                DataKind::Table => "table",
            },
            StatementKind::TableCells { .. } => "table",
            StatementKind::Scheme { .. } => "scheme",
            StatementKind::ExactReference { .. } => "reference",
        }
    }
}

/// One item of a `domain` statement: a coordinate's interval, or spatial
/// coordinates in a shape.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainItem {
    Interval(Interval),
    Region(Region),
}

/// `(x, y) ∈ SHAPE` in a `domain` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub coords: Vec<Ident>,
    pub shape: ShapeExpr,
    pub span: Span,
}

/// A shape: a primitive (`disk([0, 0], 1)`), a named shape, or a set operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeExpr {
    pub kind: ShapeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ShapeKind {
    Call(Ident, Vec<ShapeArg>),
    Name(Ident),
    Op(ShapeOp, Box<ShapeExpr>, Box<ShapeExpr>),
}

/// An argument of a primitive: a point `[x, y]` or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum ShapeArg {
    Point(Vec<Expr>, Span),
    Number(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeOp {
    Union,
    Intersection,
    Difference,
}

/// Where a condition holds: `x = 0` (a coordinate's value), `y ∈ [0, 0.5]` (a range
/// restricting the other loci) or `hole` (a shape's part of the domain's boundary).
#[derive(Debug, Clone, PartialEq)]
pub struct Locus {
    pub name: Ident,
    pub value: Option<Expr>,
    pub range: Option<(Expr, Expr)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub coord: Ident,
    pub lo: Expr,
    pub hi: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub args: Vec<Ident>,
    /// `: complex`, optionally naming the real and imaginary parts.
    pub complex: Option<Option<(Ident, Ident)>>,
    /// A trial-function definition (`ψ(x) = x*(1 - x)*net(x)`).
    pub definition: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub init: Expr,
    pub positive: bool,
    /// `exact v`: the true value, for the reported error.
    pub exact: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub name: Ident,
    pub params: Vec<Ident>,
    pub body: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionKind {
    Initial,
    Boundary,
}

/// `name(key = value, …)`: network kinds, optimizers, schemes, initializers.
#[derive(Debug, Clone, PartialEq)]
pub struct CallArgs {
    pub name: Ident,
    pub args: Vec<Binding>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LayerDef {
    pub name: Ident,
    pub input: Ident,
    pub body: Expr,
    /// The body used when the layer is the network's first (default: the body), e.g.
    /// a Fourier-feature embedding of the coordinates.
    pub first: Option<Expr>,
    /// The body used when the layer is the network's last (default: the body with
    /// the activation σ replaced by the identity).
    pub last: Option<Expr>,
    pub tensors: Vec<TensorDecl>,
    /// Local values from `where`: `x = tanh(h)`, `T[0] = 1`, `T[k] = …`.
    pub locals: Vec<LocalDef>,
}

/// `name = body` or `name[index] = body` in a layer's `where`; the index is a number
/// (a base case) or a name (the general member, the recurrence).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalDef {
    pub name: Ident,
    pub index: Option<Expr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorDecl {
    pub name: Ident,
    /// Drawn by its initializer and never trained (random Fourier features).
    pub fixed: bool,
    pub shape: Ident,
    pub init: Option<CallArgs>,
    pub span: Span,
}

/// `collocation 10000 latin rad(every = 500)`: what, how many, how, how it is redrawn.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleItem {
    pub target: Ident,
    pub count: Expr,
    pub method: Option<Ident>,
    /// `rad(every = …, …)`: redraw the set during training.
    pub adapt: Option<CallArgs>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataBlock {
    pub kind: DataKind,
    pub file: String,
    pub file_span: Span,
    pub mappings: Vec<Mapping>,
    pub sample: Option<Expr>,
    /// The level as written and whether it is a percentage: `noise 1%` is (1, true),
    /// relative to the data's spread; `noise 0.1` is (0.1, false), absolute.
    pub noise: Option<(Expr, bool)>,
    pub snapshots: Vec<Snapshot>,
}

/// `u = usol[x, t]`: a name in the problem, a variable in the file, its axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub name: Ident,
    pub variable: Ident,
    pub axes: Option<Vec<Ident>>,
    pub span: Span,
}

/// A list literal: numbers, or lists of lists of one length per level.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayLit {
    Item(Expr),
    List(Vec<ArrayLit>, Span),
}

/// What a block's mapped values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// `data`: observations, a loss term.
    Data,
    /// `reference`: the solution, for the errors only.
    Reference,
    /// `table`: quantities given on a grid, used as functions of the coordinates.
    Table,
}

/// `at t = 0.2 sample 199`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub coord: Ident,
    pub value: Expr,
    pub sample: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

impl Expr {
    /// Calls `f` on this expression and every subexpression, parents first.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Number(_) | ExprKind::Name(_) => {}
            ExprKind::Call(_, args) | ExprKind::List(args) => args.iter().for_each(|a| a.visit(f)),
            ExprKind::Partial(_, e)
            | ExprKind::Unary(_, e)
            | ExprKind::Abs(e)
            | ExprKind::Index(_, e) => e.visit(f),
            ExprKind::Sum { lo, hi, body, .. } => [lo, hi, body].iter().for_each(|e| e.visit(f)),
            ExprKind::Binary(_, a, b) => {
                a.visit(f);
                b.visit(f);
            }
            ExprKind::If {
                lhs,
                rhs,
                then,
                otherwise,
                ..
            } => [lhs, rhs, then, otherwise].iter().for_each(|e| e.visit(f)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Number(f64),
    Name(String),
    /// `f(a, b)`: a function, a `def`, `net(x)`, or `d(expr, x)`.
    Call(Ident, Vec<Expr>),
    /// `∂x(expr)`.
    Partial(Ident, Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `|expr|`.
    Abs(Box<Expr>),
    /// `[a, b, …]`: a list of numbers, only as an argument's value (one standard
    /// deviation per input column: `normal(std = [20, 1, 1])`).
    List(Vec<Expr>),
    /// `C[k]`: a member of a layer's tensor family or local recurrence.
    Index(Ident, Box<Expr>),
    /// `Σ(k = lo to hi, body)`: the body summed over a static integer index.
    Sum {
        index: Ident,
        lo: Box<Expr>,
        hi: Box<Expr>,
        body: Box<Expr>,
    },
    If {
        lhs: Box<Expr>,
        cmp: crate::expr::Cmp,
        rhs: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// `·`: matrix–vector product (in layer bodies; a plain product elsewhere).
    Dot,
    /// `⊙`: element-wise product.
    Hadamard,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "^",
            BinaryOp::Dot => "·",
            BinaryOp::Hadamard => "⊙",
        }
    }
}
