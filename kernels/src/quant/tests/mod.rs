//! Tests of the quant module across formats: hand-built blocks, digests of an independent
//! decoder's output, round trips and argument errors.

mod code_book;
mod errors;
mod known_answer;
mod reference_digests;
mod round_trip;

/// 64-bit FNV-1a.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// A deterministic byte stream (xorshift64) that scripts in other languages can reproduce.
pub(super) fn xorshift_bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

/// Puts a small finite f16 (|x| in [2^-7, 2^-3)) at each of `offsets` in every block, derived
/// from the bytes already there, so random block bytes decode to finite values.
pub(super) fn tame_f16_fields(bytes: &mut [u8], block_bytes: usize, offsets: &[usize]) {
    for block in bytes.chunks_exact_mut(block_bytes) {
        for &at in offsets {
            let raw = u16::from_le_bytes([block[at], block[at + 1]]);
            let tamed = 0x2000 | (raw & 0x8FFF);
            block[at..at + 2].copy_from_slice(&tamed.to_le_bytes());
        }
    }
}

/// Sets each E8M0 field at `offsets` in every block to `118 + (byte & 7)` (MXFP4 scales
/// 2^-10..=2^-3), so random block bytes decode to values of order 1.
pub(super) fn tame_e8m0_fields(bytes: &mut [u8], block_bytes: usize, offsets: &[usize]) {
    for block in bytes.chunks_exact_mut(block_bytes) {
        for &at in offsets {
            block[at] = 118 + (block[at] & 7);
        }
    }
}
