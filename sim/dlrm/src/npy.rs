//! `.npy` encoding (format versions 1.0, 2.0 and 3.0, little-endian, C order) and `.npz` archives of them.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor, Read, Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::error::DlrmError;

/// Largest header accepted (numpy itself stops at 10,000 bytes by default).
const MAX_HEADER_BYTES: usize = 1 << 20;
/// Largest array payload accepted: 1 TiB. Anything bigger is a corrupt header, not a workload.
const MAX_ARRAY_BYTES: u64 = 1 << 40;
/// Bytes decoded per step while streaming array data.
const CHUNK_BYTES: usize = 1 << 20;
/// numpy pads headers so the data starts on this alignment.
const HEADER_ALIGN: usize = 64;
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element types this crate reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `<i4`
    I32,
    /// `<i8`
    I64,
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `<f2` (binary16, kept as raw bits)
    F16,
    /// `|u1` (numpy's spelling; `<u1` is read too)
    U8,
}

impl Dtype {
    /// The numpy `descr` string.
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::I32 => "<i4",
            Dtype::I64 => "<i8",
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
            Dtype::F16 => "<f2",
            Dtype::U8 => "|u1",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::I32 | Dtype::F32 => 4,
            Dtype::I64 | Dtype::F64 => 8,
            Dtype::F16 => 2,
            Dtype::U8 => 1,
        }
    }

    fn from_descr(d: &str) -> Option<Dtype> {
        match d {
            "<i4" => Some(Dtype::I32),
            "<i8" => Some(Dtype::I64),
            "<f4" => Some(Dtype::F32),
            "<f8" => Some(Dtype::F64),
            "<f2" => Some(Dtype::F16),
            "|u1" | "<u1" => Some(Dtype::U8),
            _ => None,
        }
    }
}

/// Element data of an array, in its on-disk type.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// int32 elements.
    I32(Vec<i32>),
    /// int64 elements.
    I64(Vec<i64>),
    /// float32 elements.
    F32(Vec<f32>),
    /// float64 elements.
    F64(Vec<f64>),
    /// float16 elements as their raw binary16 bits (see [`crate::f16_to_f32`]).
    F16(Vec<u16>),
    /// uint8 elements.
    U8(Vec<u8>),
}

impl NpyData {
    /// The element type.
    pub fn dtype(&self) -> Dtype {
        match self {
            NpyData::I32(_) => Dtype::I32,
            NpyData::I64(_) => Dtype::I64,
            NpyData::F32(_) => Dtype::F32,
            NpyData::F64(_) => Dtype::F64,
            NpyData::F16(_) => Dtype::F16,
            NpyData::U8(_) => Dtype::U8,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            NpyData::I32(v) => v.len(),
            NpyData::I64(v) => v.len(),
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::F16(v) => v.len(),
            NpyData::U8(v) => v.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Integer data widened to i64; `None` for float data.
    pub fn into_i64(self) -> Option<Vec<i64>> {
        match self {
            NpyData::I32(v) => Some(v.into_iter().map(i64::from).collect()),
            NpyData::I64(v) => Some(v),
            NpyData::U8(v) => Some(v.into_iter().map(i64::from).collect()),
            NpyData::F32(_) | NpyData::F64(_) | NpyData::F16(_) => None,
        }
    }
}

/// A decoded array: shape (C order) and elements.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Elements in C order.
    pub data: NpyData,
}

/// What a caller will accept, checked against the header before any data is read.
pub(crate) struct Expect<'a> {
    /// Accepted element types.
    pub dtypes: &'a [Dtype],
    /// Human wording of `dtypes`, e.g. "int64 (<i8) or int32 (<i4)".
    pub dtype_words: &'a str,
    /// Accepted numbers of dimensions.
    pub ndims: &'a [usize],
}

/// Formats a shape the way Python prints a tuple: `()`, `(5,)`, `(4, 5)`.
pub(crate) fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A Python literal as found in a `.npy` header.
#[derive(Debug)]
enum Py {
    Str(String),
    Bool(bool),
    None,
    Int(i128),
    Seq(Vec<Py>),
    Dict(Vec<(String, Py)>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(x) => Err(format!(
                "expected '{}' at byte {}, found '{}'",
                c as char, self.i, x as char
            )),
            None => Err(format!("expected '{}', header ended", c as char)),
        }
    }

    fn value(&mut self) -> Result<Py, String> {
        match self.peek() {
            Some(b'\'') | Some(b'"') => self.string().map(Py::Str),
            Some(b'(') => self.seq(b'(', b')'),
            Some(b'[') => self.seq(b'[', b']'),
            Some(b'{') => self.dict(),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_alphanumeric() {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"True" => Ok(Py::Bool(true)),
                    b"False" => Ok(Py::Bool(false)),
                    b"None" => Ok(Py::None),
                    w => Err(format!("unexpected word '{}'", String::from_utf8_lossy(w))),
                }
            }
            Some(c) => Err(format!("unexpected '{}' at byte {}", c as char, self.i)),
            None => Err("header ended inside a value".to_string()),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.s[self.i];
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != quote {
            if self.s[self.i] == b'\\' {
                return Err("escape sequences in header strings are not supported".to_string());
            }
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return Err("unterminated string".to_string());
        }
        let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(text)
    }

    fn int(&mut self) -> Result<Py, String> {
        let start = self.i;
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        let v = text
            .parse::<i128>()
            .map_err(|_| format!("bad integer '{text}'"))?;
        if self.i < self.s.len() && self.s[self.i] == b'L' {
            self.i += 1;
        }
        Ok(Py::Int(v))
    }

    fn seq(&mut self, open: u8, close: u8) -> Result<Py, String> {
        self.expect(open)?;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok(Py::Seq(items));
            }
            items.push(self.value()?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(format!(
                        "expected ',' or '{}' at byte {}",
                        close as char, self.i
                    ))
                }
            }
        }
    }

    fn dict(&mut self) -> Result<Py, String> {
        self.expect(b'{')?;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Py::Dict(items));
                }
                Some(b'\'') | Some(b'"') => {}
                _ => return Err(format!("expected a quoted key at byte {}", self.i)),
            }
            let key = self.string()?;
            self.expect(b':')?;
            items.push((key, self.value()?));
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.i)),
            }
        }
    }
}

/// The three fields of a `.npy` header, validated.
#[derive(Debug)]
struct Header {
    descr: String,
    shape: Vec<usize>,
}

fn parse_header(text: &str) -> Result<Header, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let dict = match p.value()? {
        Py::Dict(items) => items,
        _ => return Err("header is not a Python dict".to_string()),
    };
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!(
            "unexpected text after the header dict at byte {}",
            p.i
        ));
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (key, value) in dict {
        match key.as_str() {
            "descr" => descr = Some(value),
            "fortran_order" => fortran = Some(value),
            "shape" => shape = Some(value),
            other => return Err(format!("header has unexpected key '{other}'")),
        }
    }
    let descr = match descr {
        Some(Py::Str(s)) => s,
        Some(_) => {
            return Err("structured dtypes (non-string 'descr') are not supported".to_string())
        }
        None => return Err("header lacks 'descr'".to_string()),
    };
    match fortran {
        Some(Py::Bool(false)) => {}
        Some(Py::Bool(true)) => {
            return Err("fortran_order is True; only C-order arrays are supported".to_string())
        }
        Some(_) => return Err("'fortran_order' is not True or False".to_string()),
        None => return Err("header lacks 'fortran_order'".to_string()),
    }
    let shape = match shape {
        Some(Py::Seq(dims)) => dims
            .into_iter()
            .map(|d| match d {
                Py::Int(n) if n >= 0 => {
                    usize::try_from(n).map_err(|_| format!("dimension {n} is too large"))
                }
                Py::Int(n) => Err(format!("negative dimension {n} in shape")),
                other => Err(format!("shape holds a non-integer {other:?}")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Py::None) | Some(_) => return Err("'shape' is not a tuple".to_string()),
        None => return Err("header lacks 'shape'".to_string()),
    };
    Ok(Header { descr, shape })
}

fn read_exact_or<R: Read + ?Sized>(
    r: &mut R,
    buf: &mut [u8],
    file: &str,
    array: &str,
    what: &str,
) -> Result<(), DlrmError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            DlrmError::npy(file, array, format!("truncated {what}"))
        }
        _ => DlrmError::npy(file, array, format!("cannot read {what}: {e}")),
    })
}

/// A parsed and checked `.npy` header: what follows it in the stream is exactly `count` elements.
#[derive(Clone, Debug)]
pub(crate) struct ArrayHeader {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Element type (one of the caller's accepted types).
    pub dtype: Dtype,
    /// Number of elements (product of `shape`).
    pub count: usize,
}

/// Reads one array of `size` bytes (header included) from `r`, checking the header against `expect`
/// before reading any data.
pub(crate) fn read_array<R: Read>(
    r: &mut R,
    size: u64,
    file: &str,
    array: &str,
    expect: &Expect<'_>,
) -> Result<NpyArray, DlrmError> {
    let header = read_header(r, size, file, array, expect)?;
    let (dtype, count) = (header.dtype, header.count);
    let data = match dtype {
        Dtype::I32 => NpyData::I32(read_values(r, count, file, array, |b: &[u8; 4]| {
            i32::from_le_bytes(*b)
        })?),
        Dtype::I64 => NpyData::I64(read_values(r, count, file, array, |b: &[u8; 8]| {
            i64::from_le_bytes(*b)
        })?),
        Dtype::F32 => NpyData::F32(read_values(r, count, file, array, |b: &[u8; 4]| {
            f32::from_le_bytes(*b)
        })?),
        Dtype::F64 => NpyData::F64(read_values(r, count, file, array, |b: &[u8; 8]| {
            f64::from_le_bytes(*b)
        })?),
        Dtype::F16 => NpyData::F16(read_values(r, count, file, array, |b: &[u8; 2]| {
            u16::from_le_bytes(*b)
        })?),
        Dtype::U8 => NpyData::U8(read_values(r, count, file, array, |b: &[u8; 1]| b[0])?),
    };
    expect_end(r, file, array)?;
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// Checks that `r` holds nothing more (after an array's data).
fn expect_end<R: Read + ?Sized>(r: &mut R, file: &str, array: &str) -> Result<(), DlrmError> {
    let mut probe = [0u8; 1];
    match r.read(&mut probe) {
        Ok(0) => Ok(()),
        Ok(_) => Err(DlrmError::npy(
            file,
            array,
            "unexpected bytes after the data",
        )),
        Err(e) => Err(DlrmError::npy(
            file,
            array,
            format!("cannot read data: {e}"),
        )),
    }
}

/// Reads and checks the header of an array of `size` bytes (header included) from `r`: magic,
/// version, dict, dtype and dimensions against `expect`, and that `size` holds exactly the data.
/// Leaves `r` at the first data byte.
pub(crate) fn read_header<R: Read + ?Sized>(
    r: &mut R,
    size: u64,
    file: &str,
    array: &str,
    expect: &Expect<'_>,
) -> Result<ArrayHeader, DlrmError> {
    let mut pre = [0u8; 8];
    read_exact_or(
        r,
        &mut pre,
        file,
        array,
        "header (shorter than the .npy magic)",
    )?;
    if &pre[..6] != MAGIC {
        return Err(DlrmError::npy(
            file,
            array,
            "not a .npy array (missing \\x93NUMPY magic)",
        ));
    }
    let (major, minor) = (pre[6], pre[7]);
    let (len_bytes, header_len) = match major {
        1 => {
            let mut b = [0u8; 2];
            read_exact_or(r, &mut b, file, array, "header")?;
            (2usize, u16::from_le_bytes(b) as usize)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            read_exact_or(r, &mut b, file, array, "header")?;
            (4usize, u32::from_le_bytes(b) as usize)
        }
        _ => {
            return Err(DlrmError::npy(
                file,
                array,
                format!("unsupported .npy format version {major}.{minor}"),
            ));
        }
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(DlrmError::npy(
            file,
            array,
            format!("header length {header_len} bytes is implausible"),
        ));
    }
    let mut raw = vec![0u8; header_len];
    read_exact_or(r, &mut raw, file, array, "header")?;
    let text = std::str::from_utf8(&raw)
        .map_err(|_| DlrmError::npy(file, array, "header is not valid text"))?;
    let header =
        parse_header(text).map_err(|e| DlrmError::npy(file, array, format!("bad header: {e}")))?;

    let dtype = match Dtype::from_descr(&header.descr) {
        Some(d) if expect.dtypes.contains(&d) => d,
        _ if header.descr.starts_with('>') => {
            return Err(DlrmError::npy(
                file,
                array,
                format!(
                    "dtype {} is big-endian, expected {}",
                    header.descr, expect.dtype_words
                ),
            ));
        }
        _ => {
            return Err(DlrmError::npy(
                file,
                array,
                format!("dtype {}, expected {}", header.descr, expect.dtype_words),
            ));
        }
    };
    let ndim = header.shape.len();
    if !expect.ndims.contains(&ndim) {
        let want = expect
            .ndims
            .iter()
            .map(|n| format!("{n}-D"))
            .collect::<Vec<_>>()
            .join(" or ");
        return Err(DlrmError::npy(
            file,
            array,
            format!(
                "shape {} is {ndim}-D, expected {want}",
                shape_str(&header.shape)
            ),
        ));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&c| {
            (c as u64)
                .checked_mul(dtype.size() as u64)
                .is_some_and(|b| b <= MAX_ARRAY_BYTES)
        });
    let Some(count) = count else {
        return Err(DlrmError::npy(
            file,
            array,
            format!("shape {} is implausibly large", shape_str(&header.shape)),
        ));
    };
    let data_bytes = count as u64 * dtype.size() as u64;
    let data_start = (8 + len_bytes + header_len) as u64;
    let held = size.saturating_sub(data_start);
    if held < data_bytes {
        return Err(DlrmError::npy(
            file,
            array,
            format!(
                "truncated data: shape {} {} needs {data_bytes} bytes, only {held} present",
                shape_str(&header.shape),
                dtype.descr()
            ),
        ));
    }
    if held > data_bytes {
        return Err(DlrmError::npy(
            file,
            array,
            format!(
                "{} unexpected bytes after the data of shape {} {}",
                held - data_bytes,
                shape_str(&header.shape),
                dtype.descr()
            ),
        ));
    }
    Ok(ArrayHeader {
        shape: header.shape,
        dtype,
        count,
    })
}

/// Integer elements of one array, decoded a chunk at a time (widened to i64) after
/// [`read_header`]; nothing but the current chunk is held.
pub(crate) struct IntChunks<'r, R: Read + ?Sized> {
    r: &'r mut R,
    dtype: Dtype,
    count: usize,
    done: usize,
    bytes: Vec<u8>,
    values: Vec<i64>,
    file: &'r str,
    array: &'r str,
}

impl<'r, R: Read + ?Sized> IntChunks<'r, R> {
    /// Streams the data that follows `header` in `r` (an integer dtype).
    pub fn new(r: &'r mut R, header: &ArrayHeader, file: &'r str, array: &'r str) -> Self {
        assert!(
            matches!(header.dtype, Dtype::I32 | Dtype::I64),
            "IntChunks needs an integer dtype"
        );
        IntChunks {
            r,
            dtype: header.dtype,
            count: header.count,
            done: 0,
            bytes: Vec::new(),
            values: Vec::new(),
            file,
            array,
        }
    }

    /// The next chunk as (position of its first element, elements); `None` after the last one,
    /// once the stream is checked to end there.
    pub fn next_chunk(&mut self) -> Result<Option<(usize, &[i64])>, DlrmError> {
        if self.done == self.count {
            expect_end(self.r, self.file, self.array)?;
            return Ok(None);
        }
        let size = self.dtype.size();
        let n = (self.count - self.done).min(CHUNK_BYTES / size);
        self.bytes.resize(n * size, 0);
        self.r
            .read_exact(&mut self.bytes)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => DlrmError::npy(
                    self.file,
                    self.array,
                    format!(
                        "truncated data: ends within elements {}..{} of {}",
                        self.done,
                        self.done + n,
                        self.count
                    ),
                ),
                _ => DlrmError::npy(self.file, self.array, format!("cannot read data: {e}")),
            })?;
        self.values.clear();
        match self.dtype {
            Dtype::I32 => self.values.extend(
                self.bytes
                    .chunks_exact(4)
                    .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes")))),
            ),
            _ => self.values.extend(
                self.bytes
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))),
            ),
        }
        let start = self.done;
        self.done += n;
        Ok(Some((start, &self.values)))
    }
}

/// Streams `count` elements, growing the output only as data actually arrives.
fn read_values<T, R: Read, const N: usize>(
    r: &mut R,
    count: usize,
    file: &str,
    array: &str,
    conv: impl Fn(&[u8; N]) -> T,
) -> Result<Vec<T>, DlrmError> {
    let mut out = Vec::with_capacity(count.min(CHUNK_BYTES / N));
    let mut buf = vec![0u8; (CHUNK_BYTES / N) * N];
    while out.len() < count {
        let n = (count - out.len()).min(buf.len() / N);
        let bytes = &mut buf[..n * N];
        r.read_exact(bytes).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => DlrmError::npy(
                file,
                array,
                format!(
                    "truncated data: ends within elements {}..{} of {count}",
                    out.len(),
                    out.len() + n
                ),
            ),
            _ => DlrmError::npy(file, array, format!("cannot read data: {e}")),
        })?;
        out.extend(
            bytes
                .chunks_exact(N)
                .map(|c| conv(c.try_into().expect("chunks_exact yields N bytes"))),
        );
    }
    Ok(out)
}

/// Builds a `.npy` header (version 1.0 when it fits, else 2.0) padded so the data is 64-byte aligned.
pub(crate) fn header_bytes(dtype: Dtype, shape: &[usize]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        shape_str(shape)
    );
    let build = |len_bytes: usize| {
        let unpadded = 8 + len_bytes + dict.len() + 1;
        let pad = (HEADER_ALIGN - unpadded % HEADER_ALIGN) % HEADER_ALIGN;
        let mut text = dict.clone().into_bytes();
        text.resize(text.len() + pad, b' ');
        text.push(b'\n');
        text
    };
    let text = build(2);
    let mut out = MAGIC.to_vec();
    if text.len() <= u16::MAX as usize {
        out.extend([1, 0]);
        out.extend((text.len() as u16).to_le_bytes());
        out.extend(text);
    } else {
        let text = build(4);
        out.extend([2, 0]);
        out.extend((text.len() as u32).to_le_bytes());
        out.extend(text);
    }
    out
}

/// Element types that can be written little-endian.
pub(crate) trait LeBytes: Copy {
    /// The `.npy` dtype.
    const DTYPE: Dtype;
    /// Appends the little-endian bytes of `self`.
    fn put(self, out: &mut Vec<u8>);
}

impl LeBytes for f32 {
    const DTYPE: Dtype = Dtype::F32;
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes());
    }
}

impl LeBytes for i64 {
    const DTYPE: Dtype = Dtype::I64;
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes());
    }
}

impl LeBytes for u8 {
    const DTYPE: Dtype = Dtype::U8;
    fn put(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

/// Writes a whole `.npy` array (header and data) to `w`.
pub(crate) fn write_array<T: LeBytes, W: Write>(
    w: &mut W,
    shape: &[usize],
    data: &[T],
) -> std::io::Result<()> {
    w.write_all(&header_bytes(T::DTYPE, shape))?;
    let mut buf = Vec::with_capacity(CHUNK_BYTES);
    for chunk in data.chunks(CHUNK_BYTES / T::DTYPE.size()) {
        buf.clear();
        for &x in chunk {
            x.put(&mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Byte size of a `.npy` array as [`write_array`] writes it.
fn array_bytes(dtype: Dtype, shape: &[usize], len: usize) -> u64 {
    header_bytes(dtype, shape).len() as u64 + len as u64 * dtype.size() as u64
}

/// Names for an error line: all of them when few, else the first and last few and the count.
pub(crate) fn list_names(names: &[String]) -> String {
    match names.len() {
        0 => "no arrays".to_string(),
        1..=8 => names.join(", "),
        n => format!(
            "{}, ..., {} ({n} arrays)",
            names[..4].join(", "),
            names[n - 2..].join(", ")
        ),
    }
}

/// What an `.npz` archive is read from: a buffered file, or bytes in memory.
pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// An open `.npz` archive.
pub(crate) struct Npz {
    file: String,
    archive: ZipArchive<Box<dyn ReadSeek>>,
    names: Vec<String>,
}

impl Npz {
    /// Opens `path` and lists its arrays (members named `<array>.npy`).
    pub fn open(path: &Path) -> Result<Npz, DlrmError> {
        let file = path.display().to_string();
        let f = File::open(path).map_err(|e| DlrmError::io(&file, "open", e))?;
        let meta = f.metadata().map_err(|e| DlrmError::io(&file, "read", e))?;
        if meta.is_dir() {
            return Err(DlrmError::archive(
                &file,
                "is a directory, expected a .npz (zip) archive",
            ));
        }
        Npz::from_reader(file, meta.len(), Box::new(BufReader::new(f)))
    }

    /// Opens an archive held in memory; `file` names it in errors.
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Npz, DlrmError> {
        let len = bytes.len() as u64;
        Npz::from_reader(file.to_string(), len, Box::new(Cursor::new(bytes.to_vec())))
    }

    /// Opens an archive of `len` bytes from `r` and lists its arrays.
    fn from_reader(file: String, len: u64, r: Box<dyn ReadSeek>) -> Result<Npz, DlrmError> {
        if len == 0 {
            return Err(DlrmError::archive(
                &file,
                "empty file (0 bytes), expected a .npz (zip) archive",
            ));
        }
        let archive = ZipArchive::new(r).map_err(|e| {
            DlrmError::archive(
                &file,
                format!("not a .npz (zip) archive, or a truncated one: {e}"),
            )
        })?;
        let mut names: Vec<String> = archive
            .file_names()
            .filter_map(|n| n.strip_suffix(".npy"))
            .map(str::to_string)
            .collect();
        names.sort();
        Ok(Npz {
            file,
            archive,
            names,
        })
    }

    /// The file as the user named it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Array names, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// True if the archive holds `array`.
    pub fn has(&self, array: &str) -> bool {
        self.names.iter().any(|n| n == array)
    }

    /// Reads `array`, checking it against `expect`.
    pub fn read(&mut self, array: &str, expect: &Expect<'_>) -> Result<NpyArray, DlrmError> {
        if !self.has(array) {
            return Err(DlrmError::Missing {
                file: self.file.clone(),
                array: array.to_string(),
                present: list_names(&self.names),
            });
        }
        let mut member = self.archive.by_name(&format!("{array}.npy")).map_err(|e| {
            DlrmError::npy(
                &self.file,
                array,
                format!("cannot open archive member: {e}"),
            )
        })?;
        let size = member.size();
        read_array(&mut member, size, &self.file, array, expect)
    }

    /// Opens `array`, checks its header against `expect` and hands the header and the reader,
    /// positioned at the first data byte, to `f` (for streaming large arrays).
    pub fn with_member<T>(
        &mut self,
        array: &str,
        expect: &Expect<'_>,
        f: impl FnOnce(&ArrayHeader, &mut dyn Read, &str) -> Result<T, DlrmError>,
    ) -> Result<T, DlrmError> {
        if !self.has(array) {
            return Err(DlrmError::Missing {
                file: self.file.clone(),
                array: array.to_string(),
                present: list_names(&self.names),
            });
        }
        let mut member = self.archive.by_name(&format!("{array}.npy")).map_err(|e| {
            DlrmError::npy(
                &self.file,
                array,
                format!("cannot open archive member: {e}"),
            )
        })?;
        let size = member.size();
        let header = read_header(&mut member, size, &self.file, array, expect)?;
        f(&header, &mut member, &self.file)
    }
}

/// A `.npz` archive being written (members stored uncompressed, like `np.savez`).
pub(crate) struct NpzWriter {
    file: String,
    zip: ZipWriter<BufWriter<File>>,
}

impl NpzWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<NpzWriter, DlrmError> {
        let file = path.display().to_string();
        let f = File::create(path).map_err(|e| DlrmError::io(&file, "create", e))?;
        Ok(NpzWriter {
            file,
            zip: ZipWriter::new(BufWriter::new(f)),
        })
    }

    /// Adds `array` with the given shape.
    pub fn add<T: LeBytes>(
        &mut self,
        array: &str,
        shape: &[usize],
        data: &[T],
    ) -> Result<(), DlrmError> {
        self.start(array, array_bytes(T::DTYPE, shape, data.len()))?;
        write_array(&mut self.zip, shape, data).map_err(|e| DlrmError::io(&self.file, "write", e))
    }

    /// Adds `array` of element type `dtype` from its little-endian element bytes (e.g. binary16
    /// bits, or packed rows); `bytes` must hold exactly the shape's elements.
    pub fn add_raw(
        &mut self,
        array: &str,
        dtype: Dtype,
        shape: &[usize],
        bytes: &[u8],
    ) -> Result<(), DlrmError> {
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if count.and_then(|c| c.checked_mul(dtype.size())) != Some(bytes.len()) {
            return Err(DlrmError::invalid(
                &self.file,
                array,
                format!(
                    "{} bytes do not make shape {} {}",
                    bytes.len(),
                    shape_str(shape),
                    dtype.descr()
                ),
            ));
        }
        self.start(array, array_bytes(dtype, shape, bytes.len() / dtype.size()))?;
        let header = header_bytes(dtype, shape);
        self.zip
            .write_all(&header)
            .and_then(|()| self.zip.write_all(bytes))
            .map_err(|e| DlrmError::io(&self.file, "write", e))
    }

    /// Starts the member `array.npy` of `size` bytes.
    fn start(&mut self, array: &str, size: u64) -> Result<(), DlrmError> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(size >= u32::MAX as u64);
        self.zip
            .start_file(format!("{array}.npy"), options)
            .map_err(|e| {
                DlrmError::archive(
                    &self.file,
                    format!("{array}: cannot add archive member: {e}"),
                )
            })
    }

    /// Writes the central directory and flushes.
    pub fn finish(self) -> Result<(), DlrmError> {
        let file = self.file;
        let mut w = self
            .zip
            .finish()
            .map_err(|e| DlrmError::archive(&file, format!("cannot finish archive: {e}")))?;
        w.flush().map_err(|e| DlrmError::io(&file, "write", e))?;
        w.into_inner()
            .map_err(|e| DlrmError::io(&file, "write", e.into_error()))?
            .sync_all()
            .map_err(|e| DlrmError::io(&file, "write", e))?;
        Ok(())
    }
}

/// Reads a stand-alone `.npy` file, checking it against `expect`. Errors name the array `array`.
pub(crate) fn read_npy_file(path: &Path, expect: &Expect<'_>) -> Result<NpyArray, DlrmError> {
    let file = path.display().to_string();
    let f = File::open(path).map_err(|e| DlrmError::io(&file, "open", e))?;
    let size = f
        .metadata()
        .map_err(|e| DlrmError::io(&file, "read", e))?
        .len();
    let mut r = BufReader::new(f);
    read_array(&mut r, size, &file, "array", expect)
}

/// Writes a stand-alone `.npy` file.
pub(crate) fn write_npy_file<T: LeBytes>(
    path: &Path,
    shape: &[usize],
    data: &[T],
) -> Result<(), DlrmError> {
    let file = path.display().to_string();
    let f = File::create(path).map_err(|e| DlrmError::io(&file, "create", e))?;
    let mut w = BufWriter::new(f);
    write_array(&mut w, shape, data).map_err(|e| DlrmError::io(&file, "write", e))?;
    w.flush().map_err(|e| DlrmError::io(&file, "write", e))?;
    let f = w
        .into_inner()
        .map_err(|e| DlrmError::io(&file, "write", e.into_error()))?;
    f.sync_all().map_err(|e| DlrmError::io(&file, "write", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_parses_back() {
        for shape in [vec![], vec![7], vec![3, 4], vec![123_456_789, 64]] {
            let h = header_bytes(Dtype::F32, &shape);
            assert_eq!(h.len() % HEADER_ALIGN, 0);
            assert_eq!(*h.last().unwrap(), b'\n');
            let text = std::str::from_utf8(&h[10..]).unwrap();
            let parsed = parse_header(text).unwrap();
            assert_eq!(parsed.shape, shape);
            assert_eq!(parsed.descr, "<f4");
        }
    }

    #[test]
    fn header_parser_accepts_numpy_variants() {
        let h = parse_header("{'descr': '<i8', 'fortran_order': False, 'shape': (10L, 2), }  \n")
            .unwrap();
        assert_eq!(h.shape, vec![10, 2]);
        let h =
            parse_header("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f8\"}").unwrap();
        assert!(h.shape.is_empty());
        assert!(
            parse_header("{'descr': '<i8', 'fortran_order': True, 'shape': (1,)}")
                .unwrap_err()
                .contains("fortran_order")
        );
        assert!(
            parse_header("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,)}")
                .unwrap_err()
                .contains("structured")
        );
        assert!(
            parse_header("{'descr': '<i8', 'fortran_order': False, 'shape': (-1,)}")
                .unwrap_err()
                .contains("negative")
        );
        assert!(parse_header("{'descr': '<i8', 'fortran_order': False").is_err());
    }

    #[test]
    fn long_name_lists_are_abridged() {
        let names: Vec<String> = (0..20).map(|i| format!("table_{i}")).collect();
        assert_eq!(
            list_names(&names),
            "table_0, table_1, table_2, table_3, ..., table_18, table_19 (20 arrays)"
        );
        assert_eq!(list_names(&names[..2]), "table_0, table_1");
        assert_eq!(list_names(&[]), "no arrays");
    }

    #[test]
    fn f16_and_u8_arrays_round_trip() {
        let p = std::env::temp_dir().join(format!("pifs-npy-f2-u1-{}.npz", std::process::id()));
        let bits: Vec<u8> = [0x3C00u16, 0xFBFF, 0x0001]
            .iter()
            .flat_map(|h| h.to_le_bytes())
            .collect();
        let mut w = NpzWriter::create(&p).unwrap();
        w.add("u", &[2, 2], &[0u8, 7, 128, 255]).unwrap();
        w.add_raw("h", Dtype::F16, &[3], &bits).unwrap();
        let err = w.add_raw("bad", Dtype::F16, &[2], &bits).unwrap_err();
        assert!(err
            .to_string()
            .ends_with("bad: 6 bytes do not make shape (2,) <f2"));
        w.finish().unwrap();
        let mut z = Npz::open(&p).unwrap();
        let any = Expect {
            dtypes: &[Dtype::F16, Dtype::U8],
            dtype_words: "float16 or uint8",
            ndims: &[1, 2],
        };
        let u = z.read("u", &any).unwrap();
        assert_eq!(
            (u.shape, u.data),
            (vec![2, 2], NpyData::U8(vec![0, 7, 128, 255]))
        );
        let h = z.read("h", &any).unwrap();
        assert_eq!(h.data, NpyData::F16(vec![0x3C00, 0xFBFF, 0x0001]));
        std::fs::remove_file(&p).unwrap();
        let h = header_bytes(Dtype::U8, &[1, 5]);
        assert!(std::str::from_utf8(&h[10..])
            .unwrap()
            .contains("'descr': '|u1'"));
        assert_eq!(Dtype::from_descr("<u1"), Some(Dtype::U8));
        assert_eq!(Dtype::from_descr(">f2"), None);
    }

    #[test]
    fn shape_str_matches_python() {
        assert_eq!(shape_str(&[]), "()");
        assert_eq!(shape_str(&[5]), "(5,)");
        assert_eq!(shape_str(&[4, 5]), "(4, 5)");
    }
}
