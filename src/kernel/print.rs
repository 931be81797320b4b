//! The readable form of a program (`pdenet kernels FILE --emit ir`): a header with the
//! cost model ([`passes::stats`]), then one line per op.

use std::fmt::Write;

use super::ir::{Op, Program, Value};
use super::passes::{self, Info};

fn v(x: Value) -> String {
    format!("v{}", x.0)
}

/// One op, without its result name.
pub fn op(op: &Op) -> String {
    match op {
        Op::Coord(k) => format!("coord {k}"),
        Op::DataCol(k) => format!("data {k}"),
        Op::Weight => "weight".into(),
        Op::Const { value, width } => format!("const {} ×{width}", value.get()),
        Op::Param { offset, len } => format!("θ[{offset}..{}]", offset + len),
        Op::TermSeed(t) => format!("seed term {t}"),
        Op::MatVec {
            w_offset,
            rows,
            cols,
            x,
        } => format!("W@{w_offset}[{rows}×{cols}] · {}", v(*x)),
        Op::MatTVec {
            w_offset,
            rows,
            cols,
            x,
        } => format!("W@{w_offset}[{rows}×{cols}]ᵀ · {}", v(*x)),
        Op::Add(a, b) => format!("{} + {}", v(*a), v(*b)),
        Op::Sub(a, b) => format!("{} - {}", v(*a), v(*b)),
        Op::Mul(a, b) => format!("{} * {}", v(*a), v(*b)),
        Op::Div(a, b) => format!("{} / {}", v(*a), v(*b)),
        Op::Neg(a) => format!("-{}", v(*a)),
        Op::Func(f, a) => format!("{}({})", f.name(), v(*a)),
        Op::Powi(a, n) => format!("{}^{n}", v(*a)),
        Op::Select {
            cmp,
            a,
            b,
            then,
            other,
        } => {
            format!(
                "if {} {} {} then {} else {}",
                v(*a),
                cmp.symbol(),
                v(*b),
                v(*then),
                v(*other)
            )
        }
        Op::Concat(parts) => format!(
            "concat({})",
            parts.iter().map(|&p| v(p)).collect::<Vec<_>>().join(", ")
        ),
        Op::Slice { x, start, len } => format!("{}[{start}..{}]", v(*x), start + len),
        Op::Splat { x, width } => format!("splat {} ×{width}", v(*x)),
        Op::SumEntries(x) => format!("sum {}", v(*x)),
        Op::AccumSquares { term, value } => format!("term {term} += Σ {}²", v(*value)),
        Op::AccumWeighted { term, value } => format!("term {term} += Σ w·{}", v(*value)),
        Op::GradParam { offset, len, value } => {
            format!("∇θ[{offset}..{}] += Σ {}", offset + len, v(*value))
        }
        Op::GradMatrix {
            w_offset,
            rows,
            cols,
            delta,
            x,
        } => {
            format!(
                "∇W@{w_offset}[{rows}×{cols}] += Σ {} ⊗ {}",
                v(*delta),
                v(*x)
            )
        }
        Op::Store { slot, value } => format!("out {slot} = {}", v(*value)),
    }
}

/// The whole program with its header; `points` is the set's batch size when the
/// problem fixes it (the gradient/loss cost depends on it through uniform work).
pub fn program(prog: &Program, info: &Info, title: &str, points: Option<usize>) -> String {
    let s = passes::stats(prog, info);
    let mut out = String::new();
    let kinds: Vec<String> = s
        .ops_by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let _ = writeln!(out, "; {title}");
    let _ = writeln!(out, "; ops: {} ({})", s.ops, kinds.join(", "));
    let _ = writeln!(
        out,
        "; FLOPs per point: forward {}, gradient {}; once per batch: forward {}, gradient {}",
        s.flops_forward, s.flops_backward, s.once_forward, s.once_backward
    );
    let batch = match points {
        None => "per point".to_string(),
        Some(1) => "at 1 point".to_string(),
        Some(n) => format!("at {n} points"),
    };
    let _ = writeln!(
        out,
        "; gradient/loss cost {batch}: {:.2}",
        s.gradient_ratio(points)
    );
    let _ = writeln!(
        out,
        "; tape per point: {} bytes (f32); peak live per point: {} bytes",
        s.tape_bytes, s.peak_bytes
    );
    for (i, o) in prog.ops.iter().enumerate() {
        if i == prog.backward_start {
            let _ = writeln!(out, "; --- reverse pass ---");
        }
        let ty = prog.types[i];
        if o.is_sink() {
            let _ = writeln!(out, "       {}", op(o));
        } else {
            let kind = if ty.varying { "" } else { " uniform" };
            let _ = writeln!(
                out,
                "{:>6} = {}  ; ×{}{kind}",
                v(Value(i as u32)),
                op(o),
                ty.width
            );
        }
    }
    out
}
