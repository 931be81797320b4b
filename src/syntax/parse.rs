//! Text → AST with pest. The grammar is grammar/pdenet.pest.
//!
//! pest recurses on nesting, and a stack overflow aborts the process without a
//! panic message, so nesting is bounded before pest sees the text (`prescan`) and
//! the expression tree's depth is bounded while it is built.

use super::ast::*;
use crate::diag::Diag;
use crate::expr::Cmp;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;
use std::sync::OnceLock;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/pdenet.pest"]
struct Grammar;

/// Deepest bracket nesting accepted: far beyond any real file, far below what
/// overflows pest's recursion.
pub const MAX_BRACKET_DEPTH: usize = 64;
/// Deepest expression tree accepted (long operator chains build deep trees too).
pub const MAX_EXPR_DEPTH: usize = 256;
/// Most `if` expressions accepted in one file (each nests pest's recursion).
pub const MAX_IFS: usize = 256;
/// Longest run of prefix signs (`- - - x`).
pub const MAX_SIGNS: usize = 16;
/// Largest source accepted, in bytes.
pub const MAX_SOURCE: usize = 1 << 20;

/// Parses a whole file. Returns every syntax error found (pest stops at the first).
pub fn parse(src: &str) -> Result<File, Vec<Diag>> {
    prescan(src).map_err(|d| vec![d])?;
    let pairs = Grammar::parse(Rule::file, src).map_err(|e| vec![pest_error(src, e)])?;
    let mut b = Builder { errors: Vec::new() };
    let mut file = File::default();
    for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::file) {
        for st in inner(pair) {
            match st.as_rule() {
                Rule::EOI => {}
                Rule::condition => file.statements.extend(b.conditions(st)),
                _ => file.statements.push(b.statement(st)),
            }
        }
    }
    if b.errors.is_empty() {
        Ok(file)
    } else {
        Err(b.errors)
    }
}

/// Parses one expression (tests and the stdlib's helpers).
pub fn parse_expr(src: &str) -> Result<Expr, Vec<Diag>> {
    prescan(src).map_err(|d| vec![d])?;
    let mut pairs = Grammar::parse(Rule::expr, src).map_err(|e| vec![pest_error(src, e)])?;
    let mut b = Builder { errors: Vec::new() };
    let e = match pairs.next() {
        Some(p) if p.as_span().end() == src.trim_end().len() => b.expr(p),
        _ => {
            return Err(vec![Diag::error(
                "pdenet::syntax::expected",
                "not a single expression",
            )])
        }
    };
    if b.errors.is_empty() {
        Ok(e)
    } else {
        Err(b.errors)
    }
}

/// Bounds the resources parsing can take, before pest runs.
fn prescan(src: &str) -> Result<(), Diag> {
    if src.len() > MAX_SOURCE {
        return Err(Diag::error(
            "pdenet::syntax::too_large",
            format!(
                "the file has {} bytes; at most {MAX_SOURCE} are accepted",
                src.len()
            ),
        ));
    }
    if let Some(at) = src.find('\0') {
        return Err(
            Diag::error("pdenet::syntax::nul_byte", "the file contains a NUL byte")
                .label(Span::new(at, at + 1), "NUL byte here")
                .help("a .pde file is UTF-8 text; remove the NUL byte"),
        );
    }
    let (mut depth, mut signs, mut ifs) = (0usize, 0usize, 0usize);
    let mut in_comment = false;
    // `|` both opens and closes an absolute value, so its nesting is estimated: a
    // bar opens where an operand must start (after an operator, an opening bracket,
    // a comma, `=` or an opening bar) and closes elsewhere. Unbounded, pest's
    // recursion on `||||…` overflows the stack (after minutes of backtracking).
    let (mut bars, mut prev, mut prev_bar_opened) = (0usize, '=', false);
    let bytes = src.as_bytes();
    for (i, c) in src.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        match c {
            '#' => in_comment = true,
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    return Err(Diag::error(
                        "pdenet::syntax::too_deep",
                        format!("brackets nest more than {MAX_BRACKET_DEPTH} levels deep"),
                    )
                    .label(Span::new(i, i + 1), "too deep here")
                    .help("split the expression with `let` or `def`"));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            '|' => {
                let opens = if prev == '|' {
                    prev_bar_opened
                } else {
                    "([{,=+-−*×/^·⊙<>≤≥∈∫".contains(prev) || after_keyword(&src[..i])
                };
                prev_bar_opened = opens;
                if !opens {
                    bars = bars.saturating_sub(1);
                } else if bars == MAX_BRACKET_DEPTH {
                    return Err(Diag::error(
                        "pdenet::syntax::too_deep",
                        format!("absolute values nest more than {MAX_BRACKET_DEPTH} levels deep"),
                    )
                    .label(Span::new(i, i + 1), "too deep here")
                    .help("split the expression with `let` or `def`"));
                } else {
                    bars += 1;
                }
            }
            '-' | '+' | '−' => {
                signs += 1;
                if signs > MAX_SIGNS {
                    return Err(Diag::error(
                        "pdenet::syntax::too_deep",
                        format!("more than {MAX_SIGNS} signs in a row"),
                    )
                    .label(Span::new(i, i + c.len_utf8()), "here"));
                }
            }
            c if c.is_whitespace() => {}
            _ => signs = 0,
        }
        if !c.is_whitespace() && c != '#' {
            prev = c;
        }
        let word_start = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if word_start && src[i..].starts_with("if") {
            let after = src[i + 2..].chars().next();
            if !after.is_some_and(|a| a.is_alphanumeric() || a == '_') {
                ifs += 1;
                if ifs > MAX_IFS {
                    return Err(Diag::error(
                        "pdenet::syntax::too_deep",
                        format!("more than {MAX_IFS} `if` expressions in one file"),
                    )
                    .label(Span::new(i, i + 2), "here"));
                }
            }
        }
    }
    Ok(())
}

/// Whether `before` ends with a keyword after which an expression starts.
fn after_keyword(before: &str) -> bool {
    let t = before.trim_end();
    let word_start = t
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(t.len(), |(i, _)| i);
    matches!(
        &t[word_start..],
        "equation" | "initial" | "boundary" | "integral" | "if" | "then" | "else" | "weight"
    )
}

fn pest_error(src: &str, e: pest::error::Error<Rule>) -> Diag {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span(s) => s,
    };
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            names.sort();
            names.dedup();
            names
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let found = src.get(start..).and_then(|rest| rest.chars().next());
    let message = match found {
        Some(c) if c.is_whitespace() => "unexpected end of line".to_string(),
        Some(_) => format!(
            "unexpected `{}`",
            &src[start..start + token_len(&src[start..])]
        ),
        None if start >= end => "unexpected end of statement".to_string(),
        None => "syntax error".to_string(),
    };
    let len = token_len(src.get(start..).unwrap_or("")).max(end - start);
    let help = if expected.is_empty() {
        "see README.md for the language tour".to_string()
    } else {
        format!("expected {}", expected.join(", "))
    };
    Diag::error("pdenet::syntax::unexpected", message)
        .label(Span::new(start, start + len), "here")
        .help(help)
}

/// The length of the token `rest` starts with: a whole name or number, else one
/// character, so that "unexpected `on`" names what the user wrote.
fn token_len(rest: &str) -> usize {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '\'';
    let number = |c: char| c.is_ascii_digit() || c == '.';
    let Some(first) = rest.chars().next() else {
        return 0;
    };
    let part = if word(first) && !first.is_ascii_digit() {
        rest.split(|c: char| !word(c)).next()
    } else if number(first) {
        rest.split(|c: char| !number(c)).next()
    } else {
        None
    };
    part.map_or(first.len_utf8(), |p| p.len().max(first.len_utf8()))
}

/// Friendly names for the rules pest says it expected; `None` hides a rule.
fn rule_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::EOI => "end of file",
        Rule::statement | Rule::domain | Rule::field | Rule::const_decl | Rule::param => {
            "a statement (domain, field, param, equation, …)"
        }
        Rule::expr | Rule::arith | Rule::primary | Rule::expr_atom => "an expression",
        Rule::number => "a number",
        Rule::ident | Rule::word => "a name",
        Rule::string => "a quoted file name",
        Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::pow | Rule::dot => "an operator",
        Rule::cmp => "a comparison (<, <=, >, >=)",
        Rule::kw_in => "`∈` or `in`",
        Rule::cond_eq => "a condition like `u = 0`",
        Rule::point => "a list like `[1, 2]`",
        Rule::kw_on => "`on`",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::differential => "`dx` (the integration variable)",
        Rule::weight => "`weight`",
        Rule::positive => "`positive`",
        Rule::exact => "`exact` (the true value)",
        Rule::data_opt => "`sample`, `noise` or `at`",
        Rule::call_args => "a name with arguments",
        Rule::sample_adapt => "a resampling rule like `rad(every = 500)`",
        Rule::complex => "`: complex`",
        _ => return None,
    })
}

/// Greek letters spelled out in ASCII, normalized to the letter so that `lambda1`
/// and `λ1` are one name.
const GREEK: [(&str, &str); 22] = [
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("epsilon", "ε"),
    ("zeta", "ζ"),
    ("eta", "η"),
    ("theta", "θ"),
    ("kappa", "κ"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("nu", "ν"),
    ("xi", "ξ"),
    ("pi", "π"),
    ("rho", "ρ"),
    ("sigma", "σ"),
    ("tau", "τ"),
    ("phi", "φ"),
    ("chi", "χ"),
    ("psi", "ψ"),
    ("omega", "ω"),
    ("Omega", "Ω"),
];

/// `lambda1` → `λ1`, `psi_y` → `ψ_y`; other names unchanged.
pub fn normalize_name(name: &str) -> String {
    for (ascii, greek) in GREEK {
        if let Some(rest) = name.strip_prefix(ascii) {
            if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit() || c == '_') {
                return format!("{greek}{rest}");
            }
        }
    }
    name.to_string()
}

/// `λ1` → `lambda1`: the ASCII spelling of a normalized Greek name, if it has one
/// (for "did you mean" suggestions to a user who types ASCII).
pub fn ascii_spelling(name: &str) -> Option<String> {
    GREEK.iter().find_map(|(ascii, greek)| {
        name.strip_prefix(greek)
            .map(|rest| format!("{ascii}{rest}"))
    })
}

fn pratt() -> &'static PrattParser<Rule> {
    static P: OnceLock<PrattParser<Rule>> = OnceLock::new();
    P.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::dot, Assoc::Left)
                | Op::infix(Rule::hadamard, Assoc::Left))
            .op(Op::prefix(Rule::neg) | Op::prefix(Rule::plus))
            .op(Op::infix(Rule::pow, Assoc::Right))
    })
}

/// The children of a pair without keyword tokens.
fn inner(p: Pair<Rule>) -> std::vec::IntoIter<Pair<Rule>> {
    let kids: Vec<_> = p
        .into_inner()
        .filter(|c| !is_keyword(c.as_rule()))
        .collect();
    kids.into_iter()
}

fn is_keyword(r: Rule) -> bool {
    format!("{r:?}").starts_with("kw_")
        && !matches!(r, Rule::kw_boundary | Rule::kw_reference | Rule::kw_table)
}

/// A pair's span without the whitespace and comments pest leaves at its end (a rule
/// ending in an optional part keeps the whitespace skipped before trying it), so
/// that labels cover exactly what was written.
fn span(p: &Pair<Rule>) -> Span {
    let start = p.as_span().start();
    Span::new(start, start + trimmed_len(p.as_str()))
}

/// The length of `text` without trailing whitespace and `#` comments.
fn trimmed_len(text: &str) -> usize {
    let mut t = text.trim_end();
    loop {
        // A comment starts at a `#` outside a string on the last line.
        let line_start = t.rfind('\n').map_or(0, |i| i + 1);
        let mut in_string = false;
        let hash = t[line_start..].char_indices().find_map(|(i, c)| {
            if c == '"' {
                in_string = !in_string;
            }
            (c == '#' && !in_string).then_some(line_start + i)
        });
        match hash {
            Some(h) if h > 0 => t = t[..h].trim_end(),
            _ => return t.len(),
        }
    }
}

/// Builds AST nodes from pest pairs. The grammar guarantees each pair's shape, so a
/// missing child is a grammar/builder mismatch: it becomes an internal diagnostic,
/// never a panic.
struct Builder {
    errors: Vec<Diag>,
}

/// The children of a pair; a missing one reaches `ident`/`expr_opt` as `None`,
/// which report it as an internal error.
struct Kids<'i> {
    inner: std::iter::Peekable<std::vec::IntoIter<Pair<'i, Rule>>>,
}

impl<'i> Kids<'i> {
    fn new(p: Pair<'i, Rule>) -> Kids<'i> {
        Kids {
            inner: inner(p).peekable(),
        }
    }
    fn next(&mut self) -> Option<Pair<'i, Rule>> {
        self.inner.next()
    }
    fn peek_is(&mut self, r: Rule) -> bool {
        self.inner.peek().is_some_and(|p| p.as_rule() == r)
    }
    fn rest(self) -> impl Iterator<Item = Pair<'i, Rule>> {
        self.inner
    }
}

impl Builder {
    fn internal(&mut self, at: Span) {
        self.errors.push(
            Diag::error(
                "pdenet::syntax::internal",
                "the parser could not read this statement",
            )
            .label(at, "here")
            .help("this is a bug in pdenet; please report it with the file"),
        );
    }

    fn ident(&mut self, p: Option<Pair<Rule>>) -> Ident {
        match p {
            Some(p) => Ident {
                name: normalize_name(p.as_str()),
                span: span(&p),
            },
            None => {
                self.internal(Span::default());
                Ident {
                    name: String::new(),
                    span: Span::default(),
                }
            }
        }
    }

    fn idents(&mut self, p: Pair<Rule>) -> Vec<Ident> {
        inner(p).map(|i| self.ident(Some(i))).collect()
    }

    fn statement(&mut self, p: Pair<Rule>) -> Statement {
        let sp = span(&p);
        let rule = p.as_rule();
        let mut k = Kids::new(p);
        let kind = match rule {
            Rule::domain => StatementKind::Domain(k.rest().map(|i| self.domain_item(i)).collect()),
            Rule::shape => StatementKind::Shape(
                k.rest()
                    .map(|item| {
                        let sp = span(&item);
                        let mut ik = Kids::new(item);
                        let name = self.ident(ik.next());
                        (name, self.shape_expr(ik.next(), sp))
                    })
                    .collect(),
            ),
            Rule::field => StatementKind::Field(k.rest().map(|f| self.field_decl(f)).collect()),
            Rule::const_decl => StatementKind::Const(k.rest().map(|b| self.binding(b)).collect()),
            Rule::let_decl => StatementKind::Let(k.rest().map(|b| self.binding(b)).collect()),
            Rule::param => StatementKind::Param(k.rest().map(|b| self.param_decl(b)).collect()),
            Rule::def => {
                let name = self.ident(k.next());
                let params = k.next().map(|l| self.idents(l)).unwrap_or_default();
                let body = self.expr_opt(k.next(), sp);
                StatementKind::Def(FnDef { name, params, body })
            }
            Rule::equation => {
                let lhs = self.expr_opt(k.next(), sp);
                let rhs = self.expr_opt(k.next(), sp);
                let weight = self.weight(k.rest());
                StatementKind::Equation { lhs, rhs, weight }
            }
            Rule::periodic => {
                let mut coords = Vec::new();
                let mut matched = Vec::new();
                let mut weight = None;
                for c in k.rest() {
                    match c.as_rule() {
                        Rule::weight => weight = self.weight(std::iter::once(c)),
                        Rule::matched => matched = inner(c).map(|e| self.expr(e)).collect(),
                        _ => coords.push(self.ident(Some(c))),
                    }
                }
                StatementKind::Periodic {
                    coords,
                    matched,
                    weight,
                }
            }
            Rule::constraint => {
                let integrand = self.expr_opt(k.next(), sp);
                let var = match k.next() {
                    Some(d) => {
                        let mut parts = inner(d);
                        self.ident(parts.next())
                    }
                    None => self.ident(None),
                };
                let value = self.expr_opt(k.next(), sp);
                let weight = self.weight(k.rest());
                StatementKind::Constraint {
                    integrand,
                    var,
                    value,
                    weight,
                }
            }
            Rule::network => match k.next() {
                Some(c) => StatementKind::Network(self.call_args(c)),
                None => StatementKind::Train(Vec::new()),
            },
            Rule::layer => self.layer(k, sp),
            Rule::sample => StatementKind::Sample(k.rest().map(|s| self.sample_item(s)).collect()),
            Rule::train => StatementKind::Train(k.rest().map(|c| self.call_args(c)).collect()),
            Rule::data_block => StatementKind::Data(self.data_block(k, sp)),
            Rule::table_cells => {
                k.next(); // `table` (kept by `inner` for `data_kind`)
                let name = self.ident(k.next());
                let values = self.array(k.next(), sp);
                let axes = k.rest().map(|i| self.interval(i)).collect();
                StatementKind::TableCells { name, values, axes }
            }
            Rule::exact_reference => {
                let mut fields = Vec::new();
                let mut sample = None;
                for c in k.rest() {
                    match c.as_rule() {
                        Rule::binding => fields.push(self.binding(c)),
                        Rule::kw_reference => {}
                        _ => sample = Some(self.expr(c)),
                    }
                }
                StatementKind::ExactReference { fields, sample }
            }
            Rule::scheme => {
                let kind = match k.next() {
                    Some(c) => self.call_args(c),
                    None => CallArgs {
                        name: self.ident(None),
                        args: Vec::new(),
                        span: sp,
                    },
                };
                let coord = self.ident(k.next());
                let from = self.expr_opt(k.next(), sp);
                let to_coord = self.ident(k.next());
                let to = self.expr_opt(k.next(), sp);
                StatementKind::Scheme {
                    kind,
                    coord,
                    from,
                    to_coord,
                    to,
                }
            }
            _ => {
                self.internal(sp);
                StatementKind::Train(Vec::new())
            }
        };
        Statement { kind, span: sp }
    }

    /// A condition statement: one [`StatementKind::Condition`] per `lhs = rhs` it
    /// lists, each on all of the statement's loci with its weight.
    fn conditions(&mut self, p: Pair<Rule>) -> Vec<Statement> {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let kind = match k.next().and_then(|c| inner(c).next()) {
            Some(kw) if kw.as_rule() == Rule::kw_boundary => ConditionKind::Boundary,
            _ => ConditionKind::Initial,
        };
        let mut sides = Vec::new();
        let mut on = Vec::new();
        let mut at = false;
        let mut weight = None;
        for c in k.rest() {
            let rule = c.as_rule();
            if rule == Rule::cond_eq {
                let mut ek = Kids::new(c);
                let lhs = self.expr_opt(ek.next(), sp);
                sides.push((lhs, self.expr_opt(ek.next(), sp)));
                continue;
            }
            if rule == Rule::weight {
                weight = self.weight(std::iter::once(c));
                continue;
            }
            at |= rule == Rule::point_locus;
            let sp = span(&c);
            let mut lk = Kids::new(c);
            let name = self.ident(lk.next());
            let (mut value, mut range) = (None, None);
            match lk.next() {
                Some(r) if r.as_rule() == Rule::range => {
                    let mut rk = Kids::new(r);
                    let lo = self.expr_opt(rk.next(), sp);
                    range = Some((lo, self.expr_opt(rk.next(), sp)));
                }
                Some(v) => value = Some(self.expr_opt(Some(v), sp)),
                None => {}
            }
            on.push(Locus {
                name,
                value,
                range,
                span: sp,
            });
        }
        let one = |(lhs, rhs)| Statement {
            kind: StatementKind::Condition {
                kind,
                lhs,
                rhs,
                on: on.clone(),
                at,
                weight: weight.clone(),
            },
            span: sp,
        };
        sides.into_iter().map(one).collect()
    }

    fn layer(&mut self, mut k: Kids, sp: Span) -> StatementKind {
        let name = self.ident(k.next());
        let input = self.ident(k.next());
        let body = self.expr_opt(k.next(), sp);
        let (mut first, mut last) = (None, None);
        let mut tensors = Vec::new();
        let mut locals = Vec::new();
        for c in k.rest() {
            match c.as_rule() {
                Rule::first_body => {
                    let e = inner(c).next();
                    first = Some(self.expr_opt(e, sp));
                }
                Rule::last_body => {
                    let e = inner(c).next();
                    last = Some(self.expr_opt(e, sp));
                }
                _ => {
                    for t in inner(c) {
                        if t.as_rule() == Rule::local_def {
                            locals.push(self.local_def(t));
                            continue;
                        }
                        let tsp = span(&t);
                        let mut tk = Kids::new(t);
                        let name = self.ident(tk.next());
                        let fixed = tk.peek_is(Rule::fixed);
                        if fixed {
                            tk.next();
                        }
                        let shape = self.ident(tk.next());
                        let init = tk.rest().next().map(|c| self.call_args(c));
                        tensors.push(TensorDecl {
                            name,
                            fixed,
                            shape,
                            init,
                            span: tsp,
                        });
                    }
                }
            }
        }
        StatementKind::Layer(LayerDef {
            name,
            input,
            body,
            first,
            last,
            tensors,
            locals,
        })
    }

    fn local_def(&mut self, p: Pair<Rule>) -> LocalDef {
        let sp = span(&p);
        let mut parts: Vec<Pair<Rule>> = inner(p).collect();
        let body = parts.pop();
        let body = self.expr_opt(body, sp);
        let mut k = parts.into_iter();
        let name = self.ident(k.next());
        let index = k.next().map(|e| self.expr(e));
        LocalDef {
            name,
            index,
            body,
            span: sp,
        }
    }

    fn domain_item(&mut self, p: Pair<Rule>) -> DomainItem {
        if p.as_rule() == Rule::interval {
            return DomainItem::Interval(self.interval(p));
        }
        let sp = span(&p);
        let mut k = Kids::new(p);
        let coords = k.next().map(|l| self.idents(l)).unwrap_or_default();
        let shape = self.shape_expr(k.next(), sp);
        DomainItem::Region(Region {
            coords,
            shape,
            span: sp,
        })
    }

    /// A `shape_expr`: atoms joined by set operators, applied left to right.
    fn shape_expr(&mut self, p: Option<Pair<Rule>>, at: Span) -> ShapeExpr {
        let Some(p) = p else {
            self.internal(at);
            return ShapeExpr {
                kind: ShapeKind::Name(Ident {
                    name: String::new(),
                    span: at,
                }),
                span: at,
            };
        };
        if p.as_rule() != Rule::shape_expr {
            return self.shape_atom(p);
        }
        let mut k = Kids::new(p);
        let mut acc = self.shape_atom_opt(k.next(), at);
        while let Some(op) = k.next() {
            let op = match op.as_rule() {
                Rule::union => ShapeOp::Union,
                Rule::intersect => ShapeOp::Intersection,
                _ => ShapeOp::Difference,
            };
            let rhs = self.shape_atom_opt(k.next(), at);
            let span = Span {
                start: acc.span.start,
                end: rhs.span.end,
            };
            acc = ShapeExpr {
                kind: ShapeKind::Op(op, Box::new(acc), Box::new(rhs)),
                span,
            };
        }
        acc
    }

    fn shape_atom_opt(&mut self, p: Option<Pair<Rule>>, at: Span) -> ShapeExpr {
        match p {
            Some(p) => self.shape_atom(p),
            None => self.shape_expr(None, at),
        }
    }

    fn shape_atom(&mut self, p: Pair<Rule>) -> ShapeExpr {
        let sp = span(&p);
        let kind = match p.as_rule() {
            Rule::shape_expr => return self.shape_expr(Some(p), sp),
            Rule::shape_call => {
                let mut k = Kids::new(p);
                let name = self.ident(k.next());
                let args = k
                    .rest()
                    .map(|a| match a.as_rule() {
                        Rule::point => {
                            let psp = span(&a);
                            ShapeArg::Point(
                                inner(a).map(|e| self.expr_opt(Some(e), psp)).collect(),
                                psp,
                            )
                        }
                        _ => ShapeArg::Number(self.expr_opt(Some(a), sp)),
                    })
                    .collect();
                ShapeKind::Call(name, args)
            }
            _ => ShapeKind::Name(self.ident(Some(p))),
        };
        ShapeExpr { kind, span: sp }
    }

    fn interval(&mut self, p: Pair<Rule>) -> Interval {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let coord = self.ident(k.next());
        let lo = self.expr_opt(k.next(), sp);
        let hi = self.expr_opt(k.next(), sp);
        Interval {
            coord,
            lo,
            hi,
            span: sp,
        }
    }

    fn field_decl(&mut self, p: Pair<Rule>) -> FieldDecl {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let name = self.ident(k.next());
        let args = k.next().map(|l| self.idents(l)).unwrap_or_default();
        let mut complex = None;
        let mut definition = None;
        for c in k.rest() {
            match c.as_rule() {
                Rule::complex => {
                    let mut parts = inner(c);
                    complex = Some(match (parts.next(), parts.next()) {
                        (Some(re), Some(im)) => Some((self.ident(Some(re)), self.ident(Some(im)))),
                        _ => None,
                    });
                }
                _ => definition = Some(self.expr(c)),
            }
        }
        FieldDecl {
            name,
            args,
            complex,
            definition,
            span: sp,
        }
    }

    fn binding(&mut self, p: Pair<Rule>) -> Binding {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let name = self.ident(k.next());
        let value = self.expr_opt(k.next(), sp);
        Binding {
            name,
            value,
            span: sp,
        }
    }

    fn param_decl(&mut self, p: Pair<Rule>) -> ParamDecl {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let name = self.ident(k.next());
        let init = self.expr_opt(k.next(), sp);
        let positive = k.peek_is(Rule::positive);
        if positive {
            k.next();
        }
        let exact = k.next().map(|e| {
            let sp = span(&e);
            self.expr_opt(inner(e).next(), sp)
        });
        ParamDecl {
            name,
            init,
            positive,
            exact,
            span: sp,
        }
    }

    fn weight<'i>(&mut self, mut rest: impl Iterator<Item = Pair<'i, Rule>>) -> Option<Expr> {
        let w = rest.next()?;
        let sp = span(&w);
        let e = inner(w).next();
        Some(self.expr_opt(e, sp))
    }

    fn call_args(&mut self, p: Pair<Rule>) -> CallArgs {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let name = self.ident(k.next());
        let args = k.rest().map(|a| self.binding(a)).collect();
        CallArgs {
            name,
            args,
            span: sp,
        }
    }

    fn sample_item(&mut self, p: Pair<Rule>) -> SampleItem {
        let sp = span(&p);
        let mut k = Kids::new(p);
        let target = self.ident(k.next());
        let count = self.expr_opt(k.next(), sp);
        let (mut method, mut adapt) = (None, None);
        for p in k.rest() {
            if p.as_rule() == Rule::sample_adapt {
                adapt = Some(self.call_args(p));
            } else {
                method = Some(self.ident(Some(p)));
            }
        }
        SampleItem {
            target,
            count,
            method,
            adapt,
            span: sp,
        }
    }

    /// A list literal, nested or not, or one of its numbers.
    fn array(&mut self, p: Option<Pair<Rule>>, sp: Span) -> ArrayLit {
        match p {
            Some(p) if p.as_rule() == Rule::array => {
                let at = span(&p);
                ArrayLit::List(inner(p).map(|c| self.array(Some(c), at)).collect(), at)
            }
            other => ArrayLit::Item(self.expr_opt(other, sp)),
        }
    }

    fn data_block(&mut self, mut k: Kids, sp: Span) -> DataBlock {
        let kind = match k
            .next()
            .and_then(|c| inner(c).next())
            .map(|kw| kw.as_rule())
        {
            Some(Rule::kw_reference) => DataKind::Reference,
            Some(Rule::kw_table) => DataKind::Table,
            _ => DataKind::Data,
        };
        let (file, file_span) = match k.next() {
            Some(s) => {
                let body = inner(s.clone()).next();
                (
                    body.map(|b| b.as_str().to_string()).unwrap_or_default(),
                    span(&s),
                )
            }
            None => (String::new(), sp),
        };
        let mut block = DataBlock {
            kind,
            file,
            file_span,
            mappings: Vec::new(),
            sample: None,
            noise: None,
            snapshots: Vec::new(),
        };
        for c in k.rest() {
            match c.as_rule() {
                Rule::mapping => {
                    let msp = span(&c);
                    let mut mk = Kids::new(c);
                    let name = self.ident(mk.next());
                    let variable = self.ident(mk.next());
                    let axes = mk.rest().next().map(|l| self.idents(l));
                    block.mappings.push(Mapping {
                        name,
                        variable,
                        axes,
                        span: msp,
                    });
                }
                _ => self.data_opt(c, &mut block),
            }
        }
        block
    }

    fn data_opt(&mut self, p: Pair<Rule>, block: &mut DataBlock) {
        let Some(opt) = inner(p).next() else {
            return;
        };
        let sp = span(&opt);
        let rule = opt.as_rule();
        let mut k = Kids::new(opt);
        match rule {
            Rule::data_sample => block.sample = Some(self.expr_opt(k.next(), sp)),
            Rule::data_noise => {
                let level = self.expr_opt(k.next(), sp);
                block.noise = Some((level, k.peek_is(Rule::percent)));
            }
            _ => {
                let coord = self.ident(k.next());
                let value = self.expr_opt(k.next(), sp);
                let sample = k.rest().next().map(|s| self.expr(s));
                block.snapshots.push(Snapshot {
                    coord,
                    value,
                    sample,
                    span: sp,
                });
            }
        }
    }

    fn expr_opt(&mut self, p: Option<Pair<Rule>>, at: Span) -> Expr {
        match p {
            Some(p) => self.expr(p),
            None => {
                self.internal(at);
                Expr {
                    kind: ExprKind::Number(0.0),
                    span: at,
                }
            }
        }
    }

    /// Builds an expression, rejecting trees deeper than [`MAX_EXPR_DEPTH`].
    fn expr(&mut self, p: Pair<Rule>) -> Expr {
        let at = span(&p);
        let (e, depth) = self.expr_depth(p);
        if depth > MAX_EXPR_DEPTH {
            self.too_deep(at);
            return Expr {
                kind: ExprKind::Number(0.0),
                span: at,
            };
        }
        e
    }

    fn too_deep(&mut self, at: Span) {
        self.errors.push(
            Diag::error(
                "pdenet::syntax::too_deep",
                format!("this expression nests more than {MAX_EXPR_DEPTH} levels deep"),
            )
            .label(at, "too deep")
            .help("split it with `let` or `def`"),
        );
    }

    fn leaf(kind: ExprKind, span: Span) -> (Expr, usize) {
        (Expr { kind, span }, 1)
    }

    fn expr_depth(&mut self, p: Pair<Rule>) -> (Expr, usize) {
        let sp = span(&p);
        match p.as_rule() {
            Rule::expr | Rule::expr_atom => match inner(p).next() {
                Some(inner) => self.expr_depth(inner),
                None => Self::leaf(ExprKind::Number(0.0), sp),
            },
            Rule::if_expr => self.if_expr(p, sp),
            Rule::arith => self.arith(p.into_inner()),
            Rule::number => {
                let v: f64 = p.as_str().parse().unwrap_or(f64::INFINITY);
                if !v.is_finite() {
                    self.errors.push(
                        Diag::error("pdenet::syntax::non_finite", "this number is not finite")
                            .label(sp, "overflows a 64-bit float")
                            .help("numbers must lie within ±1.8e308"),
                    );
                }
                Self::leaf(ExprKind::Number(v), sp)
            }
            Rule::ident => Self::leaf(ExprKind::Name(normalize_name(p.as_str())), sp),
            Rule::point => {
                let (items, depth) = self.many(inner(p));
                (
                    Expr {
                        kind: ExprKind::List(items),
                        span: sp,
                    },
                    depth + 1,
                )
            }
            Rule::call => {
                let mut k = inner(p);
                let name = self.ident(k.next());
                let (args, depth) = self.many(k);
                (
                    Expr {
                        kind: ExprKind::Call(name, args),
                        span: sp,
                    },
                    depth + 1,
                )
            }
            Rule::partial => {
                let mut k = inner(p);
                let coord = self.ident(k.next());
                let (arg, depth) = self.sub(k.next(), sp);
                (
                    Expr {
                        kind: ExprKind::Partial(coord, Box::new(arg)),
                        span: sp,
                    },
                    depth + 1,
                )
            }
            Rule::indexed => {
                let mut k = inner(p);
                let name = self.ident(k.next());
                let (index, depth) = self.sub(k.next(), sp);
                (
                    Expr {
                        kind: ExprKind::Index(name, Box::new(index)),
                        span: sp,
                    },
                    depth + 1,
                )
            }
            Rule::index_sum => {
                let mut k = inner(p);
                let index = self.ident(k.next());
                let (lo, d1) = self.sub(k.next(), sp);
                let (hi, d2) = self.sub(k.next(), sp);
                let (body, d3) = self.sub(k.next(), sp);
                let kind = ExprKind::Sum {
                    index,
                    lo: Box::new(lo),
                    hi: Box::new(hi),
                    body: Box::new(body),
                };
                (Expr { kind, span: sp }, d1.max(d2).max(d3) + 1)
            }
            Rule::abs => {
                let (arg, depth) = self.sub(inner(p).next(), sp);
                (
                    Expr {
                        kind: ExprKind::Abs(Box::new(arg)),
                        span: sp,
                    },
                    depth + 1,
                )
            }
            _ => {
                self.internal(sp);
                Self::leaf(ExprKind::Number(0.0), sp)
            }
        }
    }

    fn sub(&mut self, p: Option<Pair<Rule>>, at: Span) -> (Expr, usize) {
        match p {
            Some(p) => self.expr_depth(p),
            None => {
                self.internal(at);
                Self::leaf(ExprKind::Number(0.0), at)
            }
        }
    }

    fn many<'i>(&mut self, pairs: impl Iterator<Item = Pair<'i, Rule>>) -> (Vec<Expr>, usize) {
        let mut depth = 0;
        let args = pairs
            .map(|a| {
                let (e, d) = self.expr_depth(a);
                depth = depth.max(d);
                e
            })
            .collect();
        (args, depth)
    }

    fn if_expr(&mut self, p: Pair<Rule>, sp: Span) -> (Expr, usize) {
        let mut k = inner(p);
        let (lhs, d1) = self.sub(k.next(), sp);
        let cmp = match k.next().map(|c| c.as_str()) {
            Some("<") => Cmp::Lt,
            Some("<=") | Some("≤") => Cmp::Le,
            Some(">") => Cmp::Gt,
            _ => Cmp::Ge,
        };
        let (rhs, d2) = self.sub(k.next(), sp);
        let (then, d3) = self.sub(k.next(), sp);
        let (otherwise, d4) = self.sub(k.next(), sp);
        let kind = ExprKind::If {
            lhs: Box::new(lhs),
            cmp,
            rhs: Box::new(rhs),
            then: Box::new(then),
            otherwise: Box::new(otherwise),
        };
        (Expr { kind, span: sp }, 1 + d1.max(d2).max(d3).max(d4))
    }

    fn arith(&mut self, pairs: Pairs<Rule>) -> (Expr, usize) {
        // The Pratt parser's closures cannot borrow `self` mutably three times, so the
        // operands are built first and errors collected through a RefCell.
        let errors = std::cell::RefCell::new(std::mem::take(&mut self.errors));
        let result = pratt()
            .map_primary(|p| {
                let mut b = Builder {
                    errors: std::mem::take(&mut *errors.borrow_mut()),
                };
                let r = b.expr_depth(p);
                *errors.borrow_mut() = b.errors;
                r
            })
            .map_prefix(|op, (e, d)| {
                let sp = span(&op).join(e.span);
                let o = if op.as_rule() == Rule::neg {
                    UnaryOp::Neg
                } else {
                    UnaryOp::Plus
                };
                (
                    Expr {
                        kind: ExprKind::Unary(o, Box::new(e)),
                        span: sp,
                    },
                    d + 1,
                )
            })
            .map_infix(|(l, dl), op, (r, dr)| {
                let sp = l.span.join(r.span);
                let o = match op.as_rule() {
                    Rule::add => BinaryOp::Add,
                    Rule::sub => BinaryOp::Sub,
                    Rule::mul => BinaryOp::Mul,
                    Rule::div => BinaryOp::Div,
                    Rule::pow => BinaryOp::Pow,
                    Rule::dot => BinaryOp::Dot,
                    _ => BinaryOp::Hadamard,
                };
                let depth = dl.max(dr) + 1;
                if depth > MAX_EXPR_DEPTH {
                    // Stop growing the tree: the caller reports it as too deep.
                    return (l, depth);
                }
                (
                    Expr {
                        kind: ExprKind::Binary(o, Box::new(l), Box::new(r)),
                        span: sp,
                    },
                    depth,
                )
            })
            .parse(pairs);
        self.errors = errors.into_inner();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(src: &str) -> Vec<&'static str> {
        match parse(src) {
            Ok(_) => Vec::new(),
            Err(ds) => ds.iter().map(|d| d.code).collect(),
        }
    }

    #[test]
    fn every_example_and_stdlib_file_parses() {
        let root = env!("CARGO_MANIFEST_DIR");
        for dir in ["examples", "stdlib"] {
            for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "pde") {
                    let src = std::fs::read_to_string(&path).unwrap();
                    if let Err(e) = parse(&src) {
                        panic!("{}: {:?}", path.display(), e);
                    }
                }
            }
        }
    }

    #[test]
    fn greek_names_are_normalized() {
        assert_eq!(normalize_name("lambda1"), "λ1");
        assert_eq!(normalize_name("psi_y"), "ψ_y");
        assert_eq!(normalize_name("pi"), "π");
        assert_eq!(normalize_name("pixel"), "pixel");
        assert_eq!(normalize_name("nu"), "ν");
    }

    #[test]
    fn ascii_and_unicode_spellings_agree() {
        let a = parse_expr("W1·h ⊙ (W2·h) + λ1*π").unwrap();
        let b = parse_expr("W1·h ⊙ (W2·h) + lambda1*pi").unwrap();
        assert_eq!(format!("{:?}", strip(a)), format!("{:?}", strip(b)));
    }

    /// The expression's shape without spans.
    fn strip(e: Expr) -> String {
        format!("{:?}", e.kind)
            .split("span")
            .next()
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn precedence() {
        let e = parse_expr("-x^2").unwrap();
        assert!(matches!(e.kind, ExprKind::Unary(UnaryOp::Neg, _)));
        let e = parse_expr("a - b - c").unwrap();
        let ExprKind::Binary(BinaryOp::Sub, l, _) = e.kind else {
            panic!("not a subtraction")
        };
        assert!(matches!(l.kind, ExprKind::Binary(BinaryOp::Sub, _, _)));
    }

    #[test]
    fn resource_bounds_are_diagnostics() {
        let deep = format!("equation {}u{} = 0", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(codes(&deep), ["pdenet::syntax::too_deep"]);
        let long = format!("equation u{} = 0", "+u".repeat(20000));
        assert_eq!(codes(&long), ["pdenet::syntax::too_deep"]);
        let signs = format!("equation {}u = 0", "-".repeat(5000));
        assert_eq!(codes(&signs), ["pdenet::syntax::too_deep"]);
        let ifs = format!(
            "equation {}0{} = 0",
            "if x < 1 then ".repeat(3000),
            " else 1".repeat(3000)
        );
        assert_eq!(codes(&ifs), ["pdenet::syntax::too_deep"]);
        let bars = format!(
            "equation {}u{} = 0",
            "|".repeat(100_000),
            "|".repeat(100_000)
        );
        assert_eq!(codes(&bars), ["pdenet::syntax::too_deep"]);
        let interleaved = format!("equation {}u{} = 0", "|u*".repeat(1000), "|".repeat(1000));
        assert_eq!(codes(&interleaved), ["pdenet::syntax::too_deep"]);
        assert_eq!(codes("equation u\0 = 0"), ["pdenet::syntax::nul_byte"]);
        assert_eq!(codes("const a = 1e999"), ["pdenet::syntax::non_finite"]);
    }

    #[test]
    fn syntax_error_points_at_the_token() {
        let src = "domain x ∈ [0, 1]\nequation u_x + = 0";
        let ds = parse(src).unwrap_err();
        let at = ds[0].span().unwrap();
        assert_eq!(&src[at.start..at.end], "=");
    }
}
