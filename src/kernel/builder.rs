//! Building programs: hash-consing (CSE) and constant folding happen as ops are
//! pushed, so every producer (jets, lowering, AD, the rebuild after DCE) gets them.
//!
//! Folding never changes a value's type: `x + 0` becomes `x` only when x already has
//! the result's width and variance. `x · 0` folds to 0 (a NaN or ∞ in x is lost; the
//! kernel never multiplies by a literal zero on purpose).

use std::collections::HashMap;

use super::ir::{infer, Num, Op, Program, Ty, Value};
use crate::expr::Func;

/// A program under construction.
#[derive(Debug, Default)]
pub struct Builder {
    prog: Program,
    memo: HashMap<Op, Value>,
    /// The first type error met (a compiler bug, reported instead of panicking).
    error: Option<String>,
}

impl Builder {
    pub fn new(n_coords: u32, n_data: u32, n_terms: u32, theta_len: u32) -> Builder {
        let prog = Program {
            n_coords,
            n_data,
            n_terms,
            theta_len,
            ..Program::default()
        };
        Builder {
            prog,
            ..Builder::default()
        }
    }

    /// Continue an existing program (its ops are already canonical).
    pub fn from_program(prog: Program) -> Builder {
        let memo = prog
            .ops
            .iter()
            .enumerate()
            .filter(|(_, op)| !op.is_sink())
            .map(|(i, op)| (op.clone(), Value(i as u32)))
            .collect();
        Builder {
            prog,
            memo,
            error: None,
        }
    }

    pub fn ty(&self, v: Value) -> Ty {
        self.prog.ty(v)
    }

    /// Marks everything pushed so far as the forward pass.
    pub fn end_forward(&mut self) {
        self.prog.backward_start = self.prog.ops.len();
    }

    pub fn finish(self) -> Result<Program, String> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.prog),
        }
    }

    /// The constant `value`, width 1.
    pub fn num(&mut self, value: f64) -> Value {
        self.push(Op::Const {
            value: Num::new(value),
            width: 1,
        })
    }

    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Add(a, b))
    }
    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Sub(a, b))
    }
    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Mul(a, b))
    }
    pub fn div(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Div(a, b))
    }
    pub fn neg(&mut self, a: Value) -> Value {
        self.push(Op::Neg(a))
    }
    pub fn func(&mut self, f: Func, a: Value) -> Value {
        self.push(Op::Func(f, a))
    }
    /// c · a for a literal c.
    pub fn scale(&mut self, c: f64, a: Value) -> Value {
        let c = self.num(c);
        self.mul(c, a)
    }

    /// Pushes `op` (or finds it, or folds it) and returns its value.
    pub fn push(&mut self, op: Op) -> Value {
        let op = self.canonical(op);
        if let Some(v) = self.fold(&op) {
            return v;
        }
        if let Some(&v) = self.memo.get(&op) {
            return v;
        }
        let ty = match infer(&op, |v| self.prog.ty(v)) {
            Ok(ty) => ty,
            Err(e) => {
                self.error.get_or_insert(format!("{e} in {op:?}"));
                Ty {
                    width: 1,
                    varying: true,
                }
            }
        };
        let v = Value(self.prog.ops.len() as u32);
        if !op.is_sink() {
            self.memo.insert(op.clone(), v);
        }
        self.prog.ops.push(op);
        self.prog.types.push(ty);
        v
    }

    /// Commutative ops put the smaller handle first so `a+b` and `b+a` share.
    fn canonical(&self, op: Op) -> Op {
        match op {
            Op::Add(a, b) if b < a => Op::Add(b, a),
            Op::Mul(a, b) if b < a => Op::Mul(b, a),
            op => op,
        }
    }

    fn konst(&self, v: Value) -> Option<f64> {
        match self.prog.ops.get(v.index()) {
            Some(Op::Const { value, .. }) => Some(value.get()),
            _ => None,
        }
    }

    /// A constant of `ty`'s width. A uniform constant may stand for a varying value:
    /// only widths change what broadcasting means.
    fn konst_like(&mut self, value: f64, ty: Ty) -> Option<Value> {
        Some(self.push(Op::Const {
            value: Num::new(value),
            width: ty.width,
        }))
    }

    /// Constant folding and algebraic identities that keep the result's type.
    fn fold(&mut self, op: &Op) -> Option<Value> {
        let ty = infer(op, |v| self.prog.ty(v)).ok()?;
        let same = |s: &Self, v: Value| s.prog.ty(v).width == ty.width;
        let k = |s: &Self, v: Value| s.konst(v);
        match *op {
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => {
                if let (Some(x), Some(y)) = (k(self, a), k(self, b)) {
                    let r = match op {
                        Op::Add(..) => x + y,
                        Op::Sub(..) => x - y,
                        Op::Mul(..) => x * y,
                        _ => x / y,
                    };
                    return self.konst_like(r, ty);
                }
                let (ka, kb) = (k(self, a), k(self, b));
                match op {
                    Op::Add(..) if ka == Some(0.0) && same(self, b) => Some(b),
                    Op::Add(..) | Op::Sub(..) if kb == Some(0.0) && same(self, a) => Some(a),
                    Op::Sub(..) if ka == Some(0.0) && same(self, b) => Some(self.neg(b)),
                    Op::Mul(..) if ka == Some(1.0) && same(self, b) => Some(b),
                    Op::Mul(..) | Op::Div(..) if kb == Some(1.0) && same(self, a) => Some(a),
                    Op::Mul(..) if ka == Some(-1.0) && same(self, b) => Some(self.neg(b)),
                    Op::Mul(..) if ka == Some(0.0) || kb == Some(0.0) => self.konst_like(0.0, ty),
                    _ => None,
                }
            }
            Op::Neg(a) => match (self.prog.ops[a.index()].clone(), k(self, a)) {
                (_, Some(x)) => self.konst_like(-x, ty),
                (Op::Neg(inner), _) => Some(inner),
                _ => None,
            },
            Op::Func(f, a) => k(self, a).and_then(|x| self.konst_like(f.eval(x), ty)),
            Op::Powi(a, n) => match (n, k(self, a)) {
                (_, Some(x)) => self.konst_like(x.powi(n), ty),
                (1, _) => Some(a),
                _ => None,
            },
            Op::Slice { x, start: 0, len } if len == self.prog.ty(x).width => Some(x),
            Op::Slice { x, start, len } => self.slice_of_concat(x, start, len),
            Op::Splat { x, width: 1 } => Some(x),
            Op::SumEntries(x) if self.prog.ty(x).width == 1 => Some(x),
            _ => None,
        }
    }

    /// A slice that is exactly one part of a concatenation is that part.
    fn slice_of_concat(&self, x: Value, start: u32, len: u32) -> Option<Value> {
        let Op::Concat(parts) = &self.prog.ops[x.index()] else {
            return None;
        };
        let mut at = 0;
        for &p in parts {
            let w = self.prog.ty(p).width;
            if at == start && w == len {
                return Some(p);
            }
            at += w;
        }
        None
    }
}
