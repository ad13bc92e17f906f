//! Tests of `attention` against a direct f64 computation.

use super::attention::{KvCache, attention};
use super::test_util::{assert_close, poisoned, rng, uniform};
use crate::{AttentionParams, AttentionShape};
use half::f16;

/// The f64 oracle, straight from the definition (masked keys excluded from the softmax).
fn reference(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<&[f32]>,
    sh: &AttentionShape,
    p: &AttentionParams,
) -> Vec<f64> {
    let d = sh.head_dim;
    let mut out = vec![0.0f64; sh.q_elems()];
    for b in 0..sh.batch {
        for h in 0..sh.n_head {
            let kvh = sh.kv_head_of(h);
            for i in 0..sh.seq_q {
                let qrow = &q[((b * sh.n_head + h) * sh.seq_q + i) * d..][..d];
                let kv_row = |j: usize| ((b * sh.n_kv_head + kvh) * sh.kv_capacity + j) * d;
                let scores: Vec<f64> = (0..sh.kv_len)
                    .map(|j| {
                        if p.causal && j > sh.q_position(i) {
                            return f64::NEG_INFINITY;
                        }
                        let dot: f64 = qrow.iter().zip(&k[kv_row(j)..][..d]).map(|(&a, &b)| a as f64 * b as f64).sum();
                        let mut s = p.scale as f64 * dot;
                        if let Some(c) = p.softcap {
                            s = c as f64 * (s / c as f64).tanh();
                        }
                        s + mask.map_or(0.0, |m| m[i * sh.kv_len + j] as f64)
                    })
                    .collect();
                let o = &mut out[((b * sh.n_head + h) * sh.seq_q + i) * d..][..d];
                if scores.iter().any(|s| s.is_nan()) {
                    o.fill(f64::NAN);
                    continue;
                }
                let max = scores.iter().fold(f64::NEG_INFINITY, |m, &s| m.max(s));
                if max == f64::NEG_INFINITY {
                    continue;
                }
                let w: Vec<f64> = scores.iter().map(|&s| (s - max).exp()).collect();
                let total: f64 = w.iter().sum();
                for (j, &wj) in w.iter().enumerate() {
                    if wj == 0.0 {
                        continue;
                    }
                    for (x, &vv) in o.iter_mut().zip(&v[kv_row(j)..][..d]) {
                        *x += wj / total * vv as f64;
                    }
                }
            }
        }
    }
    out
}

struct Case {
    sh: AttentionShape,
    params: AttentionParams,
    with_mask: bool,
}

/// Runs one case with an f32 and an f16 cache (the f16 values are the reference's inputs) and
/// compares with the f64 oracle.
fn check(case: &Case, seed: u64) {
    let sh = &case.sh;
    let mut r = rng(seed);
    let q = uniform(&mut r, sh.q_elems(), -1.5, 1.5);
    // Values past kv_len are garbage that must never be read: NaN.
    let mut k = uniform(&mut r, sh.kv_elems(), -1.5, 1.5);
    let mut v = uniform(&mut r, sh.kv_elems(), -2.0, 2.0);
    for row in 0..sh.batch * sh.n_kv_head {
        for j in sh.kv_len..sh.kv_capacity {
            let at = (row * sh.kv_capacity + j) * sh.head_dim;
            k[at..at + sh.head_dim].fill(f32::NAN);
            v[at..at + sh.head_dim].fill(f32::NAN);
        }
    }
    let mask = case.with_mask.then(|| {
        let mut m = uniform(&mut r, sh.seq_q * sh.kv_len, -3.0, 1.0);
        for (idx, x) in m.iter_mut().enumerate() {
            if idx % 7 == 3 {
                *x = f32::NEG_INFINITY;
            }
        }
        m
    });
    let k16: Vec<f16> = k.iter().map(|&x| f16::from_f32(x)).collect();
    let v16: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
    let k_from16: Vec<f32> = k16.iter().map(|x| x.to_f32()).collect();
    let v_from16: Vec<f32> = v16.iter().map(|x| x.to_f32()).collect();
    let what = format!("{sh:?} {:?} mask={}", case.params, case.with_mask);

    let want = reference(&q, &k, &v, mask.as_deref(), sh, &case.params);
    let mut out = poisoned(sh.q_elems());
    attention(&q, KvCache::F32(&k), KvCache::F32(&v), mask.as_deref(), sh, &case.params, &mut out).unwrap();
    assert_close(&format!("f32 {what}"), &out, &want, 2e-5, 2e-6);

    let want = reference(&q, &k_from16, &v_from16, mask.as_deref(), sh, &case.params);
    let mut out = poisoned(sh.q_elems());
    attention(&q, KvCache::F16(&k16), KvCache::F16(&v16), mask.as_deref(), sh, &case.params, &mut out).unwrap();
    assert_close(&format!("f16 {what}"), &out, &want, 2e-5, 2e-6);
    let mut out = poisoned(sh.q_elems());
    attention(&q, KvCache::F16(&k16), KvCache::F32(&v_from16), mask.as_deref(), sh, &case.params, &mut out).unwrap();
    assert_close(&format!("f16/f32 {what}"), &out, &want, 2e-5, 2e-6);
}

fn shape(
    batch: usize,
    n_head: usize,
    n_kv_head: usize,
    seq_q: usize,
    kv_len: usize,
    kv_capacity: usize,
    head_dim: usize,
) -> AttentionShape {
    AttentionShape { batch, n_head, n_kv_head, seq_q, kv_len, kv_capacity, head_dim }
}

fn params(head_dim: usize, causal: bool, softcap: Option<f32>) -> AttentionParams {
    AttentionParams { scale: 1.0 / (head_dim as f32).sqrt(), causal, softcap }
}

#[test]
fn prefill_shapes() {
    let mut seed = 100;
    for &d in &[64, 128, 80, 72, 36] {
        for &(causal, softcap, with_mask) in
            &[(true, None, false), (false, None, false), (true, Some(5.0), true), (false, None, true)]
        {
            let sh = shape(1, 8, 2, 37, 37, 41, d);
            check(&Case { sh, params: params(d, causal, softcap), with_mask }, seed);
            seed += 1;
        }
    }
    // Longer than a tile, several position blocks, more keys than queries, batch 2.
    let sh = shape(2, 4, 4, 70, 150, 160, 64);
    check(&Case { sh, params: params(64, true, None), with_mask: false }, 200);
    check(&Case { sh, params: params(64, false, Some(20.0)), with_mask: true }, 201);
    let sh = shape(1, 8, 1, 19, 200, 200, 128);
    check(&Case { sh, params: params(128, true, None), with_mask: true }, 202);
}

#[test]
fn decode_shapes() {
    let mut seed = 300;
    for &(n_head, n_kv, kv_len, d) in
        &[(32, 8, 1000, 128), (8, 2, 700, 64), (4, 4, 2049, 80), (2, 1, 513, 128), (3, 3, 300, 40)]
    {
        for &seq_q in &[1, 2, 5] {
            for &(causal, softcap, with_mask) in &[(true, None, false), (false, Some(30.0), true)] {
                let sh = shape(1, n_head, n_kv, seq_q, kv_len, kv_len + 3, d);
                check(&Case { sh, params: params(d, causal, softcap), with_mask }, seed);
                seed += 1;
            }
        }
    }
    let sh = shape(3, 2, 1, 1, 100, 128, 64);
    check(&Case { sh, params: params(64, true, None), with_mask: false }, 400);
}

#[test]
fn decode_on_one_thread_and_many() {
    let sh = shape(1, 8, 2, 1, 3000, 3000, 128);
    let case = Case { sh, params: params(128, true, Some(10.0)), with_mask: true };
    for threads in [1, 3, 7] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| check(&case, 500 + threads as u64));
    }
}

#[test]
fn masked_rows_give_zeros_and_nan_propagates() {
    let sh = shape(1, 4, 2, 3, 90, 90, 64);
    let p = params(64, true, None);
    let mut r = rng(600);
    let q = uniform(&mut r, sh.q_elems(), -1.0, 1.0);
    let mut k = uniform(&mut r, sh.kv_elems(), -1.0, 1.0);
    let v = uniform(&mut r, sh.kv_elems(), -1.0, 1.0);
    let mut mask = vec![0.0f32; sh.seq_q * sh.kv_len];
    mask[..sh.kv_len].fill(f32::NEG_INFINITY); // query row 0: every key masked
    let mut q_nan = q.clone();
    q_nan[(3 * sh.seq_q + 2) * 64 + 7] = f32::NAN; // head 3, row 2
    k[(sh.kv_capacity + 5) * 64] = f32::NAN; // KV head 1, key 5: heads 2 and 3, every row sees it
    let want = reference(&q_nan, &k, &v, Some(&mask), &sh, &p);
    let mut out = poisoned(sh.q_elems());
    attention(&q_nan, KvCache::F32(&k), KvCache::F32(&v), Some(&mask), &sh, &p, &mut out).unwrap();
    assert_close("nan", &out, &want, 2e-5, 2e-6);
    let head_row = |h: usize, i: usize| &out[(h * sh.seq_q + i) * 64..][..64];
    assert!(head_row(0, 0).iter().chain(head_row(1, 0)).all(|&x| x == 0.0));
    // A NaN score stays NaN under a -inf mask.
    assert!(head_row(2, 1).iter().chain(head_row(3, 2)).chain(head_row(3, 0)).all(|x| x.is_nan()));
    assert!(head_row(0, 1).iter().chain(head_row(1, 2)).all(|x| x.is_finite()));
}

#[test]
fn bad_arguments() {
    let sh = shape(1, 4, 2, 2, 5, 6, 8);
    let p = params(8, true, None);
    let q = vec![0.5f32; sh.q_elems()];
    let kv = vec![0.5f32; sh.kv_elems()];
    let mut out = vec![0.0f32; sh.q_elems()];
    let run = |sh: &AttentionShape, q: &[f32], kv: &[f32], mask: Option<&[f32]>, out: &mut [f32]| {
        attention(q, KvCache::F32(kv), KvCache::F32(kv), mask, sh, &p, out)
    };
    assert!(run(&sh, &q, &kv, None, &mut out).is_ok());
    assert!(run(&sh, &q, &kv, Some(&[0.0; 10]), &mut out).is_ok());
    assert!(run(&sh, &q, &kv, Some(&[0.0; 9]), &mut out).is_err());
    assert!(run(&sh, &q[1..], &kv, None, &mut out).is_err());
    assert!(run(&sh, &q, &kv[1..], None, &mut out).is_err());
    assert!(run(&sh, &q, &kv, None, &mut out[1..]).is_err());
    assert!(run(&AttentionShape { n_kv_head: 3, ..sh }, &q, &kv, None, &mut out).is_err());
    assert!(run(&AttentionShape { n_kv_head: 0, ..sh }, &q, &kv, None, &mut out).is_err());
    assert!(run(&AttentionShape { kv_len: 7, ..sh }, &q, &kv, None, &mut out).is_err());
    assert!(run(&AttentionShape { seq_q: 6, kv_len: 5, ..sh }, &q, &kv, None, &mut out).is_err());
    assert!(run(&AttentionShape { batch: usize::MAX, ..sh }, &q, &kv, None, &mut out).is_err());
    let k16 = vec![f16::from_f32(0.5); sh.kv_elems() - 1];
    assert!(attention(&q, KvCache::F16(&k16), KvCache::F32(&kv), None, &sh, &p, &mut out).is_err());
}

#[test]
fn avx2_and_portable_paths() {
    use crate::cpu::ops::simd::TEST_ISA_CAP;
    use std::sync::atomic::Ordering;
    for cap in [1, 2] {
        TEST_ISA_CAP.store(cap, Ordering::Relaxed);
        for &d in &[64, 72, 40] {
            let sh = shape(1, 4, 2, 9, 70, 75, d);
            check(&Case { sh, params: params(d, true, Some(8.0)), with_mask: true }, 700 + d as u64);
            let sh = shape(1, 4, 1, 1, 600, 600, d);
            check(&Case { sh, params: params(d, false, None), with_mask: false }, 800 + d as u64);
        }
        // The other ops through the same dispatch.
        let mut r = rng(900);
        let x = uniform(&mut r, 3 * 37, -4.0, 4.0);
        let mut out = poisoned(x.len());
        crate::cpu::ops::softmax(&x, 37, &mut out).unwrap();
        for row in out.chunks(37) {
            assert!((row.iter().map(|&p| p as f64).sum::<f64>() - 1.0).abs() < 1e-6);
        }
        let mut out = poisoned(x.len());
        crate::cpu::ops::rms_norm(&x, 37, 1e-6, None, &mut out).unwrap();
        for (row, xr) in out.chunks(37).zip(x.chunks(37)) {
            let ms = xr.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / 37.0;
            for (&y, &v) in row.iter().zip(xr) {
                assert!((y as f64 - v as f64 / (ms + 1e-6).sqrt()).abs() < 1e-5);
            }
        }
        let mut out = poisoned(x.len());
        crate::cpu::ops::silu(&x, &mut out).unwrap();
        for (&y, &v) in out.iter().zip(&x) {
            let want = v as f64 / (1.0 + (-v as f64).exp());
            assert!((y as f64 - want).abs() <= 3e-7 * want.abs() + 1e-30, "silu({v}) = {y}");
        }
    }
    TEST_ISA_CAP.store(0, Ordering::Relaxed);
}

#[test]
fn hidden_future_values_stay_out_of_earlier_rows() {
    use crate::cpu::ops::simd::TEST_ISA_CAP;
    use std::sync::atomic::Ordering;
    // Prefill blocks of 64 rows (transposed form) and of 5 rows (row form), a NaN in one future
    // token's value: only the rows that may see it become NaN.
    for (n_head, n_kv, seq) in [(8, 2, 90), (3, 3, 5)] {
        let sh = shape(1, n_head, n_kv, seq, seq, seq, 64);
        let p = params(64, true, None);
        let mut r = rng(1000 + seq as u64);
        let q = uniform(&mut r, sh.q_elems(), -1.0, 1.0);
        let k = uniform(&mut r, sh.kv_elems(), -1.0, 1.0);
        let mut v = uniform(&mut r, sh.kv_elems(), -1.0, 1.0);
        let poisoned_key = seq / 2 + 1;
        for kvh in 0..n_kv {
            v[(kvh * sh.kv_capacity + poisoned_key) * 64 + 3] = f32::NAN;
        }
        let want = reference(&q, &k, &v, None, &sh, &p);
        assert!(want.iter().any(|x| x.is_nan()) && want.iter().any(|x| x.is_finite()));
        for cap in [0, 1, 2] {
            TEST_ISA_CAP.store(cap, Ordering::Relaxed);
            let mut out = poisoned(sh.q_elems());
            attention(&q, KvCache::F32(&k), KvCache::F32(&v), None, &sh, &p, &mut out).unwrap();
            assert_close(&format!("seq {seq} isa cap {cap}"), &out, &want, 2e-5, 2e-6);
        }
        TEST_ISA_CAP.store(0, Ordering::Relaxed);
    }
}
