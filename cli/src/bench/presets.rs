//! Named benchmark lists with real LLM shapes.

use super::case::BenchCase;
use crate::error::{CliError, Result};
use edgehal::DType;

/// Every preset: name, description.
pub const PRESETS: &[(&str, &str)] = &[
    ("quick", "default: GEMV and GEMM at 4096x4096, decode and prefill attention, norms (< 1 min)"),
    (
        "llama-matmul",
        "Llama-3-8B projections 4096x4096, 14336x4096, 4096x14336 at m=1 and 512; f32, bf16, q4_0, q8_0, q4_k, q6_k",
    ),
    ("attention", "decode (1 query, 4096 cached) and 512-token causal prefill; 32/8 heads, d=128"),
    ("ops", "element-wise ops, norms, rope and dequantize at LLM sizes"),
    ("small", "tiny shapes of every op, a sanity check that takes seconds"),
    (
        "gpu",
        "the GPU targets: f16 matmul 4096^3, GEMV 4096x14336 and 14336x4096 (q4_0, q8_0, q4_k), decode attention at 4096",
    ),
];

/// The preset used when neither `--preset` nor `--shape` is given.
pub const DEFAULT: &str = "quick";

/// The cases of preset `name`.
pub fn cases(name: &str) -> Result<Vec<BenchCase>> {
    let list: Vec<(&str, DType, Vec<usize>)> = match name {
        "quick" => quick(),
        "llama-matmul" => llama_matmul(),
        "attention" => attention(),
        "ops" => ops(),
        "small" => small(),
        "gpu" => gpu(),
        _ => return Err(CliError::unknown("preset", name, PRESETS.iter().map(|p| p.0))),
    };
    list.into_iter().map(|(op, dtype, dims)| BenchCase::new(op, Some(dtype), dims)).collect()
}

fn quick() -> Vec<(&'static str, DType, Vec<usize>)> {
    vec![
        ("matmul", DType::Q4_0, vec![1, 4096, 4096]),
        ("matmul", DType::Q8_0, vec![1, 4096, 4096]),
        ("matmul", DType::Q4_K, vec![1, 4096, 4096]),
        ("matmul", DType::Q4_0, vec![128, 4096, 4096]),
        ("matmul", DType::F32, vec![128, 1024, 1024]),
        ("attention", DType::F16, vec![32, 8, 1, 4096, 128]),
        ("attention", DType::F16, vec![32, 8, 128, 128, 128]),
        ("rms_norm", DType::F32, vec![64, 4096]),
        ("softmax", DType::F32, vec![256, 4096]),
        ("rope", DType::F32, vec![1, 32, 64, 128]),
        ("swiglu", DType::F32, vec![64, 14336]),
    ]
}

fn llama_matmul() -> Vec<(&'static str, DType, Vec<usize>)> {
    let mut v = vec![
        ("matmul", DType::F32, vec![512, 4096, 4096]),
        ("matmul", DType::BF16, vec![512, 4096, 4096]),
        ("matmul", DType::BF16, vec![1, 14336, 4096]),
    ];
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K] {
        for (n, k) in [(4096, 4096), (14336, 4096), (4096, 14336)] {
            for m in [1, 512] {
                v.push(("matmul", dtype, vec![m, n, k]));
            }
        }
    }
    v
}

fn attention() -> Vec<(&'static str, DType, Vec<usize>)> {
    vec![
        ("attention", DType::F16, vec![32, 8, 1, 4096, 128]),
        ("attention", DType::F32, vec![32, 8, 1, 4096, 128]),
        ("attention", DType::F16, vec![32, 8, 512, 512, 128]),
    ]
}

fn ops() -> Vec<(&'static str, DType, Vec<usize>)> {
    vec![
        ("rms_norm", DType::F32, vec![512, 4096]),
        ("layer_norm", DType::F32, vec![512, 4096]),
        ("softmax", DType::F32, vec![32 * 512, 512]),
        ("rope", DType::F32, vec![1, 32, 512, 128]),
        ("silu", DType::F32, vec![512, 14336]),
        ("gelu", DType::F32, vec![512, 14336]),
        ("swiglu", DType::F32, vec![512, 14336]),
        ("add", DType::F32, vec![512, 4096]),
        ("mul", DType::F32, vec![512, 4096]),
        ("cast", DType::F16, vec![512, 4096]),
        ("permute", DType::F32, vec![1, 32, 512, 128]),
        ("dequantize", DType::Q4_K, vec![4096, 4096]),
        ("get_rows", DType::Q4_0, vec![32000, 4096, 512]),
    ]
}

fn gpu() -> Vec<(&'static str, DType, Vec<usize>)> {
    let mut v = vec![("matmul", DType::F16, vec![4096, 4096, 4096])];
    for dtype in [DType::Q4_0, DType::Q8_0, DType::Q4_K] {
        v.push(("matmul", dtype, vec![1, 4096, 14336]));
        v.push(("matmul", dtype, vec![1, 14336, 4096]));
    }
    v.push(("attention", DType::F16, vec![32, 8, 1, 4096, 128]));
    v.push(("attention", DType::F32, vec![32, 8, 1, 4096, 128]));
    v.push(("matmul", DType::Q4_0, vec![512, 4096, 4096]));
    v
}

fn small() -> Vec<(&'static str, DType, Vec<usize>)> {
    vec![
        ("matmul", DType::F32, vec![4, 64, 64]),
        ("matmul", DType::Q4_0, vec![1, 64, 256]),
        ("matmul", DType::Q4_K, vec![2, 32, 256]),
        ("attention", DType::F16, vec![4, 2, 1, 64, 32]),
        ("attention", DType::F32, vec![4, 2, 16, 16, 32]),
        ("dequantize", DType::Q8_0, vec![16, 256]),
        ("get_rows", DType::Q6_K, vec![16, 256, 4]),
        ("rms_norm", DType::F32, vec![4, 256]),
        ("layer_norm", DType::F32, vec![4, 256]),
        ("softmax", DType::F32, vec![4, 256]),
        ("rope", DType::F32, vec![1, 4, 8, 32]),
        ("silu", DType::F32, vec![1024]),
        ("gelu", DType::F32, vec![1024]),
        ("swiglu", DType::F32, vec![4, 256]),
        ("add", DType::F32, vec![4, 256]),
        ("mul", DType::F32, vec![4, 256]),
        ("cast", DType::F16, vec![4, 256]),
        ("permute", DType::F32, vec![1, 4, 8, 32]),
        ("copy", DType::F32, vec![4, 256]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid() {
        for (name, _) in PRESETS {
            let cases = cases(name).unwrap();
            assert!(!cases.is_empty(), "{name}");
        }
        assert_eq!(cases("llama-matmul").unwrap().len(), 27);
        assert!(cases("huge").unwrap_err().to_string().contains("known: quick, llama-matmul"));
    }

    #[test]
    fn small_cases_build() {
        for case in cases("small").unwrap() {
            case.build(1).unwrap_or_else(|e| panic!("{}: {e}", case.label()));
        }
    }
}
