//! Tests of the CPU matmul: block decoding against `crate::quant`, layouts, and every path
//! (each SIMD level this CPU supports, forced) against an f64 oracle on decoded weights.

mod decode;
mod matmul;
mod timing;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::DType;

/// A seeded rng.
pub(super) fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// `blocks` random blocks of `dtype`: random quant bits, random finite f16 scales.
pub(super) fn random_blocks(dtype: DType, blocks: usize, rng: &mut StdRng) -> Vec<u8> {
    let bb = dtype.block_bytes();
    let mut bytes: Vec<u8> = (0..blocks * bb).map(|_| rng.random()).collect();
    for block in bytes.chunks_exact_mut(bb) {
        for &at in crate::quant::f16_field_offsets(dtype) {
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            let value = half::f16::from_f32(sign * rng.random_range(0.002f32..0.05));
            block[at..at + 2].copy_from_slice(&value.to_le_bytes());
        }
        for &at in crate::quant::e8m0_field_offsets(dtype) {
            block[at] = rng.random_range(crate::quant::TAME_E8M0);
        }
        if dtype == DType::IQ1_M {
            crate::quant::set_iq1_m_scale(block, half::f16::from_f32(rng.random_range(0.002f32..0.05)));
        }
    }
    bytes
}

/// `n × k` random weights of any dtype as GGUF bytes.
pub(super) fn random_weights(dtype: DType, n: usize, k: usize, rng: &mut StdRng) -> Vec<u8> {
    let elems = n * k;
    match dtype {
        DType::F32 => (0..elems).flat_map(|_| rng.random_range(-1.0f32..1.0).to_le_bytes()).collect(),
        DType::F16 => {
            (0..elems).flat_map(|_| half::f16::from_f32(rng.random_range(-1.0f32..1.0)).to_le_bytes()).collect()
        }
        DType::BF16 => {
            (0..elems).flat_map(|_| half::bf16::from_f32(rng.random_range(-1.0f32..1.0)).to_le_bytes()).collect()
        }
        _ => random_blocks(dtype, elems / dtype.block_len(), rng),
    }
}
