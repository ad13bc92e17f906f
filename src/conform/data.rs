//! Random case data: uniform floats (never all zeros) and quant blocks with sane scales.

use crate::error::Result;
use crate::kernels::{DType, quant};
use crate::tensor::Tensor;
use half::f16;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// Largest quant tensor made by quantizing floats (the K-quant and IQ4_NL quantizers search
/// scales and take seconds for LLM-sized matrices); bigger ones get random blocks.
pub(crate) const QUANTIZE_MAX_ELEMS: usize = 1 << 20;

/// The random source of one case, seeded from the suite seed and the case id.
pub(crate) struct CaseRng(StdRng);

impl CaseRng {
    /// A generator for the case `id` of a suite seeded with `seed`.
    pub(crate) fn new(seed: u64, id: &str) -> Self {
        // FNV-1a: the case's data depend on its id, not on which cases run before it.
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        CaseRng(StdRng::seed_from_u64(seed ^ hash))
    }

    /// `len` values uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..len).map(|_| self.0.random_range(lo..hi)).collect()
    }

    /// A uniform integer in `[lo, hi)`.
    pub(crate) fn index(&mut self, lo: usize, hi: usize) -> usize {
        self.0.random_range(lo..hi)
    }

    /// A uniform float in `[lo, hi)`.
    pub(crate) fn float(&mut self, lo: f32, hi: f32) -> f32 {
        self.0.random_range(lo..hi)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        self.0.fill_bytes(&mut b);
        b
    }
}

/// A `[rows, cols]` tensor of `dtype` with random contents and its exact f32 decoding.
///
/// Floats: uniform in [-1, 1) rounded to the dtype. Quant formats, up to [`QUANTIZE_MAX_ELEMS`]
/// elements and where a quantizer exists: uniform values quantized with `quant::quantize`
/// (realistic blocks). Otherwise: random block bytes whose f16 scales are set so that decoded
/// values are of order 1 (random bytes there could be NaN or huge); these reach every bit
/// pattern of quants and sub-block scales, and cost nothing to make at LLM sizes.
pub(crate) fn random_tensor(rng: &mut CaseRng, dtype: DType, shape: &[usize]) -> Result<(Tensor, Vec<f32>)> {
    let elems: usize = shape.iter().product();
    let quantize = quant::can_quantize(dtype) && elems <= QUANTIZE_MAX_ELEMS;
    let tensor = if !dtype.is_quantized() || quantize {
        Tensor::from_f32_as(dtype, shape.to_vec(), &rng.uniform(elems, -1.0, 1.0))?
    } else {
        Tensor::from_bytes(dtype, shape.to_vec(), &random_blocks(rng, dtype, elems / dtype.block_len()))?
    };
    let decoded = tensor.to_f32_vec()?;
    Ok((tensor, decoded))
}

/// An f32 tensor of uniform values in `[lo, hi)`, with its values.
pub(crate) fn uniform_f32(rng: &mut CaseRng, shape: &[usize], lo: f32, hi: f32) -> Result<(Tensor, Vec<f32>)> {
    let values = rng.uniform(shape.iter().product(), lo, hi);
    Ok((Tensor::from_f32(shape.to_vec(), &values)?, values))
}

/// `blocks` random blocks of a quant format, with every f16 scale field sane.
pub(crate) fn random_blocks(rng: &mut CaseRng, dtype: DType, blocks: usize) -> Vec<u8> {
    let size = dtype.block_bytes();
    let mut bytes = rng.bytes(blocks * size);
    // (offset, typical magnitude, may be negative) of each f16 field; magnitudes make the largest
    // decoded values about 1 given the format's quant and sub-scale ranges.
    let fields: &[(usize, f32, bool)] = match dtype {
        DType::Q4_0 => &[(0, 1.0 / 8.0, true)],
        DType::Q4_1 => &[(0, 1.0 / 15.0, false), (2, 0.75, true)],
        DType::Q5_0 => &[(0, 1.0 / 16.0, true)],
        DType::Q5_1 => &[(0, 1.0 / 31.0, false), (2, 0.75, true)],
        DType::Q8_0 | DType::IQ4_NL => &[(0, 1.0 / 127.0, true)],
        DType::IQ4_XS => &[(0, 1.0 / 4064.0, true)],
        DType::TQ1_0 => &[(52, 1.0, true)],
        DType::TQ2_0 => &[(64, 1.0, true)],
        DType::IQ2_XXS | DType::IQ2_XS | DType::IQ2_S => &[(0, 1.0 / 167.0, false)],
        DType::IQ3_XXS | DType::IQ3_S => &[(0, 1.0 / 480.0, false)],
        DType::IQ1_S => &[(0, 1.0 / 17.0, false)],
        DType::Q2_K => &[(80, 1.0 / 45.0, false), (82, 1.0 / 30.0, false)],
        DType::Q3_K => &[(108, 1.0 / 128.0, true)],
        DType::Q4_K => &[(0, 1.0 / 945.0, false), (2, 1.0 / 126.0, false)],
        DType::Q5_K => &[(0, 1.0 / 1953.0, false), (2, 1.0 / 126.0, false)],
        DType::Q6_K => &[(208, 1.0 / 4096.0, true)],
        _ => &[],
    };
    for block in bytes.chunks_exact_mut(size) {
        for &(at, magnitude, signed) in fields {
            let mut v = magnitude * rng.float(0.5, 1.5);
            if signed && rng.index(0, 2) == 1 {
                v = -v;
            }
            block[at..at + 2].copy_from_slice(&f16::from_f32(v).to_bits().to_le_bytes());
        }
        if dtype == DType::IQ1_M {
            quant::set_iq1_m_scale(block, f16::from_f32(rng.float(0.5, 1.5) / 17.0));
        }
        for (offsets, tame) in [
            (quant::e8m0_field_offsets(dtype), quant::TAME_E8M0),
            (quant::ue4m3_field_offsets(dtype), quant::TAME_UE4M3),
        ] {
            for &at in offsets {
                block[at] = rng.index(usize::from(*tame.start()), usize::from(*tame.end()) + 1) as u8;
            }
        }
    }
    bytes
}

/// Values widened to f64.
pub(crate) fn widen(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_blocks_decode_to_finite_values_of_order_one() {
        let mut rng = CaseRng::new(1, "test");
        for dtype in DType::QUANTIZED {
            let bytes = random_blocks(&mut rng, dtype, 2048 / dtype.block_len());
            let values = quant::dequantize(dtype, &bytes, 2048).unwrap();
            let amax = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!(values.iter().all(|v| v.is_finite()), "{dtype}");
            assert!(amax > 0.1 && amax < 8.0, "{dtype}: amax {amax}");
            assert!(values.iter().filter(|&&v| v != 0.0).count() > values.len() / 2, "{dtype}: mostly zeros");
        }
    }

    #[test]
    fn seeds_depend_on_the_case_id_only() {
        let a = CaseRng::new(7, "matmul/f32/odd").uniform(4, -1.0, 1.0);
        let b = CaseRng::new(7, "matmul/f32/odd").uniform(4, -1.0, 1.0);
        let c = CaseRng::new(7, "matmul/f32/tiny").uniform(4, -1.0, 1.0);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
