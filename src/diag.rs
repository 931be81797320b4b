//! Diagnostics of the front end: what is wrong, where, and how to fix it.
//!
//! One data type serves every front-end error instead of a struct per error: the
//! checker reports dozens of kinds, accumulates them (a run shows every mistake in
//! the file, not just the first), and the tests compare codes and spans. Each kind
//! is a constructor in the module that detects it, with a stable code such as
//! `pdenet::check::unknown_name`. The source text is attached by the driver.

use crate::syntax::ast::Span;
use miette::{Diagnostic, LabeledSpan, Severity};
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    /// Stable code, e.g. `pdenet::check::unknown_name`.
    pub code: &'static str,
    /// One sentence saying what is wrong.
    pub message: String,
    /// What would be right, where we can tell.
    pub help: Option<String>,
    /// The spans involved; the first is the primary one.
    pub labels: Vec<(Span, String)>,
    pub severity: Severity,
}

impl Diag {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diag {
        Diag {
            code,
            message: message.into(),
            help: None,
            labels: Vec::new(),
            severity: Severity::Error,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Warning,
            ..Diag::error(code, message)
        }
    }

    pub fn label(mut self, span: Span, text: impl Into<String>) -> Diag {
        self.labels.push((span, text.into()));
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Diag {
        self.help = Some(text.into());
        self
    }

    /// The primary span (the first label), if any.
    pub fn span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.0)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, (s, t))| {
                let text = (!t.is_empty()).then(|| t.clone());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, *s)
                } else {
                    LabeledSpan::new_with_span(text, *s)
                }
            },
        )))
    }
}

/// The closest of `candidates` to `name` by edit distance, if close enough to be a
/// plausible typo ("did you mean …").
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest("lamda1", ["λ1", "lambda1", "u"]), Some("lambda1"));
        assert_eq!(suggest("xx", ["t"]), None);
        assert_eq!(suggest("tanhh", ["tanh", "sin"]), Some("tanh"));
    }
}
