//! Jets: Taylor coefficients (here: partial derivatives) of the network, propagated
//! forward through each layer body and emitted as Kernel IR.
//!
//! The residuals name derivatives `Out{deriv}`; [`needed_indices`] collects them as
//! multi-indices over the *network inputs* and closes the set under sub-indices
//! (u_xx needs u_x and u). Every layer value then carries one IR value per index in
//! that set ([`Jet`]); an absent index means a structurally zero coefficient.
//!
//! Rules come in the families of JAX's `jet`: linear ops act per coefficient;
//! products use the multivariate Leibniz rule; quotients solve a = y·b order by order;
//! functions use "rules from a first derivative": with α = α' + e_i,
//! y_α = Σ_{β≤α'} C(α',β) g_β z_{α'−β+e_i}, where the jet of g = f'(z) is built from
//! the one table of primitive derivatives (`crate::primitive`) by the same rules,
//! node by node, reusing the values already computed (tanh' = 1 − y², exp' = y, …).
//! Nothing here knows a layer kind by name: a body written in the language gets the
//! same rules. It lives next to the kernel lowering (`lower`), which uses it.
//! Jets are emitted as IR ops directly (never through egg); the builder's CSE shares
//! repeated subexpressions such as QRes's W1·h + b.

use std::collections::BTreeMap;

use super::builder::Builder;
use super::ir::{Num, Op, Value};
use super::KernelError;
use crate::expr::{Cmp, CoordId, Expr, Func};
use crate::net::Layout;
use crate::primitive::{self, build, Interp, Rules};
use crate::problem::{Layer, LayerExpr, Network, Problem, TensorShape};

/// Derivative orders along each network input (not each problem coordinate).
pub type MultiIndex = Vec<u8>;

/// The coefficients of a vector value: one IR value per multi-index; absent = zero.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jet {
    pub coeffs: BTreeMap<MultiIndex, Value>,
}

impl Jet {
    pub fn get(&self, a: &[u8]) -> Option<Value> {
        self.coeffs.get(a).copied()
    }
    fn set(&mut self, a: &[u8], v: Option<Value>) {
        if let Some(v) = v {
            self.coeffs.insert(a.to_vec(), v);
        }
    }
}

/// Maps a derivative over all problem coordinates to one over a network's inputs;
/// `None` when it differentiates along a coordinate the network does not read (the
/// coefficient is zero).
pub fn to_net_index(net: &Network, deriv: &[u8]) -> Option<MultiIndex> {
    let inputs = &net.inputs;
    let along_other = deriv
        .iter()
        .enumerate()
        .any(|(c, &k)| k > 0 && !inputs.contains(&CoordId(c)));
    (!along_other).then(|| {
        inputs
            .iter()
            .map(|&c| deriv.get(c.0).copied().unwrap_or(0))
            .collect()
    })
}

/// Every multi-index the expressions need of each network's outputs, closed under
/// sub-indices, sorted by total order (so coefficients can be computed in that
/// order): one list per network.
pub fn needed_indices<'a>(
    problem: &Problem,
    exprs: impl IntoIterator<Item = &'a Expr>,
) -> Vec<Vec<MultiIndex>> {
    let mut found: Vec<std::collections::BTreeSet<MultiIndex>> = problem
        .networks
        .iter()
        .map(|net| [vec![0; net.inputs.len()]].into())
        .collect();
    let mut stack: Vec<&Expr> = exprs.into_iter().collect();
    stack.extend(problem.shared.iter());
    while let Some(e) = stack.pop() {
        if let Expr::Out { output, deriv, .. } = e {
            if let Some((n, _)) = problem.output_of(*output) {
                if let Some(a) = to_net_index(&problem.networks[n], deriv) {
                    found[n].extend(sub_indices(&a));
                }
            }
        }
        stack.extend(e.children());
    }
    found
        .into_iter()
        .map(|set| {
            let mut out: Vec<MultiIndex> = set.into_iter().collect();
            out.sort_by_key(|a| (order(a), a.clone()));
            out
        })
        .collect()
}

pub fn order(a: &[u8]) -> u32 {
    a.iter().map(|&k| k as u32).sum()
}

/// All β ≤ α (component-wise), α included.
pub fn sub_indices(a: &[u8]) -> Vec<MultiIndex> {
    let mut out = vec![vec![]];
    for &k in a {
        out = out
            .into_iter()
            .flat_map(|p: MultiIndex| (0..=k).map(move |j| [p.clone(), vec![j]].concat()))
            .collect();
    }
    out
}

/// Π_i C(α_i, β_i).
fn binom(a: &[u8], b: &[u8]) -> f64 {
    let c = |n: u8, k: u8| (0..k).fold(1.0, |acc, j| acc * (n - j) as f64 / (j + 1) as f64);
    a.iter().zip(b).map(|(&n, &k)| c(n, k)).product()
}

fn minus(a: &[u8], b: &[u8]) -> MultiIndex {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

/// Σ of the values, or None when there are none (a zero coefficient).
fn sum(b: &mut Builder, terms: Vec<Value>) -> Option<Value> {
    terms.into_iter().reduce(|acc, t| b.add(acc, t))
}

/// c·x·y, skipping the scale when c = 1.
fn term(b: &mut Builder, c: f64, x: Value, y: Value) -> Value {
    let p = b.mul(x, y);
    if c == 1.0 {
        p
    } else {
        b.scale(c, p)
    }
}

/// (x·y)_α by Leibniz: Σ_{β≤α} C(α,β) x_β y_{α−β}.
fn leibniz_at(b: &mut Builder, x: &Jet, y: &Jet, a: &[u8]) -> Option<Value> {
    let mut terms = vec![];
    for beta in sub_indices(a) {
        if let (Some(xb), Some(yr)) = (x.get(&beta), y.get(&minus(a, &beta))) {
            terms.push(term(b, binom(a, &beta), xb, yr));
        }
    }
    sum(b, terms)
}

/// (f(z))_α from the first derivative's jet g = f'(z) (orders below |α| known).
fn chain_at(b: &mut Builder, g: &Jet, z: &Jet, a: &[u8]) -> Option<Value> {
    let i = a.iter().position(|&k| k > 0)?;
    let mut ap = a.to_vec();
    ap[i] -= 1;
    let mut terms = vec![];
    for beta in sub_indices(&ap) {
        let mut zi = minus(&ap, &beta);
        zi[i] += 1;
        if let (Some(gb), Some(zv)) = (g.get(&beta), z.get(&zi)) {
            terms.push(term(b, binom(&ap, &beta), gb, zv));
        }
    }
    sum(b, terms)
}

/// (a/d)_α given the quotient y at lower orders: (a_α − Σ_{0≠β≤α} C(α,β) d_β y_{α−β}) / d_0.
fn quotient_at(b: &mut Builder, num: &Jet, den: &Jet, y: &Jet, a: &[u8]) -> Option<Value> {
    let zero = vec![0; a.len()];
    let d0 = den.get(&zero).unwrap_or_else(|| b.num(0.0));
    let mut terms = vec![];
    for beta in sub_indices(a).into_iter().filter(|beta| *beta != zero) {
        if let (Some(db), Some(yr)) = (den.get(&beta), y.get(&minus(a, &beta))) {
            terms.push(term(b, binom(a, &beta), db, yr));
        }
    }
    let subtracted = sum(b, terms);
    let n = match (num.get(a), subtracted) {
        (Some(x), Some(s)) => b.sub(x, s),
        (Some(x), None) => x,
        (None, Some(s)) => b.neg(s),
        (None, None) => return None,
    };
    Some(b.div(n, d0))
}

/// The input jet: each network input rescaled to [−1, 1]; its first derivative along
/// itself is 2/(hi − lo), every higher one zero.
fn input_jet(
    b: &mut Builder,
    problem: &Problem,
    net: &Network,
    coords: &[Value],
    indices: &[MultiIndex],
) -> Result<Jet, KernelError> {
    let d = net.inputs.len();
    let mut scaled = vec![];
    let mut slopes = vec![];
    for &c in &net.inputs {
        let (Some(coord), Some(&x)) = (problem.coords.get(c.0), coords.get(c.0)) else {
            return Err(KernelError::Unsupported(format!(
                "network input {c} is not a coordinate"
            )));
        };
        if coord.hi.is_nan() || coord.lo.is_nan() || coord.hi <= coord.lo {
            return Err(KernelError::Unsupported(format!(
                "coordinate {} has an empty interval",
                coord.name
            )));
        }
        let s = 2.0 / (coord.hi - coord.lo);
        let lo = b.num(coord.lo);
        let shifted = b.sub(x, lo);
        let unit = b.scale(s, shifted);
        let one = b.num(1.0);
        scaled.push(b.sub(unit, one));
        slopes.push(s);
    }
    let mut jet = Jet::default();
    jet.set(&vec![0; d], Some(b.push(Op::Concat(scaled))));
    for a in indices.iter().filter(|a| order(a) == 1) {
        let parts = (0..d)
            .map(|k| b.num(if a[k] == 1 { slopes[k] } else { 0.0 }))
            .collect();
        jet.set(a, Some(b.push(Op::Concat(parts))));
    }
    Ok(jet)
}

/// The jet of network `n`'s output vector at one evaluation site.
pub fn network_jet(
    b: &mut Builder,
    problem: &Problem,
    n: usize,
    layout: &Layout,
    coords: &[Value],
    indices: &[MultiIndex],
    rules: Rules,
) -> Result<Jet, KernelError> {
    let net = &problem.networks[n];
    let mut h = input_jet(b, problem, net, coords, indices)?;
    for (l, layer) in net.layers.iter().enumerate() {
        let mut cx = LayerCx {
            b,
            layer,
            offsets: &layout.tensors[n][l],
            input: &h,
            indices,
            rules,
            locals: BTreeMap::new(),
        };
        let out = cx.eval(&layer.body, 0)?;
        h = out;
    }
    Ok(h)
}

/// Entry j of the result is x_{j+by}: zero past the ends, or wrapped around; x has
/// `n` entries (or one, standing for n equal ones).
fn shift(b: &mut Builder, x: Value, n: u32, by: i32, periodic: bool) -> Value {
    let x = match b.ty(x).width {
        1 => b.push(Op::Splat { x, width: n }),
        _ => x,
    };
    let n = n as i64;
    let s = by as i64;
    if periodic && s.rem_euclid(n) != 0 {
        let s = s.rem_euclid(n) as u32;
        let head = b.push(Op::Slice {
            x,
            start: s,
            len: n as u32 - s,
        });
        let tail = b.push(Op::Slice {
            x,
            start: 0,
            len: s,
        });
        return b.push(Op::Concat(vec![head, tail]));
    }
    if periodic || s == 0 {
        return x;
    }
    let zeros = |b: &mut Builder, k: i64| {
        b.push(Op::Const {
            value: Num::new(0.0),
            width: k as u32,
        })
    };
    if s.abs() >= n {
        return zeros(b, n);
    }
    let kept = b.push(Op::Slice {
        x,
        start: s.max(0) as u32,
        len: (n - s.abs()) as u32,
    });
    let pad = zeros(b, s.abs());
    if s > 0 {
        b.push(Op::Concat(vec![kept, pad]))
    } else {
        b.push(Op::Concat(vec![pad, kept]))
    }
}

/// The sum of each row of x (rows × cols, row-major); a width-1 x is the same on
/// every edge.
fn row_sums(b: &mut Builder, x: Value, rows: u32, cols: u32) -> Value {
    if b.ty(x).width == 1 {
        let total = b.scale(cols as f64, x);
        return b.push(Op::Splat {
            x: total,
            width: rows,
        });
    }
    let sums = (0..rows)
        .map(|r| {
            let row = b.push(Op::Slice {
                x,
                start: r * cols,
                len: cols,
            });
            b.push(Op::SumEntries(row))
        })
        .collect();
    b.push(Op::Concat(sums))
}

/// Recursion bound for layer bodies (deeper bodies are refused, not overflowed).
const MAX_DEPTH: usize = 200;

struct LayerCx<'a> {
    b: &'a mut Builder,
    layer: &'a Layer,
    offsets: &'a [usize],
    input: &'a Jet,
    indices: &'a [MultiIndex],
    /// f' of each primitive: `primitive::prime` except in the test that shows a
    /// wrong rule fails gradcheck.
    rules: Rules,
    /// The jets of the layer's locals computed so far.
    locals: BTreeMap<usize, Jet>,
}

impl LayerCx<'_> {
    fn zero(&self) -> MultiIndex {
        vec![0; self.indices[0].len()]
    }

    fn unsupported(&self, what: String) -> KernelError {
        KernelError::Unsupported(format!("layer `{}`: {what}", self.layer.kind))
    }

    fn tensor(&self, i: usize) -> Result<(u32, TensorShape), KernelError> {
        let t = self
            .layer
            .tensors
            .get(i)
            .ok_or_else(|| self.unsupported(format!("no tensor {i}")))?;
        Ok((self.offsets[i] as u32, t.shape))
    }

    fn eval(&mut self, e: &LayerExpr, depth: usize) -> Result<Jet, KernelError> {
        if depth > MAX_DEPTH {
            return Err(self.unsupported("body nested too deeply".into()));
        }
        let d = depth + 1;
        let zero = self.zero();
        Ok(match e {
            LayerExpr::Input => self.input.clone(),
            LayerExpr::Tensor(i) => {
                let (offset, _) = self.tensor(*i)?;
                let len = crate::net::tensor_len(self.layer, *i);
                let mut j = Jet::default();
                j.set(
                    &zero,
                    Some(self.b.push(Op::Param {
                        offset,
                        len: len as u32,
                    })),
                );
                j
            }
            LayerExpr::MatVec(i, x) => {
                let (w_offset, shape) = self.tensor(*i)?;
                if shape != TensorShape::Matrix {
                    return Err(self.unsupported(format!("tensor {i} left of `·` is no matrix")));
                }
                let x = self.eval(x, d)?;
                self.matvec(w_offset, &x)?
            }
            LayerExpr::Local(i) => match self.locals.get(i) {
                Some(j) => j.clone(),
                None => {
                    let body = self
                        .layer
                        .locals
                        .get(*i)
                        .ok_or_else(|| self.unsupported(format!("no local {i}")))?;
                    let j = self.eval(body, d)?;
                    self.locals.insert(*i, j.clone());
                    j
                }
            },
            LayerExpr::Shift { x, by, periodic } => {
                let x = self.eval(x, d)?;
                let n = self.full_width(&x, "shift")?;
                self.per_coefficient(&x, |b, v| shift(b, v, n, *by, *periodic))
            }
            LayerExpr::Edges(x) => {
                let x = self.eval(x, d)?;
                let (rows, cols) = (self.layer.outputs as u32, self.layer.inputs as u32);
                let n = x.coeffs.values().map(|&v| self.b.ty(v).width).max();
                if n.is_some_and(|n| n != 1 && n != rows * cols) {
                    return Err(self.unsupported("edges(…) of a value not per edge".into()));
                }
                self.per_coefficient(&x, |b, v| row_sums(b, v, rows, cols))
            }
            LayerExpr::EdgeInput => {
                let rows = self.layer.outputs;
                self.per_coefficient(&self.input.clone(), |b, v| match b.ty(v).width {
                    1 => v,
                    _ => b.push(Op::Concat(vec![v; rows])),
                })
            }
            LayerExpr::Skip(x) if self.layer.inputs == self.layer.outputs => self.eval(x, d)?,
            LayerExpr::Skip(_) => Jet::default(),
            LayerExpr::Num(c) => {
                let mut j = Jet::default();
                j.set(&zero, Some(self.b.num(*c)));
                j
            }
            LayerExpr::Add(x, y) | LayerExpr::Sub(x, y) => {
                let (x, y) = (self.eval(x, d)?, self.eval(y, d)?);
                self.linear2(&x, &y, matches!(e, LayerExpr::Sub(..)))
            }
            LayerExpr::Neg(x) => {
                let x = self.eval(x, d)?;
                let coeffs = x
                    .coeffs
                    .iter()
                    .map(|(a, &v)| (a.clone(), self.b.neg(v)))
                    .collect();
                Jet { coeffs }
            }
            LayerExpr::Mul(x, y) => {
                let (x, y) = (self.eval(x, d)?, self.eval(y, d)?);
                self.mul(&x, &y)
            }
            LayerExpr::Div(x, y) => {
                let (x, y) = (self.eval(x, d)?, self.eval(y, d)?);
                self.div(&x, &y)
            }
            LayerExpr::Powi(x, n) => {
                let x = self.eval(x, d)?;
                self.powi(&x, *n)
            }
            LayerExpr::Call(f, x) => {
                let x = self.eval(x, d)?;
                self.func(*f, &x)
            }
        })
    }

    /// The width of a vector jet (a width-1 coefficient stands for equal entries);
    /// `what` needs to know it.
    fn full_width(&self, x: &Jet, what: &str) -> Result<u32, KernelError> {
        let n = x
            .coeffs
            .values()
            .map(|&v| self.b.ty(v).width)
            .max()
            .unwrap_or(1);
        if n == 1 {
            return Err(self.unsupported(format!("{what}(…) of a value without a width")));
        }
        Ok(n)
    }

    /// A linear map applied to each coefficient alike.
    fn per_coefficient(&mut self, x: &Jet, mut f: impl FnMut(&mut Builder, Value) -> Value) -> Jet {
        let coeffs = x
            .coeffs
            .iter()
            .map(|(a, &v)| (a.clone(), f(self.b, v)))
            .collect();
        Jet { coeffs }
    }

    fn matvec(&mut self, w_offset: u32, x: &Jet) -> Result<Jet, KernelError> {
        let (rows, cols) = (self.layer.outputs as u32, self.layer.inputs as u32);
        let mut out = Jet::default();
        for (a, &v) in &x.coeffs {
            // A single value stands for `cols` equal entries (W·1 is W's row sums).
            let v = match self.b.ty(v).width {
                1 => self.b.push(Op::Splat { x: v, width: cols }),
                w if w == cols => v,
                _ => {
                    return Err(
                        self.unsupported(format!("a matrix needs a vector of {cols} entries"))
                    )
                }
            };
            out.set(
                a,
                Some(self.b.push(Op::MatVec {
                    w_offset,
                    rows,
                    cols,
                    x: v,
                })),
            );
        }
        Ok(out)
    }

    fn linear2(&mut self, x: &Jet, y: &Jet, subtract: bool) -> Jet {
        let mut out = Jet::default();
        for a in self.indices {
            let v = match (x.get(a), y.get(a)) {
                (Some(p), Some(q)) if subtract => Some(self.b.sub(p, q)),
                (Some(p), Some(q)) => Some(self.b.add(p, q)),
                (Some(p), None) => Some(p),
                (None, Some(q)) if subtract => Some(self.b.neg(q)),
                (None, q) => q,
            };
            out.set(a, v);
        }
        out
    }

    fn mul(&mut self, x: &Jet, y: &Jet) -> Jet {
        let mut out = Jet::default();
        for a in self.indices {
            let v = leibniz_at(self.b, x, y, a);
            out.set(a, v);
        }
        out
    }

    fn div(&mut self, x: &Jet, y: &Jet) -> Jet {
        let mut out = Jet::default();
        for a in self.indices {
            let v = quotient_at(self.b, x, y, &out, a);
            out.set(a, v);
        }
        out
    }

    fn powi(&mut self, x: &Jet, n: i32) -> Jet {
        let mut one = Jet::default();
        one.set(&self.zero(), Some(self.b.num(1.0)));
        let mut p = one.clone();
        for _ in 0..n.unsigned_abs() {
            p = self.mul(&p, x);
        }
        if n < 0 {
            self.div(&one, &p)
        } else {
            p
        }
    }

    /// y = f(z) order by order, with g = f'(z) from the rule table extended to each
    /// order once y is known there.
    fn func(&mut self, f: Func, z: &Jet) -> Jet {
        let mut chain = FuncChain::new(self.b, f, z, self.rules, &self.zero());
        let max = self.indices.last().map_or(0, |a| order(a));
        for k in 1..=max {
            let this: Vec<&MultiIndex> = self.indices.iter().filter(|a| order(a) == k).collect();
            for a in &this {
                chain.value_at(self.b, a);
            }
            for a in &this {
                chain.derivative_at(self.b, a);
            }
        }
        chain.values.swap_remove(0)
    }
}

/// The jets of f(z) and of every primitive h(z) that f's rule reads (cos z for sin),
/// each with the jets of the nodes of its own rule: one `Prime` node is one jet, so
/// a rule written in y reuses y's coefficients (tanh' = 1 − y² by Leibniz on y).
struct FuncChain<'z> {
    z: &'z Jet,
    rules: Rules,
    /// f first, then the primitives its rule reaches (see `primitive::closure`).
    funcs: Vec<Func>,
    /// `values[k]`: the jet of funcs[k](z).
    values: Vec<Jet>,
    /// `nodes[k][n]`: the jet of node n (in build order) of funcs[k]'s rule.
    nodes: Vec<Vec<Jet>>,
    /// `roots[k]`: where funcs[k]'s derivative g_k = funcs[k]'(z) is.
    roots: Vec<Slot>,
}

/// A jet a rule node reads: the argument z, a function's value, or another node of
/// the same rule.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Arg,
    Value(usize),
    Node(usize),
}

impl<'z> FuncChain<'z> {
    /// Order 0: every value f(z₀), then every derivative at order 0.
    fn new(b: &mut Builder, f: Func, z: &'z Jet, rules: Rules, zero: &[u8]) -> Self {
        let funcs = primitive::closure(f, rules);
        let z0 = z.get(zero).unwrap_or_else(|| b.num(0.0));
        let values = funcs
            .iter()
            .map(|&h| {
                let mut y = Jet::default();
                y.set(zero, Some(b.func(h, z0)));
                y
            })
            .collect();
        let n = funcs.len();
        let mut chain = FuncChain {
            z,
            rules,
            funcs,
            values,
            nodes: vec![vec![]; n],
            roots: vec![Slot::Arg; n],
        };
        chain.derivative_at(b, zero);
        chain
    }

    fn jet(&self, k: usize, s: Slot) -> &Jet {
        match s {
            Slot::Arg => self.z,
            Slot::Value(j) => &self.values[j],
            Slot::Node(n) => &self.nodes[k][n],
        }
    }

    /// Every value at α (of order ≥ 1) by the chain rule from its derivative below α.
    fn value_at(&mut self, b: &mut Builder, a: &[u8]) {
        for k in 0..self.funcs.len() {
            let v = chain_at(b, self.jet(k, self.roots[k]), self.z, a);
            self.values[k].set(a, v);
        }
    }

    /// Every derivative extended to α, the values being known up to α's order.
    fn derivative_at(&mut self, b: &mut Builder, a: &[u8]) {
        for k in 0..self.funcs.len() {
            let rule = (self.rules)(self.funcs[k]);
            let mut at = NodeAt {
                b,
                chain: self,
                k,
                a,
                next: 0,
            };
            let root = build(rule, &mut at);
            self.roots[k] = root;
        }
    }
}

/// Reads [`crate::primitive::Prime`] at one multi-index α: each node's coefficient α
/// from its operands' coefficients up to α (and its own below α, for a quotient).
struct NodeAt<'c, 'z> {
    b: &'c mut Builder,
    chain: &'c mut FuncChain<'z>,
    /// Which function's rule is being built.
    k: usize,
    a: &'c [u8],
    /// The next node's number: nodes are built in the same order at every α.
    next: usize,
}

impl NodeAt<'_, '_> {
    /// Stores coefficient α of the next node and returns that node.
    fn node(&mut self, v: Option<Value>) -> Slot {
        let (k, n) = (self.k, self.next);
        self.next += 1;
        let nodes = &mut self.chain.nodes[k];
        if nodes.len() <= n {
            nodes.resize(n + 1, Jet::default());
        }
        nodes[n].set(self.a, v);
        Slot::Node(n)
    }

    fn get(&self, s: Slot) -> Option<Value> {
        self.chain.jet(self.k, s).get(self.a)
    }

    fn first(&self) -> bool {
        order(self.a) == 0
    }
}

impl Interp for NodeAt<'_, '_> {
    type V = Slot;
    fn arg(&mut self) -> Slot {
        Slot::Arg
    }
    fn value(&mut self) -> Slot {
        Slot::Value(self.k)
    }
    fn num(&mut self, c: f64) -> Slot {
        let v = self.first().then(|| self.b.num(c));
        self.node(v)
    }
    fn neg(&mut self, x: Slot) -> Slot {
        let v = self.get(x).map(|x| self.b.neg(x));
        self.node(v)
    }
    fn sub(&mut self, x: Slot, y: Slot) -> Slot {
        let v = match (self.get(x), self.get(y)) {
            (Some(p), Some(q)) => Some(self.b.sub(p, q)),
            (Some(p), None) => Some(p),
            (None, q) => q.map(|q| self.b.neg(q)),
        };
        self.node(v)
    }
    fn mul(&mut self, x: Slot, y: Slot) -> Slot {
        let k = self.k;
        let v = leibniz_at(self.b, self.chain.jet(k, x), self.chain.jet(k, y), self.a);
        self.node(v)
    }
    fn div(&mut self, x: Slot, y: Slot) -> Slot {
        let k = self.k;
        let empty = Jet::default();
        // The quotient's own lower orders; at order 0 the node does not exist yet.
        let q = self.chain.nodes[k].get(self.next).unwrap_or(&empty);
        let v = quotient_at(
            self.b,
            self.chain.jet(k, x),
            self.chain.jet(k, y),
            q,
            self.a,
        );
        self.node(v)
    }
    fn square(&mut self, x: Slot) -> Slot {
        self.mul(x, x)
    }
    fn of(&mut self, h: Func) -> Slot {
        // `primitive::closure` put every h a rule reaches into `funcs`.
        let j = self.chain.funcs.iter().position(|&g| g == h);
        j.map_or(Slot::Arg, Slot::Value)
    }
    fn sign(&mut self, x: Slot) -> Slot {
        let v = match self.first() {
            true => self.get(x).map(|x| sign(self.b, x)),
            false => None,
        };
        self.node(v)
    }
}

/// sign(x) as ±1 (the derivative of |x|; +1 at 0).
pub(crate) fn sign(b: &mut Builder, x: Value) -> Value {
    let (zero, one, minus_one) = (b.num(0.0), b.num(1.0), b.num(-1.0));
    b.push(Op::Select {
        cmp: Cmp::Ge,
        a: x,
        b: zero,
        then: one,
        other: minus_one,
    })
}
