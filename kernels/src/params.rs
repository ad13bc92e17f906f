//! Parameter types shared by the reference and the fast kernels.

/// The geometry of one attention call.
///
/// Layouts (row-major): `q [batch, n_head, seq_q, head_dim]`, `k, v [batch, n_kv_head, kv_capacity,
/// head_dim]` of which the first `kv_len` positions are valid, output like `q`. Query row `i` sits at
/// absolute position `kv_len - seq_q + i`, so a decode step with a cache of `kv_len` entries (the new
/// one included) is `seq_q = 1`. Query head `h` reads KV head `h / (n_head / n_kv_head)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AttentionShape {
    /// Batch size.
    pub batch: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads; divides `n_head`.
    pub n_kv_head: usize,
    /// Query rows per head.
    pub seq_q: usize,
    /// Valid key/value positions; `>= seq_q`.
    pub kv_len: usize,
    /// Positions allocated per KV head (the row stride of the cache in rows); `>= kv_len`.
    pub kv_capacity: usize,
    /// Head dimension.
    pub head_dim: usize,
}

impl AttentionShape {
    /// Elements in `q` (and in the output).
    pub fn q_elems(&self) -> usize {
        self.batch * self.n_head * self.seq_q * self.head_dim
    }

    /// Elements in each of `k` and `v` (the whole capacity).
    pub fn kv_elems(&self) -> usize {
        self.batch * self.n_kv_head * self.kv_capacity * self.head_dim
    }

    /// The absolute position of query row `i`.
    pub fn q_position(&self, i: usize) -> usize {
        self.kv_len - self.seq_q + i
    }

    /// The KV head read by query head `h`.
    pub fn kv_head_of(&self, h: usize) -> usize {
        h / (self.n_head / self.n_kv_head)
    }
}

/// The knobs of scaled dot-product attention.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct AttentionParams {
    /// Multiplies `q·k` (usually `1/sqrt(head_dim)`).
    pub scale: f32,
    /// Mask out keys at positions after the query's position.
    pub causal: bool,
    /// If set, scores become `softcap * tanh(score / softcap)` before masking (Gemma 2).
    pub softcap: Option<f32>,
}

/// How rope pairs the elements of a head.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum RopeMode {
    /// Adjacent pairs `(x[2i], x[2i+1])` (ggml mode 0, Llama in GGUF).
    Normal,
    /// Rotate-half pairs `(x[i], x[i + d/2])` (ggml mode 2, GPT-NeoX, Qwen).
    Neox,
}

/// Rotary position embedding parameters.
///
/// Layout `x [batch, n_head, seq, head_dim]`; row `s` is at position `offset + s`. Pair `i` (of
/// `head_dim / 2`) rotates by `position * theta^(-2i / head_dim)`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RopeParams {
    /// The frequency base (10000 for Llama 2, 500000 for Llama 3).
    pub theta: f32,
    /// Pairing mode.
    pub mode: RopeMode,
    /// Position of the first row.
    pub offset: usize,
}

/// Which GELU formula.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum GeluKind {
    /// `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
    Tanh,
    /// `0.5 x (1 + erf(x / sqrt(2)))`.
    Erf,
}

/// Element-wise binary operations with numpy broadcasting.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum BinaryKind {
    /// `a + b`.
    Add,
    /// `a * b`.
    Mul,
}

/// The shape two operands broadcast to under numpy's rules (dimensions aligned from the right,
/// each pair equal or one of them 1), or `None` if they do not broadcast.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() { 1 } else { a[i - (rank - a.len())] };
        let db = if i < rank - b.len() { 1 } else { b[i - (rank - b.len())] };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Element strides of `shape` as seen from a broadcast `out_shape`: 0 where the operand is broadcast.
pub fn broadcast_strides(shape: &[usize], out_shape: &[usize]) -> Vec<usize> {
    let rank = out_shape.len();
    let mut strides = vec![0; rank];
    let mut stride = 1;
    for i in (0..shape.len()).rev() {
        let o = i + rank - shape.len();
        strides[o] = if shape[i] == 1 && out_shape[o] != 1 { 0 } else { stride };
        stride *= shape[i];
    }
    strides
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        assert_eq!(broadcast_shape(&[2, 3, 4], &[4]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shape(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shape(&[2, 3], &[4]), None);
        assert_eq!(broadcast_strides(&[3, 1], &[2, 3, 4]), vec![0, 1, 0]);
        assert_eq!(broadcast_strides(&[2, 3, 4], &[2, 3, 4]), vec![12, 4, 1]);
    }
}
