//! Every dtype on every supported SIMD level, against an f64 oracle on decoded weights.

use rand::Rng;

use super::{random_weights, rng};
use crate::cpu::matmul::features::SimdLevel;
use crate::cpu::matmul::quantized::act::quantize_acts;
use crate::cpu::matmul::quantized::layout::ActOrder;
use crate::cpu::matmul::{PackedWeights, matmul, matmul_at, quantizes_activations, rounds_to_bf16_at};
use crate::{DType, KernelError};

/// The weights as f32, decoded by `crate::quant` (the oracle's view).
fn decoded(dtype: DType, n: usize, k: usize, bytes: &[u8]) -> Vec<f32> {
    let mut w = vec![f32::NAN; n * k];
    crate::quant::dequantize_row(dtype, bytes, &mut w).unwrap();
    w
}

/// Whether `matmul_at(level, ..)` with `m` rows multiplies 8-bit activations.
fn path_quantizes(dtype: DType, level: SimdLevel, m: usize) -> bool {
    dtype.is_quantized() && crate::cpu::matmul::quantized::quantizes_rows(level, dtype, m)
}

/// The activations as the quantized paths see them (`d · q`), row-major `m × k`.
fn dequantized_acts(level: SimdLevel, x: &[f32], m: usize, k: usize) -> Vec<f32> {
    let kp = k.div_ceil(128) * 128;
    let acts = quantize_acts(level, x, m, k, kp, ActOrder::Natural);
    (0..m)
        .flat_map(|r| (0..k).map(move |e| (r, e)))
        .map(|(r, e)| acts.row_d(r)[e / 32] * acts.row_q(r)[e] as f32)
        .collect()
}

/// Checks one product; `what` names the case in failure messages.
fn check(dtype: DType, level: SimdLevel, m: usize, n: usize, k: usize, seed: u64) {
    let mut rng = rng(seed);
    let bytes = random_weights(dtype, n, k, &mut rng);
    let x: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let w = PackedWeights::new(dtype, n, k, &bytes).unwrap();
    let mut y = vec![f32::NAN; m * n];
    matmul_at(level, &x, m, &w, &mut y).unwrap();
    let wd = decoded(dtype, n, k, &bytes);
    let quantized = path_quantizes(dtype, level, m);
    let bf16_acts = rounds_to_bf16_at(level, dtype, m);
    let xq = if quantized {
        dequantized_acts(level, &x, m, k)
    } else if bf16_acts {
        x.iter().map(|&v| half::bf16::from_f32(v).to_f32()).collect()
    } else {
        x.clone()
    };
    for r in 0..m {
        for j in 0..n {
            let (xr, wr) = (&x[r * k..(r + 1) * k], &wd[j * k..(j + 1) * k]);
            let exact: f64 = xr.iter().zip(wr).map(|(&a, &b)| a as f64 * b as f64).sum();
            let magnitude: f64 = xr.iter().zip(wr).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum();
            let mut tol = 1e-6 * (k as f64).sqrt() * magnitude + 1e-30;
            let got = y[r * n + j] as f64;
            if bf16_acts {
                // The contract: half a bf16 unit per activation, 2⁻⁸·|x|.
                tol += magnitude / 256.0;
            }
            if quantized || bf16_acts {
                // Tighter: exact on the rounded activations up to f32 rounding.
                let xqr = &xq[r * k..(r + 1) * k];
                let on_rounded: f64 = xqr.iter().zip(wr).map(|(&a, &b)| a as f64 * b as f64).sum();
                let tight = 1e-6 * (k as f64).sqrt() * magnitude + 1e-30;
                assert!(
                    (got - on_rounded).abs() <= tight,
                    "{dtype} {level:?} m={m} n={n} k={k} y[{r},{j}] = {got}, on rounded x {on_rounded}"
                );
            }
            if quantized {
                // The contract: (amax of the activation block) / 254 · Σ|w| per block.
                tol += (0..k / 32)
                    .map(|b| {
                        let amax = xr[32 * b..32 * b + 32].iter().fold(0f32, |a, v| a.max(v.abs())) as f64;
                        amax / 254.0 * wr[32 * b..32 * b + 32].iter().map(|v| v.abs() as f64).sum::<f64>()
                    })
                    .sum::<f64>();
            }
            assert!(
                (got - exact).abs() <= tol,
                "{dtype} {level:?} m={m} n={n} k={k} y[{r},{j}] = {got}, oracle {exact}, tol {tol}"
            );
        }
    }
}

/// Row lengths tried per dtype: not multiples of the kernels' tiles or k chunks.
fn lengths(dtype: DType) -> &'static [usize] {
    match dtype.block_len() {
        1 => &[7, 300],
        32 => &[224, 608],
        // NVFP4: an odd number of blocks, so rows end inside a 128-element group.
        64 => &[192, 768],
        _ => &[256, 768],
    }
}

#[test]
fn every_dtype_every_level_matches_oracle() {
    let mut seed = 100;
    for level in SimdLevel::all_supported() {
        for dtype in DType::ALL.into_iter().filter(|&d| d != DType::I32) {
            for &k in lengths(dtype) {
                for (m, n) in [(1, 37), (3, 37), (17, 37), (64, 37), (1, 5), (17, 5), (64, 65), (1, 300), (2, 133)] {
                    seed += 1;
                    check(dtype, level, m, n, k, seed);
                }
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for dtype in [DType::F32, DType::F16, DType::Q4_0, DType::Q4_K, DType::Q6_K, DType::Q5_1] {
        let mut rng = rng(7);
        let (m, n, k) = (20, 70, 512);
        let bytes = random_weights(dtype, n, k, &mut rng);
        let x: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let w = PackedWeights::new(dtype, n, k, &bytes).unwrap();
        for rows in [1, m] {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let mut y = vec![f32::NAN; rows * n];
                pool.install(|| matmul(&x[..rows * k], rows, &w, &mut y)).unwrap();
                y
            };
            let (one, three) = (run(1), run(3));
            assert!(one.iter().all(|v| v.is_finite()));
            assert_eq!(
                one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                three.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    assert!(matches!(PackedWeights::new(DType::I32, 2, 4, &[0; 32]), Err(KernelError::Unsupported { .. })));
    assert!(matches!(PackedWeights::new(DType::Q4_0, 2, 48, &[0; 54]), Err(KernelError::NotBlockMultiple { .. })));
    assert!(matches!(PackedWeights::new(DType::Q4_K, 1, 256, &[0; 143]), Err(KernelError::LengthMismatch { .. })));
    assert!(matches!(PackedWeights::new(DType::F16, 3, 5, &[0; 31]), Err(KernelError::LengthMismatch { .. })));
    let w = PackedWeights::new(DType::Q8_0, 3, 64, &[0; 3 * 68]).unwrap();
    assert_eq!((w.dtype(), w.n(), w.k()), (DType::Q8_0, 3, 64));
    assert!(w.packed_bytes() >= 3 * 68);
    let mut y = vec![0f32; 6];
    assert!(matches!(matmul(&[0.0; 127], 2, &w, &mut y), Err(KernelError::LengthMismatch { what: "x", .. })));
    assert!(matches!(matmul(&[0.0; 128], 2, &w, &mut y[..5]), Err(KernelError::LengthMismatch { what: "y", .. })));
    assert!(matmul(&[0.0; 128], 2, &w, &mut y).is_ok());
    assert!(matmul(&[], 0, &w, &mut []).is_ok());
}

#[test]
fn empty_inner_dimension_gives_zeros() {
    for dtype in [DType::F32, DType::Q4_K] {
        let w = PackedWeights::new(dtype, 3, 0, &[]).unwrap();
        for m in [1, 5] {
            let mut y = vec![f32::NAN; 3 * m];
            matmul(&[], m, &w, &mut y).unwrap();
            assert!(y.iter().all(|&v| v == 0.0));
        }
    }
}

#[test]
fn activation_quantization_is_reported_per_dtype() {
    for dtype in DType::ALL {
        assert_eq!(quantizes_activations(dtype), dtype.is_quantized());
    }
    assert!(["avx512-vnni", "avx2", "neon", "scalar"].contains(&crate::cpu::matmul::simd_level()));
}

#[test]
fn bf16_gemm_rounds_activations_exactly_where_reported() {
    use crate::cpu::matmul::rounds_activations_to_bf16;
    for dtype in DType::ALL.into_iter().filter(|&d| d != DType::BF16) {
        assert!(!rounds_activations_to_bf16(dtype), "{dtype}");
    }
    // x values that bf16 cannot hold: the rounded path's results differ from f32 activations'.
    let (m, n, k) = (5, 40, 64);
    let mut rng = rng(31);
    let bytes = random_weights(DType::BF16, n, k, &mut rng);
    let x: Vec<f32> = (0..m * k).map(|i| 1.0 + (i as f32 + 0.5) / 1024.0).collect();
    let w = PackedWeights::new(DType::BF16, n, k, &bytes).unwrap();
    let mut rounded = vec![f32::NAN; m * n];
    matmul(&x, m, &w, &mut rounded).unwrap();
    let mut single = vec![f32::NAN; n];
    matmul(&x[..k], 1, &w, &mut single).unwrap();
    let differs = rounded[..n].iter().zip(&single).any(|(a, b)| a != b);
    // With f32 activations asked for, the GEMM's first row is the GEMV's up to sum order.
    let mut exact = vec![f32::NAN; m * n];
    crate::cpu::matmul::matmul_f32_activations(&x, m, &w, &mut exact).unwrap();
    for (a, b) in exact[..n].iter().zip(&single) {
        assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
    }
    assert_eq!(differs, rounds_activations_to_bf16(DType::BF16), "GEMM {:?} vs GEMV {:?}", &rounded[..4], &single[..4]);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        rounds_activations_to_bf16(DType::BF16),
        SimdLevel::Avx512Vnni.is_supported() && std::is_x86_feature_detected!("avx512bf16")
    );
}

#[test]
fn realistic_lengths_match_oracle() {
    // Several k chunks of every kernel, and tasks of many rows.
    let mut seed = 500;
    for level in SimdLevel::all_supported() {
        for dtype in [DType::F32, DType::F16, DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K, DType::Q3_K] {
            for m in [1, 20] {
                seed += 1;
                check(dtype, level, m, 70, 4096, seed);
            }
        }
    }
}

#[test]
fn non_finite_activations_give_non_finite_outputs() {
    for level in SimdLevel::all_supported() {
        for dtype in [DType::F32, DType::BF16, DType::Q4_0, DType::Q6_K, DType::Q5_1] {
            let (n, k) = (9, 256);
            let mut rng = rng(77);
            let bytes = random_weights(dtype, n, k, &mut rng);
            let w = PackedWeights::new(dtype, n, k, &bytes).unwrap();
            for m in [1, 5] {
                let mut x: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
                let bad_row = if m == 1 { 0 } else { 1 };
                x[bad_row * k + 3] = f32::NAN;
                let mut y = vec![0f32; m * n];
                matmul_at(level, &x, m, &w, &mut y).unwrap();
                for (r, row) in y.chunks(n).enumerate() {
                    let finite = row.iter().all(|v| v.is_finite());
                    assert_eq!(finite, r != bad_row, "{dtype} {level:?} m={m} row {r}: {row:?}");
                }
            }
        }
    }
}

#[test]
fn packed_weights_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PackedWeights>();
}

#[test]
fn many_rows_match_oracle() {
    // More rows than one GEMM task takes (512 for f32, 1536 for VNNI).
    let mut seed = 900;
    for level in SimdLevel::all_supported() {
        for (dtype, m) in [(DType::F32, 600), (DType::BF16, 530), (DType::Q4_0, 1600), (DType::Q6_K, 600)] {
            seed += 1;
            check(dtype, level, m, 40, 256, seed);
        }
    }
}

#[test]
fn f32_activations_give_the_exact_product_within_f32_rounding() {
    use crate::cpu::matmul::matmul_f32_activations;
    for (i, dtype) in [DType::Q4_0, DType::Q4_1, DType::Q8_0, DType::Q4_K, DType::Q6_K].into_iter().enumerate() {
        for (m, n, k) in [(1, 37, 256), (3, 16, 512), (9, 33, 256)] {
            let mut rng = rng(900 + i as u64);
            let bytes = random_weights(dtype, n, k, &mut rng);
            let x: Vec<f32> = (0..m * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
            let w = PackedWeights::new(dtype, n, k, &bytes).unwrap();
            let mut y = vec![f32::NAN; m * n];
            matmul_f32_activations(&x, m, &w, &mut y).unwrap();
            let wd = decoded(dtype, n, k, &bytes);
            for r in 0..m {
                for j in 0..n {
                    let (xr, wr) = (&x[r * k..(r + 1) * k], &wd[j * k..(j + 1) * k]);
                    let exact: f64 = xr.iter().zip(wr).map(|(&a, &b)| a as f64 * b as f64).sum();
                    let magnitude: f64 = xr.iter().zip(wr).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum();
                    // f32 accumulation only: far inside the 8-bit-activation bound.
                    let tol = 1e-6 * (k as f64).sqrt() * magnitude + 1e-30;
                    let got = y[r * n + j] as f64;
                    assert!((got - exact).abs() <= tol, "{dtype} m={m} ({r},{j}): {got} vs {exact} (tol {tol})");
                }
            }
        }
    }
}
