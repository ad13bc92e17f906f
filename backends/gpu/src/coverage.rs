//! Which conformance cases a GPU backend may decline: those of quant formats with no WGSL decoder
//! in `edgehal_shaders::formats` (or, for casts to a format, no encoder). Both GPU backends'
//! conformance tests allow exactly these, so a format that has kernels and is declined still fails.

use edgehal::DType;

/// Whether conformance case `id` (`op/dtypes/variant`, dtypes written like `w=q4_0,x=f32` or
/// `f32->q4_0`) names a quant format the GPU kernels cannot decode, or is a cast to one they
/// cannot encode.
pub fn case_lacks_gpu_format(id: &str) -> bool {
    let formats = edgehal_shaders::formats::all();
    let decodes = |name: &str| formats.iter().any(|f| f.name == name);
    let encodes = |name: &str| formats.iter().any(|f| f.name == name && f.encode.is_some());
    let quant = |name: &str| DType::from_name(name).is_some_and(|d| d.is_quantized());
    let dtypes = id.split('/').nth(1).unwrap_or("");
    let undecoded = dtypes.split([',', '=', '-', '>']).any(|n| quant(n) && !decodes(n));
    let unencoded_cast =
        id.starts_with("cast/") && dtypes.split("->").nth(1).is_some_and(|to| quant(to) && !encodes(to));
    undecoded || unencoded_cast
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_formats_without_kernels_may_be_declined() {
        assert!(case_lacks_gpu_format("cast/f32->mxfp4/odd"), "MXFP4 decodes but has no encoder");
        assert!(case_lacks_gpu_format("cast/f32->iq2_xxs/odd"), "the lattice formats have no encoder");
        assert!(!case_lacks_gpu_format("matmul/w=iq2_xxs,x=f32/tiny"));
        assert!(!case_lacks_gpu_format("dequantize/tq1_0->f16/odd"));
        assert!(!case_lacks_gpu_format("cast/f32->tq2_0/odd"), "TQ2_0 has a GPU encoder");
        assert!(!case_lacks_gpu_format("cast/mxfp4->f32/odd"));
        assert!(!case_lacks_gpu_format("matmul/w=q4_0,x=f32/tiny"));
        assert!(!case_lacks_gpu_format("matmul/w=iq4_xs,x=f16/gemv"));
        assert!(!case_lacks_gpu_format("silu/f32/odd"));
    }
}
