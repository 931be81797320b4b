//! A structural scan of a MATLAB v5 MAT-file, done before the `matfile` crate decodes the
//! numbers.
//!
//! Why this exists: `matfile` 0.5 stops quietly at the first element it cannot parse and
//! returns the variables before it as a success, so a truncated file loses variables
//! without an error. It also drops structs and cells without a word, and in debug builds
//! it panics on arithmetic overflow (an `i32` product of the dimensions, a `u32` round-up
//! of a tag's size). The scan walks every element with bounds and overflow checks, says
//! precisely what is wrong, lists every variable with its class and dimensions, and hands
//! each numeric variable to `matfile` as a small one-variable file of its own
//! (decompressed), so that the result can be checked variable by variable.
//!
//! Layout (MathWorks, "MAT-File Format", Level 5): a 128-byte header (text, subsystem
//! offset, version 0x0100, endian indicator `IM` or `MI`), then data elements. Each
//! element has an 8-byte tag (type, byte count) or, for at most 4 bytes of data, a 4-byte
//! "small" tag with the count in the upper half. A top-level element is a matrix
//! (`miMATRIX` = 14) padded to 8 bytes, or a zlib stream (`miCOMPRESSED` = 15) holding one
//! matrix element. A matrix holds sub-elements: array flags, dimensions, name, then for a
//! numeric class the real part and, if the complex flag is set, the imaginary part.

use std::borrow::Cow;
use std::io::Read;

/// Length of the file header.
pub(crate) const HEADER_LEN: usize = 128;

const MI_INT8: u32 = 1;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

/// The first numeric array class (`mxDOUBLE_CLASS`); classes 6..=15 are numeric.
const FIRST_NUMERIC_CLASS: u8 = 6;
const LAST_NUMERIC_CLASS: u8 = 15;

/// One top-level variable found by the scan.
pub(crate) struct Element<'a> {
    /// Position among the file's top-level elements, from 0.
    pub index: usize,
    /// Byte offset of the element's tag in the file.
    pub offset: usize,
    pub name: String,
    /// The MATLAB array class (`mxDOUBLE_CLASS` = 6, `mxSTRUCT_CLASS` = 2, ...).
    pub class: u8,
    pub dims: Vec<usize>,
    /// The whole `miMATRIX` element, tag included; decompressed if it was compressed.
    pub matrix: Cow<'a, [u8]>,
}

impl Element<'_> {
    pub fn is_numeric(&self) -> bool {
        (FIRST_NUMERIC_CLASS..=LAST_NUMERIC_CLASS).contains(&self.class)
    }

    /// Where the element is, for error messages.
    pub fn place(&self) -> String {
        format!("element #{} at byte {}", self.index + 1, self.offset)
    }
}

/// The result of a successful scan: the header to give each one-variable file, and
/// the variables in file order.
pub(crate) struct Scan<'a> {
    pub header: &'a [u8],
    pub elements: Vec<Element<'a>>,
}

/// The name MATLAB gives an array class, for messages.
pub(crate) fn class_name(class: u8) -> &'static str {
    match class {
        1 => "cell array",
        2 => "struct",
        3 => "object",
        4 => "char array",
        5 => "sparse matrix",
        6 => "double",
        7 => "single",
        8 => "int8",
        9 => "uint8",
        10 => "int16",
        11 => "uint16",
        12 => "int32",
        13 => "uint32",
        14 => "int64",
        15 => "uint64",
        16 => "function handle",
        17 => "opaque object (string, table, ...)",
        _ => "unknown class",
    }
}

/// Scans a whole file. The error is a sentence saying what is wrong and where.
pub(crate) fn scan(bytes: &[u8]) -> Result<Scan<'_>, String> {
    let big_endian = check_header(bytes)?;
    let mut elements = Vec::new();
    let mut pos = HEADER_LEN;
    while pos < bytes.len() {
        let index = elements.len();
        let rest = bytes.len() - pos;
        if rest < 8 {
            return Err(format!(
                "the file ends with {rest} stray bytes after the last complete variable \
                 (truncated?)"
            ));
        }
        let typ = read_u32(&bytes[pos..], big_endian);
        let size = read_u32(&bytes[pos + 4..], big_endian) as usize;
        let place = format!("element #{} at byte {pos}", index + 1);
        if typ >> 16 != 0 {
            return Err(format!("{place} does not start with a valid tag"));
        }
        let end = match (pos + 8).checked_add(size) {
            Some(end) if end <= bytes.len() => end,
            _ => {
                return Err(format!(
                    "the file is truncated: {place} declares {size} bytes but only {} remain",
                    rest - 8
                ))
            }
        };
        let (matrix, next) = match typ {
            MI_MATRIX => (Cow::Borrowed(&bytes[pos..end]), end + padding(size)),
            MI_COMPRESSED => (
                Cow::Owned(inflate(&bytes[pos + 8..end], &place, big_endian)?),
                end,
            ),
            other => {
                return Err(format!(
                    "{place} has data type {other}; the top level of a MAT-file holds only \
                     matrices (14) and compressed matrices (15)"
                ))
            }
        };
        let header = matrix_header(&matrix, big_endian).map_err(|e| format!("{place}: {e}"))?;
        elements.push(Element {
            index,
            offset: pos,
            name: header.name,
            class: header.class,
            dims: header.dims,
            matrix,
        });
        // A writer may leave out the last element's padding; do not ask for it.
        pos = next.min(bytes.len());
    }
    Ok(Scan {
        header: &bytes[..HEADER_LEN],
        elements,
    })
}

/// Checks the 128-byte header and returns whether the file is big-endian.
fn check_header(bytes: &[u8]) -> Result<bool, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!(
            "it is {} bytes long, shorter than the 128-byte header of a MAT-file",
            bytes.len()
        ));
    }
    let big_endian = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ => {
            return Err(if bytes[..4].contains(&0) {
                "it has no MAT v5 header (a MATLAB v4 file, or not a MAT-file at all)".into()
            } else {
                "it has no MAT v5 header (no `IM`/`MI` endian indicator at byte 126)".into()
            })
        }
    };
    let version = if big_endian {
        u16::from_be_bytes([bytes[124], bytes[125]])
    } else {
        u16::from_le_bytes([bytes[124], bytes[125]])
    };
    match version {
        0x0100 => Ok(big_endian),
        0x0200 => Err(
            "it is a MATLAB v7.3 (HDF5) file; save it with `save -v7` in MATLAB \
                       or with scipy.io.savemat"
                .into(),
        ),
        other => Err(format!(
            "its header declares version {other:#06x}; MAT v5 files have 0x0100"
        )),
    }
}

/// Inflates one `miCOMPRESSED` element's zlib stream into the matrix element it holds.
fn inflate(stream: &[u8], place: &str, big_endian: bool) -> Result<Vec<u8>, String> {
    let corrupt = |e: std::io::Error| format!("{place} holds corrupt compressed data ({e})");
    let mut decoder = libflate::zlib::Decoder::new(stream).map_err(corrupt)?;
    let mut tag = [0u8; 8];
    decoder.read_exact(&mut tag).map_err(corrupt)?;
    let size = u64::from(read_u32(&tag[4..], big_endian));
    let mut out = tag.to_vec();
    // Reading a little past the declared size makes the decoder reach the end of the
    // stream, where it verifies the Adler-32 checksum; bounding the read keeps a
    // crafted stream from inflating without limit. A stream shorter than declared is
    // reported by `matrix_header`.
    decoder
        .take(size + 16)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    Ok(out)
}

/// What the scan needs from a matrix element.
struct MatrixHeader {
    name: String,
    class: u8,
    dims: Vec<usize>,
}

/// Reads the flags, dimensions and name of a `miMATRIX` element (tag included), and for
/// a numeric class checks that the real and imaginary parts hold one number per entry.
fn matrix_header(matrix: &[u8], big_endian: bool) -> Result<MatrixHeader, String> {
    let mut cur = Cursor {
        bytes: matrix,
        pos: 0,
        big_endian,
    };
    let (typ, size) = cur.long_tag()?;
    if typ != MI_MATRIX {
        return Err(format!(
            "a compressed element holds data type {typ}, not a matrix (14)"
        ));
    }
    if size > matrix.len() - 8 {
        return Err(format!(
            "the matrix declares {size} bytes but only {} are present (truncated?)",
            matrix.len() - 8
        ));
    }
    // Everything below stays inside the declared matrix.
    cur.bytes = &matrix[..8 + size];

    let flags = cur.sub_element("array flags")?;
    if flags.typ != MI_UINT32 || flags.data.len() != 8 {
        return Err("the array flags sub-element is malformed".into());
    }
    let flag_word = read_u32(flags.data, big_endian);
    let class = (flag_word & 0xFF) as u8;
    let complex = flag_word & 0x0800 != 0;

    let dims_el = cur.sub_element("dimensions")?;
    if dims_el.typ != MI_INT32 || dims_el.data.len() < 8 || dims_el.data.len() % 4 != 0 {
        return Err("the dimensions sub-element is malformed".into());
    }
    let mut dims = Vec::with_capacity(dims_el.data.len() / 4);
    for chunk in dims_el.data.chunks_exact(4) {
        let d = read_u32(chunk, big_endian) as i32;
        let d = usize::try_from(d).map_err(|_| format!("a dimension is negative ({d})"))?;
        dims.push(d);
    }

    let name_el = cur.sub_element("name")?;
    if name_el.typ != MI_INT8 {
        return Err("the name sub-element is malformed".into());
    }
    let name = std::str::from_utf8(name_el.data)
        .map_err(|_| "the variable name is not valid text".to_string())?
        .trim_end_matches('\0')
        .to_string();
    if name.is_empty() {
        return Err("the variable has an empty name".into());
    }

    if (FIRST_NUMERIC_CLASS..=LAST_NUMERIC_CLASS).contains(&class) {
        check_numeric_parts(&mut cur, &dims, complex)
            .map_err(|e| format!("variable `{name}`: {e}"))?;
    }
    Ok(MatrixHeader { name, class, dims })
}

/// Checks that a numeric matrix's real (and imaginary) part hold exactly one number per
/// entry of its dimensions, which `matfile` also requires but reports only as
/// "an error occurred while parsing the file".
fn check_numeric_parts(cur: &mut Cursor<'_>, dims: &[usize], complex: bool) -> Result<(), String> {
    // `matfile` multiplies the dimensions in i32; refuse what would overflow there.
    let count = dims
        .iter()
        .try_fold(1i32, |acc, &d| acc.checked_mul(i32::try_from(d).ok()?))
        .ok_or_else(|| {
            format!(
                "its dimensions {} hold more than 2^31 - 1 entries",
                shape_text(dims)
            )
        })? as usize;
    let parts: &[&str] = if complex {
        &["real part", "imaginary part"]
    } else {
        &["real part"]
    };
    for part in parts {
        let el = cur.sub_element(part)?;
        let width = match el.typ {
            1 | 2 => 1,
            3 | 4 => 2,
            5..=7 => 4,
            9 | 12 | 13 => 8,
            other => return Err(format!("its {part} has non-numeric data type {other}")),
        };
        if el.data.len() != count * width {
            return Err(format!(
                "its {part} holds {} numbers but its shape {} needs {count}",
                el.data.len() / width,
                shape_text(dims)
            ));
        }
    }
    Ok(())
}

/// `256×100`, for messages.
pub(crate) fn shape_text(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    parts.join("×")
}

/// Bytes of padding after `size` bytes of data in a long-format element.
fn padding(size: usize) -> usize {
    (8 - size % 8) % 8
}

fn read_u32(bytes: &[u8], big_endian: bool) -> u32 {
    let word = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if big_endian {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    }
}

/// One sub-element: its data type and its data (padding excluded).
struct SubElement<'a> {
    typ: u32,
    data: &'a [u8],
}

/// A bounds-checked reader over the inside of one matrix element.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl<'a> Cursor<'a> {
    fn word(&mut self, what: &str) -> Result<u32, String> {
        if self.bytes.len() - self.pos < 4 {
            return Err(format!("the matrix ends before its {what}"));
        }
        let w = read_u32(&self.bytes[self.pos..], self.big_endian);
        self.pos += 4;
        Ok(w)
    }

    /// A long (8-byte) tag: the data type and byte count.
    fn long_tag(&mut self) -> Result<(u32, usize), String> {
        let typ = self.word("tag")?;
        let size = self.word("tag")? as usize;
        Ok((typ, size))
    }

    /// Reads a sub-element in either tag format and steps over its padding.
    fn sub_element(&mut self, what: &str) -> Result<SubElement<'a>, String> {
        let first = self.word(what)?;
        if first >> 16 != 0 {
            // Small format: up to 4 bytes of data packed beside the tag.
            let size = (first >> 16) as usize;
            if size > 4 || self.bytes.len() - self.pos < 4 {
                return Err(format!("the {what} sub-element is malformed"));
            }
            let data = &self.bytes[self.pos..self.pos + size];
            self.pos += 4;
            return Ok(SubElement {
                typ: first & 0xFFFF,
                data,
            });
        }
        let size = self.word(what)? as usize;
        if size > self.bytes.len() - self.pos {
            return Err(format!(
                "the {what} declares {size} bytes but only {} remain in the matrix",
                self.bytes.len() - self.pos
            ));
        }
        let data = &self.bytes[self.pos..self.pos + size];
        self.pos = (self.pos + size + padding(size)).min(self.bytes.len());
        Ok(SubElement { typ: first, data })
    }
}
