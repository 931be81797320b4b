//! Element-wise ops fused into one loop over a tile.
//!
//! Between two products, a PINN kernel is a run of element-wise ops of one width:
//! a layer's bias, activation and the jet arithmetic of its derivatives forward; the
//! chain rule through them backward. Computed one op per loop, every op loads its
//! operands from the tile's scratch and stores its result, so the element-wise work
//! is bound by loads and stores (it took about two thirds of an MLP epoch once the
//! products ran on full-width vectors). A *group* is such a run computed in one loop:
//! each vector of points goes through all of the group's ops in registers, and only
//! the values read after the group are stored. The arithmetic and its order per
//! point are unchanged, so the results are bit-identical to one loop per op.

use cranelift_codegen::ir::Value as CValue;

use super::{elementwise, native_call, Entry, Opd, Tr, VB};
use crate::backend::cpu::vmath::Vm;
use crate::kernel::ir::Program;
use crate::kernel::passes::Info;

/// Ops per group at most for Cranelift's loops: a loop body's code grows with its
/// group, and Cranelift's register allocation grows faster than linearly with a
/// block's size (uncapped, Allen–Cahn's runs of hundreds of ops took its compile
/// from 16 s to 88 s).
pub(crate) const MAX_OPS: usize = 32;

/// Consecutive element-wise ops of one width over varying values, computed in one
/// loop over the tile's vectors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// Op indices, in program order.
    pub ops: Vec<usize>,
    /// Whether each op's value is read after the group (so it needs a slot and a
    /// store); the others live in registers only.
    pub stored: Vec<bool>,
}

/// A varying element-wise op (one [`elementwise`] knows) that is not a call to a
/// `native` function (a call ends a group: its result is written for the call).
fn fusible(prog: &Program, i: usize, vm: Vm, native: bool) -> bool {
    prog.types[i].varying
        && elementwise(vm, &prog.ops[i]).is_some()
        && native_call(prog, i, native).is_none()
}

/// The groups of a program: maximal runs of fusible ops of one width, where uniform
/// ops (computed before the tile loop) do not break a run and the forward pass's end
/// does (the forward-only function stops there). `native`: whether the functions
/// `micro::Native` lists are calls.
pub(crate) fn groups(
    prog: &Program,
    info: &Info,
    vm: Vm,
    native: bool,
    max_ops: usize,
) -> Vec<Group> {
    let mut out = vec![];
    let mut run: Vec<usize> = vec![];
    let close = |run: &mut Vec<usize>, out: &mut Vec<Group>| {
        if let Some(&last) = run.last() {
            let stored = run.iter().map(|&v| info.last_use[v] > last).collect();
            out.push(Group {
                ops: std::mem::take(run),
                stored,
            });
        }
    };
    for i in 0..prog.ops.len() {
        let uniform = !prog.ops[i].is_sink() && !prog.types[i].varying;
        if uniform {
            continue;
        }
        let same_width = run
            .first()
            .is_none_or(|&f| prog.types[f].width == prog.types[i].width);
        let fusible = fusible(prog, i, vm, native);
        if i == prog.backward_start || !fusible || !same_width || run.len() == max_ops {
            close(&mut run, &mut out);
        }
        if fusible {
            run.push(i);
        }
    }
    close(&mut run, &mut out);
    out
}

/// Where an op of a group reads an operand.
#[derive(Clone, Copy)]
enum Src {
    /// The value of the group's k-th op, in a register.
    Reg(usize),
    /// The k-th distinct operand from outside the group, loaded once per vector.
    Mem(usize),
}

impl Tr<'_> {
    /// Computes group `g`: for every entry, one loop over the tile in which each
    /// vector of points runs through all of the group's ops.
    pub(super) fn group(&mut self, g: usize) {
        if let Some(addr) = self.plan.group_code.as_ref().and_then(|c| c.addr(g)) {
            let args = [self.p.scratch, self.p.uniform, self.col[0], self.p.stride];
            self.call(addr, &args);
            return;
        }
        let group = &self.plan.groups[g];
        let prog = self.prog;
        let ops: Vec<_> = group
            .ops
            .iter()
            .map(|&i| elementwise(self.vm, &prog.ops[i]).expect("grouped ops are element-wise"))
            .collect();
        let mut outside: Vec<usize> = vec![];
        let srcs: Vec<Vec<Src>> = ops
            .iter()
            .map(|(args, _)| {
                args.iter()
                    .map(|a| match group.ops.iter().position(|&i| i == a.index()) {
                        Some(k) => Src::Reg(k),
                        None => {
                            let m = outside.iter().position(|&v| v == a.index());
                            Src::Mem(m.unwrap_or_else(|| {
                                outside.push(a.index());
                                outside.len() - 1
                            }))
                        }
                    })
                    .collect()
            })
            .collect();
        let stored: Vec<Option<usize>> = group
            .ops
            .iter()
            .zip(&group.stored)
            .map(|(&i, &s)| s.then_some(i))
            .collect();
        let width = prog.types[group.ops[0]].width as usize;
        self.entries(width, |t, e| {
            let mem: Vec<Opd> = outside.iter().map(|&v| t.opd_at(v, e)).collect();
            let out: Vec<Option<Opd>> = stored.iter().map(|s| s.map(|i| t.opd_at(i, e))).collect();
            let (n, nu) = t.extent(true);
            t.counted(n, (nu * VB) as i64, vec![], |t, i, _| {
                for u in 0..nu {
                    let mut loaded: Vec<Option<CValue>> = vec![None; mem.len()];
                    let mut regs: Vec<CValue> = Vec::with_capacity(ops.len());
                    for (k, (_, f)) in ops.iter().enumerate() {
                        let xs: Vec<CValue> = srcs[k]
                            .iter()
                            .map(|s| match *s {
                                Src::Reg(r) => regs[r],
                                Src::Mem(m) => *loaded[m].get_or_insert_with(|| t.ld(mem[m], i, u)),
                            })
                            .collect();
                        let r = f(&mut t.b, &xs);
                        if let Some(o) = out[k] {
                            t.st(o, i, u, r);
                        }
                        regs.push(r);
                    }
                }
                vec![]
            });
        });
    }

    fn opd_at(&mut self, v: usize, e: Entry) -> Opd {
        let o = self.opd(v);
        self.at(o, e)
    }
}
