//! Data files in the formats people have, read into one shape ([`MatData`]: named
//! numeric arrays) so that `data` and `reference` blocks map any of them alike:
//!
//! - MATLAB v5 `.mat` (`io::mat`);
//! - NumPy `.npz`: every array by its key, of any number of dimensions (a scalar is
//!   1 × 1, a vector n × 1); `.npy`: the array by the file's stem
//!   (`usol.npy` is `usol`) and, when it is 2-D, each column as `column1`, `column2`, …;
//! - text tables `.csv`, `.tsv`, `.txt`, `.dat`: values separated by commas, tabs or
//!   spaces; lines starting with `#` or `%` are comments (COMSOL's exports, PINNacle's
//!   reference files); a first line that is not all numbers names the columns; every
//!   column is also `column1`, `column2`, … .
//!
//! A 1-D array or a column is an n × 1 array, as MATLAB would store it; a 2-D NumPy
//! array keeps its (rows, columns) shape.

use super::{npy, npz, read_mat, Array, MatData, Skipped};
use std::path::Path;

/// Why a data file cannot be read: what is wrong, and what would be right.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFileError {
    pub message: String,
    pub help: String,
}

/// The formats by extension, for messages.
pub const FORMATS: &str = ".mat (MATLAB v5), .npz, .npy, and text tables .csv, .tsv, .txt, .dat";

/// Reads the data file at `path`, by its extension.
pub fn read_data(path: &Path) -> Result<MatData, DataFileError> {
    let ext = (path.extension())
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let shown = path.display();
    if ext == "mat" {
        return read_mat(path).map_err(|e| DataFileError {
            message: e.to_string(),
            help: "the file must be a MATLAB v5 MAT-file (scipy.io.savemat or MATLAB save -v7)"
                .into(),
        });
    }
    let reader: fn(&Path, Vec<u8>) -> Result<MatData, String> = match ext.as_str() {
        "npz" => read_npz,
        "npy" => read_npy,
        "csv" | "tsv" | "txt" | "dat" => read_text,
        "h5" | "hdf5" => {
            return Err(DataFileError {
                message: format!("`{shown}` is HDF5, which pdenet does not read"),
                help: "save the arrays as .npz (h5py, then numpy.savez) or .mat".into(),
            })
        }
        _ => {
            return Err(DataFileError {
                message: format!("`{shown}`: `.{ext}` is not a data format pdenet reads"),
                help: format!("use one of {FORMATS}"),
            })
        }
    };
    let bytes = std::fs::read(path).map_err(|e| DataFileError {
        message: format!("cannot read data file `{shown}`: {e}"),
        help: "check the file's name and permissions".into(),
    })?;
    reader(path, bytes).map_err(|why| DataFileError {
        message: format!("`{shown}` cannot be read: {why}"),
        help: match ext.as_str() {
            "npz" | "npy" => "save it with numpy.save / numpy.savez from float or integer arrays",
            _ => "a table of numbers, one row per line, with an optional header line naming the columns",
        }
        .into(),
    })
}

/// An array from columns (1-D: one column) named `name`.
fn array(name: &str, columns: Vec<Vec<f64>>) -> Array {
    let rows = columns.first().map_or(0, Vec::len);
    Array {
        name: name.into(),
        shape: vec![rows, columns.len()],
        real: columns.concat(),
        imag: None,
    }
}

/// An array of any shape (values column-major) with MATLAB's at least two
/// dimensions: a scalar is 1 × 1, a vector of n is n × 1.
fn matlab_array(name: &str, mut shape: Vec<usize>, real: Vec<f64>) -> Array {
    while shape.len() < 2 {
        shape.push(1);
    }
    Array {
        name: name.into(),
        shape,
        real,
        imag: None,
    }
}

fn empty(path: &Path) -> MatData {
    MatData {
        path: path.to_path_buf(),
        arrays: Vec::new(),
        skipped: Vec::new(),
    }
}

fn read_npz(path: &Path, bytes: Vec<u8>) -> Result<MatData, String> {
    let mut archive = npz::Archive::new(bytes)?;
    let mut data = empty(path);
    for name in archive.names() {
        let read =
            (archive.member(&format!("{name}.npy"))).and_then(|bytes| npy::read_array(&bytes));
        match read {
            Ok((dims, values)) => data.arrays.push(matlab_array(&name, dims, values)),
            Err(reason) => data.skipped.push(Skipped { name, reason }),
        }
    }
    Ok(data)
}

fn read_npy(path: &Path, bytes: Vec<u8>) -> Result<MatData, String> {
    let columns = npy::read(&bytes)?;
    let stem = path
        .file_stem()
        .map_or("array".into(), |s| s.to_string_lossy());
    let mut data = empty(path);
    data.arrays.extend(numbered(&columns));
    data.arrays.insert(0, array(&stem, columns));
    Ok(data)
}

/// `column1`, `column2`, … of a table.
fn numbered(columns: &[Vec<f64>]) -> Vec<Array> {
    let named = |(k, c): (usize, &Vec<f64>)| array(&format!("column{}", k + 1), vec![c.clone()]);
    columns.iter().enumerate().map(named).collect()
}

fn read_text(path: &Path, bytes: Vec<u8>) -> Result<MatData, String> {
    let text = String::from_utf8(bytes).map_err(|_| "it is not text (UTF-8)".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    // Fields between commas (an empty one is kept: pandas' unnamed index column),
    // else between runs of blanks; a `#` ends the line.
    let split = |line: &str| -> Vec<String> {
        let line = line.split('#').next().unwrap_or_default();
        let fields: Vec<&str> = match line.contains(',') {
            true => line.split(',').map(str::trim).collect(),
            false => line.split_whitespace().collect(),
        };
        fields.into_iter().map(str::to_owned).collect()
    };
    let mut lines = (text.lines().enumerate())
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with(['#', '%']));
    let Some((first_no, first)) = lines.next() else {
        return Err("it has no rows of numbers".into());
    };
    let first = split(first);
    let is_header = first.iter().any(|t| t.parse::<f64>().is_err());
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); first.len()];
    let rows = (!is_header)
        .then_some((first_no, first.clone()))
        .into_iter()
        .chain(lines.map(|(n, l)| (n, split(l))));
    for (n, row) in rows {
        if row.len() != columns.len() {
            return Err(format!(
                "line {} has {} values where {} has {}",
                n + 1,
                row.len(),
                if is_header {
                    "the header"
                } else {
                    "the first row"
                },
                columns.len()
            ));
        }
        for (c, t) in columns.iter_mut().zip(&row) {
            c.push(
                t.parse()
                    .map_err(|_| format!("line {}: `{t}` is not a number", n + 1))?,
            );
        }
    }
    if columns.first().is_none_or(Vec::is_empty) {
        return Err("it has no rows of numbers".into());
    }
    let mut data = empty(path);
    if is_header {
        for (name, c) in first.iter().zip(&columns) {
            if !name.is_empty() {
                data.arrays.push(array(name, vec![c.clone()]));
            }
        }
    }
    data.arrays.extend(numbered(&columns));
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("pdenet-datafile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn text_tables_with_and_without_a_header() {
        let csv = write("obs.csv", b"# a comment\nx,t,u\n0.5,0,1e-3\n-0.5,1,2\n");
        let d = read_data(&csv).unwrap();
        assert_eq!(d.get("t").unwrap().real, [0.0, 1.0]);
        assert_eq!(d.get("u").unwrap().shape, [2, 1]);
        assert_eq!(d.get("column3").unwrap().real, [1e-3, 2.0]);
        let pandas = write(
            "pd.csv",
            "\u{feff},x,u\n0,0.5,1 # first\n1,0.25,2\n".as_bytes(),
        );
        let d = read_data(&pandas).unwrap();
        assert_eq!(
            d.get("x").unwrap().real,
            [0.5, 0.25],
            "BOM, index column, comment"
        );
        assert_eq!(d.get("column1").unwrap().real, [0.0, 1.0]);
        let dat = write("ref.dat", b"% x y u\n0 0 1\n1\t0  2\n");
        let d = read_data(&dat).unwrap();
        assert_eq!(d.get("column2").unwrap().real, [0.0, 0.0]);
        assert!(d.get("x").is_none(), "a comment names nothing");
        let ragged = write("bad.csv", b"x,u\n1,2\n3\n");
        let e = read_data(&ragged).unwrap_err();
        assert!(
            e.message
                .contains("line 3 has 1 values where the header has 2"),
            "{e:?}"
        );
        let word = write("word.txt", b"1 2\n3 x\n");
        assert!(read_data(&word)
            .unwrap_err()
            .message
            .contains("`x` is not a number"));
        assert!(read_data(&write("none.csv", b"x,u\n")).is_err());
    }

    #[test]
    fn numpy_files_by_key_and_by_stem() {
        let mut w = npz::Writer::new();
        w.vector("x", &[0.0, 0.5, 1.0]).unwrap();
        w.columns("usol", &[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]])
            .unwrap();
        let d = read_data(&write("grid.npz", &w.finish().unwrap())).unwrap();
        assert_eq!(d.get("x").unwrap().shape, [3, 1]);
        let usol = d.get("usol").unwrap();
        assert_eq!(usol.shape, [3, 2]);
        assert_eq!(usol.at(&[2, 1]), 6.0, "row 2, column 1 as NumPy indexes it");
        let npy = write("points.npy", &npy::write(&[vec![1.0, 2.0], vec![3.0, 4.0]]));
        let d = read_data(&npy).unwrap();
        assert_eq!(d.get("points").unwrap().shape, [2, 2]);
        assert_eq!(d.get("column2").unwrap().real, [3.0, 4.0]);
        let e = read_data(&write("x.xlsx", b"")).unwrap_err();
        assert!(e.help.contains(".npz"), "{e:?}");
    }
}
