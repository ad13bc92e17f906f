//! Argument checking of the public functions.

use crate::quant::{can_quantize, dequantize, dequantize_row, quantize, quantize_row};
use crate::{DType, KernelError};

#[test]
fn dequantize_rejects_partial_blocks() {
    let err = dequantize_row(DType::Q4_0, &[0; 18], &mut [f32::NAN; 31]).unwrap_err();
    assert_eq!(err, KernelError::NotBlockMultiple { dtype: DType::Q4_0, elems: 31, block: 32 });
    let err = dequantize(DType::Q4_K, &[0; 144], 255).unwrap_err();
    assert_eq!(err, KernelError::NotBlockMultiple { dtype: DType::Q4_K, elems: 255, block: 256 });
}

#[test]
fn dequantize_rejects_wrong_source_length() {
    for dtype in DType::ALL.into_iter().filter(|d| *d != DType::I32) {
        let elems = 2 * dtype.block_len();
        let bytes = dtype.bytes_for(elems).unwrap();
        for got in [bytes - 1, bytes + 1, 0] {
            let err = dequantize_row(dtype, &vec![0; got], &mut vec![f32::NAN; elems]).unwrap_err();
            assert_eq!(
                err,
                KernelError::LengthMismatch { what: "src", expected: bytes, got, unit: "bytes" },
                "{dtype}"
            );
        }
    }
}

#[test]
fn quantize_rejects_partial_blocks_and_wrong_destination() {
    let src = vec![0.5f32; 64];
    let err = quantize_row(DType::Q8_0, &src[..40], &mut [0; 34]).unwrap_err();
    assert_eq!(err, KernelError::NotBlockMultiple { dtype: DType::Q8_0, elems: 40, block: 32 });
    let err = quantize(DType::Q8_0, &src[..40]).unwrap_err();
    assert_eq!(err, KernelError::NotBlockMultiple { dtype: DType::Q8_0, elems: 40, block: 32 });
    let err = quantize_row(DType::Q8_0, &src, &mut [0; 67]).unwrap_err();
    assert_eq!(err, KernelError::LengthMismatch { what: "dst", expected: 68, got: 67, unit: "bytes" });
    let err = quantize_row(DType::F16, &src, &mut [0; 129]).unwrap_err();
    assert_eq!(err, KernelError::LengthMismatch { what: "dst", expected: 128, got: 129, unit: "bytes" });
}

#[test]
fn i32_is_unsupported() {
    let err = dequantize_row(DType::I32, &[0; 8], &mut [f32::NAN; 2]).unwrap_err();
    assert_eq!(err, KernelError::Unsupported { op: "dequantize_row", dtype: DType::I32 });
    let err = quantize_row(DType::I32, &[1.0; 2], &mut [0; 8]).unwrap_err();
    assert!(matches!(err, KernelError::Unsupported { dtype: DType::I32, .. }));
    assert!(quantize(DType::I32, &[1.0; 2]).is_err());
    assert!(!can_quantize(DType::I32));
}

#[test]
fn empty_rows_are_fine() {
    for dtype in DType::ALL.into_iter().filter(|d| *d != DType::I32) {
        assert_eq!(dequantize(dtype, &[], 0), Ok(vec![]), "{dtype}");
        if can_quantize(dtype) {
            assert_eq!(quantize(dtype, &[]), Ok(vec![]), "{dtype}");
        }
    }
}

#[test]
fn non_finite_and_extreme_inputs_do_not_panic() {
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3e38, -3e38, 1e-40, 0.0, 1.0];
    let x: Vec<f32> = (0..1024).map(|i| specials[(i * 7 + i / 13) % specials.len()]).collect();
    for dtype in DType::ALL.into_iter().filter(|d| can_quantize(*d)) {
        let bytes = quantize(dtype, &x).unwrap();
        assert_eq!(dequantize(dtype, &bytes, x.len()).map(|v| v.len()), Ok(x.len()), "{dtype}");
        // A block of one huge value among ordinary ones.
        let mut y = vec![0.25f32; 256];
        y[17] = 3e38;
        let bytes = quantize(dtype, &y).unwrap();
        assert!(dequantize(dtype, &bytes, y.len()).is_ok(), "{dtype}");
    }
}

#[test]
fn arbitrary_block_bytes_decode_without_panic() {
    // Every byte value in every position, including f16 NaN/inf scales.
    for dtype in DType::QUANTIZED {
        let bytes: Vec<u8> = (0..256 * dtype.block_bytes()).map(|i| (i * 131 + i / 256) as u8).collect();
        let out = dequantize(dtype, &bytes, 256 * dtype.block_len()).unwrap();
        assert_eq!(out.len(), 256 * dtype.block_len());
    }
}
