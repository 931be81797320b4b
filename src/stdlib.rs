//! The standard library: activations, operators and layer kinds, written in the
//! language itself and compiled into the binary so a `.pde` file needs no install.

use crate::syntax::{self, ast};

/// The stdlib's source files, by name.
pub const SOURCES: [(&str, &str); 4] = [
    ("activations.pde", include_str!("../stdlib/activations.pde")),
    ("operators.pde", include_str!("../stdlib/operators.pde")),
    ("functions.pde", include_str!("../stdlib/functions.pde")),
    ("layers.pde", include_str!("../stdlib/layers.pde")),
];

/// The parsed stdlib. A file that fails to parse is a bug caught by the tests
/// (`stdlib_parses`), so it is skipped here rather than reported to the user.
pub fn files() -> Vec<ast::File> {
    SOURCES
        .iter()
        .filter_map(|(_, src)| syntax::parse(src).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn stdlib_parses() {
        for (name, src) in super::SOURCES {
            assert!(crate::syntax::parse(src).is_ok(), "{name} does not parse");
        }
    }
}
