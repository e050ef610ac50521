//! Helpers shared by the integration tests: temporary paths and hand-built `.npy` / `.npz` bytes.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A fresh path under the system temp directory, unique per test name and process.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pifs-dlrm-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A `.npy` (version 1.0) with a literal header dict and raw little-endian data, built by hand.
pub fn npy_bytes(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out.extend(data);
    out
}

/// Little-endian bytes of i64 values.
pub fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes of i32 values.
pub fn i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Little-endian bytes of f32 values.
pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes a zip whose members are `(name, bytes, deflate?)`.
pub fn write_zip(path: &std::path::Path, members: &[(&str, Vec<u8>, bool)]) {
    let mut z = ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes, deflate) in members {
        let method = if *deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        z.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

/// A 1-D int64 member named `name` (which includes `.npy`), stored.
pub fn i64_member<'a>(name: &'a str, v: &[i64]) -> (&'a str, Vec<u8>, bool) {
    (
        name,
        npy_bytes("<i8", &format!("({},)", v.len()), &i64s(v)),
        false,
    )
}
