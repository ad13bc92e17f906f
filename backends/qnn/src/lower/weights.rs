//! Weights as QNN static tensor bytes: f32 or f16, dequantized from any ggml format.

use crate::desc::QnnDType;
use edgehal::{DType, Result, Tensor};
use half::f16;

/// `values` as little-endian bytes of `dtype` (f32 or f16; other dtypes take f32 bytes).
pub(crate) fn floats_as(values: &[f32], dtype: QnnDType) -> Vec<u8> {
    match dtype {
        QnnDType::F16 => values.iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// The weight's elements as `dtype` bytes: unchanged when the dtypes already agree, else decoded
/// exactly to f32 (every ggml block format decodes exactly) and, for f16, rounded once.
pub(crate) fn to_float_bytes(w: &Tensor, dtype: QnnDType) -> Result<Vec<u8>> {
    match (w.dtype(), dtype) {
        (DType::F32, QnnDType::F32) | (DType::F16, QnnDType::F16) => Ok(w.bytes().to_vec()),
        _ => Ok(floats_as(&w.to_f32_vec()?, dtype)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_q8_0_weight_decodes_to_its_exact_values() {
        let values: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) * 0.25).collect();
        let q = Tensor::from_f32_as(DType::Q8_0, [2, 32], &values).unwrap();
        let want = q.to_f32_vec().unwrap();
        let bytes = to_float_bytes(&q, QnnDType::F32).unwrap();
        let got: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!(got, want);
        let half = to_float_bytes(&q, QnnDType::F16).unwrap();
        assert_eq!(half.len(), 128);
        let back = f16::from_le_bytes([half[2], half[3]]).to_f32();
        assert!((back - want[1]).abs() <= want[1].abs() / 1024.0);
    }

    #[test]
    fn matching_float_weights_pass_unchanged() {
        let t = Tensor::from_f32([3], &[1.0, -2.5, 3.25]).unwrap();
        assert_eq!(to_float_bytes(&t, QnnDType::F32).unwrap(), t.bytes());
    }
}
