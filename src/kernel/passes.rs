//! Passes over finished programs: `validate` (whose [`Info`] the back ends use),
//! `optimize` (dead-code elimination, then a rebuild through the [`Builder`], which
//! re-does CSE and constant folding), and the cost model behind the printer's header.

use std::collections::BTreeMap;

use super::builder::Builder;
use super::ir::{infer, Op, Program, Value};

/// What back ends need besides the program: liveness.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// For each value, the index of the last op that reads it (its own index when
    /// nothing reads it). A back end may free or reuse its buffer after that op.
    pub last_use: Vec<usize>,
}

/// Checks the invariants listed in `ir`'s module docs.
pub fn validate(prog: &Program) -> Result<Info, String> {
    if prog.types.len() != prog.ops.len() || prog.backward_start > prog.ops.len() {
        return Err("types and ops disagree in length".into());
    }
    let mut last_use: Vec<usize> = (0..prog.ops.len()).collect();
    for (i, op) in prog.ops.iter().enumerate() {
        let at = |e: String| format!("v{i} ({}): {e}", op.kind());
        for v in op.operands() {
            if v.index() >= i {
                return Err(at(format!("operand v{} does not precede its use", v.0)));
            }
            if prog.ops[v.index()].is_sink() {
                return Err(at(format!("operand v{} is a sink", v.0)));
            }
            last_use[v.index()] = i;
        }
        let ty = infer(op, |v| prog.ty(v)).map_err(at)?;
        if ty != prog.types[i] {
            return Err(at(format!(
                "recorded type {:?} but infers {ty:?}",
                prog.types[i]
            )));
        }
        check_ranges(prog, op).map_err(at)?;
        let backward_only = matches!(
            op,
            Op::TermSeed(_) | Op::GradParam { .. } | Op::GradMatrix { .. }
        );
        if backward_only && i < prog.backward_start {
            return Err(at("reverse-pass op in the forward pass".into()));
        }
    }
    Ok(Info { last_use })
}

/// θ ranges inside θ; coordinate, data and term indices in range.
fn check_ranges(prog: &Program, op: &Op) -> Result<(), String> {
    let theta = |offset: u32, len: u32| {
        if offset as u64 + len as u64 <= prog.theta_len as u64 {
            Ok(())
        } else {
            Err(format!("θ range {offset}+{len} beyond {}", prog.theta_len))
        }
    };
    let below = |k: u32, n: u32, what: &str| {
        if k < n {
            Ok(())
        } else {
            Err(format!("{what} {k} out of range ({n})"))
        }
    };
    match *op {
        Op::Param { offset, len } | Op::GradParam { offset, len, .. } => theta(offset, len),
        Op::MatVec {
            w_offset,
            rows,
            cols,
            ..
        }
        | Op::MatTVec {
            w_offset,
            rows,
            cols,
            ..
        }
        | Op::GradMatrix {
            w_offset,
            rows,
            cols,
            ..
        } => theta(w_offset, rows * cols),
        Op::Coord(k) => below(k, prog.n_coords, "coordinate"),
        Op::DataCol(k) => below(k, prog.n_data, "data column"),
        Op::TermSeed(t) | Op::AccumSquares { term: t, .. } | Op::AccumWeighted { term: t, .. } => {
            below(t, prog.n_terms, "term")
        }
        _ => Ok(()),
    }
}

/// Dead-code elimination, then a rebuild (CSE, folding) keeping the forward/reverse
/// split.
pub fn optimize(prog: &Program) -> Result<Program, String> {
    let mut live = vec![false; prog.ops.len()];
    for i in (0..prog.ops.len()).rev() {
        if prog.ops[i].is_sink() {
            live[i] = true;
        }
        if live[i] {
            for v in prog.ops[i].operands() {
                live[v.index()] = true;
            }
        }
    }
    let mut b = Builder::new(prog.n_coords, prog.n_data, prog.n_terms, prog.theta_len);
    let mut map = vec![Value(u32::MAX); prog.ops.len()];
    for (i, op) in prog.ops.iter().enumerate() {
        if i == prog.backward_start {
            b.end_forward();
        }
        if live[i] {
            map[i] = b.push(op.map_operands(|v| map[v.index()]));
        }
    }
    if prog.backward_start == prog.ops.len() {
        b.end_forward();
    }
    b.finish()
}

/// The cost model of a program: per point, plus the uniform work done once per batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    pub ops: usize,
    pub ops_by_kind: BTreeMap<&'static str, usize>,
    /// FLOPs per point of the forward pass (loss alone) and of the reverse pass.
    pub flops_forward: u64,
    pub flops_backward: u64,
    /// Of those, the products with θ (`MatVec`, `MatTVec`, `GradMatrix`) per point.
    pub flops_products: u64,
    /// FLOPs of uniform values (computed once per batch, whatever its size) in the
    /// forward and the reverse pass. A periodic condition of a discrete-time problem
    /// evaluates the far end at a constant point: that whole network pass is here.
    pub once_forward: u64,
    pub once_backward: u64,
    /// f32 numbers per point that the forward pass leaves for the reverse pass, in bytes.
    pub tape_bytes: u64,
    /// Peak bytes per point of live varying values (f32), with buffers freed after
    /// their last use.
    pub peak_bytes: u64,
}

impl Stats {
    /// FLOPs of loss and gradient over FLOPs of the loss alone, for a batch of
    /// `points` points: per-point work counted `points` times, uniform work once.
    /// `None` (a batch size known only at run time) gives the many-point limit,
    /// where the uniform work vanishes.
    pub fn gradient_ratio(&self, points: Option<usize>) -> f64 {
        let (n, once_f, once_b) = match points {
            Some(n) => (n.max(1) as f64, self.once_forward, self.once_backward),
            None => (1.0, 0, 0),
        };
        let loss = n * self.flops_forward as f64 + once_f as f64;
        let both = loss + n * self.flops_backward as f64 + once_b as f64;
        both / loss.max(1.0)
    }
}

/// Whether op `i` is done per point (it or an operand varies) rather than once.
fn per_point(prog: &Program, i: usize) -> bool {
    prog.types[i].varying || prog.ops[i].operands().iter().any(|&v| prog.ty(v).varying)
}

/// FLOPs of one evaluation of op `i` (per point, or once per batch for uniform
/// work): element-wise ops and function calls count one per entry, products
/// 2·rows·cols, data movement (concat, slice, splat) nothing.
fn op_work(prog: &Program, i: usize) -> u64 {
    let op = &prog.ops[i];
    let ty = prog.types[i];
    let w = ty.width as u64;
    let operand_width = |v: Value| prog.ty(v).width as u64;
    match op {
        Op::Coord(_) | Op::DataCol(_) | Op::Weight | Op::Const { .. } | Op::Param { .. } => 0,
        Op::TermSeed(_)
        | Op::Concat(_)
        | Op::Slice { .. }
        | Op::Splat { .. }
        | Op::Store { .. } => 0,
        Op::MatVec { rows, cols, .. } | Op::MatTVec { rows, cols, .. } => {
            2 * (*rows * *cols) as u64
        }
        Op::GradMatrix { rows, cols, .. } => 2 * (*rows * *cols) as u64,
        Op::Add(..) | Op::Sub(..) | Op::Mul(..) | Op::Div(..) | Op::Neg(_) | Op::Func(..) => w,
        Op::Select { .. } => w,
        Op::Powi(_, n) => w * (n.unsigned_abs() as u64).saturating_sub(1).max(1),
        Op::SumEntries(x) => operand_width(*x),
        Op::GradParam { len, .. } => *len as u64,
        Op::AccumSquares { value, .. } | Op::AccumWeighted { value, .. } => {
            2 * operand_width(*value)
        }
    }
}

pub fn stats(prog: &Program, info: &Info) -> Stats {
    let mut s = Stats {
        ops: prog.ops.len(),
        ..Stats::default()
    };
    let mut live_bytes = 0u64;
    let mut frees: Vec<Vec<usize>> = vec![vec![]; prog.ops.len()];
    for (v, &last) in info.last_use.iter().enumerate() {
        frees[last].push(v);
    }
    let bytes = |v: usize| {
        let ty = prog.types[v];
        if ty.varying {
            4 * ty.width as u64
        } else {
            0
        }
    };
    for (i, op) in prog.ops.iter().enumerate() {
        *s.ops_by_kind.entry(op.kind()).or_default() += 1;
        let f = op_work(prog, i);
        let product = matches!(
            op,
            Op::MatVec { .. } | Op::MatTVec { .. } | Op::GradMatrix { .. }
        );
        if product && per_point(prog, i) {
            s.flops_products += f;
        }
        match (i < prog.backward_start, per_point(prog, i)) {
            (true, true) => s.flops_forward += f,
            (false, true) => s.flops_backward += f,
            (true, false) => s.once_forward += f,
            (false, false) => s.once_backward += f,
        }
        live_bytes += bytes(i);
        s.peak_bytes = s.peak_bytes.max(live_bytes);
        for &v in &frees[i] {
            live_bytes -= bytes(v);
        }
    }
    s.tape_bytes = (0..prog.backward_start)
        .filter(|&v| info.last_use[v] >= prog.backward_start)
        .map(bytes)
        .sum();
    s
}

/// Buffer reuse for back ends that preallocate: each varying value gets a slot; a
/// slot is reused once its previous value is dead (after its last use), and only by
/// a value of the same width, so a slot's size is fixed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BufferPlan {
    /// Slot of each value (`None` for sinks and uniform values, kept once per batch).
    pub slot: Vec<Option<u32>>,
    /// Width of each slot.
    pub slot_width: Vec<u32>,
}

impl BufferPlan {
    /// f32 bytes per point of all slots together (the tests hold the plan to half the
    /// naive size).
    #[cfg(test)]
    pub fn bytes_per_point(&self) -> u64 {
        self.slot_width.iter().map(|&w| 4 * w as u64).sum()
    }
}

/// Linear-scan slot assignment from liveness for the values `needs_slot` picks (a
/// back end that keeps some values elsewhere, e.g. in registers, gives them no
/// slot). A value's slot is freed after the op that last reads it, so an op never
/// writes a slot one of its operands occupies.
pub fn plan_slots(prog: &Program, info: &Info, needs_slot: impl Fn(usize) -> bool) -> BufferPlan {
    let mut plan = BufferPlan {
        slot: vec![None; prog.ops.len()],
        slot_width: vec![],
    };
    let mut free: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut dies: Vec<Vec<usize>> = vec![vec![]; prog.ops.len()];
    for (v, &last) in info.last_use.iter().enumerate() {
        dies[last].push(v);
    }
    for (i, &ty) in prog.types.iter().enumerate() {
        if needs_slot(i) {
            let reuse = free.get_mut(&ty.width).and_then(Vec::pop);
            let s = reuse.unwrap_or_else(|| {
                plan.slot_width.push(ty.width);
                plan.slot_width.len() as u32 - 1
            });
            plan.slot[i] = Some(s);
        }
        for &v in &dies[i] {
            if let Some(s) = plan.slot[v] {
                free.entry(plan.slot_width[s as usize]).or_default().push(s);
            }
        }
    }
    plan
}
