//! The readable printer behind `pdenet kernels --emit residual` and the golden tests.
//!
//! Standard precedence (`+ -` < `* /` < unary `-` operand rules < `^` < atoms) with
//! the fewest parentheses that keep the value: `a + (b + c)` prints `a + b + c` and
//! `a*(b*c)` prints `a*b*c` since both read the same mathematically, while
//! `a - (b + c)`, `a/(b*c)` and `(a + b)^2` keep theirs. A unary minus or a negative
//! number is parenthesized anywhere but at the start of a sum or product
//! (`-u*u_x + c`, `a - (-b)`, `a*(-2)`). Output derivatives use suffix notation:
//! `u_xxt`, `u_x@1` at site 1.

use crate::expr::Expr;
use std::fmt::Write;

/// Names for the indices in an expression (`Problem::coords`, `Network::outputs`, …).
/// An index without a name prints as `coord[k]`, `out[k]`, `param[k]`, `data[k]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Names {
    pub coords: Vec<String>,
    pub outputs: Vec<String>,
    pub params: Vec<String>,
    pub data: Vec<String>,
    pub tables: Vec<String>,
}

/// Prints `e` readably (see the module docs for the rules).
pub fn display(e: &Expr, names: &Names) -> String {
    let mut s = String::new();
    Printer { names, out: &mut s }.expr(e, Prec::Lowest);
    s
}

/// Binding strength, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Prec {
    /// `if … then … else …`
    Lowest,
    Sum,
    Product,
    /// A unary minus or a negative number: allowed where an expression starts.
    Signed,
    Power,
    Atom,
}

fn prec(e: &Expr) -> Prec {
    match e {
        Expr::If(..) => Prec::Lowest,
        Expr::Add(..) | Expr::Sub(..) => Prec::Sum,
        Expr::Mul(..) | Expr::Div(..) => Prec::Product,
        Expr::Neg(_) => Prec::Signed,
        Expr::Num(v) if v.is_sign_negative() => Prec::Signed,
        Expr::Pow(..) => Prec::Power,
        _ => Prec::Atom,
    }
}

/// Whether `e` printed without parentheses would start with a minus sign.
fn starts_with_sign(e: &Expr) -> bool {
    match e {
        Expr::Neg(_) => true,
        Expr::Num(v) => v.is_sign_negative(),
        Expr::Mul(a, _) | Expr::Div(a, _) => starts_with_sign(a),
        _ => false,
    }
}

struct Printer<'a> {
    names: &'a Names,
    out: &'a mut String,
}

impl Printer<'_> {
    /// Prints `e` where the context needs at least `min` binding strength.
    fn expr(&mut self, e: &Expr, min: Prec) {
        if prec(e) < min {
            self.out.push('(');
            self.bare(e);
            self.out.push(')');
        } else {
            self.bare(e);
        }
    }

    /// Operands after an infix operator: a leading sign there needs parentheses
    /// (`a + (-b*c)`, `a*(-2)`).
    fn operand(&mut self, e: &Expr, min: Prec) {
        let min = if starts_with_sign(e) { Prec::Atom } else { min };
        self.expr(e, min);
    }

    fn bare(&mut self, e: &Expr) {
        match e {
            Expr::Num(v) => self.number(*v),
            Expr::Coord(c) => self.name(&self.names.coords, "coord", c.0),
            Expr::Param(p) => self.name(&self.names.params, "param", p.0),
            Expr::Data(k) => self.name(&self.names.data, "data", *k),
            Expr::Shared(k) => self.text(&format!("N[{}]", k + 1)),
            Expr::Out {
                output,
                deriv,
                site,
            } => {
                self.name(&self.names.outputs, "out", output.0);
                self.derivative(deriv, *site);
            }
            Expr::Table { table, deriv } => {
                self.name(&self.names.tables, "table", *table);
                self.derivative(deriv, 0);
            }
            Expr::Add(a, b) => self.infix(a, " + ", b, Prec::Sum, Prec::Sum),
            Expr::Sub(a, b) => self.infix(a, " - ", b, Prec::Sum, Prec::Product),
            Expr::Mul(a, b) => self.infix(a, "*", b, Prec::Product, Prec::Product),
            Expr::Div(a, b) => self.infix(a, "/", b, Prec::Product, Prec::Power),
            Expr::Pow(a, b) => self.infix(a, "^", b, Prec::Atom, Prec::Atom),
            Expr::Neg(a) => {
                self.out.push('-');
                self.operand(a, Prec::Product);
            }
            Expr::Call(f, a) => {
                self.text(f.name());
                self.out.push('(');
                self.expr(a, Prec::Lowest);
                self.out.push(')');
            }
            Expr::If(cmp, l, r, x, y) => {
                self.text("if ");
                self.expr(l, Prec::Sum);
                let _ = write!(self.out, " {} ", cmp.symbol());
                self.expr(r, Prec::Sum);
                self.text(" then ");
                self.expr(x, Prec::Sum);
                self.text(" else ");
                self.expr(y, Prec::Lowest);
            }
            Expr::D(a, c) => {
                self.text("d(");
                self.expr(a, Prec::Lowest);
                self.text(", ");
                self.name(&self.names.coords, "coord", c.0);
                self.out.push(')');
            }
        }
    }

    fn infix(&mut self, a: &Expr, op: &str, b: &Expr, left: Prec, right: Prec) {
        // A power's base that is a negative number or a negation needs parentheses
        // even at the start: `(-2)^2`, not `-2^2`.
        if left == Prec::Atom {
            self.operand(a, left);
        } else {
            self.expr(a, left);
        }
        self.text(op);
        self.operand(b, right);
    }

    fn text(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn name(&mut self, names: &[String], kind: &str, k: usize) {
        match names.get(k) {
            Some(n) => self.out.push_str(n),
            None => {
                let _ = write!(self.out, "{kind}[{k}]");
            }
        }
    }

    /// Shortest round-trip decimal; exponent form outside [1e-5, 1e16) so that
    /// tiny or huge numbers stay short.
    fn number(&mut self, v: f64) {
        let a = v.abs();
        let _ = if a == 0.0 || (1e-5..1e16).contains(&a) || !v.is_finite() {
            write!(self.out, "{v}")
        } else {
            write!(self.out, "{v:e}")
        };
    }

    /// A derivative's suffix (`_xt`) and evaluation site (`@1`) after its name.
    fn derivative(&mut self, deriv: &[u8], site: u8) {
        if deriv.iter().any(|&n| n > 0) {
            self.out.push('_');
            for (c, &n) in deriv.iter().enumerate() {
                for _ in 0..n {
                    self.name(&self.names.coords, "coord", c);
                }
            }
        }
        if site > 0 {
            let _ = write!(self.out, "@{site}");
        }
    }
}
