//! Resolved scalar expressions: what loss terms and fields are made of.
//!
//! A leaf is a number, a coordinate, a parameter, a data column or a derivative of a
//! network output. `D` is an unexpanded derivative; `sym::expand` removes every `D`,
//! so expressions handed to the kernel contain none.

/// Index of a coordinate in [`Problem::coords`](crate::problem::Problem::coords) (and
/// of an entry of a [`Deriv`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CoordId(pub usize);

/// Prints the bare index, as diagnostics did when ids were plain `usize`s.
impl std::fmt::Display for CoordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Index of a network output in [`Network::outputs`](crate::problem::Network::outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutputId(pub usize);

/// Index of a scalar PDE parameter in [`Problem::params`](crate::problem::Problem::params).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParamId(pub usize);

/// Prints the bare index, as diagnostics did when ids were plain `usize`s.
impl std::fmt::Display for ParamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A multi-index: how many times to differentiate along each coordinate
/// (`u_xxt` over (x, t) is `[2, 1]`). Its length is the number of coordinates.
pub type Deriv = Vec<u8>;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Coord(CoordId),
    /// A PDE parameter's value (for a positive param: the value, exp of what is trained).
    Param(ParamId),
    /// A derivative of a network output at an evaluation site of the point
    /// (site 0 is the point itself; see `PointSet::sites`).
    Out {
        output: OutputId,
        deriv: Deriv,
        site: u8,
    },
    /// Column k of the point set's data (an observed value at the point).
    Data(usize),
    /// Entry k of `Problem::shared`.
    Shared(usize),
    /// Table `table` of `Problem::tables` (a quantity given on a grid), differentiated
    /// `deriv` times along each coordinate; a data column by the time the kernel is
    /// built (`table::to_columns`).
    Table {
        table: usize,
        deriv: Deriv,
    },
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    /// a^b; integer exponents are the common case.
    Pow(Box<Expr>, Box<Expr>),
    Call(Func, Box<Expr>),
    /// `if a OP b then x else y`.
    If(Cmp, Box<Expr>, Box<Expr>, Box<Expr>, Box<Expr>),
    /// The derivative of the inner expression along a coordinate (unexpanded).
    D(Box<Expr>, CoordId),
}

/// Primitive functions. Everything else (sigmoid, sech, softplus …) is a `def` in the
/// stdlib, written with these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    Sin,
    Cos,
    Exp,
    Log,
    Tanh,
    Sqrt,
    Abs,
}

impl Func {
    pub const ALL: [Func; 7] = [
        Func::Sin,
        Func::Cos,
        Func::Exp,
        Func::Log,
        Func::Tanh,
        Func::Sqrt,
        Func::Abs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Func::Sin => "sin",
            Func::Cos => "cos",
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Tanh => "tanh",
            Func::Sqrt => "sqrt",
            Func::Abs => "abs",
        }
    }

    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn eval(self, x: f64) -> f64 {
        match self {
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Exp => x.exp(),
            Func::Log => x.ln(),
            Func::Tanh => x.tanh(),
            Func::Sqrt => x.sqrt(),
            Func::Abs => x.abs(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

/// The generic walks, in the manner of egg's `Language`: passes that treat every
/// node alike recurse through these, so only these two matches (and the passes that
/// really decide per node kind) must learn about a new node.
impl Expr {
    /// The direct subexpressions, left to right (a `D`'s operand included).
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Num(_)
            | Expr::Coord(_)
            | Expr::Param(_)
            | Expr::Out { .. }
            | Expr::Data(_)
            | Expr::Shared(_)
            | Expr::Table { .. } => vec![],
            Expr::Neg(a) | Expr::Call(_, a) | Expr::D(a, _) => vec![a],
            Expr::Add(a, b)
            | Expr::Sub(a, b)
            | Expr::Mul(a, b)
            | Expr::Div(a, b)
            | Expr::Pow(a, b) => vec![a, b],
            Expr::If(_, l, r, x, y) => vec![l, r, x, y],
        }
    }

    /// The same node over `f` of each child (a leaf is cloned).
    pub fn map_children(&self, mut f: impl FnMut(&Expr) -> Expr) -> Expr {
        let never = self.try_map_children(|c| Ok::<_, std::convert::Infallible>(f(c)));
        match never {
            Ok(e) => e,
            Err(never) => match never {},
        }
    }

    /// [`Expr::map_children`] for a fallible `f`: the first error, children in order.
    pub fn try_map_children<E>(
        &self,
        mut f: impl FnMut(&Expr) -> Result<Expr, E>,
    ) -> Result<Expr, E> {
        let mut b = |x: &Expr| f(x).map(Box::new);
        Ok(match self {
            Expr::Num(_)
            | Expr::Coord(_)
            | Expr::Param(_)
            | Expr::Out { .. }
            | Expr::Data(_)
            | Expr::Shared(_)
            | Expr::Table { .. } => self.clone(),
            Expr::Add(x, y) => Expr::Add(b(x)?, b(y)?),
            Expr::Sub(x, y) => Expr::Sub(b(x)?, b(y)?),
            Expr::Mul(x, y) => Expr::Mul(b(x)?, b(y)?),
            Expr::Div(x, y) => Expr::Div(b(x)?, b(y)?),
            Expr::Pow(x, y) => Expr::Pow(b(x)?, b(y)?),
            Expr::Neg(x) => Expr::Neg(b(x)?),
            Expr::Call(func, x) => Expr::Call(*func, b(x)?),
            Expr::If(cmp, l, r, x, y) => Expr::If(*cmp, b(l)?, b(r)?, b(x)?, b(y)?),
            Expr::D(x, c) => Expr::D(b(x)?, *c),
        })
    }
}

/// Shorthands for building expressions in passes and tests. They build trees, not
/// values, so they are plain functions rather than `std::ops` impls.
#[allow(clippy::should_implement_trait)]
impl Expr {
    /// `self` with every leaf `l` for which `f(l)` is `Some(r)` replaced by `r`
    /// (leaves: numbers, coordinates, parameters, outputs, data and shared entries),
    /// e.g. u ↦ stage output j. A replacement is not visited again.
    pub fn substitute(&self, f: &dyn Fn(&Expr) -> Option<Expr>) -> Expr {
        if self.children().is_empty() {
            f(self).unwrap_or_else(|| self.clone())
        } else {
            self.map_children(|x| x.substitute(f))
        }
    }

    /// The value in f64, with `leaf` giving the value of every node that is not
    /// arithmetic (coordinates, parameters, outputs, data, shared entries, an
    /// unexpanded `D`).
    pub fn value(&self, leaf: &dyn Fn(&Expr) -> f64) -> f64 {
        let ev = |x: &Expr| x.value(leaf);
        match self {
            Expr::Num(v) => *v,
            Expr::Add(a, b) => ev(a) + ev(b),
            Expr::Sub(a, b) => ev(a) - ev(b),
            Expr::Mul(a, b) => ev(a) * ev(b),
            Expr::Div(a, b) => ev(a) / ev(b),
            Expr::Pow(a, b) => ev(a).powf(ev(b)),
            Expr::Neg(a) => -ev(a),
            Expr::Call(f, a) => f.eval(ev(a)),
            Expr::If(cmp, l, r, x, y) => {
                if cmp.holds(ev(l), ev(r)) {
                    ev(x)
                } else {
                    ev(y)
                }
            }
            _ => leaf(self),
        }
    }

    /// Whether `f` holds for this node or any node below it.
    pub fn any(&self, f: &dyn Fn(&Expr) -> bool) -> bool {
        f(self) || self.children().into_iter().any(|c| c.any(f))
    }

    pub fn num(v: f64) -> Expr {
        Expr::Num(v)
    }
    pub fn out(output: OutputId, deriv: Deriv) -> Expr {
        Expr::Out {
            output,
            deriv,
            site: 0,
        }
    }
    pub fn add(a: Expr, b: Expr) -> Expr {
        Expr::Add(Box::new(a), Box::new(b))
    }
    pub fn sub(a: Expr, b: Expr) -> Expr {
        Expr::Sub(Box::new(a), Box::new(b))
    }
    pub fn mul(a: Expr, b: Expr) -> Expr {
        Expr::Mul(Box::new(a), Box::new(b))
    }
    pub fn div(a: Expr, b: Expr) -> Expr {
        Expr::Div(Box::new(a), Box::new(b))
    }
    pub fn neg(a: Expr) -> Expr {
        Expr::Neg(Box::new(a))
    }
    pub fn pow(a: Expr, b: Expr) -> Expr {
        Expr::Pow(Box::new(a), Box::new(b))
    }
    pub fn call(f: Func, a: Expr) -> Expr {
        Expr::Call(f, Box::new(a))
    }
    pub fn d(a: Expr, c: CoordId) -> Expr {
        Expr::D(Box::new(a), c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One node of every kind, each over distinct leaves.
    fn every_kind() -> Vec<Expr> {
        let (x, u) = (Expr::Coord(CoordId(0)), Expr::out(OutputId(0), vec![1]));
        let two = |f: fn(Box<Expr>, Box<Expr>) -> Expr| f(Box::new(x.clone()), Box::new(u.clone()));
        vec![
            Expr::Num(1.0),
            Expr::Param(ParamId(0)),
            Expr::Data(0),
            Expr::Shared(0),
            u.clone(),
            two(Expr::Add),
            two(Expr::Sub),
            two(Expr::Mul),
            two(Expr::Div),
            two(Expr::Pow),
            Expr::neg(x.clone()),
            Expr::call(Func::Sin, x.clone()),
            Expr::d(u.clone(), CoordId(0)),
            Expr::If(
                Cmp::Lt,
                Box::new(x.clone()),
                Box::new(Expr::Num(0.0)),
                Box::new(u.clone()),
                Box::new(Expr::Num(2.0)),
            ),
        ]
    }

    #[test]
    fn map_children_rebuilds_the_node_over_its_children() {
        for e in every_kind() {
            assert_eq!(e.map_children(Clone::clone), e);
            let mut seen = vec![];
            e.map_children(|c| {
                seen.push(c.clone());
                c.clone()
            });
            let children: Vec<Expr> = e.children().into_iter().cloned().collect();
            assert_eq!(seen, children, "{e:?}");
        }
    }

    #[test]
    fn try_map_children_stops_at_the_first_error() {
        let e = Expr::add(Expr::Coord(CoordId(0)), Expr::Coord(CoordId(1)));
        let mut calls = 0;
        let r = e.try_map_children(|_| {
            calls += 1;
            Err::<Expr, _>(())
        });
        assert_eq!((r, calls), (Err(()), 1));
    }
}
