//! NumPy's .npy format: written as version 1.0 little-endian f64 arrays (2-D, one
//! row per point and one column per quantity, or 1-D); read back as columns from 1-D
//! or 2-D little-endian float64, float32, int64 or int32 arrays (predictions,
//! `pdenet eval --input FILE.npy`, .npz members, data files).

/// A 2-D little-endian f64 array in NumPy's .npy format (version 1.0): one row per
/// point, one column per entry of `columns`.
pub fn write(columns: &[Vec<f64>]) -> Vec<u8> {
    let rows = columns.first().map_or(0, Vec::len);
    let values = (0..rows).flat_map(|i| columns.iter().map(move |c| c[i]));
    encode(&format!("({rows}, {})", columns.len()), values)
}

/// A `rows` × `cols` array from its values in C (row-major) order, as θ holds a
/// matrix.
pub fn write_matrix(rows: usize, cols: usize, values: &[f64]) -> Vec<u8> {
    encode(&format!("({rows}, {cols})"), values.iter().copied())
}

/// A 1-D little-endian f64 array in NumPy's .npy format (version 1.0).
pub fn write_vector(v: &[f64]) -> Vec<u8> {
    encode(&format!("({},)", v.len()), v.iter().copied())
}

/// The header for `shape` (a Python tuple), then the values in C order.
fn encode(shape: &str, values: impl Iterator<Item = f64>) -> Vec<u8> {
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + header length (2) + header, padded to 64 with '\n' last.
    let unpadded = 10 + header.len() + 1;
    let pad = (64 - unpadded % 64) % 64;
    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&((header.len() + pad + 1) as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', pad));
    out.push(b'\n');
    for x in values {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// Reads a 1-D or 2-D array (`<f8`, `<f4`, `<i8`, `<i4`), C or Fortran order, as
/// f64 columns.
pub fn read(bytes: &[u8]) -> Result<Vec<Vec<f64>>, String> {
    let (dims, values) = read_array(bytes)?;
    let (rows, cols) = match dims[..] {
        [n] => (n, 1),
        [n, m] => (n, m),
        _ => return Err(format!("expected a 1-D or 2-D array, not shape {dims:?}")),
    };
    Ok((0..cols)
        .map(|j| values[j * rows..(j + 1) * rows].to_vec())
        .collect())
}

/// Reads an array of any number of dimensions as its shape and its values in
/// column-major order (the first index fastest, as MATLAB stores them), whatever
/// the file's order.
pub fn read_array(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated .npy header")?;
    let descr = header
        .split("'descr':")
        .nth(1)
        .and_then(|d| d.split('\'').nth(1))
        .ok_or("no descr in the .npy header")?;
    let (size, number): (usize, fn(&[u8]) -> f64) = match descr {
        "<f8" | "<d" => (8, |b| f64::from_le_bytes(b.try_into().unwrap_or_default())),
        "<f4" => (4, |b| f32::from_le_bytes(b.try_into().unwrap_or_default()).into()),
        "<i8" => (8, |b| i64::from_le_bytes(b.try_into().unwrap_or_default()) as f64),
        "<i4" => (4, |b| i32::from_le_bytes(b.try_into().unwrap_or_default()).into()),
        other => {
            return Err(format!(
                "arrays of dtype `{other}` are not read: store little-endian float64, float32, int64 or int32 (`a.astype('<f8')`)"
            ))
        }
    };
    let fortran = header.contains("'fortran_order': True");
    let shape = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| s.trim().trim_start_matches('('))
        .ok_or("no shape in the .npy header")?;
    let dims: Vec<usize> = shape
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| format!("bad shape `{shape}`")))
        .collect::<Result<_, _>>()?;
    let count: usize = dims.iter().product();
    let data = &bytes[start + header_len..];
    if data.len() < size * count {
        return Err("the .npy data is shorter than its shape".into());
    }
    let at = |k: usize| number(&data[size * k..size * (k + 1)]);
    let values = match fortran {
        true => (0..count).map(at).collect(),
        false => (0..count).map(|k| at(c_offset(&dims, k))).collect(),
    };
    Ok((dims, values))
}

/// The C-order position of the entry whose column-major position is `k`.
fn c_offset(dims: &[usize], mut k: usize) -> usize {
    let mut index = vec![0; dims.len()];
    for (i, &n) in index.iter_mut().zip(dims) {
        *i = k % n.max(1);
        k /= n.max(1);
    }
    index.iter().zip(dims).fold(0, |at, (&i, &n)| at * n + i)
}

#[cfg(test)]
mod tests {
    /// A 1-D .npy of `n` entries of dtype `descr` with the raw `data`.
    fn with_descr(descr: &str, n: usize, data: &[u8]) -> Vec<u8> {
        let mut b = super::write_vector(&vec![0.0; n]);
        b.truncate(b.len() - 8 * n);
        // The same length as `'<f8', `, so the header's length field still holds.
        let dtype = format!("{:<7}", format!("'{descr}',"));
        let at = b.windows(7).position(|w| w == b"'<f8', ").unwrap();
        b[at..at + 7].copy_from_slice(dtype.as_bytes());
        [b.as_slice(), data].concat()
    }

    #[test]
    fn round_trip() {
        let cols = vec![vec![1.0, 2.0, 3.0], vec![-0.5, 1e300, f64::MIN_POSITIVE]];
        let bytes = super::write(&cols);
        assert_eq!(super::read(&bytes).unwrap(), cols);
        // float32 and int64, as NumPy writes such arrays; complex is refused.
        let f4 = [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat();
        assert_eq!(
            super::read(&with_descr("<f4", 2, &f4)).unwrap(),
            vec![vec![1.5, -2.0]]
        );
        let i8 = [7i64.to_le_bytes(), (-3i64).to_le_bytes()].concat();
        assert_eq!(
            super::read(&with_descr("<i8", 2, &i8)).unwrap(),
            vec![vec![7.0, -3.0]]
        );
        // A 2 × 3 × 2 C-order array read column-major: entry (i, j, k) at i + 2j + 6k.
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2), }";
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16 + 1).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.push(b'\n');
        let c_order: Vec<f64> = (0..12).map(f64::from).collect();
        b.extend(c_order.iter().flat_map(|x| x.to_le_bytes()));
        let (dims, v) = super::read_array(&b).unwrap();
        assert_eq!(dims, [2, 3, 2]);
        // C order: (i, j, k) holds 6i + 2j + k.
        assert_eq!(v[1 + 2 * 2], 10.0, "(1, 2, 0)");
        assert_eq!(v[2 + 6], 3.0, "(0, 1, 1)");
        let c16 = with_descr("<c16", 1, &[0; 16]);
        assert!(super::read(&c16).unwrap_err().contains("`<c16`"));
        for v in [vec![], vec![0.1 + 0.2, -0.0]] {
            let bytes = super::write_vector(&v);
            assert_eq!(super::read(&bytes).unwrap(), vec![v]);
        }
    }
}
