//! Reverse-mode differentiation, IR → IR: the forward program gets a reverse pass
//! appended that accumulates ∂(total loss)/∂θ into the gradient sinks.
//!
//! The seed of each loss term is `TermSeed(t)` = ∂(total)/∂(term's sum), supplied by
//! the host at run time (for Mean it is weight/N, for Sum the weight, for an integral
//! 2·weight·(S − target), which needs the forward sums first). Adjoints from several
//! uses are summed; a value that does not depend on θ gets no adjoint at all.
//!
//! One rule per op, in one exhaustive `match` ([`Ad::rule`]): a new op without a rule
//! does not compile. f′ of a primitive function is read from `crate::primitive`.

use std::collections::HashMap;

use super::builder::Builder;
use super::ir::{Num, Op, Program, Value};
use super::jets::sign;
use super::KernelError;
use crate::expr::Func;
use crate::primitive::{build, prime, Interp};

#[derive(Debug, Default)]
struct Adjoint {
    /// Contributions of the value's full width.
    full: Vec<Value>,
    /// Contributions to entries start .. start + width (from slices).
    parts: Vec<(u32, Value)>,
}

struct Ad {
    b: Builder,
    adj: HashMap<Value, Adjoint>,
    /// Whether each forward value depends on θ (only those need adjoints).
    needs: Vec<bool>,
}

/// Appends the reverse pass to a forward-only program.
pub fn differentiate(fwd: &Program) -> Result<Program, KernelError> {
    let mut needs = vec![false; fwd.ops.len()];
    for (i, op) in fwd.ops.iter().enumerate() {
        needs[i] = matches!(
            op,
            Op::Param { .. } | Op::MatVec { .. } | Op::MatTVec { .. }
        ) || op.operands().iter().any(|v| needs[v.index()]);
    }
    let mut ad = Ad {
        b: Builder::from_program(fwd.clone()),
        adj: HashMap::new(),
        needs,
    };
    ad.b.end_forward();
    for i in (0..fwd.ops.len()).rev() {
        let op = &fwd.ops[i];
        if op.is_sink() {
            ad.sink(op);
        } else if let Some(d) = ad.adjoint(Value(i as u32)) {
            ad.rule(op, Value(i as u32), d);
        }
    }
    ad.b.finish().map_err(KernelError::Internal)
}

impl Ad {
    fn width(&self, v: Value) -> u32 {
        self.b.ty(v).width
    }

    /// Adds `d` to x's adjoint, summing or splatting where x was broadcast.
    fn contribute(&mut self, x: Value, d: Value) {
        if !self.needs[x.index()] {
            return;
        }
        let (wx, wd) = (self.width(x), self.width(d));
        let d = if wx == wd {
            d
        } else if wx == 1 {
            self.b.push(Op::SumEntries(d))
        } else {
            self.b.push(Op::Splat { x: d, width: wx })
        };
        self.adj.entry(x).or_default().full.push(d);
    }

    /// The finished adjoint of `y` (all its uses are behind us in reverse order).
    fn adjoint(&mut self, y: Value) -> Option<Value> {
        let Adjoint { full, mut parts } = self.adj.remove(&y)?;
        let mut terms = full;
        parts.sort_by_key(|&(start, v)| (start, self.width(v)));
        // Equal ranges are summed first, so a concat can cover disjoint ranges.
        let mut merged: Vec<(u32, Value)> = vec![];
        for (start, v) in parts {
            match merged.last_mut() {
                Some((s, m)) if *s == start && self.width(*m) == self.width(v) => {
                    *m = self.b.add(*m, v)
                }
                _ => merged.push((start, v)),
            }
        }
        let disjoint = merged
            .windows(2)
            .all(|w| w[0].0 + self.width(w[0].1) <= w[1].0);
        if disjoint && !merged.is_empty() {
            terms.push(self.scatter(y, &merged));
        } else {
            for part in merged {
                terms.push(self.scatter(y, &[part]));
            }
        }
        terms.into_iter().reduce(|a, t| self.b.add(a, t))
    }

    /// A value of y's width holding the parts at their offsets and zeros elsewhere.
    fn scatter(&mut self, y: Value, parts: &[(u32, Value)]) -> Value {
        let mut pieces = vec![];
        let mut at = 0;
        for &(start, v) in parts {
            if start > at {
                pieces.push(self.zeros(start - at));
            }
            pieces.push(v);
            at = start + self.width(v);
        }
        let w = self.width(y);
        if w > at {
            pieces.push(self.zeros(w - at));
        }
        self.b.push(Op::Concat(pieces))
    }

    fn zeros(&mut self, width: u32) -> Value {
        self.b.push(Op::Const {
            value: Num::new(0.0),
            width,
        })
    }

    /// Seeds the residuals from the loss sinks.
    fn sink(&mut self, op: &Op) {
        match *op {
            Op::AccumSquares { term, value } => {
                let seed = self.b.push(Op::TermSeed(term));
                let s2 = self.b.scale(2.0, seed);
                let d = self.b.mul(s2, value);
                self.contribute(value, d);
            }
            Op::AccumWeighted { term, value } => {
                let seed = self.b.push(Op::TermSeed(term));
                let w = self.b.push(Op::Weight);
                let d = self.b.mul(seed, w);
                self.contribute(value, d);
            }
            _ => {}
        }
    }

    /// f'(a) from the one table of primitive derivatives, given a and y = f(a).
    fn derivative(&mut self, f: Func, a: Value, y: Value) -> Value {
        let b = &mut self.b;
        build(prime(f), &mut AdPrime { b, a, y })
    }

    /// The reverse rule of one op: y = op(...) has adjoint d.
    fn rule(&mut self, op: &Op, y: Value, d: Value) {
        match *op {
            Op::Coord(_) | Op::DataCol(_) | Op::Weight | Op::Const { .. } | Op::TermSeed(_) => {}
            Op::Param { offset, len } => {
                self.b.push(Op::GradParam {
                    offset,
                    len,
                    value: d,
                });
            }
            Op::MatVec {
                w_offset,
                rows,
                cols,
                x,
            } => {
                let dx = self.b.push(Op::MatTVec {
                    w_offset,
                    rows,
                    cols,
                    x: d,
                });
                self.contribute(x, dx);
                self.b.push(Op::GradMatrix {
                    w_offset,
                    rows,
                    cols,
                    delta: d,
                    x,
                });
            }
            Op::MatTVec {
                w_offset,
                rows,
                cols,
                x,
            } => {
                let dx = self.b.push(Op::MatVec {
                    w_offset,
                    rows,
                    cols,
                    x: d,
                });
                self.contribute(x, dx);
                self.b.push(Op::GradMatrix {
                    w_offset,
                    rows,
                    cols,
                    delta: x,
                    x: d,
                });
            }
            Op::Add(a, c) => {
                self.contribute(a, d);
                self.contribute(c, d);
            }
            Op::Sub(a, c) => {
                self.contribute(a, d);
                let n = self.b.neg(d);
                self.contribute(c, n);
            }
            Op::Mul(a, c) => {
                let (da, dc) = (self.b.mul(d, c), self.b.mul(d, a));
                self.contribute(a, da);
                self.contribute(c, dc);
            }
            Op::Div(a, c) => {
                let da = self.b.div(d, c);
                let t = self.b.mul(da, y);
                let dc = self.b.neg(t);
                self.contribute(a, da);
                self.contribute(c, dc);
            }
            Op::Neg(a) => {
                let n = self.b.neg(d);
                self.contribute(a, n);
            }
            Op::Func(f, a) => {
                let g = self.derivative(f, a, y);
                let da = self.b.mul(d, g);
                self.contribute(a, da);
            }
            Op::Powi(a, n) => {
                let p = self.b.push(Op::Powi(a, n - 1));
                let g = self.b.scale(n as f64, p);
                let da = self.b.mul(d, g);
                self.contribute(a, da);
            }
            Op::Select {
                cmp,
                a,
                b,
                then,
                other,
            } => {
                let zero = self.b.num(0.0);
                let dt = self.b.push(Op::Select {
                    cmp,
                    a,
                    b,
                    then: d,
                    other: zero,
                });
                let de = self.b.push(Op::Select {
                    cmp,
                    a,
                    b,
                    then: zero,
                    other: d,
                });
                self.contribute(then, dt);
                self.contribute(other, de);
            }
            Op::Concat(ref parts) => {
                let mut at = 0;
                for &p in parts {
                    let len = self.width(p);
                    let dp = self.b.push(Op::Slice {
                        x: d,
                        start: at,
                        len,
                    });
                    self.contribute(p, dp);
                    at += len;
                }
            }
            Op::Slice { x, start, .. } => {
                if self.needs[x.index()] {
                    self.adj.entry(x).or_default().parts.push((start, d));
                }
            }
            Op::Splat { x, .. } => {
                let s = self.b.push(Op::SumEntries(d));
                self.contribute(x, s);
            }
            Op::SumEntries(x) => self.contribute(x, d),
            Op::AccumSquares { .. }
            | Op::AccumWeighted { .. }
            | Op::GradParam { .. }
            | Op::GradMatrix { .. }
            | Op::Store { .. } => {}
        }
    }
}

/// Reads [`crate::primitive::Prime`] as IR ops on the argument a and the forward
/// value y = f(a), so that rules written in y reuse it.
struct AdPrime<'b> {
    b: &'b mut Builder,
    a: Value,
    y: Value,
}

impl Interp for AdPrime<'_> {
    type V = Value;
    fn arg(&mut self) -> Value {
        self.a
    }
    fn value(&mut self) -> Value {
        self.y
    }
    fn num(&mut self, c: f64) -> Value {
        self.b.num(c)
    }
    fn neg(&mut self, x: Value) -> Value {
        self.b.neg(x)
    }
    fn sub(&mut self, x: Value, y: Value) -> Value {
        self.b.sub(x, y)
    }
    fn mul(&mut self, x: Value, y: Value) -> Value {
        self.b.mul(x, y)
    }
    fn div(&mut self, x: Value, y: Value) -> Value {
        self.b.div(x, y)
    }
    fn square(&mut self, x: Value) -> Value {
        self.b.mul(x, x)
    }
    fn of(&mut self, h: Func) -> Value {
        self.b.func(h, self.a)
    }
    fn sign(&mut self, x: Value) -> Value {
        sign(self.b, x)
    }
}
