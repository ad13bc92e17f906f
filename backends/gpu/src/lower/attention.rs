//! Lowering of attention and kv_write (module `attention.*`, entries `flash`, `split`, `merge`;
//! module `kv_cache.base`, entry `kv_write`).
//!
//! Attention takes one of two paths. Prefill (many query rows per KV head) runs the tiled flash
//! kernel: one workgroup per 16 rows of a KV head. Decode (few rows) runs the split-KV kernel: the
//! capacity is cut into a fixed number of splits chosen here (so workgroup counts never depend on
//! the run position; a split past `kv_len` writes an empty partial), each workgroup streams its
//! slice of K and V, and a merge dispatch combines the splits' partials by log-sum-exp.

use super::{Cx, u32_word};
use crate::caps::Caps;
use crate::program::{Buf, Word};
use edgehal::{AttentionOp, DType, Error, Op, Position, Result, TensorDesc};
use edgehal_shaders::Variant;

/// Threads per workgroup of the attention kernels.
const THREADS: u32 = 128;
/// Rows per flash workgroup and the flash kernel's largest head dimension.
const FLASH_ROWS: usize = 16;
const FLASH_MAX_DIM: usize = 128;
/// Rows per split workgroup, keys per pass, the split kernel's largest head dimension.
const SPLIT_ROWS: usize = 8;
const SPLIT_KEYS: usize = 16;
const SPLIT_MAX_DIM: usize = 256;
/// Most splits the merge kernel combines.
const MAX_SPLITS: usize = 64;
/// Fewest keys per split (fewer do not pay for the merge).
const MIN_SPLIT_KEYS: usize = 32;
/// Workgroups the split kernel aims for, to fill a GPU with a single decode row.
const TARGET_WORKGROUPS: usize = 512;
/// Workgroup memory of the `attention.*` modules and of the `attention.wide.*` modules (32 keys
/// per flash tile), bytes.
const WORKGROUP_BYTES: u32 = 3288 * 4;
const WIDE_WORKGROUP_BYTES: u32 = 6768 * 4;
/// Lanes per key of the split kernel: the subgroup variant needs subgroups at least this wide.
const SPLIT_LANES: u32 = 8;

/// Whether the attention kernels take this node.
pub(crate) fn supports(op: &Op, inputs: &[&TensorDesc], output: &TensorDesc, caps: &Caps) -> Result<(), String> {
    match op {
        Op::Attention(_) => supports_attention(inputs, output, caps),
        Op::KvWrite { .. } => {
            let (cache, new) = (inputs[0], inputs[1]);
            if !matches!(cache.dtype, DType::F32 | DType::F16) || new.dtype != DType::F32 {
                return Err(format!("kv_write of {} rows into a {} cache is not implemented", new.dtype, cache.dtype));
            }
            let elems = cache.elems().max(new.elems());
            if elems > u32::MAX as usize / 2 {
                return Err(format!("kv_write: {elems} elements overflow the kernel's 32-bit indices"));
            }
            Ok(())
        }
        _ => Err(format!("{} is not an attention-family op", op.name())),
    }
}

fn supports_attention(inputs: &[&TensorDesc], output: &TensorDesc, caps: &Caps) -> Result<(), String> {
    let (q, k) = (inputs[0], inputs[1]);
    if q.dtype != DType::F32 || !matches!(k.dtype, DType::F32 | DType::F16) || inputs[2].dtype != k.dtype {
        return Err(format!("attention with q {} and a {} cache is not implemented", q.dtype, k.dtype));
    }
    if inputs.get(3).is_some_and(|m| m.dtype != DType::F32) {
        return Err("attention masks must be f32".into());
    }
    let d = q.shape[3];
    if d > SPLIT_MAX_DIM {
        return Err(format!("head dim {d} is over the GPU attention kernels' limit of {SPLIT_MAX_DIM}"));
    }
    if caps.max_workgroup_storage < WORKGROUP_BYTES || caps.max_invocations < THREADS {
        return Err(format!(
            "the attention kernels need {WORKGROUP_BYTES} bytes of workgroup memory and {THREADS} invocations"
        ));
    }
    let elems = [q.elems(), k.elems(), output.elems()].into_iter().max().unwrap_or(0);
    if elems > u32::MAX as usize / 2 {
        return Err(format!("attention: {elems} elements overflow the kernel's 32-bit indices"));
    }
    let plan = Plan::new(q, k, caps);
    if let Some(g) = plan.grid().iter().find(|&&g| g > caps.max_workgroups_per_dim as usize) {
        return Err(format!("attention needs {g} workgroups in one dimension, over the device's limit"));
    }
    Ok(())
}

/// How one attention node runs.
#[derive(Clone, Debug, PartialEq)]
struct Plan {
    batch: usize,
    n_kv_head: usize,
    /// Query rows per KV head: query heads per KV head times `s`.
    rows: usize,
    /// `Some((splits, keys per split))` for the split-KV path, `None` for flash.
    split: Option<(usize, usize)>,
}

impl Plan {
    fn new(q: &TensorDesc, k: &TensorDesc, caps: &Caps) -> Plan {
        let [batch, n_head, s, d] = [q.shape[0], q.shape[1], q.shape[2], q.shape[3]];
        let (n_kv_head, cap) = (k.shape[1].max(1), k.shape[2]);
        let rows = n_head / n_kv_head * s;
        let flash = d <= FLASH_MAX_DIM && rows > 2 * SPLIT_ROWS;
        let split = (!flash).then(|| {
            let row_bytes = (batch * n_head * s * (d + 2) * 4) as u64;
            split_counts(cap, batch * n_kv_head * rows.div_ceil(SPLIT_ROWS), row_bytes, caps.max_storage_binding)
        });
        Plan { batch, n_kv_head, rows, split }
    }

    fn grid(&self) -> [usize; 3] {
        match self.split {
            None => [self.rows.div_ceil(FLASH_ROWS), self.n_kv_head, self.batch],
            Some((n, _)) => [n, self.rows.div_ceil(SPLIT_ROWS), self.batch * self.n_kv_head],
        }
    }
}

/// Splits of a cache of `capacity` rows: `(count, keys per split)`. Enough splits for about
/// [`TARGET_WORKGROUPS`] workgroups over `workgroups` (split-less workgroups), each split at least
/// [`MIN_SPLIT_KEYS`] keys and a whole number of passes, the partials (`row_bytes` per split) within
/// one storage binding.
fn split_counts(capacity: usize, workgroups: usize, row_bytes: u64, max_binding: u64) -> (usize, usize) {
    let mut n = TARGET_WORKGROUPS.div_ceil(workgroups.max(1)).clamp(1, MAX_SPLITS);
    n = n.min(capacity.div_ceil(MIN_SPLIT_KEYS)).max(1);
    while n > 1 && n as u64 * row_bytes > max_binding {
        n /= 2;
    }
    let len = capacity.div_ceil(n).next_multiple_of(SPLIT_KEYS).max(SPLIT_KEYS);
    (capacity.div_ceil(len).max(1), len)
}

/// The dispatches for one node.
pub(crate) fn lower(cx: &mut Cx, op: &Op) -> Result<()> {
    match op {
        Op::Attention(a) => lower_attention(cx, a),
        Op::KvWrite { pos } => lower_kv_write(cx, *pos),
        _ => Err(Error::Unsupported {
            backend: "gpu".into(),
            op: op.name().into(),
            why: "not an attention-family op".into(),
        }),
    }
}

fn lower_attention(cx: &mut Cx, a: &AttentionOp) -> Result<()> {
    let (q, k) = (cx.input_desc(0).clone(), cx.input_desc(1).clone());
    let [batch, n_head, s, d] = [q.shape[0], q.shape[1], q.shape[2], q.shape[3]];
    let (n_kv_head, cap) = (k.shape[1], k.shape[2]);
    let plan = Plan::new(&q, &k, cx.caps);
    let kv_len = match a.past {
        None => u32_word("kv capacity", cap)?,
        Some(Position::Fixed(p)) => u32_word("kv length", p + s)?,
        Some(Position::Run) => {
            let max = cap.checked_sub(s).ok_or_else(|| limit("query rows over the cache capacity", s))?;
            cx.limit_position(max, format!("attention reads {s} new rows of a {cap}-row cache"));
            Word::Position { plus: u32::try_from(s).map_err(|_| limit("query rows", s))? }
        }
    };
    let params = a.params(d);
    let n_rows = batch * n_head * s;
    let (n_split, split_len) = plan.split.unwrap_or((1, 0));
    let words = vec![
        u32_word("batch", batch)?,
        u32_word("heads", n_head)?,
        u32_word("kv heads", n_kv_head)?,
        u32_word("query rows", s)?,
        u32_word("head dim", d)?,
        u32_word("kv capacity", cap)?,
        kv_len,
        Word::U32((k.dtype == DType::F16) as u32),
        Word::U32(params.causal as u32),
        Word::U32((cx.inputs.len() > 3) as u32),
        Word::U32(params.softcap.is_some() as u32),
        Word::F32(params.scale),
        Word::F32(params.softcap.unwrap_or(1.0)),
        u32_word("splits", n_split)?,
        u32_word("keys per split", split_len)?,
        u32_word("output rows", n_rows)?,
    ];
    let module = module_name(cx.caps);
    let mask = if cx.inputs.len() > 3 { cx.input(3) } else { cx.dummy() };
    let (qb, kb, vb, out) = (cx.input(0), cx.input(1), cx.input(2), cx.out());
    if n_rows == 0 || d == 0 {
        let dummy = cx.dummy();
        cx.dispatch_1d(module, "merge", vec![qb, kb, vb, mask, dummy, out], words, 0);
        return Ok(());
    }
    let g = plan.grid().map(|x| x as u32);
    match plan.split {
        None => {
            let dummy = cx.dummy();
            cx.dispatch(module, "flash", vec![qb, kb, vb, mask, dummy, out], words, g);
        }
        Some((n_split, _)) => {
            let partial = cx.scratch((n_rows * n_split * (d + 2) * 4) as u64);
            let bufs = vec![qb, kb, vb, mask, partial, out];
            cx.dispatch(module.clone(), "split", bufs.clone(), words.clone(), g);
            cx.dispatch_1d(module, "merge", bufs, words, n_rows as u64);
        }
    }
    Ok(())
}

/// The attention module for a device: wide flash tiles where workgroup memory allows, subgroup
/// reductions where the device has subgroups of at least [`SPLIT_LANES`] lanes.
fn module_name(caps: &Caps) -> String {
    let detail = if caps.max_workgroup_storage >= WIDE_WORKGROUP_BYTES { ".wide" } else { "" };
    let subgroup = caps.has(Variant::Subgroup) && caps.subgroup_size.0 >= SPLIT_LANES;
    let variant = if subgroup && edgehal_shaders::module(&format!("attention{detail}.subgroup")).is_some() {
        Variant::Subgroup
    } else {
        Variant::Base
    };
    format!("attention{detail}.{}", variant.name())
}

fn lower_kv_write(cx: &mut Cx, pos: Position) -> Result<()> {
    let cache = cx.out_desc().clone();
    let new = cx.input_desc(1).clone();
    let [b, h, cap, d] = [cache.shape[0], cache.shape[1], cache.shape[2], cache.shape[3]];
    let s = new.shape[2];
    let is_f16 = cache.dtype == DType::F16;
    let per_head = if is_f16 { s * d / 2 + 1 } else { s * d };
    let pos = match pos {
        Position::Fixed(p) => u32_word("kv_write position", p)?,
        Position::Run => {
            let max = cap.checked_sub(s).ok_or_else(|| limit("kv_write rows over the cache capacity", s))?;
            cx.limit_position(max, format!("kv_write puts {s} rows into a {cap}-row cache"));
            Word::Position { plus: 0 }
        }
    };
    let words = vec![
        u32_word("heads", b * h)?,
        u32_word("kv capacity", cap)?,
        u32_word("head dim", d)?,
        u32_word("rows written", s)?,
        pos,
        Word::U32(is_f16 as u32),
        u32_word("words per head", per_head)?,
    ];
    let total = (b * h * per_head) as u64;
    // The cache is both input 0 and the output (updated in place): bind it once, read-write.
    let bufs: Vec<Buf> = vec![cx.input(1), cx.out()];
    cx.dispatch_1d("kv_cache.base".into(), "kv_write", bufs, words, total.div_ceil(256));
    Ok(())
}

fn limit(what: &str, v: usize) -> Error {
    Error::DeviceLimit { backend: "gpu".into(), what: what.into(), needed: v as u64, limit: u32::MAX as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_the_capacity_in_whole_passes() {
        for (cap, wgs) in [(1, 1), (17, 8), (128, 16), (4096, 8), (4096, 1024), (100_000, 1)] {
            let (n, len) = split_counts(cap, wgs, 1024, u64::MAX);
            assert!((1..=MAX_SPLITS).contains(&n), "{cap}/{wgs}: {n} splits");
            assert_eq!(len % SPLIT_KEYS, 0);
            assert!(n * len >= cap && (n - 1) * len < cap, "{cap}: {n} x {len}");
        }
        // A single decode row over 8 KV heads at 4096 positions fills the GPU.
        assert_eq!(split_counts(4096, 8, 1024, u64::MAX), (64, 64));
    }

    #[test]
    fn module_follows_the_capabilities() {
        let base = Caps::baseline();
        assert_eq!(module_name(&base), "attention.base");
        let wide = Caps { max_workgroup_storage: 32768, ..base.clone() };
        assert_eq!(module_name(&wide), "attention.wide.base");
        // Subgroups narrower than a key's lanes keep the base reduction.
        let narrow = Caps { subgroups: true, subgroup_size: (4, 64), ..base.clone() };
        assert_eq!(module_name(&narrow), "attention.base");
        let sub = Caps { subgroups: true, subgroup_size: (32, 32), ..base.clone() };
        let want = if edgehal_shaders::module("attention.subgroup").is_some() { "subgroup" } else { "base" };
        assert_eq!(module_name(&sub), format!("attention.{want}"));
        for caps in [base, wide, sub] {
            assert!(edgehal_shaders::module(&module_name(&caps)).is_some());
        }
    }

    #[test]
    fn workgroup_sizes_match_the_modules() {
        for (name, bytes) in [("attention.base", WORKGROUP_BYTES), ("attention.wide.base", WIDE_WORKGROUP_BYTES)] {
            let m = edgehal_shaders::module(name).expect("module exists");
            let wsh = m.consts.iter().find(|c| c.0 == "WSH").map(|c| c.1.clone());
            assert_eq!(wsh, Some(format!("u32 = {}u", bytes / 4)), "{name}");
        }
    }

    #[test]
    fn splits_shrink_to_fit_the_binding_limit() {
        let (n, _) = split_counts(4096, 1, 1 << 20, 8 << 20);
        assert!(n <= 8);
    }
}
