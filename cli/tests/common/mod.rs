//! Helpers shared by the CLI's integration tests: running the binary, writing .npy files the way
//! NumPy does, reading results back, seeded random data.

#![allow(dead_code)]

pub mod fake_rapl;

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs the `edgehal` binary with `args`.
pub fn edgehal(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_edgehal")).args(args).output().expect("the binary runs")
}

/// Runs and expects success; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = edgehal(args);
    assert!(
        out.status.success(),
        "edgehal {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs and expects a clean failure: non-zero exit, one `error: ...` message, no panic or Debug
/// dump. Returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = edgehal(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "edgehal {args:?} should fail; stderr: {err}");
    assert_eq!(out.status.code(), Some(1), "edgehal {args:?}: {err}");
    assert!(err.starts_with("error: "), "edgehal {args:?}: {err}");
    for bad in ["panicked", "internal error", "RUST_BACKTRACE", "{ ", "Error {"] {
        assert!(!err.contains(bad), "edgehal {args:?} printed `{bad}`: {err}");
    }
    err
}

/// A fresh directory for one test.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgehal-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The bytes of a .npy file as NumPy writes it (version 1.0, header padded to 64 bytes).
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8], fortran: bool) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let order = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Writes an f32 .npy file; returns its path as a string.
pub fn write_f32(dir: &Path, name: &str, shape: &[usize], v: &[f32]) -> String {
    assert_eq!(shape.iter().product::<usize>(), v.len());
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_raw(dir, name, &npy_bytes("<f4", shape, &data, false))
}

/// Writes an f16 .npy file.
pub fn write_f16(dir: &Path, name: &str, shape: &[usize], v: &[half::f16]) -> String {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_raw(dir, name, &npy_bytes("<f2", shape, &data, false))
}

/// Writes an int64 .npy file.
pub fn write_i64(dir: &Path, name: &str, shape: &[usize], v: &[i64]) -> String {
    let data: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_raw(dir, name, &npy_bytes("<i8", shape, &data, false))
}

/// Writes bytes to `dir/name`; returns the path.
pub fn write_raw(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

/// Reads a .npy written by the CLI: (descr, shape, values as f32).
pub fn read_npy(path: &str) -> (String, Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert_eq!((10 + len) % 64, 0, "data must start on a 64-byte boundary");
    assert!(header.contains("'fortran_order': False"));
    let descr = header.split("'descr': '").nth(1).unwrap()[..3].to_string();
    let shape_text = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let shape: Vec<usize> =
        shape_text.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap()).collect();
    let data = &bytes[10 + len..];
    let values: Vec<f32> = match descr.as_str() {
        "<f4" => data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect(),
        "<f2" => data.chunks_exact(2).map(|c| half::f16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect(),
        "<i4" => data.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
        other => panic!("unexpected descr {other}"),
    };
    assert_eq!(values.len(), shape.iter().product::<usize>(), "data length matches the shape");
    (descr, shape, values)
}

/// Seeded uniform values in [-1, 1).
pub fn random(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Asserts `got` and `want` agree within `tol` (absolute), NaN never passing.
pub fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let diff = (g as f64 - w).abs();
        assert!(diff <= tol, "element {i}: got {g}, want {w} (tolerance {tol})");
    }
}

/// SmolLM2-135M-Instruct Q4_1 (`EDGEHAL_SMOLLM2_GGUF`, else `scripts/smollm2.sh`'s cache path), or
/// `None` with a note when it is missing and `EDGEHAL_REQUIRE_MODELS` is not set (CI sets it, so
/// the model tests fail there instead of skipping).
pub fn smollm2_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let path = std::env::var_os("EDGEHAL_SMOLLM2_GGUF").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("EDGEHAL_MODEL_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cache/edgehal/models"))
            .join("SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("EDGEHAL_REQUIRE_MODELS").is_none(), "{path:?} missing: run scripts/smollm2.sh");
    eprintln!("skipped: {path:?} missing (run scripts/smollm2.sh)");
    None
}
