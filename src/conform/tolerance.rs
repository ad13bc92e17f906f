//! How far a backend's result may be from the f64 reference: the rule is part of the product.
//!
//! Every bound is per output element and is computed from the case's own inputs, so it scales
//! with the data. `ε` is the unit of the arithmetic a backend may use
//! ([`ComputePrecision::eps`]): 2⁻²³ for f32, 2⁻¹⁰ where a backend may round inputs, products or
//! sums to f16, 2⁻⁷ for bf16. `c` = [`SAFETY`] = 4. [`TINY`] (the smallest normal f32) is added to
//! every bound so that a backend flushing subnormal results to zero passes; NaN and infinities
//! are never "close": they must match the reference's class exactly.
//!
//! | op | bound on `\|got − ref\|` |
//! |---|---|
//! | matmul `y = x·wᵀ`, depth `k` | `c·ε·√k·Σ\|x\|\|w\|` (+ `Σ_l amax₂₅₆(x)_l/127·\|w_l\|` when activations may be 8-bit, + `2⁻⁸·Σ\|x\|\|w\|` when they may be bf16) |
//! | attention | `c·ε·(2·Δs + √kv_len + 8)·Σ_j p_j·\|v_j\|`, `Δs = √d·scale·max_j Σ\|q\|\|k_j\| + max\|mask\| + softcap` |
//! | softmax | `c·ε·(√d + \|x_j − max\| + 8)·p_j` (+ [`EXP_UNDERFLOW`]) |
//! | rms_norm | `c·ε·(√d + 8)·\|ref\|` |
//! | layer_norm | `c·ε·((√d + 8)·\|ref − b\| + (\|x\| + √d·mean\|x\|)·\|w\|/σ + \|b\|)` |
//! | rope, pair `i` at angle `θ` | `c·ε·((2 + i)·\|θ\| + 8)·hypot(x₀, x₁)` |
//! | silu | `8·ε·\|ref\|` + [`EXP_UNDERFLOW`] |
//! | swiglu | `8·ε·\|ref\|` + [`EXP_UNDERFLOW`]`·\|up\|` |
//! | gelu | `8·ε·\|ref\| + 4·ε·\|x\|` (the tanh/erf form cancels for negative `x`) |
//! | add, mul | `ε·\|ref\|` |
//! | dequantize, get_rows (quant) | `8·ε·amax(block)`; plain float sources are exact |
//! | cast / store to f16, bf16 | half a unit of the target: `2⁻¹¹·\|x\|` (+ 2⁻¹⁴ for f16 flushing), `2⁻⁸·\|x\|` |
//! | cast to a quant format | `amax(block)·step(format)` (Q8_0: 1/127) |
//! | reshape, permute, copy, kv_write (f32), f16/bf16 → f32 | exact |
//!
//! Where the bounds come from:
//!
//! - **Dot products.** Summing `k` products in f32 errs by at most `k·u·Σ|x||w|`; with blocked or
//!   pairwise sums and random rounding the error grows like `√k`, and `c = 4` with `ε = 2u` leaves
//!   about eight standard deviations. `Σ|x||w|` is the reference matmul of `|x|` and `|w|`.
//! - **8-bit activations.** Backends that quantize `x` per block (Q8_0: 32 wide, Q8_K: 256 wide)
//!   err per element by at most half a step, `amax/254`, plus the f16 rounding of the block scale
//!   (`amax/2048`). The bound takes `amax/127` over the 256-wide window holding the element
//!   (which contains any 32-wide block), weighted by `|w|`: exactly the reference matmul of the
//!   window-amax vector with `|w|`. Which weight dtypes allow it is the backend's
//!   [`ToleranceProfile::quantized_activations`].
//! - **bf16 activations.** Backends that round `x` to bf16 (to nearest) before a bf16 dot
//!   product (AVX-512 BF16, AMX-BF16) err per element by at most half a unit, `2⁻⁸·|x|`; the
//!   bound adds `2⁻⁸·Σ|x||w|`. Which weight dtypes allow it is
//!   [`ToleranceProfile::bf16_activations`].
//! - **Attention.** A score error `δs` changes each softmax weight by a factor `e^(δs − Σp·δs)`,
//!   so the output moves by at most `2·max|δs|·Σ p_j|v_j|`; `Σ p_j|v_j|` is the reference attention
//!   with `|v|`. The `√kv_len` term covers the weighted sum and online-softmax rescaling, `8` the
//!   exp and division.
//! - **Softmax.** Rounding `x_j − max` moves `exp` by `ε·|x_j − max|` relatively; the sum adds
//!   `√d·ε`, exp and division a few ulps.
//! - **Norms.** The mean square (or variance) errs by `√d·ε` relatively, the rest by a few ulps;
//!   layer norm's centring errs by `ε·(|x| + √d·mean|x|)` absolutely before scaling by `|w|/σ`.
//! - **Rope.** Angles `p·θ^(−2i/d)` computed in f32 (often by repeated multiplication, as ggml)
//!   err by about `i·ε·|angle|`; a rotation error `δ` moves the pair by `δ·hypot(x₀, x₁)`.
//! - **Exp underflow.** `e^x` overflows or underflows f32 beyond `|x| ≈ 88`, where an f32
//!   kernel legitimately returns 0 for `silu(x) = x/(1 + e^(−x))` (true value below `89·e^(−88.7)
//!   ≈ 3·10⁻³⁷`) or for a softmax weight; [`EXP_UNDERFLOW`] = 10⁻³⁶ absorbs that.
//! - **Decoding.** Quant blocks decode as `d·scale·q − dmin·min`; computed in another order it
//!   may differ by a few ulps of the block's magnitude.

use crate::Backend;
use crate::kernels::{AttentionParams, AttentionShape, DType, RopeMode, RopeParams, reference};
use serde::{Deserialize, Serialize};

/// `c`: how many "standard" error bounds a result may be off.
pub const SAFETY: f64 = 4.0;
/// Added to every bound: the smallest normal f32, so flushing subnormals to zero passes.
pub const TINY: f64 = f32::MIN_POSITIVE as f64;
/// The smallest normal f16: added to bounds of f16 results (flush-to-zero of f16 subnormals).
pub const TINY_F16: f64 = 6.103_515_625e-5;
/// Results this small may come out as 0 where `exp` leaves f32's range (silu, softmax).
pub const EXP_UNDERFLOW: f64 = 1e-36;
/// Relative bound of the transcendental element-wise ops (silu, gelu, swiglu), in units of `ε`.
pub const ELEMENTWISE_ULPS: f64 = 8.0;
/// Width of the window whose largest `|x|` bounds 8-bit activation quantization.
pub const ACTIVATION_WINDOW: usize = 256;
/// Half a unit of bf16 relative to the value: the most rounding to bf16 moves it.
pub const BF16_HALF_UNIT: f64 = 1.0 / 256.0;

/// How a backend may round activations inside a matmul.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ActivationRounding {
    /// Activations are used as given (f32).
    Exact,
    /// Rounded to bf16, to nearest.
    Bf16,
    /// Quantized to 8 bits per block of at most [`ACTIVATION_WINDOW`].
    Int8,
}

/// The arithmetic a backend may use inside its kernels.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputePrecision {
    /// Inputs, products and sums stay f32 (or better).
    F32,
    /// Inputs, products or partial sums may be rounded to f16.
    F16,
    /// Inputs, products or partial sums may be rounded to bf16.
    BF16,
}

impl ComputePrecision {
    /// The unit `ε` of the tolerance rule: the distance from 1 to the next number.
    pub fn eps(self) -> f64 {
        match self {
            ComputePrecision::F32 => f64::from(f32::EPSILON),
            ComputePrecision::F16 => 2f64.powi(-10),
            ComputePrecision::BF16 => 2f64.powi(-7),
        }
    }
}

/// What a backend declares about its arithmetic; it selects which bounds apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToleranceProfile {
    /// The precision of the backend's arithmetic.
    pub compute: ComputePrecision,
    /// Weight dtypes for which the backend may quantize `x` to 8 bits per block (≤ 256 wide)
    /// inside matmul.
    #[serde(with = "dtype_names")]
    pub quantized_activations: Vec<DType>,
    /// Weight dtypes for which the backend may round `x` to bf16 inside matmul.
    #[serde(with = "dtype_names", default)]
    pub bf16_activations: Vec<DType>,
}

impl Default for ToleranceProfile {
    /// f32 arithmetic; 8-bit activations allowed with every quant weight format.
    fn default() -> Self {
        ToleranceProfile {
            compute: ComputePrecision::F32,
            quantized_activations: DType::QUANTIZED.to_vec(),
            bf16_activations: Vec::new(),
        }
    }
}

impl ToleranceProfile {
    /// f32 arithmetic and no activation quantization: the tightest profile.
    pub fn strict() -> Self {
        ToleranceProfile {
            compute: ComputePrecision::F32,
            quantized_activations: Vec::new(),
            bf16_activations: Vec::new(),
        }
    }

    /// What the built-in CPU kernels do on this CPU: f32 arithmetic, activation quantization
    /// and bf16 rounding exactly where `edgehal_kernels::cpu::matmul::quantizes_activations`
    /// and `rounds_activations_to_bf16` say so.
    pub fn cpu() -> Self {
        use crate::kernels::cpu::matmul::{quantizes_activations, rounds_activations_to_bf16};
        let weights = || DType::ALL.into_iter().filter(|&d| d != DType::I32);
        ToleranceProfile {
            compute: ComputePrecision::F32,
            quantized_activations: weights().filter(|&d| quantizes_activations(d)).collect(),
            bf16_activations: weights().filter(|&d| rounds_activations_to_bf16(d)).collect(),
        }
    }

    /// The profile [`run`](super::run) uses when the suite sets none: [`ToleranceProfile::cpu`]
    /// for the built-in CPU backend (name `cpu`), else [`ToleranceProfile::default`].
    pub fn for_backend(backend: &dyn Backend) -> Self {
        backend.tolerance_profile()
    }

    /// `ε` of this profile's arithmetic.
    pub fn eps(&self) -> f64 {
        self.compute.eps()
    }

    /// Whether matmul with weights of `w` may quantize activations.
    pub fn quantizes_activations(&self, w: DType) -> bool {
        self.quantized_activations.contains(&w)
    }

    /// How matmul with weights of `w` may round activations (8-bit quantization wins where a
    /// profile lists both).
    pub fn activation_rounding(&self, w: DType) -> ActivationRounding {
        if self.quantizes_activations(w) {
            ActivationRounding::Int8
        } else if self.bf16_activations.contains(&w) {
            ActivationRounding::Bf16
        } else {
            ActivationRounding::Exact
        }
    }
}

/// Serializes dtypes by their names (`q4_k`), as the CLI writes them.
mod dtype_names {
    use crate::kernels::DType;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(dtypes: &[DType], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(dtypes.iter().map(|d| d.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DType>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names
            .iter()
            .map(|n| DType::from_name(n).ok_or_else(|| D::Error::custom(format!("unknown dtype `{n}`"))))
            .collect()
    }
}

/// Largest magnitude, ignoring NaN (0 for an empty or all-NaN slice).
fn amax(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Matmul bounds for `y[m, n] = x[m, k]·w[n, k]ᵀ` (see the module doc).
pub fn matmul(x: &[f32], w: &[f32], m: usize, k: usize, n: usize, eps: f64, rounding: ActivationRounding) -> Vec<f64> {
    let quantized_activations = rounding == ActivationRounding::Int8;
    let bf16 = if rounding == ActivationRounding::Bf16 { BF16_HALF_UNIT } else { 0.0 };
    let abs_w: Vec<f32> = w.iter().map(|v| v.abs()).collect();
    // Rows 0..m: |x|; rows m..2m (with 8-bit activations): the window amax / 127 of each element.
    let mut rows: Vec<f32> = x.iter().map(|v| v.abs()).collect();
    if quantized_activations && k > 0 {
        for row in x.chunks_exact(k) {
            for window in row.chunks(ACTIVATION_WINDOW) {
                let step = amax(window) / 127.0;
                rows.extend(std::iter::repeat_n(step, window.len()));
            }
        }
    }
    let sums = reference::matmul(&rows, &abs_w, rows.len() / k.max(1), k, n);
    let dot = SAFETY * eps * (k as f64).sqrt();
    (0..m * n)
        .map(|i| {
            let activation = if quantized_activations { sums[m * n + i] } else { 0.0 };
            (dot + bf16) * sums[i] + activation + TINY
        })
        .collect()
}

/// Attention bounds (see the module doc); inputs as for `reference::attention`.
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    mask: Option<&[f32]>,
    shape: &AttentionShape,
    params: &AttentionParams,
    eps: f64,
) -> Vec<f64> {
    let abs_v: Vec<f32> = v.iter().map(|x| x.abs()).collect();
    let weighted_abs_v = reference::attention(q, k, &abs_v, mask, shape, params);
    let s = shape;
    let d = s.head_dim;
    let mut tol = vec![0.0; weighted_abs_v.len()];
    for (row, out) in tol.chunks_exact_mut(d.max(1)).enumerate() {
        let i = row % s.seq_q;
        let h = (row / s.seq_q) % s.n_head;
        let b = row / (s.seq_q * s.n_head);
        let q_row = &q[row * d..(row + 1) * d];
        let kv_start = (b * s.n_kv_head + s.kv_head_of(h)) * s.kv_capacity;
        let keys = if params.causal { s.q_position(i) + 1 } else { s.kv_len };
        let max_abs_dot = (0..keys)
            .map(|j| q_row.iter().zip(&k[(kv_start + j) * d..][..d]).map(|(a, b)| f64::from(a.abs() * b.abs())).sum())
            .fold(0.0f64, f64::max);
        let max_mask = mask.map_or(0.0, |m| {
            m[i * s.kv_len..(i + 1) * s.kv_len]
                .iter()
                .filter(|x| x.is_finite())
                .fold(0.0f64, |a, x| a.max(f64::from(x.abs())))
        });
        let score_err = (d as f64).sqrt() * f64::from(params.scale.abs()) * max_abs_dot
            + max_mask
            + params.softcap.map_or(0.0, f64::from);
        let factor = SAFETY * eps * (2.0 * score_err + (s.kv_len as f64).sqrt() + 8.0);
        for (t, wv) in out.iter_mut().zip(&weighted_abs_v[row * d..(row + 1) * d]) {
            *t = factor * wv + TINY;
        }
    }
    tol
}

/// Softmax bounds for rows of length `d`, given the reference `p`.
pub fn softmax(x: &[f32], d: usize, p: &[f64], eps: f64) -> Vec<f64> {
    let mut tol = Vec::with_capacity(x.len());
    for (row, p_row) in x.chunks_exact(d).zip(p.chunks_exact(d)) {
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        for (&v, &pj) in row.iter().zip(p_row) {
            let t = if pj == 0.0 {
                0.0
            } else {
                SAFETY * eps * ((d as f64).sqrt() + (f64::from(v) - max).abs() + 8.0) * pj.abs()
            };
            tol.push(t + EXP_UNDERFLOW);
        }
    }
    tol
}

/// RMS-norm bounds for rows of length `d`, given the reference.
pub fn rms_norm(d: usize, reference: &[f64], eps: f64) -> Vec<f64> {
    let factor = SAFETY * eps * ((d as f64).sqrt() + 8.0);
    reference.iter().map(|r| factor * r.abs() + TINY).collect()
}

/// Layer-norm bounds for rows of length `d`, given the reference.
pub fn layer_norm(
    x: &[f32],
    d: usize,
    norm_eps: f32,
    weight: Option<&[f32]>,
    bias: Option<&[f32]>,
    reference: &[f64],
    eps: f64,
) -> Vec<f64> {
    let sqrt_d = (d as f64).sqrt();
    let mut tol = Vec::with_capacity(x.len());
    for (row, r_row) in x.chunks_exact(d).zip(reference.chunks_exact(d)) {
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / d as f64;
        let var = row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / d as f64;
        let inv_std = 1.0 / (var + f64::from(norm_eps)).sqrt();
        let mean_abs = row.iter().map(|&v| f64::from(v.abs())).sum::<f64>() / d as f64;
        for (c, (&v, &r)) in row.iter().zip(r_row).enumerate() {
            let w = weight.map_or(1.0, |w| f64::from(w[c].abs()));
            let b = bias.map_or(0.0, |b| f64::from(b[c]));
            let centring = (f64::from(v.abs()) + sqrt_d * mean_abs) * inv_std * w;
            tol.push(SAFETY * eps * ((sqrt_d + 8.0) * (r - b).abs() + centring + b.abs()) + TINY);
        }
    }
    tol
}

/// Rope bounds for `x [batch, n_head, seq, head_dim]` (see the module doc).
pub fn rope(x: &[f32], seq: usize, head_dim: usize, params: &RopeParams, eps: f64) -> Vec<f64> {
    let half = head_dim / 2;
    let mut tol = vec![0.0; x.len()];
    for (r, (row, t_row)) in x.chunks_exact(head_dim).zip(tol.chunks_exact_mut(head_dim)).enumerate() {
        let position = (params.offset + r % seq) as f64;
        for i in 0..half {
            let (i0, i1) = match params.mode {
                RopeMode::Normal => (2 * i, 2 * i + 1),
                RopeMode::Neox => (i, i + half),
            };
            let angle = position * f64::from(params.theta).powf(-2.0 * i as f64 / head_dim as f64);
            let radius = f64::from(row[i0]).hypot(f64::from(row[i1]));
            let t = SAFETY * eps * ((2.0 + i as f64) * angle + 8.0) * radius + TINY;
            t_row[i0] = t;
            t_row[i1] = t;
        }
    }
    tol
}

/// `ulps·ε·|ref| + TINY`: correctly rounded element-wise ops (add, mul: 1 ulp).
pub fn relative(reference: &[f64], ulps: f64, eps: f64) -> Vec<f64> {
    reference.iter().map(|r| ulps * eps * r.abs() + TINY).collect()
}

/// SiLU bounds: 8 ulps of the result, and [`EXP_UNDERFLOW`].
pub fn silu(reference: &[f64], eps: f64) -> Vec<f64> {
    reference.iter().map(|r| ELEMENTWISE_ULPS * eps * r.abs() + EXP_UNDERFLOW).collect()
}

/// SwiGLU bounds: 8 ulps of the result, and [`EXP_UNDERFLOW`] scaled by `|up|`.
pub fn swiglu(up: &[f32], reference: &[f64], eps: f64) -> Vec<f64> {
    up.iter()
        .zip(reference)
        .map(|(u, r)| ELEMENTWISE_ULPS * eps * r.abs() + EXP_UNDERFLOW * f64::from(u.abs()) + TINY)
        .collect()
}

/// GELU bounds: 8 ulps of the result plus 4 of `|x|` (the cancellation for negative `x`).
pub fn gelu(x: &[f32], reference: &[f64], eps: f64) -> Vec<f64> {
    x.iter()
        .zip(reference)
        .map(|(&v, r)| eps * (ELEMENTWISE_ULPS * r.abs() + 4.0 * f64::from(v.abs())) + TINY)
        .collect()
}

/// Bounds for storing exact values in `to`: half a unit of f16/bf16 (plus flushing), 0 for f32.
pub fn rounding_to(to: DType, exact: &[f64]) -> Vec<f64> {
    let (half_unit, tiny) = match to {
        DType::F16 => (2f64.powi(-11), TINY_F16),
        DType::BF16 => (2f64.powi(-8), TINY),
        _ => (0.0, 0.0),
    };
    exact.iter().map(|v| half_unit * v.abs() + tiny).collect()
}

/// Bounds for values decoded from `dtype` blocks and delivered as `to` (f32 or f16): a few ulps
/// of each block's magnitude for quant formats, exact for plain floats, plus `to`'s rounding.
pub fn decoded(dtype: DType, decoded: &[f32], row_len: usize, to: DType, eps: f64) -> Vec<f64> {
    let mut tol = rounding_to(to, &decoded.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    if dtype.is_quantized() {
        for (row, t_row) in decoded.chunks(row_len.max(1)).zip(tol.chunks_mut(row_len.max(1))) {
            for (block, t_block) in row.chunks(dtype.block_len()).zip(t_row.chunks_mut(dtype.block_len())) {
                let bound = 8.0 * eps * f64::from(amax(block)) + TINY;
                t_block.iter_mut().for_each(|t| *t += bound);
            }
        }
    }
    tol
}

/// The worst quantization step of a block format relative to its block's largest magnitude.
pub fn quantization_step(dtype: DType) -> f64 {
    match dtype {
        DType::Q8_0 => 1.0 / 127.0,
        DType::Q6_K => 1.0 / 31.0,
        DType::Q5_0 | DType::Q5_1 | DType::Q5_K => 1.0 / 15.0,
        DType::Q4_0 | DType::Q4_1 | DType::Q4_K | DType::IQ4_NL | DType::IQ4_XS => 1.0 / 7.0,
        DType::Q3_K => 1.0 / 3.0,
        // E2M1 levels 0, ½, 1, 1½, 2, 3, 4, 6 (× 2^floor(log2 amax)): steps up to half the
        // block's largest magnitude.
        DType::MXFP4 => 0.5,
        // The same levels times ue4m3(amax / 6) per 16 elements: steps up to amax / 3.
        DType::NVFP4 => 1.0 / 3.0,
        // Levels −d, 0, d with d = amax.
        DType::Q2_K | DType::TQ1_0 | DType::TQ2_0 => 1.0,
        _ => 0.0,
    }
}

/// Bounds for quantizing `x` (rows of `row_len`) to `dtype`: `amax(block)·step(dtype)`.
pub fn quantized(dtype: DType, x: &[f32], row_len: usize) -> Vec<f64> {
    let step = quantization_step(dtype);
    let mut tol = vec![0.0; x.len()];
    for (row, t_row) in x.chunks(row_len.max(1)).zip(tol.chunks_mut(row_len.max(1))) {
        for (block, t_block) in row.chunks(dtype.block_len()).zip(t_row.chunks_mut(dtype.block_len())) {
            let bound = step * f64::from(amax(block)) + TINY;
            t_block.iter_mut().for_each(|t| *t = bound);
        }
    }
    tol
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_bound_grows_with_sqrt_k_and_activation_term_uses_window_amax() {
        // x = [1, -2, 0.5, 0.25], w = [1, 1, -1, 1]: Σ|x||w| = 3.75.
        let x = [1.0, -2.0, 0.5, 0.25];
        let w = [1.0, 1.0, -1.0, 1.0];
        let eps = f64::from(f32::EPSILON);
        let t = matmul(&x, &w, 1, 4, 1, eps, ActivationRounding::Exact);
        assert!((t[0] - (SAFETY * eps * 2.0 * 3.75 + TINY)).abs() < 1e-18);
        // One window of 4 with amax 2: the activation term is 4 · (2/127) · 1.
        let tq = matmul(&x, &w, 1, 4, 1, eps, ActivationRounding::Int8);
        let act = f64::from(2.0f32 / 127.0) * 4.0;
        assert!((tq[0] - t[0] - act).abs() < 1e-12, "{} vs {}", tq[0] - t[0], act);
        // bf16 activations: half a unit of each, 2⁻⁸ · 3.75.
        let tb = matmul(&x, &w, 1, 4, 1, eps, ActivationRounding::Bf16);
        assert!((tb[0] - t[0] - 3.75 / 256.0).abs() < 1e-15, "{}", tb[0] - t[0]);
    }

    #[test]
    fn activation_windows_are_256_wide() {
        // k = 512: the first window's amax is 1, the second's 100.
        let mut x = vec![1.0f32; 512];
        x[300] = 100.0;
        let w = vec![1.0f32; 512];
        let t = matmul(&x, &w, 1, 512, 1, 0.0, ActivationRounding::Int8);
        let want = 256.0 * f64::from(1.0f32 / 127.0) + 256.0 * f64::from(100.0f32 / 127.0);
        assert!((t[0] - want).abs() < 1e-9, "{} vs {want}", t[0]);
    }

    #[test]
    fn softmax_masked_entries_must_be_exact() {
        let x = [0.0, f32::NEG_INFINITY];
        let t = softmax(&x, 2, &[1.0, 0.0], 1e-7);
        assert_eq!(t[1], EXP_UNDERFLOW);
        assert!(t[0] > 1e-6);
    }

    #[test]
    fn decoded_float_is_exact_and_f16_rounding_is_half_a_unit() {
        assert_eq!(decoded(DType::F16, &[1.5, -2.0], 2, DType::F32, 1e-7), vec![0.0, 0.0]);
        let t = decoded(DType::F32, &[1.0], 1, DType::F16, 1e-7);
        assert_eq!(t, vec![2f64.powi(-11) + TINY_F16]);
    }

    #[test]
    fn profile_serializes_dtype_names() {
        let p = ToleranceProfile {
            compute: ComputePrecision::F16,
            quantized_activations: vec![DType::Q4_K],
            bf16_activations: vec![DType::BF16],
        };
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"compute":"f16","quantized_activations":["q4_k"],"bf16_activations":["bf16"]}"#);
        assert_eq!(serde_json::from_str::<ToleranceProfile>(&json).unwrap(), p);
        // Profiles written before bf16 activations existed still load.
        let old = r#"{"compute":"f32","quantized_activations":[]}"#;
        assert!(serde_json::from_str::<ToleranceProfile>(old).unwrap().bf16_activations.is_empty());
    }
}
