//! NumPy's .npz: a zip archive of .npy members, which `numpy.load` opens as a dict
//! of arrays (member `theta.npy` is key `theta`). pdenet writes f64 arrays and, for
//! what is not an array, text members (`meta.json`: `numpy.load` lists it under
//! its full name and gives its bytes).

use super::npy;
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// An .npz being written in memory; [`Writer::finish`] gives its bytes.
pub struct Writer {
    zip: ZipWriter<Cursor<Vec<u8>>>,
}

impl Writer {
    pub fn new() -> Self {
        Writer {
            zip: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    /// Member `name` (without `.npy`): a 2-D array, one column per entry.
    pub fn columns(&mut self, name: &str, columns: &[Vec<f64>]) -> zip::result::ZipResult<()> {
        self.member(&format!("{name}.npy"), &npy::write(columns))
    }

    /// Member `name` (without `.npy`): a `rows` × `cols` matrix from its row-major
    /// values.
    pub fn matrix(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        values: &[f64],
    ) -> zip::result::ZipResult<()> {
        self.member(
            &format!("{name}.npy"),
            &npy::write_matrix(rows, cols, values),
        )
    }

    /// Member `name` (without `.npy`): a 1-D array.
    pub fn vector(&mut self, name: &str, v: &[f64]) -> zip::result::ZipResult<()> {
        self.member(&format!("{name}.npy"), &npy::write_vector(v))
    }

    /// A member by its full name (`meta.json`).
    pub fn member(&mut self, name: &str, bytes: &[u8]) -> zip::result::ZipResult<()> {
        // Stored, not deflated: f64 arrays barely compress, and a checkpoint is
        // written while training waits. ZIP64 where a member passes 4 GiB.
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(bytes.len() as u64 >= u32::MAX as u64);
        self.zip.start_file(name, options)?;
        self.zip.write_all(bytes)?;
        Ok(())
    }

    pub fn finish(self) -> zip::result::ZipResult<Vec<u8>> {
        Ok(self.zip.finish()?.into_inner())
    }
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

/// An .npz read into memory. Its errors are messages for a diagnostic.
pub struct Archive {
    zip: ZipArchive<Cursor<Vec<u8>>>,
}

impl Archive {
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        let zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("not a readable .npz (zip) archive: {e}"))?;
        Ok(Archive { zip })
    }

    /// The array names (members ending in `.npy`, without it), in archive order.
    pub fn names(&self) -> Vec<String> {
        (self.zip.file_names())
            .filter_map(|n| Some(n.ok()?.strip_suffix(".npy")?.to_owned()))
            .collect()
    }

    /// A member's bytes by its full name.
    pub fn member(&mut self, name: &str) -> Result<Vec<u8>, String> {
        let mut file = self
            .zip
            .by_name(name)
            .map_err(|e| format!("no member `{name}`: {e}"))?;
        let mut bytes = Vec::with_capacity(file.size() as usize);
        file.read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read member `{name}`: {e}"))?;
        Ok(bytes)
    }

    /// Array `name` (without `.npy`) as columns (a 1-D array is one column).
    pub fn columns(&mut self, name: &str) -> Result<Vec<Vec<f64>>, String> {
        let bytes = self.member(&format!("{name}.npy"))?;
        npy::read(&bytes).map_err(|e| format!("array `{name}`: {e}"))
    }

    /// Array `name` as one vector (a 1-D array or a single column).
    pub fn vector(&mut self, name: &str) -> Result<Vec<f64>, String> {
        let mut columns = self.columns(name)?;
        match columns.len() {
            1 => Ok(columns.remove(0)),
            n => Err(format!(
                "array `{name}` has {n} columns where one was expected"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_text_survive_the_archive() {
        let mut w = Writer::new();
        w.vector("theta", &[0.1 + 0.2, -0.0, 1e-310]).unwrap();
        w.columns("points", &[vec![1.0, 2.0], vec![3.0, 4.0]])
            .unwrap();
        w.vector("empty", &[]).unwrap();
        w.member("meta.json", b"{\"a\": 1}").unwrap();
        let mut a = Archive::new(w.finish().unwrap()).unwrap();
        assert_eq!(a.names(), ["theta", "points", "empty"]);
        let theta = a.vector("theta").unwrap();
        assert_eq!(theta[0].to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(theta[1].is_sign_negative());
        assert_eq!(a.columns("points").unwrap()[1], [3.0, 4.0]);
        assert!(a.vector("empty").unwrap().is_empty());
        assert_eq!(a.member("meta.json").unwrap(), b"{\"a\": 1}");
        assert!(a.vector("points").unwrap_err().contains("2 columns"));
        assert!(a.vector("nothing").unwrap_err().contains("no member"));
        assert!(Archive::new(b"PK not really".to_vec()).is_err());
    }
}
