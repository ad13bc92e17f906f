//! Seeded random tensors for benchmarks, in any dtype. Quant formats get random block bytes whose
//! f16 scale fields are set to small finite values, so every block decodes to finite numbers.

use edgehal::{DType, Tensor};
use half::{bf16, f16};

/// A SplitMix64 generator: fast, seedable, good enough for benchmark data.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform value in `[-1, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    /// A uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn fill_bytes(&mut self, out: &mut [u8]) {
        let mut chunks = out.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let bytes = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&bytes[..rest.len()]);
    }
}

/// A tensor of `dtype` and `shape` filled with seeded random data (i32: values in `0..i32_bound`).
pub fn tensor(dtype: DType, shape: &[usize], rng: &mut Rng, i32_bound: usize) -> edgehal::Result<Tensor> {
    let elems: usize = shape.iter().product();
    let mut t = Tensor::zeros(edgehal::TensorDesc::new(dtype, shape.to_vec()))?;
    let bytes = t.bytes_mut();
    match dtype {
        DType::F32 => bytes.chunks_exact_mut(4).for_each(|c| c.copy_from_slice(&rng.unit().to_le_bytes())),
        DType::F16 => {
            bytes.chunks_exact_mut(2).for_each(|c| c.copy_from_slice(&f16::from_f32(rng.unit()).to_le_bytes()))
        }
        DType::BF16 => {
            bytes.chunks_exact_mut(2).for_each(|c| c.copy_from_slice(&bf16::from_f32(rng.unit()).to_le_bytes()))
        }
        DType::I32 => bytes
            .chunks_exact_mut(4)
            .for_each(|c| c.copy_from_slice(&(rng.below(i32_bound.max(1)) as i32).to_le_bytes())),
        quant => {
            rng.fill_bytes(bytes);
            for block in bytes.chunks_exact_mut(quant.block_bytes()) {
                for &at in edgehal::kernels::quant::f16_field_offsets(quant) {
                    let scale = f16::from_f32(0.001 + 0.01 * (rng.unit() + 1.0));
                    block[at..at + 2].copy_from_slice(&scale.to_le_bytes());
                }
                use edgehal::kernels::quant::{TAME_E8M0, TAME_UE4M3, e8m0_field_offsets, ue4m3_field_offsets};
                for (offsets, tame) in
                    [(e8m0_field_offsets(quant), TAME_E8M0), (ue4m3_field_offsets(quant), TAME_UE4M3)]
                {
                    for &at in offsets {
                        block[at] = tame.start() + rng.below(usize::from(tame.end() - tame.start()) + 1) as u8;
                    }
                }
                if quant == DType::IQ1_M {
                    edgehal::kernels::quant::set_iq1_m_scale(block, f16::from_f32(0.001 + 0.01 * (rng.unit() + 1.0)));
                }
            }
        }
    }
    debug_assert_eq!(t.desc().elems(), elems);
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_decodes_to_finite_values() {
        let mut rng = Rng::new(7);
        for dtype in DType::ALL {
            let t = tensor(dtype, &[3, 512], &mut rng, 10).unwrap();
            let v = t.to_f32_vec().unwrap();
            assert!(v.iter().all(|x| x.is_finite()), "{dtype}");
            assert!(v.iter().any(|&x| x != 0.0), "{dtype}");
            if dtype == DType::I32 {
                assert!(v.iter().all(|&x| (0.0..10.0).contains(&x)));
            }
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = tensor(DType::Q4_K, &[2, 256], &mut Rng::new(1), 0).unwrap();
        let b = tensor(DType::Q4_K, &[2, 256], &mut Rng::new(1), 0).unwrap();
        let c = tensor(DType::Q4_K, &[2, 256], &mut Rng::new(2), 0).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
