//! The Kernel IR: one SSA program per point set.
//!
//! A [`Program`] is an arena of [`Op`]s; `Value(i)` names the result of `ops[i]`.
//! Every value is, per point, a vector of `width` numbers ([`Ty`]); a value that is the
//! same for every point (θ entries, constants, anything computed only from them) is
//! *uniform* (`varying == false`) and is stored once. Back ends map points to SIMD
//! lanes (Cranelift) or to invocations (WGSL); the IR itself never loops over points:
//! only the sinks (`Accum*`, `Grad*`) reduce over them.
//!
//! Invariants (checked by [`crate::kernel::validate`]):
//! - operands precede their users (the arena order is a topological order);
//! - `types[i]` is what [`infer`] gives for `ops[i]`;
//! - element-wise binary ops take equal widths, or one operand of width 1 (broadcast);
//! - sinks (width 0) are never operands;
//! - `ops[..backward_start]` is the forward pass and holds no `TermSeed`, `GradParam`
//!   or `GradMatrix`: the host may run it alone (integral terms need their sums before
//!   the reverse pass can be seeded);
//! - θ ranges (`Param`, `MatVec`, `Grad*`) lie inside `theta_len`.

use crate::expr::{Cmp, Func};

/// Handle of a value: the index of the op that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

impl Value {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// An f64 stored by its bits so ops can be hashed for CSE (`-0.0` and `0.0` differ,
/// which only costs a missed sharing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Num(u64);

impl Num {
    pub fn new(v: f64) -> Num {
        Num(v.to_bits())
    }
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// The per-point shape of a value. Width 0 marks a sink (no value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ty {
    pub width: u32,
    pub varying: bool,
}

impl Ty {
    pub const SINK: Ty = Ty {
        width: 0,
        varying: false,
    };
}

/// One operation. θ offsets index the flat parameter vector (see `net::Layout`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// Coordinate k of the point (width 1, varying).
    Coord(u32),
    /// Data column k of the point (width 1, varying).
    DataCol(u32),
    /// The point's quadrature weight (integral terms).
    Weight,
    /// A constant vector: `width` copies of `value`.
    Const {
        value: Num,
        width: u32,
    },
    /// θ[offset .. offset + len], broadcast to every point.
    Param {
        offset: u32,
        len: u32,
    },
    /// ∂(total loss)/∂(term's sum), supplied by the host (reverse pass only).
    TermSeed(u32),
    /// W·x with W = θ[w_offset ..] row-major rows × cols; x has width cols.
    MatVec {
        w_offset: u32,
        rows: u32,
        cols: u32,
        x: Value,
    },
    /// Wᵀ·x; x has width rows (the adjoint of `MatVec`).
    MatTVec {
        w_offset: u32,
        rows: u32,
        cols: u32,
        x: Value,
    },
    Add(Value, Value),
    Sub(Value, Value),
    Mul(Value, Value),
    Div(Value, Value),
    Neg(Value),
    Func(Func, Value),
    Powi(Value, i32),
    /// `if a CMP b then t else e`, element-wise.
    Select {
        cmp: Cmp,
        a: Value,
        b: Value,
        then: Value,
        other: Value,
    },
    /// The parts laid end to end.
    Concat(Vec<Value>),
    /// Entries start .. start + len of x.
    Slice {
        x: Value,
        start: u32,
        len: u32,
    },
    /// A width-1 value repeated `width` times.
    Splat {
        x: Value,
        width: u32,
    },
    /// The sum of x's entries (width 1).
    SumEntries(Value),
    /// Sink: term's sum += Σ_points Σ_entries value².
    AccumSquares {
        term: u32,
        value: Value,
    },
    /// Sink: term's sum += Σ_points weight · Σ_entries value (integral terms).
    AccumWeighted {
        term: u32,
        value: Value,
    },
    /// Sink: grad[offset ..][j] += Σ_points value[j].
    GradParam {
        offset: u32,
        len: u32,
        value: Value,
    },
    /// Sink: grad[w_offset + r·cols + c] += Σ_points delta[r] · x[c].
    GradMatrix {
        w_offset: u32,
        rows: u32,
        cols: u32,
        delta: Value,
        x: Value,
    },
    /// Sink: output slot `slot` at this point = value (predictions).
    Store {
        slot: u32,
        value: Value,
    },
}

impl Op {
    /// The values this op reads, in order.
    pub fn operands(&self) -> Vec<Value> {
        match self {
            Op::Coord(_)
            | Op::DataCol(_)
            | Op::Weight
            | Op::Const { .. }
            | Op::Param { .. }
            | Op::TermSeed(_) => vec![],
            Op::MatVec { x, .. } | Op::MatTVec { x, .. } => vec![*x],
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => vec![*a, *b],
            Op::Neg(a) | Op::Func(_, a) | Op::Powi(a, _) | Op::SumEntries(a) => vec![*a],
            Op::Select {
                a, b, then, other, ..
            } => vec![*a, *b, *then, *other],
            Op::Concat(parts) => parts.clone(),
            Op::Slice { x, .. } | Op::Splat { x, .. } => vec![*x],
            Op::AccumSquares { value, .. }
            | Op::AccumWeighted { value, .. }
            | Op::GradParam { value, .. }
            | Op::Store { value, .. } => vec![*value],
            Op::GradMatrix { delta, x, .. } => vec![*delta, *x],
        }
    }

    /// The same op with every operand passed through `f`.
    pub fn map_operands(&self, mut f: impl FnMut(Value) -> Value) -> Op {
        let mut op = self.clone();
        match &mut op {
            Op::Coord(_)
            | Op::DataCol(_)
            | Op::Weight
            | Op::Const { .. }
            | Op::Param { .. }
            | Op::TermSeed(_) => {}
            Op::MatVec { x, .. } | Op::MatTVec { x, .. } => *x = f(*x),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => {
                *a = f(*a);
                *b = f(*b);
            }
            Op::Neg(a) | Op::Func(_, a) | Op::Powi(a, _) | Op::SumEntries(a) => *a = f(*a),
            Op::Select {
                a, b, then, other, ..
            } => {
                *a = f(*a);
                *b = f(*b);
                *then = f(*then);
                *other = f(*other);
            }
            Op::Concat(parts) => parts.iter_mut().for_each(|p| *p = f(*p)),
            Op::Slice { x, .. } | Op::Splat { x, .. } => *x = f(*x),
            Op::AccumSquares { value, .. }
            | Op::AccumWeighted { value, .. }
            | Op::GradParam { value, .. }
            | Op::Store { value, .. } => *value = f(*value),
            Op::GradMatrix { delta, x, .. } => {
                *delta = f(*delta);
                *x = f(*x);
            }
        }
        op
    }

    /// Sinks have effects (sums, gradient, stores) and no value; DCE keeps them.
    pub fn is_sink(&self) -> bool {
        matches!(
            self,
            Op::AccumSquares { .. }
                | Op::AccumWeighted { .. }
                | Op::GradParam { .. }
                | Op::GradMatrix { .. }
                | Op::Store { .. }
        )
    }

    /// A short name for the op's kind (printer, statistics).
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Coord(_) => "coord",
            Op::DataCol(_) => "data",
            Op::Weight => "weight",
            Op::Const { .. } => "const",
            Op::Param { .. } => "param",
            Op::TermSeed(_) => "seed",
            Op::MatVec { .. } => "matvec",
            Op::MatTVec { .. } => "matTvec",
            Op::Add(..) => "add",
            Op::Sub(..) => "sub",
            Op::Mul(..) => "mul",
            Op::Div(..) => "div",
            Op::Neg(_) => "neg",
            Op::Func(f, _) => f.name(),
            Op::Powi(..) => "powi",
            Op::Select { .. } => "select",
            Op::Concat(_) => "concat",
            Op::Slice { .. } => "slice",
            Op::Splat { .. } => "splat",
            Op::SumEntries(_) => "sum",
            Op::AccumSquares { .. } => "accum_sq",
            Op::AccumWeighted { .. } => "accum_w",
            Op::GradParam { .. } => "grad_param",
            Op::GradMatrix { .. } => "grad_matrix",
            Op::Store { .. } => "store",
        }
    }
}

/// A kernel program for one point set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    pub ops: Vec<Op>,
    /// `types[i]` is the type of `Value(i)`.
    pub types: Vec<Ty>,
    /// `ops[..backward_start]` is the forward pass (see the module invariants).
    pub backward_start: usize,
    /// Number of coordinates, data columns and loss terms the program may name.
    pub n_coords: u32,
    pub n_data: u32,
    pub n_terms: u32,
    pub theta_len: u32,
}

impl Program {
    pub fn ty(&self, v: Value) -> Ty {
        self.types[v.index()]
    }
}

/// The type of `op`'s result given its operands' types, or why it is ill-typed.
pub fn infer(op: &Op, ty: impl Fn(Value) -> Ty) -> Result<Ty, String> {
    let vary = |vs: &[Value]| vs.iter().any(|&v| ty(v).varying);
    let need = |v: Value, w: u32, what: &str| {
        if ty(v).width == w {
            Ok(())
        } else {
            Err(format!("{what}: expected width {w}, found {}", ty(v).width))
        }
    };
    let varying = |width| Ty {
        width,
        varying: true,
    };
    let uniform = |width| Ty {
        width,
        varying: false,
    };
    match op {
        Op::Coord(_) | Op::DataCol(_) | Op::Weight => Ok(varying(1)),
        Op::Const { width, .. } | Op::Param { len: width, .. } => Ok(uniform(*width)),
        Op::TermSeed(_) => Ok(uniform(1)),
        Op::MatVec { rows, cols, x, .. } => {
            need(*x, *cols, "matvec operand")?;
            Ok(Ty {
                width: *rows,
                varying: vary(&[*x]),
            })
        }
        Op::MatTVec { rows, cols, x, .. } => {
            need(*x, *rows, "matTvec operand")?;
            Ok(Ty {
                width: *cols,
                varying: vary(&[*x]),
            })
        }
        Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) | Op::Div(a, b) => {
            let width = broadcast(&[ty(*a).width, ty(*b).width])?;
            Ok(Ty {
                width,
                varying: vary(&[*a, *b]),
            })
        }
        Op::Neg(a) | Op::Func(_, a) | Op::Powi(a, _) => Ok(ty(*a)),
        Op::Select {
            a, b, then, other, ..
        } => {
            let vs = [*a, *b, *then, *other];
            let width = broadcast(&vs.map(|v| ty(v).width))?;
            Ok(Ty {
                width,
                varying: vary(&vs),
            })
        }
        Op::Concat(parts) => {
            let width = parts.iter().map(|&p| ty(p).width).sum();
            Ok(Ty {
                width,
                varying: vary(parts),
            })
        }
        Op::Slice { x, start, len } => {
            if start + len > ty(*x).width || *len == 0 {
                return Err(format!("slice {start}+{len} of width {}", ty(*x).width));
            }
            Ok(Ty {
                width: *len,
                varying: vary(&[*x]),
            })
        }
        Op::Splat { x, width } => {
            need(*x, 1, "splat operand")?;
            Ok(Ty {
                width: *width,
                varying: vary(&[*x]),
            })
        }
        Op::SumEntries(x) => Ok(Ty {
            width: 1,
            varying: vary(&[*x]),
        }),
        Op::GradParam { len, value, .. } => need(*value, *len, "grad_param").map(|_| Ty::SINK),
        Op::GradMatrix {
            rows,
            cols,
            delta,
            x,
            ..
        } => {
            need(*delta, *rows, "grad_matrix delta")?;
            need(*x, *cols, "grad_matrix x")?;
            Ok(Ty::SINK)
        }
        Op::AccumSquares { .. } | Op::AccumWeighted { .. } | Op::Store { .. } => Ok(Ty::SINK),
    }
}

/// The common width of element-wise operands: all equal, or 1 (broadcast).
fn broadcast(widths: &[u32]) -> Result<u32, String> {
    let w = widths.iter().copied().max().unwrap_or(1);
    if widths.iter().all(|&x| x == w || x == 1) && !widths.contains(&0) {
        Ok(w)
    } else {
        Err(format!("incompatible widths {widths:?}"))
    }
}
