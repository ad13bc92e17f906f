//! Block decoding, split layouts and activation quantization.

use super::{random_blocks, random_weights, rng};
use crate::DType;
use crate::cpu::matmul::features::SimdLevel;
use crate::cpu::matmul::quantized::QuantRows;
use crate::cpu::matmul::quantized::act::quantize_acts;
use crate::cpu::matmul::quantized::blocks::{GROUP, decode_gguf_block};
use crate::cpu::matmul::quantized::layout::{ActOrder, QuantLayout};

#[test]
fn integer_decoding_matches_dequantize_row() {
    let mut rng = rng(1);
    for dtype in DType::QUANTIZED {
        let (bl, bb) = (dtype.block_len(), dtype.block_bytes());
        let bytes = random_blocks(dtype, 64, &mut rng);
        let mut expected = vec![f32::NAN; 64 * bl];
        crate::quant::dequantize_row(dtype, &bytes, &mut expected).unwrap();
        let (mut v, mut s, mut m) = ([0u8; 256], [f32::NAN; 16], [f32::NAN; 16]);
        for (b, block) in bytes.chunks_exact(bb).enumerate() {
            decode_gguf_block(dtype, block, &mut v, &mut s, &mut m);
            for i in 0..bl {
                let (sg, mg) = (s[i / GROUP], m[i / GROUP]);
                let got = sg * v[i] as f32 + mg;
                let want = expected[b * bl + i];
                // Exact in real arithmetic; each side may round its f32 products once.
                let tol = 2.0 * f32::EPSILON * (sg.abs() * 255.0 + mg.abs());
                assert!((got - want).abs() <= tol, "{dtype} block {b} elem {i}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn split_layouts_decode_like_gguf_blocks() {
    let mut rng = rng(2);
    for dtype in DType::QUANTIZED {
        let (bl, bb) = (dtype.block_len(), dtype.block_bytes());
        // k = 7 blocks of 32 (padded to 256 for Q4_0/Q8_0) or 3 super-blocks.
        let k = if bl == 32 { 224 } else { 768 };
        let n = 3;
        let bytes = random_weights(dtype, n, k, &mut rng);
        let packed = QuantRows::pack(dtype, n, k, &bytes);
        assert_eq!(packed.layout, QuantLayout::for_dtype(dtype));
        assert!(packed.kp >= k && packed.kp.is_multiple_of(bl));
        let (mut v1, mut s1, mut m1) = ([0u8; 256], [0f32; 16], [0f32; 16]);
        let (mut v2, mut s2, mut m2) = ([0u8; 256], [0f32; 16], [0f32; 16]);
        for j in 0..n {
            let row = packed.row(j);
            for b in 0..packed.blocks_per_row() {
                packed.decode_block(row, b, &mut v2, &mut s2, &mut m2);
                if b < k / bl {
                    let at = (j * k / bl + b) * bb;
                    decode_gguf_block(dtype, &bytes[at..at + bb], &mut v1, &mut s1, &mut m1);
                    assert_eq!(v1[..bl], v2[..bl], "{dtype} row {j} block {b}");
                    assert_eq!(s1[..bl / 16], s2[..bl / 16], "{dtype} row {j} block {b}");
                    assert_eq!(m1[..bl / 16], m2[..bl / 16], "{dtype} row {j} block {b}");
                } else {
                    // Padding decodes to zero weights.
                    for i in 0..bl {
                        assert_eq!(s2[i / 16] * v2[i] as f32 + m2[i / 16], 0.0, "{dtype} padding");
                    }
                }
            }
        }
    }
}

#[test]
fn activation_quantization_error_and_sums() {
    let mut rng = rng(3);
    let (rows, k, kp) = (3, 224, 256);
    let x: Vec<f32> = (0..rows * k).map(|_| rand::Rng::random_range(&mut rng, -3.0f32..3.0)).collect();
    for level in SimdLevel::all_supported() {
        for order in [ActOrder::Natural, ActOrder::LoHi32, ActOrder::LoHi16] {
            let acts = quantize_acts(level, &x, rows, k, kp, order);
            for r in 0..rows {
                let (q, d, dsum, dsum32) = (acts.row_q(r), acts.row_d(r), acts.row_dsum(r), acts.row_dsum32(r));
                // Undo the order.
                let mut natural = vec![i8::MIN; kp];
                for (p, &value) in q.iter().enumerate() {
                    natural[128 * (p / 128) + order.element_at(p % 128)] = value;
                }
                for b in 0..kp / 32 {
                    let block = &natural[32 * b..32 * b + 32];
                    if b >= k / 32 {
                        assert!(block.iter().all(|&v| v == 0) && d[b] == 0.0 && dsum32[b] == 0.0);
                        continue;
                    }
                    let xb = &x[r * k + 32 * b..r * k + 32 * b + 32];
                    let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
                    assert!((d[b] - amax / 127.0).abs() <= 1e-6 * amax, "{level:?} {order:?} scale");
                    for (xv, &qv) in xb.iter().zip(block) {
                        assert!(qv != i8::MIN, "{order:?}: position lost");
                        let err = (xv - d[b] * qv as f32).abs();
                        assert!(err <= amax / 254.0 * (1.0 + 1e-5), "{level:?} {order:?}: {xv} -> {qv}");
                    }
                    for h in 0..2 {
                        let sum: i32 = block[16 * h..16 * h + 16].iter().map(|&v| v as i32).sum();
                        assert_eq!(dsum[2 * b + h], d[b] * sum as f32);
                    }
                    let sum: i32 = block.iter().map(|&v| v as i32).sum();
                    assert_eq!(dsum32[b], d[b] * sum as f32);
                }
            }
        }
    }
}

#[test]
fn act_orders_are_permutations() {
    for order in [ActOrder::Natural, ActOrder::LoHi32, ActOrder::LoHi16] {
        let mut seen = [false; 128];
        for p in 0..128 {
            seen[order.element_at(p)] = true;
        }
        assert!(seen.iter().all(|&s| s), "{order:?}");
    }
}

#[test]
fn avx512_register_decoding_matches_block_decoding() {
    #[cfg(target_arch = "x86_64")]
    {
        use crate::cpu::matmul::quantized::decode_avx512::decode128;
        use std::arch::x86_64::*;
        if !SimdLevel::Avx512Vnni.is_supported() {
            return;
        }
        let mut rng = rng(4);
        let decodable =
            DType::QUANTIZED.into_iter().filter(|&d| crate::cpu::matmul::quantized::decode_avx512::has_decoder(d));
        for dtype in decodable {
            let (n, k) = (2, if dtype.block_len() == 32 { 224 } else { 512 });
            let bytes = random_weights(dtype, n, k, &mut rng);
            let packed = QuantRows::pack(dtype, n, k, &bytes);
            let bl = dtype.block_len();
            let (mut v, mut s, mut m) = (vec![0u8; packed.kp], [0f32; 16], [0f32; 16]);
            for j in 0..n {
                let row = packed.row(j);
                for b in 0..packed.blocks_per_row() {
                    packed.decode_block(row, b, &mut v[b * bl..(b + 1) * bl], &mut s, &mut m);
                }
                for g in 0..packed.kp / 128 {
                    let mut got = [0u8; 128];
                    // SAFETY: AVX-512 checked above; g < kp / 128; 128 bytes of room.
                    unsafe {
                        let halves = decode128(&packed, row.as_ptr(), g);
                        _mm512_storeu_si512(got.as_mut_ptr().cast(), halves[0]);
                        _mm512_storeu_si512(got.as_mut_ptr().add(64).cast(), halves[1]);
                    }
                    assert_eq!(got[..], v[128 * g..128 * g + 128], "{dtype} row {j} group {g}");
                }
            }
        }
    }
}
