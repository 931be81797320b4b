//! The tidy pass: puts an extracted expression in a stable, readable order.
//!
//! Extraction picks any cheapest member of each e-class, so `u_t + u*u_x` may come
//! back as `u*u_x + u_t` and `a - c*b` as `a + -c*b`. This pass fixes the order with
//! one documented rule, without changing the operation count (except for a leading
//! negation, see below):
//!
//! * A sum (any nest of `+`, `-`, unary `-`) is flattened into signed terms. A term
//!   whose numeric coefficient is negative has the sign moved out, so it is printed
//!   as a subtraction. Terms keep the source order: every term of every sum in the
//!   original expression is numbered in reading order, and a term goes where the
//!   first original term with the same set of leaves was (simplification rarely
//!   changes a term's leaves: `2*u*u_x` from `u_x*u + u*u_x` goes where `u_x*u`
//!   was). A term whose leaf set is new goes where the first original term sharing a
//!   leaf with it was, and one sharing none goes last. The sort is stable: ties keep
//!   the extracted order. A negative constant that would come first goes last
//!   instead (`x - 1`, not `-1 + x`). The first term carries its sign as a unary minus; the
//!   others become `+`/`-`.
//! * A product (a nest of `*`) is flattened into factors in a canonical order, the
//!   way products are usually written: numbers, parameters, coordinates, data,
//!   outputs (by output, then derivative order, then x before t), shared entries,
//!   then compound factors by the first appearance of their leaves. A power sorts as its base
//!   (`λ1*u^2*u_x`). Negative numbers and negations among the factors (at any depth
//!   of the nest) become one sign for the whole product; a factor of 1 is dropped.
//! * A quotient takes the sign of its numerator.
//!
//! All of these are exact or reorder additions and multiplications only (rounding
//! changes in the last bits).

use super::ops::{add, is_num, mul, neg, sub};
use super::visit_leaves;
use crate::expr::Expr;
use std::collections::BTreeSet;

/// What the tidy pass remembers of the original expression.
pub(crate) struct Order {
    /// Distinct leaves (numbers excluded) in order of first appearance.
    leaves: Vec<Expr>,
    /// The leaf sets of every term of every sum, in reading order.
    terms: Vec<BTreeSet<usize>>,
}

impl Order {
    pub(crate) fn of(original: &Expr) -> Order {
        let mut order = Order {
            leaves: Vec::new(),
            terms: Vec::new(),
        };
        visit_leaves(original, &mut |leaf| {
            if !matches!(leaf, Expr::Num(_)) && !order.leaves.contains(leaf) {
                order.leaves.push(leaf.clone());
            }
        });
        order.collect_terms(original, false);
        order
    }

    /// Numbers the terms of the sums in `e` in reading order; `in_sum` says whether
    /// `e` is itself part of a sum (then its terms were numbered by the caller).
    fn collect_terms(&mut self, e: &Expr, in_sum: bool) {
        let is_sum = matches!(e, Expr::Add(..) | Expr::Sub(..) | Expr::Neg(_));
        if is_sum && !in_sum {
            let mut terms = Vec::new();
            flatten_sum(e, false, &mut terms);
            for (_, t) in &terms {
                let set = self.leaf_set(t);
                self.terms.push(set);
            }
        }
        for child in e.children() {
            self.collect_terms(child, is_sum);
        }
    }

    fn rank(&self, leaf: &Expr) -> Option<usize> {
        self.leaves.iter().position(|l| l == leaf)
    }

    fn leaf_set(&self, e: &Expr) -> BTreeSet<usize> {
        let mut set = BTreeSet::new();
        visit_leaves(e, &mut |leaf| set.extend(self.rank(leaf)));
        set
    }

    /// Where a term goes in a sum (see the module docs).
    fn term_key(&self, term: &Expr) -> usize {
        let set = self.leaf_set(term);
        let same = self.terms.iter().position(|t| *t == set);
        let sharing = || self.terms.iter().position(|t| !t.is_disjoint(&set));
        same.or_else(sharing).unwrap_or(usize::MAX)
    }
}

pub(crate) fn tidy(e: &Expr, order: &Order) -> Expr {
    let (negative, t) = signed(e, order);
    if negative {
        neg(t)
    } else {
        t
    }
}

/// The tidy form of `e` as a sign and a magnitude expression.
fn signed(e: &Expr, order: &Order) -> (bool, Expr) {
    match e {
        Expr::Add(..) | Expr::Sub(..) | Expr::Neg(_) => sum(e, order),
        Expr::Mul(..) => product(e, order),
        Expr::Div(a, b) => {
            let (negative, top) = signed(a, order);
            (negative, Expr::div(top, tidy(b, order)))
        }
        Expr::Num(v) if *v < 0.0 => (true, Expr::Num(-v)),
        _ => (false, tidy_children(e, order)),
    }
}

fn sum(e: &Expr, order: &Order) -> (bool, Expr) {
    let mut raw = Vec::new();
    flatten_sum(e, false, &mut raw);
    let mut terms: Vec<(bool, Expr)> = raw
        .into_iter()
        .map(|(negated, t)| {
            let (negative, t) = signed(t, order);
            (negated != negative, t)
        })
        .collect();
    terms.sort_by_cached_key(|(_, t)| order.term_key(t));
    // `x - 1`, not `-1 + x`: a leading negative constant goes last.
    if matches!(terms.first(), Some((true, Expr::Num(_)))) {
        terms.rotate_left(1);
    }
    let mut terms = terms.into_iter();
    let Some((first_negative, first)) = terms.next() else {
        return (false, Expr::Num(0.0));
    };
    if terms.len() == 0 {
        return (first_negative, first);
    }
    let mut acc = if first_negative { neg(first) } else { first };
    for (negative, t) in terms {
        acc = if negative { sub(acc, t) } else { add(acc, t) };
    }
    (false, acc)
}

fn flatten_sum<'e>(e: &'e Expr, negated: bool, out: &mut Vec<(bool, &'e Expr)>) {
    match e {
        Expr::Add(a, b) => {
            flatten_sum(a, negated, out);
            flatten_sum(b, negated, out);
        }
        Expr::Sub(a, b) => {
            flatten_sum(a, negated, out);
            flatten_sum(b, !negated, out);
        }
        Expr::Neg(a) => flatten_sum(a, !negated, out),
        _ => out.push((negated, e)),
    }
}

fn product(e: &Expr, order: &Order) -> (bool, Expr) {
    let mut raw = Vec::new();
    let mut negative = false;
    flatten_product(e, &mut negative, &mut raw);
    let mut numbers = Vec::new();
    let mut others = Vec::new();
    for factor in raw {
        let (n, f) = signed(factor, order);
        negative ^= n;
        match f {
            Expr::Num(_) => numbers.push(f),
            _ => others.push(f),
        }
    }
    others.sort_by_cached_key(|f| factor_key(f, order));
    let product = numbers
        .into_iter()
        .chain(others)
        .filter(|f| !is_num(f, 1.0))
        .reduce(mul)
        .unwrap_or(Expr::Num(1.0));
    (negative, product)
}

/// Flattens a nest of `*` and unary `-` into factors and one sign.
fn flatten_product<'e>(e: &'e Expr, negative: &mut bool, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Mul(a, b) => {
            flatten_product(a, negative, out);
            flatten_product(b, negative, out);
        }
        Expr::Neg(a) => {
            *negative = !*negative;
            flatten_product(a, negative, out);
        }
        _ => out.push(e),
    }
}

/// Tidies the children of a node that is neither a sum nor a product. A `D` is left
/// as it is: its operand is expanded, not tidied.
fn tidy_children(e: &Expr, order: &Order) -> Expr {
    if let Expr::D(..) = e {
        return e.clone();
    }
    e.map_children(|x| tidy(x, order))
}

/// Where a factor goes in a product (see the module docs).
fn factor_key(f: &Expr, order: &Order) -> (u8, usize, usize, Vec<u8>, u8) {
    match f {
        Expr::Num(_) => (0, 0, 0, Vec::new(), 0),
        Expr::Param(p) => (1, p.0, 0, Vec::new(), 0),
        Expr::Coord(c) => (2, c.0, 0, Vec::new(), 0),
        Expr::Data(k) => (3, *k, 0, Vec::new(), 0),
        Expr::Out {
            output,
            deriv,
            site,
        } => {
            let order = deriv.iter().map(|&n| usize::from(n)).sum();
            // Larger counts on earlier coordinates first: u_x before u_t.
            let along = deriv.iter().map(|&n| u8::MAX - n).collect();
            (4, output.0, order, along, *site)
        }
        Expr::Shared(k) => (5, *k, 0, Vec::new(), 0),
        Expr::Table { table, deriv } => (5, usize::MAX - table, 0, deriv.clone(), 0),
        Expr::Pow(base, _) => factor_key(base, order),
        _ => (6, first_leaf(f, order), 0, Vec::new(), 0),
    }
}

/// The smallest rank among the leaves of `e` (`usize::MAX` when it has none).
fn first_leaf(e: &Expr, order: &Order) -> usize {
    order.leaf_set(e).first().copied().unwrap_or(usize::MAX)
}
