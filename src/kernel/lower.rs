//! Lowering: residual expressions of one point set → forward IR (jets of the network
//! at every evaluation site the residuals name, then the residual arithmetic, then one
//! accumulation sink per residual).

use std::collections::HashMap;

use super::builder::Builder;
use super::ir::{Op, Program, Value};
use super::jets::{self, Jet, MultiIndex};
use super::KernelError;
use crate::expr::{CoordId, Expr, OutputId};
use crate::net::Layout;
use crate::primitive::Rules;
use crate::problem::{Problem, Reduce};

/// Recursion bound for residual expressions.
const MAX_DEPTH: usize = 500;

/// Lowers expressions at one point (and its extra sites) into a builder.
pub(crate) struct Lowerer<'a> {
    pub b: Builder,
    problem: &'a Problem,
    layout: &'a Layout,
    /// The multi-indices each network's jets carry.
    indices: Vec<Vec<MultiIndex>>,
    /// Site k > 0 is `sites[k − 1]`: the point with one coordinate moved.
    sites: &'a [(CoordId, f64)],
    /// The primitive derivatives the jets read (see `jets::network_jet`).
    rules: Rules,
    /// Network n's output jet at site s, under (s, n).
    jets: HashMap<(u8, usize), Jet>,
    shared: HashMap<usize, Value>,
}

/// One past the highest data column the expressions read.
fn data_columns<'e>(exprs: impl IntoIterator<Item = &'e Expr>) -> u32 {
    fn walk(e: &Expr, n: &mut u32) {
        if let Expr::Data(k) = e {
            *n = (*n).max(*k as u32 + 1);
        }
        e.children().into_iter().for_each(|x| walk(x, n));
    }
    let mut n = 0;
    exprs.into_iter().for_each(|e| walk(e, &mut n));
    n
}

impl<'a> Lowerer<'a> {
    pub fn new(
        problem: &'a Problem,
        layout: &'a Layout,
        exprs: &[&Expr],
        sites: &'a [(CoordId, f64)],
        rules: Rules,
    ) -> Self {
        let n_data = data_columns(exprs.iter().copied().chain(&problem.shared));
        let b = Builder::new(
            problem.coords.len() as u32,
            n_data,
            problem.terms.len() as u32,
            layout.len as u32,
        );
        let indices = jets::needed_indices(problem, exprs.iter().copied());
        Lowerer {
            b,
            problem,
            layout,
            indices,
            sites,
            rules,
            jets: HashMap::new(),
            shared: HashMap::new(),
        }
    }

    /// Network `n`'s output jet at `site`, computed once.
    fn site_jet(&mut self, site: u8, n: usize) -> Result<&Jet, KernelError> {
        if !self.jets.contains_key(&(site, n)) {
            let mut coords: Vec<Value> = (0..self.problem.coords.len())
                .map(|k| self.b.push(Op::Coord(k as u32)))
                .collect();
            if site > 0 {
                let &(c, v) = self.sites.get(site as usize - 1).ok_or_else(|| {
                    KernelError::Unsupported(format!(
                        "evaluation site {site} is not defined for this point set"
                    ))
                })?;
                let slot = coords.get_mut(c.0).ok_or_else(|| {
                    KernelError::Unsupported(format!("site moves unknown coordinate {c}"))
                })?;
                *slot = self.b.num(v);
            }
            let jet = jets::network_jet(
                &mut self.b,
                self.problem,
                n,
                self.layout,
                &coords,
                &self.indices[n],
                self.rules,
            )?;
            self.jets.insert((site, n), jet);
        }
        Ok(&self.jets[&(site, n)])
    }

    fn out(&mut self, output: OutputId, deriv: &[u8], site: u8) -> Result<Value, KernelError> {
        let Some((n, k)) = self.problem.output_of(output) else {
            return Err(KernelError::Unsupported(format!(
                "network output {} does not exist",
                output.0
            )));
        };
        let Some(index) = jets::to_net_index(&self.problem.networks[n], deriv) else {
            return Ok(self.b.num(0.0));
        };
        let coeff = self.site_jet(site, n)?.get(&index);
        Ok(match coeff {
            Some(v) => self.b.push(Op::Slice {
                x: v,
                start: k as u32,
                len: 1,
            }),
            None => self.b.num(0.0),
        })
    }

    /// Lowers one scalar expression.
    pub fn expr(&mut self, e: &Expr, depth: usize) -> Result<Value, KernelError> {
        if depth > MAX_DEPTH {
            return Err(KernelError::Unsupported(
                "expression nested too deeply".into(),
            ));
        }
        let d = depth + 1;
        Ok(match e {
            Expr::Num(v) => self.b.num(*v),
            Expr::Coord(k) if k.0 < self.problem.coords.len() => self.b.push(Op::Coord(k.0 as u32)),
            Expr::Coord(k) => {
                return Err(KernelError::Unsupported(format!("unknown coordinate {k}")))
            }
            Expr::Param(k) => {
                let (Some(p), Some(&offset)) =
                    (self.problem.params.get(k.0), self.layout.params.get(k.0))
                else {
                    return Err(KernelError::Unsupported(format!("unknown parameter {k}")));
                };
                let raw = self.b.push(Op::Param {
                    offset: offset as u32,
                    len: 1,
                });
                // A positive parameter is trained as its log; the exp rule of the
                // reverse pass gives d value / d raw = value.
                if p.positive {
                    self.b.func(crate::expr::Func::Exp, raw)
                } else {
                    raw
                }
            }
            Expr::Out {
                output,
                deriv,
                site,
            } => self.out(*output, deriv, *site)?,
            Expr::Data(k) => self.b.push(Op::DataCol(*k as u32)),
            Expr::Shared(k) => self.shared(*k, d)?,
            Expr::Table { .. } => {
                return Err(KernelError::Unsupported(
                    "a table not yet made a data column (`table::to_columns`)".into(),
                ))
            }
            Expr::Add(a, c) => {
                let (a, c) = (self.expr(a, d)?, self.expr(c, d)?);
                self.b.add(a, c)
            }
            Expr::Sub(a, c) => {
                let (a, c) = (self.expr(a, d)?, self.expr(c, d)?);
                self.b.sub(a, c)
            }
            Expr::Mul(a, c) => {
                let (a, c) = (self.expr(a, d)?, self.expr(c, d)?);
                self.b.mul(a, c)
            }
            Expr::Div(a, c) => {
                let (a, c) = (self.expr(a, d)?, self.expr(c, d)?);
                self.b.div(a, c)
            }
            Expr::Neg(a) => {
                let a = self.expr(a, d)?;
                self.b.neg(a)
            }
            Expr::Pow(a, c) => self.pow(a, c, d)?,
            Expr::Call(f, a) => {
                let a = self.expr(a, d)?;
                self.b.func(*f, a)
            }
            Expr::If(cmp, a, c, t, o) => {
                let (a, c, then, other) = (
                    self.expr(a, d)?,
                    self.expr(c, d)?,
                    self.expr(t, d)?,
                    self.expr(o, d)?,
                );
                self.b.push(Op::Select {
                    cmp: *cmp,
                    a,
                    b: c,
                    then,
                    other,
                })
            }
            Expr::D(..) => {
                return Err(KernelError::Unsupported(
                    "an unexpanded derivative reached the kernel".into(),
                ))
            }
        })
    }

    /// Integer exponents become `Powi`; others exp(b·log a).
    fn pow(&mut self, a: &Expr, c: &Expr, d: usize) -> Result<Value, KernelError> {
        let base = self.expr(a, d)?;
        if let Expr::Num(n) = c {
            if n.fract() == 0.0 && n.abs() <= 64.0 {
                return Ok(self.b.push(Op::Powi(base, *n as i32)));
            }
        }
        let e = self.expr(c, d)?;
        let l = self.b.func(crate::expr::Func::Log, base);
        let m = self.b.mul(e, l);
        Ok(self.b.func(crate::expr::Func::Exp, m))
    }

    fn shared(&mut self, k: usize, d: usize) -> Result<Value, KernelError> {
        if let Some(&v) = self.shared.get(&k) {
            return Ok(v);
        }
        let problem = self.problem;
        let e = problem
            .shared
            .get(k)
            .ok_or_else(|| KernelError::Unsupported(format!("unknown shared expression {k}")))?;
        let v = self.expr(e, d)?;
        self.shared.insert(k, v);
        Ok(v)
    }
}

/// The forward program of point set `set`: every term on it, lowered and accumulated.
pub(crate) fn forward_program(
    problem: &Problem,
    layout: &Layout,
    set: usize,
    rules: Rules,
) -> Result<Program, KernelError> {
    let terms: Vec<(usize, &crate::problem::LossTerm)> = problem
        .terms
        .iter()
        .enumerate()
        .filter(|(_, t)| t.points == set)
        .collect();
    let exprs: Vec<&Expr> = terms.iter().flat_map(|(_, t)| &t.residuals).collect();
    let sites = problem
        .point_sets
        .get(set)
        .map_or(&[][..], |s| &s.sites[..]);
    // Under causal or self-adaptive weighting each point's squared residual is weighed
    // by the set's weight column.
    let weighted = problem.weighted(set);
    let mut lw = Lowerer::new(problem, layout, &exprs, sites, rules);
    for (k, term) in terms {
        for r in &term.residuals {
            let value = lw.expr(r, 0)?;
            let term = k as u32;
            let op = match term_reduce(problem, k) {
                Reduce::Integral { .. } => Op::AccumWeighted { term, value },
                Reduce::Mean | Reduce::Sum if weighted => Op::AccumWeighted {
                    term,
                    value: lw.b.mul(value, value),
                },
                Reduce::Mean | Reduce::Sum => Op::AccumSquares { term, value },
            };
            lw.b.push(op);
        }
    }
    lw.b.end_forward();
    lw.b.finish().map_err(KernelError::Internal)
}

fn term_reduce(problem: &Problem, k: usize) -> Reduce {
    problem.terms[k].reduce
}

/// A forward program that stores each expression (width 1) in slot k.
pub(crate) fn store_program(
    problem: &Problem,
    layout: &Layout,
    exprs: &[Expr],
    rules: Rules,
) -> Result<Program, KernelError> {
    let refs: Vec<&Expr> = exprs.iter().collect();
    let mut lw = Lowerer::new(problem, layout, &refs, &[], rules);
    for (slot, e) in exprs.iter().enumerate() {
        let value = lw.expr(e, 0)?;
        lw.b.push(Op::Store {
            slot: slot as u32,
            value,
        });
    }
    lw.b.end_forward();
    lw.b.finish().map_err(KernelError::Internal)
}
