//! Reference scaled dot-product attention.

use rayon::prelude::*;

use super::matmul::dot;
use super::softmax::softmax_in_place;
use crate::{AttentionParams, AttentionShape};

/// Scaled dot-product attention with the layouts and semantics documented on [`AttentionShape`].
///
/// For batch `b`, query head `h` and query row `i` (at position `p = kv_len - seq_q + i`), with
/// KV head `g = h / (n_head / n_kv_head)`:
///
/// 1. `score_j = scale · q[b,h,i]·k[b,g,j]` for every valid key `j < kv_len`;
/// 2. if `softcap = Some(c)`: `score_j = c · tanh(score_j / c)`;
/// 3. if a mask is given: `score_j += mask[i, j]` (mask layout `[seq_q, kv_len]`, shared by every
///    batch and head; `-inf` removes a key);
/// 4. if `causal`: only keys `j <= p` take part (later keys are skipped altogether: their contents,
///    even `NaN`, never reach the output);
/// 5. `out[b,h,i] = Σ_j softmax(score)_j · v[b,g,j]` over the keys taking part.
///
/// Everything after the f32 inputs is f64. A row whose every key is masked (all scores `-inf`)
/// yields zeros; a `NaN` or `+inf` score makes the row `NaN` (see [`softmax()`](super::softmax())).
/// Rows `kv_len..kv_capacity` of `k` and `v` are never read. Output layout is that of `q`.
///
/// Preconditions (asserted): `n_kv_head > 0` divides `n_head`; `seq_q <= kv_len <= kv_capacity`;
/// `q.len() == shape.q_elems()`; `k.len() == v.len() == shape.kv_elems()`; a mask holds
/// `seq_q * kv_len` values; a softcap is finite and positive.
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<&[f32]>,
    shape: &AttentionShape,
    params: &AttentionParams,
) -> Vec<f64> {
    check_preconditions(q, k, v, mask, shape, params);
    let s = shape;
    let d = s.head_dim;
    let mut out = vec![0.0; s.q_elems()];
    if d == 0 {
        return out;
    }
    // One output row per (batch, head, query row), in q's order.
    out.par_chunks_mut(d).enumerate().for_each(|(row, out_row)| {
        let i = row % s.seq_q;
        let h = (row / s.seq_q) % s.n_head;
        let b = row / (s.seq_q * s.n_head);
        let q_row = &q[row * d..(row + 1) * d];
        let kv_head_start = (b * s.n_kv_head + s.kv_head_of(h)) * s.kv_capacity;
        let kv_row = |cache, j| head_row(cache, kv_head_start + j, d);

        let keys = if params.causal { s.q_position(i) + 1 } else { s.kv_len };
        let mut weights: Vec<f64> = (0..keys)
            .map(|j| {
                let mut score = f64::from(params.scale) * dot(q_row, kv_row(k, j));
                if let Some(cap) = params.softcap {
                    let cap = f64::from(cap);
                    score = cap * (score / cap).tanh();
                }
                if let Some(mask) = mask {
                    score += f64::from(mask[i * s.kv_len + j]);
                }
                score
            })
            .collect();
        softmax_in_place(&mut weights);

        for (j, &p) in weights.iter().enumerate() {
            for (o, &vj) in out_row.iter_mut().zip(kv_row(v, j)) {
                *o += p * f64::from(vj);
            }
        }
    });
    out
}

/// Row `r` of a row-major matrix with rows of length `d`.
fn head_row(matrix: &[f32], r: usize, d: usize) -> &[f32] {
    &matrix[r * d..(r + 1) * d]
}

fn check_preconditions(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<&[f32]>,
    s: &AttentionShape,
    params: &AttentionParams,
) {
    assert!(
        s.n_kv_head > 0 && s.n_head.is_multiple_of(s.n_kv_head),
        "reference::attention: n_kv_head = {} must be positive and divide n_head = {}",
        s.n_kv_head,
        s.n_head
    );
    assert!(
        s.seq_q <= s.kv_len && s.kv_len <= s.kv_capacity,
        "reference::attention: need seq_q <= kv_len <= kv_capacity, got {} / {} / {}",
        s.seq_q,
        s.kv_len,
        s.kv_capacity
    );
    assert_eq!(q.len(), s.q_elems(), "reference::attention: q length does not match the shape");
    assert_eq!(k.len(), s.kv_elems(), "reference::attention: k length does not match the shape");
    assert_eq!(v.len(), s.kv_elems(), "reference::attention: v length does not match the shape");
    if let Some(mask) = mask {
        assert_eq!(mask.len(), s.seq_q * s.kv_len, "reference::attention: mask must hold seq_q * kv_len values");
    }
    if let Some(cap) = params.softcap {
        assert!(cap.is_finite() && cap > 0.0, "reference::attention: softcap must be finite and positive, got {cap}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::testing::{assert_close, random_vec, widen};

    fn shape(n_head: usize, n_kv_head: usize, seq_q: usize, kv_len: usize) -> AttentionShape {
        AttentionShape { batch: 1, n_head, n_kv_head, seq_q, kv_len, kv_capacity: kv_len, head_dim: 2 }
    }

    const PLAIN: AttentionParams = AttentionParams { scale: 1.0, causal: false, softcap: None };

    #[test]
    fn one_dominant_key_selects_its_value() {
        // q = [1, 0]; keys [100, 0], [0, 0], [-100, 0]: key 0 wins by e^100.
        let q = [1.0, 0.0];
        let k = [100.0, 0.0, 0.0, 0.0, -100.0, 0.0];
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let out = attention(&q, &k, &v, None, &shape(1, 1, 1, 3), &PLAIN);
        assert_close(&out, &[1.0, 2.0], 1e-12);
    }

    #[test]
    fn two_keys_by_hand() {
        // Scores 0 and ln 3 (via the scale): weights ~1/4 and ~3/4.
        let scale = 3.0f32.ln();
        let q = [1.0, 0.0];
        let k = [0.0, 5.0, 1.0, 7.0];
        let v = [4.0, 0.0, 0.0, 8.0];
        let params = AttentionParams { scale, ..PLAIN };
        let out = attention(&q, &k, &v, None, &shape(1, 1, 1, 2), &params);
        let e = f64::from(scale).exp(); // 3 up to the f32 rounding of ln 3
        assert_close(&out, &[4.0 / (1.0 + e), 8.0 * e / (1.0 + e)], 1e-15);
        assert_close(&out, &[1.0, 6.0], 1e-6);
    }

    #[test]
    fn causal_row_zero_equals_first_value() {
        // Prefill: seq_q = kv_len = 3; row 0 may only see key 0, whatever the scores.
        let s = AttentionShape { head_dim: 4, ..shape(1, 1, 3, 3) };
        let q = random_vec(10, s.q_elems());
        let k = random_vec(11, s.kv_elems());
        let v = random_vec(12, s.kv_elems());
        let params = AttentionParams { scale: 0.5, causal: true, softcap: None };
        let out = attention(&q, &k, &v, None, &s, &params);
        assert_close(&out[..4], &widen(&v[..4]), 0.0);
        // The last row sees every key, so it equals the non-causal result.
        let full = attention(&q, &k, &v, None, &s, &AttentionParams { causal: false, ..params });
        assert_close(&out[8..], &full[8..], 1e-15);
        assert!((out[4] - full[4]).abs() > 1e-6, "row 1 should differ from the non-causal result");
    }

    #[test]
    fn causal_decode_row_sees_the_whole_cache_but_not_beyond_kv_len() {
        // Decode: seq_q = 1 at position kv_len - 1; unused capacity is NaN and must not leak.
        let s = AttentionShape { kv_capacity: 5, ..shape(1, 1, 1, 3) };
        let q = random_vec(13, s.q_elems());
        let mut k = random_vec(14, s.kv_elems());
        let mut v = random_vec(15, s.kv_elems());
        k[6..].fill(f32::NAN);
        v[6..].fill(f32::NAN);
        let causal = AttentionParams { causal: true, ..PLAIN };
        let out = attention(&q, &k, &v, None, &s, &causal);
        let compact = AttentionShape { kv_capacity: 3, ..s };
        let want = attention(&q, &k[..6], &v[..6], None, &compact, &PLAIN);
        assert_close(&out, &want, 0.0);
    }

    #[test]
    fn causal_keys_beyond_the_position_are_never_read() {
        // Row 0 of a 2-row prefill must ignore key 1 even if it is NaN.
        let s = shape(1, 1, 2, 2);
        let q = random_vec(16, s.q_elems());
        let k = [0.3, -0.2, f32::NAN, f32::NAN];
        let v = [0.5, 0.25, f32::NAN, f32::NAN];
        let out = attention(&q, &k, &v, None, &s, &AttentionParams { causal: true, ..PLAIN });
        assert_close(&out[..2], &[0.5, 0.25], 0.0);
        assert!(out[2..].iter().all(|x| x.is_nan()), "row 1 does read the NaN key");
    }

    #[test]
    fn gqa_query_heads_read_their_kv_head() {
        // 4 query heads over 2 distinct KV heads: heads 0, 1 read KV head 0; heads 2, 3 read 1.
        let s = AttentionShape { head_dim: 3, ..shape(4, 2, 2, 4) };
        let q = random_vec(20, s.q_elems());
        let k = random_vec(21, s.kv_elems());
        let v = random_vec(22, s.kv_elems());
        let params = AttentionParams { scale: 0.7, causal: true, softcap: None };
        let out = attention(&q, &k, &v, None, &s, &params);

        let single = AttentionShape { n_head: 1, n_kv_head: 1, ..s };
        let q_len = s.seq_q * s.head_dim;
        let kv_len = s.kv_capacity * s.head_dim;
        for h in 0..4 {
            let g = h / 2;
            let qh = &q[h * q_len..(h + 1) * q_len];
            let kg = &k[g * kv_len..(g + 1) * kv_len];
            let vg = &v[g * kv_len..(g + 1) * kv_len];
            let want = attention(qh, kg, vg, None, &single, &params);
            assert_close(&out[h * q_len..(h + 1) * q_len], &want, 0.0);
            // And it differs from what the other KV head would give.
            let o = 1 - g;
            let ko = &k[o * kv_len..(o + 1) * kv_len];
            let vo = &v[o * kv_len..(o + 1) * kv_len];
            let other = attention(qh, ko, vo, None, &single, &params);
            assert!((other[0] - want[0]).abs() > 1e-6, "the two KV heads should differ");
        }
    }

    #[test]
    fn batches_are_independent() {
        let s = AttentionShape { batch: 2, head_dim: 3, ..shape(2, 1, 2, 3) };
        let q = random_vec(30, s.q_elems());
        let k = random_vec(31, s.kv_elems());
        let v = random_vec(32, s.kv_elems());
        let out = attention(&q, &k, &v, None, &s, &PLAIN);
        let one = AttentionShape { batch: 1, ..s };
        let (qn, kn) = (one.q_elems(), one.kv_elems());
        for b in 0..2 {
            let want = attention(
                &q[b * qn..(b + 1) * qn],
                &k[b * kn..(b + 1) * kn],
                &v[b * kn..(b + 1) * kn],
                None,
                &one,
                &PLAIN,
            );
            assert_close(&out[b * qn..(b + 1) * qn], &want, 0.0);
        }
    }

    #[test]
    fn mask_is_added_and_a_fully_masked_row_is_zeros() {
        let s = shape(1, 1, 2, 2);
        let q = [1.0, 0.0, 1.0, 0.0];
        let k = [0.0, 0.0, 0.0, 0.0];
        let v = [2.0, 0.0, 0.0, 4.0];
        // Row 0: scores 0 + [0, ln 3] -> weights 1/4, 3/4. Row 1: every key masked.
        let ln3 = 3.0f32.ln();
        let mask = [0.0, ln3, f32::NEG_INFINITY, f32::NEG_INFINITY];
        let out = attention(&q, &k, &v, Some(&mask), &s, &PLAIN);
        let w1 = f64::from(ln3).exp() / (1.0 + f64::from(ln3).exp());
        assert_close(&out, &[2.0 * (1.0 - w1), 4.0 * w1, 0.0, 0.0], 1e-15);
    }

    #[test]
    fn softcap_squashes_scores() {
        // Scores 0 and 10 with softcap 5: capped scores 0 and 5 tanh(2).
        let s = shape(1, 1, 1, 2);
        let q = [1.0, 0.0];
        let k = [0.0, 0.0, 10.0, 0.0];
        let v = [1.0, 0.0, 0.0, 1.0];
        let params = AttentionParams { softcap: Some(5.0), ..PLAIN };
        let out = attention(&q, &k, &v, None, &s, &params);
        let e = (5.0 * 2.0f64.tanh()).exp();
        assert_close(&out, &[1.0 / (1.0 + e), e / (1.0 + e)], 1e-15);
    }

    #[test]
    #[should_panic(expected = "divide n_head")]
    fn kv_heads_not_dividing_query_heads_panic() {
        let s = shape(3, 2, 1, 1);
        attention(&[0.0; 6], &[0.0; 4], &[0.0; 4], None, &s, &PLAIN);
    }
}
