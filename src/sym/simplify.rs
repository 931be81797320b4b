//! Algebraic simplification with egg: constant folding, identities, collection of
//! numeric coefficients and powers, then extraction by an operation-count cost.
//!
//! The input must already be free of `D` (see `expand`): commutativity and
//! associativity are safe only because nothing here is differentiated afterwards, and
//! every [`Runner`] has the limits of [`Limits`] so a large residual stops early
//! (with the reason reported) instead of exhausting memory. Leaves that egg need not
//! look into (coordinates, parameters, outputs, data, shared entries, and any leftover
//! `D`) become opaque `L<k>` symbols; the leaf table maps them back.

use super::tidy::{tidy, Order};
use crate::expr::{Cmp, Expr, Func};
use egg::{
    define_language, rewrite as rw, Analysis, CostFunction, DidMerge, Extractor, Id, Language,
    RecExpr, Runner, StopReason, Subst,
};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Bounds on one equality-saturation run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Rule-application rounds.
    pub iterations: usize,
    /// E-nodes in the graph (checked after each round, so it may overshoot a little).
    pub nodes: usize,
    /// Wall-clock time for the run (extraction and tidying not included).
    pub time: Duration,
}

impl Default for Limits {
    /// Enough for every residual in the examples to saturate or come close, small
    /// enough that a pathological one costs a couple of seconds at most.
    fn default() -> Self {
        Limits {
            iterations: 30,
            nodes: 20_000,
            time: Duration::from_secs(2),
        }
    }
}

/// The result of [`simplify`], with what the run did (for `--emit residual` and logs).
#[derive(Debug, Clone, PartialEq)]
pub struct Simplified {
    pub expr: Expr,
    /// Why the runner stopped: `saturated`, `iteration limit 30`, `node limit 20000`,
    /// `time limit 2s`, or egg's own message.
    pub stop_reason: String,
    pub iterations: usize,
    pub egraph_nodes: usize,
}

/// A finite f64 usable as an e-node: equality and hashing by bits (−0 is stored as
/// +0 so the two zeros are one constant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Constant(u64);

impl Constant {
    fn new(v: f64) -> Option<Constant> {
        let v = if v == 0.0 { 0.0 } else { v };
        v.is_finite().then(|| Constant(v.to_bits()))
    }
    fn value(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl FromStr for Constant {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        s.parse::<f64>().ok().and_then(Constant::new).ok_or(())
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.value())
    }
}

/// An opaque leaf: index into the leaf table of one [`simplify`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct LeafId(usize);

impl FromStr for LeafId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let digits = s.strip_prefix('L').ok_or(())?;
        digits.parse().map(LeafId).map_err(|_| ())
    }
}

impl fmt::Display for LeafId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}

define_language! {
    /// [`Expr`] without `D`, with leaves replaced by [`LeafId`]s.
    pub(crate) enum Sym {
        "+" = Add([Id; 2]),
        "-" = Sub([Id; 2]),
        "*" = Mul([Id; 2]),
        "/" = Div([Id; 2]),
        "pow" = Pow([Id; 2]),
        "neg" = Neg(Id),
        "sin" = Sin(Id),
        "cos" = Cos(Id),
        "exp" = Exp(Id),
        "log" = Log(Id),
        "tanh" = Tanh(Id),
        "sqrt" = Sqrt(Id),
        "abs" = Abs(Id),
        "if<" = IfLt([Id; 4]),
        "if<=" = IfLe([Id; 4]),
        "if>" = IfGt([Id; 4]),
        "if>=" = IfGe([Id; 4]),
        Num(Constant),
        Leaf(LeafId),
    }
}

type EGraph = egg::EGraph<Sym, ConstFold>;
type Rewrite = egg::Rewrite<Sym, ConstFold>;

/// Constant folding: a class whose value is a known finite number gets that number
/// as a node, and its other nodes are dropped (they can only cost more).
#[derive(Default)]
pub(crate) struct ConstFold;

impl Analysis<Sym> for ConstFold {
    type Data = Option<Constant>;

    fn make(egraph: &mut EGraph, enode: &Sym, _id: Id) -> Self::Data {
        let x = |i: &Id| egraph[*i].data.map(Constant::value);
        let v = match enode {
            Sym::Num(c) => return Some(*c),
            Sym::Leaf(_) => return None,
            Sym::Add([a, b]) => x(a)? + x(b)?,
            Sym::Sub([a, b]) => x(a)? - x(b)?,
            Sym::Mul([a, b]) => x(a)? * x(b)?,
            Sym::Div([a, b]) => x(a)? / x(b)?,
            Sym::Pow([a, b]) => x(a)?.powf(x(b)?),
            Sym::Neg(a) => -x(a)?,
            Sym::IfLt(c) => pick(Cmp::Lt, c, &x)?,
            Sym::IfLe(c) => pick(Cmp::Le, c, &x)?,
            Sym::IfGt(c) => pick(Cmp::Gt, c, &x)?,
            Sym::IfGe(c) => pick(Cmp::Ge, c, &x)?,
            Sym::Sin(a) => Func::Sin.eval(x(a)?),
            Sym::Cos(a) => Func::Cos.eval(x(a)?),
            Sym::Exp(a) => Func::Exp.eval(x(a)?),
            Sym::Log(a) => Func::Log.eval(x(a)?),
            Sym::Tanh(a) => Func::Tanh.eval(x(a)?),
            Sym::Sqrt(a) => Func::Sqrt.eval(x(a)?),
            Sym::Abs(a) => Func::Abs.eval(x(a)?),
        };
        Constant::new(v)
    }

    fn merge(&mut self, to: &mut Self::Data, from: Self::Data) -> DidMerge {
        // Two foldings of one value may differ in the last bit (the rules reassociate);
        // either is an honest f64 evaluation, so keep the first.
        egg::merge_option(to, from, |_, _| DidMerge(false, false))
    }

    fn modify(egraph: &mut EGraph, id: Id) {
        if let Some(c) = egraph[id].data {
            let num = egraph.add(Sym::Num(c));
            egraph.union(id, num);
            egraph[id].nodes.retain(|n| n.is_leaf());
        }
    }
}

/// The value of a conditional whose operands are all known numbers.
fn pick(cmp: Cmp, c: &[Id; 4], x: &impl Fn(&Id) -> Option<f64>) -> Option<f64> {
    let taken = if cmp.holds(x(&c[0])?, x(&c[1])?) {
        &c[2]
    } else {
        &c[3]
    };
    x(taken)
}

fn func_node(f: Func, a: Id) -> Sym {
    match f {
        Func::Sin => Sym::Sin(a),
        Func::Cos => Sym::Cos(a),
        Func::Exp => Sym::Exp(a),
        Func::Log => Sym::Log(a),
        Func::Tanh => Sym::Tanh(a),
        Func::Sqrt => Sym::Sqrt(a),
        Func::Abs => Sym::Abs(a),
    }
}

fn if_node(cmp: Cmp, c: [Id; 4]) -> Sym {
    match cmp {
        Cmp::Lt => Sym::IfLt(c),
        Cmp::Le => Sym::IfLe(c),
        Cmp::Gt => Sym::IfGt(c),
        Cmp::Ge => Sym::IfGe(c),
    }
}

/// Condition factory: the variable's class is a known number.
fn is_const(var: &str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let var = var
        .parse()
        .expect("pattern variables in the rule table are valid");
    move |egraph, _, subst| egraph[subst[var]].data.is_some()
}

/// Condition factory: the variable's class is a known integer.
fn is_int(var: &str) -> impl Fn(&mut EGraph, Id, &Subst) -> bool {
    let var = var
        .parse()
        .expect("pattern variables in the rule table are valid");
    move |egraph, _, subst| {
        egraph[subst[var]]
            .data
            .is_some_and(|c| c.value().fract() == 0.0)
    }
}

/// The rewrite rules. Every rule holds for finite operands up to f64 rounding; the
/// power rules ask for integer exponents so they hold for negative bases too.
#[rustfmt::skip]
fn rules() -> Vec<Rewrite> { vec![
    // Commutativity and associativity: safe because nothing is differentiated later.
    rw!("comm-add";    "(+ ?a ?b)"             => "(+ ?b ?a)"),
    rw!("comm-mul";    "(* ?a ?b)"             => "(* ?b ?a)"),
    rw!("assoc-add";   "(+ ?a (+ ?b ?c))"      => "(+ (+ ?a ?b) ?c)"),
    rw!("assoc-mul";   "(* ?a (* ?b ?c))"      => "(* (* ?a ?b) ?c)"),
    // Subtraction, negation and division in terms of + and *, and back, so that
    // terms and factors can be collected and extraction can still pick `a - b`.
    rw!("sub-to-add";  "(- ?a ?b)"             => "(+ ?a (* -1 ?b))"),
    rw!("add-to-sub";  "(+ ?a (* -1 ?b))"      => "(- ?a ?b)"),
    rw!("neg-to-mul";  "(neg ?a)"              => "(* -1 ?a)"),
    rw!("mul-to-neg";  "(* -1 ?a)"             => "(neg ?a)"),
    rw!("div-to-pow";  "(/ ?a ?b)"             => "(* ?a (pow ?b -1))"),
    rw!("pow-to-div";  "(* ?a (pow ?b -1))"    => "(/ ?a ?b)"),
    // Identities.
    rw!("add-0";       "(+ ?a 0)"              => "?a"),
    rw!("mul-0";       "(* ?a 0)"              => "0"),
    rw!("mul-1";       "(* ?a 1)"              => "?a"),
    rw!("div-1";       "(/ ?a 1)"              => "?a"),
    rw!("sub-self";    "(- ?a ?a)"             => "0"),
    rw!("neg-neg";     "(neg (neg ?a))"        => "?a"),
    rw!("pow-0";       "(pow ?a 0)"            => "1"),
    rw!("pow-1";       "(pow ?a 1)"            => "?a"),
    // Collecting terms with numeric coefficients, and distributing a number over a
    // sum (extraction keeps whichever side is cheaper).
    rw!("add-self";    "(+ ?a ?a)"             => "(* 2 ?a)"),
    rw!("factor";      "(+ (* ?a ?x) (* ?b ?x))" => "(* (+ ?a ?b) ?x)" if is_const("?a") if is_const("?b")),
    rw!("factor-1";    "(+ ?x (* ?b ?x))"      => "(* (+ 1 ?b) ?x)" if is_const("?b")),
    rw!("distribute";  "(* ?a (+ ?b ?c))"      => "(+ (* ?a ?b) (* ?a ?c))" if is_const("?a")),
    // Powers.
    rw!("mul-self";    "(* ?x ?x)"             => "(pow ?x 2)"),
    rw!("mul-pow";     "(* ?x (pow ?x ?a))"    => "(pow ?x (+ ?a 1))" if is_int("?a")),
    rw!("pow-mul-pow"; "(* (pow ?x ?a) (pow ?x ?b))" => "(pow ?x (+ ?a ?b))" if is_int("?a") if is_int("?b")),
    rw!("pow-pow";     "(pow (pow ?x ?a) ?b)"  => "(pow ?x (* ?a ?b))" if is_int("?a") if is_int("?b")),
]}

/// Cost: roughly the work the kernel does. Numbers are free, a leaf is a load, an
/// integer power is a multiplication or two (and preferred over `x*x`), a general
/// power or a function is a call.
struct OpCost<'a> {
    egraph: &'a EGraph,
}

impl CostFunction<Sym> for OpCost<'_> {
    type Cost = usize;
    fn cost<C: FnMut(Id) -> usize>(&mut self, enode: &Sym, mut costs: C) -> usize {
        let own = match enode {
            Sym::Num(_) => 0,
            Sym::Leaf(_) => 1,
            Sym::Add(_) | Sym::Sub(_) | Sym::Mul(_) | Sym::Neg(_) => 1,
            Sym::Div(_) => 2,
            Sym::Pow([_, b]) => match self.egraph[*b].data.map(Constant::value) {
                Some(n) if n.fract() == 0.0 && (1.0..=64.0).contains(&n) => 1,
                Some(n) if n.fract() == 0.0 && (-64.0..0.0).contains(&n) => 2,
                _ => 8,
            },
            Sym::IfLt(_) | Sym::IfLe(_) | Sym::IfGt(_) | Sym::IfGe(_) => 2,
            _ => 4,
        };
        enode.fold(own, |sum, id| sum.saturating_add(costs(id)))
    }
}

/// Simplifies a `D`-free expression; the result has the same value up to f64
/// rounding. Shared entries and any leftover `D` are kept as opaque leaves.
/// The output is put in a readable order by the tidy pass (see `tidy`).
pub fn simplify(e: &Expr, limits: &Limits) -> Simplified {
    let mut leaves = Vec::new();
    let mut rec = RecExpr::default();
    to_rec(e, &mut rec, &mut leaves);
    let runner = Runner::<Sym, ConstFold, ()>::default()
        .with_iter_limit(limits.iterations)
        .with_node_limit(limits.nodes)
        .with_time_limit(limits.time)
        .with_expr(&rec)
        .run(&rules());
    let root = runner.roots[0];
    let extractor = Extractor::new(
        &runner.egraph,
        OpCost {
            egraph: &runner.egraph,
        },
    );
    let (_, best) = extractor.find_best(root);
    let extracted = from_rec(&best, best.root(), &leaves);
    Simplified {
        expr: tidy(&extracted, &Order::of(e)),
        stop_reason: stop_reason(runner.stop_reason.as_ref()),
        iterations: runner.iterations.len(),
        egraph_nodes: runner.egraph.total_number_of_nodes(),
    }
}

fn stop_reason(reason: Option<&StopReason>) -> String {
    match reason {
        None => "not run".to_string(),
        Some(StopReason::Saturated) => "saturated".to_string(),
        Some(StopReason::IterationLimit(n)) => format!("iteration limit {n}"),
        Some(StopReason::NodeLimit(n)) => format!("node limit {n}"),
        Some(StopReason::TimeLimit(s)) => format!("time limit {s}s"),
        Some(StopReason::Other(why)) => why.clone(),
    }
}

/// Adds `e` to `rec`, numbering leaves in order of first appearance.
fn to_rec(e: &Expr, rec: &mut RecExpr<Sym>, leaves: &mut Vec<Expr>) -> Id {
    let mut go = |x: &Expr, rec: &mut RecExpr<Sym>| to_rec(x, rec, leaves);
    let node = match e {
        Expr::Num(v) => match Constant::new(*v) {
            Some(c) => Sym::Num(c),
            None => leaf(e, leaves),
        },
        Expr::Coord(_)
        | Expr::Param(_)
        | Expr::Out { .. }
        | Expr::Data(_)
        | Expr::Shared(_)
        | Expr::Table { .. }
        | Expr::D(..) => leaf(e, leaves),
        Expr::Add(a, b) => Sym::Add([go(a, rec), go(b, rec)]),
        Expr::Sub(a, b) => Sym::Sub([go(a, rec), go(b, rec)]),
        Expr::Mul(a, b) => Sym::Mul([go(a, rec), go(b, rec)]),
        Expr::Div(a, b) => Sym::Div([go(a, rec), go(b, rec)]),
        Expr::Pow(a, b) => Sym::Pow([go(a, rec), go(b, rec)]),
        Expr::Neg(a) => Sym::Neg(go(a, rec)),
        Expr::Call(f, a) => func_node(*f, go(a, rec)),
        Expr::If(cmp, l, r, x, y) => {
            let c = [go(l, rec), go(r, rec), go(x, rec), go(y, rec)];
            if_node(*cmp, c)
        }
    };
    rec.add(node)
}

fn leaf(e: &Expr, leaves: &mut Vec<Expr>) -> Sym {
    let k = leaves.iter().position(|l| l == e).unwrap_or_else(|| {
        leaves.push(e.clone());
        leaves.len() - 1
    });
    Sym::Leaf(LeafId(k))
}

fn from_rec(rec: &RecExpr<Sym>, id: Id, leaves: &[Expr]) -> Expr {
    let go = |i: &Id| Box::new(from_rec(rec, *i, leaves));
    let conditional = |cmp, c: &[Id; 4]| Expr::If(cmp, go(&c[0]), go(&c[1]), go(&c[2]), go(&c[3]));
    match &rec[id] {
        Sym::Num(c) => Expr::Num(c.value()),
        // Leaf ids come from this call's own table: indexing cannot fail.
        Sym::Leaf(LeafId(k)) => leaves[*k].clone(),
        Sym::Add([a, b]) => Expr::Add(go(a), go(b)),
        Sym::Sub([a, b]) => Expr::Sub(go(a), go(b)),
        Sym::Mul([a, b]) => Expr::Mul(go(a), go(b)),
        Sym::Div([a, b]) => Expr::Div(go(a), go(b)),
        Sym::Pow([a, b]) => Expr::Pow(go(a), go(b)),
        Sym::Neg(a) => Expr::Neg(go(a)),
        Sym::IfLt(c) => conditional(Cmp::Lt, c),
        Sym::IfLe(c) => conditional(Cmp::Le, c),
        Sym::IfGt(c) => conditional(Cmp::Gt, c),
        Sym::IfGe(c) => conditional(Cmp::Ge, c),
        Sym::Sin(a) => Expr::Call(Func::Sin, go(a)),
        Sym::Cos(a) => Expr::Call(Func::Cos, go(a)),
        Sym::Exp(a) => Expr::Call(Func::Exp, go(a)),
        Sym::Log(a) => Expr::Call(Func::Log, go(a)),
        Sym::Tanh(a) => Expr::Call(Func::Tanh, go(a)),
        Sym::Sqrt(a) => Expr::Call(Func::Sqrt, go(a)),
        Sym::Abs(a) => Expr::Call(Func::Abs, go(a)),
    }
}
