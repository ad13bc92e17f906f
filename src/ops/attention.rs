//! attention: scaled dot-product with causal mask, additive mask, GQA and a KV cache.

use super::{OpCost, Position, bytes_of, expect_dtype, expect_rank};
use crate::error::{Error, Result};
use crate::tensor::TensorDesc;
use edgehal_kernels::{AttentionParams, AttentionShape, DType};

/// Attention parameters.
///
/// Inputs: `q [b, hq, s, d]` f32; `k, v [b, hkv, capacity, d]` f32 or f16 (the cache); optional
/// additive `mask [s, kv_len]` f32. Query row `i` is at position `kv_len - s + i`, where
/// `kv_len = past + s` (`past` the positions already cached) or the whole capacity when `past` is
/// `None`. Query head `h` reads KV head `h / (hq / hkv)`.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionOp {
    /// Multiplies `q·k`; `None` means `1/sqrt(d)`.
    pub scale: Option<f32>,
    /// Mask keys after the query's position.
    pub causal: bool,
    /// Tanh soft-capping of scores (Gemma 2).
    pub softcap: Option<f32>,
    /// Positions cached before this call; `None`: all `capacity` rows of k and v are valid.
    pub past: Option<Position>,
}

impl Default for AttentionOp {
    fn default() -> Self {
        AttentionOp { scale: None, causal: true, softcap: None, past: None }
    }
}

impl AttentionOp {
    pub(super) fn infer(&self, inputs: &[&TensorDesc]) -> Result<TensorDesc> {
        let (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        expect_dtype("attention", "q", q, &[DType::F32])?;
        expect_dtype("attention", "k", k, &[DType::F32, DType::F16])?;
        expect_dtype("attention", "v", v, &[k.dtype])?;
        for (name, t) in [("q", q), ("k", k), ("v", v)] {
            expect_rank("attention", name, t, 4)?;
        }
        let [b, hq, s, d] = [q.shape[0], q.shape[1], q.shape[2], q.shape[3]];
        let [bk, hkv, cap, dk] = [k.shape[0], k.shape[1], k.shape[2], k.shape[3]];
        if k.shape != v.shape || bk != b || dk != d {
            return Err(Error::shape(
                "attention",
                format!(
                    "q {:?}, k {:?}, v {:?}: k and v must be [b, hkv, t, d] matching q [b, hq, s, d]",
                    q.shape, k.shape, v.shape
                ),
            ));
        }
        if hkv == 0 || hq % hkv != 0 {
            return Err(Error::shape(
                "attention",
                format!("q has {hq} heads, k/v {hkv}: q heads must be a multiple of kv heads"),
            ));
        }
        if let Some(Position::Fixed(p)) = self.past
            && p.checked_add(s).is_none_or(|end| end > cap)
        {
            return Err(Error::shape(
                "attention",
                format!("past {p} + s {s} exceeds the cache capacity {cap} of k {:?}", k.shape),
            ));
        }
        if self.past.is_none() && s > cap {
            return Err(Error::shape("attention", format!("q has {s} rows but k/v only {cap} positions")));
        }
        if let Some(scale) = self.scale
            && !scale.is_finite()
        {
            return Err(Error::param("attention", "scale", scale, "must be finite"));
        }
        if let Some(c) = self.softcap
            && !(c.is_finite() && c > 0.0)
        {
            return Err(Error::param("attention", "softcap", c, "must be finite and positive"));
        }
        if let Some(mask) = inputs.get(3) {
            expect_dtype("attention", "mask", mask, &[DType::F32])?;
            let kv_len = match self.past {
                None => cap,
                // Checked above: p + s <= cap.
                Some(Position::Fixed(p)) => p + s,
                Some(Position::Run) => {
                    return Err(Error::param("attention", "past", "run", "an additive mask needs a fixed KV length"));
                }
            };
            if mask.shape != [s, kv_len] {
                return Err(Error::shape(
                    "attention",
                    format!("mask must be [s, kv_len] = [{s}, {kv_len}], got {:?}", mask.shape),
                ));
            }
        }
        Ok(TensorDesc::new(DType::F32, q.shape.clone()))
    }

    /// The kernel geometry for inputs `q` and `k` at run position `position`.
    pub fn shape(&self, q: &TensorDesc, k: &TensorDesc, position: usize) -> AttentionShape {
        let (s, cap) = (q.shape[2], k.shape[2]);
        // Saturating: a position past the cache gives kv_len > kv_capacity, which every executor refuses.
        let kv_len = self.past.map_or(cap, |p| p.resolve(position).saturating_add(s));
        AttentionShape {
            batch: q.shape[0],
            n_head: q.shape[1],
            n_kv_head: k.shape[1],
            seq_q: s,
            kv_len,
            kv_capacity: cap,
            head_dim: q.shape[3],
        }
    }

    /// The kernel parameters for head dimension `head_dim`.
    pub fn params(&self, head_dim: usize) -> AttentionParams {
        AttentionParams {
            scale: self.scale.unwrap_or(1.0 / (head_dim as f32).sqrt()),
            causal: self.causal,
            softcap: self.softcap,
        }
    }

    pub(super) fn cost(&self, inputs: &[&TensorDesc], output: &TensorDesc, position: usize) -> OpCost {
        let sh = self.shape(inputs[0], inputs[1], position);
        // Query-key pairs actually scored: with a causal mask row i sees keys 0..=kv_len - s + i.
        let visible_per_head = if self.causal {
            let first = (sh.kv_len - sh.seq_q + 1) as u64;
            let s = sh.seq_q as u64;
            s * first + s * (s - 1) / 2
        } else {
            (sh.seq_q * sh.kv_len) as u64
        };
        let pairs = (sh.batch * sh.n_head) as u64 * visible_per_head;
        let kv_row = (sh.head_dim * inputs[1].dtype.block_bytes()) as u64;
        let kv_read = 2 * (sh.batch * sh.n_kv_head * sh.kv_len) as u64 * kv_row;
        let mask = inputs.get(3).map_or(0, |m| bytes_of(m));
        OpCost {
            flops: pairs * (4 * sh.head_dim as u64 + 5),
            bytes_read: bytes_of(inputs[0]) + kv_read + mask,
            bytes_written: bytes_of(output),
        }
    }
}
