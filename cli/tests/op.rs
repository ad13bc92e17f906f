//! `edgehal op` on small inputs written by the test, checked against values computed here.

mod common;

use common::*;
use half::f16;

fn matmul_ref(x: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f64> {
    let mut y = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            y[i * n + j] = (0..k).map(|l| x[i * k + l] as f64 * w[j * k + l] as f64).sum();
        }
    }
    y
}

#[test]
fn matmul_f32() {
    let dir = temp_dir("matmul_f32");
    let (m, n, k) = (3, 5, 40);
    let (x, w) = (random(1, m * k), random(2, n * k));
    let xp = write_f32(&dir, "x.npy", &[m, k], &x);
    let wp = write_f32(&dir, "w.npy", &[n, k], &w);
    let out = dir.join("y.npy");
    let stdout = ok(&["op", "matmul", "--in", &xp, "--in", &wp, "--out", out.to_str().unwrap()]);
    assert!(stdout.contains("matmul: wrote"), "{stdout}");
    let (descr, shape, y) = read_npy(out.to_str().unwrap());
    assert_eq!((descr.as_str(), shape), ("<f4", vec![m, n]));
    assert_close(&y, &matmul_ref(&x, &w, m, n, k), 1e-4);
}

/// Q8_0 blocks: f16 scale then 32 signed bytes.
fn q8_0_blocks(rows: usize, cols: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
    let (mut bytes, mut values) = (Vec::new(), Vec::new());
    let r = random(seed, rows * cols + rows * cols / 32);
    let mut it = r.into_iter();
    for _ in 0..rows * cols / 32 {
        let d = f16::from_f32(0.01 + 0.02 * it.next().unwrap().abs());
        bytes.extend_from_slice(&d.to_le_bytes());
        for _ in 0..32 {
            let q = (it.next().unwrap() * 127.0) as i8;
            bytes.push(q as u8);
            values.push(d.to_f32() * q as f32);
        }
    }
    (bytes, values)
}

#[test]
fn matmul_q8_0_weights_from_raw_blocks() {
    let dir = temp_dir("matmul_q8");
    let (m, n, k) = (2, 4, 64);
    let x = random(3, m * k);
    let (wbytes, w) = q8_0_blocks(n, k, 4);
    let xp = write_f32(&dir, "x.npy", &[m, k], &x);
    let wp = write_raw(&dir, "w.bin", &wbytes);
    let out = dir.join("y.npy");
    ok(&["op", "matmul", "--in", &xp, "--in", &format!("{wp}:q8_0:{n}x{k}"), "--out", out.to_str().unwrap()]);
    let (_, shape, got) = read_npy(out.to_str().unwrap());
    assert_eq!(shape, vec![m, n]);
    // Kernels may round x to 8 bits per 32-element block (step max|x_block| / 127): bound the
    // error that rounding can cause, element by element, plus f32 accumulation slack.
    let want = matmul_ref(&x, &w, m, n, k);
    for i in 0..m {
        for j in 0..n {
            let mut tol = 1e-5;
            for b in 0..k / 32 {
                let xs = &x[i * k + b * 32..][..32];
                let step = xs.iter().fold(0f32, |a, v| a.max(v.abs())) as f64 / 127.0;
                tol += (0..32).map(|l| (w[j * k + b * 32 + l] as f64).abs() * step / 2.0).sum::<f64>();
            }
            assert_close(&got[i * n + j..][..1], &want[i * n + j..][..1], tol);
        }
    }
}

#[test]
fn dequantize_q4_0_known_values() {
    let dir = temp_dir("dequant");
    // One row of two Q4_0 blocks: scale, then 16 bytes holding elements j (low nibble) and j + 16.
    let mut bytes = Vec::new();
    let mut want = Vec::new();
    for (b, d) in [(0u8, 0.5f32), (1, -0.25)] {
        bytes.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        let qs: Vec<u8> = (0..16u8).map(|j| ((j + b) % 16) | ((15 - j) << 4)).collect();
        want.extend(qs.iter().map(|q| ((q & 0xF) as f64 - 8.0) * d as f64));
        want.extend(qs.iter().map(|q| ((q >> 4) as f64 - 8.0) * d as f64));
        bytes.extend_from_slice(&qs);
    }
    let wp = write_raw(&dir, "w.bin", &bytes);
    let out = dir.join("w.npy");
    ok(&["op", "dequantize", "--in", &format!("{wp}:q4_0:1x64"), "--out", out.to_str().unwrap()]);
    let (descr, shape, got) = read_npy(out.to_str().unwrap());
    assert_eq!((descr.as_str(), shape), ("<f4", vec![1, 64]));
    assert_close(&got, &want, 0.0);
    // to=f16 gives an f16 file.
    ok(&["op", "dequantize", "-p", "to=f16", "--in", &format!("{wp}:q4_0:1x64"), "--out", out.to_str().unwrap()]);
    let (descr, _, got) = read_npy(out.to_str().unwrap());
    assert_eq!(descr, "<f2");
    assert_close(&got, &want, 0.0);
}

#[allow(clippy::too_many_arguments)]
fn attention_ref(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    (hq, hkv, s, t, d): (usize, usize, usize, usize, usize),
    causal: bool,
    scale: f64,
) -> Vec<f64> {
    let mut out = vec![0.0; hq * s * d];
    for h in 0..hq {
        let g = h / (hq / hkv);
        for i in 0..s {
            let keys = if causal { t - s + i + 1 } else { t };
            let qrow = &q[(h * s + i) * d..][..d];
            let scores: Vec<f64> = (0..keys)
                .map(|j| scale * (0..d).map(|e| qrow[e] as f64 * k[(g * t + j) * d + e] as f64).sum::<f64>())
                .collect();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let sum: f64 = exps.iter().sum();
            for e in 0..d {
                out[(h * s + i) * d + e] =
                    (0..keys).map(|j| exps[j] / sum * v[(g * t + j) * d + e] as f64).sum::<f64>();
            }
        }
    }
    out
}

#[test]
fn attention_causal_gqa_with_f16_cache() {
    let dir = temp_dir("attention");
    let (hq, hkv, s, t, d) = (4, 2, 3, 7, 8);
    let q = random(5, hq * s * d);
    let k16: Vec<f16> = random(6, hkv * t * d).iter().map(|&v| f16::from_f32(v)).collect();
    let v16: Vec<f16> = random(7, hkv * t * d).iter().map(|&v| f16::from_f32(v)).collect();
    let (k, v): (Vec<f32>, Vec<f32>) =
        (k16.iter().map(|x| x.to_f32()).collect(), v16.iter().map(|x| x.to_f32()).collect());
    let qp = write_f32(&dir, "q.npy", &[1, hq, s, d], &q);
    let kp = write_f16(&dir, "k.npy", &[1, hkv, t, d], &k16);
    let vp = write_f16(&dir, "v.npy", &[1, hkv, t, d], &v16);
    let out = dir.join("o.npy");
    let o = out.to_str().unwrap();
    ok(&["op", "attention", "--in", &qp, "--in", &kp, "--in", &vp, "--out", o]);
    let (_, shape, got) = read_npy(o);
    assert_eq!(shape, vec![1, hq, s, d]);
    let want = attention_ref(&q, &k, &v, (hq, hkv, s, t, d), true, 1.0 / (d as f64).sqrt());
    assert_close(&got, &want, 2e-3);

    ok(&[
        "op",
        "attention",
        "-p",
        "causal=false",
        "-p",
        "scale=0.5",
        "--in",
        &qp,
        "--in",
        &kp,
        "--in",
        &vp,
        "--out",
        o,
    ]);
    let (_, _, got) = read_npy(o);
    assert_close(&got, &attention_ref(&q, &k, &v, (hq, hkv, s, t, d), false, 0.5), 2e-3);
}

#[test]
fn rms_norm_with_weight_and_default_eps() {
    let dir = temp_dir("rms_norm");
    let (rows, d) = (3, 24);
    let (x, w) = (random(8, rows * d), random(9, d));
    let xp = write_f32(&dir, "x.npy", &[rows, d], &x);
    let wp = write_f32(&dir, "w.npy", &[d], &w);
    let out = dir.join("y.npy");
    ok(&["op", "rms_norm", "--in", &xp, "--in", &wp, "--out", out.to_str().unwrap()]);
    let mut want = Vec::new();
    for row in x.chunks(d) {
        let ms = row.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / d as f64;
        let r = 1.0 / (ms + 1e-6).sqrt();
        want.extend(row.iter().zip(&w).map(|(&v, &g)| v as f64 * r * g as f64));
    }
    assert_close(&read_npy(out.to_str().unwrap()).2, &want, 1e-5);
}

#[test]
fn softmax_over_the_last_axis() {
    let dir = temp_dir("softmax");
    let x: Vec<f32> = random(10, 2 * 3 * 5).iter().map(|v| v * 4.0).collect();
    let xp = write_f32(&dir, "x.npy", &[2, 3, 5], &x);
    let out = dir.join("y.npy");
    ok(&["op", "softmax", "--in", &xp, "--out", out.to_str().unwrap()]);
    let mut want = Vec::new();
    for row in x.chunks(5) {
        let e: Vec<f64> = row.iter().map(|&v| (v as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        want.extend(e.iter().map(|v| v / s));
    }
    let (_, shape, got) = read_npy(out.to_str().unwrap());
    assert_eq!(shape, vec![2, 3, 5]);
    assert_close(&got, &want, 1e-6);
}

#[test]
fn rope_normal_mode_with_offset() {
    let dir = temp_dir("rope");
    let (h, s, d) = (2, 3, 8);
    let x = random(11, h * s * d);
    let xp = write_f32(&dir, "x.npy", &[1, h, s, d], &x);
    let out = dir.join("y.npy");
    ok(&["op", "rope", "-p", "offset=5", "-p", "theta=500", "--in", &xp, "--out", out.to_str().unwrap()]);
    let mut want = vec![0.0; x.len()];
    for (r, row) in x.chunks(d).enumerate() {
        let pos = (5 + r % s) as f64;
        for i in 0..d / 2 {
            let a = pos * 500f64.powf(-2.0 * i as f64 / d as f64);
            let (x0, x1) = (row[2 * i] as f64, row[2 * i + 1] as f64);
            want[r * d + 2 * i] = x0 * a.cos() - x1 * a.sin();
            want[r * d + 2 * i + 1] = x0 * a.sin() + x1 * a.cos();
        }
    }
    assert_close(&read_npy(out.to_str().unwrap()).2, &want, 1e-5);
}

#[test]
fn get_rows_with_int64_ids() {
    let dir = temp_dir("get_rows");
    let table = random(12, 6 * 4);
    let tp = write_f32(&dir, "t.npy", &[6, 4], &table);
    let ip = write_i64(&dir, "ids.npy", &[3], &[5, 0, 5]);
    let out = dir.join("y.npy");
    ok(&["op", "get_rows", "--in", &tp, "--in", &ip, "--out", out.to_str().unwrap()]);
    let want: Vec<f64> = [5, 0, 5].iter().flat_map(|&r| table[r * 4..r * 4 + 4].iter().map(|&v| v as f64)).collect();
    let (_, shape, got) = read_npy(out.to_str().unwrap());
    assert_eq!(shape, vec![3, 4]);
    assert_close(&got, &want, 0.0);
}

#[test]
fn elementwise_ops() {
    let dir = temp_dir("elementwise");
    let (a, b) = (random(13, 12), random(14, 4));
    let ap = write_f32(&dir, "a.npy", &[3, 4], &a);
    let bp = write_f32(&dir, "b.npy", &[4], &b);
    let gp = write_f32(&dir, "g.npy", &[3, 4], &random(15, 12));
    let out = dir.join("y.npy");
    let o = out.to_str().unwrap();
    let silu = |v: f64| v / (1.0 + (-v).exp());

    ok(&["op", "add", "--in", &ap, "--in", &bp, "--out", o]);
    let want: Vec<f64> = (0..12).map(|i| a[i] as f64 + b[i % 4] as f64).collect();
    assert_close(&read_npy(o).2, &want, 1e-6);

    ok(&["op", "mul", "--in", &ap, "--in", &bp, "--out", o]);
    let want: Vec<f64> = (0..12).map(|i| a[i] as f64 * b[i % 4] as f64).collect();
    assert_close(&read_npy(o).2, &want, 1e-6);

    ok(&["op", "silu", "--in", &ap, "--out", o]);
    assert_close(&read_npy(o).2, &a.iter().map(|&v| silu(v as f64)).collect::<Vec<_>>(), 1e-6);

    let g = random(15, 12);
    ok(&["op", "swiglu", "--in", &gp, "--in", &ap, "--out", o]);
    let want: Vec<f64> = (0..12).map(|i| silu(g[i] as f64) * a[i] as f64).collect();
    assert_close(&read_npy(o).2, &want, 1e-6);

    ok(&["op", "gelu", "-p", "kind=erf", "--in", &ap, "--out", o]);
    // erf-GELU, with erf from Abramowitz-Stegun 7.1.26 (error < 1.5e-7).
    let erf = |x: f64| {
        let t = 1.0 / (1.0 + 0.3275911 * x.abs());
        let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        (1.0 - p * (-x * x).exp()).copysign(x)
    };
    let want: Vec<f64> = a.iter().map(|&v| 0.5 * v as f64 * (1.0 + erf(v as f64 / 2f64.sqrt()))).collect();
    assert_close(&read_npy(o).2, &want, 1e-5);
}

#[test]
fn cast_permute_and_copy() {
    let dir = temp_dir("layout");
    let x = random(16, 2 * 3 * 4 * 5);
    let xp = write_f32(&dir, "x.npy", &[2, 3, 4, 5], &x);
    let out = dir.join("y.npy");
    let o = out.to_str().unwrap();

    ok(&["op", "cast", "-p", "to=f16", "--in", &xp, "--out", o]);
    let (descr, shape, got) = read_npy(o);
    assert_eq!((descr.as_str(), shape), ("<f2", vec![2, 3, 4, 5]));
    assert_close(&got, &x.iter().map(|&v| f16::from_f32(v).to_f64()).collect::<Vec<_>>(), 0.0);

    ok(&["op", "permute", "-p", "perm=0,2,1,3", "--in", &xp, "--out", o]);
    let (_, shape, got) = read_npy(o);
    assert_eq!(shape, vec![2, 4, 3, 5]);
    let mut want = Vec::new();
    for a in 0..2 {
        for c in 0..4 {
            for b in 0..3 {
                want.extend((0..5).map(|e| x[((a * 3 + b) * 4 + c) * 5 + e] as f64));
            }
        }
    }
    assert_close(&got, &want, 0.0);

    ok(&["op", "copy", "--in", &xp, "--out", o]);
    assert_close(&read_npy(o).2, &x.iter().map(|&v| v as f64).collect::<Vec<_>>(), 0.0);
}
