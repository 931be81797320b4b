//! A small MATLAB v5 MAT-file writer: uncompressed miMATRIX double column vectors,
//! one variable per column. MATLAB, scipy.io.loadmat and our own `read_mat` read it.

const MI_INT8: u32 = 1;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_DOUBLE: u32 = 9;
const MI_MATRIX: u32 = 14;
const MX_DOUBLE_CLASS: u32 = 6;

/// A MAT-file holding each `(name, values)` as an n×1 double variable. Names
/// should be MATLAB identifiers (see `io::ascii_name`).
pub fn write(vars: &[(String, Vec<f64>)]) -> Vec<u8> {
    let shaped: Vec<(String, Vec<usize>, &[f64])> = vars
        .iter()
        .map(|(n, v)| (n.clone(), vec![v.len(), 1], v.as_slice()))
        .collect();
    write_shaped(&shaped)
}

/// A MAT-file holding each `(name, shape, values)` as a double array of that shape
/// (values column-major: the first axis fastest).
pub fn write_shaped(vars: &[(String, Vec<usize>, &[f64])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut text = b"MATLAB 5.0 MAT-file, written by pdenet".to_vec();
    text.resize(116, b' ');
    out.extend_from_slice(&text);
    out.extend_from_slice(&[0u8; 8]); // no subsystem data
    out.extend_from_slice(&0x0100u16.to_le_bytes());
    out.extend_from_slice(b"IM");
    for (name, shape, values) in vars {
        let mut body = Vec::new();
        element(&mut body, MI_UINT32, &{
            let mut f = MX_DOUBLE_CLASS.to_le_bytes().to_vec();
            f.extend_from_slice(&0u32.to_le_bytes());
            f
        });
        let dims: Vec<u8> = shape
            .iter()
            .flat_map(|&d| (d as i32).to_le_bytes())
            .collect();
        element(&mut body, MI_INT32, &dims);
        element(&mut body, MI_INT8, name.as_bytes());
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        element(&mut body, MI_DOUBLE, &data);
        element(&mut out, MI_MATRIX, &body);
    }
    out
}

/// One data element: type, byte count, the bytes, zero padding to 8 bytes.
fn element(out: &mut Vec<u8>, ty: u32, bytes: &[u8]) {
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
    out.resize(out.len() + (8 - bytes.len() % 8) % 8, 0);
}
