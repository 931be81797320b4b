//! Reading MATLAB v5 MAT-files (the reference data of every example problem).
//!
//! [`read_mat`] returns every numeric variable of a file as an [`Array`] of `f64`, in
//! MATLAB's column-major order. The numbers are decoded by the `matfile` crate (it reads
//! all our reference files bit for bit); a structural scan in `mat_scan` runs first,
//! because `matfile` on its own returns a truncated file's leading variables as a success
//! and drops structs and cells without a word. Variables that are not numeric arrays are
//! listed in [`MatData::skipped`] and reported as [`MatError::Unsupported`] when asked
//! for by name.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::mat_scan::{self, class_name, shape_text, Element, HEADER_LEN};

/// One numeric variable of a MAT-file, converted to `f64`.
///
/// The data is **column-major, as MATLAB stores it**: the first index varies fastest.
/// For a 2-D array of shape `[rows, cols]`, entry `(i, j)` is `real[i + rows * j]`; see
/// [`Array::at`]. Shapes are as MATLAB and `scipy.io.loadmat` report them, so a row
/// vector is `[1, n]` and a column vector `[n, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub name: String,
    /// MATLAB's dimensions; at least two of them.
    pub shape: Vec<usize>,
    /// The real part, column-major.
    pub real: Vec<f64>,
    /// The imaginary part, column-major, for a complex variable.
    pub imag: Option<Vec<f64>>,
}

impl Array {
    /// The number of entries (the product of the shape).
    pub fn len(&self) -> usize {
        self.real.len()
    }

    pub fn is_empty(&self) -> bool {
        self.real.is_empty()
    }

    pub fn is_complex(&self) -> bool {
        self.imag.is_some()
    }

    /// True when at most one dimension differs from 1: a row or column vector, or a
    /// scalar. Such an array can be read as a list of `len()` numbers in order.
    pub fn is_vector(&self) -> bool {
        self.shape.iter().filter(|&&d| d != 1).count() <= 1
    }

    /// The column-major position of a multi-index, or `None` when the index has the
    /// wrong number of components or one is out of range.
    pub fn offset(&self, index: &[usize]) -> Option<usize> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut offset = 0;
        let mut stride = 1;
        for (&i, &n) in index.iter().zip(&self.shape) {
            if i >= n {
                return None;
            }
            offset += i * stride;
            stride *= n;
        }
        Some(offset)
    }

    /// The real part at a multi-index (0-based, one component per dimension):
    /// `usol.at(&[i, j])` is MATLAB's `usol(i+1, j+1)`.
    ///
    /// # Panics
    /// When the index does not fit the shape; that is a bug in the caller, which should
    /// check shapes when it loads the file. Use [`Array::offset`] to test first.
    pub fn at(&self, index: &[usize]) -> f64 {
        self.real[self.checked_offset(index)]
    }

    /// The imaginary part at a multi-index; 0 for a real array.
    ///
    /// # Panics
    /// As [`Array::at`].
    pub fn at_imag(&self, index: &[usize]) -> f64 {
        let offset = self.checked_offset(index);
        self.imag.as_ref().map_or(0.0, |imag| imag[offset])
    }

    fn checked_offset(&self, index: &[usize]) -> usize {
        match self.offset(index) {
            Some(offset) => offset,
            None => panic!(
                "index {index:?} does not fit `{}` of shape {:?}",
                self.name, self.shape
            ),
        }
    }
}

/// A variable the file holds but that is not a numeric array.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    pub name: String,
    /// Why it cannot be read, e.g. "it is a struct".
    pub reason: String,
}

/// The contents of one MAT-file.
#[derive(Clone, Debug, PartialEq)]
pub struct MatData {
    /// The file it came from, for messages.
    pub path: PathBuf,
    /// Every numeric variable, in file order.
    pub arrays: Vec<Array>,
    /// Every other variable (structs, cells, strings, sparse matrices, ...).
    pub skipped: Vec<Skipped>,
}

impl MatData {
    /// The numeric variable with this name (case-sensitive, as in MATLAB).
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.arrays.iter().find(|a| a.name == name)
    }

    /// The names of the numeric variables, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.arrays.iter().map(|a| a.name.as_str()).collect()
    }

    /// The numeric variable with this name, or an error that says why there is none:
    /// [`MatError::Unsupported`] when it exists but is not a numeric array,
    /// [`MatError::MissingVariable`] (listing what the file holds) otherwise.
    pub fn require(&self, name: &str) -> Result<&Array, MatError> {
        if let Some(array) = self.get(name) {
            return Ok(array);
        }
        if let Some(skipped) = self.skipped.iter().find(|s| s.name == name) {
            return Err(MatError::Unsupported {
                path: self.path.clone(),
                variable: name.to_string(),
                reason: skipped.reason.clone(),
            });
        }
        let names = self.names();
        Err(MatError::MissingVariable {
            path: self.path.clone(),
            variable: name.to_string(),
            available: if names.is_empty() {
                "no numeric variables".into()
            } else {
                names.join(", ")
            },
        })
    }
}

/// Why a MAT-file or one of its variables could not be read.
#[derive(Debug, Error, Diagnostic)]
pub enum MatError {
    #[error("data file `{}` does not exist", path.display())]
    #[diagnostic(
        code(pdenet::io::mat::not_found),
        help(
            "check the file name; bare names are looked up beside the .pde file and in --data-dir"
        )
    )]
    NotFound { path: PathBuf },

    #[error("cannot read data file `{}`", path.display())]
    #[diagnostic(code(pdenet::io::mat::unreadable))]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("`{}` is not a readable MATLAB v5 MAT-file: {reason}", path.display())]
    #[diagnostic(
        code(pdenet::io::mat::malformed),
        help("re-save the data from MATLAB (`save -v7`) or Python (`scipy.io.savemat`)")
    )]
    Malformed { path: PathBuf, reason: String },

    #[error("variable `{variable}` in `{}` cannot be read: {reason}", path.display())]
    #[diagnostic(
        code(pdenet::io::mat::unsupported),
        help("store it as a numeric (double) array")
    )]
    Unsupported {
        path: PathBuf,
        variable: String,
        reason: String,
    },

    #[error("`{}` has no variable `{variable}`; it holds {available}", path.display())]
    #[diagnostic(code(pdenet::io::mat::missing_variable))]
    MissingVariable {
        path: PathBuf,
        variable: String,
        available: String,
    },
}

/// Reads every numeric variable of a MATLAB v5 MAT-file (compressed or not, either
/// byte order), converting every numeric class to `f64`.
pub fn read_mat(path: &Path) -> Result<MatData, MatError> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => MatError::NotFound {
            path: path.to_path_buf(),
        },
        _ => MatError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    })?;
    parse_mat(&bytes, path)
}

/// Decodes the bytes of a MAT-file; `path` only names the file in errors.
pub fn parse_mat(bytes: &[u8], path: &Path) -> Result<MatData, MatError> {
    let malformed = |reason: String| MatError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let scan = mat_scan::scan(bytes).map_err(malformed)?;
    let mut data = MatData {
        path: path.to_path_buf(),
        arrays: Vec::new(),
        skipped: Vec::new(),
    };
    for element in &scan.elements {
        if !element.is_numeric() {
            data.skipped.push(Skipped {
                name: element.name.clone(),
                reason: format!("it is a {}", class_name(element.class)),
            });
            continue;
        }
        match decode(scan.header, element) {
            Ok(array) => data.arrays.push(array),
            // matfile 0.5 expects int32 data in an int32 array to be stored as uint32
            // (a bug in its class table), so it rejects int32 arrays as MATLAB writes them.
            Err(_) if element.class == 12 => data.skipped.push(Skipped {
                name: element.name.clone(),
                reason: "int32 arrays are not supported by the MAT reader; \
                         convert it to double"
                    .into(),
            }),
            Err(reason) => return Err(malformed(reason)),
        }
    }
    Ok(data)
}

/// Decodes one numeric variable with `matfile`, given as a file of its own (the original
/// header followed by the uncompressed matrix element), and checks that `matfile` saw
/// what the scan saw.
fn decode(header: &[u8], element: &Element<'_>) -> Result<Array, String> {
    let place = element.place();
    let mut file = Vec::with_capacity(HEADER_LEN + element.matrix.len());
    file.extend_from_slice(header);
    file.extend_from_slice(&element.matrix);
    // The scan rejects every input we know to make matfile 0.5 panic (in debug builds
    // it overflows an i32 product of the dimensions and a u32 size round-up); this net
    // keeps a case the scan misses from aborting the whole run.
    let parsed = std::panic::catch_unwind(|| matfile::MatFile::parse(file.as_slice()))
        .map_err(|_| {
            format!(
                "{place}: the MAT decoder failed on variable `{}`",
                element.name
            )
        })?
        .map_err(|e| {
            format!(
                "{place}: variable `{}` cannot be decoded ({e})",
                element.name
            )
        })?;
    let [decoded] = parsed.arrays().as_slice() else {
        return Err(format!(
            "{place}: variable `{}` cannot be decoded",
            element.name
        ));
    };
    let (real, imag) = to_f64(decoded.data());
    let entries: usize = element.dims.iter().product();
    let consistent = decoded.name() == element.name
        && decoded.size() == &element.dims
        && real.len() == entries
        && imag.as_ref().is_none_or(|im| im.len() == entries);
    if !consistent {
        return Err(format!(
            "{place}: variable `{}` ({}) decodes inconsistently",
            element.name,
            shape_text(&element.dims)
        ));
    }
    Ok(Array {
        name: element.name.clone(),
        shape: element.dims.clone(),
        real,
        imag,
    })
}

/// Converts any numeric class to `f64`. Integers beyond 2^53 round, as in MATLAB's
/// `double()`.
fn to_f64(data: &matfile::NumericData) -> (Vec<f64>, Option<Vec<f64>>) {
    use matfile::NumericData as N;
    fn conv<T: Copy>(
        real: &[T],
        imag: &Option<Vec<T>>,
        f: fn(T) -> f64,
    ) -> (Vec<f64>, Option<Vec<f64>>) {
        (
            real.iter().map(|&x| f(x)).collect(),
            imag.as_ref().map(|im| im.iter().map(|&x| f(x)).collect()),
        )
    }
    match data {
        N::Double { real, imag } => (real.clone(), imag.clone()),
        N::Single { real, imag } => conv(real, imag, f64::from),
        N::Int8 { real, imag } => conv(real, imag, f64::from),
        N::UInt8 { real, imag } => conv(real, imag, f64::from),
        N::Int16 { real, imag } => conv(real, imag, f64::from),
        N::UInt16 { real, imag } => conv(real, imag, f64::from),
        N::Int32 { real, imag } => conv(real, imag, f64::from),
        N::UInt32 { real, imag } => conv(real, imag, f64::from),
        N::Int64 { real, imag } => conv(real, imag, |x| x as f64),
        N::UInt64 { real, imag } => conv(real, imag, |x| x as f64),
    }
}

#[cfg(test)]
#[path = "mat_tests.rs"]
mod tests;
