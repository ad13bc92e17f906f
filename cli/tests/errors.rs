//! Bad inputs give one clear message naming the culprit and a non-zero exit, never a panic.

mod common;

use common::*;

#[test]
fn truncated_npy_names_the_file() {
    let dir = temp_dir("truncated");
    let full = npy_bytes("<f4", &[4, 4], &[0u8; 64], false);
    let p = write_raw(&dir, "short.npy", &full[..full.len() - 10]);
    let err = fails(&["op", "silu", "--in", &p, "--out", dir.join("y.npy").to_str().unwrap()]);
    assert!(err.contains("short.npy") && err.contains("truncated") && err.contains("needs 64 data bytes"), "{err}");
    let p = write_raw(&dir, "header.npy", &full[..40]);
    let err = fails(&["op", "silu", "--in", &p, "--out", dir.join("y.npy").to_str().unwrap()]);
    assert!(err.contains("header.npy") && err.contains("truncated"), "{err}");
    let p = write_raw(&dir, "garbage.npy", b"this is not an array");
    let err = fails(&["op", "silu", "--in", &p, "--out", dir.join("y.npy").to_str().unwrap()]);
    assert!(err.contains("garbage.npy") && err.contains("not a .npy file"), "{err}");
    assert!(!dir.join("y.npy").exists(), "no output is written on failure");
}

#[test]
fn unsupported_npy_kinds_are_refused() {
    let dir = temp_dir("npy_kinds");
    let out = dir.join("y.npy");
    let o = out.to_str().unwrap();
    let p = write_raw(&dir, "f.npy", &npy_bytes("<f4", &[2, 2], &[0u8; 16], true));
    assert!(fails(&["op", "silu", "--in", &p, "--out", o]).contains("Fortran"));
    let p = write_raw(&dir, "d.npy", &npy_bytes("<f8", &[2], &[0u8; 16], false));
    assert!(fails(&["op", "silu", "--in", &p, "--out", o]).contains("float64"));
    let p = write_raw(&dir, "u.npy", &npy_bytes("|u1", &[2], &[0u8; 2], false));
    assert!(fails(&["op", "silu", "--in", &p, "--out", o]).contains("'|u1' is not supported"));
    let p = write_i64(&dir, "big.npy", &[2], &[1, 1 << 40]);
    assert!(fails(&["op", "silu", "--in", &p, "--out", o]).contains("does not fit in int32"));
}

#[test]
fn wrong_bin_size_names_file_format_shape_and_sizes() {
    let dir = temp_dir("bin_size");
    let w = write_raw(&dir, "w.bin", &[0u8; 100]);
    let err =
        fails(&["op", "dequantize", "--in", &format!("{w}:q4_0:4x64"), "--out", dir.join("y.npy").to_str().unwrap()]);
    // 4 rows of 2 blocks of 18 bytes.
    assert!(err.contains("w.bin: q4_0 4x64 needs 144 bytes, the file has 100"), "{err}");
    let err = fails(&["op", "dequantize", "--in", &format!("{w}:q4_0:4x60"), "--out", "y.npy"]);
    assert!(err.contains("32-element blocks"), "{err}");
    let err = fails(&["op", "dequantize", "--in", &format!("{w}:q3_0:4x64"), "--out", "y.npy"]);
    assert!(err.contains("unknown format `q3_0`; known: f32, f16, bf16, i32, q4_0"), "{err}");
    let err = fails(&["op", "dequantize", "--in", &w, "--out", "y.npy"]);
    assert!(err.contains("FILE:FORMAT:ROWSxCOLS"), "{err}");
}

#[test]
fn unknown_names_list_the_known_ones() {
    let dir = temp_dir("unknown");
    let x = write_f32(&dir, "x.npy", &[4], &random(1, 4));
    let o = dir.join("y.npy");
    let o = o.to_str().unwrap();
    let err = fails(&["op", "conv2d", "--in", &x, "--out", o]);
    assert!(err.contains("unknown op `conv2d`; known: matmul, attention, dequantize"), "{err}");
    let err = fails(&["op", "rms_norm", "-p", "epsilon=1e-5", "--in", &x, "--out", o]);
    assert!(err.contains("rms_norm: unknown parameter `epsilon`; known: eps"), "{err}");
    let err = fails(&["op", "gelu", "-p", "kind=fast", "--in", &x, "--out", o]);
    assert!(err.contains("expected one of tanh, erf"), "{err}");
    let err = fails(&["op", "silu", "--backend", "tpu", "--in", &x, "--out", o]);
    assert!(err.contains("unknown backend `tpu`; known: cpu"), "{err}");
    let err = fails(&["op", "permute", "--in", &x, "--out", o]);
    assert!(err.contains("missing --param perm"), "{err}");
    let err = fails(&["bench", "--preset", "huge"]);
    assert!(err.contains("unknown preset `huge`; known: quick, llama-matmul"), "{err}");
}

#[test]
fn shape_and_arity_errors_are_typed() {
    let dir = temp_dir("shapes");
    let x = write_f32(&dir, "x.npy", &[2, 8], &random(1, 16));
    let w = write_f32(&dir, "w.npy", &[3, 5], &random(2, 15));
    let o = dir.join("y.npy");
    let o = o.to_str().unwrap();
    let err = fails(&["op", "matmul", "--in", &x, "--in", &w, "--out", o]);
    assert!(err.contains("matmul") && err.contains("k = 8") && err.contains("k = 5"), "{err}");
    let err = fails(&["op", "matmul", "--in", &x, "--out", o]);
    assert!(err.contains("matmul takes --in x [m,k], w [n,k]; got 1 inputs"), "{err}");
    let err = fails(&["op", "silu", "--in", dir.join("missing.npy").to_str().unwrap(), "--out", o]);
    assert!(err.contains("missing.npy"), "{err}");
    let err = fails(&["op", "silu", "--in", &x, "--out", dir.join("no/such/dir/y.npy").to_str().unwrap()]);
    assert!(err.contains("no/such/dir/y.npy"), "{err}");
}
