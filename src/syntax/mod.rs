//! The syntax stage: `.pde` text → [`ast::File`] with byte spans. It knows nothing
//! of names' meanings, of egg or of the kernel.

pub mod ast;
pub mod overrides;
mod parse;

pub use parse::{
    ascii_spelling, normalize_name, parse, parse_expr, MAX_BRACKET_DEPTH, MAX_EXPR_DEPTH,
};
