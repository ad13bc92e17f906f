//! AVX-512 VNNI GEMV for layouts without a dedicated kernel: each block is decoded to
//! natural-order bytes and per-16 scales/offsets ([`super::blocks`]), 128 elements at a time,
//! then multiplied with `vpdpbusd` (lanes 4g..4g+4 of a 64-element product are 16-group g).
#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::QuantRows;
use super::act::QuantizedActs;
use super::blocks::GROUP;

/// Decoded elements per step (at least one block).
const CHUNK: usize = 256;

/// The generic rows kernel compiled for AVX-512 VNNI.
pub(super) fn generic_rows(
    w: &QuantRows,
    j0: usize,
    acts: &QuantizedActs,
    r: usize,
    out: &mut [f32],
) {
    for (i, y) in out.iter_mut().enumerate() {
        // SAFETY: reachable only through `SimdLevel::Avx512Vnni`, which checked the CPU.
        *y = unsafe { generic_row(w, w.row(j0 + i), acts, r) };
    }
}

/// Lane indices repeating values 4j..4j + 4 four times each, for j = 0..4.
const REPEAT4: [[i32; 16]; 4] = {
    let mut idx = [[0; 16]; 4];
    let mut j = 0;
    while j < 4 {
        let mut lane = 0;
        while lane < 16 {
            idx[j][lane] = (4 * j + lane / 4) as i32;
            lane += 1;
        }
        j += 1;
    }
    idx
};

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")]
unsafe fn generic_row(w: &QuantRows, row: &[u8], acts: &QuantizedActs, r: usize) -> f32 {
    let (q, d, dsum) = (acts.row_q(r), acts.row_d(r), acts.row_dsum(r));
    let bl = w.dtype.block_len();
    let blocks = w.blocks_per_row();
    let per_chunk = CHUNK / bl;
    let (mut v, mut s, mut m) = ([0u8; CHUNK], [0f32; CHUNK / GROUP], [0f32; CHUNK / GROUP]);
    let mut acc = _mm512_setzero_ps();
    let mut offset = 0f32;
    for first in (0..blocks).step_by(per_chunk) {
        let count = per_chunk.min(blocks - first);
        for i in 0..count {
            let (vb, sb, mb) = (
                &mut v[i * bl..],
                &mut s[i * bl / GROUP..],
                &mut m[i * bl / GROUP..],
            );
            w.decode_block(row, first + i, vb, sb, mb);
        }
        let e0 = first * bl;
        let len = count * bl;
        let groups = len / GROUP;
        let mut scale = [0f32; CHUNK / GROUP];
        for g in 0..groups {
            scale[g] = s[g] * d[(e0 + GROUP * g) / 32];
            offset += m[g] * dsum[e0 / GROUP + g];
        }
        // SAFETY: `v` and `scale` are CHUNK / CHUNK/16 long; activations are zero-padded to a
        // multiple of 128 past `len`, and the decoded bytes past `len` are never read.
        unsafe {
            let scale = _mm512_loadu_ps(scale.as_ptr());
            for (c, repeat) in REPEAT4.iter().enumerate().take(len.div_ceil(64)) {
                let at = 64 * c;
                let (wv, xv) = if at + 64 <= len {
                    (
                        _mm512_loadu_si512(v.as_ptr().add(at).cast()),
                        _mm512_loadu_si512(q.as_ptr().add(e0 + at).cast()),
                    )
                } else {
                    // A 32-element tail: only the low half.
                    (
                        _mm512_castsi256_si512(_mm256_loadu_si256(v.as_ptr().add(at).cast())),
                        _mm512_castsi256_si512(_mm256_loadu_si256(q.as_ptr().add(e0 + at).cast())),
                    )
                };
                let dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), wv, xv);
                let idx = _mm512_loadu_si512(repeat.as_ptr().cast());
                let lanes = _mm512_permutexvar_ps(idx, scale);
                acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), lanes, acc);
            }
        }
    }
    _mm512_reduce_add_ps(acc) + offset
}
